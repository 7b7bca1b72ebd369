import Transports

/// The twin's clock: virtual time that jumps to each deadline instead of waiting.
///
/// A periodic loop that sleeps until its next absolute deadline therefore runs as fast as the CPU
/// allows, and the whole rig is deterministic for a given seed: nothing depends on wall time.
/// One thread at a time (the loop that owns the rig) reads and advances it.
public final class VirtualClock: RigClock {
    private var current: MonotonicInstant
    /// What keeps running while someone other than the control loop waits: on the twin, a
    /// driver that waits for a device (a spectrum's integration, a pump's reply) would otherwise
    /// jump time past the control loop's ticks, which real hardware never does (there the loop
    /// has its own thread). Called with the deadline before the jump; not while it runs itself
    /// or inside `runningTheLoop`.
    public var whileWaiting: ((MonotonicInstant) -> Void)?
    private var hookBusy = false

    public init(start: MonotonicInstant = .zero) {
        current = start
    }

    public func now() -> MonotonicInstant { current }

    /// Jumps to `deadline` (never backwards), first letting `whileWaiting` run up to it.
    public func sleep(until deadline: MonotonicInstant) throws(ClockError) {
        if deadline > current, let whileWaiting, !hookBusy {
            hookBusy = true
            whileWaiting(deadline)
            hookBusy = false
        }
        if deadline > current { current = deadline }
    }

    /// Runs `body` (the control loop itself) with `whileWaiting` held off: its own sleeps jump.
    public func runningTheLoop<Result>(_ body: () -> Result) -> Result {
        let saved = hookBusy
        hookBusy = true
        defer { hookBusy = saved }
        return body()
    }

    /// Moves time forward by `seconds` (for tests and the plant's own stepping).
    public func advance(seconds: Double) {
        precondition(seconds >= 0, "virtual time only moves forward")
        current = current.adding(seconds: seconds)
    }
}
