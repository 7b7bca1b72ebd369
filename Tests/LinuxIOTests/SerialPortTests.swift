import Glibc
import LinuxIO
import Testing
import Transports

/// A clock the test moves by hand.
private final class ManualClock: RigClock {
    var current = MonotonicInstant.zero
    func now() -> MonotonicInstant { current }
    func sleep(until deadline: MonotonicInstant) throws(ClockError) {
        if deadline > current { current = deadline }
    }
}

private let openFlags = O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC

private func openedPort(
    _ system: RecordingLinuxSystem, clock: ManualClock = ManualClock(), baud: Int = 115200,
    stopBits: SerialPort.StopBits = .one
) throws -> SerialPort {
    try SerialPort(path: "/dev/ttyUSB0", baudRate: baud, stopBits: stopBits, clock: clock, system: system)
}

@Suite struct SerialPortTests {
    @Test(
        "open: exclusive, raw 8N1 (8N2), no flow control, the baud both ways, then a flush",
        arguments: [
            (9600, B9600, SerialPort.StopBits.one), (19200, B19200, .one), (38400, B38400, .one),
            (57600, B57600, .one), (115200, B115200, .one), (9600, B9600, .two),
        ])
    func openSequence(baud: Int, constant: Int32, stopBits: SerialPort.StopBits) throws {
        let system = RecordingLinuxSystem()
        let port = try openedPort(system, baud: baud, stopBits: stopBits)
        defer { #expect(!port.isClosed) }
        #expect(system.calls.count == 5)
        #expect(system.calls.first == .open(path: "/dev/ttyUSB0", flags: openFlags))
        #expect(system.calls.dropFirst().first == .ioctlTIOCEXCL(fd: 7))
        #expect(system.calls.dropFirst(2).first == .tcgetattr(fd: 7))
        #expect(system.calls.last == .tcflush(fd: 7, queue: TCIOFLUSH))
        guard case .tcsetattr(let fd, let action, let set)? = system.calls.dropFirst(3).first else {
            Issue.record("expected tcsetattr fourth, got \(system.calls)")
            return
        }
        #expect(fd == 7 && action == TCSANOW)
        let framing = tcflag_t(CSIZE | PARENB | CSTOPB | CLOCAL | CREAD) | tcflag_t(CRTSCTS)
        let wanted = tcflag_t(CS8 | CLOCAL | CREAD) | (stopBits == .two ? tcflag_t(CSTOPB) : 0)
        #expect(set.controlFlags & framing == wanted)
        // The mock's tty started cooked: line editing, echo, signals, CR->NL, NL->CR NL, XON/XOFF.
        #expect(set.localFlags & tcflag_t(ICANON | ECHO | ECHONL | ISIG | IEXTEN) == 0)
        #expect(set.inputFlags & tcflag_t(ICRNL | INLCR | IGNCR | IXON | IXOFF | IXANY | ISTRIP) == 0)
        #expect(set.outputFlags & tcflag_t(OPOST) == 0)
        #expect(set.minimum == 0 && set.time == 0)
        #expect(set.inputSpeed == speed_t(constant) && set.outputSpeed == speed_t(constant))
    }

    @Test func aBaudRateThePumpsDoNotOfferTouchesNothing() {
        let system = RecordingLinuxSystem()
        #expect(throws: SerialError(port: "/dev/ttyUSB0", operation: "baud rate 4800", reason: .unsupportedSetting)) {
            _ = try openedPort(system, baud: 4800)
        }
        #expect(system.calls.isEmpty)
    }

