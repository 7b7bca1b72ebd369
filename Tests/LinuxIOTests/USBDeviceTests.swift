import LinuxIO
import Testing
import Transports

/// Every libusb call the seam can receive, with its exact arguments. Devices are recorded by
/// their id (1, 2, ...), handles by theirs (101, 102, ... in the order of `libusb_open`), the
/// context as 1.
enum USBCall: Equatable {
    case initialize
    case exit
    case getDeviceList
    case freeDeviceList(unrefDevices: Bool)
    case getDeviceDescriptor(device: Int)
    case getBusNumber(device: Int)
    case getPortNumbers(device: Int)
    case open(device: Int)
    case close(handle: Int)
    case getStringDescriptorASCII(handle: Int, index: UInt8)
    case kernelDriverActive(handle: Int, interface: Int32)
    case detachKernelDriver(handle: Int, interface: Int32)
    case getConfiguration(handle: Int)
    case setConfiguration(handle: Int, configuration: Int32)
    case claimInterface(handle: Int, interface: Int32)
    case releaseInterface(handle: Int, interface: Int32)
    case clearHalt(handle: Int, endpoint: UInt8)
    /// `bytes`: what an OUT transfer carried (empty for IN).
    case bulkTransfer(handle: Int, endpoint: UInt8, length: Int, timeout: UInt32, bytes: [UInt8])
    case resetDevice(handle: Int)
}

/// A libusb that records every call and answers from a scripted set of devices.
final class RecordingUSBSystem: USBSystem {
    /// One device on the fake bus.
    struct FakeDevice {
        var id: Int
        var vendorID: UInt16 = 0x2457
        var productID: UInt16 = 0x101E
        /// The serial string descriptor; nil: iSerialNumber 0.
        var serial: String? = nil
        var bus: UInt8 = 1
        var ports: [UInt8] = [1, 3]
        /// What `libusb_kernel_driver_active` answers.
        var kernelDriver: Int32 = 0
        /// What `libusb_get_configuration` answers.
        var configuration: Int32 = 1
    }

    private(set) var calls: [USBCall] = []
    var devices: [FakeDevice] = []
    /// Scripted error codes for the next calls of a libusb function (by its C name), in order;
    /// 0 means succeed that time.
    var codes: [String: [Int32]] = [:]
    /// Replies served to IN transfers, per endpoint, one chunk per transfer.
    var inData: [UInt8: [[UInt8]]] = [:]
    /// Overrides the result of the next bulk transfers: (result, transferred).
    var bulkOutcomes: [(Int32, Int32)] = []

    private var nextHandle = 101
    /// Open handles: handle id -> device id.
    private(set) var openHandles: [Int: Int] = [:]

    func calls(after count: Int) -> [USBCall] { Array(calls.dropFirst(count)) }

    private func code(_ function: String) -> Int32 {
        guard var queue = codes[function], !queue.isEmpty else { return 0 }
        let next = queue.removeFirst()
        codes[function] = queue
        return next
    }

    static func id(_ pointer: OpaquePointer) -> Int { Int(bitPattern: UnsafeRawPointer(pointer)) / 16 }
    static func pointer(_ id: Int) -> OpaquePointer { OpaquePointer(bitPattern: id * 16)! }

    private func device(_ reference: USBDeviceReference) -> FakeDevice {
        devices.first { $0.id == Self.id(reference.pointer) }!
    }

    private func device(_ handle: USBDeviceHandle) -> FakeDevice {
        let id = openHandles[Self.id(handle.pointer)]!
        return devices.first { $0.id == id }!
    }

    func initialize() -> (result: Int32, context: USBContextHandle?) {
        calls.append(.initialize)
        let result = code("libusb_init")
        return (result, result == 0 ? USBContextHandle(Self.pointer(1)) : nil)
    }

    func exit(_ context: USBContextHandle) { calls.append(.exit) }

    func getDeviceList(_ context: USBContextHandle) -> (result: Int, list: USBDeviceList) {
        calls.append(.getDeviceList)
        let result = code("libusb_get_device_list")
        if result != 0 { return (Int(result), USBDeviceList(devices: [])) }
        return (devices.count, USBDeviceList(devices: devices.map { USBDeviceReference(Self.pointer($0.id)) }))
    }

