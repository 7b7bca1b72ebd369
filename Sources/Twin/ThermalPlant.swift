#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The twin's thermal plant: lumped zones (the reactor, the heated precursor syringe), each heated
/// by one on/off heater and read by one lagging, noisy thermocouple.
///
/// A zone is a heated metal body (the stainless block with its cartridge heater, or the syringe
/// barrel under its heating tape) and, optionally, a stirred liquid charge inside it:
///
///     C_b dT_b/dt = P·u − k (T_b − T_a) − G(n) (T_b − T_l)     (block: heater, loss, coupling)
///     C_l dT_l/dt = G(n) (T_b − T_l)                           (liquid, C_l = V · c_v)
///     τ_s dT_s/dt = T_x − T_s                                  (thermocouple lag; T_x = T_l, T_b or T_a)
///
/// with u = 1 while the element dissipates. Without liquid (an empty reactor, the syringe) the
/// zone is the block alone. The heat lost to the room leaves through the block only (the liquid
/// sits inside it), so at equilibrium liquid and block share T_a + P u / k.
///
/// Between two events (a heater switching, an injection, a fault, a reading) u and G are
/// constant and the system is linear, so it is solved exactly rather than stepped: the 2×2
/// block–liquid system through its matrix exponential, written with Sylvester's spectral
/// projectors e^{At} = e^{λ₁t} (A − λ₂I)/(λ₁ − λ₂) + e^{λ₂t} (A − λ₁I)/(λ₂ − λ₁) (its
/// eigenvalues are real, negative and distinct whenever G > 0 and k > 0: A is similar to a
/// symmetric matrix through diag(√C), its determinant k G/(C_b C_l) is positive); the sensor lag
/// as a first-order filter driven by that sum of exponentials (closed form, resonance included);
/// the heat lost to the room as the exact integral of k (T_b − T_a). The result does not depend
/// on how often anyone looks.
///
/// The block–liquid conductance grows with stirring: `LiquidCharge.coupling(wattsPerKelvinAt800RPM:rpm:)`.
public final class ThermalPlant {
    /// A zone's liquid compartment: the reactor's charge, stirred, coupled to the block.
    public struct LiquidCharge: Equatable, Sendable {
        /// The liquid at start, mL (0: an empty reactor, the block alone until something is injected).
        public var millilitres: Double
        /// Volumetric heat capacity ρ c_p of the charge, J/(mL·K) (ODE/oleic acid: about 1.8).
        public var heatCapacityJoulesPerMillilitreKelvin: Double
        /// Block–liquid conductance h·A at the reference stirring speed (800 rpm), W/K.
        public var couplingWattsPerKelvinAt800RPM: Double
        /// The stirrer speed at start, rpm.
        public var stirRPM: Double

        public init(
            millilitres: Double, heatCapacityJoulesPerMillilitreKelvin: Double,
            couplingWattsPerKelvinAt800RPM: Double, stirRPM: Double = ThermalPlant.LiquidCharge.referenceRPM
        ) {
            precondition(millilitres >= 0 && millilitres.isFinite, "a charge holds 0 mL or more")
            precondition(heatCapacityJoulesPerMillilitreKelvin > 0 && heatCapacityJoulesPerMillilitreKelvin.isFinite)
            precondition(couplingWattsPerKelvinAt800RPM > 0 && couplingWattsPerKelvinAt800RPM.isFinite)
            precondition(stirRPM >= 0 && stirRPM.isFinite)
            self.millilitres = millilitres
            self.heatCapacityJoulesPerMillilitreKelvin = heatCapacityJoulesPerMillilitreKelvin
            self.couplingWattsPerKelvinAt800RPM = couplingWattsPerKelvinAt800RPM
            self.stirRPM = stirRPM
        }

