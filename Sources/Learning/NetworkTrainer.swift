#if canImport(Glibc)
import Glibc
#endif

/// Training hyper-parameters (DESIGN.md §1: Adam 1e-3, MSE, 300 epochs, batch 32; Adam's other
/// constants are Keras's defaults).
public struct TrainingSettings: Sendable, Equatable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var epsilon: Float

    public init(
        epochs: Int = 300, batchSize: Int = 32, learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999,
        epsilon: Float = 1e-7
    ) {
        precondition(epochs >= 0 && batchSize > 0 && learningRate > 0, "epochs, batch size and learning rate")
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// The published settings.
    public static let published = TrainingSettings()
}

/// Trains a `DenseNetwork` by mini-batch Adam (Kingma & Ba 2015, with Keras's bias-corrected
/// step size lr·√(1−β2^t)/(1−β1^t) and ε outside the square root) on the mean squared error,
/// reshuffling every epoch and applying inverted dropout (keep with 1−p, scale by 1/(1−p)) on
/// the inputs of layers that have it. Single-threaded and seeded: the same seed and data give
/// the same network bit for bit.
///
/// With `preparesForQuantization` the trained network is equalized (on the training rows and the
/// unit box, `DenseNetwork.calibrationRows`) and its
/// weights snapped to the int8 grid (`DenseNetwork.equalized`, `snappedToInt8Grid`), so the float
/// model that is scored and shipped holds exactly the weights of its int8 twin.
public struct NetworkTrainer: RegressorTrainer {
    public var shapes: [LayerShape]
    public var settings: TrainingSettings
    public var preparesForQuantization: Bool
    /// The calibration the equalization uses.
    public var quantization: QuantizationRecipe

    public init(
        shapes: [LayerShape] = DenseNetwork.publishedShapes, settings: TrainingSettings = .published,
        preparesForQuantization: Bool = true, quantization: QuantizationRecipe = .standard
    ) {
        self.shapes = shapes
        self.settings = settings
        self.preparesForQuantization = preparesForQuantization
        self.quantization = quantization
    }

    public func train(features: FeatureMatrix, targets: [Float], seed: UInt64) -> DenseNetwork {
        train(features: features, targets: targets, seed: seed, lossHistory: nil)
    }

    /// Trains and, when asked, records the mean training loss of every epoch.
    public func train(
        features: FeatureMatrix, targets: [Float], seed: UInt64, lossHistory: UnsafeMutablePointer<[Float]>?
    ) -> DenseNetwork {
        precondition(features.rowCount == targets.count && features.rowCount > 0, "one target per row")
        let initial = DenseNetwork(inputCount: features.columnCount, shapes: shapes, seed: seed)
        let workspace = TrainingWorkspace(network: initial, batchSize: settings.batchSize)
        var random = LearningRandom.derived(seed: seed, stream: 1)
        var order = Array(0..<features.rowCount)
        var history: [Float] = []
        features.values.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                for _ in 0..<settings.epochs {
                    random.shuffle(&order)
                    var lossSum: Double = 0
                    var start = 0
                    while start < order.count {
                        let count = min(settings.batchSize, order.count - start)
                        workspace.gather(
                            rows: order[start..<start + count], features: x.baseAddress!, columns: features.columnCount,
                            targets: y.baseAddress!)
                        lossSum += Double(workspace.forwardBackward(rows: count, dropout: true, random: &random)) * Double(count)
                        workspace.adamStep(settings)
                        start += count
                    }
                    history.append(Float(lossSum / Double(order.count)))
                }
            }
        }
        lossHistory?.pointee = history
        let trained = workspace.network()
        return preparesForQuantization
            ? trained.equalized(
                calibration: DenseNetwork.calibrationRows(features, boxRows: quantization.boxRows),
                passes: quantization.dropoutPasses
            ).snappedToInt8Grid()
            : trained
    }

    /// The mean squared error on one batch and its gradient with respect to every weight and bias
    /// (as a network of the same shape), with dropout off or with the given keep-masks (per
    /// layer, per row, per input unit). For checking backpropagation against finite differences.
    static func lossAndGradient(
        network: DenseNetwork, features: FeatureMatrix, targets: [Float], masks: [[[Bool]]?]? = nil
    ) -> (loss: Float, gradient: DenseNetwork) {
        let workspace = TrainingWorkspace(network: network, batchSize: features.rowCount)
        features.values.withUnsafeBufferPointer { x in
            targets.withUnsafeBufferPointer { y in
                workspace.gather(
                    rows: 0..<features.rowCount, features: x.baseAddress!, columns: features.columnCount,
                    targets: y.baseAddress!)
            }
        }
        var random = LearningRandom(seed: 0)
        let loss = workspace.forwardBackward(rows: features.rowCount, dropout: masks != nil, random: &random, fixedMasks: masks)
        return (loss, workspace.gradientNetwork())
    }
}

