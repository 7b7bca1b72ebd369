import Foundation
import Testing
import Transports
@testable import Twin

/// The published rig's absorbance axis as EEPROM coefficients (pixels 20-2047).
private let rigCoefficients = [1.7806486e2, 3.7428912e-1, -1.2662454e-5, -3.6355806e-9]

/// A simulator on a bus with a transport and a virtual clock, spoken to byte by byte.
private struct Port {
    let clock = VirtualClock()
    let simulator: OceanOpticsSimulator
    let bus = SimulatedUSBBus()
    let device: SimulatedUSBDevice

    init(
        _ model: OceanOpticsSimulator.Model, highSpeed: Bool = true, detector: OceanOpticsSimulator.Detector = .init(),
        optics: SpectrometerOptics? = nil, seed: UInt64 = 5
    ) throws {
        let optics = optics ?? SpectrometerOptics(
            kind: .absorbance,
            sample: CurrentSample(exciton: ExcitonBand(peakNanometres: 520, fwhmNanometres: 30, height: 0.25), emission: nil),
            sourceCountsPerMillisecond: 5000)
        simulator = OceanOpticsSimulator(
            model: model, serialNumber: "FLMS04321", wavelengthCoefficients: rigCoefficients, optics: optics,
            detector: detector, highSpeed: highSpeed, clock: clock, seed: seed)
        bus.attach(simulator)
        device = try SimulatedUSBDevice(
            bus: bus, match: USBDeviceMatch(vendorID: 0x2457, productID: model.productID), clock: clock)
    }

    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try device.bulkWrite(endpoint: 0x01, bytes: $0, timeoutMilliseconds: 1000) }
    }

    /// One IN transfer of up to `length` bytes.
    func read(_ endpoint: UInt8, _ length: Int, timeout: Int = 1000) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: length)
        let count = try buffer.withUnsafeMutableBytes {
            try device.bulkRead(endpoint: endpoint, into: $0, timeoutMilliseconds: timeout)
        }
        return Array(buffer.prefix(count))
    }

    /// Pixel counts of a spectrum transfer.
    static func pixels(_ bytes: [UInt8]) -> [UInt16] {
        stride(from: 0, to: bytes.count - 1, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
    }
}

@Suite("Ocean Optics simulator, byte by byte")
struct OceanOpticsSimulatorTests {
    @Test("information slot (0x05): 17 bytes on 0x81, echo 0x05 and the slot, then 15 EEPROM bytes", arguments: [0, 1, 4, 14, 17])
    func informationSlot(slot: Int) throws {
        let port = try Port(.flameS)
        try port.send([0x05, UInt8(slot)])
        let reply = try port.read(0x81, 64)
        #expect(reply.count == 17)
        #expect(reply[0] == 0x05 && reply[1] == UInt8(slot))
        #expect(Array(reply[2...]) == port.simulator.slots[slot])
    }

    @Test("EEPROM contents: serial, c0..c3 as 8-digit E notation, k0..k2 and order 2, saturation uint16 LE at reply bytes 6..7")
    func eepromContents() throws {
        let port = try Port(.flameS, detector: .init(saturationCounts: 62_000))
        func text(_ slot: Int) throws -> String {
            try port.send([0x05, UInt8(slot)])
            let reply = try port.read(0x81, 64)
            return String(decoding: reply[2...].prefix { $0 != 0 }, as: UTF8.self)
        }
        #expect(try text(0) == "FLMS04321")
        #expect(try text(1) == "1.7806486E+02")
        #expect(try text(2) == "3.7428912E-01")
        #expect(try text(3) == "-1.2662454E-05")
        #expect(try text(4) == "-3.6355806E-09")
        #expect(try text(6) == "1.0000000E+00")
        #expect(try text(7) == "-1.2000000E-06")
        #expect(try text(8) == "-2.0000000E-12")
        #expect(try text(9) == "0")
        #expect(try text(14) == "2")
        try port.send([0x05, 17])
        let saturation = try port.read(0x81, 64)
        #expect(UInt16(saturation[6]) | UInt16(saturation[7]) << 8 == 62_000)
    }

