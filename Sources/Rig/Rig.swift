import Config
import Devices
import LinuxIO
import Transports

/// A board file made into working parts: thermocouple converters on their buses, heaters and
/// valves on their lines, and the clock. The one composition root: the CLI, the benchmarks and
/// the tests all build rigs here, from a board file and a transport factory.
public final class Rig {
    /// One thermocouple: its board entry and its driver.
    public struct Thermocouple {
        public let config: ThermocoupleConfig
        public let converter: MCP9600
    }

    /// One heater: its board entry and its output.
    public struct Heater {
        public let config: HeaterConfig
        public let output: HeaterOutput
    }

    /// One valve: its board entry and its output.
    public struct Valve {
        public let config: ValveConfig
        public let valve: SolenoidValve
    }

    public let board: BoardFile
    public let clock: RigClock
    public let thermocouples: [Thermocouple]
    public let heaters: [Heater]
    public let valves: [Valve]
    /// The factory the rig was built with (the twin's gives access to the plant and the simulated
    /// parts, for fault injection and for showing the true temperatures).
    public let transports: TransportFactory
    /// When the rig was built, on its clock.
    public let startedAt: MonotonicInstant
    /// The board's spectrometers, opened on first use (Spectrometers.swift).
    public let spectrometers: Spectrometers

    /// Builds the rig the board file describes: the twin for `transport = "twin"`, Linux devices
    /// for `transport = "linux"`.
    public static func open(board: BoardFile) throws(RigError) -> Rig {
        switch board.transport {
        case .twin: return try Rig(board: board, transports: TwinTransportFactory(board: board))
        case .linux: return try Rig(board: board, transports: LinuxTransportFactory(board: board))
        }
    }

    /// Builds the rig on `transports`. Outputs are requested at their off level first, then the
    /// converters are checked and configured; on any failure every line already requested is
    /// released (off) before the error is thrown.
    public init(board: BoardFile, transports: TransportFactory) throws(RigError) {
        self.board = board
        self.transports = transports
        self.clock = transports.clock
        startedAt = transports.clock.now()
        spectrometers = Spectrometers(board: board, transports: transports)

        var heaters: [Heater] = []
        var valves: [Valve] = []
        do throws(RigError) {
            for heater in board.heaters {
                let output = try Self.switchedOutput(id: "heater.\(heater.name)", line: heater.line, transports)
                heaters.append(
                    Heater(
                        config: heater,
                        output: HeaterOutput(
                            output: output, periodNanoseconds: Int64(heater.periodMs) * 1_000_000,
                            maxDuty: heater.maxDuty)))
            }
            for valve in board.valves {
                let output = try Self.switchedOutput(id: "valve.\(valve.name)", line: valve.line, transports)
                valves.append(Valve(config: valve, valve: SolenoidValve(output: output)))
            }
            var buses: [String: I2CBus] = [:]
            for bus in board.i2cBuses {
                buses[bus.name] = try transports.makeI2CBus(bus)
            }
            self.thermocouples = try board.thermocouples.map { (config) throws(RigError) in
                guard let bus = buses[config.bus] else {
                    throw RigError(part: "thermocouple.\(config.name)", action: "open", detail: "no bus \(config.bus)")
                }
                let converter = MCP9600(bus: bus, address: config.address)
                do {
                    try converter.configure(
                        part: config.part.driverPart, type: config.type.driverType, filter: config.filter,
                        adcResolutionBits: config.adcBits)
                } catch {
                    throw RigError(part: "thermocouple.\(config.name)", action: "configure", underlying: error)
                }
                return Thermocouple(config: config, converter: converter)
            }
        } catch {
            for heater in heaters { _ = Self.attempt { () throws(OutputLineError) in try heater.output.output.release() } }
            for valve in valves { _ = Self.attempt { () throws(OutputLineError) in try valve.valve.output.release() } }
            throw error
        }
        self.heaters = heaters
        self.valves = valves
    }

    private static func switchedOutput(id: String, line: LineConfig, _ transports: TransportFactory) throws(RigError)
        -> SwitchedOutput
    {
        let offLevel = SwitchedOutput.offLevel(activeHigh: line.activeHigh)
        let output = OutputConfig(id: id, line: line)
        return SwitchedOutput(
            id: id, line: try transports.makeOutputLine(output, offLevel: offLevel), activeHigh: line.activeHigh)
    }

    /// Runs `body` and returns its error instead of throwing, for paths that must go on through
    /// every output whatever one of them does (the errors are still reported).
    static func attempt(_ body: () throws(OutputLineError) -> Void) -> OutputLineError? {
        do { try body() } catch { return error }
        return nil
    }

    /// Seconds since the rig was built.
    public func elapsedSeconds() -> Double { clock.now().seconds(since: startedAt) }

    /// Every switched output of the board (heaters, then valves) by id.
    public var outputs: [SwitchedOutput] { heaters.map(\.output.output) + valves.map(\.valve.output) }

    /// The safe state: every heater off, every valve closed. Goes through every output whatever
    /// fails, and returns what failed (empty when all are off).
    @discardableResult
    public func enterSafeState() -> [RigError] {
        var failures: [RigError] = []
        for heater in heaters {
            if let error = Self.attempt({ () throws(OutputLineError) in try heater.output.off() }) {
                failures.append(RigError(part: heater.output.id, action: "switch off", underlying: error))
            }
        }
        for valve in valves {
            if let error = Self.attempt({ () throws(OutputLineError) in try valve.valve.close() }) {
                failures.append(RigError(part: valve.valve.id, action: "close", underlying: error))
            }
        }
        return failures
    }

    /// The safe state, then every line handed back to the kernel (off by the wiring).
    @discardableResult
    public func shutDown() -> [RigError] {
        var failures = enterSafeState()
        for output in outputs {
            if let error = Self.attempt({ () throws(OutputLineError) in try output.release() }) {
                failures.append(RigError(part: output.id, action: "release", underlying: error))
            }
        }
        return failures
    }

    /// The output called `id` (`heater.reactor`, `valve.sample`).
    public func output(id: String) -> SwitchedOutput? {
        outputs.first { $0.id == id }
    }
}

extension ThermocouplePart {
    var driverPart: MCP9600.Part {
        switch self {
        case .mcp9600: return .mcp9600
        case .mcp9601: return .mcp9601
        }
    }
}

extension ThermocoupleType {
    var driverType: MCP9600.ThermocoupleType {
        switch self {
        case .k: return .k
        case .j: return .j
        case .t: return .t
        case .n: return .n
        case .s: return .s
        case .e: return .e
        case .b: return .b
        case .r: return .r
        }
    }
}
