/// How the peak of one kind of spectrum is found, fitted and judged. The defaults suit the rig's
/// spectrometers (pixels 0.28-0.39 nm apart, PROTOCOLS.md §1) and its range: absorbance peaks
/// 410-600 nm with FWHM 20-60 nm, emission peaks 450-620 nm.
///
/// Filter windows are given in nm and turned into pixels with the axis's mean pixel spacing over
/// the work range, so an axis of another spacing (a CSV from another instrument) is filtered alike.
public struct PeakAnalysisSettings: Sendable, Equatable {
    /// Pixels analysed (smoothed, differentiated, noise-estimated); the fit window never leaves it.
    public var workNanometres: ClosedRange<Double>
    /// Where the peak's centre may lie.
    public var searchNanometres: ClosedRange<Double>

    /// Smoothing filter (Savitzky-Golay) for locating maxima: cubic, half window 3.3 nm (21 pixels
    /// on the rig's 0.33 nm axes). The narrowest exciton the rig sees (FWHM 20 nm, 55-71 pixels)
    /// keeps its height to 0.05 % and its width to the pixel, while white noise drops threefold
    /// (noise gain 0.33).
    public var smoothingHalfWidthNanometres: Double
    public var smoothingOrder: Int
    /// Second-derivative filter (Savitzky-Golay): quartic, half window 6.6 nm (41 pixels). A quartic
    /// follows the curvature of a 20 nm peak without flattening it; the window keeps the second
    /// derivative's noise gain at 0.009 per pixel².
    public var curvatureHalfWidthNanometres: Double
    public var curvatureOrder: Int
    /// The second derivative is also taken on the spectrum averaged over this many pixels, with a
    /// window of the same number of (binned) points: three times as wide, for broad, weak features
    /// (FWHM 40-60 nm, heights of a few hundredths) that the fine scale misses.
    public var coarseBinning: Int
    /// Order of the coarse second-derivative filter: quadratic, whose kernel has a single negative
    /// lobe, so a strong narrow peak does not ring into a false feature a window away.
    public var coarseCurvatureOrder: Int

    /// A feature starts where the second derivative dips below −threshold·σ″ (σ″: the noise of the
    /// second derivative, from the spectrum's own noise). 5.5: on 200 noise-only absorbance
    /// spectra the deepest dip of either scale was 5.0 σ″.
    public var detectionThreshold: Double
    /// A feature ends where the second derivative rises this many σ″ above its minimum (or turns
    /// positive): a deeper dip after that is a different transition.
    public var separationThreshold: Double

    /// Fit window, low-energy side: this many σ below the centre,
    public var lowEnergyExtent: Double
    /// but at most this far (eV): over a longer reach the scattering baseline (∝ E⁴) is no longer
    /// straight.
    public var maximumLowEnergyElectronvolts: Double
    /// Fit window, high-energy side: this many σ above the centre (absorbance: only the top of
    /// the exciton; emission: the whole band-edge peak),
    public var highEnergyExtent: Double
    /// but at most this far (eV): past it the bulk-onset rise pulls the top.
    public var maximumHighEnergyElectronvolts: Double
    /// Absorbance only: baseline terms fitted with the half-Gaussian (0 none, 1 constant, 2
    /// linear in energy).
    public var baselineTerms: Int
    /// Absorbance only: for a shoulder, add the Urbach tail of the bulk-onset rise to the model.
    public var shoulderOnsetTail: Bool
    /// Emission only: the fit window reaches at least this far (eV) below the band-edge centre, so
    /// the trap band's term sees the trap band.
    public var trapWindowElectronvolts: Double
    /// Emission only: beyond the band edge's own window (lowEnergyExtent·σ), only every this-many-th
    /// pixel enters the fit; the trap band is broad and smooth there.
    public var trapPixelStride: Int
    /// Emission only: the trap band's centre lies at least this far (eV) below the band edge.
    public var minimumTrapOffsetElectronvolts: Double

    /// Smallest height (absorbance units, or counts) reported as a peak.
    public var minimumHeight: Double
    /// Smallest height / standard error of the height reported as a peak.
    public var minimumSignificance: Double
    /// Largest standard error of the peak wavelength (nm) reported as a peak.
    public var maximumPeakUncertaintyNanometres: Double
    /// Plausible FWHM in energy; outside it there is no exciton or band-edge feature.
    public var fwhmElectronvolts: ClosedRange<Double>
    /// Largest fraction of masked pixels allowed in the fit window.
    public var maximumMaskedFraction: Double

