import Glibc
import LinuxIO
import Transports

/// The doctor's probes on the real machine: libgpiod line info, an i2c-dev read of the
/// converter's ID register, libusb enumeration, access(2), uname(2), sysfs, statvfs(3), and a
/// throwaway real-time thread to learn whether SCHED_FIFO and mlockall are permitted. Nothing is
/// requested or written: the doctor can run beside the service.
public final class LiveDoctorProbes: DoctorProbes {
    private let system: any LinuxSystem
    private let usb: any USBSystem

    public init(system: any LinuxSystem = LiveLinuxSystem(), usb: any USBSystem = LiveUSBSystem()) {
        self.system = system
        self.usb = usb
    }

    /// `aliquot_gpio_line_info` on the chip (`gpiod_line_consumer`).
    public func gpioLine(chip: String, offset: Int) -> Result<GPIOLineState, DoctorProbeError> {
        do {
            let opened = try GPIOChip(GPIOChipLocator(parsing: chip), system: system)
            let info = try opened.lineInfo(offset: UInt32(offset))
            return .success(GPIOLineState(consumer: info.consumer))
        } catch {
            let kind: DoctorProbeError.Kind = switch error.reason {
            case .noSuchChip, .noSuchLine: .missing
            case .permissionDenied: .permissionDenied
            default: .other
            }
            return .failure(DoctorProbeError(kind, error.description))
        }
    }

    /// An `I2C_RDWR` of the device ID register (0x20, two bytes: ID then revision).
    public func i2cDeviceID(device: String, address: UInt8) -> Result<UInt8, DoctorProbeError> {
        do throws(I2CError) {
            let bus = try LinuxI2CBus(path: device, system: system)
            var reply: [UInt8] = [0, 0]
            let register: [UInt8] = [Doctor.deviceIDRegister]
            // withUnsafeBytes rethrows untyped: carry the bus's error out as a value.
            let failure: I2CError? = register.withUnsafeBytes { write in
                reply.withUnsafeMutableBytes { read -> I2CError? in
                    do throws(I2CError) {
                        try bus.transfer(address: address, write: write, read: read)
                        return nil
                    } catch {
                        return error
                    }
                }
            }
            if let failure { throw failure }
            try bus.close()
            return .success(reply[0])
        } catch {
            let kind: DoctorProbeError.Kind = switch error.reason {
            case .noSuchBus: .missing
            case .permissionDenied: .permissionDenied
            default: .other
            }
            return .failure(DoctorProbeError(kind, error.description))
        }
    }

    /// `libusb_get_device_list`, then each matching device opened to read its serial number.
    public func usbDevices(vendorID: UInt16) -> Result<[USBDeviceState], DoctorProbeError> {
        let (initialized, context) = usb.initialize()
        guard initialized == 0, let context else {
            return .failure(DoctorProbeError(.other, "libusb_init failed (\(initialized))"))
        }
        defer { usb.exit(context) }
        let (count, list) = usb.getDeviceList(context)
        guard count >= 0 else { return .failure(DoctorProbeError(.other, "libusb_get_device_list failed (\(count))")) }
        defer { usb.freeDeviceList(list, unrefDevices: true) }
        var found: [USBDeviceState] = []
        for device in list.devices {
            let (described, descriptor) = usb.getDeviceDescriptor(device)
            guard described == 0, descriptor.vendorID == vendorID else { continue }
            let (opened, handle) = usb.open(device)
            guard opened == 0, let handle else {
                found.append(USBDeviceState(productID: descriptor.productID, serialNumber: nil, openable: false))
                continue
            }
            var serial: String?
            if descriptor.serialNumberIndex != 0 {
                let (read, text) = usb.getStringDescriptorASCII(handle, index: descriptor.serialNumberIndex)
                if read >= 0 { serial = text }
            }
            usb.close(handle)
            found.append(USBDeviceState(productID: descriptor.productID, serialNumber: serial, openable: true))
        }
        return .success(found)
    }

    /// `access(path, R_OK | W_OK)`.
    public func deviceAccess(path: String) -> DeviceAccess {
        if access(path, R_OK | W_OK) == 0 { return .readWrite }
        return errno == ENOENT ? .missing : .noPermission
    }

    /// `uname(2)` and `/sys/kernel/realtime` (present and "1" on PREEMPT_RT kernels).
    public func kernel() -> KernelFacts {
        var names = utsname()
        uname(&names)
        let release = withUnsafeBytes(of: names.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let version = withUnsafeBytes(of: names.version) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let realtime = Self.readSmallFile("/sys/kernel/realtime")?.hasPrefix("1") ?? false
        return KernelFacts(release: release, version: version, realtime: realtime)
    }

    /// Starts a thread at SCHED_FIFO priority 1 with mlockall, and reports what was refused.
    public func realTimeRefusals() -> [String] {
        do {
            let thread = try RealTimeThread.start(priority: 1, lockMemory: true, system: system) { _ in }
            try thread.join()
            munlockall()
            return thread.warnings.map(\.description)
        } catch {
            return ["cannot start a test thread: \(error)"]
        }
    }

    public func clockSource() -> String? {
        Self.readSmallFile("/sys/devices/system/clocksource/clocksource0/current_clocksource")?
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `statvfs(3)` of `path`, or of its nearest existing parent (the data directory may not
    /// exist before the first run).
    public func freeBytes(path: String) -> Result<UInt64, DoctorProbeError> {
        var candidate = path
        while true {
            var stats = statvfs()
            if statvfs(candidate, &stats) == 0 {
                return .success(UInt64(stats.f_bavail) * UInt64(stats.f_frsize))
            }
            let failure = errno
            guard failure == ENOENT, let slash = candidate.lastIndex(of: "/"), candidate != "/" else {
                return .failure(
                    DoctorProbeError(
                        failure == EACCES ? .permissionDenied : .other,
                        "statvfs \(candidate): \(String(cString: strerror(failure)))"))
            }
            candidate = slash == candidate.startIndex ? "/" : String(candidate[..<slash])
        }
    }

    private static func readSmallFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 256)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension String {
    fileprivate func trimmingCharacters(in _: WhitespaceSet) -> String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text.removeLast() }
        while let first = text.first, first.isWhitespace { text.removeFirst() }
        return String(text)
    }
}

fileprivate enum WhitespaceSet { case whitespacesAndNewlines }
