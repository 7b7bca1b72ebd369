import Glibc
import Journal
import Transports
import Twin

/// An Ocean Optics spectrometer (2457:101E) as a FunctionFS gadget: the twin's byte-level
/// `OceanOpticsSimulator` answers the commands the host sends to bulk OUT 0x01 on bulk IN 0x81
/// (replies) and 0x82 (spectra), with each spectrum ready when its integration ends.
///
/// The host must see the FLAME-S's own endpoint addresses, but the UDC picks them
/// (`usb_ep_autoconfig`). dummy_hcd offers its bulk endpoints in this order: ep1in, ep2out, ep6in,
/// ep7out, ep11in, ep12out, ep1out, ep2in; so three OUT and two IN endpoints the host never uses
/// are asked for first, leaving ep1out and ep2in for 0x01 and 0x82.
public final class SpectrometerGadget: @unchecked Sendable {
    public static let descriptors = FunctionFSDescriptors(
        interfaceClass: 0xFF,
        endpoints: [
            .bulk(0x02), .bulk(0x03), .bulk(0x04),  // take ep2out, ep7out, ep12out
            .bulk(0x01), .bulk(0x81),  // ep1out, ep1in
            .bulk(0x83), .bulk(0x84),  // take ep6in, ep11in
            .bulk(0x82),  // ep2in
        ],
        interfaceName: "Ocean Optics spectrometer (twin)")

    public let name: String
    private let plant: KernelTwinPlant
    private let simulator: OceanOpticsSimulator
    private let function: FunctionFS
    private let commands: Int32
    private let replies: Int32
    private let spectra: Int32
    private let state = ConditionLock()
    /// Signalled when a command arrived, so the IN loops look at their queues at once.
    private let arrivals = ConditionLock()
    private var enabled = false
    /// Transfers served, for the log.
    public private(set) var commandsReceived = 0
    public private(set) var messagesSent = 0
    public private(set) var enables = 0
    public private(set) var problems: [String] = []

    public init(name: String, plant: KernelTwinPlant, simulator: OceanOpticsSimulator, mountPoint: String) throws(KernelTwinError) {
        self.name = name
        self.plant = plant
        self.simulator = simulator
        function = try FunctionFS(mountPoint: mountPoint, descriptors: Self.descriptors)
        let descriptors = Self.descriptors
        commands = try function.openEndpoint(descriptors.endpointFile(of: 0x01)!)
        replies = try function.openEndpoint(descriptors.endpointFile(of: 0x81)!)
        spectra = try function.openEndpoint(descriptors.endpointFile(of: 0x82)!)
    }

    /// Starts the control, command and two IN threads.
    public func start() throws(KernelTwinError) {
        try startServing("\(name) ep0") { [self] in controlLoop() }
        try startServing("\(name) ep 0x01") { [self] in commandLoop() }
        try startServing("\(name) ep 0x81") { [self] in inLoop(address: 0x81, fd: replies) }
        try startServing("\(name) ep 0x82") { [self] in inLoop(address: 0x82, fd: spectra) }
    }

    /// Enable powers the part up from scratch (a plug-in); the part has no control requests of
    /// its own beyond the standard ones the kernel answers.
    private func controlLoop() {
        while true {
            guard let event = function.nextEvent(reporting: note) else { continue }
            switch event.kind {
            case .enable:
                plant.withPlant { _ in simulator.powerOn() }
                state.withLock {
                    enabled = true
                    enables += 1
                }
            case .disable, .unbind:
                state.withLock { enabled = false }
            case .setup:
                function.stall(event.setup)
            default:
                break
            }
        }
    }

    private func commandLoop() {
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(commands, $0.baseAddress, 512) }
            if count < 0 {
                pause(after: errno)
                continue
            }
            plant.withPlant { twin in
                let outcome = buffer.withUnsafeBytes { bytes in
                    Result { () throws(SimulatedUSBRefusal) in
                        try simulator.receive(
                            endpoint: 0x01, bytes: UnsafeRawBufferPointer(rebasing: bytes[0..<count]), at: twin.virtualClock.now())
                    }
                }
                if case .failure(let refusal) = outcome { problems.append("command refused: \(refusal.reason)") }
                commandsReceived += 1
            }
            arrivals.withLock { arrivals.broadcast() }
        }
    }

    /// Sends each queued message once it is ready; a message the host does not take before the
    /// function is disabled is lost, as on an unplugged device.
    private func inLoop(address: UInt8, fd: Int32) {
        var message = [UInt8](repeating: 0, count: 16_384)
        while true {
            // Either a message ready now (its length), or how long until the next one is.
            let (ready, waitNanoseconds): (Int?, Int64) = plant.withPlant { twin in
                guard let endpoint = simulator.inEndpoint(address), let next = endpoint.nextMessage else {
                    return (nil, 100_000_000)
                }
                let now = twin.virtualClock.now()
                guard next.readyAt <= now else { return (nil, min(next.readyAt.nanoseconds - now.nanoseconds, 100_000_000)) }
                if message.count < next.remaining { message = [UInt8](repeating: 0, count: next.remaining) }
                return (message.withUnsafeMutableBytes { endpoint.take(next.remaining, into: $0) }, 0)
            }
            guard let length = ready else {
                // Until the next message is due, or a command arrives (at most 100 ms: a command
                // that came just before the wait is seen then).
                let deadline = KernelTwinPlant.monotonicNanoseconds() + waitNanoseconds
                arrivals.withLock { arrivals.wait(untilMonotonicNanoseconds: deadline) }
                continue
            }
            let written = message.withUnsafeBytes { write(fd, $0.baseAddress, length) }
            if written < 0 {
                pause(after: errno)
            } else {
                plant.withPlant { _ in messagesSent += 1 }
            }
        }
    }

    /// An endpoint failed (the function is disabled, the gadget unbound): wait and retry.
    private func pause(after error: Int32) {
        if error != ESHUTDOWN && error != EINTR && error != ENODEV && error != EAGAIN {
            note("endpoint I/O: \(String(cString: strerror(error))) (errno \(error))")
        }
        usleep(20_000)
    }

    private func note(_ problem: String) {
        plant.withPlant { _ in problems.append(problem) }
    }
}
