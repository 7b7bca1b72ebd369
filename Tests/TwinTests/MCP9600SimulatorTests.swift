import Testing
import Transports
import Twin

/// A clock the test moves by hand.
private final class HandClock: RigClock {
    var current = MonotonicInstant.zero
    func now() -> MonotonicInstant { current }
    func sleep(until deadline: MonotonicInstant) throws(ClockError) {
        if deadline > current { current = deadline }
    }
}

private final class StubPlant {
    var hot: Double
    var cold: Double
    init(hot: Double, cold: Double) {
        self.hot = hot
        self.cold = cold
    }
}

/// A part that records what it was sent and answers a fixed pattern: for the bus's own tests.
private final class RecordingTarget: SimulatedI2CTarget {
    var reply: [UInt8]
    var written: [[UInt8]] = []
    var reads = 0
    init(reply: [UInt8]) { self.reply = reply }

    func receive(write: UnsafeRawBufferPointer, readFollows: Bool) throws(SimulatedI2CRefusal) {
        written.append(Array(write))
    }

    func respond(into read: UnsafeMutableRawBufferPointer) throws(SimulatedI2CRefusal) {
        reads += 1
        for index in read.indices { read[index] = reply[index % reply.count] }
    }
}

/// Runs one transaction and returns the bytes read, or the bus error.
private func transact(
    _ bus: SimulatedI2CBus, _ address: UInt8, write: [UInt8], readCount: Int
) -> Result<[UInt8], I2CError> {
    var reply = [UInt8](repeating: 0, count: readCount)
    let outcome = write.withUnsafeBytes { writeBytes in
        reply.withUnsafeMutableBytes { readBytes in
            Result { () throws(I2CError) in try bus.transfer(address: address, write: writeBytes, read: readBytes) }
        }
    }
    return outcome.map { reply }
}

private func busError(_ result: Result<[UInt8], I2CError>) -> I2CError? {
    if case .failure(let error) = result { return error }
    return nil
}

private func decode(_ bytes: [UInt8]) -> Double {
    Double(Int16(bitPattern: UInt16(bytes[0]) << 8 | UInt16(bytes[1]))) * 0.0625
}

private struct Fixture {
    let bus = SimulatedI2CBus(name: "twin:main")
    let plant: StubPlant
    let simulator: MCP9600Simulator

    init(
        part: MCP9600Simulator.Part = .mcp9600, hot: Double = 200, cold: Double = 22,
        trigger: MCP9600Simulator.ConversionTrigger = .beforeEveryRead
    ) {
        let plant = StubPlant(hot: hot, cold: cold)
        self.plant = plant
        simulator = MCP9600Simulator(
            part: part, hotJunction: { plant.hot }, coldJunction: { plant.cold }, conversionTrigger: trigger)
        bus.attach(simulator, at: 0x60)
    }

    func read(_ register: UInt8, _ count: Int) throws(I2CError) -> [UInt8] {
        try bus.readRegister(address: 0x60, register: register, count: count)
    }

    func write(_ register: UInt8, _ bytes: [UInt8]) throws(I2CError) {
        try bus.writeRegister(address: 0x60, register: register, bytes: bytes)
    }
}

@Suite("MCP9600 simulator")
struct MCP9600SimulatorTests {
    @Test(arguments: [(MCP9600Simulator.Part.mcp9600, UInt8(0x40)), (.mcp9601, 0x41)])
    func deviceIDRegister(part: MCP9600Simulator.Part, id: UInt8) throws {
        let fixture = Fixture(part: part)
        fixture.simulator.revision = 0x21
        #expect(try fixture.read(0x20, 2) == [id, 0x21])
        fixture.simulator.reportedPart = part == .mcp9600 ? .mcp9601 : .mcp9600
        #expect(try fixture.read(0x20, 2)[0] == (id == 0x40 ? 0x41 : 0x40))
    }

