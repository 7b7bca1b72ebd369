import Foundation
import Testing
@testable import Spectra

/// Levenberg-Marquardt on problems whose minimum is known in closed form.
struct LevenbergMarquardtTests {
    /// Residuals given as closures over plain arrays, for small test problems.
    struct Problem: LeastSquaresProblem {
        var parameterCount: Int
        var residualCount: Int
        /// (index, parameters) -> (y − f, ∂f/∂p)
        var evaluate: (Int, FitParameters) -> (Double, FitParameters)

        func evaluate(_ parameters: FitParameters, _ body: (Double, FitParameters) -> Void) {
            for index in 0..<residualCount {
                let (r, g) = evaluate(index, parameters)
                body(r, g)
            }
        }

    }

    static func parameters(_ values: Double...) -> FitParameters {
        var p = FitParameters(repeating: 0)
        for (i, v) in values.enumerated() { p[i] = v }
        return p
    }

    /// Rosenbrock's valley as least squares: r = (10(y − x²), 1 − x), minimum 0 at (1, 1), from the
    /// classic start (−1.2, 1).
    @Test func rosenbrockReachesItsMinimum() {
        let problem = Problem(parameterCount: 2, residualCount: 2) { i, p in
            // y_i = 0, f = −r: f0 = −10(p1 − p0²), f1 = p0 − 1.
            i == 0 ? (10 * (p[1] - p[0] * p[0]), Self.parameters(20 * p[0], -10)) : (1 - p[0], Self.parameters(1, 0))
        }
        let solution = LevenbergMarquardt().minimize(problem, from: Self.parameters(-1.2, 1))
        #expect(solution.outcome.converged)
        #expect(abs(solution.parameters[0] - 1) < 1e-8 && abs(solution.parameters[1] - 1) < 1e-8)
        #expect(solution.cost < 1e-20)
    }

