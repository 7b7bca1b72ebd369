import Control
import Spectra
import Synchronization
import Transports

/// One experiment of a campaign: what the campaign planned and the sequencer's plan compiled from
/// its recipe and the campaign's schedule, or why it cannot run (an infeasible recipe: it is
/// recorded `skipped` and nothing moves).
public struct RunnableExperiment: Equatable, Sendable {
    public var experiment: PlannedExperiment
    /// nil when the experiment cannot run.
    public var plan: HotInjectionSequencer.Plan?
    /// Why it cannot run, when `plan` is nil.
    public var skipReason: String?

    public init(experiment: PlannedExperiment, plan: HotInjectionSequencer.Plan) {
        self.experiment = experiment
        self.plan = plan
        skipReason = nil
    }

    public init(experiment: PlannedExperiment, skippedBecause reason: String) {
        self.experiment = experiment
        plan = nil
        skipReason = reason
    }
}

/// How the runner judges aliquots and paces itself.
public struct CampaignRunSettings: Equatable, Sendable {
    /// Which spectrum's peak is compared with the model and the target (the model's training set).
    public var comparedSpectrum: SpectrumKind
    /// z of the prediction interval mean ± z·sd (`[prediction] interval_sigma`).
    public var intervalSigma: Double
    /// The interval's half-width is at least this, eV: a few MC-dropout passes can agree closely
    /// and the measurement itself varies by ~2 meV between repeated runs (DESIGN §1).
    public var minimumHalfWidthElectronvolts: Double
    /// The target peak wavelength, nm: reached when the measured peak is at or beyond it (dots
    /// only grow, so the peak only moves to the red during a run).
    public var targetPeakNanometres: Double?
    /// How often the runner looks at the rig while waiting (readings, pumps, trips, abort), s.
    public var pollSeconds: Double
    /// How often progress is reported while nothing changes, s of campaign time.
    public var progressEverySeconds: Double
    /// This many failed experiments in a row end the campaign (a part that keeps failing).
    public var maxConsecutiveFailures: Int

    public init(
        comparedSpectrum: SpectrumKind = .absorbance, intervalSigma: Double = 3, minimumHalfWidthElectronvolts: Double = 0.005,
        targetPeakNanometres: Double? = nil, pollSeconds: Double = 1, progressEverySeconds: Double = 10,
        maxConsecutiveFailures: Int = 3
    ) {
        precondition(pollSeconds > 0, "the poll interval must be positive")
        precondition(maxConsecutiveFailures >= 1, "at least one failure is allowed before the campaign stops")
        self.comparedSpectrum = comparedSpectrum
        self.intervalSigma = intervalSigma
        self.minimumHalfWidthElectronvolts = minimumHalfWidthElectronvolts
        self.targetPeakNanometres = targetPeakNanometres
        self.pollSeconds = pollSeconds
        self.progressEverySeconds = progressEverySeconds
        self.maxConsecutiveFailures = maxConsecutiveFailures
    }
}

/// Set from a signal handler (SIGINT) or another thread; the runner checks it at every poll and
/// ends the campaign in the safe state.
public final class CampaignAbortFlag: Sendable {
    private let requested = Atomic<Bool>(false)

    public init() {}

    public func request() { requested.store(true, ordering: .relaxed) }

    public var isRequested: Bool { requested.load(ordering: .relaxed) }
}

/// One line of live progress for the CLI.
public struct CampaignProgress: Equatable, Sendable {
    public var experiment: PlannedExperiment
    /// k of n, from 1.
    public var position: Int
    public var count: Int
    public var phase: SequencerPhase
    /// Aliquots measured so far in this experiment.
    public var aliquotsTaken: Int
    public var reactorCelsius: Double?
    /// The last measured peak of the compared spectrum, nm.
    public var lastPeakNanometres: Double?
    /// Rig-clock time since the campaign started, s.
    public var campaignSeconds: Double
    /// Rig-clock time left, from the mean duration of the experiments finished so far (nil
    /// before the first ends).
    public var etaSeconds: Double?
}

