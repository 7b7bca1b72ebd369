// A campaign file: the chemistry, the schedule and the experiments of one campaign (DESIGN §2
// principle 8: campaign files are separate from board files). Read and checked by
// CampaignFileLoader.swift; every section but [campaign] and the experiments has defaults that
// reproduce the published platform (DESIGN §1).
//
//     [campaign]    name, description
//     [stocks]      cd_mm, se_mm, oa_molar, injection_diluent, count_cd_oleate
//     [reactor]     charge_ul, injection_ul, capacity_ul
//     [schedule]    sample_times_s, settle_s, heat_timeout_s, cool_to_c, clean_cycles, aliquot_ul
//     [prediction]  anomaly, interval_sigma, target_peak_nm, quench
//     [[experiment]] name, cd_mm, se_mm, oa_cd, temperature_c      (an explicit list), or
//     [design]      kind = "grid" | "random" | "latin-hypercube" | "sobol" | "adaptive", and its keys

import Config

/// The precursor stocks the syringes hold.
public struct PrecursorStocks: Equatable, Sendable {
    /// Pure oleic acid, mol/L: density 0.895 g/mL at 25 °C over molar mass 282.46 g/mol
    /// (C18H34O2; CRC Handbook of Chemistry and Physics, "Physical constants of organic
    /// compounds") = 3.169 M. No oleic-acid stock can be more concentrated.
    public static let pureOleicAcidMolar = 3.17

    /// Cd-oleate stock, mM of Cd (DESIGN §1: 300 mM, in the heated syringe).
    public var cadmiumMillimolar: Double
    /// TOP-Se stock, mM of Se (DESIGN §1: 300 mM).
    public var seleniumMillimolar: Double
    /// The oleic-acid syringe, mol/L (pure: 3.17).
    public var oleicAcidMolar: Double
    /// What tops the Se stock up to the injection volume: `.trioctylphosphine` or `.octadecene`.
    public var injectionDiluent: Reagent
    /// Whether OA/Cd counts the two oleates per Cd of the Cd-oleate stock (false: it counts the
    /// free oleic acid added only; see RecipeCompiler.swift).
    public var countsCadmiumOleate: Bool

    public init(
        cadmiumMillimolar: Double = 300, seleniumMillimolar: Double = 300,
        oleicAcidMolar: Double = PrecursorStocks.pureOleicAcidMolar,
        injectionDiluent: Reagent = .trioctylphosphine, countsCadmiumOleate: Bool = false
    ) {
        self.cadmiumMillimolar = cadmiumMillimolar
        self.seleniumMillimolar = seleniumMillimolar
        self.oleicAcidMolar = oleicAcidMolar
        self.injectionDiluent = injectionDiluent
        self.countsCadmiumOleate = countsCadmiumOleate
    }
}

/// The reactor's volumes for one experiment.
public struct ReactorVolumes: Equatable, Sendable {
    /// Loaded and heated before injection, µL (DESIGN §1: 900).
    public var chargeMicrolitres: Double
    /// The hot injection, µL (DESIGN §1: 300).
    public var injectionMicrolitres: Double
    /// The most the reactor holds, µL (DESIGN §1: 1-3 mL working volume).
    public var capacityMicrolitres: Double

    public init(chargeMicrolitres: Double = 900, injectionMicrolitres: Double = 300, capacityMicrolitres: Double = 3000) {
        self.chargeMicrolitres = chargeMicrolitres
        self.injectionMicrolitres = injectionMicrolitres
        self.capacityMicrolitres = capacityMicrolitres
    }

    /// The final reaction volume, µL.
    public var totalMicrolitres: Double { chargeMicrolitres + injectionMicrolitres }
}

/// When aliquots are taken and how an experiment starts and ends.
public struct SamplingSchedule: Equatable, Sendable {
    /// The published platform's 20 sampling times after injection, s (DESIGN §1).
    public static let publishedSampleTimes: [Double] = [
        10, 20, 30, 40, 50, 60, 80, 100, 120, 140, 160, 200, 240, 280, 330, 380, 450, 500, 550, 600,
    ]

    /// Seconds after injection at which an aliquot is withdrawn, increasing.
    public var sampleTimesSeconds: [Double]
    /// How long the charge holds at the reaction temperature before injection, s.
    public var settleSeconds: Double
    /// The longest the charge may take to reach the reaction temperature, s; longer fails the experiment.
    public var heatTimeoutSeconds: Double
    /// The reactor temperature to cool to after the last aliquot before draining and cleaning, °C.
    public var coolToCelsius: Double
    /// Solvent rinse cycles after each experiment.
    public var cleanCycles: Int
    /// The volume each aliquot withdraws, µL (DESIGN §1: ~40).
    public var aliquotMicrolitres: Double

    public init(
        sampleTimesSeconds: [Double] = SamplingSchedule.publishedSampleTimes, settleSeconds: Double = 60,
        heatTimeoutSeconds: Double = 1200, coolToCelsius: Double = 80, cleanCycles: Int = 2,
        aliquotMicrolitres: Double = 40
    ) {
        self.sampleTimesSeconds = sampleTimesSeconds
        self.settleSeconds = settleSeconds
        self.heatTimeoutSeconds = heatTimeoutSeconds
        self.coolToCelsius = coolToCelsius
        self.cleanCycles = cleanCycles
        self.aliquotMicrolitres = aliquotMicrolitres
    }
}

