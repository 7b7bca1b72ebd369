// The float kernels of training and inference: rows padded to multiples of 8 lanes so every
// inner loop is whole SIMD8<Float> vectors, accumulators kept in registers, zero inputs (ReLU
// zeros, dropped units) skipped. No fused multiply-add, so results are the same with or without
// FMA hardware.

@inline(__always)
func load8(_ pointer: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ value: SIMD8<Float>, _ pointer: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: SIMD8<Float>.self)
}

/// How a matrix product's output starts.
enum ProductStart {
    /// From zero.
    case zero
    /// From a bias row (the same for every output row).
    case bias(UnsafePointer<Float>)
    /// From what the output already holds (accumulate).
    case accumulate
}

/// C[i, :] = start + Σ_k A[i, k] · B[k, :] for `m` rows, `n` columns (a multiple of 8), optionally
/// followed by ReLU. A is read through strides (so Aᵀ needs no copy); B and C rows are
/// contiguous. `nonzero*` is scratch for `k` (offset, value) pairs: the nonzero entries of A's
/// row, gathered once and reused for every column block. Up to four 8-lane blocks are summed at
/// once so the additions of one block do not wait on each other.
@inline(__always)
func multiply(
    m: Int, k: Int, n: Int,
    a: UnsafePointer<Float>, aRowStride: Int, aColumnStride: Int,
    b: UnsafePointer<Float>, bRowStride: Int,
    c: UnsafeMutablePointer<Float>, cRowStride: Int,
    start: ProductStart, relu: Bool,
    nonzeroIndex: UnsafeMutablePointer<Int>, nonzeroValue: UnsafeMutablePointer<Float>
) {
    let blocks = n / 8
    for i in 0..<m {
        var count = 0
        let row = a + i * aRowStride
        for kk in 0..<k {
            // Branch-free: ReLU zeros fall in no pattern a branch predictor could learn.
            let value = row[kk * aColumnStride]
            nonzeroIndex[count] = kk * bRowStride
            nonzeroValue[count] = value
            count += value != 0 ? 1 : 0
        }
        let out = c + i * cRowStride
        var block = 0
        while block < blocks {
            let width = min(4, blocks - block)
            let base = 8 * block
            var s0 = initial(start, out, base)
            var s1 = width > 1 ? initial(start, out, base + 8) : SIMD8<Float>()
            var s2 = width > 2 ? initial(start, out, base + 16) : SIMD8<Float>()
            var s3 = width > 3 ? initial(start, out, base + 24) : SIMD8<Float>()
            let column = b + base
            switch width {
            case 4:
                for t in 0..<count {
                    let value = SIMD8<Float>(repeating: nonzeroValue[t])
                    let source = column + nonzeroIndex[t]
                    s0 += value * load8(source)
                    s1 += value * load8(source + 8)
                    s2 += value * load8(source + 16)
                    s3 += value * load8(source + 24)
                }
            case 3:
                for t in 0..<count {
                    let value = SIMD8<Float>(repeating: nonzeroValue[t])
                    let source = column + nonzeroIndex[t]
                    s0 += value * load8(source)
                    s1 += value * load8(source + 8)
                    s2 += value * load8(source + 16)
                }
            case 2:
                for t in 0..<count {
                    let value = SIMD8<Float>(repeating: nonzeroValue[t])
                    let source = column + nonzeroIndex[t]
                    s0 += value * load8(source)
                    s1 += value * load8(source + 8)
                }
            default:
                for t in 0..<count { s0 += SIMD8<Float>(repeating: nonzeroValue[t]) * load8(column + nonzeroIndex[t]) }
            }
            store8(relu ? rectified(s0) : s0, out + base)
            if width > 1 { store8(relu ? rectified(s1) : s1, out + base + 8) }
            if width > 2 { store8(relu ? rectified(s2) : s2, out + base + 16) }
            if width > 3 { store8(relu ? rectified(s3) : s3, out + base + 24) }
            block += width
        }
    }
}

@inline(__always)
private func initial(_ start: ProductStart, _ out: UnsafeMutablePointer<Float>, _ offset: Int) -> SIMD8<Float> {
    switch start {
    case .zero: return SIMD8<Float>()
    case .bias(let bias): return load8(bias + offset)
    case .accumulate: return load8(out + offset)
    }
}

/// max(x, 0) lane by lane.
@inline(__always)
func rectified(_ value: SIMD8<Float>) -> SIMD8<Float> {
    value.replacing(with: 0, where: value .< 0)
}

/// y[0..<count] += a · x[0..<count], `count` a multiple of 8.
@inline(__always)
func axpy8(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int) {
    for c in 0..<count / 8 { store8(load8(y + 8 * c) + a * load8(x + 8 * c), y + 8 * c) }
}
