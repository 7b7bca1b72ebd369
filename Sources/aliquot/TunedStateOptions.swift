import ArgumentParser
import Config
import Rig

#if canImport(Glibc)
import Glibc
#endif

/// `--tuned`: where the tuned state (PID gains written by `aliquot tune`) lives.
struct TunedStateOptions: ParsableArguments {
    @Option(
        name: .customLong("tuned"),
        help: "The tuned-state file. Default: $ALIQUOT_STATE_DIR/<board name>.tuned.toml, or state/<board name>.tuned.toml.")
    var path: String?

    func resolvedPath(board: BoardFile) -> String {
        if let path { return path }
        let folder = getenv("ALIQUOT_STATE_DIR").map { String(cString: $0) } ?? "state"
        return TunedState.defaultPath(board: board.name, folder: folder)
    }
}
