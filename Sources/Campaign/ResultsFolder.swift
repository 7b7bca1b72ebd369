#if canImport(Glibc)
import Glibc
#endif
import Learning
import Spectra

/// The folder a campaign writes its results to (DESIGN.md §2 principle 9: results in the published
/// data set's CSV schema, raw and processed spectra kept, nothing acknowledged lost on power loss).
///
///     uv.csv, pl.csv          published train/val schema (shared/data/cdse/README.md), fitted rows only
///     aliquots.csv            every aliquot: schedule, valve time, volume, temperatures, fit statuses
///     predictions.csv         measured vs MC-dropout prediction with spread, per aliquot
///     events.csv              phases, setpoints, pulses, trips, anomalies, faults
///     experiments.csv         one line per ended experiment (the ledger `summary.json` is built from)
///     spectra/expt-NNN-abs.csv, -abs-raw.csv, -pl.csv, -pl-raw.csv
///                             wide tables (`SpectraTable`: `wavelength_nm`, then one column per
///                             aliquot named `t010s`...) that `aliquot analyze` reads back
///     plots/expt-NNN-spectra.svg, plots/expt-NNN-peak.svg
///     summary.json            at the end of the campaign
///
/// Durability (`Options.durable`, the default): each CSV line goes out in one write(2) on an
/// O_APPEND descriptor and the file is fsync'd before the call returns (`aliquot`,
/// `experimentEnded`, and `event` for safety trips, faults and anomalies; other events are
/// flushed with the next of those). A crash can at worst leave a torn last line, which reopening
/// with `continueExisting` cuts off. Spectra, plots and `summary.json` are written whole and
/// atomically (temporary file, fsync, rename, fsync of the folder) when an experiment or the
/// campaign ends: a crash mid-experiment loses that experiment's spectra files, not its fitted
/// rows (and that experiment is failed anyway: growth is not resumable).
public final class ResultsFolder: CampaignRecorder {
    public struct Options: Sendable {
        /// Append to a folder that already holds results (after a crash or a stop) instead of
        /// refusing it.
        public var continueExisting: Bool
        /// Write the per-experiment spectra tables.
        public var writeSpectra: Bool
        /// Write the per-experiment SVG plots.
        public var writePlots: Bool
        /// fsync every record as it is appended, every whole file before its rename and the folder
        /// after (the default: nothing acknowledged is lost on a power cut). Off, the same lines
        /// and the same atomic renames are written without fsync: safe against a crash of the
        /// process, not of the machine. For the twin and benchmarks, where an fsync costs more
        /// than simulating the aliquot; never on a rig.
        public var durable: Bool
        /// The spectrum the model's prediction is compared with (the model in the loop is trained
        /// on the absorbance set by default).
        public var predictionKind: Spectra.SpectrumKind
        /// Half-width of the plotted prediction band, in standard deviations of the MC-dropout passes.
        public var predictionBandSigmas: Double
        /// The wavelength windows of the spectra plots, nm.
        public var absorbancePlotNanometres: ClosedRange<Double>
        public var emissionPlotNanometres: ClosedRange<Double>

        public init(
            continueExisting: Bool = false, writeSpectra: Bool = true, writePlots: Bool = true,
            durable: Bool = true, predictionKind: Spectra.SpectrumKind = .absorbance, predictionBandSigmas: Double = 2,
            absorbancePlotNanometres: ClosedRange<Double> = 350...700,
            emissionPlotNanometres: ClosedRange<Double> = 400...750
        ) {
            self.continueExisting = continueExisting
            self.writeSpectra = writeSpectra
            self.writePlots = writePlots
            self.durable = durable
            self.predictionKind = predictionKind
            self.predictionBandSigmas = predictionBandSigmas
            self.absorbancePlotNanometres = absorbancePlotNanometres
            self.emissionPlotNanometres = emissionPlotNanometres
        }
    }

