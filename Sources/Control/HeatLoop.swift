import Devices
import Transports

/// One reading of a heat loop's temperature sensor.
public struct TemperatureSample: Equatable, Sendable {
    /// The temperature, °C; nil when the read failed (no reading this tick).
    public var celsius: Double?
    /// The converter reports a fault (open or short circuit, input out of range): `celsius` is
    /// then not a temperature.
    public var sensorFault: Bool
    /// A fresh conversion, not a repeat of the last one.
    public var isNew: Bool

    public init(celsius: Double?, sensorFault: Bool, isNew: Bool) {
        self.celsius = celsius
        self.sensorFault = sensorFault
        self.isNew = isNew
    }
}

/// Where a heat loop reads its temperature. Called once per control tick on the loop's thread;
/// `read` must not allocate on its normal path and must not throw: a failed read is a sample
/// with no temperature, and `lastFailure` says why.
public protocol TemperatureSensor: AnyObject {
    /// One reading.
    func read() -> TemperatureSample

    /// Why the last read failed, nil when it succeeded. Asked once per run of failures (it may
    /// build a string).
    var lastFailure: String? { get }
}

/// `TemperatureSensor` over an MCP9600/MCP9601 (`Devices.MCP9600`).
///
/// Is a reading new? The converter says so itself: STATUS (Register 0x04) bit 6, "T_H updated",
/// is set when a conversion finishes and stays set until written 0. `read()` already reads
/// STATUS first, so a set bit costs one extra transfer, `clearConversionFlags()`, and only then;
/// a clear bit costs nothing. Comparing temperatures instead would call a steady reading stale
/// (at 0.0625 °C per LSB consecutive conversions are often identical), and the safety
/// supervisor's stale and stuck checks must be able to tell "no conversion" from "same value".
/// A conversion that finishes between the STATUS read and the clear is not reported as new (its
/// value is read as the next tick's repeat); at most one per clear, which the stale check's
/// seconds-long threshold absorbs. If the clear itself fails the reading is still good and is
/// reported new; the failure is kept in `lastFailure` and counted in `failedClears`.
///
/// Allocates nothing while reads succeed (the driver's buffers are its own).
public final class MCP9600TemperatureSensor: TemperatureSensor {
    public let converter: MCP9600
    /// The error of the last failed read or clear, nil after a clean read.
    public private(set) var lastError: MCP9600Error?
    /// Reads that failed (after the driver's one retry), since creation.
    public private(set) var failedReads = 0
    /// Clears of the conversion flags that failed, since creation.
    public private(set) var failedClears = 0

    public init(converter: MCP9600) {
        self.converter = converter
    }

    public func read() -> TemperatureSample {
        let reading: ThermocoupleReading
        do {
            reading = try converter.read()
        } catch {
            lastError = error
            failedReads += 1
            return TemperatureSample(celsius: nil, sensorFault: false, isNew: false)
        }
        lastError = nil
        if reading.hotJunctionUpdated {
            do {
                try converter.clearConversionFlags()
            } catch {
                lastError = error
                failedClears += 1
            }
        }
        return TemperatureSample(
            celsius: reading.hotJunctionCelsius, sensorFault: reading.fault != nil, isNew: reading.hotJunctionUpdated)
    }

    public var lastFailure: String? { lastError.map { $0.description } }
}

/// What a heat loop, or the control loop around it, reports besides its snapshots: for the
/// journal. Built only when something happens (never on a quiet tick).
public enum ControlEvent: Equatable, Sendable {
    /// From the safety supervisor: an injection window opened or closed, or a trip.
    case safety(SafetyEvent)
    /// The loop's own trip outside its supervisor (the dead-man switch fired: `loopStall`).
    case tripped(SafetyTrip)
    /// The first failed sensor read after good ones (later failures of the same run are counted,
    /// not reported one by one).
    case sensorFailed(loop: String, at: MonotonicInstant, reason: String)
    /// Reads work again after `failedReads` failures.
    case sensorRecovered(loop: String, at: MonotonicInstant, failedReads: Int)
    /// Writing the heater's line failed: the loop keeps the heater in its safe state until the
    /// trip is cleared.
    case outputFailed(loop: String, at: MonotonicInstant, error: OutputLineError)
    /// A latched trip was cleared by an operator's command.
    case tripCleared(loop: String, at: MonotonicInstant)
    /// A clear was refused: the condition still holds (a faulted or out-of-range sensor).
    case tripClearRefused(loop: String, at: MonotonicInstant, trip: SafetyTrip)
    /// A command that named no loop or carried an unusable number was dropped.
    case commandRejected(ControlCommand, at: MonotonicInstant, reason: CommandRejection)
    /// Ticks whose deadline passed before the previous one finished, skipped (not bunched).
    case deadlinesMissed(at: MonotonicInstant, count: Int)
    /// The dead-man switch fired: every heater went to its safe state with a `loopStall` trip.
    case deadManFired(at: MonotonicInstant, fireCount: UInt64)
    /// A valve pulse ended: open from `openedAt` to `closedAt` (the achieved open time, to be
    /// journaled), asked for `requestedNanoseconds`.
    case valvePulsed(valve: Int, openedAt: MonotonicInstant, closedAt: MonotonicInstant, requestedNanoseconds: Int64)
    /// Switching a valve failed; the loop forced it closed (or could not: see the error).
    case valveFailed(valve: Int, at: MonotonicInstant, error: OutputLineError)
}

