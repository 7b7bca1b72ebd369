import KernelTwin
import Testing
import Transports
import Twin

/// The CP2112 emulator against AN495's report formats and the hid-cp2112 driver's use of them.
@Suite struct CP2112EmulatorTests {
    /// AN495 report sizes, report ID included: (id, main item tag, bytes).
    static let an495: [(UInt8, UInt8, Int)] = [
        (0x02, 0xB1, 5), (0x03, 0xB1, 2), (0x04, 0xB1, 3), (0x05, 0xB1, 3), (0x06, 0xB1, 14),
        (0x10, 0x91, 64), (0x11, 0x91, 64), (0x12, 0x91, 64), (0x13, 0x81, 64), (0x14, 0x91, 64),
        (0x15, 0x91, 64), (0x16, 0x81, 7), (0x17, 0x91, 64), (0x20, 0xB1, 2),
    ]

    /// Walks the short items of the report descriptor (HID 1.11 §6.2.2.2) and collects, per
    /// report ID, the main item and the bytes (count x size / 8 + 1).
    static func parsedReports() -> [UInt8: (tag: UInt8, bytes: Int)] {
        let descriptor = CP2112Emulator.reportDescriptor
        var reports: [UInt8: (tag: UInt8, bytes: Int)] = [:]
        var index = 0
        var reportID: UInt8 = 0
        var count = 0
        var size = 0
        while index < descriptor.count {
            let prefix = descriptor[index]
            let dataSize = [0, 1, 2, 4][Int(prefix & 0x03)]
            var value = 0
            for byte in 0..<dataSize { value |= Int(descriptor[index + 1 + byte]) << (8 * byte) }
            switch prefix & 0xFC {
            case 0x84: reportID = UInt8(value)
            case 0x94: count = value
            case 0x74: size = value
            case 0x80, 0x90, 0xB0: reports[reportID] = (prefix | 0x01, count * size / 8 + 1)
            default: break
            }
            index += 1 + dataSize
        }
        return reports
    }

    @Test(arguments: an495)
    func reportDescriptorDeclaresEachReportAtItsSize(id: UInt8, tag: UInt8, bytes: Int) throws {
        let report = try #require(Self.parsedReports()[id], "report 0x\(String(id, radix: 16)) is missing")
        #expect(report.tag == tag)
        #expect(report.bytes == bytes)
        let hid = CP2112Emulator.hidDescriptor
        #expect(Int(hid[7]) | Int(hid[8]) << 8 == CP2112Emulator.reportDescriptor.count)
    }

    @Test func versionIsThePartAndAVersionThatAllowsWriteRead() throws {
        let emulator = CP2112Emulator(bus: SimulatedI2CBus())
        #expect(emulator.getFeature(0x05, length: 3) == [0x05, 0x0C, 0x02])
        #expect(emulator.getFeature(0x06, length: 14)?.count == 14)
        #expect(emulator.getFeature(0x42, length: 8) == nil)
    }

    /// What hid-cp2112 does for `direction_output(offset, value)`: read the configuration, set the
    /// direction bit, write it back with push-pull, then GPIO set with a one-bit mask.
    @Test func outputsDriveTheirLatchOnlyWhenPushPull() throws {
        let emulator = CP2112Emulator(bus: SimulatedI2CBus())
        var seen: [UInt8] = []
        emulator.onLevels = { seen.append($0) }
        #expect(emulator.drivenLevels == 0, "at reset every pin is an input")
        var configuration = try #require(emulator.getFeature(0x02, length: 5))
        configuration[1] |= 0b0000_0101  // pins 0 and 2 outputs
        configuration[2] = 0b0000_0001  // pin 0 push-pull, pin 2 open drain
        #expect(emulator.setFeature(Array(configuration.prefix(4))))
        #expect(emulator.setFeature([0x04, 0x00, 0b0000_0101]))
        #expect(emulator.drivenLevels == 0)
        #expect(emulator.setFeature([0x04, 0xFF, 0b0000_0101]))
        #expect(emulator.drivenLevels == 0b0000_0001, "an open-drain pin releases, the pull-down keeps it low")
        #expect(emulator.getFeature(0x03, length: 2) == [0x03, 0b0000_0001])
        #expect(emulator.setFeature([0x04, 0x00, 0b0000_0001]))
        #expect(emulator.drivenLevels == 0)
        #expect(seen == [0, 0, 1, 0])
    }

    /// A read transfer as hid-cp2112 runs it: data read request, transfer status until complete,
    /// then force send and the data read response, against the twin's Honeywell ABP.
    @Test func readTransferReturnsTheSensorsBytes() throws {
        let bus = SimulatedI2CBus()
        let sensor = HoneywellABPSimulator(rangeMbar: 0...1000) { 600 }
        bus.attach(sensor, at: 0x28)
        let emulator = CP2112Emulator(bus: bus)
        #expect(emulator.output([0x10, 0x28 << 1, 0x00, 0x02]).isEmpty)
        let status = try #require(emulator.output([0x15, 0x01]).first)
        #expect(Array(status.prefix(2)) == [0x16, 0x02])
        #expect(Int(status[5]) << 8 | Int(status[6]) == 2)
        let response = try #require(emulator.output([0x12, 0x00, 0x02]).first)
        #expect(response.count == 64)
        #expect(response[0] == 0x13 && response[2] == 2)
        // Honeywell ABP transfer function: 10 %..90 % of 2^14 counts over the range, status 00.
        let counts = Int(response[3] & 0x3F) << 8 | Int(response[4])
        #expect(response[3] >> 6 == 0)
        #expect(abs(counts - (1638 + 600 * 13107 / 1000)) <= 1)
    }

    @Test func writeReadReachesTheRegisterAndAnAbsentAddressIsANack() throws {
        let bus = SimulatedI2CBus()
        let converter = MCP9600Simulator(part: .mcp9600, hotJunction: { 250 }, coldJunction: { 25 })
        bus.attach(converter, at: 0x60)
        let emulator = CP2112Emulator(bus: bus)
        _ = emulator.output([0x11, 0x60 << 1, 0x00, 0x02, 0x01, 0x20])  // device ID
        #expect(emulator.output([0x15, 0x01]).first?[1] == 0x02)
        let response = try #require(emulator.output([0x12, 0x00, 0x02]).first)
        #expect(Array(response[3...4]) == [0x40, 0x10], "MCP9600 ID 0x40, revision 0x10")

        _ = emulator.output([0x10, 0x33 << 1, 0x00, 0x01])
        let status = try #require(emulator.output([0x15, 0x01]).first)
        #expect(status[1] == 0x03 && status[2] == 0x00, "error, address NACKed")
        #expect(emulator.failedTransfers == 1)
    }
}