/// What the runner does when a measured peak falls outside the model's prediction interval.
public enum AnomalyAction: String, CaseIterable, Equatable, Sendable {
    /// Record it and go on.
    case log
    /// Stop this experiment (no more aliquots: cool, clean) and go on with the next.
    case skip
    /// Stop the campaign: safe state.
    case abort
}

/// In-loop prediction: how measured peaks are compared with the model.
public struct PredictionPolicy: Equatable, Sendable {
    public var anomaly: AnomalyAction
    /// The interval is the MC-dropout mean ± this many standard deviations.
    public var intervalSigma: Double
    /// The absorption peak to aim for, nm; with `quench`, sampling stops and the reactor cools
    /// once the measured peak reaches it.
    public var targetPeakNanometres: Double?
    public var quench: Bool

    public init(anomaly: AnomalyAction = .log, intervalSigma: Double = 3, targetPeakNanometres: Double? = nil, quench: Bool = false) {
        self.anomaly = anomaly
        self.intervalSigma = intervalSigma
        self.targetPeakNanometres = targetPeakNanometres
        self.quench = quench
    }
}

/// A checked campaign file.
public struct CampaignFile: Equatable, Sendable {
    /// The largest campaign file accepted, in bytes.
    public static let maximumFileSize = 1 << 22

    /// The file it was read from (as given).
    public var path: String
    public var name: String
    public var description: String
    public var stocks: PrecursorStocks
    public var reactor: ReactorVolumes
    public var schedule: SamplingSchedule
    public var prediction: PredictionPolicy
    public var design: ExperimentDesign
    /// The line of `[design]` or of the first `[[experiment]]`, for errors found when planning.
    public var designLine: Int

    public init(
        path: String, name: String, description: String = "", stocks: PrecursorStocks = PrecursorStocks(),
        reactor: ReactorVolumes = ReactorVolumes(), schedule: SamplingSchedule = SamplingSchedule(),
        prediction: PredictionPolicy = PredictionPolicy(), design: ExperimentDesign, designLine: Int = 1
    ) {
        self.path = path
        self.name = name
        self.description = description
        self.stocks = stocks
        self.reactor = reactor
        self.schedule = schedule
        self.prediction = prediction
        self.design = design
        self.designLine = designLine
    }

    /// The compiler for this campaign's stocks and reactor with the rig's pump resolution.
    public func recipeCompiler(pumpResolutionMicrolitres: Double, maximumRelativeError: Double = 0.01) -> RecipeCompiler {
        RecipeCompiler(
            stocks: stocks, reactor: reactor, pumpResolutionMicrolitres: pumpResolutionMicrolitres,
            maximumRelativeError: maximumRelativeError)
    }

    /// The experiments to run, numbered from 1, each with its recipe or why it cannot be made;
    /// for an adaptive design, its initial design (then `adaptivePlanner`).
    ///
    /// - Throws: `CampaignFileError` at `[design]`'s line when a sampled design cannot find its
    ///   `n` points within the constraints and the feasible recipes.
    public func plan(pumpResolutionMicrolitres: Double, maximumRelativeError: Double = 0.01) throws(CampaignFileError) -> DesignPlan {
        let compiler = recipeCompiler(pumpResolutionMicrolitres: pumpResolutionMicrolitres, maximumRelativeError: maximumRelativeError)
        do {
            return try design.plan(compiler: compiler)
        } catch {
            throw CampaignFileError(file: path, line: designLine, key: "design", message: error.message)
        }
    }

    /// For an adaptive design, the planner the runner drives round by round; nil otherwise.
    public func adaptivePlanner(pumpResolutionMicrolitres: Double, maximumRelativeError: Double = 0.01) -> AdaptivePlanner? {
        guard case .adaptive(let adaptive) = design else { return nil }
        return AdaptivePlanner(
            design: adaptive,
            compiler: recipeCompiler(pumpResolutionMicrolitres: pumpResolutionMicrolitres, maximumRelativeError: maximumRelativeError))
    }

    /// Reads, parses and checks the campaign file at `path`.
    ///
    /// - Throws: `CampaignFileError` if the file cannot be read, is not UTF-8, is not valid TOML,
    ///   or breaks the campaign schema (unknown keys, values out of range, both or neither of
    ///   `[[experiment]]` and `[design]`, ...).
    public static func load(path: String) throws(CampaignFileError) -> CampaignFile {
        var bytes: [UInt8]
        do {
            bytes = try ConfigFiles.read(path, what: "campaign file", maximumSize: maximumFileSize)
        } catch {
            throw CampaignFileError(error)
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CampaignFileError(file: path, line: nil, key: nil, message: "the campaign file is not valid UTF-8 text")
        }
        return try parse(text: text, path: path)
    }

    /// Parses and checks campaign-file text; `path` is only used in errors and kept in `path`.
    public static func parse(text: String, path: String) throws(CampaignFileError) -> CampaignFile {
        let root: TOMLTable
        do {
            root = try TOML.parse(text, file: path)
        } catch {
            throw CampaignFileError(error)
        }
        return try CampaignChecker(file: path, root: root).check()
    }
}
