/// The float or the integer path.
public enum InferencePath: String, Sendable, Equatable, CaseIterable {
    case float
    case int8
}

/// What both inference engines offer (`FloatInference`, `QuantizedInference`).
public protocol InferenceEngine: AnyObject {
    var maximumRows: Int { get }
    func predictOne(_ input: UnsafePointer<Float>) -> Float
    func predict(_ features: FeatureMatrix) -> [Float]
    func monteCarlo(_ input: UnsafePointer<Float>, rows: Int, masks: DropoutMasks, output: UnsafeMutablePointer<Float>)
    func runPerPass(_ input: UnsafePointer<Float>, rows: Int, masks: DropoutMasks, output: UnsafeMutablePointer<Float>)
}

extension FloatInference: InferenceEngine {}
extension QuantizedInference: InferenceEngine {}

/// What the cascade width model is fed in Monte Carlo dropout.
public enum CascadeFeed: Sendable, Equatable {
    /// Each pass's own peak.
    case perPassPeak
    /// The row's mean peak over all passes.
    case meanPeak
}

/// One prediction in physical units.
public struct SynthesisPrediction: Sendable, Equatable {
    public var peakEV: Double
    public var fwhmDirectEV: Double
    public var fwhmCascadeEV: Double
    /// Inputs outside the model's ranges (empty when interpolating).
    public var extrapolated: [String]

    public var peakNM: Double { planckTimesLightEVNanometres / peakEV }
    /// The cascade width in nm at the predicted peak, λ²·ΔE/hc.
    public var fwhmCascadeNM: Double { fwhmCascadeEV * peakNM * peakNM / planckTimesLightEVNanometres }
}

/// A Monte Carlo dropout estimate: mean and standard deviation over the passes.
public struct UncertainValue: Sendable, Equatable {
    public var mean: Double
    public var standardDeviation: Double
}

/// Monte Carlo dropout predictions in physical units (eV).
public struct MonteCarloPrediction: Sendable, Equatable {
    public var peakEV: UncertainValue
    public var fwhmDirectEV: UncertainValue
    /// The cascade width, each pass fed the peak of the same pass (so the peak's uncertainty
    /// reaches the width).
    public var fwhmCascadeEV: UncertainValue
    public var passes: Int
    public var extrapolated: [String]
}

/// Predicts with a `SynthesisModel` on one path. Ensembles are averaged; in Monte Carlo
/// dropout pass k runs member k mod K with its own masks, so N passes cost N member passes
/// whatever the ensemble size. Engines and scratch are allocated here once; not thread-safe (one
/// per thread).
public final class SynthesisPredictor {
    public let model: SynthesisModel
    public let path: InferencePath
    public let maximumRows: Int
    let peak: [any InferenceEngine]
    let direct: [any InferenceEngine]
    let cascade: [any InferenceEngine]
    let cascadeInput: AlignedBuffer<Float>
    let passOutput: AlignedBuffer<Float>
    let widthOutput: AlignedBuffer<Float>
    private var maskCache: (passes: Int, seed: UInt64, masks: [(peak: DropoutMasks, direct: DropoutMasks, cascade: DropoutMasks)])?

    /// `maximumRows` bounds one batch, and (row × pass) pairs in Monte Carlo: at least the passes
    /// of one member.
    public init(model: SynthesisModel, path: InferencePath, maximumRows: Int = 256) {
        self.model = model
        self.path = path
        self.maximumRows = maximumRows
        func engines(_ float: [DenseNetwork], _ int8: [QuantizedNetwork]) -> [any InferenceEngine] {
            switch path {
            case .float: return float.map { FloatInference($0, maximumRows: maximumRows) }
            case .int8: return int8.map { QuantizedInference($0, maximumRows: maximumRows) }
            }
        }
        peak = engines(model.peak, model.quantizedPeak)
        direct = engines(model.fwhmDirect, model.quantizedFWHMDirect)
        cascade = engines(model.fwhmCascade, model.quantizedFWHMCascade)
        cascadeInput = AlignedBuffer(count: maximumRows * 6, zero: 0)
        passOutput = AlignedBuffer(count: maximumRows, zero: 0)
        widthOutput = AlignedBuffer(count: maximumRows, zero: 0)
    }

