// A TOML 1.0 parser for Aliquot's configuration files (board files, campaign files, tuned state).
//
// It is written here rather than taken as a dependency because the controller is a lean binary and
// because every value must carry the line it was written on: a board file's errors name the line.
// Dates and times are refused: no Aliquot file has one, and refusing them keeps the tree small.

/// A TOML document that could not be read, with where and why.
public struct TOMLError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file the text came from, as given to `TOML.parse(_:file:)`.
    public var file: String
    /// 1-based line of the offending text.
    public var line: Int
    /// 1-based column (in Unicode scalars) of the offending text.
    public var column: Int
    /// What is wrong, in words (`duplicate key name (first defined at line 3)`).
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    /// `file:line:column: message`.
    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// One TOML value and where it starts.
public struct TOMLValue: Equatable, Sendable {
    /// The value itself. Arrays of tables (`[[name]]`) are arrays of `.table` values.
    public enum Content: Equatable, Sendable {
        /// Any of the four string forms, escapes resolved, newlines as `\n`.
        case string(String)
        /// A decimal, hexadecimal, octal or binary integer (64-bit, as TOML requires).
        case integer(Int64)
        /// A float, including `inf` and `nan`.
        case float(Double)
        case boolean(Bool)
        /// An array (`[...]`) or an array of tables (`[[name]]`).
        case array([TOMLValue])
        /// A table from a header, dotted keys or an inline table.
        case table(TOMLTable)
    }

    /// The value itself.
    public var content: Content
    /// 1-based line where the value starts (for a table: its header, or the key that created it).
    public var line: Int
    /// 1-based column where the value starts.
    public var column: Int

    public init(content: Content, line: Int, column: Int) {
        self.content = content
        self.line = line
        self.column = column
    }

    /// The kind of value with its article, for messages: "a string", "an integer", "a float",
    /// "a boolean", "an array", "a table".
    public var kindDescription: String {
        switch content {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a float"
        case .boolean: "a boolean"
        case .array: "an array"
        case .table: "a table"
        }
    }

    /// The string, if this is a string.
    public var stringValue: String? {
        if case .string(let value) = content { value } else { nil }
    }

    /// The integer, if this is an integer.
    public var integerValue: Int64? {
        if case .integer(let value) = content { value } else { nil }
    }

    /// The table, if this is a table.
    public var tableValue: TOMLTable? {
        if case .table(let value) = content { value } else { nil }
    }
}

/// A TOML table: its keys in the order they were first written, each with its line.
public struct TOMLTable: Equatable, Sendable {
    /// How a table came to exist; TOML's redefinition rules depend on it, and so can a schema
    /// (a `[heater]` header is not the same as `[heater.reactor]` implying `heater`).
    public enum Origin: Equatable, Sendable {
        /// The document itself.
        case root
        /// A `[name]` header, or one element of an array of tables (`[[name]]`).
        case header
        /// Implied by a longer header: `[a.b]` implies `a`.
        case implicit
        /// Created by a dotted key: `a.b = 1` creates table `a`.
        case dottedKeys
        /// An inline table, `{ ... }`.
        case inline
    }

    /// One key of the table.
    public struct Entry: Equatable, Sendable {
        /// The key, unquoted (one part of a dotted key).
        public var key: String
        /// 1-based line of the key (for a table, of the header that defined it).
        public var line: Int
        /// 1-based column of the key.
        public var column: Int
        /// What the key holds.
        public var value: TOMLValue

        public init(key: String, line: Int, column: Int, value: TOMLValue) {
            self.key = key
            self.line = line
            self.column = column
            self.value = value
        }
    }

    /// The keys in the order they first appear in the file.
    public var entries: [Entry]
    /// 1-based line of the table's header (or of whatever created it; 1 for the root).
    public var line: Int
    /// 1-based column of the table's header.
    public var column: Int
    /// How the table was created.
    public var origin: Origin

    public init(entries: [Entry], line: Int, column: Int, origin: Origin) {
        self.entries = entries
        self.line = line
        self.column = column
        self.origin = origin
    }

    /// The entry for `key`, if present.
    public func entry(_ key: String) -> Entry? {
        entries.first { $0.key == key }
    }

    /// The value for `key`, if present.
    public subscript(key: String) -> TOMLValue? {
        entry(key)?.value
    }

    /// The keys in file order.
    public var keys: [String] { entries.map(\.key) }
}

/// The TOML parser.
public enum TOML {
    /// Tables, arrays and dotted keys nested deeper than this are refused (a hostile file must not
    /// exhaust the stack).
    public static let maximumNesting = 100

    /// Parses a whole TOML 1.0 document into its root table.
    ///
    /// - Parameter file: the file name to put in errors (the text is not read from it).
    /// - Throws: `TOMLError` at the first syntax error or broken TOML rule (duplicate keys, tables
    ///   defined twice, ...). Dates and times are refused as not supported in Aliquot files.
    public static func parse(_ text: String, file: String) throws(TOMLError) -> TOMLTable {
        var parser = TOMLParser(file: file, bytes: Array(text.utf8))
        return try parser.parseDocument()
    }
}

