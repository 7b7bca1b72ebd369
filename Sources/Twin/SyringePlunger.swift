import Transports

/// The plunger of a simulated syringe pump, moved against the rig clock: the physics both pump
/// simulators share.
///
/// A run moves the plunger at a constant rate in one direction until the first of: the run's
/// target volume has moved (the run ends, `targetReached`), the barrel is empty (infusing) or
/// full (withdrawing) (the plunger hits the end and the motor stalls), or an injected stall
/// point is reached. Each is found exactly, not at a step boundary, so the volume moved does not
/// depend on how often the plunger is advanced. A pure value: `advance(to:)` returns the signed
/// volume moved (+ infused into the line, - withdrawn from it).
public struct SyringePlunger: Equatable, Sendable {
    public enum Motion: Equatable, Sendable {
        case stopped
        case infusing
        case withdrawing
    }

    /// The barrel's capacity, µL.
    public var capacityMicrolitres: Double
    /// What the barrel holds now, µL (0...capacity).
    public private(set) var contentMicrolitres: Double
    public private(set) var motion: Motion = .stopped
    /// The run's rate, µL/min.
    public private(set) var rateMicrolitresPerMinute: Double = 0
    /// The run's target volume, µL (nil: run until stopped or stalled).
    public private(set) var targetMicrolitres: Double?
    /// Volume moved by the current (or last) run, µL, never negative.
    public private(set) var movedMicrolitres: Double = 0
    /// The last run ended because it moved its target.
    public private(set) var targetReached = false
    /// The motor is stalled: nothing moves until `clearStall()`.
    public private(set) var isStalled = false
    /// Fault: the motor stalls once a run has moved this much (stays until cleared or changed).
    public var stallAfterMicrolitres: Double?

    private var updated: MonotonicInstant

    public init(capacityMicrolitres: Double, contentMicrolitres: Double, at start: MonotonicInstant) {
        precondition(capacityMicrolitres > 0, "a syringe holds something")
        precondition(
            (0...capacityMicrolitres).contains(contentMicrolitres),
            "content \(contentMicrolitres) µL is outside 0...\(capacityMicrolitres) µL")
        self.capacityMicrolitres = capacityMicrolitres
        self.contentMicrolitres = contentMicrolitres
        self.updated = start
    }

    /// Fills or empties the barrel by hand (loading the stock), µL.
    public mutating func setContent(_ microlitres: Double) {
        precondition((0...capacityMicrolitres).contains(microlitres), "content outside the barrel")
        contentMicrolitres = microlitres
    }

    /// Starts a run at `now` (after moving the current one up to `now`). Returns the volume the
    /// old run moved until now (signed, as `advance`).
    public mutating func start(
        _ motion: Motion, rateMicrolitresPerMinute rate: Double, targetMicrolitres target: Double?,
        at now: MonotonicInstant
    ) -> Double {
        precondition(motion != .stopped && rate > 0, "a run moves at a positive rate")
        let moved = advance(to: now)
        self.motion = motion
        rateMicrolitresPerMinute = rate
        targetMicrolitres = target
        movedMicrolitres = 0
        targetReached = false
        if let target, target <= 0 {
            self.motion = .stopped
            targetReached = true
        }
        return moved
    }

    /// Stops the run at `now`; returns what it moved until then (signed).
    public mutating func stop(at now: MonotonicInstant) -> Double {
        let moved = advance(to: now)
        motion = .stopped
        return moved
    }

    /// The motor stalls at `now` (a blocked line, a jammed plunger).
    public mutating func stall(at now: MonotonicInstant) -> Double {
        let moved = advance(to: now)
        isStalled = true
        motion = .stopped
        return moved
    }

    /// Clears a stall (the keypad on a Harvard, a new start on a Chemyx).
    public mutating func clearStall() { isStalled = false }

    /// Moves the plunger to `now`; returns the signed volume moved (+ infused, - withdrawn).
    public mutating func advance(to now: MonotonicInstant) -> Double {
        defer { if now > updated { updated = now } }
        guard now > updated, motion != .stopped, !isStalled else { return 0 }
        let possible = rateMicrolitresPerMinute / 60 * now.seconds(since: updated)
        let travel = motion == .infusing ? contentMicrolitres : capacityMicrolitres - contentMicrolitres
        let toTarget = targetMicrolitres.map { $0 - movedMicrolitres } ?? .infinity
        let toStall = stallAfterMicrolitres.map { max(0, $0 - movedMicrolitres) } ?? .infinity
        let limit = min(toTarget, travel, toStall)
        let moved = min(possible, max(0, limit))
        movedMicrolitres += moved
        contentMicrolitres += motion == .infusing ? -moved : moved
        contentMicrolitres = min(max(contentMicrolitres, 0), capacityMicrolitres)
        let signed = motion == .infusing ? moved : -moved
        if possible >= limit {
            if toTarget <= travel && toTarget <= toStall {
                targetReached = true
            } else {
                isStalled = true
            }
            motion = .stopped
        }
        return signed
    }
}
