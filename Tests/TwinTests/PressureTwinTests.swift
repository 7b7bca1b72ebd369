import Foundation
import Testing
import Transports
@testable import Twin

private func headspace(gauge: Double = 0) -> ReactorHeadspace {
    ReactorHeadspace(
        reactorMicrolitres: 3000, liquidMicrolitres: 1200, supplyMbar: 1000, pressurizeConductance: 0.5,
        ventConductance: 2, gaugeMbar: gauge)
}

struct ReactorHeadspaceTests {
    /// Filling through the open valve from 0 mbar: b = P_atm G_in / V = 1013.25 × 0.5 / 1800 =
    /// 0.28146 /s, p(2 s) = 1000 (1 − e^(−0.56292)) = 430.45 mbar (by hand).
    @Test func fillsTowardsTheSupplyExactly() {
        var gas = headspace()
        gas.pressurizeOpen = true
        gas.advance(seconds: 2)
        #expect(abs(gas.gaugeMbar - 430.45) < 0.01)
        // Two steps of 1 s are the same as one of 2 s (exact solution, not a stepper).
        var stepped = headspace()
        stepped.pressurizeOpen = true
        stepped.advance(seconds: 1)
        stepped.advance(seconds: 1)
        #expect(abs(stepped.gaugeMbar - gas.gaugeMbar) < 1e-9)
        gas.advance(seconds: 1000)
        #expect(abs(gas.gaugeMbar - 1000) < 1e-6)
    }

    /// Venting from 600 mbar: b = 1013.25 × 2 / 1800 = 1.12583 /s, p(1 s) = 600 e^(−1.12583) = 194.63.
    @Test func ventsExponentially() {
        var gas = headspace(gauge: 600)
        gas.ventOpen = true
        gas.advance(seconds: 1)
        #expect(abs(gas.gaugeMbar - 194.63) < 0.01)
    }

    @Test func closedValvesHoldAndBothOpenSplitTheDifference() {
        var gas = headspace(gauge: 600)
        gas.advance(seconds: 100)
        #expect(gas.gaugeMbar == 600)
        gas.pressurizeOpen = true
        gas.ventOpen = true
        gas.advance(seconds: 100)
        // G_in p_s / (G_in + G_vent) = 0.5 × 1000 / 2.5.
        #expect(abs(gas.gaugeMbar - 200) < 1e-6)
    }

    /// 300 µL injected into a 2100 µL head space at 0 mbar: 1013.25 × 2100 / 1800 − 1013.25 = 168.875.
    @Test func injectionCompressesAndRemovalExpands() {
        var gas = ReactorHeadspace(
            reactorMicrolitres: 3000, liquidMicrolitres: 900, supplyMbar: 1000, pressurizeConductance: 0.5,
            ventConductance: 2)
        gas.addLiquid(microlitres: 300)
        #expect(abs(gas.gaugeMbar - 168.875) < 1e-9)
        gas.removeLiquid(microlitres: 300)
        #expect(abs(gas.gaugeMbar) < 1e-9)
    }

    /// A 40 µL aliquot (0.43 s at R = 6.5, by the constant-pressure law) against an independent
    /// fine Euler integration of dV/dt = p / R with (p + P_atm) V constant.
    @Test func withdrawalMatchesAnIndependentIntegration() {
        var gas = headspace(gauge: 600)
        let resistance = 6.5
        let seconds = 40 * resistance / 600
        let withdrawn = gas.withdraw(throughResistance: resistance, seconds: seconds)

        let atm = 1013.25
        let k = 1613.25 * 1800
        var volume = 1800.0
        let steps = 200_000
        let dt = seconds / Double(steps)
        for _ in 0..<steps {
            let p = k / volume - atm
            volume += p / resistance * dt
        }
        #expect(abs(withdrawn - (volume - 1800)) < 0.001)
        // Less than the 40 µL the constant-pressure law predicts: the gauge pressure fell from 600
        // to about 566 mbar as the gas expanded into the 40 µL (38.84 µL by the Euler check).
        #expect(withdrawn < 39 && withdrawn > 38.7)
        #expect(abs(gas.liquidMicrolitres - (1200 - withdrawn)) < 1e-9)
        // Isothermal: (p + P_atm) V is conserved.
        #expect(abs((gas.gaugeMbar + atm) * gas.gasMicrolitres - k) < 1e-6)
        #expect(gas.gaugeMbar < 567 && gas.gaugeMbar > 565)
    }

