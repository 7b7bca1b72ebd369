import Control
import Foundation
import Spectra
import Transports

@testable import Campaign

/// A simple plant for the runner's tests: first-order heaters, pumps that deliver at their rate,
/// a valve that opens 0.5 ms late and 0.2 ms long, spectra whose peak moves 0.1 nm per second of
/// growth (500 nm at the injection), all on a virtual clock. Every command is logged in order.
final class FakeCampaignHardware: CampaignHardware {
    var nanoseconds: Int64 = 1_000_000_000_000  // an arbitrary origin, far from zero
    var temperatures: [CampaignHeater: Double] = [.reactor: 25, .syringe: 25]
    var setpoints: [CampaignHeater: Double] = [:]
    /// The hottest the reactor heater can get (a weak heater never settles at 240 °C).
    var reactorLimitCelsius = 400.0
    let ambient = 25.0
    /// Time constant of both heaters, s.
    let tau = 30.0
    var log: [String] = []
    var injectedAtNanoseconds: Int64?

    struct Pump {
        var microlitres: Double
        var rate: Double
        var startedAt: Int64
    }
    var pumps: [String: Pump] = [:]
    /// A pump that stalls half way through its next delivery.
    var stallingReagent: String?
    /// Acquisitions that throw (an unplugged spectrometer), by the count of acquisitions before them.
    var failingAcquisitions: Set<Int> = []
    var acquisitions = 0
    /// Trips that latch when the clock passes these instants (s since the start of the test).
    var scheduledTrips: [(seconds: Double, trip: SafetyTrip)] = []
    var newTrips: [SafetyTrip] = []
    /// Trips that a clear cannot remove.
    var stuckTrips: [SafetyTrip] = []
    /// Called on every advance with the seconds since the origin (to set the abort flag, say).
    var onAdvance: (Double) -> Void = { _ in }
    let origin: Int64

    init() { origin = nanoseconds }

    var testSeconds: Double { Double(nanoseconds - origin) / 1e9 }

    func now() -> MonotonicInstant { MonotonicInstant(nanoseconds: nanoseconds) }

    func advance(until deadline: MonotonicInstant) throws(CampaignHardwareError) {
        guard deadline.nanoseconds > nanoseconds else { return }
        let dt = Double(deadline.nanoseconds - nanoseconds) / 1e9
        for heater in CampaignHeater.allCases {
            var target = setpoints[heater] ?? ambient
            if heater == .reactor { target = min(target, reactorLimitCelsius) }
            let current = temperatures[heater]!
            temperatures[heater] = target + (current - target) * exp(-dt / tau)
        }
        nanoseconds = deadline.nanoseconds
        for scheduled in scheduledTrips where scheduled.seconds <= testSeconds { newTrips.append(scheduled.trip) }
        scheduledTrips.removeAll { $0.seconds <= testSeconds }
        onAdvance(testSeconds)
    }

    /// An open thermocouple: the reactor gives no reading.
    var reactorReadingFails = false

    func celsius(of heater: CampaignHeater) -> Double? {
        heater == .reactor && reactorReadingFails ? nil : temperatures[heater]
    }

    func ambientCelsius() -> Double { ambient }

    func setSetpoint(_ celsius: Double?, of heater: CampaignHeater) throws(CampaignHardwareError) {
        setpoints[heater] = celsius
        log.append("setpoint \(heater.rawValue) \(celsius.map { "\($0)" } ?? "off")")
    }

    func announceInjection(_ feedForward: HeatSequence.Injection) throws(CampaignHardwareError) {
        log.append("feed-forward \(feedForward.feedForwardDuty)")
    }

    func startPump(reagent: String, microlitres: Double, rateMicrolitresPerMinute: Double) throws(CampaignHardwareError) {
        pumps[reagent] = Pump(microlitres: microlitres, rate: rateMicrolitresPerMinute, startedAt: nanoseconds)
        if reagent == "se_stock" { injectedAtNanoseconds = nanoseconds }
        log.append("pump \(reagent) \(microlitres)")
    }

    func pumpProgress(reagent: String) throws(CampaignHardwareError) -> PumpProgress {
        guard let pump = pumps[reagent] else {
            throw CampaignHardwareError(part: "pump.\(reagent)", action: "poll", detail: "never started")
        }
        let delivered = min(pump.microlitres, pump.rate * Double(nanoseconds - pump.startedAt) / 1e9 / 60)
        if reagent == stallingReagent && delivered >= pump.microlitres / 2 {
            stallingReagent = nil
            pumps[reagent] = nil
            log.append("stall \(reagent)")
            return .stalled(deliveredMicrolitres: pump.microlitres / 2, detail: "stall prompt *")
        }
        return delivered >= pump.microlitres ? .done(deliveredMicrolitres: delivered) : .running(deliveredMicrolitres: delivered)
    }

    func stopPumps() throws(CampaignHardwareError) {
        pumps = [:]
        log.append("stop pumps")
    }

    func pressurize(millibar: Double) throws(CampaignHardwareError) { log.append("pressurize \(millibar)") }

    func vent() throws(CampaignHardwareError) { log.append("vent") }

