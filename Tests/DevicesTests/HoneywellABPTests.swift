import Testing
import Transports
import Twin
@testable import Devices

struct HoneywellABPTests {
    /// (byte 1, byte 2) -> status and counts, from the technical note's layout: S1 S0 in bits 7..6
    /// of byte 1, bridge data 13..8 in its bits 5..0, bits 7..0 in byte 2.
    @Test(arguments: [
        (UInt8(0x06), UInt8(0x66), HoneywellABP.Status.normal, UInt16(1638)),
        (0x39, 0x99, .normal, 14745),
        (0xA0, 0x00, .stale, 0x2000),
        (0x7F, 0xFF, .commandMode, 0x3FFF),
        (0xFF, 0xFF, .diagnostic, 0x3FFF),
        (0x00, 0x00, .normal, 0),
    ])
    func decodesStatusAndCounts(msb: UInt8, lsb: UInt8, status: HoneywellABP.Status, counts: UInt16) {
        let decoded = HoneywellABP.decode(msb: msb, lsb: lsb)
        #expect(decoded.status == status)
        #expect(decoded.counts == counts)
    }

    /// Transfer function A: 10 % of 2^14 (1638) is Pmin, 90 % (14745) is Pmax; 4915 counts is
    /// 3277 of the 13107-count span: 250.019 mbar of 0...1000 (by hand: 3277 / 13.107).
    @Test(arguments: [
        (UInt16(1638), 0.0...1000.0, 0.0),
        (14745, 0.0...1000.0, 1000.0),
        (4915, 0.0...1000.0, 250.0191),
        (1638, -500.0...500.0, -500.0),
        (14745, 0.0...1600.0, 1600.0),
        (0, 0.0...1000.0, -124.9714),  // below the calibrated band: extrapolated
    ])
    func transferFunction(counts: UInt16, range: ClosedRange<Double>, mbar: Double) {
        #expect(abs(HoneywellABP.mbar(counts: counts, range: range) - mbar) < 0.0001)
    }

    private func rig(
        mbar: Double = 600, trigger: HoneywellABPSimulator.ConversionTrigger = .everyRead
    ) -> (SimulatedI2CBus, HoneywellABPSimulator, HoneywellABP) {
        let bus = SimulatedI2CBus()
        let simulator = HoneywellABPSimulator(rangeMbar: 0...1000, conversionTrigger: trigger) { mbar }
        bus.attach(simulator, at: 0x28)
        return (bus, simulator, HoneywellABP(bus: bus, rangeMbar: 0...1000))
    }

    @Test func readsThePlantThroughTheSimulator() throws {
        let (_, simulator, sensor) = rig(mbar: 600)
        let reading = try sensor.read()
        // 1638 + 0.6 × 13107 = 9502.2 -> 9502 counts -> 599.985 mbar.
        #expect(reading.counts == 9502)
        #expect(abs(reading.mbar - 599.9847) < 0.0001)
        #expect(!reading.isStale && reading.isWithinCalibratedRange)
        #expect(simulator.readCount == 1)
    }

    @Test func secondReadBeforeAConversionIsStale() throws {
        let clock = VirtualClock()
        let (_, _, sensor) = rig(mbar: 250, trigger: .periodic(clock: clock, interval: .milliseconds(2)))
        let first = try sensor.read()
        let second = try sensor.read()
        #expect(!first.isStale)
        #expect(second.isStale && second.counts == first.counts)
        clock.advance(seconds: 0.002)
        #expect(try !sensor.read().isStale)
    }

    @Test func overRangeIsFlaggedNotHidden() throws {
        let (_, _, sensor) = rig(mbar: 1100)
        let reading = try sensor.read()
        // 1638 + 1.1 × 13107 = 16055.7 -> 16056 counts: above 14745.
        #expect(reading.counts == 16056)
        #expect(!reading.isWithinCalibratedRange)
        #expect(abs(reading.mbar - 1100.02) < 0.05)
    }

    @Test(arguments: [UInt8(0b01), 0b11])
    func commandModeAndDiagnosticFailAfterOneRetry(status: UInt8) {
        let (_, simulator, sensor) = rig()
        simulator.forcedStatus = status
        #expect {
            try sensor.read()
        } throws: { error in
            guard let error = error as? HoneywellABPError, case .status(let reported, _) = error.kind else { return false }
            return reported.rawValue == status && error.address == 0x28
        }
        #expect(simulator.readCount == 2)
    }

    @Test func releasedBusReadsAsDiagnostic() {
        let (bus, _, sensor) = rig()
        bus.corruptNextReplies(at: 0x28, [.allOnes, .allOnes])
        #expect(throws: HoneywellABPError(bus: "twin:main", address: 0x28, kind: .status(.diagnostic, bytes: [0xFF, 0xFF]))) {
            try sensor.read()
        }
    }

    @Test func oneNakIsRetriedTwoAreThrown() throws {
        let (bus, simulator, sensor) = rig()
        simulator.nakNext(1)
        #expect(try sensor.read().counts == 9502)
        bus.failNext(2, at: 0x28)
        #expect {
            try sensor.read()
        } throws: { error in
            guard let error = error as? HoneywellABPError, case .bus(let busError) = error.kind else { return false }
            return busError.reason == .noAcknowledge && error.description.contains("0x28")
        }
    }

    @Test func absentSensorIsABusError() {
        let bus = SimulatedI2CBus()
        let sensor = HoneywellABP(bus: bus, address: 0x38, rangeMbar: 0...1000)
        #expect(throws: HoneywellABPError.self) { try sensor.read() }
        #expect(bus.transactionCount(at: 0x38) == 2)
    }

    @Test func simulatorNaksWritesWithDataAndConvertsOnAMeasurementRequest() throws {
        let (bus, simulator, _) = rig()
        #expect(throws: I2CError.self) {
            try bus.writeRegister(address: 0x28, register: 0x00, bytes: [])
        }
        let before = simulator.conversionCount
        try bus.transfer(
            address: 0x28, write: UnsafeRawBufferPointer(start: nil, count: 0),
            read: UnsafeMutableRawBufferPointer(start: nil, count: 0))
        #expect(simulator.conversionCount == before + 1)
    }
}
