import Foundation
import Testing

@testable import Config

/// `twinBoard` (27 lines) with the new sections from line 29 on.
private func twin(_ sections: String) -> String { twinBoard + "\n\n" + sections }
/// `linuxBoard` (20 lines) with the new sections from line 22 on.
private func linux(_ sections: String) -> String { linuxBoard + "\n\n" + sections }

/// The twin sections (line 29 [pressure], 30 kind, 31 time_constant_s; 33 [selector], 34 kind,
/// 35 positions, 36 reactor, 37 waste; 39 [sampling], 40 line_resistance_mbar_s_per_ul).
private let twinSections = """
    [pressure]
    kind = "twin"
    time_constant_s = 0.2

    [selector]
    kind = "twin"
    positions = 10
    reactor = 1
    waste = 2

    [sampling]
    line_resistance_mbar_s_per_ul = 6.5
    """

/// A solenoid regulator on a linux board (line 22 [valve.pressurize], 25 [valve.vent],
/// 28 [pressure], 29 kind, 30 sensor_bus, 31 sensor_max_mbar, 32 pressurize_valve, 33 vent_valve).
private let solenoidSections = """
    [valve.pressurize]
    line = 23

    [valve.vent]
    line = 24

    [pressure]
    kind = "solenoid"
    sensor_bus = "main"
    sensor_max_mbar = 1600
    pressurize_valve = "pressurize"
    vent_valve = "vent"
    """

private func parseError(_ text: String) -> BoardFileError? {
    #expect(throws: BoardFileError.self) { try BoardFile.parse(text: text, path: "p.toml") }
}