/// How a campaign went, for the CLI's summary table.
public struct CampaignSummary: Equatable, Sendable {
    public struct Entry: Equatable, Sendable {
        public var experiment: PlannedExperiment
        public var outcome: ExperimentOutcome
        /// Whether anything moved (false: skipped before it started, an infeasible recipe).
        public var ran: Bool
        public var aliquots: Int
        public var anomalies: Int
        /// The last aliquot's fitted peaks (nil when it gave none).
        public var finalAbsorbance: PeakParameters?
        public var finalEmission: PeakParameters?
        /// The model's prediction at the last aliquot.
        public var finalPrediction: AliquotPrediction?
        /// Rig-clock duration of the experiment, s.
        public var seconds: Double
    }

    public var planned: Int
    /// Every experiment the campaign reached, in order (those skipped before starting too).
    public var entries: [Entry]
    public var anomalies: Int
    public var safetyTrips: [SafetyTrip]
    public var virtualSeconds: Double
    public var wallSeconds: Double
    /// Why the campaign ended before its last experiment, if it did.
    public var stopReason: String?
    /// What the final safe state could not do (empty when all went well).
    public var safeStateProblems: [String]

    /// Experiments that started (loading or beyond).
    public var run: Int { entries.filter(\.ran).count }
    public var completed: Int { entries.filter { $0.outcome == .completed }.count }
    public var failed: Int {
        entries.filter { if case .failed = $0.outcome { true } else { false } }.count
    }
    public var skipped: Int {
        entries.filter { if case .skipped = $0.outcome { true } else { false } }.count
    }
}

/// Why a campaign could not go on at all: its records could not be written.
public struct CampaignRunError: Error, Equatable, Sendable, CustomStringConvertible {
    public var action: String
    public var detail: String

    public init(action: String, detail: String) {
        self.action = action
        self.detail = detail
    }

    public var description: String { "campaign: \(action): \(detail)" }
}

/// The verdict on one aliquot: measured peak against the MC-dropout interval and the target.
public enum AliquotVerdict: Equatable, Sendable {
    case normal
    case anomaly(String)
    case targetReached
}

/// Runs a campaign's experiments one after the other through `HotInjectionSequencer`s, performing
/// their actions on a `CampaignHardware`, sending every record to a `CampaignRecorder`.
///
/// Faults (decided per kind, see `continuationBlocker`): the experiment fails through the safe
/// state; the campaign goes on with the next experiment after a clean-up (cool, drain, flush)
/// and after the latched trips clear, except when
/// - the trip is `heaterStuckOn`, `runaway` or `loopStall` (a heater or the loop itself cannot
///   be trusted: an operator must look),
/// - the reactor has no temperature reading (an open thermocouple that stays open: cooling
///   cannot be confirmed, so the reactor is not cleaned),
/// - a trip will not clear (the thermocouple is still open or out of range),
/// - the clean-up fails, the rig itself failed (`CampaignHardwareError.Severity.rig`), or
///   `maxConsecutiveFailures` experiments failed in a row,
/// - the operator aborted (the abort flag) or the anomaly policy `abort` fired.
/// A recorder error stops everything (safe state, then the error is thrown): nothing runs that
/// cannot be recorded.
public final class CampaignRunner<Hardware: CampaignHardware> {
    public let hardware: Hardware
    public let recorder: any CampaignRecorder
    public let settings: CampaignRunSettings
    public let predictor: (any AliquotPredicting)?
    public let abortFlag: CampaignAbortFlag
    /// Real time, for the summary's wall seconds only (on the twin the rig clock is virtual).
    public let wallClock: any RigClock
    public let onProgress: (CampaignProgress) -> Void

