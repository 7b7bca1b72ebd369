#if canImport(Glibc)
import Glibc
#endif
import Transports

/// A byte-level Ocean Optics USB2000+ / FLAME-S / USB4000 speaking the OOI USB protocol
/// (PROTOCOLS.md §1), with a realistic EEPROM and detector, behind a simulated USB port.
///
/// Commands arrive on endpoint 0x01; replies (information slots, FPGA registers, status) are
/// queued on 0x81; a spectrum on 0x82 (at high speed the USB4000 sends its first 2048 bytes on
/// 0x86 and the remaining 5633 on 0x82; at full speed every spectrum goes to
/// `fullSpeedSpectrumEndpoint`). Reply sizes: information slot 17 bytes (0x05, slot, 15 bytes),
/// FPGA register 3 bytes (register, uint16 LE), status 16 bytes, spectrum 4097 / 7681 bytes
/// (uint16 LE per pixel, then the sync byte 0x69). A spectrum requested with 0x09 is ready one
/// integration time later on the twin's clock.
///
/// The detector, per pixel p with wavelength λ(p) = c0 + c1·p + c2·p² + c3·p³ (the EEPROM's
/// coefficients): the light y = optics counts per second × integration time (pixels outside
/// `opticalPixels`, which include the electric-dark pixels, get none); the detector's own response
/// x, with y = x / (k0 + k1·x + ... ) for the EEPROM's nonlinearity coefficients (solved by
/// Newton's method); shot noise (x / electrons-per-count) and read noise, one Gaussian; the dark
/// offset and dark current (every pixel, shielded or not); rounded and clipped to the saturation
/// level (slot 17) and 16 bits.
///
/// Choices where the manuals are silent (documented so tests can rely on them, UNVERIFIED
/// against a unit): `initialize` (0x01) empties every queue and sets normal trigger mode but keeps
/// the integration time; an integration time outside the model's limits is ignored (the value
/// stays), as are a trigger mode above 3, commands of the wrong length and unknown opcodes (each
/// counted in `ignoredCommands`); a USB port reset or power cycle restores power-up defaults
/// (integration `defaultIntegrationMicroseconds`, normal trigger, lamp off) and clears a hang.
///
/// Faults: `isHung` (no reply on any IN endpoint until a reset or power cycle),
/// `loseSyncOnNextSpectrum(staleBytes:)` (stale bytes of an earlier transfer ahead of the next
/// spectrum: the host reading 4097 bytes gets a last byte that is not 0x69, and the tail stays
/// queued), `corruptSyncByteOfNextSpectrum()`, and saturation through `optics.lightBoost`.
/// Unplugging is the bus's (`SimulatedUSBBus.unplug`). Noise is seeded: same seed, same spectra.
public final class OceanOpticsSimulator: SimulatedUSBTarget {
    /// The models, declared again here from the datasheets rather than shared with the driver:
    /// the simulator is an independent reading of the protocol.
    public enum Model: String, Equatable, Sendable, CaseIterable {
        case usb2000Plus = "USB2000+"
        case flameS = "FLAME-S"
        case usb4000 = "USB4000"

        public var productID: UInt16 { self == .usb4000 ? 0x1022 : 0x101E }
        /// Pixels transferred per spectrum.
        public var pixelCount: Int { self == .usb4000 ? 3840 : 2048 }
        /// Bytes of a spectrum transfer: two per pixel and the sync byte.
        public var spectrumBytes: Int { pixelCount * 2 + 1 }
        /// Electric-dark (optically shielded) pixels.
        public var electricDarkPixels: ClosedRange<Int> { self == .usb4000 ? 5...15 : 6...20 }
        /// Pixels that see light: the ILX511B's 2048 minus its first 20 (shielded and dummy); the
        /// TCD1304's 3648 active pixels (UNVERIFIED: their place in the 3840 transferred).
        public var opticalPixels: Range<Int> { self == .usb4000 ? 22..<3670 : 20..<2048 }
        /// Integration time limits, µs (USB2000+/FLAME-S 1 ms, USB4000 10 µs; 65 s).
        public var integrationLimits: ClosedRange<UInt32> { self == .usb4000 ? 10...65_000_000 : 1000...65_000_000 }
        /// FPGA firmware version (register 0x04): FLAME-S major version 3, USB2000+ 2.
        public var defaultFPGAVersion: UInt16 { self == .flameS ? 0x3100 : 0x2100 }
    }

