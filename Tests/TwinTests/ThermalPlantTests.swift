import Foundation
import Testing
import Transports
@testable import Twin

/// The numbers of Boards/sim.toml's reactor: a 60 J/K block with 150 W losing 0.35 W/K, 0.9 mL of
/// ODE at 1.8 J/(mL·K) coupled by 0.54 W/K at 800 rpm, a 2 s thermocouple lag.
enum Reactor {
    static let blockHeat = 60.0
    static let loss = 0.35
    static let heater = 150.0
    static let millilitres = 0.9
    static let perMillilitre = 1.8
    static let coupling = 0.54

    static func zone(
        lag: Double = 2, initial: Double = 25, millilitres: Double = Reactor.millilitres, rpm: Double = 800,
        noise: Double = 0
    ) -> ThermalPlant.ZoneParameters {
        ThermalPlant.ZoneParameters(
            name: "reactor", heaterWatts: heater, heatCapacityJoulesPerKelvin: blockHeat, lossWattsPerKelvin: loss,
            initialCelsius: initial, sensorLagSeconds: lag, sensorNoiseCelsius: noise,
            charge: ThermalPlant.LiquidCharge(
                millilitres: millilitres, heatCapacityJoulesPerMillilitreKelvin: perMillilitre,
                couplingWattsPerKelvinAt800RPM: coupling, stirRPM: rpm))
    }

    /// The eigenvalues of [[−(k+G)/C_b, G/C_b], [G/C_l, −G/C_l]] by the quadratic formula, derived
    /// here independently of the plant: λ² − tr λ + det = 0.
    static func eigenvalues(liquidHeat: Double, coupling: Double = Reactor.coupling) -> (fast: Double, slow: Double) {
        let a = -(loss + coupling) / blockHeat
        let d = -coupling / liquidHeat
        let trace = a + d
        let determinant = a * d - (coupling / blockHeat) * (coupling / liquidHeat)
        let root = (trace * trace - 4 * determinant).squareRoot()
        return ((trace - root) / 2, (trace + root) / 2)
    }
}

/// A classical fourth-order Runge–Kutta integration of the same three equations at 1 ms: the
/// independent reference the closed form is held to.
struct ReferenceReactor {
    var block: Double
    var liquid: Double
    var sensor: Double
    var lossJoules = 0.0
    let blockHeat: Double
    let liquidHeat: Double
    let coupling: Double
    let loss: Double
    let lag: Double
    let ambient: Double

    /// d/dt of (block, liquid, sensor, lost heat).
    func derivative(_ x: (Double, Double, Double), power: Double) -> (Double, Double, Double, Double) {
        let (block, liquid, sensor) = x
        let toLiquid = coupling * (block - liquid)
        let lost = loss * (block - ambient)
        return ((power - lost - toLiquid) / blockHeat, toLiquid / liquidHeat, (liquid - sensor) / lag, lost)
    }

    mutating func run(seconds: Double, power: Double, dt: Double = 0.001) {
        let steps = Int((seconds / dt).rounded())
        for _ in 0..<steps {
            let x = (block, liquid, sensor)
            let k1 = derivative(x, power: power)
            let k2 = derivative((x.0 + dt / 2 * k1.0, x.1 + dt / 2 * k1.1, x.2 + dt / 2 * k1.2), power: power)
            let k3 = derivative((x.0 + dt / 2 * k2.0, x.1 + dt / 2 * k2.1, x.2 + dt / 2 * k2.2), power: power)
            let k4 = derivative((x.0 + dt * k3.0, x.1 + dt * k3.1, x.2 + dt * k3.2), power: power)
            block += dt / 6 * (k1.0 + 2 * k2.0 + 2 * k3.0 + k4.0)
            liquid += dt / 6 * (k1.1 + 2 * k2.1 + 2 * k3.1 + k4.1)
            sensor += dt / 6 * (k1.2 + 2 * k2.2 + 2 * k3.2 + k4.2)
            lossJoules += dt / 6 * (k1.3 + 2 * k2.3 + 2 * k3.3 + k4.3)
        }
    }
}

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

