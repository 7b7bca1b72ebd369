import CSQLite
import Foundation
import Testing

/// Power cuts and kill -9 in the middle of a campaign: the unmodified `aliquot run` on the twin,
/// SIGKILLed at random points and started again with the same command until the campaign ends.
@Suite("Campaign crash recovery")
struct CampaignCrashTests {
    /// Three short experiments (four aliquots each) so that a kill lands in every phase.
    static let campaign = """
        [campaign]
        name = "crash"

        [stocks]
        injection_diluent = "ODE"

        [schedule]
        sample_times_s = [10, 20, 40, 60]
        settle_s = 5
        cool_to_c = 150
        clean_cycles = 1

        [[experiment]]
        temperature_c = 240
        cd_mm = 10
        se_mm = 10
        oa_cd = 10

        [[experiment]]
        temperature_c = 210
        cd_mm = 20
        se_mm = 20
        oa_cd = 20

        [[experiment]]
        temperature_c = 240
        cd_mm = 5
        se_mm = 10
        oa_cd = 40
        """

    struct Run {
        var status: Int32
        var killed: Bool
        var output: String
    }

    /// Starts `aliquot run`; SIGKILLs it after `killAfter` seconds if it is still running.
    static func run(folder: URL, killAfter: Double?) throws -> Run {
        let process = Process()
        process.executableURL = CommandLineTests.executable
        process.arguments = [
            "run", "--board", packageRoot + "/Boards/sim.toml", folder.appendingPathComponent("crash.toml").path,
            "--out", folder.appendingPathComponent("results").path,
            "--journal", folder.appendingPathComponent("journal.sqlite").path,
            "--tuned", packageRoot + "/Tests/Fixtures/sim.tuned.toml", "--model", "none", "--quiet",
        ]
        process.currentDirectoryURL = folder
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        var killed = false
        // A run that has not finished in two minutes is hung: kill it and say so.
        let deadline = Date().addingTimeInterval(killAfter ?? 120)
        while process.isRunning && Date() < deadline { usleep(2_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            killed = killAfter != nil
        }
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return Run(status: process.terminationStatus, killed: killed, output: text)
    }

    /// Rows of a query on the journal (real SQLite, read-only).
    static func query(_ path: String, _ sql: String) throws -> [[String]] {
        var database: OpaquePointer?
        guard sqlite3_open_v2(path, &database, SQLITE_OPEN_READONLY, nil) == SQLITE_OK else {
            throw CocoaError(.fileReadUnknown)
        }
        defer { sqlite3_close(database) }
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(database, sql, -1, &statement, nil) == SQLITE_OK else {
            throw CocoaError(.fileReadCorruptFile, userInfo: [NSLocalizedDescriptionKey: String(cString: sqlite3_errmsg(database))])
        }
        defer { sqlite3_finalize(statement) }
        var rows: [[String]] = []
        while sqlite3_step(statement) == SQLITE_ROW {
            rows.append((0..<sqlite3_column_count(statement)).map { column in
                sqlite3_column_text(statement, column).map { String(cString: $0) } ?? ""
            })
        }
        return rows
    }

    /// 100 kills at random points over several campaigns, each campaign then run to its end: every
    /// aliquot row the results folder acknowledged is in the journal, none twice, and each
    /// experiment a kill interrupted is recorded failed, never resumed.
    @Test("SIGKILL at 100 random points: nothing acknowledged lost, nothing doubled, interrupted experiments failed")
    func killAndRestart() throws {
        var generator = SystemRandomNumberGenerator()
        var kills = 0
        var campaigns = 0
        var interruptedSeen = 0
        while kills < 100 {
            campaigns += 1
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aliquot-crash-\(getpid())-\(campaigns)")
            try? FileManager.default.removeItem(at: folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            try Self.campaign.write(to: folder.appendingPathComponent("crash.toml"), atomically: true, encoding: .utf8)
            var finished = false
            var attempts = 0
            while !finished {
                attempts += 1
                #expect(attempts < 60, "the campaign never finished")
                if attempts >= 60 { return }
                // Kill within the first 1.5 s of a run (a run takes a few seconds): any phase.
                let killAfter: Double? = kills < 100 ? Double.random(in: 0.05...1.5, using: &generator) : nil
                let run = try Self.run(folder: folder, killAfter: killAfter)
                if run.killed {
                    kills += 1
                    continue
                }
                #expect(run.status == 0, "\(run.output)")
                if run.status != 0 { return }
                finished = true
            }
            let results = folder.appendingPathComponent("results")
            let journal = folder.appendingPathComponent("journal.sqlite").path
            // Every experiment ended exactly once, in the ledger.
            let ledger = try String(contentsOf: results.appendingPathComponent("experiments.csv"), encoding: .utf8)
                .split(separator: "\n").dropFirst()
            let numbers = ledger.compactMap { Int($0.split(separator: ",").first ?? "") }
            #expect(numbers.sorted() == [1, 2, 3], "ledger: \(ledger)")
            let failedRows = ledger.filter { $0.contains("failed") }
            interruptedSeen += failedRows.filter { $0.contains("interrupted") }.count
            for row in failedRows { #expect(row.contains("interrupted"), "unexpected failure: \(row)") }
            // Nothing acknowledged lost: the journal's sequence has no gaps; every completed
            // experiment has all four samples, an interrupted one a prefix; nothing is doubled.
            let sequences = try Self.query(journal, "SELECT MIN(sequence), MAX(sequence), COUNT(*) FROM records")
            if let row = sequences.first, let low = Int(row[0]), let high = Int(row[1]), let count = Int(row[2]) {
                #expect(low == 1 && high == count, "sequence gaps: \(row)")
            }
            let samples = try Self.query(
                journal, "SELECT experiment, json_extract(payload, '$.aliquot') FROM records WHERE kind = 'sample'")
            let keys = samples.map { "\($0[0]):\($0[1])" }
            #expect(Set(keys).count == keys.count, "duplicated samples: \(keys)")
            for row in ledger {
                let fields = row.split(separator: ",")
                guard let number = fields.first.flatMap({ Int($0) }) else { continue }
                let aliquots = samples.filter { $0[0] == "\(number)" }.compactMap { Int($0[1]) }.sorted()
                if row.contains("completed") {
                    #expect(aliquots == [1, 2, 3, 4], "experiment \(number): \(aliquots)")
                } else {
                    #expect(aliquots == Array(1...max(1, aliquots.count)).prefix(aliquots.count).map { $0 }, "experiment \(number): \(aliquots)")
                }
            }
            let state = try Self.query(journal, "SELECT phase FROM campaign_state")
            #expect(state.first?.first == "finished")
        }
        #expect(kills >= 100)
        #expect(interruptedSeen > 0, "no kill ever interrupted an experiment")
    }
}
