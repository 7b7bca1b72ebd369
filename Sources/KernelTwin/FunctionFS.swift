import Glibc
import Journal
import LinuxIO

/// A USB gadget function served from user space through FunctionFS (`usb_f_fs`,
/// Documentation/usb/functionfs.rst): the function's descriptors are written to `ep0`, control
/// requests for it arrive on `ep0` as `struct usb_functionfs_event`, and each endpoint is a file
/// `ep1`, `ep2`, ... in the order its address first appears in the descriptors.
public final class FunctionFS: @unchecked Sendable {
    /// Where the instance is mounted (`mount -t functionfs <name> <path>`).
    public let mountPoint: String
    private let control: Int32

    /// Opens `ep0` and writes the descriptors and strings: the kernel then creates the endpoint
    /// files, and the gadget can be bound to a UDC.
    public init(mountPoint: String, descriptors: FunctionFSDescriptors) throws(KernelTwinError) {
        self.mountPoint = mountPoint
        let path = mountPoint + "/ep0"
        let fd = open(path, O_RDWR)
        guard fd >= 0 else { throw KernelTwinError(part: path, action: "open", errno: errno) }
        control = fd
        try Self.writeAll(fd, descriptors.descriptorBlob, path: path, what: "descriptors")
        try Self.writeAll(fd, descriptors.stringsBlob, path: path, what: "strings")
    }

    deinit { close(control) }

    /// Opens endpoint file `number` (`ep1` is the first endpoint address in the descriptors).
    public func openEndpoint(_ number: Int) throws(KernelTwinError) -> Int32 {
        let path = "\(mountPoint)/ep\(number)"
        let fd = open(path, O_RDWR)
        guard fd >= 0 else { throw KernelTwinError(part: path, action: "open", errno: errno) }
        return fd
    }

    /// Blocks until the next event (`read(ep0)`).
    public func nextEvent() throws(KernelTwinError) -> FunctionFSEvent {
        var raw = [UInt8](repeating: 0, count: FunctionFSEvent.size)
        while true {
            let count = raw.withUnsafeMutableBytes { read(control, $0.baseAddress, FunctionFSEvent.size) }
            if count == FunctionFSEvent.size { return FunctionFSEvent(raw) }
            if count < 0 && errno == EINTR { continue }
            throw KernelTwinError(part: mountPoint + "/ep0", action: "read event", errno: count < 0 ? errno : EIO)
        }
    }

    /// The next event for a control loop that must outlive errors: nil after a failed read, which
    /// `report` hears of (after a short pause) unless the host only cancelled a request.
    public func nextEvent(reporting report: (String) -> Void) -> FunctionFSEvent? {
        do { return try nextEvent() } catch {
            if !isTransientControlError(error) {
                report("\(error)")
                usleep(20_000)
            }
            return nil
        }
    }

    /// Answers an IN control request with `data` (the data stage, then the status stage).
    public func replyIn(_ data: [UInt8]) throws(KernelTwinError) {
        try Self.writeAll(control, data, path: mountPoint + "/ep0", what: "control reply")
    }

    /// Takes an OUT control request's data stage (`length` bytes; 0 acknowledges one without).
    public func receiveOut(length: Int) throws(KernelTwinError) -> [UInt8] {
        var data = [UInt8](repeating: 0, count: max(length, 1))
        let count = data.withUnsafeMutableBytes { read(control, $0.baseAddress, length) }
        guard count >= 0 else { throw KernelTwinError(part: mountPoint + "/ep0", action: "read control data", errno: errno) }
        return Array(data.prefix(count))
    }

    /// Stalls the pending control request: FunctionFS stalls when ep0 is used in the wrong
    /// direction for it (Documentation/usb/functionfs.rst), which the call reports as `EL2HLT`.
    public func stall(_ setup: USBSetupPacket) {
        var byte: UInt8 = 0
        if setup.isDeviceToHost {
            _ = read(control, &byte, 0)
        } else {
            _ = write(control, &byte, 0)
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String, what: String) throws(KernelTwinError) {
        let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress, bytes.count) }
        guard count == bytes.count else {
            throw KernelTwinError(part: path, action: "write \(what) (\(bytes.count) bytes)", errno: count < 0 ? errno : EIO)
        }
    }
}

/// A control request's setup stage (USB 2.0 §9.3, `struct usb_ctrlrequest`).
public struct USBSetupPacket: Equatable, Sendable {
    public var requestType: UInt8
    public var request: UInt8
    public var value: UInt16
    public var index: UInt16
    public var length: UInt16

    /// Bit 7 of bmRequestType: the data stage goes to the host.
    public var isDeviceToHost: Bool { requestType & 0x80 != 0 }
}

/// One `struct usb_functionfs_event`: 8 bytes of setup packet, the type, 3 bytes of padding.
public struct FunctionFSEvent: Equatable, Sendable {
    public static let size = 12

    /// `enum usb_functionfs_event_type`.
    public enum Kind: UInt8, Sendable {
        case bind = 0, unbind, enable, disable, setup, suspend, resume
    }

    public var kind: Kind?
    public var setup: USBSetupPacket

    public init(_ raw: [UInt8]) {
        precondition(raw.count == Self.size, "an event is \(Self.size) bytes")
        func word(_ at: Int) -> UInt16 { UInt16(raw[at]) | UInt16(raw[at + 1]) << 8 }
        setup = USBSetupPacket(requestType: raw[0], request: raw[1], value: word(2), index: word(4), length: word(6))
        kind = Kind(rawValue: raw[8])
    }
}

