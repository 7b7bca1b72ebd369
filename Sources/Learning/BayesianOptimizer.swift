#if canImport(Glibc)
import Glibc
#endif

/// Where suggestions may lie: per input, a physical interval (the model's normalization range,
/// [Cd] and [Se] from 0.01 mM, intersected with the constraints) plus the constraints themselves (strict ones are checked on
/// every pick).
public struct SearchBounds: Sendable, Equatable {
    public var normalization: Normalization
    /// Physical bounds per input, in `SynthesisConditions.values` order.
    public var lower: [Double]
    public var upper: [Double]
    public var constraints: [SuggestionConstraint]

    /// The model's ranges narrowed by `constraints`. A constraint outside the model's range, or
    /// constraints that leave no room, are errors naming the constraint.
    public init(normalization: Normalization, constraints: [SuggestionConstraint]) throws(ConstraintError) {
        self.normalization = normalization
        self.constraints = constraints
        lower = normalization.inputs.map(\.lower)
        upper = normalization.inputs.map(\.upper)
        // An experiment needs both precursors: at least 0.01 mM (the campaign file's cd_mm and
        // se_mm must be above 0, and suggestions are rounded to 0.01).
        for index in [ConstraintVariable.cd.inputIndex, ConstraintVariable.se.inputIndex] { lower[index] = max(lower[index], 0.01) }
        for constraint in constraints {
            let index = constraint.variable.inputIndex
            let range = normalization.rangeText(ofInput: index)
            let value = constraint.value
            switch constraint.relation {
            case .lessOrEqual, .less: upper[index] = min(upper[index], value)
            case .greaterOrEqual, .greater: lower[index] = max(lower[index], value)
            case .equal:
                guard value >= normalization.inputs[index].lower && value <= normalization.inputs[index].upper else {
                    throw ConstraintError(text: constraint.description, message: "\(shortNumber(value)) is outside the model's range \(range)")
                }
                lower[index] = max(lower[index], value)
                upper[index] = min(upper[index], value)
            }
            let strict = constraints.contains { $0.variable == constraint.variable && ($0.relation == .less || $0.relation == .greater) }
            if lower[index] > upper[index] || (strict && lower[index] == upper[index]) {
                throw ConstraintError(
                    text: constraint.description,
                    message: "leaves no room for \(constraint.variable.rawValue) within the model's range \(range) and the other constraints")
            }
        }
    }

    /// `count` candidates, rows of 5 normalized inputs, uniform in the normalized coordinates of
    /// each input's bounds (uniform in log for the model's logarithmic inputs).
    public func candidates(count: Int, seed: UInt64) -> FeatureMatrix {
        let low = (0..<5).map { Float(normalization.inputs[$0].normalize(lower[$0])) }
        let high = (0..<5).map { Float(normalization.inputs[$0].normalize(upper[$0])) }
        var random = LearningRandom(seed: seed)
        var values = [Float](repeating: 0, count: count * 5)
        for row in 0..<count {
            for input in 0..<5 { values[row * 5 + input] = low[input] + (high[input] - low[input]) * random.nextUnitFloat() }
        }
        return FeatureMatrix(rowCount: count, columnCount: 5, values: values)
    }

    /// The physical conditions of one normalized candidate, rounded to 0.01 (what a campaign file
    /// holds) and clamped into the bounds; nil if they break a (strict) constraint.
    public func conditions(normalized row: [Float]) -> SynthesisConditions? {
        let values = (0..<5).map { input -> Double in
            let physical = normalization.inputs[input].denormalize(Double(row[input]))
            return min(upper[input], max(lower[input], (physical * 100).rounded() / 100))
        }
        let conditions = SynthesisConditions(values: values)
        return constraints.allSatisfy { $0.isSatisfied(by: conditions) } ? conditions : nil
    }
}

/// What a suggestion is scored on, in meV (higher is better): reach the target peak with the
/// smallest width, score = −|E_peak − E_target| − w·FWHM, with E in meV and FWHM the cascade width
/// in meV. Under Monte Carlo dropout the score's mean is taken at the mean peak and width, and its
/// spread is √(σ_peak² + w²·σ_FWHM²) (the two treated as independent).
public struct SuggestionObjective: Sendable, Equatable {
    public var targetPeakEV: Double
    /// meV of peak miss worth one meV of width. Default 0.5: a narrower distribution is worth
    /// having, but not at the cost of missing the target by more than half the width saved.
    public var widthWeight: Double

