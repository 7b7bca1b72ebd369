import ArgumentParser
import Config
import Journal

#if canImport(Glibc)
import Glibc
#endif

/// `aliquot push`: push the journal to the lab server.
struct PushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push the journal to the lab server ([uplink] of the board file).",
        discussion: """
            With --once, sends every record the server has not acknowledged, batch by batch, and stops at \
            the first failure. Without it, keeps pushing (backing off after failures) until Ctrl-C. \
            docs/uplink-wire-format.md describes what the server receives.
            """)

    @OptionGroup var boardOptions: BoardOptions

    @Flag(help: "Push what is waiting now, then exit.")
    var once = false

    func run() throws {
        let board: BoardFile
        do { board = try BoardFile.load(path: boardOptions.board) } catch { throw CommandFailure(error.description) }
        guard let settings = board.uplink else {
            throw CommandFailure("\(boardOptions.board): no [uplink] section: nowhere to push to")
        }
        guard settings.enabled else {
            throw CommandFailure("\(boardOptions.board): [uplink] enabled = false")
        }
        guard access(board.journal.path, F_OK) == 0 else {
            throw CommandFailure("\(board.journal.path): no journal yet (nothing has run with \(boardOptions.board))")
        }
        do {
            let token = try settings.tokenFile.map { path throws(UplinkError) in try UplinkConfiguration.readToken(path: path) }
            let journal = try Journal(configuration: JournalConfiguration(path: board.journal.path, maxBytes: board.journal.maxBytes))
            defer {
                do { try journal.close() } catch { printError("journal: close: \(error)") }
            }
            let uplink = try Uplink(
                configuration: UplinkConfiguration(
                    url: settings.url, deviceID: settings.deviceID, token: token, batchRecords: settings.batchRecords,
                    intervalSeconds: settings.intervalS),
                journal: journal)
            if once {
                let report = try uplink.pushOnce()
                print("pushed \(report.records) records in \(report.batches) batches; "
                    + "acknowledged through \(report.acknowledgedThrough)")
                return
            }
            installStopHandler()
            try uplink.start()
            print("pushing to \(settings.url) until Ctrl-C")
            var reported = uplink.acknowledgedThrough
            while !stopRequested() {
                usleep(200_000)
                let now = uplink.acknowledgedThrough
                if now != reported {
                    print("acknowledged through \(now)")
                    reported = now
                }
            }
            uplink.stop()
            if let error = uplink.lastError { printError("last failure: \(error)") }
        } catch let error as UplinkError {
            throw CommandFailure(error.description)
        } catch let error as JournalError {
            throw CommandFailure(error.description)
        }
    }
}
