#if canImport(Glibc)
import Glibc
#endif

/// h·c in eV·nm: E = 1239.84193 / λ (the published data set's constant).
let hcElectronvoltNanometres = 1239.84193

/// √(2 ln 2): a Gaussian's half width at half maximum over its σ.
let halfWidthPerSigma = (2 * log(2.0)).squareRoot()

/// The first exciton of the quantum dots in the cell, in the published data set's terms.
public struct ExcitonBand: Equatable, Sendable {
    /// Peak wavelength, nm (`Peak_nm`): the Gaussian's centre in energy is 1239.84193 / peak.
    public var peakNanometres: Double
    /// FWHM, nm (`FWHM_nm`), as the data set reports it for the half-Gaussian fit: twice the half
    /// width on the low-energy (long-wavelength) side.
    public var fwhmNanometres: Double
    /// Height of the exciton above everything under it, absorbance through the rig's 2 mm cell.
    public var height: Double

    public init(peakNanometres: Double, fwhmNanometres: Double, height: Double) {
        precondition(peakNanometres > 0 && fwhmNanometres > 0 && height >= 0, "an exciton needs a positive peak and width")
        self.peakNanometres = peakNanometres
        self.fwhmNanometres = fwhmNanometres
        self.height = height
    }

    /// Centre (eV) and σ (eV) of the Gaussian in energy: the low-energy half maximum lies at
    /// peak + FWHM/2 in wavelength.
    public var energyAndSigma: (energy: Double, sigma: Double) {
        let energy = hcElectronvoltNanometres / peakNanometres
        let halfWidth = energy - hcElectronvoltNanometres / (peakNanometres + fwhmNanometres / 2)
        return (energy, halfWidth / halfWidthPerSigma)
    }
}

/// The band-edge photoluminescence of the dots in the cell, in the published data set's terms.
public struct EmissionBand: Equatable, Sendable {
    /// Peak wavelength, nm: the Gaussian's centre in energy is 1239.84193 / peak.
    public var peakNanometres: Double
    /// FWHM, nm: the distance between the two half-maximum wavelengths.
    public var fwhmNanometres: Double
    /// Counts per second of integration at the peak, as detected.
    public var countsPerSecond: Double
    /// The broad red trap band's height relative to the band edge (0: none).
    public var trapRelativeHeight: Double

    public init(peakNanometres: Double, fwhmNanometres: Double, countsPerSecond: Double, trapRelativeHeight: Double = 0.15) {
        precondition(peakNanometres > 0 && fwhmNanometres > 0 && countsPerSecond >= 0 && trapRelativeHeight >= 0,
            "an emission band needs a positive peak and width")
        self.peakNanometres = peakNanometres
        self.fwhmNanometres = fwhmNanometres
        self.countsPerSecond = countsPerSecond
        self.trapRelativeHeight = trapRelativeHeight
    }

    /// Centre (eV) and σ (eV) of the Gaussian in energy whose half-maximum wavelengths
    /// hc/(E0 − h) and hc/(E0 + h) lie `fwhmNanometres` apart (h = √(2 ln 2)·σ):
    /// w·h² + 2hc·h − w·E0² = 0.
    public var energyAndSigma: (energy: Double, sigma: Double) {
        let energy = hcElectronvoltNanometres / peakNanometres
        let hc = hcElectronvoltNanometres
        let w = fwhmNanometres
        let h = (-hc + (hc * hc + w * w * energy * energy).squareRoot()) / w
        return (energy, h / halfWidthPerSigma)
    }
}

/// What is in the cell now, as the chemistry made it: the twin (and later the campaign) sets it
/// before a spectrum is taken. `none` is a cell of solvent with no particles.
public struct CurrentSample: Equatable, Sendable {
    /// The first exciton; nil before nucleation (no particles).
    public var exciton: ExcitonBand?
    /// The band-edge emission; nil when the dots do not emit (or there are none).
    public var emission: EmissionBand?
    /// Rayleigh scattering by the particles, absorbance at 500 nm through the 2 mm cell (∝ λ⁻⁴).
    public var scatteringAbsorbance: Double

    public init(exciton: ExcitonBand?, emission: EmissionBand?, scatteringAbsorbance: Double = 0.01) {
        self.exciton = exciton
        self.emission = emission
        self.scatteringAbsorbance = scatteringAbsorbance
    }

    /// Solvent only.
    public static let none = CurrentSample(exciton: nil, emission: nil, scatteringAbsorbance: 0)
}

/// A transition above the first exciton, relative to it.
public struct HigherTransition: Equatable, Sendable {
    /// Above the first exciton, eV.
    public var offsetElectronvolts: Double
    /// Height relative to the first exciton's.
    public var relativeHeight: Double
    /// σ relative to the first exciton's.
    public var relativeWidth: Double

