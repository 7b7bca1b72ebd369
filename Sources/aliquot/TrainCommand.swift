import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Learning

/// `aliquot train`: grouped cross-validation of the model recipe, then the model trained on all
/// the data, written as one bundle.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Cross-validate and train a peak/FWHM model on a data file; write a model bundle (.aqm).",
        discussion: """
            Reads a data file in the published CdSe schema (columns found by name), runs grouped k-fold \
            cross-validation (folds by Expt. No) of the peak, the direct FWHM and the cascade FWHM models and \
            prints their MAE and R² in meV and nm, then trains the same recipe on all rows, quantizes it to int8 \
            and writes one bundle atomically (temporary file + rename). A bad data file stops the command before \
            anything is written.
            --algorithm ridge|tree|forest cross-validates a baseline of the published comparison (ridge \
            regression on standardized inputs, a CART regression tree, a random forest) in the same harness \
            and prints the same table; baselines are not written as bundles (only the MLP has an int8 twin).
            Example: aliquot train --data ../shared/data/cdse/uv_train_val.csv --out uv.aqm
            """)

    @Option(help: "The data file (CSV, published schema).")
    var data: String

    @Option(help: "Where to write the model bundle (mlp only; required for it).")
    var out: String?

    @Option(help: "mlp (the published network), or a baseline: ridge, tree or forest (cross-validated only).")
    var algorithm: String = "mlp"

    @OptionGroup var baseline: BaselineOptions

    @Option(help: "absorbance, photoluminescence or unspecified. Default: from the file name (uv_/pl_).")
    var kind: String?

    @Option(help: "Networks per target (a deep ensemble; 1 is the plain published model).")
    var ensemble: Int = 5

    @Option(help: "Training epochs per network.")
    var epochs: Int = 300

    @Option(help: "Cross-validation folds, grouped by experiment; 0 skips cross-validation.")
    var folds: Int = 10

    @Option(help: "Input scaling: log (OA/Cd, [Cd], [Se], t logarithmic) or published (all linear).")
    var scaling: String = "log"

    @Option(help: "What the cascade model's sixth input is while it trains: measured-peak or predicted-peak.")
    var cascadeTraining: String = "measured-peak"

    @Option(help: "Activation precision of the integer path: narrow-int16 (int16 for the 5-wide tensors) or int8.")
    var precision: String = "narrow-int16"

    @Option(help: "Monte Carlo dropout passes of a point prediction (its mean), spread over the ensemble.")
    var passes: Int = 100

    @Option(help: "Seed of every random choice (folds, initialization, shuffling, dropout).")
    var seed: UInt64 = 1

    @Option(help: "Threads.")
    var threads: Int = 2

    func validate() throws {
        guard let chosen = LearningAlgorithm(rawValue: algorithm) else {
            throw ValidationError("--algorithm must be mlp, ridge, tree or forest, got \(algorithm)")
        }
        if chosen == .mlp && out == nil { throw ValidationError("--algorithm mlp needs --out (where to write the model bundle)") }
        if chosen != .mlp && out != nil {
            throw ValidationError("--out: only --algorithm mlp writes a model bundle; \(algorithm) is cross-validated only")
        }
        if chosen != .mlp && folds == 0 { throw ValidationError("--folds 0 leaves a baseline nothing to do") }
        try baseline.check()
        guard ensemble >= 1 && ensemble <= 64 else { throw ValidationError("--ensemble must be 1 to 64, got \(ensemble)") }
        guard epochs >= 1 && epochs <= 100_000 else { throw ValidationError("--epochs must be 1 to 100000, got \(epochs)") }
        guard folds == 0 || (folds >= 2 && folds <= 100) else { throw ValidationError("--folds must be 0 or 2 to 100, got \(folds)") }
        guard threads >= 1 && threads <= 64 else { throw ValidationError("--threads must be 1 to 64, got \(threads)") }
        guard passes >= ensemble && passes <= 10_000 else {
            throw ValidationError("--passes must be at least --ensemble (\(ensemble)) and at most 10000, got \(passes)")
        }
        guard ["log", "published"].contains(scaling) else { throw ValidationError("--scaling must be log or published, got \(scaling)") }
        guard CascadeTraining(rawValue: cascadeTraining) != nil else {
            throw ValidationError("--cascade-training must be measured-peak or predicted-peak, got \(cascadeTraining)")
        }
        guard ["narrow-int16", "int8"].contains(precision) else {
            throw ValidationError("--precision must be narrow-int16 or int8, got \(precision)")
        }
        if let kind, SpectrumKind(rawValue: kind) == nil {
            throw ValidationError("--kind must be absorbance, photoluminescence or unspecified, got \(kind)")
        }
    }

    func run() throws {
        let normalization: Normalization = scaling == "log" ? .logarithmic : .published
        let dataset: SynthesisDataset
        do {
            dataset = try SynthesisDataset.load(path: data, normalization: normalization, outOfRange: .reject)
        } catch {
            throw CommandFailure(error.description)
        }
        let spectrum = kind.flatMap(SpectrumKind.init(rawValue:)) ?? SpectrumKind.guess(fromPath: data)
        let cascade = CascadeTraining(rawValue: cascadeTraining)!
        let activation: ActivationPrecision = precision == "int8" ? .int8 : .narrowInt16
        let settings = TrainingSettings(epochs: epochs)
        print("\(data): \(dataset.count) rows, \(dataset.experimentCount) experiments, \(spectrum.rawValue)")
        print("recipe: \(ensemble) x [5 -> 5 relu -> 50 relu -> drop 0.1 -> 50 relu -> drop 0.1 -> 1] per target, "
            + "Adam 1e-3, batch 32, \(epochs) epochs, \(scaling) input scaling, cascade trained on \(cascadeTraining); "
            + "predictions: MC-dropout mean of \(passes) passes")

        let chosen = LearningAlgorithm(rawValue: algorithm)!
        if chosen != .mlp {
            let start = monotonicSeconds()
            let validation = GroupedCrossValidation(folds: folds, seed: seed, threads: threads, normalization: normalization)
            let result: CrossValidationResult
            do {
                result = try crossValidate(
                    chosen, validation: validation, dataset: dataset, mlp: nil, baseline: baseline, cascade: cascade)
            } catch {
                throw CommandFailure("cross-validation: \(error)")
            }
            print("baseline: \(baseline.recipe(chosen))")
            print("")
            print("grouped \(folds)-fold cross-validation (by Expt. No), \(chosen.rawValue), \(fixed(monotonicSeconds() - start, 1)) s:")
            printMetricsTable([
                ("peak", result.report.peak), ("FWHM direct", result.report.fwhmDirect),
                ("FWHM cascade", result.report.fwhmCascade),
            ])
            print("")
            print("no model bundle written: only --algorithm mlp writes one (baselines are for comparison)")
            return
        }
        guard let out else { throw CommandFailure("--out is required for --algorithm mlp") }

        var report: CrossValidationReport?
        if folds > 0 {
            let start = monotonicSeconds()
            let validation = GroupedCrossValidation(folds: folds, seed: seed, threads: threads, normalization: normalization)
            let trainer = SynthesisModel.trainer(
                settings: settings, ensembleSize: ensemble, cascadeTraining: cascade, threads: 1,
                quantization: QuantizationRecipe(precision: activation), predictionPasses: passes, predictionSeed: seed)
            let result: CrossValidationResult
            do { result = try validation.run(dataset, trainer: trainer) } catch { throw CommandFailure("cross-validation: \(error)") }
            report = result.report
            print("")
            print("grouped \(folds)-fold cross-validation (by Expt. No), \(fixed(monotonicSeconds() - start, 1)) s:")
            printMetricsTable([
                ("peak", result.report.peak), ("FWHM direct", result.report.fwhmDirect),
                ("FWHM cascade", result.report.fwhmCascade),
            ])
        }

        let start = monotonicSeconds()
        let model: SynthesisModel
        do {
            model = try SynthesisModel.train(
                dataset, normalization: normalization, settings: settings, ensembleSize: ensemble, cascadeTraining: cascade,
                quantization: QuantizationRecipe(precision: activation), predictionPasses: passes, predictionSeed: seed,
                seed: seed, threads: threads, kind: spectrum,
                createdUnixSeconds: Int64(time(nil)),
                crossValidation: report)
        } catch {
            throw CommandFailure("training: \(error)")
        }
        let trainSeconds = monotonicSeconds() - start
        // How far the integer path is from the float path on the training inputs: point predictions
        // (MC means, same masks) and single dropout-off passes.
        let features = dataset.features(normalization)
        let span = normalization.peakEV.upper - normalization.peakEV.lower
        func difference(_ a: [Float], _ b: [Float]) -> Double {
            1000 * span * zip(a, b).map { Double(abs($0 - $1)) }.reduce(0, +) / Double(a.count)
        }
        let floatPredictor = SynthesisPredictor(model: model, path: .float)
        let int8Predictor = SynthesisPredictor(model: model, path: .int8)
        let points = difference(floatPredictor.predictPoints(features).peak, int8Predictor.predictPoints(features).peak)
        let single = difference(floatPredictor.predictNormalized(features).peak, int8Predictor.predictNormalized(features).peak)
        print("")
        print("trained on all \(dataset.count) rows in \(fixed(trainSeconds, 1)) s (\(3 * ensemble) networks, \(threads) threads)")
        print("int8 vs float peak, mean |difference| on the training inputs: \(fixed(points, 3)) meV (point predictions), "
            + "\(fixed(single, 3)) meV (dropout off)")
        let bytes = ModelBundle.encode(model)
        do {
            try writeFileAtomically(path: out, bytes: bytes)
        } catch {
            throw CommandFailure(error.description)
        }
        print("wrote \(out): \(bytes.count) bytes (model bundle format \(ModelBundle.majorVersion).\(ModelBundle.minorVersion))")
    }
}

