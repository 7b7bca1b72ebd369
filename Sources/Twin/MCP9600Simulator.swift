import Transports

/// A byte-level MCP9600 / MCP9601: the register file of PROTOCOLS.md §2 behind an I2C target.
///
/// The first written byte of a transaction sets the register pointer, which persists, so a later
/// read-only transaction reads the same register, as on the part. Further written bytes go to the
/// register. Temperatures come from the plant through `hotJunction` and `coldJunction` (°C) at
/// each conversion and are encoded as the part does: two's complement, 0.0625 °C per LSB, the
/// cold junction in 0.0625 or 0.25 °C steps (Register 0x06 bit 7).
///
/// Choices where the datasheet is silent (documented so tests can rely on them):
/// - Writes to read-only registers (0x00...0x03, 0x20), a pointer to an unimplemented register,
///   extra bytes past a register's width, and a zero-length "quick write" are NAKed. That is
///   stricter than the part may be; in the twin a driver bug should be loud.
/// - Reading past a register's width returns 0x00. A 16-bit register written with one byte is
///   left unchanged (the part latches whole words).
/// - Not modelled: the digital filter, ADC resolution (readings stay at 0.0625 °C), the raw ADC
///   register (reads 0), alert outputs (alert status bits stay 0). Alert registers store and
///   read back.
/// - Out-of-range input: the hot junction reads the type's range limit; on the MCP9600 status
///   bit 4 (input range) is set. On the MCP9601 bit 4 means open circuit, so an over-range
///   EMF only clamps (UNVERIFIED: what the MCP9601 flags then).
///
/// Faults on demand: `isBusy` / `nakNext` (NAK every / the next transactions), `reportedPart`
/// (the ID register names another part), `thermocouple` (`.open`: MCP9601 status bit 4,
/// MCP9600 input-range bit 4, hot junction at its range limit; `.shorted`: MCP9601 bit 5, and
/// the hot junction reads the cold junction because a shorted thermocouple has no EMF),
/// `isGarbling` / `garbleNext` (replies of all 0xFF), `isStuck` (conversions keep finishing but
/// the temperature registers keep their last values, as with a probe fallen out of the vessel).
public final class MCP9600Simulator: SimulatedI2CTarget {
    public enum Part: Equatable, Hashable, Sendable, CaseIterable {
        case mcp9600
        case mcp9601

        /// The high byte of Register 0x20.
        public var deviceID: UInt8 {
            switch self {
            case .mcp9600: 0x40
            case .mcp9601: 0x41
            }
        }
    }

    /// Thermocouple type codes of Register 0x05 bits 6..4, with the NIST ITS-90 table range the
    /// simulated converter accepts (the same table the driver checks plausibility against).
    public enum ThermocoupleType: UInt8, Equatable, Hashable, Sendable, CaseIterable {
        case k = 0, j, t, n, s, e, b, r

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
    }

    /// What is wired to the thermocouple input.
    public enum ThermocoupleCondition: Equatable, Hashable, Sendable {
        case connected
        case open
        case shorted
    }

    /// When a conversion (a new sample from the plant) happens.
    public enum ConversionTrigger {
        /// Before every transaction that reads: each read sees the plant as it is now.
        case beforeEveryRead
        /// Every `interval` of `clock` time, checked when a transaction reads (the twin's
        /// virtual clock makes this deterministic).
        case periodic(clock: any RigClock, interval: Duration)
        /// Only when `convert()` is called.
        case manual
    }

    /// Register pointers. Declared again here, from the datasheet, rather than shared with the
    /// driver: the simulator is an independent reading of the part, so a wrong constant in one is
    /// caught by the tests of the other.
    public enum Register {
        public static let hotJunction: UInt8 = 0x00
        public static let junctionDelta: UInt8 = 0x01
        public static let coldJunction: UInt8 = 0x02
        public static let rawADC: UInt8 = 0x03
        public static let status: UInt8 = 0x04
        public static let sensorConfiguration: UInt8 = 0x05
        public static let deviceConfiguration: UInt8 = 0x06
        public static let alertConfiguration: ClosedRange<UInt8> = 0x08...0x0B
        public static let alertHysteresis: ClosedRange<UInt8> = 0x0C...0x0F
        public static let alertLimit: ClosedRange<UInt8> = 0x10...0x13
        public static let deviceID: UInt8 = 0x20
    }

    /// The part's behaviour (which status bits mean what).
    public let part: Part
    /// What Register 0x20 says: set it to another part to simulate a wrong part on the board.
    public var reportedPart: Part
    /// Low byte of Register 0x20.
    public var revision: UInt8
    /// The plant's thermocouple tip temperature, °C.
    public var hotJunction: () -> Double
    /// The plant's temperature at the converter (the cold junction), °C.
    public var coldJunction: () -> Double
    public var conversionTrigger: ConversionTrigger

    // Faults.
    /// NAK every transaction (busy, or clock stretching the master gives up on).
    public var isBusy = false
    public var thermocouple: ThermocoupleCondition = .connected
    /// Every reply all 0xFF.
    public var isGarbling = false
    /// Conversions no longer change the temperature registers.
    public var isStuck = false
    private var naksPending = 0
    private var garblesPending = 0

