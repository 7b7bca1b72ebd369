import Transports

/// A simulated serial part (a pump): takes the bytes the host writes and queues its replies,
/// each with the instant it is on the wire.
///
/// The same part serves an in-memory `SimulatedSerialLine` (the twin, on the virtual clock) and
/// a pseudo-terminal (tests of the real termios code), so it never blocks and never sleeps.
public protocol SimulatedSerialDevice: AnyObject {
    /// Bytes from the host, as they arrive (any split: a command may come a byte at a time).
    func receive(_ bytes: UnsafeRawBufferPointer)

    /// When the earliest queued reply byte is (or was) on the wire; nil when nothing is queued.
    var nextReplyTime: MonotonicInstant? { get }

    /// Removes and returns every queued reply byte on the wire at `now`.
    func takeReply(availableAt now: MonotonicInstant) -> [UInt8]
}

/// The reply side of a simulated serial part: latency, replies split into pieces, silence.
public struct SerialReplyQueue: Sendable {
    /// Time from the command's end to the first byte of its reply, s.
    public var latencySeconds: Double
    /// When set, each reply goes out in pieces of at most this many bytes...
    public var splitChunkBytes: Int?
    /// ... this far apart, s (so a reader sees partial lines).
    public var splitGapSeconds: Double = 0.002
    /// Replies are dropped (an unplugged cable, a pump switched off).
    public var isSilent = false

    private var chunks: [(at: MonotonicInstant, bytes: [UInt8])] = []

    public init(latencySeconds: Double) {
        precondition(latencySeconds >= 0, "latency is not negative")
        self.latencySeconds = latencySeconds
    }

    /// Queues `bytes` as a reply to a command that ended at `now`.
    public mutating func send(_ bytes: [UInt8], at now: MonotonicInstant) {
        guard !isSilent, !bytes.isEmpty else { return }
        var time = now.adding(seconds: latencySeconds)
        if let last = chunks.last?.at, last > time { time = last }
        let size = splitChunkBytes.map { max(1, $0) } ?? bytes.count
        var start = 0
        while start < bytes.count {
            let end = min(start + size, bytes.count)
            chunks.append((time, Array(bytes[start..<end])))
            start = end
            time = time.adding(seconds: splitGapSeconds)
        }
    }

    public var nextTime: MonotonicInstant? { chunks.first?.at }

    /// Every queued byte on the wire at `now`.
    public mutating func take(availableAt now: MonotonicInstant) -> [UInt8] {
        var bytes: [UInt8] = []
        while let first = chunks.first, first.at <= now {
            bytes += first.bytes
            chunks.removeFirst()
        }
        return bytes
    }

    /// Drops everything queued.
    public mutating func clear() { chunks.removeAll() }
}

/// The twin's serial line: a `SerialLine` wired to a simulated part, on the rig clock.
///
/// A read with nothing on the wire sleeps on the clock until the part's next reply byte or the
/// deadline, whichever is first (a virtual clock jumps there), so a reply with latency costs
/// virtual time, not wall time, and a silent part times out at exactly the deadline.
/// Not thread-safe: one owner, like the clock.
public final class SimulatedSerialLine: SerialLine {
    public let name: String
    public let clock: any RigClock
    public let device: any SimulatedSerialDevice
    /// Bytes taken from the part that did not fit the last read's buffer.
    private var pending: [UInt8] = []
    /// Every byte the host wrote, for tests.
    public private(set) var written: [UInt8] = []
    /// Reads that returned bytes, for tests (split replies show as more reads).
    public private(set) var readsWithData = 0

    public init(name: String, device: any SimulatedSerialDevice, clock: any RigClock) {
        self.name = name
        self.device = device
        self.clock = clock
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(SerialError) {
        written += bytes
        device.receive(bytes)
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, until deadline: MonotonicInstant) throws(SerialError)
        -> Int
    {
        precondition(buffer.count > 0, "a read needs room for a byte")
        if pending.isEmpty {
            pending = device.takeReply(availableAt: clock.now())
        }
        if pending.isEmpty {
            guard let next = device.nextReplyTime, next <= deadline else {
                try sleep(until: deadline)
                return 0
            }
            try sleep(until: next)
            pending = device.takeReply(availableAt: clock.now())
            if pending.isEmpty { return 0 }
        }
        let count = min(pending.count, buffer.count)
        for index in 0..<count { buffer[index] = pending[index] }
        pending.removeFirst(count)
        readsWithData += 1
        return count
    }

    /// Drops what arrived and was not read; replies still on their way keep coming, as on a tty.
    public func discardInput() throws(SerialError) {
        pending.removeAll()
        _ = device.takeReply(availableAt: clock.now())
    }

    private func sleep(until instant: MonotonicInstant) throws(SerialError) {
        do {
            try clock.sleep(until: instant)
        } catch {
            throw SerialError(port: name, operation: "clock sleep", errno: error.errno, reason: .other)
        }
    }
}
