import Testing
@testable import Learning

/// CRC-32 and SHA-256 against their published check values, the generator against itself.
struct ChecksumTests {
    @Test func crc32MatchesTheISOHDLCCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32.checksum(Array("The quick brown fox jumps over the lazy dog".utf8)) == 0x414F_A339)
        var incremental = CRC32()
        incremental.update(Array("12345".utf8))
        incremental.update(Array("6789".utf8))
        #expect(incremental.value == 0xCBF4_3926)
    }

    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ])
    func sha256MatchesTheFIPSExamples(message: String, digest: String) {
        #expect(SHA256.hex(of: Array(message.utf8)) == digest)
    }

    @Test func sha256OfAMillionAs() {
        #expect(SHA256.hex(of: [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func theGeneratorIsReproducibleAndUniform() {
        var a = LearningRandom(seed: 42)
        var b = LearningRandom(seed: 42)
        var c = LearningRandom(seed: 43)
        let first = (0..<8).map { _ in a.next() }
        #expect(first == (0..<8).map { _ in b.next() })
        #expect(first != (0..<8).map { _ in c.next() })
        var random = LearningRandom(seed: 7)
        var counts = [Int](repeating: 0, count: 10)
        var sum = 0.0
        for _ in 0..<100_000 {
            counts[random.nextIndex(below: 10)] += 1
            sum += Double(random.nextUnitFloat())
        }
        // Each bin holds 10 000 ± 5 σ (σ ≈ 95); the mean of U(0,1) is 0.5 ± 5 σ (σ ≈ 0.0009).
        #expect(counts.allSatisfy { abs($0 - 10_000) < 475 })
        #expect(abs(sum / 100_000 - 0.5) < 0.0046)
        var values = Array(0..<20)
        random.shuffle(&values)
        #expect(values.sorted() == Array(0..<20) && values != Array(0..<20))
    }
}
