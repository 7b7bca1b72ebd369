#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where the journal lives and how much of the disk it may use.
public struct JournalConfiguration: Equatable, Sendable {
    /// The SQLite database file (its `-wal` and `-shm` files sit beside it).
    public var path: String
    /// The local storage budget (`[journal] max_mb`): the database file never grows past it
    /// (`PRAGMA max_page_count`); the WAL adds at most `walLimitBytes` on top.
    public var maxBytes: Int64
    /// The share of `maxBytes` kept free for the experiment in progress: no new campaign starts
    /// when less than this is free (so a running experiment can always finish).
    public var campaignReserveFraction: Double
    /// The most records (and state updates) held in memory, submitted but not yet durable. A
    /// submission beyond it is refused, never dropped silently.
    public var handoffCapacity: Int
    /// `synchronous=FULL` (the default) makes each acknowledged commit survive a power cut.
    public var synchronous: SQLiteSynchronous
    /// How long the writer waits before retrying a failed commit (a full disk, an I/O error).
    public var retryMilliseconds: Int
    /// The WAL is truncated to this after a checkpoint (`PRAGMA journal_size_limit`).
    public var walLimitBytes: Int64

    public init(
        path: String, maxBytes: Int64, campaignReserveFraction: Double = 0.2, handoffCapacity: Int = 100_000,
        synchronous: SQLiteSynchronous = .full, retryMilliseconds: Int = 1_000, walLimitBytes: Int64 = 4 << 20
    ) {
        precondition(maxBytes > 0, "a journal needs a positive storage budget, got \(maxBytes)")
        precondition((0..<1).contains(campaignReserveFraction), "the reserve is a fraction in [0, 1)")
        precondition(handoffCapacity > 0 && retryMilliseconds > 0 && walLimitBytes > 0)
        self.path = path
        self.maxBytes = maxBytes
        self.campaignReserveFraction = campaignReserveFraction
        self.handoffCapacity = handoffCapacity
        self.synchronous = synchronous
        self.retryMilliseconds = retryMilliseconds
        self.walLimitBytes = walLimitBytes
    }
}

/// Why the journal refused or could not do something.
public enum JournalError: Error, Equatable, Sendable, CustomStringConvertible {
    /// An SQLite call failed.
    case database(SQLiteError)
    /// The file was written by a newer program with a schema this one does not know.
    case newerSchema(path: String, found: Int64, supported: Int64)
    /// The in-memory handoff is full (the writer is behind or failing): the record was not taken.
    case backlogFull(path: String, capacity: Int)
    /// The storage budget is (nearly) used up: no new campaign may start. Nothing acknowledged
    /// is lost; records already submitted are kept in memory until they can be written.
    case storageFull(path: String, usedBytes: Int64, maxBytes: Int64, acceptBelowBytes: Int64)
    /// The writer's last commit failed; the records it held are kept and retried, but are not
    /// acknowledged yet.
    case writeFailed(SQLiteError)
    /// A payload that is not one JSON value.
    case invalidPayload(kind: RecordKind, prefix: String)
    /// The journal was closed.
    case closed(path: String)
    /// The writer thread could not be started (pthread_create).
    case threadStart(errno: Int32)
    /// A file could not be read (`errno`).
    case file(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .database(let error):
            return "journal: \(error)"
        case .newerSchema(let path, let found, let supported):
            return "journal \(path): schema version \(found) is newer than this program's \(supported); "
                + "use a newer aliquot or another journal path"
        case .backlogFull(let path, let capacity):
            return "journal \(path): \(capacity) records are waiting to be written; the record was refused"
        case .storageFull(let path, let used, let max, let acceptBelow):
            return "journal \(path): storage full: \(used) of \(max) bytes used (new campaigns start below "
                + "\(acceptBelow) bytes); push the journal to the lab server or raise [journal] max_mb"
        case .writeFailed(let error):
            return "journal: the last write failed and is being retried: \(error)"
        case .invalidPayload(let kind, let prefix):
            return "journal: the \(kind.rawValue) payload is not one JSON value: \(prefix)"
        case .closed(let path):
            return "journal \(path) is closed"
        case .threadStart(let errno):
            return "journal: cannot start the writer thread (errno \(errno))"
        case .file(let path, let operation, let errno):
            return "\(path): cannot \(operation): \(String(cString: strerror(errno))) (errno \(errno))"
        }
    }

    /// The storage budget or the disk is full (`storageFull`, or a write that failed with SQLITE_FULL).
    public var isStorageFull: Bool {
        switch self {
        case .storageFull: true
        case .writeFailed(let error), .database(let error): error.isStorageFull
        default: false
        }
    }
}

