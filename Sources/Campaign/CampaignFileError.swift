import Config

/// A campaign file that could not be read or is wrong: which file, which line, which key, and why.
///
/// Its `description` has the board files' shape, so editors can jump to it:
///
///     campaigns/x.toml:7: stocks.oa_molar = 4 is out of range: allowed more than 0, up to 3.17 (M)
///     campaigns/x.toml:12: unknown key design.sed; allowed: kind, n, seed, temperature_c, ...
///     campaigns/x.toml:3:9: invalid number 017: leading zeros are not allowed
public struct CampaignFileError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file, as given to `CampaignFile.load(path:)` or `CampaignFile.parse(text:path:)`.
    public var file: String
    /// 1-based line the error is about, when there is one.
    public var line: Int?
    /// 1-based column, for TOML syntax errors only.
    public var column: Int?
    /// The dotted key or section (`stocks.oa_molar`, `experiment[3].cd_mm`, `design`), when there is one.
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

    /// A TOML syntax error in a campaign file.
    public init(_ error: TOMLError) {
        self.init(file: error.file, line: error.line, column: error.column, key: nil, message: error.message)
    }

    /// A board-file style error from `ConfigFiles.read` (unreadable file: no line).
    init(_ error: BoardFileError) {
        self.init(file: error.file, line: error.line, column: error.column, key: error.key, message: error.message)
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

// MARK: - Numbers in messages

/// `400`, `0.35`, `7.5`: integral values without a trailing `.0`, others in their shortest form.
func renderNumber(_ value: Double) -> String {
    if value.isFinite && value == value.rounded() && abs(value) < 1e15 {
        return String(Int64(value))
    }
    return value.description
}

/// `value` rounded to `decimals` places and shown without trailing zeros: 2839.116 -> `2839.1`,
/// 200.0 -> `200`.
func renderRounded(_ value: Double, decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    return renderNumber(rounded == 0 ? 0 : rounded)  // no "-0"
}

/// `text` as a TOML basic string, for messages: quotes and backslashes escaped.
func quoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\t": result += "\\t"
        default: result.unicodeScalars.append(scalar)
        }
    }
    return result + "\""
}

/// A TOML value as it was written, for messages (tables abbreviated).
func render(_ value: TOMLValue) -> String {
    switch value.content {
    case .string(let text): quoted(text)
    case .integer(let integer): String(integer)
    case .float(let number): renderNumber(number)
    case .boolean(let flag): flag ? "true" : "false"
    case .array(let elements): "[" + elements.map { render($0) }.joined(separator: ", ") + "]"
    case .table: "{...}"
    }
}
