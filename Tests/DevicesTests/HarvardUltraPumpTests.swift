import Devices
import Testing
import Transports
import Twin

/// What the simulator's plunger reported to the plant.
private final class Delivered {
    var total = 0.0
    var calls = 0
}

/// A Harvard driver talking to the simulator over the in-memory line, on a virtual clock.
private struct HarvardBench {
    let clock = VirtualClock()
    let simulator: HarvardUltraPumpSimulator
    let line: SimulatedSerialLine
    let pump: HarvardUltraPump
    let delivered = Delivered()

    /// A 1 mL syringe (4.78 mm bore, BD 1 mL), full.
    static let syringe = Syringe(innerDiameterMillimetres: 4.78, volumeMicrolitres: 1000)

    init(
        model: HarvardUltraPump.Model = .phdUltra, simulatorModel: HarvardUltraPumpSimulator.Model = .phdUltra,
        address: Int = 0, axis: HarvardUltraPump.Axis? = nil, content: Double = 1000, maximumRate: Double = 2000,
        replyTimeout: Double = 1
    ) {
        let delivered = self.delivered
        simulator = HarvardUltraPumpSimulator(
            model: simulatorModel, address: address, clock: clock, syringeCapacityMicrolitres: 1000,
            contentMicrolitres: content, onDelivered: { delivered.total += $0; delivered.calls += 1 })
        line = SimulatedSerialLine(name: "twin:pump.cd", device: simulator, clock: clock)
        pump = HarvardUltraPump(
            name: "pump.cd", line: line, model: model, address: address, axis: axis,
            maximumRateMicrolitresPerMinute: maximumRate, replyTimeoutSeconds: replyTimeout)
    }

    func configured() throws -> HarvardBench {
        try pump.configure(syringe: Self.syringe)
        return self
    }
}

