import Testing

@testable import Campaign

/// A condition in the argument order the tables use.
private func condition(cd: Double, se: Double, oa: Double, t: Double) -> SynthesisCondition {
    SynthesisCondition(cadmiumMillimolar: cd, seleniumMillimolar: se, oleicAcidPerCadmium: oa, temperatureCelsius: t)
}

/// The published platform: 300 mM stocks, pure oleic acid, 900 + 300 µL, 0.1 µL pump steps.
private let published = RecipeCompiler(
    stocks: PrecursorStocks(), reactor: ReactorVolumes(), pumpResolutionMicrolitres: 0.1)

@Suite struct RecipeCompilerTests {
    /// Pure oleic acid from its density and molar mass (0.895 g/mL, 282.46 g/mol).
    @Test func pureOleicAcidMolarity() {
        #expect(abs(PrecursorStocks.pureOleicAcidMolar - 0.895 / 282.46 * 1000) < 0.005)
    }

    /// Volumes worked by hand: Cd stock = [Cd] x 1200 / 300; oleic acid = OA/Cd x [Cd] x 1200 / 3170,
    /// to 0.1 µL; Se stock = [Se] x 1200 / 300; ODE and TOP fill 900 and 300 µL.
    @Test(arguments: [
        // cd, se, oa, T -> Cd stock, oleic acid, ODE, Se stock, TOP
        ([40.0, 40, 40, 300], [160.0, 605.7, 134.3, 160, 140]),  // the example: 1.92 mmol OA = 606 µL
        ([5.0, 5, 3, 210], [20.0, 5.7, 874.3, 20, 280]),
        ([10.0, 20, 10, 240], [40.0, 37.9, 822.1, 80, 220]),
        ([7.0, 30, 7.5, 255], [28.0, 19.9, 852.1, 120, 180]),
        ([50.0, 50, 20, 305], [200.0, 378.5, 321.5, 200, 100]),
        ([5.0, 50, 150, 310], [20.0, 283.9, 596.1, 200, 100]),
    ])
    func feasibleRecipes(factors: [Double], volumes: [Double]) throws {
        let requested = condition(cd: factors[0], se: factors[1], oa: factors[2], t: factors[3])
        let recipe = try published.compile(requested)
        #expect(recipe.cadmiumStockMicrolitres == volumes[0])
        #expect(recipe.oleicAcidMicrolitres == volumes[1])
        #expect(abs(recipe.octadeceneMicrolitres - volumes[2]) < 1e-9)
        #expect(recipe.seleniumStockMicrolitres == volumes[3])
        #expect(abs(recipe.injectionDiluentMicrolitres - volumes[4]) < 1e-9)
        #expect(recipe.injectionDiluent == .trioctylphosphine)
        #expect(recipe.chargeMicrolitres == 900 && recipe.injectionMicrolitres == 300 && recipe.totalMicrolitres == 1200)
        #expect(recipe.charge.map(\.reagent) == [.cadmiumStock, .oleicAcid, .octadecene])
        #expect(abs(recipe.charge.map(\.microlitres).reduce(0, +) - 900) < 1e-9)
        #expect(recipe.injection.map(\.reagent) == [.seleniumStock, .trioctylphosphine])
        // Concentrations the rounded volumes give in 1200 µL, against the request.
        let achieved = recipe.achieved
        #expect(achieved.cadmiumMillimolar == volumes[0] * 300 / 1200)
        #expect(achieved.seleniumMillimolar == volumes[3] * 300 / 1200)
        #expect(abs(achieved.oleicAcidPerCadmium - volumes[1] * 3170 / 1200 / achieved.cadmiumMillimolar) < 1e-9)
        #expect(abs(achieved.oleicAcidPerCadmium - requested.oleicAcidPerCadmium) / requested.oleicAcidPerCadmium < 0.01)
        #expect(achieved.temperatureCelsius == requested.temperatureCelsius)
        #expect(abs(recipe.totalOleateMillimolar - (recipe.freeOleicAcidMillimolar + 2 * achieved.cadmiumMillimolar)) < 1e-9)
    }

