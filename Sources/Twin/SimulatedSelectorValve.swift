import Transports

/// The twin's selector valve: a Fluigent M-SWITCH's behaviour behind `SelectorValve`.
///
/// A rotary valve of N positions on a circle turns the shorter way (the SDK's
/// `fgt_SWITCH_DIRECTION_Shortest`), `secondsPerPosition` for each step (default 0.05 s,
/// UNVERIFIED: the M-SWITCH data sheet gives a switching time of a few hundred ms at most); it
/// reads `.turning` until it arrives. Faults: `isStuck` (never arrives: reads `.turning`
/// forever), `failNext`.
public final class SimulatedSelectorValve: SelectorValve {
    public let name: String
    public let positionCount: Int
    public let clock: any RigClock
    public let secondsPerPosition: Double
    public private(set) var position: Int
    private var target: Int
    private var arrival: MonotonicInstant
    public var isStuck = false
    public var failNext: FluidicsError.Reason?
    /// Positions asked for, in order.
    public private(set) var selections: [Int] = []

    public init(
        name: String = "twin:selector", positionCount: Int, clock: any RigClock, secondsPerPosition: Double = 0.05,
        initialPosition: Int = 1
    ) {
        precondition(positionCount >= 2, "a selector has positions to choose from")
        precondition((1...positionCount).contains(initialPosition), "the valve starts at one of its positions")
        self.name = name
        self.positionCount = positionCount
        self.clock = clock
        self.secondsPerPosition = secondsPerPosition
        position = initialPosition
        target = initialPosition
        arrival = clock.now()
    }

    /// Steps between two positions the shorter way round.
    public func steps(from start: Int, to end: Int) -> Int {
        let forward = ((end - start) % positionCount + positionCount) % positionCount
        return min(forward, positionCount - forward)
    }

    public func select(position requested: Int) throws(FluidicsError) {
        if let reason = failNext {
            failNext = nil
            throw FluidicsError(device: name, operation: "fgt_set_valvePosition", reason: reason)
        }
        guard (1...positionCount).contains(requested) else {
            throw FluidicsError(
                device: name, operation: "fgt_set_valvePosition",
                reason: .positionOutOfRange(requested: requested, count: positionCount))
        }
        settle()
        selections.append(requested)
        target = requested
        arrival = clock.now().adding(seconds: Double(steps(from: position, to: requested)) * secondsPerPosition)
    }

    public func readState() throws(FluidicsError) -> SelectorValveState {
        if let reason = failNext {
            failNext = nil
            throw FluidicsError(device: name, operation: "fgt_get_valvePosition", reason: reason)
        }
        settle()
        return position == target ? .at(position) : .turning
    }

    private func settle() {
        if !isStuck && clock.now() >= arrival { position = target }
    }
}
