import Journal

/// Where the lab server keeps devices, batches and records: `SQLiteLabStore` (the default, one
/// file) or `PostgresLabStore` (the fleet). Both pass the same conformance suite
/// (Tests/LabServerTests/LabStoreConformanceTests.swift).
///
/// Exactly once (docs/uplink-wire-format.md, "Storing"): a record's identity is
/// `(device_id, journal_id, sequence)`, a unique key; a batch is stored in one transaction.
public protocol LabStore: Sendable {
    /// Adds a device with the SHA-256 (hex) of its token. Throws `LabStoreError.deviceExists`
    /// when the id is taken.
    func addDevice(id: String, tokenHash: String, createdNanoseconds: Int64) async throws
    /// Every device's id and token digest, for authenticating a request.
    func credentials() async throws -> [DeviceCredential]
    /// Replaces a device's token digest (`aliquot-lab device rotate`): the old token is refused
    /// from the next request. Throws `LabStoreError.unknownDevice` when there is no such device.
    func replaceTokenHash(deviceID: String, tokenHash: String) async throws
    /// Removes a device and its token (`aliquot-lab device remove`): its pushes are refused from
    /// the next request; the records it pushed stay. Throws `LabStoreError.unknownDevice` when
    /// there is no such device.
    func removeDevice(id: String) async throws
    /// The devices, by id, with when they last pushed and how many records they have.
    func devices() async throws -> [LabDevice]
    /// Stores the batch's records that are not stored yet, in one transaction, and marks the
    /// device seen. `.duplicate` when every record was already there.
    func store(_ batch: IncomingBatch, receivedNanoseconds: Int64) async throws -> BatchOutcome
    /// Records matching `query`, ordered by time (then device, journal, sequence).
    func records(_ query: RecordQuery) async throws -> [LabRecord]
    /// Campaigns seen in sample records, per device.
    func campaigns() async throws -> [CampaignSummary]
    /// Experiments seen in sample records (optionally of one device and campaign).
    func experiments(deviceID: String?, campaign: String?) async throws -> [ExperimentSummary]
    /// All stored records.
    func recordCount() async throws -> Int64
    /// Releases connections; the store is unusable afterwards.
    func shutdown() async
}

/// A store failure, with what was being done.
public enum LabStoreError: Error, Equatable, Sendable, CustomStringConvertible {
    case deviceExists(String)
    /// No device has this id (rotate, remove).
    case unknownDevice(String)
    case sqlite(SQLiteError)
    /// A PostgreSQL failure: the operation and the server's or driver's message.
    case postgres(operation: String, message: String)
    /// A `--database` value that is neither `sqlite:PATH` nor `postgres://...`.
    case invalidDatabaseURL(String)

    public var description: String {
        switch self {
        case .deviceExists(let id): return "device \(id) already exists"
        case .unknownDevice(let id): return "no device \(id) (aliquot-lab device list shows the devices)"
        case .sqlite(let error): return error.description
        case .postgres(let operation, let message): return "postgres: \(operation) failed: \(message)"
        case .invalidDatabaseURL(let url):
            return "invalid database '\(url)': expected sqlite:PATH or postgres://user[:password]@host[:port]/database"
        }
    }
}

/// One record as received, validated, with the fields the views filter on lifted out of the payload.
public struct IncomingRecord: Equatable, Sendable {
    public var sequence: Int64
    public var timeNanoseconds: Int64
    public var kind: RecordKind
    public var experiment: Int?
    /// The payload as compact JSON.
    public var payload: String
    /// The payload's `campaign` (samples, spectra, events).
    public var campaign: String?
    /// The payload's `level` (logs), as a rank.
    public var level: LogLevel?
    /// The payload's `message` (logs, events).
    public var message: String?

    public init(
        sequence: Int64, timeNanoseconds: Int64, kind: RecordKind, experiment: Int?, payload: String,
        campaign: String? = nil, level: LogLevel? = nil, message: String? = nil
    ) {
        self.sequence = sequence
        self.timeNanoseconds = timeNanoseconds
        self.kind = kind
        self.experiment = experiment
        self.payload = payload
        self.campaign = campaign
        self.level = level
        self.message = message
    }
}

/// A validated batch (docs/uplink-wire-format.md), as `IngestDecoder` makes it.
public struct IncomingBatch: Equatable, Sendable {
    public var deviceID: String
    public var journalID: String
    public var batchID: String
    public var records: [IncomingRecord]

    public init(deviceID: String, journalID: String, records: [IncomingRecord]) {
        precondition(!records.isEmpty, "a batch holds at least one record")
        self.deviceID = deviceID
        self.journalID = journalID
        self.records = records
        self.batchID = UplinkBatch.batchID(
            deviceID: deviceID, journalID: journalID, first: records[0].sequence, last: records[records.count - 1].sequence)
    }

