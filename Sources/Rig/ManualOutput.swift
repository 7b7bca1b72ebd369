import Config
import Devices
import Transports

/// `aliquot set-output`: switching one output by hand, within what the board file allows.
///
/// Off is always allowed (it is the safe direction). On is a pulse with a length, only for a
/// valve the board file marks `manual_pulse = true`, and no longer than its `max_pulse_ms`.
/// Heaters are never switched on by hand: they run under a control loop only.
public enum ManualOutputRequest: Equatable, Sendable {
    case off
    /// On for this long, then off.
    case pulse(nanoseconds: Int64)
}

/// A refused or failed manual switch, saying why and what would be allowed.
public struct ManualOutputError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension Rig {
    /// Checks `request` on output `id` against the board file without touching anything.
    public func validateManual(_ request: ManualOutputRequest, output id: String) throws(ManualOutputError) {
        guard output(id: id) != nil else {
            let known = outputs.map(\.id).joined(separator: ", ")
            throw ManualOutputError(message: "no output \(id) on \(board.path); outputs: \(known)")
        }
        guard case .pulse(let nanoseconds) = request else { return }
        guard let valve = valves.first(where: { $0.valve.id == id }) else {
            throw ManualOutputError(
                message: "\(id) is a heater: heaters are switched on by the control loop only, never by hand")
        }
        guard valve.config.manualPulse else {
            throw ManualOutputError(
                message: "\(board.path): \(id).manual_pulse is false: this valve may not be pulsed by hand "
                    + "(set manual_pulse = true in [\(id)] to allow it)")
        }
        let limit = Int64(valve.config.maxPulseMs) * 1_000_000
        guard nanoseconds > 0, nanoseconds <= limit else {
            throw ManualOutputError(
                message: "pulse of \(formatMilliseconds(nanoseconds)) on \(id) is out of range: "
                    + "allowed more than 0 up to \(valve.config.maxPulseMs) ms (\(id).max_pulse_ms in \(board.path))")
        }
    }

    /// Performs `request` on output `id` after `validateManual`. For a pulse, returns how long the
    /// valve was open by the rig's clock; for off, 0.
    public func performManual(_ request: ManualOutputRequest, output id: String) throws(ManualOutputError) -> Double {
        try validateManual(request, output: id)
        switch request {
        case .off:
            guard let output = output(id: id) else { return 0 }
            do { try output.forceOff() } catch { throw ManualOutputError(message: error.description) }
            return 0
        case .pulse(let nanoseconds):
            guard let valve = valves.first(where: { $0.valve.id == id }) else { return 0 }
            do {
                return try valve.valve.pulse(nanoseconds: nanoseconds, clock: clock)
            } catch {
                throw ManualOutputError(message: "\(id): pulse failed: \(error.description)")
            }
        }
    }
}

/// Parses a pulse length such as `200ms`, `1.5s`, `750us` into nanoseconds.
public func parsePulseLength(_ text: String) throws(ManualOutputError) -> Int64 {
    let units: [(suffix: String, nanoseconds: Double)] = [("ms", 1e6), ("us", 1e3), ("s", 1e9)]
    for unit in units where text.hasSuffix(unit.suffix) {
        let number = String(text.dropLast(unit.suffix.count))
        if let value = Double(number), value.isFinite, value > 0 {
            let nanoseconds = (value * unit.nanoseconds).rounded()
            if nanoseconds >= 1, nanoseconds < 3.6e12 { return Int64(nanoseconds) }
        }
        break
    }
    throw ManualOutputError(
        message: "pulse length '\(text)' is not valid: give a positive number with a unit, ms, s or us (e.g. 200ms)")
}

func formatMilliseconds(_ nanoseconds: Int64) -> String {
    let whole = nanoseconds / 1_000_000
    let fraction = nanoseconds % 1_000_000
    return fraction == 0 ? "\(whole) ms" : "\(Double(nanoseconds) / 1e6) ms"
}
