// `make bench`, spectra: how fast the peak analysis runs on a 2048-pixel spectrum, and how accurate it
// is on seeded synthetic spectra with known truth on the rig's wavelength axes. Printed, never asserted
// (the accuracy bounds are asserted by SpectraTests on the same kind of study).
#if canImport(Glibc)
import Glibc
#endif
import Spectra

/// Prints the spectra benchmarks: throughput and per-spectrum p50/p99 of each analysis, then the
/// accuracy studies.
func runSpectraBenchmarks() {
    let uv: WavelengthAxis
    let pl: WavelengthAxis
    do {
        uv = try rigAxis("../shared/data/cdse/uv_wavelengths.csv")
        pl = try rigAxis("../shared/data/cdse/pl_wavelengths.csv")
    } catch {
        print("spectra benchmarks skipped: \(error)")
        return
    }
    do {
        try timeAnalyses(uv: uv, pl: pl)
    } catch {
        print("spectra timing failed: \(error)")
    }
    do {
        try printAccuracy(uv: uv, pl: pl)
    } catch {
        print("spectra accuracy failed: \(error)")
    }
}

private struct BenchFailure: Error, CustomStringConvertible {
    var description: String
}

/// The rig's axis (2028 values) extended at its red end, at the last spacing, to the spectrometer's
/// 2048 pixels.
private func rigAxis(_ path: String) throws -> WavelengthAxis {
    guard let file = fopen(path, "r") else {
        throw BenchFailure(description: "\(path): \(String(cString: strerror(errno))) (run from the package folder)")
    }
    defer { fclose(file) }
    var text = ""
    var buffer = [CChar](repeating: 0, count: 4096)
    while fgets(&buffer, Int32(buffer.count), file) != nil {
        text += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    var values: [Double] = []
    for field in text.split(whereSeparator: { $0 == "," || $0 == "\n" || $0 == "\r" }) {
        guard let value = Double(field.filter { $0 != " " }) else { throw BenchFailure(description: "\(path): '\(field)' is not a number") }
        values.append(value)
    }
    guard values.count >= 2 else { throw BenchFailure(description: "\(path): fewer than two wavelengths") }
    let step = values[values.count - 1] - values[values.count - 2]
    while values.count < 2048 { values.append(values[values.count - 1] + step) }
    return try WavelengthAxis(nanometres: values)
}

private func clockNanoseconds(_ clock: clockid_t = CLOCK_MONOTONIC) -> Int64 {
    var time = timespec()
    clock_gettime(clock, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

/// Spectra per second (one batch) and p50/p99 per spectrum (timed one by one) of `body(i)` over a
/// rotating set of prepared spectra.
private func timeSpectra(_ name: String, iterations: Int, _ body: (Int) -> Void) -> String {
    for i in 0..<200 { body(i) }  // warm up
    var samples = [Int64](repeating: 0, count: iterations)
    for i in 0..<iterations {
        let start = clockNanoseconds()
        body(i)
        samples[i] = clockNanoseconds() - start
    }
    let batchStart = clockNanoseconds()
    let cpuStart = clockNanoseconds(CLOCK_THREAD_CPUTIME_ID)
    for i in 0..<iterations { body(i) }
    let perSpectrum = Double(clockNanoseconds() - batchStart) / Double(iterations)
    let cpuPerSpectrum = Double(clockNanoseconds(CLOCK_THREAD_CPUTIME_ID) - cpuStart) / Double(iterations)
    samples.sort()
    let p50 = Double(samples[iterations / 2]) / 1000
    let p99 = Double(samples[min(iterations - 1, iterations * 99 / 100)]) / 1000
    return column(name, 46, left: true) + column(FitsTable.fixed(1e9 / perSpectrum, 0), 12)
        + column(FitsTable.fixed(p50, 1), 10) + column(FitsTable.fixed(p99, 1), 10) + column(FitsTable.fixed(cpuPerSpectrum / 1000, 1), 12)
}

private func column(_ text: String, _ width: Int, left: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return left ? text + padding : padding + text
}

private func timeAnalyses(uv: WavelengthAxis, pl: WavelengthAxis) throws {
    var generator = SeededGenerator(seed: 2024)
    let absorbanceAnalyzer = try SpectrumAnalyzer(axis: uv)
    let emissionAnalyzer = try SpectrumAnalyzer(axis: pl)
    var readings: [(sample: CountSpectrum, reference: CountSpectrum, dark: CountSpectrum)] = []
    var absorbances: [AbsorbanceSpectrum] = []
    var emissions: [CountSpectrum] = []
    for _ in 0..<64 {
        let reading = SyntheticAbsorbance.random(using: &generator).acquire(axis: uv, using: &generator)
        readings.append(reading)
        absorbances.append(AbsorbanceSpectrum(sample: reading.sample, reference: reading.reference, dark: reading.dark))
        emissions.append(SyntheticEmission.random(using: &generator).acquire(axis: pl, using: &generator))
    }
    var scratch = AbsorbanceSpectrum(count: uv.count)
    var okCount = 0
    print(column("spectra analysis (2048 pixels)", 46, left: true) + column("spectra/s", 12) + column("p50 µs", 10) + column("p99 µs", 10)
        + column("cpu µs", 12))
    print(timeSpectra("absorbance from sample, reference, dark", iterations: 20_000) { i in
        let reading = readings[i % readings.count]
        scratch.compute(sample: reading.sample, reference: reading.reference, dark: reading.dark)
    })
    print(timeSpectra("absorbance: first-exciton half-Gaussian fit", iterations: 20_000) { i in
        if absorbanceAnalyzer.analyzeAbsorbance(absorbances[i % absorbances.count]).status == .ok { okCount += 1 }
    })
    print(timeSpectra("PL: band-edge Gaussian + trap-band fit", iterations: 20_000) { i in
        if emissionAnalyzer.analyzeEmission(emissions[i % emissions.count]).status == .ok { okCount += 1 }
    })
    print("(64 different synthetic spectra of each kind in rotation; spectra/s from one batch of wall time; p50/p99")
    print(" timed one call at a time; cpu: this thread's CPU time per spectrum in the batch, which a busy machine")
    print(" does not inflate; \(okCount) fits ok)")
}

private func printAccuracy(uv: WavelengthAxis, pl: WavelengthAxis) throws {
    let absorbanceAnalyzer = try SpectrumAnalyzer(axis: uv)
    let emissionAnalyzer = try SpectrumAnalyzer(axis: pl)
    print("")
    print("spectra accuracy: seeded synthetic spectra with known truth, single-scan detector noise, rig's axes")
    print(column("study", 44, left: true) + column("fitted", 10) + column("peak med", 10) + column("p95", 7) + column("max", 7)
        + column("FWHM med", 10) + column("p95", 7) + column("no-peak given one", 19))
    func line(_ name: String, _ records: [AccuracyStudy.Record], _ kind: SpectrumKind) {
        let s = AccuracyStudy.Summary(kind: kind, records: records)
        print(column(name, 44, left: true) + column("\(s.fitted)/\(s.withPeak)", 10) + column(FitsTable.fixed(s.medianPeakError, 3), 10)
            + column(FitsTable.fixed(s.p95PeakError, 2), 7) + column(FitsTable.fixed(s.maximumPeakError, 2), 7)
            + column(FitsTable.fixed(s.medianFWHMError, 3), 10) + column(FitsTable.fixed(s.p95FWHMError, 2), 7)
            + column("\(s.withoutPeakGivenAPeak)/\(s.withoutPeak)", 19))
    }
    for seed: UInt64 in [1, 2] {
        line("absorbance 410-600 nm, FWHM 20-60 (seed \(seed))",
            AccuracyStudy.absorbance(analyzer: absorbanceAnalyzer, count: 300, withoutPeak: 60, seed: seed), .absorbance)
        line("PL 450-620 nm, FWHM 20-50 (seed \(seed))",
            AccuracyStudy.emission(analyzer: emissionAnalyzer, count: 300, withoutPeak: 60, seed: seed), .emission)
    }
    print("harder cases, beyond what the bounds cover:")
    line("absorbance, steep onset: shoulders (seed 1)",
        AccuracyStudy.absorbance(analyzer: absorbanceAnalyzer, count: 300, withoutPeak: 0, seed: 1, steepOnset: true), .absorbance)
    line("absorbance + next two transitions (seed 1)",
        AccuracyStudy.absorbance(analyzer: absorbanceAnalyzer, count: 300, withoutPeak: 0, seed: 1, higherTransitions: true), .absorbance)
    print("(errors in nm; 'fitted': spectra with a true peak that got one, the others were reported as too weak or")
    print(" without a feature; with the next transitions overlapping, the half-Gaussian's top is pulled blue, as the")
    print(" published method's is)")
}