    /// °C -> register value: 0.0625 °C per LSB, rounded to nearest, clamped to Int16.
    @Test(arguments: [
        (25.0, UInt16(0x0190)), (25.25, 0x0194), (-1.0, 0xFFF0), (250.0, 0x0FA0), (0.0625, 0x0001),
        (-55.0, 0xFC90), (1372.0, 0x55C0), (-200.0, 0xF380), (0.03, 0x0000), (0.04, 0x0001),
        (-0.04, 0xFFFF), (1e9, 0x7FFF), (-1e9, 0x8000), (.infinity, 0x7FFF),
    ])
    func temperatureEncoding(celsius: Double, raw: UInt16) {
        #expect(UInt16(bitPattern: MCP9600Simulator.registerValue(celsius: celsius)) == raw)
    }

    @Test(arguments: [
        (25.1, false, UInt16(0x0192)), (25.1, true, 0x0190), (25.2, true, 0x0194), (-10.3, true, 0xFF5C),
        (-10.3, false, 0xFF5B), (300.0, false, 0x0FFF), (300.0, true, 0x0FFC), (-300.0, false, 0xF000),
    ])
    func coldJunctionEncoding(celsius: Double, quarterDegree: Bool, raw: UInt16) {
        let value = MCP9600Simulator.coldJunctionRegisterValue(celsius: celsius, quarterDegree: quarterDegree)
        #expect(UInt16(bitPattern: value) == raw)
        if quarterDegree { #expect(raw & 0x03 == 0) }
    }

    @Test func hotJunctionRoundTripAtEverySixteenthOfADegree() throws {
        let fixture = Fixture()
        var mismatches = 0
        for step in -3200...21952 {  // -200 °C ... +1372 °C
            let celsius = Double(step) * 0.0625
            fixture.plant.hot = celsius
            if decode(try fixture.read(0x00, 2)) != celsius { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func junctionRegistersHoldHotColdAndTheirDifference() throws {
        let fixture = Fixture(hot: 230.5, cold: 24.25)
        #expect(decode(try fixture.read(0x00, 2)) == 230.5)
        #expect(decode(try fixture.read(0x01, 2)) == 206.25)
        #expect(decode(try fixture.read(0x02, 2)) == 24.25)
        #expect(try fixture.read(0x03, 3) == [0, 0, 0])  // raw ADC not modelled
    }

    @Test func coldJunctionQuarterDegreeMode() throws {
        let fixture = Fixture(cold: 25.2)
        #expect(decode(try fixture.read(0x02, 2)) == 25.1875)
        try fixture.write(0x06, [0x80])
        #expect(try fixture.read(0x02, 2) == [0x01, 0x94])  // 25.25
    }

    @Test func thePointerPersistsAcrossTransactions() throws {
        let fixture = Fixture(part: .mcp9601)
        #expect(try transact(fixture.bus, 0x60, write: [0x20], readCount: 0).get() == [])
        #expect(try transact(fixture.bus, 0x60, write: [], readCount: 2).get() == [0x41, 0x10])
        #expect(fixture.simulator.pointer == 0x20)
    }

    @Test(arguments: [UInt8(0x00), 0x01, 0x02, 0x03, 0x20])
    func readOnlyRegistersNAKWrites(register: UInt8) throws {
        let fixture = Fixture()
        let error = busError(transact(fixture.bus, 0x60, write: [register, 0x12], readCount: 0))
        #expect(error?.reason == .noAcknowledge)
        #expect(error?.register == register)
        #expect(fixture.simulator.writeCount == 0)
    }

    @Test(arguments: [UInt8(0x07), 0x14, 0x1F, 0x21, 0xFF])
    func unimplementedPointersNAK(register: UInt8) {
        let fixture = Fixture()
        #expect(busError(transact(fixture.bus, 0x60, write: [register], readCount: 1))?.reason == .noAcknowledge)
    }

    @Test func aQuickWriteProbeIsNAKed() {
        let fixture = Fixture()
        #expect(busError(transact(fixture.bus, 0x60, write: [], readCount: 0))?.reason == .noAcknowledge)
    }

    /// Register, bytes written, bytes read back.
    static let writable: [(UInt8, [UInt8], [UInt8])] = [
        (0x05, [0xFF], [0x77]),  // bits 7 and 3 unimplemented
        (0x05, [0x13], [0x13]),
        (0x06, [0x60], [0x60]),
        (0x08, [0xFF], [0x1F]),  // alert config: bit 7 is an action, bits 6..5 unimplemented
        (0x0B, [0x15], [0x15]),
        (0x0C, [0xAB], [0xAB]),
        (0x0F, [0x01], [0x01]),
        (0x10, [0x12, 0x37], [0x12, 0x34]),  // alert limit: low two bits read 0
        (0x13, [0xFF, 0xFF], [0xFF, 0xFC]),
    ]

    @Test(arguments: writable)
    func writableRegistersReadBack(register: UInt8, written: [UInt8], readBack: [UInt8]) throws {
        let fixture = Fixture()
        try fixture.write(register, written)
        #expect(try fixture.read(register, readBack.count) == readBack)
        #expect(fixture.simulator.registerBytes(register) == readBack)
    }

    @Test func bytesBeyondARegisterAreNAKed() {
        let fixture = Fixture()
        #expect(busError(transact(fixture.bus, 0x60, write: [0x05, 0x10, 0x20], readCount: 0)) != nil)
        #expect(fixture.simulator.sensorConfiguration == 0)
    }

    @Test func readingPastARegisterGivesZeros() throws {
        let fixture = Fixture()
        try fixture.write(0x05, [0x22])
        #expect(try fixture.read(0x05, 3) == [0x22, 0x00, 0x00])
    }

    @Test func updateFlagSetByConversionsAndClearedByWritingZero() throws {
        let fixture = Fixture(trigger: .manual)
        #expect(try fixture.read(0x04, 1) == [0x00])
        fixture.simulator.convert()
        #expect(try fixture.read(0x04, 1) == [0x40])
        try fixture.write(0x04, [0xFF])  // writing 1 has no effect
        #expect(try fixture.read(0x04, 1) == [0x40])
        try fixture.write(0x04, [0x00])
        #expect(try fixture.read(0x04, 1) == [0x00])
        fixture.simulator.convert()
        #expect(try fixture.read(0x04, 1) == [0x40])
        #expect(fixture.simulator.conversionCount == 2)
    }

    @Test func faultBitsAreReadOnly() throws {
        let fixture = Fixture(part: .mcp9601, trigger: .manual)
        fixture.simulator.thermocouple = .open
        fixture.simulator.convert()
        try fixture.write(0x04, [0x00])
        #expect(try fixture.read(0x04, 1) == [0x10])
    }

    /// Part, condition, type code, plant hot °C -> status bits 5..4 and T_H.
    @Test(arguments: [
        (
            MCP9600Simulator.Part.mcp9600, MCP9600Simulator.ThermocoupleCondition.open, UInt8(0), 200.0,
            UInt8(0x10), 1372.0
        ),
        (.mcp9601, .open, 0, 200.0, 0x10, 1372.0),
        (.mcp9601, .shorted, 0, 200.0, 0x20, 22.0),
        (.mcp9600, .shorted, 0, 200.0, 0x00, 22.0),  // the MCP9600 cannot tell a short
        (.mcp9600, .connected, 0, 1500.0, 0x10, 1372.0),
        (.mcp9600, .connected, 0, -300.0, 0x10, -270.0),
        (.mcp9601, .connected, 0, 1500.0, 0x00, 1372.0),  // clamps; bit 4 means open here
        (.mcp9600, .open, 2, 200.0, 0x10, 400.0),  // type T
        (.mcp9600, .connected, 2, 450.0, 0x10, 400.0),
        (.mcp9600, .connected, 6, 1000.0, 0x00, 1000.0),  // type B
        (.mcp9600, .connected, 0, 200.0, 0x00, 200.0),
    ])
    func thermocoupleConditions(
        part: MCP9600Simulator.Part, condition: MCP9600Simulator.ThermocoupleCondition, typeCode: UInt8,
        hot: Double, faultBits: UInt8, expectedHot: Double
    ) throws {
        let fixture = Fixture(part: part, hot: hot, cold: 22)
        try fixture.write(0x05, [typeCode << 4])
        fixture.simulator.thermocouple = condition
        #expect(decode(try fixture.read(0x00, 2)) == expectedHot)
        #expect(try fixture.read(0x04, 1)[0] & 0x30 == faultBits)
        fixture.simulator.thermocouple = .connected
        fixture.plant.hot = 100
        _ = try fixture.read(0x00, 2)
        #expect(try fixture.read(0x04, 1)[0] & 0x30 == 0)
    }

    @Test func busyNAKsEveryTransactionWithContext() throws {
        let fixture = Fixture()
        fixture.simulator.isBusy = true
        let error = busError(transact(fixture.bus, 0x60, write: [0x00], readCount: 2))
        #expect(
            error == I2CError(
                bus: "twin:main", address: 0x60, operation: "I2C_RDWR", register: 0x00, reason: .noAcknowledge))
        #expect(error?.description == "twin:main address 0x60 register 0x00: I2C_RDWR failed: noAcknowledge")
        fixture.simulator.isBusy = false
        #expect(try fixture.read(0x00, 2) == [0x0C, 0x80])
    }

    @Test func nakNextNAKsThatMany() throws {
        let fixture = Fixture()
        fixture.simulator.nakNext(2)
        #expect(busError(transact(fixture.bus, 0x60, write: [0x00], readCount: 2)) != nil)
        #expect(busError(transact(fixture.bus, 0x60, write: [0x00], readCount: 2)) != nil)
        #expect(try fixture.read(0x00, 2) == [0x0C, 0x80])
        #expect(fixture.simulator.readCount == 1)
    }

    @Test func garbledRepliesAreAllOnes() throws {
        let fixture = Fixture()
        fixture.simulator.garbleNext(1)
        #expect(try fixture.read(0x00, 2) == [0xFF, 0xFF])
        #expect(try fixture.read(0x00, 2) == [0x0C, 0x80])
        fixture.simulator.isGarbling = true
        #expect(try fixture.read(0x20, 2) == [0xFF, 0xFF])
        #expect(fixture.simulator.readCount == 3)
    }

    @Test func aStuckPartKeepsItsLastValueButKeepsConverting() throws {
        let fixture = Fixture(hot: 180)
        #expect(decode(try fixture.read(0x00, 2)) == 180)
        fixture.simulator.isStuck = true
        try fixture.write(0x04, [0x00])
        fixture.plant.hot = 260
        fixture.plant.cold = 30
        #expect(decode(try fixture.read(0x00, 2)) == 180)
        #expect(decode(try fixture.read(0x02, 2)) == 22)
        #expect(try fixture.read(0x04, 1) == [0x40])
        fixture.simulator.isStuck = false
        #expect(decode(try fixture.read(0x00, 2)) == 260)
    }

    @Test func countsReadsWritesAndConversions() throws {
        let fixture = Fixture()
        _ = try fixture.read(0x00, 2)
        _ = try fixture.read(0x02, 2)
        try fixture.write(0x05, [0x10])
        _ = try transact(fixture.bus, 0x60, write: [0x04], readCount: 0).get()  // pointer only
        #expect(fixture.simulator.readCount == 2)
        #expect(fixture.simulator.writeCount == 1)
        #expect(fixture.simulator.conversionCount == 2)
    }

    @Test func periodicConversionsFollowTheClock() throws {
        let clock = HandClock()
        let fixture = Fixture(hot: 100, trigger: .periodic(clock: clock, interval: .milliseconds(250)))
        #expect(decode(try fixture.read(0x00, 2)) == 100)  // first read converts
        fixture.plant.hot = 110
        clock.current = clock.current.adding(seconds: 0.2)
        #expect(decode(try fixture.read(0x00, 2)) == 100)  // not due yet
        clock.current = clock.current.adding(seconds: 0.05)
        #expect(decode(try fixture.read(0x00, 2)) == 110)
        #expect(fixture.simulator.conversionCount == 2)
    }

    @Test func shutdownModeStopsConversions() throws {
        let fixture = Fixture(hot: 100)
        _ = try fixture.read(0x00, 2)
        try fixture.write(0x06, [0x01])
        fixture.plant.hot = 300
        #expect(decode(try fixture.read(0x00, 2)) == 100)
        try fixture.write(0x06, [0x00])
        #expect(decode(try fixture.read(0x00, 2)) == 300)
    }

    @Test func burstModeCompletesAndShutsDown() throws {
        let fixture = Fixture(trigger: .manual)
        try fixture.write(0x06, [0b000_010_10])  // 4 samples, burst mode
        #expect(fixture.simulator.burstSampleCount == 4)
        for _ in 0..<3 { fixture.simulator.convert() }
        #expect(try fixture.read(0x04, 1)[0] & 0x80 == 0)
        fixture.simulator.convert()
        #expect(try fixture.read(0x04, 1)[0] & 0x80 == 0x80)
        #expect(try fixture.read(0x06, 1) == [0b000_010_01])  // shut down after the burst
        try fixture.write(0x04, [0x00])
        #expect(try fixture.read(0x04, 1) == [0x00])
    }
}

@Suite("Simulated I2C bus")
struct SimulatedI2CBusTests {
    @Test func anAbsentAddressNAKsWithContext() {
        let bus = SimulatedI2CBus(name: "twin:aux")
        let error = busError(transact(bus, 0x33, write: [0x07], readCount: 1))
        #expect(
            error == I2CError(
                bus: "twin:aux", address: 0x33, operation: "I2C_RDWR", register: 0x07, reason: .noAcknowledge))
        #expect(bus.transactionCount(at: 0x33) == 1)
        let readOnly = busError(transact(bus, 0x33, write: [], readCount: 1))
        #expect(readOnly?.register == nil)
    }

    @Test func routesPhasesToTheTargetAndCountsPerAddress() throws {
        let bus = SimulatedI2CBus()
        let first = RecordingTarget(reply: [0xA1, 0xA2])
        let second = RecordingTarget(reply: [0xB1])
        bus.attach(first, at: 0x10)
        bus.attach(second, at: 0x11)
        #expect(try transact(bus, 0x10, write: [0x01, 0x02], readCount: 0).get() == [])
        #expect(try transact(bus, 0x10, write: [0x03], readCount: 3).get() == [0xA1, 0xA2, 0xA1])
        #expect(try transact(bus, 0x11, write: [], readCount: 2).get() == [0xB1, 0xB1])
        #expect(first.written == [[0x01, 0x02], [0x03]])
        #expect(second.written == [[]])
        #expect(first.reads == 1)
        #expect(bus.transactionCount(at: 0x10) == 2)
        #expect(bus.transactionCount(at: 0x11) == 1)
        #expect(bus.totalTransactionCount == 3)
        #expect(bus.target(at: 0x10) === first)
        bus.resetTransactionCounts()
        #expect(bus.totalTransactionCount == 0)
        bus.detach(at: 0x10)
        #expect(busError(transact(bus, 0x10, write: [0x03], readCount: 1))?.reason == .noAcknowledge)
    }

    @Test(arguments: [I2CError.Reason.noAcknowledge, .timeout, .busFault])
    func failNextFailsThatManyBeforeThePartSeesThem(reason: I2CError.Reason) throws {
        let bus = SimulatedI2CBus()
        let target = RecordingTarget(reply: [0x55])
        bus.attach(target, at: 0x20)
        bus.failNext(2, at: 0x20, reason: reason)
        #expect(busError(transact(bus, 0x20, write: [0x04], readCount: 1))?.reason == reason)
        #expect(busError(transact(bus, 0x20, write: [0x04], readCount: 1))?.register == 0x04)
        #expect(try transact(bus, 0x20, write: [0x04], readCount: 1).get() == [0x55])
        #expect(target.written.count == 1)
        #expect(bus.transactionCount(at: 0x20) == 3)
    }

    /// Corruption applied to the reply [0x12, 0x34, 0x56] -> what the master gets.
    @Test(arguments: [
        (SimulatedI2CBus.ReplyCorruption.intact, [UInt8(0x12), 0x34, 0x56]),
        (.allOnes, [0xFF, 0xFF, 0xFF]),
        (.pattern([0xAB]), [0xAB, 0xAB, 0xAB]),
        (.pattern([0x01, 0x02]), [0x01, 0x02, 0x01]),
        (.releasedAfter(bytes: 1), [0x12, 0xFF, 0xFF]),
        (.releasedAfter(bytes: 0), [0xFF, 0xFF, 0xFF]),
    ])
    func replyCorruptions(corruption: SimulatedI2CBus.ReplyCorruption, expected: [UInt8]) throws {
        let bus = SimulatedI2CBus()
        bus.attach(RecordingTarget(reply: [0x12, 0x34, 0x56]), at: 0x20)
        bus.corruptNextReply(at: 0x20, corruption)
        #expect(try transact(bus, 0x20, write: [0x00], readCount: 3).get() == expected)
        #expect(try transact(bus, 0x20, write: [0x00], readCount: 3).get() == [0x12, 0x34, 0x56])
    }

    @Test func aTruncatedReplyIsAShortTransfer() {
        let bus = SimulatedI2CBus()
        bus.attach(RecordingTarget(reply: [0x12]), at: 0x20)
        bus.corruptNextReply(at: 0x20, .truncated(afterBytes: 1))
        let error = busError(transact(bus, 0x20, write: [0x02], readCount: 2))
        #expect(error?.reason == .shortTransfer(expected: 2, actual: 1))
        #expect(error?.register == 0x02)
    }

    @Test(arguments: [1, 3, 8, 16])
    func bitFlipsFlipExactlyThatManyBitsDeterministically(count: Int) throws {
        func corrupted(seed: UInt64) throws -> [UInt8] {
            let bus = SimulatedI2CBus(seed: seed)
            bus.attach(RecordingTarget(reply: [0x00, 0x00]), at: 0x20)
            bus.corruptNextReply(at: 0x20, .flipBits(count: count))
            return try transact(bus, 0x20, write: [0x00], readCount: 2).get()
        }
        let once = try corrupted(seed: 42)
        #expect(once.reduce(0) { $0 + $1.nonzeroBitCount } == count)
        #expect(try corrupted(seed: 42) == once)
    }

    @Test func writesDoNotConsumeAQueuedCorruption() throws {
        let bus = SimulatedI2CBus()
        bus.attach(RecordingTarget(reply: [0x12]), at: 0x20)
        bus.corruptNextReplies(at: 0x20, [.intact, .allOnes])
        _ = try transact(bus, 0x20, write: [0x05, 0x01], readCount: 0).get()
        #expect(try transact(bus, 0x20, write: [0x00], readCount: 1).get() == [0x12])
        _ = try transact(bus, 0x20, write: [0x05, 0x01], readCount: 0).get()
        #expect(try transact(bus, 0x20, write: [0x00], readCount: 1).get() == [0xFF])
    }

    @Test func clearFaultsForgetsEverythingQueued() throws {
        let bus = SimulatedI2CBus()
        bus.attach(RecordingTarget(reply: [0x12]), at: 0x20)
        bus.failNext(3, at: 0x20)
        bus.corruptNextReply(at: 0x20, .allOnes)
        bus.clearFaults()
        #expect(try transact(bus, 0x20, write: [0x00], readCount: 1).get() == [0x12])
    }

    @Test func attachingTwoPartsAtOneAddressIsAProgrammerError() async {
        await #expect(processExitsWith: .failure) {
            let bus = SimulatedI2CBus()
            bus.attach(MCP9600Simulator(part: .mcp9600, hotJunction: { 0 }, coldJunction: { 0 }), at: 0x60)
            bus.attach(MCP9600Simulator(part: .mcp9601, hotJunction: { 0 }, coldJunction: { 0 }), at: 0x60)
        }
    }
}
