import Testing

@testable import Config

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A small, complete twin board. Its line numbers are used by the bad-file table; keep them.
let twinBoard = """
    [board]
    name = "bench"
    transport = "twin"

    [i2c.main]

    [thermocouple.reactor]
    bus = "main"
    address = 0x60
    min_c = -20
    max_c = 450

    [heater.reactor]
    line = 17
    thermocouple = "reactor"
    max_c = 350

    [valve.sample]
    line = 22

    [twin]
    seed = 42

    [twin.reactor]
    heater_w = 150
    heat_capacity_j_per_k = 60
    loss_w_per_k = 0.35
    """
// Lines:  1 [board]  5 [i2c.main]  7 [thermocouple.reactor]  9 address  10 min_c  11 max_c
//        13 [heater.reactor]  14 line  15 thermocouple  16 max_c  18 [valve.sample]  19 line
//        21 [twin]  22 seed  24 [twin.reactor]  25 heater_w  26 heat_capacity_j_per_k  27 loss_w_per_k

/// A small, complete linux board.
let linuxBoard = """
    [board]
    name = "hat"
    transport = "linux"

    [gpio]
    chip = "pinctrl-rp1"

    [i2c.main]
    device = "/dev/i2c-1"

    [thermocouple.reactor]
    bus = "main"
    address = 0x60
    min_c = -20
    max_c = 450

    [heater.reactor]
    line = 17
    thermocouple = "reactor"
    max_c = 350
    """
// Lines:  1 [board]  5 [gpio]  6 chip  8 [i2c.main]  9 device  11 [thermocouple.reactor]
//        17 [heater.reactor]  18 line  20 max_c

extension String {
    /// The text with `target` (which must occur exactly once) replaced.
    func with(_ target: String, _ replacement: String) -> String {
        precondition(ranges(of: target).count == 1, "\(target) must occur once")
        return replacing(target, with: replacement)
    }
}

@Suite struct GoodBoardFileTests {
    @Test func twinBoardWithDefaultsApplied() throws {
        let board = try BoardFile.parse(text: twinBoard, path: "bench.toml")
        #expect(board.path == "bench.toml")
        #expect(board.name == "bench")
        #expect(board.description == "")
        #expect(board.transport == .twin)
        #expect(board.defaultGPIOChip == nil)
        #expect(board.i2cBuses == [I2CBusConfig(name: "main", device: nil)])
        #expect(board.thermocouples == [
            ThermocoupleConfig(
                name: "reactor", bus: "main", address: 0x60, part: .mcp9600, type: .k, filter: 0, adcBits: 18,
                minC: -20, maxC: 450),
        ])
        #expect(board.heaters == [
            HeaterConfig(
                name: "reactor", line: LineConfig(chip: "twin", offset: 17, activeHigh: true), periodMs: 1000,
                maxDuty: 1, thermocouple: "reactor", maxC: 350),
        ])
        #expect(board.valves == [
            ValveConfig(
                name: "sample", line: LineConfig(chip: "twin", offset: 22, activeHigh: true), manualPulse: false,
                maxPulseMs: 1000),
        ])
        #expect(board.twin == TwinConfig(seed: 42, ambientC: 25, zones: [
            ThermalZoneConfig(
                heater: "reactor", heaterW: 150, heatCapacityJPerK: 60, lossWPerK: 0.35, initialC: 25,
                sensorLagS: 0, sensorNoiseC: 0),
        ]))
        #expect(board.outputs.map(\.id) == ["heater.reactor", "valve.sample"])
        // Absent safety keys, [control] and liquid keys take their documented defaults.
        #expect(board.heaters.first?.safety == HeaterSafetyConfig(
            staleAfterS: 2, stuckAfterS: 30, heatingGainC: 2, heatingGainWithinS: 20, runawayErrorIntegralCS: 120,
            runawayHysteresisC: 5, stuckOnRiseC: 10, stuckOnWithinS: 60, injectionWindowS: 30, maxTickGapS: 0.5))
        #expect(board.control == ControlConfig(periodMs: 100, deadManS: 2))
        #expect(board.twin?.zones.first?.charge == nil)
        #expect(board.twin?.zones.first?.solidifiesBelowC == nil)
        #expect(board.safetyRangeCelsius(ofHeater: "reactor") == -20...350)
        #expect(board.safetyRangeCelsius(ofHeater: "oven") == nil)
    }

    @Test func linuxBoardTakesTheDefaultChip() throws {
        let board = try BoardFile.parse(text: linuxBoard, path: "hat.toml")
        #expect(board.transport == .linux)
        #expect(board.defaultGPIOChip == "pinctrl-rp1")
        #expect(board.i2cBuses == [I2CBusConfig(name: "main", device: "/dev/i2c-1")])
        #expect(board.heaters.map(\.line) == [LineConfig(chip: "pinctrl-rp1", offset: 17, activeHigh: true)])
        #expect(board.twin == nil)
    }

    @Test func everyKeyGiven() throws {
        let text = """
            [board]
            name = "full"
            description = "every key, none defaulted"
            transport = "linux"

            [i2c.aux]
            device = "/dev/i2c-13"

            [thermocouple.probe_2]
            bus = "aux"
            address = 0x67
            part = "MCP9601"
            type = "T"
            filter = 7
            adc_bits = 12
            min_c = -270
            max_c = 400.0

            [heater.tape]
            chip = "gpiochip0"
            line = 511
            active = "low"
            period_ms = 10000
            max_duty = 0.25
            thermocouple = "probe_2"
            max_c = 0

            [valve.vent]
            chip = "/dev/gpiochip1"
            line = 0
            active = "low"
            manual_pulse = true
            max_pulse_ms = 10000
            """
        let board = try BoardFile.parse(text: text, path: "full.toml")
        #expect(board.description == "every key, none defaulted")
        #expect(board.thermocouples == [
            ThermocoupleConfig(
                name: "probe_2", bus: "aux", address: 0x67, part: .mcp9601, type: .t, filter: 7, adcBits: 12,
                minC: -270, maxC: 400),
        ])
        #expect(board.heaters == [
            HeaterConfig(
                name: "tape", line: LineConfig(chip: "gpiochip0", offset: 511, activeHigh: false), periodMs: 10000,
                maxDuty: 0.25, thermocouple: "probe_2", maxC: 0),
        ])
        #expect(board.valves == [
            ValveConfig(
                name: "vent", line: LineConfig(chip: "/dev/gpiochip1", offset: 0, activeHigh: false),
                manualPulse: true, maxPulseMs: 10000),
        ])
    }

    @Test func sectionsKeepFileOrder() throws {
        let text = twinBoard
            .with("[valve.sample]\nline = 22", "[valve.sample]\nline = 22\n[valve.flush]\nline = 5\n[valve.drain]\nline = 6")
            .with("[i2c.main]", "[i2c.main]\n[i2c.aux]")
        let board = try BoardFile.parse(text: text, path: "order.toml")
        #expect(board.valves.map(\.name) == ["sample", "flush", "drain"])
        #expect(board.i2cBuses.map(\.name) == ["main", "aux"])
        #expect(board.outputs.map(\.id) == ["heater.reactor", "valve.sample", "valve.flush", "valve.drain"])
    }

    @Test func twinZoneTakesEveryKeyAndIntegersForFloats() throws {
        let text = twinBoard
            .with("seed = 42", "seed = 9223372036854775807\nambient_c = -10")
            .with("loss_w_per_k = 0.35", "loss_w_per_k = 1000\ninitial_c = 400\nsensor_lag_s = 60\nsensor_noise_c = 5")
            .with("heater_w = 150", "heater_w = 5000")
            .with("heat_capacity_j_per_k = 60", "heat_capacity_j_per_k = 100_000")
        let board = try BoardFile.parse(text: text, path: "zone.toml")
        #expect(board.twin == TwinConfig(seed: UInt64(Int64.max), ambientC: -10, zones: [
            ThermalZoneConfig(
                heater: "reactor", heaterW: 5000, heatCapacityJPerK: 100_000, lossWPerK: 1000, initialC: 400,
                sensorLagS: 60, sensorNoiseC: 5),
        ]))
    }

    @Test func twinMayBeImpliedByItsZones() throws {
        let board = try BoardFile.parse(text: twinBoard.with("[twin]\nseed = 42\n", ""), path: "implied.toml")
        #expect(board.twin?.seed == 1)
        #expect(board.twin?.ambientC == 25)
        #expect(board.twin?.zones.map(\.heater) == ["reactor"])
    }

    @Test func everySafetyKeyAndTheControlSection() throws {
        let text = twinBoard
            .with("max_c = 350", """
                max_c = 350
                stale_after_s = 60
                stuck_after_s = 3600
                heating_gain_c = 0.1
                heating_gain_within_s = 600
                runaway_error_integral_c_s = 10000
                runaway_hysteresis_c = 50
                stuck_on_rise_c = 100
                stuck_on_within_s = 1
                injection_window_s = 0
                max_tick_gap_s = 0.02
                """)
            + "\n[control]\nperiod_ms = 10\ndead_man_s = 0.5\n"
        let board = try BoardFile.parse(text: text, path: "safety.toml")
        #expect(board.heaters.first?.safety == HeaterSafetyConfig(
            staleAfterS: 60, stuckAfterS: 3600, heatingGainC: 0.1, heatingGainWithinS: 600,
            runawayErrorIntegralCS: 10000, runawayHysteresisC: 50, stuckOnRiseC: 100, stuckOnWithinS: 1,
            injectionWindowS: 0, maxTickGapS: 0.02))
        #expect(board.control == ControlConfig(periodMs: 10, deadManS: 0.5))
        // The other ends of the ranges.
        let other = try BoardFile.parse(
            text: twinBoard.with("max_c = 350", """
                max_c = 350
                stale_after_s = 0.11
                stuck_after_s = 1
                heating_gain_c = 50
                heating_gain_within_s = 1
                runaway_error_integral_c_s = 1
                runaway_hysteresis_c = 0.1
                stuck_on_rise_c = 0.1
                stuck_on_within_s = 600
                injection_window_s = 120
                max_tick_gap_s = 2.99
                """) + "\n[control]\nperiod_ms = 100\ndead_man_s = 3\n",
            path: "safety.toml")
        #expect(other.heaters.first?.safety == HeaterSafetyConfig(
            staleAfterS: 0.11, stuckAfterS: 1, heatingGainC: 50, heatingGainWithinS: 1, runawayErrorIntegralCS: 1,
            runawayHysteresisC: 0.1, stuckOnRiseC: 0.1, stuckOnWithinS: 600, injectionWindowS: 120, maxTickGapS: 2.99))
        #expect(other.control == ControlConfig(periodMs: 100, deadManS: 3))
    }

    @Test func aReactorZoneWithItsLiquid() throws {
        let text = twinBoard.with("loss_w_per_k = 0.35", """
            loss_w_per_k = 0.35
            liquid_ml = 0.9
            liquid_heat_capacity_j_per_ml_k = 1.75
            coupling_w_per_k = 0.54
            stir_rpm = 600
            injection_ml = 0.3
            injection_c = 20
            solidifies_below_c = 40
            """)
        let zone = try #require(try BoardFile.parse(text: text, path: "reactor.toml").twin?.zones.first)
        #expect(zone.charge == LiquidChargeConfig(
            liquidML: 0.9, heatCapacityJPerMLK: 1.75, couplingWPerK: 0.54, stirRPM: 600, injectionML: 0.3, injectionC: 20))
        #expect(zone.solidifiesBelowC == 40)
    }

    @Test func aCouplingAloneIsAnEmptyStirredReactorInjectingAtRoomTemperature() throws {
        let text = twinBoard
            .with("seed = 42", "seed = 42\nambient_c = 30")
            .with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 0.5")
        let zone = try #require(try BoardFile.parse(text: text, path: "empty.toml").twin?.zones.first)
        #expect(zone.charge == LiquidChargeConfig(
            liquidML: 0, heatCapacityJPerMLK: 1.8, couplingWPerK: 0.5, stirRPM: 800, injectionML: nil, injectionC: 30))
    }

    @Test func aFullReactorIsAllowed() throws {
        let text = twinBoard.with(
            "loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 100\nliquid_ml = 2.5\ninjection_ml = 0.5")
        let zone = try #require(try BoardFile.parse(text: text, path: "full.toml").twin?.zones.first)
        #expect(zone.charge?.liquidML == 2.5)
        #expect(zone.charge?.injectionML == 0.5)
        #expect(zone.charge?.couplingWPerK == 100)
    }

    @Test func inlineTablesAndDottedKeysAreTheSameBoard() throws {
        let text = """
            board = { name = "bench", transport = "twin" }
            i2c.main = {}
            thermocouple.reactor = { bus = "main", address = 0x60, min_c = -20, max_c = 450 }
            heater.reactor.line = 17
            heater.reactor.thermocouple = "reactor"
            heater.reactor.max_c = 350
            valve.sample = { line = 22 }
            twin = { seed = 42, reactor = { heater_w = 150, heat_capacity_j_per_k = 60, loss_w_per_k = 0.35 } }
            """
        var inline = try BoardFile.parse(text: text, path: "bench.toml")
        let headers = try BoardFile.parse(text: twinBoard, path: "bench.toml")
        #expect(inline == headers)
        inline.name = "other"
        #expect(inline != headers)
    }
}

