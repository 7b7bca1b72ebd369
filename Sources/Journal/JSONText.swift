/// JSON text (RFC 8259) the journal needs without Foundation: a validator for submitted
/// payloads (they are embedded as is in uplink batches, so one bad payload would make every
/// batch that holds it unreadable) and the quoting of strings for the documents it writes.
public enum JSONText {
    /// Whether `text` is exactly one JSON value (RFC 8259 §2), surrounding white space allowed.
    /// Nesting deeper than `maximumDepth` is refused.
    public static func isValid(_ text: String, maximumDepth: Int = 64) -> Bool {
        var text = text
        return text.withUTF8 { bytes in
            var parser = Validator(bytes: bytes, maximumDepth: maximumDepth)
            return parser.validateDocument()
        }
    }

    /// `value` as a JSON string literal: quoted, with `"`, `\` and control characters escaped (§7).
    public static func quoted(_ value: String) -> String {
        var result = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let digits = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// A finite number in JSON (`description` round-trips; integers print without `.0`);
    /// non-finite values, which JSON cannot hold, become `null`.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return value.description
    }

    private struct Validator {
        let bytes: UnsafeBufferPointer<UInt8>
        let maximumDepth: Int
        var index = 0
        var depth = 0

        init(bytes: UnsafeBufferPointer<UInt8>, maximumDepth: Int) {
            self.bytes = bytes
            self.maximumDepth = maximumDepth
        }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipWhitespace() {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func validateDocument() -> Bool {
            skipWhitespace()
            guard value() else { return false }
            skipWhitespace()
            return index == bytes.count
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let count = word.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            for offset in 0..<count where bytes[index + offset] != word.utf8Start[offset] { return false }
            index += count
            return true
        }

        mutating func value() -> Bool {
            guard let byte = current else { return false }
            switch byte {
            case UInt8(ascii: "{"): return container(close: UInt8(ascii: "}"), keyed: true)
            case UInt8(ascii: "["): return container(close: UInt8(ascii: "]"), keyed: false)
            case UInt8(ascii: "\""): return string()
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }

        mutating func container(close: UInt8, keyed: Bool) -> Bool {
            depth += 1
            guard depth <= maximumDepth else { return false }
            index += 1
            skipWhitespace()
            if current == close {
                index += 1
                depth -= 1
                return true
            }
            while true {
                if keyed {
                    guard current == UInt8(ascii: "\""), string() else { return false }
                    skipWhitespace()
                    guard current == UInt8(ascii: ":") else { return false }
                    index += 1
                    skipWhitespace()
                }
                guard value() else { return false }
                skipWhitespace()
                guard let byte = current else { return false }
                index += 1
                if byte == close {
                    depth -= 1
                    return true
                }
                guard byte == UInt8(ascii: ",") else { return false }
                skipWhitespace()
            }
        }

        mutating func string() -> Bool {
            index += 1  // the opening quote
            while let byte = current {
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return true
                case UInt8(ascii: "\\"):
                    guard let escaped = current else { return false }
                    index += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                        UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                        continue
                    case UInt8(ascii: "u"):
                        for _ in 0..<4 {
                            guard let hex = current, isHexDigit(hex) else { return false }
                            index += 1
                        }
                    default:
                        return false
                    }
                case 0x00..<0x20:
                    return false  // control characters must be escaped
                default:
                    continue  // Swift strings are valid UTF-8 already
                }
            }
            return false
        }

        func isHexDigit(_ byte: UInt8) -> Bool {
            (0x30...0x39).contains(byte) || (0x41...0x46).contains(byte) || (0x61...0x66).contains(byte)
        }

        func isDigit(_ byte: UInt8?) -> Bool { byte.map { (0x30...0x39).contains($0) } ?? false }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        mutating func number() -> Bool {
            if current == UInt8(ascii: "-") { index += 1 }
            guard isDigit(current) else { return false }
            if current == UInt8(ascii: "0") {
                index += 1
            } else {
                while isDigit(current) { index += 1 }
            }
            if current == UInt8(ascii: ".") {
                index += 1
                guard isDigit(current) else { return false }
                while isDigit(current) { index += 1 }
            }
            if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
                index += 1
                if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { index += 1 }
                guard isDigit(current) else { return false }
                while isDigit(current) { index += 1 }
            }
            return true
        }
    }
}
