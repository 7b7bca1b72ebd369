import Testing
@testable import Devices

struct SamplingValveTimingTests {
    /// 500 mm of 0.5 mm ID tube, 2 mPa·s: R = 128 μ L / (π d⁴) = 128 × 0.002 × 0.5 / (π × 0.0005⁴)
    /// = 6.519e11 Pa·s/m³ = 6.519 mbar·s/µL (by hand: 0.128 / 1.9635e-13).
    @Test func hagenPoiseuilleByHand() {
        let line = SamplingLine.hagenPoiseuille(lengthMm: 500, innerDiameterMm: 0.5, viscosityMPaS: 2)
        #expect(abs(line.resistanceMbarSecondsPerMicrolitre - 6.519) < 0.001)
        // Halving the bore multiplies the resistance by 16; doubling the length by 2.
        let narrow = SamplingLine.hagenPoiseuille(lengthMm: 500, innerDiameterMm: 0.25, viscosityMPaS: 2)
        #expect(abs(narrow.resistanceMbarSecondsPerMicrolitre / line.resistanceMbarSecondsPerMicrolitre - 16) < 1e-9)
        let long = SamplingLine.hagenPoiseuille(lengthMm: 1000, innerDiameterMm: 0.5, viscosityMPaS: 2)
        #expect(abs(long.resistanceMbarSecondsPerMicrolitre / line.resistanceMbarSecondsPerMicrolitre - 2) < 1e-9)
    }

    /// (µL, mbar, R mbar·s/µL, max s) -> (open s, expected µL, clamped), computed by hand:
    /// t = V R / p, clamped at the maximum, and then V = p t / R.
    @Test(arguments: [
        (40.0, 600.0, 6.5, 1.0, 40.0 * 6.5 / 600, 40.0, false),  // 0.4333 s
        (20.0, 1000.0, 5.0, 0.5, 0.1, 20.0, false),
        (40.0, 300.0, 10.0, 1.0, 1.0, 30.0, true),  // wants 1.333 s; 1 s at 30 µL/s
        (40.0, 600.0, 15.0, 1.0, 1.0, 40.0, false),  // exactly the limit: not clamped
    ])
    func openTimes(
        microlitres: Double, mbar: Double, resistance: Double, maxSeconds: Double, seconds: Double, expected: Double,
        clamped: Bool
    ) {
        let pulse = SamplingValveTiming.pulse(
            microlitres: microlitres, pressureMbar: mbar,
            line: SamplingLine(resistanceMbarSecondsPerMicrolitre: resistance), maxPulseSeconds: maxSeconds)
        #expect(abs(pulse.openSeconds - seconds) < 1e-12)
        #expect(abs(pulse.expectedMicrolitres - expected) < 1e-9)
        #expect(pulse.clamped == clamped)
        #expect(pulse.openNanoseconds == Int64((seconds * 1e9).rounded()))
    }

    @Test func rigAliquotAtSamplingPressure() {
        // 40 µL at 600 mbar through the rig's 6.519 mbar·s/µL line: 92.0 µL/s, 0.4346 s.
        let line = SamplingLine.hagenPoiseuille(lengthMm: 500, innerDiameterMm: 0.5, viscosityMPaS: 2)
        let pulse = SamplingValveTiming.pulse(microlitres: 40, pressureMbar: 600, line: line, maxPulseSeconds: 1)
        #expect(abs(line.flowMicrolitresPerSecond(atMbar: 600) - 92.04) < 0.01)
        #expect(abs(pulse.openSeconds - 0.4346) < 0.0001)
        #expect(!pulse.clamped)
    }

    /// (open s, mbar, R) -> µL = p t / R by hand; no flow without pressure or time.
    @Test(arguments: [
        (0.5, 600.0, 6.0, 50.0),
        (0.25, 400.0, 10.0, 10.0),
        (1.0, 0.0, 6.0, 0.0),
        (1.0, -50.0, 6.0, 0.0),
        (-0.1, 600.0, 6.0, 0.0),
    ])
    func withdrawnVolume(seconds: Double, mbar: Double, resistance: Double, microlitres: Double) {
        let volume = SamplingValveTiming.withdrawnMicrolitres(
            openSeconds: seconds, pressureMbar: mbar, line: SamplingLine(resistanceMbarSecondsPerMicrolitre: resistance))
        #expect(abs(volume - microlitres) < 1e-12)
    }

    @Test func inverseUndoesTheForwardLaw() {
        let line = SamplingLine(resistanceMbarSecondsPerMicrolitre: 7.25)
        for target in [5.0, 40.0, 80.0] {
            let pulse = SamplingValveTiming.pulse(microlitres: target, pressureMbar: 600, line: line, maxPulseSeconds: 10)
            let back = SamplingValveTiming.withdrawnMicrolitres(openSeconds: pulse.openSeconds, pressureMbar: 600, line: line)
            #expect(abs(back - target) < 1e-9)
        }
    }
}
