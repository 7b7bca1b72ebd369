import Testing
import Transports
@testable import Twin

/// The plant's closed-form solution against a fine explicit integration of the same equations,
/// and against the textbook first-order facts (63.2 % after one time constant, equilibrium).
struct ThermalPlantTests {
    static let reactor = ThermalPlant.ZoneParameters(
        name: "reactor", heaterWatts: 150, heatCapacityJoulesPerKelvin: 60, lossWattsPerKelvin: 0.35,
        initialCelsius: 25, sensorLagSeconds: 2, sensorNoiseCelsius: 0)

    /// Euler integration at 1 ms of C dT/dt = P u − k (T − Ta), τs dTs/dt = T − Ts.
    static func integrate(_ zone: ThermalPlant.ZoneParameters, ambient: Double, heaterOn: Bool, seconds: Double)
        -> (celsius: Double, sensor: Double)
    {
        var t = zone.initialCelsius
        var s = zone.initialCelsius
        let dt = 0.001
        let power = heaterOn ? zone.heaterWatts : 0
        for _ in 0..<Int(seconds / dt) {
            let dT = (power - zone.lossWattsPerKelvin * (t - ambient)) / zone.heatCapacityJoulesPerKelvin
            let dS = zone.sensorLagSeconds > 0 ? (t - s) / zone.sensorLagSeconds : 0
            t += dT * dt
            s = zone.sensorLagSeconds > 0 ? s + dS * dt : t
        }
        return (t, s)
    }

    @Test(arguments: [
        (heaterOn: true, seconds: 5.0, lag: 2.0),
        (heaterOn: true, seconds: 60.0, lag: 2.0),
        (heaterOn: false, seconds: 30.0, lag: 3.0),
        (heaterOn: true, seconds: 20.0, lag: 0.0),
        // Sensor lag equal to the zone's time constant: the resonant closed form.
        (heaterOn: true, seconds: 100.0, lag: 60.0 / 0.35),
    ])
    func closedFormMatchesFineIntegration(heaterOn: Bool, seconds: Double, lag: Double) {
        var zone = Self.reactor
        zone.initialCelsius = heaterOn ? 25 : 200
        zone.sensorLagSeconds = lag
        let plant = ThermalPlant(ambientCelsius: 25, zones: [zone], seed: 1)
        plant.setHeater(of: 0, on: heaterOn, at: 0)
        let state = plant.state(of: 0, at: seconds)
        let reference = Self.integrate(zone, ambient: 25, heaterOn: heaterOn, seconds: seconds)
        #expect(abs(state.celsius - reference.celsius) < 0.01)
        #expect(abs(state.sensorCelsius - reference.sensor) < 0.01)
    }

    @Test func oneTimeConstantCovers63PercentOfTheStep() {
        var zone = Self.reactor
        zone.sensorLagSeconds = 0
        let plant = ThermalPlant(ambientCelsius: 25, zones: [zone], seed: 1)
        plant.setHeater(of: 0, on: true, at: 0)
        let equilibrium = 25 + 150 / 0.35
        let tau = zone.timeConstantSeconds
        let reached = plant.state(of: 0, at: tau).celsius
        #expect(abs((reached - 25) / (equilibrium - 25) - (1 - 1 / 2.718281828459045)) < 1e-9)
        #expect(abs(plant.state(of: 0, at: 40 * tau).celsius - equilibrium) < 1e-6)
    }

    @Test func resultDoesNotDependOnHowOftenItIsRead() {
        let often = ThermalPlant(ambientCelsius: 25, zones: [Self.reactor], seed: 1)
        let once = ThermalPlant(ambientCelsius: 25, zones: [Self.reactor], seed: 1)
        // Half-duty heating in 1 s windows for 30 s; `often` is read every 10 ms on the way.
        for window in 0..<30 {
            let start = Double(window)
            often.setHeater(of: 0, on: true, at: start)
            once.setHeater(of: 0, on: true, at: start)
            for step in 1..<50 { _ = often.state(of: 0, at: start + Double(step) * 0.01) }
            often.setHeater(of: 0, on: false, at: start + 0.5)
            once.setHeater(of: 0, on: false, at: start + 0.5)
        }
        let a = often.state(of: 0, at: 30)
        let b = once.state(of: 0, at: 30)
        #expect(abs(a.celsius - b.celsius) < 1e-9)
        #expect(abs(a.sensorCelsius - b.sensorCelsius) < 1e-9)
        #expect(abs(a.heaterJoules - 15 * 150) < 1e-6)
    }

    @Test func noiseIsDeterministicForASeedAndHasTheConfiguredSpread() {
        var zone = Self.reactor
        zone.sensorNoiseCelsius = 0.5
        let first = ThermalPlant(ambientCelsius: 25, zones: [zone], seed: 7)
        let second = ThermalPlant(ambientCelsius: 25, zones: [zone], seed: 7)
        let other = ThermalPlant(ambientCelsius: 25, zones: [zone], seed: 8)
        let a = (0..<2000).map { first.measuredCelsius(of: 0, at: Double($0)) }
        let b = (0..<2000).map { second.measuredCelsius(of: 0, at: Double($0)) }
        let c = (0..<2000).map { other.measuredCelsius(of: 0, at: Double($0)) }
        #expect(a == b)
        #expect(a != c)
        let mean = a.reduce(0, +) / Double(a.count)
        let sd = (a.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(a.count - 1)).squareRoot()
        #expect(abs(mean - 25) < 0.05)
        #expect(abs(sd - 0.5) < 0.05)
    }

    @Test func timeNeverRunsBackwards() {
        let plant = ThermalPlant(ambientCelsius: 25, zones: [Self.reactor], seed: 1)
        plant.setHeater(of: 0, on: true, at: 0)
        let later = plant.state(of: 0, at: 10).celsius
        #expect(plant.state(of: 0, at: 5).celsius == later)
    }
}

struct VirtualClockTests {
    @Test func sleepJumpsToTheDeadlineAndNeverBack() throws {
        let clock = VirtualClock()
        try clock.sleep(until: MonotonicInstant(nanoseconds: 1_500_000_000))
        #expect(clock.now().nanoseconds == 1_500_000_000)
        try clock.sleep(until: MonotonicInstant(nanoseconds: 1_000))
        #expect(clock.now().nanoseconds == 1_500_000_000)
        clock.advance(seconds: 0.25)
        #expect(clock.now().nanoseconds == 1_750_000_000)
    }
}

struct SimulatedOutputLineTests {
    @Test func reportsEveryChangeOnceAndFallsToItsPullOnRelease() throws {
        let line = SimulatedOutputLine(name: "twin:heater.reactor", initialLevel: false)
        var seen: [Bool] = []
        line.onChange = { seen.append($0) }
        try line.set(high: true)
        try line.set(high: true)
        try line.set(high: false)
        try line.set(high: true)
        try line.release()
        try line.release()
        #expect(seen == [true, false, true, false])
        #expect(line.transitions == 4)
        #expect(throws: OutputLineError(line: "twin:heater.reactor", operation: "set", reason: .released)) {
            try line.set(high: true)
        }
    }

    @Test func injectedFaults() throws {
        let line = SimulatedOutputLine(name: "twin:valve.sample", initialLevel: false)
        line.failNextSet = .lineBusy
        #expect(throws: OutputLineError(line: "twin:valve.sample", operation: "set", reason: .lineBusy)) {
            try line.set(high: true)
        }
        #expect(line.isHigh == false)
        line.stuckAt = true
        try line.set(high: false)
        #expect(line.isHigh == true)
    }
}
