import Glibc
import Transports

/// How a board file names a GPIO chip.
public enum GPIOChipLocator: Equatable, Hashable, Sendable, CustomStringConvertible {
    /// The kernel name, for example `gpiochip0` (opens `/dev/gpiochip0`).
    case name(String)
    /// The device path, for example `/dev/gpiochip0`.
    case path(String)
    /// The chip label, for example `pinctrl-rp1` (the Raspberry Pi 5's GPIO header chip). The
    /// stable choice: chip numbers change between kernels, labels do not.
    case label(String)

    /// Reads a board file's chip string: one containing `/` is a path, `gpiochip<digits>` is a
    /// name, anything else a label.
    public init(parsing text: String) {
        if text.contains("/") {
            self = .path(text)
        } else if text.hasPrefix("gpiochip"), text.count > 8, text.dropFirst(8).allSatisfy({ $0.isASCII && $0.isNumber }) {
            self = .name(text)
        } else {
            self = .label(text)
        }
    }

    /// The string as written: the name, path or label.
    public var description: String {
        switch self {
        case .name(let text), .path(let text), .label(let text): text
        }
    }
}

/// An open GPIO chip (a `/dev/gpiochipN` character device), through the `LinuxSystem` seam and
/// the CGPIODShim (libgpiod 1.6 or 2.x).
///
/// The chip is closed (`aliquot_gpio_chip_close`) when the last reference goes; every
/// `GPIOOutputLine` keeps its chip alive, so lines are always released before their chip closes.
///
/// Threading: not thread-safe; use a chip and its lines from one thread at a time.
public final class GPIOChip {
    /// How the chip was asked for.
    public let locator: GPIOChipLocator
    /// The kernel name, for example `gpiochip0`.
    public let name: String
    /// The label, for example `pinctrl-rp1`.
    public let label: String
    /// The number of lines; valid offsets are `0..<lineCount`.
    public let lineCount: UInt32

    let system: any LinuxSystem
    let handle: GPIOChipHandle

    /// Opens the chip (`aliquot_gpio_chip_open_name`, `_path` or `_label`).
    ///
    /// A missing chip (`ENOENT`, `ENODEV`, or `ENOTTY`: the path is not a GPIO chip) is
    /// `.noSuchChip`; a chip the user may not open (`EACCES`, `EPERM`) `.permissionDenied`. The
    /// error's `line` is the locator as written.
    public init(_ locator: GPIOChipLocator, system: any LinuxSystem = LiveLinuxSystem()) throws(OutputLineError) {
        let opened: (chip: GPIOChipHandle?, errno: Int32)
        let operation: String
        switch locator {
        case .name(let name):
            opened = system.gpioChipOpen(name: name)
            operation = "aliquot_gpio_chip_open_name"
        case .path(let path):
            opened = system.gpioChipOpen(path: path)
            operation = "aliquot_gpio_chip_open_path"
        case .label(let label):
            opened = system.gpioChipOpen(label: label)
            operation = "aliquot_gpio_chip_open_label"
        }
        guard let chip = opened.chip else {
            let reason: OutputLineError.Reason =
                opened.errno == ENOTTY ? .noSuchChip : OutputLineError.Reason(errno: opened.errno)
            throw OutputLineError(
                line: locator.description, operation: operation, errno: opened.errno, reason: reason)
        }
        let description = system.gpioChipDescription(chip)
        self.locator = locator
        self.system = system
        self.handle = chip
        self.name = description.name
        self.label = description.label
        self.lineCount = description.lineCount
    }

    /// Opens the chip labelled `label`, for example `pinctrl-rp1`.
    public convenience init(label: String, system: any LinuxSystem = LiveLinuxSystem()) throws(OutputLineError) {
        try self.init(.label(label), system: system)
    }

    /// Opens the chip at `path`, for example `/dev/gpiochip0`.
    public convenience init(path: String, system: any LinuxSystem = LiveLinuxSystem()) throws(OutputLineError) {
        try self.init(.path(path), system: system)
    }

    /// Opens the chip named `name`, for example `gpiochip0`.
    public convenience init(name: String, system: any LinuxSystem = LiveLinuxSystem()) throws(OutputLineError) {
        try self.init(.name(name), system: system)
    }

    deinit {
        system.gpioChipClose(handle)
    }

    /// How errors name a line of this chip: `<label>:<offset>` (the kernel name when unlabelled).
    public func lineName(offset: UInt32) -> String {
        "\(label.isEmpty ? name : label):\(offset)"
    }

    /// What the kernel reports about line `offset` (`aliquot_gpio_line_info`), for diagnostics.
    /// An offset past the last line is `.noSuchLine`.
    public func lineInfo(offset: UInt32) throws(OutputLineError) -> GPIOLineInfo {
        let (result, info) = system.gpioLineInfo(chip: handle, offset: offset)
        if result.failed {
            throw OutputLineError(
                line: lineName(offset: offset), operation: "aliquot_gpio_line_info",
                errno: result.errno, reason: OutputLineError.Reason(errno: result.errno, offsetGiven: true))
        }
        return info
    }

    /// Requests line `offset` as an output; see `GPIOOutputLine.init`.
    public func requestOutput(offset: UInt32, id: String, defaultHigh: Bool) throws(OutputLineError) -> GPIOOutputLine {
        try GPIOOutputLine(chip: self, offset: offset, id: id, defaultHigh: defaultHigh)
    }
}

extension OutputLineError.Reason {
    /// The reason for an errno from the GPIO shim: `ENOENT`/`ENODEV` no such chip, `EBUSY` line
    /// busy, `EACCES`/`EPERM` permission denied, `EINVAL` no such line when the call named an
    /// offset (`offsetGiven`), else other.
    init(errno: Int32, offsetGiven: Bool = false) {
        switch errno {
        case ENOENT, ENODEV: self = .noSuchChip
        case EBUSY: self = .lineBusy
        case EACCES, EPERM: self = .permissionDenied
        case EINVAL where offsetGiven: self = .noSuchLine
        default: self = .other
        }
    }
}
