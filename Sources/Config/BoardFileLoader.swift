// Reading and checking board files: TOML in, a checked `BoardFile` out, or one error that names
// the file, the line, the key and what is allowed.
//
// The keys of every section are declared once, in `BoardSchema` below (type, default or required,
// allowed range), and checked by one generic routine, so every message has the same shape. What a
// table of keys cannot say (references between sections, duplicate addresses and lines, ranges
// that depend on another key, rules that depend on the transport) is checked after, in
// `BoardChecker`.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension BoardFile {
    /// The largest board file accepted, in bytes. A real one is a few kilobytes.
    public static let maximumFileSize = 1 << 20

    /// Reads, parses and checks the board file at `path`.
    ///
    /// - Throws: `BoardFileError` if the file cannot be read (naming the errno's meaning), is not
    ///   UTF-8, is not valid TOML, or breaks the board-file schema.
    public static func load(path: String) throws(BoardFileError) -> BoardFile {
        var bytes = try ConfigFiles.read(path, what: "board file", maximumSize: maximumFileSize)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw BoardFileError(file: path, line: nil, key: nil, message: "the board file is not valid UTF-8 text")
        }
        return try parse(text: text, path: path)
    }

    /// Parses and checks board-file text; `path` is only used in errors and kept in `path`.
    ///
    /// - Throws: `BoardFileError` at the first TOML syntax error or schema violation.
    public static func parse(text: String, path: String) throws(BoardFileError) -> BoardFile {
        let root: TOMLTable
        do {
            root = try TOML.parse(text, file: path)
        } catch {
            throw BoardFileError(error)
        }
        return try BoardChecker(file: path, root: root).check()
    }

}

extension ThermocoupleType {
    /// The temperature range of the thermocouple type (NIST ITS-90 tables), in °C. A board's
    /// `min_c`...`max_c` must lie within it.
    public var nistRangeC: ClosedRange<Double> {
        switch self {
        case .k: -270...1372
        case .j: -210...1200
        case .t: -270...400
        case .n: -270...1300
        case .s: -50...1768
        case .e: -270...1000
        case .b: 0...1820
        case .r: -50...1768
        }
    }
}

// MARK: - Schema

/// A checked scalar value.
enum BoardScalar: Equatable {
    case string(String)
    case integer(Int64)
    case number(Double)
    case boolean(Bool)
}

/// What a key's value must be.
enum ValueRule {
    /// Any string.
    case text
    /// A string that is not empty.
    case nonEmptyText
    /// One of these strings, exactly.
    case choice([String])
    /// An integer in the range; `hex` shows numbers as `0x60` in messages.
    case integer(ClosedRange<Int64>, unit: String?, hex: Bool)
    /// One of these integers.
    case integerChoice([Int64])
    /// A number (integer or float) from `lower` (excluded if `lowerExcluded`) to `upper`.
    case number(lower: Double, lowerExcluded: Bool, upper: Double, unit: String?)
    /// Any finite number; its range is checked against another key.
    case finiteNumber(unit: String?)
    case boolean

    /// "a string", "an integer", "a number", "a boolean".
    var expectedType: String {
        switch self {
        case .text, .nonEmptyText, .choice: "a string"
        case .integer, .integerChoice: "an integer"
        case .number, .finiteNumber: "a number"
        case .boolean: "a boolean"
        }
    }

    /// "allowed 0 to 400 (°C)", "allowed \"twin\", \"linux\"", or nil when any value of the type is.
    var allowance: String? {
        switch self {
        case .text, .boolean:
            return nil
        case .nonEmptyText:
            return "not empty"
        case .choice(let options):
            return "allowed " + options.map { render(.string($0)) }.joined(separator: ", ")
        case .integer(let range, let unit, let hex):
            let bounds = "allowed \(renderInteger(range.lowerBound, hex: hex)) to \(renderInteger(range.upperBound, hex: hex))"
            return bounds + unitSuffix(unit)
        case .integerChoice(let options):
            return "allowed " + options.map { String($0) }.joined(separator: ", ")
        case .number(let lower, let lowerExcluded, let upper, let unit):
            let bounds = lowerExcluded
                ? "allowed more than \(renderNumber(lower)), up to \(renderNumber(upper))"
                : "allowed \(renderNumber(lower)) to \(renderNumber(upper))"
            return bounds + unitSuffix(unit)
        case .finiteNumber(let unit):
            return "allowed any finite number" + unitSuffix(unit)
        }
    }

    var isHex: Bool {
        if case .integer(_, _, true) = self { true } else { false }
    }
}

/// Whether a key must be given, and what it is when it is not.
enum Presence {
    case required
    case optional
    case defaulted(BoardScalar)
}

/// One key of a section.
struct KeyRule {
    let key: String
    let rule: ValueRule
    let presence: Presence

    init(_ key: String, _ rule: ValueRule, _ presence: Presence) {
        self.key = key
        self.rule = rule
        self.presence = presence
    }
}

/// The keys a section may hold.
struct SectionSchema {
    let keys: [KeyRule]
    /// Appended to the list of allowed keys in an unknown-key message (for `[twin]`, its zones).
    var alsoAllowed: String? = nil

    func rule(for key: String) -> KeyRule? {
        keys.first { $0.key == key }
    }

    var allowedKeys: String {
        keys.map(\.key).joined(separator: ", ") + (alsoAllowed.map { ", " + $0 } ?? "")
    }
}

/// Every section of a board file, declared.
enum BoardSchema {
    /// Top-level sections in the order they are checked and listed.
    static let sections = ["board", "gpio", "i2c", "thermocouple", "heater", "valve", "control", "twin", "spectrometer", "pump",
        "pressure", "selector", "sampling"]  // MARK: pressure, selector, sampling (P2)
        + ["journal", "uplink"]  // MARK: journal, uplink (J)
    /// Sections that hold named subsections only (`[heater.<name>]`).
    static let namedKinds: Set = ["i2c", "thermocouple", "heater", "valve", "spectrometer", "pump"]

    static let board = SectionSchema(keys: [
        KeyRule("name", .nonEmptyText, .required),
        KeyRule("description", .text, .defaulted(.string(""))),
        KeyRule("transport", .choice(TransportKind.allCases.map(\.rawValue)), .required),
    ])

    static let gpio = SectionSchema(keys: [
        KeyRule("chip", .nonEmptyText, .optional),
    ])

    static let i2c = SectionSchema(keys: [
        KeyRule("device", .nonEmptyText, .optional),
    ])

    static let thermocouple = SectionSchema(keys: [
        KeyRule("bus", .nonEmptyText, .required),
        KeyRule("address", .integer(0x60...0x67, unit: nil, hex: true), .required),
        KeyRule("part", .choice(ThermocouplePart.allCases.map(\.rawValue)), .defaulted(.string("MCP9600"))),
        KeyRule("type", .choice(ThermocoupleType.allCases.map(\.rawValue)), .defaulted(.string("K"))),
        KeyRule("filter", .integer(0...7, unit: nil, hex: false), .defaulted(.integer(0))),
        KeyRule("adc_bits", .integerChoice([18, 16, 14, 12]), .defaulted(.integer(18))),
        KeyRule("min_c", .finiteNumber(unit: "°C"), .required),
        KeyRule("max_c", .finiteNumber(unit: "°C"), .required),
    ])

    /// Keys every output (heater or valve) has.
    static let outputLine = [
        KeyRule("chip", .nonEmptyText, .optional),
        KeyRule("line", .integer(0...511, unit: nil, hex: false), .required),
        KeyRule("active", .choice(["high", "low"]), .defaulted(.string("high"))),
    ]

    static let heater = SectionSchema(keys: outputLine + [
        KeyRule("period_ms", .integer(100...10000, unit: "ms", hex: false), .defaulted(.integer(1000))),
        KeyRule("max_duty", .number(lower: 0, lowerExcluded: true, upper: 1, unit: nil), .defaulted(.number(1))),
        KeyRule("thermocouple", .nonEmptyText, .required),
        KeyRule("max_c", .number(lower: 0, lowerExcluded: false, upper: 400, unit: "°C"), .required),
    ] + heaterSafety)

    /// The safety supervisor's keys of a heater (`SafetyLimits`), each defaulted from
    /// `HeaterSafetyConfig.defaults`.
    static let heaterSafety: [KeyRule] = {
        let defaults = HeaterSafetyConfig.defaults
        func key(_ name: String, _ lower: Double, _ upper: Double, _ unit: String, _ value: Double) -> KeyRule {
            KeyRule(name, .number(lower: lower, lowerExcluded: false, upper: upper, unit: unit), .defaulted(.number(value)))
        }
        return [
            key("stale_after_s", 0.1, 60, "s", defaults.staleAfterS),
            key("stuck_after_s", 1, 3600, "s", defaults.stuckAfterS),
            key("heating_gain_c", 0.1, 50, "°C", defaults.heatingGainC),
            key("heating_gain_within_s", 1, 600, "s", defaults.heatingGainWithinS),
            key("runaway_error_integral_c_s", 1, 10000, "°C·s", defaults.runawayErrorIntegralCS),
            key("runaway_hysteresis_c", 0.1, 50, "°C", defaults.runawayHysteresisC),
            key("stuck_on_rise_c", 0.1, 100, "°C", defaults.stuckOnRiseC),
            key("stuck_on_within_s", 1, 600, "s", defaults.stuckOnWithinS),
            key("injection_window_s", 0, 120, "s", defaults.injectionWindowS),
            key("max_tick_gap_s", 0.01, 10, "s", defaults.maxTickGapS),
        ]
    }()

