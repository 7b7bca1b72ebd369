/// The heat run as a pure state machine: bring the reactor to its setpoint (and the precursor
/// syringe to its own), wait until it has settled, hold, take the scheduled hot injection, ride
/// through the recovery, and finish. It reads snapshots and returns actions; whoever runs it (the
/// twin synchronously, or the board's supervisor thread) performs them.
public struct HeatSequence: Equatable, Sendable {
    public struct Plan: Equatable, Sendable {
        /// The reactor's setpoint, °C.
        public var reactorSetpoint: Double
        /// The syringe heater's setpoint, °C (nil: no syringe loop).
        public var syringeSetpoint: Double?
        /// ± band the reactor must stay in to count as settled, °C.
        public var settlingBand: Double
        /// How long it must stay in the band before the hold starts, s.
        public var settledFor: Double
        /// The hold after settling, before the injection (or the end), s.
        public var hold: Double
        /// The scheduled injection, if the run takes one.
        public var injection: Injection?
        /// How long to run after the injection, s.
        public var recovery: Double
        /// Give up if not settled this long after the start, s.
        public var settleTimeout: Double

        public init(
            reactorSetpoint: Double, syringeSetpoint: Double?, settlingBand: Double = 0.5, settledFor: Double = 60,
            hold: Double = 60, injection: Injection?, recovery: Double = 180, settleTimeout: Double = 3600
        ) {
            self.reactorSetpoint = reactorSetpoint
            self.syringeSetpoint = syringeSetpoint
            self.settlingBand = settlingBand
            self.settledFor = settledFor
            self.hold = hold
            self.injection = injection
            self.recovery = recovery
            self.settleTimeout = settleTimeout
        }
    }

    /// The injection's feed-forward: extra heater duty for a while, sized to the heat the cold
    /// precursor takes out of the charge.
    public struct Injection: Equatable, Sendable {
        public var feedForwardDuty: Double
        public var feedForwardSeconds: Double
        public init(feedForwardDuty: Double, feedForwardSeconds: Double) {
            self.feedForwardDuty = feedForwardDuty
            self.feedForwardSeconds = feedForwardSeconds
        }
    }

    public enum Phase: String, Equatable, Sendable {
        case starting, heating, holding, recovering, finished
    }

    /// Why the run ended.
    public enum Outcome: Equatable, Sendable {
        case completed
        case notSettled(afterSeconds: Double)
        case tripped(loop: String)
    }

    public enum Action: Equatable, Sendable {
        case setSetpoint(loop: String, celsius: Double?)
        /// Inject now (the twin adds the cold precursor; the loop gets the feed-forward).
        case inject(Injection)
        case finish(Outcome)
    }

    public let plan: Plan
    public private(set) var phase: Phase = .starting
    public private(set) var startedAt: Double?
    public private(set) var inBandSince: Double?
    public private(set) var settledAt: Double?
    public private(set) var injectedAt: Double?
    public private(set) var outcome: Outcome?

    public init(plan: Plan) {
        self.plan = plan
    }

    /// One step at `seconds` with the reactor's reading (nil if none) and whether any loop has
    /// tripped (the name of the first that has).
    public mutating func step(at seconds: Double, reactorCelsius: Double?, trippedLoop: String?) -> [Action] {
        if phase == .finished { return [] }
        if let trippedLoop { return finish(.tripped(loop: trippedLoop)) }
        switch phase {
        case .starting:
            startedAt = seconds
            phase = .heating
            var actions: [Action] = [.setSetpoint(loop: "reactor", celsius: plan.reactorSetpoint)]
            if let syringe = plan.syringeSetpoint { actions.append(.setSetpoint(loop: "syringe", celsius: syringe)) }
            return actions
        case .heating:
            if let reading = reactorCelsius, abs(reading - plan.reactorSetpoint) <= plan.settlingBand {
                if inBandSince == nil { inBandSince = seconds }
            } else {
                inBandSince = nil
            }
            if let since = inBandSince, seconds - since >= plan.settledFor {
                settledAt = seconds
                phase = .holding
                return []
            }
            if seconds - (startedAt ?? seconds) >= plan.settleTimeout {
                return finish(.notSettled(afterSeconds: seconds - (startedAt ?? seconds)))
            }
            return []
        case .holding:
            guard seconds - (settledAt ?? seconds) >= plan.hold else { return [] }
            guard let injection = plan.injection else { return finish(.completed) }
            injectedAt = seconds
            phase = .recovering
            return [.inject(injection)]
        case .recovering:
            guard seconds - (injectedAt ?? seconds) >= plan.recovery else { return [] }
            return finish(.completed)
        case .finished:
            return []
        }
    }

    private mutating func finish(_ outcome: Outcome) -> [Action] {
        self.outcome = outcome
        phase = .finished
        var actions: [Action] = [.setSetpoint(loop: "reactor", celsius: nil)]
        if plan.syringeSetpoint != nil { actions.append(.setSetpoint(loop: "syringe", celsius: nil)) }
        actions.append(.finish(outcome))
        return actions
    }
}