    public init(
        hardware: Hardware, recorder: any CampaignRecorder, settings: CampaignRunSettings = CampaignRunSettings(),
        predictor: (any AliquotPredicting)?, abortFlag: CampaignAbortFlag = CampaignAbortFlag(), wallClock: any RigClock,
        onProgress: @escaping (CampaignProgress) -> Void = { _ in }
    ) {
        self.hardware = hardware
        self.recorder = recorder
        self.settings = settings
        self.predictor = predictor
        self.abortFlag = abortFlag
        self.wallClock = wallClock
        self.onProgress = onProgress
    }

    /// Whether a failed experiment's trips allow the next one; the reason when they do not.
    public static func continuationBlocker(trips: [SafetyTrip]) -> String? {
        let unsafe: Set<SafetyCheck> = [.heaterStuckOn, .runaway, .loopStall]
        guard let trip = trips.first(where: { unsafe.contains($0.check) }) else { return nil }
        return "not safe to go on after \(trip.loop) tripped \(trip.check.rawValue): \(trip)"
    }

    /// Compares a measured peak with a prediction and the target: an anomaly when
    /// |E_measured − mean| > max(z·sd, minimum half-width); the target is checked after (an
    /// anomalous aliquot under `log` is followed by more aliquots, which reach it too).
    public static func judge(
        measured: PeakParameters?, prediction: AliquotPrediction?, settings: CampaignRunSettings
    ) -> AliquotVerdict {
        guard let measured else { return .normal }
        if let prediction {
            let halfWidth = max(
                settings.intervalSigma * prediction.peakSpreadElectronvolts, settings.minimumHalfWidthElectronvolts)
            let deviation = measured.peakElectronvolts - prediction.peakElectronvolts
            if abs(deviation) > halfWidth {
                var reason =
                    "measured \(rounded(measured.peakElectronvolts, 4)) eV (\(rounded(measured.peakNanometres, 1)) nm) "
                    + "outside the predicted \(rounded(prediction.peakElectronvolts, 4)) ± \(rounded(halfWidth, 4)) eV "
                    + "(\(settings.intervalSigma)σ, off by \(rounded(deviation * 1000, 1)) meV)"
                if !prediction.extrapolated.isEmpty {
                    reason += "; the model extrapolates in \(prediction.extrapolated.joined(separator: ", "))"
                }
                return .anomaly(reason)
            }
        }
        if let target = settings.targetPeakNanometres, measured.peakNanometres >= target { return .targetReached }
        return .normal
    }

    static func rounded(_ value: Double, _ digits: Int) -> Double {
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        return (value * scale).rounded() / scale
    }

    // MARK: - The campaign

    private var campaignStart = MonotonicInstant.zero
    private var trips: [SafetyTrip] = []
    private var finishedDurations: [Double] = []

