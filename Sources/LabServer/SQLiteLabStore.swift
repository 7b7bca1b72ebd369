import CSQLite
import Journal
import Synchronization

/// The default store: one SQLite file (WAL mode, through the system libsqlite3 and Journal's
/// `SQLiteDatabase`), created and migrated on open. One connection, used under a lock: SQLite
/// serializes writers anyway, and a batch is one short transaction.
public final class SQLiteLabStore: LabStore {
    /// The schema this code writes (`PRAGMA user_version`).
    public static let schemaVersion: Int64 = 1
    public let path: String
    private let connection: Mutex<SQLiteDatabase?>

    /// Opens (creating if needed) the database at `path` and migrates it to `schemaVersion`.
    /// `synchronous=NORMAL`: in WAL mode a crash of the server loses nothing committed; a
    /// power cut can lose the last commits, which the boards then resend (they keep records
    /// until acknowledged... and acknowledgement happens after commit, so those are re-sent only
    /// if the answer was lost).
    public init(path: String, synchronous: SQLiteSynchronous = .normal) throws {
        self.path = path
        do {
            let database = try SQLiteDatabase(path: path, synchronous: synchronous)
            try SQLiteLabStore.migrate(database)
            connection = Mutex(database)
        } catch {
            throw LabStoreError.sqlite(error)
        }
    }

    static func migrate(_ database: SQLiteDatabase) throws(SQLiteError) {
        let version = try database.userVersion
        guard version < schemaVersion else { return }
        try database.transaction { () throws(SQLiteError) in
            try database.execute(
                """
                CREATE TABLE IF NOT EXISTS devices (
                    id TEXT PRIMARY KEY, token_hash TEXT NOT NULL, created_ns INTEGER NOT NULL, last_seen_ns INTEGER);
                CREATE TABLE IF NOT EXISTS batches (
                    batch_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, journal_id TEXT NOT NULL,
                    first_sequence INTEGER NOT NULL, last_sequence INTEGER NOT NULL,
                    received_ns INTEGER NOT NULL, new_records INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS records (
                    device_id TEXT NOT NULL, journal_id TEXT NOT NULL, sequence INTEGER NOT NULL,
                    time_ns INTEGER NOT NULL, kind TEXT NOT NULL, experiment INTEGER, campaign TEXT,
                    level INTEGER, message TEXT, payload TEXT NOT NULL, received_ns INTEGER NOT NULL,
                    PRIMARY KEY (device_id, journal_id, sequence)) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS records_by_kind_time ON records (kind, time_ns);
                CREATE INDEX IF NOT EXISTS records_by_experiment ON records (device_id, campaign, experiment, kind);
                PRAGMA user_version = 1;
                """)
        }
    }

    private func withDatabase<Result: Sendable>(
        _ body: (SQLiteDatabase) throws(SQLiteError) -> Result
    ) throws -> Result {
        do {
            return try connection.withLock { database throws(SQLiteError) -> Result in
                guard let database else {
                    preconditionFailure("SQLiteLabStore used after shutdown")
                }
                return try body(database)
            }
        } catch {
            throw LabStoreError.sqlite(error)
        }
    }

    public func addDevice(id: String, tokenHash: String, createdNanoseconds: Int64) async throws {
        let inserted = try withDatabase { database throws(SQLiteError) -> Bool in
            let statement = try database.prepare(
                "INSERT OR IGNORE INTO devices (id, token_hash, created_ns) VALUES (?1, ?2, ?3)")
            try statement.bind(1, id)
            try statement.bind(2, tokenHash)
            try statement.bind(3, createdNanoseconds)
            try statement.step()
            return database.changes == 1
        }
        guard inserted else { throw LabStoreError.deviceExists(id) }
    }

    public func replaceTokenHash(deviceID: String, tokenHash: String) async throws {
        let updated = try withDatabase { database throws(SQLiteError) -> Bool in
            let statement = try database.prepare("UPDATE devices SET token_hash = ?1 WHERE id = ?2")
            try statement.bind(1, tokenHash)
            try statement.bind(2, deviceID)
            try statement.step()
            return database.changes == 1
        }
        guard updated else { throw LabStoreError.unknownDevice(deviceID) }
    }

