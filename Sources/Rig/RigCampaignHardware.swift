import Campaign
import Config
import Control
import Devices
import Spectra
import Transports
import Twin

/// The campaign runner's rig: heat loops and valve pulses on the real-time control loop, pumps,
/// pressure and selector from the board's fluidics, the two spectrometers with their analysis.
/// The same code drives the twin and the hardware; on the twin, `advance` also moves the twin's
/// reactor (pumps, chemistry, sampling line) between control slices.
public final class RigCampaignHardware: CampaignHardware {
    public let rig: Rig
    public let fluidics: Fluidics
    let driver: LoopDriver
    private let control: ControlLoop
    private let twin: TwinTransportFactory?
    private let samplingValveID: String
    private let samplingMillibar: Double
    private var events: [ControlEvent] = []
    private var pendingTrips: [SafetyTrip] = []
    private var analyzers: [SpectrometerRole: SpectrumAnalyzer] = [:]
    private var darks: [SpectrometerRole: CountSpectrum] = [:]
    private var reference: CountSpectrum?
    /// The longest slice the control loop runs between the twin reactor's updates, seconds.
    static let twinSliceSeconds = 1.0
    /// How often a solenoid pressure regulator is ticked while time passes, seconds.
    static let regulatorSliceSeconds = 0.1

    /// Builds the control loop (every heat loop, the sampling and pressurizing valves), starts it
    /// (a real-time thread on hardware) and opens the fluidics. The heaters stay off until a
    /// setpoint is given.
    public init(rig: Rig, loops: [HeatLoop]) throws(RigError) {
        self.rig = rig
        twin = rig.transports as? TwinTransportFactory
        fluidics = try Fluidics.open(board: rig.board, transports: rig.transports, rig: rig)
        samplingValveID = "valve.\(rig.board.sampling?.valve ?? "sample")"
        samplingMillibar = rig.board.pressure?.samplingMbar ?? 600
        // The solenoid regulator drives its own valves; the control loop pulses the rest.
        let regulated = Set([rig.board.pressure?.pressurizeValve, rig.board.pressure?.ventValve].compactMap { $0 })
        let pulsed = rig.valves.filter { rig.board.pressure?.kind != .solenoid || !regulated.contains($0.config.name) }
        driver = try rig.makeLoopDriver(loops, valves: pulsed.map(\.valve))
        control = driver.control
        // On the twin, the loop keeps ticking while a driver waits on a device.
        twin?.virtualClock.whileWaiting = { [unowned self] deadline in
            if let failure = runTwinSlices(until: deadline) { twinFailure = failure }
        }
    }

    /// A control-loop failure met while a device waited, reported at the next `advance`.
    private var twinFailure: RigError?

    /// The twin: the control loop and the reactor up to `deadline`, in slices.
    private func runTwinSlices(until deadline: MonotonicInstant) -> RigError? {
        guard let twin else { return nil }
        return twin.virtualClock.runningTheLoop { () -> RigError? in
            while rig.clock.now() < deadline {
                let next = min(deadline, rig.clock.now().adding(seconds: Self.twinSliceSeconds))
                do throws(RigError) { try driver.advance(until: next) } catch { return error }
                twin.reactor.step(to: twin.nowSeconds)
            }
            return nil
        }
    }

    /// The loop's start-up warnings (real-time scheduling or memory locking refused).
    public var warnings: [String] { driver.warnings }

    public func now() -> MonotonicInstant { rig.clock.now() }

    public func advance(until deadline: MonotonicInstant) throws(CampaignHardwareError) {
        if let failure = twinFailure {
            twinFailure = nil
            throw CampaignHardwareError(part: "control loop", action: "run", detail: failure.description, severity: .rig)
        }
        let slice = fluidics.regulator != nil ? Self.regulatorSliceSeconds : (twin != nil ? Self.twinSliceSeconds : nil)
        while rig.clock.now() < deadline {
            var next = deadline
            if let slice {
                let sliceEnd = rig.clock.now().adding(seconds: slice)
                if sliceEnd < next { next = sliceEnd }
            }
            if twin != nil {
                if let failure = runTwinSlices(until: next) {
                    throw CampaignHardwareError(part: "control loop", action: "run", detail: failure.description, severity: .rig)
                }
            } else {
                do {
                    try driver.advance(until: next)
                } catch {
                    throw CampaignHardwareError(part: "control loop", action: "run", detail: error.description, severity: .rig)
                }
            }
            if let regulator = fluidics.regulator {
                do { try regulator.tick() } catch {
                    throw CampaignHardwareError(part: regulator.name, action: "regulate", detail: error.description)
                }
            }
            collectEvents()
        }
    }

