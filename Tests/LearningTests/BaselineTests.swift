import Testing
@testable import Learning

/// Ridge regression, the CART tree and the random forest, and all four algorithms in the grouped
/// cross-validation harness.
struct BaselineTests {
    @Test func ridgeOnOneColumnMatchesTheHandSolvedSystem() throws {
        // x = 0,1,2,3: mean 1.5, population variance 1.25; y = 1,3,2,5: mean 2.75.
        // Standardized z = (x − 1.5)/√1.25, Σz² = 4, Σz(y − ȳ) = 5.5/√1.25.
        // With λ = 1: w = (5.5/√1.25)/(4 + 1), so ŷ = 2.75 + w(x − 1.5)/√1.25 = 2.75 + 0.88(x − 1.5).
        let features = FeatureMatrix(rows: [[0], [1], [2], [3]])
        let model = try RidgeTrainer(lambda: 1).train(features: features, targets: [1, 3, 2, 5], seed: 0)
        let predicted = model.predict(FeatureMatrix(rows: [[0], [1.5], [4]]))
        #expect(abs(Double(predicted[0]) - (2.75 - 0.88 * 1.5)) < 1e-6)
        #expect(abs(Double(predicted[1]) - 2.75) < 1e-6)
        #expect(abs(Double(predicted[2]) - (2.75 + 0.88 * 2.5)) < 1e-6)
        #expect(abs(model.rawWeights.weights[0] - 0.88) < 1e-12)
        #expect(abs(model.rawWeights.intercept - (2.75 - 0.88 * 1.5)) < 1e-12)
    }

    @Test func ridgeOnTwoColumnsSolvesTheNormalEquations() throws {
        // Solved here independently by Cramer's rule on the standardized 2 × 2 system.
        let rows: [[Float]] = [[0, 1], [1, 0], [2, 2], [3, 1], [4, 3], [1, 2]]
        let y: [Float] = [1, 2, 4, 4, 7, 3]
        let lambda = 0.5
        let n = Double(rows.count)
        let means = (0..<2).map { c in rows.reduce(0.0) { $0 + Double($1[c]) } / n }
        let sds = (0..<2).map { c in (rows.reduce(0.0) { $0 + (Double($1[c]) - means[c]) * (Double($1[c]) - means[c]) } / n).squareRoot() }
        let yMean = y.reduce(0.0) { $0 + Double($1) } / n
        let z = rows.map { row in (0..<2).map { (Double(row[$0]) - means[$0]) / sds[$0] } }
        let a = z.reduce(0.0) { $0 + $1[0] * $1[0] } + lambda
        let b = z.reduce(0.0) { $0 + $1[0] * $1[1] }
        let d = z.reduce(0.0) { $0 + $1[1] * $1[1] } + lambda
        let r0 = zip(z, y).reduce(0.0) { $0 + $1.0[0] * (Double($1.1) - yMean) }
        let r1 = zip(z, y).reduce(0.0) { $0 + $1.0[1] * (Double($1.1) - yMean) }
        let determinant = a * d - b * b
        let expected = [(r0 * d - b * r1) / determinant, (a * r1 - b * r0) / determinant]
        let model = try RidgeTrainer(lambda: lambda).train(features: FeatureMatrix(rows: rows), targets: y, seed: 0)
        #expect(abs(model.standardizedWeights[0] - expected[0]) < 1e-12)
        #expect(abs(model.standardizedWeights[1] - expected[1]) < 1e-12)
        #expect(abs(model.intercept - yMean) < 1e-12)
    }

    @Test func ridgeWithoutPenaltyRecoversAnExactLinearLawAndRejectsCollinearColumns() throws {
        let features = randomFeatures(rows: 50, columns: 3, seed: 5)
        let targets = (0..<50).map { 0.25 + 2 * features[$0, 0] - 0.5 * features[$0, 1] + 0.125 * features[$0, 2] }
        let model = try RidgeTrainer(lambda: 0).train(features: features, targets: targets, seed: 0)
        let raw = model.rawWeights
        #expect(abs(raw.weights[0] - 2) < 1e-5 && abs(raw.weights[1] + 0.5) < 1e-5 && abs(raw.weights[2] - 0.125) < 1e-5)
        #expect(abs(raw.intercept - 0.25) < 1e-5)
        let duplicated = FeatureMatrix(rows: (0..<10).map { [Float($0), Float($0)] })
        #expect(throws: RidgeError.self) { try RidgeTrainer(lambda: 0).train(features: duplicated, targets: (0..<10).map(Float.init), seed: 0) }
    }

    /// y = 1 for x0 ≤ 0.5; else 2 for x1 ≤ 0.6, else 3 (x2 is noise the tree must ignore). The
    /// x0 split reduces the squared error most (¼·1.4² against 0.24·0.5² for x1 at 0.6).
    static func piecewise(_ x: [Float]) -> Float { x[0] <= 0.5 ? 1 : (x[1] <= 0.6 ? 2 : 3) }

