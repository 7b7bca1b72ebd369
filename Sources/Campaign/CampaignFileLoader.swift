// Checking a parsed campaign file against its schema: every key declared once below (type,
// required or not, allowed range) and checked by one routine, so every message has the board
// files' shape: `file:line: key = value is out of range: allowed a to b (unit)`. What a table of
// keys cannot say (sample times that must increase, aliquots that must fit in the reactor, the
// design's kind deciding its keys, constraints) is checked after.
//
// Array elements are numbered from 1 in messages (`schedule.sample_times_s[3]`,
// `experiment[2].cd_mm`), like experiments.

import Config

// MARK: - Schema

/// A numeric range in messages' words.
struct Limits {
    let lower: Double
    let lowerExcluded: Bool
    let upper: Double
    let unit: String?

    init(_ lower: Double, _ upper: Double, unit: String?, lowerExcluded: Bool = false) {
        self.lower = lower
        self.upper = upper
        self.unit = unit
        self.lowerExcluded = lowerExcluded
    }

    init(_ factor: DesignFactor) {
        let limits = factor.limits
        self.init(limits.lower, limits.upper, unit: factor.unit, lowerExcluded: limits.lowerExcluded)
    }

    func contains(_ value: Double) -> Bool {
        value.isFinite && (lowerExcluded ? value > lower : value >= lower) && value <= upper
    }

    /// `allowed 20 to 400 (°C)`, `allowed more than 0, up to 200 (mM)`.
    var allowance: String {
        let bounds = lowerExcluded
            ? "allowed more than \(renderNumber(lower)), up to \(renderNumber(upper))"
            : "allowed \(renderNumber(lower)) to \(renderNumber(upper))"
        return bounds + (unit.map { " (\($0))" } ?? "")
    }
}

/// What a key's value must be.
enum CampaignRule {
    case text(nonEmpty: Bool)
    case choice([String])
    case integer(ClosedRange<Int64>, unit: String?)
    case number(Limits)
    case boolean
    /// An array of numbers, each within the limits.
    case numbers(Limits, count: ClosedRange<Int>)
    /// An array of strings.
    case texts(count: ClosedRange<Int>)
    /// A number (a fixed value) or `[low, high]`, within the limits.
    case bounds(Limits)
    /// A table, checked by the caller.
    case table

    var expectedType: String {
        switch self {
        case .text, .choice: "a string"
        case .integer: "an integer"
        case .number: "a number"
        case .boolean: "a boolean"
        case .numbers: "an array of numbers"
        case .texts: "an array of strings"
        case .bounds: "a number or [low, high]"
        case .table: "a table"
        }
    }

    var allowance: String? {
        switch self {
        case .text(let nonEmpty): nonEmpty ? "not empty" : nil
        case .choice(let options): "allowed " + options.map(quoted).joined(separator: ", ")
        case .integer(let range, let unit): "allowed \(range.lowerBound) to \(range.upperBound)" + (unit.map { " (\($0))" } ?? "")
        case .number(let limits), .numbers(let limits, _), .bounds(let limits): limits.allowance
        case .boolean, .texts, .table: nil
        }
    }
}

struct CampaignKey {
    let key: String
    let rule: CampaignRule
    let required: Bool

    init(_ key: String, _ rule: CampaignRule, required: Bool = false) {
        self.key = key
        self.rule = rule
        self.required = required
    }
}

/// A checked value.
enum CampaignValue {
    case string(String)
    case integer(Int64)
    case number(Double)
    case boolean(Bool)
    case numbers([Double])
    case texts([String])
    case range(ClosedRange<Double>)
    case table(TOMLTable)
}

/// The sections and their keys.
enum CampaignSchema {
    static let sections = ["campaign", "stocks", "reactor", "schedule", "prediction", "experiment", "design"]

    static let campaign = [
        CampaignKey("name", .text(nonEmpty: true), required: true),
        CampaignKey("description", .text(nonEmpty: false)),
    ]

