import CSQLite

/// An SQLite call that failed: which database, what was being done, the SQL, and SQLite's own
/// result code (its `SQLITE_*` name) and message.
public struct SQLiteError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The database file.
    public var path: String
    /// What was being done: `open`, `prepare`, `step`, `bind`, `exec`...
    public var operation: String
    /// The statement, when there is one.
    public var sql: String?
    /// The extended result code (`sqlite3_extended_errcode`).
    public var code: Int32
    /// `sqlite3_errmsg` at the time of the failure (or `sqlite3_errstr` of the code).
    public var message: String

    public init(path: String, operation: String, sql: String?, code: Int32, message: String) {
        self.path = path
        self.operation = operation
        self.sql = sql
        self.code = code
        self.message = message
    }

    /// The primary result code (the low byte of the extended one).
    public var primaryCode: Int32 { code & 0xFF }

    /// `SQLITE_FULL`, `SQLITE_IOERR (extended 778)`...
    public var codeName: String { SQLiteError.name(ofCode: code) }

    /// The database or its file system is full: `SQLITE_FULL` (also what SQLite returns for
    /// ENOSPC, and when `max_page_count` is reached).
    public var isStorageFull: Bool { primaryCode == SQLITE_FULL }

    /// Another connection holds the lock past the busy timeout.
    public var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }

    public var description: String {
        var text = "sqlite \(path): \(operation) failed: \(codeName): \(message)"
        if let sql { text += " [\(sql)]" }
        return text
    }

    /// The `SQLITE_*` name of a primary result code, with the extended code when it differs.
    public static func name(ofCode code: Int32) -> String {
        let names: [Int32: String] = [
            0: "SQLITE_OK", 1: "SQLITE_ERROR", 2: "SQLITE_INTERNAL", 3: "SQLITE_PERM", 4: "SQLITE_ABORT",
            5: "SQLITE_BUSY", 6: "SQLITE_LOCKED", 7: "SQLITE_NOMEM", 8: "SQLITE_READONLY", 9: "SQLITE_INTERRUPT",
            10: "SQLITE_IOERR", 11: "SQLITE_CORRUPT", 12: "SQLITE_NOTFOUND", 13: "SQLITE_FULL", 14: "SQLITE_CANTOPEN",
            15: "SQLITE_PROTOCOL", 16: "SQLITE_EMPTY", 17: "SQLITE_SCHEMA", 18: "SQLITE_TOOBIG",
            19: "SQLITE_CONSTRAINT", 20: "SQLITE_MISMATCH", 21: "SQLITE_MISUSE", 22: "SQLITE_NOLFS",
            23: "SQLITE_AUTH", 24: "SQLITE_FORMAT", 25: "SQLITE_RANGE", 26: "SQLITE_NOTADB", 27: "SQLITE_NOTICE",
            28: "SQLITE_WARNING", 100: "SQLITE_ROW", 101: "SQLITE_DONE",
        ]
        let primary = code & 0xFF
        let name = names[primary] ?? "SQLITE_\(primary)"
        return primary == code ? name : "\(name) (extended \(code))"
    }
}

/// How hard SQLite works to make a commit durable (`PRAGMA synchronous`). In WAL mode `full`
/// syncs the WAL at every commit, so a committed transaction survives a power cut; `normal`
/// syncs only at checkpoints, so the last commits can be lost on power loss (not on a crash of
/// the process).
public enum SQLiteSynchronous: String, Equatable, Sendable, CaseIterable {
    case normal = "NORMAL"
    case full = "FULL"
}

/// One connection to an SQLite database file (the C API: `sqlite3_open_v2`, `sqlite3_prepare_v3`,
/// `sqlite3_step`...), used from one thread at a time.
///
/// The connection is opened `SQLITE_OPEN_NOMUTEX` (no SQLite mutex: the owner serializes its use)
/// in WAL mode with a busy timeout, so a reader on another connection never blocks the writer.
public final class SQLiteDatabase {
    public let path: String
    let handle: OpaquePointer

