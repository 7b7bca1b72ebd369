/// A model bundle that could not be read: which file, and what is wrong with it.
public struct ModelBundleError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// The `.aqm` model bundle, format version 1.0: one file holding everything a controller needs
/// to predict with a `SynthesisModel` and to know where it came from. All numbers little-endian.
///
///     offset  size  field
///     0       8     magic "AQMODEL\0" (41 51 4D 4F 44 45 4C 00)
///     8       2     format major version (1): a reader rejects any other major
///     10      2     format minor version (0): additions a 1.0 reader may skip
///     12      4     number of sections
///     16      8     file length in bytes, this header and the checksum included
///     24      ...   sections, each: 4-byte ASCII tag, 4 bytes flags (0), 8-byte payload length, payload
///     end−4   4     CRC-32 (ISO-HDLC, as zlib) of every byte before it
///
/// Strings are a u32 byte count and UTF-8. Sections (unknown tags are skipped):
///
/// - `META` (once): kind, data file name, data SHA-256 (hex), rows u64, experiments u64,
///   created (Unix seconds) i64, seed u64, epochs u32, batch size u32, learning rate f32,
///   ensemble size u32, cascade training (string), activation precision (string), point-prediction
///   Monte Carlo passes u32, point-prediction seed u64.
/// - `NORM` (once): 7 ranges (OA/Cd, T, [Cd], [Se], t, peak eV, FWHM eV), each lower f64,
///   upper f64, scaling u8 (0 linear, 1 logarithmic), offset f64.
/// - `CVAL` (once): present u8; if 1, folds u32, rows u32, experiments u32, then for the peak,
///   the direct and the cascade FWHM: count u64 and MAE meV, RMSE meV, R², MAE nm, R² nm (f64).
/// - `NETF` (one per network): role u8 (0 peak, 1 FWHM direct, 2 FWHM cascade), member u16,
///   layers u16; per layer: inputs u32, outputs u32, activation u8 (0 identity, 1 ReLU), input
///   dropout f32, kernel f32 × inputs·outputs (Keras layout, by input), bias f32 × outputs.
/// - `NETQ` (one per network): role u8, member u16, layers u16; per layer: inputs u32, outputs
///   u32, activation u8, input dropout f32, input scale f32 / zero point i32 / bits u8, output
///   present u8 (+ scale, zero point, bits), weights i8 × outputs·inputs (by output channel),
///   weight scales f32 × outputs, bias i32 × outputs, multipliers i32 × outputs, shift i32,
///   dropout biases i32 × outputs (0 without dropout), dropout multipliers i32 × same, dropout
///   shift i32.
///
/// Reading rejects, with a message naming the problem: a wrong magic, another major version, a
/// length that is not the file's (truncated or padded), a checksum mismatch, a section running
/// past its end, a missing or repeated section or network, and a mismatched bundle (int8
/// network whose shape, scales or weights do not match its float network, input counts that do
/// not match the normalization, an ensemble size that does not match the networks).
public enum ModelBundle {
    public static let magic: [UInt8] = Array("AQMODEL".utf8) + [0]
    public static let majorVersion: UInt16 = 1
    public static let minorVersion: UInt16 = 0

    // MARK: Writing

    /// The bundle's bytes.
    public static func encode(_ model: SynthesisModel) -> [UInt8] {
        var sections: [(String, [UInt8])] = []
        sections.append(("META", encodeMetadata(model.metadata)))
        sections.append(("NORM", encodeNormalization(model.normalization)))
        sections.append(("CVAL", encodeCrossValidation(model.metadata.crossValidation)))
        for (role, networks) in [model.peak, model.fwhmDirect, model.fwhmCascade].enumerated() {
            for (member, network) in networks.enumerated() {
                sections.append(("NETF", encodeFloat(network, role: role, member: member)))
            }
        }
        for (role, networks) in [model.quantizedPeak, model.quantizedFWHMDirect, model.quantizedFWHMCascade].enumerated() {
            for (member, network) in networks.enumerated() {
                sections.append(("NETQ", encodeQuantized(network, role: role, member: member)))
            }
        }
        var writer = BinaryWriter()
        writer.raw(magic)
        writer.u16(majorVersion)
        writer.u16(minorVersion)
        writer.u32(UInt32(sections.count))
        writer.u64(0)  // the length, patched below
        for (tag, payload) in sections {
            writer.raw(Array(tag.utf8))
            writer.u32(0)
            writer.u64(UInt64(payload.count))
            writer.raw(payload)
        }
        writer.patchU64(at: 16, UInt64(writer.bytes.count + 4))
        writer.u32(CRC32.checksum(writer.bytes))
        return writer.bytes
    }

