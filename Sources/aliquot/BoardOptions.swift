import ArgumentParser
import Config
import Rig

/// `--board`, shared by every command that drives a rig.
struct BoardOptions: ParsableArguments {
    @Option(name: .long, help: "The board file (TOML): Boards/sim.toml for the twin, or a real board's file.")
    var board: String = "Boards/sim.toml"

    /// Loads and checks the board file, then builds the rig. Any failure here happens before an
    /// output line is requested.
    func openRig() throws -> Rig {
        let file: BoardFile
        do {
            file = try BoardFile.load(path: board)
        } catch {
            throw CommandFailure(error.description)
        }
        do {
            return try Rig.open(board: file)
        } catch {
            throw CommandFailure("\(board): \(error.description)")
        }
    }
}

/// A failure a command reports as one clear line and a non-zero exit.
struct CommandFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
