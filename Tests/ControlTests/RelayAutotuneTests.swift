import Foundation
import Testing
import Transports
import Twin

@testable import Control

/// The relay experiment against closed forms: the exact relay limit cycle of a FOPDT plant, the
/// plant's phase crossover (the describing-function prediction), scripted waveforms whose period
/// and amplitude are known, and every refusal and failure.
struct RelayAutotuneTests {
    static func settings(
        setpoint: Double = 225, high: Double = 0.8, low: Double = 0.2, hysteresis: Double = 0.5, cycles: Int = 4,
        maxDuration: Double = 5000, maxCelsius: Double = 400
    ) -> RelayAutotune.Settings {
        RelayAutotune.Settings(
            setpoint: setpoint, outputHigh: high, outputLow: low, hysteresisCelsius: hysteresis,
            cyclesRequired: cycles, maxDurationSeconds: maxDuration, maxCelsius: maxCelsius)
    }

    /// Runs the relay on a FOPDT plant (K = 400 °C/duty, ambient 25 °C: the relay 0.2/0.8 is
    /// symmetric about the 0.5 that holds 225 °C) from ambient until it finishes or fails.
    /// `corrupt` may add to the reading the relay sees (a sensor glitch).
    static func runOnDeadTimePlant(
        timeConstant: Double, deadTime: Double, settings: RelayAutotune.Settings, rule: RelayAutotune.TuningRule = .zieglerNichols,
        dt: Double = 0.05, corrupt: (Double) -> Double = { _ in 0 }
    ) throws -> RelayAutotune.Step {
        var plant = DeadTimePlant(gain: 400, timeConstant: timeConstant, deadTime: deadTime, ambient: 25, dt: dt)
        var tune = try RelayAutotune(settings: settings, rule: rule)
        var k = 0
        while true {
            let t = Double(k) * dt
            switch tune.step(measurement: plant.y + corrupt(t), at: instant(t)) {
            case .drive(let duty): plant.step(input: duty)
            case let other: return other
            }
            k += 1
        }
    }

    // MARK: - Against the plant

    /// The measured cycle matches the exact relay limit cycle of the FOPDT plant (closed form,
    /// see `exactRelayCycle`) within 1 %: the residue is the sampling (the relay switches up to
    /// one 0.05 s step late, against dead times of 5-100 s).
    @Test(arguments: [(tau: 50.0, theta: 5.0), (50, 10), (50, 25), (50, 50), (40, 100)])
    func cycleMatchesTheExactRelayLimitCycle(tau: Double, theta: Double) throws {
        let settings = Self.settings()
        let step = try Self.runOnDeadTimePlant(timeConstant: tau, deadTime: theta, settings: settings)
        guard case .finished(let result) = step else {
            Issue.record("expected a result, got \(step)")
            return
        }
        let exact = exactRelayCycle(gain: 400, timeConstant: tau, deadTime: theta, relay: 0.3, hysteresis: 0.5)
        #expect(result.cycles.count == 4)
        for cycle in result.cycles {
            #expect(abs(cycle.periodSeconds / exact.period - 1) < 0.01)
            #expect(abs(cycle.amplitudeCelsius / exact.amplitude - 1) < 0.01)
        }
        let expectedKu = 4 * 0.3 / (Double.pi * (exact.amplitude * exact.amplitude - 0.25).squareRoot())
        #expect(abs(result.ultimateGain / expectedKu - 1) < 0.01)
    }

