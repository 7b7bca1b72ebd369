import Foundation
import Testing

@testable import Journal

/// The child side of the crash test, run in a process of its own (an exit test: Swift Testing
/// spawns this test binary again and runs only this body). It opens the journal (recovering
/// what the previous child left), writes records and campaign-state changes as fast as it can,
/// and reports every acknowledgement on standard output (`ack <sequence> <id>`, one write(2)
/// per line, so a line is whole or absent). A thread SIGKILLs the process after a random delay:
/// anywhere in a batch, in COMMIT, between the commit and the report.
func crashChild(path: String, seed: UInt64, run: Int) throws {
    var random = SeededGenerator(seed: seed)
    let killAfterMicroseconds = useconds_t(1_000 + random.next() % 40_000)
    let journal = try Journal(configuration: JournalConfiguration(path: path, maxBytes: 256 << 20))
    Thread.detachNewThread {
        usleep(killAfterMicroseconds)
        kill(getpid(), SIGKILL)
    }
    var n = 0
    while true {
        if n % 25 == 0 {
            // The experiment in progress changes; the marker record after it is acknowledged
            // only once the state before it is durable too.
            let experiment = run * 1000 + n / 25 + 1
            try journal.submit(campaignState: CampaignState(
                campaign: "crash", experiment: experiment, phase: .running, detail: "run \(run)", updatedNanoseconds: Int64(n)))
            try journal.submit(testRecord("state-\(experiment)", n: n)) { sequence in
                let line = "state \(sequence) \(experiment)\n"
                _ = line.withCString { write(1, $0, strlen($0)) }
            }
        }
        let id = "c\(run)-\(n)"
        do {
            try journal.submit(testRecord(id, n: n, padding: Int(random.next() % 300))) { sequence in
                let line = "ack \(sequence) \(id)\n"
                _ = line.withCString { write(1, $0, strlen($0)) }
            }
            n += 1
        } catch JournalError.backlogFull {
            usleep(100)
        }
        if n % 64 == 0 { usleep(UInt32(random.next() % 500)) }
    }
}

@Suite struct CrashConsistencyTests {
    /// 10 journals x 10 SIGKILLs each = 100 kills at random points. After each kill: every
    /// acknowledged record is in the journal with the sequence it was acknowledged with, no
    /// record is there twice, sequences run 1...n without a gap, and the campaign state names
    /// an experiment at least as late as the last one acknowledged as started.
    @Test(arguments: 0..<10)
    func killedWritersLoseNoAcknowledgedRecord(journalIndex: Int) async throws {
        let directory = TemporaryDirectory()
        let path = directory.file("crash.sqlite")
        var acknowledged: [String: Int64] = [:]
        var totalAcks = 0
        for run in 0..<10 {
            let seed = UInt64(journalIndex * 100 + run + 1)
            let result = await #expect(processExitsWith: .signal(SIGKILL), observing: [\.standardOutputContent]) {
                [path = path as String, seed = seed as UInt64, run = run as Int] in
                try crashChild(path: path, seed: seed, run: run)
            }
            let output = String(decoding: result?.standardOutputContent ?? [], as: UTF8.self)
            var lastStartedExperiment: Int?
            for line in output.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count == 3, let sequence = Int64(fields[1]) else { continue }
                if fields[0] == "ack" {
                    let id = String(fields[2])
                    #expect(acknowledged[id] == nil, "\(id) acknowledged twice")
                    acknowledged[id] = sequence
                    totalAcks += 1
                } else if fields[0] == "state" {
                    lastStartedExperiment = Int(fields[2])
                }
            }

            // What a restart finds (read-only, as `aliquot status` would).
            let database = try SQLiteDatabase(path: path, readOnly: true)
            let select = try database.prepare("SELECT sequence, payload FROM records ORDER BY sequence")
            var sequences: [Int64] = []
            var storedIDs: [String: Int64] = [:]
            while try select.step() {
                let sequence = select.int64(0)
                sequences.append(sequence)
                let id = try #require(payloadID(select.text(1) ?? ""))
                #expect(storedIDs[id] == nil, "\(id) stored twice")
                storedIDs[id] = sequence
            }
            #expect(sequences == Array(stride(from: 1, through: Int64(sequences.count), by: 1)))
            for (id, sequence) in acknowledged {
                #expect(storedIDs[id] == sequence, "acknowledged \(id) at \(sequence) is missing after kill \(run)")
            }
            let state = try Journal.readCampaignState(database)
            if let lastStartedExperiment {
                #expect((state?.interruptedExperiment ?? 0) >= lastStartedExperiment)
            }
        }
        // The kills landed while records were flowing.
        #expect(totalAcks > 0)
    }
}
