import Hummingbird
import Journal
import Logging

/// How the server listens and what it accepts.
public struct LabServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Larger request bodies are refused with 413 (checked against Content-Length first, then
    /// while streaming, so a huge body is never buffered).
    public var maximumBodyBytes: Int

    public init(host: String = "127.0.0.1", port: Int = 8080, maximumBodyBytes: Int = 16 << 20) {
        self.host = host
        self.port = port
        self.maximumBodyBytes = maximumBodyBytes
    }
}

/// The ingest contract of docs/uplink-wire-format.md for `POST /api/v1/batches`, as a value
/// (status and JSON body) so the HTTP layer only moves bytes.
public struct IngestReply: Equatable, Sendable {
    public var status: Int
    public var body: String

    static func error(_ status: Int, _ message: String) -> IngestReply {
        IngestReply(status: status, body: "{\"error\":\(JSONText.quoted(message))}")
    }

    static func acknowledged(_ batchID: String, duplicate: Bool) -> IngestReply {
        IngestReply(
            status: duplicate ? 409 : 200,
            body: "{\"batch_id\":\(JSONText.quoted(batchID)),\"status\":\"\(duplicate ? "duplicate" : "stored")\"}")
    }
}

/// Authenticates bearer tokens against the store's device credentials, read for every request
/// (one small query per batch): a device added, given a new token or removed by `aliquot-lab
/// device` (another process, the same database) counts from the next request. A cache would
/// keep accepting a rotated or removed token.
public final class DeviceAuthenticator: Sendable {
    let store: any LabStore

    public init(store: any LabStore) { self.store = store }

    /// The device the token belongs to, or nil.
    public func device(forToken token: String) async throws -> String? {
        DeviceToken.authenticate(token: token, among: try await store.credentials())
    }
}

/// The ingest endpoint's logic: token, size, format, device, store (in that order: an
/// unauthenticated client never gets its body read).
public struct IngestService: Sendable {
    public let store: any LabStore
    public let authenticator: DeviceAuthenticator
    public let maximumBodyBytes: Int

    public init(store: any LabStore, maximumBodyBytes: Int) {
        self.store = store
        self.authenticator = DeviceAuthenticator(store: store)
        self.maximumBodyBytes = maximumBodyBytes
    }

    /// `Authorization: Bearer <token>` -> the token.
    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingSpaces()
        return token.isEmpty ? nil : token
    }

    func handle(request: Request, logger: Logger) async -> IngestReply {
        let reply = await ingest(request: request)
        if reply.status >= 300 && reply.status != 409 {
            logger.warning(
                "batch rejected",
                metadata: ["status": "\(reply.status)", "reason": "\(reply.body)", "host": "\(request.head.authority ?? "")"])
        }
        return reply
    }

    func ingest(request: Request) async -> IngestReply {
        guard let token = IngestService.bearerToken(request.headers[.authorization]) else {
            return .error(401, "missing bearer token (Authorization: Bearer <token>)")
        }
        let device: String
        do {
            guard let found = try await authenticator.device(forToken: token) else {
                return .error(401, "invalid token")
            }
            device = found
        } catch {
            return .error(500, "store: \(error)")
        }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maximumBodyBytes {
            return .error(413, "body of \(length) bytes is over the limit of \(maximumBodyBytes) bytes")
        }
        var body: [UInt8] = []
        do {
            for try await chunk in request.body {
                guard body.count + chunk.readableBytes <= maximumBodyBytes else {
                    return .error(413, "body over the limit of \(maximumBodyBytes) bytes")
                }
                body.append(contentsOf: chunk.readableBytesView)
            }
        } catch {
            return .error(400, "could not read the body: \(error)")
        }
        return await ingest(body: body, device: device)
    }

    /// The checks after authentication: format (400), device (403), store (200, 409 or 500).
    public func ingest(body: [UInt8], device: String) async -> IngestReply {
        let batch: IncomingBatch
        do {
            batch = try IngestDecoder.decode(body)
        } catch {
            return .error(400, error.reason)
        }
        guard batch.deviceID == device else {
            return .error(403, "the token belongs to device \(device), the batch names device \(batch.deviceID)")
        }
        do {
            switch try await store.store(batch, receivedNanoseconds: realtimeNanoseconds()) {
            case .stored: return .acknowledged(batch.batchID, duplicate: false)
            case .duplicate: return .acknowledged(batch.batchID, duplicate: true)
            }
        } catch {
            return .error(500, "could not store batch \(batch.batchID): \(error)")
        }
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// The lab server: the ingest API and the dashboard on one Hummingbird router.
public enum LabServer {
    /// The router: `POST /api/v1/batches` and the dashboard pages (see `Dashboard`).
    public static func router(store: any LabStore, configuration: LabServerConfiguration) -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        let ingest = IngestService(store: store, maximumBodyBytes: configuration.maximumBodyBytes)
        router.post("/api/v1/batches") { request, context -> Response in
            let reply = await ingest.handle(request: request, logger: context.logger)
            return Response(
                status: .init(code: reply.status), headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: reply.body)))
        }
        Dashboard(store: store).addRoutes(to: router)
        return router
    }

    /// The application, ready for `runService()` (or HummingbirdTesting's `test`).
    public static func application(
        store: any LabStore, configuration: LabServerConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router(store: store, configuration: configuration),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "aliquot-lab"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}