    /// A straight line and a parabola through noisy points: the least-squares solution and the
    /// slope's standard error are those of the normal equations, computed here directly.
    @Test func linearLeastSquaresMatchesTheNormalEquations() {
        let xs = (0..<40).map { Double($0) * 0.25 }
        var generator = SeededGenerator(seed: 11)
        let ys = xs.map { 1.5 - 0.8 * $0 + 0.05 * $0 * $0 + 0.1 * generator.gaussian() }
        let problem = Problem(parameterCount: 3, residualCount: xs.count) { i, p in
            let x = xs[i]
            return (ys[i] - (p[0] + p[1] * x + p[2] * x * x), Self.parameters(1, x, x * x))
        }
        let solution = LevenbergMarquardt().minimize(problem, from: Self.parameters(0, 0, 0))
        #expect(solution.outcome.converged)
        // Normal equations by Cramer's rule.
        var m = [[Double]](repeating: [0, 0, 0], count: 3)
        var b = [0.0, 0, 0]
        for (x, y) in zip(xs, ys) {
            let row = [1, x, x * x]
            for i in 0..<3 {
                for j in 0..<3 { m[i][j] += row[i] * row[j] }
                b[i] += row[i] * y
            }
        }
        func determinant(_ a: [[Double]]) -> Double {
            a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1]) - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
                + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0])
        }
        let d = determinant(m)
        for k in 0..<3 {
            var replaced = m
            for i in 0..<3 { replaced[i][k] = b[i] }
            let expected = determinant(replaced) / d
            #expect(abs(solution.parameters[k] - expected) < 1e-9 * max(1, abs(expected)), "parameter \(k)")
        }
        // se(p1) = √(s² · [M⁻¹]11), [M⁻¹]11 = cofactor11 / det.
        let cofactor = m[0][0] * m[2][2] - m[0][2] * m[2][0]
        let variance = solution.cost / Double(xs.count - 3)
        #expect(abs(solution.standardErrors[1] - (variance * cofactor / d).squareRoot()) < 1e-9)
    }

    /// y = 5·exp(−0.7 t) + 1 from exact data, from a poor start.
    @Test func exponentialDecayIsRecoveredExactly() {
        let ts = (0..<50).map { Double($0) * 0.2 }
        let problem = Problem(parameterCount: 3, residualCount: ts.count) { i, p in
            let t = ts[i]
            let e = exp(-p[1] * t)
            return (5 * exp(-0.7 * t) + 1 - (p[0] * e + p[2]), Self.parameters(e, -p[0] * t * e, 1))
        }
        let solution = LevenbergMarquardt().minimize(problem, from: Self.parameters(1, 2, 0))
        #expect(solution.outcome.converged)
        #expect(abs(solution.parameters[0] - 5) < 1e-8 && abs(solution.parameters[1] - 0.7) < 1e-9 && abs(solution.parameters[2] - 1) < 1e-8)
    }

    /// A minimum outside the box: the solution sits on the bound, and the other parameter is
    /// still minimized.
    @Test func aBoundHoldsTheSolution() {
        // (p0 − 3)² + (p1 + 1)², p0 ≤ 2.
        let problem = Problem(parameterCount: 2, residualCount: 2) { i, p in
            i == 0 ? (3 - p[0], Self.parameters(1, 0)) : (-1 - p[1], Self.parameters(0, 1))
        }
        var upper = FitParameters(repeating: .infinity)
        upper[0] = 2
        let solution = LevenbergMarquardt().minimize(problem, from: Self.parameters(0, 5), upper: upper)
        #expect(solution.outcome.converged)
        #expect(solution.parameters[0] == 2)
        #expect(abs(solution.parameters[1] + 1) < 1e-8)
        #expect(abs(solution.cost - 1) < 1e-12)
        #expect(solution.standardErrors[0] == .infinity)  // held on its bound, not estimated
    }

    @Test func aResidualThatBecomesNaNIsDivergence() {
        let problem = Problem(parameterCount: 1, residualCount: 1) { _, p in (.nan, Self.parameters(p[0])) }
        let solution = LevenbergMarquardt().minimize(problem, from: Self.parameters(1))
        #expect(solution.outcome == .diverged)
        #expect(!solution.outcome.converged)
    }

    @Test func theIterationLimitIsReported() {
        let problem = Problem(parameterCount: 2, residualCount: 2) { i, p in
            i == 0 ? (10 * (p[1] - p[0] * p[0]), Self.parameters(20 * p[0], -10)) : (1 - p[0], Self.parameters(1, 0))
        }
        let solution = LevenbergMarquardt(maximumIterations: 2).minimize(problem, from: Self.parameters(-1.2, 1))
        #expect(solution.outcome == .iterationLimit)
        #expect(solution.iterations == 2)
    }

    /// The analytic gradients of the peak models agree with central finite differences.
    @Test func peakModelGradientsMatchFiniteDifferences() {
        let energies = (0..<60).map { 2.0 + Double($0) * 0.01 }
        let values = energies.map { 0.3 * exp(-0.5 * pow(($0 - 2.3) / 0.07, 2)) }
        energies.withUnsafeBufferPointer { e in
            values.withUnsafeBufferPointer { v in
                let window = FitWindow(energies: e, values: v)
                let exciton = HalfGaussianModel(window: window, baselineTerms: 2, referenceEnergy: 2.3)
                checkGradient(exciton, at: Self.parameters(0.25, 2.31, 0.06, 0.02, -0.1))
                let shoulder = HalfGaussianModel(window: window, baselineTerms: 2, onsetTail: true, referenceEnergy: 2.3)
                checkGradient(shoulder, at: Self.parameters(0.25, 2.31, 0.06, 0.02, -0.1, 0.05, 0.12))
                let emission = EmissionModel(window: window)
                checkGradient(emission, at: Self.parameters(1000, 2.35, 0.05, 300, 2.0, 0.2, 15))
            }
        }
    }

    private func checkGradient<P: LeastSquaresProblem>(_ problem: P, at p: FitParameters) {
        func residuals(_ q: FitParameters) -> (values: [Double], gradients: [FitParameters]) {
            var values: [Double] = []
            var gradients: [FitParameters] = []
            problem.evaluate(q) { r, g in
                values.append(r)
                gradients.append(g)
            }
            return (values, gradients)
        }
        let (_, analytic) = residuals(p)
        #expect(analytic.count == problem.residualCount)
        for j in 0..<problem.parameterCount {
            let h = 1e-6 * max(abs(p[j]), 1e-3)
            var up = p
            var down = p
            up[j] += h
            down[j] -= h
            let (above, _) = residuals(up)
            let (below, _) = residuals(down)
            for i in stride(from: 0, to: problem.residualCount, by: 7) {
                // r = y − f, so ∂f/∂p = −∂r/∂p.
                let numeric = -(above[i] - below[i]) / (2 * h)
                #expect(abs(analytic[i][j] - numeric) <= 1e-5 * max(1, abs(numeric)), "point \(i), parameter \(j)")
            }
        }
    }
}
