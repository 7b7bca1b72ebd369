import Transports

/// A byte-level Harvard Apparatus Ultra-series pump (PHD Ultra, Pump 11 Elite, Pump 33 DDS): the
/// command set of PROTOCOLS.md §3 behind a serial port, with the plunger moved on the rig clock.
///
/// Wire format (the choices where PROTOCOLS.md marks the source UNVERIFIED; the driver makes the
/// same ones, and this file declares them again on its own so a slip in one shows in the tests
/// of the other):
/// - Commands end at CR or LF (CR LF counts once). `N:command` addresses daisy-chain address N;
///   an unprefixed command goes to address 0. Commands for another address get no reply.
/// - The reply is CR LF, each reply line with CR LF, then the prompt without a terminator: the
///   two-digit address when it is not 0, then `:` idle, `>` infusing, `<` withdrawing, `*`
///   stalled, `T*` target reached.
/// - Errors are reply lines: `Unknown command`, `Argument error`, `Out of range`,
///   `Command error` (a run without a diameter or rate).
/// - Pump 33 DDS: the axis `a` or `b` is the first argument of every command (default `a`); the
///   prompt shows the addressed axis.
/// - Commands: `ver`, `diameter [mm]`, `svolume [v unit]`, `irate`/`wrate [v unit/time]`,
///   `tvolume [v unit]`, `ctvolume`, `civolume`, `cwvolume`, `cvolume`, `ivolume`, `wvolume`,
///   `irun`, `wrun`, `stop`. Not modelled: `status`, `force`, the legacy protocol.
/// - Rates: more than 0 up to `maximumLinearSpeedMillimetresPerMinute` times the bore's
///   cross-section (UNVERIFIED default 150 mm/min); diameter 0.1...50 mm. Outside: `Out of range`.
/// - Volumes in replies: `ul` from 1 µL up to 1000 µL, `ml` above, `nl` below, 4 decimals.
///
/// Faults: `stall(axis:)` (prompt `*` until `clearStallAtKeypad`), `plunger(...).stallAfterMicrolitres`
/// through `stallAfter`, `replies.isSilent`, `replies.splitChunkBytes` (split replies),
/// `replies.latencySeconds`, and `garbleNextPrompts` (bit 7 of the prompt's last byte flipped,
/// as line noise does).
///
/// The volume the plunger moves is reported through `onDelivered` (axis a, or the only axis)
/// and `onDeliveredAxisB`: + infused into the line, - withdrawn from it, whenever the plunger is
/// advanced: at every command, and at `update()` (which the twin calls on its clock).
public final class HarvardUltraPumpSimulator: SimulatedSerialDevice {
    public enum Model: Equatable, Sendable, CaseIterable {
        case phdUltra, pump11Elite, pump33DDS

        /// What `ver` answers (UNVERIFIED strings of the same shape as the real ones).
        public var version: String {
            switch self {
            case .phdUltra: "PHD ULTRA 3.0.6"
            case .pump11Elite: "11 ELITE I/W Single 3.0.4"
            case .pump33DDS: "PUMP 33 DDS 1.0.2"
            }
        }
    }

    public enum Axis: Int, Equatable, Sendable, CaseIterable {
        case a = 0, b = 1
    }

    /// One axis: its syringe, settings and counters.
    public struct AxisState: Equatable, Sendable {
        public var plunger: SyringePlunger
        /// `diameter`, mm (nil until set).
        public var diameterMillimetres: Double?
        /// `svolume`, µL.
        public var syringeVolumeMicrolitres: Double?
        public var infuseRateMicrolitresPerMinute: Double?
        public var withdrawRateMicrolitresPerMinute: Double?
        /// `tvolume`, µL (nil: none).
        public var targetMicrolitres: Double?
        /// `ivolume` and `wvolume` counters, µL.
        public var infusedMicrolitres: Double = 0
        public var withdrawnMicrolitres: Double = 0
    }

