import Transports

/// Bang-bang pressure regulation with hysteresis for a head space filled through a
/// pressurization solenoid (from a regulated gas supply) and emptied through a vent solenoid.
/// A pure state machine: the owner feeds readings and performs the returned actions.
///
/// With setpoint s and band h:
/// - the pressurize valve opens when the reading falls below s − h and closes once it reaches s;
/// - the vent valve opens when the reading rises above s + h and closes once it is back at s;
/// - the two are never open together (opening one closes the other first);
/// - a reading at or above the overpressure limit closes the pressurize valve, opens the vent and
///   latches `.overpressure`; the pressurize valve held open `maxPressurizeSeconds` without
///   reaching s (an empty supply, a leak, a valve that does not open) does the same with
///   `.noPressureRise`. A latched fault keeps the vent open until `reset()`.
/// - `vent()` (the safe state): pressurize closed, vent open, and kept open.
public struct PressureRegulation: Equatable, Sendable {
    /// The regulator's settings (from the board file's `[pressure]` and valve sections).
    public struct Settings: Equatable, Sendable {
        /// h, mbar (> 0).
        public var hysteresisMbar: Double
        /// At or above this the head space is vented and the fault latched, mbar gauge.
        public var overpressureMbar: Double
        /// The longest the pressurize valve may stay open in one go, s (its `max_pulse_ms`).
        public var maxPressurizeSeconds: Double

        public init(hysteresisMbar: Double, overpressureMbar: Double, maxPressurizeSeconds: Double) {
            precondition(hysteresisMbar > 0, "a hysteresis band is positive")
            precondition(overpressureMbar > 2 * hysteresisMbar, "the overpressure limit must leave room for a setpoint")
            precondition(maxPressurizeSeconds > 0, "the pressurize valve must be allowed to open")
            self.hysteresisMbar = hysteresisMbar
            self.overpressureMbar = overpressureMbar
            self.maxPressurizeSeconds = maxPressurizeSeconds
        }

        /// The highest setpoint: one band below the limit, so that regulating never trips it.
        public var maximumSetpointMbar: Double { overpressureMbar - hysteresisMbar }
    }

    /// What the owner does.
    public enum Action: Equatable, Sendable {
        case openPressurize
        case closePressurize
        case openVent
        case closeVent
        /// A fault was latched (the valve actions that make it safe come first in the list).
        case fault(FluidicsError.Reason)
    }

    public let settings: Settings
    /// The pressure held, mbar gauge; nil while venting.
    public private(set) var setpointMbar: Double?
    /// What the machine has commanded.
    public private(set) var pressurizeOpen = false
    public private(set) var ventOpen = false
    public private(set) var pressurizeOpenedAt: MonotonicInstant?
    /// The latched fault, if any.
    public private(set) var fault: FluidicsError.Reason?

    /// Starts venting (nothing is held until `setSetpoint`), with both valves believed closed.
    public init(settings: Settings) {
        self.settings = settings
    }

    /// Holds `mbar` from the next step on. Preconditions: no latched fault, 0...maximumSetpoint
    /// (the owner checks both and reports them as errors).
    public mutating func setSetpoint(_ mbar: Double) {
        precondition(fault == nil, "clear the latched fault before a new setpoint")
        precondition(mbar >= 0 && mbar <= settings.maximumSetpointMbar, "setpoint \(mbar) mbar outside the regulator's range")
        setpointMbar = mbar
    }

    /// Vents now: pressurize closed, vent open (the actions for valves not already so).
    public mutating func vent() -> [Action] {
        setpointMbar = nil
        return makeSafe()
    }

    /// The sensor could not be read: vent and latch `.sensor(message)`.
    public mutating func sensorFailed(_ message: String) -> [Action] {
        latch(.sensor(message))
    }

    /// Clears a latched fault; the machine stays venting until a new setpoint.
    public mutating func reset() {
        fault = nil
        setpointMbar = nil
    }

    /// One reading of the head space at `now`.
    public mutating func step(readingMbar reading: Double, now: MonotonicInstant) -> [Action] {
        if fault != nil { return makeSafe() }
        if reading >= settings.overpressureMbar {
            return latch(.overpressure(measuredMbar: reading, limitMbar: settings.overpressureMbar))
        }
        guard let setpoint = setpointMbar else { return makeSafe() }
        let band = settings.hysteresisMbar
        var actions: [Action] = []
        if pressurizeOpen {
            if reading >= setpoint {
                pressurizeOpen = false
                pressurizeOpenedAt = nil
                actions.append(.closePressurize)
            } else if let opened = pressurizeOpenedAt, now.seconds(since: opened) >= settings.maxPressurizeSeconds {
                return latch(.noPressureRise(
                    openSeconds: now.seconds(since: opened), measuredMbar: reading, setpointMbar: setpoint))
            }
        } else if reading < setpoint - band {
            if ventOpen {
                ventOpen = false
                actions.append(.closeVent)
            }
            pressurizeOpen = true
            pressurizeOpenedAt = now
            actions.append(.openPressurize)
        }
        if ventOpen {
            if reading <= setpoint {
                ventOpen = false
                actions.append(.closeVent)
            }
        } else if reading > setpoint + band && !pressurizeOpen {
            ventOpen = true
            actions.append(.openVent)
        }
        return actions
    }

