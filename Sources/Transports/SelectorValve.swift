/// A rotary selector valve (a Fluigent M-SWITCH, 10 positions): one common port connected to
/// one of positions 1...N at a time.
///
/// Positions are numbered from 1, as on the valve's body; an adapter whose SDK counts from 0
/// (`fgt_set_valvePosition`, "position indexing starts at 0") converts. Moving takes time: a
/// valve reads `.turning` until it arrives, and `SelectorValveMove` turns that into a deadline.
/// Not thread-safe: one owner.
public protocol SelectorValve: AnyObject {
    /// Where the valve is, for messages (`fluigent-valve:0`, `twin:selector`).
    var name: String { get }

    /// N: the positions are 1...N.
    var positionCount: Int { get }

    /// Starts turning to `position` (1...N) and returns at once. Throws `.positionOutOfRange`
    /// outside 1...N.
    func select(position: Int) throws(FluidicsError)

    /// Where the valve is now: at a position, or still turning.
    func readState() throws(FluidicsError) -> SelectorValveState
}

/// What a selector valve reports.
public enum SelectorValveState: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// At rest at this position (1...N).
    case at(Int)
    /// Still turning (the Fluigent SDK's `Processing` code: "M-Switch is still turning").
    case turning

    public var description: String {
        switch self {
        case .at(let position): "at position \(position)"
        case .turning: "turning"
        }
    }
}

/// One move of a selector valve with a deadline: a pure state machine the owner steps with each
/// state it reads, until the valve is there, or the deadline passes, or it stops elsewhere.
public struct SelectorValveMove: Equatable, Sendable {
    /// What one step concludes.
    public enum Outcome: Equatable, Sendable {
        /// Still turning (or not yet reported there) before the deadline: read again later.
        case waiting
        /// At the target.
        case arrived
        /// At rest at another position: the valve did not go where it was sent.
        case wrongPosition(expected: Int, actual: Int)
        /// Not at the target when the deadline passed; `lastState` is the last state read.
        case timedOut(target: Int, lastState: SelectorValveState, afterSeconds: Double)
    }

    public let target: Int
    public let startedAt: MonotonicInstant
    public let deadline: MonotonicInstant
    /// The outcome once it is no longer `.waiting` (later steps repeat it).
    public private(set) var finished: Outcome?

    /// A move to `target` started at `startedAt` that must end within `timeoutSeconds` (> 0).
    public init(target: Int, startedAt: MonotonicInstant, timeoutSeconds: Double) {
        precondition(timeoutSeconds > 0 && timeoutSeconds.isFinite, "a move needs a positive timeout")
        self.target = target
        self.startedAt = startedAt
        deadline = startedAt.adding(seconds: timeoutSeconds)
    }

    /// Feeds the state read at `now`. A valve can report its old position for a moment after a
    /// select, before it starts turning, so another position before the deadline is waited
    /// out too; after the deadline it is `.wrongPosition`, and still turning is `.timedOut`.
    public mutating func step(state: SelectorValveState, now: MonotonicInstant) -> Outcome {
        if let finished { return finished }
        let outcome: Outcome
        switch state {
        case .at(let position) where position == target:
            outcome = .arrived
        case .at(let position) where now >= deadline:
            outcome = .wrongPosition(expected: target, actual: position)
        case .turning where now >= deadline:
            outcome = .timedOut(target: target, lastState: state, afterSeconds: now.seconds(since: startedAt))
        default:
            return .waiting
        }
        finished = outcome
        return outcome
    }
}


extension SelectorValve {
    /// Selects `position` and waits on `clock` until the valve is there, reading its state every
    /// `pollSeconds`; throws `.selectorTimedOut` or `.selectorWrongPosition` (from
    /// `SelectorValveMove`) when it does not arrive within `timeoutSeconds`. Returns the seconds
    /// the move took by the clock. For the sequencer's executor, off the real-time loop.
    @discardableResult
    public func move(
        to position: Int, clock: any RigClock, timeoutSeconds: Double, pollSeconds: Double = 0.02
    ) throws(FluidicsError) -> Double {
        precondition(pollSeconds > 0 && pollSeconds.isFinite, "polling needs a positive period")
        try select(position: position)
        let start = clock.now()
        var move = SelectorValveMove(target: position, startedAt: start, timeoutSeconds: timeoutSeconds)
        var next = start
        while true {
            let now = clock.now()
            switch move.step(state: try readState(), now: now) {
            case .waiting:
                next = next.adding(seconds: pollSeconds)
                do { try clock.sleep(until: next) } catch {
                    throw FluidicsError(device: name, operation: "move", reason: .clock(error))
                }
            case .arrived:
                return now.seconds(since: start)
            case .wrongPosition(let expected, let actual):
                throw FluidicsError(
                    device: name, operation: "move", reason: .selectorWrongPosition(expected: expected, actual: actual))
            case .timedOut(let target, let lastState, let seconds):
                throw FluidicsError(
                    device: name, operation: "move",
                    reason: .selectorTimedOut(target: target, lastState: lastState, afterSeconds: seconds))
            }
        }
    }
}
