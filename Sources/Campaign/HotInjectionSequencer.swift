import Control

/// The phases of one hot-injection experiment (DESIGN §1: load, heat, settle, inject, sample ×20,
/// cool, clean), and its three ends.
public enum SequencerPhase: String, Equatable, Hashable, Sendable, CaseIterable {
    case idle, loading, heating, settling, injecting, sampling, cooling, cleaning, done, failed, aborted

    /// Done, failed or aborted: no event changes anything any more.
    public var isFinal: Bool { self == .done || self == .failed || self == .aborted }
}

/// What happened, as the runner tells the sequencer. Times are seconds since the experiment's
/// `started` on the rig clock; aliquots are numbered 1...n in schedule order.
public enum SequencerEvent: Equatable, Sendable {
    /// Begin the experiment (idle only).
    case started(at: Double)
    /// A thermocouple reading. The sequencer decides settling and cooling from these.
    case temperature(CampaignHeater, celsius: Double, at: Double)
    /// Every pump of the last `startPumps` reached its volume (loading, a cleaning fill).
    case pumpsDone
    /// A pump stopped before its volume (stall, blocked line).
    case pumpStalled(reagent: String, detail: String)
    /// The injection pumps finished; `startedAt` is when they started: t = 0 of the growth.
    case injectionDone(startedAt: Double)
    /// Aliquot k's withdrawal is due (the time the last `awaitSample` gave has come).
    case sampleDue(Int)
    /// Aliquot k's valve pulse happened: when the valve opened, and for how long.
    case valvePulsed(Int, openedAt: Double, openMilliseconds: Double)
    /// Aliquot k's spectra were acquired and analysed (in order: 1, 2, ...).
    case aliquotMeasured(Int)
    /// Aliquot k was compared with the prediction (or there was nothing to compare): normal.
    case predicted(Int)
    /// Aliquot k fell outside the prediction interval: the plan's anomaly policy applies.
    case anomaly(Int, reason: String)
    /// Aliquot k reached the target peak: a quench when the plan asks for one.
    case targetReached(Int)
    /// One `drainReactor` finished (cleaning).
    case drained
    /// Something failed (a device, a safety trip), with the numbers.
    case fault(reason: String)
    /// The operator asked to stop (SIGINT).
    case abortRequested
    /// The deadline an `armTimeout` set for this phase has passed.
    case timeout(SequencerPhase)
}

/// What the runner must do, in order. Times are seconds since the experiment's `started`.
public enum SequencerAction: Equatable, Sendable {
    /// Start these pumps together at `rateMicrolitresPerMinute`; answer `pumpsDone` or
    /// `pumpStalled`.
    case startPumps([HotInjectionSequencer.Dose], rateMicrolitresPerMinute: Double)
    /// Stop every pump. (Not emitted today: the safe state stops them; kept for executors.)
    case stopPumps
    /// A loop's setpoint, °C; nil makes it idle.
    case setSetpoint(CampaignHeater, celsius: Double?)
    /// The hot injection now: announce the feed-forward to the reactor loop (if any), start the
    /// injection pumps; answer `injectionDone(startedAt:)`.
    case beginInjection([HotInjectionSequencer.Dose], rateMicrolitresPerMinute: Double, feedForward: HeatSequence.Injection?)
    /// Give up on `phase` if it has not ended `afterSeconds` from now: send `timeout(phase)` then.
    case armTimeout(SequencerPhase, afterSeconds: Double)
    /// Send `sampleDue(k)` at `at` (at once if that has passed).
    case awaitSample(Int, at: Double)
    case pressurize(millibar: Double)
    /// Open the sampling valve for aliquot k at the absolute time `at`, for `milliseconds`;
    /// answer `valvePulsed`.
    case pulseValve(Int, at: Double, milliseconds: Double)
    case vent
    /// Acquire and analyse aliquot k's spectra, not before `notBefore` (the transport delay);
    /// answer `aliquotMeasured(k)`.
    case acquire(Int, notBefore: Double)
    /// Predict aliquot k and compare it with the measurement (and the target); answer
    /// `predicted(k)`, `anomaly(k, ...)` or `targetReached(k)`.
    case predict(Int)
    /// Empty the reactor to waste; answer `drained`.
    case drain
    /// Heaters off, valves closed, pumps stopped, pressure vented.
    case enterSafeState(reason: String)
    /// Journal this.
    case record(CampaignEvent.Kind, String)
    /// The campaign must stop after this experiment (abort request, anomaly policy `abort`).
    case haltCampaign(reason: String)
    /// The experiment is over: nothing more will be asked.
    case finished(ExperimentOutcome)
}