/// What one heat loop looked like after a tick: published every tick.
public struct HeatLoopSnapshot: Equatable, Sendable {
    public var loop: String
    /// The tick's instant (zero before the first tick).
    public var at: MonotonicInstant
    /// Ticks done.
    public var ticks: UInt64
    /// The reading of this tick, nil when the read failed.
    public var celsius: Double?
    public var readingIsNew: Bool
    public var sensorFault: Bool
    /// nil: idle.
    public var setpoint: Double?
    /// The manual duty when in manual mode, nil in automatic.
    public var manualDuty: Double?
    /// The duty asked of the heater (after the safety gate), 0...max_duty.
    public var duty: Double
    /// Whether the heater's line is on now.
    public var heaterOn: Bool
    /// The latched trip, if any (the first one, whichever layer latched it).
    public var trip: SafetyTrip?
    /// The PID's terms of this tick (zero when the PID did not run).
    public var terms: PIDController.Terms
    /// The injection feed-forward in force, 0 otherwise.
    public var feedForward: Double
    /// The end of the supervisor's open injection window, nil when none is open.
    public var injectionWindowEnd: MonotonicInstant?

    public init(loop: String) {
        self.loop = loop
        at = .zero
        ticks = 0
        celsius = nil
        readingIsNew = false
        sensorFault = false
        setpoint = nil
        manualDuty = nil
        duty = 0
        heaterOn = false
        trip = nil
        terms = PIDController.Terms()
        feedForward = 0
        injectionWindowEnd = nil
    }
}

/// One heater's closed loop: a temperature sensor, a PID controller, a safety supervisor and the
/// heater's time-proportioned output.
///
/// `tick(at:)`, every control period, is `control(at:)` then `driveOutput(at:)`:
/// 1. Read the sensor (a failed read is no reading, not an exception).
/// 2. `SafetySupervisor.step` with the reading and the duty that has been driving the heater
///    until now (the supervisor judges the heater's response to what it was given).
/// 3. The PID: idle (no setpoint, no manual output) means duty 0 and a reset controller; manual
///    means the manual duty (the PID tracks it for a bumpless return); otherwise
///    `PIDController.update`. A tick with no reading holds the previous output: the driver has
///    already retried, and the supervisor's `stale` check bounds how long that may go on.
/// 4. Safety gate: a trip (supervisor or dead-man), or an output that failed, means duty 0, and
///    on the tick it happens the heater's line is written off at once (`HeaterOutput.off`).
/// 5. `driveOutput`: the heater's window is driven to where it should be now.
///
/// The control loop splits the two halves so it can check the dead-man flag between reading
/// (which may block on a bus) and driving. Between ticks, `driveOutput` alone switches the SSR
/// at its window edges.
///
/// Events (supervisor events, sensor failures, output failures) queue in the loop until the
/// owner takes them with `drainEvents`. One thread owns a heat loop (the control loop's); the
/// tick allocates nothing unless something trips or fails.
public final class HeatLoop {
    public let name: String
    public let heater: HeaterOutput
    public let sensor: any TemperatureSensor
    public private(set) var pid: PIDController
    public private(set) var supervisor: SafetySupervisor
    /// nil: idle (the heater stays off).
    public private(set) var setpoint: Double?
    /// Manual mode's duty; nil in automatic.
    public private(set) var manualDuty: Double?
    /// The loop's own trip, set by `trip(_:)` (the dead-man switch's `loopStall`).
    public private(set) var externalTrip: SafetyTrip?
    /// The first trip latched, from whichever layer; nil when none is latched.
    public private(set) var latchedTrip: SafetyTrip?
    /// The failed line write that put the heater in its safe state, until `clearTrip`.
    public private(set) var outputFailure: OutputLineError?
    /// The last snapshot (after the last tick).
    public private(set) var snapshot: HeatLoopSnapshot

    private var feedForwardUntil: MonotonicInstant?
    private var safetyEvents: [SafetyEvent] = []
    private var pending: [ControlEvent] = []
    private var failedReadsInRun = 0
    /// Set when the heater must be written off on the next drive (a trip or failure this tick).
    private var forceOffPending = false

