/// An affine int8 quantization: real = scale · (q − zeroPoint) (TFLite's scheme, Jacob et al.
/// 2018, "Quantization and training of neural networks for efficient integer-arithmetic-only
/// inference").
public struct QuantizationParameters: Sendable, Equatable {
    public var scale: Float
    public var zeroPoint: Int32
    /// 8 (int8 with a zero point, TFLite's default scheme) or 16 (int16, symmetric with zero
    /// point 0, TFLite's "16x8" activations).
    public var bits: Int

    public init(scale: Float, zeroPoint: Int32, bits: Int = 8) {
        precondition(bits == 8 || bits == 16, "8- or 16-bit activations")
        precondition(scale > 0 && scale.isFinite, "positive scale")
        precondition(bits == 8 ? (-128...127).contains(zeroPoint) : zeroPoint == 0, "int8 zero point, or 0 for int16")
        self.scale = scale
        self.zeroPoint = zeroPoint
        self.bits = bits
    }

    /// Parameters covering [min(0, low), max(0, high)]. 8 bits: 256 levels with an integer zero
    /// point, so real zero is exact (as TFLite nudges it). 16 bits: symmetric, ±32767 levels.
    public init(low: Float, high: Float, bits: Int = 8) {
        let lower = min(0, low)
        let upper = max(0, high, lower + 1e-6)
        if bits == 16 {
            self.init(scale: max(-lower, upper) / 32767, zeroPoint: 0, bits: 16)
            return
        }
        let scale = (upper - lower) / 255
        let zero = (-128 - lower / scale).rounded(.toNearestOrAwayFromZero)
        self.init(scale: scale, zeroPoint: Int32(max(-128, min(127, zero))), bits: 8)
    }

    public var minimum: Int32 { bits == 8 ? -128 : -32768 }
    public var maximum: Int32 { bits == 8 ? 127 : 32767 }

    /// q = clamp(round(x / scale) + zeroPoint), rounding half away from zero.
    @inline(__always)
    public func quantize(_ value: Float) -> Int32 {
        // Beyond ±65536 is beyond every level either way; bounding keeps the conversion defined.
        let scaled = max(-65536, min(65536, value / scale))
        // Round half away from zero without a libm call: truncate, then step by the exact
        // fractional part.
        var whole = Int32(scaled)
        let fraction = scaled - Float(whole)
        if fraction >= 0.5 { whole += 1 } else if fraction <= -0.5 { whole -= 1 }
        return max(minimum, min(maximum, whole + zeroPoint))
    }

    public func dequantize(_ q: Int32) -> Float { scale * Float(q - zeroPoint) }
}

/// One dense layer in integer arithmetic: per-output-channel symmetric int8 weights, int8
/// activations with a zero point (or int16 ones, see `QuantizationParameters`), int32 biases at
/// input scale × weight scale, and a Q31 multiplier per channel with one shift per layer that
/// rescale the int32 accumulator to the output's scale (`FixedPoint`; one shift so the rounding
/// shift is a single vector shift; the channel with the largest multiplier has M0 ∈ [2^30, 2^31),
/// the others keep at least as many bits as their ratio to it allows). ReLU is the clamp of the
/// requantized value at the output zero point. For Monte Carlo dropout the layer carries a
/// second bias and multiplier set with the inverted dropout scale 1/(1−p) folded in: bias at
/// s_in·s_w/(1−p), multiplier s_in·s_w/((1−p)·s_out).
public struct QuantizedLayer: Sendable, Equatable {
    public let inputCount: Int
    public let outputCount: Int
    public let activation: Activation
    public let inputDropout: Float
    /// `outputCount × inputCount`, row by output channel, values in −127...127.
    public var weights: [Int8]
    /// Per output channel: real weight = scale · q.
    public var weightScales: [Float]
    public var input: QuantizationParameters
    /// The output's int8 parameters; nil for the last layer, whose int32 accumulator is
    /// dequantized to float (an int8 output would cost ~1/255 of the peak range, ~4 meV).
    public var output: QuantizationParameters?
    public var bias: [Int32]
    /// Per channel Q31 multipliers, and the layer's shift (M = M0 · 2^(shift−31)).
    public var multiplier: [Int32]
    public var shift: Int32
    /// The dropout set (empty multipliers when the layer has no dropout).
    public var dropoutBias: [Int32]
    public var dropoutMultiplier: [Int32]
    public var dropoutShift: Int32

