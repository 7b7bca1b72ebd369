// An adaptive campaign: an initial design, then rounds in which the runner trains the model on
// everything measured so far, this planner suggests the next batch, and the runner runs it. The
// suggestion follows the published second study (DESIGN §1): many random candidates in the
// allowed region are predicted with MC dropout, and the ones whose predicted peak is closest to
// the target, with a bonus for uncertainty, are run next.
//
// The runner drives it:
//
//     var planner = campaign.adaptivePlanner(pumpResolutionMicrolitres: step)!
//     run(try planner.initialPlan())
//     while let batch = try planner.nextBatch(alreadyRun: conditionsSoFar, firstNumber: nextNumber,
//                                             forecast: { candidates in /* train, predict */ }) {
//         run(batch.entries)
//     }

/// An initial design and rounds of model-chosen experiments aimed at a target peak.
public struct AdaptiveDesign: Equatable, Sendable {
    /// Candidates closer than this to an experiment already run or chosen (Euclidean distance
    /// with each factor scaled to [0, 1] over `space`) are passed over, so a batch spreads out.
    public static let minimumSeparation = 0.05

    /// What runs first (explicit, grid, random, Latin hypercube or Sobol).
    public var initial: ExperimentDesign
    /// How many suggest-and-run rounds follow it.
    public var rounds: Int
    /// Experiments per round.
    public var perRound: Int
    /// The absorption peak to aim for, nm.
    public var targetPeakNanometres: Double
    /// Where candidates are drawn.
    public var space: FactorSpace
    public var constraints: [DesignConstraint]
    /// Random candidates predicted per round.
    public var candidates: Int
    public var seed: UInt64
    /// Weight of the predicted spread in the score: score = |mean - target| - exploration x spread (nm).
    public var exploration: Double

    public init(
        initial: ExperimentDesign, rounds: Int, perRound: Int, targetPeakNanometres: Double, space: FactorSpace,
        constraints: [DesignConstraint] = [], candidates: Int = 10_000, seed: UInt64, exploration: Double = 1
    ) {
        self.initial = initial
        self.rounds = rounds
        self.perRound = perRound
        self.targetPeakNanometres = targetPeakNanometres
        self.space = space
        self.constraints = constraints
        self.candidates = candidates
        self.seed = seed
        self.exploration = exploration
    }
}

/// The model's forecast of a candidate's final absorption peak (at the last sampling time).
public struct PeakForecast: Equatable, Sendable {
    /// MC-dropout mean, nm.
    public var meanNanometres: Double
    /// MC-dropout standard deviation, nm.
    public var spreadNanometres: Double

    public init(meanNanometres: Double, spreadNanometres: Double) {
        self.meanNanometres = meanNanometres
        self.spreadNanometres = spreadNanometres
    }
}

/// One round's suggestions.
public struct AdaptiveBatch: Equatable, Sendable {
    /// 1-based round number.
    public var round: Int
    /// The experiments to run, numbered from the `firstNumber` given, best score first; all feasible.
    public var entries: [PlannedRecipe]
    /// The forecast behind each entry.
    public var forecasts: [PeakForecast]
    /// Candidates scored (those inside the constraints with a feasible recipe).
    public var candidatesScored: Int
    /// Candidates dropped before scoring (constraints, infeasible recipes).
    public var candidatesRejected: Int
}

/// Drives an adaptive design: the initial plan, then one batch per round.
public struct AdaptivePlanner: Equatable, Sendable {
    public let design: AdaptiveDesign
    public let compiler: RecipeCompiler
    /// Rounds suggested so far.
    public private(set) var roundsDone = 0

    public init(design: AdaptiveDesign, compiler: RecipeCompiler) {
        self.design = design
        self.compiler = compiler
    }

    /// Whether every round has been suggested.
    public var isFinished: Bool { roundsDone >= design.rounds }

    /// The initial design's experiments, numbered from 1.
    public func initialPlan() throws(DesignError) -> DesignPlan {
        try design.initial.plan(compiler: compiler)
    }

    /// The score of a forecast: lower is better.
    public func score(_ forecast: PeakForecast) -> Double {
        abs(forecast.meanNanometres - design.targetPeakNanometres) - design.exploration * forecast.spreadNanometres
    }

    /// The feasible candidates of `round` (1-based): `design.candidates` seeded uniform draws in
    /// the space, those breaking a constraint or without a feasible recipe left out.
    public func candidates(round: Int) -> (feasible: [SynthesisCondition], rejected: Int) {
        // A different, reproducible stream per round.
        var random = SplitMix64(seed: design.seed ^ (UInt64(truncatingIfNeeded: round) &* 0xD1B5_4A32_D192_ED03))
        var feasible: [SynthesisCondition] = []
        var rejected = 0
        for _ in 0..<design.candidates {
            let point = design.space.condition(atUnit: DesignFactor.allCases.map { _ in random.nextUnit() })
            var accepted = design.constraints.allSatisfy { $0.isSatisfied(by: point) }
            if accepted, case .failure = compiler.result(for: point) { accepted = false }
            if accepted { feasible.append(point) } else { rejected += 1 }
        }
        return (feasible, rejected)
    }

    /// The next round's experiments, or nil when every round is done.
    ///
    /// - Parameters:
    ///   - alreadyRun: conditions run so far (new points keep `AdaptiveDesign.minimumSeparation` from them).
    ///   - firstNumber: the experiment number of the batch's first experiment.
    ///   - forecast: the runner's model, trained on everything measured so far: one forecast per
    ///     candidate, in order.
    /// - Throws: whatever `forecast` throws (the round is then not counted).
    public mutating func nextBatch<Failure: Error>(
        alreadyRun: [SynthesisCondition], firstNumber: Int,
        forecast: ([SynthesisCondition]) throws(Failure) -> [PeakForecast]
    ) throws(Failure) -> AdaptiveBatch? {
        guard !isFinished else { return nil }
        let round = roundsDone + 1
        let (candidates, rejected) = candidates(round: round)
        let forecasts = try forecast(candidates)
        precondition(forecasts.count == candidates.count, "forecast must return one forecast per candidate")

        let order = candidates.indices.sorted { score(forecasts[$0]) < score(forecasts[$1]) }
        var taken = alreadyRun.map { design.space.unitCoordinates(of: $0) }
        var entries: [PlannedRecipe] = []
        var chosenForecasts: [PeakForecast] = []
        for index in order where entries.count < design.perRound {
            let unit = design.space.unitCoordinates(of: candidates[index])
            let isSeparate = taken.allSatisfy { distance($0, unit) >= AdaptiveDesign.minimumSeparation }
            guard isSeparate else { continue }
            taken.append(unit)
            let point = candidates[index]
            let number = firstNumber + entries.count
            entries.append(PlannedRecipe(
                experiment: PlannedExperiment(number: number, name: "r\(round)-" + experimentName(for: point), condition: point),
                recipe: compiler.result(for: point)))
            chosenForecasts.append(forecasts[index])
        }
        roundsDone = round
        return AdaptiveBatch(
            round: round, entries: entries, forecasts: chosenForecasts, candidatesScored: candidates.count,
            candidatesRejected: rejected)
    }
}

private func distance(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
}
