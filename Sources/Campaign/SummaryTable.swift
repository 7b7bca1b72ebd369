import Learning
import Spectra

/// What a campaign's results folder holds at the end: per experiment its outcome and final peaks
/// (measured and predicted), and the campaign's counts and times. Written as `summary.json`;
/// printed by the CLI through `SummaryTable`.
public struct ResultsSummary: Equatable, Sendable {
    /// A fitted peak in the published data set's terms.
    public struct Peak: Equatable, Sendable {
        public var peakNanometres: Double
        public var fwhmNanometres: Double
        public var peakElectronvolts: Double
        public var fwhmElectronvolts: Double
        public var height: Double

        public init(peakNanometres: Double, fwhmNanometres: Double, peakElectronvolts: Double, fwhmElectronvolts: Double, height: Double) {
            self.peakNanometres = peakNanometres
            self.fwhmNanometres = fwhmNanometres
            self.peakElectronvolts = peakElectronvolts
            self.fwhmElectronvolts = fwhmElectronvolts
            self.height = height
        }

        public init(_ peak: PeakParameters) {
            self.init(
                peakNanometres: peak.peakNanometres, fwhmNanometres: peak.fwhmNanometres,
                peakElectronvolts: peak.peakElectronvolts, fwhmElectronvolts: peak.fwhmElectronvolts, height: peak.height)
        }
    }

    public struct Experiment: Equatable, Sendable {
        public var number: Int
        public var name: String
        public var condition: SynthesisCondition
        public var outcome: ExperimentOutcome
        /// Aliquots recorded, and how many gave an absorbance / a PL fit.
        public var aliquots: Int
        public var fittedAbsorbance: Int
        public var fittedEmission: Int
        /// Aliquots flagged (`AliquotRecord.anomaly`).
        public var anomalies: Int
        /// `safetyTrip` events during the experiment.
        public var safetyTrips: Int
        /// The last fitted absorbance peak and when it was taken (s after injection).
        public var finalAbsorbanceSeconds: Double?
        public var finalAbsorbance: Peak?
        public var finalEmissionSeconds: Double?
        public var finalEmission: Peak?
        /// The prediction for the aliquot of the last fitted peak of the compared spectrum
        /// (`ResultsSummary.predictionKind`), or the last prediction when none was fitted.
        public var finalPredictionSeconds: Double?
        public var finalPrediction: AliquotPrediction?

        public init(
            number: Int, name: String, condition: SynthesisCondition, outcome: ExperimentOutcome, aliquots: Int,
            fittedAbsorbance: Int, fittedEmission: Int, anomalies: Int, safetyTrips: Int, finalAbsorbanceSeconds: Double?,
            finalAbsorbance: Peak?, finalEmissionSeconds: Double?, finalEmission: Peak?, finalPredictionSeconds: Double?,
            finalPrediction: AliquotPrediction?
        ) {
            self.number = number
            self.name = name
            self.condition = condition
            self.outcome = outcome
            self.aliquots = aliquots
            self.fittedAbsorbance = fittedAbsorbance
            self.fittedEmission = fittedEmission
            self.anomalies = anomalies
            self.safetyTrips = safetyTrips
            self.finalAbsorbanceSeconds = finalAbsorbanceSeconds
            self.finalAbsorbance = finalAbsorbance
            self.finalEmissionSeconds = finalEmissionSeconds
            self.finalEmission = finalEmission
            self.finalPredictionSeconds = finalPredictionSeconds
            self.finalPrediction = finalPrediction
        }