    /// The loop's last reading; nil when there is none or the sensor is faulted (an open
    /// thermocouple reads a full-scale number that is no temperature).
    public func celsius(of heater: CampaignHeater) -> Double? {
        guard let snapshot = control.port.snapshot(loop: heater.rawValue), !snapshot.sensorFault else { return nil }
        return snapshot.celsius
    }

    public func ambientCelsius() -> Double {
        rig.board.twin?.ambientC ?? 25
    }

    public func setSetpoint(_ celsius: Double?, of heater: CampaignHeater) throws(CampaignHardwareError) {
        guard control.port.index(of: heater.rawValue) != nil else {
            throw CampaignHardwareError(
                part: "heater.\(heater.rawValue)", action: "set setpoint", detail: "\(rig.board.path) has no such heater")
        }
        guard control.port.setSetpoint(celsius, loop: heater.rawValue) else {
            throw CampaignHardwareError(
                part: "heater.\(heater.rawValue)", action: "set setpoint", detail: "the command queue is full", severity: .rig)
        }
    }

    public func announceInjection(_ feedForward: HeatSequence.Injection) throws(CampaignHardwareError) {
        guard let index = control.port.index(of: CampaignHeater.reactor.rawValue) else {
            throw CampaignHardwareError(part: "heater.reactor", action: "announce the injection", detail: "no reactor loop")
        }
        guard
            control.port.send(
                .announceInjection(
                    loop: index, feedForward: feedForward.feedForwardDuty, seconds: feedForward.feedForwardSeconds))
        else {
            throw CampaignHardwareError(
                part: "heater.reactor", action: "announce the injection", detail: "the command queue is full", severity: .rig)
        }
    }

    public func startPump(reagent: String, microlitres: Double, rateMicrolitresPerMinute: Double)
        throws(CampaignHardwareError)
    {
        let pump = try pump(holding: reagent)
        do {
            try pump.infuse(microlitres: microlitres, rateMicrolitresPerMinute: rateMicrolitresPerMinute)
        } catch {
            throw CampaignHardwareError(
                part: pump.name, action: "infuse \(microlitres) µL at \(rateMicrolitresPerMinute) µL/min",
                detail: error.description)
        }
    }

    public func pumpProgress(reagent: String) throws(CampaignHardwareError) -> PumpProgress {
        let pump = try pump(holding: reagent)
        let status: PumpStatus
        do {
            status = try pump.status()
        } catch {
            throw CampaignHardwareError(part: pump.name, action: "read status", detail: error.description)
        }
        switch status.state {
        case .infusing, .withdrawing:
            return .running(deliveredMicrolitres: status.deliveredMicrolitres)
        case .targetReached, .idle:
            return .done(deliveredMicrolitres: status.deliveredMicrolitres)
        case .stalled:
            return .stalled(deliveredMicrolitres: status.deliveredMicrolitres, detail: status.description)
        }
    }

    public func stopPumps() throws(CampaignHardwareError) {
        var failures: [String] = []
        for pump in fluidics.pumps.values {
            do { try pump.stop() } catch { failures.append("\(pump.name): \(error)") }
        }
        if !failures.isEmpty {
            throw CampaignHardwareError(part: "pumps", action: "stop", detail: failures.joined(separator: "; "))
        }
    }

    public func pressurize(millibar: Double) throws(CampaignHardwareError) {
        guard let pressure = fluidics.pressure else {
            throw CampaignHardwareError(part: "pressure", action: "pressurize", detail: "\(rig.board.path) has no [pressure]")
        }
        do { try pressure.setPressure(mbar: millibar) } catch {
            throw CampaignHardwareError(part: pressure.name, action: "set \(millibar) mbar", detail: error.description)
        }
    }

    public func vent() throws(CampaignHardwareError) {
        guard let pressure = fluidics.pressure else { return }
        do { try pressure.vent() } catch {
            throw CampaignHardwareError(part: pressure.name, action: "vent", detail: error.description)
        }
    }

