/// One batch of journal records as it goes to the lab server: the versioned wire format of
/// docs/uplink-wire-format.md (format `aliquot-journal-batch`, version 1), one JSON object:
///
///     {"format":"aliquot-journal-batch","version":1,"device_id":"reactor-01",
///      "journal_id":"9f0c...","batch_id":"reactor-01/9f0c.../1-3","first_sequence":1,
///      "last_sequence":3,"records":[{"sequence":1,"time_ns":1763750000000000000,
///      "kind":"event","experiment":null,"payload":{...}}, ...]}
///
/// The batch id is derived from the device, the journal and the sequence range, so a batch
/// sent again after a lost answer has the same id and the server stores it once.
public struct UplinkBatch: Equatable, Sendable {
    /// The `format` field.
    public static let format = "aliquot-journal-batch"
    /// The `version` field: bumped when a field changes meaning or a required one is added.
    public static let version = 1

    public var deviceID: String
    public var journalID: String
    /// Contiguous records, in sequence order, at least one.
    public var records: [StoredRecord]

    public init(deviceID: String, journalID: String, records: [StoredRecord]) {
        precondition(UplinkBatch.isValidDeviceID(deviceID), "invalid device id \(deviceID)")
        precondition(!records.isEmpty, "a batch holds at least one record")
        for (earlier, later) in zip(records, records.dropFirst()) {
            precondition(later.sequence == earlier.sequence + 1, "batch records must be contiguous")
        }
        self.deviceID = deviceID
        self.journalID = journalID
        self.records = records
    }

    public var firstSequence: Int64 { records[0].sequence }
    public var lastSequence: Int64 { records[records.count - 1].sequence }

    /// `<device_id>/<journal_id>/<first>-<last>`.
    public var batchID: String { UplinkBatch.batchID(deviceID: deviceID, journalID: journalID, first: firstSequence, last: lastSequence) }

    public static func batchID(deviceID: String, journalID: String, first: Int64, last: Int64) -> String {
        "\(deviceID)/\(journalID)/\(first)-\(last)"
    }

    /// A device id is 1...64 characters of `A-Z a-z 0-9 . _ -` (it goes into batch ids and
    /// file names on the server unescaped).
    public static func isValidDeviceID(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        return (1...64).contains(bytes.count) && bytes.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                || byte == 0x2E || byte == 0x5F || byte == 0x2D
        }
    }

    /// The request body: the batch as one JSON object in UTF-8 (payloads embedded as they are:
    /// the journal checked each is one JSON value).
    public func encoded() -> [UInt8] {
        var text = "{\"format\":\"\(UplinkBatch.format)\",\"version\":\(UplinkBatch.version)"
        text += ",\"device_id\":\(JSONText.quoted(deviceID)),\"journal_id\":\(JSONText.quoted(journalID))"
        text += ",\"batch_id\":\(JSONText.quoted(batchID))"
        text += ",\"first_sequence\":\(firstSequence),\"last_sequence\":\(lastSequence),\"records\":["
        for (index, stored) in records.enumerated() {
            if index > 0 { text += "," }
            let record = stored.record
            text += "{\"sequence\":\(stored.sequence),\"time_ns\":\(record.timeNanoseconds)"
            text += ",\"kind\":\"\(record.kind.rawValue)\",\"experiment\":"
            text += record.experiment.map { String($0) } ?? "null"
            text += ",\"payload\":\(record.payload)}"
        }
        text += "]}"
        return Array(text.utf8)
    }

    /// What the server's answer means for this batch (docs/uplink-wire-format.md, "Response"):
    /// acknowledged only with a 2xx status, or 409 (already stored), and the batch id echoed in
    /// the body's `batch_id`.
    public func acknowledgement(status: Int, body: String) -> UplinkAcknowledgement {
        let echoed = UplinkBatch.echoedBatchID(in: body)
        switch status {
        case 200..<300, 409:
            guard echoed == batchID else { return .notAcknowledged(reason: "the answer does not echo batch_id \(batchID)") }
            return status == 409 ? .duplicate : .stored
        default:
            return .notAcknowledged(reason: "HTTP \(status)")
        }
    }

    /// The string value of the top-level `"batch_id"` key of a JSON object, if any. Batch ids
    /// hold no characters that need escaping, so an escaped value never matches one.
    static func echoedBatchID(in body: String) -> String? {
        let bytes = Array(body.utf8)
        let key = Array("\"batch_id\"".utf8)
        var index = 0
        func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }
        while index + key.count <= bytes.count {
            guard Array(bytes[index..<index + key.count]) == key else {
                index += 1
                continue
            }
            index += key.count
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { continue }
            index += 1
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let start = index + 1
            guard let end = bytes[start...].firstIndex(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }),
                bytes[end] == UInt8(ascii: "\"")
            else { return nil }
            return String(decoding: bytes[start..<end], as: UTF8.self)
        }
        return nil
    }
}

/// The server's answer to a batch, as `UplinkBatch.acknowledgement` reads it.
public enum UplinkAcknowledgement: Equatable, Sendable {
    /// Stored now.
    case stored
    /// Stored before (a retry of a batch whose answer was lost): also an acknowledgement.
    case duplicate
    /// Not acknowledged: send it again later.
    case notAcknowledged(reason: String)

    public var isAcknowledged: Bool { self == .stored || self == .duplicate }
}
