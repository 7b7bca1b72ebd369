import Transports

/// A USB device on Linux through libusb-1.0, behind the `USBSystem` seam.
///
/// Finding (`connect()`, also run by `init`): walk `libusb_get_device_list`, keep the devices whose
/// `libusb_get_device_descriptor` has the match's vendor and product IDs, and open them in list
/// order. When a serial number is asked for, a device with a serial string descriptor
/// (`iSerialNumber` != 0, read with `libusb_get_string_descriptor_ascii`) is compared before it is
/// claimed; a device without one (the OOI spectrometers keep their serial in information slot 0)
/// is claimed and then asked through `serialNumberProbe`. A device whose interface is claimed
/// already (`LIBUSB_ERROR_BUSY`: another program, or this program's other spectrometer) is skipped,
/// so "the first found" means the first one free.
///
/// Opening a device (PROTOCOLS.md §1): `libusb_kernel_driver_active` and, when a kernel driver
/// holds the interface, `libusb_detach_kernel_driver`; `libusb_get_configuration` and, only when
/// it is not 1, `libusb_set_configuration(1)` (setting the active configuration again would reset
/// the device); `libusb_claim_interface`; `libusb_clear_halt` on every endpoint of the match.
///
/// Hotplug: a transfer failing with `LIBUSB_ERROR_NO_DEVICE` means the device was unplugged: the
/// handle is closed at once and every later call throws `.noDevice` without touching libusb,
/// until `connect()` finds the device again (same IDs, same serial number when one was asked
/// for; when none was, the first free device with the IDs). Polling the device list on demand,
/// rather than libusb's hotplug callbacks, needs no event thread and works where
/// `LIBUSB_CAP_HAS_HOTPLUG` is missing; the driver decides when to look again.
///
/// Reset: `libusb_reset_device`; `LIBUSB_ERROR_NOT_FOUND` (or `NO_DEVICE`) means the device
/// re-enumerated, so the handle is closed and the device found again. Every successful reset or
/// reopening gives a new `connectionNumber`: the part has lost its configuration.
///
/// Every transfer has a timeout (libusb's 0 would wait for ever; PROTOCOLS.md §1 reports reads
/// that hang after hours): a timeout of 0 or less is a programmer error. Not thread-safe: one owner.
public final class LinuxUSBDevice: USBBulkDevice {
    public let match: USBDeviceMatch
    /// `usb <bus>-<port path> <vid>:<pid>` and the serial number once known; the match before.
    public private(set) var name: String
    public private(set) var connectionNumber = 0
    /// The serial number of the open device (from its descriptor or the probe), when known.
    public private(set) var serialNumber: String?

    private let system: any USBSystem
    private let serialNumberProbe: USBSerialNumberProbe?
    private var context: USBContextHandle?
    private var handle: USBDeviceHandle?
    /// The serial number this transport is bound to once a device was opened without one asked
    /// for: reconnection then looks for the same unit, not any unit with the IDs.
    private var boundSerialNumber: String?

    /// Creates a libusb context (`libusb_init`) and opens the first device that fits `match`.
    ///
    /// - Throws: `USBError` naming the libusb call: `.notFound` when no device fits,
    ///   `.accessDenied` when one does but may not be opened (a missing udev rule for idVendor 2457).
    public init(
        match: USBDeviceMatch, serialNumberProbe: USBSerialNumberProbe? = nil, system: any USBSystem = LiveUSBSystem()
    ) throws(USBError) {
        precondition(match.interface >= 0 && match.interface <= 255, "USB interface numbers are 0...255, got \(match.interface)")
        self.match = match
        self.system = system
        self.serialNumberProbe = serialNumberProbe
        name = "usb \(match)"
        let (result, context) = system.initialize()
        guard result == 0, let context else {
            throw USBError(device: name, operation: "libusb_init", code: result, reason: USBError.reason(libusbCode: result))
        }
        self.context = context
        do {
            try connect()
        } catch {
            system.exit(context)
            self.context = nil
            throw error
        }
    }

    deinit {
        closeHandle(release: true)
        if let context { system.exit(context) }
    }

    public var isConnected: Bool { handle != nil }

    /// Releases the interface and closes the device (it can be found again with `connect()`).
    public func close() {
        closeHandle(release: true)
    }

    // MARK: - Finding and opening

