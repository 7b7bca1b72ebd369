/// A board file: the wiring and hard limits of one rig, declared in TOML under `Boards/`.
///
/// Board files hold only what the hardware is (buses, addresses, lines, senses, limits, and for the
/// twin its plant). Chemistry and schedules live in campaign files; tuned gains in the tuned state.
/// Every command loads its board through `BoardFile.load(path:)` before touching any output.
public struct BoardFile: Equatable, Sendable {
    /// The file it was read from, as given (used in messages).
    public var path: String
    /// `[board] name`.
    public var name: String
    /// `[board] description` (optional, empty when absent).
    public var description: String
    /// `[board] transport`: the twin's simulated parts, or Linux devices.
    public var transport: TransportKind
    /// `[gpio] chip`: the default GPIO chip (name, path or label) for outputs that name none.
    public var defaultGPIOChip: String?
    /// `[i2c.<name>]` sections, in file order.
    public var i2cBuses: [I2CBusConfig]
    /// `[thermocouple.<name>]` sections, in file order.
    public var thermocouples: [ThermocoupleConfig]
    /// `[heater.<name>]` sections, in file order.
    public var heaters: [HeaterConfig]
    /// `[valve.<name>]` sections, in file order.
    public var valves: [ValveConfig]
    /// `[twin]` and `[twin.<heater name>]`: required when `transport` is `twin`, refused otherwise.
    public var twin: TwinConfig?

    public init(
        path: String, name: String, description: String, transport: TransportKind,
        defaultGPIOChip: String?, i2cBuses: [I2CBusConfig], thermocouples: [ThermocoupleConfig],
        heaters: [HeaterConfig], valves: [ValveConfig], twin: TwinConfig?
    ) {
        self.path = path
        self.name = name
        self.description = description
        self.transport = transport
        self.defaultGPIOChip = defaultGPIOChip
        self.i2cBuses = i2cBuses
        self.thermocouples = thermocouples
        self.heaters = heaters
        self.valves = valves
        self.twin = twin
    }

    /// Every output on the board (heaters, then valves), by its id such as `heater.reactor`.
    public var outputs: [OutputConfig] {
        heaters.map { OutputConfig(id: "heater.\($0.name)", line: $0.line) }
            + valves.map { OutputConfig(id: "valve.\($0.name)", line: $0.line) }
    }
}

public enum TransportKind: String, Equatable, Sendable, CaseIterable {
    /// Every part is simulated byte for byte by the twin.
    case twin
    /// Real devices: `/dev/i2c-N`, GPIO chips through libgpiod.
    case linux
}

/// `[i2c.<name>]`: one I2C bus.
public struct I2CBusConfig: Equatable, Sendable {
    public var name: String
    /// `device`: the i2c-dev node, `/dev/i2c-<N>`. Required for `linux`; absent for `twin`.
    public var device: String?

    public init(name: String, device: String?) {
        self.name = name
        self.device = device
    }
}

/// The thermocouple converter part.
public enum ThermocouplePart: String, Equatable, Sendable, CaseIterable {
    case mcp9600 = "MCP9600"
    case mcp9601 = "MCP9601"
}

/// Thermocouple types in the order of the MCP9600 sensor-configuration register (bits 6..4).
public enum ThermocoupleType: String, Equatable, Sendable, CaseIterable {
    case k = "K", j = "J", t = "T", n = "N", s = "S", e = "E", b = "B", r = "R"
}

/// `[thermocouple.<name>]`: one MCP9600/MCP9601 and its thermocouple.
public struct ThermocoupleConfig: Equatable, Sendable {
    public var name: String
    /// `bus`: the name of an `[i2c.<name>]` section.
    public var bus: String
    /// `address`: 7-bit, 0x60...0x67.
    public var address: UInt8
    /// `part`: "MCP9600" or "MCP9601".
    public var part: ThermocouplePart
    /// `type`: "K", "J", "T", "N", "S", "E", "B" or "R".
    public var type: ThermocoupleType
    /// `filter`: digital filter coefficient 0...7 (0 = off).
    public var filter: UInt8
    /// `adc_bits`: 18, 16, 14 or 12 (default 18).
    public var adcBits: Int
    /// `min_c`, `max_c`: the plausible range; a reading outside it is a sensor fault.
    public var minC: Double
    public var maxC: Double

    public init(
        name: String, bus: String, address: UInt8, part: ThermocouplePart, type: ThermocoupleType,
        filter: UInt8, adcBits: Int, minC: Double, maxC: Double
    ) {
        self.name = name
        self.bus = bus
        self.address = address
        self.part = part
        self.type = type
        self.filter = filter
        self.adcBits = adcBits
        self.minC = minC
        self.maxC = maxC
    }
}

