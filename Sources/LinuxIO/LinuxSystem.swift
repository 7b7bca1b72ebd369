import CI2C
import Glibc

/// The one seam between LinuxIO and the operating system (the swift-system idea): every syscall,
/// ioctl, libi2c and libgpiod-shim call LinuxIO makes goes through this protocol.
///
/// `LiveLinuxSystem` calls Glibc, libi2c and the CGPIODShim; tests substitute a recording mock
/// and check the exact calls (fd, ioctl request, address, flags, lengths, bytes) and script the
/// results and errnos.
///
/// Methods mirror the C calls: they do not throw and do not interpret errors. An int-returning
/// call gives a `SyscallResult` (the C return value and, on failure, errno); a pointer-returning
/// call gives an optional handle and errno.
public protocol LinuxSystem: AnyObject, Sendable {
    // MARK: files

    /// `open(2)`: `open(path, flags)`. Returns the fd.
    func open(path: String, flags: Int32) -> SyscallResult

    /// `close(2)`.
    func close(fd: Int32) -> SyscallResult

    // MARK: i2c-dev ioctls

    /// `ioctl(fd, I2C_SLAVE, address)` (0x0703): the 7-bit target of later SMBus/read/write calls.
    func ioctlI2CSlave(fd: Int32, address: UInt16) -> SyscallResult

    /// `ioctl(fd, I2C_FUNCS, &mask)` (0x0705): the adapter's `I2C_FUNC_*` mask.
    func ioctlI2CFuncs(fd: Int32) -> (result: SyscallResult, functionality: UInt)

    /// `ioctl(fd, I2C_RDWR, &data)` (0x0707): the messages as one combined transfer with one STOP.
    /// Returns the number of messages transferred. The live implementation builds the
    /// `struct i2c_msg` array in stack memory: no heap allocation.
    func ioctlI2CRdwr(fd: Int32, messages: UnsafeBufferPointer<I2CMessage>) -> SyscallResult

    // MARK: libi2c (SMBus through the I2C_SMBUS ioctl, on the address set by I2C_SLAVE)

    /// `i2c_smbus_read_byte(fd)`: one byte with no command byte. Returns the byte.
    func smbusReadByte(fd: Int32) -> SyscallResult

    /// `i2c_smbus_write_byte(fd, value)`: one byte with no data (a pointer write).
    func smbusWriteByte(fd: Int32, value: UInt8) -> SyscallResult

    /// `i2c_smbus_read_byte_data(fd, command)`. Returns the byte.
    func smbusReadByteData(fd: Int32, command: UInt8) -> SyscallResult

    /// `i2c_smbus_read_word_data(fd, command)`. Returns the word; SMBus words are little-endian,
    /// so the low byte is the one that came first on the wire.
    func smbusReadWordData(fd: Int32, command: UInt8) -> SyscallResult

    /// `i2c_smbus_read_i2c_block_data(fd, command, buffer.count, buffer)` (at most 32 bytes).
    /// Returns the number of bytes read.
    func smbusReadI2CBlockData(fd: Int32, command: UInt8, into buffer: UnsafeMutableRawBufferPointer)
        -> SyscallResult

    /// `i2c_smbus_write_byte_data(fd, command, value)`.
    func smbusWriteByteData(fd: Int32, command: UInt8, value: UInt8) -> SyscallResult

    /// `i2c_smbus_write_word_data(fd, command, value)`: the low byte goes first on the wire.
    func smbusWriteWordData(fd: Int32, command: UInt8, value: UInt16) -> SyscallResult

    /// `i2c_smbus_write_i2c_block_data(fd, command, bytes.count, bytes)` (at most 32 bytes).
    func smbusWriteI2CBlockData(fd: Int32, command: UInt8, bytes: UnsafeRawBufferPointer)
        -> SyscallResult

    // MARK: GPIO (CGPIODShim over libgpiod 1.6 or 2.x)