    /// Runs `experiments` in order and returns the summary. When they are done and `nextBatch` is
    /// given, it is asked for more with the entries so far (an adaptive design: train, suggest,
    /// run); an empty answer ends the campaign. Throws only when a record cannot be written
    /// (after putting the rig in its safe state).
    public func run(
        name: String, experiments: [RunnableExperiment],
        nextBatch: (([CampaignSummary.Entry]) throws -> [RunnableExperiment])? = nil
    ) throws(CampaignRunError) -> CampaignSummary {
        campaignStart = hardware.now()
        let wallStart = wallClock.now()
        trips = []
        finishedDurations = []
        var queue = experiments
        var entries: [CampaignSummary.Entry] = []
        var stopReason: String?
        var consecutiveFailures = 0
        do {
            try recorder.campaignStarted(name: name, experiments: experiments.map(\.experiment))
        } catch {
            throw stopped(action: "record the campaign's start", error)
        }
        var index = 0
        while true {
            if index == queue.count {
                guard let nextBatch else { break }
                let more: [RunnableExperiment]
                do { more = try nextBatch(entries) } catch {
                    stopReason = "the next batch could not be planned: \(error)"
                    break
                }
                if more.isEmpty { break }
                queue += more
            }
            let item = queue[index]
            index += 1
            if abortFlag.isRequested {
                stopReason = "aborted by the operator before experiment \(item.experiment.number)"
                break
            }
            guard let plan = item.plan else {
                let outcome = ExperimentOutcome.skipped(reason: item.skipReason ?? "no plan")
                entries.append(
                    CampaignSummary.Entry(
                        experiment: item.experiment, outcome: outcome, ran: false, aliquots: 0, anomalies: 0,
                        finalAbsorbance: nil, finalEmission: nil, finalPrediction: nil, seconds: 0))
                do { try recorder.experimentEnded(item.experiment, outcome: outcome) } catch {
                    throw stopped(action: "record experiment \(item.experiment.number) as skipped", error)
                }
                continue
            }
            do { try recorder.experimentStarted(item.experiment) } catch {
                throw stopped(action: "record the start of experiment \(item.experiment.number)", error)
            }
            let started = hardware.now()
            let result = try execute(HotInjectionSequencer(plan: plan), item, position: index, count: queue.count)
            let seconds = hardware.now().seconds(since: started)
            finishedDurations.append(seconds)
            let outcome = result.outcome ?? .failed(reason: "the sequencer ended without an outcome")
            entries.append(
                CampaignSummary.Entry(
                    experiment: item.experiment, outcome: outcome, ran: true, aliquots: result.aliquots,
                    anomalies: result.anomalies, finalAbsorbance: result.lastAliquot?.absorbance.fit.peak,
                    finalEmission: result.lastAliquot?.photoluminescence.fit.peak, finalPrediction: result.lastPrediction,
                    seconds: seconds))
            do { try recorder.experimentEnded(item.experiment, outcome: outcome) } catch {
                throw stopped(action: "record the end of experiment \(item.experiment.number)", error)
            }
            if let halt = result.halt ?? result.rigFailure {
                stopReason = halt
                break
            }
            guard case .failed = outcome else {
                consecutiveFailures = 0
                continue
            }
            consecutiveFailures += 1
            if let blocker = Self.continuationBlocker(trips: result.trips) {
                stopReason = blocker
                break
            }
            if consecutiveFailures >= settings.maxConsecutiveFailures {
                stopReason = "\(consecutiveFailures) experiments failed in a row"
                break
            }
            // Empty the reactor even after the last one: the rig is left clean.
            if let problem = try recover(after: item, plan: plan, position: index, count: queue.count) {
                stopReason = problem
                break
            }
        }
        let safeStateProblems = hardware.enterSafeState(reason: stopReason ?? "campaign finished")
        let summary = CampaignSummary(
            planned: queue.count, entries: entries, anomalies: entries.reduce(0) { $0 + $1.anomalies },
            safetyTrips: trips, virtualSeconds: hardware.now().seconds(since: campaignStart),
            wallSeconds: wallClock.now().seconds(since: wallStart), stopReason: stopReason,
            safeStateProblems: safeStateProblems)
        do {
            if let stopReason {
                try recorder.event(
                    CampaignEvent(campaignSeconds: summary.virtualSeconds, experimentNumber: nil, kind: .note,
                                  message: "campaign stopped: \(stopReason)"))
            }
            for problem in safeStateProblems {
                try recorder.event(
                    CampaignEvent(campaignSeconds: summary.virtualSeconds, experimentNumber: nil, kind: .fault,
                                  message: "safe state: \(problem)"))
            }
            try recorder.campaignEnded(virtualSeconds: summary.virtualSeconds, wallSeconds: summary.wallSeconds)
        } catch {
            throw CampaignRunError(action: "record the campaign's end", detail: "\(error)")
        }
        return summary
    }

