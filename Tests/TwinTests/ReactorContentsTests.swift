import Testing
@testable import Twin

@Suite struct ReactorContentsTests {
    /// A grid recipe by hand: 40 mM Cd from 300 mM stock in 1200 µL is 160 µL; OA/Cd 10 at 40 mM
    /// is 0.48 mmol of 3170 mM OA (151.4 µL); 300 µL of 80 mM TOP-Se gives 20 mM Se; ODE the rest.
    func loaded(injectAt seconds: Double = 100) -> ReactorContents {
        let contents = ReactorContents(stocks: ReagentStocks(cadmiumMillimolar: 300, seleniumMillimolar: 80))
        let oleicAcid = 10 * 40 * 1200 / 3170.0
        contents.deliver(reagent: .cadmiumOleate, microlitres: 160, at: 1)
        contents.deliver(reagent: .oleicAcid, microlitres: oleicAcid, at: 2)
        contents.deliver(reagent: .octadecene, microlitres: 900 - 160 - oleicAcid, at: 3)
        contents.deliver(reagent: .trioctylphosphineSelenide, microlitres: 300, at: seconds)
        return contents
    }

    @Test func concentrationsFollowTheDeliveredVolumes() throws {
        let contents = loaded()
        #expect(Swift.abs(contents.volumeMicrolitres - 1200) < 1e-9)
        #expect(Swift.abs(contents.cadmiumMillimolar - 40) < 1e-9)
        #expect(Swift.abs(contents.seleniumMillimolar - 20) < 1e-9)
        #expect(Swift.abs(try #require(contents.oleicAcidPerCadmium) - 10) < 1e-9)
        #expect(contents.injectionSeconds == 100)
        #expect(contents.injectionCount == 1)
        #expect(contents.deliveredMicrolitres(of: .trioctylphosphineSelenide) == 300)
        #expect(!contents.overfilled)
    }

    @Test func beforeInjectionThereIsNoSelenium() {
        let contents = ReactorContents(stocks: ReagentStocks(cadmiumMillimolar: 300, seleniumMillimolar: 80))
        contents.deliver(reagent: .cadmiumOleate, microlitres: 160, at: 1)
        contents.deliver(reagent: .octadecene, microlitres: 740, at: 2)
        #expect(contents.injectionSeconds == nil)
        #expect(contents.seleniumMillimolar == 0)
        #expect(Swift.abs(contents.cadmiumMillimolar - 300 * 160 / 900) < 1e-9)
        // A pump reporting its injection in parts: the first part is the injection.
        contents.deliver(reagent: .trioctylphosphineSelenide, microlitres: 100, at: 50)
        contents.deliver(reagent: .trioctylphosphineSelenide, microlitres: 200, at: 50.5)
        #expect(contents.injectionSeconds == 50)
        #expect(Swift.abs(contents.seleniumMillimolar - 20) < 1e-9)
    }

    @Test func withdrawalsKeepTheConcentrations() {
        let contents = loaded()
        for k in 0..<20 { contents.withdraw(microlitres: 40, at: 110 + Double(k)) }
        #expect(Swift.abs(contents.volumeMicrolitres - 400) < 1e-9)
        #expect(Swift.abs(contents.withdrawnMicrolitres - 800) < 1e-9)
        #expect(Swift.abs(contents.cadmiumMillimolar - 40) < 1e-9)
        #expect(Swift.abs(contents.seleniumMillimolar - 20) < 1e-9)
        #expect(Swift.abs(contents.microlitres(of: .cadmiumOleate) - 160.0 / 3) < 1e-9)
        // No more than there is.
        #expect(Swift.abs(contents.withdraw(microlitres: 1000, at: 200) - 400) < 1e-9)
        #expect(contents.withdraw(microlitres: 40, at: 201) == 0)
    }

    @Test func cleaningEmptiesTheReactorAndEndsTheExperiment() {
        let contents = loaded()
        contents.clean(at: 800)
        #expect(contents.volumeMicrolitres == 0)
        #expect(contents.injectionSeconds == nil)
        #expect(contents.cadmiumMillimolar == 0)
        #expect(contents.oleicAcidPerCadmium == nil)
        #expect(contents.deliveredMicrolitres(of: .cadmiumOleate) == 0)
        contents.deliver(reagent: .cadmiumOleate, microlitres: 80, at: 900)
        contents.deliver(reagent: .trioctylphosphineSelenide, microlitres: 300, at: 1000)
        #expect(contents.injectionSeconds == 1000)
        #expect(contents.injectionCount == 2)
    }

