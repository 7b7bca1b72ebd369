import Glibc
import LinuxIO

/// One `I2C_RDWR` message as the mock saw it: the bytes are the written data (empty for reads).
struct RecordedMessage: Equatable, CustomStringConvertible {
    var address: UInt16
    var flags: UInt16
    var length: UInt16
    var bytes: [UInt8]

    static func write(_ address: UInt16, _ bytes: [UInt8]) -> RecordedMessage {
        RecordedMessage(address: address, flags: 0, length: UInt16(bytes.count), bytes: bytes)
    }

    static func read(_ address: UInt16, length: UInt16) -> RecordedMessage {
        RecordedMessage(address: address, flags: 0x0001, length: length, bytes: [])
    }

    var description: String { "{0x\(String(address, radix: 16)), flags \(flags), len \(length), \(bytes)}" }
}

/// Every call the seam can receive, with its exact arguments. Handles are recorded as small ids
/// (chips 1, 2, ...; lines 101, 102, ...).
enum SystemCall: Equatable {
    case open(path: String, flags: Int32)
    case close(fd: Int32)
    /// `I2C_SLAVE` (argument: the address) and `I2C_FUNCS` (argument 0).
    case ioctl(fd: Int32, request: UInt, argument: UInt)
    case ioctlRdwr(fd: Int32, request: UInt, messages: [RecordedMessage])
    case smbusReadByte(fd: Int32)
    case smbusWriteByte(fd: Int32, value: UInt8)
    case smbusReadByteData(fd: Int32, command: UInt8)
    case smbusReadWordData(fd: Int32, command: UInt8)
    case smbusReadI2CBlockData(fd: Int32, command: UInt8, length: Int)
    case smbusWriteByteData(fd: Int32, command: UInt8, value: UInt8)
    case smbusWriteWordData(fd: Int32, command: UInt8, value: UInt16)
    case smbusWriteI2CBlockData(fd: Int32, command: UInt8, bytes: [UInt8])
    case gpioChipOpenPath(String)
    case gpioChipOpenName(String)
    case gpioChipOpenLabel(String)
    case gpioChipClose(chip: Int)
    case gpioChipDescription(chip: Int)
    case gpioRequestOutput(chip: Int, offset: UInt32, consumer: String, defaultValue: Int32)
    case gpioSetValue(line: Int, value: Int32)
    case gpioGetValue(line: Int)
    case gpioRelease(line: Int)
    case gpioLineInfo(chip: Int, offset: UInt32)
    case clockGettime(clock: clockid_t)
    case clockNanosleep(clock: clockid_t, flags: Int32, seconds: Int, nanoseconds: Int)
    case mlockall(flags: Int32)
    case pthreadAttrInit
    case pthreadAttrSetinheritsched(inherit: Int32)
    case pthreadAttrSetschedpolicy(policy: Int32)
    case pthreadAttrSetschedparam(priority: Int32)
    case pthreadAttrDestroy
    /// What the attributes handed to `pthread_create` say (read back with the real
    /// `pthread_attr_get*`), so a test sees the object that was passed, not just the setters.
    case pthreadCreate(inherit: Int32, policy: Int32, priority: Int32)
    case pthreadJoin(thread: UInt)
    case pthreadGetschedparam(thread: UInt)
    case pthreadSelf
    // MARK: serial ports and pseudo-terminals
    case ioctlTIOCEXCL(fd: Int32)
    case tcgetattr(fd: Int32)
    /// What `tcsetattr` was handed.
    case tcsetattr(fd: Int32, action: Int32, attributes: TermiosRecord)
    case tcflush(fd: Int32, queue: Int32)
    case poll(fd: Int32, events: Int16, timeoutMilliseconds: Int32)
    case read(fd: Int32, capacity: Int)
    case write(fd: Int32, bytes: [UInt8])
    case openpty
}

/// The fields of a `struct termios` (which is not Equatable) that a serial test checks.
struct TermiosRecord: Equatable {
    var inputFlags: tcflag_t
    var outputFlags: tcflag_t
    var controlFlags: tcflag_t
    var localFlags: tcflag_t
    var minimum: cc_t
    var time: cc_t
    var inputSpeed: speed_t
    var outputSpeed: speed_t

    init(_ attributes: termios) {
        var copy = attributes
        inputFlags = copy.c_iflag
        outputFlags = copy.c_oflag
        controlFlags = copy.c_cflag
        localFlags = copy.c_lflag
        let characters = withUnsafeBytes(of: copy.c_cc) { Array($0) }
        minimum = characters[Int(VMIN)]
        time = characters[Int(VTIME)]
        inputSpeed = cfgetispeed(&copy)
        outputSpeed = cfgetospeed(&copy)
    }
}

