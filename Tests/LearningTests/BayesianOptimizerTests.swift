import Foundation
import Testing
@testable import Learning

/// Constraints, bounds, the acquisition functions and the batch picks of `aliquot suggest`.
struct BayesianOptimizerTests {
    @Test(arguments: [
        ("temp<=280", ConstraintVariable.temp, ConstraintRelation.lessOrEqual, 280.0),
        (" cd >= 5 ", .cd, .greaterOrEqual, 5),
        ("se<12.5", .se, .less, 12.5),
        ("oa_cd>10", .oaCd, .greater, 10),
        ("time==120", .time, .equal, 120),
        ("TEMP<=2.5e2", .temp, .lessOrEqual, 250),
    ])
    func constraintsParse(text: String, variable: ConstraintVariable, relation: ConstraintRelation, value: Double) throws {
        #expect(try SuggestionConstraint.parse(text) == SuggestionConstraint(variable: variable, relation: relation, value: value))
    }

    @Test(arguments: [
        ("temp<=abc", "'temp<=abc': \"abc\" is not a number"),
        ("pressure<=3", "'pressure<=3': unknown variable \"pressure\"; use one of cd, se, oa_cd, temp, time"),
        ("temp 280", "'temp 280': no comparison; write e.g. temp<=280 (one of <=, >=, <, >, ==)"),
        ("temp<=", "'temp<=': no number after <="),
        ("<=5", "'<=5': no variable before <=; use one of cd, se, oa_cd, temp, time"),
        ("temp<=inf", "'temp<=inf': inf is not a finite number"),
    ])
    func badConstraintsSayWhatIsWrong(text: String, message: String) {
        #expect(throws: ConstraintError.self) { try SuggestionConstraint.parse(text) }
        do {
            _ = try SuggestionConstraint.parse(text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func boundsNarrowAndRejectImpossibleConstraints() throws {
        let n = Normalization.logarithmic
        let bounds = try SearchBounds(normalization: n, constraints: [
            try SuggestionConstraint.parse("temp<=280"), try SuggestionConstraint.parse("cd>=10"), try SuggestionConstraint.parse("oa_cd==40"),
        ])
        #expect(bounds.upper[1] == 280 && bounds.lower[1] == 200)
        #expect(bounds.lower[2] == 10 && bounds.upper[2] == 50)
        #expect(bounds.lower[0] == 40 && bounds.upper[0] == 40)
        // Both precursors present in any suggestion (the campaign file needs cd_mm, se_mm > 0).
        #expect(bounds.lower[3] == 0.01 && bounds.upper[3] == 50)
        #expect(throws: ConstraintError.self) { try SearchBounds(normalization: n, constraints: [try SuggestionConstraint.parse("temp<=150")]) }
        #expect(throws: ConstraintError.self) {
            try SearchBounds(normalization: n, constraints: [try SuggestionConstraint.parse("cd>20"), try SuggestionConstraint.parse("cd<20")])
        }
        #expect(throws: ConstraintError.self) { try SearchBounds(normalization: n, constraints: [try SuggestionConstraint.parse("temp==400")]) }
    }

    @Test func expectedImprovementMatchesTheHandValue() {
        // μ = 1, f* = 0.5, σ = 0.5: z = 1, EI = 0.5·Φ(1) + 0.5·φ(1), Φ(1) = 0.8413447460685429,
        // φ(1) = 0.24197072451914337 (tables).
        let ei = Acquisition.expectedImprovement(mean: 1, spread: 0.5, best: 0.5)
        #expect(abs(ei - (0.5 * 0.8413447460685429 + 0.5 * 0.24197072451914337)) < 1e-12)
        // Below the best: μ = 0, f* = 1, σ = 1: z = −1, EI = −Φ(−1) + φ(1) = −0.15865525393145707 + 0.24197072451914337.
        #expect(abs(Acquisition.expectedImprovement(mean: 0, spread: 1, best: 1) - 0.0833154705876863) < 1e-12)
        // No spread: the plain improvement; ξ shifts the bar.
        #expect(Acquisition.expectedImprovement(mean: 3, spread: 0, best: 1) == 2)
        #expect(Acquisition.expectedImprovement(mean: 0.5, spread: 0, best: 1) == 0)
        #expect(abs(Acquisition.expectedImprovement(mean: 1, spread: 0.5, best: 0.25, xi: 0.25) - ei) < 1e-15)
    }

    @Test func objectiveScoresPeakMissAndWidthInMeV() {
        let objective = SuggestionObjective(targetPeakEV: 2.4, widthWeight: 0.5)
        #expect(abs(objective.score(peakEV: 2.41, fwhmEV: 0.1) - (-10 - 50)) < 1e-9)
        #expect(abs(objective.spread(peakSD: 0.003, fwhmSD: 0.008) - 5) < 1e-9)  // √(3² + (0.5·8)²)
        #expect(abs(SuggestionObjective(targetPeakNM: 520).targetPeakEV - planckTimesLightEVNanometres / 520) < 1e-15)
    }

    /// A synthetic "model": peak reaches the target at normalized (T, [Cd]) = (0.7, 0.4), width
    /// grows away from OA/Cd = 0.2; best score there. A constant spread of 2 meV (EI needs one).
    static func syntheticMap(_ candidates: FeatureMatrix, target: Double) -> CandidateMap {
        var peak: [Float] = []
        var width: [Float] = []
        for row in 0..<candidates.rowCount {
            let x = candidates.row(row).map(Double.init)
            peak.append(Float(target + (x[1] - 0.7) * (x[1] - 0.7) + 0.2 * abs(x[2] - 0.4)))
            width.append(Float(0.08 + 2 * (x[0] - 0.2) * (x[0] - 0.2)))
        }
        let spread = [Float](repeating: 0.002, count: candidates.rowCount)
        return CandidateMap(peakMean: peak, peakStandardDeviation: spread, fwhmMean: width, fwhmStandardDeviation: spread)
    }

    @Test(arguments: [Acquisition.upperConfidenceBound(kappa: 2), .expectedImprovement(xi: 0)])
    func suggestionLandsNearTheKnownOptimum(acquisition: Acquisition) throws {
        let target = 2.4
        let bounds = try SearchBounds(normalization: .published, constraints: [])
        let optimizer = BayesianOptimizer(
            bounds: bounds, objective: SuggestionObjective(targetPeakEV: target), acquisition: acquisition, minimumDistance: 0.1)
        let picks = optimizer.suggest(count: 4, candidateCount: 50_000, seed: 5) { Self.syntheticMap($0, target: target) }
        try #require(picks.count == 4)
        let best = Normalization.published.normalizedInputs(picks[0].conditions)
        #expect(abs(best[0] - 0.2) < 0.06)
        #expect(abs(best[1] - 0.7) < 0.06)
        #expect(abs(best[2] - 0.4) < 0.02)
        #expect(abs(picks[0].peakEV.mean - target) < 0.005)
        // Picks are distinct experiments: pairwise at least 0.1 apart in the first four inputs.
        let normalized = picks.map { Normalization.published.normalizedInputs($0.conditions) }
        for i in 0..<4 {
            for j in (i + 1)..<4 {
                let d = (0..<4).reduce(Float(0)) { $0 + (normalized[i][$1] - normalized[j][$1]) * (normalized[i][$1] - normalized[j][$1]) }
                #expect(d.squareRoot() >= 0.0999)
            }
        }
        // Scores are in decreasing order of acquisition.
        #expect(zip(picks, picks.dropFirst()).allSatisfy { $0.acquisition >= $1.acquisition })
    }

    @Test func picksRespectConstraintsEvenWhenTheOptimumIsOutside() throws {
        let target = 2.4
        let constraints = try ["temp<=250", "cd>=20", "oa_cd==40", "se<30"].map { try SuggestionConstraint.parse($0) }
        let bounds = try SearchBounds(normalization: .published, constraints: constraints)
        let optimizer = BayesianOptimizer(
            bounds: bounds, objective: SuggestionObjective(targetPeakEV: target), acquisition: .upperConfidenceBound(kappa: 2))
        let picks = optimizer.suggest(count: 8, candidateCount: 5000, seed: 6) { Self.syntheticMap($0, target: target) }
        #expect(picks.count == 8)
        for pick in picks {
            #expect(constraints.allSatisfy { $0.isSatisfied(by: pick.conditions) })
            #expect(pick.conditions.temperatureC <= 250 && pick.conditions.cadmiumMM >= 20 && pick.conditions.oleicAcidRatio == 40)
            // Rounded to 0.01.
            #expect(abs(pick.conditions.cadmiumMM * 100 - (pick.conditions.cadmiumMM * 100).rounded()) < 1e-6)
        }
        // The unconstrained optimum needs T at 0.7 of 200..310 = 277 °C: the picks sit at the bound.
        #expect(picks[0].conditions.temperatureC > 245)
    }

    @Test func uncertaintyDrivesUCB() throws {
        // Two candidates with equal mean score; UCB with κ > 0 prefers the uncertain one, κ = 0 the first.
        let candidates = FeatureMatrix(rows: [[0.1, 0.1, 0.1, 0.1, 0.5], [0.9, 0.9, 0.9, 0.9, 0.5]])
        let map = CandidateMap(peakMean: [2.4, 2.4], peakStandardDeviation: [0, 0.01], fwhmMean: [0.1, 0.1], fwhmStandardDeviation: [0, 0])
        let bounds = try SearchBounds(normalization: .published, constraints: [])
        let objective = SuggestionObjective(targetPeakEV: 2.4)
        let ucb = BayesianOptimizer(bounds: bounds, objective: objective, acquisition: .upperConfidenceBound(kappa: 2))
        let values = ucb.acquisitionValues(map)
        #expect(abs(values.acquisition[1] - (values.mean[1] + 2 * 10)) < 1e-6)
        #expect(ucb.pickDistinct(acquisition: values.acquisition, candidates: candidates, count: 1) == [1])
        let greedy = BayesianOptimizer(bounds: bounds, objective: objective, acquisition: .upperConfidenceBound(kappa: 0))
        #expect(greedy.pickDistinct(acquisition: greedy.acquisitionValues(map).acquisition, candidates: candidates, count: 1) == [0])
    }

    @Test func campaignFileHoldsExactlyTheCampaignKeys() throws {
        let suggestion = Suggestion(
            conditions: SynthesisConditions(oleicAcidRatio: 40, temperatureC: 240, cadmiumMM: 10, seleniumMM: 12.35, timeS: 120),
            peakEV: UncertainValue(mean: planckTimesLightEVNanometres / 520, standardDeviation: 0.002),
            fwhmEV: UncertainValue(mean: 0.1, standardDeviation: 0.001), score: UncertainValue(mean: -50, standardDeviation: 2),
            acquisition: -46, candidate: 3)
        let text = BayesianOptimizer.campaignTOML([suggestion, suggestion], header: ["made by a test"])
        let lines = text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
        #expect(lines == [
            "[campaign]", "name = \"suggested\"",
            "[[experiment]]", "cd_mm = 10.0", "se_mm = 12.35", "oa_cd = 40.0", "temperature_c = 240.0",
            "[[experiment]]", "cd_mm = 10.0", "se_mm = 12.35", "oa_cd = 40.0", "temperature_c = 240.0",
        ])
        #expect(text.hasPrefix("# made by a test\n[campaign]\n"))
    }

    @Test func suggestionsFromARealModelUseTheBatchedMap() throws {
        let constraints = [try SuggestionConstraint.parse("temp<=280")]
        let bounds = try SearchBounds(normalization: smallModel.normalization, constraints: constraints)
        let optimizer = BayesianOptimizer(
            bounds: bounds, objective: SuggestionObjective(targetPeakNM: 520), acquisition: .upperConfidenceBound(kappa: 2))
        let picks = optimizer.suggest(count: 3, candidateCount: 500, seed: 2) { rows in
            CandidateMap.compute(model: smallModel, candidates: rows, passes: 10, seed: 3, path: .int8, threads: 2)
        }
        #expect(picks.count == 3)
        // Each pick's prediction is the map's own for that candidate, recomputed here.
        let candidates = bounds.candidates(count: 500, seed: 2)
        let map = CandidateMap.compute(model: smallModel, candidates: candidates.rows([picks[0].candidate]), passes: 10, seed: 3, path: .int8, threads: 1)
        #expect(Double(map.peakMean[0]) == picks[0].peakEV.mean)
        #expect(picks.allSatisfy { $0.conditions.temperatureC <= 280 })
    }
}
