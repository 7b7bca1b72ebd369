import Transports

/// Harvard Apparatus Ultra-series syringe pump (PHD Ultra, Pump 11 Elite, Pump 33 DDS) on its
/// USB-serial port, Ultra command set (PROTOCOLS.md §3).
///
/// Framing (the manual's "Ultra" protocol; details marked UNVERIFIED in PROTOCOLS.md are choices
/// shared with `HarvardUltraPumpSimulator`):
/// - a command is ASCII, a space before each argument, ended by CR. A pump at daisy-chain
///   address N > 0 is addressed as `N:command`; address 0 takes unprefixed commands.
/// - the reply is CR LF, then each reply line ended by CR LF, then an unterminated prompt: the
///   two-digit address when it is not 0, then `:` idle, `>` infusing, `<` withdrawing, `*`
///   stalled or `T*` target reached. The prompt ends the reply, so the driver returns as soon
///   as it arrives: no fixed waits, one deadline (`replyTimeoutSeconds`) per command.
/// - reply lines containing `Command error`, `Unknown command`, `Argument error` or
///   `Out of range` reject the command.
/// - Pump 33 DDS in independent mode: every command takes the axis (`a` or `b`) as its first
///   argument (UNVERIFIED placement).
///
/// Runs: `civolume`/`cwvolume` (clear the counter), `tvolume <v> ul`, `irate`/`wrate <r> ul/min`,
/// then `irun`/`wrun`; the pump stops by itself at the target and its prompt turns `T*`. Status
/// is `ivolume`/`wvolume` (the run's volume, in the unit the pump picks) and the prompt after it.
/// Volumes are sent in `ul`, rates in `ul/min`.
public final class HarvardUltraPump: SyringePump {
    /// The pumps of the Ultra command set.
    public enum Model: String, Equatable, Hashable, Sendable, CaseIterable, CustomStringConvertible {
        case phdUltra = "phd-ultra"
        case pump11Elite = "pump-11-elite"
        case pump33DDS = "pump-33-dds"

        public var description: String {
            switch self {
            case .phdUltra: "PHD Ultra"
            case .pump11Elite: "Pump 11 Elite"
            case .pump33DDS: "Pump 33 DDS"
            }
        }
    }

    /// The two syringe axes of a Pump 33 DDS.
    public enum Axis: String, Equatable, Hashable, Sendable, CaseIterable {
        case a, b
    }

    /// The reply-line fragments that mean the pump refused the command.
    public static let errorMarkers = ["Command error", "Unknown command", "Argument error", "Out of range"]

    public let name: String
    public let model: Model
    /// Daisy-chain address, 0...99.
    public let address: Int
    /// The axis on a Pump 33 DDS (required there), nil on the others.
    public let axis: Axis?
    public let maximumRateMicrolitresPerMinute: Double
    /// How long a reply (through its prompt) may take, s.
    public let replyTimeoutSeconds: Double
    public private(set) var syringe: Syringe?

    private let reader: LineReader
    /// The direction of the last run started (which counter `status()` reads).
    private var lastDirection: PumpDirection = .infuse

    public init(
        name: String, line: any SerialLine, model: Model, address: Int = 0, axis: Axis? = nil,
        maximumRateMicrolitresPerMinute: Double, replyTimeoutSeconds: Double = 1
    ) {
        precondition((0...99).contains(address), "Harvard daisy-chain addresses are 0...99, got \(address)")
        precondition(
            (model == .pump33DDS) == (axis != nil), "an axis is given for a Pump 33 DDS, and only for it")
        precondition(maximumRateMicrolitresPerMinute > 0, "the maximum rate must be positive")
        precondition(replyTimeoutSeconds > 0, "the reply timeout must be positive")
        self.name = name
        self.model = model
        self.address = address
        self.axis = axis
        self.maximumRateMicrolitresPerMinute = maximumRateMicrolitresPerMinute
        self.replyTimeoutSeconds = replyTimeoutSeconds
        self.reader = LineReader(serial: line)
    }

    /// `pump.cd (PHD Ultra, /dev/ttyUSB0 address 3 axis a)`, for messages.
    public var label: String {
        var text = "\(name) (\(model), \(reader.serial.name)"
        if address != 0 { text += " address \(address)" }
        if let axis { text += " axis \(axis.rawValue)" }
        return text + ")"
    }

    // MARK: - SyringePump

    /// `diameter <mm>` and `svolume <µL> ul`, then `diameter` read back: the pump must hold the
    /// bore it was given (to its 4 decimals), or the volumes it moves would be wrong.
    public func configure(syringe: Syringe) throws(PumpError) {
        let bore = pumpNumber(syringe.innerDiameterMillimetres)
        _ = try transaction("diameter \(bore)")
        _ = try transaction("svolume \(pumpNumber(syringe.volumeMicrolitres)) ul")
        let readBack = try transaction("diameter")
        guard let line = readBack.lines.first, let value = Self.quantity(line, units: ["mm": 1]) else {
            throw PumpError(
                pump: label, command: command("diameter"), reply: readBack.lines.joined(separator: "|"),
                reason: .unexpectedReply)
        }
        guard abs(value - syringe.innerDiameterMillimetres) <= 0.00005 + 1e-9 * value else {
            throw PumpError(
                pump: label, command: command("diameter"), reply: line,
                reason: .notAccepted(sent: syringe.innerDiameterMillimetres, stored: value))
        }
        self.syringe = syringe
    }

    public func infuse(microlitres: Double, rateMicrolitresPerMinute: Double) throws(PumpError) {
        try run(.infuse, microlitres: microlitres, rate: rateMicrolitresPerMinute)
    }

