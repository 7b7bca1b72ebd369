/// The hydraulic resistance of the sampling line, from the pressurized reactor through the
/// sampling valve to the cooling coil (open to atmosphere downstream).
///
/// Laminar flow: Q = ΔP / R. The unit is mbar per (µL/s), i.e. mbar·s/µL, so that a gauge
/// pressure in mbar divided by it gives µL/s.
public struct SamplingLine: Equatable, Hashable, Sendable {
    /// R, mbar·s/µL (> 0).
    public var resistanceMbarSecondsPerMicrolitre: Double

    public init(resistanceMbarSecondsPerMicrolitre: Double) {
        precondition(
            resistanceMbarSecondsPerMicrolitre > 0 && resistanceMbarSecondsPerMicrolitre.isFinite,
            "a sampling line has a positive resistance, got \(resistanceMbarSecondsPerMicrolitre)")
        self.resistanceMbarSecondsPerMicrolitre = resistanceMbarSecondsPerMicrolitre
    }

    /// Hagen–Poiseuille for a round tube: R = 128 μ L / (π d⁴), laminar, fully developed flow
    /// of a Newtonian liquid (Re = 4 ρ Q / (π μ d) ≈ 100 for the rig's line at 600 mbar: laminar by far, below ~2000).
    ///
    /// In SI units R is Pa·s/m³; 1 mbar = 100 Pa and 1 µL = 1e-9 m³, so R[mbar·s/µL] =
    /// R[Pa·s/m³] × 1e-11. Example (the rig's line, Boards/*.toml): 500 mm of 0.5 mm ID PTFE,
    /// μ = 2 mPa·s: R = 128 × 0.002 × 0.5 / (π × 0.0005⁴) = 6.52e11 Pa·s/m³ = 6.52 mbar·s/µL.
    /// - Parameters:
    ///   - lengthMm: tube length, mm.
    ///   - innerDiameterMm: inner diameter, mm.
    ///   - viscosityMPaS: dynamic viscosity of the liquid in the line, mPa·s (cP).
    public static func hagenPoiseuille(lengthMm: Double, innerDiameterMm: Double, viscosityMPaS: Double) -> SamplingLine {
        precondition(lengthMm > 0 && innerDiameterMm > 0 && viscosityMPaS > 0, "a tube has a length, a bore and a viscosity")
        let length = lengthMm / 1000
        let diameter = innerDiameterMm / 1000
        let viscosity = viscosityMPaS / 1000
        let pascalSecondsPerCubicMetre = 128 * viscosity * length / (Double.pi * diameter * diameter * diameter * diameter)
        return SamplingLine(resistanceMbarSecondsPerMicrolitre: pascalSecondsPerCubicMetre * 1e-11)
    }

    /// Flow at gauge pressure `mbar`, µL/s (0 at or below atmosphere: nothing flows back in).
    public func flowMicrolitresPerSecond(atMbar mbar: Double) -> Double {
        max(mbar, 0) / resistanceMbarSecondsPerMicrolitre
    }
}

/// A planned sampling-valve pulse.
public struct SamplingPulse: Equatable, Sendable {
    /// How long to hold the valve open, s.
    public var openSeconds: Double
    /// The same, in whole nanoseconds, for `SolenoidValve.pulse(nanoseconds:clock:)`.
    public var openNanoseconds: Int64
    /// What that opening withdraws at the planned pressure, µL (the target unless clamped).
    public var expectedMicrolitres: Double
    /// Whether the valve's `max_pulse_ms` cut the pulse short of the target volume.
    public var clamped: Bool

    public init(openSeconds: Double, openNanoseconds: Int64, expectedMicrolitres: Double, clamped: Bool) {
        self.openSeconds = openSeconds
        self.openNanoseconds = openNanoseconds
        self.expectedMicrolitres = expectedMicrolitres
        self.clamped = clamped
    }
}

/// How long to open the sampling valve to withdraw a volume, and the inverse (what an achieved
/// open time withdrew, for the journal).
///
/// At constant gauge pressure p behind a line of resistance R the flow is Q = p / R, so the open
/// time for V is t = V R / p and the volume of an opening t is V = p t / R. The head space loses
/// pressure as the aliquot leaves (40 µL out of a 1.8 mL head space at 600 mbar: the gas expands
/// and the gauge pressure falls to about 566 mbar, Twin `ReactorHeadspace`), which this
/// constant-pressure law ignores when the regulator does not refill during the pulse: it then
/// overestimates the volume by about 3 % (38.8 µL instead of 40). The valve's own opening and
/// closing times (a few ms for a small solenoid) are part of what `line_resistance` is fitted to.
public enum SamplingValveTiming {
    /// The pulse that withdraws `microlitres` at `pressureMbar` gauge through `line`, no longer
    /// than `maxPulseSeconds` (the valve's `max_pulse_ms`).
    ///
    /// Preconditions: a positive volume, a positive pressure (nothing flows at atmosphere: the
    /// caller pressurizes first), a positive maximum.
    public static func pulse(
        microlitres: Double, pressureMbar: Double, line: SamplingLine, maxPulseSeconds: Double
    ) -> SamplingPulse {
        precondition(microlitres > 0 && microlitres.isFinite, "a sample has a volume, got \(microlitres) µL")
        precondition(pressureMbar > 0 && pressureMbar.isFinite, "sampling needs a pressurized reactor, got \(pressureMbar) mbar")
        precondition(maxPulseSeconds > 0 && maxPulseSeconds.isFinite, "a pulse limit is positive")
        let wanted = microlitres * line.resistanceMbarSecondsPerMicrolitre / pressureMbar
        let clamped = wanted > maxPulseSeconds
        let seconds = clamped ? maxPulseSeconds : wanted
        return SamplingPulse(
            openSeconds: seconds,
            openNanoseconds: max(1, Int64((seconds * 1e9).rounded())),
            expectedMicrolitres: clamped
                ? withdrawnMicrolitres(openSeconds: seconds, pressureMbar: pressureMbar, line: line) : microlitres,
            clamped: clamped)
    }

    /// The volume an opening of `openSeconds` withdrew at `pressureMbar` gauge: V = p t / R
    /// (0 for a non-positive time or pressure).
    public static func withdrawnMicrolitres(openSeconds: Double, pressureMbar: Double, line: SamplingLine) -> Double {
        max(openSeconds, 0) * line.flowMicrolitresPerSecond(atMbar: pressureMbar)
    }
}