        /// The speed the board's `coupling_w_per_k` is given at.
        public static let referenceRPM = 800.0
        /// The part of the coupling left when the stirrer stops: natural convection and conduction
        /// in a millilitre of liquid heated from its walls, a few times weaker than stirred.
        public static let stillFraction = 0.15
        /// The stirred-vessel exponent: the wall film coefficient of an agitated vessel scales as
        /// Re^(2/3) with Re = ρ N D²/μ, so as N^(2/3) (Chilton, Drew and Jebens, Ind. Eng. Chem.
        /// 36 (1944) 510: Nu = 0.36 Re^(2/3) Pr^(1/3) (μ/μ_w)^0.14, the standard jacketed-vessel
        /// correlation).
        public static let stirringExponent = 2.0 / 3.0

        /// The block–liquid conductance at `rpm`:
        ///
        ///     G(n) = G₈₀₀ · [f₀ + (1 − f₀) (n / 800)^(2/3)]
        ///
        /// the forced-convection term of Chilton–Drew–Jebens on top of a still-liquid floor
        /// f₀ = `stillFraction`; G(800) = G₈₀₀ exactly.
        public static func coupling(wattsPerKelvinAt800RPM reference: Double, rpm: Double) -> Double {
            let ratio = max(rpm, 0) / referenceRPM
            return reference * (stillFraction + (1 - stillFraction) * pow(ratio, stirringExponent))
        }
    }

    /// One zone's physical parameters.
    public struct ZoneParameters: Equatable, Sendable {
        public var name: String
        public var heaterWatts: Double
        /// The heated body (block, syringe barrel), J/K.
        public var heatCapacityJoulesPerKelvin: Double
        /// Heat loss of the body to the room, W/K.
        public var lossWattsPerKelvin: Double
        /// Every node (block, liquid, sensor) starts here.
        public var initialCelsius: Double
        public var sensorLagSeconds: Double
        public var sensorNoiseCelsius: Double
        /// The liquid compartment, if the zone has one (the reactor); nil: the body alone.
        public var charge: LiquidCharge?
        /// The temperature below which what the zone keeps warm solidifies (Cd-oleate stock), if any.
        public var solidifiesBelowCelsius: Double?

        public init(
            name: String, heaterWatts: Double, heatCapacityJoulesPerKelvin: Double,
            lossWattsPerKelvin: Double, initialCelsius: Double, sensorLagSeconds: Double,
            sensorNoiseCelsius: Double, charge: LiquidCharge? = nil, solidifiesBelowCelsius: Double? = nil
        ) {
            precondition(heatCapacityJoulesPerKelvin > 0 && lossWattsPerKelvin > 0)
            precondition(heaterWatts >= 0 && sensorLagSeconds >= 0 && sensorNoiseCelsius >= 0)
            self.name = name
            self.heaterWatts = heaterWatts
            self.heatCapacityJoulesPerKelvin = heatCapacityJoulesPerKelvin
            self.lossWattsPerKelvin = lossWattsPerKelvin
            self.initialCelsius = initialCelsius
            self.sensorLagSeconds = sensorLagSeconds
            self.sensorNoiseCelsius = sensorNoiseCelsius
            self.charge = charge
            self.solidifiesBelowCelsius = solidifiesBelowCelsius
        }

        /// The time constant C/k of the body alone.
        public var timeConstantSeconds: Double { heatCapacityJoulesPerKelvin / lossWattsPerKelvin }

        /// The duty that holds the zone at `celsius` in a room at `ambient`: k (T − T_a) / P
        /// (at equilibrium no heat flows between block and liquid). Above 1: out of reach.
        public func steadyDuty(holding celsius: Double, ambient: Double) -> Double {
            lossWattsPerKelvin * (celsius - ambient) / heaterWatts
        }
    }

    /// Where the thermocouple tip is.
    public enum SensorPlacement: String, Equatable, Sendable, CaseIterable {
        /// Where it belongs: in the liquid (or, with no liquid, in the block's well).
        case inCharge
        /// Slipped out of the liquid against the block wall: reads the block.
        case onBlock
        /// Pulled out of the reactor: reads the room.
        case inAir
    }

