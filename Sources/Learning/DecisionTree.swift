/// A regression tree (CART, Breiman et al. 1984): every inner node sends a row left when its
/// feature is at most the threshold, every leaf predicts the mean training target that reached it.
/// Nodes are stored flat; node 0 is the root.
public struct DecisionTree: Regressor, Equatable {
    public struct Node: Sendable, Equatable {
        /// The feature an inner node splits on, or -1 for a leaf.
        public var feature: Int32
        public var threshold: Float
        public var left: Int32
        public var right: Int32
        /// A leaf's prediction (an inner node's mean, for inspection).
        public var value: Float
        /// Training rows that reached the node.
        public var rows: Int32
    }

    public var nodes: [Node]
    public var columnCount: Int

    public init(nodes: [Node], columnCount: Int) {
        precondition(!nodes.isEmpty, "at least a root")
        self.nodes = nodes
        self.columnCount = columnCount
    }

    /// The leaf value for one row of `columnCount` values.
    @inline(__always)
    public func predict(row: UnsafePointer<Float>) -> Float {
        var index = 0
        while true {
            let node = nodes[index]
            if node.feature < 0 { return node.value }
            index = Int(row[Int(node.feature)] <= node.threshold ? node.left : node.right)
        }
    }

    public func predict(_ features: FeatureMatrix) -> [Float] {
        precondition(features.columnCount == columnCount, "\(columnCount) columns")
        return features.values.withUnsafeBufferPointer { values in
            (0..<features.rowCount).map { predict(row: values.baseAddress! + $0 * columnCount) }
        }
    }

    /// Edges on the longest root-to-leaf path.
    public var depth: Int {
        func depth(of index: Int) -> Int {
            let node = nodes[index]
            return node.feature < 0 ? 0 : 1 + max(depth(of: Int(node.left)), depth(of: Int(node.right)))
        }
        return depth(of: 0)
    }

    public var leaves: [Node] { nodes.filter { $0.feature < 0 } }
}

/// Grows `DecisionTree`s greedily: each node takes the split (feature, threshold) with the largest
/// reduction of the sum of squared errors (variance reduction), thresholds halfway between
/// adjacent distinct values, until `maximumDepth`, fewer than 2·`minimumLeafRows` rows, or no
/// split reduces the error. With `featuresPerSplit` below the column count each node considers a
/// seeded random subset of the features (as in a random forest); otherwise the tree is
/// deterministic.
public struct DecisionTreeTrainer: RegressorTrainer {
    public var maximumDepth: Int
    public var minimumLeafRows: Int
    /// Features considered at each split; nil: all.
    public var featuresPerSplit: Int?

    /// Defaults: depth 12 and 5 rows per leaf, a tree that fits the published data's time
    /// trajectories without memorizing single spectra.
    public init(maximumDepth: Int = 12, minimumLeafRows: Int = 5, featuresPerSplit: Int? = nil) {
        precondition(maximumDepth >= 0 && minimumLeafRows >= 1, "depth ≥ 0, at least one row per leaf")
        precondition(featuresPerSplit.map { $0 >= 1 } ?? true, "at least one feature per split")
        self.maximumDepth = maximumDepth
        self.minimumLeafRows = minimumLeafRows
        self.featuresPerSplit = featuresPerSplit
    }

    public func train(features: FeatureMatrix, targets: [Float], seed: UInt64) -> DecisionTree {
        train(features: features, targets: targets, rows: Array(0..<features.rowCount), seed: seed)
    }

    /// A tree grown on the rows at `rows` (a bootstrap sample may repeat rows).
    public func train(features: FeatureMatrix, targets: [Float], rows: [Int], seed: UInt64) -> DecisionTree {
        precondition(targets.count == features.rowCount && !rows.isEmpty, "one target per row, at least one row")
        var builder = TreeBuilder(
            features: features, targets: targets, maximumDepth: maximumDepth, minimumLeafRows: minimumLeafRows,
            featuresPerSplit: min(featuresPerSplit ?? features.columnCount, features.columnCount), random: LearningRandom(seed: seed))
        var rows = rows
        _ = builder.grow(&rows[...], depth: 0)
        return DecisionTree(nodes: builder.nodes, columnCount: features.columnCount)
    }
}