/// Which seam call an errno is scripted for.
enum SystemOperation: Hashable {
    case open, close, i2cSlave, i2cFuncs, i2cRdwr
    case smbusReadByte, smbusWriteByte, smbusReadByteData, smbusReadWordData, smbusReadBlock
    case smbusWriteByteData, smbusWriteWordData, smbusWriteBlock
    case gpioChipOpen, gpioRequestOutput, gpioSetValue, gpioGetValue, gpioLineInfo
    case clockGettime, clockNanosleep
    case mlockall, pthreadAttrInit, pthreadAttrSetinheritsched, pthreadAttrSetschedpolicy, pthreadAttrSetschedparam
    case pthreadAttrDestroy, pthreadCreate, pthreadJoin, pthreadGetschedparam
    case ioctlTIOCEXCL, tcgetattr, tcsetattr, tcflush, poll, read, write, openpty
}

/// A recording `LinuxSystem`: records every call with its exact arguments and answers from a
/// script. Each test makes its own instance and uses it from one task, hence `@unchecked Sendable`.
final class RecordingLinuxSystem: LinuxSystem, @unchecked Sendable {
    private(set) var calls: [SystemCall] = []

    /// errnos to fail the next calls of an operation with, in order (0 means succeed that time).
    var errnos: [SystemOperation: [Int32]] = [:]
    /// The fd `open` returns.
    var fd: Int32 = 7
    /// The mask `I2C_FUNCS` returns.
    var functionality: UInt = 0
    /// Bytes served to reads (RDWR read messages and SMBus block reads), from the start.
    var readBytes: [UInt8] = []
    /// What `i2c_smbus_read_byte[_data]` returns.
    var byteValue: Int32 = 0
    /// What `i2c_smbus_read_word_data` returns.
    var wordValue: Int32 = 0
    /// Overrides what a successful `I2C_RDWR` returns (normally the message count).
    var rdwrReturn: Int32?
    /// Overrides what a successful block read returns (normally the length asked for).
    var blockReadReturn: Int32?
    var chipDescription = GPIOChipDescription(name: "gpiochip4", label: "pinctrl-rp1", lineCount: 54)
    var lineInfo = GPIOLineInfo(
        offset: 0, name: nil, consumer: nil, isUsed: false, isOutput: false, isActiveLow: false)
    var lineValue: Int32 = 0
    /// Successive `clock_gettime` answers (the last repeats).
    var times: [timespec] = [timespec(tv_sec: 0, tv_nsec: 0)]

    /// Whether `pthread_create` runs the thread body at once, on the calling thread (so a test
    /// sees the body's own seam calls in order between create and attr_destroy).
    var runsThreadBodies = true
    /// The handle the next successful `pthread_create` returns (then incremented).
    var nextThread: UInt = 201
    /// What `pthread_getschedparam` and `pthread_self` answer.
    var schedPolicy: Int32 = SCHED_OTHER
    var schedPriority: Int32 = 0
    var selfThread: UInt = 1

    private var nextChip = 1
    private var nextLine = 101

    /// Calls recorded after `count` earlier ones (for "after open" checks).
    func calls(after count: Int) -> [SystemCall] { Array(calls.dropFirst(count)) }

    private func scripted(_ operation: SystemOperation) -> Int32 {
        guard var queue = errnos[operation], !queue.isEmpty else { return 0 }
        let code = queue.removeFirst()
        errnos[operation] = queue
        return code
    }

    private func answer(_ operation: SystemOperation, success: Int32 = 0) -> SyscallResult {
        let code = scripted(operation)
        return code == 0 ? .success(success) : .failure(errno: code)
    }

    private static func id(_ pointer: OpaquePointer) -> Int { Int(bitPattern: UnsafeRawPointer(pointer)) / 16 }
    private static func pointer(_ id: Int) -> OpaquePointer { OpaquePointer(bitPattern: id * 16)! }

    // MARK: files

    func open(path: String, flags: Int32) -> SyscallResult {
        calls.append(.open(path: path, flags: flags))
        return answer(.open, success: fd)
    }

    func close(fd: Int32) -> SyscallResult {
        calls.append(.close(fd: fd))
        return answer(.close)
    }

    // MARK: i2c-dev

    func ioctlI2CSlave(fd: Int32, address: UInt16) -> SyscallResult {
        calls.append(.ioctl(fd: fd, request: I2CIoctl.slave, argument: UInt(address)))
        return answer(.i2cSlave)
    }

