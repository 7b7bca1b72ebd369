/// The journal's tables and their versioned migrations, kept in `PRAGMA user_version`.
///
/// Version 1: `records` (the append-only log: sequence, time, kind, experiment, JSON payload)
/// and `campaign_state` (one row: what the campaign was doing, for recovery after a crash).
/// Version 2: `journal_meta` (the journal's random id, so a receiver tells a new journal from an
/// old one even when sequence numbers restart), `uplink_state` (one row: the highest sequence
/// the lab server acknowledged) and an index of records by experiment.
///
/// Each migration runs in its own transaction together with its `user_version` bump, so a crash
/// in the middle leaves the previous version whole.
public enum JournalSchema {
    /// The version this program writes.
    public static let currentVersion: Int64 = 2

    /// A migration from `version - 1` to `version`.
    struct Migration: Sendable {
        let version: Int64
        let apply: @Sendable (SQLiteDatabase) throws(SQLiteError) -> Void
    }

    static let migrations: [Migration] = [
        Migration(version: 1) { database throws(SQLiteError) in
            try database.execute(
                """
                CREATE TABLE records(
                    sequence INTEGER PRIMARY KEY,
                    time_ns INTEGER NOT NULL,
                    kind TEXT NOT NULL CHECK (kind IN ('event', 'sample', 'spectrum', 'log')),
                    experiment INTEGER,
                    payload TEXT NOT NULL);
                CREATE TABLE campaign_state(
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    campaign TEXT NOT NULL,
                    experiment INTEGER,
                    phase TEXT NOT NULL,
                    detail TEXT NOT NULL,
                    updated_ns INTEGER NOT NULL);
                """)
        },
        Migration(version: 2) { database throws(SQLiteError) in
            try database.execute(
                """
                CREATE TABLE journal_meta(
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    journal_id TEXT NOT NULL,
                    created_ns INTEGER NOT NULL);
                CREATE TABLE uplink_state(
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    acknowledged_sequence INTEGER NOT NULL,
                    updated_ns INTEGER NOT NULL);
                INSERT INTO uplink_state VALUES (1, 0, 0);
                CREATE INDEX records_by_experiment ON records(experiment, sequence);
                """)
            let insert = try database.prepare("INSERT INTO journal_meta VALUES (1, ?, ?)")
            try insert.bind(1, newJournalID())
            try insert.bind(2, realtimeNanoseconds())
            try insert.step()
        },
    ]

    /// Brings `database` to `target` (default: the current version), one migration per
    /// transaction. Returns the version found before migrating.
    ///
    /// - Throws: `JournalError.newerSchema` if the file was written by a newer program (it is
    ///   left untouched), `JournalError.database` if a migration fails.
    @discardableResult
    public static func migrate(_ database: SQLiteDatabase, to target: Int64 = currentVersion) throws(JournalError) -> Int64 {
        precondition(target >= 0 && target <= currentVersion, "no schema version \(target)")
        let found: Int64
        do {
            found = try database.userVersion
        } catch {
            throw .database(error)
        }
        guard found <= currentVersion else {
            throw .newerSchema(path: database.path, found: found, supported: currentVersion)
        }
        for migration in migrations where migration.version > found && migration.version <= target {
            do {
                try database.transaction { () throws(SQLiteError) in
                    try migration.apply(database)
                    try database.execute("PRAGMA user_version = \(migration.version)")
                }
            } catch {
                throw .database(error)
            }
        }
        return found
    }

    /// 128 random bits as 32 lowercase hex digits (`SystemRandomNumberGenerator`: getrandom(2)).
    static func newJournalID() -> String {
        var generator = SystemRandomNumberGenerator()
        let words = [generator.next() as UInt64, generator.next() as UInt64]
        return words.map { word in
            let digits = String(word, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }.joined()
    }
}
