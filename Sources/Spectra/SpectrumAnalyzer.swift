#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The peak-analysis pipeline with its workspace: created once per wavelength axis, then
/// `analyzeAbsorbance` / `analyzeEmission` run on every spectrum without allocating.
///
/// Each analysis: masked pixels are bridged by straight lines (so the filters see no holes; the fit
/// never uses them), the spectrum is smoothed and differentiated twice (Savitzky-Golay), the noise
/// is estimated from the spectrum itself (median absolute second difference per 64-pixel block),
/// the feature is located (absorbance: the lowest-energy exciton, scanning from the red end;
/// emission: the highest-energy band, scanning from the blue end), its centre, width and height
/// are estimated from the smoothed spectrum and its second derivative, and Levenberg-Marquardt fits
/// the model twice (the second time on a window re-centred on the first fit). The result is then
/// judged: significance, position uncertainty, bounds, saturated and masked pixels.
///
/// Not thread-safe: one analyser per thread.
public final class SpectrumAnalyzer {
    public let axis: WavelengthAxis
    public let absorbanceSettings: PeakAnalysisSettings
    public let emissionSettings: PeakAnalysisSettings
    /// The least-squares solver (its tolerances and limits).
    public var solver: LevenbergMarquardt

    // Internal for tests: the filters as sized for this axis.
    let absorbanceStage: Stage
    let emissionStage: Stage

    private let energies: UnsafeMutableBufferPointer<Double>
    private let filled: UnsafeMutableBufferPointer<Double>
    private let smoothed: UnsafeMutableBufferPointer<Double>
    private let curvature: UnsafeMutableBufferPointer<Double>
    private let noise: UnsafeMutableBufferPointer<Double>
    private let scratch: UnsafeMutableBufferPointer<Double>
    private let fitEnergies: UnsafeMutableBufferPointer<Double>
    private let fitValues: UnsafeMutableBufferPointer<Double>
    /// The spectrum averaged over `coarseBinning` pixels, and its second derivative.
    private let binned: UnsafeMutableBufferPointer<Double>
    private let coarseCurvature: UnsafeMutableBufferPointer<Double>
    /// Per pixel: 0 usable, 1 saturated, 2 masked for another reason.
    private let pixelState: UnsafeMutableBufferPointer<UInt8>

    /// Pixels per block of the noise estimate.
    private static let noiseBlock = 64
    /// √(2 ln 2): half width at half maximum over σ of a Gaussian.
    private static let halfWidthPerSigma = (2 * log(2.0)).squareRoot()

    /// A workspace for `axis` (allocates its buffers, once); fails if the axis is shorter than the
    /// coarse second-derivative filter's window of binned pixels.
    public init(
        axis: WavelengthAxis, absorbance: PeakAnalysisSettings = .absorbance, emission: PeakAnalysisSettings = .emission,
        solver: LevenbergMarquardt = LevenbergMarquardt(maximumIterations: 100, relativeCostTolerance: 1e-8, relativeStepTolerance: 1e-8)
    ) throws(SpectraError) {
        let absorbanceStage = Stage(axis: axis, settings: absorbance)
        let emissionStage = Stage(axis: axis, settings: emission)
        let needed = max(absorbanceStage.minimumPixels, emissionStage.minimumPixels)
        guard axis.count >= needed else { throw .axisTooShort(count: axis.count, minimum: needed) }
        self.axis = axis
        self.absorbanceSettings = absorbance
        self.emissionSettings = emission
        self.solver = solver
        self.absorbanceStage = absorbanceStage
        self.emissionStage = emissionStage
        let count = axis.count
        func buffer() -> UnsafeMutableBufferPointer<Double> {
            let b = UnsafeMutableBufferPointer<Double>.allocate(capacity: count)
            b.initialize(repeating: 0)
            return b
        }
        energies = .allocate(capacity: count)
        _ = energies.initialize(from: axis.electronvolts)
        filled = buffer()
        smoothed = buffer()
        curvature = buffer()
        noise = buffer()
        scratch = buffer()
        fitEnergies = buffer()
        fitValues = buffer()
        binned = buffer()
        coarseCurvature = buffer()
        pixelState = .allocate(capacity: count)
        pixelState.initialize(repeating: 0)
    }

    deinit {
        for b in [energies, filled, smoothed, curvature, noise, scratch, fitEnergies, fitValues, binned, coarseCurvature] {
            b.deallocate()
        }
        pixelState.deallocate()
    }

