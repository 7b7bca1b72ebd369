import Glibc
import Transports

/// A pseudo-terminal pair from `openpty(3)` (glibc): a simulator serves the controller side while
/// a driver opens the follower's path with `SerialPort`, exactly as it opens a USB-serial adapter,
/// so the driver's real open, `TIOCEXCL`, termios, `poll` and `read` code runs against the
/// kernel's tty layer.
///
/// The follower fd `openpty` returns is kept open until `close()`: with no follower open the
/// controller reads `EIO` (a hang-up), so the pair stays usable before and between the driver's
/// openings. Its termios are whatever the driver sets on the path (the same tty).
/// Not thread-safe: one thread serves the controller.
public final class PseudoTerminal {
    /// The controller side's fd, -1 after `close()`.
    public private(set) var controller: Int32
    /// The follower's path (`/dev/pts/N`), for `SerialPort(path:...)`.
    public let followerPath: String

    private var follower: Int32
    private let system: any LinuxSystem

    /// `openpty(&controller, &follower, name, NULL, NULL)`.
    public init(system: any LinuxSystem = LiveLinuxSystem()) throws(SerialError) {
        self.system = system
        let (outcome, controller, follower, path) = system.openpty()
        if outcome.failed {
            throw SerialError(
                port: "pty", operation: "openpty", errno: outcome.errno, reason: SerialError.Reason(errno: outcome.errno))
        }
        self.controller = controller
        self.follower = follower
        self.followerPath = path
    }

    deinit {
        // deinit cannot report; call close() first to see a close error.
        if controller >= 0 { _ = system.close(fd: controller) }
        if follower >= 0 { _ = system.close(fd: follower) }
    }

    /// Waits up to `timeoutMilliseconds` for bytes the follower's side wrote, and reads what is
    /// there (0 on a timeout). `EINTR` counts as a timeout: the caller loops anyway.
    public func readController(into buffer: UnsafeMutableRawBufferPointer, timeoutMilliseconds: Int32) throws(SerialError)
        -> Int
    {
        precondition(controller >= 0, "the pseudo-terminal is closed")
        let (polled, returned) = system.poll(fd: controller, events: Int16(POLLIN), timeoutMilliseconds: timeoutMilliseconds)
        if polled.failed {
            if polled.errno == EINTR { return 0 }
            throw error("poll", polled.errno)
        }
        guard polled.value > 0, returned & Int16(POLLIN) != 0 else { return 0 }
        let outcome = system.read(fd: controller, into: buffer)
        if outcome.failed {
            if outcome.errno == EINTR || outcome.errno == EAGAIN { return 0 }
            throw error("read", outcome.errno)
        }
        return Int(outcome.value)
    }

    /// Writes every byte of `bytes` to the controller: the follower's side reads them.
    public func writeController(_ bytes: UnsafeRawBufferPointer) throws(SerialError) {
        precondition(controller >= 0, "the pseudo-terminal is closed")
        var offset = 0
        while offset < bytes.count {
            let outcome = system.write(fd: controller, bytes: UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            if outcome.failed {
                if outcome.errno == EINTR || outcome.errno == EAGAIN { continue }
                throw error("write", outcome.errno)
            }
            offset += Int(outcome.value)
        }
    }

    /// Closes both sides; closing twice is harmless.
    public func close() throws(SerialError) {
        var first: SerialError?
        for (side, fd) in [("controller", controller), ("follower", follower)] where fd >= 0 {
            let outcome = system.close(fd: fd)
            if outcome.failed && first == nil { first = error("close \(side)", outcome.errno) }
        }
        controller = -1
        follower = -1
        if let first { throw first }
    }

    private func error(_ operation: String, _ errno: Int32) -> SerialError {
        SerialError(port: "pty \(followerPath)", operation: operation, errno: errno, reason: SerialError.Reason(errno: errno))
    }
}
