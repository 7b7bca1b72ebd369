import Transports

/// Microchip MCP9600 / MCP9601 thermocouple EMF to temperature converter on I2C.
///
/// One instance per part. `configure(part:configuration:)` checks the device ID and writes the
/// sensor and device configuration; `read()` returns the hot and cold junction temperatures and
/// the status bits.
/// Every register access is one `I2CBus.transfer` (`{pointer}` then `{n bytes}` with a repeated
/// START), so the same bytes go to `/dev/i2c-N` and to the twin's simulator.
///
/// Retry: every register access that fails (bus error, garbled reply, unexpected ID or read-back)
/// is tried again exactly once; the second failure is thrown. The part stretches the clock and
/// Raspberry Pi masters handle stretching badly, so a single failed transfer is routine.
///
/// Garbled replies. The part has no CRC, so a reply is judged against what the part can send:
/// - STATUS (register 0x04), read first: 0xFF is a released SDA line (target gone mid-transfer,
///   floating bus); on the MCP9600 bit 5 is unimplemented and reads 0, so a set bit 5 is
///   garbage; on the MCP9601 open circuit (bit 4) and short circuit (bit 5) together are
///   physically impossible. A bus stuck releasing SDA is caught here, every read.
/// - Temperature registers (0x00, 0x02): 0xFFFF is what a released SDA line reads, but also a
///   real -0.0625 °C (an ice-point check). It is suspect: read again, and believed only if the
///   retry gives the same (a sane STATUS was just read from the same bus).
/// - Cold junction (0x02): bits 15..12 are all sign bits (Register 5-4), so they must agree; the
///   value must lie in the part's operating range, -40...+125 °C.
/// - Hot junction (0x00): when STATUS reports no fault, the value must lie in the NIST ITS-90
///   table range of the configured thermocouple type, give or take one LSB for the part's
///   rounding (`ThermocoupleType.plausibleRange`); with a fault bit set the value is reported as
///   it is (a range limit: the fault is what counts).
/// - Device ID (0x20): 0xFFFF is a released bus; any other ID but the expected one is a
///   mismatch. Both are retried once like any failure.
/// Garbage inside these bounds (a low-order bit flip) cannot be told from a reading here: the
/// monitor's rate-of-change and stuck checks are the next layer.
///
/// Not thread-safe: one owner (the control loop) calls it. `read()` allocates nothing: the
/// transfer buffers are allocated once, in `init`.
public final class MCP9600 {
    /// Which member of the family is wired at the address (from the board file).
    public enum Part: Equatable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case mcp9600
        case mcp9601

        /// The high byte of Register 0x20, Device ID/Revision.
        public var deviceID: UInt8 {
            switch self {
            case .mcp9600: 0x40
            case .mcp9601: 0x41
            }
        }

        /// The part whose device ID is `id`, if it is one of the family.
        public init?(deviceID id: UInt8) {
            switch id {
            case 0x40: self = .mcp9600
            case 0x41: self = .mcp9601
            default: return nil
            }
        }

