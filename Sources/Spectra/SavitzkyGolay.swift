/// A Savitzky-Golay filter: at each pixel, the least-squares polynomial of degree `order` through
/// the `2·halfWidth + 1` pixels around it, evaluated (or differentiated `derivative` times) there
/// (A. Savitzky and M. J. E. Golay, Anal. Chem. 36, 1627 (1964)).
///
/// The coefficients are computed, not tabulated: for window offsets t = −m..m (scaled to
/// u = t/m so the normal matrix stays well conditioned) and the Vandermonde matrix V[t][j] = u^j,
/// the weights that give the d-th derivative at offset t0 are c = V (VᵀV)⁻¹ w with
/// w_j = j!/(j−d)! · u0^(j−d) / m^d. For t0 = 0 these are the classic tables (5 points, quadratic:
/// (−3, 12, 17, 12, −3)/35); the first and last m pixels use the same window shifted inwards and
/// evaluated off-centre, so no pixel is padded or dropped. Derivatives are per pixel (per pixel²
/// for the second).
public struct SavitzkyGolayFilter: Sendable, Equatable {
    /// Pixels on each side of the centre: the window is 2·halfWidth + 1 pixels.
    public let halfWidth: Int
    /// Degree of the fitted polynomial.
    public let order: Int
    /// 0 smooths, 1 gives the first derivative, 2 the second.
    public let derivative: Int
    /// Coefficients for every evaluation offset t0 = −m..m, row-major: row t0 + m holds the
    /// 2m + 1 weights of the window's pixels, left to right.
    private let table: [Double]

    /// A filter; needs 0 ≤ derivative ≤ order < 2·halfWidth + 1.
    public init(halfWidth: Int, order: Int, derivative: Int = 0) {
        precondition(halfWidth >= 1 && order >= 0 && derivative >= 0 && derivative <= order && order < 2 * halfWidth + 1,
            "Savitzky-Golay needs 0 <= derivative <= order < window")
        self.halfWidth = halfWidth
        self.order = order
        self.derivative = derivative
        var table: [Double] = []
        table.reserveCapacity((2 * halfWidth + 1) * (2 * halfWidth + 1))
        for offset in -halfWidth...halfWidth {
            table += Self.coefficients(halfWidth: halfWidth, order: order, derivative: derivative, at: offset)
        }
        self.table = table
    }

    /// Number of pixels in the window.
    public var window: Int { 2 * halfWidth + 1 }

    /// The weights for the window's centre pixel (the classic convolution coefficients).
    public var centreCoefficients: ArraySlice<Double> { coefficients(atOffset: 0) }

    /// The weights that give the filtered value at window offset `offset` (−m..m).
    public func coefficients(atOffset offset: Int) -> ArraySlice<Double> {
        let row = (offset + halfWidth) * window
        return table[row..<(row + window)]
    }

    /// √(Σ c²) of the centre weights: the factor by which the filter scales white noise.
    public var noiseGain: Double {
        var sum = 0.0
        for c in centreCoefficients { sum += c * c }
        return sum.squareRoot()
    }

