import Config
import Devices
import Transports

/// Why the rig could not be built or driven, with the part it concerns.
public struct RigError: Error, CustomStringConvertible {
    /// The board part (`thermocouple.reactor`, `heater.reactor`, `i2c.main`...).
    public var part: String
    /// What the rig was doing (`open`, `configure`, `request output`, `set`...).
    public var action: String
    /// The underlying error's description (transport, driver or clock error with its own context).
    public var detail: String

    public init(part: String, action: String, detail: String) {
        self.part = part
        self.action = action
        self.detail = detail
    }

    public init(part: String, action: String, underlying: some Error) {
        self.init(part: part, action: action, detail: String(describing: underlying))
    }

    public var description: String { "\(part): \(action): \(detail)" }
}