    /// What users read when a condition cannot be made (numbers worked by hand in the comments).
    @Test(arguments: [
        // 7500 mM OA x 1.2 mL / 3170 mM = 2839.1 µL; (900 - 200) x 3170 / 1200 / 50 = OA/Cd 37.
        (condition(cd: 50, se: 10, oa: 150, t: 270), RecipeError.Reason.charge,
         "[Cd] 50 mM, [Se] 10 mM, OA/Cd 150, 270 °C: infeasible recipe: the 900 µL charge needs 200 µL Cd stock "
            + "(300 mM) + 2839.1 µL oleic acid (3.17 M) = 3039.1 µL, 2139.1 µL more than it holds; at 50 mM Cd it fits OA/Cd up to 37"),
        // 5000 mM OA: 1892.7 µL.
        (condition(cd: 50, se: 50, oa: 100, t: 305), .charge,
         "[Cd] 50 mM, [Se] 50 mM, OA/Cd 100, 305 °C: infeasible recipe: the 900 µL charge needs 200 µL Cd stock "
            + "(300 mM) + 1892.7 µL oleic acid (3.17 M) = 2092.7 µL, 1192.7 µL more than it holds; at 50 mM Cd it fits OA/Cd up to 37"),
        // 240 mM Cd: 960 µL stock alone; 720 mM OA = 272.6 µL; 900 x 300 / 1200 = 225 mM.
        (condition(cd: 240, se: 10, oa: 3, t: 270), .charge,
         "[Cd] 240 mM, [Se] 10 mM, OA/Cd 3, 270 °C: infeasible recipe: the 900 µL charge needs 960 µL Cd stock "
            + "(300 mM) + 272.6 µL oleic acid (3.17 M) = 1232.6 µL, 332.6 µL more than it holds; even without oleic acid "
            + "it fits [Cd] up to 225 mM"),
        // 100 mM Se x 1200 / 300 = 400 µL; 300 x 300 / 1200 = 75 mM.
        (condition(cd: 10, se: 100, oa: 10, t: 270), .injection,
         "[Cd] 10 mM, [Se] 100 mM, OA/Cd 10, 270 °C: infeasible recipe: the 300 µL injection needs 400 µL Se stock "
            + "(300 mM), 100 µL more than it holds; it fits [Se] up to 75 mM"),
    ])
    func infeasibleRecipes(requested: SynthesisCondition, reason: RecipeError.Reason, message: String) {
        let error = #expect(throws: RecipeError.self) { try published.compile(requested) }
        #expect(error?.reason == reason)
        #expect(error?.description == message)
        #expect(error?.condition == requested)
    }

    /// The largest OA/Cd the message promises fits, and a little more does not.
    @Test func chargeLimitIsWhereTheMessageSaysItIs() throws {
        // At 50 mM: (900 - 200) µL x 3170 mM / 1200 µL / 50 mM = 36.98.
        _ = try published.compile(condition(cd: 50, se: 10, oa: 36.9, t: 270))
        #expect(throws: RecipeError.self) { try published.compile(condition(cd: 50, se: 10, oa: 37.1, t: 270)) }
        // [Se] 75 mM fills the injection exactly; 75.1 does not fit.
        let full = try published.compile(condition(cd: 10, se: 75, oa: 10, t: 270))
        #expect(full.seleniumStockMicrolitres == 300 && full.injectionDiluentMicrolitres == 0)
        #expect(full.injection.map(\.reagent) == [.seleniumStock])
        #expect(throws: RecipeError.self) { try published.compile(condition(cd: 10, se: 75.1, oa: 10, t: 270)) }
    }

