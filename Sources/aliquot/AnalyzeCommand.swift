import ArgumentParser
import Config
#if canImport(Glibc)
import Glibc
#endif
import Spectra

/// `aliquot analyze`: the peak of every spectrum in a CSV file, in the published data set's terms.
struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Fit the first exciton (absorbance) or band-edge emission (PL) of every spectrum in a CSV file.",
        discussion: """
            The CSV's first column is the wavelength in nm (strictly increasing), every other column one \
            spectrum (absorbance for abs, counts for pl), named by a header row. Writes one row per spectrum: \
            name, Peak_nm, FWHM_nm, Peak_eV, FWHM_eV, height, residual, status. When there is no usable peak \
            the numbers are empty and the status says why: too_weak, saturated, masked, no_feature, \
            fit_diverged. A file that does not check out stops the command before anything is written.
            Example: aliquot analyze --kind abs spectra.csv --out fits.csv
            """)

    enum Kind: String, ExpressibleByArgument, CaseIterable {
        case abs, pl
    }

    @Option(help: "abs: absorbance spectra (half-Gaussian of the first exciton); pl: photoluminescence counts (Gaussian of the band edge).")
    var kind: Kind

    @Argument(help: "The spectra, as CSV.")
    var spectra: String

    @Option(help: "Write the fits to this file (replaced atomically) instead of standard output.")
    var out: String?

    func run() throws {
        let text = try readWholeFile(spectra)
        let table: SpectraTable
        do {
            table = try SpectraTable.parse(text, file: spectra)
        } catch {
            throw CommandFailure(error.description)
        }
        let analyzer: SpectrumAnalyzer
        do {
            analyzer = try SpectrumAnalyzer(axis: WavelengthAxis(nanometres: table.nanometres))
        } catch {
            throw CommandFailure("\(spectra): \(error.description)")
        }
        var fits: [PeakFit] = []
        fits.reserveCapacity(table.columns.count)
        for column in table.columns {
            switch kind {
            case .abs: fits.append(analyzer.analyzeAbsorbance(AbsorbanceSpectrum(values: column)))
            case .pl: fits.append(analyzer.analyzeEmission(CountSpectrum(counts: column)))
            }
        }
        let output = FitsTable.text(names: table.names, fits: fits)
        if let out {
            try writeAtomically(output, to: out)
        } else {
            print(output, terminator: "")
        }
    }
}

/// The largest spectra file read: 2048 rows of a few hundred spectra is a few megabytes.
private let maximumSpectraFileBytes = 256 * 1024 * 1024

/// The whole file as text, or a failure naming the file and the system's reason.
private func readWholeFile(_ path: String) throws -> String {
    do {
        let bytes = try ConfigFiles.read(path, what: "spectra file", maximumSize: maximumSpectraFileBytes)
        return String(decoding: bytes, as: UTF8.self)
    } catch {
        throw CommandFailure(error.description)
    }
}