/// One experiment of hot-injection synthesis as a pure state machine: it reads events and returns
/// actions; the campaign runner performs them on a `CampaignHardware` and answers with events.
///
///     idle -> loading -> heating <-> settling -> injecting -> sampling(1...n) -> cooling -> cleaning -> done
///
/// Any fault, timeout or abort request goes through the safe state (heaters off, valves closed,
/// pumps stopped, pressure vented) to `failed` / `aborted`. Growth is not resumable: an
/// interruption after the injection is always the end of that experiment (DESIGN §1, issue 6).
///
/// Settling and cooling are decided here from `temperature` readings (so they are tested here):
/// settled when the reactor stays within ±`settlingBandCelsius` of the setpoint for
/// `settleSeconds`; cooled at or below `coolToCelsius`. The Cd stock pump waits for the syringe
/// heater to hold the stock above `syringeMinimumCelsius` (Cd-oleate solidifies below ~50 °C).
/// Events that mean nothing in the current state (a reading while idle, a timeout of a phase
/// already left, an aliquot number not awaited) are ignored: they return no action.
public struct HotInjectionSequencer: Equatable, Sendable {
    /// A volume of one reagent from its pump.
    public struct Dose: Equatable, Hashable, Sendable, CustomStringConvertible {
        /// The pump's reagent name in the board file ("cd_stock", "oleic_acid", "ode", "se_stock").
        public var reagent: String
        public var microlitres: Double

        public init(reagent: String, microlitres: Double) {
            self.reagent = reagent
            self.microlitres = microlitres
        }

        public var description: String { "\(reagent) \(microlitres) µL" }
    }

    /// What the runner does when a measured peak falls outside the prediction interval.
    public enum AnomalyPolicy: String, Equatable, Sendable, CaseIterable {
        /// Journal it and go on.
        case log
        /// Stop this experiment's sampling, cool and clean; it ends `skipped`.
        case skip
        /// Stop the campaign: safe state, this experiment `failed`.
        case abort
    }

    /// Per-phase limits, s: the experiment fails with a timeout when one is exceeded.
    public struct Timeouts: Equatable, Sendable {
        public var loading: Double
        /// Heating and settling together (the reactor may leave the band and come back).
        public var heating: Double
        public var injecting: Double
        /// From the injection to the end of sampling, beyond the last scheduled time.
        public var samplingBeyondSchedule: Double
        public var cooling: Double
        public var cleaning: Double

        public init(
            loading: Double = 900, heating: Double = 3600, injecting: Double = 120, samplingBeyondSchedule: Double = 300,
            cooling: Double = 3600, cleaning: Double = 1800
        ) {
            self.loading = loading
            self.heating = heating
            self.injecting = injecting
            self.samplingBeyondSchedule = samplingBeyondSchedule
            self.cooling = cooling
            self.cleaning = cleaning
        }
    }

