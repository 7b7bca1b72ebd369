/// A `QuantizedNetwork` laid out for the integer kernel: weights as rows of 16-bit lanes
/// (values still int8, widened once here because SSE2's and NEON's integer multiply-add work on
/// 16-bit lanes: pmaddwd / smlal), inputs padded to 8 lanes and output channels to groups of 4,
/// the input zero point folded into the bias (b − z_in·Σw), scratch allocated once. Predicting
/// allocates nothing. Not thread-safe: one per thread.
public final class QuantizedInference {
    public let network: QuantizedNetwork
    public let maximumRows: Int
    let layerCount: Int
    let inputCount: [Int]
    let outputCount: [Int]
    /// Row stride of each layer's input (a multiple of 8).
    let inputPadded: [Int]
    /// Output channels rounded up to a multiple of 4.
    let outputGroups: [Int]
    let weights: [AlignedBuffer<Int16>]
    let foldedBias: [AlignedBuffer<Int32>]
    let foldedDropoutBias: [AlignedBuffer<Int32>]
    let multiplier: [AlignedBuffer<Int32>]
    let shift: [Int32]
    let dropoutMultiplier: [AlignedBuffer<Int32>]
    let dropoutShift: [Int32]
    let outputZero: [Int32]
    let outputFloor: [Int32]
    let outputCeiling: [Int32]
    let inputZero: [Int32]
    let lastScale: Float
    let lastDropoutScale: Float
    let lastRelu: Bool
    /// Each layer's input rows (int8 values in 16-bit lanes); `buffers[0]` is the quantized input.
    let buffers: [AlignedBuffer<Int16>]
    let masked: AlignedBuffer<Int16>
    let results: AlignedBuffer<Float>
    let firstDropoutLayer: Int
    /// For Monte Carlo: the first dropout layer's weights by input (Wᵀ, outputs padded to 8),
    /// each row's full accumulators, one pass's working accumulators, and each pass's dropped units.
    let transposed: AlignedBuffer<Int16>
    let transposedStride: Int
    let accumulators: AlignedBuffer<Int32>
    let passAccumulator: AlignedBuffer<Int32>
    var droppedUnits = AlignedBuffer<Int32>(count: 0, zero: 0)
    var droppedCounts = AlignedBuffer<Int32>(count: 0, zero: 0)
    var maskedLastWeights = AlignedBuffer<Int16>(count: 0, zero: 0)
    var maskedLastBias = AlignedBuffer<Int32>(count: 0, zero: 0)
    let droppedValues: AlignedBuffer<SIMD8<Int16>>

