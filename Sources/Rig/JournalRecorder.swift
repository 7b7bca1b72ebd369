import Campaign
import Journal
import Spectra

/// Puts what a campaign records into the durable journal, in the payload shapes of
/// docs/uplink-wire-format.md §Payloads (the lab server reads them), and keeps the journal's
/// campaign state (which experiment is running) so that a restart after a crash or a power cut
/// knows which experiment was interrupted.
///
/// Fitted samples, events and state changes are acknowledged (durable) before the call returns:
/// they are the measurements. Spectra are handed to the journal's writer without waiting; they
/// are durable within the writer's next commit, and the results folder holds them too.
public final class JournalRecorder: CampaignRecorder {
    public let journal: Journal
    private var campaign: String
    private var conditions: [Int: SynthesisCondition] = [:]
    private var planned = 0

    /// `campaign` names the campaign in state written before `campaignStarted` (a restart's
    /// `recordInterrupted`): without it a stop right then would leave a state naming no campaign,
    /// and the next start would not know to go on in the results folder.
    public init(journal: Journal, campaign: String = "") {
        self.journal = journal
        self.campaign = campaign
    }

    public func campaignStarted(name: String, experiments: [PlannedExperiment]) throws {
        campaign = name
        planned = experiments.count
        for experiment in experiments { conditions[experiment.number] = experiment.condition }
        try journal.checkAcceptingCampaigns()
        try event(
            nil, type: "campaign",
            members: ["\"campaign\": \(JSONText.quoted(name))", "\"planned_experiments\": \(experiments.count)"],
            message: "campaign \(name) started: \(experiments.count) experiments")
        try setState(experiment: nil, phase: .idle, detail: "started")
    }

    public func experimentStarted(_ experiment: PlannedExperiment) throws {
        conditions[experiment.number] = experiment.condition
        try setState(experiment: experiment.number, phase: .running, detail: experiment.name)
        try event(
            experiment.number, type: "state", members: [],
            message: "running: experiment \(experiment.number) \(experiment.name) (\(experiment.condition))")
    }

    public func aliquot(_ record: AliquotRecord) throws {
        let condition = conditions[record.experimentNumber]
        var members = [
            "\"campaign\": \(JSONText.quoted(campaign))", "\"aliquot\": \(record.index)",
            "\"t_s\": \(JSONText.number(record.withdrawnSeconds))",
            "\"T_external\": \(JSONText.number(record.ambientCelsius))",
            "\"reactor_c\": \(JSONText.number(record.reactorCelsius))",
            "\"valve_open_ms\": \(JSONText.number(record.valveOpenMilliseconds))",
            "\"withdrawn_ul\": \(JSONText.number(record.withdrawnMicrolitres))",
        ]
        if let condition {
            members += [
                "\"Cd_mM\": \(JSONText.number(condition.cadmiumMillimolar))",
                "\"Se_mM\": \(JSONText.number(condition.seleniumMillimolar))",
                "\"OA_Cd_ratio\": \(JSONText.number(condition.oleicAcidPerCadmium))",
                "\"T_reactor\": \(JSONText.number(condition.temperatureCelsius))",
            ]
        }
        members.append("\"uv\": \(Self.peak(record.absorbance?.fit))")
        members.append("\"pl\": \(Self.peak(record.photoluminescence?.fit))")
        if let prediction = record.prediction {
            let peakNanometres = planckTimesLight / prediction.peakElectronvolts
            let fwhmNanometres = prediction.fwhmElectronvolts * peakNanometres * peakNanometres / planckTimesLight
            members.append(
                "\"prediction\": {\"peak_nm\": \(JSONText.number(peakNanometres)), \"fwhm_nm\": \(JSONText.number(fwhmNanometres)), "
                    + "\"peak_ev\": \(JSONText.number(prediction.peakElectronvolts)), \"peak_sd_ev\": \(JSONText.number(prediction.peakSpreadElectronvolts))}")
        } else {
            members.append("\"prediction\": null")
        }
        if let anomaly = record.anomaly { members.append("\"anomaly\": \(JSONText.quoted(anomaly))") }
        _ = try journal.append(
            JournalRecord.now(.sample, experiment: record.experimentNumber, payload: "{" + members.joined(separator: ", ") + "}"))
        for (channel, measurement) in [("uv", record.absorbance), ("pl", record.photoluminescence)] {
            guard let measurement else { continue }
            for (processed, values) in [(false, measurement.rawCounts), (true, measurement.processed)] {
                let payload = "{\"campaign\": \(JSONText.quoted(campaign)), \"aliquot\": \(record.index), "
                    + "\"t_s\": \(JSONText.number(record.withdrawnSeconds)), \"channel\": \"\(channel)\", \"processed\": \(processed), "
                    + "\"wavelength_nm\": [\(measurement.wavelengthsNanometres.map { Self.rounded($0, 3) }.joined(separator: ","))], "
                    + "\"values\": [\(values.map { Self.rounded($0, processed && channel == "uv" ? 5 : 1) }.joined(separator: ","))]}"
                _ = try journal.submit(JournalRecord.now(.spectrum, experiment: record.experimentNumber, payload: payload))
            }
        }
    }

