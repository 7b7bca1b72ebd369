import Glibc
import Synchronization

/// A stop request shared by a thread's owner (who sets it) and the thread's body (which polls
/// it once per cycle). One atomic flag: no lock, no allocation to read.
public final class StopFlag: Sendable {
    private let requested = Atomic<Bool>(false)

    public init() {}

    /// Whether a stop has been requested.
    public var isRequested: Bool { requested.load(ordering: .acquiring) }

    /// Asks the body to return at its next check.
    public func request() { requested.store(true, ordering: .releasing) }
}

/// A dedicated POSIX thread for the control loop (or its dead-man watcher), real-time where the
/// system allows it: `SCHED_FIFO` at a fixed priority and every page of the process locked in
/// RAM, so the loop is neither preempted by ordinary work nor stalled by a page fault.
///
/// `start` does, through the `LinuxSystem` seam:
/// 1. `mlockall(MCL_CURRENT | MCL_FUTURE)` when asked to lock memory (before the thread exists,
///    so its stack is locked too). Refused (`EPERM` without `CAP_IPC_LOCK`, `ENOMEM` over
///    `RLIMIT_MEMLOCK`): the thread still starts, and `warnings` says so.
/// 2. `pthread_attr_init`, `pthread_attr_setinheritsched(PTHREAD_EXPLICIT_SCHED)`,
///    `pthread_attr_setschedpolicy(SCHED_FIFO)`, `pthread_attr_setschedparam(priority)`,
///    `pthread_create`, `pthread_attr_destroy`. `pthread_create` fails with `EPERM` when the
///    process may not use that policy and priority (no `CAP_SYS_NICE`, `RLIMIT_RTPRIO` lower):
///    then the same is done with `SCHED_OTHER` priority 0, and `warnings` says so.
///
/// Nothing is printed: the caller reports the warnings. Sleeping to absolute deadlines
/// (`clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)`) is the body's, through `MonotonicClock`
/// on the same seam.
///
/// The thread must be joined (`stop()` or `join()`) before the object goes away.
public final class RealTimeThread: Sendable {
    /// The policy the thread was created with.
    public enum Scheduling: Equatable, Sendable, CustomStringConvertible {
        /// `SCHED_FIFO` at `priority` (1...99): runs until it blocks, ahead of every normal thread.
        case fifo(priority: Int32)
        /// `SCHED_OTHER`: the normal time-sharing policy.
        case other

        public var description: String {
            switch self {
            case .fifo(let priority): "SCHED_FIFO priority \(priority)"
            case .other: "SCHED_OTHER"
            }
        }
    }

    /// What the system refused; the thread runs anyway, with less protection.
    public enum Warning: Equatable, Sendable, CustomStringConvertible {
        /// `pthread_create` with `SCHED_FIFO` at `priority` failed with `EPERM`: the thread runs
        /// `SCHED_OTHER`, so ordinary load can delay its wakeups.
        case realTimeSchedulingRefused(priority: Int32, errno: Int32)
        /// `mlockall(MCL_CURRENT | MCL_FUTURE)` failed (`EPERM`, `ENOMEM`, `EAGAIN`): a page
        /// fault can stall the loop.
        case memoryLockRefused(errno: Int32)

        public var description: String {
            switch self {
            case .realTimeSchedulingRefused(let priority, let errno):
                "SCHED_FIFO priority \(priority) refused (errno \(errno)): running SCHED_OTHER; "
                    + "grant CAP_SYS_NICE or raise RLIMIT_RTPRIO for real-time scheduling"
            case .memoryLockRefused(let errno):
                "mlockall(MCL_CURRENT | MCL_FUTURE) refused (errno \(errno)): memory not locked; "
                    + "grant CAP_IPC_LOCK or raise RLIMIT_MEMLOCK"
            }
        }
    }

    /// The `SCHED_FIFO` priorities Linux has (`sched_get_priority_min/max(SCHED_FIFO)`).
    public static let fifoPriorities: ClosedRange<Int32> = 1...99

    public let handle: ThreadHandle
    public let scheduling: Scheduling
    /// Whether `mlockall` succeeded (false when it was not asked for).
    public let memoryLocked: Bool
    /// What was refused, in the order it happened; empty when everything asked for was granted.
    public let warnings: [Warning]
    /// Set by `stop()`; the body polls it.
    public let stopFlag: StopFlag
    private let system: any LinuxSystem
    private let joined = Atomic<Bool>(false)

    private init(
        handle: ThreadHandle, scheduling: Scheduling, memoryLocked: Bool, warnings: [Warning], stopFlag: StopFlag,
        system: any LinuxSystem
    ) {
        self.handle = handle
        self.scheduling = scheduling
        self.memoryLocked = memoryLocked
        self.warnings = warnings
        self.stopFlag = stopFlag
        self.system = system
    }

