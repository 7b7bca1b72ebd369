import Config
import Glibc
import Journal
import Rig
import Transports
import Twin

/// The twin's plant in wall-clock time, behind one lock: the thermal plant, the reactor's
/// contents and chemistry, the pumps, the spectrometers' optics, and a head space pressurized and
/// vented through two solenoids. The gadgets and the i2c-stub feeder reach it only through
/// `withPlant`, which first brings the twin's virtual clock up to the monotonic time elapsed since
/// the start, so every simulator sees the same "now" the controller's drivers live in.
///
/// Built from two board files: `twin` (a twin board: the plant's parameters) and `board` (the
/// controller's board, naming the kernel devices): outputs, the pressure sensor and the solenoids
/// are taken from `board`, by the same names the twin uses.
public final class KernelTwinPlant: @unchecked Sendable {
    public let twin: TwinTransportFactory
    public let board: BoardFile
    /// The lines the bridge's GPIO pins drive, by output id (`heater.reactor`), with their pin.
    public private(set) var outputs: [(id: String, pin: Int, activeHigh: Bool, line: SimulatedOutputLine)] = []
    /// The parts behind the USB-I2C bridge (the head-space pressure sensor).
    public let bridgeBus: SimulatedI2CBus
    public private(set) var headspace: ReactorHeadspace
    public private(set) var drains = 0
    /// Sampling valve openings so far, and who wants to hear of each (inside the plant's lock).
    public private(set) var samplePulses = 0
    public var onSamplePulse: ((Int) -> Void)?
    /// What the plant could not do (kept for the gadget's log, never dropped).
    public private(set) var problems: [String] = []

    private let lock = ConditionLock()
    private let start: Int64
    private var rinseStarted = false
    private var drainedForThisRinse = true
    private let pressurizeValve: String?
    private let ventValve: String?

    public init(twinBoard: BoardFile, board: BoardFile) throws(KernelTwinError) {
        do {
            twin = try TwinTransportFactory(board: twinBoard)
        } catch {
            throw KernelTwinError(part: twinBoard.path, action: "build the twin", detail: error.description)
        }
        self.board = board
        start = Self.monotonicNanoseconds()
        bridgeBus = SimulatedI2CBus(name: "twin:cp2112")
        let capacity = 3000.0
        headspace = ReactorHeadspace(
            reactorMicrolitres: capacity, liquidMicrolitres: 0, supplyMbar: 1000,
            pressurizeConductance: 2.0, ventConductance: 5.0, leakConductance: 0.002)
        pressurizeValve = board.pressure?.pressurizeValve
        ventValve = board.pressure?.ventValve

        if let sensor = board.pressure?.sensor {
            let simulator = HoneywellABPSimulator(rangeMbar: sensor.minMbar...sensor.maxMbar) { [unowned self] in
                headspace.gaugeMbar
            }
            bridgeBus.attach(simulator, at: sensor.address)
        }
        for output in board.outputs {
            let line: SimulatedOutputLine
            do {
                guard let made = try twin.makeOutputLine(output, offLevel: !output.line.activeHigh) as? SimulatedOutputLine else {
                    throw KernelTwinError(part: output.id, action: "wire", detail: "the twin made no simulated line")
                }
                line = made
            } catch let error as KernelTwinError {
                throw error
            } catch {
                throw KernelTwinError(part: output.id, action: "wire to the twin", detail: "\(error)")
            }
            if output.id == "valve.\(pressurizeValve ?? "")" || output.id == "valve.\(ventValve ?? "")" {
                let pressurize = output.id == "valve.\(pressurizeValve ?? "")"
                let activeHigh = output.line.activeHigh
                line.onChange = { [unowned self] level in
                    if pressurize {
                        headspace.pressurizeOpen = level == activeHigh
                    } else {
                        headspace.ventOpen = level == activeHigh
                    }
                }
            }
            if output.id == "valve.\(board.sampling?.valve ?? "sample")" {
                let sampling = line.onChange
                let activeHigh = output.line.activeHigh
                line.onChange = { [unowned self] level in
                    sampling?(level)
                    if level == activeHigh {
                        samplePulses += 1
                        onSamplePulse?(samplePulses)
                    }
                }
            }
            outputs.append((output.id, output.line.offset, output.line.activeHigh, line))
        }
        // The rinse solvent only flows once the reactor has been emptied to waste: the twin's drain.
        for pump in board.pumps where pump.reagent == .solvent {
            if let simulator = twin.reactor.harvardPumps[pump.name] {
                let delivered = simulator.onDelivered
                simulator.onDelivered = { [unowned self] microlitres in
                    delivered(microlitres)
                    if microlitres > 0 { rinseStarted = true }
                }
            }
        }
        for pump in board.pumps where pump.reagent != .solvent {
            if let simulator = twin.reactor.harvardPumps[pump.name] {
                let delivered = simulator.onDelivered
                simulator.onDelivered = { [unowned self] microlitres in
                    delivered(microlitres)
                    if microlitres > 0 { drainedForThisRinse = false }
                }
            }
            if let simulator = twin.reactor.chemyxPumps[pump.name] {
                let delivered = simulator.onDelivered
                simulator.onDelivered = { [unowned self] microlitres in
                    delivered(microlitres)
                    if microlitres > 0 { drainedForThisRinse = false }
                }
            }
        }
    }

    /// Seconds since the plant started (CLOCK_MONOTONIC).
    public var wallSeconds: Double { Double(Self.monotonicNanoseconds() - start) / 1e9 }

    /// Runs `body` with the plant brought up to now, holding the plant's lock.
    public func withPlant<Result>(_ body: (TwinTransportFactory) throws -> Result) rethrows -> Result {
        try lock.withLock {
            advanceLocked()
            return try body(twin)
        }
    }

    /// Moves every part to now: head space, plungers, chemistry, sampling line; drains the reactor
    /// when a rinse starts after anything was loaded.
    private func advanceLocked() {
        let now = wallSeconds
        let elapsed = now - twin.nowSeconds
        if elapsed > 0 {
            headspace.advance(seconds: elapsed)
            twin.virtualClock.advance(seconds: elapsed)
        }
        twin.reactor.step(to: twin.nowSeconds)
        if rinseStarted {
            rinseStarted = false
            if !drainedForThisRinse {
                twin.reactor.drain()
                drains += 1
                drainedForThisRinse = true
            }
        }
        let liquid = min(twin.reactor.contents.volumeMicrolitres, headspace.reactorMicrolitres * 0.9)
        if liquid > headspace.liquidMicrolitres {
            headspace.addLiquid(microlitres: liquid - headspace.liquidMicrolitres)
        } else if liquid < headspace.liquidMicrolitres {
            headspace.removeLiquid(microlitres: headspace.liquidMicrolitres - liquid)
        }
        // The sampling line discharges the head space's pressure.
        let range = twin.reactor.pressure.allowedRange
        let gauge = min(max(headspace.gaugeMbar, range.lowerBound), range.upperBound)
        do { try twin.reactor.pressure.setPressure(mbar: gauge) } catch { problems.append("head-space pressure: \(error)") }
    }

    /// Drives the output lines from the bridge's pin levels (bit n = pin n). Called inside
    /// `withPlant`, so the plant is at now when a heater or valve switches.
    public func driveLocked(pinLevels: UInt8) {
        for output in outputs where output.pin < 8 {
            let high = pinLevels & (1 << UInt8(output.pin)) != 0
            if output.line.isHigh != high {
                do { try output.line.set(high: high) } catch { problems.append("\(output.id): \(error)") }
            }
        }
    }

    static func monotonicNanoseconds() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
