import Foundation
import Testing
@testable import Learning

/// The gemmlowp / TFLite fixed-point primitives against their definitions.
struct FixedPointTests {
    @Test(arguments: [
        (0.5, Int32(1 << 30), Int32(0)), (0.25, Int32(1 << 30), Int32(-1)), (1.0, Int32(1 << 30), Int32(1)),
        (0.75, Int32(3 << 29), Int32(0)), (0.0, Int32(0), Int32(0)),
    ])
    func multipliersAreQ31WithAShift(real: Double, multiplier: Int32, shift: Int32) {
        let quantized = FixedPoint.quantizeMultiplier(real)
        #expect(quantized.multiplier == multiplier && quantized.shift == shift)
    }

    @Test func everyQuantizedMultiplierStandsForItsRealValue() {
        var random = LearningRandom(seed: 1)
        for _ in 0..<1000 {
            let real = Double(random.nextUnitFloat()) * 0.9 + 1e-6
            let (m, s) = FixedPoint.quantizeMultiplier(real)
            #expect(m >= 1 << 30)
            #expect(abs(Double(m) * pow(2, Double(s - 31)) - real) <= real * pow(2, -31))
        }
        // One shared shift: the largest keeps 31 bits, a smaller one keeps its ratio.
        let (multipliers, shift) = FixedPoint.quantizeMultipliers([0.3, 0.075, 0])
        #expect(shift == -1 && multipliers[0] == Int32((0.3 * pow(2, 32)).rounded()) && multipliers[1] == Int32((0.075 * pow(2, 32)).rounded()))
        #expect(multipliers[2] == 0)
    }

    /// The one-rounding ReLU requantization of the dedicated kernel against max(0, the
    /// two-rounding TFLite result), on the ties of both roundings and on random values.
    @Test(arguments: [0, 1, 2, 7, 12, 20, 31])
    func theReluRequantizationRoundsOnceAsTheTwoRoundingsDo(rightShift: Int) {
        var random = LearningRandom(seed: 90 + UInt64(rightShift))
        var cases: [(Int32, Int32)] = [(0, 1 << 30), (-1, Int32.max), (Int32.max, Int32.max), (Int32.min, Int32.max), (1, 1 << 30)]
        // x·M0 on each tie of the first rounding (2^30 mod 2^31) and of the second.
        cases.append((1 << 15, 1 << 15))
        cases.append((Int32(truncatingIfNeeded: (Int64(3) << 30) >> 16), 1 << 16))
        for _ in 0..<4000 {
            let x = Int32(truncatingIfNeeded: random.next() >> UInt64(random.next() % 33))
            let m = Int32(truncatingIfNeeded: random.next() >> 33)
            cases.append((x, m))
            cases.append((-x, m))
        }
        let rounding = SIMD2<UInt64>(repeating: reluRounding(rightShift: UInt64(rightShift)))
        let shift = SIMD2<UInt64>(repeating: 31 + UInt64(rightShift))
        for start in stride(from: 0, to: cases.count - 3, by: 4) {
            let x = SIMD4(cases[start].0, cases[start + 1].0, cases[start + 2].0, cases[start + 3].0)
            let m = SIMD4(cases[start].1, cases[start + 1].1, cases[start + 2].1, cases[start + 3].1)
            let once = reluRequantize(x, m, rounding: rounding, shift: shift)
            for lane in 0..<4 {
                let twice = FixedPoint.multiplyByQuantizedMultiplier(x[lane], m[lane], -Int32(rightShift))
                #expect(once[lane] == max(0, twice), "x \(x[lane]) M0 \(m[lane]) s \(rightShift)")
            }
        }
    }

    @Test func saturatingRoundingDoublingHighMulFollowsGemmlowp() {
        typealias F = FixedPoint
        #expect(F.saturatingRoundingDoublingHighMul(.min, .min) == .max)
        #expect(F.saturatingRoundingDoublingHighMul(1 << 30, 1 << 30) == 1 << 29)  // 0.5 · 0.5 = 0.25 in Q31
        // a·b = 2^30 is exactly half of 2^31: the nudge rounds it up, for either sign toward +∞.
        #expect(F.saturatingRoundingDoublingHighMul(1 << 15, 1 << 15) == 1)
        #expect(F.saturatingRoundingDoublingHighMul(-(1 << 15), 1 << 15) == 0)
        // 3·2^30 / 2^31 = 1.5 → 2; −1.5 → −1.
        #expect(F.saturatingRoundingDoublingHighMul(3 << 14, 1 << 16) == 2)
        #expect(F.saturatingRoundingDoublingHighMul(-(3 << 14), 1 << 16) == -1)
        #expect(F.saturatingRoundingDoublingHighMul(.max, .max) == Int32.max - 1)
    }

    @Test(arguments: [
        (Int32(5), Int32(1), Int32(3)), (Int32(-5), Int32(1), Int32(-3)), (Int32(4), Int32(1), Int32(2)),
        (Int32(-3), Int32(1), Int32(-2)), (Int32(7), Int32(2), Int32(2)), (Int32(-6), Int32(2), Int32(-2)),
        (Int32(-5), Int32(2), Int32(-1)), (Int32(9), Int32(0), Int32(9)), (Int32.max, Int32(31), Int32(1)),
        (Int32.min, Int32(31), Int32(-1)),
    ])
    func roundingDivideByPowerOfTwoRoundsHalfAwayFromZero(x: Int32, exponent: Int32, expected: Int32) {
        #expect(FixedPoint.roundingDivideByPowerOfTwo(x, exponent) == expected)
    }

    @Test func theVectorRequantizationEqualsTheScalarOneBitForBit() {
        var random = LearningRandom(seed: 2)
        let edges: [Int32] = [0, 1, -1, .max, .min, .min + 1, 1 << 20, -(1 << 20), 12_345, -12_345]
        for trial in 0..<20_000 {
            let shift = -Int32(random.nextIndex(below: 20))
            var x = SIMD4<Int32>()
            var m = SIMD4<Int32>()
            for lane in 0..<4 {
                x[lane] = trial < 250 ? edges[(trial + lane) % edges.count] : Int32(truncatingIfNeeded: random.next() >> UInt64(random.nextIndex(below: 40)))
                m[lane] = lane == 3 && trial % 7 == 0 ? 0 : Int32(truncatingIfNeeded: random.next() >> 33) | (trial % 3 == 0 ? 1 << 30 : 0)
            }
            let vector = FixedPoint.multiplyByQuantizedMultiplier(x, m, rightShift: -shift)
            for lane in 0..<4 {
                #expect(vector[lane] == FixedPoint.multiplyByQuantizedMultiplier(x[lane], m[lane], shift))
            }
        }
    }
}
