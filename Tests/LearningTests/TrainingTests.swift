import Testing
@testable import Learning

/// Backpropagation, Adam and the training loop.
struct TrainingTests {
    /// Mean squared error of `network` on a batch, in Double, from the scalar reference forward.
    static func referenceLoss(_ network: DenseNetwork, _ features: FeatureMatrix, _ targets: [Float], masks: [[[Bool]]?]?) -> Double {
        var sum = 0.0
        for row in 0..<features.rowCount {
            let rowMasks: [[Bool]?]? = masks.map { layers in layers.map { $0?[row] } }
            let error = network.referenceOutput(features.row(row), masks: rowMasks) - Double(targets[row])
            sum += error * error
        }
        return sum / Double(features.rowCount)
    }

    @Test(arguments: [false, true])
    func gradientsMatchCentralFiniteDifferences(withDropout: Bool) {
        let network = randomNetwork(seed: 3)
        let features = randomFeatures(rows: 6, seed: 4)
        let targets = (0..<6).map { syntheticTarget(features.row($0)) }
        var maskRandom = LearningRandom(seed: 5)
        let masks: [[[Bool]]?]? = withDropout
            ? network.layers.map { layer in
                layer.inputDropout > 0
                    ? (0..<6).map { _ in (0..<layer.inputCount).map { _ in maskRandom.nextUnitFloat() >= layer.inputDropout } } : nil
            } : nil
        let (loss, gradient) = NetworkTrainer.lossAndGradient(network: network, features: features, targets: targets, masks: masks)
        #expect(abs(Double(loss) - Self.referenceLoss(network, features, targets, masks: masks)) < 1e-5)
        var checked = 0
        for (layerIndex, layer) in network.layers.enumerated() {
            // Every bias and a spread of weights of every layer.
            var parameters: [(isBias: Bool, index: Int)] = (0..<layer.outputCount).map { (true, $0) }
            parameters += stride(from: 0, to: layer.weights.count, by: max(1, layer.weights.count / 40)).map { (false, $0) }
            for (isBias, index) in parameters {
                let h: Float = 1e-3
                var plus = network
                var minus = network
                if isBias {
                    plus.layers[layerIndex].bias[index] += h
                    minus.layers[layerIndex].bias[index] -= h
                } else {
                    plus.layers[layerIndex].weights[index] += h
                    minus.layers[layerIndex].weights[index] -= h
                }
                let numeric = (Self.referenceLoss(plus, features, targets, masks: masks)
                    - Self.referenceLoss(minus, features, targets, masks: masks)) / (2 * Double(h))
                let analytic = Double(isBias ? gradient.layers[layerIndex].bias[index] : gradient.layers[layerIndex].weights[index])
                // ReLU kinks make a few finite differences straddle a corner; those are rare at h = 1e-3.
                #expect(abs(numeric - analytic) <= 2e-3 * max(1, abs(numeric)), "layer \(layerIndex) \(isBias ? "bias" : "weight") \(index)")
                checked += 1
            }
        }
        #expect(checked > 100)
    }

    @Test func theFirstAdamStepMovesEveryWeightByTheLearningRate() {
        // With m = (1−β1)g and v = (1−β2)g², Keras's bias-corrected step is lr·g/(|g| + ε/√(1−β2)):
        // every weight with a gradient well above ε moves by lr against its sign.
        let network = randomNetwork(seed: 11)
        let features = randomFeatures(rows: 32, seed: 12)
        let targets = (0..<32).map { syntheticTarget(features.row($0)) }
        let (_, gradient) = NetworkTrainer.lossAndGradient(network: network, features: features, targets: targets)
        let trainer = NetworkTrainer(
            settings: TrainingSettings(epochs: 1, batchSize: 32, learningRate: 1e-3), preparesForQuantization: false)
        let workspace = TrainingWorkspace(network: network, batchSize: 32)
        features.values.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                workspace.gather(rows: 0..<32, features: x.baseAddress!, columns: 5, targets: y.baseAddress!)
            }
        }
        var random = LearningRandom(seed: 0)
        _ = workspace.forwardBackward(rows: 32, dropout: false, random: &random)
        workspace.adamStep(trainer.settings)
        let stepped = workspace.network()
        var moved = 0
        for (index, layer) in network.layers.enumerated() {
            for (w, (before, after)) in zip(layer.weights, stepped.layers[index].weights).enumerated() {
                let g = gradient.layers[index].weights[w]
                if abs(g) > 3e-3 {
                    #expect(abs((before - after) - 1e-3 * (g > 0 ? 1 : -1)) < 2e-6)
                    moved += 1
                } else if g == 0 {
                    #expect(before == after)
                }
            }
        }
        #expect(moved > 50)
    }

    @Test func trainingLowersTheLossAndIsReproducibleForASeed() {
        let features = randomFeatures(rows: 160, seed: 21)
        let targets = (0..<160).map { syntheticTarget(features.row($0)) }
        let trainer = NetworkTrainer(settings: TrainingSettings(epochs: 60), preparesForQuantization: false)
        var history: [Float] = []
        let first = withUnsafeMutablePointer(to: &history) { trainer.train(features: features, targets: targets, seed: 8, lossHistory: $0) }
        #expect(history.count == 60)
        #expect(history.last! < 0.5 * history.first!)
        let again = trainer.train(features: features, targets: targets, seed: 8)
        #expect(again == first)
        let other = trainer.train(features: features, targets: targets, seed: 9)
        #expect(other != first)
        // The fitted function beats predicting the mean.
        let mean = targets.reduce(0, +) / Float(targets.count)
        let predictions = first.predict(features)
        let model = zip(predictions, targets).map { abs($0 - $1) }.reduce(0, +)
        let baseline = targets.map { abs($0 - mean) }.reduce(0, +)
        #expect(model < 0.7 * baseline)
    }

    @Test func initializationFollowsHeAndGlorotLimits() {
        let network = DenseNetwork(inputCount: 5, shapes: DenseNetwork.publishedShapes, seed: 1)
        let limits: [Float] = [(6.0 / 5).squareRoot(), (6.0 / 5).squareRoot(), (6.0 / 50).squareRoot(), (6.0 / 51).squareRoot()]
        for (layer, limit) in zip(network.layers, limits) {
            #expect(layer.weights.allSatisfy { abs($0) <= limit })
            #expect(layer.weights.map(abs).max()! > 0.8 * limit)
            #expect(layer.bias.allSatisfy { $0 == 0 })
        }
        #expect(network.parameterCount == 5 * 5 + 5 + 5 * 50 + 50 + 50 * 50 + 50 + 50 + 1)
    }
}