    public init(_ network: QuantizedNetwork, maximumRows: Int = 1) {
        precondition(maximumRows > 0, "at least one row")
        precondition(network.layers.last!.output == nil, "the last layer's accumulator is dequantized")
        precondition(network.layers.last!.outputCount == 1, "one output")
        self.network = network
        self.maximumRows = maximumRows
        let layers = network.layers
        layerCount = layers.count
        inputCount = layers.map(\.inputCount)
        outputCount = layers.map(\.outputCount)
        let inputPadded = layers.map { roundUp($0.inputCount, to: 8) }
        self.inputPadded = inputPadded
        outputGroups = layers.map { roundUp($0.outputCount, to: 4) }
        var weights: [AlignedBuffer<Int16>] = []
        var foldedBias: [AlignedBuffer<Int32>] = []
        var foldedDropoutBias: [AlignedBuffer<Int32>] = []
        var multiplier: [AlignedBuffer<Int32>] = []
        var dropoutMultiplier: [AlignedBuffer<Int32>] = []
        for (index, layer) in layers.enumerated() {
            let groups = roundUp(layer.outputCount, to: 4)
            let w = AlignedBuffer<Int16>(count: groups * inputPadded[index], zero: 0)
            let bias = AlignedBuffer<Int32>(count: groups, zero: 0)
            let dropoutBias = AlignedBuffer<Int32>(count: groups, zero: 0)
            let m = AlignedBuffer<Int32>(count: groups, zero: 0)
            let dm = AlignedBuffer<Int32>(count: groups, zero: 0)
            let zero = layer.input.zeroPoint
            for o in 0..<layer.outputCount {
                var rowSum: Int32 = 0
                for i in 0..<layer.inputCount {
                    let q = Int32(layer.weights[o * layer.inputCount + i])
                    w.pointer[o * inputPadded[index] + i] = Int16(q)
                    rowSum += q
                }
                bias.pointer[o] = layer.bias[o] &- zero &* rowSum
                m.pointer[o] = layer.output == nil ? 0 : layer.multiplier[o]
                if layer.inputDropout > 0 {
                    dropoutBias.pointer[o] = layer.dropoutBias[o] &- zero &* rowSum
                    dm.pointer[o] = layer.output == nil ? 0 : layer.dropoutMultiplier[o]
                }
            }
            weights.append(w)
            foldedBias.append(bias)
            foldedDropoutBias.append(dropoutBias)
            multiplier.append(m)
            dropoutMultiplier.append(dm)
        }
        self.weights = weights
        self.foldedBias = foldedBias
        self.foldedDropoutBias = foldedDropoutBias
        self.multiplier = multiplier
        shift = layers.map(\.shift)
        self.dropoutMultiplier = dropoutMultiplier
        dropoutShift = layers.map(\.dropoutShift)
        outputZero = layers.map { $0.output?.zeroPoint ?? 0 }
        outputFloor = layers.map(\.outputFloor)
        outputCeiling = layers.map(\.outputCeiling)
        inputZero = layers.map(\.input.zeroPoint)
        let last = layers[layers.count - 1]
        lastScale = last.accumulatorScale(channel: 0, dropout: false)
        lastDropoutScale = last.inputDropout > 0 ? last.accumulatorScale(channel: 0, dropout: true) : lastScale
        lastRelu = last.activation == .relu
        buffers = inputPadded.map { AlignedBuffer(count: maximumRows * $0, zero: 0) }
        masked = AlignedBuffer(count: maximumRows * inputPadded.max()!, zero: 0)
        results = AlignedBuffer(count: maximumRows, zero: 0)
        let split = layers.firstIndex { $0.inputDropout > 0 } ?? layers.count
        firstDropoutLayer = split
        let splitLayer = layers[min(split, layers.count - 1)]
        let lanes = roundUp(splitLayer.outputCount, to: 8)
        transposedStride = lanes
        transposed = AlignedBuffer(count: splitLayer.inputCount * lanes, zero: 0)
        for o in 0..<splitLayer.outputCount {
            for i in 0..<splitLayer.inputCount {
                transposed.pointer[i * lanes + o] = Int16(splitLayer.weights[o * splitLayer.inputCount + i])
            }
        }
        accumulators = AlignedBuffer(count: maximumRows * roundUp(splitLayer.outputCount, to: 4), zero: 0)
        passAccumulator = AlignedBuffer(count: lanes, zero: 0)
        droppedValues = AlignedBuffer(count: splitLayer.inputCount, zero: SIMD8<Int16>())
    }

    /// Quantizes `rows` float rows (normalized inputs) into the first buffer.
    @inline(__always)
    func load(_ source: UnsafePointer<Float>, rows: Int) {
        let parameters = network.layers[0].input
        let stride = inputPadded[0]
        let columns = inputCount[0]
        let target = buffers[0].pointer
        for row in 0..<rows {
            for column in 0..<columns {
                target[row * stride + column] = Int16(parameters.quantize(source[row * columns + column]))
            }
        }
    }

