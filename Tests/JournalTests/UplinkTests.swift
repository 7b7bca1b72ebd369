import Foundation
import Testing
import Transports

@testable import Journal

@Suite struct BackoffPolicyTests {
    /// min(cap, base · 2^(n-1)) for base 1 s and a 300 s cap, from the closed form.
    @Test(arguments: [(0, 0.0), (1, 1), (2, 2), (3, 4), (6, 32), (9, 256), (10, 300), (11, 300), (64, 300), (100_000, 300)])
    func ceilingDoublesUpToTheCap(failures: Int, ceiling: Double) {
        #expect(BackoffPolicy(baseSeconds: 1, capSeconds: 300).ceilingSeconds(afterFailures: failures) == ceiling)
    }

    @Test func fullJitterSpansZeroToTheCeiling() {
        let policy = BackoffPolicy(baseSeconds: 0.5, capSeconds: 60)
        #expect(policy.delaySeconds(afterFailures: 4, unit: 0) == 0)
        #expect(policy.delaySeconds(afterFailures: 4, unit: 0.5) == 2)  // half of 0.5 · 2^3
        #expect(policy.delaySeconds(afterFailures: 4, unit: 0.999) < 4)
        var random = SeededGenerator(seed: 7)
        for failures in 1...40 {
            let ceiling = policy.ceilingSeconds(afterFailures: failures)
            let delays = (0..<200).map { _ in policy.delaySeconds(afterFailures: failures, unit: random.unit()) }
            #expect(delays.allSatisfy { $0 >= 0 && $0 < ceiling })
            // Spread over the whole range, not bunched at one end.
            #expect(delays.min()! < ceiling * 0.1 && delays.max()! > ceiling * 0.9)
        }
    }
}

@Suite struct UplinkStateMachineTests {
    let start = MonotonicInstant(nanoseconds: 1_000_000_000)

    func machine(acknowledged: Int64 = 0) -> UplinkStateMachine {
        UplinkStateMachine(
            batchRecords: 100, intervalSeconds: 30, backoff: BackoffPolicy(baseSeconds: 1, capSeconds: 300),
            acknowledgedThrough: acknowledged)
    }

    @Test func caughtUpWaitsTheInterval() {
        var uplink = machine(acknowledged: 40)
        #expect(uplink.next(now: start, durableThrough: 40) == .wait(until: start.adding(seconds: 30)))
        // Asked early, it still waits for the same instant.
        #expect(uplink.next(now: start.adding(seconds: 10), durableThrough: 90) == .wait(until: start.adding(seconds: 30)))
        #expect(uplink.next(now: start.adding(seconds: 30), durableThrough: 90) == .send(after: 40, limit: 100))
    }

    @Test func drainsBatchAfterBatchWithoutWaiting() {
        var uplink = machine()
        var now = start
        var sent: [Int64] = []
        while case .send(let after, let limit) = uplink.next(now: now, durableThrough: 250) {
            sent.append(after)
            uplink.handle(.acknowledged(through: min(after + Int64(limit), 250)), now: now, jitter: 0.5)
            now = now.adding(seconds: 0.1)
        }
        #expect(sent == [0, 100, 200])
        #expect(uplink.acknowledgedThrough == 250 && uplink.consecutiveFailures == 0)
    }

    @Test func failuresBackOffWithJitterAndResendTheSameRecords() {
        var uplink = machine(acknowledged: 10)
        var now = start
        for failures in 1...12 {
            #expect(uplink.next(now: now, durableThrough: 50) == .send(after: 10, limit: 100))
            uplink.handle(.failed, now: now, jitter: 0.75)
            #expect(uplink.consecutiveFailures == failures)
            let expectedDelay = 0.75 * min(300, pow(2, Double(failures - 1)))
            #expect(uplink.nextAttempt == now.adding(seconds: expectedDelay))
            #expect(uplink.next(now: now, durableThrough: 50) == .wait(until: uplink.nextAttempt))
            now = uplink.nextAttempt
        }
        #expect(uplink.next(now: now, durableThrough: 50) == .send(after: 10, limit: 100))
        uplink.handle(.acknowledged(through: 50), now: now, jitter: 0.75)
        #expect(uplink.consecutiveFailures == 0 && uplink.acknowledgedThrough == 50)
    }
}

@Suite struct UplinkBatchTests {
    func batch() -> UplinkBatch {
        UplinkBatch(
            deviceID: "reactor-01", journalID: "00ff",
            records: [
                StoredRecord(sequence: 7, record: JournalRecord(kind: .event, timeNanoseconds: 5, experiment: nil, payload: "{\"a\":\"x\\\"y\"}")),
                StoredRecord(sequence: 8, record: JournalRecord(kind: .sample, timeNanoseconds: 6, experiment: 2, payload: "[1,2.5]")),
            ])
    }