    public func pulseSamplingValve(at deadline: MonotonicInstant, milliseconds: Double)
        throws(CampaignHardwareError) -> ValvePulseResult
    {
        guard let valve = control.port.index(ofValve: samplingValveID) else {
            throw CampaignHardwareError(part: samplingValveID, action: "pulse", detail: "\(rig.board.path) has no such valve")
        }
        let nanoseconds = Int64((milliseconds * 1e6).rounded())
        guard control.port.send(.pulseValve(valve: valve, openAt: deadline, nanoseconds: nanoseconds)) else {
            throw CampaignHardwareError(
                part: samplingValveID, action: "pulse", detail: "the command queue is full", severity: .rig)
        }
        // Wait for the loop's report of the pulse: up to a second past its planned end.
        let giveUp = max(deadline, now()).adding(nanoseconds: nanoseconds).adding(seconds: 1)
        while true {
            if let index = events.firstIndex(where: {
                if case .valvePulsed(valve, _, _, _) = $0 { true } else if case .valveFailed(valve, _, _) = $0 { true } else { false }
            }) {
                let event = events.remove(at: index)
                switch event {
                case .valvePulsed(_, let opened, let closed, _):
                    let seconds = closed.seconds(since: opened)
                    let withdrawn = fluidics.samplingLine.map {
                        SamplingValveTiming.withdrawnMicrolitres(openSeconds: seconds, pressureMbar: samplingMillibar, line: $0)
                    } ?? 0
                    return ValvePulseResult(openedAt: opened, openMilliseconds: seconds * 1000, withdrawnMicrolitres: withdrawn)
                case .valveFailed(_, _, let error):
                    throw CampaignHardwareError(part: samplingValveID, action: "pulse", detail: error.description)
                default:
                    break
                }
            }
            guard now() < giveUp else {
                throw CampaignHardwareError(
                    part: samplingValveID, action: "pulse", detail: "the control loop did not report the pulse", severity: .rig)
            }
            try advance(until: min(giveUp, now().adding(seconds: 0.1)))
        }
    }

    public func acquireAliquot() throws(CampaignHardwareError) -> AcquiredAliquot {
        twin?.reactor.step(to: twin?.nowSeconds ?? 0)
        let absorbance = try measure(.absorbance)
        twin?.reactor.step(to: twin?.nowSeconds ?? 0)
        let emission = try measure(.emission)
        return AcquiredAliquot(absorbance: absorbance, photoluminescence: emission)
    }

    public func drainReactor() throws(CampaignHardwareError) {
        if let selector = fluidics.selector, let waste = rig.board.selector?.position(named: "waste") {
            do {
                try selector.move(to: waste, clock: rig.clock, timeoutSeconds: 10)
            } catch {
                throw CampaignHardwareError(part: selector.name, action: "turn to waste", detail: error.description)
            }
        }
        twin?.reactor.drain()
        if let selector = fluidics.selector, let reactor = rig.board.selector?.position(named: "reactor") {
            do {
                try selector.move(to: reactor, clock: rig.clock, timeoutSeconds: 10)
            } catch {
                throw CampaignHardwareError(part: selector.name, action: "turn to the reactor", detail: error.description)
            }
        }
    }

    public func takeSafetyTrips() -> [SafetyTrip] {
        collectEvents()
        defer { pendingTrips.removeAll() }
        return pendingTrips
    }

    public func clearSafetyTrips() throws(CampaignHardwareError) -> [SafetyTrip] {
        for index in 0..<control.loops.count {
            guard control.port.send(.clearTrip(loop: index)) else {
                throw CampaignHardwareError(part: "control loop", action: "clear trips", detail: "the command queue is full")
            }
        }
        try advance(until: now().adding(nanoseconds: control.periodNanoseconds * 2))
        return (0..<control.loops.count).compactMap { control.port.snapshot($0).trip }
    }

    public func enterSafeState(reason: String) -> [String] {
        var problems: [String] = []
        for index in 0..<control.loops.count {
            _ = control.port.setSetpoint(nil, loop: control.port.loopNames[index])
        }
        control.enterSafeState(at: now())
        problems += fluidics.enterSafeState()
        for valve in rig.valves {
            do { try valve.valve.close() } catch { problems.append("\(valve.valve.id): close: \(error)") }
        }
        return problems
    }

    /// Stops the loop's threads and leaves everything safe (the end of a campaign).
    public func finish() -> [String] {
        twin?.virtualClock.whileWaiting = nil
        let problems = enterSafeState(reason: "campaign ended") + fluidics.shutDown()
        driver.finish()
        return problems
    }

