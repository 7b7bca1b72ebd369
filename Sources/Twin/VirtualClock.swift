import Transports

/// The twin's clock: virtual time that jumps to each deadline instead of waiting.
///
/// A periodic loop that sleeps until its next absolute deadline therefore runs as fast as the CPU
/// allows, and the whole rig is deterministic for a given seed: nothing depends on wall time.
/// One thread at a time (the loop that owns the rig) reads and advances it.
public final class VirtualClock: RigClock {
    private var current: MonotonicInstant

    public init(start: MonotonicInstant = .zero) {
        current = start
    }

    public func now() -> MonotonicInstant { current }

    /// Jumps to `deadline` (never backwards).
    public func sleep(until deadline: MonotonicInstant) throws(ClockError) {
        if deadline > current { current = deadline }
    }

    /// Moves time forward by `seconds` (for tests and the plant's own stepping).
    public func advance(seconds: Double) {
        precondition(seconds >= 0, "virtual time only moves forward")
        current = current.adding(seconds: seconds)
    }
}
