import Glibc
@testable import LinuxIO
import Testing
import Transports

/// `I2C_FUNC_I2C` plus the SMBus emulation bits, as i2c-bcm2835 and most SoC adapters report.
let fullAdapter: UInt = 0x0EFF_0009

/// An SMBus-only adapter with every SMBus call the fallback knows.
let smbusAdapter: UInt =
    I2CFunctionality([
        .smbusReadByte, .smbusWriteByte, .smbusReadByteData, .smbusWriteByteData, .smbusReadWordData,
        .smbusWriteWordData, .smbusReadI2CBlock, .smbusWriteI2CBlock,
    ]).rawValue

/// Opens `/dev/i2c-1` on a fresh mock; returns the bus, the mock and the number of calls the
/// open made.
func openBus(functionality: UInt) throws -> (LinuxI2CBus, RecordingLinuxSystem, Int) {
    let system = RecordingLinuxSystem()
    system.functionality = functionality
    let bus = try LinuxI2CBus(path: "/dev/i2c-1", system: system)
    return (bus, system, system.calls.count)
}

@Suite("LinuxI2CBus through the seam")
struct LinuxI2CBusTests {
    @Test("ioctl numbers are the i2c-dev header's, never I2C_SLAVE_FORCE")
    func ioctlNumbers() {
        #expect(I2CIoctl.slave == 0x0703)
        #expect(I2CIoctl.funcs == 0x0705)
        #expect(I2CIoctl.rdwr == 0x0707)
        #expect(I2CIoctl.maxMessages == 42)
        #expect(I2CIoctl.smbusBlockMax == 32)
        #expect(I2CMessage.read == 0x0001)
        #expect(![I2CIoctl.slave, I2CIoctl.funcs, I2CIoctl.rdwr].contains(0x0706))
    }

