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
    /// `[control]`: the control loop's period and dead-man timeout (defaults when absent).
    public var control: ControlConfig
    /// `[twin]` and `[twin.<heater name>]`: required when `transport` is `twin`, refused otherwise.
    public var twin: TwinConfig?
    /// `[spectrometer.abs]`, `[spectrometer.pl]`, in file order.
    public var spectrometers: [SpectrometerConfig]
    // MARK: - pumps (P1)
    /// `[pump.<name>]` sections, in file order (the loader sets them; empty when there are none).
    public var pumps: [PumpConfig] = []
    // MARK: - pressure, selector, sampling (P2)
    /// `[pressure]`: the head space's pressure controller (nil when the board has none).
    public var pressure: PressureConfig? = nil
    /// `[selector]`: the selector valve (nil when the board has none).
    public var selector: SelectorConfig? = nil
    /// `[sampling]`: the sampling line and aliquot (nil when the board has none; needs `[pressure]`).
    public var sampling: SamplingConfig? = nil
    // MARK: - journal, uplink (J)
    /// `[journal]`: the durable journal's file and storage budget (defaults when absent).
    public var journal: JournalConfig = .defaults
    /// `[uplink]`: the lab server the journal is pushed to (nil when absent).
    public var uplink: UplinkConfig? = nil

    public init(
        path: String, name: String, description: String, transport: TransportKind,
        defaultGPIOChip: String?, i2cBuses: [I2CBusConfig], thermocouples: [ThermocoupleConfig],
        heaters: [HeaterConfig], valves: [ValveConfig], control: ControlConfig = .defaults, twin: TwinConfig?,
        spectrometers: [SpectrometerConfig] = []
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
        self.control = control
        self.twin = twin
        self.spectrometers = spectrometers
    }

    /// The `[spectrometer.<name>]` of `role`, if the board has one.
    public func spectrometer(_ role: SpectrometerRole) -> SpectrometerConfig? {
        spectrometers.first { $0.role == role }
    }

    /// Every output on the board (heaters, then valves), by its id such as `heater.reactor`.
    public var outputs: [OutputConfig] {
        heaters.map { OutputConfig(id: "heater.\($0.name)", line: $0.line) }
            + valves.map { OutputConfig(id: "valve.\($0.name)", line: $0.line) }
    }

    /// The range the safety supervisor holds heater `name`'s reading to: from its thermocouple's
    /// `min_c` to the heater's own `max_c` (`SafetyLimits.minCelsius`, `maxCelsius`). Nil if there
    /// is no such heater (or, in a board not from the loader, the range is empty: the loader
    /// refuses a heater `max_c` not above its thermocouple's `min_c`).
    public func safetyRangeCelsius(ofHeater name: String) -> ClosedRange<Double>? {
        guard let heater = heaters.first(where: { $0.name == name }),
            let thermocouple = thermocouples.first(where: { $0.name == heater.thermocouple }),
            thermocouple.minC < heater.maxC
        else { return nil }
        return thermocouple.minC...heater.maxC
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
    /// The safety supervisor's limits for this heater's loop (the `SafetyLimits` keys).
    public var safety: HeaterSafetyConfig

    public init(
        name: String, line: LineConfig, periodMs: Int, maxDuty: Double, thermocouple: String,
        maxC: Double, safety: HeaterSafetyConfig = .defaults
    ) {
        self.name = name
        self.line = line
        self.periodMs = periodMs
        self.maxDuty = maxDuty
        self.thermocouple = thermocouple
        self.maxC = maxC
        self.safety = safety
    }
}

