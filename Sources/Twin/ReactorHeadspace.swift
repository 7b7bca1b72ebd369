#if canImport(Glibc)
import Glibc
#endif

/// The gas head space above the reactor's liquid: its pressure as the pressurization valve admits
/// gas, the vent releases it, and liquid leaves (sampling) or arrives (loading, injection).
///
/// Model (documented so tests can check it in closed form):
/// - Ideal gas at constant temperature; the amount of gas is kept as N, in µL at atmospheric
///   pressure: N = (p + P_atm) V / P_atm, with p the gauge pressure (mbar) and V the gas volume
///   (reactor volume minus liquid, µL). The head space's temperature is taken as constant (its
///   change over a run is slow next to the regulation).
/// - Gas flows are linear in the pressure difference (laminar restrictors): in through the open
///   pressurization valve G_in (p_supply − p), out through the open vent G_vent p and through
///   the leak G_leak p, each conductance in µL(atm)/(s·mbar). Then dp/dt = a − b p with
///   a = P_atm G_in p_supply / V and b = P_atm (G_in + G_vent + G_leak) / V (only the open
///   valves' terms), solved exactly: p(t) = a/b + (p0 − a/b) e^(−b t).
/// - Liquid leaving through the sampling line of resistance R (mbar·s/µL) with both gas valves
///   closed: dV/dt = p / R while (p + P_atm) V stays constant (K). Exactly,
///   t(V) = (R / P_atm) [ (V0 − V) + (K / P_atm) ln((K − P_atm V0) / (K − P_atm V)) ],
///   inverted by bisection. The constant-pressure law (Devices `SamplingValveTiming`) is its
///   first-order approximation.
/// - Liquid arriving or leaving at once compresses or expands the gas isothermally.
public struct ReactorHeadspace: Equatable, Sendable {
    /// Standard atmosphere, mbar (absolute).
    public static let atmosphereMbar = 1013.25

    /// The reactor's inner volume, µL (liquid plus gas).
    public let reactorMicrolitres: Double
    /// The liquid in it, µL.
    public private(set) var liquidMicrolitres: Double
    /// The head space's gauge pressure, mbar.
    public private(set) var gaugeMbar: Double
    /// The regulated gas supply behind the pressurization valve, mbar gauge.
    public var supplyMbar: Double
    /// G_in, G_vent, G_leak: µL(atm)/(s·mbar).
    public var pressurizeConductance: Double
    public var ventConductance: Double
    public var leakConductance: Double
    public var pressurizeOpen = false
    public var ventOpen = false

    public init(
        reactorMicrolitres: Double, liquidMicrolitres: Double, supplyMbar: Double, pressurizeConductance: Double,
        ventConductance: Double, leakConductance: Double = 0, gaugeMbar: Double = 0
    ) {
        precondition(reactorMicrolitres > 0 && liquidMicrolitres >= 0 && liquidMicrolitres < reactorMicrolitres,
            "the liquid must leave a head space in the reactor")
        precondition(pressurizeConductance >= 0 && ventConductance >= 0 && leakConductance >= 0, "conductances are not negative")
        precondition(gaugeMbar > -ReactorHeadspace.atmosphereMbar, "absolute pressure is positive")
        self.reactorMicrolitres = reactorMicrolitres
        self.liquidMicrolitres = liquidMicrolitres
        self.supplyMbar = supplyMbar
        self.pressurizeConductance = pressurizeConductance
        self.ventConductance = ventConductance
        self.leakConductance = leakConductance
        self.gaugeMbar = gaugeMbar
    }

    /// V, the gas volume, µL.
    public var gasMicrolitres: Double { reactorMicrolitres - liquidMicrolitres }

    /// The pressure the open valves drive towards, and the rate (1/s) they drive it at.
    public var equilibrium: (gaugeMbar: Double, ratePerSecond: Double) {
        let atm = ReactorHeadspace.atmosphereMbar
        let inflow = pressurizeOpen ? pressurizeConductance : 0
        let outflow = (ventOpen ? ventConductance : 0) + leakConductance
        let b = atm * (inflow + outflow) / gasMicrolitres
        guard b > 0 else { return (gaugeMbar, 0) }
        let a = atm * inflow * supplyMbar / gasMicrolitres
        return (a / b, b)
    }

    /// Lets `seconds` pass with the valves as they are (exact).
    public mutating func advance(seconds: Double) {
        precondition(seconds >= 0, "time only moves forward")
        let (target, rate) = equilibrium
        guard rate > 0 else { return }
        gaugeMbar = target + (gaugeMbar - target) * exp(-rate * seconds)
    }

    /// Liquid added at once (loading, the injection): the gas is compressed isothermally.
    public mutating func addLiquid(microlitres: Double) {
        precondition(microlitres >= 0 && liquidMicrolitres + microlitres < reactorMicrolitres, "the reactor would overflow")
        changeLiquid(by: microlitres)
    }

    /// Liquid removed at once: the gas expands isothermally.
    public mutating func removeLiquid(microlitres: Double) {
        precondition(microlitres >= 0 && microlitres <= liquidMicrolitres, "cannot remove more liquid than there is")
        changeLiquid(by: -microlitres)
    }

    /// Opens the sampling line (resistance R, mbar·s/µL, discharging to atmosphere) for
    /// `seconds` with the gas valves closed; returns the liquid that left, µL, and updates the
    /// pressure and the liquid (exact; see the type's notes).
    public mutating func withdraw(throughResistance resistance: Double, seconds: Double) -> Double {
        precondition(resistance > 0 && seconds >= 0, "a line has a resistance; time moves forward")
        guard gaugeMbar > 0, seconds > 0, liquidMicrolitres > 0 else { return 0 }
        let atm = ReactorHeadspace.atmosphereMbar
        let v0 = gasMicrolitres
        let k = (gaugeMbar + atm) * v0
        // The gas volume at which the pressure has fallen to atmosphere (flow stops), and at
        // which the liquid runs out.
        let limit = min(k / atm, reactorMicrolitres)
        func time(_ v: Double) -> Double {
            (resistance / atm) * ((v0 - v) + (k / atm) * log((k - atm * v0) / (k - atm * v)))
        }
        var low = v0
        var high = limit
        // At the pressure limit the time is infinite (the flow dies out): bisect. At the
        // liquid limit it may be reached in time: then everything left.
        if time(high) <= seconds {
            low = high
        } else {
            for _ in 0..<100 {
                let middle = (low + high) / 2
                if time(middle) < seconds { low = middle } else { high = middle }
            }
        }
        let withdrawn = min(low - v0, liquidMicrolitres)
        liquidMicrolitres -= withdrawn
        gaugeMbar = k / gasMicrolitres - atm
        return withdrawn
    }

    private mutating func changeLiquid(by delta: Double) {
        let atm = ReactorHeadspace.atmosphereMbar
        let before = gasMicrolitres
        liquidMicrolitres += delta
        gaugeMbar = (gaugeMbar + atm) * before / gasMicrolitres - atm
    }
}