    private mutating func latch(_ reason: FluidicsError.Reason) -> [Action] {
        fault = reason
        setpointMbar = nil
        return makeSafe() + [.fault(reason)]
    }

    /// Pressurize closed then vent open, each only if the machine believes it otherwise.
    private mutating func makeSafe() -> [Action] {
        var actions: [Action] = []
        if pressurizeOpen {
            pressurizeOpen = false
            pressurizeOpenedAt = nil
            actions.append(.closePressurize)
        }
        if !ventOpen {
            ventOpen = true
            actions.append(.openVent)
        }
        return actions
    }
}

/// A `PressureController` made of a pressurization solenoid, a vent solenoid and a Honeywell ABP
/// sensor: the GPIO alternative to a Fluigent Flow EZ (PROTOCOLS.md §5).
///
/// It regulates only when polled: `tick()` (or `readPressure()`, which ticks) reads the sensor,
/// steps `PressureRegulation` and switches the valves. The control loop calls `tick()` every
/// period while the reactor is pressurized. A sensor failure vents and latches the fault.
///
/// The vent valve is a normally-closed solenoid like the others (a released line closes it), so
/// losing power holds the pressure rather than releasing it; the pressure is bounded by the gas
/// supply's own regulator, which must be set no higher than the reactor can take.
public final class SolenoidPressureRegulator: PressureController {
    public let name: String
    public let sensor: HoneywellABP
    public let pressurizeValve: SolenoidValve
    public let ventValve: SolenoidValve
    public let clock: any RigClock
    public private(set) var regulation: PressureRegulation
    /// The last reading taken, if any.
    public private(set) var lastReading: PressureReading?

    public init(
        name: String, sensor: HoneywellABP, pressurizeValve: SolenoidValve, ventValve: SolenoidValve,
        clock: any RigClock, settings: PressureRegulation.Settings
    ) {
        self.name = name
        self.sensor = sensor
        self.pressurizeValve = pressurizeValve
        self.ventValve = ventValve
        self.clock = clock
        regulation = PressureRegulation(settings: settings)
    }

    public func range() throws(FluidicsError) -> ClosedRange<Double> {
        0...regulation.settings.maximumSetpointMbar
    }

    public func setPressure(mbar: Double) throws(FluidicsError) {
        if let fault = regulation.fault {
            throw FluidicsError(
                device: name, operation: "setPressure",
                reason: .latched(FluidicsError(device: name, operation: "regulation", reason: fault).description))
        }
        let allowed = try range()
        guard allowed.contains(mbar) else {
            throw FluidicsError(
                device: name, operation: "setPressure", reason: .setpointOutOfRange(requestedMbar: mbar, allowed: allowed))
        }
        regulation.setSetpoint(mbar)
        try tick()
    }

    public func readPressure() throws(FluidicsError) -> Double {
        try tick()
        // tick() either stored a reading or threw.
        return lastReading?.mbar ?? 0
    }

    public func vent() throws(FluidicsError) {
        try perform(regulation.vent(), operation: "vent")
    }

    /// Clears a latched fault (the head space stays vented until a new setpoint).
    public func reset() {
        regulation.reset()
    }

    /// One regulation step: read the sensor, step, switch the valves. Throws the latched fault
    /// when this step latched one (after the valves are made safe).
    public func tick() throws(FluidicsError) {
        let reading: PressureReading
        do {
            reading = try sensor.read()
        } catch {
            try perform(regulation.sensorFailed(error.description), operation: "tick")
            return
        }
        lastReading = reading
        try perform(regulation.step(readingMbar: reading.mbar, now: clock.now()), operation: "tick")
    }

    /// Switches the valves as asked; a `.fault` (which comes after its safe-state actions) is
    /// thrown once they are done. A failing valve is reported, and the vent is still opened if
    /// that was asked.
    private func perform(_ actions: [PressureRegulation.Action], operation: String) throws(FluidicsError) {
        var firstOutputError: OutputLineError?
        var fault: FluidicsError.Reason?
        for action in actions {
            do throws(OutputLineError) {
                switch action {
                case .openPressurize: try pressurizeValve.open()
                case .closePressurize: try pressurizeValve.close()
                case .openVent: try ventValve.open()
                case .closeVent: try ventValve.close()
                case .fault(let reason): fault = reason
                }
            } catch {
                if firstOutputError == nil { firstOutputError = error }
            }
        }
        if let fault { throw FluidicsError(device: name, operation: operation, reason: fault) }
        if let firstOutputError {
            throw FluidicsError(device: name, operation: operation, reason: .output(firstOutputError))
        }
    }
}
