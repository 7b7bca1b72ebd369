import Synchronization

/// A bounded single-producer, single-consumer ring: how commands reach the real-time loop and
/// how its events leave it, without a lock and without blocking either side.
///
/// Lamport's SPSC queue with acquire/release indices: the producer alone advances `tail`, the
/// consumer alone advances `head`; both are ever-growing counts (an `Int` does not wrap in the
/// life of a rig), the slot is `count % capacity`. The producer initializes a slot, then
/// publishes it with a releasing store of `tail`; the consumer acquires `tail`, moves the element
/// out, then frees the slot with a releasing store of `head`. The storage is allocated once, in
/// `init`: `tryPush` and `tryPop` allocate nothing and never wait.
///
/// Exactly one thread may push and exactly one (other or the same) thread may pop at a time;
/// that discipline is the caller's (the loop owns one end, the composition root hands the other
/// to one task).
public final class BoundedHandoff<Element: Sendable>: @unchecked Sendable {
    /// The most elements the ring holds at once.
    public let capacity: Int
    private let slots: UnsafeMutablePointer<Element>
    /// Elements taken so far (written by the consumer only).
    private let head = Atomic<Int>(0)
    /// Elements put so far (written by the producer only).
    private let tail = Atomic<Int>(0)
    /// Pushes refused because the ring was full (written by the producer only).
    private let refused = Atomic<Int>(0)

    public init(capacity: Int) {
        precondition(capacity > 0, "a handoff needs room for at least one element, got \(capacity)")
        self.capacity = capacity
        slots = UnsafeMutablePointer<Element>.allocate(capacity: capacity)
    }

    deinit {
        // Whatever is still queued is deinitialized with the ring (no thread uses it any more).
        let first = head.load(ordering: .relaxed)
        let end = tail.load(ordering: .relaxed)
        for count in first..<end {
            (slots + count % capacity).deinitialize(count: 1)
        }
        slots.deallocate()
    }

    /// Producer: appends `element` if there is room. Returns false (and counts the refusal) when
    /// the ring is full; the element is then dropped, and the caller decides what that means.
    @discardableResult
    public func tryPush(_ element: Element) -> Bool {
        let end = tail.load(ordering: .relaxed)
        let first = head.load(ordering: .acquiring)
        if end - first >= capacity {
            refused.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        (slots + end % capacity).initialize(to: element)
        tail.store(end + 1, ordering: .releasing)
        return true
    }

    /// Consumer: the oldest element, or nil when the ring is empty.
    public func tryPop() -> Element? {
        let first = head.load(ordering: .relaxed)
        let end = tail.load(ordering: .acquiring)
        if first == end { return nil }
        let element = (slots + first % capacity).move()
        head.store(first + 1, ordering: .releasing)
        return element
    }

    /// How many elements are queued. Exact on either end's own thread for its own side; from
    /// elsewhere a snapshot that may be out of date by the time it is read.
    public var count: Int {
        let first = head.load(ordering: .acquiring)
        let end = tail.load(ordering: .acquiring)
        return end - first
    }

    public var isEmpty: Bool { count == 0 }

    /// Pushes refused so far because the ring was full.
    public var refusedPushes: Int { refused.load(ordering: .relaxed) }

    /// Elements accepted so far (pushed, whether or not popped since).
    public var totalPushed: Int { tail.load(ordering: .relaxed) }
}

/// A latest-value mailbox for one writer and one reader: the writer publishes a whole value each
/// time, the reader always gets the newest complete one; neither ever waits, and older values
/// are simply overwritten (the snapshot side of the loop: a slow reader must not hold it up).
///
/// Triple buffering: three slots, one owned by the writer (`back`), one by the reader (`front`),
/// and one in the middle whose index sits in an atomic byte with a "fresh" bit. Publishing
/// writes the back slot and swaps it with the middle; reading, when the fresh bit is set, swaps
/// the front with the middle. A slot is only ever touched by the side that owns it, so values
/// with references (strings, arrays) are never read torn, which a sequence lock could not
/// promise. The three slots are allocated in `init`; `publish` and `read` allocate nothing.
public final class LatestValueMailbox<Value: Sendable>: @unchecked Sendable {
    private static var freshBit: UInt8 { 0b100 }
    private let slots: UnsafeMutablePointer<Value>
    /// The middle slot's index, with `freshBit` set while the reader has not taken it.
    private let middle = Atomic<UInt8>(1)
    /// Values published so far.
    private let published = Atomic<UInt64>(0)
    /// The writer's slot (only the writer touches it).
    private var back: UInt8 = 2
    /// The reader's slot (only the reader touches it).
    private var front: UInt8 = 0

    /// A mailbox holding `initial` until the first `publish`.
    public init(initial: Value) {
        slots = UnsafeMutablePointer<Value>.allocate(capacity: 3)
        slots.initialize(repeating: initial, count: 3)
    }

    deinit {
        slots.deinitialize(count: 3)
        slots.deallocate()
    }

    /// Writer: makes `value` the newest.
    public func publish(_ value: Value) {
        slots[Int(back)] = value
        let previous = middle.exchange(back | Self.freshBit, ordering: .acquiringAndReleasing)
        back = previous & ~Self.freshBit
        published.wrappingAdd(1, ordering: .relaxed)
    }

    /// Reader: the newest value published (or the initial one).
    public func read() -> Value {
        if middle.load(ordering: .relaxed) & Self.freshBit != 0 {
            let previous = middle.exchange(front, ordering: .acquiringAndReleasing)
            front = previous & ~Self.freshBit
        }
        return slots[Int(front)]
    }

    /// How many values have been published.
    public var publishCount: UInt64 { published.load(ordering: .relaxed) }
}
