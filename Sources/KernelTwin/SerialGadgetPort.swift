import Glibc
import Journal
import Twin

/// A pump's serial port as the gadget side of a CDC-ACM function (`/dev/ttyGS<n>`, `usb_f_acm`):
/// the host's `cdc-acm` driver gives `/dev/ttyACM<n>`, the controller opens it with its real
/// termios code, and every byte reaches the twin's pump simulators on this port (two Harvard
/// pumps share one daisy chain) and their replies go back when they are on the wire.
public final class SerialGadgetPort: @unchecked Sendable {
    public let path: String
    private let plant: KernelTwinPlant
    private let devices: [any SimulatedSerialDevice]
    private let fd: Int32
    public private(set) var bytesIn = 0
    public private(set) var bytesOut = 0

    public init(path: String, devices: [any SimulatedSerialDevice], plant: KernelTwinPlant) throws(KernelTwinError) {
        self.path = path
        self.devices = devices
        self.plant = plant
        let opened = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK)
        guard opened >= 0 else { throw KernelTwinError(part: path, action: "open", errno: errno) }
        fd = opened
        var attributes = termios()
        guard tcgetattr(fd, &attributes) == 0 else { throw KernelTwinError(part: path, action: "tcgetattr", errno: errno) }
        cfmakeraw(&attributes)
        guard tcsetattr(fd, TCSANOW, &attributes) == 0 else {
            throw KernelTwinError(part: path, action: "tcsetattr", errno: errno)
        }
    }

    public func start() throws(KernelTwinError) {
        try startServing(path) { [self] in serve() }
    }

    /// Waits for bytes from the host or the next reply's time (at most 50 ms): bytes in go to
    /// every pump on the port, replies due go out.
    private func serve() {
        var buffer = [UInt8](repeating: 0, count: 256)
        var timeoutMilliseconds: Int32 = 50
        while true {
            var request = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            _ = poll(&request, 1, timeoutMilliseconds)
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 256) }
            let readError = count < 0 ? errno : 0
            let replies: [UInt8] = plant.withPlant { twin in
                if count > 0 {
                    bytesIn += count
                    buffer.withUnsafeBytes { bytes in
                        for device in devices { device.receive(UnsafeRawBufferPointer(rebasing: bytes[0..<count])) }
                    }
                }
                let now = twin.virtualClock.now()
                let due = devices.flatMap { $0.takeReply(availableAt: now) }
                let next = devices.compactMap(\.nextReplyTime).min()
                timeoutMilliseconds = next.map { Int32(clamping: max(1, min(50, ($0.nanoseconds - now.nanoseconds) / 1_000_000 + 1))) } ?? 50
                return due
            }
            if count < 0 && readError != EAGAIN && readError != EINTR { usleep(20_000) }  // the host side is closed
            var offset = 0
            while offset < replies.count {
                let written = replies.withUnsafeBytes { write(fd, $0.baseAddress! + offset, replies.count - offset) }
                if written <= 0 {
                    if written < 0 && errno != EAGAIN && errno != EINTR { break }
                    usleep(1000)
                    continue
                }
                offset += written
            }
            plant.withPlant { _ in bytesOut += offset }
        }
    }
}
