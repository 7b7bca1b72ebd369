import Config
import Devices
import Transports
import Twin

/// The twin's reactor beyond heat: what the pumps put in, the chemistry that grows in it, the
/// head-space pressure, the selector valve, and the sampling line that carries each aliquot to the
/// flow cells. Built from the board file by `TwinTransportFactory`; every part speaks to the
/// drivers through its transport (pumps byte for byte over simulated serial lines; pressure and
/// selector behind their protocols, as the vendor SDK has no wire protocol).
///
/// Plant coupling, in the order the chemistry needs it:
/// - a pump's delivery goes into the contents (and so the chemistry) first, then into the thermal
///   plant: volume beyond the board's `liquid_ml` charge is the cold injection;
/// - the sampling valve's line opens and closes the sampling line at the exact virtual instant;
/// - `step(to:)` (called by the campaign hardware between control slices and before every
///   spectrum) moves the pump plungers, records the reactor temperature for the growth model and
///   advances the sampling line, which sets the flow cells' sample as each slug arrives.
public final class TwinReactor {
    public let contents: ReactorContents
    public let chemistry: ReactorChemistry
    public let samplingLine: SimulatedSamplingLine
    public let pressure: SimulatedPressureController
    public let selector: SimulatedSelectorValve
    /// The pump simulators by board pump name (`cd`), with their syringe capacity.
    public private(set) var harvardPumps: [String: HarvardUltraPumpSimulator] = [:]
    public private(set) var chemyxPumps: [String: ChemyxFusionPumpSimulator] = [:]
    private var capacities: [String: Double] = [:]
    private let plant: ThermalPlant
    private let reactorZone: Int?
    private let chargeMicrolitres: Double
    private let clock: VirtualClock
    private let ambientCelsius: Double

    init(board: BoardFile, plant: ThermalPlant, clock: VirtualClock, optics: [SpectrometerRole: SpectrometerOptics]) {
        self.plant = plant
        self.clock = clock
        ambientCelsius = board.twin?.ambientC ?? 25
        let zone = plant.zoneIndex(named: "reactor")
        reactorZone = zone
        let liquid = board.twin?.zones.first { $0.heater == "reactor" }?.charge?.liquidML ?? 0.9
        chargeMicrolitres = liquid * 1000
        // Stocks of the published platform until a campaign says otherwise (`setStocks`).
        contents = ReactorContents(stocks: ReagentStocks(cadmiumMillimolar: 300, seleniumMillimolar: 300))
        let seed = board.twin?.seed ?? 42
        chemistry = ReactorChemistry(
            contents: contents, seed: seed &+ 0x6368_656D,
            reactorCelsius: { [plant] seconds in zone.map { plant.state(of: $0, at: seconds).celsius } ?? 25 })
        let range = 0...(board.pressure?.maxMbar ?? 1000)
        pressure = SimulatedPressureController(
            clock: clock, range: range, timeConstantSeconds: board.pressure?.twinTimeConstantS ?? 0.1)
        selector = SimulatedSelectorValve(
            name: "twin:selector", positionCount: board.selector?.positions ?? 10, clock: clock,
            secondsPerPosition: board.selector?.twinSecondsPerPosition ?? 0.05)
        let pressure = pressure
        samplingLine = SimulatedSamplingLine(
            chemistry: chemistry,
            headSpaceMillibar: { seconds in pressure.pressure(at: MonotonicInstant.zero.adding(seconds: seconds)) },
            absorbanceCell: optics[.absorbance], emissionCell: optics[.emission])
        for pump in board.pumps { attachPump(pump) }
    }

    /// The stock concentrations the campaign's syringes hold.
    public func setStocks(cadmiumMillimolar: Double, seleniumMillimolar: Double, oleicAcidMolar: Double) {
        contents.stocks = ReagentStocks(
            cadmiumMillimolar: cadmiumMillimolar, seleniumMillimolar: seleniumMillimolar,
            oleicAcidMillimolar: oleicAcidMolar * 1000)
    }

