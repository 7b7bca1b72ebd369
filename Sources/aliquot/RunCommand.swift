import ArgumentParser
import Campaign
import Config
import Control
import Devices
import Journal
import Learning
import LinuxIO
import Rig
import Transports

#if canImport(Glibc)
import Glibc
#endif

/// `aliquot run`: the product's main job, a synthesis campaign end to end.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a synthesis campaign: load, heat, inject, sample, measure, predict, cool and clean, per experiment.",
        discussion: """
            For each experiment of the campaign file: the pumps load the Cd stock, oleic acid and ODE; the reactor \
            heats and settles; the Se stock is hot-injected with the heater's feed-forward; the 20 aliquots are \
            withdrawn at their times by valve pulses the real-time loop times; each aliquot's absorbance and PL \
            spectra are fitted as they arrive and compared with the int8 model's MC-dropout prediction; then the \
            reactor cools and is rinsed. A fault ends the experiment in the safe state (heaters off, valves closed, \
            pumps stopped, pressure vented) and the campaign goes on where that is safe. Results go to --out in \
            the published CSV schema, with spectra, SVG plots and summary.json. Ctrl-C stops in the safe state.
            Example: aliquot run --board Boards/sim.toml campaigns/demo.toml --out results/demo
            """)

    @OptionGroup var boardOptions: BoardOptions
    @OptionGroup var tunedOptions: TunedStateOptions

    @Argument(help: "The campaign file (TOML), e.g. campaigns/demo.toml.")
    var campaign: String

    @Option(help: "The results folder. Default: results/<campaign name>.")
    var out: String?

    @Option(help: "The model bundle for in-loop prediction (.aqm); 'none' to run without.")
    var model: String = "Firmware/models/cdse-absorbance.aqm"

    @Option(help: "MC-dropout passes per prediction.")
    var passes: Int = 30

    @Flag(name: .customLong("continue"), help: "Continue the campaign in an existing results folder: experiments already ended are not repeated; one cut short is recorded failed.")
    var continueExisting = false

    @Flag(help: "Print only the summary, not the progress lines.")
    var quiet = false

    @Option(help: "The journal (SQLite). Default: the board's [journal] path, relative to $ALIQUOT_STATE_DIR (or state/).")
    var journal: String?

    func validate() throws {
        guard passes >= 2 && passes <= 1000 else { throw ValidationError("--passes must be 2...1000, got \(passes)") }
    }

    func run() throws {
        let campaignFile: CampaignFile
        do { campaignFile = try CampaignFile.load(path: campaign) } catch { throw CommandFailure(error.description) }
        let plan: DesignPlan
        do {
            plan = try campaignFile.plan(pumpResolutionMicrolitres: Self.pumpResolutionMicrolitres)
        } catch {
            throw CommandFailure(error.description)
        }
        let predictor: MonteCarloAliquotPredictor?
        if model == "none" {
            predictor = nil
        } else {
            let bundle = try loadModel(model)
            predictor = MonteCarloAliquotPredictor(
                predictor: SynthesisPredictor(model: bundle, path: .int8, maximumRows: max(256, passes)), passes: passes,
                seed: 0x616C_6971)
        }

        let rig = try boardOptions.openRig()
        let tunedPath = tunedOptions.resolvedPath(board: rig.board)
        let tuned: TunedState?
        do { tuned = try TunedState.loadIfPresent(path: tunedPath) } catch { throw CommandFailure(error.description) }
        let hardware: RigCampaignHardware
        do {
            let loops = try rig.makeHeatLoops(tuned: tuned, tunedPath: tunedPath)
            hardware = try RigCampaignHardware(rig: rig, loops: loops)
        } catch {
            reportFailures(rig.shutDown())
            throw CommandFailure(error.description)
        }
        if let twin = rig.transports as? TwinTransportFactory {
            let stocks = campaignFile.stocks
            twin.reactor.setStocks(
                cadmiumMillimolar: stocks.cadmiumMillimolar, seleniumMillimolar: stocks.seleniumMillimolar,
                oleicAcidMolar: stocks.oleicAcidMolar)
        }
        defer {
            reportFailures(hardware.finish().map { RigError(part: "campaign", action: "finish", detail: $0) })
            reportFailures(rig.shutDown())
        }
        for warning in hardware.warnings { printError("warning: \(warning)") }

        // The journal says whether the last run of this campaign was cut short.
        let folder = out ?? "results/\(campaignFile.name)"
        let journalFile = journalPath(rig.board, folder: folder)
        func openJournal() throws -> Journal {
            do {
                return try Journal(
                    configuration: JournalConfiguration(
                        path: journalFile, maxBytes: Int64(rig.board.journal.maxMB) << 20,
                        // A power cut cannot lose the twin's records (it has no power to cut);
                        // a crash loses nothing committed in either mode.
                        synchronous: rig.board.transport == .linux ? .full : .normal))
            } catch {
                throw CommandFailure("journal: \(error)")
            }
        }
        // The journal is opened, and names this campaign, before the results folder exists: a
        // stop at any point after leaves a journal that says how to go on.
        let journalInFolder = journalFile.hasPrefix(folder + "/")
        if journalInFolder { try Self.makeDirectories(folder) }
        let store = try openJournal()
        defer {
            do { try store.close() } catch { printError("journal: close: \(error)") }
        }
        let recovered = store.recoveredCampaignState
        // The same campaign again (cut short, or finished and restarted by the service): go on in
        // its results folder; experiments that ended are not run again.
        let resuming = recovered?.campaign == campaignFile.name
        if !resuming {
            do {
                try store.setCampaignState(
                    CampaignState(
                        campaign: campaignFile.name, experiment: nil, phase: .idle, detail: "opening",
                        updatedNanoseconds: realtimeNanoseconds()))
            } catch {
                throw CommandFailure("journal: \(error)")
            }
        }
        let results: ResultsFolder
        do {
            results = try ResultsFolder(
                path: folder,
                options: ResultsFolder.Options(
                    continueExisting: continueExisting || resuming || journalInFolder,
                    durable: rig.board.transport == .linux))
        } catch {
            throw CommandFailure(error.description)
        }
        let journalRecorder = JournalRecorder(journal: store, campaign: campaignFile.name)
        let uplink = Self.startUplink(board: rig.board, journal: store)
        defer { uplink?.stop() }
        // Growth is not resumable: an experiment the last run was in when it stopped is failed.
        var interrupted = Set(results.interruptedExperimentNumbers)
        if resuming, let number = recovered?.interruptedExperiment { interrupted.insert(number) }
        for number in interrupted.sorted() where !results.endedExperimentNumbers.contains(number) {
            guard let entry = plan.entries.first(where: { $0.experiment.number == number }) else { continue }
            let reason = "interrupted: the controller stopped during this experiment (crash or power loss); growth cannot be resumed"
            do {
                try journalRecorder.recordInterrupted(experiment: number, reason: reason)
                try results.experimentStarted(entry.experiment)
                try results.experimentEnded(entry.experiment, outcome: .failed(reason: reason))
            } catch {
                throw CommandFailure("recording experiment \(number) as interrupted: \(error)")
            }
            printError("experiment \(number) (\(entry.experiment.name)) was interrupted by the last stop: recorded failed")
        }
        let recorder = RecorderFanOut([results, journalRecorder])
        let done = results.endedExperimentNumbers
        let experiments = plan.entries.filter { !done.contains($0.experiment.number) }.map { entry in
            RunnableExperiment(
                entry, schedule: campaignFile.schedule, prediction: campaignFile.prediction,
                rig: hardware.sequencerSettings(celsius: entry.experiment.condition.temperatureCelsius))
        }

        // Under systemd (Type=notify): READY=1 now the rig is safe, STATUS= and the health-gated
        // WATCHDOG=1 with every progress report, STOPPING=1 before the rig shuts down.
        let service = try Self.startService(
            hardware: hardware, journal: store,
            status: "\(campaignFile.name): \(experiments.count) experiments on \(rig.board.name), rig in its safe state")
        defer { Self.tellSystemd { () throws(SystemdNotifyError) in try service?.stopping(status: "stopping: rig to its safe state") } }
        var settings = CampaignRunSettings(prediction: campaignFile.prediction)
        if let service { settings.progressEverySeconds = service.progressEverySeconds(default: settings.progressEverySeconds) }
        let aliquotsPlanned = campaignFile.schedule.sampleTimesSeconds.count

        let abort = CampaignAbortFlag()
        Self.installAbortHandler(abort)
        let quiet = quiet
        let runner = CampaignRunner(
            hardware: hardware, recorder: recorder, settings: settings,
            predictor: predictor, abortFlag: abort, wallClock: MonotonicClock(),
            onProgress: { progress in
                if let service {
                    Self.tellSystemd { () throws(SystemdNotifyError) in
                        try service.progress(
                            status: ServiceNotifications.statusLine(progress, aliquotsPlanned: aliquotsPlanned), at: hardware.now())
                    }
                }
                guard !quiet else { return }
                print(
                    SummaryTable.progressLine(
                        experiment: progress.position, of: progress.count, name: progress.experiment.name,
                        phase: progress.phase.rawValue, aliquot: (progress.aliquotsTaken, campaignFile.schedule.sampleTimesSeconds.count),
                        reactorCelsius: progress.reactorCelsius, lastPeakNanometres: progress.lastPeakNanometres,
                        remainingSeconds: progress.etaSeconds))
            })
        print("\(campaignFile.name): \(experiments.count) experiments on \(rig.board.name) (\(rig.board.transport == .twin ? "digital twin, virtual time" : "hardware")), results in \(folder)")
        do {
            _ = try runner.run(name: campaignFile.name, experiments: experiments)
        } catch {
            throw CommandFailure(error.description)
        }
        for line in SummaryTable.lines(results.summary) { print(line) }
        if abort.isRequested { throw ExitCode(130) }
    }

    /// `mkdir -p path`.
    static func makeDirectories(_ path: String) throws {
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            built += "/" + component
            if mkdir(built, 0o755) != 0 && errno != EEXIST {
                throw CommandFailure("cannot create \(built): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// The journal's file: `--journal`; on the twin, `journal.sqlite` in the results folder (each
    /// simulated campaign keeps its own); on hardware the board's `[journal] path` (what
    /// `aliquot status` and `aliquot push` read).
    func journalPath(_ board: BoardFile, folder: String) -> String {
        if let journal { return journal }
        if board.transport == .twin { return folder + "/journal.sqlite" }
        return board.journal.path
    }

    /// Pushes the journal to the lab server in the background while the campaign runs, when the
    /// board's `[uplink]` is enabled. A server that is down costs nothing: the journal keeps
    /// every record and the uplink drains it when the server returns.
    static func startUplink(board: BoardFile, journal: Journal) -> Uplink? {
        guard let settings = board.uplink, settings.enabled else { return nil }
        do {
            let token = try settings.tokenFile.map { path throws(UplinkError) in try UplinkConfiguration.readToken(path: path) }
            let uplink = try Uplink(
                configuration: UplinkConfiguration(
                    url: settings.url, deviceID: settings.deviceID, token: token, batchRecords: settings.batchRecords,
                    intervalSeconds: settings.intervalS),
                journal: journal)
            try uplink.start()
            return uplink
        } catch {
            printError("warning: uplink to \(settings.url) not started (\(error)); the journal keeps every record for `aliquot push`")
            return nil
        }
    }

    /// The systemd notifier when systemd started this process as a notify service (NOTIFY_SOCKET),
    /// after the rig reached its safe initial state (every loop read, heaters off); READY=1 sent.
    static func startService(hardware: RigCampaignHardware, journal: Journal, status: String) throws -> ServiceNotifications? {
        let notifier: SystemdNotifier?
        do { notifier = try SystemdNotifier.fromEnvironment() } catch { throw CommandFailure(error.description) }
        guard let notifier else { return nil }
        do { try hardware.settleIntoSafeInitialState() } catch { throw CommandFailure(error.description) }
        let probe = RigHealthProbe(hardware: hardware) {
            // The journal's writer keeps its last commit failure until a commit succeeds again.
            do { return try journal.statistics().lastFailure == nil } catch { return false }
        }
        let service = ServiceNotifications(notifier: notifier, probe: probe)
        tellSystemd { () throws(SystemdNotifyError) in try service.ready(status: status, at: hardware.now()) }
        return service
    }

    /// Sends to systemd; a failure is a warning, printed once: the campaign goes on without it.
    static func tellSystemd(_ send: () throws(SystemdNotifyError) -> Void) {
        do { try send() } catch {
            if !systemdWarned { printError("warning: \(error)") }
            systemdWarned = true
        }
    }

    nonisolated(unsafe) static var systemdWarned = false

    /// The smallest volume step the recipes are rounded to, µL: a tenth of a microlitre is finer
    /// than every shipped pump's step with its syringe.
    static let pumpResolutionMicrolitres = 0.1

    /// SIGINT and SIGTERM request the campaign's clean stop (safe state, records closed).
    static func installAbortHandler(_ flag: CampaignAbortFlag) {
        RunCommand.abortFlag = flag
        signal(SIGINT) { _ in RunCommand.abortFlag?.request() }
        signal(SIGTERM) { _ in RunCommand.abortFlag?.request() }
    }

    nonisolated(unsafe) static var abortFlag: CampaignAbortFlag?
}
