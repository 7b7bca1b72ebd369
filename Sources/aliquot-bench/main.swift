// `make bench`: what the controller's hot paths cost on this machine. Numbers are printed, never
// asserted; later parts add their own rows.
#if canImport(Glibc)
import Glibc
#endif
import Config
import Devices
import Rig
import Transports
import Twin

/// Nanoseconds on CLOCK_MONOTONIC.
@inline(__always)
func nanosecondsNow() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

struct Measurement {
    var name: String
    var perOperation: [Int64]
    var batchNanosecondsPerOperation: Double

    func percentile(_ p: Double) -> Int64 {
        let sorted = perOperation.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}

/// Times `body` one call at a time (for the distribution) and in one batch (for throughput).
func measure(_ name: String, iterations: Int = 200_000, _ body: () throws -> Void) rethrows -> Measurement {
    for _ in 0..<1_000 { try body() }  // warm up
    var samples = [Int64](repeating: 0, count: iterations)
    for index in 0..<iterations {
        let start = nanosecondsNow()
        try body()
        samples[index] = nanosecondsNow() - start
    }
    let batchStart = nanosecondsNow()
    for _ in 0..<iterations { try body() }
    let batch = Double(nanosecondsNow() - batchStart) / Double(iterations)
    return Measurement(name: name, perOperation: samples, batchNanosecondsPerOperation: batch)
}

func format(_ value: Double) -> String {
    let rounded = (value * 10).rounded() / 10
    return String(rounded)
}

func pad(_ text: String, _ width: Int, left: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return left ? text + padding : padding + text
}

func report(_ measurements: [Measurement], clockOverhead: Int64) {
    print(pad("benchmark", 46, left: true) + pad("ns/op", 10) + pad("p50 ns", 10) + pad("p99 ns", 10) + pad("max ns", 10))
    for m in measurements {
        print(
            pad(m.name, 46, left: true) + pad(format(m.batchNanosecondsPerOperation), 10)
                + pad(String(m.percentile(0.5)), 10) + pad(String(m.percentile(0.99)), 10)
                + pad(String(m.perOperation.max() ?? 0), 10))
    }
    print("(ns/op from one batch; p50/p99/max timed one call at a time and include ~\(clockOverhead) ns of clock_gettime)")
}

func main() throws {
    let board = try BoardFile.load(path: "Boards/sim.toml")
    let twin = try TwinTransportFactory(board: board)
    let rig = try Rig(board: board, transports: twin)
    let bus = try require(twin.buses["main"])
    let address = board.thermocouples[0].address

    let clockOverhead = measure("clock_gettime(CLOCK_MONOTONIC)") {}.percentile(0.5)

    var measurements: [Measurement] = []
    var pointer: UInt8 = 0x00
    var reply: (UInt8, UInt8) = (0, 0)
    measurements.append(
        try measure("I2C read: 2-byte register, twin transport") {
            try withUnsafeBytes(of: &pointer) { write in
                try withUnsafeMutableBytes(of: &reply) { read in
                    try bus.transfer(address: address, write: write, read: read)
                }
            }
        })
    let converter = rig.thermocouples[0].converter
    measurements.append(try measure("MCP9600 read (T_H, T_C, status), twin") { _ = try converter.read() })
    let valve = rig.valves[0].valve.output
    var level = false
    measurements.append(
        try measure("output set (toggle), twin line") {
            level.toggle()
            try valve.set(on: level)
        })
    try valve.forceOff()
    var heaterWindow = TimeProportioning(periodNanoseconds: 1_000_000_000, maxDuty: 1)
    heaterWindow.setDuty(0.43)
    var instant = MonotonicInstant.zero
    measurements.append(
        measure("time-proportioning window step") {
            instant = instant.adding(nanoseconds: 10_000_000)
            _ = heaterWindow.level(at: instant)
        })
    let plant = twin.plant
    var plantSeconds = 1_000.0
    measurements.append(
        measure("thermal plant exact advance (2 zones)") {
            plantSeconds += 0.01
            plant.advance(to: plantSeconds)
        })
    measurements.append(measure("rig sample (2 thermocouples, 4 outputs), twin", iterations: 50_000) { _ = rig.sample() })
    report(measurements, clockOverhead: clockOverhead)

    // The twin's speed: a 10-minute monitor run at 10 Hz with the reactor heater at 60 %.
    let runBoard = try BoardFile.load(path: "Boards/sim.toml")
    let runRig = try Rig.open(board: runBoard)
    var samples = 0
    let start = nanosecondsNow()
    try runRig.monitor(MonitorPlan(seconds: 600, interval: 0.1, duties: ["heater.reactor": 0.6])) { _ in samples += 1 }
    let wall = Double(nanosecondsNow() - start) / 1e9
    print("twin monitor: 600 s of virtual time, \(samples) samples at 10 Hz, in \(format(wall * 1000)) ms of wall time "
        + "(\(format(600 / wall)) x real time)")
}

struct RequireFailure: Error, CustomStringConvertible {
    var description: String { "the sim board has no bus 'main'" }
}

func require<T>(_ value: T?) throws -> T {
    guard let value else { throw RequireFailure() }
    return value
}

// `ALIQUOT_BENCH=learning` runs only the Learning rows (iterating on them without the rest).
if let only = getenv("ALIQUOT_BENCH"), String(cString: only) == "learning" {
    runLearningBenchmarks()
    exit(0)
}

do {
    try main()
    runSpectraBenchmarks()
    runSpectrometerBenchmarks()
    runLearningBenchmarks()
    runLoopLatencyBenchmarks()
    runJournalBenchmarks()
    runCampaignBenchmarks()
} catch {
    print("bench failed: \(error)")
    exit(1)
}