    // Counters.
    /// Transactions with a read phase answered (garbled ones included).
    public private(set) var readCount = 0
    /// Transactions that wrote data to a register (not just the pointer).
    public private(set) var writeCount = 0
    public private(set) var conversionCount = 0

    // Register file.
    /// The register pointer, as last set by a written first byte.
    public private(set) var pointer: UInt8 = 0
    private var hotRaw: Int16 = 0
    private var deltaRaw: Int16 = 0
    private var coldRaw: Int16 = 0
    /// Register 0x04 as it reads now.
    public private(set) var status: UInt8 = 0
    /// Register 0x05 as it reads now (unimplemented bits 7 and 3 read 0).
    public private(set) var sensorConfiguration: UInt8 = 0
    /// Register 0x06 as it reads now.
    public private(set) var deviceConfiguration: UInt8 = 0
    private var alertConfigurations: [UInt8] = [0, 0, 0, 0]
    private var alertHysteresis: [UInt8] = [0, 0, 0, 0]
    private var alertLimits: [UInt16] = [0, 0, 0, 0]
    private var burstSamplesTaken = 0
    private var nextPeriodicConversion: MonotonicInstant?

    public init(
        part: Part, revision: UInt8 = 0x10, hotJunction: @escaping () -> Double,
        coldJunction: @escaping () -> Double, conversionTrigger: ConversionTrigger = .beforeEveryRead
    ) {
        self.part = part
        reportedPart = part
        self.revision = revision
        self.hotJunction = hotJunction
        self.coldJunction = coldJunction
        self.conversionTrigger = conversionTrigger
    }

    // MARK: - Faults and conversions

    /// NAK the next `count` transactions.
    public func nakNext(_ count: Int) {
        precondition(count >= 0, "nakNext(\(count))")
        naksPending = count
    }

    /// Answer the next `count` reads with all 0xFF.
    public func garbleNext(_ count: Int) {
        precondition(count >= 0, "garbleNext(\(count))")
        garblesPending = count
    }

    /// The thermocouple type Register 0x05 selects.
    public var thermocoupleType: ThermocoupleType {
        ThermocoupleType(rawValue: (sensorConfiguration >> 4) & 0x07)!
    }

    /// Takes a new sample from the plant, as a finished conversion does: updates T_H, T_Δ, T_C
    /// and the fault bits, and sets "T_H updated" (and "burst complete" at the end of a burst).
    /// Nothing happens in shutdown mode.
    public func convert() {
        let mode = deviceConfiguration & 0x03
        guard mode == 0b00 || mode == 0b10 else { return }
        conversionCount += 1

        if !isStuck {
            let cold = coldJunction()
            let range = thermocoupleType.tableRange
            var hot: Double
            var bit4 = false
            var bit5 = false
            switch thermocouple {
            case .connected:
                hot = hotJunction()
                precondition(!hot.isNaN, "the plant gave a NaN hot-junction temperature")
                if hot < range.lowerBound || hot > range.upperBound {
                    hot = min(max(hot, range.lowerBound), range.upperBound)
                    bit4 = part == .mcp9600
                }
            case .open:
                hot = range.upperBound
                bit4 = true
            case .shorted:
                hot = cold
                bit5 = part == .mcp9601
            }
            let quarterDegree = deviceConfiguration & 0x80 != 0
            coldRaw = MCP9600Simulator.coldJunctionRegisterValue(celsius: cold, quarterDegree: quarterDegree)
            hotRaw = MCP9600Simulator.registerValue(celsius: hot)
            let delta = Int(hotRaw) - Int(coldRaw)
            deltaRaw = Int16(clamping: delta)
            status = status & ~0x30 | (bit5 ? 0x20 : 0) | (bit4 ? 0x10 : 0)
        }
        status |= 0x40

        if mode == 0b10 {
            burstSamplesTaken += 1
            if burstSamplesTaken >= burstSampleCount {
                status |= 0x80
                deviceConfiguration = deviceConfiguration & ~0x03 | 0b01
                burstSamplesTaken = 0
            }
        }
    }

    /// Samples per burst, Register 0x06 bits 4..2: 1, 2, 4 ... 128.
    public var burstSampleCount: Int { 1 << Int((deviceConfiguration >> 2) & 0x07) }

    // MARK: - Encoding

    /// A temperature register's value: 0.0625 °C per LSB, rounded to nearest, clamped to Int16.
    public static func registerValue(celsius: Double) -> Int16 {
        precondition(!celsius.isNaN, "cannot encode NaN °C")
        let steps = (celsius * 16).rounded()
        return Int16(min(max(steps, Double(Int16.min)), Double(Int16.max)))
    }

    /// The cold-junction register's value: four sign bits (-256...+255.9375 °C), and in 0.25 °C
    /// mode rounded to whole quarter degrees, so the low two bits read 0.
    public static func coldJunctionRegisterValue(celsius: Double, quarterDegree: Bool) -> Int16 {
        precondition(!celsius.isNaN, "cannot encode NaN °C")
        let steps = quarterDegree ? (celsius * 4).rounded() * 4 : (celsius * 16).rounded()
        let highest: Double = quarterDegree ? 4092 : 4095
        return Int16(min(max(steps, -4096), highest))
    }

