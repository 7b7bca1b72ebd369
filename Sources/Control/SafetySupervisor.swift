import Transports

/// The safety limits of one heater loop; every number comes from the board file's
/// `[heater.<name>]` section.
public struct SafetyLimits: Equatable, Sendable {
    /// A reading outside minCelsius...maxCelsius trips `range`.
    public var minCelsius: Double
    public var maxCelsius: Double
    /// No new reading for this long trips `stale`.
    public var staleAfterSeconds: Double
    /// A bit-identical reading for this long while the heater is driven (duty > 0) trips `stuck`.
    public var stuckAfterSeconds: Double
    /// While below setpoint − `runawayHysteresisCelsius` with the duty at or above
    /// `heatingGainMinimumDuty`, the reading must rise this much within that time
    /// (Marlin's WATCH_TEMP_INCREASE / WATCH_TEMP_PERIOD, Klipper's heating_gain / check_gain_time).
    public var heatingGainCelsius: Double
    public var heatingGainWithinSeconds: Double
    /// Klipper verify_heater's max_error, °C·s: once the approach has stopped making progress,
    /// the integral of (setpoint − hysteresis − reading) above this trips `runaway`.
    public var runawayErrorIntegral: Double
    /// Klipper verify_heater's hysteresis: the band below the setpoint that counts as "at target".
    public var runawayHysteresisCelsius: Double
    /// Rising this much within that time while the duty is 0 and the reading above the setpoint
    /// (or the loop idle) trips `heaterStuckOn` (a welded SSR). Must exceed what the sensor's lag
    /// still adds after the heater is cut at full rate (about rate × lag).
    public var stuckOnRiseCelsius: Double
    public var stuckOnWithinSeconds: Double
    /// The bounded window after a scheduled injection in which the drop is allowed
    /// (heating-gain and runaway checks relaxed) and logged.
    public var injectionWindowSeconds: Double
    /// Time between two steps above this trips `loopStall`.
    public var maxTickGapSeconds: Double
    /// The duty at or above which the heater counts as driven hard enough that the reading must
    /// rise (added to the agreed contract; default 0.5).
    public var heatingGainMinimumDuty: Double

    public init(
        minCelsius: Double, maxCelsius: Double, staleAfterSeconds: Double, stuckAfterSeconds: Double,
        heatingGainCelsius: Double, heatingGainWithinSeconds: Double, runawayErrorIntegral: Double,
        runawayHysteresisCelsius: Double, stuckOnRiseCelsius: Double, stuckOnWithinSeconds: Double,
        injectionWindowSeconds: Double, maxTickGapSeconds: Double, heatingGainMinimumDuty: Double = 0.5
    ) {
        self.minCelsius = minCelsius
        self.maxCelsius = maxCelsius
        self.staleAfterSeconds = staleAfterSeconds
        self.stuckAfterSeconds = stuckAfterSeconds
        self.heatingGainCelsius = heatingGainCelsius
        self.heatingGainWithinSeconds = heatingGainWithinSeconds
        self.runawayErrorIntegral = runawayErrorIntegral
        self.runawayHysteresisCelsius = runawayHysteresisCelsius
        self.stuckOnRiseCelsius = stuckOnRiseCelsius
        self.stuckOnWithinSeconds = stuckOnWithinSeconds
        self.injectionWindowSeconds = injectionWindowSeconds
        self.maxTickGapSeconds = maxTickGapSeconds
        self.heatingGainMinimumDuty = heatingGainMinimumDuty
    }