    /// The published absorbance header, byte for byte (`height` twice, as uv_train_val.csv).
    public static let absorbanceHeader =
        "Expt. No,T_external,Cd_mM,Se_mM,OA_Cd_ratio,T_reactor,t_s,Peak_nm,FWHM_nm,height,Peak_eV,FWHM_eV,height"
    /// The published photoluminescence header, byte for byte (as pl_train_val.csv).
    public static let emissionHeader =
        "Expt. No,T_external,Cd_mM,Se_mM,OA_Cd_ratio,T_reactor,t_s,Peak_nm,FWHM_nm,Peak_eV,FWHM_eV,height"
    public static let aliquotsHeader =
        "Expt. No,aliquot,t_scheduled_s,t_s,valve_ms,withdrawn_uL,T_reactor_measured,T_external,abs_status,pl_status,anomaly"
    public static let predictionsHeader =
        "Expt. No,aliquot,t_s,spectrum,measured_peak_eV,predicted_peak_eV,predicted_peak_sd_eV,measured_fwhm_eV,predicted_fwhm_eV,predicted_fwhm_sd_eV,peak_z,extrapolated,anomaly"
    public static let eventsHeader = "campaign_s,Expt. No,kind,message"
    public static let experimentsHeader =
        "Expt. No,name,Cd_mM,Se_mM,OA_Cd_ratio,T_reactor,outcome,reason,aliquots,fitted_abs,fitted_pl,anomalies,safety_trips,"
        + "abs_t_s,abs_peak_nm,abs_fwhm_nm,abs_peak_eV,abs_fwhm_eV,abs_height,"
        + "pl_t_s,pl_peak_nm,pl_fwhm_nm,pl_peak_eV,pl_fwhm_eV,pl_height,"
        + "pred_t_s,pred_peak_eV,pred_peak_sd_eV,pred_fwhm_eV,pred_fwhm_sd_eV,pred_extrapolated"

    public let path: String
    public let options: Options
    /// What the folder holds so far: experiments ended (by earlier runs too, when continuing),
    /// counts, and at the end the campaign's times. The CLI prints `SummaryTable.lines(summary)`.
    public private(set) var summary: ResultsSummary
    /// Experiments an earlier run of this folder ended (continuing), which a runner should not
    /// repeat.
    public private(set) var endedExperimentNumbers: Set<Int>
    /// Experiments with aliquots on file that an earlier run never ended (it crashed during
    /// them); the runner records them failed.
    public private(set) var interruptedExperimentNumbers: [Int]
    /// Torn last lines cut off when continuing: file name and bytes removed.
    public private(set) var repairs: [(file: String, bytes: Int)]

    private var absorbanceFile: DurableLineFile
    private var emissionFile: DurableLineFile
    private var aliquotsFile: DurableLineFile
    private var predictionsFile: DurableLineFile
    private var eventsFile: DurableLineFile
    private var experimentsFile: DurableLineFile
    private var files: [DurableLineFile] {
        [absorbanceFile, emissionFile, aliquotsFile, predictionsFile, eventsFile, experimentsFile]
    }
    private var planned: [PlannedExperiment] = []
    private var current: LiveExperiment?
    private var closed = false

    /// What is kept of the running experiment until it ends.
    private struct LiveExperiment {
        var planned: PlannedExperiment
        var records: [AliquotRecord] = []
        var safetyTrips = 0
    }

    /// Creates the folder (and its parents) or, when it exists, checks it: an existing non-empty
    /// folder is refused unless `options.continueExisting`, in which case its files are checked
    /// (same headers), torn last lines are cut, and the ledger is read back into `summary`.
    public init(path: String, options: Options = Options()) throws(ResultsFolderError) {
        precondition(!path.isEmpty, "a results folder path")
        self.path = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
        self.options = options
        let path = self.path

        let entries = try Self.prepareFolder(path, continuing: options.continueExisting)
        if !entries.isEmpty && !options.continueExisting {
            let shown = entries.sorted().prefix(5).joined(separator: ", ") + (entries.count > 5 ? ", ..." : "")
            throw ResultsFolderError(
                path: path,
                message: "the results folder is not empty (\(shown)); choose a new folder, or continue the campaign in it")
        }
        for folder in ["spectra", "plots"] { try Self.makeFolders(path + "/" + folder) }

        var repairs: [(file: String, bytes: Int)] = []
        func open(_ name: String, _ header: String) throws(ResultsFolderError) -> DurableLineFile {
            let file = try DurableLineFile(path: path + "/" + name, header: header, durable: options.durable)
            if file.repairedBytes > 0 { repairs.append((name, file.repairedBytes)) }
            return file
        }
        absorbanceFile = try open("uv.csv", Self.absorbanceHeader)
        emissionFile = try open("pl.csv", Self.emissionHeader)
        aliquotsFile = try open("aliquots.csv", Self.aliquotsHeader)
        predictionsFile = try open("predictions.csv", Self.predictionsHeader)
        eventsFile = try open("events.csv", Self.eventsHeader)
        experimentsFile = try open("experiments.csv", Self.experimentsHeader)
        self.repairs = repairs
        if options.durable { try syncFolder(path) }

        // Read back what earlier runs ended, and which experiments they left open.
        let previous = try Self.readLedger(path + "/experiments.csv")
        let ended = Set(previous.map(\.number))
        endedExperimentNumbers = ended
        let withAliquots = try Self.experimentNumbers(inFirstColumnOf: path + "/aliquots.csv")
        var seen: Set<Int> = []
        var interrupted: [Int] = []
        for number in withAliquots where !ended.contains(number) && seen.insert(number).inserted {
            interrupted.append(number)
        }
        interruptedExperimentNumbers = interrupted
        summary = ResultsSummary(
            campaign: "", predictionKind: options.predictionKind, planned: 0, experiments: previous,
            safetyTripsOutsideExperiments: 0, virtualSeconds: 0, wallSeconds: 0)
    }