        public var description: String {
            switch self {
            case .mcp9600: "MCP9600"
            case .mcp9601: "MCP9601"
            }
        }
    }

    /// Thermocouple type, in the order of Register 0x05 bits 6..4 (K = 0 ... R = 7).
    public enum ThermocoupleType: UInt8, Equatable, Hashable, Sendable, CaseIterable {
        case k = 0, j, t, n, s, e, b, r

        /// The NIST ITS-90 reference table range of the type, in °C: the widest span a real
        /// thermocouple of this type reads. The datasheet's accuracy ranges are narrower; the
        /// garble check uses this one (see `plausibleRange`) so that no real reading is refused.
        public var tableRange: ClosedRange<Double> {
            switch self {
            case .k: -270...1372
            case .j: -210...1200
            case .t: -270...400
            case .n: -270...1300
            case .s: -50...1768.1
            case .e: -270...1000
            case .b: 0...1820
            case .r: -50...1768.1
            }
        }

        /// `tableRange` widened by one LSB (0.0625 °C) each way: the part rounds to the LSB, so
        /// a reading at a range end may land just outside it.
        public var plausibleRange: ClosedRange<Double> {
            (tableRange.lowerBound - 0.0625)...(tableRange.upperBound + 0.0625)
        }
    }

    /// ADC measurement resolution, Register 0x06 bits 6..5 (the raw value is the bit-field code).
    public enum ADCResolution: UInt8, Equatable, Hashable, Sendable, CaseIterable {
        case bits18 = 0, bits16, bits14, bits12

        /// The resolution of `bits` bits, if the part has it.
        public init?(bits: Int) {
            switch bits {
            case 18: self = .bits18
            case 16: self = .bits16
            case 14: self = .bits14
            case 12: self = .bits12
            default: return nil
            }
        }

        /// Resolution in bits.
        public var bits: Int {
            switch self {
            case .bits18: 18
            case .bits16: 16
            case .bits14: 14
            case .bits12: 12
            }
        }
    }

    /// What `configure()` writes: thermocouple type, digital filter coefficient and ADC resolution.
    public struct Configuration: Equatable, Hashable, Sendable {
        public var thermocouple: ThermocoupleType
        /// Filter coefficient 0 (off) ... 7 (strongest), Register 0x05 bits 2..0.
        public var filter: UInt8
        public var adcResolution: ADCResolution

        public init(thermocouple: ThermocoupleType, filter: UInt8 = 0, adcResolution: ADCResolution = .bits18) {
            precondition(filter <= 7, "MCP9600 filter coefficient is 0...7, got \(filter)")
            self.thermocouple = thermocouple
            self.filter = filter
            self.adcResolution = adcResolution
        }

        /// The byte for Register 0x05, Thermocouple Sensor Configuration.
        public var sensorConfigurationByte: UInt8 {
            MCP9600.sensorConfigurationByte(thermocouple: thermocouple, filter: filter)
        }

        /// The byte for Register 0x06, Device Configuration.
        public var deviceConfigurationByte: UInt8 {
            MCP9600.deviceConfigurationByte(adcResolution: adcResolution)
        }
    }

    /// What the ID register said during `configure()`.
    public struct Identity: Equatable, Sendable {
        public var part: Part
        /// Low byte of Register 0x20: major revision in bits 7..4, minor in bits 3..0.
        public var revision: UInt8

        public init(part: Part, revision: UInt8) {
            self.part = part
            self.revision = revision
        }
    }

    /// Register pointers (PROTOCOLS.md §2).
    public enum Register {
        /// Register 0x00, Hot-Junction (Thermocouple) Temperature T_H, cold-junction compensated.
        public static let hotJunction: UInt8 = 0x00
        /// Register 0x01, Junctions Temperature Delta T_Δ.
        public static let junctionDelta: UInt8 = 0x01
        /// Register 0x02, Cold-Junction Temperature T_C.
        public static let coldJunction: UInt8 = 0x02
        /// Register 0x03, Raw ADC Data (24-bit signed).
        public static let rawADC: UInt8 = 0x03
        /// Register 0x04, STATUS.
        public static let status: UInt8 = 0x04
        /// Register 0x05, Thermocouple Sensor Configuration.
        public static let sensorConfiguration: UInt8 = 0x05
        /// Register 0x06, Device Configuration.
        public static let deviceConfiguration: UInt8 = 0x06
        /// Register 0x20, Device ID/Revision.
        public static let deviceID: UInt8 = 0x20
    }

    /// STATUS register (0x04) bits.
    public enum StatusBit {
        public static let burstComplete: UInt8 = 1 << 7
        public static let hotJunctionUpdated: UInt8 = 1 << 6
        /// MCP9601: thermocouple short circuit. MCP9600: unimplemented, reads 0.
        public static let shortCircuit: UInt8 = 1 << 5
        /// MCP9600: input range exceeded. MCP9601: thermocouple open circuit.
        public static let inputRangeOrOpenCircuit: UInt8 = 1 << 4
        public static let alerts: UInt8 = 0x0F
    }

    /// Lowest and highest 7-bit address the ADDR pin can select.
    public static let addresses: ClosedRange<UInt8> = 0x60...0x67

    /// Part's operating ambient range: the cold junction is the die temperature.
    public static let coldJunctionOperatingRange: ClosedRange<Double> = -40...125

    public let bus: any I2CBus
    public let address: UInt8
    /// The part and configuration of the last successful `configure`; nil before the first.
    /// A failed `configure` leaves it as it was, so `read()` keeps working after a failed retry.
    public private(set) var configured: (part: Part, configuration: Configuration)?

    // One buffer for every transfer: [0..<2] what is written, [2..<4] what is read.
    private let buffer: UnsafeMutableRawBufferPointer

    /// A converter at `address` (0x60...0x67) on `bus`. Talks to nothing until `configure`.
    public init(bus: any I2CBus, address: UInt8) {
        precondition(
            MCP9600.addresses.contains(address),
            "MCP9600 address must be 0x60...0x67, got 0x\(hex(address))")
        self.bus = bus
        self.address = address
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 1)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit {
        buffer.deallocate()
    }

    // MARK: - Configuration

    /// Checks that `part` is what is wired here and applies `configuration`.
    ///
    /// Reads Register 0x20, Device ID/Revision, and fails with `.deviceMismatch` unless the high
    /// byte is `part.deviceID`. Then writes Register 0x05, Thermocouple Sensor Configuration (type,
    /// filter) and Register 0x06, Device Configuration (cold junction 0.0625 °C, ADC resolution,
    /// one burst sample, normal mode), reads both back and fails with `.configurationMismatch` if
    /// either differs. Call again after the part may have lost power (it resets to type K).
    @discardableResult
    public func configure(part: Part, configuration: Configuration) throws(MCP9600Error) -> Identity {
        let identity = try readIdentity(expecting: part)
        try writeAndVerify(Register.sensorConfiguration, configuration.sensorConfigurationByte)
        try writeAndVerify(Register.deviceConfiguration, configuration.deviceConfigurationByte)
        configured = (part, configuration)
        return identity
    }

    /// `configure(part:configuration:)` from the board file's fields; `adcResolutionBits` must be
    /// 18, 16, 14 or 12 and `filter` 0...7 (the board-file loader checks both).
    @discardableResult
    public func configure(part: Part, type: ThermocoupleType, filter: UInt8, adcResolutionBits: Int)
        throws(MCP9600Error) -> Identity
    {
        guard let resolution = ADCResolution(bits: adcResolutionBits) else {
            preconditionFailure("MCP9600 ADC resolution is 18, 16, 14 or 12 bits, got \(adcResolutionBits)")
        }
        let configuration = Configuration(thermocouple: type, filter: filter, adcResolution: resolution)
        return try configure(part: part, configuration: configuration)
    }

    /// Reads Register 0x20, Device ID/Revision, and checks the ID against `expected`.
    public func readIdentity(expecting expected: Part) throws(MCP9600Error) -> Identity {
        try readRegister(Register.deviceID, count: 2) { bytes, _ in
            if bytes[0] == 0xFF && bytes[1] == 0xFF { return .garbled(.releasedBus) }
            if bytes[0] != expected.deviceID { return .deviceMismatch(expected: expected) }
            return nil
        }
        return Identity(part: expected, revision: readByte(1))
    }

    // MARK: - Reading

    /// Reads Register 0x04, STATUS, then Register 0x00, Hot-Junction Temperature, and Register
    /// 0x02, Cold-Junction Temperature; each is retried once and checked (see the type's notes on
    /// garbled replies).
    ///
    /// Status is read first because the plausibility of the hot junction depends on the fault
    /// bits: an open or out-of-range input reads a range limit, not a temperature. Allocates
    /// nothing.
    public func read() throws(MCP9600Error) -> ThermocoupleReading {
        guard let configured else {
            preconditionFailure("MCP9600 at 0x\(hex(address)): read() before a successful configure()")
        }
        let currentPart = configured.part
        let thermocouple = configured.configuration.thermocouple
        try readRegister(Register.status, count: 1) { bytes, _ in
            MCP9600.statusGarbleReason(bytes[0], part: currentPart).map { .garbled($0) }
        }
        let status = readByte(0)
        let faultReported = MCP9600.fault(inStatus: status, part: currentPart) != nil

        let plausibleRange = thermocouple.plausibleRange
        try readRegister(Register.hotJunction, count: 2) { bytes, attempt in
            if bytes[0] == 0xFF && bytes[1] == 0xFF && attempt == 1 { return .garbled(.releasedBus) }
            if faultReported { return nil }
            let celsius = MCP9600.celsius(msb: bytes[0], lsb: bytes[1])
            if !plausibleRange.contains(celsius) {
                return .garbled(.hotJunctionOutOfRange(celsius: celsius, thermocouple: thermocouple))
            }
            return nil
        }
        let hot = MCP9600.celsius(msb: readByte(0), lsb: readByte(1))

        try readRegister(Register.coldJunction, count: 2) { bytes, attempt in
            if bytes[0] == 0xFF && bytes[1] == 0xFF && attempt == 1 { return .garbled(.releasedBus) }
            return MCP9600.coldJunctionGarbleReason(msb: bytes[0], lsb: bytes[1]).map { .garbled($0) }
        }
        let cold = MCP9600.celsius(msb: readByte(0), lsb: readByte(1))

        return ThermocoupleReading(
            hotJunctionCelsius: hot, coldJunctionCelsius: cold, status: status, part: currentPart)
    }

    /// Writes 0 to Register 0x04, STATUS, clearing "burst complete" and "T_H updated", so the next
    /// `read()` tells whether a new conversion finished since (a stale-reading check).
    public func clearConversionFlags() throws(MCP9600Error) {
        try writeRegister(Register.status, 0x00)
    }

    // MARK: - Pure decoding and encoding

    /// Temperature from a temperature register's two bytes (MSB first): two's complement,
    /// 0.0625 °C per LSB. Equation 5-1 of the datasheet (UpperByte × 16 + LowerByte / 16, minus
    /// 4096 when the sign bit is set) is the same number.
    public static func celsius(msb: UInt8, lsb: UInt8) -> Double {
        Double(Int16(bitPattern: UInt16(msb) << 8 | UInt16(lsb))) * 0.0625
    }

    /// Register 0x05, Thermocouple Sensor Configuration: type in bits 6..4, filter in bits 2..0.
    public static func sensorConfigurationByte(thermocouple: ThermocoupleType, filter: UInt8) -> UInt8 {
        precondition(filter <= 7, "MCP9600 filter coefficient is 0...7, got \(filter)")
        return thermocouple.rawValue << 4 | filter
    }

    /// Register 0x06, Device Configuration: cold-junction resolution 0.0625 °C (bit 7 = 0), ADC
    /// resolution in bits 6..5, burst samples 1 (bits 4..2 = 0), normal mode (bits 1..0 = 0).
    public static func deviceConfigurationByte(adcResolution: ADCResolution) -> UInt8 {
        adcResolution.rawValue << 5
    }

    /// The fault the STATUS byte reports, if any (bit 4 means different things on the two parts).
    public static func fault(inStatus status: UInt8, part: Part) -> ThermocoupleFault? {
        switch part {
        case .mcp9600:
            return status & StatusBit.inputRangeOrOpenCircuit != 0 ? .inputRangeExceeded : nil
        case .mcp9601:
            if status & StatusBit.inputRangeOrOpenCircuit != 0 { return .openCircuit }
            if status & StatusBit.shortCircuit != 0 { return .shortCircuit }
            return nil
        }
    }

    /// Why a STATUS byte cannot have come from `part`, or nil if it can.
    public static func statusGarbleReason(_ status: UInt8, part: Part) -> GarbleReason? {
        if status == 0xFF { return .releasedBus }
        switch part {
        case .mcp9600:
            if status & StatusBit.shortCircuit != 0 { return .unimplementedStatusBitSet }
        case .mcp9601:
            let both = StatusBit.shortCircuit | StatusBit.inputRangeOrOpenCircuit
            if status & both == both { return .openAndShortCircuitTogether }
        }
        return nil
    }

    /// Why a cold-junction reply cannot be real, or nil if it can: sign bits 15..12 that
    /// disagree, or a die temperature outside -40...+125 °C. (0xFFFF, suspect but possible, is
    /// confirmed by a second read in `read()`.)
    public static func coldJunctionGarbleReason(msb: UInt8, lsb: UInt8) -> GarbleReason? {
        let signBits = msb >> 4
        if signBits != 0 && signBits != 0x0F { return .coldJunctionSignBitsDisagree }
        let celsius = celsius(msb: msb, lsb: lsb)
        if !coldJunctionOperatingRange.contains(celsius) {
            return .coldJunctionOutOfRange(celsius: celsius)
        }
        return nil
    }

    // MARK: - Transfers

    /// Why one attempt at a register access failed (other than the bus).
    private enum AttemptFailure {
        case garbled(GarbleReason)
        case deviceMismatch(expected: Part)
        case readBackMismatch(expected: UInt8)
    }

    private func readByte(_ index: Int) -> UInt8 {
        buffer[2 + index]
    }

    /// `{register}` then `{count bytes}` into the buffer's read half, checked by `check` (given
    /// the reply and the attempt, 1 or 2); one retry; the second failure is thrown.
    private func readRegister(
        _ register: UInt8, count: Int, check: (UnsafeRawBufferPointer, Int) -> AttemptFailure?
    ) throws(MCP9600Error) {
        buffer[0] = register
        let write = UnsafeRawBufferPointer(rebasing: buffer[0..<1])
        let read = UnsafeMutableRawBufferPointer(rebasing: buffer[2..<(2 + count)])
        var attempt = 1
        while true {
            let failure: MCP9600Error.Kind
            do throws(I2CError) {
                try bus.transfer(address: address, write: write, read: read)
                guard let problem = check(UnsafeRawBufferPointer(read), attempt) else { return }
                failure = kind(of: problem, register: register, reply: UnsafeRawBufferPointer(read))
            } catch {
                failure = .bus(error)
            }
            if attempt == 2 { throw makeError(register: register, failure) }
            attempt += 1
        }
    }

    /// `{register, value}` with nothing read; one retry.
    private func writeRegister(_ register: UInt8, _ value: UInt8) throws(MCP9600Error) {
        buffer[0] = register
        buffer[1] = value
        let write = UnsafeRawBufferPointer(rebasing: buffer[0..<2])
        let nothing = UnsafeMutableRawBufferPointer(rebasing: buffer[2..<2])
        var attempt = 1
        while true {
            do throws(I2CError) {
                try bus.transfer(address: address, write: write, read: nothing)
                return
            } catch {
                if attempt == 2 { throw makeError(register: register, .bus(error)) }
            }
            attempt += 1
        }
    }

    private func writeAndVerify(_ register: UInt8, _ value: UInt8) throws(MCP9600Error) {
        try writeRegister(register, value)
        try readRegister(register, count: 1) { bytes, _ in
            bytes[0] == value ? nil : .readBackMismatch(expected: value)
        }
    }

    private func kind(of failure: AttemptFailure, register: UInt8, reply: UnsafeRawBufferPointer)
        -> MCP9600Error.Kind
    {
        switch failure {
        case .garbled(let reason):
            return .garbled(bytes: Array(reply), reason: reason)
        case .deviceMismatch(let expected):
            return .deviceMismatch(expected: expected, foundID: reply[0], revision: reply[1])
        case .readBackMismatch(let expected):
            return .configurationMismatch(wrote: expected, readBack: reply[0])
        }
    }

    private func makeError(register: UInt8, _ kind: MCP9600Error.Kind) -> MCP9600Error {
        MCP9600Error(bus: bus.name, address: address, register: register, kind: kind)
    }
}

