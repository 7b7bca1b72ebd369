import Devices
import Foundation
import LinuxIO
import Testing
import Transports
import Twin

/// A byte-level pump simulator serving the controller side of a real pseudo-terminal on its own
/// thread, while the driver under test opens the follower with `SerialPort` (its real open,
/// TIOCEXCL, termios, poll and read code). The simulator runs on the monotonic clock.
///
/// The simulator is touched only by the serving thread while it runs; tests set it up before
/// `start()` and read it after `stop()`, or change it through `perform`, which runs on that thread.
private final class PumpOnPseudoTerminal: @unchecked Sendable {
    let pty: PseudoTerminal
    let device: any SimulatedSerialDevice
    let clock: any RigClock
    private let lock = NSLock()
    private var stopping = false
    private var tasks: [() -> Void] = []
    private let finished = DispatchSemaphore(value: 0)
    private(set) var failure: SerialError?

    init(_ device: any SimulatedSerialDevice, clock: any RigClock, pty: PseudoTerminal) {
        self.device = device
        self.clock = clock
        self.pty = pty
    }

    func start() {
        let thread = Thread { [self] in
            serve()
            finished.signal()
        }
        thread.start()
    }

    /// Runs `task` on the serving thread, before it next looks at the wire.
    func perform(_ task: @escaping () -> Void) {
        lock.lock()
        tasks.append(task)
        lock.unlock()
        // Wait for it, so the test's next command sees the change.
        let done = DispatchSemaphore(value: 0)
        lock.lock()
        tasks.append { done.signal() }
        lock.unlock()
        done.wait()
    }

    private var joined = false

    /// Stops serving and waits for the thread; stopping twice is harmless.
    func stop() {
        lock.lock()
        stopping = true
        let wait = !joined
        joined = true
        lock.unlock()
        if wait { finished.wait() }
    }

    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            lock.lock()
            let pending = tasks
            tasks.removeAll()
            let done = stopping
            lock.unlock()
            for task in pending { task() }
            if done { return }
            do {
                let count = try buffer.withUnsafeMutableBytes { raw in
                    try pty.readController(into: raw, timeoutMilliseconds: 1)
                }
                if count > 0 { buffer[0..<count].withUnsafeBytes { device.receive($0) } }
                let reply = device.takeReply(availableAt: clock.now())
                if !reply.isEmpty { try reply.withUnsafeBytes { raw in try pty.writeController(raw) } }
            } catch {
                failure = error as? SerialError ?? SerialError(port: "pty", operation: "\(error)", reason: .other)
                return
            }
        }
    }
}

@Suite(.serialized) struct PumpPseudoTerminalTests {
    static let syringe = Syringe(innerDiameterMillimetres: 4.78, volumeMicrolitres: 1000)

    /// A Harvard pump at daisy-chain address 2 on a pty.
    private func harvard(replyTimeout: Double = 0.5) throws -> (
        HarvardUltraPump, HarvardUltraPumpSimulator, PumpOnPseudoTerminal, SerialPort, MonotonicClock
    ) {
        let clock = MonotonicClock()
        let pty = try PseudoTerminal()
        let simulator = HarvardUltraPumpSimulator(
            model: .pump11Elite, address: 2, clock: clock, syringeCapacityMicrolitres: 1000, contentMicrolitres: 1000,
            replyLatencySeconds: 0.001)
        let server = PumpOnPseudoTerminal(simulator, clock: clock, pty: pty)
        server.start()
        let port = try SerialPort(path: pty.followerPath, baudRate: 115200, clock: clock)
        let pump = HarvardUltraPump(
            name: "pump.cd", line: port, model: .pump11Elite, address: 2, maximumRateMicrolitresPerMinute: 5000,
            replyTimeoutSeconds: replyTimeout)
        return (pump, simulator, server, port, clock)
    }

