import Control
import Devices
import Glibc
import Synchronization
import Testing
import Transports
import Twin

@Suite("HeatLoop")
struct HeatLoopTests {
    /// kp only, so the duty is kp·(setpoint − reading), checkable by hand.
    static let proportional = PIDGains(kp: 0.02, ki: 0, kd: 0, derivativeFilterSeconds: 0)

    @Test("idle: no setpoint means duty 0, the heater stays off and the PID does not run")
    func idle() {
        let rig = LoopRig(celsius: 80)
        let snapshot = rig.loop.tick(at: at(0))
        #expect(snapshot.setpoint == nil)
        #expect(snapshot.duty == 0)
        #expect(!snapshot.heaterOn)
        #expect(snapshot.terms.proportional == 0 && snapshot.terms.integral == 0)
        #expect(snapshot.terms.derivative == 0 && snapshot.terms.feedForward == 0)
        #expect(snapshot.celsius == 80)
        #expect(snapshot.ticks == 1)
        #expect(rig.line.levels.isEmpty)
        #expect(rig.events().isEmpty)
    }

    /// 0.02 × (100 − 80) = 0.4: on for the first 0.4 s of each 1 s window.
    @Test("a setpoint: duty kp·error, and the window drives the line (on 0...0.4 s, then off)")
    func proportionalDuty() {
        let rig = LoopRig(celsius: 80)
        #expect(rig.loop.setSetpoint(100))
        let first = rig.loop.tick(at: at(0))
        #expect(abs(first.duty - 0.4) < 1e-12)
        #expect(abs(first.terms.proportional - 0.4) < 1e-12)
        #expect(first.heaterOn)
        #expect(rig.loop.tick(at: at(0.3)).heaterOn)
        #expect(!rig.loop.tick(at: at(0.4)).heaterOn)
        #expect(rig.loop.tick(at: at(1.0)).heaterOn)
        #expect(rig.line.levels == [true, false, true])
    }

    @Test("a range trip: duty 0 and the line written off at once, the trip kept; clear resumes")
    func rangeTrip() throws {
        let rig = LoopRig(celsius: 80)
        rig.loop.setSetpoint(100)
        rig.loop.tick(at: at(0))
        #expect(rig.line.levels == [true])
        _ = rig.events()

        rig.sensor.celsius = 410
        let tripped = rig.loop.tick(at: at(0.1))
        let trip = try #require(tripped.trip)
        #expect(trip.check == .range)
        #expect(trip.number("reading_c") == 410)
        #expect(trip.number("max_c") == 400)
        #expect(tripped.duty == 0)
        #expect(!tripped.heaterOn)
        #expect(rig.line.levels == [true, false])
        #expect(rig.events() == [.safety(.tripped(trip))])

        // Latched: back in range, still off, and the line is not switched on again.
        rig.sensor.celsius = 80
        let held = rig.loop.tick(at: at(0.2))
        #expect(held.trip == trip)
        #expect(held.duty == 0)
        #expect(rig.line.levels == [true, false])

        #expect(rig.loop.clearTrip(at: at(0.25)))
        #expect(rig.events() == [.tripCleared(loop: "reactor", at: at(0.25))])
        // The cut window stays cut (a raised duty waits for the next window): on again at 1 s.
        let resumed = rig.loop.tick(at: at(0.3))
        #expect(resumed.trip == nil)
        #expect(abs(resumed.duty - 0.4) < 1e-12)
        #expect(!resumed.heaterOn)
        #expect(rig.loop.tick(at: at(1.0)).heaterOn)
        #expect(rig.line.levels == [true, false, true])
    }

    @Test("clearing while the reading is still out of range is refused, with the trip in the event")
    func clearRefused() throws {
        let rig = LoopRig(celsius: 500)
        rig.loop.setSetpoint(100)
        let trip = try #require(rig.loop.tick(at: at(0)).trip)
        _ = rig.events()
        #expect(!rig.loop.clearTrip(at: at(1)))
        #expect(rig.events() == [.tripClearRefused(loop: "reactor", at: at(1), trip: trip)])
        #expect(rig.loop.trip == trip)
    }

