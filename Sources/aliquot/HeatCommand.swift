import ArgumentParser
import Config
import Control
import Rig

/// `aliquot heat`: heat the reactor to a setpoint, settle, take the scheduled injection, recover.
struct HeatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heat",
        abstract: "Heat the reactor to a setpoint, hold it, ride through the hot injection, and report.",
        discussion: """
            Uses the gains of `aliquot tune` from the tuned state. The reactor heats from where it is, must stay \
            within ±0.5 °C for a minute to count as settled, is held, then takes the scheduled hot injection \
            (on the twin: the board's injection volume at its temperature, with a feed-forward sized to the heat \
            it takes out), and is held through the recovery. The syringe heater holds the Cd-oleate stock liquid \
            meanwhile. Prints a live status line and a summary; --json prints only the summary. Ends in the safe \
            state: heaters off.
            """)

    @OptionGroup var boardOptions: BoardOptions
    @OptionGroup var tunedOptions: TunedStateOptions

    @Option(help: "The reactor setpoint, °C.")
    var setpoint: Double

    @Option(help: "The syringe heater's setpoint, °C (the Cd-oleate stock solidifies below about 50 °C).")
    var syringe: Double = 60

    @Flag(help: "Leave the syringe heater off.")
    var noSyringe = false

    @Flag(help: "Hold without the scheduled injection.")
    var noInjection = false

    @Option(help: "Seconds to hold after settling, before the injection.")
    var hold: Double = 60

    @Option(help: "Seconds to run after the injection.")
    var recovery: Double = 180

    @Option(help: "Seconds of the rig's clock between status lines.")
    var statusEvery: Double = 30

    @Flag(help: "Print only the summary, as one JSON object.")
    var json = false

    func validate() throws {
        for (name, value) in [("--setpoint", setpoint), ("--syringe", syringe)] where !value.isFinite {
            throw ValidationError("\(name) must be a number of °C")
        }
        for (name, value) in [("--hold", hold), ("--recovery", recovery)] where !(value >= 0 && value <= 86_400) {
            throw ValidationError("\(name) must be 0 to 86400 s, got \(value)")
        }
        guard statusEvery > 0 else { throw ValidationError("--status-every must be more than 0 s") }
    }

    func run() throws {
        let rig = try boardOptions.openRig()
        defer { reportFailures(rig.shutDown()) }
        let path = tunedOptions.resolvedPath(board: rig.board)
        let tuned: TunedState?
        do { tuned = try TunedState.loadIfPresent(path: path) } catch { throw CommandFailure(error.description) }
        guard let reactor = rig.heaters.first(where: { $0.config.name == "reactor" }) else {
            throw CommandFailure("\(rig.board.path) has no heater.reactor")
        }
        guard setpoint > 0, setpoint < reactor.config.maxC else {
            throw CommandFailure(
                "--setpoint \(setpoint) is out of range: allowed more than 0 and below heater.reactor.max_c = "
                    + "\(reactor.config.maxC) °C")
        }
        let hasSyringe = !noSyringe && rig.heaters.contains { $0.config.name == "syringe" }
        let injection = noInjection ? nil : rig.injectionFeedForward(setpoint: setpoint)
        if !noInjection && injection == nil && !json {
            print("note: \(rig.board.path) schedules no injection here; holding without one")
        }
        let plan = HeatSequence.Plan(
            reactorSetpoint: setpoint, syringeSetpoint: hasSyringe ? syringe : nil, hold: hold,
            injection: injection, recovery: recovery)
        let report: HeatReport
        do {
            let loops = try rig.makeHeatLoops(tuned: tuned, tunedPath: path)
            report = try rig.runHeat(plan, loops: loops, statusEverySeconds: statusEvery) { status in
                if !json { print(statusLine(status)) }
            }
        } catch {
            throw CommandFailure(error.description)
        }
        if json {
            print(summaryJSON(report))
        } else {
            for line in summaryLines(report) { print(line) }
        }
        if case .completed = report.outcome {} else { throw ExitCode(2) }
    }

    private func statusLine(_ status: HeatStatus) -> String {
        var text = "t=\(padded(fixed(status.seconds, 0), 6)) s \(padded(status.phase.rawValue, 10))"
        for loop in status.loops {
            let reading = loop.celsius.map { fixed($0, 2) } ?? "-"
            let target = loop.setpoint.map { fixed($0, 0) } ?? "idle"
            text += "  \(loop.loop) \(padded(reading, 7)) °C → \(target) (duty \(padded(fixed(loop.duty * 100, 0), 3))%)"
            if loop.trip != nil { text += " TRIPPED" }
        }
        return text
    }

    private func summaryLines(_ report: HeatReport) -> [String] {
        let p = report.performance
        func seconds(_ value: Double?) -> String { value.map { "\(fixed($0, 1)) s" } ?? "never" }
        func celsius(_ value: Double?) -> String { value.map { "\(fixed($0, 2)) °C" } ?? "-" }
        var lines = [
            "summary (setpoint \(fixed(report.plan.reactorSetpoint, 1)) °C, \(fixed(report.seconds, 0)) s of run):",
            "  outcome:              \(outcomeText(report.outcome))",
            "  rise time (90 %):     \(seconds(p.riseSeconds))",
            "  overshoot:            \(celsius(p.overshootCelsius))",
            "  settling time (±\(fixed(report.plan.settlingBand, 1)) °C): \(seconds(p.settlingSeconds))",
            "  steady-state error:   \(celsius(p.steadyErrorCelsius)) mean, \(celsius(p.maxSettledErrorCelsius)) max",
        ]
        if report.injectedAt != nil {
            lines.append("  injection drop:       \(celsius(p.injectionDropCelsius))")
            lines.append("  injection recovery (±1 °C): \(seconds(p.injectionRecoverySeconds))")
        }
        if report.plan.syringeSetpoint != nil {
            lines.append("  syringe hold:         ±\(celsius(report.syringeMaxErrorCelsius)) max error")
        }
        lines.append("  safety trips:         \(report.trips.count)")
        for trip in report.trips { lines.append("    \(trip.description)") }
        return lines
    }

    private func outcomeText(_ outcome: HeatSequence.Outcome) -> String {
        switch outcome {
        case .completed: return "completed"
        case .notSettled(let after): return "did not settle within \(fixed(after, 0)) s"
        case .tripped(let loop): return "safety trip on \(loop)"
        }
    }

    private func summaryJSON(_ report: HeatReport) -> String {
        let p = report.performance
        func number(_ value: Double?) -> String {
            guard let value, value.isFinite else { return "null" }
            return String(describing: value)
        }
        let outcome: String
        switch report.outcome {
        case .completed: outcome = "completed"
        case .notSettled: outcome = "not_settled"
        case .tripped: outcome = "tripped"
        }
        let fields: [(String, String)] = [
            ("setpoint_c", number(report.plan.reactorSetpoint)),
            ("rise_s", number(p.riseSeconds)),
            ("overshoot_c", number(p.overshootCelsius)),
            ("settling_s", number(p.settlingSeconds)),
            ("steady_error_c", number(p.steadyErrorCelsius)),
            ("max_settled_error_c", number(p.maxSettledErrorCelsius)),
            ("injection_drop_c", number(p.injectionDropCelsius)),
            ("injection_recovery_s", number(p.injectionRecoverySeconds)),
            ("syringe_max_error_c", number(report.syringeMaxErrorCelsius)),
            ("safety_trips", String(report.trips.count)),
            ("outcome", "\"\(outcome)\""),
        ]
        return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
    }
}
