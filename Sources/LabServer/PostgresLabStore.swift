import Journal
import Logging
import PostgresNIO

/// The fleet store: PostgreSQL through PostgresNIO's connection pool (`PostgresClient`). Every
/// query is parameterized (PostgresNIO's string interpolation binds values; no value is ever
/// spliced into SQL text). The schema is created or migrated on `connect`.
public final class PostgresLabStore: LabStore {
    /// The schema this code writes (table `aliquot_schema`).
    public static let schemaVersion: Int64 = 1
    let client: PostgresClient
    let runner: Task<Void, Never>
    let logger: Logger

    private init(client: PostgresClient, runner: Task<Void, Never>, logger: Logger) {
        self.client = client
        self.runner = runner
        self.logger = logger
    }

    /// Connects (the pool runs in a task of its own until `shutdown`) and migrates.
    public static func connect(_ configuration: PostgresClient.Configuration, logger: Logger) async throws -> PostgresLabStore {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        let runner = Task { await client.run() }
        await Task.yield()  // let the pool start before the first lease
        let store = PostgresLabStore(client: client, runner: runner, logger: logger)
        do {
            try await store.migrate()
        } catch {
            await store.shutdown()
            throw error
        }
        return store
    }

    /// The error as a `LabStoreError`: PSQLError's `description` hides the server's message on
    /// purpose, so take it from `serverInfo`.
    func failure(_ operation: String, _ error: any Error) -> LabStoreError {
        if let error = error as? LabStoreError { return error }
        if let error = error as? PSQLError {
            let message = error.serverInfo?[.message] ?? String(reflecting: error.code)
            let code = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
            return .postgres(operation: operation, message: message + code)
        }
        return .postgres(operation: operation, message: String(describing: error))
    }

    func migrate() async throws {
        do {
            try await client.withTransaction(logger: logger) { connection in
                // One migrator at a time when several servers start against one database.
                try await connection.query("SELECT pg_advisory_xact_lock(\(Int64(0x616C_6971_756F_74)))", logger: logger)
                let statements: [PostgresQuery] = [
                    "CREATE TABLE IF NOT EXISTS aliquot_schema (version BIGINT NOT NULL)",
                    """
                    CREATE TABLE IF NOT EXISTS devices (id TEXT PRIMARY KEY, token_hash TEXT NOT NULL,
                        created_ns BIGINT NOT NULL, last_seen_ns BIGINT)
                    """,
                    """
                    CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY, device_id TEXT NOT NULL,
                        journal_id TEXT NOT NULL, first_sequence BIGINT NOT NULL, last_sequence BIGINT NOT NULL,
                        received_ns BIGINT NOT NULL, new_records BIGINT NOT NULL)
                    """,
                    """
                    CREATE TABLE IF NOT EXISTS records (device_id TEXT NOT NULL, journal_id TEXT NOT NULL,
                        sequence BIGINT NOT NULL, time_ns BIGINT NOT NULL, kind TEXT NOT NULL, experiment BIGINT,
                        campaign TEXT, level BIGINT, message TEXT, payload TEXT NOT NULL, received_ns BIGINT NOT NULL,
                        PRIMARY KEY (device_id, journal_id, sequence))
                    """,
                    "CREATE INDEX IF NOT EXISTS records_by_kind_time ON records (kind, time_ns)",
                    "CREATE INDEX IF NOT EXISTS records_by_experiment ON records (device_id, campaign, experiment, kind)",
                ]
                for statement in statements { try await connection.query(statement, logger: logger) }
                var current: Int64 = 0
                for try await version in try await connection.query("SELECT max(version) FROM aliquot_schema", logger: logger)
                    .decode(Int64?.self)
                {
                    current = version ?? 0
                }
                if current < PostgresLabStore.schemaVersion {
                    try await connection.query(
                        "INSERT INTO aliquot_schema (version) VALUES (\(PostgresLabStore.schemaVersion))", logger: logger)
                }
            }
        } catch {
            throw failure("migrate", error)
        }
    }

    public func addDevice(id: String, tokenHash: String, createdNanoseconds: Int64) async throws {
        var inserted = 0
        do {
            let rows = try await client.query(
                """
                INSERT INTO devices (id, token_hash, created_ns) VALUES (\(id), \(tokenHash), \(createdNanoseconds))
                ON CONFLICT (id) DO NOTHING RETURNING id
                """, logger: logger)
            for try await _ in rows.decode(String.self) { inserted += 1 }
        } catch {
            throw failure("add device \(id)", error)
        }
        guard inserted == 1 else { throw LabStoreError.deviceExists(id) }
    }