    public init(targetPeakEV: Double, widthWeight: Double = 0.5) {
        precondition(targetPeakEV > 0 && widthWeight >= 0, "a positive target, a weight ≥ 0")
        self.targetPeakEV = targetPeakEV
        self.widthWeight = widthWeight
    }

    public init(targetPeakNM: Double, widthWeight: Double = 0.5) {
        self.init(targetPeakEV: planckTimesLightEVNanometres / targetPeakNM, widthWeight: widthWeight)
    }

    /// The score in meV of a peak and width in eV.
    @inline(__always)
    public func score(peakEV: Double, fwhmEV: Double) -> Double {
        -1000 * abs(peakEV - targetPeakEV) - widthWeight * 1000 * fwhmEV
    }

    /// The score's spread in meV from the peak's and width's spreads in eV.
    @inline(__always)
    public func spread(peakSD: Double, fwhmSD: Double) -> Double {
        1000 * (peakSD * peakSD + widthWeight * widthWeight * fwhmSD * fwhmSD).squareRoot()
    }
}

/// The acquisition function turning a score's mean μ and spread σ into the value maximized.
public enum Acquisition: Sendable, Equatable {
    /// Upper confidence bound μ + κσ (Srinivas et al. 2010).
    case upperConfidenceBound(kappa: Double)
    /// Expected improvement over the best mean score among the candidates, minus a margin ξ
    /// (Jones, Schonlau & Welch 1998): see `expectedImprovement`.
    case expectedImprovement(xi: Double)

    /// EI = (μ − f* − ξ)·Φ(z) + σ·φ(z), z = (μ − f* − ξ)/σ; for σ = 0, max(0, μ − f* − ξ).
    public static func expectedImprovement(mean: Double, spread: Double, best: Double, xi: Double = 0) -> Double {
        let gain = mean - best - xi
        guard spread > 0 else { return max(0, gain) }
        let z = gain / spread
        let cdf = 0.5 * erfc(-z / 2.0.squareRoot())
        let pdf = exp(-0.5 * z * z) / (2 * Double.pi).squareRoot()
        return gain * cdf + spread * pdf
    }
}

/// One suggested experiment: conditions (the time is when the model expects the best score;
/// the experiment itself samples its whole trajectory), the Monte Carlo predictions there and
/// its scores.
public struct Suggestion: Sendable, Equatable {
    public var conditions: SynthesisConditions
    public var peakEV: UncertainValue
    public var fwhmEV: UncertainValue
    /// Mean score and spread, meV.
    public var score: UncertainValue
    public var acquisition: Double
    public var candidate: Int

    public var peakNM: Double { planckTimesLightEVNanometres / peakEV.mean }
    public var fwhmNM: Double { fwhmEV.mean * peakNM * peakNM / planckTimesLightEVNanometres }
}

/// Bayesian optimization over a Monte Carlo dropout model (DESIGN.md §1's second study): draw
/// random candidates within the bounds, predict each one's peak and cascade width with their Monte
/// Carlo spread (`CandidateMap`, the int8 batched path for a `SynthesisModel`), score them
/// (`SuggestionObjective`), rank by the acquisition, and pick a batch of distinct experiments:
/// greedily the best, then the best at least `minimumDistance` away (Euclidean, normalized
/// OA/Cd, T, [Cd], [Se]; time does not make a different experiment) from every pick so far.
public struct BayesianOptimizer: Sendable {
    public var bounds: SearchBounds
    public var objective: SuggestionObjective
    public var acquisition: Acquisition
    public var minimumDistance: Double

    public init(bounds: SearchBounds, objective: SuggestionObjective, acquisition: Acquisition, minimumDistance: Double = 0.1) {
        precondition(minimumDistance >= 0, "distance ≥ 0")
        self.bounds = bounds
        self.objective = objective
        self.acquisition = acquisition
        self.minimumDistance = minimumDistance
    }

    /// Acquisition values of every candidate of `map`, and the scores' means and spreads (meV).
    public func acquisitionValues(_ map: CandidateMap) -> (acquisition: [Double], mean: [Double], spread: [Double]) {
        let count = map.peakMean.count
        precondition(map.fwhmMean.count == count, "the map needs the width")
        var mean = [Double](repeating: 0, count: count)
        var spread = mean
        for index in 0..<count {
            mean[index] = objective.score(peakEV: Double(map.peakMean[index]), fwhmEV: Double(map.fwhmMean[index]))
            spread[index] = objective.spread(
                peakSD: Double(map.peakStandardDeviation[index]), fwhmSD: Double(map.fwhmStandardDeviation[index]))
        }
        switch acquisition {
        case .upperConfidenceBound(let kappa):
            return ((0..<count).map { mean[$0] + kappa * spread[$0] }, mean, spread)
        case .expectedImprovement(let xi):
            let best = mean.max() ?? 0
            return (
                (0..<count).map { Acquisition.expectedImprovement(mean: mean[$0], spread: spread[$0], best: best, xi: xi) },
                mean, spread)
        }
    }

