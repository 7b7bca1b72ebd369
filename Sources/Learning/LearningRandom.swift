#if canImport(Glibc)
import Glibc
#endif

/// The Learning module's own seeded generator: xoshiro256** (Blackman & Vigna, "Scrambled linear
/// pseudorandom number generators", 2018), its state filled from the seed by SplitMix64 as the
/// authors recommend. Everything random in training, cross-validation and MC dropout draws from
/// one of these, so a seed gives the same model and the same uncertainty on every machine.
public struct LearningRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64
    private var s1: UInt64
    private var s2: UInt64
    private var s3: UInt64

    public init(seed: UInt64) {
        var splitMix = seed
        func nextSplitMix() -> UInt64 {
            splitMix &+= 0x9E37_79B9_7F4A_7C15
            var z = splitMix
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = nextSplitMix()
        s1 = nextSplitMix()
        s2 = nextSplitMix()
        s3 = nextSplitMix()
    }

    /// A generator for a sub-task (one fold, one ensemble member, one pass block) that does not
    /// depend on how much the parent has drawn.
    public static func derived(seed: UInt64, stream: UInt64) -> LearningRandom {
        LearningRandom(seed: seed ^ (stream &* 0xD1B5_4A32_D192_ED03) &+ 0x2545_F491_4F6C_DD1D)
    }

    /// xoshiro256**: one 64-bit draw.
    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// Uniform in [0, 1) with 24 random bits (every value exactly representable as a Float).
    @inline(__always)
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * 0x1.0p-24
    }

    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    public mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// Standard normal (mean 0, variance 1) by the Box-Muller transform (Box & Muller 1958):
    /// √(−2 ln u₁)·cos(2π u₂), u₁ in (0, 1], u₂ in [0, 1). One value per two uniform draws.
    public mutating func nextGaussian() -> Double {
        let u1 = 1 - nextUnitDouble()
        let u2 = nextUnitDouble()
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    /// Uniform integer in 0..<bound without modulo bias (Lemire, "Fast random integer generation
    /// in an interval", 2019).
    public mutating func nextIndex(below bound: Int) -> Int {
        precondition(bound > 0, "empty range")
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold { product = next().multipliedFullWidth(by: range) }
        }
        return Int(product.high)
    }

    /// Fisher-Yates shuffle driven by this generator (the standard library's shuffle may change
    /// its algorithm between releases; this one never does).
    public mutating func shuffle<T>(_ values: inout [T]) {
        guard values.count > 1 else { return }
        for index in stride(from: values.count - 1, to: 0, by: -1) {
            values.swapAt(index, nextIndex(below: index + 1))
        }
    }
}
