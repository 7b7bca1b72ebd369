import Devices
import Testing
import Transports
import Twin

/// One USB call as the driver made it.
struct USBTransfer: Equatable, CustomStringConvertible {
    enum Kind: Equatable { case write, read, clearHalt, reset, connect }
    var kind: Kind
    var endpoint: UInt8
    var length: Int
    var timeout: Int
    /// Written bytes (empty for reads).
    var bytes: [UInt8]

    static func write(_ bytes: [UInt8], timeout: Int = 1000) -> USBTransfer {
        USBTransfer(kind: .write, endpoint: 0x01, length: bytes.count, timeout: timeout, bytes: bytes)
    }

    static func read(_ endpoint: UInt8, _ length: Int, timeout: Int = 1000) -> USBTransfer {
        USBTransfer(kind: .read, endpoint: endpoint, length: length, timeout: timeout, bytes: [])
    }

    var description: String {
        switch kind {
        case .write: "write 0x\(String(endpoint, radix: 16)) \(bytes) t\(timeout)"
        case .read: "read 0x\(String(endpoint, radix: 16)) \(length) t\(timeout)"
        default: "\(kind)"
        }
    }
}

/// A transport that records every call (endpoint, length, timeout, bytes) and passes it on.
final class RecordingUSBDevice: USBBulkDevice {
    let inner: any USBBulkDevice
    private(set) var transfers: [USBTransfer] = []

    init(_ inner: any USBBulkDevice) { self.inner = inner }

    var name: String { inner.name }
    var connectionNumber: Int { inner.connectionNumber }
    var isConnected: Bool { inner.isConnected }

    func transfers(after count: Int) -> [USBTransfer] { Array(transfers.dropFirst(count)) }

    func bulkWrite(endpoint: UInt8, bytes: UnsafeRawBufferPointer, timeoutMilliseconds: Int) throws(USBError) {
        transfers.append(USBTransfer(kind: .write, endpoint: endpoint, length: bytes.count, timeout: timeoutMilliseconds, bytes: Array(bytes)))
        try inner.bulkWrite(endpoint: endpoint, bytes: bytes, timeoutMilliseconds: timeoutMilliseconds)
    }

    func bulkRead(endpoint: UInt8, into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int) throws(USBError) -> Int {
        transfers.append(USBTransfer(kind: .read, endpoint: endpoint, length: buffer.count, timeout: timeoutMilliseconds, bytes: []))
        return try inner.bulkRead(endpoint: endpoint, into: buffer, timeoutMilliseconds: timeoutMilliseconds)
    }

    func clearHalt(endpoint: UInt8) throws(USBError) {
        transfers.append(USBTransfer(kind: .clearHalt, endpoint: endpoint, length: 0, timeout: 0, bytes: []))
        try inner.clearHalt(endpoint: endpoint)
    }

    func reset() throws(USBError) {
        transfers.append(USBTransfer(kind: .reset, endpoint: 0, length: 0, timeout: 0, bytes: []))
        try inner.reset()
    }

    func connect() throws(USBError) {
        if !inner.isConnected { transfers.append(USBTransfer(kind: .connect, endpoint: 0, length: 0, timeout: 0, bytes: [])) }
        try inner.connect()
    }
}

/// The rig's absorbance axis (a least-squares cubic through data/cdse/uv_wavelengths.csv at
/// pixels 20-2047; the Config and Rig tests check it against the file).
let rigCoefficients = [1.7806486e2, 3.7428912e-1, -1.2662454e-5, -3.6355806e-9]

/// A spectrometer on the twin: simulator, bus, transport (recorded), driver, virtual clock.
struct SpectrometerBench {
    let clock = VirtualClock()
    let simulator: OceanOpticsSimulator
    let bus = SimulatedUSBBus()
    let device: RecordingUSBDevice
    let driver: OceanOpticsSpectrometer

