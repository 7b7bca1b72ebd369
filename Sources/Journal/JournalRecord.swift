#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What a journal record is: the four kinds the campaign produces.
public enum RecordKind: String, Equatable, Hashable, Sendable, CaseIterable {
    /// State transitions, setpoints, safety trips, valve pulses, pump commands.
    case event
    /// One aliquot's fitted peaks (absorbance and PL) and the model's prediction.
    case sample
    /// A raw or processed spectrum.
    case spectrum
    /// A log line.
    case log
}

/// One record as the rig hands it to the journal. The journal does not know the campaign's
/// types (the rig adapts them): the payload is a JSON value, checked on submission.
public struct JournalRecord: Equatable, Sendable {
    public var kind: RecordKind
    /// When it was measured or happened: wall-clock (CLOCK_REALTIME) nanoseconds since the Unix epoch.
    public var timeNanoseconds: Int64
    /// The experiment (1-based number within the campaign) it belongs to, if any.
    public var experiment: Int?
    /// A JSON value (an object, in practice) in UTF-8, stored and sent as is.
    public var payload: String

    public init(kind: RecordKind, timeNanoseconds: Int64, experiment: Int?, payload: String) {
        self.kind = kind
        self.timeNanoseconds = timeNanoseconds
        self.experiment = experiment
        self.payload = payload
    }

    /// A record stamped with the current wall-clock time.
    public static func now(_ kind: RecordKind, experiment: Int?, payload: String) -> JournalRecord {
        JournalRecord(kind: kind, timeNanoseconds: realtimeNanoseconds(), experiment: experiment, payload: payload)
    }
}

/// A record as stored: with the sequence number the journal gave it (1, 2, 3... with no gaps).
public struct StoredRecord: Equatable, Sendable {
    public var sequence: Int64
    public var record: JournalRecord

    public init(sequence: Int64, record: JournalRecord) {
        self.sequence = sequence
        self.record = record
    }
}

/// What a campaign is doing, as the journal keeps it for recovery: after a crash, a state in
/// `running` names the experiment that was interrupted.
public enum CampaignPhase: String, Equatable, Sendable, CaseIterable {
    /// Between experiments (or before the first): nothing to recover.
    case idle
    /// An experiment is in progress: if this is what a restart finds, it was interrupted.
    case running
    /// The campaign ended (completed, or stopped on purpose).
    case finished
}

/// The one row of `campaign_state`.
public struct CampaignState: Equatable, Sendable {
    /// The campaign's name.
    public var campaign: String
    /// The experiment in progress (or the last one), 1-based.
    public var experiment: Int?
    public var phase: CampaignPhase
    /// Free text: the sequencer's step ("hold", "sampling 7/20"), the reason it finished.
    public var detail: String
    /// When the state was set: CLOCK_REALTIME nanoseconds since the epoch.
    public var updatedNanoseconds: Int64

    public init(campaign: String, experiment: Int?, phase: CampaignPhase, detail: String, updatedNanoseconds: Int64) {
        self.campaign = campaign
        self.experiment = experiment
        self.phase = phase
        self.detail = detail
        self.updatedNanoseconds = updatedNanoseconds
    }

    /// The experiment a crash interrupted: the state says one was running.
    public var interruptedExperiment: Int? { phase == .running ? experiment : nil }
}

/// CLOCK_REALTIME in nanoseconds since the Unix epoch (clock_gettime(2)).
public func realtimeNanoseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

/// CLOCK_MONOTONIC in nanoseconds (clock_gettime(2)).
func monotonicNanoseconds() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}
