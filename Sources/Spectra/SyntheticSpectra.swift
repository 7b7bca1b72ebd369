#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Spectra with known truth, for the accuracy study (tests and `make bench`). They follow the rig:
// the real wavelength axes, a deuterium-halogen lamp through the 2 mm flow cell, and the FLAME-S /
// USB2000+ detector's noise. The line shapes are Gaussians in photon energy, so the truth is
// stated the way the analysis reports it (Peak_nm = 1239.84193 / E0; FWHM as in `PeakParameters`).

/// The detector's reading: 16-bit counts, dark offset, shot noise from the well depth and a fixed
/// read noise, averaged over `scans`.
///
/// Flame manual (225-00000-000-11-201604, "CCD well depth"): about 160 000 electrons fill the well
/// (2.44 e⁻ per count over 65 535 counts, shot-noise S:N 400:1 at saturation), and with the readout
/// noise the single-scan S:N is about 275:1. The 50-count read noise here is an assumption
/// (UNVERIFIED; it gives about 380:1 at full signal); the manual's 275:1 would mean about 165
/// counts: the study's bounds still hold there, with about a tenth of the weakest spectra then
/// reported too weak instead of fitted.
public struct DetectorModel: Sendable, Equatable {
    public var electronsPerCount: Double = 160_000 / 65_535
    public var readNoiseCounts: Double = 50
    public var darkOffsetCounts: Double = 1500
    public var saturationCounts: Double = 65_535
    public var scans: Int = 1

    public init(readNoiseCounts: Double = 50, scans: Int = 1) {
        self.readNoiseCounts = readNoiseCounts
        self.scans = scans
    }

    /// One reading of a pixel that collects `signal` counts above the dark offset: the averaged
    /// counts (dark offset included) and whether any scan saturated.
    public func read(_ signal: Double, using generator: inout SeededGenerator) -> (counts: Double, saturated: Bool) {
        let mean = darkOffsetCounts + signal
        let variance = max(signal, 0) / electronsPerCount + readNoiseCounts * readNoiseCounts
        let value = mean + (variance / Double(scans)).squareRoot() * generator.gaussian()
        let clipped = min(max(value, 0), saturationCounts)
        return (clipped, mean >= saturationCounts || clipped >= saturationCounts)
    }
}

/// Counts per pixel from the deuterium-halogen lamp through the 2 mm cell filled with solvent, at
/// an integration time that puts the halogen maximum near 60 % of full scale: the halogen
/// continuum (broad, peaking in the red), the deuterium continuum (strong in the UV, fading by
/// 400 nm), the dip between them, and the deuterium Balmer lines D-β 486.0 nm and D-α 656.1 nm
/// (D-α saturates a few pixels).
public struct LampModel: Sendable, Equatable {
    public var halogenPeakCounts: Double = 40_000
    public init() {}

    public func counts(at nanometres: Double) -> Double {
        let halogen = exp(-0.5 * pow((nanometres - 640) / 150, 2))
        let deuterium = 0.9 * exp(-(nanometres - 250) / 55)
        let betaLine = 0.25 * exp(-0.5 * pow((nanometres - 486.0) / 0.5, 2))
        let alphaLine = 1.6 * exp(-0.5 * pow((nanometres - 656.1) / 0.5, 2))
        return halogenPeakCounts * (halogen + deuterium + betaLine + alphaLine)
    }
}

/// A CdSe absorbance spectrum: the first exciton (the truth), two higher transitions, the bulk-onset
/// rise, a Rayleigh scattering baseline and a small offset, all in photon energy.
public struct SyntheticAbsorbance: Sendable, Equatable {
    /// True first-exciton peak, nm, and FWHM as the analysis reports it (twice the low-energy half
    /// width, nm); nil for a spectrum with no exciton.
    public var peakNanometres: Double?
    public var fwhmNanometres: Double?
    /// Height of the first exciton, absorbance.
    public var height: Double
    /// Higher transitions: (offset above the exciton, eV; height relative to it; width relative).
    public var transitions: [(offset: Double, relativeHeight: Double, relativeWidth: Double)]
    /// Bulk-onset rise: starts this far (eV) above the exciton (or above 2.7 eV without one), rises
    /// by `onsetSlope` absorbance per eV.
    public var onsetOffset: Double
    public var onsetSlope: Double
    /// Rayleigh scattering baseline, absorbance at 500 nm, ∝ λ⁻⁴.
    public var scattering: Double
    /// Constant offset (cell and solvent mismatch between sample and reference).
    public var offset: Double

    public static func == (a: Self, b: Self) -> Bool {
        a.peakNanometres == b.peakNanometres && a.fwhmNanometres == b.fwhmNanometres && a.height == b.height
            && a.transitions.elementsEqual(b.transitions) { $0 == $1 } && a.onsetOffset == b.onsetOffset
            && a.onsetSlope == b.onsetSlope && a.scattering == b.scattering && a.offset == b.offset
    }

