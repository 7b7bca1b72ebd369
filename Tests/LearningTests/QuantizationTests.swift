import Testing
@testable import Learning

/// The integer path: bit-exact against a plain integer reference, and close to the float path.
struct QuantizationTests {
    /// round(x / s) + z, half away from zero, clamped: the definition, through libm's rounding.
    static func quantize(_ value: Float, _ p: QuantizationParameters) -> Int64 {
        let scaled = max(-65536, min(65536, value / p.scale)).rounded(.toNearestOrAwayFromZero)
        let low: Int64 = p.bits == 8 ? -128 : -32768
        let high: Int64 = p.bits == 8 ? 127 : 32767
        return max(low, min(high, Int64(scaled) + Int64(p.zeroPoint)))
    }

    /// x·M0·2^(shift−31), written out on 64-bit integers: the doubling high multiply rounds to
    /// nearest with ties toward +∞, the power-of-two division rounds half away from zero.
    static func requantize(_ accumulator: Int64, multiplier: Int32, shift: Int32) -> Int64 {
        var x = accumulator
        if shift > 0 { x = max(Int64(Int32.min), min(Int64(Int32.max), x << Int64(shift))) }
        let product = x * Int64(multiplier)
        let high = product >= 0 ? (product + (1 << 30)) >> 31 : -((-product + (1 << 30) - 1) >> 31)
        let exponent = Int64(shift > 0 ? 0 : -shift)
        if exponent == 0 { return high }
        let floor = high >> exponent
        let remainder = high - (floor << exponent)
        let half = Int64(1) << (exponent - 1)
        return remainder > half || (remainder == half && high >= 0) ? floor + 1 : floor
    }

    /// The whole quantized network on plain integers, with keep-masks per dropout layer.
    static func reference(_ network: QuantizedNetwork, _ input: [Float], masks: [[Bool]?]) -> Float {
        var activation = input.map { quantize($0, network.layers[0].input) }
        for (index, layer) in network.layers.enumerated() {
            let mask = masks[index]
            let dropout = mask != nil
            var next: [Int64] = []
            for o in 0..<layer.outputCount {
                var accumulator = Int64(dropout ? layer.dropoutBias[o] : layer.bias[o])
                for i in 0..<layer.inputCount where mask?[i] ?? true {
                    accumulator += Int64(layer.weights[o * layer.inputCount + i]) * (activation[i] - Int64(layer.input.zeroPoint))
                }
                guard let output = layer.output else {
                    let value = Float(Int32(accumulator)) * layer.accumulatorScale(channel: o, dropout: dropout)
                    return layer.activation == .relu ? max(0, value) : value
                }
                let scaled = requantize(
                    accumulator, multiplier: dropout ? layer.dropoutMultiplier[o] : layer.multiplier[o],
                    shift: dropout ? layer.dropoutShift : layer.shift)
                let low = layer.activation == .relu ? max(Int64(output.minimum), Int64(output.zeroPoint)) : Int64(output.minimum)
                next.append(max(low, min(Int64(output.maximum), scaled + Int64(output.zeroPoint))))
            }
            activation = next
        }
        preconditionFailure("the last layer has no output quantization")
    }

    static func layerMasks(_ masks: DropoutMasks, _ network: QuantizedNetwork, pass: Int) -> [[Bool]?] {
        network.layers.indices.map { layer in
            masks.keep[layer].map { _ in
                (0..<network.layers[layer].inputCount).map { masks.keeps(layer: layer, pass: pass, unit: $0, inputCount: network.layers[layer].inputCount) }
            }
        }
    }

