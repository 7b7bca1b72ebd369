#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The published rig's run-to-run and aliquot-to-aliquot scatter, drawn from a seeded generator so
/// a twin campaign is the same campaign for the same seed.
///
/// From ../shared/data/cdse/uv_reproducibility.csv and pl_reproducibility.csv (5 repeated runs × 20
/// aliquots at 10 mM Cd, 10 mM Se, OA/Cd 40, for each of 200 ... 300 °C): per temperature and
/// aliquot, each run's deviation from the runs' median; a run's offset is the median of its
/// deviations; what is left is the aliquot's own scatter. Robust spreads (1.4826 × MAD, the
/// files' few misfits set aside; standard deviations in brackets):
///
/// | quantity | run to run | per aliquot |
/// |---|---|---|
/// | absorbance peak | 1.8 meV (SD of the 30 run offsets; MAD 1.35) | 0.6 meV (2.6) |
/// | PL peak | 1.0 meV (SD; MAD 0) | 1.8 meV (2.9) |
/// | absorbance FWHM | 0.5 nm (SD; MAD 0.27) | 0.15 nm (0.39) |
/// | PL FWHM | 0.2 nm (SD) | 0.25 nm (0.46) |
///
/// Together about 1.9 meV for the absorption peak: the published "SD < 0.5 nm (2 meV)". Heights
/// (not in the reproducibility summary) scatter by the twin's choice of 3 % run to run and 1 % per
/// aliquot (the aliquot volume's own spread is the sampling line's).
public struct CdSeReproducibility: Sendable {
    /// One standard deviation of each quantity (or, as `runOffsets`, one draw of each).
    public struct Spread: Equatable, Sendable {
        public var absorbancePeakMillielectronvolts: Double
        public var emissionPeakMillielectronvolts: Double
        public var absorbanceFWHMNanometres: Double
        public var emissionFWHMNanometres: Double
        /// Relative (a log-normal factor's σ).
        public var heightRelative: Double

        public init(
            absorbancePeakMillielectronvolts: Double, emissionPeakMillielectronvolts: Double, absorbanceFWHMNanometres: Double,
            emissionFWHMNanometres: Double, heightRelative: Double
        ) {
            self.absorbancePeakMillielectronvolts = absorbancePeakMillielectronvolts
            self.emissionPeakMillielectronvolts = emissionPeakMillielectronvolts
            self.absorbanceFWHMNanometres = absorbanceFWHMNanometres
            self.emissionFWHMNanometres = emissionFWHMNanometres
            self.heightRelative = heightRelative
        }

        /// No scatter.
        var isNonNegative: Bool {
            absorbancePeakMillielectronvolts >= 0 && emissionPeakMillielectronvolts >= 0 && absorbanceFWHMNanometres >= 0
                && emissionFWHMNanometres >= 0 && heightRelative >= 0
        }

        public static let none = Spread(
            absorbancePeakMillielectronvolts: 0, emissionPeakMillielectronvolts: 0, absorbanceFWHMNanometres: 0,
            emissionFWHMNanometres: 0, heightRelative: 0)
        /// The published runs' offsets from one another (table above).
        public static let publishedRunToRun = Spread(
            absorbancePeakMillielectronvolts: 1.8, emissionPeakMillielectronvolts: 1.0, absorbanceFWHMNanometres: 0.5,
            emissionFWHMNanometres: 0.2, heightRelative: 0.03)
        /// The published aliquots' scatter within a run (table above).
        public static let publishedPerAliquot = Spread(
            absorbancePeakMillielectronvolts: 0.6, emissionPeakMillielectronvolts: 1.8, absorbanceFWHMNanometres: 0.15,
            emissionFWHMNanometres: 0.25, heightRelative: 0.01)
    }

    /// The narrowest band the scatter may leave, nm.
    public static let narrowestFWHMNanometres = 1.0

    public let runToRun: Spread
    public let perAliquot: Spread
    private var random: SeededRandom
    /// This run's offsets, in the units of `Spread`.
    public private(set) var runOffsets: Spread

    public init(seed: UInt64, runToRun: Spread = .publishedRunToRun, perAliquot: Spread = .publishedPerAliquot) {
        precondition(runToRun.isNonNegative && perAliquot.isNonNegative, "a spread is 0 or more")
        self.runToRun = runToRun
        self.perAliquot = perAliquot
        self.random = SeededRandom(seed: seed)
        self.runOffsets = .none
        beginRun()
    }

    /// Draws a new run's offsets (at each injection).
    public mutating func beginRun() {
        runOffsets = draw(runToRun)
    }

    /// `outcome` as this run measures it at one aliquot: the run's offsets plus a fresh aliquot draw.
    public mutating func perturb(_ outcome: CdSeOutcome) -> CdSeOutcome {
        let aliquot = draw(perAliquot)
        var result = outcome
        if let band = outcome.exciton {
            let energy = hcElectronvoltNanometres / band.peakNanometres
                + (runOffsets.absorbancePeakMillielectronvolts + aliquot.absorbancePeakMillielectronvolts) / 1000
            result.exciton = ExcitonBand(
                peakNanometres: hcElectronvoltNanometres / energy,
                fwhmNanometres: max(band.fwhmNanometres + runOffsets.absorbanceFWHMNanometres + aliquot.absorbanceFWHMNanometres,
                    Self.narrowestFWHMNanometres),
                height: band.height * exp(runOffsets.heightRelative + aliquot.heightRelative))
        }
        if let band = outcome.emission {
            let energy = hcElectronvoltNanometres / band.peakNanometres
                + (runOffsets.emissionPeakMillielectronvolts + aliquot.emissionPeakMillielectronvolts) / 1000
            result.emission = EmissionBand(
                peakNanometres: hcElectronvoltNanometres / energy,
                fwhmNanometres: max(band.fwhmNanometres + runOffsets.emissionFWHMNanometres + aliquot.emissionFWHMNanometres,
                    Self.narrowestFWHMNanometres),
                countsPerSecond: band.countsPerSecond * exp(runOffsets.heightRelative + aliquot.heightRelative),
                trapRelativeHeight: band.trapRelativeHeight)
        }
        return result
    }

    /// One Gaussian draw per quantity with the given standard deviations.
    private mutating func draw(_ spread: Spread) -> Spread {
        Spread(
            absorbancePeakMillielectronvolts: spread.absorbancePeakMillielectronvolts * random.nextGaussian(),
            emissionPeakMillielectronvolts: spread.emissionPeakMillielectronvolts * random.nextGaussian(),
            absorbanceFWHMNanometres: spread.absorbanceFWHMNanometres * random.nextGaussian(),
            emissionFWHMNanometres: spread.emissionFWHMNanometres * random.nextGaussian(),
            heightRelative: spread.heightRelative * random.nextGaussian())
    }
}