    static let stocks = [
        // Up to 2 M: far above any Cd-oleate or TOP-Se stock that stays liquid.
        CampaignKey("cd_mm", .number(Limits(0, 2000, unit: "mM", lowerExcluded: true))),
        CampaignKey("se_mm", .number(Limits(0, 2000, unit: "mM", lowerExcluded: true))),
        CampaignKey("oa_molar", .number(Limits(0, PrecursorStocks.pureOleicAcidMolar, unit: "M", lowerExcluded: true))),
        CampaignKey("injection_diluent", .choice(["TOP", "ODE"])),
        CampaignKey("count_cd_oleate", .boolean),
    ]

    static let reactor = [
        CampaignKey("charge_ul", .number(Limits(0, 3000, unit: "µL", lowerExcluded: true))),
        CampaignKey("injection_ul", .number(Limits(0, 1000, unit: "µL", lowerExcluded: true))),
        // The published reactor's working volume is 1-3 mL (DESIGN §1).
        CampaignKey("capacity_ul", .number(Limits(0, 3000, unit: "µL", lowerExcluded: true))),
    ]

    static let schedule = [
        CampaignKey("sample_times_s", .numbers(Limits(0, 3600, unit: "s", lowerExcluded: true), count: 1...100)),
        CampaignKey("settle_s", .number(Limits(0, 3600, unit: "s"))),
        CampaignKey("heat_timeout_s", .number(Limits(0, 7200, unit: "s", lowerExcluded: true))),
        CampaignKey("cool_to_c", .number(Limits(20, 200, unit: "°C"))),
        CampaignKey("clean_cycles", .integer(0...10, unit: nil)),
        CampaignKey("aliquot_ul", .number(Limits(0, 200, unit: "µL", lowerExcluded: true))),
    ]

    static let prediction = [
        CampaignKey("anomaly", .choice(AnomalyAction.allCases.map(\.rawValue))),
        CampaignKey("interval_sigma", .number(Limits(0, 10, unit: nil, lowerExcluded: true))),
        // CdSe first-exciton peaks of the published data lie in 400-620 nm.
        CampaignKey("target_peak_nm", .number(Limits(400, 700, unit: "nm"))),
        CampaignKey("quench", .boolean),
    ]

    static let experiment: [CampaignKey] =
        [CampaignKey("name", .text(nonEmpty: true))]
        + DesignFactor.allCases.map { CampaignKey($0.rawValue, .number(Limits($0)), required: true) }

    static let generatedKinds: [DesignKind] = [.grid, .random, .latinHypercube, .sobol]

    static let constraints = CampaignKey("constraints", .texts(count: 0...100))
    static let count = CampaignKey("n", .integer(1...100_000, unit: nil), required: true)
    static func seed(required: Bool) -> CampaignKey { CampaignKey("seed", .integer(0...Int64.max, unit: nil), required: required) }

    /// The keys of `[design]` (or `[design.initial]`, where `inherited` makes the region, the
    /// constraints and the seed optional: they default to `[design]`'s).
    static func design(_ kind: DesignKind, inherited: Bool = false) -> [CampaignKey] {
        let kindKey = CampaignKey("kind", .choice([]), required: true)
        let levels = DesignFactor.allCases.map {
            CampaignKey($0.rawValue, .numbers(Limits($0), count: 1...1000), required: true)
        }
        let bounds = DesignFactor.allCases.map {
            CampaignKey($0.rawValue, .bounds(Limits($0)), required: !inherited)
        }
        switch kind {
        case .explicit: return []
        case .grid: return [kindKey] + levels + [constraints]
        case .random, .latinHypercube: return [kindKey, count, seed(required: !inherited)] + bounds + [constraints]
        case .sobol: return [kindKey, count] + bounds + [constraints]
        case .adaptive:
            return [
                kindKey,
                CampaignKey("rounds", .integer(1...1000, unit: nil), required: true),
                CampaignKey("per_round", .integer(1...1000, unit: nil), required: true),
                CampaignKey("target_peak_nm", .number(Limits(400, 700, unit: "nm")), required: true),
                CampaignKey("candidates", .integer(100...1_000_000, unit: nil)),
                seed(required: true),
                CampaignKey("exploration", .number(Limits(0, 10, unit: nil))),
            ] + bounds + [constraints, CampaignKey("initial", .table)]
        }
    }
}

// MARK: - Checked sections

/// A section whose keys passed the schema.
struct CheckedCampaignSection {
    let path: String
    let line: Int
    var values: [String: CampaignValue] = [:]
    var lines: [String: Int] = [:]

