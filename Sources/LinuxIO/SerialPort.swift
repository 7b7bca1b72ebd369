import Glibc
import Transports

/// A serial port on Linux (`/dev/ttyUSB0`, `/dev/ttyACM0`, a pseudo-terminal's follower): the
/// `SerialLine` of the real syringe pumps.
///
/// Opening (each call through the `LinuxSystem` seam, in this order):
/// 1. `open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)`: the port never becomes the
///    process's controlling terminal, and `open` does not wait for carrier detect;
/// 2. `ioctl(TIOCEXCL)`: no other program may open the port while the rig holds it (root still
///    can: the kernel lets CAP_SYS_ADMIN through);
/// 3. `tcgetattr`, then `tcsetattr(TCSANOW)` with `rawAttributes`: `cfmakeraw(3)` (no echo, no
///    line editing, no CR/LF translation either way, no signals), 8 data bits, no parity, one
///    stop bit (two for legacy pumps), no RTS/CTS and no XON/XOFF flow control, `CLOCAL | CREAD`,
///    `VMIN = VTIME = 0` (reads never block: `poll` does the waiting), and the baud rate both ways;
/// 4. `tcflush(TCIOFLUSH)`: whatever the adapter buffered before the rig opened it is stale.
///
/// Reads wait with `poll(2)` for the time left until the deadline on the rig clock, retried on
/// `EINTR` (and on a spurious wakeup with nothing to read), so a reply is returned the moment
/// any of it arrives. `POLLHUP`/`POLLERR` (an adapter unplugged, a pty whose controller closed)
/// and a read of 0 bytes are `.io`.
///
/// Not thread-safe: one owner.
public final class SerialPort: SerialLine {
    public enum StopBits: Int, Equatable, Sendable {
        case one = 1
        /// Legacy Harvard pumps (Pump 11, PHD 2000) want two.
        case two = 2
    }

    /// The baud rates the rig's pumps offer (Harvard 9600...115200, Chemyx 9600 and 38400).
    public static let allowedBaudRates = [9600, 19200, 38400, 57600, 115200]

    /// The device path.
    public let name: String
    public let clock: any RigClock
    public let baudRate: Int
    public let stopBits: StopBits
    /// How long a write may wait for room in the output buffer before it fails, s.
    public var writeTimeoutSeconds = 1.0

    private let system: any LinuxSystem
    /// The open fd, or -1 after `close()`.
    private var fd: Int32

