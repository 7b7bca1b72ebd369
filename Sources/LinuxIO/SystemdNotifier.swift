import Glibc

/// Tells systemd how the service is doing: the `sd_notify(3)` protocol, spoken directly.
///
/// systemd gives a `Type=notify` service the path of a unix datagram socket in `NOTIFY_SOCKET`
/// (a file path, or an abstract-namespace name written with a leading `@`) and, with
/// `WatchdogSec=`, the watchdog interval in `WATCHDOG_USEC` (for the process `WATCHDOG_PID`
/// names, if set). Each message is one datagram of newline-separated `KEY=value` lines:
/// `READY=1` once started, `WATCHDOG=1` to say "alive" within the interval, `STATUS=...` for
/// `systemctl status`, `STOPPING=1` on the way out. No libsystemd: the protocol is these few
/// lines, and the board binary stays lean.
public final class SystemdNotifier {
    /// The socket's address as given (`/run/systemd/notify`, `@name`).
    public let socketPath: String
    /// The watchdog interval systemd asked for, when it asked for one for this process.
    public let watchdogInterval: Duration?
    private let descriptor: Int32
    private var address = sockaddr_un()
    private let addressLength: socklen_t

    /// The notifier for this process from its environment, or nil when systemd did not start it
    /// as a notify service (no `NOTIFY_SOCKET`): then there is nobody to tell.
    public static func fromEnvironment() throws(SystemdNotifyError) -> SystemdNotifier? {
        guard let path = environment("NOTIFY_SOCKET"), !path.isEmpty else { return nil }
        let interval = try watchdogInterval(
            usec: environment("WATCHDOG_USEC"), pid: environment("WATCHDOG_PID"), ownPID: getpid())
        return try SystemdNotifier(socketPath: path, watchdogInterval: interval)
    }

    /// The interval from `WATCHDOG_USEC`, when it is meant for `ownPID` (`WATCHDOG_PID` absent
    /// or equal). A value that is not a positive integer is an error naming it.
    public static func watchdogInterval(usec: String?, pid: String?, ownPID: Int32) throws(SystemdNotifyError)
        -> Duration?
    {
        guard let usec else { return nil }
        if let pid, Int32(pid) != ownPID { return nil }
        guard let microseconds = Int64(usec), microseconds > 0 else {
            throw SystemdNotifyError(operation: "read WATCHDOG_USEC", detail: "\"\(usec)\" is not a positive integer of µs")
        }
        return .microseconds(microseconds)
    }

    /// A datagram socket aimed at `socketPath` (`@name`: abstract namespace).
    public init(socketPath: String, watchdogInterval: Duration? = nil) throws(SystemdNotifyError) {
        self.socketPath = socketPath
        self.watchdogInterval = watchdogInterval
        var bytes = Array(socketPath.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity, abstract || bytes.first == UInt8(ascii: "/") else {
            throw SystemdNotifyError(
                operation: "use NOTIFY_SOCKET",
                detail: "\"\(socketPath)\" is not an absolute path or @name shorter than \(capacity) bytes")
        }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { path in
            path.copyBytes(from: bytes)
        }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        // A file path is terminated by NUL (counted); an abstract name is exactly its bytes.
        addressLength = socklen_t(pathOffset + bytes.count + (abstract ? 0 : 1))
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw SystemdNotifyError(operation: "socket(AF_UNIX, SOCK_DGRAM)", errno: errno)
        }
    }

    deinit { close(descriptor) }

    /// Sends one message: the state lines joined by newlines, in one datagram.
    public func notify(_ states: [SystemdState]) throws(SystemdNotifyError) {
        let message = states.map(\.line).joined(separator: "\n")
        let sent = message.utf8CString.withUnsafeBufferPointer { text in
            withUnsafePointer(to: &address) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    sendto(descriptor, text.baseAddress, text.count - 1, Int32(MSG_NOSIGNAL), socketAddress, addressLength)
                }
            }
        }
        guard sent >= 0 else {
            throw SystemdNotifyError(operation: "sendto \(socketPath) (\(message))", errno: errno)
        }
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

/// One line of an sd_notify message.
public enum SystemdState: Equatable, Sendable {
    /// Startup is finished: for Aliquot, the rig is built and in its safe state.
    case ready
    /// The service is alive (sent only after a health check passed).
    case watchdog
    /// The service is on its way out.
    case stopping
    /// A line for `systemctl status`.
    case status(String)
    /// The service failed with this errno (`ERRNO=`).
    case errno(Int32)

    public var line: String {
        switch self {
        case .ready: "READY=1"
        case .watchdog: "WATCHDOG=1"
        case .stopping: "STOPPING=1"
        // One message is newline-separated lines: a status must stay on its line.
        case .status(let text): "STATUS=" + text.split(whereSeparator: \.isNewline).joined(separator: " ")
        case .errno(let number): "ERRNO=\(number)"
        }
    }
}

/// Why telling systemd failed.
public struct SystemdNotifyError: Error, Equatable, Sendable, CustomStringConvertible {
    public var operation: String
    public var detail: String

    public init(operation: String, detail: String) {
        self.operation = operation
        self.detail = detail
    }

    public init(operation: String, errno: Int32) {
        self.init(operation: operation, detail: String(cString: strerror(errno)) + " (errno \(errno))")
    }

    public var description: String { "systemd notify: \(operation): \(detail)" }
}
