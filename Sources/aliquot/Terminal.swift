#if canImport(Glibc)
import Glibc
#endif
import Config
import Devices
import Rig

/// Set by SIGINT/SIGTERM; the monitor loop asks before each tick and ends in the safe state.
nonisolated(unsafe) private var stopSignal: sig_atomic_t = 0

func installStopHandler() {
    signal(SIGINT) { _ in stopSignal = 1 }
    signal(SIGTERM) { _ in stopSignal = 1 }
}

func stopRequested() -> Bool { stopSignal != 0 }

/// Writes a line to standard error.
func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { bytes in
        var offset = 0
        while offset < bytes.count {
            let written = write(STDERR_FILENO, bytes.baseAddress! + offset, bytes.count - offset)
            if written <= 0 { return }  // nowhere left to report to
            offset += written
        }
    }
}

/// `value` with `digits` decimals, without Foundation's formatter.
func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return String(describing: value) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    let whole = Int64(scaled / scale)
    var fraction = String(Int64(scaled - Double(whole) * scale))
    while fraction.count < digits { fraction = "0" + fraction }
    let sign = value < 0 && scaled != 0 ? "-" : ""
    return digits == 0 ? "\(sign)\(whole)" : "\(sign)\(whole).\(fraction)"
}

/// `text` right-aligned in `width` columns.
func padded(_ text: String, _ width: Int) -> String {
    text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
}

/// The monitor's table: one column per thermocouple, one per output.
struct MonitorTable {
    let rig: Rig

    func banner() -> String {
        let kind = rig.board.transport == .twin ? "digital twin (virtual time)" : "hardware"
        return "\(rig.board.name): \(kind), board file \(rig.board.path)"
    }

    func header() -> String {
        var columns = [padded("t s", 8)]
        for thermocouple in rig.thermocouples {
            columns.append(padded("\(thermocouple.config.name) °C", 14))
            columns.append(padded("cj °C", 7))
        }
        for output in rig.outputs {
            columns.append(padded(output.id, max(output.id.count, 9)))
        }
        return columns.joined(separator: " ")
    }

    func row(_ snapshot: RigSnapshot) -> String {
        var columns = [padded(fixed(snapshot.seconds, 1), 8)]
        for sample in snapshot.thermocouples {
            let hot: String
            if let error = sample.error {
                hot = error.contains("noAcknowledge") ? "NO ACK" : "ERROR"
            } else if let fault = sample.fault {
                switch fault {
                case .openCircuit: hot = "OPEN"
                case .shortCircuit: hot = "SHORT"
                case .inputRangeExceeded: hot = "RANGE"
                }
            } else {
                hot = sample.hotCelsius.map { fixed($0, 2) } ?? "-"
            }
            columns.append(padded(hot, 14))
            columns.append(padded(sample.coldCelsius.map { fixed($0, 1) } ?? "-", 7))
        }
        for output in snapshot.outputs {
            var state = output.isOn ? "ON" : "off"
            if let duty = output.duty, duty > 0 { state += " \(fixed(duty * 100, 0))%" }
            columns.append(padded(state, max(output.id.count, 9)))
        }
        return columns.joined(separator: " ")
    }
}

/// Replaces `path` with `text` atomically (a reader sees the old file or the whole new one).
func writeAtomically(_ text: String, to path: String) throws {
    do {
        try ConfigFiles.writeAtomically(Array(text.utf8), to: path, what: "output file")
    } catch {
        throw CommandFailure(error.description)
    }
}
