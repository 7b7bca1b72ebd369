/// Mean and Monte Carlo spread of the peak and width over many candidate conditions: the map a
/// Bayesian-optimization step scores (the second study of DESIGN.md §1 maps up to 1 000 000
/// random candidates). Values in eV.
public struct CandidateMap: Sendable {
    public var peakMean: [Float]
    public var peakStandardDeviation: [Float]
    /// The cascade width (empty when not asked for).
    public var fwhmMean: [Float]
    public var fwhmStandardDeviation: [Float]

    public init(peakMean: [Float], peakStandardDeviation: [Float], fwhmMean: [Float], fwhmStandardDeviation: [Float]) {
        precondition(peakMean.count == peakStandardDeviation.count && fwhmMean.count == fwhmStandardDeviation.count, "means and spreads pair up")
        self.peakMean = peakMean
        self.peakStandardDeviation = peakStandardDeviation
        self.fwhmMean = fwhmMean
        self.fwhmStandardDeviation = fwhmStandardDeviation
    }

    /// Maps `candidates` (rows of 5 normalized inputs) through `passes` Monte Carlo passes of
    /// `model` on `path`, split over `threads` threads by contiguous halves (each with its own
    /// predictor; pass k uses the same masks for every candidate, so the result does not depend on
    /// the thread count). `blockRows` candidates are predicted per batch. The width is the
    /// cascade's, fed each candidate's mean peak by default (`CascadeFeed`).
    public static func compute(
        model: SynthesisModel, candidates: FeatureMatrix, passes: Int, seed: UInt64, path: InferencePath = .int8,
        includeWidth: Bool = true, cascadeFeed: CascadeFeed = .meanPeak, threads: Int = 2, blockRows: Int = 32
    ) -> CandidateMap {
        precondition(candidates.columnCount == 5 && passes > 0, "rows of five normalized inputs, at least one pass")
        let count = candidates.rowCount
        let outputs = ResultBuffers(count: count, width: includeWidth)
        let parts = max(1, min(threads, count))
        parallelFor(count: parts, threads: parts) { part in
            let first = count * part / parts
            let last = count * (part + 1) / parts
            let members = model.peak.count
            let widest = SynthesisPredictor.passes(of: 0, total: passes, members: members)
            let predictor = SynthesisPredictor(model: model, path: path, maximumRows: max(widest, blockRows * widest))
            let peaks = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * passes)
            let widths = UnsafeMutablePointer<Float>.allocate(capacity: blockRows * passes)
            defer {
                peaks.deallocate()
                widths.deallocate()
            }
            let peakRange = model.normalization.peakEV
            let widthRange = model.normalization.fwhmEV
            candidates.values.withUnsafeBufferPointer { values in
                var start = first
                while start < last {
                    let rows = min(blockRows, last - start)
                    predictor.monteCarloNormalized(
                        values.baseAddress! + start * 5, rows: rows, passes: passes, seed: seed, peakOutput: peaks,
                        directOutput: nil, cascadeOutput: includeWidth ? widths : nil, cascadeInput: cascadeFeed)
                    summarize(peaks, rows: rows, passes: passes, range: peakRange,
                              mean: outputs.peakMean.pointer + start, spread: outputs.peakSpread.pointer + start)
                    if includeWidth {
                        summarize(widths, rows: rows, passes: passes, range: widthRange,
                                  mean: outputs.widthMean.pointer + start, spread: outputs.widthSpread.pointer + start)
                    }
                    start += rows
                }
            }
        }
        return CandidateMap(
            peakMean: Array(UnsafeBufferPointer(start: outputs.peakMean.pointer, count: count)),
            peakStandardDeviation: Array(UnsafeBufferPointer(start: outputs.peakSpread.pointer, count: count)),
            fwhmMean: includeWidth ? Array(UnsafeBufferPointer(start: outputs.widthMean.pointer, count: count)) : [],
            fwhmStandardDeviation: includeWidth ? Array(UnsafeBufferPointer(start: outputs.widthSpread.pointer, count: count)) : [])
    }

    /// Mean and population standard deviation of each row's passes, denormalized to eV. A target
    /// range is linear, so the spread scales by its span.
    @inline(__always)
    static func summarize(
        _ values: UnsafePointer<Float>, rows: Int, passes: Int, range: FeatureRange, mean: UnsafeMutablePointer<Float>,
        spread: UnsafeMutablePointer<Float>
    ) {
        let span = range.upper - range.lower
        for row in 0..<rows {
            var sum: Float = 0
            var squares: Float = 0
            for pass in 0..<passes {
                let value = values[row * passes + pass]
                sum += value
                squares += value * value
            }
            let average = sum / Float(passes)
            mean[row] = Float(range.denormalize(Double(average)))
            spread[row] = Float(span) * max(0, squares / Float(passes) - average * average).squareRoot()
        }
    }

    /// `count` candidates drawn uniformly over the model's normalized input space (each input's
    /// whole range; uniform in log for the logarithmically scaled inputs).
    public static func uniformCandidates(count: Int, seed: UInt64) -> FeatureMatrix {
        var random = LearningRandom(seed: seed)
        var values = [Float](repeating: 0, count: count * 5)
        for index in values.indices { values[index] = random.nextUnitFloat() }
        return FeatureMatrix(rowCount: count, columnCount: 5, values: values)
    }
}

/// Output arrays the map's threads write to (each thread its own rows).
private final class ResultBuffers: @unchecked Sendable {
    let peakMean: AlignedBuffer<Float>
    let peakSpread: AlignedBuffer<Float>
    let widthMean: AlignedBuffer<Float>
    let widthSpread: AlignedBuffer<Float>

    init(count: Int, width: Bool) {
        peakMean = AlignedBuffer(count: count, zero: 0)
        peakSpread = AlignedBuffer(count: count, zero: 0)
        widthMean = AlignedBuffer(count: width ? count : 0, zero: 0)
        widthSpread = AlignedBuffer(count: width ? count : 0, zero: 0)
    }
}
