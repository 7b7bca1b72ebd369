import Foundation
import Testing

@testable import Config

/// `twinBoard` (27 lines) with pump sections from line 29 on.
private func twin(_ sections: String) -> String { twinBoard + "\n\n" + sections }
/// `linuxBoard` (20 lines) with pump sections from line 22 on.
private func linux(_ sections: String) -> String { linuxBoard + "\n\n" + sections }

/// A twin board's pump (line 29 the header, then one key per line: 30 model ... 34 reagent).
private let harvardSection = """
    [pump.cd]
    model = "phd-ultra"
    syringe_diameter_mm = 9.525
    syringe_volume_ul = 8000
    max_rate_ul_min = 5000
    reagent = "cd"
    """

/// A linux board's Chemyx (line 22 the header, 23 model, 24 port ... 28 reagent).
private let chemyxSection = """
    [pump.oa]
    model = "chemyx-fusion-4000"
    port = "/dev/ttyACM0"
    syringe_diameter_mm = 4.61
    syringe_volume_ul = 1000
    max_rate_ul_min = 2000
    reagent = "oa"
    """

@Suite struct PumpSectionTests {
    @Test func twinPumpWithDefaults() throws {
        let board = try BoardFile.parse(text: twin(harvardSection), path: "bench.toml")
        #expect(board.pumps == [
            PumpConfig(
                name: "cd", model: .phdUltra, port: nil, baud: 115200, address: 0, axis: nil, syringeDiameterMm: 9.525,
                syringeVolumeUl: 8000, maxRateUlMin: 5000, reagent: .cd, replyTimeoutMs: 1000),
        ])
        #expect(board.pump(holding: .cd)?.id == "pump.cd")
        #expect(board.pump(holding: .se) == nil)
    }

    @Test func linuxChemyxWithDefaultsAndADDSAxis() throws {
        let board = try BoardFile.parse(text: linux(chemyxSection + """

            [pump.solvent]
            model = "pump-33-dds"
            port = "/dev/ttyUSB1"
            baud = 9600
            address = 99
            axis = "b"
            syringe_diameter_mm = 14.57
            syringe_volume_ul = 10000
            max_rate_ul_min = 20000
            reagent = "solvent"
            reply_timeout_ms = 250
            """), path: "hat.toml")
        #expect(board.pumps == [
            PumpConfig(
                name: "oa", model: .chemyxFusion4000, port: "/dev/ttyACM0", baud: 9600, address: 0, axis: nil,
                syringeDiameterMm: 4.61, syringeVolumeUl: 1000, maxRateUlMin: 2000, reagent: .oa, replyTimeoutMs: 2000),
            PumpConfig(
                name: "solvent", model: .pump33DDS, port: "/dev/ttyUSB1", baud: 9600, address: 99, axis: "b",
                syringeDiameterMm: 14.57, syringeVolumeUl: 10000, maxRateUlMin: 20000, reagent: .solvent,
                replyTimeoutMs: 250),
        ])
    }

    @Test func aDaisyChainSharesAPort() throws {
        let chained = linux("""
            [pump.cd]
            model = "phd-ultra"
            port = "/dev/ttyUSB0"
            address = 1
            syringe_diameter_mm = 9.525
            syringe_volume_ul = 8000
            max_rate_ul_min = 5000
            reagent = "cd"

            [pump.se]
            model = "pump-11-elite"
            port = "/dev/ttyUSB0"
            address = 2
            syringe_diameter_mm = 7.29
            syringe_volume_ul = 2500
            max_rate_ul_min = 6000
            reagent = "se"
            """)
        let board = try BoardFile.parse(text: chained, path: "hat.toml")
        #expect(board.pumps.map(\.address) == [1, 2])
        #expect(board.pumps.map(\.port) == ["/dev/ttyUSB0", "/dev/ttyUSB0"])
    }

    @Test func theShippedBoards() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let sim = try BoardFile.load(path: root.appendingPathComponent("Boards/sim.toml").path)
        let hat = try BoardFile.load(path: root.appendingPathComponent("Boards/rpi5-reactor-hat.toml").path)
        #expect(sim.pumps.map(\.reagent) == [.cd, .se, .oa, .ode, .solvent])
        // Both drivers run on the twin.
        #expect(Set(sim.pumps.map(\.model.isHarvard)) == [true, false])
        #expect(sim.pumps.allSatisfy { $0.port == nil })
        #expect(hat.pumps.allSatisfy { $0.port != nil })
        // The same pumps, syringes and limits on both: only the port differs.
        func unported(_ pumps: [PumpConfig]) -> [PumpConfig] { pumps.map { var pump = $0; pump.port = nil; return pump } }
        #expect(unported(hat.pumps) == unported(sim.pumps))
    }

    @Test(
        "bad pump sections: one message naming file, line, key and what is allowed",
        arguments: [
            (twin(harvardSection.with("\"phd-ultra\"", "\"phd-2000\"")),
             "b.toml:30: pump.cd.model = \"phd-2000\" is not one of the allowed values: \"phd-ultra\", \"pump-11-elite\", \"pump-33-dds\", \"chemyx-fusion-4000\""),
            (twin(harvardSection.with("model = \"phd-ultra\"\n", "")),
             "b.toml:29: missing required key pump.cd.model: a string, allowed \"phd-ultra\", \"pump-11-elite\", \"pump-33-dds\", \"chemyx-fusion-4000\""),
            (twin(harvardSection.with("9.525", "0.05")),
             "b.toml:31: pump.cd.syringe_diameter_mm = 0.05 is out of range: allowed 0.1 to 50 (mm)"),
            (twin(harvardSection.with("9.525", "51")),
             "b.toml:31: pump.cd.syringe_diameter_mm = 51 is out of range: allowed 0.1 to 50 (mm)"),
            (twin(harvardSection.with("syringe_volume_ul = 8000", "syringe_volume_ul = 0")),
             "b.toml:32: pump.cd.syringe_volume_ul = 0 is out of range: allowed more than 0, up to 100000 (µL)"),
            (twin(harvardSection.with("syringe_volume_ul = 8000", "syringe_volume_ul = 200000")),
             "b.toml:32: pump.cd.syringe_volume_ul = 200000 is out of range: allowed more than 0, up to 100000 (µL)"),
            (twin(harvardSection.with("max_rate_ul_min = 5000", "max_rate_ul_min = -1")),
             "b.toml:33: pump.cd.max_rate_ul_min = -1 is out of range: allowed more than 0, up to 250000 (µL/min)"),
            (twin(harvardSection.with("max_rate_ul_min = 5000", "max_rate_ul_min = 300000")),
             "b.toml:33: pump.cd.max_rate_ul_min = 300000 is out of range: allowed more than 0, up to 250000 (µL/min)"),
            (twin(harvardSection.with("\"cd\"", "\"toluene\"")),
             "b.toml:34: pump.cd.reagent = \"toluene\" is not one of the allowed values: \"cd\", \"se\", \"oa\", \"ode\", \"solvent\""),
            (twin(harvardSection + "\naddress = 100"),
             "b.toml:35: pump.cd.address = 100 is out of range: allowed 0 to 99"),
            (twin(harvardSection + "\naddress = -1"),
             "b.toml:35: pump.cd.address = -1 is out of range: allowed 0 to 99"),
            (twin(harvardSection + "\nbaud = 4800"),
             "b.toml:35: pump.cd.baud = 4800 is not one of the allowed values: 9600, 19200, 38400, 57600, 115200"),
            (twin(harvardSection + "\nreply_timeout_ms = 5"),
             "b.toml:35: pump.cd.reply_timeout_ms = 5 is out of range: allowed 10 to 10000 (ms)"),
            (twin(harvardSection + "\nreply_timeout_ms = 20000"),
             "b.toml:35: pump.cd.reply_timeout_ms = 20000 is out of range: allowed 10 to 10000 (ms)"),
            (twin(harvardSection + "\naxis = \"c\""),
             "b.toml:35: pump.cd.axis = \"c\" is not one of the allowed values: \"a\", \"b\""),
            (twin(harvardSection + "\naxis = \"a\""),
             "b.toml:35: pump.cd.axis applies to a pump-33-dds only; a phd-ultra has one syringe"),
            (twin(harvardSection.with("\"phd-ultra\"", "\"pump-33-dds\"")),
             "b.toml:29: missing required key pump.cd.axis: a pump-33-dds has two syringes, \"a\" or \"b\""),
            (twin(harvardSection + "\nport = \"/dev/ttyUSB0\""),
             "b.toml:35: pump.cd.port = \"/dev/ttyUSB0\" is not allowed when board.transport = \"twin\": the twin simulates the pump"),
            (twin(harvardSection + "\nsyringe = 1"),
             "b.toml:35: unknown key pump.cd.syringe; allowed: model, port, baud, address, axis, syringe_diameter_mm, syringe_volume_ul, max_rate_ul_min, reagent, reply_timeout_ms"),
            (linux(chemyxSection.with("port = \"/dev/ttyACM0\"\n", "")),
             "b.toml:22: missing required key pump.oa.port: the pump's serial device (/dev/ttyUSB0, /dev/serial/by-id/...), required when board.transport = \"linux\""),
            (linux(chemyxSection + "\nbaud = 115200"),
             "b.toml:29: pump.oa.baud = 115200 is not a rate the chemyx-fusion-4000 offers: allowed 9600, 38400"),
            (linux(chemyxSection + "\naddress = 3"),
             "b.toml:29: pump.oa.address applies to Harvard pumps only (daisy-chain addresses); a chemyx-fusion-4000 has none"),
            (linux(chemyxSection + "\n\n" + chemyxSection.with("[pump.oa]", "[pump.ode]")),
             "b.toml:30: pump.ode is on /dev/ttyACM0 address 0, already used by pump.oa (line 22)"),
            (linux(chemyxSection + "\n\n" + chemyxSection.with("[pump.oa]", "[pump.ode]").with("reagent = \"oa\"", "reagent = \"ode\"\nbaud = 38400")),
             "b.toml:30: pump.ode is on /dev/ttyACM0 address 0, already used by pump.oa (line 22)"),
            (twin("[pump]\nmodel = \"phd-ultra\""),
             "b.toml:29: [pump] needs a name: write [pump.<name>], a name being a lowercase letter followed by lowercase letters, digits or _"),
        ])
    func badPumpSections(text: String, expected: String) {
        let error = #expect(throws: BoardFileError.self) { try BoardFile.parse(text: text, path: "b.toml") }
        #expect(error?.description == expected)
    }

    @Test func twoPumpsOnAChainAtDifferentBaudRatesAreRefused() {
        let text = linux("""
            [pump.cd]
            model = "phd-ultra"
            port = "/dev/ttyUSB0"
            address = 1
            syringe_diameter_mm = 9.525
            syringe_volume_ul = 8000
            max_rate_ul_min = 5000
            reagent = "cd"

            [pump.se]
            model = "pump-11-elite"
            port = "/dev/ttyUSB0"
            address = 2
            baud = 9600
            syringe_diameter_mm = 7.29
            syringe_volume_ul = 2500
            max_rate_ul_min = 6000
            reagent = "se"
            """)
        let error = #expect(throws: BoardFileError.self) { try BoardFile.parse(text: text, path: "b.toml") }
        #expect(error?.description == "b.toml:35: pump.se.baud = 9600 differs from pump.cd.baud = 115200 on the same port /dev/ttyUSB0")
    }
}