    init(path: String, line: Int) {
        self.path = path
        self.line = line
    }

    func line(of key: String) -> Int { lines[key] ?? line }

    func number(_ key: String) -> Double? {
        if case .number(let value)? = values[key] { value } else { nil }
    }

    func string(_ key: String) -> String? {
        if case .string(let value)? = values[key] { value } else { nil }
    }

    func integer(_ key: String) -> Int64? {
        if case .integer(let value)? = values[key] { value } else { nil }
    }

    func boolean(_ key: String) -> Bool? {
        if case .boolean(let value)? = values[key] { value } else { nil }
    }

    func numbers(_ key: String) -> [Double]? {
        if case .numbers(let value)? = values[key] { value } else { nil }
    }

    func texts(_ key: String) -> [String]? {
        if case .texts(let value)? = values[key] { value } else { nil }
    }

    func range(_ key: String) -> ClosedRange<Double>? {
        if case .range(let value)? = values[key] { value } else { nil }
    }

    func table(_ key: String) -> TOMLTable? {
        if case .table(let value)? = values[key] { value } else { nil }
    }
}

// MARK: - Checking

struct CampaignChecker {
    let file: String
    let root: TOMLTable

    func fail(_ line: Int?, _ key: String?, _ message: String) -> CampaignFileError {
        CampaignFileError(file: file, line: line, key: key, message: message)
    }

    func check() throws(CampaignFileError) -> CampaignFile {
        try checkTopLevel()
        guard let campaignTable = root["campaign"]?.tableValue else {
            throw fail(nil, "campaign", "missing section [campaign]: every campaign file needs [campaign] with name (and description)")
        }
        let campaign = try checkSection(campaignTable, path: "campaign", keys: CampaignSchema.campaign)
        let stocks = try stocks()
        let reactor = try reactor()
        let schedule = try schedule(reactor: reactor)
        let prediction = try prediction()
        let (design, designLine) = try design()
        return CampaignFile(
            path: file, name: campaign.string("name") ?? "", description: campaign.string("description") ?? "",
            stocks: stocks, reactor: reactor, schedule: schedule, prediction: prediction, design: design,
            designLine: designLine)
    }

    /// Only known sections, each of the right shape.
    func checkTopLevel() throws(CampaignFileError) {
        let sectionList = CampaignSchema.sections.joined(separator: ", ")
        for entry in root.entries {
            guard CampaignSchema.sections.contains(entry.key) else {
                if entry.value.tableValue != nil {
                    throw fail(entry.line, entry.key, "unknown section [\(entry.key)]; allowed: \(sectionList)")
                }
                throw fail(entry.line, entry.key, "unknown key \(entry.key) outside any section; allowed sections: \(sectionList)")
            }
            if entry.key == "experiment" {
                guard case .array(let elements) = entry.value.content, elements.allSatisfy({ $0.tableValue != nil }) else {
                    throw fail(
                        entry.line, entry.key,
                        "experiment must be tables [[experiment]], found \(entry.value.kindDescription)")
                }
            } else if entry.value.tableValue == nil {
                throw fail(entry.line, entry.key, "\(entry.key) must be a section [\(entry.key)], found \(entry.value.kindDescription)")
            }
        }
    }

    // MARK: Sections

    func optionalSection(_ name: String, keys: [CampaignKey]) throws(CampaignFileError) -> CheckedCampaignSection {
        guard let table = root[name]?.tableValue else { return CheckedCampaignSection(path: name, line: 1) }
        return try checkSection(table, path: name, keys: keys)
    }

    func stocks() throws(CampaignFileError) -> PrecursorStocks {
        let section = try optionalSection("stocks", keys: CampaignSchema.stocks)
        var stocks = PrecursorStocks()
        if let value = section.number("cd_mm") { stocks.cadmiumMillimolar = value }
        if let value = section.number("se_mm") { stocks.seleniumMillimolar = value }
        if let value = section.number("oa_molar") { stocks.oleicAcidMolar = value }
        if let value = section.string("injection_diluent") { stocks.injectionDiluent = value == "ODE" ? .octadecene : .trioctylphosphine }
        if let value = section.boolean("count_cd_oleate") { stocks.countsCadmiumOleate = value }
        return stocks
    }

