import Foundation
import Testing
@testable import Spectra

/// Reading the CSV `aliquot analyze` takes, and writing the fits it gives.
struct SpectraTableTests {
    @Test func aGoodTableIsRead() throws {
        let text = "\u{FEFF}wavelength_nm, a ,\"b\"\r\n400.5,0.1,10\r\n401,0.2,20\r\n402.25,-0.05,30\r\n\r\n"
        let table = try SpectraTable.parse(text, file: "s.csv")
        #expect(table.wavelengthName == "wavelength_nm")
        #expect(table.names == ["a", "b"])
        #expect(table.nanometres == [400.5, 401, 402.25])
        #expect(table.columns == [[0.1, 0.2, -0.05], [10, 20, 30]])
    }

    @Test(arguments: [
        ("", "s.csv: the file is empty"),
        ("\n\n", "s.csv: the file is empty"),
        ("wavelength\n400\n", "s.csv:1: the header has 1 column"),
        ("nm,a\n", "s.csv:1: no data rows after the header"),
        ("nm,a,,c\n400,1,2,3\n", "s.csv:1: column 3 has no name"),
        ("nm,a,b,a\n400,1,2,3\n", "s.csv:1: column name 'a' appears twice (columns 2 and 4)"),
        ("nm,a,b\n400,1,2\n401,1\n", "s.csv:3: 2 values, expected 3"),
        ("nm,a,b\n400,1,2\n401,1,2,3\n", "s.csv:3: 4 values, expected 3"),
        ("nm,a,b\n400,1,2\n\n401,1,2\n", "s.csv:3: an empty line, expected 3"),
        ("nm,a,b\n400,1,2\n401,nan,2\n", "s.csv:3: column 'a': nan is not a finite number"),
        ("nm,a,b\n400,1,2\n401,1,inf\n", "s.csv:3: column 'b': inf is not a finite number"),
        ("nm,a,b\n400,1,2\n401,1,\n", "s.csv:3: column 'b' is empty"),
        ("nm,a,b\n400,1,2\n401,1,x2\n", "s.csv:3: column 'b': 'x2' is not a number"),
        ("nm,a\n400,1\n401,2\n401,3\n", "s.csv:4: wavelength 401 nm is not greater than 401.0 nm on line 3"),
        ("nm,a\n400,1\n399.5,2\n", "s.csv:3: wavelength 399.5 nm is not greater than 400.0 nm on line 2"),
        ("nm,a\n0,1\n", "s.csv:2: wavelength 0 nm must be positive"),
    ])
    func badTablesNameTheFileAndLine(text: String, message: String) {
        do {
            _ = try SpectraTable.parse(text, file: "s.csv")
            Issue.record("parsed a bad table: \(text.debugDescription)")
        } catch {
            #expect(error.description.hasPrefix(message), "\(error.description)")
        }
    }

    @Test func fitRowsFollowTheDataSetsNaming() {
        let peak = PeakParameters(
            peakNanometres: 521.3984, fwhmNanometres: 35.35449, peakElectronvolts: 2.377_916, fwhmElectronvolts: 0.158_94,
            height: 0.391_04, residual: 0.002_113_7, peakUncertaintyNanometres: 0.1, iterations: 9)
        #expect(FitsTable.header == "name,Peak_nm,FWHM_nm,Peak_eV,FWHM_eV,height,residual,status")
        #expect(FitsTable.row(name: "t010s", fit: .ok(.absorbance, peak)) == "t010s,521.398,35.354,2.3779,0.1589,0.3910,0.00211,ok")
        var counts = peak
        counts.height = 14_298.6654
        counts.residual = 41.236
        #expect(FitsTable.row(name: "pl", fit: .ok(.emission, counts)) == "pl,521.398,35.354,2.3779,0.1589,14298.7,41.24,ok")
        for status in PeakStatus.allCases where status != .ok {
            #expect(FitsTable.row(name: "x", fit: .rejected(.absorbance, status, .none)) == "x,,,,,,,\(status.rawValue)")
        }
        #expect(FitsTable.text(names: ["a"], fits: [.rejected(.emission, .saturated, .saturatedPixels)]) == FitsTable.header + "\na,,,,,,,saturated\n")
    }

    @Test(arguments: [(0.0, 3, "0.000"), (-0.0004, 3, "0.000"), (-1.23456, 2, "-1.23"), (2.5, 0, "3"), (0.99996, 4, "1.0000"), (123.4, 1, "123.4")])
    func fixedDecimals(value: Double, decimals: Int, text: String) {
        #expect(FitsTable.fixed(value, decimals) == text)
    }
}
