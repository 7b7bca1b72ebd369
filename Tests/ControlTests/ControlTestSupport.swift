import Devices
import Foundation
import Transports
import Twin

/// The instant `seconds` after the origin.
func instant(_ seconds: Double) -> MonotonicInstant {
    MonotonicInstant.zero.adding(seconds: seconds)
}

/// A first-order plant, τ dy/dt = ambient + K·u − y, integrated exactly for an input held over
/// each step (zero-order hold).
struct FirstOrderPlant {
    var gain: Double
    var timeConstant: Double
    var ambient: Double
    var y: Double

    mutating func advance(input u: Double, over dt: Double) {
        let equilibrium = ambient + gain * u
        y = equilibrium + (y - equilibrium) * exp(-dt / timeConstant)
    }
}

/// A first-order-plus-dead-time plant, K e^(−θs)/(τs + 1), stepped at a fixed dt with the input
/// delayed by exactly θ = delaySteps·dt (a ring of past inputs; the input before the start was
/// `initialInput`), each step integrated exactly with the delayed input held.
struct DeadTimePlant {
    let gain: Double
    let timeConstant: Double
    let ambient: Double
    let dt: Double
    private var pending: [Double]
    private var head = 0
    private(set) var y: Double

    init(gain: Double, timeConstant: Double, deadTime: Double, ambient: Double, dt: Double, initialInput: Double = 0) {
        self.gain = gain
        self.timeConstant = timeConstant
        self.ambient = ambient
        self.dt = dt
        let steps = Int((deadTime / dt).rounded())
        precondition(abs(Double(steps) * dt - deadTime) < 1e-9, "dead time must be a whole number of steps")
        pending = Array(repeating: initialInput, count: max(steps, 1))
        y = ambient + gain * initialInput
        if steps == 0 { pending = [] }
    }

    /// Applies `u` now; advances one dt with the input from θ ago.
    mutating func step(input u: Double) {
        let applied: Double
        if pending.isEmpty {
            applied = u
        } else {
            applied = pending[head]
            pending[head] = u
            head = (head + 1) % pending.count
        }
        let equilibrium = ambient + gain * applied
        y = equilibrium + (y - equilibrium) * exp(-dt / timeConstant)
    }
}

/// The relay limit cycle of a FOPDT plant in closed form (symmetric relay ±d about the input
/// that holds the setpoint, hysteresis ε, switching on the reading). After switching low at
/// setpoint + ε the reading keeps rising for θ toward +Kd, then falls toward −Kd:
///     a = Kd + (ε − Kd)·e^(−θ/τ)        (deviation from the setpoint)
///     T/2 = θ + τ·ln((a + Kd)/(Kd − ε))
/// (Yu, Autotuning of PID Controllers, 2006, ch. 3; for ε = 0, T = 2τ ln(2e^(θ/τ) − 1).)
func exactRelayCycle(gain k: Double, timeConstant tau: Double, deadTime theta: Double, relay d: Double, hysteresis eps: Double)
    -> (period: Double, amplitude: Double)
{
    let kd = k * d
    let amplitude = kd + (eps - kd) * exp(-theta / tau)
    let half = theta + tau * log((amplitude + kd) / (kd - eps))
    return (2 * half, amplitude)
}

/// The phase crossover of K e^(−θs)/(τs + 1): θω + atan(ωτ) = π, solved by bisection; the
/// ultimate gain is 1/|G(iω)| = √(1 + ω²τ²)/K.
func phaseCrossover(gain k: Double, timeConstant tau: Double, deadTime theta: Double)
    -> (period: Double, ultimateGain: Double)
{
    var low = 1e-9
    var high = Double.pi / theta
    for _ in 0..<200 {
        let mid = (low + high) / 2
        if theta * mid + atan(mid * tau) < Double.pi { low = mid } else { high = mid }
    }
    let omega = (low + high) / 2
    return (2 * Double.pi / omega, (1 + omega * omega * tau * tau).squareRoot() / k)
}

/// A small seeded generator (SplitMix64, Steele et al. 2014) so jittered tests are the same every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The twin's reactor (Boards/sim.toml: 150 W cartridge, 60 J/K block, 0.35 W/K loss, 0.9 mL
/// charge at 1.8 J/(mL·K) coupled at 0.54 W/K, 2 s thermocouple lag, 0.05 °C noise) read as the
/// MCP9600 reports it (0.0625 °C steps) and heated through a 1 s time-proportioning window, as
/// the control loop runs it: one reading and one duty per tick, the SSR switched at the window's
/// edges in between.
final class TwinReactorRig {
    let plant: ThermalPlant
    private var window = TimeProportioning(periodNanoseconds: 1_000_000_000, maxDuty: 1)
    private(set) var seconds = 0.0
    let tick: Double

    init(startCelsius: Double, tick: Double = 0.1, seed: UInt64 = 42) {
        let zone = ThermalPlant.ZoneParameters(
            name: "reactor", heaterWatts: 150, heatCapacityJoulesPerKelvin: 60, lossWattsPerKelvin: 0.35,
            initialCelsius: startCelsius, sensorLagSeconds: 2, sensorNoiseCelsius: 0.05,
            charge: ThermalPlant.LiquidCharge(
                millilitres: 0.9, heatCapacityJoulesPerMillilitreKelvin: 1.8, couplingWattsPerKelvinAt800RPM: 0.54))
        plant = ThermalPlant(ambientCelsius: 25, zones: [zone], seed: seed)
        self.tick = tick
    }

    var now: MonotonicInstant { instant(seconds) }

    /// This tick's reading, quantised like the MCP9600's hot-junction register.
    func read() -> Double {
        (plant.measuredCelsius(of: 0, at: seconds) / 0.0625).rounded() * 0.0625
    }

    /// Drives `duty` until the next tick.
    func drive(_ duty: Double) {
        window.setDuty(duty)
        var edge = seconds
        while edge < seconds + tick {
            plant.setHeater(of: 0, on: window.level(at: instant(edge)), at: edge)
            let next = Double(window.nextChange(after: instant(edge)).nanoseconds) / 1e9
            guard next > edge else { break }
            edge = next
        }
        seconds += tick
    }

    /// 300 µL of room-temperature precursor into the charge, now.
    func inject() {
        plant.inject(zone: 0, volumeML: 0.3, celsius: 25, at: seconds)
    }
}
