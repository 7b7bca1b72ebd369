#if canImport(Glibc)
import Glibc
#endif

/// A file the Learning module could not read or write, with the operation and errno.
public struct LearningFileError: Error, Equatable, Sendable, CustomStringConvertible {
    public var path: String
    /// `open`, `read`, `write`, `fsync`, `rename`...
    public var operation: String
    public var errno: Int32

    public init(path: String, operation: String, errno: Int32) {
        self.path = path
        self.operation = operation
        self.errno = errno
    }

    public var description: String {
        "\(path): cannot \(operation): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// The whole content of the file at `path` (open(2)/read(2), retried on EINTR).
public func readWholeFile(path: String) throws(LearningFileError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw LearningFileError(path: path, operation: "open", errno: errno) }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            throw LearningFileError(path: path, operation: "read", errno: errno)
        }
        if count == 0 { return bytes }
        bytes.append(contentsOf: chunk[0..<count])
    }
}

/// Writes `bytes` to `path` atomically: a temporary file beside it, fsync, rename(2) over the
/// target, fsync of the folder. A reader sees the old file or the whole new one, never a part;
/// on failure the temporary file is removed and the target is untouched.
public func writeFileAtomically(path: String, bytes: [UInt8]) throws(LearningFileError) {
    let temporary = path + ".tmp-\(getpid())"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw LearningFileError(path: temporary, operation: "create", errno: errno) }
    var failure: LearningFileError?
    var offset = 0
    while offset < bytes.count && failure == nil {
        let written = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
        if written < 0 {
            if errno == EINTR { continue }
            failure = LearningFileError(path: temporary, operation: "write", errno: errno)
        } else {
            offset += written
        }
    }
    if failure == nil && fsync(descriptor) != 0 {
        failure = LearningFileError(path: temporary, operation: "fsync", errno: errno)
    }
    if close(descriptor) != 0 && failure == nil {
        failure = LearningFileError(path: temporary, operation: "close", errno: errno)
    }
    if failure == nil && rename(temporary, path) != 0 {
        failure = LearningFileError(path: path, operation: "rename \(temporary) to", errno: errno)
    }
    if let failure {
        unlink(temporary)
        throw failure
    }
    // Make the rename itself durable; a folder that cannot be opened read-only still holds the file.
    let folder = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
    let folderDescriptor = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    if folderDescriptor >= 0 {
        let synced = fsync(folderDescriptor)
        let syncErrno = errno
        close(folderDescriptor)
        if synced != 0 && syncErrno != EINVAL {
            throw LearningFileError(path: folder, operation: "fsync", errno: syncErrno)
        }
    }
}
