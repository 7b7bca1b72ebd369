import Foundation
import Testing
@testable import Spectra

/// Locating and fitting one peak, and the statuses that say why there is none.
struct PeakAnalysisTests {
    static let uv = try! RigData.uvAxis()
    static let pl = try! RigData.plAxis()
    // One analyser per test: tests run in parallel and an analyser is one thread's workspace.
    let absorbanceAnalyzer = try! SpectrumAnalyzer(axis: PeakAnalysisTests.uv)
    let emissionAnalyzer = try! SpectrumAnalyzer(axis: PeakAnalysisTests.pl)

    static func gaussian(_ energy: Double, centre: Double, sigma: Double) -> Double {
        exp(-0.5 * pow((energy - centre) / sigma, 2))
    }

    /// σ (eV) of a Gaussian in energy whose low-energy half width, doubled, is `fwhm` nm.
    static func sigma(peak: Double, fwhm: Double) -> Double {
        (PhotonEnergy.electronvolts(nanometres: peak) - PhotonEnergy.electronvolts(nanometres: peak + fwhm / 2)) / (2 * log(2.0)).squareRoot()
    }

    /// `shape(λ)` on `axis` plus seeded white noise of `noise`.
    static func values(_ axis: WavelengthAxis, noise: Double, seed: UInt64 = 3, _ shape: (Double) -> Double) -> [Double] {
        var generator = SeededGenerator(seed: seed)
        return axis.nanometres.map { shape($0) + noise * generator.gaussian() }
    }

    @Test func anExcitonOnASlopedBaselineIsFittedExactly() throws {
        let e0 = PhotonEnergy.electronvolts(nanometres: 520)
        let s = Self.sigma(peak: 520, fwhm: 30)
        let spectrum = AbsorbanceSpectrum(values: Self.values(Self.uv, noise: 1e-4) { nm in
            let e = PhotonEnergy.electronvolts(nanometres: nm)
            return 0.4 * Self.gaussian(e, centre: e0, sigma: s) + 0.05 + 0.03 * (e - 2)
        })
        let fit = absorbanceAnalyzer.analyzeAbsorbance(spectrum)
        let peak = try #require(fit.peak)
        #expect(fit.status == .ok && fit.kind == .absorbance)
        #expect(abs(peak.peakNanometres - 520) < 0.02)
        #expect(abs(peak.fwhmNanometres - 30) < 0.05)
        #expect(abs(peak.height - 0.4) < 0.001)
        #expect(peak.residual < 2e-4)
        // The data set's conversions.
        #expect(abs(peak.peakElectronvolts - 1239.84193 / peak.peakNanometres) < 1e-12)
        #expect(abs(peak.fwhmElectronvolts - 2 * (1239.84193 / peak.peakNanometres - 1239.84193 / (peak.peakNanometres + peak.fwhmNanometres / 2))) < 1e-12)
        #expect(abs(peak.fwhmElectronvolts - 2 * (2 * log(2.0)).squareRoot() * s) < 2e-4)
    }

    /// The lowest-energy exciton is the one reported, not a stronger transition above it.
    @Test func theLowestEnergyExcitonWinsOverAStrongerOneAbove() throws {
        let e1 = PhotonEnergy.electronvolts(nanometres: 560)
        let e3 = PhotonEnergy.electronvolts(nanometres: 470)
        let spectrum = AbsorbanceSpectrum(values: Self.values(Self.uv, noise: 1e-3) { nm in
            let e = PhotonEnergy.electronvolts(nanometres: nm)
            return 0.1 * Self.gaussian(e, centre: e1, sigma: 0.05) + 0.5 * Self.gaussian(e, centre: e3, sigma: 0.07) + 0.02
        })
        let peak = try #require(absorbanceAnalyzer.analyzeAbsorbance(spectrum).peak)
        #expect(abs(peak.peakNanometres - 560) < 0.3)
    }

