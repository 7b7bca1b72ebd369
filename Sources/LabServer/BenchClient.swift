#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A minimal HTTP/1.1 client over one keep-alive TCP connection (socket(2), connect(2),
/// send(2), recv(2)), for the ingest benchmark: it sends requests with Content-Length and reads
/// responses with Content-Length. Blocking: run it on its own thread (`BenchThreads`).
public final class BenchClient {
    let descriptor: Int32
    var buffer: [UInt8] = []

    /// Connects to `127.0.0.1:port`.
    public init(port: Int) throws(BenchError) {
        let socketDescriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketDescriptor >= 0 else { throw BenchError("socket: errno \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = in_addr_t(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socketDescriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            close(socketDescriptor)
            throw BenchError("connect 127.0.0.1:\(port): errno \(code)")
        }
        var noDelay: Int32 = 1
        setsockopt(socketDescriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        descriptor = socketDescriptor
    }

    deinit { close(descriptor) }

    /// POSTs `body` to `path` with a bearer token; returns the status and the response body.
    public func post(path: String, token: String, body: [UInt8]) throws(BenchError) -> (status: Int, body: String) {
        let head = "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        try sendAll(Array(head.utf8) + body)
        return try readResponse()
    }

    func sendAll(_ bytes: [UInt8]) throws(BenchError) {
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { raw in
                send(descriptor, raw.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            guard count > 0 else { throw BenchError("send: errno \(errno)") }
            sent += count
        }
    }

    func fill() throws(BenchError) {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, 65_536, 0) }
        guard count > 0 else { throw BenchError(count == 0 ? "connection closed by the server" : "recv: errno \(errno)") }
        buffer.append(contentsOf: chunk[0..<count])
    }

    func readResponse() throws(BenchError) -> (status: Int, body: String) {
        let separator: [UInt8] = [13, 10, 13, 10]
        var headEnd: Int?
        while headEnd == nil {
            if buffer.count >= 4 {
                for index in 0...(buffer.count - 4) where Array(buffer[index..<index + 4]) == separator {
                    headEnd = index
                    break
                }
            }
            if headEnd == nil { try fill() }
        }
        let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw BenchError("bad status line: \(lines.first ?? "")") }
        var length = 0
        for line in lines.dropFirst() where line.lowercased().hasPrefix("content-length:") {
            length = Int(line.dropFirst("content-length:".count).filter { $0 != " " }) ?? 0
        }
        let bodyStart = headEnd! + 4
        while buffer.count < bodyStart + length { try fill() }
        let body = String(decoding: buffer[bodyStart..<bodyStart + length], as: UTF8.self)
        buffer.removeFirst(bodyStart + length)
        return (status, body)
    }
}

/// A benchmark failure with its cause.
public struct BenchError: Error, Equatable, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Runs `body(index)` on `count` POSIX threads (pthread_create(3)) and waits for them all, so
/// blocking clients do not occupy Swift's cooperative pool (which runs the server's handlers).
public enum BenchThreads {
    final class Box: @unchecked Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    /// Runs `body` on a new detached thread.
    static func detach(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body))
        var thread = pthread_t()
        let code = pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box.toOpaque())
        precondition(code == 0, "pthread_create failed: \(code)")
        pthread_detach(thread)
    }

    public static func run(count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        var threads: [pthread_t] = []
        for index in 0..<count {
            let box = Unmanaged.passRetained(Box { body(index) })
            var thread = pthread_t()
            let code = pthread_create(&thread, nil, { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, box.toOpaque())
            precondition(code == 0, "pthread_create failed: \(code)")
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
    }
}
