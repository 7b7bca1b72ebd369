/// A CSV file split into fields (RFC 4180: comma separated, double-quoted fields may hold commas,
/// quotes doubled inside quotes, LF or CRLF line ends, an optional UTF-8 byte-order mark), each
/// record keeping the 1-based line it starts on so that errors can point at it.
public struct CSVTable: Sendable {
    public struct Record: Sendable {
        /// 1-based line of the file where the record starts.
        public var line: Int
        public var fields: [String]
    }

    /// The file name used in errors.
    public var file: String
    public var header: Record
    public var records: [Record]

    /// Splits `text`; blank lines are skipped. An unterminated quote is an error naming its line.
    public static func parse(text: String, file: String) throws(DatasetError) -> CSVTable {
        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var inQuotes = false
        var quotedField = false
        var line = 1
        var recordLine = 1
        var quoteLine = 1
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }

        func endField() {
            fields.append(String(decoding: field, as: UTF8.self))
            field.removeAll(keepingCapacity: true)
            quotedField = false
        }
        func endRecord() {
            endField()
            let blank = fields.count == 1 && fields[0].isEmpty
            if !blank { records.append(Record(line: recordLine, fields: fields)) }
            fields.removeAll(keepingCapacity: true)
        }

        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if inQuotes {
                if byte == UInt8(ascii: "\"") {
                    if index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 1
                    } else {
                        inQuotes = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
            } else {
                switch byte {
                case UInt8(ascii: ","):
                    endField()
                case UInt8(ascii: "\n"):
                    endRecord()
                    line += 1
                    recordLine = line
                case UInt8(ascii: "\r") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\n"):
                    break  // the LF that follows ends the record
                case UInt8(ascii: "\"") where field.isEmpty && !quotedField:
                    inQuotes = true
                    quotedField = true
                    quoteLine = line
                default:
                    field.append(byte)
                }
            }
            index += 1
        }
        if inQuotes {
            throw DatasetError(file: file, line: quoteLine, message: "a quoted field is never closed")
        }
        if !field.isEmpty || !fields.isEmpty { endRecord() }
        guard let header = records.first else {
            throw DatasetError(file: file, line: nil, message: "the file is empty: expected a header line")
        }
        return CSVTable(file: file, header: header, records: Array(records.dropFirst()))
    }
}
