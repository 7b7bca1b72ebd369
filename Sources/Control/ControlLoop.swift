import Synchronization
import Transports
import Devices

/// A command for the control loop, applied at the start of the next tick. Loops are named by
/// their index in `ControlLoop.loops` (`ControlLoopPort.index(of:)` finds it by name), so a
/// command carries no string and moving it allocates nothing.
public enum ControlCommand: Equatable, Sendable {
    /// A setpoint in °C, or nil to make the loop idle (`HeatLoop.setSetpoint`).
    case setSetpoint(loop: Int, celsius: Double?)
    /// A scheduled injection now: feed-forward duty for `seconds`, and the supervisor's window
    /// (`HeatLoop.announceInjection`).
    case announceInjection(loop: Int, feedForward: Double, seconds: Double)
    /// Manual duty, or nil for automatic (`HeatLoop.setManualOutput`).
    case setManualOutput(loop: Int, duty: Double?)
    /// Clear a latched trip (`HeatLoop.clearTrip`).
    case clearTrip(loop: Int)
    /// Open valve `valve` (its index in `ControlLoop.valves`) at `openAt` and close it
    /// `nanoseconds` after it actually opened: a sampling pulse at an absolute deadline. A pulse
    /// already pending on that valve is replaced; the loop answers with `valvePulsed`.
    case pulseValve(valve: Int, openAt: MonotonicInstant, nanoseconds: Int64)

    /// The index of the loop the command is for (the valve's index for a pulse).
    public var loop: Int {
        switch self {
        case .setSetpoint(let loop, _), .announceInjection(let loop, _, _), .setManualOutput(let loop, _),
            .clearTrip(let loop):
            loop
        case .pulseValve(let valve, _, _):
            valve
        }
    }
}

/// Why a command was dropped.
public enum CommandRejection: String, Equatable, Sendable, CustomStringConvertible {
    /// The index names no loop.
    case noSuchLoop
    /// Not finite, or at or above the supervisor's `maxCelsius`.
    case setpointOutOfRange
    /// A NaN duty, a non-finite feed-forward or a negative duration.
    case invalidNumber
    /// The index names no valve.
    case noSuchValve

    public var description: String { rawValue }
}

/// Counters of a control loop's run, readable from any thread.
public struct ControlLoopStatistics: Equatable, Sendable {
    /// Control ticks done.
    public var ticks: UInt64
    /// All wakeups (ticks and heater-edge wakeups).
    public var wakeups: UInt64
    /// Tick deadlines that had passed before the loop got to them, skipped.
    public var missedDeadlines: UInt64
    /// The latest wakeup after its deadline, nanoseconds.
    public var maxLatenessNanoseconds: Int64
    /// Commands the port could not queue (the ring was full).
    public var refusedCommands: Int
    /// Events the loop could not queue (nobody drained them in time); counted, not journaled.
    public var droppedEvents: Int
}

/// Wakeup lateness (actual wake − deadline), one sample per wakeup, in a buffer allocated once:
/// for benchmarks. Written by the loop's thread only; read after the loop has stopped.
public final class WakeLatencyLog {
    public let capacity: Int
    private let samples: UnsafeMutableBufferPointer<Int64>
    /// Samples recorded (at most `capacity`; later ones are not kept).
    public private(set) var count = 0

    public init(capacity: Int) {
        precondition(capacity > 0, "a latency log needs room")
        self.capacity = capacity
        samples = .allocate(capacity: capacity)
        samples.initialize(repeating: 0)
    }

    deinit { samples.deallocate() }

    @inline(__always)
    func record(_ nanoseconds: Int64) {
        guard count < capacity else { return }
        samples[count] = nanoseconds
        count += 1
    }

    /// The recorded samples, in order (allocates: after the run).
    public var values: [Int64] { Array(samples[0..<count]) }

    /// Forgets the samples (to discard a warm-up).
    public func removeAll() { count = 0 }
}