/// Counts and sizes of a journal, for `aliquot status` and the uplink.
public struct JournalStatistics: Equatable, Sendable {
    public var journalID: String
    public var recordCount: Int64
    public var firstSequence: Int64?
    public var lastSequence: Int64?
    /// The highest sequence the lab server acknowledged.
    public var uplinkAcknowledgedSequence: Int64
    /// Bytes of live pages in the database (free pages excluded).
    public var liveBytes: Int64
    public var maxBytes: Int64
    public var acceptingCampaigns: Bool
    /// Records and state updates submitted but not yet durable.
    public var heldInMemory: Int
    /// The writer's last failure, if its last commit failed.
    public var lastFailure: String?
}

/// The durable journal: an append-only SQLite log (WAL, `synchronous=FULL`) of everything the
/// rig measures and decides, the campaign state for recovery, and the uplink's progress.
///
/// Records are submitted without waiting (`submit`): they go into a bounded in-memory handoff
/// that one writer thread drains, committing everything queued in one transaction per flush.
/// A record is acknowledged (its `onDurable` callback runs, `durableSequence` covers it,
/// `append` returns) only after `COMMIT` returned. Sequence numbers are given at submission,
/// 1, 2, 3... without gaps: a record is never dropped once taken (a failed commit keeps the
/// batch and retries it), and after a crash numbering resumes after the last durable one.
///
/// Storage is bounded (`maxBytes`): when it runs short, records the lab server acknowledged are
/// deleted oldest first; when that is not enough, `checkAcceptingCampaigns` throws
/// `storageFull` (the runner stops between experiments) while the reserve lets the running
/// experiment finish. If even the reserve runs out (SQLITE_FULL), submitted records stay in
/// memory and are retried; none is dropped.
///
/// The writer thread holds the journal until `close()`: call it to stop the thread and learn
/// whether everything submitted was written.
public final class Journal: @unchecked Sendable {
    public let configuration: JournalConfiguration
    /// The journal's random id, created with the file.
    public let journalID: String
    /// The campaign state as the previous run left it: if its phase is `running`, that run
    /// crashed during `interruptedExperiment`.
    public let recoveredCampaignState: CampaignState?

    private enum Entry {
        case record(sequence: Int64, JournalRecord)
        case campaignState(CampaignState)
    }

    private struct Pending {
        var ticket: Int64
        var entry: Entry
        var onDurable: (@Sendable (Int64) -> Void)?
    }

    private let writer: SQLiteDatabase
    private let side: SQLiteDatabase
    private let sideLock = ConditionLock()
    private let state = ConditionLock()
    private var writerThread: pthread_t?

    // Guarded by `state`.
    private var queue: [Pending] = []
    private var held = 0
    private var nextSequence: Int64
    private var nextTicket: Int64 = 1
    private var durableSequenceValue: Int64
    private var durableTicket: Int64 = 0
    private var lastFailure: SQLiteError?
    /// A failed prune or size query after a commit (the records are safe; space may run short).
    private var maintenanceFailure: SQLiteError?
    private var storageExhausted = false
    private var liveBytesValue: Int64 = 0
    private var closing = false
    private var writerStopped = false

