import Transports

/// Ocean Optics USB2000+ / FLAME-S (2457:101E) and USB4000 (2457:1022) spectrometers on the OOI
/// USB protocol (PROTOCOLS.md §1; the Flame, USB2000+ and USB4000 installation and operation
/// manuals; python-seabreeze's OOI protocol as a second reading).
///
/// `open(integrationMicroseconds:triggerMode:)` initializes the part (0x01, then 100 ms), tells
/// FLAME-S from USB2000+ by the FPGA firmware's major version (0x6B register 0x04, bits 15..12:
/// 3 or more is a FLAME-S), checks the pixel count and learns the USB speed from the status
/// (0xFE), reads the calibration from the information slots (0x05: serial number 0, wavelength
/// coefficients 1..4, nonlinearity 6..13 with its order in 14, saturation level in 17), and sets
/// the integration time (0x02, clamped to the model's limits), the trigger mode (0x0A) and the
/// lamp output (0x03). `read(into:)` requests a spectrum (0x09), reads it (4097 bytes from 0x82;
/// the USB4000 at high speed 2048 from 0x86 then 5633 from 0x82), however the bytes are split
/// into transfers, checks the sync byte 0x69 and applies the corrections.
///
/// Timeouts: commands and replies 1 s; a spectrum the integration time plus 1 s (the part sends
/// nothing until its integration ends).
///
/// Recovery (`SpectrumReadRecovery`): a lost sync byte, an overflow, a timeout, a stall or an I/O
/// error first drains whatever is queued, clears the halts, initializes and configures the part
/// again and retries; a second failure resets the USB port (re-enumerating if the device does)
/// and retries; a third gives up with the whole history. A device found gone (unplugged) is
/// reported at once as `.deviceAbsent`; the next call looks for it again and, when it is back,
/// configures it from scratch (the transport's `connectionNumber` changed) before going on. After
/// giving up, the next read drains and reinitializes first, so no stale spectrum is returned.
///
/// Corrections (`correct(raw:...)`, PROTOCOLS.md §1): the electric dark is the mean of the
/// model's shielded pixels; x = raw − dark; the nonlinearity correction x / (k0 + k1·x + ... +
/// kn·xⁿ); the saturation scaling × 65535 / level, clamped at 65535. A pixel whose raw count
/// reached the saturation level is flagged.
///
/// The per-spectrum path allocates nothing: the command, reply and transfer buffers are
/// allocated in `init`, and `read(into:)` fills the caller's reading in place. Not thread-safe:
/// one owner.
public final class OceanOpticsSpectrometer {
    /// The models and their protocol facts.
    public enum Model: String, Equatable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case usb2000Plus = "USB2000+"
        case flameS = "FLAME-S"
        case usb4000 = "USB4000"

        public static let vendorID: UInt16 = 0x2457

        /// USB product ID: USB2000+ and FLAME-S share 0x101E.
        public var productID: UInt16 { self == .usb4000 ? 0x1022 : 0x101E }
        /// Pixels transferred per spectrum (the USB4000's 3840 hold its 3648 active ones).
        public var pixelCount: Int { self == .usb4000 ? 3840 : 2048 }
        /// Bytes of one spectrum: two per pixel, then the sync byte.
        public var spectrumBytes: Int { pixelCount * 2 + 1 }
        /// The optically shielded pixels whose mean is the electric dark.
        public var electricDarkPixels: ClosedRange<Int> { self == .usb4000 ? 5...15 : 6...20 }
        /// Pixels that see light, as written to files: for USB2000+/FLAME-S the 2028 after the
        /// first 20 (the published platform's crop, `data/cdse/*_wavelengths.csv`); for the USB4000
        /// the TCD1304's 3648 active pixels (UNVERIFIED: their place in the 3840).
        public var opticalPixels: Range<Int> { self == .usb4000 ? 22..<3670 : 20..<2048 }
        /// Integration time limits, µs: USB2000+/FLAME-S 1 ms, USB4000 10 µs; 65 s (the datasheet;
        /// libseabreeze allows 655 s).
        public var integrationLimits: ClosedRange<Int> { self == .usb4000 ? 10...65_000_000 : 1000...65_000_000 }
        /// Endpoints whose halts are cleared on opening.
        public var endpointsToClear: [UInt8] { self == .usb4000 ? [0x01, 0x81, 0x82, 0x86] : [0x01, 0x81, 0x82] }

        /// The model an FPGA firmware version names, for a part with this model's product ID.
        public func identified(byFPGAVersion version: UInt16) -> Model {
            guard self != .usb4000 else { return .usb4000 }
            return version >> 12 >= 3 ? .flameS : .usb2000Plus
        }