    /// After a failed experiment: cool, drain and flush the reactor (the end of a sequencer run),
    /// then clear the latched trips. Returns why the campaign cannot go on, or nil.
    private func recover(
        after item: RunnableExperiment, plan: HotInjectionSequencer.Plan, position: Int, count: Int
    ) throws(CampaignRunError) -> String? {
        // Cleaning waits for the reactor to cool: without its thermocouple nobody can tell.
        guard hardware.celsius(of: .reactor) != nil else {
            return "the reactor has no temperature reading after experiment \(item.experiment.number): "
                + "it cannot be cooled and cleaned safely; an operator must look"
        }
        let cleanUp = try execute(
            HotInjectionSequencer(plan: plan, cleanUpOnly: true), item, position: position, count: count)
        if let halt = cleanUp.halt ?? cleanUp.rigFailure { return halt }
        if let blocker = Self.continuationBlocker(trips: cleanUp.trips) { return blocker }
        guard cleanUp.outcome == .completed else {
            return "the clean-up after experiment \(item.experiment.number) failed: \(cleanUp.outcome.map { "\($0)" } ?? "no outcome")"
        }
        let latched: [SafetyTrip]
        do { latched = try hardware.clearSafetyTrips() } catch {
            return error.severity == .rig ? "\(error)" : "could not clear the safety trips: \(error)"
        }
        if let trip = latched.first {
            return "the trip of \(trip.loop) does not clear (\(trip)): an operator must look"
        }
        return nil
    }

    private func stopped(action: String, _ error: any Error) -> CampaignRunError {
        let problems = hardware.enterSafeState(reason: "the campaign cannot record: \(error)")
        var detail = "\(error)"
        if !problems.isEmpty { detail += "; safe state: \(problems.joined(separator: "; "))" }
        return CampaignRunError(action: action, detail: detail)
    }

    // MARK: - One sequencer run

    /// What one sequencer run produced.
    struct ExecutionResult {
        var outcome: ExperimentOutcome?
        var halt: String?
        var rigFailure: String?
        var trips: [SafetyTrip] = []
        var aliquots = 0
        var anomalies = 0
        var lastAliquot: AcquiredAliquot?
        var lastPrediction: AliquotPrediction?
    }

    /// What the runner is waiting for while no event is pending.
    private struct Waits {
        var start: MonotonicInstant
        var pumping: [String] = []
        var pumpingInjection = false
        var injectionStartedAt = 0.0
        var sampleDue: (aliquot: Int, at: MonotonicInstant)?
        /// Aliquots on their way to the flow cells, in order, with when they get there.
        var acquireQueue: [(aliquot: Int, at: MonotonicInstant)] = []
        var deadlines: [(phase: SequencerPhase, at: MonotonicInstant)] = []
        var pulses: [Int: (pulse: ValvePulseResult, reactorCelsius: Double, ambientCelsius: Double)] = [:]
        var acquisitions: [Int: AcquiredAliquot] = [:]
        var abortSent = false
        var lastPeakNanometres: Double?
        var nextProgress: MonotonicInstant
        var lastPhase: SequencerPhase = .idle
    }

    /// An action that could not be performed because a record could not be written.
    private struct RecordFailure: Error {
        var action: String
        var error: any Error
    }