    deinit {
        // Only reached without `campaignEnded`/`close()` (an error path): release the descriptors.
        for file in files { file.closeQuietly() }
    }

    // MARK: - CampaignRecorder

    public func campaignStarted(name: String, experiments: [PlannedExperiment]) throws {
        precondition(!closed, "the results folder is closed")
        planned = experiments
        summary.campaign = name
        summary.planned = experiments.count
    }

    public func experimentStarted(_ experiment: PlannedExperiment) throws {
        precondition(!closed, "the results folder is closed")
        precondition(current == nil, "experiment \(current?.planned.number ?? 0) has not ended")
        current = LiveExperiment(planned: experiment)
    }

    public func aliquot(_ record: AliquotRecord) throws {
        precondition(!closed, "the results folder is closed")
        guard let live = current, live.planned.number == record.experimentNumber else {
            preconditionFailure("aliquot of experiment \(record.experimentNumber) outside that experiment")
        }
        let condition = live.planned.condition
        if let measurement = record.absorbance, measurement.fit.status == .ok, let peak = measurement.fit.peak {
            try absorbanceFile.append(Self.publishedRow(record, condition, peak, repeatHeight: true))
        }
        if let measurement = record.photoluminescence, measurement.fit.status == .ok, let peak = measurement.fit.peak {
            try emissionFile.append(Self.publishedRow(record, condition, peak, repeatHeight: false))
        }
        try aliquotsFile.append(Self.aliquotRow(record))
        if let prediction = record.prediction {
            try predictionsFile.append(Self.predictionRow(record, prediction, kind: options.predictionKind))
        }
        current?.records.append(record)
        if options.durable { try syncAll() }
    }

    public func event(_ event: CampaignEvent) throws {
        precondition(!closed, "the results folder is closed")
        var line: [UInt8] = []
        DecimalText.append(event.campaignSeconds, decimals: 3, to: &line)
        line.append(UInt8(ascii: ","))
        if let number = event.experimentNumber { line += Array(String(number).utf8) }
        line.append(UInt8(ascii: ","))
        line += Array(event.kind.rawValue.utf8)
        line.append(UInt8(ascii: ","))
        line += Array(resultsCSVField(event.message).utf8)
        line.append(UInt8(ascii: "\n"))
        try eventsFile.append(line)
        if event.kind == .safetyTrip {
            if let live = current, event.experimentNumber == nil || event.experimentNumber == live.planned.number {
                current?.safetyTrips += 1
            } else {
                summary.safetyTripsOutsideExperiments += 1
            }
        }
        let urgent: Set<CampaignEvent.Kind> = [.safetyTrip, .fault, .anomaly]
        if options.durable && urgent.contains(event.kind) { try syncAll() }
    }

    public func experimentEnded(_ experiment: PlannedExperiment, outcome: ExperimentOutcome) throws {
        precondition(!closed, "the results folder is closed")
        let live: LiveExperiment
        if let running = current, running.planned.number == experiment.number {
            live = running
        } else {
            // Only an experiment that never started may end without `experimentStarted`.
            guard case .skipped = outcome, current == nil else {
                preconditionFailure("experiment \(experiment.number) ended without starting")
            }
            live = LiveExperiment(planned: experiment)
        }
        current = nil
        let result = ResultsSummary.Experiment(
            planned: live.planned, records: live.records, outcome: outcome, safetyTrips: live.safetyTrips,
            predictionKind: options.predictionKind)
        if !live.records.isEmpty {
            let stem = "expt-" + Self.padded(experiment.number)
            if options.writeSpectra { try writeSpectra(live, stem: stem) }
            if options.writePlots {
                try writeWhole(
                    "plots/\(stem)-spectra.svg",
                    Array(ExperimentPlots.spectra(
                        experiment: live.planned, records: live.records,
                        absorbanceWindow: options.absorbancePlotNanometres,
                        emissionWindow: options.emissionPlotNanometres).utf8))
                try writeWhole(
                    "plots/\(stem)-peak.svg",
                    Array(ExperimentPlots.peaks(
                        experiment: live.planned, records: live.records, predictionKind: options.predictionKind,
                        bandSigmas: options.predictionBandSigmas).utf8))
            }
        }
        try experimentsFile.append(Self.ledgerRow(result))
        if options.durable { try syncAll() }
        summary.experiments.removeAll { $0.number == result.number }
        summary.experiments.append(result)
        endedExperimentNumbers.insert(result.number)
        interruptedExperimentNumbers.removeAll { $0 == result.number }
    }

