import Config
import Devices
import LinuxIO
import Transports
import Twin

/// The rig's fluidics from its board file: a syringe pump per `[pump.<name>]` (by the reagent it
/// holds, its syringe configured), the reactor's pressure controller (`[pressure]`: a Fluigent
/// Flow EZ through the SDK, the solenoid regulator with its I2C sensor, or the twin's), the
/// selector valve (`[selector]`), and the sampling line (`[sampling]`) that turns a target aliquot
/// into a valve pulse.
public final class Fluidics {
    public let pumps: [PumpReagent: any SyringePump]
    public let pressure: (any PressureController)?
    /// The solenoid regulator, which regulates only when ticked (nil for the other kinds).
    public let regulator: SolenoidPressureRegulator?
    public let selector: (any SelectorValve)?
    public let sampling: SamplingConfig?
    /// The sampling line's resistance, from `[sampling]`.
    public let samplingLine: SamplingLine?
    private let sdk: FluigentSDK?

    /// Opens every pump (checking that it takes its syringe), the pressure controller and the
    /// selector. Nothing moves.
    public static func open(board: BoardFile, transports: TransportFactory, rig: Rig) throws(RigError) -> Fluidics {
        var pumps: [PumpReagent: any SyringePump] = [:]
        for config in board.pumps {
            let line = try transports.makeSerialLine(config)
            let timeout = Double(config.replyTimeoutMs) / 1000
            let pump: any SyringePump
            switch config.model {
            case .chemyxFusion4000:
                pump = ChemyxFusionPump(
                    name: config.id, line: line, maximumRateMicrolitresPerMinute: config.maxRateUlMin,
                    replyTimeoutSeconds: timeout)
            case .phdUltra, .pump11Elite, .pump33DDS:
                let model: HarvardUltraPump.Model = switch config.model {
                case .phdUltra: .phdUltra
                case .pump11Elite: .pump11Elite
                default: .pump33DDS
                }
                let axis: HarvardUltraPump.Axis? = switch config.axis {
                case "a": .a
                case "b": .b
                default: nil
                }
                pump = HarvardUltraPump(
                    name: config.id, line: line, model: model, address: config.address, axis: axis,
                    maximumRateMicrolitresPerMinute: config.maxRateUlMin, replyTimeoutSeconds: timeout)
            }
            do {
                try pump.configure(
                    syringe: Syringe(
                        innerDiameterMillimetres: config.syringeDiameterMm, volumeMicrolitres: config.syringeVolumeUl))
            } catch {
                throw RigError(part: config.id, action: "configure the syringe", underlying: error)
            }
            pumps[config.reagent] = pump
        }

        var sdk: FluigentSDK?
        func fluigent(path: String?, part: String) throws(RigError) -> FluigentSDK {
            if let sdk { return sdk }
            do {
                let loaded = try FluigentSDK(path: path)
                try loaded.initialize()
                sdk = loaded
                return loaded
            } catch {
                throw RigError(part: part, action: "load the Fluigent SDK", underlying: error)
            }
        }
        let twin = transports as? TwinTransportFactory
        var pressure: (any PressureController)?
        var regulator: SolenoidPressureRegulator?
        if let config = board.pressure {
            switch config.kind {
            case .twin:
                guard let twin else {
                    throw RigError(part: "pressure", action: "open", detail: "kind = \"twin\" needs the twin transport")
                }
                pressure = twin.reactor.pressure
            case .fluigent:
                pressure = FluigentPressureController(
                    sdk: try fluigent(path: config.sdkPath, part: "pressure"), channel: UInt32(config.channel))
            case .solenoid:
                guard let sensor = config.sensor, let busConfig = board.i2cBuses.first(where: { $0.name == sensor.bus }),
                    let pressurize = rig.valves.first(where: { $0.config.name == config.pressurizeValve }),
                    let vent = rig.valves.first(where: { $0.config.name == config.ventValve })
                else {
                    throw RigError(
                        part: "pressure", action: "open",
                        detail: "the solenoid regulator needs its sensor's bus and both valves (the loader checks them)")
                }
                let bus = try transports.makeI2CBus(busConfig)
                let solenoid = SolenoidPressureRegulator(
                    name: "solenoid:valve.\(pressurize.config.name)",
                    sensor: HoneywellABP(bus: bus, address: sensor.address, rangeMbar: sensor.minMbar...sensor.maxMbar),
                    pressurizeValve: pressurize.valve, ventValve: vent.valve, clock: transports.clock,
                    settings: PressureRegulation.Settings(
                        hysteresisMbar: config.hysteresisMbar, overpressureMbar: config.maxMbar,
                        maxPressurizeSeconds: Double(pressurize.config.maxPulseMs) / 1000))
                regulator = solenoid
                pressure = solenoid
            }
        }
        var selector: (any SelectorValve)?
        if let config = board.selector {
            switch config.kind {
            case .twin:
                selector = twin?.reactor.selector
            case .fluigent:
                selector = FluigentSelectorValve(
                    sdk: try fluigent(path: config.sdkPath, part: "selector"), channel: UInt32(config.channel),
                    positionCount: config.positions)
            }
        }
        let line: SamplingLine? = board.sampling.map {
            switch $0.line {
            case .resistance(let resistance):
                SamplingLine(resistanceMbarSecondsPerMicrolitre: resistance)
            case .tube(let length, let diameter, let viscosity):
                SamplingLine.hagenPoiseuille(lengthMm: length, innerDiameterMm: diameter, viscosityMPaS: viscosity)
            }
        }
        return Fluidics(
            pumps: pumps, pressure: pressure, regulator: regulator, selector: selector, sampling: board.sampling,
            samplingLine: line, sdk: sdk)
    }

    private init(
        pumps: [PumpReagent: any SyringePump], pressure: (any PressureController)?, regulator: SolenoidPressureRegulator?,
        selector: (any SelectorValve)?, sampling: SamplingConfig?, samplingLine: SamplingLine?, sdk: FluigentSDK?
    ) {
        self.pumps = pumps
        self.pressure = pressure
        self.regulator = regulator
        self.selector = selector
        self.sampling = sampling
        self.samplingLine = samplingLine
        self.sdk = sdk
    }

    /// Every pump stopped and the pressure vented, each tried whatever the others do; returns
    /// what failed.
    public func enterSafeState() -> [String] {
        var problems: [String] = []
        for pump in pumps.values {
            do { try pump.stop() } catch { problems.append("\(pump.name): stop: \(error)") }
        }
        if let pressure {
            do { try pressure.vent() } catch { problems.append("\(pressure.name): vent: \(error)") }
        }
        return problems
    }

    /// The safe state, then the Fluigent SDK closed.
    public func shutDown() -> [String] {
        var problems = enterSafeState()
        if let sdk {
            do { try sdk.close() } catch { problems.append("Fluigent SDK: close: \(error)") }
        }
        return problems
    }
}