    @Test func encodesTheDocumentedWireFormat() throws {
        let object = try #require(JSONSerialization.jsonObject(with: Data(batch().encoded())) as? [String: Any])
        #expect(object["format"] as? String == "aliquot-journal-batch")
        #expect(object["version"] as? Int == 1)
        #expect(object["device_id"] as? String == "reactor-01")
        #expect(object["journal_id"] as? String == "00ff")
        #expect(object["batch_id"] as? String == "reactor-01/00ff/7-8")
        #expect(object["first_sequence"] as? Int == 7 && object["last_sequence"] as? Int == 8)
        let records = try #require(object["records"] as? [[String: Any]])
        #expect(records.count == 2)
        #expect(records[0]["sequence"] as? Int == 7 && records[0]["time_ns"] as? Int == 5)
        #expect(records[0]["kind"] as? String == "event" && records[0]["experiment"] is NSNull)
        #expect((records[0]["payload"] as? [String: String]) == ["a": "x\"y"])
        #expect(records[1]["kind"] as? String == "sample" && records[1]["experiment"] as? Int == 2)
        #expect((records[1]["payload"] as? [Double]) == [1, 2.5])
    }

    @Test(arguments: [
        (200, "{\"batch_id\":\"reactor-01/00ff/7-8\",\"status\":\"stored\"}", UplinkAcknowledgement.stored),
        (201, "{ \"status\": \"stored\", \"batch_id\" : \"reactor-01/00ff/7-8\" }", .stored),
        (409, "{\"batch_id\":\"reactor-01/00ff/7-8\",\"status\":\"duplicate\"}", .duplicate),
        (200, "{\"batch_id\":\"reactor-01/00ff/7-9\"}", .notAcknowledged(reason: "the answer does not echo batch_id reactor-01/00ff/7-8")),
        (200, "OK", .notAcknowledged(reason: "the answer does not echo batch_id reactor-01/00ff/7-8")),
        (409, "{}", .notAcknowledged(reason: "the answer does not echo batch_id reactor-01/00ff/7-8")),
        (500, "{\"batch_id\":\"reactor-01/00ff/7-8\"}", .notAcknowledged(reason: "HTTP 500")),
        (401, "", .notAcknowledged(reason: "HTTP 401")),
    ])
    func acknowledgedOnlyWithTheBatchIDEchoed(status: Int, body: String, expected: UplinkAcknowledgement) {
        #expect(batch().acknowledgement(status: status, body: body) == expected)
    }

    @Test(arguments: [("rig-01", true), ("A.b_c-9", true), ("", false), ("has space", false), ("a/b", false),
        (String(repeating: "x", count: 64), true), (String(repeating: "x", count: 65), false)])
    func deviceIDs(id: String, valid: Bool) {
        #expect(UplinkBatch.isValidDeviceID(id) == valid)
    }
}

@Suite(.serialized) struct UplinkDeliveryTests {
    func makeJournal(_ directory: TemporaryDirectory, records: Int) throws -> Journal {
        let journal = try Journal(configuration: JournalConfiguration(path: directory.file("u.sqlite"), maxBytes: 64 << 20))
        for n in 0..<records { try journal.submit(testRecord("u\(n)", n: n, experiment: n / 10 + 1, kind: .sample)) }
        try journal.flush()
        return journal
    }

    func configuration(url: String, token: String? = nil, batch: Int = 7, timeoutMs: Int = 2_000) -> UplinkConfiguration {
        UplinkConfiguration(
            url: url, deviceID: "reactor-01", token: token, batchRecords: batch, intervalSeconds: 30,
            connectTimeoutMilliseconds: 1_000, requestTimeoutMilliseconds: timeoutMs,
            backoff: BackoffPolicy(baseSeconds: 1, capSeconds: 600))
    }

    /// Checks that the server holds every record of the journal exactly once.
    func expectExactlyOnce(_ server: TestReceiver, _ journal: Journal, count: Int) throws {
        let stored = server.stored(journal: journal.journalID)
        #expect(stored.count == count)
        #expect(server.storeCounts(journal: journal.journalID).values.allSatisfy { $0 == 1 })
        for record in try journal.records(after: 0, limit: count + 10) {
            #expect(stored[record.sequence].flatMap(payloadID) == payloadID(record.record.payload))
        }
        #expect(try journal.uplinkAcknowledgedSequence() == Int64(count))
    }

