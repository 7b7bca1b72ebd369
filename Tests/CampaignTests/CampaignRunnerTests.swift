import Control
import Spectra
import Testing
import Transports

@testable import Campaign

func runnerExperiments(
    _ count: Int, anomalyPolicy: HotInjectionSequencer.AnomalyPolicy = .log, quench: Bool = false
) -> [RunnableExperiment] {
    (1...count).map { number in
        var plan = sequencerTestPlan(anomalyPolicy: anomalyPolicy, quench: quench)
        plan.experimentNumber = number
        return RunnableExperiment(
            experiment: PlannedExperiment(
                number: number, name: "e\(number)",
                condition: SynthesisCondition(
                    cadmiumMillimolar: 10, seleniumMillimolar: 10, oleicAcidPerCadmium: 10, temperatureCelsius: 240)),
            plan: plan)
    }
}

struct RunnerFixture {
    let rig = FakeCampaignHardware()
    let recorder = MemoryRecorder()
    let predictor = FakePredictor()
    let abort = CampaignAbortFlag()

    func runner(_ settings: CampaignRunSettings = CampaignRunSettings(), onProgress: @escaping (CampaignProgress) -> Void = { _ in })
        -> CampaignRunner<FakeCampaignHardware>
    {
        CampaignRunner(
            hardware: rig, recorder: recorder, settings: settings, predictor: predictor, abortFlag: abort,
            wallClock: StillClock(), onProgress: onProgress)
    }
}

func trip(_ check: SafetyCheck, loop: String = "reactor") -> SafetyTrip {
    SafetyTrip(loop: loop, check: check, at: MonotonicInstant(nanoseconds: 0), numbers: [.init("reading_c", 241)])
}

@Suite("Campaign runner")
struct CampaignRunnerTests {
    @Test("one experiment: every command in order, records with the achieved times")
    func wholeExperiment() throws {
        let f = RunnerFixture()
        let summary = try f.runner().run(name: "one", experiments: runnerExperiments(1))
        let sampling = (1...3).flatMap { k in
            ["pressurize 600.0", "pulse t=\(k)0.0005 100.0", "vent", "acquire"]
        }
        let expected =
            ["setpoint syringe 80.0", "pump cd_stock 40.0", "pump oleic_acid 300.0", "pump ode 560.0",
             "setpoint reactor 240.0", "feed-forward 0.4", "pump se_stock 300.0"]
            + sampling
            + ["setpoint reactor off", "vent", "drain", "pump solvent 1200.0", "drain", "vent", "safe state: campaign finished"]
        #expect(f.rig.log == expected)
        #expect(summary.completed == 1 && summary.failed == 0 && summary.run == 1 && summary.planned == 1)
        #expect(summary.stopReason == nil)
        #expect(f.recorder.ended.map(\.1) == [.completed])
        let records = f.recorder.aliquots
        #expect(records.map(\.index) == [1, 2, 3])
        for record in records {
            #expect(abs(record.withdrawnSeconds - (record.scheduledSeconds + 0.0005)) < 1e-6)
            #expect(record.valveOpenMilliseconds == 100.2)
            #expect(abs(record.withdrawnMicrolitres - 40.08) < 1e-9)
            #expect(abs(record.reactorCelsius - 240) < 1)
            #expect(record.prediction != nil && record.anomaly == nil)
            let nm = try #require(record.absorbance?.fit.peak?.peakNanometres)
            #expect(abs(nm - (500 + 0.1 * record.withdrawnSeconds)) < 1e-9)
        }
        #expect(f.predictor.calls == 3)
        // Virtual time: heating, settling, 30 s of sampling, cooling and cleaning all happened.
        #expect(summary.virtualSeconds > 60 + 30 + 60)
        #expect(f.recorder.campaignEnded?.virtual == summary.virtualSeconds)
    }

    @Test("a transport delay longer than the sample spacing keeps the withdrawal schedule")
    func longTransportDelay() throws {
        let f = RunnerFixture()
        var experiments = runnerExperiments(1)
        experiments[0].plan?.transportDelaySeconds = 25
        let summary = try f.runner().run(name: "delay", experiments: experiments)
        #expect(summary.completed == 1)
        #expect(f.recorder.aliquots.map(\.index) == [1, 2, 3])
        for record in f.recorder.aliquots {
            #expect(abs(record.withdrawnSeconds - (record.scheduledSeconds + 0.0005)) < 1e-6)
            // Each aliquot's spectra are its own: 500 nm + 0.1 nm per second of growth.
            let nm = try #require(record.absorbance?.fit.peak?.peakNanometres)
            #expect(abs(nm - (500 + 0.1 * record.withdrawnSeconds)) < 1e-9)
        }
        // All three are withdrawn before the first reaches the cells (t = 35 s).
        let sampling = f.rig.log.filter { $0.hasPrefix("pulse") || $0 == "acquire" }
        #expect(sampling == ["pulse t=10.0005 100.0", "pulse t=20.0005 100.0", "pulse t=30.0005 100.0", "acquire", "acquire", "acquire"])
    }

