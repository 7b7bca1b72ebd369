import Config
import Transports

/// Makes the transports the devices of a board talk to. The only thing that differs between the
/// twin and real hardware: everything above it (drivers, loops, commands) is the same code.
public protocol TransportFactory: AnyObject {
    /// The rig's clock: monotonic on hardware, virtual in the twin.
    var clock: RigClock { get }

    /// The bus of an `[i2c.<name>]` section.
    func makeI2CBus(_ bus: I2CBusConfig) throws(RigError) -> I2CBus

    /// Requests the line of an output as an output already at `offLevel`, so that nothing switches
    /// on while the rig is built.
    func makeOutputLine(_ output: OutputConfig, offLevel: Bool) throws(RigError) -> OutputLine

    /// Finds and opens the USB device of `part` (`spectrometer.abs`) that fits `match`, asking
    /// `serialNumberProbe` for the serial number of a device whose descriptor has none.
    func makeUSBDevice(_ match: USBDeviceMatch, part: String, serialNumberProbe: USBSerialNumberProbe?)
        throws(RigError) -> any USBBulkDevice

    /// The serial line of `[pump.<name>]`: its port (pumps daisy-chained on one port share it), or
    /// the twin's pump simulator.
    func makeSerialLine(_ pump: PumpConfig) throws(RigError) -> any SerialLine
}

extension TransportFactory {
    /// A factory without USB (one made before spectrometers existed) has none to give.
    public func makeUSBDevice(_ match: USBDeviceMatch, part: String, serialNumberProbe: USBSerialNumberProbe?)
        throws(RigError) -> any USBBulkDevice
    {
        throw RigError(part: part, action: "open", detail: "this transport factory has no USB devices")
    }

    /// A factory without serial ports has none to give.
    public func makeSerialLine(_ pump: PumpConfig) throws(RigError) -> any SerialLine {
        throw RigError(part: pump.id, action: "open", detail: "this transport factory has no serial ports")
    }
}