    /// Opens (creating if needed) the journal at `configuration.path`, migrates its schema,
    /// reads the state a previous run left, and starts the writer thread.
    public init(configuration: JournalConfiguration) throws(JournalError) {
        self.configuration = configuration
        do {
            writer = try SQLiteDatabase(path: configuration.path, synchronous: configuration.synchronous)
            try JournalSchema.migrate(writer)
            let pageSize = try writer.scalarInteger("PRAGMA page_size") ?? 4096
            try writer.execute("PRAGMA max_page_count = \(max(1, configuration.maxBytes / pageSize))")
            try writer.execute("PRAGMA journal_size_limit = \(configuration.walLimitBytes)")
            side = try SQLiteDatabase(path: configuration.path, synchronous: configuration.synchronous)
            journalID = try writer.scalarText("SELECT journal_id FROM journal_meta WHERE id = 1") ?? ""
            recoveredCampaignState = try Self.readCampaignState(writer)
            let lastStored = try writer.scalarInteger("SELECT max(sequence) FROM records") ?? 0
            let acknowledged = try writer.scalarInteger("SELECT acknowledged_sequence FROM uplink_state") ?? 0
            // Records the server acknowledged may have been pruned: never reuse their numbers.
            durableSequenceValue = max(lastStored, acknowledged)
            nextSequence = durableSequenceValue + 1
            liveBytesValue = try Self.liveBytes(writer)
        } catch let error as JournalError {
            throw error
        } catch let error as SQLiteError {
            throw .database(error)
        } catch {
            preconditionFailure("unexpected error \(error)")
        }
        queue.reserveCapacity(min(configuration.handoffCapacity, 4096))
        // The thread holds the journal until `close()` stops it.
        let started = startThread { self.writerLoop() }
        guard let thread = started.thread else { throw .threadStart(errno: started.errno) }
        writerThread = thread
    }

    // MARK: - Submitting

    /// Hands `record` to the writer without waiting for the disk, and returns its sequence
    /// number. `onDurable` runs on the writer thread once the record is committed.
    ///
    /// The caller holds a mutex only for an array append (never across I/O), so a control loop
    /// may call this. Checks the payload is JSON first.
    ///
    /// - Throws: `backlogFull` when `handoffCapacity` records are already waiting (the record
    ///   is not taken), `invalidPayload`, `closed`.
    @discardableResult
    public func submit(_ record: JournalRecord, onDurable: (@Sendable (Int64) -> Void)? = nil) throws(JournalError) -> Int64 {
        guard JSONText.isValid(record.payload) else {
            throw .invalidPayload(kind: record.kind, prefix: String(record.payload.prefix(60)))
        }
        state.lock()
        defer { state.unlock() }
        try checkRoomLocked()
        let sequence = nextSequence
        nextSequence += 1
        enqueueLocked(.record(sequence: sequence, record), onDurable: onDurable)
        return sequence
    }

    /// Submits `record` and waits until it is durable. Returns its sequence number.
    ///
    /// - Throws: as `submit`, and `writeFailed` if the writer's commit fails meanwhile (the
    ///   record stays queued and is retried, but is not acknowledged by this call).
    @discardableResult
    public func append(_ record: JournalRecord) throws(JournalError) -> Int64 {
        let sequence = try submit(record)
        try waitUntilDurable(sequence: sequence)
        return sequence
    }

    /// Hands a campaign-state change to the writer, in order with the records around it.
    public func submit(campaignState: CampaignState) throws(JournalError) {
        state.lock()
        defer { state.unlock() }
        try checkRoomLocked()
        enqueueLocked(.campaignState(campaignState), onDurable: nil)
    }

    /// Sets the campaign state and waits until it is durable (what the runner does at each
    /// experiment's start and end).
    public func setCampaignState(_ campaignState: CampaignState) throws(JournalError) {
        try submit(campaignState: campaignState)
        try flush()
    }

    private func checkRoomLocked() throws(JournalError) {
        guard !closing else { throw .closed(path: configuration.path) }
        guard held < configuration.handoffCapacity else {
            throw .backlogFull(path: configuration.path, capacity: configuration.handoffCapacity)
        }
    }

    private func enqueueLocked(_ entry: Entry, onDurable: (@Sendable (Int64) -> Void)?) {
        queue.append(Pending(ticket: nextTicket, entry: entry, onDurable: onDurable))
        nextTicket += 1
        held += 1
        state.broadcast()
    }

    // MARK: - Waiting

