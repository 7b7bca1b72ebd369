// `make bench`, spectrometers: what one spectrum costs through the driver and the twin's USB
// transport, per model (request, transfer, sync check, decode and corrections, with the
// simulator building the spectrum), the driver's share alone (the same transfers replayed, no
// spectrum synthesis), and the corrections alone. Printed, never asserted.
#if canImport(Glibc)
import Glibc
#endif
import Config
import Devices
import Transports
import Twin

/// Prints the spectrometer benchmarks: a table of per-spectrum costs per model.
func runSpectrometerBenchmarks() {
    var measurements: [Measurement] = []
    let cases: [(OceanOpticsSimulator.Model, OceanOpticsSpectrometer.Model, Bool)] = [
        (.usb2000Plus, .usb2000Plus, true), (.flameS, .flameS, true), (.usb4000, .usb4000, true),
        (.flameS, .flameS, false),
    ]
    do {
        for (simulatorModel, driverModel, highSpeed) in cases {
            let clock = VirtualClock()
            let optics = SpectrometerOptics(
                kind: .absorbance,
                sample: CurrentSample(
                    exciton: ExcitonBand(peakNanometres: 520, fwhmNanometres: 30, height: 0.25), emission: nil),
                sourceCountsPerMillisecond: 5000)
            let simulator = OceanOpticsSimulator(
                model: simulatorModel, serialNumber: "BENCH1",
                wavelengthCoefficients: SpectrometerTwinConfig.rigWavelengthCoefficients(.absorbance), optics: optics,
                highSpeed: highSpeed, clock: clock, seed: 7)
            let bus = SimulatedUSBBus()
            bus.attach(simulator)
            let device = try SimulatedUSBDevice(
                bus: bus,
                match: USBDeviceMatch(vendorID: 0x2457, productID: driverModel.productID, endpointsToClear: driverModel.endpointsToClear),
                clock: clock)
            let driver = OceanOpticsSpectrometer(device: device, model: driverModel, clock: clock)
            try driver.open(integrationMicroseconds: 8000, lampEnabled: true)
            var reading = SpectrometerReading(pixelCount: driverModel.pixelCount)
            let speed = highSpeed ? "HS" : "FS"
            measurements.append(
                try measure("\(driverModel) \(speed): read spectrum, twin transport", iterations: 2000) {
                    try driver.read(into: &reading)
                })
            // The driver's share: the last spectrum's transfers replayed without building a new one.
            let replay = try ReplayedSpectra(device: device, simulator: simulator)
            let replayDriver = OceanOpticsSpectrometer(device: replay, model: driverModel, clock: clock)
            try replayDriver.open(integrationMicroseconds: 8000, lampEnabled: true)
            replay.freeze()
            measurements.append(
                try measure("\(driverModel) \(speed): read spectrum, driver only", iterations: 20_000) {
                    try replayDriver.read(into: &reading)
                })
            // The driver's corrections alone, on the last spectrum.
            let raw = reading.raw
            let calibration = try require(driver.calibration)
            var corrected = [Double](repeating: 0, count: raw.count)
            var saturated = [Bool](repeating: false, count: raw.count)
            if highSpeed {
                measurements.append(
                    measure("\(driverModel): corrections only", iterations: 20_000) {
                        raw.withUnsafeBufferPointer { raw in
                            corrected.withUnsafeMutableBufferPointer { corrected in
                                saturated.withUnsafeMutableBufferPointer { saturated in
                                    calibration.nonlinearityCoefficients.withUnsafeBufferPointer { k in
                                        _ = OceanOpticsSpectrometer.correct(
                                            raw: raw, electricDarkPixels: driverModel.electricDarkPixels, nonlinearity: k,
                                            saturationLevel: calibration.saturationLevel, corrected: corrected,
                                            saturated: saturated)
                                    }
                                }
                            }
                        }
                    })
            }
        }
    } catch {
        print("spectrometer benchmarks failed: \(error)")
        return
    }
    print("")
    print("spectrometers (twin transport: the simulator builds each spectrum with noise, the driver reads it):")
    let clockOverhead = measure("clock_gettime(CLOCK_MONOTONIC)", iterations: 10_000) {}.percentile(0.5)
    report(measurements, clockOverhead: clockOverhead)
}

/// A transport that passes everything to the twin until `freeze()`, then answers every spectrum
/// request with the transfers of the last spectrum the simulator built: the driver's cost
/// without the simulator's.
private final class ReplayedSpectra: USBBulkDevice {
    let inner: SimulatedUSBDevice
    let simulator: OceanOpticsSimulator
    private var frozen: [UInt8: [UInt8]] = [:]
    private var offsets: [UInt8: Int] = [:]
    private var isFrozen = false

    init(device: SimulatedUSBDevice, simulator: OceanOpticsSimulator) throws {
        inner = device
        self.simulator = simulator
    }

    var name: String { inner.name }
    var connectionNumber: Int { inner.connectionNumber }
    var isConnected: Bool { inner.isConnected }

    /// From now on, spectra are the last one built, split over the endpoints as the model sends them.
    func freeze() {
        var bytes: [UInt8] = []
        for value in simulator.lastSpectrum { bytes += [UInt8(value & 0xFF), UInt8(value >> 8)] }
        bytes.append(0x69)
        if simulator.model == .usb4000 && simulator.isHighSpeed {
            frozen = [0x86: Array(bytes[0..<2048]), 0x82: Array(bytes[2048...])]
        } else {
            frozen = [0x82: bytes]
        }
        offsets = [0x82: -1, 0x86: -1]
        isFrozen = true
    }

    func bulkWrite(endpoint: UInt8, bytes: UnsafeRawBufferPointer, timeoutMilliseconds: Int) throws(USBError) {
        if isFrozen && bytes.first == 0x09 {
            for key in frozen.keys { offsets[key] = 0 }
            return
        }
        try inner.bulkWrite(endpoint: endpoint, bytes: bytes, timeoutMilliseconds: timeoutMilliseconds)
    }

    func bulkRead(endpoint: UInt8, into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int) throws(USBError) -> Int {
        guard isFrozen, let data = frozen[endpoint], let offset = offsets[endpoint], offset >= 0 else {
            return try inner.bulkRead(endpoint: endpoint, into: buffer, timeoutMilliseconds: timeoutMilliseconds)
        }
        let count = min(buffer.count, data.count - offset)
        data.withUnsafeBytes { source in
            buffer.baseAddress!.copyMemory(from: source.baseAddress! + offset, byteCount: count)
        }
        offsets[endpoint] = offset + count == data.count ? -1 : offset + count
        return count
    }

    func clearHalt(endpoint: UInt8) throws(USBError) { try inner.clearHalt(endpoint: endpoint) }
    func reset() throws(USBError) { try inner.reset() }
    func connect() throws(USBError) { try inner.connect() }
}