/// Every buffer one training run needs, allocated once: padded parameters, their gradients and
/// Adam moments in one flat array each (so the optimizer step is one vector loop), and the
/// activations and dropout scales of one batch.
final class TrainingWorkspace {
    let layerCount: Int
    let inputCount: [Int]
    let outputCount: [Int]
    let inputPadded: [Int]
    let outputPadded: [Int]
    let relu: [Bool]
    let dropout: [Float]
    let weightOffset: [Int]
    let biasOffset: [Int]
    let parameterCount: Int
    let batchSize: Int

    let parameters: AlignedBuffer<Float>
    let gradients: AlignedBuffer<Float>
    let firstMoment: AlignedBuffer<Float>
    let secondMoment: AlignedBuffer<Float>
    var step = 0

    /// The batch's inputs (`batchSize × inputPadded[0]`) and targets.
    let batchInput: AlignedBuffer<Float>
    let batchTarget: AlignedBuffer<Float>
    /// Per layer: its output after the activation, the dropped-out copy of its input and the
    /// dropout scale (0 or 1/(1−p)) of each input unit.
    let activations: [AlignedBuffer<Float>]
    let droppedInputs: [AlignedBuffer<Float>]
    let dropoutScales: [AlignedBuffer<Float>]
    let gradientA: AlignedBuffer<Float>
    let gradientB: AlignedBuffer<Float>
    /// Wᵀ of every layer (`outputPadded × inputPadded`), refreshed after each step, so the input
    /// gradient is a product with contiguous rows too.
    let transposed: [AlignedBuffer<Float>]
    let nonzeroIndex: AlignedBuffer<Int>
    let nonzeroValue: AlignedBuffer<Float>
    /// What each layer read in the last forward pass (its input, or the dropped-out copy).
    let layerInputs: AlignedBuffer<UnsafePointer<Float>>

    init(network: DenseNetwork, batchSize: Int) {
        layerCount = network.layers.count
        inputCount = network.layers.map(\.inputCount)
        outputCount = network.layers.map(\.outputCount)
        inputPadded = inputCount.map { roundUp($0, to: 8) }
        outputPadded = outputCount.map { roundUp($0, to: 8) }
        relu = network.layers.map { $0.activation == .relu }
        dropout = network.layers.map(\.inputDropout)
        var offset = 0
        var weightOffset: [Int] = []
        var biasOffset: [Int] = []
        for layer in 0..<network.layers.count {
            weightOffset.append(offset)
            offset += inputPadded[layer] * outputPadded[layer]
            biasOffset.append(offset)
            offset += outputPadded[layer]
        }
        self.weightOffset = weightOffset
        self.biasOffset = biasOffset
        parameterCount = offset
        self.batchSize = batchSize
        parameters = AlignedBuffer(count: offset, zero: 0)
        gradients = AlignedBuffer(count: offset, zero: 0)
        firstMoment = AlignedBuffer(count: offset, zero: 0)
        secondMoment = AlignedBuffer(count: offset, zero: 0)
        batchInput = AlignedBuffer(count: batchSize * inputPadded[0], zero: 0)
        batchTarget = AlignedBuffer(count: batchSize, zero: 0)
        let widest = max(inputPadded.max()!, outputPadded.max()!)
        activations = outputPadded.map { AlignedBuffer(count: batchSize * $0, zero: 0) }
        droppedInputs = (0..<layerCount).map { AlignedBuffer(count: network.layers[$0].inputDropout > 0 ? batchSize * widest : 0, zero: 0) }
        dropoutScales = (0..<layerCount).map { AlignedBuffer(count: network.layers[$0].inputDropout > 0 ? batchSize * widest : 0, zero: 0) }
        gradientA = AlignedBuffer(count: batchSize * widest, zero: 0)
        gradientB = AlignedBuffer(count: batchSize * widest, zero: 0)
        let inputPadded = self.inputPadded
        let outputPadded = self.outputPadded
        transposed = (0..<network.layers.count).map { AlignedBuffer(count: outputPadded[$0] * inputPadded[$0], zero: 0) }
        nonzeroIndex = AlignedBuffer(count: max(batchSize, widest), zero: 0)
        nonzeroValue = AlignedBuffer(count: max(batchSize, widest), zero: 0)
        layerInputs = AlignedBuffer(count: network.layers.count, zero: UnsafePointer(gradientA.pointer))
        for (index, layer) in network.layers.enumerated() {
            for i in 0..<layer.inputCount {
                for o in 0..<layer.outputCount {
                    parameters.pointer[weightOffset[index] + i * outputPadded[index] + o] = layer.weights[i * layer.outputCount + o]
                }
            }
            for o in 0..<layer.outputCount { parameters.pointer[biasOffset[index] + o] = layer.bias[o] }
        }
        refreshTransposed()
    }

