import CI2C
import Glibc
import Transports

/// An I2C bus on Linux i2c-dev (`/dev/i2c-N`), through the `LinuxSystem` seam.
///
/// At open it asks the adapter what it can do (`I2C_FUNCS`) once. When the adapter speaks plain
/// I2C (`I2C_FUNC_I2C`) every transfer is one `I2C_RDWR` ioctl: a write message, then a read
/// message (`I2C_M_RD`), one STOP. Otherwise (SMBus-only adapters) it falls back to libi2c:
/// `I2C_SLAVE` sets the address (only when it changes), then the SMBus call that fits the shape
/// of the transfer and that the adapter reports. A transfer the adapter cannot do throws
/// `.unsupported`.
///
/// Threading: not thread-safe. The fd and the cached target address are plain stored state; use
/// a bus from one thread at a time (the control-loop thread owns its buses).
public final class LinuxI2CBus: I2CBus {
    /// The device path, for example `/dev/i2c-1`.
    public let name: String
    /// What the adapter reported for `I2C_FUNCS` at open.
    public let functionality: I2CFunctionality

    private let system: any LinuxSystem
    /// The open fd, or -1 after `close()`.
    private var fd: Int32
    /// The address last set with `I2C_SLAVE`, nil when none is known to be set.
    private var slaveAddress: UInt16?

    /// Opens `path` (`open(path, O_RDWR | O_CLOEXEC)`) and reads the adapter's functionality
    /// (`ioctl(I2C_FUNCS)`).
    ///
    /// Errors name the path and the call (`open` or `I2C_FUNCS`); the address is 0 because no
    /// target is involved yet. A missing node is `.noSuchBus`, a node the user may not open
    /// `.permissionDenied`.
    public init(path: String, system: any LinuxSystem = LiveLinuxSystem()) throws(I2CError) {
        self.name = path
        self.system = system
        let opened = system.open(path: path, flags: O_RDWR | O_CLOEXEC)
        if opened.failed {
            throw I2CError(
                bus: path, address: 0, operation: "open", errno: opened.errno,
                reason: I2CError.Reason(errno: opened.errno))
        }
        let (funcs, mask) = system.ioctlI2CFuncs(fd: opened.value)
        if funcs.failed {
            // The fd is useless without knowing the adapter; the I2C_FUNCS error is the one to
            // report, and a close failure of a descriptor that was never used changes nothing.
            _ = system.close(fd: opened.value)
            throw I2CError(
                bus: path, address: 0, operation: "I2C_FUNCS", errno: funcs.errno,
                reason: I2CError.Reason(errno: funcs.errno))
        }
        self.fd = opened.value
        self.functionality = I2CFunctionality(rawValue: mask)
    }

    /// Opens `/dev/i2c-<number>`.
    public convenience init(busNumber: Int, system: any LinuxSystem = LiveLinuxSystem()) throws(I2CError) {
        try self.init(path: "/dev/i2c-\(busNumber)", system: system)
    }

    deinit {
        if fd >= 0 {
            // deinit cannot report; call close() first to see a close error.
            _ = system.close(fd: fd)
        }
    }

    /// Whether `close()` has been called.
    public var isClosed: Bool { fd < 0 }

    /// Closes the fd (`close(2)`). Closing twice is harmless; transfers after close throw.
    public func close() throws(I2CError) {
        guard fd >= 0 else { return }
        let outcome = system.close(fd: fd)
        // Linux frees the descriptor even when close reports an error: never retry it.
        fd = -1
        slaveAddress = nil
        if outcome.failed {
            throw I2CError(
                bus: name, address: 0, operation: "close", errno: outcome.errno,
                reason: I2CError.Reason(errno: outcome.errno))
        }
    }

    public func transfer(
        address: UInt8, write: UnsafeRawBufferPointer, read: UnsafeMutableRawBufferPointer
    ) throws(I2CError) {
        let register = write.first
        guard fd >= 0 else {
            throw I2CError(
                bus: name, address: address, operation: "transfer after close", register: register,
                errno: EBADF, reason: .other)
        }
        if functionality.contains(.i2c) {
            try transferRDWR(address: address, write: write, read: read)
        } else {
            try transferSMBus(address: address, write: write, read: read)
        }
    }