    /// Everything one experiment needs: the compiled recipe's volumes, the temperature, the schedule.
    public struct Plan: Equatable, Sendable {
        public var experimentNumber: Int
        /// Into the reactor before heating: Cd stock, oleic acid, ODE (900 µL in the published setup).
        public var charge: [Dose]
        /// The hot injection: Se stock (topped up to 300 µL).
        public var injection: [Dose]
        public var loadRateMicrolitresPerMinute: Double
        public var injectionRateMicrolitresPerMinute: Double
        /// Reaction temperature, °C.
        public var reactorCelsius: Double
        /// The Cd syringe heater's setpoint, °C; nil: no syringe loop on this rig.
        public var syringeCelsius: Double?
        /// The loading pumps wait for the syringe to read at least this, °C (when it has a loop).
        public var syringeMinimumCelsius: Double
        public var settlingBandCelsius: Double
        public var settleSeconds: Double
        /// The reactor loop's feed-forward for the cold injection (nil: none).
        public var injectionFeedForward: HeatSequence.Injection?
        /// Sample times after the injection, s, increasing (the published 20: 10...600).
        public var sampleTimes: [Double]
        /// Pressurize this long before each withdrawal, s.
        public var pressurizeLeadSeconds: Double
        /// Reactor head pressure for sampling, mbar (600 in the published setup).
        public var samplingMillibar: Double
        /// Valve open time that withdraws ~40 µL at `samplingMillibar`, ms.
        public var valvePulseMilliseconds: Double
        /// From the valve to the flow cells (cooling coil, dilution), s.
        public var transportDelaySeconds: Double
        /// Cleaning starts at or below this reactor temperature, °C.
        public var coolToCelsius: Double
        /// Solvent fill-and-drain cycles after the product is drained.
        public var cleanCycles: Int
        public var cleanSolvent: Dose
        public var cleanRateMicrolitresPerMinute: Double
        public var anomalyPolicy: AnomalyPolicy
        /// Stop sampling and cool once the target peak is reached.
        public var quenchAtTarget: Bool
        public var timeouts: Timeouts

        public init(
            experimentNumber: Int, charge: [Dose], injection: [Dose], loadRateMicrolitresPerMinute: Double = 2000,
            injectionRateMicrolitresPerMinute: Double = 30000, reactorCelsius: Double, syringeCelsius: Double? = 80,
            syringeMinimumCelsius: Double = 60, settlingBandCelsius: Double = 1, settleSeconds: Double = 60,
            injectionFeedForward: HeatSequence.Injection? = nil,
            sampleTimes: [Double] = HotInjectionSequencer.publishedSampleTimes, pressurizeLeadSeconds: Double = 2,
            samplingMillibar: Double = 600, valvePulseMilliseconds: Double = 100, transportDelaySeconds: Double = 4,
            coolToCelsius: Double = 60, cleanCycles: Int = 2,
            cleanSolvent: Dose = Dose(reagent: "solvent", microlitres: 1200), cleanRateMicrolitresPerMinute: Double = 5000,
            anomalyPolicy: AnomalyPolicy = .log, quenchAtTarget: Bool = false, timeouts: Timeouts = Timeouts()
        ) {
            precondition(!sampleTimes.isEmpty, "at least one sample time")
            precondition(zip(sampleTimes, sampleTimes.dropFirst()).allSatisfy { $0 < $1 }, "sample times must increase")
            precondition(cleanCycles >= 0, "clean cycles must not be negative")
            self.experimentNumber = experimentNumber
            self.charge = charge
            self.injection = injection
            self.loadRateMicrolitresPerMinute = loadRateMicrolitresPerMinute
            self.injectionRateMicrolitresPerMinute = injectionRateMicrolitresPerMinute
            self.reactorCelsius = reactorCelsius
            self.syringeCelsius = syringeCelsius
            self.syringeMinimumCelsius = syringeMinimumCelsius
            self.settlingBandCelsius = settlingBandCelsius
            self.settleSeconds = settleSeconds
            self.injectionFeedForward = injectionFeedForward
            self.sampleTimes = sampleTimes
            self.pressurizeLeadSeconds = pressurizeLeadSeconds
            self.samplingMillibar = samplingMillibar
            self.valvePulseMilliseconds = valvePulseMilliseconds
            self.transportDelaySeconds = transportDelaySeconds
            self.coolToCelsius = coolToCelsius
            self.cleanCycles = cleanCycles
            self.cleanSolvent = cleanSolvent
            self.cleanRateMicrolitresPerMinute = cleanRateMicrolitresPerMinute
            self.anomalyPolicy = anomalyPolicy
            self.quenchAtTarget = quenchAtTarget
            self.timeouts = timeouts
        }
    }

    /// The published schedule (DESIGN §1): 20 aliquots over 10 minutes, s after the injection.
    public static let publishedSampleTimes: [Double] = [
        10, 20, 30, 40, 50, 60, 80, 100, 120, 140, 160, 200, 240, 280, 330, 380, 450, 500, 550, 600,
    ]