/// The reactor as block + liquid + lagging probe: the exact two-node solution against RK4, the
/// energy balance, the injection, the eigenvalues, faults, stirring and the syringe's stock.
struct ReactorPlantTests {
    /// Heater on (heating from cold, or driving a hot reactor further up) or off (cooling), with the
    /// probe's lag short, typical, long, absent, and equal to the liquid's own time constant
    /// (resonance of the lag with the fast mode).
    @Test(arguments: [
        (heaterOn: true, start: 25.0, seconds: 40.0, lag: 2.0),
        (heaterOn: true, start: 240.0, seconds: 15.0, lag: 0.5),
        (heaterOn: false, start: 300.0, seconds: 60.0, lag: 2.0),
        (heaterOn: false, start: 240.0, seconds: 20.0, lag: 0.0),
        (heaterOn: true, start: 25.0, seconds: 30.0, lag: -1),  // -1: the fast mode's 1/|λ|
        (heaterOn: true, start: 25.0, seconds: 30.0, lag: -2),  // -2: the slow mode's 1/|λ|
    ])
    func twoNodeClosedFormMatchesRungeKutta(heaterOn: Bool, start: Double, seconds: Double, lag: Double) {
        let liquidHeat = Reactor.millilitres * Reactor.perMillilitre
        let rates = Reactor.eigenvalues(liquidHeat: liquidHeat)
        let probeLag = lag == -1 ? -1 / rates.fast : lag == -2 ? -1 / rates.slow : lag
        let plant = ThermalPlant(ambientCelsius: 25, zones: [Reactor.zone(lag: probeLag, initial: start)], seed: 1)
        plant.setHeater(of: 0, on: heaterOn, at: 0)
        // Start the liquid apart from the block, so that both modes are excited.
        plant.inject(zone: 0, volumeML: 0.3, celsius: 25, at: 0)
        let mixed = (0.9 * start + 0.3 * 25) / 1.2
        var reference = ReferenceReactor(
            block: start, liquid: mixed, sensor: start, blockHeat: Reactor.blockHeat,
            liquidHeat: 1.2 * Reactor.perMillilitre, coupling: Reactor.coupling, loss: Reactor.loss,
            lag: probeLag > 0 ? probeLag : .infinity, ambient: 25)
        let power = heaterOn ? Reactor.heater : 0
        // Compare along the way (the probe is reached through its lag; with no lag it is the liquid).
        for checkpoint in stride(from: seconds / 4, through: seconds, by: seconds / 4) {
            reference.run(seconds: seconds / 4, power: power)
            let state = plant.state(of: 0, at: checkpoint)
            #expect(abs(state.blockCelsius - reference.block) < 1e-6)
            #expect(abs((state.liquidCelsius ?? .nan) - reference.liquid) < 1e-6)
            let referenceSensor = probeLag > 0 ? reference.sensor : reference.liquid
            #expect(abs(state.sensorCelsius - referenceSensor) < 1e-6)
            #expect(abs(state.lossJoules - reference.lossJoules) < 1e-6 * max(1, reference.lossJoules))
        }
    }

    @Test func anEmptyReactorIsTheBlockAlone() {
        let empty = ThermalPlant(ambientCelsius: 25, zones: [Reactor.zone(initial: 100, millilitres: 0)], seed: 1)
        empty.setHeater(of: 0, on: true, at: 0)
        let state = empty.state(of: 0, at: 50)
        #expect(state.liquidCelsius == nil)
        #expect(state.liquidMillilitres == 0)
        // T = T_eq + (T₀ − T_eq) e^{−t k/C}, from 100 °C.
        let equilibrium = 25 + 150 / 0.35
        let expected = equilibrium + (100 - equilibrium) * exp(-50 * 0.35 / 60)
        #expect(abs(state.celsius - expected) < 1e-9)
        #expect(state.celsius == state.blockCelsius)
        #expect(empty.rates(of: 0, at: 50).fast == nil)
        #expect(abs(empty.rates(of: 0, at: 50).slow - -0.35 / 60) < 1e-15)
        // Liquid injected into the empty reactor arrives at its own temperature.
        let injection = empty.inject(zone: 0, volumeML: 0.9, celsius: 25, at: 50)
        #expect(injection.liquidBeforeCelsius == nil)
        #expect(injection.liquidAfterCelsius == 25)
        #expect(injection.dropCelsius == 0)
        #expect(empty.state(of: 0, at: 50).liquidCelsius == 25)
        #expect(empty.rates(of: 0, at: 50).fast != nil)
    }