    /// Detector parameters.
    public struct Detector: Equatable, Sendable {
        /// Offset of every pixel, counts.
        public var darkOffsetCounts: Double
        /// Thermal dark current, counts per second of integration (every pixel).
        public var darkCurrentCountsPerSecond: Double
        /// Read noise, counts RMS.
        public var readNoiseCounts: Double
        /// Electrons per count: the shot noise of x counts is √(x / this) counts. Flame manual:
        /// about 160 000 electrons fill the 65 535 counts.
        public var electronsPerCount: Double
        /// Where the raw counts clip (information slot 17; at most 65 535).
        public var saturationCounts: Int
        /// The detector's response x ↦ x / (k0 + k1·x + ...): slots 6.. and the order in slot 14.
        public var nonlinearity: [Double]

        public init(
            darkOffsetCounts: Double = 1500, darkCurrentCountsPerSecond: Double = 200, readNoiseCounts: Double = 50,
            electronsPerCount: Double = 160_000 / 65_535, saturationCounts: Int = 65_535,
            nonlinearity: [Double] = [1.0, -1.2e-6, -2.0e-12]
        ) {
            precondition(saturationCounts > 0 && saturationCounts <= 65_535, "saturation is 1...65535 counts")
            precondition(!nonlinearity.isEmpty && nonlinearity.count <= 8, "k0 ... k7")
            self.darkOffsetCounts = darkOffsetCounts
            self.darkCurrentCountsPerSecond = darkCurrentCountsPerSecond
            self.readNoiseCounts = readNoiseCounts
            self.electronsPerCount = electronsPerCount
            self.saturationCounts = saturationCounts
            self.nonlinearity = nonlinearity
        }
    }

    /// Opcodes (first byte of a command on 0x01).
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

    public let model: Model
    public let vendorID: UInt16 = 0x2457
    public var productID: UInt16 { model.productID }
    /// iSerialNumber is 0 on the OOI spectrometers (the serial is in slot 0).
    public var serialNumberDescriptor: String? { nil }
    public var isHighSpeed: Bool
    /// Where spectra go at full speed (UNVERIFIED: the manual says 0x82, python-seabreeze reads 0x81).
    public var fullSpeedSpectrumEndpoint: UInt8 = 0x82
    public let optics: SpectrometerOptics
    public var detector: Detector {
        didSet {
            cachedRevision = nil
            writeDetectorSlots()
        }
    }
    /// The FPGA firmware version register (0x04).
    public var fpgaVersion: UInt16
    /// The 20 information slots, 15 bytes each, as the EEPROM holds them.
    public private(set) var slots: [[UInt8]]
    /// Wavelength of each transferred pixel from the EEPROM's coefficients, nm.
    public let wavelengths: [Double]

    public static let defaultIntegrationMicroseconds: UInt32 = 10_000

    // State.
    public private(set) var integrationMicroseconds: UInt32 = defaultIntegrationMicroseconds
    public private(set) var triggerMode: UInt16 = 0
    public private(set) var lampEnabled = false
    public var isHung = false

    // Counters.
    /// Commands received by opcode (ignored ones included).
    public private(set) var commandCounts = [Int](repeating: 0, count: 256)
    public private(set) var ignoredCommands = 0
    public private(set) var spectraSent = 0
    public private(set) var powerOns = 0
    public private(set) var portResets = 0

    private let clock: (any RigClock)?
    private var random: SeededRandom
    private let replies = SimulatedUSBEndpoint(address: 0x81, capacity: 256)
    private let spectra = SimulatedUSBEndpoint(address: 0x82, capacity: 16_384)
    private let spectraFirstPart = SimulatedUSBEndpoint(address: 0x86, capacity: 4096)
    /// Light per pixel (counts per second), cached for the optics revision and lamp state.
    private var lightPerSecond: [Double]
    private var cachedRevision: (optics: UInt64, lamp: Bool)?
    /// The raw counts of the spectrum being built.
    private var frame: [UInt16]
    private var staleBytesBeforeNextSpectrum = 0
    private var corruptNextSync = false