    @Test("EEPROM number text: 8 significant digits, at most 14 characters, the carry into the exponent", arguments: [
        (178.06486, "1.7806486E+02"), (-3.6355806e-9, "-3.6355806E-09"), (9.999999999, "1.0000000E+01"),
        (0.1, "1.0000000E-01"), (1e-100, "1.0000000E-100"), (0, "0"), (-65535, "-6.5535000E+04"),
    ])
    func eepromText(value: Double, text: String) {
        #expect(OceanOpticsSimulator.eepromText(value) == text)
        #expect(Double(text) == Double(OceanOpticsSimulator.eepromText(value)))
        if abs(value) > 1e-99 { #expect(text.count <= 14) }
    }

    @Test("FPGA register 0x6B: 3 bytes, the register echoed then uint16 LE; register 0x04 is the firmware version")
    func fpgaRegister() throws {
        let port = try Port(.flameS)
        try port.send([0x6B, 0x04])
        #expect(try port.read(0x81, 64) == [0x04, 0x00, 0x31])
        port.simulator.fpgaVersion = 0x2345
        try port.send([0x6B, 0x04])
        #expect(try port.read(0x81, 64) == [0x04, 0x45, 0x23])
        try port.send([0x6B, 0x10])
        #expect(try port.read(0x81, 64) == [0x10, 0x00, 0x00])
    }

    @Test("status (0xFE): 16 bytes: pixels, integration µs, lamp, trigger, acquiring, packets, powered, queued packets, speed")
    func status() throws {
        let port = try Port(.usb4000)
        try port.send([0x02, 0x88, 0x13, 0x00, 0x00])  // 5000 µs
        try port.send([0x0A, 0x02, 0x00])
        try port.send([0x03, 0x01, 0x00])
        try port.send([0x09])
        try port.send([0xFE])
        let reply = try port.read(0x81, 64)
        #expect(reply == [0x00, 0x0F, 0x88, 0x13, 0x00, 0x00, 1, 2, 1, 16, 1, 16, 0, 0, 0x80, 0])
    }

    @Test("spectrum (0x09): 4097 bytes on 0x82 ending in 0x69, ready one integration time later", arguments: [
        (OceanOpticsSimulator.Model.usb2000Plus, true), (.flameS, true), (.flameS, false),
    ])
    func spectrum2048(model: OceanOpticsSimulator.Model, highSpeed: Bool) throws {
        let port = try Port(model, highSpeed: highSpeed)
        try port.send([0x02, 0x40, 0x1F, 0x00, 0x00])
        try port.send([0x03, 0x01, 0x00])
        try port.send([0x09])
        let start = port.clock.now()
        let bytes = try port.read(0x82, 4097, timeout: 1008)
        #expect(bytes.count == 4097)
        #expect(bytes.last == 0x69)
        #expect(Port.pixels(bytes) == port.simulator.lastSpectrum)
        #expect(port.clock.now() == start.adding(nanoseconds: 8_000_000))
    }

    @Test("USB4000 at high speed: 2048 bytes on 0x86, then 5633 on 0x82; at full speed 7681 on 0x82")
    func spectrumUSB4000() throws {
        let high = try Port(.usb4000, highSpeed: true)
        try high.send([0x09])
        let first = try high.read(0x86, 2048, timeout: 1010)
        let rest = try high.read(0x82, 5633, timeout: 1010)
        #expect(first.count == 2048 && rest.count == 5633)
        #expect(rest.last == 0x69)
        #expect(Port.pixels(first + rest) == high.simulator.lastSpectrum)
        #expect(high.simulator.lastSpectrum.count == 3840)

        let full = try Port(.usb4000, highSpeed: false)
        try full.send([0x09])
        let all = try full.read(0x82, 8192, timeout: 1010)
        #expect(all.count == 7681 && all.last == 0x69)
        #expect(full.simulator.inEndpoint(0x86)?.pendingBytes == 0)
    }

    @Test("commands of the wrong length, unknown opcodes, out-of-range integration and trigger values are ignored and counted")
    func ignoredCommands() throws {
        let port = try Port(.flameS)
        try port.send([0x02, 0x10, 0x00, 0x00, 0x00])  // 16 µs: below the FLAME-S's 1 ms
        try port.send([0x02, 0x40, 0x1F])  // too short
        try port.send([0x0A, 0x07, 0x00])  // no trigger mode 7
        try port.send([0x42])
        try port.send([0x09, 0x00])
        #expect(port.simulator.ignoredCommands == 5)
        #expect(port.simulator.integrationMicroseconds == OceanOpticsSimulator.defaultIntegrationMicroseconds)
        #expect(port.simulator.triggerMode == 0)
        #expect(port.simulator.spectraSent == 0)
        #expect(port.simulator.pendingBytes == 0)
    }

    @Test("initialize (0x01) empties every queue and returns to normal trigger mode, keeping the integration time")
    func initialize() throws {
        let port = try Port(.flameS)
        try port.send([0x02, 0x40, 0x1F, 0x00, 0x00])
        try port.send([0x0A, 0x01, 0x00])
        try port.send([0x09])
        try port.send([0xFE])
        #expect(port.simulator.pendingBytes == 4097 + 16)
        try port.send([0x01])
        #expect(port.simulator.pendingBytes == 0)
        #expect(port.simulator.triggerMode == 0)
        #expect(port.simulator.integrationMicroseconds == 8000)
    }

    @Test("USB packet rules: a buffer ending inside a packet of a longer reply overflows; a transfer stops at a reply's end")
    func packetRules() throws {
        let port = try Port(.flameS)
        try port.send([0x09])
        do {
            _ = try port.read(0x82, 1000)
            Issue.record("a 1000-byte buffer inside a 512-byte packet must overflow")
        } catch {
            #expect((error as? USBError)?.reason == .overflow)
        }
        // Whole packets are fine; the rest stays queued.
        try port.send([0x01, ])
        try port.send([0x09])
        #expect(try port.read(0x82, 1024).count == 1024)
        #expect(try port.read(0x82, 8192).count == 3073)
        // Two replies queued: one transfer takes only the first.
        try port.send([0xFE])
        try port.send([0x6B, 0x04])
        #expect(try port.read(0x81, 64).count == 16)
        #expect(try port.read(0x81, 64).count == 3)
    }

    @Test("full speed packets are 64 bytes: a 100-byte buffer overflows, 128 does not")
    func fullSpeedPackets() throws {
        let port = try Port(.flameS, highSpeed: false)
        try port.send([0x09])
        #expect(throws: USBError.self) { _ = try port.read(0x82, 100) }
        try port.send([0x01])
        try port.send([0x09])
        #expect(try port.read(0x82, 128).count == 128)
    }

    @Test("a read that comes too early waits on the clock; one whose timeout ends before the spectrum times out after the timeout")
    func timing() throws {
        let port = try Port(.flameS)
        try port.send([0x02, 0x80, 0x84, 0x1E, 0x00])  // 2 s
        try port.send([0x09])
        let start = port.clock.now()
        do {
            _ = try port.read(0x82, 4097, timeout: 1500)
            Issue.record("a 1.5 s timeout must expire before a 2 s integration ends")
        } catch {
            #expect((error as? USBError)?.reason == .timeout)
        }
        #expect(port.clock.now() == start.adding(nanoseconds: 1_500_000_000))
        #expect(try port.read(0x82, 4097, timeout: 1500).count == 4097)
        #expect(port.clock.now() == start.adding(nanoseconds: 2_000_000_000))
    }

    @Test("hang: no reply on any endpoint (timeouts) until a port reset, which restores power-up defaults")
    func hang() throws {
        let port = try Port(.flameS)
        try port.send([0x02, 0x40, 0x1F, 0x00, 0x00])
        port.simulator.isHung = true
        try port.send([0xFE])
        #expect(throws: USBError.self) { _ = try port.read(0x81, 64) }
        try port.device.reset()
        #expect(!port.simulator.isHung)
        #expect(port.simulator.integrationMicroseconds == OceanOpticsSimulator.defaultIntegrationMicroseconds)
        #expect(port.simulator.pendingBytes == 0)
        try port.send([0xFE])
        #expect(try port.read(0x81, 64).count == 16)
        #expect(port.bus.resetCount(of: port.simulator) == 1)
    }

    @Test("unplugged: the next transfer is .noDevice and the transport closes; plugged back, connect() reopens it")
    func unplugAndPlug() throws {
        let port = try Port(.flameS)
        port.bus.unplug(port.simulator)
        do {
            try port.send([0xFE])
            Issue.record("a write to an unplugged part must fail")
        } catch {
            #expect((error as? USBError)?.reason == .noDevice)
        }
        #expect(!port.device.isConnected)
        #expect(throws: USBError.self) { try port.device.connect() }
        port.bus.plug(port.simulator)
        try port.device.connect()
        #expect(port.device.connectionNumber == 2)
        #expect(port.simulator.powerOns == 2)
        try port.send([0xFE])
        #expect(try port.read(0x81, 64).count == 16)
    }

    @Test("lost sync: stale bytes ahead of the spectrum; the tail stays queued; corrupt sync: last byte not 0x69")
    func syncFaults() throws {
        let port = try Port(.flameS)
        port.simulator.loseSyncOnNextSpectrum(staleBytes: 512)
        try port.send([0x09])
        #expect(try port.read(0x82, 4608).count == 512)  // the stale fragment is its own transfer
        #expect(try port.read(0x82, 4608).count == 4097)
        port.simulator.corruptSyncByteOfNextSpectrum()
        try port.send([0x09])
        #expect(try port.read(0x82, 4097).last == 0x00)
        try port.send([0x09])
        #expect(try port.read(0x82, 4097).last == 0x69)
    }

    @Test("detector: a dark spectrum is the offset plus dark current with read noise; the shielded pixels see no light")
    func darkSpectrum() throws {
        let detector = OceanOpticsSimulator.Detector(darkOffsetCounts: 1500, darkCurrentCountsPerSecond: 1000, readNoiseCounts: 40)
        let port = try Port(.flameS, detector: detector)
        try port.send([0x02, 0x20, 0xA1, 0x07, 0x00])  // 500 ms
        try port.send([0x09])  // lamp off
        let pixels = Port.pixels(try port.read(0x82, 4097, timeout: 2000)).map(Double.init)
        let mean = pixels.reduce(0, +) / Double(pixels.count)
        let sd = (pixels.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(pixels.count - 1)).squareRoot()
        #expect(abs(mean - 2000) < 4)  // 1500 + 1000 counts/s × 0.5 s; σ/√2048 ≈ 0.9
        #expect(abs(sd - 40) < 3)
        // Lamp on: the electric-dark pixels read the same as in the dark.
        try port.send([0x03, 0x01, 0x00])
        try port.send([0x09])
        let lit = Port.pixels(try port.read(0x82, 4097, timeout: 2000)).map(Double.init)
        let shielded = lit[6...20].reduce(0, +) / 15
        #expect(abs(shielded - 2000) < 40)
    }

    @Test("detector: shot noise variance x/2.44 + read², and the detector response solves y = x / (k0 + k1·x + k2·x²)")
    func shotNoiseAndResponse() throws {
        let k = [1.0, -1.2e-6, -2.0e-12]
        for y in [100.0, 10_000, 45_000, 70_000] {
            let x = OceanOpticsSimulator.detectorResponse(light: y, nonlinearity: k)
            #expect(abs(x / (k[0] + k[1] * x + k[2] * x * x) - y) < 1e-6 * y)
            #expect(x < y)
        }
        #expect(OceanOpticsSimulator.detectorResponse(light: 500, nonlinearity: [1]) == 500)
        // No light at all (an emission bench with no sample and no LED leak): the spread of every
        // optical pixel over 20 spectra is the read noise alone, around the offset.
        let optics = SpectrometerOptics(kind: .emission, sample: .none, sourceCountsPerMillisecond: 0)
        let port = try Port(
            .flameS, detector: .init(darkOffsetCounts: 1000, darkCurrentCountsPerSecond: 0, readNoiseCounts: 20, nonlinearity: [1]),
            optics: optics)
        try port.send([0x03, 0x01, 0x00])
        var samples: [Double] = []
        for _ in 0..<20 {
            try port.send([0x09])
            samples += Port.pixels(try port.read(0x82, 4097, timeout: 2000))[100..<1900].map(Double.init)
        }
        let mean = samples.reduce(0, +) / Double(samples.count)
        let variance = samples.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(samples.count - 1)
        #expect(abs(mean - 1000) < 1)
        #expect(abs(variance.squareRoot() - 20) < 0.5)
    }

    @Test("shot noise: the variance of a bright pixel grows as counts / electrons-per-count")
    func shotNoise() throws {
        let port = try Port(.flameS, detector: .init(darkOffsetCounts: 0, darkCurrentCountsPerSecond: 0, readNoiseCounts: 0, nonlinearity: [1]))
        try port.send([0x03, 0x01, 0x00])
        try port.send([0x02, 0x40, 0x1F, 0x00, 0x00])
        var values: [Double] = []
        for _ in 0..<300 {
            try port.send([0x09])
            values.append(Double(Port.pixels(try port.read(0x82, 4097, timeout: 2000))[1200]))
        }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)
        let expected = mean / (160_000 / 65_535)
        // 300 samples: the sample variance is within ±25 % with overwhelming probability.
        #expect(abs(variance / expected - 1) < 0.25, "variance \(variance), expected \(expected)")
        #expect(mean > 10_000)
    }

