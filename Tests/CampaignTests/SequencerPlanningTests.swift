import Testing

@testable import Campaign

@Suite("Sequencer plans from recipes")
struct SequencerPlanningTests {
    @Test("a compiled recipe and the campaign's schedule become the sequencer's plan")
    func planFromRecipe() throws {
        let compiler = RecipeCompiler(stocks: PrecursorStocks(), reactor: ReactorVolumes(), pumpResolutionMicrolitres: 0.1)
        let recipe = try compiler.compile(
            SynthesisCondition(cadmiumMillimolar: 10, seleniumMillimolar: 10, oleicAcidPerCadmium: 10, temperatureCelsius: 240))
        let schedule = SamplingSchedule(
            sampleTimesSeconds: [10, 20, 30], settleSeconds: 45, heatTimeoutSeconds: 1200, coolToCelsius: 70, cleanCycles: 3)
        let prediction = PredictionPolicy(anomaly: .skip, intervalSigma: 2.5, targetPeakNanometres: 540, quench: true)
        let plan = HotInjectionSequencer.Plan(
            experimentNumber: 4, recipe: recipe, schedule: schedule, prediction: prediction, rig: SequencerRigSettings())
        // 1200 µL final: Cd 10 mM from 300 mM = 40 µL; OA 100 mM from 3.17 M = 37.85 µL; Se 40 µL
        // topped with 260 µL TOP; ODE fills the 900 µL charge.
        #expect(plan.charge.map(\.reagent) == ["cd_stock", "oleic_acid", "ode"])
        #expect(abs(plan.charge[0].microlitres - 40) < 1e-9)
        #expect(abs(plan.charge[1].microlitres - 37.85) <= 0.1)
        #expect(abs(plan.charge.reduce(0) { $0 + $1.microlitres } - 900) < 1e-6)
        #expect(plan.injection == [.init(reagent: "se_stock", microlitres: 40), .init(reagent: "top", microlitres: 260)])
        #expect(plan.reactorCelsius == 240 && plan.experimentNumber == 4)
        #expect(plan.sampleTimes == [10, 20, 30] && plan.settleSeconds == 45 && plan.coolToCelsius == 70)
        #expect(plan.cleanCycles == 3 && plan.timeouts.heating == 1200)
        #expect(plan.anomalyPolicy == .skip && plan.quenchAtTarget)
        let settings = CampaignRunSettings(prediction: prediction)
        #expect(settings.intervalSigma == 2.5 && settings.targetPeakNanometres == 540)
    }

    @Test("an infeasible recipe becomes a skipped experiment with the compiler's message")
    func infeasibleIsSkipped() {
        let compiler = RecipeCompiler(stocks: PrecursorStocks(), reactor: ReactorVolumes(), pumpResolutionMicrolitres: 0.1)
        // [Cd] 50 mM at OA/Cd 150: 7.5 M of oleic acid, more than pure oleic acid (3.17 M).
        let condition = SynthesisCondition(cadmiumMillimolar: 50, seleniumMillimolar: 10, oleicAcidPerCadmium: 150, temperatureCelsius: 240)
        let experiment = PlannedExperiment(number: 2, name: "too much OA", condition: condition)
        let entry = PlannedRecipe(experiment: experiment, recipe: compiler.result(for: condition))
        let runnable = RunnableExperiment(entry, schedule: SamplingSchedule(), prediction: PredictionPolicy(), rig: SequencerRigSettings())
        #expect(runnable.plan == nil)
        guard case .failure(let error) = compiler.result(for: condition) else {
            Issue.record("the recipe should be infeasible")
            return
        }
        #expect(runnable.skipReason == error.description)
    }
}
