/// Why a wavelength axis or a spectrum cannot be used, with the pixel and the numbers involved.
public enum SpectraError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer pixels than the analysis needs (its widest filter window).
    case axisTooShort(count: Int, minimum: Int)
    /// A wavelength that is NaN or infinite.
    case axisNotFinite(pixel: Int)
    /// A wavelength at or below zero.
    case axisNotPositive(pixel: Int, nanometres: Double)
    /// A wavelength not greater than the one before it.
    case axisNotIncreasing(pixel: Int, previous: Double, value: Double)

    /// The 0-based pixel the error is about, when there is one.
    public var pixel: Int? {
        switch self {
        case .axisTooShort: nil
        case .axisNotFinite(let pixel), .axisNotPositive(let pixel, _), .axisNotIncreasing(let pixel, _, _): pixel
        }
    }

    public var description: String {
        switch self {
        case .axisTooShort(let count, let minimum):
            "the wavelength axis has \(count) pixels; the analysis needs at least \(minimum)"
        case .axisNotFinite(let pixel):
            "wavelength of pixel \(pixel) is not a finite number"
        case .axisNotPositive(let pixel, let nanometres):
            "wavelength of pixel \(pixel) is \(nanometres) nm; wavelengths must be positive"
        case .axisNotIncreasing(let pixel, let previous, let value):
            "wavelength of pixel \(pixel) is \(value) nm, not greater than \(previous) nm before it: the axis must be strictly increasing"
        }
    }
}
