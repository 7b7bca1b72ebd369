import Control
import Synchronization
import Testing
import Transports
import Twin

@Suite("DeadManSwitch")
struct DeadManSwitchTests {
    /// One look: the heartbeat read, at what time (s), and whether the switch must fire then.
    struct Look: Sendable, CustomStringConvertible {
        var heartbeat: UInt64
        var seconds: Double
        var fires: Bool
        init(_ heartbeat: UInt64, _ seconds: Double, _ fires: Bool) {
            self.heartbeat = heartbeat
            self.seconds = seconds
            self.fires = fires
        }
        var description: String { "(\(heartbeat), \(seconds) s, \(fires))" }
    }

    /// Timeout 1 s throughout.
    static let sequences: [(String, [Look])] = [
        (
            "a still heartbeat fires once at the timeout, then stays quiet",
            [Look(0, 0, false), Look(0, 0.5, false), Look(0, 0.999, false), Look(0, 1.0, true), Look(0, 1.5, false), Look(0, 9, false)]
        ),
        (
            "it re-arms when the heartbeat moves, and fires again at the next stall",
            [Look(0, 0, false), Look(0, 1.0, true), Look(1, 1.2, false), Look(1, 2.1, false), Look(1, 2.2, true), Look(1, 5, false)]
        ),
        (
            "a change just before the timeout starts it over",
            [Look(0, 0, false), Look(1, 0.99, false), Look(1, 1.98, false), Look(1, 1.99, true)]
        ),
        (
            "the first look starts the watch: a loop that never ticks is caught",
            [Look(7, 10, false), Look(7, 10.5, false), Look(7, 11, true)]
        ),
        (
            "a heartbeat that moves at every look never fires, however long",
            (0..<200).map { Look(UInt64($0), Double($0) * 0.9, false) }
        ),
        (
            "wrapping around UInt64 is a change like any other",
            [Look(.max, 0, false), Look(0, 0.9, false), Look(0, 1.8, false), Look(0, 1.9, true)]
        ),
    ]

    @Test("DeadManWatch, step by step", arguments: sequences)
    func watchSteps(name: String, looks: [Look]) {
        var watch = DeadManWatch(timeout: .seconds(1))
        let fired = looks.map { watch.step(heartbeat: $0.heartbeat, at: at($0.seconds)) }
        #expect(fired == looks.map(\.fires), "\(name)")
    }

    @Test("the watcher polls on an absolute grid and calls the force-off once, at the first look past the timeout")
    func watcherOnVirtualClock() throws {
        let clock = VirtualClock()
        let sharedClock = UncheckedClock(clock)
        let calls = Mutex<[Double]>([])
        let deadMan = DeadManSwitch(timeout: .seconds(1), pollInterval: .milliseconds(100)) {
            // Called on this same thread, from inside `watch`.
            calls.withLock { $0.append(sharedClock.clock.now().seconds(since: .zero)) }
            return [OutputLineError(line: "twin:heater.reactor", operation: "set", reason: .other)]
        }
        var looks = 0
        // The "loop" beats at the first 10 looks (0 ... 0.9 s), then stalls: the last change is
        // seen at 0.9 s, so the switch fires at the look at 1.9 s, and only then.
        try deadMan.watch(clock: clock) {
            looks += 1
            if looks <= 10 { deadMan.beat() }
            return looks > 40
        }
        let times = calls.withLock { $0 }
        #expect(times.count == 1)
        #expect(abs((times.first ?? 0) - 1.9) < 1e-9)
        #expect(deadMan.fireCount == 1)
        #expect(deadMan.forceOffCount == 1)
        #expect(deadMan.lastForceOffFailures.map(\.line) == ["twin:heater.reactor"])
        #expect(clock.now() == at(4.0))
    }

    @Test("heatersOff writes every heater's line off whatever its bookkeeping, and returns the failures")
    func heatersOff() throws {
        let good = LoopRig(name: "reactor", celsius: 80)
        let bad = LoopRig(name: "syringe", celsius: 40)
        bad.line.failNext = .permissionDenied
        let off = DeadManSwitch.heatersOff([good.heater, bad.heater])
        let failures = off()
        #expect(good.line.levels == [false])
        #expect(failures.map(\.reason) == [.permissionDenied])
        #expect(failures.map(\.line) == ["test:heater"])
    }