    /// The rig's side of each experiment's plan, from the board: pump rates within every pump's
    /// limit, the sampling pulse that withdraws the target aliquot at the set pressure, the
    /// transport delay, the injection's feed-forward at the experiment's temperature.
    public func sequencerSettings(celsius: Double) -> SequencerRigSettings {
        let board = rig.board
        func maxRate(_ reagents: [PumpReagent]) -> Double {
            reagents.compactMap { board.pump(holding: $0)?.maxRateUlMin }.min() ?? 1000
        }
        let samplingMbar = board.pressure?.samplingMbar ?? 600
        var pulseMilliseconds = 100.0
        if let line = fluidics.samplingLine, let sampling = board.sampling {
            let maxPulse = board.valves.first { $0.name == sampling.valve }.map { Double($0.maxPulseMs) / 1000 } ?? 1
            pulseMilliseconds = SamplingValveTiming.pulse(
                microlitres: sampling.targetMicrolitres, pressureMbar: samplingMbar, line: line, maxPulseSeconds: maxPulse
            ).openSeconds * 1000
        }
        return SequencerRigSettings(
            loadRateMicrolitresPerMinute: min(2000, maxRate([.cd, .oa, .ode])),
            injectionRateMicrolitresPerMinute: maxRate([.se, .ode]),
            syringeCelsius: board.heaters.contains { $0.name == "syringe" } ? 80 : nil,
            injectionFeedForward: rig.injectionFeedForward(setpoint: celsius),
            samplingMillibar: samplingMbar, valvePulseMilliseconds: pulseMilliseconds,
            transportDelaySeconds: board.sampling?.transportDelayS ?? 4,
            cleanRateMicrolitresPerMinute: min(5000, maxRate([.solvent])))
    }

    // MARK: - Private

    private func pump(holding reagent: String) throws(CampaignHardwareError) -> any SyringePump {
        let mapped: PumpReagent? = switch reagent {
        case "cd_stock", "cd": .cd
        case "se_stock", "se": .se
        case "oleic_acid", "oa": .oa
        case "ode": .ode
        case "solvent": .solvent
        default: nil
        }
        guard let mapped, let pump = fluidics.pumps[mapped] else {
            throw CampaignHardwareError(
                part: "pump", action: "find the pump holding \(reagent)",
                detail: "\(rig.board.path) has no [pump.*] with that reagent; it has: "
                    + rig.board.pumps.map { "\($0.id) (\($0.reagent.rawValue))" }.joined(separator: ", "))
        }
        return pump
    }

    private func collectEvents() {
        for event in control.port.takeEvents() {
            switch event {
            case .safety(.tripped(let trip)), .tripped(let trip):
                pendingTrips.append(trip)
            case .valvePulsed, .valveFailed:
                events.append(event)
            default:
                break
            }
        }
    }

    /// One spectrum of the aliquot in `role`'s cell, analysed. The first call of each role takes
    /// the dark (light off) and, for absorbance, the reference (solvent in the cell) as well.
    private func measure(_ role: SpectrometerRole) throws(CampaignHardwareError) -> AliquotMeasurement {
        let first = darks[role] == nil
        let acquisition: SpectrumAcquisition
        do {
            acquisition = try rig.spectrometers.acquire(role, dark: first, reference: first && role == .absorbance)
        } catch {
            throw CampaignHardwareError(part: "spectrometer.\(role.rawValue)", action: "acquire", detail: error.description)
        }
        if first {
            if let dark = acquisition.dark { darks[role] = acquisition.counts(dark) }
            if let reference = acquisition.reference { self.reference = acquisition.counts(reference) }
        }
        let analyzer: SpectrumAnalyzer
        if let existing = analyzers[role] {
            analyzer = existing
        } else {
            do {
                analyzer = try SpectrumAnalyzer(axis: WavelengthAxis(nanometres: acquisition.wavelengths))
            } catch {
                throw CampaignHardwareError(part: "spectrometer.\(role.rawValue)", action: "analyse", detail: "\(error)")
            }
            analyzers[role] = analyzer
        }
        let sample = acquisition.counts(acquisition.sample)
        let dark = darks[role] ?? CountSpectrum(counts: [Double](repeating: 0, count: sample.count))
        switch role {
        case .absorbance:
            guard let reference else {
                throw CampaignHardwareError(part: "spectrometer.abs", action: "analyse", detail: "no reference spectrum")
            }
            let spectrum = AbsorbanceSpectrum(sample: sample, reference: reference, dark: dark)
            return AliquotMeasurement(
                fit: analyzer.analyzeAbsorbance(spectrum), rawCounts: acquisition.sample.raw[acquisition.opticalPixels].map(Double.init),
                processed: spectrum.values, wavelengthsNanometres: acquisition.wavelengths)
        case .emission:
            let emission = SpectrumAcquisition.darkCorrected(sample, dark: dark)
            return AliquotMeasurement(
                fit: analyzer.analyzeEmission(emission), rawCounts: acquisition.sample.raw[acquisition.opticalPixels].map(Double.init),
                processed: emission.counts, wavelengthsNanometres: acquisition.wavelengths)
        }
    }
}
