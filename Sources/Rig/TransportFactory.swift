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
}
