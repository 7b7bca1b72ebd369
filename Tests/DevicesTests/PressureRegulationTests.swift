import Testing
import Transports
import Twin
@testable import Devices

private let settings = PressureRegulation.Settings(hysteresisMbar: 20, overpressureMbar: 900, maxPressurizeSeconds: 5)
private func at(_ seconds: Double) -> MonotonicInstant { MonotonicInstant.zero.adding(seconds: seconds) }

struct PressureRegulationTests {
    @Test func freshMachineVentsUntilASetpoint() {
        var machine = PressureRegulation(settings: settings)
        #expect(machine.step(readingMbar: 50, now: at(0)) == [.openVent])
        #expect(machine.step(readingMbar: 10, now: at(0.1)).isEmpty)
        #expect(machine.ventOpen && !machine.pressurizeOpen)
    }

    /// A scripted run through every transition of the bang-bang loop around 600 mbar, band 20.
    @Test func bangBangWithHysteresis() {
        var machine = PressureRegulation(settings: settings)
        machine.setSetpoint(600)
        let script: [(Double, [PressureRegulation.Action])] = [
            (0, [.openPressurize]),  // far below s - h
            (590, []),  // filling
            (600, [.closePressurize]),  // reached s
            (585, []),  // inside the band: hold
            (579, [.openPressurize]),  // below s - h
            (625, [.closePressurize, .openVent]),  // overshot past s + h
            (610, []),  // venting
            (600, [.closeVent]),  // back at s
            (615, []),  // inside the band
            (621, [.openVent]),
            (570, [.closeVent, .openPressurize]),  // the vent closes before the pressurize valve opens
        ]
        for (index, (reading, expected)) in script.enumerated() {
            #expect(machine.step(readingMbar: reading, now: at(Double(index) * 0.1)) == expected, "step \(index) at \(reading) mbar")
            #expect(!(machine.ventOpen && machine.pressurizeOpen))
        }
    }

    @Test func overpressureVentsAndLatches() {
        var machine = PressureRegulation(settings: settings)
        machine.setSetpoint(600)
        _ = machine.step(readingMbar: 0, now: at(0))
        let reason = FluidicsError.Reason.overpressure(measuredMbar: 900, limitMbar: 900)
        #expect(machine.step(readingMbar: 900, now: at(0.1)) == [.closePressurize, .openVent, .fault(reason)])
        #expect(machine.fault == reason && machine.setpointMbar == nil)
        // Latched: the vent stays open whatever the readings.
        #expect(machine.step(readingMbar: 100, now: at(0.2)).isEmpty)
        #expect(machine.ventOpen)
        machine.reset()
        machine.setSetpoint(300)
        #expect(machine.step(readingMbar: 100, now: at(0.3)) == [.closeVent, .openPressurize])
    }

    @Test func pressurizeValveOpenTooLongIsNoPressureRise() {
        var machine = PressureRegulation(settings: settings)
        machine.setSetpoint(600)
        #expect(machine.step(readingMbar: 0, now: at(0)) == [.openPressurize])
        #expect(machine.step(readingMbar: 100, now: at(4.9)).isEmpty)
        let reason = FluidicsError.Reason.noPressureRise(openSeconds: 5, measuredMbar: 120, setpointMbar: 600)
        #expect(machine.step(readingMbar: 120, now: at(5)) == [.closePressurize, .openVent, .fault(reason)])
    }

    @Test func ventAndSensorFailureMakeSafe() {
        var machine = PressureRegulation(settings: settings)
        machine.setSetpoint(600)
        _ = machine.step(readingMbar: 0, now: at(0))
        #expect(machine.vent() == [.closePressurize, .openVent])
        #expect(machine.vent().isEmpty)
        #expect(machine.step(readingMbar: 300, now: at(1)).isEmpty)
        machine.setSetpoint(600)
        #expect(machine.step(readingMbar: 300, now: at(1.1)) == [.closeVent, .openPressurize])
        #expect(machine.sensorFailed("gone") == [.closePressurize, .openVent, .fault(.sensor("gone"))])
    }

