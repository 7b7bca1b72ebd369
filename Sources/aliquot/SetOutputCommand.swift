import ArgumentParser
import Rig

/// `aliquot set-output`: switch one output by hand, within what the board file allows.
struct SetOutputCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-output",
        abstract: "Pulse a valve on by hand, or switch any output off.",
        discussion: """
            'on' needs --for and is allowed only for a valve whose board entry has manual_pulse = true, up to \
            its max_pulse_ms. 'off' is allowed for every output. Heaters are never switched on by hand.
            Example: aliquot set-output valve.sample on --for 200ms --board Boards/sim.toml
            """)

    @OptionGroup var boardOptions: BoardOptions

    @Argument(help: "The output id, e.g. valve.sample or heater.reactor.")
    var output: String

    @Argument(help: "on or off.")
    var state: String

    @Option(name: .customLong("for"), help: "Pulse length for 'on': 200ms, 1.5s, 750us.")
    var pulse: String?

    func validate() throws {
        guard state == "on" || state == "off" else {
            throw ValidationError("state must be 'on' or 'off', got '\(state)'")
        }
        if state == "on" && pulse == nil {
            throw ValidationError("'on' needs --for <length>: a pulse by hand always ends by itself")
        }
        if state == "off" && pulse != nil {
            throw ValidationError("--for goes with 'on' only")
        }
    }

    func run() throws {
        let request: ManualOutputRequest
        if let pulse {
            do { request = .pulse(nanoseconds: try parsePulseLength(pulse)) } catch {
                throw ValidationError(error.description)
            }
        } else {
            request = .off
        }
        let rig = try boardOptions.openRig()
        defer { reportFailures(rig.shutDown()) }
        do {
            try rig.validateManual(request, output: output)
            let seconds = try rig.performManual(request, output: output)
            switch request {
            case .off: print("\(output): off")
            case .pulse: print("\(output): pulsed on for \(fixed(seconds * 1000, 1)) ms, now off")
            }
        } catch {
            throw CommandFailure(error.description)
        }
    }
}