    /// Writes `model` to `path` atomically (temporary file, fsync, rename).
    public static func write(_ model: SynthesisModel, to path: String) throws(LearningFileError) {
        try writeFileAtomically(path: path, bytes: encode(model))
    }

    private static func encodeMetadata(_ metadata: ModelMetadata) -> [UInt8] {
        var w = BinaryWriter()
        w.string(metadata.kind.rawValue)
        w.string(metadata.dataFile)
        w.string(metadata.dataHash)
        w.u64(UInt64(metadata.rows))
        w.u64(UInt64(metadata.experiments))
        w.i64(metadata.createdUnixSeconds)
        w.u64(metadata.seed)
        w.u32(UInt32(metadata.epochs))
        w.u32(UInt32(metadata.batchSize))
        w.f32(metadata.learningRate)
        w.u32(UInt32(metadata.ensembleSize))
        w.string(metadata.cascadeTraining.rawValue)
        w.string(metadata.precision == .int8 ? "int8" : "narrow-int16")
        w.u32(UInt32(metadata.predictionPasses))
        w.u64(metadata.predictionSeed)
        return w.bytes
    }

    private static func encodeNormalization(_ normalization: Normalization) -> [UInt8] {
        var w = BinaryWriter()
        for range in normalization.inputs + [normalization.peakEV, normalization.fwhmEV] {
            w.f64(range.lower)
            w.f64(range.upper)
            switch range.scaling {
            case .linear:
                w.u8(0)
                w.f64(0)
            case .logarithmic(let offset):
                w.u8(1)
                w.f64(offset)
            }
        }
        return w.bytes
    }

    private static func encodeCrossValidation(_ report: CrossValidationReport?) -> [UInt8] {
        var w = BinaryWriter()
        guard let report else {
            w.u8(0)
            return w.bytes
        }
        w.u8(1)
        w.u32(UInt32(report.folds))
        w.u32(UInt32(report.rows))
        w.u32(UInt32(report.experiments))
        for metrics in [report.peak, report.fwhmDirect, report.fwhmCascade] {
            w.u64(UInt64(metrics.count))
            for value in [metrics.maeMeV, metrics.rmseMeV, metrics.r2, metrics.maeNM, metrics.r2NM] { w.f64(value) }
        }
        return w.bytes
    }

    private static func encodeFloat(_ network: DenseNetwork, role: Int, member: Int) -> [UInt8] {
        var w = BinaryWriter()
        w.u8(UInt8(role))
        w.u16(UInt16(member))
        w.u16(UInt16(network.layers.count))
        for layer in network.layers {
            w.u32(UInt32(layer.inputCount))
            w.u32(UInt32(layer.outputCount))
            w.u8(layer.activation.rawValue)
            w.f32(layer.inputDropout)
            for value in layer.weights { w.f32(value) }
            for value in layer.bias { w.f32(value) }
        }
        return w.bytes
    }

    private static func encodeParameters(_ parameters: QuantizationParameters, into w: inout BinaryWriter) {
        w.f32(parameters.scale)
        w.i32(parameters.zeroPoint)
        w.u8(UInt8(parameters.bits))
    }

