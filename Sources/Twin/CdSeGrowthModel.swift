#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A hot-injection condition as the published grid states it (DESIGN §1).
public struct CdSeCondition: Equatable, Sendable {
    /// [Cd] in the reactor after injection, mM (`Cd_mM`).
    public var cadmiumMillimolar: Double
    /// [Se] in the reactor after injection, mM (`Se_mM`).
    public var seleniumMillimolar: Double
    /// Oleic acid per cadmium, mol/mol (`OA_Cd_ratio`).
    public var oleicAcidPerCadmium: Double
    /// The reactor temperature the growth saw, °C (`T_reactor`: the set point for a normal run;
    /// `ReactorChemistry.effectiveCelsius(at:)` for a temperature history).
    public var reactorCelsius: Double

    public init(cadmiumMillimolar: Double, seleniumMillimolar: Double, oleicAcidPerCadmium: Double, reactorCelsius: Double) {
        precondition(cadmiumMillimolar.isFinite && seleniumMillimolar.isFinite && oleicAcidPerCadmium.isFinite
            && reactorCelsius.isFinite, "a condition is finite")
        self.cadmiumMillimolar = cadmiumMillimolar
        self.seleniumMillimolar = seleniumMillimolar
        self.oleicAcidPerCadmium = oleicAcidPerCadmium
        self.reactorCelsius = reactorCelsius
    }
}

/// What the dots in an aliquot look like at the published rig's dilution: the first exciton in the
/// 2 mm absorbance cell and the band-edge emission in the PL cell; nil where the published data
/// has no fitted peak (too weak, not yet nucleated, or not fittable).
public struct CdSeOutcome: Equatable, Sendable {
    public var exciton: ExcitonBand?
    public var emission: EmissionBand?

    public init(exciton: ExcitonBand?, emission: EmissionBand?) {
        self.exciton = exciton
        self.emission = emission
    }

    /// No particles to see.
    public static let noSignal = CdSeOutcome(exciton: nil, emission: nil)

    /// Rayleigh scattering of the particles, absorbance at 500 nm per exciton height: a few percent
    /// (small dots scatter little; the analysis' baseline takes it).
    public static let scatteringPerExcitonHeight = 0.03

    /// The flow cells' contents when the aliquot is `relativeConcentration` times as concentrated
    /// as at the published dilution (1: a nominal 40 µL aliquot; absorbance and PL counts both
    /// scale with the number of dots in the cell, Beer-Lambert and the dilute-emission limit).
    public func sample(relativeConcentration: Double) -> CurrentSample {
        precondition(relativeConcentration >= 0 && relativeConcentration.isFinite, "a concentration is 0 or more")
        let exciton = exciton.map {
            ExcitonBand(peakNanometres: $0.peakNanometres, fwhmNanometres: $0.fwhmNanometres, height: $0.height * relativeConcentration)
        }
        let emission = emission.map {
            EmissionBand(
                peakNanometres: $0.peakNanometres, fwhmNanometres: $0.fwhmNanometres,
                countsPerSecond: $0.countsPerSecond * relativeConcentration, trapRelativeHeight: $0.trapRelativeHeight)
        }
        let scattering = (exciton?.height ?? 0) * Self.scatteringPerExcitonHeight
        return CurrentSample(exciton: exciton, emission: emission, scatteringAbsorbance: scattering)
    }
}