    /// The least-squares weights for window offsets −m..m that give the `derivative`-th derivative
    /// of the degree-`order` polynomial fit at offset `offset`.
    public static func coefficients(halfWidth m: Int, order k: Int, derivative d: Int, at offset: Int) -> [Double] {
        precondition(m >= 1 && k >= 0 && d >= 0 && d <= k && k < 2 * m + 1 && abs(offset) <= m)
        let n = k + 1
        let scale = Double(m)
        // Normal matrix (VᵀV)[i][j] = Σ u^(i+j).
        var power = [Double](repeating: 0, count: 2 * k + 1)
        for t in -m...m {
            let u = Double(t) / scale
            var p = 1.0
            for e in 0...(2 * k) {
                power[e] += p
                p *= u
            }
        }
        var matrix = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { matrix[i * n + j] = power[i + j] } }
        // Right-hand side: d^d/dt^d of u^j at u0, with du/dt = 1/m.
        let u0 = Double(offset) / scale
        var rhs = [Double](repeating: 0, count: n)
        for j in d..<n {
            var falling = 1.0
            for f in 0..<d { falling *= Double(j - f) }
            var p = 1.0
            for _ in 0..<(j - d) { p *= u0 }
            var mPower = 1.0
            for _ in 0..<d { mPower *= scale }
            rhs[j] = falling * p / mPower
        }
        let z = solveSymmetric(matrix, rhs, n)
        var weights = [Double](repeating: 0, count: 2 * m + 1)
        for t in -m...m {
            let u = Double(t) / scale
            var p = 1.0
            var sum = 0.0
            for j in 0..<n {
                sum += z[j] * p
                p *= u
            }
            weights[t + m] = sum
        }
        return weights
    }

    /// Gaussian elimination with partial pivoting on a small dense system.
    private static func solveSymmetric(_ a: [Double], _ b: [Double], _ n: Int) -> [Double] {
        var a = a
        var b = b
        for column in 0..<n {
            var pivot = column
            for row in (column + 1)..<max(column + 1, n) where abs(a[row * n + column]) > abs(a[pivot * n + column]) {
                pivot = row
            }
            if pivot != column {
                for j in 0..<n { a.swapAt(column * n + j, pivot * n + j) }
                b.swapAt(column, pivot)
            }
            let diagonal = a[column * n + column]
            precondition(diagonal != 0, "Savitzky-Golay normal matrix is singular")
            for row in (column + 1)..<max(column + 1, n) {
                let factor = a[row * n + column] / diagonal
                if factor == 0 { continue }
                for j in column..<n { a[row * n + j] -= factor * a[column * n + j] }
                b[row] -= factor * b[column]
            }
        }
        var x = [Double](repeating: 0, count: n)
        for row in stride(from: n - 1, through: 0, by: -1) {
            var sum = b[row]
            for j in (row + 1)..<max(row + 1, n) { sum -= a[row * n + j] * x[j] }
            x[row] = sum / a[row * n + row]
        }
        return x
    }

    /// Filters `input` into `output` (same length, at least one window; no allocation). Pixels
    /// within `halfWidth` of either end use the end window evaluated off-centre.
    public func apply(_ input: UnsafeBufferPointer<Double>, to output: UnsafeMutableBufferPointer<Double>) {
        let count = input.count
        precondition(output.count == count && count >= window, "Savitzky-Golay needs input and output of one length, at least one window")
        apply(input, to: output, pixels: 0..<count)
    }

    /// Filters only `pixels` of `input` into the same pixels of `output`.
    public func apply(_ input: UnsafeBufferPointer<Double>, to output: UnsafeMutableBufferPointer<Double>, pixels: Range<Int>) {
        let count = input.count
        precondition(output.count == count && count >= window && pixels.lowerBound >= 0 && pixels.upperBound <= count)
        let m = halfWidth
        let w = window
        // Pixels whose window fits: one weight at a time across all of them (a multiply-add over
        // contiguous memory, which vectorizes, with no long chain of dependent additions).
        let inner = max(pixels.lowerBound, m)..<max(max(pixels.lowerBound, m), min(pixels.upperBound, count - m))
        table.withUnsafeBufferPointer { table in
            let centre = table.baseAddress! + m * w
            if !inner.isEmpty {
                let out = output.baseAddress! + inner.lowerBound
                let length = inner.count
                for i in 0..<length { out[i] = 0 }
                for j in 0..<w {
                    let weight = centre[j]
                    let source = input.baseAddress! + (inner.lowerBound - m + j)
                    for i in 0..<length { out[i] += weight * source[i] }
                }
            }
            // The first and last m pixels: the end window, evaluated off-centre.
            for pixel in pixels where !inner.contains(pixel) {
                let start = pixel < m ? 0 : count - w
                let weights = table.baseAddress! + (pixel - start) * w
                let values = input.baseAddress! + start
                var sum = 0.0
                for j in 0..<w { sum += weights[j] * values[j] }
                output[pixel] = sum
            }
        }
    }
}