/// A thermocouple fault the converter reports in its STATUS register.
public enum ThermocoupleFault: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// MCP9601 STATUS bit 4: the thermocouple is open (broken wire, unplugged).
    case openCircuit
    /// MCP9601 STATUS bit 5: the thermocouple is shorted (it reads the cold junction).
    case shortCircuit
    /// MCP9600 STATUS bit 4: the EMF or T_H exceeds the type's range; an open thermocouple
    /// shows up this way on the MCP9600, which has no open-circuit detection.
    case inputRangeExceeded

    public var description: String {
        switch self {
        case .openCircuit: "thermocouple open circuit"
        case .shortCircuit: "thermocouple short circuit"
        case .inputRangeExceeded: "thermocouple input range exceeded"
        }
    }
}

/// Alert 1...4 status bits (STATUS bits 0...3).
public struct ThermocoupleAlerts: OptionSet, Equatable, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x0F }

    public static let alert1 = ThermocoupleAlerts(rawValue: 1 << 0)
    public static let alert2 = ThermocoupleAlerts(rawValue: 1 << 1)
    public static let alert3 = ThermocoupleAlerts(rawValue: 1 << 2)
    public static let alert4 = ThermocoupleAlerts(rawValue: 1 << 3)
}

/// One reading of a thermocouple converter: temperatures and the decoded STATUS register.
public struct ThermocoupleReading: Equatable, Sendable {
    /// Cold-junction compensated thermocouple temperature (Register 0x00), °C.
    public var hotJunctionCelsius: Double
    /// Die (cold-junction) temperature (Register 0x02), °C.
    public var coldJunctionCelsius: Double
    /// STATUS (Register 0x04) as read.
    public var rawStatus: UInt8
    /// Bit 7: burst-mode conversions complete.
    public var burstComplete: Bool
    /// Bit 6: a temperature conversion finished since the flag was last cleared.
    public var hotJunctionUpdated: Bool
    /// MCP9600 bit 4: EMF or T_H beyond the type's range (always false on the MCP9601).
    public var inputRangeExceeded: Bool
    /// MCP9601 bit 4 (always false on the MCP9600).
    public var openCircuit: Bool
    /// MCP9601 bit 5 (always false on the MCP9600).
    public var shortCircuit: Bool
    /// Bits 3..0.
    public var alerts: ThermocoupleAlerts
    /// The fault the status reports, if any; when set, `hotJunctionCelsius` is not a temperature.
    public var fault: ThermocoupleFault?

