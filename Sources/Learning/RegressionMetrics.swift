/// Accuracy of predicted peaks or widths against measured ones, in the units the published work
/// reports: mean absolute error in meV and nm, and the coefficient of determination R².
public struct RegressionMetrics: Sendable, Equatable {
    /// Rows compared.
    public var count: Int
    /// Mean absolute error, meV.
    public var maeMeV: Double
    /// Root mean square error, meV.
    public var rmseMeV: Double
    /// R² = 1 − SS_res/SS_tot of the eV values.
    public var r2: Double
    /// Mean absolute error, nm. Peaks: |hc/E_pred − λ_measured|. Widths: the eV error converted at
    /// the measured peak, |ΔE|·λ²/hc (a width in nm depends on the peak it sits on).
    public var maeNM: Double
    /// R² of the nm values (peaks: hc/E; widths: both converted at the measured peak).
    public var r2NM: Double

    public init(count: Int, maeMeV: Double, rmseMeV: Double, r2: Double, maeNM: Double, r2NM: Double) {
        self.count = count
        self.maeMeV = maeMeV
        self.rmseMeV = rmseMeV
        self.r2 = r2
        self.maeNM = maeNM
        self.r2NM = r2NM
    }

    /// Peak positions: predicted eV against each record's `Peak_eV` and `Peak_nm`.
    public static func peak(predictedEV: [Double], records: [SynthesisRecord]) -> RegressionMetrics {
        precondition(predictedEV.count == records.count && !records.isEmpty, "one prediction per record")
        let hc = planckTimesLightEVNanometres
        return compute(
            predicted: predictedEV, measured: records.map(\.peakEV),
            predictedNM: predictedEV.map { hc / $0 }, measuredNM: records.map(\.peakNM))
    }

    /// Widths: predicted FWHM eV against each record's `FWHM_eV`, nm by the local dispersion.
    public static func width(predictedEV: [Double], records: [SynthesisRecord]) -> RegressionMetrics {
        precondition(predictedEV.count == records.count && !records.isEmpty, "one prediction per record")
        let hc = planckTimesLightEVNanometres
        let dispersion = records.map { $0.peakNM * $0.peakNM / hc }
        return compute(
            predicted: predictedEV, measured: records.map(\.fwhmEV),
            predictedNM: zip(predictedEV, dispersion).map { $0 * $1 },
            measuredNM: zip(records, dispersion).map { $0.fwhmEV * $1 })
    }

    static func compute(predicted: [Double], measured: [Double], predictedNM: [Double], measuredNM: [Double]) -> RegressionMetrics {
        let count = Double(predicted.count)
        var absolute = 0.0
        var squared = 0.0
        var absoluteNM = 0.0
        for index in predicted.indices {
            let error = predicted[index] - measured[index]
            absolute += abs(error)
            squared += error * error
            absoluteNM += abs(predictedNM[index] - measuredNM[index])
        }
        return RegressionMetrics(
            count: predicted.count, maeMeV: 1000 * absolute / count, rmseMeV: 1000 * (squared / count).squareRoot(),
            r2: coefficientOfDetermination(predicted: predicted, measured: measured),
            maeNM: absoluteNM / count, r2NM: coefficientOfDetermination(predicted: predictedNM, measured: measuredNM))
    }

    /// R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)².
    public static func coefficientOfDetermination(predicted: [Double], measured: [Double]) -> Double {
        let mean = measured.reduce(0, +) / Double(measured.count)
        var residual = 0.0
        var total = 0.0
        for index in measured.indices {
            residual += (measured[index] - predicted[index]) * (measured[index] - predicted[index])
            total += (measured[index] - mean) * (measured[index] - mean)
        }
        return total > 0 ? 1 - residual / total : (residual == 0 ? 1 : -.infinity)
    }
}