    init(
        _ model: OceanOpticsSimulator.Model, driverModel: OceanOpticsSpectrometer.Model? = nil, highSpeed: Bool = true,
        detector: OceanOpticsSimulator.Detector = .init(), serial: String = "FLMS04321", seed: UInt64 = 3
    ) throws {
        let optics = SpectrometerOptics(
            kind: .absorbance,
            sample: CurrentSample(exciton: ExcitonBand(peakNanometres: 520, fwhmNanometres: 30, height: 0.25), emission: nil),
            sourceCountsPerMillisecond: 5000)
        simulator = OceanOpticsSimulator(
            model: model, serialNumber: serial, wavelengthCoefficients: rigCoefficients, optics: optics, detector: detector,
            highSpeed: highSpeed, clock: clock, seed: seed)
        bus.attach(simulator)
        let model = driverModel ?? OceanOpticsSpectrometer.Model(rawValue: model.rawValue)!
        let transport = try SimulatedUSBDevice(
            bus: bus,
            match: USBDeviceMatch(vendorID: 0x2457, productID: model.productID, endpointsToClear: model.endpointsToClear),
            clock: clock)
        device = RecordingUSBDevice(transport)
        driver = OceanOpticsSpectrometer(device: device, model: model, clock: clock)
    }

    /// Opens at 8 ms with the lamp on.
    @discardableResult
    func open(integration: Int = 8000) throws -> OceanOpticsSpectrometer.Identity {
        try driver.open(integrationMicroseconds: integration, lampEnabled: true)
    }
}

/// The query of information slot `slot`: the command and the 64-byte reply read.
private func slotQuery(_ slot: UInt8) -> [USBTransfer] { [.write([0x05, slot]), .read(0x81, 64)] }

@Suite("Ocean Optics driver against the byte-level simulator")
struct OceanOpticsDriverTests {
    @Test("open: initialize, FPGA version, status, every calibration slot, integration, trigger, lamp: exact bytes, lengths, timeouts")
    func openSequence() throws {
        let bench = try SpectrometerBench(.flameS)
        let identity = try bench.open(integration: 8000)
        var expected: [USBTransfer] = [
            .write([0x01]),
            .write([0x6B, 0x04]), .read(0x81, 64),
            .write([0xFE]), .read(0x81, 64),
        ]
        expected += slotQuery(0)
        for slot in UInt8(1)...4 { expected += slotQuery(slot) }
        expected += slotQuery(14)
        for slot in UInt8(6)...8 { expected += slotQuery(slot) }  // order 2: k0, k1, k2
        expected += slotQuery(17)
        expected += [
            .write([0x02, 0x40, 0x1F, 0x00, 0x00]),  // 8000 µs, uint32 LE
            .write([0x0A, 0x00, 0x00]),
            .write([0x03, 0x01, 0x00]),
        ]
        #expect(bench.device.transfers == expected)
        #expect(identity == .init(model: .flameS, serialNumber: "FLMS04321", fpgaVersion: 0x3100, highSpeed: true))
        // The part took every setting, and initialize was waited for (100 ms of virtual time).
        #expect(bench.simulator.integrationMicroseconds == 8000)
        #expect(bench.simulator.lampEnabled)
        #expect(bench.simulator.commandCounts[0x01] == 1)
        #expect(bench.clock.now() == MonotonicInstant(nanoseconds: 100_000_000))
    }

    @Test(
        "FLAME-S and USB2000+ are told apart by the FPGA firmware's major version (bits 15..12 >= 3)",
        arguments: [
            (UInt16(0x3100), OceanOpticsSpectrometer.Model.flameS), (0x3000, .flameS), (0x4207, .flameS),
            (0x2FFF, .usb2000Plus), (0x2100, .usb2000Plus), (0x0100, .usb2000Plus),
        ])
    func fpgaVersionTellsTheModel(version: UInt16, model: OceanOpticsSpectrometer.Model) throws {
        #expect(OceanOpticsSpectrometer.Model.flameS.identified(byFPGAVersion: version) == model)
        #expect(OceanOpticsSpectrometer.Model.usb2000Plus.identified(byFPGAVersion: version) == model)
        #expect(OceanOpticsSpectrometer.Model.usb4000.identified(byFPGAVersion: version) == .usb4000)
        let bench = try SpectrometerBench(.flameS, driverModel: model)
        bench.simulator.fpgaVersion = version
        #expect(try bench.open().model == model)
    }

