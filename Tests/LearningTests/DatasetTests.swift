import Foundation
import Testing
@testable import Learning

/// Reading the published schema: by header name, with line-exact errors.
struct DatasetTests {
    static let header = "Expt. No,T_external,Cd_mM,Se_mM,OA_Cd_ratio,T_reactor,t_s,Peak_nm,FWHM_nm,Peak_eV,FWHM_eV,height"

    @Test func readsThePublishedAbsorbanceFileWithItsRepeatedHeightColumn() throws {
        let dataset = try SynthesisDataset.load(path: dataFolder + "/uv_train_val.csv")
        #expect(dataset.count == 4946)
        #expect(dataset.experimentCount == 262)
        // Line 2 of the file: 17,21.86,5,5,3,210,10.001,410.067,28.963,0.086,3.024,0.206,0.086
        let first = dataset.records[0]
        #expect(first.line == 2)
        #expect(first.experiment == 17)
        #expect(first.conditions == SynthesisConditions(oleicAcidRatio: 3, temperatureC: 210, cadmiumMM: 5, seleniumMM: 5, timeS: 10.001))
        #expect(first.peakNM == 410.067 && first.fwhmNM == 28.963 && first.peakEV == 3.024 && first.fwhmEV == 0.206)
        #expect(dataset.extrapolatedCount == 0)
        // The hash is SHA-256 of the file's bytes.
        let bytes = try Array(Data(contentsOf: URL(fileURLWithPath: dataFolder + "/uv_train_val.csv")))
        #expect(dataset.contentHash == SHA256.hex(of: bytes))
    }

    @Test func readsThePhotoluminescenceAndTheReproducibilitySpellings() throws {
        let pl = try SynthesisDataset.load(path: dataFolder + "/pl_train_val.csv")
        #expect(pl.count == 5088)
        #expect(pl.experimentCount == 262)
        // Expt_No, peak_nm, peak_eV, peak_height (Abs): the reproducibility files' own spellings.
        let repeats = try SynthesisDataset.load(path: dataFolder + "/uv_reproducibility.csv")
        #expect(repeats.count == 596)
        #expect(Set(repeats.records.map(\.conditions.cadmiumMM)) == [10])
        #expect(Set(repeats.records.map(\.conditions.temperatureC)) == [200, 220, 240, 260, 280, 300])
    }

    @Test func columnsAreFoundByNameInAnyOrderWithQuotesCRLFAndAByteOrderMark() throws {
        let text = "\u{FEFF}t_s,Peak_eV,\"Expt. No\",FWHM_eV,Cd_mM,Se_mM,OA_Cd_ratio,T_reactor,Peak_nm,FWHM_nm,note\r\n"
            + "120,2.5,7,0.15,10,20,40,240,495.9,30.1,\"a, quoted \"\"note\"\"\"\r\n"
        let dataset = try SynthesisDataset.parse(bytes: Array(text.utf8), file: "shuffled.csv")
        #expect(dataset.count == 1)
        let record = dataset.records[0]
        #expect(record.experiment == 7 && record.conditions.timeS == 120 && record.conditions.seleniumMM == 20)
        #expect(record.peakEV == 2.5 && record.fwhmNM == 30.1)
    }

