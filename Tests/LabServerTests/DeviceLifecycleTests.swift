import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Journal
import Logging
import Testing

@testable import LabServer

/// `aliquot-lab device rotate <id>` and `device remove <id>`: the stores (both), and the
/// built executable against a running server's database, whose old tokens are refused at once.
@Suite struct DeviceLifecycleTests {
    @Test(arguments: StoreKind.allCases)
    func rotatesAndRemovesDevicesKeepingTheirRecords(kind: StoreKind) async throws {
        guard let store = try await kind.make() else { return print(StoreKind.skipMessage) }
        try await store.addDevice(id: "r1", tokenHash: DeviceToken.hash("t1"), createdNanoseconds: 1)
        try await store.addDevice(id: "r2", tokenHash: DeviceToken.hash("t2"), createdNanoseconds: 2)
        _ = try await store.store(incoming(device: "r1", logRecords(1...3)), receivedNanoseconds: 10)

        try await store.replaceTokenHash(deviceID: "r1", tokenHash: DeviceToken.hash("t1-new"))
        #expect(try await store.credentials() == [
            DeviceCredential(deviceID: "r1", tokenHash: DeviceToken.hash("t1-new")),
            DeviceCredential(deviceID: "r2", tokenHash: DeviceToken.hash("t2")),
        ])
        await #expect(throws: LabStoreError.unknownDevice("r9")) {
            try await store.replaceTokenHash(deviceID: "r9", tokenHash: "x")
        }

        try await store.removeDevice(id: "r1")
        #expect(try await store.credentials() == [DeviceCredential(deviceID: "r2", tokenHash: DeviceToken.hash("t2"))])
        #expect(try await store.devices().map(\.id) == ["r2"])
        // Its records stay.
        #expect(try await store.recordCount() == 3)
        #expect(try await store.records(RecordQuery(deviceID: "r1")).map(\.sequence) == [1, 2, 3])
        await #expect(throws: LabStoreError.unknownDevice("r1")) { try await store.removeDevice(id: "r1") }
        // The id is free again.
        try await store.addDevice(id: "r1", tokenHash: DeviceToken.hash("t1-again"), createdNanoseconds: 3)
        #expect(try await store.devices().map(\.id) == ["r1", "r2"])
        await store.shutdown()
    }

    /// The built `aliquot-lab`, next to the test bundle.
    static var executable: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("aliquot-lab")
    }

    /// Runs `aliquot-lab arguments...`; its exit status, standard output and standard error.
    func lab(_ arguments: [String]) async throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = Self.executable
        process.arguments = arguments
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        // The pipes are read on the process's own termination thread, never on the cooperative
        // pool: a blocking read there would starve the live server this test talks to (two
        // pool threads on a two-core machine).
        let outcome: (Data, Data) = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { _ in
                continuation.resume(
                    returning: (output.fileHandleForReading.readDataToEndOfFile(), error.fileHandleForReading.readDataToEndOfFile()))
            }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        return (process.terminationStatus, String(decoding: outcome.0, as: UTF8.self), String(decoding: outcome.1, as: UTF8.self))
    }

    @Test func theCommandLineRotatesAndRemovesWhileTheServerRuns() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.executable.path), "build aliquot-lab first: \(Self.executable.path)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aliquot-lab-devices-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = "sqlite:" + directory.appendingPathComponent("lab.sqlite").path

        let added = try await lab(["device", "add", "reactor-01", "--database", database])
        #expect(added.status == 0, "\(added.error)")
        let first = added.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(first.count == 64 && first.allSatisfy(\.isHexDigit))

        // The server has the same database open, as `aliquot-lab serve` would.
        let store = try SQLiteLabStore(path: directory.appendingPathComponent("lab.sqlite").path)
        var logger = Logger(label: "devices")
        logger.logLevel = .critical
        let app = LabServer.application(store: store, configuration: LabServerConfiguration(port: 0), logger: logger)
        try await app.test(.live) { client in
            func push(_ token: String, _ sequences: ClosedRange<Int64>) async throws -> Int {
                let headers: HTTPFields = [.contentType: "application/json", .authorization: "Bearer \(token)"]
                let body = ByteBuffer(bytes: UplinkBatch(deviceID: "reactor-01", journalID: journalA, records: logRecords(sequences)).encoded())
                return Int(try await client.execute(uri: "/api/v1/batches", method: .post, headers: headers, body: body).status.code)
            }
            #expect(try await push(first, 1...2) == 200)

            let rotated = try await lab(["device", "rotate", "reactor-01", "--database", database])
            #expect(rotated.status == 0, "\(rotated.error)")
            let second = rotated.output.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(second.count == 64 && second != first)
            #expect(try await push(first, 3...4) == 401)  // the old token, at once
            #expect(try await push(second, 3...4) == 200)

            let removed = try await lab(["device", "remove", "reactor-01", "--database", database])
            #expect(removed.status == 0, "\(removed.error)")
            #expect(try await push(second, 5...6) == 401)
            #expect(try await push(first, 5...6) == 401)

            let unknown = try await lab(["device", "rotate", "reactor-09", "--database", database])
            #expect(unknown.status != 0)
            #expect(unknown.error.contains("no device reactor-09"), "\(unknown.error)")
        }
        // What was accepted stays; nothing else arrived.
        #expect(try await store.records(RecordQuery(deviceID: "reactor-01")).map(\.sequence) == [1, 2, 3, 4])
        await store.shutdown()
    }
}