    /// The highest sequence number that is durable: every record up to it is committed.
    public var durableSequence: Int64 {
        state.withLock { durableSequenceValue }
    }

    /// Waits until record `sequence` is durable.
    ///
    /// - Throws: `writeFailed` if the writer's last commit failed (the record may still become
    ///   durable when the retry succeeds), `closed` if the journal stopped first.
    public func waitUntilDurable(sequence: Int64) throws(JournalError) {
        state.lock()
        defer { state.unlock() }
        while durableSequenceValue < sequence {
            if let failure = lastFailure { throw .writeFailed(failure) }
            if writerStopped { throw .closed(path: configuration.path) }
            state.wait()
        }
    }

    /// Waits until everything submitted so far (records and state changes) is durable.
    ///
    /// - Throws: as `waitUntilDurable`.
    public func flush() throws(JournalError) {
        state.lock()
        defer { state.unlock() }
        let target = nextTicket - 1
        while durableTicket < target {
            if let failure = lastFailure { throw .writeFailed(failure) }
            if writerStopped { throw .closed(path: configuration.path) }
            state.wait()
        }
    }

    /// Stops taking records, writes what is queued, and stops the writer.
    ///
    /// - Throws: `writeFailed` if records could not be written (they were never acknowledged).
    public func close() throws(JournalError) {
        stopWriter()
        let (remaining, failure) = state.withLock { (held, lastFailure) }
        if remaining > 0, let failure { throw .writeFailed(failure) }
    }

    private func stopWriter() {
        state.withLock {
            closing = true
            state.broadcast()
        }
        if let thread = writerThread {
            pthread_join(thread, nil)
            writerThread = nil
        }
    }

    // MARK: - Storage budget

    /// Whether a new campaign may start: the writer is not failing for lack of space and the
    /// database holds less than `maxBytes * (1 - campaignReserveFraction)` of live pages.
    ///
    /// - Throws: `storageFull` with the numbers, for the runner to report between experiments.
    public func checkAcceptingCampaigns() throws(JournalError) {
        let (live, exhausted) = state.withLock { (liveBytesValue, storageExhausted) }
        let acceptBelow = acceptBelowBytes
        if exhausted || live >= acceptBelow {
            throw .storageFull(
                path: configuration.path, usedBytes: live, maxBytes: configuration.maxBytes, acceptBelowBytes: acceptBelow)
        }
    }

    var acceptBelowBytes: Int64 {
        Int64(Double(configuration.maxBytes) * (1 - configuration.campaignReserveFraction))
    }

    /// Above this, records the server acknowledged are pruned (oldest first).
    var pruneAboveBytes: Int64 { configuration.maxBytes / 2 }

    static func liveBytes(_ database: SQLiteDatabase) throws(SQLiteError) -> Int64 {
        let pages = try database.scalarInteger("PRAGMA page_count") ?? 0
        let free = try database.scalarInteger("PRAGMA freelist_count") ?? 0
        let size = try database.scalarInteger("PRAGMA page_size") ?? 0
        return (pages - free) * size
    }

    // MARK: - The writer thread