    @Test("open: O_RDWR|O_CLOEXEC on the path, then I2C_FUNCS once on the new fd")
    func openQueriesFunctionalityOnce() throws {
        let system = RecordingLinuxSystem()
        system.fd = 11
        system.functionality = fullAdapter
        let bus = try LinuxI2CBus(busNumber: 3, system: system)
        #expect(bus.name == "/dev/i2c-3")
        #expect(bus.functionality.contains(.i2c))
        #expect(bus.functionality.rawValue == fullAdapter)
        #expect(
            system.calls == [
                .open(path: "/dev/i2c-3", flags: O_RDWR | O_CLOEXEC),
                .ioctl(fd: 11, request: 0x0705, argument: 0),
            ])
        _ = try bus.readRegister(address: 0x60, register: 0, count: 1)
        _ = try bus.readRegister(address: 0x60, register: 0, count: 1)
        let funcsCalls = system.calls.filter { $0 == .ioctl(fd: 11, request: 0x0705, argument: 0) }
        #expect(funcsCalls.count == 1)
    }

    @Test(
        "register read: exactly one I2C_RDWR, {addr, 0, 1, [reg]} then {addr, I2C_M_RD, n}",
        arguments: [
            (UInt8(0x60), UInt8(0x00), [UInt8(0x01), 0x90]),
            (UInt8(0x67), UInt8(0x20), [UInt8(0x40)]),
            (UInt8(0x48), UInt8(0x05), [UInt8(0xDE), 0xAD, 0xBE, 0xEF, 0x01, 0x02]),
        ])
    func registerReadUsesOneRDWR(address: UInt8, register: UInt8, reply: [UInt8]) throws {
        let (bus, system, opened) = try openBus(functionality: fullAdapter)
        system.readBytes = reply
        let bytes = try bus.readRegister(address: address, register: register, count: reply.count)
        #expect(bytes == reply)
        #expect(
            system.calls(after: opened) == [
                .ioctlRdwr(
                    fd: 7, request: 0x0707,
                    messages: [
                        .write(UInt16(address), [register]),
                        .read(UInt16(address), length: UInt16(reply.count)),
                    ])
            ])
    }

    @Test("register write: one message, pointer then data, nothing read")
    func registerWriteIsOneMessage() throws {
        let (bus, system, opened) = try openBus(functionality: fullAdapter)
        try bus.writeRegister(address: 0x60, register: 0x05, bytes: [0x07, 0x42])
        #expect(
            system.calls(after: opened) == [
                .ioctlRdwr(fd: 7, request: 0x0707, messages: [.write(0x60, [0x05, 0x07, 0x42])])
            ])
    }

    @Test("a read with no pointer is one read message")
    func readWithoutPointer() throws {
        let (bus, system, opened) = try openBus(functionality: fullAdapter)
        system.readBytes = [0xAB, 0xCD]
        var buffer: [UInt8] = [0, 0]
        try buffer.withUnsafeMutableBytes { read in
            try bus.transfer(address: 0x50, write: UnsafeRawBufferPointer(start: nil, count: 0), read: read)
        }
        #expect(buffer == [0xAB, 0xCD])
        #expect(system.calls(after: opened) == [.ioctlRdwr(fd: 7, request: 0x0707, messages: [.read(0x50, length: 2)])])
    }

    @Test("I2C_RDWR moving fewer messages than sent is a short transfer")
    func shortRDWR() throws {
        let (bus, system, _) = try openBus(functionality: fullAdapter)
        system.rdwrReturn = 1
        #expect(
            throws: I2CError(
                bus: "/dev/i2c-1", address: 0x60, operation: "I2C_RDWR", register: 0x02,
                reason: .shortTransfer(expected: 2, actual: 1))
        ) {
            _ = try bus.readRegister(address: 0x60, register: 0x02, count: 2)
        }
    }

    @Test(
        "errno from I2C_RDWR -> reason, with bus, address, register, operation and errno",
        arguments: [
            (ENXIO, I2CError.Reason.noAcknowledge),
            (EREMOTEIO, .noAcknowledge),
            (ETIMEDOUT, .timeout),
            (EAGAIN, .busFault),
            (EIO, .busFault),
            (EBUSY, .addressBusy),
            (ENOENT, .noSuchBus),
            (ENODEV, .noSuchBus),
            (EACCES, .permissionDenied),
            (EPERM, .permissionDenied),
            (EOPNOTSUPP, .unsupported),
            (EINVAL, .other),
        ])
    func rdwrErrnoTable(code: Int32, reason: I2CError.Reason) throws {
        let (bus, system, _) = try openBus(functionality: fullAdapter)
        system.errnos[.i2cRdwr] = [code]
        #expect(
            throws: I2CError(
                bus: "/dev/i2c-1", address: 0x67, operation: "I2C_RDWR", register: 0x06, errno: code,
                reason: reason)
        ) {
            _ = try bus.readRegister(address: 0x67, register: 0x06, count: 2)
        }
        #expect(I2CError.Reason(errno: code) == reason)
    }

    @Test(
        "open errno -> reason, naming the path and the open call",
        arguments: [
            (ENOENT, I2CError.Reason.noSuchBus), (ENODEV, .noSuchBus), (EACCES, .permissionDenied),
            (EPERM, .permissionDenied), (EBUSY, .addressBusy), (EMFILE, .other),
        ])
    func openErrnoTable(code: Int32, reason: I2CError.Reason) {
        let system = RecordingLinuxSystem()
        system.errnos[.open] = [code]
        #expect(throws: I2CError(bus: "/dev/i2c-4", address: 0, operation: "open", errno: code, reason: reason)) {
            _ = try LinuxI2CBus(path: "/dev/i2c-4", system: system)
        }
        #expect(system.calls == [.open(path: "/dev/i2c-4", flags: O_RDWR | O_CLOEXEC)])
    }

    @Test("I2C_FUNCS failing at open closes the fd and names I2C_FUNCS")
    func funcsFailureClosesFD() {
        let system = RecordingLinuxSystem()
        system.errnos[.i2cFuncs] = [ENOTTY]
        #expect(
            throws: I2CError(bus: "/dev/i2c-1", address: 0, operation: "I2C_FUNCS", errno: ENOTTY, reason: .other)
        ) {
            _ = try LinuxI2CBus(path: "/dev/i2c-1", system: system)
        }
        #expect(
            system.calls == [
                .open(path: "/dev/i2c-1", flags: O_RDWR | O_CLOEXEC),
                .ioctl(fd: 7, request: 0x0705, argument: 0),
                .close(fd: 7),
            ])
    }

    @Test("close() closes the fd exactly once; a transfer afterwards throws EBADF without a syscall")
    func closeOnce() throws {
        let (bus, system, opened) = try openBus(functionality: fullAdapter)
        try bus.close()
        try bus.close()
        #expect(bus.isClosed)
        #expect(
            throws: I2CError(
                bus: "/dev/i2c-1", address: 0x60, operation: "transfer after close", register: 0x00, errno: EBADF,
                reason: .other)
        ) {
            _ = try bus.readRegister(address: 0x60, register: 0x00, count: 1)
        }
        #expect(system.calls(after: opened) == [.close(fd: 7)])
    }

    @Test("a failing close() reports its errno, and the fd is not closed again by deinit")
    func closeFailure() throws {
        let system = RecordingLinuxSystem()
        system.functionality = fullAdapter
        do {
            let bus = try LinuxI2CBus(path: "/dev/i2c-1", system: system)
            system.errnos[.close] = [EIO]
            #expect(throws: I2CError(bus: "/dev/i2c-1", address: 0, operation: "close", errno: EIO, reason: .busFault)) {
                try bus.close()
            }
        }
        #expect(system.calls.filter { $0 == .close(fd: 7) }.count == 1)
    }

    @Test("deinit closes the fd")
    func deinitCloses() throws {
        let system = RecordingLinuxSystem()
        system.functionality = fullAdapter
        do {
            let bus = try LinuxI2CBus(path: "/dev/i2c-1", system: system)
            #expect(!bus.isClosed)
        }
        #expect(system.calls.last == .close(fd: 7))
        #expect(system.calls.filter { $0 == .close(fd: 7) }.count == 1)
    }
}

