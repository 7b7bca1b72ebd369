/// What to do with a row whose inputs lie outside the model's fixed normalization ranges.
public enum RangePolicy: Sendable {
    /// An error naming the file, line, column and allowed range (for training data).
    case reject
    /// Keep the row and mark it `extrapolated` (for evaluation and prediction).
    case flag
}

/// One fitted spectrum of the published data set: the conditions and the fitted peak.
public struct SynthesisRecord: Sendable, Equatable {
    /// 1-based line in the file.
    public var line: Int
    /// `Expt. No`: the experiment (the group for cross-validation).
    public var experiment: Int
    public var conditions: SynthesisConditions
    /// Peak position, nm and eV (`Peak_nm`, `Peak_eV`).
    public var peakNM: Double
    public var peakEV: Double
    /// Full width at half maximum, nm and eV (`FWHM_nm`, `FWHM_eV`).
    public var fwhmNM: Double
    public var fwhmEV: Double
    /// True when an input lies outside the normalization ranges.
    public var extrapolated: Bool
}

/// A data file in the published CdSe schema (shared/data/cdse/README.md): columns found by their
/// header names, not positions, in either spelling the published files use (`Expt. No` or
/// `Expt_No`, `Peak_eV` or `peak_eV`); other columns (`T_external`, `height`, the UV file's
/// repeated `height`) are ignored.
public struct SynthesisDataset: Sendable {
    public var file: String
    public var records: [SynthesisRecord]
    /// SHA-256 of the file's bytes (hex), recorded in model bundles.
    public var contentHash: String

    public init(file: String, records: [SynthesisRecord], contentHash: String) {
        self.file = file
        self.records = records
        self.contentHash = contentHash
    }

    /// The columns read, by canonical name (lower case, letters and digits only), with the
    /// spellings accepted.
    static let columns: [(key: String, names: [String])] = [
        ("experiment", ["exptno"]),
        ("oleicAcidRatio", ["oacdratio"]),
        ("temperatureC", ["treactor"]),
        ("cadmiumMM", ["cdmm"]),
        ("seleniumMM", ["semm"]),
        ("timeS", ["ts"]),
        ("peakNM", ["peaknm"]),
        ("fwhmNM", ["fwhmnm"]),
        ("peakEV", ["peakev"]),
        ("fwhmEV", ["fwhmev"]),
    ]

    static func canonical(_ name: String) -> String {
        String(String.UnicodeScalarView(name.lowercased().unicodeScalars.filter {
            ($0 >= "a" && $0 <= "z") || ($0 >= "0" && $0 <= "9")
        }))
    }

