import CLibUSB

/// The real `USBSystem`: each method is one call into libusb-1.0 (`<libusb.h>`). Stateless; the
/// context it creates belongs to the caller.
public final class LiveUSBSystem: USBSystem {
    public init() {}

    /// `libusb_init`.
    public func initialize() -> (result: Int32, context: USBContextHandle?) {
        var context: OpaquePointer?
        let result = libusb_init(&context)
        return (result, context.map(USBContextHandle.init))
    }

    /// `libusb_exit`.
    public func exit(_ context: USBContextHandle) {
        libusb_exit(context.pointer)
    }

    /// `libusb_get_device_list`.
    public func getDeviceList(_ context: USBContextHandle) -> (result: Int, list: USBDeviceList) {
        var raw: UnsafeMutablePointer<OpaquePointer?>?
        let count = libusb_get_device_list(context.pointer, &raw)
        guard count >= 0, let raw else { return (count, USBDeviceList(devices: [], raw: nil)) }
        var devices: [USBDeviceReference] = []
        devices.reserveCapacity(count)
        for index in 0..<count {
            if let device = raw[index] { devices.append(USBDeviceReference(device)) }
        }
        return (count, USBDeviceList(devices: devices, raw: raw))
    }

    /// `libusb_free_device_list`.
    public func freeDeviceList(_ list: USBDeviceList, unrefDevices: Bool) {
        guard let raw = list.raw else { return }
        libusb_free_device_list(raw, unrefDevices ? 1 : 0)
    }

    /// `libusb_get_device_descriptor`.
    public func getDeviceDescriptor(_ device: USBDeviceReference) -> (result: Int32, descriptor: USBDeviceDescriptor) {
        var descriptor = libusb_device_descriptor()
        let result = libusb_get_device_descriptor(device.pointer, &descriptor)
        return (
            result,
            USBDeviceDescriptor(
                vendorID: descriptor.idVendor, productID: descriptor.idProduct,
                serialNumberIndex: descriptor.iSerialNumber)
        )
    }

    /// `libusb_get_bus_number`.
    public func getBusNumber(_ device: USBDeviceReference) -> UInt8 {
        libusb_get_bus_number(device.pointer)
    }

    /// `libusb_get_port_numbers` (USB 3.0 allows at most 7 tiers).
    public func getPortNumbers(_ device: USBDeviceReference) -> [UInt8] {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 7) { ports in
            let count = libusb_get_port_numbers(device.pointer, ports.baseAddress, 7)
            return count > 0 ? Array(ports[0..<Int(count)]) : []
        }
    }

    /// `libusb_open`.
    public func open(_ device: USBDeviceReference) -> (result: Int32, handle: USBDeviceHandle?) {
        var handle: OpaquePointer?
        let result = libusb_open(device.pointer, &handle)
        return (result, result == 0 ? handle.map(USBDeviceHandle.init) : nil)
    }

    /// `libusb_close`.
    public func close(_ handle: USBDeviceHandle) {
        libusb_close(handle.pointer)
    }

    /// `libusb_get_string_descriptor_ascii` into a 256-byte buffer (the longest string descriptor).
    public func getStringDescriptorASCII(_ handle: USBDeviceHandle, index: UInt8) -> (result: Int32, text: String) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { buffer in
            let result = libusb_get_string_descriptor_ascii(handle.pointer, index, buffer.baseAddress, 256)
            guard result > 0 else { return (result, "") }
            return (result, String(decoding: buffer[0..<Int(result)], as: UTF8.self))
        }
    }

    /// `libusb_kernel_driver_active`.
    public func kernelDriverActive(_ handle: USBDeviceHandle, interface: Int32) -> Int32 {
        libusb_kernel_driver_active(handle.pointer, interface)
    }

    /// `libusb_detach_kernel_driver`.
    public func detachKernelDriver(_ handle: USBDeviceHandle, interface: Int32) -> Int32 {
        libusb_detach_kernel_driver(handle.pointer, interface)
    }

    /// `libusb_get_configuration`.
    public func getConfiguration(_ handle: USBDeviceHandle) -> (result: Int32, configuration: Int32) {
        var configuration: Int32 = 0
        let result = libusb_get_configuration(handle.pointer, &configuration)
        return (result, configuration)
    }

    /// `libusb_set_configuration`.
    public func setConfiguration(_ handle: USBDeviceHandle, configuration: Int32) -> Int32 {
        libusb_set_configuration(handle.pointer, configuration)
    }

    /// `libusb_claim_interface`.
    public func claimInterface(_ handle: USBDeviceHandle, interface: Int32) -> Int32 {
        libusb_claim_interface(handle.pointer, interface)
    }

    /// `libusb_release_interface`.
    public func releaseInterface(_ handle: USBDeviceHandle, interface: Int32) -> Int32 {
        libusb_release_interface(handle.pointer, interface)
    }

    /// `libusb_clear_halt`.
    public func clearHalt(_ handle: USBDeviceHandle, endpoint: UInt8) -> Int32 {
        libusb_clear_halt(handle.pointer, endpoint)
    }

    /// `libusb_bulk_transfer`.
    public func bulkTransfer(
        _ handle: USBDeviceHandle, endpoint: UInt8, buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: UInt32
    ) -> (result: Int32, transferred: Int32) {
        var transferred: Int32 = 0
        let result = libusb_bulk_transfer(
            handle.pointer, endpoint, buffer.baseAddress?.assumingMemoryBound(to: UInt8.self), Int32(buffer.count),
            &transferred, timeoutMilliseconds)
        return (result, transferred)
    }

    /// `libusb_reset_device`.
    public func resetDevice(_ handle: USBDeviceHandle) -> Int32 {
        libusb_reset_device(handle.pointer)
    }
}
