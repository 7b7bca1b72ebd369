import Foundation
import Testing
import Transports

@testable import Control

/// Each term against its closed form, the anti-windup against a naive PID on the same plant,
/// bumpless transfer, feed-forward, a closed loop, and irregular sampling.
struct PIDControllerTests {
    static func controller(kp: Double = 0, ki: Double = 0, kd: Double = 0, filter: Double = 0, limits: ClosedRange<Double> = 0...1)
        -> PIDController
    {
        PIDController(gains: PIDGains(kp: kp, ki: ki, kd: kd, derivativeFilterSeconds: filter), outputLimits: limits)
    }

    // MARK: - Each term

    @Test(arguments: [(setpoint: 100.0, measurement: 60.0), (setpoint: 240.0, measurement: 239.5), (setpoint: 25.0, measurement: 30.0)])
    func proportionalIsKpTimesError(setpoint: Double, measurement: Double) {
        var pid = Self.controller(kp: 0.02, limits: -10...10)
        pid.setpoint = setpoint
        let output = pid.update(measurement: measurement, at: instant(0))
        #expect(output == 0.02 * (setpoint - measurement))
        #expect(pid.terms.proportional == 0.02 * (setpoint - measurement))
        #expect(pid.terms.integral == 0 && pid.terms.derivative == 0)
    }

    /// A constant error integrates to ki·e·t whatever the spacing of the calls.
    @Test func integralOfAConstantErrorIsARamp() {
        var pid = Self.controller(ki: 0.001, limits: -10...10)
        pid.setpoint = 100
        var t = 3.0
        _ = pid.update(measurement: 90, at: instant(t))  // the first call integrates nothing
        #expect(pid.integral == 0)
        for dt in [0.3, 0.7, 1.1, 0.05, 2.0, 0.25] {
            t += dt
            let output = pid.update(measurement: 90, at: instant(t))
            let expected = 0.001 * 10 * (t - 3)
            #expect(abs(pid.integral - expected) < 1e-12)
            #expect(abs(output - expected) < 1e-12)
        }
    }

    /// The derivative of a ramp is a step; through the first-order filter the derivative term is
    /// −kd·r·(1 − e^(−t/Tf)) exactly, at every sample, however the samples are spaced.
    @Test(arguments: [0.0, 2.0, 10.0])
    func derivativeOfARampIsAFilteredStep(filter: Double) {
        var pid = Self.controller(kd: 3, filter: filter, limits: -100...100)
        pid.setpoint = 50
        let rate = 0.8  // °C/s
        _ = pid.update(measurement: 20, at: instant(0))
        #expect(pid.terms.derivative == 0)  // no kick on the first call
        var t = 0.0
        for dt in [0.1, 0.5, 1.7, 0.01, 3.0, 0.4, 6.0] {
            t += dt
            _ = pid.update(measurement: 20 + rate * t, at: instant(t))
            let expected = filter > 0 ? -3 * rate * (1 - exp(-t / filter)) : -3 * rate
            #expect(abs(pid.terms.derivative - expected) < 1e-9)
        }
    }

    /// After the ramp stops, the filtered derivative decays as e^(−t/Tf) from where it was.
    @Test func derivativeDecaysWithTheFilterTimeConstantWhenTheMeasurementStops() {
        var pid = Self.controller(kd: 1, filter: 4, limits: -100...100)
        _ = pid.update(measurement: 0, at: instant(0))
        _ = pid.update(measurement: 2, at: instant(1))  // slope 2 over 1 s
        let after = pid.filteredDerivative
        #expect(abs(after - 2 * (1 - exp(-0.25))) < 1e-12)
        _ = pid.update(measurement: 2, at: instant(3))
        #expect(abs(pid.filteredDerivative - after * exp(-0.5)) < 1e-12)
    }

    /// Exact discretisation: one step of 2 s and forty of 0.05 s over the same ramp agree.
    @Test func derivativeFilterDoesNotDependOnTheSamplingRate() {
        var coarse = Self.controller(kd: 1, filter: 1.5, limits: -100...100)
        var fine = coarse
        _ = coarse.update(measurement: 100, at: instant(0))
        _ = fine.update(measurement: 100, at: instant(0))
        _ = coarse.update(measurement: 100 + 2 * 1.3, at: instant(2))
        for k in 1...40 {
            let t = Double(k) * 0.05
            _ = fine.update(measurement: 100 + t * 1.3, at: instant(t))
        }
        #expect(abs(coarse.filteredDerivative - fine.filteredDerivative) < 1e-12)
        #expect(abs(coarse.filteredDerivative - 1.3 * (1 - exp(-2 / 1.5))) < 1e-12)
    }