    static let control = SectionSchema(keys: [
        KeyRule(
            "period_ms", .integer(10...1000, unit: "ms", hex: false),
            .defaulted(.integer(Int64(ControlConfig.defaults.periodMs)))),
        KeyRule(
            "dead_man_s", .number(lower: 0.5, lowerExcluded: false, upper: 3, unit: "s"),
            .defaulted(.number(ControlConfig.defaults.deadManS))),
    ])

    static let valve = SectionSchema(keys: outputLine + [
        KeyRule("manual_pulse", .boolean, .defaulted(.boolean(false))),
        KeyRule("max_pulse_ms", .integer(1...10000, unit: "ms", hex: false), .defaulted(.integer(1000))),
    ])

    static let twin = SectionSchema(
        keys: [
            KeyRule("seed", .integer(0...Int64.max, unit: nil, hex: false), .defaulted(.integer(1))),
            KeyRule("ambient_c", .number(lower: -10, lowerExcluded: false, upper: 50, unit: "°C"), .defaulted(.number(25))),
        ],
        alsoAllowed: "and a [twin.<heater name>] zone per heater")

    static let zone = SectionSchema(keys: [
        KeyRule("heater_w", .number(lower: 0, lowerExcluded: true, upper: 5000, unit: "W"), .required),
        KeyRule(
            "heat_capacity_j_per_k", .number(lower: 0, lowerExcluded: true, upper: 100_000, unit: "J/K"), .required),
        KeyRule("loss_w_per_k", .number(lower: 0, lowerExcluded: true, upper: 1000, unit: "W/K"), .required),
        KeyRule("initial_c", .number(lower: -10, lowerExcluded: false, upper: 400, unit: "°C"), .optional),
        KeyRule("sensor_lag_s", .number(lower: 0, lowerExcluded: false, upper: 60, unit: "s"), .defaulted(.number(0))),
        KeyRule("sensor_noise_c", .number(lower: 0, lowerExcluded: false, upper: 5, unit: "°C"), .defaulted(.number(0))),
        // The liquid charge (the reactor): present with coupling_w_per_k; the others need it.
        KeyRule(
            "liquid_ml", .number(lower: 0, lowerExcluded: false, upper: LiquidChargeConfig.maximumMillilitres, unit: "mL"),
            .optional),
        KeyRule(
            "liquid_heat_capacity_j_per_ml_k", .number(lower: 0.5, lowerExcluded: false, upper: 5, unit: "J/(mL·K)"),
            .optional),
        KeyRule("coupling_w_per_k", .number(lower: 0, lowerExcluded: true, upper: 100, unit: "W/K at 800 rpm"), .optional),
        KeyRule("stir_rpm", .number(lower: 0, lowerExcluded: false, upper: 3000, unit: "rpm"), .optional),
        KeyRule(
            "injection_ml",
            .number(lower: 0, lowerExcluded: true, upper: LiquidChargeConfig.maximumMillilitres, unit: "mL"), .optional),
        KeyRule("injection_c", .number(lower: -10, lowerExcluded: false, upper: 100, unit: "°C"), .optional),
        KeyRule("solidifies_below_c", .number(lower: -10, lowerExcluded: false, upper: 200, unit: "°C"), .optional),
    ])

    static let spectrometer = SectionSchema(keys: [
        KeyRule("model", .choice(SpectrometerModel.allCases.map(\.rawValue)), .required),
        KeyRule("serial", .nonEmptyText, .optional),
        KeyRule("integration_ms", .number(lower: 0.01, lowerExcluded: false, upper: 65_000, unit: "ms"), .required),
    ] + spectrometerTwin)

    /// The twin keys of a spectrometer (all optional; `SpectrometerTwinConfig.defaults(for:)`).
    static let spectrometerTwin: [KeyRule] = [
        KeyRule("usb_speed", .choice(["high", "full"]), .optional),
        KeyRule("wavelength_c0", .finiteNumber(unit: "nm"), .optional),
        KeyRule("wavelength_c1", .finiteNumber(unit: "nm per pixel"), .optional),
        KeyRule("wavelength_c2", .finiteNumber(unit: "nm per pixel²"), .optional),
        KeyRule("wavelength_c3", .finiteNumber(unit: "nm per pixel³"), .optional),
        KeyRule("light_counts_per_ms", .number(lower: 0, lowerExcluded: false, upper: 1e6, unit: "counts/ms"), .optional),
        KeyRule("dark_offset_counts", .number(lower: 0, lowerExcluded: false, upper: 20_000, unit: "counts"), .optional),
        KeyRule(
            "dark_current_counts_per_s", .number(lower: 0, lowerExcluded: false, upper: 100_000, unit: "counts/s"), .optional),
        KeyRule("read_noise_counts", .number(lower: 0, lowerExcluded: false, upper: 1000, unit: "counts"), .optional),
        KeyRule("saturation_counts", .integer(1000...65_535, unit: "counts", hex: false), .optional),
        KeyRule("cell_path_mm", .number(lower: 0, lowerExcluded: true, upper: 100, unit: "mm"), .optional),
        KeyRule("sample_peak_nm", .number(lower: 300, lowerExcluded: false, upper: 900, unit: "nm"), .optional),
        KeyRule("sample_fwhm_nm", .number(lower: 0, lowerExcluded: true, upper: 200, unit: "nm"), .optional),
        KeyRule("sample_height", .number(lower: 0, lowerExcluded: false, upper: 1e7, unit: nil), .optional),
        KeyRule("sample_scattering", .number(lower: 0, lowerExcluded: false, upper: 2, unit: "absorbance at 500 nm"), .optional),
        KeyRule("sample_trap", .number(lower: 0, lowerExcluded: false, upper: 5, unit: "of the band edge"), .optional),
    ]

    /// The zone keys that describe liquid, meaningless without `coupling_w_per_k`.
    static let liquidKeys = ["liquid_ml", "liquid_heat_capacity_j_per_ml_k", "stir_rpm", "injection_ml", "injection_c"]
    /// `liquid_heat_capacity_j_per_ml_k` when absent: ODE/oleic acid near 250 °C (ρ ≈ 0.65-0.8 g/mL,
    /// c_p ≈ 2.2-2.8 J/(g·K)).
    static let defaultLiquidHeatCapacity = 1.8
}

// MARK: - Rendering values in messages

private func unitSuffix(_ unit: String?) -> String {
    unit.map { " (\($0))" } ?? ""
}

/// `400`, `0.35`, `inf`: integral values without a trailing `.0`.
private func renderNumber(_ value: Double) -> String {
    if value.isFinite && value == value.rounded() && abs(value) < 1e15 {
        return String(Int64(value))
    }
    return value.description
}

private func renderInteger(_ value: Int64, hex: Bool) -> String {
    guard hex && value >= 0 else { return String(value) }
    let digits = String(value, radix: 16, uppercase: false)
    return "0x" + (digits.count < 2 ? "0" + digits : digits)
}

private func render(_ scalar: BoardScalar, hex: Bool = false) -> String {
    switch scalar {
    case .string(let text):
        return tomlQuoted(text)
    case .integer(let value): return renderInteger(value, hex: hex)
    case .number(let value): return renderNumber(value)
    case .boolean(let value): return value ? "true" : "false"
    }
}

/// A TOML value as it would be written (arrays and tables abbreviated).
private func render(_ value: TOMLValue, hex: Bool = false) -> String {
    switch value.content {
    case .string(let text): render(.string(text))
    case .integer(let integer): renderInteger(integer, hex: hex)
    case .float(let number): number.description
    case .boolean(let flag): flag ? "true" : "false"
    case .array(let elements): "[" + elements.map { render($0) }.joined(separator: ", ") + "]"
    case .table: "{...}"
    }
}

// MARK: - Checked sections

/// A section whose keys have passed the schema: every required key present, defaults filled in.
struct CheckedSection {
    /// `heater.reactor`.
    let path: String
    /// The section's header line.
    let line: Int
    private var values: [String: BoardScalar] = [:]
    private var lines: [String: Int] = [:]

    init(path: String, line: Int) {
        self.path = path
        self.line = line
    }

    mutating func set(_ key: String, _ value: BoardScalar, line: Int?) {
        values[key] = value
        if let line { lines[key] = line }
    }

    func isPresent(_ key: String) -> Bool { values[key] != nil }

    /// The line of `key` if it was written, else the section's.
    func line(of key: String) -> Int { lines[key] ?? line }

    /// Where asking for a key the schema does not give is a bug in this file, not in the board.
    private func missing(_ key: String, _ type: String) -> Never {
        preconditionFailure("BoardSchema gives no \(type) \(path).\(key)")
    }

    func string(_ key: String) -> String {
        guard case .string(let value)? = values[key] else { missing(key, "string") }
        return value
    }

    func optionalString(_ key: String) -> String? {
        if case .string(let value)? = values[key] { value } else { nil }
    }

    func integer(_ key: String) -> Int64 {
        guard case .integer(let value)? = values[key] else { missing(key, "integer") }
        return value
    }

