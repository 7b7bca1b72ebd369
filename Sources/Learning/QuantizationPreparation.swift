/// Function-preserving changes that make a float network quantize well, applied before it is
/// shipped (so the float and int8 paths run the same weights).
extension DenseNetwork {
    /// Rescales every ReLU unit so its largest output on `calibration` rows is 1: unit j's
    /// incoming weights and bias are multiplied by c_j = 1/max_j and the next layer's weights
    /// from it divided by c_j. ReLU(c·z) = c·ReLU(z) for c > 0 (and dropout commutes with the
    /// scaling), so the network computes the same function; but every unit of a hidden tensor now
    /// spans the same range, so one per-tensor int8 scale resolves all of them (cross-layer
    /// equalization, Nagel et al. 2019, "Data-free quantization through weight equalization and
    /// bias correction"). Units that never fire keep their scale, and no unit is scaled up more
    /// than `maximumGain`: a nearly silent unit is often a near-cancellation of large terms, and
    /// blowing it up would blow up what snapping its weights to the int8 grid does to it.
    ///
    /// A unit's largest output is taken over the rows with dropout off and in `passes` Monte Carlo
    /// dropout passes: a unit nearly silent with dropout off may fire with some inputs dropped,
    /// and must not be blown up past the tensor's range.
    public func equalized(calibration: FeatureMatrix, passes: Int = 8, seed: UInt64 = 7, maximumGain: Float = 4) -> DenseNetwork {
        precondition(calibration.columnCount == inputCount, "calibration rows of \(inputCount) inputs")
        let highest = unitMaxima(calibration: calibration, passes: passes, seed: seed)
        var result = self
        for layer in 0..<(layers.count - 1) where layers[layer].activation == .relu {
            let outputs = layers[layer].outputCount
            let nextOutputs = layers[layer + 1].outputCount
            for unit in 0..<outputs where highest[layer][unit] > 0 {
                let factor = min(maximumGain, 1 / highest[layer][unit])
                for i in 0..<layers[layer].inputCount { result.layers[layer].weights[i * outputs + unit] *= factor }
                result.layers[layer].bias[unit] *= factor
                for o in 0..<nextOutputs { result.layers[layer + 1].weights[unit * nextOutputs + o] /= factor }
            }
        }
        return result
    }

    /// The largest output of every unit of every layer over `calibration` rows, with dropout off
    /// and in `passes` dropout passes.
    func unitMaxima(calibration: FeatureMatrix, passes: Int, seed: UInt64) -> [[Float]] {
        let engine = FloatInference(self, maximumRows: 256 * max(1, passes))
        let masks = passes > 0 ? DropoutMasks(for: self, passes: passes, seed: seed) : nil
        // One flat array of maxima, written through a pointer (no captured variable, so no
        // dynamic exclusivity checks in the loop).
        let offsets = layers.indices.map { index in layers[..<index].reduce(0) { $0 + $1.outputCount } }
        var flat = [Float](repeating: 0, count: layers.reduce(0) { $0 + $1.outputCount })
        flat.withUnsafeMutableBufferPointer { highest in
            calibration.values.withUnsafeBufferPointer { values in
                var start = 0
                while start < calibration.rowCount {
                    let rows = min(256, calibration.rowCount - start)
                    let source = values.baseAddress! + start * calibration.columnCount
                    engine.load(source, rows: rows, columns: calibration.columnCount)
                    engine.run(from: 0, rows: rows, masks: nil)
                    engine.recordMaxima(rows: rows, into: highest.baseAddress!, offsets: offsets)
                    if let masks {
                        // Each row once through every pass: row e in pass e % passes.
                        let expanded = rows * passes
                        for e in 0..<expanded {
                            (engine.buffers[0].pointer + e * engine.inputPadded[0]).update(
                                from: source + (e / passes) * calibration.columnCount, count: calibration.columnCount)
                        }
                        engine.run(from: 0, rows: expanded, masks: masks)
                        engine.recordMaxima(rows: expanded, into: highest.baseAddress!, offsets: offsets)
                    }
                    start += rows
                }
            }
        }
        return layers.indices.map { Array(flat[offsets[$0]..<offsets[$0] + layers[$0].outputCount]) }
    }

    /// Every weight moved to the nearest point of its output channel's symmetric int8 grid
    /// (scale = max|w|/127, as `QuantizedLayer` quantizes): w = scale · q with q ∈ −127...127.
    /// The float network then holds exactly the weights the int8 network holds, so the two paths
    /// differ only by activation rounding. (Moving ~2.8 k weights by at most half a step each
    /// changes predictions by ~2-3 meV, an order below the model's error; cross-validation
    /// scores the snapped networks.)
    public func snappedToInt8Grid() -> DenseNetwork {
        var result = self
        for (index, layer) in layers.enumerated() {
            for o in 0..<layer.outputCount {
                var largest: Float = 0
                for i in 0..<layer.inputCount { largest = max(largest, abs(layer.weight(input: i, output: o))) }
                guard largest > 0 else { continue }
                let scale = largest / 127
                for i in 0..<layer.inputCount {
                    let q = (layer.weight(input: i, output: o) / scale).rounded(.toNearestOrAwayFromZero)
                    result.layers[index].weights[i * layer.outputCount + o] = scale * max(-127, min(127, q))
                }
            }
        }
        return result
    }
}

extension FloatInference {
    /// Raises `highest[offsets[layer] + unit]` to every unit's output in the last `rows` rows run.
    func recordMaxima(rows: Int, into highest: UnsafeMutablePointer<Float>, offsets: [Int]) {
        for layer in 0..<layerCount {
            let buffer = buffers[layer + 1].pointer
            let stride = outputPadded[layer]
            let units = network.layers[layer].outputCount
            let target = highest + offsets[layer]
            for row in 0..<rows {
                let values = buffer + row * stride
                for unit in 0..<units { target[unit] = max(target[unit], values[unit]) }
            }
        }
    }
}

extension DenseNetwork {
    /// The smallest output of each layer over `calibration` rows with dropout off (0 for ReLU).
    func unitMinima(calibration: FeatureMatrix) -> [Float] {
        if layers.dropLast().allSatisfy({ $0.activation == .relu }) { return layers.map { _ in 0 } }
        var lowest = layers.map { _ in Float(0) }
        for row in 0..<calibration.rowCount {
            var activation = calibration.row(row).map(Double.init)
            for (index, layer) in layers.enumerated() {
                var next = layer.bias.map(Double.init)
                for i in 0..<layer.inputCount {
                    for o in 0..<layer.outputCount { next[o] += activation[i] * Double(layer.weight(input: i, output: o)) }
                }
                if layer.activation == .relu { next = next.map { max(0, $0) } }
                lowest[index] = min(lowest[index], Float(next.min()!))
                activation = next
            }
        }
        return lowest
    }

    /// The rows quantization is calibrated on: the training rows, and `boxRows` points drawn
    /// uniformly over the unit box of normalized inputs (the model's whole domain: a candidate map
    /// predicts far from the training grid, and its activations must not saturate there).
    public static func calibrationRows(_ features: FeatureMatrix, boxRows: Int = 2048, seed: UInt64 = 11) -> FeatureMatrix {
        var rows = features
        var random = LearningRandom(seed: seed)
        rows.reserveCapacity(rows: features.rowCount + boxRows)
        for _ in 0..<boxRows { rows.append(row: (0..<features.columnCount).map { _ in random.nextUnitFloat() }) }
        return rows
    }
}
