import Config
import Control
import Devices
import Transports

/// One status line's worth of a heat run.
public struct HeatStatus: Sendable {
    public var seconds: Double
    public var phase: HeatSequence.Phase
    public var loops: [HeatLoopSnapshot]
}

/// What `aliquot heat` reports at the end.
public struct HeatReport: Sendable {
    public var plan: HeatSequence.Plan
    public var outcome: HeatSequence.Outcome
    /// The reactor's step response and injection recovery, from its readings.
    public var performance: HeatPerformance
    /// Largest |error| of the syringe loop once it had first come within 1 °C of its setpoint.
    public var syringeMaxErrorCelsius: Double?
    /// Every trip that latched during the run, with the numbers that tripped it.
    public var trips: [SafetyTrip]
    /// Every event the loops raised (trips, injection windows, sensor failures...), in order.
    public var events: [ControlEvent]
    /// Seconds from the start to the injection, if there was one.
    public var injectedAt: Double?
    /// Seconds the run took on the rig's clock.
    public var seconds: Double
    /// Why the loop ran without real-time scheduling or locked memory, if it did (hardware).
    public var warnings: [String]
}

extension Rig {
    /// The safety limits of `heater` from the board file: the range runs from its thermocouple's
    /// `min_c` to the heater's own `max_c`, the rest from its safety keys.
    public func safetyLimits(of heater: HeaterConfig) -> SafetyLimits {
        let thermocouple = board.thermocouples.first { $0.name == heater.thermocouple }
        let safety = heater.safety
        return SafetyLimits(
            minCelsius: thermocouple?.minC ?? -20, maxCelsius: heater.maxC,
            staleAfterSeconds: safety.staleAfterS, stuckAfterSeconds: safety.stuckAfterS,
            heatingGainCelsius: safety.heatingGainC, heatingGainWithinSeconds: safety.heatingGainWithinS,
            runawayErrorIntegral: safety.runawayErrorIntegralCS, runawayHysteresisCelsius: safety.runawayHysteresisC,
            stuckOnRiseCelsius: safety.stuckOnRiseC, stuckOnWithinSeconds: safety.stuckOnWithinS,
            injectionWindowSeconds: safety.injectionWindowS, maxTickGapSeconds: safety.maxTickGapS)
    }

    /// A heat loop per heater (board order): its thermocouple's converter as the sensor, its SSR as
    /// the output, its safety limits, and the gains `gains` gives for it.
    public func makeHeatLoops(gains: (HeaterConfig) throws(RigError) -> PIDGains) throws(RigError) -> [HeatLoop] {
        try heaters.map { (heater) throws(RigError) in
            guard let thermocouple = thermocouples.first(where: { $0.config.name == heater.config.thermocouple }) else {
                throw RigError(
                    part: heater.output.id, action: "build its loop",
                    detail: "no thermocouple.\(heater.config.thermocouple)")
            }
            return HeatLoop(
                name: heater.config.name, gains: try gains(heater.config), limits: safetyLimits(of: heater.config),
                heater: heater.output, sensor: MCP9600TemperatureSensor(converter: thermocouple.converter))
        }
    }

    /// Heat loops with the gains of `tuned`; every heater must have been tuned on this board.
    public func makeHeatLoops(tuned: TunedState?, tunedPath: String) throws(RigError) -> [HeatLoop] {
        try makeHeatLoops { (heater) throws(RigError) in
            guard let tuned, tuned.board == board.name, let loop = tuned.loop(heater.name) else {
                throw RigError(
                    part: "heater.\(heater.name)", action: "find its gains",
                    detail: "no tuned gains for loop \(heater.name) of board \(board.name) in \(tunedPath): "
                        + "run `aliquot tune --board \(board.path) --loop \(heater.name) --setpoint <°C>` first")
            }
            return PIDGains(kp: loop.kp, ki: loop.ki, kd: loop.kd, derivativeFilterSeconds: loop.derivativeFilterSeconds)
        }
    }

    /// The control loop over `loops` (and `valves`, pulsed at absolute deadlines) at the board's
    /// `[control] period_ms`.
    public func makeControlLoop(
        _ loops: [HeatLoop], valves: [SolenoidValve] = [], deadMan: DeadManSwitch? = nil
    ) -> ControlLoop {
        ControlLoop(
            loops: loops, valves: valves, clock: clock, period: .milliseconds(board.control.periodMs), deadMan: deadMan)
    }

    /// The injection's feed-forward: the heat the cold precursor takes out of the charge
    /// (V·c·(T_set − T_injected)), delivered by the reactor heater over `seconds`. Only the twin
    /// injects by itself; on hardware the injection belongs to the fluidics (nil here).
    public func injectionFeedForward(setpoint: Double, seconds: Double = 10) -> HeatSequence.Injection? {
        guard board.transport == .twin,
            let zone = board.twin?.zones.first(where: { $0.heater == "reactor" }),
            let charge = zone.charge, let volume = charge.injectionML, seconds > 0
        else { return nil }
        let joules = volume * charge.heatCapacityJPerMLK * (setpoint - charge.injectionC)
        let duty = min(1, max(0, joules / (zone.heaterW * seconds)))
        return HeatSequence.Injection(feedForwardDuty: duty, feedForwardSeconds: seconds)
    }