    private static func encodeQuantized(_ network: QuantizedNetwork, role: Int, member: Int) -> [UInt8] {
        var w = BinaryWriter()
        w.u8(UInt8(role))
        w.u16(UInt16(member))
        w.u16(UInt16(network.layers.count))
        for layer in network.layers {
            w.u32(UInt32(layer.inputCount))
            w.u32(UInt32(layer.outputCount))
            w.u8(layer.activation.rawValue)
            w.f32(layer.inputDropout)
            encodeParameters(layer.input, into: &w)
            if let output = layer.output {
                w.u8(1)
                encodeParameters(output, into: &w)
            } else {
                w.u8(0)
            }
            w.raw(layer.weights.map { UInt8(bitPattern: $0) })
            for value in layer.weightScales { w.f32(value) }
            for value in layer.bias { w.i32(value) }
            w.u32(UInt32(layer.multiplier.count))
            for value in layer.multiplier { w.i32(value) }
            w.i32(layer.shift)
            w.u32(UInt32(layer.dropoutBias.count))
            for value in layer.dropoutBias { w.i32(value) }
            w.u32(UInt32(layer.dropoutMultiplier.count))
            for value in layer.dropoutMultiplier { w.i32(value) }
            w.i32(layer.dropoutShift)
        }
        return w.bytes
    }

    // MARK: Reading

    /// Reads and checks the bundle at `path`.
    public static func read(path: String) throws(ModelBundleError) -> SynthesisModel {
        let bytes: [UInt8]
        do {
            bytes = try readWholeFile(path: path)
        } catch {
            throw ModelBundleError(path: path, message: "cannot read the model bundle: \(error.description)")
        }
        return try decode(bytes, path: path)
    }

    /// Checks and decodes bundle bytes; `path` names them in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws(ModelBundleError) -> SynthesisModel {
        func fail(_ message: String) -> ModelBundleError { ModelBundleError(path: path, message: message) }
        guard bytes.count >= 28 else {
            throw fail("not a model bundle: \(bytes.count) bytes, shorter than the 28-byte header and checksum")
        }
        guard Array(bytes[0..<8]) == magic else {
            throw fail("not a model bundle: the file does not start with AQMODEL")
        }
        var header = BinaryReader(bytes: bytes, offset: 8, end: 24, path: path, context: "the header")
        let major = try header.u16()
        let minor = try header.u16()
        guard major == majorVersion else {
            throw fail("model bundle format \(major).\(minor) is not supported: this build reads \(majorVersion).x")
        }
        let sectionCount = Int(try header.u32())
        let declaredLength = try header.u64()
        guard declaredLength == UInt64(bytes.count) else {
            throw fail(
                declaredLength > UInt64(bytes.count)
                    ? "truncated model bundle: the header says \(declaredLength) bytes, the file has \(bytes.count)"
                    : "model bundle has \(UInt64(bytes.count) - declaredLength) bytes after its declared end (\(declaredLength) bytes)")
        }
        let stored = UInt32(bytes[bytes.count - 4]) | UInt32(bytes[bytes.count - 3]) << 8 | UInt32(bytes[bytes.count - 2]) << 16
            | UInt32(bytes[bytes.count - 1]) << 24
        let computed = CRC32.checksum(bytes[0..<bytes.count - 4])
        guard stored == computed else {
            throw fail("corrupt model bundle: CRC-32 \(hex32(computed)) does not match the stored \(hex32(stored))")
        }