    @Test(arguments: [ActivationPrecision.int8, .narrowInt16], [false, true])
    func theKernelMatchesTheIntegerReferenceBitForBit(precision: ActivationPrecision, leftShift: Bool) {
        for seed in UInt64(1)...4 {
            let float = randomNetwork(seed: seed).equalized(calibration: randomFeatures(rows: 100, seed: seed + 10))
            var network = QuantizedNetwork.calibrated(float, calibration: randomFeatures(rows: 300, seed: seed + 20), precision: precision)
            if leftShift {
                // The same multipliers (to fewer bits) with a shift of +1: the left-shift branch
                // (multipliers of 1 or more arise when a layer's outputs span less than its inputs).
                for layer in [1, 2] {
                    let shift = network.layers[layer].shift
                    network.layers[layer].multiplier = network.layers[layer].multiplier.map { $0 >> (1 - shift) }
                    network.layers[layer].shift = 1
                    if !network.layers[layer].dropoutMultiplier.isEmpty {
                        let dropoutShift = network.layers[layer].dropoutShift
                        network.layers[layer].dropoutMultiplier = network.layers[layer].dropoutMultiplier.map { $0 >> (1 - dropoutShift) }
                        network.layers[layer].dropoutShift = 1
                    }
                }
                #expect(network.layers[2].shift > 0 && network.layers[2].dropoutShift > 0)
            }
            // Inputs a little beyond the calibrated range too, so the clamps are exercised.
            var random = LearningRandom(seed: seed + 30)
            let rows = 40
            let features = FeatureMatrix(
                rowCount: rows, columnCount: 5, values: (0..<rows * 5).map { _ in random.nextUnitFloat() * 1.4 - 0.2 })
            let engine = QuantizedInference(network, maximumRows: 64)
            // Right shifts run the published architecture's dedicated kernel (QuantizedChain),
            // left shifts the general one: both are checked here.
            #expect((engine.chain != nil) == !leftShift)
            #expect((engine.chain?.monteCarloSplit != nil) == !leftShift)
            let outputs = engine.predict(features)
            let none: [[Bool]?] = network.layers.map { _ in nil }
            for row in 0..<rows {
                let expected = Self.reference(network, features.row(row), masks: none)
                #expect(outputs[row].bitPattern == expected.bitPattern)
                let single = features.row(row).withUnsafeBufferPointer { engine.predictOne($0.baseAddress!) }
                #expect(single.bitPattern == expected.bitPattern)
            }
            let passes = 16
            let masks = DropoutMasks(inputCounts: network.layers.map(\.inputCount), rates: network.layers.map(\.inputDropout), passes: passes, seed: seed)
            var mc = [Float](repeating: 0, count: 4 * passes)
            features.values.withUnsafeBufferPointer { input in
                mc.withUnsafeMutableBufferPointer { engine.monteCarlo(input.baseAddress!, rows: 4, masks: masks, output: $0.baseAddress!) }
            }
            for row in 0..<4 {
                for pass in 0..<passes {
                    let expected = Self.reference(network, features.row(row), masks: Self.layerMasks(masks, network, pass: pass))
                    #expect(mc[row * passes + pass].bitPattern == expected.bitPattern)
                }
            }
        }
    }

    @Test func weightsStayWithinHalfAStepAndSnappedWeightsAreExact() {
        let network = randomNetwork(seed: 61)
        let quantized = QuantizedNetwork.calibrated(network, calibration: randomFeatures(rows: 50, seed: 62))
        let dequantized = quantized.dequantized()
        for (index, layer) in network.layers.enumerated() {
            let q = quantized.layers[index]
            for o in 0..<layer.outputCount {
                var largest: Float = 0
                for i in 0..<layer.inputCount { largest = max(largest, abs(layer.weight(input: i, output: o))) }
                #expect(abs(q.weightScales[o] - largest / 127) <= 1e-7 * largest)
                #expect((0..<layer.inputCount).contains { abs(Int(q.weights[o * layer.inputCount + $0])) == 127 })
                for i in 0..<layer.inputCount {
                    #expect(abs(dequantized.layers[index].weight(input: i, output: o) - layer.weight(input: i, output: o)) <= 0.5 * q.weightScales[o] * 1.0001)
                }
            }
        }
        let snapped = network.snappedToInt8Grid()
        let twin = QuantizedNetwork.calibrated(snapped, calibration: randomFeatures(rows: 50, seed: 62)).dequantized()
        for (a, b) in zip(snapped.layers, twin.layers) {
            for (x, y) in zip(a.weights, b.weights) { #expect(abs(x - y) <= 2e-7 * max(abs(x), 1e-3)) }
        }
    }

    @Test func theIntegerPathStaysCloseToTheFloatPath() {
        // A trained, prepared network: the integer path differs only by activation rounding.
        let features = randomFeatures(rows: 400, seed: 71)
        let targets = (0..<400).map { syntheticTarget(features.row($0)) }
        let network = NetworkTrainer(settings: TrainingSettings(epochs: 15), quantization: QuantizationRecipe(boxRows: 256)).train(
            features: features, targets: targets, seed: 72)
        let float = network.predict(features)
        var differences: [ActivationPrecision: Double] = [:]
        for precision in [ActivationPrecision.int8, .narrowInt16] {
            let quantized = QuantizedNetwork.calibrated(network, calibration: DenseNetwork.calibrationRows(features, boxRows: 256), precision: precision)
            let int8 = QuantizedInference(quantized, maximumRows: 128).predict(features)
            differences[precision] = zip(float, int8).map { Double(abs($0 - $1)) }.reduce(0, +) / 400
        }
        // Every equalized unit spans [0, 1] in 255 steps (±0.002); summed through the next layers a
        // few steps' worth at most, and the int16 inputs can only help.
        #expect(differences[.narrowInt16]! < 0.005)
        #expect(differences[.int8]! < 0.008)
        #expect(differences[.narrowInt16]! <= 1.05 * differences[.int8]!)
    }
}
