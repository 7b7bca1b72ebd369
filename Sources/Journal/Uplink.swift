import CCurl
import Transports

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where and how the journal is pushed (`[uplink]` of the board file).
public struct UplinkConfiguration: Equatable, Sendable {
    /// The lab server's ingest URL (`http://` or `https://`).
    public var url: String
    /// This rig's id: 1...64 of `A-Z a-z 0-9 . _ -`.
    public var deviceID: String
    /// The bearer token (read from the board's `token_file`), nil: no Authorization header.
    public var token: String?
    /// At most this many records per batch.
    public var batchRecords: Int
    /// At most about this many payload bytes per batch (bounded memory whatever the records).
    public var batchBytes: Int
    /// How often to look for new records when caught up, s.
    public var intervalSeconds: Double
    /// libcurl's CURLOPT_CONNECTTIMEOUT_MS and CURLOPT_TIMEOUT_MS (the whole request).
    public var connectTimeoutMilliseconds: Int
    public var requestTimeoutMilliseconds: Int
    public var backoff: BackoffPolicy

    public init(
        url: String, deviceID: String, token: String?, batchRecords: Int = 500, batchBytes: Int = 4 << 20,
        intervalSeconds: Double = 30, connectTimeoutMilliseconds: Int = 10_000, requestTimeoutMilliseconds: Int = 60_000,
        backoff: BackoffPolicy = .uplinkDefault
    ) {
        precondition(UplinkBatch.isValidDeviceID(deviceID), "invalid device id \(deviceID)")
        precondition(batchRecords > 0 && batchBytes > 0 && intervalSeconds > 0)
        precondition(connectTimeoutMilliseconds > 0 && requestTimeoutMilliseconds > 0)
        self.url = url
        self.deviceID = deviceID
        self.token = token
        self.batchRecords = batchRecords
        self.batchBytes = batchBytes
        self.intervalSeconds = intervalSeconds
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.requestTimeoutMilliseconds = requestTimeoutMilliseconds
        self.backoff = backoff
    }

    /// Reads a bearer token file: its content without surrounding white space.
    ///
    /// - Throws: `UplinkError.tokenFile` if it cannot be read or is empty.
    public static func readToken(path: String) throws(UplinkError) -> String {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw .tokenFile(path: path, reason: "cannot open", errno: errno) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw .tokenFile(path: path, reason: "cannot read", errno: errno)
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
            guard bytes.count <= 16 << 10 else { throw .tokenFile(path: path, reason: "longer than 16 KiB", errno: 0) }
        }
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        let trimmed = bytes.drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        guard !trimmed.isEmpty, let token = String(validating: Array(trimmed), as: UTF8.self),
            !token.utf8.contains(where: { $0 < 0x20 })
        else {
            throw .tokenFile(path: path, reason: "empty, or not one line of text", errno: 0)
        }
        return token
    }
}

/// Why a push did not go through.
public enum UplinkError: Error, Equatable, Sendable, CustomStringConvertible {
    /// libcurl failed before an HTTP answer: no connection, a timeout, a reset, TLS.
    case transport(url: String, curlCode: Int32, message: String)
    /// The server answered, but not with an acknowledgement of the batch.
    case notAcknowledged(url: String, batchID: String, status: Int, reason: String, body: String)
    /// The journal could not be read or updated.
    case journal(JournalError)
    case tokenFile(path: String, reason: String, errno: Int32)
    /// curl_easy_init or curl_global_init failed.
    case curlInit(String)

    public var description: String {
        switch self {
        case .transport(let url, let code, let message):
            return "uplink \(url): \(message) (curl error \(code))"
        case .notAcknowledged(let url, let batchID, let status, let reason, let body):
            return "uplink \(url): batch \(batchID) not acknowledged (HTTP \(status)): \(reason); body: \(body)"
        case .journal(let error):
            return "uplink: \(error)"
        case .tokenFile(let path, let reason, let errno):
            let cause = errno != 0 ? ": \(String(cString: strerror(errno))) (errno \(errno))" : ""
            return "uplink token file \(path): \(reason)\(cause)"
        case .curlInit(let what):
            return "uplink: \(what) failed"
        }
    }
}

/// What one `pushOnce` did.
public struct UplinkPushReport: Equatable, Sendable {
    public var batches: Int
    public var records: Int
    public var acknowledgedThrough: Int64
}

/// libcurl's global state, set up once for the process (curl_global_init(3) is not thread-safe
/// before 7.84; a global `let` is initialized once, atomically).
private let curlGlobalInitCode: Int32 = Int32(curl_global_init(Int(CURL_GLOBAL_DEFAULT)).rawValue)