    func reactor() throws(CampaignFileError) -> ReactorVolumes {
        let section = try optionalSection("reactor", keys: CampaignSchema.reactor)
        var reactor = ReactorVolumes()
        if let value = section.number("charge_ul") { reactor.chargeMicrolitres = value }
        if let value = section.number("injection_ul") { reactor.injectionMicrolitres = value }
        if let value = section.number("capacity_ul") { reactor.capacityMicrolitres = value }
        guard reactor.totalMicrolitres <= reactor.capacityMicrolitres else {
            throw fail(
                section.line(of: "charge_ul"), "reactor.charge_ul",
                "reactor.charge_ul + reactor.injection_ul = \(renderNumber(reactor.chargeMicrolitres)) + "
                    + "\(renderNumber(reactor.injectionMicrolitres)) = \(renderNumber(reactor.totalMicrolitres)) µL "
                    + "is more than reactor.capacity_ul = \(renderNumber(reactor.capacityMicrolitres)) µL")
        }
        return reactor
    }

    func schedule(reactor: ReactorVolumes) throws(CampaignFileError) -> SamplingSchedule {
        let section = try optionalSection("schedule", keys: CampaignSchema.schedule)
        var schedule = SamplingSchedule()
        if let value = section.numbers("sample_times_s") { schedule.sampleTimesSeconds = value }
        if let value = section.number("settle_s") { schedule.settleSeconds = value }
        if let value = section.number("heat_timeout_s") { schedule.heatTimeoutSeconds = value }
        if let value = section.number("cool_to_c") { schedule.coolToCelsius = value }
        if let value = section.integer("clean_cycles") { schedule.cleanCycles = Int(value) }
        if let value = section.number("aliquot_ul") { schedule.aliquotMicrolitres = value }

        let times = schedule.sampleTimesSeconds
        for index in times.indices.dropFirst() where times[index] <= times[index - 1] {
            throw fail(
                section.line(of: "sample_times_s"), "schedule.sample_times_s",
                "schedule.sample_times_s must increase: schedule.sample_times_s[\(index + 1)] = "
                    + "\(renderNumber(times[index])) follows \(renderNumber(times[index - 1]))")
        }
        let withdrawn = Double(times.count) * schedule.aliquotMicrolitres
        guard withdrawn < reactor.totalMicrolitres else {
            let line = section.lines["aliquot_ul"] ?? section.line(of: "sample_times_s")
            throw fail(
                line, "schedule.aliquot_ul",
                "\(times.count) aliquots x schedule.aliquot_ul = \(renderNumber(schedule.aliquotMicrolitres)) µL "
                    + "= \(renderNumber(withdrawn)) µL would empty the reactor's \(renderNumber(reactor.totalMicrolitres)) µL")
        }
        return schedule
    }

    func prediction() throws(CampaignFileError) -> PredictionPolicy {
        let section = try optionalSection("prediction", keys: CampaignSchema.prediction)
        var prediction = PredictionPolicy()
        if let value = section.string("anomaly"), let action = AnomalyAction(rawValue: value) { prediction.anomaly = action }
        if let value = section.number("interval_sigma") { prediction.intervalSigma = value }
        prediction.targetPeakNanometres = section.number("target_peak_nm")
        if let value = section.boolean("quench") { prediction.quench = value }
        if prediction.quench && prediction.targetPeakNanometres == nil {
            throw fail(
                section.line(of: "quench"), "prediction.quench",
                "prediction.quench = true needs prediction.target_peak_nm: the absorption peak (nm) at which to stop sampling and cool")
        }
        return prediction
    }

    // MARK: Experiments and designs