    public func removeDevice(id: String) async throws {
        let removed = try withDatabase { database throws(SQLiteError) -> Bool in
            let statement = try database.prepare("DELETE FROM devices WHERE id = ?1")
            try statement.bind(1, id)
            try statement.step()
            return database.changes == 1
        }
        guard removed else { throw LabStoreError.unknownDevice(id) }
    }

    public func credentials() async throws -> [DeviceCredential] {
        try withDatabase { database throws(SQLiteError) in
            let statement = try database.prepare("SELECT id, token_hash FROM devices ORDER BY id")
            var result: [DeviceCredential] = []
            while try statement.step() {
                result.append(DeviceCredential(deviceID: statement.text(0) ?? "", tokenHash: statement.text(1) ?? ""))
            }
            return result
        }
    }

    public func devices() async throws -> [LabDevice] {
        try withDatabase { database throws(SQLiteError) in
            let statement = try database.prepare(
                """
                SELECT id, created_ns, last_seen_ns, (SELECT count(*) FROM records r WHERE r.device_id = d.id)
                FROM devices d ORDER BY id
                """)
            var result: [LabDevice] = []
            while try statement.step() {
                result.append(
                    LabDevice(
                        id: statement.text(0) ?? "", createdNanoseconds: statement.int64(1),
                        lastSeenNanoseconds: statement.optionalInt64(2), recordCount: statement.int64(3)))
            }
            return result
        }
    }

    public func store(_ batch: IncomingBatch, receivedNanoseconds: Int64) async throws -> BatchOutcome {
        try withDatabase { database throws(SQLiteError) -> BatchOutcome in
            try database.transaction { () throws(SQLiteError) -> BatchOutcome in
                let insert = try database.prepare(
                    """
                    INSERT OR IGNORE INTO records (device_id, journal_id, sequence, time_ns, kind, experiment,
                        campaign, level, message, payload, received_ns)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                    """)
                var newRecords = 0
                for record in batch.records {
                    try insert.bind(1, batch.deviceID)
                    try insert.bind(2, batch.journalID)
                    try insert.bind(3, record.sequence)
                    try insert.bind(4, record.timeNanoseconds)
                    try insert.bind(5, record.kind.rawValue)
                    try insert.bind(6, record.experiment.map { Int64($0) })
                    try insert.bind(7, record.campaign)
                    try insert.bind(8, record.level.map { Int64($0.rawValue) })
                    try insert.bind(9, record.message)
                    try insert.bind(10, record.payload)
                    try insert.bind(11, receivedNanoseconds)
                    try insert.step()
                    newRecords += Int(database.changes)
                    insert.reset()
                }
                let batchRow = try database.prepare(
                    """
                    INSERT OR IGNORE INTO batches (batch_id, device_id, journal_id, first_sequence, last_sequence,
                        received_ns, new_records) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                    """)
                try batchRow.bind(1, batch.batchID)
                try batchRow.bind(2, batch.deviceID)
                try batchRow.bind(3, batch.journalID)
                try batchRow.bind(4, batch.firstSequence)
                try batchRow.bind(5, batch.lastSequence)
                try batchRow.bind(6, receivedNanoseconds)
                try batchRow.bind(7, Int64(newRecords))
                try batchRow.step()
                let seen = try database.prepare("UPDATE devices SET last_seen_ns = ?1 WHERE id = ?2")
                try seen.bind(1, receivedNanoseconds)
                try seen.bind(2, batch.deviceID)
                try seen.step()
                return newRecords == 0 ? .duplicate : .stored(newRecords: newRecords)
            }
        }
    }