    public init(
        inputCount: Int, outputCount: Int, activation: Activation, inputDropout: Float, weights: [Int8],
        weightScales: [Float], input: QuantizationParameters, output: QuantizationParameters?, bias: [Int32],
        multiplier: [Int32], shift: Int32, dropoutBias: [Int32], dropoutMultiplier: [Int32], dropoutShift: Int32
    ) {
        self.inputCount = inputCount
        self.outputCount = outputCount
        self.activation = activation
        self.inputDropout = inputDropout
        self.weights = weights
        self.weightScales = weightScales
        self.input = input
        self.output = output
        self.bias = bias
        self.multiplier = multiplier
        self.shift = shift
        self.dropoutBias = dropoutBias
        self.dropoutMultiplier = dropoutMultiplier
        self.dropoutShift = dropoutShift
    }

    /// Quantizes a float layer given its input's and output's parameters (nil output: last layer).
    public init(_ layer: DenseLayer, input: QuantizationParameters, output: QuantizationParameters?) {
        var weights = [Int8](repeating: 0, count: layer.inputCount * layer.outputCount)
        var scales = [Float](repeating: 1, count: layer.outputCount)
        var bias = [Int32](repeating: 0, count: layer.outputCount)
        let hasDropout = layer.inputDropout > 0
        var dropoutBias = [Int32](repeating: 0, count: hasDropout ? layer.outputCount : 0)
        let keep = 1 - Double(layer.inputDropout)
        var realMultipliers: [Double] = []
        for o in 0..<layer.outputCount {
            var largest: Float = 0
            for i in 0..<layer.inputCount { largest = max(largest, abs(layer.weight(input: i, output: o))) }
            let scale = largest > 0 ? largest / 127 : 1
            scales[o] = scale
            for i in 0..<layer.inputCount {
                let q = (layer.weight(input: i, output: o) / scale).rounded(.toNearestOrAwayFromZero)
                weights[o * layer.inputCount + i] = Int8(max(-127, min(127, q)))
            }
            let accumulatorScale = Double(input.scale) * Double(scale)
            bias[o] = Int32(clamping: Int64((Double(layer.bias[o]) / accumulatorScale).rounded(.toNearestOrAwayFromZero)))
            if hasDropout {
                dropoutBias[o] = Int32(
                    clamping: Int64((Double(layer.bias[o]) * keep / accumulatorScale).rounded(.toNearestOrAwayFromZero)))
            }
            if let output { realMultipliers.append(accumulatorScale / Double(output.scale)) }
        }
        var multiplier: [Int32] = []
        var shift: Int32 = 0
        var dropoutMultiplier: [Int32] = []
        var dropoutShift: Int32 = 0
        if output != nil {
            (multiplier, shift) = FixedPoint.quantizeMultipliers(realMultipliers)
            if hasDropout { (dropoutMultiplier, dropoutShift) = FixedPoint.quantizeMultipliers(realMultipliers.map { $0 / keep }) }
        }
        self.init(
            inputCount: layer.inputCount, outputCount: layer.outputCount, activation: layer.activation,
            inputDropout: layer.inputDropout, weights: weights, weightScales: scales, input: input, output: output,
            bias: bias, multiplier: multiplier, shift: shift, dropoutBias: dropoutBias,
            dropoutMultiplier: dropoutMultiplier, dropoutShift: dropoutShift)
    }

    /// The float a last layer's accumulator is multiplied by: s_in·s_w, or s_in·s_w/(1−p) in a
    /// dropout pass.
    public func accumulatorScale(channel: Int, dropout: Bool) -> Float {
        let scale = Double(input.scale) * Double(weightScales[channel])
        return Float(dropout ? scale / (1 - Double(inputDropout)) : scale)
    }

    /// The lowest output level: the zero point for ReLU (the clamp is the ReLU), else the minimum.
    public var outputFloor: Int32 {
        guard let output else { return .min }
        return activation == .relu ? max(output.minimum, output.zeroPoint) : output.minimum
    }

    /// The highest output level.
    public var outputCeiling: Int32 { output?.maximum ?? .max }
}

/// How a network is quantized: activation widths, and what its ranges are calibrated on (the
/// training rows plus `boxRows` points of the unit box of inputs, with dropout off and in
/// `dropoutPasses` Monte Carlo passes).
public struct QuantizationRecipe: Sendable, Equatable {
    public var precision: ActivationPrecision
    public var boxRows: Int
    public var dropoutPasses: Int