    @Test("a board that says FLAME-S on a USB2000+ is refused, naming both and the firmware version")
    func modelMismatch() throws {
        let bench = try SpectrometerBench(.usb2000Plus, driverModel: .flameS)
        #expect(
            throws: OceanOpticsError(
                device: "twin:usb 2457:101e", model: .flameS, operation: "identify",
                kind: .modelMismatch(expected: .flameS, found: .usb2000Plus, fpgaVersion: 0x2100))
        ) {
            try bench.open()
        }
    }

    @Test(
        "integration time: clamped to the model's limits, sent as uint32 µs LE, read back in the status",
        arguments: [
            (OceanOpticsSimulator.Model.usb2000Plus, 500, 1000), (.usb2000Plus, 1000, 1000), (.flameS, 70_000_000, 65_000_000),
            (.flameS, 123_456, 123_456), (.usb4000, 5, 10), (.usb4000, 10, 10), (.usb4000, 3_800, 3_800),
        ])
    func integrationTime(model: OceanOpticsSimulator.Model, asked: Int, applied: Int) throws {
        let bench = try SpectrometerBench(model)
        try bench.open(integration: 100_000)
        let before = bench.device.transfers.count
        #expect(try bench.driver.setIntegrationTime(microseconds: asked) == applied)
        let value = UInt32(applied)
        #expect(bench.device.transfers(after: before) == [
            .write([0x02, UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)])
        ])
        #expect(bench.simulator.integrationMicroseconds == value)
        #expect(try bench.driver.queryStatus().integrationMicroseconds == applied)
    }

    @Test("trigger mode (0x0A, uint16 LE) and lamp (0x03) reach the part and read back in the status",
          arguments: OceanOpticsSpectrometer.TriggerMode.allCases)
    func triggerMode(mode: OceanOpticsSpectrometer.TriggerMode) throws {
        let bench = try SpectrometerBench(.flameS)
        try bench.open()
        let before = bench.device.transfers.count
        try bench.driver.setTriggerMode(mode)
        try bench.driver.setLamp(enabled: false)
        #expect(bench.device.transfers(after: before) == [.write([0x0A, UInt8(mode.rawValue), 0x00]), .write([0x03, 0x00, 0x00])])
        let status = try bench.driver.queryStatus()
        #expect(status.triggerMode == UInt8(mode.rawValue))
        #expect(!status.lampEnabled)
        #expect(bench.simulator.triggerMode == mode.rawValue)
    }

    @Test("status bytes decode as PROTOCOLS.md §1 lays them out")
    func statusDecoding() {
        let bytes: [UInt8] = [0x00, 0x08, 0x40, 0x1F, 0x00, 0x00, 1, 3, 1, 9, 1, 5, 0, 0, 0x80, 0]
        let status = bytes.withUnsafeBytes { OceanOpticsSpectrometer.Status(reply: $0) }
        #expect(status.pixelCount == 2048 && status.integrationMicroseconds == 8000)
        #expect(status.lampEnabled && status.triggerMode == 3 && status.acquiring)
        #expect(status.packetsPerSpectrum == 9 && status.poweredUp && status.packetsInMemory == 5 && status.highSpeed)
        var fullSpeed = bytes
        fullSpeed[14] = 0x00
        #expect(!fullSpeed.withUnsafeBytes { OceanOpticsSpectrometer.Status(reply: $0) }.highSpeed)
    }

    @Test("status from the part: pixels, packets per spectrum at each speed", arguments: [
        (OceanOpticsSimulator.Model.flameS, true, 2048, 9), (.flameS, false, 2048, 65), (.usb4000, true, 3840, 16),
        (.usb4000, false, 3840, 121),
    ])
    func statusFromThePart(model: OceanOpticsSimulator.Model, highSpeed: Bool, pixels: Int, packets: Int) throws {
        let bench = try SpectrometerBench(model, highSpeed: highSpeed)
        let identity = try bench.open()
        #expect(identity.highSpeed == highSpeed)
        let status = try bench.driver.queryStatus()
        #expect(status.pixelCount == pixels)
        #expect(status.packetsPerSpectrum == packets)
        #expect(status.poweredUp)
    }

    @Test("calibration: serial, c0..c3, nonlinearity k0..kn with its order, saturation from slot 17")
    func calibration() throws {
        let detector = OceanOpticsSimulator.Detector(saturationCounts: 62_000, nonlinearity: [0.9871, 3.1e-6, -1.5e-10, 2.2e-15])
        let bench = try SpectrometerBench(.flameS, detector: detector, serial: "FLMS77777")
        try bench.open()
        let calibration = try #require(bench.driver.calibration)
        #expect(calibration.serialNumber == "FLMS77777")
        for (read, truth) in zip(calibration.wavelengthCoefficients, rigCoefficients) {
            #expect(abs(read - truth) <= abs(truth) * 1e-8)
        }
        #expect(calibration.nonlinearityCoefficients == [0.9871, 3.1e-6, -1.5e-10, 2.2e-15])
        #expect(calibration.saturationLevel == 62_000)
        #expect(abs(calibration.wavelength(atPixel: 20) - 185.546) < 0.0006)
        #expect(abs(calibration.wavelength(atPixel: 2047) - 859.993) < 0.0006)
    }

    @Test("an unprogrammed saturation slot (0) means 65535; a k0 of 0 means no nonlinearity correction")
    func unprogrammedSlots() throws {
        let bench = try SpectrometerBench(.usb2000Plus)
        bench.simulator.setSlot(17, bytes: [])
        bench.simulator.setSlot(6, text: "0")
        try bench.open()
        let calibration = try #require(bench.driver.calibration)
        #expect(calibration.saturationLevel == 65_535)
        #expect(calibration.nonlinearityCoefficients.isEmpty)
    }

    @Test("a slot that should hold a number and does not is an error naming the slot and its text")
    func invalidCalibration() throws {
        let bench = try SpectrometerBench(.flameS)
        bench.simulator.setSlot(3, text: "not a number")
        #expect(
            throws: OceanOpticsError(
                device: "twin:usb 2457:101e", model: .flameS, operation: "read calibration",
                kind: .invalidCalibration(slot: 3, text: "not a number"))
        ) {
            try bench.open()
        }
    }

    @Test("a garbled reply (wrong echo) is retried once after draining; twice is an error with the bytes")
    func garbledReply() throws {
        let bench = try SpectrometerBench(.flameS)
        try bench.open()
        // A stray reply sits in front of the next answer: the first read gets it, the retry gets the answer.
        try [UInt8(0x6B), 0x04].withUnsafeBytes { try bench.device.bulkWrite(endpoint: 0x01, bytes: $0, timeoutMilliseconds: 1000) }
        let queries = bench.simulator.commandCounts[0x05]
        let info = try bench.driver.queryInformationText(slot: 0)
        #expect(info == "FLMS04321")
        #expect(bench.simulator.commandCounts[0x05] == queries + 2)
        // A part that keeps garbling: the error carries the bytes.
        bench.bus.shortenNextReads(of: bench.simulator, endpoint: 0x81, to: [5, 0, 0, 0, 5, 0, 0, 0])
        #expect(throws: OceanOpticsError.self) { _ = try bench.driver.queryStatus() }
    }

    @Test(
        "spectrum: 0x09, then 4097 bytes from 0x82 (USB4000 at high speed: 2048 from 0x86, 5633 from 0x82), timeout = integration + 1 s",
        arguments: [
            (OceanOpticsSimulator.Model.usb2000Plus, true, [USBTransfer.read(0x82, 4097, timeout: 1008)]),
            (.flameS, true, [.read(0x82, 4097, timeout: 1008)]),
            (.flameS, false, [.read(0x82, 4097, timeout: 1008)]),
            (.usb4000, true, [.read(0x86, 2048, timeout: 1008), .read(0x82, 5633, timeout: 1008)]),
            (.usb4000, false, [.read(0x82, 7681, timeout: 1008)]),
        ])
    func spectrumTransfers(model: OceanOpticsSimulator.Model, highSpeed: Bool, reads: [USBTransfer]) throws {
        let bench = try SpectrometerBench(model, highSpeed: highSpeed)
        try bench.open(integration: 8000)
        let before = bench.device.transfers.count
        let start = bench.clock.now()
        let reading = try bench.driver.readSpectrum()
        #expect(bench.device.transfers(after: before) == [.write([0x09])] + reads)
        #expect(reading.raw == bench.simulator.lastSpectrum)
        #expect(reading.pixelCount == model.pixelCount)
        #expect(reading.integrationMicroseconds == 8000)
        // The spectrum came one integration time after the request.
        #expect(bench.clock.now() == start.adding(nanoseconds: 8_000_000))
        #expect(bench.driver.recoveries == 0)
    }

    @Test("the read timeout follows the integration time", arguments: [(1000, 1001), (8000, 1008), (2_000_000, 3000), (1_500, 1002)])
    func readTimeout(integration: Int, timeout: Int) throws {
        #expect(OceanOpticsSpectrometer.spectrumTimeoutMilliseconds(integrationMicroseconds: integration) == timeout)
        let bench = try SpectrometerBench(.flameS)
        try bench.open(integration: integration)
        let before = bench.device.transfers.count
        _ = try bench.driver.readSpectrum()
        #expect(bench.device.transfers(after: before).last == .read(0x82, 4097, timeout: timeout))
    }

    @Test("split and short transfers: the spectrum is gathered from as many transfers as it comes in", arguments: [
        [1000, 7, 2048], [512], [4096], [1, 1, 1],
    ])
    func splitTransfers(pieces: [Int]) throws {
        let bench = try SpectrometerBench(.flameS)
        try bench.open()
        bench.bus.shortenNextReads(of: bench.simulator, endpoint: 0x82, to: pieces)
        let before = bench.device.transfers.count
        let reading = try bench.driver.readSpectrum()
        #expect(reading.raw == bench.simulator.lastSpectrum)
        #expect(bench.driver.recoveries == 0)
        var remaining = 4097
        var lengths: [Int] = []
        for piece in pieces {
            lengths.append(remaining)
            remaining -= piece
        }
        lengths.append(remaining)
        #expect(bench.device.transfers(after: before).filter { $0.kind == .read }.map(\.length) == lengths)
    }

    @Test("USB4000 at high speed with both parts split")
    func usb4000Split() throws {
        let bench = try SpectrometerBench(.usb4000)
        try bench.open()
        bench.bus.shortenNextReads(of: bench.simulator, endpoint: 0x86, to: [1024])
        bench.bus.shortenNextReads(of: bench.simulator, endpoint: 0x82, to: [512, 2048])
        let reading = try bench.driver.readSpectrum()
        #expect(reading.raw == bench.simulator.lastSpectrum)
    }

    @Test("a wrong sync byte: drain, initialize again, retry; the spectrum returned is the retry's")
    func wrongSyncByte() throws {
        let bench = try SpectrometerBench(.flameS)
        try bench.open()
        let initializes = bench.simulator.commandCounts[0x01]
        bench.simulator.corruptSyncByteOfNextSpectrum()
        let reading = try bench.driver.readSpectrum()
        #expect(bench.driver.recoveries == 1)
        #expect(bench.simulator.commandCounts[0x01] == initializes + 1)
        #expect(bench.simulator.spectraSent == 2)
        #expect(reading.raw == bench.simulator.lastSpectrum)
        #expect(bench.simulator.integrationMicroseconds == 8000)
    }

    @Test("lost sync (stale bytes of an earlier transfer ahead of the spectrum): recovered the same way", arguments: [512, 1024, 100])
    func lostSync(stale: Int) throws {
        let bench = try SpectrometerBench(.usb2000Plus)
        try bench.open()
        bench.simulator.loseSyncOnNextSpectrum(staleBytes: stale)
        let reading = try bench.driver.readSpectrum()
        #expect(bench.driver.recoveries == 1)
        #expect(reading.raw == bench.simulator.lastSpectrum)
        #expect(bench.simulator.pendingBytes == 0)
    }

    @Test("a hang (no reply): the read times out after integration + 1 s, the reinitialize times out too, the reset clears it")
    func hangRecoveredByReset() throws {
        let bench = try SpectrometerBench(.flameS)
        try bench.open()
        bench.simulator.isHung = true
        let start = bench.clock.now()
        let reading = try bench.driver.readSpectrum()
        #expect(reading.raw == bench.simulator.lastSpectrum)
        #expect(bench.bus.resetCount(of: bench.simulator) == 1)
        #expect(bench.driver.recoveries == 2)
        // The first recovery's reconfiguration timed out on the hung part; the reset's worked.
        #expect(bench.driver.reconfigurations == 1)
        // At least the first read's whole timeout passed on the clock.
        #expect(bench.clock.now().seconds(since: start) >= 1.008)
    }

    @Test("timeouts that never end: three attempts, then an error with the whole history")
    func timeoutGivesUp() throws {
        let bench = try SpectrometerBench(.flameS)
        try bench.open()
        // Four: the three attempts and the drain after the first (the reset path reads no spectrum).
        bench.bus.failNext(4, of: bench.simulator, endpoint: 0x82, reason: .timeout)
        do {
            _ = try bench.driver.readSpectrum()
            Issue.record("the read must fail")
        } catch {
            guard case .spectrumUnreadable(let failures, _) = error.kind else {
                Issue.record("expected spectrumUnreadable, got \(error)")
                return
            }
            #expect(failures == [.timeout, .timeout, .timeout])
            #expect(error.description.contains("after 3 attempts (timeout, timeout, timeout)"))
        }
        #expect(bench.bus.resetCount(of: bench.simulator) == 1)
        // The last attempt's spectrum is still queued: the next read drains it first, and returns
        // the spectrum it asked for, not the stale one.
        #expect(bench.simulator.pendingBytes == 4097)
        let spectra = bench.simulator.spectraSent
        #expect(try bench.driver.readSpectrum().raw == bench.simulator.lastSpectrum)
        #expect(bench.simulator.spectraSent == spectra + 1)
    }

    @Test("a stall: the halts are cleared on every endpoint, the part reinitialized, the read retried")
    func stall() throws {
        let bench = try SpectrometerBench(.flameS)
        try bench.open()
        bench.bus.failNext(1, of: bench.simulator, endpoint: 0x82, reason: .stall)
        let before = bench.device.transfers.count
        _ = try bench.driver.readSpectrum()
        let halts = bench.device.transfers(after: before).filter { $0.kind == .clearHalt }.map(\.endpoint)
        #expect(halts == [0x01, 0x81, 0x82])
        #expect(bench.driver.recoveries == 1)
    }

    @Test("unplugged mid-read: a typed device-absent error at once; absent until plugged back; then configured from scratch")
    func unplugMidReadAndReconnect() throws {
        let bench = try SpectrometerBench(.flameS)
        try bench.open(integration: 8000)
        bench.bus.unplugDuringNextRead(of: bench.simulator, endpoint: 0x82, afterBytes: 1024)
        do {
            _ = try bench.driver.readSpectrum()
            Issue.record("the read must fail")
        } catch {
            #expect(error.isDeviceAbsent)
            #expect(error.operation == "read spectrum")
            guard case .deviceAbsent(let usb) = error.kind else { return }
            #expect(usb.reason == .noDevice && usb.transferred == 1024 && usb.requested == 4097)
        }
        #expect(!bench.bus.isPlugged(bench.simulator))
        #expect(!bench.device.isConnected)
        // Still unplugged: the next read looks and reports it absent, without recovering.
        do {
            _ = try bench.driver.readSpectrum()
            Issue.record("the read must fail")
        } catch {
            #expect(error.isDeviceAbsent)
            #expect(error.operation == "reconnect")
        }
        #expect(bench.driver.recoveries == 0)
        // Plugged back: it powers up with its defaults; the driver configures it again first.
        bench.bus.plug(bench.simulator)
        #expect(bench.simulator.integrationMicroseconds == OceanOpticsSimulator.defaultIntegrationMicroseconds)
        let reading = try bench.driver.readSpectrum()
        #expect(reading.raw == bench.simulator.lastSpectrum)
        #expect(bench.driver.reconfigurations == 1)
        #expect(bench.device.connectionNumber == 2)
        #expect(bench.simulator.integrationMicroseconds == 8000)
        #expect(bench.simulator.lampEnabled)
    }

    @Test("two spectrometers of one model are told apart by the serial number in slot 0")
    func serialProbeFindsTheUnit() throws {
        let clock = VirtualClock()
        let bus = SimulatedUSBBus()
        var simulators: [OceanOpticsSimulator] = []
        for serial in ["FLMS00001", "FLMS00002"] {
            let optics = SpectrometerOptics(kind: .emission, sample: .none, sourceCountsPerMillisecond: 1)
            let simulator = OceanOpticsSimulator(
                model: .flameS, serialNumber: serial, wavelengthCoefficients: rigCoefficients, optics: optics, clock: clock)
            bus.attach(simulator)
            simulators.append(simulator)
        }
        let second = try SimulatedUSBDevice(
            bus: bus, match: USBDeviceMatch(vendorID: 0x2457, productID: 0x101E, serialNumber: "FLMS00002"), clock: clock,
            serialNumberProbe: OceanOpticsSpectrometer.serialNumberProbe())
        #expect(second.target === simulators[1])
        // The first free one when no serial is asked for: the second is claimed, so the first.
        let any = try SimulatedUSBDevice(
            bus: bus, match: USBDeviceMatch(vendorID: 0x2457, productID: 0x101E), clock: clock,
            serialNumberProbe: OceanOpticsSpectrometer.serialNumberProbe())
        #expect(any.target === simulators[0])
        #expect(any.serialNumber == "FLMS00001")
        // Both claimed: a third finds none free.
        #expect(throws: USBError.self) {
            _ = try SimulatedUSBDevice(bus: bus, match: USBDeviceMatch(vendorID: 0x2457, productID: 0x101E), clock: clock)
        }
    }

    @Test("saturation: pixels at the level are flagged and counted; corrected counts never pass 65535")
    func saturation() throws {
        let bench = try SpectrometerBench(.flameS)
        try bench.open()
        bench.simulator.optics.lightBoost = 40
        let reading = try bench.driver.readSpectrum()
        let flagged = reading.raw.indices.filter { reading.saturated[$0] }
        #expect(flagged.count > 500)
        #expect(flagged.count == reading.saturatedPixelCount)
        #expect(flagged.allSatisfy { reading.raw[$0] == 65_535 })
        #expect(reading.raw.indices.filter { reading.raw[$0] == 65_535 }.count == flagged.count)
        #expect(reading.corrected.allSatisfy { $0 <= 65_535 })
        // The electric-dark pixels stay dark.
        #expect(!reading.saturated[6...20].contains(true))
    }

    @Test("the nonlinearity correction makes counts proportional to the integration time; raw counts are not")
    func linearityAfterCorrection() throws {
        let bench = try SpectrometerBench(.flameS, detector: .init(readNoiseCounts: 0))
        try bench.open(integration: 6000)
        var sumRaw = [0.0, 0.0]
        var sumCorrected = [0.0, 0.0]
        for (index, integration) in [6000, 12_000].enumerated() {
            try bench.driver.setIntegrationTime(microseconds: integration)
            let reading = try bench.driver.readSpectrum()
            // Bright, unsaturated pixels of the halogen continuum (560-640 nm: 600-1150 in 12 ms).
            for pixel in 1100..<1300 {
                sumRaw[index] += Double(reading.raw[pixel]) - reading.electricDarkCounts
                sumCorrected[index] += reading.corrected[pixel]
            }
            #expect(!reading.saturated[1100..<1300].contains(true))
        }
        let rawRatio = sumRaw[1] / sumRaw[0]
        let correctedRatio = sumCorrected[1] / sumCorrected[0]
        #expect(abs(correctedRatio - 2) < 0.01, "corrected ratio \(correctedRatio)")
        #expect(abs(rawRatio - 2) > 0.04, "raw ratio \(rawRatio)")
    }
}

