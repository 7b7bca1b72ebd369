import Config

/// One thing `aliquot doctor` found, with what to do about it.
public struct DoctorFinding: Equatable, Sendable, CustomStringConvertible {
    public enum Level: String, Equatable, Sendable, Comparable {
        case ok
        case warning
        case failure

        private var rank: Int {
            switch self {
            case .ok: 0
            case .warning: 1
            case .failure: 2
            }
        }

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rank < rhs.rank }
    }

    public var level: Level
    /// The part or facility checked: `heater.reactor`, `kernel`, `journal disk`.
    public var subject: String
    /// What was found.
    public var detail: String
    /// What to do, when something is wrong.
    public var advice: String?

    public init(_ level: Level, _ subject: String, _ detail: String, advice: String? = nil) {
        self.level = level
        self.subject = subject
        self.detail = detail
        self.advice = advice
    }

    public var description: String {
        let mark = switch level {
        case .ok: "ok  "
        case .warning: "warn"
        case .failure: "FAIL"
        }
        return "[\(mark)] \(subject): \(detail)" + (advice.map { "\n       -> \($0)" } ?? "")
    }
}

/// What the doctor asks of the machine. The live probes read the kernel (Sources/Rig/DoctorProbes.swift);
/// tests give canned answers.
public protocol DoctorProbes {
    /// The line at `offset` of the chip named by `chip` (label, name or path): its consumer if
    /// held, or why it cannot be looked at (no such chip, no access).
    func gpioLine(chip: String, offset: Int) -> Result<GPIOLineState, DoctorProbeError>
    /// The MCP9600 family's device ID register (0x20) read at `address` on the bus `device`.
    func i2cDeviceID(device: String, address: UInt8) -> Result<UInt8, DoctorProbeError>
    /// The USB devices with `vendorID`: product, serial number (when readable) and whether this
    /// user may open them.
    func usbDevices(vendorID: UInt16) -> Result<[USBDeviceState], DoctorProbeError>
    /// Whether `path` exists and this user may read and write it (serial ports).
    func deviceAccess(path: String) -> DeviceAccess
    /// The kernel's release, version string and whether it is PREEMPT_RT (`/sys/kernel/realtime`).
    func kernel() -> KernelFacts
    /// Why SCHED_FIFO and mlockall would be refused to this process (empty: both permitted).
    func realTimeRefusals() -> [String]
    /// The current clock source (`/sys/devices/system/clocksource/clocksource0/current_clocksource`).
    func clockSource() -> String?
    /// Bytes free to this user at `path` (or its nearest existing parent).
    func freeBytes(path: String) -> Result<UInt64, DoctorProbeError>
}

public struct GPIOLineState: Equatable, Sendable {
    public var consumer: String?
    public init(consumer: String?) { self.consumer = consumer }
}

public struct USBDeviceState: Equatable, Sendable {
    public var productID: UInt16
    public var serialNumber: String?
    public var openable: Bool
    public init(productID: UInt16, serialNumber: String?, openable: Bool) {
        self.productID = productID
        self.serialNumber = serialNumber
        self.openable = openable
    }
}

public enum DeviceAccess: Equatable, Sendable {
    case readWrite
    case noPermission
    case missing
}

public struct KernelFacts: Equatable, Sendable {
    public var release: String
    public var version: String
    public var realtime: Bool
    public init(release: String, version: String, realtime: Bool) {
        self.release = release
        self.version = version
        self.realtime = realtime
    }
}

/// Why a probe could not look: a missing device, no permission, or another errno.
public struct DoctorProbeError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        case missing
        case permissionDenied
        case other
    }

    public var kind: Kind
    public var detail: String
    public init(_ kind: Kind, _ detail: String) {
        self.kind = kind
        self.detail = detail
    }

    public var description: String { detail }
}