    func number(_ key: String) -> Double {
        guard case .number(let value)? = values[key] else { missing(key, "number") }
        return value
    }

    func optionalNumber(_ key: String) -> Double? {
        if case .number(let value)? = values[key] { value } else { nil }
    }

    func boolean(_ key: String) -> Bool {
        guard case .boolean(let value)? = values[key] else { missing(key, "boolean") }
        return value
    }

    /// A `.choice` key as the enumeration its choices were made from.
    func choice<Choice: RawRepresentable>(_ key: String, as _: Choice.Type) -> Choice
    where Choice.RawValue == String {
        guard let value = Choice(rawValue: string(key)) else { missing(key, "\(Choice.self)") }
        return value
    }
}

// MARK: - Checking

/// Checks a parsed document against the board-file schema and builds the `BoardFile`.
struct BoardChecker {
    let file: String
    let root: TOMLTable

    func fail(_ line: Int?, _ key: String?, _ message: String) -> BoardFileError {
        BoardFileError(file: file, line: line, key: key, message: message)
    }

    func check() throws(BoardFileError) -> BoardFile {
        try checkTopLevel()
        guard let boardTable = root["board"]?.tableValue else {
            throw fail(
                nil, "board",
                "missing section [board]: every board file needs [board] with \(BoardSchema.board.allowedKeys)")
        }
        let board = try checkSection(boardTable, path: "board", schema: BoardSchema.board)
        let transport = board.choice("transport", as: TransportKind.self)
        var defaultChip: String?
        if let gpioTable = root["gpio"]?.tableValue {
            defaultChip = try checkSection(gpioTable, path: "gpio", schema: BoardSchema.gpio).optionalString("chip")
        }

        let control = try control()
        let buses = try i2cBuses(transport: transport)
        let thermocouples = try thermocouples(buses: buses)
        let heaters = try heaters(
            transport: transport, defaultChip: defaultChip, thermocouples: thermocouples, control: control)
        let valves = try valves(transport: transport, defaultChip: defaultChip)
        try checkDistinctLines(heaters.map { ($0.config.name, "heater", $0.config.line, $0.section) }
            + valves.map { ($0.config.name, "valve", $0.config.line, $0.section) })
        let twin = try twin(transport: transport, transportLine: board.line(of: "transport"), heaters: heaters)
        let spectrometers = try spectrometers(transport: transport)
        let pumps = try pumps(transport: transport)  // MARK: pumps (P1)

        var checked = BoardFile(
            path: file,
            name: board.string("name"),
            description: board.string("description"),
            transport: transport,
            defaultGPIOChip: defaultChip,
            i2cBuses: buses,
            thermocouples: thermocouples.map(\.config),
            heaters: heaters.map(\.config),
            valves: valves.map(\.config),
            control: control,
            twin: twin,
            spectrometers: spectrometers)
        checked.pumps = pumps  // MARK: pumps (P1)
        // MARK: pressure, selector, sampling (P2)
        checked.pressure = try pressure(transport: transport, buses: buses, thermocouples: thermocouples.map(\.config), valves: valves.map(\.config))
        checked.selector = try selector(transport: transport, pressure: checked.pressure)
        checked.sampling = try sampling(pressure: checked.pressure, valves: valves.map(\.config))
        checked.journal = try journal()  // MARK: journal, uplink (J)
        checked.uplink = try uplink()  // MARK: journal, uplink (J)
        return checked
    }

    // MARK: Shape

    /// Only known sections, each a table.
    func checkTopLevel() throws(BoardFileError) {
        let sectionList = BoardSchema.sections.joined(separator: ", ")
        for entry in root.entries {
            guard BoardSchema.sections.contains(entry.key) else {
                if entry.value.tableValue != nil {
                    throw fail(entry.line, entry.key, "unknown section [\(entry.key)]; allowed: \(sectionList)")
                }
                throw fail(
                    entry.line, entry.key,
                    "unknown key \(entry.key) outside any section; allowed sections: \(sectionList)")
            }
            guard entry.value.tableValue != nil else {
                let shape = BoardSchema.namedKinds.contains(entry.key)
                    ? "named sections [\(entry.key).<name>]" : "a section [\(entry.key)]"
                throw fail(
                    entry.line, entry.key,
                    "\(entry.key) must be \(shape), found \(entry.value.kindDescription)")
            }
        }
    }

    /// The `[kind.<name>]` sections of a kind, in file order, with their names checked.
    func namedSections(_ kind: String) throws(BoardFileError) -> [(name: String, table: TOMLTable)] {
        guard let kindTable = root[kind]?.tableValue else { return [] }
        if kindTable.origin == .header {
            throw fail(
                kindTable.line, kind,
                "[\(kind)] needs a name: write [\(kind).<name>], a name being "
                    + "a lowercase letter followed by lowercase letters, digits or _")
        }
        var sections: [(name: String, table: TOMLTable)] = []
        for entry in kindTable.entries {
            let path = "\(kind).\(entry.key)"
            guard let table = entry.value.tableValue else {
                throw fail(
                    entry.line, path,
                    "\(path) = \(render(entry.value)) is not in a named section: keys go in [\(kind).<name>]")
            }
            try checkName(entry.key, kind: kind, line: table.line)
            sections.append((entry.key, table))
        }
        return sections
    }