    func ioctlI2CFuncs(fd: Int32) -> (result: SyscallResult, functionality: UInt) {
        calls.append(.ioctl(fd: fd, request: I2CIoctl.funcs, argument: 0))
        let result = answer(.i2cFuncs)
        return (result, result.failed ? 0 : functionality)
    }

    func ioctlI2CRdwr(fd: Int32, messages: UnsafeBufferPointer<I2CMessage>) -> SyscallResult {
        var recorded: [RecordedMessage] = []
        var served = 0
        let result = answer(.i2cRdwr, success: rdwrReturn ?? Int32(messages.count))
        for message in messages {
            var bytes: [UInt8] = []
            if message.isRead {
                if !result.failed, let buffer = message.buffer {
                    for index in 0..<Int(message.length) where served + index < readBytes.count {
                        buffer.storeBytes(of: readBytes[served + index], toByteOffset: index, as: UInt8.self)
                    }
                    served += Int(message.length)
                }
            } else if let buffer = message.buffer {
                bytes = Array(UnsafeRawBufferPointer(start: buffer, count: Int(message.length)))
            }
            recorded.append(
                RecordedMessage(address: message.address, flags: message.flags, length: message.length, bytes: bytes))
        }
        calls.append(.ioctlRdwr(fd: fd, request: I2CIoctl.rdwr, messages: recorded))
        return result
    }

    // MARK: libi2c

    func smbusReadByte(fd: Int32) -> SyscallResult {
        calls.append(.smbusReadByte(fd: fd))
        return answer(.smbusReadByte, success: byteValue)
    }

    func smbusWriteByte(fd: Int32, value: UInt8) -> SyscallResult {
        calls.append(.smbusWriteByte(fd: fd, value: value))
        return answer(.smbusWriteByte)
    }

    func smbusReadByteData(fd: Int32, command: UInt8) -> SyscallResult {
        calls.append(.smbusReadByteData(fd: fd, command: command))
        return answer(.smbusReadByteData, success: byteValue)
    }

    func smbusReadWordData(fd: Int32, command: UInt8) -> SyscallResult {
        calls.append(.smbusReadWordData(fd: fd, command: command))
        return answer(.smbusReadWordData, success: wordValue)
    }

    func smbusReadI2CBlockData(fd: Int32, command: UInt8, into buffer: UnsafeMutableRawBufferPointer)
        -> SyscallResult
    {
        calls.append(.smbusReadI2CBlockData(fd: fd, command: command, length: buffer.count))
        let result = answer(.smbusReadBlock, success: blockReadReturn ?? Int32(buffer.count))
        if !result.failed {
            for index in 0..<min(Int(result.value), buffer.count, readBytes.count) {
                buffer[index] = readBytes[index]
            }
        }
        return result
    }

    func smbusWriteByteData(fd: Int32, command: UInt8, value: UInt8) -> SyscallResult {
        calls.append(.smbusWriteByteData(fd: fd, command: command, value: value))
        return answer(.smbusWriteByteData)
    }

    func smbusWriteWordData(fd: Int32, command: UInt8, value: UInt16) -> SyscallResult {
        calls.append(.smbusWriteWordData(fd: fd, command: command, value: value))
        return answer(.smbusWriteWordData)
    }

    func smbusWriteI2CBlockData(fd: Int32, command: UInt8, bytes: UnsafeRawBufferPointer) -> SyscallResult {
        calls.append(.smbusWriteI2CBlockData(fd: fd, command: command, bytes: Array(bytes)))
        return answer(.smbusWriteBlock)
    }

    // MARK: GPIO

    private func openChip(_ call: SystemCall) -> (chip: GPIOChipHandle?, errno: Int32) {
        calls.append(call)
        let code = scripted(.gpioChipOpen)
        if code != 0 { return (nil, code) }
        defer { nextChip += 1 }
        return (GPIOChipHandle(Self.pointer(nextChip)), 0)
    }

    func gpioChipOpen(path: String) -> (chip: GPIOChipHandle?, errno: Int32) { openChip(.gpioChipOpenPath(path)) }
    func gpioChipOpen(name: String) -> (chip: GPIOChipHandle?, errno: Int32) { openChip(.gpioChipOpenName(name)) }
    func gpioChipOpen(label: String) -> (chip: GPIOChipHandle?, errno: Int32) { openChip(.gpioChipOpenLabel(label)) }

    func gpioChipClose(_ chip: GPIOChipHandle) {
        calls.append(.gpioChipClose(chip: Self.id(chip.pointer)))
    }

    func gpioChipDescription(_ chip: GPIOChipHandle) -> GPIOChipDescription {
        calls.append(.gpioChipDescription(chip: Self.id(chip.pointer)))
        return chipDescription
    }

