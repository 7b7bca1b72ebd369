/// What the FWHM cascade model sees as its sixth input while it is trained. At prediction it
/// always sees the peak model's prediction.
public enum CascadeTraining: String, Sendable, Equatable {
    /// The measured peak (teacher forcing).
    case measuredPeak = "measured-peak"
    /// The peak model's own prediction on the training rows, as at prediction time.
    case predictedPeak = "predicted-peak"
}

/// The three models of one synthesis model: peak, FWHM from the five conditions ("direct"), and
/// FWHM from the conditions plus the predicted peak ("cascade"), all in normalized units.
public struct TargetModels<Model: Regressor>: Sendable {
    public var peak: Model
    public var fwhmDirect: Model
    public var fwhmCascade: Model

    public init(peak: Model, fwhmDirect: Model, fwhmCascade: Model) {
        self.peak = peak
        self.fwhmDirect = fwhmDirect
        self.fwhmCascade = fwhmCascade
    }

    /// Normalized predictions for each row of normalized inputs; the cascade gets the predicted peak.
    public func predict(_ features: FeatureMatrix) -> (peak: [Float], fwhmDirect: [Float], fwhmCascade: [Float]) {
        let peaks = peak.predict(features)
        return (peaks, fwhmDirect.predict(features), fwhmCascade.predict(features.appendingColumn(peaks)))
    }
}

/// Trains the three models of a synthesis model with any `RegressorTrainer` (the MLP, or a
/// baseline), on up to two threads.
public struct TargetModelTrainer<Trainer: RegressorTrainer>: Sendable {
    public var trainer: Trainer
    public var cascadeTraining: CascadeTraining

    public init(trainer: Trainer, cascadeTraining: CascadeTraining = .measuredPeak) {
        self.trainer = trainer
        self.cascadeTraining = cascadeTraining
    }

    public func train(
        features: FeatureMatrix, peakTargets: [Float], fwhmTargets: [Float], seed: UInt64, threads: Int = 1
    ) throws -> TargetModels<Trainer.Model> {
        let seeds = (0..<3).map { stream -> UInt64 in
            var random = LearningRandom.derived(seed: seed, stream: 10 + UInt64(stream))
            return random.next()
        }
        let trainer = self.trainer
        let peakSlot = ResultSlots<Result<Trainer.Model, any Error>>(count: 1)
        let directSlot = ResultSlots<Result<Trainer.Model, any Error>>(count: 1)
        // The peak and the direct width model are independent; the cascade may need the peak model.
        parallelFor(count: 2, threads: threads) { job in
            if job == 0 {
                peakSlot.set(0, Result { try trainer.train(features: features, targets: peakTargets, seed: seeds[0]) })
            } else {
                directSlot.set(0, Result { try trainer.train(features: features, targets: fwhmTargets, seed: seeds[1]) })
            }
        }
        let peak = try peakSlot.get(0)!.get()
        let direct = try directSlot.get(0)!.get()
        let sixth = cascadeTraining == .measuredPeak ? peakTargets : peak.predict(features)
        let cascade = try trainer.train(features: features.appendingColumn(sixth), targets: fwhmTargets, seed: seeds[2])
        return TargetModels(peak: peak, fwhmDirect: direct, fwhmCascade: cascade)
    }
}

/// Cross-validation accuracy of a synthesis model: peak, direct FWHM and cascade FWHM.
public struct CrossValidationReport: Sendable, Equatable {
    public var folds: Int
    public var rows: Int
    public var experiments: Int
    public var peak: RegressionMetrics
    public var fwhmDirect: RegressionMetrics
    public var fwhmCascade: RegressionMetrics

    public init(folds: Int, rows: Int, experiments: Int, peak: RegressionMetrics, fwhmDirect: RegressionMetrics, fwhmCascade: RegressionMetrics) {
        self.folds = folds
        self.rows = rows
        self.experiments = experiments
        self.peak = peak
        self.fwhmDirect = fwhmDirect
        self.fwhmCascade = fwhmCascade
    }
}

/// The out-of-fold predictions (eV) behind a report: every row predicted by the models of the
/// fold that did not see its experiment.
public struct CrossValidationResult: Sendable {
    public var report: CrossValidationReport
    public var foldOfRow: [Int]
    public var peakEV: [Double]
    public var fwhmDirectEV: [Double]
    public var fwhmCascadeEV: [Double]
}