/// The safety keys of `[heater.<name>]`, one to one with the Control module's `SafetyLimits`
/// (whose `minCelsius` is the thermocouple's `min_c` and `maxCelsius` the heater's `max_c`; see
/// `BoardFile.safetyRangeCelsius(ofHeater:)`). Every key is optional; `defaults` holds the values
/// used when it is absent. The checks follow Klipper's `verify_heater` (heating gain within a
/// time, a hysteresis, an error integral) with the scheduled injection window on top.
public struct HeaterSafetyConfig: Equatable, Sendable {
    /// `stale_after_s`: no new reading for this long trips (`SafetyLimits.staleAfterSeconds`), 0.1...60 s,
    /// above the loop period.
    public var staleAfterS: Double
    /// `stuck_after_s`: a reading exactly constant this long while heating trips, 1...3600 s.
    public var stuckAfterS: Double
    /// `heating_gain_c`: the rise required after a setpoint increase, 0.1...50 °C ...
    public var heatingGainC: Double
    /// ... `heating_gain_within_s`: within this time, 1...600 s.
    public var heatingGainWithinS: Double
    /// `runaway_error_integral_c_s`: the Klipper `max_error` integral of (setpoint − hysteresis − T), 1...10000 °C·s.
    public var runawayErrorIntegralCS: Double
    /// `runaway_hysteresis_c`: Klipper's `hysteresis`, 0.1...50 °C.
    public var runawayHysteresisC: Double
    /// `stuck_on_rise_c`: a rise this large with the heater off and above setpoint means the
    /// heater is stuck on, 0.1...100 °C ...
    public var stuckOnRiseC: Double
    /// ... `stuck_on_within_s`: within this time, 1...600 s.
    public var stuckOnWithinS: Double
    /// `injection_window_s`: the bounded window after a scheduled injection in which the drop is
    /// allowed, 0...120 s (0: this loop never takes injections).
    public var injectionWindowS: Double
    /// `max_tick_gap_s`: a gap between two control steps above this is a loop stall, 0.01...10 s;
    /// above the loop period and below the dead-man timeout (`[control]`).
    public var maxTickGapS: Double

    public init(
        staleAfterS: Double, stuckAfterS: Double, heatingGainC: Double, heatingGainWithinS: Double,
        runawayErrorIntegralCS: Double, runawayHysteresisC: Double, stuckOnRiseC: Double, stuckOnWithinS: Double,
        injectionWindowS: Double, maxTickGapS: Double
    ) {
        self.staleAfterS = staleAfterS
        self.stuckAfterS = stuckAfterS
        self.heatingGainC = heatingGainC
        self.heatingGainWithinS = heatingGainWithinS
        self.runawayErrorIntegralCS = runawayErrorIntegralCS
        self.runawayHysteresisC = runawayHysteresisC
        self.stuckOnRiseC = stuckOnRiseC
        self.stuckOnWithinS = stuckOnWithinS
        self.injectionWindowS = injectionWindowS
        self.maxTickGapS = maxTickGapS
    }

    /// The values of absent keys: Klipper's `verify_heater` defaults for the gain and runaway
    /// checks (2 °C within 20 s, 5 °C hysteresis, 120 °C·s), a stale reading after 2 s (several
    /// 18-bit conversions missed), a stuck one after 30 s, stuck-on at 10 °C within 60 s (above the
    /// liquid's natural overshoot after a cut), a 30 s injection window (the liquid recovers with
    /// τ ≈ 4 s) and a stall at 0.5 s (five 100 ms periods, well under the 2 s dead-man).
    public static let defaults = HeaterSafetyConfig(
        staleAfterS: 2, stuckAfterS: 30, heatingGainC: 2, heatingGainWithinS: 20, runawayErrorIntegralCS: 120,
        runawayHysteresisC: 5, stuckOnRiseC: 10, stuckOnWithinS: 60, injectionWindowS: 30, maxTickGapS: 0.5)
}

/// `[control]`: the real-time control loop.
public struct ControlConfig: Equatable, Sendable {
    /// `period_ms`: the loop period, 10...1000 ms (default 100).
    public var periodMs: Int
    /// `dead_man_s`: the dead-man thread forces every heater off when the loop has not ticked for
    /// this long, 0.5...3 s (default 2).
    public var deadManS: Double

    public init(periodMs: Int, deadManS: Double) {
        self.periodMs = periodMs
        self.deadManS = deadManS
    }

