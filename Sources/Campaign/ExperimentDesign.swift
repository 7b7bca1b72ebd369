// Which experiments a campaign runs: an explicit list, a full grid, or points sampled from a
// region of the four factors (uniform random, Latin hypercube, Sobol), or an adaptive design that
// starts from one of those and then lets the model choose. A design becomes a `DesignPlan`: the
// experiments numbered in run order, each with its recipe or the reason it cannot be made.
//
// Points that break the design's constraints are never experiments: they are listed in
// `DesignPlan.rejected`. Infeasible recipes are handled by kind:
// - explicit, grid: the point stays in the plan with its `RecipeError` (the user asked for it by
//   value; the runner records it as skipped and the summary shows why);
// - random, Sobol: the point is rejected (listed with the recipe's reason) and the next one is
//   drawn, until `n` feasible points are found;
// - Latin hypercube: the point is rejected and not replaced (a replacement would break the one
//   point per stratum per factor), so the plan may hold fewer than `n`.

/// One of the four factors of the published design, named as in campaign files.
public enum DesignFactor: String, CaseIterable, Equatable, Hashable, Sendable {
    // The published grid's order: temperature outermost, OA/Cd varying fastest
    // (../shared/data/cdse, `Expt. No` 17, 18, ... walk OA/Cd first).
    case temperature = "temperature_c"
    case cadmium = "cd_mm"
    case selenium = "se_mm"
    case oleicAcidRatio = "oa_cd"

    /// The unit, for messages.
    public var unit: String {
        switch self {
        case .temperature: "°C"
        case .cadmium, .selenium: "mM"
        case .oleicAcidRatio: "mol/mol"
        }
    }

    /// The values a campaign file may give: the reactor's 400 °C rating down to room temperature;
    /// concentrations up to 200 mM (the stocks are 300 mM; the recipe compiler decides what fits);
    /// OA/Cd up to 500.
    public var limits: (lower: Double, lowerExcluded: Bool, upper: Double) {
        switch self {
        case .temperature: (20, false, 400)
        case .cadmium, .selenium: (0, true, 200)
        case .oleicAcidRatio: (0, false, 500)
        }
    }

    public func value(in condition: SynthesisCondition) -> Double {
        switch self {
        case .temperature: condition.temperatureCelsius
        case .cadmium: condition.cadmiumMillimolar
        case .selenium: condition.seleniumMillimolar
        case .oleicAcidRatio: condition.oleicAcidPerCadmium
        }
    }

    /// The condition from values in factor order (temperature, [Cd], [Se], OA/Cd).
    public static func condition(_ values: [Double]) -> SynthesisCondition {
        precondition(values.count == allCases.count, "a condition needs one value per factor")
        return SynthesisCondition(
            cadmiumMillimolar: values[1], seleniumMillimolar: values[2], oleicAcidPerCadmium: values[3],
            temperatureCelsius: values[0])
    }
}

/// The region sampled designs draw from: a range per factor (a single value fixes the factor).
public struct FactorSpace: Equatable, Sendable {
    /// One range per factor, in `DesignFactor.allCases` order.
    public var ranges: [ClosedRange<Double>]

    public init(temperatureCelsius: ClosedRange<Double>, cadmiumMillimolar: ClosedRange<Double>,
                seleniumMillimolar: ClosedRange<Double>, oleicAcidPerCadmium: ClosedRange<Double>) {
        ranges = [temperatureCelsius, cadmiumMillimolar, seleniumMillimolar, oleicAcidPerCadmium]
    }

    public subscript(factor: DesignFactor) -> ClosedRange<Double> {
        ranges[DesignFactor.allCases.firstIndex(of: factor)!]
    }

    /// The condition at `unit` (one coordinate in [0, 1) per factor, factor order).
    public func condition(atUnit unit: [Double]) -> SynthesisCondition {
        precondition(unit.count == ranges.count, "one coordinate per factor")
        return DesignFactor.condition(zip(ranges, unit).map { range, u in
            range.lowerBound + u * (range.upperBound - range.lowerBound)
        })
    }

    /// `condition` mapped to [0, 1] per factor (a fixed factor maps to 0).
    public func unitCoordinates(of condition: SynthesisCondition) -> [Double] {
        zip(DesignFactor.allCases, ranges).map { factor, range in
            let width = range.upperBound - range.lowerBound
            return width > 0 ? (factor.value(in: condition) - range.lowerBound) / width : 0
        }
    }
}

/// A condition from an explicit list, with its optional name.
public struct ListedCondition: Equatable, Sendable {
    public var name: String?
    public var condition: SynthesisCondition

    public init(name: String? = nil, condition: SynthesisCondition) {
        self.name = name
        self.condition = condition
    }
}

/// A full factorial grid: every combination of the listed levels.
public struct GridDesign: Equatable, Sendable {
    /// The levels of each factor, in `DesignFactor.allCases` order.
    public var levels: [[Double]]
    public var constraints: [DesignConstraint]