    @Test("a converter fault trips sensorFault and cuts the heater")
    func sensorFault() throws {
        let rig = LoopRig(celsius: 80)
        rig.loop.setSetpoint(100)
        rig.loop.tick(at: at(0))
        rig.sensor.fault = true
        rig.sensor.celsius = 1372
        let snapshot = rig.loop.tick(at: at(0.1))
        #expect(try #require(snapshot.trip).check == .sensorFault)
        #expect(snapshot.sensorFault)
        #expect(!snapshot.heaterOn)
        #expect(rig.line.levels == [true, false])
    }

    @Test("failed reads: the duty is held, one event for the run of failures, one on recovery")
    func failedReads() {
        let rig = LoopRig(celsius: 80)
        rig.loop.setSetpoint(100)
        rig.loop.tick(at: at(0))
        _ = rig.events()
        rig.sensor.celsius = nil
        rig.sensor.failure = "bus says no"
        for time in [0.1, 0.2, 0.3] {
            let snapshot = rig.loop.tick(at: at(time))
            #expect(snapshot.celsius == nil)
            #expect(abs(snapshot.duty - 0.4) < 1e-12)
            #expect(snapshot.trip == nil)
        }
        rig.sensor.celsius = 80
        rig.sensor.failure = nil
        rig.loop.tick(at: at(0.4))
        #expect(
            rig.events() == [
                .sensorFailed(loop: "reactor", at: at(0.1), reason: "bus says no"),
                .sensorRecovered(loop: "reactor", at: at(0.4), failedReads: 3),
            ])
    }

    @Test("no new conversion for stale_after_s (5 s) trips stale")
    func stale() throws {
        let rig = LoopRig(celsius: 80)
        rig.loop.setSetpoint(100)
        rig.loop.tick(at: at(0))
        rig.sensor.isNew = false
        #expect(rig.loop.tick(at: at(4.9)).trip == nil)
        let snapshot = rig.loop.tick(at: at(5.0))
        #expect(try #require(snapshot.trip).check == .stale)
        #expect(!snapshot.heaterOn)
    }

    /// 0.02 × 20 + 0.3 = 0.7 while the feed-forward lasts (5 s), then 0.4 again.
    @Test("an announced injection adds the feed-forward for its duration and opens the window")
    func injection() {
        let rig = LoopRig(celsius: 80)
        rig.loop.setSetpoint(100)
        #expect(rig.loop.announceInjection(feedForward: 0.3, seconds: 5, at: at(0)))
        let during = rig.loop.tick(at: at(0))
        #expect(abs(during.duty - 0.7) < 1e-12)
        #expect(during.feedForward == 0.3)
        #expect(during.terms.feedForward == 0.3)
        #expect(during.injectionWindowEnd == at(30))
        #expect(abs(rig.loop.tick(at: at(4.9)).duty - 0.7) < 1e-12)
        let after = rig.loop.tick(at: at(5))
        #expect(abs(after.duty - 0.4) < 1e-12)
        #expect(after.feedForward == 0)
        #expect(
            rig.events() == [.safety(.injectionWindowOpened(loop: "reactor", at: at(0), until: at(30)))])
        #expect(!rig.loop.announceInjection(feedForward: .nan, seconds: 5, at: at(6)))
        #expect(!rig.loop.announceInjection(feedForward: 0.1, seconds: -1, at: at(6)))
    }

    @Test("manual output drives the duty with no setpoint, within max_duty; nil goes back to idle")
    func manualOutput() {
        let rig = LoopRig(celsius: 80, maxDuty: 0.5)
        #expect(rig.loop.setManualOutput(0.7))
        let manual = rig.loop.tick(at: at(0))
        #expect(manual.manualDuty == 0.7)
        #expect(manual.duty == 0.5)
        #expect(manual.heaterOn)
        #expect(rig.loop.setManualOutput(0.2))
        #expect(rig.loop.tick(at: at(0.1)).duty == 0.2)
        #expect(!rig.loop.setManualOutput(.nan))
        #expect(rig.loop.setManualOutput(nil))
        let idle = rig.loop.tick(at: at(0.2))
        #expect(idle.manualDuty == nil)
        #expect(idle.duty == 0)
        #expect(!idle.heaterOn)
    }

    @Test("a failed line write: event, duty 0, the line retried off; the loop stays safe until cleared")
    func outputFailure() throws {
        let rig = LoopRig(celsius: 80)
        rig.loop.setSetpoint(100)
        rig.line.failNext = .other
        let failed = rig.loop.tick(at: at(0))
        #expect(rig.loop.outputFailure?.reason == .other)
        #expect(rig.loop.isInSafeState)
        #expect(failed.duty == 0)
        #expect(!failed.heaterOn)
        let events = rig.events()
        #expect(events.count == 1)
        guard case .outputFailed(let loop, let time, let error) = try #require(events.first) else {
            Issue.record("expected an outputFailed event, got \(events)")
            return
        }
        #expect(loop == "reactor" && time == at(0) && error.line == "test:heater")
        // The failed write was the "on"; the retry wrote off.
        #expect(rig.line.levels == [false])
        #expect(rig.loop.tick(at: at(0.1)).duty == 0)
        #expect(rig.line.levels == [false])
        #expect(rig.loop.clearTrip(at: at(0.2)))
        #expect(rig.loop.tick(at: at(1.0)).heaterOn)
    }

    @Test("an outside trip (the dead-man's loopStall) writes the line off at the next drive")
    func externalTrip() throws {
        let rig = LoopRig(celsius: 80)
        rig.loop.setSetpoint(100)
        rig.loop.tick(at: at(0))
        _ = rig.events()
        let stall = SafetyTrip(loop: "reactor", check: .loopStall, at: at(0.1), numbers: [.init("since_last_tick_s", 3)])
        rig.loop.trip(stall)
        rig.loop.driveOutput(at: at(0.1))
        #expect(rig.line.levels == [true, false])
        let snapshot = rig.loop.tick(at: at(0.2))
        #expect(snapshot.trip == stall)
        #expect(snapshot.duty == 0)
        #expect(rig.events() == [.tripped(stall)])
        #expect(rig.loop.clearTrip(at: at(0.3)))
        #expect(rig.loop.tick(at: at(1.0)).heaterOn)
    }

    @Test(
        "setpoints must be finite and below the supervisor's max_c (400)",
        arguments: [(Double.nan, false), (.infinity, false), (400, false), (500, false), (399.9, true), (-10, true)])
    func setpointBounds(celsius: Double, accepted: Bool) {
        let rig = LoopRig(celsius: 80)
        rig.loop.setSetpoint(200)
        #expect(rig.loop.setSetpoint(celsius) == accepted)
        #expect(rig.loop.setpoint == (accepted ? celsius : 200))
    }
}