    /// `aliquot_gpio_chip_open_path(path)`, for example `/dev/gpiochip0`.
    func gpioChipOpen(path: String) -> (chip: GPIOChipHandle?, errno: Int32)

    /// `aliquot_gpio_chip_open_name(name)`, for example `gpiochip0`.
    func gpioChipOpen(name: String) -> (chip: GPIOChipHandle?, errno: Int32)

    /// `aliquot_gpio_chip_open_label(label)`, for example `pinctrl-rp1`.
    func gpioChipOpen(label: String) -> (chip: GPIOChipHandle?, errno: Int32)

    /// `aliquot_gpio_chip_close(chip)`.
    func gpioChipClose(_ chip: GPIOChipHandle)

    /// `aliquot_gpio_chip_name`, `aliquot_gpio_chip_label`, `aliquot_gpio_chip_num_lines` (read
    /// once at open; no syscall).
    func gpioChipDescription(_ chip: GPIOChipHandle) -> GPIOChipDescription

    /// `aliquot_gpio_request_output(chip, offset, consumer, defaultValue)`: the line as an output
    /// at physical level `defaultValue` (0 low, 1 high).
    func gpioRequestOutput(chip: GPIOChipHandle, offset: UInt32, consumer: String, defaultValue: Int32)
        -> (line: GPIOLineHandle?, errno: Int32)

    /// `aliquot_gpio_set_value(line, value)` (0 low, 1 high).
    func gpioSetValue(line: GPIOLineHandle, value: Int32) -> SyscallResult

    /// `aliquot_gpio_get_value(line)`: 0, 1, or -1 with errno.
    func gpioGetValue(line: GPIOLineHandle) -> SyscallResult

    /// `aliquot_gpio_release(line)`: hands the line back to the kernel and frees the handle.
    func gpioRelease(line: GPIOLineHandle)

    /// `aliquot_gpio_line_info(chip, offset, &info)`.
    func gpioLineInfo(chip: GPIOChipHandle, offset: UInt32) -> (result: SyscallResult, info: GPIOLineInfo)

    // MARK: clocks

    /// `clock_gettime(clock, &time)`.
    func clockGettime(clock: clockid_t) -> (result: SyscallResult, time: timespec)

    /// `clock_nanosleep(clock, flags, &request, NULL)`. The C call returns the error number
    /// instead of setting errno; this seam normalizes that to `value == -1` and `errno`.
    func clockNanosleep(clock: clockid_t, flags: Int32, request: timespec) -> SyscallResult

    // MARK: threads, scheduling and memory locking (RealTimeThread)
    //
    // The pthread calls return an error number instead of setting errno; like `clockNanosleep`,
    // the seam normalizes that to `value == -1` and `errno`.

    /// `mlockall(flags)`: lock the process's pages in RAM (`MCL_CURRENT | MCL_FUTURE`).
    func mlockall(flags: Int32) -> SyscallResult

    /// `pthread_attr_init(attributes)`.
    func pthreadAttrInit(_ attributes: UnsafeMutablePointer<pthread_attr_t>) -> SyscallResult

    /// `pthread_attr_setinheritsched(attributes, inherit)` (`PTHREAD_EXPLICIT_SCHED` makes the
    /// policy and priority below take effect instead of the creator's).
    func pthreadAttrSetinheritsched(_ attributes: UnsafeMutablePointer<pthread_attr_t>, inherit: Int32)
        -> SyscallResult

    /// `pthread_attr_setschedpolicy(attributes, policy)` (`SCHED_FIFO`).
    func pthreadAttrSetschedpolicy(_ attributes: UnsafeMutablePointer<pthread_attr_t>, policy: Int32)
        -> SyscallResult

    /// `pthread_attr_setschedparam(attributes, &param)` with `param.sched_priority = priority`.
    func pthreadAttrSetschedparam(_ attributes: UnsafeMutablePointer<pthread_attr_t>, priority: Int32)
        -> SyscallResult

