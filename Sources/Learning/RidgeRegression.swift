/// A linear model fitted by ridge regression (Hoerl & Kennard 1970) on standardized features:
/// each column is centred and divided by its population standard deviation, the target is
/// centred, and the weights solve (ZᵀZ + λI) w = Zᵀ(y − ȳ) in closed form (Cholesky). The
/// intercept is not penalized. Predictions are made in Double and returned as Float.
public struct RidgeModel: Regressor, Equatable {
    /// Weights on the standardized columns.
    public var standardizedWeights: [Double]
    /// Column means and standard deviations of the training features (a constant column has
    /// scale 1 and, being all zero after centring, weight 0).
    public var means: [Double]
    public var scales: [Double]
    /// The training targets' mean: the prediction at the mean of the features.
    public var intercept: Double

    public init(standardizedWeights: [Double], means: [Double], scales: [Double], intercept: Double) {
        precondition(standardizedWeights.count == means.count && means.count == scales.count, "one weight, mean and scale per column")
        self.standardizedWeights = standardizedWeights
        self.means = means
        self.scales = scales
        self.intercept = intercept
    }

    /// The weights on the raw columns (wᵢ/sᵢ) and the raw intercept: y = b + Σ wᵢ xᵢ.
    public var rawWeights: (weights: [Double], intercept: Double) {
        let weights = standardizedWeights.indices.map { standardizedWeights[$0] / scales[$0] }
        let shift = weights.indices.reduce(0.0) { $0 + weights[$1] * means[$1] }
        return (weights, intercept - shift)
    }

    public func predict(_ features: FeatureMatrix) -> [Float] {
        precondition(features.columnCount == means.count, "\(means.count) columns")
        let columns = features.columnCount
        return features.values.withUnsafeBufferPointer { values in
            (0..<features.rowCount).map { row in
                var sum = intercept
                for column in 0..<columns {
                    sum += standardizedWeights[column] * (Double(values[row * columns + column]) - means[column]) / scales[column]
                }
                return Float(sum)
            }
        }
    }
}

/// Fits `RidgeModel`s with a fixed penalty λ on the standardized columns. The default λ = 1 is
/// negligible against ZᵀZ = n·(correlation matrix) for the thousands of rows of the published
/// data (n ≈ 4 500 per fold), so the baseline is essentially ordinary least squares, kept well
/// conditioned; a λ of 1 shrinks a weight by n/(n+1) when columns are uncorrelated. The fit is
/// deterministic (`seed` is unused).
public struct RidgeTrainer: RegressorTrainer {
    public var lambda: Double

    public init(lambda: Double = 1) {
        precondition(lambda >= 0 && lambda.isFinite, "λ ≥ 0")
        self.lambda = lambda
    }

    public func train(features: FeatureMatrix, targets: [Float], seed: UInt64) throws -> RidgeModel {
        precondition(targets.count == features.rowCount && features.rowCount > 0, "one target per row")
        let n = features.rowCount
        let p = features.columnCount
        var means = [Double](repeating: 0, count: p)
        for row in 0..<n { for column in 0..<p { means[column] += Double(features[row, column]) } }
        for column in 0..<p { means[column] /= Double(n) }
        var scales = [Double](repeating: 0, count: p)
        for row in 0..<n {
            for column in 0..<p {
                let d = Double(features[row, column]) - means[column]
                scales[column] += d * d
            }
        }
        for column in 0..<p {
            let deviation = (scales[column] / Double(n)).squareRoot()
            scales[column] = deviation > 0 ? deviation : 1
        }
        let targetMean = targets.reduce(0.0) { $0 + Double($1) } / Double(n)
        // Normal equations of the standardized problem.
        var gram = [Double](repeating: 0, count: p * p)
        var moment = [Double](repeating: 0, count: p)
        var z = [Double](repeating: 0, count: p)
        for row in 0..<n {
            for column in 0..<p { z[column] = (Double(features[row, column]) - means[column]) / scales[column] }
            let y = Double(targets[row]) - targetMean
            for i in 0..<p {
                moment[i] += z[i] * y
                for j in 0...i { gram[i * p + j] += z[i] * z[j] }
            }
        }
        for i in 0..<p {
            for j in 0..<i { gram[j * p + i] = gram[i * p + j] }
            gram[i * p + i] += lambda
        }
        let weights = try Self.solveSymmetricPositiveDefinite(gram, moment, size: p)
        return RidgeModel(standardizedWeights: weights, means: means, scales: scales, intercept: targetMean)
    }

    /// Solves A x = b for a symmetric positive definite A (row-major, `size`²) by Cholesky
    /// factorization A = L Lᵀ and two triangular solves.
    static func solveSymmetricPositiveDefinite(_ a: [Double], _ b: [Double], size p: Int) throws(RidgeError) -> [Double] {
        var l = [Double](repeating: 0, count: p * p)
        for i in 0..<p {
            for j in 0...i {
                var sum = a[i * p + j]
                for k in 0..<j { sum -= l[i * p + k] * l[j * p + k] }
                if i == j {
                    // Relative to the diagonal: collinear columns leave a rounding-size pivot, not 0.
                    guard sum > 1e-10 * a[i * p + i] else { throw RidgeError(column: i, pivot: sum) }
                    l[i * p + i] = sum.squareRoot()
                } else {
                    l[i * p + j] = sum / l[j * p + j]
                }
            }
        }
        var y = [Double](repeating: 0, count: p)
        for i in 0..<p {
            var sum = b[i]
            for k in 0..<i { sum -= l[i * p + k] * y[k] }
            y[i] = sum / l[i * p + i]
        }
        var x = [Double](repeating: 0, count: p)
        for i in stride(from: p - 1, through: 0, by: -1) {
            var sum = y[i]
            for k in (i + 1)..<p { sum -= l[k * p + i] * x[k] }
            x[i] = sum / l[i * p + i]
        }
        return x
    }
}

/// The normal equations were not positive definite (λ = 0 with collinear columns).
public struct RidgeError: Error, Equatable, Sendable, CustomStringConvertible {
    public var column: Int
    public var pivot: Double

    public var description: String {
        "ridge regression: the normal equations are singular at column \(column + 1) (Cholesky pivot \(pivot)); "
            + "use a penalty λ > 0 or drop collinear columns"
    }
}