        public var description: String { rawValue }
    }

    /// Trigger modes of opcode 0x0A.
    public enum TriggerMode: UInt16, Equatable, Sendable, CaseIterable {
        case normal = 0
        case software = 1
        case externalSync = 2
        case externalHardware = 3
    }

    /// Opcodes (PROTOCOLS.md §1).
    public enum Opcode {
        public static let initialize: UInt8 = 0x01
        public static let setIntegrationTime: UInt8 = 0x02
        public static let setLamp: UInt8 = 0x03
        public static let queryInformation: UInt8 = 0x05
        public static let requestSpectrum: UInt8 = 0x09
        public static let setTriggerMode: UInt8 = 0x0A
        public static let readFPGARegister: UInt8 = 0x6B
        public static let queryStatus: UInt8 = 0xFE
    }

    /// Endpoints.
    public enum Endpoint {
        public static let command: UInt8 = 0x01
        public static let reply: UInt8 = 0x81
        public static let spectrum: UInt8 = 0x82
        /// USB4000 at high speed: the first 2048 bytes of a spectrum.
        public static let spectrumFirstPart: UInt8 = 0x86
    }

    /// The sync byte that ends every spectrum.
    public static let syncByte: UInt8 = 0x69
    /// FPGA register 0x04: firmware version, major in bits 15..12.
    public static let firmwareVersionRegister: UInt8 = 0x04
    /// Timeout of a command or a reply.
    public static let commandTimeoutMilliseconds = 1000
    /// What a spectrum read waits beyond the integration time.
    public static let spectrumTimeoutMarginMilliseconds = 1000
    /// What a drain read waits: queued data comes at once.
    public static let drainTimeoutMilliseconds = 20
    /// The wait after initialize (0x01).
    public static let initializeSettleNanoseconds: Int64 = 100_000_000

    /// What the part said it is, during `open`.
    public struct Identity: Equatable, Sendable {
        /// The model the product ID and the FPGA firmware version name.
        public var model: Model
        /// Information slot 0.
        public var serialNumber: String
        /// FPGA register 0x04.
        public var fpgaVersion: UInt16
        /// Status byte 14: high speed (512-byte packets) rather than full speed.
        public var highSpeed: Bool

        public init(model: Model, serialNumber: String, fpgaVersion: UInt16, highSpeed: Bool) {
            self.model = model
            self.serialNumber = serialNumber
            self.fpgaVersion = fpgaVersion
            self.highSpeed = highSpeed
        }
    }

    /// The query-status reply (0xFE), 16 bytes.
    public struct Status: Equatable, Sendable {
        /// Bytes 0..1.
        public var pixelCount: Int
        /// Bytes 2..5.
        public var integrationMicroseconds: Int
        /// Byte 6.
        public var lampEnabled: Bool
        /// Byte 7.
        public var triggerMode: UInt8
        /// Byte 8: a spectrum is being acquired or waits to be read.
        public var acquiring: Bool
        /// Byte 9.
        public var packetsPerSpectrum: Int
        /// Byte 10.
        public var poweredUp: Bool
        /// Byte 11.
        public var packetsInMemory: Int
        /// Byte 14: 0x80 high speed, 0x00 full speed.
        public var highSpeed: Bool

        /// Decodes the 16-byte reply.
        public init(reply bytes: UnsafeRawBufferPointer) {
            precondition(bytes.count >= 16, "the status reply has 16 bytes")
            pixelCount = Int(bytes[0]) | Int(bytes[1]) << 8
            integrationMicroseconds = Int(bytes[2]) | Int(bytes[3]) << 8 | Int(bytes[4]) << 16 | Int(bytes[5]) << 24
            lampEnabled = bytes[6] != 0
            triggerMode = bytes[7]
            acquiring = bytes[8] != 0
            packetsPerSpectrum = Int(bytes[9])
            poweredUp = bytes[10] != 0
            packetsInMemory = Int(bytes[11])
            highSpeed = bytes[14] == 0x80
        }
    }

    /// What the information slots hold.
    public struct Calibration: Equatable, Sendable {
        /// Slot 0.
        public var serialNumber: String
        /// Slots 1..4: λ(p) = c0 + c1·p + c2·p² + c3·p³ for transferred pixel p, nm.
        public var wavelengthCoefficients: [Double]
        /// Slots 6..(6 + order): k0 ... kn. Empty when the part has none programmed (k0 of 0).
        public var nonlinearityCoefficients: [Double]
        /// Slot 17, uint16 LE at reply bytes 6..7; 65535 when unprogrammed (0).
        public var saturationLevel: Int

        public init(serialNumber: String, wavelengthCoefficients: [Double], nonlinearityCoefficients: [Double], saturationLevel: Int) {
            precondition(wavelengthCoefficients.count == 4, "c0 ... c3")
            precondition(saturationLevel > 0 && saturationLevel <= 65_535, "saturation level 1...65535")
            self.serialNumber = serialNumber
            self.wavelengthCoefficients = wavelengthCoefficients
            self.nonlinearityCoefficients = nonlinearityCoefficients
            self.saturationLevel = saturationLevel
        }

        /// λ(p), nm.
        public func wavelength(atPixel pixel: Int) -> Double {
            let p = Double(pixel)
            let c = wavelengthCoefficients
            return c[0] + p * (c[1] + p * (c[2] + p * c[3]))
        }
    }

    public let device: any USBBulkDevice
    public let model: Model
    public let clock: any RigClock
    /// Set by `open`.
    public private(set) var identity: Identity?
    public private(set) var calibration: Calibration?
    /// The integration time the part was last given (after clamping), µs.
    public private(set) var integrationMicroseconds: Int = 0
    public private(set) var triggerMode: TriggerMode = .normal
    public private(set) var lampEnabled = false
    /// Spectra read, and recoveries taken (drain and reinitialize, or reset).
    public private(set) var spectraRead = 0
    public private(set) var recoveries = 0
    /// Times the part was configured from scratch after a reconnection or reset.
    public private(set) var reconfigurations = 0
    /// Where spectra come from at full speed. UNVERIFIED (PROTOCOLS.md §1): the manual says 0x82,
    /// python-seabreeze reads 0x81; 0x82 here.
    public var fullSpeedSpectrumEndpoint: UInt8 = Endpoint.spectrum

    /// The transport's connection the part was configured on; nil before `open`.
    private var configuredConnection: Int?
    /// Set when a read gave up: what it left queued must be drained before the next request, or
    /// the next read would return a stale spectrum.
    private var mustResynchronize = false
    private var isOpened = false
    private let command: UnsafeMutableRawBufferPointer
    private let reply: UnsafeMutableRawBufferPointer
    /// One spectrum, rounded up to whole 512-byte packets so a drain never overflows.
    private let transfer: UnsafeMutableRawBufferPointer

    /// A driver for `model` on `device`; talks to nothing until `open`. `clock` times the wait
    /// after initialize.
    public init(device: any USBBulkDevice, model: Model, clock: any RigClock) {
        self.device = device
        self.model = model
        self.clock = clock
        command = .allocate(byteCount: 8, alignment: 8)
        command.initializeMemory(as: UInt8.self, repeating: 0)
        reply = .allocate(byteCount: 64, alignment: 8)
        reply.initializeMemory(as: UInt8.self, repeating: 0)
        let rounded = (model.spectrumBytes + 511) / 512 * 512
        transfer = .allocate(byteCount: rounded, alignment: 8)
        transfer.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        command.deallocate()
        reply.deallocate()
        transfer.deallocate()
    }

    /// `integrationMicroseconds` within the model's limits.
    public static func clampedIntegration(_ microseconds: Int, model: Model) -> Int {
        min(max(microseconds, model.integrationLimits.lowerBound), model.integrationLimits.upperBound)
    }

    /// The timeout of a spectrum read at `integrationMicroseconds`: the integration plus 1 s.
    public static func spectrumTimeoutMilliseconds(integrationMicroseconds: Int) -> Int {
        (integrationMicroseconds + 999) / 1000 + spectrumTimeoutMarginMilliseconds
    }

    // MARK: - Opening and configuring

    /// Initializes and identifies the part, reads its calibration and applies the settings (see
    /// the type's notes). The integration time is clamped to the model's limits.
    @discardableResult
    public func open(integrationMicroseconds: Int, triggerMode: TriggerMode = .normal, lampEnabled: Bool = false)
        throws(OceanOpticsError) -> Identity
    {
        self.integrationMicroseconds = Self.clampedIntegration(integrationMicroseconds, model: model)
        self.triggerMode = triggerMode
        self.lampEnabled = lampEnabled
        isOpened = true
        try configure()
        guard let identity else { preconditionFailure("configure() sets the identity") }
        return identity
    }

    /// Everything a freshly powered, reset or reconnected part needs.
    private func configure() throws(OceanOpticsError) {
        try initialize()
        let version = try readFPGARegister(Self.firmwareVersionRegister)
        let found = model.identified(byFPGAVersion: version)
        guard found == model else {
            throw error("identify", .modelMismatch(expected: model, found: found, fpgaVersion: version))
        }
        let status = try queryStatus()
        guard status.pixelCount == model.pixelCount else {
            throw error("query status", .pixelCountMismatch(expected: model.pixelCount, reported: status.pixelCount))
        }
        let calibration = try readCalibration()
        self.calibration = calibration
        identity = Identity(model: found, serialNumber: calibration.serialNumber, fpgaVersion: version, highSpeed: status.highSpeed)
        try sendIntegrationTime()
        try send(Opcode.setTriggerMode, uint16: triggerMode.rawValue, operation: "set trigger mode")
        try send(Opcode.setLamp, uint16: lampEnabled ? 1 : 0, operation: "set lamp")
        if configuredConnection != nil { reconfigurations += 1 }
        configuredConnection = device.connectionNumber
    }

    /// Reconnects when the device was found gone, and configures it again when the connection
    /// changed (replugged, reset) since it was last configured.
    private func ensureReady() throws(OceanOpticsError) {
        precondition(isOpened, "OceanOpticsSpectrometer on \(device.name): use open() first")
        if !device.isConnected {
            do {
                try device.connect()
            } catch {
                throw self.error("reconnect", error.isDeviceAbsent ? .deviceAbsent(error) : .usb(error))
            }
        }
        if configuredConnection != device.connectionNumber {
            try configure()
            mustResynchronize = false
        }
        if mustResynchronize {
            do throws(AttemptFailure) {
                try drain()
            } catch {
                throw self.error("resynchronize", error.usb.map { $0.isDeviceAbsent ? .deviceAbsent($0) : .usb($0) }
                    ?? .spectrumUnreadable(failures: [error.kind], detail: "draining failed"))
            }
            try configure()
            mustResynchronize = false
        }
    }

    /// Opcode 0x01, then the part's settling time.
    public func initialize() throws(OceanOpticsError) {
        try send(Opcode.initialize, operation: "initialize")
        do {
            try clock.sleep(until: clock.now().adding(nanoseconds: Self.initializeSettleNanoseconds))
        } catch {
            throw self.error("initialize", .clock(error))
        }
    }

    /// Sets the integration time (opcode 0x02, uint32 µs LE), clamped to the model's limits.
    /// Returns the time applied.
    @discardableResult
    public func setIntegrationTime(microseconds: Int) throws(OceanOpticsError) -> Int {
        precondition(isOpened, "OceanOpticsSpectrometer on \(device.name): use open() first")
        integrationMicroseconds = Self.clampedIntegration(microseconds, model: model)
        try ensureReady()
        try sendIntegrationTime()
        return integrationMicroseconds
    }

    private func sendIntegrationTime() throws(OceanOpticsError) {
        let value = UInt32(integrationMicroseconds)
        command[0] = Opcode.setIntegrationTime
        command[1] = UInt8(value & 0xFF)
        command[2] = UInt8((value >> 8) & 0xFF)
        command[3] = UInt8((value >> 16) & 0xFF)
        command[4] = UInt8(value >> 24)
        try write(count: 5, operation: "set integration time")
    }

    /// Sets the trigger mode (opcode 0x0A, uint16 LE).
    public func setTriggerMode(_ mode: TriggerMode) throws(OceanOpticsError) {
        precondition(isOpened, "OceanOpticsSpectrometer on \(device.name): use open() first")
        triggerMode = mode
        try ensureReady()
        try send(Opcode.setTriggerMode, uint16: mode.rawValue, operation: "set trigger mode")
    }

    /// Switches the lamp output (opcode 0x03, uint16 0/1): on the rig it drives the lamp's TTL
    /// shutter or the LED, so off gives a dark spectrum.
    public func setLamp(enabled: Bool) throws(OceanOpticsError) {
        precondition(isOpened, "OceanOpticsSpectrometer on \(device.name): use open() first")
        lampEnabled = enabled
        try ensureReady()
        try send(Opcode.setLamp, uint16: enabled ? 1 : 0, operation: "set lamp")
    }

    // MARK: - Queries

    /// Opcode 0xFE: the 16-byte status.
    public func queryStatus() throws(OceanOpticsError) -> Status {
        command[0] = Opcode.queryStatus
        try query(writeCount: 1, replyCount: 16, operation: "query status") { _ in true }
        return Status(reply: UnsafeRawBufferPointer(rebasing: reply[0..<16]))
    }

    /// Opcode 0x6B: an FPGA register (the reply echoes the register, then the uint16 LE value).
    public func readFPGARegister(_ register: UInt8) throws(OceanOpticsError) -> UInt16 {
        command[0] = Opcode.readFPGARegister
        command[1] = register
        try query(writeCount: 2, replyCount: 3, operation: "read FPGA register 0x\(hex(register))") { $0[0] == register }
        return UInt16(reply[1]) | UInt16(reply[2]) << 8
    }

    /// Opcode 0x05: the 15 data bytes of information slot `slot` (the reply echoes 0x05 and the slot).
    public func queryInformation(slot: UInt8) throws(OceanOpticsError) -> [UInt8] {
        command[0] = Opcode.queryInformation
        command[1] = slot
        try query(writeCount: 2, replyCount: 17, operation: "query information slot \(slot)") {
            $0[0] == Opcode.queryInformation && $0[1] == slot
        }
        return Array(reply[2..<17])
    }

    /// Information slot `slot` as text (ASCII up to the first NUL, spaces trimmed).
    public func queryInformationText(slot: UInt8) throws(OceanOpticsError) -> String {
        Self.slotText(try queryInformation(slot: slot))
    }

    /// The calibration from slots 0, 1..4, 6..14 and 17.
    public func readCalibration() throws(OceanOpticsError) -> Calibration {
        let serial = try queryInformationText(slot: 0)
        var wavelength: [Double] = []
        for slot in UInt8(1)...4 { wavelength.append(try number(inSlot: slot)) }
        let orderText = try queryInformationText(slot: 14)
        guard let order = Int(orderText), (0...7).contains(order) else {
            throw error("read calibration", .invalidCalibration(slot: 14, text: orderText))
        }
        var nonlinearity: [Double] = []
        for index in 0...order { nonlinearity.append(try number(inSlot: UInt8(6 + index))) }
        // k0 of 0 (or less) is an unprogrammed slot: no correction rather than a division by ~0.
        if (nonlinearity.first ?? 0) <= 0 { nonlinearity = [] }
        let saturationBytes = try queryInformation(slot: 17)
        let level = Int(saturationBytes[4]) | Int(saturationBytes[5]) << 8
        return Calibration(
            serialNumber: serial, wavelengthCoefficients: wavelength, nonlinearityCoefficients: nonlinearity,
            saturationLevel: level == 0 ? 65_535 : level)
    }

    private func number(inSlot slot: UInt8) throws(OceanOpticsError) -> Double {
        let text = try queryInformationText(slot: slot)
        guard let value = Double(text), value.isFinite else {
            throw error("read calibration", .invalidCalibration(slot: slot, text: text))
        }
        return value
    }

    /// ASCII up to the first NUL, without surrounding spaces.
    public static func slotText(_ bytes: [UInt8]) -> String {
        let text = bytes.prefix { $0 != 0 }
        var trimmed = text[...]
        while let first = trimmed.first, first == 0x20 { trimmed = trimmed.dropFirst() }
        while let last = trimmed.last, last == 0x20 { trimmed = trimmed.dropLast() }
        return String(decoding: trimmed, as: UTF8.self)
    }

    /// The wavelength of every transferred pixel, nm (allocates).
    public func wavelengths() -> [Double] {
        guard let calibration else { preconditionFailure("wavelengths before open()") }
        return (0..<model.pixelCount).map { calibration.wavelength(atPixel: $0) }
    }

    /// Reads the serial number of a part just opened (initialize, then slot 0), for
    /// `USBDeviceMatch.serialNumber` on parts whose descriptor has none.
    public static func serialNumberProbe() -> USBSerialNumberProbe {
        { (device: any USBBulkDevice) throws(USBError) -> String? in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
            defer { buffer.deallocate() }
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            buffer[0] = Opcode.initialize
            try device.bulkWrite(
                endpoint: Endpoint.command, bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<1]),
                timeoutMilliseconds: commandTimeoutMilliseconds)
            buffer[0] = Opcode.queryInformation
            buffer[1] = 0
            try device.bulkWrite(
                endpoint: Endpoint.command, bytes: UnsafeRawBufferPointer(rebasing: buffer[0..<2]),
                timeoutMilliseconds: commandTimeoutMilliseconds)
            var received = 0
            while received < 17 {
                let count = try device.bulkRead(
                    endpoint: Endpoint.reply, into: UnsafeMutableRawBufferPointer(rebasing: buffer[received..<64]),
                    timeoutMilliseconds: commandTimeoutMilliseconds)
                if count == 0 { break }
                received += count
            }
            let bytes = Array(buffer[0..<17])
            guard bytes[0] == Opcode.queryInformation, bytes[1] == 0 else { return nil }
            let serial = slotText(Array(bytes[2..<17]))
            return serial.isEmpty ? nil : serial
        }
    }

    // MARK: - Spectra

    /// Requests and reads one spectrum into `reading` (resized to the model's pixel count when it
    /// has another), with the recovery of the type's notes. Allocates nothing when `reading`
    /// already has the right size and no recovery is needed.
    public func read(into reading: inout SpectrometerReading) throws(OceanOpticsError) {
        try ensureReady()
        if reading.pixelCount != model.pixelCount { reading = SpectrometerReading(pixelCount: model.pixelCount) }
        var recovery = SpectrumReadRecovery()
        var pending: SpectrumReadRecovery.Action?
        while true {
            do throws(AttemptFailure) {
                if let action = pending {
                    recoveries += 1
                    try perform(action)
                }
                try acquireOnce()
                decode(into: &reading)
                spectraRead += 1
                return
            } catch let failure {
                let action = recovery.step(failure.kind)
                if action == .giveUp {
                    mustResynchronize = true
                    throw finalError(failure, recovery: recovery)
                }
                pending = action
            }
        }
    }

    /// One spectrum, allocating its reading.
    public func readSpectrum() throws(OceanOpticsError) -> SpectrometerReading {
        var reading = SpectrometerReading(pixelCount: model.pixelCount)
        try read(into: &reading)
        return reading
    }

    /// Why one attempt failed, with the error behind it.
    private struct AttemptFailure: Error {
        var kind: SpectrumReadRecovery.Failure
        var usb: USBError?
        var error: OceanOpticsError?
        var syncByte: UInt8?
    }

    private func attemptFailure(_ usb: USBError) -> AttemptFailure {
        let kind: SpectrumReadRecovery.Failure
        switch usb.reason {
        case .noDevice, .notFound: kind = .deviceAbsent
        case .timeout: kind = .timeout
        case .overflow: kind = .lostSync
        case .stall: kind = .stall
        default: kind = .transferError
        }
        return AttemptFailure(kind: kind, usb: usb)
    }

    /// Request (0x09) and read every byte of one spectrum into `transfer`; check the sync byte.
    private func acquireOnce() throws(AttemptFailure) {
        command[0] = Opcode.requestSpectrum
        do {
            try device.bulkWrite(
                endpoint: Endpoint.command, bytes: UnsafeRawBufferPointer(rebasing: command[0..<1]),
                timeoutMilliseconds: Self.commandTimeoutMilliseconds)
        } catch {
            throw attemptFailure(error)
        }
        let total = model.spectrumBytes
        let timeout = Self.spectrumTimeoutMilliseconds(integrationMicroseconds: integrationMicroseconds)
        let highSpeed = identity?.highSpeed ?? true
        if model == .usb4000 && highSpeed {
            try receive(from: Endpoint.spectrumFirstPart, range: 0..<2048, timeout: timeout)
            try receive(from: Endpoint.spectrum, range: 2048..<total, timeout: timeout)
        } else {
            try receive(from: highSpeed ? Endpoint.spectrum : fullSpeedSpectrumEndpoint, range: 0..<total, timeout: timeout)
        }
        let last = transfer[total - 1]
        if last != Self.syncByte { throw AttemptFailure(kind: .lostSync, syncByte: last) }
    }

    /// Bulk IN transfers from `endpoint` until `range` of the transfer buffer is full: a spectrum
    /// may arrive in several transfers (short packets). Zero-length transfers more than a few in a
    /// row, or more transfers than packets, are a short transfer.
    private func receive(from endpoint: UInt8, range: Range<Int>, timeout: Int) throws(AttemptFailure) {
        var offset = range.lowerBound
        var transfers = 0
        var empty = 0
        while offset < range.upperBound {
            transfers += 1
            let count: Int
            do {
                count = try device.bulkRead(
                    endpoint: endpoint, into: UnsafeMutableRawBufferPointer(rebasing: transfer[offset..<range.upperBound]),
                    timeoutMilliseconds: timeout)
            } catch {
                throw attemptFailure(error)
            }
            offset += count
            empty = count == 0 ? empty + 1 : 0
            if empty >= 3 || transfers > range.count / 64 + 2 {
                throw AttemptFailure(kind: .shortTransfer)
            }
        }
    }

    private func perform(_ action: SpectrumReadRecovery.Action) throws(AttemptFailure) {
        switch action {
        case .drainAndReinitialize(let clearHalts):
            try drain()
            if clearHalts {
                for endpoint in model.endpointsToClear {
                    do { try device.clearHalt(endpoint: endpoint) } catch { throw attemptFailure(error) }
                }
            }
            do { try configure() } catch { throw AttemptFailure(kind: error.attemptKind, error: error) }
        case .resetAndReinitialize:
            do { try device.reset() } catch { throw attemptFailure(error) }
            do { try configure() } catch { throw AttemptFailure(kind: error.attemptKind, error: error) }
        case .giveUp:
            preconditionFailure("giving up is not performed")
        }
    }

    /// Reads and discards whatever is queued on the reply and spectrum endpoints, until a short
    /// wait brings nothing.
    private func drain() throws(AttemptFailure) {
        for endpoint in model == .usb4000 ? Self.drainedEndpointsUSB4000 : Self.drainedEndpoints {
            for _ in 0..<16 {
                do {
                    let moved = try device.bulkRead(
                        endpoint: endpoint, into: transfer, timeoutMilliseconds: Self.drainTimeoutMilliseconds)
                    if moved == 0 { break }
                } catch {
                    // A timeout is the end of the queue; anything else is the recovery's to judge.
                    if error.reason == .timeout { break }
                    throw attemptFailure(error)
                }
            }
        }
    }

    private static let drainedEndpoints: [UInt8] = [Endpoint.reply, Endpoint.spectrum]
    private static let drainedEndpointsUSB4000: [UInt8] = [Endpoint.reply, Endpoint.spectrum, Endpoint.spectrumFirstPart]

    /// Decodes `transfer` (uint16 LE per pixel) into `reading` and corrects it.
    private func decode(into reading: inout SpectrometerReading) {
        guard let calibration else { preconditionFailure("a spectrum before the calibration was read") }
        let pixels = model.pixelCount
        reading.integrationMicroseconds = integrationMicroseconds
        reading.raw.withUnsafeMutableBufferPointer { raw in
            for pixel in 0..<pixels {
                raw[pixel] = UInt16(transfer[2 * pixel]) | UInt16(transfer[2 * pixel + 1]) << 8
            }
        }
        let outcome = reading.raw.withUnsafeBufferPointer { raw in
            reading.corrected.withUnsafeMutableBufferPointer { corrected in
                reading.saturated.withUnsafeMutableBufferPointer { saturated in
                    calibration.nonlinearityCoefficients.withUnsafeBufferPointer { k in
                        Self.correct(
                            raw: raw, electricDarkPixels: model.electricDarkPixels, nonlinearity: k,
                            saturationLevel: calibration.saturationLevel, corrected: corrected, saturated: saturated)
                    }
                }
            }
        }
        reading.electricDarkCounts = outcome.electricDark
        reading.saturatedPixelCount = outcome.saturatedPixels
    }

    /// The corrections of PROTOCOLS.md §1 on one spectrum: electric dark = mean of
    /// `electricDarkPixels`; x = raw − dark; x / (k0 + k1·x + ... + kn·xⁿ) when `nonlinearity` is
    /// not empty (a non-positive denominator leaves x as it is); × 65535 / `saturationLevel`,
    /// clamped at 65535. A pixel with raw ≥ `saturationLevel` is flagged. Allocates nothing.
    public static func correct(
        raw: UnsafeBufferPointer<UInt16>, electricDarkPixels: ClosedRange<Int>, nonlinearity: UnsafeBufferPointer<Double>,
        saturationLevel: Int, corrected: UnsafeMutableBufferPointer<Double>, saturated: UnsafeMutableBufferPointer<Bool>
    ) -> (electricDark: Double, saturatedPixels: Int) {
        precondition(corrected.count == raw.count && saturated.count == raw.count, "one output per pixel")
        precondition(electricDarkPixels.upperBound < raw.count, "electric-dark pixels inside the spectrum")
        precondition(saturationLevel > 0, "a positive saturation level")
        var sum = 0.0
        for pixel in electricDarkPixels { sum += Double(raw[pixel]) }
        let dark = sum / Double(electricDarkPixels.count)
        let scale = 65_535 / Double(saturationLevel)
        var flagged = 0
        for pixel in 0..<raw.count {
            let isSaturated = Int(raw[pixel]) >= saturationLevel
            saturated[pixel] = isSaturated
            if isSaturated { flagged += 1 }
            var x = Double(raw[pixel]) - dark
            if !nonlinearity.isEmpty {
                var polynomial = 0.0
                for index in stride(from: nonlinearity.count - 1, through: 0, by: -1) {
                    polynomial = polynomial * x + nonlinearity[index]
                }
                if polynomial > 0 { x /= polynomial }
            }
            corrected[pixel] = min(x * scale, 65_535)
        }
        return (dark, flagged)
    }

    // MARK: - Commands

    private func send(_ opcode: UInt8, operation: String) throws(OceanOpticsError) {
        command[0] = opcode
        try write(count: 1, operation: operation)
    }

    private func send(_ opcode: UInt8, uint16 value: UInt16, operation: String) throws(OceanOpticsError) {
        command[0] = opcode
        command[1] = UInt8(value & 0xFF)
        command[2] = UInt8(value >> 8)
        try write(count: 3, operation: operation)
    }

    private func write(count: Int, operation: String) throws(OceanOpticsError) {
        do {
            try device.bulkWrite(
                endpoint: Endpoint.command, bytes: UnsafeRawBufferPointer(rebasing: command[0..<count]),
                timeoutMilliseconds: Self.commandTimeoutMilliseconds)
        } catch {
            throw self.error(operation, error.isDeviceAbsent ? .deviceAbsent(error) : .usb(error))
        }
    }

    /// Writes the command, then reads `replyCount` bytes from 0x81 (in as many transfers as they
    /// take) and checks them with `isValid`. A failed or garbled reply is retried once after
    /// draining 0x81; the second failure is thrown.
    private func query(
        writeCount: Int, replyCount: Int, operation: String, isValid: (UnsafeRawBufferPointer) -> Bool
    ) throws(OceanOpticsError) {
        var attempt = 1
        while true {
            let failure: OceanOpticsError.Kind
            do throws(USBError) {
                try device.bulkWrite(
                    endpoint: Endpoint.command, bytes: UnsafeRawBufferPointer(rebasing: command[0..<writeCount]),
                    timeoutMilliseconds: Self.commandTimeoutMilliseconds)
                var received = 0
                var transfers = 0
                while received < replyCount && transfers < 4 {
                    transfers += 1
                    received += try device.bulkRead(
                        endpoint: Endpoint.reply, into: UnsafeMutableRawBufferPointer(rebasing: reply[received..<64]),
                        timeoutMilliseconds: Self.commandTimeoutMilliseconds)
                }
                let bytes = UnsafeRawBufferPointer(rebasing: reply[0..<received])
                if received == replyCount && isValid(bytes) { return }
                failure = .garbledReply(bytes: Array(bytes), expectedCount: replyCount)
            } catch {
                if error.isDeviceAbsent { throw self.error(operation, .deviceAbsent(error)) }
                failure = .usb(error)
            }
            if attempt == 2 { throw self.error(operation, failure) }
            attempt += 1
            do throws(AttemptFailure) {
                try drainReplies()
            } catch {
                throw self.error(operation, error.usb.map { .usb($0) } ?? failure)
            }
        }
    }

    private func drainReplies() throws(AttemptFailure) {
        for _ in 0..<16 {
            do {
                let moved = try device.bulkRead(
                    endpoint: Endpoint.reply, into: UnsafeMutableRawBufferPointer(rebasing: reply[0..<64]),
                    timeoutMilliseconds: Self.drainTimeoutMilliseconds)
                if moved == 0 { return }
            } catch {
                if error.reason == .timeout { return }
                throw attemptFailure(error)
            }
        }
    }

    private func error(_ operation: String, _ kind: OceanOpticsError.Kind) -> OceanOpticsError {
        OceanOpticsError(device: device.name, model: model, operation: operation, kind: kind)
    }

    private func finalError(_ failure: AttemptFailure, recovery: SpectrumReadRecovery) -> OceanOpticsError
    {
        if failure.kind == .deviceAbsent, let usb = failure.usb { return error("read spectrum", .deviceAbsent(usb)) }
        if let inner = failure.error, case .deviceAbsent = inner.kind { return inner }
        var detail: String
        if let usb = failure.usb {
            detail = usb.description
        } else if let inner = failure.error {
            detail = inner.description
        } else if let sync = failure.syncByte {
            detail = "last byte 0x\(hex(sync)) instead of the sync byte 0x69"
        } else {
            detail = "\(failure.kind)"
        }
        if recovery.failures.count > 1 { detail += " (after recovering from \(recovery.failures.dropLast().map { "\($0)" }.joined(separator: ", ")))" }
        return error("read spectrum", .spectrumUnreadable(failures: recovery.failures, detail: detail))
    }
}

