/// A board file that could not be read or is wrong: which file, which line, which key, and why.
///
/// Its `description` is what a user reads, in the compiler's shape so that editors can jump to it:
///
///     Boards/x.toml:12: heater.reactor.max_c = 450 is out of range: allowed 0 to 400 (°C)
///     Boards/x.toml:7: unknown key thermocouple.reactor.adress; allowed: bus, address, part, ...
///     Boards/x.toml:3:9: invalid number 017: leading zeros are not allowed
///     Boards/x.toml: cannot read the board file: No such file or directory (errno 2)
public struct BoardFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file, as given to `BoardFile.load(path:)` or `BoardFile.parse(text:path:)`.
    public var file: String
    /// 1-based line the error is about, when there is one (not for an unreadable file or a
    /// section that is missing altogether).
    public var line: Int?
    /// 1-based column, for TOML syntax errors only.
    public var column: Int?
    /// The dotted key or section the error is about (`heater.reactor.max_c`, `twin`), when there
    /// is one.
    public var key: String?
    /// The whole explanation, naming the key, the value and what is allowed.
    public var message: String

    public init(file: String, line: Int?, column: Int? = nil, key: String?, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.key = key
        self.message = message
    }

    /// A TOML syntax error in a board file.
    public init(_ error: TOMLError) {
        self.init(file: error.file, line: error.line, column: error.column, key: nil, message: error.message)
    }

    /// `file:line: message` (with `:column` for syntax errors, without a line when there is none).
    public var description: String {
        var location = file
        if let line {
            location += ":\(line)"
            if let column { location += ":\(column)" }
        }
        return "\(location): \(message)"
    }
}
