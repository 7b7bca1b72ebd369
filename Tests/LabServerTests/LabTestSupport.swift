import Foundation
import Journal
import Logging
import PostgresNIO
import Testing

@testable import LabServer

/// A store to run a test against: SQLite in a fresh temporary file, or PostgreSQL in a fresh
/// database of the server named by ALIQUOT_TEST_POSTGRES_URL (.ci/postgres.sh starts one).
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }

    static let skipMessage =
        "SKIPPED (PostgreSQL): ALIQUOT_TEST_POSTGRES_URL is not set; run the tests under `.ci/postgres.sh run -- swift test ...`"

    /// nil when PostgreSQL is not available (the caller prints `skipMessage` and returns).
    func make() async throws -> (any LabStore)? {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aliquot-lab-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            return try SQLiteLabStore(path: directory.appendingPathComponent("lab.sqlite").path)
        case .postgres:
            guard let url = ProcessInfo.processInfo.environment["ALIQUOT_TEST_POSTGRES_URL"] else { return nil }
            guard case .postgres(let host, let port, let user, let password, let database) = try LabDatabase(parsing: url) else {
                return nil
            }
            var logger = Logger(label: "test")
            logger.logLevel = .error
            // A fresh database per test: tests run in parallel and count rows.
            let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            let admin = PostgresClient(
                configuration: .init(host: host, port: port, username: user, password: password, database: database, tls: .disable),
                backgroundLogger: logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await admin.run() }
                try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
                group.cancelAll()
            }
            return try await LabDatabase.postgres(host: host, port: port, user: user, password: password, database: name)
                .open(logger: logger)
        }
    }
}

let journalA = "9f0c6d1e2a3b4c5d6e7f8091a2b3c4d5"
let journalB = "00112233445566778899aabbccddeeff"

func record(_ sequence: Int64, _ kind: RecordKind = .log, experiment: Int? = 1, payload: String = "{}", time: Int64? = nil) -> StoredRecord {
    StoredRecord(
        sequence: sequence,
        record: JournalRecord(kind: kind, timeNanoseconds: time ?? (1_763_750_000_000_000_000 + sequence), experiment: experiment, payload: payload))
}

/// A batch as the board sends it, decoded as the server decodes it.
func incoming(device: String, journal: String = journalA, _ records: [StoredRecord]) throws -> IncomingBatch {
    try IngestDecoder.decode(UplinkBatch(deviceID: device, journalID: journal, records: records).encoded())
}

func logRecords(_ range: ClosedRange<Int64>) -> [StoredRecord] {
    range.map { record($0, .log, payload: "{\"level\":\"info\",\"message\":\"line \($0)\"}") }
}