    @Test func stockOleateCountsWhenAsked() throws {
        let contents = ReactorContents(stocks: ReagentStocks(cadmiumMillimolar: 300, seleniumMillimolar: 80, oleatePerCadmiumInStock: 2))
        contents.deliver(reagent: .cadmiumOleate, microlitres: 100, at: 0)
        contents.deliver(reagent: .oleicAcid, microlitres: 100 * 300 * 3 / 3170, at: 0)
        #expect(Swift.abs(try #require(contents.oleicAcidPerCadmium) - 5) < 1e-9)
    }

    @Test func overfillingIsRecorded() {
        let contents = ReactorContents(stocks: ReagentStocks(cadmiumMillimolar: 300, seleniumMillimolar: 80), capacityMicrolitres: 1000)
        contents.deliver(reagent: .octadecene, microlitres: 1000, at: 0)
        #expect(!contents.overfilled)
        contents.deliver(reagent: .octadecene, microlitres: 1, at: 1)
        #expect(contents.overfilled)
    }
}

@Suite struct ReactorChemistryTests {
    /// A reactor temperature the test sets.
    final class Temperature {
        var celsius = 240.0
    }

    func chemistry(_ temperature: Temperature, contents: ReactorContents) -> ReactorChemistry {
        ReactorChemistry(contents: contents, seed: 1, runToRun: .none, perAliquot: .none) { _ in temperature.celsius }
    }

    @Test func aConstantTemperatureIsTheGrowthTemperature() throws {
        let temperature = Temperature()
        let contents = ReactorContentsTests().loaded(injectAt: 100)
        let chemistry = chemistry(temperature, contents: contents)
        #expect(chemistry.effectiveCelsius(at: 99) == nil)
        #expect(chemistry.outcome(at: 99) == .noSignal)
        let condition = try #require(chemistry.condition(at: 160))
        #expect(condition.reactorCelsius == 240)
        #expect(Swift.abs(condition.cadmiumMillimolar - 40) < 1e-9)
        // The model's outcome at 60 s after injection, without scatter.
        let expected = CdSeGrowthModel.calibrated.outcome(condition, secondsSinceInjection: 60)
        #expect(chemistry.outcome(at: 160) == expected)
    }

    /// The injection drop counts as the set point; what happens after the recovery counts as it is.
    @Test func theTemperatureHistoryAfterRecoveryMovesTheGrowthTemperature() throws {
        let temperature = Temperature()
        let contents = ReactorContents(stocks: ReagentStocks(cadmiumMillimolar: 300, seleniumMillimolar: 80))
        let chemistry = chemistry(temperature, contents: contents)
        chemistry.deliver(reagent: .cadmiumOleate, microlitres: 80, at: 0)
        chemistry.observeTemperature(at: 99)
        chemistry.deliver(reagent: .trioctylphosphineSelenide, microlitres: 300, at: 100)
        // The drop: 20 °C colder for the recovery window.
        temperature.celsius = 220
        chemistry.observeTemperature(at: 110)
        temperature.celsius = 240
        chemistry.observeTemperature(at: 130)
        #expect(try #require(chemistry.effectiveCelsius(at: 130)) == 240)
        // A stuck heater: 260 °C from 130 s on (the samples are a step at 130 s, then flat).
        temperature.celsius = 260
        chemistry.observeTemperature(at: 130.000001)
        let effective = try #require(chemistry.effectiveCelsius(at: 230))
        // (240 × 30 + 260 × 100) / 130, to the trapezoid's microsecond ramp.
        #expect(Swift.abs(effective - (240 * 30 + 260 * 100) / 130.0) < 1e-3)
    }

    @Test func eachInjectionIsANewRun() {
        let contents = ReactorContentsTests().loaded(injectAt: 100)
        let chemistry = ReactorChemistry(contents: contents, seed: 5) { _ in 270 }
        let first = chemistry.outcome(at: 160)
        contents.clean(at: 700)
        #expect(chemistry.outcome(at: 701) == .noSignal)
        contents.deliver(reagent: .cadmiumOleate, microlitres: 160, at: 800)
        contents.deliver(reagent: .oleicAcid, microlitres: 10 * 40 * 1200 / 3170.0, at: 800)
        contents.deliver(reagent: .octadecene, microlitres: 900 - 160 - 10 * 40 * 1200 / 3170.0, at: 800)
        contents.deliver(reagent: .trioctylphosphineSelenide, microlitres: 300, at: 900)
        let second = chemistry.outcome(at: 960)
        // Same condition and time, another run: another offset.
        #expect(first.exciton != nil && second.exciton != nil)
        #expect(first.exciton?.peakNanometres != second.exciton?.peakNanometres)
        let a = 1239.84193 / first.exciton!.peakNanometres
        let b = 1239.84193 / second.exciton!.peakNanometres
        #expect(Swift.abs(a - b) < 0.02)
    }
}