/// The control loop's other end, for the rest of the program: send commands, read snapshots and
/// events, ask it to stop, read its counters. Every operation is non-blocking and lock-free.
///
/// Each handoff has one producer and one consumer: commands are sent, and events and snapshots
/// read, by one thread or task at a time (the composition root hands the port to one owner, e.g.
/// the sequencer's actor). Stop and statistics may be used from anywhere.
public final class ControlLoopPort: Sendable {
    /// The loops' names, by index.
    public let loopNames: [String]
    /// The valves' output ids (`valve.sample`), by index.
    public let valveNames: [String]
    /// Commands in (the port's side pushes, the loop pops).
    public let commands: BoundedHandoff<ControlCommand>
    /// Events out (the loop pushes, the port's side pops).
    public let events: BoundedHandoff<ControlEvent>
    private let mailboxes: [LatestValueMailbox<HeatLoopSnapshot>]
    private let stopRequested = Atomic<Bool>(false)
    private let ticks = Atomic<UInt64>(0)
    private let wakeups = Atomic<UInt64>(0)
    private let missedDeadlines = Atomic<UInt64>(0)
    private let maxLateness = Atomic<Int64>(0)
    private let runFailure = Mutex<ClockError?>(nil)

    init(loopNames: [String], valveNames: [String], commandCapacity: Int, eventCapacity: Int) {
        self.loopNames = loopNames
        self.valveNames = valveNames
        commands = BoundedHandoff(capacity: commandCapacity)
        events = BoundedHandoff(capacity: eventCapacity)
        mailboxes = loopNames.map { LatestValueMailbox(initial: HeatLoopSnapshot(loop: $0)) }
    }

    /// The index of the loop called `name`.
    public func index(of name: String) -> Int? { loopNames.firstIndex(of: name) }

    /// Queues `command`; false when the ring is full (the command is dropped and counted).
    @discardableResult
    public func send(_ command: ControlCommand) -> Bool { commands.tryPush(command) }

    /// Queues a setpoint (nil: idle) for the loop called `name`; false for an unknown name or a
    /// full ring.
    @discardableResult
    public func setSetpoint(_ celsius: Double?, loop name: String) -> Bool {
        guard let index = index(of: name) else { return false }
        return send(.setSetpoint(loop: index, celsius: celsius))
    }

    /// The index of the valve whose output id is `id` (`valve.sample`).
    public func index(ofValve id: String) -> Int? { valveNames.firstIndex(of: id) }

    /// Queues a pulse of the valve `id`: open at `openAt`, closed `duration` after it opened.
    /// False for an unknown valve or a full ring.
    @discardableResult
    public func pulseValve(_ id: String, openAt: MonotonicInstant, duration: Duration) -> Bool {
        guard let index = index(ofValve: id) else { return false }
        return send(.pulseValve(valve: index, openAt: openAt, nanoseconds: duration.totalNanoseconds))
    }

    /// The newest snapshot of loop `index`.
    public func snapshot(_ index: Int) -> HeatLoopSnapshot { mailboxes[index].read() }

    /// The newest snapshot of the loop called `name`.
    public func snapshot(loop name: String) -> HeatLoopSnapshot? { index(of: name).map { snapshot($0) } }

    /// The oldest event not yet taken.
    public func nextEvent() -> ControlEvent? { events.tryPop() }

    /// Every queued event, oldest first (allocates the array).
    public func takeEvents() -> [ControlEvent] {
        var taken: [ControlEvent] = []
        while let event = events.tryPop() { taken.append(event) }
        return taken
    }

    /// Asks the loop to leave its run at its next wakeup (heaters off).
    public func requestStop() { stopRequested.store(true, ordering: .releasing) }

    public var isStopRequested: Bool { stopRequested.load(ordering: .acquiring) }

    /// The clock failure that ended a `runUntilStopped`, if that is how it ended.
    public var failure: ClockError? { runFailure.withLock { $0 } }

    public var statistics: ControlLoopStatistics {
        ControlLoopStatistics(
            ticks: ticks.load(ordering: .relaxed), wakeups: wakeups.load(ordering: .relaxed),
            missedDeadlines: missedDeadlines.load(ordering: .relaxed),
            maxLatenessNanoseconds: maxLateness.load(ordering: .relaxed), refusedCommands: commands.refusedPushes,
            droppedEvents: events.refusedPushes)
    }

    // The loop's side.

    func publish(_ snapshot: HeatLoopSnapshot, of index: Int) { mailboxes[index].publish(snapshot) }

    func countTick() { ticks.wrappingAdd(1, ordering: .relaxed) }

    func countWakeup(lateness: Int64) {
        wakeups.wrappingAdd(1, ordering: .relaxed)
        if lateness > maxLateness.load(ordering: .relaxed) { maxLateness.store(lateness, ordering: .relaxed) }
    }

    func countMissed(_ count: Int64) { missedDeadlines.wrappingAdd(UInt64(count), ordering: .relaxed) }

    func recordFailure(_ error: ClockError) { runFailure.withLock { $0 = error } }
}

