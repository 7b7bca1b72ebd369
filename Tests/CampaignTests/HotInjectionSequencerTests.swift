import Control
import Testing

@testable import Campaign

/// A short plan: three aliquots, one flush cycle, so every state is a few events away.
func sequencerTestPlan(
    anomalyPolicy: HotInjectionSequencer.AnomalyPolicy = .log, quench: Bool = false, syringe: Double? = 80,
    sampleTimes: [Double] = [10, 20, 30]
) -> HotInjectionSequencer.Plan {
    HotInjectionSequencer.Plan(
        experimentNumber: 7,
        charge: [.init(reagent: "cd_stock", microlitres: 40), .init(reagent: "oleic_acid", microlitres: 300),
                 .init(reagent: "ode", microlitres: 560)],
        injection: [.init(reagent: "se_stock", microlitres: 300)], loadRateMicrolitresPerMinute: 2000,
        injectionRateMicrolitresPerMinute: 30000, reactorCelsius: 240, syringeCelsius: syringe, syringeMinimumCelsius: 60,
        settlingBandCelsius: 1, settleSeconds: 60,
        injectionFeedForward: HeatSequence.Injection(feedForwardDuty: 0.4, feedForwardSeconds: 10),
        sampleTimes: sampleTimes, pressurizeLeadSeconds: 2, samplingMillibar: 600, valvePulseMilliseconds: 100,
        transportDelaySeconds: 4, coolToCelsius: 60, cleanCycles: 1,
        cleanSolvent: .init(reagent: "solvent", microlitres: 1200), cleanRateMicrolitresPerMinute: 5000,
        anomalyPolicy: anomalyPolicy, quenchAtTarget: quench,
        timeouts: .init(loading: 900, heating: 3600, injecting: 120, samplingBeyondSchedule: 300, cooling: 3600, cleaning: 1800))
}

/// The states a test can start from, each reached by feeding a fixed list of events.
enum SequencerStateName: String, CaseIterable, CustomTestStringConvertible {
    case idle, loadingWaitingForSyringe, loadingPumping, heating, settling, injecting
    case samplingWaiting, samplingWithdrawing, samplingMeasuring, samplingJudging
    case cooling, cleaningDraining, cleaningFilling, done, failed, aborted

    var testDescription: String { rawValue }

    /// The events that lead here from idle.
    var script: [SequencerEvent] {
        let toLoading: [SequencerEvent] = [.started(at: 0)]
        let toPumping = toLoading + [.temperature(.syringe, celsius: 80, at: 5)]
        let toHeating = toPumping + [.pumpsDone]
        let toSettling = toHeating + [.temperature(.reactor, celsius: 240.2, at: 100)]
        let toInjecting = toSettling + [.temperature(.reactor, celsius: 239.9, at: 170)]
        let toWaiting = toInjecting + [.injectionDone(startedAt: 300)]
        let toWithdrawing = toWaiting + [.sampleDue(1)]
        let toMeasuring = toWithdrawing + [.valvePulsed(1, openedAt: 310, openMilliseconds: 100)]
        let toJudging = toMeasuring + [.aliquotMeasured(1)]
        var toCooling = toJudging + [.predicted(1)]
        for k in 2...3 {
            toCooling += [.sampleDue(k), .valvePulsed(k, openedAt: 300 + 10 * Double(k), openMilliseconds: 100),
                          .aliquotMeasured(k), .predicted(k)]
        }
        let toDraining = toCooling + [.temperature(.reactor, celsius: 50, at: 2000)]
        let toFilling = toDraining + [.drained]
        switch self {
        case .idle: return []
        case .loadingWaitingForSyringe: return toLoading
        case .loadingPumping: return toPumping
        case .heating: return toHeating
        case .settling: return toSettling
        case .injecting: return toInjecting
        case .samplingWaiting: return toWaiting
        case .samplingWithdrawing: return toWithdrawing
        case .samplingMeasuring: return toMeasuring
        case .samplingJudging: return toJudging
        case .cooling: return toCooling
        case .cleaningDraining: return toDraining
        case .cleaningFilling: return toFilling
        case .done: return toFilling + [.pumpsDone, .drained]
        case .failed: return toPumping + [.fault(reason: "test")]
        case .aborted: return toPumping + [.abortRequested]
        }
    }