    /// One layer on `rows` rows: acc = bias' + Σ w·x (pmaddwd over 8 lanes, 4 channels at a time),
    /// then requantization (or, for the last layer, dequantization into `results`).
    @inline(__always)
    func layerForward(
        _ layer: Int, input: UnsafePointer<Int16>, rows: Int, dropout: Bool, rawSums: UnsafeMutablePointer<Int32>? = nil
    ) {
        let stride = inputPadded[layer]
        let chunks = stride / 8
        let w = UnsafePointer(weights[layer].pointer)
        let bias = UnsafePointer(dropout ? foldedDropoutBias[layer].pointer : foldedBias[layer].pointer)
        let last = layer == layerCount - 1
        let channels = outputCount[layer]
        let groups = outputGroups[layer]
        let scale = dropout ? lastDropoutScale : lastScale
        for row in 0..<rows {
            let x = input + row * stride
            var group = 0
            while group < channels {
                var a0 = SIMD4<Int32>()
                var a1 = SIMD4<Int32>()
                var a2 = SIMD4<Int32>()
                var a3 = SIMD4<Int32>()
                let w0 = w + group * stride
                if channels - group == 1 {
                    // A lone channel (the last layer's one output): one row of weights, not four.
                    for c in 0..<chunks {
                        a0 &+= pairSums(SIMD8<Int32>(truncatingIfNeeded: load8(w0 + 8 * c)) &* SIMD8<Int32>(truncatingIfNeeded: load8(x + 8 * c)))
                    }
                } else {
                    for c in 0..<chunks {
                        let xv = SIMD8<Int32>(truncatingIfNeeded: load8(x + 8 * c))
                        a0 &+= pairSums(SIMD8<Int32>(truncatingIfNeeded: load8(w0 + 8 * c)) &* xv)
                        a1 &+= pairSums(SIMD8<Int32>(truncatingIfNeeded: load8(w0 + stride + 8 * c)) &* xv)
                        a2 &+= pairSums(SIMD8<Int32>(truncatingIfNeeded: load8(w0 + 2 * stride + 8 * c)) &* xv)
                        a3 &+= pairSums(SIMD8<Int32>(truncatingIfNeeded: load8(w0 + 3 * stride + 8 * c)) &* xv)
                    }
                }
                let sums = horizontalSums(a0, a1, a2, a3) &+ UnsafeRawPointer(bias + group).loadUnaligned(as: SIMD4<Int32>.self)
                if let rawSums {
                    UnsafeMutableRawPointer(rawSums + row * groups + group).storeBytes(of: sums, as: SIMD4<Int32>.self)
                } else if last {
                    let value = Float(sums[0]) * scale
                    results.pointer[row] = lastRelu ? max(0, value) : value
                } else {
                    requantize(layer, sums, group: group, row: row, dropout: dropout)
                }
                group += 4
            }
        }
    }

    /// Channels group..<group+4 of layer `layer`'s accumulators to its output scale, clamped (the
    /// clamp at the zero point is the ReLU), into row `row` of the next layer's input.
    @inline(__always)
    func requantize(_ layer: Int, _ sums: SIMD4<Int32>, group: Int, row: Int, dropout: Bool) {
        let m = UnsafePointer(dropout ? dropoutMultiplier[layer].pointer : multiplier[layer].pointer)
        let layerShift = dropout ? dropoutShift[layer] : shift[layer]
        let multipliers = UnsafeRawPointer(m + group).loadUnaligned(as: SIMD4<Int32>.self)
        var scaled: SIMD4<Int32>
        if layerShift <= 0 {
            scaled = FixedPoint.multiplyByQuantizedMultiplier(sums, multipliers, rightShift: -layerShift)
        } else {
            scaled = SIMD4<Int32>()
            for lane in 0..<4 {
                scaled[lane] = FixedPoint.multiplyByQuantizedMultiplier(sums[lane], multipliers[lane], layerShift)
            }
        }
        let q = pointwiseMin(
            pointwiseMax(scaled &+ SIMD4(repeating: outputZero[layer]), SIMD4(repeating: outputFloor[layer])),
            SIMD4(repeating: outputCeiling[layer]))
        let out = buffers[layer + 1].pointer + row * inputPadded[layer + 1] + group
        let channels = outputCount[layer]
        if channels - group >= 4 {
            UnsafeMutableRawPointer(out).storeBytes(of: SIMD4<Int16>(truncatingIfNeeded: q), as: SIMD4<Int16>.self)
        } else {
            for lane in 0..<(channels - group) { out[lane] = Int16(truncatingIfNeeded: q[lane]) }
        }
    }

    /// Runs layers `first..<layerCount` on `rows` rows in `buffers[first]`; with masks, row e is in
    /// pass `e % masks.passes`: its dropped units are set to the input zero point (real value 0)
    /// and the layer uses its dropout bias and multipliers (the 1/(1−p) scale folded in).
    @inline(__always)
    func run(from first: Int, rows: Int, masks: DropoutMasks?) {
        for layer in first..<layerCount {
            var input = UnsafePointer(buffers[layer].pointer)
            var dropout = false
            if let masks, let keep = masks.keep[layer] {
                let width = inputPadded[layer]
                let count = inputCount[layer]
                let zero = Int16(inputZero[layer])
                let target = masked.pointer
                keep.withUnsafeBufferPointer { keep in
                    for row in 0..<rows {
                        let flags = keep.baseAddress! + (row % masks.passes) * count
                        let source = input + row * width
                        let destination = target + row * width
                        // Branch-free (vectorizes): a dropped unit becomes the zero point.
                        for unit in 0..<count {
                            destination[unit] = zero &+ (source[unit] &- zero) &* Int16(flags[unit])
                        }
                        for unit in count..<width { destination[unit] = 0 }
                    }
                }
                input = UnsafePointer(target)
                dropout = true
            }
            layerForward(layer, input: input, rows: rows, dropout: dropout)
        }
    }