    private func execute(
        _ initial: HotInjectionSequencer, _ item: RunnableExperiment, position: Int, count: Int
    ) throws(CampaignRunError) -> ExecutionResult {
        var sequencer = initial
        var result = ExecutionResult()
        let start = hardware.now()
        var waits = Waits(start: start, nextProgress: start)
        var actions = sequencer.step(.started(at: 0))
        var events: [SequencerEvent] = []
        while true {
            batch: for action in actions {
                do {
                    if let event = try perform(action, &waits, &result, sequencer: sequencer, item: item) {
                        events.append(event)
                    }
                } catch let failure as RecordFailure {
                    throw stopped(action: failure.action, failure.error)
                } catch let error as CampaignHardwareError {
                    if error.severity == .rig { result.rigFailure = "the rig failed: \(error)" }
                    events = [.fault(reason: "\(error)")]
                    break batch
                } catch {
                    throw stopped(action: "perform \(action)", error)
                }
            }
            actions = []
            if sequencer.phase.isFinal && events.isEmpty { return result }
            if events.isEmpty {
                do {
                    events = try waitForEvents(&waits, &result, sequencer: sequencer, item: item)
                } catch let failure as RecordFailure {
                    throw stopped(action: failure.action, failure.error)
                } catch let error as CampaignHardwareError {
                    if error.severity == .rig { result.rigFailure = "the rig failed: \(error)" }
                    events = [.fault(reason: "\(error)")]
                } catch {
                    throw stopped(action: "wait for the rig", error)
                }
                report(waits: &waits, sequencer: sequencer, item: item, position: position, count: count, force: false)
            }
            if !events.isEmpty {
                actions = sequencer.step(events.removeFirst())
                if sequencer.phase != .sampling {
                    // Sampling ended (all judged, skip, quench, a fault): aliquots still due or in
                    // flight are abandoned.
                    waits.sampleDue = nil
                    waits.acquireQueue = []
                }
                if sequencer.phase != waits.lastPhase {
                    waits.lastPhase = sequencer.phase
                    report(waits: &waits, sequencer: sequencer, item: item, position: position, count: count, force: true)
                }
            }
            if sequencer.phase.isFinal && actions.isEmpty { return result }
        }
    }

    private func seconds(_ instant: MonotonicInstant, since start: MonotonicInstant) -> Double {
        instant.seconds(since: start)
    }

    private func note(_ kind: CampaignEvent.Kind, _ message: String, _ item: RunnableExperiment) throws {
        do {
            try recorder.event(
                CampaignEvent(
                    campaignSeconds: hardware.now().seconds(since: campaignStart), experimentNumber: item.experiment.number,
                    kind: kind, message: message))
        } catch {
            throw RecordFailure(action: "record \(kind.rawValue) \"\(message)\"", error: error)
        }
    }

    /// Performs one action; returns the event it answers at once, if any.
    private func perform(
        _ action: SequencerAction, _ waits: inout Waits, _ result: inout ExecutionResult,
        sequencer: HotInjectionSequencer, item: RunnableExperiment
    ) throws -> SequencerEvent? {
        switch action {
        case .startPumps(let doses, let rate):
            let moving = doses.filter { $0.microlitres > 0 }
            for dose in moving {
                try note(.pumpCommand, "start \(dose.reagent): \(dose.microlitres) µL at \(rate) µL/min", item)
                try hardware.startPump(reagent: dose.reagent, microlitres: dose.microlitres, rateMicrolitresPerMinute: rate)
            }
            waits.pumping = moving.map(\.reagent)
            waits.pumpingInjection = false
            return moving.isEmpty ? .pumpsDone : nil
        case .beginInjection(let doses, let rate, let feedForward):
            let moving = doses.filter { $0.microlitres > 0 }
            waits.injectionStartedAt = hardware.now().seconds(since: waits.start)
            try note(.injection, "inject \(moving.map(\.description).joined(separator: ", ")) at \(rate) µL/min", item)
            if let feedForward { try hardware.announceInjection(feedForward) }
            for dose in moving {
                try hardware.startPump(reagent: dose.reagent, microlitres: dose.microlitres, rateMicrolitresPerMinute: rate)
            }
            waits.pumping = moving.map(\.reagent)
            waits.pumpingInjection = true
            return moving.isEmpty ? .injectionDone(startedAt: waits.injectionStartedAt) : nil
        case .stopPumps:
            waits.pumping = []
            try hardware.stopPumps()
            return nil
        case .setSetpoint(let heater, let celsius):
            try note(.setpoint, "\(heater.rawValue) setpoint \(celsius.map { "\($0) °C" } ?? "off")", item)
            try hardware.setSetpoint(celsius, of: heater)
            return nil
        case .armTimeout(let phase, let after):
            waits.deadlines.removeAll { $0.phase == phase }
            waits.deadlines.append((phase, hardware.now().adding(seconds: after)))
            return nil
        case .awaitSample(let k, let at):
            waits.sampleDue = (k, waits.start.adding(seconds: at))
            return nil
        case .pressurize(let millibar):
            try hardware.pressurize(millibar: millibar)
            return nil
        case .pulseValve(let k, let at, let milliseconds):
            let pulse = try hardware.pulseSamplingValve(at: waits.start.adding(seconds: at), milliseconds: milliseconds)
            let opened = pulse.openedAt.seconds(since: waits.start)
            waits.pulses[k] = (pulse, hardware.celsius(of: .reactor) ?? .nan, hardware.ambientCelsius())
            try note(
                .valvePulse,
                "aliquot \(k): valve open \(pulse.openMilliseconds) ms (asked \(milliseconds) ms) at t = "
                    + "\(Self.rounded(opened - (sequencer.injectedAt ?? 0), 3)) s, \(Self.rounded(pulse.withdrawnMicrolitres, 2)) µL",
                item)
            return .valvePulsed(k, openedAt: opened, openMilliseconds: pulse.openMilliseconds)
        case .vent:
            try hardware.vent()
            return nil
        case .acquire(let k, let notBefore):
            waits.acquireQueue.append((k, waits.start.adding(seconds: notBefore)))
            return nil
        case .predict(let k):
            return try judge(aliquot: k, &waits, &result, sequencer: sequencer, item: item)
        case .drain:
            try hardware.drainReactor()
            return .drained
        case .enterSafeState(let reason):
            waits.pumping = []
            waits.sampleDue = nil
            waits.acquireQueue = []
            for problem in hardware.enterSafeState(reason: reason) { try note(.fault, "safe state: \(problem)", item) }
            return nil
        case .record(let kind, let message):
            try note(kind, message, item)
            return nil
        case .haltCampaign(let reason):
            result.halt = reason
            return nil
        case .finished(let outcome):
            result.outcome = outcome
            return nil
        }
    }

