/// The Sobol low-discrepancy sequence in up to 5 dimensions, unscrambled, in Gray-code order
/// (Antonov & Saleev 1979), with the direction numbers of S. Joe and F. Y. Kuo, "Constructing
/// Sobol sequences with better two-dimensional projections", SIAM J. Sci. Comput. 30 (2008),
/// file new-joe-kuo-6.21201. The first point is the origin; with 32-bit direction numbers the
/// sequence has 2^32 - 1 usable points.
public struct SobolSequence: Equatable, Sendable {
    /// The dimensions the direction-number table below covers.
    public static let maximumDimensions = 5

    /// Joe-Kuo rows for dimensions 2...5: degree s of the primitive polynomial, its coefficients
    /// a (bits between the leading and trailing 1), and the initial direction numbers m_1...m_s.
    /// Dimension 1 is the van der Corput sequence (all m_k = 1).
    static let joeKuo: [(s: Int, a: UInt32, m: [UInt32])] = [
        (1, 0, [1]),
        (2, 1, [1, 3]),
        (3, 1, [1, 3, 1]),
        (3, 2, [1, 1, 1]),
    ]

    static let bits = 32

    /// directions[d][k-1] = v_k of dimension d, scaled by 2^32 (V_k = m_k 2^(32-k)).
    private let directions: [[UInt32]]
    private var current: [UInt32]
    /// The index of the next point to return.
    public private(set) var index: UInt64 = 0

    public init(dimensions: Int) {
        precondition((1...Self.maximumDimensions).contains(dimensions), "Sobol: 1 to 5 dimensions")
        var directions: [[UInt32]] = [(1...Self.bits).map { UInt32(1) << (Self.bits - $0) }]
        for row in Self.joeKuo.prefix(dimensions - 1) {
            var v = [UInt32](repeating: 0, count: Self.bits + 1)  // 1-based, as in Joe & Kuo's code
            for k in 1...Self.bits {
                if k <= row.s {
                    v[k] = row.m[k - 1] << (Self.bits - k)
                } else {
                    v[k] = v[k - row.s] ^ (v[k - row.s] >> row.s)
                    for i in stride(from: 1, to: row.s, by: 1) where (row.a >> (row.s - 1 - i)) & 1 == 1 {
                        v[k] ^= v[k - i]
                    }
                }
            }
            directions.append(Array(v[1...]))
        }
        self.directions = directions
        current = [UInt32](repeating: 0, count: dimensions)
    }

    public var dimensions: Int { directions.count }

    /// The next point, each coordinate in [0, 1): point n is point n-1 with the direction number
    /// of the lowest zero bit of n-1 xored in.
    public mutating func next() -> [Double] {
        let point = current.map { Double($0) * 0x1p-32 }
        precondition(index < (UInt64(1) << Self.bits) - 1, "Sobol: the 2^32 points are used up")
        let bit = (~index).trailingZeroBitCount
        for dimension in current.indices {
            current[dimension] ^= directions[dimension][bit]
        }
        index += 1
        return point
    }
}
