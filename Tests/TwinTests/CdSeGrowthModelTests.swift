import Foundation
import Testing
@testable import Twin

/// The committed calibration table is the published data's (and is regenerated from it on demand).
@Suite struct CdSeCalibrationTableTests {
    @Test func committedTableIsTheDataTable() throws {
        if ProcessInfo.processInfo.environment["ALIQUOT_WRITE_CDSE_CALIBRATION"] == "1" {
            try CdSePublishedData.calibrationSource().write(to: CdSePublishedData.calibrationFile, atomically: true, encoding: .utf8)
        }
        let expected = try CdSePublishedData.calibrationTable()
        #expect(CdSeGrowthModel.calibrationText == expected, "regenerate Sources/Twin/CdSeGrowthCalibration.swift")
        // 256 conditions in each channel.
        let conditions = Set(expected.split(separator: "\n").map { $0.split(separator: " ").prefix(5).joined(separator: " ") })
        #expect(conditions.count == 512)
    }

    @Test(arguments: [
        ("a 210 5 5 3 10 410 29", 1, "expected 9 fields, found 8"),
        ("x 210 5 5 3 10 410 29 0.1", 1, "channel must be a or p"),
        ("a 215 5 5 3 10 410 29 0.1", 1, "the condition is not on the grid"),
        ("a 210 5 5 3 10 410 29 zero", 1, "zero is not a number"),
        ("a 210 5 5 3 10 410 29 0", 1, "time, peak, FWHM and height must be positive"),
        ("# header\na 210 5 5 3 20 410 29 0.1\na 210 5 5 3 10 412 29 0.1", 3, "times must ascend per condition"),
    ])
    func malformedTablesNameTheLine(text: String, line: Int, reason: String) {
        guard case .failure(let error) = CdSeGrowthModel.parse(text) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(error.line == line)
        #expect(error.reason == reason)
        #expect(error.description.contains("line \(line)"))
    }
}

/// The growth model against the published grid, and in between.
@Suite struct CdSeGrowthModelTests {
    let model = CdSeGrowthModel.calibrated

    func condition(_ row: CdSePublishedData.Row) -> CdSeCondition {
        CdSeCondition(cadmiumMillimolar: row.cadmium, seleniumMillimolar: row.selenium, oleicAcidPerCadmium: row.ratio, reactorCelsius: row.celsius)
    }

    func condition(_ celsius: Double, _ cadmium: Double, _ selenium: Double, _ ratio: Double) -> CdSeCondition {
        CdSeCondition(cadmiumMillimolar: cadmium, seleniumMillimolar: selenium, oleicAcidPerCadmium: ratio, reactorCelsius: celsius)
    }

    /// Errors over every published row: mean absolute peak error (meV), FWHM error (nm), and the
    /// rows the model calls no signal.
    func errors(_ rows: [CdSePublishedData.Row]) -> (peakMeV: Double, fwhmNm: Double, heightLog: Double, missing: Int) {
        var peak = 0.0
        var fwhm = 0.0
        var height = 0.0
        var counted = 0
        var missing = 0
        for row in rows {
            let outcome = model.outcome(condition(row), secondsSinceInjection: row.seconds)
            let band: (peak: Double, fwhm: Double, height: Double)?
            if row.absorbance {
                band = outcome.exciton.map { ($0.peakNanometres, $0.fwhmNanometres, $0.height) }
            } else {
                band = outcome.emission.map {
                    ($0.peakNanometres, $0.fwhmNanometres, $0.countsPerSecond * CdSeGrowthModel.emissionReferenceIntegrationSeconds)
                }
            }
            guard let band else {
                missing += 1
                continue
            }
            peak += Swift.abs(1239.84193 / band.peak - row.peakElectronvolts) * 1000
            fwhm += Swift.abs(band.fwhm - row.fwhmNanometres)
            height += Swift.abs(log(band.height / row.height))
            counted += 1
        }
        let n = Double(max(counted, 1))
        return (peak / n, fwhm / n, height / n, missing)
    }

    @Test func absorbancePeakIsWithinFiveMillielectronvoltsOfTheDataOnAverage() throws {
        let rows = try CdSePublishedData.absorbanceRows()
        #expect(rows.count == 4946)
        let result = errors(rows)
        print(String(format: "CdSe twin vs uv_train_val.csv (%d rows): peak MAE %.3f meV, FWHM MAE %.3f nm, |ln height| %.4f, no signal at %d rows",
            rows.count, result.peakMeV, result.fwhmNm, result.heightLog, result.missing))
        #expect(result.peakMeV <= 5)
        #expect(result.fwhmNm <= 1)
        // Only the replicated conditions' minority aliquots may be left without a signal.
        #expect(result.missing <= 10)
    }

    @Test func emissionPeakIsWithinFiveMillielectronvoltsOfTheDataOnAverage() throws {
        let rows = try CdSePublishedData.emissionRows()
        #expect(rows.count == 5088)
        let result = errors(rows)
        print(String(format: "CdSe twin vs pl_train_val.csv (%d rows): peak MAE %.3f meV, FWHM MAE %.3f nm, |ln height| %.4f, no signal at %d rows",
            rows.count, result.peakMeV, result.fwhmNm, result.heightLog, result.missing))
        #expect(result.peakMeV <= 5)
        #expect(result.fwhmNm <= 1)
        #expect(result.missing <= 10)
    }

