import Config
import LinuxIO
import Transports

/// Real hardware: `/dev/i2c-N` through i2c-dev and libi2c, GPIO lines through libgpiod, and the
/// monotonic clock. Each GPIO chip is opened once and shared by the lines on it.
public final class LinuxTransportFactory: TransportFactory {
    public let clock: RigClock
    private let system: any LinuxSystem
    private let usbSystem: any USBSystem
    private var chips: [String: GPIOChip] = [:]
    /// Open serial ports by path: a daisy chain of pumps shares one.
    private var serialPorts: [String: SerialPort] = [:]

    public init(board: BoardFile, system: any LinuxSystem = LiveLinuxSystem(), usbSystem: any USBSystem = LiveUSBSystem()) {
        self.system = system
        self.usbSystem = usbSystem
        clock = MonotonicClock(system: system)
    }

    /// A spectrometer through libusb (`LinuxUSBDevice`).
    public func makeUSBDevice(_ match: USBDeviceMatch, part: String, serialNumberProbe: USBSerialNumberProbe?)
        throws(RigError) -> any USBBulkDevice
    {
        do {
            return try LinuxUSBDevice(match: match, serialNumberProbe: serialNumberProbe, system: usbSystem)
        } catch {
            throw RigError(part: part, action: "open", underlying: error)
        }
    }

    /// The pump's USB-serial port (`SerialPort`: raw termios at the board's baud, 8N1, or two
    /// stop bits for the legacy Pump 11 protocol), opened once per path.
    public func makeSerialLine(_ pump: PumpConfig) throws(RigError) -> any SerialLine {
        guard let path = pump.port else {
            throw RigError(part: pump.id, action: "open", detail: "no port in the board file")
        }
        if let open = serialPorts[path] { return open }
        do {
            let port = try SerialPort(path: path, baudRate: pump.baud, clock: clock, system: system)
            serialPorts[path] = port
            return port
        } catch {
            throw RigError(part: pump.id, action: "open \(path)", underlying: error)
        }
    }

    public func makeI2CBus(_ bus: I2CBusConfig) throws(RigError) -> I2CBus {
        guard let device = bus.device else {
            throw RigError(part: "i2c.\(bus.name)", action: "open", detail: "no device path in the board file")
        }
        do {
            return try LinuxI2CBus(path: device, system: system)
        } catch {
            throw RigError(part: "i2c.\(bus.name)", action: "open", underlying: error)
        }
    }

    public func makeOutputLine(_ output: OutputConfig, offLevel: Bool) throws(RigError) -> OutputLine {
        do {
            let chip = try chip(output.line.chip)
            return try GPIOOutputLine(
                chip: chip, offset: UInt32(output.line.offset), id: output.id, defaultHigh: offLevel)
        } catch {
            throw RigError(part: output.id, action: "request output", underlying: error)
        }
    }

    private func chip(_ locator: String) throws(OutputLineError) -> GPIOChip {
        if let open = chips[locator] { return open }
        let chip = try GPIOChip(GPIOChipLocator(parsing: locator), system: system)
        chips[locator] = chip
        return chip
    }
}
