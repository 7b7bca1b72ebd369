import Transports

/// A byte-level Chemyx Fusion 4000: the command set of PROTOCOLS.md §3 behind a serial port,
/// with the plunger moved on the rig clock.
///
/// Wire format (choices where PROTOCOLS.md marks the source UNVERIFIED, made the same way by the
/// driver and declared again here):
/// - A command ends at CR (CR LF counts once). A bare LF does not end it, so a command sent with
///   LF alone never completes, as on the pump. Dual-channel units (`channels = 2`) take the
///   channel number and a space first.
/// - `set units N` (0 mL/min, 1 mL/h, 2 µL/min, 3 µL/h), `set diameter X` (mm), `set rate X`,
///   `set volume X` (sign: + infuse, - withdraw) answer `<parameter> = <stored value>`. A value
///   outside the pump's limits is clamped, so the echo differs: diameter 0.103...45 mm (UNVERIFIED),
///   rate up to `maximumLinearSpeedMillimetresPerMinute` (default 150, UNVERIFIED) times the
///   bore's cross-section and at least 1/1000 of that.
/// - `start`, `stop`, `pause` answer nothing. `start` clears a stall and restarts the run: the
///   dispensed volume starts again from 0.
/// - `pump status` answers 0 stopped, 1 running, 2 paused, 4 stalled; `dispensed volume` the run's
///   volume in the units' volume unit (µL for units 2 and 3, mL for 0 and 1) followed by that unit;
///   `elapsed time` the run's seconds.
/// - An unknown command answers `invalid command`; a malformed argument `error: bad argument`.
/// - `echoesCommands`: the firmware echoes each command line first (some units do).
///
/// Faults: `stall()`, `stallAfter(microlitres:)`, `replies.isSilent`, `replies.splitChunkBytes`,
/// `replies.latencySeconds` (default 0.05 s: the pump is slow), and `garbleNextReplies` (bit 7
/// of each byte of a reply line flipped). Volumes moved go to `onDelivered` (+ infused, -
/// withdrawn) whenever the plunger is advanced: at every command and at `update()`.
public final class ChemyxFusionPumpSimulator: SimulatedSerialDevice {
    public let clock: any RigClock
    /// 1, or 2 for a dual-channel unit (both channels drive one plunger here).
    public let channels: Int
    public var maximumLinearSpeedMillimetresPerMinute: Double = 150
    public var replies: SerialReplyQueue
    public var echoesCommands = false
    /// Fault: this many next reply lines are garbled.
    public var garbleNextReplies = 0
    public var onDelivered: (_ microlitres: Double) -> Void
    public private(set) var plunger: SyringePlunger
    public private(set) var units = 2
    /// `set diameter`, mm.
    public private(set) var diameterMillimetres = 4.78
    /// `set rate`, in the units' rate unit.
    public private(set) var rate = 0.0
    /// `set volume`, in the units' volume unit (signed).
    public private(set) var volume = 0.0
    public private(set) var isPaused = false
    /// Every command line received, for tests.
    public private(set) var commands: [String] = []

    private var runStarted: MonotonicInstant?
    private var buffer: [UInt8] = []
    private var afterCarriageReturn = false

    public init(
        clock: any RigClock, channels: Int = 1, syringeCapacityMicrolitres: Double, contentMicrolitres: Double,
        replyLatencySeconds: Double = 0.05, onDelivered: @escaping (_ microlitres: Double) -> Void = { _ in }
    ) {
        precondition(channels == 1 || channels == 2, "a Fusion has 1 or 2 channels")
        self.clock = clock
        self.channels = channels
        self.replies = SerialReplyQueue(latencySeconds: replyLatencySeconds)
        self.onDelivered = onDelivered
        plunger = SyringePlunger(
            capacityMicrolitres: syringeCapacityMicrolitres, contentMicrolitres: contentMicrolitres, at: clock.now())
    }

    // MARK: - Plant side

    /// Moves the plunger to the clock's now and reports what moved.
    public func update() {
        report(plunger.advance(to: clock.now()))
    }

    /// Fault: the motor stalls now (status 4 until the next `start`).
    public func stall() {
        report(plunger.stall(at: clock.now()))
    }