/// The twin's own model of the CdSe hot-injection outcome (not the controller's network): the
/// published grid's measured trajectories, interpolated.
///
/// **Over time**, at each of the 256 grid conditions (T 210/240/270/300 °C × [Cd] 5/10/20/40 mM ×
/// [Se] 5/10/20/40 mM × OA/Cd 3/10/20/40), the trajectory of each quantity (absorbance peak in eV,
/// FWHM in nm, ln height; PL the same) passes through the measured points of
/// ../shared/data/cdse/{uv,pl}_train_val.csv (replicate runs averaged per aliquot, see
/// `CdSeGrowthCalibration.swift`) and is a monotone piecewise-cubic Hermite curve in ln t between
/// them (Fritsch and Carlson, SIAM J. Numer. Anal. 17 (1980) 238, with the Fritsch-Butland
/// harmonic-mean slopes: C¹, no overshoot, every value between the two measured points around it),
/// held flat before the first and after the last. A parametric law (a cubic in ln t fitted per
/// grid point) misses the data by 3.8 meV on average (absorbance; 4.4 meV PL), and by 20-65 meV
/// on the 300 °C, 5-10 mM Cd, 40 mM Se runs whose peak jumps by 100 nm late in the run: the twin
/// keeps what the rig measured instead and adds the published run-to-run spread
/// (`CdSeReproducibility`).
///
/// **Over conditions**, multilinear interpolation in (T, ln [Cd], ln [Se], ln OA/Cd) between the
/// 16 grid corners around the condition, each corner weighted by its multilinear weight times its
/// signal presence at t (1 where the data has a fitted peak at the nearest aliquots, 0 where not,
/// linear in ln t between the scheduled times 10 ... 600 s): a signal when the weighted presence
/// is at least ½, and then every quantity is the presence-weighted mean of the corners'. At a grid
/// point this is the data; in between, at a scheduled time, each quantity lies between its
/// neighbours (a convex combination), and it moves continuously with the condition.
///
/// **Outside the grid** the nearest face holds (the data says nothing there: no model of the
/// published study extrapolated well), except where there is no chemistry: below
/// `minimumMillimolar` of Cd or Se, below `nucleationCelsius`, or before `firstSignalSeconds`
/// there is no signal; between those and the grid's lowest values the heights fall linearly.
///
/// Cost: 16 corners × two channels × a binary search and a cubic: about a microsecond.
public struct CdSeGrowthModel: Sendable {
    /// The grid's axes (DESIGN §1, Table 2 of the published study).
    public static let gridCelsius: [Double] = [210, 240, 270, 300]
    public static let gridCadmiumMillimolar: [Double] = [5, 10, 20, 40]
    public static let gridSeleniumMillimolar: [Double] = [5, 10, 20, 40]
    public static let gridOleicAcidPerCadmium: [Double] = [3, 10, 20, 40]
    /// The published sampling schedule, s after injection.
    public static let scheduleSeconds: [Double] = [
        10, 20, 30, 40, 50, 60, 80, 100, 120, 140, 160, 200, 240, 280, 330, 380, 450, 500, 550, 600,
    ]
    /// Counts of the published PL heights are per this integration time (the twin's board uses
    /// 100 ms, and the published heights reach about 30 000 counts, below the 16-bit ceiling).
    public static let emissionReferenceIntegrationSeconds = 0.1
    /// Below this [Cd] or [Se] there are no dots to see, mM.
    public static let minimumMillimolar = 0.5
    /// Below this effective temperature no dots nucleate within the 10 min run, °C; between it and
    /// the grid's 210 °C the heights fall linearly to zero.
    public static let nucleationCelsius = 190.0
    /// Before this time after injection the precursors are still mixing: no dots to see, s.
    public static let firstSignalSeconds = 3.0

    /// One channel's trajectory at one grid corner.
    struct Trajectory: Sendable {
        /// ln t of the measured points, ascending.
        var logSeconds: [Double] = []
        /// Peak energy (eV), FWHM (nm), ln height per point, and their Hermite slopes in ln t.
        var peakElectronvolts: [Double] = []
        var fwhmNanometres: [Double] = []
        var logHeight: [Double] = []
        var peakSlopes: [Double] = []
        var fwhmSlopes: [Double] = []
        var logHeightSlopes: [Double] = []
        /// Whether the data has a fitted peak at each scheduled time (`scheduleSeconds`).
        var present: [Bool] = Array(repeating: false, count: CdSeGrowthModel.scheduleSeconds.count)
    }

