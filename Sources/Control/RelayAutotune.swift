#if canImport(Glibc)
import Glibc
#endif
import Transports

/// Relay autotune (K. J. Åström and T. Hägglund, "Automatic tuning of simple regulators with
/// specifications on phase and amplitude margins", Automatica 20(5), 1984) as a pure state machine.
///
/// A relay with hysteresis ε around the setpoint drives `outputHigh` while the reading is below
/// and `outputLow` while above: the loop settles into a limit cycle at (close to) the plant's
/// phase crossover. Each full cycle runs from one upward crossing of setpoint + ε to the next:
/// its period is Tu (crossing instants interpolated between samples) and its amplitude a is half
/// the peak-to-peak swing of the reading within it. The describing function of a relay of
/// amplitude d = (outputHigh − outputLow)/2 with hysteresis ε is
/// N(a) = 4d/(πa) · (√(1 − ε²/a²) − i·ε/a), so the ultimate gain, the real-axis crossing of −1/N, is
///
///     Ku = 4d / (π·√(a² − ε²))       (hysteresis corrected; = 4d/(πa) for ε = 0)
///
/// The first cycle is the start-up transient (it begins from the heat-up) and is discarded; the
/// next `cyclesRequired` are measured and the cycle with the median Ku (the lower of the two
/// middle ones for an even count: the more conservative) gives Ku and Tu, so that one disturbed
/// cycle cannot move the result.
///
/// Known bias (documented, and measured in the tests): a is the peak of the reading, not its
/// first harmonic, so for a lag-dominant plant (dead time θ ≪ τ) the reading is nearly
/// triangular and Ku comes out up to ~19 % below the true ultimate gain (π²/8 for a pure
/// integrator with dead time); for θ ≈ 2τ the two agree within a few percent. Tu is within ~5 %
/// of the phase-crossover period for any first-order-plus-dead-time plant. The low Ku errs on
/// the safe side (lower gains).
///
/// Safety: `init` refuses settings without a usable over-temperature limit; `step` fails (and
/// the caller drives 0) on a reading above `maxCelsius`, a non-finite reading, or no complete
/// measurement within `maxDurationSeconds`. Failed and finished are latched: every later step
/// returns the same value.
///
/// `step` does not allocate on the relay path (the cycle list is reserved in `init`); the one
/// `finished` result is built once.
public struct RelayAutotune: Sendable {
    /// The smallest distance allowed between `maxCelsius` and setpoint + hysteresis: the relay
    /// overshoots the upper switching point by the plant's lag, and a limit closer than this
    /// would leave no room for it.
    public static let minimumHeadroomCelsius = 5.0

    public struct Settings: Equatable, Sendable {
        public var setpoint: Double
        /// Duty while below the setpoint (e.g. 1.0, or a bias + amplitude).
        public var outputHigh: Double
        /// Duty while above (e.g. 0).
        public var outputLow: Double
        public var hysteresisCelsius: Double
        /// Full oscillation cycles to measure (after discarding the first), at least 2.
        public var cyclesRequired: Int
        public var maxDurationSeconds: Double
        /// The safety limit the autotune refuses to run without: finite, above
        /// setpoint + hysteresis by at least `RelayAutotune.minimumHeadroomCelsius`.
        public var maxCelsius: Double

        public init(
            setpoint: Double, outputHigh: Double, outputLow: Double, hysteresisCelsius: Double,
            cyclesRequired: Int, maxDurationSeconds: Double, maxCelsius: Double
        ) {
            self.setpoint = setpoint
            self.outputHigh = outputHigh
            self.outputLow = outputLow
            self.hysteresisCelsius = hysteresisCelsius
            self.cyclesRequired = cyclesRequired
            self.maxDurationSeconds = maxDurationSeconds
            self.maxCelsius = maxCelsius
        }

        /// The relay amplitude d = (outputHigh − outputLow) / 2.
        public var relayAmplitude: Double { (outputHigh - outputLow) / 2 }
    }

    /// One measured full cycle.
    public struct Cycle: Equatable, Sendable {
        /// From one upward crossing of setpoint + hysteresis to the next.
        public var periodSeconds: Double
        /// Half the peak-to-peak swing of the reading within the cycle.
        public var amplitudeCelsius: Double
        /// Ku = 4d / (π √(a² − ε²)).
        public var ultimateGain: Double

        public init(periodSeconds: Double, amplitudeCelsius: Double, ultimateGain: Double) {
            self.periodSeconds = periodSeconds
            self.amplitudeCelsius = amplitudeCelsius
            self.ultimateGain = ultimateGain
        }
    }

