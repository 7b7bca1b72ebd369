import Spectra

/// The two plots of one experiment in the results folder (`plots/expt-NNN-spectra.svg`,
/// `plots/expt-NNN-peak.svg`), built from its aliquot records with `SVGPlot`.
public enum ExperimentPlots {
    /// Absorbance (top) and PL (bottom) spectra of every aliquot inside the wavelength windows,
    /// coloured by time after injection (viridis: early dark, late light), with a colour key.
    public static func spectra(
        experiment: PlannedExperiment, records: [AliquotRecord], absorbanceWindow: ClosedRange<Double>,
        emissionWindow: ClosedRange<Double>
    ) -> String {
        let latest = max(records.map(\.scheduledSeconds).max() ?? 600, 1)
        func panel(_ kind: Spectra.SpectrumKind, _ window: ClosedRange<Double>) -> SVGPlot {
            var series: [SVGPlot.Series] = []
            for record in records {
                guard let measurement = kind == .absorbance ? record.absorbance : record.photoluminescence else { continue }
                var xs: [Double] = []
                var ys: [Double] = []
                for (x, y) in zip(measurement.wavelengthsNanometres, measurement.processed) where window.contains(x) {
                    xs.append(x)
                    ys.append(y)
                }
                series.append(
                    SVGPlot.Series(
                        name: nil, xs: xs, ys: ys,
                        colour: SVGColour.gradient(SVGColour.viridis, at: record.scheduledSeconds / latest)))
            }
            return SVGPlot(
                title: title(experiment) + (kind == .absorbance ? ": absorbance" : ": photoluminescence"),
                xLabel: "Wavelength (nm)", yLabel: kind == .absorbance ? "Absorbance" : "PL (counts)",
                xRange: window, series: series,
                colourKey: SVGPlot.ColourKey(label: "t (s)", lower: 0, upper: latest, stops: SVGColour.viridis))
        }
        return SVGDocument.stacked([panel(.absorbance, absorbanceWindow), panel(.emission, emissionWindow)]).render()
    }

    /// Peak energy (top) and FWHM (bottom) against time after injection: measured absorbance and
    /// PL points, the aliquots flagged as anomalies in red, and the model's MC-dropout prediction
    /// for `predictionKind` as a dashed mean with a band of ± `bandSigmas` standard deviations.
    public static func peaks(
        experiment: PlannedExperiment, records: [AliquotRecord], predictionKind: Spectra.SpectrumKind, bandSigmas: Double
    ) -> String {
        let latest = max(records.map(\.withdrawnSeconds).max() ?? 600, 600)
        func panel(width: Bool) -> SVGPlot {
            func value(_ peak: PeakParameters) -> Double { width ? peak.fwhmElectronvolts : peak.peakElectronvolts }
            var series: [SVGPlot.Series] = []
            var bands: [SVGPlot.Band] = []
            let predicted = records.filter { $0.prediction != nil }
            if !predicted.isEmpty {
                let xs = predicted.map(\.withdrawnSeconds)
                let means = predicted.map { width ? $0.prediction!.fwhmElectronvolts : $0.prediction!.peakElectronvolts }
                let spreads = predicted.map {
                    width ? $0.prediction!.fwhmSpreadElectronvolts : $0.prediction!.peakSpreadElectronvolts
                }
                bands.append(
                    SVGPlot.Band(
                        name: "predicted ± \(DecimalText.string(bandSigmas, decimals: 2)) sd", xs: xs,
                        lower: zip(means, spreads).map { $0 - bandSigmas * $1 },
                        upper: zip(means, spreads).map { $0 + bandSigmas * $1 }, colour: SVGColour.grey))
                series.append(SVGPlot.Series(name: "predicted mean", xs: xs, ys: means, colour: SVGColour.grey, dashed: true))
            }
            for (kind, name, colour) in [
                (Spectra.SpectrumKind.absorbance, "absorbance", SVGColour.blue), (.emission, "PL", SVGColour.orange),
            ] {
                var xs: [Double] = []
                var ys: [Double] = []
                for record in records {
                    let measurement = kind == .absorbance ? record.absorbance : record.photoluminescence
                    guard let measurement, measurement.fit.status == .ok, let peak = measurement.fit.peak else { continue }
                    xs.append(record.withdrawnSeconds)
                    ys.append(value(peak))
                }
                if !xs.isEmpty { series.append(SVGPlot.Series(name: name, xs: xs, ys: ys, colour: colour, mark: .points)) }
            }
            var anomalyXs: [Double] = []
            var anomalyYs: [Double] = []
            for record in records where record.anomaly != nil {
                let measurement = predictionKind == .absorbance ? record.absorbance : record.photoluminescence
                guard let measurement, measurement.fit.status == .ok, let peak = measurement.fit.peak else { continue }
                anomalyXs.append(record.withdrawnSeconds)
                anomalyYs.append(value(peak))
            }
            if !anomalyXs.isEmpty {
                series.append(SVGPlot.Series(name: "anomaly", xs: anomalyXs, ys: anomalyYs, colour: SVGColour.red, mark: .points))
            }
            return SVGPlot(
                title: title(experiment) + (width ? ": FWHM" : ": peak"), xLabel: "Time after injection (s)",
                yLabel: width ? "FWHM (eV)" : "Peak (eV)", xRange: 0...latest, series: series, bands: bands)
        }
        return SVGDocument.stacked([panel(width: false), panel(width: true)]).render()
    }

    /// "Expt 3 grid-003 (Cd 10 mM, Se 10 mM, OA/Cd 40, 240 °C)".
    static func title(_ experiment: PlannedExperiment) -> String {
        let condition = experiment.condition
        let numbers = "Cd \(DecimalText.string(condition.cadmiumMillimolar, decimals: 3)) mM, "
            + "Se \(DecimalText.string(condition.seleniumMillimolar, decimals: 3)) mM, "
            + "OA/Cd \(DecimalText.string(condition.oleicAcidPerCadmium, decimals: 3)), "
            + "\(DecimalText.string(condition.temperatureCelsius, decimals: 1)) °C"
        return "Expt \(experiment.number) \(experiment.name) (\(numbers))"
    }
}
