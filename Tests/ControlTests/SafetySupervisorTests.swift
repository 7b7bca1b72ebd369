import Foundation
import Testing
import Transports
import Twin

@testable import Control
import Devices

/// A table of scripted faults, each of which must trip exactly its check at exactly the
/// expected tick; healthy runs (a heat-up on the twin's plant, a noisy hold, an announced
/// injection) that must not trip; the bounded injection window; latching and clearing.
struct SafetySupervisorTests {
    static let limits = SafetyLimits(
        minCelsius: -20, maxCelsius: 350, staleAfterSeconds: 3, stuckAfterSeconds: 10, heatingGainCelsius: 2,
        heatingGainWithinSeconds: 20, runawayErrorIntegral: 120, runawayHysteresisCelsius: 5, stuckOnRiseCelsius: 8,
        stuckOnWithinSeconds: 30, injectionWindowSeconds: 90, maxTickGapSeconds: 2, heatingGainMinimumDuty: 0.5)

    /// A scripted run: one input per tick (0.5 s apart unless `times` says otherwise), and
    /// injections announced at given instants.
    struct Script: CustomTestStringConvertible, Sendable {
        var name: String
        var times: [Double]
        var inputs: [SafetyInput]
        var announceAt: [Double] = []
        var testDescription: String { name }

        init(_ name: String, seconds: Double, dt: Double = 0.5, announceAt: [Double] = [], _ input: (Double) -> SafetyInput) {
            self.name = name
            let count = Int((seconds / dt).rounded())
            times = (0...count).map { Double($0) * dt }
            inputs = times.map(input)
            self.announceAt = announceAt
        }
    }

    struct Outcome {
        var supervisor: SafetySupervisor
        var events: [SafetyEvent]
        /// The instant of the first step that returned false.
        var firstRefusal: Double?
    }

