/// A spectrometer's wavelength axis: one wavelength in nm per pixel, strictly increasing, with the
/// photon energy of each pixel (E = 1239.84193 / λ, so energies decrease with the pixel index).
///
/// On the rig it comes from the spectrometer's wavelength coefficients (information slots 1..4,
/// λ(p) = c0 + c1·p + c2·p² + c3·p³; PROTOCOLS.md §1); the published platform's cropped axes are
/// `data/cdse/uv_wavelengths.csv` and `pl_wavelengths.csv` (2028 pixels each, 0.28-0.39 nm apart).
public struct WavelengthAxis: Sendable, Equatable {
    /// Wavelength of each pixel, nm.
    public let nanometres: [Double]
    /// Photon energy of each pixel, eV (decreasing with the pixel index).
    public let electronvolts: [Double]

    /// Checks the axis: at least `minimumCount` pixels, every value finite and positive, each
    /// greater than the one before.
    public init(nanometres: [Double], minimumCount: Int = 2) throws(SpectraError) {
        guard nanometres.count >= max(2, minimumCount) else {
            throw .axisTooShort(count: nanometres.count, minimum: max(2, minimumCount))
        }
        for (pixel, value) in nanometres.enumerated() {
            guard value.isFinite else { throw .axisNotFinite(pixel: pixel) }
            guard value > 0 else { throw .axisNotPositive(pixel: pixel, nanometres: value) }
            if pixel > 0 && !(value > nanometres[pixel - 1]) {
                throw .axisNotIncreasing(pixel: pixel, previous: nanometres[pixel - 1], value: value)
            }
        }
        self.nanometres = nanometres
        self.electronvolts = nanometres.map { PhotonEnergy.electronvolts(nanometres: $0) }
    }

    /// Number of pixels.
    public var count: Int { nanometres.count }

    /// The first pixel whose wavelength is at least `wavelength` (`count` when there is none).
    public func firstPixel(atOrAbove wavelength: Double) -> Int {
        var low = 0
        var high = nanometres.count
        while low < high {
            let middle = (low + high) / 2
            if nanometres[middle] < wavelength { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// The pixel range whose wavelengths lie in `range` (possibly empty).
    public func pixels(in range: ClosedRange<Double>) -> Range<Int> {
        let lower = firstPixel(atOrAbove: range.lowerBound)
        var upper = firstPixel(atOrAbove: range.upperBound)
        if upper < nanometres.count && nanometres[upper] == range.upperBound { upper += 1 }
        return lower..<max(lower, upper)
    }
}