/// K-fold cross-validation grouped by experiment (`Expt. No`): all rows of one experiment fall in
/// the same fold, so a model is always scored on experiments it never saw (as scikit-learn's
/// GroupKFold). Any `RegressorTrainer` plugs in.
public struct GroupedCrossValidation: Sendable {
    public var folds: Int
    public var seed: UInt64
    public var threads: Int
    public var normalization: Normalization

    public init(folds: Int = 10, seed: UInt64 = 1, threads: Int = 2, normalization: Normalization = .published) {
        precondition(folds >= 2, "at least two folds")
        self.folds = folds
        self.seed = seed
        self.threads = threads
        self.normalization = normalization
    }

    /// The fold of every row. Experiments are dealt largest first (ties in a seeded random order)
    /// to the fold with the fewest rows so far, so folds are balanced in rows.
    public static func assignFolds(groups: [Int], folds: Int, seed: UInt64) -> [Int] {
        var sizes: [Int: Int] = [:]
        for group in groups { sizes[group, default: 0] += 1 }
        precondition(sizes.count >= folds, "at least one experiment per fold: \(sizes.count) experiments, \(folds) folds")
        var order = sizes.keys.sorted()
        var random = LearningRandom(seed: seed)
        random.shuffle(&order)
        let rank = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        order.sort { sizes[$0]! != sizes[$1]! ? sizes[$0]! > sizes[$1]! : rank[$0]! < rank[$1]! }
        var load = [Int](repeating: 0, count: folds)
        var foldOfGroup: [Int: Int] = [:]
        for group in order {
            let lightest = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            foldOfGroup[group] = lightest
            load[lightest] += sizes[group]!
        }
        return groups.map { foldOfGroup[$0]! }
    }

    /// Trains the three models on every fold's training rows (folds spread over `threads`) and
    /// scores the out-of-fold predictions.
    public func run<Trainer: RegressorTrainer>(
        _ dataset: SynthesisDataset, trainer: TargetModelTrainer<Trainer>
    ) throws -> CrossValidationResult {
        let foldOfRow = Self.assignFolds(groups: dataset.experiments, folds: folds, seed: seed)
        let features = dataset.features(normalization)
        let peakTargets = dataset.peakTargets(normalization)
        let fwhmTargets = dataset.fwhmTargets(normalization)
        let slots = ResultSlots<Result<(test: [Int], peak: [Float], direct: [Float], cascade: [Float]), any Error>>(count: folds)
        let foldSeeds = (0..<folds).map { fold -> UInt64 in
            var random = LearningRandom.derived(seed: seed, stream: 1000 + UInt64(fold))
            return random.next()
        }
        parallelFor(count: folds, threads: threads) { fold in
            let trainRows = foldOfRow.indices.filter { foldOfRow[$0] != fold }
            let testRows = foldOfRow.indices.filter { foldOfRow[$0] == fold }
            slots.set(
                fold,
                Result {
                    let models = try trainer.train(
                        features: features.rows(trainRows), peakTargets: trainRows.map { peakTargets[$0] },
                        fwhmTargets: trainRows.map { fwhmTargets[$0] },
                        seed: foldSeeds[fold])
                    let predicted = models.predict(features.rows(testRows))
                    return (testRows, predicted.peak, predicted.fwhmDirect, predicted.fwhmCascade)
                })
        }
        var peakEV = [Double](repeating: 0, count: dataset.count)
        var directEV = peakEV
        var cascadeEV = peakEV
        for fold in 0..<folds {
            let result = try slots.get(fold)!.get()
            for (slot, row) in result.test.enumerated() {
                peakEV[row] = normalization.peakEV.denormalize(Double(result.peak[slot]))
                directEV[row] = normalization.fwhmEV.denormalize(Double(result.direct[slot]))
                cascadeEV[row] = normalization.fwhmEV.denormalize(Double(result.cascade[slot]))
            }
        }
        let report = CrossValidationReport(
            folds: folds, rows: dataset.count, experiments: dataset.experimentCount,
            peak: .peak(predictedEV: peakEV, records: dataset.records),
            fwhmDirect: .width(predictedEV: directEV, records: dataset.records),
            fwhmCascade: .width(predictedEV: cascadeEV, records: dataset.records))
        return CrossValidationResult(
            report: report, foldOfRow: foldOfRow, peakEV: peakEV, fwhmDirectEV: directEV, fwhmCascadeEV: cascadeEV)
    }
}
