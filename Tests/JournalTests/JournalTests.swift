import Foundation
import Synchronization
import Testing

@testable import Journal

/// Sequences handed to `onDurable`, in call order.
final class AckLog: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int64] = []
    func add(_ sequence: Int64) { lock.withLock { values.append(sequence) } }
    var all: [Int64] { lock.withLock { values } }
}

@Suite struct JournalTests {
    @Test func appendAcknowledgeAndReadBack() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("journal.sqlite")
        let journal = try Journal(configuration: JournalConfiguration(path: path, maxBytes: 64 << 20))
        let acks = AckLog()
        var expected: [Int64: String] = [:]
        for n in 0..<500 {
            let record = testRecord("r\(n)", n: n, experiment: n % 7 == 0 ? nil : n / 50 + 1)
            let sequence = try journal.submit(record) { acks.add($0) }
            expected[sequence] = record.payload
        }
        try journal.flush()
        // Every callback ran once, in sequence order, and only for durable records.
        #expect(acks.all == Array(1...500))
        #expect(journal.durableSequence == 500)
        let stored = try journal.records(after: 0, limit: 1000)
        #expect(stored.map(\.sequence) == Array(1...500))
        #expect(stored.allSatisfy { expected[$0.sequence] == $0.record.payload })
        #expect(stored[7].record == testRecord("r7", n: 7, experiment: nil))
        #expect(stored[8].record == testRecord("r8", n: 8, experiment: 1))
        // Ranges for the uplink: after a sequence, a limit, a byte bound (always at least one).
        #expect(try journal.records(after: 100, limit: 10).map(\.sequence) == Array(101...110))
        #expect(try journal.records(after: 100, limit: 10, maxBytes: 1).map(\.sequence) == [101])
        #expect(try journal.records(after: 500, limit: 10).isEmpty)
        try journal.close()