    /// Starts `body` on a new thread.
    ///
    /// - Parameters:
    ///   - priority: the `SCHED_FIFO` priority (1...99), or nil for `SCHED_OTHER`.
    ///   - lockMemory: whether to `mlockall(MCL_CURRENT | MCL_FUTURE)` first (process-wide, and
    ///     it stays locked).
    ///   - body: runs once on the new thread; it should return soon after its `StopFlag` is set.
    ///     It is handed over (`sending`): the caller keeps no reference to what it captures.
    /// - Throws: `RealTimeThreadError` when the thread could not be created at all (`EAGAIN`,
    ///   an attribute call failing), naming the call and errno.
    public static func start(
        priority: Int32?, lockMemory: Bool, system: any LinuxSystem = LiveLinuxSystem(),
        body: sending @escaping (StopFlag) -> Void
    ) throws(RealTimeThreadError) -> RealTimeThread {
        if let priority {
            precondition(fifoPriorities.contains(priority), "SCHED_FIFO priority must be 1...99, got \(priority)")
        }
        var warnings: [Warning] = []
        var memoryLocked = false
        if lockMemory {
            let locked = system.mlockall(flags: MCL_CURRENT | MCL_FUTURE)
            if locked.failed {
                warnings.append(.memoryLockRefused(errno: locked.errno))
            } else {
                memoryLocked = true
            }
        }

        let stopFlag = StopFlag()
        let transfer = BodyTransfer(body)
        let run: @Sendable () -> Void = { transfer.body(stopFlag) }

        if let priority {
            if let handle = try create(system: system, policy: SCHED_FIFO, priority: priority, run: run) {
                return RealTimeThread(
                    handle: handle, scheduling: .fifo(priority: priority), memoryLocked: memoryLocked,
                    warnings: warnings, stopFlag: stopFlag, system: system)
            }
            warnings.append(.realTimeSchedulingRefused(priority: priority, errno: EPERM))
        }
        guard let handle = try create(system: system, policy: SCHED_OTHER, priority: 0, run: run) else {
            // Unreachable: an EPERM for SCHED_OTHER is thrown by `create`, not returned.
            throw RealTimeThreadError(operation: "pthread_create", errno: EPERM)
        }
        return RealTimeThread(
            handle: handle, scheduling: .other, memoryLocked: memoryLocked, warnings: warnings, stopFlag: stopFlag,
            system: system)
    }

    /// One attempt: attributes with an explicit policy and priority, create, destroy the
    /// attributes. Returns the handle, or nil for an `EPERM` refusal of a real-time policy (the
    /// caller falls back); any other failure is thrown.
    private static func create(
        system: any LinuxSystem, policy: Int32, priority: Int32, run: @escaping @Sendable () -> Void
    ) throws(RealTimeThreadError) -> ThreadHandle? {
        var attributes = pthread_attr_t()
        try check("pthread_attr_init", system.pthreadAttrInit(&attributes))
        // Destroyed on every path once initialized. Its own failure is thrown only when nothing
        // else failed and no thread was created: a running thread's handle is never dropped.
        let outcome = Result { () throws(RealTimeThreadError) -> ThreadHandle? in
            try check(
                "pthread_attr_setinheritsched",
                system.pthreadAttrSetinheritsched(&attributes, inherit: Int32(PTHREAD_EXPLICIT_SCHED)))
            try check("pthread_attr_setschedpolicy", system.pthreadAttrSetschedpolicy(&attributes, policy: policy))
            try check("pthread_attr_setschedparam", system.pthreadAttrSetschedparam(&attributes, priority: priority))
            let created = withUnsafePointer(to: &attributes) { system.pthreadCreate(attributes: $0, body: run) }
            if let thread = created.thread, !created.result.failed { return thread }
            if created.result.errno == EPERM && policy != SCHED_OTHER { return nil }
            throw RealTimeThreadError(operation: "pthread_create", errno: created.result.errno)
        }
        let destroyed = system.pthreadAttrDestroy(&attributes)
        let handle = try outcome.get()
        if handle == nil {
            try check("pthread_attr_destroy", destroyed)
        }
        return handle
    }

    private static func check(_ operation: String, _ result: SyscallResult) throws(RealTimeThreadError) {
        if result.failed { throw RealTimeThreadError(operation: operation, errno: result.errno) }
    }

    /// Asks the body to return (it polls `stopFlag`).
    public func requestStop() { stopFlag.request() }

    /// Waits for the body to return (`pthread_join`). Joining again returns at once.
    public func join() throws(RealTimeThreadError) {
        guard !joined.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let result = system.pthreadJoin(handle)
        if result.failed {
            throw RealTimeThreadError(operation: "pthread_join", errno: result.errno)
        }
    }

    /// `requestStop()`, then `join()`.
    public func stop() throws(RealTimeThreadError) {
        requestStop()
        try join()
    }

    /// The policy the calling thread runs at (`pthread_getschedparam(pthread_self())`): what a
    /// body reports to show what it really got.
    public static func currentScheduling(system: any LinuxSystem = LiveLinuxSystem())
        throws(RealTimeThreadError) -> Scheduling
    {
        let (result, policy, priority) = system.pthreadGetschedparam(system.pthreadSelf())
        if result.failed {
            throw RealTimeThreadError(operation: "pthread_getschedparam", errno: result.errno)
        }
        return policy == SCHED_FIFO ? .fifo(priority: priority) : .other
    }
}

/// A thread that could not be started or joined: the call and its error number.
public struct RealTimeThreadError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var errno: Int32

    public init(operation: String, errno: Int32) {
        self.operation = operation
        self.errno = errno
    }

    public var description: String { "real-time thread: \(operation) failed (errno \(errno))" }
}

/// Carries a `sending` body to the one thread that runs it. Unchecked: after `start` hands it
/// over, only the new thread touches the body or anything it captured.
private final class BodyTransfer: @unchecked Sendable {
    let body: (StopFlag) -> Void
    init(_ body: @escaping (StopFlag) -> Void) { self.body = body }
}