    /// `pthread_attr_destroy(attributes)`.
    func pthreadAttrDestroy(_ attributes: UnsafeMutablePointer<pthread_attr_t>) -> SyscallResult

    /// `pthread_create(&thread, attributes, start, argument)`, where the start routine runs
    /// `body` once on the new thread. `EPERM` means the attributes ask for a scheduling policy or
    /// priority the process may not use.
    func pthreadCreate(attributes: UnsafePointer<pthread_attr_t>, body: @escaping @Sendable () -> Void)
        -> (thread: ThreadHandle?, result: SyscallResult)

    /// `pthread_join(thread, NULL)`.
    func pthreadJoin(_ thread: ThreadHandle) -> SyscallResult

    /// `pthread_getschedparam(thread, &policy, &param)`: the policy and priority the thread runs at.
    func pthreadGetschedparam(_ thread: ThreadHandle) -> (result: SyscallResult, policy: Int32, priority: Int32)

    /// `pthread_self()`.
    func pthreadSelf() -> ThreadHandle

    // MARK: - serial ports and pseudo-terminals (SerialPort, PseudoTerminal)

    /// `ioctl(fd, TIOCEXCL)`: no further `open` of the tty succeeds (except by root) until close.
    func ioctlTIOCEXCL(fd: Int32) -> SyscallResult

    /// `tcgetattr(fd, &attributes)`.
    func tcgetattr(fd: Int32) -> (result: SyscallResult, attributes: termios)

    /// `tcsetattr(fd, action, &attributes)` (`TCSANOW`...).
    func tcsetattr(fd: Int32, action: Int32, attributes: termios) -> SyscallResult

    /// `tcflush(fd, queue)` (`TCIFLUSH`: drop received, unread bytes).
    func tcflush(fd: Int32, queue: Int32) -> SyscallResult

    /// `poll(&pollfd, 1, timeout)` on one fd. Returns the number of ready fds (0 on timeout) and
    /// the `revents` the kernel set.
    func poll(fd: Int32, events: Int16, timeoutMilliseconds: Int32) -> (result: SyscallResult, returnedEvents: Int16)

    /// `read(fd, buffer, buffer.count)`. Returns the byte count (0 at end of file).
    func read(fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> SyscallResult

    /// `write(fd, bytes, bytes.count)`. Returns the byte count written (may be short).
    func write(fd: Int32, bytes: UnsafeRawBufferPointer) -> SyscallResult

    /// `openpty(&controller, &follower, name, NULL, NULL)` (glibc): a pseudo-terminal pair and the
    /// follower's path (`/dev/pts/N`).
    func openpty() -> (result: SyscallResult, controller: Int32, follower: Int32, followerPath: String)
}

/// A POSIX thread (`pthread_t`; an integer on Linux).
public struct ThreadHandle: Hashable, Sendable {
    public var rawValue: UInt
    public init(rawValue: UInt) { self.rawValue = rawValue }
}

/// The result of an int-returning C call: its return value and, when it failed, errno.
public struct SyscallResult: Equatable, Sendable, CustomStringConvertible {
    /// What the C function returned (-1 on failure for the calls in `LinuxSystem`).
    public var value: Int32
    /// errno right after the call when it failed; 0 when it succeeded.
    public var errno: Int32

    public init(value: Int32, errno: Int32) {
        self.value = value
        self.errno = errno
    }

    /// A successful call that returned `value`.
    public static func success(_ value: Int32 = 0) -> SyscallResult {
        SyscallResult(value: value, errno: 0)
    }

    /// A failed call: -1 and `errno`.
    public static func failure(errno: Int32) -> SyscallResult {
        SyscallResult(value: -1, errno: errno)
    }

    public var failed: Bool { value < 0 }

