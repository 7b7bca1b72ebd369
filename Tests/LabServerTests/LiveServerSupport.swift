import Foundation
import Hummingbird
import HummingbirdTesting
import Journal
import Logging
import Synchronization

@testable import LabServer

/// The lab server on 127.0.0.1 as `aliquot-lab serve` runs it, which a test can stop (the
/// link dies: connections refused) and start again on the same port with the same store.
final class RestartableLabServer: Sendable {
    let store: any LabStore
    private let running = Mutex<Task<Void, any Error>?>(nil)
    private let boundPort = Mutex<Int>(0)

    init(store: any LabStore) { self.store = store }

    var port: Int { boundPort.withLock { $0 } }

    struct StartFailure: Error, CustomStringConvertible {
        var port: Int
        var cause: String
        var description: String { "the lab server did not start on 127.0.0.1:\(port): \(cause)" }
    }

    /// Starts listening on `port` (0: any free port, the first time); returns the bound port.
    @discardableResult
    func start(port: Int = 0) async throws -> Int {
        var logger = Logger(label: "e2e-lab")
        // The channels a stop cancels are logged: not a failure.
        logger.logLevel = .critical
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = LabServer.application(
            store: store, configuration: LabServerConfiguration(host: "127.0.0.1", port: port), logger: logger,
            onServerRunning: { continuation.yield($0) })
        let task = Task {
            defer { continuation.finish() }
            try await app.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            let cause: String
            switch await task.result {
            case .failure(let error): cause = "\(error)"
            case .success: cause = "it stopped before listening"
            }
            throw StartFailure(port: port, cause: cause)
        }
        running.withLock { $0 = task }
        boundPort.withLock { $0 = bound }
        return bound
    }

    /// Stops listening and closes the connections; returns when the server has stopped.
    func stop() async {
        guard let task = running.withLock({ current in defer { current = nil }; return current }) else { return }
        task.cancel()
        _ = await task.result
    }
}

/// A store that forwards to another and can, for a number of batches, lose the answer after
/// the batch was committed (the server fails with 500 after storing, as a crash between commit
/// and reply would): the board must send the batch again, and the store must not keep it twice.
/// Counts what arrived.
final class AnswerLosingStore: LabStore {
    struct LostAnswer: Error, CustomStringConvertible {
        var batchID: String
        var description: String { "test: the answer to batch \(batchID) is lost after its commit" }
    }

    struct Counts: Equatable, Sendable {
        /// Batches that reached the store.
        var batches = 0
        /// Records stored for the first time.
        var newRecords = 0
        /// Records that arrived again (already stored): the retries of lost answers.
        var repeatedRecords = 0
        /// Batches whose answer was lost.
        var lostAnswers = 0
    }

    let inner: any LabStore
    private let state = Mutex<(counts: Counts, answersToLose: Int)>((Counts(), 0))

    init(_ inner: any LabStore) { self.inner = inner }

    var counts: Counts { state.withLock { $0.counts } }

    /// The next `count` stored batches are answered with an error.
    func loseAnswers(_ count: Int) { state.withLock { $0.answersToLose += count } }

    func store(_ batch: IncomingBatch, receivedNanoseconds: Int64) async throws -> BatchOutcome {
        let outcome = try await inner.store(batch, receivedNanoseconds: receivedNanoseconds)
        let lose = state.withLock { state -> Bool in
            let new = if case .stored(let count) = outcome { count } else { 0 }
            state.counts.batches += 1
            state.counts.newRecords += new
            state.counts.repeatedRecords += batch.records.count - new
            guard state.answersToLose > 0 else { return false }
            state.answersToLose -= 1
            state.counts.lostAnswers += 1
            return true
        }
        if lose { throw LostAnswer(batchID: batch.batchID) }
        return outcome
    }

    func addDevice(id: String, tokenHash: String, createdNanoseconds: Int64) async throws {
        try await inner.addDevice(id: id, tokenHash: tokenHash, createdNanoseconds: createdNanoseconds)
    }
    func credentials() async throws -> [DeviceCredential] { try await inner.credentials() }
    func replaceTokenHash(deviceID: String, tokenHash: String) async throws {
        try await inner.replaceTokenHash(deviceID: deviceID, tokenHash: tokenHash)
    }
    func removeDevice(id: String) async throws { try await inner.removeDevice(id: id) }
    func devices() async throws -> [LabDevice] { try await inner.devices() }
    func records(_ query: RecordQuery) async throws -> [LabRecord] { try await inner.records(query) }
    func campaigns() async throws -> [CampaignSummary] { try await inner.campaigns() }
    func experiments(deviceID: String?, campaign: String?) async throws -> [ExperimentSummary] {
        try await inner.experiments(deviceID: deviceID, campaign: campaign)
    }
    func recordCount() async throws -> Int64 { try await inner.recordCount() }
    func shutdown() async { await inner.shutdown() }
}

/// Polls `condition` every 10 ms until it holds; false if it did not within `attempts` polls
/// (a bound so a broken link fails the test instead of hanging it).
func eventually(attempts: Int = 3000, _ condition: () async throws -> Bool) async rethrows -> Bool {
    for _ in 0..<attempts {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// One `GET` to the live server, through HummingbirdTesting's client: the status and body.
func fetch(_ client: some TestClientProtocol, _ path: String) async throws -> (status: Int, body: String) {
    let response = try await client.execute(uri: path, method: .get)
    return (Int(response.status.code), String(buffer: response.body))
}
