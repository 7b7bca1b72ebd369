import Transports

/// Honeywell ABP (Basic Amplified, TruStability-class) digital pressure sensor on I2C: the
/// reactor's head-space pressure on boards that regulate it with solenoids.
///
/// Protocol (Honeywell technical note "I2C Communications with Honeywell Digital Output Pressure
/// Sensors", §2.2; Linux drivers/iio/pressure/abp060mg.c):
/// - A plain read of 2 bytes from the 7-bit address (0x28 by default; 0x38...0x78 by order code)
///   with no register pointer: byte 1 = status S1 S0 (bits 7..6) and bridge data bits 13..8,
///   byte 2 = bridge data bits 7..0 (the optional temperature bytes 3 and 4 are not read).
/// - Status (S1 S0): 00 normal (new, valid data), 01 device in command mode, 10 stale data
///   (already read since the last conversion), 11 diagnostic condition. The kernel driver
///   rejects every reading with either bit set (`ABP060MG_ERROR_MASK` 0xC000); here a stale
///   reading is returned flagged, because a value read again is still a valid pressure.
/// - Transfer function (datasheet, "transfer function A: 10 % to 90 % of 2^14 counts"):
///   P = (counts − 1638) × (Pmax − Pmin) / (14745 − 1638) + Pmin, where 1638 = 0x0666 is 10 %
///   and 14745 = 0x3999 is 90 % of 2^14 (`ABP060MG_MIN_COUNTS`, `ABP060MG_MAX_COUNTS`): 13107
///   counts, 80 % of 2^14, span the calibrated range.
/// - An all-ones reply (a released SDA line) reads as status 11: a diagnostic condition, so a
///   missing sensor is never taken for a pressure.
/// The ABP2 series speaks a different protocol (a measure command, then a status byte and 24-bit
/// data) and is not handled here.
///
/// Retry: a failed transfer or a command-mode / diagnostic status is read again once; the second
/// failure is thrown. Not thread-safe: one owner. `read()` allocates nothing.
public final class HoneywellABP {
    /// The two status bits (byte 1, bits 7..6).
    public enum Status: UInt8, Equatable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case normal = 0b00
        case commandMode = 0b01
        case stale = 0b10
        case diagnostic = 0b11

        public var description: String {
            switch self {
            case .normal: "normal"
            case .commandMode: "device in command mode"
            case .stale: "stale data"
            case .diagnostic: "diagnostic condition"
            }
        }
    }

    /// Output at the bottom of the calibrated range: 10 % of 2^14 (0x0666).
    public static let outputMinimumCounts: UInt16 = 1638
    /// Output at the top of the calibrated range: 90 % of 2^14 (0x3999).
    public static let outputMaximumCounts: UInt16 = 14745
    /// The factory default 7-bit address (order code "2").
    public static let defaultAddress: UInt8 = 0x28

    public let bus: any I2CBus
    public let address: UInt8
    /// Pmin...Pmax of the part's order code, converted to mbar gauge (e.g. ABP...001BG: 0...1000).
    public let rangeMbar: ClosedRange<Double>
    private let buffer: UnsafeMutableRawBufferPointer

    public init(bus: any I2CBus, address: UInt8 = HoneywellABP.defaultAddress, rangeMbar: ClosedRange<Double>) {
        precondition(address < 0x80, "I2C addresses are 7-bit, got 0x\(hex(address))")
        precondition(rangeMbar.upperBound > rangeMbar.lowerBound, "a pressure range has a span")
        self.bus = bus
        self.address = address
        self.rangeMbar = rangeMbar
        buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2, alignment: 1)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
    }

    deinit { buffer.deallocate() }

    /// One reading: a 2-byte read, decoded and converted; retried once on a bus error, command
    /// mode or a diagnostic condition.
    public func read() throws(HoneywellABPError) -> PressureReading {
        let nothing = UnsafeRawBufferPointer(start: nil, count: 0)
        var attempt = 1
        while true {
            let failure: HoneywellABPError.Kind
            do throws(I2CError) {
                try bus.transfer(address: address, write: nothing, read: buffer)
                let (status, counts) = HoneywellABP.decode(msb: buffer[0], lsb: buffer[1])
                switch status {
                case .normal, .stale:
                    return PressureReading(
                        mbar: HoneywellABP.mbar(counts: counts, range: rangeMbar), counts: counts,
                        isStale: status == .stale,
                        isWithinCalibratedRange: (HoneywellABP.outputMinimumCounts...HoneywellABP.outputMaximumCounts)
                            .contains(counts))
                case .commandMode, .diagnostic:
                    failure = .status(status, bytes: [buffer[0], buffer[1]])
                }
            } catch {
                failure = .bus(error)
            }
            if attempt == 2 { throw HoneywellABPError(bus: bus.name, address: address, kind: failure) }
            attempt += 1
        }
    }

    /// Status bits and the 14-bit bridge counts from the two bytes as read.
    public static func decode(msb: UInt8, lsb: UInt8) -> (status: Status, counts: UInt16) {
        let status = Status(rawValue: msb >> 6)!
        return (status, UInt16(msb & 0x3F) << 8 | UInt16(lsb))
    }

    /// The transfer function: P = (counts − 1638) × (Pmax − Pmin) / 13107 + Pmin, mbar.
    /// Counts outside 1638...14745 extrapolate (the part is outside its calibrated range).
    public static func mbar(counts: UInt16, range: ClosedRange<Double>) -> Double {
        let span = Double(outputMaximumCounts - outputMinimumCounts)
        return (Double(counts) - Double(outputMinimumCounts)) * (range.upperBound - range.lowerBound) / span
            + range.lowerBound
    }
}

/// One reading of a Honeywell ABP.
public struct PressureReading: Equatable, Sendable {
    /// Pressure by the transfer function, mbar gauge.
    public var mbar: Double
    /// The 14-bit bridge counts.
    public var counts: UInt16
    /// Status 10: no conversion since the last read; the value is the previous one.
    public var isStale: Bool
    /// Counts within 1638...14745, the calibrated 10-90 % band. Outside it the value is an
    /// extrapolation (a pressure beyond the part's range, or a fault).
    public var isWithinCalibratedRange: Bool

    public init(mbar: Double, counts: UInt16, isStale: Bool, isWithinCalibratedRange: Bool) {
        self.mbar = mbar
        self.counts = counts
        self.isStale = isStale
        self.isWithinCalibratedRange = isWithinCalibratedRange
    }
}

/// A failed Honeywell ABP reading, after one retry.
public struct HoneywellABPError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// The I2C transfer failed.
        case bus(I2CError)
        /// The part reported command mode or a diagnostic condition; `bytes` as received.
        case status(HoneywellABP.Status, bytes: [UInt8])
    }

    public var bus: String
    public var address: UInt8
    public var kind: Kind

    public init(bus: String, address: UInt8, kind: Kind) {
        self.bus = bus
        self.address = address
        self.kind = kind
    }

    public var description: String {
        let place = "Honeywell ABP on \(bus) address 0x\(hex(address))"
        switch kind {
        case .bus(let error):
            return "\(place): read failed twice: \(error)"
        case .status(let status, let bytes):
            return "\(place): status \(status) twice (bytes \(bytes.map { hex($0) }.joined(separator: " ")))"
        }
    }
}
