/// A limit on the points a design may use, as a campaign file writes it: `temperature_c <= 280`,
/// `se_mm >= cd_mm`. The left side is a factor (`temperature_c`, `cd_mm`, `se_mm`, `oa_cd`); the
/// comparison one of `<=`, `<`, `>=`, `>`, `==`, `!=`; the right side a number or a factor.
public struct DesignConstraint: Equatable, Sendable, CustomStringConvertible {
    public enum Comparison: String, CaseIterable, Equatable, Sendable {
        case lessOrEqual = "<="
        case less = "<"
        case greaterOrEqual = ">="
        case greater = ">"
        case equal = "=="
        case notEqual = "!="
    }

    public enum Operand: Equatable, Sendable {
        case value(Double)
        case factor(DesignFactor)
    }

    public var factor: DesignFactor
    public var comparison: Comparison
    public var operand: Operand
    /// The constraint as written, for messages.
    public var text: String

    public init(factor: DesignFactor, comparison: Comparison, operand: Operand, text: String) {
        self.factor = factor
        self.comparison = comparison
        self.operand = operand
        self.text = text
    }

    public var description: String { text }

    public func isSatisfied(by condition: SynthesisCondition) -> Bool {
        let left = factor.value(in: condition)
        let right: Double
        switch operand {
        case .value(let value): right = value
        case .factor(let other): right = other.value(in: condition)
        }
        switch comparison {
        case .lessOrEqual: return left <= right
        case .less: return left < right
        case .greaterOrEqual: return left >= right
        case .greater: return left > right
        case .equal: return left == right
        case .notEqual: return left != right
        }
    }

    /// Parses one constraint.
    ///
    /// - Throws: `DesignError` naming the constraint and what is wrong (unknown factor, no
    ///   comparison, not a number).
    public static func parse(_ text: String) throws(DesignError) -> DesignConstraint {
        try parse(text, subject: "constraint \(quoted(text))")
    }

    /// `parse`, with `subject` opening the error message (`design.constraints[2] = "..."`).
    static func parse(_ text: String, subject: String) throws(DesignError) -> DesignConstraint {
        let factors = DesignFactor.allCases.map(\.rawValue).joined(separator: ", ")
        let comparisons = Comparison.allCases.map(\.rawValue).joined(separator: ", ")
        func fail(_ message: String) -> DesignError {
            DesignError(message: "\(subject): \(message)")
        }
        // The first comparison sign, two-character ones first at each position: `<=` is not `<`.
        let scalars = Array(text.unicodeScalars)
        var found: (comparison: Comparison, start: Int, end: Int)?
        search: for index in scalars.indices {
            for comparison in Comparison.allCases.sorted(by: { $0.rawValue.count > $1.rawValue.count }) {
                let sign = Array(comparison.rawValue.unicodeScalars)
                if index + sign.count <= scalars.count && Array(scalars[index..<index + sign.count]) == sign {
                    found = (comparison, index, index + sign.count)
                    break search
                }
            }
        }
        guard let found else {
            throw fail("no comparison; write <factor> <comparison> <number or factor>, e.g. temperature_c <= 280 (comparisons: \(comparisons))")
        }
        let left = trimmed(scalars[..<found.start])
        let right = trimmed(scalars[found.end...])
        guard !left.isEmpty else { throw fail("no factor before \(found.comparison.rawValue); factors: \(factors)") }
        guard let factor = DesignFactor(rawValue: left) else {
            throw fail("unknown factor \(quoted(left)); factors: \(factors)")
        }
        guard !right.isEmpty else {
            throw fail("nothing after \(found.comparison.rawValue); write a number or a factor (\(factors))")
        }
        if let other = DesignFactor(rawValue: right) {
            return DesignConstraint(factor: factor, comparison: found.comparison, operand: .factor(other), text: text)
        }
        guard let value = Double(right), value.isFinite else {
            throw fail("\(quoted(right)) is neither a number nor a factor (\(factors))")
        }
        return DesignConstraint(factor: factor, comparison: found.comparison, operand: .value(value), text: text)
    }
}

/// The scalars as a string without surrounding spaces and tabs.
private func trimmed(_ scalars: ArraySlice<Unicode.Scalar>) -> String {
    var slice = scalars
    while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
    while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
    var text = ""
    text.unicodeScalars.append(contentsOf: slice)
    return text
}
