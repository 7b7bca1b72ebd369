import Config
import Devices
import Spectra
import Transports
import Twin

/// The board's spectrometers (`[spectrometer.abs]`, `[spectrometer.pl]`), opened on first use so
/// that a rig whose spectrometer is unplugged still heats and monitors.
///
/// Opening: the transport factory finds the unit by USB IDs and serial number (asking the part
/// through `OceanOpticsSpectrometer.serialNumberProbe()`, since OOI units keep it in slot 0), then
/// the driver initializes it, checks the model (FPGA version, pixel count), reads its
/// calibration and sets the board's integration time. A failed opening is not cached: the next
/// use tries again.
public final class Spectrometers {
    /// One opened spectrometer.
    public final class Spectrometer {
        public let config: SpectrometerConfig
        public let driver: OceanOpticsSpectrometer
        public let identity: OceanOpticsSpectrometer.Identity
        /// Pixels that see light (and go into files and analyses).
        public let opticalPixels: Range<Int>
        /// Wavelength of each optical pixel, nm, from the EEPROM's coefficients.
        public let wavelengths: [Double]

        init(config: SpectrometerConfig, driver: OceanOpticsSpectrometer, identity: OceanOpticsSpectrometer.Identity) {
            self.config = config
            self.driver = driver
            self.identity = identity
            opticalPixels = driver.model.opticalPixels
            let all = driver.wavelengths()
            wavelengths = Array(all[opticalPixels])
        }

        /// `spectrometer.abs`.
        public var id: String { config.id }
    }

    public let board: BoardFile
    private let transports: TransportFactory
    private var opened: [SpectrometerRole: Spectrometer] = [:]

    init(board: BoardFile, transports: TransportFactory) {
        self.board = board
        self.transports = transports
    }

    /// The roles the board declares, in file order.
    public var roles: [SpectrometerRole] { board.spectrometers.map(\.role) }

    /// The spectrometer of `role`, opened now if it is not yet.
    public func open(_ role: SpectrometerRole) throws(RigError) -> Spectrometer {
        if let spectrometer = opened[role] { return spectrometer }
        guard let config = board.spectrometer(role) else {
            throw RigError(
                part: "spectrometer.\(role.rawValue)", action: "open",
                detail: "\(board.path) has no [spectrometer.\(role.rawValue)]; it has: "
                    + (roles.isEmpty ? "none" : roles.map { "spectrometer.\($0.rawValue)" }.joined(separator: ", ")))
        }
        let model = config.model.driverModel
        let match = USBDeviceMatch(
            vendorID: OceanOpticsSpectrometer.Model.vendorID, productID: model.productID,
            serialNumber: config.serialNumber, interface: 0, endpointsToClear: model.endpointsToClear)
        let device = try transports.makeUSBDevice(
            match, part: config.id, serialNumberProbe: OceanOpticsSpectrometer.serialNumberProbe())
        let driver = OceanOpticsSpectrometer(device: device, model: model, clock: transports.clock)
        let identity: OceanOpticsSpectrometer.Identity
        do {
            identity = try driver.open(integrationMicroseconds: Int((config.integrationMs * 1000).rounded()))
        } catch {
            throw RigError(part: config.id, action: "open", underlying: error)
        }
        let spectrometer = Spectrometer(config: config, driver: driver, identity: identity)
        opened[role] = spectrometer
        return spectrometer
    }

    // MARK: - Acquisition

    /// Which spectrum of an acquisition is being taken.
    public enum Step: String, Equatable, Sendable {
        /// Light source off.
        case dark
        /// Light on, solvent (blank) in the cell.
        case reference
        /// Light on, the sample in the cell.
        case sample
    }

    /// Takes the dark (light off), the reference (light on, blank in the cell) and the sample
    /// (light on, sample in the cell) spectra of `role`, as asked, in that order, and leaves the
    /// light off. On the twin the cell is filled with the blank and the sample by the twin; on
    /// hardware `changeCell` is called before the reference and the sample so that the operator
    /// (or, later, the fluidics) can fill it.
    public func acquire(
        _ role: SpectrometerRole, dark takeDark: Bool, reference takeReference: Bool,
        changeCell: ((Step) -> Void)? = nil
    ) throws(RigError) -> SpectrumAcquisition {
        let spectrometer = try open(role)
        let twin = transports as? TwinTransportFactory
        let driver = spectrometer.driver
        func take(_ step: Step) throws(RigError) -> SpectrometerReading {
            switch (step, twin) {
            case (.dark, _): break
            case (.reference, let twin?): twin.setCell(.blank, of: role)
            case (.sample, let twin?): twin.setCell(.sample, of: role)
            case (_, nil): changeCell?(step)
            }
            do {
                try driver.setLamp(enabled: step != .dark)
                return try driver.readSpectrum()
            } catch {
                throw RigError(part: spectrometer.id, action: "take the \(step.rawValue) spectrum", underlying: error)
            }
        }
        let dark = takeDark ? try take(.dark) : nil
        let reference = takeReference ? try take(.reference) : nil
        let sample = try take(.sample)
        do {
            try driver.setLamp(enabled: false)
        } catch {
            throw RigError(part: spectrometer.id, action: "switch the light off", underlying: error)
        }
        return SpectrumAcquisition(spectrometer: spectrometer, dark: dark, reference: reference, sample: sample)
    }
}

