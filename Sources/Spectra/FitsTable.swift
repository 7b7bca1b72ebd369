/// The fits of a set of spectra as CSV in the published data set's naming: one row per spectrum,
///
///     name,Peak_nm,FWHM_nm,Peak_eV,FWHM_eV,height,residual,status
///     t010s,521.398,35.354,2.3779,0.1589,0.3910,0.00211,ok
///     t020s,,,,,,,too_weak
///
/// The numbers are empty unless the status is `ok`. Wavelengths have 3 decimals (as the data
/// set), energies 4; height and residual 4 and 5 decimals for absorbance, 1 and 2 for PL counts.
public enum FitsTable {
    public static let header = "name,Peak_nm,FWHM_nm,Peak_eV,FWHM_eV,height,residual,status"

    /// The row of one spectrum (no line end).
    public static func row(name: String, fit: PeakFit) -> String {
        guard let peak = fit.peak, fit.status == .ok else {
            return "\(name),,,,,,,\(fit.status.rawValue)"
        }
        let heightDecimals = fit.kind == .absorbance ? 4 : 1
        let residualDecimals = fit.kind == .absorbance ? 5 : 2
        return [
            name, fixed(peak.peakNanometres, 3), fixed(peak.fwhmNanometres, 3), fixed(peak.peakElectronvolts, 4),
            fixed(peak.fwhmElectronvolts, 4), fixed(peak.height, heightDecimals), fixed(peak.residual, residualDecimals),
            fit.status.rawValue,
        ].joined(separator: ",")
    }

    /// The whole table, header first, each line ended by a line feed.
    public static func text(names: [String], fits: [PeakFit]) -> String {
        precondition(names.count == fits.count, "one name per fit")
        var text = header + "\n"
        for (name, fit) in zip(names, fits) { text += row(name: name, fit: fit) + "\n" }
        return text
    }

    /// `value` rounded to `decimals` places, written out in full (no exponent).
    public static func fixed(_ value: Double, _ decimals: Int) -> String {
        precondition(decimals >= 0 && decimals <= 9)
        guard value.isFinite else { return "" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9e15 else { return String(value) }
        let units = Int64(scaled)
        let whole = units / Int64(scale)
        var fraction = String(units % Int64(scale))
        while fraction.count < decimals { fraction = "0" + fraction }
        let sign = value < 0 && units != 0 ? "-" : ""
        return decimals == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
    }
}