        /// Derived from an experiment's aliquot records.
        public init(
            planned: PlannedExperiment, records: [AliquotRecord], outcome: ExperimentOutcome, safetyTrips: Int,
            predictionKind: Spectra.SpectrumKind
        ) {
            func fitted(_ record: AliquotRecord, _ kind: Spectra.SpectrumKind) -> PeakParameters? {
                let measurement = kind == .absorbance ? record.absorbance : record.photoluminescence
                guard let measurement, measurement.fit.status == .ok else { return nil }
                return measurement.fit.peak
            }
            let lastAbsorbance = records.last { fitted($0, .absorbance) != nil }
            let lastEmission = records.last { fitted($0, .emission) != nil }
            let compared = predictionKind == .absorbance ? lastAbsorbance : lastEmission
            let predicted = compared?.prediction != nil ? compared : records.last { $0.prediction != nil }
            self.init(
                number: planned.number, name: planned.name, condition: planned.condition, outcome: outcome,
                aliquots: records.count, fittedAbsorbance: records.count { fitted($0, .absorbance) != nil },
                fittedEmission: records.count { fitted($0, .emission) != nil },
                anomalies: records.count { $0.anomaly != nil }, safetyTrips: safetyTrips,
                finalAbsorbanceSeconds: lastAbsorbance?.withdrawnSeconds,
                finalAbsorbance: lastAbsorbance.flatMap { fitted($0, .absorbance) }.map(Peak.init),
                finalEmissionSeconds: lastEmission?.withdrawnSeconds,
                finalEmission: lastEmission.flatMap { fitted($0, .emission) }.map(Peak.init),
                finalPredictionSeconds: predicted?.withdrawnSeconds, finalPrediction: predicted?.prediction)
        }

        /// The final measured peak of `kind`.
        public func finalPeak(_ kind: Spectra.SpectrumKind) -> Peak? {
            kind == .absorbance ? finalAbsorbance : finalEmission
        }
    }

    public var campaign: String
    /// The spectrum the predictions are compared with.
    public var predictionKind: Spectra.SpectrumKind
    /// Experiments the campaign planned.
    public var planned: Int
    /// Ended experiments, in the order they ended.
    public var experiments: [Experiment]
    /// Safety trips outside any experiment (between experiments, at start-up).
    public var safetyTripsOutsideExperiments: Int
    /// Rig-clock time of the campaign, and the real time it took, s.
    public var virtualSeconds: Double
    public var wallSeconds: Double

    public init(
        campaign: String, predictionKind: Spectra.SpectrumKind, planned: Int, experiments: [Experiment],
        safetyTripsOutsideExperiments: Int, virtualSeconds: Double, wallSeconds: Double
    ) {
        self.campaign = campaign
        self.predictionKind = predictionKind
        self.planned = planned
        self.experiments = experiments
        self.safetyTripsOutsideExperiments = safetyTripsOutsideExperiments
        self.virtualSeconds = virtualSeconds
        self.wallSeconds = wallSeconds
    }

    public var completed: Int { experiments.count { $0.outcome == .completed } }
    public var failed: Int { experiments.count { if case .failed = $0.outcome { true } else { false } } }
    public var skipped: Int { experiments.count { if case .skipped = $0.outcome { true } else { false } } }
    /// Experiments that started: completed or failed.
    public var run: Int { completed + failed }
    public var anomalies: Int { experiments.reduce(0) { $0 + $1.anomalies } }
    public var safetyTrips: Int { experiments.reduce(safetyTripsOutsideExperiments) { $0 + $1.safetyTrips } }

    /// `summary.json`: keys in a fixed order, numbers as the shortest decimal that reads back
    /// exactly, absent values as `null`.
    public func json() -> String {
        var out = "{\n"
        out += "  \"campaign\": \(summaryJSONString(campaign)),\n"
        out += "  \"prediction_spectrum\": \(summaryJSONString(predictionKind.rawValue)),\n"
        out += "  \"experiments_planned\": \(planned),\n"
        out += "  \"experiments_run\": \(run),\n"
        out += "  \"completed\": \(completed),\n"
        out += "  \"failed\": \(failed),\n"
        out += "  \"skipped\": \(skipped),\n"
        out += "  \"anomalies\": \(anomalies),\n"
        out += "  \"safety_trips\": \(safetyTrips),\n"
        out += "  \"virtual_seconds\": \(summaryJSONNumber(virtualSeconds)),\n"
        out += "  \"wall_seconds\": \(summaryJSONNumber(wallSeconds)),\n"
        out += "  \"experiments\": ["
        for (index, experiment) in experiments.enumerated() {
            out += index == 0 ? "\n" : ",\n"
            out += "    " + Self.json(experiment, predictionKind: predictionKind)
        }
        out += experiments.isEmpty ? "]\n" : "\n  ]\n"
        out += "}\n"
        return out
    }