    /// The fixed parts of one kind's analysis: filters and pixel ranges.
    struct Stage {
        var settings: PeakAnalysisSettings
        var smoother: SavitzkyGolayFilter
        var curvatureFilter: SavitzkyGolayFilter
        var curvatureNoiseGain: Double
        var coarseCurvatureFilter: SavitzkyGolayFilter
        var coarseCurvatureNoiseGain: Double
        var work: Range<Int>
        var search: Range<Int>
        /// Pixels smoothed, differentiated and noise-estimated: the search range and 30 nm on either
        /// side (within the work range), all that locating and estimating look at. The fit reads
        /// the raw spectrum over the whole work range.
        var filtered: Range<Int>

        /// Pixels the axis needs: the coarse filter's window of bins.
        var minimumPixels: Int { coarseCurvatureFilter.window * settings.coarseBinning }

        init(axis: WavelengthAxis, settings: PeakAnalysisSettings) {
            self.settings = settings
            work = axis.pixels(in: settings.workNanometres)
            // Mean pixel spacing over the work range (the whole axis if the range is nearly empty).
            let span = work.count >= 2 ? work : 0..<axis.count
            let spacing = (axis.nanometres[span.upperBound - 1] - axis.nanometres[span.lowerBound]) / Double(span.count - 1)
            func halfWidth(_ nanometres: Double, order: Int) -> Int {
                max(order / 2 + 1, Int((nanometres / spacing).rounded()))
            }
            let curvatureHalfWidth = halfWidth(settings.curvatureHalfWidthNanometres, order: settings.curvatureOrder)
            smoother = SavitzkyGolayFilter(
                halfWidth: halfWidth(settings.smoothingHalfWidthNanometres, order: settings.smoothingOrder), order: settings.smoothingOrder)
            curvatureFilter = SavitzkyGolayFilter(halfWidth: curvatureHalfWidth, order: settings.curvatureOrder, derivative: 2)
            curvatureNoiseGain = curvatureFilter.noiseGain
            coarseCurvatureFilter = SavitzkyGolayFilter(
                halfWidth: max(curvatureHalfWidth, settings.coarseCurvatureOrder / 2 + 1), order: settings.coarseCurvatureOrder, derivative: 2)
            coarseCurvatureNoiseGain = coarseCurvatureFilter.noiseGain
            self.search = Self.clamp(axis.pixels(in: settings.searchNanometres), to: work)
            let margin = 30.0
            filtered = Self.clamp(
                axis.pixels(in: (settings.searchNanometres.lowerBound - margin)...(settings.searchNanometres.upperBound + margin)), to: work)
        }

        private static func clamp(_ range: Range<Int>, to bounds: Range<Int>) -> Range<Int> {
            let lower = min(max(range.lowerBound, bounds.lowerBound), bounds.upperBound)
            return lower..<max(lower, min(range.upperBound, bounds.upperBound))
        }
    }

    // MARK: - Public entry points

    /// The first exciton of an absorbance spectrum (values and masks from `AbsorbanceSpectrum`).
    public func analyzeAbsorbance(_ spectrum: AbsorbanceSpectrum) -> PeakFit {
        spectrum.values.withUnsafeBufferPointer { values in
            spectrum.flags.withUnsafeBufferPointer { flags in analyzeAbsorbance(values: values, flags: flags) }
        }
    }

    /// The first exciton of an absorbance spectrum; `flags` nil means every finite value is valid.
    public func analyzeAbsorbance(values: UnsafeBufferPointer<Double>, flags: UnsafeBufferPointer<PixelFlag>?) -> PeakFit {
        precondition(values.count == axis.count && (flags == nil || flags!.count == axis.count), "one value and flag per pixel of the axis")
        for pixel in 0..<axis.count {
            let flag = flags?[pixel] ?? .valid
            if flag == .saturated {
                pixelState[pixel] = 1
            } else if flag != .valid || !values[pixel].isFinite {
                pixelState[pixel] = 2
            } else {
                pixelState[pixel] = 0
            }
        }
        return analyze(values, kind: .absorbance, stage: absorbanceStage)
    }

    /// The band-edge emission of a photoluminescence spectrum (counts, saturated pixels).
    public func analyzeEmission(_ spectrum: CountSpectrum) -> PeakFit {
        spectrum.counts.withUnsafeBufferPointer { counts in
            spectrum.saturated.withUnsafeBufferPointer { saturated in analyzeEmission(counts: counts, saturated: saturated) }
        }
    }

