/// Little-endian writer for the model bundle.
struct BinaryWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func u16(_ value: UInt16) { for shift in stride(from: 0, to: 16, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt16(shift))) } }
    mutating func u32(_ value: UInt32) { for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) } }
    mutating func u64(_ value: UInt64) { for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) } }
    mutating func i32(_ value: Int32) { u32(UInt32(bitPattern: value)) }
    mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }
    mutating func f32(_ value: Float) { u32(value.bitPattern) }
    mutating func f64(_ value: Double) { u64(value.bitPattern) }
    mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }
    mutating func raw(_ values: [UInt8]) { bytes.append(contentsOf: values) }
    mutating func patchU64(at offset: Int, _ value: UInt64) {
        for index in 0..<8 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> UInt64(8 * index)) }
    }
}

/// Little-endian reader over a byte range; running past the end is a `ModelBundleError`.
struct BinaryReader {
    let bytes: [UInt8]
    var offset: Int
    let end: Int
    let path: String
    let context: String

    init(bytes: [UInt8], offset: Int, end: Int, path: String, context: String) {
        self.bytes = bytes
        self.offset = offset
        self.end = end
        self.path = path
        self.context = context
    }

    var remaining: Int { end - offset }

    mutating func take(_ count: Int) throws(ModelBundleError) -> ArraySlice<UInt8> {
        guard count >= 0 && count <= end - offset else {
            throw ModelBundleError(path: path, message: "\(context) ends early at byte \(offset): needs \(count) more, has \(end - offset)")
        }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    mutating func u8() throws(ModelBundleError) -> UInt8 { try take(1).first! }
    mutating func u16() throws(ModelBundleError) -> UInt16 {
        let slice = try take(2)
        return UInt16(slice[slice.startIndex]) | UInt16(slice[slice.startIndex + 1]) << 8
    }
    mutating func u32() throws(ModelBundleError) -> UInt32 {
        let slice = try take(4)
        var value: UInt32 = 0
        for (index, byte) in slice.enumerated() { value |= UInt32(byte) << UInt32(8 * index) }
        return value
    }
    mutating func u64() throws(ModelBundleError) -> UInt64 {
        let slice = try take(8)
        var value: UInt64 = 0
        for (index, byte) in slice.enumerated() { value |= UInt64(byte) << UInt64(8 * index) }
        return value
    }
    mutating func i32() throws(ModelBundleError) -> Int32 { Int32(bitPattern: try u32()) }
    mutating func i64() throws(ModelBundleError) -> Int64 { Int64(bitPattern: try u64()) }
    mutating func f32() throws(ModelBundleError) -> Float { Float(bitPattern: try u32()) }
    mutating func f64() throws(ModelBundleError) -> Double { Double(bitPattern: try u64()) }
    mutating func string() throws(ModelBundleError) -> String {
        let count = Int(try u32())
        return String(decoding: try take(count), as: UTF8.self)
    }
    /// A count that must fit in what is left, each item at least `itemBytes` long.
    mutating func count(itemBytes: Int, what: String) throws(ModelBundleError) -> Int {
        let value = Int(try u32())
        guard value <= remaining / max(1, itemBytes) else {
            throw ModelBundleError(path: path, message: "\(context): \(what) count \(value) does not fit in the \(remaining) bytes left")
        }
        return value
    }
}