    public let model: Model
    public let address: Int
    public let clock: any RigClock
    public var maximumLinearSpeedMillimetresPerMinute: Double = 150
    public var replies: SerialReplyQueue
    /// Fault: this many next prompts are garbled.
    public var garbleNextPrompts = 0
    public var onDelivered: (_ microlitres: Double) -> Void
    public var onDeliveredAxisB: (_ microlitres: Double) -> Void = { _ in }
    public private(set) var axes: [AxisState]
    /// Every command line received (for any address), for tests.
    public private(set) var commands: [String] = []

    private var buffer: [UInt8] = []
    private var afterCarriageReturn = false
    private static let maximumCommandLength = 80

    /// `syringeCapacityMicrolitres` and `contentMicrolitres` describe the physical syringe on each
    /// axis (what the barrel holds, not what the pump is told).
    public init(
        model: Model, address: Int = 0, clock: any RigClock, syringeCapacityMicrolitres: Double,
        contentMicrolitres: Double, replyLatencySeconds: Double = 0.005,
        onDelivered: @escaping (_ microlitres: Double) -> Void = { _ in }
    ) {
        precondition((0...99).contains(address), "addresses are 0...99")
        self.model = model
        self.address = address
        self.clock = clock
        self.replies = SerialReplyQueue(latencySeconds: replyLatencySeconds)
        self.onDelivered = onDelivered
        let plunger = SyringePlunger(
            capacityMicrolitres: syringeCapacityMicrolitres, contentMicrolitres: contentMicrolitres, at: clock.now())
        axes = Array(repeating: AxisState(plunger: plunger), count: model == .pump33DDS ? 2 : 1)
    }

    // MARK: - Plant side

    /// Moves the plungers to the clock's now and reports what moved.
    public func update() {
        let now = clock.now()
        for index in axes.indices { report(axes[index].plunger.advance(to: now), axis: index) }
    }

    /// Fault: the motor of `axis` stalls now.
    public func stall(axis: Axis = .a) {
        update()
        report(axes[axis.rawValue].plunger.stall(at: clock.now()), axis: axis.rawValue)
    }

    /// Fault: the motor of `axis` stalls once a run has moved `microlitres` (nil: never).
    public func stallAfter(microlitres: Double?, axis: Axis = .a) {
        update()
        axes[axis.rawValue].plunger.stallAfterMicrolitres = microlitres
    }

    /// The keypad clears the stall.
    public func clearStallAtKeypad(axis: Axis = .a) {
        update()
        axes[axis.rawValue].plunger.clearStall()
    }

    /// The plunger of `axis`.
    public func plunger(_ axis: Axis = .a) -> SyringePlunger { axes[axis.rawValue].plunger }

    /// Fills or empties the syringe of `axis` by hand (loading stock between experiments), µL.
    public func setContent(_ microlitres: Double, axis: Axis = .a) {
        update()
        axes[axis.rawValue].plunger.setContent(microlitres)
    }

    // MARK: - SimulatedSerialDevice