    /// The band-edge emission of a photoluminescence spectrum; `saturated` nil means none.
    public func analyzeEmission(counts: UnsafeBufferPointer<Double>, saturated: UnsafeBufferPointer<Bool>?) -> PeakFit {
        precondition(counts.count == axis.count && (saturated == nil || saturated!.count == axis.count), "one count and flag per pixel of the axis")
        for pixel in 0..<axis.count {
            if saturated?[pixel] == true {
                pixelState[pixel] = 1
            } else {
                pixelState[pixel] = counts[pixel].isFinite ? 0 : 2
            }
        }
        return analyze(counts, kind: .emission, stage: emissionStage)
    }

    // MARK: - Pipeline

    private func analyze(_ values: UnsafeBufferPointer<Double>, kind: SpectrumKind, stage: Stage) -> PeakFit {
        let settings = stage.settings
        // An axis that does not reach the search range (a CSV of 700-900 nm) has no feature to find.
        guard stage.search.count > 0 else { return .rejected(kind, .noFeature, .outsideSearchRange) }
        guard prepare(values, stage) else { return .rejected(kind, .masked, .maskedPixels) }
        let fromRed = kind == .absorbance
        let fine = Series(curvature: curvature, factor: 1, count: axis.count, noiseGain: stage.curvatureNoiseGain)
        let coarse = Series(
            curvature: coarseCurvature, factor: settings.coarseBinning, count: axis.count / settings.coarseBinning,
            noiseGain: stage.coarseCurvatureNoiseGain / Double(settings.coarseBinning).squareRoot())
        let fineFeature = findFeature(fine, stage, fromRed: fromRed)
        let coarseFeature = findFeature(coarse, stage, fromRed: fromRed)
        // The fine scale is more precise; the coarse one sees broad, weak features the fine one
        // misses. The coarse feature wins only when it lies beyond the fine one (further red for
        // absorbance, further blue for emission) by more than its own half window.
        var estimate: Estimate
        switch (fineFeature, coarseFeature) {
        case (nil, nil): return .rejected(kind, .noFeature, .noSignificantFeature)
        case (let f?, nil): estimate = self.estimate(fine, at: f, stage: stage, kind: kind)
        case (nil, let c?): estimate = self.estimate(coarse, at: c, stage: stage, kind: kind)
        case (let f?, let c?):
            let beyond = fromRed ? coarse.pixel(c) - f : f - coarse.pixel(c)
            if beyond > stage.coarseCurvatureFilter.halfWidth * settings.coarseBinning {
                estimate = self.estimate(coarse, at: c, stage: stage, kind: kind)
            } else {
                // The same feature at both scales: the fine centre, and the larger width (the fine
                // scale's zero crossings come early on a broad, noisy peak; the coarse scale
                // overestimates a narrow one, which the fit's bounds allow for).
                estimate = self.estimate(fine, at: f, stage: stage, kind: kind)
                let broad = self.estimate(coarse, at: c, stage: stage, kind: kind)
                if broad.sigma > estimate.sigma {
                    estimate.sigma = broad.sigma
                    estimate.height = max(estimate.height, broad.height)
                }
            }
        }
        if kind == .emission && 2 * Self.halfWidthPerSigma * estimate.sigma > settings.fwhmElectronvolts.upperBound {
            return .rejected(kind, .noFeature, .broaderThanBandEdge)
        }

        var iterations = 0
        var result: FitOutcome
        switch fit(values, kind: kind, stage: stage, estimate: estimate) {
        case .rejected(let status, let detail): return .rejected(kind, status, detail)
        case .fitted(let first):
            guard first.solution.outcome != .diverged, first.solution.parameters[1].isFinite, first.solution.parameters[2] > 0 else {
                return .rejected(kind, .fitDiverged, .nonFinite)
            }
            iterations += first.solution.iterations
            // Second pass: the window re-centred on the first fit.
            estimate.centre = first.solution.parameters[1]
            estimate.sigma = first.solution.parameters[2]
            estimate.height = first.solution.parameters[0]
            estimate.start = first.solution.parameters
            result = fit(values, kind: kind, stage: stage, estimate: estimate)
        }
        guard case .fitted(let final) = result else {
            if case .rejected(let status, let detail) = result { return .rejected(kind, status, detail) }
            return .rejected(kind, .fitDiverged, .nonFinite)
        }
        iterations += final.solution.iterations
        return judge(final, kind: kind, stage: stage, iterations: iterations)
    }

