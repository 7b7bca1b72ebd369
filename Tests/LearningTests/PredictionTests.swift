import Testing
@testable import Learning

/// Predicting with a whole synthesis model, and the candidate map.
struct PredictionTests {
    @Test func ensemblePredictionsAreTheMeanOfTheMembers() {
        let predictor = SynthesisPredictor(model: smallModel, path: .float)
        let features = randomFeatures(rows: 10, seed: 81)
        let predicted = predictor.predictNormalized(features)
        for row in 0..<10 {
            let peaks = smallModel.peak.map { $0.referenceOutput(features.row(row)) }
            let peak = peaks.reduce(0, +) / Double(peaks.count)
            #expect(abs(Double(predicted.peak[row]) - peak) < 1e-5)
            let cascadeInput = features.row(row) + [predicted.peak[row]]
            let cascade = smallModel.fwhmCascade.map { $0.referenceOutput(cascadeInput) }.reduce(0, +) / 2
            #expect(abs(Double(predicted.fwhmCascade[row]) - cascade) < 1e-5)
        }
    }

    @Test func monteCarloSpreadsOverMembersAndFeedsEachPassPeakToTheCascade() {
        let predictor = SynthesisPredictor(model: smallModel, path: .float, maximumRows: 64)
        let conditions = SynthesisConditions(oleicAcidRatio: 40, temperatureC: 240, cadmiumMM: 10, seleniumMM: 10, timeS: 120)
        let passes = 10
        let input = smallModel.normalization.normalizedInputs(conditions)
        var peaks = [Float](repeating: 0, count: passes)
        var cascades = peaks
        input.withUnsafeBufferPointer { row in
            peaks.withUnsafeMutableBufferPointer { p in
                cascades.withUnsafeMutableBufferPointer { c in
                    predictor.monteCarloNormalized(row.baseAddress!, rows: 1, passes: passes, seed: 9, peakOutput: p.baseAddress!,
                                                   directOutput: nil, cascadeOutput: c.baseAddress!)
                }
            }
        }
        let masks = predictor.masks(passes: passes, seed: 9)
        for pass in 0..<passes {
            let member = pass % 2
            let j = pass / 2
            func layerMasks(_ m: DropoutMasks, _ network: DenseNetwork) -> [[Bool]?] {
                network.layers.indices.map { layer in
                    m.keep[layer].map { _ in (0..<network.layers[layer].inputCount).map { m.keeps(layer: layer, pass: j, unit: $0, inputCount: network.layers[layer].inputCount) } }
                }
            }
            let peak = smallModel.peak[member].referenceOutput(input, masks: layerMasks(masks[member].peak, smallModel.peak[member]))
            #expect(abs(Double(peaks[pass]) - peak) < 1e-5)
            let width = smallModel.fwhmCascade[member].referenceOutput(
                input + [Float(peak)], masks: layerMasks(masks[member].cascade, smallModel.fwhmCascade[member]))
            #expect(abs(Double(cascades[pass]) - width) < 1e-4)
        }
        let summary = predictor.monteCarlo(conditions, passes: passes, seed: 9)
        let mean = peaks.map { smallModel.normalization.peakEV.denormalize(Double($0)) }.reduce(0, +) / Double(passes)
        #expect(abs(summary.peakEV.mean - mean) < 1e-6)
        #expect(summary.peakEV.standardDeviation > 0 && summary.extrapolated.isEmpty)
        let outside = predictor.monteCarlo(
            SynthesisConditions(oleicAcidRatio: 40, temperatureC: 330, cadmiumMM: 10, seleniumMM: 10, timeS: 120), passes: 4, seed: 1)
        #expect(outside.extrapolated == ["T_reactor"])
    }

