/// Up to eight parameters, in SIMD lanes 0..<parameterCount (the other lanes are unused and 0).
public typealias FitParameters = SIMD8<Double>

/// A nonlinear least-squares problem: residuals r_i(p) = y_i − f(x_i; p) for i in
/// 0..<residualCount, with the model's analytic gradient ∂f(x_i; p)/∂p.
public protocol LeastSquaresProblem {
    /// Number of parameters in use, 1...8.
    var parameterCount: Int { get }
    /// Number of residuals.
    var residualCount: Int { get }
    /// Hands `body` the residual y_i − f(x_i; p) and the gradient ∂f/∂p of every point in turn
    /// (lanes from `parameterCount` on must be 0). One call per parameter vector, so what does not
    /// depend on the point (1/σ², ...) is worked out once.
    func evaluate(_ parameters: FitParameters, _ body: (_ residual: Double, _ gradient: FitParameters) -> Void)
}

/// How a Levenberg-Marquardt minimization ended.
public enum LeastSquaresOutcome: Sendable, Equatable {
    /// The relative decrease of the cost fell below the tolerance (or the cost is zero).
    case convergedCost
    /// The step fell below the tolerance relative to the parameters.
    case convergedStep
    /// The gradient Jᵀr vanished (a stationary point, possibly on a bound).
    case convergedGradient
    /// No step, however damped, lowers the cost any more: a local minimum within the bounds.
    case convergedNoDescent
    /// The iteration limit came first.
    case iterationLimit
    /// The cost or a parameter became NaN or infinite.
    case diverged

    /// Whether the minimization converged.
    public var converged: Bool {
        switch self {
        case .convergedCost, .convergedStep, .convergedGradient, .convergedNoDescent: true
        case .iterationLimit, .diverged: false
        }
    }
}

/// The result of a Levenberg-Marquardt minimization.
public struct LeastSquaresSolution: Sendable, Equatable {
    /// Best parameters found (within the bounds).
    public var parameters: FitParameters
    /// Σ r_i² at `parameters`.
    public var cost: Double
    /// Accepted steps taken.
    public var iterations: Int
    /// Why it stopped.
    public var outcome: LeastSquaresOutcome
    /// Standard errors of the parameters, √(s²·[(JᵀJ)⁻¹]_jj) with s² = cost/(n − p), from the
    /// Jacobian at the solution. A parameter on a bound, or one no residual depends on, is held
    /// fixed (its error is infinite, the others' conditional on it); 0 in unused lanes; infinite
    /// everywhere when JᵀJ is singular.
    public var standardErrors: FitParameters
}

/// Levenberg-Marquardt for small problems (K. Levenberg 1944; D. W. Marquardt, J. SIAM 11, 431
/// (1963)): each trial point accumulates its cost and normal equations JᵀJ and Jᵀr from the analytic
/// gradient point by point (J is never stored), and the iteration solves (JᵀJ + λ·diag(JᵀJ)) δ = Jᵀr by Cholesky, and
/// accepts the step if the cost falls (λ ÷ 3) or raises λ ×4 and retries. Bounds are enforced by
/// projection: a parameter on a bound whose gradient points out of the box is held for that step,
/// and every trial point is clamped into the box, so every accepted point is feasible. Allocates
/// nothing.
public struct LevenbergMarquardt: Sendable, Equatable {
    public var maximumIterations: Int
    /// Stop when the cost falls by less than this fraction in an accepted step.
    public var relativeCostTolerance: Double
    /// Stop when every parameter moves by less than this fraction of (|p| + this).
    public var relativeStepTolerance: Double
    /// Starting damping λ.
    public var initialDamping: Double
    /// Damping beyond which no descent is declared.
    public var maximumDamping: Double
    /// Stationary when every free |(Jᵀr)_j| is below this fraction of √((JᵀJ)_jj · cost), the
    /// cosine between the residual vector and that parameter's Jacobian column.
    public var gradientTolerance: Double

    public init(
        maximumIterations: Int = 200, relativeCostTolerance: Double = 1e-12, relativeStepTolerance: Double = 1e-10,
        initialDamping: Double = 1e-3, maximumDamping: Double = 1e16, gradientTolerance: Double = 1e-10
    ) {
        self.gradientTolerance = gradientTolerance
        self.maximumIterations = maximumIterations
        self.relativeCostTolerance = relativeCostTolerance
        self.relativeStepTolerance = relativeStepTolerance
        self.initialDamping = initialDamping
        self.maximumDamping = maximumDamping
    }

