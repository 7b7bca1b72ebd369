import Devices
import Testing
import Transports
import Twin

private final class Moved {
    var total = 0.0
}

/// A Chemyx driver talking to the simulator over the in-memory line, on a virtual clock.
private struct ChemyxBench {
    let clock = VirtualClock()
    let simulator: ChemyxFusionPumpSimulator
    let line: SimulatedSerialLine
    let pump: ChemyxFusionPump
    let moved = Moved()

    /// A 1 mL glass syringe, 4.61 mm bore.
    static let syringe = Syringe(innerDiameterMillimetres: 4.61, volumeMicrolitres: 1000)

    init(
        channel: Int? = nil, content: Double = 1000, maximumRate: Double = 2000, replyTimeout: Double = 2,
        latency: Double = 0.05
    ) {
        let moved = self.moved
        simulator = ChemyxFusionPumpSimulator(
            clock: clock, channels: channel == nil ? 1 : 2, syringeCapacityMicrolitres: 1000,
            contentMicrolitres: content, replyLatencySeconds: latency, onDelivered: { moved.total += $0 })
        line = SimulatedSerialLine(name: "twin:pump.se", device: simulator, clock: clock)
        pump = ChemyxFusionPump(
            name: "pump.se", line: line, channel: channel, maximumRateMicrolitresPerMinute: maximumRate,
            replyTimeoutSeconds: replyTimeout)
    }

    func configured() throws -> ChemyxBench {
        try pump.configure(syringe: Self.syringe)
        return self
    }

    var label: String { "pump.se (Chemyx Fusion 4000, twin:pump.se)" }
}