/// A board file that must be refused, and exactly how.
struct BadBoard: Sendable, CustomTestStringConvertible {
    let name: String
    let text: String
    /// The whole `description` of the error.
    let expected: String
    /// The error's `key`.
    let key: String?

    init(_ name: String, _ text: String, key: String?, _ expected: String) {
        self.name = name
        self.text = text
        self.key = key
        self.expected = expected
    }

    var testDescription: String { name }
}

@Suite struct BadBoardFileTests {
    /// Every engineer adding a section extends the schema's list; the messages list them all in order.
    static let sectionList = BoardSchema.sections.joined(separator: ", ")

    static let cases: [BadBoard] = [
        // Unknown sections and keys.
        BadBoard(
            "misspelt key", twinBoard.with("address = 0x60", "adress = 0x60"), key: "thermocouple.reactor.adress",
            "bad.toml:9: unknown key thermocouple.reactor.adress; allowed: bus, address, part, type, filter, adc_bits, min_c, max_c"),
        BadBoard(
            "unknown section", twinBoard.with("[valve.sample]", "[valves.sample]"), key: "valves",
            "bad.toml:18: unknown section [valves]; allowed: \(sectionList)"),
        BadBoard(
            "key outside any section", "version = 2\n" + twinBoard, key: "version",
            "bad.toml:1: unknown key version outside any section; allowed sections: \(sectionList)"),
        BadBoard(
            "unknown key in [board]", twinBoard.with("name = \"bench\"", "name = \"bench\"\nrevision = 3"),
            key: "board.revision", "bad.toml:3: unknown key board.revision; allowed: name, description, transport"),
        BadBoard(
            "unknown key in [twin]", twinBoard.with("seed = 42", "seeed = 42"), key: "twin.seeed",
            "bad.toml:22: unknown key twin.seeed; allowed: seed, ambient_c, and a [twin.<heater name>] zone per heater"),
        BadBoard(
            "subsection of a named section", twinBoard.with("[valve.sample]", "[valve.sample.extra]\n[valve.sample]"),
            key: "valve.sample.extra",
            "bad.toml:18: unknown key valve.sample.extra; allowed: chip, line, active, manual_pulse, max_pulse_ms"),

        // Missing keys and sections.
        BadBoard(
            "missing board name", twinBoard.with("name = \"bench\"\n", ""), key: "board.name",
            "bad.toml:1: missing required key board.name: a string, not empty"),
        BadBoard(
            "missing heater max_c", twinBoard.with("max_c = 350\n", ""), key: "heater.reactor.max_c",
            "bad.toml:13: missing required key heater.reactor.max_c: a number, allowed 0 to 400 (°C)"),
        BadBoard(
            "missing thermocouple address", twinBoard.with("address = 0x60\n", ""), key: "thermocouple.reactor.address",
            "bad.toml:7: missing required key thermocouple.reactor.address: an integer, allowed 0x60 to 0x67"),
        BadBoard(
            "missing zone key", twinBoard.with("heater_w = 150\n", ""), key: "twin.reactor.heater_w",
            "bad.toml:24: missing required key twin.reactor.heater_w: a number, allowed more than 0, up to 5000 (W)"),
        BadBoard(
            "missing [board]", "[twin]\nseed = 1\n", key: "board",
            "bad.toml: missing section [board]: every board file needs [board] with name, description, transport"),
        BadBoard(
            "empty name", twinBoard.with("name = \"bench\"", "name = \"\""), key: "board.name",
            "bad.toml:2: board.name must not be empty"),

        // Wrong types.
        BadBoard(
            "string for an integer", twinBoard.with("line = 17", "line = \"17\""), key: "heater.reactor.line",
            "bad.toml:14: heater.reactor.line = \"17\" has the wrong type: expected an integer, found a string"),
        BadBoard(
            "float for an integer", twinBoard.with("line = 17", "line = 17.0"), key: "heater.reactor.line",
            "bad.toml:14: heater.reactor.line = 17.0 has the wrong type: expected an integer, found a float"),
        BadBoard(
            "string for a number", twinBoard.with("max_c = 350", "max_c = \"350\""), key: "heater.reactor.max_c",
            "bad.toml:16: heater.reactor.max_c = \"350\" has the wrong type: expected a number, found a string"),
        BadBoard(
            "string for a boolean", twinBoard.with("line = 22", "line = 22\nmanual_pulse = \"yes\""),
            key: "valve.sample.manual_pulse",
            "bad.toml:20: valve.sample.manual_pulse = \"yes\" has the wrong type: expected a boolean, found a string"),
        BadBoard(
            "array for a string", twinBoard.with("bus = \"main\"", "bus = [\"main\"]"), key: "thermocouple.reactor.bus",
            "bad.toml:8: thermocouple.reactor.bus = [\"main\"] has the wrong type: expected a string, found an array"),
        BadBoard(
            "table for a number", twinBoard.with("heater_w = 150\n", "") + "\n[twin.reactor.heater_w]",
            key: "twin.reactor.heater_w",
            "bad.toml:27: twin.reactor.heater_w has the wrong type: expected a number, found a table"),
        BadBoard(
            "integer for a string", twinBoard.with("name = \"bench\"", "name = 7"), key: "board.name",
            "bad.toml:2: board.name = 7 has the wrong type: expected a string, found an integer"),

        // Out of range, every kind.
        BadBoard(
            "heater max_c above the reactor rating", twinBoard.with("max_c = 350", "max_c = 450"),
            key: "heater.reactor.max_c",
            "bad.toml:16: heater.reactor.max_c = 450 is out of range: allowed 0 to 400 (°C)"),
        BadBoard(
            "heater max_c below zero", twinBoard.with("max_c = 350", "max_c = -0.5"), key: "heater.reactor.max_c",
            "bad.toml:16: heater.reactor.max_c = -0.5 is out of range: allowed 0 to 400 (°C)"),
        BadBoard(
            "line beyond 511", twinBoard.with("line = 17", "line = 512"), key: "heater.reactor.line",
            "bad.toml:14: heater.reactor.line = 512 is out of range: allowed 0 to 511"),
        BadBoard(
            "negative line", twinBoard.with("line = 22", "line = -1"), key: "valve.sample.line",
            "bad.toml:19: valve.sample.line = -1 is out of range: allowed 0 to 511"),
        BadBoard(
            "address outside the MCP9600 straps", twinBoard.with("address = 0x60", "address = 0x68"),
            key: "thermocouple.reactor.address",
            "bad.toml:9: thermocouple.reactor.address = 0x68 is out of range: allowed 0x60 to 0x67"),
        BadBoard(
            "filter too strong", twinBoard.with("address = 0x60", "address = 0x60\nfilter = 8"),
            key: "thermocouple.reactor.filter",
            "bad.toml:10: thermocouple.reactor.filter = 8 is out of range: allowed 0 to 7"),
        BadBoard(
            "adc resolution not offered", twinBoard.with("address = 0x60", "address = 0x60\nadc_bits = 10"),
            key: "thermocouple.reactor.adc_bits",
            "bad.toml:10: thermocouple.reactor.adc_bits = 10 is not one of the allowed values: 18, 16, 14, 12"),
        BadBoard(
            "unknown thermocouple type", twinBoard.with("address = 0x60", "address = 0x60\ntype = \"k\""),
            key: "thermocouple.reactor.type",
            "bad.toml:10: thermocouple.reactor.type = \"k\" is not one of the allowed values: \"K\", \"J\", \"T\", \"N\", \"S\", \"E\", \"B\", \"R\""),
        BadBoard(
            "unknown part", twinBoard.with("address = 0x60", "address = 0x60\npart = \"MCP9602\""),
            key: "thermocouple.reactor.part",
            "bad.toml:10: thermocouple.reactor.part = \"MCP9602\" is not one of the allowed values: \"MCP9600\", \"MCP9601\""),
        BadBoard(
            "unknown transport", twinBoard.with("transport = \"twin\"", "transport = \"serial\""),
            key: "board.transport",
            "bad.toml:3: board.transport = \"serial\" is not one of the allowed values: \"twin\", \"linux\""),
        BadBoard(
            "unknown sense", twinBoard.with("line = 22", "line = 22\nactive = \"on\""), key: "valve.sample.active",
            "bad.toml:20: valve.sample.active = \"on\" is not one of the allowed values: \"high\", \"low\""),
        BadBoard(
            "zero duty", twinBoard.with("line = 17", "line = 17\nmax_duty = 0"), key: "heater.reactor.max_duty",
            "bad.toml:15: heater.reactor.max_duty = 0 is out of range: allowed more than 0, up to 1"),
        BadBoard(
            "duty above one", twinBoard.with("line = 17", "line = 17\nmax_duty = 1.5"), key: "heater.reactor.max_duty",
            "bad.toml:15: heater.reactor.max_duty = 1.5 is out of range: allowed more than 0, up to 1"),
        BadBoard(
            "window too short", twinBoard.with("line = 17", "line = 17\nperiod_ms = 50"), key: "heater.reactor.period_ms",
            "bad.toml:15: heater.reactor.period_ms = 50 is out of range: allowed 100 to 10000 (ms)"),
        BadBoard(
            "zero pulse", twinBoard.with("line = 22", "line = 22\nmax_pulse_ms = 0"), key: "valve.sample.max_pulse_ms",
            "bad.toml:20: valve.sample.max_pulse_ms = 0 is out of range: allowed 1 to 10000 (ms)"),
        BadBoard(
            "negative seed", twinBoard.with("seed = 42", "seed = -1"), key: "twin.seed",
            "bad.toml:22: twin.seed = -1 is out of range: allowed 0 to 9223372036854775807"),
        BadBoard(
            "hot room", twinBoard.with("seed = 42", "seed = 42\nambient_c = 60"), key: "twin.ambient_c",
            "bad.toml:23: twin.ambient_c = 60 is out of range: allowed -10 to 50 (°C)"),
        BadBoard(
            "no heater power", twinBoard.with("heater_w = 150", "heater_w = 0"), key: "twin.reactor.heater_w",
            "bad.toml:25: twin.reactor.heater_w = 0 is out of range: allowed more than 0, up to 5000 (W)"),
        BadBoard(
            "huge heat capacity", twinBoard.with("heat_capacity_j_per_k = 60", "heat_capacity_j_per_k = 1e6"),
            key: "twin.reactor.heat_capacity_j_per_k",
            "bad.toml:26: twin.reactor.heat_capacity_j_per_k = 1000000.0 is out of range: allowed more than 0, up to 100000 (J/K)"),
        BadBoard(
            "negative loss", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = -0.35"),
            key: "twin.reactor.loss_w_per_k",
            "bad.toml:27: twin.reactor.loss_w_per_k = -0.35 is out of range: allowed more than 0, up to 1000 (W/K)"),
        BadBoard(
            "starts too hot", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ninitial_c = 500"),
            key: "twin.reactor.initial_c",
            "bad.toml:28: twin.reactor.initial_c = 500 is out of range: allowed -10 to 400 (°C)"),
        BadBoard(
            "lag too long", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\nsensor_lag_s = 61"),
            key: "twin.reactor.sensor_lag_s",
            "bad.toml:28: twin.reactor.sensor_lag_s = 61 is out of range: allowed 0 to 60 (s)"),
        BadBoard(
            "noise not a number", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\nsensor_noise_c = nan"),
            key: "twin.reactor.sensor_noise_c",
            "bad.toml:28: twin.reactor.sensor_noise_c = nan is out of range: allowed 0 to 5 (°C)"),
        BadBoard(
            "plausible range beyond type K", twinBoard.with("max_c = 450", "max_c = 1500"),
            key: "thermocouple.reactor.max_c",
            "bad.toml:11: thermocouple.reactor.max_c = 1500 is out of range for a type K thermocouple: allowed -270 to 1372 (°C)"),
        BadBoard(
            "plausible range beyond type T",
            twinBoard.with("address = 0x60", "address = 0x60\ntype = \"T\"").with("min_c = -20", "min_c = -300"),
            key: "thermocouple.reactor.min_c",
            "bad.toml:11: thermocouple.reactor.min_c = -300 is out of range for a type T thermocouple: allowed -270 to 400 (°C)"),
        BadBoard(
            "infinite plausible range", twinBoard.with("max_c = 450", "max_c = inf"), key: "thermocouple.reactor.max_c",
            "bad.toml:11: thermocouple.reactor.max_c = inf is out of range: allowed any finite number (°C)"),
        BadBoard(
            "min not below max", twinBoard.with("min_c = -20", "min_c = 450"), key: "thermocouple.reactor.min_c",
            "bad.toml:10: thermocouple.reactor.min_c = 450 must be below thermocouple.reactor.max_c = 450"),
        BadBoard(
            "heater limit above its thermocouple's range",
            twinBoard.with("max_c = 450", "max_c = 300"), key: "heater.reactor.max_c",
            "bad.toml:16: heater.reactor.max_c = 350 is above thermocouple.reactor.max_c = 300: a heater's limit must lie within its thermocouple's plausible range"),

        // Cross-references and duplicates.
        BadBoard(
            "thermocouple on an undeclared bus", twinBoard.with("bus = \"main\"", "bus = \"aux\""),
            key: "thermocouple.reactor.bus",
            "bad.toml:8: thermocouple.reactor.bus = \"aux\" names no [i2c.aux] section; defined: main"),
        BadBoard(
            "heater measured by an undeclared thermocouple", twinBoard.with("thermocouple = \"reactor\"", "thermocouple = \"oven\""),
            key: "heater.reactor.thermocouple",
            "bad.toml:15: heater.reactor.thermocouple = \"oven\" names no [thermocouple.oven] section; defined: reactor"),
        BadBoard(
            "two thermocouples at one address",
            twinBoard.with("[heater.reactor]", "[thermocouple.syringe]\nbus = \"main\"\naddress = 0x60\nmin_c = 0\nmax_c = 200\n\n[heater.reactor]"),
            key: "thermocouple.syringe.address",
            "bad.toml:15: thermocouple.syringe.address = 0x60 is already used on bus main by thermocouple.reactor (line 9)"),
        BadBoard(
            "two outputs on one line", twinBoard.with("line = 22", "line = 17"), key: "valve.sample.line",
            "bad.toml:19: valve.sample.line = 17 is already used on chip twin by heater.reactor (line 14)"),
        BadBoard(
            "two outputs on one line of a linux chip",
            linuxBoard + "\n\n[valve.sample]\nline = 17\n", key: "valve.sample.line",
            "bad.toml:23: valve.sample.line = 17 is already used on chip pinctrl-rp1 by heater.reactor (line 18)"),

        // Transport rules.
        BadBoard(
            "twin section on a linux board", linuxBoard + "\n\n[twin]\nseed = 1\n", key: "twin",
            "bad.toml:22: [twin] is not allowed when board.transport = \"linux\": the simulated plant belongs in a twin board file"),
        BadBoard(
            "twin zone on a linux board", linuxBoard + "\n\n[twin.reactor]\nheater_w = 150\n", key: "twin",
            "bad.toml:22: [twin] is not allowed when board.transport = \"linux\": the simulated plant belongs in a twin board file"),
        BadBoard(
            "heater without a twin zone",
            twinBoard.with("[twin.reactor]\nheater_w = 150\nheat_capacity_j_per_k = 60\nloss_w_per_k = 0.35", ""),
            key: "twin.reactor",
            "bad.toml:13: heater.reactor has no thermal zone: add [twin.reactor] (required when board.transport = \"twin\")"),
        BadBoard(
            "zone naming no heater", twinBoard.with("[twin.reactor]", "[twin.oven]"), key: "twin.oven",
            "bad.toml:24: [twin.oven] names no heater: a zone is named after its [heater.<name>]; defined heaters: reactor"),
        BadBoard(
            "twin board without [twin]",
            twinBoard.with("[twin]\nseed = 42\n\n[twin.reactor]\nheater_w = 150\nheat_capacity_j_per_k = 60\nloss_w_per_k = 0.35", ""),
            key: "twin",
            "bad.toml:3: missing section [twin]: required when board.transport = \"twin\" (seed, ambient_c and a [twin.<heater name>] zone per heater)"),
        BadBoard(
            "i2c device on a twin board", twinBoard.with("[i2c.main]", "[i2c.main]\ndevice = \"/dev/i2c-1\""),
            key: "i2c.main.device",
            "bad.toml:6: i2c.main.device = \"/dev/i2c-1\" is not allowed when board.transport = \"twin\": the twin simulates the bus"),
        BadBoard(
            "linux bus without a device", linuxBoard.with("device = \"/dev/i2c-1\"\n", ""), key: "i2c.main.device",
            "bad.toml:8: missing required key i2c.main.device: the i2c-dev node, /dev/i2c-<N> (required when board.transport = \"linux\")"),
        BadBoard(
            "linux bus on something else", linuxBoard.with("device = \"/dev/i2c-1\"", "device = \"/dev/spidev0.0\""),
            key: "i2c.main.device",
            "bad.toml:9: i2c.main.device = \"/dev/spidev0.0\" is not an i2c-dev node: expected /dev/i2c-<N>"),
        BadBoard(
            "linux output without a chip", linuxBoard.with("[gpio]\nchip = \"pinctrl-rp1\"\n\n", ""),
            key: "heater.reactor.chip",
            "bad.toml:14: missing required key heater.reactor.chip: a linux board needs the output's GPIO chip here or a default in [gpio] chip"),

        // Section shapes and names.
        BadBoard(
            "kind without a name", twinBoard.with("[valve.sample]\nline = 22", "[valve]\nline = 22"), key: "valve",
            "bad.toml:18: [valve] needs a name: write [valve.<name>], a name being a lowercase letter followed by lowercase letters, digits or _"),
        BadBoard(
            "kind header over named sections", twinBoard.with("[valve.sample]", "[valve]\n[valve.sample]"), key: "valve",
            "bad.toml:18: [valve] needs a name: write [valve.<name>], a name being a lowercase letter followed by lowercase letters, digits or _"),
        BadBoard(
            "key directly under a kind", "valve.line = 22\n" + twinBoard.with("[valve.sample]\nline = 22\n", ""),
            key: "valve.line",
            "bad.toml:1: valve.line = 22 is not in a named section: keys go in [valve.<name>]"),
        BadBoard(
            "array of tables for a kind", twinBoard.with("[valve.sample]", "[[valve]]"), key: "valve",
            "bad.toml:18: valve must be named sections [valve.<name>], found an array"),
        BadBoard(
            "board as a value", "board = \"bench\"\n", key: "board",
            "bad.toml:1: board must be a section [board], found a string"),
        BadBoard(
            "capital in a name", twinBoard.with("[valve.sample]", "[valve.Sample]"), key: "valve.Sample",
            "bad.toml:18: invalid name \"Sample\" in [valve.Sample]: a name is a lowercase letter followed by lowercase letters, digits or _"),
        BadBoard(
            "name starting with a digit", twinBoard.with("[i2c.main]", "[i2c.1]").with("bus = \"main\"", "bus = \"1\""),
            key: "i2c.1",
            "bad.toml:5: invalid name \"1\" in [i2c.1]: a name is a lowercase letter followed by lowercase letters, digits or _"),

        // Safety keys of a heater: each range, each cross-check with [control].
        BadBoard(
            "stale check faster than a conversion", twinBoard.with("max_c = 350", "max_c = 350\nstale_after_s = 0.05"),
            key: "heater.reactor.stale_after_s",
            "bad.toml:17: heater.reactor.stale_after_s = 0.05 is out of range: allowed 0.1 to 60 (s)"),
        BadBoard(
            "stale check after a minute", twinBoard.with("max_c = 350", "max_c = 350\nstale_after_s = 61"),
            key: "heater.reactor.stale_after_s",
            "bad.toml:17: heater.reactor.stale_after_s = 61 is out of range: allowed 0.1 to 60 (s)"),
        BadBoard(
            "stale check as text", twinBoard.with("max_c = 350", "max_c = 350\nstale_after_s = \"2s\""),
            key: "heater.reactor.stale_after_s",
            "bad.toml:17: heater.reactor.stale_after_s = \"2s\" has the wrong type: expected a number, found a string"),
        BadBoard(
            "stuck check too quick", twinBoard.with("max_c = 350", "max_c = 350\nstuck_after_s = 0.5"),
            key: "heater.reactor.stuck_after_s",
            "bad.toml:17: heater.reactor.stuck_after_s = 0.5 is out of range: allowed 1 to 3600 (s)"),
        BadBoard(
            "stuck check over an hour", twinBoard.with("max_c = 350", "max_c = 350\nstuck_after_s = 3601"),
            key: "heater.reactor.stuck_after_s",
            "bad.toml:17: heater.reactor.stuck_after_s = 3601 is out of range: allowed 1 to 3600 (s)"),
        BadBoard(
            "no heating gain", twinBoard.with("max_c = 350", "max_c = 350\nheating_gain_c = 0"),
            key: "heater.reactor.heating_gain_c",
            "bad.toml:17: heater.reactor.heating_gain_c = 0 is out of range: allowed 0.1 to 50 (°C)"),
        BadBoard(
            "heating gain too large", twinBoard.with("max_c = 350", "max_c = 350\nheating_gain_c = 51"),
            key: "heater.reactor.heating_gain_c",
            "bad.toml:17: heater.reactor.heating_gain_c = 51 is out of range: allowed 0.1 to 50 (°C)"),
        BadBoard(
            "heating gain at once", twinBoard.with("max_c = 350", "max_c = 350\nheating_gain_within_s = 0"),
            key: "heater.reactor.heating_gain_within_s",
            "bad.toml:17: heater.reactor.heating_gain_within_s = 0 is out of range: allowed 1 to 600 (s)"),
        BadBoard(
            "heating gain after ten minutes", twinBoard.with("max_c = 350", "max_c = 350\nheating_gain_within_s = 601"),
            key: "heater.reactor.heating_gain_within_s",
            "bad.toml:17: heater.reactor.heating_gain_within_s = 601 is out of range: allowed 1 to 600 (s)"),
        BadBoard(
            "no runaway integral", twinBoard.with("max_c = 350", "max_c = 350\nrunaway_error_integral_c_s = 0.5"),
            key: "heater.reactor.runaway_error_integral_c_s",
            "bad.toml:17: heater.reactor.runaway_error_integral_c_s = 0.5 is out of range: allowed 1 to 10000 (°C·s)"),
        BadBoard(
            "runaway integral too lax", twinBoard.with("max_c = 350", "max_c = 350\nrunaway_error_integral_c_s = 10001"),
            key: "heater.reactor.runaway_error_integral_c_s",
            "bad.toml:17: heater.reactor.runaway_error_integral_c_s = 10001 is out of range: allowed 1 to 10000 (°C·s)"),
        BadBoard(
            "no runaway hysteresis", twinBoard.with("max_c = 350", "max_c = 350\nrunaway_hysteresis_c = 0"),
            key: "heater.reactor.runaway_hysteresis_c",
            "bad.toml:17: heater.reactor.runaway_hysteresis_c = 0 is out of range: allowed 0.1 to 50 (°C)"),
        BadBoard(
            "runaway hysteresis too wide", twinBoard.with("max_c = 350", "max_c = 350\nrunaway_hysteresis_c = 50.5"),
            key: "heater.reactor.runaway_hysteresis_c",
            "bad.toml:17: heater.reactor.runaway_hysteresis_c = 50.5 is out of range: allowed 0.1 to 50 (°C)"),
        BadBoard(
            "stuck-on at a fall", twinBoard.with("max_c = 350", "max_c = 350\nstuck_on_rise_c = -1"),
            key: "heater.reactor.stuck_on_rise_c",
            "bad.toml:17: heater.reactor.stuck_on_rise_c = -1 is out of range: allowed 0.1 to 100 (°C)"),
        BadBoard(
            "stuck-on rise too large", twinBoard.with("max_c = 350", "max_c = 350\nstuck_on_rise_c = 101"),
            key: "heater.reactor.stuck_on_rise_c",
            "bad.toml:17: heater.reactor.stuck_on_rise_c = 101 is out of range: allowed 0.1 to 100 (°C)"),
        BadBoard(
            "stuck-on at once", twinBoard.with("max_c = 350", "max_c = 350\nstuck_on_within_s = 0"),
            key: "heater.reactor.stuck_on_within_s",
            "bad.toml:17: heater.reactor.stuck_on_within_s = 0 is out of range: allowed 1 to 600 (s)"),
        BadBoard(
            "stuck-on after ten minutes", twinBoard.with("max_c = 350", "max_c = 350\nstuck_on_within_s = 601"),
            key: "heater.reactor.stuck_on_within_s",
            "bad.toml:17: heater.reactor.stuck_on_within_s = 601 is out of range: allowed 1 to 600 (s)"),
        BadBoard(
            "negative injection window", twinBoard.with("max_c = 350", "max_c = 350\ninjection_window_s = -1"),
            key: "heater.reactor.injection_window_s",
            "bad.toml:17: heater.reactor.injection_window_s = -1 is out of range: allowed 0 to 120 (s)"),
        BadBoard(
            "unbounded injection window", twinBoard.with("max_c = 350", "max_c = 350\ninjection_window_s = 121"),
            key: "heater.reactor.injection_window_s",
            "bad.toml:17: heater.reactor.injection_window_s = 121 is out of range: allowed 0 to 120 (s)"),
        BadBoard(
            "tick gap below range", twinBoard.with("max_c = 350", "max_c = 350\nmax_tick_gap_s = 0.001"),
            key: "heater.reactor.max_tick_gap_s",
            "bad.toml:17: heater.reactor.max_tick_gap_s = 0.001 is out of range: allowed 0.01 to 10 (s)"),
        BadBoard(
            "tick gap above range", twinBoard.with("max_c = 350", "max_c = 350\nmax_tick_gap_s = 11"),
            key: "heater.reactor.max_tick_gap_s",
            "bad.toml:17: heater.reactor.max_tick_gap_s = 11 is out of range: allowed 0.01 to 10 (s)"),
        BadBoard(
            "stale check within one period", twinBoard.with("max_c = 350", "max_c = 350\nstale_after_s = 0.1"),
            key: "heater.reactor.stale_after_s",
            "bad.toml:17: heater.reactor.stale_after_s = 0.1 is not above the loop period control.period_ms = 100 ms: the loop reads and ticks once a period"),
        BadBoard(
            "tick gap within one period", twinBoard.with("max_c = 350", "max_c = 350\nmax_tick_gap_s = 0.05"),
            key: "heater.reactor.max_tick_gap_s",
            "bad.toml:17: heater.reactor.max_tick_gap_s = 0.05 is not above the loop period control.period_ms = 100 ms: the loop reads and ticks once a period"),
        BadBoard(
            "default tick gap within a long period", twinBoard + "\n[control]\nperiod_ms = 500\n",
            key: "heater.reactor.max_tick_gap_s",
            "bad.toml:13: heater.reactor.max_tick_gap_s = 0.5 is not above the loop period control.period_ms = 500 ms: the loop reads and ticks once a period"),
        BadBoard(
            "tick gap beyond the dead-man", twinBoard.with("max_c = 350", "max_c = 350\nmax_tick_gap_s = 2"),
            key: "heater.reactor.max_tick_gap_s",
            "bad.toml:17: heater.reactor.max_tick_gap_s = 2 is not below control.dead_man_s = 2: the loop's stall check must act before the dead-man"),
        BadBoard(
            "heater limit below the probe's floor",
            twinBoard.with("min_c = -20", "min_c = 10").with("max_c = 350", "max_c = 5"), key: "heater.reactor.max_c",
            "bad.toml:16: heater.reactor.max_c = 5 is not above thermocouple.reactor.min_c = 10: the safety range min_c to max_c would be empty"),

        // [control].
        BadBoard(
            "loop period too short", twinBoard + "\n[control]\nperiod_ms = 5\n", key: "control.period_ms",
            "bad.toml:29: control.period_ms = 5 is out of range: allowed 10 to 1000 (ms)"),
        BadBoard(
            "loop period too long", twinBoard + "\n[control]\nperiod_ms = 1001\n", key: "control.period_ms",
            "bad.toml:29: control.period_ms = 1001 is out of range: allowed 10 to 1000 (ms)"),
        BadBoard(
            "loop period as a float", twinBoard + "\n[control]\nperiod_ms = 100.0\n", key: "control.period_ms",
            "bad.toml:29: control.period_ms = 100.0 has the wrong type: expected an integer, found a float"),
        BadBoard(
            "dead-man too eager", twinBoard + "\n[control]\ndead_man_s = 0.4\n", key: "control.dead_man_s",
            "bad.toml:29: control.dead_man_s = 0.4 is out of range: allowed 0.5 to 3 (s)"),
        BadBoard(
            "dead-man too late", twinBoard + "\n[control]\ndead_man_s = 3.5\n", key: "control.dead_man_s",
            "bad.toml:29: control.dead_man_s = 3.5 is out of range: allowed 0.5 to 3 (s)"),
        BadBoard(
            "unknown key in [control]", twinBoard + "\n[control]\nperiod = 100\n", key: "control.period",
            "bad.toml:29: unknown key control.period; allowed: period_ms, dead_man_s"),
        BadBoard(
            "control as a value", "control = 100\n" + twinBoard, key: "control",
            "bad.toml:1: control must be a section [control], found an integer"),

        // The reactor's liquid in [twin.<heater>].
        BadBoard(
            "negative charge", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 0.54\nliquid_ml = -0.1"),
            key: "twin.reactor.liquid_ml",
            "bad.toml:29: twin.reactor.liquid_ml = -0.1 is out of range: allowed 0 to 3 (mL)"),
        BadBoard(
            "charge beyond the working volume",
            twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 0.54\nliquid_ml = 3.5"),
            key: "twin.reactor.liquid_ml",
            "bad.toml:29: twin.reactor.liquid_ml = 3.5 is out of range: allowed 0 to 3 (mL)"),
        BadBoard(
            "liquid heat capacity too low",
            twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 0.54\nliquid_heat_capacity_j_per_ml_k = 0.4"),
            key: "twin.reactor.liquid_heat_capacity_j_per_ml_k",
            "bad.toml:29: twin.reactor.liquid_heat_capacity_j_per_ml_k = 0.4 is out of range: allowed 0.5 to 5 (J/(mL·K))"),
        BadBoard(
            "liquid heat capacity too high",
            twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 0.54\nliquid_heat_capacity_j_per_ml_k = 6"),
            key: "twin.reactor.liquid_heat_capacity_j_per_ml_k",
            "bad.toml:29: twin.reactor.liquid_heat_capacity_j_per_ml_k = 6 is out of range: allowed 0.5 to 5 (J/(mL·K))"),
        BadBoard(
            "no coupling", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 0"),
            key: "twin.reactor.coupling_w_per_k",
            "bad.toml:28: twin.reactor.coupling_w_per_k = 0 is out of range: allowed more than 0, up to 100 (W/K at 800 rpm)"),
        BadBoard(
            "coupling too strong", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 101"),
            key: "twin.reactor.coupling_w_per_k",
            "bad.toml:28: twin.reactor.coupling_w_per_k = 101 is out of range: allowed more than 0, up to 100 (W/K at 800 rpm)"),
        BadBoard(
            "stirring backwards", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 0.54\nstir_rpm = -1"),
            key: "twin.reactor.stir_rpm",
            "bad.toml:29: twin.reactor.stir_rpm = -1 is out of range: allowed 0 to 3000 (rpm)"),
        BadBoard(
            "stirring too fast", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 0.54\nstir_rpm = 3001"),
            key: "twin.reactor.stir_rpm",
            "bad.toml:29: twin.reactor.stir_rpm = 3001 is out of range: allowed 0 to 3000 (rpm)"),
        BadBoard(
            "empty injection", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 0.54\ninjection_ml = 0"),
            key: "twin.reactor.injection_ml",
            "bad.toml:29: twin.reactor.injection_ml = 0 is out of range: allowed more than 0, up to 3 (mL)"),
        BadBoard(
            "injection beyond the working volume",
            twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 0.54\ninjection_ml = 3.1"),
            key: "twin.reactor.injection_ml",
            "bad.toml:29: twin.reactor.injection_ml = 3.1 is out of range: allowed more than 0, up to 3 (mL)"),
        BadBoard(
            "hot injection", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 0.54\ninjection_c = 150"),
            key: "twin.reactor.injection_c",
            "bad.toml:29: twin.reactor.injection_c = 150 is out of range: allowed -10 to 100 (°C)"),
        BadBoard(
            "frozen injection", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 0.54\ninjection_c = -20"),
            key: "twin.reactor.injection_c",
            "bad.toml:29: twin.reactor.injection_c = -20 is out of range: allowed -10 to 100 (°C)"),
        BadBoard(
            "solidifying when hot", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\nsolidifies_below_c = 250"),
            key: "twin.reactor.solidifies_below_c",
            "bad.toml:28: twin.reactor.solidifies_below_c = 250 is out of range: allowed -10 to 200 (°C)"),
        BadBoard(
            "solidifying below the freezer", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\nsolidifies_below_c = -11"),
            key: "twin.reactor.solidifies_below_c",
            "bad.toml:28: twin.reactor.solidifies_below_c = -11 is out of range: allowed -10 to 200 (°C)"),
        BadBoard(
            "liquid without a coupling", twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\nliquid_ml = 0.9"),
            key: "twin.reactor.liquid_ml",
            "bad.toml:28: twin.reactor.liquid_ml needs twin.reactor.coupling_w_per_k: a zone holds liquid only when its block-liquid conductance is given"),
        BadBoard(
            "injection without a coupling",
            twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ninjection_c = 25\nliquid_ml = 0.9"),
            key: "twin.reactor.injection_c",
            "bad.toml:28: twin.reactor.injection_c needs twin.reactor.coupling_w_per_k: a zone holds liquid only when its block-liquid conductance is given"),
        BadBoard(
            "stirring without a coupling", twinBoard.with("heater_w = 150", "stir_rpm = 800\nheater_w = 150"),
            key: "twin.reactor.stir_rpm",
            "bad.toml:25: twin.reactor.stir_rpm needs twin.reactor.coupling_w_per_k: a zone holds liquid only when its block-liquid conductance is given"),
        BadBoard(
            "charge and injection overfill the reactor",
            twinBoard.with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\ncoupling_w_per_k = 0.54\nliquid_ml = 2\ninjection_ml = 1.5"),
            key: "twin.reactor.injection_ml",
            "bad.toml:30: twin.reactor.injection_ml = 1.5 with twin.reactor.liquid_ml = 2 fills 3.5 mL: the reactor holds at most 3 mL"),
        BadBoard(
            "stock solidifying above what the heater may reach",
            twinBoard.with("max_c = 350", "max_c = 120").with("loss_w_per_k = 0.35", "loss_w_per_k = 0.35\nsolidifies_below_c = 150"),
            key: "twin.reactor.solidifies_below_c",
            "bad.toml:28: twin.reactor.solidifies_below_c = 150 is not below heater.reactor.max_c = 120: the heater could never keep it liquid"),

        // Malformed TOML.
        BadBoard(
            "text after a value", twinBoard.with("max_c = 350", "max_c = 35 0"), key: nil,
            "bad.toml:16:12: unexpected '0' after the value; expected the end of the line"),
        BadBoard(
            "duplicate key", twinBoard.with("line = 17", "line = 17\nline = 18"), key: nil,
            "bad.toml:15:1: duplicate key heater.reactor.line (first defined at line 14)"),
        BadBoard(
            "section defined twice", twinBoard + "\n[heater.reactor]\n", key: nil,
            "bad.toml:28:1: table [heater.reactor] is defined twice (first at line 13)"),
        BadBoard(
            "leading zero", twinBoard.with("line = 17", "line = 017"), key: nil,
            "bad.toml:14:8: invalid number 017: leading zeros are not allowed"),
        BadBoard(
            "unquoted string", twinBoard.with("transport = \"twin\"", "transport = twin"), key: nil,
            "bad.toml:3:13: twin is not a value: strings need quotes (\"twin\")"),
    ]