    /// Minimizes Σ r_i² of `problem` from `start`, keeping lanes 0..<parameterCount within
    /// `lower`...`upper` (use ±infinity for no bound).
    public func minimize<Problem: LeastSquaresProblem>(
        _ problem: Problem, from start: FitParameters,
        lower: FitParameters = FitParameters(repeating: -.infinity), upper: FitParameters = FitParameters(repeating: .infinity)
    ) -> LeastSquaresSolution {
        let n = problem.parameterCount
        precondition(n >= 1 && n <= 8, "Levenberg-Marquardt here takes 1 to 8 parameters")
        var used = FitParameters(repeating: 0)
        for j in 0..<n { used[j] = 1 }
        var parameters = clamp(start, lower, upper, used)

        var normal = NormalEquations()
        var cost = normal.accumulate(problem, parameters)
        guard cost.isFinite else {
            return LeastSquaresSolution(
                parameters: parameters, cost: cost, iterations: 0, outcome: .diverged,
                standardErrors: FitParameters(repeating: .infinity))
        }
        var damping = initialDamping
        var iterations = 0
        var outcome = LeastSquaresOutcome.iterationLimit
        search: while iterations < maximumIterations {
            if cost == 0 {
                outcome = .convergedCost
                break
            }
            // Lanes held at a bound by a gradient pointing out of the box take no part in the step
            // (a projected step); the others must show a gradient to go on.
            var free = used
            var stationary = true
            for j in 0..<n {
                let g = normal.gradient[j]
                if (parameters[j] <= lower[j] && g < 0) || (parameters[j] >= upper[j] && g > 0) {
                    free[j] = 0
                } else if abs(g) > gradientTolerance * (normal.diagonal(j) * cost).squareRoot() {
                    stationary = false
                }
            }
            if stationary {
                outcome = .convergedGradient
                break
            }
            while true {
                guard let step = normal.solveDamped(damping, free: free, n) else {
                    damping *= 4
                    if damping > maximumDamping {
                        outcome = .convergedNoDescent
                        break search
                    }
                    continue
                }
                let trial = clamp(parameters + step, lower, upper, used)
                // The trial point's normal equations come with its cost: an accepted step needs
                // them next, and most steps are accepted.
                var trialNormal = NormalEquations()
                let trialCost = trialNormal.accumulate(problem, trial)
                if trialCost.isFinite && trialCost < cost {
                    let moved = trial - parameters
                    parameters = trial
                    normal = trialNormal
                    let previous = cost
                    cost = trialCost
                    iterations += 1
                    damping = max(damping / 3, 1e-15)
                    if (previous - cost) <= relativeCostTolerance * previous {
                        outcome = .convergedCost
                        break search
                    }
                    var stepSmall = true
                    for j in 0..<n where abs(moved[j]) > relativeStepTolerance * (abs(parameters[j]) + relativeStepTolerance) {
                        stepSmall = false
                    }
                    if stepSmall {
                        outcome = .convergedStep
                        break search
                    }
                    continue search
                }
                damping *= 4
                if damping > maximumDamping {
                    outcome = .convergedNoDescent
                    break search
                }
            }
        }
        if !parameters.isFinite { outcome = .diverged }
        let degreesOfFreedom = problem.residualCount - n
        let variance = degreesOfFreedom > 0 ? cost / Double(degreesOfFreedom) : .infinity
        // Lanes on a bound, or that no residual depends on (a term whose amplitude sits at zero),
        // are held fixed: the others' errors are conditional on them.
        var estimated = used
        let largest = normal.maxDiagonal(n)
        for j in 0..<n where parameters[j] <= lower[j] || parameters[j] >= upper[j] || normal.diagonal(j) <= 1e-14 * largest {
            estimated[j] = 0
        }
        let standardErrors = normal.standardErrors(variance: variance, estimated: estimated, n)
        return LeastSquaresSolution(
            parameters: parameters, cost: cost, iterations: iterations, outcome: outcome, standardErrors: standardErrors)
    }

    private func clamp(_ p: FitParameters, _ lower: FitParameters, _ upper: FitParameters, _ used: FitParameters) -> FitParameters {
        var result = p
        for j in 0..<8 {
            if used[j] == 0 {
                result[j] = 0
            } else {
                result[j] = min(max(result[j], lower[j]), upper[j])
            }
        }
        return result
    }
}

extension SIMD8<Double> {
    fileprivate var isFinite: Bool {
        for j in 0..<8 where !self[j].isFinite { return false }
        return true
    }
}