    public static let defaults = ControlConfig(periodMs: 100, deadManS: 2)
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

/// `[twin.<heater name>]`: a lumped thermal zone heated by that heater and measured by that
/// heater's thermocouple: a heated body (block, syringe) and, with `coupling_w_per_k`, a stirred
/// liquid charge inside it (the reactor).
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
    /// The liquid compartment (present when `coupling_w_per_k` is given); nil: the body alone.
    public var charge: LiquidChargeConfig?
    /// `solidifies_below_c`: what the zone keeps warm (the Cd-oleate stock) solidifies below this,
    /// -10...200 °C, below the heater's `max_c` (optional).
    public var solidifiesBelowC: Double?

    public init(
        heater: String, heaterW: Double, heatCapacityJPerK: Double, lossWPerK: Double,
        initialC: Double, sensorLagS: Double, sensorNoiseC: Double, charge: LiquidChargeConfig? = nil,
        solidifiesBelowC: Double? = nil
    ) {
        self.heater = heater
        self.heaterW = heaterW
        self.heatCapacityJPerK = heatCapacityJPerK
        self.lossWPerK = lossWPerK
        self.initialC = initialC
        self.sensorLagS = sensorLagS
        self.sensorNoiseC = sensorNoiseC
        self.charge = charge
        self.solidifiesBelowC = solidifiesBelowC
    }
}

/// The liquid keys of a `[twin.<heater name>]` zone: the reactor's charge, its coupling to the
/// block, and the default scheduled injection.
public struct LiquidChargeConfig: Equatable, Sendable {
    /// The largest working volume of the reactor, mL (DESIGN §1: 1-3 mL): charge plus injection.
    public static let maximumMillilitres = 3.0

    /// `liquid_ml`: the charge at start, 0...3 mL (default 0: an empty reactor).
    public var liquidML: Double
    /// `liquid_heat_capacity_j_per_ml_k`: volumetric heat capacity, 0.5...5 J/(mL·K) (default 1.8, ODE/OA).
    public var heatCapacityJPerMLK: Double
    /// `coupling_w_per_k`: block–liquid conductance at 800 rpm, more than 0 up to 100 W/K.
    public var couplingWPerK: Double
    /// `stir_rpm`: the stirrer speed, 0...3000 rpm (default 800).
    public var stirRPM: Double
    /// `injection_ml`: the scheduled injection's volume, more than 0 up to 3 mL, with `liquid_ml`
    /// at most 3 mL (optional: nil when the board schedules none).
    public var injectionML: Double?
    /// `injection_c`: the injected liquid's temperature, -10...100 °C (default: the room).
    public var injectionC: Double

    public init(
        liquidML: Double, heatCapacityJPerMLK: Double, couplingWPerK: Double, stirRPM: Double,
        injectionML: Double?, injectionC: Double
    ) {
        self.liquidML = liquidML
        self.heatCapacityJPerMLK = heatCapacityJPerMLK
        self.couplingWPerK = couplingWPerK
        self.stirRPM = stirRPM
        self.injectionML = injectionML
        self.injectionC = injectionC
    }
}

/// The spectrometer models the rig can use.
public enum SpectrometerModel: String, Equatable, Sendable, CaseIterable {
    case usb2000Plus = "USB2000+"
    case flameS = "FLAME-S"
    case usb4000 = "USB4000"

    /// USB product ID (vendor 0x2457): USB2000+ and FLAME-S share 0x101E.
    public var productID: UInt16 { self == .usb4000 ? 0x1022 : 0x101E }

    /// The integration times the model takes, ms: USB2000+/FLAME-S 1 ms, USB4000 10 µs; 65 s.
    public var integrationRangeMs: ClosedRange<Double> { self == .usb4000 ? 0.01...65_000 : 1...65_000 }
}

/// What a spectrometer looks at, from its section name.
public enum SpectrometerRole: String, Equatable, Sendable, CaseIterable {
    /// `[spectrometer.abs]`: UV-vis absorbance through the flow cell (deuterium-halogen lamp).
    case absorbance = "abs"
    /// `[spectrometer.pl]`: photoluminescence excited at 385 nm.
    case emission = "pl"
}