    /// One channel's 256 trajectories in flat arrays (corner index ((iT·4 + iCd)·4 + iSe)·4 + iOA;
    /// corner k's points are `start[k] ..< start[k + 1]`): no per-corner arrays to retain on the
    /// hot path.
    struct Channel: Sendable {
        var start: [Int] = [0]
        var logSeconds: [Double] = []
        var peak: [Double] = []
        var peakSlope: [Double] = []
        var fwhm: [Double] = []
        var fwhmSlope: [Double] = []
        var logHeight: [Double] = []
        var logHeightSlope: [Double] = []
        /// Bit i: the data has a fitted peak at `scheduleSeconds[i]`.
        var present: [UInt32] = []

        init(_ trajectories: [Trajectory]) {
            for trajectory in trajectories {
                logSeconds += trajectory.logSeconds
                peak += trajectory.peakElectronvolts
                peakSlope += trajectory.peakSlopes
                fwhm += trajectory.fwhmNanometres
                fwhmSlope += trajectory.fwhmSlopes
                logHeight += trajectory.logHeight
                logHeightSlope += trajectory.logHeightSlopes
                start.append(logSeconds.count)
                var bits: UInt32 = 0
                for (slot, present) in trajectory.present.enumerated() where present { bits |= 1 << UInt32(slot) }
                present.append(bits)
            }
        }
    }

    let absorbance: Channel
    let emission: Channel
    private static let logSchedule = scheduleSeconds.map { log($0) }

    /// The model calibrated on the published grid (`CdSeGrowthCalibration.swift`), parsed once.
    public static let calibrated: CdSeGrowthModel = {
        switch CdSeGrowthModel.parse(calibrationText) {
        case .success(let model): return model
        case .failure(let error): preconditionFailure("the committed calibration table is malformed: \(error)")
        }
    }()

    /// A line of a calibration table that does not parse.
    public struct CalibrationError: Error, Equatable, CustomStringConvertible {
        public var line: Int
        public var text: String
        public var reason: String
        public var description: String { "calibration table line \(line) (\(text)): \(reason)" }
    }

