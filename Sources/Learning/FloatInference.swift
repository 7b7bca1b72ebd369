/// A float network laid out for inference: rows padded to 8 lanes, scratch allocated once for up
/// to `maximumRows` rows, so predicting allocates nothing. Not thread-safe: one per thread.
public final class FloatInference {
    public let network: DenseNetwork
    public let maximumRows: Int
    let layerCount: Int
    let inputCount: [Int]
    let inputPadded: [Int]
    let outputPadded: [Int]
    let relu: [Bool]
    let dropout: [Float]
    let weights: [AlignedBuffer<Float>]
    let bias: [AlignedBuffer<Float>]
    /// The first layer's input rows, then each layer's output rows.
    let buffers: [AlignedBuffer<Float>]
    let dropped: AlignedBuffer<Float>
    let nonzeroIndex: AlignedBuffer<Int>
    let nonzeroValue: AlignedBuffer<Float>
    /// The first layer with dropout: the layers before it are the same in every Monte Carlo pass.
    let firstDropoutLayer: Int

    public init(_ network: DenseNetwork, maximumRows: Int = 1) {
        precondition(maximumRows > 0, "at least one row")
        self.network = network
        self.maximumRows = maximumRows
        layerCount = network.layers.count
        inputCount = network.layers.map(\.inputCount)
        inputPadded = inputCount.map { roundUp($0, to: 8) }
        outputPadded = network.layers.map { roundUp($0.outputCount, to: 8) }
        relu = network.layers.map { $0.activation == .relu }
        dropout = network.layers.map(\.inputDropout)
        var weights: [AlignedBuffer<Float>] = []
        var bias: [AlignedBuffer<Float>] = []
        for (index, layer) in network.layers.enumerated() {
            let w = AlignedBuffer<Float>(count: layer.inputCount * outputPadded[index], zero: 0)
            for i in 0..<layer.inputCount {
                for o in 0..<layer.outputCount { w.pointer[i * outputPadded[index] + o] = layer.weight(input: i, output: o) }
            }
            let b = AlignedBuffer<Float>(count: outputPadded[index], zero: 0)
            for o in 0..<layer.outputCount { b.pointer[o] = layer.bias[o] }
            weights.append(w)
            bias.append(b)
        }
        self.weights = weights
        self.bias = bias
        buffers = [AlignedBuffer(count: maximumRows * inputPadded[0], zero: 0)]
            + outputPadded.map { AlignedBuffer(count: maximumRows * $0, zero: 0) }
        dropped = AlignedBuffer(count: maximumRows * max(inputPadded.max()!, outputPadded.max()!), zero: 0)
        nonzeroIndex = AlignedBuffer(count: inputPadded.max()!, zero: 0)
        nonzeroValue = AlignedBuffer(count: inputPadded.max()!, zero: 0)
        firstDropoutLayer = network.layers.firstIndex { $0.inputDropout > 0 } ?? network.layers.count
    }

    /// Runs layers `first..<layerCount` on `rows` rows already in `buffers[first]`. With masks,
    /// row e belongs to pass `e % masks.passes` and dropout layers use that pass's mask, scaled
    /// by 1/(1−p) (inverted dropout, as in training).
    @inline(__always)
    func run(from first: Int, rows: Int, masks: DropoutMasks?) {
        for layer in first..<layerCount {
            var input = UnsafePointer(buffers[layer].pointer)
            if let masks, let keep = masks.keep[layer] {
                let width = inputPadded[layer]
                let count = inputCount[layer]
                let scale = 1 / (1 - dropout[layer])
                let target = dropped.pointer
                keep.withUnsafeBufferPointer { keep in
                    for row in 0..<rows {
                        let pass = row % masks.passes
                        for unit in 0..<width {
                            target[row * width + unit] =
                                unit < count && keep[pass * count + unit] != 0 ? input[row * width + unit] * scale : 0
                        }
                    }
                }
                input = UnsafePointer(target)
            }
            multiply(
                m: rows, k: inputCount[layer], n: outputPadded[layer],
                a: input, aRowStride: inputPadded[layer], aColumnStride: 1,
                b: weights[layer].pointer, bRowStride: outputPadded[layer],
                c: buffers[layer + 1].pointer, cRowStride: outputPadded[layer],
                start: .bias(bias[layer].pointer), relu: relu[layer],
                nonzeroIndex: nonzeroIndex.pointer, nonzeroValue: nonzeroValue.pointer)
        }
    }

