import Transports

/// A load switched by one output line (an SSR, a solenoid driver), in logical terms: on or off.
///
/// The board file says whether the load is on when the line is high (`active = "high"`) or low.
/// The line must have been requested at the level that means off (`offLevel(activeHigh:)`), so
/// nothing switches on while the rig is being built.
public final class SwitchedOutput {
    /// The output's id from the board file (`heater.reactor`, `valve.sample`).
    public let id: String
    public let activeHigh: Bool
    /// Whether the load is on, as last written.
    public private(set) var isOn = false
    private let line: OutputLine

    public init(id: String, line: OutputLine, activeHigh: Bool) {
        self.id = id
        self.line = line
        self.activeHigh = activeHigh
    }

    /// The electrical level that switches a load of this sense off.
    public static func offLevel(activeHigh: Bool) -> Bool { !activeHigh }

    /// Where the line is (for messages).
    public var lineName: String { line.name }

    /// Switches the load, writing the line only when the state changes.
    public func set(on: Bool) throws(OutputLineError) {
        guard on != isOn else { return }
        try write(on: on)
    }

    /// Writes the off level whatever the last state was: the safe-state path must not trust
    /// bookkeeping that a failed write may have left stale.
    public func forceOff() throws(OutputLineError) {
        try write(on: false)
    }

    /// Switches off, then hands the line back to the kernel.
    public func release() throws(OutputLineError) {
        defer { isOn = false }
        try write(on: false)
        try line.release()
    }

    private func write(on: Bool) throws(OutputLineError) {
        try line.set(high: on == activeHigh)
        isOn = on
    }
}
