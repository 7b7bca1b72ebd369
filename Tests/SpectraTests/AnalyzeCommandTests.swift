import Foundation
import Testing
@testable import Spectra

/// `aliquot analyze`, run as a user runs it: the binary built beside this test bundle.
struct AnalyzeCommandTests {
    struct Outcome {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    static let executable: URL = {
        var folder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        if folder.lastPathComponent.hasSuffix(".xctest") { folder = folder.deletingLastPathComponent() }
        return folder.appendingPathComponent("aliquot")
    }()

    static let folder: URL = {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aliquot-analyze-\(getpid())")
        try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }()

    static func run(_ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        let error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let outData = output.fileHandleForReading.readDataToEndOfFile()
        let errData = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(
            status: process.terminationStatus, standardOutput: String(decoding: outData, as: UTF8.self),
            standardError: String(decoding: errData, as: UTF8.self))
    }

    static func write(_ text: String, _ name: String) throws -> String {
        let path = folder.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// Two synthetic absorbance spectra on the rig's axis (one exciton at 515 nm, one flat) and the
    /// same as PL counts (band edge at 560 nm, then nothing but noise).
    static func spectraCSV() throws -> (absorbance: String, emission: String) {
        let uv = try RigData.uvAxis()
        var generator = SeededGenerator(seed: 21)
        let exciton = SyntheticAbsorbance(
            peakNanometres: 515, fwhmNanometres: 30, height: 0.25, transitions: [], onsetOffset: 0.5, onsetSlope: 1, scattering: 0.01, offset: 0)
        let e = exciton.acquire(axis: uv, using: &generator)
        let a1 = AbsorbanceSpectrum(sample: e.sample, reference: e.reference, dark: e.dark)
        var absorbance = "wavelength_nm,t010s,blank\n"
        for pixel in 0..<uv.count {
            let flat = 0.02 + 0.002 * generator.gaussian()
            absorbance += "\(uv.nanometres[pixel]),\(a1.values[pixel]),\(flat)\n"
        }
        let pl = try RigData.plAxis()
        let band = SyntheticEmission(
            peakNanometres: 560, fwhmNanometres: 32, height: 8000, trapOffset: 0.4, trapFWHM: 0.5, trapHeight: 2000, ledHeight: 500, offset: 0)
        let counts = band.acquire(axis: pl, using: &generator)
        var emission = "nm,pl1,dark\n"
        for pixel in 0..<pl.count {
            emission += "\(pl.nanometres[pixel]),\(counts.counts[pixel]),\(50 * generator.gaussian())\n"
        }
        return (absorbance, emission)
    }

    @Test func absorbanceFitsGoToStandardOutput() throws {
        let path = try Self.write(Self.spectraCSV().absorbance, "abs.csv")
        let outcome = try Self.run(["analyze", "--kind", "abs", path])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        let lines = outcome.standardOutput.split(separator: "\n").map(String.init)
        try #require(lines.count == 3)
        #expect(lines.first == "name,Peak_nm,FWHM_nm,Peak_eV,FWHM_eV,height,residual,status")
        let fields = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        try #require(fields.count == 8)
        #expect(fields[0] == "t010s" && fields[7] == "ok")
        let peak = try #require(Double(fields[1]))
        let width = try #require(Double(fields[2]))
        #expect(abs(peak - 515) < 0.5 && abs(width - 30) < 1.5)
        #expect(lines[2] == "blank,,,,,,,no_feature")
    }

    @Test func emissionFitsGoToTheOutputFile() throws {
        let path = try Self.write(Self.spectraCSV().emission, "pl.csv")
        let out = Self.folder.appendingPathComponent("pl-fits.csv").path
        let outcome = try Self.run(["analyze", "--kind", "pl", path, "--out", out])
        #expect(outcome.status == 0, "\(outcome.standardError)")
        #expect(outcome.standardOutput.isEmpty)
        let lines = try String(contentsOfFile: out, encoding: .utf8).split(separator: "\n").map(String.init)
        try #require(lines.count == 3)
        let fields = lines[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        try #require(fields.count == 8)
        #expect(fields[0] == "pl1" && fields[7] == "ok")
        #expect(abs(try #require(Double(fields[1])) - 560) < 0.5)
        #expect(lines[2].hasPrefix("dark,,,,,,,") && !lines[2].hasSuffix(",ok"))
        // No temporary file left beside it.
        let left = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0.contains(".tmp-") }
        #expect(left.isEmpty)
    }

    @Test(arguments: [
        ("nm,a,b\n400,0.1,0.2\n401,0.1\n", "wrong-columns.csv:3:"),
        ("nm,a\n400,0.1\n401,NaN\n", "nan.csv:3:"),
        ("", "empty.csv: the file is empty"),
        ("nm,a\n400,0.1\n399,0.2\n", "decreasing.csv:3:"),
        ("nm,a\n400,0.1\n401,0.2\n", "short.csv: the wavelength axis has 2 pixels"),
    ])
    func badInputExitsNonZeroNamingTheFileAndLineAndWritesNothing(text: String, location: String) throws {
        let name = String(location.split(separator: ":")[0])
        let path = try Self.write(text, name)
        let out = Self.folder.appendingPathComponent("fits-\(name)").path
        let outcome = try Self.run(["analyze", "--kind", "abs", path, "--out", out])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains(path + location.dropFirst(name.count)), "\(outcome.standardError)")
        #expect(outcome.standardOutput.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test func aMissingFileAndABadKindAreRefused() throws {
        let missing = try Self.run(["analyze", "--kind", "abs", "/nonexistent/spectra.csv"])
        #expect(missing.status != 0)
        #expect(missing.standardError.contains("/nonexistent/spectra.csv: cannot open the spectra file: No such file or directory"))
        let kind = try Self.run(["analyze", "--kind", "uv", "/nonexistent/spectra.csv"])
        #expect(kind.status != 0)
        #expect(kind.standardError.contains("uv"))
    }
}