    /// Opens (and with `create`, creates) the database at `path` (`sqlite3_open_v2`), sets the
    /// busy timeout (`sqlite3_busy_timeout`) and, unless `readOnly`, WAL mode and `synchronous`.
    public init(
        path: String, readOnly: Bool = false, create: Bool = true, synchronous: SQLiteSynchronous = .full,
        busyTimeoutMilliseconds: Int32 = 5_000
    ) throws(SQLiteError) {
        var flags = SQLITE_OPEN_NOMUTEX
        if readOnly {
            flags |= SQLITE_OPEN_READONLY
        } else {
            flags |= SQLITE_OPEN_READWRITE
            if create { flags |= SQLITE_OPEN_CREATE }
        }
        var opened: OpaquePointer?
        let code = sqlite3_open_v2(path, &opened, flags, nil)
        guard code == SQLITE_OK, let opened else {
            let message = opened.map { String(cString: sqlite3_errmsg($0)) } ?? String(cString: sqlite3_errstr(code))
            if let opened { sqlite3_close_v2(opened) }
            throw SQLiteError(path: path, operation: "open", sql: nil, code: code, message: message)
        }
        self.path = path
        self.handle = opened
        sqlite3_extended_result_codes(handle, 1)
        sqlite3_busy_timeout(handle, busyTimeoutMilliseconds)
        if !readOnly {
            let mode = try scalarText("PRAGMA journal_mode=WAL")
            guard mode?.lowercased() == "wal" else {
                throw SQLiteError(
                    path: path, operation: "set WAL mode", sql: "PRAGMA journal_mode=WAL", code: SQLITE_ERROR,
                    message: "the database stayed in journal mode \(mode ?? "nil")")
            }
            try execute("PRAGMA synchronous=\(synchronous.rawValue)")
        }
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    func error(_ operation: String, sql: String?, code: Int32) -> SQLiteError {
        let extended = sqlite3_extended_errcode(handle)
        // sqlite3_errmsg describes the most recent failure on this connection; if the code we
        // got is not that one (a bind error, say), fall back to the code's own text.
        let message = (extended & 0xFF) == (code & 0xFF)
            ? String(cString: sqlite3_errmsg(handle)) : String(cString: sqlite3_errstr(code))
        return SQLiteError(
            path: path, operation: operation, sql: sql, code: (extended & 0xFF) == (code & 0xFF) ? extended : code,
            message: message)
    }

    /// Runs one or more statements that return no rows (`sqlite3_exec`).
    public func execute(_ sql: String) throws(SQLiteError) {
        let code = sqlite3_exec(handle, sql, nil, nil, nil)
        guard code == SQLITE_OK else { throw error("exec", sql: sql, code: code) }
    }

    /// Compiles one statement (`sqlite3_prepare_v3`).
    public func prepare(_ sql: String, persistent: Bool = false) throws(SQLiteError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let code = sqlite3_prepare_v3(handle, sql, -1, flags, &statement, nil)
        guard code == SQLITE_OK, let statement else { throw error("prepare", sql: sql, code: code) }
        return SQLiteStatement(database: self, handle: statement, sql: sql)
    }

    /// The first column of the first row of `sql` as an integer, nil when there is no row or it is NULL.
    public func scalarInteger(_ sql: String) throws(SQLiteError) -> Int64? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.isNull(0) ? nil : statement.int64(0)
    }

    /// The first column of the first row of `sql` as text.
    public func scalarText(_ sql: String) throws(SQLiteError) -> String? {
        let statement = try prepare(sql)
        guard try statement.step() else { return nil }
        return statement.text(0)
    }

    /// Runs `body` in one transaction (`BEGIN IMMEDIATE` ... `COMMIT`, `ROLLBACK` if it throws or
    /// the commit fails). When this returns, the transaction is committed (and, with
    /// `synchronous=FULL`, durable).
    public func transaction<Result>(_ body: () throws(SQLiteError) -> Result) throws(SQLiteError) -> Result {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // A failed COMMIT may already have rolled back (SQLITE_FULL does); ROLLBACK then
            // reports "no transaction is active", which adds nothing to the first error.
            if sqlite3_get_autocommit(handle) == 0 {
                sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
            }
            throw error
        }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE (`sqlite3_changes64`).
    public var changes: Int64 { sqlite3_changes64(handle) }

    /// `PRAGMA user_version`: the schema version this program stored.
    public var userVersion: Int64 {
        get throws(SQLiteError) { try scalarInteger("PRAGMA user_version") ?? 0 }
    }

    /// The bytes of the main database file in use: `page_count * page_size` (free pages included).
    public func databaseBytes() throws(SQLiteError) -> Int64 {
        let pages = try scalarInteger("PRAGMA page_count") ?? 0
        let size = try scalarInteger("PRAGMA page_size") ?? 0
        return pages * size
    }
}

/// A compiled statement (`sqlite3_stmt`): bind, step, read columns, reset.
public final class SQLiteStatement {
    let database: SQLiteDatabase
    let handle: OpaquePointer
    public let sql: String

    init(database: SQLiteDatabase, handle: OpaquePointer, sql: String) {
        self.database = database
        self.handle = handle
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    private func check(_ code: Int32, _ operation: String) throws(SQLiteError) {
        guard code == SQLITE_OK else { throw database.error(operation, sql: sql, code: code) }
    }

    /// Binds parameter `index` (1-based) to an integer (`sqlite3_bind_int64`).
    public func bind(_ index: Int32, _ value: Int64) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, index, value), "bind")
    }

    /// Binds parameter `index` to text, copied by SQLite (`sqlite3_bind_text`, SQLITE_TRANSIENT).
    public func bind(_ index: Int32, _ value: String) throws(SQLiteError) {
        let length = Int32(value.utf8.count)
        let code = value.withCString { chars in
            sqlite3_bind_text(handle, index, chars, length, aliquot_sqlite_transient())
        }
        try check(code, "bind")
    }

    /// Binds parameter `index` to NULL or an integer.
    public func bind(_ index: Int32, _ value: Int64?) throws(SQLiteError) {
        if let value { try bind(index, value) } else { try check(sqlite3_bind_null(handle, index), "bind") }
    }

    /// Binds parameter `index` to NULL or text.
    public func bind(_ index: Int32, _ value: String?) throws(SQLiteError) {
        if let value { try bind(index, value) } else { try check(sqlite3_bind_null(handle, index), "bind") }
    }

    /// One step (`sqlite3_step`): true when a row is ready to read, false when the statement is done.
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error("step", sql: sql, code: code)
        }
    }

    /// Ready to run again with new bindings (`sqlite3_reset`, `sqlite3_clear_bindings`).
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    public func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    public func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    /// The column as UTF-8 text (`sqlite3_column_text`); nil when NULL.
    public func text(_ column: Int32) -> String? {
        guard let bytes = sqlite3_column_text(handle, column) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }
}
