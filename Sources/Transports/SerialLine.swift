/// A byte stream to one serial device (a syringe pump on a USB-serial adapter): the transport every
/// serial part's driver talks to.
///
/// The Linux implementation (LinuxIO `SerialPort`) is a tty in raw mode read with `poll(2)`; the
/// twin's (`SimulatedSerialLine`) hands the same bytes to a byte-level simulator on the virtual
/// clock. Drivers see no difference.
///
/// Reads take an absolute deadline on the rig clock, never a fixed sleep: a read returns as soon
/// as any bytes are there, and returns 0 only when the deadline has passed with nothing received.
/// Not thread-safe: one owner.
public protocol SerialLine: AnyObject {
    /// Where the device is, for error messages (`/dev/ttyUSB0`, `twin:pump.cd`).
    var name: String { get }

    /// The clock the deadlines of `read` are on.
    var clock: any RigClock { get }

    /// Writes every byte of `bytes` (waiting for room as needed), or throws.
    func write(_ bytes: UnsafeRawBufferPointer) throws(SerialError)

    /// Waits until at least one byte is available or `deadline` passes, then reads what is
    /// available into `buffer` (at most `buffer.count` bytes). Returns the number of bytes read:
    /// 0 means the deadline passed with nothing received.
    func read(into buffer: UnsafeMutableRawBufferPointer, until deadline: MonotonicInstant) throws(SerialError) -> Int

    /// Drops every byte received and not yet read (`tcflush(TCIFLUSH)`): a stale reply must not
    /// be taken for the answer to the next command.
    func discardInput() throws(SerialError)
}

extension SerialLine {
    /// Writes the UTF-8 bytes of `text`.
    public func write(_ text: String) throws(SerialError) {
        var bytes = Array(text.utf8)
        let outcome = bytes.withUnsafeMutableBytes { raw in
            Result { () throws(SerialError) in try write(UnsafeRawBufferPointer(raw)) }
        }
        try outcome.get()
    }
}

/// A failed serial operation, with the port, what was going on and why.
public struct SerialError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// Nothing (or no complete answer) arrived before the deadline.
        case timeout
        /// The device node does not exist (`ENOENT`, `ENODEV`, `ENXIO`): unplugged or misnamed.
        case noSuchPort
        /// Not allowed to open it (`EACCES`, `EPERM`): the user is not in the `dialout` group.
        case permissionDenied
        /// Another program holds the port open exclusively (`EBUSY` from `TIOCEXCL`).
        case busy
        /// The node is not a terminal (`ENOTTY` from `tcgetattr`).
        case notATerminal
        /// The device went away or the line failed (`EIO`, `POLLHUP`, `POLLERR`).
        case io
        /// A received line grew past the reader's bound without a terminator.
        case lineTooLong(limit: Int)
        /// The baud rate or framing is not one the port offers.
        case unsupportedSetting
        /// Used after `close()`.
        case closed
        /// Any other errno.
        case other
    }

    /// `/dev/ttyUSB0`, `twin:pump.cd`.
    public var port: String
    /// The call or step that failed (`open`, `tcsetattr`, `poll`, `write`, `read line`...).
    public var operation: String
    /// What the caller was waiting for (`the prompt after "irun"`), for timeouts.
    public var awaiting: String?
    /// The bytes received before the failure that did not make a complete answer (a garbled or
    /// cut prompt), when there were any.
    public var received: [UInt8]
    public var errno: Int32?
    public var reason: Reason

    public init(
        port: String, operation: String, awaiting: String? = nil, received: [UInt8] = [], errno: Int32? = nil,
        reason: Reason
    ) {
        self.port = port
        self.operation = operation
        self.awaiting = awaiting
        self.received = received
        self.errno = errno
        self.reason = reason
    }

    public var description: String {
        var text = "\(port): \(operation) failed: \(reason)"
        if let awaiting { text += " awaiting \(awaiting)" }
        if !received.isEmpty { text += " (received \"\(printable(received))\")" }
        if let errno { text += " (errno \(errno))" }
        return text
    }
}

/// Bytes as text for messages: printable ASCII as is, everything else as `\r`, `\n` or `\xNN`.
public func printable<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
    var text = ""
    for byte in bytes {
        switch byte {
        case 0x0D: text += "\\r"
        case 0x0A: text += "\\n"
        case 0x5C: text += "\\\\"
        case 0x20...0x7E: text.unicodeScalars.append(Unicode.Scalar(byte))
        default: text += "\\x" + hex(byte)
        }
    }
    return text
}