    public func replaceTokenHash(deviceID: String, tokenHash: String) async throws {
        var updated = 0
        do {
            let rows = try await client.query(
                "UPDATE devices SET token_hash = \(tokenHash) WHERE id = \(deviceID) RETURNING id", logger: logger)
            for try await _ in rows.decode(String.self) { updated += 1 }
        } catch {
            throw failure("replace the token of device \(deviceID)", error)
        }
        guard updated == 1 else { throw LabStoreError.unknownDevice(deviceID) }
    }

    public func removeDevice(id: String) async throws {
        var removed = 0
        do {
            let rows = try await client.query("DELETE FROM devices WHERE id = \(id) RETURNING id", logger: logger)
            for try await _ in rows.decode(String.self) { removed += 1 }
        } catch {
            throw failure("remove device \(id)", error)
        }
        guard removed == 1 else { throw LabStoreError.unknownDevice(id) }
    }

    public func credentials() async throws -> [DeviceCredential] {
        do {
            var result: [DeviceCredential] = []
            let rows = try await client.query("SELECT id, token_hash FROM devices ORDER BY id", logger: logger)
            for try await (id, hash) in rows.decode((String, String).self) {
                result.append(DeviceCredential(deviceID: id, tokenHash: hash))
            }
            return result
        } catch {
            throw failure("read credentials", error)
        }
    }

    public func devices() async throws -> [LabDevice] {
        do {
            var result: [LabDevice] = []
            let rows = try await client.query(
                """
                SELECT id, created_ns, last_seen_ns, (SELECT count(*) FROM records r WHERE r.device_id = d.id)
                FROM devices d ORDER BY id
                """, logger: logger)
            for try await (id, created, seen, count) in rows.decode((String, Int64, Int64?, Int64).self) {
                result.append(LabDevice(id: id, createdNanoseconds: created, lastSeenNanoseconds: seen, recordCount: count))
            }
            return result
        } catch {
            throw failure("list devices", error)
        }
    }

    public func store(_ batch: IncomingBatch, receivedNanoseconds: Int64) async throws -> BatchOutcome {
        // One statement (so one transaction): the records as parallel arrays through unnest,
        // nullable columns as a value array and a "present" array.
        let records = batch.records
        let sequences = records.map(\.sequence)
        let times = records.map(\.timeNanoseconds)
        let kinds = records.map(\.kind.rawValue)
        let experiments = records.map { Int64($0.experiment ?? 0) }
        let hasExperiment = records.map { $0.experiment != nil }
        let campaigns = records.map { $0.campaign ?? "" }
        let hasCampaign = records.map { $0.campaign != nil }
        let levels = records.map { Int64($0.level?.rawValue ?? 0) }
        let hasLevel = records.map { $0.level != nil }
        let messages = records.map { $0.message ?? "" }
        let hasMessage = records.map { $0.message != nil }
        let payloads = records.map(\.payload)
        do {
            let rows = try await client.query(
                """
                WITH inserted AS (
                    INSERT INTO records (device_id, journal_id, sequence, time_ns, kind, experiment, campaign, level,
                        message, payload, received_ns)
                    SELECT \(batch.deviceID), \(batch.journalID), s, t, k, CASE WHEN he THEN e END,
                        CASE WHEN hc THEN c END, CASE WHEN hl THEN l END, CASE WHEN hm THEN m END, p,
                        \(receivedNanoseconds)
                    FROM unnest(\(sequences)::bigint[], \(times)::bigint[], \(kinds)::text[], \(experiments)::bigint[],
                        \(hasExperiment)::bool[], \(campaigns)::text[], \(hasCampaign)::bool[], \(levels)::bigint[],
                        \(hasLevel)::bool[], \(messages)::text[], \(hasMessage)::bool[], \(payloads)::text[])
                        AS u(s, t, k, e, he, c, hc, l, hl, m, hm, p)
                    ON CONFLICT (device_id, journal_id, sequence) DO NOTHING RETURNING 1),
                counted AS (SELECT count(*) AS n FROM inserted),
                batch AS (
                    INSERT INTO batches (batch_id, device_id, journal_id, first_sequence, last_sequence, received_ns,
                        new_records)
                    SELECT \(batch.batchID), \(batch.deviceID), \(batch.journalID), \(batch.firstSequence),
                        \(batch.lastSequence), \(receivedNanoseconds), n FROM counted
                    ON CONFLICT (batch_id) DO NOTHING),
                seen AS (UPDATE devices SET last_seen_ns = \(receivedNanoseconds) WHERE id = \(batch.deviceID))
                SELECT n FROM counted
                """, logger: logger)
            var newRecords: Int64 = 0
            for try await count in rows.decode(Int64.self) { newRecords = count }
            return newRecords == 0 ? .duplicate : .stored(newRecords: Int(newRecords))
        } catch {
            throw failure("store batch \(batch.batchID)", error)
        }
    }

