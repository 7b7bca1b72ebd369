/// Photon energy and wavelength, and the published data set's width conversion.
///
/// E = hc / λ with hc = 1239.84193 eV·nm (CODATA 2018 h·c in eV·nm, as used by the published
/// CdSe data set: its `Peak_eV` column is 1239.84193 / `Peak_nm` to the printed three decimals).
public enum PhotonEnergy {
    /// h·c in eV·nm.
    public static let hcElectronvoltNanometres = 1239.84193

    /// Photon energy in eV of light of `nanometres` wavelength.
    @inlinable
    public static func electronvolts(nanometres: Double) -> Double {
        hcElectronvoltNanometres / nanometres
    }

    /// Wavelength in nm of a photon of `electronvolts` energy.
    @inlinable
    public static func nanometres(electronvolts: Double) -> Double {
        hcElectronvoltNanometres / electronvolts
    }

    /// FWHM in eV as the published data set computes it from a peak at `peakNanometres` with a
    /// full width `fwhmNanometres`: 2·(E(λ0) − E(λ0 + FWHM_nm/2)), twice the half width on the
    /// low-energy (long-wavelength) side. It reproduces every row of `uv_train_val.csv` to the
    /// printed three decimals.
    @inlinable
    public static func fwhmElectronvolts(peakNanometres: Double, fwhmNanometres: Double) -> Double {
        2 * (electronvolts(nanometres: peakNanometres) - electronvolts(nanometres: peakNanometres + fwhmNanometres / 2))
    }

    /// The inverse of `fwhmElectronvolts(peakNanometres:fwhmNanometres:)`: the FWHM in nm whose
    /// low-energy half width is `fwhmElectronvolts / 2`, i.e. 2·(λ(E0 − FWHM_eV/2) − λ0).
    @inlinable
    public static func fwhmNanometres(peakElectronvolts: Double, fwhmElectronvolts: Double) -> Double {
        2 * (nanometres(electronvolts: peakElectronvolts - fwhmElectronvolts / 2) - nanometres(electronvolts: peakElectronvolts))
    }
}