    /// Room for the events of one tick without growing (more only on a burst of failures).
    private static let eventCapacity = 16

    /// - Parameters:
    ///   - name: the loop's name in trips, events and snapshots (the heater's, e.g. `reactor`).
    ///   - gains: PID gains in duty units.
    ///   - limits: the safety supervisor's limits (from the board file).
    public init(
        name: String, gains: PIDGains, limits: SafetyLimits, heater: HeaterOutput, sensor: any TemperatureSensor
    ) {
        self.name = name
        self.heater = heater
        self.sensor = sensor
        pid = PIDController(gains: gains, outputLimits: 0...1)
        supervisor = SafetySupervisor(loop: name, limits: limits)
        snapshot = HeatLoopSnapshot(loop: name)
        safetyEvents.reserveCapacity(Self.eventCapacity)
        pending.reserveCapacity(Self.eventCapacity)
        // Run the queues' emptying once now: unoptimized, its first call makes the runtime
        // instantiate generic metadata and witness tables (a one-time allocation), which must not
        // happen on the first tick that has an event.
        safetyEvents.removeAll(keepingCapacity: true)
        pending.removeAll(keepingCapacity: true)
    }

    /// The trip that keeps the heater off, if any.
    public var trip: SafetyTrip? { latchedTrip }

    /// Whether the heater is held in its safe state (a trip or a failed output).
    public var isInSafeState: Bool { latchedTrip != nil || outputFailure != nil }

    // MARK: - Commands

    /// The setpoint, °C; nil makes the loop idle (heater off). A setpoint must be finite and
    /// below the supervisor's `maxCelsius`; returns false (nothing changed) otherwise. Going from
    /// idle to a setpoint starts the PID afresh.
    @discardableResult
    public func setSetpoint(_ celsius: Double?) -> Bool {
        if let celsius {
            guard celsius.isFinite, celsius < supervisor.limits.maxCelsius else { return false }
            if setpoint == nil && manualDuty == nil { pid.reset() }
            pid.setpoint = celsius
        }
        setpoint = celsius
        return true
    }

    /// A scheduled injection at `now`: the PID's feed-forward is `feedForward` (duty) for
    /// `seconds`, and the supervisor's bounded injection window opens (its event is queued).
    /// Returns false (nothing changed) for a non-finite feed-forward or a negative duration.
    @discardableResult
    public func announceInjection(feedForward: Double, seconds: Double, at now: MonotonicInstant) -> Bool {
        guard feedForward.isFinite, seconds.isFinite, seconds >= 0 else { return false }
        pid.feedForward = feedForward
        feedForwardUntil = now.adding(seconds: seconds)
        pending.append(.safety(supervisor.announceInjection(at: now)))
        return true
    }

    /// Manual mode at `duty` (0...1, clamped by the PID and the heater's `max_duty`); nil returns
    /// to automatic, bumplessly. The safety gate still applies. Returns false for NaN.
    @discardableResult
    public func setManualOutput(_ duty: Double?) -> Bool {
        if let duty {
            guard !duty.isNaN else { return false }
            pid.setManual(output: duty)
        } else {
            pid.setAutomatic()
        }
        manualDuty = duty
        return true
    }

    /// Clears the latched trip and a failed output (operator action). Refused while the
    /// supervisor's tripping condition still holds; the event says which.
    @discardableResult
    public func clearTrip(at now: MonotonicInstant) -> Bool {
        guard isInSafeState else { return true }
        if supervisor.trip != nil && !supervisor.clear(at: now) {
            if let trip = supervisor.trip {
                pending.append(.tripClearRefused(loop: name, at: now, trip: trip))
            }
            return false
        }
        externalTrip = nil
        latchedTrip = nil
        outputFailure = nil
        pid.reset()
        pending.append(.tripCleared(loop: name, at: now))
        return true
    }

    /// Latches `trip` from outside the supervisor (the dead-man switch's `loopStall`): duty 0 and
    /// the line written off at the next drive, until `clearTrip`.
    public func trip(_ trip: SafetyTrip) {
        if externalTrip == nil { externalTrip = trip }
        if latchedTrip == nil { latchedTrip = trip }
        heater.setDuty(0)
        forceOffPending = true
        snapshot.trip = latchedTrip
        pending.append(.tripped(trip))
    }

    // MARK: - Ticking

    /// One control tick: `control(at:)`, then `driveOutput(at:)`. Returns the snapshot.
    @discardableResult
    public func tick(at now: MonotonicInstant) -> HeatLoopSnapshot {
        control(at: now)
        driveOutput(at: now)
        return snapshot
    }

