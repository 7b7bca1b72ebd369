/// The chemistry in the twin's reactor: the contents (`ReactorContents`), the reactor's
/// temperature history, the growth model (`CdSeGrowthModel`) and this run's scatter
/// (`CdSeReproducibility`), giving the outcome of an aliquot withdrawn at any time.
///
/// Temperature history: the published trajectories belong to the set temperature, the scheduled
/// injection drop and its recovery included. So the growth sees the effective temperature
///
///     T_eff(t) = (T₀ · min(t − t_inj, R) + ∫_{t_inj+R}^{t} T dt) / (t − t_inj)
///
/// with T₀ the reactor's temperature last observed at or before the injection (the settled set
/// point) and R = `injectionRecoverySeconds`: the drop and recovery count as the set point, and
/// whatever happens after (a stuck heater, the heaters off after a fault) moves T_eff away from
/// it and the dots with it. In a normal run the loop holds the liquid within a fraction of a
/// degree of the set point, so T_eff is the recipe's temperature. The integral is a trapezoid
/// over the observations: `observeTemperature(at:)` (call it every control tick for a fine
/// history; every delivery and every outcome also observes).
///
/// Each new injection starts a new run: a new draw of the run-to-run scatter and a new history.
public final class ReactorChemistry {
    public let model: CdSeGrowthModel
    public let contents: ReactorContents
    /// The drop and recovery after the injection that the calibration already includes, s.
    public var injectionRecoverySeconds = 30.0
    private let reactorCelsius: (Double) -> Double
    private var scatter: CdSeReproducibility

    /// The injection the history belongs to.
    private var runInjectionSeconds: Double?
    private var injectionCelsius = 0.0
    /// The last observation.
    private var lastObservation: (seconds: Double, celsius: Double)?
    /// ∫ T dt and its span over the observations after the recovery window.
    private var integralCelsiusSeconds = 0.0
    private var integralSpanSeconds = 0.0

    /// - Parameters:
    ///   - reactorCelsius: the liquid's temperature at a time (the thermal plant's reactor zone).
    ///   - seed: the run-to-run and per-aliquot scatter's generator.
    public init(
        model: CdSeGrowthModel = .calibrated, contents: ReactorContents, seed: UInt64,
        runToRun: CdSeReproducibility.Spread = .publishedRunToRun, perAliquot: CdSeReproducibility.Spread = .publishedPerAliquot,
        reactorCelsius: @escaping (Double) -> Double
    ) {
        self.model = model
        self.contents = contents
        self.reactorCelsius = reactorCelsius
        self.scatter = CdSeReproducibility(seed: seed, runToRun: runToRun, perAliquot: perAliquot)
    }

    /// A pump's delivery: observes the temperature first (so the temperature at injection is the
    /// one before the cold TOP-Se arrives; call this before the thermal plant's own injection),
    /// then delivers.
    public func deliver(reagent: Reagent, microlitres: Double, at seconds: Double) {
        observeTemperature(at: seconds)
        contents.deliver(reagent: reagent, microlitres: microlitres, at: seconds)
        observeTemperature(at: seconds)
    }

    /// Records the reactor's temperature at `seconds` (earlier than the last observation: ignored).
    public func observeTemperature(at seconds: Double) {
        if let last = lastObservation, seconds < last.seconds { return }
        let celsius = reactorCelsius(seconds)
        startRunIfInjected(beforeObserving: seconds)
        if let injection = runInjectionSeconds, let last = lastObservation {
            let windowStart = injection + injectionRecoverySeconds
            if seconds > windowStart && seconds > last.seconds {
                // The part of the segment after the window start, T linear in between.
                let from = max(last.seconds, windowStart)
                let fraction = (from - last.seconds) / (seconds - last.seconds)
                let startCelsius = last.celsius + (celsius - last.celsius) * fraction
                integralCelsiusSeconds += (startCelsius + celsius) / 2 * (seconds - from)
                integralSpanSeconds += seconds - from
            }
        }
        lastObservation = (seconds, celsius)
    }

    /// A new injection in the contents starts a new run with the temperature observed before it.
    private func startRunIfInjected(beforeObserving seconds: Double) {
        guard let injection = contents.injectionSeconds, injection != runInjectionSeconds else {
            if contents.injectionSeconds == nil { runInjectionSeconds = nil }
            return
        }
        runInjectionSeconds = injection
        injectionCelsius = lastObservation?.celsius ?? reactorCelsius(seconds)
        integralCelsiusSeconds = 0
        integralSpanSeconds = 0
        scatter.beginRun()
    }

    /// The effective growth temperature at `seconds` (see the type's notes); nil before the injection.
    public func effectiveCelsius(at seconds: Double) -> Double? {
        observeTemperature(at: seconds)
        guard let injection = runInjectionSeconds, seconds >= injection else { return nil }
        let elapsed = seconds - injection
        guard elapsed > 0 else { return injectionCelsius }
        let recovery = min(elapsed, injectionRecoverySeconds)
        return (injectionCelsius * recovery + integralCelsiusSeconds) / (recovery + integralSpanSeconds)
    }

    /// The condition the dots grow in at `seconds`; nil before injection.
    public func condition(at seconds: Double) -> CdSeCondition? {
        guard let celsius = effectiveCelsius(at: seconds), let ratio = contents.oleicAcidPerCadmium else { return nil }
        return CdSeCondition(
            cadmiumMillimolar: contents.cadmiumMillimolar, seleniumMillimolar: contents.seleniumMillimolar,
            oleicAcidPerCadmium: ratio, reactorCelsius: celsius)
    }

    /// What an aliquot withdrawn at `seconds` holds, at the published dilution, with this run's
    /// scatter and a fresh aliquot draw; no signal before the injection or in an empty reactor.
    public func outcome(at seconds: Double) -> CdSeOutcome {
        guard let condition = condition(at: seconds), let injection = runInjectionSeconds, contents.volumeMicrolitres > 0 else {
            return .noSignal
        }
        return scatter.perturb(model.outcome(condition, secondsSinceInjection: seconds - injection))
    }
}
