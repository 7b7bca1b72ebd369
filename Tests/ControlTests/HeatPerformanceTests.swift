import Foundation
import Testing
@testable import Control

struct HeatPerformanceTests {
    /// A second-order underdamped step from 25 to 240 °C (ζ, ωn known), an injection drop at
    /// 600 s recovering exponentially: every metric has a closed form to compare with.
    static func series(zeta: Double, omega: Double, drop: Double, tau: Double) -> [HeatPerformance.Sample] {
        let wd = omega * (1 - zeta * zeta).squareRoot()
        return stride(from: 0.0, through: 900, by: 0.1).map { t in
            var value = 240 - 215 * exp(-zeta * omega * t) * (cos(wd * t) + zeta * omega / wd * sin(wd * t))
            if t >= 600 { value -= drop * exp(-(t - 600) / tau) }
            return HeatPerformance.Sample(seconds: t, celsius: value)
        }
    }

    @Test func matchesTheClosedFormOfAnUnderdampedStep() throws {
        let zeta = 0.6, omega = 0.05
        let result = HeatPerformance.analyse(
            Self.series(zeta: zeta, omega: omega, drop: 50, tau: 10), setpoint: 240, injectionAt: 600)
        // Peak overshoot of a second-order step: exp(−ζπ/√(1−ζ²)) of the step.
        let overshoot = 215 * exp(-zeta * Double.pi / (1 - zeta * zeta).squareRoot())
        #expect(abs(result.overshootCelsius - overshoot) < 0.01)
        // The drop recovers to within 1 °C when 50·e^(−t/10) = 1: t = 10·ln 50.
        let recovery = try #require(result.injectionRecoverySeconds)
        #expect(abs(recovery - 10 * log(50)) < 0.11)
        #expect(abs(try #require(result.injectionDropCelsius) - 50) < 0.01)
        // Settled (±0.5 °C) once the envelope 215·e^(−ζωt)/√(1−ζ²) is inside the band, at the latest.
        let envelope = log(215 / (0.5 * (1 - zeta * zeta).squareRoot())) / (zeta * omega)
        let settling = try #require(result.settlingSeconds)
        #expect(settling <= envelope)
        #expect(settling > envelope * 0.7)
        #expect(try #require(result.maxSettledErrorCelsius) <= 0.5)
        #expect(try #require(result.riseSeconds) > 0)
    }

    @Test func aRunThatNeverSettlesOrRecoversSaysSo() {
        let samples = (0...100).map { HeatPerformance.Sample(seconds: Double($0), celsius: 25 + Double($0)) }
        let result = HeatPerformance.analyse(samples, setpoint: 240, injectionAt: 50)
        #expect(result.riseSeconds == nil)
        #expect(result.settlingSeconds == nil)
        #expect(result.steadyErrorCelsius == nil)
        #expect(result.injectionRecoverySeconds == nil)
        #expect(result.overshootCelsius == 0)
    }

    @Test func noInjectionMeansNoDropNumbers() {
        let samples = [HeatPerformance.Sample(seconds: 0, celsius: 25)]
            + (1...10).map { HeatPerformance.Sample(seconds: Double($0), celsius: 240.2) }
        let result = HeatPerformance.analyse(samples, setpoint: 240, injectionAt: nil)
        #expect(result.injectionDropCelsius == nil)
        #expect(result.injectionRecoverySeconds == nil)
        #expect(result.settlingSeconds == 1)
        #expect(result.riseSeconds == 1)
        #expect(abs((result.steadyErrorCelsius ?? 0) - 0.2) < 1e-9)
        #expect(abs(result.overshootCelsius - 0.2) < 1e-9)
    }
}