    private func writerLoop() {
        var batch: [Pending] = []
        let insert: SQLiteStatement
        let setState: SQLiteStatement
        do {
            insert = try writer.prepare(
                "INSERT INTO records(sequence, time_ns, kind, experiment, payload) VALUES (?, ?, ?, ?, ?)",
                persistent: true)
            setState = try writer.prepare(
                "INSERT OR REPLACE INTO campaign_state(id, campaign, experiment, phase, detail, updated_ns) "
                    + "VALUES (1, ?, ?, ?, ?, ?)", persistent: true)
        } catch {
            state.withLock {
                lastFailure = error
                writerStopped = true
                state.broadcast()
            }
            return
        }
        var failing = false
        while true {
            state.lock()
            if failing {
                // Retry a failed batch after the interval, whatever arrives meanwhile (a full
                // disk does not empty itself between two submissions); at once when closing.
                let deadline = monotonicNanoseconds() + Int64(configuration.retryMilliseconds) * 1_000_000
                while !closing && monotonicNanoseconds() < deadline {
                    state.wait(untilMonotonicNanoseconds: deadline)
                }
            } else {
                while queue.isEmpty && !closing { state.wait() }
            }
            batch.append(contentsOf: queue)
            queue.removeAll(keepingCapacity: true)
            let stop = closing
            state.unlock()

            if batch.isEmpty {
                if stop { break }
                continue
            }
            do {
                try commit(batch, insert: insert, setState: setState)
            } catch {
                failing = true
                var live: Int64?
                var maintenance: SQLiteError?
                do {
                    // Make room from what the server already has before the retry.
                    live = error.isStorageFull ? try pruneAcknowledged(belowBytes: 0) : try Self.liveBytes(writer)
                } catch let secondary {
                    maintenance = secondary
                }
                state.withLock {
                    lastFailure = error
                    maintenanceFailure = maintenance
                    if error.isStorageFull { storageExhausted = true }
                    if let live { liveBytesValue = live }
                    state.broadcast()
                }
                if stop { break }
                continue
            }
            failing = false
            var lastSequence: Int64?
            for pending in batch {
                if case .record(let sequence, _) = pending.entry { lastSequence = sequence }
            }
            let lastTicket = batch[batch.count - 1].ticket
            var live: Int64?
            var maintenance: SQLiteError?
            do {
                let measured = try Self.liveBytes(writer)
                live = measured > pruneAboveBytes ? try pruneAcknowledged(belowBytes: pruneAboveBytes) : measured
            } catch {
                maintenance = error
            }
            // Callbacks first, so that when `flush` or `append` returns, the callbacks of
            // everything it covers have run.
            for pending in batch {
                if case .record(let sequence, _) = pending.entry, let onDurable = pending.onDurable {
                    onDurable(sequence)
                }
            }
            state.withLock {
                if let lastSequence { durableSequenceValue = lastSequence }
                durableTicket = lastTicket
                held -= batch.count
                lastFailure = nil
                maintenanceFailure = maintenance
                storageExhausted = false
                if let live { liveBytesValue = live }
                state.broadcast()
            }
            batch.removeAll(keepingCapacity: true)
            if stop { break }
        }
        state.withLock {
            writerStopped = true
            state.broadcast()
        }
    }

    private func commit(_ batch: [Pending], insert: SQLiteStatement, setState: SQLiteStatement) throws(SQLiteError) {
        try writer.transaction { () throws(SQLiteError) in
            for pending in batch {
                switch pending.entry {
                case .record(let sequence, let record):
                    insert.reset()
                    try insert.bind(1, sequence)
                    try insert.bind(2, record.timeNanoseconds)
                    try insert.bind(3, record.kind.rawValue)
                    try insert.bind(4, record.experiment.map { Int64($0) })
                    try insert.bind(5, record.payload)
                    try insert.step()
                case .campaignState(let campaign):
                    setState.reset()
                    try setState.bind(1, campaign.campaign)
                    try setState.bind(2, campaign.experiment.map { Int64($0) })
                    try setState.bind(3, campaign.phase.rawValue)
                    try setState.bind(4, campaign.detail)
                    try setState.bind(5, campaign.updatedNanoseconds)
                    try setState.step()
                }
            }
        }
        insert.reset()
        setState.reset()
    }

    /// Deletes records the server acknowledged, oldest first, 1000 per transaction, until the
    /// live bytes are at most `belowBytes` or none is left to delete. Returns the live bytes.
    private func pruneAcknowledged(belowBytes: Int64) throws(SQLiteError) -> Int64 {
        var live = try Self.liveBytes(writer)
        while live > belowBytes {
            try writer.transaction { () throws(SQLiteError) in
                try writer.execute(
                    """
                    DELETE FROM records WHERE sequence <= min(
                        (SELECT acknowledged_sequence FROM uplink_state WHERE id = 1),
                        (SELECT min(sequence) FROM records) + 999)
                    """)
            }
            if writer.changes == 0 { break }
            live = try Self.liveBytes(writer)
        }
        return live
    }

    // MARK: - Reading (the uplink, status, recovery)