    public struct Result: Equatable, Sendable {
        /// The measured cycles in order (the discarded first cycle is not among them).
        public var cycles: [Cycle]
        /// Ku of the median cycle, duty per °C.
        public var ultimateGain: Double
        /// Tu of the median cycle.
        public var ultimatePeriodSeconds: Double
        /// From Ku and Tu by `rule`.
        public var gains: PIDGains
        public var rule: TuningRule
    }

    /// Tuning rules from the ultimate gain and period (standard form Kp, Ti, Td; then
    /// ki = Kp/Ti, kd = Kp·Td, and the derivative filter Tf = Td/N).
    ///
    /// N (`derivativeFilterDivisor`, default 5) bounds the derivative's high-frequency gain at
    /// N·Kp; Åström & Hägglund (2006, §3.3) give N = 2...20, 10 typical. 5 is chosen for the
    /// MCP9600's 0.0625 °C steps: on the twin's reactor (Tyreus–Luyben, 0.1 s ticks, 1 s window)
    /// N = 10 lets the quantised derivative jitter the duty, up to 0.44 °C settled error; N = 5
    /// keeps it to 0.25-0.31 °C with the same heat-up and injection recovery.
    ///
    /// On the twin's reactor (relay 1/0 at 240 °C with ε = 0.3 °C: Ku ≈ 0.225 duty/°C, Tu ≈ 19 s;
    /// then 25 °C -> 200/240/310 °C and the 300 µL injection at 900 s, no feed-forward):
    /// - `tyreusLuyben`, the rule to use: 0.25 °C overshoot, ±0.25 °C settled, back within 1 °C
    ///   22-24 s after the injection.
    /// - `zieglerNichols`: 0.6-1.3 °C overshoot, ±0.38 °C settled, 26-35 s.
    /// - `noOvershoot` is named for its unsaturated setpoint response; after a saturated heat-up
    ///   its short Ti = Tu/2 (against a block time constant of minutes) winds the integral during
    ///   the approach: 4.6-8.3 °C overshoot and 76-84 s to recover from the injection.
    public enum TuningRule: String, Sendable, CaseIterable {
        /// Ziegler & Nichols (1942) classic PID: Kp = 0.6 Ku, Ti = Tu/2, Td = Tu/8. Quarter-decay:
        /// fast, with large overshoot.
        case zieglerNichols
        /// Tyreus & Luyben (1992): Kp = Ku/2.2, Ti = 2.2 Tu, Td = Tu/6.3. Robust, slow integral.
        case tyreusLuyben
        /// "No overshoot" modification of Ziegler–Nichols (Seborg et al.): Kp = 0.2 Ku,
        /// Ti = Tu/2, Td = Tu/3.
        case noOvershoot

        /// Kp, Ti, Td of the rule.
        public func standardForm(ultimateGain ku: Double, ultimatePeriodSeconds tu: Double)
            -> (kp: Double, ti: Double, td: Double)
        {
            switch self {
            case .zieglerNichols: (0.6 * ku, tu / 2, tu / 8)
            case .tyreusLuyben: (ku / 2.2, 2.2 * tu, tu / 6.3)
            case .noOvershoot: (0.2 * ku, tu / 2, tu / 3)
            }
        }

        /// The parallel-form gains of the rule for an ultimate gain and period, with the
        /// derivative filter Tf = Td / `derivativeFilterDivisor`.
        public func gains(
            ultimateGain ku: Double, ultimatePeriodSeconds tu: Double,
            derivativeFilterDivisor: Double = TuningRule.defaultDerivativeFilterDivisor
        ) -> PIDGains {
            precondition(derivativeFilterDivisor > 0, "the derivative filter divisor N must be positive")
            let form = standardForm(ultimateGain: ku, ultimatePeriodSeconds: tu)
            return PIDGains(
                kp: form.kp, ki: form.kp / form.ti, kd: form.kp * form.td,
                derivativeFilterSeconds: form.td / derivativeFilterDivisor)
        }

        /// N in Tf = Td/N (see the type's documentation).
        public static let defaultDerivativeFilterDivisor = 5.0
    }

    public enum Step: Equatable, Sendable {
        /// Drive this duty now.
        case drive(Double)
        /// Done: drive 0 or hand over to the PID with the result's gains.
        case finished(Result)
        /// Refused to continue: drive 0.
        case failed(AutotuneError)
    }

    public let settings: Settings
    public let rule: TuningRule