    /// Where the aliquots stand. Withdrawal runs ahead of measurement: the next aliquot is
    /// withdrawn on schedule while earlier ones are still on their way to the flow cells (the
    /// transport delay can be longer than the 10 s between the first aliquots), so
    /// `judged <= measured <= withdrawn`, each counting aliquots 1, 2, ... in order.
    public struct SamplingProgress: Equatable, Sendable {
        /// Aliquots whose valve pulse is done.
        public var withdrawn: Int
        /// The pulse of aliquot `withdrawn + 1` is asked for (its `valvePulsed` is awaited).
        public var withdrawing: Bool
        /// Aliquots acquired and analysed.
        public var measured: Int
        /// Aliquots compared with the prediction.
        public var judged: Int

        public init(withdrawn: Int = 0, withdrawing: Bool = false, measured: Int = 0, judged: Int = 0) {
            self.withdrawn = withdrawn
            self.withdrawing = withdrawing
            self.measured = measured
            self.judged = judged
        }
    }

    public enum State: Equatable, Sendable {
        case idle
        /// `pumping` false: waiting for the syringe to hold the Cd stock liquid.
        case loading(pumping: Bool)
        case heating
        /// In the band since `since`.
        case settling(since: Double)
        case injecting
        case sampling(SamplingProgress)
        case cooling
        /// `cycle` 0 drains the product; 1...cleanCycles fill with solvent (`filling`) then drain.
        case cleaning(cycle: Int, filling: Bool)
        case done(ExperimentOutcome)
        case failed(reason: String)
        case aborted(reason: String)
    }

    public let plan: Plan
    /// Runs only the end of an experiment (cool, clean): how the runner empties the reactor after
    /// a failed one before the next.
    public let cleanUpOnly: Bool
    public private(set) var state: State = .idle
    /// t = 0 of the growth: when the injection started, s since `started`.
    public private(set) var injectedAt: Double?
    /// Why sampling ended early under the anomaly policy `skip` (the experiment ends `skipped`).
    public private(set) var skipReason: String?
    /// The aliquot whose target quench ended sampling.
    public private(set) var quenchedAt: Int?
    /// How the experiment ended, once it has (the same value as the `finished` action's).
    public private(set) var outcome: ExperimentOutcome?

    public init(plan: Plan, cleanUpOnly: Bool = false) {
        self.plan = plan
        self.cleanUpOnly = cleanUpOnly
    }

    public var phase: SequencerPhase {
        switch state {
        case .idle: .idle
        case .loading: .loading
        case .heating: .heating
        case .settling: .settling
        case .injecting: .injecting
        case .sampling: .sampling
        case .cooling: .cooling
        case .cleaning: .cleaning
        case .done: .done
        case .failed: .failed
        case .aborted: .aborted
        }
    }

    public mutating func step(_ event: SequencerEvent) -> [SequencerAction] {
        if phase.isFinal { return [] }
        switch event {
        case .abortRequested:
            return abort(reason: "aborted by the operator in \(phase.rawValue)")
        case .fault(let reason):
            return fail("\(reason) (in \(phase.rawValue))")
        case .timeout(let timedOut):
            guard timedOut == phase || (timedOut == .heating && phase == .settling) else { return [] }
            return fail("timeout: \(timedOut.rawValue) took longer than \(limit(of: timedOut)) s")
        case .pumpStalled(let reagent, let detail):
            switch state {
            case .loading(pumping: true), .injecting, .cleaning(_, filling: true):
                return fail("pump \(reagent) stalled in \(phase.rawValue): \(detail)")
            default: return []
            }
        default:
            return advance(event)
        }
    }

