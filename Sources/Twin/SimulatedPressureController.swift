#if canImport(Glibc)
import Glibc
#endif
import Transports

/// The twin's pressure controller: a Fluigent Flow EZ's behaviour behind `PressureController`.
///
/// The pressure follows the setpoint with a first-order lag: after a setpoint s at t0, the
/// pressure is s + (p0 − s) e^(−(t − t0)/τ), exact at any instant of the rig clock (the virtual
/// clock in the twin), with no stepping. τ defaults to 0.1 s (UNVERIFIED: Fluigent quotes Flow EZ
/// settling "within about 100 ms" for small volumes; a larger head space is slower).
/// The range is `range` (a Flow EZ 1000 mbar model: 0...1000, as `fgt_get_pressureRange`
/// reports it); a setpoint outside it is refused with `.setpointOutOfRange`, as the adapter does.
/// Faults: `failNext` (the next call fails with that SDK-style reason), `overpressureAt` (a
/// reading at or above it fails with the SDK's `Overpressure`, code 9, and the controller vents,
/// as the instrument's protection does).
public final class SimulatedPressureController: PressureController {
    public let name: String
    public let clock: any RigClock
    public let allowedRange: ClosedRange<Double>
    public let timeConstantSeconds: Double
    public private(set) var setpointMbar: Double = 0
    private var startMbar: Double
    private var since: MonotonicInstant
    /// The next call fails with this reason (then the fault clears).
    public var failNext: FluidicsError.Reason?
    public var overpressureAt: Double?
    /// Whether `calls` records (off by default: a campaign reads the pressure often).
    public var recordsCalls = false
    /// Calls made while `recordsCalls`, in order (`setPressure 600.0`, `readPressure`, `vent`), for tests.
    public private(set) var calls: [String] = []

    public init(
        name: String = "twin:pressure", clock: any RigClock, range: ClosedRange<Double> = 0...1000,
        timeConstantSeconds: Double = 0.1, initialMbar: Double = 0
    ) {
        precondition(timeConstantSeconds > 0, "a lag has a positive time constant")
        self.name = name
        self.clock = clock
        allowedRange = range
        self.timeConstantSeconds = timeConstantSeconds
        startMbar = initialMbar
        setpointMbar = initialMbar
        since = clock.now()
    }

    /// The pressure at `instant` (the lag, exactly).
    public func pressure(at instant: MonotonicInstant) -> Double {
        let elapsed = max(instant.seconds(since: since), 0)
        return setpointMbar + (startMbar - setpointMbar) * exp(-elapsed / timeConstantSeconds)
    }

    public func range() throws(FluidicsError) -> ClosedRange<Double> {
        try injectedFault("fgt_get_pressureRange")
        return allowedRange
    }

    public func setPressure(mbar: Double) throws(FluidicsError) {
        record("setPressure \(mbar)")
        try injectedFault("fgt_set_pressure")
        guard allowedRange.contains(mbar) else {
            throw FluidicsError(
                device: name, operation: "fgt_set_pressure",
                reason: .setpointOutOfRange(requestedMbar: mbar, allowed: allowedRange))
        }
        retarget(mbar)
    }

    public func readPressure() throws(FluidicsError) -> Double {
        record("readPressure")
        try injectedFault("fgt_get_pressure")
        let now = clock.now()
        let value = pressure(at: now)
        if let limit = overpressureAt, value >= limit {
            retarget(0)
            throw FluidicsError(
                device: name, operation: "fgt_get_pressure",
                reason: .instrument(code: 9, name: "Overpressure", meaning: "pressure module is in overpressure protection"))
        }
        return value
    }

    public func vent() throws(FluidicsError) {
        record("vent")
        try injectedFault("fgt_set_pressure")
        retarget(0)
    }

    private func record(_ call: @autoclosure () -> String) {
        if recordsCalls { calls.append(call()) }
    }

    private func retarget(_ mbar: Double) {
        let now = clock.now()
        startMbar = pressure(at: now)
        since = now
        setpointMbar = mbar
    }

    private func injectedFault(_ operation: String) throws(FluidicsError) {
        if let reason = failNext {
            failNext = nil
            throw FluidicsError(device: name, operation: operation, reason: reason)
        }
    }
}