    public var ensembleSize: Int { peak.count }

    /// Normalized, ensemble-averaged predictions with dropout off, for rows of normalized inputs.
    public func predictNormalized(_ features: FeatureMatrix) -> (peak: [Float], fwhmDirect: [Float], fwhmCascade: [Float]) {
        func mean(_ engines: [any InferenceEngine], _ rows: FeatureMatrix) -> [Float] {
            var sum = [Float](repeating: 0, count: rows.rowCount)
            for engine in engines {
                for (index, value) in engine.predict(rows).enumerated() { sum[index] += value }
            }
            return sum.map { $0 / Float(engines.count) }
        }
        let peaks = mean(peak, features)
        return (peaks, mean(direct, features), mean(cascade, features.appendingColumn(peaks)))
    }

    /// The normalized, ensemble-averaged peak alone, dropout off (what `aliquot explain` asks of
    /// the model many thousands of times).
    public func predictNormalizedPeak(_ features: FeatureMatrix) -> [Float] {
        var sum = [Float](repeating: 0, count: features.rowCount)
        for engine in peak {
            for (index, value) in engine.predict(features).enumerated() { sum[index] += value }
        }
        return sum.map { $0 / Float(peak.count) }
    }

    /// The model's point predictions (normalized): Monte Carlo dropout means over the model's
    /// `predictionPasses` passes from its `predictionSeed`, the cascade fed the peak's mean.
    public func predictPoints(_ features: FeatureMatrix) -> (peak: [Float], fwhmDirect: [Float], fwhmCascade: [Float]) {
        precondition(features.columnCount == 5, "five normalized inputs per row")
        let passes = model.metadata.predictionPasses
        let seed = model.metadata.predictionSeed
        let members = peak.count
        let block = max(1, maximumRows / Self.passes(of: 0, total: passes, members: members))
        var peaks = [Float](repeating: 0, count: block * passes)
        var directs = peaks
        var cascades = peaks
        var result = (peak: [Float](repeating: 0, count: features.rowCount), fwhmDirect: [Float](repeating: 0, count: features.rowCount),
                      fwhmCascade: [Float](repeating: 0, count: features.rowCount))
        features.values.withUnsafeBufferPointer { values in
            var start = 0
            while start < features.rowCount {
                let rows = min(block, features.rowCount - start)
                peaks.withUnsafeMutableBufferPointer { p in
                    directs.withUnsafeMutableBufferPointer { d in
                        cascades.withUnsafeMutableBufferPointer { c in
                            monteCarloNormalized(
                                values.baseAddress! + start * 5, rows: rows, passes: passes, seed: seed, peakOutput: p.baseAddress!,
                                directOutput: d.baseAddress!, cascadeOutput: c.baseAddress!, cascadeInput: .meanPeak)
                        }
                    }
                }
                for row in 0..<rows {
                    var sums: (Double, Double, Double) = (0, 0, 0)
                    for pass in 0..<passes {
                        sums.0 += Double(peaks[row * passes + pass])
                        sums.1 += Double(directs[row * passes + pass])
                        sums.2 += Double(cascades[row * passes + pass])
                    }
                    result.peak[start + row] = Float(sums.0 / Double(passes))
                    result.fwhmDirect[start + row] = Float(sums.1 / Double(passes))
                    result.fwhmCascade[start + row] = Float(sums.2 / Double(passes))
                }
                start += rows
            }
        }
        return result
    }