    @Test("a spectrometer unplugged mid-sampling fails that experiment; after a clean-up the next one runs")
    func faultMidSampling() throws {
        let f = RunnerFixture()
        f.rig.failingAcquisitions = [1]
        let summary = try f.runner().run(name: "fault", experiments: runnerExperiments(2))
        #expect(summary.failed == 1 && summary.completed == 1)
        guard case .failed(let reason) = summary.entries[0].outcome else {
            Issue.record("experiment 1: \(summary.entries[0].outcome)")
            return
        }
        #expect(reason.contains("LIBUSB_ERROR_NO_DEVICE") && reason.contains("(in sampling)"))
        #expect(f.recorder.aliquots.map(\.experimentNumber) == [1, 2, 2, 2])
        // Safe state at once, then the clean-up (cool, drain, flush), then the trips are cleared,
        // then experiment 2 loads.
        let log = f.rig.log
        let safe = try #require(log.firstIndex { $0.hasPrefix("safe state: spectrometer.absorbance") })
        let slice = Array(log[(safe + 1)...].prefix(7))
        #expect(log[safe + 8] == "setpoint syringe 80.0")
        #expect(
            slice == ["setpoint reactor off", "vent", "drain", "pump solvent 1200.0", "drain", "vent", "clear trips"])
        #expect(f.recorder.events.contains { $0.kind == .fault && $0.experimentNumber == 1 })
    }

    @Test("a pump stall while loading fails the experiment; the next one runs")
    func pumpStall() throws {
        let f = RunnerFixture()
        f.rig.stallingReagent = "ode"
        let summary = try f.runner().run(name: "stall", experiments: runnerExperiments(2))
        #expect(summary.entries.map(\.outcome) == [
            .failed(reason: "pump ode stalled in loading: stall prompt * after 280.0 µL"), .completed,
        ])
        // Experiment 1 never heated: the first reactor setpoint is experiment 2's.
        let stall = try #require(f.rig.log.firstIndex(of: "stall ode"))
        let heat = try #require(f.rig.log.firstIndex(of: "setpoint reactor 240.0"))
        #expect(stall < heat)
        #expect(summary.entries[0].aliquots == 0)
    }

    @Test("anomaly policies", arguments: HotInjectionSequencer.AnomalyPolicy.allCases)
    func anomalyPolicies(_ policy: HotInjectionSequencer.AnomalyPolicy) throws {
        let f = RunnerFixture()
        f.predictor.offBy = [20: 0.05]  // 50 meV off at aliquot 2, outside 3 × 10 meV
        let summary = try f.runner().run(name: "anomaly", experiments: runnerExperiments(2, anomalyPolicy: policy))
        let flagged = f.recorder.aliquots.filter { $0.anomaly != nil }
        // Both experiments are 50 meV off at aliquot 2, unless the first one stopped the campaign.
        #expect(flagged.map(\.index) == (policy == .abort ? [2] : [2, 2]))
        #expect(flagged.first?.anomaly?.contains("off by") == true)
        #expect(summary.anomalies == (policy == .abort ? 1 : 2))
        switch policy {
        case .log:
            #expect(summary.entries.map(\.outcome) == [.completed, .completed])
            #expect(summary.entries.map(\.aliquots) == [3, 3])
        case .skip:
            guard case .skipped(let reason) = summary.entries[0].outcome else {
                Issue.record("\(summary.entries[0].outcome)")
                return
            }
            #expect(reason.hasPrefix("anomaly policy skip: aliquot 2:"))
            #expect(summary.entries.map(\.aliquots) == [2, 2])
            #expect(summary.run == 2 && summary.stopReason == nil)
        case .abort:
            #expect(summary.run == 1 && summary.failed == 1)
            #expect(summary.entries[0].aliquots == 2)
            #expect(summary.stopReason?.hasPrefix("anomaly policy abort: aliquot 2:") == true)
            #expect(f.rig.log.contains { $0.hasPrefix("safe state: anomaly policy abort") })
        }
    }

    @Test("target quench: sampling stops at the first aliquot at or beyond the target")
    func quench() throws {
        let f = RunnerFixture()
        // 501.0 nm at 10 s, 502.0 nm at 20 s: the target is reached at aliquot 2.
        let settings = CampaignRunSettings(targetPeakNanometres: 501.5)
        let summary = try f.runner(settings).run(name: "quench", experiments: runnerExperiments(1, quench: true))
        #expect(summary.entries.map(\.outcome) == [.completed])
        #expect(summary.entries[0].aliquots == 2)
        #expect(f.rig.log.filter { $0.hasPrefix("pulse") }.count == 2)
        #expect(f.recorder.events.contains { $0.message.contains("target quench at aliquot 2") })
    }

    @Test("an abort request ends the campaign in the safe state; growth is not resumed")
    func abortRequest() throws {
        let f = RunnerFixture()
        let abort = f.abort
        let summary = try f.runner { progress in
            if progress.phase == .sampling { abort.request() }
        }.run(name: "abort", experiments: runnerExperiments(2))
        #expect(summary.run == 1)
        #expect(summary.entries[0].outcome == .failed(reason: "aborted by the operator in sampling"))
        #expect(summary.stopReason == "aborted by the operator in sampling")
        #expect(f.rig.log.suffix(2) == ["safe state: aborted by the operator in sampling", "safe state: aborted by the operator in sampling"])
        #expect(f.recorder.started.map(\.number) == [1])
    }

    @Test("trips: a heater stuck on ends the campaign; a sensor trip that clears does not; one that stays does")
    func trips() throws {
        for (check, stays, expectedRun) in [(SafetyCheck.heaterStuckOn, false, 1), (.sensorFault, false, 2), (.sensorFault, true, 1)] {
            let f = RunnerFixture()
            let latched = trip(check)
            f.rig.scheduledTrips = [(100, latched)]  // in heating
            if stays { f.rig.stuckTrips = [latched] }
            let summary = try f.runner().run(name: "trip", experiments: runnerExperiments(2))
            #expect(summary.run == expectedRun, "\(check) stays \(stays)")
            #expect(summary.safetyTrips == [latched])
            guard case .failed(let reason) = summary.entries[0].outcome else {
                Issue.record("\(check): \(summary.entries[0].outcome)")
                continue
            }
            #expect(reason.hasPrefix("safety trip: "))
            if check == .heaterStuckOn {
                #expect(summary.stopReason?.contains("heaterStuckOn") == true)
                #expect(!f.rig.log.contains("clear trips"))
            } else if stays {
                #expect(summary.stopReason?.contains("does not clear") == true)
            } else {
                #expect(summary.stopReason == nil && summary.entries[1].outcome == .completed)
            }
        }
    }

    @Test("a thermocouple that stays open: the experiment fails and the reactor is left for an operator")
    func thermocoupleOpen() throws {
        let f = RunnerFixture()
        f.rig.scheduledTrips = [(100, trip(.sensorFault))]
        let rig = f.rig
        rig.onAdvance = { seconds in if seconds >= 100 { rig.reactorReadingFails = true } }
        let summary = try f.runner().run(name: "open", experiments: runnerExperiments(2))
        #expect(summary.run == 1 && summary.failed == 1)
        #expect(summary.stopReason?.contains("no temperature reading after experiment 1") == true)
        #expect(!f.rig.log.contains("drain"))
    }

    @Test("a heater that cannot reach the setpoint times out; failures in a row end the campaign")
    func heatingTimeoutAndConsecutiveFailures() throws {
        let f = RunnerFixture()
        f.rig.reactorLimitCelsius = 200
        let settings = CampaignRunSettings(maxConsecutiveFailures: 2)
        let summary = try f.runner(settings).run(name: "weak", experiments: runnerExperiments(3))
        #expect(summary.entries.map(\.outcome) == Array(
            repeating: .failed(reason: "timeout: heating took longer than 3600.0 s"), count: 2))
        #expect(summary.stopReason == "2 experiments failed in a row")
    }

    @Test("a record that cannot be written stops the campaign in the safe state")
    func recorderFailure() {
        let f = RunnerFixture()
        f.recorder.failOnAliquot = 2
        #expect(throws: CampaignRunError(action: "record aliquot 2 of experiment 1", detail: "disk full (ENOSPC)")) {
            try f.runner().run(name: "disk", experiments: runnerExperiments(2))
        }
        #expect(f.rig.log.last == "safe state: the campaign cannot record: disk full (ENOSPC)")
        #expect(f.recorder.started.count == 1)
    }

    @Test("progress: every phase in order, k of n, the ETA once an experiment has finished")
    func progress() throws {
        let f = RunnerFixture()
        var lines: [CampaignProgress] = []
        _ = try f.runner { lines.append($0) }.run(name: "progress", experiments: runnerExperiments(2))
        var phases: [SequencerPhase] = []
        for line in lines where line.position == 1 && phases.last != line.phase { phases.append(line.phase) }
        #expect(phases == [.loading, .heating, .settling, .injecting, .sampling, .cooling, .cleaning, .done])
        #expect(lines.filter { $0.position == 1 }.allSatisfy { $0.etaSeconds == nil && $0.count == 2 })
        let second = lines.filter { $0.position == 2 }
        #expect(!second.isEmpty && second.allSatisfy { $0.etaSeconds != nil })
        #expect(lines.contains { $0.lastPeakNanometres.map { abs($0 - 503.00005) < 1e-6 } == true })
    }

    @Test("an experiment that cannot run is recorded skipped and moves nothing; more are asked for at the end")
    func skippedAndNextBatch() throws {
        let f = RunnerFixture()
        let infeasible = PlannedExperiment(
            number: 0, name: "too much OA",
            condition: SynthesisCondition(
                cadmiumMillimolar: 50, seleniumMillimolar: 10, oleicAcidPerCadmium: 150, temperatureCelsius: 240))
        let list = [RunnableExperiment(experiment: infeasible, skippedBecause: "needs 2367 µL of oleic acid, 900 µL fit")]
            + runnerExperiments(1)
        var asked: [[Int]] = []
        let summary = try f.runner().run(name: "adaptive", experiments: list) { entries in
            asked.append(entries.map(\.experiment.number))
            return asked.count == 1 ? [runnerExperiments(2)[1]] : []
        }
        #expect(asked == [[0, 1], [0, 1, 2]])
        #expect(summary.entries.map(\.outcome) == [
            .skipped(reason: "needs 2367 µL of oleic acid, 900 µL fit"), .completed, .completed,
        ])
        #expect(summary.run == 2 && summary.planned == 3 && summary.skipped == 1)
        #expect(f.recorder.started.map(\.number) == [1, 2])
        #expect(f.recorder.ended.map(\.0.number) == [0, 1, 2])
        #expect(f.rig.log.first == "setpoint syringe 80.0", "the skipped experiment moved nothing")
    }

    @Test("judging: the interval mean ± max(z·sd, floor), then the target")
    func judge() {
        func peak(ev: Double) -> PeakParameters {
            PeakParameters(
                peakNanometres: 1239.84193 / ev, fwhmNanometres: 30, peakElectronvolts: ev, fwhmElectronvolts: 0.1,
                height: 1, residual: 0, peakUncertaintyNanometres: 0.1, iterations: 1)
        }
        let wide = AliquotPrediction(peakElectronvolts: 2.40, peakSpreadElectronvolts: 0.01, fwhmElectronvolts: 0.1, fwhmSpreadElectronvolts: 0.01)
        let narrow = AliquotPrediction(peakElectronvolts: 2.40, peakSpreadElectronvolts: 0.0001, fwhmElectronvolts: 0.1, fwhmSpreadElectronvolts: 0.01)
        let settings = CampaignRunSettings(intervalSigma: 3, minimumHalfWidthElectronvolts: 0.005)
        typealias R = CampaignRunner<FakeCampaignHardware>
        #expect(R.judge(measured: peak(ev: 2.425), prediction: wide, settings: settings) == .normal)
        #expect(R.judge(measured: peak(ev: 2.375), prediction: wide, settings: settings) == .normal)
        guard case .anomaly(let reason) = R.judge(measured: peak(ev: 2.435), prediction: wide, settings: settings) else {
            Issue.record("2.435 eV is outside 2.40 ± 0.03 eV")
            return
        }
        #expect(reason.contains("off by 35.0 meV") && reason.contains("± 0.03 eV"))
        #expect(R.judge(measured: peak(ev: 2.404), prediction: narrow, settings: settings) == .normal)
        #expect(R.judge(measured: peak(ev: 2.406), prediction: narrow, settings: settings) != .normal)
        #expect(R.judge(measured: nil, prediction: wide, settings: settings) == .normal)
        let target = CampaignRunSettings(targetPeakNanometres: 520)
        #expect(R.judge(measured: peak(ev: 1239.84193 / 521), prediction: nil, settings: target) == .targetReached)
        #expect(R.judge(measured: peak(ev: 1239.84193 / 519), prediction: nil, settings: target) == .normal)
    }

    @Test("continuation per trip kind")
    func continuation() {
        typealias R = CampaignRunner<FakeCampaignHardware>
        for check in SafetyCheck.allCases {
            let blocked = R.continuationBlocker(trips: [trip(check)]) != nil
            #expect(blocked == [.heaterStuckOn, .runaway, .loopStall].contains(check), "\(check)")
        }
        #expect(R.continuationBlocker(trips: []) == nil)
    }
}
