/// A failed pressure-controller or selector-valve operation: which device, what it was doing,
/// and why, with the numbers.
public struct FluidicsError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// The vendor SDK returned an error code (`fgt_ERROR_CODE`): its number, its name in
        /// the header, and what the header says it means.
        case instrument(code: Int, name: String, meaning: String)
        /// The vendor library could not be loaded or lacks a function (the message says which
        /// paths were tried, and what the dynamic loader said).
        case libraryUnavailable(String)
        /// A setpoint outside what the controller can do.
        case setpointOutOfRange(requestedMbar: Double, allowed: ClosedRange<Double>)
        /// A position outside 1...N.
        case positionOutOfRange(requested: Int, count: Int)
        /// The measured pressure reached the overpressure limit: vented and latched.
        case overpressure(measuredMbar: Double, limitMbar: Double)
        /// The pressurization valve was open this long without reaching the setpoint (an empty
        /// gas supply, a leak, a stuck valve): closed, vented and latched.
        case noPressureRise(openSeconds: Double, measuredMbar: Double, setpointMbar: Double)
        /// A latched fault refuses new setpoints until `reset`.
        case latched(String)
        /// The pressure sensor failed or reported a fault.
        case sensor(String)
        /// An output line (a solenoid) failed.
        case output(OutputLineError)
        /// A selector move did not end at its target in time.
        case selectorTimedOut(target: Int, lastState: SelectorValveState, afterSeconds: Double)
        /// A selector came to rest at another position.
        case selectorWrongPosition(expected: Int, actual: Int)
        /// The rig clock failed while waiting.
        case clock(ClockError)
    }

    /// The device (`name` of the controller or valve).
    public var device: String
    /// The operation or C function (`fgt_set_pressure`, `setPressure`, `readState`...).
    public var operation: String
    public var reason: Reason

    public init(device: String, operation: String, reason: Reason) {
        self.device = device
        self.operation = operation
        self.reason = reason
    }

    public var description: String {
        let place = "\(device): \(operation)"
        switch reason {
        case .instrument(let code, let name, let meaning):
            return "\(place) failed: error \(code) \(name) (\(meaning))"
        case .libraryUnavailable(let message):
            return "\(place) failed: \(message)"
        case .setpointOutOfRange(let requested, let allowed):
            return "\(place): \(requested) mbar is out of range: allowed \(allowed.lowerBound) to \(allowed.upperBound) mbar"
        case .positionOutOfRange(let requested, let count):
            return "\(place): position \(requested) is out of range: allowed 1 to \(count)"
        case .overpressure(let measured, let limit):
            return "\(place): overpressure: \(measured) mbar at or above the \(limit) mbar limit; vented"
        case .noPressureRise(let seconds, let measured, let setpoint):
            return "\(place): the pressurization valve was open \(seconds) s and the pressure is \(measured) mbar, "
                + "short of the \(setpoint) mbar setpoint (gas supply empty or a leak?); vented"
        case .latched(let fault):
            return "\(place) refused: a latched fault must be reset first: \(fault)"
        case .sensor(let message):
            return "\(place) failed: pressure sensor: \(message)"
        case .output(let error):
            return "\(place) failed: \(error)"
        case .selectorTimedOut(let target, let lastState, let seconds):
            return "\(place): not at position \(target) after \(seconds) s (\(lastState))"
        case .selectorWrongPosition(let expected, let actual):
            return "\(place): stopped at position \(actual) instead of \(expected)"
        case .clock(let error):
            return "\(place) failed: \(error)"
        }
    }
}