    public init(offsetElectronvolts: Double, relativeHeight: Double, relativeWidth: Double) {
        self.offsetElectronvolts = offsetElectronvolts
        self.relativeHeight = relativeHeight
        self.relativeWidth = relativeWidth
    }

    /// CdSe (Norris and Bawendi, Phys. Rev. B 53, 16338 (1996)): the 2S3/2-1Se and 1P3/2-1Pe
    /// transitions, about 0.16 eV above at 0.45 of the exciton's height and 0.42 eV above at 1.1
    /// of it, each broader.
    public static let cdse = [
        HigherTransition(offsetElectronvolts: 0.16, relativeHeight: 0.45, relativeWidth: 1.15),
        HigherTransition(offsetElectronvolts: 0.42, relativeHeight: 1.1, relativeWidth: 1.4),
    ]
}

/// Which liquid fills the flow cell.
public enum CellContent: Equatable, Sendable {
    /// Solvent (the reference, or the cell flushed between aliquots).
    case blank
    /// The diluted aliquot: the current sample.
    case sample
}

/// The light that reaches a spectrometer's pixels: the optics and the chemistry of the twin's
/// spectra (the detector is `OceanOpticsSimulator`'s).
///
/// Absorbance bench: a deuterium-halogen lamp (Ocean Optics DH-2000 type) through the 2 mm flow
/// cell. The lamp at the detector is the halogen continuum (a 2900 K Planck curve times a grating
/// and detector response peaking near 500 nm), the deuterium continuum (strong in the UV, faded by
/// 400 nm, cut below 200 nm by the optics), and the deuterium Balmer lines D-β 486.0 nm and D-α
/// 656.1 nm at the bench's 1.5 nm resolution. The sample's absorbance (decadic, in energy) is the
/// first exciton, two higher transitions (`HigherTransition.cdse`: about 0.16 eV above at 0.45 of
/// its height and 0.42 eV above at 1.1 of it, each broader, kept at least 4σ apart so that the
/// exciton set is the exciton measured; see `minimumTransitionSeparationSigmas`), the bulk-onset
/// rise (a softplus 0.5 eV above the exciton climbing 4 exciton heights per eV) and a λ⁻⁴ Rayleigh
/// scattering baseline. The sample's heights are absorbances through the rig's 2 mm cell; another
/// `cellPathMillimetres` scales them (Beer-Lambert).
///
/// PL bench: a 385 nm LED excites the cell; a long-pass filter at 415 nm passes the emission and a
/// small leak of the LED (Gaussian, 12 nm FWHM). The emission is the band-edge Gaussian in energy
/// plus a broad red trap band (0.45 eV below it, 0.5 eV FWHM). Emission heights are as detected
/// (the instrument response folded in), so the peak the analysis finds is the one set.
///
/// The light is off (dark) unless the spectrometer's lamp output enables it (OOI opcode 0x03,
/// wired to the lamp's TTL shutter or the LED driver). `lightBoost` multiplies everything: the
/// saturation fault.
public final class SpectrometerOptics {
    public enum Kind: Equatable, Sendable {
        /// Deuterium-halogen lamp through the flow cell.
        case absorbance
        /// 385 nm LED excitation, emission through a long-pass filter.
        case emission
    }

    public let kind: Kind
    /// The chemistry in the cell when it holds the sample.
    public var sample: CurrentSample { didSet { sampleChanged() } }
    /// What fills the cell.
    public var cell: CellContent { didSet { revision &+= 1 } }
    /// Absorbance bench: counts per millisecond of integration at the halogen maximum, through the
    /// blank. PL bench: the LED leak's counts per millisecond at 385 nm.
    public var sourceCountsPerMillisecond: Double { didSet { revision &+= 1 } }
    /// Optical path of the flow cell, mm (2 on the rig).
    public var cellPathMillimetres: Double { didSet { sampleChanged() } }
    /// Multiplies all light (1 normally): the saturation fault.
    public var lightBoost: Double = 1 { didSet { revision &+= 1 } }
    /// The transitions above the first exciton (`HigherTransition.cdse` by default; empty for a
    /// lone exciton).
    public var higherTransitions: [HigherTransition] = HigherTransition.cdse { didSet { sampleChanged() } }
    /// Each higher transition lies at least this many exciton σ above the one below it (4 by
    /// default). The sample's peak, FWHM and height are the published data set's measured
    /// quantities (what the campaign's chemistry predicts), so the twin keeps the transitions
    /// from merging into the exciton, which would move the measured peak away from the one set:
    /// merged at the published 0.16 eV spacing, broad ensembles (FWHM 35-55 nm) measure 1-12 nm to
    /// the blue. Narrow ensembles (σ ≤ 0.04 eV, FWHM ≲ 20 nm near 520 nm) keep the published spacing.
    public var minimumTransitionSeparationSigmas = 4.0 { didSet { sampleChanged() } }
    /// Changes whenever anything above does, so a detector can cache the light per pixel.
    public private(set) var revision: UInt64 = 0