    /// The first limit that is not usable, as "name = value: requirement"; nil when all are.
    /// (The board-file schema checks its own ranges; this is the supervisor's precondition.)
    public var firstProblem: String? {
        func positive(_ name: String, _ value: Double) -> String? {
            value.isFinite && value > 0 ? nil : "\(name) = \(value): must be finite and > 0"
        }
        if !minCelsius.isFinite || !maxCelsius.isFinite || minCelsius >= maxCelsius {
            return "min_c = \(minCelsius), max_c = \(maxCelsius): must be finite with min_c < max_c"
        }
        if let problem = positive("stale_after_s", staleAfterSeconds) ?? positive("stuck_after_s", stuckAfterSeconds)
            ?? positive("heating_gain_c", heatingGainCelsius)
            ?? positive("heating_gain_within_s", heatingGainWithinSeconds)
            ?? positive("runaway_error_integral", runawayErrorIntegral)
            ?? positive("stuck_on_rise_c", stuckOnRiseCelsius) ?? positive("stuck_on_within_s", stuckOnWithinSeconds)
            ?? positive("max_tick_gap_s", maxTickGapSeconds)
        {
            return problem
        }
        if !runawayHysteresisCelsius.isFinite || runawayHysteresisCelsius < 0 {
            return "runaway_hysteresis_c = \(runawayHysteresisCelsius): must be finite and >= 0"
        }
        if !injectionWindowSeconds.isFinite || injectionWindowSeconds < 0 {
            return "injection_window_s = \(injectionWindowSeconds): must be finite and >= 0"
        }
        if !(heatingGainMinimumDuty > 0 && heatingGainMinimumDuty <= 1) {
            return "heating_gain_min_duty = \(heatingGainMinimumDuty): must be within (0, 1]"
        }
        return nil
    }
}

/// The checks the supervisor runs every tick.
public enum SafetyCheck: String, Sendable, CaseIterable {
    case range, sensorFault, stale, stuck, heatingGain, runaway, heaterStuckOn, loopStall
}

/// One named number of a trip, for the journal ("reading_c": 351.2).
public struct SafetyNumber: Equatable, Sendable {
    public var name: String
    public var value: Double

    public init(_ name: String, _ value: Double) {
        self.name = name
        self.value = value
    }
}

/// A latched trip with the numbers that caused it.
public struct SafetyTrip: Equatable, Sendable, CustomStringConvertible {
    public var loop: String
    public var check: SafetyCheck
    public var at: MonotonicInstant
    /// The numbers that tripped it, by name, in a fixed order per check.
    public var numbers: [SafetyNumber]

    public init(loop: String, check: SafetyCheck, at: MonotonicInstant, numbers: [SafetyNumber]) {
        self.loop = loop
        self.check = check
        self.at = at
        self.numbers = numbers
    }

    /// The number called `name`, if the trip has it.
    public func number(_ name: String) -> Double? {
        numbers.first { $0.name == name }?.value
    }

    /// One sentence with the numbers.
    public var description: String {
        let what =
            switch check {
            case .range: "reading outside the allowed range"
            case .sensorFault: "thermocouple fault (open, short or unreadable)"
            case .stale: "no new reading"
            case .stuck: "reading exactly constant while the heater is driven"
            case .heatingGain: "not heating at the expected rate"
            case .runaway: "thermal runaway: error integral over the limit"
            case .heaterStuckOn: "rising with the heater off: heater stuck on"
            case .loopStall: "control loop stalled"
            }
        let values = numbers.map { "\($0.name)=\(Self.format($0.value))" }.joined(separator: ", ")
        return "\(loop): \(what) at \(at) (\(values))"
    }

    /// Three decimals, printed by Swift's shortest round-trip form (351.2, not 351.20000000000005).
    static func format(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 1e12 else { return "\(value)" }
        return "\((value * 1000).rounded() / 1000)"
    }
}

/// What the loop knows this tick.
public struct SafetyInput: Equatable, Sendable {
    /// nil: no reading this tick (the read failed).
    public var celsius: Double?
    /// The converter reports open or short circuit, or out of range.
    public var sensorFault: Bool
    /// A fresh conversion (not a repeat of the last).
    public var readingIsNew: Bool
    /// nil: loop idle (the heater must be off).
    public var setpoint: Double?
    /// What the loop drives now, 0...1.
    public var duty: Double

    public init(celsius: Double?, sensorFault: Bool = false, readingIsNew: Bool = true, setpoint: Double?, duty: Double) {
        self.celsius = celsius
        self.sensorFault = sensorFault
        self.readingIsNew = readingIsNew
        self.setpoint = setpoint
        self.duty = duty
    }
}

public enum SafetyEvent: Equatable, Sendable {
    case injectionWindowOpened(loop: String, at: MonotonicInstant, until: MonotonicInstant)
    case injectionWindowClosed(loop: String, at: MonotonicInstant, largestDropCelsius: Double)
    case tripped(SafetyTrip)
}

