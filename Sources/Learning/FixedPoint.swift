#if canImport(Glibc)
import Glibc
#endif

/// Fixed-point requantization as gemmlowp and TensorFlow Lite's reference kernels do it
/// (gemmlowp fixedpoint.h; TFLite `QuantizeMultiplier`, `MultiplyByQuantizedMultiplier`): a
/// real multiplier M is held as a Q31 integer M0 ∈ [2^30, 2^31) and a power-of-two shift with
/// M ≈ M0 · 2^(shift−31); an int32 accumulator is scaled by a rounding doubling high multiply
/// (nearest, ties toward +∞: gemmlowp's nudge of 2^30 or 1−2^30) followed by a rounding right
/// shift (nearest, ties away from zero). Two roundings, exactly as those references, so results
/// match them bit for bit.
public enum FixedPoint {
    /// TFLite `QuantizeMultiplier`: M = fraction · 2^exponent (frexp, fraction ∈ [0.5, 1)), M0 =
    /// round(fraction · 2^31) (half away from zero), renormalized if it rounds up to 2^31; a
    /// multiplier too small for a 31-bit right shift becomes 0.
    public static func quantizeMultiplier(_ real: Double) -> (multiplier: Int32, shift: Int32) {
        precondition(real >= 0 && real.isFinite, "a multiplier is finite and not negative")
        if real == 0 { return (0, 0) }
        var exponent: Int32 = 0
        let fraction = frexp(real, &exponent)
        var fixed = Int64((fraction * 2_147_483_648).rounded(.toNearestOrAwayFromZero))
        if fixed == 2_147_483_648 {
            fixed /= 2
            exponent += 1
        }
        if exponent < -31 { return (0, 0) }
        precondition(exponent <= 30, "multiplier \(real) is too large for a 32-bit accumulator")
        return (Int32(fixed), exponent)
    }

    /// gemmlowp `SaturatingRoundingDoublingHighMul`: a·b / 2^31 rounded to nearest (the nudge makes
    /// ties go toward +∞), the quotient truncated toward zero as C does; the one overflowing case
    /// (a = b = −2^31) saturates to 2^31 − 1.
    @inline(__always)
    public static func saturatingRoundingDoublingHighMul(_ a: Int32, _ b: Int32) -> Int32 {
        if a == b && a == .min { return .max }
        let product = Int64(a) * Int64(b)
        let nudge: Int64 = product >= 0 ? 1 << 30 : 1 - (1 << 30)
        return Int32(truncatingIfNeeded: (product + nudge) / (1 << 31))
    }

    /// gemmlowp `RoundingDivideByPOT`: x / 2^exponent rounded half away from zero, exponent in 0...31.
    @inline(__always)
    public static func roundingDivideByPowerOfTwo(_ x: Int32, _ exponent: Int32) -> Int32 {
        let mask = (Int32(1) &<< exponent) &- 1
        let remainder = x & mask
        let threshold = (mask >> 1) &+ (x < 0 ? 1 : 0)
        return (x >> exponent) &+ (remainder > threshold ? 1 : 0)
    }

    /// Q31 multipliers for several channels sharing one shift: the shift of the largest (as
    /// `quantizeMultiplier`), each M0 = round(M · 2^(31−shift)) (half away from zero).
    public static func quantizeMultipliers(_ reals: [Double]) -> (multipliers: [Int32], shift: Int32) {
        precondition(reals.allSatisfy { $0 >= 0 && $0.isFinite }, "multipliers are finite and not negative")
        guard let largest = reals.max(), largest > 0 else { return (reals.map { _ in 0 }, 0) }
        var shift = quantizeMultiplier(largest).shift
        while true {
            let factor = scalbn(1.0, Int32(31) - shift)
            let fixed = reals.map { Int64(($0 * factor).rounded(.toNearestOrAwayFromZero)) }
            if fixed.allSatisfy({ $0 < 2_147_483_648 }) { return (fixed.map { Int32($0) }, shift) }
            shift += 1
        }
    }

    /// `multiplyByQuantizedMultiplier` on four lanes with one shift ≤ 0 (all the network needs),
    /// M0 ≥ 0: the same two roundings, through unsigned 32×32→64-bit products of the magnitudes
    /// (pmuludq on SSE2, umull on NEON) with the nudge chosen by sign so ties still go toward +∞.
    /// Written with bit operations only (no lane shuffles): the even lanes are the low halves of
    /// the 64-bit view, the odd lanes its high halves.
    @_transparent
    public static func multiplyByQuantizedMultiplier(_ x: SIMD4<Int32>, _ multiplier: SIMD4<Int32>, rightShift: Int32)
        -> SIMD4<Int32>
    {
        assert(rightShift >= 0 && rightShift <= 31, "a right shift of 0...31")
        let signs = x &>> 31  // −1 where negative
        let magnitude = (x ^ signs) &- signs
        let low = SIMD2<UInt64>(repeating: 0xFFFF_FFFF)
        let m = unsafeBitCast(multiplier, to: SIMD2<UInt64>.self)
        let a = unsafeBitCast(magnitude, to: SIMD2<UInt64>.self)
        let s = unsafeBitCast(signs, to: SIMD2<UInt64>.self)
        let nudge = SIMD2<UInt64>(repeating: 1 << 30)
        let even = ((a & low) &* (m & low) &+ (nudge &- (s & 1))) &>> 31
        let odd = ((a &>> 32) &* (m &>> 32) &+ (nudge &- ((s &>> 32) & 1))) &>> 31
        let high = unsafeBitCast(even | (odd &<< 32), to: SIMD4<Int32>.self)
        let product = (high ^ signs) &- signs
        // RoundingDivideByPOT on the lanes.
        let mask = SIMD4<Int32>(repeating: (Int32(1) &<< rightShift) &- 1)
        let remainder = product & mask
        let threshold = (mask &>> 1) &- (product &>> 31)
        let roundUp = unsafeBitCast(remainder .> threshold, to: SIMD4<Int32>.self)  // −1 where true
        return (product &>> SIMD4(repeating: rightShift)) &- roundUp
    }

    /// TFLite `MultiplyByQuantizedMultiplier`: x · M0 · 2^(shift−31) with the two roundings above.
    /// A positive shift is applied first as a left shift (saturating here, where C++ overflows).
    @inline(__always)
    public static func multiplyByQuantizedMultiplier(_ x: Int32, _ multiplier: Int32, _ shift: Int32) -> Int32 {
        let left = shift > 0 ? shift : 0
        let right = shift > 0 ? 0 : -shift
        let shifted = Int32(clamping: Int64(x) << Int64(left))
        return roundingDivideByPowerOfTwo(saturatingRoundingDoublingHighMul(shifted, multiplier), right)
    }
}
