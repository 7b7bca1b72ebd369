import Foundation
import Testing

@testable import Config

/// `twinBoard` (27 lines) with spectrometer sections from line 29 on.
private func twin(_ sections: String) -> String { twinBoard + "\n\n" + sections }
/// `linuxBoard` (20 lines) with spectrometer sections from line 22 on.
private func linux(_ sections: String) -> String { linuxBoard + "\n\n" + sections }

/// A twin board's abs section (line 29 the header, then one key per line).
private let absSection = """
    [spectrometer.abs]
    model = "FLAME-S"
    serial = "FLMS04321"
    integration_ms = 8
    """

/// The published data set's wavelength axes.
private enum PublishedAxes {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data/cdse")

    static func axis(_ name: String) throws -> [Double] {
        let text = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
        return text.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == "\r" }).compactMap { Double($0) }
    }
}

/// Least squares of a cubic through (x, y) by the normal equations on x scaled to [-1, 1]
/// (well conditioned there), solved by Gaussian elimination with partial pivoting. Returns the
/// fitted values at `x`.
private func cubicFit(x: [Double], y: [Double]) -> [Double] {
    let middle = (x.first! + x.last!) / 2
    let half = (x.last! - x.first!) / 2
    let t = x.map { ($0 - middle) / half }
    var a = [[Double]](repeating: [Double](repeating: 0, count: 5), count: 4)
    for (ti, yi) in zip(t, y) {
        let basis = [1, ti, ti * ti, ti * ti * ti]
        for row in 0..<4 {
            for column in 0..<4 { a[row][column] += basis[row] * basis[column] }
            a[row][4] += basis[row] * yi
        }
    }
    for pivot in 0..<4 {
        let best = (pivot..<4).max { abs(a[$0][pivot]) < abs(a[$1][pivot]) }!
        a.swapAt(pivot, best)
        for row in 0..<4 where row != pivot {
            let factor = a[row][pivot] / a[pivot][pivot]
            for column in pivot..<5 { a[row][column] -= factor * a[pivot][column] }
        }
    }
    let c = (0..<4).map { a[$0][4] / a[$0][$0] }
    return t.map { c[0] + $0 * (c[1] + $0 * (c[2] + $0 * c[3])) }
}