    public init(hotJunctionCelsius: Double, coldJunctionCelsius: Double, status: UInt8, part: MCP9600.Part) {
        self.hotJunctionCelsius = hotJunctionCelsius
        self.coldJunctionCelsius = coldJunctionCelsius
        rawStatus = status
        burstComplete = status & MCP9600.StatusBit.burstComplete != 0
        hotJunctionUpdated = status & MCP9600.StatusBit.hotJunctionUpdated != 0
        let bit4 = status & MCP9600.StatusBit.inputRangeOrOpenCircuit != 0
        inputRangeExceeded = part == .mcp9600 && bit4
        openCircuit = part == .mcp9601 && bit4
        shortCircuit = part == .mcp9601 && status & MCP9600.StatusBit.shortCircuit != 0
        alerts = ThermocoupleAlerts(rawValue: status & MCP9600.StatusBit.alerts)
        fault = MCP9600.fault(inStatus: status, part: part)
    }
}

extension MCP9600 {
    /// Why a reply was judged garbled rather than a reading.
    public enum GarbleReason: Equatable, Sendable, CustomStringConvertible {
        /// Every byte 0xFF: SDA released (no target driving it).
        case releasedBus
        /// MCP9600 STATUS bit 5 is unimplemented and reads 0.
        case unimplementedStatusBitSet
        /// MCP9601 STATUS with open and short circuit at once.
        case openAndShortCircuitTogether
        /// Cold-junction bits 15..12 are sign bits and must agree.
        case coldJunctionSignBitsDisagree
        /// Cold junction outside the part's -40...+125 °C operating range.
        case coldJunctionOutOfRange(celsius: Double)
        /// Hot junction outside the type's plausible range with no fault reported.
        case hotJunctionOutOfRange(celsius: Double, thermocouple: MCP9600.ThermocoupleType)

