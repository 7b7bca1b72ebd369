import Foundation
import Testing

@testable import LabServer

@Suite struct SHA256Tests {
    /// FIPS 180-2 Appendix B test vectors and the empty string.
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func matchesTheStandardVectors(message: String, digest: String) {
        #expect(SHA256.hexDigest(message) == digest)
    }

    @Test func millionAs() {
        #expect(hex(SHA256.digest([UInt8](repeating: 0x61, count: 1_000_000))) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}

@Suite struct DeviceTokenTests {
    @Test func tokensAreRandom32ByteHex() {
        let tokens = (0..<50).map { _ in DeviceToken.generate() }
        #expect(Set(tokens).count == 50)
        #expect(tokens.allSatisfy { $0.count == 64 && $0.allSatisfy { "0123456789abcdef".contains($0) } })
    }

    @Test(arguments: [("abc", "abc", true), ("abc", "abd", false), ("abc", "ab", false), ("", "", true), ("a", "", false)])
    func constantTimeEquality(left: String, right: String, equal: Bool) {
        #expect(DeviceToken.constantTimeEquals(left, right) == equal)
    }

    @Test func authenticatesOnlyTheMatchingDevice() {
        let tokenA = DeviceToken.generate(), tokenB = DeviceToken.generate()
        let credentials = [
            DeviceCredential(deviceID: "a", tokenHash: DeviceToken.hash(tokenA)),
            DeviceCredential(deviceID: "b", tokenHash: DeviceToken.hash(tokenB)),
        ]
        #expect(DeviceToken.authenticate(token: tokenA, among: credentials) == "a")
        #expect(DeviceToken.authenticate(token: tokenB, among: credentials) == "b")
        #expect(DeviceToken.authenticate(token: DeviceToken.hash(tokenA), among: credentials) == nil)  // the digest is not the token
        #expect(DeviceToken.authenticate(token: "", among: credentials) == nil)
    }
}

@Suite struct JSONValueTests {
    @Test func parsesNestedValuesAndKeepsNumbersExact() throws {
        let value = try JSONValue.parse(#"{"a":[1,-2.5e3,true,null],"b":{"c":"x\"y\\z\n\u00e9\ud83d\ude00"},"t":9007199254740993}"#)
        #expect(value["a"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .null]))
        #expect(value["b"]?["c"]?.stringValue == "x\"y\\z\né😀")
        #expect(value["t"]?.int64Value == 9_007_199_254_740_993)  // 2^53 + 1: a double would round it
        #expect(try JSONValue.parse(value.serialized) == value)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"abc", "tru", "{\"a\":1}x", "\"\u{01}\"", "\"\\ud800\"", "\"\\q\""])
    func refusesMalformedText(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func refusesDeepNesting() {
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        #expect(throws: Never.self) { try JSONValue.parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)) }
    }
}

@Suite struct LabDatabaseTests {
    @Test func parsesURLs() throws {
        #expect(try LabDatabase(parsing: "sqlite:/tmp/x.sqlite") == .sqlite(path: "/tmp/x.sqlite"))
        #expect(try LabDatabase(parsing: "postgres://lab:p%40ss@db.local:6543/aliquot") == .postgres(host: "db.local", port: 6543, user: "lab", password: "p@ss", database: "aliquot"))
        #expect(try LabDatabase(parsing: "postgresql://lab@127.0.0.1/a") == .postgres(host: "127.0.0.1", port: 5432, user: "lab", password: nil, database: "a"))
    }

    @Test(arguments: ["sqlite:", "mysql://a@b/c", "postgres://host/db", "postgres://u@h:99999/d", "postgres://u@h/", "aliquot.sqlite"])
    func refusesOthers(text: String) {
        #expect(throws: LabStoreError.invalidDatabaseURL(text)) { try LabDatabase(parsing: text) }
    }
}

@Suite struct HTMLTests {
    @Test func escapesTheFiveCharacters() {
        #expect(HTML.escape(#"<script>alert("x" & 'y')</script>"#) == "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;")
        #expect(HTML.queryComponent("a b/é&") == "a%20b%2F%C3%A9%26")
    }

    /// 2025-11-21 19:30:17 UTC is 1763753417 s (date -u -d @1763753417).
    @Test func formatsUTCTimes() {
        #expect(HTML.time(1_763_753_417_000_000_000) == "2025-11-21 19:30:17")
        #expect(HTML.time(0) == "1970-01-01 00:00:00")
        #expect(HTML.time(951_782_400_000_000_000) == "2000-02-29 00:00:00")
    }
}
