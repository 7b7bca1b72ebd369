import Transports

/// A simulated USB part with bulk endpoints: it takes each bulk OUT transfer's bytes and queues
/// its answers on its IN endpoints (`SimulatedUSBEndpoint`), from which the bus serves bulk IN
/// transfers with USB's packet rules.
public protocol SimulatedUSBTarget: AnyObject {
    /// `idVendor`, `idProduct`.
    var vendorID: UInt16 { get }
    var productID: UInt16 { get }
    /// The serial string descriptor, or nil when `iSerialNumber` is 0 (the OOI spectrometers:
    /// their serial number is in information slot 0).
    var serialNumberDescriptor: String? { get }
    /// High speed (512-byte bulk packets) or full speed (64-byte packets).
    var isHighSpeed: Bool { get }

    /// A bulk OUT transfer to `endpoint`, at `now` on the twin's clock. Throw to refuse it (a
    /// stalled endpoint).
    func receive(endpoint: UInt8, bytes: UnsafeRawBufferPointer, at now: MonotonicInstant) throws(SimulatedUSBRefusal)

    /// The IN endpoint at `address`, nil if the part has none.
    func inEndpoint(_ address: UInt8) -> SimulatedUSBEndpoint?

    /// Whether the part has stopped answering: every IN transfer times out (the field reports'
    /// "reads that hang"). A port reset or power cycle is expected to clear it.
    var isHung: Bool { get }

    /// A USB port reset (`libusb_reset_device`): the part re-enumerates and starts over.
    func portReset()

    /// Plugged in: the part powers up from scratch.
    func powerOn()
}

/// Why a simulated part refused a transfer; the transport turns it into a `USBError`.
public struct SimulatedUSBRefusal: Error, Equatable, Sendable {
    public var reason: USBError.Reason
    public init(_ reason: USBError.Reason) { self.reason = reason }
}

/// An IN endpoint's queue: the messages a part has for the host, each available from an instant
/// on (a spectrum is ready when its integration ends), served in order.
///
/// One message is one reply: the host's transfer ends at its end (the short packet after it), so
/// a transfer never runs from one reply into the next. Storage is reused: once the queue has held
/// its largest message, queuing and serving allocate nothing.
public final class SimulatedUSBEndpoint {
    public let address: UInt8
    /// Queued bytes live in `storage[readIndex..<writeIndex]`; the storage only grows.
    private var storage: [UInt8]
    private var readIndex = 0
    private var writeIndex = 0
    private var messageLengths: [Int]
    private var messageReady: [MonotonicInstant]
    private var messageIndex = 0
    /// Bytes of the current (first) message already served.
    private var servedInMessage = 0

    public init(address: UInt8, capacity: Int = 8192) {
        precondition(address & 0x80 != 0, "an IN endpoint has bit 7 set, got 0x\(hex(address))")
        self.address = address
        storage = [UInt8](repeating: 0, count: capacity)
        messageLengths = []
        messageLengths.reserveCapacity(16)
        messageReady = []
        messageReady.reserveCapacity(16)
    }

    /// Queues a message of `length` bytes available from `readyAt`; `fill` writes its bytes.
    public func enqueue(length: Int, readyAt: MonotonicInstant, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        precondition(length > 0, "an empty message is not queued")
        let start = writeIndex
        if start + length > storage.count {
            storage += [UInt8](repeating: 0, count: start + length - storage.count)
        }
        storage.withUnsafeMutableBytes { all in fill(UnsafeMutableRawBufferPointer(rebasing: all[start..<(start + length)])) }
        writeIndex += length
        messageLengths.append(length)
        messageReady.append(readyAt)
    }

    /// Queues `message` available from `readyAt`.
    public func enqueue(_ message: [UInt8], readyAt: MonotonicInstant) {
        enqueue(length: message.count, readyAt: readyAt) { target in
            for (index, byte) in message.enumerated() { target[index] = byte }
        }
    }

    /// Bytes waiting, over every message.
    public var pendingBytes: Int { writeIndex - readIndex }

    /// Messages waiting (a partly served one counts).
    public var pendingMessages: Int { messageLengths.count - messageIndex }

    /// The first message's unserved bytes and when it is available, nil when the queue is empty.
    public var nextMessage: (remaining: Int, readyAt: MonotonicInstant)? {
        guard messageIndex < messageLengths.count else { return nil }
        return (messageLengths[messageIndex] - servedInMessage, messageReady[messageIndex])
    }