    /// Point predictions (see `predictPoints`) in physical units.
    public func predict(_ conditions: [SynthesisConditions]) -> [SynthesisPrediction] {
        let normalization = model.normalization
        var features = FeatureMatrix(rowCount: 0, columnCount: 5)
        features.reserveCapacity(rows: conditions.count)
        for condition in conditions { features.append(row: normalization.normalizedInputs(condition)) }
        let predicted = predictPoints(features)
        return conditions.indices.map { index in
            SynthesisPrediction(
                peakEV: normalization.peakEV.denormalize(Double(predicted.peak[index])),
                fwhmDirectEV: normalization.fwhmEV.denormalize(Double(predicted.fwhmDirect[index])),
                fwhmCascadeEV: normalization.fwhmEV.denormalize(Double(predicted.fwhmCascade[index])),
                extrapolated: normalization.extrapolatedInputs(conditions[index]))
        }
    }

    /// The masks of every member for `passes` passes from `seed` (member m runs the passes
    /// k ≡ m mod K), cached for repeated calls.
    func masks(passes: Int, seed: UInt64) -> [(peak: DropoutMasks, direct: DropoutMasks, cascade: DropoutMasks)] {
        if let cache = maskCache, cache.passes == passes, cache.seed == seed { return cache.masks }
        let members = peak.count
        let masks = (0..<members).map { member -> (DropoutMasks, DropoutMasks, DropoutMasks) in
            let count = Self.passes(of: member, total: passes, members: members)
            var streams = LearningRandom.derived(seed: seed, stream: 500 + UInt64(member))
            return (
                DropoutMasks(for: model.peak[member], passes: max(1, count), seed: streams.next()),
                DropoutMasks(for: model.fwhmDirect[member], passes: max(1, count), seed: streams.next()),
                DropoutMasks(for: model.fwhmCascade[member], passes: max(1, count), seed: streams.next()))
        }
        maskCache = (passes, seed, masks)
        return masks
    }

    /// How many of `total` passes member `member` of `members` runs.
    static func passes(of member: Int, total: Int, members: Int) -> Int {
        (total - member + members - 1) / members
    }

    /// Monte Carlo dropout for `rows` rows of normalized inputs (5 per row), `passes` passes:
    /// writes every pass's normalized peak, direct width and cascade width, row-major
    /// (`rows × passes` each). The layers before the first dropout run once per row and member.
    /// The cascade is fed each pass's own peak (`.perPassPeak`: the peak's uncertainty reaches the
    /// width) or the row's mean peak over all passes (`.meanPeak`: its layers before the first
    /// dropout then run once per row too, about half the cost; what the candidate map uses).
    /// Allocation-free after the first call with these passes and seed.
    public func monteCarloNormalized(
        _ input: UnsafePointer<Float>, rows: Int, passes: Int, seed: UInt64,
        peakOutput: UnsafeMutablePointer<Float>, directOutput: UnsafeMutablePointer<Float>?,
        cascadeOutput: UnsafeMutablePointer<Float>?, cascadeInput feed: CascadeFeed = .perPassPeak
    ) {
        let members = peak.count
        let allMasks = masks(passes: passes, seed: seed)
        let widest = Self.passes(of: 0, total: passes, members: members)
        precondition(maximumRows >= widest, "maximumRows \(maximumRows) must hold \(widest) passes of one row")
        let blockRows = maximumRows / widest
        var start = 0
        while start < rows {
            let count = min(blockRows, rows - start)
            let block = input + start * 5
            for member in 0..<members {
                let memberPasses = Self.passes(of: member, total: passes, members: members)
                if memberPasses == 0 { continue }
                let masks = allMasks[member]
                peak[member].monteCarlo(block, rows: count, masks: masks.peak, output: passOutput.pointer)
                scatter(passOutput.pointer, rows: count, memberPasses: memberPasses, member: member, members: members,
                        passes: passes, into: peakOutput + start * passes)
                if let directOutput {
                    direct[member].monteCarlo(block, rows: count, masks: masks.direct, output: widthOutput.pointer)
                    scatter(widthOutput.pointer, rows: count, memberPasses: memberPasses, member: member, members: members,
                            passes: passes, into: directOutput + start * passes)
                }
                if let cascadeOutput, feed == .perPassPeak {
                    // Row e = (row, pass j): the row's inputs and that pass's peak.
                    let expanded = count * memberPasses
                    let target = cascadeInput.pointer
                    for e in 0..<expanded {
                        (target + e * 6).update(from: block + (e / memberPasses) * 5, count: 5)
                        target[e * 6 + 5] = passOutput.pointer[e]
                    }
                    cascade[member].runPerPass(target, rows: expanded, masks: masks.cascade, output: widthOutput.pointer)
                    scatter(widthOutput.pointer, rows: count, memberPasses: memberPasses, member: member, members: members,
                            passes: passes, into: cascadeOutput + start * passes)
                }
            }
            if let cascadeOutput, feed == .meanPeak {
                let target = cascadeInput.pointer
                let peaks = peakOutput + start * passes
                for row in 0..<count {
                    var sum: Float = 0
                    for pass in 0..<passes { sum += peaks[row * passes + pass] }
                    (target + row * 6).update(from: block + row * 5, count: 5)
                    target[row * 6 + 5] = sum / Float(passes)
                }
                for member in 0..<members {
                    let memberPasses = Self.passes(of: member, total: passes, members: members)
                    if memberPasses == 0 { continue }
                    cascade[member].monteCarlo(target, rows: count, masks: allMasks[member].cascade, output: widthOutput.pointer)
                    scatter(widthOutput.pointer, rows: count, memberPasses: memberPasses, member: member, members: members,
                            passes: passes, into: cascadeOutput + start * passes)
                }
            }
            start += count
        }
    }