@Suite("Ocean Optics corrections and recovery, pure")
struct OceanOpticsCorrectionTests {
    /// Runs `correct` on plain arrays.
    func correct(_ raw: [UInt16], dark: ClosedRange<Int>, k: [Double], level: Int) -> ([Double], [Bool], Double, Int) {
        var corrected = [Double](repeating: .nan, count: raw.count)
        var saturated = [Bool](repeating: true, count: raw.count)
        let outcome = raw.withUnsafeBufferPointer { raw in
            k.withUnsafeBufferPointer { k in
                corrected.withUnsafeMutableBufferPointer { c in
                    saturated.withUnsafeMutableBufferPointer { s in
                        OceanOpticsSpectrometer.correct(
                            raw: raw, electricDarkPixels: dark, nonlinearity: k, saturationLevel: level, corrected: c, saturated: s)
                    }
                }
            }
        }
        return (corrected, saturated, outcome.electricDark, outcome.saturatedPixels)
    }

    @Test("electric dark is the mean of the shielded pixels, subtracted from every pixel")
    func electricDark() {
        var raw = [UInt16](repeating: 5000, count: 24)
        for (offset, value) in [1490, 1510, 1500, 1480, 1520].enumerated() { raw[2 + offset] = UInt16(value) }
        let (corrected, saturated, dark, flagged) = correct(raw, dark: 2...6, k: [], level: 65_535)
        #expect(dark == 1500)
        #expect(corrected[10] == 3500)
        #expect(corrected[2] == -10 && corrected[6] == 20)
        #expect(!saturated.contains(true) && flagged == 0)
    }

