import Glibc
import Transports

/// The rig's clock on hardware: `CLOCK_MONOTONIC` through the `LinuxSystem` seam.
///
/// Instants are nanoseconds since boot (the `CLOCK_MONOTONIC` origin). Sleeps are absolute
/// (`clock_nanosleep` with `TIMER_ABSTIME`), so a periodic loop that adds its period to the
/// previous deadline does not drift. Stateless: safe to share between threads.
public final class MonotonicClock: RigClock, Sendable {
    private let system: any LinuxSystem

    public init(system: any LinuxSystem = LiveLinuxSystem()) {
        self.system = system
    }

    /// `clock_gettime(CLOCK_MONOTONIC)`.
    ///
    /// Linux fails this call only for an invalid clock id or a bad pointer, neither of which can
    /// happen here, so a failure is a broken platform: a precondition, not a thrown error.
    public func now() -> MonotonicInstant {
        let (result, time) = system.clockGettime(clock: CLOCK_MONOTONIC)
        precondition(!result.failed, "clock_gettime(CLOCK_MONOTONIC) failed (errno \(result.errno))")
        return MonotonicInstant(nanoseconds: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
    }

    /// `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline)`, again after every `EINTR`
    /// (the deadline is absolute, so a retried sleep still ends at the same instant). A deadline
    /// before the clock's origin has passed: returns at once without a call.
    public func sleep(until deadline: MonotonicInstant) throws(ClockError) {
        guard deadline.nanoseconds > 0 else { return }
        let request = timespec(
            tv_sec: Int(deadline.nanoseconds / 1_000_000_000),
            tv_nsec: Int(deadline.nanoseconds % 1_000_000_000))
        while true {
            let result = system.clockNanosleep(clock: CLOCK_MONOTONIC, flags: TIMER_ABSTIME, request: request)
            if !result.failed { return }
            if result.errno == EINTR { continue }
            throw ClockError(operation: "clock_nanosleep", errno: result.errno)
        }
    }
}
