import Glibc
import LinuxIO
import Testing

/// The sd_notify protocol against a real unix datagram socket standing in for systemd.
@Suite("systemd notify protocol")
struct SystemdNotifierTests {
    /// A bound datagram socket: what systemd listens on.
    final class FakeSystemd {
        let descriptor: Int32
        let path: String

        /// `name` starting with `@`: abstract namespace; otherwise a file in a fresh temp dir.
        init(name: String) throws {
            descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            try #require(descriptor >= 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            var bytes: [UInt8]
            if name.hasPrefix("@") {
                path = name
                bytes = Array(name.utf8)
                bytes[0] = 0
            } else {
                var template = Array("/tmp/aliquot-notify-XXXXXX".utf8CString)
                let directory = try #require(mkdtemp(&template))
                path = String(cString: directory) + "/" + name
                bytes = Array(path.utf8) + [0]
            }
            withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
            let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count - (name.hasPrefix("@") ? 0 : 0))
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
            }
            try #require(bound == 0, "bind \(path): errno \(errno)")
            var timeout = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        deinit {
            close(descriptor)
            if !path.hasPrefix("@") { unlink(path) }
        }

        /// The next datagram, as text.
        func receive() throws -> String {
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = recv(descriptor, &buffer, buffer.count, 0)
            try #require(count >= 0, "recv: errno \(errno)")
            return String(decoding: buffer[0..<count], as: UTF8.self)
        }
    }

    @Test("messages arrive as one datagram of KEY=value lines", arguments: ["notify", "@aliquot-test-notify-\(getpid())"])
    func datagrams(name: String) throws {
        let systemd = try FakeSystemd(name: name)
        let notifier = try SystemdNotifier(socketPath: systemd.path)
        try notifier.notify([.ready, .status("rig in its safe state\nwaiting")])
        #expect(try systemd.receive() == "READY=1\nSTATUS=rig in its safe state waiting")
        try notifier.notify([.watchdog])
        #expect(try systemd.receive() == "WATCHDOG=1")
        try notifier.notify([.stopping, .errno(5)])
        #expect(try systemd.receive() == "STOPPING=1\nERRNO=5")
    }

    @Test("sending to a socket nobody listens on is an error naming the path")
    func nobodyListening() throws {
        let notifier = try SystemdNotifier(socketPath: "/tmp/aliquot-no-such-notify-socket-\(getpid())")
        #expect {
            try notifier.notify([.ready])
        } throws: { error in
            let text = "\(error)"
            return text.contains("aliquot-no-such-notify-socket") && text.contains("errno \(ENOENT)")
        }
    }

    @Test("NOTIFY_SOCKET that is neither an absolute path nor @name is refused", arguments: ["relative/notify", "", String(repeating: "/x", count: 80)])
    func badSocketPath(path: String) {
        #expect(throws: SystemdNotifyError.self) { try SystemdNotifier(socketPath: path) }
    }

    @Test("WATCHDOG_USEC for this process, another process, or not a number", arguments: [
        (usec: "30000000", pid: nil, expected: Duration.seconds(30) as Duration?, fails: false),
        (usec: "500000", pid: "4242", expected: .milliseconds(500), fails: false),
        (usec: "500000", pid: "99", expected: nil, fails: false),
        (usec: nil, pid: nil, expected: nil, fails: false),
        (usec: "0", pid: nil, expected: nil, fails: true),
        (usec: "30s", pid: nil, expected: nil, fails: true),
    ] as [(usec: String?, pid: String?, expected: Duration?, fails: Bool)])
    func watchdogInterval(usec: String?, pid: String?, expected: Duration?, fails: Bool) throws {
        if fails {
            #expect(throws: SystemdNotifyError.self) {
                try SystemdNotifier.watchdogInterval(usec: usec, pid: pid, ownPID: 4242)
            }
        } else {
            #expect(try SystemdNotifier.watchdogInterval(usec: usec, pid: pid, ownPID: 4242) == expected)
        }
    }
}
