import ArgumentParser
import Config
import Rig

/// `aliquot doctor`: is this machine ready to run this board?
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the board's devices and the machine, and say what to do about each problem.",
        discussion: """
            Looks without touching: GPIO lines present and free, each thermocouple converter's ID on its I2C \
            bus, the spectrometers on USB and whether this user may open them, the kernel's preemption model, \
            whether SCHED_FIFO and memory locking are permitted, the clock source, and free disk for the \
            journal. Exits 1 when anything failed, 0 otherwise (warnings included).
            """)

    @Option(name: .long, help: "The board file (TOML) to check.")
    var board: String = "Boards/sim.toml"

    @Option(name: .customLong("data-dir"), help: "Where the journal and results are kept.")
    var dataDirectory: String = "/var/lib/aliquot"

    func run() throws {
        let file: BoardFile
        do {
            file = try BoardFile.load(path: board)
        } catch {
            throw CommandFailure(error.description)
        }
        let findings = Doctor(board: file, probes: LiveDoctorProbes(), dataDirectory: dataDirectory).diagnose()
        print("\(file.path): \(file.name) (\(file.transport.rawValue))")
        for finding in findings { print(finding) }
        let failures = findings.filter { $0.level == .failure }.count
        let warnings = findings.filter { $0.level == .warning }.count
        print("\(findings.count) checks: \(failures) failed, \(warnings) warnings")
        if failures > 0 { throw ExitCode(1) }
    }
}