    /// Against the describing-function prediction from the plant's phase crossover
    /// (θω + atan(ωτ) = π, Ku = √(1 + ω²τ²)/K). Tolerances, from the closed forms above and
    /// checked there: the relay period is within 4.5 % of the crossover period for any θ/τ, so
    /// Tu must be within 5 %. The peak amplitude carries the reading's harmonics, so Ku from it is
    /// low for lag-dominant plants (−18 % at θ/τ = 0.1, tending to −19 % = 8/π² − 1) and exact near
    /// θ/τ ≈ 2.45: Ku must be within 5 % at θ/τ = 2.5 and within 20 % (and never above) below.
    /// The hysteresis is small here (0.05 °C against swings of 11-110 °C) because the prediction is
    /// for an ideal relay: on a lag-dominant plant hysteresis adds about ε·e^(−θ/τ) to the swing
    /// (see `exactRelayCycle`), which the √(a² − ε²) correction does not remove.
    @Test(arguments: [(tau: 50.0, theta: 5.0), (50, 10), (50, 25), (50, 50), (40, 100)])
    func ultimateGainAndPeriodMatchThePhaseCrossover(tau: Double, theta: Double) throws {
        let step = try Self.runOnDeadTimePlant(
            timeConstant: tau, deadTime: theta, settings: Self.settings(hysteresis: 0.05), dt: 0.01)
        guard case .finished(let result) = step else {
            Issue.record("expected a result, got \(step)")
            return
        }
        let crossover = phaseCrossover(gain: 400, timeConstant: tau, deadTime: theta)
        #expect(abs(result.ultimatePeriodSeconds / crossover.period - 1) < 0.05)
        let ratio = result.ultimateGain / crossover.ultimateGain
        if theta / tau >= 2.4 && theta / tau <= 2.6 {
            #expect(abs(ratio - 1) < 0.05)
        } else {
            #expect(ratio > 0.80 && ratio < 1.0)
        }
    }

    // MARK: - Bookkeeping on scripted waveforms

    /// A reading y = setpoint + A(φ) sin φ whose phase runs at 2π/T0 with amplitude A0 until
    /// φ = 4π (the relay's start-up and the discarded first cycle), then at 2π/T with amplitude A.
    /// The relay output does not feed back: this checks the bookkeeping alone.
    static func scriptedRun(
        settings: RelayAutotune.Settings, firstPeriod: Double, firstAmplitude: Double, period: Double,
        amplitude: (Int) -> Double, dt: Double
    ) throws -> (step: RelayAutotune.Step, seconds: Double) {
        var tune = try RelayAutotune(settings: settings, rule: .zieglerNichols)
        var phase = 0.0
        var t = 0.0
        while t < 10_000 {
            let early = phase < 4 * Double.pi
            let cycle = Int(phase / (2 * Double.pi))
            let a = early ? firstAmplitude : amplitude(cycle)
            let y = settings.setpoint + a * sin(phase)
            let step = tune.step(measurement: y, at: instant(t))
            if case .drive = step {} else { return (step, t) }
            phase += 2 * Double.pi / (early ? firstPeriod : period) * dt
            t += dt
        }
        return (.drive(-1), t)
    }