    /// The name of `state` in this table (aliquot numbers aside).
    init(_ state: HotInjectionSequencer.State) {
        switch state {
        case .idle: self = .idle
        case .loading(let pumping): self = pumping ? .loadingPumping : .loadingWaitingForSyringe
        case .heating: self = .heating
        case .settling: self = .settling
        case .injecting: self = .injecting
        case .sampling(let progress):
            if progress.withdrawing { self = .samplingWithdrawing }
            else if progress.measured > progress.judged { self = .samplingJudging }
            else if progress.withdrawn > progress.measured { self = .samplingMeasuring }
            else { self = .samplingWaiting }
        case .cooling: self = .cooling
        case .cleaning(_, let filling): self = filling ? .cleaningFilling : .cleaningDraining
        case .done: self = .done
        case .failed: self = .failed
        case .aborted: self = .aborted
        }
    }

    var isFinal: Bool { self == .done || self == .failed || self == .aborted }
}

/// Every event the table tries, in every state (aliquot 1 where one is named).
enum SequencerEventName: String, CaseIterable, CustomTestStringConvertible {
    case started, syringeWarm, reactorInBand, reactorOutOfBand, reactorCool, pumpsDone, pumpStalled
    case injectionDone, sampleDue, valvePulsed, aliquotMeasured, predicted, anomaly, targetReached, drained
    case fault, abortRequested
    case timeoutLoading, timeoutHeating, timeoutInjecting, timeoutSampling, timeoutCooling, timeoutCleaning

    var testDescription: String { rawValue }

    var event: SequencerEvent {
        switch self {
        case .started: .started(at: 0)
        case .syringeWarm: .temperature(.syringe, celsius: 80, at: 200)
        // At 200 s: 100 s after the settling script entered the band, longer than settle_s = 60.
        case .reactorInBand: .temperature(.reactor, celsius: 240.5, at: 200)
        case .reactorOutOfBand: .temperature(.reactor, celsius: 200, at: 200)
        case .reactorCool: .temperature(.reactor, celsius: 50, at: 200)
        case .pumpsDone: .pumpsDone
        case .pumpStalled: .pumpStalled(reagent: "ode", detail: "stall prompt *")
        case .injectionDone: .injectionDone(startedAt: 300)
        case .sampleDue: .sampleDue(1)
        case .valvePulsed: .valvePulsed(1, openedAt: 310, openMilliseconds: 100)
        case .aliquotMeasured: .aliquotMeasured(1)
        case .predicted: .predicted(1)
        case .anomaly: .anomaly(1, reason: "off by 80 meV")
        case .targetReached: .targetReached(1)
        case .drained: .drained
        case .fault: .fault(reason: "thermocouple open")
        case .abortRequested: .abortRequested
        case .timeoutLoading: .timeout(.loading)
        case .timeoutHeating: .timeout(.heating)
        case .timeoutInjecting: .timeout(.injecting)
        case .timeoutSampling: .timeout(.sampling)
        case .timeoutCooling: .timeout(.cooling)
        case .timeoutCleaning: .timeout(.cleaning)
        }
    }
}

/// The transitions, written out by hand: state -> event -> next state. Every non-final state also
/// goes to `failed` on a fault and to `aborted` on an abort request; every other pair is ignored.
let sequencerTransitions: [SequencerStateName: [SequencerEventName: SequencerStateName]] = [
    .idle: [.started: .loadingWaitingForSyringe],
    .loadingWaitingForSyringe: [.syringeWarm: .loadingPumping, .timeoutLoading: .failed],
    .loadingPumping: [.pumpsDone: .heating, .pumpStalled: .failed, .timeoutLoading: .failed],
    .heating: [.reactorInBand: .settling, .timeoutHeating: .failed],
    .settling: [.reactorInBand: .injecting, .reactorOutOfBand: .heating, .reactorCool: .heating, .timeoutHeating: .failed],
    .injecting: [.injectionDone: .samplingWaiting, .pumpStalled: .failed, .timeoutInjecting: .failed],
    .samplingWaiting: [.sampleDue: .samplingWithdrawing, .timeoutSampling: .failed],
    .samplingWithdrawing: [.valvePulsed: .samplingMeasuring, .timeoutSampling: .failed],
    .samplingMeasuring: [.aliquotMeasured: .samplingJudging, .timeoutSampling: .failed],
    .samplingJudging: [
        .predicted: .samplingWaiting, .anomaly: .samplingWaiting, .targetReached: .samplingWaiting,
        .timeoutSampling: .failed,
    ],
    .cooling: [.reactorCool: .cleaningDraining, .timeoutCooling: .failed],
    .cleaningDraining: [.drained: .cleaningFilling, .timeoutCleaning: .failed],
    .cleaningFilling: [.pumpsDone: .cleaningDraining, .pumpStalled: .failed, .timeoutCleaning: .failed],
    .done: [:], .failed: [:], .aborted: [:],
]