    /// Bridges masked pixels, smooths, differentiates and estimates the noise over the work range.
    /// False when the work range has no usable pixel.
    private func prepare(_ values: UnsafeBufferPointer<Double>, _ stage: Stage) -> Bool {
        let count = axis.count
        var previous = -1
        var pixel = 0
        var anyUsable = false
        while pixel < count {
            if pixelState[pixel] == 0 {
                filled[pixel] = values[pixel]
                previous = pixel
                pixel += 1
                continue
            }
            var next = pixel
            while next < count && pixelState[next] != 0 { next += 1 }
            for gap in pixel..<next {
                if previous >= 0 && next < count {
                    let t = Double(gap - previous) / Double(next - previous)
                    filled[gap] = values[previous] + t * (values[next] - values[previous])
                } else if previous >= 0 {
                    filled[gap] = values[previous]
                } else if next < count {
                    filled[gap] = values[next]
                } else {
                    filled[gap] = 0
                }
            }
            pixel = next
        }
        for pixel in stage.work where pixelState[pixel] == 0 {
            anyUsable = true
            break
        }
        guard anyUsable else { return false }
        let input = UnsafeBufferPointer(filled)
        stage.smoother.apply(input, to: smoothed, pixels: stage.filtered)
        stage.curvatureFilter.apply(input, to: curvature, pixels: stage.filtered)
        let factor = stage.settings.coarseBinning
        let bins = count / factor
        for bin in 0..<bins {
            var sum = 0.0
            for pixel in (bin * factor)..<(bin * factor + factor) { sum += filled[pixel] }
            binned[bin] = sum / Double(factor)
        }
        let coarseWork = (stage.filtered.lowerBound / factor)..<min(bins, (stage.filtered.upperBound + factor - 1) / factor)
        stage.coarseCurvatureFilter.apply(
            UnsafeBufferPointer(rebasing: binned[0..<bins]), to: UnsafeMutableBufferPointer(rebasing: coarseCurvature[0..<bins]),
            pixels: coarseWork)
        estimateNoise(values, stage.filtered)
        return true
    }

    /// Per-pixel noise σ of the raw values: in each 64-pixel block, median |y[i−1] − 2y[i] + y[i+1]|
    /// of usable triples / (0.6745·√6) (white noise of σ gives second differences of σ·√6; the
    /// median ignores the occasional spike and the small true curvature); then each block's value
    /// is averaged with its neighbours' (1:2:1), since the noise follows the lamp and detector
    /// smoothly while a 64-sample median alone still scatters by ±10 %.
    private func estimateNoise(_ values: UnsafeBufferPointer<Double>, _ work: Range<Int>) {
        let block = Self.noiseBlock
        let blocks = (work.count + block - 1) / block
        guard blocks > 0 else { return }
        // Block estimates go to the end of `scratch`; its start holds one block's differences.
        let estimates = UnsafeMutableBufferPointer(rebasing: scratch[(scratch.count - blocks)...])
        for b in 0..<blocks {
            let start = work.lowerBound + b * block
            let end = min(start + block, work.upperBound)
            var n = 0
            for i in max(start, 1)..<max(max(start, 1), min(end, axis.count - 1))
            where pixelState[i - 1] == 0 && pixelState[i] == 0 && pixelState[i + 1] == 0 {
                scratch[n] = abs(values[i - 1] - 2 * values[i] + values[i + 1])
                n += 1
            }
            estimates[b] = n >= 8 ? median(scratch, n) / (0.6745 * 6.0.squareRoot()) : -1
        }
        // Blocks with too few usable pixels take the nearest estimate.
        var last = -1.0
        for b in 0..<blocks {
            if estimates[b] >= 0 { last = estimates[b] } else if last >= 0 { estimates[b] = last }
        }
        last = -1
        for b in stride(from: blocks - 1, through: 0, by: -1) {
            if estimates[b] >= 0 { last = estimates[b] } else { estimates[b] = max(last, 0) }
        }
        // A floor for spectra with no noise at all (a model spectrum in a CSV): a millionth of the
        // largest value, far above rounding, far below any detector's noise.
        var largest = 0.0
        for i in work where pixelState[i] == 0 { largest = max(largest, abs(values[i])) }
        let floor = max(1e-6 * largest, Double.leastNormalMagnitude)
        for b in 0..<blocks { estimates[b] = max(estimates[b], floor) }
        var previous = estimates[0]
        for b in 0..<blocks {
            let current = estimates[b]
            let next = b + 1 < blocks ? estimates[b + 1] : current
            let sigma = (previous + 2 * current + next) / 4
            previous = current
            let start = work.lowerBound + b * block
            for i in start..<min(start + block, work.upperBound) { noise[i] = sigma }
        }
    }