    public func records(_ query: RecordQuery) async throws -> [LabRecord] {
        let experiment = query.experiment.map { Int64($0) }
        let level = query.minimumLevel.map { Int64($0.rawValue) }
        let kind = query.kind?.rawValue
        let pattern = query.likePattern
        let limit = Int64(query.limit)
        // Two statements rather than a spliced ORDER BY direction.
        let postgresQuery: PostgresQuery
        if query.newestFirst {
            postgresQuery = """
                SELECT device_id, journal_id, sequence, time_ns, kind, experiment, campaign, level, message, payload
                FROM records WHERE (\(query.deviceID)::text IS NULL OR device_id = \(query.deviceID))
                    AND (\(kind)::text IS NULL OR kind = \(kind)) AND (\(query.campaign)::text IS NULL OR campaign = \(query.campaign))
                    AND (\(experiment)::bigint IS NULL OR experiment = \(experiment))
                    AND (\(pattern)::text IS NULL OR message ILIKE \(pattern) ESCAPE '\\')
                    AND (\(level)::bigint IS NULL OR level >= \(level))
                ORDER BY time_ns DESC, device_id DESC, journal_id DESC, sequence DESC LIMIT \(limit)
                """
        } else {
            postgresQuery = """
                SELECT device_id, journal_id, sequence, time_ns, kind, experiment, campaign, level, message, payload
                FROM records WHERE (\(query.deviceID)::text IS NULL OR device_id = \(query.deviceID))
                    AND (\(kind)::text IS NULL OR kind = \(kind)) AND (\(query.campaign)::text IS NULL OR campaign = \(query.campaign))
                    AND (\(experiment)::bigint IS NULL OR experiment = \(experiment))
                    AND (\(pattern)::text IS NULL OR message ILIKE \(pattern) ESCAPE '\\')
                    AND (\(level)::bigint IS NULL OR level >= \(level))
                ORDER BY time_ns, device_id, journal_id, sequence LIMIT \(limit)
                """
        }
        do {
            var result: [LabRecord] = []
            let rows = try await client.query(postgresQuery, logger: logger)
            for try await row in rows {
                let (device, journal, sequence, time, kind, experiment, campaign, level, message, payload) = try row.decode(
                    (String, String, Int64, Int64, String, Int64?, String?, Int64?, String?, String).self)
                result.append(
                    LabRecord(
                        deviceID: device, journalID: journal, sequence: sequence, timeNanoseconds: time,
                        kind: RecordKind(rawValue: kind) ?? .log, experiment: experiment.map { Int($0) },
                        campaign: campaign, level: level.flatMap { LogLevel(rawValue: Int($0)) }, message: message,
                        payload: payload))
            }
            return result
        } catch {
            throw failure("read records", error)
        }
    }

    public func campaigns() async throws -> [CampaignSummary] {
        do {
            var result: [CampaignSummary] = []
            let rows = try await client.query(
                """
                SELECT device_id, campaign, count(DISTINCT experiment), count(*), max(time_ns) FROM records
                WHERE kind = 'sample' AND campaign IS NOT NULL GROUP BY device_id, campaign ORDER BY device_id, campaign
                """, logger: logger)
            for try await (device, campaign, experiments, samples, last) in rows.decode((String, String, Int64, Int64, Int64).self) {
                result.append(
                    CampaignSummary(
                        deviceID: device, campaign: campaign, experiments: Int(experiments), samples: Int(samples),
                        lastNanoseconds: last))
            }
            return result
        } catch {
            throw failure("list campaigns", error)
        }
    }

    public func experiments(deviceID: String?, campaign: String?) async throws -> [ExperimentSummary] {
        do {
            var result: [ExperimentSummary] = []
            let rows = try await client.query(
                """
                SELECT device_id, campaign, experiment, count(*), min(time_ns), max(time_ns) FROM records
                WHERE kind = 'sample' AND campaign IS NOT NULL AND experiment IS NOT NULL
                    AND (\(deviceID)::text IS NULL OR device_id = \(deviceID))
                    AND (\(campaign)::text IS NULL OR campaign = \(campaign))
                GROUP BY device_id, campaign, experiment ORDER BY device_id, campaign, experiment
                """, logger: logger)
            for try await (device, campaign, experiment, samples, first, last) in rows.decode(
                (String, String, Int64, Int64, Int64, Int64).self)
            {
                result.append(
                    ExperimentSummary(
                        deviceID: device, campaign: campaign, experiment: Int(experiment), samples: Int(samples),
                        firstNanoseconds: first, lastNanoseconds: last))
            }
            return result
        } catch {
            throw failure("list experiments", error)
        }
    }

    public func recordCount() async throws -> Int64 {
        do {
            var count: Int64 = 0
            for try await value in try await client.query("SELECT count(*) FROM records", logger: logger).decode(Int64.self) {
                count = value
            }
            return count
        } catch {
            throw failure("count records", error)
        }
    }

    public func shutdown() async {
        runner.cancel()
        await runner.value
    }
}
