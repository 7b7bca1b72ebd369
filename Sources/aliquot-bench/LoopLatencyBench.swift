// `make bench`: the control loop's wakeup latency on the real clock, and cyclictest's at the same
// interval and priority when rt-tests is installed. Numbers are printed, never asserted.
#if canImport(Glibc)
import Glibc
#endif
import Control
import Devices
import LinuxIO
import Transports

/// The loop's `SCHED_FIFO` priority in the benchmark (and cyclictest's `-p`).
private let loopBenchPriority: Int32 = 80
/// Ticks measured per rate; `ALIQUOT_LOOP_BENCH_TICKS` overrides it (at least 100).
private let loopBenchDefaultTicks = 10_000
/// Ticks run first and not counted (caches, page faults of the first wakeups).
private let loopBenchWarmUpTicks = 200

/// Runs the control loop at 100 Hz and 1 kHz on `CLOCK_MONOTONIC` in a `RealTimeThread`
/// (`SCHED_FIFO` 80, `mlockall`, when permitted) and prints its wakeup latency (actual wake −
/// absolute deadline): p50, p99, max, with min and mean, over 10 000 ticks each. When
/// `cyclictest` is on the PATH it runs at the same interval, priority and count, and its
/// min/avg/max go in the same table.
///
/// The loop is the real `ControlLoop` with two `HeatLoop`s (PID, safety supervisor, time-
/// proportioned heater) over an in-memory sensor and line, so a tick costs what the control code
/// costs, without bus time. Heater-edge wakeups are off, so every wakeup is a tick deadline.
func runLoopLatencyBenchmarks() {
    let ticks = loopBenchTickCount()
    print("")
    print("control loop wakeup latency (actual wake - deadline), CLOCK_MONOTONIC, \(ticks) ticks per row")
    var rows: [LatencyRow] = []
    var notes: [String] = []
    let cyclictest = findExecutable("cyclictest")
    for hertz in [100, 1_000] {
        let periodMicroseconds = 1_000_000 / hertz
        switch measureControlLoop(hertz: hertz, ticks: ticks) {
        case .success(let row):
            rows.append(row.row)
            for warning in row.warnings where !notes.contains(warning) { notes.append(warning) }
        case .failure(let error):
            notes.append("ControlLoop at \(hertz) Hz failed: \(error)")
        }
        if let cyclictest {
            switch runCyclictest(
                path: cyclictest, intervalMicroseconds: periodMicroseconds, priority: loopBenchPriority, loops: ticks)
            {
            case .success(let row): rows.append(row)
            case .failure(let problem): notes.append("cyclictest at \(hertz) Hz: \(problem.message)")
            }
        }
    }
    printLatencyTable(rows)
    if cyclictest == nil {
        notes.append("cyclictest not found: install Debian's rt-tests for its numbers in this table")
    } else {
        notes.append(
            "cyclictest ran as: cyclictest -q -N -m -t 1 -p \(loopBenchPriority) -i <interval us> -l \(ticks) "
                + "--default-system (same memory locking; C-states left alone, as for the loop)")
    }
    notes.append("cyclictest reports min/avg/max only; '-' where it has no number")
    for note in notes { print("  " + note) }
}

// MARK: - The control loop

private struct LatencyRow {
    var source: String
    var hertz: Int
    var count: Int
    var scheduling: String
    var memoryLocked: String
    /// Nanoseconds; nil where the source gives none.
    var p50: Int64?
    var p99: Int64?
    var max: Int64?
    var min: Int64?
    var mean: Int64?
    var missed: String
}

private struct LoopBenchResult {
    var row: LatencyRow
    var warnings: [String]
}

private struct LoopBenchError: Error, CustomStringConvertible {
    var description: String
}

private func loopBenchTickCount() -> Int {
    if let text = getenv("ALIQUOT_LOOP_BENCH_TICKS").map({ String(cString: $0) }), let value = Int(text), value >= 100 {
        return value
    }
    return loopBenchDefaultTicks
}

