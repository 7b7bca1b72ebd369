import Testing
@testable import Learning

/// Exact Shapley values: efficiency, the closed form for a linear model, symmetry, and the
/// derived-feature map.
struct ShapleyTests {
    /// Values on a 1/8 grid and integer weights: every sum below is exact in Float and Double.
    static func gridRows(_ count: Int, columns: Int, seed: UInt64) -> FeatureMatrix {
        var random = LearningRandom(seed: seed)
        return FeatureMatrix(rowCount: count, columnCount: columns, values: (0..<count * columns).map { _ in Float(random.nextIndex(below: 17)) / 8 })
    }

    @Test func linearModelGetsWeightTimesDistanceFromTheBackgroundMean() {
        let weights: [Float] = [3, -2, 0, 5, 1]
        let background = Self.gridRows(16, columns: 5, seed: 1)
        let explainer = ShapleyExplainer(background: background) { rows in
            (0..<rows.rowCount).map { row in Double((0..<5).reduce(Float(7)) { $0 + weights[$1] * rows[row, $1] }) }
        }
        let explained = Self.gridRows(6, columns: 5, seed: 2)
        let explanation = explainer.explain(explained)
        for row in 0..<6 {
            for feature in 0..<5 {
                let mean = (0..<16).reduce(0.0) { $0 + Double(background[$1, feature]) } / 16
                let expected = Double(weights[feature]) * (Double(explained[row, feature]) - mean)
                #expect(abs(explanation.values[row][feature] - expected) < 1e-12)
            }
            // A feature the model ignores gets exactly nothing.
            #expect(explanation.values[row][2] == 0)
        }
    }

    @Test(arguments: [1, 2, 3, 5, 6])
    func efficiencyOnANonlinearModel(features k: Int) {
        // Interactions and a kink, so coalitions matter.
        let model = { (rows: FeatureMatrix) -> [Double] in
            (0..<rows.rowCount).map { row in
                var value = 0.5
                for i in 0..<k { value += Double(rows[row, i]) * Double(i + 1) }
                if k > 1 { value += 3 * Double(rows[row, 0] * rows[row, 1]) }
                if k > 2 { value += Double(max(0, rows[row, 2] - 0.5)) * 4 }
                return value
            }
        }
        let background = randomFeatures(rows: 25, columns: k, seed: 3)
        let explainer = ShapleyExplainer(background: background, model: model)
        let explained = randomFeatures(rows: 8, columns: k, seed: 4)
        let explanation = explainer.explain(explained)
        let base = model(background).reduce(0, +) / 25
        #expect(abs(explanation.baseValue - base) < 1e-12)
        for row in 0..<8 {
            let fx = model(explained.rows([row]))[0]
            #expect(abs(explanation.predictions[row] - fx) < 1e-12)
            #expect(abs(explanation.values[row].reduce(0, +) - (fx - base)) < 1e-12)
        }
    }

    @Test func duplicatedFeaturesOfASymmetricModelShareEqually() {
        // Columns 0 and 1 hold the same values; the model treats them alike.
        func duplicate(_ matrix: FeatureMatrix) -> FeatureMatrix {
            var copy = matrix
            for row in 0..<matrix.rowCount { copy[row, 1] = matrix[row, 0] }
            return copy
        }
        let background = duplicate(randomFeatures(rows: 20, columns: 4, seed: 5))
        let explainer = ShapleyExplainer(background: background) { rows in
            (0..<rows.rowCount).map { row in
                let s = Double(rows[row, 0] + rows[row, 1])
                return s * s * Double(rows[row, 2]) + Double(rows[row, 3])
            }
        }
        let explanation = explainer.explain(duplicate(randomFeatures(rows: 5, columns: 4, seed: 6)))
        for values in explanation.values {
            #expect(abs(values[0] - values[1]) < 1e-12)
            #expect(abs(values[0]) > 1e-3)
        }
    }

    @Test func shapleyWeightsOfTwoFeaturesByHand() {
        // v(∅) = 0, v({0}) = 1, v({1}) = 2, v({0,1}) = 7:
        // φ0 = ½(1 − 0) + ½(7 − 2) = 3, φ1 = ½(2 − 0) + ½(7 − 1) = 4.
        #expect(ShapleyExplainer.shapley(coalitionValues: [0, 1, 2, 7], featureCount: 2) == [3, 4])
    }

    @Test func derivedFeaturesMapBackToTheRawConcentrations() {
        let conditions = SynthesisConditions(oleicAcidRatio: 40, temperatureC: 240, cadmiumMM: 8, seleniumMM: 24, timeS: 120)
        let derived = DerivedSynthesisFeatures.features(conditions)
        #expect(derived == [40, 240, 3, 32, 120])
        let back = derived.withUnsafeBufferPointer { DerivedSynthesisFeatures.conditions($0.baseAddress!) }
        #expect(back == conditions)
        // A coalition mixing the ratio of one row with the sum of another: [Cd] = s/(1+r).
        let mixed: [Float] = [40, 240, 1, 20, 60]
        let recovered = mixed.withUnsafeBufferPointer { DerivedSynthesisFeatures.conditions($0.baseAddress!) }
        #expect(recovered.cadmiumMM == 10 && recovered.seleniumMM == 10)
        let normalized = DerivedSynthesisFeatures.normalizedInputs(FeatureMatrix(rows: [derived]), normalization: .logarithmic)
        #expect(normalized.row(0) == Normalization.logarithmic.normalizedInputs(conditions))
    }
}