    func checkName(_ name: String, kind: String, line: Int) throws(BoardFileError) {
        let bytes = Array(name.utf8)
        let isLowercaseLetter: (UInt8) -> Bool = { $0 >= 0x61 && $0 <= 0x7A }
        let isValid = bytes.first.map(isLowercaseLetter) == true
            && bytes.allSatisfy { isLowercaseLetter($0) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
        guard isValid else {
            throw fail(
                line, "\(kind).\(name)",
                "invalid name \(render(.string(name))) in [\(kind).\(name)]: "
                    + "a name is a lowercase letter followed by lowercase letters, digits or _")
        }
    }

    // MARK: Keys

    /// Checks every key of `table` against `schema` (unknown keys, types, ranges), then that the
    /// required ones are present; fills in defaults. Entries for which `skip` is true are left to
    /// the caller.
    func checkSection(
        _ table: TOMLTable, path: String, schema: SectionSchema, skip: (TOMLTable.Entry) -> Bool = { _ in false }
    ) throws(BoardFileError) -> CheckedSection {
        var section = CheckedSection(path: path, line: table.line)
        for entry in table.entries where !skip(entry) {
            let keyPath = "\(path).\(entry.key)"
            guard let keyRule = schema.rule(for: entry.key) else {
                throw fail(entry.line, keyPath, "unknown key \(keyPath); allowed: \(schema.allowedKeys)")
            }
            let value = try checkValue(entry, rule: keyRule.rule, keyPath: keyPath)
            section.set(entry.key, value, line: entry.line)
        }
        for keyRule in schema.keys where !section.isPresent(keyRule.key) {
            switch keyRule.presence {
            case .required:
                let keyPath = "\(path).\(keyRule.key)"
                let expected = [keyRule.rule.expectedType, keyRule.rule.allowance].compactMap { $0 }
                throw fail(
                    table.line, keyPath,
                    "missing required key \(keyPath): \(expected.joined(separator: ", "))")
            case .optional:
                break
            case .defaulted(let value):
                section.set(keyRule.key, value, line: nil)
            }
        }
        return section
    }

    func checkValue(_ entry: TOMLTable.Entry, rule: ValueRule, keyPath: String) throws(BoardFileError) -> BoardScalar {
        let value = entry.value
        let written = "\(keyPath) = \(render(value, hex: rule.isHex))"
        func wrongType() -> BoardFileError {
            let subject = value.tableValue == nil ? written : keyPath
            return fail(
                entry.line, keyPath,
                "\(subject) has the wrong type: expected \(rule.expectedType), found \(value.kindDescription)")
        }
        func outOfRange() -> BoardFileError {
            fail(entry.line, keyPath, "\(written) is out of range: \(rule.allowance ?? "")")
        }
        func notAChoice() -> BoardFileError {
            fail(
                entry.line, keyPath,
                "\(written) is not one of the allowed values: \(String((rule.allowance ?? "").dropFirst("allowed ".count)))")
        }

        switch rule {
        case .text, .nonEmptyText, .choice:
            guard case .string(let text) = value.content else { throw wrongType() }
            if case .nonEmptyText = rule, text.isEmpty {
                throw fail(entry.line, keyPath, "\(keyPath) must not be empty")
            }
            if case .choice(let options) = rule, !options.contains(text) { throw notAChoice() }
            return .string(text)
        case .integer(let range, _, _):
            guard case .integer(let integer) = value.content else { throw wrongType() }
            guard range.contains(integer) else { throw outOfRange() }
            return .integer(integer)
        case .integerChoice(let options):
            guard case .integer(let integer) = value.content else { throw wrongType() }
            guard options.contains(integer) else { throw notAChoice() }
            return .integer(integer)
        case .number(let lower, let lowerExcluded, let upper, _):
            let number: Double
            switch value.content {
            case .integer(let integer): number = Double(integer)
            case .float(let float): number = float
            default: throw wrongType()
            }
            let aboveLower = lowerExcluded ? number > lower : number >= lower
            guard aboveLower && number <= upper else { throw outOfRange() }
            return .number(number)
        case .finiteNumber:
            let number: Double
            switch value.content {
            case .integer(let integer): number = Double(integer)
            case .float(let float): number = float
            default: throw wrongType()
            }
            guard number.isFinite else { throw outOfRange() }
            return .number(number)
        case .boolean:
            guard case .boolean(let flag) = value.content else { throw wrongType() }
            return .boolean(flag)
        }
    }

    // MARK: Sections

    func i2cBuses(transport: TransportKind) throws(BoardFileError) -> [I2CBusConfig] {
        var buses: [I2CBusConfig] = []
        for (name, table) in try namedSections("i2c") {
            let path = "i2c.\(name)"
            let section = try checkSection(table, path: path, schema: BoardSchema.i2c)
            let device = section.optionalString("device")
            switch (transport, device) {
            case (.twin, .some(let device)):
                throw fail(
                    section.line(of: "device"), "\(path).device",
                    "\(path).device = \(render(.string(device))) is not allowed when board.transport = \"twin\": the twin simulates the bus")
            case (.linux, .none):
                throw fail(
                    section.line, "\(path).device",
                    "missing required key \(path).device: the i2c-dev node, /dev/i2c-<N> (required when board.transport = \"linux\")")
            case (.linux, .some(let device)) where !Self.isI2CDeviceNode(device):
                throw fail(
                    section.line(of: "device"), "\(path).device",
                    "\(path).device = \(render(.string(device))) is not an i2c-dev node: expected /dev/i2c-<N>")
            default:
                break
            }
            buses.append(I2CBusConfig(name: name, device: device))
        }
        return buses
    }

    /// `/dev/i2c-<N>`.
    static func isI2CDeviceNode(_ device: String) -> Bool {
        let prefix = "/dev/i2c-"
        guard device.hasPrefix(prefix) else { return false }
        let number = device.utf8.dropFirst(prefix.utf8.count)
        return !number.isEmpty && number.count <= 4 && number.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    func thermocouples(buses: [I2CBusConfig]) throws(BoardFileError) -> [(config: ThermocoupleConfig, section: CheckedSection)] {
        var result: [(config: ThermocoupleConfig, section: CheckedSection)] = []
        for (name, table) in try namedSections("thermocouple") {
            let path = "thermocouple.\(name)"
            let section = try checkSection(table, path: path, schema: BoardSchema.thermocouple)

            let bus = section.string("bus")
            guard buses.contains(where: { $0.name == bus }) else {
                throw fail(
                    section.line(of: "bus"), "\(path).bus",
                    "\(path).bus = \(render(.string(bus))) names no [i2c.\(bus)] section; defined: \(Self.list(buses.map(\.name)))")
            }

            let type = section.choice("type", as: ThermocoupleType.self)
            let typeRange = type.nistRangeC
            for key in ["min_c", "max_c"] where !typeRange.contains(section.number(key)) {
                throw fail(
                    section.line(of: key), "\(path).\(key)",
                    "\(path).\(key) = \(renderNumber(section.number(key))) is out of range for a type "
                        + "\(type.rawValue) thermocouple: allowed \(renderNumber(typeRange.lowerBound)) to "
                        + "\(renderNumber(typeRange.upperBound)) (°C)")
            }
            let minC = section.number("min_c")
            let maxC = section.number("max_c")
            guard minC < maxC else {
                throw fail(
                    section.line(of: "min_c"), "\(path).min_c",
                    "\(path).min_c = \(renderNumber(minC)) must be below \(path).max_c = \(renderNumber(maxC))")
            }

            // The schema bounds these, so the conversions are exact.
            let address = UInt8(clamping: section.integer("address"))
            if let other = result.first(where: { $0.config.bus == bus && $0.config.address == address }) {
                throw fail(
                    section.line(of: "address"), "\(path).address",
                    "\(path).address = \(renderInteger(Int64(address), hex: true)) is already used on bus \(bus) "
                        + "by thermocouple.\(other.config.name) (line \(other.section.line(of: "address")))")
            }

            let config = ThermocoupleConfig(
                name: name, bus: bus, address: address,
                part: section.choice("part", as: ThermocouplePart.self),
                type: type,
                filter: UInt8(clamping: section.integer("filter")),
                adcBits: Int(section.integer("adc_bits")),
                minC: minC, maxC: maxC)
            result.append((config, section))
        }
        return result
    }

    /// The chip, offset and sense of an output, the chip falling back to `[gpio] chip` and, on the
    /// twin, to "twin".
    func outputLine(
        _ section: CheckedSection, transport: TransportKind, defaultChip: String?
    ) throws(BoardFileError) -> LineConfig {
        let chip: String
        if let own = section.optionalString("chip") ?? defaultChip {
            chip = own
        } else if transport == .twin {
            chip = "twin"
        } else {
            throw fail(
                section.line, "\(section.path).chip",
                "missing required key \(section.path).chip: a linux board needs the output's GPIO chip here or a default in [gpio] chip")
        }
        return LineConfig(
            chip: chip, offset: Int(section.integer("line")), activeHigh: section.string("active") == "high")
    }

    /// `[control]`, with its defaults when absent.
    func control() throws(BoardFileError) -> ControlConfig {
        let table = root["control"]?.tableValue ?? TOMLTable(entries: [], line: 1, column: 1, origin: .implicit)
        let section = try checkSection(table, path: "control", schema: BoardSchema.control)
        return ControlConfig(periodMs: Int(section.integer("period_ms")), deadManS: section.number("dead_man_s"))
    }

    func heaters(
        transport: TransportKind, defaultChip: String?,
        thermocouples: [(config: ThermocoupleConfig, section: CheckedSection)], control: ControlConfig
    ) throws(BoardFileError) -> [(config: HeaterConfig, section: CheckedSection)] {
        var result: [(config: HeaterConfig, section: CheckedSection)] = []
        for (name, table) in try namedSections("heater") {
            let path = "heater.\(name)"
            let section = try checkSection(table, path: path, schema: BoardSchema.heater)
            let line = try outputLine(section, transport: transport, defaultChip: defaultChip)

            let thermocoupleName = section.string("thermocouple")
            guard let thermocouple = thermocouples.first(where: { $0.config.name == thermocoupleName })?.config else {
                throw fail(
                    section.line(of: "thermocouple"), "\(path).thermocouple",
                    "\(path).thermocouple = \(render(.string(thermocoupleName))) names no "
                        + "[thermocouple.\(thermocoupleName)] section; defined: \(Self.list(thermocouples.map(\.config.name)))")
            }
            let maxC = section.number("max_c")
            guard maxC <= thermocouple.maxC else {
                throw fail(
                    section.line(of: "max_c"), "\(path).max_c",
                    "\(path).max_c = \(renderNumber(maxC)) is above thermocouple.\(thermocouple.name).max_c = "
                        + "\(renderNumber(thermocouple.maxC)): a heater's limit must lie within its thermocouple's plausible range")
            }

            guard maxC > thermocouple.minC else {
                throw fail(
                    section.line(of: "max_c"), "\(path).max_c",
                    "\(path).max_c = \(renderNumber(maxC)) is not above thermocouple.\(thermocouple.name).min_c = "
                        + "\(renderNumber(thermocouple.minC)): the safety range min_c to max_c would be empty")
            }

            let config = HeaterConfig(
                name: name, line: line, periodMs: Int(section.integer("period_ms")),
                maxDuty: section.number("max_duty"), thermocouple: thermocoupleName, maxC: maxC,
                safety: try heaterSafety(section, control: control))
            result.append((config, section))
        }
        return result
    }

    /// The safety keys of a heater, with the ones that depend on the loop checked against `[control]`:
    /// a reading and a tick are expected every period, and the loop's own stall check must act
    /// before the dead-man.
    func heaterSafety(_ section: CheckedSection, control: ControlConfig) throws(BoardFileError) -> HeaterSafetyConfig {
        let path = section.path
        let periodSeconds = Double(control.periodMs) / 1000
        let period = "control.period_ms = \(control.periodMs) ms"
        for key in ["stale_after_s", "max_tick_gap_s"] where section.number(key) <= periodSeconds {
            throw fail(
                section.line(of: key), "\(path).\(key)",
                "\(path).\(key) = \(renderNumber(section.number(key))) is not above the loop period \(period): "
                    + "the loop reads and ticks once a period")
        }
        let maxTickGap = section.number("max_tick_gap_s")
        guard maxTickGap < control.deadManS else {
            throw fail(
                section.line(of: "max_tick_gap_s"), "\(path).max_tick_gap_s",
                "\(path).max_tick_gap_s = \(renderNumber(maxTickGap)) is not below control.dead_man_s = "
                    + "\(renderNumber(control.deadManS)): the loop's stall check must act before the dead-man")
        }
        return HeaterSafetyConfig(
            staleAfterS: section.number("stale_after_s"),
            stuckAfterS: section.number("stuck_after_s"),
            heatingGainC: section.number("heating_gain_c"),
            heatingGainWithinS: section.number("heating_gain_within_s"),
            runawayErrorIntegralCS: section.number("runaway_error_integral_c_s"),
            runawayHysteresisC: section.number("runaway_hysteresis_c"),
            stuckOnRiseC: section.number("stuck_on_rise_c"),
            stuckOnWithinS: section.number("stuck_on_within_s"),
            injectionWindowS: section.number("injection_window_s"),
            maxTickGapS: maxTickGap)
    }

    func valves(
        transport: TransportKind, defaultChip: String?
    ) throws(BoardFileError) -> [(config: ValveConfig, section: CheckedSection)] {
        var result: [(config: ValveConfig, section: CheckedSection)] = []
        for (name, table) in try namedSections("valve") {
            let section = try checkSection(table, path: "valve.\(name)", schema: BoardSchema.valve)
            let config = ValveConfig(
                name: name, line: try outputLine(section, transport: transport, defaultChip: defaultChip),
                manualPulse: section.boolean("manual_pulse"), maxPulseMs: Int(section.integer("max_pulse_ms")))
            result.append((config, section))
        }
        return result
    }

    /// No two outputs on the same chip and line. Chips are compared as written: `gpiochip0` and
    /// `/dev/gpiochip0` are not recognised as the same chip here.
    func checkDistinctLines(
        _ outputs: [(name: String, kind: String, line: LineConfig, section: CheckedSection)]
    ) throws(BoardFileError) {
        for (index, output) in outputs.enumerated() {
            guard let earlier = outputs[..<index].first(where: {
                $0.line.chip == output.line.chip && $0.line.offset == output.line.offset
            }) else { continue }
            let path = "\(output.kind).\(output.name)"
            throw fail(
                output.section.line(of: "line"), "\(path).line",
                "\(path).line = \(output.line.offset) is already used on chip \(output.line.chip) "
                    + "by \(earlier.kind).\(earlier.name) (line \(earlier.section.line(of: "line")))")
        }
    }

    func twin(
        transport: TransportKind, transportLine: Int,
        heaters: [(config: HeaterConfig, section: CheckedSection)]
    ) throws(BoardFileError) -> TwinConfig? {
        let twinTable = root["twin"]?.tableValue
        guard transport == .twin else {
            if let twinTable {
                throw fail(
                    twinTable.line, "twin",
                    "[twin] is not allowed when board.transport = \"linux\": the simulated plant belongs in a twin board file")
            }
            return nil
        }
        guard let twinTable else {
            throw fail(
                transportLine, "twin",
                "missing section [twin]: required when board.transport = \"twin\" (seed, ambient_c and a [twin.<heater name>] zone per heater)")
        }
        let settings = try checkSection(
            twinTable, path: "twin", schema: BoardSchema.twin, skip: { $0.value.tableValue != nil })
        let ambientC = settings.number("ambient_c")

        var zones: [ThermalZoneConfig] = []
        for entry in twinTable.entries {
            guard let zoneTable = entry.value.tableValue else { continue }
            let path = "twin.\(entry.key)"
            try checkName(entry.key, kind: "twin", line: zoneTable.line)
            guard heaters.contains(where: { $0.config.name == entry.key }) else {
                throw fail(
                    zoneTable.line, path,
                    "[\(path)] names no heater: a zone is named after its [heater.<name>]; "
                        + "defined heaters: \(Self.list(heaters.map(\.config.name)))")
            }
            let zone = try checkSection(zoneTable, path: path, schema: BoardSchema.zone)
            let heater = heaters.first { $0.config.name == entry.key }?.config
            zones.append(ThermalZoneConfig(
                heater: entry.key,
                heaterW: zone.number("heater_w"),
                heatCapacityJPerK: zone.number("heat_capacity_j_per_k"),
                lossWPerK: zone.number("loss_w_per_k"),
                initialC: zone.optionalNumber("initial_c") ?? ambientC,
                sensorLagS: zone.number("sensor_lag_s"),
                sensorNoiseC: zone.number("sensor_noise_c"),
                charge: try liquidCharge(zone, ambientC: ambientC),
                solidifiesBelowC: try solidification(zone, heater: heater)))
        }
        for heater in heaters where !zones.contains(where: { $0.heater == heater.config.name }) {
            let name = heater.config.name
            throw fail(
                heater.section.line, "twin.\(name)",
                "heater.\(name) has no thermal zone: add [twin.\(name)] (required when board.transport = \"twin\")")
        }
        return TwinConfig(seed: UInt64(clamping: settings.integer("seed")), ambientC: ambientC, zones: zones)
    }

    /// The liquid of a zone: none without `coupling_w_per_k` (and then no other liquid key);
    /// charge plus scheduled injection within the reactor's working volume.
    func liquidCharge(_ zone: CheckedSection, ambientC: Double) throws(BoardFileError) -> LiquidChargeConfig? {
        let path = zone.path
        guard let coupling = zone.optionalNumber("coupling_w_per_k") else {
            if let key = BoardSchema.liquidKeys.filter({ zone.isPresent($0) }).min(by: { zone.line(of: $0) < zone.line(of: $1) }) {
                throw fail(
                    zone.line(of: key), "\(path).\(key)",
                    "\(path).\(key) needs \(path).coupling_w_per_k: a zone holds liquid only when its "
                        + "block-liquid conductance is given")
            }
            return nil
        }
        let liquid = zone.optionalNumber("liquid_ml") ?? 0
        let injection = zone.optionalNumber("injection_ml")
        if let injection, liquid + injection > LiquidChargeConfig.maximumMillilitres {
            throw fail(
                zone.line(of: "injection_ml"), "\(path).injection_ml",
                "\(path).injection_ml = \(renderNumber(injection)) with \(path).liquid_ml = \(renderNumber(liquid)) "
                    + "fills \(renderNumber(liquid + injection)) mL: the reactor holds at most "
                    + "\(renderNumber(LiquidChargeConfig.maximumMillilitres)) mL")
        }
        return LiquidChargeConfig(
            liquidML: liquid,
            heatCapacityJPerMLK: zone.optionalNumber("liquid_heat_capacity_j_per_ml_k") ?? BoardSchema.defaultLiquidHeatCapacity,
            couplingWPerK: coupling,
            stirRPM: zone.optionalNumber("stir_rpm") ?? 800,
            injectionML: injection,
            injectionC: zone.optionalNumber("injection_c") ?? ambientC)
    }

    /// `solidifies_below_c`, which must lie below the heater's `max_c` (else the stock could
    /// never be kept liquid).
    func solidification(_ zone: CheckedSection, heater: HeaterConfig?) throws(BoardFileError) -> Double? {
        guard let threshold = zone.optionalNumber("solidifies_below_c") else { return nil }
        if let heater, threshold >= heater.maxC {
            throw fail(
                zone.line(of: "solidifies_below_c"), "\(zone.path).solidifies_below_c",
                "\(zone.path).solidifies_below_c = \(renderNumber(threshold)) is not below heater.\(heater.name).max_c = "
                    + "\(renderNumber(heater.maxC)): the heater could never keep it liquid")
        }
        return threshold
    }

    static func list(_ names: [String]) -> String {
        names.isEmpty ? "none" : names.joined(separator: ", ")
    }
}

// MARK: - Spectrometers

extension BoardChecker {
    /// `[spectrometer.abs]` and `[spectrometer.pl]`: the model, the serial number, the integration
    /// time within the model's limits, and on twin boards the simulated unit (refused on linux
    /// boards). Two spectrometers with the same USB product ID need serial numbers, different ones.
    func spectrometers(transport: TransportKind) throws(BoardFileError) -> [SpectrometerConfig] {
        var result: [(config: SpectrometerConfig, section: CheckedSection)] = []
        for (name, table) in try namedSections("spectrometer") {
            let path = "spectrometer.\(name)"
            guard let role = SpectrometerRole(rawValue: name) else {
                throw fail(
                    table.line, path,
                    "[\(path)] is not a spectrometer of the rig: allowed [spectrometer.abs] (absorbance) and "
                        + "[spectrometer.pl] (photoluminescence)")
            }
            let section = try checkSection(table, path: path, schema: BoardSchema.spectrometer)
            let model = section.choice("model", as: SpectrometerModel.self)
            let integration = section.number("integration_ms")
            let limits = model.integrationRangeMs
            guard limits.contains(integration) else {
                throw fail(
                    section.line(of: "integration_ms"), "\(path).integration_ms",
                    "\(path).integration_ms = \(renderNumber(integration)) is out of range for a \(model.rawValue): "
                        + "allowed \(renderNumber(limits.lowerBound)) to \(renderNumber(limits.upperBound)) (ms)")
            }
            let serial = section.optionalString("serial")
            if let serial, serial.utf8.count > 14 || !serial.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) {
                throw fail(
                    section.line(of: "serial"), "\(path).serial",
                    "\(path).serial = \(render(.string(serial))) is not a serial number: 1 to 14 printable ASCII "
                        + "characters without spaces (information slot 0 holds 14 and a NUL)")
            }
            let twin = try spectrometerTwin(section, role: role, model: model, transport: transport)
            let config = SpectrometerConfig(
                role: role, model: model, serialNumber: serial, integrationMs: integration, twin: twin)
            for earlier in result where earlier.config.model.productID == model.productID {
                let ids = "2457:\(String(model.productID, radix: 16))"
                guard let serial, let earlierSerial = earlier.config.serialNumber else {
                    let missing = serial == nil ? path : earlier.config.id
                    let line = serial == nil ? section.line : earlier.section.line
                    throw fail(
                        line, "\(missing).serial",
                        "missing required key \(missing).serial: spectrometer.\(earlier.config.role.rawValue) and "
                            + "\(path) are both \(ids) (USB2000+ and FLAME-S share it), so each needs its serial number "
                            + "to be told apart")
                }
                if serial == earlierSerial {
                    throw fail(
                        section.line(of: "serial"), "\(path).serial",
                        "\(path).serial = \(render(.string(serial))) is already used by \(earlier.config.id) "
                            + "(line \(earlier.section.line(of: "serial")))")
                }
            }
            result.append((config, section))
        }
        return result.map(\.config)
    }

    /// The twin keys of a spectrometer: refused on linux boards; on twin boards the defaults of
    /// `SpectrometerTwinConfig.defaults(for:)` with the keys given, each checked for the role.
    func spectrometerTwin(
        _ section: CheckedSection, role: SpectrometerRole, model: SpectrometerModel, transport: TransportKind
    ) throws(BoardFileError) -> SpectrometerTwinConfig? {
        let path = section.path
        let given = BoardSchema.spectrometerTwin.map(\.key).filter { section.isPresent($0) }
        guard transport == .twin else {
            if let key = given.min(by: { section.line(of: $0) < section.line(of: $1) }) {
                throw fail(
                    section.line(of: key), "\(path).\(key)",
                    "\(path).\(key) is not allowed when board.transport = \"linux\": the simulated spectrometer "
                        + "belongs in a twin board file")
            }
            return nil
        }
        let otherRoleKey = role == .absorbance ? "sample_trap" : "sample_scattering"
        if section.isPresent(otherRoleKey) {
            let owner = role == .absorbance ? "pl" : "abs"
            throw fail(
                section.line(of: otherRoleKey), "\(path).\(otherRoleKey)",
                "\(path).\(otherRoleKey) applies to [spectrometer.\(owner)] only")
        }
        var twin = SpectrometerTwinConfig.defaults(for: role)
        if let speed = section.optionalString("usb_speed") { twin.highSpeed = speed == "high" }
        let coefficientKeys = (0..<4).map { "wavelength_c\($0)" }
        let givenCoefficients = coefficientKeys.filter { section.isPresent($0) }
        if !givenCoefficients.isEmpty {
            guard givenCoefficients.count == 4 else {
                let missing = coefficientKeys.first { !section.isPresent($0) } ?? "wavelength_c0"
                throw fail(
                    section.line, "\(path).\(missing)",
                    "missing required key \(path).\(missing): give all of wavelength_c0 ... wavelength_c3, or none "
                        + "for the rig's axis")
            }
            let c = coefficientKeys.map { section.number($0) }
            // λ(p) must rise over every transferred pixel: dλ/dp = c1 + 2·c2·p + 3·c3·p² > 0.
            let pixels = model == .usb4000 ? 3840 : 2048
            if let pixel = (0..<pixels).first(where: { c[1] + Double($0) * (2 * c[2] + 3 * c[3] * Double($0)) <= 0 }) {
                throw fail(
                    section.line(of: "wavelength_c1"), "\(path).wavelength_c1",
                    "\(path).wavelength_c0 ... c3 do not give wavelengths rising with the pixel: "
                        + "the cubic turns at pixel \(pixel) of the \(model.rawValue)'s \(pixels)")
            }
            twin.wavelengthCoefficients = c
        }
        if let value = section.optionalNumber("light_counts_per_ms") { twin.lightCountsPerMs = value }
        if let value = section.optionalNumber("dark_offset_counts") { twin.darkOffsetCounts = value }
        if let value = section.optionalNumber("dark_current_counts_per_s") { twin.darkCurrentCountsPerS = value }
        if let value = section.optionalNumber("read_noise_counts") { twin.readNoiseCounts = value }
        if section.isPresent("saturation_counts") { twin.saturationCounts = Int(section.integer("saturation_counts")) }
        if let value = section.optionalNumber("cell_path_mm") { twin.cellPathMm = value }
        if let value = section.optionalNumber("sample_peak_nm") { twin.samplePeakNm = value }
        if let value = section.optionalNumber("sample_fwhm_nm") { twin.sampleFwhmNm = value }
        if let value = section.optionalNumber("sample_height") {
            if role == .absorbance && value > 4 {
                throw fail(
                    section.line(of: "sample_height"), "\(path).sample_height",
                    "\(path).sample_height = \(renderNumber(value)) is out of range for an absorbance: allowed 0 to 4 "
                        + "(absorbance of the exciton through the 2 mm cell)")
            }
            twin.sampleHeight = value
        }
        if let value = section.optionalNumber("sample_scattering") { twin.sampleScattering = value }
        if let value = section.optionalNumber("sample_trap") { twin.sampleTrap = value }
        return twin
    }
}

// MARK: - Pumps (P1)

extension BoardSchema {
    /// `[pump.<name>]`: a syringe pump on USB-serial.
    static let pump = SectionSchema(keys: [
        KeyRule("model", .choice(PumpModel.allCases.map(\.rawValue)), .required),
        KeyRule("port", .nonEmptyText, .optional),
        KeyRule("baud", .integerChoice([9600, 19200, 38400, 57600, 115200]), .optional),
        KeyRule("address", .integer(0...99, unit: nil, hex: false), .optional),
        KeyRule("axis", .choice(["a", "b"]), .optional),
        KeyRule("syringe_diameter_mm", .number(lower: 0.1, lowerExcluded: false, upper: 50, unit: "mm"), .required),
        KeyRule(
            "syringe_volume_ul", .number(lower: 0, lowerExcluded: true, upper: 100_000, unit: "µL"), .required),
        KeyRule(
            "max_rate_ul_min", .number(lower: 0, lowerExcluded: true, upper: 250_000, unit: "µL/min"), .required),
        KeyRule("reagent", .choice(PumpReagent.allCases.map(\.rawValue)), .required),
        KeyRule("reply_timeout_ms", .integer(10...10_000, unit: "ms", hex: false), .optional),
    ])
}

extension BoardChecker {
    /// `[pump.<name>]` sections: the keys, then what depends on the model and the transport:
    /// `port` required on linux boards and refused on twin boards; `baud` one the model offers;
    /// `address` for Harvard pumps only; `axis` required for a Pump 33 DDS and refused otherwise;
    /// no two pumps on one port with the same address and axis.
    func pumps(transport: TransportKind) throws(BoardFileError) -> [PumpConfig] {
        var result: [(config: PumpConfig, section: CheckedSection)] = []
        for (name, table) in try namedSections("pump") {
            let path = "pump.\(name)"
            let section = try checkSection(table, path: path, schema: BoardSchema.pump)
            let model = section.choice("model", as: PumpModel.self)
            let port = section.optionalString("port")
            switch (transport, port) {
            case (.twin, .some(let port)):
                throw fail(
                    section.line(of: "port"), "\(path).port",
                    "\(path).port = \(tomlQuoted(port)) is not allowed when board.transport = \"twin\": the twin simulates the pump")
            case (.linux, .none):
                throw fail(
                    section.line, "\(path).port",
                    "missing required key \(path).port: the pump's serial device (/dev/ttyUSB0, /dev/serial/by-id/...), "
                        + "required when board.transport = \"linux\"")
            default:
                break
            }
            var baud = model.defaultBaud
            if section.isPresent("baud") {
                baud = Int(section.integer("baud"))
                guard model.baudRates.contains(baud) else {
                    throw fail(
                        section.line(of: "baud"), "\(path).baud",
                        "\(path).baud = \(baud) is not a rate the \(model.rawValue) offers: allowed "
                            + model.baudRates.map(String.init).joined(separator: ", "))
                }
            }
            if section.isPresent("address") && !model.isHarvard {
                throw fail(
                    section.line(of: "address"), "\(path).address",
                    "\(path).address applies to Harvard pumps only (daisy-chain addresses); a \(model.rawValue) has none")
            }
            let axis = section.optionalString("axis")
            if model == .pump33DDS && axis == nil {
                throw fail(
                    section.line, "\(path).axis",
                    "missing required key \(path).axis: a pump-33-dds has two syringes, \"a\" or \"b\"")
            }
            if model != .pump33DDS, axis != nil {
                throw fail(
                    section.line(of: "axis"), "\(path).axis",
                    "\(path).axis applies to a pump-33-dds only; a \(model.rawValue) has one syringe")
            }
            let config = PumpConfig(
                name: name, model: model, port: port, baud: baud,
                address: section.isPresent("address") ? Int(section.integer("address")) : 0, axis: axis,
                syringeDiameterMm: section.number("syringe_diameter_mm"),
                syringeVolumeUl: section.number("syringe_volume_ul"),
                maxRateUlMin: section.number("max_rate_ul_min"),
                reagent: section.choice("reagent", as: PumpReagent.self),
                replyTimeoutMs: section.isPresent("reply_timeout_ms")
                    ? Int(section.integer("reply_timeout_ms")) : model.defaultReplyTimeoutMs)
            if let port, let earlier = result.first(where: {
                $0.config.port == port && $0.config.address == config.address && $0.config.axis == axis
            }) {
                var place = "address \(config.address)"
                if let axis { place += " axis \(axis)" }
                throw fail(
                    section.line, path,
                    "\(path) is on \(port) \(place), already used by \(earlier.config.id) (line \(earlier.section.line))")
            }
            if let port, let earlier = result.first(where: { $0.config.port == port && $0.config.baud != baud }) {
                throw fail(
                    section.line(of: "baud"), "\(path).baud",
                    "\(path).baud = \(baud) differs from \(earlier.config.id).baud = \(earlier.config.baud) on the same port \(port)")
            }
            result.append((config, section))
        }
        return result.map(\.config)
    }
}

// MARK: - Pressure, selector, sampling (P2)

extension BoardSchema {
    static let pressure = SectionSchema(keys: [
        KeyRule("kind", .choice(PressureKind.allCases.map(\.rawValue)), .required),
        KeyRule("sampling_mbar", .number(lower: 0, lowerExcluded: true, upper: 5000, unit: "mbar"), .defaulted(.number(600))),
        KeyRule("max_mbar", .number(lower: 0, lowerExcluded: true, upper: 7000, unit: "mbar"), .defaulted(.number(1000))),
        KeyRule("hysteresis_mbar", .number(lower: 0, lowerExcluded: true, upper: 200, unit: "mbar"), .optional),
        KeyRule("sdk_path", .nonEmptyText, .optional),
        KeyRule("channel", .integer(0...255, unit: nil, hex: false), .optional),
        KeyRule("sensor_bus", .nonEmptyText, .optional),
        KeyRule("sensor_address", .integer(0x08...0x77, unit: nil, hex: true), .optional),
        KeyRule("sensor_min_mbar", .finiteNumber(unit: "mbar"), .optional),
        KeyRule("sensor_max_mbar", .finiteNumber(unit: "mbar"), .optional),
        KeyRule("pressurize_valve", .nonEmptyText, .optional),
        KeyRule("vent_valve", .nonEmptyText, .optional),
        KeyRule("time_constant_s", .number(lower: 0, lowerExcluded: true, upper: 60, unit: "s"), .optional),
    ])

