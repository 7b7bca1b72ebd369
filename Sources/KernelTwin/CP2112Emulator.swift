import Transports

/// A Silicon Labs CP2112 HID USB-to-SMBus bridge with 8 GPIOs (AN495, "CP2112 Interface
/// Specification"), as the kernel's `hid-cp2112` driver uses it: feature reports configure and
/// switch the GPIO pins (0x02 GPIO configuration, 0x03 get, 0x04 set) and report the version
/// (0x05) and SMBus configuration (0x06); interrupt output reports run SMBus transfers (0x10 read,
/// 0x11 write-read, 0x14 write) whose progress is asked with 0x15 and answered with input report
/// 0x16, and whose data is pushed with 0x12 and returned in input report 0x13.
///
/// Pure: no I/O. The gadget passes it each report; it answers with the reports to send back,
/// does the I2C transfers on `bus` (the twin's parts behind the bridge), and tells `onLevels`
/// what the pins drive after every change.
public final class CP2112Emulator {
    public static let vendorID: UInt16 = 0x10C4
    public static let productID: UInt16 = 0xEA90
    /// GET_VERSION_INFO: part number 0x0C, device version 2 (version 1 has no repeated START, so
    /// the driver refuses write-read transfers on it).
    public static let partNumber: UInt8 = 0x0C
    public static let deviceVersion: UInt8 = 0x02

    /// Report IDs (AN495 §4-§5).
    public enum Report {
        public static let gpioConfiguration: UInt8 = 0x02
        public static let gpioGet: UInt8 = 0x03
        public static let gpioSet: UInt8 = 0x04
        public static let versionInformation: UInt8 = 0x05
        public static let smbusConfiguration: UInt8 = 0x06
        public static let dataReadRequest: UInt8 = 0x10
        public static let dataWriteReadRequest: UInt8 = 0x11
        public static let dataReadForceSend: UInt8 = 0x12
        public static let dataReadResponse: UInt8 = 0x13
        public static let dataWriteRequest: UInt8 = 0x14
        public static let transferStatusRequest: UInt8 = 0x15
        public static let transferStatusResponse: UInt8 = 0x16
        public static let cancelTransfer: UInt8 = 0x17
        public static let lockByte: UInt8 = 0x20
        public static let usbConfiguration: UInt8 = 0x21
        public static let manufacturerString: UInt8 = 0x22
        public static let productString: UInt8 = 0x23
        public static let serialString: UInt8 = 0x24
    }

    /// Transfer Status Response status 0 (AN495 Table 11).
    public enum TransferStatus: UInt8, Sendable {
        case idle = 0, busy = 1, complete = 2, error = 3
    }

    /// The HID report descriptor: one vendor-defined application collection with every report
    /// above, 8-bit fields, at the sizes AN495 gives (report ID included in the size).
    public static let reports: [(id: UInt8, kind: UInt8, size: Int)] = [
        // kind: 0xB1 feature, 0x81 input, 0x91 output (the main item's tag byte).
        (0x01, 0xB1, 2), (0x02, 0xB1, 5), (0x03, 0xB1, 2), (0x04, 0xB1, 3), (0x05, 0xB1, 3), (0x06, 0xB1, 14),
        (0x10, 0x91, 64), (0x11, 0x91, 64), (0x12, 0x91, 64), (0x13, 0x81, 64), (0x14, 0x91, 64),
        (0x15, 0x91, 64), (0x16, 0x81, 7), (0x17, 0x91, 64),
        (0x20, 0xB1, 2), (0x21, 0xB1, 10), (0x22, 0xB1, 64), (0x23, 0xB1, 64), (0x24, 0xB1, 64),
    ]

    public static var reportDescriptor: [UInt8] {
        var bytes: [UInt8] = [
            0x06, 0x00, 0xFF,  // Usage Page (Vendor Defined 0xFF00)
            0x09, 0x01,  // Usage (1)
            0xA1, 0x01,  // Collection (Application)
            0x15, 0x00,  // Logical Minimum (0)
            0x26, 0xFF, 0x00,  // Logical Maximum (255)
            0x75, 0x08,  // Report Size (8)
        ]
        for report in reports {
            bytes += [0x85, report.id, 0x95, UInt8(report.size - 1), 0x09, 0x01, report.kind, 0x02]
        }
        bytes.append(0xC0)  // End Collection
        return bytes
    }