    /// Per-pixel caches of `fill(countsPerSecond:wavelengths:)`: the source's shape (lamp relative
    /// to its halogen maximum, or the LED leak relative to its peak) for the wavelengths last
    /// given, and what the sample does there (transmittance through the cell, or emission past the
    /// filter), recomputed only when the sample changes.
    private var cachedWavelengths: [Double] = []
    private var sourceShape: [Double] = []
    private var sampleEffect: [Double] = []
    private var sampleEffectIsCurrent = false

    private func sampleChanged() {
        revision &+= 1
        sampleEffectIsCurrent = false
    }

    /// The path the sample's heights are given for.
    public static let referencePathMillimetres = 2.0
    /// The bench's resolution (FWHM of a line), nm: a 25 µm slit with a 600 lines/mm grating.
    public static let resolutionNanometres = 1.5
    /// PL excitation wavelength, nm.
    public static let excitationNanometres = 385.0
    /// PL long-pass filter edge, nm.
    public static let longPassEdgeNanometres = 415.0

    /// Halogen continuum over response, normalized so its maximum over 200-1000 nm is 1.
    private let halogenNormalization: Double

    public init(
        kind: Kind, sample: CurrentSample, cell: CellContent = .sample, sourceCountsPerMillisecond: Double,
        cellPathMillimetres: Double = referencePathMillimetres
    ) {
        precondition(sourceCountsPerMillisecond >= 0 && cellPathMillimetres > 0, "light and path must be positive")
        self.kind = kind
        self.sample = sample
        self.cell = cell
        self.sourceCountsPerMillisecond = sourceCountsPerMillisecond
        self.cellPathMillimetres = cellPathMillimetres
        var maximum = 0.0
        var wavelength = 200.0
        while wavelength <= 1000 {
            maximum = max(maximum, SpectrometerOptics.halogenShape(wavelength))
            wavelength += 0.5
        }
        halogenNormalization = 1 / maximum
    }

    // MARK: - The light at a pixel

    /// `countsPerSecond(atNanometres:)` for every wavelength of `wavelengths` into `output` (the
    /// same numbers), from caches: only a new sample (or path, transitions) recomputes what the
    /// sample does per pixel, and only new wavelengths recompute the source's shape.
    public func fill(countsPerSecond output: inout [Double], wavelengths: [Double]) {
        precondition(output.count == wavelengths.count, "one output per wavelength")
        if cachedWavelengths != wavelengths {
            cachedWavelengths = wavelengths
            sourceShape = wavelengths.map { nanometres in
                switch kind {
                case .absorbance: lampRelative(atNanometres: nanometres)
                case .emission: exp(-0.5 * pow((nanometres - Self.excitationNanometres) / (12 / 2.354_820_045), 2))
                }
            }
            sampleEffectIsCurrent = false
        }
        if !sampleEffectIsCurrent {
            sampleEffect = wavelengths.map { nanometres in
                switch kind {
                case .absorbance:
                    pow(10, -Self.absorbance(
                        of: sample, atNanometres: nanometres, higherTransitions: higherTransitions,
                        minimumSeparationSigmas: minimumTransitionSeparationSigmas) * cellPathMillimetres / Self.referencePathMillimetres)
                case .emission: emission(atNanometres: nanometres) * longPassTransmission(nanometres)
                }
            }
            sampleEffectIsCurrent = true
        }
        let scale = sourceCountsPerMillisecond * 1000 * lightBoost
        let withSample = cell == .sample
        for index in output.indices {
            switch kind {
            case .absorbance:
                output[index] = sourceShape[index] * scale * (withSample ? sampleEffect[index] : 1)
            case .emission:
                output[index] = sourceShape[index] * scale + (withSample ? sampleEffect[index] * lightBoost : 0)
            }
        }
    }

    /// Counts per second of integration reaching a pixel at `nanometres`, with the source on.
    public func countsPerSecond(atNanometres nanometres: Double) -> Double {
        switch kind {
        case .absorbance:
            let lamp = lampRelative(atNanometres: nanometres) * sourceCountsPerMillisecond * 1000
            let transmitted = cell == .sample ? lamp * pow(10, -absorbance(atNanometres: nanometres)) : lamp
            return transmitted * lightBoost
        case .emission:
            let leak = sourceCountsPerMillisecond * 1000
                * exp(-0.5 * pow((nanometres - Self.excitationNanometres) / (12 / 2.354_820_045), 2))
            let emitted = cell == .sample ? emission(atNanometres: nanometres) * longPassTransmission(nanometres) : 0
            return (leak + emitted) * lightBoost
        }
    }