    /// What is wrong with a heater, for the safety tests.
    public enum HeaterFault: String, Equatable, Sendable, CaseIterable {
        case none
        /// The element is open (burnt out, connector off): the SSR switches, nothing heats.
        case elementOpen
        /// The SSR has failed short (welded): the element runs at full power whatever the line says.
        case ssrWeldedOn
    }

    /// A zone's state now.
    public struct ZoneState: Equatable, Sendable {
        /// The heated body (block, syringe barrel).
        public var blockCelsius: Double
        /// The liquid charge; nil when the zone holds none (an empty reactor, the syringe).
        public var liquidCelsius: Double?
        /// The liquid in the zone, mL (charge plus injections).
        public var liquidMillilitres: Double
        /// The liquid's heat capacity, J/K.
        public var liquidHeatCapacityJoulesPerKelvin: Double
        public var stirRPM: Double
        /// What the thermocouple tip has reached (lagging what it touches), before noise.
        public var sensorCelsius: Double
        public var sensorPlacement: SensorPlacement
        /// The SSR's input: what the heater line commands.
        public var heaterOn: Bool
        public var heaterFault: HeaterFault
        /// Heater energy delivered since the start, J.
        public var heaterJoules: Double
        /// Heat lost to the room since the start, J (the exact integral of k (T_b − T_a)).
        public var lossJoules: Double
        /// Enthalpy brought in by injections, relative to the room: Σ C_injected (T_injected − T_a), J.
        public var injectedJoules: Double
        /// Whether what the zone keeps warm is below its solidification temperature now.
        public var solidified: Bool
        /// Whether it has been below it at any time since the start.
        public var everSolidified: Bool

        /// The temperature of what is heated: the liquid when there is liquid, else the body.
        public var celsius: Double { liquidCelsius ?? blockCelsius }

        /// Whether the element dissipates: the line's command, unless a fault overrides it.
        public var heaterPowered: Bool {
            switch heaterFault {
            case .none: heaterOn
            case .elementOpen: false
            case .ssrWeldedOn: true
            }
        }
    }

    /// What an injection did to the liquid.
    public struct Injection: Equatable, Sendable {
        public var seconds: Double
        public var volumeML: Double
        public var injectedCelsius: Double
        /// The liquid just before (nil: the reactor was empty).
        public var liquidBeforeCelsius: Double?
        /// The liquid at once after mixing.
        public var liquidAfterCelsius: Double
        /// The block at the instant of injection (it does not change at once).
        public var blockCelsius: Double