    @Test("saturation: raw counts clip at the saturation level (slot 17)")
    func saturationClip() throws {
        let port = try Port(.flameS, detector: .init(saturationCounts: 60_000))
        port.simulator.optics.lightBoost = 30
        try port.send([0x03, 0x01, 0x00])
        try port.send([0x09])
        let pixels = Port.pixels(try port.read(0x82, 4097, timeout: 2000))
        #expect(pixels.max() == 60_000)
        #expect(pixels.filter { $0 == 60_000 }.count > 500)
    }

    @Test("same seed, same spectra; another seed, other noise")
    func seeded() throws {
        func spectrum(_ seed: UInt64) throws -> [UInt16] {
            let port = try Port(.flameS, seed: seed)
            try port.send([0x03, 0x01, 0x00])
            try port.send([0x09])
            return Port.pixels(try port.read(0x82, 4097, timeout: 2000))
        }
        #expect(try spectrum(9) == spectrum(9))
        #expect(try spectrum(9) != spectrum(10))
    }
}

@Suite("Spectrometer optics")
struct SpectrometerOpticsTests {
    @Test("exciton: the Gaussian in energy is at half its height at the low-energy half width, peak + FWHM/2", arguments: [
        (520.0, 30.0), (410, 20), (600, 60),
    ])
    func excitonWidth(peak: Double, fwhm: Double) {
        let band = ExcitonBand(peakNanometres: peak, fwhmNanometres: fwhm, height: 1)
        let (e1, sigma) = band.energyAndSigma
        #expect(abs(e1 - 1239.84193 / peak) < 1e-12)
        let atHalf = 1239.84193 / (peak + fwhm / 2)
        #expect(abs(exp(-0.5 * pow((atHalf - e1) / sigma, 2)) - 0.5) < 1e-12)
    }