    /// The deuterium-halogen lamp at the detector relative to the halogen maximum.
    public func lampRelative(atNanometres nanometres: Double) -> Double {
        let halogen = Self.halogenShape(nanometres) * halogenNormalization
        // Deuterium continuum: strong in the UV, e-folding every 45 nm, cut by the optics below 200 nm.
        let cutoff = 1 / (1 + exp(-(nanometres - 200) / 4))
        let deuterium = 0.9 * exp(-(nanometres - 230) / 45) * cutoff
        let sigma = Self.resolutionNanometres / 2.354_820_045
        let betaLine = 0.25 * exp(-0.5 * pow((nanometres - 486.0) / sigma, 2))
        let alphaLine = 1.6 * exp(-0.5 * pow((nanometres - 656.1) / sigma, 2))
        return halogen + deuterium + betaLine + alphaLine
    }

    /// A 2900 K Planck curve times the grating and detector response (a bump near 500 nm).
    private static func halogenShape(_ nanometres: Double) -> Double {
        let metres = nanometres * 1e-9
        let planck = pow(metres, -5) / (exp(0.014_387_77 / (metres * 2900)) - 1)
        let response = exp(-0.5 * pow((nanometres - 500) / 170, 2))
        return planck * response * 1e-30
    }

    /// The sample's decadic absorbance through this cell at `nanometres` (0 for a blank).
    public func absorbance(atNanometres nanometres: Double) -> Double {
        guard cell == .sample else { return 0 }
        return Self.absorbance(
            of: sample, atNanometres: nanometres, higherTransitions: higherTransitions,
            minimumSeparationSigmas: minimumTransitionSeparationSigmas) * cellPathMillimetres / Self.referencePathMillimetres
    }

    /// The absorbance of `sample` through the 2 mm cell at `nanometres`: exciton, higher
    /// transitions (each at least `minimumSeparationSigmas` σ above the one below), bulk-onset
    /// rise, scattering.
    public static func absorbance(
        of sample: CurrentSample, atNanometres nanometres: Double,
        higherTransitions: [HigherTransition] = HigherTransition.cdse, minimumSeparationSigmas: Double = 4
    ) -> Double {
        let energy = hcElectronvoltNanometres / nanometres
        var total = sample.scatteringAbsorbance * pow(500 / nanometres, 4)
        guard let exciton = sample.exciton else { return total }
        let (e1, sigma) = exciton.energyAndSigma
        let height = exciton.height
        total += height * exp(-0.5 * pow((energy - e1) / sigma, 2))
        var previous = 0.0
        for transition in higherTransitions {
            let s = sigma * transition.relativeWidth
            let offset = max(transition.offsetElectronvolts, previous + minimumSeparationSigmas * sigma)
            previous = offset
            total += height * transition.relativeHeight * exp(-0.5 * pow((energy - e1 - offset) / s, 2))
        }
        // Bulk-onset rise: a softplus 0.1 eV wide, then straight.
        let x = (energy - e1 - onsetOffsetElectronvolts) / 0.1
        total += onsetSlopePerHeight * height * 0.1 * (x > 30 ? x : log1p(exp(x)))
        return total
    }

    /// Where the bulk-onset rise starts above the exciton, eV, and its slope in exciton heights per eV.
    static let onsetOffsetElectronvolts = 0.5
    static let onsetSlopePerHeight = 4.0

    /// The sample's emission at `nanometres`, counts per second (band edge and trap band).
    public func emission(atNanometres nanometres: Double) -> Double {
        guard let band = sample.emission else { return 0 }
        let energy = hcElectronvoltNanometres / nanometres
        let (e0, sigma) = band.energyAndSigma
        let trapSigma = 0.5 / 2.354_820_045
        let bandEdge = exp(-0.5 * pow((energy - e0) / sigma, 2))
        let trap = band.trapRelativeHeight * exp(-0.5 * pow((energy - (e0 - 0.45)) / trapSigma, 2))
        return band.countsPerSecond * (bandEdge + trap)
    }

    /// The long-pass filter: blocks the excitation, passes the emission (edge 415 nm, 3 nm wide).
    public func longPassTransmission(_ nanometres: Double) -> Double {
        1 / (1 + exp(-(nanometres - Self.longPassEdgeNanometres) / 3))
    }
}
