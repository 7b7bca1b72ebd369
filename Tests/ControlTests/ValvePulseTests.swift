import Control
import Devices
import Testing
import Transports
import Twin

/// Sampling pulses run by the control loop at absolute deadlines, between its ticks.
@Suite("Valve pulses in the control loop")
struct ValvePulseTests {
    /// A valve on a twin line that records the virtual instant of every level change.
    final class RecordedValve {
        let line: SimulatedOutputLine
        let valve: SolenoidValve
        private(set) var changes: [(seconds: Double, open: Bool)] = []

        init(id: String, clock: VirtualClock) {
            line = SimulatedOutputLine(name: "twin:\(id)", initialLevel: false)
            valve = SolenoidValve(output: SwitchedOutput(id: id, line: line, activeHigh: true))
            line.onChange = { [unowned self] level in
                changes.append((clock.now().seconds(since: .zero), level))
            }
        }
    }

    /// A pulse ordered for an instant between ticks (0.1 s period) opens exactly then and closes
    /// exactly its length later: the loop wakes for both edges, not at the next tick.
    @Test("a pulse opens at its deadline and lasts its length, between ticks", arguments: [
        (openAt: 1.234, milliseconds: 85),
        (openAt: 2.0, milliseconds: 1000),
        (openAt: 0.55, milliseconds: 7),
    ])
    func pulseAtDeadline(openAt: Double, milliseconds: Int) throws {
        let clock = VirtualClock()
        let rig = LoopRig(celsius: 80)
        let sample = RecordedValve(id: "valve.sample", clock: clock)
        let loop = ControlLoop(loops: [rig.loop], valves: [sample.valve], clock: clock, period: .milliseconds(100))
        #expect(loop.port.pulseValve("valve.sample", openAt: at(openAt), duration: .milliseconds(milliseconds)))
        try loop.run(forSeconds: openAt + 2)
        let close = openAt + Double(milliseconds) / 1000
        #expect(sample.changes.count == 2)
        #expect(abs(sample.changes[0].seconds - openAt) < 1e-9 && sample.changes[0].open)
        #expect(abs(sample.changes[1].seconds - close) < 1e-9 && !sample.changes[1].open)
        let events = loop.port.takeEvents()
        #expect(
            events == [
                .valvePulsed(
                    valve: 0, openedAt: at(openAt), closedAt: at(close),
                    requestedNanoseconds: Int64(milliseconds) * 1_000_000)
            ])
    }

    @Test("two valves pulse independently; a new pulse for a pending valve replaces it")
    func twoValves() throws {
        let clock = VirtualClock()
        let rig = LoopRig(celsius: 80)
        let sample = RecordedValve(id: "valve.sample", clock: clock)
        let pressurize = RecordedValve(id: "valve.pressurize", clock: clock)
        let loop = ControlLoop(
            loops: [rig.loop], valves: [sample.valve, pressurize.valve], clock: clock, period: .milliseconds(100))
        loop.port.pulseValve("valve.pressurize", openAt: at(0.5), duration: .milliseconds(600))
        loop.port.pulseValve("valve.sample", openAt: at(3), duration: .milliseconds(50))
        loop.port.pulseValve("valve.sample", openAt: at(0.8), duration: .milliseconds(40))
        try loop.run(forSeconds: 4)
        #expect(pressurize.changes.map(\.seconds) == [0.5, 1.1].map { at($0).seconds(since: .zero) })
        #expect(sample.changes.count == 2)
        #expect(abs(sample.changes[0].seconds - 0.8) < 1e-9)
        #expect(abs(sample.changes[1].seconds - 0.84) < 1e-9)
        let pulses = loop.port.takeEvents().compactMap { event -> Int? in
            if case .valvePulsed(let valve, _, _, _) = event { valve } else { nil }
        }
        #expect(pulses == [1, 0] || pulses == [0, 1])
    }

    @Test("a run that ends mid-pulse closes the valve and reports the time it was open")
    func safeStateMidPulse() throws {
        let clock = VirtualClock()
        let rig = LoopRig(celsius: 80)
        let sample = RecordedValve(id: "valve.sample", clock: clock)
        let loop = ControlLoop(loops: [rig.loop], valves: [sample.valve], clock: clock, period: .milliseconds(100))
        loop.port.pulseValve("valve.sample", openAt: at(0.2), duration: .seconds(5))
        try loop.run(forSeconds: 1)
        #expect(!sample.valve.isOpen)
        #expect(sample.changes.map(\.open) == [true, false])
        #expect(
            loop.port.takeEvents() == [
                .valvePulsed(valve: 0, openedAt: at(0.2), closedAt: at(1), requestedNanoseconds: 5_000_000_000)
            ])
    }

    @Test("unknown valves and empty pulses are rejected; a failed open is reported and the valve forced closed")
    func rejections() throws {
        let clock = VirtualClock()
        let rig = LoopRig(celsius: 80)
        let sample = RecordedValve(id: "valve.sample", clock: clock)
        let loop = ControlLoop(loops: [rig.loop], valves: [sample.valve], clock: clock, period: .milliseconds(100))
        #expect(!loop.port.pulseValve("valve.nothing", openAt: at(0.1), duration: .milliseconds(10)))
        let badIndex = ControlCommand.pulseValve(valve: 3, openAt: at(0.1), nanoseconds: 1000)
        let empty = ControlCommand.pulseValve(valve: 0, openAt: at(0.1), nanoseconds: 0)
        loop.port.send(badIndex)
        loop.port.send(empty)
        try loop.run(forSeconds: 0.05, safeStateOnExit: false)
        #expect(
            loop.port.takeEvents() == [
                .commandRejected(badIndex, at: at(0), reason: .noSuchValve),
                .commandRejected(empty, at: at(0), reason: .invalidNumber),
            ])
        sample.line.failNextSet = .permissionDenied
        loop.port.pulseValve("valve.sample", openAt: at(0.3), duration: .milliseconds(10))
        try loop.run(forSeconds: 1)
        let events = loop.port.takeEvents()
        #expect(events.count == 1)
        if case .valveFailed(let valve, let when, let error) = events.first {
            #expect(valve == 0 && when == at(0.3) && error.reason == .permissionDenied)
        } else {
            Issue.record("expected valveFailed, got \(events)")
        }
        #expect(!sample.valve.isOpen)
    }
}
