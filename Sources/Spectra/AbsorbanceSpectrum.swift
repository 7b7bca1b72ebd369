#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What became of a pixel of an absorbance spectrum. Every flag but `valid` masks the pixel: its
/// value is 0 and the analysis leaves it out, so no infinity or NaN ever reaches a fit.
public enum PixelFlag: UInt8, Sendable, Equatable {
    /// A usable absorbance.
    case valid
    /// The sample, reference or dark saturated the detector at this pixel.
    case saturated
    /// The reference minus dark is below the minimum: too little light to measure through.
    case dimReference
    /// The sample transmits less than 10^(−maximum absorbance) of the reference (or nothing at
    /// all): the absorbance is beyond what the detector can measure.
    case opaque
    /// A count or absorbance that is NaN or infinite.
    case notFinite
}

/// Thresholds that decide which pixels of an absorbance spectrum are masked.
public struct AbsorbanceSettings: Sendable, Equatable {
    /// Reference minus dark below this many counts masks the pixel as `dimReference`. The default,
    /// 200 counts, is four times the detector's ~50-count read noise: below it a single reading's
    /// noise is already ±0.1 in absorbance.
    public var minimumReferenceCounts: Double
    /// Absorbances above this are masked as `opaque` (transmittance below 10^−3 by default: a few
    /// tens of counts through the cell, lost in the read noise).
    public var maximumAbsorbance: Double

    public init(minimumReferenceCounts: Double = 200, maximumAbsorbance: Double = 3) {
        self.minimumReferenceCounts = minimumReferenceCounts
        self.maximumAbsorbance = maximumAbsorbance
    }
}

/// An absorbance spectrum, one value per pixel, with the reason each masked pixel is masked.
public struct AbsorbanceSpectrum: Sendable, Equatable {
    /// Absorbance (base-10, dimensionless); 0 at masked pixels.
    public var values: [Double]
    /// Why each pixel is masked, or `valid`.
    public var flags: [PixelFlag]

    /// `count` pixels, all masked as `notFinite` until computed.
    public init(count: Int) {
        values = [Double](repeating: 0, count: count)
        flags = [PixelFlag](repeating: .notFinite, count: count)
    }

    /// Absorbances read from elsewhere (a CSV file): finite values are valid, others masked.
    public init(values: [Double]) {
        self.values = values.map { $0.isFinite ? $0 : 0 }
        self.flags = values.map { $0.isFinite ? .valid : .notFinite }
    }

    /// A = −log10((S − D)/(R − D)) from a sample, a reference and a dark spectrum.
    public init(sample: CountSpectrum, reference: CountSpectrum, dark: CountSpectrum, settings: AbsorbanceSettings = .init()) {
        self.init(count: sample.count)
        compute(sample: sample, reference: reference, dark: dark, settings: settings)
    }

    /// Number of pixels.
    public var count: Int { values.count }

    /// Number of pixels masked for `flag`.
    public func count(of flag: PixelFlag) -> Int { flags.reduce(0) { $0 + ($1 == flag ? 1 : 0) } }

    /// Recomputes this spectrum in place (no allocation once the spectrum exists) by the
    /// Beer-Lambert absorbance A = −log10((S − D)/(R − D)) of sample S, reference R and dark D
    /// (the formula of Ocean Optics' absorbance mode). A pixel is masked, value 0, when any of the
    /// three saturated there, a count is not finite, R − D is below
    /// `settings.minimumReferenceCounts`, or (S − D)/(R − D) is at or below 10^(−maximum
    /// absorbance) (including zero and negative transmitted light).
    public mutating func compute(sample: CountSpectrum, reference: CountSpectrum, dark: CountSpectrum, settings: AbsorbanceSettings = .init()) {
        precondition(
            sample.count == values.count && reference.count == values.count && dark.count == values.count,
            "sample, reference, dark and absorbance spectra must have the same number of pixels")
        let minimumTransmittance = pow(10, -settings.maximumAbsorbance)
        for pixel in 0..<values.count {
            let s = sample.counts[pixel]
            let r = reference.counts[pixel]
            let d = dark.counts[pixel]
            let flag: PixelFlag
            var absorbance = 0.0
            if sample.saturated[pixel] || reference.saturated[pixel] || dark.saturated[pixel] {
                flag = .saturated
            } else if !(s.isFinite && r.isFinite && d.isFinite) {
                flag = .notFinite
            } else if r - d < settings.minimumReferenceCounts {
                flag = .dimReference
            } else {
                let transmittance = (s - d) / (r - d)
                if transmittance <= minimumTransmittance {
                    flag = .opaque
                } else {
                    flag = .valid
                    absorbance = -log10(transmittance)
                }
            }
            values[pixel] = absorbance
            flags[pixel] = flag
        }
    }
}