    private var started: MonotonicInstant?
    private var relayHigh = true
    private var hasPrevious = false
    private var previousMeasurement = 0.0
    private var previousSeconds = 0.0
    /// The interpolated instant (seconds since start) of the last upward crossing.
    private var lastUpwardCrossing: Double?
    private var cycleMaximum = 0.0
    private var cycleMinimum = 0.0
    private var completedCycles = 0
    private var cycles: [Cycle]
    private var outcome: Step?

    /// Refuses settings that leave the run unguarded or cannot produce a measurement.
    public init(settings: Settings, rule: TuningRule) throws(AutotuneError) {
        func refuse(_ name: String, _ value: Double, _ requirement: String) -> AutotuneError {
            AutotuneError(.invalidSetting(name: name, value: value, requirement: requirement))
        }
        let s = settings
        guard s.setpoint.isFinite else { throw refuse("setpoint", s.setpoint, "finite") }
        guard s.hysteresisCelsius.isFinite, s.hysteresisCelsius >= 0 else {
            throw refuse("hysteresis_c", s.hysteresisCelsius, "finite and >= 0")
        }
        let lowestLimit = s.setpoint + s.hysteresisCelsius + Self.minimumHeadroomCelsius
        guard s.maxCelsius.isFinite, s.maxCelsius >= lowestLimit else {
            throw refuse(
                "max_c", s.maxCelsius,
                "finite and >= setpoint + hysteresis + \(Self.minimumHeadroomCelsius) = \(lowestLimit)")
        }
        guard s.outputHigh.isFinite, (0...1).contains(s.outputHigh) else {
            throw refuse("output_high", s.outputHigh, "within 0...1")
        }
        guard s.outputLow.isFinite, (0...1).contains(s.outputLow) else {
            throw refuse("output_low", s.outputLow, "within 0...1")
        }
        guard s.outputHigh > s.outputLow else {
            throw refuse("output_high", s.outputHigh, "above output_low = \(s.outputLow)")
        }
        guard s.cyclesRequired >= 2 else {
            throw refuse("cycles", Double(s.cyclesRequired), ">= 2 (the median needs more than one cycle)")
        }
        guard s.maxDurationSeconds.isFinite, s.maxDurationSeconds > 0 else {
            throw refuse("max_duration_s", s.maxDurationSeconds, "finite and > 0")
        }
        self.settings = settings
        self.rule = rule
        cycles = []
        cycles.reserveCapacity(settings.cyclesRequired)
    }

    /// The cycles measured so far (the discarded first cycle is not among them).
    public var measuredCycles: [Cycle] { cycles }

    /// One sample: the duty to drive, or the end of the run.
    public mutating func step(measurement: Double, at now: MonotonicInstant) -> Step {
        if let outcome { return outcome }
        let start: MonotonicInstant
        if let started {
            start = started
        } else {
            start = now
            started = now
        }
        let seconds = now.seconds(since: start)

        guard measurement.isFinite else {
            return fail(.nonFiniteReading(classification: .init(measurement), elapsedSeconds: seconds))
        }
        guard measurement <= settings.maxCelsius else {
            return fail(
                .overTemperature(celsius: measurement, maxCelsius: settings.maxCelsius, elapsedSeconds: seconds))
        }
        guard seconds <= settings.maxDurationSeconds else {
            return fail(
                .noOscillation(
                    elapsedSeconds: seconds, maxDurationSeconds: settings.maxDurationSeconds,
                    cyclesCompleted: completedCycles, cyclesNeeded: settings.cyclesRequired + 1))
        }

        let upper = settings.setpoint + settings.hysteresisCelsius
        let lower = settings.setpoint - settings.hysteresisCelsius
        if !hasPrevious {
            relayHigh = measurement < settings.setpoint
        } else if seconds > previousSeconds {
            cycleMaximum = max(cycleMaximum, measurement)
            cycleMinimum = min(cycleMinimum, measurement)
            if relayHigh, measurement > upper {
                relayHigh = false
                // The crossing instant, interpolated between the two samples around it.
                let fraction =
                    previousMeasurement < upper ? (upper - previousMeasurement) / (measurement - previousMeasurement) : 0
                let crossing = previousSeconds + fraction * (seconds - previousSeconds)
                if let finished = upwardCrossing(at: crossing, measurement: measurement) {
                    return finished
                }
            } else if !relayHigh, measurement < lower {
                relayHigh = true
            }
        }
        if !hasPrevious || seconds > previousSeconds {
            hasPrevious = true
            previousMeasurement = measurement
            previousSeconds = seconds
        }
        return .drive(relayHigh ? settings.outputHigh : settings.outputLow)
    }

