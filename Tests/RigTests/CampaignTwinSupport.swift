import Campaign
import Config
import Foundation
import LinuxIO
import Rig
import Transports
import Twin
@testable import aliquot

/// A campaign run the way `aliquot run` runs it, on the shipped twin board: the campaign file's
/// plan, the sequencer settings `RunCommand` derives from the board, `RigCampaignHardware` with the
/// committed tuned gains, a `ResultsFolder` in a fresh temporary folder (not durable: the twin), and
/// the twin's factory at hand for fault injection and the safe-state checks.
final class TwinCampaign {
    let board: BoardFile
    let rig: Rig
    let twin: TwinTransportFactory
    let hardware: RigCampaignHardware
    let file: CampaignFile
    let experiments: [RunnableExperiment]
    let folder: String
    let results: ResultsFolder
    /// Called when an experiment's end is recorded: after its last action (for a failed one, the
    /// safe state) and before anything else moves.
    var onExperimentEnded: (PlannedExperiment, ExperimentOutcome) -> Void = { _, _ in }
    private var finished = false

    init(campaignText: String, board: BoardFile? = nil) throws {
        let board = try board ?? simBoard()
        self.board = board
        file = try CampaignFile.parse(text: campaignText, path: "twin-campaign.toml")
        let plan = try file.plan(pumpResolutionMicrolitres: RunCommand.pumpResolutionMicrolitres)
        (rig, twin) = try twinRig(board)
        let tuned = try TunedState.loadIfPresent(path: packageRoot + "/Tests/Fixtures/sim.tuned.toml")
        let loops = try rig.makeHeatLoops(tuned: tuned, tunedPath: packageRoot + "/Tests/Fixtures/sim.tuned.toml")
        hardware = try RigCampaignHardware(rig: rig, loops: loops)
        twin.reactor.setStocks(
            cadmiumMillimolar: file.stocks.cadmiumMillimolar, seleniumMillimolar: file.stocks.seleniumMillimolar,
            oleicAcidMolar: file.stocks.oleicAcidMolar)
        let (rig, hardware, file) = (rig, hardware, file)
        experiments = plan.entries.map { entry in
            RunnableExperiment(
                entry, schedule: file.schedule, prediction: file.prediction,
                rig: hardware.sequencerSettings(celsius: entry.experiment.condition.temperatureCelsius))
        }
        folder = NSTemporaryDirectory() + "aliquot-campaign-twin-\(UUID().uuidString)"
        results = try ResultsFolder(
            path: folder, options: ResultsFolder.Options(writeSpectra: false, writePlots: false, durable: false))
    }

