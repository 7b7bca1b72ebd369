import Control
import LinuxIO
import Transports

/// Moves a control loop forward for a director (the heat sequence, the autotune) that looks at
/// it between slices.
///
/// On the twin the director runs the loop itself on the virtual clock, as fast as the CPU
/// allows. On hardware the loop runs in its own real-time thread (SCHED_FIFO when permitted,
/// memory locked) with a dead-man watcher in another, and the director only sleeps on the
/// monotonic clock and talks to the loop through its port. Either way the director reads
/// snapshots and sends commands through `control.port`, so its code is the same.
final class LoopDriver {
    let control: ControlLoop
    /// Why the hardware threads run without real-time scheduling or locked memory, if they do.
    private(set) var warnings: [String] = []
    private var loopThread: RealTimeThread?
    private var watcherThread: RealTimeThread?
    private let clock: RigClock

    /// The loop thread's SCHED_FIFO priority, and the watcher's (higher, so a loop spinning at
    /// real-time priority cannot starve the one thread that can switch its heaters off).
    static let loopPriority: Int32 = 80
    static let watcherPriority: Int32 = 90

    private init(control: ControlLoop, clock: RigClock) {
        self.control = control
        self.clock = clock
    }

    /// The twin: the director runs the loop.
    static func onTwin(_ control: ControlLoop) -> LoopDriver {
        LoopDriver(control: control, clock: control.clock)
    }

    /// Hardware: the loop starts in its real-time thread now, watched by the dead-man switch.
    static func onHardware(_ control: ControlLoop, deadMan: DeadManSwitch) throws(RigError) -> LoopDriver {
        let driver = LoopDriver(control: control, clock: control.clock)
        let watcherClock = MonotonicClock()
        let port = control.port
        do {
            let watcher = try RealTimeThread.start(priority: watcherPriority, lockMemory: true) { flag in
                do {
                    try deadMan.watch(clock: watcherClock) { flag.isRequested }
                } catch {
                    // The watcher cannot sleep: nothing would switch the heaters off if the loop
                    // stalled, so the loop stops too (ending in its safe state).
                    port.requestStop()
                }
            }
            driver.watcherThread = watcher
            driver.warnings += watcher.warnings.map { "dead-man watcher: \($0)" }
            let box = ControlLoopBox(control)
            let loop = try RealTimeThread.start(priority: loopPriority, lockMemory: true) { flag in
                box.control.runUntilStopped { flag.isRequested }
            }
            driver.loopThread = loop
            driver.warnings += loop.warnings.map { "control loop: \($0)" }
        } catch {
            driver.finish()
            throw RigError(part: "control loop", action: "start its thread", underlying: error)
        }
        return driver
    }

    /// Lets the loop run until `deadline` on its clock.
    func advance(until deadline: MonotonicInstant) throws(RigError) {
        if loopThread == nil {
            do {
                try control.run(until: deadline, safeStateOnExit: false)
            } catch {
                throw RigError(part: "clock", action: "run the control loop", underlying: error)
            }
        } else {
            do { try clock.sleep(until: deadline) } catch {
                throw RigError(part: "clock", action: "wait for the control loop", underlying: error)
            }
            if let failure = control.port.failure {
                throw RigError(part: "control loop", action: "run", underlying: failure)
            }
        }
    }

    /// Stops the threads (hardware) and writes every heater off.
    func finish() {
        var problems: [String] = []
        if let loopThread {
            do { try loopThread.stop() } catch { problems.append("control loop thread: \(error)") }
        }
        if let watcherThread {
            do { try watcherThread.stop() } catch { problems.append("dead-man watcher thread: \(error)") }
        }
        loopThread = nil
        watcherThread = nil
        warnings += problems
        control.enterSafeState(at: clock.now())
    }
}

/// Hands the control loop to its thread. The loop is used by that thread only while it runs; the
/// director touches only its `port` (which is built for both sides) until the thread is joined.
private final class ControlLoopBox: @unchecked Sendable {
    let control: ControlLoop
    init(_ control: ControlLoop) { self.control = control }
}
