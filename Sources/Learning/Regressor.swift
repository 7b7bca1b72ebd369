/// A trained model mapping rows of normalized inputs to one normalized target: what the
/// cross-validation harness evaluates. The MLP is one; ridge, trees and forests plug in the same way.
public protocol Regressor: Sendable {
    /// One prediction per row, in the normalized target's units.
    func predict(_ features: FeatureMatrix) -> [Float]
}

/// Fits a `Regressor` to rows of normalized inputs and targets.
public protocol RegressorTrainer: Sendable {
    associatedtype Model: Regressor
    /// A model fitted to `features` → `targets`; `seed` fixes every random choice it makes.
    func train(features: FeatureMatrix, targets: [Float], seed: UInt64) throws -> Model
}

extension DenseNetwork: Regressor {}

/// The mean of several models' predictions (a deep ensemble, Lakshminarayanan et al. 2017, when
/// the members are networks from different seeds).
public struct Ensemble<Member: Regressor>: Regressor {
    public var members: [Member]

    public init(members: [Member]) {
        precondition(!members.isEmpty, "at least one member")
        self.members = members
    }

    public func predict(_ features: FeatureMatrix) -> [Float] {
        var sum = [Double](repeating: 0, count: features.rowCount)
        for member in members {
            for (index, value) in member.predict(features).enumerated() { sum[index] += Double(value) }
        }
        return sum.map { Float($0 / Double(members.count)) }
    }
}

/// Trains `size` members of `base` from seeds derived from the one given, on up to `threads`
/// threads (members are independent; the result does not depend on the thread count).
public struct EnsembleTrainer<Base: RegressorTrainer>: RegressorTrainer {
    public var base: Base
    public var size: Int
    public var threads: Int

    public init(base: Base, size: Int, threads: Int = 1) {
        precondition(size > 0, "at least one member")
        self.base = base
        self.size = size
        self.threads = threads
    }

    public func train(features: FeatureMatrix, targets: [Float], seed: UInt64) throws -> Ensemble<Base.Model> {
        let slots = ResultSlots<Result<Base.Model, any Error>>(count: size)
        let base = self.base
        parallelFor(count: size, threads: threads) { member in
            var stream = LearningRandom.derived(seed: seed, stream: 100 + UInt64(member))
            let memberSeed = stream.next()
            slots.set(member, Result { try base.train(features: features, targets: targets, seed: memberSeed) })
        }
        return Ensemble(members: try (0..<size).map { try slots.get($0)!.get() })
    }
}
