import Glibc
import LinuxIO
import Synchronization
import Testing
import Transports

/// The exact seam calls of `RealTimeThread.start`, its `EPERM` fallbacks and its failures. The
/// recording mock runs the thread body at once inside `pthread_create`, so the body's own seam
/// calls appear in order between `pthread_create` and `pthread_attr_destroy`.
@Suite("RealTimeThread through the seam")
struct RealTimeThreadTests {
    /// The constants as `<pthread.h>`, `<sched.h>` and `<sys/mman.h>` define them on Linux.
    @Test("the Linux constants the calls are built from")
    func constants() {
        #expect(PTHREAD_EXPLICIT_SCHED == 1)
        #expect(SCHED_OTHER == 0)
        #expect(SCHED_FIFO == 1)
        #expect(MCL_CURRENT == 1)
        #expect(MCL_FUTURE == 2)
    }

    static func attempt(policy: Int32, priority: Int32) -> [SystemCall] {
        [
            .pthreadAttrInit,
            .pthreadAttrSetinheritsched(inherit: 1),
            .pthreadAttrSetschedpolicy(policy: policy),
            .pthreadAttrSetschedparam(priority: priority),
            .pthreadCreate(inherit: 1, policy: policy, priority: priority),
        ]
    }

    /// What the test body does on the new thread: one absolute sleep, so its place in the call
    /// order is visible.
    static let bodySleep = SystemCall.clockNanosleep(
        clock: CLOCK_MONOTONIC, flags: TIMER_ABSTIME, seconds: 2, nanoseconds: 500_000_000)

    static func start(_ system: RecordingLinuxSystem, priority: Int32?, lockMemory: Bool) throws -> RealTimeThread {
        try RealTimeThread.start(priority: priority, lockMemory: lockMemory, system: system) { stop in
            if !stop.isRequested {
                _ = try? MonotonicClock(system: system).sleep(until: MonotonicInstant(nanoseconds: 2_500_000_000))
            }
        }
    }

