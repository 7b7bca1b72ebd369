/// Which spectrum a model predicts.
public enum SpectrumKind: String, Sendable, Equatable, CaseIterable {
    case absorbance
    case photoluminescence
    case unspecified

    /// From a published file name: `uv_...` absorbance, `pl_...` photoluminescence.
    public static func guess(fromPath path: String) -> SpectrumKind {
        let name = path.split(separator: "/").last.map(String.init)?.lowercased() ?? ""
        if name.hasPrefix("uv") || name.contains("abs") { return .absorbance }
        if name.hasPrefix("pl") || name.contains("photolum") { return .photoluminescence }
        return .unspecified
    }
}

/// Where a model came from and how good it is.
public struct ModelMetadata: Sendable, Equatable {
    public var kind: SpectrumKind
    /// The training file's name (no folders) and the SHA-256 of its bytes.
    public var dataFile: String
    public var dataHash: String
    public var rows: Int
    public var experiments: Int
    /// Creation time, seconds since 1970 (UTC).
    public var createdUnixSeconds: Int64
    public var seed: UInt64
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var ensembleSize: Int
    public var cascadeTraining: CascadeTraining
    public var precision: ActivationPrecision
    /// The point prediction: the Monte Carlo dropout mean over this many passes, masks from
    /// `predictionSeed` (the cascade fed the peak's point prediction).
    public var predictionPasses: Int
    public var predictionSeed: UInt64
    /// Grouped cross-validation of the same recipe, when it was run.
    public var crossValidation: CrossValidationReport?

    public init(
        kind: SpectrumKind, dataFile: String, dataHash: String, rows: Int, experiments: Int, createdUnixSeconds: Int64,
        seed: UInt64, epochs: Int, batchSize: Int, learningRate: Float, ensembleSize: Int,
        cascadeTraining: CascadeTraining, precision: ActivationPrecision, predictionPasses: Int, predictionSeed: UInt64,
        crossValidation: CrossValidationReport?
    ) {
        self.kind = kind
        self.dataFile = dataFile
        self.dataHash = dataHash
        self.rows = rows
        self.experiments = experiments
        self.createdUnixSeconds = createdUnixSeconds
        self.seed = seed
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.ensembleSize = ensembleSize
        self.cascadeTraining = cascadeTraining
        self.precision = precision
        self.predictionPasses = predictionPasses
        self.predictionSeed = predictionSeed
        self.crossValidation = crossValidation
    }
}

/// A trained synthesis model: for the peak, the direct FWHM and the cascade FWHM, an ensemble of
/// float networks and their int8 twins, with the normalization that gives their numbers meaning.
public struct SynthesisModel: Sendable, Equatable {
    public var normalization: Normalization
    public var peak: [DenseNetwork]
    public var fwhmDirect: [DenseNetwork]
    public var fwhmCascade: [DenseNetwork]
    public var quantizedPeak: [QuantizedNetwork]
    public var quantizedFWHMDirect: [QuantizedNetwork]
    public var quantizedFWHMCascade: [QuantizedNetwork]
    public var metadata: ModelMetadata

    public init(
        normalization: Normalization, peak: [DenseNetwork], fwhmDirect: [DenseNetwork], fwhmCascade: [DenseNetwork],
        quantizedPeak: [QuantizedNetwork], quantizedFWHMDirect: [QuantizedNetwork],
        quantizedFWHMCascade: [QuantizedNetwork], metadata: ModelMetadata
    ) {
        self.normalization = normalization
        self.peak = peak
        self.fwhmDirect = fwhmDirect
        self.fwhmCascade = fwhmCascade
        self.quantizedPeak = quantizedPeak
        self.quantizedFWHMDirect = quantizedFWHMDirect
        self.quantizedFWHMCascade = quantizedFWHMCascade
        self.metadata = metadata
    }

    /// The recipe: `size` networks of the published architecture per target, trained with
    /// `settings`, prepared for int8, cascade trained on `cascadeTraining`, predicting with the
    /// Monte Carlo mean over `predictionPasses` passes.
    public static func trainer(
        settings: TrainingSettings, ensembleSize: Int, cascadeTraining: CascadeTraining, threads: Int,
        quantization: QuantizationRecipe = .standard, predictionPasses: Int = 100, predictionSeed: UInt64 = 1
    ) -> TargetModelTrainer<MonteCarloEnsembleTrainer> {
        TargetModelTrainer(
            trainer: MonteCarloEnsembleTrainer(
                base: EnsembleTrainer(
                    base: NetworkTrainer(settings: settings, quantization: quantization), size: ensembleSize, threads: threads),
                passes: predictionPasses, seed: predictionSeed),
            cascadeTraining: cascadeTraining)
    }

    /// Trains the three ensembles on all of `dataset`, then quantizes every member, calibrating
    /// on the training inputs (the cascade on the inputs plus the ensemble's predicted peak, what
    /// it sees when predicting) and on the unit box of inputs (`DenseNetwork.calibrationRows`).
    public static func train(
        _ dataset: SynthesisDataset, normalization: Normalization, settings: TrainingSettings = .published,
        ensembleSize: Int, cascadeTraining: CascadeTraining = .measuredPeak, quantization: QuantizationRecipe = .standard,
        predictionPasses: Int = 100, predictionSeed: UInt64 = 1, seed: UInt64, threads: Int = 2, kind: SpectrumKind,
        createdUnixSeconds: Int64, crossValidation: CrossValidationReport?
    ) throws -> SynthesisModel {
        let features = dataset.features(normalization)
        let trainer = Self.trainer(
            settings: settings, ensembleSize: ensembleSize, cascadeTraining: cascadeTraining, threads: threads,
            quantization: quantization, predictionPasses: predictionPasses, predictionSeed: predictionSeed)
        let models = try trainer.train(
            features: features, peakTargets: dataset.peakTargets(normalization), fwhmTargets: dataset.fwhmTargets(normalization),
            seed: seed)
        let cascadeFeatures = features.appendingColumn(models.peak.predict(features))
        let quantize = { (networks: [DenseNetwork], rows: FeatureMatrix) in
            let calibration = DenseNetwork.calibrationRows(rows, boxRows: quantization.boxRows)
            return networks.map {
                QuantizedNetwork.calibrated(
                    $0, calibration: calibration, precision: quantization.precision, calibrationPasses: quantization.dropoutPasses)
            }
        }
        let name = dataset.file.split(separator: "/").last.map(String.init) ?? dataset.file
        return SynthesisModel(
            normalization: normalization, peak: models.peak.members, fwhmDirect: models.fwhmDirect.members,
            fwhmCascade: models.fwhmCascade.members,
            quantizedPeak: quantize(models.peak.members, features),
            quantizedFWHMDirect: quantize(models.fwhmDirect.members, features),
            quantizedFWHMCascade: quantize(models.fwhmCascade.members, cascadeFeatures),
            metadata: ModelMetadata(
                kind: kind, dataFile: name, dataHash: dataset.contentHash, rows: dataset.count,
                experiments: dataset.experimentCount, createdUnixSeconds: createdUnixSeconds, seed: seed,
                epochs: settings.epochs, batchSize: settings.batchSize, learningRate: settings.learningRate,
                ensembleSize: ensembleSize, cascadeTraining: cascadeTraining, precision: quantization.precision,
                predictionPasses: predictionPasses, predictionSeed: predictionSeed, crossValidation: crossValidation))
    }
}