@Suite struct ChemyxFusionPumpTests {
    @Test func infusesTheTargetVolume() throws {
        let bench = try ChemyxBench().configured()
        try bench.pump.infuse(microlitres: 300, rateMicrolitresPerMinute: 600)
        #expect(bench.simulator.commands == [
            "set units 2", "set diameter 4.61", "set rate 600", "set volume 300", "start", "pump status",
        ])
        // `start` ran as it arrived; `pump status` 0.05 s later (the pump's latency) read back 1.
        bench.clock.advance(seconds: 10)
        let moving = try bench.pump.status()
        #expect(moving.state == .infusing)
        // 10 µL/s from `start` to `dispensed volume`: the 10 s plus two latencies (the `pump
        // status` after `start`, and the status query's own): 10.1 s.
        #expect(abs(moving.deliveredMicrolitres - 101) < 1e-9)
        let done = try bench.pump.waitUntilDone(
            clock: bench.clock, pollIntervalSeconds: 1, deadline: bench.clock.now().adding(seconds: 60))
        #expect(done == PumpStatus(state: .targetReached, deliveredMicrolitres: 300))
        #expect(abs(bench.moved.total - 300) < 1e-9)
        #expect(abs(bench.simulator.plunger.contentMicrolitres - 700) < 1e-9)
    }

    @Test func withdrawsWithANegativeVolume() throws {
        let bench = try ChemyxBench(content: 0).configured()
        try bench.pump.withdraw(microlitres: 40, rateMicrolitresPerMinute: 120)
        #expect(bench.simulator.commands.suffix(4) == ["set rate 120", "set volume -40", "start", "pump status"])
        #expect(try bench.pump.status().state == .withdrawing)
        bench.clock.advance(seconds: 30)
        #expect(try bench.pump.status() == PumpStatus(state: .targetReached, deliveredMicrolitres: 40))
        #expect(abs(bench.moved.total + 40) < 1e-9)
    }

    @Test func aDualChannelUnitTakesTheChannelFirst() throws {
        let bench = try ChemyxBench(channel: 2).configured()
        try bench.pump.infuse(microlitres: 10, rateMicrolitresPerMinute: 100)
        #expect(bench.simulator.commands == [
            "2 set units 2", "2 set diameter 4.61", "2 set rate 100", "2 set volume 10", "2 start", "2 pump status",
        ])
    }

    @Test func aClampedEchoMeansOutOfLimits() throws {
        // The board allows more than the pump: 150 mm/min on a 4.61 mm bore, to the pump's 4 decimals.
        let bench = try ChemyxBench(maximumRate: 5000).configured()
        let limit = ((150 * Double.pi * 4.61 * 4.61 / 4) * 10_000).rounded() / 10_000
        let error = #expect(throws: PumpError.self) {
            try bench.pump.infuse(microlitres: 100, rateMicrolitresPerMinute: 4000)
        }
        #expect(error?.reason == .notAccepted(sent: 4000, stored: limit))
        #expect(error?.command == "set rate 4000")
        #expect(!bench.simulator.commands.contains("start"))
        #expect(error?.description.hasPrefix(
            "\(bench.label): \"set rate 4000\" was not accepted: sent 4000, the pump stored 2503.") == true)
    }

    @Test func requestsOutsideTheSyringeAreRefusedBeforeSending() throws {
        let bench = try ChemyxBench().configured()
        let sent = bench.simulator.commands.count
        let error = #expect(throws: PumpError.self) {
            try bench.pump.infuse(microlitres: 0, rateMicrolitresPerMinute: 100)
        }
        #expect(error?.description == "\(bench.label): \"start\" refused: volume 0 µL is out of range: allowed more than 0 up to 1000 µL (the 1000 µL syringe, 4.61 mm bore)")
        #expect(bench.simulator.commands.count == sent)
    }

    @Test func firmwareThatEchoesCommandsWorksTheSame() throws {
        let bench = ChemyxBench()
        bench.simulator.echoesCommands = true
        try bench.pump.configure(syringe: ChemyxBench.syringe)
        try bench.pump.infuse(microlitres: 50, rateMicrolitresPerMinute: 300)
        bench.clock.advance(seconds: 20)
        #expect(try bench.pump.status() == PumpStatus(state: .targetReached, deliveredMicrolitres: 50))
    }

    @Test func stallIsStatusFour() throws {
        let bench = try ChemyxBench().configured()
        bench.simulator.stallAfter(microlitres: 25)
        try bench.pump.infuse(microlitres: 300, rateMicrolitresPerMinute: 600)
        let error = #expect(throws: PumpError.self) {
            try bench.pump.waitUntilDone(
                clock: bench.clock, pollIntervalSeconds: 0.5, deadline: bench.clock.now().adding(seconds: 60))
        }
        #expect(error?.reason == .stalled)
        #expect(try bench.pump.status() == PumpStatus(state: .stalled, deliveredMicrolitres: 25))
        // Stopping a stalled pump is fine; it stays stalled.
        try bench.pump.stop()
        #expect(try bench.pump.status().state == .stalled)
    }

    @Test func stopEndsTheRunShortOfItsTarget() throws {
        let bench = try ChemyxBench().configured()
        try bench.pump.infuse(microlitres: 300, rateMicrolitresPerMinute: 600)
        bench.clock.advance(seconds: 5)
        try bench.pump.stop()
        let stopped = try bench.pump.status()
        #expect(stopped.state == .idle)
        // `stop` landed 5.05 s after `start` (one latency, then the 5 s): 50.5 µL at 10 µL/s.
        #expect(abs(stopped.deliveredMicrolitres - 50.5) < 1e-9)
        #expect(abs(bench.moved.total - 50.5) < 1e-9)
    }

    @Test func silenceTimesOut() throws {
        let bench = try ChemyxBench(replyTimeout: 0.5).configured()
        bench.simulator.replies.isSilent = true
        let before = bench.clock.now()
        let error = #expect(throws: PumpError.self) { try bench.pump.status() }
        #expect(bench.clock.now() == before.adding(seconds: 0.5))
        #expect(error?.description == "\(bench.label): \"pump status\" failed: twin:pump.se: read line failed: timeout awaiting a status code after \"pump status\"")
    }

    @Test func aSlowPumpWithinTheDeadlineIsFine() throws {
        // Field drivers sleep 0.4-0.5 s; here the reply is read the moment it lands.
        let bench = try ChemyxBench(replyTimeout: 1, latency: 0.45).configured()
        let before = bench.clock.now()
        #expect(try bench.pump.status() == PumpStatus(state: .idle, deliveredMicrolitres: 0))
        #expect(bench.clock.now() == before.adding(seconds: 0.9))
    }

    @Test func aGarbledReplyIsUnexpected() throws {
        let bench = try ChemyxBench().configured()
        bench.simulator.garbleNextReplies = 1
        let error = #expect(throws: PumpError.self) { try bench.pump.status() }
        #expect(error?.reason == .unexpectedReply)
        #expect(error?.reply == "\\xB0")
        #expect(try bench.pump.status().state == .idle)
    }

    @Test(arguments: [1, 2, 5])
    func splitRepliesComeOutWhole(chunk: Int) throws {
        let bench = try ChemyxBench().configured()
        bench.simulator.replies.splitChunkBytes = chunk
        try bench.pump.infuse(microlitres: 20, rateMicrolitresPerMinute: 600)
        bench.clock.advance(seconds: 10)
        #expect(try bench.pump.status() == PumpStatus(state: .targetReached, deliveredMicrolitres: 20))
    }

    @Test func unknownCommandsAreRejected() throws {
        // A bare LF does not end a Fusion command; the driver always sends CR LF. Sending an
        // invalid set straight to the simulator shows the error line the driver rejects on.
        let clock = VirtualClock()
        let simulator = ChemyxFusionPumpSimulator(
            clock: clock, syringeCapacityMicrolitres: 1000, contentMicrolitres: 0, replyLatencySeconds: 0)
        Array("set colour 3\r\nset units 9\r\nset rate 5\n".utf8).withUnsafeBytes { simulator.receive($0) }
        let reply = simulator.takeReply(availableAt: clock.now())
        #expect(String(decoding: reply, as: UTF8.self) == "invalid command\r\nerror: bad argument\r\n")
        #expect(simulator.commands == ["set colour 3", "set units 9"])
    }
}
