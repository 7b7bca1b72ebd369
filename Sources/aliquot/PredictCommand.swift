import ArgumentParser
import Learning

/// `aliquot predict`: peak and FWHM for given conditions, with Monte Carlo dropout spread.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict the peak and FWHM for synthesis conditions, with MC-dropout mean and spread.",
        discussion: """
            Runs the int8 path by default (--path float for the float one). Each row is the mean and standard \
            deviation of --passes Monte Carlo dropout passes (pass k runs ensemble member k mod K); the FWHM is \
            the cascade model fed each pass's peak. Conditions outside the model's ranges are predicted and \
            flagged as extrapolation.
            Example: aliquot predict --model uv.aqm --cd 10 --se 10 --oa-cd 40 --temp 240 --time 120
            """)

    @Option(help: "The model bundle (.aqm).")
    var model: String

    @Option(help: "Cadmium concentration, mM.")
    var cd: Double

    @Option(help: "Selenium concentration, mM.")
    var se: Double

    @Option(name: .customLong("oa-cd"), help: "Oleic acid to cadmium ratio.")
    var oaCd: Double

    @Option(help: "Reactor temperature, °C.")
    var temp: Double

    @Option(help: "Time after injection, s.")
    var time: Double?

    @Option(help: "Several times: 'all' (the 20 sampling times of a run, 10 to 600 s) or a comma-separated list.")
    var times: String?

    @Option(help: "Monte Carlo dropout passes.")
    var passes: Int = 100

    @Option(help: "Seed of the dropout masks.")
    var seed: UInt64 = 1

    @Option(help: "int8 or float.")
    var path: String = "int8"

    /// The sampling schedule of DESIGN.md §1.
    static let sampleTimes: [Double] = [10, 20, 30, 40, 50, 60, 80, 100, 120, 140, 160, 200, 240, 280, 330, 380, 450, 500, 550, 600]

    func validate() throws {
        guard (time == nil) != (times == nil) else { throw ValidationError("give either --time or --times") }
        guard passes >= 1 && passes <= 10_000 else { throw ValidationError("--passes must be 1 to 10000, got \(passes)") }
        guard InferencePath(rawValue: path) != nil else { throw ValidationError("--path must be int8 or float, got \(path)") }
        for (name, value) in [("--cd", cd), ("--se", se), ("--oa-cd", oaCd), ("--time", time ?? 0)] {
            guard value.isFinite && value >= 0 else { throw ValidationError("\(name) must be a number ≥ 0, got \(value)") }
        }
        guard temp.isFinite && temp > -273.15 else { throw ValidationError("--temp must be above absolute zero, got \(temp)") }
        _ = try timeList()
    }

    func timeList() throws -> [Double] {
        if let time { return [time] }
        guard let times else { return [] }
        if times == "all" { return Self.sampleTimes }
        return try times.split(separator: ",").map { text in
            guard let value = Double(text.trimmingCharacters()), value.isFinite, value >= 0 else {
                throw ValidationError("--times: '\(text)' is not a time ≥ 0 in seconds")
            }
            return value
        }
    }

    func run() throws {
        let bundle = try loadModel(model)
        let conditions = try timeList().map {
            SynthesisConditions(oleicAcidRatio: oaCd, temperatureC: temp, cadmiumMM: cd, seleniumMM: se, timeS: $0)
        }
        let predictor = SynthesisPredictor(
            model: bundle, path: InferencePath(rawValue: path)!, maximumRows: max(256, passes))
        let predictions = predictor.monteCarlo(conditions, passes: passes, seed: seed)
        print("\(model) (\(bundle.metadata.kind.rawValue)), \(path) path, \(passes) MC-dropout passes: "
            + "[Cd] \(cd) mM, [Se] \(se) mM, OA/Cd \(oaCd), T \(temp) °C")
        print(padded("t s", 7) + padded("peak nm", 9) + padded("peak eV", 9) + padded("± meV", 7) + padded("FWHM eV", 9)
            + padded("± meV", 7) + padded("FWHM nm", 9))
        let hc = planckTimesLightEVNanometres
        for (condition, prediction) in zip(conditions, predictions) {
            let peak = prediction.peakEV.mean
            let nm = hc / peak
            let width = prediction.fwhmCascadeEV.mean
            var line = padded(fixed(condition.timeS, 0), 7) + padded(fixed(nm, 1), 9) + padded(fixed(peak, 4), 9)
                + padded(fixed(1000 * prediction.peakEV.standardDeviation, 1), 7) + padded(fixed(width, 4), 9)
                + padded(fixed(1000 * prediction.fwhmCascadeEV.standardDeviation, 1), 7) + padded(fixed(width * nm * nm / hc, 1), 9)
            if !prediction.extrapolated.isEmpty { line += "  extrapolated" }
            print(line)
        }
        let outside = Set(predictions.flatMap(\.extrapolated))
        for (index, name) in Normalization.inputNames.enumerated() where outside.contains(name) {
            print("extrapolation: \(name) is outside the model's range \(bundle.normalization.rangeText(ofInput: index)); "
                + "no model extrapolated well on the published tests")
        }
    }
}

extension Substring {
    /// Without surrounding spaces.
    func trimmingCharacters() -> String {
        var text = self
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }
}
