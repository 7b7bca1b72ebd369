import CGPIODShim
import CI2C
import Glibc

/// The real `LinuxSystem`: each method is one call into Glibc, libi2c or the CGPIODShim, with
/// errno read right after it. Stateless, so one instance may be shared by every thread.
public final class LiveLinuxSystem: LinuxSystem {
    public init() {}

    /// The libgpiod API the GPIO shim was compiled against (`aliquot_gpio_api_major`): 1 or 2.
    public static var gpioAPIMajor: Int { Int(aliquot_gpio_api_major()) }

    /// The runtime libgpiod version (`aliquot_gpio_library_version`), for example `1.6.3`.
    public static var gpioLibraryVersion: String { String(cString: aliquot_gpio_library_version()) }

    /// Turns a C return value into a `SyscallResult`, reading errno only on failure.
    @inline(__always)
    private func result(_ value: Int32) -> SyscallResult {
        value < 0 ? .failure(errno: Glibc.errno) : .success(value)
    }

    // MARK: files

    /// `open(2)`.
    public func open(path: String, flags: Int32) -> SyscallResult {
        result(path.withCString { Glibc.open($0, flags) })
    }

    /// `close(2)`.
    public func close(fd: Int32) -> SyscallResult {
        result(Glibc.close(fd))
    }

    // MARK: i2c-dev ioctls

    /// `ioctl(fd, I2C_SLAVE, address)` through `aliquot_i2c_ioctl_slave`.
    public func ioctlI2CSlave(fd: Int32, address: UInt16) -> SyscallResult {
        result(aliquot_i2c_ioctl_slave(fd, UInt(address)))
    }

    /// `ioctl(fd, I2C_FUNCS, &mask)` through `aliquot_i2c_ioctl_funcs`.
    public func ioctlI2CFuncs(fd: Int32) -> (result: SyscallResult, functionality: UInt) {
        var functionality: UInt = 0
        let outcome = result(aliquot_i2c_ioctl_funcs(fd, &functionality))
        return (outcome, functionality)
    }

    /// `ioctl(fd, I2C_RDWR, &data)` through `aliquot_i2c_ioctl_rdwr`, with the `struct i2c_msg`
    /// array in a stack allocation (no heap allocation for the handful of messages a transfer has).
    public func ioctlI2CRdwr(fd: Int32, messages: UnsafeBufferPointer<I2CMessage>) -> SyscallResult {
        withUnsafeTemporaryAllocation(of: i2c_msg.self, capacity: messages.count) { raw in
            for (index, message) in messages.enumerated() {
                raw.initializeElement(
                    at: index,
                    to: i2c_msg(
                        addr: message.address, flags: message.flags, len: message.length,
                        buf: message.buffer?.assumingMemoryBound(to: UInt8.self)))
            }
            var data = i2c_rdwr_ioctl_data(msgs: raw.baseAddress, nmsgs: UInt32(messages.count))
            return result(aliquot_i2c_ioctl_rdwr(fd, &data))
        }
    }

    // MARK: libi2c

    /// `i2c_smbus_read_byte`.
    public func smbusReadByte(fd: Int32) -> SyscallResult {
        result(i2c_smbus_read_byte(fd))
    }

    /// `i2c_smbus_write_byte`.
    public func smbusWriteByte(fd: Int32, value: UInt8) -> SyscallResult {
        result(i2c_smbus_write_byte(fd, value))
    }

    /// `i2c_smbus_read_byte_data`.
    public func smbusReadByteData(fd: Int32, command: UInt8) -> SyscallResult {
        result(i2c_smbus_read_byte_data(fd, command))
    }

    /// `i2c_smbus_read_word_data`.
    public func smbusReadWordData(fd: Int32, command: UInt8) -> SyscallResult {
        result(i2c_smbus_read_word_data(fd, command))
    }