    /// The HID class descriptor (HID 1.11 §6.2.1) that goes after the interface descriptor.
    public static var hidDescriptor: [UInt8] {
        let length = reportDescriptor.count
        return [9, 0x21, 0x11, 0x01, 0, 1, 0x22, UInt8(length & 0xFF), UInt8(length >> 8)]
    }

    /// The devices behind the bridge's SMBus side.
    public let bus: any I2CBus
    /// Called with the levels the pins drive (bit n = GPIO.n) whenever they may have changed.
    public var onLevels: ((UInt8) -> Void)?

    /// GPIO configuration (report 0x02): direction (1 = output), drive (1 = push-pull), special
    /// functions. At reset every pin is an open-drain input. The latch starts low: a bridge that
    /// drives SSRs and solenoids must be programmed (one-time ROM) with low latch defaults, because
    /// hid-cp2112 switches a pin to output before it writes the value, and a high latch would pulse
    /// the output at every start.
    public private(set) var directions: UInt8 = 0
    public private(set) var pushPull: UInt8 = 0
    public private(set) var specialFunctions: UInt8 = 0
    public private(set) var latch: UInt8 = 0x00
    /// SMBus configuration (report 0x06 after the ID): 100 kHz, address 0x02, no auto send.
    public private(set) var smbusConfiguration: [UInt8] = [0x00, 0x01, 0x86, 0xA0, 0x02, 0, 0, 0, 0, 0, 0, 0, 0]

    private var status: (status0: TransferStatus, status1: UInt8, length: Int) = (.idle, 0, 0)
    private var readData: [UInt8] = []
    /// SMBus transfers done, and those a part refused, for the gadget's log.
    public private(set) var transfers = 0
    public private(set) var failedTransfers = 0

    public init(bus: any I2CBus) {
        self.bus = bus
    }

    /// What the pins drive: an output drives its latch when push-pull, and only low when open
    /// drain (high is released); an input drives nothing. Released pins read low here because
    /// every output on the reactor's wiring has a pull-down.
    public var drivenLevels: UInt8 { directions & pushPull & latch }

    /// The pins as GPIO get (0x03) reads them: outputs read their driven level, inputs low.
    public var pinLevels: UInt8 { drivenLevels }

    /// A GET_REPORT of feature report `id` for `length` bytes; nil stalls (no such report).
    public func getFeature(_ id: UInt8, length: Int) -> [UInt8]? {
        var data: [UInt8]
        switch id {
        case Report.gpioConfiguration: data = [id, directions, pushPull, specialFunctions, 0]
        case Report.gpioGet: data = [id, pinLevels]
        case Report.versionInformation: data = [id, Self.partNumber, Self.deviceVersion]
        case Report.smbusConfiguration: data = [id] + smbusConfiguration
        case Report.lockByte: data = [id, 0xFF]  // nothing programmed, nothing locked
        case Report.usbConfiguration:
            data = [id, UInt8(Self.vendorID & 0xFF), UInt8(Self.vendorID >> 8), UInt8(Self.productID & 0xFF), UInt8(Self.productID >> 8), 50, 0, 0x01, 0, 0]
        case Report.manufacturerString: data = Self.stringReport(id, "Silicon Labs")
        case Report.productString: data = Self.stringReport(id, "CP2112 HID USB-to-SMBus Bridge")
        case Report.serialString: data = Self.stringReport(id, "ALIQUOTVM")
        default: return nil
        }
        guard length > 0 else { return nil }
        if data.count < length { data += [UInt8](repeating: 0, count: length - data.count) }
        return Array(data.prefix(length))
    }

    /// A SET_REPORT of a feature report (`data[0]` is the ID). False stalls it.
    public func setFeature(_ data: [UInt8]) -> Bool {
        guard let id = data.first else { return false }
        switch id {
        case Report.gpioConfiguration where data.count >= 4:
            directions = data[1]
            pushPull = data[2]
            specialFunctions = data[3]
        case Report.gpioSet where data.count >= 3:
            let mask = data[2]
            latch = latch & ~mask | data[1] & mask
        case Report.smbusConfiguration where data.count >= 14:
            smbusConfiguration = Array(data[1..<14])
        case Report.lockByte, Report.usbConfiguration, Report.manufacturerString, Report.productString,
            Report.serialString:
            return true  // one-time programmable: accepted and ignored, as on a locked part
        default:
            return false
        }
        onLevels?(drivenLevels)
        return true
    }

