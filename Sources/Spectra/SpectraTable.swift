/// A table of spectra as `aliquot analyze` reads it: a header row, then one row per pixel; the
/// first column is the wavelength in nm (strictly increasing), every other column one spectrum
/// (absorbance, or PL counts), named by the header.
///
///     wavelength_nm,t010s,t020s
///     400.123,0.2511,0.3010
///     400.483,0.2509,0.3006
public struct SpectraTable: Sendable, Equatable {
    /// The header's name for the wavelength column.
    public var wavelengthName: String
    /// The spectra's names, in column order.
    public var names: [String]
    /// The wavelength of each row, nm.
    public var nanometres: [Double]
    /// One array per spectrum, one value per row.
    public var columns: [[Double]]

    public init(wavelengthName: String, names: [String], nanometres: [Double], columns: [[Double]]) {
        precondition(names.count == columns.count && columns.allSatisfy { $0.count == nanometres.count })
        self.wavelengthName = wavelengthName
        self.names = names
        self.nanometres = nanometres
        self.columns = columns
    }

    /// Parses CSV text (UTF-8, a byte-order mark allowed, LF or CRLF line ends, blank lines only at
    /// the end). Every row must have one value per header column, every value a finite number,
    /// the names non-empty and distinct, the wavelengths positive and strictly increasing. Errors
    /// name `file` and the 1-based line.
    public static func parse(_ text: String, file: String) throws(SpectraTableError) -> SpectraTable {
        // "\r\n" is one Character in Swift: split on it as well as on "\n".
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).map {
            line -> Substring in line.hasSuffix("\r") ? line.dropLast() : line
        }
        if var first = lines.first, first.hasPrefix("\u{FEFF}") {
            first.removeFirst()
            lines[0] = first
        }
        while let last = lines.last, last.allSatisfy({ $0 == " " || $0 == "\t" }) { lines.removeLast() }
        guard !lines.isEmpty else {
            throw SpectraTableError(file: file, line: nil, message: "the file is empty: expected a header row naming the wavelength column and one column per spectrum")
        }

        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(field)
        guard header.count >= 2 else {
            throw SpectraTableError(file: file, line: 1, message: "the header has \(header.count) column; expected the wavelength and at least one spectrum, separated by commas")
        }
        for (index, name) in header.enumerated() where name.isEmpty {
            throw SpectraTableError(file: file, line: 1, message: "column \(index + 1) has no name")
        }
        var seen: [String: Int] = [:]
        for (index, name) in header.enumerated() {
            if let earlier = seen[name] {
                throw SpectraTableError(file: file, line: 1, message: "column name '\(name)' appears twice (columns \(earlier + 1) and \(index + 1))")
            }
            seen[name] = index
        }
        guard lines.count >= 2 else {
            throw SpectraTableError(file: file, line: 1, message: "no data rows after the header")
        }

        let names = Array(header.dropFirst())
        var nanometres: [Double] = []
        nanometres.reserveCapacity(lines.count - 1)
        var columns = [[Double]](repeating: [], count: names.count)
        for index in columns.indices { columns[index].reserveCapacity(lines.count - 1) }
        for (offset, line) in lines.dropFirst().enumerated() {
            let number = offset + 2
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(field)
            guard fields.count == header.count else {
                let what = line.allSatisfy({ $0 == " " || $0 == "\t" }) ? "an empty line" : "\(fields.count) value\(fields.count == 1 ? "" : "s")"
                throw SpectraTableError(file: file, line: number, message: "\(what), expected \(header.count) (one per header column)")
            }
            for (column, text) in fields.enumerated() {
                let name = header[column]
                guard !text.isEmpty else {
                    throw SpectraTableError(file: file, line: number, message: "column '\(name)' is empty")
                }
                guard let value = Double(text) else {
                    throw SpectraTableError(file: file, line: number, message: "column '\(name)': '\(text)' is not a number")
                }
                guard value.isFinite else {
                    throw SpectraTableError(file: file, line: number, message: "column '\(name)': \(text) is not a finite number")
                }
                if column == 0 {
                    guard value > 0 else {
                        throw SpectraTableError(file: file, line: number, message: "wavelength \(text) nm must be positive")
                    }
                    if let previous = nanometres.last, !(value > previous) {
                        throw SpectraTableError(
                            file: file, line: number,
                            message: "wavelength \(text) nm is not greater than \(previous) nm on line \(number - 1): wavelengths must increase")
                    }
                    nanometres.append(value)
                } else {
                    columns[column - 1].append(value)
                }
            }
        }
        return SpectraTable(wavelengthName: header[0], names: names, nanometres: nanometres, columns: columns)
    }

    /// A field without surrounding blanks and, if quoted, its quotes.
    private static func field(_ raw: Substring) -> String {
        var text = raw.drop { $0 == " " || $0 == "\t" }
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        if text.count >= 2 && text.first == "\"" && text.last == "\"" { text = text.dropFirst().dropLast() }
        return String(text)
    }
}

/// A spectra table that cannot be used: which file, which line, and why. Its `description` is
/// `file:line: message`, the compiler's shape.
public struct SpectraTableError: Error, Equatable, Sendable, CustomStringConvertible {
    public var file: String
    /// 1-based line, when the error is about one.
    public var line: Int?
    public var message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String {
        if let line { return "\(file):\(line): \(message)" }
        return "\(file): \(message)"
    }
}