/// Where an output is wired: a GPIO chip, a line offset, and its logical sense.
public struct LineConfig: Equatable, Sendable {
    /// `chip` (or `[gpio] chip`): chip name (`gpiochip0`), path (`/dev/gpiochip0`) or label
    /// (`pinctrl-rp1`). For the twin it only names the line.
    public var chip: String
    /// `line`: the offset on the chip, 0...511.
    public var offset: Int
    /// `active`: "high" (default) or "low": which level switches the load on.
    public var activeHigh: Bool

    public init(chip: String, offset: Int, activeHigh: Bool) {
        self.chip = chip
        self.offset = offset
        self.activeHigh = activeHigh
    }
}

/// One output as every command sees it: `heater.reactor`, `valve.sample`...
public struct OutputConfig: Equatable, Sendable {
    /// `heater.<name>` or `valve.<name>`.
    public var id: String
    public var line: LineConfig

    public init(id: String, line: LineConfig) {
        self.id = id
        self.line = line
    }
}

/// `[heater.<name>]`: a heater SSR, time-proportioned.
public struct HeaterConfig: Equatable, Sendable {
    public var name: String
    public var line: LineConfig
    /// `period_ms`: the time-proportioning window, 100...10000 ms.
    public var periodMs: Int
    /// `max_duty`: the largest fraction of each window the heater may be on, 0 < d <= 1.
    public var maxDuty: Double
    /// `thermocouple`: the name of the `[thermocouple.<name>]` that measures what this heats.
    public var thermocouple: String
    /// `max_c`: the hard limit of what this heats, 0...400 °C (the reactor is rated 400 °C);
    /// at most the thermocouple's `max_c`.
    public var maxC: Double

    public init(
        name: String, line: LineConfig, periodMs: Int, maxDuty: Double, thermocouple: String,
        maxC: Double
    ) {
        self.name = name
        self.line = line
        self.periodMs = periodMs
        self.maxDuty = maxDuty
        self.thermocouple = thermocouple
        self.maxC = maxC
    }
}

/// `[valve.<name>]`: a solenoid valve.
public struct ValveConfig: Equatable, Sendable {
    public var name: String
    public var line: LineConfig
    /// `manual_pulse`: whether `aliquot set-output` may pulse it by hand (default false).
    public var manualPulse: Bool
    /// `max_pulse_ms`: the longest pulse by hand, 1...10000 ms (default 1000).
    public var maxPulseMs: Int

    public init(name: String, line: LineConfig, manualPulse: Bool, maxPulseMs: Int) {
        self.name = name
        self.line = line
        self.manualPulse = manualPulse
        self.maxPulseMs = maxPulseMs
    }
}

/// `[twin]`: the simulated plant, for `transport = "twin"`.
public struct TwinConfig: Equatable, Sendable {
    /// `seed`: the seed of every random draw (noise), 0...2^63-1; same seed, same run.
    public var seed: UInt64
    /// `ambient_c`: the room temperature, -10...50 °C.
    public var ambientC: Double
    /// `[twin.<heater name>]`: one thermal zone per heater, in file order.
    public var zones: [ThermalZoneConfig]

    public init(seed: UInt64, ambientC: Double, zones: [ThermalZoneConfig]) {
        self.seed = seed
        self.ambientC = ambientC
        self.zones = zones
    }
}

/// `[twin.<heater name>]`: a lumped first-order thermal zone heated by that heater and measured by
/// that heater's thermocouple.
public struct ThermalZoneConfig: Equatable, Sendable {
    /// The heater's name (`reactor` for `[twin.reactor]` and `[heater.reactor]`).
    public var heater: String
    /// `heater_w`: full heater power, 0 < P <= 5000 W.
    public var heaterW: Double
    /// `heat_capacity_j_per_k`: 0 < C <= 100000 J/K.
    public var heatCapacityJPerK: Double
    /// `loss_w_per_k`: heat loss to ambient, 0 < k <= 1000 W/K.
    public var lossWPerK: Double
    /// `initial_c`: the temperature at start, -10...400 °C (default: ambient).
    public var initialC: Double
    /// `sensor_lag_s`: first-order lag of the thermocouple, 0...60 s (default 0).
    public var sensorLagS: Double
    /// `sensor_noise_c`: standard deviation of the reading noise, 0...5 °C (default 0).
    public var sensorNoiseC: Double

    public init(
        heater: String, heaterW: Double, heatCapacityJPerK: Double, lossWPerK: Double,
        initialC: Double, sensorLagS: Double, sensorNoiseC: Double
    ) {
        self.heater = heater
        self.heaterW = heaterW
        self.heatCapacityJPerK = heatCapacityJPerK
        self.lossWPerK = lossWPerK
        self.initialC = initialC
        self.sensorLagS = sensorLagS
        self.sensorNoiseC = sensorNoiseC
    }
}
