import Devices
import Synchronization
import Transports

/// The dead-man rule as a pure state machine: fire once when the heartbeat has not changed for
/// `timeout`; re-arm when it changes again.
///
/// The watcher steps it every poll with the heartbeat it read. The first step starts the watch
/// (a loop that never ticks at all is caught too). After firing it stays quiet while the
/// heartbeat stands still, and re-arms at the first change: a loop that ticks again is alive, and
/// the next stall must be caught as well. (The trips the loop recorded stay latched in its heat
/// loops until an operator clears them; re-arming only restores the watch.)
public struct DeadManWatch: Equatable, Sendable {
    /// The longest the heartbeat may stand still, in nanoseconds.
    public let timeoutNanoseconds: Int64
    public private(set) var lastHeartbeat: UInt64?
    /// When the heartbeat was last seen to change (or the watch started).
    public private(set) var lastChange: MonotonicInstant?
    /// Whether it has fired for the current stall.
    public private(set) var hasFired = false

    /// The bound on how long a stalled loop may leave a heater as it was.
    public static let longestTimeout = Duration.seconds(3)

    public init(timeout: Duration) {
        precondition(
            timeout > .zero && timeout <= Self.longestTimeout, "the dead-man timeout must be in (0, 3] s, got \(timeout)")
        timeoutNanoseconds = timeout.totalNanoseconds
    }

    /// One look at the heartbeat. Returns true exactly when the switch must fire now: the
    /// heartbeat has stood still for at least the timeout and it has not fired for this stall.
    public mutating func step(heartbeat: UInt64, at now: MonotonicInstant) -> Bool {
        guard let last = lastHeartbeat, let since = lastChange, heartbeat == last else {
            lastHeartbeat = heartbeat
            lastChange = now
            hasFired = false
            return false
        }
        if hasFired || now.nanoseconds - since.nanoseconds < timeoutNanoseconds { return false }
        hasFired = true
        return true
    }
}

/// The dead-man switch: a watcher, on its own thread, of a heartbeat the control loop bumps every
/// tick. If the heartbeat stands still for `timeout` (at most 3 s) it raises its flag (which the
/// loop checks before driving any output: the loop then goes to the safe state and records a
/// `loopStall` trip) and calls `forceOff`, which writes every heater line off, once per stall.
///
/// The flag is a count of firings (`fireCount`), so a loop that was stuck while it fired still
/// sees it when it resumes. The force-off runs on the watcher's thread while the loop is stuck,
/// so it writes the lines without waiting for the loop: the lines' drivers must tolerate that
/// one write from another thread (`SwitchedOutput.forceOff` and the GPIO line write the level
/// whatever their bookkeeping says).
///
/// The watcher's body is `watch(clock:until:)`: the composition root runs it on a thread of
/// higher real-time priority than the loop's, so that a loop spinning at `SCHED_FIFO` cannot
/// starve its own watchdog. `beat()` and `fireCount` are one atomic operation each: no lock, no
/// allocation on the loop's side.
public final class DeadManSwitch: Sendable {
    public let timeout: Duration
    /// How often the watcher looks.
    public let pollInterval: Duration
    private let heartbeat = Atomic<UInt64>(0)
    private let fires = Atomic<UInt64>(0)
    private let completedForceOffs = Atomic<UInt64>(0)
    private let forceOff: @Sendable () -> [OutputLineError]
    private let failures = Mutex<[OutputLineError]>([])

    /// - Parameters:
    ///   - timeout: how long the heartbeat may stand still, (0, 3] s.
    ///   - pollInterval: how often to look; by default a tenth of the timeout, so the switch fires
    ///     within 1.1 × timeout of the last beat.
    ///   - forceOff: writes every heater line off; returns the writes that failed (empty when all
    ///     are off). Called on the watcher's thread, once per stall.
    public init(
        timeout: Duration, pollInterval: Duration? = nil, forceOff: @escaping @Sendable () -> [OutputLineError]
    ) {
        _ = DeadManWatch(timeout: timeout)  // checks the bound
        let interval = pollInterval ?? timeout / 10
        precondition(interval > .zero && interval <= timeout, "the poll interval must be in (0, timeout]")
        self.timeout = timeout
        self.pollInterval = interval
        self.forceOff = forceOff
    }

    /// The loop: one tick done. Called every tick; one atomic increment.
    @inline(__always)
    public func beat() {
        heartbeat.wrappingAdd(1, ordering: .releasing)
    }

    /// The heartbeat's current value (ticks completed).
    public var heartbeatValue: UInt64 { heartbeat.load(ordering: .acquiring) }

    /// How many times the switch has fired. The loop compares it with the count it has already
    /// handled.
    @inline(__always)
    public var fireCount: UInt64 { fires.load(ordering: .acquiring) }

    /// How many force-offs have finished (it trails `fireCount` while one is under way).
    public var forceOffCount: UInt64 { completedForceOffs.load(ordering: .acquiring) }

    /// The line writes that failed in the last finished force-off (empty when every line went
    /// off). Not for the tick path: it takes a lock (never held across I/O).
    public var lastForceOffFailures: [OutputLineError] { failures.withLock { $0 } }

    /// The watcher: every `pollInterval` on `clock` (absolute deadlines), steps a `DeadManWatch`
    /// with the heartbeat; when it fires, raises the flag first (so a loop waking up at that
    /// moment drives nothing on), then calls `forceOff`. Returns when `shouldStop` says so (asked
    /// once per poll), or throws when the clock cannot sleep.
    public func watch(clock: RigClock, until shouldStop: () -> Bool) throws(ClockError) {
        var watch = DeadManWatch(timeout: timeout)
        let interval = pollInterval.totalNanoseconds
        var next = clock.now()
        while !shouldStop() {
            let now = clock.now()
            if watch.step(heartbeat: heartbeat.load(ordering: .acquiring), at: now) {
                fires.wrappingAdd(1, ordering: .releasing)
                let failed = forceOff()
                failures.withLock { $0 = failed }
                completedForceOffs.wrappingAdd(1, ordering: .releasing)
            }
            next = next.adding(nanoseconds: interval)
            if next <= now {
                // Fell behind (the watcher itself was held up): look again one interval from now
                // rather than in a burst.
                next = now.adding(nanoseconds: interval)
            }
            try clock.sleep(until: next)
        }
    }

    /// The usual force-off: `SwitchedOutput.forceOff()` on every heater's output (the off level
    /// written whatever the bookkeeping says), going on through every heater whatever one of
    /// them does; returns the writes that failed.
    ///
    /// It runs on the watcher's thread while the loop's thread is stuck. The outputs are not
    /// thread-safe objects: this relies on the loop being stuck (it is, or the switch would not
    /// fire) and on the loop writing every line off again itself once it sees the flag, so that a
    /// write racing with a loop that just woke up is followed by the loop's own off.
    public static func heatersOff(_ heaters: [HeaterOutput]) -> @Sendable () -> [OutputLineError] {
        let outputs = UncheckedOutputs(heaters.map(\.output))
        return {
            var failed: [OutputLineError] = []
            for output in outputs.outputs {
                do throws(OutputLineError) {
                    try output.forceOff()
                } catch {
                    failed.append(error)
                }
            }
            return failed
        }
    }
}

/// The heaters' outputs handed to the watcher's thread (see `DeadManSwitch.heatersOff`).
private final class UncheckedOutputs: @unchecked Sendable {
    let outputs: [SwitchedOutput]
    init(_ outputs: [SwitchedOutput]) { self.outputs = outputs }
}
