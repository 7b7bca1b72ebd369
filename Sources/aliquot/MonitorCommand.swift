import ArgumentParser
import Rig

/// `aliquot monitor`: every thermocouple and every output line, live.
struct MonitorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "monitor",
        abstract: "Show every thermocouple and output line, live.",
        discussion: """
            Watches only: outputs stay off, unless --duty drives a heater on a twin board (the board's hard \
            limits still cut it). Ends in the safe state: heaters off, valves closed. On the twin, time is \
            virtual and runs as fast as the machine allows.
            """)

    @OptionGroup var boardOptions: BoardOptions

    @Option(help: "How long to run, in seconds of the rig's clock (virtual on the twin). Default: 10 on the twin, until Ctrl-C on hardware.")
    var seconds: Double?

    @Option(help: "Seconds between samples.")
    var interval: Double = 1

    @Option(help: "Twin only: drive a heater at a fixed duty, as heater.<name>=<0..max_duty>. Repeatable.")
    var duty: [String] = []

    func run() throws {
        let duties = try parseDuties()
        let rig = try boardOptions.openRig()
        defer { reportFailures(rig.shutDown()) }
        let plan = MonitorPlan(
            seconds: seconds ?? (rig.board.transport == .twin ? 10 : nil), interval: interval, duties: duties)
        do { try rig.validate(plan) } catch { throw CommandFailure(error.description) }

        installStopHandler()
        let table = MonitorTable(rig: rig)
        print(table.banner())
        print(table.header())
        do {
            try rig.monitor(plan, shouldStop: { stopRequested() }) { snapshot in
                print(table.row(snapshot))
                for cut in snapshot.cuts { print("  cut: \(cut)") }
            }
        } catch {
            throw CommandFailure(error.description)
        }
        print("safe state: heaters off, valves closed")
    }

    private func parseDuties() throws -> [String: Double] {
        var duties: [String: Double] = [:]
        for entry in duty {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Double(parts[1]), value.isFinite else {
                throw ValidationError("--duty \(entry): expected heater.<name>=<fraction>, e.g. heater.reactor=0.6")
            }
            duties[parts[0]] = value
        }
        return duties
    }
}

/// Prints what shutting down could not do (the command has already failed or finished; the
/// operator must know an output may not be off).
func reportFailures(_ failures: [RigError]) {
    for failure in failures {
        printError("warning: \(failure.description)")
    }
}
