import Config
import Devices
import Transports

/// `aliquot monitor`: samples the rig at a fixed interval and hands each snapshot to the caller.
///
/// By default it only watches (every output stays off). On a twin board it may also drive heaters
/// at fixed duties so the dynamics show; the board's hard limits cut a heater at once when its
/// reading is missing, faulted, implausible or at `max_c`. It always ends in the safe state.
public struct MonitorPlan: Sendable {
    /// How long to run, in seconds of the rig's clock (virtual on the twin); nil: until stopped.
    public var seconds: Double?
    /// The sampling interval, seconds.
    public var interval: Double
    /// Fixed duties by heater id (`heater.reactor` = 0.6).
    public var duties: [String: Double]

    public init(seconds: Double?, interval: Double, duties: [String: Double]) {
        self.seconds = seconds
        self.interval = interval
        self.duties = duties
    }
}

/// Why a monitor plan was refused before anything was touched.
public struct MonitorPlanError: Error, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

extension Rig {
    /// Checks a plan against this rig: known heaters, duties within 0...max_duty, driving heaters
    /// only on the twin, a positive interval.
    public func validate(_ plan: MonitorPlan) throws(MonitorPlanError) {
        guard plan.interval > 0, plan.interval <= 60 else {
            throw MonitorPlanError(message: "--interval must be more than 0 and at most 60 s, got \(plan.interval)")
        }
        if let seconds = plan.seconds, !(seconds > 0) {
            throw MonitorPlanError(message: "--seconds must be more than 0, got \(seconds)")
        }
        for (id, duty) in plan.duties.sorted(by: { $0.key < $1.key }) {
            guard let heater = heaters.first(where: { $0.output.id == id }) else {
                let known = heaters.map(\.output.id).joined(separator: ", ")
                throw MonitorPlanError(message: "--duty \(id): no such heater on \(board.path); heaters: \(known)")
            }
            guard duty >= 0, duty <= heater.config.maxDuty else {
                throw MonitorPlanError(
                    message: "--duty \(id)=\(duty): out of range, allowed 0 to \(heater.config.maxDuty) (max_duty)")
            }
        }
        if !plan.duties.isEmpty && board.transport != .twin {
            throw MonitorPlanError(
                message: "--duty drives heaters with no control loop: allowed on twin boards only, "
                    + "\(board.path) is a \(board.transport.rawValue) board")
        }
    }

    /// Runs the plan: sample, apply the hard limits, drive the heaters' windows, hand the snapshot
    /// to `onSample`, sleep to the next absolute deadline. `shouldStop` is asked before each tick.
    /// Always returns through the safe state; a clock or output failure is thrown after it.
    public func monitor(
        _ plan: MonitorPlan, shouldStop: () -> Bool = { false }, onSample: (RigSnapshot) -> Void
    ) throws(RigError) {
        try runThenSafeState { () throws(RigError) in
            for heater in heaters {
                heater.output.setDuty(plan.duties[heater.output.id] ?? 0)
            }
            let start = clock.now()
            let step = Int64((plan.interval * 1e9).rounded())
            let end = plan.seconds.map { start.adding(seconds: $0) }
            var samplesTaken: Int64 = 0
            var nextSample = start
            while !shouldStop() {
                let now = clock.now()
                if now >= nextSample {
                    var snapshot = sample()
                    snapshot.cuts = applyHardLimits(snapshot, duties: plan.duties)
                    try driveHeaters(at: now)
                    snapshot.outputs = outputSamples()
                    onSample(snapshot)
                    samplesTaken += 1
                    nextSample = start.adding(nanoseconds: samplesTaken * step)
                    if let end, nextSample > end { break }
                } else {
                    try driveHeaters(at: now)
                }
                // Wake for the next sample, or earlier when a heater's window needs the SSR switched.
                var wake = nextSample
                for heater in heaters where heater.output.duty > 0 {
                    wake = min(wake, heater.output.nextChange(after: now))
                }
                do { try clock.sleep(until: wake) } catch {
                    throw RigError(part: "clock", action: "sleep", underlying: error)
                }
            }
        }
    }

    /// Cuts each heater whose hard limits fail; returns the reasons.
    func applyHardLimits(_ snapshot: RigSnapshot, duties: [String: Double]) -> [String] {
        var cuts: [String] = []
        for heater in heaters where heater.output.duty > 0 || (duties[heater.output.id] ?? 0) > 0 {
            let thermocouple = board.thermocouples.first { $0.name == heater.config.thermocouple }
            let reason = HardLimits.cutReason(
                heater: heater.config, thermocouple: thermocouple,
                sample: snapshot.thermocouple(heater.config.thermocouple))
            if let reason {
                heater.output.setDuty(0)
                cuts.append(reason)
            } else {
                heater.output.setDuty(duties[heater.output.id] ?? 0)
            }
        }
        return cuts
    }

    func driveHeaters(at now: MonotonicInstant) throws(RigError) {
        for heater in heaters {
            do { try heater.output.update(at: now) } catch {
                throw RigError(part: heater.output.id, action: "set", underlying: error)
            }
        }
    }

    /// Runs `body`, then puts the rig in its safe state whatever happened. A safe-state failure is
    /// thrown if `body` succeeded; if both failed, the body's error is thrown and the safe-state
    /// failure is appended to its detail (nothing is dropped).
    func runThenSafeState(_ body: () throws(RigError) -> Void) throws(RigError) {
        var bodyError: RigError?
        do { try body() } catch { bodyError = error }
        let safeStateFailures = enterSafeState()
        if var error = bodyError {
            if !safeStateFailures.isEmpty {
                error.detail += "; then the safe state failed: "
                    + safeStateFailures.map(\.description).joined(separator: "; ")
            }
            throw error
        }
        if let first = safeStateFailures.first {
            throw RigError(
                part: first.part, action: "safe state",
                detail: safeStateFailures.map(\.description).joined(separator: "; "))
        }
    }
}