    /// Predicts aliquot k, compares, records it; returns the sequencer's answer.
    private func judge(
        aliquot k: Int, _ waits: inout Waits, _ result: inout ExecutionResult, sequencer: HotInjectionSequencer,
        item: RunnableExperiment
    ) throws -> SequencerEvent {
        let scheduled = sequencer.plan.sampleTimes[k - 1]
        let prediction = predictor?.predict(item.experiment.condition, secondsAfterInjection: scheduled)
        let acquired = waits.acquisitions[k]
        let compared = settings.comparedSpectrum == .absorbance ? acquired?.absorbance : acquired?.photoluminescence
        let verdict = Self.judge(measured: compared?.fit.peak, prediction: prediction, settings: settings)
        let pulse = waits.pulses[k]
        var anomaly: String?
        if case .anomaly(let reason) = verdict {
            anomaly = reason
            result.anomalies += 1
        }
        let record = AliquotRecord(
            experimentNumber: item.experiment.number, index: k, scheduledSeconds: scheduled,
            withdrawnSeconds: (pulse?.pulse.openedAt.seconds(since: waits.start) ?? .nan) - (sequencer.injectedAt ?? 0),
            valveOpenMilliseconds: pulse?.pulse.openMilliseconds ?? 0,
            withdrawnMicrolitres: pulse?.pulse.withdrawnMicrolitres ?? 0, reactorCelsius: pulse?.reactorCelsius ?? .nan,
            ambientCelsius: pulse?.ambientCelsius ?? .nan, absorbance: acquired?.absorbance,
            photoluminescence: acquired?.photoluminescence, prediction: prediction, anomaly: anomaly)
        do { try recorder.aliquot(record) } catch {
            throw RecordFailure(action: "record aliquot \(k) of experiment \(item.experiment.number)", error: error)
        }
        result.aliquots += 1
        result.lastAliquot = acquired
        result.lastPrediction = prediction
        waits.lastPeakNanometres = compared?.fit.peak?.peakNanometres ?? waits.lastPeakNanometres
        switch verdict {
        case .normal: return .predicted(k)
        case .anomaly(let reason): return .anomaly(k, reason: reason)
        case .targetReached: return .targetReached(k)
        }
    }

