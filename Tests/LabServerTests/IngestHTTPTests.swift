import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Journal
import Logging
import Testing

@testable import LabServer

/// The ingest contract (docs/uplink-wire-format.md) and the security cases, through the router.
@Suite struct IngestHTTPTests {
    struct Fixture {
        let store: any LabStore
        let tokenA: String
        let tokenB: String
    }

    func fixture() async throws -> Fixture {
        let store = try #require(try await StoreKind.sqlite.make())
        let tokenA = DeviceToken.generate(), tokenB = DeviceToken.generate()
        try await store.addDevice(id: "reactor-01", tokenHash: DeviceToken.hash(tokenA), createdNanoseconds: 0)
        try await store.addDevice(id: "reactor-02", tokenHash: DeviceToken.hash(tokenB), createdNanoseconds: 0)
        return Fixture(store: store, tokenA: tokenA, tokenB: tokenB)
    }

    func app(_ store: any LabStore, limit: Int = 16 << 20) -> some ApplicationProtocol {
        var logger = Logger(label: "lab-test")
        logger.logLevel = .critical
        return LabServer.application(store: store, configuration: LabServerConfiguration(port: 0, maximumBodyBytes: limit), logger: logger)
    }

    func body(_ device: String = "reactor-01", _ records: [StoredRecord] = logRecords(1...3)) -> ByteBuffer {
        ByteBuffer(bytes: UplinkBatch(deviceID: device, journalID: journalA, records: records).encoded())
    }

    func headers(_ token: String?) -> HTTPFields {
        var fields: HTTPFields = [.contentType: "application/json"]
        if let token { fields[.authorization] = "Bearer \(token)" }
        return fields
    }

    @Test func acknowledgesWithTheBatchIDAndStoresAReplayOnce() async throws {
        let fixture = try await fixture()
        let batch = UplinkBatch(deviceID: "reactor-01", journalID: journalA, records: logRecords(1...3))
        try await app(fixture.store).test(.router) { client in
            let first = try await client.execute(uri: "/api/v1/batches", method: .post, headers: headers(fixture.tokenA), body: body())
            #expect(first.status == .ok)
            #expect(batch.acknowledgement(status: 200, body: String(buffer: first.body)) == .stored)
            let replay = try await client.execute(uri: "/api/v1/batches", method: .post, headers: headers(fixture.tokenA), body: body())
            #expect(replay.status.code == 409)
            #expect(batch.acknowledgement(status: 409, body: String(buffer: replay.body)) == .duplicate)
        }
        #expect(try await fixture.store.recordCount() == 3)
    }

    /// (token, device named by the batch, expected status)
    @Test(arguments: [
        ("none", "reactor-01", 401), ("wrong", "reactor-01", 401), ("B", "reactor-01", 403), ("A", "reactor-02", 403),
        ("basic", "reactor-01", 401),
    ])
    func refusesBadCredentials(token: String, device: String, status: Int) async throws {
        let fixture = try await fixture()
        var fields = headers(nil)
        switch token {
        case "A": fields[.authorization] = "Bearer \(fixture.tokenA)"
        case "B": fields[.authorization] = "Bearer \(fixture.tokenB)"
        case "wrong": fields[.authorization] = "Bearer \(DeviceToken.generate())"
        case "basic": fields[.authorization] = "Basic \(fixture.tokenA)"
        default: break
        }
        let requestFields = fields
        try await app(fixture.store).test(.router) { client in
            let response = try await client.execute(uri: "/api/v1/batches", method: .post, headers: requestFields, body: body(device))
            #expect(response.status.code == status)
            // The server keeps running: the right token still works.
            let ok = try await client.execute(uri: "/api/v1/batches", method: .post, headers: headers(fixture.tokenA), body: body())
            #expect(ok.status == .ok)
        }
        #expect(try await fixture.store.recordCount() == 3)
    }

