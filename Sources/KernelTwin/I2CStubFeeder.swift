import Config
import Glibc
import Journal
import LinuxIO
import Rig
import Transports
import Twin

/// The thermocouple converters through the kernel's `i2c-stub` (an SMBus adapter holding a
/// 256-word register file at each `chip_addr`): every 50 ms it copies what the twin's byte-level
/// MCP9600/MCP9601 would answer for STATUS (0x04), T_H (0x00), T_Δ (0x01), T_C (0x02) and the
/// device ID (0x20) into the stub, and forwards the configuration the controller wrote to the
/// stub (0x05, 0x06) to the simulator, so type, filter and resolution take effect.
///
/// The writes go through `LinuxI2CBus`, the controller's own i2c-dev code: on the stub it takes
/// the SMBus fallback, so a two-byte register is one word write whose low byte is the first byte
/// on the wire, exactly what the controller's word read expects back.
public final class I2CStubFeeder: @unchecked Sendable {
    public struct Converter {
        public var name: String
        public var address: UInt8
        public var twinBus: String
        public var twinAddress: UInt8
    }

    private let plant: KernelTwinPlant
    private let stub: LinuxI2CBus
    public let converters: [Converter]
    public private(set) var rounds = 0
    public private(set) var problems: [String] = []

    /// The converters of `board` on `busName`, found in the twin board by name.
    public init(plant: KernelTwinPlant, board: BoardFile, twinBoard: BoardFile, busName: String) throws(KernelTwinError) {
        self.plant = plant
        guard let bus = board.i2cBuses.first(where: { $0.name == busName }), let device = bus.device else {
            throw KernelTwinError(part: board.path, action: "find [i2c.\(busName)]", detail: "no such bus with a device path")
        }
        do {
            stub = try LinuxI2CBus(path: device)
        } catch {
            throw KernelTwinError(part: device, action: "open", detail: "\(error)")
        }
        var converters: [Converter] = []
        for thermocouple in board.thermocouples where thermocouple.bus == busName {
            guard let twinThermocouple = twinBoard.thermocouples.first(where: { $0.name == thermocouple.name }) else {
                throw KernelTwinError(
                    part: twinBoard.path, action: "find [thermocouple.\(thermocouple.name)]",
                    detail: "the twin has no such converter")
            }
            converters.append(
                Converter(
                    name: thermocouple.name, address: thermocouple.address, twinBus: twinThermocouple.bus,
                    twinAddress: twinThermocouple.address))
        }
        self.converters = converters
    }

    /// One round for every converter; the first round runs here, so the stub holds a device ID
    /// before the controller starts.
    public func start() throws(KernelTwinError) {
        try feedRound()
        try startServing(stub.name) { [self] in
            while true {
                usleep(50_000)  // the converters' own 18-bit conversion takes 320 ms
                do { try feedRound() } catch {
                    plant.withPlant { _ in problems.append("\(error)") }
                }
            }
        }
    }

    private func feedRound() throws(KernelTwinError) {
        let outcome = plant.withPlant { twin in Result { () throws(KernelTwinError) in try feedLocked(twin) } }
        try outcome.get()
    }

    private func feedLocked(_ twin: TwinTransportFactory) throws(KernelTwinError) {
        for converter in converters {
            guard let bus = twin.buses[converter.twinBus] else { continue }
            // Configuration the controller wrote goes to the part first.
            for register: UInt8 in [0x05, 0x06] {
                let written = try read(stub, converter.address, register, count: 1)[0]
                let current = try read(bus, converter.twinAddress, register, count: 1)[0]
                if written != current {
                    try write(bus, converter.twinAddress, [register, written])
                }
            }
            for (register, count) in [(UInt8(0x04), 1), (0x00, 2), (0x01, 2), (0x02, 2), (0x20, 2)] {
                let bytes = try read(bus, converter.twinAddress, register, count: count)
                try write(stub, converter.address, [register] + bytes)
            }
        }
        rounds += 1
    }

    /// Reads `count` bytes of `register` at `address` on `bus`, the twin's or the stub.
    private func read(_ bus: any I2CBus, _ address: UInt8, _ register: UInt8, count: Int) throws(KernelTwinError) -> [UInt8] {
        do { return try bus.readRegister(address: address, register: register, count: count) } catch {
            throw KernelTwinError(
                part: bus.name, action: "read 0x\(String(register, radix: 16)) at 0x\(String(address, radix: 16))",
                detail: "\(error)")
        }
    }

    /// Writes `bytes` (`{register, data...}`) to `address` on `bus`, the twin's or the stub.
    private func write(_ bus: any I2CBus, _ address: UInt8, _ bytes: [UInt8]) throws(KernelTwinError) {
        let outcome = bytes.withUnsafeBytes { write in
            Result { () throws(I2CError) in
                try bus.transfer(address: address, write: write, read: UnsafeMutableRawBufferPointer(start: nil, count: 0))
            }
        }
        if case .failure(let error) = outcome {
            throw KernelTwinError(
                part: bus.name, action: "write 0x\(String(bytes[0], radix: 16)) at 0x\(String(address, radix: 16))",
                detail: "\(error)")
        }
    }
}
