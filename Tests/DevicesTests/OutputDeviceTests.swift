import Testing
import Transports
import Twin
@testable import Devices

struct TimeProportioningTests {
    /// (duty, instants in ms into the first 1 s window, expected on/off at each)
    @Test(arguments: [
        (0.0, [0, 1, 500, 999], [false, false, false, false]),
        (0.25, [0, 249, 250, 999], [true, true, false, false]),
        (0.5, [0, 499, 500, 1000, 1499, 1500], [true, true, false, true, true, false]),
        (1.0, [0, 500, 799, 800, 1000], [true, true, true, false, true]),
        // Above max duty (0.8 here) clamps.
        (0.95, [0, 799, 800], [true, true, false]),
    ])
    func windowsFollowTheDuty(duty: Double, atMilliseconds: [Int64], expected: [Bool]) {
        var pwm = TimeProportioning(periodNanoseconds: 1_000_000_000, maxDuty: 0.8)
        pwm.setDuty(duty)
        let levels = atMilliseconds.map { pwm.level(at: MonotonicInstant(nanoseconds: $0 * 1_000_000)) }
        #expect(levels == expected)
    }

    @Test func dutyIsLatchedPerWindowButCutsActAtOnce() {
        var pwm = TimeProportioning(periodNanoseconds: 1_000_000_000, maxDuty: 1)
        let ms = { (value: Int64) in MonotonicInstant(nanoseconds: value * 1_000_000) }
        pwm.setDuty(0.3)
        do { let on = pwm.level(at: ms(0)); #expect(on) }
        pwm.setDuty(0.9)  // a raise waits for the next window
        do { let on = pwm.level(at: ms(400)); #expect(on == false) }
        do { let on = pwm.level(at: ms(1400)); #expect(on) }
        pwm.setDuty(0.1)  // a cut acts now
        do { let on = pwm.level(at: ms(1450)); #expect(on == false) }
        pwm.setDuty(.nan)
        #expect(pwm.requestedDuty == 0)
    }

    @Test func lateTicksKeepWindowsAlignedToThePeriod() {
        var pwm = TimeProportioning(periodNanoseconds: 1_000_000_000, maxDuty: 1)
        pwm.setDuty(0.5)
        _ = pwm.level(at: MonotonicInstant(nanoseconds: 0))
        // First look 3.2 s later: the window began at 3.0 s, so 0.2 s in, on; 3.6 s, off.
        do { let on = pwm.level(at: MonotonicInstant(nanoseconds: 3_200_000_000)); #expect(on) }
        do { let on = pwm.level(at: MonotonicInstant(nanoseconds: 3_600_000_000)); #expect(on == false) }
    }

    @Test func nextChangeIsTheEndOfTheOnPartThenTheNextWindow() {
        var pwm = TimeProportioning(periodNanoseconds: 1_000_000_000, maxDuty: 1)
        pwm.setDuty(0.37)
        let start = MonotonicInstant(nanoseconds: 10_000_000_000)
        #expect(pwm.nextChange(after: start) == start)  // no window yet: look now
        _ = pwm.level(at: start)
        #expect(pwm.nextChange(after: start) == start.adding(nanoseconds: 370_000_000))
        #expect(pwm.nextChange(after: start.adding(nanoseconds: 370_000_000)) == start.adding(nanoseconds: 1_000_000_000))
        // Waking exactly at each change reproduces the duty to the nanosecond.
        var now = start
        var onTime: Int64 = 0
        while now < start.adding(nanoseconds: 100_000_000_000) {
            let on = pwm.level(at: now)
            let next = pwm.nextChange(after: now)
            if on { onTime += next.nanoseconds - now.nanoseconds }
            now = next
        }
        #expect(onTime == 37_000_000_000)
    }

    @Test func dutyCycleOverManyWindowsMatches() {
        var pwm = TimeProportioning(periodNanoseconds: 1_000_000_000, maxDuty: 1)
        pwm.setDuty(0.37)
        var onTicks = 0
        for tick in 0..<100_000 {  // 10 ms ticks over 1000 s
            if pwm.level(at: MonotonicInstant(nanoseconds: Int64(tick) * 10_000_000)) { onTicks += 1 }
        }
        #expect(onTicks == 37_000)
    }
}

struct SwitchedOutputTests {
    @Test(arguments: [true, false])
    func senseMapsOnToTheRightLevel(activeHigh: Bool) throws {
        let line = SimulatedOutputLine(
            name: "twin:valve.sample", initialLevel: SwitchedOutput.offLevel(activeHigh: activeHigh))
        let output = SwitchedOutput(id: "valve.sample", line: line, activeHigh: activeHigh)
        try output.set(on: true)
        #expect(line.isHigh == activeHigh)
        try output.set(on: false)
        #expect(line.isHigh == !activeHigh)
        try output.set(on: true)
        try output.release()
        #expect(line.isReleased)
        #expect(output.isOn == false)
    }

    @Test func forceOffWritesEvenWhenBookkeepingSaysOff() throws {
        let line = SimulatedOutputLine(name: "twin:heater.reactor", initialLevel: false)
        let output = SwitchedOutput(id: "heater.reactor", line: line, activeHigh: true)
        line.failNextSet = .other
        #expect(throws: OutputLineError.self) { try output.set(on: true) }
        #expect(output.isOn == false)
        // The line did not change. Now it ends up high behind our back (a glitch, another writer).
        try line.set(high: true)
        try output.set(on: false)  // no write: bookkeeping already says off
        #expect(line.isHigh == true)
        try output.forceOff()
        #expect(line.isHigh == false)
    }
}

struct SolenoidValveTests {
    @Test func pulseOpensForTheDurationOnTheClockAndCloses() throws {
        let clock = VirtualClock(start: MonotonicInstant(nanoseconds: 5_000_000_000))
        let line = SimulatedOutputLine(name: "twin:valve.sample", initialLevel: false)
        var changes: [(Bool, Int64)] = []
        line.onChange = { changes.append(($0, clock.now().nanoseconds)) }
        let valve = SolenoidValve(output: SwitchedOutput(id: "valve.sample", line: line, activeHigh: true))
        let open = try valve.pulse(nanoseconds: 200_000_000, clock: clock)
        #expect(abs(open - 0.2) < 1e-12)
        #expect(changes.map(\.0) == [true, false])
        #expect(changes.map(\.1) == [5_000_000_000, 5_200_000_000])
        #expect(valve.isOpen == false)
    }

    @Test func aFailedOpenLeavesTheValveClosed() {
        let clock = VirtualClock()
        let line = SimulatedOutputLine(name: "twin:valve.sample", initialLevel: false)
        let valve = SolenoidValve(output: SwitchedOutput(id: "valve.sample", line: line, activeHigh: true))
        line.failNextSet = .lineBusy
        #expect(throws: ValvePulseError.output(OutputLineError(line: "twin:valve.sample", operation: "set", reason: .lineBusy))) {
            try valve.pulse(nanoseconds: 100_000_000, clock: clock)
        }
        #expect(line.isHigh == false)
    }
}

struct HeaterOutputTests {
    @Test func drivesTheLineThroughTheWindowAndOffCutsIt() throws {
        let line = SimulatedOutputLine(name: "twin:heater.reactor", initialLevel: true)
        let heater = HeaterOutput(
            output: SwitchedOutput(id: "heater.reactor", line: line, activeHigh: false),
            periodNanoseconds: 1_000_000_000, maxDuty: 1)
        heater.setDuty(0.5)
        try heater.update(at: MonotonicInstant(nanoseconds: 0))
        #expect(line.isHigh == false)  // active low: on is low
        try heater.update(at: MonotonicInstant(nanoseconds: 600_000_000))
        #expect(line.isHigh == true)
        try heater.update(at: MonotonicInstant(nanoseconds: 1_100_000_000))
        #expect(heater.isOn)
        try heater.off()
        #expect(line.isHigh == true)
        try heater.update(at: MonotonicInstant(nanoseconds: 1_200_000_000))
        #expect(heater.isOn == false)
    }
}