    @Test(arguments: cases)
    func refused(_ bad: BadBoard) {
        let error = #expect(throws: BoardFileError.self) { try BoardFile.parse(text: bad.text, path: "bad.toml") }
        #expect(error?.description == bad.expected)
        #expect(error?.key == bad.key)
        #expect(error?.file == "bad.toml")
    }

    @Test func errorCarriesLineAndMessageSeparately() {
        let error = #expect(throws: BoardFileError.self) {
            try BoardFile.parse(text: twinBoard.with("max_c = 350", "max_c = 450"), path: "Boards/x.toml")
        }
        #expect(error == BoardFileError(
            file: "Boards/x.toml", line: 16, key: "heater.reactor.max_c",
            message: "heater.reactor.max_c = 450 is out of range: allowed 0 to 400 (°C)"))
        #expect(error?.description == "Boards/x.toml:16: heater.reactor.max_c = 450 is out of range: allowed 0 to 400 (°C)")
    }
}

@Suite struct BoardFileLoadingTests {
    /// The package root: three directories up from this file (Tests/ConfigTests/<file>).
    static let packageRoot: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)
        return parts.joined(separator: "/")
    }()

    @Test func simBoardLoads() throws {
        let path = Self.packageRoot + "/Boards/sim.toml"
        let board = try BoardFile.load(path: path)
        #expect(board.path == path)
        #expect(board.name == "sim")
        #expect(board.transport == .twin)
        #expect(board.i2cBuses == [I2CBusConfig(name: "main", device: nil)])
        #expect(board.thermocouples == [
            ThermocoupleConfig(
                name: "reactor", bus: "main", address: 0x60, part: .mcp9600, type: .k, filter: 0, adcBits: 18,
                minC: -20, maxC: 450),
            ThermocoupleConfig(
                name: "syringe", bus: "main", address: 0x61, part: .mcp9601, type: .k, filter: 0, adcBits: 18,
                minC: -20, maxC: 200),
        ])
        #expect(board.heaters == [
            HeaterConfig(
                name: "reactor", line: LineConfig(chip: "twin", offset: 17, activeHigh: true), periodMs: 1000,
                maxDuty: 1, thermocouple: "reactor", maxC: 350, safety: Self.reactorSafety),
            HeaterConfig(
                name: "syringe", line: LineConfig(chip: "twin", offset: 27, activeHigh: true), periodMs: 1000,
                maxDuty: 1, thermocouple: "syringe", maxC: 120, safety: Self.syringeSafety),
        ])
        #expect(board.control == ControlConfig(periodMs: 100, deadManS: 2))
        #expect(board.valves == [
            ValveConfig(
                name: "sample", line: LineConfig(chip: "twin", offset: 22, activeHigh: true), manualPulse: true,
                maxPulseMs: 1000),
            ValveConfig(
                name: "pressurize", line: LineConfig(chip: "twin", offset: 23, activeHigh: true), manualPulse: true,
                maxPulseMs: 5000),
        ])
        #expect(board.twin == TwinConfig(seed: 42, ambientC: 25, zones: [
            ThermalZoneConfig(
                heater: "reactor", heaterW: 150, heatCapacityJPerK: 60, lossWPerK: 0.35, initialC: 25,
                sensorLagS: 2, sensorNoiseC: 0.05,
                charge: LiquidChargeConfig(
                    liquidML: 0.9, heatCapacityJPerMLK: 1.8, couplingWPerK: 0.54, stirRPM: 800, injectionML: 0.3,
                    injectionC: 25)),
            ThermalZoneConfig(
                heater: "syringe", heaterW: 15, heatCapacityJPerK: 40, lossWPerK: 0.12, initialC: 60,
                sensorLagS: 3, sensorNoiseC: 0.05, solidifiesBelowC: 50),
        ]))
    }

    /// The shipped safety limits (the reasons are in Boards/rpi5-reactor-hat.toml).
    static let reactorSafety = HeaterSafetyConfig(
        staleAfterS: 2, stuckAfterS: 20, heatingGainC: 2, heatingGainWithinS: 20, runawayErrorIntegralCS: 120,
        runawayHysteresisC: 5, stuckOnRiseC: 10, stuckOnWithinS: 60, injectionWindowS: 30, maxTickGapS: 0.5)
    static let syringeSafety = HeaterSafetyConfig(
        staleAfterS: 2, stuckAfterS: 60, heatingGainC: 2, heatingGainWithinS: 45, runawayErrorIntegralCS: 120,
        runawayHysteresisC: 3, stuckOnRiseC: 5, stuckOnWithinS: 60, injectionWindowS: 0, maxTickGapS: 0.5)

    @Test func reactorHatBoardLoads() throws {
        let board = try BoardFile.load(path: Self.packageRoot + "/Boards/rpi5-reactor-hat.toml")
        #expect(board.name == "rpi5-reactor-hat")
        #expect(board.transport == .linux)
        #expect(board.defaultGPIOChip == "pinctrl-rp1")
        #expect(board.i2cBuses == [I2CBusConfig(name: "main", device: "/dev/i2c-1")])
        #expect(board.thermocouples.map(\.address) == [0x60, 0x67])
        #expect(board.thermocouples.map(\.part) == [.mcp9600, .mcp9601])
        #expect(board.heaters.map(\.maxC) == [350, 120])
        #expect(board.outputs == [
            OutputConfig(id: "heater.reactor", line: LineConfig(chip: "pinctrl-rp1", offset: 17, activeHigh: true)),
            OutputConfig(id: "heater.syringe", line: LineConfig(chip: "pinctrl-rp1", offset: 27, activeHigh: true)),
            OutputConfig(id: "valve.sample", line: LineConfig(chip: "pinctrl-rp1", offset: 22, activeHigh: true)),
            OutputConfig(id: "valve.pressurize", line: LineConfig(chip: "pinctrl-rp1", offset: 23, activeHigh: true)),
        ])
        #expect(board.valves.map(\.maxPulseMs) == [1000, 5000])
        #expect(board.twin == nil)
        #expect(board.heaters.map(\.safety) == [Self.reactorSafety, Self.syringeSafety])
        #expect(board.control == ControlConfig(periodMs: 100, deadManS: 2))
        #expect(board.safetyRangeCelsius(ofHeater: "reactor") == -20...350)
        #expect(board.safetyRangeCelsius(ofHeater: "syringe") == -20...120)
    }

    @Test func boardsAgreeOnWiring() throws {
        // The twin is not a second code path: the simulated rig has the real rig's parts.
        let sim = try BoardFile.load(path: Self.packageRoot + "/Boards/sim.toml")
        let hat = try BoardFile.load(path: Self.packageRoot + "/Boards/rpi5-reactor-hat.toml")
        #expect(sim.heaters.map(\.name) == hat.heaters.map(\.name))
        #expect(sim.valves.map(\.name) == hat.valves.map(\.name))
        #expect(sim.outputs.map(\.line.offset) == hat.outputs.map(\.line.offset))
        #expect(sim.heaters.map(\.maxC) == hat.heaters.map(\.maxC))
        #expect(sim.thermocouples.map(\.name) == hat.thermocouples.map(\.name))
        // The supervisor is tested on the twin: it must hold the rig's limits.
        #expect(sim.heaters.map(\.safety) == hat.heaters.map(\.safety))
        #expect(sim.control == hat.control)
    }

    @Test func missingFileNamesThePathAndTheErrno() {
        let error = #expect(throws: BoardFileError.self) {
            try BoardFile.load(path: "/nonexistent/aliquot/board.toml")
        }
        #expect(error?.description
            == "/nonexistent/aliquot/board.toml: cannot open the board file: No such file or directory (errno 2)")
        #expect(error?.line == nil)
        #expect(error?.key == nil)
    }

    @Test func directoryIsNotABoardFile() {
        let error = #expect(throws: BoardFileError.self) { try BoardFile.load(path: Self.packageRoot + "/Boards") }
        #expect(error?.message == "cannot read the board file: Is a directory (errno 21)")
    }

    @Test func fileErrorsCarryTheFileName() throws {
        let path = try TemporaryFile.create(Array("[board]\nname = \"x\"\ntransport = \"linux\"\nlines = 3\n".utf8))
        defer { TemporaryFile.remove(path) }
        let error = #expect(throws: BoardFileError.self) { try BoardFile.load(path: path) }
        #expect(error?.description == "\(path):4: unknown key board.lines; allowed: name, description, transport")
    }

    @Test func invalidUTF8IsRefused() throws {
        let path = try TemporaryFile.create([0x5B, 0x62, 0x5D, 0x0A, 0xFF, 0xFE])
        defer { TemporaryFile.remove(path) }
        let error = #expect(throws: BoardFileError.self) { try BoardFile.load(path: path) }
        #expect(error?.message == "the board file is not valid UTF-8 text")
    }

    @Test func byteOrderMarkIsAccepted() throws {
        let path = try TemporaryFile.create([0xEF, 0xBB, 0xBF] + Array(linuxBoard.utf8))
        defer { TemporaryFile.remove(path) }
        #expect(try BoardFile.load(path: path).name == "hat")
    }
}