        // Reopened, numbering continues after the last durable record.
        let reopened = try Journal(configuration: JournalConfiguration(path: path, maxBytes: 64 << 20))
        #expect(reopened.journalID == journal.journalID && reopened.journalID.count == 32)
        #expect(try reopened.append(testRecord("after")) == 501)
        let statistics = try reopened.statistics()
        #expect(statistics.recordCount == 501 && statistics.firstSequence == 1 && statistics.lastSequence == 501)
        try reopened.close()
    }

    @Test func migratesAnEmptyFileToTheCurrentVersion() throws {
        let directory = TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.file("empty.sqlite"))
        #expect(try JournalSchema.migrate(database) == 0)
        #expect(try database.userVersion == JournalSchema.currentVersion)
        let tables = try database.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        var names: [String] = []
        while try tables.step() { names.append(tables.text(0) ?? "") }
        #expect(names == ["campaign_state", "journal_meta", "records", "uplink_state"])
        // Migrating again does nothing.
        #expect(try JournalSchema.migrate(database) == JournalSchema.currentVersion)
    }

    @Test func migratesAVersionOneJournalKeepingItsRecords() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("v1.sqlite")
        do {
            let old = try SQLiteDatabase(path: path)
            try JournalSchema.migrate(old, to: 1)
            try old.execute(
                """
                INSERT INTO records VALUES (1, 10, 'sample', 3, '{"id":"old"}');
                INSERT INTO campaign_state VALUES (1, 'grid', 3, 'running', 'hold', 20);
                """)
            #expect(try old.userVersion == 1)
        }
        let journal = try Journal(configuration: JournalConfiguration(path: path, maxBytes: 64 << 20))
        #expect(try journal.records(after: 0, limit: 10) == [
            StoredRecord(sequence: 1, record: JournalRecord(kind: .sample, timeNanoseconds: 10, experiment: 3, payload: "{\"id\":\"old\"}"))
        ])
        #expect(journal.recoveredCampaignState?.interruptedExperiment == 3)
        #expect(try journal.uplinkAcknowledgedSequence() == 0)
        #expect(journal.journalID.count == 32)
        #expect(try journal.append(testRecord("new")) == 2)
        try journal.close()
        #expect(try SQLiteDatabase(path: path).userVersion == 2)
    }

    @Test func refusesAJournalFromANewerProgram() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("future.sqlite")
        try SQLiteDatabase(path: path).execute("PRAGMA user_version = 99")
        #expect(throws: JournalError.newerSchema(path: path, found: 99, supported: 2)) {
            _ = try Journal(configuration: JournalConfiguration(path: path, maxBytes: 1 << 20))
        }
    }

    @Test func sqliteErrorsNameTheCodeAndTheStatement() throws {
        let directory = TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.file("e.sqlite"))
        let error = try #require(throws: SQLiteError.self) { try database.execute("SELECT * FROM missing") }
        #expect(error.codeName == "SQLITE_ERROR")
        #expect(error.sql == "SELECT * FROM missing")
        #expect(error.description.contains("no such table: missing"))
        #expect(SQLiteError.name(ofCode: 13) == "SQLITE_FULL")
        #expect(SQLiteError.name(ofCode: 10 | (4 << 8)) == "SQLITE_IOERR (extended 1034)")
    }

    @Test func recoversTheInterruptedExperiment() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("state.sqlite")
        let journal = try Journal(configuration: JournalConfiguration(path: path, maxBytes: 1 << 20))
        #expect(journal.recoveredCampaignState == nil)
        try journal.setCampaignState(CampaignState(campaign: "grid", experiment: 4, phase: .idle, detail: "", updatedNanoseconds: 1))
        try journal.setCampaignState(
            CampaignState(campaign: "grid", experiment: 5, phase: .running, detail: "sampling 7/20", updatedNanoseconds: 2))
        try journal.close()
        let reopened = try Journal(configuration: JournalConfiguration(path: path, maxBytes: 1 << 20))
        #expect(reopened.recoveredCampaignState == CampaignState(
            campaign: "grid", experiment: 5, phase: .running, detail: "sampling 7/20", updatedNanoseconds: 2))
        #expect(reopened.recoveredCampaignState?.interruptedExperiment == 5)
        try reopened.close()
    }

    @Test(arguments: ["", "{", "{\"a\":1,}", "[1 2]", "nan", "\"tab\there\"", "{\"a\":01}", "{} {}"])
    func refusesPayloadsThatAreNotOneJSONValue(payload: String) throws {
        #expect(!JSONText.isValid(payload))
        let directory = TemporaryDirectory()
        let journal = try Journal(configuration: JournalConfiguration(path: directory.file("j.sqlite"), maxBytes: 1 << 20))
        #expect(throws: JournalError.invalidPayload(kind: .log, prefix: String(payload.prefix(60)))) {
            try journal.submit(JournalRecord(kind: .log, timeNanoseconds: 0, experiment: nil, payload: payload))
        }
        try journal.close()
    }

    @Test(arguments: ["{}", "[]", "0", "-1.5e-3", "\"é\\u00e9\\n\"", " {\"a\":[true,false,null,{\"b\":\"c\"}]} ", "[[[]]]"])
    func acceptsJSONValues(payload: String) {
        #expect(JSONText.isValid(payload))
    }

    @Test func quotesStringsAsJSON() throws {
        let quoted = JSONText.quoted("a\"b\\c\n\u{1}é")
        #expect(quoted == "\"a\\\"b\\\\c\\n\\u0001é\"")
        let decoded = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
        #expect(decoded == ["a\"b\\c\n\u{1}é"])
        #expect(JSONText.number(3) == "3" && JSONText.number(0.25) == "0.25" && JSONText.number(.nan) == "null")
    }

    /// While another connection holds the write lock, the writer cannot commit: submissions
    /// still return at once up to the handoff's capacity, then are refused, never dropped.
    @Test func theHandoffIsBoundedAndNeverWaits() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("busy.sqlite")
        let journal = try Journal(configuration: JournalConfiguration(path: path, maxBytes: 64 << 20, handoffCapacity: 50))
        let blocker = try SQLiteDatabase(path: path)
        try blocker.execute("BEGIN IMMEDIATE")
        for n in 0..<50 {
            #expect(try journal.submit(testRecord("b\(n)", n: n)) == Int64(n + 1))
        }
        #expect(throws: JournalError.backlogFull(path: path, capacity: 50)) { try journal.submit(testRecord("refused")) }
        #expect(journal.durableSequence == 0)
        try blocker.execute("COMMIT")
        try journal.flush()
        #expect(journal.durableSequence == 50)
        #expect(try journal.records(after: 0, limit: 100).compactMap { payloadID($0.record.payload) } == (0..<50).map { "b\($0)" })
        // Room again once written.
        #expect(try journal.append(testRecord("later")) == 51)
        try journal.close()
    }

    /// SQLITE_FULL at the seam: the storage budget (PRAGMA max_page_count) runs out. New
    /// campaigns are refused, every acknowledged record stays, records submitted meanwhile are
    /// held and written once the server's acknowledgement lets old records be pruned.
    @Test func aFullDiskStopsNewCampaignsAndLosesNothing() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("full.sqlite")
        let configuration = JournalConfiguration(path: path, maxBytes: 96 << 10, retryMilliseconds: 5)
        let journal = try Journal(configuration: configuration)
        try journal.checkAcceptingCampaigns()
        var acknowledged: [Int64] = []
        var fullError: JournalError?
        for n in 0..<1000 {
            do {
                acknowledged.append(try journal.append(testRecord("f\(n)", n: n, padding: 900)))
            } catch {
                fullError = error
                break
            }
        }
        let error = try #require(fullError)
        #expect(error.isStorageFull, "\(error)")
        guard case .writeFailed(let sqlite) = error else {
            Issue.record("expected writeFailed, got \(error)")
            return
        }
        #expect(sqlite.codeName == "SQLITE_FULL")
        #expect(acknowledged.count > 20)
        // The runner sees it between experiments.
        let refusal = try #require(throws: JournalError.self) { try journal.checkAcceptingCampaigns() }
        guard case .storageFull(_, let used, let max, _) = refusal else {
            Issue.record("expected storageFull, got \(refusal)")
            return
        }
        #expect(max == 96 << 10 && used > 0)
        #expect(!(try journal.statistics().acceptingCampaigns))
        // Every acknowledged record is there.
        let stored = try journal.records(after: 0, limit: 10_000)
        #expect(stored.map(\.sequence) == acknowledged)
        // The record whose append failed is not dropped: it is held with those that arrive
        // while full, none of them acknowledged yet.
        let failedSequence = Int64(acknowledged.count + 1)
        let acks = AckLog()
        for n in 0..<5 {
            let sequence = try journal.submit(testRecord("held\(n)", n: n, padding: 900)) { acks.add($0) }
            #expect(sequence == failedSequence + 1 + Int64(n))
        }
        #expect(journal.durableSequence == Int64(acknowledged.count))
        #expect(throws: JournalError.self) { try journal.flush() }
        #expect(acks.all.isEmpty)
        // The server acknowledges the first half: the writer prunes those and the held ones go in.
        let serverHas = Int64(acknowledged.count / 2)
        try journal.acknowledgeUplink(through: serverHas)
        var flushed = false
        for _ in 0..<2000 where !flushed {
            do {
                try journal.flush()
                flushed = true
            } catch {
                usleep(2000)
            }
        }
        #expect(flushed)
        #expect(acks.all == Array((failedSequence + 1)...(failedSequence + 5)))
        let after = try journal.records(after: 0, limit: 10_000)
        // Only what the server acknowledged was pruned; the rest is contiguous and complete.
        let first = try #require(after.first).sequence
        #expect(first > 1 && first <= serverHas + 1)
        #expect(after.map(\.sequence) == Array(first...(failedSequence + 5)))
        #expect(after.suffix(6).compactMap { payloadID($0.record.payload) }
            == ["f\(acknowledged.count)"] + (0..<5).map { "held\($0)" })
        try journal.close()
    }

    /// NORMAL and FULL both commit through the same path; the choice only changes fsync.
    @Test(arguments: SQLiteSynchronous.allCases)
    func synchronousModeIsApplied(mode: SQLiteSynchronous) throws {
        let directory = TemporaryDirectory()
        let database = try SQLiteDatabase(path: directory.file("s.sqlite"), synchronous: mode)
        #expect(try database.scalarInteger("PRAGMA synchronous") == (mode == .full ? 2 : 1))
        #expect(try database.scalarText("PRAGMA journal_mode") == "wal")
    }
}
