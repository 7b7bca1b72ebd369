import Campaign
import Config
import Foundation
import Journal
import Rig
import Transports

/// The package root, three folders above this file (Tests/LabServerTests/TwinCampaignSupport.swift).
let labPackageRoot: String = {
    var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// What the board side's campaign did, for the checks against the server.
struct TwinCampaignResult: Sendable {
    var name: String
    /// Per experiment, in order: its number, whether it completed, and how many aliquots it measured.
    var experiments: [(number: Int, completed: Bool, aliquots: Int)]
    /// The schedule's aliquots per experiment.
    var scheduledAliquots: Int
    /// Rig-clock (virtual) seconds the campaign took.
    var virtualSeconds: Double
    /// What could not be shut down cleanly (empty when all went well).
    var shutdownProblems: [String]
}

/// A short twin campaign on the board side, wired the way `aliquot run` wires it
/// (Sources/aliquot/RunCommand.swift): the shipped twin board (Boards/sim.toml), the campaign
/// file's plan, `RigCampaignHardware` with the committed tuned gains (Tests/Fixtures/sim.tuned.toml),
/// a `ResultsFolder` and a `JournalRecorder` behind one `RecorderFanOut`, and the journal in the
/// campaign's folder. The caller starts an `Uplink` on `journal` to push while it runs.
///
/// Two experiments of the published grid with a shorter schedule than the published 20
/// aliquots (`sampleTimes`, over the same 600 s): a few seconds of wall time in a debug build
/// (the twin's time is virtual).
final class BoardSideTwinCampaign: @unchecked Sendable {
    let name: String
    let board: BoardFile
    let folder: String
    let journal: Journal

    static let gridPoints: [(name: String, celsius: Double, cadmium: Double, selenium: Double, ratio: Double)] = [
        ("grid-240C-Cd10-Se10-OA10", 240, 10, 10, 10),
        ("grid-270C-Cd20-Se20-OA20", 270, 20, 20, 20),
    ]

    /// Aliquot times after injection, s (`[schedule] sample_times_s`).
    let sampleTimes: [Int]

    init(name: String, sampleTimes: [Int] = [15, 30, 60, 120, 180, 300, 450, 600]) throws {
        self.name = name
        self.sampleTimes = sampleTimes
        board = try BoardFile.load(path: labPackageRoot + "/Boards/sim.toml")
        folder = NSTemporaryDirectory() + "aliquot-lab-twin-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // As RunCommand on the twin: the journal in the results folder, the board's budget,
        // synchronous=NORMAL (a crash loses nothing committed).
        journal = try Journal(
            configuration: JournalConfiguration(
                path: folder + "/journal.sqlite", maxBytes: Int64(board.journal.maxMB) << 20, synchronous: .normal))
    }

    deinit {
        do { try journal.close() } catch { print("journal close: \(error)") }
        try? FileManager.default.removeItem(atPath: folder)
    }

    var campaignText: String {
        var text = """
            [campaign]
            name = "\(name)"

            [stocks]
            injection_diluent = "ODE"

            [prediction]
            anomaly = "log"

            [schedule]
            sample_times_s = [\(sampleTimes.map(String.init).joined(separator: ", "))]

            """
        for point in Self.gridPoints {
            text += """
                [[experiment]]
                name = "\(point.name)"
                temperature_c = \(point.celsius)
                cd_mm = \(point.cadmium)
                se_mm = \(point.selenium)
                oa_cd = \(point.ratio)

                """
        }
        return text
    }

    /// Runs the campaign on the calling thread (a blocking call: not on the cooperative pool).
    /// `onProgress(experimentPosition, aliquotsTaken)` sees every progress report and may block:
    /// the twin's time stands still meanwhile.
    func run(onProgress: @escaping (Int, Int) -> Void = { _, _ in }) throws -> TwinCampaignResult {
        let file = try CampaignFile.parse(text: campaignText, path: "\(name).toml")
        // RunCommand.pumpResolutionMicrolitres.
        let plan = try file.plan(pumpResolutionMicrolitres: 0.1)
        let twin = try TwinTransportFactory(board: board)
        let rig = try Rig(board: board, transports: twin)
        let tunedPath = labPackageRoot + "/Tests/Fixtures/sim.tuned.toml"
        let tuned = try TunedState.loadIfPresent(path: tunedPath)
        let hardware: RigCampaignHardware
        do {
            hardware = try RigCampaignHardware(rig: rig, loops: try rig.makeHeatLoops(tuned: tuned, tunedPath: tunedPath))
        } catch {
            _ = rig.shutDown()
            throw error
        }
        var finished = false
        func finish() -> [String] {
            finished = true
            return hardware.finish() + rig.shutDown().map(\.description)
        }
        defer { if !finished { _ = finish() } }
        twin.reactor.setStocks(
            cadmiumMillimolar: file.stocks.cadmiumMillimolar, seleniumMillimolar: file.stocks.seleniumMillimolar,
            oleicAcidMolar: file.stocks.oleicAcidMolar)
        try journal.setCampaignState(
            CampaignState(campaign: file.name, experiment: nil, phase: .idle, detail: "opening", updatedNanoseconds: realtimeNanoseconds()))
        let results = try ResultsFolder(
            path: folder + "/results", options: ResultsFolder.Options(writeSpectra: false, writePlots: false, durable: false))
        let experiments = plan.entries.map { entry in
            RunnableExperiment(
                entry, schedule: file.schedule, prediction: file.prediction,
                rig: hardware.sequencerSettings(celsius: entry.experiment.condition.temperatureCelsius))
        }
        let runner = CampaignRunner(
            hardware: hardware, recorder: RecorderFanOut([results, JournalRecorder(journal: journal)]),
            settings: CampaignRunSettings(prediction: file.prediction), predictor: nil, wallClock: TestWallClock(),
            onProgress: { progress in onProgress(progress.position, progress.aliquotsTaken) })
        let summary = try runner.run(name: file.name, experiments: experiments)
        let problems = finish()
        return TwinCampaignResult(
            name: file.name,
            experiments: summary.entries.map { entry in
                let completed = if case .completed = entry.outcome { true } else { false }
                return (entry.experiment.number, completed, entry.aliquots)
            },
            scheduledAliquots: file.schedule.sampleTimesSeconds.count, virtualSeconds: summary.virtualSeconds,
            shutdownProblems: problems)
    }

    /// Every record of the journal, in sequence order.
    func journalRecords() throws -> [StoredRecord] {
        var all: [StoredRecord] = []
        while true {
            let page = try journal.records(after: all.last?.sequence ?? 0, limit: 1000)
            if page.isEmpty { return all }
            all += page
        }
    }
}

/// The campaign's wall clock (only read, for the summary's wall seconds): CLOCK_MONOTONIC.
final class TestWallClock: RigClock {
    func now() -> MonotonicInstant {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return MonotonicInstant(nanoseconds: Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec))
    }

    func sleep(until deadline: MonotonicInstant) throws(ClockError) {
        let left = deadline.nanoseconds - now().nanoseconds
        if left > 0 { usleep(UInt32(min(left / 1000, Int64(UInt32.max)))) }
    }
}

/// Runs a blocking body on its own thread and awaits its result (the cooperative pool, which
/// runs the server's handlers, is never blocked).
func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
        }
        thread.stackSize = 8 << 20
        thread.start()
    }
}