    /// Random setpoints and readings: the two valves are never open together, the pressurize
    /// valve is never open at or above the setpoint after a step, and nothing but the vent is
    /// open once a fault is latched.
    @Test func invariantsOverRandomRuns() {
        var random = SeededRandom(seed: 7)
        for _ in 0..<200 {
            var machine = PressureRegulation(settings: settings)
            var now = 0.0
            for _ in 0..<60 {
                if machine.fault == nil && random.nextUnit() < 0.1 {
                    machine.setSetpoint(random.nextUnit() * settings.maximumSetpointMbar)
                }
                if random.nextUnit() < 0.02 { _ = machine.vent() }
                if machine.fault != nil && random.nextUnit() < 0.1 { machine.reset() }
                let reading = random.nextUnit() * 1000
                now += random.nextUnit() * 2
                let actions = machine.step(readingMbar: reading, now: at(now))
                #expect(!(machine.pressurizeOpen && machine.ventOpen))
                if let setpoint = machine.setpointMbar, reading >= setpoint { #expect(!machine.pressurizeOpen) }
                if machine.fault != nil { #expect(machine.ventOpen && !machine.pressurizeOpen) }
                if reading >= settings.overpressureMbar { #expect(machine.fault != nil) }
                // A fault action always comes last, after the valves are safe.
                if let index = actions.firstIndex(where: { if case .fault = $0 { true } else { false } }) {
                    #expect(index == actions.count - 1)
                }
            }
        }
    }
}

/// The regulator on the twin: a head space, a Honeywell ABP simulator on the simulated I2C bus,
/// and two simulated solenoid lines that open and close the head space's valves.
private final class HeadspaceRig {
    let clock = VirtualClock()
    let bus = SimulatedI2CBus()
    var headspace = ReactorHeadspace(
        reactorMicrolitres: 3000, liquidMicrolitres: 1200, supplyMbar: 1000, pressurizeConductance: 0.5,
        ventConductance: 2)
    let pressurizeLine = SimulatedOutputLine(name: "twin:valve.pressurize", initialLevel: false)
    let ventLine = SimulatedOutputLine(name: "twin:valve.vent", initialLevel: false)
    let regulator: SolenoidPressureRegulator

    init() {
        let sensorBox = Box()
        let simulator = HoneywellABPSimulator(rangeMbar: 0...1000) { sensorBox.read() }
        bus.attach(simulator, at: 0x28)
        regulator = SolenoidPressureRegulator(
            name: "solenoid", sensor: HoneywellABP(bus: bus, rangeMbar: 0...1000),
            pressurizeValve: SolenoidValve(output: SwitchedOutput(id: "valve.pressurize", line: pressurizeLine, activeHigh: true)),
            ventValve: SolenoidValve(output: SwitchedOutput(id: "valve.vent", line: ventLine, activeHigh: true)),
            clock: clock, settings: settings)
        sensorBox.read = { [unowned self] in headspace.gaugeMbar }
    }

    /// Advances 0.1 s: the plant with the valves as the lines are, then one regulator tick.
    func period() throws(FluidicsError) {
        headspace.pressurizeOpen = pressurizeLine.isHigh
        headspace.ventOpen = ventLine.isHigh
        headspace.advance(seconds: 0.1)
        clock.advance(seconds: 0.1)
        try regulator.tick()
    }

    final class Box {
        var read: () -> Double = { 0 }
    }
}

struct SolenoidPressureRegulatorTests {
    @Test func regulatesTheTwinHeadspaceToSixHundredMillibar() throws {
        let rig = HeadspaceRig()
        try rig.regulator.setPressure(mbar: 600)
        var reachedAt: Double?
        var lowest = Double.infinity
        var highest = -Double.infinity
        for tick in 1...300 {
            try rig.period()
            let p = rig.headspace.gaugeMbar
            if reachedAt == nil && p >= 580 { reachedAt = Double(tick) * 0.1 }
            if reachedAt != nil { lowest = min(lowest, p); highest = max(highest, p) }
        }
        // Filling 0 -> 580 mbar towards a 1000 mbar supply with τ = V / (P_atm G) = 3.55 s takes
        // 3.55 × ln(1000 / 420) = 3.08 s; the loop sees it at the next 0.1 s tick.
        let reached = try #require(reachedAt)
        #expect(reached >= 3.0 && reached <= 3.3)
        // Then it holds within the band, give or take one period's change (≤ 12 mbar).
        #expect(lowest >= 580 - 12 && highest <= 620 + 12)
        #expect(abs(try rig.regulator.readPressure() - rig.headspace.gaugeMbar) < 0.1)
    }

    @Test func emptySupplyTripsNoPressureRiseAndVents() throws {
        let rig = HeadspaceRig()
        rig.headspace.supplyMbar = 0
        try rig.regulator.setPressure(mbar: 600)
        var caught: FluidicsError?
        for _ in 0..<100 {
            do { try rig.period() } catch { caught = error; break }
        }
        let error = try #require(caught)
        guard case .noPressureRise(let seconds, _, let setpoint) = error.reason else {
            Issue.record("expected noPressureRise, got \(error)")
            return
        }
        #expect(seconds >= 5 && seconds < 5.2 && setpoint == 600)
        #expect(rig.ventLine.isHigh && !rig.pressurizeLine.isHigh)
        // Latched: a new setpoint is refused until reset.
        #expect(throws: FluidicsError.self) { try rig.regulator.setPressure(mbar: 300) }
        rig.regulator.reset()
        try rig.regulator.setPressure(mbar: 300)
    }

    @Test func weldedPressurizeValveTripsOverpressure() throws {
        let rig = HeadspaceRig()
        rig.headspace.supplyMbar = 6000
        rig.pressurizeLine.stuckAt = true
        try rig.regulator.setPressure(mbar: 600)
        var caught: FluidicsError?
        for _ in 0..<200 {
            do { try rig.period() } catch { caught = error; break }
        }
        let error = try #require(caught)
        guard case .overpressure(let measured, let limit) = error.reason else {
            Issue.record("expected overpressure, got \(error)")
            return
        }
        #expect(measured >= 900 && limit == 900)
        #expect(rig.ventLine.isHigh)
        // Latched: later ticks keep the vent open and throw nothing new. Against the welded valve
        // the head space settles at G_in p_s / (G_in + G_vent) = 0.5 × 6000 / 2.5 = 1200 mbar:
        // the vent bounds it, the supply's own regulator must keep that within the reactor's rating.
        for _ in 0..<100 { try rig.period() }
        #expect(rig.ventLine.isHigh)
        #expect(abs(rig.headspace.gaugeMbar - 1200) < 1)
    }

    @Test func sensorLossVentsAndSetpointOutOfRangeIsRefused() throws {
        let rig = HeadspaceRig()
        #expect(throws: FluidicsError(
            device: "solenoid", operation: "setPressure",
            reason: .setpointOutOfRange(requestedMbar: 890, allowed: 0...880))) {
            try rig.regulator.setPressure(mbar: 890)
        }
        try rig.regulator.setPressure(mbar: 600)
        rig.bus.detach(at: 0x28)
        #expect {
            try rig.period()
        } throws: { error in
            guard let error = error as? FluidicsError, case .sensor(let message) = error.reason else { return false }
            return message.contains("0x28")
        }
        #expect(rig.ventLine.isHigh && !rig.pressurizeLine.isHigh)
    }
}
