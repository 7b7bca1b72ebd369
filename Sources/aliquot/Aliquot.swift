import ArgumentParser

/// The one command-line entry point of the controller. Each subcommand lives in its own file.
@main
struct Aliquot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "aliquot",
        abstract: "Controller of an automated hot-injection batch microreactor for CdSe quantum dots.",
        discussion: """
            Every command takes a board file (--board): Boards/sim.toml runs the digital twin, a real \
            board file drives the hardware it describes. A board file that does not check out stops the \
            command before any output line is touched.
            """,
        subcommands: [
            RunCommand.self, MonitorCommand.self, SetOutputCommand.self, HeatCommand.self, TuneCommand.self, AnalyzeCommand.self,
            AcquireCommand.self, TrainCommand.self, EvaluateCommand.self, PredictCommand.self, ModelCommand.self, ExplainCommand.self, StudyCommand.self, SuggestCommand.self, DoctorCommand.self, StatusCommand.self, PushCommand.self,
        ])
}
