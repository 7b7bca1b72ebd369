import Control
import Devices
import Testing
import Transports
import Twin

/// The loop on the twin's virtual clock: synchronous, deterministic, every instant exact.
@Suite("ControlLoop on the virtual clock")
struct ControlLoopTests {
    /// Records the virtual instant of every sensor read (one per tick).
    static func tickTimes(_ rig: LoopRig, _ clock: VirtualClock) -> () -> [Double] {
        var times: [Double] = []
        let previous = rig.sensor.onRead
        rig.sensor.onRead = { count in
            times.append(clock.now().seconds(since: .zero))
            previous?(count)
        }
        return { times }
    }

    @Test("ticks on the absolute grid start + k·period; the run ends exactly at its end")
    func absoluteGrid() throws {
        let clock = VirtualClock(start: at(2))
        let rig = LoopRig(celsius: 80)
        let times = Self.tickTimes(rig, clock)
        let loop = ControlLoop(loops: [rig.loop], clock: clock, period: .milliseconds(100), wakesForHeaterEdges: false)
        try loop.run(forSeconds: 1)
        let expected = (0..<10).map { 2 + Double($0) / 10 }
        #expect(times().count == 10)
        #expect(zip(times(), expected).allSatisfy { abs($0 - $1) < 1e-9 })
        #expect(clock.now() == at(3))
        let statistics = loop.port.statistics
        #expect(statistics.ticks == 10)
        #expect(statistics.missedDeadlines == 0)
        #expect(statistics.maxLatenessNanoseconds == 0)
        #expect(loop.port.snapshot(0).ticks == 10)
        #expect(loop.port.snapshot(0).at == at(2.9))
    }

    /// The tick at 0.3 s takes 0.25 s (the read advances the virtual clock). Deadline 0.4 has
    /// passed and is skipped (counted); the next tick runs at once for deadline 0.5, at 0.55; then
    /// the grid goes on at 0.6, 0.7 ... with no burst of catch-up ticks.
    @Test("a missed deadline is counted and skipped, not bunched")
    func missedDeadline() throws {
        let clock = VirtualClock()
        let rig = LoopRig(celsius: 80)
        rig.sensor.onRead = { count in
            if count == 4 { clock.advance(seconds: 0.25) }
        }
        let times = Self.tickTimes(rig, clock)
        let loop = ControlLoop(loops: [rig.loop], clock: clock, period: .milliseconds(100), wakesForHeaterEdges: false)
        try loop.run(forSeconds: 1)
        let expected = [0, 0.1, 0.2, 0.3, 0.55, 0.6, 0.7, 0.8, 0.9]
        #expect(times().count == expected.count)
        #expect(zip(times(), expected).allSatisfy { abs($0 - $1) < 1e-9 })
        #expect(loop.port.statistics.missedDeadlines == 1)
        #expect(loop.port.statistics.maxLatenessNanoseconds == 150_000_000)
        #expect(loop.port.takeEvents() == [.deadlinesMissed(at: at(0.55), count: 1)])
    }

    /// Duty 0.43 in a 1 s window with a 250 ms period. Waking at the window edges switches the
    /// line off at 0.43 s of each window (on-time 4 × 0.43 s over 4 s); without them the line can
    /// only switch at ticks, so it goes off at 0.5 s (4 × 0.5 s).
    @Test(
        "heater window edges: with edge wakeups the delivered duty is exact, without it is rounded to ticks",
        arguments: [(true, 0.43), (false, 0.5)])
    func windowEdges(wakes: Bool, expectedFraction: Double) throws {
        let clock = VirtualClock()
        let line = RecordingLine()
        var switches: [(Double, Bool)] = []
        line.log = { level in switches.append((clock.now().seconds(since: .zero), level)) }
        let rig = LoopRig(celsius: 80, line: line)
        rig.loop.setManualOutput(0.43)
        let loop = ControlLoop(loops: [rig.loop], clock: clock, period: .milliseconds(250), wakesForHeaterEdges: wakes)
        try loop.run(forSeconds: 4)
        // On-time from the level changes; the run's end writes the line off at 4 s.
        var onSeconds = 0.0
        var onSince: Double?
        for (time, level) in switches {
            if level, onSince == nil { onSince = time }
            if !level, let since = onSince {
                onSeconds += time - since
                onSince = nil
            }
        }
        #expect(abs(onSeconds - 4 * expectedFraction) < 1e-6)
        let offTimes = switches.filter { !$0.1 }.map(\.0).prefix(4)
        let expectedOff = (0..<4).map { Double($0) + expectedFraction }
        #expect(zip(offTimes, expectedOff).allSatisfy { abs($0 - $1) < 1e-6 })
        #expect(loop.port.statistics.ticks == 16)
    }

