import Transports

/// A byte-level Honeywell ABP pressure sensor on the twin's I2C bus (`SimulatedI2CBus.attach`).
///
/// Declared again here from the Honeywell technical note ("I2C Communications with Honeywell
/// Digital Output Pressure Sensors") rather than shared with the driver, so a wrong constant in
/// one is caught by the tests of the other:
/// - a read returns byte 1 = status (bits 7..6) and bridge data bits 13..8, byte 2 = bits 7..0;
///   bytes 3 and 4 (the optional temperature) read 0x00 here (the twin's part has no temperature
///   option);
/// - status 00 normal, 01 command mode, 10 stale data, 11 diagnostic condition;
/// - counts = 1638 + (P − Pmin) / (Pmax − Pmin) × 13107 (10 % to 90 % of 2^14), rounded, and
///   clamped to the 14-bit output 0...16383.
/// Conversions: a read right after a conversion is "normal"; a second read before the next
/// conversion is "stale" (the same counts). With `.everyRead` every read converts first.
/// A zero-length write (a measurement request, as the kernel driver sends) is acknowledged and
/// converts; a write with data is NAKed (the part has no registers).
/// Faults: `forcedStatus` (command mode or diagnostic on every read), `isBusy` (NAK all),
/// `nakNext`.
public final class HoneywellABPSimulator: SimulatedI2CTarget {
    public enum ConversionTrigger {
        /// Every read converts first: always "normal".
        case everyRead
        /// A conversion every `interval` of `clock` time (checked at each read).
        case periodic(clock: any RigClock, interval: Duration)
    }

    /// Pmin...Pmax of the simulated part, mbar gauge.
    public let rangeMbar: ClosedRange<Double>
    /// The plant's pressure at the port, mbar gauge.
    public var pressureMbar: () -> Double
    public var conversionTrigger: ConversionTrigger
    /// Every read reports this status (raw bits 0...3) instead of the true one; nil: the truth.
    public var forcedStatus: UInt8?
    public var isBusy = false
    private var naksPending = 0

    /// The counts of the last conversion.
    public private(set) var counts: UInt16 = 0
    private var readSinceConversion = true
    private var nextPeriodicConversion: MonotonicInstant?
    public private(set) var readCount = 0
    public private(set) var conversionCount = 0

    public init(
        rangeMbar: ClosedRange<Double>, conversionTrigger: ConversionTrigger = .everyRead,
        pressureMbar: @escaping () -> Double
    ) {
        precondition(rangeMbar.upperBound > rangeMbar.lowerBound, "a pressure range has a span")
        self.rangeMbar = rangeMbar
        self.conversionTrigger = conversionTrigger
        self.pressureMbar = pressureMbar
    }

    /// NAK the next `count` transactions.
    public func nakNext(_ count: Int) {
        precondition(count >= 0, "nakNext(\(count))")
        naksPending = count
    }

    /// The counts the part outputs at `mbar`: the datasheet's transfer function A inverted.
    public static func counts(mbar: Double, range: ClosedRange<Double>) -> UInt16 {
        precondition(!mbar.isNaN, "the plant gave a NaN pressure")
        let fraction = (mbar - range.lowerBound) / (range.upperBound - range.lowerBound)
        let raw = (1638 + fraction * 13107).rounded()
        return UInt16(min(max(raw, 0), 16383))
    }

    /// Converts now: samples the plant.
    public func convert() {
        counts = HoneywellABPSimulator.counts(mbar: pressureMbar(), range: rangeMbar)
        readSinceConversion = false
        conversionCount += 1
    }

    // MARK: - SimulatedI2CTarget

    public func receive(write: UnsafeRawBufferPointer, readFollows: Bool) throws(SimulatedI2CRefusal) {
        if isBusy { throw .noAcknowledge }
        if naksPending > 0 {
            naksPending -= 1
            throw .noAcknowledge
        }
        guard write.isEmpty else { throw .noAcknowledge }
        if !readFollows { convert() }
    }

    public func respond(into read: UnsafeMutableRawBufferPointer) throws(SimulatedI2CRefusal) {
        readCount += 1
        switch conversionTrigger {
        case .everyRead:
            convert()
        case .periodic(let clock, let interval):
            let now = clock.now()
            if nextPeriodicConversion.map({ now >= $0 }) ?? true {
                convert()
                nextPeriodicConversion = now.adding(interval)
            }
        }
        let status = forcedStatus ?? (readSinceConversion ? 0b10 : 0b00)
        readSinceConversion = true
        for index in read.indices {
            switch index {
            case 0: read[index] = (status & 0x03) << 6 | UInt8(counts >> 8) & 0x3F
            case 1: read[index] = UInt8(counts & 0xFF)
            default: read[index] = 0
            }
        }
    }
}
