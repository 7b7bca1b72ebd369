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
    /// The noise study: relative Gaussian noise on the training targets only. Each training
    /// row's peak and FWHM (eV) become y·(1 + ε), ε ~ N(0, targetNoise²), drawn per fold from
    /// the seed; the held-out rows are scored against their clean values. 0: none.
    public var targetNoise: Double
    /// The data-size study: each fold trains on this fraction of its training experiments
    /// (whole experiments, a seeded random choice per fold, at least one), and is scored on
    /// its whole held-out fold. 1: all.
    public var trainingFraction: Double

    public init(
        folds: Int = 10, seed: UInt64 = 1, threads: Int = 2, normalization: Normalization = .published,
        targetNoise: Double = 0, trainingFraction: Double = 1
    ) {
        precondition(folds >= 2, "at least two folds")
        precondition(targetNoise >= 0 && targetNoise.isFinite, "noise ≥ 0")
        precondition(trainingFraction > 0 && trainingFraction <= 1, "training fraction in (0, 1]")
        self.folds = folds
        self.seed = seed
        self.threads = threads
        self.normalization = normalization
        self.targetNoise = targetNoise
        self.trainingFraction = trainingFraction
    }

    /// The training rows of `fold` after the data-size study's subsampling of experiments.
    func trainingRows(fold: Int, foldOfRow: [Int], groups: [Int]) -> [Int] {
        let all = foldOfRow.indices.filter { foldOfRow[$0] != fold }
        guard trainingFraction < 1 else { return all }
        var experiments = Array(Set(all.map { groups[$0] })).sorted()
        var random = LearningRandom.derived(seed: seed, stream: 3000 + UInt64(fold))
        random.shuffle(&experiments)
        let kept = Set(experiments.prefix(max(1, Int((trainingFraction * Double(experiments.count)).rounded()))))
        return all.filter { kept.contains(groups[$0]) }
    }

    /// Normalized targets of `rows` with the noise study's relative noise (none when 0).
    func noisyTargets(_ targets: [Float], rows: [Int], range: FeatureRange, random: inout LearningRandom) -> [Float] {
        guard targetNoise > 0 else { return rows.map { targets[$0] } }
        return rows.map { row in
            let value = range.denormalize(Double(targets[row]))
            return Float(range.normalize(value * (1 + targetNoise * random.nextGaussian())))
        }
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
        let groups = dataset.experiments
        let normalization = self.normalization
        parallelFor(count: folds, threads: threads) { fold in
            let trainRows = trainingRows(fold: fold, foldOfRow: foldOfRow, groups: groups)
            let testRows = foldOfRow.indices.filter { foldOfRow[$0] == fold }
            var noise = LearningRandom.derived(seed: seed, stream: 4000 + UInt64(fold))
            let trainPeaks = noisyTargets(peakTargets, rows: trainRows, range: normalization.peakEV, random: &noise)
            let trainWidths = noisyTargets(fwhmTargets, rows: trainRows, range: normalization.fwhmEV, random: &noise)
            slots.set(
                fold,
                Result {
                    let models = try trainer.train(
                        features: features.rows(trainRows), peakTargets: trainPeaks, fwhmTargets: trainWidths,
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