/// A scratch file under /tmp, through the same syscalls the loader uses.
enum TemporaryFile {
    struct Failure: Error {}

    static func create(_ bytes: [UInt8]) throws -> String {
        var template = Array("/tmp/aliquot-config-test-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw Failure() }
        defer { close(descriptor) }
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw Failure() }
        return template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    static func remove(_ path: String) {
        unlink(path)
    }
}

@Suite struct ThermocoupleTypeRangeTests {
    /// The NIST ranges, as the schema must enforce them for each type.
    static let ranges: [(ThermocoupleType, Int, Int)] = [
        (.k, -270, 1372), (.j, -210, 1200), (.t, -270, 400), (.n, -270, 1300),
        (.s, -50, 1768), (.e, -270, 1000), (.b, 0, 1820), (.r, -50, 1768),
    ]

    static func board(type: ThermocoupleType, minC: Int, maxC: Int) -> String {
        twinBoard
            .with("address = 0x60", "address = 0x60\ntype = \"\(type.rawValue)\"")
            .with("min_c = -20", "min_c = \(minC)")
            .with("max_c = 450", "max_c = \(maxC)")
    }

    @Test(arguments: ranges)
    func wholeRangeIsAccepted(_ type: ThermocoupleType, _ lower: Int, _ upper: Int) throws {
        let board = try BoardFile.parse(text: Self.board(type: type, minC: lower, maxC: upper), path: "t.toml")
        #expect(board.thermocouples.first?.type == type)
        #expect(board.thermocouples.first?.minC == Double(lower))
        #expect(board.thermocouples.first?.maxC == Double(upper))
        #expect(type.nistRangeC == Double(lower)...Double(upper))
    }

    @Test(arguments: ranges)
    func beyondTheRangeIsRefused(_ type: ThermocoupleType, _ lower: Int, _ upper: Int) {
        let above = #expect(throws: BoardFileError.self) {
            try BoardFile.parse(text: Self.board(type: type, minC: lower, maxC: upper + 1), path: "t.toml")
        }
        #expect(above?.description == "t.toml:12: thermocouple.reactor.max_c = \(upper + 1) is out of range for a type "
            + "\(type.rawValue) thermocouple: allowed \(lower) to \(upper) (°C)")
        let below = #expect(throws: BoardFileError.self) {
            try BoardFile.parse(text: Self.board(type: type, minC: lower - 1, maxC: upper), path: "t.toml")
        }
        #expect(below?.description == "t.toml:11: thermocouple.reactor.min_c = \(lower - 1) is out of range for a type "
            + "\(type.rawValue) thermocouple: allowed \(lower) to \(upper) (°C)")
    }
}