/// The real-time control loop: runs a set of heat loops at a fixed period on a `RigClock`.
///
/// Timing: absolute deadlines, tick k at `start + k·period`, never `previous + period`, so the
/// loop does not drift. A tick that finds one or more later deadlines already passed counts them
/// as missed and skips to the latest one (the next tick is still on the grid): a late loop never
/// bunches ticks to catch up. With `wakesForHeaterEdges`, the loop also wakes at each heater's
/// next window edge (`HeaterOutput.nextChange`) and only drives the outputs then: at a coarse
/// period (100 ms against a 1 s window) the SSR still switches on time, so the delivered duty is
/// the computed one rather than rounded to whole periods.
///
/// Each tick, in order: drain the commands; `control` every heat loop (read, supervise,
/// compute); check the dead-man flag (after the reads, which may block on a bus, and before any
/// write); drive every output; publish the snapshots and events; bump the dead-man heartbeat.
/// Nothing on that path allocates or takes a lock: the handoffs are atomics over storage
/// allocated in `init`, and the heat loops' event queues keep their capacity.
///
/// The same code runs on the twin's `VirtualClock` (whose sleep jumps to the deadline, so a run
/// is synchronous and as fast as the CPU allows: `run(forSeconds:)`, `run(until:stopWhen:)`) and
/// on the `MonotonicClock` in a dedicated `RealTimeThread` (`runUntilStopped`). A run ends with
/// every heater written off unless asked otherwise.
///
/// One thread runs a control loop; everyone else talks to it through `port`.
public final class ControlLoop {
    public let loops: [HeatLoop]
    /// The valves the loop pulses at absolute deadlines (sampling, pressurizing).
    public let valves: [SolenoidValve]
    public let clock: RigClock
    public let periodNanoseconds: Int64
    public let wakesForHeaterEdges: Bool
    public let deadMan: DeadManSwitch?
    public let port: ControlLoopPort
    /// When set, every wakeup's lateness is recorded (benchmarks).
    public let latencyLog: WakeLatencyLog?
    /// Dead-man firings already turned into trips.
    private var handledDeadManFires: UInt64 = 0
    /// The instant of the last tick, for the dead-man trip's numbers.
    private var lastTickAt: MonotonicInstant?
    /// Each valve's pending or running pulse, by valve index (allocated once).
    private var pulses: [ValvePulse]

    /// - Parameters:
    ///   - loops: the heat loops, each named uniquely.
    ///   - period: the control period (> 0).
    ///   - wakesForHeaterEdges: also wake at heater window edges (see the type's notes).
    ///   - valves: the valves it pulses on command (`ControlCommand.pulseValve`), each closed on
    ///     every exit to the safe state.
    ///   - deadMan: the switch whose heartbeat the loop bumps and whose flag it obeys.
    ///   - commandCapacity, eventCapacity: the handoffs' sizes.
    public init(
        loops: [HeatLoop], valves: [SolenoidValve] = [], clock: RigClock, period: Duration,
        wakesForHeaterEdges: Bool = true, deadMan: DeadManSwitch? = nil, commandCapacity: Int = 64,
        eventCapacity: Int = 1024, latencyLog: WakeLatencyLog? = nil
    ) {
        let names = loops.map(\.name)
        precondition(Set(names).count == names.count, "heat loop names must be unique: \(names)")
        precondition(period > .zero, "the control period must be positive")
        self.loops = loops
        self.valves = valves
        pulses = Array(repeating: ValvePulse(), count: valves.count)
        self.clock = clock
        periodNanoseconds = period.totalNanoseconds
        self.wakesForHeaterEdges = wakesForHeaterEdges
        self.deadMan = deadMan
        self.latencyLog = latencyLog
        port = ControlLoopPort(
            loopNames: names, valveNames: valves.map(\.id), commandCapacity: commandCapacity,
            eventCapacity: eventCapacity)
        handledDeadManFires = deadMan?.fireCount ?? 0
    }

    /// Runs for `seconds` of the clock's time (on the twin, virtual seconds, returning as soon
    /// as the CPU gets there).
    public func run(forSeconds seconds: Double, safeStateOnExit: Bool = true) throws(ClockError) {
        try run(until: clock.now().adding(seconds: seconds), safeStateOnExit: safeStateOnExit)
    }

