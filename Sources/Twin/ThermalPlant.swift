#if canImport(Glibc)
import Glibc
#endif

/// The twin's thermal plant: lumped first-order zones (the reactor block, the heated precursor
/// syringe), each heated by one on/off heater and read by one lagging thermocouple.
///
///     C dT/dt = P·u − k (T − T_ambient)        (u = 1 while the heater is on)
///     τ_s dT_s/dt = T − T_s                   (thermocouple lag)
///
/// Between two events (a heater switching, a reading) `u` is constant, so both equations are
/// solved exactly rather than stepped: the result does not depend on how often anyone looks.
public final class ThermalPlant {
    /// One zone's physical parameters.
    public struct ZoneParameters: Equatable, Sendable {
        public var name: String
        public var heaterWatts: Double
        public var heatCapacityJoulesPerKelvin: Double
        public var lossWattsPerKelvin: Double
        public var initialCelsius: Double
        public var sensorLagSeconds: Double
        public var sensorNoiseCelsius: Double

        public init(
            name: String, heaterWatts: Double, heatCapacityJoulesPerKelvin: Double,
            lossWattsPerKelvin: Double, initialCelsius: Double, sensorLagSeconds: Double,
            sensorNoiseCelsius: Double
        ) {
            precondition(heatCapacityJoulesPerKelvin > 0 && lossWattsPerKelvin > 0)
            self.name = name
            self.heaterWatts = heaterWatts
            self.heatCapacityJoulesPerKelvin = heatCapacityJoulesPerKelvin
            self.lossWattsPerKelvin = lossWattsPerKelvin
            self.initialCelsius = initialCelsius
            self.sensorLagSeconds = sensorLagSeconds
            self.sensorNoiseCelsius = sensorNoiseCelsius
        }

        /// The time constant C/k of the zone.
        public var timeConstantSeconds: Double { heatCapacityJoulesPerKelvin / lossWattsPerKelvin }
    }

    /// A zone's state now.
    public struct ZoneState: Equatable, Sendable {
        /// The true temperature of what is heated.
        public var celsius: Double
        /// What the thermocouple tip has reached (lagging `celsius`), before noise.
        public var sensorCelsius: Double
        public var heaterOn: Bool
        /// Heater energy delivered since the start, J.
        public var heaterJoules: Double
    }

    public let ambientCelsius: Double
    public private(set) var zones: [ZoneParameters]
    private var states: [ZoneState]
    private var lastUpdate: Double
    private var random: SeededRandom

    /// - Parameters:
    ///   - startSeconds: the clock reading the initial temperatures belong to.
    public init(ambientCelsius: Double, zones: [ZoneParameters], seed: UInt64, startSeconds: Double = 0) {
        self.ambientCelsius = ambientCelsius
        self.zones = zones
        self.states = zones.map {
            ZoneState(celsius: $0.initialCelsius, sensorCelsius: $0.initialCelsius, heaterOn: false, heaterJoules: 0)
        }
        self.lastUpdate = startSeconds
        self.random = SeededRandom(seed: seed)
    }

    /// The index of the zone called `name`.
    public func zoneIndex(named name: String) -> Int? {
        zones.firstIndex { $0.name == name }
    }

    /// The state of zone `index` at `seconds` (advancing the plant to that time first).
    public func state(of index: Int, at seconds: Double) -> ZoneState {
        advance(to: seconds)
        return states[index]
    }

    /// What the thermocouple of zone `index` reads at `seconds`: the lagged temperature plus
    /// Gaussian noise from the seeded generator.
    public func measuredCelsius(of index: Int, at seconds: Double) -> Double {
        advance(to: seconds)
        let noise = zones[index].sensorNoiseCelsius
        return states[index].sensorCelsius + (noise > 0 ? noise * random.nextGaussian() : 0)
    }

    /// Switches the heater of zone `index` at `seconds`; the time before it is integrated with
    /// the old state.
    public func setHeater(of index: Int, on: Bool, at seconds: Double) {
        advance(to: seconds)
        states[index].heaterOn = on
    }

    /// Integrates every zone exactly from the last update to `seconds` (earlier times are ignored:
    /// the plant never runs backwards).
    public func advance(to seconds: Double) {
        let elapsed = seconds - lastUpdate
        guard elapsed > 0 else { return }
        for index in states.indices {
            states[index] = Self.evolve(states[index], zones[index], ambient: ambientCelsius, over: elapsed)
        }
        lastUpdate = seconds
    }

    /// The exact solution over `dt` with the heater state held: T relaxes to its equilibrium with
    /// τ = C/k, and the sensor, a first-order lag of T, follows the closed form of a lag driven by
    /// an exponential.
    static func evolve(_ state: ZoneState, _ zone: ZoneParameters, ambient: Double, over dt: Double) -> ZoneState {
        let power = state.heaterOn ? zone.heaterWatts : 0
        let equilibrium = ambient + power / zone.lossWattsPerKelvin
        let tau = zone.timeConstantSeconds
        let amplitude = state.celsius - equilibrium
        let decay = exp(-dt / tau)
        var next = state
        next.celsius = equilibrium + amplitude * decay
        next.heaterJoules += power * dt

        let lag = zone.sensorLagSeconds
        if lag <= 0 {
            next.sensorCelsius = next.celsius
        } else {
            let lagDecay = exp(-dt / lag)
            let forced: Double
            if abs(tau - lag) < 1e-9 * tau {
                // Resonant case: the driven term is amplitude · (dt/τ) · e^(−dt/τ).
                forced = amplitude * (dt / tau) * decay
            } else {
                let coupling = amplitude * tau / (tau - lag)
                forced = coupling * (decay - lagDecay)
            }
            next.sensorCelsius = equilibrium + (state.sensorCelsius - equilibrium) * lagDecay + forced
        }
        return next
    }
}