    func pulseSamplingValve(at deadline: MonotonicInstant, milliseconds: Double) throws(CampaignHardwareError)
        -> ValvePulseResult
    {
        try advance(until: deadline)
        let opened = MonotonicInstant(nanoseconds: max(deadline.nanoseconds, nanoseconds) + 500_000)
        try advance(until: opened.adding(seconds: (milliseconds + 0.2) / 1000))
        let growth = injectedAtNanoseconds.map { Double(opened.nanoseconds - $0) / 1e9 } ?? 0
        log.append("pulse t=\(String(format: "%.4f", growth)) \(milliseconds)")
        inFlight.append(growth)
        return ValvePulseResult(openedAt: opened, openMilliseconds: milliseconds + 0.2, withdrawnMicrolitres: 0.4 * (milliseconds + 0.2))
    }

    /// The growth time of each aliquot on its way to the flow cells, oldest first.
    var inFlight: [Double] = []

    /// The fake chemistry: 500 nm at the injection, 0.1 nm more per second of growth.
    static func peakNanometres(growthSeconds: Double) -> Double { 500 + 0.1 * growthSeconds }

    static func measurement(_ kind: SpectrumKind, nanometres: Double) -> AliquotMeasurement {
        let ev = 1239.84193 / nanometres
        let peak = PeakParameters(
            peakNanometres: nanometres, fwhmNanometres: 30, peakElectronvolts: ev, fwhmElectronvolts: 0.14, height: 0.2,
            residual: 0.001, peakUncertaintyNanometres: 0.1, iterations: 6)
        return AliquotMeasurement(
            fit: .ok(kind, peak), rawCounts: [1, 2, 3], processed: [0.1, 0.2, 0.1], wavelengthsNanometres: [490, 500, 510])
    }

    func acquireAliquot() throws(CampaignHardwareError) -> AcquiredAliquot {
        defer { acquisitions += 1 }
        let growth = inFlight.isEmpty ? 0 : inFlight.removeFirst()
        if failingAcquisitions.contains(acquisitions) {
            log.append("acquire failed")
            throw CampaignHardwareError(part: "spectrometer.absorbance", action: "acquire", detail: "LIBUSB_ERROR_NO_DEVICE (-4)")
        }
        log.append("acquire")
        let nm = Self.peakNanometres(growthSeconds: growth)
        return AcquiredAliquot(
            absorbance: Self.measurement(.absorbance, nanometres: nm),
            photoluminescence: Self.measurement(.emission, nanometres: nm + 20))
    }

    func drainReactor() throws(CampaignHardwareError) {
        try advance(until: now().adding(seconds: 30))
        inFlight = []
        log.append("drain")
    }

    func takeSafetyTrips() -> [SafetyTrip] {
        defer { newTrips = [] }
        return newTrips
    }

    func clearSafetyTrips() throws(CampaignHardwareError) -> [SafetyTrip] {
        log.append("clear trips")
        return stuckTrips
    }

    func enterSafeState(reason: String) -> [String] {
        setpoints = [:]
        pumps = [:]
        inFlight = []
        log.append("safe state: \(reason)")
        return []
    }

    /// The log without the lines of `prefixes`.
    func log(dropping prefixes: [String]) -> [String] {
        log.filter { line in !prefixes.contains { line.hasPrefix($0) } }
    }
}

/// A recorder that keeps everything in memory.
final class MemoryRecorder: CampaignRecorder {
    var started: [PlannedExperiment] = []
    var aliquots: [AliquotRecord] = []
    var events: [CampaignEvent] = []
    var ended: [(PlannedExperiment, ExperimentOutcome)] = []
    var campaignEnded: (virtual: Double, wall: Double)?
    var failOnAliquot: Int?

    struct Refused: Error, CustomStringConvertible {
        var description: String { "disk full (ENOSPC)" }
    }

    func campaignStarted(name: String, experiments: [PlannedExperiment]) throws {}
    func experimentStarted(_ experiment: PlannedExperiment) throws { started.append(experiment) }
    func aliquot(_ record: AliquotRecord) throws {
        if record.index == failOnAliquot { throw Refused() }
        aliquots.append(record)
    }
    func event(_ event: CampaignEvent) throws { events.append(event) }
    func experimentEnded(_ experiment: PlannedExperiment, outcome: ExperimentOutcome) throws {
        ended.append((experiment, outcome))
    }
    func campaignEnded(virtualSeconds: Double, wallSeconds: Double) throws { campaignEnded = (virtualSeconds, wallSeconds) }
}

/// A predictor with a fixed answer per growth time: 500 nm + 0.1 nm/s like the fake chemistry,
/// except at the times in `offBy` (eV added).
final class FakePredictor: AliquotPredicting {
    var offBy: [Double: Double] = [:]
    var calls = 0

    func predict(_ condition: SynthesisCondition, secondsAfterInjection: Double) -> AliquotPrediction {
        calls += 1
        let ev = 1239.84193 / FakeCampaignHardware.peakNanometres(growthSeconds: secondsAfterInjection)
        return AliquotPrediction(
            peakElectronvolts: ev + (offBy[secondsAfterInjection] ?? 0), peakSpreadElectronvolts: 0.01,
            fwhmElectronvolts: 0.14, fwhmSpreadElectronvolts: 0.01)
    }
}

/// A wall clock that only moves when told.
final class StillClock: RigClock {
    var instant = MonotonicInstant(nanoseconds: 5_000_000_000)
    func now() -> MonotonicInstant { instant }
    func sleep(until deadline: MonotonicInstant) throws(ClockError) { instant = max(instant, deadline) }
}