    /// The first half of a tick: read, supervise, compute and set the duty (nothing written).
    public func control(at now: MonotonicInstant) {
        let sample = sensor.read()
        trackSensor(sample, at: now)

        if let until = feedForwardUntil, now >= until {
            pid.feedForward = 0
            feedForwardUntil = nil
        }

        let input = SafetyInput(
            celsius: sample.celsius, sensorFault: sample.sensorFault, readingIsNew: sample.isNew,
            setpoint: setpoint, duty: heater.duty)
        let mayRun = supervisor.step(input, at: now, events: &safetyEvents)
        if !safetyEvents.isEmpty {
            var index = 0  // not `for in`: see ControlLoop.forEachLoop
            while index < safetyEvents.count {
                pending.append(.safety(safetyEvents[index]))
                index += 1
            }
            safetyEvents.removeAll(keepingCapacity: true)
        }
        if !mayRun, latchedTrip == nil, let trip = supervisor.trip {
            latchedTrip = trip
            forceOffPending = true
        }

        var duty = 0.0
        let active = setpoint != nil || manualDuty != nil
        if active, let celsius = sample.celsius, !sample.sensorFault {
            duty = pid.update(measurement: celsius, at: now)
        } else if active {
            duty = manualDuty ?? pid.lastOutput
        }
        if !active || isInSafeState { duty = 0 }
        heater.setDuty(duty)

        snapshot.at = now
        snapshot.ticks += 1
        snapshot.celsius = sample.celsius
        snapshot.readingIsNew = sample.isNew
        snapshot.sensorFault = sample.sensorFault
        snapshot.setpoint = setpoint
        snapshot.manualDuty = manualDuty
        snapshot.duty = heater.duty
        snapshot.trip = latchedTrip
        snapshot.terms = active && !isInSafeState ? pid.terms : PIDController.Terms()
        snapshot.feedForward = pid.feedForward
        snapshot.injectionWindowEnd = supervisor.injectionWindowEnd
    }

    /// The second half of a tick, and all a wakeup between ticks does: drives the heater's line
    /// to where its window says at `now`; in the safe state, writes it off (at once on entering
    /// it, whatever the line's bookkeeping says). A failed write puts the loop in its safe state.
    public func driveOutput(at now: MonotonicInstant) {
        do throws(OutputLineError) {
            if forceOffPending {
                forceOffPending = false
                try heater.off()
            } else {
                if isInSafeState { heater.setDuty(0) }
                try heater.update(at: now)
            }
        } catch {
            outputFailed(error, at: now)
        }
        snapshot.duty = heater.duty
        snapshot.heaterOn = heater.isOn
    }

    /// Writes the heater off now (the control loop's exit, or an emergency): duty 0 and the line
    /// written off whatever its bookkeeping says. A failure is queued as an event.
    public func forceHeaterOff(at now: MonotonicInstant) {
        do throws(OutputLineError) {
            try heater.off()
        } catch {
            outputFailed(error, at: now)
        }
        snapshot.duty = heater.duty
        snapshot.heaterOn = heater.isOn
    }

    /// When the heater's line may next need switching after `now` (`HeaterOutput.nextChange`);
    /// nil when nothing is scheduled.
    public func nextOutputChange(after now: MonotonicInstant) -> MonotonicInstant? {
        let next = heater.nextChange(after: now)
        return next > now ? next : nil
    }

    /// Hands the queued events to `body`, oldest first, and forgets them.
    public func drainEvents(_ body: (ControlEvent) -> Void) {
        guard !pending.isEmpty else { return }
        var index = 0  // not `for in`: see ControlLoop.forEachLoop
        while index < pending.count {
            body(pending[index])
            index += 1
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Whether events are queued.
    public var hasPendingEvents: Bool { !pending.isEmpty }

    // MARK: - Private

    private func trackSensor(_ sample: TemperatureSample, at now: MonotonicInstant) {
        if sample.celsius == nil {
            if failedReadsInRun == 0 {
                pending.append(.sensorFailed(loop: name, at: now, reason: sensor.lastFailure ?? "no reading"))
            }
            failedReadsInRun += 1
        } else if failedReadsInRun > 0 {
            pending.append(.sensorRecovered(loop: name, at: now, failedReads: failedReadsInRun))
            failedReadsInRun = 0
        }
    }

    private func outputFailed(_ error: OutputLineError, at now: MonotonicInstant) {
        let first = outputFailure == nil
        if first { outputFailure = error }
        pending.append(.outputFailed(loop: name, at: now, error: error))
        heater.setDuty(0)
        if first {
            // One more attempt to leave the line off; its failure is reported too.
            do throws(OutputLineError) {
                try heater.off()
            } catch {
                pending.append(.outputFailed(loop: name, at: now, error: error))
            }
        }
    }
}
