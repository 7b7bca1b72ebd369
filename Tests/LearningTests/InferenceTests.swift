import Testing
@testable import Learning

/// The float engine and Monte Carlo dropout against the scalar definition.
struct InferenceTests {
    @Test(arguments: [1, 7, 300])
    func theFloatEngineMatchesTheScalarReference(rows: Int) {
        let network = randomNetwork(seed: 31)
        let features = randomFeatures(rows: rows, seed: 32)
        let engine = FloatInference(network, maximumRows: 64)
        let batch = engine.predict(features)
        for row in 0..<rows {
            let reference = network.referenceOutput(features.row(row))
            #expect(abs(Double(batch[row]) - reference) < 1e-5 * max(1, abs(reference)))
            let single = features.row(row).withUnsafeBufferPointer { engine.predictOne($0.baseAddress!) }
            #expect(single == batch[row])
        }
    }

    @Test func masksAreReproducibleAndKeepNineTenths() {
        let network = randomNetwork(seed: 1)
        let masks = DropoutMasks(for: network, passes: 2000, seed: 5)
        #expect(masks == DropoutMasks(for: network, passes: 2000, seed: 5))
        #expect(masks != DropoutMasks(for: network, passes: 2000, seed: 6))
        #expect(masks.keep[0] == nil && masks.keep[1] == nil)
        let kept = masks.keep[2]!.reduce(0) { $0 + Int($1) }
        // 100 000 Bernoulli(0.9) draws: 90 000 ± 5 σ (σ ≈ 95).
        #expect(abs(kept - 90_000) < 475)
    }

    @Test func batchedMonteCarloEqualsEveryPassComputedAlone() {
        let network = randomNetwork(seed: 41)
        let features = randomFeatures(rows: 3, seed: 42)
        let passes = 20
        let masks = DropoutMasks(for: network, passes: passes, seed: 43)
        let engine = FloatInference(network, maximumRows: 25)  // a block of one row at a time
        var output = [Float](repeating: 0, count: 3 * passes)
        features.values.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { engine.monteCarlo(input.baseAddress!, rows: 3, masks: masks, output: $0.baseAddress!) }
        }
        for row in 0..<3 {
            for pass in 0..<passes {
                let layerMasks: [[Bool]?] = network.layers.indices.map { layer in
                    masks.keep[layer].map { _ in
                        (0..<network.layers[layer].inputCount).map {
                            masks.keeps(layer: layer, pass: pass, unit: $0, inputCount: network.layers[layer].inputCount)
                        }
                    }
                }
                let reference = network.referenceOutput(features.row(row), masks: layerMasks)
                #expect(abs(Double(output[row * passes + pass]) - reference) < 1e-5)
            }
        }
        let summary = output.withUnsafeBufferPointer { MonteCarloSummary(values: $0.baseAddress!, rows: 3, passes: passes) }
        let values = Array(output[passes..<2 * passes]).map(Double.init)
        let mean = values.reduce(0, +) / Double(passes)
        let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(passes)
        #expect(abs(Double(summary.mean[1]) - mean) < 1e-6 && abs(Double(summary.standardDeviation[1]) - variance.squareRoot()) < 1e-5)
        #expect(summary.standardDeviation[1] > 0)
    }

    @Test func equalizationKeepsTheFunctionWithAndWithoutDropout() {
        let network = randomNetwork(seed: 51)
        let features = randomFeatures(rows: 200, seed: 52)
        let equalized = network.equalized(calibration: features, passes: 0, maximumGain: .infinity)
        #expect(equalized != network)
        // Every ReLU unit that fires now peaks at 1 on the calibration rows (dropout off here).
        let engine = FloatInference(equalized, maximumRows: 200)
        _ = engine.predict(features)
        for layer in 0..<3 {
            var highest = [Float](repeating: 0, count: equalized.layers[layer].outputCount)
            for row in 0..<200 {
                for unit in highest.indices { highest[unit] = max(highest[unit], engine.buffers[layer + 1].pointer[row * engine.outputPadded[layer] + unit]) }
            }
            #expect(highest.allSatisfy { $0 == 0 || abs($0 - 1) < 1e-5 })
        }
        // With the gain capped, a unit peaking below 1/4 is scaled by exactly 4.
        let capped = network.equalized(calibration: features, passes: 0, maximumGain: 4)
        let rawMaxima = network.unitMaxima(calibration: features, passes: 0, seed: 0)
        let cappedMaxima = capped.unitMaxima(calibration: features, passes: 0, seed: 0)
        for layer in 0..<3 {
            for (raw, scaled) in zip(rawMaxima[layer], cappedMaxima[layer]) where raw > 0 {
                #expect(abs(scaled - min(1, 4 * raw)) < 1e-5)
            }
        }
        let masks = DropoutMasks(for: network, passes: 4, seed: 53)
        // With dropout passes in the calibration no unit exceeds 1 in them either, and the
        // function is the same.
        let withPasses = network.equalized(calibration: features, passes: 4, seed: 53)
        for row in 0..<20 {
            #expect(abs(withPasses.referenceOutput(features.row(row)) - network.referenceOutput(features.row(row))) < 1e-5)
            #expect(abs(equalized.referenceOutput(features.row(row)) - network.referenceOutput(features.row(row))) < 1e-5)
            let layerMasks: [[Bool]?] = network.layers.indices.map { layer in
                masks.keep[layer].map { _ in (0..<network.layers[layer].inputCount).map { masks.keeps(layer: layer, pass: 2, unit: $0, inputCount: network.layers[layer].inputCount) } }
            }
            #expect(abs(equalized.referenceOutput(features.row(row), masks: layerMasks) - network.referenceOutput(features.row(row), masks: layerMasks)) < 1e-5)
        }
    }
}
