/// Which kind of spectrum a peak comes from.
public enum SpectrumKind: String, Sendable, Equatable, CaseIterable {
    /// UV-vis absorbance: the first (lowest-energy) exciton, half-Gaussian fit.
    case absorbance = "abs"
    /// Photoluminescence counts: the band-edge (highest-energy) emission, Gaussian fit.
    case emission = "pl"
}

/// Whether a spectrum gave a usable peak, and if not, why.
public enum PeakStatus: String, Sendable, Equatable, CaseIterable {
    /// A peak was fitted and passed every check.
    case ok
    /// A feature is there but too weak to measure: below the minimum height, not significant
    /// against the noise, or its position too uncertain.
    case tooWeak = "too_weak"
    /// Saturated pixels lie under the peak.
    case saturated
    /// Too many masked pixels (dim reference, opaque sample, non-finite values) under the peak.
    case masked
    /// No exciton feature (absorbance) or band-edge emission (PL): no significant maximum or
    /// second-derivative minimum in the search range, or only a band too broad to be one.
    case noFeature = "no_feature"
    /// The fit did not converge, or ran to its bounds.
    case fitDiverged = "fit_diverged"
}

/// The finer reason behind a status (for logs and tests; the CSV carries the status only).
public enum PeakStatusDetail: Sendable, Equatable {
    case none
    case noSignificantFeature
    case broaderThanBandEdge
    case outsideSearchRange
    case belowMinimumHeight
    case notSignificant
    case positionUncertain
    case saturatedPixels
    case maskedPixels
    case tooFewPoints
    case iterationLimit
    case nonFinite
    case parameterAtBound
}

/// A fitted peak in the published data set's terms (`Peak_nm`, `FWHM_nm`, `Peak_eV`, `FWHM_eV`,
/// `height`), plus the fit's residual and uncertainty.
public struct PeakParameters: Sendable, Equatable {
    /// Peak wavelength, nm: 1239.84193 / `peakElectronvolts`.
    public var peakNanometres: Double
    /// Full width at half maximum, nm. Absorbance: twice the half width on the low-energy side of
    /// the half-Gaussian. PL: the distance between the two half-maximum wavelengths.
    public var fwhmNanometres: Double
    /// Peak photon energy, eV: the fitted Gaussian centre.
    public var peakElectronvolts: Double
    /// FWHM in eV as the data set computes it: 2·(E(λ0) − E(λ0 + FWHM_nm/2)). For absorbance this
    /// equals the fitted Gaussian's FWHM in energy, 2√(2 ln 2)·σ.
    public var fwhmElectronvolts: Double
    /// Height of the fitted Gaussian above the baseline (absorbance units, or counts for PL).
    public var height: Double
    /// Root-mean-square residual of the fit over its window (same units as `height`).
    public var residual: Double
    /// One standard error of `peakNanometres` from the fit's covariance.
    public var peakUncertaintyNanometres: Double
    /// Levenberg-Marquardt steps taken (both passes).
    public var iterations: Int

    public init(
        peakNanometres: Double, fwhmNanometres: Double, peakElectronvolts: Double, fwhmElectronvolts: Double,
        height: Double, residual: Double, peakUncertaintyNanometres: Double, iterations: Int
    ) {
        self.peakNanometres = peakNanometres
        self.fwhmNanometres = fwhmNanometres
        self.peakElectronvolts = peakElectronvolts
        self.fwhmElectronvolts = fwhmElectronvolts
        self.height = height
        self.residual = residual
        self.peakUncertaintyNanometres = peakUncertaintyNanometres
        self.iterations = iterations
    }
}

/// The outcome of analysing one spectrum: a status, and the peak only when the status is `ok`
/// (never a guess otherwise).
public struct PeakFit: Sendable, Equatable {
    public var kind: SpectrumKind
    public var status: PeakStatus
    public var detail: PeakStatusDetail
    /// The peak; nil unless `status == .ok`.
    public var peak: PeakParameters?

    /// A usable peak.
    public static func ok(_ kind: SpectrumKind, _ peak: PeakParameters) -> PeakFit {
        PeakFit(kind: kind, status: .ok, detail: .none, peak: peak)
    }

    /// No usable peak, and why.
    public static func rejected(_ kind: SpectrumKind, _ status: PeakStatus, _ detail: PeakStatusDetail) -> PeakFit {
        precondition(status != .ok)
        return PeakFit(kind: kind, status: status, detail: detail, peak: nil)
    }
}
