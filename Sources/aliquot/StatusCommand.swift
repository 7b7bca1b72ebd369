import ArgumentParser
import Config
import Journal

#if canImport(Glibc)
import Glibc
#endif

/// `aliquot status`: where the campaign stands, from the journal.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the campaign state, the journal and the uplink's progress.",
        discussion: """
            Reads the board's journal ([journal] path): the campaign state it holds (after a crash, the \
            experiment that was interrupted), how many records it keeps, how many the lab server has \
            acknowledged, and how much of the storage budget is used.
            """)

    @OptionGroup var boardOptions: BoardOptions

    @Flag(help: "Print one JSON object (for scripts).")
    var json = false

    func run() throws {
        let board: BoardFile
        do { board = try BoardFile.load(path: boardOptions.board) } catch { throw CommandFailure(error.description) }
        guard access(board.journal.path, F_OK) == 0 else {
            throw CommandFailure("\(board.journal.path): no journal yet (nothing has run with \(boardOptions.board))")
        }
        let journal: Journal
        do {
            journal = try Journal(configuration: JournalConfiguration(path: board.journal.path, maxBytes: board.journal.maxBytes))
        } catch {
            throw CommandFailure(error.description)
        }
        defer {
            do { try journal.close() } catch { printError("journal: close: \(error)") }
        }
        let statistics: JournalStatistics
        let state: CampaignState?
        do {
            statistics = try journal.statistics()
            state = try journal.campaignState()
        } catch {
            throw CommandFailure(error.description)
        }
        let lastSequence = max(statistics.lastSequence ?? 0, statistics.uplinkAcknowledgedSequence)
        let waiting = lastSequence - statistics.uplinkAcknowledgedSequence
        if json {
            var fields: [String] = []
            fields.append("\"journal\":\(JSONText.quoted(board.journal.path))")
            fields.append("\"journal_id\":\(JSONText.quoted(statistics.journalID))")
            fields.append("\"records\":\(statistics.recordCount)")
            fields.append("\"first_sequence\":\(statistics.firstSequence.map(String.init) ?? "null")")
            fields.append("\"last_sequence\":\(lastSequence)")
            fields.append("\"uplink_acknowledged_sequence\":\(statistics.uplinkAcknowledgedSequence)")
            fields.append("\"uplink_waiting_records\":\(waiting)")
            fields.append("\"uplink_enabled\":\(board.uplink?.enabled ?? false)")
            fields.append("\"used_bytes\":\(statistics.liveBytes),\"max_bytes\":\(statistics.maxBytes)")
            fields.append("\"accepting_campaigns\":\(statistics.acceptingCampaigns)")
            if let state {
                fields.append(
                    "\"campaign\":{\"name\":\(JSONText.quoted(state.campaign)),\"experiment\":"
                        + "\(state.experiment.map(String.init) ?? "null"),\"phase\":\"\(state.phase.rawValue)\","
                        + "\"detail\":\(JSONText.quoted(state.detail)),\"updated_ns\":\(state.updatedNanoseconds),"
                        + "\"interrupted_experiment\":\(state.interruptedExperiment.map(String.init) ?? "null")}")
            } else {
                fields.append("\"campaign\":null")
            }
            print("{" + fields.joined(separator: ",") + "}")
            return
        }
        if let state {
            let experiment = state.experiment.map { "experiment \($0)" } ?? "no experiment"
            print("campaign \(state.campaign): \(state.phase.rawValue), \(experiment)\(state.detail.isEmpty ? "" : ", \(state.detail)")")
            if let interrupted = state.interruptedExperiment {
                print("  experiment \(interrupted) was running when the controller last stopped: "
                    + "the next run marks it failed and continues")
            }
        } else {
            print("no campaign has run")
        }
        print("journal \(board.journal.path) (\(statistics.journalID)): \(statistics.recordCount) records"
            + (statistics.firstSequence.map { ", sequences \($0)...\(lastSequence)" } ?? ""))
        let usedMiB = Double(statistics.liveBytes) / 1_048_576
        print("storage: \(fixed(usedMiB, 1)) of \(board.journal.maxMB) MiB"
            + (statistics.acceptingCampaigns ? "" : ": FULL, no new campaign starts until the uplink drains or max_mb is raised"))
        let uplinkState = board.uplink.map { $0.enabled ? "to \($0.url)" : "disabled" } ?? "not configured"
        print("uplink \(uplinkState): acknowledged through \(statistics.uplinkAcknowledgedSequence), \(waiting) records waiting")
    }
}