    /// The driver of a control loop on this rig: the director runs it on the twin; on hardware it
    /// runs in its real-time thread, with the dead-man switch forcing the heaters off if it stalls.
    func makeLoopDriver(_ loops: [HeatLoop], valves: [SolenoidValve] = []) throws(RigError) -> LoopDriver {
        guard board.transport == .linux else { return LoopDriver.onTwin(makeControlLoop(loops, valves: valves)) }
        let deadMan = DeadManSwitch(
            timeout: .milliseconds(Int64((board.control.deadManS * 1000).rounded())),
            forceOff: DeadManSwitch.heatersOff(loops.map(\.heater)))
        return try LoopDriver.onHardware(makeControlLoop(loops, valves: valves, deadMan: deadMan), deadMan: deadMan)
    }

    /// Runs `plan`: the control loop in slices of `sampleSeconds` (on the twin as fast as the CPU
    /// allows; on hardware in real time), the sequence stepped between slices, the injection put
    /// into the twin's plant at the instant it is announced to the loop. Ends in the safe state
    /// whatever happens.
    public func runHeat(
        _ plan: HeatSequence.Plan, loops: [HeatLoop], sampleSeconds: Double = 0.5,
        statusEverySeconds: Double = 10, onStatus: (HeatStatus) -> Void = { _ in }
    ) throws(RigError) -> HeatReport {
        let twin = transports as? TwinTransportFactory
        if plan.injection != nil && twin == nil {
            throw RigError(
                part: "heat", action: "inject", detail: "injections on hardware belong to the fluidics; run with --no-injection")
        }
        let driver = try makeLoopDriver(loops)
        defer { driver.finish() }
        let port = driver.control.port
        var recorder = HeatRecorder(plan: plan, loopNames: loops.map(\.name))
        recorder.warnings = driver.warnings
        var sequence = HeatSequence(plan: plan)
        let start = clock.now()
        var nextStatus = statusEverySeconds  // the first line once the loops have readings
        while true {
            let now = clock.now()
            let seconds = now.seconds(since: start)
            recorder.collect(from: port, at: seconds)
            let snapshots = (0..<loops.count).map { port.snapshot($0) }
            let reactor = snapshots.first { $0.loop == "reactor" }
            let tripped = snapshots.first { $0.trip != nil }?.loop
            for action in sequence.step(at: seconds, reactorCelsius: reactor?.celsius, trippedLoop: tripped) {
                switch action {
                case .setSetpoint(let loop, let celsius):
                    guard port.index(of: loop) != nil else {
                        throw RigError(part: "heater.\(loop)", action: "set setpoint", detail: "\(board.path) has no such heater")
                    }
                    guard port.setSetpoint(celsius, loop: loop) else {
                        throw RigError(part: "heater.\(loop)", action: "set setpoint", detail: "the command queue is full")
                    }
                case .inject(let injection):
                    if let twin { _ = try twin.injectScheduled(intoHeater: "reactor") }
                    recorder.injectedAt = seconds
                    if let index = port.index(of: "reactor") {
                        _ = port.send(
                            .announceInjection(
                                loop: index, feedForward: injection.feedForwardDuty,
                                seconds: injection.feedForwardSeconds))
                    }
                case .finish(let outcome):
                    return recorder.report(outcome: outcome, seconds: seconds)
                }
            }
            if seconds >= nextStatus {
                onStatus(HeatStatus(seconds: seconds, phase: sequence.phase, loops: snapshots))
                nextStatus += statusEverySeconds
            }
            try driver.advance(until: now.adding(seconds: sampleSeconds))
        }
    }
}

/// Collects the readings and events of a heat run and turns them into its report.
struct HeatRecorder {
    let plan: HeatSequence.Plan
    let loopNames: [String]
    var reactorSamples: [HeatPerformance.Sample] = []
    var syringeErrors: [(seconds: Double, error: Double)] = []
    var events: [ControlEvent] = []
    var injectedAt: Double?
    var warnings: [String] = []

    init(plan: HeatSequence.Plan, loopNames: [String]) {
        self.plan = plan
        self.loopNames = loopNames
    }

    mutating func collect(from port: ControlLoopPort, at seconds: Double) {
        events += port.takeEvents()
        if let reactor = port.snapshot(loop: "reactor"), let celsius = reactor.celsius {
            reactorSamples.append(HeatPerformance.Sample(seconds: seconds, celsius: celsius))
        }
        if let setpoint = plan.syringeSetpoint, let syringe = port.snapshot(loop: "syringe"),
            let celsius = syringe.celsius
        {
            syringeErrors.append((seconds, celsius - setpoint))
        }
    }

    func report(outcome: HeatSequence.Outcome, seconds: Double) -> HeatReport {
        let performance =
            reactorSamples.isEmpty
            ? HeatPerformance.noReadings
            : HeatPerformance.analyse(
                reactorSamples, setpoint: plan.reactorSetpoint, injectionAt: injectedAt,
                settlingBand: plan.settlingBand)
        // The syringe's hold: from its first reading within 1 °C to the end.
        var syringeMax: Double?
        if let first = syringeErrors.firstIndex(where: { abs($0.error) <= 1 }) {
            syringeMax = syringeErrors[first...].map { abs($0.error) }.max()
        }
        let trips = events.compactMap { event -> SafetyTrip? in
            if case .tripped(let trip) = event { return trip }
            return nil
        }
        return HeatReport(
            plan: plan, outcome: outcome, performance: performance, syringeMaxErrorCelsius: syringeMax,
            trips: trips, events: events, injectedAt: injectedAt, seconds: seconds, warnings: warnings)
    }
}
