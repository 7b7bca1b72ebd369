import Glibc
import LinuxIO
import Testing
import Transports

@Suite("MonotonicClock through the seam")
struct MonotonicClockTests {
    @Test("now reads CLOCK_MONOTONIC and joins tv_sec and tv_nsec")
    func now() {
        let system = RecordingLinuxSystem()
        system.times = [timespec(tv_sec: 5, tv_nsec: 250_000_000), timespec(tv_sec: 86_400, tv_nsec: 999_999_999)]
        let clock = MonotonicClock(system: system)
        #expect(clock.now() == MonotonicInstant(nanoseconds: 5_250_000_000))
        #expect(clock.now() == MonotonicInstant(nanoseconds: 86_400_999_999_999))
        #expect(system.calls == [.clockGettime(clock: CLOCK_MONOTONIC), .clockGettime(clock: CLOCK_MONOTONIC)])
    }

    @Test(
        "sleep passes CLOCK_MONOTONIC, TIMER_ABSTIME and the deadline split into tv_sec/tv_nsec",
        arguments: [
            (Int64(1), 0, 1),
            (999_999_999, 0, 999_999_999),
            (1_000_000_000, 1, 0),
            (12_345_678_901, 12, 345_678_901),
            (86_400_123_456_789, 86_400, 123_456_789),
        ])
    func sleepArguments(deadline: Int64, seconds: Int, nanoseconds: Int) throws {
        let system = RecordingLinuxSystem()
        try MonotonicClock(system: system).sleep(until: MonotonicInstant(nanoseconds: deadline))
        #expect(TIMER_ABSTIME == 1)
        #expect(
            system.calls == [
                .clockNanosleep(clock: CLOCK_MONOTONIC, flags: TIMER_ABSTIME, seconds: seconds, nanoseconds: nanoseconds)
            ])
    }

    @Test("EINTR is retried with the same absolute deadline")
    func retriesEINTR() throws {
        let system = RecordingLinuxSystem()
        system.errnos[.clockNanosleep] = [EINTR, EINTR, 0]
        try MonotonicClock(system: system).sleep(until: MonotonicInstant(nanoseconds: 3_000_000_007))
        let call = SystemCall.clockNanosleep(
            clock: CLOCK_MONOTONIC, flags: TIMER_ABSTIME, seconds: 3, nanoseconds: 7)
        #expect(system.calls == [call, call, call])
    }

    @Test("another errno is thrown after one call")
    func otherErrnoThrows() {
        let system = RecordingLinuxSystem()
        system.errnos[.clockNanosleep] = [EINVAL]
        #expect(throws: ClockError(operation: "clock_nanosleep", errno: EINVAL)) {
            try MonotonicClock(system: system).sleep(until: MonotonicInstant(nanoseconds: 1_000))
        }
        #expect(system.calls.count == 1)
    }

    @Test("a deadline at or before the origin returns without sleeping", arguments: [Int64(0), -1, -5_000_000_000])
    func pastOrigin(deadline: Int64) throws {
        let system = RecordingLinuxSystem()
        try MonotonicClock(system: system).sleep(until: MonotonicInstant(nanoseconds: deadline))
        #expect(system.calls.isEmpty)
    }
}
