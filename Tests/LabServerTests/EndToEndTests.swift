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

    /// The issue's end-to-end test: a twin campaign on the board side, wired as `aliquot run`
    /// wires it, with the journal and the uplink running, pushes through the real uplink
    /// (libcurl) to a live lab server while the campaign runs. On the way the server loses the
    /// answers to two committed batches (they are sent again) and is stopped and started again
    /// on the same port with the same store (the uplink retries against a dead link). At the
    /// end, after the uplink drained: the server holds exactly the journal's records, once
    /// each, with equal payloads, and its dashboard shows the campaign's experiments.
    @Test(arguments: StoreKind.allCases)
    func aTwinCampaignArrivesExactlyOnceThroughLostAnswersAndAnOutage(kind: StoreKind) async throws {
        guard let backing = try await kind.make() else { return print(StoreKind.skipMessage) }
        let started = ContinuousClock.now  // for the printed numbers only
        let store = AnswerLosingStore(backing)
        let device = "twin-e2e"
        let token = DeviceToken.generate()
        try await store.addDevice(id: device, tokenHash: DeviceToken.hash(token), createdNanoseconds: 0)
        let server = RestartableLabServer(store: store)
        let port = try await server.start()
        let campaign = try BoardSideTwinCampaign(name: "e2e-\(kind.rawValue)")
        // The board's [uplink] with a short interval and backoff (the test lasts seconds, not
        // hours) and small batches (many batches per experiment).
        let uplink = try Uplink(
            configuration: UplinkConfiguration(
                url: "http://127.0.0.1:\(port)/api/v1/batches", deviceID: device, token: token, batchRecords: 40,
                intervalSeconds: 0.05, connectTimeoutMilliseconds: 2_000, requestTimeoutMilliseconds: 30_000,
                backoff: BackoffPolicy(baseSeconds: 0.05, capSeconds: 0.25)),
            journal: campaign.journal)
        try uplink.start()

        // The campaign pauses (its time is virtual) at: experiment 1 aliquot 3, experiment 1
        // aliquot 6, experiment 2 aliquot 3; the test acts at each, then lets it go on.
        let gate = CampaignGate(stops: [(1, 3), (1, 6), (2, 3)])
        let running = Task {
            try await onOwnThread {
                defer { gate.campaignEnded() }
                return try campaign.run(onProgress: gate.check)
            }
        }
        var acknowledgedWhileRunning: Int64 = 0
        var failuresWhileDown = 0
        var failureWhileDown: UplinkError?
        var restarted = false
        for await stop in gate.milestones {
            switch stop {
            case 0:
                // Records arrive while the campaign runs.
                #expect(await eventually { uplink.acknowledgedThrough > 0 }, "nothing pushed while the campaign ran")
                acknowledgedWhileRunning = uplink.acknowledgedThrough
                store.loseAnswers(2)
            case 1:
                // Both lost answers happened and the batch went again until acknowledged.
                let caughtUp = await eventually {
                    store.counts.lostAnswers == 2 && uplink.lastError == nil
                        && uplink.acknowledgedThrough >= campaign.journal.durableSequence
                }
                #expect(caughtUp, "lost answers \(store.counts.lostAnswers), last error \(String(describing: uplink.lastError))")
                await server.stop()
            default:
                // The uplink retries against the dead link (connection refused).
                #expect(await eventually { uplink.consecutiveFailures >= 3 }, "no retries while the server was down")
                failuresWhileDown = uplink.consecutiveFailures
                failureWhileDown = uplink.lastError
                do {
                    try await server.start(port: port)
                    restarted = true
                } catch {
                    Issue.record(error)
                }
            }
            gate.release()
        }
        let result = try await running.value
        try campaign.journal.flush()
        let durable = campaign.journal.durableSequence
        // Wait for the uplink to drain.
        let drained = await eventually { uplink.acknowledgedThrough == durable && uplink.lastError == nil }
        uplink.stop()
        await server.stop()
        #expect(drained, "acknowledged \(uplink.acknowledgedThrough) of \(durable): \(String(describing: uplink.lastError))")
        #expect(restarted)
        #expect(failuresWhileDown >= 3)
        if case .transport = failureWhileDown {} else { Issue.record("the failure while down was \(String(describing: failureWhileDown))") }

        // The campaign itself: both experiments completed with every aliquot.
        #expect(result.shutdownProblems.isEmpty, "\(result.shutdownProblems)")
        #expect(result.experiments.map(\.number) == [1, 2])
        #expect(result.experiments.allSatisfy { $0.completed && $0.aliquots == result.scheduledAliquots })
        #expect(result.scheduledAliquots == campaign.sampleTimes.count)

        // Exactly once: the server's (device, journal, sequence) set is the journal's, no
        // duplicates, payloads equal.
        let journaled = try campaign.journalRecords()
        #expect(journaled.map(\.sequence) == Array(1...durable))
        let arrived = try await store.records(RecordQuery(deviceID: device, limit: 1_000_000))
        #expect(arrived.count == journaled.count)
        let duplicates = arrived.count - Set(arrived.map { "\($0.deviceID)/\($0.journalID)/\($0.sequence)" }).count
        #expect(duplicates == 0)
        #expect(Set(arrived.map(\.journalID)) == [campaign.journal.journalID])
        #expect(Set(arrived.map(\.sequence)) == Set(journaled.map(\.sequence)))
        #expect(try await store.recordCount() == Int64(journaled.count))
        let bySequence = Dictionary(arrived.map { ($0.sequence, $0) }, uniquingKeysWith: { first, _ in first })
        var differing: [Int64] = []
        for original in journaled {
            guard let copy = bySequence[original.sequence],
                copy.kind == original.record.kind, copy.timeNanoseconds == original.record.timeNanoseconds,
                copy.experiment == original.record.experiment,
                try JSONValue.parse(copy.payload) == JSONValue.parse(original.record.payload)
            else {
                differing.append(original.sequence)
                continue
            }
        }
        #expect(differing.isEmpty, "records differ or are missing: \(differing.prefix(20))")
        // What travelled: each record stored once; the lost answers' records came again.
        let counts = store.counts
        #expect(counts.newRecords == journaled.count)
        #expect(counts.lostAnswers == 2)
        #expect(counts.repeatedRecords > 0)
        #expect(acknowledgedWhileRunning > 0 && acknowledgedWhileRunning < durable)

        try await checkDashboard(store: store, device: device, result: result, journaled: journaled)
        let seconds = (ContinuousClock.now - started) / .seconds(1)
        print(
            "end-to-end (\(kind.rawValue)): \(journaled.count) records (\(journaled.filter { $0.record.kind == .spectrum }.count) spectra) "
                + "in \(counts.batches) batches, \(arrived.count) stored, \(duplicates) duplicates; \(counts.repeatedRecords) records sent again after "
                + "\(counts.lostAnswers) lost answers; \(failuresWhileDown) failed pushes while the server was down; "
                + "\(acknowledgedWhileRunning) acknowledged by experiment 1 aliquot 3; "
                + "\(String(format: "%.1f", seconds)) s wall")
        await store.shutdown()
    }

    /// The dashboard over HTTP: the overview's device, campaign and experiment rows, each
    /// experiment's aliquot rows with the journal's fitted peaks, the CSV download.
    func checkDashboard(store: any LabStore, device: String, result: TwinCampaignResult, journaled: [StoredRecord]) async throws {
        var logger = Logger(label: "e2e-dashboard")
        logger.logLevel = .critical
        let app = LabServer.application(store: store, configuration: LabServerConfiguration(port: 0), logger: logger)
        let samples = try journaled.filter { $0.record.kind == .sample }.map { ($0.record.experiment, try JSONValue.parse($0.record.payload)) }
        let campaign = result.name
        try await app.test(.live) { client in
            let overview = try await fetch(client, "/")
            #expect(overview.status == 200)
            let deviceRow = "<tr class=\"device\"><td>\(device)</td>"
            #expect(overview.body.contains(deviceRow))
            #expect(overview.body.contains("<td>\(campaign)</td><td>2 / 2</td><td>none</td><td>\(journaled.count)</td></tr>"))
            #expect(overview.body.contains("<tr><td>\(device)</td><td>\(campaign)</td><td>2</td><td>\(samples.count)</td>"))
            #expect(overview.body.components(separatedBy: "<tr class=\"experiment\">").count - 1 == result.experiments.count)
            for experiment in result.experiments {
                let link = "campaign=\(campaign)&amp;experiment=\(experiment.number)\">\(experiment.number)</a></td><td>\(experiment.aliquots)</td>"
                #expect(overview.body.contains(link), "overview lacks experiment \(experiment.number)")

                let page = try await fetch(client, "/experiment?device=\(device)&campaign=\(campaign)&experiment=\(experiment.number)")
                #expect(page.status == 200)
                for id in ["uv-spectra", "pl-spectra", "peak-vs-time", "fwhm-vs-time", "aliquots", "safety-events"] {
                    #expect(page.body.contains("id=\"\(id)\""), "experiment \(experiment.number) lacks #\(id)")
                }
                // One processed spectrum per aliquot in each spectra plot (not the raw counts too).
                for (plot, next) in [("uv-spectra", "pl-spectra"), ("pl-spectra", "peak-vs-time")] {
                    let start = try #require(page.body.range(of: "<svg id=\"\(plot)\""))
                    let end = try #require(page.body.range(of: "<svg id=\"\(next)\"", range: start.upperBound..<page.body.endIndex))
                    let lines = page.body[start.upperBound..<end.lowerBound].components(separatedBy: "<polyline class=\"series\"").count - 1
                    #expect(lines == experiment.aliquots, "\(plot) of experiment \(experiment.number) has \(lines) spectra")
                }
                // The aliquot table, after the plots (a page of spectra is hundreds of kilobytes).
                let table = try #require(page.body.range(of: "<table id=\"aliquots\">")).lowerBound
                let aliquots = String(page.body[table...])
                #expect(aliquots.components(separatedBy: "<tr class=\"aliquot\">").count - 1 == experiment.aliquots)
                let ofExperiment = samples.filter { $0.0 == experiment.number }.map(\.1)
                #expect(ofExperiment.count == experiment.aliquots)
                for sample in ofExperiment {
                    let aliquot = try #require(sample["aliquot"]?.int64Value)
                    let row = "<tr class=\"aliquot\"><td>\(aliquot)</td><td>\(HTML.number(sample["t_s"]?.doubleValue))</td>"
                        + "<td>\(HTML.number(sample["uv"]?["peak_nm"]?.doubleValue))</td>"
                    #expect(aliquots.contains(row), "experiment \(experiment.number) lacks \(row)")
                }
            }
            // The published schema's UV rows: one per sample with a fitted absorbance peak.
            let csv = try await fetch(client, "/download?device=\(device)&campaign=\(campaign)&channel=uv")
            #expect(csv.status == 200)
            let lines = csv.body.split(separator: "\n")
            #expect(lines.first.map(String.init) == Dashboard.uvHeader)
            #expect(lines.count - 1 == samples.filter { $0.1["uv"]?["peak_nm"] != nil }.count)
            #expect(samples.count == result.experiments.reduce(0) { $0 + $1.aliquots })
        }
    }
}

/// Pauses the campaign thread at chosen (experiment position, aliquots taken) points until
/// the test releases it: `milestones` yields each point's index as the campaign reaches it,
/// and finishes when the campaign ends.
final class CampaignGate: @unchecked Sendable {
    let stops: [(position: Int, aliquots: Int)]
    let milestones: AsyncStream<Int>
    private let reached: AsyncStream<Int>.Continuation
    private let resume = DispatchSemaphore(value: 0)
    /// Only touched by the campaign thread.
    private var next = 0

    init(stops: [(position: Int, aliquots: Int)]) {
        self.stops = stops
        (milestones, reached) = AsyncStream.makeStream(of: Int.self)
    }

    /// On the campaign thread, at each progress report.
    func check(position: Int, aliquots: Int) {
        guard next < stops.count else { return }
        let stop = stops[next]
        guard position > stop.position || (position == stop.position && aliquots >= stop.aliquots) else { return }
        reached.yield(next)
        next += 1
        resume.wait()
    }

    func release() { resume.signal() }

    func campaignEnded() { reached.finish() }
}