    /// Reads and checks the file at `path`.
    public static func load(
        path: String, normalization: Normalization = .published, outOfRange: RangePolicy = .reject
    ) throws(DatasetError) -> SynthesisDataset {
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path: path)
        } catch {
            throw DatasetError(file: path, line: nil, message: "cannot read the file: \(error.description)")
        }
        return try parse(bytes: bytes, file: path, normalization: normalization, outOfRange: outOfRange)
    }

    /// Checks `bytes` as a data file named `file` (in errors).
    public static func parse(
        bytes: [UInt8], file: String, normalization: Normalization = .published, outOfRange: RangePolicy = .reject
    ) throws(DatasetError) -> SynthesisDataset {
        let table = try CSVTable.parse(text: String(decoding: bytes, as: UTF8.self), file: file)
        let header = table.header.fields
        var position: [String: Int] = [:]
        for (key, names) in columns {
            let matches = header.indices.filter { names.contains(canonical(header[$0])) }
            if matches.isEmpty {
                throw DatasetError(
                    file: file, line: table.header.line,
                    message: "missing column \(displayName(key)); the header has: \(header.joined(separator: ", "))")
            }
            if matches.count > 1 {
                throw DatasetError(
                    file: file, line: table.header.line,
                    message: "column \(displayName(key)) appears \(matches.count) times (columns "
                        + matches.map { String($0 + 1) }.joined(separator: ", ") + ")")
            }
            position[key] = matches[0]
        }
        if table.records.isEmpty {
            throw DatasetError(file: file, line: nil, message: "no data rows after the header")
        }

        var records: [SynthesisRecord] = []
        records.reserveCapacity(table.records.count)
        for record in table.records {
            guard record.fields.count == header.count else {
                throw DatasetError(
                    file: file, line: record.line,
                    message: "\(record.fields.count) fields, the header has \(header.count)")
            }
            func number(_ key: String) throws(DatasetError) -> Double {
                let column = position[key]!
                let text = record.fields[column].trimmingSpaces
                let fail = { (message: String) in
                    DatasetError(
                        file: file, line: record.line, column: header[column], columnNumber: column + 1,
                        message: message)
                }
                if text.isEmpty { throw fail("missing value") }
                guard let value = Double(text) else { throw fail("\"\(text)\" is not a number") }
                guard value.isFinite else { throw fail("\(text) is not a finite number") }
                return value
            }
            func check(_ key: String, _ value: Double, _ ok: Bool, _ allowed: String) throws(DatasetError) {
                if !ok {
                    let column = position[key]!
                    throw DatasetError(
                        file: file, line: record.line, column: header[column], columnNumber: column + 1,
                        message: "\(shortNumber(value)) is out of range: allowed \(allowed)")
                }
            }

            let experimentValue = try number("experiment")
            try check(
                "experiment", experimentValue,
                experimentValue == experimentValue.rounded() && abs(experimentValue) < 1e9, "whole numbers")
            let inputKeys = ["oleicAcidRatio", "temperatureC", "cadmiumMM", "seleniumMM", "timeS"]
            var inputs: [Double] = []
            var extrapolated = false
            for (index, key) in inputKeys.enumerated() {
                let value = try number(key)
                let range = normalization.inputs[index]
                if !range.contains(value) {
                    // Physically meaningless values are errors whatever the policy.
                    let physical = index == 1 ? value > -273.15 : value >= 0
                    if outOfRange == .reject || !physical {
                        try check(key, value, false, normalization.rangeText(ofInput: index))
                    }
                    extrapolated = true
                }
                inputs.append(value)
            }
            let peakNM = try number("peakNM")
            try check("peakNM", peakNM, peakNM > 0, "above 0 nm")
            let fwhmNM = try number("fwhmNM")
            try check("fwhmNM", fwhmNM, fwhmNM > 0, "above 0 nm")
            let peakEV = try number("peakEV")
            try check("peakEV", peakEV, peakEV > 0, "above 0 eV")
            let fwhmEV = try number("fwhmEV")
            try check("fwhmEV", fwhmEV, fwhmEV > 0, "above 0 eV")
            records.append(
                SynthesisRecord(
                    line: record.line, experiment: Int(experimentValue), conditions: SynthesisConditions(values: inputs),
                    peakNM: peakNM, peakEV: peakEV, fwhmNM: fwhmNM, fwhmEV: fwhmEV, extrapolated: extrapolated))
        }
        return SynthesisDataset(file: file, records: records, contentHash: SHA256.hex(of: bytes))
    }

    static func displayName(_ key: String) -> String {
        switch key {
        case "experiment": return "Expt. No"
        case "oleicAcidRatio": return "OA_Cd_ratio"
        case "temperatureC": return "T_reactor"
        case "cadmiumMM": return "Cd_mM"
        case "seleniumMM": return "Se_mM"
        case "timeS": return "t_s"
        case "peakNM": return "Peak_nm"
        case "fwhmNM": return "FWHM_nm"
        case "peakEV": return "Peak_eV"
        default: return "FWHM_eV"
        }
    }

    public var count: Int { records.count }

    /// The experiments (cross-validation groups), one per row.
    public var experiments: [Int] { records.map(\.experiment) }

    /// Number of distinct experiments.
    public var experimentCount: Int { Set(records.map(\.experiment)).count }

    /// Rows whose inputs lie outside the normalization ranges.
    public var extrapolatedCount: Int { records.count(where: \.extrapolated) }

    /// The rows at `indices`, in that order.
    public func subset(_ indices: [Int]) -> SynthesisDataset {
        SynthesisDataset(file: file, records: indices.map { records[$0] }, contentHash: contentHash)
    }

    /// The normalized inputs, one row per record (OA/Cd, T, [Cd], [Se], t).
    public func features(_ normalization: Normalization) -> FeatureMatrix {
        var matrix = FeatureMatrix(rowCount: 0, columnCount: 5)
        matrix.reserveCapacity(rows: records.count)
        for record in records { matrix.append(row: normalization.normalizedInputs(record.conditions)) }
        return matrix
    }

    /// Normalized peak targets (eV over the normalization's peak range).
    public func peakTargets(_ normalization: Normalization) -> [Float] {
        records.map { Float(normalization.peakEV.normalize($0.peakEV)) }
    }

    /// Normalized FWHM targets (eV over the normalization's FWHM range).
    public func fwhmTargets(_ normalization: Normalization) -> [Float] {
        records.map { Float(normalization.fwhmEV.normalize($0.fwhmEV)) }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (no Foundation).
    var trimmingSpaces: String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
        while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
        return String(scalars)
    }
}