/// The recursive growth of one tree.
private struct TreeBuilder {
    let features: FeatureMatrix
    let targets: [Float]
    let maximumDepth: Int
    let minimumLeafRows: Int
    let featuresPerSplit: Int
    var random: LearningRandom
    var nodes: [DecisionTree.Node] = []
    var order: [Int] = []

    init(features: FeatureMatrix, targets: [Float], maximumDepth: Int, minimumLeafRows: Int, featuresPerSplit: Int, random: LearningRandom) {
        self.features = features
        self.targets = targets
        self.maximumDepth = maximumDepth
        self.minimumLeafRows = minimumLeafRows
        self.featuresPerSplit = featuresPerSplit
        self.random = random
    }

    /// Appends the subtree of `rows` (reordered in place) and returns its index.
    mutating func grow(_ rows: inout ArraySlice<Int>, depth: Int) -> Int {
        let count = rows.count
        var sum = 0.0
        var squares = 0.0
        for row in rows {
            let y = Double(targets[row])
            sum += y
            squares += y * y
        }
        let mean = sum / Double(count)
        let index = nodes.count
        nodes.append(DecisionTree.Node(feature: -1, threshold: 0, left: -1, right: -1, value: Float(mean), rows: Int32(count)))
        let parentError = squares - sum * sum / Double(count)
        guard depth < maximumDepth, count >= 2 * minimumLeafRows, parentError > 1e-12 * max(1, squares) else { return index }

        var candidates = Array(0..<features.columnCount)
        if featuresPerSplit < candidates.count {
            random.shuffle(&candidates)
            candidates.removeLast(candidates.count - featuresPerSplit)
            candidates.sort()
        }
        var best: (gain: Double, feature: Int, threshold: Float)?
        let columns = features.columnCount
        features.values.withUnsafeBufferPointer { values in
            var sorted = Array(rows)
            for feature in candidates {
                sorted.sort { values[$0 * columns + feature] < values[$1 * columns + feature] }
                var leftSum = 0.0
                for position in 0..<(count - 1) {
                    leftSum += Double(targets[sorted[position]])
                    let leftCount = position + 1
                    guard leftCount >= minimumLeafRows, count - leftCount >= minimumLeafRows else { continue }
                    let here = values[sorted[position] * columns + feature]
                    let next = values[sorted[position + 1] * columns + feature]
                    guard here < next else { continue }
                    let rightSum = sum - leftSum
                    // SSE reduction = Σ_left²/n_l + Σ_right²/n_r − Σ²/n.
                    let gain = leftSum * leftSum / Double(leftCount) + rightSum * rightSum / Double(count - leftCount)
                        - sum * sum / Double(count)
                    if gain > (best?.gain ?? 1e-12 * max(1, parentError)) {
                        // Halfway, unless rounding lands on `next` (adjacent floats).
                        let middle = here + (next - here) / 2
                        best = (gain, feature, middle < next ? middle : here)
                    }
                }
            }
        }
        guard let best else { return index }
        // Partition in place: rows going left first.
        var boundary = rows.startIndex
        for position in rows.indices where features[rows[position], best.feature] <= best.threshold {
            rows.swapAt(position, boundary)
            boundary += 1
        }
        var left = rows[rows.startIndex..<boundary]
        var right = rows[boundary..<rows.endIndex]
        let leftIndex = grow(&left, depth: depth + 1)
        let rightIndex = grow(&right, depth: depth + 1)
        nodes[index].feature = Int32(best.feature)
        nodes[index].threshold = best.threshold
        nodes[index].left = Int32(leftIndex)
        nodes[index].right = Int32(rightIndex)
        return index
    }
}
