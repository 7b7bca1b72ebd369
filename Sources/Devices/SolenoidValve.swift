import Transports

/// A normally-closed solenoid valve (sampling, pressurization) on one output line.
public final class SolenoidValve {
    public let output: SwitchedOutput

    public init(output: SwitchedOutput) {
        self.output = output
    }

    public var id: String { output.id }
    public var isOpen: Bool { output.isOn }

    public func open() throws(OutputLineError) { try output.set(on: true) }

    public func close() throws(OutputLineError) { try output.forceOff() }

    /// Opens the valve, waits until `duration` has passed on `clock`, and closes it. The valve is
    /// closed again even if the wait fails. Returns how long it was open by the clock.
    public func pulse(nanoseconds duration: Int64, clock: RigClock) throws(ValvePulseError) -> Double {
        precondition(duration > 0, "a pulse has a length")
        do {
            try output.set(on: true)
        } catch let openError {
            // A failed open may have left the line in either state: force it closed. If that fails
            // too, its error is the one that matters (the valve may be open).
            do { try output.forceOff() } catch { throw .output(error) }
            throw .output(openError)
        }
        let opened = clock.now()
        var waitError: ClockError?
        do {
            try clock.sleep(until: opened.adding(nanoseconds: duration))
        } catch {
            waitError = error
        }
        do { try output.forceOff() } catch { throw .output(error) }
        if let waitError { throw .clock(waitError) }
        return clock.now().seconds(since: opened)
    }
}

/// Why a valve pulse failed.
public enum ValvePulseError: Error, Equatable, CustomStringConvertible {
    case output(OutputLineError)
    case clock(ClockError)

    public var description: String {
        switch self {
        case .output(let error): return error.description
        case .clock(let error): return error.description
        }
    }
}