    /// A shoulder: the exciton on a rise so steep the spectrum has no maximum there. Found by its
    /// second-derivative minimum.
    @Test func aShoulderWithoutAMaximumIsFound() throws {
        let truth = SyntheticAbsorbance(
            peakNanometres: 480, fwhmNanometres: 28, height: 0.1, transitions: [], onsetOffset: 0.1, onsetSlope: 3,
            scattering: 0.02, offset: 0)
        let clean = Self.uv.nanometres.map { truth.absorbance(at: $0) }
        // No maximum between 440 and 540 nm: the absorbance falls all the way to the red.
        let region = Self.uv.pixels(in: 440...540)
        #expect(region.dropFirst().allSatisfy { clean[$0] < clean[$0 - 1] })
        let spectrum = AbsorbanceSpectrum(values: Self.values(Self.uv, noise: 5e-4) { truth.absorbance(at: $0) })
        let fit = absorbanceAnalyzer.analyzeAbsorbance(spectrum)
        let peak = try #require(fit.peak, "\(fit.status) \(fit.detail)")
        #expect(abs(peak.peakNanometres - 480) < 1.5)
        #expect(abs(peak.fwhmNanometres - 28) < 3)
    }

    @Test func aSpectrumWithoutAnExcitonHasNoPeak() {
        var generator = SeededGenerator(seed: 5)
        for _ in 0..<20 {
            let truth = SyntheticAbsorbance.randomWithoutExciton(using: &generator)
            let reading = truth.acquire(axis: Self.uv, using: &generator)
            let fit = absorbanceAnalyzer.analyzeAbsorbance(
                AbsorbanceSpectrum(sample: reading.sample, reference: reading.reference, dark: reading.dark))
            #expect(fit.status != .ok)
            #expect(fit.peak == nil)
        }
        let flat = absorbanceAnalyzer.analyzeAbsorbance(AbsorbanceSpectrum(values: Self.values(Self.uv, noise: 2e-3) { _ in 0.05 }))
        #expect(flat.status == .noFeature && flat.detail == .noSignificantFeature && flat.peak == nil)
    }

    @Test func anExcitonBelowTheMinimumHeightIsTooWeak() {
        let e0 = PhotonEnergy.electronvolts(nanometres: 500)
        let spectrum = AbsorbanceSpectrum(values: Self.values(Self.uv, noise: 1e-5) { nm in
            0.003 * Self.gaussian(PhotonEnergy.electronvolts(nanometres: nm), centre: e0, sigma: 0.06) + 0.01
        })
        let fit = absorbanceAnalyzer.analyzeAbsorbance(spectrum)
        #expect(fit.status == .tooWeak && fit.detail == .belowMinimumHeight && fit.peak == nil)
    }

    @Test func maskedAndSaturatedPixelsUnderTheExcitonStopTheFit() {
        let e0 = PhotonEnergy.electronvolts(nanometres: 540)
        var spectrum = AbsorbanceSpectrum(values: Self.values(Self.uv, noise: 1e-3) { nm in
            0.3 * Self.gaussian(PhotonEnergy.electronvolts(nanometres: nm), centre: e0, sigma: 0.06) + 0.02
        })
        #expect(absorbanceAnalyzer.analyzeAbsorbance(spectrum).status == .ok)
        // A few masked pixels are bridged and left out of the fit.
        for pixel in Self.uv.pixels(in: 560...562) { spectrum.flags[pixel] = .saturated }
        #expect(absorbanceAnalyzer.analyzeAbsorbance(spectrum).status == .ok)
        // A third of the window saturated: no number.
        for pixel in Self.uv.pixels(in: 545...575) { spectrum.flags[pixel] = .saturated }
        let saturated = absorbanceAnalyzer.analyzeAbsorbance(spectrum)
        #expect(saturated.status == .saturated && saturated.peak == nil)
        for pixel in Self.uv.pixels(in: 545...575) { spectrum.flags[pixel] = .dimReference }
        let masked = absorbanceAnalyzer.analyzeAbsorbance(spectrum)
        #expect(masked.status == .masked && masked.peak == nil)
        // Everything masked.
        let nothing = AbsorbanceSpectrum(count: Self.uv.count)
        #expect(absorbanceAnalyzer.analyzeAbsorbance(nothing).status == .masked)
    }

    /// The band edge, not the trap band, even when the trap band is twice as tall.
    @Test func theBandEdgeWinsOverAStrongerTrapBand() throws {
        let truth = SyntheticEmission(
            peakNanometres: 530, fwhmNanometres: 30, height: 5000, trapOffset: 0.4, trapFWHM: 0.45, trapHeight: 10_000,
            ledHeight: 2000, offset: 10)
        var generator = SeededGenerator(seed: 8)
        let fit = emissionAnalyzer.analyzeEmission(truth.acquire(axis: Self.pl, using: &generator))
        let peak = try #require(fit.peak, "\(fit.status) \(fit.detail)")
        #expect(fit.kind == .emission)
        #expect(abs(peak.peakNanometres - 530) < 0.3)
        #expect(abs(peak.fwhmNanometres - 30) < 0.8)
        #expect(abs(peak.height - 5000) < 150)
    }