    /// A second derivative at one scale: per pixel (factor 1) or per bin of `factor` pixels.
    struct Series {
        var curvature: UnsafeMutableBufferPointer<Double>
        var factor: Int
        var count: Int
        /// σ″ per unit of pixel noise: the filter's noise gain, over √factor for binned data.
        var noiseGain: Double

        /// The pixel at the centre of bin `index`.
        func pixel(_ index: Int) -> Int { index * factor + factor / 2 }

        /// The bins whose centre pixels lie in `pixels`.
        func indices(_ pixels: Range<Int>) -> Range<Int> {
            let lower = max(0, (pixels.lowerBound - factor / 2 + factor - 1) / factor)
            let upper = min(count, (pixels.upperBound - 1 - factor / 2) / factor + 1)
            return lower..<max(lower, upper)
        }
    }

    /// The first feature met scanning the search range from the red end (absorbance) or the blue
    /// end (emission): a dip of the second derivative below −threshold·σ″, followed to its minimum
    /// until the second derivative turns positive or rises `separationThreshold`·σ″ above it.
    /// σ″ is the pixel noise, reduced by √factor for binned data, times the filter's noise gain.
    private func findFeature(_ series: Series, _ stage: Stage, fromRed: Bool) -> Int? {
        let settings = stage.settings
        let gain = series.noiseGain
        var inDip = false
        var best = -1
        var bestValue = 0.0
        let range = series.indices(stage.search)
        guard !range.isEmpty else { return nil }
        var index = fromRed ? range.upperBound - 1 : range.lowerBound
        let step = fromRed ? -1 : 1
        while range.contains(index) {
            let value = series.curvature[index]
            let sigma = noise[series.pixel(index)] * gain
            if !inDip {
                if value < -settings.detectionThreshold * sigma && sigma > 0 {
                    inDip = true
                    best = index
                    bestValue = value
                }
            } else if value < bestValue {
                best = index
                bestValue = value
            } else if value >= 0 || value > bestValue + settings.separationThreshold * sigma {
                return best
            }
            index += step
        }
        return inDip ? best : nil
    }

    /// Starting point of a fit.
    private struct Estimate {
        var centre: Double
        var sigma: Double
        var height: Double
        /// No maximum between the second derivative's zero crossings: a shoulder on a rise.
        var shoulder: Bool
        /// Full starting parameters, when a previous pass gave them.
        var start: FitParameters?
    }

    /// Centre, width and height of the feature at `index` of `series` (a second-derivative
    /// minimum): the centre is the smoothed spectrum's maximum between the second derivative's
    /// zero crossings when there is one, else the minimum itself (a shoulder); σ is the distance in
    /// energy to the low-energy zero crossing (a Gaussian's curvature changes sign at ±σ).
    private func estimate(_ series: Series, at index: Int, stage: Stage, kind: SpectrumKind) -> Estimate {
        let work = series.indices(stage.filtered)
        var red = index
        while red + 1 < work.upperBound && series.curvature[red] < 0 { red += 1 }
        var blue = index
        while blue - 1 >= work.lowerBound && series.curvature[blue] < 0 { blue -= 1 }
        let feature = series.pixel(index)
        let redPixel = series.pixel(red)
        let bluePixel = series.pixel(blue)
        let sigmaRange = sigmaBounds(stage.settings)
        var sigma: Double
        if series.curvature[red] >= 0 {
            sigma = energies[feature] - energies[redPixel]
        } else if series.curvature[blue] >= 0 {
            sigma = energies[bluePixel] - energies[feature]
        } else {
            sigma = 0.06
        }
        sigma = min(max(sigma, sigmaRange.lowerBound), sigmaRange.upperBound)
        var centre = feature
        var highest = bluePixel
        for pixel in bluePixel...redPixel where smoothed[pixel] > smoothed[highest] { highest = pixel }
        let isMaximum = highest != bluePixel && highest != redPixel
        if isMaximum { centre = highest }
        let centreEnergy = energies[centre]
        // Height above what lies 2.5σ below (absorbance) or 3σ above (emission: the clean blue side).
        let reference = kind == .absorbance ? centreEnergy - 2.5 * sigma : centreEnergy + 3 * sigma
        let referencePixel = min(max(pixel(atEnergy: reference), stage.filtered.lowerBound), stage.filtered.upperBound - 1)
        let binsSquared = squaredPixels(sigma, at: feature) / Double(series.factor * series.factor)
        let height = max(smoothed[centre] - smoothed[referencePixel], -series.curvature[index] * binsSquared)
        return Estimate(centre: centreEnergy, sigma: sigma, height: max(height, 1e-12), shoulder: !isMaximum, start: nil)
    }

