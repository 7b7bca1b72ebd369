import Config
import Transports
import Twin

/// The digital twin of a board: a thermal plant from `[twin]`, a simulated I2C bus per
/// `[i2c.<name>]` with a byte-level MCP9600/MCP9601 at each thermocouple's address, and a
/// simulated line per output, wired the way the board file says (a heater's line drives its
/// zone's heater through the line's sense; a heater's thermocouple reads its zone).
///
/// It also gives what the heat command and the safety tests need from the twin beyond the
/// transports: the scheduled hot injection into a zone's liquid at the board's `injection_ml` and
/// `injection_c`, and physical faults (a dead element, a welded SSR, a thermocouple out of the
/// liquid, the stirrer stopped), each taking effect at the virtual clock's now. A line stuck at a
/// level (a driver fault before the SSR) is `lines[id]?.stuckAt`.
public final class TwinTransportFactory: TransportFactory {
    public let virtualClock: VirtualClock
    public let plant: ThermalPlant
    /// The simulated buses by `[i2c.<name>]` name.
    public let buses: [String: SimulatedI2CBus]
    /// The simulated thermocouple converters by `[thermocouple.<name>]` name.
    public let converters: [String: MCP9600Simulator]
    /// The simulated output lines by output id (`heater.reactor`).
    public private(set) var lines: [String: SimulatedOutputLine] = [:]
    /// The simulated USB bus the spectrometers are plugged into.
    public let usbBus: SimulatedUSBBus
    /// The simulated spectrometers by role, from `[spectrometer.<name>]`.
    public let spectrometerSimulators: [SpectrometerRole: OceanOpticsSimulator]
    /// The reactor's contents, chemistry, pressure, selector valve, pumps and sampling line.
    public let reactor: TwinReactor
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
        plant = ThermalPlant(ambientCelsius: twin.ambientC, zones: twin.zones.map(Self.zoneParameters), seed: twin.seed)

