/// An I2C bus master: the one transport every I2C part's driver talks to.
///
/// The Linux implementation sits on `/dev/i2c-N` (i2c-dev); the twin's implementation routes the
/// same bytes to simulated parts. Drivers see no difference.
public protocol I2CBus: AnyObject {
    /// Where the bus is, for error messages (for example `/dev/i2c-1` or `twin:main`).
    var name: String { get }

    /// One transaction with the 7-bit `address`: write every byte of `write` (may be empty), then,
    /// if `read` is not empty, a repeated START and a read that fills `read`, ending in one STOP.
    ///
    /// This is the shape of a register read (`{pointer}` then `{n bytes}`) and of a register
    /// write (`{pointer, data...}` with nothing read). The buffers are the caller's, so a read
    /// allocates nothing.
    func transfer(
        address: UInt8, write: UnsafeRawBufferPointer, read: UnsafeMutableRawBufferPointer
    ) throws(I2CError)
}

extension I2CBus {
    /// Reads `count` bytes starting at `register` (write the pointer, then read). Allocates the
    /// result: for tests and slow paths; drivers on the control path use `transfer` directly.
    public func readRegister(address: UInt8, register: UInt8, count: Int) throws(I2CError) -> [UInt8] {
        let pointer = [register]
        var result = [UInt8](repeating: 0, count: count)
        let outcome = pointer.withUnsafeBytes { pointerBytes in
            result.withUnsafeMutableBytes { readBytes in
                Result { () throws(I2CError) in
                    try transfer(address: address, write: pointerBytes, read: readBytes)
                }
            }
        }
        try outcome.get()
        return result
    }

    /// Writes `bytes` to `register` (pointer byte first, then the data, in one write).
    public func writeRegister(address: UInt8, register: UInt8, bytes: [UInt8]) throws(I2CError) {
        let message = [register] + bytes
        let outcome = message.withUnsafeBytes { writeBytes in
            Result { () throws(I2CError) in
                try transfer(
                    address: address, write: writeBytes,
                    read: UnsafeMutableRawBufferPointer(start: nil, count: 0))
            }
        }
        try outcome.get()
    }
}

/// A failed I2C transaction, with where and why.
public struct I2CError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, as far as the bus can tell.
    public enum Reason: Equatable, Sendable {
        /// No acknowledge from the target (absent, busy converting, or refusing the byte):
        /// `ENXIO`/`EREMOTEIO` from i2c-dev.
        case noAcknowledge
        /// The transfer did not finish in time (`ETIMEDOUT`, a clock held low too long).
        case timeout
        /// Lost arbitration or a bus-level fault (`EAGAIN`, `EIO`).
        case busFault
        /// The address belongs to a kernel driver (`EBUSY` from `I2C_SLAVE`).
        case addressBusy
        /// The bus device node does not exist (`ENOENT`, `ENODEV`).
        case noSuchBus
        /// Not allowed to open or use the bus (`EACCES`, `EPERM`).
        case permissionDenied
        /// The adapter cannot do what was asked (neither `I2C_RDWR` nor the needed SMBus call).
        case unsupported
        /// Fewer bytes moved than asked.
        case shortTransfer(expected: Int, actual: Int)
        /// Any other errno.
        case other
    }

    public var bus: String
    public var address: UInt8
    /// The call or ioctl that failed (`I2C_RDWR`, `i2c_smbus_read_word_data`, `open`...).
    public var operation: String
    /// The register pointer of the transaction, when there was one.
    public var register: UInt8?
    /// The errno the kernel returned, when it came from a syscall.
    public var errno: Int32?
    public var reason: Reason

    public init(
        bus: String, address: UInt8, operation: String, register: UInt8? = nil, errno: Int32? = nil,
        reason: Reason
    ) {
        self.bus = bus
        self.address = address
        self.operation = operation
        self.register = register
        self.errno = errno
        self.reason = reason
    }

    public var description: String {
        var text = "\(bus) address 0x\(hex(address))"
        if let register { text += " register 0x\(hex(register))" }
        text += ": \(operation) failed: \(reason)"
        if let errno { text += " (errno \(errno))" }
        return text
    }
}

/// Two-digit upper-case hex, for addresses and registers in messages.
public func hex(_ value: UInt8) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return digits.count == 1 ? "0" + digits : digits
}