    /// A spectrometer with serial number `serialNumber`, wavelength coefficients c0..c3 and the
    /// detector given, looking at `optics`. `clock` dates spectra (nil: ready at once).
    public init(
        model: Model, serialNumber: String, wavelengthCoefficients: [Double], optics: SpectrometerOptics,
        detector: Detector = Detector(), highSpeed: Bool = true, clock: (any RigClock)? = nil, seed: UInt64 = 1
    ) {
        precondition(wavelengthCoefficients.count == 4, "wavelength coefficients are c0 ... c3")
        precondition(!serialNumber.isEmpty && serialNumber.utf8.count <= 14, "a serial number is 1...14 ASCII bytes")
        self.model = model
        self.optics = optics
        self.detector = detector
        self.isHighSpeed = highSpeed
        self.clock = clock
        fpgaVersion = model.defaultFPGAVersion
        random = SeededRandom(seed: seed)
        wavelengths = (0..<model.pixelCount).map { pixel in
            let p = Double(pixel)
            return wavelengthCoefficients[0] + p * (wavelengthCoefficients[1] + p * (wavelengthCoefficients[2] + p * wavelengthCoefficients[3]))
        }
        lightPerSecond = [Double](repeating: 0, count: model.pixelCount)
        frame = [UInt16](repeating: 0, count: model.pixelCount)
        slots = [[UInt8]](repeating: [UInt8](repeating: 0, count: 15), count: 20)
        setSlot(0, text: serialNumber)
        for (index, coefficient) in wavelengthCoefficients.enumerated() {
            setSlot(1 + index, text: Self.eepromText(coefficient))
        }
        writeDetectorSlots()
    }

    // MARK: - EEPROM

    /// Sets slot `slot` to `text` (ASCII, NUL-padded to 15 bytes).
    public func setSlot(_ slot: Int, text: String) {
        precondition(text.utf8.count <= 14, "a slot holds 14 characters and a NUL, got \(text)")
        var bytes = [UInt8](repeating: 0, count: 15)
        for (index, byte) in text.utf8.enumerated() { bytes[index] = byte }
        slots[slot] = bytes
    }

    /// Sets slot `slot` to raw bytes (at most 15).
    public func setSlot(_ slot: Int, bytes: [UInt8]) {
        precondition(bytes.count <= 15, "a slot holds 15 bytes")
        slots[slot] = bytes + [UInt8](repeating: 0, count: 15 - bytes.count)
    }

    /// Nonlinearity k0..k7 in slots 6..13, their order in slot 14, saturation in slot 17.
    private func writeDetectorSlots() {
        for index in 0..<8 {
            let value = index < detector.nonlinearity.count ? detector.nonlinearity[index] : 0
            setSlot(6 + index, text: Self.eepromText(value))
        }
        setSlot(14, text: String(detector.nonlinearity.count - 1))
        let level = UInt16(detector.saturationCounts)
        // Slot 17: the level as uint16 LE at reply bytes 6..7, i.e. slot bytes 4..5.
        var bytes = [UInt8](repeating: 0, count: 15)
        bytes[4] = UInt8(level & 0xFF)
        bytes[5] = UInt8(level >> 8)
        slots[17] = bytes
    }

    /// A coefficient as an EEPROM holds it: 8 significant digits in E notation, at most 14
    /// characters (`-1.2345678E-09`); 0 is `0`.
    public static func eepromText(_ value: Double) -> String {
        precondition(value.isFinite, "an EEPROM coefficient must be finite")
        if value == 0 { return "0" }
        var exponent = Int(floor(log10(abs(value))))
        var digits = Int64((abs(value) / pow(10, Double(exponent)) * 1e7).rounded())
        if digits >= 100_000_000 {
            exponent += 1
            digits = Int64((abs(value) / pow(10, Double(exponent)) * 1e7).rounded())
        }
        let text = String(digits)
        let mantissa = "\(text.prefix(1)).\(text.dropFirst())"
        let exponentDigits = String(abs(exponent))
        let exponentText = (exponent < 0 ? "-" : "+") + (exponentDigits.count < 2 ? "0" : "") + exponentDigits
        return (value < 0 ? "-" : "") + mantissa + "E" + exponentText
    }

    // MARK: - Faults

    /// The next spectrum arrives behind `staleBytes` bytes left over from an earlier transfer.
    public func loseSyncOnNextSpectrum(staleBytes: Int = 512) {
        precondition(staleBytes > 0 && staleBytes < model.spectrumBytes, "stale bytes must be fewer than a spectrum")
        staleBytesBeforeNextSpectrum = staleBytes
    }

    /// The next spectrum's last byte is not the sync byte.
    public func corruptSyncByteOfNextSpectrum() {
        corruptNextSync = true
    }

    /// The raw counts of the last spectrum built (what the transfer carries, before the sync byte).
    public var lastSpectrum: [UInt16] { frame }

    /// Bytes queued for the host on every IN endpoint.
    public var pendingBytes: Int { replies.pendingBytes + spectra.pendingBytes + spectraFirstPart.pendingBytes }