    public func campaignEnded(virtualSeconds: Double, wallSeconds: Double) throws {
        precondition(!closed, "the results folder is closed")
        precondition(current == nil, "experiment \(current?.planned.number ?? 0) has not ended")
        summary.virtualSeconds = virtualSeconds
        summary.wallSeconds = wallSeconds
        if options.durable { try syncAll() }
        try writeWhole("summary.json", Array(summary.json().utf8))
        try close()
    }

    /// Flushes and closes every file (also done by `campaignEnded`); the folder takes no more records.
    public func close() throws(ResultsFolderError) {
        guard !closed else { return }
        closed = true
        var firstError: ResultsFolderError?
        for file in files {
            do throws(ResultsFolderError) {
                try file.close()
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    // MARK: - Rows

    /// One row of uv.csv / pl.csv: numbers rounded as the published files (T_external 2 decimals,
    /// the rest 3, trailing zeros dropped). `T_reactor` is the experiment's set temperature, as
    /// the published grid's; `t_s` the time the valve opened.
    static func publishedRow(
        _ record: AliquotRecord, _ condition: SynthesisCondition, _ peak: PeakParameters, repeatHeight: Bool
    ) -> [UInt8] {
        var line: [UInt8] = Array(String(record.experimentNumber).utf8)
        func add(_ value: Double, _ decimals: Int = 3) {
            line.append(UInt8(ascii: ","))
            DecimalText.append(value, decimals: decimals, to: &line)
        }
        add(record.ambientCelsius, 2)
        add(condition.cadmiumMillimolar)
        add(condition.seleniumMillimolar)
        add(condition.oleicAcidPerCadmium)
        add(condition.temperatureCelsius)
        add(record.withdrawnSeconds)
        add(peak.peakNanometres)
        add(peak.fwhmNanometres)
        if repeatHeight { add(peak.height) }
        add(peak.peakElectronvolts)
        add(peak.fwhmElectronvolts)
        add(peak.height)
        line.append(UInt8(ascii: "\n"))
        return line
    }

    static func aliquotRow(_ record: AliquotRecord) -> [UInt8] {
        var line: [UInt8] = Array("\(record.experimentNumber),\(record.index)".utf8)
        for (value, decimals) in [
            (record.scheduledSeconds, 3), (record.withdrawnSeconds, 3), (record.valveOpenMilliseconds, 3),
            (record.withdrawnMicrolitres, 3), (record.reactorCelsius, 2), (record.ambientCelsius, 2),
        ] {
            line.append(UInt8(ascii: ","))
            DecimalText.append(value, decimals: decimals, to: &line)
        }
        line += Array(",\(record.absorbance?.fit.status.rawValue ?? "none"),\(record.photoluminescence?.fit.status.rawValue ?? "none"),".utf8)
        line += Array(resultsCSVField(record.anomaly ?? "").utf8)
        line.append(UInt8(ascii: "\n"))
        return line
    }

    static func predictionRow(_ record: AliquotRecord, _ prediction: AliquotPrediction, kind: Spectra.SpectrumKind) -> [UInt8] {
        let measurement = kind == .absorbance ? record.absorbance : record.photoluminescence
        let peak = measurement?.fit.status == .ok ? measurement?.fit.peak : nil
        var line: [UInt8] = Array("\(record.experimentNumber),\(record.index),".utf8)
        DecimalText.append(record.withdrawnSeconds, decimals: 3, to: &line)
        line += Array(",\(kind.rawValue)".utf8)
        func add(_ value: Double?, _ decimals: Int = 4) {
            line.append(UInt8(ascii: ","))
            if let value { DecimalText.append(value, decimals: decimals, to: &line) }
        }
        add(peak?.peakElectronvolts)
        add(prediction.peakElectronvolts)
        add(prediction.peakSpreadElectronvolts)
        add(peak?.fwhmElectronvolts)
        add(prediction.fwhmElectronvolts)
        add(prediction.fwhmSpreadElectronvolts)
        if let peak, prediction.peakSpreadElectronvolts > 0 {
            add((peak.peakElectronvolts - prediction.peakElectronvolts) / prediction.peakSpreadElectronvolts, 2)
        } else {
            add(nil)
        }
        line += Array(("," + resultsCSVField(prediction.extrapolated.joined(separator: ";")) + "," + resultsCSVField(record.anomaly ?? "")).utf8)
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// A ledger line: full precision (shortest round-trip decimal), so reading it back gives the
    /// same numbers.
    static func ledgerRow(_ result: ResultsSummary.Experiment) -> [UInt8] {
        var fields: [String] = [
            String(result.number), resultsCSVField(result.name), resultsExact(result.condition.cadmiumMillimolar),
            resultsExact(result.condition.seleniumMillimolar), resultsExact(result.condition.oleicAcidPerCadmium),
            resultsExact(result.condition.temperatureCelsius),
        ]
        switch result.outcome {
        case .completed: fields += ["completed", ""]
        case .failed(let reason): fields += ["failed", resultsCSVField(reason)]
        case .skipped(let reason): fields += ["skipped", resultsCSVField(reason)]
        }
        fields += [result.aliquots, result.fittedAbsorbance, result.fittedEmission, result.anomalies, result.safetyTrips].map {
            String($0)
        }
        for (seconds, peak) in [(result.finalAbsorbanceSeconds, result.finalAbsorbance), (result.finalEmissionSeconds, result.finalEmission)] {
            fields += [seconds.map(resultsExact) ?? ""]
            fields += [peak?.peakNanometres, peak?.fwhmNanometres, peak?.peakElectronvolts, peak?.fwhmElectronvolts, peak?.height].map {
                $0.map(resultsExact) ?? ""
            }
        }
        let prediction = result.finalPrediction
        fields += [result.finalPredictionSeconds, prediction?.peakElectronvolts, prediction?.peakSpreadElectronvolts,
            prediction?.fwhmElectronvolts, prediction?.fwhmSpreadElectronvolts].map { $0.map(resultsExact) ?? "" }
        fields.append(resultsCSVField(prediction?.extrapolated.joined(separator: ";") ?? ""))
        return Array((fields.joined(separator: ",") + "\n").utf8)
    }

    /// The experiments a ledger holds (empty if it has no rows).
    static func readLedger(_ path: String) throws(ResultsFolderError) -> [ResultsSummary.Experiment] {
        let table = try readTable(path)
        let columns = experimentsHeader.split(separator: ",").count
        var experiments: [ResultsSummary.Experiment] = []
        for record in table.records {
            let fields = record.fields
            func fail(_ message: String) -> ResultsFolderError {
                ResultsFolderError(path: "\(path):\(record.line)", message: message)
            }
            guard fields.count == columns else { throw fail("\(fields.count) fields, the header has \(columns)") }
            func number(_ index: Int) throws(ResultsFolderError) -> Double {
                guard let value = Double(fields[index]) else {
                    throw fail("column \(index + 1): '\(fields[index])' is not a number")
                }
                return value
            }
            func optional(_ index: Int) throws(ResultsFolderError) -> Double? {
                fields[index].isEmpty ? nil : try number(index)
            }
            func count(_ index: Int) throws(ResultsFolderError) -> Int {
                guard let value = Int(fields[index]) else {
                    throw fail("column \(index + 1): '\(fields[index])' is not a whole number")
                }
                return value
            }
            let outcome: ExperimentOutcome
            switch fields[6] {
            case "completed": outcome = .completed
            case "failed": outcome = .failed(reason: fields[7])
            case "skipped": outcome = .skipped(reason: fields[7])
            default: throw fail("outcome '\(fields[6])' is not completed, failed or skipped")
            }
            func peak(_ start: Int) throws(ResultsFolderError) -> (Double?, ResultsSummary.Peak?) {
                let seconds = try optional(start)
                guard let nm = try optional(start + 1) else { return (seconds, nil) }
                return (
                    seconds,
                    ResultsSummary.Peak(
                        peakNanometres: nm, fwhmNanometres: try number(start + 2), peakElectronvolts: try number(start + 3),
                        fwhmElectronvolts: try number(start + 4), height: try number(start + 5))
                )
            }
            let (absorbanceSeconds, absorbance) = try peak(13)
            let (emissionSeconds, emission) = try peak(19)
            var prediction: AliquotPrediction?
            if let peakEV = try optional(26) {
                prediction = AliquotPrediction(
                    peakElectronvolts: peakEV, peakSpreadElectronvolts: try number(27), fwhmElectronvolts: try number(28),
                    fwhmSpreadElectronvolts: try number(29),
                    extrapolated: fields[30].isEmpty ? [] : fields[30].split(separator: ";").map(String.init))
            }
            experiments.append(
                ResultsSummary.Experiment(
                    number: try count(0), name: fields[1],
                    condition: SynthesisCondition(
                        cadmiumMillimolar: try number(2), seleniumMillimolar: try number(3),
                        oleicAcidPerCadmium: try number(4), temperatureCelsius: try number(5)),
                    outcome: outcome, aliquots: try count(8), fittedAbsorbance: try count(9), fittedEmission: try count(10),
                    anomalies: try count(11), safetyTrips: try count(12), finalAbsorbanceSeconds: absorbanceSeconds,
                    finalAbsorbance: absorbance, finalEmissionSeconds: emissionSeconds, finalEmission: emission,
                    finalPredictionSeconds: try optional(25), finalPrediction: prediction))
        }
        return experiments
    }

    /// The experiment numbers of a CSV's rows (first column), in file order.
    static func experimentNumbers(inFirstColumnOf path: String) throws(ResultsFolderError) -> [Int] {
        let table = try readTable(path)
        var numbers: [Int] = []
        for record in table.records {
            guard let number = Int(record.fields[0]) else {
                throw ResultsFolderError(path: "\(path):\(record.line)", message: "'\(record.fields[0])' is not an experiment number")
            }
            numbers.append(number)
        }
        return numbers
    }

    static func readTable(_ path: String) throws(ResultsFolderError) -> CSVTable {
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path: path)
        } catch {
            throw ResultsFolderError(path: path, message: "cannot read: \(error.description)")
        }
        do {
            return try CSVTable.parse(text: String(decoding: bytes, as: UTF8.self), file: path)
        } catch {
            throw ResultsFolderError(path: path, message: error.description)
        }
    }

    // MARK: - Spectra

    /// The four wide tables of one experiment, each a wavelength column and one column per
    /// aliquot that has that spectrum.
    private func writeSpectra(_ live: LiveExperiment, stem: String) throws(ResultsFolderError) {
        for kind in Spectra.SpectrumKind.allCases {
            var names: [String] = []
            var measurements: [AliquotMeasurement] = []
            for record in live.records {
                guard let measurement = kind == .absorbance ? record.absorbance : record.photoluminescence else { continue }
                var name = "t" + Self.padded(Int(record.scheduledSeconds.rounded())) + "s"
                if names.contains(name) { name += "-a\(record.index)" }
                names.append(name)
                measurements.append(measurement)
            }
            guard let first = measurements.first else { continue }
            let axis = first.wavelengthsNanometres
            for (name, measurement) in zip(names, measurements) {
                guard measurement.wavelengthsNanometres == axis,
                    measurement.rawCounts.count == axis.count, measurement.processed.count == axis.count
                else {
                    throw ResultsFolderError(
                        path: path + "/spectra/\(stem)-\(kind.rawValue).csv",
                        message: "spectrum \(name) of experiment \(live.planned.number) has \(measurement.wavelengthsNanometres.count) wavelengths, "
                            + "\(measurement.rawCounts.count) raw and \(measurement.processed.count) processed values, "
                            + "or a different wavelength axis than the first (\(axis.count) pixels): one spectrometer, one axis")
                }
            }
            // Absorbance to 5 decimals (1e-5 AU, well below the noise); counts to 1 decimal.
            let processedDecimals = kind == .absorbance ? 5 : 1
            try writeWhole(
                "spectra/\(stem)-\(kind.rawValue).csv",
                Self.wideTable(axis: axis, names: names, columns: measurements.map(\.processed), decimals: processedDecimals))
            try writeWhole(
                "spectra/\(stem)-\(kind.rawValue)-raw.csv",
                Self.wideTable(axis: axis, names: names, columns: measurements.map(\.rawCounts), decimals: 1))
        }
    }

    /// `wavelength_nm,<names>` then one row per pixel; a non-finite value is left empty.
    static func wideTable(axis: [Double], names: [String], columns: [[Double]], decimals: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(axis.count * (10 + 9 * columns.count))
        bytes += Array(("wavelength_nm," + names.map(resultsCSVField).joined(separator: ",") + "\n").utf8)
        for row in axis.indices {
            DecimalText.append(axis[row], decimals: 3, to: &bytes)
            for column in columns {
                bytes.append(UInt8(ascii: ","))
                DecimalText.append(column[row], decimals: decimals, to: &bytes)
            }
            bytes.append(UInt8(ascii: "\n"))
        }
        return bytes
    }

    // MARK: - Files

    /// Replaces `relative` atomically: a temporary file beside it, written whole, fsync'd when
    /// durable, renamed over the target, and the folder fsync'd when durable. A crash leaves the
    /// old file or the new one, never a part.
    private func writeWhole(_ relative: String, _ bytes: [UInt8]) throws(ResultsFolderError) {
        let target = path + "/" + relative
        let temporary = target + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ResultsFolderError(path: temporary, message: "cannot create", errno: errno) }
        var failure: ResultsFolderError?
        var written = 0
        while written < bytes.count && failure == nil {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno != EINTR { failure = ResultsFolderError(path: temporary, message: "cannot write", errno: errno) }
            } else {
                written += count
            }
        }
        if failure == nil && options.durable && fsync(descriptor) != 0 {
            failure = ResultsFolderError(path: temporary, message: "cannot flush to disk", errno: errno)
        }
        if Glibc.close(descriptor) != 0 && failure == nil {
            failure = ResultsFolderError(path: temporary, message: "cannot close", errno: errno)
        }
        if failure == nil && rename(temporary, target) != 0 {
            failure = ResultsFolderError(path: target, message: "cannot rename \(temporary) over it", errno: errno)
        }
        if let failure {
            _ = unlink(temporary)  // the error reported is the first one; the target is untouched
            throw failure
        }
        if options.durable {
            let folder = String(target[..<target.lastIndex(of: "/")!])
            try syncFolder(folder.isEmpty ? "/" : folder)
        }
    }