    public var firstSequence: Int64 { records[0].sequence }
    public var lastSequence: Int64 { records[records.count - 1].sequence }
}

/// What storing a batch did.
public enum BatchOutcome: Equatable, Sendable {
    /// `newRecords` records were new (the rest, if any, were stored before): HTTP 200.
    case stored(newRecords: Int)
    /// Every record was stored before (a retry): HTTP 409, still an acknowledgement.
    case duplicate
}

/// Log levels, the swift-log ones, ordered so a filter can ask for "warning and above".
public enum LogLevel: Int, Comparable, Sendable, CaseIterable {
    case trace = 0, debug, info, notice, warning, error, critical

    public init?(name: String) {
        guard let level = LogLevel.allCases.first(where: { $0.name == name.lowercased() }) else { return nil }
        self = level
    }

    public var name: String {
        switch self {
        case .trace: "trace"
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "error"
        case .critical: "critical"
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// A device as the dashboard lists it.
public struct LabDevice: Equatable, Sendable {
    public var id: String
    public var createdNanoseconds: Int64
    /// When its last batch arrived (nil: never pushed).
    public var lastSeenNanoseconds: Int64?
    public var recordCount: Int64

    public init(id: String, createdNanoseconds: Int64, lastSeenNanoseconds: Int64?, recordCount: Int64) {
        self.id = id
        self.createdNanoseconds = createdNanoseconds
        self.lastSeenNanoseconds = lastSeenNanoseconds
        self.recordCount = recordCount
    }
}

/// A stored record.
public struct LabRecord: Equatable, Sendable {
    public var deviceID: String
    public var journalID: String
    public var sequence: Int64
    public var timeNanoseconds: Int64
    public var kind: RecordKind
    public var experiment: Int?
    public var campaign: String?
    public var level: LogLevel?
    public var message: String?
    public var payload: String

    public init(
        deviceID: String, journalID: String, sequence: Int64, timeNanoseconds: Int64, kind: RecordKind, experiment: Int?,
        campaign: String?, level: LogLevel?, message: String?, payload: String
    ) {
        self.deviceID = deviceID
        self.journalID = journalID
        self.sequence = sequence
        self.timeNanoseconds = timeNanoseconds
        self.kind = kind
        self.experiment = experiment
        self.campaign = campaign
        self.level = level
        self.message = message
        self.payload = payload
    }
}

/// A filter over records; nil fields do not filter.
public struct RecordQuery: Equatable, Sendable {
    public var deviceID: String?
    public var kind: RecordKind?
    public var campaign: String?
    public var experiment: Int?
    /// Substring of the record's message, case-insensitive for ASCII; `%` and `_` match literally.
    public var search: String?
    /// Logs at this level or above.
    public var minimumLevel: LogLevel?
    /// Newest first (the log view) instead of oldest first.
    public var newestFirst: Bool
    public var limit: Int

    public init(
        deviceID: String? = nil, kind: RecordKind? = nil, campaign: String? = nil, experiment: Int? = nil,
        search: String? = nil, minimumLevel: LogLevel? = nil, newestFirst: Bool = false, limit: Int = 10_000
    ) {
        self.deviceID = deviceID
        self.kind = kind
        self.campaign = campaign
        self.experiment = experiment
        self.search = search
        self.minimumLevel = minimumLevel
        self.newestFirst = newestFirst
        self.limit = limit
    }

    /// `search` as a LIKE pattern with `\` as the escape character.
    var likePattern: String? {
        guard let search, !search.isEmpty else { return nil }
        var pattern = "%"
        for character in search {
            if character == "%" || character == "_" || character == "\\" { pattern.append("\\") }
            pattern.append(character)
        }
        return pattern + "%"
    }
}

/// A campaign of one device, from its sample records.
public struct CampaignSummary: Equatable, Sendable {
    public var deviceID: String
    public var campaign: String
    public var experiments: Int
    public var samples: Int
    public var lastNanoseconds: Int64

    public init(deviceID: String, campaign: String, experiments: Int, samples: Int, lastNanoseconds: Int64) {
        self.deviceID = deviceID
        self.campaign = campaign
        self.experiments = experiments
        self.samples = samples
        self.lastNanoseconds = lastNanoseconds
    }
}

/// An experiment of one device's campaign, from its sample records.
public struct ExperimentSummary: Equatable, Sendable {
    public var deviceID: String
    public var campaign: String
    public var experiment: Int
    public var samples: Int
    public var firstNanoseconds: Int64
    public var lastNanoseconds: Int64

    public init(deviceID: String, campaign: String, experiment: Int, samples: Int, firstNanoseconds: Int64, lastNanoseconds: Int64) {
        self.deviceID = deviceID
        self.campaign = campaign
        self.experiment = experiment
        self.samples = samples
        self.firstNanoseconds = firstNanoseconds
        self.lastNanoseconds = lastNanoseconds
    }
}
