#if canImport(Glibc)
import Glibc
#endif

/// Reading and writing Aliquot's small files (board files, tuned state, the tables commands write)
/// with the file named in every error, and writes that never leave a half-written file behind.
public enum ConfigFiles {
    /// The whole file, through open/read/close; `what` names the kind of file in messages.
    public static func read(_ path: String, what: String, maximumSize: Int) throws(BoardFileError) -> [UInt8] {
        var descriptor: Int32
        repeat {
            descriptor = open(path, O_RDONLY | O_CLOEXEC)
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else { throw failure(path, "open the \(what)", errno) }
        defer { _ = close(descriptor) }  // read-only: a failed close loses nothing

        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                Glibc.read(descriptor, buffer.baseAddress, buffer.count)
            }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                throw failure(path, "read the \(what)", code)
            }
            if count == 0 { return contents }
            contents += chunk[0..<count]
            guard contents.count <= maximumSize else {
                throw BoardFileError(
                    file: path, line: nil, key: nil,
                    message: "the \(what) is larger than \(maximumSize) bytes; it should be a few kilobytes")
            }
        }
    }

    /// Whether `path` exists (any kind of file).
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// Replaces `path` with `bytes` atomically: a temporary file beside it is written, flushed to
    /// disk and renamed over the old one, then the folder is flushed. A crash leaves either the old
    /// file or the new one, never a mix.
    public static func writeAtomically(_ bytes: [UInt8], to path: String, what: String) throws(BoardFileError) {
        let temporary = path + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw failure(temporary, "create the \(what)", errno) }
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { buffer in
                write(descriptor, buffer.baseAddress! + written, buffer.count - written)
            }
            if count < 0 {
                let code = errno
                if code == EINTR { continue }
                _ = close(descriptor)
                _ = unlink(temporary)
                throw failure(temporary, "write the \(what)", code)
            }
            written += count
        }
        if fsync(descriptor) != 0 {
            let code = errno
            _ = close(descriptor)
            _ = unlink(temporary)
            throw failure(temporary, "flush the \(what)", code)
        }
        if close(descriptor) != 0 {
            let code = errno
            _ = unlink(temporary)
            throw failure(temporary, "close the \(what)", code)
        }
        if rename(temporary, path) != 0 {
            let code = errno
            _ = unlink(temporary)
            throw failure(path, "replace the \(what)", code)
        }
        // Flush the folder so the rename itself survives a power cut.
        let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let folderDescriptor = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard folderDescriptor >= 0 else { throw failure(folder, "open the folder of the \(what)", errno) }
        defer { _ = close(folderDescriptor) }
        if fsync(folderDescriptor) != 0 { throw failure(folder, "flush the folder of the \(what)", errno) }
    }

    /// Creates `folder` and its parents (mode 0755) if they are missing.
    static func makeFolders(_ folder: String, what: String) throws(BoardFileError) {
        var path = folder.hasPrefix("/") ? "" : "."
        for part in folder.split(separator: "/") {
            path += "/" + part
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw failure(path, "create the folder for the \(what)", errno)
            }
        }
    }

    static func failure(_ path: String, _ operation: String, _ code: Int32) -> BoardFileError {
        BoardFileError(
            file: path, line: nil, key: nil,
            message: "cannot \(operation): \(String(cString: strerror(code))) (errno \(code))")
    }
}