    public var description: String { failed ? "-1 (errno \(errno))" : "\(value)" }
}

/// One segment of an `I2C_RDWR` transfer, as `struct i2c_msg` carries it: a START, the address,
/// then `length` bytes from or into `buffer`.
///
/// The buffer is the caller's and is only borrowed for the call; for a write message the kernel
/// only reads it.
public struct I2CMessage {
    /// `i2c_msg.addr`: the 7-bit target address.
    public var address: UInt16
    /// `i2c_msg.flags`: 0 for a write, `I2CMessage.read` (`I2C_M_RD`) for a read.
    public var flags: UInt16
    /// `i2c_msg.len`.
    public var length: UInt16
    /// `i2c_msg.buf`: at least `length` bytes (nil only when `length` is 0).
    public var buffer: UnsafeMutableRawPointer?

    public init(address: UInt16, flags: UInt16, length: UInt16, buffer: UnsafeMutableRawPointer?) {
        self.address = address
        self.flags = flags
        self.length = length
        self.buffer = buffer
    }

    /// `I2C_M_RD` (0x0001): the message reads from the target.
    public static let read = UInt16(I2C_M_RD)

    public var isRead: Bool { flags & I2CMessage.read != 0 }
}

/// The i2c-dev ioctl request numbers (from `<linux/i2c-dev.h>`). `I2C_SLAVE_FORCE` is deliberately
/// absent: it would take an address away from a kernel driver.
public enum I2CIoctl {
    /// `I2C_SLAVE` (0x0703): set the target address.
    public static let slave = UInt(I2C_SLAVE)
    /// `I2C_FUNCS` (0x0705): read the adapter functionality mask.
    public static let funcs = UInt(I2C_FUNCS)
    /// `I2C_RDWR` (0x0707): combined read/write transfer with one STOP.
    public static let rdwr = UInt(I2C_RDWR)
    /// `I2C_RDWR_IOCTL_MAX_MSGS` (42): the most messages one `I2C_RDWR` takes.
    public static let maxMessages = Int(I2C_RDWR_IOCTL_MAX_MSGS)
    /// `I2C_SMBUS_BLOCK_MAX` (32): the most data bytes of one SMBus block call.
    public static let smbusBlockMax = Int(I2C_SMBUS_BLOCK_MAX)
}

/// An open chip of the GPIO shim (`struct aliquot_gpio_chip *`).
public struct GPIOChipHandle: Hashable {
    public var pointer: OpaquePointer
    public init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

/// A requested line of the GPIO shim (`struct aliquot_gpio_line *`).
public struct GPIOLineHandle: Hashable {
    public var pointer: OpaquePointer
    public init(_ pointer: OpaquePointer) { self.pointer = pointer }
}

/// A chip's identity as the kernel reports it.
public struct GPIOChipDescription: Equatable, Sendable {
    /// The kernel name, for example `gpiochip0`.
    public var name: String
    /// The label, for example `pinctrl-rp1`.
    public var label: String
    public var lineCount: UInt32

    public init(name: String, label: String, lineCount: UInt32) {
        self.name = name
        self.label = label
        self.lineCount = lineCount
    }
}

/// What the kernel reports about one GPIO line (for diagnostics).
public struct GPIOLineInfo: Equatable, Sendable, CustomStringConvertible {
    public var offset: UInt32
    /// The line name from the device tree, nil when unnamed.
    public var name: String?
    /// The holder's consumer label, nil when free or unlabelled.
    public var consumer: String?
    public var isUsed: Bool
    public var isOutput: Bool
    public var isActiveLow: Bool

    public init(
        offset: UInt32, name: String?, consumer: String?, isUsed: Bool, isOutput: Bool,
        isActiveLow: Bool
    ) {
        self.offset = offset
        self.name = name
        self.consumer = consumer
        self.isUsed = isUsed
        self.isOutput = isOutput
        self.isActiveLow = isActiveLow
    }

    public var description: String {
        var text = "line \(offset)"
        if let name { text += " \"\(name)\"" }
        text += isOutput ? " output" : " input"
        if isActiveLow { text += " active-low" }
        if isUsed { text += " used by \(consumer.map { "\"\($0)\"" } ?? "an unnamed consumer")" }
        return text
    }
}