    public init(
        workNanometres: ClosedRange<Double>, searchNanometres: ClosedRange<Double>,
        smoothingHalfWidthNanometres: Double = 3.3, smoothingOrder: Int = 3,
        curvatureHalfWidthNanometres: Double = 6.6, curvatureOrder: Int = 4,
        coarseBinning: Int = 3, coarseCurvatureOrder: Int = 2,
        detectionThreshold: Double = 5.5, separationThreshold: Double = 3,
        lowEnergyExtent: Double, maximumLowEnergyElectronvolts: Double = .infinity,
        highEnergyExtent: Double, maximumHighEnergyElectronvolts: Double = .infinity,
        baselineTerms: Int = 0, shoulderOnsetTail: Bool = false, trapWindowElectronvolts: Double = 0, trapPixelStride: Int = 1, minimumTrapOffsetElectronvolts: Double = 0,
        minimumHeight: Double, minimumSignificance: Double = 5, maximumPeakUncertaintyNanometres: Double = 1,
        fwhmElectronvolts: ClosedRange<Double>, maximumMaskedFraction: Double = 0.2
    ) {
        precondition((0...2).contains(baselineTerms), "baseline terms: 0, 1 or 2")
        precondition(coarseBinning >= 1, "coarse binning: at least 1 pixel")
        precondition(smoothingHalfWidthNanometres > 0 && curvatureHalfWidthNanometres > 0, "filter windows must be positive")
        self.workNanometres = workNanometres
        self.searchNanometres = searchNanometres
        self.smoothingHalfWidthNanometres = smoothingHalfWidthNanometres
        self.smoothingOrder = smoothingOrder
        self.curvatureHalfWidthNanometres = curvatureHalfWidthNanometres
        self.curvatureOrder = curvatureOrder
        self.coarseBinning = coarseBinning
        self.coarseCurvatureOrder = coarseCurvatureOrder
        self.detectionThreshold = detectionThreshold
        self.separationThreshold = separationThreshold
        self.lowEnergyExtent = lowEnergyExtent
        self.maximumLowEnergyElectronvolts = maximumLowEnergyElectronvolts
        self.highEnergyExtent = highEnergyExtent
        self.maximumHighEnergyElectronvolts = maximumHighEnergyElectronvolts
        self.baselineTerms = baselineTerms
        self.shoulderOnsetTail = shoulderOnsetTail
        self.trapWindowElectronvolts = trapWindowElectronvolts
        self.trapPixelStride = trapPixelStride
        self.minimumTrapOffsetElectronvolts = minimumTrapOffsetElectronvolts
        self.minimumHeight = minimumHeight
        self.minimumSignificance = minimumSignificance
        self.maximumPeakUncertaintyNanometres = maximumPeakUncertaintyNanometres
        self.fwhmElectronvolts = fwhmElectronvolts
        self.maximumMaskedFraction = maximumMaskedFraction
    }

    /// Absorbance: the first exciton 400-700 nm; half-Gaussian from 5σ (at most 0.45 eV) below the
    /// centre to 0.6σ (at most 0.06 eV) above it, with a linear baseline. The accuracy study chose
    /// these: without a baseline the median peak error is about 1 nm, with a constant 0.3-0.5 nm
    /// (and a 95th percentile of 3-5 nm), with a linear one 0.15 nm (95th percentile about 1 nm).
    public static let absorbance = PeakAnalysisSettings(
        workNanometres: 360...820, searchNanometres: 400...700,
        lowEnergyExtent: 5, maximumLowEnergyElectronvolts: 0.45,
        highEnergyExtent: 0.6, maximumHighEnergyElectronvolts: 0.06,
        baselineTerms: 2, shoulderOnsetTail: true, minimumHeight: 0.005, fwhmElectronvolts: 0.03...0.6)

    /// Emission: the band edge 420-750 nm (the 385 nm excitation LED stays out of the search),
    /// the whole Gaussian ±3σ plus 0.7 eV to the red (every 4th pixel past 3σ) for the trap band,
    /// which must lie at least 0.12 eV below the band edge. A band broader than 0.35 eV FWHM is a
    /// trap band, not a band edge (the published PL fits reach 0.28 eV).
    public static let emission = PeakAnalysisSettings(
        workNanometres: 405...860, searchNanometres: 420...750,
        lowEnergyExtent: 3, highEnergyExtent: 3,
        trapWindowElectronvolts: 0.7, trapPixelStride: 4, minimumTrapOffsetElectronvolts: 0.12,
        minimumHeight: 20, fwhmElectronvolts: 0.03...0.35)
}
