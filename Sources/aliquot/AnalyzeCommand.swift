import ArgumentParser
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
    var descriptor: Int32
    repeat {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
    } while descriptor < 0 && errno == EINTR
    guard descriptor >= 0 else { throw CommandFailure("\(path): cannot open: \(systemMessage(errno))") }
    defer { _ = close(descriptor) }  // read-only: a failed close loses nothing
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 64 * 1024)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 {
            let code = errno
            if code == EINTR { continue }
            throw CommandFailure("\(path): cannot read: \(systemMessage(code))")
        }
        if count == 0 { break }
        bytes += chunk[0..<count]
        guard bytes.count <= maximumSpectraFileBytes else {
            throw CommandFailure("\(path): larger than \(maximumSpectraFileBytes / 1024 / 1024) MB; is it a spectra CSV?")
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Replaces `path` with `text`: a temporary file beside it is written, flushed and renamed over it,
/// then the folder is flushed, so a reader sees the old file or the whole new one, never part.
private func writeAtomically(_ text: String, to path: String) throws {
    let temporary = path + ".tmp-\(getpid())"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw CommandFailure("\(path): cannot create \(temporary): \(systemMessage(errno))") }
    func fail(_ what: String, _ code: Int32) -> CommandFailure {
        _ = close(descriptor)
        _ = unlink(temporary)
        return CommandFailure("\(path): cannot \(what): \(systemMessage(code))")
    }
    var bytes = Array(text.utf8)
    var written = 0
    while written < bytes.count {
        let count = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
        if count < 0 {
            let code = errno
            if code == EINTR { continue }
            throw fail("write \(temporary)", code)
        }
        written += count
    }
    bytes.removeAll()
    if fsync(descriptor) != 0 { throw fail("flush \(temporary)", errno) }
    if close(descriptor) != 0 {
        let code = errno
        _ = unlink(temporary)
        throw CommandFailure("\(path): cannot close \(temporary): \(systemMessage(code))")
    }
    if rename(temporary, path) != 0 {
        let code = errno
        _ = unlink(temporary)
        throw CommandFailure("\(path): cannot replace it: \(systemMessage(code))")
    }
    // Flush the folder so the rename itself survives a power cut.
    let slash = path.lastIndex(of: "/")
    let folder = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
    let folderDescriptor = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard folderDescriptor >= 0 else {
        throw CommandFailure("\(path): written, but its folder \(folder) cannot be opened to flush it: \(systemMessage(errno))")
    }
    defer { _ = close(folderDescriptor) }
    if fsync(folderDescriptor) != 0 {
        throw CommandFailure("\(path): written, but flushing its folder \(folder) failed: \(systemMessage(errno))")
    }
}

/// strerror(code) with the number, e.g. "No such file or directory (errno 2)".
private func systemMessage(_ code: Int32) -> String {
    "\(String(cString: strerror(code))) (errno \(code))"
}