/// What `aliquot train --algorithm` and `aliquot study --algorithm` fit.
enum LearningAlgorithm: String, CaseIterable {
    case mlp, ridge, tree, forest
}

/// The baselines' settings.
struct BaselineOptions: ParsableArguments {
    @Option(help: "Ridge penalty λ on the standardized inputs.")
    var lambda: Double = 1

    @Option(help: "Trees of the random forest.")
    var trees: Int = 100

    @Option(help: "Maximum depth of a tree (default: 12 for tree, 16 for forest).")
    var maxDepth: Int?

    @Option(help: "Minimum training rows in a leaf (default: 5 for tree, 3 for forest).")
    var minLeaf: Int?

    func check() throws {
        guard lambda >= 0 && lambda.isFinite else { throw ValidationError("--lambda must be ≥ 0, got \(lambda)") }
        guard trees >= 1 && trees <= 10_000 else { throw ValidationError("--trees must be 1 to 10000, got \(trees)") }
        if let maxDepth, !(1...64).contains(maxDepth) { throw ValidationError("--max-depth must be 1 to 64, got \(maxDepth)") }
        if let minLeaf, !(1...10_000).contains(minLeaf) { throw ValidationError("--min-leaf must be 1 to 10000, got \(minLeaf)") }
    }

    func treeTrainer(forest: Bool) -> DecisionTreeTrainer {
        DecisionTreeTrainer(maximumDepth: maxDepth ?? (forest ? 16 : 12), minimumLeafRows: minLeaf ?? (forest ? 3 : 5))
    }