@Suite("MCP9600TemperatureSensor on the byte-level simulator")
struct MCP9600TemperatureSensorTests {
    static func converter(part: MCP9600Simulator.Part = .mcp9600, bus: (any I2CBus)? = nil)
        throws -> (MCP9600TemperatureSensor, MCP9600Simulator, SimulatedI2CBus)
    {
        let simulatedBus = SimulatedI2CBus(name: "twin:test")
        let simulator = MCP9600Simulator(part: part, hotJunction: { 123.4375 }, coldJunction: { 24.5 })
        simulatedBus.attach(simulator, at: 0x60)
        let driver = MCP9600(bus: bus ?? simulatedBus, address: 0x60)
        try driver.configure(part: part == .mcp9600 ? .mcp9600 : .mcp9601, type: .k, filter: 0, adcResolutionBits: 18)
        return (MCP9600TemperatureSensor(converter: driver), simulator, simulatedBus)
    }

    @Test("a finished conversion (STATUS bit 6) is new, and the flag is cleared after the read")
    func newConversion() throws {
        let (sensor, simulator, _) = try Self.converter()
        let writesBefore = simulator.writeCount
        let sample = sensor.read()
        #expect(sample == TemperatureSample(celsius: 123.4375, sensorFault: false, isNew: true))
        #expect(simulator.status & 0x40 == 0)
        #expect(simulator.writeCount == writesBefore + 1)
        #expect(sensor.lastFailure == nil)
    }

    @Test("no conversion since the last read: not new, and nothing is written")
    func repeatedReading() throws {
        let (sensor, simulator, _) = try Self.converter()
        simulator.conversionTrigger = .manual
        simulator.convert()
        #expect(sensor.read().isNew)
        let writes = simulator.writeCount
        let again = sensor.read()
        #expect(again == TemperatureSample(celsius: 123.4375, sensorFault: false, isNew: false))
        #expect(simulator.writeCount == writes)
        simulator.convert()
        #expect(sensor.read().isNew)
    }

