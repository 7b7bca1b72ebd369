/// Device credentials: a random 32-byte token, shown once as hex when the device is added, and
/// only its SHA-256 digest (hex) stored. A request's bearer token is hashed and compared with the
/// stored digests in constant time.
public enum DeviceToken {
    /// A new token: 32 bytes from the system's CSPRNG (`SystemRandomNumberGenerator`, getrandom(2)),
    /// as 64 lowercase hex digits.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return hex((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// What the store keeps: SHA-256 of the token's UTF-8 bytes, hex.
    public static func hash(_ token: String) -> String { SHA256.hexDigest(token) }

    /// Whether two strings are equal, in time that depends only on their lengths (not on where
    /// they first differ), so a client cannot learn a stored digest byte by byte from timing.
    public static func constantTimeEquals(_ left: String, _ right: String) -> Bool {
        let a = Array(left.utf8)
        let b = Array(right.utf8)
        var difference = UInt8(a.count == b.count ? 0 : 1)
        let count = max(a.count, b.count)
        for index in 0..<count {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= x ^ y
        }
        return difference == 0
    }

    /// The device whose stored digest matches `token`, comparing against every credential (no
    /// early exit) so the time does not reveal which device or how many bytes matched.
    public static func authenticate(token: String, among credentials: [DeviceCredential]) -> String? {
        let digest = hash(token)
        var match: String?
        for credential in credentials where constantTimeEquals(digest, credential.tokenHash) {
            match = credential.deviceID
        }
        return match
    }
}

/// A device and its token's digest, as the store keeps them.
public struct DeviceCredential: Equatable, Sendable {
    public var deviceID: String
    /// SHA-256 of the token, 64 lowercase hex digits.
    public var tokenHash: String

    public init(deviceID: String, tokenHash: String) {
        self.deviceID = deviceID
        self.tokenHash = tokenHash
    }
}
