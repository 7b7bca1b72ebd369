import Foundation
import Hummingbird
import HummingbirdTesting
import Journal
import Logging
import Testing

@testable import LabServer

/// A board's journal pushed through the real uplink (libcurl) to a live server on 127.0.0.1.
@Suite struct EndToEndTests {
    @Test func everyJournaledRecordArrivesExactlyOnce() async throws {
        let store = try #require(try await StoreKind.sqlite.make())
        let token = DeviceToken.generate()
        try await store.addDevice(id: "reactor-07", tokenHash: DeviceToken.hash(token), createdNanoseconds: 0)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aliquot-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let journal = try Journal(configuration: JournalConfiguration(path: directory.appendingPathComponent("journal.sqlite").path, maxBytes: 64 << 20, synchronous: .normal))
        let records = campaignRecords(experiments: 2, aliquots: 5, points: 16)
        for stored in records { _ = try journal.submit(stored.record) }
        try journal.flush()
        var logger = Logger(label: "e2e")
        logger.logLevel = .critical
        let app = LabServer.application(store: store, configuration: LabServerConfiguration(port: 0), logger: logger)
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let uplink = try Uplink(
                configuration: UplinkConfiguration(url: "http://127.0.0.1:\(port)/api/v1/batches", deviceID: "reactor-07", token: token, batchRecords: 37),
                journal: journal)
            // pushOnce blocks (libcurl): keep it off the cooperative pool that runs the server's handlers.
            let report = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<UplinkPushReport, any Error>) in
                BenchThreads.detach {
                    do { continuation.resume(returning: try uplink.pushOnce()) } catch { continuation.resume(throwing: error) }
                }
            }
            #expect(report.records == records.count)
            #expect(report.acknowledgedThrough == Int64(records.count))
        }
        let stored = try await store.records(RecordQuery(deviceID: "reactor-07", limit: 100_000))
        #expect(stored.count == records.count)
        #expect(Set(stored.map(\.sequence)) == Set(1...Int64(records.count)))
        let bySequence = Dictionary(uniqueKeysWithValues: stored.map { ($0.sequence, $0) })
        for (index, original) in records.enumerated() {
            let arrived = try #require(bySequence[Int64(index + 1)])
            #expect(arrived.kind == original.record.kind && arrived.timeNanoseconds == original.record.timeNanoseconds)
            #expect(try JSONValue.parse(arrived.payload) == JSONValue.parse(original.record.payload))
        }
        try journal.close()
        await store.shutdown()
    }
}