/// One HTTP(S) client over a libcurl easy handle (curl_easy_perform(3)), reused so the
/// connection is kept alive between batches. TLS verification is libcurl's default (on), with
/// the system CA store libcurl was built with (Debian: /etc/ssl/certs/ca-certificates.crt).
final class CurlPoster {
    /// The CURL * easy handle (`CURL` is `void` in curl.h).
    let handle: UnsafeMutableRawPointer
    private var response: [UInt8] = []
    static let maximumResponseBytes = 64 << 10
    private let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE) + 1)

    init() throws(UplinkError) {
        guard curlGlobalInitCode == 0 else { throw .curlInit("curl_global_init") }
        guard let handle = curl_easy_init() else { throw .curlInit("curl_easy_init") }
        self.handle = handle
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// POSTs `body` as application/json and returns the status and (up to 64 KiB of) the answer.
    func post(
        url: String, body: [UInt8], token: String?, connectTimeoutMilliseconds: Int, timeoutMilliseconds: Int
    ) throws(UplinkError) -> (status: Int, body: String) {
        response.removeAll(keepingCapacity: true)
        errorBuffer[0] = 0
        var headers: UnsafeMutablePointer<curl_slist>?
        headers = curl_slist_append(headers, "Content-Type: application/json")
        headers = curl_slist_append(headers, "Expect:")  // no 100-continue round trip
        if let token { headers = curl_slist_append(headers, "Authorization: Bearer \(token)") }
        defer { curl_slist_free_all(headers) }

        let code: CURLcode = body.withUnsafeBytes { bytes in
            let context = Unmanaged.passUnretained(self).toOpaque()
            aliquot_curl_setopt_string(handle, CURLOPT_URL, url)
            aliquot_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1)  // no SIGALRM timeouts in a threaded process
            aliquot_curl_setopt_long(handle, CURLOPT_POST, 1)
            aliquot_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bytes.baseAddress))
            aliquot_curl_setopt_postfieldsize(handle, curl_off_t(bytes.count))
            aliquot_curl_setopt_headers(handle, headers)
            aliquot_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, connectTimeoutMilliseconds)
            aliquot_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, timeoutMilliseconds)
            aliquot_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0)
            aliquot_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer)
            aliquot_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context)
            aliquot_curl_setopt_write_function(handle) { data, size, count, context in
                let poster = Unmanaged<CurlPoster>.fromOpaque(context!).takeUnretainedValue()
                let length = size * count
                guard poster.response.count + length <= CurlPoster.maximumResponseBytes else { return 0 }
                if let data {
                    poster.response.append(
                        contentsOf: UnsafeRawBufferPointer(start: data, count: length).bindMemory(to: UInt8.self))
                }
                return length
            }
            return curl_easy_perform(handle)
        }
        guard code == CURLE_OK else {
            let detail = String(cString: errorBuffer)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            throw .transport(url: url, curlCode: Int32(code.rawValue), message: message)
        }
        var status = 0
        aliquot_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return (status, String(decoding: response, as: UTF8.self))
    }
}

/// Pushes the journal to the lab server: store and forward. Records are read from the journal
/// (never held beyond one batch), posted as `UplinkBatch`es, and marked acknowledged in the
/// journal only when the server's answer echoes the batch id with a 2xx or 409 status. A
/// failure backs off with full jitter (`BackoffPolicy`) and sends the same batch again, so a
/// rig offline for days loses nothing and drains when the server returns.
///
/// `step(now:jitter:)` drives one action of the `UplinkStateMachine` (tests pass virtual time);
/// `start()` runs it on a thread in real time; `pushOnce()` is `aliquot push --once`.
public final class Uplink: @unchecked Sendable {
    public let configuration: UplinkConfiguration
    public let journal: Journal
    private let poster: CurlPoster
    private let lock = ConditionLock()
    // Guarded by `lock`.
    private var machine: UplinkStateMachine
    private var lastErrorValue: UplinkError?
    private var stopping = false
    private var thread: pthread_t?

    public init(configuration: UplinkConfiguration, journal: Journal) throws(UplinkError) {
        self.configuration = configuration
        self.journal = journal
        poster = try CurlPoster()
        let acknowledged: Int64
        do {
            acknowledged = try journal.uplinkAcknowledgedSequence()
        } catch {
            throw .journal(error)
        }
        machine = UplinkStateMachine(
            batchRecords: configuration.batchRecords, intervalSeconds: configuration.intervalSeconds,
            backoff: configuration.backoff, acknowledgedThrough: acknowledged)
    }

    /// The last failure, until the next acknowledgement clears it.
    public var lastError: UplinkError? { lock.withLock { lastErrorValue } }

    /// The highest sequence the server acknowledged.
    public var acknowledgedThrough: Int64 { lock.withLock { machine.acknowledgedThrough } }