    /// A random spectrum with a first exciton at `peak` nm, FWHM `fwhm` nm and `height`, on the
    /// bulk-onset rise (starting 0.3-0.7 eV above the exciton, rising 2-6 exciton heights per eV)
    /// and a scattering baseline. With `steepOnset` the rise starts only 0.05-0.15 eV above the
    /// exciton and climbs 15-40 heights per eV, so the exciton is mostly a shoulder without a
    /// maximum. With `higherTransitions`, also the next two transitions of CdSe (Norris and
    /// Bawendi, Phys. Rev. B 53, 16338 (1996)): 0.12-0.22 eV above at 0.3-0.6 of the exciton's
    /// height, and 0.35-0.5 eV above at 0.8-1.5 of it, each a little broader.
    public static func random(
        peak: ClosedRange<Double> = 410...600, fwhm: ClosedRange<Double> = 20...60, height: ClosedRange<Double> = 0.02...1.0,
        steepOnset: Bool = false, higherTransitions: Bool = false, using generator: inout SeededGenerator
    ) -> SyntheticAbsorbance {
        let peakNanometres = generator.uniform(peak)
        let fwhmNanometres = generator.uniform(fwhm)
        let height = generator.logUniform(height)
        let transitions = [
            (offset: generator.uniform(0.12...0.22), relativeHeight: generator.uniform(0.3...0.6), relativeWidth: generator.uniform(1.0...1.3)),
            (offset: generator.uniform(0.35...0.5), relativeHeight: generator.uniform(0.8...1.5), relativeWidth: generator.uniform(1.2...1.6)),
        ]
        let onsetOffset = steepOnset ? generator.uniform(0.05...0.15) : generator.uniform(0.3...0.7)
        let onsetSlope = height * (steepOnset ? generator.uniform(15...40) : generator.uniform(2...6))
        return SyntheticAbsorbance(
            peakNanometres: peakNanometres, fwhmNanometres: fwhmNanometres, height: height,
            transitions: higherTransitions ? transitions : [], onsetOffset: onsetOffset, onsetSlope: onsetSlope,
            scattering: generator.uniform(0...0.03), offset: generator.uniform(-0.01...0.02))
    }

    /// A random spectrum with no exciton: before nucleation (precursor absorbance rising into the
    /// UV on a scattering baseline) or a clean cell.
    public static func randomWithoutExciton(using generator: inout SeededGenerator) -> SyntheticAbsorbance {
        SyntheticAbsorbance(
            peakNanometres: nil, fwhmNanometres: nil, height: 0, transitions: [],
            onsetOffset: generator.uniform(0...0.6), onsetSlope: generator.uniform(0...1.5),
            scattering: generator.uniform(0...0.05), offset: generator.uniform(-0.01...0.02))
    }

    /// Energy (eV) and σ (eV) of the first exciton.
    public var excitonEnergyAndSigma: (energy: Double, sigma: Double)? {
        guard let peakNanometres, let fwhmNanometres else { return nil }
        let energy = PhotonEnergy.electronvolts(nanometres: peakNanometres)
        let halfWidth = energy - PhotonEnergy.electronvolts(nanometres: peakNanometres + fwhmNanometres / 2)
        return (energy, halfWidth / (2 * log(2.0)).squareRoot())
    }

    /// The absorbance at `nanometres`.
    public func absorbance(at nanometres: Double) -> Double {
        let energy = PhotonEnergy.electronvolts(nanometres: nanometres)
        var total = offset + scattering * pow(500 / nanometres, 4)
        var onsetStart = 2.7 + onsetOffset
        if let (e1, sigma) = excitonEnergyAndSigma {
            total += height * exp(-0.5 * pow((energy - e1) / sigma, 2))
            for t in transitions {
                let s = sigma * t.relativeWidth
                total += height * t.relativeHeight * exp(-0.5 * pow((energy - e1 - t.offset) / s, 2))
            }
            onsetStart = e1 + onsetOffset
        }
        // Softplus: a smooth start, then a straight rise with energy.
        let x = (energy - onsetStart) / 0.1
        total += onsetSlope * 0.1 * (x > 30 ? x : log1p(exp(x)))
        return total
    }

    /// Dark, reference and sample spectra as the spectrometer reads them (dark offset included,
    /// saturation flagged): the reference and dark averaged over `referenceScans`.
    public func acquire(
        axis: WavelengthAxis, lamp: LampModel = LampModel(), sampleDetector: DetectorModel = DetectorModel(),
        referenceDetector: DetectorModel = DetectorModel(scans: 10), using generator: inout SeededGenerator
    ) -> (sample: CountSpectrum, reference: CountSpectrum, dark: CountSpectrum) {
        var sample = CountSpectrum(counts: [Double](repeating: 0, count: axis.count))
        var reference = sample
        var dark = sample
        for pixel in 0..<axis.count {
            let light = lamp.counts(at: axis.nanometres[pixel])
            let transmitted = light * pow(10, -absorbance(at: axis.nanometres[pixel]))
            (sample.counts[pixel], sample.saturated[pixel]) = sampleDetector.read(transmitted, using: &generator)
            (reference.counts[pixel], reference.saturated[pixel]) = referenceDetector.read(light, using: &generator)
            (dark.counts[pixel], dark.saturated[pixel]) = referenceDetector.read(0, using: &generator)
        }
        return (sample, reference, dark)
    }
}

