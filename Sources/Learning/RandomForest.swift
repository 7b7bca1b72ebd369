/// A random forest for regression (Breiman, "Random forests", Machine Learning 45, 2001): the
/// mean of trees each grown on a bootstrap sample of the rows, considering a random subset of the
/// features at every split.
public struct RandomForest: Regressor, Equatable {
    public var trees: [DecisionTree]

    public init(trees: [DecisionTree]) {
        precondition(!trees.isEmpty, "at least one tree")
        self.trees = trees
    }

    public func predict(_ features: FeatureMatrix) -> [Float] {
        let columns = features.columnCount
        precondition(columns == trees[0].columnCount, "\(trees[0].columnCount) columns")
        return features.values.withUnsafeBufferPointer { values in
            (0..<features.rowCount).map { row in
                var sum = 0.0
                for tree in trees { sum += Double(tree.predict(row: values.baseAddress! + row * columns)) }
                return Float(sum / Double(trees.count))
            }
        }
    }
}

/// Grows `RandomForest`s: tree t draws its bootstrap sample (n rows with replacement) and its
/// feature subsets from a stream derived from the seed and t, so the forest is the same on any
/// number of threads; trees are spread over `threads` threads (`parallelFor`).
public struct RandomForestTrainer: RegressorTrainer {
    public var treeCount: Int
    public var tree: DecisionTreeTrainer
    /// Fraction of the features each split considers, rounded up (0.6: 3 of the 5 conditions,
    /// 4 of the cascade's 6 inputs).
    public var featureFraction: Double
    public var threads: Int

    /// Defaults: 100 trees, depth 16, 3 rows per leaf, 60 % of the features per split.
    public init(
        treeCount: Int = 100, tree: DecisionTreeTrainer = DecisionTreeTrainer(maximumDepth: 16, minimumLeafRows: 3),
        featureFraction: Double = 0.6, threads: Int = 1
    ) {
        precondition(treeCount >= 1 && featureFraction > 0 && featureFraction <= 1, "trees ≥ 1, fraction in (0, 1]")
        self.treeCount = treeCount
        self.tree = tree
        self.featureFraction = featureFraction
        self.threads = threads
    }

    public func train(features: FeatureMatrix, targets: [Float], seed: UInt64) -> RandomForest {
        precondition(targets.count == features.rowCount && features.rowCount > 0, "one target per row")
        var configured = tree
        configured.featuresPerSplit = max(1, Int((featureFraction * Double(features.columnCount)).rounded(.up)))
        let treeTrainer = configured
        let slots = ResultSlots<DecisionTree>(count: treeCount)
        let n = features.rowCount
        parallelFor(count: treeCount, threads: threads) { index in
            var random = LearningRandom.derived(seed: seed, stream: 2000 + UInt64(index))
            let sample = (0..<n).map { _ in random.nextIndex(below: n) }
            slots.set(index, treeTrainer.train(features: features, targets: targets, rows: sample, seed: random.next()))
        }
        return RandomForest(trees: (0..<treeCount).map { slots.get($0)! })
    }
}