    /// The `[pressure]` keys that belong to one kind only.
    static let pressureKindKeys: [(key: String, kind: PressureKind)] = [
        ("sdk_path", .fluigent), ("channel", .fluigent),
        ("hysteresis_mbar", .solenoid), ("sensor_bus", .solenoid), ("sensor_address", .solenoid),
        ("sensor_min_mbar", .solenoid), ("sensor_max_mbar", .solenoid), ("pressurize_valve", .solenoid),
        ("vent_valve", .solenoid),
        ("time_constant_s", .twin),
    ]

    static let selector = SectionSchema(
        keys: [
            KeyRule("kind", .choice(SelectorKind.allCases.map(\.rawValue)), .required),
            KeyRule("positions", .integer(2...16, unit: nil, hex: false), .required),
            KeyRule("channel", .integer(0...255, unit: nil, hex: false), .optional),
            KeyRule("sdk_path", .nonEmptyText, .optional),
            KeyRule("seconds_per_position", .number(lower: 0, lowerExcluded: true, upper: 5, unit: "s"), .optional),
        ],
        alsoAllowed: "and position names (reactor = 1)")

    static let sampling = SectionSchema(keys: [
        KeyRule(
            "line_resistance_mbar_s_per_ul", .number(lower: 0, lowerExcluded: true, upper: 10_000, unit: "mbar·s/µL"),
            .optional),
        KeyRule("line_length_mm", .number(lower: 0, lowerExcluded: true, upper: 10_000, unit: "mm"), .optional),
        KeyRule("line_inner_diameter_mm", .number(lower: 0, lowerExcluded: true, upper: 5, unit: "mm"), .optional),
        KeyRule("viscosity_mpa_s", .number(lower: 0, lowerExcluded: true, upper: 1000, unit: "mPa·s"), .optional),
        KeyRule("valve", .nonEmptyText, .defaulted(.string("sample"))),
        KeyRule("target_ul", .number(lower: 0, lowerExcluded: true, upper: 500, unit: "µL"), .defaulted(.number(40))),
        KeyRule("transport_delay_s", .number(lower: 0, lowerExcluded: false, upper: 600, unit: "s"), .defaulted(.number(20))),
        KeyRule("dilution", .number(lower: 1, lowerExcluded: false, upper: 1000, unit: nil), .defaulted(.number(1))),
    ])

