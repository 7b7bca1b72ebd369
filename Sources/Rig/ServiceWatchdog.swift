import Campaign
import Control
import LinuxIO
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

// MARK: - sd_notify for `aliquot run`

/// When the health is checked and what systemd is then told: a check every half of the
/// watchdog interval (`WATCHDOG_USEC`; sd_watchdog_enabled(3) asks for a ping at half of it),
/// fed (`WATCHDOG=1`) or withheld by `ServiceWatchdog`, with the reasons in `STATUS=`.
/// A pure value: the caller reads the health only when `isDue`.
public struct ServiceHeartbeat: Equatable, Sendable {
    /// Half the watchdog interval, seconds of the rig's clock.
    public let checkEverySeconds: Double
    public private(set) var watchdog: ServiceWatchdog
    /// The next check; nil before the first (which is due at once).
    public private(set) var nextCheck: MonotonicInstant?

    /// A heartbeat for systemd's `WatchdogSec` of `watchdogInterval`. A thermocouple not read
    /// for half the interval is stale: by the next check systemd would already have gone
    /// without a ping for the whole interval.
    public init(watchdogInterval: Duration) {
        let seconds = Double(watchdogInterval.totalNanoseconds) / 1e9
        precondition(seconds > 0, "a watchdog interval must be positive")
        checkEverySeconds = seconds / 2
        watchdog = ServiceWatchdog(sensorFreshWithinSeconds: checkEverySeconds)
    }

    /// Whether a check is due at `now`.
    public func isDue(at now: MonotonicInstant) -> Bool { nextCheck.map { now >= $0 } ?? true }

    /// The check of `reading` at `now` (due or not): `[.watchdog]` when healthy, otherwise a
    /// `STATUS=` line with the reasons and no ping. The next check is half an interval later.
    public mutating func check(_ reading: ServiceHealthReading, at now: MonotonicInstant) -> [SystemdState] {
        nextCheck = now.adding(seconds: checkEverySeconds)
        switch watchdog.check(reading, now: now) {
        case .feed: return [.watchdog]
        case .withhold(let problems): return [.status("unhealthy, watchdog not fed: " + problems.joined(separator: "; "))]
        }
    }
}

/// Where the service's health comes from: looked at on every beat (cheap), read in full when
/// a watchdog check is due.
public protocol ServiceHealthProbe: AnyObject {
    /// A look at the rig now, so that short gaps between checks are seen (every beat).
    func observe(at now: MonotonicInstant)
    /// The reading for a watchdog check at `now`.
    func reading(at now: MonotonicInstant) -> ServiceHealthReading
}

/// The campaign rig's health: the control loop's tick count (`ControlLoopStatistics.ticks`),
/// each heat loop's last good thermocouple reading (a tick whose read gave a temperature and no
/// sensor fault), and the journal's answer. Used from the campaign's thread (the one that reads
/// the loop's snapshots).
public final class RigHealthProbe: ServiceHealthProbe {
    private let port: ControlLoopPort
    private let journalWritable: () -> Bool?
    private var lastGood: [MonotonicInstant?]

    /// `journalWritable`: nil when the service has no journal, else whether its last write
    /// committed (asked only at checks).
    public init(hardware: RigCampaignHardware, journalWritable: @escaping () -> Bool?) {
        port = hardware.driver.control.port
        self.journalWritable = journalWritable
        lastGood = Array(repeating: nil, count: port.loopNames.count)
    }

    public func observe(at now: MonotonicInstant) {
        for index in port.loopNames.indices {
            let snapshot = port.snapshot(index)
            if snapshot.ticks > 0 && snapshot.celsius != nil && !snapshot.sensorFault { lastGood[index] = snapshot.at }
        }
    }

    public func reading(at now: MonotonicInstant) -> ServiceHealthReading {
        observe(at: now)
        return ServiceHealthReading(
            controlTicks: port.statistics.ticks, sensorReadings: Array(zip(port.loopNames, lastGood)),
            journalWritable: journalWritable())
    }
}

