import Config
import Control
import Testing
import Transports
import Twin
@testable import Rig

/// The heat-control issue's numbers on the twin: autotune, then heat from room temperature,
/// hold, ride through the injection; and every safety check tripping on its own physical fault.
struct HeatRunTests {
    /// Tunes both loops on fresh twins of the shipped board, as `aliquot tune` does.
    static func tunedGains(reactorSetpoint: Double) throws -> [String: PIDGains] {
        var gains: [String: PIDGains] = [:]
        for (loop, setpoint) in [("reactor", reactorSetpoint), ("syringe", 60.0)] {
            let (rig, _) = try twinRig(try simBoard())
            let result = try rig.runAutotune(loop: loop, setpoint: setpoint, rule: .tyreusLuyben)
            #expect(result.cycles.count >= 4)
            gains[loop] = result.gains
        }
        return gains
    }

    @Test(arguments: [210.0, 240.0, 300.0])
    func fromRoomTemperatureWithAutotunedGains(setpoint: Double) throws {
        let gains = try Self.tunedGains(reactorSetpoint: setpoint)
        let (rig, twin) = try twinRig(try simBoard())
        #expect(abs(try twin.state(ofHeater: "reactor").celsius - 25) < 1e-9)
        let loops = try rig.makeHeatLoops(gains: Self.lookUp(gains))
        let injection = try #require(rig.injectionFeedForward(setpoint: setpoint))
        let plan = HeatSequence.Plan(
            reactorSetpoint: setpoint, syringeSetpoint: 60, hold: 60, injection: injection, recovery: 180)
        let report = try rig.runHeat(plan, loops: loops)
        let performance = report.performance
        #expect(report.outcome == .completed)
        #expect(report.trips.isEmpty)
        #expect(performance.overshootCelsius <= 3)
        #expect(try #require(performance.maxSettledErrorCelsius) <= 0.5)
        // The injection is a real disturbance (the probe sees tens of degrees) and is ridden out.
        #expect(try #require(performance.injectionDropCelsius) > 15)
        #expect(try #require(performance.injectionRecoverySeconds) <= 60)
        // The Cd-oleate syringe held at 60 ± 1 °C, never solidified.
        #expect(try #require(report.syringeMaxErrorCelsius) <= 1)
        #expect(try twin.state(ofHeater: "syringe").everSolidified == false)
        // Safe state at the end: both heater lines at their off level.
        #expect(twin.lines.values.allSatisfy { !$0.isHigh })
        // The supervisor logged the injection window it allowed.
        #expect(report.events.contains { if case .safety(.injectionWindowOpened) = $0 { true } else { false } })
    }

    static func lookUp(_ gains: [String: PIDGains]) -> (HeaterConfig) throws(RigError) -> PIDGains {
        { (heater) throws(RigError) in
            guard let found = gains[heater.name] else {
                throw RigError(part: "heater.\(heater.name)", action: "test", detail: "no gains")
            }
            return found
        }
    }

    static let holdingGains: [String: PIDGains] = [
        "reactor": PIDGains(kp: 0.092, ki: 0.0021, kd: 0.29, derivativeFilterSeconds: 0.63),
        "syringe": PIDGains(kp: 0.66, ki: 0.0153, kd: 2.06, derivativeFilterSeconds: 0.62),
    ]

    /// Each physical fault, put into the twin after `at` seconds of a 240 °C run (0: from the
    /// start), and the check that must catch it.
    @Test(arguments: [
        ("thermocouple open", 300.0, SafetyCheck.sensorFault),
        ("thermocouple stuck", 300.0, .stuck),
        ("heater stuck on (SSR welded)", 300.0, .heaterStuckOn),
        ("heater dead (element open)", 0.0, .heatingGain),
        ("heater too weak for the setpoint", 0.0, .runaway),
        ("loop stall", 300.0, .loopStall),
    ])
    func eachSafetyCheckTripsOnItsOwnFaultAndTheHeatersEndOff(fault: String, at: Double, check: SafetyCheck) throws {
        var board = try simBoard()
        if fault == "heater too weak for the setpoint" {
            // A derated heater: 30 % of 150 W cannot hold 240 °C (it needs about 50 %).
            board = try simBoard(replacing: [("max_duty = 1.0\n", "max_duty = 0.3\n")])
        }
        let (rig, twin) = try twinRig(board)
        let loops = try rig.makeHeatLoops(gains: Self.lookUp(Self.holdingGains))
        let control = rig.makeControlLoop(loops)
        _ = control.port.setSetpoint(240, loop: "reactor")
        _ = control.port.setSetpoint(60, loop: "syringe")
        func inject() throws {
            switch fault {
            case "thermocouple open": twin.converters["reactor"]?.thermocouple = .open
            case "thermocouple stuck": twin.converters["reactor"]?.isStuck = true
            case "heater stuck on (SSR welded)": try twin.setHeaterFault(.ssrWeldedOn, heater: "reactor")
            case "heater dead (element open)": try twin.setHeaterFault(.elementOpen, heater: "reactor")
            case "loop stall": twin.virtualClock.advance(seconds: 2)  // the loop does not tick for 2 s
            default: break
            }
        }
        if at == 0 { try inject() }
        try control.run(forSeconds: max(at, 0.1), safeStateOnExit: false)
        let before = try #require(control.port.snapshot(loop: "reactor"))
        #expect(before.trip == nil)  // healthy until the fault
        if at > 0 {
            #expect(abs((before.celsius ?? 0) - 240) < 1)
            try inject()
        }
        try control.run(forSeconds: 600, safeStateOnExit: false)
        let reactor = try #require(control.port.snapshot(loop: "reactor"))
        let trip = try #require(reactor.trip)
        #expect(trip.check == check)
        #expect(trip.loop == "reactor")
        #expect(!trip.numbers.isEmpty)
        // The trip holds the heater off (latched); a fault of the reactor's own leaves the syringe
        // loop running (a stalled loop trips every loop it runs).
        #expect(reactor.duty == 0)
        #expect(reactor.heaterOn == false)
        #expect(twin.lines["heater.reactor"]?.isHigh == false)
        let syringeTrip = control.port.snapshot(loop: "syringe")?.trip
        #expect(check == .loopStall ? syringeTrip?.check == .loopStall : syringeTrip == nil)
        control.enterSafeState(at: rig.clock.now())
        #expect(twin.lines.values.allSatisfy { !$0.isHigh })
        // Every trip was journaled as an event with its numbers.
        let events = control.port.takeEvents()
        #expect(events.contains { event in
            switch event {
            case .tripped(let journaled), .safety(.tripped(let journaled)): journaled == trip
            default: false
            }
        })
    }
}