    /// σ expressed in pixels² near `pixel` (for the curvature-based height a ≈ −f″·σ²).
    private func squaredPixels(_ sigma: Double, at pixel: Int) -> Double {
        let next = min(pixel + 1, axis.count - 1)
        let previous = max(next - 1, 0)
        let step = energies[previous] - energies[next]
        guard step > 0 else { return 0 }
        let pixels = sigma / step
        return pixels * pixels
    }

    private func sigmaBounds(_ settings: PeakAnalysisSettings) -> ClosedRange<Double> {
        let perFWHM = 1 / (2 * Self.halfWidthPerSigma)
        return (settings.fwhmElectronvolts.lowerBound * perFWHM)...(settings.fwhmElectronvolts.upperBound * perFWHM)
    }

    /// The pixel nearest `energy` (clamped to the axis).
    private func pixel(atEnergy energy: Double) -> Int {
        guard energy > 0 else { return axis.count - 1 }
        let pixel = axis.firstPixel(atOrAbove: PhotonEnergy.nanometres(electronvolts: energy))
        return min(pixel, axis.count - 1)
    }

    private struct Fitted {
        var solution: LeastSquaresSolution
        var lower: FitParameters
        var upper: FitParameters
        var points: Int
    }

    private enum FitOutcome {
        case fitted(Fitted)
        case rejected(PeakStatus, PeakStatusDetail)
    }