    private mutating func advance(_ event: SequencerEvent) -> [SequencerAction] {
        switch (state, event) {
        case (.idle, .started):
            if cleanUpOnly { return enterCooling(because: "clean-up after a failed experiment") }
            state = .loading(pumping: false)
            var actions: [SequencerAction] = [
                .record(.phase, "loading \(plan.charge.map(\.description).joined(separator: ", "))"),
                .armTimeout(.loading, afterSeconds: plan.timeouts.loading),
            ]
            if let syringe = plan.syringeCelsius {
                actions.append(.setSetpoint(.syringe, celsius: syringe))
            } else {
                actions += startLoading()
            }
            return actions

        case (.loading(pumping: false), .temperature(.syringe, let celsius, _)):
            guard celsius >= plan.syringeMinimumCelsius else { return [] }
            return startLoading()

        case (.loading(pumping: true), .pumpsDone):
            state = .heating
            return [
                .record(.phase, "heating to \(plan.reactorCelsius) °C"),
                .setSetpoint(.reactor, celsius: plan.reactorCelsius),
                .armTimeout(.heating, afterSeconds: plan.timeouts.heating),
            ]

        case (.heating, .temperature(.reactor, let celsius, let at)):
            guard inBand(celsius) else { return [] }
            state = .settling(since: at)
            return [.record(.phase, "settling within ±\(plan.settlingBandCelsius) °C for \(plan.settleSeconds) s")]

        case (.settling(let since), .temperature(.reactor, let celsius, let at)):
            guard inBand(celsius) else {
                state = .heating
                return [.record(.note, "left the settling band at \(celsius) °C after \(at - since) s")]
            }
            guard at - since >= plan.settleSeconds else { return [] }
            state = .injecting
            return [
                .record(.phase, "injecting \(plan.injection.map(\.description).joined(separator: ", "))"),
                .armTimeout(.injecting, afterSeconds: plan.timeouts.injecting),
                .beginInjection(
                    plan.injection, rateMicrolitresPerMinute: plan.injectionRateMicrolitresPerMinute,
                    feedForward: plan.injectionFeedForward),
            ]

        case (.injecting, .injectionDone(let startedAt)):
            injectedAt = startedAt
            state = .sampling(SamplingProgress())
            return [
                .record(.phase, "sampling \(plan.sampleTimes.count) aliquots, t = 0 at \(startedAt) s"),
                .armTimeout(.sampling, afterSeconds: plan.sampleTimes.last! + plan.timeouts.samplingBeyondSchedule),
                awaitSample(1),
            ]

        case (.sampling(var progress), .sampleDue(let k)) where !progress.withdrawing && k == progress.withdrawn + 1:
            progress.withdrawing = true
            state = .sampling(progress)
            return [
                .pressurize(millibar: plan.samplingMillibar),
                .pulseValve(k, at: scheduledTime(of: k), milliseconds: plan.valvePulseMilliseconds),
            ]

        case (.sampling(var progress), .valvePulsed(let k, let openedAt, _))
        where progress.withdrawing && k == progress.withdrawn + 1:
            progress.withdrawing = false
            progress.withdrawn = k
            state = .sampling(progress)
            var actions: [SequencerAction] = [.vent, .acquire(k, notBefore: openedAt + plan.transportDelaySeconds)]
            if k < plan.sampleTimes.count { actions.append(awaitSample(k + 1)) }
            return actions

        case (.sampling(var progress), .aliquotMeasured(let k)) where k == progress.measured + 1 && k <= progress.withdrawn:
            progress.measured = k
            state = .sampling(progress)
            return [.predict(k)]

        case (.sampling(let progress), .predicted(let k)) where k == progress.judged + 1 && k <= progress.measured:
            return judged(k, progress)

        case (.sampling(let progress), .anomaly(let k, let reason)) where k == progress.judged + 1 && k <= progress.measured:
            let message = "aliquot \(k): \(reason)"
            switch plan.anomalyPolicy {
            case .log:
                return [.record(.anomaly, message)] + judged(k, progress)
            case .skip:
                skipReason = "anomaly policy skip: \(message)"
                return [.record(.anomaly, message)]
                    + enterCooling(because: "the anomaly policy skips the rest of the sampling")
            case .abort:
                let reason = "anomaly policy abort: \(message)"
                return [.record(.anomaly, message)] + fail(reason, haltingTheCampaign: true)
            }

        case (.sampling(let progress), .targetReached(let k)) where k == progress.judged + 1 && k <= progress.measured:
            guard plan.quenchAtTarget else {
                return [.record(.note, "aliquot \(k) reached the target peak")] + judged(k, progress)
            }
            quenchedAt = k
            return enterCooling(because: "target quench at aliquot \(k)")

        case (.cooling, .temperature(.reactor, let celsius, _)):
            guard celsius <= plan.coolToCelsius else { return [] }
            state = .cleaning(cycle: 0, filling: false)
            return [
                .record(.phase, "cleaning: drain, then \(plan.cleanCycles) × \(plan.cleanSolvent)"),
                .armTimeout(.cleaning, afterSeconds: plan.timeouts.cleaning),
                .drain,
            ]

        case (.cleaning(let cycle, filling: false), .drained):
            guard cycle < plan.cleanCycles else { return finish() }
            state = .cleaning(cycle: cycle + 1, filling: true)
            return [.startPumps([plan.cleanSolvent], rateMicrolitresPerMinute: plan.cleanRateMicrolitresPerMinute)]

        case (.cleaning(let cycle, filling: true), .pumpsDone):
            state = .cleaning(cycle: cycle, filling: false)
            return [.drain]

        default:
            return []
        }
    }