    /// Derivative on measurement: a setpoint step moves the output by kp·Δ and nothing else.
    @Test func setpointStepGivesNoDerivativeKick() {
        var pid = Self.controller(kp: 0.01, kd: 5, filter: 1, limits: -10...10)
        pid.setpoint = 100
        _ = pid.update(measurement: 80, at: instant(0))
        let before = pid.update(measurement: 80, at: instant(1))
        pid.setpoint = 200
        let after = pid.update(measurement: 80, at: instant(2))
        #expect(abs((after - before) - 0.01 * 100) < 1e-12)
        #expect(pid.terms.derivative == 0)
    }

    /// The first call after `reset` has no derivative kick, even after a large jump in the reading.
    @Test func resetForgetsTheHistory() {
        var pid = Self.controller(kp: 0.01, ki: 0.01, kd: 5, filter: 0.5, limits: -10...10)
        pid.setpoint = 100
        _ = pid.update(measurement: 50, at: instant(0))
        _ = pid.update(measurement: 60, at: instant(1))
        #expect(pid.integral != 0 && pid.filteredDerivative != 0)
        pid.reset()
        let output = pid.update(measurement: 250, at: instant(2))
        #expect(pid.terms.derivative == 0 && pid.integral == 0)
        #expect(output == 0.01 * (100 - 250))
    }

    // MARK: - Limits, feed-forward, dt

    @Test(arguments: [
        (proportional: 0.5, feedForward: 0.3, expected: 0.8),
        (proportional: 0.9, feedForward: 0.3, expected: 1.0),  // the sum is clamped, not the terms
        (proportional: 0.2, feedForward: -0.5, expected: 0.0),
        (proportional: -0.4, feedForward: 0.6, expected: 0.2),  // feed-forward lifts a negative PID sum
    ])
    func feedForwardIsAddedBeforeClamping(proportional: Double, feedForward: Double, expected: Double) {
        var pid = Self.controller(kp: 0.1)
        pid.setpoint = 100
        pid.feedForward = feedForward
        let output = pid.update(measurement: 100 - proportional / 0.1, at: instant(0))
        #expect(abs(output - expected) < 1e-12)
        #expect(abs(pid.terms.unclamped - (proportional + feedForward)) < 1e-12)
    }

    @Test func outputStaysWithinCustomLimits() {
        var pid = Self.controller(kp: 1, limits: 0.1...0.6)
        pid.setpoint = 100
        #expect(pid.update(measurement: 0, at: instant(0)) == 0.6)
        #expect(pid.update(measurement: 200, at: instant(1)) == 0.1)
    }

    @Test func repeatedOrEarlierInstantReturnsTheLastOutputAndChangesNothing() {
        var pid = Self.controller(kp: 0.01, ki: 0.002, kd: 1, filter: 1)
        pid.setpoint = 100
        _ = pid.update(measurement: 50, at: instant(10))
        let last = pid.update(measurement: 52, at: instant(11))
        let integral = pid.integral
        let derivative = pid.filteredDerivative
        #expect(pid.update(measurement: 0, at: instant(11)) == last)
        #expect(pid.update(measurement: 99, at: instant(5)) == last)
        #expect(pid.integral == integral && pid.filteredDerivative == derivative)
        // The next good call measures dt from 11 s, not from the refused calls.
        _ = pid.update(measurement: 53, at: instant(12))
        #expect(abs(pid.integral - (integral + 0.002 * 47 * 1)) < 1e-12)
    }

    @Test(arguments: [Double.nan, .infinity, -.infinity])
    func nonFiniteMeasurementTurnsTheOutputOffAndKeepsTheState(bad: Double) {
        var pid = Self.controller(kp: 0.01, ki: 0.002)
        pid.setpoint = 100
        _ = pid.update(measurement: 50, at: instant(0))
        _ = pid.update(measurement: 50, at: instant(1))
        let integral = pid.integral
        #expect(pid.update(measurement: bad, at: instant(2)) == 0)
        #expect(pid.integral == integral)
        let output = pid.update(measurement: 50, at: instant(3))
        #expect(abs(pid.integral - (integral + 0.002 * 50 * 2)) < 1e-12)
        #expect(abs(output - (0.5 + pid.integral)) < 1e-12)
    }

    /// The integral is kept in output units: retuning ki does not move the output.
    @Test func changingKiDoesNotBumpTheOutput() {
        var pid = Self.controller(kp: 0.01, ki: 0.004, limits: -10...10)
        pid.setpoint = 100
        _ = pid.update(measurement: 90, at: instant(0))
        for k in 1...20 { _ = pid.update(measurement: 90, at: instant(Double(k))) }
        let before = pid.lastOutput
        pid.gains.ki = 0.0004
        let after = pid.update(measurement: 90, at: instant(21))
        #expect(abs(after - (before + 0.0004 * 10 * 1)) < 1e-12)
    }