    /// Greedy distinct batch: indices of up to `count` candidates in decreasing acquisition, each
    /// at least `minimumDistance` from the earlier picks in the first four normalized inputs, and
    /// each accepted by `accept`.
    public func pickDistinct(
        acquisition: [Double], candidates: FeatureMatrix, count: Int, accept: (Int) -> Bool = { _ in true }
    ) -> [Int] {
        precondition(acquisition.count == candidates.rowCount, "one value per candidate")
        let order = acquisition.indices.sorted { acquisition[$0] != acquisition[$1] ? acquisition[$0] > acquisition[$1] : $0 < $1 }
        var picks: [Int] = []
        let limit = minimumDistance * minimumDistance
        for index in order where picks.count < count {
            let far = picks.allSatisfy { pick in
                var squared = 0.0
                for input in 0..<4 {
                    let d = Double(candidates[index, input] - candidates[pick, input])
                    squared += d * d
                }
                return squared >= limit
            }
            if far && accept(index) { picks.append(index) }
        }
        return picks
    }

    /// Suggests `count` distinct experiments from `candidateCount` random candidates (seeded);
    /// `map` predicts the candidates (e.g. `CandidateMap.compute` of a model on the int8 path).
    public func suggest(
        count: Int, candidateCount: Int, seed: UInt64, map: (FeatureMatrix) -> CandidateMap
    ) -> [Suggestion] {
        precondition(count >= 1 && candidateCount >= count, "at least one pick, at least as many candidates")
        let candidates = bounds.candidates(count: candidateCount, seed: seed)
        let predicted = map(candidates)
        let values = acquisitionValues(predicted)
        var conditions: [Int: SynthesisConditions] = [:]
        let picks = pickDistinct(acquisition: values.acquisition, candidates: candidates, count: count) { index in
            guard let physical = bounds.conditions(normalized: candidates.row(index)) else { return false }
            conditions[index] = physical
            return true
        }
        return picks.map { index in
            Suggestion(
                conditions: conditions[index]!,
                peakEV: UncertainValue(mean: Double(predicted.peakMean[index]), standardDeviation: Double(predicted.peakStandardDeviation[index])),
                fwhmEV: UncertainValue(mean: Double(predicted.fwhmMean[index]), standardDeviation: Double(predicted.fwhmStandardDeviation[index])),
                score: UncertainValue(mean: values.mean[index], standardDeviation: values.spread[index]),
                acquisition: values.acquisition[index], candidate: index)
        }
    }

    /// The suggestions as a campaign file (the keys Sources/Campaign reads: `[campaign]` name,
    /// one `[[experiment]]` per pick with cd_mm, se_mm, oa_cd, temperature_c); the predictions are
    /// comments.
    public static func campaignTOML(_ suggestions: [Suggestion], name: String = "suggested", header: [String] = []) -> String {
        func number(_ value: Double) -> String {
            let rounded = (value * 100).rounded() / 100
            return rounded == rounded.rounded() && abs(rounded) < 1e15 ? String(Int64(rounded)) + ".0" : String(rounded)
        }
        var lines = header.map { "# " + $0 }
        lines.append("[campaign]")
        lines.append("name = \"\(name)\"")
        for suggestion in suggestions {
            let c = suggestion.conditions
            lines.append("")
            lines.append("[[experiment]]")
            lines.append("# predicted at t = \(number(c.timeS)) s: peak \(number(suggestion.peakNM)) nm "
                + "(± \(number(1000 * suggestion.peakEV.standardDeviation)) meV), FWHM \(number(suggestion.fwhmNM)) nm, "
                + "score \(number(suggestion.score.mean)) ± \(number(suggestion.score.standardDeviation)) meV")
            lines.append("cd_mm = \(number(c.cadmiumMM))")
            lines.append("se_mm = \(number(c.seleniumMM))")
            lines.append("oa_cd = \(number(c.oleicAcidRatio))")
            lines.append("temperature_c = \(number(c.temperatureC))")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
