import Foundation
import Testing
@testable import Learning

/// The .aqm bundle: round trip, and every kind of damage rejected with a clear message.
struct ModelBundleTests {
    static func withReport() -> SynthesisModel {
        var model = smallModel
        let metrics = RegressionMetrics(count: 10, maeMeV: 19.5, rmseMeV: 26, r2: 0.97, maeNM: 4.1, r2NM: 0.96)
        model.metadata.crossValidation = CrossValidationReport(
            folds: 10, rows: 10, experiments: 3, peak: metrics, fwhmDirect: metrics, fwhmCascade: metrics)
        return model
    }

    /// `bytes` with the checksum recomputed (damage that only the consistency checks can see).
    static func resealed(_ bytes: [UInt8]) -> [UInt8] {
        var copy = bytes
        let crc = CRC32.checksum(copy[0..<copy.count - 4])
        for index in 0..<4 { copy[copy.count - 4 + index] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * index)) }
        return copy
    }

    static func message(_ bytes: [UInt8]) -> String {
        do {
            _ = try ModelBundle.decode(bytes, path: "m.aqm")
            return "accepted"
        } catch {
            return error.description
        }
    }

    @Test func aBundleReadsBackToTheSameModel() throws {
        let model = Self.withReport()
        let bytes = ModelBundle.encode(model)
        #expect(Array(bytes[0..<8]) == Array("AQMODEL".utf8) + [0])
        #expect(try ModelBundle.decode(bytes, path: "m.aqm") == model)
        // The length field and the checksum are where the format says.
        let length = bytes[16..<24].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << UInt64(8 * $1.offset) }
        #expect(length == UInt64(bytes.count))
        let folder = try temporaryFolder()
        try ModelBundle.write(model, to: folder + "/m.aqm")
        #expect(try ModelBundle.read(path: folder + "/m.aqm") == model)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["m.aqm"])  // no temporary left
    }

    @Test func damageIsRejectedWithAClearMessage() {
        let bytes = ModelBundle.encode(smallModel)
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x40
        #expect(Self.message(flipped).hasPrefix("m.aqm: corrupt model bundle: CRC-32"))
        #expect(Self.message(Array(bytes.dropLast(100))).hasPrefix("m.aqm: truncated model bundle: the header says \(bytes.count) bytes"))
        #expect(Self.message(Array(bytes.prefix(20))).contains("shorter than the 28-byte header"))
        #expect(Self.message(bytes + [0, 0]).contains("after its declared end"))
        var other = bytes
        other[0] = UInt8(ascii: "X")
        #expect(Self.message(other) == "m.aqm: not a model bundle: the file does not start with AQMODEL")
        var future = bytes
        future[8] = 2
        #expect(Self.message(Self.resealed(future)) == "m.aqm: model bundle format 2.0 is not supported: this build reads 1.x")
    }

    @Test func aMismatchedBundleIsRejected() throws {
        // An int8 weight that no longer stands for its float weight.
        var model = smallModel
        model.quantizedPeak[1].layers[2].weights[7] = model.quantizedPeak[1].layers[2].weights[7] > 0 ? -100 : 100
        #expect(Self.message(ModelBundle.encode(model)).hasPrefix("m.aqm: mismatched model bundle: peak #1 layer 3: int8 weight"))
        // Requantization that does not follow from the scales.
        model = smallModel
        model.quantizedFWHMCascade[0].layers[1].multiplier[3] += 1000
        #expect(Self.message(ModelBundle.encode(model)).contains("requantization multipliers do not follow from the scales"))
        // A network missing from the ensemble.
        model = smallModel
        model.metadata.ensembleSize = 3
        #expect(Self.message(ModelBundle.encode(model)) == "m.aqm: mismatched model bundle: float network peak #2 of 3 is missing")
        // A cascade network that does not take the predicted peak.
        model = smallModel
        model.fwhmCascade[0] = model.peak[0]
        model.quantizedFWHMCascade[0] = model.quantizedPeak[0]
        #expect(Self.message(ModelBundle.encode(model)).contains("fwhm-cascade #0 takes 5 inputs, the normalization gives 6"))
    }

    @Test func aFailedWriteLeavesNothingBehind() {
        #expect(throws: LearningFileError.self) { try ModelBundle.write(smallModel, to: "/nonexistent-folder/m.aqm") }
        #expect(throws: ModelBundleError.self) { try ModelBundle.read(path: "/nonexistent-folder/m.aqm") }
    }

    @Test func theJSONExportHoldsTheFloatWeights() throws {
        let text = ModelJSON.export(smallModel)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["kind"] as? String == "absorbance")
        #expect(object["ensemble_size"] as? Int == 2)
        let networks = try #require(object["networks"] as? [String: Any])
        let cascade = try #require(networks["fwhm_cascade"] as? [[String: Any]])
        #expect(cascade.count == 2)
        let layers = try #require(cascade[1]["layers"] as? [[String: Any]])
        #expect(layers.map { $0["outputs"] as? Int } == [5, 50, 50, 1])
        let kernel = try #require(layers[2]["kernel"] as? [[Double]])
        #expect(kernel.count == 50 && kernel[0].count == 50)
        let expected = smallModel.fwhmCascade[1].layers[2]
        for (i, o) in [(0, 0), (3, 17), (49, 49)] {
            #expect(Float(kernel[i][o]) == expected.weight(input: i, output: o))
        }
        let first = try #require(layers[0]["kernel"] as? [[Double]])
        #expect(first.count == 6)  // the cascade's sixth input: the predicted peak
        let inputs = try #require((object["normalization"] as? [String: Any])?["inputs"] as? [[String: Any]])
        #expect(inputs.map { $0["name"] as? String } == Normalization.inputNames)
    }
}