    /// `viscosity_mpa_s` when absent: the hot ODE/oleic-acid aliquot cooling in the line
    /// (ODE ≈ 3.5 mPa·s at 25 °C, below 1 mPa·s above 150 °C).
    static let defaultLineViscosityMPaS = 2.0
}

extension BoardChecker {
    /// `[pressure]`: the kind's keys and no other kind's; the kind allowed by the transport;
    /// `sampling_mbar` below `max_mbar` (one band below for a solenoid regulator); a solenoid's
    /// sensor on a defined bus, clear of the thermocouples' addresses, with `max_mbar` inside its
    /// range, and two distinct, defined valves.
    func pressure(
        transport: TransportKind, buses: [I2CBusConfig], thermocouples: [ThermocoupleConfig], valves: [ValveConfig]
    ) throws(BoardFileError) -> PressureConfig? {
        guard let table = root["pressure"]?.tableValue else { return nil }
        let section = try checkSection(table, path: "pressure", schema: BoardSchema.pressure)
        let kind = section.choice("kind", as: PressureKind.self)
        for (key, owner) in BoardSchema.pressureKindKeys where owner != kind && section.isPresent(key) {
            throw fail(
                section.line(of: key), "pressure.\(key)",
                "pressure.\(key) applies to kind = \"\(owner.rawValue)\" only, not \"\(kind.rawValue)\"")
        }
        switch (kind, transport) {
        case (.twin, .linux):
            throw fail(
                section.line(of: "kind"), "pressure.kind",
                "pressure.kind = \"twin\" is not allowed when board.transport = \"linux\": use \"fluigent\" or \"solenoid\"")
        case (.fluigent, .twin):
            throw fail(
                section.line(of: "kind"), "pressure.kind",
                "pressure.kind = \"fluigent\" is not allowed when board.transport = \"twin\": the twin simulates it "
                    + "with kind = \"twin\"")
        default:
            break
        }
        let sampling = section.number("sampling_mbar")
        let maximum = section.number("max_mbar")
        let hysteresis = section.optionalNumber("hysteresis_mbar") ?? 20
        let ceiling = kind == .solenoid ? maximum - hysteresis : maximum
        guard sampling < ceiling else {
            let why = kind == .solenoid
                ? "below pressure.max_mbar - pressure.hysteresis_mbar = \(renderNumber(ceiling)), so that regulating never trips the limit"
                : "below pressure.max_mbar = \(renderNumber(maximum))"
            throw fail(
                section.line(of: "sampling_mbar"), "pressure.sampling_mbar",
                "pressure.sampling_mbar = \(renderNumber(sampling)) must be \(why)")
        }

        var sensor: PressureSensorConfig?
        var pressurizeValve: String?
        var ventValve: String?
        if kind == .solenoid {
            for key in ["sensor_bus", "sensor_max_mbar", "pressurize_valve", "vent_valve"] where !section.isPresent(key) {
                throw fail(
                    section.line, "pressure.\(key)",
                    "missing required key pressure.\(key): required when pressure.kind = \"solenoid\"")
            }
            let bus = section.string("sensor_bus")
            guard buses.contains(where: { $0.name == bus }) else {
                throw fail(
                    section.line(of: "sensor_bus"), "pressure.sensor_bus",
                    "pressure.sensor_bus = \(render(.string(bus))) names no [i2c.\(bus)] section; defined: \(Self.list(buses.map(\.name)))")
            }
            let address = UInt8(clamping: section.isPresent("sensor_address") ? section.integer("sensor_address") : 0x28)
            if let clash = thermocouples.first(where: { $0.bus == bus && $0.address == address }) {
                throw fail(
                    section.line(of: "sensor_address"), "pressure.sensor_address",
                    "pressure.sensor_address = \(renderInteger(Int64(address), hex: true)) is already used on bus \(bus) "
                        + "by thermocouple.\(clash.name)")
            }
            let low = section.optionalNumber("sensor_min_mbar") ?? 0
            let high = section.number("sensor_max_mbar")
            guard low < high else {
                throw fail(
                    section.line(of: "sensor_max_mbar"), "pressure.sensor_max_mbar",
                    "pressure.sensor_max_mbar = \(renderNumber(high)) must be above pressure.sensor_min_mbar = \(renderNumber(low))")
            }
            guard maximum <= high && low <= 0 else {
                throw fail(
                    section.line(of: "max_mbar"), "pressure.max_mbar",
                    "pressure.max_mbar = \(renderNumber(maximum)) is outside the sensor's range \(renderNumber(low)) to "
                        + "\(renderNumber(high)) mbar: the sensor must read from atmosphere up to the overpressure limit")
            }
            sensor = PressureSensorConfig(bus: bus, address: address, minMbar: low, maxMbar: high)
            for key in ["pressurize_valve", "vent_valve"] {
                let name = section.string(key)
                guard valves.contains(where: { $0.name == name }) else {
                    throw fail(
                        section.line(of: key), "pressure.\(key)",
                        "pressure.\(key) = \(render(.string(name))) names no [valve.\(name)] section; defined: "
                            + Self.list(valves.map(\.name)))
                }
            }
            pressurizeValve = section.string("pressurize_valve")
            ventValve = section.string("vent_valve")
            if pressurizeValve == ventValve {
                throw fail(
                    section.line(of: "vent_valve"), "pressure.vent_valve",
                    "pressure.vent_valve = \(render(.string(ventValve ?? ""))) is also pressure.pressurize_valve: "
                        + "filling and venting need two valves")
            }
        }
        return PressureConfig(
            kind: kind, samplingMbar: sampling, maxMbar: maximum, hysteresisMbar: hysteresis,
            sdkPath: section.optionalString("sdk_path"),
            channel: section.isPresent("channel") ? Int(section.integer("channel")) : 0,
            sensor: sensor, pressurizeValve: pressurizeValve, ventValve: ventValve,
            twinTimeConstantS: kind == .twin ? section.optionalNumber("time_constant_s") ?? 0.1 : nil)
    }

