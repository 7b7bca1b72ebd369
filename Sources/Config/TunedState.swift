/// The tuned state: PID gains that `aliquot tune` measured, one `[loop.<heater>]` table per loop.
///
/// Kept apart from the board file (which says what the hardware is) because it is written by the
/// machine, replaced atomically on every tune, and may be thrown away to tune again.
///
///     # Written by `aliquot tune`.
///     board = "sim"
///     [loop.reactor]
///     kp = 0.0412
///     ki = 0.00031
///     kd = 0.52
///     derivative_filter_s = 1.3
///     rule = "tyreusLuyben"
///     ultimate_gain = 0.0906
///     ultimate_period_s = 63.2
///     setpoint_c = 240.0
///     tuned_at_unix_s = 1795280000
public struct TunedState: Equatable, Sendable {
    /// One loop's gains and how they were found.
    public struct Loop: Equatable, Sendable {
        public var name: String
        public var kp: Double
        public var ki: Double
        public var kd: Double
        public var derivativeFilterSeconds: Double
        /// The tuning rule that turned Ku and Tu into gains.
        public var rule: String
        public var ultimateGain: Double
        public var ultimatePeriodSeconds: Double
        /// The setpoint the relay oscillated around.
        public var setpointCelsius: Double
        /// When, in seconds since 1970 (the board's wall clock).
        public var tunedAtUnixSeconds: Int64

        public init(
            name: String, kp: Double, ki: Double, kd: Double, derivativeFilterSeconds: Double, rule: String,
            ultimateGain: Double, ultimatePeriodSeconds: Double, setpointCelsius: Double, tunedAtUnixSeconds: Int64
        ) {
            self.name = name
            self.kp = kp
            self.ki = ki
            self.kd = kd
            self.derivativeFilterSeconds = derivativeFilterSeconds
            self.rule = rule
            self.ultimateGain = ultimateGain
            self.ultimatePeriodSeconds = ultimatePeriodSeconds
            self.setpointCelsius = setpointCelsius
            self.tunedAtUnixSeconds = tunedAtUnixSeconds
        }
    }

    /// The board name the gains were measured on (`[board] name`); gains of another board are refused.
    public var board: String
    public var loops: [Loop]

    public init(board: String, loops: [Loop]) {
        self.board = board
        self.loops = loops
    }

    public func loop(_ name: String) -> Loop? {
        loops.first { $0.name == name }
    }

    /// Adds or replaces one loop's entry, keeping the others.
    public mutating func record(_ loop: Loop) {
        if let index = loops.firstIndex(where: { $0.name == loop.name }) {
            loops[index] = loop
        } else {
            loops.append(loop)
        }
    }

    /// The default place of a board's tuned state: `<folder>/<board name>.tuned.toml`.
    public static func defaultPath(board: String, folder: String) -> String {
        "\(folder)/\(board).tuned.toml"
    }

    static let maximumFileSize = 64 * 1024

    /// Reads and checks a tuned-state file; nil when there is none yet.
    public static func loadIfPresent(path: String) throws(BoardFileError) -> TunedState? {
        guard ConfigFiles.exists(path) else { return nil }
        return try load(path: path)
    }

    public static func load(path: String) throws(BoardFileError) -> TunedState {
        let bytes = try ConfigFiles.read(path, what: "tuned-state file", maximumSize: maximumFileSize)
        return try parse(text: String(decoding: bytes, as: UTF8.self), path: path)
    }

    public static func parse(text: String, path: String) throws(BoardFileError) -> TunedState {
        let root: TOMLTable
        do { root = try TOML.parse(text, file: path) } catch { throw BoardFileError(error) }
        func fail(_ line: Int?, _ key: String?, _ message: String) -> BoardFileError {
            BoardFileError(file: path, line: line, key: key, message: message)
        }
        var board: String?
        var loops: [Loop] = []
        for entry in root.entries {
            switch entry.key {
            case "board":
                guard let name = entry.value.stringValue, !name.isEmpty else {
                    throw fail(entry.line, "board", "board must be a non-empty string")
                }
                board = name
            case "loop":
                guard let table = entry.value.tableValue else {
                    throw fail(entry.line, "loop", "loop must be a table of [loop.<heater>] tables")
                }
                for loopEntry in table.entries {
                    guard let loopTable = loopEntry.value.tableValue else {
                        throw fail(loopEntry.line, "loop.\(loopEntry.key)", "loop.\(loopEntry.key) must be a table")
                    }
                    loops.append(try parseLoop(name: loopEntry.key, table: loopTable, line: loopEntry.line, fail))
                }
            default:
                throw fail(entry.line, entry.key, "unknown key \(entry.key); allowed: board, loop")
            }
        }
        guard let board else { throw fail(nil, "board", "missing key board (the board name the gains belong to)") }
        return TunedState(board: board, loops: loops)
    }