// MARK: - Building tables

/// A table while the document is being read: mutable, shared by reference so that headers can
/// reopen it, and marked with how it was created.
private final class TableBuilder {
    enum Child {
        case value(TOMLValue)
        case table(TableBuilder)
        case tableArray([TableBuilder])
    }

    struct Slot {
        var line: Int
        var column: Int
        var child: Child
    }

    var origin: TOMLTable.Origin
    var line: Int
    var column: Int
    /// The table's full key path, for messages.
    let path: [String]
    var keys: [String] = []
    var slots: [String: Slot] = [:]

    init(origin: TOMLTable.Origin, line: Int, column: Int, path: [String]) {
        self.origin = origin
        self.line = line
        self.column = column
        self.path = path
    }

    func add(_ key: String, _ slot: Slot) {
        keys.append(key)
        slots[key] = slot
    }

    func build() -> TOMLTable {
        var entries: [TOMLTable.Entry] = []
        entries.reserveCapacity(keys.count)
        for key in keys {
            guard let slot = slots[key] else { continue }
            let value: TOMLValue
            switch slot.child {
            case .value(let leaf):
                value = leaf
            case .table(let table):
                value = TOMLValue(content: .table(table.build()), line: table.line, column: table.column)
            case .tableArray(let tables):
                let elements = tables.map {
                    TOMLValue(content: .table($0.build()), line: $0.line, column: $0.column)
                }
                value = TOMLValue(content: .array(elements), line: slot.line, column: slot.column)
            }
            entries.append(TOMLTable.Entry(key: key, line: slot.line, column: slot.column, value: value))
        }
        return TOMLTable(entries: entries, line: line, column: column, origin: origin)
    }
}

// MARK: - Parser

private extension UInt8 {
    static let tab = UInt8(ascii: "\t")
    static let lineFeed = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let space = UInt8(ascii: " ")
    static let quote = UInt8(ascii: "\"")
    static let apostrophe = UInt8(ascii: "'")
    static let backslash = UInt8(ascii: "\\")
    static let hash = UInt8(ascii: "#")
    static let equals = UInt8(ascii: "=")
    static let dot = UInt8(ascii: ".")
    static let comma = UInt8(ascii: ",")
    static let openBracket = UInt8(ascii: "[")
    static let closeBracket = UInt8(ascii: "]")
    static let openBrace = UInt8(ascii: "{")
    static let closeBrace = UInt8(ascii: "}")
    static let underscore = UInt8(ascii: "_")
    static let plus = UInt8(ascii: "+")
    static let minus = UInt8(ascii: "-")
    static let colon = UInt8(ascii: ":")

    var isDecimalDigit: Bool { self >= 0x30 && self <= 0x39 }
    var isASCIILetter: Bool { (self >= 0x41 && self <= 0x5A) || (self >= 0x61 && self <= 0x7A) }
    var isBareKeyByte: Bool { isDecimalDigit || isASCIILetter || self == .underscore || self == .minus }
    var isSpaceOrTab: Bool { self == .space || self == .tab }
    var isNewlineStart: Bool { self == .lineFeed || self == .carriageReturn }
    /// Control characters TOML forbids in strings and comments (everything below U+0020 but tab,
    /// and DEL).
    var isForbiddenControl: Bool { (self < 0x20 && self != .tab) || self == 0x7F }

    var hexDigitValue: UInt8? {
        switch self {
        case 0x30...0x39: self - 0x30
        case 0x41...0x46: self - 0x41 + 10
        case 0x61...0x66: self - 0x61 + 10
        default: nil
        }
    }
}

/// A position in the text, kept so that errors can point back at the start of a token.
private struct Mark {
    var position: Int
    var line: Int
    var lineStart: Int
}

/// One part of a (possibly dotted) key, with where it was written.
private struct KeyPart {
    var name: String
    var mark: Mark
}

private struct TOMLParser {
    let file: String
    let bytes: [UInt8]
    var position = 0
    var line = 1
    var lineStart = 0