    /// Lets the rig run to the next thing due (or one poll), then says what happened.
    private func waitForEvents(
        _ waits: inout Waits, _ result: inout ExecutionResult, sequencer: HotInjectionSequencer, item: RunnableExperiment
    ) throws -> [SequencerEvent] {
        var wake = hardware.now().adding(seconds: settings.pollSeconds)
        if let due = waits.sampleDue { wake = min(wake, due.at) }
        if let due = waits.acquireQueue.first { wake = min(wake, due.at) }
        for deadline in waits.deadlines { wake = min(wake, deadline.at) }
        try hardware.advance(until: wake)
        let now = hardware.now()
        let at = now.seconds(since: waits.start)

        if abortFlag.isRequested && !waits.abortSent {
            waits.abortSent = true
            return [.abortRequested]
        }
        let newTrips = hardware.takeSafetyTrips()
        if let first = newTrips.first {
            trips += newTrips
            result.trips += newTrips
            for trip in newTrips { try note(.safetyTrip, "\(trip)", item) }
            return [.fault(reason: "safety trip: \(first)")]
        }
        if !waits.pumping.isEmpty {
            var allDone = true
            for reagent in waits.pumping {
                switch try hardware.pumpProgress(reagent: reagent) {
                case .running: allDone = false
                case .done: break
                case .stalled(let delivered, let detail):
                    waits.pumping = []
                    return [.pumpStalled(reagent: reagent, detail: "\(detail) after \(delivered) µL")]
                }
            }
            if allDone {
                waits.pumping = []
                return [waits.pumpingInjection ? .injectionDone(startedAt: waits.injectionStartedAt) : .pumpsDone]
            }
        }
        if let due = waits.sampleDue, now >= due.at {
            waits.sampleDue = nil
            return [.sampleDue(due.aliquot)]
        }
        // The withdrawal first: its time is the schedule's; an acquisition can wait a little.
        if let due = waits.acquireQueue.first, now >= due.at {
            waits.acquireQueue.removeFirst()
            waits.acquisitions[due.aliquot] = try hardware.acquireAliquot()
            return [.aliquotMeasured(due.aliquot)]
        }
        if let index = waits.deadlines.firstIndex(where: { now >= $0.at }) {
            let phase = waits.deadlines.remove(at: index).phase
            return [.timeout(phase)]
        }
        var readings: [SequencerEvent] = []
        if let reactor = hardware.celsius(of: .reactor) { readings.append(.temperature(.reactor, celsius: reactor, at: at)) }
        if let syringe = hardware.celsius(of: .syringe) { readings.append(.temperature(.syringe, celsius: syringe, at: at)) }
        return readings
    }

    private func report(
        waits: inout Waits, sequencer: HotInjectionSequencer, item: RunnableExperiment, position: Int, count: Int,
        force: Bool
    ) {
        let now = hardware.now()
        guard force || now >= waits.nextProgress else { return }
        waits.nextProgress = now.adding(seconds: settings.progressEverySeconds)
        var eta: Double?
        if !finishedDurations.isEmpty {
            let mean = finishedDurations.reduce(0, +) / Double(finishedDurations.count)
            let current = now.seconds(since: waits.start)
            eta = max(0, mean - current) + mean * Double(count - position)
        }
        onProgress(
            CampaignProgress(
                experiment: item.experiment, position: position, count: count, phase: sequencer.phase,
                aliquotsTaken: waits.acquisitions.count, reactorCelsius: hardware.celsius(of: .reactor),
                lastPeakNanometres: waits.lastPeakNanometres, campaignSeconds: now.seconds(since: campaignStart),
                etaSeconds: eta))
    }
}
