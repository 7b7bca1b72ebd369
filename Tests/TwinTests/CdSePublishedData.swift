import Foundation
@testable import Twin

/// The published grid's fitted peaks (../shared/data/cdse, found from the package root), read
/// independently of the model, and the calibration table the twin commits, made from them.
enum CdSePublishedData {
    struct Row {
        var absorbance: Bool
        var experiment: Int
        var celsius: Double
        var cadmium: Double
        var selenium: Double
        /// Rounded to the grid's 3/10/20/40 (the files carry 10.002 and 19.998).
        var ratio: Double
        var seconds: Double
        var peakNanometres: Double
        var fwhmNanometres: Double
        var height: Double

        var peakElectronvolts: Double { 1239.84193 / peakNanometres }
        var conditionKey: String { "\(Int(celsius)) \(Int(cadmium)) \(Int(selenium)) \(Int(ratio))" }
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let dataFolder = packageRoot.appendingPathComponent("../shared/data/cdse").standardizedFileURL
    static let calibrationFile = packageRoot.appendingPathComponent("Sources/Twin/CdSeGrowthCalibration.swift")
    static let schedule: [Double] = [10, 20, 30, 40, 50, 60, 80, 100, 120, 140, 160, 200, 240, 280, 330, 380, 450, 500, 550, 600]

    /// The nearest scheduled aliquot in ln t.
    static func slot(_ seconds: Double) -> Int {
        schedule.indices.min { Swift.abs(log(schedule[$0] / seconds)) < Swift.abs(log(schedule[$1] / seconds)) }!
    }

    static func rows(_ file: String, absorbance: Bool) throws -> [Row] {
        let text = try String(contentsOf: dataFolder.appendingPathComponent(file), encoding: .utf8)
        var rows = [Row]()
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            let f = line.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces))! }
            let ratio = [3.0, 10, 20, 40].min { Swift.abs($0 - f[4]) < Swift.abs($1 - f[4]) }!
            // UV: ..., Peak_nm, FWHM_nm, height, Peak_eV, FWHM_eV, height; PL: ..., Peak_eV, FWHM_eV, height.
            rows.append(Row(
                absorbance: absorbance, experiment: Int(f[0]), celsius: f[5], cadmium: f[2], selenium: f[3], ratio: ratio,
                seconds: f[6], peakNanometres: f[7], fwhmNanometres: f[8], height: absorbance ? f[9] : f[11]))
        }
        return rows
    }

    /// Read once per test process.
    private static let absorbance = Result { try rows("uv_train_val.csv", absorbance: true) }
    private static let emission = Result { try rows("pl_train_val.csv", absorbance: false) }
    static func absorbanceRows() throws -> [Row] { try absorbance.get() }
    static func emissionRows() throws -> [Row] { try emission.get() }

    /// The table: per channel and condition, one line per scheduled aliquot that at least half of
    /// the condition's runs fitted, the mean over those runs of the time, the peak energy (as nm),
    /// the FWHM and ln height (as the geometric mean).
    static func calibrationTable() throws -> String {
        var lines = [String]()
        for (channel, rows) in [("a", try absorbanceRows()), ("p", try emissionRows())] {
            let byCondition = Dictionary(grouping: rows) { $0.conditionKey }
            let keys = byCondition.keys.sorted { a, b in
                a.split(separator: " ").map { Double($0)! }.lexicographicallyPrecedes(b.split(separator: " ").map { Double($0)! })
            }
            for key in keys {
                let conditionRows = byCondition[key]!
                let runs = Set(conditionRows.map(\.experiment)).count
                let bySlot = Dictionary(grouping: conditionRows) { slot($0.seconds) }
                for slotIndex in bySlot.keys.sorted() {
                    let points = bySlot[slotIndex]!
                    guard points.count * 2 >= runs else { continue }
                    let n = Double(points.count)
                    let seconds = points.map(\.seconds).reduce(0, +) / n
                    let energy = points.map(\.peakElectronvolts).reduce(0, +) / n
                    let fwhm = points.map(\.fwhmNanometres).reduce(0, +) / n
                    let height = exp(points.map { log($0.height) }.reduce(0, +) / n)
                    lines.append(String(
                        format: "%@ %@ %.3f %.3f %.3f %.3f", channel, key, seconds, 1239.84193 / energy, fwhm, height))
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The generated Swift source that holds the table.
    static func calibrationSource() throws -> String {
        """
        // Generated from ../shared/data/cdse/uv_train_val.csv and pl_train_val.csv by
        // Tests/TwinTests/CdSePublishedData.swift (`calibrationSource()`); regenerate with
        //   ALIQUOT_WRITE_CDSE_CALIBRATION=1 swift test --filter CdSeCalibrationTableTests
        // and do not edit by hand: a test fails when this table and the data disagree.
        //
        // One line per grid condition and scheduled aliquot that at least half of the condition's runs
        // fitted (the 4 conditions at 270 °C, 5 mM Cd, 5 mM Se run 2-3 times are averaged; the other 252
        // once): channel (a absorbance, p PL), T_reactor °C, Cd_mM, Se_mM, OA_Cd_ratio (rounded to the
        // grid), then the means of t_s, Peak_nm (the mean energy), FWHM_nm and height (geometric mean:
        // absorbance through the 2 mm cell, PL counts).

        extension CdSeGrowthModel {
            static let calibrationText = \"\"\"
        \(try calibrationTable())
        \"\"\"
        }

        """
    }
}