    public init(precision: ActivationPrecision = .narrowInt16, boxRows: Int = 2048, dropoutPasses: Int = 8) {
        self.precision = precision
        self.boxRows = boxRows
        self.dropoutPasses = dropoutPasses
    }

    public static let standard = QuantizationRecipe()
}

/// How many bits each activation tensor gets.
public enum ActivationPrecision: Sendable, Equatable {
    /// int8 with a zero point everywhere (TFLite's full-integer scheme).
    case int8
    /// int16 for tensors of at most 8 values (here the five inputs and the first hidden layer's
    /// five outputs: under 10 % of the multiply-adds), int8 for the wide ones. 8 bits cannot hold
    /// the inputs: t over [0, 600] s in 255 steps is 2.35 s, and early in a run the peak moves
    /// ~6 meV/s, so int8 inputs alone cost ~1.7 meV (measured, see the report).
    case narrowInt16

    /// Bits for tensors of the given widths.
    public func bits(forWidths widths: [Int]) -> [Int] {
        switch self {
        case .int8: return widths.map { _ in 8 }
        case .narrowInt16: return widths.map { $0 <= 8 ? 16 : 8 }
        }
    }
}

/// A `DenseNetwork` in integer arithmetic (see `QuantizedLayer`).
public struct QuantizedNetwork: Sendable, Equatable {
    public var layers: [QuantizedLayer]

    public init(layers: [QuantizedLayer]) {
        precondition(!layers.isEmpty, "at least one layer")
        self.layers = layers
    }

    public var inputCount: Int { layers[0].inputCount }

    /// Quantizes `network`, calibrating each activation's range on `calibration` rows (the
    /// training inputs): the input over [min(0, lowest), max(1, highest)], each hidden layer over
    /// [0, highest] seen with dropout off and in `calibrationPasses` dropout passes (so Monte
    /// Carlo passes, whose kept units are scaled by 1/(1−p), rarely saturate).
    ///
    /// `activationBits` gives each activation tensor's width (the input, then each hidden layer's
    /// output): 8 or 16. `narrowInt16` puts the tensors of at most 8 values (the five inputs and
    /// the first hidden layer) in int16 and the wide ones in int8 (see `ActivationPrecision`).
    public static func calibrated(
        _ network: DenseNetwork, calibration: FeatureMatrix, precision: ActivationPrecision = .narrowInt16,
        calibrationPasses: Int = 8, seed: UInt64 = 7
    ) -> QuantizedNetwork {
        precondition(calibration.columnCount == network.inputCount && calibration.rowCount > 0, "calibration rows")
        let unitMaxima = network.unitMaxima(calibration: calibration, passes: calibrationPasses, seed: seed)
        let highest = unitMaxima.map { $0.max() ?? 0 }
        // Hidden outputs are ReLU (≥ 0) or, for a linear hidden layer, could be negative.
        let lowest = network.unitMinima(calibration: calibration)
        var inputLow: Float = 0
        var inputHigh: Float = 1
        for value in calibration.values {
            inputLow = min(inputLow, value)
            inputHigh = max(inputHigh, value)
        }
        let bits = precision.bits(forWidths: [network.inputCount] + network.layers.dropLast().map(\.outputCount))
        var layers: [QuantizedLayer] = []
        var input = QuantizationParameters(low: inputLow, high: inputHigh, bits: bits[0])
        for (index, layer) in network.layers.enumerated() {
            let last = index == network.layers.count - 1
            let output = last ? nil : QuantizationParameters(low: lowest[index], high: highest[index], bits: bits[index + 1])
            layers.append(QuantizedLayer(layer, input: input, output: output))
            if let output { input = output }
        }
        return QuantizedNetwork(layers: layers)
    }

    /// The float network these integers stand for (dequantized weights and biases).
    public func dequantized() -> DenseNetwork {
        DenseNetwork(
            layers: layers.map { layer in
                var weights = [Float](repeating: 0, count: layer.inputCount * layer.outputCount)
                for o in 0..<layer.outputCount {
                    for i in 0..<layer.inputCount {
                        weights[i * layer.outputCount + o] = layer.weightScales[o] * Float(layer.weights[o * layer.inputCount + i])
                    }
                }
                let bias = (0..<layer.outputCount).map {
                    Float(Double(layer.bias[$0]) * Double(layer.input.scale) * Double(layer.weightScales[$0]))
                }
                return DenseLayer(
                    inputCount: layer.inputCount, outputCount: layer.outputCount, weights: weights, bias: bias,
                    activation: layer.activation, inputDropout: layer.inputDropout)
            })
    }
}