@Suite struct PressureSectionTests {
    @Test func twinSectionsWithDefaults() throws {
        let board = try BoardFile.parse(text: twin(twinSections), path: "p.toml")
        #expect(board.pressure == PressureConfig(
            kind: .twin, samplingMbar: 600, maxMbar: 1000, hysteresisMbar: 20, sdkPath: nil, channel: 0, sensor: nil,
            pressurizeValve: nil, ventValve: nil, twinTimeConstantS: 0.2))
        let selector = try #require(board.selector)
        #expect(selector.kind == .twin && selector.positions == 10 && selector.twinSecondsPerPosition == 0.05)
        #expect(selector.names.map(\.name) == ["reactor", "waste"])
        #expect(selector.position(named: "waste") == 2 && selector.position(named: "solvent") == nil)
        #expect(board.sampling == SamplingConfig(
            line: .resistance(mbarSecondsPerMicrolitre: 6.5), valve: "sample", targetMicrolitres: 40, transportDelayS: 20,
            dilution: 1))
    }

    @Test func boardsWithoutTheSectionsHaveNone() throws {
        let board = try BoardFile.parse(text: twinBoard, path: "p.toml")
        #expect(board.pressure == nil && board.selector == nil && board.sampling == nil)
    }

    @Test func solenoidRegulatorOnALinuxBoard() throws {
        let board = try BoardFile.parse(text: linux(solenoidSections), path: "p.toml")
        #expect(board.pressure == PressureConfig(
            kind: .solenoid, samplingMbar: 600, maxMbar: 1000, hysteresisMbar: 20, sdkPath: nil, channel: 0,
            sensor: PressureSensorConfig(bus: "main", address: 0x28, minMbar: 0, maxMbar: 1600),
            pressurizeValve: "pressurize", ventValve: "vent", twinTimeConstantS: nil))
    }

    @Test func fluigentOnALinuxBoardSharesTheSDKPath() throws {
        let board = try BoardFile.parse(text: linux("""
            [valve.sample]
            line = 22

            [pressure]
            kind = "fluigent"
            sdk_path = "/opt/fgt/libfgt_SDK.so"
            channel = 1
            sampling_mbar = 500
            max_mbar = 2000

            [selector]
            kind = "fluigent"
            positions = 10
            channel = 2
            solvent = 10

            [sampling]
            line_length_mm = 400
            line_inner_diameter_mm = 0.25
            target_ul = 35
            transport_delay_s = 12.5
            dilution = 20
            """), path: "p.toml")
        #expect(board.pressure?.sdkPath == "/opt/fgt/libfgt_SDK.so" && board.pressure?.channel == 1)
        #expect(board.pressure?.samplingMbar == 500 && board.pressure?.maxMbar == 2000)
        #expect(board.selector?.sdkPath == "/opt/fgt/libfgt_SDK.so" && board.selector?.channel == 2)
        #expect(board.selector?.position(named: "solvent") == 10)
        #expect(board.sampling == SamplingConfig(
            line: .tube(lengthMm: 400, innerDiameterMm: 0.25, viscosityMPaS: 2), valve: "sample", targetMicrolitres: 35,
            transportDelayS: 12.5, dilution: 20))
    }

    /// Every new key's range: (the key's line replaced, the line, the key, the message).
    @Test(arguments: [
        ("time_constant_s = 0.2", "time_constant_s = 0", 31, "pressure.time_constant_s",
         "pressure.time_constant_s = 0 is out of range: allowed more than 0, up to 60 (s)"),
        ("time_constant_s = 0.2", "sampling_mbar = 0", 31, "pressure.sampling_mbar",
         "pressure.sampling_mbar = 0 is out of range: allowed more than 0, up to 5000 (mbar)"),
        ("time_constant_s = 0.2", "max_mbar = 7001", 31, "pressure.max_mbar",
         "pressure.max_mbar = 7001 is out of range: allowed more than 0, up to 7000 (mbar)"),
        ("kind = \"twin\"\ntime_constant_s", "kind = \"bellows\"\ntime_constant_s", 30, "pressure.kind",
         "pressure.kind = \"bellows\" is not one of the allowed values: \"fluigent\", \"solenoid\", \"twin\""),
        ("positions = 10", "positions = 1", 35, "selector.positions",
         "selector.positions = 1 is out of range: allowed 2 to 16"),
        ("positions = 10", "positions = 17", 35, "selector.positions",
         "selector.positions = 17 is out of range: allowed 2 to 16"),
        ("positions = 10", "positions = 10\nseconds_per_position = 6", 36, "selector.seconds_per_position",
         "selector.seconds_per_position = 6 is out of range: allowed more than 0, up to 5 (s)"),
        ("reactor = 1", "reactor = 11", 36, "selector.reactor",
         "selector.reactor = 11 is out of range: allowed 1 to 10 (selector.positions)"),
        ("reactor = 1", "reactor = 0", 36, "selector.reactor",
         "selector.reactor = 0 is out of range: allowed 1 to 10 (selector.positions)"),
        ("line_resistance_mbar_s_per_ul = 6.5", "line_resistance_mbar_s_per_ul = 0", 40,
         "sampling.line_resistance_mbar_s_per_ul",
         "sampling.line_resistance_mbar_s_per_ul = 0 is out of range: allowed more than 0, up to 10000 (mbar·s/µL)"),
        ("line_resistance_mbar_s_per_ul = 6.5", "line_length_mm = 10001\nline_inner_diameter_mm = 0.5", 40,
         "sampling.line_length_mm", "sampling.line_length_mm = 10001 is out of range: allowed more than 0, up to 10000 (mm)"),
        ("line_resistance_mbar_s_per_ul = 6.5", "line_length_mm = 500\nline_inner_diameter_mm = 5.5", 41,
         "sampling.line_inner_diameter_mm",
         "sampling.line_inner_diameter_mm = 5.5 is out of range: allowed more than 0, up to 5 (mm)"),
        ("line_resistance_mbar_s_per_ul = 6.5", "line_length_mm = 500\nline_inner_diameter_mm = 0.5\nviscosity_mpa_s = 0", 42,
         "sampling.viscosity_mpa_s", "sampling.viscosity_mpa_s = 0 is out of range: allowed more than 0, up to 1000 (mPa·s)"),
        ("line_resistance_mbar_s_per_ul = 6.5", "line_resistance_mbar_s_per_ul = 6.5\ntarget_ul = 501", 41,
         "sampling.target_ul", "sampling.target_ul = 501 is out of range: allowed more than 0, up to 500 (µL)"),
        ("line_resistance_mbar_s_per_ul = 6.5", "line_resistance_mbar_s_per_ul = 6.5\ntransport_delay_s = -1", 41,
         "sampling.transport_delay_s", "sampling.transport_delay_s = -1 is out of range: allowed 0 to 600 (s)"),
        ("line_resistance_mbar_s_per_ul = 6.5", "line_resistance_mbar_s_per_ul = 6.5\ndilution = 0.5", 41,
         "sampling.dilution", "sampling.dilution = 0.5 is out of range: allowed 1 to 1000"),
    ])
    func twinRangeErrors(target: String, replacement: String, line: Int, key: String, message: String) throws {
        let error = try #require(parseError(twin(twinSections.with(target, replacement))))
        #expect(error.line == line)
        #expect(error.key == key)
        #expect(error.message == message)
    }

    /// The solenoid and fluigent keys' ranges, on the linux board.
    @Test(arguments: [
        ("sensor_max_mbar = 1600", "sensor_max_mbar = 1600\nhysteresis_mbar = 201", 32, "pressure.hysteresis_mbar",
         "pressure.hysteresis_mbar = 201 is out of range: allowed more than 0, up to 200 (mbar)"),
        ("sensor_max_mbar = 1600", "sensor_max_mbar = 1600\nsensor_address = 0x78", 32, "pressure.sensor_address",
         "pressure.sensor_address = 0x78 is out of range: allowed 0x08 to 0x77"),
        ("kind = \"solenoid\"", "kind = \"fluigent\"\nchannel = 256", 30, "pressure.channel",
         "pressure.channel = 256 is out of range: allowed 0 to 255"),
    ])
    func linuxRangeErrors(target: String, replacement: String, line: Int, key: String, message: String) throws {
        let error = try #require(parseError(linux(solenoidSections.with(target, replacement))))
        #expect(error.line == line)
        #expect(error.key == key)
        #expect(error.message == message)
    }

    /// Rules a key's range cannot say: (board text, line, key, message).
    @Test(arguments: [
        (twin(twinSections.with("kind = \"twin\"\ntime_constant_s = 0.2", "kind = \"fluigent\"")), 30, "pressure.kind",
         "pressure.kind = \"fluigent\" is not allowed when board.transport = \"twin\": the twin simulates it with kind = \"twin\""),
        (linux("[pressure]\nkind = \"twin\""), 23, "pressure.kind",
         "pressure.kind = \"twin\" is not allowed when board.transport = \"linux\": use \"fluigent\" or \"solenoid\""),
        (twin(twinSections.with("time_constant_s = 0.2", "channel = 1")), 31, "pressure.channel",
         "pressure.channel applies to kind = \"fluigent\" only, not \"twin\""),
        (twin(twinSections.with("time_constant_s = 0.2", "sampling_mbar = 1000")), 31, "pressure.sampling_mbar",
         "pressure.sampling_mbar = 1000 must be below pressure.max_mbar = 1000"),
        (linux(solenoidSections.with("sensor_max_mbar = 1600", "sensor_max_mbar = 1600\nsampling_mbar = 990")), 32,
         "pressure.sampling_mbar",
         "pressure.sampling_mbar = 990 must be below pressure.max_mbar - pressure.hysteresis_mbar = 980, so that "
            + "regulating never trips the limit"),
        (linux(solenoidSections.with("sensor_bus = \"main\"\n", "")), 28, "pressure.sensor_bus",
         "missing required key pressure.sensor_bus: required when pressure.kind = \"solenoid\""),
        (linux(solenoidSections.with("sensor_bus = \"main\"", "sensor_bus = \"aux\"")), 30, "pressure.sensor_bus",
         "pressure.sensor_bus = \"aux\" names no [i2c.aux] section; defined: main"),
        (linux(solenoidSections.with("sensor_max_mbar = 1600", "sensor_max_mbar = 1600\nsensor_address = 0x60")), 32,
         "pressure.sensor_address", "pressure.sensor_address = 0x60 is already used on bus main by thermocouple.reactor"),
        (linux(solenoidSections.with("sensor_max_mbar = 1600", "sensor_max_mbar = 700")), 28, "pressure.max_mbar",
         "pressure.max_mbar = 1000 is outside the sensor's range 0 to 700 mbar: the sensor must read from atmosphere up "
            + "to the overpressure limit"),
        (linux(solenoidSections.with("vent_valve = \"vent\"", "vent_valve = \"exhaust\"")), 33, "pressure.vent_valve",
         "pressure.vent_valve = \"exhaust\" names no [valve.exhaust] section; defined: pressurize, vent"),
        (linux(solenoidSections.with("vent_valve = \"vent\"", "vent_valve = \"pressurize\"")), 33, "pressure.vent_valve",
         "pressure.vent_valve = \"pressurize\" is also pressure.pressurize_valve: filling and venting need two valves"),
        (twin(twinSections.with("waste = 2", "waste = 1")), 37, "selector.waste", "selector.waste = 1 is already position reactor"),
        (twin(twinSections.with("waste = 2", "waste = \"two\"")), 37, "selector.waste",
         "selector.waste has the wrong type: a position name takes the position's number (an integer), found a string; "
            + "settings allowed: kind, positions, channel, sdk_path, seconds_per_position"),
        (twin(twinSections.with("waste = 2", "Waste = 2")), 37, "selector.Waste",
         "invalid name \"Waste\" in [selector.Waste]: a name is a lowercase letter followed by lowercase letters, digits or _"),
        (twin(twinSections.with("kind = \"twin\"\npositions", "kind = \"fluigent\"\npositions")), 34, "selector.kind",
         "selector.kind = \"fluigent\" is not allowed when board.transport = \"twin\": the twin simulates the valve with kind = \"twin\""),
        (linux("[pressure]\nkind = \"fluigent\"\nsdk_path = \"/a/libfgt_SDK.so\"\n\n[selector]\nkind = \"fluigent\"\n"
            + "positions = 10\nsdk_path = \"/b/libfgt_SDK.so\""), 29, "selector.sdk_path",
         "selector.sdk_path = \"/b/libfgt_SDK.so\" differs from pressure.sdk_path = \"/a/libfgt_SDK.so\": one Fluigent SDK serves both"),
        (linux("[pressure]\nkind = \"fluigent\"\n\n[selector]\nkind = \"fluigent\"\npositions = 10\nchannel = 256"), 28,
         "selector.channel", "selector.channel = 256 is out of range: allowed 0 to 255"),
        (linux("[pressure]\nkind = \"fluigent\"\nsdk_path = \"\""), 24, "pressure.sdk_path", "pressure.sdk_path must not be empty"),
        (linux(solenoidSections.with("sensor_max_mbar = 1600", "sensor_min_mbar = 1600\nsensor_max_mbar = 1600")), 32,
         "pressure.sensor_max_mbar", "pressure.sensor_max_mbar = 1600 must be above pressure.sensor_min_mbar = 1600"),
        (twin(twinSections.with("kind = \"twin\"\npositions", "kind = \"mswitch\"\npositions")), 34, "selector.kind",
         "selector.kind = \"mswitch\" is not one of the allowed values: \"fluigent\", \"twin\""),
        (twin("[sampling]\nline_resistance_mbar_s_per_ul = 6.5"), 29, "pressure",
         "[sampling] needs a [pressure] section: an aliquot is pushed out by the reactor's pressure"),
        (twin(twinSections.with("line_resistance_mbar_s_per_ul = 6.5", "line_resistance_mbar_s_per_ul = 6.5\nline_length_mm = 500")),
         41, "sampling.line_length_mm",
         "sampling.line_length_mm cannot be given with sampling.line_resistance_mbar_s_per_ul: give the measured "
            + "resistance or the tube, not both"),
        (twin(twinSections.with("line_resistance_mbar_s_per_ul = 6.5", "line_length_mm = 500")), 39,
         "sampling.line_inner_diameter_mm",
         "missing required key sampling.line_inner_diameter_mm: give sampling.line_resistance_mbar_s_per_ul, or "
            + "line_length_mm and line_inner_diameter_mm (and viscosity_mpa_s)"),
        (twin(twinSections.with("line_resistance_mbar_s_per_ul = 6.5", "line_resistance_mbar_s_per_ul = 6.5\nvalve = \"drain\"")),
         41, "sampling.valve", "sampling.valve = \"drain\" names no [valve.drain] section; defined: sample"),
    ])
    func ruleErrors(text: String, line: Int, key: String, message: String) throws {
        let error = try #require(parseError(text))
        #expect(error.line == line)
        #expect(error.key == key)
        #expect(error.message == message)
    }

    @Test func sectionsAreKnownAfterTheOriginalOnes() {
        #expect(Array(BoardSchema.sections.prefix(9)) == [
            "board", "gpio", "i2c", "thermocouple", "heater", "valve", "control", "twin", "spectrometer",
        ])
        #expect(["pressure", "selector", "sampling"].allSatisfy(BoardSchema.sections.contains))
        let error = parseError(twin("[pressures]\nkind = \"twin\""))
        #expect(error?.message.hasPrefix("unknown section [pressures]; allowed: board, gpio,") == true)
        #expect(error?.message.contains("pressure, selector, sampling") == true)
    }

    @Test func shippedBoardsCarryTheSections() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let sim = try BoardFile.load(path: root.appendingPathComponent("Boards/sim.toml").path)
        let hat = try BoardFile.load(path: root.appendingPathComponent("Boards/rpi5-reactor-hat.toml").path)
        #expect(sim.pressure?.kind == .twin && hat.pressure?.kind == .fluigent)
        #expect(sim.selector?.kind == .twin && hat.selector?.kind == .fluigent)
        // The limits, the plumbing and the line agree; only the kinds differ.
        #expect(sim.pressure?.samplingMbar == 600 && hat.pressure?.samplingMbar == 600)
        #expect(sim.pressure?.maxMbar == hat.pressure?.maxMbar)
        #expect(sim.selector?.positions == hat.selector?.positions)
        #expect(sim.selector?.names.map(\.name) == ["reactor", "waste", "solvent"])
        #expect(sim.selector?.names.map(\.position) == hat.selector?.names.map(\.position))
        #expect(sim.sampling == hat.sampling)
        #expect(sim.sampling?.line == .tube(lengthMm: 500, innerDiameterMm: 0.5, viscosityMPaS: 2))
        #expect(sim.sampling?.targetMicrolitres == 40)
    }
}