    @Test func harvardRunsToItsTargetOverAPseudoTerminal() throws {
        let (pump, simulator, server, port, clock) = try harvard()
        defer { server.stop(); try? port.close() }
        try pump.configure(syringe: Self.syringe)
        // 2400 µL/min is 40 µL/s: 4 µL takes 0.1 s.
        try pump.infuse(microlitres: 4, rateMicrolitresPerMinute: 2400)
        let done = try pump.waitUntilDone(clock: clock, pollIntervalSeconds: 0.02, deadline: clock.now().adding(seconds: 5))
        #expect(done == PumpStatus(state: .targetReached, deliveredMicrolitres: 4))
        server.stop()
        #expect(server.failure == nil)
        #expect(simulator.commands.prefix(7) == [
            "2:diameter 4.78", "2:svolume 1000 ul", "2:diameter", "2:civolume", "2:tvolume 4 ul",
            "2:irate 2400 ul/min", "2:irun",
        ])
        #expect(abs(simulator.plunger().contentMicrolitres - 996) < 1e-9)
    }

    @Test(arguments: [1, 4])
    func harvardSplitReplies(chunk: Int) throws {
        let (pump, simulator, server, port, _) = try harvard()
        defer { server.stop(); try? port.close() }
        server.perform { simulator.replies.splitChunkBytes = chunk }
        try pump.configure(syringe: Self.syringe)
        #expect(try pump.status() == PumpStatus(state: .idle, deliveredMicrolitres: 0))
        #expect(pump.syringe == Self.syringe)
    }

    @Test func harvardStallIsAStar() throws {
        let (pump, simulator, server, port, clock) = try harvard()
        defer { server.stop(); try? port.close() }
        try pump.configure(syringe: Self.syringe)
        server.perform { simulator.stallAfter(microlitres: 2) }
        try pump.infuse(microlitres: 20, rateMicrolitresPerMinute: 2400)
        let error = #expect(throws: PumpError.self) {
            try pump.waitUntilDone(clock: clock, pollIntervalSeconds: 0.02, deadline: clock.now().adding(seconds: 5))
        }
        #expect(error?.reason == .stalled)
        #expect(try pump.status() == PumpStatus(state: .stalled, deliveredMicrolitres: 2))
    }

    @Test func harvardOutOfRangeSilenceAndAGarbledPrompt() throws {
        let (pump, simulator, server, port, _) = try harvard(replyTimeout: 0.2)
        defer { server.stop(); try? port.close() }
        try pump.configure(syringe: Self.syringe)
        // Out of range at the pump: 3000 µL/min passes the board's limit but not 150 mm/min × 17.9 mm².
        let range = #expect(throws: PumpError.self) { try pump.infuse(microlitres: 10, rateMicrolitresPerMinute: 3000) }
        #expect(range?.reason == .rejected)
        #expect(range?.reply == "Out of range")
        // A garbled prompt.
        server.perform { simulator.garbleNextPrompts = 1 }
        let garbled = #expect(throws: PumpError.self) { try pump.status() }
        #expect(garbled?.reason == .unexpectedReply)
        #expect(garbled?.reply == "02\\xBA")
        // Silence: a timeout naming the port and the prompt awaited.
        server.perform { simulator.replies.isSilent = true }
        let silent = #expect(throws: PumpError.self) { try pump.stop() }
        guard case .transport(let serial)? = silent?.reason else {
            Issue.record("expected a timeout, got \(String(describing: silent))")
            return
        }
        #expect(serial.reason == .timeout)
        #expect(serial.port == port.name)
        #expect(serial.awaiting == "the prompt after \"2:stop\"")
        // And it recovers when the pump speaks again.
        server.perform { simulator.replies.isSilent = false }
        #expect(try pump.status().state == .idle)
    }

    @Test func chemyxOverAPseudoTerminalWithEchoSplitAndStall() throws {
        let clock = MonotonicClock()
        let pty = try PseudoTerminal()
        let simulator = ChemyxFusionPumpSimulator(
            clock: clock, syringeCapacityMicrolitres: 1000, contentMicrolitres: 1000, replyLatencySeconds: 0.002)
        simulator.echoesCommands = true
        simulator.replies.splitChunkBytes = 3
        let server = PumpOnPseudoTerminal(simulator, clock: clock, pty: pty)
        server.start()
        let port = try SerialPort(path: pty.followerPath, baudRate: 38400, clock: clock)
        defer { server.stop(); try? port.close() }
        let pump = ChemyxFusionPump(
            name: "pump.se", line: port, maximumRateMicrolitresPerMinute: 5000, replyTimeoutSeconds: 0.3)
        try pump.configure(syringe: Self.syringe)
        try pump.infuse(microlitres: 4, rateMicrolitresPerMinute: 2400)
        let done = try pump.waitUntilDone(clock: clock, pollIntervalSeconds: 0.02, deadline: clock.now().adding(seconds: 5))
        #expect(done == PumpStatus(state: .targetReached, deliveredMicrolitres: 4))

        // Out of limits: the echo comes back clamped.
        let clamped = #expect(throws: PumpError.self) { try pump.infuse(microlitres: 4, rateMicrolitresPerMinute: 3000) }
        guard case .notAccepted(let sent, let stored)? = clamped?.reason else {
            Issue.record("expected a clamped echo, got \(String(describing: clamped))")
            return
        }
        #expect(sent == 3000 && stored < 3000)

        // A stall 5 µL into a 20 µL run: seen by the start's own status check or by the wait,
        // depending on how fast this machine serves the pty; either way it is a stall.
        server.perform { simulator.stallAfter(microlitres: 5) }
        do throws(PumpError) {
            try pump.infuse(microlitres: 20, rateMicrolitresPerMinute: 2400)
            _ = try pump.waitUntilDone(clock: clock, pollIntervalSeconds: 0.02, deadline: clock.now().adding(seconds: 5))
            Issue.record("the run did not stall")
        } catch {
            #expect(error.reason == .stalled)
        }
        #expect(try pump.status() == PumpStatus(state: .stalled, deliveredMicrolitres: 5))

        server.perform { simulator.replies.isSilent = true }
        let silent = #expect(throws: PumpError.self) { try pump.status() }
        if case .transport(let serial)? = silent?.reason {
            #expect(serial.reason == .timeout)
        } else {
            Issue.record("expected a timeout, got \(String(describing: silent))")
        }
        server.stop()
        #expect(server.failure == nil)
    }
}