/// The spectra of one acquisition over the spectrometer's optical pixels, and what follows from
/// them: the absorbance (abs, with a reference) by the Spectra module's Beer-Lambert computation.
public struct SpectrumAcquisition {
    public let role: SpectrometerRole
    public let identity: OceanOpticsSpectrometer.Identity
    /// nm per optical pixel.
    public let wavelengths: [Double]
    public let opticalPixels: Range<Int>
    public let dark: SpectrometerReading?
    public let reference: SpectrometerReading?
    public let sample: SpectrometerReading
    /// −log10((S − D)/(R − D)) on the corrected counts, for `abs` with a reference (D = 0 without
    /// a dark: the electric dark is already off); nil otherwise.
    public let absorbance: AbsorbanceSpectrum?

    init(
        spectrometer: Spectrometers.Spectrometer, dark: SpectrometerReading?, reference: SpectrometerReading?,
        sample: SpectrometerReading
    ) {
        role = spectrometer.config.role
        identity = spectrometer.identity
        wavelengths = spectrometer.wavelengths
        opticalPixels = spectrometer.opticalPixels
        self.dark = dark
        self.reference = reference
        self.sample = sample
        if role == .absorbance, let reference {
            let pixels = spectrometer.opticalPixels
            let darkCounts = dark.map { Self.counts($0, pixels) }
                ?? CountSpectrum(counts: [Double](repeating: 0, count: pixels.count))
            absorbance = AbsorbanceSpectrum(
                sample: Self.counts(sample, pixels), reference: Self.counts(reference, pixels), dark: darkCounts)
        } else {
            absorbance = nil
        }
    }

    /// A reading's corrected counts and saturation flags over `pixels`.
    static func counts(_ reading: SpectrometerReading, _ pixels: Range<Int>) -> CountSpectrum {
        CountSpectrum(counts: Array(reading.corrected[pixels]), saturated: Array(reading.saturated[pixels]))
    }

    /// A reading's corrected counts and saturation flags over the optical pixels.
    public func counts(_ reading: SpectrometerReading) -> CountSpectrum { Self.counts(reading, opticalPixels) }

    /// The emission: sample minus dark, corrected counts (the sample alone without a dark).
    public var emission: CountSpectrum {
        let spectrum = counts(sample)
        return dark.map { Self.darkCorrected(spectrum, dark: counts($0)) } ?? spectrum
    }

    /// `sample` minus `dark`, pixel by pixel; a pixel saturated in either stays flagged.
    public static func darkCorrected(_ sample: CountSpectrum, dark: CountSpectrum) -> CountSpectrum {
        var spectrum = sample
        for pixel in 0..<spectrum.count {
            spectrum.counts[pixel] -= dark.counts[pixel]
            spectrum.saturated[pixel] = spectrum.saturated[pixel] || dark.saturated[pixel]
        }
        return spectrum
    }

    /// The acquisition as CSV: a header, then one row per optical pixel: `wavelength_nm`, then
    /// `<spectrum>_counts` (raw) and `<spectrum>_corrected` for each of dark, reference and sample
    /// that was taken, then `absorbance` for abs with a reference (empty where the pixel is masked:
    /// saturated, dim reference, opaque). Wavelengths to 0.001 nm (as the published axes), corrected
    /// counts to 0.01, absorbance to 0.00001.
    public func csv() -> String {
        var columns: [(String, SpectrometerReading)] = []
        if let dark { columns.append(("dark", dark)) }
        if let reference { columns.append(("reference", reference)) }
        columns.append(("sample", sample))
        var header = "wavelength_nm"
        for (name, _) in columns { header += ",\(name)_counts,\(name)_corrected" }
        if absorbance != nil { header += ",absorbance" }
        var text = header + "\n"
        text.reserveCapacity(wavelengths.count * (16 + 20 * columns.count))
        for (index, pixel) in opticalPixels.enumerated() {
            text += decimal(wavelengths[index], places: 3)
            for (_, reading) in columns {
                text += ",\(reading.raw[pixel]),"
                text += decimal(reading.corrected[pixel], places: 2)
            }
            if let absorbance {
                text += ","
                if absorbance.flags[index] == .valid { text += decimal(absorbance.values[index], places: 5) }
            }
            text += "\n"
        }
        return text
    }
}

