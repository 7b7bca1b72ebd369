/// Rows of model inputs (or any numbers), row-major in one contiguous array.
public struct FeatureMatrix: Sendable, Equatable {
    public private(set) var rowCount: Int
    public let columnCount: Int
    /// `rowCount × columnCount` values, row after row.
    public private(set) var values: [Float]

    public init(rowCount: Int, columnCount: Int, values: [Float]) {
        precondition(columnCount > 0 && values.count == rowCount * columnCount, "values must fill rows × columns")
        self.rowCount = rowCount
        self.columnCount = columnCount
        self.values = values
    }

    public init(rowCount: Int, columnCount: Int) {
        self.init(rowCount: rowCount, columnCount: columnCount, values: [Float](repeating: 0, count: rowCount * columnCount))
    }

    public init(rows: [[Float]]) {
        precondition(!rows.isEmpty, "at least one row")
        let columns = rows[0].count
        precondition(rows.allSatisfy { $0.count == columns }, "rows of equal length")
        self.init(rowCount: rows.count, columnCount: columns, values: rows.flatMap { $0 })
    }

    public subscript(row: Int, column: Int) -> Float {
        get { values[row * columnCount + column] }
        set { values[row * columnCount + column] = newValue }
    }

    public func row(_ index: Int) -> [Float] {
        Array(values[index * columnCount..<(index + 1) * columnCount])
    }

    public mutating func append(row: [Float]) {
        precondition(row.count == columnCount, "row of \(columnCount) values")
        values.append(contentsOf: row)
        rowCount += 1
    }

    public mutating func reserveCapacity(rows: Int) {
        values.reserveCapacity(rows * columnCount)
    }

    /// The rows at `indices`, in that order.
    public func rows(_ indices: [Int]) -> FeatureMatrix {
        var result = FeatureMatrix(rowCount: 0, columnCount: columnCount)
        result.values.reserveCapacity(indices.count * columnCount)
        for index in indices { result.values.append(contentsOf: values[index * columnCount..<(index + 1) * columnCount]) }
        result.rowCount = indices.count
        return result
    }

    /// This matrix with `column` appended as a last column (the cascade model's predicted peak).
    public func appendingColumn(_ column: [Float]) -> FeatureMatrix {
        precondition(column.count == rowCount, "one value per row")
        var result = FeatureMatrix(rowCount: 0, columnCount: columnCount + 1)
        result.values.reserveCapacity(rowCount * (columnCount + 1))
        for row in 0..<rowCount {
            result.values.append(contentsOf: values[row * columnCount..<(row + 1) * columnCount])
            result.values.append(column[row])
        }
        result.rowCount = rowCount
        return result
    }
}
