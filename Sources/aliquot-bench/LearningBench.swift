// The Learning module's costs on this machine: single passes, Monte Carlo dropout, the
// 1 000 000-candidate map and training. Numbers are printed, never asserted.
#if canImport(Glibc)
import Glibc
#endif
import Learning

/// Runs the Learning benchmarks and prints one table. Uses the shipped absorbance bundle
/// (Firmware/models/cdse-absorbance.aqm, relative to the working folder) when it is there, else
/// trains a small stand-in model first.
///
/// `ALIQUOT_BENCH_PARTS` (comma-separated: train, single, mc, map, suggest; map1 is
/// the int8 peak + FWHM map alone; sparsity prints how often each layer's units are zero)
/// runs only those parts.
func runLearningBenchmarks() {
    let parts: Set<String> = getenv("ALIQUOT_BENCH_PARTS").map { Set(String(cString: $0).split(separator: ",").map(String.init)) }
        ?? ["train", "single", "mc", "map", "suggest"]
    let dataPath = "../shared/data/cdse/uv_train_val.csv"
    let dataset: SynthesisDataset
    do {
        dataset = try SynthesisDataset.load(path: dataPath, normalization: .logarithmic)
    } catch {
        print("learning bench: \(error)")
        return
    }
    let features = dataset.features(.logarithmic)
    var rows: [LearningBenchRow] = []

    // Training: one network of the published recipe on all 4 946 rows, one thread.
    if parts.contains("train") {
        let trainStart = learningBenchNow()
        let trained = NetworkTrainer(settings: .published).train(features: features, targets: dataset.peakTargets(.logarithmic), seed: 1)
        let trainSeconds = Double(learningBenchNow() - trainStart) / 1e9
        rows.append(LearningBenchRow(
            name: "train 1 network (\(trained.parameterCount) weights), 300 epochs x 4946 rows, 1 thread", value: trainSeconds, unit: "s"))
    }

    let bundlePath = "Firmware/models/cdse-absorbance.aqm"
    var model: SynthesisModel
    do {
        if access(bundlePath, R_OK) == 0 {
            model = try ModelBundle.read(path: bundlePath)
        } else {
            print("(\(bundlePath) not found: benchmarking a one-network-per-target model trained here)")
            model = try SynthesisModel.train(
                dataset, normalization: .logarithmic, ensembleSize: 1, seed: 1, kind: .absorbance, createdUnixSeconds: 0,
                crossValidation: nil)
        }
    } catch {
        print("learning bench: \(error)")
        return
    }

    if parts.contains("sparsity") {
        // How often each hidden unit is zero (ReLU off) on the training rows: what skipping zero
        // inputs can save in the single-row kernels.
        let network = model.peak[0]
        var zeros = [Int](repeating: 0, count: network.layers.count)
        var zeroPairs = 0
        for row in 0..<features.rowCount {
            var activation = features.row(row)
            for (index, layer) in network.layers.enumerated() {
                var next = layer.bias
                for o in 0..<layer.outputCount {
                    for i in 0..<layer.inputCount { next[o] += layer.weight(input: i, output: o) * activation[i] }
                    if layer.activation == .relu { next[o] = max(0, next[o]) }
                }
                zeros[index] += next.filter { $0 == 0 }.count
                if index == 1 { zeroPairs += stride(from: 0, to: next.count, by: 2).filter { next[$0] == 0 && next[$0 + 1] == 0 }.count }
                activation = next
            }
        }
        print("zero fraction per layer output: \(network.layers.indices.map { Double(zeros[$0]) / Double(features.rowCount * network.layers[$0].outputCount) }), zero pairs of layer 1: \(Double(zeroPairs) / Double(features.rowCount * 25))")
    }

    // Single passes of one network (the peak model's first member), one row at a time.
    let floatEngine = FloatInference(model.peak[0])
    let int8Engine = QuantizedInference(model.quantizedPeak[0])
    if parts.contains("single") {
        features.values.withUnsafeBufferPointer { values in
            let base = values.baseAddress!
            var sink: Float = 0
            // Float, int8 and an empty interval take turns in blocks of 10 000 calls, so a change
            // in the machine's load (it is shared) falls on all three alike. Each call is timed
            // alone, so each sample also holds one clock reading: the empty interval is that
            // reading's own cost.
            let (floatTimes, int8Times, clockTimes) = learningBenchInterleavedTimes(
                { k in sink += floatEngine.predictOne(base + (k % 4096) * 5) },
                { k in sink += int8Engine.predictOne(base + (k % 4096) * 5) },
                { _ in })
            rows.append(LearningBenchRow(name: "single pass, float, p50", value: floatTimes.p50, unit: "ns"))
            rows.append(LearningBenchRow(name: "single pass, float, p99", value: floatTimes.p99, unit: "ns"))
            rows.append(LearningBenchRow(name: "single pass, int8 (\(int8Engine.singleRowKernel)), p50", value: int8Times.p50, unit: "ns"))
            rows.append(LearningBenchRow(name: "single pass, int8 (\(int8Engine.singleRowKernel)), p99", value: int8Times.p99, unit: "ns"))
            rows.append(LearningBenchRow(name: "  float p50 / int8 p50", value: floatTimes.p50 / int8Times.p50, unit: "x"))
            rows.append(LearningBenchRow(name: "  the clock reading in each sample, p50", value: clockTimes.p50, unit: "ns"))
            rows.append(LearningBenchRow(
                name: "  float p50 / int8 p50, clock reading taken out", value: (floatTimes.p50 - clockTimes.p50) / (int8Times.p50 - clockTimes.p50),
                unit: "x"))
            // Runs of 64 calls timed together, each call's row chosen by the previous output, so
            // the calls cannot overlap: the latency of one pass without the clock in it.
            let (floatRuns, int8Runs) = learningBenchDependentRuns(
                { k, previous in floatEngine.predictOne(base + ((k + Int(previous.bitPattern & 1)) % 4096) * 5) },
                { k, previous in int8Engine.predictOne(base + ((k + Int(previous.bitPattern & 1)) % 4096) * 5) })
            rows.append(LearningBenchRow(name: "single pass in runs of 64 dependent calls, float, p50", value: floatRuns.p50, unit: "ns"))
            rows.append(LearningBenchRow(name: "single pass in runs of 64 dependent calls, float, p99", value: floatRuns.p99, unit: "ns"))
            rows.append(LearningBenchRow(name: "single pass in runs of 64 dependent calls, int8, p50", value: int8Runs.p50, unit: "ns"))
            rows.append(LearningBenchRow(name: "single pass in runs of 64 dependent calls, int8, p99", value: int8Runs.p99, unit: "ns"))
            rows.append(LearningBenchRow(name: "  float p50 / int8 p50", value: floatRuns.p50 / int8Runs.p50, unit: "x"))
            // The other kernels this CPU runs, the same way: what a CPU without the best one's
            // instructions would see.
            for name in QuantizedInference.availableSingleRowKernels.dropFirst() {
                let engine = QuantizedInference(model.quantizedPeak[0])
                guard engine.useSingleRowKernel(name) else { continue }
                let (floatRuns, kernelRuns) = learningBenchDependentRuns(
                    { k, previous in floatEngine.predictOne(base + ((k + Int(previous.bitPattern & 1)) % 4096) * 5) },
                    { k, previous in engine.predictOne(base + ((k + Int(previous.bitPattern & 1)) % 4096) * 5) })
                rows.append(LearningBenchRow(name: "  the same, int8 (\(name)), p50", value: kernelRuns.p50, unit: "ns"))
                rows.append(LearningBenchRow(name: "    float p50 / int8 (\(name)) p50", value: floatRuns.p50 / kernelRuns.p50, unit: "x"))
            }
            if sink.isNaN { print("") }
        }
    }

    // Monte Carlo dropout: 100 passes of the whole model (peak, direct and cascade width), one
    // input, against 100 single deterministic passes of the same networks.
    let conditions = SynthesisConditions(oleicAcidRatio: 40, temperatureC: 240, cadmiumMM: 10, seleniumMM: 10, timeS: 120)
    for path in InferencePath.allCases where parts.contains("mc") {
        let predictor = SynthesisPredictor(model: model, path: path, maximumRows: 256)
        _ = predictor.monteCarlo(conditions, passes: 100, seed: 1)
        let times = learningBenchTimes(iterations: 2_000) { _ in _ = predictor.monteCarlo(conditions, passes: 100, seed: 1) }
        rows.append(LearningBenchRow(name: "MC dropout, 100 passes, whole model, \(path.rawValue), p50", value: times.p50 / 1000, unit: "us"))
        rows.append(LearningBenchRow(name: "MC dropout, 100 passes, whole model, \(path.rawValue), p99", value: times.p99 / 1000, unit: "us"))
    }

    // The map: 1 000 000 uniform candidates x 30 passes, peak and cascade width, two threads.
    let candidates = parts.contains("map") || parts.contains("map1")
        ? CandidateMap.uniformCandidates(count: 1_000_000, seed: 3) : FeatureMatrix(rowCount: 0, columnCount: 5, values: [])
    for (path, width) in [(InferencePath.int8, true), (.int8, false), (.float, true)]
        where parts.contains("map") || (parts.contains("map1") && path == .int8 && width) {
        let start = learningBenchNow()
        let cpuStart = learningBenchCPUTime()
        let map = CandidateMap.compute(model: model, candidates: candidates, passes: 30, seed: 4, path: path, includeWidth: width, threads: 2)
        let seconds = Double(learningBenchNow() - start) / 1e9
        let cpuSeconds = Double(learningBenchCPUTime() - cpuStart) / 1e9
        rows.append(LearningBenchRow(
            name: "map 1M candidates x 30 passes, \(path.rawValue), \(width ? "peak + FWHM" : "peak only"), 2 threads",
            value: seconds, unit: "s"))
        // On a shared machine the wall time depends on the other load; the CPU time of both
        // threads does not (on two idle cores the wall time is about half of it).
        rows.append(LearningBenchRow(name: "  the same, CPU time of both threads", value: cpuSeconds, unit: "s"))
        if map.peakMean.isEmpty { print("") }
    }

    // The whole suggestion step of `aliquot suggest` (defaults): 1 000 000 candidates drawn within
    // the bounds, mapped by 30 int8 passes on 2 threads, scored by UCB and a batch of 8 picked.
    if parts.contains("suggest") {
        do {
            let bounds = try SearchBounds(normalization: model.normalization, constraints: [SuggestionConstraint.parse("temp<=280")])
            let optimizer = BayesianOptimizer(
                bounds: bounds, objective: SuggestionObjective(targetPeakNM: 520), acquisition: .upperConfidenceBound(kappa: 2))
            let start = learningBenchNow()
            let picks = optimizer.suggest(count: 8, candidateCount: 1_000_000, seed: 5) { rows in
                CandidateMap.compute(model: model, candidates: rows, passes: 30, seed: 6, path: .int8, threads: 2)
            }
            rows.append(LearningBenchRow(
                name: "suggest 8 of 1M candidates x 30 passes (UCB), int8, 2 threads", value: Double(learningBenchNow() - start) / 1e9,
                unit: "s"))
            if picks.isEmpty { print("") }
        } catch {
            print("learning bench: \(error)")
        }
    }

    print("")
    print(learningBenchPad("learning benchmark (ensemble of \(model.peak.count) per target)", 64, left: true) + learningBenchPad("value", 12))
    for row in rows {
        print(learningBenchPad(row.name, 64, left: true) + learningBenchPad(learningBenchFormat(row.value) + " " + row.unit, 12))
    }
}