/// `aliquot doctor`: checks a board file's wiring and the machine's fitness to run it, and says
/// what to do about each problem. The board's own consistency was checked when it loaded.
public struct Doctor {
    /// The journal needs room for weeks of spectra.
    public static let minimumFreeBytes: UInt64 = 1 << 30
    /// The MCP9600/MCP9601 device ID register (datasheet §5.1.7, register 0x20): 0x40 / 0x41.
    static let deviceIDRegister: UInt8 = 0x20

    public let board: BoardFile
    public let probes: any DoctorProbes
    /// Where the journal and results go (`/var/lib/aliquot` on the board).
    public let dataDirectory: String

    public init(board: BoardFile, probes: any DoctorProbes, dataDirectory: String) {
        self.board = board
        self.probes = probes
        self.dataDirectory = dataDirectory
    }

    /// Every finding, in the order a person would check: outputs, sensors, USB, kernel, disk.
    public func diagnose() -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        if board.transport == .twin {
            findings.append(
                DoctorFinding(
                    .ok, "board", "\(board.path) runs on the digital twin: no hardware to check",
                    advice: nil))
        } else {
            findings += board.outputs.map(checkOutput)
            findings += board.thermocouples.map(checkThermocouple)
            findings += checkSpectrometers()
        }
        findings += checkMachine()
        return findings
    }

    private func checkOutput(_ output: OutputConfig) -> DoctorFinding {
        let place = "\(output.line.chip) line \(output.line.offset)"
        switch probes.gpioLine(chip: output.line.chip, offset: output.line.offset) {
        case .success(let line):
            if let consumer = line.consumer, !consumer.hasPrefix("aliquot") {
                return DoctorFinding(
                    .failure, output.id, "\(place) is held by \"\(consumer)\"",
                    advice: "free it: remove the overlay or driver that claims it (gpioinfo shows the holder), or wire \(output.id) to a free line")
            }
            let holder = line.consumer.map { " (held by \($0): the service is running)" } ?? " and free"
            return DoctorFinding(.ok, output.id, "\(place) present\(holder)")
        case .failure(let error):
            return DoctorFinding(.failure, output.id, "\(place): \(error)", advice: advice(for: error, device: "gpiochip"))
        }
    }

    private func checkThermocouple(_ thermocouple: ThermocoupleConfig) -> DoctorFinding {
        let subject = "thermocouple.\(thermocouple.name)"
        guard let device = board.i2cBuses.first(where: { $0.name == thermocouple.bus })?.device else {
            return DoctorFinding(.failure, subject, "bus \(thermocouple.bus) has no device path")
        }
        let address = "0x" + String(thermocouple.address, radix: 16)
        let expected: UInt8 = thermocouple.part == .mcp9601 ? 0x41 : 0x40
        switch probes.i2cDeviceID(device: device, address: thermocouple.address) {
        case .success(let id) where id == expected:
            return DoctorFinding(.ok, subject, "\(thermocouple.part.rawValue) answers at \(address) on \(device)")
        case .success(let id):
            return DoctorFinding(
                .failure, subject,
                "the device at \(address) on \(device) reports ID 0x\(String(id, radix: 16)), not 0x\(String(expected, radix: 16)) (\(thermocouple.part.rawValue))",
                advice: "check the ADDR strap and the part named in the board file")
        case .failure(let error):
            return DoctorFinding(.failure, subject, "\(address) on \(device): \(error)", advice: advice(for: error, device: "i2c"))
        }
    }

    private func checkSpectrometers() -> [DoctorFinding] {
        guard !board.spectrometers.isEmpty else { return [] }
        let found: [USBDeviceState]
        switch probes.usbDevices(vendorID: 0x2457) {
        case .success(let devices): found = devices
        case .failure(let error):
            return [DoctorFinding(.failure, "usb", "cannot list USB devices: \(error)", advice: "is libusb's usbfs (/dev/bus/usb) present?")]
        }
        return board.spectrometers.map { spectrometer in
            let matches = found.filter {
                $0.productID == spectrometer.model.productID
                    && (spectrometer.serialNumber == nil || $0.serialNumber == spectrometer.serialNumber)
            }
            let name = "\(spectrometer.model.rawValue)" + (spectrometer.serialNumber.map { " \($0)" } ?? "")
            guard let device = matches.first else {
                return DoctorFinding(
                    .failure, spectrometer.id, "no \(name) (2457:\(String(spectrometer.model.productID, radix: 16))) on USB",
                    advice: "plug it in; `lsusb -d 2457:` lists Ocean Optics devices")
            }
            guard device.openable else {
                return DoctorFinding(
                    .failure, spectrometer.id, "\(name) is present but this user may not open it",
                    advice: "install the package's udev rules (60-aliquot.rules) and add the user to group aliquot")
            }
            return DoctorFinding(.ok, spectrometer.id, "\(name) present and accessible")
        }
    }

    private func checkMachine() -> [DoctorFinding] {
        var findings: [DoctorFinding] = []
        let kernel = probes.kernel()
        if kernel.realtime {
            findings.append(DoctorFinding(.ok, "kernel", "\(kernel.release) is PREEMPT_RT"))
        } else if kernel.version.contains("PREEMPT") {
            findings.append(
                DoctorFinding(
                    .ok, "kernel", "\(kernel.release) is preemptible (\(kernel.version)); control periods of 100 ms need no more"))
        } else {
            findings.append(
                DoctorFinding(
                    .warning, "kernel", "\(kernel.release) is not preemptible (\(kernel.version))",
                    advice: "use a PREEMPT or PREEMPT_RT kernel (Raspberry Pi OS kernels are PREEMPT) for steady control timing"))
        }
        let refusals = probes.realTimeRefusals()
        if refusals.isEmpty {
            findings.append(DoctorFinding(.ok, "real-time", "SCHED_FIFO and mlockall are permitted"))
        } else {
            findings += refusals.map {
                DoctorFinding(
                    .warning, "real-time", $0,
                    advice: "the systemd unit grants CAP_SYS_NICE and CAP_IPC_LOCK; by hand, run as that service")
            }
        }
        if let source = probes.clockSource() {
            let steady = ["arch_sys_counter", "tsc", "kvm-clock"].contains(source)
            findings.append(
                DoctorFinding(
                    steady ? .ok : .warning, "clock source", source,
                    advice: steady ? nil : "a jiffies or unstable clock source makes deadlines coarse; check the kernel's clocksource"))
        } else {
            findings.append(DoctorFinding(.warning, "clock source", "cannot read the current clock source"))
        }
        switch probes.freeBytes(path: dataDirectory) {
        case .success(let bytes):
            let gigabytes = Double(bytes) / Double(1 << 30)
            let text = "\(Int(gigabytes * 10) / 10).\(Int(gigabytes * 10) % 10) GiB free at \(dataDirectory)"
            findings.append(
                bytes >= Self.minimumFreeBytes
                    ? DoctorFinding(.ok, "journal disk", text)
                    : DoctorFinding(.failure, "journal disk", text, advice: "free space or move the journal: the rig stops taking campaigns when it is full"))
        case .failure(let error):
            findings.append(DoctorFinding(.failure, "journal disk", "\(dataDirectory): \(error)", advice: advice(for: error, device: "data directory")))
        }
        return findings
    }

    private func advice(for error: DoctorProbeError, device: String) -> String {
        switch error.kind {
        case .missing:
            switch device {
            case "gpiochip": return "is this the board the file is for? `gpiodetect` lists the chips and their labels"
            case "i2c": return "enable the bus (dtparam=i2c_arm=on in config.txt) and load i2c-dev; `i2cdetect -l` lists buses"
            default: return "create it (the package makes /var/lib/aliquot)"
            }
        case .permissionDenied:
            return "install the package's udev rules (60-aliquot.rules) and add the user to group aliquot, or run as the aliquot service"
        case .other:
            return "see the error; `aliquot monitor` shows the same device in use"
        }
    }
}
