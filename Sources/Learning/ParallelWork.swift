#if canImport(Glibc)
import Glibc
#endif

/// Calls `body(index)` once for every index in 0..<count, spread over up to `threads` threads
/// (the calling thread is one of them; thread k takes indices k, k+threads, ...), and returns
/// when all are done. POSIX threads, so the Learning module needs no runtime beyond Glibc. If a
/// thread cannot be created its share runs on the calling thread: slower, same results.
/// `body` must only write to memory no other index writes. It is `@Sendable` so that it is not
/// isolated to the caller's actor (the Swift 6 runtime traps a main-actor closure run elsewhere).
public func parallelFor(count: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
    let threadCount = max(1, min(threads, count))
    if threadCount == 1 {
        for index in 0..<count { body(index) }
        return
    }
    withoutActuallyEscaping(body) { body in
        var started: [pthread_t] = []
        var inline: [ThreadWork] = []
        for k in 1..<threadCount {
            let work = ThreadWork {
                for index in stride(from: k, to: count, by: threadCount) { body(index) }
            }
            var thread = pthread_t()
            let context = Unmanaged.passRetained(work).toOpaque()
            let status = pthread_create(
                &thread, nil,
                { context in
                    Unmanaged<ThreadWork>.fromOpaque(context!).takeRetainedValue().run()
                    return nil
                }, context)
            if status == 0 {
                started.append(thread)
            } else {
                Unmanaged<ThreadWork>.fromOpaque(context).release()
                inline.append(work)
            }
        }
        for index in stride(from: 0, to: count, by: threadCount) { body(index) }
        for work in inline { work.run() }
        for thread in started { pthread_join(thread, nil) }
    }
}

/// The closure one thread runs.
private final class ThreadWork: @unchecked Sendable {
    let run: @Sendable () -> Void
    init(_ run: @escaping @Sendable () -> Void) { self.run = run }
}

/// Slots for results computed on several threads, each slot written by exactly one of them.
public final class ResultSlots<Value>: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<Value?>
    public let count: Int

    public init(count: Int) {
        self.count = count
        storage = .allocate(capacity: max(1, count))
        storage.initialize(repeating: nil, count: max(1, count))
    }

    deinit {
        storage.deinitialize(count: max(1, count))
        storage.deallocate()
    }

    public func set(_ index: Int, _ value: Value) { storage[index] = value }
    public func get(_ index: Int) -> Value? { storage[index] }
}
