import Transports

/// Slow PWM for an SSR-switched heater: within each window of `period`, the heater is on for
/// `duty × period`, then off.
///
/// A pure value: `level(at:)` says whether the heater should be on now. The duty is latched at the
/// start of each window so a noisy controller output cannot chatter the SSR, but a lower duty takes
/// effect at once (a safety cut must not wait for the window to end).
public struct TimeProportioning: Equatable, Sendable {
    public let periodNanoseconds: Int64
    public let maxDuty: Double
    /// The duty asked for, clamped to 0...maxDuty.
    public private(set) var requestedDuty: Double = 0
    private var windowStart: MonotonicInstant?
    private var windowDuty: Double = 0

    public init(periodNanoseconds: Int64, maxDuty: Double) {
        precondition(periodNanoseconds > 0, "the window must have a length")
        precondition(maxDuty > 0 && maxDuty <= 1, "max duty is a fraction in (0, 1]")
        self.periodNanoseconds = periodNanoseconds
        self.maxDuty = maxDuty
    }

    /// Sets the duty (clamped to 0...maxDuty; NaN counts as 0).
    public mutating func setDuty(_ duty: Double) {
        requestedDuty = duty.isNaN ? 0 : min(max(duty, 0), maxDuty)
        windowDuty = min(windowDuty, requestedDuty)
    }

    /// Whether the heater should be on at `now`.
    public mutating func level(at now: MonotonicInstant) -> Bool {
        if let start = windowStart, now.nanoseconds - start.nanoseconds < periodNanoseconds, now >= start {
            // Inside the current window.
        } else {
            // A new window, aligned to the period so a late tick does not stretch the cycle.
            if let start = windowStart, now > start {
                let windows = (now.nanoseconds - start.nanoseconds) / periodNanoseconds
                windowStart = start.adding(nanoseconds: windows * periodNanoseconds)
            } else {
                windowStart = now
            }
            windowDuty = requestedDuty
        }
        let elapsed = now.nanoseconds - windowStart!.nanoseconds
        return elapsed < onNanoseconds
    }

    /// The next instant after `now` at which the level can change: the end of the on part of the
    /// window, or the start of the next window. A loop that wakes then switches the SSR on time
    /// to the nanosecond, whatever its sampling interval.
    public func nextChange(after now: MonotonicInstant) -> MonotonicInstant {
        guard let start = windowStart else { return now }
        let onEnd = start.adding(nanoseconds: onNanoseconds)
        return now < onEnd ? onEnd : start.adding(nanoseconds: periodNanoseconds)
    }

    private var onNanoseconds: Int64 {
        Int64((windowDuty * Double(periodNanoseconds)).rounded())
    }
}

/// A heater on an SSR, driven by time proportioning. The control loop calls `setDuty` when its
/// output changes and `update(at:)` every tick.
public final class HeaterOutput {
    public let output: SwitchedOutput
    public private(set) var proportioning: TimeProportioning

    public init(output: SwitchedOutput, periodNanoseconds: Int64, maxDuty: Double) {
        self.output = output
        self.proportioning = TimeProportioning(periodNanoseconds: periodNanoseconds, maxDuty: maxDuty)
    }

    public var id: String { output.id }
    public var duty: Double { proportioning.requestedDuty }
    public var isOn: Bool { output.isOn }

    public func setDuty(_ duty: Double) {
        proportioning.setDuty(duty)
    }

    /// Drives the SSR to where the window says it should be at `now`.
    public func update(at now: MonotonicInstant) throws(OutputLineError) {
        try output.set(on: proportioning.level(at: now))
    }

    /// When the SSR may next need switching (see `TimeProportioning.nextChange(after:)`).
    public func nextChange(after now: MonotonicInstant) -> MonotonicInstant {
        proportioning.nextChange(after: now)
    }

    /// Duty 0 and the line written off.
    public func off() throws(OutputLineError) {
        proportioning.setDuty(0)
        try output.forceOff()
    }
}
