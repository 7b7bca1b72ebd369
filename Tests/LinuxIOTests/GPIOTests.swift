import Glibc
@testable import LinuxIO
import Testing
import Transports

@Suite("GPIO chip and output lines through the seam")
struct GPIOTests {
    @Test(
        "board-file chip strings: path, name or label",
        arguments: [
            ("/dev/gpiochip4", GPIOChipLocator.path("/dev/gpiochip4")),
            ("gpiochip0", .name("gpiochip0")),
            ("gpiochip12", .name("gpiochip12")),
            ("pinctrl-rp1", .label("pinctrl-rp1")),
            ("pinctrl-bcm2711", .label("pinctrl-bcm2711")),
            ("gpiochip", .label("gpiochip")),
            ("gpiochipA", .label("gpiochipA")),
        ])
    func locatorParsing(text: String, locator: GPIOChipLocator) {
        #expect(GPIOChipLocator(parsing: text) == locator)
        #expect(locator.description == text)
    }

    @Test(
        "a chip opens through the shim call matching its locator",
        arguments: [
            (GPIOChipLocator.label("pinctrl-rp1"), SystemCall.gpioChipOpenLabel("pinctrl-rp1")),
            (.name("gpiochip4"), .gpioChipOpenName("gpiochip4")),
            (.path("/dev/gpiochip4"), .gpioChipOpenPath("/dev/gpiochip4")),
        ])
    func chipOpen(locator: GPIOChipLocator, call: SystemCall) throws {
        let system = RecordingLinuxSystem()
        let chip = try GPIOChip(locator, system: system)
        #expect(chip.locator == locator)
        #expect(chip.name == "gpiochip4")
        #expect(chip.label == "pinctrl-rp1")
        #expect(chip.lineCount == 54)
        #expect(chip.lineName(offset: 17) == "pinctrl-rp1:17")
        #expect(system.calls == [call, .gpioChipDescription(chip: 1)])
    }