    /// Every grid condition and scheduled aliquot: a signal exactly where the data (most of the
    /// condition's runs) has a fitted peak.
    @Test(arguments: [true, false]) func noSignalWhereTheDataHasNone(absorbance: Bool) throws {
        let rows = absorbance ? try CdSePublishedData.absorbanceRows() : try CdSePublishedData.emissionRows()
        let byCondition = Dictionary(grouping: rows) { $0.conditionKey }
        var checked = 0
        var absent = 0
        var mismatches = [String]()
        for (_, conditionRows) in byCondition {
            let runs = Set(conditionRows.map(\.experiment)).count
            let first = conditionRows[0]
            var fittedPerSlot = [Int](repeating: 0, count: 20)
            for row in conditionRows { fittedPerSlot[CdSePublishedData.slot(row.seconds)] += 1 }
            for (slot, seconds) in CdSePublishedData.schedule.enumerated() {
                let fitted = fittedPerSlot[slot]
                let outcome = model.outcome(condition(first), secondsSinceInjection: seconds)
                let signal = absorbance ? outcome.exciton != nil : outcome.emission != nil
                if signal != (fitted * 2 >= runs) { mismatches.append("\(first.conditionKey) at \(seconds) s: \(fitted) of \(runs) runs fitted") }
                checked += 1
                if fitted == 0 { absent += 1 }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
        #expect(checked == 256 * 20)
        #expect(absent > 100)
    }

    @Test func noChemistryGivesNoSignal() throws {
        let grid = condition(240, 10, 10, 10)
        #expect(model.outcome(grid, secondsSinceInjection: 60) != .noSignal)
        #expect(model.outcome(condition(240, 10, 0, 10), secondsSinceInjection: 60) == .noSignal)
        #expect(model.outcome(condition(240, 0, 10, 10), secondsSinceInjection: 60) == .noSignal)
        #expect(model.outcome(condition(150, 10, 10, 10), secondsSinceInjection: 60) == .noSignal)
        #expect(model.outcome(grid, secondsSinceInjection: 1) == .noSignal)
        // Between the chemistry's limits and the grid's lowest values the nearest grid face holds
        // and the heights fall linearly: half way at 200 °C (190-210) and at 2.75 mM Se (0.5-5).
        let lowest = try #require(model.outcome(condition(210, 10, 10, 10), secondsSinceInjection: 60).exciton)
        let cool = try #require(model.outcome(condition(200, 10, 10, 10), secondsSinceInjection: 60).exciton)
        #expect(Swift.abs(cool.height / lowest.height - 0.5) < 1e-12)
        #expect(cool.peakNanometres == lowest.peakNanometres)
        let leanest = try #require(model.outcome(condition(240, 10, 5, 10), secondsSinceInjection: 60).exciton)
        let lean = try #require(model.outcome(condition(240, 10, 2.75, 10), secondsSinceInjection: 60).exciton)
        #expect(Swift.abs(lean.height / leanest.height - 0.5) < 1e-12)
        #expect(lean.peakNanometres == leanest.peakNanometres)
    }

    /// At a grid point the model gives the table's own numbers (a grid point with one run).
    @Test func gridPointsGiveTheMeasuredValues() throws {
        let rows = try CdSePublishedData.absorbanceRows().filter { $0.conditionKey == "240 10 20 10" }
        #expect(rows.count == 20)
        for row in rows {
            let exciton = try #require(model.outcome(condition(row), secondsSinceInjection: row.seconds).exciton)
            #expect(Swift.abs(exciton.peakNanometres - row.peakNanometres) < 0.002)
            #expect(Swift.abs(exciton.fwhmNanometres - row.fwhmNanometres) < 0.002)
            #expect(Swift.abs(exciton.height - row.height) < 0.0006)
        }
    }

    /// Off the grid (T 225 °C, [Cd] 7 mM), at every scheduled time, every quantity lies between
    /// the four grid neighbours' (T 210/240 × [Cd] 5/10), and between the two T neighbours on a
    /// [Cd] grid line.
    @Test(arguments: [(10.0, 20.0), (20.0, 10.0), (40.0, 3.0), (5.0, 40.0)])
    func offGridOutcomesLieBetweenTheirNeighbours(selenium: Double, ratio: Double) throws {
        let between = condition(225, 7, selenium, ratio)
        let corners = [condition(210, 5, selenium, ratio), condition(210, 10, selenium, ratio),
                       condition(240, 5, selenium, ratio), condition(240, 10, selenium, ratio)]
        var compared = 0
        for seconds in CdSeGrowthModel.scheduleSeconds {
            let neighbours = corners.compactMap { model.outcome($0, secondsSinceInjection: seconds).exciton }
            guard neighbours.count == 4, let middle = model.outcome(between, secondsSinceInjection: seconds).exciton else { continue }
            let peaks = neighbours.map { 1239.84193 / $0.peakNanometres }
            let energy = 1239.84193 / middle.peakNanometres
            #expect(energy >= peaks.min()! - 1e-9 && energy <= peaks.max()! + 1e-9)
            let widths = neighbours.map(\.fwhmNanometres)
            #expect(middle.fwhmNanometres >= widths.min()! - 1e-9 && middle.fwhmNanometres <= widths.max()! + 1e-9)
            let heights = neighbours.map(\.height)
            #expect(middle.height >= heights.min()! * (1 - 1e-9) && middle.height <= heights.max()! * (1 + 1e-9))
            compared += 1

            let line = model.outcome(condition(225, 10, selenium, ratio), secondsSinceInjection: seconds).exciton
            let low = model.outcome(condition(210, 10, selenium, ratio), secondsSinceInjection: seconds).exciton
            let high = model.outcome(condition(240, 10, selenium, ratio), secondsSinceInjection: seconds).exciton
            if let line, let low, let high {
                // Half way in T: the mean energy of the two.
                let mean = (1239.84193 / low.peakNanometres + 1239.84193 / high.peakNanometres) / 2
                #expect(Swift.abs(1239.84193 / line.peakNanometres - mean) < 1e-9)
            }
        }
        #expect(compared >= 15)
    }

    /// Sweeping the temperature from 210 to 300 °C in 0.1 °C steps, the peak moves continuously:
    /// no step larger than the grid's own change over one step.
    @Test func theOutcomeMovesContinuouslyWithTemperature() throws {
        for seconds in [30.0, 120, 450] {
            var previous: Double?
            var largest = 0.0
            for step in 0...900 {
                let celsius = 210 + Double(step) * 0.1
                guard let exciton = model.outcome(condition(celsius, 10, 10, 20), secondsSinceInjection: seconds).exciton else {
                    previous = nil
                    continue
                }
                let energy = 1239.84193 / exciton.peakNanometres
                if let previous { largest = max(largest, Swift.abs(energy - previous)) }
                previous = energy
            }
            let grid = try CdSeGrowthModel.gridCelsius.map {
                1239.84193 / (try #require(model.outcome(condition($0, 10, 10, 20), secondsSinceInjection: seconds).exciton).peakNanometres)
            }
            let steepest = zip(grid, grid.dropFirst()).map { Swift.abs($0 - $1) / 300 }.max()!
            #expect(largest <= steepest * 1.000001)
        }
    }

    /// Between two measured aliquots the trajectory stays between their values (monotone Hermite).
    @Test func betweenAliquotsTheTrajectoryStaysBetweenTheMeasuredValues() throws {
        let rows = try CdSePublishedData.emissionRows().filter { $0.conditionKey == "270 20 20 20" }.sorted { $0.seconds < $1.seconds }
        #expect(rows.count == 20)
        for (a, b) in zip(rows, rows.dropFirst()) {
            for k in 1..<10 {
                let seconds = a.seconds * pow(b.seconds / a.seconds, Double(k) / 10)
                let band = try #require(model.outcome(condition(a), secondsSinceInjection: seconds).emission)
                let energy = 1239.84193 / band.peakNanometres
                let ends = [a.peakElectronvolts, b.peakElectronvolts]
                #expect(energy >= ends.min()! - 2e-5 && energy <= ends.max()! + 2e-5)
            }
        }
    }

    @Test func monotoneSlopesKeepAMonotoneSeriesMonotone() {
        let x = [0.0, 1, 2, 3, 4]
        let y = [0.0, 0.1, 5, 5.1, 10]
        let slopes = CdSeGrowthModel.monotoneSlopes(x, y)
        var previous = -Double.infinity
        for step in 0...400 {
            let value = CdSeGrowthModel.hermite(x, y, slopes, at: Double(step) * 0.01)
            #expect(value >= previous - 1e-12)
            previous = value
        }
        // The nodes themselves, and flat outside.
        for (xi, yi) in zip(x, y) { #expect(Swift.abs(CdSeGrowthModel.hermite(x, y, slopes, at: xi) - yi) < 1e-12) }
        #expect(CdSeGrowthModel.hermite(x, y, slopes, at: -1) == 0)
        #expect(CdSeGrowthModel.hermite(x, y, slopes, at: 9) == 10)
        // A local extremum gets a zero slope.
        #expect(CdSeGrowthModel.monotoneSlopes([0, 1, 2], [0, 1, 0])[1] == 0)
    }

    @Test func dilutionScalesHeightsAndCounts() throws {
        let outcome = model.outcome(condition(270, 20, 20, 20), secondsSinceInjection: 100)
        let full = outcome.sample(relativeConcentration: 1)
        let half = outcome.sample(relativeConcentration: 0.5)
        #expect(try #require(half.exciton).height == (try #require(full.exciton).height) / 2)
        #expect(try #require(half.emission).countsPerSecond == (try #require(full.emission).countsPerSecond) / 2)
        #expect(half.exciton?.peakNanometres == full.exciton?.peakNanometres)
        #expect(Swift.abs(full.scatteringAbsorbance - 0.03 * (try #require(full.exciton).height)) < 1e-15)
    }
}