    @Test("nonlinearity x / (k0 + k1·x + k2·x²) on x = raw − dark", arguments: [
        (2000.0, [1.0, -1e-5], 2000 / 0.98),
        (41_000.0, [1.0, -1.2e-6, -2e-12], 41_000 / (1 - 1.2e-6 * 41_000 - 2e-12 * 41_000 * 41_000)),
        (100.0, [0.95], 100 / 0.95),
        (0.0, [1.0, -1e-5], 0),
    ])
    func nonlinearity(x: Double, k: [Double], expected: Double) {
        var raw = [UInt16](repeating: 1000, count: 8)
        raw[7] = UInt16(1000 + x)
        let (corrected, _, _, _) = correct(raw, dark: 0...3, k: k, level: 65_535)
        #expect(abs(corrected[7] - expected) < 1e-9 * max(1, expected))
    }

    @Test("saturation scaling ×65535/level, clamped at 65535; raw at or above the level is flagged")
    func saturationScaling() {
        let raw: [UInt16] = [1000, 1000, 1000, 31_000, 59_999, 60_000, 65_535]
        let (corrected, saturated, _, flagged) = correct(raw, dark: 0...2, k: [], level: 60_000)
        let scale = 65_535.0 / 60_000
        #expect(abs(corrected[3] - 30_000 * scale) < 1e-9)
        #expect(abs(corrected[4] - 58_999 * scale) < 1e-9)
        #expect(corrected[5] == min(59_000 * scale, 65_535))
        #expect(corrected[6] == 65_535)
        #expect(saturated == [false, false, false, false, false, true, true])
        #expect(flagged == 2)
    }

