import Transports

/// A syringe as mounted on a pump: what the pump needs to turn plunger travel into volume.
public struct Syringe: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// Inner diameter of the barrel, mm (the pumps' `diameter` setting).
    public var innerDiameterMillimetres: Double
    /// Nominal capacity, µL (the Harvard `svolume`; the largest single stroke).
    public var volumeMicrolitres: Double

    public init(innerDiameterMillimetres: Double, volumeMicrolitres: Double) {
        precondition(
            innerDiameterMillimetres > 0 && innerDiameterMillimetres.isFinite,
            "a syringe diameter is a positive number of mm, got \(innerDiameterMillimetres)")
        precondition(
            volumeMicrolitres > 0 && volumeMicrolitres.isFinite,
            "a syringe volume is a positive number of µL, got \(volumeMicrolitres)")
        self.innerDiameterMillimetres = innerDiameterMillimetres
        self.volumeMicrolitres = volumeMicrolitres
    }

    /// Volume per mm of plunger travel, µL/mm: the barrel's cross-section π d² / 4 (1 mm³ = 1 µL).
    public var microlitresPerMillimetre: Double {
        Double.pi * innerDiameterMillimetres * innerDiameterMillimetres / 4
    }

    public var description: String {
        "\(pumpNumber(volumeMicrolitres)) µL syringe, \(pumpNumber(innerDiameterMillimetres)) mm bore"
    }
}

/// Which way the plunger moves.
public enum PumpDirection: String, Equatable, Hashable, Sendable {
    /// Pushing liquid out of the syringe.
    case infuse
    /// Drawing liquid into it.
    case withdraw
}

/// What a pump is doing, as its prompt or status code says.
public enum PumpState: String, Equatable, Hashable, Sendable, CaseIterable {
    /// Stopped, with no target reached since the last run started (or stopped by hand).
    case idle
    case infusing
    case withdrawing
    /// The motor stalled (force limit, blocked line, end of travel): nothing moves until cleared.
    case stalled
    /// The last run stopped because it moved its target volume.
    case targetReached
}

/// One reading of a pump: its state and the volume moved in the current (or last) run.
public struct PumpStatus: Equatable, Sendable, CustomStringConvertible {
    public var state: PumpState
    /// µL moved by the current or last run, in its direction (never negative).
    public var deliveredMicrolitres: Double

    public init(state: PumpState, deliveredMicrolitres: Double) {
        self.state = state
        self.deliveredMicrolitres = deliveredMicrolitres
    }

    public var description: String { "\(state), \(pumpNumber(deliveredMicrolitres)) µL moved" }
}

/// A syringe pump: configure the syringe, move a target volume at a rate, stop, and poll.
///
/// Drivers: `HarvardUltraPump` (PHD Ultra, Pump 11 Elite, Pump 33 DDS) and `ChemyxFusionPump`
/// (Fusion 4000), each over a `SerialLine`. Volumes are µL and rates µL/min everywhere. Requests
/// are checked against the syringe and the pump's rate limit before anything is sent, with the
/// numbers in the error. Not thread-safe: one owner.
public protocol SyringePump: AnyObject {
    /// The pump's name on the board (`pump.cd`), for messages.
    var name: String { get }
    /// The syringe set by the last successful `configure`, nil before.
    var syringe: Syringe? { get }
    /// The fastest rate this pump may be asked for, µL/min (the board's `max_rate_ul_min`).
    var maximumRateMicrolitresPerMinute: Double { get }

    /// Tells the pump the syringe's bore and capacity, and checks that it took them.
    func configure(syringe: Syringe) throws(PumpError)

    /// Starts pushing `microlitres` out at `rateMicrolitresPerMinute`; the pump stops by itself
    /// when the volume has moved (`PumpState.targetReached`).
    func infuse(microlitres: Double, rateMicrolitresPerMinute: Double) throws(PumpError)

    /// Starts drawing `microlitres` in at `rateMicrolitresPerMinute`, stopping at the target.
    func withdraw(microlitres: Double, rateMicrolitresPerMinute: Double) throws(PumpError)

    /// Stops the plunger now.
    func stop() throws(PumpError)

    /// What the pump is doing and how much the current (or last) run has moved.
    func status() throws(PumpError) -> PumpStatus
}

extension SyringePump {
    /// Polls `status()` every `pollIntervalSeconds` of `clock` time until the run ends, and
    /// returns the last status: `.targetReached` (or `.idle` if the run was stopped). Throws
    /// `.stalled` as soon as the pump reports a stall, and `.runTimedOut` if the run is still
    /// moving at `deadline`. The wait between polls is an absolute-deadline sleep on the rig clock
    /// (virtual in the twin).
    public func waitUntilDone(
        clock: any RigClock, pollIntervalSeconds: Double, deadline: MonotonicInstant
    ) throws(PumpError) -> PumpStatus {
        precondition(pollIntervalSeconds > 0, "poll interval must be positive")
        var next = clock.now()
        while true {
            let current = try status()
            switch current.state {
            case .targetReached, .idle:
                return current
            case .stalled:
                throw PumpError(
                    pump: name, command: "status", reply: current.description, reason: .stalled)
            case .infusing, .withdrawing:
                break
            }
            let now = clock.now()
            if now >= deadline {
                throw PumpError(
                    pump: name, command: "status", reply: current.description,
                    reason: .runTimedOut(seconds: now.seconds(since: deadline)))
            }
            next = next.adding(seconds: pollIntervalSeconds)
            if next > deadline { next = deadline }
            do {
                try clock.sleep(until: next)
            } catch {
                throw PumpError(pump: name, command: nil, reply: nil, reason: .clock(error))
            }
        }
    }
}

