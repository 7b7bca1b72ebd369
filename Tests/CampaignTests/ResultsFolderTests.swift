import Foundation
import Learning
import Spectra
import Testing

@testable import Campaign

/// Records, spectra and folders for the results-folder tests.
enum ResultsFixtures {
    static let dataFolder = "/work/shared/data/cdse"
    static let schedule: [Double] = [10, 20, 30, 40, 50, 60, 80, 100, 120, 140, 160, 200, 240, 280, 330, 380, 450, 500, 550, 600]
    /// 61 pixels, 400 to 700 nm by 5.
    static let axis: [Double] = (0...60).map { 400 + 5 * Double($0) }

    static func condition(_ temperature: Double = 240) -> SynthesisCondition {
        SynthesisCondition(cadmiumMillimolar: 10, seleniumMillimolar: 20, oleicAcidPerCadmium: 10.002, temperatureCelsius: temperature)
    }

    static func experiment(_ number: Int, _ temperature: Double = 240) -> PlannedExperiment {
        PlannedExperiment(number: number, name: "grid-\(number)", condition: condition(temperature))
    }

    static func peak(nm: Double, fwhmNM: Double = 28, height: Double = 0.1) -> PeakParameters {
        PeakParameters(
            peakNanometres: nm, fwhmNanometres: fwhmNM, peakElectronvolts: PhotonEnergy.electronvolts(nanometres: nm),
            fwhmElectronvolts: PhotonEnergy.fwhmElectronvolts(peakNanometres: nm, fwhmNanometres: fwhmNM), height: height,
            residual: 0.001, peakUncertaintyNanometres: 0.1, iterations: 7)
    }

    /// A spectrum on `axis`: a Gaussian at the peak (or a flat line when not fitted).
    static func measurement(_ kind: Spectra.SpectrumKind, _ peak: PeakParameters?, status: PeakStatus = .ok, offset: Double = 0) -> AliquotMeasurement {
        let fit = peak.map { PeakFit.ok(kind, $0) } ?? PeakFit.rejected(kind, status == .ok ? .tooWeak : status, .belowMinimumHeight)
        let centre = peak?.peakNanometres ?? 500
        let processed = axis.map { x in 0.05 + offset + (peak?.height ?? 0) * exp(-(x - centre) * (x - centre) / 200) }
        let raw = processed.map { 1000 + 20000 * $0 }
        return AliquotMeasurement(fit: fit, rawCounts: raw, processed: processed, wavelengthsNanometres: axis)
    }

    static func record(
        experiment: Int, index: Int, absorbanceNM: Double?, emissionNM: Double?, prediction: AliquotPrediction? = nil,
        anomaly: String? = nil, withdrawnExtra: Double = 0.001
    ) -> AliquotRecord {
        let scheduled = schedule[index - 1]
        return AliquotRecord(
            experimentNumber: experiment, index: index, scheduledSeconds: scheduled, withdrawnSeconds: scheduled + withdrawnExtra,
            valveOpenMilliseconds: 120.5, withdrawnMicrolitres: 40.2, reactorCelsius: 239.87, ambientCelsius: 21.86,
            absorbance: measurement(.absorbance, absorbanceNM.map { peak(nm: $0) }),
            photoluminescence: measurement(.emission, emissionNM.map { peak(nm: $0, fwhmNM: 25, height: 500) }, offset: Double(index)),
            prediction: prediction, anomaly: anomaly)
    }

    /// A new, empty folder name under the system's temporary folder (not created).
    static func folderPath() -> String {
        NSTemporaryDirectory() + "aliquot-results-" + UUID().uuidString
    }

    static func remove(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    static func text(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8)
    }

    static func firstLine(_ path: String) throws -> String {
        String(try text(path).split(separator: "\n", omittingEmptySubsequences: false)[0])
    }
}

@Suite("Results folder: published schema, durability, summary")
struct ResultsFolderTests {
    typealias F = ResultsFixtures