    /// Fault: the motor stalls once a run has moved `microlitres` (nil: never).
    public func stallAfter(microlitres: Double?) {
        update()
        plunger.stallAfterMicrolitres = microlitres
    }

    /// Fills or empties the syringe by hand (loading stock between experiments), µL.
    public func setContent(_ microlitres: Double) {
        update()
        plunger.setContent(microlitres)
    }

    // MARK: - SimulatedSerialDevice

    public func receive(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes {
            switch byte {
            case 0x0A where afterCarriageReturn:
                afterCarriageReturn = false
            case 0x0D:
                afterCarriageReturn = true
                let line = buffer
                buffer.removeAll(keepingCapacity: true)
                execute(line)
            default:
                afterCarriageReturn = false
                if buffer.count < 256 { buffer.append(byte) }
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
        var words = text.split(separator: " ", omittingEmptySubsequences: true).map { String($0) }
        if channels == 2, let first = words.first, first == "1" || first == "2" { words.removeFirst() }
        guard !words.isEmpty else { return }
        var lines: [String] = echoesCommands ? [text] : []
        lines += run(words)
        var reply: [UInt8] = []
        for line in lines {
            var bytes = Array(line.utf8)
            if garbleNextReplies > 0 && line != text {
                garbleNextReplies -= 1
                bytes = bytes.map { $0 ^ 0x80 }
            }
            reply += bytes + [0x0D, 0x0A]
        }
        replies.send(reply, at: clock.now())
    }

    private func run(_ words: [String]) -> [String] {
        let now = clock.now()
        switch words.joined(separator: " ") {
        case "start":
            let microlitres = abs(volume) * volumeScale
            let rateMicrolitres = rate * rateScale
            guard microlitres > 0, rateMicrolitres > 0 else { return [] }
            plunger.clearStall()
            isPaused = false
            runStarted = now
            report(
                plunger.start(
                    volume >= 0 ? .infusing : .withdrawing, rateMicrolitresPerMinute: rateMicrolitres,
                    targetMicrolitres: microlitres, at: now))
            return []
        case "stop":
            report(plunger.stop(at: now))
            isPaused = false
            return []
        case "pause":
            if plunger.motion != .stopped {
                report(plunger.stop(at: now))
                isPaused = true
            }
            return []
        case "pump status":
            let code = plunger.isStalled ? 4 : plunger.motion != .stopped ? 1 : isPaused ? 2 : 0
            return [String(code)]
        case "dispensed volume":
            return [fixed(plunger.movedMicrolitres / volumeScale) + (units >= 2 ? " ul" : " ml")]
        case "elapsed time":
            return [fixed(runStarted.map { now.seconds(since: $0) } ?? 0)]
        default:
            break
        }
        guard words.count == 3, words[0] == "set" else { return ["invalid command"] }
        guard let value = Double(words[2]), value.isFinite else { return ["error: bad argument"] }
        switch words[1] {
        case "units":
            guard let code = Int(words[2]), (0...3).contains(code) else { return ["error: bad argument"] }
            units = code
            return ["units = \(code)"]
        case "diameter":
            diameterMillimetres = min(max(rounded(value), 0.103), 45)
            return ["diameter = \(fixed(diameterMillimetres))"]
        case "rate":
            let area = Double.pi * diameterMillimetres * diameterMillimetres / 4
            let maximum = maximumLinearSpeedMillimetresPerMinute * area / rateScale
            rate = min(max(rounded(value), maximum / 1000), maximum)
            return ["rate = \(fixed(rate))"]
        case "volume":
            volume = rounded(value)
            return ["volume = \(fixed(volume))"]
        default:
            return ["invalid command"]
        }
    }

    /// The pump keeps 4 decimals.
    private func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }

    /// µL per volume unit of the current units.
    private var volumeScale: Double { units >= 2 ? 1 : 1000 }

    /// µL/min per rate unit of the current units.
    private var rateScale: Double {
        switch units {
        case 0: 1000
        case 1: 1000.0 / 60
        case 2: 1
        default: 1.0 / 60
        }
    }

    private func report(_ signed: Double) {
        if signed != 0 { onDelivered(signed) }
    }
}