    @Test("emission: the two half-maximum wavelengths lie FWHM apart", arguments: [(545.0, 32.0), (460, 20), (620, 50)])
    func emissionWidth(peak: Double, fwhm: Double) {
        let band = EmissionBand(peakNanometres: peak, fwhmNanometres: fwhm, countsPerSecond: 1, trapRelativeHeight: 0)
        let (e0, sigma) = band.energyAndSigma
        let h = (2 * log(2.0)).squareRoot() * sigma
        #expect(abs(1239.84193 / (e0 - h) - 1239.84193 / (e0 + h) - fwhm) < 1e-9)
    }

    @Test("absorbance at the exciton: its height plus what lies under it; none for a blank; Beer-Lambert in the path")
    func absorbance() {
        let sample = CurrentSample(exciton: ExcitonBand(peakNanometres: 520, fwhmNanometres: 30, height: 0.4), emission: nil, scatteringAbsorbance: 0)
        let optics = SpectrometerOptics(kind: .absorbance, sample: sample, sourceCountsPerMillisecond: 1000)
        optics.higherTransitions = []
        // Without transitions, the peak is the height plus the foot of the onset's softplus,
        // 0.5 eV (five widths) above: 4 heights/eV × 0.1 eV × ln(1 + e⁻⁵).
        let atPeak = 0.4 + 4 * 0.4 * 0.1 * log1p(exp(-5.0))
        #expect(abs(optics.absorbance(atNanometres: 520) - atPeak) < 1e-9)
        // The transmitted light is the lamp × 10^-A.
        let lamp = optics.lampRelative(atNanometres: 520) * 1_000_000
        #expect(abs(optics.countsPerSecond(atNanometres: 520) - lamp * pow(10, -optics.absorbance(atNanometres: 520))) < 1e-6 * lamp)
        optics.cellPathMillimetres = 10
        #expect(abs(optics.absorbance(atNanometres: 520) - 5 * atPeak) < 1e-9)
        optics.cell = .blank
        #expect(optics.absorbance(atNanometres: 520) == 0)
        #expect(abs(optics.countsPerSecond(atNanometres: 520) - lamp) < 1e-9 * lamp)
        // Scattering follows λ⁻⁴.
        let scattering = CurrentSample(exciton: nil, emission: nil, scatteringAbsorbance: 0.05)
        #expect(abs(SpectrometerOptics.absorbance(of: scattering, atNanometres: 250) - 0.8) < 1e-12)
    }

