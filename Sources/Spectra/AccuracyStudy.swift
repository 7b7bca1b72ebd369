/// The analysis measured against spectra with known truth (`SyntheticAbsorbance`,
/// `SyntheticEmission`) on a real wavelength axis: peak position and FWHM errors of the spectra
/// with a peak, and what became of the spectra without one.
public enum AccuracyStudy {
    /// One spectrum of a study: its truth and what the analysis made of it.
    public struct Record: Sendable, Equatable {
        public var truePeakNanometres: Double?
        public var trueFWHMNanometres: Double?
        public var trueHeight: Double
        public var fit: PeakFit

        /// |fitted − true| peak wavelength, nm, when both exist.
        public var peakError: Double? {
            guard let truth = truePeakNanometres, let peak = fit.peak else { return nil }
            return abs(peak.peakNanometres - truth)
        }

        /// |fitted − true| FWHM, nm, when both exist.
        public var fwhmError: Double? {
            guard let truth = trueFWHMNanometres, let peak = fit.peak else { return nil }
            return abs(peak.fwhmNanometres - truth)
        }
    }

    /// Errors over a study.
    public struct Summary: Sendable, Equatable {
        public var kind: SpectrumKind
        /// Spectra with a true peak, and how many of them gave one.
        public var withPeak: Int
        public var fitted: Int
        /// Peak position error, nm: median, 95th percentile, largest.
        public var medianPeakError: Double
        public var p95PeakError: Double
        public var maximumPeakError: Double
        /// FWHM error, nm: median and 95th percentile.
        public var medianFWHMError: Double
        public var p95FWHMError: Double
        /// Spectra without a peak, and how many of them were (wrongly) given one.
        public var withoutPeak: Int
        public var withoutPeakGivenAPeak: Int

        public init(kind: SpectrumKind, records: [Record]) {
            self.kind = kind
            let withTruth = records.filter { $0.truePeakNanometres != nil }
            withPeak = withTruth.count
            fitted = withTruth.filter { $0.fit.peak != nil }.count
            let peakErrors = withTruth.compactMap(\.peakError).sorted()
            let fwhmErrors = withTruth.compactMap(\.fwhmError).sorted()
            medianPeakError = Self.percentile(peakErrors, 0.5)
            p95PeakError = Self.percentile(peakErrors, 0.95)
            maximumPeakError = peakErrors.last ?? .nan
            medianFWHMError = Self.percentile(fwhmErrors, 0.5)
            p95FWHMError = Self.percentile(fwhmErrors, 0.95)
            let without = records.filter { $0.truePeakNanometres == nil }
            withoutPeak = without.count
            withoutPeakGivenAPeak = without.filter { $0.fit.peak != nil || $0.fit.status == .ok }.count
        }

        /// Linear-interpolated percentile of sorted values (NaN when empty).
        public static func percentile(_ sorted: [Double], _ p: Double) -> Double {
            guard !sorted.isEmpty else { return .nan }
            let position = p * Double(sorted.count - 1)
            let below = Int(position)
            let above = min(below + 1, sorted.count - 1)
            let t = position - Double(below)
            return sorted[below] * (1 - t) + sorted[above] * t
        }
    }

    /// `count` absorbance spectra with an exciton over the rig's range (410-600 nm, FWHM 20-60 nm,
    /// height 0.02-1; see `SyntheticAbsorbance.random` for `steepOnset` and `higherTransitions`)
    /// and `withoutPeak` without one, acquired through the lamp and detector models and analysed
    /// from dark, reference and sample counts.
    public static func absorbance(
        analyzer: SpectrumAnalyzer, count: Int, withoutPeak: Int, seed: UInt64, steepOnset: Bool = false, higherTransitions: Bool = false,
        sampleDetector: DetectorModel = DetectorModel(), referenceDetector: DetectorModel = DetectorModel(scans: 10)
    ) -> [Record] {
        var generator = SeededGenerator(seed: seed)
        var records: [Record] = []
        var spectrum = AbsorbanceSpectrum(count: analyzer.axis.count)
        for index in 0..<(count + withoutPeak) {
            let truth = index < count
                ? SyntheticAbsorbance.random(steepOnset: steepOnset, higherTransitions: higherTransitions, using: &generator) : SyntheticAbsorbance.randomWithoutExciton(using: &generator)
            let counts = truth.acquire(
                axis: analyzer.axis, sampleDetector: sampleDetector, referenceDetector: referenceDetector, using: &generator)
            spectrum.compute(sample: counts.sample, reference: counts.reference, dark: counts.dark)
            records.append(Record(
                truePeakNanometres: truth.peakNanometres, trueFWHMNanometres: truth.fwhmNanometres, trueHeight: truth.height,
                fit: analyzer.analyzeAbsorbance(spectrum)))
        }
        return records
    }

    /// `count` photoluminescence spectra with band-edge emission (450-620 nm, FWHM 20-50 nm,
    /// 300-50 000 counts, trap band, LED leak) and `withoutPeak` without it.
    public static func emission(
        analyzer: SpectrumAnalyzer, count: Int, withoutPeak: Int, seed: UInt64, detector: DetectorModel = DetectorModel()
    ) -> [Record] {
        var generator = SeededGenerator(seed: seed)
        var records: [Record] = []
        for index in 0..<(count + withoutPeak) {
            let truth = index < count
                ? SyntheticEmission.random(using: &generator) : SyntheticEmission.randomWithoutBandEdge(using: &generator)
            let spectrum = truth.acquire(axis: analyzer.axis, detector: detector, using: &generator)
            records.append(Record(
                truePeakNanometres: truth.peakNanometres, trueFWHMNanometres: truth.fwhmNanometres, trueHeight: truth.height,
                fit: analyzer.analyzeEmission(spectrum)))
        }
        return records
    }
}
