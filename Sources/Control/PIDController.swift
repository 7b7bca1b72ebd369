#if canImport(Glibc)
import Glibc
#endif
import Transports

/// PID gains in duty units: the controller's output is a heater duty fraction (0...1 by default).
public struct PIDGains: Equatable, Sendable {
    /// Proportional gain, duty per °C of error.
    public var kp: Double
    /// Integral gain, duty per (°C·s) of accumulated error (kp / Ti).
    public var ki: Double
    /// Derivative gain, duty per (°C/s) of measurement slope (kp · Td).
    public var kd: Double
    /// Time constant Tf of the first-order filter on the measurement's derivative, in seconds
    /// (0: no filter). Åström & Murray, Feedback Systems (2008), §10.5: Tf = Td / N, N ≈ 2...20.
    public var derivativeFilterSeconds: Double

    public init(kp: Double, ki: Double, kd: Double, derivativeFilterSeconds: Double) {
        self.kp = kp
        self.ki = ki
        self.kd = kd
        self.derivativeFilterSeconds = derivativeFilterSeconds
    }

    /// Every gain and the filter time constant finite and non-negative (a negative gain would turn
    /// a heater loop into positive feedback).
    public var isValid: Bool {
        kp.isFinite && kp >= 0 && ki.isFinite && ki >= 0 && kd.isFinite && kd >= 0
            && derivativeFilterSeconds.isFinite && derivativeFilterSeconds >= 0
    }
}

/// A positional PID controller as a pure value (Åström & Hägglund, *Advanced PID Control*, 2006,
/// ch. 3):
///
///     u = clamp( kp·e + I + (−kd·ḋy) + feedForward ),   e = setpoint − y
///
/// - Derivative on measurement (no kick when the setpoint steps), through a first-order filter
///   Tf·ḋy' + ḋy = dy/dt. The filter is discretised exactly for the actual dt between calls,
///   assuming y moves linearly between two samples (ramp-invariant): with a = e^(−dt/Tf),
///   ḋy_k = a·ḋy_(k−1) + (1 − a)·(y_k − y_(k−1))/dt. The first call after `init`/`reset` has
///   no previous sample, so its derivative is 0 (no kick).
/// - Integral in output units (I = Σ ki·e·dt, backward rectangle rule), so changing `ki` does not
///   bump the output. Conditional integration (anti-windup): the integral never moves the
///   unclamped output beyond the limit in the direction the error pushes; when the output is
///   already saturated that way, it stays frozen (Åström & Hägglund 2006, §3.5, "conditional
///   integration"). When the error changes sign the output leaves saturation at once.
/// - Feed-forward added before clamping (the injection's heat step from the sequencer).
/// - Manual mode: `update` returns the manual output and back-calculates the integral every
///   call, and the first automatic call after `setAutomatic()` sets I so that its output equals
///   the last output returned: bumpless transfer both ways.
/// - `dt <= 0` (a repeated or earlier instant): returns the last output, state untouched.
/// - A non-finite measurement returns the lower output limit (heater off) and leaves the state
///   untouched: the safety supervisor trips on it; the controller must not be poisoned by it.
///
/// `update` does not allocate.
public struct PIDController: Sendable {
    /// The last update's terms, for the journal and for tests.
    public struct Terms: Equatable, Sendable {
        public var proportional: Double = 0
        public var integral: Double = 0
        public var derivative: Double = 0
        public var feedForward: Double = 0
        /// The sum before clamping.
        public var unclamped: Double { proportional + integral + derivative + feedForward }
    }

    public var gains: PIDGains {
        didSet { precondition(gains.isValid, "PID gains must be finite and non-negative") }
    }
    public let outputLimits: ClosedRange<Double>
    /// The setpoint, °C.
    public var setpoint: Double = 0 {
        didSet { precondition(setpoint.isFinite, "the setpoint must be finite") }
    }
    /// Added to the PID terms before clamping (the sequencer's injection feed-forward); 0 otherwise.
    public var feedForward: Double = 0 {
        didSet { precondition(feedForward.isFinite, "the feed-forward must be finite") }
    }
    public private(set) var isAutomatic = true
    /// The output `update` returned last (the initial value is 0 clamped to the limits).
    public private(set) var lastOutput: Double
    /// The integral term, in output units.
    public private(set) var integral: Double = 0
    /// The filtered slope of the measurement, °C/s.
    public private(set) var filteredDerivative: Double = 0
    /// The terms of the last update.
    public private(set) var terms = Terms()

