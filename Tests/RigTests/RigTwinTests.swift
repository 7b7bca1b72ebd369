import Config
import Devices
import Foundation
import Testing
import Transports
import Twin
@testable import Rig

/// The whole rig on the twin: board file -> rig -> drivers -> byte-level simulators -> plant.
struct RigTwinTests {
    @Test func theSimBoardBuildsAndReadsThePlantThroughTheConverters() throws {
        let (rig, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        let snapshot = rig.sample()
        #expect(snapshot.thermocouples.map(\.name) == ["reactor", "syringe"])
        let reactor = try #require(snapshot.thermocouple("reactor")?.usableCelsius)
        let syringe = try #require(snapshot.thermocouple("syringe")?.usableCelsius)
        // Started hot: the reactor block at 150 °C and the syringe at 60 °C (noise 0.05 °C,
        // 0.0625 °C register steps).
        #expect(abs(reactor - 150) < 0.3)
        #expect(abs(syringe - 60) < 0.3)
        let cold = try #require(snapshot.thermocouple("reactor")?.coldCelsius)
        #expect(abs(cold - (25 + TwinTransportFactory.coldJunctionRiseCelsius)) <= 0.0625)
        #expect(snapshot.outputs.map(\.id) == ["heater.reactor", "heater.syringe", "valve.sample", "valve.pressurize"])
        #expect(snapshot.outputs.allSatisfy { !$0.isOn })
        #expect(twin.lines.values.allSatisfy { !$0.isHigh })
        // Both converters were configured over the bus: type K, filter 0, 18-bit ADC.
        #expect(twin.converters["reactor"]?.sensorConfiguration == 0x00)
        #expect(twin.converters["syringe"]?.reportedPart == .mcp9601)
    }

    @Test func monitorTimeProportionsTheHeaterExactlyAndEndsSafe() throws {
        let (rig, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        var samples: [RigSnapshot] = []
        try rig.monitor(
            MonitorPlan(seconds: 60, interval: 0.25, duties: ["heater.reactor": 0.6])
        ) { samples.append($0) }
        let reactorZone = try #require(twin.plant.zoneIndex(named: "reactor"))
        let syringeZone = try #require(twin.plant.zoneIndex(named: "syringe"))
        let end = rig.elapsedSeconds()
        let reactor = twin.plant.state(of: reactorZone, at: end)
        // 60 one-second windows at 60 % of 150 W: 5400 J, through lines, senses and the plant.
        #expect(abs(reactor.heaterJoules - 5400) < 1e-6)
        #expect(twin.plant.state(of: syringeZone, at: end).heaterJoules == 0)
        // The plant under the mean power (90 W), integrated finely from 150 °C: the block (60 J/K,
        // losing 0.35 W/K) heats the 0.9 mL charge (1.62 J/K) through 0.54 W/K; `celsius` is the
        // liquid, where the thermocouple is.
        var block = 150.0
        var liquid = 150.0
        for _ in 0..<60_000 {
            let toLiquid = 0.54 * (block - liquid)
            block += 0.001 * (90 - 0.35 * (block - 25) - toLiquid) / 60
            liquid += 0.001 * toLiquid / 1.62
        }
        #expect(abs(reactor.celsius - liquid) < 0.5)
        // The reading rose through the run and every sample came 0.25 s apart.
        #expect(samples.count == 241)
        let first = try #require(samples.first?.thermocouple("reactor")?.usableCelsius)
        let last = try #require(samples.last?.thermocouple("reactor")?.usableCelsius)
        #expect(last - first > 30)
        #expect(samples.map(\.seconds) == (0...240).map { Double($0) * 0.25 })
        // Safe state afterwards: heater off in the plant, every line at its off level.
        #expect(reactor.heaterOn == false)
        #expect(twin.lines.values.allSatisfy { !$0.isHigh })
        #expect(rig.outputs.allSatisfy { !$0.isOn })
    }

    @Test func theSameSeedGivesTheSameRun() throws {
        func run() throws -> [Double] {
            let (rig, _) = try twinRig(try simBoard(reactorStartingAt: 150))
            var readings: [Double] = []
            try rig.monitor(MonitorPlan(seconds: 20, interval: 0.5, duties: ["heater.reactor": 0.3])) {
                readings += $0.thermocouples.compactMap(\.hotCelsius)
            }
            return readings
        }
        let first = try run()
        #expect(first.count == 82)
        #expect(try run() == first)
        let reseeded = try simBoard(replacing: [("seed = 42", "seed = 43")])
        let (rig, _) = try twinRig(reseeded)
        var other: [Double] = []
        try rig.monitor(MonitorPlan(seconds: 20, interval: 0.5, duties: ["heater.reactor": 0.3])) {
            other += $0.thermocouples.compactMap(\.hotCelsius)
        }
        #expect(other != first)
    }

    @Test func theHardLimitCutsTheHeaterAtMaxC() throws {
        // Start the block just under its 350 °C limit, heater at full duty.
        let board = try simBoard(reactorStartingAt: 348)
        let (rig, twin) = try twinRig(board)
        var cuts: [String] = []
        var peak = -Double.infinity
        try rig.monitor(MonitorPlan(seconds: 120, interval: 0.5, duties: ["heater.reactor": 1])) { snapshot in
            cuts += snapshot.cuts
            peak = max(peak, snapshot.thermocouple("reactor")?.hotCelsius ?? peak)
        }
        let firstCut = try #require(cuts.first)
        #expect(firstCut.contains("heater.reactor"))
        #expect(firstCut.contains("hard limit max_c = 350.0"))
        // The lag of the thermowell lets the block overshoot a little, never far.
        let zone = try #require(twin.plant.zoneIndex(named: "reactor"))
        #expect(peak >= 350)
        #expect(peak < 352)
        #expect(twin.plant.state(of: zone, at: rig.elapsedSeconds()).heaterOn == false)
    }

    /// Each sensor fault cuts the heater it feeds, and only that one.
    @Test(arguments: ["open", "short", "busy", "garbled"])
    func aSensorFaultCutsItsHeater(fault: String) throws {
        let (rig, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        let converter = try #require(twin.converters["syringe"])
        switch fault {
        case "open": converter.thermocouple = .open
        case "short": converter.thermocouple = .shorted
        case "busy": converter.isBusy = true
        default: converter.isGarbling = true
        }
        var cuts: [String] = []
        var syringeSamples: [RigSnapshot.ThermocoupleSample] = []
        try rig.monitor(
            MonitorPlan(seconds: 10, interval: 0.5, duties: ["heater.reactor": 0.5, "heater.syringe": 0.5])
        ) { snapshot in
            cuts += snapshot.cuts
            syringeSamples += snapshot.thermocouples.filter { $0.name == "syringe" }
        }
        #expect(!cuts.isEmpty)
        #expect(cuts.allSatisfy { $0.hasPrefix("heater.syringe:") })
        #expect(syringeSamples.allSatisfy { $0.usableCelsius == nil })
        let syringeZone = try #require(twin.plant.zoneIndex(named: "syringe"))
        let reactorZone = try #require(twin.plant.zoneIndex(named: "reactor"))
        #expect(twin.plant.state(of: syringeZone, at: rig.elapsedSeconds()).heaterJoules == 0)
        #expect(twin.plant.state(of: reactorZone, at: rig.elapsedSeconds()).heaterJoules > 0)
    }

    @Test func aFailedBuildReleasesEveryLineItRequested() throws {
        let board = try simBoard(reactorStartingAt: 150)
        let twin = try TwinTransportFactory(board: board)
        // The board says MCP9601 for the syringe; the part on the bus answers as an MCP9600.
        twin.converters["syringe"]?.reportedPart = .mcp9600
        #expect {
            _ = try Rig(board: board, transports: twin)
        } throws: { error in
            let text = String(describing: error)
            return text.hasPrefix("thermocouple.syringe: configure:") && text.contains("MCP9600")
        }
        #expect(twin.lines.count == 4)
        #expect(twin.lines.values.allSatisfy { $0.isReleased && !$0.isHigh })
    }

    @Test func aFailingOutputDuringMonitorStillEndsInTheSafeState() throws {
        let (rig, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        let line = try #require(twin.lines["heater.reactor"])
        var ticks = 0
        #expect {
            try rig.monitor(MonitorPlan(seconds: 10, interval: 0.5, duties: ["heater.reactor": 0.5])) { _ in
                ticks += 1
                if ticks == 3 { line.failNextSet = .other }
            }
        } throws: { error in
            String(describing: error).hasPrefix("heater.reactor: set:")
        }
        #expect(line.isHigh == false)
        #expect(rig.outputs.allSatisfy { !$0.isOn })
    }

    @Test(arguments: [
        (["heater.reactor": 1.5], "--duty heater.reactor=1.5: out of range, allowed 0 to 1.0 (max_duty)"),
        (["heater.stirrer": 0.5], "--duty heater.stirrer: no such heater"),
        (["heater.reactor": -0.1], "--duty heater.reactor=-0.1: out of range"),
    ])
    func monitorPlansAreCheckedBeforeAnythingMoves(duties: [String: Double], message: String) throws {
        let (rig, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        #expect {
            try rig.validate(MonitorPlan(seconds: 1, interval: 1, duties: duties))
        } throws: { error in
            String(describing: error).hasPrefix(message)
        }
        #expect(twin.lines.values.allSatisfy { $0.transitions == 0 })
    }
}

struct ManualOutputTests {
    @Test(arguments: [
        ("valve.sample", ManualOutputRequest.pulse(nanoseconds: 200_000_000), nil),
        ("valve.pressurize", .pulse(nanoseconds: 5_000_000_000), nil),
        ("heater.reactor", .off, nil),
        ("valve.sample", .pulse(nanoseconds: 1_000_000_001),
         "pulse of 1000.000001 ms on valve.sample is out of range: allowed more than 0 up to 1000 ms"),
        ("heater.reactor", .pulse(nanoseconds: 100_000_000),
         "heater.reactor is a heater: heaters are switched on by the control loop only"),
        ("valve.drain", .off, "no output valve.drain on"),
    ] as [(String, ManualOutputRequest, String?)])
    func requestsAreCheckedAgainstTheBoard(id: String, request: ManualOutputRequest, refusal: String?) throws {
        let (rig, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        if let refusal {
            #expect {
                _ = try rig.performManual(request, output: id)
            } throws: { error in
                String(describing: error).hasPrefix(refusal)
            }
            #expect(twin.lines.values.allSatisfy { $0.transitions == 0 })
        } else {
            let open = try rig.performManual(request, output: id)
            if case .pulse(let nanoseconds) = request {
                #expect(abs(open - Double(nanoseconds) / 1e9) < 1e-9)
                #expect(twin.lines[id]?.transitions == 2)
            }
            #expect(twin.lines[id]?.isHigh == false)
        }
    }

    @Test func aValveNotMarkedForManualPulsesIsRefusedNamingTheKey() throws {
        let board = try simBoard(replacing: [("manual_pulse = true     # `aliquot", "manual_pulse = false    # `aliquot")])
        let (rig, _) = try twinRig(board)
        #expect(throws: ManualOutputError(
            message: "edited-sim.toml: valve.sample.manual_pulse is false: this valve may not be pulsed by hand "
                + "(set manual_pulse = true in [valve.sample] to allow it)")) {
            try rig.validateManual(.pulse(nanoseconds: 100_000_000), output: "valve.sample")
        }
    }

    @Test(arguments: [
        ("200ms", Int64(200_000_000)), ("1.5s", 1_500_000_000), ("750us", 750_000), ("2s", 2_000_000_000),
    ])
    func pulseLengthsParse(text: String, nanoseconds: Int64) throws {
        #expect(try parsePulseLength(text) == nanoseconds)
    }

    @Test(arguments: ["200", "ms", "-5ms", "0s", "1.5h", "nanms", "infs"])
    func badPulseLengthsAreRefused(text: String) {
        #expect(throws: ManualOutputError.self) { try parsePulseLength(text) }
    }
}

struct LinuxRigTests {
    /// On a machine without the HAT the real board fails at its first output, naming it, and
    /// nothing is left requested.
    @Test func theHATBoardFailsCleanlyWhereThereIsNoSuchChip() throws {
        let board = try BoardFile.load(path: packageRoot + "/Boards/rpi5-reactor-hat.toml")
        #expect(board.transport == .linux)
        #expect {
            _ = try Rig.open(board: board)
        } throws: { error in
            let text = String(describing: error)
            return text.hasPrefix("heater.reactor: request output:") && text.contains("noSuchChip")
        }
    }
}