    func gpioRequestOutput(chip: GPIOChipHandle, offset: UInt32, consumer: String, defaultValue: Int32)
        -> (line: GPIOLineHandle?, errno: Int32)
    {
        calls.append(
            .gpioRequestOutput(chip: Self.id(chip.pointer), offset: offset, consumer: consumer, defaultValue: defaultValue))
        let code = scripted(.gpioRequestOutput)
        if code != 0 { return (nil, code) }
        defer { nextLine += 1 }
        return (GPIOLineHandle(Self.pointer(nextLine)), 0)
    }

    func gpioSetValue(line: GPIOLineHandle, value: Int32) -> SyscallResult {
        calls.append(.gpioSetValue(line: Self.id(line.pointer), value: value))
        return answer(.gpioSetValue)
    }

    func gpioGetValue(line: GPIOLineHandle) -> SyscallResult {
        calls.append(.gpioGetValue(line: Self.id(line.pointer)))
        return answer(.gpioGetValue, success: lineValue)
    }

    func gpioRelease(line: GPIOLineHandle) {
        calls.append(.gpioRelease(line: Self.id(line.pointer)))
    }

    func gpioLineInfo(chip: GPIOChipHandle, offset: UInt32) -> (result: SyscallResult, info: GPIOLineInfo) {
        calls.append(.gpioLineInfo(chip: Self.id(chip.pointer), offset: offset))
        var info = lineInfo
        info.offset = offset
        return (answer(.gpioLineInfo), info)
    }

    // MARK: clocks

    func clockGettime(clock: clockid_t) -> (result: SyscallResult, time: timespec) {
        calls.append(.clockGettime(clock: clock))
        let time = times.count > 1 ? times.removeFirst() : times[0]
        return (answer(.clockGettime), time)
    }

    func clockNanosleep(clock: clockid_t, flags: Int32, request: timespec) -> SyscallResult {
        calls.append(
            .clockNanosleep(clock: clock, flags: flags, seconds: Int(request.tv_sec), nanoseconds: Int(request.tv_nsec)))
        return answer(.clockNanosleep)
    }

    // MARK: threads, scheduling and memory locking
    //
    // The attribute calls also run the real (memory-only) pthread_attr functions on the caller's
    // object, unless an errno is scripted, so pthread_create can record what it was handed.

    func mlockall(flags: Int32) -> SyscallResult {
        calls.append(.mlockall(flags: flags))
        return answer(.mlockall)
    }

    func pthreadAttrInit(_ attributes: UnsafeMutablePointer<pthread_attr_t>) -> SyscallResult {
        calls.append(.pthreadAttrInit)
        let result = answer(.pthreadAttrInit)
        if !result.failed { _ = pthread_attr_init(attributes) }
        return result
    }

    func pthreadAttrSetinheritsched(_ attributes: UnsafeMutablePointer<pthread_attr_t>, inherit: Int32)
        -> SyscallResult
    {
        calls.append(.pthreadAttrSetinheritsched(inherit: inherit))
        let result = answer(.pthreadAttrSetinheritsched)
        if !result.failed { _ = pthread_attr_setinheritsched(attributes, inherit) }
        return result
    }

    func pthreadAttrSetschedpolicy(_ attributes: UnsafeMutablePointer<pthread_attr_t>, policy: Int32)
        -> SyscallResult
    {
        calls.append(.pthreadAttrSetschedpolicy(policy: policy))
        let result = answer(.pthreadAttrSetschedpolicy)
        if !result.failed { _ = pthread_attr_setschedpolicy(attributes, policy) }
        return result
    }

    func pthreadAttrSetschedparam(_ attributes: UnsafeMutablePointer<pthread_attr_t>, priority: Int32)
        -> SyscallResult
    {
        calls.append(.pthreadAttrSetschedparam(priority: priority))
        let result = answer(.pthreadAttrSetschedparam)
        var parameter = sched_param(sched_priority: priority)
        if !result.failed { _ = pthread_attr_setschedparam(attributes, &parameter) }
        return result
    }

    func pthreadAttrDestroy(_ attributes: UnsafeMutablePointer<pthread_attr_t>) -> SyscallResult {
        calls.append(.pthreadAttrDestroy)
        let result = answer(.pthreadAttrDestroy)
        _ = pthread_attr_destroy(attributes)
        return result
    }