    /// Copies every layer's W into its transposed buffer.
    func refreshTransposed() {
        for layer in 1..<max(1, layerCount) {
            let source = parameters.pointer + weightOffset[layer]
            let target = transposed[layer].pointer
            let inStride = inputPadded[layer]
            let outStride = outputPadded[layer]
            for i in 0..<inputCount[layer] {
                for o in 0..<outputCount[layer] { target[o * inStride + i] = source[i * outStride + o] }
            }
        }
    }

    /// Copies the chosen rows into the batch buffers.
    func gather<Rows: Collection<Int>>(rows: Rows, features: UnsafePointer<Float>, columns: Int, targets: UnsafePointer<Float>) {
        let stride = inputPadded[0]
        for (slot, row) in rows.enumerated() {
            (batchInput.pointer + slot * stride).update(from: features + row * columns, count: columns)
            batchTarget.pointer[slot] = targets[row]
        }
    }

    /// One forward and backward pass over the first `rows` batch rows: returns the batch's mean
    /// squared error and leaves the gradient of it in `gradients`.
    func forwardBackward(
        rows: Int, dropout useDropout: Bool, random: inout LearningRandom, fixedMasks: [[[Bool]]?]? = nil
    ) -> Float {
        let p = parameters.pointer
        var input = UnsafePointer(batchInput.pointer)
        let inputs = layerInputs.pointer
        for layer in 0..<layerCount {
            if useDropout && dropout[layer] > 0 {
                let width = inputPadded[layer]
                let count = inputCount[layer]
                let dropped = droppedInputs[layer].pointer
                let scales = dropoutScales[layer].pointer
                scales.update(repeating: 0, count: rows * width)
                let keepScale = 1 / (1 - dropout[layer])
                if let masks = fixedMasks?[layer] {
                    for row in 0..<rows {
                        for unit in 0..<count where masks[row][unit] { scales[row * width + unit] = keepScale }
                    }
                } else {
                    // Keep when a 32-bit uniform draw is at or above p·2³²: two units per draw.
                    let threshold = UInt64(Double(dropout[layer]) * 4_294_967_296)
                    for row in 0..<rows {
                        let rowScales = scales + row * width
                        var unit = 0
                        while unit < count {
                            let bits = random.next()
                            if bits & 0xFFFF_FFFF >= threshold { rowScales[unit] = keepScale }
                            if unit + 1 < count && bits >> 32 >= threshold { rowScales[unit + 1] = keepScale }
                            unit += 2
                        }
                    }
                }
                for index in 0..<rows * width / 8 {
                    store8(load8(input + 8 * index) * load8(scales + 8 * index), dropped + 8 * index)
                }
                input = UnsafePointer(dropped)
            }
            inputs[layer] = input
            multiply(
                m: rows, k: inputCount[layer], n: outputPadded[layer],
                a: input, aRowStride: inputPadded[layer], aColumnStride: 1,
                b: p + weightOffset[layer], bRowStride: outputPadded[layer],
                c: activations[layer].pointer, cRowStride: outputPadded[layer],
                start: .bias(p + biasOffset[layer]), relu: relu[layer],
                nonzeroIndex: nonzeroIndex.pointer, nonzeroValue: nonzeroValue.pointer)
            input = UnsafePointer(activations[layer].pointer)
        }

        // Loss and its gradient at the output (column 0 of the last layer).
        let last = layerCount - 1
        let outputStride = outputPadded[last]
        var gradient = gradientA.pointer
        var gradientNext = gradientB.pointer
        gradient.update(repeating: 0, count: rows * outputStride)
        var loss: Float = 0
        for row in 0..<rows {
            let error = activations[last].pointer[row * outputStride] - batchTarget.pointer[row]
            loss += error * error
            gradient[row * outputStride] = 2 * error / Float(rows)
        }
        loss /= Float(rows)

        gradients.pointer.update(repeating: 0, count: parameterCount)
        let g = gradients.pointer
        for layer in stride(from: last, through: 0, by: -1) {
            let outStride = outputPadded[layer]
            let inStride = inputPadded[layer]
            if relu[layer] {
                let output = activations[layer].pointer
                for index in 0..<rows * outStride / 8 {
                    let g = load8(gradient + 8 * index)
                    store8(g.replacing(with: 0, where: load8(output + 8 * index) .<= 0), gradient + 8 * index)
                }
            }
            let biasGradient = g + biasOffset[layer]
            for row in 0..<rows { axpy8(1, gradient + row * outStride, biasGradient, count: outStride) }
            // dW = inputᵀ · dZ: A is the input read column-wise.
            multiply(
                m: inputCount[layer], k: rows, n: outStride,
                a: inputs[layer], aRowStride: 1, aColumnStride: inStride,
                b: gradient, bRowStride: outStride,
                c: g + weightOffset[layer], cRowStride: outStride,
                start: .zero, relu: false,
                nonzeroIndex: nonzeroIndex.pointer, nonzeroValue: nonzeroValue.pointer)
            if layer > 0 {
                // dInput = dZ · Wᵀ, through the transposed copy of W.
                multiply(
                    m: rows, k: outputCount[layer], n: inStride,
                    a: gradient, aRowStride: outStride, aColumnStride: 1,
                    b: transposed[layer].pointer, bRowStride: inStride,
                    c: gradientNext, cRowStride: inStride,
                    start: .zero, relu: false,
                    nonzeroIndex: nonzeroIndex.pointer, nonzeroValue: nonzeroValue.pointer)
                if useDropout && dropout[layer] > 0 {
                    let scales = dropoutScales[layer].pointer
                    for index in 0..<rows * inStride / 8 {
                        store8(load8(gradientNext + 8 * index) * load8(scales + 8 * index), gradientNext + 8 * index)
                    }
                }
                swap(&gradient, &gradientNext)
            }
        }
        return loss
    }