    /// The simulator a pump's serial line talks to.
    func serialDevice(ofPump name: String) -> (any SimulatedSerialDevice)? {
        harvardPumps[name] ?? chemyxPumps[name]
    }

    /// Moves the plant side to `seconds`: plungers, the temperature history, the sampling line.
    public func step(to seconds: Double) {
        for simulator in harvardPumps.values { simulator.update() }
        for simulator in chemyxPumps.values { simulator.update() }
        chemistry.observeTemperature(at: seconds)
        samplingLine.advance(to: seconds)
    }

    /// The sampling valve switched (its twin line's change, at the virtual now).
    func samplingValve(open: Bool) {
        samplingLine.setValve(open: open, at: nowSeconds)
    }

    /// The reactor drained to waste and rinsed: the contents are gone, the plant's liquid is the
    /// next charge, and the syringes are refilled from their reservoirs (an operator's or a refill
    /// valve's job on the real rig). The charge takes the liquid's temperature: it is loaded
    /// slowly (half a minute) into a reactor cooled to the campaign's `cool_to_c` and warms as it
    /// enters, so the one thermal shock the supervisor must be told about stays the injection.
    public func drain() {
        let now = nowSeconds
        step(to: now)
        contents.clean(at: now)
        if let reactorZone {
            plant.replaceLiquid(
                zone: reactorZone, millilitres: chargeMicrolitres / 1000,
                celsius: plant.state(of: reactorZone, at: now).celsius, at: now)
        }
        for (name, simulator) in harvardPumps { simulator.setContent(capacities[name] ?? 0) }
        for (name, simulator) in chemyxPumps { simulator.setContent(capacities[name] ?? 0) }
    }

    private var nowSeconds: Double { clock.now().seconds(since: .zero) }

    private func attachPump(_ pump: PumpConfig) {
        let reagent: Twin.Reagent = switch pump.reagent {
        case .cd: .cadmiumOleate
        case .se: .trioctylphosphineSelenide
        case .oa: .oleicAcid
        case .ode, .solvent: .octadecene
        }
        let isSolvent = pump.reagent == .solvent
        let delivered: (Double) -> Void = { [unowned self] microlitres in
            guard microlitres > 0 else { return }
            let now = nowSeconds
            // Rinse solvent goes through the reactor to waste: no chemistry, no charge.
            guard !isSolvent else { return }
            let before = contents.volumeMicrolitres
            chemistry.deliver(reagent: reagent, microlitres: microlitres, at: now)
            // Liquid beyond the charge is the cold injection into the hot liquid.
            let injected = min(microlitres, max(0, before + microlitres - chargeMicrolitres))
            if injected > 0, let reactorZone {
                plant.inject(zone: reactorZone, volumeML: injected / 1000, celsius: ambientCelsius, at: now)
            }
        }
        capacities[pump.name] = pump.syringeVolumeUl
        switch pump.model {
        case .chemyxFusion4000:
            chemyxPumps[pump.name] = ChemyxFusionPumpSimulator(
                clock: clock, syringeCapacityMicrolitres: pump.syringeVolumeUl, contentMicrolitres: pump.syringeVolumeUl,
                onDelivered: delivered)
        case .phdUltra, .pump11Elite, .pump33DDS:
            let model: HarvardUltraPumpSimulator.Model = switch pump.model {
            case .phdUltra: .phdUltra
            case .pump11Elite: .pump11Elite
            default: .pump33DDS
            }
            let simulator = HarvardUltraPumpSimulator(
                model: model, address: pump.address, clock: clock, syringeCapacityMicrolitres: pump.syringeVolumeUl,
                contentMicrolitres: pump.syringeVolumeUl, onDelivered: delivered)
            harvardPumps[pump.name] = simulator
        }
    }
}