    @Test func firstCycleIsDiscardedAndEachCycleHasTheScriptedPeriodAndAmplitude() throws {
        let settings = Self.settings(hysteresis: 1, cycles: 3)
        let (step, _) = try Self.scriptedRun(
            settings: settings, firstPeriod: 90, firstAmplitude: 12, period: 40, amplitude: { _ in 5 }, dt: 0.01)
        guard case .finished(let result) = step else {
            Issue.record("expected a result, got \(step)")
            return
        }
        #expect(result.cycles.count == 3)
        let ku = 4 * 0.3 / (Double.pi * (25.0 - 1).squareRoot())  // ε corrected: √(A² − ε²)
        for cycle in result.cycles {
            #expect(abs(cycle.periodSeconds - 40) < 1e-3)
            #expect(abs(cycle.amplitudeCelsius - 5) < 1e-4)
            #expect(abs(cycle.ultimateGain / ku - 1) < 1e-4)
        }
        #expect(abs(result.ultimateGain / ku - 1) < 1e-4)
        #expect(abs(result.ultimatePeriodSeconds - 40) < 1e-3)
        #expect(result.gains == RelayAutotune.TuningRule.zieglerNichols.gains(
            ultimateGain: result.ultimateGain, ultimatePeriodSeconds: result.ultimatePeriodSeconds))
    }

    /// The crossing instants are interpolated: sampled only 40 times a cycle, the period is still
    /// within 0.2 % (a sample-aligned crossing would be off by up to 1/40 = 2.5 %).
    @Test func crossingInstantsAreInterpolatedBetweenSamples() throws {
        let settings = Self.settings(hysteresis: 0.2, cycles: 3)
        let (step, _) = try Self.scriptedRun(
            settings: settings, firstPeriod: 40, firstAmplitude: 5, period: 40, amplitude: { _ in 5 }, dt: 40.0 / 40.3)
        guard case .finished(let result) = step else {
            Issue.record("expected a result, got \(step)")
            return
        }
        for cycle in result.cycles {
            #expect(abs(cycle.periodSeconds / 40 - 1) < 0.002)
        }
    }

    /// One cycle with three times the swing (a disturbed cycle): the median cycle is one of the
    /// clean ones, while the mean Ku would be off by more than 10 %.
    @Test func medianIgnoresOneCorruptedCycle() throws {
        let settings = Self.settings(hysteresis: 0.5, cycles: 5)
        let (step, _) = try Self.scriptedRun(
            settings: settings, firstPeriod: 40, firstAmplitude: 5, period: 40,
            amplitude: { cycle in cycle == 4 ? 15 : 5 }, dt: 0.01)
        // Ku ∝ 1/a: the mean of four clean cycles and one at a third of their Ku is 13 % low.
        guard case .finished(let result) = step else {
            Issue.record("expected a result, got \(step)")
            return
        }
        let clean = 4 * 0.3 / (Double.pi * (25 - 0.25).squareRoot())
        #expect(result.cycles.contains { abs($0.amplitudeCelsius - 15) < 0.5 })
        #expect(abs(result.ultimateGain / clean - 1) < 1e-4)
        let mean = result.cycles.map(\.ultimateGain).reduce(0, +) / Double(result.cycles.count)
        #expect(abs(mean / clean - 1) > 0.10)
    }

    /// In closed loop: a sensor glitch of +8 °C for 3 s during one cycle's fall (relay already low,
    /// so the switching is unchanged) changes that cycle only; the result equals the clean run's.
    @Test func medianIgnoresAGlitchInTheClosedLoop() throws {
        let settings = Self.settings(cycles: 5)
        let clean = try Self.runOnDeadTimePlant(timeConstant: 50, deadTime: 10, settings: settings)
        guard case .finished(let cleanResult) = clean else {
            Issue.record("expected a result, got \(clean)")
            return
        }
        let glitchStart = Self.thirdMeasuredPeak(timeConstant: 50, deadTime: 10)
        let glitched = try Self.runOnDeadTimePlant(
            timeConstant: 50, deadTime: 10, settings: settings,
            corrupt: { t in t >= glitchStart && t < glitchStart + 3 ? 8 : 0 })
        guard case .finished(let result) = glitched else {
            Issue.record("expected a result, got \(glitched)")
            return
        }
        #expect(result.cycles.count == 5)
        let changed = zip(result.cycles, cleanResult.cycles).filter { abs($0.amplitudeCelsius - $1.amplitudeCelsius) > 1e-9 }
        #expect(changed.count == 1)
        #expect(abs(changed[0].0.amplitudeCelsius - changed[0].1.amplitudeCelsius - 4) < 0.5)
        // The clean cycles of a converged limit cycle agree to ~1e-5; the glitched one sorts
        // lowest, so the median is a neighbouring clean cycle.
        #expect(abs(result.ultimateGain / cleanResult.ultimateGain - 1) < 1e-4)
        #expect(abs(result.ultimatePeriodSeconds / cleanResult.ultimatePeriodSeconds - 1) < 1e-4)
    }

    /// The instant of the highest reading in the third measured cycle of the clean run.
    static func thirdMeasuredPeak(timeConstant: Double, deadTime: Double) -> Double {
        var plant = DeadTimePlant(gain: 400, timeConstant: timeConstant, deadTime: deadTime, ambient: 25, dt: 0.05)
        var high = true
        var upward = 0
        var peak = (t: 0.0, y: -Double.infinity)
        var k = 0
        while true {
            let t = Double(k) * 0.05
            let y = plant.y
            if high, y > 225.5 {
                high = false
                upward += 1
                if upward == 5 { return peak.t }  // crossings 1 and 2 bound the discarded cycle
            } else if !high, y < 224.5 {
                high = true
            }
            if upward == 4, y > peak.y { peak = (t, y) }
            plant.step(input: high ? 0.8 : 0.2)
            k += 1
        }
    }

    // MARK: - Rules

    /// Ku = 0.05 duty/°C, Tu = 40 s, by each rule's table (Kp, Ti, Td) → ki = Kp/Ti, kd = Kp·Td,
    /// Tf = Td/5 by default, Td/N when asked.
    @Test(arguments: [
        (RelayAutotune.TuningRule.zieglerNichols, kp: 0.03, ti: 20.0, td: 5.0),
        (.tyreusLuyben, kp: 0.05 / 2.2, ti: 88.0, td: 40 / 6.3),
        (.noOvershoot, kp: 0.01, ti: 20.0, td: 40.0 / 3),
    ])
    func rulesGiveTheTabulatedGains(rule: RelayAutotune.TuningRule, kp: Double, ti: Double, td: Double) {
        let gains = rule.gains(ultimateGain: 0.05, ultimatePeriodSeconds: 40)
        #expect(abs(gains.kp - kp) < 1e-12)
        #expect(abs(gains.ki - kp / ti) < 1e-12)
        #expect(abs(gains.kd - kp * td) < 1e-12)
        #expect(abs(gains.derivativeFilterSeconds - td / 5) < 1e-12)
        let tenth = rule.gains(ultimateGain: 0.05, ultimatePeriodSeconds: 40, derivativeFilterDivisor: 10)
        #expect(abs(tenth.derivativeFilterSeconds - td / 10) < 1e-12)
        #expect(tenth.kp == gains.kp && tenth.ki == gains.ki && tenth.kd == gains.kd)
    }

    @Test func resultUsesTheLowerMiddleCycleForAnEvenCount() {
        let cycles = [0.04, 0.02, 0.05, 0.03].enumerated().map {
            RelayAutotune.Cycle(periodSeconds: 30 + Double($0.offset), amplitudeCelsius: 1, ultimateGain: $0.element)
        }
        let result = RelayAutotune.result(cycles: cycles, rule: .tyreusLuyben)
        #expect(result.ultimateGain == 0.03)
        #expect(result.ultimatePeriodSeconds == 33)
        #expect(result.cycles == cycles)
    }

    // MARK: - Refusals

    @Test(arguments: [
        (settings: RelayAutotuneTests.settings(maxCelsius: .nan), key: "max_c"),
        (settings: RelayAutotuneTests.settings(maxCelsius: .infinity), key: "max_c"),
        (settings: RelayAutotuneTests.settings(setpoint: 240, hysteresis: 1, maxCelsius: 245.9), key: "max_c"),  // < 240 + 1 + 5
        (settings: RelayAutotuneTests.settings(setpoint: 240, maxCelsius: 200), key: "max_c"),
        (settings: RelayAutotuneTests.settings(high: 1.2), key: "output_high"),
        (settings: RelayAutotuneTests.settings(low: -0.1), key: "output_low"),
        (settings: RelayAutotuneTests.settings(high: 0.4, low: 0.4), key: "output_high"),
        (settings: RelayAutotuneTests.settings(high: 0.2, low: 0.6), key: "output_high"),
        (settings: RelayAutotuneTests.settings(high: .nan), key: "output_high"),
        (settings: RelayAutotuneTests.settings(cycles: 1), key: "cycles"),
        (settings: RelayAutotuneTests.settings(cycles: 0), key: "cycles"),
        (settings: RelayAutotuneTests.settings(hysteresis: -0.5), key: "hysteresis_c"),
        (settings: RelayAutotuneTests.settings(maxDuration: 0), key: "max_duration_s"),
        (settings: RelayAutotuneTests.settings(setpoint: .nan), key: "setpoint"),
    ])
    func initRefusesUnsafeOrUselessSettings(settings: RelayAutotune.Settings, key: String) {
        #expect {
            _ = try RelayAutotune(settings: settings, rule: .noOvershoot)
        } throws: { error in
            guard let error = error as? AutotuneError, case .invalidSetting(let name, _, _) = error.reason else {
                return false
            }
            return name == key && error.description.contains(key)
        }
    }

    @Test func initAcceptsTheSmallestHeadroom() throws {
        _ = try RelayAutotune(settings: Self.settings(setpoint: 240, hysteresis: 1, maxCelsius: 246), rule: .zieglerNichols)
    }

    // MARK: - Failures

    /// The plant overshoots past maxCelsius (θ = τ = 50 s: the swing is 76 °C, the peak 301 °C):
    /// failed at the first reading above the limit, and every later step says the same.
    @Test func readingAboveTheLimitFails() throws {
        let settings = Self.settings(maxCelsius: 280)
        var plant = DeadTimePlant(gain: 400, timeConstant: 50, deadTime: 50, ambient: 25, dt: 0.05)
        var tune = try RelayAutotune(settings: settings, rule: .zieglerNichols)
        var k = 0
        var failure: RelayAutotune.Step?
        var lastReading = 0.0
        while failure == nil && k < 200_000 {
            lastReading = plant.y
            switch tune.step(measurement: plant.y, at: instant(Double(k) * 0.05)) {
            case .drive(let duty):
                #expect(plant.y <= 280)
                plant.step(input: duty)
            case let other: failure = other
            }
            k += 1
        }
        guard case .failed(let error) = failure, case .overTemperature(let celsius, let limit, _) = error.reason else {
            Issue.record("expected an over-temperature failure, got \(String(describing: failure))")
            return
        }
        #expect(celsius == lastReading && celsius > 280 && limit == 280)
        #expect(tune.step(measurement: 200, at: instant(Double(k) * 0.05)) == failure)
    }

    /// A plant that tops out at 125 °C never crosses a 225 °C setpoint.
    @Test func noOscillationWithinTheDurationFails() throws {
        var tune = try RelayAutotune(settings: Self.settings(maxDuration: 600), rule: .zieglerNichols)
        var plant = FirstOrderPlant(gain: 100, timeConstant: 60, ambient: 25, y: 25)
        var t = 0.0
        var outcome: RelayAutotune.Step?
        while outcome == nil, t < 1000 {
            switch tune.step(measurement: plant.y, at: instant(t)) {
            case .drive(let duty):
                #expect(t <= 600 && duty == 0.8)
                plant.advance(input: duty, over: 0.5)
            case let other: outcome = other
            }
            t += 0.5
        }
        guard case .failed(let error) = outcome,
            case .noOscillation(let elapsed, let limit, let completed, let needed) = error.reason
        else {
            Issue.record("expected no oscillation, got \(String(describing: outcome))")
            return
        }
        #expect(elapsed == 600.5 && limit == 600 && completed == 0 && needed == 5)
        #expect(error.description.contains("0 of 5"))
    }

    @Test(arguments: [
        (Double.nan, AutotuneError.NonFinite.nan), (.infinity, .plusInfinity), (-.infinity, .minusInfinity),
    ])
    func nonFiniteReadingFails(bad: Double, kind: AutotuneError.NonFinite) throws {
        var tune = try RelayAutotune(settings: Self.settings(), rule: .zieglerNichols)
        #expect(tune.step(measurement: 100, at: instant(0)) == .drive(0.8))
        let step = tune.step(measurement: bad, at: instant(1))
        #expect(step == .failed(AutotuneError(.nonFiniteReading(classification: kind, elapsedSeconds: 1))))
        #expect(tune.step(measurement: 100, at: instant(2)) == step)
    }

    /// A square wave a hair beyond ±ε: it switches the relay, but its amplitude does not exceed ε
    /// (to 1e-9), so the describing function has nothing to measure.
    @Test func oscillationWithinTheHysteresisFails() throws {
        var tune = try RelayAutotune(settings: Self.settings(hysteresis: 1, cycles: 2), rule: .zieglerNichols)
        var t = 0.0
        var outcome: RelayAutotune.Step = .drive(0)
        var k = 0
        while case .drive = outcome, k < 1000 {
            let y = 225 + (k % 20 < 10 ? 1 + 1e-10 : -1 - 1e-10)
            outcome = tune.step(measurement: y, at: instant(t))
            t += 1
            k += 1
        }
        guard case .failed(let error) = outcome, case .degenerateOscillation(let amplitude, let epsilon) = error.reason else {
            Issue.record("expected a degenerate oscillation, got \(outcome)")
            return
        }
        #expect(abs(amplitude - 1) < 1e-9 && epsilon == 1)
    }

    /// The relay drives high below the setpoint and low above it, switching only beyond ±ε.
    @Test func relaySwitchesOnlyOutsideTheHysteresisBand() throws {
        var tune = try RelayAutotune(settings: Self.settings(setpoint: 225, hysteresis: 0.5), rule: .zieglerNichols)
        let script: [(Double, Double)] = [
            (220, 0.8), (225.4, 0.8), (225.6, 0.2), (224.8, 0.2), (224.4, 0.8), (225.2, 0.8), (225.51, 0.2),
        ]
        for (k, (reading, duty)) in script.enumerated() {
            #expect(tune.step(measurement: reading, at: instant(Double(k))) == .drive(duty))
        }
        // Starting above the setpoint, it drives low first.
        var above = try RelayAutotune(settings: Self.settings(setpoint: 225), rule: .zieglerNichols)
        #expect(above.step(measurement: 230, at: instant(0)) == .drive(0.2))
    }

    // MARK: - On the twin

    /// The relay experiment on the twin's reactor at 240 °C (full power / off, ε = 0.3 °C), with the
    /// safety supervisor watching every tick (the relay must not trip it).
    static func tuneTwinReactor() throws -> RelayAutotune.Result {
        let rig = TwinReactorRig(startCelsius: 25)
        var tune = try RelayAutotune(
            settings: .init(
                setpoint: 240, outputHigh: 1, outputLow: 0, hysteresisCelsius: 0.3, cyclesRequired: 5,
                maxDurationSeconds: 1200, maxCelsius: 350),
            rule: .tyreusLuyben)
        var supervisor = SafetySupervisor(loop: "reactor", limits: SafetySupervisorTests.limits)
        var events: [SafetyEvent] = []
        while true {
            let reading = rig.read()
            let duty: Double
            switch tune.step(measurement: reading, at: rig.now) {
            case .drive(let d): duty = d
            case .finished(let result):
                #expect(events.isEmpty)
                return result
            case .failed(let error): throw error
            }
            #expect(supervisor.step(SafetyInput(celsius: reading, setpoint: 240, duty: duty), at: rig.now, events: &events))
            rig.drive(duty)
        }
    }

    /// The lead's targets on the twin, with the gains the relay gives by Tyreus–Luyben: heating
    /// 25 °C → setpoint overshoots ≤ 3 °C, the settled hold (600-900 s) stays within ±0.5 °C, and
    /// after the injection at 900 s (300 µL at 25 °C into 900 µL) the reading is back within 1 °C
    /// for good in ≤ 60 s. No feed-forward: the PID alone. The supervisor, with the injection
    /// announced, must not trip.
    @Test(arguments: [200.0, 240, 310])
    func tyreusLuybenFromTheRelayMeetsTheHeatTargetsOnTheTwin(setpoint: Double) throws {
        let result = try Self.tuneTwinReactor()
        // The relay cycle of the twin: a lag-dominated plant, so the period is short against the
        // block's 171 s time constant and the peak-based Ku conservative.
        #expect(result.ultimatePeriodSeconds > 10 && result.ultimatePeriodSeconds < 30)

        let rig = TwinReactorRig(startCelsius: 25)
        var pid = PIDController(gains: result.gains)
        pid.setpoint = setpoint
        var supervisor = SafetySupervisor(loop: "reactor", limits: SafetySupervisorTests.limits)
        var events: [SafetyEvent] = []
        events.reserveCapacity(4)
        var peak = -Double.infinity
        var settledError = 0.0
        var lastOutsideRecoveryBand = 900.0
        var lowest = Double.infinity
        while rig.seconds < 1200 {
            if abs(rig.seconds - 900) < rig.tick / 2 {
                rig.inject()
                events.append(supervisor.announceInjection(at: rig.now))
            }
            let reading = rig.read()
            let duty = pid.update(measurement: reading, at: rig.now)
            #expect(supervisor.step(SafetyInput(celsius: reading, setpoint: setpoint, duty: duty), at: rig.now, events: &events))
            if rig.seconds < 900 { peak = max(peak, reading) }
            if rig.seconds >= 600 && rig.seconds < 900 { settledError = max(settledError, abs(reading - setpoint)) }
            if rig.seconds >= 900 {
                lowest = min(lowest, reading)
                if abs(reading - setpoint) > 1 { lastOutsideRecoveryBand = rig.seconds }
            }
            rig.drive(duty)
        }
        let overshoot = peak - setpoint
        let recovery = lastOutsideRecoveryBand - 900
        #expect(overshoot > 0 && overshoot <= 3)
        #expect(settledError <= 0.5)
        #expect(setpoint - lowest > 15)  // the injection really dropped the reading
        #expect(recovery > 0 && recovery <= 60)
        #expect(events.count == 2)  // window opened and closed, nothing tripped
    }
}