    /// Closes the cycle that began at the previous upward crossing; returns `.finished` when
    /// enough cycles are in.
    private mutating func upwardCrossing(at crossing: Double, measurement: Double) -> Step? {
        if let previousCrossing = lastUpwardCrossing {
            completedCycles += 1
            if completedCycles > 1 {  // the first full cycle is the start-up transient
                let amplitude = (cycleMaximum - cycleMinimum) / 2
                let epsilon = settings.hysteresisCelsius
                guard amplitude > epsilon * (1 + 1e-9), amplitude > 0 else {
                    return fail(.degenerateOscillation(amplitudeCelsius: amplitude, hysteresisCelsius: epsilon))
                }
                let ku = 4 * settings.relayAmplitude / (Double.pi * (amplitude * amplitude - epsilon * epsilon).squareRoot())
                cycles.append(
                    Cycle(periodSeconds: crossing - previousCrossing, amplitudeCelsius: amplitude, ultimateGain: ku))
                if cycles.count == settings.cyclesRequired {
                    let result = Self.result(cycles: cycles, rule: rule)
                    outcome = .finished(result)
                    return outcome
                }
            }
        }
        lastUpwardCrossing = crossing
        cycleMaximum = measurement
        cycleMinimum = measurement
        return nil
    }

    /// The result from measured cycles: the cycle with the median Ku (lower middle for an even
    /// count) gives Ku and Tu.
    public static func result(cycles: [Cycle], rule: TuningRule) -> Result {
        precondition(!cycles.isEmpty, "a result needs at least one cycle")
        let sorted = cycles.sorted { $0.ultimateGain < $1.ultimateGain }
        let median = sorted[(sorted.count - 1) / 2]
        return Result(
            cycles: cycles, ultimateGain: median.ultimateGain, ultimatePeriodSeconds: median.periodSeconds,
            gains: rule.gains(ultimateGain: median.ultimateGain, ultimatePeriodSeconds: median.periodSeconds),
            rule: rule)
    }

    private mutating func fail(_ reason: AutotuneError.Reason) -> Step {
        let step = Step.failed(AutotuneError(reason))
        outcome = step
        return step
    }
}

/// Why the autotune refused to start or stopped.
public struct AutotuneError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What a non-finite reading was (kept as a class: NaN is not equal to itself).
    public enum NonFinite: String, Equatable, Sendable {
        case nan, plusInfinity, minusInfinity

        init(_ value: Double) {
            self = value.isNaN ? .nan : (value > 0 ? .plusInfinity : .minusInfinity)
        }
    }

    public enum Reason: Equatable, Sendable {
        /// `init`: a setting out of its allowed range (the board or tuning file's key name).
        case invalidSetting(name: String, value: Double, requirement: String)
        /// A reading above the safety limit.
        case overTemperature(celsius: Double, maxCelsius: Double, elapsedSeconds: Double)
        /// No complete measurement (first cycle + `cyclesRequired`) within the time allowed.
        case noOscillation(elapsedSeconds: Double, maxDurationSeconds: Double, cyclesCompleted: Int, cyclesNeeded: Int)
        /// A NaN or infinite reading.
        case nonFiniteReading(classification: NonFinite, elapsedSeconds: Double)
        /// A cycle whose amplitude does not exceed the hysteresis: the describing function is
        /// undefined (a plant with no lag at all; or a wrong sensor).
        case degenerateOscillation(amplitudeCelsius: Double, hysteresisCelsius: Double)
    }

    public var reason: Reason

    public init(_ reason: Reason) { self.reason = reason }

    public var description: String {
        switch reason {
        case let .invalidSetting(name, value, requirement):
            "autotune refused: \(name) = \(value) must be \(requirement)"
        case let .overTemperature(celsius, maxCelsius, elapsed):
            "autotune stopped: reading \(celsius) °C above the limit \(maxCelsius) °C after \(elapsed) s"
        case let .noOscillation(elapsed, maxDuration, completed, needed):
            "autotune stopped: \(completed) of \(needed) oscillation cycles after \(elapsed) s (limit \(maxDuration) s)"
        case let .nonFiniteReading(classification, elapsed):
            "autotune stopped: non-finite reading (\(classification.rawValue)) after \(elapsed) s"
        case let .degenerateOscillation(amplitude, hysteresis):
            "autotune stopped: oscillation amplitude \(amplitude) °C does not exceed the hysteresis \(hysteresis) °C"
        }
    }
}
