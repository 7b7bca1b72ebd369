/// The one seam between LinuxIO's USB code and libusb-1.0: every libusb call `LinuxUSBDevice`
/// makes goes through this protocol (kept apart from `LinuxSystem`, which covers the syscalls).
///
/// `LiveUSBSystem` calls libusb; tests substitute a recording mock that checks the exact calls
/// (endpoint, length, timeout, interface, configuration) and scripts the results.
///
/// Methods mirror the C calls one to one: they do not throw and do not interpret errors. They
/// return libusb's `int` result (0 or a positive count on success, a negative `LIBUSB_ERROR_*`
/// code on failure) and any out-parameters.
public protocol USBSystem: AnyObject {
    // MARK: library

    /// `libusb_init(&context)`.
    func initialize() -> (result: Int32, context: USBContextHandle?)

    /// `libusb_exit(context)`.
    func exit(_ context: USBContextHandle)

    // MARK: enumeration

    /// `libusb_get_device_list(context, &list)`: the result is the number of devices.
    func getDeviceList(_ context: USBContextHandle) -> (result: Int, list: USBDeviceList)

    /// `libusb_free_device_list(list, unref_devices)`.
    func freeDeviceList(_ list: USBDeviceList, unrefDevices: Bool)

    /// `libusb_get_device_descriptor(device, &descriptor)`.
    func getDeviceDescriptor(_ device: USBDeviceReference) -> (result: Int32, descriptor: USBDeviceDescriptor)

    /// `libusb_get_bus_number(device)`.
    func getBusNumber(_ device: USBDeviceReference) -> UInt8

    /// `libusb_get_port_numbers(device, ports, 7)`: the port path from the root hub (empty on failure).
    func getPortNumbers(_ device: USBDeviceReference) -> [UInt8]

    // MARK: opening

    /// `libusb_open(device, &handle)`.
    func open(_ device: USBDeviceReference) -> (result: Int32, handle: USBDeviceHandle?)

    /// `libusb_close(handle)`.
    func close(_ handle: USBDeviceHandle)

    /// `libusb_get_string_descriptor_ascii(handle, index, buffer, 256)`: the result is the length.
    func getStringDescriptorASCII(_ handle: USBDeviceHandle, index: UInt8) -> (result: Int32, text: String)

    /// `libusb_kernel_driver_active(handle, interface)`: 1 when a kernel driver holds it, 0 when
    /// none does, or an error code.
    func kernelDriverActive(_ handle: USBDeviceHandle, interface: Int32) -> Int32

    /// `libusb_detach_kernel_driver(handle, interface)`.
    func detachKernelDriver(_ handle: USBDeviceHandle, interface: Int32) -> Int32

    /// `libusb_get_configuration(handle, &configuration)`.
    func getConfiguration(_ handle: USBDeviceHandle) -> (result: Int32, configuration: Int32)

    /// `libusb_set_configuration(handle, configuration)`.
    func setConfiguration(_ handle: USBDeviceHandle, configuration: Int32) -> Int32

    /// `libusb_claim_interface(handle, interface)`.
    func claimInterface(_ handle: USBDeviceHandle, interface: Int32) -> Int32

    /// `libusb_release_interface(handle, interface)`.
    func releaseInterface(_ handle: USBDeviceHandle, interface: Int32) -> Int32

    // MARK: transfers

    /// `libusb_clear_halt(handle, endpoint)`.
    func clearHalt(_ handle: USBDeviceHandle, endpoint: UInt8) -> Int32

    /// `libusb_bulk_transfer(handle, endpoint, buffer, buffer.count, &transferred, timeout)`. The
    /// direction is the endpoint's bit 7; for OUT the buffer is only read. `transferred` is valid
    /// on failure too (a timeout part-way).
    func bulkTransfer(
        _ handle: USBDeviceHandle, endpoint: UInt8, buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: UInt32
    ) -> (result: Int32, transferred: Int32)

    /// `libusb_reset_device(handle)`: `LIBUSB_ERROR_NOT_FOUND` means the device re-enumerated and
    /// the handle must be closed and the device found again.
    func resetDevice(_ handle: USBDeviceHandle) -> Int32
}

/// `libusb_context *`.
public struct USBContextHandle: Hashable {
    public var pointer: OpaquePointer
    public init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

/// `libusb_device *`: a device in a device list (not open).
public struct USBDeviceReference: Hashable {
    public var pointer: OpaquePointer
    public init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

/// `libusb_device_handle *`: an open device.
public struct USBDeviceHandle: Hashable {
    public var pointer: OpaquePointer
    public init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

/// What `libusb_get_device_list` returned: the devices, and the list itself to free.
public struct USBDeviceList {
    public var devices: [USBDeviceReference]
    /// The `libusb_device **` to hand to `libusb_free_device_list` (nil in mocks and on failure).
    public var raw: UnsafeMutablePointer<OpaquePointer?>?

    public init(devices: [USBDeviceReference], raw: UnsafeMutablePointer<OpaquePointer?>? = nil) {
        self.devices = devices
        self.raw = raw
    }
}

/// The fields of `struct libusb_device_descriptor` the transport uses.
public struct USBDeviceDescriptor: Equatable, Sendable {
    /// `idVendor`.
    public var vendorID: UInt16
    /// `idProduct`.
    public var productID: UInt16
    /// `iSerialNumber`: the string descriptor index of the serial number, 0 when there is none.
    public var serialNumberIndex: UInt8

    public init(vendorID: UInt16, productID: UInt16, serialNumberIndex: UInt8) {
        self.vendorID = vendorID
        self.productID = productID
        self.serialNumberIndex = serialNumberIndex
    }
}

/// libusb's error codes (`enum libusb_error` in `<libusb.h>`), named for the seam's users.
public enum LibUSBCode {
    public static let success: Int32 = 0
    public static let io: Int32 = -1
    public static let invalidParameter: Int32 = -2
    public static let access: Int32 = -3
    public static let noDevice: Int32 = -4
    public static let notFound: Int32 = -5
    public static let busy: Int32 = -6
    public static let timeout: Int32 = -7
    public static let overflow: Int32 = -8
    public static let pipe: Int32 = -9
    public static let interrupted: Int32 = -10
    public static let noMemory: Int32 = -11
    public static let notSupported: Int32 = -12
    public static let other: Int32 = -99
}