    /// 300 µL at 25 °C into 900 µL at 240 °C, equal heat capacities per mL: (900·240 + 300·25)/1200.
    @Test(arguments: [
        (charge: 240.0, injected: 25.0, perMillilitre: 1.8, expected: 186.25),
        (charge: 210.0, injected: 25.0, perMillilitre: 1.8, expected: 163.75),
        (charge: 300.0, injected: 25.0, perMillilitre: 1.8, expected: 231.25),
        // A leaner injected liquid (half the heat capacity per mL): (0.9·1.8·240 + 0.3·0.9·25)/(1.62 + 0.27).
        (charge: 240.0, injected: 25.0, perMillilitre: 0.9, expected: (1.62 * 240 + 0.27 * 25) / 1.89),
    ])
    func injectionMixesByHeatCapacity(charge: Double, injected: Double, perMillilitre: Double, expected: Double) {
        let plant = ThermalPlant(ambientCelsius: charge, zones: [Reactor.zone(initial: charge)], seed: 1)
        let injection = plant.inject(
            zone: 0, volumeML: 0.3, celsius: injected, at: 10, heatCapacityJoulesPerMillilitreKelvin: perMillilitre)
        #expect(abs(injection.liquidAfterCelsius - expected) < 1e-9)
        #expect(injection.liquidBeforeCelsius == charge)
        #expect(abs(injection.dropCelsius - (charge - expected)) < 1e-9)
        let state = plant.state(of: 0, at: 10)
        #expect(abs((state.liquidCelsius ?? .nan) - expected) < 1e-9)
        // The block does not move at the instant; the probe has not seen it yet.
        #expect(state.blockCelsius == charge)
        #expect(state.sensorCelsius == charge)
        #expect(state.liquidMillilitres == 1.2)
        #expect(abs(state.liquidHeatCapacityJoulesPerKelvin - (0.9 * 1.8 + 0.3 * perMillilitre)) < 1e-12)
    }