    static func json(_ experiment: Experiment, predictionKind: Spectra.SpectrumKind) -> String {
        let (outcome, reason): (String, String?) =
            switch experiment.outcome {
            case .completed: ("completed", nil)
            case .failed(let reason): ("failed", reason)
            case .skipped(let reason): ("skipped", reason)
            }
        func peak(_ seconds: Double?, _ peak: Peak?) -> String {
            guard let peak else { return "null" }
            return "{\"t_s\": \(summaryJSONNumber(seconds)), \"peak_nm\": \(summaryJSONNumber(peak.peakNanometres)), "
                + "\"peak_eV\": \(summaryJSONNumber(peak.peakElectronvolts)), \"fwhm_nm\": \(summaryJSONNumber(peak.fwhmNanometres)), "
                + "\"fwhm_eV\": \(summaryJSONNumber(peak.fwhmElectronvolts)), \"height\": \(summaryJSONNumber(peak.height))}"
        }
        var predicted = "null"
        var peakError = "null"
        var fwhmError = "null"
        if let prediction = experiment.finalPrediction {
            predicted = "{\"t_s\": \(summaryJSONNumber(experiment.finalPredictionSeconds)), "
                + "\"peak_eV\": \(summaryJSONNumber(prediction.peakElectronvolts)), "
                + "\"peak_sd_eV\": \(summaryJSONNumber(prediction.peakSpreadElectronvolts)), "
                + "\"fwhm_eV\": \(summaryJSONNumber(prediction.fwhmElectronvolts)), "
                + "\"fwhm_sd_eV\": \(summaryJSONNumber(prediction.fwhmSpreadElectronvolts)), "
                + "\"extrapolated\": [\(prediction.extrapolated.map(summaryJSONString).joined(separator: ", "))]}"
            let measuredSeconds = predictionKind == .absorbance ? experiment.finalAbsorbanceSeconds : experiment.finalEmissionSeconds
            if let measured = experiment.finalPeak(predictionKind), measuredSeconds == experiment.finalPredictionSeconds {
                peakError = summaryJSONNumber(measured.peakElectronvolts - prediction.peakElectronvolts)
                fwhmError = summaryJSONNumber(measured.fwhmElectronvolts - prediction.fwhmElectronvolts)
            }
        }
        let condition = experiment.condition
        return "{\"number\": \(experiment.number), \"name\": \(summaryJSONString(experiment.name)), "
            + "\"cd_mM\": \(summaryJSONNumber(condition.cadmiumMillimolar)), \"se_mM\": \(summaryJSONNumber(condition.seleniumMillimolar)), "
            + "\"oa_cd_ratio\": \(summaryJSONNumber(condition.oleicAcidPerCadmium)), \"t_reactor_C\": \(summaryJSONNumber(condition.temperatureCelsius)), "
            + "\"outcome\": \(summaryJSONString(outcome)), \"reason\": \(reason.map(summaryJSONString) ?? "null"), "
            + "\"aliquots\": \(experiment.aliquots), \"fitted_abs\": \(experiment.fittedAbsorbance), "
            + "\"fitted_pl\": \(experiment.fittedEmission), \"anomalies\": \(experiment.anomalies), "
            + "\"safety_trips\": \(experiment.safetyTrips), "
            + "\"final\": {\"abs\": \(peak(experiment.finalAbsorbanceSeconds, experiment.finalAbsorbance)), "
            + "\"pl\": \(peak(experiment.finalEmissionSeconds, experiment.finalEmission)), "
            + "\"predicted\": \(predicted), \"peak_error_eV\": \(peakError), \"fwhm_error_eV\": \(fwhmError)}}"
    }
}