        var metadata: ModelMetadata?
        var normalization: Normalization?
        var crossValidation: CrossValidationReport??
        var floats: [Int: [Int: DenseNetwork]] = [:]
        var quantized: [Int: [Int: QuantizedNetwork]] = [:]
        var cursor = BinaryReader(bytes: bytes, offset: 24, end: bytes.count - 4, path: path, context: "the section table")
        for index in 0..<sectionCount {
            let tag = String(decoding: try cursor.take(4), as: UTF8.self)
            _ = try cursor.u32()
            let length = try cursor.u64()
            guard length <= UInt64(cursor.remaining) else {
                throw fail("section \(index + 1) (\(tag)) claims \(length) bytes, only \(cursor.remaining) are left")
            }
            let start = cursor.offset
            let end = start + Int(length)
            var section = BinaryReader(bytes: bytes, offset: start, end: end, path: path, context: "section \(tag)")
            switch tag {
            case "META":
                if metadata != nil { throw fail("section META appears twice") }
                metadata = try decodeMetadata(&section)
            case "NORM":
                if normalization != nil { throw fail("section NORM appears twice") }
                normalization = try decodeNormalization(&section)
            case "CVAL":
                if crossValidation != nil { throw fail("section CVAL appears twice") }
                crossValidation = .some(try decodeCrossValidation(&section))
            case "NETF":
                let (role, member, network) = try decodeFloat(&section)
                if floats[role]?[member] != nil { throw fail("float network \(roleName(role)) #\(member) appears twice") }
                floats[role, default: [:]][member] = network
            case "NETQ":
                let (role, member, network) = try decodeQuantized(&section)
                if quantized[role]?[member] != nil { throw fail("int8 network \(roleName(role)) #\(member) appears twice") }
                quantized[role, default: [:]][member] = network
            default:
                break  // a later minor version's section
            }
            if ["META", "NORM", "CVAL", "NETF", "NETQ"].contains(tag) && section.offset != end {
                throw fail("section \(tag) has \(end - section.offset) bytes left over")
            }
            cursor.offset = end
        }
        if cursor.remaining != 0 { throw fail("\(cursor.remaining) bytes after the last section") }
        guard let metadata else { throw fail("section META is missing") }
        guard let normalization else { throw fail("section NORM is missing") }
        guard let crossValidation else { throw fail("section CVAL is missing") }
        var withReport = metadata
        withReport.crossValidation = crossValidation

