import Foundation
import Spectra
import Testing

@testable import Campaign

@Suite("Summary table and progress line")
struct SummaryTableTests {
    static func summary() -> ResultsSummary {
        let condition = SynthesisCondition(cadmiumMillimolar: 10, seleniumMillimolar: 20, oleicAcidPerCadmium: 10.002, temperatureCelsius: 240)
        let completed = ResultsSummary.Experiment(
            number: 1, name: "grid-1", condition: condition, outcome: .completed, aliquots: 20, fittedAbsorbance: 20,
            fittedEmission: 19, anomalies: 2, safetyTrips: 0, finalAbsorbanceSeconds: 600.001,
            finalAbsorbance: ResultsSummary.Peak(peakNanometres: 512.34, fwhmNanometres: 30, peakElectronvolts: 2.42, fwhmElectronvolts: 0.12, height: 0.1),
            finalEmissionSeconds: 600.001,
            finalEmission: ResultsSummary.Peak(peakNanometres: 530.06, fwhmNanometres: 25, peakElectronvolts: 2.339, fwhmElectronvolts: 0.1, height: 900),
            finalPredictionSeconds: 600.001,
            finalPrediction: AliquotPrediction(
                peakElectronvolts: 2.415, peakSpreadElectronvolts: 0.012, fwhmElectronvolts: 0.118, fwhmSpreadElectronvolts: 0.004))
        let failed = ResultsSummary.Experiment(
            number: 2, name: "grid-2", condition: condition, outcome: .failed(reason: "thermocouple open"), aliquots: 3,
            fittedAbsorbance: 0, fittedEmission: 0, anomalies: 0, safetyTrips: 1, finalAbsorbanceSeconds: nil, finalAbsorbance: nil,
            finalEmissionSeconds: nil, finalEmission: nil, finalPredictionSeconds: nil, finalPrediction: nil)
        return ResultsSummary(
            campaign: "demo", predictionKind: .absorbance, planned: 3, experiments: [completed, failed],
            safetyTripsOutsideExperiments: 0, virtualSeconds: 1234.5, wallSeconds: 2.25)
    }

    static func cells(_ line: String) -> [String] {
        line.components(separatedBy: "  ").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    @Test("one row per experiment: condition, outcome, final peak and FWHM measured vs predicted, anomalies")
    func rows() {
        let lines = SummaryTable.lines(Self.summary())
        #expect(lines.count == 2 + 2 + 1 + 1)
        #expect(Self.cells(lines[0]) == [
            "#", "experiment", "condition", "outcome", "abs peak nm", "eV", "predicted eV", "Δ meV", "FWHM eV", "predicted",
            "PL peak nm", "anomalies",
        ])
        #expect(Self.cells(lines[2]) == [
            "1", "grid-1", "Cd 10 Se 20 OA/Cd 10.002 240 °C", "completed", "512.3", "2.420", "2.415 ± 0.012", "+5.0", "0.120",
            "0.118", "530.1", "2",
        ])
        #expect(Self.cells(lines[3]) == ["2", "grid-2", "Cd 10 Se 20 OA/Cd 10.002 240 °C", "failed", "-", "-", "-", "-", "-", "-", "-", "0"])
        #expect(lines[4] == "experiment 2 failed: thermocouple open")
        #expect(lines[5] == "2 of 3 experiments run: 1 completed, 1 failed, 0 skipped · 2 anomalies · 1 safety trip · 20 min 35 s of rig time in 2.3 s")
    }

    @Test("the table's columns line up: numbers right-aligned to the header's edge")
    func alignment() {
        let lines = SummaryTable.lines(Self.summary()).prefix(4)
        #expect(Set(lines.map(\.count)).count == 1)
        let header = lines.first!
        let anomaliesEnd = header.count
        for line in lines { #expect(line.count == anomaliesEnd) }
    }

    @Test("progress line with every part, and with only the required ones")
    func progressLine() {
        #expect(
            SummaryTable.progressLine(
                experiment: 3, of: 256, name: "grid-003", phase: "sampling", aliquot: (7, 20), reactorCelsius: 239.84,
                lastPeakNanometres: 512.34, remainingSeconds: 3720)
                == "[  3/256] expt 3 grid-003 · sampling 7/20 · reactor 239.8 °C · last peak 512.3 nm (2.420 eV) · ETA 1 h 02 min")
        #expect(
            SummaryTable.progressLine(
                experiment: 1, of: 5, name: "", phase: "heating", reactorCelsius: nil, lastPeakNanometres: nil, remainingSeconds: nil)
                == "[1/5] expt 1 · heating")
    }

    @Test(
        "durations", arguments: [(12.34, "12.3 s"), (59.96, "1 min 00 s"), (185, "3 min 05 s"), (3600, "1 h 00 min"), (7620, "2 h 07 min"), (-1, "-")]
            as [(Double, String)])
    func durations(seconds: Double, text: String) {
        #expect(SummaryTable.duration(seconds) == text)
    }

    @Test("remaining time at the pace so far")
    func remaining() {
        #expect(SummaryTable.remainingSeconds(elapsedSeconds: 100, fractionDone: 0.25) == 300)
        #expect(SummaryTable.remainingSeconds(elapsedSeconds: 100, fractionDone: 1) == 0)
        #expect(SummaryTable.remainingSeconds(elapsedSeconds: 100, fractionDone: 0) == nil)
    }

    @Test("summary.json of a summary built by hand parses and carries its values")
    func jsonOfHandBuiltSummary() throws {
        let text = Self.summary().json()
        let json = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(json["experiments_run"] as? Int == 2)
        #expect(json["safety_trips"] as? Int == 1)
        let experiments = try #require(json["experiments"] as? [[String: Any]])
        let final = try #require(experiments[0]["final"] as? [String: Any])
        #expect(abs((final["peak_error_eV"] as? Double ?? 0) - 0.005) < 1e-12)
        #expect(abs((final["fwhm_error_eV"] as? Double ?? 0) - 0.002) < 1e-12)
        #expect((final["pl"] as? [String: Any])?["peak_nm"] as? Double == 530.06)
    }
}
