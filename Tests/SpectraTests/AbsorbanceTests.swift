import Foundation
import Testing
@testable import Spectra

/// A = −log10((S − D)/(R − D)) and its masks.
struct AbsorbanceTests {
    static func spectrum(_ counts: [Double], saturated: [Bool]? = nil) -> CountSpectrum {
        CountSpectrum(counts: counts, saturated: saturated)
    }

    @Test func beerLambertValues() {
        // Transmittances 1, 0.5, 0.1, 0.01 above a 1000-count dark; reference 11 000.
        let dark = Self.spectrum([1000, 1000, 1000, 1000])
        let reference = Self.spectrum([11_000, 11_000, 11_000, 11_000])
        let sample = Self.spectrum([11_000, 6000, 2000, 1100])
        let a = AbsorbanceSpectrum(sample: sample, reference: reference, dark: dark)
        #expect(a.flags == [.valid, .valid, .valid, .valid])
        #expect(a.values[0] == 0)
        #expect(abs(a.values[1] - log10(2.0)) < 1e-15)
        #expect(abs(a.values[2] - 1) < 1e-15)
        #expect(abs(a.values[3] - 2) < 1e-15)
    }

    @Test func masksAreZeroNeverInfinityOrNaN() {
        let dark = Self.spectrum([1000, 1000, 1000, 1000, 1000, 1000, 1000, .nan], saturated: [false, false, false, false, false, false, true, false])
        let reference = Self.spectrum(
            [11_000, 11_000, 65_535, 1100, 11_000, 11_000, 11_000, 11_000], saturated: [false, false, true, false, false, false, false, false])
        let sample = Self.spectrum(
            [65_535, 900, 5000, 1050, 1005, 1000, 5000, 5000], saturated: [true, false, false, false, false, false, false, false])
        let a = AbsorbanceSpectrum(sample: sample, reference: reference, dark: dark)
        #expect(a.flags == [.saturated, .opaque, .saturated, .dimReference, .opaque, .opaque, .saturated, .notFinite])
        #expect(a.values.allSatisfy { $0 == 0 })
        #expect(a.count(of: .saturated) == 3)
        #expect(a.count(of: .opaque) == 3)
    }

    @Test func theThresholdsAreSettings() {
        let dark = Self.spectrum([0, 0])
        let reference = Self.spectrum([150, 10_000])
        let sample = Self.spectrum([100, 50])  // A = 0.176 and 2.30
        let strict = AbsorbanceSpectrum(sample: sample, reference: reference, dark: dark)
        #expect(strict.flags == [.dimReference, .valid])
        let lenient = AbsorbanceSpectrum(
            sample: sample, reference: reference, dark: dark, settings: AbsorbanceSettings(minimumReferenceCounts: 100, maximumAbsorbance: 2))
        #expect(lenient.flags == [.valid, .opaque])
        #expect(abs(lenient.values[0] - (-log10(100.0 / 150))) < 1e-15)
    }

    @Test func recomputingInPlaceOverwritesEveryPixel() {
        var a = AbsorbanceSpectrum(count: 3)
        #expect(a.flags == [.notFinite, .notFinite, .notFinite])
        a.compute(sample: Self.spectrum([10, 10, 10]), reference: Self.spectrum([100, 100, 1000]), dark: Self.spectrum([0, 0, 0]),
            settings: AbsorbanceSettings(minimumReferenceCounts: 50))
        #expect(a.flags == [.valid, .valid, .valid])
        #expect(abs(a.values[2] - 2) < 1e-15)
        a.compute(sample: Self.spectrum([10, 0, 10]), reference: Self.spectrum([100, 100, 10]), dark: Self.spectrum([0, 0, 0]),
            settings: AbsorbanceSettings(minimumReferenceCounts: 50))
        #expect(a.flags == [.valid, .opaque, .dimReference])
        #expect(a.values[1] == 0 && a.values[2] == 0)
    }

    @Test func valuesFromAFileMaskWhatIsNotFinite() {
        let a = AbsorbanceSpectrum(values: [0.1, .nan, .infinity, -0.02])
        #expect(a.flags == [.valid, .notFinite, .notFinite, .valid])
        #expect(a.values == [0.1, 0, 0, -0.02])
    }

    @Test func saturationFlagsTravelWithTheCounts() {
        let counts = CountSpectrum(counts: [1, 2, 3], saturated: [false, true, false])
        #expect(counts.anySaturated)
        #expect(!CountSpectrum(counts: [1, 2]).anySaturated)
    }
}