func sequencer(in state: SequencerStateName, plan: HotInjectionSequencer.Plan = sequencerTestPlan()) -> HotInjectionSequencer {
    var sequencer = HotInjectionSequencer(plan: plan)
    for event in state.script { _ = sequencer.step(event) }
    return sequencer
}

@Suite("Hot-injection sequencer")
struct HotInjectionSequencerTests {
    @Test("the scripts reach the states they name", arguments: SequencerStateName.allCases)
    func scriptsReachTheirStates(_ name: SequencerStateName) {
        #expect(SequencerStateName(sequencer(in: name).state) == name)
    }

    @Test("every state × every event", arguments: SequencerStateName.allCases, SequencerEventName.allCases)
    func stateEventTable(_ from: SequencerStateName, _ eventName: SequencerEventName) {
        let before = sequencer(in: from)
        var after = before
        let actions = after.step(eventName.event)
        let expected: SequencerStateName? =
            if from.isFinal { nil }
            else if eventName == .fault { .failed }
            else if eventName == .abortRequested { .aborted }
            else { sequencerTransitions[from]?[eventName] }
        guard let expected else {
            #expect(actions.isEmpty, "\(from) ignores \(eventName)")
            #expect(after == before, "\(from) ignores \(eventName)")
            return
        }
        #expect(SequencerStateName(after.state) == expected)
        #expect(after != before)
        if expected == .failed || expected == .aborted {
            #expect(actions.contains { if case .enterSafeState = $0 { true } else { false } })
            #expect(after.outcome != nil)
            guard case .finished(let outcome) = actions.last else {
                Issue.record("the last action is not finished: \(actions)")
                return
            }
            #expect(outcome == after.outcome)
        }
    }

    @Test("abort and fault from every unfinished state end in the safe state", arguments: SequencerStateName.allCases.filter { !$0.isFinal })
    func abortAndFaultEndInTheSafeState(_ from: SequencerStateName) {
        var faulted = sequencer(in: from)
        let phase = faulted.phase.rawValue
        let reason = "thermocouple open (in \(phase))"
        #expect(
            faulted.step(.fault(reason: "thermocouple open"))
                == [.record(.fault, reason), .enterSafeState(reason: reason), .finished(.failed(reason: reason))])
        #expect(faulted.outcome == .failed(reason: reason))
        #expect(faulted.step(.pumpsDone) == [], "nothing after the end")

