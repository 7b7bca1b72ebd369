import Foundation
import Testing

@testable import Campaign

/// Lines 1-2: [campaign]; lines 4-9: one experiment.
private let minimal = """
    [campaign]
    name = "t"

    [[experiment]]
    temperature_c = 240
    cd_mm = 10
    se_mm = 20
    oa_cd = 40
    """

private func parse(_ text: String) throws(CampaignFileError) -> CampaignFile {
    try CampaignFile.parse(text: text, path: "c.toml")
}

/// The error `text` gives, or nil when it parses.
private func failure(_ text: String) -> CampaignFileError? {
    do {
        _ = try parse(text)
        return nil
    } catch {
        return error
    }
}

@Suite struct CampaignFileTests {
    @Test func minimalFileTakesThePublishedDefaults() throws {
        let campaign = try parse(minimal)
        #expect(campaign.name == "t" && campaign.description == "")
        #expect(campaign.stocks == PrecursorStocks(
            cadmiumMillimolar: 300, seleniumMillimolar: 300, oleicAcidMolar: 3.17, injectionDiluent: .trioctylphosphine,
            countsCadmiumOleate: false))
        #expect(campaign.reactor == ReactorVolumes(chargeMicrolitres: 900, injectionMicrolitres: 300, capacityMicrolitres: 3000))
        #expect(campaign.schedule.sampleTimesSeconds == [
            10, 20, 30, 40, 50, 60, 80, 100, 120, 140, 160, 200, 240, 280, 330, 380, 450, 500, 550, 600,
        ])
        #expect(campaign.schedule.aliquotMicrolitres == 40)
        #expect(campaign.prediction == PredictionPolicy(anomaly: .log, intervalSigma: 3, targetPeakNanometres: nil, quench: false))
        #expect(campaign.design == .explicit([ListedCondition(
            name: nil, condition: SynthesisCondition(
                cadmiumMillimolar: 10, seleniumMillimolar: 20, oleicAcidPerCadmium: 40, temperatureCelsius: 240))]))
        #expect(campaign.designLine == 4)
        let plan = try campaign.plan(pumpResolutionMicrolitres: 0.1)
        #expect(plan.experiments == [PlannedExperiment(
            number: 1, name: "240C-Cd10-Se20-OA40",
            condition: SynthesisCondition(cadmiumMillimolar: 10, seleniumMillimolar: 20, oleicAcidPerCadmium: 40, temperatureCelsius: 240))])
    }

    @Test func everySectionWrittenOut() throws {
        let campaign = try parse("""
            [campaign]
            name = "full"
            description = "all keys"

            [stocks]
            cd_mm = 250
            se_mm = 400
            oa_molar = 3
            injection_diluent = "ODE"
            count_cd_oleate = true

            [reactor]
            charge_ul = 1000
            injection_ul = 250
            capacity_ul = 2000

            [schedule]
            sample_times_s = [5, 15.5, 30]
            settle_s = 30
            heat_timeout_s = 900
            cool_to_c = 60
            clean_cycles = 3
            aliquot_ul = 35

            [prediction]
            anomaly = "skip"
            interval_sigma = 2.5
            target_peak_nm = 520
            quench = true

            [[experiment]]
            name = "first"
            temperature_c = 250
            cd_mm = 8
            se_mm = 8
            oa_cd = 12.5
            """)
        #expect(campaign.description == "all keys")
        #expect(campaign.stocks == PrecursorStocks(
            cadmiumMillimolar: 250, seleniumMillimolar: 400, oleicAcidMolar: 3, injectionDiluent: .octadecene,
            countsCadmiumOleate: true))
        #expect(campaign.reactor == ReactorVolumes(chargeMicrolitres: 1000, injectionMicrolitres: 250, capacityMicrolitres: 2000))
        #expect(campaign.schedule == SamplingSchedule(
            sampleTimesSeconds: [5, 15.5, 30], settleSeconds: 30, heatTimeoutSeconds: 900, coolToCelsius: 60,
            cleanCycles: 3, aliquotMicrolitres: 35))
        #expect(campaign.prediction == PredictionPolicy(anomaly: .skip, intervalSigma: 2.5, targetPeakNanometres: 520, quench: true))
        let plan = try campaign.plan(pumpResolutionMicrolitres: 0.1)
        #expect(plan.experiments.map(\.name) == ["first"])
        // The file's stocks and reactor reach the compiler: 8 mM x 1250 µL / 250 mM = 40 µL.
        let recipe = try plan.entries[0].recipe.get()
        #expect(recipe.cadmiumStockMicrolitres == 40 && recipe.chargeMicrolitres == 1000)
        #expect(recipe.injectionDiluent == .octadecene)
    }

    /// The messages users read, with file and line.
    @Test(arguments: [
        (minimal.replacingOccurrences(of: "cd_mm = 10", with: "cd_mm = 500"),
         "c.toml:6: experiment[1].cd_mm = 500 is out of range: allowed more than 0, up to 200 (mM)"),
        (minimal.replacingOccurrences(of: "temperature_c = 240", with: "temperature_c = 450"),
         "c.toml:5: experiment[1].temperature_c = 450 is out of range: allowed 20 to 400 (°C)"),
        (minimal.replacingOccurrences(of: "oa_cd = 40", with: "oa_cd = \"lots\""),
         "c.toml:8: experiment[1].oa_cd = \"lots\" has the wrong type: expected a number, found a string"),
        (minimal.replacingOccurrences(of: "se_mm = 20", with: "se_mM = 20"),
         "c.toml:7: unknown key experiment[1].se_mM; allowed: name, temperature_c, cd_mm, se_mm, oa_cd"),
        (minimal.replacingOccurrences(of: "se_mm = 20\n", with: ""),
         "c.toml:4: missing required key experiment[1].se_mm: a number, allowed more than 0, up to 200 (mM)"),
        (minimal + "\n\n[stocks]\noa_molar = 4",
         "c.toml:11: stocks.oa_molar = 4 is out of range: allowed more than 0, up to 3.17 (M)"),
        (minimal + "\n\n[stocks]\ninjection_diluent = \"water\"",
         "c.toml:11: stocks.injection_diluent = \"water\" is not one of the allowed values: \"TOP\", \"ODE\""),
        (minimal + "\n\n[reactor]\ncharge_ul = 2800\ninjection_ul = 300",
         "c.toml:11: reactor.charge_ul + reactor.injection_ul = 2800 + 300 = 3100 µL is more than reactor.capacity_ul = 3000 µL"),
        (minimal + "\n\n[schedule]\nsample_times_s = [10, 20, 5000]",
         "c.toml:11: schedule.sample_times_s[3] = 5000 is out of range: allowed more than 0, up to 3600 (s)"),
        (minimal + "\n\n[schedule]\nsample_times_s = [10, 30, 20]",
         "c.toml:11: schedule.sample_times_s must increase: schedule.sample_times_s[3] = 20 follows 30"),
        (minimal + "\n\n[schedule]\naliquot_ul = 60",
         "c.toml:11: 20 aliquots x schedule.aliquot_ul = 60 µL = 1200 µL would empty the reactor's 1200 µL"),
        (minimal + "\n\n[schedule]\nclean_cycles = 11",
         "c.toml:11: schedule.clean_cycles = 11 is out of range: allowed 0 to 10"),
        (minimal + "\n\n[prediction]\nanomaly = \"panic\"",
         "c.toml:11: prediction.anomaly = \"panic\" is not one of the allowed values: \"log\", \"skip\", \"abort\""),
        (minimal + "\n\n[prediction]\nquench = true",
         "c.toml:11: prediction.quench = true needs prediction.target_peak_nm: the absorption peak (nm) at which to stop sampling and cool"),
        (minimal + "\n\n[prediction]\ntarget_peak_nm = 900",
         "c.toml:11: prediction.target_peak_nm = 900 is out of range: allowed 400 to 700 (nm)"),
        (minimal + "\n\n[reactr]\ncharge_ul = 900",
         "c.toml:10: unknown section [reactr]; allowed: campaign, stocks, reactor, schedule, prediction, experiment, design"),
        ("name = \"x\"\n" + minimal,
         "c.toml:1: unknown key name outside any section; allowed sections: campaign, stocks, reactor, schedule, prediction, experiment, design"),
        ("[campaign]\nname = \"t\"",
         "c.toml: the campaign has no experiments: add [[experiment]] tables (temperature_c, cd_mm, se_mm, oa_cd) or a [design] "
            + "section (kind = \"grid\", \"random\", \"latin-hypercube\", \"sobol\" or \"adaptive\")"),
        (minimal.replacingOccurrences(of: "name = \"t\"", with: "title = \"t\""),
         "c.toml:2: unknown key campaign.title; allowed: name, description"),
        (minimal.replacingOccurrences(of: "cd_mm = 10", with: "cd_mm = 017"),
         "c.toml:6:9: invalid number 017: leading zeros are not allowed"),
    ])
    func errorsNameFileLineKeyAndRange(text: String, expected: String) {
        #expect(failure(text)?.description == expected)
    }

    @Test func errorCarriesTheKey() {
        let error = failure(minimal + "\n\n[stocks]\noa_molar = 4")
        #expect(error == CampaignFileError(
            file: "c.toml", line: 11, key: "stocks.oa_molar",
            message: "stocks.oa_molar = 4 is out of range: allowed more than 0, up to 3.17 (M)"))
    }

    @Test func designErrors() {
        let grid = """
            [campaign]
            name = "g"

            [design]
            kind = "grid"
            temperature_c = [240]
            cd_mm = [10]
            se_mm = [10]
            oa_cd = [10]
            """
        #expect(failure(grid.replacingOccurrences(of: "\"grid\"", with: "\"factorial\""))?.description
            == "c.toml:5: design.kind = \"factorial\" is not one of the allowed values: \"grid\", \"random\", "
            + "\"latin-hypercube\", \"sobol\", \"adaptive\"")
        #expect(failure(grid + "\nseed = 4")?.description
            == "c.toml:10: unknown key design.seed; allowed with kind = \"grid\": kind, temperature_c, cd_mm, se_mm, oa_cd, constraints")
        #expect(failure(grid.replacingOccurrences(of: "oa_cd = [10]", with: "oa_cd = []"))?.description
            == "c.toml:9: design.oa_cd must not be empty")
        #expect(failure(grid + "\nconstraints = [\"temperature_c <= 280\", \"temp < 3\"]")?.description
            == "c.toml:10: design.constraints[2] = \"temp < 3\": unknown factor \"temp\"; factors: temperature_c, cd_mm, se_mm, oa_cd")
        #expect(failure(grid + "\n\n" + "[[experiment]]\ntemperature_c = 240\ncd_mm = 10\nse_mm = 20\noa_cd = 40")?.description
            == "c.toml:4: the campaign has both [[experiment]] tables and [design] kind = \"grid\": use one, "
            + "or kind = \"adaptive\" where the [[experiment]] tables are the initial design")

        let sobol = """
            [campaign]
            name = "s"

            [design]
            kind = "sobol"
            n = 8
            temperature_c = [210, 300]
            cd_mm = [40, 5]
            se_mm = 10
            oa_cd = [3, 40]
            """
        #expect(failure(sobol)?.description
            == "c.toml:8: design.cd_mm = [40, 5]: the low bound is above the high bound")
        #expect(failure(sobol.replacingOccurrences(of: "cd_mm = [40, 5]", with: "cd_mm = [5, 10, 20]"))?.description
            == "c.toml:8: design.cd_mm = [5, 10, 20] must be [low, high] (or one number to fix the factor), found 3 values")
        #expect(failure(sobol.replacingOccurrences(of: "cd_mm = [40, 5]", with: "cd_mm = [5, 250]"))?.description
            == "c.toml:8: design.cd_mm[2] = 250 is out of range: allowed more than 0, up to 200 (mM)")
        #expect(failure(sobol.replacingOccurrences(of: "n = 8\n", with: "seed = 1\n"))?.description
            == "c.toml:6: unknown key design.seed; allowed with kind = \"sobol\": kind, n, temperature_c, cd_mm, se_mm, oa_cd, constraints")
        #expect(failure(sobol.replacingOccurrences(of: "n = 8\n", with: "").replacingOccurrences(of: "[40, 5]", with: "[5, 40]"))?.description
            == "c.toml:4: missing required key design.n: an integer, allowed 1 to 100000")
    }

    @Test func adaptiveDesignParses() throws {
        let campaign = try parse("""
            [campaign]
            name = "a"

            [design]
            kind = "adaptive"
            rounds = 3
            per_round = 4
            target_peak_nm = 540
            seed = 7
            temperature_c = [210, 300]
            cd_mm = [5, 40]
            se_mm = [5, 40]
            oa_cd = [3, 40]
            constraints = ["temperature_c <= 280"]

            [design.initial]
            kind = "latin-hypercube"
            n = 6
            """)
        guard case .adaptive(let adaptive) = campaign.design else {
            Issue.record("expected an adaptive design, got \(campaign.design.kind)")
            return
        }
        #expect(adaptive.rounds == 3 && adaptive.perRound == 4 && adaptive.targetPeakNanometres == 540)
        #expect(adaptive.candidates == 10_000 && adaptive.exploration == 1 && adaptive.seed == 7)
        // The initial design inherits the region, the constraints and the seed.
        let space = FactorSpace(
            temperatureCelsius: 210...300, cadmiumMillimolar: 5...40, seleniumMillimolar: 5...40, oleicAcidPerCadmium: 3...40)
        #expect(adaptive.space == space)
        #expect(adaptive.initial == .latinHypercube(SampledDesign(
            count: 6, seed: 7, space: space, constraints: [try DesignConstraint.parse("temperature_c <= 280")])))
        #expect(campaign.adaptivePlanner(pumpResolutionMicrolitres: 0.1)?.isFinished == false)
    }

    @Test func adaptiveDesignNeedsAnInitialDesign() {
        let adaptive = """
            [campaign]
            name = "a"

            [design]
            kind = "adaptive"
            rounds = 3
            per_round = 4
            target_peak_nm = 540
            seed = 7
            temperature_c = [210, 300]
            cd_mm = [5, 40]
            se_mm = [5, 40]
            oa_cd = [3, 40]
            """
        #expect(failure(adaptive)?.description
            == "c.toml:4: missing the initial design of kind = \"adaptive\": add [design.initial] (kind = \"grid\", "
            + "\"random\", \"latin-hypercube\" or \"sobol\") or [[experiment]] tables")
        #expect(failure(adaptive + "\n\n[design.initial]\nkind = \"adaptive\"")?.description
            == "c.toml:16: design.initial.kind = \"adaptive\" is not one of the allowed values: \"grid\", \"random\", "
            + "\"latin-hypercube\", \"sobol\"")
        // [[experiment]] tables are the initial design of an adaptive campaign.
        let withList = try? parse(adaptive + "\n\n[[experiment]]\ntemperature_c = 240\ncd_mm = 10\nse_mm = 20\noa_cd = 40")
        guard case .adaptive(let design)? = withList?.design else {
            Issue.record("expected an adaptive design")
            return
        }
        #expect(design.initial.kind == .explicit)
    }
}