    /// One Adam update of every parameter from `gradients` (padding stays exactly zero: its
    /// gradient and moments are zero).
    func adamStep(_ settings: TrainingSettings) {
        step += 1
        let t = Float(step)
        let correction = (1 - powf(settings.beta2, t)).squareRoot() / (1 - powf(settings.beta1, t))
        let stepSize = SIMD8<Float>(repeating: settings.learningRate * correction)
        let beta1 = SIMD8<Float>(repeating: settings.beta1)
        let beta2 = SIMD8<Float>(repeating: settings.beta2)
        let oneMinusBeta1 = SIMD8<Float>(repeating: 1 - settings.beta1)
        let oneMinusBeta2 = SIMD8<Float>(repeating: 1 - settings.beta2)
        let epsilon = SIMD8<Float>(repeating: settings.epsilon)
        let w = parameters.pointer
        let g = gradients.pointer
        let m = firstMoment.pointer
        let v = secondMoment.pointer
        for c in 0..<parameterCount / 8 {
            let gradient = load8(g + 8 * c)
            let mNew = beta1 * load8(m + 8 * c) + oneMinusBeta1 * gradient
            let vNew = beta2 * load8(v + 8 * c) + oneMinusBeta2 * gradient * gradient
            store8(mNew, m + 8 * c)
            store8(vNew, v + 8 * c)
            store8(load8(w + 8 * c) - stepSize * mNew / (vNew.squareRoot() + epsilon), w + 8 * c)
        }
        refreshTransposed()
    }

    /// The current parameters as a network (padding removed).
    func network() -> DenseNetwork { unpadded(parameters.pointer) }

    /// The last gradient, shaped as a network.
    func gradientNetwork() -> DenseNetwork { unpadded(gradients.pointer) }

    private func unpadded(_ source: UnsafeMutablePointer<Float>) -> DenseNetwork {
        var layers: [DenseLayer] = []
        for layer in 0..<layerCount {
            var weights: [Float] = []
            weights.reserveCapacity(inputCount[layer] * outputCount[layer])
            for i in 0..<inputCount[layer] {
                for o in 0..<outputCount[layer] { weights.append(source[weightOffset[layer] + i * outputPadded[layer] + o]) }
            }
            let bias = (0..<outputCount[layer]).map { source[biasOffset[layer] + $0] }
            layers.append(
                DenseLayer(
                    inputCount: inputCount[layer], outputCount: outputCount[layer], weights: weights, bias: bias,
                    activation: relu[layer] ? .relu : .identity, inputDropout: dropout[layer]))
        }
        return DenseNetwork(layers: layers)
    }
}
