/// A fixed-size, 64-byte aligned, zero-filled buffer owned by a class: scratch space the hot paths
/// allocate once and reuse, so inference and training steps allocate nothing.
final class AlignedBuffer<Element>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Element>
    let count: Int

    init(count: Int, zero: Element) {
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(1, count) * MemoryLayout<Element>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Element.self, capacity: max(1, count))
        pointer.initialize(repeating: zero, count: max(1, count))
    }

    deinit {
        pointer.deinitialize(count: max(1, count))
        pointer.deallocate()
    }
}

/// `value` rounded up to a multiple of `multiple`.
@inline(__always)
func roundUp(_ value: Int, to multiple: Int) -> Int { (value + multiple - 1) / multiple * multiple }