    @Test func pushOnceDeliversEverythingWithTheBearerToken() throws {
        let directory = TemporaryDirectory()
        let journal = try makeJournal(directory, records: 30)
        let server = TestReceiver()
        defer { server.stop() }
        let tokenFile = directory.file("token")
        try "  s3cret-token\n".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let token = try UplinkConfiguration.readToken(path: tokenFile)
        #expect(token == "s3cret-token")
        let uplink = try Uplink(configuration: configuration(url: server.url, token: token), journal: journal)
        let report = try uplink.pushOnce()
        #expect(report == UplinkPushReport(batches: 5, records: 30, acknowledgedThrough: 30))
        #expect(server.batchSizes == [7, 7, 7, 7, 2])
        #expect(server.authorizations.allSatisfy { $0 == "Bearer s3cret-token" })
        try expectExactlyOnce(server, journal, count: 30)
        // Nothing more to send.
        #expect(try uplink.pushOnce() == UplinkPushReport(batches: 0, records: 0, acknowledgedThrough: 30))
        try journal.close()
    }

    @Test func aMissingTokenFileIsAClearError() {
        #expect(throws: UplinkError.tokenFile(path: "/nonexistent/token", reason: "cannot open", errno: ENOENT)) {
            try UplinkConfiguration.readToken(path: "/nonexistent/token")
        }
    }

    /// 500s, a reset before and after storing, a response slower than the timeout, a wrong
    /// batch id: each is retried with the same batch, and every record is stored once.
    @Test func misbehavingServerStillGetsEverythingExactlyOnce() throws {
        let directory = TemporaryDirectory()
        let journal = try makeJournal(directory, records: 40)
        let server = TestReceiver(script: [
            .error500, .resetBeforeStoring, .resetAfterStoring, .normal, .slow(milliseconds: 600), .normal,
            .wrongBatchID, .error500, .normal,
        ])
        defer { server.stop() }
        let uplink = try Uplink(configuration: configuration(url: server.url, timeoutMs: 250), journal: journal)
        var now = MonotonicInstant(nanoseconds: 0)
        var random = SeededGenerator(seed: 3)
        var failures = 0
        var steps = 0
        let retryAt = uplink.step(now: now, jitter: random.unit())  // the scripted 500
        #expect(retryAt > now)
        #expect(uplink.acknowledgedThrough == 0)
        #expect(try journal.uplinkAcknowledgedSequence() == 0)
        guard case .notAcknowledged(_, _, 500, _, _) = try #require(uplink.lastError) else {
            Issue.record("expected a 500, got \(String(describing: uplink.lastError))")
            return
        }
        while uplink.acknowledgedThrough < 40 && steps < 100 {
            if uplink.lastError != nil { failures += 1 }
            now = uplink.step(now: now, jitter: random.unit())
            steps += 1
        }
        #expect(uplink.acknowledgedThrough == 40)
        #expect(failures >= 5)
        try expectExactlyOnce(server, journal, count: 40)
        // The batches stored before their answer was lost came back as duplicates (409).
        #expect(server.statuses.filter { $0 == 409 }.count >= 2)
        try journal.close()
    }

    /// The server is down for a simulated day while the rig journals a record a minute; the
    /// uplink backs off (bounded by the cap) and holds at most one batch; when the server is
    /// back, everything drains within one cap of backoff plus the batches.
    @Test func offlineForADayThenDrains() throws {
        let directory = TemporaryDirectory()
        let journal = try makeJournal(directory, records: 0)
        let port = unusedLoopbackPort()
        let uplink = try Uplink(
            configuration: configuration(url: "http://127.0.0.1:\(port)/ingest", batch: 200), journal: journal)
        var random = SeededGenerator(seed: 11)
        var now = MonotonicInstant(nanoseconds: 0)
        var nextRecord = now
        let day = MonotonicInstant(nanoseconds: 86_400 * 1_000_000_000)
        var n = 0
        while now < day {
            if now >= nextRecord {
                try journal.append(testRecord("d\(n)", n: n))
                n += 1
                nextRecord = nextRecord.adding(seconds: 60)
            }
            let wake = uplink.step(now: now, jitter: random.unit())
            #expect(wake >= now)
            now = min(wake, nextRecord)
        }
        #expect(n == 1440)
        #expect(uplink.acknowledgedThrough == 0)
        guard case .transport = try #require(uplink.lastError) else {
            Issue.record("expected a refused connection, got \(String(describing: uplink.lastError))")
            return
        }
        // Every attempt of the day failed; full jitter under a 600 s cap makes about one attempt
        // per 300 s once capped: ~290 in a day, far fewer than the 1440 records.
        let attempts = uplink.consecutiveFailures
        #expect(attempts > 100 && attempts < 600)

        let server = TestReceiver(port: port)
        defer { server.stop() }
        let back = now
        var steps = 0
        while uplink.acknowledgedThrough < 1440 && steps < 100 {
            now = max(now, uplink.step(now: now, jitter: random.unit()))
            steps += 1
        }
        #expect(uplink.acknowledgedThrough == 1440)
        #expect(now.seconds(since: back) <= 600)
        #expect(server.batchSizes.allSatisfy { $0 <= 200 })
        try expectExactlyOnce(server, journal, count: 1440)
        try journal.close()
    }
}