    @Test(arguments: [
        // (replacement for the data line, expected location, words the message must contain)
        ("17,21.86,5,5,3,210,abc,410.067,28.963,3.024,0.206,0.086", "bad.csv:3: column t_s (7)", "\"abc\" is not a number"),
        ("17,21.86,5,5,3,210,nan,410.067,28.963,3.024,0.206,0.086", "bad.csv:3: column t_s (7)", "not a finite number"),
        ("17,21.86,5,5,3,350,20,410.067,28.963,3.024,0.206,0.086", "bad.csv:3: column T_reactor (6)", "350 is out of range: allowed 200 to 310 °C"),
        ("17,21.86,-1,5,3,210,20,410.067,28.963,3.024,0.206,0.086", "bad.csv:3: column Cd_mM (3)", "allowed 0 to 50 mM"),
        ("17,21.86,5,5,3,210,,410.067,28.963,3.024,0.206,0.086", "bad.csv:3: column t_s (7)", "missing value"),
        ("17,21.86,5,5,3,210,20,410.067", "bad.csv:3:", "8 fields, the header has 12"),
        ("17.5,21.86,5,5,3,210,20,410.067,28.963,3.024,0.206,0.086", "bad.csv:3: column Expt. No (1)", "allowed whole numbers"),
        ("17,21.86,5,5,3,210,20,410.067,28.963,0,0.206,0.086", "bad.csv:3: column Peak_eV (10)", "allowed above 0 eV"),
    ])
    func aBadValueIsNamedByFileLineAndColumn(line: String, location: String, message: String) throws {
        let text = Self.header + "\n17,21.86,5,5,3,210,10,410.067,28.963,3.024,0.206,0.086\n" + line + "\n"
        #expect {
            try SynthesisDataset.parse(bytes: Array(text.utf8), file: "bad.csv")
        } throws: { error in
            let description = (error as? DatasetError)?.description ?? ""
            return description.hasPrefix(location) && description.contains(message)
        }
    }

    @Test func aMissingOrRepeatedColumnIsNamed() throws {
        let missing = Self.header.replacingOccurrences(of: ",FWHM_eV", with: "") + "\n"
        #expect(throws: DatasetError.self) { try SynthesisDataset.parse(bytes: Array(missing.utf8), file: "m.csv") }
        do {
            _ = try SynthesisDataset.parse(bytes: Array((missing + "1,2,3\n").utf8), file: "m.csv")
            Issue.record("a missing column must be an error")
        } catch {
            #expect(error.description.hasPrefix("m.csv:1: missing column FWHM_eV"))
        }
        let twice = Self.header + ",t_s\n1,2,5,5,3,210,10,410,28,3.0,0.2,0.1,10\n"
        do {
            _ = try SynthesisDataset.parse(bytes: Array(twice.utf8), file: "t.csv")
            Issue.record("a repeated column must be an error")
        } catch {
            #expect(error.description == "t.csv:1: column t_s appears 2 times (columns 7, 13)")
        }
        do {
            _ = try SynthesisDataset.parse(bytes: Array("a,\"b\n1,2\n".utf8), file: "q.csv")
            Issue.record("an open quote must be an error")
        } catch {
            #expect(error.description == "q.csv:1: a quoted field is never closed")
        }
        #expect(throws: DatasetError.self) { try SynthesisDataset.parse(bytes: [], file: "empty.csv") }
        #expect(throws: DatasetError.self) { try SynthesisDataset.load(path: "/nonexistent/data.csv") }
    }

    @Test func outOfRangeRowsAreFlaggedWhenAskedAndTheLoggedRoundingIsAllowed() throws {
        let text = Self.header + "\n1,22,5,5,3,210,600.001,410,28,3.0,0.2,0.1\n2,22,5,5,3,320,60,410,28,3.0,0.2,0.1\n"
        #expect(throws: DatasetError.self) { try SynthesisDataset.parse(bytes: Array(text.utf8), file: "x.csv") }
        let flagged = try SynthesisDataset.parse(bytes: Array(text.utf8), file: "x.csv", outOfRange: .flag)
        #expect(flagged.records.map(\.extrapolated) == [false, true])
        #expect(Normalization.published.extrapolatedInputs(flagged.records[1].conditions) == ["T_reactor"])
    }

    @Test func normalizationUsesTheFixedPublishedRanges() {
        let n = Normalization.published
        let conditions = SynthesisConditions(oleicAcidRatio: 150, temperatureC: 255, cadmiumMM: 25, seleniumMM: 0, timeS: 150)
        #expect(zip(n.normalizedInputs(conditions), [Float(1), 0.5, 0.5, 0, 0.25]).allSatisfy { abs($0 - $1) < 1e-7 })
        #expect(abs(n.peakEV.lower - 1.999745048) < 1e-9 && abs(n.peakEV.upper - 3.099604825) < 1e-9)
        #expect(abs(n.fwhmEV.normalize(0.225) - 0.5) < 1e-12)
        // Logarithmic scaling: the ends map to 0 and 1, OA/Cd 3·√50 to the middle, and it inverts.
        let log = Normalization.logarithmic
        #expect(abs(log.inputs[0].normalize(3 * 50.0.squareRoot()) - 0.5) < 1e-12)
        #expect(abs(log.inputs[4].normalize(600) - 1) < 1e-12 && log.inputs[4].normalize(0) == 0)
        for value in [0.0, 10, 123.4, 600] { #expect(abs(log.inputs[4].denormalize(log.inputs[4].normalize(value)) - value) < 1e-9) }
    }
}