    /// After the injection into a reactor at equilibrium (heater off, room at 240 °C, so the
    /// equilibrium is 240 °C), the liquid recovers as two exponentials with the eigenvalues derived
    /// from the quadratic, the fast one being the block pulling the liquid back.
    @Test func recoveryFollowsTheDerivedEigenvalues() throws {
        let plant = ThermalPlant(ambientCelsius: 240, zones: [Reactor.zone(lag: 0, initial: 240)], seed: 1)
        plant.inject(zone: 0, volumeML: 0.3, celsius: 25, at: 0)
        let liquidHeat = 1.2 * Reactor.perMillilitre
        let rates = Reactor.eigenvalues(liquidHeat: liquidHeat)
        let planted = plant.rates(of: 0, at: 0)
        #expect(abs(try #require(planted.fast) - rates.fast) < 1e-12)
        #expect(abs(planted.slow - rates.slow) < 1e-12)
        // y_l(t) = p e^{λf t} + q e^{λs t} with y_l(0) = −53.75 and y_l'(0) = G (y_b − y_l)/C_l.
        let y0 = 186.25 - 240
        let slope = Reactor.coupling * (0 - y0) / liquidHeat
        let p = (slope - rates.slow * y0) / (rates.fast - rates.slow)
        let q = y0 - p
        // After one fast time constant the liquid has closed all but e⁻¹ of its gap to the block.
        let oneTau = plant.state(of: 0, at: -1 / rates.fast)
        let gap = oneTau.blockCelsius - (try #require(oneTau.liquidCelsius))
        #expect(abs(gap / 53.75 - exp(-1)) < 0.005)
        for t in [5.0, 10, 20, 60, 300] {
            let liquid = try #require(plant.state(of: 0, at: t).liquidCelsius)
            #expect(abs(liquid - (240 + p * exp(rates.fast * t) + q * exp(rates.slow * t))) < 1e-9)
        }
        // The reactor's numbers for the controller: τ = 3.86 s after the injection (1.2 mL),
        // 2.92 s before (0.9 mL), the whole reactor 178 s.
        #expect(abs(-1 / rates.fast - 3.858) < 0.01)
        #expect(abs(-1 / Reactor.eigenvalues(liquidHeat: 0.9 * Reactor.perMillilitre).fast - 2.920) < 0.01)
        #expect(abs(-1 / rates.slow - 177.7) < 0.1)
    }

    /// Heater energy in + injected enthalpy = heat stored + heat lost, to 1e-6 relative, across
    /// switching, an injection, a stirrer change and a dead element; and the plant's exact loss
    /// integral agrees with Simpson's rule over the block temperature read every 10 ms.
    @Test func energyBalances() {
        let plant = ThermalPlant(ambientCelsius: 25, zones: [Reactor.zone(initial: 25)], seed: 1)
        let stored0 = plant.storedJoules(of: 0, at: 0)
        var samples: [Double] = []
        var simpsonLoss = 0.0
        let dt = 0.01
        let end = 240.0
        for step in 0...Int(end / dt) {
            let t = Double(step) * dt
            if step % 100 == 0 { plant.setHeater(of: 0, on: (step / 100) % 3 != 2, at: t) }  // 2 s on, 1 s off
            if step == 12_000 { plant.inject(zone: 0, volumeML: 0.3, celsius: 25, at: t) }
            if step == 15_000 { plant.setStirring(of: 0, rpm: 200, at: t) }
            if step == 18_000 { plant.setHeaterFault(of: 0, .elementOpen, at: t) }
            samples.append(plant.state(of: 0, at: t).blockCelsius - 25)
        }
        for index in stride(from: 0, to: samples.count - 2, by: 2) {
            simpsonLoss += Reactor.loss * dt / 3 * (samples[index] + 4 * samples[index + 1] + samples[index + 2])
        }
        let state = plant.state(of: 0, at: end)
        let stored = plant.storedJoules(of: 0, at: end) - stored0
        let input = state.heaterJoules + state.injectedJoules
        #expect(state.injectedJoules == 0)  // injected at the room's temperature
        #expect(state.heaterJoules > 10_000)
        #expect(abs(input - (stored + state.lossJoules)) < 1e-6 * state.heaterJoules)
        #expect(abs(simpsonLoss - state.lossJoules) < 1e-4 * state.lossJoules)
        // 160 s of heating in 2-of-3-second windows until the element failed at 180 s: 120 s on.
        #expect(abs(state.heaterJoules - 120 * 150) < 1e-6)
    }

    @Test func readingOftenOrRarelyGivesTheSameState() {
        func run(readEvery step: Double?) -> ThermalPlant.ZoneState {
            let plant = ThermalPlant(ambientCelsius: 25, zones: [Reactor.zone(initial: 200)], seed: 3)
            var t = 0.0
            func read(until end: Double) {
                guard let step else { return }
                while t + step < end {
                    t += step
                    _ = plant.measuredCelsius(of: 0, at: t)
                }
                t = end
            }
            for window in 0..<40 {
                let start = Double(window)
                read(until: start)
                plant.setHeater(of: 0, on: true, at: start)
                read(until: start + 0.6)
                plant.setHeater(of: 0, on: false, at: start + 0.6)
                if window == 12 { plant.inject(zone: 0, volumeML: 0.3, celsius: 25, at: start + 0.7) }
                if window == 20 { plant.setStirring(of: 0, rpm: 0, at: start + 0.8) }
                if window == 25 { plant.setSensorPlacement(of: 0, .onBlock, at: start + 0.9) }
            }
            read(until: 40)
            return plant.state(of: 0, at: 40)
        }
        let rarely = run(readEvery: nil)
        for step in [0.001, 0.01, 0.37] {
            let often = run(readEvery: step)
            #expect(abs(often.blockCelsius - rarely.blockCelsius) < 1e-9)
            #expect(abs((often.liquidCelsius ?? .nan) - (rarely.liquidCelsius ?? .nan)) < 1e-9)
            #expect(abs(often.sensorCelsius - rarely.sensorCelsius) < 1e-9)
            #expect(abs(often.lossJoules - rarely.lossJoules) < 1e-7)
            #expect(abs(often.heaterJoules - rarely.heaterJoules) < 1e-12 * rarely.heaterJoules)
        }
        #expect(abs(rarely.heaterJoules - 40 * 0.6 * 150) < 1e-6)
    }

    @Test func sameSeedSameReadingsThroughAnInjection() {
        func readings(seed: UInt64) -> [Double] {
            let plant = ThermalPlant(ambientCelsius: 25, zones: [Reactor.zone(initial: 240, noise: 0.05)], seed: seed)
            plant.setHeater(of: 0, on: true, at: 0)
            plant.inject(zone: 0, volumeML: 0.3, celsius: 25, at: 5)
            return (0..<200).map { plant.measuredCelsius(of: 0, at: Double($0) * 0.1) }
        }
        #expect(readings(seed: 11) == readings(seed: 11))
        #expect(readings(seed: 11) != readings(seed: 12))
    }

    /// G(n) = G₈₀₀ (0.15 + 0.85 (n/800)^(2/3)): exact at 800 rpm, the still-liquid floor at 0.
    @Test(arguments: [(0.0, 0.15), (800.0, 1.0), (200.0, 0.15 + 0.85 * 0.396_850_262_992_049_9),
                      (3200.0, 0.15 + 0.85 * 2.519_842_099_789_746_3)])
    func couplingGrowsWithStirring(rpm: Double, factor: Double) {
        let coupling = ThermalPlant.LiquidCharge.coupling(wattsPerKelvinAt800RPM: 0.54, rpm: rpm)
        #expect(abs(coupling - 0.54 * factor) < 1e-12)
        // The plant uses it: its fast rate is the quadratic's with this conductance.
        let plant = ThermalPlant(ambientCelsius: 25, zones: [Reactor.zone(rpm: rpm)], seed: 1)
        let expected = Reactor.eigenvalues(liquidHeat: 1.62, coupling: 0.54 * factor)
        #expect(abs((plant.rates(of: 0, at: 0).fast ?? 0) - expected.fast) < 1e-12)
    }

    @Test func aDeadElementSwitchesButDoesNotHeat() {
        let plant = ThermalPlant(ambientCelsius: 25, zones: [Reactor.zone(initial: 200)], seed: 1)
        plant.setHeaterFault(of: 0, .elementOpen, at: 0)
        plant.setHeater(of: 0, on: true, at: 0)
        let state = plant.state(of: 0, at: 60)
        #expect(state.heaterOn)
        #expect(!state.heaterPowered)
        #expect(state.heaterJoules == 0)
        #expect(state.celsius < 200)  // cooling with the SSR on: what the heating-gain check sees
        #expect(state.sensorCelsius < 200)
    }

    @Test func aWeldedSSRHeatsWithTheLineOff() {
        let plant = ThermalPlant(ambientCelsius: 25, zones: [Reactor.zone(initial: 240)], seed: 1)
        plant.setHeater(of: 0, on: false, at: 0)
        plant.setHeaterFault(of: 0, .ssrWeldedOn, at: 10)
        let before = plant.state(of: 0, at: 10)
        let after = plant.state(of: 0, at: 40)
        #expect(!after.heaterOn)
        #expect(after.heaterPowered)
        #expect(abs(after.heaterJoules - 30 * 150) < 1e-9)
        #expect(before.sensorCelsius < 240)
        #expect(after.sensorCelsius - before.sensorCelsius > 10)  // what the stuck-on check sees
    }

    @Test(arguments: [ThermalPlant.SensorPlacement.inCharge, .onBlock, .inAir])
    func aProbeReadsWhatItTouches(placement: ThermalPlant.SensorPlacement) throws {
        // Without lag the probe is exactly what it touches.
        let plant = ThermalPlant(ambientCelsius: 25, zones: [Reactor.zone(lag: 0, initial: 240)], seed: 1)
        plant.inject(zone: 0, volumeML: 0.3, celsius: 25, at: 0)
        plant.setSensorPlacement(of: 0, placement, at: 0)
        let state = plant.state(of: 0, at: 3)
        let touched = switch placement {
        case .inCharge: try #require(state.liquidCelsius)
        case .onBlock: state.blockCelsius
        case .inAir: 25.0
        }
        #expect(state.sensorCelsius == touched)
        #expect(plant.measuredCelsius(of: 0, at: 3) == touched)
    }

    @Test func aProbeThatSlippedOutFollowsItsNewPlaceWithItsLag() {
        let outside = ThermalPlant(ambientCelsius: 25, zones: [Reactor.zone(lag: 2, initial: 240)], seed: 1)
        outside.setSensorPlacement(of: 0, .inAir, at: 0)
        // In the air: a lag towards a constant room, 25 + 215 e^{−t/2}.
        let inAir = outside.state(of: 0, at: 5)
        #expect(abs(inAir.sensorCelsius - (25 + 215 * exp(-5.0 / 2))) < 1e-9)
        // On the block of a reactor at equilibrium (a room at 240 °C): it misses the injection the
        // liquid feels, and follows the block, which barely moves.
        let plant = ThermalPlant(ambientCelsius: 240, zones: [Reactor.zone(lag: 2, initial: 240)], seed: 1)
        plant.setSensorPlacement(of: 0, .onBlock, at: 0)
        plant.inject(zone: 0, volumeML: 0.3, celsius: 25, at: 1)
        let onBlock = plant.state(of: 0, at: 3)
        #expect(onBlock.sensorCelsius - (onBlock.liquidCelsius ?? .infinity) > 20)
        #expect(abs(onBlock.sensorCelsius - onBlock.blockCelsius) < 1)
    }

    @Test func steadyDutyHoldsTheSetpoint() {
        let zone = Reactor.zone(lag: 0, initial: 240)
        #expect(abs(zone.steadyDuty(holding: 240, ambient: 25) - 0.35 * 215 / 150) < 1e-15)
        // A constant power of duty × P keeps 240 °C where it is.
        var constant = zone
        constant.heaterWatts = zone.steadyDuty(holding: 240, ambient: 25) * zone.heaterWatts
        let plant = ThermalPlant(ambientCelsius: 25, zones: [constant], seed: 1)
        plant.setHeater(of: 0, on: true, at: 0)
        #expect(abs(plant.state(of: 0, at: 500).celsius - 240) < 1e-9)
    }

    @Test func theSyringeStockSolidifiesBelowItsTemperature() {
        let syringe = ThermalPlant.ZoneParameters(
            name: "syringe", heaterWatts: 15, heatCapacityJoulesPerKelvin: 40, lossWattsPerKelvin: 0.12,
            initialCelsius: 60, sensorLagSeconds: 3, sensorNoiseCelsius: 0, solidifiesBelowCelsius: 50)
        let plant = ThermalPlant(ambientCelsius: 25, zones: [syringe], seed: 1)
        // Unheated, 60 °C falls to 50 °C at t = τ ln(35/25), τ = 40/0.12.
        let crossing = 40 / 0.12 * log(35.0 / 25.0)
        #expect(!plant.isSolidified(0, at: crossing - 0.01))
        #expect(plant.isSolidified(0, at: crossing + 0.01))
        // Reheated it melts again, but the twin remembers the stock was solid.
        plant.setHeater(of: 0, on: true, at: crossing + 0.01)
        let reheated = plant.state(of: 0, at: crossing + 200)
        #expect(!reheated.solidified)
        #expect(reheated.everSolidified)
        // A zone kept warm never solidifies, however rarely it is read.
        let warm = ThermalPlant(ambientCelsius: 25, zones: [syringe], seed: 1)
        warm.setHeater(of: 0, on: true, at: 0)
        #expect(!warm.state(of: 0, at: 600).everSolidified)
    }

    @Test func aBriefDipBelowIsCaughtHoweverRarelyItIsRead() {
        let syringe = ThermalPlant.ZoneParameters(
            name: "syringe", heaterWatts: 15, heatCapacityJoulesPerKelvin: 40, lossWattsPerKelvin: 0.12,
            initialCelsius: 51, sensorLagSeconds: 3, sensorNoiseCelsius: 0, solidifiesBelowCelsius: 50)
        let plant = ThermalPlant(ambientCelsius: 25, zones: [syringe], seed: 1)
        // Off for 20 s (past 50 °C at τ ln(26/25) = 13 s), then on: the next read is long after it recovered.
        plant.setHeater(of: 0, on: true, at: 20)
        let state = plant.state(of: 0, at: 300)
        #expect(state.celsius > 50)
        #expect(!state.solidified)
        #expect(state.everSolidified)
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
