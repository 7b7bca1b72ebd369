/// The numbers a heat run is judged by, computed from its recorded readings: how fast the
/// reactor got there, how far it overshot, how well it held, and how it rode through the injection.
public struct HeatPerformance: Equatable, Sendable {
    /// Seconds from the start to the first reading at 90 % of the step (nil if never reached).
    public var riseSeconds: Double?
    /// The highest reading above the setpoint before the injection, °C (0 if it never went over).
    public var overshootCelsius: Double
    /// Seconds from the start until the reading entered the settling band for good (up to the
    /// injection, or the end); nil if it never settled.
    public var settlingSeconds: Double?
    /// Mean |error| over the settled hold before the injection, °C (nil without a settled hold).
    public var steadyErrorCelsius: Double?
    /// Largest |error| over that settled hold, °C.
    public var maxSettledErrorCelsius: Double?
    /// The lowest reading after the injection, °C below the setpoint (nil without an injection).
    public var injectionDropCelsius: Double?
    /// Seconds from the injection until the reading is back within the recovery band for good;
    /// nil if there was no injection or it never came back.
    public var injectionRecoverySeconds: Double?

    public init(
        riseSeconds: Double?, overshootCelsius: Double, settlingSeconds: Double?, steadyErrorCelsius: Double?,
        maxSettledErrorCelsius: Double?, injectionDropCelsius: Double?, injectionRecoverySeconds: Double?
    ) {
        self.riseSeconds = riseSeconds
        self.overshootCelsius = overshootCelsius
        self.settlingSeconds = settlingSeconds
        self.steadyErrorCelsius = steadyErrorCelsius
        self.maxSettledErrorCelsius = maxSettledErrorCelsius
        self.injectionDropCelsius = injectionDropCelsius
        self.injectionRecoverySeconds = injectionRecoverySeconds
    }

    /// A run with no reading at all: nothing reached, nothing settled.
    public static let noReadings = HeatPerformance(
        riseSeconds: nil, overshootCelsius: 0, settlingSeconds: nil, steadyErrorCelsius: nil,
        maxSettledErrorCelsius: nil, injectionDropCelsius: nil, injectionRecoverySeconds: nil)

    /// One reading of the run.
    public struct Sample: Equatable, Sendable {
        public var seconds: Double
        public var celsius: Double
        public init(seconds: Double, celsius: Double) {
            self.seconds = seconds
            self.celsius = celsius
        }
    }

    /// Analyses `samples` (in time order) of a step from the first reading to `setpoint`.
    /// - Parameters:
    ///   - injectionAt: when the injection happened (seconds on the same axis), if it did.
    ///   - settlingBand: ± band that counts as settled (the heat issue's 0.5 °C).
    ///   - recoveryBand: ± band that counts as recovered after the injection (1 °C).
    public static func analyse(
        _ samples: [Sample], setpoint: Double, injectionAt: Double?, settlingBand: Double = 0.5,
        recoveryBand: Double = 1.0
    ) -> HeatPerformance {
        precondition(!samples.isEmpty, "a heat run has readings")
        let start = samples[0]
        let beforeInjection = samples.filter { injectionAt == nil || $0.seconds < injectionAt! }
        let step = setpoint - start.celsius
        let riseTarget = start.celsius + 0.9 * step
        let rise = beforeInjection.first { step >= 0 ? $0.celsius >= riseTarget : $0.celsius <= riseTarget }
        let peak = beforeInjection.map { step >= 0 ? $0.celsius - setpoint : setpoint - $0.celsius }.max() ?? 0

        // Settled from the first sample after the last one outside the band (before the injection).
        var settling: Double?
        var settled: ArraySlice<Sample> = []
        if let lastOutside = beforeInjection.lastIndex(where: { abs($0.celsius - setpoint) > settlingBand }) {
            if lastOutside + 1 < beforeInjection.count {
                settling = beforeInjection[lastOutside + 1].seconds - start.seconds
                settled = beforeInjection[(lastOutside + 1)...]
            }
        } else {
            settling = 0
            settled = beforeInjection[...]
        }
        let settledErrors = settled.map { abs($0.celsius - setpoint) }

        var drop: Double?
        var recovery: Double?
        if let injectionAt {
            let after = samples.filter { $0.seconds >= injectionAt }
            if let lowest = after.map(\.celsius).min() { drop = setpoint - lowest }
            if let lastOutside = after.lastIndex(where: { abs($0.celsius - setpoint) > recoveryBand }) {
                if lastOutside + 1 < after.count { recovery = after[lastOutside + 1].seconds - injectionAt }
            } else if !after.isEmpty {
                recovery = 0
            }
        }

        return HeatPerformance(
            riseSeconds: rise.map { $0.seconds - start.seconds },
            overshootCelsius: max(0, peak),
            settlingSeconds: settling,
            steadyErrorCelsius: settledErrors.isEmpty ? nil : settledErrors.reduce(0, +) / Double(settledErrors.count),
            maxSettledErrorCelsius: settledErrors.max(),
            injectionDropCelsius: drop,
            injectionRecoverySeconds: recovery)
    }
}