        (buses, converters) = Self.assembleConverters(board: board, plant: plant, clock: virtualClock, ambient: twin.ambientC)
        (usbBus, spectrometerSimulators) = Self.assembleSpectrometers(board: board, clock: virtualClock, seed: twin.seed)
        reactor = TwinReactor(
            board: board, plant: plant, clock: virtualClock,
            optics: spectrometerSimulators.mapValues(\.optics))
    }

    /// A simulated serial line to the pump's byte-level simulator.
    public func makeSerialLine(_ pump: PumpConfig) throws(RigError) -> any SerialLine {
        guard let device = reactor.serialDevice(ofPump: pump.name) else {
            throw RigError(part: pump.id, action: "open", detail: "no such pump in the twin")
        }
        return SimulatedSerialLine(name: "twin:\(pump.id)", device: device, clock: virtualClock)
    }

    /// The plant zone of a `[twin.<heater>]` section: the body, and the liquid when the zone has
    /// a block–liquid coupling.
    public static func zoneParameters(_ zone: ThermalZoneConfig) -> ThermalPlant.ZoneParameters {
        ThermalPlant.ZoneParameters(
            name: zone.heater, heaterWatts: zone.heaterW, heatCapacityJoulesPerKelvin: zone.heatCapacityJPerK,
            lossWattsPerKelvin: zone.lossWPerK, initialCelsius: zone.initialC,
            sensorLagSeconds: zone.sensorLagS, sensorNoiseCelsius: zone.sensorNoiseC,
            charge: zone.charge.map {
                ThermalPlant.LiquidCharge(
                    millilitres: $0.liquidML, heatCapacityJoulesPerMillilitreKelvin: $0.heatCapacityJPerMLK,
                    couplingWattsPerKelvinAt800RPM: $0.couplingWPerK, stirRPM: $0.stirRPM)
            },
            solidifiesBelowCelsius: zone.solidifiesBelowC)
    }

    /// Seconds of virtual time since the start: the plant's time axis.
    public var nowSeconds: Double { virtualClock.now().seconds(since: .zero) }

    /// The plant zone heated by `heater`.
    public func zone(ofHeater heater: String) throws(RigError) -> Int {
        guard let index = plant.zoneIndex(named: heater) else {
            throw RigError(
                part: "twin.\(heater)", action: "find zone",
                detail: "no [twin.\(heater)] zone; zones: \(plant.zones.map(\.name).joined(separator: ", "))")
        }
        return index
    }

    /// The state of `heater`'s zone now.
    public func state(ofHeater heater: String) throws(RigError) -> ThermalPlant.ZoneState {
        plant.state(of: try zone(ofHeater: heater), at: nowSeconds)
    }

    /// The board's scheduled injection for `heater`'s zone (`injection_ml` at `injection_c`), if
    /// it declares one.
    public func scheduledInjection(ofHeater heater: String) -> (volumeML: Double, celsius: Double)? {
        guard let charge = board.twin?.zones.first(where: { $0.heater == heater })?.charge,
            let volume = charge.injectionML
        else { return nil }
        return (volume, charge.injectionC)
    }

    /// The scheduled hot injection now: the board's `injection_ml` at `injection_c` into the liquid
    /// of `heater`'s zone (the known disturbance the loop's feed-forward answers).
    @discardableResult
    public func injectScheduled(intoHeater heater: String) throws(RigError) -> ThermalPlant.Injection {
        guard let scheduled = scheduledInjection(ofHeater: heater) else {
            throw RigError(
                part: "twin.\(heater)", action: "inject",
                detail: "\(board.path) declares no injection_ml for [twin.\(heater)]")
        }
        return try inject(intoHeater: heater, volumeML: scheduled.volumeML, celsius: scheduled.celsius)
    }

    /// An injection of `volumeML` at `celsius` into the liquid of `heater`'s zone now.
    @discardableResult
    public func inject(intoHeater heater: String, volumeML: Double, celsius: Double) throws(RigError)
        -> ThermalPlant.Injection
    {
        let index = try zone(ofHeater: heater)
        guard plant.zones[index].charge != nil else {
            throw RigError(
                part: "twin.\(heater)", action: "inject",
                detail: "the zone holds no liquid: give coupling_w_per_k in [twin.\(heater)] of \(board.path)")
        }
        guard volumeML > 0 && volumeML.isFinite && celsius.isFinite else {
            throw RigError(
                part: "twin.\(heater)", action: "inject",
                detail: "\(volumeML) mL at \(celsius) °C: the volume must be positive and both finite")
        }
        return plant.inject(zone: index, volumeML: volumeML, celsius: celsius, at: nowSeconds)
    }

    /// Breaks `heater` physically from now on: `.elementOpen` (the SSR switches, nothing heats) or
    /// `.ssrWeldedOn` (full power whatever the line says); `.none` repairs it.
    public func setHeaterFault(_ fault: ThermalPlant.HeaterFault, heater: String) throws(RigError) {
        plant.setHeaterFault(of: try zone(ofHeater: heater), fault, at: nowSeconds)
    }

    /// Moves `heater`'s thermocouple from now on: out of the liquid onto the block, or out into the room.
    public func setSensorPlacement(_ placement: ThermalPlant.SensorPlacement, heater: String) throws(RigError) {
        plant.setSensorPlacement(of: try zone(ofHeater: heater), placement, at: nowSeconds)
    }

    /// Sets the stirrer of `heater`'s zone from now on (0: stopped, the liquid couples to the
    /// block by natural convection only).
    public func setStirring(rpm: Double, heater: String) throws(RigError) {
        let index = try zone(ofHeater: heater)
        guard plant.zones[index].charge != nil else {
            throw RigError(part: "twin.\(heater)", action: "stir", detail: "the zone holds no liquid")
        }
        guard rpm >= 0 && rpm.isFinite else {
            throw RigError(part: "twin.\(heater)", action: "stir", detail: "\(rpm) rpm: the speed must be 0 or more")
        }
        plant.setStirring(of: index, rpm: rpm, at: nowSeconds)
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
        if output.id == "valve.\(board.sampling?.valve ?? "sample")" {
            let reactor = reactor
            let activeHigh = output.line.activeHigh
            line.onChange = { level in reactor.samplingValve(open: level == activeHigh) }
        }
        lines[output.id] = line
        return line
    }
}
