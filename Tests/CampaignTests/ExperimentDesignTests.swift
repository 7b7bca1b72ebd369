import Testing

@testable import Campaign

private let compiler = RecipeCompiler(stocks: PrecursorStocks(), reactor: ReactorVolumes(), pumpResolutionMicrolitres: 0.1)

private let wideSpace = FactorSpace(
    temperatureCelsius: 200...310, cadmiumMillimolar: 5...50, seleniumMillimolar: 5...50, oleicAcidPerCadmium: 3...150)

private func condition(cd: Double, se: Double, oa: Double, t: Double) -> SynthesisCondition {
    SynthesisCondition(cadmiumMillimolar: cd, seleniumMillimolar: se, oleicAcidPerCadmium: oa, temperatureCelsius: t)
}

@Suite struct ExperimentDesignTests {
    /// The first 16 points of the unscrambled 5-dimensional Sobol sequence with Joe & Kuo's
    /// new-joe-kuo-6.21201 direction numbers, as published (the same table scipy.stats.qmc.Sobol
    /// with scramble=False prints), Gray-code order.
    static let publishedSobol: [[Double]] = [
        [0, 0, 0, 0, 0],
        [0.5, 0.5, 0.5, 0.5, 0.5],
        [0.75, 0.25, 0.25, 0.25, 0.75],
        [0.25, 0.75, 0.75, 0.75, 0.25],
        [0.375, 0.375, 0.625, 0.875, 0.375],
        [0.875, 0.875, 0.125, 0.375, 0.875],
        [0.625, 0.125, 0.875, 0.625, 0.625],
        [0.125, 0.625, 0.375, 0.125, 0.125],
        [0.1875, 0.3125, 0.9375, 0.4375, 0.5625],
        [0.6875, 0.8125, 0.4375, 0.9375, 0.0625],
        [0.9375, 0.0625, 0.6875, 0.1875, 0.3125],
        [0.4375, 0.5625, 0.1875, 0.6875, 0.8125],
        [0.3125, 0.1875, 0.3125, 0.5625, 0.9375],
        [0.8125, 0.6875, 0.8125, 0.0625, 0.4375],
        [0.5625, 0.4375, 0.0625, 0.8125, 0.1875],
        [0.0625, 0.9375, 0.5625, 0.3125, 0.6875],
    ]

    @Test func sobolMatchesThePublishedSequence() {
        var sobol = SobolSequence(dimensions: 5)
        for expected in Self.publishedSobol {
            #expect(sobol.next() == expected)
        }
    }

    /// Every 2^k-point block of a Sobol sequence has exactly one point in each 1/2^k interval of
    /// every dimension (it is a (0, k, 1)-net per coordinate).
    @Test func sobolBlocksAreStratified() {
        var sobol = SobolSequence(dimensions: 5)
        let points = (0..<1024).map { _ in sobol.next() }
        for dimension in 0..<5 {
            let cells = Set(points.map { Int($0[dimension] * 1024) })
            #expect(cells.count == 1024)
        }
    }

    @Test func gridIsTheCartesianProductInPublishedOrder() throws {
        let grid = GridDesign(
            temperatureCelsius: [210, 240], cadmiumMillimolar: [5, 10, 20], seleniumMillimolar: [5, 10],
            oleicAcidPerCadmium: [3, 10])
        let points = grid.points
        #expect(points.count == 24)
        // Index = ((t x 3 + cd) x 2 + se) x 2 + oa: OA/Cd fastest, temperature slowest.
        for (t, temperature) in [210.0, 240].enumerated() {
            for (c, cadmium) in [5.0, 10, 20].enumerated() {
                for (s, selenium) in [5.0, 10].enumerated() {
                    for (o, ratio) in [3.0, 10].enumerated() {
                        #expect(points[((t * 3 + c) * 2 + s) * 2 + o] == condition(cd: cadmium, se: selenium, oa: ratio, t: temperature))
                    }
                }
            }
        }
        let plan = try ExperimentDesign.grid(grid).plan(compiler: compiler)
        #expect(plan.experiments.map(\.number) == Array(1...24))
        #expect(plan.experiments[1].name == "210C-Cd5-Se5-OA10")
        #expect(plan.rejected.isEmpty && plan.infeasible.isEmpty)
    }

