import Transports

/// When the uplink sends what, as a pure state machine: the executor (`Uplink`) asks for the
/// next action, performs it (reads records, posts a batch) and reports the outcome.
///
/// - Caught up: wait `interval` and look again.
/// - Behind: send the records after the acknowledged sequence, at most `batchRecords` of them;
///   after an acknowledgement, send the next batch at once (drain quickly after an outage).
/// - A failure: wait a `BackoffPolicy` delay (full jitter), growing with consecutive failures;
///   the same records are sent again (the same batch id, so the server stores them once).
public struct UplinkStateMachine: Equatable, Sendable {
    public enum Action: Equatable, Sendable {
        /// Post the records with sequence above `after`, at most `limit` of them.
        case send(after: Int64, limit: Int)
        /// Nothing to do until `until`.
        case wait(until: MonotonicInstant)
    }

    public enum Outcome: Equatable, Sendable {
        /// The server acknowledged every record up to `through`.
        case acknowledged(through: Int64)
        /// The post failed (no connection, a timeout, a 5xx, an answer without the batch id).
        case failed
    }

    public let batchRecords: Int
    public let intervalSeconds: Double
    public let backoff: BackoffPolicy
    /// The highest sequence the server acknowledged.
    public private(set) var acknowledgedThrough: Int64
    /// Failures since the last acknowledgement.
    public private(set) var consecutiveFailures = 0
    /// The earliest instant of the next post.
    public private(set) var nextAttempt = MonotonicInstant.zero
    /// A `send` was handed out and its outcome not reported yet.
    public private(set) var awaitingOutcome = false

    public init(batchRecords: Int, intervalSeconds: Double, backoff: BackoffPolicy, acknowledgedThrough: Int64) {
        precondition(batchRecords > 0, "a batch holds at least one record")
        precondition(intervalSeconds > 0, "the uplink interval must be positive")
        self.batchRecords = batchRecords
        self.intervalSeconds = intervalSeconds
        self.backoff = backoff
        self.acknowledgedThrough = acknowledgedThrough
    }

    /// The next action at `now`, when records up to `durableThrough` are in the journal.
    public mutating func next(now: MonotonicInstant, durableThrough: Int64) -> Action {
        precondition(!awaitingOutcome, "report the outcome of the last send first")
        if now < nextAttempt { return .wait(until: nextAttempt) }
        guard durableThrough > acknowledgedThrough else {
            nextAttempt = now.adding(seconds: intervalSeconds)
            return .wait(until: nextAttempt)
        }
        awaitingOutcome = true
        return .send(after: acknowledgedThrough, limit: batchRecords)
    }

    /// Reports how the last `send` went, at `now`; `jitter` is a uniform draw from [0, 1).
    public mutating func handle(_ outcome: Outcome, now: MonotonicInstant, jitter: Double) {
        precondition(awaitingOutcome, "no send is waiting for an outcome")
        awaitingOutcome = false
        switch outcome {
        case .acknowledged(let through):
            precondition(through > acknowledgedThrough, "an acknowledgement moves forward: \(through) after \(acknowledgedThrough)")
            acknowledgedThrough = through
            consecutiveFailures = 0
            nextAttempt = now
        case .failed:
            consecutiveFailures += 1
            nextAttempt = now.adding(seconds: backoff.delaySeconds(afterFailures: consecutiveFailures, unit: jitter))
        }
    }
}