    private mutating func startLoading() -> [SequencerAction] {
        state = .loading(pumping: true)
        return [.startPumps(plan.charge, rateMicrolitresPerMinute: plan.loadRateMicrolitresPerMinute)]
    }

    private func inBand(_ celsius: Double) -> Bool {
        abs(celsius - plan.reactorCelsius) <= plan.settlingBandCelsius
    }

    /// Aliquot k's withdrawal time, s since `started`.
    private func scheduledTime(of k: Int) -> Double {
        (injectedAt ?? 0) + plan.sampleTimes[k - 1]
    }

    private func awaitSample(_ k: Int) -> SequencerAction {
        .awaitSample(k, at: scheduledTime(of: k) - plan.pressurizeLeadSeconds)
    }

    /// Aliquot k is judged: sampling ends with the last one; aliquots in flight are abandoned
    /// when sampling ends early (skip, quench).
    private mutating func judged(_ k: Int, _ progress: SamplingProgress) -> [SequencerAction] {
        guard k < plan.sampleTimes.count else { return enterCooling(because: "all \(k) aliquots taken") }
        var progress = progress
        progress.judged = k
        state = .sampling(progress)
        return []
    }

    private mutating func enterCooling(because why: String) -> [SequencerAction] {
        state = .cooling
        return [
            .record(.phase, "cooling to \(plan.coolToCelsius) °C: \(why)"),
            .setSetpoint(.reactor, celsius: nil),
            .vent,
            .armTimeout(.cooling, afterSeconds: plan.timeouts.cooling),
        ]
    }

    private mutating func finish() -> [SequencerAction] {
        let outcome: ExperimentOutcome = skipReason.map { .skipped(reason: $0) } ?? .completed
        state = .done(outcome)
        self.outcome = outcome
        return [.vent, .record(.phase, "done"), .finished(outcome)]
    }

    private func limit(of phase: SequencerPhase) -> Double {
        switch phase {
        case .loading: plan.timeouts.loading
        case .heating, .settling: plan.timeouts.heating
        case .injecting: plan.timeouts.injecting
        case .sampling: plan.sampleTimes.last! + plan.timeouts.samplingBeyondSchedule
        case .cooling: plan.timeouts.cooling
        case .cleaning: plan.timeouts.cleaning
        case .idle, .done, .failed, .aborted: 0
        }
    }

    private mutating func fail(_ reason: String, haltingTheCampaign: Bool = false) -> [SequencerAction] {
        state = .failed(reason: reason)
        outcome = .failed(reason: reason)
        return [.record(.fault, reason), .enterSafeState(reason: reason)]
            + (haltingTheCampaign ? [.haltCampaign(reason: reason)] : []) + [.finished(.failed(reason: reason))]
    }

    private mutating func abort(reason: String) -> [SequencerAction] {
        // Nothing was loaded yet: the experiment never started, it can run in a later campaign.
        let outcome: ExperimentOutcome = phase == .idle ? .skipped(reason: reason) : .failed(reason: reason)
        state = .aborted(reason: reason)
        self.outcome = outcome
        return [
            .record(.fault, reason), .enterSafeState(reason: reason), .haltCampaign(reason: reason), .finished(outcome),
        ]
    }
}