    /// Runs until the clock reaches `end` (nil: no end), `shouldStop` returns true (asked at every
    /// wakeup), or the port asks it to stop. The first tick is at once. Ends with every heater
    /// written off unless `safeStateOnExit` is false (a twin test continuing a run); a clock
    /// failure is thrown after that.
    public func run(
        until end: MonotonicInstant? = nil, stopWhen shouldStop: () -> Bool = { false }, safeStateOnExit: Bool = true
    ) throws(ClockError) {
        defer {
            if safeStateOnExit { enterSafeState(at: clock.now()) }
        }
        let start = clock.now()
        var index: Int64 = 0
        var nextTick = start
        var sleptUntil: MonotonicInstant?
        while !port.isStopRequested && !shouldStop() {
            let now = clock.now()
            if let target = sleptUntil {
                let lateness = now.nanoseconds - target.nanoseconds
                port.countWakeup(lateness: lateness)
                latencyLog?.record(lateness)
            }
            if let end, now >= end { break }
            if now >= nextTick {
                let due = (now.nanoseconds - start.nanoseconds) / periodNanoseconds
                if due > index {
                    port.countMissed(due - index)
                    port.events.tryPush(.deadlinesMissed(at: now, count: Int(due - index)))
                    index = due
                }
                tick(at: now)
                index += 1
                nextTick = start.adding(nanoseconds: index * periodNanoseconds)
            } else {
                checkDeadMan(at: now)
                forEachLoop { _, loop in loop.driveOutput(at: now) }
                driveValves(at: now)
                publishEvents()
            }
            var wake = nextTick
            if let edge = nextValveEdge(), edge < wake { wake = edge }
            if wakesForHeaterEdges {
                forEachLoop { _, loop in
                    if let change = loop.nextOutputChange(after: now), change < wake { wake = change }
                }
            }
            if let end, end < wake { wake = end }
            sleptUntil = wake
            try clock.sleep(until: wake)
        }
    }

    /// The body of the loop's dedicated thread: runs until `shouldStop` (or the port) says so. A
    /// clock failure ends the run (heaters off) and is kept in `port.failure`.
    public func runUntilStopped(_ shouldStop: () -> Bool) {
        do {
            try run(until: nil, stopWhen: shouldStop)
        } catch {
            port.recordFailure(error)
        }
    }

    /// One control tick at `now` (what `run` does at each deadline).
    public func tick(at now: MonotonicInstant) {
        while let command = port.commands.tryPop() {
            apply(command, at: now)
        }
        forEachLoop { _, loop in loop.control(at: now) }
        checkDeadMan(at: now)
        forEachLoop { _, loop in loop.driveOutput(at: now) }
        driveValves(at: now)
        forEachLoop { index, loop in port.publish(loop.snapshot, of: index) }
        publishEvents()
        lastTickAt = now
        deadMan?.beat()
        port.countTick()
    }

    /// Every heater written off and every valve closed now (the end of a run, or a stop); a
    /// pulse cut short is reported with the time it was open.
    public func enterSafeState(at now: MonotonicInstant) {
        forEachLoop { index, loop in
            loop.forceHeaterOff(at: now)
            port.publish(loop.snapshot, of: index)
        }
        closeAllValves(at: now)
        publishEvents()
    }

    // MARK: - Private

    private func apply(_ command: ControlCommand, at now: MonotonicInstant) {
        if case .pulseValve(let valve, let openAt, let nanoseconds) = command {
            guard valve >= 0 && valve < valves.count else {
                port.events.tryPush(.commandRejected(command, at: now, reason: .noSuchValve))
                return
            }
            guard nanoseconds > 0 else {
                port.events.tryPush(.commandRejected(command, at: now, reason: .invalidNumber))
                return
            }
            pulses[valve].openAt = openAt
            pulses[valve].nanoseconds = nanoseconds
            pulses[valve].pending = true
            return
        }
        guard command.loop >= 0 && command.loop < loops.count else {
            port.events.tryPush(.commandRejected(command, at: now, reason: .noSuchLoop))
            return
        }
        let loop = loops[command.loop]
        switch command {
        case .setSetpoint(_, let celsius):
            if !loop.setSetpoint(celsius) {
                port.events.tryPush(.commandRejected(command, at: now, reason: .setpointOutOfRange))
            }
        case .announceInjection(_, let feedForward, let seconds):
            if !loop.announceInjection(feedForward: feedForward, seconds: seconds, at: now) {
                port.events.tryPush(.commandRejected(command, at: now, reason: .invalidNumber))
            }
        case .setManualOutput(_, let duty):
            if !loop.setManualOutput(duty) {
                port.events.tryPush(.commandRejected(command, at: now, reason: .invalidNumber))
            }
        case .clearTrip:
            loop.clearTrip(at: now)
        case .pulseValve:
            break  // handled above
        }
    }