    func freeDeviceList(_ list: USBDeviceList, unrefDevices: Bool) { calls.append(.freeDeviceList(unrefDevices: unrefDevices)) }

    func getDeviceDescriptor(_ device: USBDeviceReference) -> (result: Int32, descriptor: USBDeviceDescriptor) {
        calls.append(.getDeviceDescriptor(device: Self.id(device.pointer)))
        let fake = self.device(device)
        return (
            code("libusb_get_device_descriptor"),
            USBDeviceDescriptor(vendorID: fake.vendorID, productID: fake.productID, serialNumberIndex: fake.serial == nil ? 0 : 3)
        )
    }

    func getBusNumber(_ device: USBDeviceReference) -> UInt8 {
        calls.append(.getBusNumber(device: Self.id(device.pointer)))
        return self.device(device).bus
    }

    func getPortNumbers(_ device: USBDeviceReference) -> [UInt8] {
        calls.append(.getPortNumbers(device: Self.id(device.pointer)))
        return self.device(device).ports
    }

    func open(_ device: USBDeviceReference) -> (result: Int32, handle: USBDeviceHandle?) {
        calls.append(.open(device: Self.id(device.pointer)))
        let result = code("libusb_open")
        guard result == 0 else { return (result, nil) }
        let handle = nextHandle
        nextHandle += 1
        openHandles[handle] = Self.id(device.pointer)
        return (0, USBDeviceHandle(Self.pointer(handle)))
    }

    func close(_ handle: USBDeviceHandle) {
        calls.append(.close(handle: Self.id(handle.pointer)))
        openHandles[Self.id(handle.pointer)] = nil
    }

    func getStringDescriptorASCII(_ handle: USBDeviceHandle, index: UInt8) -> (result: Int32, text: String) {
        calls.append(.getStringDescriptorASCII(handle: Self.id(handle.pointer), index: index))
        let serial = device(handle).serial ?? ""
        return (Int32(serial.utf8.count), serial)
    }

    func kernelDriverActive(_ handle: USBDeviceHandle, interface: Int32) -> Int32 {
        calls.append(.kernelDriverActive(handle: Self.id(handle.pointer), interface: interface))
        return device(handle).kernelDriver
    }

    func detachKernelDriver(_ handle: USBDeviceHandle, interface: Int32) -> Int32 {
        calls.append(.detachKernelDriver(handle: Self.id(handle.pointer), interface: interface))
        return code("libusb_detach_kernel_driver")
    }

    func getConfiguration(_ handle: USBDeviceHandle) -> (result: Int32, configuration: Int32) {
        calls.append(.getConfiguration(handle: Self.id(handle.pointer)))
        return (code("libusb_get_configuration"), device(handle).configuration)
    }

    func setConfiguration(_ handle: USBDeviceHandle, configuration: Int32) -> Int32 {
        calls.append(.setConfiguration(handle: Self.id(handle.pointer), configuration: configuration))
        return code("libusb_set_configuration")
    }

    func claimInterface(_ handle: USBDeviceHandle, interface: Int32) -> Int32 {
        calls.append(.claimInterface(handle: Self.id(handle.pointer), interface: interface))
        return code("libusb_claim_interface")
    }

    func releaseInterface(_ handle: USBDeviceHandle, interface: Int32) -> Int32 {
        calls.append(.releaseInterface(handle: Self.id(handle.pointer), interface: interface))
        return code("libusb_release_interface")
    }

    func clearHalt(_ handle: USBDeviceHandle, endpoint: UInt8) -> Int32 {
        calls.append(.clearHalt(handle: Self.id(handle.pointer), endpoint: endpoint))
        return code("libusb_clear_halt")
    }

    func bulkTransfer(
        _ handle: USBDeviceHandle, endpoint: UInt8, buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: UInt32
    ) -> (result: Int32, transferred: Int32) {
        let isIn = endpoint & 0x80 != 0
        calls.append(
            .bulkTransfer(
                handle: Self.id(handle.pointer), endpoint: endpoint, length: buffer.count, timeout: timeoutMilliseconds,
                bytes: isIn ? [] : Array(buffer)))
        var served: Int32 = isIn ? 0 : Int32(buffer.count)
        if isIn, var queue = inData[endpoint], !queue.isEmpty {
            let chunk = queue.removeFirst()
            inData[endpoint] = queue
            for (index, byte) in chunk.prefix(buffer.count).enumerated() { buffer[index] = byte }
            served = Int32(min(chunk.count, buffer.count))
        }
        if !bulkOutcomes.isEmpty { return bulkOutcomes.removeFirst() }
        return (0, served)
    }