    public func connect() throws(USBError) {
        guard handle == nil else { return }
        guard let context else { preconditionFailure("LinuxUSBDevice used after its context was freed") }
        let wanted = match.serialNumber ?? boundSerialNumber
        let (count, list) = system.getDeviceList(context)
        guard count >= 0 else {
            let code = Int32(clamping: count)
            throw USBError(
                device: name, operation: "libusb_get_device_list", code: code, reason: USBError.reason(libusbCode: code))
        }
        defer { system.freeDeviceList(list, unrefDevices: true) }

        var lastFailure: USBError?
        for device in list.devices {
            let (described, descriptor) = system.getDeviceDescriptor(device)
            guard described == 0, descriptor.vendorID == match.vendorID, descriptor.productID == match.productID else {
                continue
            }
            let location = self.location(of: device)
            do throws(USBError) {
                let (accepted, serial) = try open(device, descriptor: descriptor, location: location, wanted: wanted)
                if accepted {
                    serialNumber = serial
                    if match.serialNumber == nil { boundSerialNumber = serial }
                    name = "usb \(location) \(hex16(match.vendorID)):\(hex16(match.productID))"
                        + (serial.map { " \($0)" } ?? "")
                    connectionNumber += 1
                    return
                }
            } catch {
                lastFailure = error
            }
        }
        if let lastFailure { throw lastFailure }
        let target = USBDeviceMatch(vendorID: match.vendorID, productID: match.productID, serialNumber: wanted)
        throw USBError(device: "usb \(target)", operation: "find", reason: .notFound)
    }

    /// Opens and claims `device` and learns its serial number (descriptor first, then the probe).
    /// Returns whether it is the device wanted (when it is not, it is closed again); throws when it
    /// cannot be opened, claimed or probed.
    private func open(_ device: USBDeviceReference, descriptor: USBDeviceDescriptor, location: String, wanted: String?)
        throws(USBError) -> (accepted: Bool, serial: String?)
    {
        let here = "usb \(location) \(hex16(descriptor.vendorID)):\(hex16(descriptor.productID))"
        let (opened, candidate) = system.open(device)
        guard opened == 0, let candidate else {
            throw USBError(device: here, operation: "libusb_open", code: opened, reason: USBError.reason(libusbCode: opened))
        }
        var serial: String?
        if descriptor.serialNumberIndex != 0 {
            let (length, text) = system.getStringDescriptorASCII(candidate, index: descriptor.serialNumberIndex)
            if length > 0 { serial = text }
        }
        if let wanted, let serial, serial != wanted {
            // Another unit, known before claiming anything.
            system.close(candidate)
            return (false, nil)
        }
        do throws(USBError) {
            try claim(candidate, device: here)
        } catch {
            system.close(candidate)
            throw error
        }
        handle = candidate
        if serial == nil, let serialNumberProbe {
            // The part keeps its serial number behind its own protocol: ask it on the claimed device.
            do throws(USBError) {
                serial = try serialNumberProbe(self)
            } catch {
                closeHandle(release: true)
                throw error
            }
        }
        if let wanted, serial != wanted {
            closeHandle(release: true)
            return (false, nil)
        }
        return (true, serial)
    }

    /// Kernel driver off, configuration 1, interface claimed, halts cleared.
    private func claim(_ candidate: USBDeviceHandle, device: String) throws(USBError) {
        let interface = Int32(match.interface)
        let active = system.kernelDriverActive(candidate, interface: interface)
        if active == 1 {
            let detached = system.detachKernelDriver(candidate, interface: interface)
            // NOT_FOUND: the driver went away between the two calls.
            if detached != 0 && detached != LibUSBCode.notFound {
                throw failure(device, "libusb_detach_kernel_driver", detached)
            }
        } else if active < 0 && active != LibUSBCode.notSupported {
            throw failure(device, "libusb_kernel_driver_active", active)
        }
        let (got, configuration) = system.getConfiguration(candidate)
        if got != 0 { throw failure(device, "libusb_get_configuration", got) }
        if configuration != 1 {
            let set = system.setConfiguration(candidate, configuration: 1)
            if set != 0 { throw failure(device, "libusb_set_configuration", set) }
        }
        let claimed = system.claimInterface(candidate, interface: interface)
        if claimed != 0 { throw failure(device, "libusb_claim_interface", claimed) }
        for endpoint in match.endpointsToClear {
            let cleared = system.clearHalt(candidate, endpoint: endpoint)
            if cleared != 0 {
                _ = system.releaseInterface(candidate, interface: interface)
                throw failure(device, "libusb_clear_halt", cleared, endpoint: endpoint)
            }
        }
    }

    private func releaseAndClose(_ candidate: USBDeviceHandle) {
        // The interface was claimed by this handle; a failure to release changes nothing for a
        // handle that is closed right after.
        _ = system.releaseInterface(candidate, interface: Int32(match.interface))
        system.close(candidate)
    }

    private func closeHandle(release: Bool) {
        guard let open = handle else { return }
        handle = nil
        if release {
            releaseAndClose(open)
        } else {
            system.close(open)
        }
    }

