import Foundation
import Testing
@testable import Spectra

/// Savitzky-Golay coefficients against their closed forms and the published tables.
struct SavitzkyGolayTests {
    /// Savitzky and Golay (1964) tables (with Steinier et al.'s corrections), integer weights / norm.
    @Test(arguments: [
        (2, 2, 0, [-3.0, 12, 17, 12, -3], 35.0),
        (3, 2, 0, [-2.0, 3, 6, 7, 6, 3, -2], 21.0),
        (4, 2, 0, [-21.0, 14, 39, 54, 59, 54, 39, 14, -21], 231.0),
        (2, 3, 0, [-3.0, 12, 17, 12, -3], 35.0),
        (3, 4, 0, [5.0, -30, 75, 131, 75, -30, 5], 231.0),
        (2, 2, 1, [-2.0, -1, 0, 1, 2], 10.0),
        (3, 2, 1, [-3.0, -2, -1, 0, 1, 2, 3], 28.0),
        (2, 2, 2, [2.0, -1, -2, -1, 2], 7.0),
        (3, 2, 2, [5.0, 0, -3, -4, -3, 0, 5], 42.0),
        (3, 4, 2, [-13.0, 67, -19, -70, -19, 67, -13], 132.0),
    ])
    func centreWeightsMatchTheTables(halfWidth: Int, order: Int, derivative: Int, weights: [Double], norm: Double) {
        let filter = SavitzkyGolayFilter(halfWidth: halfWidth, order: order, derivative: derivative)
        let computed = Array(filter.centreCoefficients)
        #expect(computed.count == weights.count)
        for (c, w) in zip(computed, weights) {
            #expect(abs(c - w / norm) < 1e-12, "\(computed) vs \(weights.map { $0 / norm })")
        }
    }

    /// Quadratic smoothing: c_t = 3(3m² + 3m − 1 − 5t²) / ((2m − 1)(2m + 1)(2m + 3)); second
    /// derivative: c_t = 30(3t² − m(m + 1)) / (m(m + 1)(2m − 1)(2m + 1)(2m + 3)).
    @Test(arguments: 2...30)
    func quadraticWeightsMatchTheClosedForm(m: Int) {
        let smooth = SavitzkyGolayFilter(halfWidth: m, order: 2)
        let curvature = SavitzkyGolayFilter(halfWidth: m, order: 2, derivative: 2)
        let md = Double(m)
        let denominator = (2 * md - 1) * (2 * md + 1) * (2 * md + 3)
        for t in -m...m {
            let td = Double(t)
            let expectedSmooth = 3 * (3 * md * md + 3 * md - 1 - 5 * td * td) / denominator
            let expectedCurvature = 30 * (3 * td * td - md * (md + 1)) / (md * (md + 1) * denominator)
            #expect(abs(smooth.centreCoefficients[smooth.centreCoefficients.startIndex + t + m] - expectedSmooth) < 1e-13)
            #expect(abs(curvature.centreCoefficients[curvature.centreCoefficients.startIndex + t + m] - expectedCurvature) < 1e-13)
        }
        // A least-squares projection's centre weight is its own Σc².
        #expect(abs(smooth.noiseGain - expectedCentre(m).squareRoot()) < 1e-13)
    }

    private func expectedCentre(_ m: Int) -> Double {
        let md = Double(m)
        return 3 * (3 * md * md + 3 * md - 1) / ((2 * md - 1) * (2 * md + 1) * (2 * md + 3))
    }

    /// A filter of order k reproduces every polynomial of degree ≤ k exactly, at every pixel,
    /// including the off-centre windows at both ends; derivatives too.
    @Test(arguments: [(10, 3, 0), (20, 4, 0), (20, 4, 1), (20, 4, 2), (7, 2, 2)])
    func polynomialsComeThroughExactly(halfWidth: Int, order: Int, derivative: Int) {
        let filter = SavitzkyGolayFilter(halfWidth: halfWidth, order: order, derivative: derivative)
        let count = 120
        let coefficients = [0.7, -0.3, 0.05, -0.002, 0.00003].prefix(order + 1)
        func value(_ x: Double, derivative d: Int) -> Double {
            var sum = 0.0
            for (power, c) in coefficients.enumerated() where power >= d {
                var falling = 1.0
                for f in 0..<d { falling *= Double(power - f) }
                sum += c * falling * pow(x, Double(power - d))
            }
            return sum
        }
        let input = (0..<count).map { value(Double($0) - 60, derivative: 0) }
        var output = [Double](repeating: .nan, count: count)
        input.withUnsafeBufferPointer { i in output.withUnsafeMutableBufferPointer { o in filter.apply(i, to: o) } }
        for pixel in 0..<count {
            let expected = value(Double(pixel) - 60, derivative: derivative)
            #expect(abs(output[pixel] - expected) < 1e-7 * max(1, abs(expected)), "pixel \(pixel)")
        }
    }

    /// The smoothing the analysis uses keeps the narrowest exciton's shape: a 20 nm FWHM Gaussian on
    /// the rig's absorbance axis keeps its height to 0.1 % and its half-maximum width to a pixel.
    @Test func defaultSmoothingKeepsANarrowExciton() throws {
        let axis = try RigData.uvAxis()
        let analyzer = try SpectrumAnalyzer(axis: axis)
        let filter = analyzer.absorbanceStage.smoother
        #expect(filter.window == 21 && filter.order == 3)
        let sigma = 20 / (2 * (2 * log(2.0)).squareRoot())
        let input = axis.nanometres.map { exp(-0.5 * pow(($0 - 500) / sigma, 2)) }
        var output = [Double](repeating: 0, count: input.count)
        input.withUnsafeBufferPointer { i in output.withUnsafeMutableBufferPointer { o in filter.apply(i, to: o) } }
        let top = output.max()!
        #expect(abs(top - input.max()!) < 1e-3)
        let above = { (values: [Double], level: Double) in values.filter { $0 >= level }.count }
        #expect(abs(above(output, top / 2) - above(input, input.max()! / 2)) <= 1)
    }
}
