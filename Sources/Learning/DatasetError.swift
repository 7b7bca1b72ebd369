/// A data file that could not be read or does not hold what the model needs: which file, which
/// line, which column, and why (with the allowed range for a number out of range).
///
/// Its `description` has the compiler's shape so editors can jump to it:
///
///     uv.csv:12: column T_reactor (6): 350 is out of range: allowed 200 to 310 °C
///     uv.csv:1: missing column Peak_eV; the header has: Expt. No, T_external, ...
///     uv.csv:40: column t_s (7): "abc" is not a number
public struct DatasetError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based line, when the error is about one.
    public var line: Int?
    /// The column's header name, when the error is about one.
    public var column: String?
    /// 1-based position of that column in the header.
    public var columnNumber: Int?
    public var message: String

    public init(file: String, line: Int?, column: String? = nil, columnNumber: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.columnNumber = columnNumber
        self.message = message
    }

    public var description: String {
        var text = file
        if let line { text += ":\(line)" }
        text += ": "
        if let column {
            text += "column \(column)"
            if let columnNumber { text += " (\(columnNumber))" }
            text += ": "
        }
        return text + message
    }
}