private struct LearningBenchRow {
    var name: String
    var value: Double
    var unit: String
}

private func learningBenchNow() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_MONOTONIC, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

/// This process's CPU time (all threads), in nanoseconds.
private func learningBenchCPUTime() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
    return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
}

/// p50 and p99 of `iterations` calls timed one at a time, after a warm-up.
private func learningBenchTimes(iterations: Int, _ body: (Int) -> Void) -> LearningBenchPercentiles {
    for k in 0..<min(1000, iterations) { body(k) }
    var samples = [Double](repeating: 0, count: iterations)
    for k in 0..<iterations {
        let start = learningBenchNow()
        body(k)
        samples[k] = Double(learningBenchNow() - start)
    }
    return LearningBenchPercentiles(samples)
}

/// p50 and p99 of each body's calls, timed one at a time, the three taking turns in 20 blocks
/// of 10 000 calls each, after a warm-up. Each body is called through the same closure call,
/// whose cost the empty body measures along with the clock reading.
private func learningBenchInterleavedTimes(
    _ first: (Int) -> Void, _ second: (Int) -> Void, _ third: (Int) -> Void
) -> (LearningBenchPercentiles, LearningBenchPercentiles, LearningBenchPercentiles) {
    let callsPerBlock = 10_000
    let blocks = 20
    for k in 0..<1000 {
        first(k)
        second(k)
        third(k)
    }
    var samples = [[Int64]](repeating: [Int64](repeating: 0, count: callsPerBlock * blocks), count: 3)
    for block in 0..<blocks {
        for index in 0..<3 {
            let body = index == 0 ? first : index == 1 ? second : third
            samples[index].withUnsafeMutableBufferPointer { times in
                for call in 0..<callsPerBlock {
                    let k = block * callsPerBlock + call
                    let start = learningBenchNow()
                    body(k)
                    times[k] = learningBenchNow() - start
                }
            }
        }
    }
    let percentiles = samples.map { LearningBenchPercentiles($0.map(Double.init)) }
    return (percentiles[0], percentiles[1], percentiles[2])
}

