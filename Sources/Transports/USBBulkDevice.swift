/// One USB device with bulk endpoints, opened and claimed: the transport of every USB part's
/// driver (the Ocean Optics spectrometers).
///
/// The Linux implementation (LinuxIO `LinuxUSBDevice`) sits on libusb-1.0; the twin's
/// (`SimulatedUSBDevice`) routes the same bytes to a simulated part. Drivers see no difference.
///
/// Connection life: a device is found and opened once (by vendor and product ID, and serial
/// number when one is asked for), its kernel driver detached, its interface claimed and its
/// endpoint halts cleared. When it is unplugged, the transfer in flight fails with `.noDevice` and
/// the device is closed; every later transfer fails with `.noDevice` at once, without touching the
/// bus, until `connect()` finds it back (the same device: same IDs, same serial number) and opens
/// it again. Each (re)opening increments `connectionNumber`, so a driver knows when it has to
/// configure the part again. `reset()` is the last-resort recovery: a USB port reset, and when the
/// device re-enumerates, a reopening.
///
/// Buffers are the caller's, so a transfer allocates nothing. Not thread-safe: one owner.
public protocol USBBulkDevice: AnyObject {
    /// Where the device is, for error messages (`usb 1-1.3 2457:101e FLMS04321`, `twin:spectrometer.abs`).
    var name: String { get }

    /// Increments each time the device is opened (the first opening makes it 1). A driver that
    /// configured the part at connection N must configure it again when this differs from N.
    var connectionNumber: Int { get }

    /// Whether the device is open (false after it was found unplugged, until `connect()`).
    var isConnected: Bool { get }

    /// Bulk OUT: writes every byte of `bytes` to `endpoint` (bit 7 clear), or throws. A write
    /// that times out part-way throws `.timeout` with the bytes that went.
    func bulkWrite(endpoint: UInt8, bytes: UnsafeRawBufferPointer, timeoutMilliseconds: Int) throws(USBError)

    /// Bulk IN: one transfer from `endpoint` (bit 7 set) into `buffer`. Returns the bytes
    /// received, which may be fewer than `buffer.count`: a short packet ends a transfer. Throws
    /// `.timeout` (with the bytes that did arrive in `transferred`) when nothing completes in time,
    /// `.overflow` when the device sent more than the buffer holds, `.noDevice` when it is gone.
    func bulkRead(endpoint: UInt8, into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int)
        throws(USBError) -> Int

    /// Clears a halt (stall) on `endpoint` and resets its data toggle (`CLEAR_FEATURE(ENDPOINT_HALT)`).
    func clearHalt(endpoint: UInt8) throws(USBError)

    /// Resets the USB port. If the device re-enumerates, it is found again and reopened; either
    /// way the part has lost its configuration, so `connectionNumber` changes. Throws `.notFound`
    /// when it does not come back.
    func reset() throws(USBError)

    /// Finds the device again and opens it when it is not connected; does nothing when it is.
    /// Throws `.notFound` when it is still absent.
    func connect() throws(USBError)
}

/// How to find a device: vendor and product ID, and optionally its serial number.
public struct USBDeviceMatch: Equatable, Sendable, CustomStringConvertible {
    public var vendorID: UInt16
    public var productID: UInt16
    /// The serial number wanted; nil: the first device with the IDs that is not in use.
    public var serialNumber: String?
    /// The interface to claim (0 for every part on the rig).
    public var interface: Int
    /// Endpoints whose halts are cleared on every opening (PROTOCOLS.md §1: 0x01, 0x81, 0x82).
    public var endpointsToClear: [UInt8]

    public init(
        vendorID: UInt16, productID: UInt16, serialNumber: String? = nil, interface: Int = 0,
        endpointsToClear: [UInt8] = []
    ) {
        self.vendorID = vendorID
        self.productID = productID
        self.serialNumber = serialNumber
        self.interface = interface
        self.endpointsToClear = endpointsToClear
    }

    /// `2457:101e`, and the serial number when there is one.
    public var description: String {
        let ids = "\(hex16(vendorID)):\(hex16(productID))"
        return serialNumber.map { "\(ids) serial \($0)" } ?? ids
    }
}

/// Reads a part's serial number through the part's own protocol, on a device just opened and
/// claimed. For parts whose USB descriptor carries no serial string (the OOI spectrometers keep
/// theirs in information slot 0), so that `USBDeviceMatch.serialNumber` can still pick the unit.
/// Returns nil when the part gives none.
public typealias USBSerialNumberProbe = (any USBBulkDevice) throws(USBError) -> String?