    // MARK: I2C_RDWR

    /// One `I2C_RDWR`: `{addr, 0, write}` when there is something to write, `{addr, I2C_M_RD,
    /// read}` when there is something to read (a zero-length write when both are empty: a probe).
    private func transferRDWR(
        address: UInt8, write: UnsafeRawBufferPointer, read: UnsafeMutableRawBufferPointer
    ) throws(I2CError) {
        let register = write.first
        guard write.count <= Int(UInt16.max), read.count <= Int(UInt16.max) else {
            throw I2CError(
                bus: name, address: address, operation: "I2C_RDWR", register: register,
                reason: .unsupported)
        }
        let target = UInt16(address)
        let outcome = withUnsafeTemporaryAllocation(of: I2CMessage.self, capacity: 2) { messages in
            var count = 0
            if write.count > 0 || read.count == 0 {
                messages.initializeElement(
                    at: count,
                    to: I2CMessage(
                        address: target, flags: 0, length: UInt16(write.count),
                        buffer: UnsafeMutableRawPointer(mutating: write.baseAddress)))
                count += 1
            }
            if read.count > 0 {
                messages.initializeElement(
                    at: count,
                    to: I2CMessage(
                        address: target, flags: I2CMessage.read, length: UInt16(read.count),
                        buffer: read.baseAddress))
                count += 1
            }
            let sent = UnsafeBufferPointer(rebasing: messages[0..<count])
            return (system.ioctlI2CRdwr(fd: fd, messages: sent), count)
        }
        let (result, expected) = outcome
        if result.failed {
            throw I2CError(
                bus: name, address: address, operation: "I2C_RDWR", register: register,
                errno: result.errno, reason: I2CError.Reason(errno: result.errno))
        }
        if Int(result.value) != expected {
            // I2C_RDWR counts messages, not bytes.
            throw I2CError(
                bus: name, address: address, operation: "I2C_RDWR", register: register,
                reason: .shortTransfer(expected: expected, actual: Int(result.value)))
        }
    }

    // MARK: SMBus fallback