    // MARK: - Anti-windup

    /// ki = 1, a huge error: one step would take the integral to 100, but it stops where the
    /// output reaches the limit, and stays frozen while saturated; the moment the error changes
    /// sign the output leaves the limit.
    @Test func integralStopsAtTheLimitAndLeavesAtOnce() {
        var pid = Self.controller(ki: 1)
        pid.setpoint = 100
        _ = pid.update(measurement: 0, at: instant(0))
        #expect(pid.update(measurement: 0, at: instant(1)) == 1)
        #expect(pid.integral == 1)
        for k in 2...50 { _ = pid.update(measurement: 0, at: instant(Double(k))) }
        #expect(pid.integral == 1)
        let output = pid.update(measurement: 100.25, at: instant(51))
        #expect(output == 0.75)
    }

    /// A plain positional PID with clamped output and an unbounded integral, for comparison.
    struct NaivePID {
        var kp: Double, ki: Double
        var integral = 0.0
        mutating func update(setpoint: Double, measurement: Double, dt: Double) -> Double {
            let error = setpoint - measurement
            integral += ki * error * dt
            return min(max(kp * error + integral, 0), 1)
        }
    }

    /// A plant that cannot reach the setpoint (at most 125 °C) holds the output at full for ten
    /// minutes; then the setpoint drops to 100 °C, below the reading. The conditional integral
    /// stayed frozen, so the output leaves saturation on the next call; the naive integral wound up
    /// to tens of "duties" and keeps the heater on full for many minutes.
    @Test func conditionalIntegrationAgainstANaiveIntegralAfterLongSaturation() throws {
        let kp = 0.05, ki = 0.002
        var pid = Self.controller(kp: kp, ki: ki)
        var naive = NaivePID(kp: kp, ki: ki)
        var plant = FirstOrderPlant(gain: 100, timeConstant: 60, ambient: 25, y: 25)
        var naivePlant = plant
        let dt = 0.5
        pid.setpoint = 200
        var t = 0.0
        var frozenIntegral: Double?
        for _ in 0..<1200 {
            let u = pid.update(measurement: plant.y, at: instant(t))
            let v = naive.update(setpoint: 200, measurement: naivePlant.y, dt: dt)
            #expect(u == 1 && v == 1)
            if t > 0 {
                if let frozen = frozenIntegral { #expect(pid.integral == frozen) } else { frozenIntegral = pid.integral }
            }
            plant.advance(input: u, over: dt)
            naivePlant.advance(input: v, over: dt)
            t += dt
        }
        #expect(try #require(frozenIntegral) == 0)  // P alone saturates from the start: nothing accumulated
        #expect(naive.integral > 50)
        pid.setpoint = 100
        var ourSaturatedSeconds = 0.0
        var naiveSaturatedSeconds = 0.0
        for _ in 0..<2400 {
            let u = pid.update(measurement: plant.y, at: instant(t))
            let v = naive.update(setpoint: 100, measurement: naivePlant.y, dt: dt)
            if u == 1 { ourSaturatedSeconds += dt }
            if v == 1 { naiveSaturatedSeconds += dt }
            plant.advance(input: u, over: dt)
            naivePlant.advance(input: v, over: dt)
            t += dt
        }
        #expect(ourSaturatedSeconds == 0)
        #expect(naiveSaturatedSeconds > 600)
        #expect(abs(plant.y - 100) < 0.05)
        #expect(naivePlant.y > 110)
    }

    /// A reachable step on a lagging plant: the naive integral accumulates over the whole
    /// saturated rise and overshoots far more than the conditional one.
    @Test func conditionalIntegrationOvershootsLessThanNaiveOnAHeatUp() {
        let kp = 0.04, ki = 0.0015
        var pid = Self.controller(kp: kp, ki: ki)
        var naive = NaivePID(kp: kp, ki: ki)
        var plant = DeadTimePlant(gain: 400, timeConstant: 150, deadTime: 4, ambient: 25, dt: 0.5)
        var naivePlant = plant
        pid.setpoint = 240
        var ourPeak = 0.0, naivePeak = 0.0
        for k in 0..<4000 {
            let t = Double(k) * 0.5
            plant.step(input: pid.update(measurement: plant.y, at: instant(t)))
            naivePlant.step(input: naive.update(setpoint: 240, measurement: naivePlant.y, dt: 0.5))
            ourPeak = max(ourPeak, plant.y)
            naivePeak = max(naivePeak, naivePlant.y)
        }
        #expect(ourPeak - 240 < 0.5 * (naivePeak - 240))
        #expect(abs(plant.y - 240) < 0.01)
    }

    // MARK: - Manual / automatic

    @Test func manualReturnsTheManualOutputAndTheReturnToAutomaticIsBumpless() {
        var pid = Self.controller(kp: 0.02, ki: 0.001, kd: 0.5, filter: 2)
        pid.setpoint = 200
        // A reading rising 0.5 °C/s throughout; manual from 2 s to 7 s.
        func reading(_ t: Double) -> Double { 150 + 0.5 * t }
        _ = pid.update(measurement: reading(0), at: instant(0))
        _ = pid.update(measurement: reading(1), at: instant(1))
        pid.setManual(output: 0.37)
        #expect(!pid.isAutomatic)
        for k in 2...6 {
            #expect(pid.update(measurement: reading(Double(k)), at: instant(Double(k))) == 0.37)
        }
        pid.setAutomatic()
        #expect(pid.isAutomatic)
        // The reading moved since the last manual call: the first automatic output is still 0.37.
        let first = pid.update(measurement: reading(7), at: instant(7))
        #expect(first == 0.37)
        let derivativeBefore = pid.filteredDerivative
        // Then normal integration: the change is ΔP + ΔD + one increment of the integral.
        let second = pid.update(measurement: reading(8), at: instant(8))
        let expected =
            first + 0.02 * (-0.5) - 0.5 * (pid.filteredDerivative - derivativeBefore) + 0.001 * (200 - reading(8)) * 1
        #expect(abs(second - expected) < 1e-12)
        #expect(abs(second - first) < 0.05)
    }

    @Test func manualOutputIsClamped() {
        var pid = Self.controller(kp: 0.02)
        pid.setManual(output: 1.7)
        #expect(pid.update(measurement: 20, at: instant(0)) == 1)
        pid.setManual(output: -3)
        #expect(pid.update(measurement: 20, at: instant(1)) == 0)
    }

    /// Automatic → manual at the current output, then back: no step either way.
    @Test func roundTripThroughManualAtTheSameOutputIsSeamless() {
        var pid = Self.controller(kp: 0.03, ki: 0.002, kd: 1, filter: 2)
        var plant = FirstOrderPlant(gain: 400, timeConstant: 120, ambient: 25, y: 200)
        pid.setpoint = 230
        var outputs: [Double] = []
        for k in 0..<200 {
            let t = Double(k)
            if k == 100 { pid.setManual(output: pid.lastOutput) }
            if k == 120 { pid.setAutomatic() }
            let u = pid.update(measurement: plant.y, at: instant(t))
            outputs.append(u)
            plant.advance(input: u, over: 1)
        }
        #expect(outputs[100] == outputs[99])
        #expect(outputs[120] == outputs[119])
        #expect(abs(outputs[121] - outputs[120]) < 0.05)
    }

    // MARK: - Closed loop

    /// A first-order plant under PI(D): zero steady-state error, and the output settles where the
    /// plant needs it, (setpoint − ambient)/K.
    @Test(arguments: [0.0, 0.5])
    func closedLoopReachesTheSetpointWithZeroSteadyStateError(kd: Double) {
        var pid = Self.controller(kp: 0.05, ki: 0.0008, kd: kd, filter: 5)
        var plant = FirstOrderPlant(gain: 428.6, timeConstant: 171, ambient: 25, y: 25)
        pid.setpoint = 240
        var t = 0.0
        var u = 0.0
        while t < 3000 {
            u = pid.update(measurement: plant.y, at: instant(t))
            plant.advance(input: u, over: 0.5)
            t += 0.5
        }
        #expect(abs(plant.y - 240) < 1e-6)
        #expect(abs(u - 215 / 428.6) < 1e-6)
    }

    /// Irregular sampling (0.05...1.5 s, jittered) gives the same loop as regular sampling at
    /// 0.5 s, because every term uses the actual dt: same final state, similar trajectory.
    @Test func irregularSamplingKeepsTheLoopEquivalent() {
        var generator = SplitMix64(seed: 7)
        func run(irregular: Bool) -> (final: Double, peak: Double) {
            var pid = Self.controller(kp: 0.05, ki: 0.0008, kd: 0.5, filter: 5)
            var plant = FirstOrderPlant(gain: 428.6, timeConstant: 171, ambient: 25, y: 25)
            pid.setpoint = 240
            var t = 0.0
            var peak = 0.0
            while t < 3000 {
                let u = pid.update(measurement: plant.y, at: instant(t))
                let dt = irregular ? Double.random(in: 0.05...1.5, using: &generator) : 0.5
                plant.advance(input: u, over: dt)
                peak = max(peak, plant.y)
                t += dt
            }
            return (plant.y, peak)
        }
        let regular = run(irregular: false)
        let jittered = run(irregular: true)
        #expect(abs(regular.final - 240) < 1e-6 && abs(jittered.final - 240) < 1e-6)
        #expect(abs(regular.peak - jittered.peak) < 1.0)
    }
}

