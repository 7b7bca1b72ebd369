/// A layer's nonlinearity.
public enum Activation: UInt8, Sendable, Equatable {
    case identity = 0
    case relu = 1
}

/// The shape of one dense layer when building a network.
public struct LayerShape: Sendable, Equatable {
    public var outputs: Int
    public var activation: Activation
    /// Dropout rate applied to this layer's input (a Keras `Dropout` just before it); 0 for none.
    public var inputDropout: Float

    public init(outputs: Int, activation: Activation, inputDropout: Float = 0) {
        precondition(outputs > 0 && inputDropout >= 0 && inputDropout < 1, "a layer needs outputs and a dropout rate in [0, 1)")
        self.outputs = outputs
        self.activation = activation
        self.inputDropout = inputDropout
    }
}

/// A fully connected layer: y = act(x·W + b).
public struct DenseLayer: Sendable, Equatable {
    public let inputCount: Int
    public let outputCount: Int
    /// The kernel, `inputCount × outputCount`, row-major by input (the Keras `Dense.kernel`
    /// layout, so exported weights read the same as the published notebooks').
    public var weights: [Float]
    public var bias: [Float]
    public let activation: Activation
    /// Dropout rate on this layer's input; 0 for none.
    public let inputDropout: Float

    public init(inputCount: Int, outputCount: Int, weights: [Float], bias: [Float], activation: Activation, inputDropout: Float) {
        precondition(inputCount > 0 && outputCount > 0, "a layer needs inputs and outputs")
        precondition(weights.count == inputCount * outputCount && bias.count == outputCount, "weights and bias must match the shape")
        precondition(inputDropout >= 0 && inputDropout < 1, "dropout rate in [0, 1)")
        self.inputCount = inputCount
        self.outputCount = outputCount
        self.weights = weights
        self.bias = bias
        self.activation = activation
        self.inputDropout = inputDropout
    }

    /// W[input, output].
    public func weight(input: Int, output: Int) -> Float { weights[input * outputCount + output] }
}

/// A multilayer perceptron of dense layers (DESIGN.md §1: 5 -> Dense(5, relu) -> Dense(50, relu)
/// -> Dropout(0.1) -> Dense(50, relu) -> Dropout(0.1) -> Dense(1)), in float.
public struct DenseNetwork: Sendable, Equatable {
    public var layers: [DenseLayer]

    public init(layers: [DenseLayer]) {
        precondition(!layers.isEmpty, "at least one layer")
        for (previous, next) in zip(layers, layers.dropFirst()) {
            precondition(previous.outputCount == next.inputCount, "consecutive layers must connect")
        }
        self.layers = layers
    }

    /// The published architecture after the input: Dense(5, relu), Dense(50, relu), Dropout(0.1),
    /// Dense(50, relu), Dropout(0.1), Dense(1).
    public static let publishedShapes: [LayerShape] = [
        LayerShape(outputs: 5, activation: .relu),
        LayerShape(outputs: 50, activation: .relu),
        LayerShape(outputs: 50, activation: .relu, inputDropout: 0.1),
        LayerShape(outputs: 1, activation: .identity, inputDropout: 0.1),
    ]

    /// A freshly initialized network: He-uniform weights for ReLU layers (He et al. 2015,
    /// limit √(6/fan_in)), Glorot-uniform for linear ones (Glorot & Bengio 2010,
    /// limit √(6/(fan_in+fan_out))), zero biases.
    public init(inputCount: Int, shapes: [LayerShape], seed: UInt64) {
        var random = LearningRandom(seed: seed)
        var layers: [DenseLayer] = []
        var fanIn = inputCount
        for shape in shapes {
            let limit: Float = shape.activation == .relu
                ? (6 / Float(fanIn)).squareRoot() : (6 / Float(fanIn + shape.outputs)).squareRoot()
            let weights = (0..<fanIn * shape.outputs).map { _ in (2 * random.nextUnitFloat() - 1) * limit }
            layers.append(
                DenseLayer(
                    inputCount: fanIn, outputCount: shape.outputs, weights: weights,
                    bias: [Float](repeating: 0, count: shape.outputs), activation: shape.activation,
                    inputDropout: shape.inputDropout))
            fanIn = shape.outputs
        }
        self.init(layers: layers)
    }

    public var inputCount: Int { layers[0].inputCount }
    public var outputCount: Int { layers[layers.count - 1].outputCount }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.weights.count + $1.bias.count } }
    public var shapes: [LayerShape] {
        layers.map { LayerShape(outputs: $0.outputCount, activation: $0.activation, inputDropout: $0.inputDropout) }
    }

    /// The network's deterministic output (dropout off, as Keras at inference) for each row.
    public func predict(_ features: FeatureMatrix) -> [Float] {
        precondition(outputCount == 1, "one output")
        let engine = FloatInference(self, maximumRows: min(256, max(1, features.rowCount)))
        return engine.predict(features)
    }

    /// The deterministic output for one input row.
    public func predict(_ input: [Float]) -> Float {
        predict(FeatureMatrix(rowCount: 1, columnCount: input.count, values: input))[0]
    }

    /// A plain scalar reference: y = act(x·W + b) layer by layer, in Double, optionally with
    /// dropout keep-masks (1 keep, 0 drop) on the inputs of the layers that have dropout, scaled
    /// by 1/(1−p). The slow, obvious definition the fast paths are tested against.
    public func referenceOutput(_ input: [Float], masks: [[Bool]?]? = nil) -> Double {
        var activation = input.map(Double.init)
        for (index, layer) in layers.enumerated() {
            if let mask = masks?[index] {
                let scale = 1 / (1 - Double(layer.inputDropout))
                activation = zip(activation, mask).map { $1 ? $0 * scale : 0 }
            }
            var next = layer.bias.map(Double.init)
            for i in 0..<layer.inputCount {
                for o in 0..<layer.outputCount { next[o] += activation[i] * Double(layer.weight(input: i, output: o)) }
            }
            if layer.activation == .relu { next = next.map { max(0, $0) } }
            activation = next
        }
        return activation[0]
    }
}