    @Test(arguments: [InferencePath.float, .int8])
    func theCandidateMapEqualsPerCandidateMonteCarloOnAnyThreadCount(path: InferencePath) {
        let candidates = CandidateMap.uniformCandidates(count: 21, seed: 5)
        let one = CandidateMap.compute(
            model: smallModel, candidates: candidates, passes: 6, seed: 2, path: path, cascadeFeed: .perPassPeak, threads: 1, blockRows: 4)
        let two = CandidateMap.compute(
            model: smallModel, candidates: candidates, passes: 6, seed: 2, path: path, cascadeFeed: .perPassPeak, threads: 2, blockRows: 8)
        #expect(one.peakMean == two.peakMean && one.fwhmStandardDeviation == two.fwhmStandardDeviation)
        let predictor = SynthesisPredictor(model: smallModel, path: path, maximumRows: 64)
        for row in [0, 11, 20] {
            let conditions = SynthesisConditions(
                values: (0..<5).map { smallModel.normalization.inputs[$0].denormalize(Double(candidates[row, $0])) })
            let single = predictor.monteCarlo(conditions, passes: 6, seed: 2)
            #expect(abs(Double(one.peakMean[row]) - single.peakEV.mean) < 2e-5)
            #expect(abs(Double(one.peakStandardDeviation[row]) - single.peakEV.standardDeviation) < 2e-4)
            #expect(abs(Double(one.fwhmMean[row]) - single.fwhmCascadeEV.mean) < 2e-5)
        }
        // Fed each candidate's mean peak, the cascade's passes are the scalar reference's with the
        // same masks (float path; the int8 path is checked bit for bit elsewhere).
        let mean = CandidateMap.compute(model: smallModel, candidates: candidates, passes: 6, seed: 2, path: path, threads: 2)
        #expect(mean.peakMean == one.peakMean)
        guard path == .float else { return }
        let masks = predictor.masks(passes: 6, seed: 2)
        for row in [3, 14] {
            let peak = smallModel.normalization.peakEV.normalize(Double(mean.peakMean[row]))
            let input = candidates.row(row) + [Float(peak)]
            var sum = 0.0
            for pass in 0..<6 {
                let network = smallModel.fwhmCascade[pass % 2]
                let m = masks[pass % 2].cascade
                let layerMasks: [[Bool]?] = network.layers.indices.map { layer in
                    m.keep[layer].map { _ in
                        (0..<network.layers[layer].inputCount).map { m.keeps(layer: layer, pass: pass / 2, unit: $0, inputCount: network.layers[layer].inputCount) }
                    }
                }
                sum += smallModel.normalization.fwhmEV.denormalize(network.referenceOutput(input, masks: layerMasks))
            }
            #expect(abs(Double(mean.fwhmMean[row]) - sum / 6) < 1e-4)
        }
    }

    @Test func pointPredictionsAreTheMonteCarloMeanOfTheRecordedPasses() {
        let predictor = SynthesisPredictor(model: smallModel, path: .int8, maximumRows: 64)
        let conditions = [
            SynthesisConditions(oleicAcidRatio: 10, temperatureC: 270, cadmiumMM: 20, seleniumMM: 5, timeS: 45),
            SynthesisConditions(oleicAcidRatio: 40, temperatureC: 210, cadmiumMM: 5, seleniumMM: 40, timeS: 500),
        ]
        let points = predictor.predict(conditions)
        let monteCarlo = predictor.monteCarlo(
            conditions, passes: smallModel.metadata.predictionPasses, seed: smallModel.metadata.predictionSeed)
        for (point, mc) in zip(points, monteCarlo) {
            #expect(abs(point.peakEV - mc.peakEV.mean) < 1e-6)
            #expect(abs(point.fwhmDirectEV - mc.fwhmDirectEV.mean) < 1e-6)
        }
        // Dropout on and off differ: the point prediction is not the dropout-off pass.
        let off = predictor.predictNormalized(FeatureMatrix(rows: conditions.map { smallModel.normalization.normalizedInputs($0) }))
        #expect(Float(smallModel.normalization.peakEV.normalize(points[0].peakEV)) != off.peak[0])
    }

    @Test func theIntegerModelTracksTheFloatModel() {
        let features = randomFeatures(rows: 200, seed: 91)
        let float = SynthesisPredictor(model: smallModel, path: .float).predictNormalized(features)
        let int8 = SynthesisPredictor(model: smallModel, path: .int8).predictNormalized(features)
        let peak = zip(float.peak, int8.peak).map { Double(abs($0 - $1)) }.reduce(0, +) / 200
        #expect(peak * 1100 < 10)  // meV: a barely trained two-member ensemble, over the whole input box
    }
}
