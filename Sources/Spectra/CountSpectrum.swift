/// Counts of one acquisition (after the driver's electric-dark, nonlinearity and saturation
/// corrections), one value per pixel, with the pixels the detector saturated.
///
/// The saturation flags come from the raw counts (PROTOCOLS.md §1: the saturation level in
/// information slot 17, else 65535) and travel with the spectrum through every correction, so a
/// corrected value that looks fine is still known to be clipped.
public struct CountSpectrum: Sendable, Equatable {
    /// Counts per pixel.
    public var counts: [Double]
    /// Whether the detector saturated at each pixel.
    public var saturated: [Bool]

    /// A spectrum; `saturated` defaults to no pixel saturated and must have one flag per pixel.
    public init(counts: [Double], saturated: [Bool]? = nil) {
        precondition(saturated == nil || saturated!.count == counts.count, "one saturation flag per pixel")
        self.counts = counts
        self.saturated = saturated ?? [Bool](repeating: false, count: counts.count)
    }

    /// Number of pixels.
    public var count: Int { counts.count }

    /// Whether any pixel saturated.
    public var anySaturated: Bool { saturated.contains(true) }
}
