import Transports

/// A simulated I2C part: the bus hands it each transaction in its two phases, byte for byte.
///
/// A transaction is: START, address + W, the written bytes (`receive`), then, if the master
/// reads, a repeated START, address + R and the read bytes (`respond`), then STOP. `receive` is
/// called for every transaction, even with nothing written (a pure read, or a zero-length
/// "quick write" probe when nothing is read either), because the address phase is where a
/// part acknowledges or not. Throwing from either phase aborts the transaction.
public protocol SimulatedI2CTarget: AnyObject {
    /// Address and write phase. `write` may be empty; `readFollows` says whether a read phase
    /// comes next in the same transaction. Throw to NAK (the address or a byte).
    func receive(write: UnsafeRawBufferPointer, readFollows: Bool) throws(SimulatedI2CRefusal)

    /// Read phase: fill every byte of `read` (the master decides the length).
    func respond(into read: UnsafeMutableRawBufferPointer) throws(SimulatedI2CRefusal)
}

/// What a simulated part does instead of completing a phase; the bus turns it into an
/// `I2CError` carrying the bus name, address and register.
public struct SimulatedI2CRefusal: Error, Equatable, Sendable {
    public var reason: I2CError.Reason

    public init(_ reason: I2CError.Reason) { self.reason = reason }

    /// The part did not acknowledge (absent, busy, or refusing the byte).
    public static let noAcknowledge = SimulatedI2CRefusal(.noAcknowledge)
}

/// The twin's I2C bus: routes each `transfer` to the simulated part attached at the address.
///
/// Behaves like i2c-dev with `I2C_RDWR`: an address with nothing attached NAKs
/// (`.noAcknowledge`, what ENXIO means), errors name the bus, address and register (the first
/// written byte), and the operation is reported as `I2C_RDWR`. Tests inject bus-level faults per
/// address: fail the next N transactions, or corrupt the next replies. Every transaction
/// attempted at an address is counted, failed ones included.
///
/// The normal path (no faults queued) allocates nothing: targets, counters and fault queues live
/// in fixed tables sized for the 128 seven-bit addresses. One thread at a time uses it.
public final class SimulatedI2CBus: I2CBus {
    /// How the next reply from an address is spoiled after the part has answered.
    public enum ReplyCorruption: Equatable, Sendable {
        /// Leave this reply alone (to reach a later one in the queue).
        case intact
        /// Every byte 0xFF, as when SDA is released.
        case allOnes
        /// Flip this many distinct bits, chosen by the bus's seeded generator.
        case flipBits(count: Int)
        /// Replace the reply with these bytes (repeated if the reply is longer).
        case pattern([UInt8])
        /// The part stops driving SDA after this many bytes: the rest read 0xFF, no error.
        case releasedAfter(bytes: Int)
        /// The adapter reports a partial transfer: `.shortTransfer(expected:actual:)`.
        case truncated(afterBytes: Int)
    }

    public let name: String

    private var targets: [(any SimulatedI2CTarget)?]
    private var transactionCounts: [Int]
    private var pendingFailures: [Int]
    private var pendingFailureReasons: [I2CError.Reason]
    private var pendingCorruptions: [[ReplyCorruption]]
    private var random: SeededRandom

    /// `seed` drives `.flipBits`, so a corrupted run is the same run every time.
    public init(name: String = "twin:main", seed: UInt64 = 0x5EED) {
        self.name = name
        targets = Array(repeating: nil, count: 128)
        transactionCounts = Array(repeating: 0, count: 128)
        pendingFailures = Array(repeating: 0, count: 128)
        pendingFailureReasons = Array(repeating: .noAcknowledge, count: 128)
        pendingCorruptions = Array(repeating: [], count: 128)
        random = SeededRandom(seed: seed)
    }

    // MARK: - Wiring

    /// Puts `target` at the 7-bit `address`. Two parts at one address is a wiring error.
    public func attach(_ target: any SimulatedI2CTarget, at address: UInt8) {
        precondition(address < 0x80, "I2C addresses are 7-bit, got 0x\(hex(address))")
        precondition(targets[Int(address)] == nil, "\(name): address 0x\(hex(address)) is taken")
        targets[Int(address)] = target
    }

    /// Removes whatever is at `address` (a part unplugged); later transactions NAK.
    public func detach(at address: UInt8) {
        precondition(address < 0x80, "I2C addresses are 7-bit, got 0x\(hex(address))")
        targets[Int(address)] = nil
    }

    /// The part at `address`, if any.
    public func target(at address: UInt8) -> (any SimulatedI2CTarget)? {
        precondition(address < 0x80, "I2C addresses are 7-bit, got 0x\(hex(address))")
        return targets[Int(address)]
    }