    @Test("higher transitions keep at least 4σ from the one below; narrow excitons keep the published 0.16 eV")
    func transitionSpacing() {
        let narrow = ExcitonBand(peakNanometres: 520, fwhmNanometres: 15, height: 1)
        let broad = ExcitonBand(peakNanometres: 520, fwhmNanometres: 50, height: 1)
        for band in [narrow, broad] {
            let (e1, sigma) = band.energyAndSigma
            let sample = CurrentSample(exciton: band, emission: nil, scatteringAbsorbance: 0)
            let offset = max(0.16, 4 * sigma)
            let at = 1239.84193 / (e1 + offset)
            let with = SpectrometerOptics.absorbance(of: sample, atNanometres: at)
            let without = SpectrometerOptics.absorbance(of: sample, atNanometres: at, higherTransitions: [])
            // The second transition peaks there: 0.45 of the exciton above the rest.
            #expect(abs(with - without - 0.45 - 1.1 * exp(-0.5 * pow((max(0.42, offset + 4 * sigma) - offset) / (1.4 * sigma), 2))) < 1e-9)
        }
    }

    @Test("the lamp: the halogen maximum is 1; D-α at 656.1 nm stands out; the deuterium continuum rises into the UV")
    func lamp() {
        let optics = SpectrometerOptics(kind: .absorbance, sample: .none, sourceCountsPerMillisecond: 1)
        var maximum = 0.0
        // The visible and near infrared (the deuterium continuum below 320 nm is another matter).
        for nm in stride(from: 320.0, through: 1000, by: 0.5) where abs(nm - 656.1) > 5 && abs(nm - 486) > 5 {
            maximum = max(maximum, optics.lampRelative(atNanometres: nm))
        }
        #expect(maximum > 0.99 && maximum < 1.15)
        #expect(optics.lampRelative(atNanometres: 656.1) > optics.lampRelative(atNanometres: 650) + 1.5)
        #expect(optics.lampRelative(atNanometres: 250) > optics.lampRelative(atNanometres: 400))
        #expect(optics.lampRelative(atNanometres: 180) < 0.05)
    }