/// One spectrum as the driver hands it over: the raw counts as transferred, the corrected counts
/// and the saturated pixels, one per transferred pixel.
public struct SpectrometerReading: Equatable, Sendable {
    /// Raw counts per transferred pixel.
    public var raw: [UInt16]
    /// Electric dark subtracted, nonlinearity and saturation scaling applied.
    public var corrected: [Double]
    /// Whether the raw count reached the saturation level.
    public var saturated: [Bool]
    /// The electric dark that was subtracted (mean of the shielded pixels).
    public var electricDarkCounts: Double
    /// Pixels flagged saturated.
    public var saturatedPixelCount: Int
    /// The integration time of the acquisition, µs.
    public var integrationMicroseconds: Int

    /// `pixelCount` pixels of zeros, to be filled by `read(into:)`.
    public init(pixelCount: Int) {
        raw = [UInt16](repeating: 0, count: pixelCount)
        corrected = [Double](repeating: 0, count: pixelCount)
        saturated = [Bool](repeating: false, count: pixelCount)
        electricDarkCounts = 0
        saturatedPixelCount = 0
        integrationMicroseconds = 0
    }

    public var pixelCount: Int { raw.count }
}

/// How a spectrum read recovers, as a pure state machine: fed each failed attempt, it says what to
/// do before the next one.
///
/// | failures so far | action |
/// |---|---|
/// | the device is absent (unplugged) | give up at once: the caller reports it, and the next read looks for the device again |
/// | 1 | drain the queues, (after a stall also clear the halts), initialize and configure, retry |
/// | 2 | reset the USB port (re-enumerating), configure, retry |
/// | 3 | give up |
///
/// A failure while recovering counts like a failed attempt.
public struct SpectrumReadRecovery: Equatable, Sendable {
    public enum Failure: Equatable, Sendable, CustomStringConvertible {
        /// The last byte was not 0x69, or the device sent more than a spectrum (overflow).
        case lostSync
        /// Nothing, or not everything, came within the integration time plus 1 s.
        case timeout
        /// The transfers ended without the whole spectrum (zero-length or too many short ones).
        case shortTransfer
        /// An endpoint halted.
        case stall
        /// Any other USB or protocol error.
        case transferError
        /// Unplugged, or not found again after a reset.
        case deviceAbsent

