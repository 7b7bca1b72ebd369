#if canImport(Glibc)
import Glibc
#endif

/// Planck constant × speed of light in eV·nm: E [eV] = hc / λ [nm] (CODATA 2018, as in DESIGN.md).
public let planckTimesLightEVNanometres = 1239.84193

/// One closed interval mapped onto [0, 1]: linearly (min-max scaling with a fixed range, so a
/// model's inputs mean the same thing whatever data it was trained on), or logarithmically for
/// inputs whose effect is multiplicative or fastest near the low end (growth in time, ratios).
public struct FeatureRange: Sendable, Equatable {
    public enum Scaling: Sendable, Equatable {
        case linear
        /// v = ln((x − lower + offset)/offset) / ln((upper − lower + offset)/offset).
        case logarithmic(offset: Double)
    }

    public var lower: Double
    public var upper: Double
    public var scaling: Scaling

    public init(_ lower: Double, _ upper: Double, scaling: Scaling = .linear) {
        precondition(lower.isFinite && upper.isFinite && upper > lower, "a feature range needs lower < upper")
        if case .logarithmic(let offset) = scaling { precondition(offset > 0 && offset.isFinite, "a positive offset") }
        self.lower = lower
        self.upper = upper
        self.scaling = scaling
    }

    @inline(__always)
    public func normalize(_ value: Double) -> Double {
        switch scaling {
        case .linear: return (value - lower) / (upper - lower)
        case .logarithmic(let offset):
            return log((value - lower + offset) / offset) / log((upper - lower + offset) / offset)
        }
    }

    @inline(__always)
    public func denormalize(_ value: Double) -> Double {
        switch scaling {
        case .linear: return lower + value * (upper - lower)
        case .logarithmic(let offset):
            return lower + offset * (exp(value * log((upper - lower + offset) / offset)) - 1)
        }
    }

    /// Whether `value` is in the range, allowing 0.1 % of its span beyond either end for the
    /// rounding of logged values (the published files hold times of 600.001 s).
    public func contains(_ value: Double) -> Bool {
        let slack = 0.001 * (upper - lower)
        return value >= lower - slack && value <= upper + slack
    }
}

/// The synthesis conditions of one sample: the model's five inputs, in the published order.
public struct SynthesisConditions: Sendable, Equatable {
    /// Oleic acid to cadmium molar ratio.
    public var oleicAcidRatio: Double
    /// Reactor temperature at injection, °C.
    public var temperatureC: Double
    /// Cadmium concentration, mM.
    public var cadmiumMM: Double
    /// Selenium concentration, mM.
    public var seleniumMM: Double
    /// Time after injection, s.
    public var timeS: Double

    public init(oleicAcidRatio: Double, temperatureC: Double, cadmiumMM: Double, seleniumMM: Double, timeS: Double) {
        self.oleicAcidRatio = oleicAcidRatio
        self.temperatureC = temperatureC
        self.cadmiumMM = cadmiumMM
        self.seleniumMM = seleniumMM
        self.timeS = timeS
    }

    /// The five values in the model's input order (OA/Cd, T, [Cd], [Se], t).
    public var values: [Double] { [oleicAcidRatio, temperatureC, cadmiumMM, seleniumMM, timeS] }

    public init(values: [Double]) {
        precondition(values.count == 5, "five synthesis conditions")
        self.init(
            oleicAcidRatio: values[0], temperatureC: values[1], cadmiumMM: values[2], seleniumMM: values[3],
            timeS: values[4])
    }
}

/// What the model's inputs and outputs mean: the fixed min-max ranges of DESIGN.md §1 (the
/// published platform's normalization). Inputs OA/Cd, T, [Cd], [Se], t; the peak in eV over
/// [hc/620 nm, hc/400 nm]; the FWHM over [0.05, 0.40] eV.
public struct Normalization: Sendable, Equatable {
    /// One range per input, in `SynthesisConditions.values` order.
    public var inputs: [FeatureRange]
    /// Peak position, eV.
    public var peakEV: FeatureRange
    /// Full width at half maximum, eV.
    public var fwhmEV: FeatureRange

    public init(inputs: [FeatureRange], peakEV: FeatureRange, fwhmEV: FeatureRange) {
        precondition(inputs.count == Normalization.inputNames.count, "one range per input")
        self.inputs = inputs
        self.peakEV = peakEV
        self.fwhmEV = fwhmEV
    }

    /// The published ranges (DESIGN.md §1), all linear.
    public static let published = Normalization(
        inputs: [
            FeatureRange(3, 150), FeatureRange(200, 310), FeatureRange(0, 50), FeatureRange(0, 50),
            FeatureRange(0, 600),
        ],
        peakEV: FeatureRange(planckTimesLightEVNanometres / 620, planckTimesLightEVNanometres / 400),
        fwhmEV: FeatureRange(0.05, 0.40))

    /// The same ranges with logarithmic scaling of OA/Cd (offset 3, i.e. ln(x/3)/ln 50), [Cd] and
    /// [Se] (offset 5 mM) and t (offset 10 s): the grid's 3/10/20/40 ratios and 5/10/20/40 mM are
    /// near-evenly spaced after it, and the fast early growth is no longer squeezed into the first
    /// tenth of the time axis. Lower grouped-CV error than `published` (see the report), and ~7x
    /// finer time resolution at t = 10 s for the quantized input.
    public static let logarithmic = Normalization(
        inputs: [
            FeatureRange(3, 150, scaling: .logarithmic(offset: 3)), FeatureRange(200, 310),
            FeatureRange(0, 50, scaling: .logarithmic(offset: 5)), FeatureRange(0, 50, scaling: .logarithmic(offset: 5)),
            FeatureRange(0, 600, scaling: .logarithmic(offset: 10)),
        ],
        peakEV: published.peakEV, fwhmEV: published.fwhmEV)

    /// Input names as the data set's columns call them, and their units.
    public static let inputNames = ["OA_Cd_ratio", "T_reactor", "Cd_mM", "Se_mM", "t_s"]
    public static let inputUnits = ["", "°C", "mM", "mM", "s"]

    /// The five normalized inputs of `conditions`, in order.
    public func normalizedInputs(_ conditions: SynthesisConditions) -> [Float] {
        let values = conditions.values
        return (0..<values.count).map { Float(inputs[$0].normalize(values[$0])) }
    }

    /// Names of the inputs of `conditions` outside their range (the model extrapolates there;
    /// DESIGN.md §1: no model extrapolated well).
    public func extrapolatedInputs(_ conditions: SynthesisConditions) -> [String] {
        let values = conditions.values
        return (0..<values.count).compactMap { inputs[$0].contains(values[$0]) ? nil : Normalization.inputNames[$0] }
    }

    /// The allowed range of input `index` as text, with its unit (`200 to 310 °C`).
    public func rangeText(ofInput index: Int) -> String {
        let unit = Normalization.inputUnits[index]
        return "\(shortNumber(inputs[index].lower)) to \(shortNumber(inputs[index].upper))" + (unit.isEmpty ? "" : " \(unit)")
    }
}

/// `3` rather than `3.0`; other values as Swift prints them.
func shortNumber(_ value: Double) -> String {
    if value == value.rounded() && abs(value) < 1e15 { return String(Int64(value)) }
    return String(value)
}