/// `value` with `places` decimals, rounded half away from zero (no Foundation).
func decimal(_ value: Double, places: Int) -> String {
    precondition(value.isFinite, "only finite values are written")
    var scale = 1.0
    for _ in 0..<places { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int64(scaled / scale)
    var fraction = String(Int64(scaled - Double(whole) * scale))
    fraction = String(repeating: "0", count: max(0, places - fraction.count)) + fraction
    let sign = value < 0 && scaled != 0 ? "-" : ""
    return places == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
}

extension SpectrometerModel {
    var driverModel: OceanOpticsSpectrometer.Model {
        switch self {
        case .usb2000Plus: .usb2000Plus
        case .flameS: .flameS
        case .usb4000: .usb4000
        }
    }

    var simulatorModel: OceanOpticsSimulator.Model {
        switch self {
        case .usb2000Plus: .usb2000Plus
        case .flameS: .flameS
        case .usb4000: .usb4000
        }
    }
}

// MARK: - The twin's spectrometers

extension TwinTransportFactory {
    /// The serial number of a twin spectrometer whose board section gives none.
    public static func twinSerialNumber(_ role: SpectrometerRole) -> String { "TWIN-\(role.rawValue.uppercased())" }

    /// A simulated spectrometer per `[spectrometer.<name>]` on one simulated USB bus: the EEPROM
    /// from the section (serial, wavelength coefficients), the detector and optics from its twin
    /// keys, the sample from the abs section's exciton and the pl section's emission.
    static func assembleSpectrometers(board: BoardFile, clock: VirtualClock, seed: UInt64)
        -> (SimulatedUSBBus, [SpectrometerRole: OceanOpticsSimulator])
    {
        let bus = SimulatedUSBBus(name: "twin:usb")
        var simulators: [SpectrometerRole: OceanOpticsSimulator] = [:]
        let sample = initialSample(board: board)
        for config in board.spectrometers {
            let twin = config.twin ?? SpectrometerTwinConfig.defaults(for: config.role)
            let optics = SpectrometerOptics(
                kind: config.role == .absorbance ? .absorbance : .emission, sample: sample, cell: .sample,
                sourceCountsPerMillisecond: twin.lightCountsPerMs, cellPathMillimetres: twin.cellPathMm)
            let detector = OceanOpticsSimulator.Detector(
                darkOffsetCounts: twin.darkOffsetCounts, darkCurrentCountsPerSecond: twin.darkCurrentCountsPerS,
                readNoiseCounts: twin.readNoiseCounts, saturationCounts: twin.saturationCounts)
            let simulator = OceanOpticsSimulator(
                model: config.model.simulatorModel, serialNumber: config.serialNumber ?? twinSerialNumber(config.role),
                wavelengthCoefficients: twin.wavelengthCoefficients, optics: optics, detector: detector,
                highSpeed: twin.highSpeed, clock: clock,
                seed: seed &+ (config.role == .absorbance ? 0xAB5 : 0x91))
            bus.attach(simulator)
            simulators[config.role] = simulator
        }
        return (bus, simulators)
    }

    /// The sample both cells hold at start: the abs section's exciton and scattering, the pl
    /// section's band-edge emission.
    static func initialSample(board: BoardFile) -> CurrentSample {
        var sample = CurrentSample(exciton: nil, emission: nil, scatteringAbsorbance: 0)
        if let abs = board.spectrometer(.absorbance)?.twin {
            sample.exciton = ExcitonBand(peakNanometres: abs.samplePeakNm, fwhmNanometres: abs.sampleFwhmNm, height: abs.sampleHeight)
            sample.scatteringAbsorbance = abs.sampleScattering
        }
        if let pl = board.spectrometer(.emission)?.twin {
            sample.emission = EmissionBand(
                peakNanometres: pl.samplePeakNm, fwhmNanometres: pl.sampleFwhmNm, countsPerSecond: pl.sampleHeight,
                trapRelativeHeight: pl.sampleTrap)
        }
        return sample
    }

    /// The sample now in both cells (the campaign feeds the chemistry in here).
    public var currentSample: CurrentSample {
        get { spectrometerSimulators.values.first?.optics.sample ?? .none }
        set { for simulator in spectrometerSimulators.values { simulator.optics.sample = newValue } }
    }

    /// Fills the cell of `role`'s spectrometer with `content`.
    public func setCell(_ content: CellContent, of role: SpectrometerRole) {
        spectrometerSimulators[role]?.optics.cell = content
    }

    /// A simulated USB device on the twin's bus (waiting on the virtual clock).
    public func makeUSBDevice(_ match: USBDeviceMatch, part: String, serialNumberProbe: USBSerialNumberProbe?)
        throws(RigError) -> any USBBulkDevice
    {
        do {
            return try SimulatedUSBDevice(
                bus: usbBus, match: match, clock: virtualClock, serialNumberProbe: serialNumberProbe,
                name: "twin:\(part)")
        } catch {
            throw RigError(part: part, action: "open", underlying: error)
        }
    }
}