    @Test("commands are applied before the tick; bad ones are rejected with an event")
    func commands() throws {
        let clock = VirtualClock()
        let rig = LoopRig(celsius: 80)
        let loop = ControlLoop(loops: [rig.loop], clock: clock, period: .milliseconds(100))
        let port = loop.port
        #expect(port.index(of: "reactor") == 0)
        #expect(port.index(of: "syringe") == nil)
        #expect(!port.setSetpoint(90, loop: "syringe"))
        #expect(port.setSetpoint(100, loop: "reactor"))
        #expect(port.send(.setSetpoint(loop: 3, celsius: 50)))
        #expect(port.send(.setSetpoint(loop: 0, celsius: .nan)))
        #expect(port.send(.setManualOutput(loop: 0, duty: .nan)))
        #expect(port.send(.announceInjection(loop: 0, feedForward: 0.2, seconds: -1)))
        loop.tick(at: clock.now())
        let snapshot = port.snapshot(0)
        #expect(snapshot.setpoint == 100)
        #expect(abs(snapshot.duty - 0.4) < 1e-12)
        #expect(snapshot.heaterOn)
        // (A NaN is never equal to itself, so the rejected commands are compared by loop and reason.)
        let rejections = port.takeEvents().map { event -> String in
            guard case .commandRejected(let command, let time, let reason) = event else { return "\(event)" }
            return "\(command.loop) \(reason) at \(time.nanoseconds)"
        }
        #expect(
            rejections == [
                "3 noSuchLoop at 0", "0 setpointOutOfRange at 0", "0 invalidNumber at 0", "0 invalidNumber at 0",
            ])
    }

    @Test("a full command ring refuses and counts, and nothing queued is lost")
    func commandRingFull() throws {
        let rig = LoopRig(celsius: 80)
        let loop = ControlLoop(loops: [rig.loop], clock: VirtualClock(), period: .milliseconds(100), commandCapacity: 2)
        #expect(loop.port.send(.setSetpoint(loop: 0, celsius: 50)))
        #expect(loop.port.send(.setSetpoint(loop: 0, celsius: 60)))
        #expect(!loop.port.send(.setSetpoint(loop: 0, celsius: 70)))
        #expect(loop.port.statistics.refusedCommands == 1)
        loop.tick(at: .zero)
        #expect(loop.port.snapshot(0).setpoint == 60)
    }

    @Test("the run ends in the safe state: every heater written off")
    func safeStateOnExit() throws {
        let clock = VirtualClock()
        let reactor = LoopRig(name: "reactor", celsius: 80)
        let syringe = LoopRig(name: "syringe", celsius: 40)
        reactor.loop.setManualOutput(1)
        syringe.loop.setManualOutput(1)
        let loop = ControlLoop(loops: [reactor.loop, syringe.loop], clock: clock, period: .milliseconds(100))
        try loop.run(forSeconds: 0.5)
        #expect(reactor.line.levels == [true, false])
        #expect(syringe.line.levels == [true, false])
        #expect(!loop.port.snapshot(0).heaterOn)
        #expect(!loop.port.snapshot(1).heaterOn)
        #expect(loop.port.snapshot(1).loop == "syringe")

        // Asked not to, the run leaves the heaters as they are (on again from the next window).
        try loop.run(forSeconds: 1, safeStateOnExit: false)
        #expect(reactor.line.levels.last == true)
    }

    @Test("a stop request is honoured at the next wakeup")
    func stopRequest() throws {
        let clock = VirtualClock()
        let rig = LoopRig(celsius: 80)
        let loop = ControlLoop(loops: [rig.loop], clock: clock, period: .milliseconds(100))
        let port = loop.port
        rig.sensor.onRead = { count in if count == 5 { port.requestStop() } }
        try loop.run()
        #expect(port.statistics.ticks == 5)
        #expect(clock.now() == at(0.5))
    }

    @Test("stopWhen: run until a condition on the loop's own state")
    func stopWhen() throws {
        let clock = VirtualClock()
        let rig = LoopRig(celsius: 80)
        let loop = ControlLoop(loops: [rig.loop], clock: clock, period: .milliseconds(100), wakesForHeaterEdges: false)
        try loop.run(stopWhen: { loop.port.snapshot(0).ticks >= 7 })
        #expect(loop.port.statistics.ticks == 7)
    }

    /// Single-threaded and deterministic: the loop ticks, then the watcher runs on the same
    /// virtual clock with no ticks (a stalled loop), fires once, then the loop resumes and sees it.
    @Test("the dead-man flag: the resumed loop records loopStall trips and keeps the heaters off")
    func deadManFlag() throws {
        let clock = VirtualClock()
        let reactor = LoopRig(name: "reactor", celsius: 80)
        let syringe = LoopRig(name: "syringe", celsius: 40)
        reactor.loop.setManualOutput(1)
        syringe.loop.setManualOutput(1)
        let deadMan = DeadManSwitch(
            timeout: .seconds(1), pollInterval: .milliseconds(100),
            forceOff: DeadManSwitch.heatersOff([reactor.heater, syringe.heater]))
        let loop = ControlLoop(
            loops: [reactor.loop, syringe.loop], clock: clock, period: .milliseconds(100), deadMan: deadMan)
        try loop.run(forSeconds: 0.5, safeStateOnExit: false)
        #expect(deadMan.heartbeatValue == 5)
        #expect(reactor.line.levels == [true])

        var polls = 0
        try deadMan.watch(clock: clock, until: { polls += 1; return polls > 20 })
        // The watch started at 0.5 s and fired at its first look 1 s later.
        #expect(deadMan.fireCount == 1)
        #expect(deadMan.forceOffCount == 1)
        #expect(deadMan.lastForceOffFailures.isEmpty)
        #expect(reactor.line.levels == [true, false])
        #expect(syringe.line.levels == [true, false])

        let resumedAt = clock.now()
        try loop.run(forSeconds: 0.3, safeStateOnExit: false)
        let trip = try #require(loop.port.snapshot(0).trip)
        #expect(trip.check == .loopStall)
        #expect(trip.at == resumedAt)
        #expect(trip.number("dead_man_timeout_s") == 1)
        #expect(abs((trip.number("since_last_tick_s") ?? 0) - resumedAt.seconds(since: at(0.4))) < 1e-9)
        #expect(loop.port.snapshot(1).trip?.check == .loopStall)
        // Written off again by the loop itself, and never on after.
        #expect(reactor.line.levels == [true, false, false])
        let events = loop.port.takeEvents()
        #expect(events.first == .deadManFired(at: resumedAt, fireCount: 1))
        #expect(events.contains(.tripped(trip)))
        #expect(deadMan.heartbeatValue == 8)
    }
}