    /// `<bus>-<port>.<port>...`, as the kernel names USB devices.
    private func location(of device: USBDeviceReference) -> String {
        let bus = system.getBusNumber(device)
        let ports = system.getPortNumbers(device)
        return ports.isEmpty ? "\(bus)" : "\(bus)-" + ports.map { String($0) }.joined(separator: ".")
    }

    private func failure(_ device: String, _ operation: String, _ code: Int32, endpoint: UInt8? = nil) -> USBError {
        USBError(device: device, operation: operation, endpoint: endpoint, code: code, reason: USBError.reason(libusbCode: code))
    }

    // MARK: - Transfers

    private func openHandle(_ operation: String, endpoint: UInt8?) throws(USBError) -> USBDeviceHandle {
        guard let handle else {
            throw USBError(device: name, operation: operation, endpoint: endpoint, reason: .noDevice)
        }
        return handle
    }

    /// A failed call on the open device: when it says the device is gone, the handle is closed
    /// (no release: there is nothing left to release) so that later calls fail fast.
    private func transferFailure(
        _ operation: String, endpoint: UInt8?, code: Int32, transferred: Int? = nil, requested: Int? = nil
    ) -> USBError {
        if code == LibUSBCode.noDevice { closeHandle(release: false) }
        return USBError(
            device: name, operation: operation, endpoint: endpoint, code: code, transferred: transferred,
            requested: requested, reason: USBError.reason(libusbCode: code))
    }

    public func bulkWrite(endpoint: UInt8, bytes: UnsafeRawBufferPointer, timeoutMilliseconds: Int) throws(USBError) {
        precondition(endpoint & 0x80 == 0, "bulk OUT needs an OUT endpoint, got 0x\(hex(endpoint))")
        precondition(timeoutMilliseconds > 0, "every USB transfer needs a timeout, got \(timeoutMilliseconds) ms")
        let open = try openHandle("libusb_bulk_transfer", endpoint: endpoint)
        // libusb only reads an OUT transfer's buffer.
        let buffer = UnsafeMutableRawBufferPointer(mutating: bytes)
        let (result, transferred) = system.bulkTransfer(
            open, endpoint: endpoint, buffer: buffer, timeoutMilliseconds: UInt32(clamping: timeoutMilliseconds))
        if result != 0 {
            throw transferFailure(
                "libusb_bulk_transfer", endpoint: endpoint, code: result, transferred: Int(transferred),
                requested: bytes.count)
        }
        if Int(transferred) != bytes.count {
            throw USBError(
                device: name, operation: "libusb_bulk_transfer", endpoint: endpoint, transferred: Int(transferred),
                requested: bytes.count, reason: .io)
        }
    }

    public func bulkRead(endpoint: UInt8, into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int)
        throws(USBError) -> Int
    {
        precondition(endpoint & 0x80 != 0, "bulk IN needs an IN endpoint, got 0x\(hex(endpoint))")
        precondition(timeoutMilliseconds > 0, "every USB transfer needs a timeout, got \(timeoutMilliseconds) ms")
        let open = try openHandle("libusb_bulk_transfer", endpoint: endpoint)
        let (result, transferred) = system.bulkTransfer(
            open, endpoint: endpoint, buffer: buffer, timeoutMilliseconds: UInt32(clamping: timeoutMilliseconds))
        if result != 0 {
            throw transferFailure(
                "libusb_bulk_transfer", endpoint: endpoint, code: result, transferred: Int(transferred),
                requested: buffer.count)
        }
        return Int(transferred)
    }

    public func clearHalt(endpoint: UInt8) throws(USBError) {
        let open = try openHandle("libusb_clear_halt", endpoint: endpoint)
        let result = system.clearHalt(open, endpoint: endpoint)
        if result != 0 { throw transferFailure("libusb_clear_halt", endpoint: endpoint, code: result) }
    }

    public func reset() throws(USBError) {
        guard let open = handle else {
            try connect()
            return
        }
        let result = system.resetDevice(open)
        switch result {
        case 0:
            // Same handle, same claim (libusb restores it); the endpoints start over.
            for endpoint in match.endpointsToClear {
                let cleared = system.clearHalt(open, endpoint: endpoint)
                if cleared != 0 { throw transferFailure("libusb_clear_halt", endpoint: endpoint, code: cleared) }
            }
            connectionNumber += 1
        case LibUSBCode.notFound, LibUSBCode.noDevice:
            // Re-enumerated (or gone): the handle is stale; find the device again.
            closeHandle(release: false)
            try connect()
        default:
            throw transferFailure("libusb_reset_device", endpoint: nil, code: result)
        }
    }
}