        public var description: String {
            switch self {
            case .releasedBus: "every byte 0xFF (released bus)"
            case .unimplementedStatusBitSet: "unimplemented STATUS bit 5 set"
            case .openAndShortCircuitTogether: "open and short circuit reported together"
            case .coldJunctionSignBitsDisagree: "cold-junction sign bits 15..12 disagree"
            case .coldJunctionOutOfRange(let celsius):
                "cold junction \(celsius) °C outside the part's -40...125 °C"
            case .hotJunctionOutOfRange(let celsius, let thermocouple):
                "hot junction \(celsius) °C outside type \(thermocouple)'s range "
                    + "\(thermocouple.tableRange.lowerBound)...\(thermocouple.tableRange.upperBound) °C "
                    + "with no fault reported"
            }
        }
    }
}

/// A failed MCP9600/MCP9601 operation: where (bus, address, register) and what went wrong.
public struct MCP9600Error: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// The I2C transfer failed (after one retry).
        case bus(I2CError)
        /// Register 0x20 named another part (or none of the family).
        case deviceMismatch(expected: MCP9600.Part, foundID: UInt8, revision: UInt8)
        /// A configuration register read back differently from what was written.
        case configurationMismatch(wrote: UInt8, readBack: UInt8)
        /// The reply could not have come from the part (after one retry); `bytes` as received.
        case garbled(bytes: [UInt8], reason: MCP9600.GarbleReason)
    }

    public var bus: String
    public var address: UInt8
    public var register: UInt8
    public var kind: Kind

    public init(bus: String, address: UInt8, register: UInt8, kind: Kind) {
        self.bus = bus
        self.address = address
        self.register = register
        self.kind = kind
    }

    /// The bus error underneath, when the failure was a failed transfer.
    public var underlying: I2CError? {
        if case .bus(let error) = kind { return error }
        return nil
    }

    /// The part the ID register named, when it named one of the family.
    public var foundPart: MCP9600.Part? {
        if case .deviceMismatch(_, let id, _) = kind { return MCP9600.Part(deviceID: id) }
        return nil
    }

    public var description: String {
        let place = "MCP9600 on \(bus) address 0x\(hex(address)) register 0x\(hex(register))"
        switch kind {
        case .bus(let error):
            return "\(place): transfer failed twice: \(error)"
        case .deviceMismatch(let expected, let id, let revision):
            let found = MCP9600.Part(deviceID: id).map { "\($0)" } ?? "an unknown part"
            return "\(place): expected \(expected), found \(found) "
                + "(device ID 0x\(hex(id)), revision 0x\(hex(revision)))"
        case .configurationMismatch(let wrote, let readBack):
            return "\(place): wrote 0x\(hex(wrote)), read back 0x\(hex(readBack))"
        case .garbled(let bytes, let reason):
            let text = bytes.map { hex($0) }.joined(separator: " ")
            return "\(place): garbled reply [\(text)] twice: \(reason)"
        }
    }
}
