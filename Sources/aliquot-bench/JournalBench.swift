// `make bench`: the journal's durable throughput and the time from measurement to durable, with
// synchronous=FULL (what the rig uses) and NORMAL (for comparison). Numbers are printed, never
// asserted.
#if canImport(Glibc)
import Glibc
#endif
import Journal
import Synchronization

/// Records per row; `ALIQUOT_JOURNAL_BENCH_RECORDS` overrides it.
private let journalBenchDefaultRecords = 20_000

/// Nanoseconds from `submit` to the record's `onDurable` callback, by sequence.
private final class DurableLatencies: @unchecked Sendable {
    let submitted: UnsafeMutablePointer<Int64>
    let durable: UnsafeMutablePointer<Int64>
    let count: Int

    init(count: Int) {
        self.count = count
        submitted = .allocate(capacity: count + 1)
        durable = .allocate(capacity: count + 1)
        submitted.initialize(repeating: 0, count: count + 1)
        durable.initialize(repeating: 0, count: count + 1)
    }

    deinit {
        submitted.deallocate()
        durable.deallocate()
    }

    func latencies() -> [Int64] { (1...count).map { durable[$0] - submitted[$0] } }
}

/// A journal in a fresh directory under the working directory (on the real disk: /tmp may be
/// tmpfs, where fsync costs nothing).
private func benchJournalDirectory() -> String? {
    var template = Array("./.bench-journal-XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { return nil }
    return String(cString: made)
}

private func removeBenchDirectory(_ directory: String) {
    for suffix in ["", "-wal", "-shm"] { unlink(directory + "/journal.sqlite" + suffix) }
    rmdir(directory)
}

/// A sample-sized payload (~300 bytes, a fitted aliquot).
private func benchPayload(_ n: Int) -> String {
    "{\"aliquot\":\(n % 20 + 1),\"abs\":{\"peak_nm\":521.37,\"peak_ev\":2.37799,\"fwhm_nm\":31.2,\"fwhm_ev\":0.1421,"
        + "\"height\":0.2511,\"status\":\"fitted\"},\"pl\":{\"peak_nm\":545.12,\"peak_ev\":2.27444,\"fwhm_nm\":32.9,"
        + "\"fwhm_ev\":0.1371,\"height\":20133.0,\"status\":\"fitted\"},\"reactor_c\":240.12,\"valve_ms\":180.2}"
}

private struct JournalBenchRow {
    var mode: String
    var recordsPerSecond: Double
    var p50Microseconds: Double
    var p99Microseconds: Double
    var maxMicroseconds: Double
    var pacedP99Microseconds: Double
}

/// Unpaced: submit `count` records as fast as possible, time until all are durable
/// (throughput) and each record's submit-to-durable time. Paced: one record per millisecond
/// (a busy rig) for 2000 records, p99 of submit-to-durable.
private func measureJournal(mode: SQLiteSynchronous, count: Int) throws -> JournalBenchRow {
    guard let directory = benchJournalDirectory() else {
        throw JournalError.file(path: "./.bench-journal-XXXXXX", operation: "create a directory", errno: errno)
    }
    defer { removeBenchDirectory(directory) }
    let journal = try Journal(configuration: JournalConfiguration(
        path: directory + "/journal.sqlite", maxBytes: 1 << 30, handoffCapacity: count + 10, synchronous: mode))
    let timings = DurableLatencies(count: count)
    let start = nanosecondsNow()
    for n in 1...count {
        let record = JournalRecord(kind: .sample, timeNanoseconds: realtimeNanoseconds(), experiment: 1, payload: benchPayload(n))
        timings.submitted[n] = nanosecondsNow()
        try journal.submit(record) { sequence in timings.durable[Int(sequence)] = nanosecondsNow() }
    }
    try journal.flush()
    let elapsed = Double(nanosecondsNow() - start) / 1e9
    let sorted = timings.latencies().sorted()
    func percentile(_ values: [Int64], _ p: Double) -> Double {
        Double(values[min(values.count - 1, Int(Double(values.count) * p))]) / 1000
    }

    let paced = 2_000
    let pacedTimings = DurableLatencies(count: paced)
    let offset = journal.durableSequence
    var deadline = nanosecondsNow()
    for n in 1...paced {
        deadline += 1_000_000
        var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &time, nil)
        let record = JournalRecord(kind: .sample, timeNanoseconds: realtimeNanoseconds(), experiment: 1, payload: benchPayload(n))
        pacedTimings.submitted[n] = nanosecondsNow()
        try journal.submit(record) { sequence in pacedTimings.durable[Int(sequence - offset)] = nanosecondsNow() }
    }
    try journal.flush()
    try journal.close()
    let pacedSorted = pacedTimings.latencies().sorted()
    return JournalBenchRow(
        mode: mode.rawValue, recordsPerSecond: Double(count) / elapsed, p50Microseconds: percentile(sorted, 0.5),
        p99Microseconds: percentile(sorted, 0.99), maxMicroseconds: Double(sorted.last ?? 0) / 1000,
        pacedP99Microseconds: percentile(pacedSorted, 0.99))
}

/// Prints durable records per second and the p99 time from measurement (submit) to durable
/// (COMMIT returned, `onDurable` called), for synchronous=FULL and NORMAL, on the disk under the
/// working directory.
func runJournalBenchmarks() {
    var count = journalBenchDefaultRecords
    if let text = getenv("ALIQUOT_JOURNAL_BENCH_RECORDS"), let value = Int(String(cString: text)), value >= 100 {
        count = value
    }
    print("")
    print("journal: \(count) sample records (~330 B) submitted at once, then 2000 at 1 kHz; SQLite WAL on ./")
    print(pad("synchronous", 14, left: true) + pad("records/s", 12) + pad("p50 us", 10) + pad("p99 us", 10)
        + pad("max us", 10) + pad("1 kHz p99 us", 14))
    for mode in [SQLiteSynchronous.full, .normal] {
        do {
            let row = try measureJournal(mode: mode, count: count)
            print(pad(row.mode, 14, left: true) + pad(format(row.recordsPerSecond), 12) + pad(format(row.p50Microseconds), 10)
                + pad(format(row.p99Microseconds), 10) + pad(format(row.maxMicroseconds), 10)
                + pad(format(row.pacedP99Microseconds), 14))
        } catch {
            print("journal bench (\(mode.rawValue)) failed: \(error)")
        }
    }
    print("(submit-to-durable: from the non-blocking submit to the writer's callback after COMMIT; "
        + "the unpaced p50/p99 include queueing behind earlier records)")
}
