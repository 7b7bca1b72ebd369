import Journal
import Logging
import Synchronization

/// The lab server's benchmark (`aliquot-lab bench`): ingest throughput over HTTP on 127.0.0.1
/// from simulated boards, and the experiment page's render time.
public enum LabBench {
    public struct IngestResult: Sendable {
        public var records: Int
        public var seconds: Double
        public var recordsPerSecond: Double { Double(records) / seconds }
    }

    /// A board's batch: `count` records from `first`, a mix like a campaign's (samples, spectra of
    /// 256 points every fifth, events, logs).
    public static func batch(device: String, journal: String, first: Int64, count: Int, experiment: Int) -> [UInt8] {
        let records = (0..<count).map { offset -> StoredRecord in
            let sequence = first + Int64(offset)
            let payload: String
            let kind: RecordKind
            switch sequence % 5 {
            case 0:
                kind = .sample
                payload = "{\"campaign\":\"bench\",\"aliquot\":\(sequence % 20 + 1),\"t_s\":\(Double(sequence % 20) * 10 + 10),\"uv\":{\"peak_nm\":510.5,\"fwhm_nm\":28.1,\"height\":0.12},\"pl\":{\"peak_nm\":530.2,\"fwhm_nm\":25.3,\"height\":700.0},\"prediction\":{\"peak_nm\":511.0,\"fwhm_nm\":28.0}}"
            case 1:
                kind = .event
                payload = "{\"type\":\"setpoint\",\"message\":\"T_reactor 240\",\"severity\":\"info\"}"
            case 2:
                kind = .log
                payload = "{\"level\":\"info\",\"message\":\"step \(sequence) done\",\"label\":\"rig\"}"
            default:
                kind = .log
                payload = "{\"level\":\"debug\",\"message\":\"pump 2 at 120 uL/min\",\"label\":\"pumps\"}"
            }
            return StoredRecord(
                sequence: sequence,
                record: JournalRecord(kind: kind, timeNanoseconds: 1_763_750_000_000_000_000 + sequence * 1_000_000, experiment: experiment, payload: payload))
        }
        return UplinkBatch(deviceID: device, journalID: journal, records: records).encoded()
    }

    /// Pushes `batchesPerBoard` batches of `recordsPerBatch` from each of `boards` boards (one
    /// connection and one thread each) to a server on `port`, after adding the boards as devices.
    public static func ingest(
        store: any LabStore, port: Int, boards: Int, batchesPerBoard: Int, recordsPerBatch: Int
    ) async throws -> IngestResult {
        var tokens: [String] = []
        for board in 0..<boards {
            let token = DeviceToken.generate()
            try await store.addDevice(id: "bench-\(board)-\(token.prefix(8))", tokenHash: DeviceToken.hash(token), createdNanoseconds: realtimeNanoseconds())
            tokens.append(token)
        }
        let tokenList = tokens
        // Bodies made before the clock starts: the bench measures the server, not the encoder.
        let bodies: [[[UInt8]]] = (0..<boards).map { board in
            let device = "bench-\(board)-\(tokenList[board].prefix(8))"
            let journal = String(tokenList[board].prefix(32))
            return (0..<batchesPerBoard).map { index in
                batch(device: device, journal: journal, first: Int64(index * recordsPerBatch + 1), count: recordsPerBatch, experiment: index / 10 + 1)
            }
        }
        let failures = Mutex<[String]>([])
        let start = ContinuousClock.now
        let allBodies = bodies
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let runner = BenchRunner(continuation: continuation)
            runner.start {
                BenchThreads.run(count: boards) { board in
                    do {
                        let client = try BenchClient(port: port)
                        for body in allBodies[board] {
                            let answer = try client.post(path: "/api/v1/batches", token: tokenList[board], body: body)
                            if answer.status != 200 { failures.withLock { $0.append("HTTP \(answer.status): \(answer.body)") } }
                        }
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                }
            }
        }
        let elapsed = LabBench.seconds(since: start)
        if let first = failures.withLock({ $0.first }) { throw BenchError("ingest failed: \(first)") }
        return IngestResult(records: boards * batchesPerBoard * recordsPerBatch, seconds: elapsed)
    }

    /// Fills `store` with one experiment of `aliquots` aliquots (samples and 2 spectra of
    /// `points` points each) and returns the median render time of its page over `repeats`.
    public static func experimentPageSeconds(store: any LabStore, aliquots: Int, points: Int, repeats: Int) async throws -> Double {
        let device = "page-bench"
        try await store.addDevice(id: device, tokenHash: DeviceToken.hash(DeviceToken.generate()), createdNanoseconds: 0)
        var records: [IncomingRecord] = []
        for aliquot in 1...aliquots {
            let time = Double(aliquot) * 10
            let peak = 480 + 40 * (1 - 1 / (1 + time / 60))
            let sample = "{\"campaign\":\"page\",\"aliquot\":\(aliquot),\"t_s\":\(time),\"uv\":{\"peak_nm\":\(peak),\"fwhm_nm\":30,\"height\":0.1},\"pl\":{\"peak_nm\":\(peak + 20),\"fwhm_nm\":26,\"height\":600},\"prediction\":{\"peak_nm\":\(peak + 1),\"fwhm_nm\":29}}"
            records.append(IncomingRecord(sequence: Int64(records.count + 1), timeNanoseconds: Int64(time * 1e9), kind: .sample, experiment: 1, payload: sample, campaign: "page"))
            for channel in ["uv", "pl"] {
                let wavelengths = (0..<points).map { 400 + Double($0) * 300 / Double(points) }
                let values = wavelengths.map { w in (1 / (1 + ((w - peak) / 15) * ((w - peak) / 15))) }
                let spectrum = "{\"campaign\":\"page\",\"aliquot\":\(aliquot),\"t_s\":\(time),\"channel\":\"\(channel)\",\"processed\":true,\"wavelength_nm\":[\(wavelengths.map { "\($0)" }.joined(separator: ","))],\"values\":[\(values.map { "\($0)" }.joined(separator: ","))]}"
                records.append(IncomingRecord(sequence: Int64(records.count + 1), timeNanoseconds: Int64(time * 1e9), kind: .spectrum, experiment: 1, payload: spectrum, campaign: "page"))
            }
        }
        _ = try await store.store(IncomingBatch(deviceID: device, journalID: String(repeating: "a", count: 32), records: records), receivedNanoseconds: 0)
        let dashboard = Dashboard(store: store)
        var times: [Double] = []
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            let page = try await dashboard.experimentPage(device: device, campaign: "page", experiment: 1)
            precondition(page.contains("peak-vs-time"), "the experiment page lost its plots")
            times.append(seconds(since: start))
        }
        return times.sorted()[times.count / 2]
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = (ContinuousClock.now - start).components
        return Double(elapsed.seconds) + Double(elapsed.attoseconds) / 1e18
    }
}

/// Starts the blocking client threads from a detached pthread so the awaiting task only resumes.
final class BenchRunner: @unchecked Sendable {
    let continuation: CheckedContinuation<Void, Never>
    init(continuation: CheckedContinuation<Void, Never>) { self.continuation = continuation }

    func start(_ work: @escaping @Sendable () -> Void) {
        let continuation = self.continuation
        BenchThreads.detach {
            work()
            continuation.resume()
        }
    }
}
