import Control
import Transports

/// What the health check looks at, gathered by the service between its watchdog beats.
public struct ServiceHealthReading: Equatable, Sendable {
    /// The control loop's tick count now (`ControlLoopStatistics.ticks`).
    public var controlTicks: UInt64
    /// Each heat loop's last good reading: name and the instant of its tick (nil: none yet).
    public var sensorReadings: [(loop: String, at: MonotonicInstant?)]
    /// Whether the journal took its last write (nil: the service has no journal).
    public var journalWritable: Bool?

    public init(controlTicks: UInt64, sensorReadings: [(loop: String, at: MonotonicInstant?)], journalWritable: Bool?) {
        self.controlTicks = controlTicks
        self.sensorReadings = sensorReadings
        self.journalWritable = journalWritable
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.controlTicks == rhs.controlTicks && lhs.journalWritable == rhs.journalWritable
            && lhs.sensorReadings.map(\.loop) == rhs.sensorReadings.map(\.loop)
            && lhs.sensorReadings.map(\.at) == rhs.sensorReadings.map(\.at)
    }
}

/// The systemd watchdog, fed only after a health check: the control loop ticked since the last
/// check, every heat loop's sensor was read recently, and the journal takes writes. A process
/// that is alive but no longer controlling anything stops feeding the watchdog, and systemd
/// restarts it (and the dead-man and the boot overlay keep the heaters off meanwhile).
///
/// A pure value: `check` returns whether to send `WATCHDOG=1` and, if not, why.
public struct ServiceWatchdog: Equatable, Sendable {
    /// A sensor reading older than this is stale, seconds.
    public let sensorFreshWithinSeconds: Double
    private var lastTicks: UInt64?

    public init(sensorFreshWithinSeconds: Double) {
        precondition(sensorFreshWithinSeconds > 0, "freshness needs a positive window")
        self.sensorFreshWithinSeconds = sensorFreshWithinSeconds
    }

    public enum Verdict: Equatable, Sendable {
        /// Healthy: feed the watchdog.
        case feed
        /// Not healthy: do not feed; the reasons go to `STATUS=` and the journal.
        case withhold([String])
    }

    /// Checks `reading` taken at `now`.
    public mutating func check(_ reading: ServiceHealthReading, now: MonotonicInstant) -> Verdict {
        var problems: [String] = []
        if let lastTicks, reading.controlTicks <= lastTicks {
            problems.append("control loop has not ticked since the last check (\(reading.controlTicks) ticks)")
        }
        lastTicks = reading.controlTicks
        for sensor in reading.sensorReadings {
            guard let at = sensor.at else {
                problems.append("\(sensor.loop): no sensor reading yet")
                continue
            }
            let age = now.seconds(since: at)
            if age > sensorFreshWithinSeconds {
                problems.append(
                    "\(sensor.loop): last sensor reading \(Int(age.rounded())) s old (fresh within \(sensorFreshWithinSeconds) s)")
            }
        }
        if reading.journalWritable == false {
            problems.append("journal is not writable")
        }
        return problems.isEmpty ? .feed : .withhold(problems)
    }
}