        /// How far the liquid fell at once (0 into an empty reactor).
        public var dropCelsius: Double { (liquidBeforeCelsius ?? liquidAfterCelsius) - liquidAfterCelsius }
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
        self.states = zones.map { zone in
            let millilitres = zone.charge?.millilitres ?? 0
            let initial = zone.initialCelsius
            let solid = zone.solidifiesBelowCelsius.map { initial < $0 } ?? false
            return ZoneState(
                blockCelsius: initial, liquidCelsius: millilitres > 0 ? initial : nil,
                liquidMillilitres: millilitres,
                liquidHeatCapacityJoulesPerKelvin: millilitres * (zone.charge?.heatCapacityJoulesPerMillilitreKelvin ?? 0),
                stirRPM: zone.charge?.stirRPM ?? 0,
                sensorCelsius: initial, sensorPlacement: .inCharge, heaterOn: false, heaterFault: .none,
                heaterJoules: 0, lossJoules: 0, injectedJoules: 0, solidified: solid, everSolidified: solid)
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

    /// Whether what zone `index` keeps warm is solid at `seconds` (false for a zone without a
    /// solidification temperature).
    public func isSolidified(_ index: Int, at seconds: Double) -> Bool {
        state(of: index, at: seconds).solidified
    }

    /// Heat stored in zone `index` relative to the room, C_b (T_b − T_a) + C_l (T_l − T_a), J.
    /// Energy balance: heaterJoules + injectedJoules = stored(now) − stored(start) + lossJoules.
    public func storedJoules(of index: Int, at seconds: Double) -> Double {
        let state = state(of: index, at: seconds)
        let block = zones[index].heatCapacityJoulesPerKelvin * (state.blockCelsius - ambientCelsius)
        let liquid = state.liquidCelsius.map { state.liquidHeatCapacityJoulesPerKelvin * ($0 - ambientCelsius) } ?? 0
        return block + liquid
    }

    /// The decay rates (eigenvalues, 1/s, negative) of zone `index` as it is at `seconds`: `slow`
    /// the whole zone relaxing to the room through k, `fast` the liquid settling to the block
    /// through G (nil without liquid). −1/rate is the time constant.
    public func rates(of index: Int, at seconds: Double) -> (slow: Double, fast: Double?) {
        let state = state(of: index, at: seconds)
        let modes = Self.modes(state, zones[index], equilibrium: ambientCelsius)
        return state.liquidCelsius == nil ? (modes.slow, nil) : (modes.slow, modes.fast)
    }

    /// Switches the heater of zone `index` at `seconds`; the time before it is integrated with
    /// the old state.
    public func setHeater(of index: Int, on: Bool, at seconds: Double) {
        advance(to: seconds)
        states[index].heaterOn = on
    }

    /// Breaks (or repairs, with `.none`) the heater of zone `index` from `seconds` on.
    public func setHeaterFault(of index: Int, _ fault: HeaterFault, at seconds: Double) {
        advance(to: seconds)
        states[index].heaterFault = fault
    }

    /// Moves the thermocouple tip of zone `index` from `seconds` on; it keeps its temperature and
    /// follows what it now touches with its lag.
    public func setSensorPlacement(of index: Int, _ placement: SensorPlacement, at seconds: Double) {
        advance(to: seconds)
        states[index].sensorPlacement = placement
    }

    /// Changes the stirrer speed of zone `index` (which must hold a liquid compartment) from `seconds` on.
    public func setStirring(of index: Int, rpm: Double, at seconds: Double) {
        precondition(zones[index].charge != nil, "zone \(zones[index].name) has no liquid to stir")
        precondition(rpm >= 0 && rpm.isFinite)
        advance(to: seconds)
        states[index].stirRPM = rpm
    }

    /// The hot injection: `volumeML` of liquid at `celsius` enters the liquid of zone `index` (which
    /// must hold a liquid compartment) at `seconds`. The liquid mixes at once by heat capacity,
    ///
    ///     T_mixed = (C_l T_l + c_v V T_inj) / (C_l + c_v V)
    ///
    /// and the block, unchanged at that instant, then pulls it back with the coupling time
    /// constant. `heatCapacityJoulesPerMillilitreKelvin` is the injected liquid's (default: the
    /// charge's; TOP-Se in ODE is close to the ODE/OA charge).
    @discardableResult
    public func inject(
        zone index: Int, volumeML: Double, celsius: Double, at seconds: Double,
        heatCapacityJoulesPerMillilitreKelvin: Double? = nil
    ) -> Injection {
        guard let charge = zones[index].charge else {
            preconditionFailure("zone \(zones[index].name) has no liquid compartment to inject into")
        }
        precondition(volumeML > 0 && volumeML.isFinite && celsius.isFinite, "inject a positive volume at a finite temperature")
        let perMillilitre = heatCapacityJoulesPerMillilitreKelvin ?? charge.heatCapacityJoulesPerMillilitreKelvin
        precondition(perMillilitre > 0 && perMillilitre.isFinite)
        advance(to: seconds)

        var state = states[index]
        let added = perMillilitre * volumeML
        let before = state.liquidCelsius
        let after = before.map {
            (state.liquidHeatCapacityJoulesPerKelvin * $0 + added * celsius) / (state.liquidHeatCapacityJoulesPerKelvin + added)
        } ?? celsius
        state.liquidCelsius = after
        state.liquidHeatCapacityJoulesPerKelvin += added
        state.liquidMillilitres += volumeML
        state.injectedJoules += added * (celsius - ambientCelsius)
        Self.updateSolidified(&state, zones[index])
        states[index] = state
        return Injection(
            seconds: max(seconds, lastUpdate), volumeML: volumeML, injectedCelsius: celsius,
            liquidBeforeCelsius: before, liquidAfterCelsius: after, blockCelsius: state.blockCelsius)
    }

    /// The reactor drained and a new charge loaded: from `seconds` on, zone `index` holds
    /// `millilitres` of liquid at `celsius` (a campaign's next experiment; the block keeps its
    /// temperature). Zero millilitres leaves the block alone with no liquid.
    public func replaceLiquid(zone index: Int, millilitres: Double, celsius: Double, at seconds: Double) {
        guard let charge = zones[index].charge else {
            preconditionFailure("zone \(zones[index].name) has no liquid compartment")
        }
        precondition(millilitres >= 0 && millilitres.isFinite && celsius.isFinite, "a charge is a volume at a temperature")
        advance(to: seconds)
        var state = states[index]
        state.liquidMillilitres = millilitres
        state.liquidHeatCapacityJoulesPerKelvin = millilitres * charge.heatCapacityJoulesPerMillilitreKelvin
        state.liquidCelsius = millilitres > 0 ? celsius : nil
        Self.updateSolidified(&state, zones[index])
        states[index] = state
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

    // MARK: - The exact solution

    /// The zone's deviation from its equilibrium as a sum of two decaying exponentials per node:
    /// T_b(t) = T_eq + b₁ e^{λ₁t} + b₂ e^{λ₂t}, T_l(t) = T_eq + l₁ e^{λ₁t} + l₂ e^{λ₂t}.
    struct Modes {
        /// λ_fast, λ_slow (λ_fast = λ_slow and zero fast amplitudes for a zone without liquid).
        var fast: Double
        var slow: Double
        var blockFast: Double
        var blockSlow: Double
        var liquidFast: Double
        var liquidSlow: Double
    }

    /// The modal decomposition of the state about `equilibrium`, from the Sylvester projectors of
    /// the 2×2 system matrix A = [[−(k+G)/C_b, G/C_b], [G/C_l, −G/C_l]].
    static func modes(_ state: ZoneState, _ zone: ZoneParameters, equilibrium: Double) -> Modes {
        let blockHeat = zone.heatCapacityJoulesPerKelvin
        let loss = zone.lossWattsPerKelvin
        let blockDeviation = state.blockCelsius - equilibrium
        guard let liquid = state.liquidCelsius, let charge = zone.charge else {
            let rate = -loss / blockHeat
            return Modes(fast: rate, slow: rate, blockFast: 0, blockSlow: blockDeviation, liquidFast: 0, liquidSlow: 0)
        }
        let liquidDeviation = liquid - equilibrium
        let liquidHeat = state.liquidHeatCapacityJoulesPerKelvin
        let coupling = LiquidCharge.coupling(wattsPerKelvinAt800RPM: charge.couplingWattsPerKelvinAt800RPM, rpm: state.stirRPM)
        let a = -(loss + coupling) / blockHeat
        let b = coupling / blockHeat
        let c = coupling / liquidHeat
        let d = -coupling / liquidHeat
        // λ = (tr ∓ √((a − d)² + 4bc)) / 2; the slow root from det/λ_fast avoids cancellation.
        let root = ((a - d) * (a - d) + 4 * b * c).squareRoot()
        let fast = (a + d - root) / 2
        let slow = (loss * coupling / (blockHeat * liquidHeat)) / fast
        let separation = fast - slow
        // P_fast · y = (A − λ_slow I) y / (λ_fast − λ_slow); P_slow = I − P_fast.
        let blockFast = ((a - slow) * blockDeviation + b * liquidDeviation) / separation
        let liquidFast = (c * blockDeviation + (d - slow) * liquidDeviation) / separation
        return Modes(
            fast: fast, slow: slow, blockFast: blockFast, blockSlow: blockDeviation - blockFast,
            liquidFast: liquidFast, liquidSlow: liquidDeviation - liquidFast)
    }

    /// ∫₀ᵗ e^{λu} du = (e^{λt} − 1)/λ, accurate for small λt.
    static func integratedExponential(rate: Double, over t: Double) -> Double {
        rate == 0 ? t : expm1(rate * t) / rate
    }

    /// (e^{λt} − e^{μt}) / (λ − μ), t e^{μt} at λ = μ, accurate near resonance and free of overflow.
    static func dividedExponential(_ rate: Double, _ other: Double, over t: Double) -> Double {
        let x = (rate - other) * t
        if abs(x) < 1 {
            let phi = x == 0 ? 1 : expm1(x) / x
            return exp(other * t) * t * phi
        }
        return (exp(rate * t) - exp(other * t)) / (rate - other)
    }

    /// The exact solution over `dt` with the heater, coupling and sensor placement held.
    static func evolve(_ state: ZoneState, _ zone: ZoneParameters, ambient: Double, over dt: Double) -> ZoneState {
        let power = state.heaterPowered ? zone.heaterWatts : 0
        let loss = zone.lossWattsPerKelvin
        let equilibrium = ambient + power / loss
        let modes = Self.modes(state, zone, equilibrium: equilibrium)
        let fastDecay = exp(modes.fast * dt)
        let slowDecay = exp(modes.slow * dt)

        var next = state
        next.heaterJoules += power * dt
        next.blockCelsius = equilibrium + modes.blockFast * fastDecay + modes.blockSlow * slowDecay
        if state.liquidCelsius != nil {
            next.liquidCelsius = equilibrium + modes.liquidFast * fastDecay + modes.liquidSlow * slowDecay
        }
        next.lossJoules += loss * ((equilibrium - ambient) * dt
            + modes.blockFast * integratedExponential(rate: modes.fast, over: dt)
            + modes.blockSlow * integratedExponential(rate: modes.slow, over: dt))

        // What the tip follows, as T_eq + a_fast e^{λ_fast t} + a_slow e^{λ_slow t}.
        let source: (equilibrium: Double, fast: Double, slow: Double, now: Double)
        switch state.sensorPlacement {
        case .inCharge where state.liquidCelsius != nil:
            source = (equilibrium, modes.liquidFast, modes.liquidSlow, next.liquidCelsius ?? next.blockCelsius)
        case .inCharge, .onBlock:
            source = (equilibrium, modes.blockFast, modes.blockSlow, next.blockCelsius)
        case .inAir:
            source = (ambient, 0, 0, ambient)
        }
        let lag = zone.sensorLagSeconds
        if lag <= 0 {
            next.sensorCelsius = source.now
        } else {
            // τ s' = x − s, x = x_eq + Σ a_i e^{λ_i t}:
            // s(t) = x_eq + (s₀ − x_eq) e^{μt} − μ Σ a_i (e^{λ_i t} − e^{μt})/(λ_i − μ), μ = −1/τ.
            let rate = -1 / lag
            var driven = 0.0
            if source.fast != 0 { driven += source.fast * dividedExponential(modes.fast, rate, over: dt) }
            if source.slow != 0 { driven += source.slow * dividedExponential(modes.slow, rate, over: dt) }
            next.sensorCelsius = source.equilibrium + (state.sensorCelsius - source.equilibrium) * exp(rate * dt)
                - rate * driven
        }
        updateSolidified(&next, zone)
        return next
    }

    /// The solidified flags at the end of a step (or an injection). Each step starts where the
    /// last one ended, already checked; a zone without liquid relaxes monotonically between
    /// events, so its lowest point is an end point and the latch is exact however rarely the
    /// plant is read (with liquid, the two-exponential path could dip between end points unseen).
    static func updateSolidified(_ state: inout ZoneState, _ zone: ZoneParameters) {
        guard let threshold = zone.solidifiesBelowCelsius else { return }
        state.solidified = state.celsius < threshold
        if state.solidified { state.everSolidified = true }
    }
}