/// The blobs `ep0` takes: descriptors in the v2 format (`FUNCTIONFS_DESCRIPTORS_MAGIC_V2`) for full
/// and high speed, and the strings (`FUNCTIONFS_STRINGS_MAGIC`).
public struct FunctionFSDescriptors: Equatable, Sendable {
    /// `struct usb_endpoint_descriptor` fields the functions here use.
    public struct Endpoint: Equatable, Sendable {
        /// The address asked for. The UDC's endpoint allocation decides the one the host sees
        /// (`usb_ep_autoconfig`); FunctionFS numbers the endpoint files by these, in order.
        public var address: UInt8
        /// bmAttributes: 2 bulk, 3 interrupt.
        public var attributes: UInt8
        public var fullSpeedPacket: UInt16
        public var highSpeedPacket: UInt16
        public var interval: UInt8

        public static func bulk(_ address: UInt8) -> Endpoint {
            Endpoint(address: address, attributes: 2, fullSpeedPacket: 64, highSpeedPacket: 512, interval: 0)
        }

        public static func interrupt(_ address: UInt8, packet: UInt16 = 64, interval: UInt8 = 1) -> Endpoint {
            Endpoint(address: address, attributes: 3, fullSpeedPacket: packet, highSpeedPacket: packet, interval: interval)
        }
    }

    public var interfaceClass: UInt8
    public var interfaceSubclass: UInt8
    public var interfaceProtocol: UInt8
    /// Class descriptors between the interface and its endpoints (a HID descriptor).
    public var classDescriptors: [[UInt8]]
    public var endpoints: [Endpoint]
    /// The interface string (string index 1), in US English.
    public var interfaceName: String

    public init(
        interfaceClass: UInt8, interfaceSubclass: UInt8 = 0, interfaceProtocol: UInt8 = 0,
        classDescriptors: [[UInt8]] = [], endpoints: [Endpoint], interfaceName: String
    ) {
        self.interfaceClass = interfaceClass
        self.interfaceSubclass = interfaceSubclass
        self.interfaceProtocol = interfaceProtocol
        self.classDescriptors = classDescriptors
        self.endpoints = endpoints
        self.interfaceName = interfaceName
    }

    /// The descriptors: header (magic 3, length, flags HAS_FS_DESC | HAS_HS_DESC), the counts,
    /// then one interface with its class descriptors and endpoints per speed.
    public var descriptorBlob: [UInt8] {
        func speed(_ highSpeed: Bool) -> [UInt8] {
            var bytes: [UInt8] = [
                9, 0x04, 0, 0, UInt8(endpoints.count), interfaceClass, interfaceSubclass, interfaceProtocol, 1,
            ]
            for descriptor in classDescriptors { bytes += descriptor }
            for endpoint in endpoints {
                let packet = highSpeed ? endpoint.highSpeedPacket : endpoint.fullSpeedPacket
                bytes += [7, 0x05, endpoint.address, endpoint.attributes, UInt8(packet & 0xFF), UInt8(packet >> 8), endpoint.interval]
            }
            return bytes
        }
        let count = UInt32(1 + classDescriptors.count + endpoints.count)
        let body = littleEndian(count) + littleEndian(count) + speed(false) + speed(true)
        let flags: UInt32 = 0x1 | 0x2
        return littleEndian(3) + littleEndian(UInt32(12 + body.count)) + littleEndian(flags) + body
    }

    /// One string (the interface name) in language 0x0409.
    public var stringsBlob: [UInt8] {
        let strings = [0x09, 0x04] + Array(interfaceName.utf8) + [0]
        return littleEndian(2) + littleEndian(UInt32(16 + strings.count)) + littleEndian(1) + littleEndian(1) + strings
    }

    /// The endpoint file number (`ep<n>`) of the endpoint asked for at `address`.
    public func endpointFile(of address: UInt8) -> Int? {
        endpoints.firstIndex { $0.address == address }.map { $0 + 1 }
    }

    private func littleEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value >> 16 & 0xFF), UInt8(value >> 24)]
    }
}

/// Starts `body` on its own thread (a gadget's endpoint loop); `part` names it in the error.
/// With `realTimePriority` the thread runs SCHED_FIFO when allowed: a device whose host driver
/// waits only tens of milliseconds for an answer (hid-cp2112: 50 ms) must not queue behind the
/// plant's other work in a busy VM.
func startServing(_ part: String, realTimePriority: Int32? = nil, _ body: @escaping @Sendable () -> Void)
    throws(KernelTwinError)
{
    if let realTimePriority {
        do {
            _ = try RealTimeThread.start(priority: realTimePriority, lockMemory: false) { _ in body() }
        } catch {
            throw KernelTwinError(part: part, action: "start thread", detail: error.description)
        }
        return
    }
    let started = startThread(body)
    if started.thread == nil { throw KernelTwinError(part: part, action: "pthread_create", errno: started.errno) }
}

/// Whether a failed ep0 call only lost the request at hand: the host cancelled it (EIDRM, a new
/// setup or a timeout on its side) or a signal came. The control loop goes on with the next event.
func isTransientControlError(_ error: KernelTwinError) -> Bool {
    error.errno == EIDRM || error.errno == EINTR || error.errno == EAGAIN
}

/// What went wrong serving a device through the kernel: the file, the call and errno.
public struct KernelTwinError: Error, Equatable, Sendable, CustomStringConvertible {
    public var part: String
    public var action: String
    public var errno: Int32?
    public var detail: String?

    public init(part: String, action: String, errno: Int32) {
        self.part = part
        self.action = action
        self.errno = errno
    }

    public init(part: String, action: String, detail: String) {
        self.part = part
        self.action = action
        self.detail = detail
    }

    public var description: String {
        if let errno { return "\(part): \(action) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
        return "\(part): \(action): \(detail ?? "failed")"
    }
}
