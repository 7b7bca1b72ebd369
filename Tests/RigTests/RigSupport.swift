import Config
import Foundation
import Rig
import Twin

/// The package root, three folders above this file (Tests/RigTests/RigSupport.swift).
let packageRoot: String = {
    var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// The twin board the project ships.
func simBoard() throws -> BoardFile {
    try BoardFile.load(path: packageRoot + "/Boards/sim.toml")
}

/// The shipped twin board with some of its text replaced (a different limit, a different start).
func simBoard(replacing edits: [(String, String)]) throws -> BoardFile {
    var text = try String(contentsOfFile: packageRoot + "/Boards/sim.toml", encoding: .utf8)
    for (old, new) in edits {
        precondition(text.contains(old), "the sim board no longer says \(old)")
        text = text.replacingOccurrences(of: old, with: new)
    }
    return try BoardFile.parse(text: text, path: "edited-sim.toml")
}

/// The shipped twin board with the reactor starting at `celsius` instead of room temperature
/// (a reactor left hot by an earlier run).
func simBoard(reactorStartingAt celsius: Double) throws -> BoardFile {
    try simBoard(replacing: [("initial_c = 25.0        # room temperature", "initial_c = \(celsius)   # room temperature")])
}

/// A twin rig and its factory (for the plant, the simulated parts and fault injection).
func twinRig(_ board: BoardFile) throws -> (Rig, TwinTransportFactory) {
    let twin = try TwinTransportFactory(board: board)
    return (try Rig(board: board, transports: twin), twin)
}