    /// Builds the window around `estimate`, checks its masked pixels, and runs the solver.
    private func fit(_ values: UnsafeBufferPointer<Double>, kind: SpectrumKind, stage: Stage, estimate: Estimate) -> FitOutcome {
        let settings = stage.settings
        let centre = estimate.centre
        let sigma = estimate.sigma
        var lowEnergy = centre - min(settings.lowEnergyExtent * sigma, settings.maximumLowEnergyElectronvolts)
        if kind == .emission { lowEnergy = min(lowEnergy, centre - settings.trapWindowElectronvolts) }
        let highEnergy = centre + min(settings.highEnergyExtent * sigma, settings.maximumHighEnergyElectronvolts)
        // Energies fall with the pixel index: the window runs from highEnergy's pixel to lowEnergy's.
        let first = max(pixel(atEnergy: highEnergy), stage.work.lowerBound)
        let last = min(pixel(atEnergy: lowEnergy), stage.work.upperBound)
        var points = 0
        var masked = 0
        var saturated = 0
        var saturatedNearPeak = false
        let nearPeak = (centre - 2 * sigma)...(centre + 2 * sigma)
        // Emission: the trap band's reach, beyond the band edge's own window, is smooth and broad;
        // every few pixels there describe it as well and keep the fit fast.
        let sparseBelow = kind == .emission ? centre - settings.lowEnergyExtent * sigma : -Double.infinity
        let stride = max(1, settings.trapPixelStride)
        if first < last {
            for pixel in first..<last {
                let energy = energies[pixel]
                guard energy <= highEnergy && energy >= lowEnergy else { continue }
                if energy < sparseBelow && pixel % stride != 0 { continue }
                // The first pass only places the second pass's window: every other pixel will do.
                if estimate.start == nil && pixel % 2 != 0 { continue }
                switch pixelState[pixel] {
                case 0:
                    fitEnergies[points] = energy
                    fitValues[points] = values[pixel]
                    points += 1
                case 1:
                    saturated += 1
                    masked += 1
                    if nearPeak.contains(energy) { saturatedNearPeak = true }
                default:
                    masked += 1
                }
            }
        }
        let total = points + masked
        if kind == .emission && saturatedNearPeak { return .rejected(.saturated, .saturatedPixels) }
        if total > 0 && Double(masked) > settings.maximumMaskedFraction * Double(total) {
            return saturated > 0 ? .rejected(.saturated, .saturatedPixels) : .rejected(.masked, .maskedPixels)
        }
        let window = FitWindow(
            energies: UnsafeBufferPointer(rebasing: fitEnergies[0..<points]),
            values: UnsafeBufferPointer(rebasing: fitValues[0..<points]))

        let sigmaRange = sigmaBounds(settings)
        var lower = FitParameters(repeating: -.infinity)
        var upper = FitParameters(repeating: .infinity)
        lower[0] = 0
        lower[1] = centre - 1.5 * sigma
        upper[1] = centre + 1.5 * sigma
        lower[2] = max(sigma / 3, sigmaRange.lowerBound)
        upper[2] = min(sigma * 3, sigmaRange.upperBound)

        switch kind {
        case .absorbance:
            let model = HalfGaussianModel(
                window: window, baselineTerms: settings.baselineTerms, onsetTail: estimate.shoulder && settings.shoulderOnsetTail,
                referenceEnergy: centre)
            guard points > model.parameterCount + 3 else { return .rejected(.tooWeak, .tooFewPoints) }
            if model.onsetTail {
                lower[model.tailIndex] = 0
                lower[model.tailIndex + 1] = 0.03
                upper[model.tailIndex + 1] = 0.5
            }
            var start = FitParameters(repeating: 0)
            if let previous = estimate.start {
                start = previous
            } else {
                start[0] = estimate.height
                start[1] = centre
                start[2] = sigma
                if settings.baselineTerms >= 1 {
                    // The baseline starts at what lies 2.5σ below the top, the height above it.
                    let baseline = smoothed[min(max(pixel(atEnergy: centre - 2.5 * sigma), stage.filtered.lowerBound), stage.filtered.upperBound - 1)]
                    let top = smoothed[min(max(pixel(atEnergy: centre), stage.filtered.lowerBound), stage.filtered.upperBound - 1)]
                    start[3] = baseline
                    start[0] = max(top - baseline, estimate.height * 0.1)
                }
                if model.onsetTail {
                    start[model.tailIndex] = 0.1 * start[0]
                    start[model.tailIndex + 1] = 0.1
                }
            }
            let solution = solver.minimize(model, from: start, lower: lower, upper: upper)
            return .fitted(Fitted(solution: solution, lower: lower, upper: upper, points: points))
        case .emission:
            let model = EmissionModel(window: window)
            guard points > model.parameterCount + 3 else { return .rejected(.tooWeak, .tooFewPoints) }
            let windowLow = lowEnergy
            lower[3] = 0
            upper[4] = centre - settings.minimumTrapOffsetElectronvolts
            lower[4] = min(windowLow, upper[4] - 0.05)
            lower[5] = max(1.2 * sigma, 0.04)
            upper[5] = 0.6
            var start = FitParameters(repeating: 0)
            if let previous = estimate.start {
                start = previous
            } else {
                let offset = smoothed[min(max(pixel(atEnergy: centre + 3 * sigma), stage.filtered.lowerBound), stage.filtered.upperBound - 1)]
                start[0] = estimate.height
                start[1] = centre
                start[2] = sigma
                let trapCentre = min(max(centre - max(0.35, 3 * sigma), lower[4]), upper[4])
                let trapPixel = min(max(pixel(atEnergy: trapCentre), stage.filtered.lowerBound), stage.filtered.upperBound - 1)
                let bandAtTrap = estimate.height * exp(-0.5 * (trapCentre - centre) * (trapCentre - centre) / (sigma * sigma))
                start[3] = max(0, smoothed[trapPixel] - offset - bandAtTrap)
                start[4] = trapCentre
                start[5] = min(max(0.15, lower[5]), upper[5])
                start[6] = offset
            }
            let solution = solver.minimize(model, from: start, lower: lower, upper: upper)
            return .fitted(Fitted(solution: solution, lower: lower, upper: upper, points: points))
        }
    }