    deinit {
        if !finished { _ = finish() }
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Runs the whole campaign; `onProgress` sees every progress report (where faults are injected).
    func run(onProgress: @escaping (CampaignProgress) -> Void = { _ in }) throws -> CampaignSummary {
        let runner = CampaignRunner(
            hardware: hardware, recorder: EndObservingRecorder(inner: results) { [unowned self] in onExperimentEnded($0, $1) },
            settings: CampaignRunSettings(prediction: file.prediction),
            predictor: nil, wallClock: MonotonicClock(), onProgress: onProgress)
        return try runner.run(name: file.name, experiments: experiments)
    }

    /// The loop's threads stopped and the rig shut down; what could not be done.
    func finish() -> [String] {
        finished = true
        return hardware.finish() + rig.shutDown().map(\.description)
    }

    /// Everything on the twin that is not in the safe state now: an output line driven to its
    /// active level (heater or valve), a pump plunger moving, a head-space pressure set or (when
    /// time has passed since the vent, `ventedAlready`) left in the head space.
    func safeStateViolations(ventedAlready: Bool = true) -> [String] {
        var violations: [String] = []
        for output in board.outputs {
            guard let line = twin.lines[output.id] else {
                violations.append("\(output.id): no twin line")
                continue
            }
            if !line.isReleased && line.isHigh == output.line.activeHigh { violations.append("\(output.id) is on") }
        }
        for (name, pump) in twin.reactor.harvardPumps {
            pump.update()
            for (axis, state) in pump.axes.enumerated() where state.plunger.motion != .stopped {
                violations.append("pump \(name) axis \(axis) is \(state.plunger.motion)")
            }
        }
        for (name, pump) in twin.reactor.chemyxPumps {
            pump.update()
            if pump.plunger.motion != .stopped { violations.append("pump \(name) is \(pump.plunger.motion)") }
        }
        let pressure = twin.reactor.pressure
        if pressure.setpointMbar != 0 { violations.append("pressure set to \(pressure.setpointMbar) mbar") }
        let headSpace = pressure.pressure(at: twin.virtualClock.now())
        if ventedAlready && headSpace > 5 { violations.append("head space still at \(headSpace) mbar") }
        return violations
    }

    /// A results file's data rows, split on commas (the campaign's files quote nothing that the
    /// tests read before the last column).
    func rows(_ file: String) throws -> [[String]] {
        let text = try String(contentsOfFile: folder + "/" + file, encoding: .utf8)
        return text.split(whereSeparator: \.isNewline).dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    /// events.csv's lines (campaign_s, Expt. No, kind, message) as whole strings.
    func eventLines() throws -> [String] {
        try String(contentsOfFile: folder + "/events.csv", encoding: .utf8).split(whereSeparator: \.isNewline).dropFirst()
            .map(String.init)
    }

    /// A campaign file: the explicit experiments, the published platform otherwise, with an
    /// optional shorter schedule (fault runs need only a few aliquots).
    static func campaignText(
        name: String, experiments: [(name: String, celsius: Double, cadmium: Double, selenium: Double, ratio: Double)],
        sampleTimes: [Double]? = nil, coolToCelsius: Double? = nil
    ) -> String {
        var text = """
            [campaign]
            name = "\(name)"

            [stocks]
            injection_diluent = "ODE"

            [prediction]
            anomaly = "log"

            """
        if sampleTimes != nil || coolToCelsius != nil {
            text += "[schedule]\n"
            if let sampleTimes { text += "sample_times_s = [\(sampleTimes.map { String(Int($0)) }.joined(separator: ", "))]\n" }
            if let coolToCelsius { text += "cool_to_c = \(Int(coolToCelsius))\n" }
            text += "\n"
        }
        for experiment in experiments {
            text += """
                [[experiment]]
                name = "\(experiment.name)"
                temperature_c = \(experiment.celsius)
                cd_mm = \(experiment.cadmium)
                se_mm = \(experiment.selenium)
                oa_cd = \(experiment.ratio)

                """
        }
        return text
    }
}

/// The results folder, with a look at each experiment's end as it is recorded.
final class EndObservingRecorder: CampaignRecorder {
    let inner: any CampaignRecorder
    let ended: (PlannedExperiment, ExperimentOutcome) -> Void

    init(inner: any CampaignRecorder, ended: @escaping (PlannedExperiment, ExperimentOutcome) -> Void) {
        self.inner = inner
        self.ended = ended
    }

    func campaignStarted(name: String, experiments: [PlannedExperiment]) throws {
        try inner.campaignStarted(name: name, experiments: experiments)
    }
    func experimentStarted(_ experiment: PlannedExperiment) throws { try inner.experimentStarted(experiment) }
    func aliquot(_ record: AliquotRecord) throws { try inner.aliquot(record) }
    func event(_ event: CampaignEvent) throws { try inner.event(event) }
    func experimentEnded(_ experiment: PlannedExperiment, outcome: ExperimentOutcome) throws {
        ended(experiment, outcome)
        try inner.experimentEnded(experiment, outcome: outcome)
    }
    func campaignEnded(virtualSeconds: Double, wallSeconds: Double) throws {
        try inner.campaignEnded(virtualSeconds: virtualSeconds, wallSeconds: wallSeconds)
    }
}

/// The published absorbance peaks (../shared/data/cdse/uv_train_val.csv), read here with
/// Foundation, independently of the twin's calibration and of the Learning module's reader.
enum PublishedAbsorbance {
    struct Point {
        var celsius: Double
        var cadmium: Double
        var selenium: Double
        var ratio: Double
        var seconds: Double
        var peakElectronvolts: Double
    }

    static let points: Result<[Point], any Error> = Result {
        let text = try String(contentsOfFile: packageRoot + "/../shared/data/cdse/uv_train_val.csv", encoding: .utf8)
        return try text.split(whereSeparator: \.isNewline).dropFirst().map { line in
            let fields = line.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard fields.count >= 11, let celsius = fields[5], let cadmium = fields[2], let selenium = fields[3],
                let ratio = fields[4], let seconds = fields[6], let peakNanometres = fields[7]
            else { throw CocoaError(.fileReadCorruptFile) }
            return Point(
                celsius: celsius, cadmium: cadmium, selenium: selenium, ratio: ratio, seconds: seconds,
                peakElectronvolts: 1239.84193 / peakNanometres)
        }
    }

    /// The published runs' peak at the grid condition, at the fitted time nearest `seconds` of
    /// each run, averaged over the runs of that condition (one run at most conditions).
    static func peakElectronvolts(
        celsius: Double, cadmium: Double, selenium: Double, ratio: Double, seconds: Double
    ) throws -> Double? {
        let matching = try points.get().filter {
            abs($0.celsius - celsius) < 0.5 && abs($0.cadmium - cadmium) < 0.01 && abs($0.selenium - selenium) < 0.01
                && abs($0.ratio - ratio) < 0.05
        }
        guard let nearest = matching.min(by: { abs($0.seconds - seconds) < abs($1.seconds - seconds) }),
            abs(nearest.seconds - seconds) < max(5, 0.1 * seconds)
        else { return nil }
        let atThatTime = matching.filter { abs($0.seconds - nearest.seconds) < max(5, 0.1 * seconds) }
        return atThatTime.map(\.peakElectronvolts).reduce(0, +) / Double(atThatTime.count)
    }
}
