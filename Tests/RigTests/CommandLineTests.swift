import Foundation
import Testing

/// The `aliquot` executable itself, run as a user runs it.
struct CommandLineTests {
    struct Outcome {
        var status: Int32
        var standardOutput: String
        var standardError: String
    }

    /// The `aliquot` binary built next to this test bundle.
    static let executable: URL = {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var folder = testBinary.deletingLastPathComponent()
        // Linux test bundles are `<bin>/AliquotPackageTests.xctest`: a file directly in the bin folder.
        if folder.lastPathComponent.hasSuffix(".xctest") { folder = folder.deletingLastPathComponent() }
        return folder.appendingPathComponent("aliquot")
    }()

    static func run(_ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: packageRoot)
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

    /// A board file in a temporary folder.
    static func writeBoard(_ text: String, name: String) throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aliquot-cli-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func monitorOnTheTwinPrintsEverySampleAndEndsSafe() throws {
        let outcome = try Self.run(["monitor", "--board", "Boards/sim.toml", "--seconds", "2", "--interval", "0.5"])
        #expect(outcome.status == 0)
        let lines = outcome.standardOutput.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("sim: digital twin (virtual time)") == true)
        #expect(lines.count == 1 + 1 + 5 + 1)  // banner, header, samples at 0, 0.5, ... 2.0, safe state
        #expect(lines[1].contains("reactor °C") && lines[1].contains("valve.pressurize"))
        #expect(lines.last == "safe state: heaters off, valves closed")
    }

    @Test(arguments: [
        ("[board]\nname = \"x\"\ntransport = \"twin\"\ncolour = \"red\"\n", "bad-key.toml:4"),
        ("[board]\nname = \"x\"\ntransport = \"serial\"\n", "bad-value.toml:3"),
        ("[board\n", "bad-syntax.toml:1"),
    ])
    func aBadBoardFileStopsEveryCommandBeforeAnyOutput(text: String, location: String) throws {
        let name = String(location.split(separator: ":")[0])
        let path = try Self.writeBoard(text, name: name)
        for arguments in [["monitor", "--board", path], ["set-output", "valve.sample", "off", "--board", path]] {
            let outcome = try Self.run(arguments)
            #expect(outcome.status != 0)
            #expect(outcome.standardOutput.isEmpty)
            #expect(outcome.standardError.contains(location))
        }
    }

    @Test func aMissingBoardFileIsNamed() throws {
        let outcome = try Self.run(["monitor", "--board", "Boards/nowhere.toml"])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("Boards/nowhere.toml"))
    }

    @Test func aValvePulseByHandOnTheTwin() throws {
        let outcome = try Self.run(["set-output", "valve.sample", "on", "--for", "200ms", "--board", "Boards/sim.toml"])
        #expect(outcome.status == 0)
        #expect(outcome.standardOutput == "valve.sample: pulsed on for 200.0 ms, now off\n")
    }

    @Test(arguments: [
        (["set-output", "heater.reactor", "on", "--for", "100ms"], "heaters are switched on by the control loop only"),
        (["set-output", "valve.sample", "on"], "'on' needs --for"),
        (["set-output", "valve.sample", "on", "--for", "5s"], "allowed more than 0 up to 1000 ms"),
        (["set-output", "valve.sample", "open"], "state must be 'on' or 'off'"),
        (["monitor", "--duty", "heater.reactor=2"], "out of range, allowed 0 to 1.0"),
    ])
    func refusalsExitNonZeroWithTheReason(arguments: [String], reason: String) throws {
        let outcome = try Self.run(arguments + ["--board", "Boards/sim.toml"])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains(reason))
    }
}
