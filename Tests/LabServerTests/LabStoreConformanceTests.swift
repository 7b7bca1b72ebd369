import Foundation
import Journal
import Testing

@testable import LabServer

/// One suite, both stores: every test runs against SQLite and PostgreSQL.
@Suite struct LabStoreConformanceTests {
    @Test(arguments: StoreKind.allCases)
    func devicesAreUniqueAndKeepTheirDigest(kind: StoreKind) async throws {
        guard let store = try await kind.make() else { return print(StoreKind.skipMessage) }
        try await store.addDevice(id: "reactor-01", tokenHash: DeviceToken.hash("t1"), createdNanoseconds: 5)
        try await store.addDevice(id: "reactor-02", tokenHash: DeviceToken.hash("t2"), createdNanoseconds: 6)
        await #expect(throws: LabStoreError.deviceExists("reactor-01")) {
            try await store.addDevice(id: "reactor-01", tokenHash: "x", createdNanoseconds: 7)
        }
        #expect(try await store.credentials() == [
            DeviceCredential(deviceID: "reactor-01", tokenHash: DeviceToken.hash("t1")),
            DeviceCredential(deviceID: "reactor-02", tokenHash: DeviceToken.hash("t2")),
        ])
        #expect(try await store.devices() == [
            LabDevice(id: "reactor-01", createdNanoseconds: 5, lastSeenNanoseconds: nil, recordCount: 0),
            LabDevice(id: "reactor-02", createdNanoseconds: 6, lastSeenNanoseconds: nil, recordCount: 0),
        ])
        await store.shutdown()
    }

    @Test(arguments: StoreKind.allCases)
    func storesEachRecordExactlyOnce(kind: StoreKind) async throws {
        guard let store = try await kind.make() else { return print(StoreKind.skipMessage) }
        try await store.addDevice(id: "r1", tokenHash: "h", createdNanoseconds: 0)
        #expect(try await store.store(incoming(device: "r1", logRecords(1...10)), receivedNanoseconds: 100) == .stored(newRecords: 10))
        // The same batch again (a lost answer): all stored already.
        #expect(try await store.store(incoming(device: "r1", logRecords(1...10)), receivedNanoseconds: 200) == .duplicate)
        // Other bounds overlapping (batch_records changed): only the new ones count.
        #expect(try await store.store(incoming(device: "r1", logRecords(6...15)), receivedNanoseconds: 300) == .stored(newRecords: 5))
        // The same sequences in another journal (a new SD card) are other records.
        #expect(try await store.store(incoming(device: "r1", journal: journalB, logRecords(1...3)), receivedNanoseconds: 400) == .stored(newRecords: 3))
        #expect(try await store.recordCount() == 18)
        let stored = try await store.records(RecordQuery(deviceID: "r1"))
        #expect(stored.count == 18)
        #expect(Set(stored.map { "\($0.journalID)/\($0.sequence)" }).count == 18)
        #expect(try await store.devices() == [LabDevice(id: "r1", createdNanoseconds: 0, lastSeenNanoseconds: 400, recordCount: 18)])
        await store.shutdown()
    }

    @Test(arguments: StoreKind.allCases)
    func keepsFieldsVerbatim(kind: StoreKind) async throws {
        guard let store = try await kind.make() else { return print(StoreKind.skipMessage) }
        let hostile = #"'; DROP TABLE records; -- \" \\ %_ <b>é😀"#
        let payload = "{\"level\":\"error\",\"message\":\(JSONText.quoted(hostile)),\"n\":12345678901234567890123}"
        let time: Int64 = 9_007_199_254_740_993  // 2^53 + 1
        let batch = try incoming(device: "r1", [record(1, .log, experiment: nil, payload: payload, time: time)])
        _ = try await store.store(batch, receivedNanoseconds: 1)
        let records = try await store.records(RecordQuery())
        try #require(records.count == 1)
        #expect(records[0] == LabRecord(
            deviceID: "r1", journalID: journalA, sequence: 1, timeNanoseconds: time, kind: .log, experiment: nil,
            campaign: nil, level: .error, message: hostile, payload: batch.records[0].payload))
        #expect(try JSONValue.parse(records[0].payload)["message"]?.stringValue == hostile)
        #expect(try JSONValue.parse(records[0].payload)["n"] == .number("12345678901234567890123"))
        #expect(try await store.recordCount() == 1)  // the table is still there
        await store.shutdown()
    }

    @Test(arguments: StoreKind.allCases)
    func filtersRecords(kind: StoreKind) async throws {
        guard let store = try await kind.make() else { return print(StoreKind.skipMessage) }
        let records: [StoredRecord] = [
            record(1, .log, payload: #"{"level":"debug","message":"pump 100% on"}"#),
            record(2, .log, payload: #"{"level":"warning","message":"Pump_2 slow"}"#),
            record(3, .log, experiment: 2, payload: #"{"level":"error","message":"heater fault"}"#),
            record(4, .event, payload: #"{"type":"safety","message":"pump stop"}"#),
            record(5, .log, experiment: 2, payload: #"{"level":"critical","message":"pumpX"}"#),
        ]
        _ = try await store.store(incoming(device: "r1", records), receivedNanoseconds: 1)
        _ = try await store.store(incoming(device: "r2", [record(1, .log, payload: #"{"level":"error","message":"pump r2"}"#)]), receivedNanoseconds: 1)
        func sequences(_ query: RecordQuery) async throws -> [String] {
            try await store.records(query).map { "\($0.deviceID):\($0.sequence)" }
        }
        #expect(try await sequences(RecordQuery(kind: .log, search: "pump")) == ["r1:1", "r2:1", "r1:2", "r1:5"])
        #expect(try await sequences(RecordQuery(deviceID: "r1", kind: .log, search: "100%")) == ["r1:1"])
        #expect(try await sequences(RecordQuery(deviceID: "r1", search: "pump%on")) == [])  // `%` is literal
        #expect(try await sequences(RecordQuery(deviceID: "r1", search: "pump_1")) == [])  // `_` is literal
        #expect(try await sequences(RecordQuery(deviceID: "r1", search: "pump_2")) == ["r1:2"])  // ASCII case-insensitive
        #expect(try await sequences(RecordQuery(kind: .log, minimumLevel: .error)) == ["r2:1", "r1:3", "r1:5"])
        #expect(try await sequences(RecordQuery(deviceID: "r1", experiment: 2)) == ["r1:3", "r1:5"])
        #expect(try await sequences(RecordQuery(deviceID: "r1", kind: .event)) == ["r1:4"])
        #expect(try await sequences(RecordQuery(deviceID: "r1", newestFirst: true, limit: 2)) == ["r1:5", "r1:4"])
        await store.shutdown()
    }

    @Test(arguments: StoreKind.allCases)
    func summarizesCampaignsAndExperiments(kind: StoreKind) async throws {
        guard let store = try await kind.make() else { return print(StoreKind.skipMessage) }
        var records: [StoredRecord] = []
        // Campaign "grid": experiment 1 with 3 aliquots, experiment 2 with 2; campaign "repro": 1 with 1.
        for (campaign, experiment, aliquots) in [("grid", 1, 3), ("grid", 2, 2), ("repro", 1, 1)] {
            for aliquot in 1...aliquots {
                records.append(record(Int64(records.count + 1), .sample, experiment: experiment,
                    payload: "{\"campaign\":\"\(campaign)\",\"aliquot\":\(aliquot),\"t_s\":\(aliquot * 10)}"))
                records.append(record(Int64(records.count + 1), .log, experiment: experiment, payload: "{\"campaign\":\"\(campaign)\"}"))
            }
        }
        _ = try await store.store(incoming(device: "r1", records), receivedNanoseconds: 1)
        let t0: Int64 = 1_763_750_000_000_000_000
        #expect(try await store.campaigns() == [
            CampaignSummary(deviceID: "r1", campaign: "grid", experiments: 2, samples: 5, lastNanoseconds: t0 + 9),
            CampaignSummary(deviceID: "r1", campaign: "repro", experiments: 1, samples: 1, lastNanoseconds: t0 + 11),
        ])
        #expect(try await store.experiments(deviceID: "r1", campaign: "grid") == [
            ExperimentSummary(deviceID: "r1", campaign: "grid", experiment: 1, samples: 3, firstNanoseconds: t0 + 1, lastNanoseconds: t0 + 5),
            ExperimentSummary(deviceID: "r1", campaign: "grid", experiment: 2, samples: 2, firstNanoseconds: t0 + 7, lastNanoseconds: t0 + 9),
        ])
        #expect(try await store.experiments(deviceID: "other", campaign: nil) == [])
        #expect(try await store.experiments(deviceID: nil, campaign: nil).count == 3)
        await store.shutdown()
    }
}
