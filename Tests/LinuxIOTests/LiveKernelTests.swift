import Glibc
import LinuxIO
import Testing
import Transports

/// The live implementation against the running kernel: only what any Linux machine can answer
/// (no I2C adapter or GPIO chip is needed). Ordering is asserted, never wall-clock upper bounds.
@Suite("LiveLinuxSystem on the real kernel")
struct LiveKernelTests {
    @Test("MonotonicClock: sleeping until now + 20 ms returns no earlier than the deadline")
    func clockSleepsUntilDeadline() throws {
        let clock = MonotonicClock()
        let start = clock.now()
        #expect(start.nanoseconds > 0)
        let deadline = start.adding(nanoseconds: 20_000_000)
        try clock.sleep(until: deadline)
        let after = clock.now()
        #expect(after >= deadline)
        #expect(after >= start)
    }

    @Test("MonotonicClock: a deadline in the past returns, and time does not go backwards")
    func clockPastDeadline() throws {
        let clock = MonotonicClock()
        let start = clock.now()
        try clock.sleep(until: start.adding(nanoseconds: -1_000_000))
        #expect(clock.now() >= start)
    }

    @Test("opening a missing /dev/i2c-99 is .noSuchBus naming the path")
    func missingI2CBus() {
        #expect(throws: I2CError(bus: "/dev/i2c-99", address: 0, operation: "open", errno: ENOENT, reason: .noSuchBus)) {
            _ = try LinuxI2CBus(path: "/dev/i2c-99")
        }
    }

    @Test("a node that is not an i2c adapter fails I2C_FUNCS with ENOTTY")
    func notAnAdapter() {
        #expect(
            throws: I2CError(bus: "/dev/null", address: 0, operation: "I2C_FUNCS", errno: ENOTTY, reason: .other)
        ) {
            _ = try LinuxI2CBus(path: "/dev/null")
        }
    }

    @Test("opening a GPIO chip by a label no chip has is .noSuchChip")
    func missingChipLabel() {
        #expect(
            throws: OutputLineError(
                line: "aliquot-no-such-chip", operation: "aliquot_gpio_chip_open_label", errno: ENOENT,
                reason: .noSuchChip)
        ) {
            _ = try GPIOChip(label: "aliquot-no-such-chip")
        }
    }

    @Test("missing chip names and paths, and a path that is not a GPIO chip, are .noSuchChip")
    func missingChipNameAndPath() {
        for locator in [GPIOChipLocator.name("gpiochip99"), .path("/dev/gpiochip99"), .path("/dev/null")] {
            do {
                _ = try GPIOChip(locator)
                Issue.record("\(locator) opened")
            } catch {
                #expect(error.reason == .noSuchChip, "\(locator): \(error)")
                #expect(error.line == locator.description)
                #expect(error.errno != nil && error.errno != 0)
            }
        }
    }

    @Test("the GPIO shim's libgpiod API matches the library it runs against")
    func gpioAPIVersion() {
        let major = LiveLinuxSystem.gpioAPIMajor
        #expect(major == 1 || major == 2)
        #expect(LiveLinuxSystem.gpioLibraryVersion.hasPrefix("\(major)."), "\(LiveLinuxSystem.gpioLibraryVersion)")
        // .ci/libgpiod2-check.sh builds against libgpiod 2.x and says so here.
        if let expected = getenv("ALIQUOT_EXPECT_GPIOD_API").map({ String(cString: $0) }) {
            #expect("\(major)" == expected, "built against libgpiod API \(major), expected \(expected)")
        }
    }
}
