import Config
import Transports
import Twin

/// The digital twin of a board: a thermal plant from `[twin]`, a simulated I2C bus per
/// `[i2c.<name>]` with a byte-level MCP9600/MCP9601 at each thermocouple's address, and a
/// simulated line per output, wired the way the board file says (a heater's line drives its
/// zone's heater through the line's sense; a heater's thermocouple reads its zone).
public final class TwinTransportFactory: TransportFactory {
    public let virtualClock: VirtualClock
    public let plant: ThermalPlant
    /// The simulated buses by `[i2c.<name>]` name.
    public let buses: [String: SimulatedI2CBus]
    /// The simulated thermocouple converters by `[thermocouple.<name>]` name.
    public let converters: [String: MCP9600Simulator]
    /// The simulated output lines by output id (`heater.reactor`).
    public private(set) var lines: [String: SimulatedOutputLine] = [:]
    private let board: BoardFile

    public var clock: RigClock { virtualClock }

    /// The cold junction (the converter's own die) sits a little above the room on the board.
    public static let coldJunctionRiseCelsius = 3.0

    public init(board: BoardFile) throws(RigError) {
        guard let twin = board.twin else {
            throw RigError(part: "twin", action: "build", detail: "\(board.path) has no [twin] section")
        }
        self.board = board
        virtualClock = VirtualClock()
        let zones = twin.zones.map { zone in
            ThermalPlant.ZoneParameters(
                name: zone.heater, heaterWatts: zone.heaterW, heatCapacityJoulesPerKelvin: zone.heatCapacityJPerK,
                lossWattsPerKelvin: zone.lossWPerK, initialCelsius: zone.initialC,
                sensorLagSeconds: zone.sensorLagS, sensorNoiseCelsius: zone.sensorNoiseC)
        }
        plant = ThermalPlant(ambientCelsius: twin.ambientC, zones: zones, seed: twin.seed)

        (buses, converters) = Self.assembleConverters(board: board, plant: plant, clock: virtualClock, ambient: twin.ambientC)
    }

    /// A simulated bus per `[i2c.<name>]` and a converter per thermocouple at its address, reading
    /// the zone of the heater that names it (or the room, if no heater does).
    private static func assembleConverters(
        board: BoardFile, plant: ThermalPlant, clock: VirtualClock, ambient: Double
    ) -> ([String: SimulatedI2CBus], [String: MCP9600Simulator]) {
        var buses: [String: SimulatedI2CBus] = [:]
        var converters: [String: MCP9600Simulator] = [:]
        for bus in board.i2cBuses {
            buses[bus.name] = SimulatedI2CBus(name: "twin:\(bus.name)")
        }
        for thermocouple in board.thermocouples {
            guard let bus = buses[thermocouple.bus] else { continue }  // the loader checked the reference
            let heater = board.heaters.first { $0.thermocouple == thermocouple.name }
            let zone = heater.flatMap { plant.zoneIndex(named: $0.name) }
            let converter = MCP9600Simulator(
                part: thermocouple.part == .mcp9601 ? .mcp9601 : .mcp9600,
                hotJunction: hotJunctionSource(plant: plant, clock: clock, zone: zone, ambient: ambient),
                coldJunction: { ambient + coldJunctionRiseCelsius })
            bus.attach(converter, at: thermocouple.address)
            converters[thermocouple.name] = converter
        }
        return (buses, converters)
    }

    private static func hotJunctionSource(
        plant: ThermalPlant, clock: VirtualClock, zone: Int?, ambient: Double
    ) -> () -> Double {
        guard let zone else { return { ambient } }
        return { plant.measuredCelsius(of: zone, at: clock.now().seconds(since: .zero)) }
    }

    public func makeI2CBus(_ bus: I2CBusConfig) throws(RigError) -> I2CBus {
        guard let simulated = buses[bus.name] else {
            throw RigError(part: "i2c.\(bus.name)", action: "open", detail: "no such bus in the twin")
        }
        return simulated
    }

    public func makeOutputLine(_ output: OutputConfig, offLevel: Bool) throws(RigError) -> OutputLine {
        let line = SimulatedOutputLine(
            name: "twin:\(output.id)", initialLevel: offLevel,
            releasedLevel: false)  // the wiring's pull-down
        if let heater = board.heaters.first(where: { "heater.\($0.name)" == output.id }),
            let zone = plant.zoneIndex(named: heater.name)
        {
            let activeHigh = output.line.activeHigh
            let plant = plant
            let clock = virtualClock
            line.onChange = { level in
                plant.setHeater(of: zone, on: level == activeHigh, at: clock.now().seconds(since: .zero))
            }
        }
        lines[output.id] = line
        return line
    }
}