    public func receive(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            switch byte {
            case 0x0A where afterCarriageReturn:
                afterCarriageReturn = false
            case 0x0A, 0x0D:
                afterCarriageReturn = byte == 0x0D
                let line = buffer
                buffer.removeAll(keepingCapacity: true)
                execute(line)
            default:
                afterCarriageReturn = false
                buffer.append(byte)
            }
        }
    }

    public var nextReplyTime: MonotonicInstant? { replies.nextTime }

    public func takeReply(availableAt now: MonotonicInstant) -> [UInt8] { replies.take(availableAt: now) }

    // MARK: - Commands

    private func execute(_ raw: [UInt8]) {
        update()
        let text = String(decoding: raw, as: UTF8.self)
        commands.append(text)
        var body = Substring(text)
        var target = 0
        if let colon = body.firstIndex(of: ":"), body.distance(from: body.startIndex, to: colon) <= 2,
            body.startIndex < colon, body[..<colon].allSatisfy({ $0.isASCII && $0.isNumber })
        {
            target = Int(body[..<colon]) ?? -1
            body = body[body.index(after: colon)...]
        }
        guard target == address else { return }
        var words = body.split(separator: " ", omittingEmptySubsequences: true).map { String($0) }
        var axis = 0
        if model == .pump33DDS, words.count >= 2, let named = ["a": 0, "b": 1][words[1].lowercased()] {
            axis = named
            words.remove(at: 1)
        }
        var lines: [String] = []
        if raw.count > Self.maximumCommandLength {
            lines = ["Command error"]
        } else if let name = words.first?.lowercased() {
            lines = run(name, Array(words.dropFirst()), axis: axis)
        }
        var reply = Array("\r\n".utf8)
        for line in lines { reply += Array((line + "\r\n").utf8) }
        reply += prompt(axis: axis)
        replies.send(reply, at: clock.now())
    }

    private func run(_ name: String, _ arguments: [String], axis: Int) -> [String] {
        let now = clock.now()
        switch name {
        case "ver":
            return [model.version]
        case "diameter":
            guard let first = arguments.first else {
                return [axes[axis].diameterMillimetres.map { fixed($0) + " mm" } ?? "0 mm"]
            }
            guard arguments.count == 1, let value = Double(first) else { return ["Argument error"] }
            guard (0.1...50).contains(value) else { return ["Out of range"] }
            axes[axis].diameterMillimetres = (value * 10_000).rounded() / 10_000
            return []
        case "svolume":
            guard !arguments.isEmpty else {
                return [axes[axis].syringeVolumeMicrolitres.map(volumeText) ?? "0 ul"]
            }
            guard let volume = volume(arguments), volume > 0 else { return ["Argument error"] }
            axes[axis].syringeVolumeMicrolitres = volume
            return []
        case "irate", "wrate":
            let infuse = name == "irate"
            guard !arguments.isEmpty else {
                let rate = infuse ? axes[axis].infuseRateMicrolitresPerMinute : axes[axis].withdrawRateMicrolitresPerMinute
                return [fixed(rate ?? 0) + " ul/min"]
            }
            guard let rate = rate(arguments) else { return ["Argument error"] }
            guard let diameter = axes[axis].diameterMillimetres else { return ["Command error"] }
            let maximum = maximumLinearSpeedMillimetresPerMinute * Double.pi * diameter * diameter / 4
            guard rate > 0 && rate <= maximum else { return ["Out of range"] }
            if infuse {
                axes[axis].infuseRateMicrolitresPerMinute = rate
            } else {
                axes[axis].withdrawRateMicrolitresPerMinute = rate
            }
            return []
        case "tvolume":
            guard !arguments.isEmpty else { return [axes[axis].targetMicrolitres.map(volumeText) ?? "Target volume not set"] }
            guard let volume = volume(arguments), volume > 0 else { return ["Argument error"] }
            if let capacity = axes[axis].syringeVolumeMicrolitres, volume > capacity { return ["Out of range"] }
            axes[axis].targetMicrolitres = volume
            return []
        case "ctvolume":
            axes[axis].targetMicrolitres = nil
            return []
        case "civolume", "cwvolume", "cvolume":
            if name != "cwvolume" { axes[axis].infusedMicrolitres = 0 }
            if name != "civolume" { axes[axis].withdrawnMicrolitres = 0 }
            return []
        case "ivolume":
            return [volumeText(axes[axis].infusedMicrolitres)]
        case "wvolume":
            return [volumeText(axes[axis].withdrawnMicrolitres)]
        case "irun", "wrun":
            let infuse = name == "irun"
            guard arguments.isEmpty else { return ["Argument error"] }
            let state = axes[axis]
            guard state.diameterMillimetres != nil,
                let rate = infuse ? state.infuseRateMicrolitresPerMinute : state.withdrawRateMicrolitresPerMinute
            else { return ["Command error"] }
            if state.plunger.isStalled { return [] }
            let counter = infuse ? state.infusedMicrolitres : state.withdrawnMicrolitres
            let remaining = state.targetMicrolitres.map { $0 - counter }
            report(
                axes[axis].plunger.start(
                    infuse ? .infusing : .withdrawing, rateMicrolitresPerMinute: rate, targetMicrolitres: remaining,
                    at: now),
                axis: axis)
            return []
        case "stop":
            report(axes[axis].plunger.stop(at: now), axis: axis)
            return []
        default:
            return ["Unknown command"]
        }
    }

    /// The prompt for `axis`, garbled if a garble is pending.
    private func prompt(axis: Int) -> [UInt8] {
        let plunger = axes[axis].plunger
        let symbol: String
        if plunger.isStalled {
            symbol = "*"
        } else {
            switch plunger.motion {
            case .infusing: symbol = ">"
            case .withdrawing: symbol = "<"
            case .stopped: symbol = plunger.targetReached ? "T*" : ":"
            }
        }
        var bytes = Array(symbol.utf8)
        if address != 0 { bytes = Array((address < 10 ? "0\(address)" : "\(address)").utf8) + bytes }
        if garbleNextPrompts > 0 {
            garbleNextPrompts -= 1
            bytes[bytes.count - 1] ^= 0x80
        }
        return bytes
    }

    /// Counts what moved on `axis` and tells the plant.
    private func report(_ signed: Double, axis: Int) {
        guard signed != 0 else { return }
        if signed > 0 {
            axes[axis].infusedMicrolitres += signed
        } else {
            axes[axis].withdrawnMicrolitres -= signed
        }
        if axis == 0 { onDelivered(signed) } else { onDeliveredAxisB(signed) }
    }

    // MARK: - Units

    /// `<v> <unit>` with a volume unit, in µL.
    private func volume(_ arguments: [String]) -> Double? {
        guard arguments.count == 2, let value = Double(arguments[0]), value.isFinite,
            let scale = Self.volumeScale(arguments[1])
        else { return nil }
        return value * scale
    }

    /// `<v> <unit>/<time>`, in µL/min.
    private func rate(_ arguments: [String]) -> Double? {
        guard arguments.count == 2, let value = Double(arguments[0]), value.isFinite else { return nil }
        let parts = arguments[1].lowercased().split(separator: "/")
        guard parts.count == 2, let scale = Self.volumeScale(parts[0]) else { return nil }
        let perMinute: Double
        switch parts[1] {
        case "s", "sec": perMinute = 60
        case "min": perMinute = 1
        case "h", "hr": perMinute = 1.0 / 60
        default: return nil
        }
        return value * scale * perMinute
    }

    private static func volumeScale<S: StringProtocol>(_ unit: S) -> Double? {
        switch unit.lowercased() {
        case "pl": 1e-6
        case "nl": 1e-3
        case "ul": 1
        case "ml": 1e3
        case "l": 1e6
        default: nil
        }
    }

    /// A volume as the pump shows it: ul, ml above 1000 µL, nl below 1 µL.
    private func volumeText(_ microlitres: Double) -> String {
        if microlitres >= 1000 { return fixed(microlitres / 1000) + " ml" }
        if microlitres > 0 && microlitres < 1 { return fixed(microlitres * 1000) + " nl" }
        return fixed(microlitres) + " ul"
    }
}

/// `value` with 4 decimals, trailing zeros dropped (`12.5`, `0.0001`, `300`).
func fixed(_ value: Double) -> String {
    let scaled = (abs(value) * 10_000).rounded()
    guard value.isFinite, scaled < 9e15 else { return value.description }
    let units = Int64(scaled)
    var fraction = units % 10_000
    var text = (value < 0 && units != 0 ? "-" : "") + String(units / 10_000)
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