/// `[spectrometer.<name>]`: one Ocean Optics spectrometer, `abs` or `pl`.
public struct SpectrometerConfig: Equatable, Sendable {
    /// `abs` or `pl`.
    public var role: SpectrometerRole
    /// `model`: "USB2000+", "FLAME-S" or "USB4000".
    public var model: SpectrometerModel
    /// `serial`: the unit's serial number (information slot 0), 1...14 characters; nil: the first
    /// free spectrometer of the model. Required when both spectrometers share a USB product ID.
    public var serialNumber: String?
    /// `integration_ms`: within the model's limits (`SpectrometerModel.integrationRangeMs`).
    public var integrationMs: Double
    /// The twin's optics and detector (twin boards only; nil on linux boards).
    public var twin: SpectrometerTwinConfig?

    public init(
        role: SpectrometerRole, model: SpectrometerModel, serialNumber: String?, integrationMs: Double,
        twin: SpectrometerTwinConfig?
    ) {
        self.role = role
        self.model = model
        self.serialNumber = serialNumber
        self.integrationMs = integrationMs
        self.twin = twin
    }

    /// `spectrometer.abs`, `spectrometer.pl`.
    public var id: String { "spectrometer.\(role.rawValue)" }
}

/// The twin keys of `[spectrometer.<name>]`: the simulated unit's EEPROM, detector and optics,
/// and the sample in its cell when nothing else sets one. Every key is optional; `defaults(for:)`
/// gives the values of absent keys.
public struct SpectrometerTwinConfig: Equatable, Sendable {
    /// `usb_speed`: "high" (512-byte packets; default) or "full" (64-byte packets).
    public var highSpeed: Bool
    /// `wavelength_c0` ... `wavelength_c3`: the EEPROM's λ(p) = c0 + c1·p + c2·p² + c3·p³.
    public var wavelengthCoefficients: [Double]
    /// `light_counts_per_ms`: abs: counts per ms of integration at the lamp's halogen maximum
    /// through the blank; pl: the 385 nm LED's leak past the filter at 385 nm. 0...1e6.
    public var lightCountsPerMs: Double
    /// `dark_offset_counts`: 0...20000.
    public var darkOffsetCounts: Double
    /// `dark_current_counts_per_s`: 0...100000.
    public var darkCurrentCountsPerS: Double
    /// `read_noise_counts`: RMS, 0...1000.
    public var readNoiseCounts: Double
    /// `saturation_counts`: where raw counts clip (information slot 17), 1000...65535.
    public var saturationCounts: Int
    /// `cell_path_mm`: the flow cell's optical path, more than 0 up to 100 mm (2 on the rig).
    public var cellPathMm: Double
    /// `sample_peak_nm`, `sample_fwhm_nm`: the sample's first exciton (abs) or band-edge emission
    /// (pl), 300...900 nm and more than 0 up to 200 nm.
    public var samplePeakNm: Double
    public var sampleFwhmNm: Double
    /// `sample_height`: abs: the exciton's absorbance through the 2 mm cell, 0...4; pl: counts per
    /// second at the emission peak, 0...1e7.
    public var sampleHeight: Double
    /// `sample_scattering`: abs: Rayleigh scattering, absorbance at 500 nm, 0...2.
    public var sampleScattering: Double
    /// `sample_trap`: pl: the red trap band's height relative to the band edge, 0...5.
    public var sampleTrap: Double