    // MARK: - Counters

    /// Transactions attempted at `address` (answered, NAKed or failed).
    public func transactionCount(at address: UInt8) -> Int {
        precondition(address < 0x80, "I2C addresses are 7-bit, got 0x\(hex(address))")
        return transactionCounts[Int(address)]
    }

    /// Transactions attempted at every address.
    public var totalTransactionCount: Int { transactionCounts.reduce(0, +) }

    public func resetTransactionCounts() {
        for index in transactionCounts.indices { transactionCounts[index] = 0 }
    }

    // MARK: - Fault injection

    /// Fails the next `count` transactions at `address` with `reason` before the part sees them
    /// (default: no acknowledge, like a part busy converting or a clock stretched too long).
    public func failNext(_ count: Int, at address: UInt8, reason: I2CError.Reason = .noAcknowledge) {
        precondition(address < 0x80 && count >= 0, "failNext(\(count), at: 0x\(hex(address)))")
        pendingFailures[Int(address)] = count
        pendingFailureReasons[Int(address)] = reason
    }

    /// Spoils the next reply (the next transaction with a read phase) from `address`.
    public func corruptNextReply(at address: UInt8, _ corruption: ReplyCorruption) {
        corruptNextReplies(at: address, [corruption])
    }

    /// Spoils the next replies from `address`, one queued corruption per reply, in order.
    public func corruptNextReplies(at address: UInt8, _ corruptions: [ReplyCorruption]) {
        precondition(address < 0x80, "I2C addresses are 7-bit, got 0x\(hex(address))")
        pendingCorruptions[Int(address)].append(contentsOf: corruptions)
    }

    /// Forgets every queued failure and corruption.
    public func clearFaults() {
        for index in 0..<128 {
            pendingFailures[index] = 0
            pendingCorruptions[index].removeAll()
        }
    }

    // MARK: - I2CBus

    public func transfer(
        address: UInt8, write: UnsafeRawBufferPointer, read: UnsafeMutableRawBufferPointer
    ) throws(I2CError) {
        precondition(address < 0x80, "I2C addresses are 7-bit, got 0x\(hex(address))")
        let slot = Int(address)
        transactionCounts[slot] += 1
        let register: UInt8? = write.isEmpty ? nil : write[0]

        if pendingFailures[slot] > 0 {
            pendingFailures[slot] -= 1
            throw failure(address, register, pendingFailureReasons[slot])
        }
        guard let target = targets[slot] else {
            throw failure(address, register, .noAcknowledge)
        }
        do throws(SimulatedI2CRefusal) {
            try target.receive(write: write, readFollows: !read.isEmpty)
            if read.isEmpty { return }
            try target.respond(into: read)
        } catch {
            throw failure(address, register, error.reason)
        }
        if !pendingCorruptions[slot].isEmpty {
            let corruption = pendingCorruptions[slot].removeFirst()
            try apply(corruption, to: read, address: address, register: register)
        }
    }

    // MARK: - Private

    private func failure(_ address: UInt8, _ register: UInt8?, _ reason: I2CError.Reason) -> I2CError {
        I2CError(bus: name, address: address, operation: "I2C_RDWR", register: register, reason: reason)
    }

    private func apply(
        _ corruption: ReplyCorruption, to read: UnsafeMutableRawBufferPointer, address: UInt8,
        register: UInt8?
    ) throws(I2CError) {
        switch corruption {
        case .intact:
            return
        case .allOnes:
            for index in read.indices { read[index] = 0xFF }
        case .flipBits(let count):
            let bitCount = read.count * 8
            precondition(count >= 0 && count <= bitCount, "cannot flip \(count) of \(bitCount) bits")
            // Partial Fisher-Yates over bit positions: distinct bits, so the reply really changes.
            var positions = Array(0..<bitCount)
            for chosen in 0..<count {
                let pick = Int.random(in: chosen..<bitCount, using: &random)
                positions.swapAt(chosen, pick)
                let bit = positions[chosen]
                read[bit / 8] ^= UInt8(1) << UInt8(bit % 8)
            }
        case .pattern(let bytes):
            precondition(!bytes.isEmpty, "a replacement pattern needs at least one byte")
            for index in read.indices { read[index] = bytes[index % bytes.count] }
        case .releasedAfter(let kept):
            for index in read.indices where index >= kept { read[index] = 0xFF }
        case .truncated(let moved):
            throw failure(address, register, .shortTransfer(expected: read.count, actual: moved))
        }
    }
}
