#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A pthread mutex with one condition variable on CLOCK_MONOTONIC (pthread_mutex_lock(3),
/// pthread_cond_timedwait(3)): what the journal's writer and the uplink sleep on. The mutex is
/// only ever held for a few memory operations, never across I/O.
public final class ConditionLock: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    public func lock() { pthread_mutex_lock(mutex) }
    public func unlock() { pthread_mutex_unlock(mutex) }

    public func withLock<Result>(_ body: () throws -> Result) rethrows -> Result {
        lock()
        defer { unlock() }
        return try body()
    }

    /// With the lock held: releases it until signalled, then holds it again.
    public func wait() { pthread_cond_wait(condition, mutex) }

    /// With the lock held: waits until signalled or until `deadline` (CLOCK_MONOTONIC ns).
    public func wait(untilMonotonicNanoseconds deadline: Int64) {
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        pthread_cond_timedwait(condition, mutex, &time)
    }

    /// Wakes every waiter.
    public func broadcast() { pthread_cond_broadcast(condition) }
}

/// Starts `body` on a new joinable pthread (pthread_create(3)); nil and the error number if the
/// system refused (EAGAIN: out of threads or memory).
public func startThread(_ body: @escaping @Sendable () -> Void) -> (thread: pthread_t?, errno: Int32) {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let code = pthread_create(&thread, nil, { raw in
        let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
        box.body()
        return nil
    }, context)
    guard code == 0 else {
        Unmanaged<AnyObject>.fromOpaque(context).release()
        return (nil, code)
    }
    return (thread, 0)
}