/// For both bodies, p50 and p99 of the mean call time in 5 000 runs of 64 calls each timed as
/// one (the two taking turns run by run), after a warm-up; `body(k, previous)` gets the call's
/// index and the previous call's output.
private func learningBenchDependentRuns(
    _ first: (Int, Float) -> Float, _ second: (Int, Float) -> Float
) -> (LearningBenchPercentiles, LearningBenchPercentiles) {
    let runs = 5_000
    let length = 64
    var previous: Float = 0
    for k in 0..<1000 { previous = second(k, first(k, previous)) }
    var samples = [[Double]](repeating: [Double](repeating: 0, count: runs), count: 2)
    for run in 0..<runs {
        for index in 0..<2 {
            let body = index == 0 ? first : second
            let start = learningBenchNow()
            for k in 0..<length { previous = body(run * length + k, previous) }
            samples[index][run] = Double(learningBenchNow() - start) / Double(length)
        }
    }
    if previous.isNaN { print("") }
    return (LearningBenchPercentiles(samples[0]), LearningBenchPercentiles(samples[1]))
}

/// The median and 99th percentile of some timings.
private struct LearningBenchPercentiles {
    var p50: Double
    var p99: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        p50 = sorted[sorted.count / 2]
        p99 = sorted[min(sorted.count - 1, sorted.count * 99 / 100)]
    }
}

private func learningBenchFormat(_ value: Double) -> String {
    if value >= 100 { return String(Int(value.rounded())) }
    let scaled = (value * 100).rounded() / 100
    return String(scaled)
}

private func learningBenchPad(_ text: String, _ width: Int, left: Bool = false) -> String {
    let padding = String(repeating: " ", count: max(0, width - text.count))
    return left ? text + padding : padding + text
}