    public func event(_ event: CampaignEvent) throws {
        let severity = switch event.kind {
        case .safetyTrip, .fault: "critical"
        case .anomaly: "warning"
        default: "info"
        }
        let type = switch event.kind {
        case .safetyTrip: "safety"
        case .valvePulse: "valve"
        case .pumpCommand: "pump"
        default: event.kind.rawValue
        }
        try self.event(
            event.experimentNumber, type: type,
            members: ["\"severity\": \"\(severity)\"", "\"campaign_s\": \(JSONText.number(event.campaignSeconds))"],
            message: event.message)
    }

    public func experimentEnded(_ experiment: PlannedExperiment, outcome: ExperimentOutcome) throws {
        let text = switch outcome {
        case .completed: "completed"
        case .failed(let reason): "failed: \(reason)"
        case .skipped(let reason): "skipped: \(reason)"
        }
        try event(experiment.number, type: "state", members: [], message: "experiment \(experiment.number) \(text)")
        try setState(experiment: experiment.number, phase: .idle, detail: text)
    }

    public func campaignEnded(virtualSeconds: Double, wallSeconds: Double) throws {
        try event(
            nil, type: "state", members: ["\"virtual_s\": \(JSONText.number(virtualSeconds))"],
            message: "idle: campaign \(campaign) ended")
        try setState(experiment: nil, phase: .finished, detail: "ended")
        try journal.flush()
    }

    /// Records `experiment` as failed because the controller stopped during it (found on restart).
    public func recordInterrupted(experiment: Int, reason: String) throws {
        try event(experiment, type: "safety", members: ["\"severity\": \"critical\""], message: reason)
        try setState(experiment: experiment, phase: .idle, detail: "failed: \(reason)")
    }

    // MARK: - Private

    private let planckTimesLight = 1239.841_984

    private func event(_ experiment: Int?, type: String, members: [String], message: String) throws {
        let payload = "{\"type\": \(JSONText.quoted(type)), \"message\": \(JSONText.quoted(message))"
            + members.map { ", " + $0 }.joined() + "}"
        _ = try journal.append(JournalRecord.now(.event, experiment: experiment, payload: payload))
    }

    private func setState(experiment: Int?, phase: CampaignPhase, detail: String) throws {
        try journal.setCampaignState(
            CampaignState(
                campaign: campaign, experiment: experiment, phase: phase, detail: detail,
                updatedNanoseconds: realtimeNanoseconds()))
    }

    /// `value` to `decimals` places, as JSON: the published axes' 0.001 nm, absorbance to 1e-5,
    /// counts to 0.1 (finer digits are noise and would triple the journal's size).
    static func rounded(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "null" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        return JSONText.number((value * scale).rounded() / scale)
    }

    /// A fitted peak as the payload's `uv`/`pl` member; null when the spectrum was too weak to fit.
    private static func peak(_ fit: PeakFit?) -> String {
        guard let peak = fit?.peak, fit?.status == .ok else { return "null" }
        return "{\"peak_nm\": \(JSONText.number(peak.peakNanometres)), \"fwhm_nm\": \(JSONText.number(peak.fwhmNanometres)), "
            + "\"height\": \(JSONText.number(peak.height)), \"peak_ev\": \(JSONText.number(peak.peakElectronvolts)), "
            + "\"fwhm_ev\": \(JSONText.number(peak.fwhmElectronvolts))}"
    }
}

/// Sends every record to each recorder in turn (the results folder, then the journal).
public final class RecorderFanOut: CampaignRecorder {
    public let recorders: [any CampaignRecorder]

    public init(_ recorders: [any CampaignRecorder]) { self.recorders = recorders }

    public func campaignStarted(name: String, experiments: [PlannedExperiment]) throws {
        for recorder in recorders { try recorder.campaignStarted(name: name, experiments: experiments) }
    }
    public func experimentStarted(_ experiment: PlannedExperiment) throws {
        for recorder in recorders { try recorder.experimentStarted(experiment) }
    }
    public func aliquot(_ record: AliquotRecord) throws {
        for recorder in recorders { try recorder.aliquot(record) }
    }
    public func event(_ event: CampaignEvent) throws {
        for recorder in recorders { try recorder.event(event) }
    }
    public func experimentEnded(_ experiment: PlannedExperiment, outcome: ExperimentOutcome) throws {
        for recorder in recorders { try recorder.experimentEnded(experiment, outcome: outcome) }
    }
    public func campaignEnded(virtualSeconds: Double, wallSeconds: Double) throws {
        for recorder in recorders { try recorder.campaignEnded(virtualSeconds: virtualSeconds, wallSeconds: wallSeconds) }
    }
}