/// A sensor that reads a temperature drifting slowly around 200 °C (no I/O): every reading new,
/// never bit-identical for long, so the supervisor's checks run their normal path.
private final class DriftingSensor: TemperatureSensor {
    private var step = 0.0
    func read() -> TemperatureSample {
        step += 1
        return TemperatureSample(celsius: 199.5 + sin(step * 0.001), sensorFault: false, isNew: true)
    }
    var lastFailure: String? { nil }
}

/// A line that goes nowhere.
private final class NullLine: OutputLine {
    let name: String
    init(name: String) { self.name = name }
    func set(high: Bool) throws(OutputLineError) {}
    func release() throws(OutputLineError) {}
}

/// Carries the loop (not Sendable) to the thread that alone runs it from then on.
private final class LoopTransfer: @unchecked Sendable {
    let loop: ControlLoop
    init(_ loop: ControlLoop) { self.loop = loop }
}

private func measureControlLoop(hertz: Int, ticks: Int) -> Result<LoopBenchResult, LoopBenchError> {
    let period = Duration.nanoseconds(1_000_000_000 / Int64(hertz))
    let limits = SafetyLimits(
        minCelsius: -20, maxCelsius: 350, staleAfterSeconds: 2, stuckAfterSeconds: 30, heatingGainCelsius: 2,
        heatingGainWithinSeconds: 60, runawayErrorIntegral: 1e6, runawayHysteresisCelsius: 3, stuckOnRiseCelsius: 50,
        stuckOnWithinSeconds: 60, injectionWindowSeconds: 30, maxTickGapSeconds: 1)
    let loops = ["reactor", "syringe"].map { name in
        let heater = HeaterOutput(
            output: SwitchedOutput(id: "heater.\(name)", line: NullLine(name: "bench:\(name)"), activeHigh: true),
            periodNanoseconds: 1_000_000_000, maxDuty: 1)
        let loop = HeatLoop(
            name: name, gains: PIDGains(kp: 0.05, ki: 0.001, kd: 0.2, derivativeFilterSeconds: 1), limits: limits,
            heater: heater, sensor: DriftingSensor())
        loop.setSetpoint(200)
        return loop
    }
    let log = WakeLatencyLog(capacity: ticks + loopBenchWarmUpTicks)
    let control = ControlLoop(
        loops: loops, clock: MonotonicClock(), period: period, wakesForHeaterEdges: false, latencyLog: log)
    let port = control.port
    let transfer = LoopTransfer(control)
    let thread: RealTimeThread
    do {
        thread = try RealTimeThread.start(priority: loopBenchPriority, lockMemory: true) { stop in
            let loop = transfer.loop
            loop.runUntilStopped { stop.isRequested || loop.latencyLog!.count >= loop.latencyLog!.capacity }
        }
    } catch {
        return .failure(LoopBenchError(description: "\(error)"))
    }
    do {
        try thread.join()
    } catch {
        return .failure(LoopBenchError(description: "\(error)"))
    }
    if let failure = port.failure {
        return .failure(LoopBenchError(description: "\(failure)"))
    }
    let samples = Array(log.values.dropFirst(loopBenchWarmUpTicks))
    guard !samples.isEmpty else { return .failure(LoopBenchError(description: "no wakeups recorded")) }
    let sorted = samples.sorted()
    let statistics = port.statistics
    let row = LatencyRow(
        source: "ControlLoop (RealTimeThread)", hertz: hertz, count: sorted.count,
        scheduling: thread.scheduling.description, memoryLocked: thread.memoryLocked ? "yes" : "no",
        p50: percentile(sorted, 0.50), p99: percentile(sorted, 0.99), max: sorted.last, min: sorted.first,
        mean: sorted.reduce(0, +) / Int64(sorted.count), missed: String(statistics.missedDeadlines))
    return .success(LoopBenchResult(row: row, warnings: thread.warnings.map(\.description)))
}

/// Nearest-rank percentile of sorted samples.
private func percentile(_ sorted: [Int64], _ fraction: Double) -> Int64 {
    let rank = Int((fraction * Double(sorted.count)).rounded(.up))
    return sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]
}

