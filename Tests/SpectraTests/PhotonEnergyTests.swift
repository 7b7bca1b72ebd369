import Foundation
import Testing
@testable import Spectra

/// The conversions against the published data set.
struct PhotonEnergyTests {
    /// Every row of uv_train_val.csv: Peak_eV = 1239.84193 / Peak_nm and
    /// FWHM_eV = 2·(E(λ0) − E(λ0 + FWHM_nm/2)), to the file's three decimals (half a unit of the
    /// last place, plus what the three-decimal inputs carry: 1e-5 eV).
    @Test func theUVDataSetsWidthsAreReproduced() throws {
        let rows = try RigData.rows("uv_train_val.csv")
        #expect(rows.count == 4946)
        var worstWidth = 0.0
        var worstPeak = 0.0
        var worstSymmetric = 0.0
        for row in rows {
            let peak = try #require(Double(row["Peak_nm"] ?? ""))
            let width = try #require(Double(row["FWHM_nm"] ?? ""))
            let peakEV = try #require(Double(row["Peak_eV"] ?? ""))
            let widthEV = try #require(Double(row["FWHM_eV"] ?? ""))
            worstWidth = max(worstWidth, abs(PhotonEnergy.fwhmElectronvolts(peakNanometres: peak, fwhmNanometres: width) - widthEV))
            worstPeak = max(worstPeak, abs(PhotonEnergy.electronvolts(nanometres: peak) - peakEV))
            // The symmetric width E(λ0 − w/2) − E(λ0 + w/2), which the data set does not use.
            let symmetric = PhotonEnergy.electronvolts(nanometres: peak - width / 2) - PhotonEnergy.electronvolts(nanometres: peak + width / 2)
            worstSymmetric = max(worstSymmetric, abs(symmetric - widthEV))
        }
        #expect(worstWidth <= 0.0005 + 1e-5)
        #expect(worstPeak <= 0.0005 + 1e-5)
        // The test tells the formulas apart: the symmetric one misses by far more than rounding.
        #expect(worstSymmetric > 0.01)
    }

    @Test(arguments: [(400.0, 30.0), (521.398, 35.354), (600.0, 60.0), (455.2, 19.005)])
    func nanometreWidthInvertsTheElectronvoltWidth(peak: Double, width: Double) {
        let energy = PhotonEnergy.electronvolts(nanometres: peak)
        let electronvolts = PhotonEnergy.fwhmElectronvolts(peakNanometres: peak, fwhmNanometres: width)
        #expect(abs(PhotonEnergy.fwhmNanometres(peakElectronvolts: energy, fwhmElectronvolts: electronvolts) - width) < 1e-9)
    }

    @Test func energyAndWavelengthAreReciprocal() {
        #expect(PhotonEnergy.electronvolts(nanometres: 1239.84193) == 1)
        #expect(abs(PhotonEnergy.electronvolts(nanometres: 620) - 1.999_745_048) < 1e-9)
        #expect(abs(PhotonEnergy.nanometres(electronvolts: PhotonEnergy.electronvolts(nanometres: 517.3)) - 517.3) < 1e-12)
    }
}
