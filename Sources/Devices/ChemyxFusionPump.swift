import Transports

/// Chemyx Fusion 4000 syringe pump on its USB-serial port (PROTOCOLS.md §3).
///
/// Framing (choices where PROTOCOLS.md marks the source UNVERIFIED are shared with
/// `ChemyxFusionPumpSimulator`):
/// - lowercase commands ended by CR LF (a bare LF is invalid); a dual-channel unit takes the
///   channel number and a space before the command.
/// - set-commands answer with the stored value as `<parameter> = <value>`: `set units 2` ->
///   `units = 2`. A stored value that differs from the one sent means the pump clamped it to its
///   limits: the driver refuses the run (`PumpError.Reason.notAccepted`).
/// - `pump status` answers one integer: 0 stopped, 1 running, 2 paused, 3 delayed (a run's
///   start delay), 4 stalled; `dispensed volume` a number, optionally followed by its unit (µL
///   when absent, since the driver sets units 2, µL/min).
/// - `start`, `stop` and `pause` answer nothing; the driver confirms them with `pump status`.
/// - Some firmware echoes the command line: a line equal to the command sent (or to the one
///   before it, whose echo may come late since `start` is not waited for) is skipped.
///   A line containing `error` or `invalid` rejects the command.
/// Replies are slow (drivers in the field wait 0.4-0.5 s): each is read against a deadline,
/// `replyTimeoutSeconds`, returning as soon as the expected line is in.
public final class ChemyxFusionPump: SyringePump {
    /// `set units` codes.
    public enum Units: Int, Equatable, Sendable, CaseIterable {
        case millilitresPerMinute = 0
        case millilitresPerHour = 1
        case microlitresPerMinute = 2
        case microlitresPerHour = 3
    }

    public let name: String
    /// The channel of a dual-channel unit (1 or 2), nil on a single-channel one.
    public let channel: Int?
    public let maximumRateMicrolitresPerMinute: Double
    public let replyTimeoutSeconds: Double
    public private(set) var syringe: Syringe?

    private let reader: LineReader
    /// The run last started, to tell a finished run (status 0, target moved) from a stopped one.
    private var run: (direction: PumpDirection, microlitres: Double)?
    /// The command sent before the current one: its echo may still arrive (`start` is not waited for).
    private var previousCommand: String?
    private var currentCommand: String?

    public init(
        name: String, line: any SerialLine, channel: Int? = nil, maximumRateMicrolitresPerMinute: Double,
        replyTimeoutSeconds: Double = 2
    ) {
        precondition(channel == nil || channel == 1 || channel == 2, "a Fusion channel is 1 or 2")
        precondition(maximumRateMicrolitresPerMinute > 0, "the maximum rate must be positive")
        precondition(replyTimeoutSeconds > 0, "the reply timeout must be positive")
        self.name = name
        self.channel = channel
        self.maximumRateMicrolitresPerMinute = maximumRateMicrolitresPerMinute
        self.replyTimeoutSeconds = replyTimeoutSeconds
        self.reader = LineReader(serial: line)
    }

    /// `pump.se (Chemyx Fusion 4000, /dev/ttyUSB1 channel 2)`, for messages.
    public var label: String {
        var text = "\(name) (Chemyx Fusion 4000, \(reader.serial.name)"
        if let channel { text += " channel \(channel)" }
        return text + ")"
    }

    // MARK: - SyringePump

    /// `set units 2` (µL/min, so volumes are µL) and `set diameter <mm>`, each echo checked. The
    /// Fusion has no syringe-volume setting: the capacity bounds requests in the driver only.
    public func configure(syringe: Syringe) throws(PumpError) {
        try set("units", Double(Units.microlitresPerMinute.rawValue))
        try set("diameter", syringe.innerDiameterMillimetres)
        self.syringe = syringe
    }

    public func infuse(microlitres: Double, rateMicrolitresPerMinute: Double) throws(PumpError) {
        try start(.infuse, microlitres: microlitres, rate: rateMicrolitresPerMinute)
    }

    public func withdraw(microlitres: Double, rateMicrolitresPerMinute: Double) throws(PumpError) {
        try start(.withdraw, microlitres: microlitres, rate: rateMicrolitresPerMinute)
    }

    /// `stop`, confirmed by `pump status` (0, or 4 when it had stalled: stopping does not clear that).
    public func stop() throws(PumpError) {
        try send("stop")
        let code = try statusCode()
        guard code == 0 || code == 4 else {
            throw PumpError(pump: label, command: wire("pump status"), reply: String(code), reason: .unexpectedReply)
        }
    }

    /// `pump status` and `dispensed volume`.
    public func status() throws(PumpError) -> PumpStatus {
        let code = try statusCode()
        let volume = try dispensedVolume()
        let state: PumpState
        switch code {
        case 0:
            // Stopped: by itself at the target (to the pump's 4-decimal resolution), or by hand.
            if let run, volume >= run.microlitres - 0.0001 - 1e-6 * run.microlitres {
                state = .targetReached
            } else {
                state = .idle
            }
        case 1, 3: state = run?.direction == .withdraw ? .withdrawing : .infusing
        case 2: state = .idle
        case 4: state = .stalled
        default:
            throw PumpError(pump: label, command: wire("pump status"), reply: String(code), reason: .unexpectedReply)
        }
        return PumpStatus(state: state, deliveredMicrolitres: volume)
    }

