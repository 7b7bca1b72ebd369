import Campaign
import Config
import Control
import Foundation
import Testing
import Twin
@testable import Rig

/// Whole campaigns on the twin, as `aliquot run` runs them: the sequencer, the runner, the rig's
/// drivers over the byte-level simulators, the chemistry, the real spectrum fitting, the results
/// folder. Checked against the published data and, for the fault runs, the twin's own lines and
/// simulators.
@Suite(.serialized)
struct CampaignTwinTests {
    /// Two grid points of the published training set (each run once there, every time fitted).
    static let gridPoints: [(name: String, celsius: Double, cadmium: Double, selenium: Double, ratio: Double)] = [
        ("grid-240C-Cd10-Se10-OA10", 240, 10, 10, 10),
        ("grid-270C-Cd20-Se20-OA20", 270, 20, 20, 20),
    ]

    @Test func aTwoExperimentCampaignReproducesThePublishedPeaks() throws {
        let campaign = try TwinCampaign(
            campaignText: TwinCampaign.campaignText(name: "two-grid-points", experiments: Self.gridPoints))
        let summary = try campaign.run()
        #expect(campaign.finish().isEmpty)
        #expect(summary.stopReason == nil)
        #expect(summary.entries.count == 2)
        for entry in summary.entries {
            #expect(entry.outcome == .completed, "\(entry.experiment.name): \(entry.outcome)")
            #expect(entry.aliquots == 20)
        }
        // 20 aliquots of ~1 h each of reactor time (heat, settle, sample 600 s, cool, clean).
        #expect(summary.virtualSeconds > 2 * 600)

        let uv = try campaign.rows("uv.csv")
        let pl = try campaign.rows("pl.csv")
        for (number, point) in zip(1..., Self.gridPoints) {
            let rows = uv.filter { Int($0[0]) == number }
            #expect(rows.count == 20, "\(point.name): \(rows.count) absorbance rows")
            #expect(pl.filter { Int($0[0]) == number }.count == 20, "\(point.name): photoluminescence rows")
            var errors: [Double] = []
            for row in rows {
                // The row's conditions are the experiment's (the published schema's columns).
                #expect(Double(row[2]) == point.cadmium && Double(row[3]) == point.selenium)
                #expect(Double(row[4]) == point.ratio && Double(row[5]) == point.celsius)
                let seconds = try #require(Double(row[6]))
                let measured = try #require(Double(row[10]))
                let published = try #require(
                    try PublishedAbsorbance.peakElectronvolts(
                        celsius: point.celsius, cadmium: point.cadmium, selenium: point.selenium, ratio: point.ratio,
                        seconds: seconds), "\(point.name): no published peak near t = \(seconds) s")
                errors.append(measured - published)
            }
            let mae = errors.map(abs).reduce(0, +) / Double(max(1, errors.count)) * 1000
            let bias = errors.reduce(0, +) / Double(max(1, errors.count)) * 1000
            print("\(point.name): absorbance peak vs published over \(errors.count) aliquots: MAE \(mae) meV, bias \(bias) meV, worst \(errors.map { abs($0) * 1000 }.max() ?? .nan) meV")
            // The published reproducibility is ~2 meV; the twin is calibrated to within a few.
            #expect(mae <= 5, "\(point.name): MAE \(mae) meV")
        }
        // The runner left the rig safe at the end.
        #expect(campaign.safeStateViolations().isEmpty)
    }

    /// A fault injected into the twin at a chosen moment of the first of two experiments.
    enum Fault: String, CaseIterable, CustomTestStringConvertible {
        case heaterWeldedOnWhileSampling
        case reactorThermocoupleOpenWhileSampling
        case absorbanceSpectrometerUnpluggedBetweenAliquots
        case odePumpStallsWhileLoading
        case cadmiumPumpStallsWhileLoading

        var testDescription: String { rawValue }

        /// Whether the campaign may go on with the second experiment (once the operator has
        /// repaired what a person repairs: the cable, the stalled motor).
        var campaignGoesOn: Bool {
            switch self {
            case .heaterWeldedOnWhileSampling, .reactorThermocoupleOpenWhileSampling: false
            default: true
            }
        }
    }

    @Test(arguments: Fault.allCases)
    func aFaultFailsTheExperimentSafelyAndTheCampaignGoesOnWhereSafe(fault: Fault) throws {
        let campaign = try TwinCampaign(
            campaignText: TwinCampaign.campaignText(
                name: "fault-\(fault.rawValue)", experiments: Self.gridPoints,
                sampleTimes: [10, 20, 30, 40, 50, 60, 80, 100]))
        let twin = campaign.twin
        var injected = false
        var repaired = false
        var safeAfterFailure: [String]?
        campaign.onExperimentEnded = { [unowned campaign] experiment, outcome in
            // The moment the failed experiment's end is recorded: its safe state was just entered
            // (the head space was vented this instant: its pressure is checked at the end).
            if experiment.number == 1, case .failed = outcome {
                safeAfterFailure = campaign.safeStateViolations(ventedAlready: false)
            }
        }
        var sawFailure = false
        if fault == .odePumpStallsWhileLoading {
            // The ODE load is several hundred µL: the motor stalls 100 µL into it.
            try #require(twin.reactor.chemyxPumps["ode"]).stallAfter(microlitres: 100)
            injected = true
        }
        if fault == .cadmiumPumpStallsWhileLoading {
            // 40 µL of Cd stock at 10 mM: the motor stalls 15 µL into it.
            try #require(twin.reactor.harvardPumps["cd"]).stallAfter(microlitres: 15)
            injected = true
        }
        let summary = try campaign.run { progress in
            if progress.position == 1 && progress.phase == .sampling && progress.aliquotsTaken >= 3 && !injected {
                injected = true
                switch fault {
                case .heaterWeldedOnWhileSampling:
                    try? twin.setHeaterFault(.ssrWeldedOn, heater: "reactor")
                case .reactorThermocoupleOpenWhileSampling:
                    twin.converters["reactor"]?.thermocouple = .open
                case .absorbanceSpectrometerUnpluggedBetweenAliquots:
                    if let spectrometer = twin.spectrometerSimulators[.absorbance] { twin.usbBus.unplug(spectrometer) }
                default:
                    break
                }
            }
            if progress.position == 1 && progress.phase == .failed { sawFailure = true }
            // The operator's repair before the next experiment loads.
            if progress.position == 2 && !repaired {
                repaired = true
                switch fault {
                case .absorbanceSpectrometerUnpluggedBetweenAliquots:
                    if let spectrometer = twin.spectrometerSimulators[.absorbance] { twin.usbBus.plug(spectrometer) }
                case .odePumpStallsWhileLoading:
                    twin.reactor.chemyxPumps["ode"]?.stallAfter(microlitres: nil)
                case .cadmiumPumpStallsWhileLoading:
                    twin.reactor.harvardPumps["cd"]?.stallAfter(microlitres: nil)
                    twin.reactor.harvardPumps["cd"]?.clearStallAtKeypad()
                default:
                    break
                }
            }
        }
        let endViolations = campaign.safeStateViolations()
        let events = try campaign.eventLines()
        let experimentsFile = try campaign.rows("experiments.csv")
        #expect(campaign.finish().isEmpty)
        print("\(fault): \(summary.entries.map { "\($0.experiment.number) \($0.outcome)" }); stop: \(summary.stopReason ?? "-")")
        for line in events where line.contains(",fault,") || line.contains(",safetyTrip,") { print("  \(line)") }

        #expect(injected)
        let first = try #require(summary.entries.first)
        guard case .failed(let reason) = first.outcome else {
            Issue.record("\(fault): the first experiment ended \(first.outcome)")
            return
        }
        #expect(sawFailure)
        #expect(experimentsFile.first?[6] == "failed")
        // The reason names what broke.
        let named: [String] = switch fault {
        case .heaterWeldedOnWhileSampling: ["reactor", "heater stuck on"]
        case .reactorThermocoupleOpenWhileSampling: ["reactor", "thermocouple fault"]
        case .absorbanceSpectrometerUnpluggedBetweenAliquots: ["spectrometer.abs", "not connected"]
        case .odePumpStallsWhileLoading: ["pump ode", "stalled in loading"]
        case .cadmiumPumpStallsWhileLoading: ["pump cd", "stalled in loading"]
        }
        #expect(named.allSatisfy { reason.contains($0) }, "\(fault): reason \(reason)")
        // The fault is journaled in events.csv against experiment 1.
        #expect(
            events.contains { line in
                line.split(separator: ",", maxSplits: 3).dropFirst().first == "1"
                    && (line.contains(",fault,") || line.contains(",safetyTrip,")) && named.allSatisfy { line.contains($0) }
            }, "\(fault): no fault event in events.csv")
        // Safe the moment the experiment failed, and at the end.
        #expect(safeAfterFailure == [], "\(fault): after the failure: \(safeAfterFailure ?? ["never checked"])")
        #expect(endViolations.isEmpty, "\(fault): at the end: \(endViolations)")

        if fault.campaignGoesOn {
            #expect(summary.stopReason == nil, "\(fault): stopped: \(summary.stopReason ?? "")")
            #expect(summary.entries.count == 2)
            #expect(summary.entries.last?.outcome == .completed, "\(fault): \(summary.entries.last?.outcome as Any)")
            #expect(summary.entries.last?.aliquots == 8)
        } else {
            #expect(summary.entries.count == 1, "\(fault): went on to \(summary.entries.count) experiments")
            #expect(summary.stopReason != nil)
        }
        if fault == .reactorThermocoupleOpenWhileSampling {
            // The converter reports the open probe (MCP9600 status bit 4, the hot junction pinned at
            // the top of its range) and the supervisor trips on it.
            #expect(summary.safetyTrips.contains { $0.check == .sensorFault && $0.loop == "reactor" })
        }
        if fault == .heaterWeldedOnWhileSampling {
            // A heater that cannot be switched off: an operator must look before anything runs.
            #expect(summary.safetyTrips.contains { $0.check == .heaterStuckOn })
            #expect(summary.stopReason?.contains("not safe to go on") == true)
            // The SSR is still welded: the element heats whatever the line says; the line is off.
            let state = try twin.state(ofHeater: "reactor")
            #expect(state.heaterFault == .ssrWeldedOn)
        }
    }
}
