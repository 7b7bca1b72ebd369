import ArgumentParser
import Learning

/// `aliquot explain`: exact Shapley-value feature importance of a model's peak (or width).
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explain",
        abstract: "Feature importance of a model: exact Shapley values, mean |SHAP| per input in meV.",
        discussion: """
            Picks --samples rows of the data file to explain and --background rows as the background sample \
            (both seeded, without replacement). For every explained row it evaluates the model on all 2^5 = 32 \
            coalitions of the five inputs against every background row (interventional value function: inputs \
            outside the coalition come from the background row) and computes the exact Shapley values. The model \
            is the bundle's float ensemble mean with dropout off (--path int8 for the integer path). Prints the \
            mean |SHAP| per input in meV, largest first.
            --derived explains a wrapper model over OA/Cd, T, [Se]/[Cd], [Se]+[Cd] and t: the ratio r and sum s \
            map back to [Cd] = s/(1+r), [Se] = s·r/(1+r) before the model is called (one-to-one for [Cd] > 0; \
            rows with [Cd] = 0 are left out).
            Example: aliquot explain --model Firmware/models/cdse-absorbance.aqm --data ../shared/data/cdse/uv_train_val.csv
            """)

    @Option(help: "The model bundle (.aqm).")
    var model: String

    @Option(help: "The data file (CSV, published schema) to draw the explained and background rows from.")
    var data: String

    @Option(help: "Background rows.")
    var background: Int = 100

    @Option(help: "Rows explained.")
    var samples: Int = 200

    @Flag(help: "Explain the derived inputs [Se]/[Cd] and [Se]+[Cd] instead of [Cd] and [Se].")
    var derived = false

    @Option(help: "peak, or fwhm (the cascade width, fed the predicted peak).")
    var target: String = "peak"

    @Option(help: "float or int8.")
    var path: String = "float"

    @Option(help: "Seed of the row choice.")
    var seed: UInt64 = 1

    func validate() throws {
        guard (1...2000).contains(background) else { throw ValidationError("--background must be 1 to 2000, got \(background)") }
        guard (1...100_000).contains(samples) else { throw ValidationError("--samples must be 1 to 100000, got \(samples)") }
        guard ["peak", "fwhm"].contains(target) else { throw ValidationError("--target must be peak or fwhm, got \(target)") }
        guard InferencePath(rawValue: path) != nil else { throw ValidationError("--path must be float or int8, got \(path)") }
    }

    func run() throws {
        let bundle = try loadModel(model)
        let normalization = bundle.normalization
        let dataset: SynthesisDataset
        do {
            dataset = try SynthesisDataset.load(path: data, normalization: normalization, outOfRange: .flag)
        } catch {
            throw CommandFailure(error.description)
        }
        var usable = Array(dataset.records.indices)
        if derived { usable = usable.filter { dataset.records[$0].conditions.cadmiumMM > 0 } }
        guard usable.count >= 2 else { throw CommandFailure("\(data): fewer than two usable rows") }
        var random = LearningRandom(seed: seed)
        random.shuffle(&usable)
        let backgroundRows = Array(usable.prefix(min(background, usable.count)))
        var explainedRandom = LearningRandom.derived(seed: seed, stream: 1)
        var explainedPool = Array(dataset.records.indices.filter { !derived || dataset.records[$0].conditions.cadmiumMM > 0 })
        explainedRandom.shuffle(&explainedPool)
        let explainedRows = Array(explainedPool.prefix(min(samples, explainedPool.count)))

        func features(_ rows: [Int]) -> FeatureMatrix {
            FeatureMatrix(rows: rows.map { row in
                let conditions = dataset.records[row].conditions
                return derived ? DerivedSynthesisFeatures.features(conditions) : normalization.normalizedInputs(conditions)
            })
        }
        let predictor = SynthesisPredictor(model: bundle, path: InferencePath(rawValue: path)!, maximumRows: 4096)
        let peakSpan = normalization.peakEV.upper - normalization.peakEV.lower
        let widthSpan = normalization.fwhmEV.upper - normalization.fwhmEV.lower
        let peakOnly = target == "peak"
        let derivedInputs = derived
        // The model in meV of the target, on rows of the explained features.
        let explainer = ShapleyExplainer(background: features(backgroundRows)) { rows in
            let inputs = derivedInputs ? DerivedSynthesisFeatures.normalizedInputs(rows, normalization: normalization) : rows
            if peakOnly { return predictor.predictNormalizedPeak(inputs).map { 1000 * peakSpan * Double($0) } }
            return predictor.predictNormalized(inputs).fwhmCascade.map { 1000 * widthSpan * Double($0) }
        }
        let start = monotonicSeconds()
        let explanation = explainer.explain(features(explainedRows))
        let seconds = monotonicSeconds() - start
        let names = derived ? DerivedSynthesisFeatures.names : Normalization.inputNames
        let importance = explanation.meanAbsolute
        print("\(model) (\(bundle.metadata.kind.rawValue)), \(target == "peak" ? "peak" : "cascade FWHM"), \(path) path, "
            + "dropout off: exact Shapley values over all 32 coalitions")
        print("\(explainedRows.count) rows explained against \(backgroundRows.count) background rows of \(data) "
            + "(\(explainedRows.count * 32 * backgroundRows.count) model rows, \(fixed(seconds, 1)) s)")
        let lower = peakOnly ? normalization.peakEV.lower : normalization.fwhmEV.lower
        print("base value E[f(background)]: \(fixed(lower + explanation.baseValue / 1000, 4)) eV")
        print(leftAligned("input", 14) + padded("mean |SHAP| meV", 16))
        for index in importance.indices.sorted(by: { importance[$0] > importance[$1] }) {
            print(leftAligned(names[index], 14) + padded(fixed(importance[index], 2), 16))
        }
    }
}