/// One SMBus-fallback case: the transfer, what the mock answers, the libi2c call expected after
/// `I2C_SLAVE`, and the bytes the transport must return (wire order).
struct SMBusCase: CustomTestStringConvertible, Sendable {
    var label: String
    var write: [UInt8]
    var readCount: Int
    var byteValue: Int32 = 0
    var wordValue: Int32 = 0
    var readBytes: [UInt8] = []
    var expectedCall: SystemCall
    var expectedRead: [UInt8] = []
    var functionality: UInt = smbusAdapter

    var testDescription: String { label }
}

@Suite("LinuxI2CBus SMBus fallback")
struct LinuxI2CBusSMBusTests {
    static let cases: [SMBusCase] = [
        SMBusCase(
            label: "1-byte register read -> read_byte_data", write: [0x20], readCount: 1, byteValue: 0x40,
            expectedCall: .smbusReadByteData(fd: 7, command: 0x20), expectedRead: [0x40]),
        SMBusCase(
            label: "2-byte register read -> read_word_data, low byte first", write: [0x00], readCount: 2,
            wordValue: 0x9001, expectedCall: .smbusReadWordData(fd: 7, command: 0x00),
            expectedRead: [0x01, 0x90]),
        SMBusCase(
            label: "4-byte register read -> read_i2c_block_data", write: [0x10], readCount: 4,
            readBytes: [1, 2, 3, 4],
            expectedCall: .smbusReadI2CBlockData(fd: 7, command: 0x10, length: 4), expectedRead: [1, 2, 3, 4]),
        SMBusCase(
            label: "2-byte read without word support -> block", write: [0x00], readCount: 2, readBytes: [0xAA, 0xBB],
            expectedCall: .smbusReadI2CBlockData(fd: 7, command: 0x00, length: 2),
            expectedRead: [0xAA, 0xBB],
            functionality: I2CFunctionality([.smbusReadI2CBlock]).rawValue),
        SMBusCase(
            label: "1-byte read without pointer -> read_byte", write: [], readCount: 1, byteValue: 0x5A,
            expectedCall: .smbusReadByte(fd: 7), expectedRead: [0x5A]),
        SMBusCase(
            label: "pointer-only write -> write_byte", write: [0x03], readCount: 0,
            expectedCall: .smbusWriteByte(fd: 7, value: 0x03)),
        SMBusCase(
            label: "1 data byte -> write_byte_data", write: [0x05, 0x07], readCount: 0,
            expectedCall: .smbusWriteByteData(fd: 7, command: 0x05, value: 0x07)),
        SMBusCase(
            label: "2 data bytes -> write_word_data, first byte low", write: [0x06, 0xAB, 0xCD], readCount: 0,
            expectedCall: .smbusWriteWordData(fd: 7, command: 0x06, value: 0xCDAB)),
        SMBusCase(
            label: "3 data bytes -> write_i2c_block_data", write: [0x08, 1, 2, 3], readCount: 0,
            expectedCall: .smbusWriteI2CBlockData(fd: 7, command: 0x08, bytes: [1, 2, 3])),
    ]