@Suite struct SpectrometerSectionTests {
    @Test func twinSectionWithDefaults() throws {
        let board = try BoardFile.parse(text: twin(absSection), path: "bench.toml")
        #expect(board.spectrometers == [
            SpectrometerConfig(
                role: .absorbance, model: .flameS, serialNumber: "FLMS04321", integrationMs: 8,
                twin: SpectrometerTwinConfig.defaults(for: .absorbance)),
        ])
        #expect(board.spectrometer(.absorbance)?.id == "spectrometer.abs")
        #expect(board.spectrometer(.emission) == nil)
        // The documented defaults.
        let defaults = SpectrometerTwinConfig.defaults(for: .emission)
        #expect(defaults.highSpeed && defaults.lightCountsPerMs == 2 && defaults.darkOffsetCounts == 1500)
        #expect(defaults.readNoiseCounts == 50 && defaults.saturationCounts == 65_535 && defaults.cellPathMm == 2)
        #expect(defaults.samplePeakNm == 545 && defaults.sampleFwhmNm == 32 && defaults.sampleHeight == 200_000)
    }

    @Test func everyTwinKeyGiven() throws {
        let text = twin("""
            [spectrometer.pl]
            model = "USB4000"
            integration_ms = 0.05
            usb_speed = "full"
            wavelength_c0 = 200
            wavelength_c1 = 0.2
            wavelength_c2 = -1e-6
            wavelength_c3 = 0
            light_counts_per_ms = 7.5
            dark_offset_counts = 900
            dark_current_counts_per_s = 10
            read_noise_counts = 8
            saturation_counts = 60000
            cell_path_mm = 10
            sample_peak_nm = 600
            sample_fwhm_nm = 40
            sample_height = 5000
            sample_trap = 0.5
            """)
        let board = try BoardFile.parse(text: text, path: "full.toml")
        #expect(board.spectrometers == [
            SpectrometerConfig(
                role: .emission, model: .usb4000, serialNumber: nil, integrationMs: 0.05,
                twin: SpectrometerTwinConfig(
                    highSpeed: false, wavelengthCoefficients: [200, 0.2, -1e-6, 0], lightCountsPerMs: 7.5,
                    darkOffsetCounts: 900, darkCurrentCountsPerS: 10, readNoiseCounts: 8, saturationCounts: 60_000,
                    cellPathMm: 10, samplePeakNm: 600, sampleFwhmNm: 40, sampleHeight: 5000, sampleScattering: 0.01,
                    sampleTrap: 0.5)),
        ])
    }

    @Test func linuxSectionHasNoTwin() throws {
        let board = try BoardFile.parse(text: linux("""
            [spectrometer.abs]
            model = "USB2000+"
            integration_ms = 1
            """), path: "hat.toml")
        #expect(board.spectrometers == [
            SpectrometerConfig(role: .absorbance, model: .usb2000Plus, serialNumber: nil, integrationMs: 1, twin: nil)
        ])
    }

    @Test func differentProductIDsNeedNoSerials() throws {
        let board = try BoardFile.parse(text: linux("""
            [spectrometer.abs]
            model = "USB4000"
            integration_ms = 3

            [spectrometer.pl]
            model = "FLAME-S"
            integration_ms = 100
            """), path: "hat.toml")
        #expect(board.spectrometers.map(\.role) == [.absorbance, .emission])
        #expect(SpectrometerModel.usb4000.productID == 0x1022 && SpectrometerModel.flameS.productID == 0x101E)
    }

    @Test func theShippedBoards() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let sim = try BoardFile.load(path: root.appendingPathComponent("Boards/sim.toml").path)
        #expect(sim.spectrometers.map(\.role) == [.absorbance, .emission])
        #expect(sim.spectrometers.map(\.serialNumber) == ["FLMS04321", "FLMS04322"])
        #expect(sim.spectrometers.map(\.model) == [.flameS, .flameS])
        #expect(sim.spectrometers.map(\.integrationMs) == [8, 100])
        // The sim board writes out the rig's axes, the same numbers as the defaults.
        #expect(sim.spectrometer(.absorbance)?.twin?.wavelengthCoefficients == SpectrometerTwinConfig.rigWavelengthCoefficients(.absorbance))
        #expect(sim.spectrometer(.emission)?.twin?.wavelengthCoefficients == SpectrometerTwinConfig.rigWavelengthCoefficients(.emission))
        let hat = try BoardFile.load(path: root.appendingPathComponent("Boards/rpi5-reactor-hat.toml").path)
        // The hardware board: the same units and times, no twin.
        #expect(hat.spectrometers.map { SpectrometerConfig(role: $0.role, model: $0.model, serialNumber: $0.serialNumber, integrationMs: $0.integrationMs, twin: nil) }
            == sim.spectrometers.map { SpectrometerConfig(role: $0.role, model: $0.model, serialNumber: $0.serialNumber, integrationMs: $0.integrationMs, twin: nil) })
        #expect(hat.spectrometers.allSatisfy { $0.twin == nil })
    }

    @Test("the rig's wavelength defaults are least-squares cubics through the published axes at pixels 20...2047",
          arguments: [(SpectrometerRole.absorbance, "uv_wavelengths.csv"), (.emission, "pl_wavelengths.csv")])
    func rigAxesAreLeastSquaresCubics(role: SpectrometerRole, file: String) throws {
        let published = try PublishedAxes.axis(file)
        #expect(published.count == 2028)
        let pixels = (20..<2048).map(Double.init)
        let c = SpectrometerTwinConfig.rigWavelengthCoefficients(role)
        let cubic = pixels.map { c[0] + $0 * (c[1] + $0 * (c[2] + $0 * c[3])) }
        let fitted = cubicFit(x: pixels, y: published)
        // The defaults are the least-squares cubic (to their 8 significant digits)...
        #expect(zip(cubic, fitted).map { abs($0 - $1) }.max()! < 2e-5)
        // ... and it reproduces the published axis to its 0.001 nm rounding.
        let residuals = zip(cubic, published).map { $0 - $1 }
        let rms = (residuals.map { $0 * $0 }.reduce(0, +) / Double(residuals.count)).squareRoot()
        #expect(residuals.map(abs).max()! < 0.0006)
        #expect(rms < 0.0004)
    }

    @Test(
        "bad spectrometer sections: one message naming file, line, key and what is allowed",
        arguments: [
            (twin("[spectrometer.uv]\nmodel = \"FLAME-S\"\nintegration_ms = 8"),
             "b.toml:29: [spectrometer.uv] is not a spectrometer of the rig: allowed [spectrometer.abs] (absorbance) and [spectrometer.pl] (photoluminescence)"),
            (twin(absSection.replacingOccurrences(of: "\"FLAME-S\"", with: "\"USB2000\"")),
             "b.toml:30: spectrometer.abs.model = \"USB2000\" is not one of the allowed values: \"USB2000+\", \"FLAME-S\", \"USB4000\""),
            (twin("[spectrometer.abs]\nintegration_ms = 8"),
             "b.toml:29: missing required key spectrometer.abs.model: a string, allowed \"USB2000+\", \"FLAME-S\", \"USB4000\""),
            (twin(absSection.replacingOccurrences(of: "integration_ms = 8", with: "integration_ms = 0.5")),
             "b.toml:32: spectrometer.abs.integration_ms = 0.5 is out of range for a FLAME-S: allowed 1 to 65000 (ms)"),
            (twin(absSection.replacingOccurrences(of: "integration_ms = 8", with: "integration_ms = 70000")),
             "b.toml:32: spectrometer.abs.integration_ms = 70000 is out of range: allowed 0.01 to 65000 (ms)"),
            (twin(absSection.replacingOccurrences(of: "integration_ms = 8", with: "")),
             "b.toml:29: missing required key spectrometer.abs.integration_ms: a number, allowed 0.01 to 65000 (ms)"),
            (twin(absSection.replacingOccurrences(of: "\"FLMS04321\"", with: "\"FLMS 04321\"")),
             "b.toml:31: spectrometer.abs.serial = \"FLMS 04321\" is not a serial number: 1 to 14 printable ASCII characters without spaces (information slot 0 holds 14 and a NUL)"),
            (twin(absSection.replacingOccurrences(of: "\"FLMS04321\"", with: "\"FLMS0432100000\"")) + "\nsample_trap = 1",
             "b.toml:33: spectrometer.abs.sample_trap applies to [spectrometer.pl] only"),
            (twin(absSection + "\nsample_height = 5"),
             "b.toml:33: spectrometer.abs.sample_height = 5 is out of range for an absorbance: allowed 0 to 4 (absorbance of the exciton through the 2 mm cell)"),
            (twin(absSection + "\nusb_speed = \"super\""),
             "b.toml:33: spectrometer.abs.usb_speed = \"super\" is not one of the allowed values: \"high\", \"full\""),
            (twin(absSection + "\nsaturation_counts = 70000"),
             "b.toml:33: spectrometer.abs.saturation_counts = 70000 is out of range: allowed 1000 to 65535 (counts)"),
            (twin(absSection + "\nwavelength_c0 = 180\nwavelength_c1 = 0.37\nwavelength_c2 = 0"),
             "b.toml:29: missing required key spectrometer.abs.wavelength_c3: give all of wavelength_c0 ... wavelength_c3, or none for the rig's axis"),
            (twin(absSection + "\nwavelength_c0 = 180\nwavelength_c1 = 0.37\nwavelength_c2 = -1e-4\nwavelength_c3 = 0"),
             "b.toml:34: spectrometer.abs.wavelength_c0 ... c3 do not give wavelengths rising with the pixel: the cubic turns at pixel 1850 of the FLAME-S's 2048"),
            (twin(absSection + "\ncolour = \"red\""),
             "b.toml:33: unknown key spectrometer.abs.colour; allowed: model, serial, integration_ms, usb_speed, wavelength_c0, wavelength_c1, wavelength_c2, wavelength_c3, light_counts_per_ms, dark_offset_counts, dark_current_counts_per_s, read_noise_counts, saturation_counts, cell_path_mm, sample_peak_nm, sample_fwhm_nm, sample_height, sample_scattering, sample_trap"),
            (linux("[spectrometer.abs]\nmodel = \"FLAME-S\"\nintegration_ms = 8\nlight_counts_per_ms = 100"),
             "b.toml:25: spectrometer.abs.light_counts_per_ms is not allowed when board.transport = \"linux\": the simulated spectrometer belongs in a twin board file"),
            (linux("[spectrometer.abs]\nmodel = \"FLAME-S\"\nintegration_ms = 8\n\n[spectrometer.pl]\nmodel = \"USB2000+\"\nintegration_ms = 100"),
             "b.toml:26: missing required key spectrometer.pl.serial: spectrometer.abs and spectrometer.pl are both 2457:101e (USB2000+ and FLAME-S share it), so each needs its serial number to be told apart"),
            (linux("[spectrometer.abs]\nmodel = \"FLAME-S\"\nintegration_ms = 8\n\n[spectrometer.pl]\nmodel = \"FLAME-S\"\nserial = \"B\"\nintegration_ms = 100"),
             "b.toml:22: missing required key spectrometer.abs.serial: spectrometer.abs and spectrometer.pl are both 2457:101e (USB2000+ and FLAME-S share it), so each needs its serial number to be told apart"),
            (linux("[spectrometer.abs]\nmodel = \"FLAME-S\"\nserial = \"A\"\nintegration_ms = 8\n\n[spectrometer.pl]\nmodel = \"FLAME-S\"\nserial = \"A\"\nintegration_ms = 100"),
             "b.toml:29: spectrometer.pl.serial = \"A\" is already used by spectrometer.abs (line 24)"),
            ("spectrometer = 3\n" + linuxBoard, "b.toml:1: spectrometer must be named sections [spectrometer.<name>], found an integer"),
        ])
    func badSection(text: String, message: String) {
        #expect(throws: BoardFileError.self) { try BoardFile.parse(text: text, path: "b.toml") }
        do {
            _ = try BoardFile.parse(text: text, path: "b.toml")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func integrationLimitsPerModel() {
        #expect(SpectrometerModel.usb2000Plus.integrationRangeMs == 1...65_000)
        #expect(SpectrometerModel.flameS.integrationRangeMs == 1...65_000)
        #expect(SpectrometerModel.usb4000.integrationRangeMs == 0.01...65_000)
    }
}