@Suite struct HarvardUltraPumpTests {
    @Test func infusesTheTargetVolumeAndReportsIt() throws {
        let bench = try HarvardBench().configured()
        try bench.pump.infuse(microlitres: 300, rateMicrolitresPerMinute: 600)
        #expect(bench.simulator.commands == [
            "diameter 4.78", "svolume 1000 ul", "diameter", "civolume", "tvolume 300 ul", "irate 600 ul/min", "irun",
        ])
        // The run started when `irun` arrived, one reply latency (5 ms) before the driver returned.
        bench.clock.advance(seconds: 15)
        let moving = try bench.pump.status()
        #expect(moving.state == .infusing)
        // 600 µL/min = 10 µL/s for 15.005 s, shown to 4 decimals.
        #expect(abs(moving.deliveredMicrolitres - 150.05) < 1e-9)

        let done = try bench.pump.waitUntilDone(
            clock: bench.clock, pollIntervalSeconds: 1, deadline: bench.clock.now().adding(seconds: 60))
        #expect(done == PumpStatus(state: .targetReached, deliveredMicrolitres: 300))
        // The plant got exactly the target, and the barrel lost it.
        #expect(abs(bench.delivered.total - 300) < 1e-9)
        #expect(abs(bench.simulator.plunger().contentMicrolitres - 700) < 1e-9)
    }

    @Test func withdrawsIntoTheSyringe() throws {
        let bench = try HarvardBench(content: 0).configured()
        try bench.pump.withdraw(microlitres: 40, rateMicrolitresPerMinute: 120)
        #expect(bench.simulator.commands.suffix(4) == ["cwvolume", "tvolume 40 ul", "wrate 120 ul/min", "wrun"])
        bench.clock.advance(seconds: 10)
        let moving = try bench.pump.status()
        #expect(moving.state == .withdrawing)
        #expect(abs(moving.deliveredMicrolitres - 20.01) < 1e-9)  // 2 µL/s for 10.005 s
        bench.clock.advance(seconds: 20)
        #expect(try bench.pump.status() == PumpStatus(state: .targetReached, deliveredMicrolitres: 40))
        #expect(bench.simulator.commands.last == "wvolume")
        #expect(abs(bench.delivered.total + 40) < 1e-9)
    }

    @Test(
        "daisy-chain address and 33 DDS axis on the wire",
        arguments: [
            (HarvardUltraPump.Model.pump11Elite, HarvardUltraPumpSimulator.Model.pump11Elite, 12, HarvardUltraPump.Axis?.none,
             ["12:diameter 4.78", "12:svolume 1000 ul", "12:diameter", "12:civolume", "12:tvolume 100 ul",
              "12:irate 500 ul/min", "12:irun", "12:ivolume"]),
            (.pump33DDS, .pump33DDS, 3, .b,
             ["3:diameter b 4.78", "3:svolume b 1000 ul", "3:diameter b", "3:civolume b", "3:tvolume b 100 ul",
              "3:irate b 500 ul/min", "3:irun b", "3:ivolume b"]),
            (.pump33DDS, .pump33DDS, 0, .a,
             ["diameter a 4.78", "svolume a 1000 ul", "diameter a", "civolume a", "tvolume a 100 ul",
              "irate a 500 ul/min", "irun a", "ivolume a"]),
        ])
    func addressedCommands(
        model: HarvardUltraPump.Model, simulatorModel: HarvardUltraPumpSimulator.Model, address: Int,
        axis: HarvardUltraPump.Axis?, expected: [String]
    ) throws {
        let bench = try HarvardBench(model: model, simulatorModel: simulatorModel, address: address, axis: axis)
            .configured()
        try bench.pump.infuse(microlitres: 100, rateMicrolitresPerMinute: 500)
        #expect(try bench.pump.status().state == .infusing)
        #expect(bench.simulator.commands == expected)
        // On a DDS only the named axis moves.
        if let axis {
            let named: HarvardUltraPumpSimulator.Axis = axis == .a ? .a : .b
            let other: HarvardUltraPumpSimulator.Axis = axis == .a ? .b : .a
            #expect(bench.simulator.plunger(named).motion == .infusing)
            #expect(bench.simulator.plunger(other).motion == .stopped)
        }
    }

    @Test func anotherAddressGetsNoAnswer() throws {
        // The driver talks to address 4; the only pump on the line is at 5: silence, a timeout.
        let clock = VirtualClock()
        let simulator = HarvardUltraPumpSimulator(
            model: .phdUltra, address: 5, clock: clock, syringeCapacityMicrolitres: 1000, contentMicrolitres: 0)
        let line = SimulatedSerialLine(name: "twin:chain", device: simulator, clock: clock)
        let pump = HarvardUltraPump(
            name: "pump.oa", line: line, model: .phdUltra, address: 4, maximumRateMicrolitresPerMinute: 1000,
            replyTimeoutSeconds: 0.5)
        let error = #expect(throws: PumpError.self) { try pump.stop() }
        guard case .transport(let serial)? = error?.reason else {
            Issue.record("expected a transport timeout, got \(String(describing: error))")
            return
        }
        #expect(serial.reason == .timeout)
        #expect(clock.now() == MonotonicInstant.zero.adding(seconds: 0.5))
    }

    @Test func stallShowsAsStarAndEndsTheWait() throws {
        let bench = try HarvardBench().configured()
        bench.simulator.stallAfter(microlitres: 50)
        try bench.pump.infuse(microlitres: 300, rateMicrolitresPerMinute: 600)
        let error = #expect(throws: PumpError.self) {
            try bench.pump.waitUntilDone(
                clock: bench.clock, pollIntervalSeconds: 0.5, deadline: bench.clock.now().adding(seconds: 60))
        }
        #expect(error?.reason == .stalled)
        #expect(try bench.pump.status() == PumpStatus(state: .stalled, deliveredMicrolitres: 50))
        #expect(abs(bench.delivered.total - 50) < 1e-9)
        // A stalled pump refuses to run until the keypad clears it.
        let again = #expect(throws: PumpError.self) {
            try bench.pump.infuse(microlitres: 10, rateMicrolitresPerMinute: 100)
        }
        #expect(again?.reason == .stalled)
        #expect(again?.reply == "*")
        bench.simulator.clearStallAtKeypad()
        bench.simulator.stallAfter(microlitres: nil)
        try bench.pump.infuse(microlitres: 10, rateMicrolitresPerMinute: 100)
        #expect(try bench.pump.status().state == .infusing)
    }

    @Test func runningTheSyringeEmptyStalls() throws {
        let bench = try HarvardBench(content: 100).configured()
        try bench.pump.infuse(microlitres: 300, rateMicrolitresPerMinute: 600)
        bench.clock.advance(seconds: 60)
        #expect(try bench.pump.status() == PumpStatus(state: .stalled, deliveredMicrolitres: 100))
    }

    @Test func requestsOutsideTheSyringeOrPumpAreRefusedBeforeSending() throws {
        let bench = try HarvardBench().configured()
        let sent = bench.simulator.commands.count
        let volume = #expect(throws: PumpError.self) {
            try bench.pump.infuse(microlitres: 1200, rateMicrolitresPerMinute: 100)
        }
        #expect(volume?.description == "pump.cd (PHD Ultra, twin:pump.cd): \"irun\" refused: volume 1200 µL is out of range: allowed more than 0 up to 1000 µL (the 1000 µL syringe, 4.78 mm bore)")
        let rate = #expect(throws: PumpError.self) {
            try bench.pump.withdraw(microlitres: 100, rateMicrolitresPerMinute: 2500)
        }
        #expect(rate?.description == "pump.cd (PHD Ultra, twin:pump.cd): \"wrun\" refused: rate 2500 µL/min is out of range: allowed more than 0 up to 2000 µL/min (the pump's max_rate_ul_min)")
        #expect(bench.simulator.commands.count == sent)

        let unconfigured = HarvardBench()
        #expect(throws: PumpError(
            pump: "pump.cd (PHD Ultra, twin:pump.cd)", command: "irun", reply: nil, reason: .notConfigured)
        ) { try unconfigured.pump.infuse(microlitres: 1, rateMicrolitresPerMinute: 1) }
    }

    @Test func outOfRangeFromThePumpIsRejectedWithItsReply() throws {
        // The board allows more than the pump can: 150 mm/min on a 4.78 mm bore is 2691.8 µL/min.
        let bench = try HarvardBench(maximumRate: 5000).configured()
        let error = #expect(throws: PumpError.self) {
            try bench.pump.infuse(microlitres: 100, rateMicrolitresPerMinute: 3000)
        }
        #expect(error == PumpError(
            pump: "pump.cd (PHD Ultra, twin:pump.cd)", command: "irate 3000 ul/min", reply: "Out of range",
            reason: .rejected))
        #expect(bench.simulator.plunger().motion == .stopped)
    }

    @Test func silenceTimesOutAtTheDeadline() throws {
        let bench = try HarvardBench(replyTimeout: 0.75).configured()
        bench.simulator.replies.isSilent = true
        let before = bench.clock.now()
        let error = #expect(throws: PumpError.self) { try bench.pump.status() }
        #expect(bench.clock.now() == before.adding(seconds: 0.75))
        #expect(error?.description == "pump.cd (PHD Ultra, twin:pump.cd): \"ivolume\" failed: twin:pump.cd: read line failed: timeout awaiting the prompt after \"ivolume\"")
    }

    @Test func aGarbledPromptIsAnUnexpectedReplyAndTheNextCommandRecovers() throws {
        let bench = try HarvardBench(replyTimeout: 0.5).configured()
        bench.simulator.garbleNextPrompts = 1
        let error = #expect(throws: PumpError.self) { try bench.pump.status() }
        #expect(error == PumpError(
            pump: "pump.cd (PHD Ultra, twin:pump.cd)", command: "ivolume", reply: "\\xBA", reason: .unexpectedReply))
        #expect(try bench.pump.status() == PumpStatus(state: .idle, deliveredMicrolitres: 0))
    }

    @Test(arguments: [1, 2, 3, 7])
    func splitRepliesComeOutWhole(chunk: Int) throws {
        let bench = try HarvardBench().configured()
        try bench.pump.infuse(microlitres: 300, rateMicrolitresPerMinute: 600)
        bench.clock.advance(seconds: 6)
        bench.simulator.replies.splitChunkBytes = chunk
        let reads = bench.line.readsWithData
        let status = try bench.pump.status()
        // "\r\n60.05 ul\r\n>" (10 µL/s for 6.005 s) arrives in pieces, one read each.
        #expect(status == PumpStatus(state: .infusing, deliveredMicrolitres: 60.05))
        let replyLength = 2 + "60.05 ul".utf8.count + 2 + 1
        #expect(bench.line.readsWithData - reads == (replyLength + chunk - 1) / chunk)
    }

    @Test func slowRepliesWithinTheDeadlineAreFine() throws {
        let bench = try HarvardBench(replyTimeout: 1).configured()
        bench.simulator.replies.latencySeconds = 0.9
        #expect(try bench.pump.status().state == .idle)
        bench.simulator.replies.latencySeconds = 1.1
        #expect(throws: PumpError.self) { try bench.pump.status() }
    }

    @Test(
        "prompts",
        arguments: [
            (":", nil as Int?, PumpState.idle as PumpState?), (">", nil, .infusing), ("<", nil, .withdrawing),
            ("*", nil, .stalled), ("T*", nil, .targetReached), ("03>", 3, .infusing), ("12T*", 12, .targetReached),
            ("7:", 7, .idle), ("0", nil, nil), ("03T", nil, nil), ("x:", nil, nil), ("123:", nil, nil),
            (":>", nil, nil), ("", nil, nil),
        ])
    func prompt(text: String, address: Int?, state: PumpState?) {
        let parsed = HarvardUltraPump.parsePrompt(Array(text.utf8))
        #expect(parsed?.state == state)
        if state != nil { #expect(parsed?.address == address) }
    }

    @Test func errorLinesRejectTheCommand() throws {
        // A diameter the pump does not take (over 50 mm) comes back as "Out of range".
        let bench = HarvardBench()
        let error = #expect(throws: PumpError.self) {
            try bench.pump.configure(syringe: Syringe(innerDiameterMillimetres: 60, volumeMicrolitres: 50_000))
        }
        #expect(error?.reason == .rejected)
        #expect(error?.reply == "Out of range")
        #expect(bench.pump.syringe == nil)
    }
}