extension RigCampaignHardware {
    /// Runs the control loop until every heat loop has a good thermocouple reading with its
    /// heater off, no setpoint and no trip: the safe initial state `READY=1` stands for. Throws,
    /// naming the loops, when that is not so within `withinSeconds` of the rig's clock.
    public func settleIntoSafeInitialState(withinSeconds: Double = 5) throws(RigError) {
        let port = driver.control.port
        let deadline = now().adding(seconds: withinSeconds)
        let step = max(Double(driver.control.periodNanoseconds) / 1e9, 0.01)
        var waiting: [String] = []
        repeat {
            do {
                try advance(until: now().adding(seconds: step))
            } catch {
                throw RigError(part: "control loop", action: "reach the safe initial state", underlying: error)
            }
            waiting = port.loopNames.indices.compactMap { index in
                let snapshot = port.snapshot(index)
                if snapshot.ticks == 0 || snapshot.celsius == nil || snapshot.sensorFault { return "\(snapshot.loop): no thermocouple reading" }
                if snapshot.heaterOn || snapshot.setpoint != nil || snapshot.manualDuty != nil { return "\(snapshot.loop): heater not off" }
                if let trip = snapshot.trip { return "\(snapshot.loop): tripped (\(trip))" }
                return nil
            }
        } while !waiting.isEmpty && now() < deadline
        if !waiting.isEmpty {
            throw RigError(
                part: "control loop", action: "reach the safe initial state",
                detail: waiting.joined(separator: "; ") + " after \(withinSeconds) s")
        }
    }
}

/// `aliquot run` speaking systemd's notify protocol (sd_notify(3)): `READY=1` once the rig is
/// in its safe initial state, `STATUS=` with the campaign's progress, `WATCHDOG=1` at half of
/// `WATCHDOG_USEC` only while the health check passes, `STOPPING=1` on the way out.
///
/// Driven from the campaign's thread: `beat` at every progress report (the runner reports at
/// least every `progressEverySeconds`, which the caller keeps well under the check interval), so
/// a campaign thread that hangs stops the pings too. Time is the rig's clock.
public final class ServiceNotifications {
    public let notifier: SystemdNotifier
    /// nil when systemd set no watchdog for this process.
    public private(set) var heartbeat: ServiceHeartbeat?
    private let probe: any ServiceHealthProbe

    public init(notifier: SystemdNotifier, probe: any ServiceHealthProbe) {
        self.notifier = notifier
        self.probe = probe
        heartbeat = notifier.watchdogInterval.map { ServiceHeartbeat(watchdogInterval: $0) }
    }

    /// How often the campaign should report progress for the checks to come on time, seconds:
    /// a third of the check interval, at most `default`.
    public func progressEverySeconds(default seconds: Double) -> Double {
        guard let heartbeat else { return seconds }
        return min(seconds, heartbeat.checkEverySeconds / 3)
    }

    /// `READY=1` with the status line; the first watchdog check follows at once.
    public func ready(status: String, at now: MonotonicInstant) throws(SystemdNotifyError) {
        try notifier.notify([.ready, .status(status)])
        try beat(at: now)
    }

    /// A progress report: `STATUS=` with `status`, then a watchdog check if one is due.
    public func progress(status: String, at now: MonotonicInstant) throws(SystemdNotifyError) {
        try notifier.notify([.status(status)])
        try beat(at: now)
    }

    /// Looks at the health, and checks it when a check is due: `WATCHDOG=1` or the reasons.
    public func beat(at now: MonotonicInstant) throws(SystemdNotifyError) {
        probe.observe(at: now)
        guard var heartbeat, heartbeat.isDue(at: now) else { return }
        let states = heartbeat.check(probe.reading(at: now), at: now)
        self.heartbeat = heartbeat
        try notifier.notify(states)
    }

    /// `STOPPING=1` with the reason.
    public func stopping(status: String) throws(SystemdNotifyError) {
        try notifier.notify([.stopping, .status(status)])
    }

    /// The `STATUS=` line of a progress report: what `systemctl status aliquot` shows.
    public static func statusLine(_ progress: CampaignProgress, aliquotsPlanned: Int) -> String {
        var parts = [
            "experiment \(progress.position)/\(progress.count) \(progress.experiment.name): \(progress.phase.rawValue)"
        ]
        if progress.phase == .sampling || progress.aliquotsTaken > 0 {
            parts.append("aliquot \(progress.aliquotsTaken)/\(aliquotsPlanned)")
        }
        if let celsius = progress.reactorCelsius { parts.append("reactor \(formatted(celsius, decimals: 1)) °C") }
        if let peak = progress.lastPeakNanometres { parts.append("peak \(formatted(peak, decimals: 1)) nm") }
        if let eta = progress.etaSeconds { parts.append("\(Int((eta / 60).rounded(.up))) min left") }
        return parts.joined(separator: ", ")
    }

    private static func formatted(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = Int64((abs(value) * scale).rounded())
        let whole = scaled / Int64(scale)
        let fraction = String(scaled % Int64(scale))
        let padded = String(repeating: "0", count: max(0, decimals - fraction.count)) + fraction
        return (value < 0 && scaled != 0 ? "-" : "") + "\(whole)" + (decimals > 0 ? "." + padded : "")
    }
}