    private func syncAll() throws(ResultsFolderError) {
        for file in files { try file.sync() }
    }

    /// Test seam: the next line appended to `name` stops after `bytes` bytes and fails, as a
    /// crash in the middle of write(2) would leave it.
    func simulateCrash(inFile name: String, afterBytes bytes: Int) {
        for file in files where file.path.hasSuffix("/" + name) { file.failAfterBytes = bytes }
    }

    /// `number` with at least three digits: 7 -> "007".
    static func padded(_ number: Int) -> String {
        let text = String(number)
        return text.count >= 3 ? text : String(repeating: "0", count: 3 - text.count) + text
    }

    /// The folder's entries (without `.` and `..`), creating it and its parents when missing.
    static func prepareFolder(_ path: String, continuing: Bool) throws(ResultsFolderError) -> [String] {
        var information = stat()
        if stat(path, &information) != 0 {
            let code = errno
            guard code == ENOENT else { throw ResultsFolderError(path: path, message: "cannot inspect the results folder", errno: code) }
            try makeFolders(path)
            return []
        }
        guard information.st_mode & S_IFMT == S_IFDIR else {
            throw ResultsFolderError(path: path, message: "exists and is not a folder; give a folder for the results")
        }
        guard let directory = opendir(path) else {
            throw ResultsFolderError(path: path, message: "cannot open the results folder", errno: errno)
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// `mkdir -p` (mode 0755).
    static func makeFolders(_ folder: String) throws(ResultsFolderError) {
        var path = folder.hasPrefix("/") ? "" : "."
        for part in folder.split(separator: "/") {
            path += "/" + part
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw ResultsFolderError(path: path, message: "cannot create the folder", errno: errno)
            }
        }
    }
}

/// A results folder that cannot be created, continued or written: the path, what went wrong,
/// and the errno when a system call failed.
public struct ResultsFolderError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var errno: Int32?