    // MARK: - Register file access for tests

    /// The bytes a read of `pointer` returns now (MSB first), without counting a read or
    /// converting; empty for an unimplemented register. Allocates: for tests.
    public func registerBytes(_ pointer: UInt8) -> [UInt8] {
        guard let width = MCP9600Simulator.width(of: pointer) else { return [] }
        return (0..<width).map { registerByte(pointer, $0) }
    }

    /// Bytes in `pointer`'s register, or nil if the part has no such register.
    public static func width(of pointer: UInt8) -> Int? {
        switch pointer {
        case 0x00...0x02: 2
        case 0x03: 3
        case 0x04...0x06: 1
        case 0x08...0x0F: 1
        case 0x10...0x13: 2
        case 0x20: 2
        default: nil
        }
    }

    // MARK: - SimulatedI2CTarget

    public func receive(write: UnsafeRawBufferPointer, readFollows: Bool) throws(SimulatedI2CRefusal) {
        if isBusy { throw .noAcknowledge }
        if naksPending > 0 {
            naksPending -= 1
            throw .noAcknowledge
        }
        if write.isEmpty {
            // A pure read uses the stored pointer; a quick-write probe is NAKed (PROTOCOLS.md §2).
            if readFollows { return }
            throw .noAcknowledge
        }
        let target = write[0]
        guard let width = MCP9600Simulator.width(of: target) else { throw .noAcknowledge }
        pointer = target
        let data = UnsafeRawBufferPointer(rebasing: write[1...])
        if data.isEmpty { return }
        if data.count > width || !MCP9600Simulator.isWritable(target) { throw .noAcknowledge }
        writeCount += 1
        store(data, in: target)
    }

    public func respond(into read: UnsafeMutableRawBufferPointer) throws(SimulatedI2CRefusal) {
        readCount += 1
        if isGarbling || garblesPending > 0 {
            if garblesPending > 0 { garblesPending -= 1 }
            for index in read.indices { read[index] = 0xFF }
            return
        }
        convertIfDue()
        for index in read.indices { read[index] = registerByte(pointer, index) }
    }

    // MARK: - Private

    private static func isWritable(_ pointer: UInt8) -> Bool {
        switch pointer {
        case 0x04...0x06, 0x08...0x13: true
        default: false
        }
    }

    private func convertIfDue() {
        switch conversionTrigger {
        case .beforeEveryRead:
            convert()
        case .periodic(let clock, let interval):
            let now = clock.now()
            if let next = nextPeriodicConversion, now < next { return }
            convert()
            nextPeriodicConversion = now.adding(interval)
        case .manual:
            return
        }
    }

    private func store(_ data: UnsafeRawBufferPointer, in register: UInt8) {
        let value = data[0]
        switch register {
        case Register.status:
            // Bits 7 and 6 clear when written 0 (writing 1 has no effect); the rest are read-only.
            status &= value | 0x3F
        case Register.sensorConfiguration:
            sensorConfiguration = value & 0x77
        case Register.deviceConfiguration:
            deviceConfiguration = value
            burstSamplesTaken = 0
        case Register.alertConfiguration:
            // Bit 7 (clear interrupt) is an action, not state; bits 6..5 are unimplemented.
            alertConfigurations[Int(register - 0x08)] = value & 0x1F
        case Register.alertHysteresis:
            alertHysteresis[Int(register - 0x0C)] = value
        case Register.alertLimit:
            guard data.count == 2 else { return }
            alertLimits[Int(register - 0x10)] = (UInt16(data[0]) << 8 | UInt16(data[1])) & 0xFFFC
        default:
            return
        }
    }

    private func registerByte(_ register: UInt8, _ index: Int) -> UInt8 {
        func word(_ value: UInt16) -> UInt8 {
            switch index {
            case 0: UInt8(value >> 8)
            case 1: UInt8(value & 0xFF)
            default: 0
            }
        }
        func byte(_ value: UInt8) -> UInt8 { index == 0 ? value : 0 }

        switch register {
        case Register.hotJunction: return word(UInt16(bitPattern: hotRaw))
        case Register.junctionDelta: return word(UInt16(bitPattern: deltaRaw))
        case Register.coldJunction: return word(UInt16(bitPattern: coldRaw))
        case Register.rawADC: return 0
        case Register.status: return byte(status)
        case Register.sensorConfiguration: return byte(sensorConfiguration)
        case Register.deviceConfiguration: return byte(deviceConfiguration)
        case Register.alertConfiguration: return byte(alertConfigurations[Int(register - 0x08)])
        case Register.alertHysteresis: return byte(alertHysteresis[Int(register - 0x0C)])
        case Register.alertLimit: return word(alertLimits[Int(register - 0x10)])
        case Register.deviceID:
            return index == 0 ? reportedPart.deviceID : index == 1 ? revision : 0
        default: return 0
        }
    }
}
