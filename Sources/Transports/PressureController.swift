/// A source of regulated gas pressure on the reactor's head space, in mbar gauge (0 = atmosphere).
///
/// The reactor is pressurized (600 mbar gauge, DESIGN §1) so that opening the sampling valve
/// pushes an aliquot out. Three implementations stand behind this protocol:
/// - LinuxIO `FluigentPressureController`: a Fluigent Flow EZ through Fluigent's SDK
///   (`fgt_set_pressure`, `fgt_get_pressure`, `fgt_get_pressureRange`), loaded at run time;
/// - Devices `SolenoidPressureRegulator`: a pressurization solenoid and a vent solenoid on GPIO
///   with a Honeywell ABP pressure sensor on I2C, regulated bang-bang with hysteresis;
/// - Twin `SimulatedPressureController`: the Flow EZ's behaviour (a first-order lag) for the twin.
///
/// It lives with the transports because it is the seam itself: the vendor SDK has no wire
/// protocol a simulator could answer byte for byte (PROTOCOLS.md §5), so the twin and the SDK
/// adapter meet at this protocol, as the twin's I2C bus and i2c-dev meet at `I2CBus`.
/// Not thread-safe: one owner.
public protocol PressureController: AnyObject {
    /// Where the controller is, for messages (`fluigent:0`, `solenoid:valve.pressurize`, `twin:pressure`).
    var name: String { get }

    /// The pressures the controller can set, mbar gauge (a Flow EZ reports it with
    /// `fgt_get_pressureRange`; the solenoid regulator's is 0 up to its overpressure limit).
    func range() throws(FluidicsError) -> ClosedRange<Double>

    /// Asks for `mbar` gauge; returns at once (the pressure follows with the controller's own
    /// dynamics). Throws `.setpointOutOfRange` outside `range()`.
    func setPressure(mbar: Double) throws(FluidicsError)

    /// The pressure measured now, mbar gauge.
    func readPressure() throws(FluidicsError) -> Double

    /// Releases the pressure to atmosphere: the safe state (DESIGN §2 principle 6).
    func vent() throws(FluidicsError)
}