    // MARK: - Runs

    /// `set rate`, `set volume` (negative to withdraw), each echo checked, then `start`,
    /// confirmed by `pump status`: running (1 or 3), stopped (0) with the target already moved
    /// (a short run), or a stall (4) thrown as `.stalled`.
    private func start(_ direction: PumpDirection, microlitres: Double, rate: Double) throws(PumpError) {
        try checkPumpRequest(
            pump: label, command: wire("start"), syringe: syringe,
            maximumRateMicrolitresPerMinute: maximumRateMicrolitresPerMinute, microlitres: microlitres,
            rateMicrolitresPerMinute: rate)
        try set("rate", rate)
        try set("volume", direction == .infuse ? microlitres : -microlitres)
        run = (direction, microlitres)
        try send("start")
        let code = try statusCode()
        switch code {
        case 1, 3: return
        case 4: throw PumpError(pump: label, command: wire("start"), reply: "pump status 4", reason: .stalled)
        case 0 where try dispensedVolume() >= microlitres - 0.0001 - 1e-6 * microlitres:
            return  // a short run already done before the pump answered

        default:
            throw PumpError(
                pump: label, command: wire("start"), reply: "pump status \(code)", reason: .unexpectedReply)
        }
    }

    // MARK: - Transactions

    /// The command as written (without CR LF): channel prefix and command.
    private func wire(_ command: String) -> String {
        channel.map { "\($0) \(command)" } ?? command
    }

    /// Writes the command after dropping any stale input.
    private func send(_ command: String) throws(PumpError) {
        let text = wire(command)
        previousCommand = currentCommand
        currentCommand = text
        do throws(SerialError) {
            try reader.discardInput()
            try reader.serial.write(text + "\r\n")
        } catch {
            throw PumpError(pump: label, command: text, reply: nil, reason: .transport(error))
        }
    }

    /// Sends `command` and returns the first reply line that `accept` takes (skipping empty lines
    /// and the echoed command) within `replyTimeoutSeconds`. An error line, or any other line,
    /// throws at once.
    private func ask<Value>(_ command: String, awaiting: String, accept: (String) -> Value?) throws(PumpError) -> Value {
        try send(command)
        let text = wire(command)
        let deadline = reader.serial.clock.now().adding(seconds: replyTimeoutSeconds)
        while true {
            let bytes: [UInt8]
            do throws(SerialError) {
                bytes = try reader.readLineBytes(until: deadline, awaiting: "\(awaiting) after \"\(text)\"")
            } catch {
                let reply = error.received.isEmpty ? nil : printable(error.received)
                throw PumpError(
                    pump: label, command: text, reply: reply,
                    reason: reply == nil ? .transport(error) : .unexpectedReply)
            }
            let trimmed = String(decoding: bytes, as: UTF8.self).trimmingSpaces
            if trimmed.isEmpty || trimmed == text || trimmed == previousCommand { continue }
            let lowered = trimmed.lowercased()
            if lowered.contains("error") || lowered.contains("invalid") {
                throw PumpError(pump: label, command: text, reply: trimmed, reason: .rejected)
            }
            guard let value = accept(trimmed) else {
                throw PumpError(pump: label, command: text, reply: printable(bytes), reason: .unexpectedReply)
            }
            return value
        }
    }

    /// `set <parameter> <value>` and its `<parameter> = <stored>` echo, which must match.
    private func set(_ parameter: String, _ value: Double) throws(PumpError) {
        let command = "set \(parameter) \(pumpNumber(value))"
        let stored = try ask(command, awaiting: "\"\(parameter) = ...\"") { line -> Double? in
            let parts = line.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingSpaces == parameter else { return nil }
            return parseDecimal(parts[1].trimmingSpaces)
        }
        // The pump keeps 4 decimals; anything further off was clamped to its limits.
        guard abs(stored - value) <= 0.00005 + 1e-9 * abs(value) else {
            throw PumpError(
                pump: label, command: wire(command), reply: "\(parameter) = \(pumpNumber(stored))",
                reason: .notAccepted(sent: value, stored: stored))
        }
    }

    private func statusCode() throws(PumpError) -> Int {
        try ask("pump status", awaiting: "a status code") { Int($0) }
    }

    /// `dispensed volume`: a number, and a volume unit when the firmware adds one.
    private func dispensedVolume() throws(PumpError) -> Double {
        try ask("dispensed volume", awaiting: "a volume") { line -> Double? in
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard let first = words.first, let value = parseDecimal(first), value >= 0 else { return nil }
            switch words.count {
            case 1: return value
            case 2: return microlitresPerUnit(words[1]).map { value * $0 }
            default: return nil
            }
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