/// The per-tick safety state machine of one heater loop: Klipper's verify_heater
/// (klippy/extras/verify_heater.py) and Marlin's thermal runaway protection (Temperature.cpp,
/// `tr_state_machine`, `watch_hotend`), plus the sensor checks of the issue.
///
/// Every `step`, in this order (the first that fires is the trip):
/// 1. `loopStall`: more than `maxTickGapSeconds` since the previous step.
/// 2. `sensorFault`: the converter's fault flag, or a non-finite reading.
/// 3. `range`: reading below `minCelsius` or above `maxCelsius`.
/// 4. `stale`: no new reading for `staleAfterSeconds` or more (counted from the first step).
/// 5. `stuck`: the reading bit-identical for `stuckAfterSeconds` or more while duty > 0.
/// 6. `heaterStuckOn`: with duty exactly 0 and the reading above the setpoint (or no setpoint),
///    the reading `stuckOnRiseCelsius` or more above its lowest value of the last
///    `stuckOnWithinSeconds`. (The lowest value is kept in 8 time buckets, so a rise is caught
///    when it happens within 7/8 of the window, and never counted over more than the window.)
/// 7. `heatingGain` (Marlin's watch): while the reading is below setpoint − hysteresis, a goal
///    of reading + `heatingGainCelsius` is set; reaching it sets the next goal. If a goal is not
///    reached within `heatingGainWithinSeconds` and the duty stayed at or above
///    `heatingGainMinimumDuty` all that time, trip. This covers the heat-up after a setpoint
///    increase or at start.
/// 8. `runaway` (Klipper's error integral): when a goal is missed with a lower duty (the loop
///    held back), the approach counts as stopped and (setpoint − hysteresis − reading)·dt
///    accumulates; above `runawayErrorIntegral`, trip. Progress (a goal reached) or the reading
///    back within ±hysteresis of the setpoint resets it.
///
/// `announceInjection` opens a window of `injectionWindowSeconds` in which checks 7 and 8 are
/// off; it closes by itself (an event with the largest drop seen below the last reading before
/// the announcement) and the checks restart from the reading then: a drop that never recovers
/// trips after the window. Announcing again while open does not extend it (the window stays
/// bounded). All other checks stay active inside the window.
///
/// A tick without a reading (`celsius` nil) runs only checks 1 and 4. Any trip latches: `step`
/// returns false until `clear` (while latched it still records the reading and the fault flag,
/// so that `clear` can judge the condition now). `step` allocates nothing unless it trips (the
/// trip's numbers are built once).
public struct SafetySupervisor: Sendable {
    public let loop: String
    public let limits: SafetyLimits
    /// Latched until `clear`.
    public private(set) var trip: SafetyTrip?
    /// The end of the open injection window, nil when none is open.
    public private(set) var injectionWindowEnd: MonotonicInstant?
    /// The runaway error integral, °C·s (0 while the approach makes progress).
    public private(set) var errorIntegral: Double = 0

    private struct Approach: Sendable {
        var startCelsius: Double
        var goalCelsius: Double
        var since: MonotonicInstant
        var dutyStayedHigh: Bool
    }

    private var origin: MonotonicInstant?
    private var lastStepAt: MonotonicInstant?
    private var lastNewReadingAt = MonotonicInstant.zero
    private var lastReadingAt: MonotonicInstant?
    private var lastCelsius: Double?
    private var lastFault = false
    private var stuckBits: UInt64 = 0
    private var stuckSince: MonotonicInstant?
    private var stuckOnLowest = TrailingMinimum()
    private var approach: Approach?
    private var approachStopped = false
    private var windowReference: Double?
    private var largestDrop = 0.0

    public init(loop: String, limits: SafetyLimits) {
        if let problem = limits.firstProblem {
            preconditionFailure("safety limits of \(loop): \(problem)")
        }
        self.loop = loop
        self.limits = limits
    }

    /// Opens the bounded injection window (the scheduled drop is allowed, and logged).
    public mutating func announceInjection(at now: MonotonicInstant) -> SafetyEvent {
        if let end = injectionWindowEnd {
            return .injectionWindowOpened(loop: loop, at: now, until: end)
        }
        let end = now.adding(seconds: limits.injectionWindowSeconds)
        injectionWindowEnd = end
        windowReference = lastCelsius
        largestDrop = 0
        relaxApproach()
        return .injectionWindowOpened(loop: loop, at: now, until: end)
    }