    /// Serves up to `count` bytes of the first message into `buffer` (at most `buffer.count` are
    /// copied; bytes beyond it are dropped, as in a USB overflow). Returns the bytes copied.
    @discardableResult
    public func take(_ count: Int, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let next = nextMessage else { return 0 }
        let served = min(count, next.remaining)
        let copied = min(served, buffer.count)
        let from = readIndex
        storage.withUnsafeBytes { all in
            if copied > 0 { buffer.baseAddress!.copyMemory(from: all.baseAddress! + from, byteCount: copied) }
        }
        readIndex += served
        servedInMessage += served
        if servedInMessage == messageLengths[messageIndex] {
            messageIndex += 1
            servedInMessage = 0
        }
        if messageIndex == messageLengths.count { clear() }
        return copied
    }

    /// Empties the queue (keeping its storage).
    public func clear() {
        messageLengths.removeAll(keepingCapacity: true)
        messageReady.removeAll(keepingCapacity: true)
        readIndex = 0
        writeIndex = 0
        messageIndex = 0
        servedInMessage = 0
    }
}

/// The twin's USB bus: the simulated parts plugged into it, and the faults a test or the twin
/// injects between a part and the host.
///
/// Parts are plugged and unplugged at will (hotplug). A part is claimed by at most one open
/// transport at a time, as an interface claim is on Linux. Transfer faults are queued per part
/// and endpoint: fail the next transfers, shorten the next IN transfers (the rest stays queued,
/// as when a short packet ends a transfer early), or unplug the part part-way through the next
/// IN transfer. Counters record every transfer. One thread at a time.
public final class SimulatedUSBBus {
    public let name: String

    /// A part's place on the bus.
    final class Port {
        let target: any SimulatedUSBTarget
        var isPlugged = true
        var claimedBy: ObjectIdentifier?
        var failures: [(endpoint: UInt8, reason: USBError.Reason)] = []
        var shortenings: [(endpoint: UInt8, bytes: Int)] = []
        var unplugDuringRead: (endpoint: UInt8, afterBytes: Int)?
        var transfers = 0
        var resets = 0

        init(target: any SimulatedUSBTarget) { self.target = target }
    }

    private(set) var ports: [Port] = []

    public init(name: String = "twin:usb") {
        self.name = name
    }

    // MARK: - Plugging

    /// Plugs `target` in (and powers it up). Plugging the same part twice is a wiring error.
    public func attach(_ target: any SimulatedUSBTarget) {
        precondition(!ports.contains { $0.target === target }, "\(name): the part is attached already")
        ports.append(Port(target: target))
        target.powerOn()
    }

    /// Pulls `target` out: open transports find it gone at their next transfer.
    public func unplug(_ target: any SimulatedUSBTarget) {
        let port = self.port(of: target)
        port.isPlugged = false
        port.claimedBy = nil
        port.unplugDuringRead = nil
    }

    /// Plugs `target` back in: it powers up from scratch and can be found again.
    public func plug(_ target: any SimulatedUSBTarget) {
        let port = self.port(of: target)
        guard !port.isPlugged else { return }
        port.isPlugged = true
        target.powerOn()
    }

    public func isPlugged(_ target: any SimulatedUSBTarget) -> Bool { port(of: target).isPlugged }

    // MARK: - Faults

    /// Fails the next `count` transfers on `endpoint` of `target` with `reason` (before the part sees them).
    public func failNext(_ count: Int, of target: any SimulatedUSBTarget, endpoint: UInt8, reason: USBError.Reason) {
        precondition(count >= 0, "failNext(\(count))")
        let port = self.port(of: target)
        for _ in 0..<count { port.failures.append((endpoint, reason)) }
    }

    /// Ends each of the next IN transfers on `endpoint` of `target` after the given byte counts
    /// (one per transfer, in order): a split or short transfer. The rest of the reply stays queued.
    public func shortenNextReads(of target: any SimulatedUSBTarget, endpoint: UInt8, to byteCounts: [Int]) {
        let port = self.port(of: target)
        for count in byteCounts {
            precondition(count >= 0, "a transfer moves 0 or more bytes, got \(count)")
            port.shortenings.append((endpoint, count))
        }
    }

    /// Unplugs `target` during the next IN transfer on `endpoint`, after `afterBytes` bytes arrived.
    public func unplugDuringNextRead(of target: any SimulatedUSBTarget, endpoint: UInt8, afterBytes: Int) {
        precondition(afterBytes >= 0, "afterBytes must be 0 or more")
        port(of: target).unplugDuringRead = (endpoint, afterBytes)
    }

    /// Forgets every queued fault.
    public func clearFaults() {
        for port in ports {
            port.failures.removeAll()
            port.shortenings.removeAll()
            port.unplugDuringRead = nil
        }
    }

    // MARK: - Counters

    /// Transfers attempted on `target` (failed ones included).
    public func transferCount(of target: any SimulatedUSBTarget) -> Int { port(of: target).transfers }