    @Test func noBandEdgeMeansNoPeak() {
        // The excitation LED's leak and a trap band alone.
        for trap in [0.0, 8000] {
            let truth = SyntheticEmission(
                peakNanometres: nil, fwhmNanometres: nil, height: 0, trapOffset: 0, trapFWHM: 0.5, trapHeight: trap, ledHeight: 3000, offset: 5)
            var generator = SeededGenerator(seed: 9)
            let fit = emissionAnalyzer.analyzeEmission(truth.acquire(axis: Self.pl, using: &generator))
            #expect(fit.status == .noFeature && fit.peak == nil, "trap \(trap): \(fit.status) \(fit.detail)")
        }
    }

    @Test func aSaturatedBandEdgeIsReportedAsSuch() {
        let truth = SyntheticEmission(
            peakNanometres: 560, fwhmNanometres: 35, height: 90_000, trapOffset: 0.4, trapFWHM: 0.5, trapHeight: 0, ledHeight: 0, offset: 0)
        var generator = SeededGenerator(seed: 10)
        let spectrum = truth.acquire(axis: Self.pl, using: &generator)
        #expect(spectrum.anySaturated)
        let fit = emissionAnalyzer.analyzeEmission(spectrum)
        #expect(fit.status == .saturated && fit.detail == .saturatedPixels && fit.peak == nil)
    }

    @Test func anAxisShorterThanTheFiltersIsRefused() {
        let axis = try! WavelengthAxis(nanometres: (0..<50).map { 400 + Double($0) * 0.33 })
        #expect(throws: SpectraError.axisTooShort(count: 50, minimum: 123)) { try SpectrumAnalyzer(axis: axis) }
    }

    @Test(arguments: [
        ([400.0], SpectraError.axisTooShort(count: 1, minimum: 2)),
        ([400, .nan, 402], SpectraError.axisNotFinite(pixel: 1)),
        ([-1, 400], SpectraError.axisNotPositive(pixel: 0, nanometres: -1)),
        ([400, 401, 401], SpectraError.axisNotIncreasing(pixel: 2, previous: 401, value: 401)),
    ])
    func badAxesAreRefused(nanometres: [Double], error: SpectraError) {
        #expect(throws: error) { try WavelengthAxis(nanometres: nanometres) }
    }

    /// A CSV from another instrument (1 nm pixels) is filtered alike: the windows are in nm.
    @Test func aCoarserAxisGetsNarrowerPixelWindows() throws {
        let axis = try WavelengthAxis(nanometres: (0..<500).map { 350 + Double($0) })
        let analyzer = try SpectrumAnalyzer(axis: axis)
        #expect(analyzer.absorbanceStage.curvatureFilter.halfWidth == 7)
        #expect(analyzer.absorbanceStage.smoother.halfWidth == 3)
        let e0 = PhotonEnergy.electronvolts(nanometres: 505)
        let values = Self.values(axis, noise: 1e-3) { nm in
            0.2 * Self.gaussian(PhotonEnergy.electronvolts(nanometres: nm), centre: e0, sigma: Self.sigma(peak: 505, fwhm: 32)) + 0.03
        }
        let peak = try #require(analyzer.analyzeAbsorbance(AbsorbanceSpectrum(values: values)).peak)
        #expect(abs(peak.peakNanometres - 505) < 0.3)
        #expect(abs(peak.fwhmNanometres - 32) < 0.6)
    }

    /// The block noise estimate's median (quickselect in the workspace).
    @Test(arguments: [([3.0, 1, 2], 2.0), ([4.0, 1, 3, 2], 2.5), ([5.0, 5, 5, 1, 9], 5.0), ([7.0], 7.0), ([2.0, 1], 1.5)])
    func medianOfABlock(values: [Double], expected: Double) {
        var copy = values
        let result = copy.withUnsafeMutableBufferPointer { median($0, $0.count) }
        #expect(result == expected)
    }
}