    public init(
        highSpeed: Bool, wavelengthCoefficients: [Double], lightCountsPerMs: Double, darkOffsetCounts: Double,
        darkCurrentCountsPerS: Double, readNoiseCounts: Double, saturationCounts: Int, cellPathMm: Double,
        samplePeakNm: Double, sampleFwhmNm: Double, sampleHeight: Double, sampleScattering: Double, sampleTrap: Double
    ) {
        precondition(wavelengthCoefficients.count == 4, "c0 ... c3")
        self.highSpeed = highSpeed
        self.wavelengthCoefficients = wavelengthCoefficients
        self.lightCountsPerMs = lightCountsPerMs
        self.darkOffsetCounts = darkOffsetCounts
        self.darkCurrentCountsPerS = darkCurrentCountsPerS
        self.readNoiseCounts = readNoiseCounts
        self.saturationCounts = saturationCounts
        self.cellPathMm = cellPathMm
        self.samplePeakNm = samplePeakNm
        self.sampleFwhmNm = sampleFwhmNm
        self.sampleHeight = sampleHeight
        self.sampleScattering = sampleScattering
        self.sampleTrap = sampleTrap
    }

    /// Least-squares cubics through the published rig's axes (`data/cdse/uv_wavelengths.csv`,
    /// `pl_wavelengths.csv`, 2028 values each) placed at transferred pixels 20...2047 (the first 20,
    /// shielded and dummy pixels with the electric-dark ones among them, are what the published
    /// crop dropped). Both fit to 0.0003 nm RMS, 0.0005 nm at worst: the files' own 0.001 nm
    /// rounding, so the published axes are these EEPROM cubics.
    public static func rigWavelengthCoefficients(_ role: SpectrometerRole) -> [Double] {
        switch role {
        case .absorbance: [1.7806486e2, 3.7428912e-1, -1.2662454e-5, -3.6355806e-9]
        case .emission: [1.7541464e2, 3.8841725e-1, -2.1495763e-5, -6.8412832e-10]
        }
    }

    /// The values of absent keys: the rig's wavelength axes; a FLAME-S detector (1500-count
    /// offset, 200 counts/s of dark current, 50 counts RMS of read noise as the data sheets quote,
    /// 16-bit saturation); abs: the lamp at 5000 counts per ms (40 000 counts at 8 ms) and a
    /// 520 nm exciton, FWHM 30 nm, height 0.25, on 0.01 of scattering; pl: an LED leak of 2 counts
    /// per ms and a 545 nm band edge, FWHM 32 nm, 200 000 counts per second, trap band 0.15.
    public static func defaults(for role: SpectrometerRole) -> SpectrometerTwinConfig {
        let absorbance = role == .absorbance
        return SpectrometerTwinConfig(
            highSpeed: true, wavelengthCoefficients: rigWavelengthCoefficients(role),
            lightCountsPerMs: absorbance ? 5000 : 2, darkOffsetCounts: 1500, darkCurrentCountsPerS: 200,
            readNoiseCounts: 50, saturationCounts: 65_535, cellPathMm: 2,
            samplePeakNm: absorbance ? 520 : 545, sampleFwhmNm: absorbance ? 30 : 32,
            sampleHeight: absorbance ? 0.25 : 200_000, sampleScattering: 0.01, sampleTrap: 0.15)
    }
}

// MARK: - Pumps (P1)

/// The syringe pumps the rig has drivers for (`model` of `[pump.<name>]`).
public enum PumpModel: String, Equatable, Sendable, CaseIterable {
    case phdUltra = "phd-ultra"
    case pump11Elite = "pump-11-elite"
    case pump33DDS = "pump-33-dds"
    case chemyxFusion4000 = "chemyx-fusion-4000"

    /// Whether it speaks the Harvard Apparatus Ultra command set (daisy-chain addresses).
    public var isHarvard: Bool { self != .chemyxFusion4000 }

    /// The baud rates the model's menu offers (PROTOCOLS.md §3): Harvard 9600...115200, Chemyx
    /// 9600 or 38400.
    public var baudRates: [Int] {
        isHarvard ? [9600, 19200, 38400, 57600, 115200] : [9600, 38400]
    }

    /// `baud` when absent: the Harvard factory setting (115200) and the Chemyx one (9600).
    public var defaultBaud: Int { isHarvard ? 115200 : 9600 }

    /// `reply_timeout_ms` when absent: Harvard pumps answer within milliseconds; the Fusion takes
    /// 0.4-0.5 s, so it gets 2 s.
    public var defaultReplyTimeoutMs: Int { isHarvard ? 1000 : 2000 }
}

