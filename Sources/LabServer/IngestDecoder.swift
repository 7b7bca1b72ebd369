import Journal

/// Why a batch body was refused (HTTP 400): the field and what was wrong with it.
public struct IngestError: Error, Equatable, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}

/// Reads a request body in the wire format of docs/uplink-wire-format.md (format
/// `aliquot-journal-batch`, version 1) into an `IncomingBatch`, checking every rule there:
/// the version, the device and journal ids, the batch id derived from them, contiguous records.
public enum IngestDecoder {
    public static func decode(_ body: [UInt8]) throws(IngestError) -> IncomingBatch {
        let document: JSONValue
        do {
            document = try JSONValue.parse(body)
        } catch {
            throw IngestError("malformed JSON: \(error.description)")
        }
        guard case .object = document else { throw IngestError("the body must be a JSON object") }
        guard document["format"]?.stringValue == UplinkBatch.format else {
            throw IngestError("format must be \"\(UplinkBatch.format)\"")
        }
        guard let version = document["version"]?.int64Value else { throw IngestError("version must be an integer") }
        guard version == Int64(UplinkBatch.version) else {
            throw IngestError("unknown version \(version) (this server reads version \(UplinkBatch.version))")
        }
        guard let deviceID = document["device_id"]?.stringValue, UplinkBatch.isValidDeviceID(deviceID) else {
            throw IngestError("device_id must be 1 to 64 characters of A-Z a-z 0-9 . _ -")
        }
        guard let journalID = document["journal_id"]?.stringValue, isJournalID(journalID) else {
            throw IngestError("journal_id must be 32 lowercase hex digits")
        }
        guard let first = document["first_sequence"]?.int64Value, let last = document["last_sequence"]?.int64Value,
            first >= 1, last >= first
        else {
            throw IngestError("first_sequence and last_sequence must be integers with 1 <= first <= last")
        }
        let expectedID = UplinkBatch.batchID(deviceID: deviceID, journalID: journalID, first: first, last: last)
        guard let batchID = document["batch_id"]?.stringValue, batchID == expectedID else {
            throw IngestError("batch_id must be \(expectedID)")
        }
        guard let items = document["records"]?.arrayValue else { throw IngestError("records must be an array") }
        guard Int64(items.count) == last - first + 1 else {
            throw IngestError("records holds \(items.count) records, the range \(first)-\(last) needs \(last - first + 1)")
        }
        var records: [IncomingRecord] = []
        records.reserveCapacity(items.count)
        for (offset, item) in items.enumerated() {
            records.append(try decodeRecord(item, expectedSequence: first + Int64(offset)))
        }
        return IncomingBatch(deviceID: deviceID, journalID: journalID, records: records)
    }

    static func decodeRecord(_ item: JSONValue, expectedSequence: Int64) throws(IngestError) -> IncomingRecord {
        let at = "record \(expectedSequence)"
        guard case .object = item else { throw IngestError("\(at): must be an object") }
        guard let sequence = item["sequence"]?.int64Value, sequence == expectedSequence else {
            throw IngestError("\(at): sequence must be \(expectedSequence) (records are contiguous, in order)")
        }
        guard let time = item["time_ns"]?.int64Value else { throw IngestError("\(at): time_ns must be a 64-bit integer") }
        guard let kindName = item["kind"]?.stringValue, let kind = RecordKind(rawValue: kindName) else {
            throw IngestError("\(at): kind must be one of event, sample, spectrum, log")
        }
        let experiment: Int?
        switch item["experiment"] {
        case .null?, nil: experiment = nil
        case let value?:
            guard let number = value.int64Value, let small = Int(exactly: number) else {
                throw IngestError("\(at): experiment must be an integer or null")
            }
            experiment = small
        }
        guard let payload = item["payload"] else { throw IngestError("\(at): payload is missing") }
        var level: LogLevel?
        if kind == .log, let name = payload["level"]?.stringValue { level = LogLevel(name: name) }
        return IncomingRecord(
            sequence: sequence, timeNanoseconds: time, kind: kind, experiment: experiment, payload: payload.serialized,
            campaign: payload["campaign"]?.stringValue, level: level, message: payload["message"]?.stringValue)
    }

    static func isJournalID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.count == 32 && bytes.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }
}