    @Test("a failed read (after the driver's retry) is no reading, with the error kept")
    func failedRead() throws {
        let (sensor, _, bus) = try Self.converter()
        bus.failNext(2, at: 0x60)
        let sample = sensor.read()
        #expect(sample == TemperatureSample(celsius: nil, sensorFault: false, isNew: false))
        #expect(sensor.failedReads == 1)
        #expect(sensor.lastError?.underlying?.reason == .noAcknowledge)
        #expect(try #require(sensor.lastFailure).contains("0x60"))
        #expect(sensor.read().celsius == 123.4375)
        #expect(sensor.lastFailure == nil)
    }

    @Test("an open thermocouple on the MCP9601 is a sensor fault")
    func openCircuit() throws {
        let (sensor, simulator, _) = try Self.converter(part: .mcp9601)
        simulator.thermocouple = .open
        let sample = sensor.read()
        #expect(sample.sensorFault)
        #expect(sample.isNew)
    }

    @Test("a failed flag clear keeps the good reading, reported new, and counts the failure")
    func failedClear() throws {
        let failing = StatusWriteFailingBus(inner: SimulatedI2CBus(name: "twin:test"))
        let simulator = MCP9600Simulator(part: .mcp9600, hotJunction: { 50 }, coldJunction: { 24 })
        failing.inner.attach(simulator, at: 0x60)
        let driver = MCP9600(bus: failing, address: 0x60)
        try driver.configure(part: .mcp9600, type: .k, filter: 0, adcResolutionBits: 18)
        let sensor = MCP9600TemperatureSensor(converter: driver)
        failing.failing = true
        let sample = sensor.read()
        #expect(sample == TemperatureSample(celsius: 50, sensorFault: false, isNew: true))
        #expect(sensor.failedClears == 1)
        #expect(sensor.failedReads == 0)
        #expect(sensor.lastError?.register == 0x04)
    }
}

// MARK: - Test support shared by the HeatLoop, ControlLoop and DeadManSwitch suites

/// The instant `seconds` after the origin.
func at(_ seconds: Double) -> MonotonicInstant { MonotonicInstant.zero.adding(seconds: seconds) }

/// Limits that only trip on what a test provokes: range -20...400 °C and stale after 5 s; the
/// timed heating checks are out of reach.
func permissiveLimits(maxCelsius: Double = 400, maxTickGapSeconds: Double = 1e6) -> SafetyLimits {
    SafetyLimits(
        minCelsius: -20, maxCelsius: maxCelsius, staleAfterSeconds: 5, stuckAfterSeconds: 1e6, heatingGainCelsius: 1,
        heatingGainWithinSeconds: 1e6, runawayErrorIntegral: 1e12, runawayHysteresisCelsius: 2,
        stuckOnRiseCelsius: 1000, stuckOnWithinSeconds: 10, injectionWindowSeconds: 30,
        maxTickGapSeconds: maxTickGapSeconds)
}

/// A sensor that returns what the test sets. Thread-safe enough for the threaded tests: the
/// fields are set before the loop thread starts, and `onRead` does its own synchronization.
final class ScriptedSensor: TemperatureSensor, @unchecked Sendable {
    var celsius: Double?
    var fault = false
    var isNew = true
    var failure: String?
    private(set) var reads = 0
    /// Called at each read, before the sample is returned (to block, advance a clock, stop).
    var onRead: ((Int) -> Void)?

    init(celsius: Double?) { self.celsius = celsius }

    func read() -> TemperatureSample {
        reads += 1
        onRead?(reads)
        return TemperatureSample(celsius: celsius, sensorFault: fault, isNew: isNew)
    }

    var lastFailure: String? { failure }
}

/// An output line that records every successful write (level), and optionally when and in which
/// order with other events (`log`). Thread-safe: the dead-man thread writes it too.
final class RecordingLine: OutputLine, @unchecked Sendable {
    let name: String
    private let state = Mutex<(levels: [Bool], failNext: OutputLineError.Reason?)>(([], nil))
    /// Called with each successful write's level (under no lock of the line's).
    var log: ((Bool) -> Void)?