    /// Port resets of `target`.
    public func resetCount(of target: any SimulatedUSBTarget) -> Int { port(of: target).resets }

    // MARK: - For the transport

    func port(of target: any SimulatedUSBTarget) -> Port {
        guard let port = ports.first(where: { $0.target === target }) else {
            preconditionFailure("\(name): the part was never attached")
        }
        return port
    }

    /// Plugged, unclaimed parts with the IDs, in plugging order.
    func candidates(vendorID: UInt16, productID: UInt16) -> [Port] {
        ports.filter { $0.isPlugged && $0.target.vendorID == vendorID && $0.target.productID == productID }
    }
}

/// The twin's `USBBulkDevice`: a part on a `SimulatedUSBBus`, found, claimed and spoken to as
/// `LinuxUSBDevice` does with libusb, with the same errors.
///
/// Finding: plugged parts with the match's IDs, in plugging order; a part claimed by another
/// transport is skipped (`LIBUSB_ERROR_BUSY`); when a serial number is asked for, the descriptor
/// serial is compared, else `serialNumberProbe` asks the part. Transfers: an OUT transfer goes to
/// the part at once. An IN transfer serves the first queued message on the endpoint: it waits on
/// `clock` until the message is ready (a spectrum appears when its integration ends), or, when it
/// would not be ready within the timeout (or the part hangs, or nothing is queued), waits the
/// whole timeout and throws `.timeout`. The transfer ends at the end of the message or of the
/// buffer; a buffer that ends inside a packet of a longer message is `.overflow`, as on USB.
/// Unplugging the part makes the next transfer (or the one in flight) throw `.noDevice` and closes
/// the transport, until `connect()` finds the part again.
public final class SimulatedUSBDevice: USBBulkDevice {
    public let bus: SimulatedUSBBus
    public let match: USBDeviceMatch
    public private(set) var name: String
    public private(set) var connectionNumber = 0
    /// The part this transport has open, nil when it is not connected.
    public private(set) var target: (any SimulatedUSBTarget)?
    /// The serial number of the part, when known.
    public private(set) var serialNumber: String?

    private let clock: (any RigClock)?
    private let serialNumberProbe: USBSerialNumberProbe?
    private var boundSerialNumber: String?
    private var port: SimulatedUSBBus.Port?

    /// Opens the first part on `bus` that fits `match`. `clock` is the twin's clock, on which IN
    /// transfers wait; nil: they never wait (a test that does not care about time).
    public init(
        bus: SimulatedUSBBus, match: USBDeviceMatch, clock: (any RigClock)? = nil,
        serialNumberProbe: USBSerialNumberProbe? = nil, name: String? = nil
    ) throws(USBError) {
        self.bus = bus
        self.match = match
        self.clock = clock
        self.serialNumberProbe = serialNumberProbe
        self.name = name ?? "\(bus.name) \(match)"
        try connect()
    }

    deinit {
        if let port, port.claimedBy == ObjectIdentifier(self) { port.claimedBy = nil }
    }

    public var isConnected: Bool { port != nil }

    /// Releases the part (it can be found again with `connect()`).
    public func close() {
        if let port, port.claimedBy == ObjectIdentifier(self) { port.claimedBy = nil }
        port = nil
        target = nil
    }

    public func connect() throws(USBError) {
        guard port == nil else { return }
        let wanted = match.serialNumber ?? boundSerialNumber
        var lastFailure: USBError?
        for candidate in bus.candidates(vendorID: match.vendorID, productID: match.productID) {
            var serial = candidate.target.serialNumberDescriptor
            if let wanted, let known = serial, known != wanted { continue }
            if candidate.claimedBy != nil {
                lastFailure = USBError(
                    device: name, operation: "libusb_claim_interface", code: -6, reason: .busy)
                continue
            }
            candidate.claimedBy = ObjectIdentifier(self)
            port = candidate
            target = candidate.target
            if serial == nil, let serialNumberProbe {
                do throws(USBError) {
                    serial = try serialNumberProbe(self)
                } catch {
                    close()
                    lastFailure = error
                    continue
                }
            }
            if let wanted, serial != wanted {
                close()
                continue
            }
            serialNumber = serial
            if match.serialNumber == nil { boundSerialNumber = serial }
            connectionNumber += 1
            return
        }
        if let lastFailure { throw lastFailure }
        let target = USBDeviceMatch(vendorID: match.vendorID, productID: match.productID, serialNumber: wanted)
        throw USBError(device: "\(bus.name) \(target)", operation: "find", reason: .notFound)
    }