    /// Every tick. Returns true when the heater may run; false (with `trip` set, latched) means
    /// safe state now. Events (window closed, trip) are appended to `events`.
    public mutating func step(_ input: SafetyInput, at now: MonotonicInstant, events: inout [SafetyEvent]) -> Bool {
        let gap = lastStepAt.map { now.seconds(since: $0) } ?? 0
        lastStepAt = now
        let origin = self.origin ?? now
        if self.origin == nil {
            self.origin = now
            lastNewReadingAt = now
        }
        var reading: Double?
        if let celsius = input.celsius, celsius.isFinite { reading = celsius }
        lastFault = input.sensorFault || (input.celsius != nil && reading == nil)
        if let reading {
            lastCelsius = reading
            if input.readingIsNew { lastNewReadingAt = now }
        }

        if let end = injectionWindowEnd {
            if now >= end {
                injectionWindowEnd = nil
                events.append(.injectionWindowClosed(loop: loop, at: now, largestDropCelsius: largestDrop))
            } else if let reading {
                let reference = windowReference ?? reading
                windowReference = reference
                largestDrop = max(largestDrop, reference - reading)
            }
        }

        guard trip == nil else { return false }

        if gap > limits.maxTickGapSeconds {
            return tripped(.loopStall, now, [.init("gap_s", gap), .init("max_gap_s", limits.maxTickGapSeconds)], &events)
        }
        if lastFault {
            var numbers = [SafetyNumber("fault", input.sensorFault ? 1 : 0)]
            if let celsius = input.celsius, !celsius.isNaN { numbers.append(.init("reading_c", celsius)) }
            return tripped(.sensorFault, now, numbers, &events)
        }
        if let reading, reading < limits.minCelsius || reading > limits.maxCelsius {
            return tripped(
                .range, now,
                [.init("reading_c", reading), .init("min_c", limits.minCelsius), .init("max_c", limits.maxCelsius)],
                &events)
        }
        let sinceNew = now.seconds(since: lastNewReadingAt)
        if sinceNew >= limits.staleAfterSeconds {
            return tripped(
                .stale, now, [.init("since_new_s", sinceNew), .init("stale_after_s", limits.staleAfterSeconds)], &events)
        }
        guard let reading else { return true }
        let dt = lastReadingAt.map { now.seconds(since: $0) } ?? 0
        lastReadingAt = now

        if input.duty > 0 {
            if let since = stuckSince, stuckBits == reading.bitPattern {
                let constant = now.seconds(since: since)
                if constant >= limits.stuckAfterSeconds {
                    return tripped(
                        .stuck, now,
                        [
                            .init("reading_c", reading), .init("constant_s", constant),
                            .init("stuck_after_s", limits.stuckAfterSeconds), .init("duty", input.duty),
                        ], &events)
                }
            } else {
                stuckBits = reading.bitPattern
                stuckSince = now
            }
        } else {
            stuckSince = nil
        }

        if input.duty == 0, input.setpoint.map({ reading > $0 }) ?? true {
            let lowest = stuckOnLowest.add(
                reading, atSeconds: now.seconds(since: origin), windowSeconds: limits.stuckOnWithinSeconds)
            if reading - lowest >= limits.stuckOnRiseCelsius {
                var numbers = [
                    SafetyNumber("reading_c", reading), .init("lowest_c", lowest), .init("rise_c", reading - lowest),
                    .init("within_s", limits.stuckOnWithinSeconds), .init("duty", 0),
                ]
                if let setpoint = input.setpoint { numbers.append(.init("setpoint_c", setpoint)) }
                return tripped(.heaterStuckOn, now, numbers, &events)
            }
        } else {
            stuckOnLowest.reset()
        }

        guard injectionWindowEnd == nil, let setpoint = input.setpoint else {
            relaxApproach()
            return true
        }
        let threshold = setpoint - limits.runawayHysteresisCelsius
        if reading >= threshold {
            approach = nil
            approachStopped = false
            if reading <= setpoint + limits.runawayHysteresisCelsius { errorIntegral = 0 }
            return true
        }
        let dutyHigh = input.duty >= limits.heatingGainMinimumDuty
        if var current = approach {
            if reading >= current.goalCelsius {
                // Progress: the next goal, and the integral starts over (Klipper resets its error).
                // The duty of this step drove the interval before the new window: it does not count.
                approach = Approach(
                    startCelsius: reading, goalCelsius: reading + limits.heatingGainCelsius, since: now,
                    dutyStayedHigh: true)
                approachStopped = false
                errorIntegral = 0
            } else {
                current.dutyStayedHigh = current.dutyStayedHigh && dutyHigh
                approach = current
                let elapsed = now.seconds(since: current.since)
                if !approachStopped, elapsed >= limits.heatingGainWithinSeconds {
                    if current.dutyStayedHigh {
                        return tripped(
                            .heatingGain, now,
                            [
                                .init("start_c", current.startCelsius), .init("reading_c", reading),
                                .init("goal_c", current.goalCelsius), .init("elapsed_s", elapsed),
                                .init("within_s", limits.heatingGainWithinSeconds), .init("setpoint_c", setpoint),
                                .init("duty", input.duty),
                            ], &events)
                    }
                    approachStopped = true
                }
            }
        } else {
            // A step's duty is what drove the interval before it: a window starting now is judged
            // on the duties of the steps that follow (at a cold start the loop has driven nothing yet).
            approach = Approach(
                startCelsius: reading, goalCelsius: reading + limits.heatingGainCelsius, since: now,
                dutyStayedHigh: true)
        }
        if approachStopped {
            errorIntegral += (threshold - reading) * dt
            if errorIntegral > limits.runawayErrorIntegral {
                return tripped(
                    .runaway, now,
                    [
                        .init("error_integral_c_s", errorIntegral), .init("limit_c_s", limits.runawayErrorIntegral),
                        .init("reading_c", reading), .init("setpoint_c", setpoint),
                        .init("hysteresis_c", limits.runawayHysteresisCelsius), .init("duty", input.duty),
                    ], &events)
            }
        }
        return true
    }