    public func withdraw(microlitres: Double, rateMicrolitresPerMinute: Double) throws(PumpError) {
        try run(.withdraw, microlitres: microlitres, rate: rateMicrolitresPerMinute)
    }

    /// `stop`. A stalled pump stays stalled (it is cleared at the keypad): that is not an error
    /// of stopping.
    public func stop() throws(PumpError) {
        _ = try transaction("stop")
    }

    /// `ivolume` or `wvolume` (the direction of the last run) and the prompt after it.
    public func status() throws(PumpError) -> PumpStatus {
        let name = lastDirection == .infuse ? "ivolume" : "wvolume"
        let reply = try transaction(name)
        guard let line = reply.lines.first, reply.lines.count == 1,
            let volume = Self.quantity(line, units: Self.volumeUnits)
        else {
            throw PumpError(
                pump: label, command: command(name), reply: reply.lines.joined(separator: "|"),
                reason: .unexpectedReply)
        }
        return PumpStatus(state: reply.state, deliveredMicrolitres: volume)
    }

    // MARK: - Runs

    private func run(_ direction: PumpDirection, microlitres: Double, rate: Double) throws(PumpError) {
        let (clear, rateCommand, start) = direction == .infuse
            ? ("civolume", "irate", "irun") : ("cwvolume", "wrate", "wrun")
        try checkPumpRequest(
            pump: label, command: command(start), syringe: syringe,
            maximumRateMicrolitresPerMinute: maximumRateMicrolitresPerMinute, microlitres: microlitres,
            rateMicrolitresPerMinute: rate)
        lastDirection = direction
        _ = try transaction(clear)
        _ = try transaction("tvolume \(pumpNumber(microlitres)) ul")
        _ = try transaction("\(rateCommand) \(pumpNumber(rate)) ul/min")
        let started = try transaction(start)
        if started.state == .stalled {
            throw PumpError(pump: label, command: command(start), reply: started.prompt, reason: .stalled)
        }
    }

    // MARK: - Transactions

    /// One command and its reply: the non-empty reply lines and the prompt's state.
    private struct Reply {
        var lines: [String]
        var prompt: String
        var state: PumpState
    }

    /// The command as written on the wire (without CR): address prefix, name, axis, arguments.
    private func command(_ text: String) -> String {
        var words = text.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        if let axis, !words.isEmpty { words.insert(axis.rawValue, at: 1) }
        let body = words.joined(separator: " ")
        return address == 0 ? body : "\(address):\(body)"
    }

    /// Sends `text` and reads its reply through the prompt, within `replyTimeoutSeconds`.
    private func transaction(_ text: String) throws(PumpError) -> Reply {
        let wire = command(text)
        do throws(SerialError) {
            try reader.discardInput()
            try reader.serial.write(wire + "\r")
        } catch {
            throw PumpError(pump: label, command: wire, reply: nil, reason: .transport(error))
        }
        let deadline = reader.serial.clock.now().adding(seconds: replyTimeoutSeconds)
        var lines: [String] = []
        while true {
            let item: LineReader.Item
            do throws(SerialError) {
                item = try reader.readLineOrPrompt(
                    until: deadline, awaiting: "the prompt after \"\(wire)\"",
                    isPrompt: { Self.parsePrompt($0) != nil })
            } catch {
                if error.reason == .timeout && !error.received.isEmpty {
                    // Something came but never made a prompt: a garbled or cut prompt.
                    throw PumpError(
                        pump: label, command: wire, reply: printable(error.received), reason: .unexpectedReply)
                }
                throw PumpError(pump: label, command: wire, reply: nil, reason: .transport(error))
            }
            switch item {
            case .line(let line):
                if line.isEmpty { continue }
                if Self.errorMarkers.contains(where: { line.contains($0) }) {
                    throw PumpError(pump: label, command: wire, reply: line, reason: .rejected)
                }
                lines.append(line)
            case .prompt(let prompt):
                guard let parsed = Self.parsePrompt(Array(prompt.utf8)) else {
                    preconditionFailure("the reader only returns accepted prompts")
                }
                if let from = parsed.address, from != address {
                    throw PumpError(pump: label, command: wire, reply: prompt, reason: .unexpectedReply)
                }
                return Reply(lines: lines, prompt: prompt, state: parsed.state)
            }
        }
    }

    /// Parses a prompt: an optional address of one or two digits, then `:` `>` `<` `*` or `T*`.
    /// Nil for anything else (including a prompt still arriving, such as `0` or `03T`).
    public static func parsePrompt(_ bytes: [UInt8]) -> (address: Int?, state: PumpState)? {
        var index = 0
        var address: Int?
        while index < bytes.count, index < 2, (0x30...0x39).contains(bytes[index]) {
            address = (address ?? 0) * 10 + Int(bytes[index] - 0x30)
            index += 1
        }
        let rest = bytes[index...]
        let state: PumpState
        switch Array(rest) {
        case [0x3A]: state = .idle  // ":"
        case [0x3E]: state = .infusing  // ">"
        case [0x3C]: state = .withdrawing  // "<"
        case [0x2A]: state = .stalled  // "*"
        case [0x54, 0x2A]: state = .targetReached  // "T*"
        default: return nil
        }
        return (address, state)
    }

    /// Volume units as the pump writes them, in µL.
    static let volumeUnits: [String: Double] = ["pl": 1e-6, "nl": 1e-3, "ul": 1, "µl": 1, "ml": 1e3, "l": 1e6]

    /// `<number> <unit>` with a unit from `units` (case-insensitive), in the table's base unit.
    static func quantity(_ line: String, units: [String: Double]) -> Double? {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count == 2, let value = parseDecimal(words[0]),
            let scale = units[words[1].lowercased()]
        else { return nil }
        return value * scale
    }
}
