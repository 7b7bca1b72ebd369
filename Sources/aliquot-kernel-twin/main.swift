// aliquot-kernel-twin: the twin's devices behind real Linux drivers, for the VM test (vm/).
//
//   aliquot-kernel-twin --twin vm/twin.toml --board vm/board.toml --i2c-stub main \
//       --spectrometer abs=/run/ffs/abs --spectrometer pl=/run/ffs/pl --cp2112 /run/ffs/cp2112 \
//       --serial /dev/ttyACM0=/dev/ttyGS0 ... [--ready FILE]
//
// Each FunctionFS instance must be mounted and its gadget not yet bound: the descriptors are
// written here, then the caller binds the gadgets to their UDCs. Runs until killed, printing the
// plant and the traffic every 10 s.
import Config
import Glibc
import KernelTwin
import Rig
import Twin

struct Options {
    var twinPath = ""
    var boardPath = ""
    var stubBus: String?
    var spectrometers: [(SpectrometerRole, String)] = []
    var bridge: String?
    var serial: [(host: String, gadget: String)] = []
    var ready: String?
}

func fail(_ message: String) -> Never {
    let line = "aliquot-kernel-twin: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(1)
}

func parse(_ arguments: [String]) -> Options {
    var options = Options()
    var index = 0
    func value(_ name: String) -> String {
        index += 1
        guard index < arguments.count else { fail("\(name) needs a value") }
        return arguments[index]
    }
    func pair(_ name: String) -> (String, String) {
        let text = value(name)
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { fail("\(name) \(text): expected A=B") }
        return (parts[0], parts[1])
    }
    while index < arguments.count {
        switch arguments[index] {
        case "--twin": options.twinPath = value("--twin")
        case "--board": options.boardPath = value("--board")
        case "--i2c-stub": options.stubBus = value("--i2c-stub")
        case "--cp2112": options.bridge = value("--cp2112")
        case "--ready": options.ready = value("--ready")
        case "--spectrometer":
            let (role, path) = pair("--spectrometer")
            guard let known = SpectrometerRole(rawValue: role) else { fail("--spectrometer \(role): allowed abs, pl") }
            options.spectrometers.append((known, path))
        case "--serial":
            let (host, gadget) = pair("--serial")
            options.serial.append((host, gadget))
        default: fail("unknown argument \(arguments[index])")
        }
        index += 1
    }
    if options.twinPath.isEmpty || options.boardPath.isEmpty { fail("--twin and --board are required") }
    return options
}

let options = parse(Array(CommandLine.arguments.dropFirst()))
let twinBoard: BoardFile
let board: BoardFile
do {
    twinBoard = try BoardFile.load(path: options.twinPath)
    board = try BoardFile.load(path: options.boardPath)
} catch {
    fail(error.description)
}

do {
    let plant = try KernelTwinPlant(twinBoard: twinBoard, board: board)
    plant.onSamplePulse = { count in
        print("aliquot-kernel-twin: sample valve pulse \(count) at t=\(Int(plant.wallSeconds))s")
        fflush(nil)
    }
    var report: [String] = []
    if let bus = options.stubBus {
        let feeder = try I2CStubFeeder(plant: plant, board: board, twinBoard: twinBoard, busName: bus)
        try feeder.start()
        report.append("i2c-stub \(bus): " + feeder.converters.map { "\($0.name) at 0x\(String($0.address, radix: 16))" }.joined(separator: ", "))
    }
    var spectrometers: [SpectrometerGadget] = []
    for (role, mount) in options.spectrometers {
        guard let simulator = plant.twin.spectrometerSimulators[role] else { fail("the twin has no [spectrometer.\(role.rawValue)]") }
        let gadget = try SpectrometerGadget(name: role.rawValue, plant: plant, simulator: simulator, mountPoint: mount)
        try gadget.start()
        spectrometers.append(gadget)
        report.append("spectrometer \(role.rawValue): FunctionFS \(mount)")
    }
    var bridge: CP2112Gadget?
    if let mount = options.bridge {
        let gadget = try CP2112Gadget(plant: plant, mountPoint: mount)
        try gadget.start()
        bridge = gadget
        report.append("cp2112: FunctionFS \(mount), pins " + plant.outputs.map { "\($0.pin)=\($0.id)" }.joined(separator: " "))
    }
    var ports: [SerialGadgetPort] = []
    for (host, gadget) in options.serial {
        let pumps = board.pumps.filter { $0.port == host }
        guard !pumps.isEmpty else { fail("--serial \(host): no pump of \(board.path) uses that port") }
        let devices: [any SimulatedSerialDevice] = pumps.compactMap {
            plant.twin.reactor.harvardPumps[$0.name] ?? plant.twin.reactor.chemyxPumps[$0.name]
        }
        let port = try SerialGadgetPort(path: gadget, devices: devices, plant: plant)
        try port.start()
        ports.append(port)
        report.append("pumps \(pumps.map(\.name).joined(separator: "+")): \(gadget) (host \(host))")
    }
    for line in report { print("aliquot-kernel-twin: \(line)") }
    if let ready = options.ready {
        guard let file = fopen(ready, "w") else { fail("\(ready): cannot write (errno \(errno))") }
        fputs(report.joined(separator: "\n") + "\n", file)
        fclose(file)
    }
    fflush(nil)
    var printedProblems = 0
    while true {
        sleep(10)
        // The bridge's lock is taken before the plant's, never inside it.
        let bridgeCounts = bridge?.snapshot
        let line = plant.withPlant { twin -> String in
            var parts: [String] = ["t=\(Int(twin.nowSeconds))s"]
            for heater in twinBoard.heaters {
                if let state = try? twin.state(ofHeater: heater.name) {
                    parts.append("\(heater.name)=\((state.celsius * 10).rounded() / 10)°C")
                }
            }
            parts.append("headspace=\(Int(plant.headspace.gaugeMbar))mbar")
            parts.append("liquid=\(Int(twin.reactor.contents.volumeMicrolitres))uL drains=\(plant.drains)")
            for gadget in spectrometers {
                parts.append("\(gadget.name): \(gadget.commandsReceived) cmds \(gadget.messagesSent) msgs \(gadget.enables) enables")
            }
            if let counts = bridgeCounts {
                parts.append("cp2112: \(counts.controlRequests) ctrl \(counts.transfers) smbus")
            }
            parts.append("serial: \(ports.map { "\($0.bytesIn)/\($0.bytesOut)" }.joined(separator: " "))")
            return parts.joined(separator: " ")
        }
        print("aliquot-kernel-twin: \(line)")
        let problems = plant.withPlant { _ in plant.problems + spectrometers.flatMap(\.problems) } + (bridgeCounts?.problems ?? [])
        for problem in problems.dropFirst(printedProblems) { print("aliquot-kernel-twin: problem: \(problem)") }
        printedProblems = problems.count
        fflush(nil)
    }
} catch {
    fail(error.description)
}