    func design() throws(CampaignFileError) -> (ExperimentDesign, Int) {
        let experimentEntry = root.entry("experiment")
        let listed = try experimentEntry.map { entry throws(CampaignFileError) in try experiments(entry) }
        guard let designTable = root["design"]?.tableValue else {
            guard let listed, let experimentEntry else {
                throw fail(
                    nil, "design",
                    "the campaign has no experiments: add [[experiment]] tables (temperature_c, cd_mm, se_mm, oa_cd) "
                        + "or a [design] section (kind = \"grid\", \"random\", \"latin-hypercube\", \"sobol\" or \"adaptive\")")
            }
            return (.explicit(listed), experimentEntry.line)
        }
        let allowed = DesignKind.allCases.filter { $0 != .explicit }
        let kind = try designKind(designTable, path: "design", allowed: allowed)
        if listed != nil && kind != .adaptive {
            throw fail(
                designTable.line, "design",
                "the campaign has both [[experiment]] tables and [design] kind = \(quoted(kind.rawValue)): use one, "
                    + "or kind = \"adaptive\" where the [[experiment]] tables are the initial design")
        }
        if kind == .adaptive {
            return (.adaptive(try adaptive(designTable, listed: listed)), designTable.line)
        }
        return (try generated(designTable, path: "design", kind: kind, inherited: nil), designTable.line)
    }

    /// `[[experiment]]` tables as a list.
    func experiments(_ entry: TOMLTable.Entry) throws(CampaignFileError) -> [ListedCondition] {
        guard case .array(let elements) = entry.value.content else { return [] }
        guard !elements.isEmpty else { throw fail(entry.line, "experiment", "experiment must not be empty") }
        guard elements.count <= 10_000 else {
            throw fail(entry.line, "experiment", "\(elements.count) [[experiment]] tables: at most 10000")
        }
        var list: [ListedCondition] = []
        for (index, element) in elements.enumerated() {
            guard let table = element.tableValue else { continue }
            let section = try checkSection(table, path: "experiment[\(index + 1)]", keys: CampaignSchema.experiment)
            list.append(ListedCondition(name: section.string("name"), condition: condition(section)))
        }
        return list
    }

    func condition(_ section: CheckedCampaignSection) -> SynthesisCondition {
        DesignFactor.condition(DesignFactor.allCases.map { section.number($0.rawValue) ?? 0 })
    }

    func designKind(_ table: TOMLTable, path: String, allowed: [DesignKind]) throws(CampaignFileError) -> DesignKind {
        let choices = allowed.map(\.rawValue)
        guard let entry = table.entry("kind") else {
            throw fail(
                table.line, "\(path).kind",
                "missing required key \(path).kind: a string, allowed " + choices.map(quoted).joined(separator: ", "))
        }
        let value = try checkValue(entry, rule: .choice(choices), keyPath: "\(path).kind")
        guard case .string(let text) = value, let kind = DesignKind(rawValue: text) else {
            preconditionFailure("a checked choice is one of the kinds")
        }
        return kind
    }

    /// A grid, random, Latin-hypercube or Sobol design; for `[design.initial]`, `inherited` is the
    /// parent's region, constraints and seed.
    func generated(
        _ table: TOMLTable, path: String, kind: DesignKind,
        inherited: (space: FactorSpace, constraints: [DesignConstraint], seed: UInt64)?
    ) throws(CampaignFileError) -> ExperimentDesign {
        let section = try checkSection(
            table, path: path, keys: CampaignSchema.design(kind, inherited: inherited != nil),
            allowedContext: "allowed with kind = \(quoted(kind.rawValue))", skip: ["kind"])
        let constraints = try constraints(section, path: path) ?? inherited?.constraints ?? []
        switch kind {
        case .grid:
            let levels = DesignFactor.allCases.map { section.numbers($0.rawValue) ?? [] }
            let size = levels.reduce(1) { $0 * $1.count }
            guard size <= 100_000 else {
                throw fail(table.line, path, "the grid has \(size) points: at most 100000")
            }
            return .grid(GridDesign(
                temperatureCelsius: levels[0], cadmiumMillimolar: levels[1], seleniumMillimolar: levels[2],
                oleicAcidPerCadmium: levels[3], constraints: constraints))
        case .random, .latinHypercube, .sobol:
            let sampled = SampledDesign(
                count: Int(section.integer("n") ?? 1),
                seed: section.integer("seed").map { UInt64($0) } ?? inherited?.seed ?? 0,
                space: space(section, inherited: inherited?.space),
                constraints: constraints)
            switch kind {
            case .random: return .random(sampled)
            case .latinHypercube: return .latinHypercube(sampled)
            default: return .sobol(sampled)
            }
        case .explicit, .adaptive:
            preconditionFailure("generated designs only")
        }
    }