    /// `i2c_smbus_read_i2c_block_data`.
    public func smbusReadI2CBlockData(
        fd: Int32, command: UInt8, into buffer: UnsafeMutableRawBufferPointer
    ) -> SyscallResult {
        guard let base = buffer.baseAddress, buffer.count <= I2CIoctl.smbusBlockMax else {
            return .failure(errno: EINVAL)
        }
        return result(
            i2c_smbus_read_i2c_block_data(
                fd, command, UInt8(buffer.count), base.assumingMemoryBound(to: UInt8.self)))
    }

    /// `i2c_smbus_write_byte_data`.
    public func smbusWriteByteData(fd: Int32, command: UInt8, value: UInt8) -> SyscallResult {
        result(i2c_smbus_write_byte_data(fd, command, value))
    }

    /// `i2c_smbus_write_word_data`.
    public func smbusWriteWordData(fd: Int32, command: UInt8, value: UInt16) -> SyscallResult {
        result(i2c_smbus_write_word_data(fd, command, value))
    }

    /// `i2c_smbus_write_i2c_block_data`.
    public func smbusWriteI2CBlockData(fd: Int32, command: UInt8, bytes: UnsafeRawBufferPointer)
        -> SyscallResult
    {
        guard let base = bytes.baseAddress, bytes.count <= I2CIoctl.smbusBlockMax else {
            return .failure(errno: EINVAL)
        }
        return result(
            i2c_smbus_write_i2c_block_data(
                fd, command, UInt8(bytes.count), base.assumingMemoryBound(to: UInt8.self)))
    }

    // MARK: GPIO shim

    /// `aliquot_gpio_chip_open_path`.
    public func gpioChipOpen(path: String) -> (chip: GPIOChipHandle?, errno: Int32) {
        chipResult(path.withCString { aliquot_gpio_chip_open_path($0) })
    }

    /// `aliquot_gpio_chip_open_name`.
    public func gpioChipOpen(name: String) -> (chip: GPIOChipHandle?, errno: Int32) {
        chipResult(name.withCString { aliquot_gpio_chip_open_name($0) })
    }

    /// `aliquot_gpio_chip_open_label`.
    public func gpioChipOpen(label: String) -> (chip: GPIOChipHandle?, errno: Int32) {
        chipResult(label.withCString { aliquot_gpio_chip_open_label($0) })
    }

    private func chipResult(_ pointer: OpaquePointer?) -> (chip: GPIOChipHandle?, errno: Int32) {
        guard let pointer else { return (nil, Glibc.errno) }
        return (GPIOChipHandle(pointer), 0)
    }

    /// `aliquot_gpio_chip_close`.
    public func gpioChipClose(_ chip: GPIOChipHandle) {
        aliquot_gpio_chip_close(chip.pointer)
    }

    /// `aliquot_gpio_chip_name`, `aliquot_gpio_chip_label`, `aliquot_gpio_chip_num_lines`.
    public func gpioChipDescription(_ chip: GPIOChipHandle) -> GPIOChipDescription {
        GPIOChipDescription(
            name: String(cString: aliquot_gpio_chip_name(chip.pointer)),
            label: String(cString: aliquot_gpio_chip_label(chip.pointer)),
            lineCount: aliquot_gpio_chip_num_lines(chip.pointer))
    }

    /// `aliquot_gpio_request_output`.
    public func gpioRequestOutput(
        chip: GPIOChipHandle, offset: UInt32, consumer: String, defaultValue: Int32
    ) -> (line: GPIOLineHandle?, errno: Int32) {
        let pointer = consumer.withCString {
            aliquot_gpio_request_output(chip.pointer, offset, $0, defaultValue)
        }
        guard let pointer else { return (nil, Glibc.errno) }
        return (GPIOLineHandle(pointer), 0)
    }

    /// `aliquot_gpio_set_value`.
    public func gpioSetValue(line: GPIOLineHandle, value: Int32) -> SyscallResult {
        result(aliquot_gpio_set_value(line.pointer, value))
    }

    /// `aliquot_gpio_get_value`.
    public func gpioGetValue(line: GPIOLineHandle) -> SyscallResult {
        result(aliquot_gpio_get_value(line.pointer))
    }