        var aborted = sequencer(in: from)
        let abortReason = "aborted by the operator in \(phase)"
        // Only an experiment that had not started is skipped (it can run later); once anything
        // moved it failed, and after the injection growth is never resumed.
        let outcome: ExperimentOutcome =
            from == .idle ? .skipped(reason: abortReason) : .failed(reason: abortReason)
        #expect(
            aborted.step(.abortRequested) == [
                .record(.fault, abortReason), .enterSafeState(reason: abortReason), .haltCampaign(reason: abortReason),
                .finished(outcome),
            ])
        #expect(aborted.outcome == outcome)
    }

    @Test("a whole experiment's actions in order")
    func wholeExperiment() {
        var s = HotInjectionSequencer(plan: sequencerTestPlan(sampleTimes: [10, 20]))
        var actions = s.step(.started(at: 0))
        actions += s.step(.temperature(.syringe, celsius: 59.9, at: 3))  // not warm enough: nothing
        actions += s.step(.temperature(.syringe, celsius: 61, at: 6))
        actions += s.step(.pumpsDone)
        actions += s.step(.temperature(.reactor, celsius: 239.5, at: 100))
        actions += s.step(.temperature(.reactor, celsius: 240.4, at: 159))  // 59 s in the band: not yet
        actions += s.step(.temperature(.reactor, celsius: 240.4, at: 160))
        actions += s.step(.injectionDone(startedAt: 161))
        for (k, t) in [(1, 171.0), (2, 181.0)] {
            actions += s.step(.sampleDue(k))
            actions += s.step(.valvePulsed(k, openedAt: t + 0.5, openMilliseconds: 100.2))
            actions += s.step(.aliquotMeasured(k))
            actions += s.step(.predicted(k))
        }
        actions += s.step(.temperature(.reactor, celsius: 60.5, at: 400))
        actions += s.step(.temperature(.reactor, celsius: 60, at: 410))
        actions += s.step(.drained)
        actions += s.step(.pumpsDone)
        actions += s.step(.drained)
        let expected: [SequencerAction] = [
            .record(.phase, "loading cd_stock 40.0 µL, oleic_acid 300.0 µL, ode 560.0 µL"),
            .armTimeout(.loading, afterSeconds: 900),
            .setSetpoint(.syringe, celsius: 80),
            .startPumps(
                [.init(reagent: "cd_stock", microlitres: 40), .init(reagent: "oleic_acid", microlitres: 300),
                 .init(reagent: "ode", microlitres: 560)], rateMicrolitresPerMinute: 2000),
            .record(.phase, "heating to 240.0 °C"),
            .setSetpoint(.reactor, celsius: 240),
            .armTimeout(.heating, afterSeconds: 3600),
            .record(.phase, "settling within ±1.0 °C for 60.0 s"),
            .record(.phase, "injecting se_stock 300.0 µL"),
            .armTimeout(.injecting, afterSeconds: 120),
            .beginInjection(
                [.init(reagent: "se_stock", microlitres: 300)], rateMicrolitresPerMinute: 30000,
                feedForward: HeatSequence.Injection(feedForwardDuty: 0.4, feedForwardSeconds: 10)),
            .record(.phase, "sampling 2 aliquots, t = 0 at 161.0 s"),
            .armTimeout(.sampling, afterSeconds: 320),
            .awaitSample(1, at: 169),
            .pressurize(millibar: 600), .pulseValve(1, at: 171, milliseconds: 100),
            .vent, .acquire(1, notBefore: 175.5), .awaitSample(2, at: 179),
            .predict(1),
            .pressurize(millibar: 600), .pulseValve(2, at: 181, milliseconds: 100),
            .vent, .acquire(2, notBefore: 185.5),
            .predict(2),
            .record(.phase, "cooling to 60.0 °C: all 2 aliquots taken"),
            .setSetpoint(.reactor, celsius: nil), .vent, .armTimeout(.cooling, afterSeconds: 3600),
            .record(.phase, "cleaning: drain, then 1 × solvent 1200.0 µL"),
            .armTimeout(.cleaning, afterSeconds: 1800), .drain,
            .startPumps([.init(reagent: "solvent", microlitres: 1200)], rateMicrolitresPerMinute: 5000),
            .drain, .vent,
            .record(.phase, "done"), .finished(.completed),
        ]
        #expect(actions.count == expected.count)
        for (index, pair) in zip(actions, expected).enumerated() where pair.0 != pair.1 {
            Issue.record("action \(index): \(pair.0) != \(pair.1)")
        }
        #expect(s.outcome == .completed)
        #expect(s.injectedAt == 161)
    }

    @Test("the settling clock restarts when the reactor leaves the band")
    func settlingRestarts() {
        var s = sequencer(in: .heating)
        _ = s.step(.temperature(.reactor, celsius: 239.2, at: 100))
        _ = s.step(.temperature(.reactor, celsius: 238.9, at: 150))  // 1.1 °C off: out
        #expect(s.phase == .heating)
        _ = s.step(.temperature(.reactor, celsius: 239.0, at: 151))
        _ = s.step(.temperature(.reactor, celsius: 240.0, at: 210))  // 59 s since 151
        #expect(s.phase == .settling)
        _ = s.step(.temperature(.reactor, celsius: 240.0, at: 211))
        #expect(s.phase == .injecting)
    }

    @Test("a heating timeout still applies while settling, a stale one does not")
    func timeoutsBelongToTheirPhase() {
        var settling = sequencer(in: .settling)
        #expect(settling.step(.timeout(.loading)) == [])
        _ = settling.step(.timeout(.heating))
        #expect(settling.outcome == .failed(reason: "timeout: heating took longer than 3600.0 s"))
    }

    @Test("without a syringe loop the pumps start at once")
    func noSyringeLoop() {
        var s = HotInjectionSequencer(plan: sequencerTestPlan(syringe: nil))
        let actions = s.step(.started(at: 0))
        #expect(s.state == .loading(pumping: true))
        #expect(!actions.contains { if case .setSetpoint = $0 { true } else { false } })
    }

    @Test("sampling waits for the aliquot it asked for")
    func wrongAliquotIgnored() {
        var s = sequencer(in: .samplingWaiting)
        #expect(s.step(.sampleDue(2)) == [])
        #expect(s.step(.sampleDue(1)) == [.pressurize(millibar: 600), .pulseValve(1, at: 310, milliseconds: 100)])
        #expect(s.step(.valvePulsed(2, openedAt: 320, openMilliseconds: 100)) == [])
    }

    @Test("withdrawal runs ahead of measurement: aliquot 2 is taken before aliquot 1 reaches the cells")
    func pipelinedSampling() {
        var s = sequencer(in: .samplingWaiting)
        _ = s.step(.sampleDue(1))
        #expect(s.step(.valvePulsed(1, openedAt: 310, openMilliseconds: 100)).last == .awaitSample(2, at: 318))
        #expect(s.step(.aliquotMeasured(2)) == [], "2 is not withdrawn yet")
        #expect(s.step(.sampleDue(2)) == [.pressurize(millibar: 600), .pulseValve(2, at: 320, milliseconds: 100)])
        #expect(s.step(.sampleDue(3)) == [], "one pulse at a time")
        #expect(s.step(.valvePulsed(2, openedAt: 320, openMilliseconds: 100)) == [.vent, .acquire(2, notBefore: 324), .awaitSample(3, at: 328)])
        #expect(s.step(.aliquotMeasured(2)) == [], "measured in order")
        #expect(s.step(.predicted(1)) == [], "1 is not measured yet")
        #expect(s.step(.aliquotMeasured(1)) == [.predict(1)])
        #expect(s.step(.aliquotMeasured(2)) == [.predict(2)])
        #expect(s.state == .sampling(.init(withdrawn: 2, withdrawing: false, measured: 2, judged: 0)))
        _ = s.step(.predicted(1))
        _ = s.step(.predicted(2))
        #expect(s.state == .sampling(.init(withdrawn: 2, withdrawing: false, measured: 2, judged: 2)))
    }

    @Test("anomaly policy log: journaled, sampling goes on")
    func anomalyLog() {
        var s = sequencer(in: .samplingJudging, plan: sequencerTestPlan(anomalyPolicy: .log))
        #expect(s.step(.anomaly(1, reason: "off")) == [.record(.anomaly, "aliquot 1: off")])
        #expect(s.state == .sampling(.init(withdrawn: 1, withdrawing: false, measured: 1, judged: 1)))
    }

    @Test("anomaly policy skip: cool and clean, the experiment ends skipped")
    func anomalySkip() {
        var s = sequencer(in: .samplingJudging, plan: sequencerTestPlan(anomalyPolicy: .skip))
        let actions = s.step(.anomaly(1, reason: "off"))
        #expect(actions.first == .record(.anomaly, "aliquot 1: off"))
        #expect(actions.contains(.setSetpoint(.reactor, celsius: nil)))
        #expect(s.phase == .cooling)
        _ = s.step(.temperature(.reactor, celsius: 40, at: 900))
        _ = s.step(.drained)
        _ = s.step(.pumpsDone)
        #expect(s.step(.drained).last == .finished(.skipped(reason: "anomaly policy skip: aliquot 1: off")))
    }

    @Test("anomaly policy abort: safe state, failed, the campaign halts")
    func anomalyAbort() {
        var s = sequencer(in: .samplingJudging, plan: sequencerTestPlan(anomalyPolicy: .abort))
        let reason = "anomaly policy abort: aliquot 1: off"
        #expect(
            s.step(.anomaly(1, reason: "off")) == [
                .record(.anomaly, "aliquot 1: off"), .record(.fault, reason), .enterSafeState(reason: reason),
                .haltCampaign(reason: reason), .finished(.failed(reason: reason)),
            ])
        #expect(s.phase == .failed)
    }

    @Test("target quench stops sampling and cools; without quench sampling goes on")
    func targetQuench() {
        var quench = sequencer(in: .samplingJudging, plan: sequencerTestPlan(quench: true))
        _ = quench.step(.targetReached(1))
        #expect(quench.phase == .cooling)
        #expect(quench.quenchedAt == 1)
        _ = quench.step(.temperature(.reactor, celsius: 40, at: 900))
        _ = quench.step(.drained)
        _ = quench.step(.pumpsDone)
        #expect(quench.step(.drained).last == .finished(.completed))

        var noQuench = sequencer(in: .samplingJudging, plan: sequencerTestPlan(quench: false))
        _ = noQuench.step(.targetReached(1))
        #expect(noQuench.state == .sampling(.init(withdrawn: 1, withdrawing: false, measured: 1, judged: 1)))
    }

    @Test("clean-up only: cool, drain, flush, done")
    func cleanUpOnly() {
        var s = HotInjectionSequencer(plan: sequencerTestPlan(), cleanUpOnly: true)
        let actions = s.step(.started(at: 0))
        #expect(s.phase == .cooling)
        #expect(actions.contains(.setSetpoint(.reactor, celsius: nil)))
        #expect(!actions.contains { if case .startPumps = $0 { true } else { false } })
        _ = s.step(.temperature(.reactor, celsius: 59, at: 100))
        _ = s.step(.drained)
        _ = s.step(.pumpsDone)
        _ = s.step(.drained)
        #expect(s.outcome == .completed)
    }
}
