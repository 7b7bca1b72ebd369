import Devices
import Testing
import Transports
import Twin

/// The plant's temperatures as the simulator sees them; tests move them.
private final class StubPlant {
    var hot: Double
    var cold: Double
    init(hot: Double, cold: Double) {
        self.hot = hot
        self.cold = cold
    }
}

/// One MCP9600/MCP9601 driver talking to one simulator over the simulated bus.
private struct Bench {
    let bus: SimulatedI2CBus
    let simulator: MCP9600Simulator
    let sensor: MCP9600
    let plant: StubPlant
    let address: UInt8

    init(
        simulatorPart: MCP9600Simulator.Part = .mcp9600, address: UInt8 = 0x60, hot: Double = 200,
        cold: Double = 22, trigger: MCP9600Simulator.ConversionTrigger = .beforeEveryRead,
        revision: UInt8 = 0x10
    ) {
        let plant = StubPlant(hot: hot, cold: cold)
        bus = SimulatedI2CBus(name: "twin:main")
        simulator = MCP9600Simulator(
            part: simulatorPart, revision: revision, hotJunction: { plant.hot }, coldJunction: { plant.cold },
            conversionTrigger: trigger)
        bus.attach(simulator, at: address)
        sensor = MCP9600(bus: bus, address: address)
        self.plant = plant
        self.address = address
    }

    var transactions: Int { bus.transactionCount(at: address) }

    /// Configures for `part` (the simulator's by default) and type K, and zeroes the counters.
    func configured(
        as part: MCP9600.Part? = nil, _ configuration: MCP9600.Configuration = .init(thermocouple: .k)
    ) throws -> Bench {
        let expected = part ?? (simulator.part == .mcp9600 ? .mcp9600 : .mcp9601)
        try sensor.configure(part: expected, configuration: configuration)
        bus.resetTransactionCounts()
        return self
    }
}

/// The error `body` throws, or nil (typed throws keep the context the test checks).
private func mcpError<T>(_ body: () throws(MCP9600Error) -> T) -> MCP9600Error? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}

// MARK: - Pure decoding

@Suite("MCP9600 decode and encode")
struct MCP9600DecodeTests {
    /// Register bytes (MSB, LSB) and the temperature they stand for. 0x01 0x94 = +25.25 °C is the
    /// datasheet's own example (Figure 4-3); the rest follow Register 5-2's bit weights
    /// (sign, 1024 °C ... 0.0625 °C).
    static let table: [(msb: UInt8, lsb: UInt8, celsius: Double)] = [
        (0x01, 0x94, 25.25),
        (0x01, 0x90, 25.0),
        (0xFF, 0xF0, -1.0),
        (0x0F, 0xA0, 250.0),
        (0x00, 0x01, 0.0625),
        (0x00, 0x00, 0.0),
        (0xFF, 0xFF, -0.0625),
        (0xFC, 0x90, -55.0),
        (0x55, 0xC0, 1372.0),
        (0xF3, 0x80, -200.0),
        (0x04, 0x00, 64.0),
        (0x40, 0x00, 1024.0),
        (0x7F, 0xFF, 2047.9375),
        (0x80, 0x00, -2048.0),
        (0xFD, 0x80, -40.0),
        (0x07, 0xD0, 125.0),
    ]

    @Test(arguments: table)
    func celsiusDecodesRegisterBytes(row: (msb: UInt8, lsb: UInt8, celsius: Double)) {
        #expect(MCP9600.celsius(msb: row.msb, lsb: row.lsb) == row.celsius)
    }