    /// `aliquot_gpio_release`.
    public func gpioRelease(line: GPIOLineHandle) {
        aliquot_gpio_release(line.pointer)
    }

    /// `aliquot_gpio_line_info`.
    public func gpioLineInfo(chip: GPIOChipHandle, offset: UInt32) -> (result: SyscallResult, info: GPIOLineInfo) {
        var raw = aliquot_gpio_line_info()
        let outcome = result(aliquot_gpio_line_info(chip.pointer, offset, &raw))
        let name = Self.string(fromFixed: raw.name)
        let consumer = Self.string(fromFixed: raw.consumer)
        let info = GPIOLineInfo(
            offset: offset, name: name.isEmpty ? nil : name,
            consumer: consumer.isEmpty ? nil : consumer, isUsed: raw.used, isOutput: raw.output,
            isActiveLow: raw.active_low)
        return (outcome, info)
    }

    /// A NUL-terminated C `char[N]` (imported as a tuple) as a String.
    private static func string<Tuple>(fromFixed tuple: Tuple) -> String {
        withUnsafeBytes(of: tuple) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    // MARK: clocks

    /// `clock_gettime`.
    public func clockGettime(clock: clockid_t) -> (result: SyscallResult, time: timespec) {
        var time = timespec()
        let outcome = result(clock_gettime(clock, &time))
        return (outcome, time)
    }

    /// `clock_nanosleep` (returns an error number rather than setting errno; normalized here).
    public func clockNanosleep(clock: clockid_t, flags: Int32, request: timespec) -> SyscallResult {
        var request = request
        let code = clock_nanosleep(clock, flags, &request, nil)
        return code == 0 ? .success() : .failure(errno: code)
    }

    // MARK: threads, scheduling and memory locking

    /// A pthread function's error number as a `SyscallResult`.
    @inline(__always)
    private func errorNumber(_ code: Int32) -> SyscallResult {
        code == 0 ? .success() : .failure(errno: code)
    }

    /// `mlockall`.
    public func mlockall(flags: Int32) -> SyscallResult {
        result(Glibc.mlockall(flags))
    }

    /// `pthread_attr_init`.
    public func pthreadAttrInit(_ attributes: UnsafeMutablePointer<pthread_attr_t>) -> SyscallResult {
        errorNumber(pthread_attr_init(attributes))
    }

    /// `pthread_attr_setinheritsched`.
    public func pthreadAttrSetinheritsched(_ attributes: UnsafeMutablePointer<pthread_attr_t>, inherit: Int32)
        -> SyscallResult
    {
        errorNumber(pthread_attr_setinheritsched(attributes, inherit))
    }

    /// `pthread_attr_setschedpolicy`.
    public func pthreadAttrSetschedpolicy(_ attributes: UnsafeMutablePointer<pthread_attr_t>, policy: Int32)
        -> SyscallResult
    {
        errorNumber(pthread_attr_setschedpolicy(attributes, policy))
    }

    /// `pthread_attr_setschedparam`.
    public func pthreadAttrSetschedparam(_ attributes: UnsafeMutablePointer<pthread_attr_t>, priority: Int32)
        -> SyscallResult
    {
        var parameter = sched_param(sched_priority: priority)
        return errorNumber(pthread_attr_setschedparam(attributes, &parameter))
    }

    /// `pthread_attr_destroy`.
    public func pthreadAttrDestroy(_ attributes: UnsafeMutablePointer<pthread_attr_t>) -> SyscallResult {
        errorNumber(pthread_attr_destroy(attributes))
    }

    /// `pthread_create`: `body` travels to the new thread as a retained box through the start
    /// routine's argument, and is released there after it has run (or here, if creation failed).
    public func pthreadCreate(attributes: UnsafePointer<pthread_attr_t>, body: @escaping @Sendable () -> Void)
        -> (thread: ThreadHandle?, result: SyscallResult)
    {
        let argument = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(
            &thread, attributes,
            { argument in
                guard let argument else { return nil }
                Unmanaged<ThreadBody>.fromOpaque(argument).takeRetainedValue().body()
                return nil
            }, argument)
        guard code == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(argument).release()
            return (nil, .failure(errno: code))
        }
        return (ThreadHandle(rawValue: UInt(thread)), .success())
    }

