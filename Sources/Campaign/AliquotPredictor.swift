import Learning

/// What the campaign runner asks of a model in the loop: the outcome expected at one aliquot.
public protocol AliquotPredicting: AnyObject {
    /// The MC-dropout prediction for `condition` at `secondsAfterInjection` (mean and spread, eV).
    func predict(_ condition: SynthesisCondition, secondsAfterInjection: Double) -> AliquotPrediction
}

/// `AliquotPredicting` over Learning's `SynthesisPredictor` (the int8 path on the board): Monte
/// Carlo dropout with `passes` passes from `seed` (Gal & Ghahramani 2016, dropout kept on at
/// inference); the width is the cascade model's, each pass fed its own peak.
public final class MonteCarloAliquotPredictor: AliquotPredicting {
    public let predictor: SynthesisPredictor
    public let passes: Int
    public let seed: UInt64

    public init(predictor: SynthesisPredictor, passes: Int, seed: UInt64) {
        precondition(passes > 1, "a spread needs at least two passes")
        self.predictor = predictor
        self.passes = passes
        self.seed = seed
    }

    public func predict(_ condition: SynthesisCondition, secondsAfterInjection: Double) -> AliquotPrediction {
        let inputs = SynthesisConditions(
            oleicAcidRatio: condition.oleicAcidPerCadmium, temperatureC: condition.temperatureCelsius,
            cadmiumMM: condition.cadmiumMillimolar, seleniumMM: condition.seleniumMillimolar,
            timeS: secondsAfterInjection)
        let result = predictor.monteCarlo(inputs, passes: passes, seed: seed)
        return AliquotPrediction(
            peakElectronvolts: result.peakEV.mean, peakSpreadElectronvolts: result.peakEV.standardDeviation,
            fwhmElectronvolts: result.fwhmCascadeEV.mean, fwhmSpreadElectronvolts: result.fwhmCascadeEV.standardDeviation,
            extrapolated: result.extrapolated)
    }
}
