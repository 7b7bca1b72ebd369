import Control
import Glibc
import Synchronization
import Testing

@Suite("BoundedHandoff and LatestValueMailbox")
struct BoundedHandoffTests {
    @Test("FIFO order; exactly capacity pushes succeed, the next is refused and counted", arguments: [1, 2, 7, 64])
    func capacityBound(capacity: Int) {
        let ring = BoundedHandoff<Int>(capacity: capacity)
        for value in 0..<capacity {
            #expect(ring.tryPush(value))
        }
        #expect(ring.count == capacity)
        #expect(!ring.tryPush(-1))
        #expect(!ring.tryPush(-2))
        #expect(ring.refusedPushes == 2)
        #expect(ring.totalPushed == capacity)
        var popped: [Int] = []
        while let value = ring.tryPop() { popped.append(value) }
        #expect(popped == Array(0..<capacity))
        #expect(ring.isEmpty)
        #expect(ring.tryPop() == nil)
    }

    @Test("wraps around the storage many times without losing or reordering")
    func wrapsAround() {
        let ring = BoundedHandoff<Int>(capacity: 3)
        var next = 0
        var expected = 0
        for round in 0..<100 {
            // Push 1, 2 or 3, pop 1, 2 or 3: the indices cross the end of the storage in every phase.
            let pushes = round % 3 + 1
            for _ in 0..<pushes where ring.count < 3 {
                #expect(ring.tryPush(next))
                next += 1
            }
            for _ in 0..<(round % 2 + 1) {
                if let value = ring.tryPop() {
                    #expect(value == expected)
                    expected += 1
                }
            }
        }
        while let value = ring.tryPop() {
            #expect(value == expected)
            expected += 1
        }
        #expect(expected == next)
        #expect(ring.refusedPushes == 0)
    }

    /// Elements with references (strings, arrays) are moved in and out, and whatever is left in
    /// the ring is released with it: every instance made is destroyed exactly once.
    @Test("reference-carrying elements are released: popped ones and those left in the ring")
    func releasesElements() {
        final class Counter: Sendable {
            let alive = Atomic<Int>(0)
        }
        final class Tracked: Sendable {
            let counter: Counter
            init(_ counter: Counter) {
                self.counter = counter
                counter.alive.add(1, ordering: .relaxed)
            }
            deinit { counter.alive.subtract(1, ordering: .relaxed) }
        }
        let counter = Counter()
        do {
            let ring = BoundedHandoff<Tracked>(capacity: 4)
            for _ in 0..<4 { ring.tryPush(Tracked(counter)) }
            #expect(!ring.tryPush(Tracked(counter)))
            #expect(counter.alive.load(ordering: .relaxed) == 4)
            _ = ring.tryPop()
            #expect(counter.alive.load(ordering: .relaxed) == 3)
        }
        #expect(counter.alive.load(ordering: .relaxed) == 0)
    }

    /// One producer thread and one consumer thread: the consumer sees 0, 1, 2 ... in order with
    /// none missing, and never more than `capacity` queued at once. The producer retries a
    /// refused push (a full ring), so every value arrives.
    @Test("two-thread stress: order, no loss, bounded count", arguments: [1, 4, 256])
    func twoThreadStress(capacity: Int) {
        let total = 200_000
        let ring = BoundedHandoff<Int>(capacity: capacity)
        let producer = TestThread {
            var value = 0
            while value < total {
                if ring.tryPush(value) { value += 1 } else { sched_yield() }
            }
        }
        var expected = 0
        var outOfOrder = 0
        var largestCount = 0
        while expected < total {
            largestCount = max(largestCount, ring.count)
            if let value = ring.tryPop() {
                if value != expected { outOfOrder += 1 }
                expected = value + 1
            } else {
                sched_yield()
            }
        }
        producer.join()
        #expect(outOfOrder == 0)
        #expect(expected == total)
        #expect(largestCount <= capacity)
        #expect(ring.tryPop() == nil)
        #expect(ring.totalPushed == total)
    }

    @Test("mailbox: the initial value until the first publish, then always the newest")
    func mailboxNewest() {
        let mailbox = LatestValueMailbox<[Int]>(initial: [])
        #expect(mailbox.read() == [])
        #expect(mailbox.publishCount == 0)
        mailbox.publish([1])
        mailbox.publish([1, 2])
        #expect(mailbox.read() == [1, 2])
        #expect(mailbox.read() == [1, 2])
        for count in 3...10 { mailbox.publish(Array(1...count)) }
        #expect(mailbox.read() == Array(1...10))
        #expect(mailbox.publishCount == 10)
    }

    /// The writer publishes values whose parts must agree (a number, its text, an array of that
    /// length); the reader on another thread checks every value it reads is whole and never older
    /// than the one before.
    @Test("mailbox two-thread stress: never torn, never going back")
    func mailboxStress() {
        struct Value: Sendable {
            var number: Int
            var text: String
            var items: [Int]
        }
        let total = 50_000
        let mailbox = LatestValueMailbox(initial: Value(number: 0, text: "0", items: []))
        let writer = TestThread {
            for number in 1...total {
                mailbox.publish(Value(number: number, text: String(number), items: Array(repeating: number, count: number % 17)))
            }
        }
        var last = 0
        var torn = 0
        var backwards = 0
        var reads = 0
        while last < total {
            let value = mailbox.read()
            reads += 1
            if value.text != String(value.number) || value.items.count != value.number % 17
                || value.items.contains(where: { $0 != value.number })
            {
                torn += 1
            }
            if value.number < last { backwards += 1 }
            last = value.number
        }
        writer.join()
        #expect(torn == 0)
        #expect(backwards == 0)
        #expect(last == total)
        #expect(reads > 0)
    }
}