    /// `[selector]`: kind and transport as for `[pressure]`; every key that is not a setting is a
    /// position's name (`reactor = 1`): a name, and a position in 1...positions used once.
    func selector(transport: TransportKind, pressure: PressureConfig?) throws(BoardFileError) -> SelectorConfig? {
        guard let table = root["selector"]?.tableValue else { return nil }
        let settingKeys = Set(BoardSchema.selector.keys.map(\.key))
        let section = try checkSection(
            table, path: "selector", schema: BoardSchema.selector, skip: { !settingKeys.contains($0.key) })
        let kind = section.choice("kind", as: SelectorKind.self)
        let ownKeys: [(String, SelectorKind)] = [("channel", .fluigent), ("sdk_path", .fluigent), ("seconds_per_position", .twin)]
        for (key, owner) in ownKeys where owner != kind && section.isPresent(key) {
            throw fail(
                section.line(of: key), "selector.\(key)",
                "selector.\(key) applies to kind = \"\(owner.rawValue)\" only, not \"\(kind.rawValue)\"")
        }
        if (kind == .twin) != (transport == .twin) {
            throw fail(
                section.line(of: "kind"), "selector.kind",
                "selector.kind = \"\(kind.rawValue)\" is not allowed when board.transport = \"\(transport.rawValue)\": "
                    + (transport == .twin ? "the twin simulates the valve with kind = \"twin\"" : "use \"fluigent\""))
        }
        let sdkPath = section.optionalString("sdk_path")
        if let sdkPath, let other = pressure?.sdkPath, other != sdkPath {
            throw fail(
                section.line(of: "sdk_path"), "selector.sdk_path",
                "selector.sdk_path = \(render(.string(sdkPath))) differs from pressure.sdk_path = \(render(.string(other))): "
                    + "one Fluigent SDK serves both")
        }
        let positions = Int(section.integer("positions"))
        var names: [(name: String, position: Int)] = []
        for entry in table.entries where !settingKeys.contains(entry.key) {
            let path = "selector.\(entry.key)"
            try checkName(entry.key, kind: "selector", line: entry.line)
            guard case .integer(let value) = entry.value.content else {
                throw fail(
                    entry.line, path,
                    "\(path) has the wrong type: a position name takes the position's number (an integer), "
                        + "found \(entry.value.kindDescription); settings allowed: \(BoardSchema.selector.keys.map(\.key).joined(separator: ", "))")
            }
            guard value >= 1 && value <= Int64(positions) else {
                throw fail(
                    entry.line, path,
                    "\(path) = \(value) is out of range: allowed 1 to \(positions) (selector.positions)")
            }
            if let earlier = names.first(where: { $0.position == Int(value) }) {
                throw fail(
                    entry.line, path,
                    "\(path) = \(value) is already position \(earlier.name)")
            }
            names.append((entry.key, Int(value)))
        }
        return SelectorConfig(
            kind: kind, positions: positions,
            channel: section.isPresent("channel") ? Int(section.integer("channel")) : 0,
            sdkPath: sdkPath ?? (kind == .fluigent ? pressure?.sdkPath : nil),
            twinSecondsPerPosition: kind == .twin ? section.optionalNumber("seconds_per_position") ?? 0.05 : nil,
            names: names)
    }