// MARK: - cyclictest

private struct CyclictestProblem: Error {
    var message: String
}

/// The first `name` on the PATH that is executable.
private func findExecutable(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
    for directory in path.split(separator: ":") {
        let candidate = "\(directory)/\(name)"
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}

/// Runs cyclictest for `loops` wakeups of one `SCHED_FIFO` thread at `priority` every
/// `intervalMicroseconds`, in nanoseconds (`-N`), quiet (`-q`: one summary line), memory locked
/// (`-m`), and parses its summary line:
/// `T: 0 ( 1234) P:80 I:10000 C:  10000 Min:   1234 Act:   2345 Avg:   3456 Max:  45678`.
private func runCyclictest(path: String, intervalMicroseconds: Int, priority: Int32, loops: Int)
    -> Result<LatencyRow, CyclictestProblem>
{
    let command =
        "\(path) -q -N -m -t 1 -p \(priority) -i \(intervalMicroseconds) -l \(loops) --default-system 2>&1"
    guard let pipe = popen(command, "r") else {
        return .failure(CyclictestProblem(message: "popen failed (errno \(errno))"))
    }
    var output = ""
    var buffer = [CChar](repeating: 0, count: 4096)
    while fgets(&buffer, Int32(buffer.count), pipe) != nil {
        output += buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }
    let status = pclose(pipe)
    guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("T:") }),
        let count = cyclictestField("C:", in: line), let minimum = cyclictestField("Min:", in: line),
        let average = cyclictestField("Avg:", in: line), let maximum = cyclictestField("Max:", in: line)
    else {
        let text = output.split(separator: "\n").suffix(3).joined(separator: " | ")
        return .failure(CyclictestProblem(message: "no summary line (exit status \(status)): \(text)"))
    }
    // cyclictest leaves without a summary when SCHED_FIFO or mlockall is refused, so a summary
    // means both were granted.
    return .success(
        LatencyRow(
            source: "cyclictest (rt-tests)", hertz: 1_000_000 / intervalMicroseconds, count: Int(count),
            scheduling: "SCHED_FIFO priority \(priority)", memoryLocked: "yes",
            p50: nil, p99: nil, max: maximum, min: minimum, mean: average, missed: "-"))
}

/// The integer after `label` in a cyclictest summary line (`C:  10000` or `P:80`).
private func cyclictestField(_ label: String, in line: Substring) -> Int64? {
    let tokens = line.split(separator: " ")
    for (index, token) in tokens.enumerated() where token.hasPrefix(label) {
        let attached = token.dropFirst(label.count)
        if !attached.isEmpty { return Int64(attached) }
        return index + 1 < tokens.count ? Int64(tokens[index + 1]) : nil
    }
    return nil
}

// MARK: - The table

private func printLatencyTable(_ rows: [LatencyRow]) {
    func cell(_ text: String, _ width: Int, left: Bool = false) -> String {
        let padding = String(repeating: " ", count: Swift.max(0, width - text.count))
        return left ? text + padding : padding + text
    }
    func micro(_ nanoseconds: Int64?) -> String {
        guard let nanoseconds else { return "-" }
        let tenths = (Double(nanoseconds) / 100).rounded() / 10
        return String(tenths)
    }
    print(
        cell("source", 30, left: true) + cell("rate", 8) + cell("ticks", 7) + "  " + cell("scheduling", 22, left: true)
            + cell("mlock", 6) + cell("p50 us", 9) + cell("p99 us", 9) + cell("max us", 10) + cell("min us", 9)
            + cell("mean us", 9) + cell("missed", 8))
    for row in rows {
        print(
            cell(row.source, 30, left: true) + cell("\(row.hertz) Hz", 8) + cell(String(row.count), 7) + "  "
                + cell(row.scheduling, 22, left: true) + cell(row.memoryLocked, 6) + cell(micro(row.p50), 9)
                + cell(micro(row.p99), 9) + cell(micro(row.max), 10) + cell(micro(row.min), 9)
                + cell(micro(row.mean), 9) + cell(row.missed, 8))
    }
}