/// Checks a run request against the syringe and the pump before anything is sent.
///
/// - volume: more than 0, at most the syringe's capacity;
/// - rate: more than 0, at most the pump's `maximumRateMicrolitresPerMinute`.
/// Throws `.notConfigured` without a syringe and `.outOfRange` with the numbers otherwise.
public func checkPumpRequest(
    pump: String, command: String, syringe: Syringe?, maximumRateMicrolitresPerMinute: Double,
    microlitres: Double, rateMicrolitresPerMinute: Double
) throws(PumpError) {
    guard let syringe else {
        throw PumpError(pump: pump, command: command, reply: nil, reason: .notConfigured)
    }
    guard microlitres > 0 && microlitres <= syringe.volumeMicrolitres && microlitres.isFinite else {
        throw PumpError(
            pump: pump, command: command, reply: nil,
            reason: .outOfRange(
                quantity: "volume", value: microlitres, lower: 0, upper: syringe.volumeMicrolitres,
                unit: "µL", why: "the \(syringe)"))
    }
    guard rateMicrolitresPerMinute > 0 && rateMicrolitresPerMinute <= maximumRateMicrolitresPerMinute
        && rateMicrolitresPerMinute.isFinite
    else {
        throw PumpError(
            pump: pump, command: command, reply: nil,
            reason: .outOfRange(
                quantity: "rate", value: rateMicrolitresPerMinute, lower: 0, upper: maximumRateMicrolitresPerMinute,
                unit: "µL/min", why: "the pump's max_rate_ul_min"))
    }
}

/// A failed pump operation: the pump, the command, the reply, and why.
public struct PumpError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        /// The serial line failed or the pump did not answer in time.
        case transport(SerialError)
        /// The pump answered with an error line (`Out of range`, `Command error`...): see `reply`.
        case rejected
        /// The pump stored another value than the one sent (Chemyx: the echo differs, so the
        /// value was outside the pump's limits).
        case notAccepted(sent: Double, stored: Double)
        /// A request outside the syringe or pump limits, refused before sending: the value and
        /// the allowed interval (lower bound excluded), and what sets it.
        case outOfRange(quantity: String, value: Double, lower: Double, upper: Double, unit: String, why: String)
        /// The pump reports a stall (Harvard prompt `*`, Chemyx status 4).
        case stalled
        /// A reply that is not what the command gets (a garbled prompt or value): see `reply`.
        case unexpectedReply
        /// A run was asked for before `configure(syringe:)`.
        case notConfigured
        /// `waitUntilDone` reached its deadline with the pump still moving (seconds past it).
        case runTimedOut(seconds: Double)
        /// The rig clock failed while waiting.
        case clock(ClockError)
    }

    /// `pump.cd (PHD Ultra, /dev/ttyUSB0 address 3)`.
    public var pump: String
    /// The command as sent (without terminator), when one was.
    public var command: String?
    /// What came back (escaped), when anything did.
    public var reply: String?
    public var reason: Reason

    public init(pump: String, command: String?, reply: String?, reason: Reason) {
        self.pump = pump
        self.command = command
        self.reply = reply
        self.reason = reason
    }

    public var description: String {
        var text = "\(pump)"
        if let command { text += ": \"\(command)\"" }
        switch reason {
        case .transport(let error): text += " failed: \(error)"
        case .rejected: text += " was rejected"
        case .notAccepted(let sent, let stored):
            text += " was not accepted: sent \(pumpNumber(sent)), the pump stored \(pumpNumber(stored)) (outside its limits)"
        case .outOfRange(let quantity, let value, let lower, let upper, let unit, let why):
            text += " refused: \(quantity) \(pumpNumber(value)) \(unit) is out of range: allowed more than "
                + "\(pumpNumber(lower)) up to \(pumpNumber(upper)) \(unit) (\(why))"
        case .stalled: text += ": the pump stalled"
        case .unexpectedReply: text += ": unexpected reply"
        case .notConfigured: text += " refused: no syringe configured (call configure(syringe:) first)"
        case .runTimedOut(let seconds): text += ": the run was still moving \(pumpNumber(seconds)) s past its deadline"
        case .clock(let error): text += ": \(error)"
        }
        if let reply { text += " (reply \"\(reply)\")" }
        return text
    }
}

/// A number as the pumps take it: fixed point, at most 4 decimals, no trailing zeros
/// (`100`, `4.6063`, `0.5`). Both pump families accept this form.
func pumpNumber(_ value: Double) -> String {
    guard value.isFinite else { return value.description }
    let scaled = (abs(value) * 10_000).rounded()
    guard scaled < 9e15 else { return value.description }
    let units = Int64(scaled)
    let whole = units / 10_000
    var fraction = units % 10_000
    var text = (value < 0 && units != 0 ? "-" : "") + String(whole)
    if fraction != 0 {
        var digits = 4
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        let raw = String(fraction)
        text += "." + String(repeating: "0", count: digits - raw.count) + raw
    }
    return text
}

/// Parses a plain decimal number (`12`, `-0.5`, `3.25e2`); nil for anything else.
func parseDecimal<S: StringProtocol>(_ text: S) -> Double? {
    guard !text.isEmpty, let value = Double(String(text)), value.isFinite else { return nil }
    return value
}

/// µL in one of a volume unit (`pl`, `nl`, `ul`/`µl`, `ml`, `l`, any case); nil for another word.
func microlitresPerUnit<S: StringProtocol>(_ unit: S) -> Double? {
    switch unit.lowercased() {
    case "pl": 1e-6
    case "nl": 1e-3
    case "ul", "µl", "μl": 1
    case "ml": 1e3
    case "l": 1e6
    default: nil
    }
}