/// JᵀJ and Jᵀr of one point in parameter space, on the stack.
private struct NormalEquations {
    var rows = InlineArray<8, FitParameters>(repeating: FitParameters(repeating: 0))
    var gradient = FitParameters(repeating: 0)

    func diagonal(_ j: Int) -> Double { rows[j][j] }

    /// Fills JᵀJ and Jᵀr at `parameters`; returns the cost Σ r².
    mutating func accumulate<Problem: LeastSquaresProblem>(_ problem: Problem, _ parameters: FitParameters) -> Double {
        let n = problem.parameterCount
        for j in 0..<8 { rows[j] = FitParameters(repeating: 0) }
        gradient = FitParameters(repeating: 0)
        var cost = 0.0
        var sum = FitParameters(repeating: 0)
        var matrix = rows
        problem.evaluate(parameters) { r, g in
            cost += r * r
            sum += r * g
            for j in 0..<n { matrix[j] += g[j] * g }
        }
        rows = matrix
        gradient = sum
        return cost
    }

    /// Solves (JᵀJ + λ·diag) δ = Jᵀr over the `free` lanes (the others do not move); nil when the
    /// damped matrix is not positive definite.
    func solveDamped(_ damping: Double, free: FitParameters, _ n: Int) -> FitParameters? {
        var a = rows
        var b = gradient * free
        for j in 0..<n where free[j] == 0 {
            a[j] = FitParameters(repeating: 0)
            for i in 0..<n { a[i][j] = 0 }
            a[j][j] = 1
            b[j] = 0
        }
        for j in 0..<n where free[j] != 0 {
            // Marquardt scaling, floored so a parameter the data do not constrain still gets damped.
            let d = rows[j][j]
            a[j][j] = d + damping * max(d, 1e-12 * maxDiagonal(n) + 1e-300)
        }
        guard var factor = Cholesky(a, n) else { return nil }
        return factor.solve(b, n) * free
    }

    func maxDiagonal(_ n: Int) -> Double {
        var largest = 0.0
        for j in 0..<n { largest = max(largest, rows[j][j]) }
        return largest
    }

    /// √(variance · [(JᵀJ)⁻¹]_jj) over the `estimated` lanes (the others held fixed get infinity).
    func standardErrors(variance: Double, estimated: FitParameters, _ n: Int) -> FitParameters {
        var errors = FitParameters(repeating: 0)
        var a = rows
        for j in 0..<n where estimated[j] == 0 {
            a[j] = FitParameters(repeating: 0)
            for i in 0..<n { a[i][j] = 0 }
            a[j][j] = 1
        }
        guard var factor = Cholesky(a, n) else {
            for j in 0..<n { errors[j] = .infinity }
            return errors
        }
        for j in 0..<n {
            guard estimated[j] != 0 else {
                errors[j] = .infinity
                continue
            }
            var unit = FitParameters(repeating: 0)
            unit[j] = 1
            let column = factor.solve(unit, n)
            let value = variance * column[j]
            errors[j] = value >= 0 ? value.squareRoot() : .infinity
        }
        return errors
    }
}

/// A = L·Lᵀ of a small symmetric positive-definite matrix (lanes 0..<n).
private struct Cholesky {
    var lower = InlineArray<8, FitParameters>(repeating: FitParameters(repeating: 0))

    init?(_ a: InlineArray<8, FitParameters>, _ n: Int) {
        for i in 0..<n {
            var row = FitParameters(repeating: 0)
            for j in 0...i {
                var sum = a[i][j]
                if j == i {
                    for k in 0..<j { sum -= row[k] * row[k] }
                } else {
                    for k in 0..<j { sum -= row[k] * lower[j][k] }
                }
                if i == j {
                    guard sum > 0, sum.isFinite else { return nil }
                    row[j] = sum.squareRoot()
                } else {
                    row[j] = sum / lower[j][j]
                }
            }
            lower[i] = row
        }
    }

    /// x with L·Lᵀ·x = b.
    mutating func solve(_ b: FitParameters, _ n: Int) -> FitParameters {
        var y = FitParameters(repeating: 0)
        for i in 0..<n {
            var sum = b[i]
            for k in 0..<i { sum -= lower[i][k] * y[k] }
            y[i] = sum / lower[i][i]
        }
        var x = FitParameters(repeating: 0)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var sum = y[i]
            for k in (i + 1)..<max(i + 1, n) { sum -= lower[k][i] * x[k] }
            x[i] = sum / lower[i][i]
        }
        return x
    }
}