    /// `[sampling]`: needs `[pressure]` and its valve; the line by resistance or by tube, not both.
    func sampling(pressure: PressureConfig?, valves: [ValveConfig]) throws(BoardFileError) -> SamplingConfig? {
        guard let table = root["sampling"]?.tableValue else { return nil }
        let section = try checkSection(table, path: "sampling", schema: BoardSchema.sampling)
        guard pressure != nil else {
            throw fail(
                section.line, "pressure",
                "[sampling] needs a [pressure] section: an aliquot is pushed out by the reactor's pressure")
        }
        let valve = section.string("valve")
        guard valves.contains(where: { $0.name == valve }) else {
            throw fail(
                section.line(of: "valve"), "sampling.valve",
                "sampling.valve = \(render(.string(valve))) names no [valve.\(valve)] section; defined: \(Self.list(valves.map(\.name)))")
        }
        let tubeKeys = ["line_length_mm", "line_inner_diameter_mm", "viscosity_mpa_s"]
        let line: SamplingConfig.Line
        if section.isPresent("line_resistance_mbar_s_per_ul") {
            if let key = tubeKeys.first(where: { section.isPresent($0) }) {
                throw fail(
                    section.line(of: key), "sampling.\(key)",
                    "sampling.\(key) cannot be given with sampling.line_resistance_mbar_s_per_ul: give the measured "
                        + "resistance or the tube, not both")
            }
            line = .resistance(mbarSecondsPerMicrolitre: section.number("line_resistance_mbar_s_per_ul"))
        } else {
            for key in tubeKeys.dropLast() where !section.isPresent(key) {
                throw fail(
                    section.line, "sampling.\(key)",
                    "missing required key sampling.\(key): give sampling.line_resistance_mbar_s_per_ul, or "
                        + "line_length_mm and line_inner_diameter_mm (and viscosity_mpa_s)")
            }
            line = .tube(
                lengthMm: section.number("line_length_mm"), innerDiameterMm: section.number("line_inner_diameter_mm"),
                viscosityMPaS: section.optionalNumber("viscosity_mpa_s") ?? BoardSchema.defaultLineViscosityMPaS)
        }
        return SamplingConfig(
            line: line, valve: valve, targetMicrolitres: section.number("target_ul"),
            transportDelayS: section.number("transport_delay_s"), dilution: section.number("dilution"))
    }
}

// MARK: - Journal, uplink (J)

extension BoardSchema {
    static let journal = SectionSchema(keys: [
        KeyRule("path", .nonEmptyText, .defaulted(.string(JournalConfig.defaults.path))),
        KeyRule(
            "max_mb", .integer(1...1_048_576, unit: "MiB", hex: false),
            .defaulted(.integer(Int64(JournalConfig.defaults.maxMB)))),
    ])

    static let uplink = SectionSchema(keys: [
        KeyRule("enabled", .boolean, .defaulted(.boolean(true))),
        KeyRule("url", .nonEmptyText, .required),
        KeyRule("device_id", .nonEmptyText, .required),
        KeyRule("token_file", .nonEmptyText, .optional),
        KeyRule("batch_records", .integer(1...10_000, unit: nil, hex: false), .defaulted(.integer(500))),
        KeyRule("interval_s", .number(lower: 1, lowerExcluded: false, upper: 3600, unit: "s"), .defaulted(.number(30))),
    ])
}

extension BoardChecker {
    /// `[journal]`, with its defaults when absent.
    func journal() throws(BoardFileError) -> JournalConfig {
        let table = root["journal"]?.tableValue ?? TOMLTable(entries: [], line: 1, column: 1, origin: .implicit)
        let section = try checkSection(table, path: "journal", schema: BoardSchema.journal)
        return JournalConfig(path: section.string("path"), maxMB: Int(section.integer("max_mb")))
    }

    /// `[uplink]`, nil when absent; the URL's scheme and the device id's characters checked.
    func uplink() throws(BoardFileError) -> UplinkConfig? {
        guard let table = root["uplink"]?.tableValue else { return nil }
        let section = try checkSection(table, path: "uplink", schema: BoardSchema.uplink)
        let url = section.string("url")
        let rest = url.hasPrefix("https://") ? url.dropFirst(8) : url.hasPrefix("http://") ? url.dropFirst(7) : ""
        guard !rest.isEmpty, !url.utf8.contains(where: { $0 <= 0x20 })
        else {
            throw fail(
                section.line(of: "url"), "uplink.url",
                "uplink.url = \"\(url)\" is not an http:// or https:// URL (with a host, without spaces)")
        }
        let deviceID = section.string("device_id")
        let bytes = Array(deviceID.utf8)
        let isAllowed: (UInt8) -> Bool = { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
        guard bytes.count <= 64, bytes.allSatisfy(isAllowed) else {
            throw fail(
                section.line(of: "device_id"), "uplink.device_id",
                "uplink.device_id = \"\(deviceID)\" is not allowed: 1 to 64 of A-Z a-z 0-9 . _ -")
        }
        return UplinkConfig(
            enabled: section.boolean("enabled"), url: url, deviceID: deviceID,
            tokenFile: section.optionalString("token_file"), batchRecords: Int(section.integer("batch_records")),
            intervalS: section.number("interval_s"))
    }
}
