import Testing
@testable import Learning

/// The grouped cross-validation harness, with a stand-in model type plugged in.
struct CrossValidationTests {
    /// A baseline regressor: predicts the mean target of its training rows.
    struct MeanRegressor: Regressor {
        var mean: Float
        func predict(_ features: FeatureMatrix) -> [Float] { [Float](repeating: mean, count: features.rowCount) }
    }

    struct MeanTrainer: RegressorTrainer {
        func train(features: FeatureMatrix, targets: [Float], seed: UInt64) -> MeanRegressor {
            MeanRegressor(mean: targets.reduce(0, +) / Float(targets.count))
        }
    }

    @Test func foldsNeverSplitAnExperimentAndAreBalanced() throws {
        let dataset = try SynthesisDataset.load(path: dataFolder + "/uv_train_val.csv")
        let folds = GroupedCrossValidation.assignFolds(groups: dataset.experiments, folds: 10, seed: 1)
        var foldOf: [Int: Int] = [:]
        for (row, fold) in folds.enumerated() {
            let experiment = dataset.records[row].experiment
            if let known = foldOf[experiment] { #expect(known == fold) }
            foldOf[experiment] = fold
        }
        var sizes = [Int](repeating: 0, count: 10)
        for fold in folds { sizes[fold] += 1 }
        // Greedy balance: folds differ by at most one experiment's rows (20).
        #expect(sizes.max()! - sizes.min()! <= 20)
        #expect(folds == GroupedCrossValidation.assignFolds(groups: dataset.experiments, folds: 10, seed: 1))
        #expect(folds != GroupedCrossValidation.assignFolds(groups: dataset.experiments, folds: 10, seed: 2))
    }

    @Test func anyRegressorPlugsInAndIsScoredOutOfFold() throws {
        let full = try SynthesisDataset.load(path: dataFolder + "/pl_train_val.csv")
        let dataset = full.subset(Array(0..<600))
        let validation = GroupedCrossValidation(folds: 5, seed: 4, threads: 2)
        let result = try validation.run(dataset, trainer: TargetModelTrainer(trainer: MeanTrainer()))
        // Each row's prediction is the mean of the other folds' rows, computed here directly.
        let n = Normalization.published
        var absolute = 0.0
        for row in 0..<dataset.count {
            let others = (0..<dataset.count).filter { result.foldOfRow[$0] != result.foldOfRow[row] }
            let mean = others.map { Float(n.peakEV.normalize(dataset.records[$0].peakEV)) }.reduce(0, +) / Float(others.count)
            let predicted = n.peakEV.denormalize(Double(mean))
            #expect(abs(result.peakEV[row] - predicted) < 1e-6)
            absolute += abs(predicted - dataset.records[row].peakEV)
        }
        #expect(abs(result.report.peak.maeMeV - 1000 * absolute / Double(dataset.count)) < 1e-3)
        #expect(result.report.peak.r2 < 0.05)  // a constant explains nothing
        #expect(result.report.rows == 600 && result.report.folds == 5)
    }

    @Test func metricsFollowTheirDefinitions() {
        let records = [(2.0, 0.10), (2.5, 0.15), (3.0, 0.20)].enumerated().map { index, values in
            SynthesisRecord(
                line: index + 2, experiment: index, conditions: SynthesisConditions(values: [10, 240, 10, 10, 60]),
                peakNM: planckTimesLightEVNanometres / values.0, peakEV: values.0, fwhmNM: 30, fwhmEV: values.1, extrapolated: false)
        }
        let peak = RegressionMetrics.peak(predictedEV: [2.01, 2.5, 2.98], records: records)
        #expect(abs(peak.maeMeV - 10) < 1e-9)
        #expect(abs(peak.rmseMeV - (500.0 / 3).squareRoot() / 1000 * 1000) < 1e-9)
        // R² = 1 − (1e-4 + 0 + 4e-4) / 0.5
        #expect(abs(peak.r2 - (1 - 5e-4 / 0.5)) < 1e-12)
        let nm = (abs(planckTimesLightEVNanometres / 2.01 - planckTimesLightEVNanometres / 2)
            + abs(planckTimesLightEVNanometres / 2.98 - planckTimesLightEVNanometres / 3)) / 3
        #expect(abs(peak.maeNM - nm) < 1e-9)
        let width = RegressionMetrics.width(predictedEV: [0.11, 0.15, 0.20], records: records)
        #expect(abs(width.maeMeV - 10.0 / 3) < 1e-9)
        #expect(abs(width.maeNM - 0.01 * records[0].peakNM * records[0].peakNM / planckTimesLightEVNanometres / 3) < 1e-9)
    }
}