    // MARK: - SimulatedUSBTarget

    public func inEndpoint(_ address: UInt8) -> SimulatedUSBEndpoint? {
        switch address {
        case 0x81: replies
        case 0x82: spectra
        case 0x86: spectraFirstPart
        default: nil
        }
    }

    public func portReset() {
        portResets += 1
        powerUpState()
    }

    public func powerOn() {
        powerOns += 1
        powerUpState()
    }

    private func powerUpState() {
        replies.clear()
        spectra.clear()
        spectraFirstPart.clear()
        integrationMicroseconds = Self.defaultIntegrationMicroseconds
        triggerMode = 0
        lampEnabled = false
        isHung = false
        staleBytesBeforeNextSpectrum = 0
        corruptNextSync = false
    }

    public func receive(endpoint: UInt8, bytes: UnsafeRawBufferPointer, at now: MonotonicInstant)
        throws(SimulatedUSBRefusal)
    {
        guard endpoint == 0x01 else { throw SimulatedUSBRefusal(.stall) }
        guard let opcode = bytes.first else {
            ignoredCommands += 1
            return
        }
        commandCounts[Int(opcode)] += 1
        func argument16() -> UInt16 { UInt16(bytes[1]) | UInt16(bytes[2]) << 8 }
        switch (opcode, bytes.count) {
        case (Opcode.initialize, 1):
            replies.clear()
            spectra.clear()
            spectraFirstPart.clear()
            triggerMode = 0
        case (Opcode.setIntegrationTime, 5):
            let value = UInt32(bytes[1]) | UInt32(bytes[2]) << 8 | UInt32(bytes[3]) << 16 | UInt32(bytes[4]) << 24
            if model.integrationLimits.contains(value) { integrationMicroseconds = value } else { ignoredCommands += 1 }
        case (Opcode.setLamp, 3):
            lampEnabled = argument16() != 0
        case (Opcode.queryInformation, 2):
            let slot = Int(bytes[1])
            guard slot < slots.count else {
                ignoredCommands += 1
                return
            }
            let data = slots[slot]
            replies.enqueue(length: 17, readyAt: now) { reply in
                reply[0] = Opcode.queryInformation
                reply[1] = UInt8(slot)
                for index in 0..<15 { reply[2 + index] = data[index] }
            }
        case (Opcode.requestSpectrum, 1):
            sendSpectrum(at: now)
        case (Opcode.setTriggerMode, 3):
            let mode = argument16()
            if mode <= 3 { triggerMode = mode } else { ignoredCommands += 1 }
        case (Opcode.readFPGARegister, 2):
            let register = bytes[1]
            let value: UInt16 = register == 0x04 ? fpgaVersion : 0
            replies.enqueue(length: 3, readyAt: now) { reply in
                reply[0] = register
                reply[1] = UInt8(value & 0xFF)
                reply[2] = UInt8(value >> 8)
            }
        case (Opcode.queryStatus, 1):
            queueStatus(at: now)
        default:
            ignoredCommands += 1
        }
    }

    /// Packets one spectrum takes at the current speed.
    public var packetsPerSpectrum: Int {
        let packet = isHighSpeed ? 512 : 64
        if model == .usb4000 && isHighSpeed {
            return (2048 + packet - 1) / packet + (model.spectrumBytes - 2048 + packet - 1) / packet
        }
        return (model.spectrumBytes + packet - 1) / packet
    }

    private func queueStatus(at now: MonotonicInstant) {
        let pixels = UInt16(model.pixelCount)
        let integration = integrationMicroseconds
        let waiting = spectra.pendingBytes + spectraFirstPart.pendingBytes
        let packet = isHighSpeed ? 512 : 64
        let packetsWaiting = min(255, (waiting + packet - 1) / packet)
        let packets = UInt8(min(255, packetsPerSpectrum))
        replies.enqueue(length: 16, readyAt: now) { reply in
            for index in 0..<16 { reply[index] = 0 }
            reply[0] = UInt8(pixels & 0xFF)
            reply[1] = UInt8(pixels >> 8)
            reply[2] = UInt8(integration & 0xFF)
            reply[3] = UInt8((integration >> 8) & 0xFF)
            reply[4] = UInt8((integration >> 16) & 0xFF)
            reply[5] = UInt8(integration >> 24)
            reply[6] = lampEnabled ? 1 : 0
            reply[7] = UInt8(triggerMode)
            reply[8] = waiting > 0 ? 1 : 0
            reply[9] = packets
            reply[10] = 1
            reply[11] = UInt8(packetsWaiting)
            reply[14] = isHighSpeed ? 0x80 : 0x00
        }
    }