    /// Opens each valve whose pulse is due and closes each whose time is up, reporting each
    /// finished pulse with the instants it actually opened and closed.
    @inline(__always)
    private func driveValves(at now: MonotonicInstant) {
        var index = 0
        while index < valves.count {
            if pulses[index].pending, let openedAt = pulses[index].openedAt {
                if now >= openedAt.adding(nanoseconds: pulses[index].nanoseconds) {
                    closeValve(index, at: now)
                }
            } else if pulses[index].pending && now >= pulses[index].openAt {
                do {
                    try valves[index].open()
                    pulses[index].openedAt = now
                } catch {
                    pulses[index] = ValvePulse()
                    forceValveClosed(index, at: now)
                    port.events.tryPush(.valveFailed(valve: index, at: now, error: error))
                }
            }
            index += 1
        }
    }

    /// The earliest instant a pending pulse opens or a running one closes.
    @inline(__always)
    private func nextValveEdge() -> MonotonicInstant? {
        var earliest: MonotonicInstant?
        var index = 0
        while index < valves.count {
            let pulse = pulses[index]
            if pulse.pending {
                let edge = pulse.openedAt.map { $0.adding(nanoseconds: pulse.nanoseconds) } ?? pulse.openAt
                if earliest == nil || edge < earliest! { earliest = edge }
            }
            index += 1
        }
        return earliest
    }

    private func closeValve(_ index: Int, at now: MonotonicInstant) {
        let pulse = pulses[index]
        pulses[index] = ValvePulse()
        do {
            try valves[index].close()
        } catch {
            port.events.tryPush(.valveFailed(valve: index, at: now, error: error))
            return
        }
        if let openedAt = pulse.openedAt {
            port.events.tryPush(
                .valvePulsed(valve: index, openedAt: openedAt, closedAt: now, requestedNanoseconds: pulse.nanoseconds))
        }
    }

    private func forceValveClosed(_ index: Int, at now: MonotonicInstant) {
        do { try valves[index].close() } catch {
            port.events.tryPush(.valveFailed(valve: index, at: now, error: error))
        }
    }

    private func closeAllValves(at now: MonotonicInstant) {
        var index = 0
        while index < valves.count {
            if pulses[index].pending && pulses[index].openedAt != nil {
                closeValve(index, at: now)
            } else {
                pulses[index] = ValvePulse()
                forceValveClosed(index, at: now)
            }
            index += 1
        }
    }

    /// When the dead-man switch has fired since last looked at: every heat loop gets a
    /// `loopStall` trip (its heater is written off at the next drive, which follows at once) and
    /// every valve closes.
    @inline(__always)
    private func checkDeadMan(at now: MonotonicInstant) {
        guard let deadMan else { return }
        let fires = deadMan.fireCount
        guard fires != handledDeadManFires else { return }
        handledDeadManFires = fires
        port.events.tryPush(.deadManFired(at: now, fireCount: fires))
        closeAllValves(at: now)
        let timeout = Double(deadMan.timeout.totalNanoseconds) / 1e9
        let stalled = lastTickAt.map { now.seconds(since: $0) } ?? 0
        forEachLoop { _, loop in
            loop.trip(
                SafetyTrip(
                    loop: loop.name, check: .loopStall, at: now,
                    numbers: [.init("since_last_tick_s", stalled), .init("dead_man_timeout_s", timeout)]))
        }
    }

    private func publishEvents() {
        forEachLoop { _, loop in
            if loop.hasPendingEvents {
                loop.drainEvents { event in port.events.tryPush(event) }
            }
        }
    }

    /// `body` with each heat loop and its index, in order. A `while` over the indices, not
    /// `for in`: unoptimized, iterating an array goes through `IndexingIterator` and the
    /// collection's `_read` coroutine, whose frame is heap-allocated, and the tick must allocate
    /// nothing in debug builds too (the allocation test runs one).
    @inline(__always)
    private func forEachLoop(_ body: (Int, HeatLoop) -> Void) {
        var index = 0
        while index < loops.count {
            body(index, loops[index])
            index += 1
        }
    }
}

/// One valve's pulse as the loop runs it.
struct ValvePulse {
    var pending = false
    var openAt = MonotonicInstant.zero
    var nanoseconds: Int64 = 0
    /// When the valve actually opened; nil until then.
    var openedAt: MonotonicInstant?
}
