import KernelTwin
import Testing

/// The blobs FunctionFS takes on ep0 (include/uapi/linux/usb/functionfs.h).
@Suite struct FunctionFSDescriptorTests {
    static func word(_ bytes: [UInt8], _ at: Int) -> Int {
        Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
    }

    @Test func spectrometerDescriptorsAreV2WithBothSpeeds() throws {
        let blob = SpectrometerGadget.descriptors.descriptorBlob
        #expect(Self.word(blob, 0) == 3, "FUNCTIONFS_DESCRIPTORS_MAGIC_V2")
        #expect(Self.word(blob, 4) == blob.count)
        #expect(Self.word(blob, 8) == 0x3, "HAS_FS_DESC | HAS_HS_DESC")
        #expect(Self.word(blob, 12) == 9 && Self.word(blob, 16) == 9, "one interface and eight endpoints per speed")
        // Full speed: interface at 20, endpoints after; high speed starts 9 + 8 x 7 bytes later.
        #expect(Array(blob[20..<29]) == [9, 4, 0, 0, 8, 0xFF, 0, 0, 1])
        let fullSpeed = (0..<8).map { Array(blob[(29 + 7 * $0)..<(36 + 7 * $0)]) }
        let highSpeed = (0..<8).map { Array(blob[(94 + 7 * $0)..<(101 + 7 * $0)]) }
        #expect(fullSpeed.map { $0[2] } == [0x02, 0x03, 0x04, 0x01, 0x81, 0x83, 0x84, 0x82])
        #expect(fullSpeed.allSatisfy { $0[3] == 2 && $0[4] == 64 && $0[5] == 0 })
        #expect(highSpeed.allSatisfy { $0[3] == 2 && $0[4] == 0 && $0[5] == 2 }, "512-byte bulk packets at high speed")
        #expect(SpectrometerGadget.descriptors.endpointFile(of: 0x01) == 4)
        #expect(SpectrometerGadget.descriptors.endpointFile(of: 0x82) == 8)
    }

    @Test func bridgeDescriptorsCarryTheHIDDescriptor() throws {
        let blob = CP2112Gadget.descriptors.descriptorBlob
        #expect(Self.word(blob, 12) == 4, "interface, HID descriptor, two endpoints")
        #expect(Array(blob[20..<29]) == [9, 4, 0, 0, 2, 0x03, 0, 0, 1])
        #expect(Array(blob[29..<38]) == CP2112Emulator.hidDescriptor)
        #expect(Array(blob[38..<45]) == [7, 5, 0x81, 3, 64, 0, 1])
    }

    @Test func stringsNameTheInterfaceInUSEnglish() {
        let blob = CP2112Gadget.descriptors.stringsBlob
        #expect(Self.word(blob, 0) == 2 && Self.word(blob, 4) == blob.count)
        #expect(Self.word(blob, 8) == 1 && Self.word(blob, 12) == 1)
        #expect(Array(blob[16..<18]) == [0x09, 0x04])
        #expect(blob.last == 0)
    }
}