    /// Copies `rows` input rows of `columns` values into the first layer's buffer.
    @inline(__always)
    func load(_ source: UnsafePointer<Float>, rows: Int, columns: Int) {
        let stride = inputPadded[0]
        for row in 0..<rows { (buffers[0].pointer + row * stride).update(from: source + row * columns, count: columns) }
    }

    /// The deterministic output (dropout off) for one row of `inputCount` normalized inputs.
    /// Allocation-free.
    public func predictOne(_ input: UnsafePointer<Float>) -> Float {
        load(input, rows: 1, columns: inputCount[0])
        run(from: 0, rows: 1, masks: nil)
        return buffers[layerCount].pointer[0]
    }

    /// The deterministic output of every row.
    public func predict(_ features: FeatureMatrix) -> [Float] {
        precondition(features.columnCount == inputCount[0], "\(inputCount[0]) inputs per row")
        var output = [Float](repeating: 0, count: features.rowCount)
        let stride = outputPadded[layerCount - 1]
        features.values.withUnsafeBufferPointer { values in
            var start = 0
            while start < features.rowCount {
                let rows = min(maximumRows, features.rowCount - start)
                load(values.baseAddress! + start * features.columnCount, rows: rows, columns: features.columnCount)
                run(from: 0, rows: rows, masks: nil)
                for row in 0..<rows { output[start + row] = buffers[layerCount].pointer[row * stride] }
                start += rows
            }
        }
        return output
    }

    /// Monte Carlo dropout: every row through every pass of `masks`. The layers before the first
    /// dropout are computed once per row, then the rest runs once for all (row, pass) pairs as
    /// one batch. `output` receives `rows × passes` values (row-major). Allocation-free.
    public func monteCarlo(_ input: UnsafePointer<Float>, rows: Int, masks: DropoutMasks, output: UnsafeMutablePointer<Float>) {
        let passes = masks.passes
        let blockRows = max(1, maximumRows / passes)
        precondition(maximumRows >= passes, "maximumRows must hold one row's passes")
        let split = firstDropoutLayer
        let width = split == 0 ? inputPadded[0] : outputPadded[split - 1]
        let lastStride = outputPadded[layerCount - 1]
        var start = 0
        while start < rows {
            let count = min(blockRows, rows - start)
            load(input + start * inputCount[0], rows: count, columns: inputCount[0])
            if split > 0 { run(from: 0, rows: count, masks: nil) }
            // Spread each row's shared prefix over its passes, last row first (in place).
            let shared = buffers[split].pointer
            for row in stride(from: count - 1, through: 0, by: -1) {
                for pass in stride(from: passes - 1, through: 0, by: -1) where row * passes + pass != row {
                    (shared + (row * passes + pass) * width).update(from: shared + row * width, count: width)
                }
            }
            run(from: split, rows: count * passes, masks: masks)
            for e in 0..<count * passes { output[start * passes + e] = buffers[layerCount].pointer[e * lastStride] }
            start += count
        }
    }

    /// Runs `rows` rows through every layer, row e with the masks of pass `e % masks.passes`
    /// (for inputs that differ per pass, as the cascade's predicted peak). Allocation-free.
    public func runPerPass(_ input: UnsafePointer<Float>, rows: Int, masks: DropoutMasks, output: UnsafeMutablePointer<Float>) {
        precondition(rows <= maximumRows, "at most maximumRows rows")
        load(input, rows: rows, columns: inputCount[0])
        run(from: 0, rows: rows, masks: masks)
        let lastStride = outputPadded[layerCount - 1]
        for e in 0..<rows { output[e] = buffers[layerCount].pointer[e * lastStride] }
    }
}