    /// Failures since the last acknowledgement.
    public var consecutiveFailures: Int { lock.withLock { machine.consecutiveFailures } }

    /// Posts the records after `after` (at most `limit`) as one batch. Returns the last sequence
    /// acknowledged, or nil when there was nothing to send.
    ///
    /// - Throws: `UplinkError` when it was not acknowledged (nothing is marked).
    public func deliver(after: Int64, limit: Int) throws(UplinkError) -> Int64? {
        let records: [StoredRecord]
        do {
            records = try journal.records(after: after, limit: limit, maxBytes: configuration.batchBytes)
        } catch {
            throw .journal(error)
        }
        guard !records.isEmpty else { return nil }
        let batch = UplinkBatch(deviceID: configuration.deviceID, journalID: journal.journalID, records: records)
        let answer = try poster.post(
            url: configuration.url, body: batch.encoded(), token: configuration.token,
            connectTimeoutMilliseconds: configuration.connectTimeoutMilliseconds,
            timeoutMilliseconds: configuration.requestTimeoutMilliseconds)
        let acknowledgement = batch.acknowledgement(status: answer.status, body: answer.body)
        guard acknowledgement.isAcknowledged else {
            let reason = if case .notAcknowledged(let reason) = acknowledgement { reason } else { "" }
            throw .notAcknowledged(
                url: configuration.url, batchID: batch.batchID, status: answer.status, reason: reason,
                body: String(answer.body.prefix(200)))
        }
        do {
            try journal.acknowledgeUplink(through: batch.lastSequence)
        } catch {
            throw .journal(error)
        }
        return batch.lastSequence
    }

    /// One step at `now`: asks the state machine, posts a batch if it says so, reports the
    /// outcome. Returns the instant of the next step. `jitter` is a uniform draw from [0, 1).
    public func step(now: MonotonicInstant, jitter: Double) -> MonotonicInstant {
        let durable = journal.durableSequence
        let action = lock.withLock { machine.next(now: now, durableThrough: durable) }
        switch action {
        case .wait(let until):
            return until
        case .send(let after, let limit):
            var outcome = UplinkStateMachine.Outcome.failed
            var failure: UplinkError? = nil
            do {
                if let last = try deliver(after: after, limit: limit) {
                    outcome = .acknowledged(through: last)
                }
            } catch {
                failure = error
            }
            // (No records after `after` although the journal says durable cannot happen: only
            // acknowledged records are pruned. It would count as a failure, and back off.)
            return lock.withLock {
                machine.handle(outcome, now: now, jitter: jitter)
                lastErrorValue = failure
                return machine.nextAttempt
            }
        }
    }

    /// Pushes now until caught up with the journal's durable records, or until the first
    /// failure (`aliquot push --once`).
    ///
    /// - Throws: the failure, after what was acknowledged before it is marked.
    public func pushOnce() throws(UplinkError) -> UplinkPushReport {
        var report = UplinkPushReport(batches: 0, records: 0, acknowledgedThrough: acknowledgedThrough)
        while true {
            let after = report.acknowledgedThrough
            guard journal.durableSequence > after,
                let last = try deliver(after: after, limit: configuration.batchRecords)
            else { return report }
            report.batches += 1
            report.records += Int(last - after)
            report.acknowledgedThrough = last
            lock.withLock {
                machine = UplinkStateMachine(
                    batchRecords: configuration.batchRecords, intervalSeconds: configuration.intervalSeconds,
                    backoff: configuration.backoff, acknowledgedThrough: last)
                lastErrorValue = nil
            }
        }
    }

    /// Runs `step` on a background thread in real time (CLOCK_MONOTONIC) until `stop()`.
    ///
    /// - Throws: `curlInit` if the thread cannot be started.
    public func start() throws(UplinkError) {
        let started = startThread {
            var random = SystemRandomNumberGenerator()
            while true {
                let now = MonotonicInstant(nanoseconds: monotonicNanoseconds())
                let wake = self.step(now: now, jitter: Double.random(in: 0..<1, using: &random))
                self.lock.lock()
                while !self.stopping && monotonicNanoseconds() < wake.nanoseconds {
                    self.lock.wait(untilMonotonicNanoseconds: wake.nanoseconds)
                }
                let stop = self.stopping
                self.lock.unlock()
                if stop { return }
            }
        }
        guard let thread = started.thread else { throw .curlInit("pthread_create (errno \(started.errno))") }
        lock.withLock { self.thread = thread }
    }

    /// Stops the background thread after its current post (at most the request timeout).
    public func stop() {
        let running = lock.withLock {
            stopping = true
            lock.broadcast()
            return thread
        }
        if let running { pthread_join(running, nil) }
        lock.withLock { thread = nil }
    }
}
