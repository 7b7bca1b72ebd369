import Learning

/// SHA-256 (FIPS 180-4) is the Learning module's, which checksums model bundles; the lab server
/// hashes device tokens with it.
public typealias SHA256 = Learning.SHA256

extension Learning.SHA256 {
    /// The 32-byte digest of `bytes`.
    public static func digest(_ bytes: [UInt8]) -> [UInt8] { digest(of: bytes) }

    /// The digest of `text`'s UTF-8 bytes as 64 lowercase hex digits (how tokens are stored).
    public static func hexDigest(_ text: String) -> String { hex(of: Array(text.utf8)) }
}

/// `bytes` as lowercase hex digits.
public func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0f)])
    }
    return String(decoding: text, as: UTF8.self)
}
