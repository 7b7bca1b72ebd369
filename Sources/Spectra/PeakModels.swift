#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fit window of a spectrum, compacted: photon energy (eV) and value of each usable pixel.
/// Points into the analyser's workspace; valid only during one analysis.
struct FitWindow {
    var energies: UnsafeBufferPointer<Double>
    var values: UnsafeBufferPointer<Double>
    var count: Int { energies.count }
}

/// The absorbance model on the low-energy side of the first exciton: a Gaussian in photon energy
/// plus a linear baseline (or a constant, or none),
///
///     f(E) = a·exp(−(E − E0)²/(2σ²)) + b0 + b1·(E − Eref),
///
/// fitted only to pixels from just above the exciton's top down its low-energy side (the
/// half-Gaussian fit of DESIGN.md §1), where higher transitions and the bulk-onset rise barely
/// reach. For a shoulder (no maximum: the exciton sits on the rise itself) the rise's low-energy
/// tail is modelled too, as an Urbach tail u·exp((E − Eref)/w) (F. Urbach, Phys. Rev. 92, 1324
/// (1953)), since there it curves under the whole window.
/// Parameters: [a, E0, σ], the baseline [b0, b1], then with the tail [u, w].
struct HalfGaussianModel: LeastSquaresProblem {
    var window: FitWindow
    /// 0: no baseline; 1: constant; 2: linear in energy.
    var baselineTerms: Int
    /// Whether the Urbach tail of the bulk-onset rise is part of the model.
    var onsetTail: Bool = false
    /// Energy the baseline and tail are referred to (the exciton's top), for a well-conditioned fit.
    var referenceEnergy: Double

    var tailIndex: Int { 3 + baselineTerms }
    var parameterCount: Int { 3 + baselineTerms + (onsetTail ? 2 : 0) }
    var residualCount: Int { window.count }

    @inline(__always)
    func evaluate(_ p: FitParameters, _ body: (Double, FitParameters) -> Void) {
        let a = p[0]
        let centre = p[1]
        let inverseSigma = 1 / p[2]
        let inverseVariance = inverseSigma * inverseSigma
        let linear = baselineTerms >= 2 ? p[4] : 0
        let offset = baselineTerms >= 1 ? p[3] : 0
        let tailIndex = self.tailIndex
        let tail = onsetTail ? p[tailIndex] : 0
        let inverseTailWidth = onsetTail ? 1 / p[tailIndex + 1] : 0
        var gradient = FitParameters(repeating: 0)
        if baselineTerms >= 1 { gradient[3] = 1 }
        for index in 0..<window.count {
            let e = window.energies[index]
            let d = e - centre
            let g = exp(-0.5 * d * d * inverseVariance)
            let peak = a * g
            let slope = peak * d * inverseVariance
            let x = e - referenceEnergy
            var model = peak + offset + linear * x
            gradient[0] = g
            gradient[1] = slope
            gradient[2] = slope * d * inverseSigma
            if baselineTerms >= 2 { gradient[4] = x }
            if onsetTail {
                let rise = exp(x * inverseTailWidth)
                model += tail * rise
                gradient[tailIndex] = rise
                gradient[tailIndex + 1] = -tail * rise * x * inverseTailWidth * inverseTailWidth
            }
            body(window.values[index] - model, gradient)
        }
    }
}

/// The photoluminescence model: the band-edge emission as a Gaussian in photon energy, the broad
/// red trap emission as a second, wider Gaussian at lower energy (held there by its bounds) so it
/// does not pull the band-edge fit, and a constant for what the dark subtraction left:
///
///     f(E) = a·exp(−(E − E0)²/(2σ²)) + b·exp(−(E − Et)²/(2σt²)) + c.
///
/// Parameters: [a, E0, σ, b, Et, σt, c].
struct EmissionModel: LeastSquaresProblem {
    var window: FitWindow

    var parameterCount: Int { 7 }
    var residualCount: Int { window.count }

    @inline(__always)
    func evaluate(_ p: FitParameters, _ body: (Double, FitParameters) -> Void) {
        let a = p[0]
        let centre = p[1]
        let inverseSigma = 1 / p[2]
        let inverseVariance = inverseSigma * inverseSigma
        let b = p[3]
        let trapCentre = p[4]
        let inverseTrapSigma = 1 / p[5]
        let inverseTrapVariance = inverseTrapSigma * inverseTrapSigma
        let offset = p[6]
        var gradient = FitParameters(repeating: 0)
        gradient[6] = 1
        for index in 0..<window.count {
            let e = window.energies[index]
            let d = e - centre
            let g = exp(-0.5 * d * d * inverseVariance)
            let dt = e - trapCentre
            let gt = exp(-0.5 * dt * dt * inverseTrapVariance)
            let band = a * g
            let trap = b * gt
            let slope = band * d * inverseVariance
            let trapSlope = trap * dt * inverseTrapVariance
            gradient[0] = g
            gradient[1] = slope
            gradient[2] = slope * d * inverseSigma
            gradient[3] = gt
            gradient[4] = trapSlope
            gradient[5] = trapSlope * dt * inverseTrapSigma
            body(window.values[index] - (band + trap + offset), gradient)
        }
    }
}
