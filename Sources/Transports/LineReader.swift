/// Lines from a `SerialLine`, read against deadlines on the rig clock.
///
/// A line ends at CR, LF or CR LF (a CR LF is one terminator, also when the CR and the LF arrive
/// in different reads). Bytes after the last terminator are kept for the next call, so a reply
/// split across reads comes out whole. A line longer than `maximumLineLength` without a
/// terminator is an error (a device streaming garbage must not grow memory without bound).
///
/// Many instruments end a reply with a prompt that has no terminator (the Harvard `:`, `>`...):
/// `readLineOrPrompt` returns the unterminated bytes as a prompt as soon as they match.
/// Not thread-safe: one owner, like the line under it.
public final class LineReader {
    /// What `readLineOrPrompt` found.
    public enum Item: Equatable, Sendable {
        /// A terminated line, without its terminator (may be empty).
        case line(String)
        /// Unterminated bytes that the caller's predicate accepted as a prompt.
        case prompt(String)
    }

    public let serial: any SerialLine
    /// The longest line accepted, in bytes (terminator excluded).
    public let maximumLineLength: Int

    /// Bytes after the last terminator.
    private var partial: [UInt8] = []
    /// Complete lines not yet returned, oldest first.
    private var lines: [[UInt8]] = []
    /// The last byte processed was a CR: an LF right after it is the same terminator.
    private var afterCarriageReturn = false
    /// Where each read lands, allocated once.
    private let scratch: UnsafeMutableRawBufferPointer

    public init(serial: any SerialLine, maximumLineLength: Int = 256) {
        precondition(maximumLineLength > 0, "a line holds at least one byte")
        self.serial = serial
        self.maximumLineLength = maximumLineLength
        scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 512, alignment: 1)
    }

    deinit { scratch.deallocate() }

    /// The bytes received after the last terminator (a prompt or a line still arriving).
    public var unterminated: [UInt8] { partial }

    /// The next line, waiting until `deadline`. Throws `.timeout` naming `awaiting` (and what did
    /// arrive) when no complete line came in time.
    public func readLine(until deadline: MonotonicInstant, awaiting: String) throws(SerialError) -> String {
        String(decoding: try readLineBytes(until: deadline, awaiting: awaiting), as: UTF8.self)
    }

    /// `readLine` as the raw bytes (for messages that must show a garbled byte as it came).
    public func readLineBytes(until deadline: MonotonicInstant, awaiting: String) throws(SerialError) -> [UInt8] {
        try next(until: deadline, awaiting: awaiting, isPrompt: { _ in false }).bytes
    }

    /// The next line, or the unterminated bytes once `isPrompt` accepts them, waiting until
    /// `deadline`. Complete lines come first, in order. Throws `.timeout` naming `awaiting`, with
    /// the unterminated bytes in `received` (a garbled prompt shows there).
    public func readLineOrPrompt(
        until deadline: MonotonicInstant, awaiting: String, isPrompt: ([UInt8]) -> Bool
    ) throws(SerialError) -> Item {
        let (bytes, prompt) = try next(until: deadline, awaiting: awaiting, isPrompt: isPrompt)
        let text = String(decoding: bytes, as: UTF8.self)
        return prompt ? .prompt(text) : .line(text)
    }

    private func next(
        until deadline: MonotonicInstant, awaiting: String, isPrompt: ([UInt8]) -> Bool
    ) throws(SerialError) -> (bytes: [UInt8], prompt: Bool) {
        while true {
            if !lines.isEmpty {
                return (lines.removeFirst(), false)
            }
            if !partial.isEmpty && isPrompt(partial) {
                defer { partial.removeAll(keepingCapacity: true) }
                return (partial, true)
            }
            let count = try serial.read(into: scratch, until: deadline)
            if count == 0 {
                if serial.clock.now() >= deadline {
                    throw SerialError(
                        port: serial.name, operation: "read line", awaiting: awaiting, received: partial,
                        reason: .timeout)
                }
                continue
            }
            try take(UnsafeRawBufferPointer(rebasing: scratch[0..<count]))
        }
    }

    /// Forgets every buffered byte and line and drops what the port holds unread.
    public func discardInput() throws(SerialError) {
        partial.removeAll(keepingCapacity: true)
        lines.removeAll()
        afterCarriageReturn = false
        try serial.discardInput()
    }

    /// Splits received bytes into lines.
    private func take(_ bytes: UnsafeRawBufferPointer) throws(SerialError) {
        for byte in bytes {
            switch byte {
            case 0x0A where afterCarriageReturn:
                afterCarriageReturn = false
            case 0x0A, 0x0D:
                lines.append(partial)
                partial.removeAll(keepingCapacity: true)
                afterCarriageReturn = byte == 0x0D
            default:
                afterCarriageReturn = false
                guard partial.count < maximumLineLength else {
                    let received = partial
                    partial.removeAll(keepingCapacity: true)
                    throw SerialError(
                        port: serial.name, operation: "read line", received: received,
                        reason: .lineTooLong(limit: maximumLineLength))
                }
                partial.append(byte)
            }
        }
    }
}