/// A JSON number (shortest round-trip decimal), `null` for nil or non-finite.
func summaryJSONNumber(_ value: Double?) -> String {
    guard let value, value.isFinite else { return "null" }
    if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
}

/// A JSON string literal (RFC 8259 §7), as the model bundle's JSON writes it.
func summaryJSONString(_ text: String) -> String { ModelJSON.quoted(text) }

/// The text the CLI prints about a campaign: the end-of-campaign table and the live progress
/// line. Pure functions of their inputs.
public enum SummaryTable {
    /// The table: one row per ended experiment (number, name, condition, outcome, final measured
    /// peak in nm and eV, predicted peak ± spread, their difference in meV, measured and predicted
    /// FWHM, the other spectrum's final peak, anomalies), then the reasons of failed and skipped
    /// experiments, then a totals line.
    public static func lines(_ summary: ResultsSummary) -> [String] {
        let kind = summary.predictionKind
        let other: Spectra.SpectrumKind = kind == .absorbance ? .emission : .absorbance
        let kindName = kind == .absorbance ? "abs" : "PL"
        let otherName = other == .absorbance ? "abs" : "PL"
        let header = [
            "#", "experiment", "condition", "outcome", "\(kindName) peak nm", "eV", "predicted eV", "Δ meV",
            "FWHM eV", "predicted", "\(otherName) peak nm", "anomalies",
        ]
        // Right-align the numeric columns.
        let numeric: Set<Int> = [0, 4, 5, 6, 7, 8, 9, 10, 11]
        var rows: [[String]] = []
        for experiment in summary.experiments {
            let measured = experiment.finalPeak(kind)
            let prediction = experiment.finalPrediction
            let condition = experiment.condition
            let outcome: String =
                switch experiment.outcome {
                case .completed: "completed"
                case .failed: "failed"
                case .skipped: "skipped"
                }
            var difference = "-"
            if let measured, let prediction {
                let meV = (measured.peakElectronvolts - prediction.peakElectronvolts) * 1000
                difference = (meV > 0 ? "+" : "") + DecimalText.string(meV, decimals: 1, trimZeros: false)
            }
            rows.append([
                String(experiment.number), experiment.name,
                "Cd \(short(condition.cadmiumMillimolar)) Se \(short(condition.seleniumMillimolar)) "
                    + "OA/Cd \(short(condition.oleicAcidPerCadmium)) \(short(condition.temperatureCelsius)) °C",
                outcome,
                fixed(measured?.peakNanometres, 1), fixed(measured?.peakElectronvolts, 3),
                prediction.map {
                    fixed($0.peakElectronvolts, 3) + " ± " + fixed($0.peakSpreadElectronvolts, 3)
                } ?? "-",
                difference,
                fixed(measured?.fwhmElectronvolts, 3), fixed(prediction?.fwhmElectronvolts, 3),
                fixed(experiment.finalPeak(other)?.peakNanometres, 1), String(experiment.anomalies),
            ])
        }
        var widths = header.map(\.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        func render(_ cells: [String]) -> String {
            var line = ""
            for (index, cell) in cells.enumerated() {
                let pad = String(repeating: " ", count: widths[index] - cell.count)
                if index > 0 { line += "  " }
                line += numeric.contains(index) ? pad + cell : cell + pad
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
        var lines = [render(header), render(widths.map { String(repeating: "-", count: $0) })]
        lines += rows.map(render)
        for experiment in summary.experiments {
            switch experiment.outcome {
            case .completed: break
            case .failed(let reason): lines.append("experiment \(experiment.number) failed: \(reason)")
            case .skipped(let reason): lines.append("experiment \(experiment.number) skipped: \(reason)")
            }
        }
        lines.append(totals(summary))
        return lines
    }

    /// "4 of 5 experiments run: 3 completed, 1 failed, 1 skipped · 2 anomalies · 0 safety trips ·
    /// 40 min 00 s of rig time in 12.3 s".
    public static func totals(_ summary: ResultsSummary) -> String {
        "\(summary.run) of \(summary.planned) experiments run: \(summary.completed) completed, \(summary.failed) failed, "
            + "\(summary.skipped) skipped · \(plural(summary.anomalies, "anomaly", "anomalies")) · "
            + "\(plural(summary.safetyTrips, "safety trip", "safety trips")) · "
            + "\(duration(summary.virtualSeconds)) of rig time in \(duration(summary.wallSeconds))"
    }

    /// The live progress line, e.g.
    /// `[  3/256] expt 3 grid-003 · sampling 7/20 · reactor 239.8 °C · last peak 512.3 nm (2.420 eV) · ETA 1 h 02 min`.
    /// `aliquot`: aliquots taken and planned, when sampling; absent values are left out.
    public static func progressLine(
        experiment: Int, of experiments: Int, name: String, phase: String, aliquot: (taken: Int, planned: Int)? = nil,
        reactorCelsius: Double?, lastPeakNanometres: Double?, remainingSeconds: Double?
    ) -> String {
        let width = String(experiments).count
        let position = String(repeating: " ", count: max(0, width - String(experiment).count)) + String(experiment)
        var parts = ["[\(position)/\(experiments)] expt \(experiment)" + (name.isEmpty ? "" : " \(name)")]
        parts.append(phase + (aliquot.map { " \($0.taken)/\($0.planned)" } ?? ""))
        if let reactorCelsius, reactorCelsius.isFinite {
            parts.append("reactor \(DecimalText.string(reactorCelsius, decimals: 1, trimZeros: false)) °C")
        }
        if let nanometres = lastPeakNanometres, nanometres.isFinite, nanometres > 0 {
            let electronvolts = PhotonEnergy.electronvolts(nanometres: nanometres)
            parts.append(
                "last peak \(DecimalText.string(nanometres, decimals: 1, trimZeros: false)) nm "
                    + "(\(DecimalText.string(electronvolts, decimals: 3, trimZeros: false)) eV)")
        }
        if let remainingSeconds, remainingSeconds.isFinite, remainingSeconds >= 0 {
            parts.append("ETA \(duration(remainingSeconds))")
        }
        return parts.joined(separator: " · ")
    }

    /// Time left if the rest goes at the pace so far: elapsed·(1 − f)/f for the fraction f done;
    /// nil before anything is done.
    public static func remainingSeconds(elapsedSeconds: Double, fractionDone: Double) -> Double? {
        guard fractionDone > 0, fractionDone <= 1, elapsedSeconds.isFinite, elapsedSeconds >= 0 else { return nil }
        return elapsedSeconds * (1 - fractionDone) / fractionDone
    }

    /// "12.3 s" under a minute, "3 min 05 s" under an hour, "2 h 07 min" beyond.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "-" }
        if seconds < 59.95 { return DecimalText.string(seconds, decimals: 1, trimZeros: false) + " s" }
        let whole = Int(seconds.rounded())
        if whole < 3600 { return "\(whole / 60) min \(twoDigits(whole % 60)) s" }
        let minutes = Int((seconds / 60).rounded())
        return "\(minutes / 60) h \(twoDigits(minutes % 60)) min"
    }

    private static func twoDigits(_ value: Int) -> String {
        value < 10 ? "0\(value)" : String(value)
    }

    private static func plural(_ count: Int, _ one: String, _ many: String) -> String {
        "\(count) \(count == 1 ? one : many)"
    }

    /// Up to 3 decimals, trailing zeros dropped: 10 -> "10", 10.002 -> "10.002".
    private static func short(_ value: Double) -> String {
        DecimalText.string(value, decimals: 3)
    }

    private static func fixed(_ value: Double?, _ decimals: Int) -> String {
        guard let value, value.isFinite else { return "-" }
        return DecimalText.string(value, decimals: decimals, trimZeros: false)
    }
}