/// A CdSe photoluminescence spectrum: band-edge emission (the truth), a broad red trap band, the
/// 385 nm excitation LED leaking past the long-pass filter, and a dark-subtraction residue.
public struct SyntheticEmission: Sendable, Equatable {
    /// True band-edge peak, nm, and FWHM (distance between the half-maximum wavelengths, nm); nil
    /// when there is no band-edge emission.
    public var peakNanometres: Double?
    public var fwhmNanometres: Double?
    /// Band-edge height, counts.
    public var height: Double
    /// Trap band: centre below the band edge (eV), FWHM (eV), height (counts).
    public var trapOffset: Double
    public var trapFWHM: Double
    public var trapHeight: Double
    /// Excitation LED leak: height at 385 nm (counts), FWHM 12 nm.
    public var ledHeight: Double
    /// Counts left by the dark subtraction.
    public var offset: Double

    /// A random spectrum with band-edge emission at `peak` nm, FWHM `fwhm` nm and `height` counts.
    public static func random(
        peak: ClosedRange<Double> = 450...620, fwhm: ClosedRange<Double> = 20...50, height: ClosedRange<Double> = 300...50_000,
        using generator: inout SeededGenerator
    ) -> SyntheticEmission {
        let height = generator.logUniform(height)
        let trapRelative = generator.uniform() < 0.5 ? generator.uniform(0...0.3) : generator.uniform(0.3...1.5)
        return SyntheticEmission(
            peakNanometres: generator.uniform(peak), fwhmNanometres: generator.uniform(fwhm), height: height,
            trapOffset: generator.uniform(0.3...0.6), trapFWHM: generator.uniform(0.4...0.6), trapHeight: height * trapRelative,
            ledHeight: height * generator.uniform(0...0.5), offset: generator.uniform(-20...20))
    }

    /// A random spectrum with no band-edge emission: the LED leak, the dark residue and sometimes a
    /// trap band alone (a broad red band is not a band-edge peak).
    public static func randomWithoutBandEdge(using generator: inout SeededGenerator) -> SyntheticEmission {
        let trap = generator.uniform() < 0.5 ? generator.logUniform(300...20_000) : 0
        return SyntheticEmission(
            peakNanometres: nil, fwhmNanometres: nil, height: 0,
            trapOffset: 0, trapFWHM: generator.uniform(0.4...0.6), trapHeight: trap,
            ledHeight: generator.uniform(0...5000), offset: generator.uniform(-20...20))
    }

    /// Energy (eV) and σ (eV) of the band-edge Gaussian: its half-maximum wavelengths
    /// 1239.84193/(E0 ± h) are `fwhmNanometres` apart, h = √(2 ln 2)·σ.
    public var bandEdgeEnergyAndSigma: (energy: Double, sigma: Double)? {
        guard let peakNanometres, let fwhmNanometres else { return nil }
        let e0 = PhotonEnergy.electronvolts(nanometres: peakNanometres)
        let hc = PhotonEnergy.hcElectronvoltNanometres
        // hc/(E0 − h) − hc/(E0 + h) = w  ⇔  w·h² + 2hc·h − w·E0² = 0.
        let w = fwhmNanometres
        let h = (-hc + (hc * hc + w * w * e0 * e0).squareRoot()) / w
        return (e0, h / (2 * log(2.0)).squareRoot())
    }

    /// Signal counts (above dark) at `nanometres`.
    public func signal(at nanometres: Double) -> Double {
        let energy = PhotonEnergy.electronvolts(nanometres: nanometres)
        var total = ledHeight * exp(-0.5 * pow((nanometres - 385) / (12 / 2.354_820_045), 2))
        var trapCentre = 1.95
        if let (e0, sigma) = bandEdgeEnergyAndSigma {
            total += height * exp(-0.5 * pow((energy - e0) / sigma, 2))
            trapCentre = e0 - trapOffset
        }
        let trapSigma = trapFWHM / 2.354_820_045
        total += trapHeight * exp(-0.5 * pow((energy - trapCentre) / trapSigma, 2))
        return total
    }

    /// The spectrum as the driver hands it over: read, dark-subtracted (an averaged dark), with
    /// saturated pixels flagged.
    public func acquire(
        axis: WavelengthAxis, detector: DetectorModel = DetectorModel(), darkDetector: DetectorModel = DetectorModel(scans: 10),
        using generator: inout SeededGenerator
    ) -> CountSpectrum {
        var spectrum = CountSpectrum(counts: [Double](repeating: 0, count: axis.count))
        for pixel in 0..<axis.count {
            let reading = detector.read(signal(at: axis.nanometres[pixel]) + offset, using: &generator)
            let dark = darkDetector.read(0, using: &generator)
            spectrum.counts[pixel] = reading.counts - dark.counts
            spectrum.saturated[pixel] = reading.saturated
        }
        return spectrum
    }
}