    /// Clears a latched trip (operator action). Refused (false) while the last input still shows
    /// a sensor fault or the last reading is out of range. The timed checks start over from `now`.
    public mutating func clear(at now: MonotonicInstant) -> Bool {
        guard trip != nil else { return true }
        if lastFault { return false }
        if let celsius = lastCelsius, celsius < limits.minCelsius || celsius > limits.maxCelsius { return false }
        trip = nil
        lastStepAt = now
        lastNewReadingAt = now
        lastReadingAt = nil
        stuckSince = nil
        stuckOnLowest.reset()
        relaxApproach()
        return true
    }

    private mutating func relaxApproach() {
        approach = nil
        approachStopped = false
        errorIntegral = 0
    }

    private mutating func tripped(
        _ check: SafetyCheck, _ now: MonotonicInstant, _ numbers: [SafetyNumber], _ events: inout [SafetyEvent]
    ) -> Bool {
        let latched = SafetyTrip(loop: loop, check: check, at: now, numbers: numbers)
        trip = latched
        events.append(.tripped(latched))
        return false
    }
}

/// The lowest value over a trailing window, in 8 fixed-size time buckets (no allocation): the
/// minimum returned covers between 7/8 of the window and the whole window before the newest value.
struct TrailingMinimum: Sendable {
    static let bucketCount = 8
    private var minima = InlineArray<8, Double>(repeating: .infinity)
    private var newestBucket: Int64?

    mutating func reset() {
        minima = InlineArray<8, Double>(repeating: .infinity)
        newestBucket = nil
    }

    /// Adds `value` at `seconds` (≥ 0, non-decreasing) and returns the trailing minimum,
    /// `value` included.
    mutating func add(_ value: Double, atSeconds seconds: Double, windowSeconds: Double) -> Double {
        let count = Int64(Self.bucketCount)
        // Clamped so that no window, however short, can overflow the bucket number.
        let bucket = Int64(min((max(seconds, 0) / (windowSeconds / Double(count))).rounded(.down), 1e15))
        if let newest = newestBucket {
            if bucket > newest {
                // Empty the buckets that fell out of the window (at most all of them).
                for skipped in (newest + 1)...(newest + min(bucket - newest, count)) {
                    minima[Int(skipped % count)] = .infinity
                }
                newestBucket = bucket
            }
        } else {
            newestBucket = bucket
        }
        let slot = Int(newestBucket! % count)
        minima[slot] = min(minima[slot], value)
        var lowest = Double.infinity
        for index in minima.indices { lowest = min(lowest, minima[index]) }
        return lowest
    }
}