    func resetDevice(_ handle: USBDeviceHandle) -> Int32 {
        calls.append(.resetDevice(handle: Self.id(handle.pointer)))
        return code("libusb_reset_device")
    }
}

/// The OOI spectrometer's endpoints cleared on opening (PROTOCOLS.md §1).
private let ooiMatch = USBDeviceMatch(vendorID: 0x2457, productID: 0x101E, endpointsToClear: [0x01, 0x81, 0x82])

/// A probe that asks slot 0 the way the OOI driver does: 0x05 0x00 out, 17 bytes in.
private func slotZeroProbe(_ device: any USBBulkDevice) throws(USBError) -> String? {
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
    defer { buffer.deallocate() }
    buffer[0] = 0x05
    buffer[1] = 0x00
    try device.bulkWrite(endpoint: 0x01, bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<2]), timeoutMilliseconds: 1000)
    let count = try device.bulkRead(endpoint: 0x81, into: buffer, timeoutMilliseconds: 1000)
    guard count == 17 else { return nil }
    return String(decoding: buffer[2..<17].prefix { $0 != 0 }, as: UTF8.self)
}

/// A slot-0 reply carrying `serial`.
private func slotZeroReply(_ serial: String) -> [UInt8] {
    var reply: [UInt8] = [0x05, 0x00] + Array(serial.utf8)
    reply += [UInt8](repeating: 0, count: 17 - reply.count)
    return reply
}

@Suite("LinuxUSBDevice through the libusb seam")
struct USBDeviceTests {
    @Test("libusb error codes map to reasons and names as <libusb.h> defines them")
    func errorCodes() {
        let table: [(Int32, USBError.Reason, String)] = [
            (-1, .io, "LIBUSB_ERROR_IO"), (-2, .invalidParameter, "LIBUSB_ERROR_INVALID_PARAM"),
            (-3, .accessDenied, "LIBUSB_ERROR_ACCESS"), (-4, .noDevice, "LIBUSB_ERROR_NO_DEVICE"),
            (-5, .notFound, "LIBUSB_ERROR_NOT_FOUND"), (-6, .busy, "LIBUSB_ERROR_BUSY"),
            (-7, .timeout, "LIBUSB_ERROR_TIMEOUT"), (-8, .overflow, "LIBUSB_ERROR_OVERFLOW"),
            (-9, .stall, "LIBUSB_ERROR_PIPE"), (-10, .interrupted, "LIBUSB_ERROR_INTERRUPTED"),
            (-11, .noMemory, "LIBUSB_ERROR_NO_MEM"), (-12, .notSupported, "LIBUSB_ERROR_NOT_SUPPORTED"),
            (-99, .other, "LIBUSB_ERROR_OTHER"),
        ]
        for (code, reason, name) in table {
            #expect(USBError.reason(libusbCode: code) == reason)
            #expect(USBError.libusbName(code) == name)
        }
        #expect(LibUSBCode.noDevice == -4 && LibUSBCode.timeout == -7 && LibUSBCode.pipe == -9)
    }

