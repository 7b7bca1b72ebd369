import Config
import Foundation
import Rig
import Testing

/// `aliquot doctor` on canned machine facts, and the real command on this machine.
@Suite("Doctor")
struct DoctorTests {
    final class CannedProbes: DoctorProbes {
        var lines: [String: Result<GPIOLineState, DoctorProbeError>] = [:]
        var ids: [UInt8: Result<UInt8, DoctorProbeError>] = [:]
        var usb: Result<[USBDeviceState], DoctorProbeError> = .success([])
        var kernelFacts = KernelFacts(release: "6.6.51+rpt-rpi-2712", version: "#1 SMP PREEMPT Debian", realtime: false)
        var refusals: [String] = []
        var source: String? = "arch_sys_counter"
        var free: Result<UInt64, DoctorProbeError> = .success(20 << 30)

        func gpioLine(chip: String, offset: Int) -> Result<GPIOLineState, DoctorProbeError> {
            lines["\(chip):\(offset)"] ?? .success(GPIOLineState(consumer: nil))
        }
        func i2cDeviceID(device: String, address: UInt8) -> Result<UInt8, DoctorProbeError> {
            ids[address] ?? .failure(DoctorProbeError(.other, "NAK at \(address)"))
        }
        func usbDevices(vendorID: UInt16) -> Result<[USBDeviceState], DoctorProbeError> { usb }
        func deviceAccess(path: String) -> DeviceAccess { .readWrite }
        func kernel() -> KernelFacts { kernelFacts }
        func realTimeRefusals() -> [String] { refusals }
        func clockSource() -> String? { source }
        func freeBytes(path: String) -> Result<UInt64, DoctorProbeError> { free }
    }

    static func hat() throws -> BoardFile { try BoardFile.load(path: packageRoot + "/Boards/rpi5-reactor-hat.toml") }

    static func healthyProbes(_ board: BoardFile) -> CannedProbes {
        let probes = CannedProbes()
        // The datasheets' device IDs: MCP9600 0x40, MCP9601 0x41 (register 0x20).
        for thermocouple in board.thermocouples {
            probes.ids[thermocouple.address] = .success(thermocouple.part == .mcp9601 ? 0x41 : 0x40)
        }
        probes.usb = .success(
            board.spectrometers.map {
                USBDeviceState(productID: $0.model.productID, serialNumber: $0.serialNumber, openable: true)
            })
        return probes
    }

    @Test("a healthy board: every finding ok, one per output, thermocouple, spectrometer and machine check")
    func healthy() throws {
        let board = try Self.hat()
        let findings = Doctor(board: board, probes: Self.healthyProbes(board), dataDirectory: "/var/lib/aliquot").diagnose()
        #expect(findings.allSatisfy { $0.level == .ok }, "\(findings)")
        let expectedCount = board.outputs.count + board.thermocouples.count + board.spectrometers.count + 4
        #expect(findings.count == expectedCount)
        #expect(findings.map(\.subject).contains("heater.reactor"))
    }

    @Test("each fault names the part and says what to do")
    func faults() throws {
        let board = try Self.hat()
        let probes = Self.healthyProbes(board)
        let reactor = try #require(board.heaters.first { $0.name == "reactor" })
        probes.lines["\(reactor.line.chip):\(reactor.line.offset)"] = .success(GPIOLineState(consumer: "w1-gpio"))
        let valve = try #require(board.valves.first)
        probes.lines["\(valve.line.chip):\(valve.line.offset)"] = .failure(DoctorProbeError(.permissionDenied, "open /dev/gpiochip4: EACCES"))
        let syringe = try #require(board.thermocouples.first { $0.name == "syringe" })
        probes.ids[0x60] = .success(0x41)
        probes.ids[syringe.address] = .failure(DoctorProbeError(.missing, "open /dev/i2c-1: no such bus"))
        probes.usb = .success([USBDeviceState(productID: 0x101E, serialNumber: board.spectrometers.first?.serialNumber, openable: false)])
        probes.kernelFacts = KernelFacts(release: "6.1.0", version: "#1 SMP Debian", realtime: false)
        probes.refusals = ["SCHED_FIFO priority 1 refused (errno 1)"]
        probes.source = "jiffies"
        probes.free = .success(100 << 20)
        let findings = Doctor(board: board, probes: probes, dataDirectory: "/var/lib/aliquot").diagnose()
        func finding(_ subject: String) -> DoctorFinding? { findings.first { $0.subject == subject } }

        #expect(finding("heater.reactor")?.level == .failure)
        #expect(finding("heater.reactor")?.detail.contains("held by \"w1-gpio\"") == true)
        #expect(finding(valve.name.isEmpty ? "" : "valve.\(valve.name)")?.advice?.contains("udev rules") == true)
        #expect(finding("thermocouple.reactor")?.detail.contains("reports ID 0x41, not 0x40") == true)
        #expect(finding("thermocouple.syringe")?.advice?.contains("i2c_arm=on") == true)
        #expect(finding("spectrometer.abs")?.detail.contains("may not open") == true)
        #expect(finding("spectrometer.pl")?.detail.contains("no FLAME-S") == true)
        #expect(finding("kernel")?.level == .warning)
        #expect(finding("real-time")?.level == .warning)
        #expect(finding("clock source")?.level == .warning)
        #expect(finding("journal disk")?.level == .failure && finding("journal disk")?.detail.hasPrefix("0.0 GiB free") == true)
    }

    @Test("the twin board has no hardware to check but the machine is still checked")
    func twin() throws {
        let board = try BoardFile.load(path: packageRoot + "/Boards/sim.toml")
        let findings = Doctor(board: board, probes: CannedProbes(), dataDirectory: "/tmp").diagnose()
        #expect(findings.first?.detail.contains("digital twin") == true)
        #expect(findings.count == 5)
    }

    @Test("on this machine (no GPIO, no I2C) the real board file fails with advice, and the exit status says so")
    func onThisMachine() throws {
        let outcome = try CommandLineTests.run(["doctor", "--board", "Boards/rpi5-reactor-hat.toml", "--data-dir", NSTemporaryDirectory()])
        #expect(outcome.status != 0)
        #expect(outcome.standardOutput.contains("[FAIL] heater.reactor"))
        #expect(outcome.standardOutput.contains("-> "))
        #expect(outcome.standardOutput.contains("thermocouple.reactor"))
        #expect(outcome.standardOutput.contains("journal disk"))
        let twin = try CommandLineTests.run(["doctor", "--board", "Boards/sim.toml", "--data-dir", NSTemporaryDirectory()])
        #expect(twin.status == 0, "\(twin.standardOutput)\(twin.standardError)")
    }
}