    @Test("a non-positive nonlinearity denominator leaves the pixel uncorrected rather than blowing up")
    func badDenominator() {
        let raw: [UInt16] = [0, 0, 50_000]
        let (corrected, _, _, _) = correct(raw, dark: 0...1, k: [1.0, -1e-4], level: 65_535)
        #expect(corrected[2] == 50_000)
    }

    typealias Failure = SpectrumReadRecovery.Failure

    @Test("recovery ladder, every sequence of up to three failures")
    func recoveryLadder() {
        let all: [Failure] = [.lostSync, .timeout, .shortTransfer, .stall, .transferError, .deviceAbsent]
        for first in all {
            var recovery = SpectrumReadRecovery()
            let one = recovery.step(first)
            switch first {
            case .deviceAbsent: #expect(one == .giveUp)
            case .stall: #expect(one == .drainAndReinitialize(clearHalts: true))
            default: #expect(one == .drainAndReinitialize(clearHalts: false))
            }
            if one == .giveUp { continue }
            for second in all {
                var afterTwo = recovery
                let two = afterTwo.step(second)
                #expect(two == (second == .deviceAbsent ? .giveUp : .resetAndReinitialize))
                if two == .giveUp { continue }
                for third in all {
                    var afterThree = afterTwo
                    #expect(afterThree.step(third) == .giveUp)
                    #expect(afterThree.failures == [first, second, third])
                }
            }
        }
    }