    init(file: String, bytes: [UInt8]) {
        self.file = file
        self.bytes = bytes
        // A UTF-8 byte-order mark is not part of the document.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            position = 3
            lineStart = 3
        }
    }

    // MARK: Positions and errors

    var mark: Mark { Mark(position: position, line: line, lineStart: lineStart) }

    func peek(_ offset: Int = 0) -> UInt8? {
        let index = position + offset
        return index < bytes.count ? bytes[index] : nil
    }

    func column(of mark: Mark) -> Int {
        // Count Unicode scalars, not bytes: skip UTF-8 continuation bytes.
        var column = 1
        var index = mark.lineStart
        while index < mark.position && index < bytes.count {
            if bytes[index] & 0xC0 != 0x80 { column += 1 }
            index += 1
        }
        return column
    }

    func error(_ message: String, at mark: Mark) -> TOMLError {
        TOMLError(file: file, line: mark.line, column: column(of: mark), message: message)
    }

    func error(_ message: String) -> TOMLError {
        error(message, at: mark)
    }

    /// Describes the byte at the cursor for messages: `'x'`, `end of file`, `a newline`.
    func describeCurrent() -> String {
        guard let byte = peek() else { return "the end of the file" }
        if byte.isNewlineStart { return "a newline" }
        if byte.isForbiddenControl { return "control character \(hexScalar(UInt32(byte)))" }
        // Show the whole UTF-8 sequence that starts here.
        var end = position + 1
        while end < bytes.count && bytes[end] & 0xC0 == 0x80 { end += 1 }
        return "'\(String(decoding: bytes[position..<end], as: UTF8.self))'"
    }

    func hexScalar(_ value: UInt32) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    // MARK: Whitespace, comments, newlines

    mutating func skipSpaces() {
        while let byte = peek(), byte.isSpaceOrTab { position += 1 }
    }

    /// Consumes one newline (LF or CRLF) at the cursor.
    mutating func consumeNewline() throws(TOMLError) {
        if peek() == .carriageReturn {
            guard peek(1) == .lineFeed else {
                throw error("a carriage return must be followed by a line feed")
            }
            position += 1
        }
        position += 1
        line += 1
        lineStart = position
    }

    /// Skips a comment from `#` up to (not including) the end of its line.
    mutating func skipComment() throws(TOMLError) {
        position += 1
        while let byte = peek(), !byte.isNewlineStart {
            if byte.isForbiddenControl {
                throw error("control character \(hexScalar(UInt32(byte))) is not allowed in a comment")
            }
            position += 1
        }
    }

    /// After a key/value pair or a header: only spaces, a comment and the end of the line.
    mutating func expectEndOfLine(after what: String) throws(TOMLError) {
        skipSpaces()
        guard let byte = peek() else { return }
        if byte == .hash {
            try skipComment()
        } else if !byte.isNewlineStart {
            throw error("unexpected \(describeCurrent()) after \(what); expected the end of the line")
        }
        if peek() != nil { try consumeNewline() }
    }

    /// Inside arrays: spaces, newlines and comments.
    mutating func skipSpacesNewlinesAndComments() throws(TOMLError) {
        while let byte = peek() {
            if byte.isSpaceOrTab {
                position += 1
            } else if byte.isNewlineStart {
                try consumeNewline()
            } else if byte == .hash {
                try skipComment()
            } else {
                return
            }
        }
    }

    // MARK: Document

    mutating func parseDocument() throws(TOMLError) -> TOMLTable {
        let root = TableBuilder(origin: .root, line: 1, column: 1, path: [])
        var current = root
        while true {
            skipSpaces()
            guard let byte = peek() else { break }
            if byte.isNewlineStart {
                try consumeNewline()
            } else if byte == .hash {
                try skipComment()
            } else if byte == .openBracket {
                current = try parseHeader(root: root)
            } else {
                try parseKeyValue(into: current, depth: current.path.count)
                try expectEndOfLine(after: "the value")
            }
        }
        return root.build()
    }

    // MARK: Keys

    mutating func parseKey() throws(TOMLError) -> [KeyPart] {
        var parts: [KeyPart] = []
        while true {
            skipSpaces()
            let start = mark
            guard let byte = peek() else { throw error("expected a key, found the end of the file") }
            let name: String
            if byte == .quote {
                if peek(1) == .quote && peek(2) == .quote {
                    throw error("a key cannot be a multi-line string")
                }
                name = try parseBasicString()
            } else if byte == .apostrophe {
                if peek(1) == .apostrophe && peek(2) == .apostrophe {
                    throw error("a key cannot be a multi-line string")
                }
                name = try parseLiteralString()
            } else if byte.isBareKeyByte {
                let begin = position
                while let next = peek(), next.isBareKeyByte { position += 1 }
                name = String(decoding: bytes[begin..<position], as: UTF8.self)
            } else {
                throw error("expected a key, found \(describeCurrent())")
            }
            parts.append(KeyPart(name: name, mark: start))
            if parts.count > TOML.maximumNesting {
                throw error("a key has more than \(TOML.maximumNesting) parts", at: start)
            }
            skipSpaces()
            guard peek() == .dot else { return parts }
            position += 1
        }
    }

    /// `a.b."c d"`: a key path as it would be written.
    static func display(_ path: some Sequence<String>) -> String {
        path.map { name in
            let isBare = !name.isEmpty && name.utf8.allSatisfy(\.isBareKeyByte)
            return isBare ? name : "\"" + name + "\""
        }.joined(separator: ".")
    }

    mutating func parseKeyValue(into table: TableBuilder, depth: Int) throws(TOMLError) {
        let parts = try parseKey()
        guard peek() == .equals else {
            throw error("expected = after the key \(Self.display(parts.map(\.name))), found \(describeCurrent())")
        }
        position += 1
        skipSpaces()
        let path = table.path + parts.map(\.name)
        let value = try parseValue(path: path, depth: depth + parts.count)
        try insert(value, at: parts, into: table)
    }

    /// Puts `value` at the dotted key `parts` below `table`, creating the tables dotted keys imply.
    mutating func insert(_ value: TOMLValue, at parts: [KeyPart], into table: TableBuilder) throws(TOMLError) {
        guard let last = parts.last else { return }
        var target = table
        for part in parts.dropLast() {
            let path = Self.display(target.path + [part.name])
            if let slot = target.slots[part.name] {
                switch slot.child {
                case .table(let existing):
                    switch existing.origin {
                    case .dottedKeys:
                        target = existing
                    case .header, .implicit, .root:
                        throw error(
                            "table \(path) is defined by a table header (line \(existing.line)); dotted keys cannot add to it",
                            at: part.mark)
                    case .inline:
                        throw error("\(path) is an inline table (line \(slot.line)); it cannot be extended", at: part.mark)
                    }
                case .value(let leaf):
                    if case .table = leaf.content {
                        throw error("\(path) is an inline table (line \(slot.line)); it cannot be extended", at: part.mark)
                    }
                    throw error(
                        "key \(path) already holds \(leaf.kindDescription) (line \(slot.line)); it cannot also be a table",
                        at: part.mark)
                case .tableArray:
                    throw error(
                        "\(path) is an array of tables (line \(slot.line)); dotted keys cannot add to it", at: part.mark)
                }
            } else {
                let child = try makeTable(
                    origin: .dottedKeys, at: part.mark, path: target.path + [part.name])
                target.add(part.name, .init(line: part.mark.line, column: column(of: part.mark), child: .table(child)))
                target = child
            }
        }
        if let existing = target.slots[last.name] {
            throw error(
                "duplicate key \(Self.display(target.path + [last.name])) (first defined at line \(existing.line))",
                at: last.mark)
        }
        target.add(last.name, .init(line: last.mark.line, column: column(of: last.mark), child: .value(value)))
    }

    func makeTable(origin: TOMLTable.Origin, at mark: Mark, path: [String]) throws(TOMLError) -> TableBuilder {
        guard path.count <= TOML.maximumNesting else {
            throw error("tables are nested more than \(TOML.maximumNesting) deep", at: mark)
        }
        return TableBuilder(origin: origin, line: mark.line, column: column(of: mark), path: path)
    }

    // MARK: Headers

    /// `[a.b]` or `[[a.b]]`; returns the table that the following keys go into.
    mutating func parseHeader(root: TableBuilder) throws(TOMLError) -> TableBuilder {
        let start = mark
        position += 1
        let isArrayOfTables = peek() == .openBracket
        if isArrayOfTables { position += 1 }
        let parts = try parseKey()
        guard peek() == .closeBracket else {
            throw error("expected ] to close the table header, found \(describeCurrent())")
        }
        position += 1
        if isArrayOfTables {
            guard peek() == .closeBracket else {
                throw error("expected ]] to close the array-of-tables header, found \(describeCurrent())")
            }
            position += 1
        }
        let table = isArrayOfTables
            ? try appendArrayElement(at: parts, in: root, header: start)
            : try defineTable(at: parts, in: root, header: start)
        try expectEndOfLine(after: "the table header")
        return table
    }

    /// Walks `[a.b.c]` down to the parent of `c`, creating implied tables.
    mutating func parent(of parts: [KeyPart], in root: TableBuilder, header: Mark) throws(TOMLError) -> TableBuilder {
        var target = root
        for part in parts.dropLast() {
            let path = Self.display(target.path + [part.name])
            if let slot = target.slots[part.name] {
                switch slot.child {
                case .table(let existing):
                    target = existing
                case .tableArray(let elements):
                    guard let lastElement = elements.last else {
                        throw error("\(path) is an empty array of tables", at: part.mark)
                    }
                    target = lastElement
                case .value(let leaf):
                    if case .table = leaf.content {
                        throw error("\(path) is an inline table (line \(slot.line)); it cannot be extended", at: part.mark)
                    }
                    throw error(
                        "key \(path) already holds \(leaf.kindDescription) (line \(slot.line)); it cannot also be a table",
                        at: part.mark)
                }
            } else {
                let child = try makeTable(origin: .implicit, at: header, path: target.path + [part.name])
                target.add(part.name, .init(line: header.line, column: column(of: header), child: .table(child)))
                target = child
            }
        }
        return target
    }

    mutating func defineTable(at parts: [KeyPart], in root: TableBuilder, header: Mark) throws(TOMLError) -> TableBuilder {
        let parent = try parent(of: parts, in: root, header: header)
        guard let last = parts.last else { return parent }
        let path = Self.display(parent.path + [last.name])
        guard let slot = parent.slots[last.name] else {
            let table = try makeTable(origin: .header, at: header, path: parent.path + [last.name])
            parent.add(last.name, .init(line: header.line, column: column(of: header), child: .table(table)))
            return table
        }
        switch slot.child {
        case .table(let existing):
            switch existing.origin {
            case .implicit:
                // Implied by an earlier, longer header: this is its one definition.
                existing.origin = .header
                existing.line = header.line
                existing.column = column(of: header)
                var updated = slot
                updated.line = header.line
                updated.column = column(of: header)
                parent.slots[last.name] = updated
                return existing
            case .dottedKeys:
                throw error("table [\(path)] is already defined by dotted keys (line \(existing.line))", at: header)
            case .header, .root, .inline:
                throw error("table [\(path)] is defined twice (first at line \(existing.line))", at: header)
            }
        case .tableArray:
            throw error("[\(path)] is already an array of tables (line \(slot.line)); it cannot be a table too", at: header)
        case .value(let leaf):
            if case .table = leaf.content {
                throw error("[\(path)] is already an inline table (line \(slot.line)); it cannot be redefined", at: header)
            }
            throw error(
                "key \(path) already holds \(leaf.kindDescription) (line \(slot.line)); it cannot also be a table",
                at: header)
        }
    }

    mutating func appendArrayElement(at parts: [KeyPart], in root: TableBuilder, header: Mark) throws(TOMLError) -> TableBuilder {
        let parent = try parent(of: parts, in: root, header: header)
        guard let last = parts.last else { return parent }
        let path = Self.display(parent.path + [last.name])
        let element = try makeTable(origin: .header, at: header, path: parent.path + [last.name])
        guard let slot = parent.slots[last.name] else {
            parent.add(last.name, .init(line: header.line, column: column(of: header), child: .tableArray([element])))
            return element
        }
        switch slot.child {
        case .tableArray(var elements):
            elements.append(element)
            parent.slots[last.name] = .init(line: slot.line, column: slot.column, child: .tableArray(elements))
            return element
        case .table(let existing):
            throw error(
                "[[\(path)]] cannot append to \(path): it is already a table (line \(existing.line))", at: header)
        case .value(let leaf):
            if case .array = leaf.content {
                throw error(
                    "[[\(path)]] cannot append to \(path): it is a static array (line \(slot.line))", at: header)
            }
            throw error(
                "key \(path) already holds \(leaf.kindDescription) (line \(slot.line)); it cannot also be an array of tables",
                at: header)
        }
    }

    // MARK: Values

    mutating func parseValue(path: [String], depth: Int) throws(TOMLError) -> TOMLValue {
        let start = mark
        let startColumn = column(of: start)
        guard let byte = peek() else { throw error("missing value at the end of the file") }
        func made(_ content: TOMLValue.Content) -> TOMLValue {
            TOMLValue(content: content, line: start.line, column: startColumn)
        }
        switch byte {
        case .quote:
            if peek(1) == .quote && peek(2) == .quote {
                return made(.string(try parseMultiLineBasicString()))
            }
            return made(.string(try parseBasicString()))
        case .apostrophe:
            if peek(1) == .apostrophe && peek(2) == .apostrophe {
                return made(.string(try parseMultiLineLiteralString()))
            }
            return made(.string(try parseLiteralString()))
        case .openBracket:
            guard depth < TOML.maximumNesting else {
                throw error("values are nested more than \(TOML.maximumNesting) deep")
            }
            return made(.array(try parseArray(path: path, depth: depth + 1)))
        case .openBrace:
            guard depth < TOML.maximumNesting else {
                throw error("values are nested more than \(TOML.maximumNesting) deep")
            }
            return made(.table(try parseInlineTable(path: path, depth: depth + 1)))
        case .lineFeed, .carriageReturn, .hash:
            throw error("missing value after =")
        default:
            return made(try parseBareValue())
        }
    }

    /// Booleans, numbers, and (refused) dates and times: everything written without quotes or
    /// brackets.
    mutating func parseBareValue() throws(TOMLError) -> TOMLValue.Content {
        let start = mark
        let begin = position
        while let byte = peek(),
              byte.isDecimalDigit || byte.isASCIILetter || byte == .underscore || byte == .plus
                || byte == .minus || byte == .dot || byte == .colon
        {
            position += 1
        }
        let token = Array(bytes[begin..<position])
        let text = String(decoding: token, as: UTF8.self)
        guard let first = token.first else {
            throw error("expected a value, found \(describeCurrent())")
        }
        if text == "true" { return .boolean(true) }
        if text == "false" { return .boolean(false) }
        if text == "True" || text == "False" || text == "TRUE" || text == "FALSE" {
            throw error("\(text) is not a value: booleans are lowercase, true or false", at: start)
        }
        if Self.looksLikeDateOrTime(token) {
            throw error("dates and times are not supported in Aliquot files (found \(text))", at: start)
        }
        if first == .dot {
            throw error("invalid number \(text): a number needs a digit before the decimal point", at: start)
        }
        guard first.isDecimalDigit || first == .plus || first == .minus || text == "inf" || text == "nan" else {
            throw error("\(text) is not a value: strings need quotes (\"\(text)\")", at: start)
        }
        return try parseNumber(token, text: text, at: start)
    }

    /// `1979-05-27...` or `07:32...`.
    static func looksLikeDateOrTime(_ token: [UInt8]) -> Bool {
        func digits(_ range: Range<Int>) -> Bool {
            range.upperBound <= token.count && range.allSatisfy { token[$0].isDecimalDigit }
        }
        let isDate = digits(0..<4) && token.count > 4 && token[4] == .minus && digits(5..<7)
        let isTime = digits(0..<2) && token.count > 2 && token[2] == .colon
        return isDate || isTime
    }

    /// Reads digits (of `isDigit`) with single underscores between them, from `index`.
    func scanDigits(
        _ token: [UInt8], from index: inout Int, text: String, at start: Mark, isDigit: (UInt8) -> Bool
    ) throws(TOMLError) -> [UInt8] {
        var digits: [UInt8] = []
        let first = index
        while index < token.count {
            let byte = token[index]
            if isDigit(byte) {
                digits.append(byte)
            } else if byte == .underscore {
                let betweenDigits = index > first && isDigit(token[index - 1])
                    && index + 1 < token.count && isDigit(token[index + 1])
                guard betweenDigits else {
                    throw error("invalid number \(text): an underscore must be between two digits", at: start)
                }
            } else {
                break
            }
            index += 1
        }
        return digits
    }

    func parseNumber(_ token: [UInt8], text: String, at start: Mark) throws(TOMLError) -> TOMLValue.Content {
        var index = 0
        var isNegative = false
        let hasSign = token[0] == .plus || token[0] == .minus
        if hasSign {
            isNegative = token[0] == .minus
            index = 1
        }
        let unsigned = String(decoding: token[index...], as: UTF8.self)
        if unsigned == "inf" { return .float(isNegative ? -Double.infinity : Double.infinity) }
        if unsigned == "nan" { return .float(isNegative ? -Double.nan : Double.nan) }

        // 0x, 0o, 0b
        if token.count >= index + 2 && token[index] == UInt8(ascii: "0") && token[index + 1].isASCIILetter {
            let radix: UInt64
            let isDigit: (UInt8) -> Bool
            switch token[index + 1] {
            case UInt8(ascii: "x"):
                radix = 16
                isDigit = { $0.hexDigitValue != nil }
            case UInt8(ascii: "o"):
                radix = 8
                isDigit = { $0 >= 0x30 && $0 <= 0x37 }
            case UInt8(ascii: "b"):
                radix = 2
                isDigit = { $0 == 0x30 || $0 == 0x31 }
            default:
                throw error("invalid number \(text)", at: start)
            }
            if hasSign {
                throw error("invalid number \(text): hexadecimal, octal and binary integers take no sign", at: start)
            }
            index += 2
            let digits = try scanDigits(token, from: &index, text: text, at: start, isDigit: isDigit)
            guard !digits.isEmpty, index == token.count else {
                throw error("invalid number \(text)", at: start)
            }
            var magnitude: UInt64 = 0
            for digit in digits {
                let (shifted, overflow) = magnitude.multipliedReportingOverflow(by: radix)
                let (sum, carry) = shifted.addingReportingOverflow(UInt64(digit.hexDigitValue ?? 0))
                guard !overflow, !carry else { throw error("integer \(text) does not fit in 64 bits", at: start) }
                magnitude = sum
            }
            guard magnitude <= UInt64(Int64.max) else {
                throw error("integer \(text) does not fit in 64 bits", at: start)
            }
            return .integer(Int64(magnitude))
        }

        // Decimal integer or float.
        let integerDigits = try scanDigits(token, from: &index, text: text, at: start, isDigit: \.isDecimalDigit)
        guard !integerDigits.isEmpty else { throw error("invalid number \(text)", at: start) }
        if integerDigits.count > 1 && integerDigits[0] == UInt8(ascii: "0") {
            throw error("invalid number \(text): leading zeros are not allowed", at: start)
        }
        var isFloat = false
        var fractionDigits: [UInt8] = []
        var exponentDigits: [UInt8] = []
        var exponentSign: UInt8?
        if index < token.count && token[index] == .dot {
            isFloat = true
            index += 1
            fractionDigits = try scanDigits(token, from: &index, text: text, at: start, isDigit: \.isDecimalDigit)
            guard !fractionDigits.isEmpty else {
                throw error("invalid number \(text): a decimal point must be followed by a digit", at: start)
            }
        }
        if index < token.count && (token[index] == UInt8(ascii: "e") || token[index] == UInt8(ascii: "E")) {
            isFloat = true
            index += 1
            if index < token.count && (token[index] == .plus || token[index] == .minus) {
                exponentSign = token[index]
                index += 1
            }
            exponentDigits = try scanDigits(token, from: &index, text: text, at: start, isDigit: \.isDecimalDigit)
            guard !exponentDigits.isEmpty else {
                throw error("invalid number \(text): an exponent needs digits", at: start)
            }
        }
        guard index == token.count else { throw error("invalid number \(text)", at: start) }

        if isFloat {
            var cleaned: [UInt8] = isNegative ? [.minus] : []
            cleaned += integerDigits
            if !fractionDigits.isEmpty { cleaned += [.dot] + fractionDigits }
            if !exponentDigits.isEmpty {
                cleaned.append(UInt8(ascii: "e"))
                if let exponentSign { cleaned.append(exponentSign) }
                cleaned += exponentDigits
            }
            guard let value = Double(String(decoding: cleaned, as: UTF8.self)), value.isFinite else {
                throw error("float \(text) is out of range for a 64-bit float", at: start)
            }
            return .float(value)
        }

        var magnitude: UInt64 = 0
        for digit in integerDigits {
            let (shifted, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, carry) = shifted.addingReportingOverflow(UInt64(digit - 0x30))
            guard !overflow, !carry else { throw error("integer \(text) does not fit in 64 bits", at: start) }
            magnitude = sum
        }
        if isNegative {
            guard magnitude <= UInt64(Int64.max) + 1 else {
                throw error("integer \(text) does not fit in 64 bits", at: start)
            }
            return .integer(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude))
        }
        guard magnitude <= UInt64(Int64.max) else {
            throw error("integer \(text) does not fit in 64 bits", at: start)
        }
        return .integer(Int64(magnitude))
    }

    // MARK: Strings

    /// At a backslash in a basic string: appends the escaped character.
    mutating func parseEscape(into output: inout [UInt8]) throws(TOMLError) {
        let start = mark
        position += 1
        guard let letter = peek() else { throw error("unterminated string: the file ends after a backslash") }
        position += 1
        switch letter {
        case UInt8(ascii: "b"): output.append(0x08)
        case UInt8(ascii: "t"): output.append(.tab)
        case UInt8(ascii: "n"): output.append(.lineFeed)
        case UInt8(ascii: "f"): output.append(0x0C)
        case UInt8(ascii: "r"): output.append(.carriageReturn)
        case .quote: output.append(.quote)
        case .backslash: output.append(.backslash)
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = letter == UInt8(ascii: "u") ? 4 : 8
            let escape = "\\" + String(UnicodeScalar(letter))
            var value: UInt32 = 0
            for _ in 0..<count {
                guard let digit = peek()?.hexDigitValue else {
                    throw error("invalid escape \(escape): it needs exactly \(count) hexadecimal digits", at: start)
                }
                value = value << 4 | UInt32(digit)
                position += 1
            }
            guard let scalar = Unicode.Scalar(value) else {
                throw error("invalid escape: \(hexScalar(value)) is not a Unicode scalar value", at: start)
            }
            UTF8.encode(scalar) { output.append($0) }
        default:
            position -= 1
            let shown = letter.isSpaceOrTab || letter.isNewlineStart
                ? " followed by \(describeCurrent())" : describeCurrent().trimmingQuotes
            throw error(
                "invalid escape \\\(shown); allowed: \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX", at: start)
        }
    }

    /// `"..."`, at the opening quote.
    mutating func parseBasicString() throws(TOMLError) -> String {
        let start = mark
        position += 1
        var output: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated string", at: start) }
            switch byte {
            case .quote:
                position += 1
                return String(decoding: output, as: UTF8.self)
            case .backslash:
                try parseEscape(into: &output)
            case .lineFeed, .carriageReturn:
                throw error("unterminated string: a newline before the closing quote (use \"\"\" for a multi-line string)")
            default:
                if byte.isForbiddenControl {
                    throw error("control character \(hexScalar(UInt32(byte))) must be escaped in a string")
                }
                output.append(byte)
                position += 1
            }
        }
    }

    /// `'...'`, at the opening apostrophe.
    mutating func parseLiteralString() throws(TOMLError) -> String {
        let start = mark
        position += 1
        let begin = position
        while true {
            guard let byte = peek() else { throw error("unterminated string", at: start) }
            if byte == .apostrophe {
                let text = String(decoding: bytes[begin..<position], as: UTF8.self)
                position += 1
                return text
            }
            if byte.isNewlineStart {
                throw error("unterminated string: a newline before the closing quote (use ''' for a multi-line string)")
            }
            if byte.isForbiddenControl {
                throw error("control character \(hexScalar(UInt32(byte))) is not allowed in a literal string")
            }
            position += 1
        }
    }

    /// At `"""` or `'''` seen as `delimiter`: if the string ends here, consumes the delimiter (and
    /// up to two more quotes, which belong to the string) and returns how many quotes belong to
    /// the content; otherwise nil.
    mutating func closingDelimiter(_ delimiter: UInt8) -> Int? {
        guard peek() == delimiter && peek(1) == delimiter && peek(2) == delimiter else { return nil }
        var count = 3
        while count < 5 && peek(count) == delimiter { count += 1 }
        position += count
        return count - 3
    }

    /// `"""..."""`, at the opening quotes.
    mutating func parseMultiLineBasicString() throws(TOMLError) -> String {
        let start = mark
        position += 3
        if let byte = peek(), byte.isNewlineStart { try consumeNewline() }
        var output: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated multi-line string", at: start) }
            if let extraQuotes = closingDelimiter(.quote) {
                output += Array(repeating: .quote, count: extraQuotes)
                return String(decoding: output, as: UTF8.self)
            }
            if byte == .backslash, let next = peek(1), next.isSpaceOrTab || next.isNewlineStart {
                // A line-ending backslash: drop it and all whitespace and newlines after it.
                let escape = mark
                position += 1
                skipSpaces()
                guard let end = peek(), end.isNewlineStart else {
                    throw error("invalid escape: a backslash followed by spaces must end the line", at: escape)
                }
                while let next = peek(), next.isSpaceOrTab || next.isNewlineStart {
                    if next.isNewlineStart { try consumeNewline() } else { position += 1 }
                }
            } else if byte == .backslash {
                try parseEscape(into: &output)
            } else if byte.isNewlineStart {
                try consumeNewline()
                output.append(.lineFeed)
            } else if byte.isForbiddenControl {
                throw error("control character \(hexScalar(UInt32(byte))) must be escaped in a string")
            } else {
                output.append(byte)
                position += 1
            }
        }
    }

    /// `'''...'''`, at the opening apostrophes.
    mutating func parseMultiLineLiteralString() throws(TOMLError) -> String {
        let start = mark
        position += 3
        if let byte = peek(), byte.isNewlineStart { try consumeNewline() }
        var output: [UInt8] = []
        while true {
            guard let byte = peek() else { throw error("unterminated multi-line string", at: start) }
            if let extraQuotes = closingDelimiter(.apostrophe) {
                output += Array(repeating: .apostrophe, count: extraQuotes)
                return String(decoding: output, as: UTF8.self)
            }
            if byte.isNewlineStart {
                try consumeNewline()
                output.append(.lineFeed)
            } else if byte.isForbiddenControl {
                throw error("control character \(hexScalar(UInt32(byte))) is not allowed in a literal string")
            } else {
                output.append(byte)
                position += 1
            }
        }
    }

    // MARK: Arrays and inline tables

    /// `[ ... ]`, at the opening bracket.
    mutating func parseArray(path: [String], depth: Int) throws(TOMLError) -> [TOMLValue] {
        let start = mark
        position += 1
        var elements: [TOMLValue] = []
        while true {
            try skipSpacesNewlinesAndComments()
            guard let byte = peek() else { throw error("unterminated array: expected ]", at: start) }
            if byte == .closeBracket {
                position += 1
                return elements
            }
            elements.append(try parseValue(path: path, depth: depth))
            try skipSpacesNewlinesAndComments()
            guard let separator = peek() else { throw error("unterminated array: expected ]", at: start) }
            if separator == .comma {
                position += 1
            } else if separator == .closeBracket {
                position += 1
                return elements
            } else {
                throw error("expected , or ] after an array element, found \(describeCurrent())")
            }
        }
    }

    /// `{ ... }`, at the opening brace.
    mutating func parseInlineTable(path: [String], depth: Int) throws(TOMLError) -> TOMLTable {
        let start = mark
        position += 1
        let table = TableBuilder(origin: .inline, line: start.line, column: column(of: start), path: path)
        skipSpaces()
        if peek() == .closeBrace {
            position += 1
            return table.build()
        }
        while true {
            skipSpaces()
            if let byte = peek(), byte.isNewlineStart {
                throw error("an inline table must be on one line")
            }
            try parseKeyValue(into: table, depth: depth)
            skipSpaces()
            guard let byte = peek() else { throw error("unterminated inline table: expected }", at: start) }
            switch byte {
            case .comma:
                position += 1
                skipSpaces()
                if peek() == .closeBrace {
                    throw error("a trailing comma is not allowed in an inline table")
                }
            case .closeBrace:
                position += 1
                return table.build()
            case .lineFeed, .carriageReturn:
                throw error("an inline table must be on one line")
            default:
                throw error("expected , or } in an inline table, found \(describeCurrent())")
            }
        }
    }
}

private extension String {
    /// `'x'` -> `x`.
    var trimmingQuotes: String {
        guard count >= 2, first == "'", last == "'" else { return self }
        return String(dropFirst().dropLast())
    }
}

/// `text` as a TOML basic string: quotes, backslashes and control characters escaped.
func tomlQuoted(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\t": result += "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F {
                let digits = String(scalar.value, radix: 16, uppercase: true)
                result += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}