    @Test("granted: mlockall, then SCHED_FIFO at the priority through explicit attributes")
    func granted() throws {
        let system = RecordingLinuxSystem()
        let thread = try Self.start(system, priority: 80, lockMemory: true)
        #expect(thread.scheduling == .fifo(priority: 80))
        #expect(thread.memoryLocked)
        #expect(thread.warnings.isEmpty)
        #expect(thread.handle == ThreadHandle(rawValue: 201))
        try thread.stop()
        #expect(thread.stopFlag.isRequested)
        #expect(
            system.calls
                == [.mlockall(flags: 3)] + Self.attempt(policy: 1, priority: 80)
                + [Self.bodySleep, .pthreadAttrDestroy, .pthreadJoin(thread: 201)])
    }

    @Test("pthread_create EPERM: falls back to SCHED_OTHER priority 0 and returns the warning")
    func schedulingRefused() throws {
        let system = RecordingLinuxSystem()
        system.errnos[.pthreadCreate] = [EPERM]
        let thread = try Self.start(system, priority: 80, lockMemory: true)
        #expect(thread.scheduling == .other)
        #expect(thread.memoryLocked)
        #expect(thread.warnings == [.realTimeSchedulingRefused(priority: 80, errno: EPERM)])
        try thread.join()
        #expect(
            system.calls
                == [.mlockall(flags: 3)] + Self.attempt(policy: 1, priority: 80) + [.pthreadAttrDestroy]
                + Self.attempt(policy: 0, priority: 0)
                + [Self.bodySleep, .pthreadAttrDestroy, .pthreadJoin(thread: 201)])
    }

    @Test("mlockall refused: the thread still starts real-time, with the warning", arguments: [EPERM, ENOMEM, EAGAIN])
    func memoryLockRefused(errno code: Int32) throws {
        let system = RecordingLinuxSystem()
        system.errnos[.mlockall] = [code]
        let thread = try Self.start(system, priority: 50, lockMemory: true)
        #expect(thread.scheduling == .fifo(priority: 50))
        #expect(!thread.memoryLocked)
        #expect(thread.warnings == [.memoryLockRefused(errno: code)])
        try thread.join()
        #expect(system.calls.first == .mlockall(flags: 3))
        #expect(system.calls.contains(.pthreadCreate(inherit: 1, policy: 1, priority: 50)))
    }

    @Test("both refused: warnings in the order they happened")
    func bothRefused() throws {
        let system = RecordingLinuxSystem()
        system.errnos[.mlockall] = [EPERM]
        system.errnos[.pthreadCreate] = [EPERM]
        let thread = try Self.start(system, priority: 99, lockMemory: true)
        #expect(thread.scheduling == .other)
        #expect(
            thread.warnings == [.memoryLockRefused(errno: EPERM), .realTimeSchedulingRefused(priority: 99, errno: EPERM)])
        #expect(thread.warnings.map(\.description).allSatisfy { $0.contains("errno 1") })
        try thread.join()
    }

    @Test("no priority and no memory lock: one SCHED_OTHER attempt and no mlockall")
    func plainThread() throws {
        let system = RecordingLinuxSystem()
        let thread = try Self.start(system, priority: nil, lockMemory: false)
        #expect(thread.scheduling == .other)
        #expect(!thread.memoryLocked)
        #expect(thread.warnings.isEmpty)
        try thread.join()
        #expect(
            system.calls
                == Self.attempt(policy: 0, priority: 0) + [Self.bodySleep, .pthreadAttrDestroy, .pthreadJoin(thread: 201)])
    }

    @Test("pthread_create failing otherwise than EPERM is thrown, with no fallback", arguments: [EAGAIN, EINVAL])
    func createFails(errno code: Int32) {
        let system = RecordingLinuxSystem()
        system.errnos[.pthreadCreate] = [code]
        #expect(throws: RealTimeThreadError(operation: "pthread_create", errno: code)) {
            _ = try Self.start(system, priority: 80, lockMemory: false)
        }
        #expect(system.calls == Self.attempt(policy: 1, priority: 80) + [.pthreadAttrDestroy])
    }

    @Test("EPERM for SCHED_OTHER too is thrown (nothing left to fall back to)")
    func fallbackAlsoRefused() {
        let system = RecordingLinuxSystem()
        system.errnos[.pthreadCreate] = [EPERM, EPERM]
        #expect(throws: RealTimeThreadError(operation: "pthread_create", errno: EPERM)) {
            _ = try Self.start(system, priority: 80, lockMemory: false)
        }
        #expect(
            system.calls
                == Self.attempt(policy: 1, priority: 80) + [.pthreadAttrDestroy] + Self.attempt(policy: 0, priority: 0)
                + [.pthreadAttrDestroy])
    }

    @Test("a failing attribute call is thrown by name; the attributes are still destroyed")
    func attributeFails() {
        let system = RecordingLinuxSystem()
        system.errnos[.pthreadAttrSetschedparam] = [EINVAL]
        #expect(throws: RealTimeThreadError(operation: "pthread_attr_setschedparam", errno: EINVAL)) {
            _ = try Self.start(system, priority: 80, lockMemory: false)
        }
        #expect(
            system.calls == [
                .pthreadAttrInit, .pthreadAttrSetinheritsched(inherit: 1), .pthreadAttrSetschedpolicy(policy: 1),
                .pthreadAttrSetschedparam(priority: 80), .pthreadAttrDestroy,
            ])
    }

    @Test("pthread_attr_init failing is thrown before anything else")
    func attributeInitFails() {
        let system = RecordingLinuxSystem()
        system.errnos[.pthreadAttrInit] = [ENOMEM]
        #expect(throws: RealTimeThreadError(operation: "pthread_attr_init", errno: ENOMEM)) {
            _ = try Self.start(system, priority: nil, lockMemory: false)
        }
        #expect(system.calls == [.pthreadAttrInit])
    }

    @Test("join calls pthread_join once; a failure is thrown with its errno")
    func joinOnce() throws {
        let system = RecordingLinuxSystem()
        system.runsThreadBodies = false
        let thread = try Self.start(system, priority: nil, lockMemory: false)
        let before = system.calls.count
        try thread.join()
        try thread.join()
        try thread.stop()
        #expect(system.calls(after: before) == [.pthreadJoin(thread: 201)])

        let failing = RecordingLinuxSystem()
        failing.runsThreadBodies = false
        failing.errnos[.pthreadJoin] = [ESRCH]
        let other = try Self.start(failing, priority: nil, lockMemory: false)
        #expect(throws: RealTimeThreadError(operation: "pthread_join", errno: ESRCH)) { try other.join() }
    }

    @Test(
        "currentScheduling reads pthread_getschedparam(pthread_self())",
        arguments: [
            (SCHED_FIFO, Int32(42), RealTimeThread.Scheduling.fifo(priority: 42)),
            (SCHED_OTHER, 0, .other),
        ])
    func currentScheduling(policy: Int32, priority: Int32, expected: RealTimeThread.Scheduling) throws {
        let system = RecordingLinuxSystem()
        system.schedPolicy = policy
        system.schedPriority = priority
        system.selfThread = 77
        #expect(try RealTimeThread.currentScheduling(system: system) == expected)
        #expect(system.calls == [.pthreadSelf, .pthreadGetschedparam(thread: 77)])
    }
}

/// The live implementation: a real thread on the running kernel. Whether SCHED_FIFO is granted
/// depends on the machine; what is asserted is that the thread reports what it really got.
@Suite("RealTimeThread on the real kernel")
struct RealTimeThreadLiveTests {
    @Test("the body runs on a thread with the scheduling start reported, and returns on stop")
    func liveThread() throws {
        let observed = Mutex<RealTimeThread.Scheduling?>(nil)
        let cycles = Atomic<Int>(0)
        let thread = try RealTimeThread.start(priority: 10, lockMemory: false) { stop in
            let scheduling = try? RealTimeThread.currentScheduling()
            observed.withLock { $0 = scheduling }
            let clock = MonotonicClock()
            var deadline = clock.now()
            while !stop.isRequested {
                deadline = deadline.adding(nanoseconds: 1_000_000)
                _ = try? clock.sleep(until: deadline)
                cycles.add(1, ordering: .relaxed)
            }
        }
        // Wait (bounded) until the body has looped a few times, then stop it.
        let clock = MonotonicClock()
        var waited = 0
        while cycles.load(ordering: .relaxed) < 3 && waited < 10_000 {
            try clock.sleep(until: clock.now().adding(nanoseconds: 1_000_000))
            waited += 1
        }
        try thread.stop()
        let cyclesAtStop = cycles.load(ordering: .relaxed)
        #expect(cyclesAtStop >= 3)
        #expect(!thread.memoryLocked)
        let scheduling = try #require(observed.withLock { $0 })
        #expect(scheduling == thread.scheduling)
        if thread.warnings.isEmpty {
            #expect(thread.scheduling == .fifo(priority: 10))
        } else {
            #expect(thread.warnings == [.realTimeSchedulingRefused(priority: 10, errno: EPERM)])
            #expect(thread.scheduling == .other)
        }
        // Joined: the body has returned and counts no more.
        #expect(cycles.load(ordering: .relaxed) == cyclesAtStop)
    }
}