    /// Equation 5-1: T = UpperByte × 16 + LowerByte / 16, minus 4096 when the sign bit is set.
    @Test func celsiusEqualsTheDatasheetEquationForEveryCode() {
        var mismatches = 0
        for code in 0...0xFFFF {
            let upper = UInt8(code >> 8)
            let lower = UInt8(code & 0xFF)
            var equation = Double(upper) * 16 + Double(lower) / 16
            if upper & 0x80 != 0 { equation -= 4096 }
            if MCP9600.celsius(msb: upper, lsb: lower) != equation { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    static let sensorBytes: [(MCP9600.ThermocoupleType, UInt8, UInt8)] = [
        (.k, 0, 0x00), (.j, 0, 0x10), (.t, 0, 0x20), (.n, 0, 0x30), (.s, 0, 0x40), (.e, 0, 0x50),
        (.b, 0, 0x60), (.r, 0, 0x70), (.k, 7, 0x07), (.j, 3, 0x13), (.r, 7, 0x77), (.e, 4, 0x54),
    ]

    @Test(arguments: sensorBytes)
    func sensorConfigurationByte(type: MCP9600.ThermocoupleType, filter: UInt8, expected: UInt8) {
        #expect(MCP9600.sensorConfigurationByte(thermocouple: type, filter: filter) == expected)
    }

    @Test(arguments: [
        (MCP9600.ADCResolution.bits18, UInt8(0x00)), (.bits16, 0x20), (.bits14, 0x40), (.bits12, 0x60),
    ])
    func deviceConfigurationByte(resolution: MCP9600.ADCResolution, expected: UInt8) {
        #expect(MCP9600.deviceConfigurationByte(adcResolution: resolution) == expected)
    }

    @Test(arguments: [(18, MCP9600.ADCResolution.bits18), (16, .bits16), (14, .bits14), (12, .bits12)])
    func adcResolutionFromBits(bits: Int, expected: MCP9600.ADCResolution) {
        #expect(MCP9600.ADCResolution(bits: bits) == expected)
        #expect(expected.bits == bits)
    }

    @Test(arguments: [0, 10, 17, 20, 24])
    func adcResolutionRejectsOtherWidths(bits: Int) {
        #expect(MCP9600.ADCResolution(bits: bits) == nil)
    }

    /// STATUS byte, part -> decoded fields.
    static let statuses: [(UInt8, MCP9600.Part, ThermocoupleFault?, ThermocoupleAlerts, [Bool])] = [
        // burst, updated, inputRange, open, short
        (0x00, .mcp9600, nil, [], [false, false, false, false, false]),
        (0x40, .mcp9600, nil, [], [false, true, false, false, false]),
        (0xC0, .mcp9601, nil, [], [true, true, false, false, false]),
        (0x50, .mcp9600, .inputRangeExceeded, [], [false, true, true, false, false]),
        (0x50, .mcp9601, .openCircuit, [], [false, true, false, true, false]),
        (0x60, .mcp9601, .shortCircuit, [], [false, true, false, false, true]),
        (0x4F, .mcp9600, nil, [.alert1, .alert2, .alert3, .alert4], [false, true, false, false, false]),
        (0x05, .mcp9601, nil, [.alert1, .alert3], [false, false, false, false, false]),
    ]

    @Test(arguments: statuses)
    func statusDecoding(
        status: UInt8, part: MCP9600.Part, fault: ThermocoupleFault?, alerts: ThermocoupleAlerts, flags: [Bool]
    ) {
        let reading = ThermocoupleReading(hotJunctionCelsius: 1, coldJunctionCelsius: 2, status: status, part: part)
        #expect(reading.rawStatus == status)
        #expect(reading.fault == fault)
        #expect(reading.alerts == alerts)
        #expect(
            [reading.burstComplete, reading.hotJunctionUpdated, reading.inputRangeExceeded, reading.openCircuit,
             reading.shortCircuit] == flags)
    }

    @Test(arguments: [
        (UInt8(0xFF), MCP9600.Part.mcp9600, MCP9600.GarbleReason?.some(.releasedBus)),
        (0xFF, .mcp9601, .releasedBus),
        (0x20, .mcp9600, .unimplementedStatusBitSet),
        (0x7F, .mcp9600, .unimplementedStatusBitSet),
        (0x30, .mcp9601, .openAndShortCircuitTogether),
        (0x20, .mcp9601, nil),
        (0xDF, .mcp9600, nil),
        (0x00, .mcp9600, nil),
    ])
    func statusGarbleRule(status: UInt8, part: MCP9600.Part, expected: MCP9600.GarbleReason?) {
        #expect(MCP9600.statusGarbleReason(status, part: part) == expected)
    }

    @Test(arguments: [
        (UInt8(0x10), UInt8(0x00), MCP9600.GarbleReason?.some(.coldJunctionSignBitsDisagree)),
        (0xFF, 0xFF, nil),  // -0.0625 °C: suspect, so read() confirms it with a second read
        (0xE0, 0x00, .coldJunctionSignBitsDisagree),
        (0x08, 0x00, .coldJunctionOutOfRange(celsius: 128)),
        (0xFD, 0x70, .coldJunctionOutOfRange(celsius: -41)),
        (0xFD, 0x80, nil),  // -40 °C, the bottom of the operating range
        (0x07, 0xD0, nil),  // +125 °C, the top
        (0x01, 0x60, nil),  // 22 °C
        (0xFF, 0xF0, nil),  // -1 °C
    ])
    func coldJunctionGarbleRule(msb: UInt8, lsb: UInt8, expected: MCP9600.GarbleReason?) {
        #expect(MCP9600.coldJunctionGarbleReason(msb: msb, lsb: lsb) == expected)
    }
}

// MARK: - Driver against the simulator

@Suite("MCP9600 driver against the simulator")
struct MCP9600DriverTests {
    /// Type x filter x ADC resolution -> the exact bytes Registers 0x05 and 0x06 must hold.
    static let configurations: [(MCP9600.ThermocoupleType, UInt8, MCP9600.ADCResolution, UInt8, UInt8)] = [
        (.k, 0, .bits18, 0x00, 0x00),
        (.j, 1, .bits16, 0x11, 0x20),
        (.t, 2, .bits14, 0x22, 0x40),
        (.n, 3, .bits12, 0x33, 0x60),
        (.s, 4, .bits18, 0x44, 0x00),
        (.e, 5, .bits16, 0x55, 0x20),
        (.b, 6, .bits14, 0x66, 0x40),
        (.r, 7, .bits12, 0x77, 0x60),
        (.k, 7, .bits12, 0x07, 0x60),
        (.r, 0, .bits18, 0x70, 0x00),
    ]

    @Test(arguments: configurations)
    func configureWritesExactRegisterBytes(
        type: MCP9600.ThermocoupleType, filter: UInt8, resolution: MCP9600.ADCResolution, sensorByte: UInt8,
        deviceByte: UInt8
    ) throws {
        let bench = Bench()
        let configuration = MCP9600.Configuration(thermocouple: type, filter: filter, adcResolution: resolution)
        try bench.sensor.configure(part: .mcp9600, configuration: configuration)
        #expect(bench.simulator.registerBytes(0x05) == [sensorByte])
        #expect(bench.simulator.registerBytes(0x06) == [deviceByte])
        #expect(configuration.sensorConfigurationByte == sensorByte)
        #expect(configuration.deviceConfigurationByte == deviceByte)
        // ID read, then write + read-back for each of the two registers.
        #expect(bench.transactions == 5)
        #expect(bench.simulator.writeCount == 2)
        #expect(bench.sensor.configured?.configuration == configuration)
    }

    @Test func boardFileOverloadConfiguresTheSameBytes() throws {
        let bench = Bench(simulatorPart: .mcp9601)
        let identity = try bench.sensor.configure(part: .mcp9601, type: .j, filter: 3, adcResolutionBits: 14)
        #expect(identity == MCP9600.Identity(part: .mcp9601, revision: 0x10))
        #expect(bench.simulator.registerBytes(0x05) == [0x13])
        #expect(bench.simulator.registerBytes(0x06) == [0x40])
    }

    @Test func configureReportsTheRevision() throws {
        let bench = Bench(revision: 0x23)
        let identity = try bench.sensor.configure(part: .mcp9600, configuration: .init(thermocouple: .k))
        #expect(identity.revision == 0x23)
        #expect(identity.part == .mcp9600)
    }

    @Test func readReturnsThePlantTemperatures() throws {
        let bench = try Bench(hot: 240.5, cold: 23.25).configured()
        let readsBefore = bench.simulator.readCount
        let reading = try bench.sensor.read()
        #expect(reading.hotJunctionCelsius == 240.5)
        #expect(reading.coldJunctionCelsius == 23.25)
        #expect(reading.fault == nil)
        #expect(reading.hotJunctionUpdated)
        #expect(bench.transactions == 3)
        #expect(bench.simulator.readCount - readsBefore == 3)
    }

    /// Every 0.0625 °C step of type K's working span, encoded by the simulator, decoded by the driver.
    @Test func roundTripAtEverySixteenthOfADegree() throws {
        let bench = try Bench(cold: 21.5).configured()
        var mismatches: [Double] = []
        for step in -3200...21952 {  // -200 °C ... +1372 °C
            let celsius = Double(step) * 0.0625
            bench.plant.hot = celsius
            let reading = try bench.sensor.read()
            if reading.hotJunctionCelsius != celsius || reading.fault != nil { mismatches.append(celsius) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    @Test(arguments: MCP9600.ThermocoupleType.allCases)
    func rangeEndsOfEveryTypeReadBack(type: MCP9600.ThermocoupleType) throws {
        let bench = try Bench().configured(as: .mcp9600, .init(thermocouple: type))
        for celsius in [type.tableRange.lowerBound, type.tableRange.upperBound] {
            bench.plant.hot = celsius
            let reading = try bench.sensor.read()
            #expect(abs(reading.hotJunctionCelsius - celsius) <= 0.03125)
            #expect(reading.fault == nil)
        }
    }

    // MARK: Retries

    @Test func aNAKIsRetriedOnce() throws {
        let bench = try Bench(hot: 250).configured()
        let readsBefore = bench.simulator.readCount
        bench.bus.failNext(1, at: bench.address)
        let reading = try bench.sensor.read()
        #expect(reading.hotJunctionCelsius == 250)
        // Status twice (NAK, then the retry), hot and cold once.
        #expect(bench.transactions == 4)
        #expect(bench.simulator.readCount - readsBefore == 3)
    }

    @Test func aNAKedWriteIsRetriedOnce() throws {
        let bench = try Bench().configured()
        let writesBefore = bench.simulator.writeCount
        bench.bus.failNext(1, at: bench.address)
        try bench.sensor.clearConversionFlags()
        #expect(bench.transactions == 2)
        #expect(bench.simulator.writeCount - writesBefore == 1)
    }

    @Test func twoNAKsThrowWithBusAddressAndRegister() throws {
        let bench = try Bench().configured()
        bench.bus.failNext(2, at: bench.address)
        let error = try #require(mcpError { () throws(MCP9600Error) in try bench.sensor.read() })
        #expect(error.bus == "twin:main")
        #expect(error.address == 0x60)
        #expect(error.register == 0x04)
        #expect(error.underlying?.reason == .noAcknowledge)
        #expect(error.underlying?.register == 0x04)
        #expect(error.underlying?.operation == "I2C_RDWR")
        #expect(bench.transactions == 2)
        #expect(error.description.contains("twin:main"))
        #expect(error.description.contains("0x60"))
        #expect(error.description.contains("register 0x04"))
        #expect(error.description.contains("noAcknowledge"))
    }

    @Test func aSimulatorBusyNAKIsRetried() throws {
        let bench = try Bench(hot: 100).configured()
        bench.simulator.nakNext(1)
        #expect(try bench.sensor.read().hotJunctionCelsius == 100)
        bench.simulator.isBusy = true
        let error = try #require(mcpError { () throws(MCP9600Error) in try bench.sensor.read() })
        #expect(error.underlying?.reason == .noAcknowledge)
    }

    @Test func aTwiceFailedWriteThrows() throws {
        let bench = try Bench().configured()
        bench.bus.failNext(2, at: bench.address, reason: .timeout)
        let error = try #require(mcpError { () throws(MCP9600Error) in try bench.sensor.clearConversionFlags() })
        #expect(error.register == 0x04)
        #expect(error.underlying?.reason == .timeout)
    }

    @Test func anAbsentAddressNAKs() throws {
        let bench = Bench(address: 0x60)
        let orphan = MCP9600(bus: bench.bus, address: 0x61)
        let error = try #require(mcpError { () throws(MCP9600Error) in
            try orphan.configure(part: .mcp9600, configuration: .init(thermocouple: .k))
        })
        #expect(error.address == 0x61)
        #expect(error.register == 0x20)
        #expect(error.underlying?.reason == .noAcknowledge)
        #expect(error.underlying?.bus == "twin:main")
        #expect(bench.bus.transactionCount(at: 0x61) == 2)
        #expect(bench.bus.transactionCount(at: 0x60) == 0)
        #expect(orphan.configured == nil)
    }

    // MARK: Garbled replies

    @Test func aGarbledReplyIsRetriedOnce() throws {
        let bench = try Bench(hot: 180).configured()
        bench.bus.corruptNextReply(at: bench.address, .allOnes)
        #expect(try bench.sensor.read().hotJunctionCelsius == 180)
        #expect(bench.transactions == 4)
    }

    /// The driver's part, bus corruptions per reply (status, hot, cold order), and the error.
    static let garbles: [(MCP9600.Part, [SimulatedI2CBus.ReplyCorruption], UInt8, [UInt8], MCP9600.GarbleReason)] = [
        (.mcp9600, [.allOnes, .allOnes], 0x04, [0xFF], .releasedBus),
        (.mcp9601, [.allOnes, .allOnes], 0x04, [0xFF], .releasedBus),
        (.mcp9600, [.pattern([0x20]), .pattern([0x20])], 0x04, [0x20], .unimplementedStatusBitSet),
        (.mcp9601, [.pattern([0x30]), .pattern([0x30])], 0x04, [0x30], .openAndShortCircuitTogether),
        (.mcp9601, [.releasedAfter(bytes: 0), .releasedAfter(bytes: 0)], 0x04, [0xFF], .releasedBus),
        (
            .mcp9600, [.intact, .pattern([0x7F, 0xF0]), .pattern([0x7F, 0xF0])], 0x00, [0x7F, 0xF0],
            .hotJunctionOutOfRange(celsius: 2047, thermocouple: .k)
        ),
        (
            .mcp9601, [.intact, .pattern([0xEE, 0x00]), .pattern([0xEE, 0x00])], 0x00, [0xEE, 0x00],
            .hotJunctionOutOfRange(celsius: -288, thermocouple: .k)
        ),
        (
            .mcp9600, [.intact, .allOnes, .pattern([0x7F, 0xF0])], 0x00, [0x7F, 0xF0],
            .hotJunctionOutOfRange(celsius: 2047, thermocouple: .k)
        ),
        (
            .mcp9600, [.intact, .intact, .pattern([0x10, 0x00]), .pattern([0x10, 0x00])], 0x02, [0x10, 0x00],
            .coldJunctionSignBitsDisagree
        ),
        (
            .mcp9600, [.intact, .intact, .pattern([0x08, 0x00]), .pattern([0x08, 0x00])], 0x02, [0x08, 0x00],
            .coldJunctionOutOfRange(celsius: 128)
        ),
        (
            .mcp9601, [.intact, .intact, .pattern([0xFD, 0x70]), .pattern([0xFD, 0x70])], 0x02, [0xFD, 0x70],
            .coldJunctionOutOfRange(celsius: -41)
        ),
    ]

    @Test(arguments: garbles)
    func twiceGarbledRepliesThrowWithTheRawBytes(
        part: MCP9600.Part, corruptions: [SimulatedI2CBus.ReplyCorruption], register: UInt8, bytes: [UInt8],
        reason: MCP9600.GarbleReason
    ) throws {
        let bench = try Bench(simulatorPart: part == .mcp9600 ? .mcp9600 : .mcp9601).configured()
        bench.bus.corruptNextReplies(at: bench.address, corruptions)
        let error = try #require(mcpError { () throws(MCP9600Error) in try bench.sensor.read() })
        #expect(error.kind == .garbled(bytes: bytes, reason: reason))
        #expect(error.register == register)
        #expect(error.bus == "twin:main")
        #expect(error.address == 0x60)
        #expect(error.underlying == nil)
        #expect(error.description.contains("garbled reply"))
        #expect(bench.transactions == corruptions.count)
        // The next read, with nothing corrupted, is good again.
        #expect(try bench.sensor.read().fault == nil)
    }

    /// 0xFFFF is a released bus or a real -0.0625 °C: once is re-read, twice is believed.
    /// Reply 1 is the hot junction, reply 2 the cold junction (reply 0 is STATUS).
    @Test(arguments: [1, 2])
    func aLoneAllOnesTemperatureIsReadAgain(reply: Int) throws {
        let bench = try Bench(hot: 200, cold: 22).configured()
        bench.bus.corruptNextReplies(at: bench.address, Array(repeating: .intact, count: reply) + [.allOnes])
        let reading = try bench.sensor.read()
        #expect(reading.hotJunctionCelsius == 200)
        #expect(reading.coldJunctionCelsius == 22)
        #expect(bench.transactions == 4)
    }

    @Test func aConfirmedMinusOneSixteenthIsARealTemperature() throws {
        let bench = try Bench(hot: -0.0625, cold: -0.0625).configured()
        let reading = try bench.sensor.read()
        #expect(reading.hotJunctionCelsius == -0.0625)
        #expect(reading.coldJunctionCelsius == -0.0625)
        #expect(bench.transactions == 5)  // status, hot twice, cold twice
    }

    @Test func theSimulatorsOwnGarbleIsCaught() throws {
        let bench = try Bench().configured()
        bench.simulator.garbleNext(2)
        let error = try #require(mcpError { () throws(MCP9600Error) in try bench.sensor.read() })
        #expect(error.kind == .garbled(bytes: [0xFF], reason: .releasedBus))
        bench.simulator.isGarbling = true
        #expect(mcpError { () throws(MCP9600Error) in try bench.sensor.read() } != nil)
        bench.simulator.isGarbling = false
        #expect(try bench.sensor.read().hotJunctionCelsius == 200)
    }

    @Test func aFlippedBitIsCaughtWhenItLeavesTheRange() throws {
        // 200 °C is 0x0C80; flipping bit 14 of the MSB gives 0x4C80 = 1224 °C, beyond type T's 400.
        let bench = try Bench(hot: 200).configured(as: .mcp9600, .init(thermocouple: .t))
        bench.bus.corruptNextReplies(at: bench.address, [.intact, .pattern([0x4C, 0x80])])
        #expect(try bench.sensor.read().hotJunctionCelsius == 200)
        #expect(bench.transactions == 4)
    }

    @Test func aShortTransferIsABusError() throws {
        let bench = try Bench().configured()
        bench.bus.corruptNextReplies(at: bench.address, [.intact, .truncated(afterBytes: 1), .truncated(afterBytes: 1)])
        let error = try #require(mcpError { () throws(MCP9600Error) in try bench.sensor.read() })
        #expect(error.register == 0x00)
        #expect(error.underlying?.reason == .shortTransfer(expected: 2, actual: 1))
    }

    // MARK: Identity and configuration

    @Test(arguments: [(MCP9600.Part.mcp9601, MCP9600Simulator.Part.mcp9600), (.mcp9600, .mcp9601)])
    func aWrongPartIsAnIDMismatch(expected: MCP9600.Part, wired: MCP9600Simulator.Part) throws {
        let bench = Bench(simulatorPart: wired, revision: 0x12)
        let error = try #require(mcpError { () throws(MCP9600Error) in
            try bench.sensor.configure(part: expected, configuration: .init(thermocouple: .k))
        })
        #expect(error.kind == .deviceMismatch(expected: expected, foundID: wired.deviceID, revision: 0x12))
        #expect(error.register == 0x20)
        #expect(error.foundPart != nil && error.foundPart != expected)
        let found = expected == .mcp9600 ? "MCP9601" : "MCP9600"
        #expect(error.description.contains("expected \(expected), found \(found)"))
        #expect(bench.transactions == 2)  // read, and one retry
        #expect(bench.simulator.writeCount == 0)  // nothing written to the wrong part
        #expect(bench.sensor.configured == nil)
    }

    @Test func aPartThatReportsAnotherIDIsAMismatch() throws {
        let bench = Bench(simulatorPart: .mcp9601)
        bench.simulator.reportedPart = .mcp9600
        let error = try #require(mcpError { () throws(MCP9600Error) in
            try bench.sensor.configure(part: .mcp9601, configuration: .init(thermocouple: .k))
        })
        #expect(error.kind == .deviceMismatch(expected: .mcp9601, foundID: 0x40, revision: 0x10))
    }

    @Test func anUnknownIDIsAMismatchNamingNoPart() throws {
        let bench = Bench()
        bench.bus.corruptNextReplies(at: bench.address, [.pattern([0x12, 0x34]), .pattern([0x12, 0x34])])
        let error = try #require(mcpError { () throws(MCP9600Error) in
            try bench.sensor.configure(part: .mcp9600, configuration: .init(thermocouple: .k))
        })
        #expect(error.kind == .deviceMismatch(expected: .mcp9600, foundID: 0x12, revision: 0x34))
        #expect(error.foundPart == nil)
        #expect(error.description.contains("found an unknown part (device ID 0x12"))
    }

    @Test func aGarbledIDOnceIsRetried() throws {
        let bench = Bench(simulatorPart: .mcp9601)
        bench.bus.corruptNextReply(at: bench.address, .allOnes)
        try bench.sensor.configure(part: .mcp9601, configuration: .init(thermocouple: .k))
        #expect(bench.transactions == 6)
    }

    @Test func aWrongReadBackIsAConfigurationMismatch() throws {
        let bench = Bench()
        // Replies: ID, then the read-back of 0x05 and its retry (the write has no reply).
        bench.bus.corruptNextReplies(at: bench.address, [.intact, .pattern([0x99]), .pattern([0x99])])
        let error = try #require(mcpError { () throws(MCP9600Error) in
            try bench.sensor.configure(part: .mcp9600, configuration: .init(thermocouple: .j, filter: 2))
        })
        #expect(error.kind == .configurationMismatch(wrote: 0x12, readBack: 0x99))
        #expect(error.register == 0x05)
        #expect(error.description.contains("wrote 0x12, read back 0x99"))
        #expect(bench.sensor.configured == nil)
    }

    // MARK: Faults the part reports

    @Test func openCircuitOnMCP9601() throws {
        let bench = try Bench(simulatorPart: .mcp9601).configured()
        bench.simulator.thermocouple = .open
        let reading = try bench.sensor.read()
        #expect(reading.fault == .openCircuit)
        #expect(reading.openCircuit)
        #expect(!reading.shortCircuit)
        #expect(!reading.inputRangeExceeded)
        #expect(reading.rawStatus & 0x10 != 0)
        #expect(reading.hotJunctionCelsius == 1372)  // the range limit, not a temperature
    }

    @Test func shortCircuitOnMCP9601() throws {
        let bench = try Bench(simulatorPart: .mcp9601, hot: 260, cold: 24.5).configured()
        bench.simulator.thermocouple = .shorted
        let reading = try bench.sensor.read()
        #expect(reading.fault == .shortCircuit)
        #expect(reading.shortCircuit)
        #expect(!reading.openCircuit)
        #expect(reading.hotJunctionCelsius == 24.5)  // no EMF: the cold junction
        bench.simulator.thermocouple = .connected
        #expect(try bench.sensor.read().fault == nil)
    }

    @Test func inputRangeOnMCP9600WhenOpen() throws {
        let bench = try Bench(simulatorPart: .mcp9600).configured()
        bench.simulator.thermocouple = .open
        let reading = try bench.sensor.read()
        #expect(reading.fault == .inputRangeExceeded)
        #expect(reading.inputRangeExceeded)
        #expect(!reading.openCircuit)
        #expect(reading.hotJunctionCelsius == 1372)
    }

    @Test func inputRangeOnMCP9600WhenBeyondTheType() throws {
        let bench = try Bench(hot: 500).configured(as: .mcp9600, .init(thermocouple: .t))
        let reading = try bench.sensor.read()
        #expect(reading.fault == .inputRangeExceeded)
        #expect(reading.hotJunctionCelsius == 400)
    }

    @Test func aShortedMCP9600ReadsTheColdJunctionWithNoFault() throws {
        let bench = try Bench(simulatorPart: .mcp9600, hot: 260, cold: 24).configured()
        bench.simulator.thermocouple = .shorted
        let reading = try bench.sensor.read()
        #expect(reading.fault == nil)
        #expect(reading.hotJunctionCelsius == 24)
    }

    @Test func clearingTheUpdateFlagShowsAStaleConverter() throws {
        let bench = try Bench(hot: 150, trigger: .manual).configured()
        bench.simulator.convert()
        #expect(try bench.sensor.read().hotJunctionUpdated)
        try bench.sensor.clearConversionFlags()
        bench.plant.hot = 160
        let stale = try bench.sensor.read()
        #expect(!stale.hotJunctionUpdated)
        #expect(stale.hotJunctionCelsius == 150)
        bench.simulator.convert()
        let fresh = try bench.sensor.read()
        #expect(fresh.hotJunctionUpdated)
        #expect(fresh.hotJunctionCelsius == 160)
    }

    @Test func aStuckConverterKeepsTheLastValue() throws {
        let bench = try Bench(hot: 210).configured()
        #expect(try bench.sensor.read().hotJunctionCelsius == 210)
        bench.simulator.isStuck = true
        bench.plant.hot = 250
        #expect(try bench.sensor.read().hotJunctionCelsius == 210)
        bench.simulator.isStuck = false
        #expect(try bench.sensor.read().hotJunctionCelsius == 250)
    }

    @Test func readBeforeConfigureIsAProgrammerError() async {
        await #expect(processExitsWith: .failure) {
            let bus = SimulatedI2CBus()
            let sensor = MCP9600(bus: bus, address: 0x60)
            _ = try? sensor.read()
        }
    }

    @Test func anAddressOutsideTheADDRRangeIsAProgrammerError() async {
        await #expect(processExitsWith: .failure) {
            _ = MCP9600(bus: SimulatedI2CBus(), address: 0x48)
        }
    }
}