    init(name: String = "test:heater") { self.name = name }

    var levels: [Bool] { state.withLock { $0.levels } }

    var failNext: OutputLineError.Reason? {
        get { state.withLock { $0.failNext } }
        set { state.withLock { $0.failNext = newValue } }
    }

    func set(high: Bool) throws(OutputLineError) {
        let failure: OutputLineError.Reason? = state.withLock { state in
            if let reason = state.failNext {
                state.failNext = nil
                return reason
            }
            state.levels.append(high)
            return nil
        }
        if let failure { throw OutputLineError(line: name, operation: "set", reason: failure) }
        log?(high)
    }

    func release() throws(OutputLineError) {}
}

/// One heat loop on a scripted sensor and a recording line (active high, 1 s window).
struct LoopRig {
    let sensor: ScriptedSensor
    let line: RecordingLine
    let heater: HeaterOutput
    let loop: HeatLoop

    init(
        name: String = "reactor", celsius: Double?, maxDuty: Double = 1, gains: PIDGains = HeatLoopTests.proportional,
        limits: SafetyLimits = permissiveLimits(), line: RecordingLine = RecordingLine()
    ) {
        sensor = ScriptedSensor(celsius: celsius)
        self.line = line
        heater = HeaterOutput(
            output: SwitchedOutput(id: "heater.\(name)", line: line, activeHigh: true),
            periodNanoseconds: 1_000_000_000, maxDuty: maxDuty)
        loop = HeatLoop(name: name, gains: gains, limits: limits, heater: heater, sensor: sensor)
    }

    /// The loop's queued events, taken.
    func events() -> [ControlEvent] {
        var taken: [ControlEvent] = []
        loop.drainEvents { taken.append($0) }
        return taken
    }
}

/// Fails every write of STATUS (a flag clear: `{0x04, value}` with nothing read) while `failing`.
final class StatusWriteFailingBus: I2CBus {
    let inner: SimulatedI2CBus
    var failing = false
    init(inner: SimulatedI2CBus) { self.inner = inner }
    var name: String { inner.name }

    func transfer(address: UInt8, write: UnsafeRawBufferPointer, read: UnsafeMutableRawBufferPointer) throws(I2CError) {
        if failing && read.isEmpty && write.count == 2 && write[0] == 0x04 {
            throw I2CError(bus: name, address: address, operation: "I2C_RDWR", register: 0x04, reason: .busFault)
        }
        try inner.transfer(address: address, write: write, read: read)
    }
}

/// A plain POSIX thread for tests (the Control module has no thread of its own).
final class TestThread: @unchecked Sendable {
    private final class Body {
        let run: () -> Void
        init(_ run: @escaping () -> Void) { self.run = run }
    }

    private var thread = pthread_t()

    init(_ body: sending @escaping () -> Void) {
        let argument = Unmanaged.passRetained(Body(body)).toOpaque()
        let code = pthread_create(
            &thread, nil,
            { argument in
                Unmanaged<Body>.fromOpaque(argument!).takeRetainedValue().run()
                return nil
            }, argument)
        precondition(code == 0, "pthread_create failed (\(code))")
    }

    func join() { pthread_join(thread, nil) }
}

/// CLOCK_MONOTONIC for the threaded tests (the Control module's tests cannot reach LinuxIO).
final class TestMonotonicClock: RigClock, @unchecked Sendable {
    func now() -> MonotonicInstant {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicInstant(nanoseconds: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
    }

    func sleep(until deadline: MonotonicInstant) throws(ClockError) {
        var request = timespec(
            tv_sec: Int(deadline.nanoseconds / 1_000_000_000), tv_nsec: Int(deadline.nanoseconds % 1_000_000_000))
        while true {
            let code = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &request, nil)
            if code == 0 { return }
            if code != EINTR { throw ClockError(operation: "clock_nanosleep", errno: code) }
        }
    }

    /// Sleeps `milliseconds` (for polling in tests; never asserted on).
    func pause(milliseconds: Int64) {
        try? sleep(until: now().adding(nanoseconds: milliseconds * 1_000_000))
    }
}