    /// The deterministic output (dropout off) for one row of normalized inputs. Allocation-free.
    public func predictOne(_ input: UnsafePointer<Float>) -> Float {
        load(input, rows: 1)
        run(from: 0, rows: 1, masks: nil)
        return results.pointer[0]
    }

    /// The deterministic output of every row.
    public func predict(_ features: FeatureMatrix) -> [Float] {
        precondition(features.columnCount == inputCount[0], "\(inputCount[0]) inputs per row")
        var output = [Float](repeating: 0, count: features.rowCount)
        features.values.withUnsafeBufferPointer { values in
            var start = 0
            while start < features.rowCount {
                let rows = min(maximumRows, features.rowCount - start)
                load(values.baseAddress! + start * features.columnCount, rows: rows)
                run(from: 0, rows: rows, masks: nil)
                for row in 0..<rows { output[start + row] = results.pointer[row] }
                start += rows
            }
        }
        return output
    }

    /// Monte Carlo dropout in integers, as `FloatInference.monteCarlo`: layers before the first
    /// dropout once per row, the rest once for all (row, pass) pairs. `output` receives
    /// `rows × passes` values (row-major). Allocation-free.
    public func monteCarlo(_ input: UnsafePointer<Float>, rows: Int, masks: DropoutMasks, output: UnsafeMutablePointer<Float>) {
        let passes = masks.passes
        precondition(maximumRows >= passes, "maximumRows must hold one row's passes")
        let blockRows = maximumRows / passes
        let split = firstDropoutLayer
        let width = inputPadded[min(split, layerCount - 1)]
        let subtracting = usesDroppedUnitSubtraction && masks.keep[split] != nil
        if subtracting { listDroppedUnits(masks) }
        var start = 0
        while start < rows {
            let count = min(blockRows, rows - start)
            load(input + start * inputCount[0], rows: count)
            if split > 0 { run(from: 0, rows: count, masks: nil) }
            if subtracting {
                // The first dropout layer: every row's full accumulator once, then each pass
                // subtracts the dropped units' terms. Integer sums are exact, so this is bit for
                // bit the masked product, at ~1/10 of its multiply-adds.
                layerForward(split, input: buffers[split].pointer, rows: count, dropout: true, rawSums: accumulators.pointer)
                if fusesLastLayer {
                    subtractAndFinish(rows: count, passes: passes, masks: masks)
                } else {
                    subtractDroppedUnits(rows: count, passes: passes)
                    run(from: split + 1, rows: count * passes, masks: masks)
                }
            } else {
                let shared = buffers[split].pointer
                for row in stride(from: count - 1, through: 0, by: -1) {
                    for pass in stride(from: passes - 1, through: 0, by: -1) where row * passes + pass != row {
                        (shared + (row * passes + pass) * width).update(from: shared + row * width, count: width)
                    }
                }
                run(from: split, rows: count * passes, masks: masks)
            }
            (output + start * passes).update(from: results.pointer, count: count * passes)
            start += count
        }
    }

    /// Whether Monte Carlo passes may subtract dropped units from a full accumulator: the first
    /// dropout layer is not the last and takes int8 input, so (x − z)·w fits 16 bits.
    var usesDroppedUnitSubtraction: Bool {
        let split = firstDropoutLayer
        return split < layerCount - 1 && network.layers[split].input.bits == 8
    }

    /// Whether the layer after the first dropout layer is the last, with one output, and takes
    /// int8 input, and the split layer's dropout requantization shifts right (the vector form):
    /// then a pass's tail (requantize, mask, last dot product) is fused per row.
    var fusesLastLayer: Bool {
        let split = firstDropoutLayer
        return usesDroppedUnitSubtraction && split + 1 == layerCount - 1 && outputCount[layerCount - 1] == 1
            && network.layers[layerCount - 1].input.bits == 8 && dropoutShift[split] <= 0
    }

