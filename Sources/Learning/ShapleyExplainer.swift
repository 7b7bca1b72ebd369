/// Exact Shapley values (Shapley 1953; as feature attributions, Lundberg & Lee, "A unified approach
/// to interpreting model predictions", NeurIPS 2017) of a model's prediction for one row, by
/// enumerating all 2^k coalitions of its k features, with the interventional value function
/// (Janzing et al. 2020): v(S) = mean over background rows b of f(x_S, b_not-S), the features in S
/// taken from the row explained, the others from the background row. Then
/// φᵢ = Σ_{S ⊆ N∖{i}} |S|!(k−|S|−1)!/k! · (v(S ∪ {i}) − v(S)), and Σφᵢ = f(x) − mean_b f(b)
/// (efficiency). k·2^k·|background| model rows per explained row: for k ≤ 10 only.
public struct ShapleyExplainer {
    /// The model: one output per row of `k` features. Called with batches of 2^k × |background| rows.
    public let model: (FeatureMatrix) -> [Double]
    public let background: FeatureMatrix

    public init(background: FeatureMatrix, model: @escaping (FeatureMatrix) -> [Double]) {
        precondition(background.rowCount > 0 && background.columnCount <= 10, "a background, at most 10 features")
        self.background = background
        self.model = model
    }

    public var featureCount: Int { background.columnCount }

    /// The value of every coalition (bit i of the index set: feature i from `row`), in the model's units.
    public func coalitionValues(_ row: [Float]) -> [Double] {
        let k = featureCount
        precondition(row.count == k, "\(k) features")
        let coalitions = 1 << k
        let b = background.rowCount
        var values = [Float](repeating: 0, count: coalitions * b * k)
        var position = 0
        for coalition in 0..<coalitions {
            for backgroundRow in 0..<b {
                for feature in 0..<k {
                    values[position] = coalition & (1 << feature) != 0 ? row[feature] : background[backgroundRow, feature]
                    position += 1
                }
            }
        }
        let outputs = model(FeatureMatrix(rowCount: coalitions * b, columnCount: k, values: values))
        precondition(outputs.count == coalitions * b, "one model output per row")
        return (0..<coalitions).map { coalition in
            var sum = 0.0
            for backgroundRow in 0..<b { sum += outputs[coalition * b + backgroundRow] }
            return sum / Double(b)
        }
    }

    /// The Shapley value of every feature for `row`.
    public func values(_ row: [Float]) -> [Double] {
        Self.shapley(coalitionValues: coalitionValues(row), featureCount: featureCount)
    }

    /// φ from the 2^k coalition values (index bit i: feature i present).
    public static func shapley(coalitionValues v: [Double], featureCount k: Int) -> [Double] {
        precondition(v.count == 1 << k, "2^k coalition values")
        // weight[s] = s!(k−s−1)!/k!
        var factorial = [Double](repeating: 1, count: k + 1)
        for n in stride(from: 1, through: k, by: 1) { factorial[n] = factorial[n - 1] * Double(n) }
        let weight = (0..<k).map { s in factorial[s] * factorial[k - s - 1] / factorial[k] }
        return (0..<k).map { feature in
            let bit = 1 << feature
            var phi = 0.0
            for coalition in 0..<(1 << k) where coalition & bit == 0 {
                phi += weight[coalition.nonzeroBitCount] * (v[coalition | bit] - v[coalition])
            }
            return phi
        }
    }

    /// Shapley values of many rows, with the base value E_b[f(b)] and each row's f(x).
    public func explain(_ rows: FeatureMatrix) -> ShapleyExplanation {
        precondition(rows.columnCount == featureCount, "\(featureCount) features")
        var result = ShapleyExplanation(values: [], baseValue: 0, predictions: [])
        for index in 0..<rows.rowCount {
            let v = coalitionValues(rows.row(index))
            result.baseValue = v[0]
            result.predictions.append(v[v.count - 1])
            result.values.append(Self.shapley(coalitionValues: v, featureCount: featureCount))
        }
        if rows.rowCount == 0 { result.baseValue = coalitionValues(background.row(0)).first ?? 0 }
        return result
    }
}

/// Shapley values of several rows.
public struct ShapleyExplanation: Sendable, Equatable {
    /// One array of k values per explained row.
    public var values: [[Double]]
    /// E_b[f(b)]: the prediction with no feature known.
    public var baseValue: Double
    /// f(x) of each explained row.
    public var predictions: [Double]

    /// Mean |φᵢ| over the explained rows, per feature: the global importance.
    public var meanAbsolute: [Double] {
        guard let first = values.first else { return [] }
        return first.indices.map { feature in values.reduce(0.0) { $0 + abs($1[feature]) } / Double(values.count) }
    }
}

/// The explanation's derived inputs (`aliquot explain --derived`): the stoichiometry [Se]/[Cd] and
/// the total precursor [Se]+[Cd] in place of [Cd] and [Se]. Features, in order: OA/Cd, T,
/// r = [Se]/[Cd], s = [Se]+[Cd] (mM), t. The map is one-to-one for [Cd] > 0: given (r, s),
/// [Cd] = s/(1 + r) and [Se] = s·r/(1 + r); so a coalition that fixes the ratio and takes the sum
/// from a background row (or the reverse) is a valid, physically meaningful pair of
/// concentrations, and the wrapper model is the synthesis model composed with this map.
public enum DerivedSynthesisFeatures {
    public static let names = ["OA_Cd_ratio", "T_reactor", "Se/Cd", "Se+Cd", "t_s"]

    /// The derived features of `conditions` ([Cd] must be positive).
    public static func features(_ conditions: SynthesisConditions) -> [Float] {
        precondition(conditions.cadmiumMM > 0, "[Se]/[Cd] needs [Cd] > 0")
        return [
            Float(conditions.oleicAcidRatio), Float(conditions.temperatureC),
            Float(conditions.seleniumMM / conditions.cadmiumMM), Float(conditions.seleniumMM + conditions.cadmiumMM),
            Float(conditions.timeS),
        ]
    }

    /// The raw conditions of one row of derived features.
    public static func conditions(_ row: UnsafePointer<Float>) -> SynthesisConditions {
        let ratio = Double(row[2])
        let sum = Double(row[3])
        let cadmium = sum / (1 + ratio)
        return SynthesisConditions(
            oleicAcidRatio: Double(row[0]), temperatureC: Double(row[1]), cadmiumMM: cadmium, seleniumMM: sum - cadmium,
            timeS: Double(row[4]))
    }

    /// Rows of derived features turned into rows of the model's normalized inputs.
    public static func normalizedInputs(_ derived: FeatureMatrix, normalization: Normalization) -> FeatureMatrix {
        precondition(derived.columnCount == 5, "five derived features")
        var result = FeatureMatrix(rowCount: 0, columnCount: 5)
        result.reserveCapacity(rows: derived.rowCount)
        derived.values.withUnsafeBufferPointer { values in
            for row in 0..<derived.rowCount {
                result.append(row: normalization.normalizedInputs(conditions(values.baseAddress! + row * 5)))
            }
        }
        return result
    }
}