    public init(temperatureCelsius: [Double], cadmiumMillimolar: [Double], seleniumMillimolar: [Double],
                oleicAcidPerCadmium: [Double], constraints: [DesignConstraint] = []) {
        levels = [temperatureCelsius, cadmiumMillimolar, seleniumMillimolar, oleicAcidPerCadmium]
        self.constraints = constraints
    }

    /// The cartesian product in the published order: temperature outermost, then [Cd], [Se],
    /// and OA/Cd varying fastest; each factor's levels in the order written.
    public var points: [SynthesisCondition] {
        var points: [[Double]] = [[]]
        for factorLevels in levels {
            points = points.flatMap { prefix in factorLevels.map { prefix + [$0] } }
        }
        return points.map(DesignFactor.condition)
    }
}

/// A design sampled from a region: uniform random, Latin hypercube or Sobol.
public struct SampledDesign: Equatable, Sendable {
    /// How many experiments.
    public var count: Int
    /// The random generator's seed (not used by Sobol, which is deterministic).
    public var seed: UInt64
    public var space: FactorSpace
    public var constraints: [DesignConstraint]

    public init(count: Int, seed: UInt64 = 0, space: FactorSpace, constraints: [DesignConstraint] = []) {
        self.count = count
        self.seed = seed
        self.space = space
        self.constraints = constraints
    }
}

/// The kinds of design, as `[design] kind` names them (`explicit` is the `[[experiment]]` list).
public enum DesignKind: String, CaseIterable, Equatable, Sendable {
    case explicit
    case grid
    case random
    case latinHypercube = "latin-hypercube"
    case sobol
    case adaptive
}

/// How a campaign chooses its experiments.
public indirect enum ExperimentDesign: Equatable, Sendable {
    case explicit([ListedCondition])
    case grid(GridDesign)
    case random(SampledDesign)
    case latinHypercube(SampledDesign)
    case sobol(SampledDesign)
    case adaptive(AdaptiveDesign)

    public var kind: DesignKind {
        switch self {
        case .explicit: .explicit
        case .grid: .grid
        case .random: .random
        case .latinHypercube: .latinHypercube
        case .sobol: .sobol
        case .adaptive: .adaptive
        }
    }

    /// The experiments, numbered from 1 in run order, with their recipes (see the file comment
    /// for what happens to constrained-out and infeasible points). For an adaptive design: its
    /// initial design.
    ///
    /// - Throws: `DesignError` when a random or Sobol design cannot find `count` acceptable
    ///   points in `DesignPlanner.maximumDraws(count:)` draws.
    public func plan(compiler: RecipeCompiler) throws(DesignError) -> DesignPlan {
        var planner = DesignPlanner(compiler: compiler)
        switch self {
        case .explicit(let list):
            for item in list { planner.keep(item.condition, name: item.name) }
        case .grid(let grid):
            for point in grid.points where planner.passes(point, grid.constraints) {
                planner.keep(point, name: nil)
            }
        case .random(let sampled):
            var random = SplitMix64(seed: sampled.seed)
            try planner.draw(sampled) {
                sampled.space.condition(atUnit: DesignFactor.allCases.map { _ in random.nextUnit() })
            }
        case .sobol(let sampled):
            var sobol = SobolSequence(dimensions: DesignFactor.allCases.count)
            try planner.draw(sampled) { sampled.space.condition(atUnit: sobol.next()) }
        case .latinHypercube(let sampled):
            var random = SplitMix64(seed: sampled.seed)
            for unit in latinHypercubePoints(count: sampled.count, dimensions: DesignFactor.allCases.count, random: &random) {
                let point = sampled.space.condition(atUnit: unit)
                if planner.passes(point, sampled.constraints) && planner.feasible(point) {
                    planner.keep(point, name: nil)
                }
            }
        case .adaptive(let adaptive):
            return try adaptive.initial.plan(compiler: compiler)
        }
        return planner.plan
    }
}

/// `count` points in the unit cube, one per stratum [k/count, (k+1)/count) of every dimension:
/// each dimension's strata are a seeded random permutation, each point uniform in its cell
/// (McKay, Beckman & Conover 1979).
public func latinHypercubePoints(count: Int, dimensions: Int, random: inout SplitMix64) -> [[Double]] {
    precondition(count >= 0 && dimensions >= 0, "counts must not be negative")
    var points = [[Double]](repeating: [Double](repeating: 0, count: dimensions), count: count)
    for dimension in 0..<dimensions {
        var strata = Array(0..<count)
        // Fisher-Yates.
        for index in stride(from: count - 1, to: 0, by: -1) {
            strata.swapAt(index, random.nextInt(below: index + 1))
        }
        for (point, stratum) in strata.enumerated() {
            points[point][dimension] = (Double(stratum) + random.nextUnit()) / Double(count)
        }
    }
    return points
}

/// A design that could not be planned, in words.
public struct DesignError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String

    public init(message: String) {
        self.message = message
    }

    public var description: String { message }
}