    /// The fused tail: for each (row, pass), chunk by chunk of 8 channels, the row's accumulators
    /// minus the pass's dropped terms, requantized, and straight into the last layer's dot product
    /// with that pass's masked weights (w·keep) and folded bias (b_drop − z·Σ w·keep), which is
    /// bit for bit Σ over kept units of w·(x − z) + b_drop.
    func subtractAndFinish(rows: Int, passes: Int, masks: DropoutMasks) {
        let split = firstDropoutLayer
        let last = layerCount - 1
        let lanes = transposedStride
        let chunks = lanes / 8
        let lastLayer = network.layers[last]
        let lastStride = inputPadded[last]
        precondition(lastStride >= lanes, "the last layer's input holds the split layer's outputs")
        // Per pass: masked last-layer weights and folded bias.
        if maskedLastWeights.count < passes * lastStride {
            maskedLastWeights = AlignedBuffer(count: passes * lastStride, zero: 0)
            maskedLastBias = AlignedBuffer(count: passes, zero: 0)
        }
        let lastZero = lastLayer.input.zeroPoint
        for pass in 0..<passes {
            var sum: Int32 = 0
            for unit in 0..<lastLayer.inputCount {
                let keep = masks.keeps(layer: last, pass: pass, unit: unit, inputCount: lastLayer.inputCount)
                let w = keep ? Int32(lastLayer.weights[unit]) : 0
                maskedLastWeights.pointer[pass * lastStride + unit] = Int16(w)
                sum += w
            }
            maskedLastBias.pointer[pass] = lastLayer.dropoutBias[0] &- lastZero &* sum
        }
        let zero = Int16(inputZero[split])
        let count = inputCount[split]
        let stride = inputPadded[split]
        let groups = outputGroups[split]
        let columns = UnsafePointer(transposed.pointer)
        let multipliers = UnsafePointer(dropoutMultiplier[split].pointer)
        let rightShift = -dropoutShift[split]
        let outZero = SIMD4<Int32>(repeating: outputZero[split])
        let floor = SIMD4<Int32>(repeating: outputFloor[split])
        let ceiling = SIMD4<Int32>(repeating: outputCeiling[split])
        let scale = lastDropoutScale
        let values = droppedValues.pointer
        for row in 0..<rows {
            let base = accumulators.pointer + row * groups
            let x = buffers[split].pointer + row * stride
            for pass in 0..<passes {
                let dropped = droppedUnits.pointer + pass * count
                let droppedCount = Int(droppedCounts.pointer[pass])
                for k in 0..<droppedCount { values[k] = SIMD8<Int16>(repeating: x[Int(dropped[k])] &- zero) }
                let weights = maskedLastWeights.pointer + pass * lastStride
                var dot = SIMD4<Int32>()
                for c in 0..<chunks {
                    // The base may end before 8·(c+1) (groups of 4); its padding lanes feed only zero weights.
                    var low = UnsafeRawPointer(base + 8 * c).loadUnaligned(as: SIMD4<Int32>.self)
                    var high = 8 * c + 4 < groups ? UnsafeRawPointer(base + 8 * c + 4).loadUnaligned(as: SIMD4<Int32>.self) : SIMD4<Int32>()
                    for k in 0..<droppedCount {
                        let product = UnsafeRawPointer(columns + Int(dropped[k]) * lanes + 8 * c).loadUnaligned(as: SIMD8<Int16>.self) &* values[k]
                        let wide = SIMD8<Int32>(truncatingIfNeeded: product)
                        low &-= wide.lowHalf
                        high &-= wide.highHalf
                    }
                    let m0 = UnsafeRawPointer(multipliers + 8 * c).loadUnaligned(as: SIMD4<Int32>.self)
                    let m1 = 8 * c + 4 < groups ? UnsafeRawPointer(multipliers + 8 * c + 4).loadUnaligned(as: SIMD4<Int32>.self) : SIMD4<Int32>()
                    let q0 = pointwiseMin(pointwiseMax(FixedPoint.multiplyByQuantizedMultiplier(low, m0, rightShift: rightShift) &+ outZero, floor), ceiling)
                    let q1 = pointwiseMin(pointwiseMax(FixedPoint.multiplyByQuantizedMultiplier(high, m1, rightShift: rightShift) &+ outZero, floor), ceiling)
                    let w = SIMD8<Int32>(truncatingIfNeeded: UnsafeRawPointer(weights + 8 * c).loadUnaligned(as: SIMD8<Int16>.self))
                    dot &+= pairSums(w &* SIMD8(lowHalf: q0, highHalf: q1))
                }
                let accumulator = dot.wrappedSum() &+ maskedLastBias.pointer[pass]
                let value = Float(accumulator) * scale
                results.pointer[row * passes + pass] = lastRelu ? max(0, value) : value
            }
        }
    }