    public init(path: String, message: String, errno: Int32? = nil) {
        self.path = path
        self.message = message
        self.errno = errno
    }

    public var description: String {
        guard let errno else { return "\(path): \(message)" }
        return "\(path): \(message): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// A CSV file that only grows by whole lines: opened O_APPEND, each line handed to one write(2)
/// (so a process crash never interleaves or splits it), fsync'd on `sync()`. Opening an existing
/// file checks its header and cuts a torn last line (what a power cut during write(2) can leave).
final class DurableLineFile {
    let path: String
    private var descriptor: Int32
    private var unsynced = false
    /// Whether `sync()` and `close()` call fsync(2).
    private let durable: Bool
    /// Bytes of a torn last line removed when opening.
    private(set) var repairedBytes = 0
    /// Test seam (see `ResultsFolder.simulateCrash`).
    var failAfterBytes: Int?

    init(path: String, header: String, durable: Bool) throws(ResultsFolderError) {
        self.path = path
        self.durable = durable
        let headerLine = Array((header + "\n").utf8)
        var existing: [UInt8] = []
        if access(path, F_OK) == 0 {
            do {
                existing = try readWholeFile(path: path)
            } catch {
                throw ResultsFolderError(path: path, message: "cannot read: \(error.description)")
            }
        }
        var keep = existing.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        if keep > 0 && !existing.starts(with: headerLine) {
            let found = String(decoding: existing.prefix(while: { $0 != UInt8(ascii: "\n") }), as: UTF8.self)
            throw ResultsFolderError(
                path: path, message: "has the header '\(found)', expected '\(header)': not a results file of this version")
        }
        repairedBytes = existing.count - keep
        descriptor = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw ResultsFolderError(path: path, message: "cannot open", errno: errno) }
        if repairedBytes > 0 && ftruncate(descriptor, off_t(keep)) != 0 {
            let code = errno
            closeQuietly()
            throw ResultsFolderError(path: path, message: "cannot cut the torn last line", errno: code)
        }
        if keep == 0 {
            do throws(ResultsFolderError) {
                try append(headerLine)
            } catch {
                closeQuietly()
                throw error
            }
        }
        if repairedBytes > 0 || keep == 0 {
            do throws(ResultsFolderError) {
                try sync()
            } catch {
                closeQuietly()
                throw error
            }
        }
    }

    /// Appends `line` (ending in a line feed) with one write(2), retried only for the rest of a
    /// short write.
    func append(_ line: [UInt8]) throws(ResultsFolderError) {
        precondition(descriptor >= 0, "\(path) is closed")
        precondition(line.last == UInt8(ascii: "\n"), "whole lines only")
        var limit = line.count
        if let failAfterBytes { limit = min(failAfterBytes, line.count) }
        var written = 0
        while written < limit {
            let count = line.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, limit - written) }
            if count < 0 {
                if errno == EINTR { continue }
                throw ResultsFolderError(path: path, message: "cannot append a line", errno: errno)
            }
            written += count
        }
        unsynced = true
        if failAfterBytes != nil {
            throw ResultsFolderError(path: path, message: "simulated crash after \(limit) of \(line.count) bytes")
        }
    }

    /// fsync(2) when something was written since the last one.
    func sync() throws(ResultsFolderError) {
        guard unsynced && durable else { return }
        if fsync(descriptor) != 0 { throw ResultsFolderError(path: path, message: "cannot flush to disk", errno: errno) }
        unsynced = false
    }

    func close() throws(ResultsFolderError) {
        guard descriptor >= 0 else { return }
        defer { descriptor = -1 }
        if unsynced && durable && fsync(descriptor) != 0 {
            let code = errno
            _ = Glibc.close(descriptor)
            throw ResultsFolderError(path: path, message: "cannot flush to disk", errno: code)
        }
        if Glibc.close(descriptor) != 0 { throw ResultsFolderError(path: path, message: "cannot close", errno: errno) }
    }

    /// Releases the descriptor on an error path where a failure to close changes nothing.
    func closeQuietly() {
        guard descriptor >= 0 else { return }
        _ = Glibc.close(descriptor)
        descriptor = -1
    }
}

