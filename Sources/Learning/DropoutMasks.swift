/// The dropout keep-masks of N Monte Carlo passes (Gal & Ghahramani 2016, "Dropout as a Bayesian
/// approximation"): for every pass and every layer that has dropout, which of its input units are
/// kept. Pass k uses the same mask for every row it predicts, so each pass is one sampled
/// sub-network (a function sample) and the result does not depend on batching or threads. The
/// float and int8 paths draw the same masks from the same seed.
public struct DropoutMasks: Sendable, Equatable {
    public let passes: Int
    /// Per layer: nil without dropout, else `passes × inputCount` flags (1 keep, 0 drop).
    public let keep: [[UInt8]?]
    /// Per layer: the dropout rate (0 without dropout).
    public let rates: [Float]

    /// Masks for `passes` passes through a network whose layers have `inputCounts` inputs and
    /// `rates` dropout rates: each unit kept with probability 1 − p, independently.
    public init(inputCounts: [Int], rates: [Float], passes: Int, seed: UInt64) {
        precondition(inputCounts.count == rates.count && passes > 0, "one rate per layer, at least one pass")
        var random = LearningRandom(seed: seed)
        var keep: [[UInt8]?] = rates.map { $0 > 0 ? [] : nil }
        for layer in rates.indices where rates[layer] > 0 { keep[layer]!.reserveCapacity(passes * inputCounts[layer]) }
        for _ in 0..<passes {
            for layer in rates.indices where rates[layer] > 0 {
                for _ in 0..<inputCounts[layer] { keep[layer]!.append(random.nextUnitFloat() >= rates[layer] ? 1 : 0) }
            }
        }
        self.passes = passes
        self.keep = keep
        self.rates = rates
    }

    /// Masks for `passes` passes through `network`.
    public init(for network: DenseNetwork, passes: Int, seed: UInt64) {
        self.init(inputCounts: network.layers.map(\.inputCount), rates: network.layers.map(\.inputDropout), passes: passes, seed: seed)
    }

    /// Whether pass `pass` keeps input `unit` of layer `layer`.
    public func keeps(layer: Int, pass: Int, unit: Int, inputCount: Int) -> Bool {
        guard let flags = keep[layer] else { return true }
        return flags[pass * inputCount + unit] != 0
    }
}

/// Mean and spread of Monte Carlo predictions, one value per row.
public struct MonteCarloSummary: Sendable, Equatable {
    public var mean: [Float]
    /// Population standard deviation over the passes.
    public var standardDeviation: [Float]

    public init(mean: [Float], standardDeviation: [Float]) {
        self.mean = mean
        self.standardDeviation = standardDeviation
    }

    /// Summarizes `passes` consecutive predictions per row (row-major: row r's passes are
    /// `values[r*passes ..< (r+1)*passes]`).
    public init(values: UnsafePointer<Float>, rows: Int, passes: Int) {
        var mean = [Float](repeating: 0, count: rows)
        var spread = [Float](repeating: 0, count: rows)
        for row in 0..<rows {
            var sum = 0.0
            var squares = 0.0
            for pass in 0..<passes {
                let value = Double(values[row * passes + pass])
                sum += value
                squares += value * value
            }
            let average = sum / Double(passes)
            mean[row] = Float(average)
            spread[row] = Float(max(0, squares / Double(passes) - average * average).squareRoot())
        }
        self.init(mean: mean, standardDeviation: spread)
    }
}
