/// A variable a suggestion constraint may name, and the model input it bounds.
public enum ConstraintVariable: String, Sendable, Equatable, CaseIterable {
    case cd
    case se
    case oaCd = "oa_cd"
    case temp
    case time

    /// Index in `SynthesisConditions.values` (OA/Cd, T, [Cd], [Se], t).
    public var inputIndex: Int {
        switch self {
        case .oaCd: return 0
        case .temp: return 1
        case .cd: return 2
        case .se: return 3
        case .time: return 4
        }
    }
}

/// How a constraint compares.
public enum ConstraintRelation: String, Sendable, Equatable, CaseIterable {
    case lessOrEqual = "<="
    case greaterOrEqual = ">="
    case less = "<"
    case greater = ">"
    case equal = "=="
}

/// One constraint on a suggested experiment, as `aliquot suggest --constraint 'temp<=280'` writes
/// it: `<variable> <relation> <number>`, spaces allowed, variables cd and se (mM), oa_cd, temp
/// (°C) and time (s).
public struct SuggestionConstraint: Sendable, Equatable, CustomStringConvertible {
    public var variable: ConstraintVariable
    public var relation: ConstraintRelation
    public var value: Double

    public init(variable: ConstraintVariable, relation: ConstraintRelation, value: Double) {
        self.variable = variable
        self.relation = relation
        self.value = value
    }

    /// Whether `conditions` satisfy the constraint.
    public func isSatisfied(by conditions: SynthesisConditions) -> Bool {
        let x = conditions.values[variable.inputIndex]
        switch relation {
        case .lessOrEqual: return x <= value
        case .greaterOrEqual: return x >= value
        case .less: return x < value
        case .greater: return x > value
        case .equal: return x == value
        }
    }

    public var description: String { "\(variable.rawValue)\(relation.rawValue)\(shortNumber(value))" }

    /// Parses one constraint; the error quotes the text and says what is wrong.
    public static func parse(_ text: String) throws(ConstraintError) -> SuggestionConstraint {
        let compact = String(text.filter { $0 != " " && $0 != "\t" })
        // Two-character relations first, so `<=` is not read as `<` followed by `=...`.
        let relations: [ConstraintRelation] = [.lessOrEqual, .greaterOrEqual, .equal, .less, .greater]
        for relation in relations {
            guard let range = compact.firstRange(of: relation.rawValue) else { continue }
            let name = String(compact[compact.startIndex..<range.lowerBound])
            let number = String(compact[range.upperBound...])
            guard let variable = ConstraintVariable(rawValue: name.lowercased()) else {
                let known = ConstraintVariable.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConstraintError(
                    text: text, message: name.isEmpty ? "no variable before \(relation.rawValue); use one of \(known)"
                        : "unknown variable \"\(name)\"; use one of \(known)")
            }
            guard !number.isEmpty else { throw ConstraintError(text: text, message: "no number after \(relation.rawValue)") }
            guard let value = Double(number) else { throw ConstraintError(text: text, message: "\"\(number)\" is not a number") }
            guard value.isFinite else { throw ConstraintError(text: text, message: "\(number) is not a finite number") }
            return SuggestionConstraint(variable: variable, relation: relation, value: value)
        }
        throw ConstraintError(text: text, message: "no comparison; write e.g. temp<=280 (one of <=, >=, <, >, ==)")
    }
}

/// A constraint that does not parse or cannot be met: `'temp<=abc': "abc" is not a number`.
public struct ConstraintError: Error, Equatable, Sendable, CustomStringConvertible {
    public var text: String
    public var message: String

    public init(text: String, message: String) {
        self.text = text
        self.message = message
    }

    public var description: String { "'\(text)': \(message)" }
}
