import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif
import Learning

/// `aliquot suggest`: the next experiments by Bayesian optimization on Monte Carlo dropout predictions.
struct SuggestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suggest",
        abstract: "Propose the next experiments: reach a target peak with the smallest FWHM (Bayesian optimization).",
        discussion: """
            Draws --candidates random conditions (OA/Cd, T, [Cd], [Se], t) uniformly within the model's ranges \
            (uniform in log for its logarithmic inputs) narrowed by the constraints, predicts each one's peak and \
            cascade FWHM with --passes Monte Carlo dropout passes on the int8 batched path, and scores it in meV: \
            score = −|E_peak − E_target| − w·FWHM (w = --width-weight), spread √(σ_peak² + w²·σ_FWHM²). The \
            acquisition is ucb (mean + κ·spread) or ei (expected improvement over the best mean). The --n picks \
            are the best candidates at least --min-distance apart in normalized OA/Cd, T, [Cd], [Se] (distinct \
            experiments); the time is when the model expects the best score. Values are rounded to 0.01.
            Constraints: cd, se (mM), oa_cd, temp (°C), time (s) with <=, >=, <, >, ==, e.g. 'temp<=280'.
            --out writes the picks as a campaign file ([campaign] name, [[experiment]] cd_mm, se_mm, oa_cd, \
            temperature_c; predictions as comments).
            Example: aliquot suggest --model Firmware/models/cdse-absorbance.aqm --target-nm 520 --n 8 --constraint 'temp<=280'
            """)

    @Option(help: "The model bundle (.aqm).")
    var model: String

    @Option(help: "Target peak wavelength, nm.")
    var targetNm: Double

    @Option(help: "Experiments to suggest.")
    var n: Int = 8

    @Option(help: "A constraint such as 'temp<=280' (repeatable).")
    var constraint: [String] = []

    @Option(help: "Random candidates scored.")
    var candidates: Int = 1_000_000

    @Option(help: "ucb or ei.")
    var acquisition: String = "ucb"

    @Option(help: "κ of the upper confidence bound.")
    var kappa: Double = 2

    @Option(help: "ξ of the expected improvement, meV.")
    var xi: Double = 0

    @Option(help: "meV of peak miss worth one meV of FWHM.")
    var widthWeight: Double = 0.5

    @Option(help: "Minimum distance between picks in normalized OA/Cd, T, [Cd], [Se].")
    var minDistance: Double = 0.1

    @Option(help: "Monte Carlo dropout passes per candidate.")
    var passes: Int = 30

    @Option(help: "Write the picks as a campaign file (TOML).")
    var out: String?

    @Option(help: "Seed of the candidates and the dropout masks.")
    var seed: UInt64 = 1

    @Option(help: "Threads.")
    var threads: Int = 2

    func validate() throws {
        guard targetNm.isFinite && targetNm > 0 else { throw ValidationError("--target-nm must be a positive wavelength, got \(targetNm)") }
        guard (1...1000).contains(n) else { throw ValidationError("--n must be 1 to 1000, got \(n)") }
        guard candidates >= n && candidates <= 20_000_000 else {
            throw ValidationError("--candidates must be --n (\(n)) to 20000000, got \(candidates)")
        }
        guard ["ucb", "ei"].contains(acquisition) else { throw ValidationError("--acquisition must be ucb or ei, got \(acquisition)") }
        guard kappa.isFinite && kappa >= 0 else { throw ValidationError("--kappa must be ≥ 0, got \(kappa)") }
        guard xi.isFinite && xi >= 0 else { throw ValidationError("--xi must be ≥ 0, got \(xi)") }
        guard widthWeight.isFinite && widthWeight >= 0 else { throw ValidationError("--width-weight must be ≥ 0, got \(widthWeight)") }
        guard minDistance.isFinite && minDistance >= 0 else { throw ValidationError("--min-distance must be ≥ 0, got \(minDistance)") }
        guard (1...10_000).contains(passes) else { throw ValidationError("--passes must be 1 to 10000, got \(passes)") }
        guard (1...64).contains(threads) else { throw ValidationError("--threads must be 1 to 64, got \(threads)") }
        for text in constraint {
            do { _ = try SuggestionConstraint.parse(text) } catch { throw ValidationError(error.description) }
        }
    }

    func run() throws {
        let bundle = try loadModel(model)
        let bounds: SearchBounds
        do {
            bounds = try SearchBounds(normalization: bundle.normalization, constraints: try constraint.map { text throws(ConstraintError) in
                try SuggestionConstraint.parse(text)
            })
        } catch {
            throw CommandFailure(error.description)
        }
        let objective = SuggestionObjective(targetPeakNM: targetNm, widthWeight: widthWeight)
        let optimizer = BayesianOptimizer(
            bounds: bounds, objective: objective,
            acquisition: acquisition == "ucb" ? .upperConfidenceBound(kappa: kappa) : .expectedImprovement(xi: xi),
            minimumDistance: minDistance)
        let start = monotonicSeconds()
        let passes = self.passes
        let seed = self.seed
        let threads = self.threads
        let picks = optimizer.suggest(count: n, candidateCount: candidates, seed: seed) { rows in
            CandidateMap.compute(model: bundle, candidates: rows, passes: passes, seed: seed &+ 1, path: .int8, threads: threads)
        }
        let seconds = monotonicSeconds() - start
        let acquisitionText = acquisition == "ucb" ? "UCB, κ = \(kappa)" : "EI, ξ = \(xi) meV"
        print("\(model) (\(bundle.metadata.kind.rawValue)): target \(shortText(targetNm)) nm "
            + "(\(fixed(objective.targetPeakEV, 4)) eV); score = −|ΔE peak| − \(shortText(widthWeight))·FWHM (meV); \(acquisitionText)")
        print("\(candidates) candidates x \(passes) MC-dropout passes, int8 path, \(threads) threads: \(fixed(seconds, 1)) s"
            + (constraint.isEmpty ? "" : "; constraints: " + constraint.joined(separator: ", ")))
        if picks.count < n { print("only \(picks.count) distinct candidates met the constraints and --min-distance \(minDistance)") }
        print(padded("#", 3) + padded("Cd mM", 8) + padded("Se mM", 8) + padded("OA/Cd", 8) + padded("T °C", 8) + padded("t s", 7)
            + padded("peak nm", 9) + padded("± meV", 7) + padded("FWHM nm", 9) + padded("± meV", 7) + padded("score", 9)
            + padded("acq.", 9))
        for (index, pick) in picks.enumerated() {
            let c = pick.conditions
            print(padded(String(index + 1), 3) + padded(fixed(c.cadmiumMM, 2), 8) + padded(fixed(c.seleniumMM, 2), 8)
                + padded(fixed(c.oleicAcidRatio, 2), 8) + padded(fixed(c.temperatureC, 1), 8) + padded(fixed(c.timeS, 0), 7)
                + padded(fixed(pick.peakNM, 1), 9) + padded(fixed(1000 * pick.peakEV.standardDeviation, 1), 7)
                + padded(fixed(pick.fwhmNM, 1), 9) + padded(fixed(1000 * pick.fwhmEV.standardDeviation, 1), 7)
                + padded(fixed(pick.score.mean, 1), 9) + padded(fixed(pick.acquisition, 1), 9))
        }
        if let out {
            let text = BayesianOptimizer.campaignTOML(
                picks, header: [
                    "Suggested by aliquot suggest from \(model): target \(shortText(targetNm)) nm, \(acquisitionText), "
                        + "\(candidates) candidates x \(passes) passes, seed \(seed)"
                ] + (constraint.isEmpty ? [] : ["constraints: " + constraint.joined(separator: ", ")]))
            do { try writeFileAtomically(path: out, bytes: Array(text.utf8)) } catch { throw CommandFailure(error.description) }
            print("wrote \(out): \(picks.count) experiments")
        }
    }

    /// `520` rather than `520.0`.
    func shortText(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