    @Test(arguments: [
        (#"{"format":"aliquot-journal-batch","version":1,"#, "malformed JSON"),
        (#"[1,2]"#, "must be a JSON object"),
        (#"{"format":"aliquot-journal-batch","version":2}"#, "unknown version 2"),
        (#"{"format":"other","version":1}"#, "format must be"),
        (#"{"format":"aliquot-journal-batch","version":1,"device_id":"reactor-01","journal_id":"9f0c6d1e2a3b4c5d6e7f8091a2b3c4d5","batch_id":"reactor-01/9f0c6d1e2a3b4c5d6e7f8091a2b3c4d5/1-2","first_sequence":1,"last_sequence":2,"records":[{"sequence":1,"time_ns":1,"kind":"log","experiment":null,"payload":{}}]}"#, "records holds 1 records"),
        (#"{"format":"aliquot-journal-batch","version":1,"device_id":"reactor-01","journal_id":"9f0c6d1e2a3b4c5d6e7f8091a2b3c4d5","batch_id":"x","first_sequence":1,"last_sequence":1,"records":[]}"#, "batch_id must be"),
        (#"{"format":"aliquot-journal-batch","version":1,"device_id":"reactor-01","journal_id":"9f0c6d1e2a3b4c5d6e7f8091a2b3c4d5","batch_id":"reactor-01/9f0c6d1e2a3b4c5d6e7f8091a2b3c4d5/1-1","first_sequence":1,"last_sequence":1,"records":[{"sequence":1,"time_ns":1,"kind":"blob","experiment":null,"payload":{}}]}"#, "kind must be"),
    ])
    func refusesMalformedBatchesWithAClearMessage(text: String, message: String) async throws {
        let fixture = try await fixture()
        try await app(fixture.store).test(.router) { client in
            let response = try await client.execute(
                uri: "/api/v1/batches", method: .post, headers: headers(fixture.tokenA), body: ByteBuffer(string: text))
            #expect(response.status == .badRequest)
            let error = try JSONValue.parse(String(buffer: response.body))["error"]?.stringValue ?? ""
            #expect(error.contains(message), "\(error)")
        }
        #expect(try await fixture.store.recordCount() == 0)
    }

    @Test func refusesA100MegabyteBody() async throws {
        let fixture = try await fixture()
        let huge = ByteBuffer(repeating: UInt8(ascii: " "), count: 100 << 20)
        try await app(fixture.store).test(.router) { client in
            let response = try await client.execute(uri: "/api/v1/batches", method: .post, headers: headers(fixture.tokenA), body: huge)
            #expect(response.status == .contentTooLarge)
            let ok = try await client.execute(uri: "/api/v1/batches", method: .post, headers: headers(fixture.tokenA), body: body())
            #expect(ok.status == .ok)
        }
    }

    /// Without a Content-Length the limit holds while streaming.
    @Test func refusesAStreamedBodyOverTheLimit() async throws {
        let fixture = try await fixture()
        let service = IngestService(store: fixture.store, maximumBodyBytes: 1024)
        let chunks = (0..<8).map { _ in ByteBuffer(repeating: UInt8(ascii: " "), count: 512) }
        var request = Request(
            head: HTTPRequest(method: .post, scheme: "http", authority: "lab", path: "/api/v1/batches",
                headerFields: [.authorization: "Bearer \(fixture.tokenA)"]),
            body: RequestBody(asyncSequence: chunks.asStream))
        let reply = await service.ingest(request: request)
        #expect(reply.status == 413)
        request = Request(
            head: HTTPRequest(method: .post, scheme: "http", authority: "lab", path: "/api/v1/batches",
                headerFields: [.authorization: "Bearer \(fixture.tokenA)"]),
            body: RequestBody(buffer: body()))
        #expect(await service.ingest(request: request).status == 200)
    }

    @Test func storesSQLLookingStringsVerbatim() async throws {
        let fixture = try await fixture()
        let hostile = #"x'); DELETE FROM devices; --"#
        let records = [record(1, .log, payload: "{\"level\":\"info\",\"message\":\(JSONText.quoted(hostile)),\"campaign\":\(JSONText.quoted(hostile))}")]
        try await app(fixture.store).test(.router) { client in
            let response = try await client.execute(uri: "/api/v1/batches", method: .post, headers: headers(fixture.tokenA), body: body("reactor-01", records))
            #expect(response.status == .ok)
            let logs = try await client.execute(uri: "/logs?q=DELETE", method: .get)
            #expect(String(buffer: logs.body).contains("x&#39;); DELETE FROM devices; --"))
        }
        let stored = try await fixture.store.records(RecordQuery())
        #expect(stored.map(\.message) == [hostile])
        #expect(stored.map(\.campaign) == [hostile])
        #expect(try await fixture.store.devices().count == 2)
    }
}

extension Array where Element: Sendable {
    var asStream: AsyncStream<Element> {
        AsyncStream { continuation in
            for element in self { continuation.yield(element) }
            continuation.finish()
        }
    }
}
