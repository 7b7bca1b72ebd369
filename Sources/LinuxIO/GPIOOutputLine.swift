import Glibc
import Transports

/// One GPIO line requested as an output, through the `LinuxSystem` seam and the CGPIODShim.
///
/// Levels are physical (`true` is electrically high); the line is never requested active-low, so
/// what a level means stays with the device on the line. The consumer label the kernel shows
/// (`gpioinfo`) is `aliquot:<id>` (the kernel keeps at most 31 bytes of it).
///
/// The line keeps its `GPIOChip` open. `release()` hands it back to the kernel (idempotent); the
/// line is also released when the object goes away.
///
/// Threading: not thread-safe; set and release from one thread at a time (the control-loop
/// thread, or the dead-man thread after the loop has stopped).
public final class GPIOOutputLine: OutputLine {
    /// `<chip label>:<offset>`, for example `pinctrl-rp1:17`.
    public let name: String
    public let chip: GPIOChip
    public let offset: UInt32
    /// The consumer label given to the kernel: `aliquot:<id>`.
    public let consumer: String
    /// The last level driven (`defaultHigh` until the first `set`).
    public private(set) var lastLevelHigh: Bool

    private var handle: GPIOLineHandle?

    /// Requests line `offset` of `chip` as an output (`aliquot_gpio_request_output`), driven at
    /// once to `defaultHigh`: pass the physical level that means "off" for the device on the line.
    ///
    /// An offset past the chip's last line is `.noSuchLine`, a line another consumer holds
    /// `.lineBusy`, a chip the user may not use `.permissionDenied`.
    public init(chip: GPIOChip, offset: UInt32, id: String, defaultHigh: Bool) throws(OutputLineError) {
        let name = chip.lineName(offset: offset)
        let consumer = "aliquot:\(id)"
        let requested = chip.system.gpioRequestOutput(
            chip: chip.handle, offset: offset, consumer: consumer, defaultValue: defaultHigh ? 1 : 0)
        guard let line = requested.line else {
            throw OutputLineError(
                line: name, operation: "aliquot_gpio_request_output", errno: requested.errno,
                reason: OutputLineError.Reason(errno: requested.errno, offsetGiven: true))
        }
        self.name = name
        self.chip = chip
        self.offset = offset
        self.consumer = consumer
        self.lastLevelHigh = defaultHigh
        self.handle = line
    }

    deinit {
        if let handle {
            chip.system.gpioRelease(line: handle)
        }
    }

    /// Whether `release()` has been called.
    public var isReleased: Bool { handle == nil }

    /// Drives the line (`aliquot_gpio_set_value`: 1 high, 0 low). After `release()` this throws
    /// `.released`.
    public func set(high: Bool) throws(OutputLineError) {
        guard let handle else {
            throw OutputLineError(line: name, operation: "aliquot_gpio_set_value", reason: .released)
        }
        let result = chip.system.gpioSetValue(line: handle, value: high ? 1 : 0)
        if result.failed {
            throw OutputLineError(
                line: name, operation: "aliquot_gpio_set_value", errno: result.errno,
                reason: OutputLineError.Reason(errno: result.errno))
        }
        lastLevelHigh = high
    }

    /// Reads the level back from the kernel (`aliquot_gpio_get_value`), for diagnostics.
    public func readBack() throws(OutputLineError) -> Bool {
        guard let handle else {
            throw OutputLineError(line: name, operation: "aliquot_gpio_get_value", reason: .released)
        }
        let result = chip.system.gpioGetValue(line: handle)
        if result.failed {
            throw OutputLineError(
                line: name, operation: "aliquot_gpio_get_value", errno: result.errno,
                reason: OutputLineError.Reason(errno: result.errno))
        }
        return result.value != 0
    }

    /// Hands the line back to the kernel (`aliquot_gpio_release`, exactly once). Releasing again
    /// does nothing. libgpiod's release reports no error, so neither does this.
    public func release() throws(OutputLineError) {
        guard let handle else { return }
        self.handle = nil
        chip.system.gpioRelease(line: handle)
    }

    /// What the kernel reports about this line (`aliquot_gpio_line_info`), for diagnostics.
    public func info() throws(OutputLineError) -> GPIOLineInfo {
        try chip.lineInfo(offset: offset)
    }
}
