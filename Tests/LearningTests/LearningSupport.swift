import Foundation
@testable import Learning

/// The package root, three folders above this file (Tests/LearningTests/LearningSupport.swift).
let packageRoot: String = {
    var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

/// The published data set (../shared/data/cdse, see its README).
let dataFolder = packageRoot + "/../shared/data/cdse"

/// A data file written to a temporary folder.
func temporaryFile(_ name: String, _ text: String) throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aliquot-learning-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let path = folder.appendingPathComponent(name).path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

/// A temporary folder of its own.
func temporaryFolder() throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("aliquot-learning-\(getpid())-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder.path
}

/// A small network of the published shape with random weights and biases (so ReLUs are mixed).
func randomNetwork(inputs: Int = 5, seed: UInt64, shapes: [LayerShape] = DenseNetwork.publishedShapes) -> DenseNetwork {
    var network = DenseNetwork(inputCount: inputs, shapes: shapes, seed: seed)
    var random = LearningRandom(seed: seed &+ 99)
    for index in network.layers.indices {
        for b in network.layers[index].bias.indices { network.layers[index].bias[b] = (random.nextUnitFloat() - 0.4) * 0.5 }
    }
    return network
}

/// `rows` rows of `columns` uniform values in [0, 1).
func randomFeatures(rows: Int, columns: Int = 5, seed: UInt64) -> FeatureMatrix {
    var random = LearningRandom(seed: seed)
    return FeatureMatrix(rowCount: rows, columnCount: columns, values: (0..<rows * columns).map { _ in random.nextUnitFloat() })
}

/// A smooth synthetic target on [0,1]^5, in the spirit of a peak that moves with time and temperature.
func syntheticTarget(_ row: [Float]) -> Float {
    0.2 + 0.5 * row[4].squareRoot() * (0.5 + 0.5 * row[1]) - 0.1 * row[0] + 0.05 * row[2] * row[3]
}

/// A small model trained quickly on 24 experiments of the published absorbance data (few epochs:
/// for structure, not accuracy), shared by the tests that need one.
let smallModel: SynthesisModel = {
    let full = try! SynthesisDataset.load(path: dataFolder + "/uv_train_val.csv", normalization: .logarithmic)
    let experiments = Array(Set(full.experiments)).sorted().prefix(24)
    let rows = full.records.indices.filter { experiments.contains(full.records[$0].experiment) }
    return try! SynthesisModel.train(
        full.subset(rows), normalization: .logarithmic, settings: TrainingSettings(epochs: 3), ensembleSize: 2,
        quantization: QuantizationRecipe(boxRows: 128, dropoutPasses: 2), predictionPasses: 10, seed: 3, threads: 2,
        kind: .absorbance,
        createdUnixSeconds: 1_700_000_000, crossValidation: nil)
}()
