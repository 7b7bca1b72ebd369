import Control

/// The rig's side of an experiment plan: what the board file and its calibration decide, not
/// the campaign file (pump rates, the syringe heater, sampling pressure and pulse, the transport
/// delay, the injection feed-forward, the cleaning solvent, the phase limits).
public struct SequencerRigSettings: Equatable, Sendable {
    public var loadRateMicrolitresPerMinute: Double
    public var injectionRateMicrolitresPerMinute: Double
    /// The Cd syringe heater's setpoint, °C; nil when the board has no syringe loop.
    public var syringeCelsius: Double?
    public var syringeMinimumCelsius: Double
    public var settlingBandCelsius: Double
    /// The reactor loop's feed-forward for the injection (`Rig.injectionFeedForward`).
    public var injectionFeedForward: HeatSequence.Injection?
    public var pressurizeLeadSeconds: Double
    public var samplingMillibar: Double
    public var valvePulseMilliseconds: Double
    public var transportDelaySeconds: Double
    public var cleanSolvent: HotInjectionSequencer.Dose
    public var cleanRateMicrolitresPerMinute: Double
    /// The phase limits; `heating` is replaced by the campaign file's heat timeout.
    public var timeouts: HotInjectionSequencer.Timeouts

    public init(
        loadRateMicrolitresPerMinute: Double = 2000, injectionRateMicrolitresPerMinute: Double = 30000,
        syringeCelsius: Double? = 80, syringeMinimumCelsius: Double = 60, settlingBandCelsius: Double = 1,
        injectionFeedForward: HeatSequence.Injection? = nil, pressurizeLeadSeconds: Double = 2,
        samplingMillibar: Double = 600, valvePulseMilliseconds: Double = 100, transportDelaySeconds: Double = 4,
        cleanSolvent: HotInjectionSequencer.Dose = .init(reagent: "solvent", microlitres: 1200),
        cleanRateMicrolitresPerMinute: Double = 5000, timeouts: HotInjectionSequencer.Timeouts = .init()
    ) {
        self.loadRateMicrolitresPerMinute = loadRateMicrolitresPerMinute
        self.injectionRateMicrolitresPerMinute = injectionRateMicrolitresPerMinute
        self.syringeCelsius = syringeCelsius
        self.syringeMinimumCelsius = syringeMinimumCelsius
        self.settlingBandCelsius = settlingBandCelsius
        self.injectionFeedForward = injectionFeedForward
        self.pressurizeLeadSeconds = pressurizeLeadSeconds
        self.samplingMillibar = samplingMillibar
        self.valvePulseMilliseconds = valvePulseMilliseconds
        self.transportDelaySeconds = transportDelaySeconds
        self.cleanSolvent = cleanSolvent
        self.cleanRateMicrolitresPerMinute = cleanRateMicrolitresPerMinute
        self.timeouts = timeouts
    }
}

extension HotInjectionSequencer.AnomalyPolicy {
    /// The campaign file's `[prediction] anomaly`.
    public init(_ action: AnomalyAction) {
        switch action {
        case .log: self = .log
        case .skip: self = .skip
        case .abort: self = .abort
        }
    }
}

extension HotInjectionSequencer.Dose {
    /// A recipe's delivery, by the board-file pump name of its reagent.
    public init(_ volume: ReagentVolume) {
        self.init(reagent: volume.reagent.rawValue, microlitres: volume.microlitres)
    }
}

extension HotInjectionSequencer.Plan {
    /// One experiment's plan: the volumes of its compiled `recipe`, its temperature, the campaign
    /// file's `schedule` and `prediction` policy, and the rig's numbers.
    public init(
        experimentNumber: Int, recipe: Recipe, schedule: SamplingSchedule, prediction: PredictionPolicy,
        rig: SequencerRigSettings
    ) {
        var timeouts = rig.timeouts
        timeouts.heating = schedule.heatTimeoutSeconds
        self.init(
            experimentNumber: experimentNumber, charge: recipe.charge.map(HotInjectionSequencer.Dose.init),
            injection: recipe.injection.map(HotInjectionSequencer.Dose.init),
            loadRateMicrolitresPerMinute: rig.loadRateMicrolitresPerMinute,
            injectionRateMicrolitresPerMinute: rig.injectionRateMicrolitresPerMinute,
            reactorCelsius: recipe.achieved.temperatureCelsius, syringeCelsius: rig.syringeCelsius,
            syringeMinimumCelsius: rig.syringeMinimumCelsius, settlingBandCelsius: rig.settlingBandCelsius,
            settleSeconds: schedule.settleSeconds, injectionFeedForward: rig.injectionFeedForward,
            sampleTimes: schedule.sampleTimesSeconds, pressurizeLeadSeconds: rig.pressurizeLeadSeconds,
            samplingMillibar: rig.samplingMillibar, valvePulseMilliseconds: rig.valvePulseMilliseconds,
            transportDelaySeconds: rig.transportDelaySeconds, coolToCelsius: schedule.coolToCelsius,
            cleanCycles: schedule.cleanCycles, cleanSolvent: rig.cleanSolvent,
            cleanRateMicrolitresPerMinute: rig.cleanRateMicrolitresPerMinute,
            anomalyPolicy: HotInjectionSequencer.AnomalyPolicy(prediction.anomaly), quenchAtTarget: prediction.quench,
            timeouts: timeouts)
    }
}

extension CampaignRunSettings {
    /// The runner's judging from the campaign file's `[prediction]` (interval z, target peak).
    public init(prediction: PredictionPolicy, pollSeconds: Double = 1, maxConsecutiveFailures: Int = 3) {
        self.init(
            intervalSigma: prediction.intervalSigma, targetPeakNanometres: prediction.targetPeakNanometres,
            pollSeconds: pollSeconds, maxConsecutiveFailures: maxConsecutiveFailures)
    }
}

extension RunnableExperiment {
    /// A designed experiment: a plan from its recipe, or skipped with the recipe's error (the
    /// numbers of what it needs and what fits) when it cannot be made.
    public init(
        _ entry: PlannedRecipe, schedule: SamplingSchedule, prediction: PredictionPolicy, rig: SequencerRigSettings
    ) {
        switch entry.recipe {
        case .success(let recipe):
            self.init(
                experiment: entry.experiment,
                plan: HotInjectionSequencer.Plan(
                    experimentNumber: entry.experiment.number, recipe: recipe, schedule: schedule, prediction: prediction,
                    rig: rig))
        case .failure(let error):
            self.init(experiment: entry.experiment, skippedBecause: "\(error)")
        }
    }
}
