import ArgumentParser
import Config
#if canImport(Glibc)
import Glibc
#endif
import Rig

/// `aliquot acquire`: dark, reference and sample spectra from one spectrometer, as CSV.
struct AcquireCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acquire",
        abstract: "Take dark, reference and sample spectra from a spectrometer and write them as CSV.",
        discussion: """
            Takes, in this order, the dark spectrum (--dark: light source off), the reference (--reference: light \
            on, the blank in the cell) and always the sample (light on, the sample in the cell), then switches the \
            light off. On the twin the cell is filled by the twin; on hardware the command asks for the blank and \
            the sample on standard error and waits for Enter when standard input is a terminal. \
            Writes one row per optical pixel: wavelength_nm, then <spectrum>_counts (raw) and <spectrum>_corrected \
            (electric dark, nonlinearity and saturation corrected) for each spectrum taken, and for abs with \
            --reference the absorbance -log10((S - D)/(R - D)), empty where a pixel is masked (saturated, too \
            little reference light, opaque). PL spectra have no absorbance column.
            Example: aliquot acquire --board Boards/sim.toml --device abs --dark --reference --out spectra.csv
            """)

    enum Device: String, ExpressibleByArgument, CaseIterable {
        case abs, pl
    }

    @OptionGroup var boardOptions: BoardOptions

    @Option(help: "The spectrometer: abs ([spectrometer.abs], absorbance) or pl ([spectrometer.pl], photoluminescence).")
    var device: Device

    @Flag(help: "Take a dark spectrum first (light source off).")
    var dark = false

    @Flag(help: "Take a reference spectrum (light on, blank in the cell); gives the absorbance column for abs.")
    var reference = false

    @Option(help: "Integration time in ms instead of the board file's (clamped to the model's limits).")
    var integrationMs: Double?

    @Option(help: "Write the CSV to this file (replaced atomically) instead of standard output.")
    var out: String?

    func validate() throws {
        if let integrationMs, !(integrationMs > 0 && integrationMs <= 65_000) {
            throw ValidationError("--integration-ms must be more than 0 and at most 65000 ms, got \(integrationMs)")
        }
    }

    func run() throws {
        let rig = try boardOptions.openRig()
        defer { reportFailures(rig.shutDown()) }
        let role: SpectrometerRole = device == .abs ? .absorbance : .emission
        let acquisition: SpectrumAcquisition
        do throws(RigError) {
            if let integrationMs {
                let spectrometer = try rig.spectrometers.open(role)
                do {
                    try spectrometer.driver.setIntegrationTime(microseconds: Int((integrationMs * 1000).rounded()))
                } catch {
                    throw RigError(part: spectrometer.id, action: "set the integration time", underlying: error)
                }
            }
            acquisition = try rig.spectrometers.acquire(role, dark: dark, reference: reference) { step in
                self.askForCell(step)
            }
        } catch {
            throw CommandFailure("\(rig.board.path): \(error.description)")
        }
        let text = acquisition.csv()
        if let out {
            try writeAtomically(text, to: out)
        } else {
            print(text, terminator: "")
        }
        printError(summary(acquisition))
    }

    /// On hardware: the operator fills the cell (waits for Enter when there is a terminal to ask).
    private func askForCell(_ step: Spectrometers.Step) {
        let what = step == .reference ? "the blank (solvent)" : "the sample"
        guard isatty(STDIN_FILENO) == 1 else {
            printError("note: taking the \(step.rawValue) spectrum with the cell as it is (it should hold \(what))")
            return
        }
        printError("Fill the cell with \(what), then press Enter.")
        _ = readLine()
    }

    private func summary(_ acquisition: SpectrumAcquisition) -> String {
        var taken: [String] = []
        if acquisition.dark != nil { taken.append("dark") }
        if acquisition.reference != nil { taken.append("reference") }
        taken.append("sample")
        let identity = acquisition.identity
        let milliseconds = fixed(Double(acquisition.sample.integrationMicroseconds) / 1000, 3)
        var text = "spectrometer.\(device.rawValue): \(identity.model) \(identity.serialNumber), "
            + "\(taken.joined(separator: ", ")) at \(milliseconds) ms, \(acquisition.wavelengths.count) pixels"
        let saturated = acquisition.sample.saturatedPixelCount
        if saturated > 0 { text += "; \(saturated) saturated pixels in the sample" }
        if let absorbance = acquisition.absorbance {
            text += "; absorbance masked at \(absorbance.count - absorbance.count(of: .valid)) pixels"
        }
        return text
    }
}


