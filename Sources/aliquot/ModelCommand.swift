import ArgumentParser
import Learning

/// `aliquot model`: look inside a model bundle.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Inspect or export a model bundle (.aqm).",
        subcommands: [Info.self, Export.self])

    /// `aliquot model info`.
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "info", abstract: "What a bundle holds: data, recipe, cross-validation, sizes.")

        @Option(help: "The model bundle (.aqm).")
        var model: String

        func run() throws {
            let bundle = try loadModel(model)
            let m = bundle.metadata
            print("\(model): \(m.kind.rawValue) model, bundle format \(ModelBundle.majorVersion).\(ModelBundle.minorVersion)")
            print("trained on \(m.dataFile) (sha256 \(m.dataHash)), \(m.rows) rows, \(m.experiments) experiments")
            print("created \(m.createdUnixSeconds) (Unix s), seed \(m.seed), ensemble \(m.ensembleSize), \(m.epochs) epochs, "
                + "batch \(m.batchSize), learning rate \(m.learningRate), cascade trained on \(m.cascadeTraining.rawValue), "
                + "activations \(m.precision == .int8 ? "int8" : "int16 (5-wide) / int8 (50-wide)")")
            let scalings = bundle.normalization.inputs.enumerated().map { index, range in
                let kind: String
                switch range.scaling {
                case .linear: kind = "linear"
                case .logarithmic(let offset): kind = "log, offset \(offset)"
                }
                return "\(Normalization.inputNames[index]) \(bundle.normalization.rangeText(ofInput: index)) (\(kind))"
            }
            print("inputs: " + scalings.joined(separator: "; "))
            if let report = m.crossValidation {
                print("grouped \(report.folds)-fold cross-validation on \(report.rows) rows, \(report.experiments) experiments:")
                printMetricsTable([("peak", report.peak), ("FWHM direct", report.fwhmDirect), ("FWHM cascade", report.fwhmCascade)])
            } else {
                print("no cross-validation recorded")
            }
        }
    }

    /// `aliquot model export --json`.
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export", abstract: "Write a bundle's float weights as JSON (Keras kernel layout).")

        @Option(help: "The model bundle (.aqm).")
        var model: String

        @Flag(help: "JSON (the one export format).")
        var json = false

        @Option(help: "Write to this file (atomically) instead of standard output.")
        var out: String?

        func validate() throws {
            guard json else { throw ValidationError("choose the export format: --json") }
        }

        func run() throws {
            let text = ModelJSON.export(try loadModel(model))
            if let out {
                do { try writeFileAtomically(path: out, bytes: Array(text.utf8)) } catch { throw CommandFailure(error.description) }
            } else {
                print(text, terminator: "")
            }
        }
    }
}

/// Reads a model bundle, turning its error into the command's one-line failure.
func loadModel(_ path: String) throws -> SynthesisModel {
    do {
        return try ModelBundle.read(path: path)
    } catch {
        throw CommandFailure(error.description)
    }
}

/// `text` left-aligned in `width` columns.
func leftAligned(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
}