/// What a pump's syringe holds (`reagent` of `[pump.<name>]`).
public enum PumpReagent: String, Equatable, Sendable, CaseIterable {
    /// Cd-oleate stock (300 mM), in the heated syringe.
    case cd
    /// TOP-Se stock (300 mM), the hot injection.
    case se
    /// Oleic acid.
    case oa
    /// 1-octadecene.
    case ode
    /// Cleaning solvent, between experiments.
    case solvent
}

/// `[pump.<name>]`: one syringe pump on USB-serial (for the Pump 33 DDS: one axis of it).
public struct PumpConfig: Equatable, Sendable {
    public var name: String
    public var model: PumpModel
    /// `port`: the serial device (`/dev/ttyUSB0`, a `/dev/serial/by-id/...` link). Required for
    /// linux boards, refused on twin boards.
    public var port: String?
    /// `baud`: one of the model's rates (`PumpModel.baudRates`).
    public var baud: Int
    /// `address`: the Harvard daisy-chain address, 0...99 (default 0). Not for the Chemyx.
    public var address: Int
    /// `axis`: "a" or "b", required for a Pump 33 DDS and refused for the others.
    public var axis: String?
    /// `syringe_diameter_mm`: the barrel's inner diameter, 0.1...50 mm.
    public var syringeDiameterMm: Double
    /// `syringe_volume_ul`: the syringe's capacity, more than 0 up to 100000 µL.
    public var syringeVolumeUl: Double
    /// `max_rate_ul_min`: the fastest rate the rig may ask of this pump, more than 0 up to 250000 µL/min.
    public var maxRateUlMin: Double
    /// `reagent`: what the syringe holds.
    public var reagent: PumpReagent
    /// `reply_timeout_ms`: how long a reply may take, 10...10000 ms (default per model).
    public var replyTimeoutMs: Int

    public init(
        name: String, model: PumpModel, port: String?, baud: Int, address: Int, axis: String?,
        syringeDiameterMm: Double, syringeVolumeUl: Double, maxRateUlMin: Double, reagent: PumpReagent,
        replyTimeoutMs: Int
    ) {
        self.name = name
        self.model = model
        self.port = port
        self.baud = baud
        self.address = address
        self.axis = axis
        self.syringeDiameterMm = syringeDiameterMm
        self.syringeVolumeUl = syringeVolumeUl
        self.maxRateUlMin = maxRateUlMin
        self.reagent = reagent
        self.replyTimeoutMs = replyTimeoutMs
    }

    /// `pump.cd`.
    public var id: String { "pump.\(name)" }
}

extension BoardFile {
    /// The first pump holding `reagent`, if the board has one.
    public func pump(holding reagent: PumpReagent) -> PumpConfig? {
        pumps.first { $0.reagent == reagent }
    }
}

// MARK: - pressure, selector, sampling (P2)

/// `[pressure] kind`: what pressurizes the reactor's head space.
public enum PressureKind: String, Equatable, Sendable, CaseIterable {
    /// A Fluigent Flow EZ through Fluigent's SDK (`libfgt_SDK.so`, loaded at run time).
    case fluigent
    /// A pressurization solenoid and a vent solenoid (`[valve.*]`) with a Honeywell ABP sensor on I2C.
    case solenoid
    /// The twin's simulated Flow EZ (twin boards only).
    case twin
}