    /// The checks a fit must pass to be reported, and the published data set's numbers.
    private func judge(_ fitted: Fitted, kind: SpectrumKind, stage: Stage, iterations: Int) -> PeakFit {
        let settings = stage.settings
        let solution = fitted.solution
        let p = solution.parameters
        switch solution.outcome {
        case .diverged: return .rejected(kind, .fitDiverged, .nonFinite)
        case .iterationLimit: return .rejected(kind, .fitDiverged, .iterationLimit)
        default: break
        }
        let height = p[0]
        let centre = p[1]
        let sigma = p[2]
        guard height.isFinite, centre.isFinite, sigma.isFinite, centre > 0, sigma > 0 else {
            return .rejected(kind, .fitDiverged, .nonFinite)
        }
        // A centre or width held at its bound is the box talking, not the data.
        for j in 1...2 {
            let span = fitted.upper[j] - fitted.lower[j]
            if p[j] <= fitted.lower[j] + 1e-6 * span || p[j] >= fitted.upper[j] - 1e-6 * span {
                if j == 2 && (p[j] <= settings.fwhmElectronvolts.lowerBound / (2 * Self.halfWidthPerSigma) * (1 + 1e-6)
                    || p[j] >= settings.fwhmElectronvolts.upperBound / (2 * Self.halfWidthPerSigma) * (1 - 1e-6)) {
                    return .rejected(kind, .noFeature, kind == .emission ? .broaderThanBandEdge : .parameterAtBound)
                }
                return .rejected(kind, .fitDiverged, .parameterAtBound)
            }
        }
        let heightError = solution.standardErrors[0]
        if !(height > 0) || !(height >= settings.minimumSignificance * heightError) {
            return .rejected(kind, .tooWeak, .notSignificant)
        }
        if height < settings.minimumHeight { return .rejected(kind, .tooWeak, .belowMinimumHeight) }
        let peakNanometres = PhotonEnergy.nanometres(electronvolts: centre)
        let peakUncertainty = peakNanometres / centre * solution.standardErrors[1]
        if !(peakUncertainty <= settings.maximumPeakUncertaintyNanometres) {
            return .rejected(kind, .tooWeak, .positionUncertain)
        }
        guard settings.searchNanometres.contains(peakNanometres) else {
            return .rejected(kind, .noFeature, .outsideSearchRange)
        }
        let halfWidth = Self.halfWidthPerSigma * sigma
        guard centre - halfWidth > 0 else { return .rejected(kind, .fitDiverged, .nonFinite) }
        let fwhmNanometres: Double
        switch kind {
        case .absorbance:
            fwhmNanometres = PhotonEnergy.fwhmNanometres(peakElectronvolts: centre, fwhmElectronvolts: 2 * halfWidth)
        case .emission:
            fwhmNanometres = PhotonEnergy.nanometres(electronvolts: centre - halfWidth) - PhotonEnergy.nanometres(electronvolts: centre + halfWidth)
        }
        let peak = PeakParameters(
            peakNanometres: peakNanometres, fwhmNanometres: fwhmNanometres, peakElectronvolts: centre,
            fwhmElectronvolts: PhotonEnergy.fwhmElectronvolts(peakNanometres: peakNanometres, fwhmNanometres: fwhmNanometres),
            height: height, residual: (solution.cost / Double(max(fitted.points, 1))).squareRoot(),
            peakUncertaintyNanometres: peakUncertainty, iterations: iterations)
        return .ok(kind, peak)
    }
}

/// Median of the first `count` values of `buffer` (reorders them; no allocation): Hoare's
/// selection (quickselect) with a middle pivot.
func median(_ buffer: UnsafeMutableBufferPointer<Double>, _ count: Int) -> Double {
    precondition(count > 0 && count <= buffer.count)
    let upper = select(buffer, count, count / 2)
    if count % 2 == 1 { return upper }
    var lower = -Double.infinity
    for i in 0..<(count / 2) where buffer[i] > lower { lower = buffer[i] }
    return (lower + upper) / 2
}

/// The k-th smallest of the first `count` values; afterwards values below index k are ≤ it.
private func select(_ buffer: UnsafeMutableBufferPointer<Double>, _ count: Int, _ k: Int) -> Double {
    var left = 0
    var right = count - 1
    while left < right {
        let pivot = buffer[(left + right) / 2]
        var i = left
        var j = right
        while i <= j {
            while buffer[i] < pivot { i += 1 }
            while buffer[j] > pivot { j -= 1 }
            if i <= j {
                buffer.swapAt(i, j)
                i += 1
                j -= 1
            }
        }
        if k <= j {
            right = j
        } else if k >= i {
            left = i
        } else {
            break
        }
    }
    return buffer[k]
}
