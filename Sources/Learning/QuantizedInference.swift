import CQuantizedKernels

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
    /// The published architecture's dedicated kernel (single rows and Monte Carlo), when it
    /// covers `network`; nil means the general kernel below runs.
    let chain: QuantizedChain?
    /// `chain`'s C kernel call as plain pointers (no reference count traffic per row); the
    /// memory belongs to `chain`.
    let kernel: ChainKernel?

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
        chain = QuantizedChain.paired(network)
        kernel = chain?.kernel
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

    /// Which kernel `predictOne` runs on this CPU: the C chain kernel's variant ("avx-vnni",
    /// "avx2", "sse2", "neon-dot", "neon", "scalar"; aliquot_kernel_best_variant), or "swift" for networks the
    /// chain does not cover.
    public var singleRowKernel: String {
        guard let chain, kernel != nil else { return "swift" }
        let variant = chain.kernelVariant == Int32(AQK_VARIANT_BEST) ? aliquot_kernel_best_variant() : chain.kernelVariant
        return Self.kernelName(variant)
    }

    /// A kernel variant's short name (aliquot_kernel_variant_name).
    private static func kernelName(_ variant: Int32) -> String { String(cString: aliquot_kernel_variant_name(variant)) }

    /// The single-row kernels this CPU runs, by name (as `singleRowKernel` gives them), best
    /// first, so they can be compared (aliquot_kernel_variant_available).
    public static var availableSingleRowKernels: [String] {
        let best = aliquot_kernel_best_variant()
        let variants = [best] + QuantizedChain.availableKernelVariants.filter { $0 != best }.reversed()
        return variants.map(kernelName)
    }

    /// Runs `predictOne` on the named kernel from now on (one of `availableSingleRowKernels`).
    /// Returns false, and changes nothing, when the name is not one of them or this network runs
    /// in Swift (`singleRowKernel` is "swift").
    public func useSingleRowKernel(_ name: String) -> Bool {
        guard let chain, kernel != nil,
            let variant = QuantizedChain.availableKernelVariants.first(where: { Self.kernelName($0) == name })
        else { return false }
        chain.kernelVariant = variant
        return true
    }

    /// The deterministic output (dropout off) for one row of normalized inputs. Allocation-free.
    public func predictOne(_ input: UnsafePointer<Float>) -> Float {
        if let kernel { return kernel.predict(input) }
        if let chain { return chain.predictOne(input) }
        load(input, rows: 1)
        run(from: 0, rows: 1, masks: nil)
        return results.pointer[0]
    }

    /// The deterministic output of every row.
    public func predict(_ features: FeatureMatrix) -> [Float] {
        precondition(features.columnCount == inputCount[0], "\(inputCount[0]) inputs per row")
        var output = [Float](repeating: 0, count: features.rowCount)
        features.values.withUnsafeBufferPointer { values in
            if let chain {
                for row in 0..<features.rowCount { output[row] = chain.predictOne(values.baseAddress! + row * features.columnCount) }
                return
            }
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
        if let chain, chain.monteCarloSplit != nil {
            chain.monteCarlo(input, rows: rows, masks: masks, output: output)
            return
        }
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

/// `QuantizedChain.predictOne` through the C kernel (aliquot_chain_predict: input quantization,
/// hidden layers, last dot product, vectorized for this CPU), as plain pointers into the chain's
/// buffers, so a call touches no reference counts.
struct ChainKernel {
    let variant: UnsafeMutablePointer<Int32>
    let quantization: UnsafeMutablePointer<aliquot_chain_input>
    let layers: UnsafeMutablePointer<aliquot_chain_layer>
    let hiddenCount: Int32
    let activations: UnsafeMutablePointer<UnsafeMutablePointer<Int16>>
    let lastWeights: UnsafeMutablePointer<Int16>
    let lastBias: Int32
    let lastScale: Float
    let lastRelu: Bool

    @inline(__always)
    func predict(_ input: UnsafePointer<Float>) -> Float {
        let accumulator = aliquot_chain_predict(variant.pointee, input, quantization, layers, hiddenCount, activations, lastWeights, lastBias)
        let value = Float(accumulator) * lastScale
        return lastRelu ? max(0, value) : value
    }
}

/// One hidden layer of `QuantizedChain`: weights interleaved by input pairs, so one pmaddwd
/// multiplies two inputs into four output channels (for pair p and output o the lanes are
/// w[o][2p], w[o][2p+1]); biases at s_in·s_w with no zero-point fold (the chain carries
/// activations minus their zero point); the ReLU requantization as one rounding (see
/// `reluRequantize`).
struct ChainLayer {
    var inputCount: Int
    var pairs: Int
    var outputCount: Int
    /// Output channels padded to 8, in chunks of 8.
    var chunks: Int
    var weights: UnsafeMutablePointer<Int16>
    var bias: UnsafeMutablePointer<Int32>
    var dropoutBias: UnsafeMutablePointer<Int32>
    var multiplier: UnsafeMutablePointer<Int32>
    var dropoutMultiplier: UnsafeMutablePointer<Int32>
    var rounding: UInt64
    var shift: UInt64
    var dropoutRounding: UInt64
    var dropoutShift: UInt64
    /// The highest (q − z): the output's maximum minus its zero point.
    var ceiling: Int32
}

/// The published network's integer kernel for one row at a time: every activation is held as
/// (q − z) in 16-bit lanes (0...255 after an int8 ReLU, so products with int8 weights fit
/// pmaddwd), every layer is pairs of inputs × groups of 4 channels (no horizontal sums), and the
/// ReLU requantization is a single rounding (`reluRequantize`), bit for bit the gemmlowp/TFLite
/// two-rounding result. For Monte Carlo dropout (the dropout layer second to last, as published:
/// 5 → 5 → 50 → [dropout] 50 → [dropout] 1) each row's dropout layer accumulators are computed
/// once, and each pass subtracts its dropped units (pairs of negated weight columns, laid out per
/// pass when the masks change), requantizes and finishes the last dot product in registers.
/// Built only for networks it covers (`init?`): ReLU hidden layers whose requantization shifts
/// right; `QuantizedInference` falls back to its general kernel otherwise.
final class QuantizedChain {
    let hiddenCount: Int
    let table: [ChainLayer]
    let inputCount: Int
    let inputParameters: QuantizationParameters
    let lastWeights: AlignedBuffer<Int16>
    let lastBias: Int32
    let lastDropoutBias: Int32
    let lastScale: Float
    let lastDropoutScale: Float
    let lastRelu: Bool
    /// Layer l's input as (q − z), padded with zeros to a multiple of 8 (index 0: the network's input).
    let activations: [AlignedBuffer<Int16>]
    /// `table` and `activations` as raw pointers, so the hot loops touch no reference counts.
    let layerPointer: UnsafeMutablePointer<ChainLayer>
    let activationPointer: UnsafeMutablePointer<UnsafeMutablePointer<Int16>>
    let broadcasts: AlignedBuffer<SIMD4<Int32>>
    let pairOffsets: AlignedBuffer<Int>
    let accumulators: AlignedBuffer<Int32>
    /// The first layer with dropout, when Monte Carlo runs here (it is the last hidden layer and
    /// the last layer has dropout too); nil otherwise.
    let monteCarloSplit: Int?
    /// Each hidden layer's channels in storage order, and for each layer's inputs the storage
    /// position of every unit.
    let orders: [[Int]]
    let positions: [[Int]]
    /// `table` for the C kernel (aliquot_chain_layer), whether every layer fits it (at most
    /// AQK_MAX_PAIRS input pairs), and which variant runs (AQK_VARIANT_BEST: the fastest this CPU
    /// has; tests force each one).
    let kernelLayers: UnsafeMutablePointer<aliquot_chain_layer>
    let kernelInput: UnsafeMutablePointer<aliquot_chain_input>
    let usesKernel: Bool
    private let variantStorage: UnsafeMutablePointer<Int32>
    var kernelVariant: Int32 {
        get { variantStorage.pointee }
        set { variantStorage.pointee = newValue }
    }
    /// The C kernel call, when every layer fits it.
    var kernel: ChainKernel? {
        guard usesKernel else { return nil }
        return ChainKernel(
            variant: variantStorage, quantization: kernelInput, layers: kernelLayers, hiddenCount: Int32(hiddenCount),
            activations: activationPointer, lastWeights: lastWeights.pointer, lastBias: lastBias, lastScale: lastScale, lastRelu: lastRelu)
    }
    private var storage: [AnyObject] = []
    private var cachedMasks: DropoutMasks?
    private var maximumPairs = 0
    private var passPairWeights = AlignedBuffer<Int16>(count: 0, zero: 0)
    private var passPairUnits = AlignedBuffer<Int32>(count: 0, zero: 0)
    private var passPairCounts = AlignedBuffer<Int32>(count: 0, zero: 0)
    private var passLastWeights = AlignedBuffer<Int16>(count: 0, zero: 0)

    /// `orders[l]` lists hidden layer l's output channels in the order they are stored (and
    /// paired as the next layer's inputs); nil keeps every layer in channel order. Integer sums
    /// do not depend on the order, so every order gives the same results bit for bit.
    init?(_ network: QuantizedNetwork, orders: [[Int]]? = nil) {
        let layers = network.layers
        guard layers.count >= 2, let last = layers.last, last.output == nil, last.outputCount == 1 else { return nil }
        let hidden = layers.dropLast()
        for layer in hidden {
            guard layer.activation == .relu, let output = layer.output, layer.shift <= 0, layer.shift >= -31 else { return nil }
            if layer.inputDropout > 0 && (layer.dropoutShift > 0 || layer.dropoutShift < -31) { return nil }
            // (q − z) must fit 16 bits: 255 for int8, 32767 for the symmetric int16 outputs.
            guard Int(output.maximum) - Int(layer.outputFloor) <= 32767 else { return nil }
        }
        guard layers[0].input.bits == 8 || layers[0].input.zeroPoint == 0 else { return nil }
        let orders = orders ?? hidden.map { Array(0..<$0.outputCount) }
        precondition(orders.count == hidden.count && zip(orders, hidden).allSatisfy { $0.sorted() == Array(0..<$1.outputCount) },
                     "an order of every hidden layer's channels")
        // Layer l's inputs in storage order: the network's inputs, then the previous layer's order.
        let inputOrders = [Array(0..<layers[0].inputCount)] + orders
        hiddenCount = hidden.count
        inputCount = layers[0].inputCount
        inputParameters = layers[0].input
        var storage: [AnyObject] = []
        func buffer<T>(_ count: Int, _ zero: T) -> UnsafeMutablePointer<T> {
            let b = AlignedBuffer<T>(count: count, zero: zero)
            storage.append(b)
            return b.pointer
        }
        var table: [ChainLayer] = []
        var quadWeights: [(weights: UnsafeMutablePointer<Int8>?, quads: Int)] = []
        for (index, layer) in hidden.enumerated() {
            let pairs = (layer.inputCount + 1) / 2
            let chunks = roundUp(layer.outputCount, to: 8) / 8
            let outputOrder = orders[index]
            let inputOrder = inputOrders[index]
            let weights = buffer(pairs * chunks * 16, Int16(0))
            for o in 0..<layer.outputCount {
                for i in 0..<layer.inputCount {
                    weights[(i / 2) * chunks * 16 + (o / 4) * 8 + (o % 4) * 2 + i % 2] =
                        Int16(layer.weights[outputOrder[o] * layer.inputCount + inputOrder[i]])
                }
            }
            // The VNNI kernels' layout (quads of inputs x 8 channels of int8), when every input
            // (q − z) is a byte: the previous layer's int8 ReLU output.
            if index > 0, table[index - 1].ceiling <= 255 {
                let quads = (layer.inputCount + 3) / 4
                let quad = buffer(quads * chunks * 32, Int8(0))
                for o in 0..<layer.outputCount {
                    for i in 0..<layer.inputCount {
                        quad[(i / 4) * chunks * 32 + (o / 8) * 32 + (o % 8) * 4 + i % 4] =
                            layer.weights[outputOrder[o] * layer.inputCount + inputOrder[i]]
                    }
                }
                quadWeights.append((quad, quads))
            } else {
                quadWeights.append((nil, 0))
            }
            let bias = buffer(chunks * 8, Int32(0))
            let dropoutBias = buffer(chunks * 8, Int32(0))
            let multiplier = buffer(chunks * 8, Int32(0))
            let dropoutMultiplier = buffer(chunks * 8, Int32(0))
            for o in 0..<layer.outputCount {
                let channel = outputOrder[o]
                bias[o] = layer.bias[channel]
                multiplier[o] = layer.multiplier[channel]
                if layer.inputDropout > 0 {
                    dropoutBias[o] = layer.dropoutBias[channel]
                    dropoutMultiplier[o] = layer.dropoutMultiplier[channel]
                }
            }
            let right = UInt64(-layer.shift)
            let dropoutRight = UInt64(max(0, -layer.dropoutShift))
            table.append(ChainLayer(
                inputCount: layer.inputCount, pairs: pairs, outputCount: layer.outputCount, chunks: chunks, weights: weights,
                bias: bias, dropoutBias: dropoutBias, multiplier: multiplier, dropoutMultiplier: dropoutMultiplier,
                rounding: reluRounding(rightShift: right), shift: 31 + right,
                dropoutRounding: reluRounding(rightShift: dropoutRight), dropoutShift: 31 + dropoutRight,
                ceiling: layer.output!.maximum - layer.outputFloor))
        }
        self.table = table
        self.orders = orders
        positions = inputOrders.map { order in
            var position = [Int](repeating: 0, count: order.count)
            for (index, unit) in order.enumerated() { position[unit] = index }
            return position
        }
        let lastInputs = roundUp(last.inputCount, to: 8)
        lastWeights = AlignedBuffer(count: lastInputs, zero: 0)
        for i in 0..<last.inputCount { lastWeights.pointer[i] = Int16(last.weights[inputOrders[hidden.count][i]]) }
        lastBias = last.bias[0]
        lastDropoutBias = last.inputDropout > 0 ? last.dropoutBias[0] : last.bias[0]
        lastScale = last.accumulatorScale(channel: 0, dropout: false)
        lastDropoutScale = last.inputDropout > 0 ? last.accumulatorScale(channel: 0, dropout: true) : lastScale
        lastRelu = last.activation == .relu
        activations = layers.map { AlignedBuffer(count: roundUp($0.inputCount, to: 8) + 8, zero: 0) }
        broadcasts = AlignedBuffer(count: layers.map { ($0.inputCount + 1) / 2 }.max()!, zero: SIMD4<Int32>())
        pairOffsets = AlignedBuffer(count: layers.map { ($0.inputCount + 1) / 2 }.max()!, zero: 0)
        accumulators = AlignedBuffer(count: table.map { $0.chunks * 8 }.max()!, zero: 0)
        let split = layers.firstIndex { $0.inputDropout > 0 }
        monteCarloSplit = split == layers.count - 2 && last.inputDropout > 0 ? split : nil
        layerPointer = .allocate(capacity: table.count)
        layerPointer.initialize(from: table, count: table.count)
        activationPointer = .allocate(capacity: activations.count)
        activationPointer.initialize(from: activations.map(\.pointer), count: activations.count)
        kernelLayers = .allocate(capacity: table.count)
        kernelLayers.initialize(from: zip(table, quadWeights).map { layer, quad in
            // The kernel shifts by at least 32: (x·M0 + R) >> 31 is (x·2M0 + 2R) >> 32, and 2M0
            // still fits the unsigned 32 bits the kernel reads.
            var multiplier = layer.multiplier
            var rounding = layer.rounding
            var shift = layer.shift
            if shift == 31 {
                multiplier = buffer(layer.chunks * 8, Int32(0))
                for o in 0..<layer.chunks * 8 { multiplier[o] = Int32(bitPattern: UInt32(layer.multiplier[o]) << 1) }
                rounding <<= 1
                shift = 32
            }
            // For sdot, which takes the byte inputs as x − 128: bias + 128 · Σ weights per channel.
            var quadBias: UnsafeMutablePointer<Int32>?
            if let weights = quad.weights {
                let corrected = buffer(layer.chunks * 8, Int32(0))
                for o in 0..<layer.chunks * 8 {
                    var sum: Int32 = 0
                    for i in 0..<quad.quads * 4 { sum &+= Int32(weights[(i / 4) * layer.chunks * 32 + (o / 8) * 32 + (o % 8) * 4 + i % 4]) }
                    corrected[o] = layer.bias[o] &+ 128 &* sum
                }
                quadBias = corrected
            }
            return aliquot_chain_layer(
                pairs: Int32(layer.pairs), chunks: Int32(layer.chunks), weights: layer.weights, bias: layer.bias,
                multiplier: multiplier, rounding: rounding, shift: shift, ceiling: layer.ceiling,
                quad_weights: quad.weights.map { UnsafePointer($0) }, quads: Int32(quad.quads),
                quad_bias: quadBias.map { UnsafePointer($0) })
        }, count: table.count)
        usesKernel = zip(table, quadWeights).allSatisfy { $0.pairs <= Int(AQK_MAX_PAIRS) && $1.quads <= Int(AQK_MAX_PAIRS) }
        variantStorage = .allocate(capacity: 1)
        variantStorage.initialize(to: Int32(AQK_VARIANT_BEST))
        kernelInput = .allocate(capacity: 1)
        kernelInput.initialize(to: aliquot_chain_input(
            scale: inputParameters.scale, zero_point: inputParameters.zeroPoint, minimum: inputParameters.minimum,
            maximum: inputParameters.maximum, count: Int32(inputCount)))
        self.storage = storage
    }

    /// The C kernel variants this CPU runs (AQK_VARIANT_SCALAR and up), for tests that force each.
    static var availableKernelVariants: [Int32] {
        (Int32(AQK_VARIANT_SCALAR)..<Int32(AQK_VARIANT_COUNT)).filter { aliquot_kernel_variant_available($0) != 0 }
    }

    /// The chain for `network` with each hidden layer's channels paired by how often they are
    /// zero together (ReLU off) on `samples` points drawn uniformly from the unit box of inputs
    /// (the normalized input space): a pair whose two inputs are zero is skipped, so pairing
    /// units that switch off together skips more pairs. The last hidden layer, which feeds the
    /// dense last dot product, keeps its order.
    static func paired(_ network: QuantizedNetwork, samples: Int = 256, seed: UInt64 = 0x5EED) -> QuantizedChain? {
        guard let probe = QuantizedChain(network) else { return nil }
        let hidden = probe.hiddenCount
        let words = (samples + 63) / 64
        var zero = (0..<hidden).map { [UInt64](repeating: 0, count: probe.table[$0].outputCount * words) }
        var random = LearningRandom(seed: seed)
        var row = [Float](repeating: 0, count: probe.inputCount)
        for sample in 0..<samples {
            for i in row.indices { row[i] = random.nextUnitFloat() }
            row.withUnsafeBufferPointer { probe.load($0.baseAddress!) }
            for l in 0..<hidden {
                probe.forward(probe.table[l], input: probe.activationPointer[l], dropout: false, output: probe.activationPointer[l + 1], raw: nil)
                for unit in 0..<probe.table[l].outputCount where probe.activationPointer[l + 1][unit] == 0 {
                    zero[l][unit * words + sample / 64] |= 1 << UInt64(sample % 64)
                }
            }
        }
        var orders: [[Int]] = []
        for l in 0..<hidden {
            let count = probe.table[l].outputCount
            if l == hidden - 1 {
                orders.append(Array(0..<count))
                continue
            }
            // Greedy matching: the pairs zero together most often first.
            var candidates: [(together: Int, first: Int, second: Int)] = []
            for first in 0..<count {
                for second in (first + 1)..<max(first + 1, count) {
                    var together = 0
                    for w in 0..<words { together += (zero[l][first * words + w] & zero[l][second * words + w]).nonzeroBitCount }
                    candidates.append((together, first, second))
                }
            }
            candidates.sort { ($0.together, $1.first, $1.second) > ($1.together, $0.first, $0.second) }
            var taken = [Bool](repeating: false, count: count)
            var order: [Int] = []
            for candidate in candidates where !taken[candidate.first] && !taken[candidate.second] {
                taken[candidate.first] = true
                taken[candidate.second] = true
                order += [candidate.first, candidate.second]
            }
            order += (0..<count).filter { !taken[$0] }
            orders.append(order)
        }
        return QuantizedChain(network, orders: orders)
    }

    deinit {
        kernelLayers.deallocate()
        kernelInput.deallocate()
        variantStorage.deallocate()
        layerPointer.deallocate()
        activationPointer.deallocate()
    }

    /// The network's input as (q − z) into the first activation buffer.
    @inline(__always)
    func load(_ input: UnsafePointer<Float>) {
        let target = activationPointer[0]
        let parameters = inputParameters
        for i in 0..<inputCount { target[i] = Int16(truncatingIfNeeded: parameters.quantize(input[i]) &- parameters.zeroPoint) }
    }

    /// A hidden layer: acc = bias + Σ pairs pmaddwd(w, x pair) over the pairs with a nonzero
    /// input (ReLU zeros add nothing; the list is gathered without branches), up to four chunks
    /// of 8 channels at once, then the ReLU requantization into `output` as (q − z), or, with
    /// `raw`, the accumulators themselves.
    @inline(__always)
    func forward(
        _ layer: ChainLayer, input: UnsafePointer<Int16>, dropout: Bool, output: UnsafeMutablePointer<Int16>,
        raw: UnsafeMutablePointer<Int32>?
    ) {
        let b = broadcasts.pointer
        let offsets = pairOffsets.pointer
        let pairStride = layer.chunks * 16
        var n = 0
        for p in 0..<layer.pairs {
            let value = UnsafeRawPointer(input + 2 * p).loadUnaligned(as: Int32.self)
            b[n] = SIMD4(repeating: value)
            offsets[n] = p &* pairStride
            n &+= value != 0 ? 1 : 0
        }
        let bias = UnsafePointer(dropout ? layer.dropoutBias : layer.bias)
        let multipliers = UnsafePointer(dropout ? layer.dropoutMultiplier : layer.multiplier)
        let rounding = SIMD2<UInt64>(repeating: dropout ? layer.dropoutRounding : layer.rounding)
        let shift = SIMD2<UInt64>(repeating: dropout ? layer.dropoutShift : layer.shift)
        let ceiling = SIMD8<Int16>(repeating: Int16(layer.ceiling))
        @inline(__always)
        func finish(_ chunk: Int, _ low: SIMD4<Int32>, _ high: SIMD4<Int32>) {
            if let raw {
                UnsafeMutableRawPointer(raw + 8 * chunk).storeBytes(of: SIMD8(lowHalf: low, highHalf: high), as: SIMD8<Int32>.self)
            } else {
                let q = reluRequantize(low, load4(multipliers + 8 * chunk), rounding: rounding, shift: shift)
                let r = reluRequantize(high, load4(multipliers + 8 * chunk + 4), rounding: rounding, shift: shift)
                UnsafeMutableRawPointer(output + 8 * chunk).storeBytes(of: saturatedMin(q, r, ceiling), as: SIMD8<Int16>.self)
            }
        }
        var c = 0
        while c < layer.chunks {
            let width = min(4, layer.chunks - c)
            let base = UnsafePointer(layer.weights) + 16 * c
            var a0 = load4(bias + 8 * c)
            var a1 = load4(bias + 8 * c + 4)
            var a2 = width > 1 ? load4(bias + 8 * c + 8) : SIMD4<Int32>()
            var a3 = width > 1 ? load4(bias + 8 * c + 12) : SIMD4<Int32>()
            var a4 = width > 2 ? load4(bias + 8 * c + 16) : SIMD4<Int32>()
            var a5 = width > 2 ? load4(bias + 8 * c + 20) : SIMD4<Int32>()
            var a6 = width > 3 ? load4(bias + 8 * c + 24) : SIMD4<Int32>()
            var a7 = width > 3 ? load4(bias + 8 * c + 28) : SIMD4<Int32>()
            // One loop for every width: the guards are the same for all k (predicted), and the
            // accumulators stay eight named registers.
            for k in 0..<n {
                let x = b[k]
                let w = base + offsets[k]
                a0 &+= multiplyAddPairs(load8(w), x)
                a1 &+= multiplyAddPairs(load8(w + 8), x)
                if width > 1 {
                    a2 &+= multiplyAddPairs(load8(w + 16), x)
                    a3 &+= multiplyAddPairs(load8(w + 24), x)
                }
                if width > 2 {
                    a4 &+= multiplyAddPairs(load8(w + 32), x)
                    a5 &+= multiplyAddPairs(load8(w + 40), x)
                }
                if width > 3 {
                    a6 &+= multiplyAddPairs(load8(w + 48), x)
                    a7 &+= multiplyAddPairs(load8(w + 56), x)
                }
            }
            finish(c, a0, a1)
            if width > 1 { finish(c + 1, a2, a3) }
            if width > 2 { finish(c + 2, a4, a5) }
            if width > 3 { finish(c + 3, a6, a7) }
            c += width
        }
    }

    /// Σ w·(q − z) + bias of the last layer over its (padded) input.
    @inline(__always)
    func lastDot(_ input: UnsafePointer<Int16>, weights: UnsafePointer<Int16>, chunks: Int) -> Int32 {
        var dot = SIMD4<Int32>()
        for c in 0..<chunks { dot &+= multiplyAddPairs(load8(weights + 8 * c), load8(input + 8 * c)) }
        return dot.wrappedSum()
    }

    /// The deterministic output for one row of normalized inputs. Allocation-free.
    @inline(__always)
    func predictOne(_ input: UnsafePointer<Float>) -> Float {
        if let kernel { return kernel.predict(input) }
        let buffers = activationPointer
        load(input)
        for l in 0..<hiddenCount {
            forward(layerPointer[l], input: buffers[l], dropout: false, output: buffers[l + 1], raw: nil)
        }
        let accumulator = lastDot(buffers[hiddenCount], weights: lastWeights.pointer, chunks: layerPointer[hiddenCount - 1].chunks) &+ lastBias
        let value = Float(accumulator) * lastScale
        return lastRelu ? max(0, value) : value
    }

    /// Monte Carlo dropout, row by row (see the type's comment). `output` receives `rows ×
    /// masks.passes` values, row-major. Allocation-free while the masks stay the same.
    func monteCarlo(_ input: UnsafePointer<Float>, rows: Int, masks: DropoutMasks, output: UnsafeMutablePointer<Float>) {
        guard let split = monteCarloSplit else { preconditionFailure("Monte Carlo needs the dropout layer second to last") }
        if cachedMasks != masks { prepare(masks, split: split) }
        let passes = masks.passes
        let layer = table[split]
        let chunks = layer.chunks
        let pairStride = chunks * 16
        let lastStride = chunks * 8
        let multipliers = UnsafePointer(layer.dropoutMultiplier)
        let rounding = SIMD2<UInt64>(repeating: layer.dropoutRounding)
        let shift = SIMD2<UInt64>(repeating: layer.dropoutShift)
        let ceiling = SIMD8<Int16>(repeating: Int16(layer.ceiling))
        let b = broadcasts.pointer
        let offsets = pairOffsets.pointer
        let requantized = activationPointer[split + 1]
        let full = UnsafePointer(accumulators.pointer)
        let scale = lastDropoutScale
        for row in 0..<rows {
            load(input + row * inputCount)
            for l in 0..<split {
                forward(layerPointer[l], input: activationPointer[l], dropout: false, output: activationPointer[l + 1], raw: nil)
            }
            let x = UnsafePointer(activationPointer[split])
            forward(layer, input: x, dropout: true, output: activationPointer[split + 1], raw: accumulators.pointer)
            for c in 0..<chunks {
                let q = reluRequantize(load4(full + 8 * c), load4(multipliers + 8 * c), rounding: rounding, shift: shift)
                let r = reluRequantize(load4(full + 8 * c + 4), load4(multipliers + 8 * c + 4), rounding: rounding, shift: shift)
                UnsafeMutableRawPointer(requantized + 8 * c).storeBytes(of: saturatedMin(q, r, ceiling), as: SIMD8<Int16>.self)
            }
            for pass in 0..<passes {
                let pairs = Int(passPairCounts.pointer[pass])
                let units = UnsafePointer(passPairUnits.pointer) + pass &* maximumPairs &* 2
                let pairWeights = UnsafePointer(passPairWeights.pointer) + pass &* maximumPairs &* pairStride
                let lastWeights = UnsafePointer(passLastWeights.pointer) + pass &* lastStride
                // The dropped pairs with a nonzero input (ReLU zeros subtract nothing).
                var count = 0
                for k in 0..<pairs {
                    let first = UInt32(UInt16(bitPattern: x[Int(units[2 &* k])]))
                    let second = UInt32(UInt16(bitPattern: x[Int(units[2 &* k &+ 1])]))
                    let value = first | second << 16
                    b[count] = SIMD4(repeating: Int32(bitPattern: value))
                    offsets[count] = k &* pairStride
                    count &+= value != 0 ? 1 : 0
                }
                var dot = SIMD4<Int32>()
                if count == 0 {
                    // Nothing this pass drops is nonzero: the row's full requantization stands.
                    for c in 0..<chunks { dot &+= multiplyAddPairs(load8(lastWeights + 8 &* c), load8(requantized + 8 &* c)) }
                    let value = Float(dot.wrappedSum() &+ lastDropoutBias) * scale
                    output[row &* passes &+ pass] = lastRelu ? max(0, value) : value
                    continue
                }
                for c in 0..<chunks {
                    var low = load4(full + 8 &* c)
                    var high = load4(full + (8 &* c &+ 4))
                    let w = pairWeights + 16 &* c
                    for k in 0..<count {
                        let pair = b[k]
                        let column = w + offsets[k]
                        low &+= multiplyAddPairs(load8(column), pair)
                        high &+= multiplyAddPairs(load8(column + 8), pair)
                    }
                    let q = reluRequantize(low, load4(multipliers + 8 * c), rounding: rounding, shift: shift)
                    let r = reluRequantize(high, load4(multipliers + 8 * c + 4), rounding: rounding, shift: shift)
                    dot &+= multiplyAddPairs(load8(lastWeights + 8 * c), saturatedMin(q, r, ceiling))
                }
                let value = Float(dot.wrappedSum() &+ lastDropoutBias) * scale
                output[row * passes + pass] = lastRelu ? max(0, value) : value
            }
        }
    }

    /// Lays out, for every pass, its dropped units of the split layer's input in pairs with their
    /// negated weight columns, and the last layer's weights times that pass's keep flags.
    private func prepare(_ masks: DropoutMasks, split: Int) {
        let layer = table[split]
        let count = layer.inputCount
        let passes = masks.passes
        let pairStride = layer.chunks * 16
        let lastStride = layer.chunks * 8
        guard let keep = masks.keep[split], let lastKeep = masks.keep[split + 1],
            keep.count == passes * count, lastKeep.count == passes * layer.outputCount
        else { preconditionFailure("masks for this network") }
        maximumPairs = (count + 1) / 2
        passPairWeights = AlignedBuffer(count: passes * maximumPairs * pairStride, zero: 0)
        passPairUnits = AlignedBuffer(count: passes * maximumPairs * 2, zero: 0)
        passPairCounts = AlignedBuffer(count: passes, zero: 0)
        passLastWeights = AlignedBuffer(count: passes * lastStride, zero: 0)
        for pass in 0..<passes {
            var dropped: [Int] = []
            for unit in 0..<count where keep[pass * count + unit] == 0 { dropped.append(unit) }
            let pairs = (dropped.count + 1) / 2
            passPairCounts.pointer[pass] = Int32(pairs)
            for k in 0..<pairs {
                let units = passPairUnits.pointer + (pass * maximumPairs + k) * 2
                let weights = passPairWeights.pointer + (pass * maximumPairs + k) * pairStride
                for half in 0..<2 where 2 * k + half < dropped.count {
                    let position = positions[split][dropped[2 * k + half]]
                    units[half] = Int32(position)
                    for o in 0..<layer.outputCount {
                        // The input's weight column, from the interleaved layout (pair
                        // position/2, lane position%2).
                        let w = layer.weights[(position / 2) * pairStride + (o / 4) * 8 + (o % 4) * 2 + position % 2]
                        weights[(o / 4) * 8 + (o % 4) * 2 + half] = 0 &- w
                    }
                }
            }
            for o in 0..<layer.outputCount where lastKeep[pass * layer.outputCount + orders[split][o]] != 0 {
                passLastWeights.pointer[pass * lastStride + o] = lastWeights.pointer[o]
            }
        }
        cachedMasks = masks
    }
}

/// The rounding constant of `reluRequantize` for a right shift s: 2^30 for the doubling high
/// multiply's nudge, plus 2^(30+s) for the rounding divide's half.
func reluRounding(rightShift s: UInt64) -> UInt64 { (1 << 30) + (s > 0 ? 1 << (30 + s) : 0) }

/// TFLite's requantization of a ReLU layer, x ↦ max(0, RoundingDivideByPOT(
/// SaturatingRoundingDoublingHighMul(x, M0), s)), as one rounding: for x ≤ 0 both roundings give
/// a value ≤ 0 (the ReLU clamp's zero), and for x > 0 both round half up, and since
/// ⌊(⌊y⌋ + c)/2^s⌋ = ⌊(y + c)/2^s⌋ for integers c, the two collapse into
/// ⌊(x·M0 + 2^30 + 2^(30+s)) / 2^(31+s)⌋: one unsigned 32×32→64-bit product per lane (pmuludq),
/// an add and a shift. `shift` is 31 + s; `rounding` is `reluRounding(rightShift: s)`.
@inline(__always)
func reluRequantize(_ x: SIMD4<Int32>, _ multiplier: SIMD4<Int32>, rounding: SIMD2<UInt64>, shift: SIMD2<UInt64>) -> SIMD4<Int32> {
    let positive = x & ~(x &>> 31)
    let low = SIMD2<UInt64>(repeating: 0xFFFF_FFFF)
    let a = unsafeBitCast(positive, to: SIMD2<UInt64>.self)
    let m = unsafeBitCast(multiplier, to: SIMD2<UInt64>.self)
    let even = ((a & low) &* (m & low) &+ rounding) &>> shift
    let odd = ((a &>> 32) &* (m &>> 32) &+ rounding) &>> shift
    return unsafeBitCast(even | (odd &<< 32), to: SIMD4<Int32>.self)
}

/// min(q‖r, ceiling) in 16-bit lanes for nonnegative q, r: packssdw (saturating at 32767, so a
/// huge value cannot wrap) and pminsw.
@inline(__always)
func saturatedMin(_ q: SIMD4<Int32>, _ r: SIMD4<Int32>, _ ceiling: SIMD8<Int16>) -> SIMD8<Int16> {
    let both = SIMD8(lowHalf: q, highHalf: r)
    let packed = SIMD8<Int16>(truncatingIfNeeded: pointwiseMax(pointwiseMin(both, SIMD8(repeating: 32767)), SIMD8(repeating: -32768)))
    return pointwiseMin(packed, ceiling)
}

/// pmaddwd: (a0·b0 + a1·b1, a2·b2 + a3·b3, ...) on 16-bit lanes, `b` given as 32-bit lanes.
@inline(__always)
func multiplyAddPairs(_ a: SIMD8<Int16>, _ b: SIMD4<Int32>) -> SIMD4<Int32> {
    multiplyAddPairs(a, unsafeBitCast(b, to: SIMD8<Int16>.self))
}

@inline(__always)
func multiplyAddPairs(_ a: SIMD8<Int16>, _ b: SIMD8<Int16>) -> SIMD4<Int32> {
    pairSums(SIMD8<Int32>(truncatingIfNeeded: a) &* SIMD8<Int32>(truncatingIfNeeded: b))
}

@inline(__always)
func load4(_ pointer: UnsafePointer<Int32>) -> SIMD4<Int32> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD4<Int32>.self)
}