/// `[pressure]`: the head-space pressure controller and its limits.
public struct PressureConfig: Equatable, Sendable {
    public var kind: PressureKind
    /// `sampling_mbar`: the gauge pressure the reactor is brought to for sampling, more than 0
    /// up to 5000 mbar and below `max_mbar` (default 600, DESIGN §1).
    public var samplingMbar: Double
    /// `max_mbar`: the overpressure limit: at or above it the head space is vented and the fault
    /// latched, more than 0 up to 7000 mbar (default 1000).
    public var maxMbar: Double
    /// `hysteresis_mbar` (solenoid): the regulator's band, more than 0 up to 200 mbar (default 20).
    public var hysteresisMbar: Double
    /// `sdk_path` (fluigent): where `libfgt_SDK.so` is; nil: the default search.
    public var sdkPath: String?
    /// `channel` (fluigent): the pressure channel index of `fgt_set_pressure`, 0...255 (default 0).
    public var channel: Int
    /// The sensor (solenoid): `sensor_bus`, `sensor_address`, `sensor_min_mbar`, `sensor_max_mbar`.
    public var sensor: PressureSensorConfig?
    /// `pressurize_valve`, `vent_valve` (solenoid): names of `[valve.<name>]` sections.
    public var pressurizeValve: String?
    public var ventValve: String?
    /// `time_constant_s` (twin): the simulated Flow EZ's first-order lag, more than 0 up to 60 s (default 0.1).
    public var twinTimeConstantS: Double?

    public init(
        kind: PressureKind, samplingMbar: Double, maxMbar: Double, hysteresisMbar: Double, sdkPath: String?,
        channel: Int, sensor: PressureSensorConfig?, pressurizeValve: String?, ventValve: String?,
        twinTimeConstantS: Double?
    ) {
        self.kind = kind
        self.samplingMbar = samplingMbar
        self.maxMbar = maxMbar
        self.hysteresisMbar = hysteresisMbar
        self.sdkPath = sdkPath
        self.channel = channel
        self.sensor = sensor
        self.pressurizeValve = pressurizeValve
        self.ventValve = ventValve
        self.twinTimeConstantS = twinTimeConstantS
    }
}

/// The Honeywell ABP of a solenoid `[pressure]`.
public struct PressureSensorConfig: Equatable, Sendable {
    /// `sensor_bus`: the name of an `[i2c.<name>]` section.
    public var bus: String
    /// `sensor_address`: 7-bit, 0x08...0x77 (default 0x28, the part's factory address).
    public var address: UInt8
    /// `sensor_min_mbar`, `sensor_max_mbar`: Pmin and Pmax of the part's order code, mbar gauge
    /// (e.g. ABP...001BG: 0 and 1000); `max_mbar` must lie within them.
    public var minMbar: Double
    public var maxMbar: Double

    public init(bus: String, address: UInt8, minMbar: Double, maxMbar: Double) {
        self.bus = bus
        self.address = address
        self.minMbar = minMbar
        self.maxMbar = maxMbar
    }
}

/// `[selector] kind`.
public enum SelectorKind: String, Equatable, Sendable, CaseIterable {
    /// A Fluigent M-SWITCH through Fluigent's SDK.
    case fluigent
    /// The twin's simulated rotary valve (twin boards only).
    case twin
}

/// `[selector]`: the rotary selector valve and what each position is connected to.
public struct SelectorConfig: Equatable, Sendable {
    public var kind: SelectorKind
    /// `positions`: N, 2...16 (an M-SWITCH has 10).
    public var positions: Int
    /// `channel` (fluigent): the valve channel index of `fgt_set_valvePosition`, 0...255 (default 0).
    public var channel: Int
    /// `sdk_path` (fluigent): as `[pressure] sdk_path` (one SDK per process: they must agree).
    public var sdkPath: String?
    /// `seconds_per_position` (twin): the simulated valve's time per step, more than 0 up to 5 s (default 0.05).
    public var twinSecondsPerPosition: Double?
    /// Every other key: a position's name and number, `reactor = 1`, in file order.
    public var names: [(name: String, position: Int)]

    public init(
        kind: SelectorKind, positions: Int, channel: Int, sdkPath: String?, twinSecondsPerPosition: Double?,
        names: [(name: String, position: Int)]
    ) {
        self.kind = kind
        self.positions = positions
        self.channel = channel
        self.sdkPath = sdkPath
        self.twinSecondsPerPosition = twinSecondsPerPosition
        self.names = names
    }

    /// The position named `name`, if the board names one so.
    public func position(named name: String) -> Int? {
        names.first { $0.name == name }?.position
    }

