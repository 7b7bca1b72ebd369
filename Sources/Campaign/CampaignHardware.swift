import Control
import Transports

/// A heater loop the campaign drives, named as in the board file's `[heater.<name>]`.
public enum CampaignHeater: String, Equatable, Hashable, Sendable, CaseIterable {
    /// The reactor block: the reaction temperature.
    case reactor
    /// The heated Cd-oleate syringe (heating tape): keeps the stock liquid (it solidifies below ~50 °C).
    case syringe
}

/// Where one pump stands on the volume it was last asked to deliver.
public enum PumpProgress: Equatable, Sendable {
    /// Still moving; the volume delivered so far, µL.
    case running(deliveredMicrolitres: Double)
    /// Reached its target volume.
    case done(deliveredMicrolitres: Double)
    /// Stopped on its own before the target (the Harvard `*` stall prompt, a Chemyx stall, a
    /// blocked line), with what it had delivered and the device's words.
    case stalled(deliveredMicrolitres: Double, detail: String)
}

/// One executed sampling-valve pulse, as the control loop measured it.
public struct ValvePulseResult: Equatable, Sendable {
    /// When the valve actually opened.
    public var openedAt: MonotonicInstant
    /// How long it was open, ms (the real-time loop's measurement, not the request).
    public var openMilliseconds: Double
    /// The aliquot this withdrew, from the achieved open time and the set pressure, µL.
    public var withdrawnMicrolitres: Double

    public init(openedAt: MonotonicInstant, openMilliseconds: Double, withdrawnMicrolitres: Double) {
        self.openedAt = openedAt
        self.openMilliseconds = openMilliseconds
        self.withdrawnMicrolitres = withdrawnMicrolitres
    }
}

/// Both spectra of one aliquot, acquired and analysed (raw counts, processed spectrum,
/// wavelengths, peak fit: `AliquotMeasurement`).
public struct AcquiredAliquot: Equatable, Sendable {
    /// The UV-vis flow cell: absorbance, half-Gaussian exciton fit.
    public var absorbance: AliquotMeasurement
    /// The PL cell: dark-corrected counts, Gaussian band-edge emission fit.
    public var photoluminescence: AliquotMeasurement

    public init(absorbance: AliquotMeasurement, photoluminescence: AliquotMeasurement) {
        self.absorbance = absorbance
        self.photoluminescence = photoluminescence
    }
}

/// A rig operation that failed, with the part, what was asked and what happened.
public struct CampaignHardwareError: Error, Equatable, Sendable, CustomStringConvertible {
    /// How far the failure reaches.
    public enum Severity: String, Equatable, Sendable {
        /// One part failed (a pump, a spectrometer, a valve, a pressure controller): the running
        /// experiment fails; the campaign may go on with the next one.
        case device
        /// The rig itself cannot go on (the control loop or its clock failed): the campaign ends.
        case rig
    }

    /// The part, as the board file names it ("pump.cd_stock", "spectrometer.absorbance", "clock").
    public var part: String
    /// What was asked of it ("start 160 µL at 2000 µL/min").
    public var action: String
    /// What happened, with the numbers (errno, register, reply).
    public var detail: String
    public var severity: Severity

    public init(part: String, action: String, detail: String, severity: Severity = .device) {
        self.part = part
        self.action = action
        self.detail = detail
        self.severity = severity
    }

    public var description: String { "\(part): \(action): \(detail)" }
}

/// What the campaign runner needs from a rig: the twin and the hardware implement it in Rig.
///
/// Every call comes from the runner's own task, in order. Calls that move something return once
/// the command is accepted (pumps start, pressure is set); `advance(until:)` is where time passes:
/// the twin simulates the control loop and the plant up to the deadline, hardware sleeps on the
/// monotonic clock while its real-time loop runs. Only `pulseSamplingValve`, `acquireAliquot` and
/// `drainReactor` may also let time pass (they wait for their own work), and they say so.
public protocol CampaignHardware: AnyObject {
    /// The rig clock's current instant (virtual on the twin, CLOCK_MONOTONIC on hardware).
    func now() -> MonotonicInstant

    /// Lets the rig run until `deadline`: the heat loops tick, pumps move, the twin's plant evolves.
    /// Returns at once if `deadline` has passed. A failure here is `.rig` severity.
    func advance(until deadline: MonotonicInstant) throws(CampaignHardwareError)

    /// The latest reading of `heater`'s thermocouple, °C; nil when there is none (no such loop,
    /// no reading yet, a failed read, a faulted sensor: open or shorted thermocouple).
    func celsius(of heater: CampaignHeater) -> Double?

    /// The room temperature, °C (`T_external` of the published schema).
    func ambientCelsius() -> Double

    /// The setpoint of `heater`'s loop, °C; nil makes the loop idle (heater off).
    func setSetpoint(_ celsius: Double?, of heater: CampaignHeater) throws(CampaignHardwareError)

    /// Tells the reactor loop the hot injection starts now: its feed-forward duty for a while and
    /// the safety supervisor's injection window (`ControlCommand.announceInjection`).
    func announceInjection(_ feedForward: HeatSequence.Injection) throws(CampaignHardwareError)

    /// Starts the pump that holds `reagent` (a board-file pump name: "cd_stock", "oleic_acid",
    /// "ode", "se_stock", "solvent") delivering `microlitres` at `rateMicrolitresPerMinute`
    /// into the reactor (through the selector valve where there is one).
    func startPump(reagent: String, microlitres: Double, rateMicrolitresPerMinute: Double) throws(CampaignHardwareError)

    /// Polls the pump of `reagent` on the volume it was last asked to deliver.
    func pumpProgress(reagent: String) throws(CampaignHardwareError) -> PumpProgress

    /// Stops every pump.
    func stopPumps() throws(CampaignHardwareError)

    /// Sets the reactor's head pressure for sampling, mbar (gauge).
    func pressurize(millibar: Double) throws(CampaignHardwareError)

    /// Releases the reactor's head pressure to ambient.
    func vent() throws(CampaignHardwareError)

    /// Opens the sampling valve at `deadline` (an absolute instant, executed by the real-time
    /// loop) for `milliseconds`, and returns what was achieved. Time passes up to the pulse's end.
    func pulseSamplingValve(at deadline: MonotonicInstant, milliseconds: Double) throws(CampaignHardwareError)
        -> ValvePulseResult

    /// Acquires the absorbance and PL spectra of the aliquot now in the flow cells and analyses
    /// them. Time passes by the integration times.
    func acquireAliquot() throws(CampaignHardwareError) -> AcquiredAliquot

    /// Empties the reactor to waste (pressure through the outlet, selector to waste) and returns
    /// when it is empty. Time passes.
    func drainReactor() throws(CampaignHardwareError)

    /// Safety trips that latched since the last call (each is reported once).
    func takeSafetyTrips() -> [SafetyTrip]

    /// Asks every loop to clear its latched trip, lets the loops apply it, and returns the trips
    /// still latched (refused: the sensor still faulted or out of range).
    func clearSafetyTrips() throws(CampaignHardwareError) -> [SafetyTrip]

    /// Heaters off, valves closed, pumps stopped, pressure vented: best effort on every part
    /// whatever fails. Returns what could not be done (empty when all of it was).
    func enterSafeState(reason: String) -> [String]
}