    /// Left open for ever the flow stops at atmosphere, after V0 p0 / P_atm = 1800 × 600 /
    /// 1013.25 = 1065.9 µL have left.
    @Test func longWithdrawalEndsAtAtmosphere() {
        var gas = headspace(gauge: 600)
        let withdrawn = gas.withdraw(throughResistance: 6.5, seconds: 1e5)
        #expect(abs(withdrawn - 1065.88) < 0.05)
        #expect(abs(gas.gaugeMbar) < 0.05)
        // Nothing flows at atmosphere.
        var flat = headspace(gauge: 0)
        #expect(flat.withdraw(throughResistance: 6.5, seconds: 10) == 0)
    }
}

struct SimulatedPressureControllerTests {
    /// First-order lag: after one time constant 600 (1 − e^(−1)) = 379.27 mbar.
    @Test func followsTheSetpointWithALag() throws {
        let clock = VirtualClock()
        let controller = SimulatedPressureController(clock: clock, timeConstantSeconds: 0.1)
        controller.recordsCalls = true
        try controller.setPressure(mbar: 600)
        #expect(try controller.readPressure() == 0)
        clock.advance(seconds: 0.1)
        #expect(abs(try controller.readPressure() - 379.27) < 0.01)
        clock.advance(seconds: 2)  // 21 τ: 600 e^(−21) is below a µbar
        #expect(abs(try controller.readPressure() - 600) < 1e-3)
        try controller.vent()
        clock.advance(seconds: 0.1)
        // From 600 towards 0: 600 e^(−1) = 220.73.
        #expect(abs(try controller.readPressure() - 220.73) < 0.01)
        #expect(controller.calls == ["setPressure 600.0", "readPressure", "readPressure", "readPressure", "vent", "readPressure"])
    }

    @Test func refusesOutOfRangeAndReportsInjectedFaults() throws {
        let clock = VirtualClock()
        let controller = SimulatedPressureController(clock: clock, range: 0...1000)
        #expect(throws: FluidicsError(
            device: "twin:pressure", operation: "fgt_set_pressure",
            reason: .setpointOutOfRange(requestedMbar: 1200, allowed: 0...1000))) {
            try controller.setPressure(mbar: 1200)
        }
        #expect(try controller.range() == 0...1000)
        controller.failNext = .instrument(code: 1, name: "USB_error", meaning: "device disconnected")
        #expect(throws: FluidicsError.self) { try controller.readPressure() }
        #expect(try controller.readPressure() == 0)

        controller.overpressureAt = 500
        try controller.setPressure(mbar: 900)
        clock.advance(seconds: 1)
        #expect {
            try controller.readPressure()
        } throws: { error in
            (error as? FluidicsError)?.reason == .instrument(
                code: 9, name: "Overpressure", meaning: "pressure module is in overpressure protection")
        }
        // The protection vented it.
        #expect(controller.setpointMbar == 0)
    }
}

struct SimulatedSelectorValveTests {
    @Test(arguments: [(1, 4, 3), (1, 9, 2), (10, 1, 1), (3, 3, 0), (2, 7, 5)])
    func turnsTheShortWay(from start: Int, to end: Int, steps: Int) {
        let valve = SimulatedSelectorValve(positionCount: 10, clock: VirtualClock())
        #expect(valve.steps(from: start, to: end) == steps)
    }

