import ArgumentParser
import Config
import Control
import Rig

#if canImport(Glibc)
import Glibc
#endif

/// `aliquot tune`: relay autotune of one heater loop; the gains go to the tuned-state file.
struct TuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tune",
        abstract: "Relay-autotune one heater loop and write its PID gains to the tuned state.",
        discussion: """
            The heater is switched between full power (its max_duty) and off around the setpoint until four \
            oscillation cycles have been measured; Ku and Tu of the median cycle give the gains. The board's \
            hard limit max_c is the safety limit the autotune refuses to run without. The gains are written \
            to the tuned-state file (other loops' entries are kept); `aliquot heat` uses them.
            """)

    @OptionGroup var boardOptions: BoardOptions
    @OptionGroup var tunedOptions: TunedStateOptions

    @Option(help: "The heater loop to tune, e.g. reactor or syringe.")
    var loop: String

    @Option(help: "The setpoint to oscillate around, °C.")
    var setpoint: Double

    @Option(help: "Tuning rule: \(RelayAutotune.TuningRule.allCases.map(\.rawValue).joined(separator: ", ")).")
    var rule: String = RelayAutotune.TuningRule.tyreusLuyben.rawValue

    func validate() throws {
        guard RelayAutotune.TuningRule(rawValue: rule) != nil else {
            throw ValidationError(
                "--rule \(rule) is not a tuning rule; allowed: "
                    + RelayAutotune.TuningRule.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard setpoint.isFinite else { throw ValidationError("--setpoint must be a number of °C") }
    }

    func run() throws {
        let rig = try boardOptions.openRig()
        defer { reportFailures(rig.shutDown()) }
        let path = tunedOptions.resolvedPath(board: rig.board)
        let existing: TunedState?
        do { existing = try TunedState.loadIfPresent(path: path) } catch { throw CommandFailure(error.description) }
        if let existing, existing.board != rig.board.name {
            throw CommandFailure("\(path) holds gains of board \(existing.board), not \(rig.board.name): give another --tuned")
        }
        guard let heater = rig.heaters.first(where: { $0.config.name == loop }) else {
            throw CommandFailure(
                "--loop \(loop): no heater.\(loop) on \(rig.board.path); heaters: "
                    + rig.heaters.map(\.config.name).joined(separator: ", "))
        }
        let limit = heater.config.maxC - RelayAutotune.minimumHeadroomCelsius - 0.3
        guard setpoint > 0, setpoint < limit else {
            throw CommandFailure(
                "--setpoint \(setpoint) is out of range for heater.\(loop): allowed more than 0 and below \(fixed(limit, 1)) °C "
                    + "(its max_c \(heater.config.maxC) less the autotune's headroom)")
        }
        let tuningRule = RelayAutotune.TuningRule(rawValue: rule) ?? .tyreusLuyben
        print("tuning heater.\(loop) at \(fixed(setpoint, 1)) °C on \(rig.board.name) (\(rule))...")
        let result: RelayAutotune.Result
        do {
            result = try rig.runAutotune(loop: loop, setpoint: setpoint, rule: tuningRule)
        } catch {
            throw CommandFailure(error.description)
        }
        for (number, cycle) in result.cycles.enumerated() {
            print(
                "  cycle \(number + 1): period \(fixed(cycle.periodSeconds, 2)) s, amplitude "
                    + "\(fixed(cycle.amplitudeCelsius, 3)) °C, Ku \(fixed(cycle.ultimateGain, 4))")
        }
        print("Ku = \(fixed(result.ultimateGain, 4)) duty/°C, Tu = \(fixed(result.ultimatePeriodSeconds, 2)) s (median cycle)")
        let gains = result.gains
        print(
            "gains: kp = \(gains.kp), ki = \(gains.ki), kd = \(gains.kd), derivative filter "
                + "\(fixed(gains.derivativeFilterSeconds, 2)) s")
        var state = existing ?? TunedState(board: rig.board.name, loops: [])
        state.record(
            TunedState.Loop(
                name: loop, kp: gains.kp, ki: gains.ki, kd: gains.kd,
                derivativeFilterSeconds: gains.derivativeFilterSeconds, rule: result.rule.rawValue,
                ultimateGain: result.ultimateGain, ultimatePeriodSeconds: result.ultimatePeriodSeconds,
                setpointCelsius: setpoint, tunedAtUnixSeconds: Int64(time(nil))))
        do { try state.save(path: path) } catch { throw CommandFailure(error.description) }
        print("written to \(path)")
    }
}