    @Test("fill(countsPerSecond:) gives countsPerSecond(atNanometres:) at every pixel, as the sample, cell and light change")
    func fillMatchesPointwise() {
        let wavelengths: [Double] = (0..<2048).map { (pixel: Int) -> Double in
            let p = Double(pixel)
            return 178.06486 + p * (0.37428912 - 1.2662454e-5 * p)
        }
        for kind in [SpectrometerOptics.Kind.absorbance, .emission] {
            let optics = SpectrometerOptics(
                kind: kind,
                sample: CurrentSample(
                    exciton: ExcitonBand(peakNanometres: 520, fwhmNanometres: 30, height: 0.3),
                    emission: EmissionBand(peakNanometres: 545, fwhmNanometres: 30, countsPerSecond: 1e5)),
                sourceCountsPerMillisecond: 4000)
            var output = [Double](repeating: 0, count: wavelengths.count)
            for step in 0..<4 {
                switch step {
                case 1: optics.sample.exciton?.peakNanometres = 480; optics.sample.emission?.peakNanometres = 600
                case 2: optics.cell = .blank
                case 3: optics.lightBoost = 3; optics.cell = .sample
                default: break
                }
                optics.fill(countsPerSecond: &output, wavelengths: wavelengths)
                for (index, nanometres) in wavelengths.enumerated() {
                    let expected = optics.countsPerSecond(atNanometres: nanometres)
                    #expect(abs(output[index] - expected) <= 1e-9 * max(1, expected))
                }
            }
        }
    }

    @Test("PL: band edge at its set height, the trap band to the red, the LED leak at 385 nm; nothing from a blank")
    func emission() {
        let band = EmissionBand(peakNanometres: 545, fwhmNanometres: 32, countsPerSecond: 100_000, trapRelativeHeight: 0.2)
        let optics = SpectrometerOptics(kind: .emission, sample: CurrentSample(exciton: nil, emission: band), sourceCountsPerMillisecond: 3)
        let (e0, _) = band.energyAndSigma
        let trapPeak = 1239.84193 / (e0 - 0.45)
        let trapAtBandEdge = 0.2 * exp(-0.5 * pow(0.45 / (0.5 / 2.354_820_045), 2))
        #expect(abs(optics.emission(atNanometres: 545) - 100_000 * (1 + trapAtBandEdge)) < 1e-6)
        #expect(abs(optics.emission(atNanometres: trapPeak) - 20_000) < 1000)
        #expect(abs(optics.countsPerSecond(atNanometres: 385) - 3000) < 1)
        optics.cell = .blank
        #expect(optics.countsPerSecond(atNanometres: 545) < 1e-6)
    }
}