    @Test func gridConstraintsFilterAndInfeasiblePointsStayListed() throws {
        let grid = GridDesign(
            temperatureCelsius: [240, 300], cadmiumMillimolar: [10, 50], seleniumMillimolar: [10],
            oleicAcidPerCadmium: [20, 150], constraints: [try DesignConstraint.parse("temperature_c <= 280")])
        let plan = try ExperimentDesign.grid(grid).plan(compiler: compiler)
        #expect(plan.experiments.map(\.condition) == [
            condition(cd: 10, se: 10, oa: 20, t: 240), condition(cd: 10, se: 10, oa: 150, t: 240),
            condition(cd: 50, se: 10, oa: 20, t: 240), condition(cd: 50, se: 10, oa: 150, t: 240),
        ])
        #expect(plan.rejected.count == 4)
        #expect(plan.rejected.allSatisfy { $0.reason == "breaks the constraint temperature_c <= 280" && $0.condition.temperatureCelsius == 300 })
        // 50 mM Cd at OA/Cd 150 cannot fit; 10 mM at 150 can (1500 mM: 567.8 + 40 µL).
        #expect(plan.infeasible.map(\.experiment.number) == [4])
        #expect(plan.infeasible.first?.error.reason == .charge)
    }

    @Test func latinHypercubeHasOnePointPerStratumPerFactor() {
        for (count, seed) in [(1, UInt64(3)), (7, 1), (50, 42), (200, 9)] {
            var random = SplitMix64(seed: seed)
            let points = latinHypercubePoints(count: count, dimensions: 4, random: &random)
            #expect(points.count == count)
            for dimension in 0..<4 {
                let strata = points.map { Int(($0[dimension] * Double(count)).rounded(.down)) }
                #expect(strata.sorted() == Array(0..<count), "dimension \(dimension), n = \(count)")
            }
        }
    }

    @Test func latinHypercubePlanStratifiesTheFactorRanges() throws {
        let design = SampledDesign(
            count: 10, seed: 5,
            space: FactorSpace(
                temperatureCelsius: 210...300, cadmiumMillimolar: 5...40, seleniumMillimolar: 5...40, oleicAcidPerCadmium: 3...40))
        let plan = try ExperimentDesign.latinHypercube(design).plan(compiler: compiler)
        #expect(plan.entries.count == 10 && plan.rejected.isEmpty)
        let temperatureStrata = plan.experiments.map { Int((($0.condition.temperatureCelsius - 210) / 9).rounded(.down)) }
        #expect(temperatureStrata.sorted() == Array(0..<10))
        let again = try ExperimentDesign.latinHypercube(design).plan(compiler: compiler)
        #expect(again == plan)
        var other = design
        other.seed = 6
        #expect(try ExperimentDesign.latinHypercube(other).plan(compiler: compiler).experiments != plan.experiments)
    }

    @Test func randomDesignIsSeededInsideItsBoundsAndRefillsRejections() throws {
        let design = SampledDesign(
            count: 40, seed: 11, space: wideSpace,
            constraints: [try DesignConstraint.parse("temperature_c <= 280"), try DesignConstraint.parse("se_mm >= cd_mm")])
        let plan = try ExperimentDesign.random(design).plan(compiler: compiler)
        #expect(plan.entries.count == 40)
        #expect(plan.infeasible.isEmpty)
        for experiment in plan.experiments {
            let c = experiment.condition
            #expect((200...280).contains(c.temperatureCelsius) && c.seleniumMillimolar >= c.cadmiumMillimolar)
            #expect(wideSpace.ranges.indices.allSatisfy { wideSpace.ranges[$0].contains(DesignFactor.allCases[$0].value(in: c)) })
        }
        // The wide space holds many infeasible points (high [Cd] x high OA/Cd): they were drawn and rejected.
        #expect(plan.rejected.contains { $0.reason.hasPrefix("the 900 µL charge needs") })
        #expect(plan.rejected.contains { $0.reason == "breaks the constraint se_mm >= cd_mm" })
        #expect(try ExperimentDesign.random(design).plan(compiler: compiler) == plan)
    }

    @Test func sobolDesignMapsTheSequenceOntoTheRegion() throws {
        let space = FactorSpace(
            temperatureCelsius: 210...300, cadmiumMillimolar: 5...40, seleniumMillimolar: 5...40, oleicAcidPerCadmium: 3...40)
        let plan = try ExperimentDesign.sobol(SampledDesign(count: 4, space: space)).plan(compiler: compiler)
        // Points 0-3 of the published sequence, dimensions 1-4, scaled: low + u x (high - low).
        #expect(plan.experiments.map(\.condition) == [
            condition(cd: 5, se: 5, oa: 3, t: 210),
            condition(cd: 22.5, se: 22.5, oa: 21.5, t: 255),
            condition(cd: 13.75, se: 13.75, oa: 12.25, t: 277.5),
            condition(cd: 31.25, se: 31.25, oa: 30.75, t: 232.5),
        ])
    }

    @Test func sampledDesignThatCannotBeFilledSaysWhy() {
        // 50 mM Cd at OA/Cd >= 100 never fits: every draw is rejected.
        let impossible = SampledDesign(
            count: 3, seed: 1,
            space: FactorSpace(
                temperatureCelsius: 240...240, cadmiumMillimolar: 50...50, seleniumMillimolar: 10...10,
                oleicAcidPerCadmium: 100...150))
        let error = #expect(throws: DesignError.self) { try ExperimentDesign.random(impossible).plan(compiler: compiler) }
        #expect(error?.message.hasPrefix("only 0 of the 3 points drawn in 1000 draws meet the constraints and have a feasible recipe") == true)
        #expect(error?.message.hasSuffix("widen the factor ranges or relax the constraints") == true)
    }

    @Test(arguments: [
        ("temperature_c <= 280", condition(cd: 10, se: 10, oa: 10, t: 280), true),
        ("temperature_c<280", condition(cd: 10, se: 10, oa: 10, t: 280), false),
        ("cd_mm >= 5", condition(cd: 5, se: 10, oa: 10, t: 240), true),
        ("oa_cd > 40", condition(cd: 10, se: 10, oa: 40, t: 240), false),
        ("se_mm == 10", condition(cd: 10, se: 10, oa: 10, t: 240), true),
        ("se_mm != 10", condition(cd: 10, se: 10, oa: 10, t: 240), false),
        ("se_mm >= cd_mm", condition(cd: 20, se: 10, oa: 10, t: 240), false),
        ("  cd_mm   <   se_mm ", condition(cd: 5, se: 10, oa: 10, t: 240), true),
        ("temperature_c <= -1e3", condition(cd: 5, se: 10, oa: 10, t: 240), false),
    ])
    func constraintsEvaluate(text: String, point: SynthesisCondition, satisfied: Bool) throws {
        #expect(try DesignConstraint.parse(text).isSatisfied(by: point) == satisfied)
    }

    @Test(arguments: [
        ("temp <= 280", "constraint \"temp <= 280\": unknown factor \"temp\"; factors: temperature_c, cd_mm, se_mm, oa_cd"),
        ("temperature_c = 280",
         "constraint \"temperature_c = 280\": no comparison; write <factor> <comparison> <number or factor>, e.g. "
            + "temperature_c <= 280 (comparisons: <=, <, >=, >, ==, !=)"),
        ("<= 280", "constraint \"<= 280\": no factor before <=; factors: temperature_c, cd_mm, se_mm, oa_cd"),
        ("cd_mm >=", "constraint \"cd_mm >=\": nothing after >=; write a number or a factor (temperature_c, cd_mm, se_mm, oa_cd)"),
        ("cd_mm >= lots", "constraint \"cd_mm >= lots\": \"lots\" is neither a number nor a factor (temperature_c, cd_mm, se_mm, oa_cd)"),
    ])
    func constraintErrors(text: String, message: String) {
        let error = #expect(throws: DesignError.self) { try DesignConstraint.parse(text) }
        #expect(error?.message == message)
    }

    @Test func splitMixMatchesItsReferenceOutput() {
        // SplitMix64 seeded with 0: the first outputs of the reference implementation (Vigna, splitmix64.c).
        var random = SplitMix64(seed: 0)
        #expect(random.next() == 0xE220_A839_7B1D_CDAF)
        #expect(random.next() == 0x6E78_9E6A_A1B9_65F4)
    }
}