        let size = metadata.ensembleSize
        guard size >= 1 else { throw fail("ensemble size \(size) in META: needs at least 1") }
        func networks<Network>(_ table: [Int: [Int: Network]], role: Int, kind: String) throws(ModelBundleError) -> [Network] {
            var result: [Network] = []
            for member in 0..<size {
                guard let network = table[role]?[member] else {
                    throw fail("mismatched model bundle: \(kind) network \(roleName(role)) #\(member) of \(size) is missing")
                }
                result.append(network)
            }
            if let extra = table[role]?.keys.first(where: { $0 >= size }) {
                throw fail("mismatched model bundle: \(kind) network \(roleName(role)) #\(extra) beyond the ensemble size \(size)")
            }
            return result
        }
        let model = SynthesisModel(
            normalization: normalization,
            peak: try networks(floats, role: 0, kind: "float"), fwhmDirect: try networks(floats, role: 1, kind: "float"),
            fwhmCascade: try networks(floats, role: 2, kind: "float"),
            quantizedPeak: try networks(quantized, role: 0, kind: "int8"),
            quantizedFWHMDirect: try networks(quantized, role: 1, kind: "int8"),
            quantizedFWHMCascade: try networks(quantized, role: 2, kind: "int8"), metadata: withReport)
        try check(model, path: path)
        return model
    }

    /// The checks that make a bundle "matched": every int8 network is its float network's twin,
    /// and the networks take the inputs the normalization describes.
    static func check(_ model: SynthesisModel, path: String) throws(ModelBundleError) {
        func fail(_ message: String) -> ModelBundleError { ModelBundleError(path: path, message: "mismatched model bundle: " + message) }
        let inputs = model.normalization.inputs.count
        let groups: [(String, [DenseNetwork], [QuantizedNetwork], Int)] = [
            ("peak", model.peak, model.quantizedPeak, inputs),
            ("fwhm-direct", model.fwhmDirect, model.quantizedFWHMDirect, inputs),
            ("fwhm-cascade", model.fwhmCascade, model.quantizedFWHMCascade, inputs + 1),
        ]
        for (name, floats, ints, expectedInputs) in groups {
            for (member, (float, int)) in zip(floats, ints).enumerated() {
                let label = "\(name) #\(member)"
                guard float.inputCount == expectedInputs else {
                    throw fail("\(label) takes \(float.inputCount) inputs, the normalization gives \(expectedInputs)")
                }
                guard float.outputCount == 1 else { throw fail("\(label) has \(float.outputCount) outputs, expected 1") }
                guard float.layers.count == int.layers.count else {
                    throw fail("\(label): float network has \(float.layers.count) layers, int8 network \(int.layers.count)")
                }
                for (index, (f, q)) in zip(float.layers, int.layers).enumerated() {
                    let where_ = "\(label) layer \(index + 1)"
                    guard f.inputCount == q.inputCount && f.outputCount == q.outputCount && f.activation == q.activation
                        && f.inputDropout == q.inputDropout
                    else {
                        throw fail("\(where_): int8 shape \(q.inputCount)x\(q.outputCount) does not match float \(f.inputCount)x\(f.outputCount)")
                    }
                    let last = index == float.layers.count - 1
                    guard (q.output == nil) == last else { throw fail("\(where_): only the last layer's output is left unquantized") }
                    if index > 0, let previous = int.layers[index - 1].output, previous != q.input {
                        throw fail("\(where_): input quantization does not match the previous layer's output")
                    }
                    for o in 0..<f.outputCount {
                        let scale = q.weightScales[o]
                        guard scale > 0 && scale.isFinite else { throw fail("\(where_): weight scale \(scale) of channel \(o)") }
                        for i in 0..<f.inputCount {
                            let float = f.weight(input: i, output: o)
                            let dequantized = scale * Float(q.weights[o * f.inputCount + i])
                            guard float.isFinite, abs(float - dequantized) <= 0.5001 * scale + 1e-6 * abs(float) else {
                                throw fail("\(where_): int8 weight [\(o), \(i)] = \(dequantized) does not stand for the float weight \(float)")
                            }
                        }
                    }
                    guard f.bias.allSatisfy(\.isFinite) else { throw fail("\(where_): a float bias is not finite") }
                    if let output = q.output {
                        let reals = (0..<f.outputCount).map { Double(q.input.scale) * Double(q.weightScales[$0]) / Double(output.scale) }
                        let expected = FixedPoint.quantizeMultipliers(reals)
                        guard expected.multipliers == q.multiplier && expected.shift == q.shift else {
                            throw fail("\(where_): requantization multipliers do not follow from the scales")
                        }
                    }
                }
            }
        }
    }

    private static func decodeMetadata(_ r: inout BinaryReader) throws(ModelBundleError) -> ModelMetadata {
        let kindText = try r.string()
        guard let kind = SpectrumKind(rawValue: kindText) else {
            throw ModelBundleError(path: r.path, message: "META: unknown spectrum kind \"\(kindText)\"")
        }
        let dataFile = try r.string()
        let dataHash = try r.string()
        let rows = Int(try r.u64())
        let experiments = Int(try r.u64())
        let created = try r.i64()
        let seed = try r.u64()
        let epochs = Int(try r.u32())
        let batch = Int(try r.u32())
        let rate = try r.f32()
        let ensemble = Int(try r.u32())
        let cascadeText = try r.string()
        guard let cascade = CascadeTraining(rawValue: cascadeText) else {
            throw ModelBundleError(path: r.path, message: "META: unknown cascade training \"\(cascadeText)\"")
        }
        let precisionText = try r.string()
        guard precisionText == "int8" || precisionText == "narrow-int16" else {
            throw ModelBundleError(path: r.path, message: "META: unknown activation precision \"\(precisionText)\"")
        }
        let predictionPasses = Int(try r.u32())
        let predictionSeed = try r.u64()
        guard predictionPasses >= ensemble && predictionPasses <= 100_000 else {
            throw ModelBundleError(path: r.path, message: "META: \(predictionPasses) prediction passes for an ensemble of \(ensemble)")
        }
        return ModelMetadata(
            kind: kind, dataFile: dataFile, dataHash: dataHash, rows: rows, experiments: experiments,
            createdUnixSeconds: created, seed: seed, epochs: epochs, batchSize: batch, learningRate: rate,
            ensembleSize: ensemble, cascadeTraining: cascade, precision: precisionText == "int8" ? .int8 : .narrowInt16,
            predictionPasses: predictionPasses, predictionSeed: predictionSeed, crossValidation: nil)
    }

    private static func decodeNormalization(_ r: inout BinaryReader) throws(ModelBundleError) -> Normalization {
        var ranges: [FeatureRange] = []
        for index in 0..<7 {
            let lower = try r.f64()
            let upper = try r.f64()
            let scaling = try r.u8()
            let offset = try r.f64()
            guard lower.isFinite && upper.isFinite && upper > lower, scaling <= 1,
                scaling == 0 || (offset > 0 && offset.isFinite)
            else {
                throw ModelBundleError(path: r.path, message: "NORM: range \(index + 1) [\(lower), \(upper)] (scaling \(scaling), offset \(offset)) is not valid")
            }
            ranges.append(FeatureRange(lower, upper, scaling: scaling == 0 ? .linear : .logarithmic(offset: offset)))
        }
        return Normalization(inputs: Array(ranges[0..<5]), peakEV: ranges[5], fwhmEV: ranges[6])
    }

    private static func decodeCrossValidation(_ r: inout BinaryReader) throws(ModelBundleError) -> CrossValidationReport? {
        guard try r.u8() == 1 else { return nil }
        let folds = Int(try r.u32())
        let rows = Int(try r.u32())
        let experiments = Int(try r.u32())
        var metrics: [RegressionMetrics] = []
        for _ in 0..<3 {
            let count = Int(try r.u64())
            metrics.append(
                RegressionMetrics(
                    count: count, maeMeV: try r.f64(), rmseMeV: try r.f64(), r2: try r.f64(), maeNM: try r.f64(), r2NM: try r.f64()))
        }
        return CrossValidationReport(
            folds: folds, rows: rows, experiments: experiments, peak: metrics[0], fwhmDirect: metrics[1], fwhmCascade: metrics[2])
    }

    private static func decodeHeader(_ r: inout BinaryReader) throws(ModelBundleError) -> (role: Int, member: Int, layers: Int) {
        let role = Int(try r.u8())
        guard role <= 2 else { throw ModelBundleError(path: r.path, message: "\(r.context): unknown network role \(role)") }
        let member = Int(try r.u16())
        let layers = Int(try r.u16())
        guard layers >= 1 else { throw ModelBundleError(path: r.path, message: "\(r.context): a network without layers") }
        return (role, member, layers)
    }

    private static func decodeShape(_ r: inout BinaryReader, previous: Int?) throws(ModelBundleError) -> (Int, Int, Activation, Float) {
        let inputs = Int(try r.u32())
        let outputs = Int(try r.u32())
        let activationValue = try r.u8()
        let dropout = try r.f32()
        guard inputs >= 1 && outputs >= 1 && inputs <= 4096 && outputs <= 4096, let activation = Activation(rawValue: activationValue),
            dropout >= 0 && dropout < 1
        else {
            throw ModelBundleError(path: r.path, message: "\(r.context): layer \(inputs)x\(outputs), activation \(activationValue), dropout \(dropout) is not valid")
        }
        if let previous, previous != inputs {
            throw ModelBundleError(path: r.path, message: "\(r.context): a layer of \(inputs) inputs follows one of \(previous) outputs")
        }
        return (inputs, outputs, activation, dropout)
    }

    private static func decodeFloat(_ r: inout BinaryReader) throws(ModelBundleError) -> (Int, Int, DenseNetwork) {
        let (role, member, layerCount) = try decodeHeader(&r)
        var layers: [DenseLayer] = []
        var previous: Int?
        for _ in 0..<layerCount {
            let (inputs, outputs, activation, dropout) = try decodeShape(&r, previous: previous)
            guard r.remaining >= 4 * (inputs * outputs + outputs) else {
                throw ModelBundleError(path: r.path, message: "\(r.context): a \(inputs)x\(outputs) layer needs more bytes than are left")
            }
            var weights: [Float] = []
            weights.reserveCapacity(inputs * outputs)
            for _ in 0..<inputs * outputs { weights.append(try r.f32()) }
            var bias: [Float] = []
            for _ in 0..<outputs { bias.append(try r.f32()) }
            layers.append(DenseLayer(inputCount: inputs, outputCount: outputs, weights: weights, bias: bias, activation: activation, inputDropout: dropout))
            previous = outputs
        }
        return (role, member, DenseNetwork(layers: layers))
    }

    private static func decodeParameters(_ r: inout BinaryReader) throws(ModelBundleError) -> QuantizationParameters {
        let scale = try r.f32()
        let zero = try r.i32()
        let bits = Int(try r.u8())
        guard scale > 0 && scale.isFinite, bits == 8 || bits == 16, bits == 8 ? (-128...127).contains(zero) : zero == 0 else {
            throw ModelBundleError(path: r.path, message: "\(r.context): quantization scale \(scale), zero point \(zero), \(bits) bits is not valid")
        }
        return QuantizationParameters(scale: scale, zeroPoint: zero, bits: bits)
    }

    private static func decodeQuantized(_ r: inout BinaryReader) throws(ModelBundleError) -> (Int, Int, QuantizedNetwork) {
        let (role, member, layerCount) = try decodeHeader(&r)
        var layers: [QuantizedLayer] = []
        var previous: Int?
        for _ in 0..<layerCount {
            let (inputs, outputs, activation, dropout) = try decodeShape(&r, previous: previous)
            let input = try decodeParameters(&r)
            let output: QuantizationParameters? = try r.u8() == 1 ? try decodeParameters(&r) : nil
            let weights = try r.take(inputs * outputs).map { Int8(bitPattern: $0) }
            guard weights.allSatisfy({ $0 >= -127 }) else {
                throw ModelBundleError(path: r.path, message: "\(r.context): an int8 weight of −128 (the symmetric range is ±127)")
            }
            var scales: [Float] = []
            for _ in 0..<outputs { scales.append(try r.f32()) }
            var bias: [Int32] = []
            for _ in 0..<outputs { bias.append(try r.i32()) }
            func int32s(expected: Int) throws(ModelBundleError) -> [Int32] {
                let count = try r.count(itemBytes: 4, what: "values")
                guard count == expected else {
                    throw ModelBundleError(path: r.path, message: "\(r.context): \(count) values where the layer needs \(expected)")
                }
                var values: [Int32] = []
                for _ in 0..<count { values.append(try r.i32()) }
                return values
            }
            let multiplier = try int32s(expected: output == nil ? 0 : outputs)
            let shift = try r.i32()
            let dropoutBias = try int32s(expected: dropout > 0 ? outputs : 0)
            let dropoutMultiplier = try int32s(expected: dropout > 0 && output != nil ? outputs : 0)
            let dropoutShift = try r.i32()
            guard multiplier.allSatisfy({ $0 >= 0 }) && dropoutMultiplier.allSatisfy({ $0 >= 0 }), (-31...30).contains(shift),
                (-31...30).contains(dropoutShift)
            else {
                throw ModelBundleError(path: r.path, message: "\(r.context): a requantization multiplier or shift is out of range")
            }
            layers.append(
                QuantizedLayer(
                    inputCount: inputs, outputCount: outputs, activation: activation, inputDropout: dropout, weights: weights,
                    weightScales: scales, input: input, output: output, bias: bias, multiplier: multiplier, shift: shift,
                    dropoutBias: dropoutBias, dropoutMultiplier: dropoutMultiplier, dropoutShift: dropoutShift))
            previous = outputs
        }
        return (role, member, QuantizedNetwork(layers: layers))
    }

    static func roleName(_ role: Int) -> String { ["peak", "fwhm-direct", "fwhm-cascade"][min(role, 2)] }

    static func hex32(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