    /// For every pass, the units of the first dropout layer's input that it drops.
    func listDroppedUnits(_ masks: DropoutMasks) {
        let split = firstDropoutLayer
        let count = inputCount[split]
        if droppedUnits.count < masks.passes * count {
            droppedUnits = AlignedBuffer(count: masks.passes * count, zero: 0)
            droppedCounts = AlignedBuffer(count: masks.passes, zero: 0)
        }
        masks.keep[split]!.withUnsafeBufferPointer { keep in
            for pass in 0..<masks.passes {
                var dropped: Int32 = 0
                for unit in 0..<count where keep[pass * count + unit] == 0 {
                    droppedUnits.pointer[pass * count + Int(dropped)] = Int32(unit)
                    dropped += 1
                }
                droppedCounts.pointer[pass] = dropped
            }
        }
    }

    /// Row e = (row, pass) of the second layer after the split: the row's accumulators minus the
    /// pass's dropped terms w·(x − z), requantized with the dropout multipliers.
    func subtractDroppedUnits(rows: Int, passes: Int) {
        let split = firstDropoutLayer
        let groups = outputGroups[split]
        let lanes = transposedStride
        let zero = Int16(inputZero[split])
        let count = inputCount[split]
        let stride = inputPadded[split]
        let columns = UnsafePointer(transposed.pointer)
        let accumulator = passAccumulator.pointer
        for row in 0..<rows {
            let base = accumulators.pointer + row * groups
            let x = buffers[split].pointer + row * stride
            for pass in 0..<passes {
                accumulator.update(from: base, count: groups)
                let dropped = droppedUnits.pointer + pass * count
                for k in 0..<Int(droppedCounts.pointer[pass]) {
                    let unit = Int(dropped[k])
                    let value = SIMD8<Int16>(repeating: x[unit] &- zero)
                    let column = columns + unit * lanes
                    for c in 0..<lanes / 8 {
                        let product = UnsafeRawPointer(column + 8 * c).loadUnaligned(as: SIMD8<Int16>.self) &* value
                        let target = UnsafeMutableRawPointer(accumulator + 8 * c)
                        target.storeBytes(
                            of: target.load(as: SIMD8<Int32>.self) &- SIMD8<Int32>(truncatingIfNeeded: product), as: SIMD8<Int32>.self)
                    }
                }
                var group = 0
                while group < outputCount[split] {
                    let sums = UnsafeRawPointer(accumulator + group).load(as: SIMD4<Int32>.self)
                    requantize(split, sums, group: group, row: row * passes + pass, dropout: true)
                    group += 4
                }
            }
        }
    }

    /// Runs `rows` rows through every layer, row e with the masks of pass `e % masks.passes`.
    public func runPerPass(_ input: UnsafePointer<Float>, rows: Int, masks: DropoutMasks, output: UnsafeMutablePointer<Float>) {
        precondition(rows <= maximumRows, "at most maximumRows rows")
        load(input, rows: rows)
        run(from: 0, rows: rows, masks: masks)
        output.update(from: results.pointer, count: rows)
    }
}

@inline(__always)
func load8(_ pointer: UnsafePointer<Int16>) -> SIMD8<Int16> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Int16>.self)
}

/// (p0+p1, p2+p3, p4+p5, p6+p7): with the products of sign-extended 16-bit lanes this is
/// pmaddwd on x86.
@inline(__always)
func pairSums(_ products: SIMD8<Int32>) -> SIMD4<Int32> {
    products.evenHalf &+ products.oddHalf
}

/// The four lane sums of four accumulators, as one vector.
@inline(__always)
func horizontalSums(_ a: SIMD4<Int32>, _ b: SIMD4<Int32>, _ c: SIMD4<Int32>, _ d: SIMD4<Int32>) -> SIMD4<Int32> {
    let ab = SIMD8(lowHalf: a, highHalf: b)
    let cd = SIMD8(lowHalf: c, highHalf: d)
    let abPairs = ab.evenHalf &+ ab.oddHalf  // (a0+a1, a2+a3, b0+b1, b2+b3)
    let cdPairs = cd.evenHalf &+ cd.oddHalf
    let all = SIMD8(lowHalf: abPairs, highHalf: cdPairs)
    return all.evenHalf &+ all.oddHalf  // (Σa, Σb, Σc, Σd)
}