    public static func == (lhs: SelectorConfig, rhs: SelectorConfig) -> Bool {
        lhs.kind == rhs.kind && lhs.positions == rhs.positions && lhs.channel == rhs.channel
            && lhs.sdkPath == rhs.sdkPath && lhs.twinSecondsPerPosition == rhs.twinSecondsPerPosition
            && lhs.names.map(\.name) == rhs.names.map(\.name) && lhs.names.map(\.position) == rhs.names.map(\.position)
    }
}

/// `[sampling]`: the line from the reactor through the sampling valve to the flow cells.
public struct SamplingConfig: Equatable, Sendable {
    /// How the line's hydraulic resistance is given.
    public enum Line: Equatable, Sendable {
        /// `line_resistance_mbar_s_per_ul`: measured (time a known volume at a known pressure),
        /// more than 0 up to 10000 mbar·s/µL.
        case resistance(mbarSecondsPerMicrolitre: Double)
        /// `line_length_mm` (more than 0 up to 10000), `line_inner_diameter_mm` (more than 0 up
        /// to 5), `viscosity_mpa_s` (more than 0 up to 1000, default 2): Hagen–Poiseuille
        /// (Devices `SamplingLine.hagenPoiseuille`).
        case tube(lengthMm: Double, innerDiameterMm: Double, viscosityMPaS: Double)
    }

    public var line: Line
    /// `valve`: the `[valve.<name>]` that opens the line (default "sample"); its `max_pulse_ms`
    /// bounds every pulse.
    public var valve: String
    /// `target_ul`: the aliquot, more than 0 up to 500 µL (default 40).
    public var targetMicrolitres: Double
    /// `transport_delay_s`: from the valve to the flow cells, 0...600 s (default 20).
    public var transportDelayS: Double
    /// `dilution`: the factor the aliquot is diluted by before the cells, 1...1000 (default 1: none).
    public var dilution: Double

    public init(line: Line, valve: String, targetMicrolitres: Double, transportDelayS: Double, dilution: Double) {
        self.line = line
        self.valve = valve
        self.targetMicrolitres = targetMicrolitres
        self.transportDelayS = transportDelayS
        self.dilution = dilution
    }
}

// MARK: - Journal, uplink (J)

/// `[journal]`: the durable journal (SQLite, WAL) of everything the rig measures and decides.
public struct JournalConfig: Equatable, Sendable {
    /// `path`: the database file (relative paths from the working directory).
    public var path: String
    /// `max_mb`: the local storage budget, 1...1048576 MiB (default 1024). When it runs short,
    /// records the lab server acknowledged are pruned; new campaigns stop before it is reached.
    public var maxMB: Int

    public init(path: String, maxMB: Int) {
        self.path = path
        self.maxMB = maxMB
    }

    public static let defaults = JournalConfig(path: "aliquot-journal.sqlite", maxMB: 1024)

    /// `max_mb` in bytes.
    public var maxBytes: Int64 { Int64(maxMB) << 20 }
}

/// `[uplink]`: where the journal is pushed (store and forward over HTTP(S), libcurl).
public struct UplinkConfig: Equatable, Sendable {
    /// `enabled`: false keeps the section but pushes nothing (default true).
    public var enabled: Bool
    /// `url`: the lab server's ingest URL, `http://` or `https://`.
    public var url: String
    /// `device_id`: this rig's id in batch ids, 1...64 of `A-Z a-z 0-9 . _ -`.
    public var deviceID: String
    /// `token_file`: a file holding the bearer token (optional: no Authorization header).
    public var tokenFile: String?
    /// `batch_records`: records per batch, 1...10000 (default 500).
    public var batchRecords: Int
    /// `interval_s`: how often to look for new records when caught up, 1...3600 s (default 30).
    public var intervalS: Double

    public init(enabled: Bool, url: String, deviceID: String, tokenFile: String?, batchRecords: Int, intervalS: Double) {
        self.enabled = enabled
        self.url = url
        self.deviceID = deviceID
        self.tokenFile = tokenFile
        self.batchRecords = batchRecords
        self.intervalS = intervalS
    }
}