    /// Opens and configures the port (see the type's description). Errors name the path and the
    /// call; the fd is closed again when a later step fails.
    public init(
        path: String, baudRate: Int, stopBits: StopBits = .one, clock: any RigClock,
        system: any LinuxSystem = LiveLinuxSystem()
    ) throws(SerialError) {
        self.name = path
        self.clock = clock
        self.baudRate = baudRate
        self.stopBits = stopBits
        self.system = system
        guard let speed = Self.speed(baudRate: baudRate) else {
            throw SerialError(port: path, operation: "baud rate \(baudRate)", reason: .unsupportedSetting)
        }
        let opened = system.open(path: path, flags: O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        if opened.failed {
            throw SerialError(
                port: path, operation: "open", errno: opened.errno, reason: SerialError.Reason(errno: opened.errno))
        }
        let descriptor = opened.value
        func fail(_ operation: String, _ outcome: SyscallResult) -> SerialError {
            // The configuration error is the one to report; a close failure of a descriptor just
            // opened changes nothing.
            _ = system.close(fd: descriptor)
            return SerialError(
                port: path, operation: operation, errno: outcome.errno, reason: SerialError.Reason(errno: outcome.errno))
        }
        let exclusive = system.ioctlTIOCEXCL(fd: descriptor)
        if exclusive.failed { throw fail("TIOCEXCL", exclusive) }
        let (got, current) = system.tcgetattr(fd: descriptor)
        if got.failed { throw fail("tcgetattr", got) }
        let raw = Self.rawAttributes(from: current, speed: speed, stopBits: stopBits)
        let set = system.tcsetattr(fd: descriptor, action: TCSANOW, attributes: raw)
        if set.failed { throw fail("tcsetattr", set) }
        let flushed = system.tcflush(fd: descriptor, queue: TCIOFLUSH)
        if flushed.failed { throw fail("tcflush", flushed) }
        fd = descriptor
    }

    deinit {
        if fd >= 0 {
            // deinit cannot report; call close() first to see a close error.
            _ = system.close(fd: fd)
        }
    }

    /// Whether `close()` has been called.
    public var isClosed: Bool { fd < 0 }

    /// Closes the port (`close(2)`); closing twice is harmless.
    public func close() throws(SerialError) {
        guard fd >= 0 else { return }
        let outcome = system.close(fd: fd)
        // Linux frees the descriptor even when close reports an error: never retry it.
        fd = -1
        if outcome.failed {
            throw SerialError(
                port: name, operation: "close", errno: outcome.errno, reason: SerialError.Reason(errno: outcome.errno))
        }
    }

    // MARK: - SerialLine

    public func write(_ bytes: UnsafeRawBufferPointer) throws(SerialError) {
        try checkOpen("write")
        var offset = 0
        let deadline = clock.now().adding(seconds: writeTimeoutSeconds)
        while offset < bytes.count {
            let outcome = system.write(fd: fd, bytes: UnsafeRawBufferPointer(rebasing: bytes[offset...]))
            if outcome.failed {
                switch outcome.errno {
                case EINTR: continue
                case EAGAIN: try wait(for: Int16(POLLOUT), until: deadline, operation: "write", awaiting: "room to write")
                default:
                    throw SerialError(
                        port: name, operation: "write", errno: outcome.errno,
                        reason: SerialError.Reason(errno: outcome.errno))
                }
                continue
            }
            offset += Int(outcome.value)
        }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer, until deadline: MonotonicInstant) throws(SerialError)
        -> Int
    {
        precondition(buffer.count > 0, "a read needs room for a byte")
        try checkOpen("read")
        while true {
            let ready = try waitOnce(for: Int16(POLLIN), until: deadline, operation: "poll")
            if !ready {
                if clock.now() >= deadline { return 0 }
                continue
            }
            let outcome = system.read(fd: fd, into: buffer)
            if outcome.failed {
                if outcome.errno == EINTR || outcome.errno == EAGAIN { continue }
                throw SerialError(
                    port: name, operation: "read", errno: outcome.errno, reason: SerialError.Reason(errno: outcome.errno))
            }
            if outcome.value == 0 {
                throw SerialError(port: name, operation: "read (end of file: the device is gone)", reason: .io)
            }
            return Int(outcome.value)
        }
    }

    /// `tcflush(TCIFLUSH)`.
    public func discardInput() throws(SerialError) {
        try checkOpen("tcflush")
        let outcome = system.tcflush(fd: fd, queue: TCIFLUSH)
        if outcome.failed {
            throw SerialError(
                port: name, operation: "tcflush", errno: outcome.errno, reason: SerialError.Reason(errno: outcome.errno))
        }
    }

    // MARK: - termios

    /// `attributes` in raw mode for the pumps: `cfmakeraw`, then 8N1 (8N2 with `.two`), no flow
    /// control, the receiver on and modem lines ignored, non-blocking reads (`VMIN = VTIME = 0`),
    /// and `speed` in and out. A pure function of the struct (cfmakeraw and cfset*speed only
    /// edit memory), so tests check exactly what `tcsetattr` is handed.
    public static func rawAttributes(from attributes: termios, speed: speed_t, stopBits: StopBits) -> termios {
        var raw = attributes
        cfmakeraw(&raw)
        raw.c_cflag &= ~(tcflag_t(CSIZE | PARENB | CSTOPB) | tcflag_t(CRTSCTS))
        raw.c_cflag |= tcflag_t(CS8 | CLOCAL | CREAD)
        if stopBits == .two { raw.c_cflag |= tcflag_t(CSTOPB) }
        raw.c_iflag &= ~tcflag_t(IXON | IXOFF | IXANY)
        withUnsafeMutableBytes(of: &raw.c_cc) { controlCharacters in
            controlCharacters[Int(VMIN)] = 0
            controlCharacters[Int(VTIME)] = 0
        }
        cfsetispeed(&raw, speed)
        cfsetospeed(&raw, speed)
        return raw
    }

    /// The `B<rate>` constant of an allowed baud rate, nil for another rate.
    public static func speed(baudRate: Int) -> speed_t? {
        switch baudRate {
        case 9600: speed_t(B9600)
        case 19200: speed_t(B19200)
        case 38400: speed_t(B38400)
        case 57600: speed_t(B57600)
        case 115200: speed_t(B115200)
        default: nil
        }
    }

    // MARK: - Private

    private func checkOpen(_ operation: String) throws(SerialError) {
        if fd < 0 { throw SerialError(port: name, operation: operation, errno: EBADF, reason: .closed) }
    }

    /// One `poll` for `events` with the time left until `deadline` (rounded up to whole ms, so
    /// it never returns just short of it for nothing). Returns whether the fd is ready; false on
    /// a timeout or `EINTR`. `POLLERR`, `POLLHUP` or `POLLNVAL` without the event is `.io`.
    private func waitOnce(for events: Int16, until deadline: MonotonicInstant, operation: String) throws(SerialError)
        -> Bool
    {
        let remaining = deadline.nanoseconds - clock.now().nanoseconds
        let milliseconds = remaining <= 0 ? 0 : Int32(clamping: (remaining + 999_999) / 1_000_000)
        let (outcome, returned) = system.poll(fd: fd, events: events, timeoutMilliseconds: milliseconds)
        if outcome.failed {
            if outcome.errno == EINTR { return false }
            throw SerialError(
                port: name, operation: operation, errno: outcome.errno, reason: SerialError.Reason(errno: outcome.errno))
        }
        if outcome.value == 0 { return false }
        if returned & events != 0 { return true }
        if returned & Int16(POLLERR | POLLHUP | POLLNVAL) != 0 {
            throw SerialError(
                port: name, operation: "\(operation) (revents 0x\(String(UInt16(bitPattern: returned), radix: 16)): hang-up or error)",
                reason: .io)
        }
        return false
    }

    /// Waits until the fd is ready for `events` or throws `.timeout` at `deadline`.
    private func wait(
        for events: Int16, until deadline: MonotonicInstant, operation: String, awaiting: String
    ) throws(SerialError) {
        while !(try waitOnce(for: events, until: deadline, operation: "poll")) {
            if clock.now() >= deadline {
                throw SerialError(port: name, operation: operation, awaiting: awaiting, reason: .timeout)
            }
        }
    }
}

extension SerialError.Reason {
    /// The reason for an errno from opening or using a tty: `ENOENT`/`ENODEV`/`ENXIO` no such
    /// port, `EACCES`/`EPERM` permission denied, `EBUSY` busy (held with `TIOCEXCL`), `ENOTTY`
    /// not a terminal, `EIO` I/O (unplugged), `ETIMEDOUT` timeout, else other.
    public init(errno: Int32) {
        switch errno {
        case ENOENT, ENODEV, ENXIO: self = .noSuchPort
        case EACCES, EPERM: self = .permissionDenied
        case EBUSY: self = .busy
        case ENOTTY: self = .notATerminal
        case EIO: self = .io
        case ETIMEDOUT: self = .timeout
        default: self = .other
        }
    }
}