    // MARK: - Spectra

    /// Builds one spectrum into `frame` and queues it, ready one integration time after `now`.
    private func sendSpectrum(at now: MonotonicInstant) {
        buildFrame()
        spectraSent += 1
        let ready = now.adding(nanoseconds: Int64(integrationMicroseconds) * 1000)
        let total = model.spectrumBytes
        let primary = isHighSpeed ? spectra : (inEndpoint(fullSpeedSpectrumEndpoint) ?? spectra)
        if staleBytesBeforeNextSpectrum > 0 {
            let stale = staleBytesBeforeNextSpectrum
            staleBytesBeforeNextSpectrum = 0
            // The tail of an earlier spectrum nobody read: mid-frame pixel bytes, then its sync.
            primary.enqueue(length: stale, readyAt: now) { bytes in
                for index in 0..<stale { bytes[index] = UInt8(truncatingIfNeeded: 0x40 + index) }
                bytes[stale - 1] = 0x69
            }
        }
        let sync: UInt8 = corruptNextSync ? 0x00 : 0x69
        corruptNextSync = false
        frame.withUnsafeBufferPointer { pixels in
            func fill(_ bytes: UnsafeMutableRawBufferPointer, from start: Int) {
                for index in 0..<bytes.count {
                    let position = start + index
                    if position == total - 1 {
                        bytes[index] = sync
                    } else {
                        let value = pixels[position / 2]
                        bytes[index] = position % 2 == 0 ? UInt8(value & 0xFF) : UInt8(value >> 8)
                    }
                }
            }
            if model == .usb4000 && isHighSpeed {
                spectraFirstPart.enqueue(length: 2048, readyAt: ready) { fill($0, from: 0) }
                spectra.enqueue(length: total - 2048, readyAt: ready) { fill($0, from: 2048) }
            } else {
                primary.enqueue(length: total, readyAt: ready) { fill($0, from: 0) }
            }
        }
    }

    /// The raw counts of one acquisition at the current integration time (see the type's notes).
    private func buildFrame() {
        refreshLight()
        let seconds = Double(integrationMicroseconds) / 1e6
        let base = detector.darkOffsetCounts + detector.darkCurrentCountsPerSecond * seconds
        let ceiling = Double(min(detector.saturationCounts, 65_535))
        let readVariance = detector.readNoiseCounts * detector.readNoiseCounts
        let k = detector.nonlinearity
        for pixel in 0..<model.pixelCount {
            let light = lightPerSecond[pixel] * seconds
            let response = light > 0 ? Self.detectorResponse(light: light, nonlinearity: k) : 0
            let variance = max(response, 0) / detector.electronsPerCount + readVariance
            let value = base + response + variance.squareRoot() * random.nextGaussian()
            frame[pixel] = UInt16(min(max(value.rounded(), 0), ceiling))
        }
    }

    /// The counts x the detector reports for `light` linear counts: y = x / (k0 + k1·x + ...),
    /// solved by Newton's method from x = y.
    static func detectorResponse(light y: Double, nonlinearity k: [Double]) -> Double {
        var x = y
        for _ in 0..<6 {
            var polynomial = 0.0
            var derivative = 0.0
            for index in stride(from: k.count - 1, through: 0, by: -1) {
                derivative = derivative * x + polynomial
                polynomial = polynomial * x + k[index]
            }
            // f(x) = x − y·P(x); f'(x) = 1 − y·P'(x).
            let f = x - y * polynomial
            let slope = 1 - y * derivative
            guard slope != 0 else { break }
            let step = f / slope
            x -= step
            if abs(step) < 1e-9 * max(1, abs(x)) { break }
        }
        return x
    }

    /// Recomputes the light per pixel when the optics or the lamp changed.
    private func refreshLight() {
        let key = (optics.revision, lampEnabled)
        if let cached = cachedRevision, cached == key { return }
        if lampEnabled {
            optics.fill(countsPerSecond: &lightPerSecond, wavelengths: wavelengths)
            let optical = model.opticalPixels
            for pixel in 0..<model.pixelCount where !optical.contains(pixel) { lightPerSecond[pixel] = 0 }
        } else {
            for pixel in 0..<model.pixelCount { lightPerSecond[pixel] = 0 }
        }
        cachedRevision = key
    }
}