    @Test("slot text: ASCII up to the NUL, spaces trimmed")
    func slotText() {
        #expect(OceanOpticsSpectrometer.slotText(Array("  1.78E+02 ".utf8) + [0, 0x41]) == "1.78E+02")
        #expect(OceanOpticsSpectrometer.slotText([0, 0x41, 0x42]) == "")
        #expect(OceanOpticsSpectrometer.slotText(Array("FLMS04321".utf8)) == "FLMS04321")
    }

    @Test("model facts of PROTOCOLS.md §1")
    func modelFacts() {
        typealias Model = OceanOpticsSpectrometer.Model
        #expect(Model.vendorID == 0x2457)
        #expect([Model.usb2000Plus, .flameS, .usb4000].map(\.productID) == [0x101E, 0x101E, 0x1022])
        #expect([Model.usb2000Plus, .flameS, .usb4000].map(\.spectrumBytes) == [4097, 4097, 7681])
        #expect(Model.flameS.electricDarkPixels == 6...20 && Model.usb4000.electricDarkPixels == 5...15)
        #expect(Model.flameS.integrationLimits == 1000...65_000_000 && Model.usb4000.integrationLimits == 10...65_000_000)
        #expect(Model.flameS.opticalPixels.count == 2028 && Model.usb4000.opticalPixels.count == 3648)
        #expect(OceanOpticsSpectrometer.syncByte == 0x69)
    }
}
