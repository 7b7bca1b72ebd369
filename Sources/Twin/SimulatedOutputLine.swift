import Transports

/// A simulated GPIO output line: holds its electrical level and tells the plant when it changes.
///
/// The plant integrates up to the instant of each change before the new level takes effect, so
/// heater power is accounted exactly however the line is toggled.
public final class SimulatedOutputLine: OutputLine {
    public let name: String
    /// The electrical level now (`true` = high).
    public private(set) var isHigh: Bool
    public private(set) var isReleased = false
    /// How many times the level changed (tests and benchmarks read it).
    public private(set) var transitions = 0
    /// Called with the new level after every change, before `set` returns.
    public var onChange: ((Bool) -> Void)?
    /// Fault injection: the next `set` fails with this reason (then the fault clears).
    public var failNextSet: OutputLineError.Reason?
    /// Fault injection: the line is stuck at this level whatever is written (a welded SSR).
    public var stuckAt: Bool?

    /// A line requested as an output at `initialLevel`; released lines fall to `releasedLevel`
    /// (the pull-down of the real wiring).
    public let releasedLevel: Bool

    public init(name: String, initialLevel: Bool, releasedLevel: Bool = false) {
        self.name = name
        self.isHigh = initialLevel
        self.releasedLevel = releasedLevel
    }

    public func set(high: Bool) throws(OutputLineError) {
        if isReleased {
            throw OutputLineError(line: name, operation: "set", reason: .released)
        }
        if let reason = failNextSet {
            failNextSet = nil
            throw OutputLineError(line: name, operation: "set", reason: reason)
        }
        apply(stuckAt ?? high)
    }

    public func release() throws(OutputLineError) {
        guard !isReleased else { return }
        isReleased = true
        apply(stuckAt ?? releasedLevel)
    }

    private func apply(_ level: Bool) {
        guard level != isHigh else { return }
        isHigh = level
        transitions += 1
        onChange?(level)
    }
}
