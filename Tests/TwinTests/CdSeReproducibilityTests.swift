import Foundation
import Testing
@testable import Twin

@Suite struct CdSeReproducibilityTests {
    /// Standard deviation of a sample.
    func deviation(_ values: [Double]) -> Double {
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count - 1)).squareRoot()
    }

    func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }

    /// The published spreads re-derived from uv_reproducibility.csv: each run's offset is the
    /// median of its deviations from the runs' median per aliquot; the run spread is their SD, the
    /// aliquot spread the robust (1.4826 MAD) spread of what is left.
    @Test func absorptionSpreadsAreThePublishedRuns() throws {
        let url = CdSePublishedData.dataFolder.appendingPathComponent("uv_reproducibility.csv")
        let text = try String(contentsOf: url, encoding: .utf8)
        // (T, run) -> slot -> eV
        var runs = [String: [Int: Double]]()
        for line in text.split(whereSeparator: \.isNewline).dropFirst() {
            let f = line.split(separator: ",").map { Double($0)! }
            runs["\(f[5]) \(f[0])", default: [:]][CdSePublishedData.slot(f[6])] = 1239.84193 / f[7]
        }
        #expect(runs.count == 30)
        var offsets = [Double]()
        var residuals = [Double]()
        for celsius in Set(runs.keys.map { $0.split(separator: " ")[0] }) {
            let group = runs.filter { $0.key.split(separator: " ")[0] == celsius }.map(\.value)
            var deviations = [[Int: Double]](repeating: [:], count: group.count)
            for slot in 0..<20 {
                let values = group.compactMap { $0[slot] }
                guard values.count >= 3 else { continue }
                let centre = median(values)
                for (index, run) in group.enumerated() { if let value = run[slot] { deviations[index][slot] = value - centre } }
            }
            for run in deviations {
                let offset = median(Array(run.values))
                offsets.append(offset * 1000)
                residuals += run.values.map { ($0 - offset) * 1000 }
            }
        }
        let runSpread = deviation(offsets)
        let aliquotSpread = 1.4826 * median(residuals.map { Swift.abs($0 - median(residuals)) })
        print(String(format: "uv_reproducibility.csv: run-to-run %.2f meV, per aliquot %.2f meV (robust)", runSpread, aliquotSpread))
        #expect(Swift.abs(CdSeReproducibility.Spread.publishedRunToRun.absorbancePeakMillielectronvolts - runSpread) < 0.1)
        #expect(Swift.abs(CdSeReproducibility.Spread.publishedPerAliquot.absorbancePeakMillielectronvolts - aliquotSpread) < 0.1)
    }

    /// Over many runs the drawn scatter has the configured spreads: run offsets shared by a run's
    /// aliquots, aliquot draws not.
    @Test func drawsHaveTheConfiguredSpreads() throws {
        let band = CdSeOutcome(
            exciton: ExcitonBand(peakNanometres: 500, fwhmNanometres: 30, height: 0.5),
            emission: EmissionBand(peakNanometres: 520, fwhmNanometres: 30, countsPerSecond: 1e5))
        let energy = 1239.84193 / 500
        var scatter = CdSeReproducibility(seed: 7)
        var runMeans = [Double]()
        var withinRun = [Double]()
        for _ in 0..<2000 {
            scatter.beginRun()
            let shifts = (0..<8).map { _ in (1239.84193 / (scatter.perturb(band).exciton!.peakNanometres) - energy) * 1000 }
            let mean = shifts.reduce(0, +) / 8
            runMeans.append(mean)
            withinRun += shifts.map { $0 - mean }
        }
        // Mean of 8 aliquots: run spread² + aliquot spread²/8; within a run: aliquot spread² · 7/8.
        let expectedRun = (1.8 * 1.8 + 0.6 * 0.6 / 8).squareRoot()
        let expectedWithin = 0.6 * (7.0 / 8).squareRoot()
        #expect(Swift.abs(deviation(runMeans) / expectedRun - 1) < 0.05)
        #expect(Swift.abs(deviation(withinRun) / expectedWithin - 1) < 0.05)
    }

    @Test func theSameSeedIsTheSameRun() {
        let band = CdSeOutcome(exciton: ExcitonBand(peakNanometres: 500, fwhmNanometres: 30, height: 0.5), emission: nil)
        var a = CdSeReproducibility(seed: 42)
        var b = CdSeReproducibility(seed: 42)
        var c = CdSeReproducibility(seed: 43)
        let first = a.perturb(band)
        #expect(first == b.perturb(band))
        #expect(first != c.perturb(band))
        #expect(a.perturb(.noSignal) == .noSignal)
        var none = CdSeReproducibility(seed: 1, runToRun: .none, perAliquot: .none)
        let unchanged = none.perturb(band)
        #expect(Swift.abs(unchanged.exciton!.peakNanometres - 500) < 1e-9)
        #expect(unchanged.exciton!.fwhmNanometres == 30 && unchanged.exciton!.height == 0.5)
    }
}