    @Test("I2C_SLAVE, then the libi2c call that fits, bytes in wire order", arguments: cases)
    func fallbackCall(testCase: SMBusCase) throws {
        let (bus, system, opened) = try openBus(functionality: testCase.functionality)
        system.byteValue = testCase.byteValue
        system.wordValue = testCase.wordValue
        system.readBytes = testCase.readBytes
        var read = [UInt8](repeating: 0, count: testCase.readCount)
        try testCase.write.withUnsafeBytes { write in
            try read.withUnsafeMutableBytes { readBuffer in
                try bus.transfer(address: 0x60, write: write, read: readBuffer)
            }
        }
        #expect(read == testCase.expectedRead)
        #expect(
            system.calls(after: opened) == [
                .ioctl(fd: 7, request: 0x0703, argument: 0x60),
                testCase.expectedCall,
            ])
    }

    @Test("I2C_SLAVE only when the address changes")
    func slaveOncePerAddressChange() throws {
        let (bus, system, opened) = try openBus(functionality: smbusAdapter)
        for address: UInt8 in [0x60, 0x60, 0x61, 0x61, 0x60] {
            _ = try bus.readRegister(address: address, register: 0x00, count: 1)
        }
        #expect(
            system.calls(after: opened) == [
                .ioctl(fd: 7, request: 0x0703, argument: 0x60),
                .smbusReadByteData(fd: 7, command: 0x00),
                .smbusReadByteData(fd: 7, command: 0x00),
                .ioctl(fd: 7, request: 0x0703, argument: 0x61),
                .smbusReadByteData(fd: 7, command: 0x00),
                .smbusReadByteData(fd: 7, command: 0x00),
                .ioctl(fd: 7, request: 0x0703, argument: 0x60),
                .smbusReadByteData(fd: 7, command: 0x00),
            ])
    }

    @Test("I2C_SLAVE EBUSY is addressBusy, and the next transfer tries I2C_SLAVE again")
    func slaveBusy() throws {
        let (bus, system, opened) = try openBus(functionality: smbusAdapter)
        system.errnos[.i2cSlave] = [EBUSY]
        #expect(
            throws: I2CError(
                bus: "/dev/i2c-1", address: 0x48, operation: "I2C_SLAVE", register: 0x01, errno: EBUSY,
                reason: .addressBusy)
        ) {
            _ = try bus.readRegister(address: 0x48, register: 0x01, count: 1)
        }
        _ = try bus.readRegister(address: 0x48, register: 0x01, count: 1)
        #expect(
            system.calls(after: opened) == [
                .ioctl(fd: 7, request: 0x0703, argument: 0x48),
                .ioctl(fd: 7, request: 0x0703, argument: 0x48),
                .smbusReadByteData(fd: 7, command: 0x01),
            ])
    }

    @Test(
        "errno from a libi2c call -> reason, naming the call",
        arguments: [(ENXIO, I2CError.Reason.noAcknowledge), (ETIMEDOUT, .timeout), (EIO, .busFault)])
    func smbusErrno(code: Int32, reason: I2CError.Reason) throws {
        let (bus, system, _) = try openBus(functionality: smbusAdapter)
        system.errnos[.smbusReadWordData] = [code]
        #expect(
            throws: I2CError(
                bus: "/dev/i2c-1", address: 0x60, operation: "i2c_smbus_read_word_data", register: 0x00,
                errno: code, reason: reason)
        ) {
            _ = try bus.readRegister(address: 0x60, register: 0x00, count: 2)
        }
    }

    @Test("a short block read is a short transfer")
    func shortBlockRead() throws {
        let (bus, system, _) = try openBus(functionality: smbusAdapter)
        system.blockReadReturn = 2
        #expect(
            throws: I2CError(
                bus: "/dev/i2c-1", address: 0x60, operation: "i2c_smbus_read_i2c_block_data", register: 0x10,
                reason: .shortTransfer(expected: 4, actual: 2))
        ) {
            _ = try bus.readRegister(address: 0x60, register: 0x10, count: 4)
        }
    }

    @Test(
        "transfers the adapter cannot do are unsupported, with no syscall",
        arguments: [
            ([UInt8](), 0, smbusAdapter),  // empty (SMBus quick is not used)
            ([0x01, 0x02], 1, smbusAdapter),  // two-byte pointer then read
            ([0x01], 33, smbusAdapter),  // more than an SMBus block
            ([0x01] + [UInt8](repeating: 0, count: 33), 0, smbusAdapter),  // 33 data bytes
            ([0x01], 2, I2CFunctionality.smbusReadByteData.rawValue),  // no word, no block
            ([0x01, 0x02], 0, I2CFunctionality.smbusReadByteData.rawValue),  // no write calls
        ])
    func unsupported(write: [UInt8], readCount: Int, functionality: UInt) throws {
        let (bus, system, opened) = try openBus(functionality: functionality)
        var read = [UInt8](repeating: 0, count: readCount)
        #expect(
            throws: I2CError(
                bus: "/dev/i2c-1", address: 0x60, operation: "SMBus transfer (write \(write.count), read \(readCount))",
                register: write.first, reason: .unsupported)
        ) {
            try write.withUnsafeBytes { writeBuffer in
                try read.withUnsafeMutableBytes { readBuffer in
                    try bus.transfer(address: 0x60, write: writeBuffer, read: readBuffer)
                }
            }
        }
        #expect(system.calls(after: opened).isEmpty)
    }
}