    @Test("open: list walk by descriptor, kernel driver detached, configuration 1 set, interface 0 claimed, halts cleared on 0x01/0x81/0x82")
    func openSequence() throws {
        let system = RecordingUSBSystem()
        system.devices = [
            .init(id: 1, vendorID: 0x046D, productID: 0xC52B),  // a keyboard receiver
            .init(id: 2, bus: 3, ports: [1, 4], kernelDriver: 1, configuration: 0),
        ]
        let device = try LinuxUSBDevice(match: ooiMatch, system: system)
        #expect(
            system.calls == [
                .initialize, .getDeviceList,
                .getDeviceDescriptor(device: 1),
                .getDeviceDescriptor(device: 2), .getBusNumber(device: 2), .getPortNumbers(device: 2),
                .open(device: 2),
                .kernelDriverActive(handle: 101, interface: 0), .detachKernelDriver(handle: 101, interface: 0),
                .getConfiguration(handle: 101), .setConfiguration(handle: 101, configuration: 1),
                .claimInterface(handle: 101, interface: 0),
                .clearHalt(handle: 101, endpoint: 0x01), .clearHalt(handle: 101, endpoint: 0x81),
                .clearHalt(handle: 101, endpoint: 0x82),
                .freeDeviceList(unrefDevices: true),
            ])
        #expect(device.isConnected)
        #expect(device.connectionNumber == 1)
        #expect(device.name == "usb 3-1.4 2457:101e")
    }

    @Test("no kernel driver and configuration 1 already: neither detached nor set again (that would reset the device)")
    func nothingToDetachOrConfigure() throws {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1, kernelDriver: 0, configuration: 1)]
        _ = try LinuxUSBDevice(match: ooiMatch, system: system)
        #expect(!system.calls.contains { if case .detachKernelDriver = $0 { true } else { false } })
        #expect(!system.calls.contains { if case .setConfiguration = $0 { true } else { false } })
        #expect(system.calls.contains(.claimInterface(handle: 101, interface: 0)))
    }

    @Test("serial number from the string descriptor: another unit is closed before anything is claimed")
    func serialFromDescriptor() throws {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1, serial: "FLMS00001"), .init(id: 2, serial: "FLMS00002")]
        var match = ooiMatch
        match.serialNumber = "FLMS00002"
        let device = try LinuxUSBDevice(match: match, system: system)
        #expect(
            system.calls.prefix(12) == [
                .initialize, .getDeviceList,
                .getDeviceDescriptor(device: 1), .getBusNumber(device: 1), .getPortNumbers(device: 1), .open(device: 1),
                .getStringDescriptorASCII(handle: 101, index: 3), .close(handle: 101),
                .getDeviceDescriptor(device: 2), .getBusNumber(device: 2), .getPortNumbers(device: 2), .open(device: 2),
            ])
        #expect(system.calls.contains(.claimInterface(handle: 102, interface: 0)))
        #expect(!system.calls.contains(.claimInterface(handle: 101, interface: 0)))
        #expect(device.serialNumber == "FLMS00002")
        #expect(device.name == "usb 1-1.3 2457:101e FLMS00002")
    }

    @Test("serial number through the part's protocol when the descriptor has none: the wrong unit is released and closed")
    func serialFromProbe() throws {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1), .init(id: 2)]
        system.inData[0x81] = [slotZeroReply("FLMS00001"), slotZeroReply("FLMS00002")]
        var match = ooiMatch
        match.serialNumber = "FLMS00002"
        let device = try LinuxUSBDevice(match: match, serialNumberProbe: slotZeroProbe, system: system)
        let probeOfFirst: [USBCall] = [
            .bulkTransfer(handle: 101, endpoint: 0x01, length: 2, timeout: 1000, bytes: [0x05, 0x00]),
            .bulkTransfer(handle: 101, endpoint: 0x81, length: 64, timeout: 1000, bytes: []),
            .releaseInterface(handle: 101, interface: 0), .close(handle: 101),
        ]
        let afterClear = try #require(system.calls.firstIndex(of: .clearHalt(handle: 101, endpoint: 0x82)))
        #expect(Array(system.calls[(afterClear + 1)...].prefix(4)) == probeOfFirst)
        #expect(device.serialNumber == "FLMS00002")
        #expect(system.openHandles == [102: 2])
    }

    @Test("a unit claimed by someone else (LIBUSB_ERROR_BUSY) is skipped: the first free one is taken")
    func busyUnitIsSkipped() throws {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1), .init(id: 2)]
        system.codes["libusb_claim_interface"] = [-6, 0]
        let device = try LinuxUSBDevice(match: ooiMatch, system: system)
        let claimed = try #require(system.calls.firstIndex(of: .claimInterface(handle: 101, interface: 0)))
        #expect(system.calls[claimed + 1] == .close(handle: 101))
        #expect(system.openHandles == [102: 2])
        #expect(device.connectionNumber == 1)
    }

    @Test("nothing that fits: .notFound naming the IDs and serial; the context is freed")
    func notFound() {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1, productID: 0x1022)]
        var match = ooiMatch
        match.serialNumber = "FLMS09999"
        #expect(
            throws: USBError(device: "usb 2457:101e serial FLMS09999", operation: "find", reason: .notFound)
        ) {
            _ = try LinuxUSBDevice(match: match, system: system)
        }
        #expect(system.calls.last == .exit)
    }

    @Test("a unit that may not be opened: .accessDenied from libusb_open, with the code")
    func accessDenied() {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1)]
        system.codes["libusb_open"] = [-3]
        #expect(
            throws: USBError(device: "usb 1-1.3 2457:101e", operation: "libusb_open", code: -3, reason: .accessDenied)
        ) {
            _ = try LinuxUSBDevice(match: ooiMatch, system: system)
        }
    }

    @Test(
        "bulk transfers: endpoint, exact length, timeout and bytes",
        arguments: [
            (UInt8(0x01), [UInt8(0x02), 0x40, 0x1F, 0x00, 0x00], 1000),
            (UInt8(0x01), [UInt8(0x09)], 1000),
            (UInt8(0x01), [UInt8(0x0A), 0x00, 0x00], 250),
        ])
    func bulkWrite(endpoint: UInt8, bytes: [UInt8], timeout: Int) throws {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1)]
        let device = try LinuxUSBDevice(match: ooiMatch, system: system)
        let opened = system.calls.count
        try bytes.withUnsafeBytes { try device.bulkWrite(endpoint: endpoint, bytes: $0, timeoutMilliseconds: timeout) }
        #expect(
            system.calls(after: opened) == [
                .bulkTransfer(handle: 101, endpoint: endpoint, length: bytes.count, timeout: UInt32(timeout), bytes: bytes)
            ])
    }

    @Test("bulk read: the buffer's length and the timeout go to libusb; a short transfer returns what came")
    func bulkReadShort() throws {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1)]
        let device = try LinuxUSBDevice(match: ooiMatch, system: system)
        let opened = system.calls.count
        system.inData[0x82] = [[UInt8](repeating: 0xAB, count: 2048)]
        var buffer = [UInt8](repeating: 0, count: 4097)
        let count = try buffer.withUnsafeMutableBytes {
            try device.bulkRead(endpoint: 0x82, into: $0, timeoutMilliseconds: 1008)
        }
        #expect(count == 2048)
        #expect(buffer[2047] == 0xAB && buffer[2048] == 0)
        #expect(system.calls(after: opened) == [.bulkTransfer(handle: 101, endpoint: 0x82, length: 4097, timeout: 1008, bytes: [])])
    }

    @Test("a timeout part-way: .timeout with the bytes that came and the bytes asked, and the code")
    func bulkReadTimeout() throws {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1)]
        let device = try LinuxUSBDevice(match: ooiMatch, system: system)
        system.bulkOutcomes = [(-7, 512)]
        var buffer = [UInt8](repeating: 0, count: 4097)
        #expect(
            throws: USBError(
                device: "usb 1-1.3 2457:101e", operation: "libusb_bulk_transfer", endpoint: 0x82, code: -7,
                transferred: 512, requested: 4097, reason: .timeout)
        ) {
            _ = try buffer.withUnsafeMutableBytes { try device.bulkRead(endpoint: 0x82, into: $0, timeoutMilliseconds: 1008) }
        }
        #expect(device.isConnected)
    }

    @Test("unplugged: NO_DEVICE closes the handle, later calls fail without libusb, connect() finds it back")
    func hotplug() throws {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1)]
        let device = try LinuxUSBDevice(match: ooiMatch, system: system)
        system.bulkOutcomes = [(-4, 0)]
        var buffer = [UInt8](repeating: 0, count: 17)
        let before = system.calls.count
        #expect(throws: USBError.self) {
            _ = try buffer.withUnsafeMutableBytes { try device.bulkRead(endpoint: 0x81, into: $0, timeoutMilliseconds: 1000) }
        }
        // The handle is closed (nothing to release on a device that is gone).
        #expect(system.calls(after: before) == [
            .bulkTransfer(handle: 101, endpoint: 0x81, length: 17, timeout: 1000, bytes: []), .close(handle: 101),
        ])
        #expect(!device.isConnected)
        let gone = system.calls.count
        do {
            _ = try buffer.withUnsafeMutableBytes { try device.bulkRead(endpoint: 0x81, into: $0, timeoutMilliseconds: 1000) }
            Issue.record("a read on a gone device must throw")
        } catch let error as USBError {
            #expect(error.reason == .noDevice)
            #expect(error.isDeviceAbsent)
        } catch {
            Issue.record("unexpected \(error)")
        }
        #expect(system.calls.count == gone)

        // Still unplugged: connect() looks and finds nothing.
        system.devices = []
        #expect(throws: USBError.self) { try device.connect() }
        #expect(device.connectionNumber == 1)
        // Plugged back (a new libusb_device): found and opened again, a new connection.
        system.devices = [.init(id: 7, ports: [2])]
        try device.connect()
        #expect(device.isConnected)
        #expect(device.connectionNumber == 2)
        #expect(system.calls.contains(.claimInterface(handle: 102, interface: 0)))
        #expect(device.name == "usb 1-2 2457:101e")
    }

    @Test("reconnection without a serial asked for looks for the same unit (bound by its probed serial)")
    func reconnectionFindsTheSameUnit() throws {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1)]
        system.inData[0x81] = [slotZeroReply("FLMS00001")]
        let device = try LinuxUSBDevice(match: ooiMatch, serialNumberProbe: slotZeroProbe, system: system)
        #expect(device.serialNumber == "FLMS00001")
        device.close()
        // Another unit with the same IDs is plugged in first: it is probed, and refused.
        system.devices = [.init(id: 2), .init(id: 3)]
        system.inData[0x81] = [slotZeroReply("FLMS00077"), slotZeroReply("FLMS00001")]
        try device.connect()
        #expect(system.openHandles.values.sorted() == [3])
        #expect(device.serialNumber == "FLMS00001")
    }

    @Test("reset: libusb_reset_device, halts cleared again, a new connection")
    func resetInPlace() throws {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1)]
        let device = try LinuxUSBDevice(match: ooiMatch, system: system)
        let before = system.calls.count
        try device.reset()
        #expect(system.calls(after: before) == [
            .resetDevice(handle: 101), .clearHalt(handle: 101, endpoint: 0x01), .clearHalt(handle: 101, endpoint: 0x81),
            .clearHalt(handle: 101, endpoint: 0x82),
        ])
        #expect(device.connectionNumber == 2)
    }

    @Test("reset that re-enumerates (LIBUSB_ERROR_NOT_FOUND): the stale handle is closed and the device found again")
    func resetReenumerates() throws {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1)]
        let device = try LinuxUSBDevice(match: ooiMatch, system: system)
        system.codes["libusb_reset_device"] = [-5]
        system.devices = [.init(id: 4)]
        let before = system.calls.count
        try device.reset()
        #expect(Array(system.calls(after: before).prefix(4)) == [
            .resetDevice(handle: 101), .close(handle: 101), .getDeviceList, .getDeviceDescriptor(device: 4),
        ])
        #expect(system.openHandles == [102: 4])
        #expect(device.connectionNumber == 2)
    }

    @Test("a failing halt clear on opening releases the interface and closes, naming the endpoint")
    func clearHaltFailure() {
        let system = RecordingUSBSystem()
        system.devices = [.init(id: 1)]
        system.codes["libusb_clear_halt"] = [0, -1]
        #expect(
            throws: USBError(
                device: "usb 1-1.3 2457:101e", operation: "libusb_clear_halt", endpoint: 0x81, code: -1, reason: .io)
        ) {
            _ = try LinuxUSBDevice(match: ooiMatch, system: system)
        }
        #expect(system.calls.contains(.releaseInterface(handle: 101, interface: 0)))
        #expect(system.calls.contains(.close(handle: 101)))
        #expect(system.openHandles.isEmpty)
    }

    @Test("the error's description names the device, endpoint, call, reason, bytes and libusb code")
    func errorDescription() {
        let error = USBError(
            device: "usb 1-1.3 2457:101e", operation: "libusb_bulk_transfer", endpoint: 0x82, code: -7, transferred: 512,
            requested: 4097, reason: .timeout)
        #expect(
            error.description
                == "usb 1-1.3 2457:101e endpoint 0x82: libusb_bulk_transfer failed: timeout (512 of 4097 bytes) [LIBUSB_ERROR_TIMEOUT -7]")
    }
}