    @Test func pumpResolutionRefusesRoundingThatMovesTheChemistry() {
        let coarse = RecipeCompiler(stocks: PrecursorStocks(), reactor: ReactorVolumes(), pumpResolutionMicrolitres: 1)
        // 15 mM OA x 1200 / 3170 = 5.678 µL -> 6 µL: OA/Cd 6 x 3170 / 1200 / 5 = 3.17, 5.7 % off.
        let rounding = #expect(throws: RecipeError.self) { try coarse.compile(condition(cd: 5, se: 5, oa: 3, t: 210)) }
        #expect(rounding?.reason == .pumpResolution)
        #expect(rounding?.description == "[Cd] 5 mM, [Se] 5 mM, OA/Cd 3, 210 °C: infeasible recipe: 5.678 µL oleic acid "
            + "rounds to 6 µL in the pump's 1 µL steps: OA/Cd 3.17 instead of 3, 5.7 % off (at most 1 % allowed)")
        // 0.05 mM Cd: 0.2 µL of stock, below one 1 µL step.
        let tooSmall = #expect(throws: RecipeError.self) { try coarse.compile(condition(cd: 0.05, se: 5, oa: 3, t: 210)) }
        #expect(tooSmall?.description == "[Cd] 0.05 mM, [Se] 5 mM, OA/Cd 3, 210 °C: infeasible recipe: 0.2 µL Cd stock "
            + "is below the pump's 1 µL resolution")
        // With a 10 % tolerance the same recipe is accepted, and its achieved ratio is the rounded one.
        let tolerant = RecipeCompiler(
            stocks: PrecursorStocks(), reactor: ReactorVolumes(), pumpResolutionMicrolitres: 1, maximumRelativeError: 0.1)
        let recipe = try? tolerant.compile(condition(cd: 5, se: 5, oa: 3, t: 210))
        #expect(recipe?.oleicAcidMicrolitres == 6)
        #expect(abs((recipe?.achieved.oleicAcidPerCadmium ?? 0) - 3.17) < 1e-9)
    }

    @Test func reactorAndStepChecks() {
        let overfull = RecipeCompiler(
            stocks: PrecursorStocks(), reactor: ReactorVolumes(chargeMicrolitres: 2900, injectionMicrolitres: 300),
            pumpResolutionMicrolitres: 0.1)
        let capacity = #expect(throws: RecipeError.self) { try overfull.compile(condition(cd: 10, se: 10, oa: 10, t: 240)) }
        #expect(capacity?.reason == .reactorCapacity)
        #expect(capacity?.message == "the 2900 µL charge + 300 µL injection = 3200 µL is more than the reactor's 3000 µL")
        let oddSteps = RecipeCompiler(stocks: PrecursorStocks(), reactor: ReactorVolumes(), pumpResolutionMicrolitres: 7)
        let step = #expect(throws: RecipeError.self) { try oddSteps.compile(condition(cd: 10, se: 10, oa: 10, t: 240)) }
        #expect(step?.reason == .volumeStep)
        #expect(step?.message == "the 900 µL charge is not a whole number of the pump's 7 µL steps")
    }

    /// With the stock's oleate counted, OA/Cd 10 at 10 mM Cd adds (10 - 2) x 10 = 80 mM of oleic acid.
    @Test func countingTheStocksOleate() throws {
        let counting = RecipeCompiler(
            stocks: PrecursorStocks(countsCadmiumOleate: true), reactor: ReactorVolumes(), pumpResolutionMicrolitres: 0.1)
        let recipe = try counting.compile(condition(cd: 10, se: 10, oa: 10, t: 240))
        #expect(recipe.oleicAcidMicrolitres == 30.3)  // 80 x 1200 / 3170 = 30.28
        #expect(abs(recipe.achieved.oleicAcidPerCadmium - (30.3 * 3170 / 1200 + 20) / 10) < 1e-9)
        let below = #expect(throws: RecipeError.self) { try counting.compile(condition(cd: 10, se: 10, oa: 1.5, t: 240)) }
        #expect(below?.reason == .oleateStoichiometry)
        #expect(below?.description == "[Cd] 10 mM, [Se] 10 mM, OA/Cd 1.5, 240 °C: infeasible recipe: the Cd-oleate "
            + "stock already brings 2 oleate per Cd (stocks.count_cd_oleate = true): OA/Cd must be at least 2")
    }

    @Test func odeCanDiluteTheInjection() throws {
        let compiler = RecipeCompiler(
            stocks: PrecursorStocks(injectionDiluent: .octadecene), reactor: ReactorVolumes(), pumpResolutionMicrolitres: 0.1)
        let recipe = try compiler.compile(condition(cd: 10, se: 10, oa: 10, t: 240))
        #expect(recipe.injection == [
            ReagentVolume(reagent: .seleniumStock, microlitres: 40), ReagentVolume(reagent: .octadecene, microlitres: 260),
        ])
    }

    /// The 256 experiments of the published grid (DESIGN §1) all compile; the fullest charge is
    /// 40 mM Cd at OA/Cd 40: 160 + 605.7 = 765.7 µL.
    @Test func publishedGridCompiles() throws {
        var fullest = 0.0
        for t in [210.0, 240, 270, 300] {
            for cd in [5.0, 10, 20, 40] {
                for se in [5.0, 10, 20, 40] {
                    for oa in [3.0, 10, 20, 40] {
                        let recipe = try published.compile(condition(cd: cd, se: se, oa: oa, t: t))
                        fullest = max(fullest, recipe.cadmiumStockMicrolitres + recipe.oleicAcidMicrolitres)
                        #expect(recipe.octadeceneMicrolitres >= 0 && recipe.injectionDiluentMicrolitres >= 0)
                    }
                }
            }
        }
        #expect(abs(fullest - 765.7) < 1e-9)
    }
}
