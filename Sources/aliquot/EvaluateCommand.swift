import ArgumentParser
import Learning

/// `aliquot evaluate`: a model's accuracy on a data file, float and int8 paths side by side.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Score a model bundle on a data file: peak and FWHM errors of the float and the int8 path.",
        discussion: """
            Predictions are the model's point predictions: Monte Carlo dropout means over the passes the bundle \
            records (the FWHM cascade fed the predicted peak), the same masks on both paths. Rows whose inputs lie outside the \
            model's ranges are an error unless --allow-extrapolation. --json prints one object \
            {"float": {...}, "int8": {...}} with peak_mae_mev, peak_r2, fwhm_mae_mev (direct), \
            fwhm_cascade_mae_mev, peak_mae_nm and n.
            Example: aliquot evaluate --model uv.aqm --data ../shared/data/cdse/uv_reproducibility.csv
            """)

    @Option(help: "The model bundle (.aqm).")
    var model: String

    @Option(help: "The data file (CSV, published schema).")
    var data: String

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Flag(help: "Keep rows outside the model's input ranges (scored, and counted as extrapolated).")
    var allowExtrapolation = false

    func run() throws {
        let bundle = try loadModel(model)
        let dataset: SynthesisDataset
        do {
            dataset = try SynthesisDataset.load(
                path: data, normalization: bundle.normalization, outOfRange: allowExtrapolation ? .flag : .reject)
        } catch {
            throw CommandFailure(error.description)
        }
        let features = dataset.features(bundle.normalization)
        var results: [(InferencePath, [String: Double], RegressionMetrics, RegressionMetrics, RegressionMetrics)] = []
        for path in InferencePath.allCases {
            let predicted = SynthesisPredictor(model: bundle, path: path).predictPoints(features)
            let peak = RegressionMetrics.peak(
                predictedEV: predicted.peak.map { bundle.normalization.peakEV.denormalize(Double($0)) }, records: dataset.records)
            let direct = RegressionMetrics.width(
                predictedEV: predicted.fwhmDirect.map { bundle.normalization.fwhmEV.denormalize(Double($0)) }, records: dataset.records)
            let cascade = RegressionMetrics.width(
                predictedEV: predicted.fwhmCascade.map { bundle.normalization.fwhmEV.denormalize(Double($0)) },
                records: dataset.records)
            let values: [String: Double] = [
                "peak_mae_mev": peak.maeMeV, "peak_r2": peak.r2, "fwhm_mae_mev": direct.maeMeV,
                "fwhm_cascade_mae_mev": cascade.maeMeV, "peak_mae_nm": peak.maeNM, "n": Double(peak.count),
            ]
            results.append((path, values, peak, direct, cascade))
        }
        if json {
            let keys = ["peak_mae_mev", "peak_r2", "fwhm_mae_mev", "fwhm_cascade_mae_mev", "peak_mae_nm", "n"]
            let objects = results.map { path, values, _, _, _ in
                "\"\(path.rawValue)\": {" + keys.map { key in
                    "\"\(key)\": " + (key == "n" ? String(Int(values[key]!)) : jsonNumber(values[key]!))
                }.joined(separator: ", ") + "}"
            }
            print("{" + objects.joined(separator: ", ") + "}")
            return
        }
        print("\(model) (\(bundle.metadata.kind.rawValue), ensemble of \(bundle.metadata.ensembleSize)) on \(data): "
            + "\(dataset.count) rows, \(dataset.experimentCount) experiments"
            + (dataset.extrapolatedCount > 0 ? ", \(dataset.extrapolatedCount) extrapolated" : ""))
        for (path, _, peak, direct, cascade) in results {
            print("")
            print("\(path.rawValue) path:")
            printMetricsTable([("peak", peak), ("FWHM direct", direct), ("FWHM cascade", cascade)])
        }
    }
}

/// A finite number as JSON (non-finite values, which JSON cannot hold, as null).
func jsonNumber(_ value: Double) -> String {
    value.isFinite ? String(value) : "null"
}