    @Test func readsTurningUntilItArrives() throws {
        let clock = VirtualClock()
        let valve = SimulatedSelectorValve(positionCount: 10, clock: clock, secondsPerPosition: 0.05)
        try valve.select(position: 4)  // three steps: 0.15 s
        #expect(try valve.readState() == .turning)
        clock.advance(seconds: 0.1)
        #expect(try valve.readState() == .turning)
        clock.advance(seconds: 0.05)
        #expect(try valve.readState() == .at(4))
        #expect(valve.selections == [4])
    }

    @Test(arguments: [0, 11, -1])
    func refusesPositionsOutsideOneToN(position: Int) {
        let valve = SimulatedSelectorValve(positionCount: 10, clock: VirtualClock())
        #expect(throws: FluidicsError(
            device: "twin:selector", operation: "fgt_set_valvePosition",
            reason: .positionOutOfRange(requested: position, count: 10))) {
            try valve.select(position: position)
        }
    }

    @Test func moveWithADeadlineArrivesOrTimesOut() throws {
        let clock = VirtualClock()
        let valve = SimulatedSelectorValve(positionCount: 10, clock: clock, secondsPerPosition: 0.05)
        try valve.select(position: 6)  // five steps: 0.25 s
        var move = SelectorValveMove(target: 6, startedAt: clock.now(), timeoutSeconds: 1)
        var outcome = SelectorValveMove.Outcome.waiting
        while outcome == .waiting {
            clock.advance(seconds: 0.1)
            outcome = move.step(state: try valve.readState(), now: clock.now())
        }
        #expect(outcome == .arrived)
        #expect(abs(clock.now().seconds(since: .zero) - 0.3) < 1e-9)

        valve.isStuck = true
        try valve.select(position: 2)
        let start = clock.now()
        var stuck = SelectorValveMove(target: 2, startedAt: start, timeoutSeconds: 1)
        #expect(stuck.step(state: try valve.readState(), now: start.adding(seconds: 0.5)) == .waiting)
        #expect(stuck.step(state: try valve.readState(), now: start.adding(seconds: 1)) ==
            .timedOut(target: 2, lastState: .turning, afterSeconds: 1))
        // Finished: later steps repeat the outcome.
        #expect(stuck.step(state: .at(2), now: start.adding(seconds: 2)) == .timedOut(target: 2, lastState: .turning, afterSeconds: 1))
    }

    @Test func moveWaitsOnTheClockUntilArrival() throws {
        let clock = VirtualClock()
        let valve = SimulatedSelectorValve(positionCount: 10, clock: clock, secondsPerPosition: 0.05)
        // 1 -> 5: four steps, 0.2 s; polled every 0.02 s on the virtual clock.
        let took = try valve.move(to: 5, clock: clock, timeoutSeconds: 1)
        #expect(abs(took - 0.2) < 1e-9)
        #expect(try valve.readState() == .at(5))
        valve.isStuck = true
        #expect(throws: FluidicsError(
            device: "twin:selector", operation: "move",
            reason: .selectorTimedOut(target: 7, lastState: .turning, afterSeconds: 0.5))) {
            try valve.move(to: 7, clock: clock, timeoutSeconds: 0.5, pollSeconds: 0.1)
        }
    }

    /// Every state x time combination of the deadline machine.
    @Test(arguments: [
        (SelectorValveState.at(3), 0.5, SelectorValveMove.Outcome.arrived),
        (.at(3), 2.0, .arrived),
        (.at(5), 0.5, .waiting),  // still reporting the old position: wait
        (.at(5), 1.0, .wrongPosition(expected: 3, actual: 5)),
        (.turning, 0.999, .waiting),
        (.turning, 1.0, .timedOut(target: 3, lastState: .turning, afterSeconds: 1.0)),
    ])
    func deadlineMachine(state: SelectorValveState, atSeconds: Double, outcome: SelectorValveMove.Outcome) {
        var move = SelectorValveMove(target: 3, startedAt: .zero, timeoutSeconds: 1)
        #expect(move.step(state: state, now: MonotonicInstant.zero.adding(seconds: atSeconds)) == outcome)
    }
}