    /// The open port, or `.noDevice` (closing the transport) when the part was unplugged.
    private func livePort(_ operation: String, endpoint: UInt8?) throws(USBError) -> SimulatedUSBBus.Port {
        guard let port else {
            throw USBError(device: name, operation: operation, endpoint: endpoint, reason: .noDevice)
        }
        guard port.isPlugged else {
            close()
            throw USBError(device: name, operation: operation, endpoint: endpoint, code: -4, reason: .noDevice)
        }
        return port
    }

    private func queuedFailure(_ port: SimulatedUSBBus.Port, endpoint: UInt8) -> USBError.Reason? {
        guard let index = port.failures.firstIndex(where: { $0.endpoint == endpoint }) else { return nil }
        return port.failures.remove(at: index).reason
    }

    private func wait(until instant: MonotonicInstant) throws(USBError) {
        guard let clock else { return }
        do {
            try clock.sleep(until: instant)
        } catch {
            throw USBError(device: name, operation: "wait", reason: .interrupted)
        }
    }

    private var now: MonotonicInstant { clock?.now() ?? .zero }

    public func bulkWrite(endpoint: UInt8, bytes: UnsafeRawBufferPointer, timeoutMilliseconds: Int) throws(USBError) {
        precondition(endpoint & 0x80 == 0, "bulk OUT needs an OUT endpoint, got 0x\(hex(endpoint))")
        precondition(timeoutMilliseconds > 0, "every USB transfer needs a timeout, got \(timeoutMilliseconds) ms")
        let port = try livePort("libusb_bulk_transfer", endpoint: endpoint)
        port.transfers += 1
        if let reason = queuedFailure(port, endpoint: endpoint) {
            throw USBError(
                device: name, operation: "libusb_bulk_transfer", endpoint: endpoint, transferred: 0,
                requested: bytes.count, reason: reason)
        }
        do throws(SimulatedUSBRefusal) {
            try port.target.receive(endpoint: endpoint, bytes: bytes, at: now)
        } catch {
            throw USBError(
                device: name, operation: "libusb_bulk_transfer", endpoint: endpoint, transferred: 0,
                requested: bytes.count, reason: error.reason)
        }
    }

    public func bulkRead(endpoint: UInt8, into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int)
        throws(USBError) -> Int
    {
        precondition(endpoint & 0x80 != 0, "bulk IN needs an IN endpoint, got 0x\(hex(endpoint))")
        precondition(timeoutMilliseconds > 0, "every USB transfer needs a timeout, got \(timeoutMilliseconds) ms")
        let port = try livePort("libusb_bulk_transfer", endpoint: endpoint)
        port.transfers += 1
        func failure(_ reason: USBError.Reason, transferred: Int = 0) -> USBError {
            USBError(
                device: name, operation: "libusb_bulk_transfer", endpoint: endpoint,
                code: reason == .timeout ? -7 : nil, transferred: transferred, requested: buffer.count, reason: reason)
        }
        if let reason = queuedFailure(port, endpoint: endpoint) { throw failure(reason) }
        guard let queue = port.target.inEndpoint(endpoint) else { throw failure(.invalidParameter) }
        let deadline = now.adding(nanoseconds: Int64(timeoutMilliseconds) * 1_000_000)
        guard !port.target.isHung, let next = queue.nextMessage, next.readyAt <= deadline else {
            try wait(until: deadline)
            throw failure(.timeout)
        }
        try wait(until: next.readyAt)

        var count = min(buffer.count, next.remaining)
        var overflow = false
        if buffer.count < next.remaining {
            let packet = port.target.isHighSpeed ? 512 : 64
            if buffer.count % packet != 0 {
                // The device sends whole packets: the one the buffer ends in does not fit.
                overflow = true
                count = min(next.remaining, (buffer.count / packet + 1) * packet)
            }
        }
        if let index = port.shortenings.firstIndex(where: { $0.endpoint == endpoint }) {
            count = min(count, port.shortenings.remove(at: index).bytes)
            overflow = false
        }
        if let unplug = port.unplugDuringRead, unplug.endpoint == endpoint {
            let moved = queue.take(min(unplug.afterBytes, count), into: buffer)
            bus.unplug(port.target)
            close()
            throw USBError(
                device: name, operation: "libusb_bulk_transfer", endpoint: endpoint, code: -4, transferred: moved,
                requested: buffer.count, reason: .noDevice)
        }
        let moved = queue.take(count, into: buffer)
        if overflow { throw failure(.overflow, transferred: moved) }
        return moved
    }

    public func clearHalt(endpoint: UInt8) throws(USBError) {
        _ = try livePort("libusb_clear_halt", endpoint: endpoint)
    }

    public func reset() throws(USBError) {
        guard let port else {
            try connect()
            return
        }
        guard port.isPlugged else {
            close()
            try connect()
            return
        }
        port.resets += 1
        port.target.portReset()
        connectionNumber += 1
    }
}