    @Test(
        "chip open errno -> reason, naming the locator and the shim call",
        arguments: [
            (ENOENT, OutputLineError.Reason.noSuchChip),
            (ENODEV, .noSuchChip),
            (ENOTTY, .noSuchChip),
            (EACCES, .permissionDenied),
            (EPERM, .permissionDenied),
            (EIO, .other),
        ])
    func chipOpenErrno(code: Int32, reason: OutputLineError.Reason) {
        let system = RecordingLinuxSystem()
        system.errnos[.gpioChipOpen] = [code]
        #expect(
            throws: OutputLineError(
                line: "pinctrl-rp1", operation: "aliquot_gpio_chip_open_label", errno: code, reason: reason)
        ) {
            _ = try GPIOChip(label: "pinctrl-rp1", system: system)
        }
        #expect(system.calls == [.gpioChipOpenLabel("pinctrl-rp1")])
    }

    @Test("request: open-by-label, then request-output with consumer aliquot:<id> and the default level", arguments: [false, true])
    func requestOutput(defaultHigh: Bool) throws {
        let system = RecordingLinuxSystem()
        let chip = try GPIOChip(label: "pinctrl-rp1", system: system)
        let line = try GPIOOutputLine(chip: chip, offset: 17, id: "heater.reactor", defaultHigh: defaultHigh)
        #expect(line.name == "pinctrl-rp1:17")
        #expect(line.consumer == "aliquot:heater.reactor")
        #expect(line.lastLevelHigh == defaultHigh)
        #expect(!line.isReleased)
        #expect(
            system.calls == [
                .gpioChipOpenLabel("pinctrl-rp1"),
                .gpioChipDescription(chip: 1),
                .gpioRequestOutput(
                    chip: 1, offset: 17, consumer: "aliquot:heater.reactor", defaultValue: defaultHigh ? 1 : 0),
            ])
    }

    @Test("set passes the level as set_value's value")
    func setValues() throws {
        let system = RecordingLinuxSystem()
        let chip = try GPIOChip(label: "pinctrl-rp1", system: system)
        let line = try chip.requestOutput(offset: 22, id: "valve.sample", defaultHigh: false)
        let before = system.calls.count
        try line.set(high: true)
        #expect(line.lastLevelHigh)
        try line.set(high: false)
        try line.set(high: true)
        #expect(
            system.calls(after: before) == [
                .gpioSetValue(line: 101, value: 1),
                .gpioSetValue(line: 101, value: 0),
                .gpioSetValue(line: 101, value: 1),
            ])
    }

    @Test("release calls the shim's release exactly once, even when called twice; set afterwards is .released")
    func releaseOnce() throws {
        let system = RecordingLinuxSystem()
        let chip = try GPIOChip(label: "pinctrl-rp1", system: system)
        do {
            let line = try GPIOOutputLine(chip: chip, offset: 5, id: "heater.cd", defaultHigh: false)
            let before = system.calls.count
            try line.release()
            try line.release()
            #expect(line.isReleased)
            #expect(
                throws: OutputLineError(line: "pinctrl-rp1:5", operation: "aliquot_gpio_set_value", reason: .released)
            ) {
                try line.set(high: true)
            }
            #expect(
                throws: OutputLineError(line: "pinctrl-rp1:5", operation: "aliquot_gpio_get_value", reason: .released)
            ) {
                _ = try line.readBack()
            }
            #expect(system.calls(after: before) == [.gpioRelease(line: 101)])
        }
        // The line is gone; its deinit must not release a second time.
        #expect(system.calls.filter { $0 == .gpioRelease(line: 101) }.count == 1)
    }

    @Test("dropping a requested line releases it once; the chip closes after its last line")
    func deinitOrder() throws {
        let system = RecordingLinuxSystem()
        do {
            let chip = try GPIOChip(label: "pinctrl-rp1", system: system)
            let line = try GPIOOutputLine(chip: chip, offset: 5, id: "heater.cd", defaultHigh: false)
            _ = line
        }
        #expect(
            system.calls == [
                .gpioChipOpenLabel("pinctrl-rp1"),
                .gpioChipDescription(chip: 1),
                .gpioRequestOutput(chip: 1, offset: 5, consumer: "aliquot:heater.cd", defaultValue: 0),
                .gpioRelease(line: 101),
                .gpioChipClose(chip: 1),
            ])
    }

    @Test(
        "request errno -> reason, naming chip:offset and the shim call",
        arguments: [
            (EINVAL, OutputLineError.Reason.noSuchLine),
            (EBUSY, .lineBusy),
            (EACCES, .permissionDenied),
            (EPERM, .permissionDenied),
            (ENODEV, .noSuchChip),
            (ENOENT, .noSuchChip),
            (EIO, .other),
        ])
    func requestErrno(code: Int32, reason: OutputLineError.Reason) throws {
        let system = RecordingLinuxSystem()
        let chip = try GPIOChip(label: "pinctrl-rp1", system: system)
        system.errnos[.gpioRequestOutput] = [code]
        #expect(
            throws: OutputLineError(
                line: "pinctrl-rp1:99", operation: "aliquot_gpio_request_output", errno: code, reason: reason)
        ) {
            _ = try GPIOOutputLine(chip: chip, offset: 99, id: "x", defaultHigh: false)
        }
        // A failed request has nothing to release.
        #expect(!system.calls.contains(.gpioRelease(line: 101)))
    }

    @Test(
        "set errno -> reason with the line name and errno; the last level is kept",
        arguments: [(EIO, OutputLineError.Reason.other), (ENODEV, .noSuchChip), (EPERM, .permissionDenied)])
    func setErrno(code: Int32, reason: OutputLineError.Reason) throws {
        let system = RecordingLinuxSystem()
        let chip = try GPIOChip(label: "pinctrl-rp1", system: system)
        let line = try chip.requestOutput(offset: 17, id: "heater.reactor", defaultHigh: false)
        system.errnos[.gpioSetValue] = [code]
        #expect(
            throws: OutputLineError(
                line: "pinctrl-rp1:17", operation: "aliquot_gpio_set_value", errno: code, reason: reason)
        ) {
            try line.set(high: true)
        }
        #expect(line.lastLevelHigh == false)
    }

    @Test("read back and line info go through get_value and line_info")
    func diagnostics() throws {
        let system = RecordingLinuxSystem()
        let chip = try GPIOChip(label: "pinctrl-rp1", system: system)
        let line = try chip.requestOutput(offset: 17, id: "heater.reactor", defaultHigh: true)
        system.lineValue = 1
        system.lineInfo = GPIOLineInfo(
            offset: 0, name: "GPIO17", consumer: "aliquot:heater.reactor", isUsed: true, isOutput: true,
            isActiveLow: false)
        let before = system.calls.count
        #expect(try line.readBack() == true)
        let info = try line.info()
        #expect(info.offset == 17)
        #expect(info.name == "GPIO17")
        #expect(info.consumer == "aliquot:heater.reactor")
        #expect(info.isUsed && info.isOutput && !info.isActiveLow)
        #expect(info.description == "line 17 \"GPIO17\" output used by \"aliquot:heater.reactor\"")
        #expect(system.calls(after: before) == [.gpioGetValue(line: 101), .gpioLineInfo(chip: 1, offset: 17)])
    }

    @Test("line info past the last line is noSuchLine")
    func lineInfoErrno() throws {
        let system = RecordingLinuxSystem()
        let chip = try GPIOChip(label: "pinctrl-rp1", system: system)
        system.errnos[.gpioLineInfo] = [EINVAL]
        #expect(
            throws: OutputLineError(
                line: "pinctrl-rp1:60", operation: "aliquot_gpio_line_info", errno: EINVAL, reason: .noSuchLine)
        ) {
            _ = try chip.lineInfo(offset: 60)
        }
    }

    @Test("errno table of OutputLineError.Reason")
    func reasonTable() {
        #expect(OutputLineError.Reason(errno: EINVAL) == .other)
        #expect(OutputLineError.Reason(errno: EINVAL, offsetGiven: true) == .noSuchLine)
        #expect(OutputLineError.Reason(errno: EBUSY) == .lineBusy)
        #expect(OutputLineError.Reason(errno: ENOENT) == .noSuchChip)
        #expect(OutputLineError.Reason(errno: ENODEV) == .noSuchChip)
        #expect(OutputLineError.Reason(errno: EACCES) == .permissionDenied)
        #expect(OutputLineError.Reason(errno: EPERM) == .permissionDenied)
        #expect(OutputLineError.Reason(errno: EIO) == .other)
    }
}