    func adaptive(_ table: TOMLTable, listed: [ListedCondition]?) throws(CampaignFileError) -> AdaptiveDesign {
        let section = try checkSection(
            table, path: "design", keys: CampaignSchema.design(.adaptive),
            allowedContext: "allowed with kind = \"adaptive\"", skip: ["kind"])
        let space = space(section, inherited: nil)
        let constraints = try constraints(section, path: "design") ?? []
        let seed = UInt64(section.integer("seed") ?? 0)
        let initial: ExperimentDesign
        switch (section.table("initial"), listed) {
        case (let initialTable?, nil):
            let kind = try designKind(initialTable, path: "design.initial", allowed: CampaignSchema.generatedKinds)
            initial = try generated(
                initialTable, path: "design.initial", kind: kind, inherited: (space, constraints, seed))
        case (nil, let listed?):
            initial = .explicit(listed)
        case (let initialTable?, _?):
            throw fail(
                initialTable.line, "design.initial",
                "the adaptive design has both [[experiment]] tables and [design.initial]: the initial design is one of them")
        case (nil, nil):
            throw fail(
                table.line, "design.initial",
                "missing the initial design of kind = \"adaptive\": add [design.initial] (kind = \"grid\", \"random\", "
                    + "\"latin-hypercube\" or \"sobol\") or [[experiment]] tables")
        }
        return AdaptiveDesign(
            initial: initial, rounds: Int(section.integer("rounds") ?? 1), perRound: Int(section.integer("per_round") ?? 1),
            targetPeakNanometres: section.number("target_peak_nm") ?? 0, space: space, constraints: constraints,
            candidates: Int(section.integer("candidates") ?? 10_000), seed: seed,
            exploration: section.number("exploration") ?? 1)
    }

    func space(_ section: CheckedCampaignSection, inherited: FactorSpace?) -> FactorSpace {
        let ranges = DesignFactor.allCases.map { factor in
            section.range(factor.rawValue) ?? inherited?[factor] ?? 0...0
        }
        return FactorSpace(
            temperatureCelsius: ranges[0], cadmiumMillimolar: ranges[1], seleniumMillimolar: ranges[2],
            oleicAcidPerCadmium: ranges[3])
    }

    /// The section's constraints, parsed; nil when it gives none.
    func constraints(_ section: CheckedCampaignSection, path: String) throws(CampaignFileError) -> [DesignConstraint]? {
        guard let texts = section.texts("constraints") else { return nil }
        var constraints: [DesignConstraint] = []
        for (index, text) in texts.enumerated() {
            do {
                constraints.append(try DesignConstraint.parse(text, subject: "\(path).constraints[\(index + 1)] = \(quoted(text))"))
            } catch {
                throw fail(section.line(of: "constraints"), "\(path).constraints", error.message)
            }
        }
        return constraints
    }

    // MARK: Keys

    /// Checks every key of `table` (unknown keys, types, ranges) and that the required ones are
    /// present. Keys in `skip` are the caller's.
    func checkSection(
        _ table: TOMLTable, path: String, keys: [CampaignKey], allowedContext: String = "allowed",
        skip: Set<String> = []
    ) throws(CampaignFileError) -> CheckedCampaignSection {
        var section = CheckedCampaignSection(path: path, line: table.line)
        for entry in table.entries where !skip.contains(entry.key) {
            let keyPath = "\(path).\(entry.key)"
            guard let spec = keys.first(where: { $0.key == entry.key }) else {
                throw fail(
                    entry.line, keyPath,
                    "unknown key \(keyPath); \(allowedContext): \(keys.map(\.key).joined(separator: ", "))")
            }
            section.values[entry.key] = try checkValue(entry, rule: spec.rule, keyPath: keyPath)
            section.lines[entry.key] = entry.line
        }
        for spec in keys where spec.required && table.entry(spec.key) == nil {
            let keyPath = "\(path).\(spec.key)"
            let expected = [spec.rule.expectedType, spec.rule.allowance].compactMap { $0 }
            throw fail(table.line, keyPath, "missing required key \(keyPath): \(expected.joined(separator: ", "))")
        }
        return section
    }