    private func onSide<Result>(_ body: (SQLiteDatabase) throws(SQLiteError) -> Result) throws(JournalError) -> Result {
        sideLock.lock()
        defer { sideLock.unlock() }
        do {
            return try body(side)
        } catch {
            throw .database(error)
        }
    }

    /// Durable records with sequence above `sequence`, in order: at most `limit` of them and,
    /// past the first, at most about `maxBytes` of payload (bounded memory for the uplink).
    public func records(after sequence: Int64, limit: Int, maxBytes: Int = 8 << 20) throws(JournalError) -> [StoredRecord] {
        precondition(limit > 0, "read at least one record")
        return try onSide { database throws(SQLiteError) in
            let select = try database.prepare(
                "SELECT sequence, time_ns, kind, experiment, payload FROM records WHERE sequence > ? "
                    + "ORDER BY sequence LIMIT ?")
            try select.bind(1, sequence)
            try select.bind(2, Int64(limit))
            var result: [StoredRecord] = []
            var bytes = 0
            while try select.step() {
                let payload = select.text(4) ?? "null"
                if !result.isEmpty && bytes + payload.utf8.count > maxBytes { break }
                bytes += payload.utf8.count
                let kind = RecordKind(rawValue: select.text(2) ?? "") ?? .log
                result.append(
                    StoredRecord(
                        sequence: select.int64(0),
                        record: JournalRecord(
                            kind: kind, timeNanoseconds: select.int64(1), experiment: select.optionalInt64(3).map { Int($0) },
                            payload: payload)))
            }
            return result
        }
    }

    /// The campaign state as committed.
    public func campaignState() throws(JournalError) -> CampaignState? {
        try onSide { database throws(SQLiteError) in try Self.readCampaignState(database) }
    }

    static func readCampaignState(_ database: SQLiteDatabase) throws(SQLiteError) -> CampaignState? {
        let select = try database.prepare(
            "SELECT campaign, experiment, phase, detail, updated_ns FROM campaign_state WHERE id = 1")
        guard try select.step() else { return nil }
        return CampaignState(
            campaign: select.text(0) ?? "", experiment: select.optionalInt64(1).map { Int($0) },
            phase: CampaignPhase(rawValue: select.text(2) ?? "") ?? .idle, detail: select.text(3) ?? "",
            updatedNanoseconds: select.int64(4))
    }

    /// The highest sequence the lab server acknowledged.
    public func uplinkAcknowledgedSequence() throws(JournalError) -> Int64 {
        try onSide { database throws(SQLiteError) in
            try database.scalarInteger("SELECT acknowledged_sequence FROM uplink_state WHERE id = 1") ?? 0
        }
    }

    /// Records that the server acknowledged every record up to `sequence` (never moves back).
    public func acknowledgeUplink(through sequence: Int64) throws(JournalError) {
        try onSide { database throws(SQLiteError) in
            let update = try database.prepare(
                "UPDATE uplink_state SET acknowledged_sequence = max(acknowledged_sequence, ?), updated_ns = ? WHERE id = 1")
            try update.bind(1, sequence)
            try update.bind(2, realtimeNanoseconds())
            try update.step()
        }
    }

    /// Counts and sizes, from the committed state.
    public func statistics() throws(JournalError) -> JournalStatistics {
        let (held, failure, exhausted) = state.withLock {
            (self.held, lastFailure ?? maintenanceFailure, storageExhausted)
        }
        return try onSide { database throws(SQLiteError) in
            let select = try database.prepare("SELECT count(*), min(sequence), max(sequence) FROM records")
            try select.step()
            let live = try Self.liveBytes(database)
            return JournalStatistics(
                journalID: journalID, recordCount: select.int64(0), firstSequence: select.optionalInt64(1),
                lastSequence: select.optionalInt64(2),
                uplinkAcknowledgedSequence: try database.scalarInteger(
                    "SELECT acknowledged_sequence FROM uplink_state WHERE id = 1") ?? 0,
                liveBytes: live, maxBytes: configuration.maxBytes,
                acceptingCampaigns: !exhausted && live < acceptBelowBytes, heldInMemory: held,
                lastFailure: failure?.description)
        }
    }
}