    @Test("uv.csv and pl.csv headers are the published files' headers, byte for byte")
    func headersMatchPublished() throws {
        let path = F.folderPath()
        defer { F.remove(path) }
        let folder = try ResultsFolder(path: path)
        try folder.campaignStarted(name: "t", experiments: [F.experiment(1)])
        try folder.close()
        #expect(try F.firstLine(path + "/uv.csv") == F.firstLine(F.dataFolder + "/uv_train_val.csv"))
        #expect(try F.firstLine(path + "/pl.csv") == F.firstLine(F.dataFolder + "/pl_train_val.csv"))
    }

    /// Every row of the published files, fed back through the row writer, gives the same bytes:
    /// the column order and the number formatting (2 decimals for T_external, 3 elsewhere,
    /// trailing zeros dropped) are the published ones.
    @Test("published rows round-trip byte for byte", arguments: ["uv_train_val.csv", "pl_train_val.csv"])
    func publishedRowsRoundTrip(file: String) throws {
        let lines = try F.text(F.dataFolder + "/" + file).split(separator: "\n").dropFirst()
        #expect(lines.count > 4000)
        let absorbance = file.hasPrefix("uv")
        for line in lines {
            let values = line.split(separator: ",").map { Double($0)! }
            let record = AliquotRecord(
                experimentNumber: Int(values[0]), index: 1, scheduledSeconds: values[6].rounded(), withdrawnSeconds: values[6],
                valveOpenMilliseconds: 0, withdrawnMicrolitres: 0, reactorCelsius: values[5], ambientCelsius: values[1],
                absorbance: nil, photoluminescence: nil, prediction: nil, anomaly: nil)
            let condition = SynthesisCondition(
                cadmiumMillimolar: values[2], seleniumMillimolar: values[3], oleicAcidPerCadmium: values[4], temperatureCelsius: values[5])
            let energies = absorbance ? (values[10], values[11]) : (values[9], values[10])
            let peak = PeakParameters(
                peakNanometres: values[7], fwhmNanometres: values[8], peakElectronvolts: energies.0, fwhmElectronvolts: energies.1,
                height: values[values.count - 1], residual: 0, peakUncertaintyNanometres: 0, iterations: 0)
            let row = ResultsFolder.publishedRow(record, condition, peak, repeatHeight: absorbance)
            #expect(String(decoding: row, as: UTF8.self) == line + "\n")
            if String(decoding: row, as: UTF8.self) != line + "\n" { return }
        }
    }

    @Test("rows only for fitted spectra; the files load with Learning's CSVTable and SynthesisDataset")
    func rowsLoadWithTheTrainersReader() throws {
        let path = F.folderPath()
        defer { F.remove(path) }
        let folder = try ResultsFolder(path: path)
        try folder.campaignStarted(name: "t", experiments: [F.experiment(1), F.experiment(2, 270)])
        var expectedAbsorbance: [(Int, Double)] = []
        var expectedEmission: [(Int, Double)] = []
        for number in 1...2 {
            try folder.experimentStarted(F.experiment(number, number == 1 ? 240 : 270))
            for index in 1...20 {
                // Every third absorbance and every fourth PL spectrum too weak to fit.
                let absorbance: Double? = index % 3 == 0 ? nil : 450 + Double(index)
                let emission: Double? = index % 4 == 0 ? nil : 470 + Double(index)
                try folder.aliquot(F.record(experiment: number, index: index, absorbanceNM: absorbance, emissionNM: emission))
                if let absorbance { expectedAbsorbance.append((number, absorbance)) }
                if let emission { expectedEmission.append((number, emission)) }
            }
            try folder.experimentEnded(F.experiment(number), outcome: .completed)
        }
        try folder.campaignEnded(virtualSeconds: 1500, wallSeconds: 1)

        for (file, expected) in [("uv.csv", expectedAbsorbance), ("pl.csv", expectedEmission)] {
            let table = try CSVTable.parse(text: try F.text(path + "/" + file), file: file)
            #expect(table.records.count == expected.count)
            #expect(table.records.allSatisfy { $0.fields.count == table.header.fields.count })
            let dataset = try SynthesisDataset.load(path: path + "/" + file)
            #expect(dataset.records.count == expected.count)
            for (record, (number, nm)) in zip(dataset.records, expected) {
                #expect(record.experiment == number)
                #expect(record.peakNM == nm)
                #expect(abs(record.peakEV - 1239.84193 / nm) <= 0.0005)
                #expect(record.conditions.temperatureC == (number == 1 ? 240 : 270))
            }
        }
        // The aliquots file has every aliquot, fitted or not.
        let aliquots = try CSVTable.parse(text: try F.text(path + "/aliquots.csv"), file: "aliquots.csv")
        #expect(aliquots.records.count == 40)
        #expect(aliquots.records[2].fields[8] == "too_weak")
        #expect(aliquots.records[0].fields[8] == "ok")
    }

