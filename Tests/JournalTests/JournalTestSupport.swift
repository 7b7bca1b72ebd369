import Foundation
import Testing

@testable import Journal

/// A fresh directory under /tmp, removed when the value is dropped.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String

    init() {
        var template = Array("/tmp/aliquot-journal-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed: errno \(errno)")
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    func file(_ name: String) -> String { path + "/" + name }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

/// SplitMix64: a small seeded generator, so every random choice of a test is reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// A record whose payload names it: `{"id":"<id>","n":<n>,"pad":"..."}`.
func testRecord(_ id: String, n: Int = 0, experiment: Int? = nil, padding: Int = 0, kind: RecordKind = .event) -> JournalRecord {
    let pad = String(repeating: "x", count: padding)
    return JournalRecord(
        kind: kind, timeNanoseconds: 1_763_750_000_000_000_000 + Int64(n), experiment: experiment,
        payload: "{\"id\":\"\(id)\",\"n\":\(n),\"pad\":\"\(pad)\"}")
}

/// The `id` field of a payload written by `testRecord`.
func payloadID(_ payload: String) -> String? {
    guard let data = payload.data(using: .utf8),
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    else { return nil }
    return object["id"] as? String
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
func unusedLoopbackPort() -> UInt16 {
    let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    precondition(socketFD >= 0)
    defer { close(socketFD) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
            precondition(bind(socketFD, raw, length) == 0)
            precondition(getsockname(socketFD, raw, &length) == 0)
        }
    }
    return UInt16(bigEndian: address.sin_port)
}

/// A lab-server stand-in on 127.0.0.1: plain sockets on one thread, HTTP/1.1 with one request
/// per connection. It stores records by (journal id, sequence) as a correct server must
/// (docs/uplink-wire-format.md), answers 200 `stored` or 409 `duplicate`, and misbehaves on
/// request as scripted.
final class TestReceiver: @unchecked Sendable {
    enum Behaviour: Equatable {
        case normal
        /// 500 without storing.
        case error500
        /// Store, then wait this long before answering (past the client's timeout).
        case slow(milliseconds: Int)
        /// Read the request, then reset the connection without storing.
        case resetBeforeStoring
        /// Store, then reset the connection: the acknowledgement is lost.
        case resetAfterStoring
        /// Store, then answer 200 with another batch id.
        case wrongBatchID
    }

    let port: UInt16
    private let listener: Int32
    private let lock = NSLock()
    private var script: [Behaviour]
    private var storedPayloads: [String: [Int64: String]] = [:]
    private var storeCounts: [String: [Int64: Int]] = [:]
    private var batchSizesValue: [Int] = []
    private var authorizationsValue: [String] = []
    private var answers: [Int] = []
    private var stopped = false
    private var thread: Thread?

    init(port: UInt16 = 0, script: [Behaviour] = []) {
        self.script = script
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        precondition(listener >= 0)
        var one: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = port.bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listenerFD = listener
        withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { raw in
                precondition(bind(listenerFD, raw, length) == 0, "bind failed: errno \(errno)")
                precondition(getsockname(listenerFD, raw, &length) == 0)
            }
        }
        precondition(listen(listener, 16) == 0)
        self.port = UInt16(bigEndian: address.sin_port)
        let thread = Thread { [self] in serve() }
        self.thread = thread
        thread.start()
    }

    var url: String { "http://127.0.0.1:\(port)/ingest" }

    func stop() {
        lock.withLock { stopped = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    /// Every record stored, by sequence, for one journal.
    func stored(journal: String) -> [Int64: String] { lock.withLock { storedPayloads[journal] ?? [:] } }
    /// How many times each sequence was stored (a correct server: always 1).
    func storeCounts(journal: String) -> [Int64: Int] { lock.withLock { storeCounts[journal] ?? [:] } }
    var batchSizes: [Int] { lock.withLock { batchSizesValue } }
    var authorizations: [String] { lock.withLock { authorizationsValue } }
    /// The status of every answer sent (not of resets).
    var statuses: [Int] { lock.withLock { answers } }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                if lock.withLock({ stopped }) { return }
                continue
            }
            handle(connection)
        }
    }

    private func readRequest(_ connection: Int32) -> (headers: [String: String], body: Data)? {
        var buffer = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Range<Data.Index>?
        while headerEnd == nil {
            let count = read(connection, &chunk, chunk.count)
            if count <= 0 { return nil }
            buffer.append(contentsOf: chunk[0..<count])
            headerEnd = buffer.range(of: Data("\r\n\r\n".utf8))
        }
        let headerText = String(decoding: buffer[..<headerEnd!.lowerBound], as: UTF8.self)
        var headers: [String: String] = [:]
        for line in headerText.components(separatedBy: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var body = Data(buffer[headerEnd!.upperBound...])
        while body.count < length {
            let count = read(connection, &chunk, chunk.count)
            if count <= 0 { return nil }
            body.append(contentsOf: chunk[0..<count])
        }
        return (headers, body)
    }

    private func respond(_ connection: Int32, status: Int, body: String) {
        let reason = status == 200 ? "OK" : status == 409 ? "Conflict" : "Error"
        let text = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
        lock.withLock { answers.append(status) }
        close(connection)
    }

    private func reset(_ connection: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(connection, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(connection)
    }

    /// Stores the batch's records; returns (batch id, whether any record was new).
    private func store(_ body: Data) -> (batchID: String, new: Bool)? {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            object["format"] as? String == "aliquot-journal-batch", object["version"] as? Int == 1,
            let batchID = object["batch_id"] as? String, let journal = object["journal_id"] as? String,
            let records = object["records"] as? [[String: Any]]
        else { return nil }
        var new = false
        lock.withLock {
            batchSizesValue.append(records.count)
            for record in records {
                guard let sequence = (record["sequence"] as? NSNumber)?.int64Value, let payload = record["payload"],
                    let payloadData = try? JSONSerialization.data(withJSONObject: payload, options: [.sortedKeys])
                else { continue }
                if storedPayloads[journal, default: [:]][sequence] == nil {
                    storedPayloads[journal, default: [:]][sequence] = String(decoding: payloadData, as: UTF8.self)
                    storeCounts[journal, default: [:]][sequence, default: 0] += 1
                    new = true
                }
            }
        }
        return (batchID, new)
    }

    private func handle(_ connection: Int32) {
        guard let (headers, body) = readRequest(connection) else {
            close(connection)
            return
        }
        let behaviour = lock.withLock { () -> Behaviour in
            authorizationsValue.append(headers["authorization"] ?? "")
            return script.isEmpty ? .normal : script.removeFirst()
        }
        if behaviour == .resetBeforeStoring {
            reset(connection)
            return
        }
        if behaviour == .error500 {
            respond(connection, status: 500, body: "{\"error\":\"scripted\"}")
            return
        }
        guard let (batchID, new) = store(body) else {
            respond(connection, status: 400, body: "{\"error\":\"not a batch\"}")
            return
        }
        switch behaviour {
        case .resetAfterStoring:
            reset(connection)
        case .slow(let milliseconds):
            usleep(useconds_t(milliseconds * 1000))
            respond(connection, status: new ? 200 : 409, body: "{\"batch_id\":\"\(batchID)\",\"status\":\"stored\"}")
        case .wrongBatchID:
            respond(connection, status: 200, body: "{\"batch_id\":\"someone-else/0/1-1\",\"status\":\"stored\"}")
        default:
            respond(
                connection, status: new ? 200 : 409,
                body: "{\"batch_id\":\"\(batchID)\",\"status\":\"\(new ? "stored" : "duplicate")\"}")
        }
    }
}