    /// Reads a calibration table: one measured point per line, `channel T Cd Se OA t peak_nm
    /// FWHM_nm height` (channel `a` absorbance, `p` PL; conditions on the grid; times ascending per
    /// condition); blank lines and lines starting with `#` are skipped.
    public static func parse(_ text: String) -> Result<CdSeGrowthModel, CalibrationError> {
        var channels = [[Trajectory]](repeating: [Trajectory](repeating: Trajectory(), count: 256), count: 2)
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty || line.first == "#" { continue }
            let fields = line.split(separator: " ")
            func failure(_ reason: String) -> Result<CdSeGrowthModel, CalibrationError> {
                .failure(CalibrationError(line: lineNumber, text: String(line), reason: reason))
            }
            guard fields.count == 9 else { return failure("expected 9 fields, found \(fields.count)") }
            let channel: Int
            switch fields[0] {
            case "a": channel = 0
            case "p": channel = 1
            default: return failure("channel must be a or p")
            }
            var numbers = [Double]()
            for field in fields.dropFirst() {
                guard let value = Double(field), value.isFinite else { return failure("\(field) is not a number") }
                numbers.append(value)
            }
            guard let iT = gridCelsius.firstIndex(of: numbers[0]),
                let iCd = gridCadmiumMillimolar.firstIndex(of: numbers[1]),
                let iSe = gridSeleniumMillimolar.firstIndex(of: numbers[2]),
                let iOA = gridOleicAcidPerCadmium.firstIndex(of: numbers[3])
            else { return failure("the condition is not on the grid") }
            let (seconds, peak, fwhm, height) = (numbers[4], numbers[5], numbers[6], numbers[7])
            guard seconds > 0, peak > 0, fwhm > 0, height > 0 else { return failure("time, peak, FWHM and height must be positive") }
            let index = ((iT * 4 + iCd) * 4 + iSe) * 4 + iOA
            let logSeconds = log(seconds)
            if let last = channels[channel][index].logSeconds.last, logSeconds <= last {
                return failure("times must ascend per condition")
            }
            channels[channel][index].logSeconds.append(logSeconds)
            channels[channel][index].peakElectronvolts.append(hcElectronvoltNanometres / peak)
            channels[channel][index].fwhmNanometres.append(fwhm)
            channels[channel][index].logHeight.append(log(height))
            let slot = logSchedule.indices.min { abs(logSchedule[$0] - logSeconds) < abs(logSchedule[$1] - logSeconds) } ?? 0
            channels[channel][index].present[slot] = true
        }
        for channel in channels.indices {
            for index in channels[channel].indices {
                var trajectory = channels[channel][index]
                trajectory.peakSlopes = Self.monotoneSlopes(trajectory.logSeconds, trajectory.peakElectronvolts)
                trajectory.fwhmSlopes = Self.monotoneSlopes(trajectory.logSeconds, trajectory.fwhmNanometres)
                trajectory.logHeightSlopes = Self.monotoneSlopes(trajectory.logSeconds, trajectory.logHeight)
                channels[channel][index] = trajectory
            }
        }
        return .success(CdSeGrowthModel(absorbance: channels[0], emission: channels[1]))
    }

    private init(absorbance: [Trajectory], emission: [Trajectory]) {
        self.absorbance = Channel(absorbance)
        self.emission = Channel(emission)
    }

    // MARK: - Evaluation

    /// The noise-free outcome at `condition`, `seconds` after injection.
    public func outcome(_ condition: CdSeCondition, secondsSinceInjection seconds: Double) -> CdSeOutcome {
        let cadmium = condition.cadmiumMillimolar
        let selenium = condition.seleniumMillimolar
        let celsius = condition.reactorCelsius
        guard seconds >= Self.firstSignalSeconds, cadmium >= Self.minimumMillimolar, selenium >= Self.minimumMillimolar,
            celsius > Self.nucleationCelsius, condition.oleicAcidPerCadmium > 0
        else { return .noSignal }
        // Fewer dots below the grid: heights fall linearly to the chemistry's limits.
        let lowestCadmium = Self.gridCadmiumMillimolar[0]
        let lowestSelenium = Self.gridSeleniumMillimolar[0]
        let lowestCelsius = Self.gridCelsius[0]
        var heightScale = 1.0
        if cadmium < lowestCadmium { heightScale *= (cadmium - Self.minimumMillimolar) / (lowestCadmium - Self.minimumMillimolar) }
        if selenium < lowestSelenium { heightScale *= (selenium - Self.minimumMillimolar) / (lowestSelenium - Self.minimumMillimolar) }
        if celsius < lowestCelsius { heightScale *= (celsius - Self.nucleationCelsius) / (lowestCelsius - Self.nucleationCelsius) }

        let t = Self.gridPosition(celsius, Self.gridCelsius, logarithmic: false)
        let cd = Self.gridPosition(cadmium, Self.gridCadmiumMillimolar, logarithmic: true)
        let se = Self.gridPosition(selenium, Self.gridSeleniumMillimolar, logarithmic: true)
        let oa = Self.gridPosition(condition.oleicAcidPerCadmium, Self.gridOleicAcidPerCadmium, logarithmic: true)
        let logSeconds = log(seconds)
        let (slot, slotFraction) = Self.schedulePosition(logSeconds)

        var absorbanceBlend = Blend()
        var emissionBlend = Blend()
        for corner in 0..<16 {
            let weight = (corner & 8 == 0 ? 1 - t.fraction : t.fraction) * (corner & 4 == 0 ? 1 - cd.fraction : cd.fraction)
                * (corner & 2 == 0 ? 1 - se.fraction : se.fraction) * (corner & 1 == 0 ? 1 - oa.fraction : oa.fraction)
            if weight == 0 { continue }
            let index = (((t.lower + (corner >> 3 & 1)) * 4 + cd.lower + (corner >> 2 & 1)) * 4 + se.lower + (corner >> 1 & 1)) * 4
                + oa.lower + (corner & 1)
            absorbanceBlend.add(absorbance, corner: index, weight: weight, logSeconds: logSeconds, slot: slot, slotFraction: slotFraction)
            emissionBlend.add(emission, corner: index, weight: weight, logSeconds: logSeconds, slot: slot, slotFraction: slotFraction)
        }
        var outcome = CdSeOutcome.noSignal
        if let band = absorbanceBlend.result(), heightScale > 0 {
            outcome.exciton = ExcitonBand(
                peakNanometres: hcElectronvoltNanometres / band.peak, fwhmNanometres: band.fwhm, height: exp(band.logHeight) * heightScale)
        }
        if let band = emissionBlend.result(), heightScale > 0 {
            outcome.emission = EmissionBand(
                peakNanometres: hcElectronvoltNanometres / band.peak, fwhmNanometres: band.fwhm,
                countsPerSecond: exp(band.logHeight) * heightScale / Self.emissionReferenceIntegrationSeconds,
                trapRelativeHeight: Self.trapRelativeHeight(celsius: celsius, seconds: seconds))
        }
        return outcome
    }

    /// The broad red trap emission relative to the band edge. Not in the published data (its fits
    /// ignore it): the twin's choice, a share that anneals away with time and temperature, from
    /// 0.3 early at 210 °C to 0.05 late at 300 °C, so the spectra look like the rig's.
    public static func trapRelativeHeight(celsius: Double, seconds: Double) -> Double {
        let coolness = min(max((300 - celsius) / 90, 0), 1)
        return 0.05 + 0.25 * coolness * exp(-seconds / 200)
    }

    /// Presence-weighted sums over the corners.
    private struct Blend {
        var presence = 0.0
        var weight = 0.0
        var peak = 0.0
        var fwhm = 0.0
        var logHeight = 0.0

        mutating func add(_ channel: Channel, corner: Int, weight cornerWeight: Double, logSeconds: Double, slot: Int, slotFraction: Double) {
            let first = channel.start[corner]
            let end = channel.start[corner + 1]
            guard end > first else { return }
            let bits = channel.present[corner]
            let lower = bits >> UInt32(slot) & 1 == 1 ? 1.0 : 0.0
            let upper = bits >> UInt32(min(slot + 1, CdSeGrowthModel.scheduleSeconds.count - 1)) & 1 == 1 ? 1.0 : 0.0
            let present = lower + (upper - lower) * slotFraction
            presence += cornerWeight * present
            let w = cornerWeight * present
            guard w > 0 else { return }
            weight += w
            // The interval of ln t holding `logSeconds` (flat outside the points).
            let x = channel.logSeconds
            var low = first
            var high = end - 1
            if logSeconds <= x[low] {
                high = low
            } else if logSeconds >= x[high] {
                low = high
            } else {
                while high - low > 1 {
                    let middle = (low + high) / 2
                    if x[middle] <= logSeconds { low = middle } else { high = middle }
                }
            }
            peak += w * CdSeGrowthModel.hermiteStep(x, channel.peak, channel.peakSlope, low, high, logSeconds)
            fwhm += w * CdSeGrowthModel.hermiteStep(x, channel.fwhm, channel.fwhmSlope, low, high, logSeconds)
            logHeight += w * CdSeGrowthModel.hermiteStep(x, channel.logHeight, channel.logHeightSlope, low, high, logSeconds)
        }

        /// The blended band, or nil when less than half the weight has a signal.
        func result() -> (peak: Double, fwhm: Double, logHeight: Double)? {
            guard presence >= 0.5, weight > 0 else { return nil }
            return (peak / weight, fwhm / weight, logHeight / weight)
        }
    }

    /// The cell of `grid` holding `value` (clamped to the grid) and the fraction across it, in
    /// ln value for the concentrations and ratios, in value for the temperature.
    static func gridPosition(_ value: Double, _ grid: [Double], logarithmic: Bool) -> (lower: Int, fraction: Double) {
        let clamped = min(max(value, grid[0]), grid[grid.count - 1])
        var lower = 0
        while lower < grid.count - 2 && clamped > grid[lower + 1] { lower += 1 }
        let fraction = logarithmic
            ? log(clamped / grid[lower]) / log(grid[lower + 1] / grid[lower])
            : (clamped - grid[lower]) / (grid[lower + 1] - grid[lower])
        return (lower, min(max(fraction, 0), 1))
    }

    /// The scheduled aliquot at or before `logSeconds` and the fraction (in ln t) to the next one.
    static func schedulePosition(_ logSeconds: Double) -> (slot: Int, fraction: Double) {
        let schedule = logSchedule
        if logSeconds <= schedule[0] { return (0, 0) }
        if logSeconds >= schedule[schedule.count - 1] { return (schedule.count - 1, 0) }
        var slot = 0
        while logSeconds >= schedule[slot + 1] { slot += 1 }
        return (slot, (logSeconds - schedule[slot]) / (schedule[slot + 1] - schedule[slot]))
    }

    /// Slopes for a monotone cubic Hermite interpolant through (x, y): zero where the secants
    /// change sign, else the Fritsch-Butland weighted harmonic mean of the two secants; the
    /// secant at the ends.
    static func monotoneSlopes(_ x: [Double], _ y: [Double]) -> [Double] {
        let n = x.count
        guard n > 1 else { return [Double](repeating: 0, count: n) }
        var secants = [Double]()
        for k in 0..<(n - 1) { secants.append((y[k + 1] - y[k]) / (x[k + 1] - x[k])) }
        var slopes = [Double](repeating: 0, count: n)
        slopes[0] = secants[0]
        slopes[n - 1] = secants[n - 2]
        for k in 1..<(n - 1) where secants[k - 1] * secants[k] > 0 {
            let before = x[k] - x[k - 1]
            let after = x[k + 1] - x[k]
            let w1 = 2 * after + before
            let w2 = after + 2 * before
            slopes[k] = (w1 + w2) / (w1 / secants[k - 1] + w2 / secants[k])
        }
        return slopes
    }

    /// The cubic Hermite interpolant through (x, y) with `slopes` at `at`, held flat outside x.
    static func hermite(_ x: [Double], _ y: [Double], _ slopes: [Double], at value: Double) -> Double {
        let n = x.count
        if value <= x[0] { return y[0] }
        if value >= x[n - 1] { return y[n - 1] }
        var low = 0
        var high = n - 1
        while high - low > 1 {
            let middle = (low + high) / 2
            if x[middle] <= value { low = middle } else { high = middle }
        }
        return hermiteStep(x, y, slopes, low, high, value)
    }

    /// The cubic Hermite segment from point `low` to point `high` at `value` (y[low] when they are
    /// the same point).
    @inline(__always)
    static func hermiteStep(_ x: [Double], _ y: [Double], _ slopes: [Double], _ low: Int, _ high: Int, _ value: Double) -> Double {
        guard high > low else { return y[low] }
        let h = x[high] - x[low]
        let s = (value - x[low]) / h
        let s2 = s * s
        let s3 = s2 * s
        return (2 * s3 - 3 * s2 + 1) * y[low] + (s3 - 2 * s2 + s) * h * slopes[low]
            + (-2 * s3 + 3 * s2) * y[high] + (s3 - s2) * h * slopes[high]
    }
}