    @Test("a crash in the middle of a line: continuing cuts the torn line, the file loads, recording goes on")
    func crashMidWriteLeavesParseableFile() throws {
        let path = F.folderPath()
        defer { F.remove(path) }
        do {
            let folder = try ResultsFolder(path: path)
            try folder.campaignStarted(name: "t", experiments: [F.experiment(1), F.experiment(2)])
            try folder.experimentStarted(F.experiment(1))
            for index in 1...5 {
                try folder.aliquot(F.record(experiment: 1, index: index, absorbanceNM: 450 + Double(index), emissionNM: 480))
            }
            folder.simulateCrash(inFile: "uv.csv", afterBytes: 23)
            #expect(throws: ResultsFolderError.self) {
                try folder.aliquot(F.record(experiment: 1, index: 6, absorbanceNM: 470, emissionNM: 480))
            }
        }
        // The torn line is there, and the trainer's reader rejects it as it stands.
        let torn = try F.text(path + "/uv.csv")
        #expect(!torn.hasSuffix("\n"))
        #expect(throws: DatasetError.self) { try SynthesisDataset.load(path: path + "/uv.csv") }

        #expect(throws: ResultsFolderError.self) { try ResultsFolder(path: path) }
        let resumed = try ResultsFolder(path: path, options: .init(continueExisting: true))
        #expect(resumed.repairs.map(\.file) == ["uv.csv"])
        #expect(resumed.repairs.map(\.bytes) == [23])
        #expect(resumed.interruptedExperimentNumbers == [1])
        #expect(resumed.endedExperimentNumbers.isEmpty)
        let repaired = try SynthesisDataset.load(path: path + "/uv.csv")
        #expect(repaired.records.map(\.peakNM) == [451, 452, 453, 454, 455])