    static func run(_ script: Script, limits: SafetyLimits = limits) -> Outcome {
        var supervisor = SafetySupervisor(loop: "reactor", limits: limits)
        var events: [SafetyEvent] = []
        events.reserveCapacity(8)
        var refusal: Double?
        var announcements = script.announceAt
        for (t, input) in zip(script.times, script.inputs) {
            while let next = announcements.first, next <= t {
                events.append(supervisor.announceInjection(at: instant(next)))
                announcements.removeFirst()
            }
            let allowed = supervisor.step(input, at: instant(t), events: &events)
            if !allowed, refusal == nil { refusal = t }
            if refusal != nil { #expect(!allowed) }  // latched
        }
        return Outcome(supervisor: supervisor, events: events, firstRefusal: refusal)
    }

    /// A deterministic wobble, never repeating bit for bit over a run (so no `stuck` trip).
    static func wobble(_ t: Double, _ size: Double = 0.05) -> Double {
        size * sin(1.7 * t + 0.3) + 0.3 * size * sin(5.3 * t)
    }

    // MARK: - One script per check, each tripping exactly that check at exactly one instant

    static let faults: [(script: Script, check: SafetyCheck, at: Double)] = [
        (
            Script("range: 351 °C at 10 s", seconds: 20) { t in
                SafetyInput(celsius: t < 10 ? 240 + wobble(t) : 351, setpoint: 240, duty: 0.5)
            }, .range, 10
        ),
        (
            Script("range: -21 °C at 4 s", seconds: 10) { t in
                SafetyInput(celsius: t < 4 ? 25 + wobble(t) : -21, setpoint: nil, duty: 0)
            }, .range, 4
        ),
        (
            Script("sensor fault flag at 7 s", seconds: 10) { t in
                SafetyInput(celsius: 240 + wobble(t), sensorFault: t >= 7, setpoint: 240, duty: 0.5)
            }, .sensorFault, 7
        ),
        (
            Script("NaN reading at 7 s", seconds: 10) { t in
                SafetyInput(celsius: t < 7 ? 240 + wobble(t) : .nan, setpoint: 240, duty: 0.5)
            }, .sensorFault, 7
        ),
        (
            // Last new reading at 4.5 s; repeats after: stale at 4.5 + 3.
            Script("repeated readings from 5 s", seconds: 12) { t in
                SafetyInput(celsius: 240 + wobble(min(t, 4.5)), readingIsNew: t < 5, setpoint: 240, duty: 0.5)
            }, .stale, 7.5
        ),
        (
            Script("no reading from 5 s", seconds: 12) { t in
                SafetyInput(celsius: t < 5 ? 240 + wobble(t) : nil, setpoint: 240, duty: 0.5)
            }, .stale, 7.5
        ),
        (
            // Frozen at one value from 5 s, reported as new, heater driven: stuck at 5 + 10.
            Script("frozen reading from 5 s", seconds: 25) { t in
                SafetyInput(celsius: t < 5 ? 240 + wobble(t) : 240.125, setpoint: 240, duty: 0.5)
            }, .stuck, 15
        ),
        (
            // From 25 °C at full duty the reading crawls 0.05 °C/s: 1 °C of the 2 °C due by 20 s.
            Script("heater not heating", seconds: 40) { t in
                SafetyInput(celsius: 25 + 0.05 * t, setpoint: 240, duty: 1)
            }, .heatingGain, 20
        ),
        (
            // 35 °C below the band with the loop holding back (duty 0.3): the 20 s watch lapses
            // without progress, then 17.5 °C·s a tick accumulate: over 120 on the 7th tick.
            Script("stalled below the setpoint with a low duty", seconds: 40) { t in
                SafetyInput(celsius: 200 + (Int(t * 2) % 2 == 0 ? 0 : 0.01), setpoint: 240, duty: 0.3)
            }, .runaway, 23
        ),
        (
            // Above the setpoint with the heater off, rising 0.5 °C/s from 5 s: 8 °C at 21 s.
            Script("rising with the heater off", seconds: 30) { t in
                SafetyInput(
                    celsius: t <= 5 ? 245 + (Int(t * 2) % 2 == 0 ? 0 : 0.01) : 245 + 0.5 * (t - 5), setpoint: 240,
                    duty: 0)
            }, .heaterStuckOn, 21
        ),
        (
            Script("rising with the heater off while idle", seconds: 40) { t in
                SafetyInput(celsius: t <= 10 ? 25 + wobble(t) : 25 + 1 * (t - 10), setpoint: nil, duty: 0)
            }, .heaterStuckOn, 18
        ),
    ]

    @Test(arguments: faults)
    func eachFaultTripsItsCheckAtTheExpectedTick(script: Script, check: SafetyCheck, at: Double) throws {
        let outcome = Self.run(script)
        let trip = try #require(outcome.supervisor.trip)
        #expect(trip.check == check)
        #expect(outcome.firstRefusal == at)
        #expect(trip.at == instant(at))
        #expect(trip.loop == "reactor")
        let trips = outcome.events.filter { if case .tripped = $0 { true } else { false } }
        #expect(trips == [.tripped(trip)])
        #expect(!trip.numbers.isEmpty)
        #expect(trip.description.hasPrefix("reactor: "))
    }

    /// A loop stall is a gap between steps, so it needs its own time line: ticks every 0.5 s to
    /// 10 s, then one at 12.5 s.
    @Test func gapBetweenStepsTripsLoopStall() throws {
        var script = Script("stall", seconds: 10) { t in SafetyInput(celsius: 240 + Self.wobble(t), setpoint: 240, duty: 0.5) }
        script.times += [12.5, 13]
        script.inputs += [script.inputs[0], script.inputs[1]]
        let outcome = Self.run(script)
        let trip = try #require(outcome.supervisor.trip)
        #expect(trip.check == .loopStall && outcome.firstRefusal == 12.5)
        #expect(trip.number("gap_s") == 2.5 && trip.number("max_gap_s") == 2)
        // A gap of exactly the limit is allowed.
        var exact = script
        exact.times = exact.times.map { $0 > 10 ? $0 - 0.5 : $0 }
        #expect(Self.run(exact).supervisor.trip == nil)
    }

    @Test func everyCheckHasAScript() {
        let covered = Set(Self.faults.map(\.check)).union([SafetyCheck.loopStall])
        #expect(covered == Set(SafetyCheck.allCases))
    }

    /// The trip carries the numbers that tripped it, and says them in one sentence.
    @Test func tripCarriesItsNumbers() throws {
        let range = Self.run(Self.faults[0].script)
        let trip = try #require(range.supervisor.trip)
        #expect(trip.numbers == [.init("reading_c", 351), .init("min_c", -20), .init("max_c", 350)])
        #expect(trip.description == "reactor: reading outside the allowed range at t=10.0s (reading_c=351.0, min_c=-20.0, max_c=350.0)")

        let gain = try #require(Self.run(Self.faults[7].script).supervisor.trip)
        #expect(gain.number("start_c") == 25)
        #expect(abs(try #require(gain.number("reading_c")) - 26) < 1e-9)
        #expect(gain.number("goal_c") == 27 && gain.number("elapsed_s") == 20 && gain.number("duty") == 1)

        let runaway = try #require(Self.run(Self.faults[8].script).supervisor.trip)
        let integral = try #require(runaway.number("error_integral_c_s"))
        #expect(integral > 120 && integral < 120 + 17.5)

        let stuckOn = try #require(Self.run(Self.faults[9].script).supervisor.trip)
        #expect(stuckOn.number("lowest_c") == 245 && stuckOn.number("rise_c") == 8)
    }

    // MARK: - Healthy runs

    /// The twin's reactor block (150 W, 60 J/K, 0.35 W/K, 2 s thermowell lag, 0.05 °C noise,
    /// readings quantised to the MCP9600's 0.0625 °C) heated from 25 to 240 °C by a PID through a
    /// 1 s time-proportioning window, then held for ten minutes: nothing trips.
    @Test func heatUpAndHoldOnTheTwinPlantDoNotTrip() {
        let zone = ThermalPlant.ZoneParameters(
            name: "reactor", heaterWatts: 150, heatCapacityJoulesPerKelvin: 60, lossWattsPerKelvin: 0.35,
            initialCelsius: 25, sensorLagSeconds: 2, sensorNoiseCelsius: 0.05)
        let plant = ThermalPlant(ambientCelsius: 25, zones: [zone], seed: 42)
        var window = TimeProportioning(periodNanoseconds: 1_000_000_000, maxDuty: 1)
        var pid = PIDController(gains: PIDGains(kp: 0.05, ki: 0.0004, kd: 0.6, derivativeFilterSeconds: 1))
        pid.setpoint = 240
        var supervisor = SafetySupervisor(loop: "reactor", limits: Self.limits)
        var events: [SafetyEvent] = []
        events.reserveCapacity(4)
        var peak = 0.0
        var last = 0.0
        for k in 0...(1500 * 4) {
            let t = Double(k) * 0.25
            let reading = (plant.measuredCelsius(of: 0, at: t) / 0.0625).rounded() * 0.0625
            let duty = pid.update(measurement: reading, at: instant(t))
            window.setDuty(duty)
            let allowed = supervisor.step(
                SafetyInput(celsius: reading, setpoint: 240, duty: duty), at: instant(t), events: &events)
            #expect(allowed)
            if !allowed { break }
            // The heater follows the window within the tick, switching at its edges.
            var edge = t
            while edge < t + 0.25 {
                plant.setHeater(of: 0, on: window.level(at: instant(edge)), at: edge)
                let next = Double(window.nextChange(after: instant(edge)).nanoseconds) / 1e9
                guard next > edge else { break }
                edge = next
            }
            peak = max(peak, reading)
            last = reading
        }
        #expect(events.isEmpty)
        #expect(peak > 240 && abs(last - 240) < 1)  // it really heated and held
    }

    /// A hold with noise, the announced injection (−55 °C over 5 s, back with a 20 s time
    /// constant while the heater runs full), and the hold after: no trip; the window closes at
    /// 60 + 90 s and logs the 55 °C drop.
    static func injectionScript(recovers: Bool) -> Script {
        Script(recovers ? "injection that recovers" : "injection that never recovers", seconds: 400, announceAt: [60]) { t in
            let dropped: Double
            if t < 60 {
                dropped = 0
            } else if t < 65 {
                dropped = 55 * (t - 60) / 5
            } else {
                dropped = recovers ? 55 * exp(-(t - 65) / 20) : 55
            }
            let duty = t >= 60 && dropped > 1 ? 1 : 0.5
            return SafetyInput(celsius: 240 - dropped + wobble(t), setpoint: 240, duty: duty)
        }
    }

    @Test func announcedInjectionThatRecoversDoesNotTripAndIsLogged() throws {
        let outcome = Self.run(Self.injectionScript(recovers: true))
        #expect(outcome.supervisor.trip == nil)
        #expect(outcome.events.count == 2)
        #expect(outcome.events.first == .injectionWindowOpened(loop: "reactor", at: instant(60), until: instant(150)))
        guard case .injectionWindowClosed(let loop, let at, let drop) = outcome.events.last else {
            Issue.record("expected the window to close, got \(outcome.events)")
            return
        }
        #expect(loop == "reactor" && at == instant(150))
        #expect(abs(drop - 55) < 0.15)  // 55 °C plus the wobble at both ends
    }

    /// The same drop without the announcement trips the heating-gain check: the window is what
    /// allows it.
    @Test func unannouncedDropTrips() throws {
        var script = Self.injectionScript(recovers: true)
        script.announceAt = []
        let outcome = Self.run(script)
        let trip = try #require(outcome.supervisor.trip)
        #expect(trip.check == .heatingGain)
    }

    /// A drop that never comes back: nothing trips inside the window; at its end (150 s) the
    /// heating-gain watch starts from the reading then, and trips 20 s later.
    @Test func injectionWindowIsBounded() throws {
        let outcome = Self.run(Self.injectionScript(recovers: false))
        let trip = try #require(outcome.supervisor.trip)
        #expect(trip.check == .heatingGain)
        #expect(outcome.firstRefusal == 170)
        guard case .injectionWindowClosed(_, let at, let drop) = outcome.events[1] else {
            Issue.record("expected the window to close first, got \(outcome.events)")
            return
        }
        #expect(at == instant(150) && abs(drop - 55) < 0.15)
    }

    /// Announcing again while the window is open does not extend it.
    @Test func reannouncingDoesNotExtendTheWindow() {
        var supervisor = SafetySupervisor(loop: "reactor", limits: Self.limits)
        var events: [SafetyEvent] = []
        _ = supervisor.step(SafetyInput(celsius: 240, setpoint: 240, duty: 0.5), at: instant(0), events: &events)
        let first = supervisor.announceInjection(at: instant(1))
        let again = supervisor.announceInjection(at: instant(50))
        #expect(first == .injectionWindowOpened(loop: "reactor", at: instant(1), until: instant(91)))
        #expect(again == .injectionWindowOpened(loop: "reactor", at: instant(50), until: instant(91)))
        #expect(supervisor.injectionWindowEnd == instant(91))
    }

    /// Range and sensor checks stay active inside the window.
    @Test(arguments: [
        (SafetyInput(celsius: 351, setpoint: 240, duty: 1), SafetyCheck.range),
        (SafetyInput(celsius: 200, sensorFault: true, setpoint: 240, duty: 1), .sensorFault),
    ])
    func rangeAndSensorChecksStayActiveInTheWindow(bad: SafetyInput, check: SafetyCheck) throws {
        let script = Script("bad reading in the window", seconds: 80, announceAt: [60]) { t in
            t < 70 ? SafetyInput(celsius: 240 + Self.wobble(t), setpoint: 240, duty: 0.5) : bad
        }
        let outcome = Self.run(script)
        #expect(try #require(outcome.supervisor.trip).check == check)
        #expect(outcome.firstRefusal == 70)
    }

    /// Klipper's rule: progress restarts the error integral. Two stalls of 2.5 s at a low duty
    /// (87.5 and 96 °C·s, each under the 120 limit) separated by a 3 °C step of progress: no trip.
    /// Without the restart their sum would trip at 43.5 s.
    @Test func progressRestartsTheRunawayIntegral() {
        let script = Script("stall, progress, stall", seconds: 45) { t in
            let level = t < 22.5 ? 200.0 : 203
            return SafetyInput(celsius: level + (Int(t * 2) % 2 == 0 ? 0 : 0.01), setpoint: 240, duty: 0.3)
        }
        let outcome = Self.run(script)
        #expect(outcome.supervisor.trip == nil)
        #expect(outcome.supervisor.errorIntegral > 90 && outcome.supervisor.errorIntegral < 120)
    }

    /// Idle (no setpoint, heater off), cooling from 150 °C and then sitting at ambient with a
    /// reading that repeats bit for bit: no check applies.
    @Test func idleCoolingAndConstantAmbientDoNotTrip() {
        let script = Script("idle", seconds: 600) { t in
            SafetyInput(celsius: ((25 + 125 * exp(-t / 60)) / 0.0625).rounded() * 0.0625, setpoint: nil, duty: 0)
        }
        #expect(Self.run(script).supervisor.trip == nil)
    }

    /// After the heater is cut at full rate the thermowell still climbs a few degrees (rate × lag):
    /// below the stuck-on rise, so it does not trip.
    @Test func sensorLagAfterCuttingTheHeaterDoesNotTripStuckOn() {
        // 2.5 °C/s through a 2 s lag, cut at 241 °C: the reading climbs 5 °C more, then falls.
        let script = Script("lag overshoot", seconds: 120) { t in
            let block = 241 + 5 * (1 - exp(-t / 2))
            return SafetyInput(celsius: block - 10 * (1 - exp(-t / 200)) + Self.wobble(t), setpoint: 240, duty: 0)
        }
        #expect(Self.run(script).supervisor.trip == nil)
    }

    // MARK: - Latching and clearing

    @Test func tripLatchesUntilClearedAndClearIsRefusedWhileOutOfRange() {
        var supervisor = SafetySupervisor(loop: "reactor", limits: Self.limits)
        var events: [SafetyEvent] = []
        events.reserveCapacity(4)
        let good = SafetyInput(celsius: 240, setpoint: 240, duty: 0.5)
        #expect(supervisor.step(good, at: instant(0), events: &events))
        #expect(!supervisor.step(SafetyInput(celsius: 360, setpoint: 240, duty: 0.5), at: instant(0.5), events: &events))
        let cleared1 = supervisor.clear(at: instant(1))
        #expect(!cleared1)  // still 360 °C
        #expect(supervisor.trip?.check == .range)
        // Back in range, but latched: still refused until cleared.
        #expect(!supervisor.step(SafetyInput(celsius: 239.9, setpoint: 240, duty: 0), at: instant(1.5), events: &events))
        let cleared2 = supervisor.clear(at: instant(2))
        #expect(cleared2)
        #expect(supervisor.trip == nil)
        // The timed checks start over from the clear: no stale or stall trip for the time latched.
        #expect(supervisor.step(SafetyInput(celsius: 240.1, setpoint: 240, duty: 0.5), at: instant(3), events: &events))
        #expect(events.count == 1)
    }

    @Test func clearIsRefusedWhileTheSensorReportsAFault() {
        var supervisor = SafetySupervisor(loop: "syringe", limits: Self.limits)
        var events: [SafetyEvent] = []
        #expect(!supervisor.step(SafetyInput(celsius: 60, sensorFault: true, setpoint: 60, duty: 0.3), at: instant(0), events: &events))
        let cleared3 = supervisor.clear(at: instant(1))
        #expect(!cleared3)
        _ = supervisor.step(SafetyInput(celsius: .nan, setpoint: 60, duty: 0), at: instant(1.5), events: &events)
        let cleared4 = supervisor.clear(at: instant(2))
        #expect(!cleared4)
        _ = supervisor.step(SafetyInput(celsius: 60.2, setpoint: 60, duty: 0), at: instant(2.5), events: &events)
        let cleared5 = supervisor.clear(at: instant(3))
        #expect(cleared5)
        #expect(events == [.tripped(SafetyTrip(loop: "syringe", check: .sensorFault, at: instant(0), numbers: [
            .init("fault", 1), .init("reading_c", 60),
        ]))])
    }

    @Test func clearWithoutATripIsANoOp() {
        var supervisor = SafetySupervisor(loop: "reactor", limits: Self.limits)
        let cleared6 = supervisor.clear(at: instant(0))
        #expect(cleared6)
    }

    // MARK: - Limits and the trailing minimum

    @Test(arguments: [
        ("min_c", 400.0), ("max_c", .nan), ("stale_after_s", 0), ("stuck_after_s", -1), ("heating_gain_c", .infinity),
        ("runaway_hysteresis_c", -1), ("injection_window_s", .nan), ("max_tick_gap_s", 0), ("heating_gain_min_duty", 0),
        ("heating_gain_min_duty", 1.5), ("stuck_on_within_s", 0),
    ])
    func unusableLimitsAreNamed(key: String, value: Double) throws {
        #expect(Self.limits.firstProblem == nil)
        var limits = Self.limits
        switch key {
        case "min_c": limits.minCelsius = value
        case "max_c": limits.maxCelsius = value
        case "stale_after_s": limits.staleAfterSeconds = value
        case "stuck_after_s": limits.stuckAfterSeconds = value
        case "heating_gain_c": limits.heatingGainCelsius = value
        case "runaway_hysteresis_c": limits.runawayHysteresisCelsius = value
        case "injection_window_s": limits.injectionWindowSeconds = value
        case "max_tick_gap_s": limits.maxTickGapSeconds = value
        case "heating_gain_min_duty": limits.heatingGainMinimumDuty = value
        case "stuck_on_within_s": limits.stuckOnWithinSeconds = value
        default: Issue.record("no such key \(key)")
        }
        #expect(try #require(limits.firstProblem).contains(key))
    }

    /// A rise within 7/8 of the window is always measured from the window's lowest value; a
    /// value older than the whole window is never used.
    @Test func trailingMinimumCoversTheWindow() {
        var minimum = TrailingMinimum()
        #expect(minimum.add(10, atSeconds: 0, windowSeconds: 8) == 10)
        #expect(minimum.add(12, atSeconds: 3, windowSeconds: 8) == 10)
        #expect(minimum.add(15, atSeconds: 6.9, windowSeconds: 8) == 10)  // within 7/8 of 8 s
        #expect(minimum.add(16, atSeconds: 8.0, windowSeconds: 8) == 12)  // the 0 s bucket has left
        #expect(minimum.add(20, atSeconds: 100, windowSeconds: 8) == 20)  // everything older is gone
        minimum.reset()
        #expect(minimum.add(30, atSeconds: 101, windowSeconds: 8) == 30)
    }
}