    public func records(_ query: RecordQuery) async throws -> [LabRecord] {
        var conditions: [String] = []
        if query.deviceID != nil { conditions.append("device_id = ?1") }
        if query.kind != nil { conditions.append("kind = ?2") }
        if query.campaign != nil { conditions.append("campaign = ?3") }
        if query.experiment != nil { conditions.append("experiment = ?4") }
        if query.likePattern != nil { conditions.append("message LIKE ?5 ESCAPE '\\'") }
        if query.minimumLevel != nil { conditions.append("level >= ?6") }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let order = query.newestFirst ? "DESC" : "ASC"
        let sql = """
            SELECT device_id, journal_id, sequence, time_ns, kind, experiment, campaign, level, message, payload
            FROM records \(filter)
            ORDER BY time_ns \(order), device_id \(order), journal_id \(order), sequence \(order) LIMIT ?7
            """
        return try withDatabase { database throws(SQLiteError) in
            let statement = try database.prepare(sql)
            if let deviceID = query.deviceID { try statement.bind(1, deviceID) }
            if let kind = query.kind { try statement.bind(2, kind.rawValue) }
            if let campaign = query.campaign { try statement.bind(3, campaign) }
            if let experiment = query.experiment { try statement.bind(4, Int64(experiment)) }
            if let pattern = query.likePattern { try statement.bind(5, pattern) }
            if let level = query.minimumLevel { try statement.bind(6, Int64(level.rawValue)) }
            try statement.bind(7, Int64(query.limit))
            var result: [LabRecord] = []
            while try statement.step() {
                result.append(
                    LabRecord(
                        deviceID: statement.text(0) ?? "", journalID: statement.text(1) ?? "",
                        sequence: statement.int64(2), timeNanoseconds: statement.int64(3),
                        kind: RecordKind(rawValue: statement.text(4) ?? "") ?? .log,
                        experiment: statement.optionalInt64(5).map { Int($0) }, campaign: statement.text(6),
                        level: statement.optionalInt64(7).flatMap { LogLevel(rawValue: Int($0)) },
                        message: statement.text(8), payload: statement.text(9) ?? "null"))
            }
            return result
        }
    }

    public func campaigns() async throws -> [CampaignSummary] {
        try withDatabase { database throws(SQLiteError) in
            let statement = try database.prepare(
                """
                SELECT device_id, campaign, count(DISTINCT experiment), count(*), max(time_ns) FROM records
                WHERE kind = 'sample' AND campaign IS NOT NULL GROUP BY device_id, campaign ORDER BY device_id, campaign
                """)
            var result: [CampaignSummary] = []
            while try statement.step() {
                result.append(
                    CampaignSummary(
                        deviceID: statement.text(0) ?? "", campaign: statement.text(1) ?? "",
                        experiments: Int(statement.int64(2)), samples: Int(statement.int64(3)),
                        lastNanoseconds: statement.int64(4)))
            }
            return result
        }
    }

    public func experiments(deviceID: String?, campaign: String?) async throws -> [ExperimentSummary] {
        try withDatabase { database throws(SQLiteError) in
            let statement = try database.prepare(
                """
                SELECT device_id, campaign, experiment, count(*), min(time_ns), max(time_ns) FROM records
                WHERE kind = 'sample' AND campaign IS NOT NULL AND experiment IS NOT NULL
                    AND (?1 IS NULL OR device_id = ?1) AND (?2 IS NULL OR campaign = ?2)
                GROUP BY device_id, campaign, experiment ORDER BY device_id, campaign, experiment
                """)
            try statement.bind(1, deviceID)
            try statement.bind(2, campaign)
            var result: [ExperimentSummary] = []
            while try statement.step() {
                result.append(
                    ExperimentSummary(
                        deviceID: statement.text(0) ?? "", campaign: statement.text(1) ?? "",
                        experiment: Int(statement.int64(2)), samples: Int(statement.int64(3)),
                        firstNanoseconds: statement.int64(4), lastNanoseconds: statement.int64(5)))
            }
            return result
        }
    }

    public func recordCount() async throws -> Int64 {
        try withDatabase { database throws(SQLiteError) in try database.scalarInteger("SELECT count(*) FROM records") ?? 0 }
    }

    public func shutdown() async {
        connection.withLock { database in database = nil }
    }
}