    func recipe(_ algorithm: LearningAlgorithm) -> String {
        switch algorithm {
        case .mlp: return "mlp"
        case .ridge: return "ridge regression, λ = \(lambda) on standardized inputs (closed form)"
        case .tree:
            let tree = treeTrainer(forest: false)
            return "CART regression tree, variance reduction, depth ≤ \(tree.maximumDepth), ≥ \(tree.minimumLeafRows) rows per leaf"
        case .forest:
            let tree = treeTrainer(forest: true)
            return "random forest, \(trees) trees on bootstrap samples, 60 % of the inputs per split, depth ≤ \(tree.maximumDepth), "
                + "≥ \(tree.minimumLeafRows) rows per leaf"
        }
    }
}

/// Grouped cross-validation of one algorithm (the MLP recipe given, or a baseline).
func crossValidate(
    _ algorithm: LearningAlgorithm, validation: GroupedCrossValidation, dataset: SynthesisDataset,
    mlp: TargetModelTrainer<MonteCarloEnsembleTrainer>?, baseline: BaselineOptions, cascade: CascadeTraining
) throws -> CrossValidationResult {
    switch algorithm {
    case .mlp:
        guard let mlp else { throw CommandFailure("no MLP recipe given") }
        return try validation.run(dataset, trainer: mlp)
    case .ridge:
        return try validation.run(dataset, trainer: TargetModelTrainer(trainer: RidgeTrainer(lambda: baseline.lambda), cascadeTraining: cascade))
    case .tree:
        return try validation.run(dataset, trainer: TargetModelTrainer(trainer: baseline.treeTrainer(forest: false), cascadeTraining: cascade))
    case .forest:
        let forest = RandomForestTrainer(treeCount: baseline.trees, tree: baseline.treeTrainer(forest: true), threads: 1)
        return try validation.run(dataset, trainer: TargetModelTrainer(trainer: forest, cascadeTraining: cascade))
    }
}

/// Seconds on CLOCK_MONOTONIC.
func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}

/// MAE/RMSE/R² rows in meV and nm.
func printMetricsTable(_ rows: [(String, RegressionMetrics)]) {
    print(leftAligned("", 14) + padded("MAE meV", 10) + padded("RMSE meV", 10) + padded("R²", 8) + padded("MAE nm", 9)
        + padded("R² nm", 8) + padded("n", 7))
    for (name, metrics) in rows {
        print(leftAligned(name, 14) + padded(fixed(metrics.maeMeV, 2), 10) + padded(fixed(metrics.rmseMeV, 2), 10)
            + padded(fixed(metrics.r2, 4), 8) + padded(fixed(metrics.maeNM, 2), 9) + padded(fixed(metrics.r2NM, 4), 8)
            + padded(String(metrics.count), 7))
    }
}