    private var manualOutput: Double
    private var hasPrevious = false
    private var previousMeasurement: Double = 0
    private var previousInstant = MonotonicInstant.zero
    /// Set by `setAutomatic()`: the next update re-seeds the integral from `lastOutput`.
    private var transferPending = false

    public init(gains: PIDGains, outputLimits: ClosedRange<Double> = 0...1) {
        precondition(gains.isValid, "PID gains must be finite and non-negative")
        precondition(
            outputLimits.lowerBound.isFinite && outputLimits.upperBound.isFinite
                && outputLimits.lowerBound < outputLimits.upperBound,
            "output limits must be finite and not empty")
        self.gains = gains
        self.outputLimits = outputLimits
        let rest = min(max(0, outputLimits.lowerBound), outputLimits.upperBound)
        self.lastOutput = rest
        self.manualOutput = rest
    }

    /// Manual mode: `update` returns `output` (clamped) and the integral tracks it, so the return
    /// to automatic is bumpless. May be called again to change the manual output.
    public mutating func setManual(output: Double) {
        precondition(!output.isNaN, "the manual output must be a number")
        manualOutput = clamp(output)
        isAutomatic = false
        transferPending = false
    }

    /// Back to automatic: the next `update` returns the last output exactly (the integral is
    /// back-calculated from it), and integrates normally from the call after.
    public mutating func setAutomatic() {
        guard !isAutomatic else { return }
        isAutomatic = true
        transferPending = true
    }

    /// One step of the controller. See the type's documentation for the algorithm.
    public mutating func update(measurement: Double, at now: MonotonicInstant) -> Double {
        guard measurement.isFinite else {
            lastOutput = outputLimits.lowerBound
            return lastOutput
        }
        if hasPrevious {
            let dt = now.seconds(since: previousInstant)
            guard dt > 0 else {
                if !isAutomatic { lastOutput = manualOutput }
                return lastOutput
            }
            let slope = (measurement - previousMeasurement) / dt
            let filter = gains.derivativeFilterSeconds
            let decay = filter > 0 ? exp(-dt / filter) : 0
            filteredDerivative = decay * filteredDerivative + (1 - decay) * slope
            return advance(measurement: measurement, dt: dt, at: now)
        } else {
            // First call: no previous sample, so no derivative and no time to integrate over.
            filteredDerivative = 0
            return advance(measurement: measurement, dt: 0, at: now)
        }
    }

    /// Forgets the history (integral, derivative filter, previous sample): the next call is a
    /// first call. The mode and the manual output are kept.
    public mutating func reset() {
        integral = 0
        filteredDerivative = 0
        hasPrevious = false
        terms = Terms()
        transferPending = false
        lastOutput = isAutomatic ? min(max(0, outputLimits.lowerBound), outputLimits.upperBound) : manualOutput
    }

    private mutating func advance(measurement: Double, dt: Double, at now: MonotonicInstant) -> Double {
        hasPrevious = true
        previousMeasurement = measurement
        previousInstant = now

        let error = setpoint - measurement
        let proportional = gains.kp * error
        let derivative = -gains.kd * filteredDerivative
        let rest = proportional + derivative + feedForward

        let output: Double
        if !isAutomatic {
            // Tracking: the integral is whatever makes the PID sum equal the manual output.
            integral = manualOutput - rest
            output = manualOutput
        } else if transferPending {
            transferPending = false
            integral = lastOutput - rest
            output = lastOutput
        } else {
            let increment = gains.ki * error * dt
            if increment > 0 {
                // Rising, but never past the point where the output reaches the upper limit;
                // and never lowered by this rule (a large P already past the limit freezes it).
                integral = max(integral, min(integral + increment, outputLimits.upperBound - rest))
            } else if increment < 0 {
                integral = min(integral, max(integral + increment, outputLimits.lowerBound - rest))
            }
            output = clamp(rest + integral)
        }
        terms = Terms(proportional: proportional, integral: integral, derivative: derivative, feedForward: feedForward)
        lastOutput = output
        return output
    }

    private func clamp(_ value: Double) -> Double {
        guard !value.isNaN else { return outputLimits.lowerBound }
        return min(max(value, outputLimits.lowerBound), outputLimits.upperBound)
    }
}