    /// The transfer as one libi2c SMBus call, after `I2C_SLAVE` when the address changed.
    ///
    /// | write | read | call (first the adapter reports) |
    /// |---|---|---|
    /// | 1 (pointer) | 1 | read_byte_data, read_i2c_block_data |
    /// | 1 | 2 | read_word_data (little-endian: low byte first on the wire), read_i2c_block_data |
    /// | 1 | 3...32 | read_i2c_block_data |
    /// | 0 | 1 | read_byte |
    /// | 1 | 0 | write_byte |
    /// | 2 (pointer + 1) | 0 | write_byte_data, write_i2c_block_data |
    /// | 3 (pointer + 2) | 0 | write_word_data (low byte = first data byte), write_i2c_block_data |
    /// | 4...33 | 0 | write_i2c_block_data |
    ///
    /// Anything else (a pointer of more than one byte with a read, more than 32 data bytes, an
    /// empty transfer) is `.unsupported`.
    private func transferSMBus(
        address: UInt8, write: UnsafeRawBufferPointer, read: UnsafeMutableRawBufferPointer
    ) throws(I2CError) {
        let register = write.first
        guard let call = smbusCall(writeCount: write.count, readCount: read.count) else {
            throw I2CError(
                bus: name, address: address, operation: "SMBus transfer (write \(write.count), read \(read.count))",
                register: register, reason: .unsupported)
        }
        try selectAddress(address, register: register)

        let command = register ?? 0
        let outcome: SyscallResult
        switch call {
        case .readByte:
            outcome = system.smbusReadByte(fd: fd)
            if !outcome.failed { read[0] = UInt8(truncatingIfNeeded: outcome.value) }
        case .writeByte:
            outcome = system.smbusWriteByte(fd: fd, value: command)
        case .readByteData:
            outcome = system.smbusReadByteData(fd: fd, command: command)
            if !outcome.failed { read[0] = UInt8(truncatingIfNeeded: outcome.value) }
        case .readWordData:
            outcome = system.smbusReadWordData(fd: fd, command: command)
            if !outcome.failed {
                // SMBus words are little-endian: the low byte came first on the wire.
                read[0] = UInt8(truncatingIfNeeded: outcome.value)
                read[1] = UInt8(truncatingIfNeeded: outcome.value >> 8)
            }
        case .readI2CBlockData:
            outcome = system.smbusReadI2CBlockData(fd: fd, command: command, into: read)
        case .writeByteData:
            outcome = system.smbusWriteByteData(fd: fd, command: command, value: write[1])
        case .writeWordData:
            // The first data byte goes first on the wire, which SMBus sends as the low byte.
            let value = UInt16(write[1]) | UInt16(write[2]) << 8
            outcome = system.smbusWriteWordData(fd: fd, command: command, value: value)
        case .writeI2CBlockData:
            outcome = system.smbusWriteI2CBlockData(
                fd: fd, command: command, bytes: UnsafeRawBufferPointer(rebasing: write[1...]))
        }
        if outcome.failed {
            throw I2CError(
                bus: name, address: address, operation: call.rawValue, register: register,
                errno: outcome.errno, reason: I2CError.Reason(errno: outcome.errno))
        }
        if call == .readI2CBlockData && Int(outcome.value) != read.count {
            throw I2CError(
                bus: name, address: address, operation: call.rawValue, register: register,
                reason: .shortTransfer(expected: read.count, actual: Int(outcome.value)))
        }
    }

    /// `ioctl(I2C_SLAVE)`, only when the address differs from the one last set.
    private func selectAddress(_ address: UInt8, register: UInt8?) throws(I2CError) {
        let target = UInt16(address)
        if slaveAddress == target { return }
        let outcome = system.ioctlI2CSlave(fd: fd, address: target)
        if outcome.failed {
            slaveAddress = nil
            throw I2CError(
                bus: name, address: address, operation: "I2C_SLAVE", register: register,
                errno: outcome.errno, reason: I2CError.Reason(errno: outcome.errno))
        }
        slaveAddress = target
    }

    /// The libi2c call for a transfer shape, or nil when the adapter has none that fits: the
    /// preferred call when the adapter reports it, else the I2C-block alternative. (No arrays:
    /// nothing here allocates.)
    private func smbusCall(writeCount: Int, readCount: Int) -> SMBusCall? {
        let block = I2CIoctl.smbusBlockMax
        let preferred: SMBusCall
        var alternative: SMBusCall? = nil
        switch (writeCount, readCount) {
        case (0, 1): preferred = .readByte
        case (1, 0): preferred = .writeByte
        case (1, 1): (preferred, alternative) = (.readByteData, .readI2CBlockData)
        case (1, 2): (preferred, alternative) = (.readWordData, .readI2CBlockData)
        case (1, 3...block): preferred = .readI2CBlockData
        case (2, 0): (preferred, alternative) = (.writeByteData, .writeI2CBlockData)
        case (3, 0): (preferred, alternative) = (.writeWordData, .writeI2CBlockData)
        case (4...(block + 1), 0): preferred = .writeI2CBlockData
        default: return nil
        }
        if functionality.contains(preferred.requires) { return preferred }
        if let alternative, functionality.contains(alternative.requires) { return alternative }
        return nil
    }
}

/// The libi2c calls the SMBus fallback uses, named as in `<i2c/smbus.h>`.
private enum SMBusCall: String {
    case readByte = "i2c_smbus_read_byte"
    case writeByte = "i2c_smbus_write_byte"
    case readByteData = "i2c_smbus_read_byte_data"
    case readWordData = "i2c_smbus_read_word_data"
    case readI2CBlockData = "i2c_smbus_read_i2c_block_data"
    case writeByteData = "i2c_smbus_write_byte_data"
    case writeWordData = "i2c_smbus_write_word_data"
    case writeI2CBlockData = "i2c_smbus_write_i2c_block_data"