    private static let numberRanges: [(key: String, range: ClosedRange<Double>, unit: String)] = [
        ("kp", 0...100, "duty/°C"),
        ("ki", 0...100, "duty/(°C·s)"),
        ("kd", 0...100_000, "duty·s/°C"),
        ("derivative_filter_s", 0...600, "s"),
        ("ultimate_gain", 0...1_000, "duty/°C"),
        ("ultimate_period_s", 0...100_000, "s"),
        ("setpoint_c", -50...400, "°C"),
    ]

    private static func parseLoop(
        name: String, table: TOMLTable, line: Int,
        _ fail: (Int?, String?, String) -> BoardFileError
    ) throws(BoardFileError) -> Loop {
        let allowed = numberRanges.map(\.key) + ["rule", "tuned_at_unix_s"]
        for entry in table.entries where !allowed.contains(entry.key) {
            throw fail(
                entry.line, "loop.\(name).\(entry.key)",
                "unknown key loop.\(name).\(entry.key); allowed: \(allowed.joined(separator: ", "))")
        }
        var numbers: [String: Double] = [:]
        for (key, range, unit) in numberRanges {
            let path = "loop.\(name).\(key)"
            guard let entry = table.entry(key) else { throw fail(line, path, "missing key \(path)") }
            let value: Double
            switch entry.value.content {
            case .float(let number): value = number
            case .integer(let number): value = Double(number)
            default: throw fail(entry.line, path, "\(path) must be a number")
            }
            guard value.isFinite, range.contains(value) else {
                throw fail(
                    entry.line, path,
                    "\(path) = \(value) is out of range: allowed \(range.lowerBound) to \(range.upperBound) (\(unit))")
            }
            numbers[key] = value
        }
        guard let rule = table["rule"]?.stringValue, !rule.isEmpty else {
            throw fail(table.entry("rule")?.line ?? line, "loop.\(name).rule", "loop.\(name).rule must be a non-empty string")
        }
        guard let tunedAt = table["tuned_at_unix_s"]?.integerValue else {
            throw fail(
                table.entry("tuned_at_unix_s")?.line ?? line, "loop.\(name).tuned_at_unix_s",
                "loop.\(name).tuned_at_unix_s must be an integer (seconds since 1970)")
        }
        return Loop(
            name: name, kp: numbers["kp"]!, ki: numbers["ki"]!, kd: numbers["kd"]!,
            derivativeFilterSeconds: numbers["derivative_filter_s"]!, rule: rule,
            ultimateGain: numbers["ultimate_gain"]!, ultimatePeriodSeconds: numbers["ultimate_period_s"]!,
            setpointCelsius: numbers["setpoint_c"]!, tunedAtUnixSeconds: tunedAt)
    }

    /// The file's text: the same keys `parse` reads, numbers in Swift's shortest round-trip form
    /// (so a save and a load give back the same doubles).
    public func text() -> String {
        var lines = [
            "# Written by `aliquot tune`: PID gains measured on this board. Tune again rather than edit.",
            "board = \(tomlQuoted(board))",
        ]
        for loop in loops {
            lines += [
                "",
                "[loop.\(loop.name)]",
                "kp = \(loop.kp)",
                "ki = \(loop.ki)",
                "kd = \(loop.kd)",
                "derivative_filter_s = \(loop.derivativeFilterSeconds)",
                "rule = \(tomlQuoted(loop.rule))",
                "ultimate_gain = \(loop.ultimateGain)",
                "ultimate_period_s = \(loop.ultimatePeriodSeconds)",
                "setpoint_c = \(loop.setpointCelsius)",
                "tuned_at_unix_s = \(loop.tunedAtUnixSeconds)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes the file atomically (the old one stays whole until the new one is on disk),
    /// creating its folder if needed.
    public func save(path: String) throws(BoardFileError) {
        if let slash = path.lastIndex(of: "/"), slash != path.startIndex {
            try ConfigFiles.makeFolders(String(path[..<slash]), what: "tuned-state file")
        }
        try ConfigFiles.writeAtomically(Array(text().utf8), to: path, what: "tuned-state file")
    }
}