    func pthreadCreate(attributes: UnsafePointer<pthread_attr_t>, body: @escaping @Sendable () -> Void)
        -> (thread: ThreadHandle?, result: SyscallResult)
    {
        var inherit: Int32 = -1
        var policy: Int32 = -1
        var parameter = sched_param(sched_priority: -1)
        _ = pthread_attr_getinheritsched(attributes, &inherit)
        _ = pthread_attr_getschedpolicy(attributes, &policy)
        _ = pthread_attr_getschedparam(attributes, &parameter)
        calls.append(.pthreadCreate(inherit: inherit, policy: policy, priority: parameter.sched_priority))
        let result = answer(.pthreadCreate)
        if result.failed { return (nil, result) }
        let thread = ThreadHandle(rawValue: nextThread)
        nextThread += 1
        if runsThreadBodies { body() }
        return (thread, result)
    }

    func pthreadJoin(_ thread: ThreadHandle) -> SyscallResult {
        calls.append(.pthreadJoin(thread: thread.rawValue))
        return answer(.pthreadJoin)
    }

    func pthreadGetschedparam(_ thread: ThreadHandle) -> (result: SyscallResult, policy: Int32, priority: Int32) {
        calls.append(.pthreadGetschedparam(thread: thread.rawValue))
        return (answer(.pthreadGetschedparam), schedPolicy, schedPriority)
    }

    func pthreadSelf() -> ThreadHandle {
        calls.append(.pthreadSelf)
        return ThreadHandle(rawValue: selfThread)
    }

    // MARK: serial ports and pseudo-terminals

    /// What `tcgetattr` reports (a tty in the kernel's cooked default unless a test sets it).
    var terminalAttributes: termios = {
        var attributes = termios()
        attributes.c_iflag = tcflag_t(ICRNL | IXON)
        attributes.c_oflag = tcflag_t(OPOST | ONLCR)
        attributes.c_cflag = tcflag_t(CS7 | PARENB | CREAD) | tcflag_t(CRTSCTS) | tcflag_t(B9600)
        attributes.c_lflag = tcflag_t(ICANON | ECHO | ISIG | IEXTEN)
        return attributes
    }()
    /// Successive `poll` answers: (return value, revents); when empty, ready for what was asked.
    var pollAnswers: [(Int32, Int16)] = []
    /// Bytes `read` serves, from the start; when empty, `read` fails with EAGAIN.
    var serialInput: [UInt8] = []
    /// The most bytes one `write` takes (short writes), nil for all.
    var writeLimit: Int?
    var ptyPath = "/dev/pts/9"

    func ioctlTIOCEXCL(fd: Int32) -> SyscallResult {
        calls.append(.ioctlTIOCEXCL(fd: fd))
        return answer(.ioctlTIOCEXCL)
    }

    func tcgetattr(fd: Int32) -> (result: SyscallResult, attributes: termios) {
        calls.append(.tcgetattr(fd: fd))
        return (answer(.tcgetattr), terminalAttributes)
    }

    func tcsetattr(fd: Int32, action: Int32, attributes: termios) -> SyscallResult {
        calls.append(.tcsetattr(fd: fd, action: action, attributes: TermiosRecord(attributes)))
        return answer(.tcsetattr)
    }

    func tcflush(fd: Int32, queue: Int32) -> SyscallResult {
        calls.append(.tcflush(fd: fd, queue: queue))
        return answer(.tcflush)
    }

    func poll(fd: Int32, events: Int16, timeoutMilliseconds: Int32) -> (result: SyscallResult, returnedEvents: Int16) {
        calls.append(.poll(fd: fd, events: events, timeoutMilliseconds: timeoutMilliseconds))
        let result = answer(.poll, success: 1)
        if result.failed { return (result, 0) }
        guard !pollAnswers.isEmpty else { return (result, events) }
        let (value, revents) = pollAnswers.removeFirst()
        return (.success(value), revents)
    }

    func read(fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> SyscallResult {
        calls.append(.read(fd: fd, capacity: buffer.count))
        let result = answer(.read)
        if result.failed { return result }
        if serialInput.isEmpty { return .failure(errno: EAGAIN) }
        let count = min(buffer.count, serialInput.count)
        for index in 0..<count { buffer[index] = serialInput[index] }
        serialInput.removeFirst(count)
        return .success(Int32(count))
    }

    func write(fd: Int32, bytes: UnsafeRawBufferPointer) -> SyscallResult {
        let count = min(bytes.count, writeLimit ?? bytes.count)
        let result = answer(.write, success: Int32(count))
        calls.append(.write(fd: fd, bytes: result.failed ? Array(bytes) : Array(bytes.prefix(count))))
        return result
    }

    func openpty() -> (result: SyscallResult, controller: Int32, follower: Int32, followerPath: String) {
        calls.append(.openpty)
        let result = answer(.openpty)
        return result.failed ? (result, -1, -1, "") : (result, 20, 21, ptyPath)
    }
}