    /// The `I2C_FUNC_SMBUS_*` bit the adapter must report.
    var requires: I2CFunctionality {
        switch self {
        case .readByte: .smbusReadByte
        case .writeByte: .smbusWriteByte
        case .readByteData: .smbusReadByteData
        case .readWordData: .smbusReadWordData
        case .readI2CBlockData: .smbusReadI2CBlock
        case .writeByteData: .smbusWriteByteData
        case .writeWordData: .smbusWriteWordData
        case .writeI2CBlockData: .smbusWriteI2CBlock
        }
    }
}

/// An adapter's `I2C_FUNCS` mask (`I2C_FUNC_*` from `<linux/i2c.h>`).
public struct I2CFunctionality: OptionSet, Sendable, Hashable {
    public var rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }

    /// `I2C_FUNC_I2C`: plain I2C messages (`I2C_RDWR`).
    public static let i2c = I2CFunctionality(rawValue: UInt(I2C_FUNC_I2C))
    /// `I2C_FUNC_SMBUS_READ_BYTE`.
    public static let smbusReadByte = I2CFunctionality(rawValue: UInt(I2C_FUNC_SMBUS_READ_BYTE))
    /// `I2C_FUNC_SMBUS_WRITE_BYTE`.
    public static let smbusWriteByte = I2CFunctionality(rawValue: UInt(I2C_FUNC_SMBUS_WRITE_BYTE))
    /// `I2C_FUNC_SMBUS_READ_BYTE_DATA`.
    public static let smbusReadByteData = I2CFunctionality(rawValue: UInt(I2C_FUNC_SMBUS_READ_BYTE_DATA))
    /// `I2C_FUNC_SMBUS_WRITE_BYTE_DATA`.
    public static let smbusWriteByteData = I2CFunctionality(rawValue: UInt(I2C_FUNC_SMBUS_WRITE_BYTE_DATA))
    /// `I2C_FUNC_SMBUS_READ_WORD_DATA`.
    public static let smbusReadWordData = I2CFunctionality(rawValue: UInt(I2C_FUNC_SMBUS_READ_WORD_DATA))
    /// `I2C_FUNC_SMBUS_WRITE_WORD_DATA`.
    public static let smbusWriteWordData = I2CFunctionality(rawValue: UInt(I2C_FUNC_SMBUS_WRITE_WORD_DATA))
    /// `I2C_FUNC_SMBUS_READ_I2C_BLOCK`.
    public static let smbusReadI2CBlock = I2CFunctionality(rawValue: UInt(I2C_FUNC_SMBUS_READ_I2C_BLOCK))
    /// `I2C_FUNC_SMBUS_WRITE_I2C_BLOCK`.
    public static let smbusWriteI2CBlock = I2CFunctionality(rawValue: UInt(I2C_FUNC_SMBUS_WRITE_I2C_BLOCK))
}

extension I2CError.Reason {
    /// The reason for an errno from i2c-dev or libi2c: `ENXIO`/`EREMOTEIO` no acknowledge,
    /// `ETIMEDOUT` timeout, `EAGAIN`/`EIO` bus fault, `EBUSY` address busy, `ENOENT`/`ENODEV` no
    /// such bus, `EACCES`/`EPERM` permission denied, `EOPNOTSUPP` unsupported, else other.
    init(errno: Int32) {
        switch errno {
        case ENXIO, EREMOTEIO: self = .noAcknowledge
        case ETIMEDOUT: self = .timeout
        case EAGAIN, EIO: self = .busFault
        case EBUSY: self = .addressBusy
        case ENOENT, ENODEV: self = .noSuchBus
        case EACCES, EPERM: self = .permissionDenied
        case EOPNOTSUPP: self = .unsupported
        default: self = .other
        }
    }
}