    /// Member `member`'s j-th pass is pass member + j·members of the whole.
    @inline(__always)
    private func scatter(
        _ source: UnsafePointer<Float>, rows: Int, memberPasses: Int, member: Int, members: Int, passes: Int,
        into target: UnsafeMutablePointer<Float>
    ) {
        for row in 0..<rows {
            for j in 0..<memberPasses { target[row * passes + member + j * members] = source[row * memberPasses + j] }
        }
    }

    /// Monte Carlo dropout for one set of conditions, in eV.
    public func monteCarlo(_ conditions: SynthesisConditions, passes: Int, seed: UInt64) -> MonteCarloPrediction {
        monteCarlo([conditions], passes: passes, seed: seed)[0]
    }

    /// Monte Carlo dropout for several sets of conditions, in eV.
    public func monteCarlo(_ conditions: [SynthesisConditions], passes: Int, seed: UInt64) -> [MonteCarloPrediction] {
        precondition(passes > 0, "at least one pass")
        let normalization = model.normalization
        let inputs = conditions.flatMap { normalization.normalizedInputs($0) }
        var peaks = [Float](repeating: 0, count: conditions.count * passes)
        var directs = peaks
        var cascades = peaks
        inputs.withUnsafeBufferPointer { input in
            peaks.withUnsafeMutableBufferPointer { p in
                directs.withUnsafeMutableBufferPointer { d in
                    cascades.withUnsafeMutableBufferPointer { c in
                        monteCarloNormalized(
                            input.baseAddress!, rows: conditions.count, passes: passes, seed: seed,
                            peakOutput: p.baseAddress!, directOutput: d.baseAddress!, cascadeOutput: c.baseAddress!)
                    }
                }
            }
        }
        func summary(_ values: [Float], _ range: FeatureRange, row: Int) -> UncertainValue {
            var sum = 0.0
            var squares = 0.0
            for pass in 0..<passes {
                let value = range.denormalize(Double(values[row * passes + pass]))
                sum += value
                squares += value * value
            }
            let mean = sum / Double(passes)
            return UncertainValue(mean: mean, standardDeviation: max(0, squares / Double(passes) - mean * mean).squareRoot())
        }
        return conditions.indices.map { row in
            MonteCarloPrediction(
                peakEV: summary(peaks, normalization.peakEV, row: row),
                fwhmDirectEV: summary(directs, normalization.fwhmEV, row: row),
                fwhmCascadeEV: summary(cascades, normalization.fwhmEV, row: row), passes: passes,
                extrapolated: normalization.extrapolatedInputs(conditions[row]))
        }
    }
}