/// A failed USB operation, with where and why.
public struct USBError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, as libusb reports it.
    public enum Reason: Equatable, Sendable {
        /// The device is gone: unplugged, or lost in a reset (`LIBUSB_ERROR_NO_DEVICE`).
        case noDevice
        /// No device matches (`LIBUSB_ERROR_NOT_FOUND` or an empty search).
        case notFound
        /// Nothing (or not everything) moved in time (`LIBUSB_ERROR_TIMEOUT`).
        case timeout
        /// The endpoint halted (`LIBUSB_ERROR_PIPE`): clear the halt.
        case stall
        /// The device sent more than the buffer holds (`LIBUSB_ERROR_OVERFLOW`).
        case overflow
        /// An I/O error on the bus (`LIBUSB_ERROR_IO`).
        case io
        /// Not allowed to open the device: a udev rule for idVendor 2457 is missing (`LIBUSB_ERROR_ACCESS`).
        case accessDenied
        /// The interface is claimed by another program or handle (`LIBUSB_ERROR_BUSY`).
        case busy
        /// The call was interrupted (`LIBUSB_ERROR_INTERRUPTED`).
        case interrupted
        /// Out of memory (`LIBUSB_ERROR_NO_MEM`).
        case noMemory
        /// Not supported on this platform (`LIBUSB_ERROR_NOT_SUPPORTED`).
        case notSupported
        /// A bad argument (`LIBUSB_ERROR_INVALID_PARAM`).
        case invalidParameter
        /// Any other failure (`LIBUSB_ERROR_OTHER`, or a code libusb does not name).
        case other
    }

    /// `usb 1-1.3 2457:101e`, `twin:spectrometer.abs`, or the match when nothing was found.
    public var device: String
    /// The libusb call (or transport step) that failed: `libusb_bulk_transfer`, `libusb_claim_interface`...
    public var operation: String
    /// The endpoint of a transfer or halt clearing.
    public var endpoint: UInt8?
    /// The libusb error code, when it came from libusb.
    public var code: Int32?
    /// Bytes moved before the failure (a timeout part-way), when known.
    public var transferred: Int?
    /// Bytes asked for.
    public var requested: Int?
    public var reason: Reason

    public init(
        device: String, operation: String, endpoint: UInt8? = nil, code: Int32? = nil, transferred: Int? = nil,
        requested: Int? = nil, reason: Reason
    ) {
        self.device = device
        self.operation = operation
        self.endpoint = endpoint
        self.code = code
        self.transferred = transferred
        self.requested = requested
        self.reason = reason
    }

    /// The reason for a libusb error code (`LIBUSB_ERROR_*`, from `<libusb.h>`).
    public static func reason(libusbCode code: Int32) -> Reason {
        switch code {
        case -1: .io
        case -2: .invalidParameter
        case -3: .accessDenied
        case -4: .noDevice
        case -5: .notFound
        case -6: .busy
        case -7: .timeout
        case -8: .overflow
        case -9: .stall
        case -10: .interrupted
        case -11: .noMemory
        case -12: .notSupported
        default: .other
        }
    }

    /// The `LIBUSB_ERROR_*` name of a code.
    public static func libusbName(_ code: Int32) -> String {
        switch code {
        case 0: "LIBUSB_SUCCESS"
        case -1: "LIBUSB_ERROR_IO"
        case -2: "LIBUSB_ERROR_INVALID_PARAM"
        case -3: "LIBUSB_ERROR_ACCESS"
        case -4: "LIBUSB_ERROR_NO_DEVICE"
        case -5: "LIBUSB_ERROR_NOT_FOUND"
        case -6: "LIBUSB_ERROR_BUSY"
        case -7: "LIBUSB_ERROR_TIMEOUT"
        case -8: "LIBUSB_ERROR_OVERFLOW"
        case -9: "LIBUSB_ERROR_PIPE"
        case -10: "LIBUSB_ERROR_INTERRUPTED"
        case -11: "LIBUSB_ERROR_NO_MEM"
        case -12: "LIBUSB_ERROR_NOT_SUPPORTED"
        default: "LIBUSB_ERROR_OTHER"
        }
    }

    /// Whether the device is not there: unplugged, lost in a reset, or not found again.
    public var isDeviceAbsent: Bool { reason == .noDevice || reason == .notFound }

    public var description: String {
        var text = "\(device)"
        if let endpoint { text += " endpoint 0x\(hex(endpoint))" }
        text += ": \(operation) failed: \(reason)"
        if let requested {
            text += " (\(transferred ?? 0) of \(requested) bytes)"
        } else if let transferred {
            text += " (\(transferred) bytes moved)"
        }
        if let code { text += " [\(USBError.libusbName(code)) \(code)]" }
        return text
    }
}

/// Four-digit lower-case hex, as lsusb prints USB IDs.
public func hex16(_ value: UInt16) -> String {
    let digits = String(value, radix: 16, uppercase: false)
    return String(repeating: "0", count: 4 - digits.count) + digits
}