    /// Whether `report` starts an SMBus transfer (reaching the parts behind the bridge).
    public static func startsTransfer(_ report: [UInt8]) -> Bool {
        guard let id = report.first else { return false }
        return id == Report.dataReadRequest || id == Report.dataWriteReadRequest || id == Report.dataWriteRequest
    }

    /// An interrupt OUT (output) report; returns the input reports to send on interrupt IN.
    public func output(_ report: [UInt8]) -> [[UInt8]] {
        guard let id = report.first else { return [] }
        switch id {
        case Report.dataReadRequest where report.count >= 4:
            let length = Int(report[2]) << 8 | Int(report[3])
            run(address: report[1] >> 1, write: [], readLength: length)
            return []
        case Report.dataWriteReadRequest where report.count >= 5:
            let length = Int(report[2]) << 8 | Int(report[3])
            let writeLength = Int(report[4])
            guard writeLength >= 1 && writeLength <= 16 && report.count >= 5 + writeLength else {
                status = (.error, 0x04, 0)  // invalid request
                return []
            }
            run(address: report[1] >> 1, write: Array(report[5..<(5 + writeLength)]), readLength: length)
            return []
        case Report.dataWriteRequest where report.count >= 3:
            let length = Int(report[2])
            guard length >= 1 && length <= 61 && report.count >= 3 + length else {
                status = (.error, 0x04, 0)
                return []
            }
            run(address: report[1] >> 1, write: Array(report[3..<(3 + length)]), readLength: 0)
            return []
        case Report.transferStatusRequest:
            let retries: UInt16 = 0
            let length = UInt16(status.length)
            let answer: [UInt8] = [
                Report.transferStatusResponse, status.status0.rawValue, status.status1,
                UInt8(retries >> 8), UInt8(retries & 0xFF), UInt8(length >> 8), UInt8(length & 0xFF),
            ]
            if status.status0 == .error { status = (.idle, 0, 0) }
            return [answer]
        case Report.dataReadForceSend where report.count >= 3:
            let asked = Int(report[1]) << 8 | Int(report[2])
            var answers: [[UInt8]] = []
            var remaining = min(asked, readData.count)
            while remaining > 0 {
                let chunk = min(remaining, 61)
                let bytes = Array(readData.prefix(chunk))
                readData.removeFirst(chunk)
                remaining -= chunk
                let statusByte: UInt8 = readData.isEmpty ? TransferStatus.complete.rawValue : TransferStatus.busy.rawValue
                answers.append(Self.padded([Report.dataReadResponse, statusByte, UInt8(chunk)] + bytes, to: 64))
            }
            if readData.isEmpty && status.status0 == .complete { status = (.idle, 0, 0) }
            return answers
        case Report.cancelTransfer:
            readData = []
            status = (.idle, 0, 0)
            return []
        default:
            return []
        }
    }

    /// One SMBus transfer on the twin's bus; its outcome waits for a transfer status request.
    private func run(address: UInt8, write: [UInt8], readLength: Int) {
        transfers += 1
        var read = [UInt8](repeating: 0, count: readLength)
        let outcome = write.withUnsafeBytes { writeBytes in
            read.withUnsafeMutableBytes { readBytes in
                Result { () throws(I2CError) in try bus.transfer(address: address, write: writeBytes, read: readBytes) }
            }
        }
        switch outcome {
        case .success:
            readData = read
            status = (.complete, 0x05, readLength)  // status 1: "completed successfully" (AN495 Table 12)
        case .failure(let error):
            failedTransfers += 1
            readData = []
            // Status 1: 0x00 timeout, address NACKed; 0x03 bus error.
            let detail: UInt8 = error.reason == .noAcknowledge ? 0x00 : 0x03
            status = (.error, detail, 0)
        }
    }

    private static func stringReport(_ id: UInt8, _ text: String) -> [UInt8] {
        let utf16 = Array(text.utf16.prefix(30))
        var bytes: [UInt8] = [id, UInt8(utf16.count * 2 + 2), 0x03]
        for unit in utf16 { bytes += [UInt8(unit & 0xFF), UInt8(unit >> 8)] }
        return bytes
    }

    private static func padded(_ bytes: [UInt8], to size: Int) -> [UInt8] {
        bytes.count >= size ? bytes : bytes + [UInt8](repeating: 0, count: size - bytes.count)
    }
}
