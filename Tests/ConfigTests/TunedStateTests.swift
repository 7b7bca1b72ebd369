import Foundation
import Testing
@testable import Config

struct TunedStateTests {
    static let reactor = TunedState.Loop(
        name: "reactor", kp: 0.0412, ki: 0.00031, kd: 0.52, derivativeFilterSeconds: 1.3, rule: "tyreusLuyben",
        ultimateGain: 0.0906, ultimatePeriodSeconds: 63.2, setpointCelsius: 240, tunedAtUnixSeconds: 1_795_280_000)

    static func temporaryPath(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("aliquot-tuned-\(getpid())/\(name)").path
    }

    @Test func saveThenLoadGivesBackTheSameDoublesAndKeepsOtherLoops() throws {
        var state = TunedState(board: "sim", loops: [Self.reactor])
        var syringe = Self.reactor
        syringe.name = "syringe"
        syringe.kp = 1.0 / 3.0  // not representable in few digits: must still round-trip exactly
        syringe.ki = 1e-7
        state.record(syringe)
        var retuned = Self.reactor
        retuned.kp = 0.05
        state.record(retuned)
        #expect(state.loops.map(\.name) == ["reactor", "syringe"])
        #expect(state.loop("reactor")?.kp == 0.05)

        let path = Self.temporaryPath("nested/folder/sim.tuned.toml")
        try state.save(path: path)
        #expect(try TunedState.load(path: path) == state)
        // Saving again replaces the file whole and leaves no temporary file behind.
        state.loops.removeLast()
        try state.save(path: path)
        #expect(try TunedState.load(path: path) == state)
        let folder = (path as NSString).deletingLastPathComponent
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["sim.tuned.toml"])
    }

    @Test func aMissingFileIsNoStateYet() throws {
        #expect(try TunedState.loadIfPresent(path: Self.temporaryPath("absent.tuned.toml")) == nil)
    }

    static let good = TunedState(board: "sim", loops: [reactor]).text()

    @Test(arguments: [
        (good.replacingOccurrences(of: "kp = 0.0412", with: "kp = -1.0"),
         "t.toml:5: loop.reactor.kp = -1.0 is out of range: allowed 0.0 to 100.0 (duty/°C)"),
        (good.replacingOccurrences(of: "kd = 0.52", with: "kd = \"big\""), "t.toml:7: loop.reactor.kd must be a number"),
        (good.replacingOccurrences(of: "ki = 0.00031\n", with: ""), "t.toml:4: missing key loop.reactor.ki"),
        (good.replacingOccurrences(of: "rule = ", with: "rules = "), "t.toml:9: unknown key loop.reactor.rules"),
        (good.replacingOccurrences(of: "board = \"sim\"\n", with: ""), "t.toml: missing key board"),
        (good.replacingOccurrences(of: "setpoint_c = 240.0", with: "setpoint_c = nan"),
         "t.toml:12: loop.reactor.setpoint_c = nan is out of range"),
        (good + "colour = 1\n", "t.toml:14: unknown key loop.reactor.colour"),
        ("board = \"sim\"\nspeed = 3\n", "t.toml:2: unknown key speed; allowed: board, loop"),
        ("board = \"sim\"\n[loop\n", "t.toml:2:"),
    ])
    func badFilesAreRefusedNamingLineAndKey(text: String, message: String) {
        #expect {
            _ = try TunedState.parse(text: text, path: "t.toml")
        } throws: { error in
            String(describing: error).hasPrefix(message)
        }
    }
}