    /// Real threads: the loop on its thread blocks inside a sensor read (a bus that hangs); the
    /// watcher on its own thread forces the heater line off while it is blocked. Asserted: the
    /// order of what happened, never how long it took.
    @Test("a loop that stops ticking gets its heater line forced off; on resuming it records loopStall")
    func stalledLoop() throws {
        let log = EventLog()
        let gate = Gate()
        let waitClock = TestMonotonicClock()
        let rig = LoopRig(celsius: 80)
        rig.line.log = { high in log.add(high ? "line on" : "line off") }
        rig.loop.setManualOutput(1)
        rig.sensor.onRead = { count in
            guard count == 5 else { return }
            log.add("loop blocked")
            gate.block()
            log.add("loop resumed")
        }
        let forceOff = DeadManSwitch.heatersOff([rig.heater])
        let deadMan = DeadManSwitch(timeout: .milliseconds(750), pollInterval: .milliseconds(10)) {
            log.add("force off")
            return forceOff()
        }
        let control = ControlLoop(
            loops: [rig.loop], clock: TestMonotonicClock(), period: .milliseconds(2), wakesForHeaterEdges: false,
            deadMan: deadMan)
        let port = control.port
        let watcherStop = Gate()
        let loopThread = TestThread { control.runUntilStopped { false } }
        // The watcher starts once the loop ticks, so only the blocked read can hold it up that long.
        // (Bounded waits throughout: hang guards, not timing assertions.)
        var waited = 0
        while deadMan.heartbeatValue == 0 && waited < 30_000 {
            waitClock.pause(milliseconds: 1)
            waited += 1
        }
        let watcher = TestThread {
            let clock = TestMonotonicClock()
            do { try deadMan.watch(clock: clock) { watcherStop.isOpen } } catch { log.add("watcher failed: \(error)") }
        }
        waited = 0
        while deadMan.forceOffCount == 0 && waited < 30_000 {
            waitClock.pause(milliseconds: 1)
            waited += 1
        }
        let blockedWhenFired = gate.isBlocked
        gate.open()
        waited = 0
        while port.snapshot(0).trip == nil && waited < 30_000 {
            waitClock.pause(milliseconds: 1)
            waited += 1
        }
        port.requestStop()
        loopThread.join()
        watcherStop.open()
        watcher.join()

        #expect(blockedWhenFired)
        #expect(deadMan.fireCount == 1)
        let entries = log.entries
        let blocked = try #require(entries.firstIndex(of: "loop blocked"))
        let forced = try #require(entries.firstIndex(of: "force off"))
        let resumed = try #require(entries.firstIndex(of: "loop resumed"))
        #expect(entries.first == "line on")
        #expect(blocked < forced && forced < resumed, "\(entries)")
        // The dead man's own write comes right after it decides, while the loop is still blocked.
        #expect(entries[forced + 1] == "line off", "\(entries)")
        #expect(forced + 1 < resumed)
        // Never on again once the loop blocked; the resumed loop writes the line off itself.
        #expect(!entries[blocked...].contains("line on"), "\(entries)")
        #expect(entries[resumed...].contains("line off"), "\(entries)")
        let snapshot = port.snapshot(0)
        #expect(snapshot.trip?.check == .loopStall)
        #expect(!snapshot.heaterOn)
        let events = port.takeEvents()
        #expect(events.contains(.deadManFired(at: try #require(snapshot.trip).at, fireCount: 1)))
        #expect(port.failure == nil)
    }

    /// Real threads: a loop ticking every 2 ms for three timeouts never trips the switch; once
    /// the loop has stopped, the same watcher does fire (so it was watching all along).
    @Test("a healthy loop never triggers it; the same watcher fires once the loop stops")
    func healthyLoop() throws {
        let waitClock = TestMonotonicClock()
        let rig = LoopRig(celsius: 80)
        let forced = Gate()
        let deadMan = DeadManSwitch(timeout: .milliseconds(750), pollInterval: .milliseconds(10)) {
            forced.open()
            return []
        }
        let control = ControlLoop(
            loops: [rig.loop], clock: TestMonotonicClock(), period: .milliseconds(2), wakesForHeaterEdges: false,
            deadMan: deadMan)
        let port = control.port
        let watcherStop = Gate()
        let loopThread = TestThread {
            control.runUntilStopped { false }
        }
        var waited = 0
        while deadMan.heartbeatValue == 0 && waited < 30_000 {
            waitClock.pause(milliseconds: 1)
            waited += 1
        }
        let watcher = TestThread {
            try? deadMan.watch(clock: TestMonotonicClock()) { watcherStop.isOpen }
        }
        // Three timeouts, then stop the loop.
        let started = waitClock.now()
        while waitClock.now().seconds(since: started) < 2.25 { waitClock.pause(milliseconds: 5) }
        port.requestStop()
        loopThread.join()
        let firesWhileHealthy = deadMan.fireCount
        let ticks = port.statistics.ticks
        waited = 0
        while !forced.isOpen && waited < 30_000 {
            waitClock.pause(milliseconds: 1)
            waited += 1
        }
        watcherStop.open()
        watcher.join()

        #expect(firesWhileHealthy == 0)
        #expect(ticks > 0)
        #expect(deadMan.heartbeatValue == ticks)
        #expect(forced.isOpen)
        #expect(deadMan.fireCount == 1)
    }
}

/// A clock handed to a `@Sendable` closure that runs on the clock's own thread.
final class UncheckedClock: @unchecked Sendable {
    let clock: any RigClock
    init(_ clock: any RigClock) { self.clock = clock }
}

/// Strings in the order they happened, from any thread.
final class EventLog: Sendable {
    private let storage = Mutex<[String]>([])
    func add(_ entry: String) { storage.withLock { $0.append(entry) } }
    var entries: [String] { storage.withLock { $0 } }
}

/// A one-shot gate: `block()` waits (polling) until `open()`.
final class Gate: Sendable {
    private let opened = Atomic<Bool>(false)
    private let blocked = Atomic<Bool>(false)

    var isOpen: Bool { opened.load(ordering: .acquiring) }
    var isBlocked: Bool { blocked.load(ordering: .acquiring) }

    func open() { opened.store(true, ordering: .releasing) }

    func block() {
        blocked.store(true, ordering: .releasing)
        let clock = TestMonotonicClock()
        while !isOpen { clock.pause(milliseconds: 1) }
        blocked.store(false, ordering: .releasing)
    }
}