        public var description: String {
            switch self {
            case .lostSync: "lost sync"
            case .timeout: "timeout"
            case .shortTransfer: "short transfer"
            case .stall: "stall"
            case .transferError: "transfer error"
            case .deviceAbsent: "device absent"
            }
        }
    }

    public enum Action: Equatable, Sendable {
        case drainAndReinitialize(clearHalts: Bool)
        case resetAndReinitialize
        case giveUp
    }

    /// Every failure fed so far, in order.
    public private(set) var failures: [Failure] = []

    public init() {}

    /// Records `failure` and says what to do next.
    public mutating func step(_ failure: Failure) -> Action {
        failures.append(failure)
        if failure == .deviceAbsent { return .giveUp }
        switch failures.count {
        case 1: return .drainAndReinitialize(clearHalts: failure == .stall)
        case 2: return .resetAndReinitialize
        default: return .giveUp
        }
    }
}

/// A failed spectrometer operation: which device, which operation, what went wrong.
public struct OceanOpticsError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// A USB transfer failed.
        case usb(USBError)
        /// The device is not there: unplugged, or not found again.
        case deviceAbsent(USBError)
        /// A reply of the wrong size or that does not echo the request (after one retry).
        case garbledReply(bytes: [UInt8], expectedCount: Int)
        /// The FPGA firmware version names another model than the board file.
        case modelMismatch(expected: OceanOpticsSpectrometer.Model, found: OceanOpticsSpectrometer.Model, fpgaVersion: UInt16)
        /// The status reports another pixel count than the model has.
        case pixelCountMismatch(expected: Int, reported: Int)
        /// An information slot that should hold a number (or the order 0...7) does not.
        case invalidCalibration(slot: UInt8, text: String)
        /// The clock could not wait.
        case clock(ClockError)
        /// No spectrum after the whole recovery ladder.
        case spectrumUnreadable(failures: [SpectrumReadRecovery.Failure], detail: String)
    }

    public var device: String
    public var model: OceanOpticsSpectrometer.Model
    public var operation: String
    public var kind: Kind

    public init(device: String, model: OceanOpticsSpectrometer.Model, operation: String, kind: Kind) {
        self.device = device
        self.model = model
        self.operation = operation
        self.kind = kind
    }

    /// Whether the device is not there (unplugged or not found).
    public var isDeviceAbsent: Bool {
        if case .deviceAbsent = kind { return true }
        return false
    }

    /// How a recovery step failing with this error counts.
    var attemptKind: SpectrumReadRecovery.Failure {
        switch kind {
        case .deviceAbsent: return .deviceAbsent
        case .usb(let error):
            switch error.reason {
            case .timeout: return .timeout
            case .stall: return .stall
            case .overflow: return .lostSync
            default: return .transferError
            }
        default: return .transferError
        }
    }

    public var description: String {
        let place = "\(model) on \(device): \(operation)"
        switch kind {
        case .usb(let error):
            return "\(place) failed: \(error)"
        case .deviceAbsent(let error):
            return "\(place) failed: the spectrometer is not connected (\(error))"
        case .garbledReply(let bytes, let expected):
            let text = bytes.map { hex($0) }.joined(separator: " ")
            return "\(place) failed: garbled reply [\(text)] twice (expected \(expected) bytes)"
        case .modelMismatch(let expected, let found, let version):
            return "\(place) failed: the board file says \(expected), the part is a \(found) "
                + "(FPGA firmware version 0x\(hex(UInt8(version >> 8)))\(hex(UInt8(version & 0xFF))), major \(version >> 12))"
        case .pixelCountMismatch(let expected, let reported):
            return "\(place) failed: the part reports \(reported) pixels, a \(model) has \(expected)"
        case .invalidCalibration(let slot, let text):
            return "\(place) failed: information slot \(slot) holds \"\(text)\", not a number"
        case .clock(let error):
            return "\(place) failed: \(error)"
        case .spectrumUnreadable(let failures, let detail):
            return "\(place) failed after \(failures.count) attempts (\(failures.map { "\($0)" }.joined(separator: ", "))): \(detail)"
        }
    }
}