    /// Points at least 0.05 away from both boundaries.
    static let clearPoints: [[Float]] = [[0.1, 0.9, 0.5], [0.2, 0.1, 0.2], [0.6, 0.2, 0.9], [0.9, 0.5, 0.1], [0.4, 0.7, 0.3], [0.8, 0.95, 0.6]]

    @Test func treeFindsThePiecewiseStructure() {
        let features = randomFeatures(rows: 2000, columns: 3, seed: 11)
        let targets = (0..<2000).map { Self.piecewise(features.row($0)) }
        let tree = DecisionTreeTrainer(maximumDepth: 4, minimumLeafRows: 1).train(features: features, targets: targets, seed: 0)
        #expect(tree.depth == 2)
        #expect(tree.leaves.count == 3)
        #expect(tree.nodes[0].feature == 0 && abs(tree.nodes[0].threshold - 0.5) < 0.01)
        let predicted = tree.predict(FeatureMatrix(rows: Self.clearPoints))
        #expect(predicted == Self.clearPoints.map(Self.piecewise))
    }

    @Test func treeRespectsDepthAndLeafLimits() {
        let features = randomFeatures(rows: 500, columns: 5, seed: 12)
        let targets = (0..<500).map { syntheticTarget(features.row($0)) }
        for (depth, leaf) in [(3, 1), (8, 20), (20, 7)] {
            let tree = DecisionTreeTrainer(maximumDepth: depth, minimumLeafRows: leaf).train(features: features, targets: targets, seed: 0)
            #expect(tree.depth <= depth)
            #expect(tree.leaves.allSatisfy { $0.rows >= leaf })
            #expect(tree.leaves.reduce(0) { $0 + Int($1.rows) } == 500)
        }
        // A leaf predicts the mean of its rows: a depth-0 tree is the overall mean.
        let stump = DecisionTreeTrainer(maximumDepth: 0).train(features: features, targets: targets, seed: 0)
        #expect(abs(Double(stump.nodes[0].value) - targets.reduce(0.0) { $0 + Double($1) } / 500) < 1e-6)
    }