/// One experiment of a plan and its recipe, or why it cannot be made.
public struct PlannedRecipe: Equatable, Sendable {
    public var experiment: PlannedExperiment
    public var recipe: Result<Recipe, RecipeError>

    public init(experiment: PlannedExperiment, recipe: Result<Recipe, RecipeError>) {
        self.experiment = experiment
        self.recipe = recipe
    }
}

/// A sampled point that is not an experiment, and why.
public struct RejectedPoint: Equatable, Sendable {
    public var condition: SynthesisCondition
    /// `breaks the constraint temperature_c <= 280`, or the recipe's reason.
    public var reason: String

    public init(condition: SynthesisCondition, reason: String) {
        self.condition = condition
        self.reason = reason
    }
}

/// The experiments of a design, in run order.
public struct DesignPlan: Equatable, Sendable {
    /// Numbered from 1; an entry whose recipe failed is recorded as skipped, never run.
    public var entries: [PlannedRecipe]
    /// Points dropped by the constraints or (sampled designs) for an infeasible recipe.
    public var rejected: [RejectedPoint]

    public init(entries: [PlannedRecipe] = [], rejected: [RejectedPoint] = []) {
        self.entries = entries
        self.rejected = rejected
    }

    /// Every planned experiment, feasible or not.
    public var experiments: [PlannedExperiment] { entries.map(\.experiment) }

    /// The entries whose recipe cannot be made, with why.
    public var infeasible: [(experiment: PlannedExperiment, error: RecipeError)] {
        entries.compactMap { entry in
            if case .failure(let error) = entry.recipe { (entry.experiment, error) } else { nil }
        }
    }
}

/// A name made from a condition: `270C-Cd10-Se20-OA40` (one decimal at most).
public func experimentName(for condition: SynthesisCondition) -> String {
    "\(renderRounded(condition.temperatureCelsius, decimals: 1))C"
        + "-Cd\(renderRounded(condition.cadmiumMillimolar, decimals: 1))"
        + "-Se\(renderRounded(condition.seleniumMillimolar, decimals: 1))"
        + "-OA\(renderRounded(condition.oleicAcidPerCadmium, decimals: 1))"
}

/// Builds a plan point by point.
struct DesignPlanner {
    let compiler: RecipeCompiler
    /// The number of the plan's first experiment.
    let firstNumber: Int
    var plan = DesignPlan()

    init(compiler: RecipeCompiler, firstNumber: Int = 1) {
        self.compiler = compiler
        self.firstNumber = firstNumber
    }

    /// The most draws a random or Sobol design makes looking for its points.
    static func maximumDraws(count: Int) -> Int { max(1000, 100 * count) }

    /// Whether `point` meets every constraint; records the first one it breaks.
    mutating func passes(_ point: SynthesisCondition, _ constraints: [DesignConstraint]) -> Bool {
        if let broken = constraints.first(where: { !$0.isSatisfied(by: point) }) {
            plan.rejected.append(RejectedPoint(condition: point, reason: "breaks the constraint \(broken.text)"))
            return false
        }
        return true
    }

    /// Whether `point`'s recipe compiles; records the reason when it does not.
    mutating func feasible(_ point: SynthesisCondition) -> Bool {
        do {
            _ = try compiler.compile(point)
            return true
        } catch {
            plan.rejected.append(RejectedPoint(condition: point, reason: error.message))
            return false
        }
    }

    mutating func keep(_ point: SynthesisCondition, name: String?) {
        let number = firstNumber + plan.entries.count
        plan.entries.append(PlannedRecipe(
            experiment: PlannedExperiment(number: number, name: name ?? experimentName(for: point), condition: point),
            recipe: compiler.result(for: point)))
    }

    /// Draws until `design.count` points meet the constraints and compile.
    mutating func draw(_ design: SampledDesign, next: () -> SynthesisCondition) throws(DesignError) {
        let limit = Self.maximumDraws(count: design.count)
        var draws = 0
        while plan.entries.count < design.count {
            guard draws < limit else {
                let example = plan.rejected.first.map { " (the first: \($0.condition.summary): \($0.reason))" } ?? ""
                throw DesignError(
                    message: "only \(plan.entries.count) of the \(design.count) points drawn in \(limit) draws meet "
                        + "the constraints and have a feasible recipe\(example); widen the factor ranges or relax the constraints")
            }
            draws += 1
            let point = next()
            if passes(point, design.constraints) && feasible(point) { keep(point, name: nil) }
        }
    }
}

/// SplitMix64 (Steele, Lea & Flood 2014): a small seeded generator, the same sequence on every
/// platform, so a seeded design is the same campaign everywhere.
public struct SplitMix64: Equatable, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1p-53
    }

    /// Uniform in 0..<bound (multiply-shift; bias below 2^-40 for the bounds used here).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        return Int(next().multipliedFullWidth(by: UInt64(bound)).high)
    }
}