        try resumed.campaignStarted(name: "t", experiments: [F.experiment(1), F.experiment(2)])
        try resumed.experimentEnded(F.experiment(1), outcome: .skipped(reason: "placeholder"))  // not started here
        try resumed.experimentStarted(F.experiment(2))
        try resumed.aliquot(F.record(experiment: 2, index: 1, absorbanceNM: 500, emissionNM: 520))
        try resumed.experimentEnded(F.experiment(2), outcome: .completed)
        try resumed.campaignEnded(virtualSeconds: 10, wallSeconds: 1)
        let final = try SynthesisDataset.load(path: path + "/uv.csv")
        #expect(final.records.map(\.peakNM) == [451, 452, 453, 454, 455, 500])
        #expect(final.records.map(\.experiment) == [1, 1, 1, 1, 1, 2])
        #expect(try F.firstLine(path + "/uv.csv") == F.firstLine(F.dataFolder + "/uv_train_val.csv"))
    }

    @Test("a non-empty folder is refused with the reason and what is in it; an empty one is used")
    func nonEmptyFolderRefused() throws {
        let path = F.folderPath()
        defer { F.remove(path) }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        _ = try ResultsFolder(path: path)  // empty: fine
        let other = F.folderPath()
        defer { F.remove(other) }
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try "x".write(toFile: other + "/notes.txt", atomically: false, encoding: .utf8)
        let error = #expect(throws: ResultsFolderError.self) { try ResultsFolder(path: other) }
        #expect(error?.description.contains("not empty") == true)
        #expect(error?.description.contains("notes.txt") == true)
        #expect(error?.description.hasPrefix(other) == true)
        // Nothing was written into the refused folder.
        #expect(try FileManager.default.contentsOfDirectory(atPath: other) == ["notes.txt"])

        let file = other + "/notes.txt"
        let notFolder = #expect(throws: ResultsFolderError.self) { try ResultsFolder(path: file) }
        #expect(notFolder?.message.contains("not a folder") == true)
    }

    @Test("continuing a folder whose file has another header is refused")
    func continueWithForeignHeaderRefused() throws {
        let path = F.folderPath()
        defer { F.remove(path) }
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        try "Expt_No,T_Ambient\n1,22\n".write(toFile: path + "/uv.csv", atomically: false, encoding: .utf8)
        let error = #expect(throws: ResultsFolderError.self) {
            try ResultsFolder(path: path, options: .init(continueExisting: true))
        }
        #expect(error?.message.contains("Expt_No,T_Ambient") == true)
        #expect(try F.text(path + "/uv.csv") == "Expt_No,T_Ambient\n1,22\n")
    }

    /// Three experiments: one completed with two anomalies, one failed after a safety trip, one
    /// skipped; plus a trip between experiments.
    func runMixedCampaign(_ folder: ResultsFolder) throws {
        let planned = [F.experiment(1), F.experiment(2, 300), F.experiment(3)]
        try folder.campaignStarted(name: "mixed, \"demo\"", experiments: planned)
        try folder.experimentStarted(planned[0])
        for index in 1...20 {
            let prediction = AliquotPrediction(
                peakElectronvolts: 2.5 - 0.01 * Double(index), peakSpreadElectronvolts: 0.01, fwhmElectronvolts: 0.15,
                fwhmSpreadElectronvolts: 0.005)
            // The last absorbance spectrum is too weak: the final fitted one is aliquot 19.
            try folder.aliquot(
                F.record(
                    experiment: 1, index: index, absorbanceNM: index == 20 ? nil : 440 + Double(index), emissionNM: 470,
                    prediction: prediction, anomaly: index == 5 || index == 9 ? "outside the interval" : nil))
        }
        try folder.event(CampaignEvent(campaignSeconds: 620.5, experimentNumber: 1, kind: .phase, message: "cool"))
        try folder.experimentEnded(planned[0], outcome: .completed)
        try folder.event(CampaignEvent(campaignSeconds: 700, experimentNumber: nil, kind: .safetyTrip, message: "stale reading"))
        try folder.experimentStarted(planned[1])
        try folder.aliquot(F.record(experiment: 2, index: 1, absorbanceNM: 460, emissionNM: nil))
        try folder.event(CampaignEvent(campaignSeconds: 820, experimentNumber: 2, kind: .safetyTrip, message: "thermocouple open"))
        try folder.experimentEnded(planned[1], outcome: .failed(reason: "thermocouple open during sampling"))
        try folder.experimentEnded(planned[2], outcome: .skipped(reason: "infeasible recipe"))
        try folder.campaignEnded(virtualSeconds: 1234.5, wallSeconds: 2.25)
    }

    @Test("summary.json: counts, times and per-experiment final peaks measured vs predicted")
    func summaryJSONValues() throws {
        let path = F.folderPath()
        defer { F.remove(path) }
        let folder = try ResultsFolder(path: path)
        try runMixedCampaign(folder)
        let data = try Data(contentsOf: URL(fileURLWithPath: path + "/summary.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(json["campaign"] as? String == "mixed, \"demo\"")
        #expect(json["experiments_planned"] as? Int == 3)
        #expect(json["experiments_run"] as? Int == 2)
        #expect(json["completed"] as? Int == 1)
        #expect(json["failed"] as? Int == 1)
        #expect(json["skipped"] as? Int == 1)
        #expect(json["anomalies"] as? Int == 2)
        #expect(json["safety_trips"] as? Int == 2)
        #expect(json["virtual_seconds"] as? Double == 1234.5)
        #expect(json["wall_seconds"] as? Double == 2.25)
        let experiments = try #require(json["experiments"] as? [[String: Any]])
        #expect(experiments.map { $0["number"] as? Int } == [1, 2, 3])
        #expect(experiments.map { $0["outcome"] as? String } == ["completed", "failed", "skipped"])
        #expect(experiments[1]["reason"] as? String == "thermocouple open during sampling")
        #expect(experiments[1]["safety_trips"] as? Int == 1)
        #expect(experiments[0]["oa_cd_ratio"] as? Double == 10.002)
        #expect(experiments[0]["fitted_abs"] as? Int == 19)
        #expect(experiments[0]["fitted_pl"] as? Int == 20)

        let final = try #require(experiments[0]["final"] as? [String: Any])
        let absorbance = try #require(final["abs"] as? [String: Any])
        #expect(absorbance["peak_nm"] as? Double == 459)
        #expect(absorbance["t_s"] as? Double == 550.001)
        // Foundation's JSONSerialization on Linux can be a few ulp off the text: compare to 1e-12.
        #expect(abs((absorbance["peak_eV"] as? Double ?? 0) - PhotonEnergy.electronvolts(nanometres: 459)) < 1e-12)
        let predicted = try #require(final["predicted"] as? [String: Any])
        #expect(predicted["t_s"] as? Double == 550.001)
        #expect(abs((predicted["peak_eV"] as? Double ?? 0) - (2.5 - 0.19)) < 1e-12)
        #expect(predicted["peak_sd_eV"] as? Double == 0.01)
        let error = try #require(final["peak_error_eV"] as? Double)
        #expect(abs(error - (PhotonEnergy.electronvolts(nanometres: 459) - (2.5 - 0.19))) < 1e-12)
        let skipped = try #require(experiments[2]["final"] as? [String: Any])
        #expect(skipped["abs"] is NSNull)
        #expect(skipped["predicted"] is NSNull)
        // Written atomically: no temporary file left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).allSatisfy { !$0.contains(".tmp-") })
    }

    @Test("continuing reads the ledger back: the earlier experiments come back exactly")
    func ledgerRoundTrip() throws {
        let path = F.folderPath()
        defer { F.remove(path) }
        let folder = try ResultsFolder(path: path)
        try runMixedCampaign(folder)
        let resumed = try ResultsFolder(path: path, options: .init(continueExisting: true))
        #expect(resumed.summary.experiments == folder.summary.experiments)
        #expect(resumed.endedExperimentNumbers == [1, 2, 3])
        #expect(resumed.interruptedExperimentNumbers.isEmpty)
        #expect(resumed.repairs.isEmpty)
        try resumed.close()
    }

    @Test("predictions.csv: measured vs predicted, spread and z; events.csv quotes what needs quoting")
    func predictionsAndEvents() throws {
        let path = F.folderPath()
        defer { F.remove(path) }
        let folder = try ResultsFolder(path: path)
        try folder.campaignStarted(name: "t", experiments: [F.experiment(1)])
        try folder.experimentStarted(F.experiment(1))
        // Measured at 1239.84193/2.5 nm = 2.5 eV; predicted 2.48 ± 0.01: z = +2.
        let prediction = AliquotPrediction(
            peakElectronvolts: 2.48, peakSpreadElectronvolts: 0.01, fwhmElectronvolts: 0.15, fwhmSpreadElectronvolts: 0.004,
            extrapolated: ["T", "OA/Cd"])
        try folder.aliquot(
            F.record(experiment: 1, index: 1, absorbanceNM: 1239.84193 / 2.5, emissionNM: nil, prediction: prediction, anomaly: "high, by 2 sd"))
        let message = "pump \"Cd\" stalled, at 12.5 µL"
        try folder.event(CampaignEvent(campaignSeconds: 12.25, experimentNumber: 1, kind: .fault, message: message))
        try folder.experimentEnded(F.experiment(1), outcome: .completed)
        try folder.close()

        let predictions = try CSVTable.parse(text: try F.text(path + "/predictions.csv"), file: "predictions.csv")
        #expect(predictions.header.fields == ResultsFolder.predictionsHeader.split(separator: ",").map(String.init))
        let row = try #require(predictions.records.first).fields
        #expect(row[0] == "1")
        #expect(row[3] == "abs")
        #expect(row[4] == "2.5")
        #expect(row[5] == "2.48")
        #expect(row[6] == "0.01")
        #expect(row[10] == "2")
        #expect(row[11] == "T;OA/Cd")
        #expect(row[12] == "high, by 2 sd")

        let events = try CSVTable.parse(text: try F.text(path + "/events.csv"), file: "events.csv")
        #expect(events.records.map(\.fields) == [["12.25", "1", "fault", message]])
    }

    @Test("spectra tables: wavelength column and one column per aliquot, read back by SpectraTable")
    func spectraTables() throws {
        let path = F.folderPath()
        defer { F.remove(path) }
        let folder = try ResultsFolder(path: path)
        try folder.campaignStarted(name: "t", experiments: [F.experiment(7)])
        try folder.experimentStarted(F.experiment(7))
        var records: [AliquotRecord] = []
        for index in 1...3 {
            var record = F.record(experiment: 7, index: index, absorbanceNM: 450, emissionNM: index == 2 ? nil : 480)
            if index == 3 { record.photoluminescence = nil }  // no PL spectrum at all for aliquot 3
            records.append(record)
            try folder.aliquot(record)
        }
        try folder.experimentEnded(F.experiment(7), outcome: .completed)
        try folder.close()

        let absorbance = try SpectraTable.parse(try F.text(path + "/spectra/expt-007-abs.csv"), file: "abs")
        #expect(absorbance.wavelengthName == "wavelength_nm")
        #expect(absorbance.names == ["t010s", "t020s", "t030s"])
        #expect(absorbance.nanometres == F.axis)
        for (column, record) in zip(absorbance.columns, records) {
            for (written, value) in zip(column, record.absorbance!.processed) { #expect(abs(written - value) <= 5e-6) }
        }
        let raw = try SpectraTable.parse(try F.text(path + "/spectra/expt-007-abs-raw.csv"), file: "raw")
        for (written, value) in zip(raw.columns[1], records[1].absorbance!.rawCounts) { #expect(abs(written - value) <= 0.05) }
        let emission = try SpectraTable.parse(try F.text(path + "/spectra/expt-007-pl.csv"), file: "pl")
        #expect(emission.names == ["t010s", "t020s"])  // a spectrum too weak to fit is still kept
        #expect(FileManager.default.fileExists(atPath: path + "/spectra/expt-007-pl-raw.csv"))
        #expect(FileManager.default.fileExists(atPath: path + "/plots/expt-007-spectra.svg"))
        #expect(FileManager.default.fileExists(atPath: path + "/plots/expt-007-peak.svg"))
    }

    @Test("a spectrum on another wavelength axis is an error naming the experiment and the aliquot")
    func mismatchedAxisIsAnError() throws {
        let path = F.folderPath()
        defer { F.remove(path) }
        let folder = try ResultsFolder(path: path)
        try folder.campaignStarted(name: "t", experiments: [F.experiment(1)])
        try folder.experimentStarted(F.experiment(1))
        try folder.aliquot(F.record(experiment: 1, index: 1, absorbanceNM: 450, emissionNM: 480))
        var record = F.record(experiment: 1, index: 2, absorbanceNM: 451, emissionNM: 480)
        record.absorbance!.wavelengthsNanometres[3] += 0.5
        try folder.aliquot(record)
        let error = #expect(throws: ResultsFolderError.self) { try folder.experimentEnded(F.experiment(1), outcome: .completed) }
        #expect(error?.message.contains("t020s") == true)
        #expect(error?.message.contains("experiment 1") == true)
    }

    @Test(
        "decimal text: rounding, trailing zeros, no exponent",
        arguments: [
            (0.05, 2, true, "0.05"), (2.79, 3, true, "2.79"), (2.790, 3, false, "2.790"), (-0.0004, 3, true, "0"),
            (-1.5, 0, true, "-2"), (123.456, 1, true, "123.5"), (5, 3, true, "5"), (0, 3, true, "0"), (10.001, 3, true, "10.001"),
            (0.000012345, 5, true, "0.00001"), (1e20, 3, true, "1e+20"), (-272.15, 2, false, "-272.15"), (999.9996, 3, true, "1000"),
        ] as [(Double, Int, Bool, String)])
    func decimalText(value: Double, decimals: Int, trim: Bool, expected: String) {
        #expect(DecimalText.string(value, decimals: decimals, trimZeros: trim) == expected)
    }

    @Test("a non-finite value is an empty field")
    func nonFiniteIsEmpty() {
        #expect(DecimalText.string(.nan, decimals: 3).isEmpty)
        #expect(DecimalText.string(-.infinity, decimals: 3).isEmpty)
    }
}