    @Test func forestFindsThePiecewiseStructureAndIsSeeded() {
        let features = randomFeatures(rows: 2000, columns: 3, seed: 13)
        let targets = (0..<2000).map { Self.piecewise(features.row($0)) }
        let trainer = RandomForestTrainer(
            treeCount: 20, tree: DecisionTreeTrainer(maximumDepth: 12, minimumLeafRows: 1), featureFraction: 0.34, threads: 2)
        let forest = trainer.train(features: features, targets: targets, seed: 7)
        let predicted = forest.predict(FeatureMatrix(rows: Self.clearPoints))
        // One random feature per split can leave a tree's leaf impure near a boundary: allow one
        // tree in twenty to miss a point by one step.
        for (value, truth) in zip(predicted, Self.clearPoints.map(Self.piecewise)) { #expect(abs(value - truth) <= 0.051) }
        // One feature per split (0.34 × 3 rounded up), bootstrap rows: trees differ from each other.
        #expect(Set(forest.trees.map { $0.nodes[0].feature }).count > 1)
        // Same seed, other thread count: the same forest; another seed: another.
        var single = trainer
        single.threads = 1
        #expect(single.train(features: features, targets: targets, seed: 7) == forest)
        #expect(trainer.train(features: features, targets: targets, seed: 8) != forest)
    }

    /// A synthetic data set in the published schema: 40 experiments of 10 times each, conditions
    /// spread over the published ranges, peak and width given by `law` of the normalized inputs.
    static func syntheticDataset(_ law: ([Float]) -> (peak: Double, width: Double)) -> SynthesisDataset {
        var random = LearningRandom(seed: 21)
        var records: [SynthesisRecord] = []
        let n = Normalization.published
        for experiment in 0..<40 {
            let fixed = (0..<4).map { _ in Double(random.nextUnitFloat()) }
            for step in 0..<10 {
                let normalized = [fixed[0], fixed[1], fixed[2], fixed[3], Double(step) / 9]
                let conditions = SynthesisConditions(values: (0..<5).map { n.inputs[$0].denormalize(normalized[$0]) })
                let inputs = n.normalizedInputs(conditions)
                let (peakNorm, widthNorm) = law(inputs)
                let peakEV = n.peakEV.denormalize(peakNorm)
                let fwhmEV = n.fwhmEV.denormalize(widthNorm)
                records.append(SynthesisRecord(
                    line: records.count + 2, experiment: experiment, conditions: conditions,
                    peakNM: planckTimesLightEVNanometres / peakEV, peakEV: peakEV, fwhmNM: 20, fwhmEV: fwhmEV, extrapolated: false))
            }
        }
        return SynthesisDataset(file: "synthetic.csv", records: records, contentHash: "")
    }

    @Test func allFourAlgorithmsInTheHarness() throws {
        let validation = GroupedCrossValidation(folds: 4, seed: 3, threads: 2)
        // A linear law: ridge is exact, trees are not.
        let linear = Self.syntheticDataset { x in
            (0.2 + 0.3 * Double(x[1]) + 0.2 * Double(x[4]) - 0.1 * Double(x[0]), 0.3 + 0.2 * Double(x[2]))
        }
        let ridge = try validation.run(linear, trainer: TargetModelTrainer(trainer: RidgeTrainer(lambda: 1e-6)))
        let tree = try validation.run(linear, trainer: TargetModelTrainer(trainer: DecisionTreeTrainer()))
        let forest = try validation.run(
            linear, trainer: TargetModelTrainer(trainer: RandomForestTrainer(treeCount: 10, threads: 1)))
        let mlp = try validation.run(
            linear,
            trainer: TargetModelTrainer(trainer: NetworkTrainer(settings: TrainingSettings(epochs: 50, learningRate: 0.005), preparesForQuantization: false)))
        #expect(ridge.report.peak.maeMeV < 0.01)
        #expect(ridge.report.fwhmCascade.maeMeV < 0.01)
        // The peak spans 0.3 + 0.2 + 0.1 of the ~1.24 eV range (≈ 0.74 eV): the mean would miss by ~150 meV.
        #expect(tree.report.peak.maeMeV > 5 && tree.report.peak.maeMeV < 100)
        #expect(forest.report.peak.maeMeV < tree.report.peak.maeMeV)
        #expect(mlp.report.peak.maeMeV < 100 && mlp.report.peak.r2 > 0.5)
        // A step law in temperature (x1 ≤ 0.5): trees are near exact, ridge is not.
        let step = Self.syntheticDataset { x in (x[1] <= 0.5 ? 0.3 : 0.6, 0.4) }
        let ridgeStep = try validation.run(step, trainer: TargetModelTrainer(trainer: RidgeTrainer()))
        let treeStep = try validation.run(step, trainer: TargetModelTrainer(trainer: DecisionTreeTrainer()))
        let forestStep = try validation.run(step, trainer: TargetModelTrainer(trainer: RandomForestTrainer(treeCount: 10)))
        #expect(treeStep.report.peak.maeMeV < ridgeStep.report.peak.maeMeV / 5)
        #expect(forestStep.report.peak.maeMeV < ridgeStep.report.peak.maeMeV / 2)
        #expect(ridgeStep.report.peak.maeMeV > 50)
    }

    @Test func noiseAndSizeStudiesChangeOnlyTheTrainingRows() throws {
        let dataset = Self.syntheticDataset { x in (0.2 + 0.3 * Double(x[1]) + 0.2 * Double(x[4]), 0.3) }
        let ridge = TargetModelTrainer(trainer: RidgeTrainer(lambda: 1e-6))
        let clean = try GroupedCrossValidation(folds: 4, seed: 3).run(dataset, trainer: ridge)
        let noisy = try GroupedCrossValidation(folds: 4, seed: 3, targetNoise: 0.05).run(dataset, trainer: ridge)
        // Scored on clean targets: noise in training raises the error from ~0; a least-squares fit
        // averages noise of 5 % (~100 meV per row) down to a few meV over ~300 training rows.
        #expect(clean.report.peak.maeMeV < 0.01)
        #expect(noisy.report.peak.maeMeV > 0.5 && noisy.report.peak.maeMeV < 40)
        #expect(noisy.foldOfRow == clean.foldOfRow)
        // Data size: a quarter of the training experiments per fold (of 30: 8 experiments).
        let validation = GroupedCrossValidation(folds: 4, seed: 3, trainingFraction: 0.25)
        let foldOfRow = GroupedCrossValidation.assignFolds(groups: dataset.experiments, folds: 4, seed: 3)
        for fold in 0..<4 {
            let rows = validation.trainingRows(fold: fold, foldOfRow: foldOfRow, groups: dataset.experiments)
            let experiments = Set(rows.map { dataset.experiments[$0] })
            let available = Set(foldOfRow.indices.filter { foldOfRow[$0] != fold }.map { dataset.experiments[$0] })
            #expect(experiments.isSubset(of: available))
            #expect(experiments.count == Int((0.25 * Double(available.count)).rounded()))
            #expect(rows.count == experiments.count * 10)  // whole experiments
        }
    }

    @Test func gaussianDrawsHaveUnitVariance() {
        var random = LearningRandom(seed: 9)
        let draws = (0..<100_000).map { _ in random.nextGaussian() }
        let mean = draws.reduce(0, +) / Double(draws.count)
        let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws.count)
        #expect(abs(mean) < 0.01)
        #expect(abs(variance - 1) < 0.02)
        #expect(Double(draws.count(where: { abs($0) < 1 })) / Double(draws.count) > 0.68 - 0.01)
    }
}
