import Glibc
import Journal

/// The CP2112 bridge as a FunctionFS gadget (10C4:EA90): a HID interface with interrupt IN and
/// OUT endpoints. Control requests (the report descriptor, GET_REPORT/SET_REPORT of feature
/// reports, SET_IDLE) arrive on ep0; SMBus requests arrive as output reports on interrupt OUT and
/// are answered with input reports on interrupt IN. The kernel's `hid-cp2112` binds to it and
/// gives a gpiochip labelled `cp2112_gpio` and an I2C adapter.
public final class CP2112Gadget: @unchecked Sendable {
    public static let descriptors = FunctionFSDescriptors(
        interfaceClass: 0x03,
        classDescriptors: [CP2112Emulator.hidDescriptor],
        endpoints: [.interrupt(0x81), .interrupt(0x01)],
        interfaceName: "CP2112 HID USB-to-SMBus Bridge (twin)")

    private let plant: KernelTwinPlant
    public let emulator: CP2112Emulator
    private let function: FunctionFS
    private let inputReports: Int32
    private let outputReports: Int32
    public private(set) var problems: [String] = []
    /// The emulator's state. Taken before the plant's lock, and alone for the reports that only
    /// read back a finished transfer, so those never wait behind the plant.
    private let bridge = ConditionLock()
    public private(set) var controlRequests = 0
    public private(set) var outputReportsReceived = 0

    public init(plant: KernelTwinPlant, mountPoint: String) throws(KernelTwinError) {
        self.plant = plant
        emulator = CP2112Emulator(bus: plant.bridgeBus)
        function = try FunctionFS(mountPoint: mountPoint, descriptors: Self.descriptors)
        inputReports = try function.openEndpoint(Self.descriptors.endpointFile(of: 0x81)!)
        outputReports = try function.openEndpoint(Self.descriptors.endpointFile(of: 0x01)!)
        emulator.onLevels = { [unowned plant] levels in plant.driveLocked(pinLevels: levels) }
    }

    /// Control requests answered, SMBus transfers run, and problems, read together.
    public var snapshot: (controlRequests: Int, transfers: Int, problems: [String]) {
        bridge.withLock { (controlRequests, emulator.transfers, problems) }
    }

    public func start() throws(KernelTwinError) {
        try startServing("cp2112 ep0", realTimePriority: 40) { [self] in controlLoop() }
        try startServing("cp2112 interrupt OUT", realTimePriority: 40) { [self] in outputLoop() }
    }

    private func controlLoop() {
        while true {
            guard let event = function.nextEvent(reporting: note) else { continue }
            guard event.kind == .setup else { continue }
            do { try answer(event.setup) } catch {
                if !isTransientControlError(error) { note("\(error)") }
            }
        }
    }

    /// HID 1.11 §7: GET_DESCRIPTOR (report, HID), GET_REPORT, SET_REPORT, SET_IDLE.
    private func answer(_ setup: USBSetupPacket) throws(KernelTwinError) {
        bridge.withLock { controlRequests += 1 }
        let length = Int(setup.length)
        let reportType = UInt8(setup.value >> 8)
        let reportID = UInt8(setup.value & 0xFF)
        switch (setup.requestType, setup.request) {
        case (0x81, 0x06) where reportType == 0x22:
            try function.replyIn(Array(CP2112Emulator.reportDescriptor.prefix(length)))
        case (0x81, 0x06) where reportType == 0x21:
            try function.replyIn(Array(CP2112Emulator.hidDescriptor.prefix(length)))
        case (0xA1, 0x01) where reportType == 0x03:
            if let data = bridge.withLock({ emulator.getFeature(reportID, length: length) }) {
                try function.replyIn(data)
            } else {
                function.stall(setup)
            }
        case (0x21, 0x09):
            let data = try function.receiveOut(length: length)
            let replies: [[UInt8]] = bridge.withLock {
                plant.withPlant { _ in
                    if reportType == 0x03 {
                        if !emulator.setFeature(data) { problems.append("feature report \(data.first ?? 0) refused") }
                        return []
                    }
                    return emulator.output(data)
                }
            }
            try send(replies)
        case (0x21, 0x0A), (0x21, 0x0B):
            _ = try function.receiveOut(length: 0)  // SET_IDLE, SET_PROTOCOL: acknowledged
        default:
            function.stall(setup)
        }
    }

    private func outputLoop() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(outputReports, $0.baseAddress, 64) }
            if count <= 0 {
                if count < 0 && errno != ESHUTDOWN && errno != EINTR { note("interrupt OUT: errno \(errno)") }
                usleep(20_000)
                continue
            }
            let report = Array(buffer.prefix(count))
            let replies = bridge.withLock {
                outputReportsReceived += 1
                // Only a transfer request reaches the twin's parts; the plant is brought to now for it.
                if CP2112Emulator.startsTransfer(report) {
                    return plant.withPlant { _ in emulator.output(report) }
                }
                return emulator.output(report)
            }
            do { try send(replies) } catch { note("\(error)") }
        }
    }

    private func send(_ reports: [[UInt8]]) throws(KernelTwinError) {
        for report in reports {
            try FunctionFS.writeAll(inputReports, report, path: function.mountPoint + "/ep1", what: "input report")
        }
    }

    private func note(_ problem: String) {
        bridge.withLock { problems.append(problem) }
    }
}
