import Config
import Control
import Transports

extension Rig {
    /// The relay autotune settings for `heater` at `setpoint`: full power against off, a 0.3 °C
    /// hysteresis (a few register steps of the converter), four measured cycles, and the heater's
    /// own `max_c` as the limit the relay refuses to run without.
    public func autotuneSettings(heater: HeaterConfig, setpoint: Double) -> RelayAutotune.Settings {
        RelayAutotune.Settings(
            setpoint: setpoint, outputHigh: heater.maxDuty, outputLow: 0, hysteresisCelsius: 0.3,
            cyclesRequired: 4, maxDurationSeconds: 3 * 3600, maxCelsius: heater.maxC)
    }

    /// Runs a relay autotune of loop `name` (on the twin or the hardware: see `LoopDriver`): the
    /// loop is put in manual mode at the relay's output each control period, with its setpoint set
    /// so the safety supervisor watches as in a heat run. Every other heater stays idle. Ends in
    /// the safe state.
    public func runAutotune(
        loop name: String, setpoint: Double, rule: RelayAutotune.TuningRule
    ) throws(RigError) -> RelayAutotune.Result {
        guard let heater = heaters.first(where: { $0.config.name == name }) else {
            let known = heaters.map(\.config.name).joined(separator: ", ")
            throw RigError(part: "heater.\(name)", action: "tune", detail: "no such heater on \(board.path); heaters: \(known)")
        }
        var autotune: RelayAutotune
        do {
            autotune = try RelayAutotune(settings: autotuneSettings(heater: heater.config, setpoint: setpoint), rule: rule)
        } catch {
            throw RigError(part: "heater.\(name)", action: "tune", underlying: error)
        }
        // The gains do not matter in manual mode; the supervisor and the output path do.
        let loops = try makeHeatLoops { _ in PIDGains(kp: 0, ki: 0, kd: 0, derivativeFilterSeconds: 0) }
        let driver = try makeLoopDriver(loops)
        defer { driver.finish() }
        let control = driver.control
        guard let index = control.port.index(of: name) else {
            throw RigError(part: "heater.\(name)", action: "tune", detail: "no loop \(name)")
        }
        _ = control.port.send(.setSetpoint(loop: index, celsius: setpoint))
        _ = control.port.send(.setManualOutput(loop: index, duty: 0))
        let period = Int64(board.control.periodMs) * 1_000_000
        while true {
            try driver.advance(until: clock.now().adding(nanoseconds: period))
            let snapshot = control.port.snapshot(index)
            if let trip = snapshot.trip {
                throw RigError(part: "heater.\(name)", action: "tune", detail: "safety trip: \(trip.description)")
            }
            guard let celsius = snapshot.celsius else { continue }
            switch autotune.step(measurement: celsius, at: clock.now()) {
            case .drive(let duty):
                _ = control.port.send(.setManualOutput(loop: index, duty: duty))
            case .finished(let result):
                return result
            case .failed(let error):
                throw RigError(part: "heater.\(name)", action: "tune", underlying: error)
            }
        }
    }
}
