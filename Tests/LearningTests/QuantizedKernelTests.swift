import Testing
@testable import Learning

/// The C chain kernel (CQuantizedKernels): every variant this CPU runs (scalar, SSE2, AVX2,
/// AVX-VNNI, AVX512-VNNI on x86-64; NEON and NEON sdot on aarch64), forced one at a time, gives the integer
/// reference's output bit for bit.
struct QuantizedKernelTests {
    @Test func aVectorVariantIsAvailableBesidesTheScalarOne() {
        let variants = QuantizedChain.availableKernelVariants
        #expect(variants.first == 1)  // AQK_VARIANT_SCALAR, on every CPU
        #if arch(x86_64) || arch(arm64)
        #expect(variants.count >= 2)  // SSE2 is x86-64's baseline, NEON aarch64's
        #endif
    }

    /// The kernels by name, as the bench compares them: each one listed can be chosen, then runs
    /// (`singleRowKernel` names it) and gives the best one's output; an unknown name changes
    /// nothing.
    @Test func kernelsChosenByNameRunAndAgree() throws {
        let float = randomNetwork(seed: 4, shapes: DenseNetwork.publishedShapes).equalized(calibration: randomFeatures(rows: 100, seed: 14))
        let engine = QuantizedInference(QuantizedNetwork.calibrated(float, calibration: randomFeatures(rows: 300, seed: 24), precision: .narrowInt16))
        let names = QuantizedInference.availableSingleRowKernels
        #expect(names.first == engine.singleRowKernel)
        #expect(names.contains("scalar"))
        let input: [Float] = [0.3, 0.5, 0.2, 0.7, 0.9]
        let best = input.withUnsafeBufferPointer { engine.predictOne($0.baseAddress!) }
        for name in names {
            #expect(engine.useSingleRowKernel(name))
            #expect(engine.singleRowKernel == name)
            let output = input.withUnsafeBufferPointer { engine.predictOne($0.baseAddress!) }
            #expect(output.bitPattern == best.bitPattern, "\(name)")
        }
        #expect(!engine.useSingleRowKernel("avx-1024"))
        #expect(engine.singleRowKernel == names.last)
    }

    /// NEON sdot (the Pi 5's kernel, which cannot run on this CPU) multiplies signed bytes, so it
    /// takes a quad layer's inputs as x − 128 and starts from quad_bias: that must give, for any
    /// byte inputs, the sums the pair weights (a separate copy, another layout) give from bias.
    @Test func quadBiasGivesTheSameSumsForSignedInputs() throws {
        let float = randomNetwork(seed: 5, shapes: DenseNetwork.publishedShapes).equalized(calibration: randomFeatures(rows: 100, seed: 15))
        let engine = QuantizedInference(QuantizedNetwork.calibrated(float, calibration: randomFeatures(rows: 300, seed: 25), precision: .int8))
        let chain = try #require(engine.chain)
        var random = LearningRandom(seed: 35)
        var checked = 0
        for l in 0..<chain.table.count {
            let layer = chain.kernelLayers[l]
            guard let quads = layer.quad_weights else {
                #expect(layer.quad_bias == nil)
                continue
            }
            let quadBias = try #require(layer.quad_bias)
            let inputs = chain.table[l].inputCount
            let chunks = Int(layer.chunks)
            for _ in 0..<20 {
                let x = (0..<inputs).map { _ in Int32(random.nextUnitFloat() * 255.999) }
                for o in 0..<chunks * 8 {
                    var fromPairs = layer.bias[o]
                    var fromQuads = quadBias[o]
                    for i in 0..<inputs {
                        fromPairs &+= Int32(layer.weights[(i / 2) * chunks * 16 + (o / 4) * 8 + (o % 4) * 2 + i % 2]) &* x[i]
                        fromQuads &+= Int32(quads[(i / 4) * chunks * 32 + (o / 8) * 32 + (o % 8) * 4 + i % 4]) &* (x[i] - 128)
                    }
                    #expect(fromPairs == fromQuads, "layer \(l), channel \(o)")
                    checked += 1
                }
            }
        }
        #expect(checked > 0)  // the int8 published shape has a quad layer
    }

    /// The published shape, and a wider one: 90 channels (a block of 8 chunks and one of 4),
    /// odd input counts (a padded last pair) and 33 channels (a partial last chunk).
    static let shapes: [[LayerShape]] = [
        DenseNetwork.publishedShapes,
        [
            LayerShape(outputs: 7, activation: .relu), LayerShape(outputs: 90, activation: .relu),
            LayerShape(outputs: 33, activation: .relu, inputDropout: 0.1),
            LayerShape(outputs: 1, activation: .identity, inputDropout: 0.1),
        ],
    ]

    /// `unshifted` moves every hidden layer's requantization to a right shift of 0 (the
    /// multipliers shifted down instead): the case the kernel runs with doubled multipliers.
    @Test(arguments: [ActivationPrecision.int8, .narrowInt16], shapes.indices)
    func everyVariantMatchesTheIntegerReferenceBitForBit(precision: ActivationPrecision, shape: Int) throws {
        try everyVariantMatchesTheIntegerReference(precision: precision, shape: shape, unshifted: false)
    }

    @Test(arguments: shapes.indices)
    func everyVariantMatchesTheReferenceWithoutARightShift(shape: Int) throws {
        try everyVariantMatchesTheIntegerReference(precision: .int8, shape: shape, unshifted: true)
    }

    func everyVariantMatchesTheIntegerReference(precision: ActivationPrecision, shape: Int, unshifted: Bool) throws {
        let variants = QuantizedChain.availableKernelVariants
        for seed in UInt64(1)...3 {
            let float = randomNetwork(seed: seed, shapes: Self.shapes[shape]).equalized(calibration: randomFeatures(rows: 100, seed: seed + 10))
            var network = QuantizedNetwork.calibrated(float, calibration: randomFeatures(rows: 300, seed: seed + 20), precision: precision)
            if unshifted {
                for l in network.layers.indices.dropLast() {
                    let right = -network.layers[l].shift
                    network.layers[l].multiplier = network.layers[l].multiplier.map { $0 >> right }
                    network.layers[l].shift = 0
                }
                #expect(network.layers.dropLast().allSatisfy { $0.shift == 0 && $0.multiplier.contains { $0 > 0 } })
            }
            // Inputs a little beyond the calibrated range too, so the clamps are exercised.
            var random = LearningRandom(seed: seed + 30)
            let rows = 40
            let inputs = (0..<rows).map { _ in (0..<5).map { _ in random.nextUnitFloat() * 1.4 - 0.2 } }
            let none: [[Bool]?] = network.layers.map { _ in nil }
            let expected = inputs.map { QuantizationTests.reference(network, $0, masks: none) }
            let engine = QuantizedInference(network)
            let chain = try #require(engine.chain)
            #expect(chain.usesKernel)
            for variant in variants {
                chain.kernelVariant = variant
                for row in 0..<rows {
                    let output = inputs[row].withUnsafeBufferPointer { engine.predictOne($0.baseAddress!) }
                    #expect(output.bitPattern == expected[row].bitPattern, "variant \(variant), seed \(seed), row \(row)")
                }
            }
        }
    }
}