    func checkValue(_ entry: TOMLTable.Entry, rule: CampaignRule, keyPath: String) throws(CampaignFileError) -> CampaignValue {
        let value = entry.value
        func wrongType(_ subject: String, _ found: TOMLValue, _ expected: String) -> CampaignFileError {
            let written = found.tableValue == nil ? "\(subject) = \(render(found))" : subject
            return fail(entry.line, keyPath, "\(written) has the wrong type: expected \(expected), found \(found.kindDescription)")
        }
        func outOfRange(_ subject: String, _ found: TOMLValue, _ allowance: String) -> CampaignFileError {
            fail(entry.line, keyPath, "\(subject) = \(render(found)) is out of range: \(allowance)")
        }
        func number(_ element: TOMLValue, _ subject: String, _ limits: Limits) throws(CampaignFileError) -> Double {
            let number: Double
            switch element.content {
            case .integer(let integer): number = Double(integer)
            case .float(let float): number = float
            default: throw wrongType(subject, element, "a number")
            }
            guard limits.contains(number) else { throw outOfRange(subject, element, limits.allowance) }
            return number
        }

        switch rule {
        case .text(let nonEmpty):
            guard case .string(let text) = value.content else { throw wrongType(keyPath, value, rule.expectedType) }
            if nonEmpty && text.isEmpty { throw fail(entry.line, keyPath, "\(keyPath) must not be empty") }
            return .string(text)
        case .choice(let options):
            guard case .string(let text) = value.content else { throw wrongType(keyPath, value, rule.expectedType) }
            guard options.contains(text) else {
                throw fail(
                    entry.line, keyPath,
                    "\(keyPath) = \(render(value)) is not one of the allowed values: \(options.map(quoted).joined(separator: ", "))")
            }
            return .string(text)
        case .integer(let range, _):
            guard case .integer(let integer) = value.content else { throw wrongType(keyPath, value, rule.expectedType) }
            guard range.contains(integer) else { throw outOfRange(keyPath, value, rule.allowance ?? "") }
            return .integer(integer)
        case .number(let limits):
            return .number(try number(value, keyPath, limits))
        case .boolean:
            guard case .boolean(let flag) = value.content else { throw wrongType(keyPath, value, rule.expectedType) }
            return .boolean(flag)
        case .numbers(let limits, let count):
            guard case .array(let elements) = value.content else { throw wrongType(keyPath, value, rule.expectedType) }
            if elements.isEmpty && count.lowerBound > 0 { throw fail(entry.line, keyPath, "\(keyPath) must not be empty") }
            guard count.contains(elements.count) else {
                throw fail(
                    entry.line, keyPath,
                    "\(keyPath) has \(elements.count) values: allowed \(count.lowerBound) to \(count.upperBound)")
            }
            var numbers: [Double] = []
            for (index, element) in elements.enumerated() {
                numbers.append(try number(element, "\(keyPath)[\(index + 1)]", limits))
            }
            return .numbers(numbers)
        case .texts(let count):
            guard case .array(let elements) = value.content else { throw wrongType(keyPath, value, rule.expectedType) }
            guard count.contains(elements.count) else {
                throw fail(
                    entry.line, keyPath,
                    "\(keyPath) has \(elements.count) values: allowed \(count.lowerBound) to \(count.upperBound)")
            }
            var texts: [String] = []
            for (index, element) in elements.enumerated() {
                guard let text = element.stringValue else {
                    throw wrongType("\(keyPath)[\(index + 1)]", element, "a string")
                }
                texts.append(text)
            }
            return .texts(texts)
        case .bounds(let limits):
            if case .array(let elements) = value.content {
                guard elements.count == 2 else {
                    throw fail(
                        entry.line, keyPath,
                        "\(keyPath) = \(render(value)) must be [low, high] (or one number to fix the factor), found \(elements.count) values")
                }
                let low = try number(elements[0], "\(keyPath)[1]", limits)
                let high = try number(elements[1], "\(keyPath)[2]", limits)
                guard low <= high else {
                    throw fail(entry.line, keyPath, "\(keyPath) = \(render(value)): the low bound is above the high bound")
                }
                return .range(low...high)
            }
            switch value.content {
            case .integer, .float:
                let fixed = try number(value, keyPath, limits)
                return .range(fixed...fixed)
            default:
                throw wrongType(keyPath, value, rule.expectedType)
            }
        case .table:
            guard let table = value.tableValue else { throw wrongType(keyPath, value, rule.expectedType) }
            return .table(table)
        }
    }
}