@Suite struct AdaptivePlannerTests {
    static let space = FactorSpace(
        temperatureCelsius: 210...300, cadmiumMillimolar: 5...40, seleniumMillimolar: 5...40, oleicAcidPerCadmium: 3...40)

    static func planner(rounds: Int = 2, perRound: Int = 3, exploration: Double = 0) -> AdaptivePlanner {
        AdaptivePlanner(
            design: AdaptiveDesign(
                initial: .sobol(SampledDesign(count: 4, space: space)), rounds: rounds, perRound: perRound,
                targetPeakNanometres: 540, space: space,
                constraints: [try! DesignConstraint.parse("temperature_c <= 280")], candidates: 500, seed: 3,
                exploration: exploration),
            compiler: compiler)
    }

    /// A stand-in model: the peak grows linearly with temperature, 400 nm at 210 °C to 580 nm at 300 °C.
    static func linearModel(_ candidates: [SynthesisCondition]) -> [PeakForecast] {
        candidates.map { PeakForecast(meanNanometres: 400 + ($0.temperatureCelsius - 210) * 2, spreadNanometres: 1) }
    }

    @Test func batchesAimAtTheTargetAndRespectTheConstraints() throws {
        var planner = Self.planner()
        let initial = try planner.initialPlan()
        #expect(initial.entries.count == 4)
        var ran = initial.experiments.map(\.condition)
        let firstBatch = planner.nextBatch(alreadyRun: ran, firstNumber: 5, forecast: Self.linearModel)
        let first = try #require(firstBatch)
        #expect(first.round == 1)
        #expect(first.entries.map(\.experiment.number) == [5, 6, 7])
        #expect(first.candidatesScored + first.candidatesRejected == 500)
        #expect(first.candidatesRejected > 0)  // temperature_c <= 280 drops about 2/9 of them
        for (entry, forecast) in zip(first.entries, first.forecasts) {
            // 540 nm is 280 °C in the stand-in model; the best of 500 candidates lands within a degree or two.
            #expect(abs(entry.experiment.condition.temperatureCelsius - 280) < 3)
            #expect(abs(forecast.meanNanometres - 540) < 6)
            #expect(entry.experiment.condition.temperatureCelsius <= 280)
            #expect(entry.experiment.name.hasPrefix("r1-"))
            #expect((try? entry.recipe.get()) != nil)
        }
        // Best first.
        let scores = first.forecasts.map(planner.score)
        #expect(scores == scores.sorted())
        // Spread out: no two chosen points (or a chosen and a run one) closer than the minimum separation.
        let units = (ran + first.entries.map(\.experiment.condition)).map(Self.space.unitCoordinates)
        for i in units.indices {
            for j in units.indices where j > i {
                let d = zip(units[i], units[j]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
                #expect(d >= AdaptiveDesign.minimumSeparation)
            }
        }
        ran += first.entries.map(\.experiment.condition)
        let secondBatch = planner.nextBatch(alreadyRun: ran, firstNumber: 8, forecast: Self.linearModel)
        let second = try #require(secondBatch)
        #expect(second.round == 2)
        #expect(second.entries.map(\.experiment.condition) != first.entries.map(\.experiment.condition))
        #expect(planner.isFinished)
        let afterLast = planner.nextBatch(alreadyRun: ran, firstNumber: 11, forecast: Self.linearModel)
        #expect(afterLast == nil)
    }

    /// With exploration, a large predicted spread beats a closer mean.
    @Test func explorationRewardsUncertainty() {
        let planner = Self.planner(exploration: 2)
        #expect(planner.score(PeakForecast(meanNanometres: 550, spreadNanometres: 8)) == -6)
        #expect(planner.score(PeakForecast(meanNanometres: 541, spreadNanometres: 0)) == 1)
    }

    struct ModelFailed: Error, Equatable {}

    @Test func aFailingForecastDoesNotUseUpARound() {
        var planner = Self.planner()
        #expect(throws: ModelFailed.self) {
            try planner.nextBatch(alreadyRun: [], firstNumber: 1) { (_: [SynthesisCondition]) throws(ModelFailed) -> [PeakForecast] in
                throw ModelFailed()
            }
        }
        #expect(planner.roundsDone == 0)
    }
}
