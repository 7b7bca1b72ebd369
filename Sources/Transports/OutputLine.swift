/// One digital output (a GPIO line driving an SSR, a solenoid driver or a relay).
///
/// It speaks in electrical levels. What a level means (active high or low) belongs to the device
/// on the line, which reads that from the board file.
public protocol OutputLine: AnyObject {
    /// Where the line is, for error messages (for example `pinctrl-rp1:17` or `twin:heater.reactor`).
    var name: String { get }

    /// Drives the line: `true` is electrically high.
    func set(high: Bool) throws(OutputLineError)

    /// Hands the line back to the kernel. Afterwards the pin follows its default and bias, which
    /// is why outputs are wired so that a released line is off. Releasing twice is harmless.
    func release() throws(OutputLineError)
}

/// A failed output-line operation, with where and why.
public struct OutputLineError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// The GPIO chip was not found by name, path or label.
        case noSuchChip
        /// The chip has no line at that offset.
        case noSuchLine
        /// Another consumer holds the line (`EBUSY`).
        case lineBusy
        /// Not allowed to open the chip (`EACCES`, `EPERM`).
        case permissionDenied
        /// Used after release.
        case released
        /// Any other errno.
        case other
    }

    public var line: String
    /// The C call that failed (`gpiod_line_set_value`...).
    public var operation: String
    public var errno: Int32?
    public var reason: Reason

    public init(line: String, operation: String, errno: Int32? = nil, reason: Reason) {
        self.line = line
        self.operation = operation
        self.errno = errno
        self.reason = reason
    }

    public var description: String {
        var text = "output line \(line): \(operation) failed: \(reason)"
        if let errno { text += " (errno \(errno))" }
        return text
    }
}