/// fsync of a folder, so that files created in it survive a power cut.
private func syncFolder(_ path: String) throws(ResultsFolderError) {
    let descriptor = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard descriptor >= 0 else { throw ResultsFolderError(path: path, message: "cannot open the folder", errno: errno) }
    defer { _ = close(descriptor) }
    if fsync(descriptor) != 0 { throw ResultsFolderError(path: path, message: "cannot flush the folder", errno: errno) }
}

/// A CSV field, quoted (RFC 4180) only when it holds a comma, a quote or a line break.
func resultsCSVField(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return text }
    var quoted = "\""
    for character in text {
        if character == "\"" { quoted += "\"\"" } else { quoted.append(character) }
    }
    return quoted + "\""
}

/// Shortest decimal text that reads back as the same Double ("10.0", "2.4213").
private func resultsExact(_ value: Double) -> String {
    String(value)
}

/// Decimal numbers written straight into bytes, fast enough for whole spectra (a campaign writes
/// tens of millions of values): `decimals` places, rounded half away from zero, trailing zeros
/// dropped unless `trimZeros` is false, no exponent; a non-finite value writes nothing (an
/// empty CSV field).
enum DecimalText {
    static func append(_ value: Double, decimals: Int, trimZeros: Bool = true, to out: inout [UInt8]) {
        precondition(decimals >= 0 && decimals <= 9)
        guard value.isFinite else { return }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else {
            out += Array(String(value).utf8)
            return
        }
        var units = UInt64(scaled)
        var places = decimals
        if trimZeros {
            while places > 0 && units % 10 == 0 {
                units /= 10
                places -= 1
            }
        }
        if value < 0 && units != 0 { out.append(UInt8(ascii: "-")) }
        // Digits right to left into a small stack buffer, then one append.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            var index = 32
            var remaining = units
            var position = 0
            repeat {
                if position == places && places > 0 {
                    index -= 1
                    buffer[index] = UInt8(ascii: ".")
                }
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(remaining % 10)
                remaining /= 10
                position += 1
            } while remaining > 0 || position <= places
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index..<32]))
        }
    }

    static func string(_ value: Double, decimals: Int, trimZeros: Bool = true) -> String {
        var bytes: [UInt8] = []
        append(value, decimals: decimals, trimZeros: trimZeros, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
