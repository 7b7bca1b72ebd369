import Config
import Control
import Devices
import Glibc
import MallocInterposerSwift
import Rig
import Synchronization
import Testing
import Transports
import Twin

/// Proves the control tick allocates nothing: the whole twin rig (byte-level MCP9600 simulators
/// behind the real driver, simulated lines, the thermal plant) under the real `ControlLoop`, with
/// `HeatLoop`s, PID, safety supervisor and the handoffs, for 10 000 ticks after a warm-up.
///
/// The counter: malloc-interposer, linked into the test binary (its `malloc`/`free` come before
/// libc's in the symbol lookup, so no `LD_PRELOAD` is needed; the first test proves it sees a
/// deliberate allocation, so the zero cannot be vacuous). Swift Testing runs other suites on other
/// threads meanwhile, and the interposer's totals are process-wide, so the count asserted is the
/// allocations made on the measuring thread only: an allocation hook compares `pthread_self()`
/// with the thread being measured.
@Suite("Zero heap allocations per control tick", .serialized)
struct ControlTickAllocationTests {
    @Test("the counter sees a deliberate allocation on this thread (the zero below is not vacuous)")
    func counterSeesAllocations() {
        let counted = countAllocationsOnThisThread {
            blackHole(makeArray(count: 1_000))
            blackHole(makeArray(count: 3))
        }
        #expect(counted.onThread >= 2, "malloc-interposer is not interposing malloc in this test binary")
        #expect(counted.process >= counted.onThread)
    }

    @Test("10 000 control ticks of the twin rig (2 heat loops) allocate nothing")
    func controlTicksAllocateNothing() throws {
        let setup = try TwinControlSetup()
        let loop = setup.control
        let port = loop.port
        port.send(.setSetpoint(loop: 0, celsius: 200))
        port.send(.setSetpoint(loop: 1, celsius: 70))
        // Warm-up: 300 s of virtual time; the loops reach their setpoints, and every path runs
        // once (first window, edge wakeups, an injection window opening and closing, the
        // handoffs' storage), so one-time runtime work is done before counting.
        try loop.run(forSeconds: 200, safeStateOnExit: false)
        port.send(.announceInjection(loop: 0, feedForward: 0.2, seconds: 10))
        try loop.run(forSeconds: 100, safeStateOnExit: false)
        _ = port.takeEvents()
        let before = port.statistics
        let reactorLine = try #require(setup.twin.lines["heater.reactor"])
        let switchesBefore = reactorLine.transitions
        // Queued now, applied by the first measured tick: an injection opens (and 30 s later
        // closes) the supervisor's window inside the measured run.
        port.send(.announceInjection(loop: 0, feedForward: 0.2, seconds: 10))

        var failure: ClockError?
        let counted = countAllocationsOnThisThread {
            do throws(ClockError) {
                try loop.run(forSeconds: 1_000, safeStateOnExit: false)
            } catch {
                failure = error
            }
        }
        #expect(failure == nil)
        let after = port.statistics
        #expect(after.ticks - before.ticks == 10_000)
        #expect(counted.onThread == 0, "allocations on the control thread over 10 000 ticks")

        // The measured ticks did the real work: the heater switched, the loops held their
        // setpoints with no trip, and the injection window opened and closed.
        #expect(reactorLine.transitions - switchesBefore >= 1_000)
        let reactor = port.snapshot(0)
        let syringe = port.snapshot(1)
        #expect(reactor.trip == nil && syringe.trip == nil)
        #expect(abs(try #require(reactor.celsius) - 200) < 5)
        #expect(abs(try #require(syringe.celsius) - 70) < 5)
        let events = port.takeEvents()
        #expect(events.contains { if case .safety(.injectionWindowOpened) = $0 { true } else { false } })
        #expect(events.contains { if case .safety(.injectionWindowClosed) = $0 { true } else { false } })
        #expect(after.droppedEvents == 0)
    }
}

/// The twin rig of Boards/sim.toml and its control loop, as the composition root builds them for
/// `aliquot heat`: each heater's loop reads the thermocouple its board entry names, with the
/// board's safety limits and period, and gains of the kind `aliquot tune` finds on the twin.
struct TwinControlSetup {
    let rig: Rig
    let twin: TwinTransportFactory
    let control: ControlLoop

    static let gains = [
        "reactor": PIDGains(kp: 0.092, ki: 0.0021, kd: 0.29, derivativeFilterSeconds: 0.63),
        "syringe": PIDGains(kp: 0.66, ki: 0.0153, kd: 2.06, derivativeFilterSeconds: 0.62),
    ]

    init() throws {
        let board = try BoardFile.load(path: packageRoot + "/Boards/sim.toml")
        twin = try TwinTransportFactory(board: board)
        rig = try Rig(board: board, transports: twin)
        let loops = try rig.makeHeatLoops { (heater) throws(RigError) in
            guard let gains = Self.gains[heater.name] else {
                throw RigError(part: "heater.\(heater.name)", action: "test", detail: "no gains")
            }
            return gains
        }
        control = rig.makeControlLoop(loops)
    }
}

/// The package root, three folders above this file (Tests/AllocationTests/<this file>).
let packageRoot: String = {
    var parts = String(#filePath).split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/")
}()

// MARK: - Counting allocations of one thread

/// The thread being measured (`pthread_t` is an integer on Linux) and its count. Globals, so the
/// C allocation hook can reach them; touched before the hook is installed so their lazy
/// initialization does not happen inside `malloc`.
private let measuredThread = Atomic<UInt>(0)
private let allocationsOnMeasuredThread = Atomic<Int>(0)

/// Runs `body` with malloc-interposer counting; returns the allocations made on the calling
/// thread, and in the whole process (other tests' threads included).
func countAllocationsOnThisThread(_ body: () -> Void) -> (onThread: Int, process: Int) {
    measuredThread.store(UInt(pthread_self()), ordering: .relaxed)
    allocationsOnMeasuredThread.store(0, ordering: .relaxed)
    MallocInterposerSwift.setAllocationHook { _ in
        if UInt(pthread_self()) == measuredThread.load(ordering: .relaxed) {
            allocationsOnMeasuredThread.add(1, ordering: .relaxed)
        }
    }
    MallocInterposerSwift.initialize()
    MallocInterposerSwift.hook()
    body()
    MallocInterposerSwift.unhook()
    MallocInterposerSwift.setAllocationHook(nil)
    let process = MallocInterposerSwift.getStatistics().mallocCount
    return (allocationsOnMeasuredThread.load(ordering: .relaxed), process)
}

@inline(never)
func makeArray(count: Int) -> [Int] {
    [Int](repeating: count, count: count)
}

@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}
