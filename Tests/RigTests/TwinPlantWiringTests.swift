import Config
import Testing
import Twin
@testable import Rig

/// The board's reactor model reaches the plant, and the twin's injection and fault switches act
/// through the whole rig (lines, converters, drivers) as they would on the reactor.
struct TwinPlantWiringTests {
    @Test func theSimBoardsReactorModelReachesThePlant() throws {
        let (_, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        let reactor = try #require(twin.plant.zones.first { $0.name == "reactor" })
        #expect(reactor.charge == ThermalPlant.LiquidCharge(
            millilitres: 0.9, heatCapacityJoulesPerMillilitreKelvin: 1.8, couplingWattsPerKelvinAt800RPM: 0.54,
            stirRPM: 800))
        #expect(reactor.heatCapacityJoulesPerKelvin == 60)
        #expect(reactor.solidifiesBelowCelsius == nil)
        let syringe = try #require(twin.plant.zones.first { $0.name == "syringe" })
        #expect(syringe.charge == nil)
        #expect(syringe.solidifiesBelowCelsius == 50)
        #expect(twin.scheduledInjection(ofHeater: "reactor")?.volumeML == 0.3)
        #expect(twin.scheduledInjection(ofHeater: "reactor")?.celsius == 25)
        #expect(twin.scheduledInjection(ofHeater: "syringe") == nil)
        let state = try twin.state(ofHeater: "reactor")
        #expect(state.liquidCelsius == 150)
        #expect(state.blockCelsius == 150)
        #expect(state.liquidMillilitres == 0.9)
    }

    /// Holding 150 °C at its steady duty, the scheduled injection at 10 s drops the liquid by
    /// (150 − 25) · 0.3/1.2 = 31.25 °C at once; the converter shows the dip through the probe's
    /// lag, and the block pulls the liquid back within seconds.
    @Test func theScheduledInjectionIsTheDipTheLoopSees() throws {
        let (rig, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        let duty = 0.35 * (150 - 25) / 150
        var injection: ThermalPlant.Injection?
        var readings: [(seconds: Double, celsius: Double)] = []
        try rig.monitor(MonitorPlan(seconds: 40, interval: 0.25, duties: ["heater.reactor": duty])) { snapshot in
            if let celsius = snapshot.thermocouple("reactor")?.usableCelsius {
                readings.append((snapshot.seconds, celsius))
            }
            if snapshot.seconds == 10 { injection = try? twin.injectScheduled(intoHeater: "reactor") }
        }
        let made = try #require(injection)
        #expect(made.volumeML == 0.3 && made.injectedCelsius == 25)
        let before = try #require(made.liquidBeforeCelsius)
        #expect(abs(before - 150) < 0.3)
        #expect(abs(made.liquidAfterCelsius - (0.9 * before + 0.3 * 25) / 1.2) < 1e-9)
        #expect(try twin.state(ofHeater: "reactor").liquidMillilitres == 1.2)
        let lowest = try #require(readings.filter { $0.seconds > 10 }.map(\.celsius).min())
        #expect(lowest < 150 - 15)  // the dip, softened by the 2 s probe lag
        #expect(lowest > made.liquidAfterCelsius)
        let last = try #require(readings.last?.celsius)
        #expect(last > 147)  // back within 2 °C of the block, which lost ~1 °C to the charge
    }

    @Test func aDeadElementSwitchesButTheReactorCools() throws {
        let (rig, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        try twin.setHeaterFault(.elementOpen, heater: "reactor")
        var readings: [Double] = []
        try rig.monitor(MonitorPlan(seconds: 20, interval: 1, duties: ["heater.reactor": 1])) { snapshot in
            readings += [snapshot.thermocouple("reactor")?.usableCelsius].compactMap { $0 }
        }
        #expect(twin.lines["heater.reactor"]?.transitions ?? 0 > 0)  // the SSR was driven
        #expect(try twin.state(ofHeater: "reactor").heaterJoules == 0)
        #expect((readings.last ?? .infinity) < (readings.first ?? 0) - 2)
    }

    @Test func aWeldedSSRHeatsWithEveryLineOff() throws {
        let (rig, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        try twin.setHeaterFault(.ssrWeldedOn, heater: "reactor")
        var readings: [Double] = []
        try rig.monitor(MonitorPlan(seconds: 20, interval: 1, duties: [:])) { snapshot in
            readings += [snapshot.thermocouple("reactor")?.usableCelsius].compactMap { $0 }
        }
        #expect(twin.lines.values.allSatisfy { !$0.isHigh })
        #expect(abs(try twin.state(ofHeater: "reactor").heaterJoules - 150 * rig.elapsedSeconds()) < 1e-6)
        #expect((readings.last ?? 0) > (readings.first ?? .infinity) + 10)
    }

    @Test func aThermocoupleOutOfTheReactorReadsTheRoom() throws {
        let (rig, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        try twin.setSensorPlacement(.inAir, heater: "reactor")
        var last: Double?
        try rig.monitor(MonitorPlan(seconds: 30, interval: 1, duties: ["heater.reactor": 0.5])) { snapshot in
            last = snapshot.thermocouple("reactor")?.usableCelsius
        }
        // 15 probe lags: 25 °C plus noise and the converter's 0.0625 °C step.
        #expect(abs(try #require(last) - 25) < 0.3)
        #expect(try twin.state(ofHeater: "reactor").celsius > 150)
    }

    @Test func theUnheatedSyringeStockSolidifiesAndTheTwinKnows() throws {
        let (rig, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        var last: Double?
        try rig.monitor(MonitorPlan(seconds: 150, interval: 5, duties: [:])) { snapshot in
            last = snapshot.thermocouple("syringe")?.usableCelsius
        }
        // 60 °C falls to 50 °C in 333 s · ln(35/25) = 112 s.
        let syringe = try twin.state(ofHeater: "syringe")
        #expect(syringe.solidified)
        #expect(syringe.everSolidified)
        #expect(try #require(last) < 50)
        #expect(try !twin.state(ofHeater: "reactor").solidified)
    }

    @Test func stirringSetsTheCoupling() throws {
        let (_, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        let zone = try twin.zone(ofHeater: "reactor")
        let stirred = try #require(twin.plant.rates(of: zone, at: twin.nowSeconds).fast)
        try twin.setStirring(rpm: 0, heater: "reactor")
        let still = try #require(twin.plant.rates(of: zone, at: twin.nowSeconds).fast)
        #expect(try twin.state(ofHeater: "reactor").stirRPM == 0)
        // Without stirring the liquid follows the block several times more slowly.
        let ratio = still / stirred
        #expect(ratio > 0.1 && ratio < 0.25)
    }

    @Test func injectionsAndFaultsNameWhatIsWrong() throws {
        let (_, twin) = try twinRig(try simBoard(reactorStartingAt: 150))
        #expect(throws: RigError.self) { try twin.inject(intoHeater: "syringe", volumeML: 0.3, celsius: 25) }
        do {
            try twin.inject(intoHeater: "syringe", volumeML: 0.3, celsius: 25)
        } catch {
            #expect(error.description.hasPrefix("twin.syringe: inject: the zone holds no liquid: give coupling_w_per_k"))
        }
        do {
            try twin.setHeaterFault(.elementOpen, heater: "oven")
            Issue.record("no zone oven")
        } catch {
            #expect(error.description == "twin.oven: find zone: no [twin.oven] zone; zones: reactor, syringe")
        }
        let board = try simBoard(replacing: [("injection_ml = 0.3      # 300 µL TOP-Se, making 1.2 mL\n", "")])
        let (_, unscheduled) = try twinRig(board)
        do {
            try unscheduled.injectScheduled(intoHeater: "reactor")
            Issue.record("no injection_ml")
        } catch {
            #expect(error.description == "twin.reactor: inject: edited-sim.toml declares no injection_ml for [twin.reactor]")
        }
    }
}
