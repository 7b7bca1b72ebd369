import Logging
import PostgresNIO

/// Which store `--database` names: `sqlite:PATH` (the default, `sqlite:aliquot-lab.sqlite`) or
/// `postgres://user[:password]@host[:port]/database` (also `postgresql://`; no TLS: the lab
/// network's database, or a TLS-terminating proxy).
public enum LabDatabase: Equatable, Sendable {
    case sqlite(path: String)
    case postgres(host: String, port: Int, user: String, password: String?, database: String)

    public init(parsing text: String) throws(LabStoreError) {
        if text.hasPrefix("sqlite:") {
            let path = String(text.dropFirst("sqlite:".count))
            guard !path.isEmpty else { throw .invalidDatabaseURL(text) }
            self = .sqlite(path: path)
            return
        }
        let rest: Substring
        if text.hasPrefix("postgres://") {
            rest = text.dropFirst("postgres://".count)
        } else if text.hasPrefix("postgresql://") {
            rest = text.dropFirst("postgresql://".count)
        } else {
            throw .invalidDatabaseURL(text)
        }
        guard let at = rest.lastIndex(of: "@"), let slash = rest[at...].firstIndex(of: "/") else {
            throw .invalidDatabaseURL(text)
        }
        let credentials = rest[..<at]
        let hostPort = rest[rest.index(after: at)..<slash]
        let database = String(rest[rest.index(after: slash)...].prefix { $0 != "?" })
        let user: String
        let password: String?
        if let colon = credentials.firstIndex(of: ":") {
            user = LabDatabase.percentDecoded(credentials[..<colon])
            password = LabDatabase.percentDecoded(credentials[credentials.index(after: colon)...])
        } else {
            user = LabDatabase.percentDecoded(credentials)
            password = nil
        }
        var host = String(hostPort)
        var port = 5432
        if let colon = hostPort.lastIndex(of: ":") {
            guard let number = Int(hostPort[hostPort.index(after: colon)...]), (1...65535).contains(number) else {
                throw .invalidDatabaseURL(text)
            }
            port = number
            host = String(hostPort[..<colon])
        }
        guard !user.isEmpty, !host.isEmpty, !database.isEmpty else { throw .invalidDatabaseURL(text) }
        self = .postgres(host: host, port: port, user: user, password: password, database: database)
    }

    /// `%XX` escapes decoded (a password may hold `@` or `:`).
    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Opens the store (creating or migrating its schema).
    public func open(logger: Logger) async throws -> any LabStore {
        switch self {
        case .sqlite(let path):
            return try SQLiteLabStore(path: path)
        case .postgres(let host, let port, let user, let password, let database):
            // One direct connection first: the pool retries a refused connection for about a
            // minute before it gives up with an opaque error; this fails at once with the cause.
            do {
                let probe = try await PostgresConnection.connect(
                    configuration: .init(host: host, port: port, username: user, password: password, database: database, tls: .disable),
                    id: 0, logger: logger)
                try await probe.close()
            } catch let error as PSQLError {
                let cause = error.serverInfo?[.message] ?? error.underlying.map { "\($0)" } ?? "\(error.code)"
                throw LabStoreError.postgres(operation: "connect to \(host):\(port)/\(database) as \(user)", message: cause)
            }
            var configuration = PostgresClient.Configuration(
                host: host, port: port, username: user, password: password, database: database, tls: .disable)
            configuration.options.maximumConnections = 8
            return try await PostgresLabStore.connect(configuration, logger: logger)
        }
    }
}
