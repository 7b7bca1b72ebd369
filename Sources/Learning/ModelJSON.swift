/// The float weights of a model as JSON (`aliquot model export --json`): the normalization and,
/// per target and ensemble member, every layer's kernel in Keras's layout (`kernel[input][output]`)
/// and bias, so the numbers can be loaded into the published notebooks or checked by hand.
public enum ModelJSON {
    public static func export(_ model: SynthesisModel) -> String {
        var out = "{\n"
        out += "  \"format\": \"aliquot-model-weights\",\n"
        out += "  \"bundle_version\": \"\(ModelBundle.majorVersion).\(ModelBundle.minorVersion)\",\n"
        out += "  \"kind\": \(quoted(model.metadata.kind.rawValue)),\n"
        out += "  \"data_file\": \(quoted(model.metadata.dataFile)),\n"
        out += "  \"data_sha256\": \(quoted(model.metadata.dataHash)),\n"
        out += "  \"created_unix_seconds\": \(model.metadata.createdUnixSeconds),\n"
        out += "  \"ensemble_size\": \(model.metadata.ensembleSize),\n"
        out += "  \"normalization\": {\n    \"inputs\": [\n"
        let inputs = model.normalization.inputs.enumerated().map { index, range in
            "      " + rangeObject(range, name: Normalization.inputNames[index])
        }
        out += inputs.joined(separator: ",\n") + "\n    ],\n"
        out += "    \"peak_ev\": \(rangeObject(model.normalization.peakEV, name: "Peak_eV")),\n"
        out += "    \"fwhm_ev\": \(rangeObject(model.normalization.fwhmEV, name: "FWHM_eV"))\n  },\n"
        out += "  \"networks\": {\n"
        let groups = [("peak", model.peak), ("fwhm_direct", model.fwhmDirect), ("fwhm_cascade", model.fwhmCascade)]
        out += groups.map { name, networks in
            "    \(quoted(name)): [\n" + networks.map { networkObject($0, indent: "      ") }.joined(separator: ",\n") + "\n    ]"
        }.joined(separator: ",\n")
        out += "\n  }\n}\n"
        return out
    }

    static func rangeObject(_ range: FeatureRange, name: String) -> String {
        var text = "{\"name\": \(quoted(name)), \"lower\": \(number(range.lower)), \"upper\": \(number(range.upper)), "
        switch range.scaling {
        case .linear: text += "\"scaling\": \"linear\"}"
        case .logarithmic(let offset): text += "\"scaling\": \"logarithmic\", \"offset\": \(number(offset))}"
        }
        return text
    }

    static func networkObject(_ network: DenseNetwork, indent: String) -> String {
        var text = indent + "{\"layers\": [\n"
        text += network.layers.map { layer in
            var layerText = indent + "  {\"inputs\": \(layer.inputCount), \"outputs\": \(layer.outputCount), "
            layerText += "\"activation\": \"\(layer.activation == .relu ? "relu" : "linear")\", "
            layerText += "\"input_dropout\": \(number(Double(layer.inputDropout))),\n"
            let rows = (0..<layer.inputCount).map { input in
                "[" + (0..<layer.outputCount).map { number(layer.weight(input: input, output: $0)) }.joined(separator: ", ") + "]"
            }
            layerText += indent + "   \"kernel\": [" + rows.joined(separator: ", ") + "],\n"
            layerText += indent + "   \"bias\": [" + layer.bias.map(number).joined(separator: ", ") + "]}"
            return layerText
        }.joined(separator: ",\n")
        return text + "\n" + indent + "]}"
    }

    /// A JSON number: the shortest text that reads back to the same value.
    static func number(_ value: Float) -> String {
        precondition(value.isFinite, "JSON has no NaN or infinity")
        return value.description
    }

    static func number(_ value: Double) -> String {
        precondition(value.isFinite, "JSON has no NaN or infinity")
        return value.description
    }

    /// A JSON string literal (RFC 8259 §7: quote, backslash and control characters escaped); the
    /// campaign's summary.json uses it too.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let digits = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