    @Test(
        "open errors name the path, the call and the errno",
        arguments: [
            (SystemOperation.open, ENOENT, SerialError.Reason.noSuchPort, "open", false),
            (.open, EACCES, .permissionDenied, "open", false),
            (.open, EBUSY, .busy, "open", false),
            (.ioctlTIOCEXCL, EIO, .io, "TIOCEXCL", true),
            (.tcgetattr, ENOTTY, .notATerminal, "tcgetattr", true),
            (.tcsetattr, EINVAL, .other, "tcsetattr", true),
            (.tcflush, EIO, .io, "tcflush", true),
        ])
    func openErrors(operation: SystemOperation, code: Int32, reason: SerialError.Reason, call: String, closes: Bool) {
        let system = RecordingLinuxSystem()
        system.errnos[operation] = [code]
        let error = #expect(throws: SerialError.self) { _ = try openedPort(system) }
        #expect(error == SerialError(port: "/dev/ttyUSB0", operation: call, errno: code, reason: reason))
        #expect(error?.description == "/dev/ttyUSB0: \(call) failed: \(reason) (errno \(code))")
        // A descriptor opened before the failing step is closed again.
        #expect((system.calls.last == .close(fd: 7)) == closes)
    }

    @Test func readPollsForTheTimeLeftAndReturnsWhatArrived() throws {
        let system = RecordingLinuxSystem()
        let clock = ManualClock()
        let port = try openedPort(system, clock: clock)
        let before = system.calls.count
        system.serialInput = Array("\r\n:".utf8)
        var buffer = [UInt8](repeating: 0, count: 16)
        // 250.0005 ms left: poll rounds up to 251 ms, so it never wakes just short of the deadline.
        let count = try buffer.withUnsafeMutableBytes {
            try port.read(into: $0, until: MonotonicInstant(nanoseconds: 250_000_500))
        }
        #expect(Array(buffer[0..<count]) == Array("\r\n:".utf8))
        #expect(system.calls(after: before) == [
            .poll(fd: 7, events: Int16(POLLIN), timeoutMilliseconds: 251), .read(fd: 7, capacity: 16),
        ])
    }

    @Test func interruptedPollsAndEmptyReadsAreRetried() throws {
        let system = RecordingLinuxSystem()
        let clock = ManualClock()
        let port = try openedPort(system, clock: clock)
        let before = system.calls.count
        system.errnos[.poll] = [EINTR]
        // The second poll says ready, but the byte went (EAGAIN); the third gets it.
        system.errnos[.read] = [EAGAIN]
        system.serialInput = [0x3E]
        var buffer = [UInt8](repeating: 0, count: 4)
        let count = try buffer.withUnsafeMutableBytes {
            try port.read(into: $0, until: MonotonicInstant(nanoseconds: 1_000_000_000))
        }
        #expect(count == 1 && buffer[0] == 0x3E)
        let poll = SystemCall.poll(fd: 7, events: Int16(POLLIN), timeoutMilliseconds: 1000)
        #expect(system.calls(after: before) == [poll, poll, .read(fd: 7, capacity: 4), poll, .read(fd: 7, capacity: 4)])
    }

    @Test func nothingByTheDeadlineIsZeroBytes() throws {
        let system = RecordingLinuxSystem()
        let clock = ManualClock()
        let port = try openedPort(system, clock: clock)
        let before = system.calls.count
        clock.current = MonotonicInstant(nanoseconds: 2_000_000_000)
        system.pollAnswers = [(0, 0)]
        var buffer = [UInt8](repeating: 0, count: 4)
        let count = try buffer.withUnsafeMutableBytes {
            try port.read(into: $0, until: MonotonicInstant(nanoseconds: 1_000_000_000))
        }
        #expect(count == 0)
        // Past the deadline it still looks once (timeout 0) for bytes already there.
        #expect(system.calls(after: before) == [.poll(fd: 7, events: Int16(POLLIN), timeoutMilliseconds: 0)])
    }

    @Test func aHangUpIsAnIOError() throws {
        let system = RecordingLinuxSystem()
        let port = try openedPort(system)
        system.pollAnswers = [(1, Int16(POLLHUP))]
        var buffer = [UInt8](repeating: 0, count: 4)
        let error = #expect(throws: SerialError.self) {
            _ = try buffer.withUnsafeMutableBytes {
                try port.read(into: $0, until: MonotonicInstant(nanoseconds: 1_000_000_000))
            }
        }
        #expect(error?.reason == .io)
        #expect(error?.port == "/dev/ttyUSB0")
    }

    @Test func writesLoopOverShortWritesAndWaitForRoom() throws {
        let system = RecordingLinuxSystem()
        let port = try openedPort(system)
        let before = system.calls.count
        system.writeLimit = 3
        system.errnos[.write] = [0, EAGAIN]
        try port.write("12:irun\r")
        #expect(system.calls(after: before) == [
            .write(fd: 7, bytes: Array("12:".utf8)),
            .write(fd: 7, bytes: Array("irun\r".utf8)),  // EAGAIN: nothing went
            .poll(fd: 7, events: Int16(POLLOUT), timeoutMilliseconds: 1000),
            .write(fd: 7, bytes: Array("iru".utf8)),
            .write(fd: 7, bytes: Array("n\r".utf8)),
        ])
    }

    @Test func discardFlushesInputAndCloseClosesOnce() throws {
        let system = RecordingLinuxSystem()
        let port = try openedPort(system)
        let before = system.calls.count
        try port.discardInput()
        try port.close()
        try port.close()
        #expect(system.calls(after: before) == [.tcflush(fd: 7, queue: TCIFLUSH), .close(fd: 7)])
        #expect(port.isClosed)
        #expect(throws: SerialError(port: "/dev/ttyUSB0", operation: "write", errno: EBADF, reason: .closed)) {
            try port.write("stop\r")
        }
    }

    @Test func pseudoTerminalThroughTheSeam() throws {
        let system = RecordingLinuxSystem()
        let pty = try PseudoTerminal(system: system)
        #expect(pty.followerPath == "/dev/pts/9")
        #expect(pty.controller == 20)
        try pty.close()
        #expect(system.calls == [.openpty, .close(fd: 20), .close(fd: 21)])

        let failing = RecordingLinuxSystem()
        failing.errnos[.openpty] = [ENOENT]
        #expect(throws: SerialError(port: "pty", operation: "openpty", errno: ENOENT, reason: .noSuchPort)) {
            _ = try PseudoTerminal(system: failing)
        }
    }

    /// The real thing: openpty, then SerialPort's own open and termios on the follower. Raw mode
    /// is what keeps CR and LF as sent in both directions (a cooked tty turns the controller's CR
    /// into LF on input and the port's LF into CR LF on output).
    @Test func rawModeOnARealPseudoTerminal() throws {
        let pty = try PseudoTerminal()
        let clock = MonotonicClock()
        let port = try SerialPort(path: pty.followerPath, baudRate: 9600, clock: clock)
        defer {
            try? port.close()
            try? pty.close()
        }
        try port.write("irate 3 ul/min\r\n")
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while received.count < 16 {
            let count = try buffer.withUnsafeMutableBytes { try pty.readController(into: $0, timeoutMilliseconds: 2000) }
            if count == 0 { break }
            received += buffer[0..<count]
        }
        #expect(received == Array("irate 3 ul/min\r\n".utf8))

        try Array("\r\n12.5 ul\r\n:".utf8).withUnsafeBytes { try pty.writeController($0) }
        let reader = LineReader(serial: port)
        let deadline = clock.now().adding(seconds: 2)
        #expect(try reader.readLine(until: deadline, awaiting: "blank") == "")
        #expect(try reader.readLine(until: deadline, awaiting: "volume") == "12.5 ul")
        let prompt = try reader.readLineOrPrompt(until: deadline, awaiting: "prompt", isPrompt: { $0 == [0x3A] })
        #expect(prompt == .prompt(":"))
        // Nothing more: a read to a deadline just passed returns 0 at once.
        #expect(try buffer.withUnsafeMutableBytes { try port.read(into: $0, until: clock.now()) } == 0)
    }
}
