import Foundation
@testable import Spectra

/// The published data set's files (../shared/data/cdse, beside the package).
enum RigData {
    static let folder: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data/cdse")

    static func axis(_ name: String) throws -> WavelengthAxis {
        let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        let values = text.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == "\r" }).compactMap { Double($0) }
        return try WavelengthAxis(nanometres: values)
    }

    static func uvAxis() throws -> WavelengthAxis { try axis("uv_wavelengths.csv") }
    static func plAxis() throws -> WavelengthAxis { try axis("pl_wavelengths.csv") }

    /// Rows of a CSV file as dictionaries keyed by header name (the UV file repeats `height`; the
    /// first one wins).
    static func rows(_ name: String) throws -> [[String: String]] {
        let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" })
        let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        return lines.dropFirst().map { line in
            var row: [String: String] = [:]
            for (key, value) in zip(header, line.split(separator: ",", omittingEmptySubsequences: false)) where row[key] == nil {
                row[key] = String(value)
            }
            return row
        }
    }
}