    /// `pthread_join(thread, NULL)`.
    public func pthreadJoin(_ thread: ThreadHandle) -> SyscallResult {
        errorNumber(pthread_join(pthread_t(thread.rawValue), nil))
    }

    /// `pthread_getschedparam`.
    public func pthreadGetschedparam(_ thread: ThreadHandle) -> (result: SyscallResult, policy: Int32, priority: Int32) {
        var policy: Int32 = 0
        var parameter = sched_param()
        let code = pthread_getschedparam(pthread_t(thread.rawValue), &policy, &parameter)
        return (errorNumber(code), policy, parameter.sched_priority)
    }

    /// `pthread_self`.
    public func pthreadSelf() -> ThreadHandle {
        ThreadHandle(rawValue: UInt(pthread_self()))
    }
}

/// What `pthreadCreate` hands the new thread.
private final class ThreadBody {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

// MARK: - serial ports and pseudo-terminals (SerialPort, PseudoTerminal)

extension LiveLinuxSystem {
    /// A C call's `ssize_t` result (a byte count no larger than the buffer) as a `SyscallResult`.
    private func sizeResult(_ value: Int) -> SyscallResult {
        value < 0 ? .failure(errno: Glibc.errno) : .success(Int32(clamping: value))
    }

    /// `ioctl(fd, TIOCEXCL)`.
    public func ioctlTIOCEXCL(fd: Int32) -> SyscallResult {
        let value = Glibc.ioctl(fd, UInt(TIOCEXCL))
        return value < 0 ? .failure(errno: Glibc.errno) : .success(value)
    }

    /// `tcgetattr`.
    public func tcgetattr(fd: Int32) -> (result: SyscallResult, attributes: termios) {
        var attributes = termios()
        let value = Glibc.tcgetattr(fd, &attributes)
        return (value < 0 ? .failure(errno: Glibc.errno) : .success(value), attributes)
    }

    /// `tcsetattr`.
    public func tcsetattr(fd: Int32, action: Int32, attributes: termios) -> SyscallResult {
        var attributes = attributes
        let value = Glibc.tcsetattr(fd, action, &attributes)
        return value < 0 ? .failure(errno: Glibc.errno) : .success(value)
    }

    /// `tcflush`.
    public func tcflush(fd: Int32, queue: Int32) -> SyscallResult {
        let value = Glibc.tcflush(fd, queue)
        return value < 0 ? .failure(errno: Glibc.errno) : .success(value)
    }

    /// `poll` on one fd.
    public func poll(fd: Int32, events: Int16, timeoutMilliseconds: Int32) -> (result: SyscallResult, returnedEvents: Int16) {
        var descriptor = pollfd(fd: fd, events: events, revents: 0)
        let value = Glibc.poll(&descriptor, 1, timeoutMilliseconds)
        return (value < 0 ? .failure(errno: Glibc.errno) : .success(value), descriptor.revents)
    }

    /// `read`.
    public func read(fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> SyscallResult {
        sizeResult(Glibc.read(fd, buffer.baseAddress, buffer.count))
    }

    /// `write`.
    public func write(fd: Int32, bytes: UnsafeRawBufferPointer) -> SyscallResult {
        sizeResult(Glibc.write(fd, bytes.baseAddress, bytes.count))
    }

    /// `openpty` with a `PATH_MAX` name buffer (glibc copies the follower's path into it).
    public func openpty() -> (result: SyscallResult, controller: Int32, follower: Int32, followerPath: String) {
        var controller: Int32 = -1
        var follower: Int32 = -1
        var name = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let value = Glibc.openpty(&controller, &follower, &name, nil, nil)
        if value < 0 { return (.failure(errno: Glibc.errno), -1, -1, "") }
        let path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return (.success(value), controller, follower, path)
    }
}
