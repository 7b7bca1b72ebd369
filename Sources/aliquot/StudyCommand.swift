import ArgumentParser
import Learning

/// `aliquot study`: the published robustness studies, as grouped cross-validation runs.
struct StudyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "study",
        abstract: "Noise study (noisy training targets) or data-size study (fewer experiments): CV MAE per level.",
        discussion: """
            --kind noise: every training fold's peak and FWHM targets (eV) are multiplied by (1 + ε), \
            ε ~ N(0, level²), for levels 0, 2.5, 5 and 10 %; the held-out rows are scored against their clean \
            values. --kind size: every fold trains on 100, 50, 25 and 12.5 % of its training experiments (whole \
            experiments, seeded) and is scored on its whole held-out fold. Same folds and seeds at every level.
            The default recipe is fast (one network per target, 60 epochs, 5 folds); --epochs 300 --ensemble 5 \
            --folds 10 is the full one.
            Example: aliquot study --data ../shared/data/cdse/uv_train_val.csv --kind noise
            """)

    @Option(help: "The data file (CSV, published schema).")
    var data: String

    @Option(help: "noise or size.")
    var kind: String

    @Option(help: "mlp, ridge, tree or forest.")
    var algorithm: String = "mlp"

    @OptionGroup var baseline: BaselineOptions

    @Option(help: "Training epochs per network (mlp).")
    var epochs: Int = 60

    @Option(help: "Networks per target (mlp).")
    var ensemble: Int = 1

    @Option(help: "Monte Carlo dropout passes of a point prediction (mlp).")
    var passes: Int = 10

    @Option(help: "Cross-validation folds, grouped by experiment.")
    var folds: Int = 5

    @Option(help: "Input scaling: log or published.")
    var scaling: String = "log"

    @Option(help: "Seed of folds, noise, experiment choice and training.")
    var seed: UInt64 = 1

    @Option(help: "Threads.")
    var threads: Int = 2

    func validate() throws {
        guard ["noise", "size"].contains(kind) else { throw ValidationError("--kind must be noise or size, got \(kind)") }
        guard LearningAlgorithm(rawValue: algorithm) != nil else {
            throw ValidationError("--algorithm must be mlp, ridge, tree or forest, got \(algorithm)")
        }
        try baseline.check()
        guard (1...100_000).contains(epochs) else { throw ValidationError("--epochs must be 1 to 100000, got \(epochs)") }
        guard (1...64).contains(ensemble) else { throw ValidationError("--ensemble must be 1 to 64, got \(ensemble)") }
        guard passes >= ensemble && passes <= 10_000 else { throw ValidationError("--passes must be --ensemble to 10000, got \(passes)") }
        guard (2...100).contains(folds) else { throw ValidationError("--folds must be 2 to 100, got \(folds)") }
        guard ["log", "published"].contains(scaling) else { throw ValidationError("--scaling must be log or published, got \(scaling)") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be 1 to 64, got \(threads)") }
    }

    func run() throws {
        let normalization: Normalization = scaling == "log" ? .logarithmic : .published
        let dataset: SynthesisDataset
        do {
            dataset = try SynthesisDataset.load(path: data, normalization: normalization, outOfRange: .reject)
        } catch {
            throw CommandFailure(error.description)
        }
        let chosen = LearningAlgorithm(rawValue: algorithm)!
        let mlp = SynthesisModel.trainer(
            settings: TrainingSettings(epochs: epochs), ensembleSize: ensemble, cascadeTraining: .measuredPeak, threads: 1,
            predictionPasses: passes, predictionSeed: seed)
        let levels: [(label: String, noise: Double, fraction: Double)] = kind == "noise"
            ? [("0 %", 0, 1), ("2.5 %", 0.025, 1), ("5 %", 0.05, 1), ("10 %", 0.10, 1)]
            : [("100 %", 0, 1), ("50 %", 0, 0.5), ("25 %", 0, 0.25), ("12.5 %", 0, 0.125)]
        print("\(data): \(dataset.count) rows, \(dataset.experimentCount) experiments; \(kind) study, "
            + (chosen == .mlp ? "mlp \(ensemble) x \(epochs) epochs, \(passes) MC passes" : baseline.recipe(chosen))
            + ", grouped \(folds)-fold CV")
        print(leftAligned(kind == "noise" ? "target noise" : "experiments", 14) + padded("peak MAE meV", 14)
            + padded("peak R²", 9) + padded("FWHM casc. MAE meV", 20) + padded("s", 7))
        for level in levels {
            let start = monotonicSeconds()
            let validation = GroupedCrossValidation(
                folds: folds, seed: seed, threads: threads, normalization: normalization, targetNoise: level.noise,
                trainingFraction: level.fraction)
            let result: CrossValidationResult
            do {
                result = try crossValidate(chosen, validation: validation, dataset: dataset, mlp: mlp, baseline: baseline, cascade: .measuredPeak)
            } catch {
                throw CommandFailure("cross-validation at \(level.label): \(error)")
            }
            let report = result.report
            print(leftAligned(level.label, 14) + padded(fixed(report.peak.maeMeV, 2), 14) + padded(fixed(report.peak.r2, 4), 9)
                + padded(fixed(report.fwhmCascade.maeMeV, 2), 20) + padded(fixed(monotonicSeconds() - start, 1), 7))
        }
    }
}
