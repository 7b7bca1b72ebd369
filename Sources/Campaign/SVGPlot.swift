/// A small SVG 1.1 line-plot writer for the results folder's plots: axes with nice tick values,
/// axis labels, a title, polylines, point markers, shaded bands, a legend and a colour key. No
/// dependencies; the output is plain text a browser or an XML parser reads.

/// An sRGB colour, written `#rrggbb`.
public struct SVGColour: Equatable, Hashable, Sendable {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// From `0xRRGGBB`.
    public init(hex: UInt32) {
        self.init(red: UInt8((hex >> 16) & 0xFF), green: UInt8((hex >> 8) & 0xFF), blue: UInt8(hex & 0xFF))
    }

    /// `#rrggbb`, lower case.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = [UInt8(ascii: "#")]
        for component in [red, green, blue] {
            bytes.append(digits[Int(component >> 4)])
            bytes.append(digits[Int(component & 0xF)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The colour at `fraction` (clamped to 0...1) along straight segments between `stops`.
    public static func gradient(_ stops: [SVGColour], at fraction: Double) -> SVGColour {
        precondition(!stops.isEmpty, "a gradient needs at least one colour")
        guard stops.count > 1 else { return stops[0] }
        let clamped = fraction.isFinite ? min(max(fraction, 0), 1) : 0
        let position = clamped * Double(stops.count - 1)
        let index = min(Int(position), stops.count - 2)
        let local = position - Double(index)
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 {
            UInt8((Double(a) + (Double(b) - Double(a)) * local).rounded())
        }
        let a = stops[index]
        let b = stops[index + 1]
        return SVGColour(red: mix(a.red, b.red), green: mix(a.green, b.green), blue: mix(a.blue, b.blue))
    }

    /// Five stops of matplotlib's perceptually uniform "viridis" map (dark purple to yellow): the
    /// time colouring of the spectra plots (early dark, late light).
    public static let viridis: [SVGColour] = [
        SVGColour(hex: 0x440154), SVGColour(hex: 0x3B528B), SVGColour(hex: 0x21918C), SVGColour(hex: 0x5EC962),
        SVGColour(hex: 0xFDE725),
    ]
    public static let black = SVGColour(hex: 0x000000)
    public static let grey = SVGColour(hex: 0x888888)
    public static let lightGrey = SVGColour(hex: 0xDDDDDD)
    /// The "tab10" blue, orange and red of matplotlib, for measured series and anomalies.
    public static let blue = SVGColour(hex: 0x1F77B4)
    public static let orange = SVGColour(hex: 0xFF7F0E)
    public static let red = SVGColour(hex: 0xD62728)
}

/// Axis tick values on "nice" numbers (1, 2 or 5 times a power of ten), after Heckbert, "Nice
/// numbers for graph labels" (Graphics Gems, 1990): the smallest such step that covers
/// `lower...upper` with at most `maximumTicks` ticks; the axis then runs from the tick at or below
/// `lower` to the tick at or above `upper`.
public struct NiceScale: Equatable, Sendable {
    /// The axis ends: the first and last tick.
    public var lower: Double
    public var upper: Double
    /// The distance between ticks.
    public var step: Double
    /// The tick values, `lower` to `upper` by `step`.
    public var ticks: [Double]
    /// Decimals that show every tick exactly (0 for steps of 1 or more).
    public var decimals: Int

    /// A range of zero width is widened by 5 % of its value (or 1 at zero) on each side.
    public init(covering lower: Double, _ upper: Double, maximumTicks: Int = 7) {
        precondition(lower.isFinite && upper.isFinite && lower <= upper, "a finite range, lower <= upper")
        precondition(maximumTicks >= 2, "at least two ticks")
        var low = lower
        var high = upper
        if high - low <= abs(low) * 1e-12 {
            let pad = low == 0 ? 1 : abs(low) * 0.05
            low -= pad
            high += pad
        }
        // Start a decade below the step a plain division suggests and walk up 1, 2, 5, 10...
        var exponent = Int((svgLog10Floor((high - low) / Double(maximumTicks)))) - 1
        var chosen: (step: Double, first: Double, count: Int)?
        while chosen == nil {
            for mantissa in [1.0, 2.0, 5.0] {
                let step = mantissa * svgPower10(exponent)
                let first = (low / step).rounded(.down)
                let last = (high / step).rounded(.up)
                let count = Int(last - first) + 1
                if count <= maximumTicks {
                    chosen = (step, first, count)
                    break
                }
            }
            exponent += 1
        }
        let (step, first, count) = chosen!
        self.step = step
        // Each tick from its own integer multiple, so no error accumulates; `+ 0` clears -0.
        self.ticks = (0..<count).map { (first + Double($0)) * step + 0 }
        self.lower = ticks[0]
        self.upper = ticks[count - 1]
        let stepExponent = svgLog10Floor(step * (1 + 1e-9))
        self.decimals = max(0, -stepExponent)
    }

    /// The axis cut to exactly `range` (a range the caller chose, such as a wavelength window),
    /// keeping the ticks inside it.
    public func clamped(to range: ClosedRange<Double>) -> NiceScale {
        guard range.upperBound > range.lowerBound else { return self }
        var scale = self
        let slack = (range.upperBound - range.lowerBound) * 1e-9
        scale.lower = range.lowerBound
        scale.upper = range.upperBound
        scale.ticks = ticks.filter { $0 >= range.lowerBound - slack && $0 <= range.upperBound + slack }
        return scale
    }

    /// `value` written with the scale's decimals.
    public func label(_ value: Double) -> String {
        DecimalText.string(value, decimals: decimals, trimZeros: false)
    }
}

/// ⌊log10(x)⌋ for x > 0, exact at powers of ten.
func svgLog10Floor(_ x: Double) -> Int {
    precondition(x > 0 && x.isFinite)
    var exponent = 0
    var value = x
    while value >= 10 {
        value /= 10
        exponent += 1
    }
    while value < 1 {
        value *= 10
        exponent -= 1
    }
    return exponent
}

/// 10^exponent, exact for the exponents Double represents exactly (|exponent| <= 22).
func svgPower10(_ exponent: Int) -> Double {
    var result = 1.0
    if exponent >= 0 {
        for _ in 0..<exponent { result *= 10 }
    } else {
        for _ in 0..<(-exponent) { result /= 10 }
    }
    return result
}

/// A rectangle in SVG user units (pixels), y downwards.
public struct SVGFrame: Equatable, Sendable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double

    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }
}

/// One plot (one set of axes): what to draw and how it is labelled. An axis without a given
/// range spans the data, widened to nice tick values (`NiceScale`); a given range is kept exactly,
/// with the nice ticks inside it.
public struct SVGPlot: Sendable {
    public enum Mark: Sendable, Equatable {
        /// A polyline through the points (broken at non-finite values).
        case line
        /// A circle at each point.
        case points
        case lineAndPoints
    }

    public struct Series: Sendable {
        /// The legend entry; nil keeps it out of the legend.
        public var name: String?
        public var xs: [Double]
        public var ys: [Double]
        public var colour: SVGColour
        public var mark: Mark
        public var dashed: Bool

        public init(name: String?, xs: [Double], ys: [Double], colour: SVGColour, mark: Mark = .line, dashed: Bool = false) {
            precondition(xs.count == ys.count, "one y per x")
            self.name = name
            self.xs = xs
            self.ys = ys
            self.colour = colour
            self.mark = mark
            self.dashed = dashed
        }
    }

    /// A shaded area between `lower` and `upper` over `xs` (xs increasing), e.g. a prediction
    /// interval.
    public struct Band: Sendable {
        public var name: String?
        public var xs: [Double]
        public var lower: [Double]
        public var upper: [Double]
        public var colour: SVGColour
        public var opacity: Double

        public init(name: String?, xs: [Double], lower: [Double], upper: [Double], colour: SVGColour, opacity: Double = 0.25) {
            precondition(xs.count == lower.count && xs.count == upper.count, "one lower and upper per x")
            self.name = name
            self.xs = xs
            self.lower = lower
            self.upper = upper
            self.colour = colour
            self.opacity = opacity
        }
    }

    /// A colour bar at the right of the plot explaining a colour scale (`stops` from `lower` at the
    /// bottom to `upper` at the top).
    public struct ColourKey: Sendable {
        public var label: String
        public var lower: Double
        public var upper: Double
        public var stops: [SVGColour]

        public init(label: String, lower: Double, upper: Double, stops: [SVGColour]) {
            self.label = label
            self.lower = lower
            self.upper = upper
            self.stops = stops
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var xRange: ClosedRange<Double>?
    public var yRange: ClosedRange<Double>?
    public var series: [Series]
    public var bands: [Band]
    public var colourKey: ColourKey?
    public var maximumTicks: Int

    public init(
        title: String, xLabel: String, yLabel: String, xRange: ClosedRange<Double>? = nil,
        yRange: ClosedRange<Double>? = nil, series: [Series] = [], bands: [Band] = [], colourKey: ColourKey? = nil,
        maximumTicks: Int = 7
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.xRange = xRange
        self.yRange = yRange
        self.series = series
        self.bands = bands
        self.colourKey = colourKey
        self.maximumTicks = maximumTicks
    }

    /// Space around the axes inside a panel's frame: title above, tick labels and axis labels
    /// left and below, the colour key (when there is one) right.
    static let marginLeft = 64.0
    static let marginTop = 28.0
    static let marginBottom = 44.0
    static let marginRight = 16.0
    static let colourKeyWidth = 64.0

    /// Where the axes go inside `frame`, and the two scales.
    public struct Layout: Equatable, Sendable {
        public var area: SVGFrame
        public var x: NiceScale
        public var y: NiceScale

        /// The pixel of a data point.
        public func pixel(x value: Double) -> Double {
            area.x + (value - x.lower) / (x.upper - x.lower) * area.width
        }

        public func pixel(y value: Double) -> Double {
            area.y + area.height - (value - y.lower) / (y.upper - y.lower) * area.height
        }
    }

    public func layout(in frame: SVGFrame) -> Layout {
        let right = Self.marginRight + (colourKey == nil ? 0 : Self.colourKeyWidth)
        let area = SVGFrame(
            x: frame.x + Self.marginLeft, y: frame.y + Self.marginTop,
            width: max(frame.width - Self.marginLeft - right, 1), height: max(frame.height - Self.marginTop - Self.marginBottom, 1))
        let xs = xRange ?? dataRange(series.map(\.xs) + bands.map(\.xs))
        let ys = yRange ?? dataRange(series.map(\.ys) + bands.map(\.lower) + bands.map(\.upper), restrictedTo: xRange)
        // A range given by the caller is kept exactly; one from the data widens to nice ticks.
        var x = NiceScale(covering: xs.lowerBound, xs.upperBound, maximumTicks: maximumTicks)
        if let xRange { x = x.clamped(to: xRange) }
        var y = NiceScale(covering: ys.lowerBound, ys.upperBound, maximumTicks: max(2, maximumTicks - 1))
        if let yRange { y = y.clamped(to: yRange) }
        return Layout(area: area, x: x, y: y)
    }

    /// The finite values' range (of y values only where x lies in `restrictedTo`), 0...1 if none.
    private func dataRange(_ arrays: [[Double]], restrictedTo window: ClosedRange<Double>? = nil) -> ClosedRange<Double> {
        var low = Double.infinity
        var high = -Double.infinity
        if let window {
            // Pair the y arrays back with their x arrays to honour the window.
            var pairs: [([Double], [Double])] = series.map { ($0.xs, $0.ys) }
            pairs += bands.map { ($0.xs, $0.lower) } + bands.map { ($0.xs, $0.upper) }
            for (xs, ys) in pairs {
                for (x, y) in zip(xs, ys) where window.contains(x) && y.isFinite {
                    low = min(low, y)
                    high = max(high, y)
                }
            }
        } else {
            for array in arrays {
                for value in array where value.isFinite {
                    low = min(low, value)
                    high = max(high, value)
                }
            }
        }
        return low <= high ? low...high : 0...1
    }

    /// The SVG elements of this plot drawn in `frame`; `identifier` keeps the clip path and gradient
    /// ids of several plots in one document apart.
    public func elements(in frame: SVGFrame, identifier: Int) -> String {
        let layout = layout(in: frame)
        let area = layout.area
        var out = SVGText()
        let clip = "clip-\(identifier)"
        out.line("<g class=\"panel\" id=\"panel-\(identifier)\">")
        out.line("<defs><clipPath id=\"\(clip)\"><rect x=\"\(svgNumber(area.x))\" y=\"\(svgNumber(area.y))\" width=\"\(svgNumber(area.width))\" height=\"\(svgNumber(area.height))\"/></clipPath></defs>")
        out.line("<text class=\"title\" x=\"\(svgNumber(area.x + area.width / 2))\" y=\"\(svgNumber(frame.y + 18))\" text-anchor=\"middle\" font-size=\"14\">\(svgEscape(title))</text>")

        // Grid and ticks.
        let bottom = area.y + area.height
        for tick in layout.x.ticks {
            let px = layout.pixel(x: tick)
            out.line("<line class=\"grid\" x1=\"\(svgNumber(px))\" y1=\"\(svgNumber(area.y))\" x2=\"\(svgNumber(px))\" y2=\"\(svgNumber(bottom))\" stroke=\"\(SVGColour.lightGrey.hex)\"/>")
            out.line("<line class=\"tick\" x1=\"\(svgNumber(px))\" y1=\"\(svgNumber(bottom))\" x2=\"\(svgNumber(px))\" y2=\"\(svgNumber(bottom + 5))\" stroke=\"#000000\"/>")
            out.line("<text class=\"tick-label x\" x=\"\(svgNumber(px))\" y=\"\(svgNumber(bottom + 18))\" text-anchor=\"middle\" font-size=\"11\">\(layout.x.label(tick))</text>")
        }
        for tick in layout.y.ticks {
            let py = layout.pixel(y: tick)
            out.line("<line class=\"grid\" x1=\"\(svgNumber(area.x))\" y1=\"\(svgNumber(py))\" x2=\"\(svgNumber(area.x + area.width))\" y2=\"\(svgNumber(py))\" stroke=\"\(SVGColour.lightGrey.hex)\"/>")
            out.line("<line class=\"tick\" x1=\"\(svgNumber(area.x - 5))\" y1=\"\(svgNumber(py))\" x2=\"\(svgNumber(area.x))\" y2=\"\(svgNumber(py))\" stroke=\"#000000\"/>")
            out.line("<text class=\"tick-label y\" x=\"\(svgNumber(area.x - 8))\" y=\"\(svgNumber(py + 4))\" text-anchor=\"end\" font-size=\"11\">\(layout.y.label(tick))</text>")
        }
        out.line("<text class=\"axis-label x\" x=\"\(svgNumber(area.x + area.width / 2))\" y=\"\(svgNumber(bottom + 36))\" text-anchor=\"middle\" font-size=\"12\">\(svgEscape(xLabel))</text>")
        let yLabelX = frame.x + 16
        let yLabelY = area.y + area.height / 2
        out.line("<text class=\"axis-label y\" x=\"\(svgNumber(yLabelX))\" y=\"\(svgNumber(yLabelY))\" text-anchor=\"middle\" font-size=\"12\" transform=\"rotate(-90 \(svgNumber(yLabelX)) \(svgNumber(yLabelY)))\">\(svgEscape(yLabel))</text>")

        // Data, clipped to the axes.
        out.line("<g clip-path=\"url(#\(clip))\">")
        for band in bands {
            var points: [String] = []
            var index = 0
            // Upper edge left to right, lower edge back: one polygon per run of finite values.
            while index < band.xs.count {
                var run: [Int] = []
                while index < band.xs.count, band.xs[index].isFinite, band.lower[index].isFinite, band.upper[index].isFinite {
                    run.append(index)
                    index += 1
                }
                if run.count >= 2 {
                    points = run.map { "\(svgNumber(layout.pixel(x: band.xs[$0]))),\(svgNumber(layout.pixel(y: band.upper[$0])))" }
                    points += run.reversed().map { "\(svgNumber(layout.pixel(x: band.xs[$0]))),\(svgNumber(layout.pixel(y: band.lower[$0])))" }
                    out.line("<polygon class=\"band\" points=\"\(points.joined(separator: " "))\" fill=\"\(band.colour.hex)\" fill-opacity=\"\(svgNumber(band.opacity, 2))\" stroke=\"none\"/>")
                }
                index += 1
            }
        }
        for series in series {
            if series.mark != .points {
                for run in Self.decimatedRuns(series, layout: layout) where run.count >= 2 {
                    var bytes: [UInt8] = []
                    bytes.reserveCapacity(run.count * 12)
                    for (index, point) in run.enumerated() {
                        if index > 0 { bytes.append(UInt8(ascii: " ")) }
                        DecimalText.append(point.x, decimals: 1, to: &bytes)
                        bytes.append(UInt8(ascii: ","))
                        DecimalText.append(point.y, decimals: 1, to: &bytes)
                    }
                    let points = String(decoding: bytes, as: UTF8.self)
                    let dash = series.dashed ? " stroke-dasharray=\"6 4\"" : ""
                    out.line("<polyline class=\"series\" points=\"\(points)\" fill=\"none\" stroke=\"\(series.colour.hex)\" stroke-width=\"1.5\"\(dash)/>")
                }
            }
            if series.mark != .line {
                for (x, y) in zip(series.xs, series.ys) where x.isFinite && y.isFinite {
                    out.line("<circle class=\"marker\" cx=\"\(svgNumber(layout.pixel(x: x)))\" cy=\"\(svgNumber(layout.pixel(y: y)))\" r=\"2.5\" fill=\"\(series.colour.hex)\"/>")
                }
            }
        }
        out.line("</g>")
        out.line("<rect class=\"frame\" x=\"\(svgNumber(area.x))\" y=\"\(svgNumber(area.y))\" width=\"\(svgNumber(area.width))\" height=\"\(svgNumber(area.height))\" fill=\"none\" stroke=\"#000000\"/>")

        // Legend: top right inside the axes, one entry per named series or band.
        var entries: [(name: String, colour: SVGColour, kind: String)] = []
        for band in bands { if let name = band.name { entries.append((name, band.colour, "band")) } }
        for series in series {
            if let name = series.name { entries.append((name, series.colour, series.mark == .points ? "points" : "line")) }
        }
        if !entries.isEmpty {
            let longest = entries.map(\.name.count).max() ?? 0
            let width = 34 + Double(longest) * 6.2
            let left = area.x + area.width - width - 6
            let top = area.y + 6
            out.line("<g class=\"legend\">")
            out.line("<rect x=\"\(svgNumber(left))\" y=\"\(svgNumber(top))\" width=\"\(svgNumber(width))\" height=\"\(svgNumber(Double(entries.count) * 16 + 6))\" fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"\(SVGColour.grey.hex)\"/>")
            for (index, entry) in entries.enumerated() {
                let y = top + 14 + Double(index) * 16
                switch entry.kind {
                case "band":
                    out.line("<rect x=\"\(svgNumber(left + 6))\" y=\"\(svgNumber(y - 8))\" width=\"18\" height=\"10\" fill=\"\(entry.colour.hex)\" fill-opacity=\"0.35\"/>")
                case "points":
                    out.line("<circle cx=\"\(svgNumber(left + 15))\" cy=\"\(svgNumber(y - 3))\" r=\"3\" fill=\"\(entry.colour.hex)\"/>")
                default:
                    out.line("<line x1=\"\(svgNumber(left + 6))\" y1=\"\(svgNumber(y - 3))\" x2=\"\(svgNumber(left + 24))\" y2=\"\(svgNumber(y - 3))\" stroke=\"\(entry.colour.hex)\" stroke-width=\"2\"/>")
                }
                out.line("<text class=\"legend-label\" x=\"\(svgNumber(left + 30))\" y=\"\(svgNumber(y + 1))\" font-size=\"11\">\(svgEscape(entry.name))</text>")
            }
            out.line("</g>")
        }

        if let key = colourKey {
            let gradient = "key-\(identifier)"
            let left = area.x + area.width + 14
            out.line("<g class=\"colour-key\">")
            out.line("<defs><linearGradient id=\"\(gradient)\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">")
            for (index, stop) in key.stops.enumerated() {
                let offset = key.stops.count == 1 ? 0 : Double(index) / Double(key.stops.count - 1)
                out.line("<stop offset=\"\(svgNumber(offset, 3))\" stop-color=\"\(stop.hex)\"/>")
            }
            out.line("</linearGradient></defs>")
            out.line("<rect x=\"\(svgNumber(left))\" y=\"\(svgNumber(area.y))\" width=\"12\" height=\"\(svgNumber(area.height))\" fill=\"url(#\(gradient))\" stroke=\"\(SVGColour.grey.hex)\"/>")
            let scale = NiceScale(covering: key.lower, key.upper, maximumTicks: 5)
            for tick in scale.ticks where tick >= key.lower - 1e-9 * abs(key.upper) && tick <= key.upper + 1e-9 * abs(key.upper) {
                let fraction = key.upper > key.lower ? (tick - key.lower) / (key.upper - key.lower) : 0
                let y = area.y + area.height * (1 - fraction)
                out.line("<text class=\"key-label\" x=\"\(svgNumber(left + 16))\" y=\"\(svgNumber(y + 4))\" font-size=\"10\">\(scale.label(tick))</text>")
            }
            out.line("<text class=\"key-title\" x=\"\(svgNumber(left))\" y=\"\(svgNumber(area.y - 6))\" font-size=\"11\">\(svgEscape(key.label))</text>")
            out.line("</g>")
        }
        out.line("</g>")
        return out.text
    }

    /// How far a drawn line may stray from the data, px.
    static let lineTolerance = 0.3

    /// The series' points in pixels, split at non-finite values, each run simplified with the
    /// Ramer-Douglas-Peucker algorithm (Ramer 1972; Douglas and Peucker 1973) to the vertices
    /// needed to keep every point within `lineTolerance` px of the line. The kept vertices are
    /// data points; a smooth spectrum of 2048 pixels needs a few dozen.
    static func decimatedRuns(_ series: Series, layout: Layout) -> [[(x: Double, y: Double)]] {
        var runs: [[(x: Double, y: Double)]] = []
        var run: [(x: Double, y: Double)] = []
        for (x, y) in zip(series.xs, series.ys) {
            guard x.isFinite && y.isFinite else {
                if !run.isEmpty { runs.append(simplified(run, tolerance: lineTolerance)) }
                run = []
                continue
            }
            run.append((x: layout.pixel(x: x), y: layout.pixel(y: y)))
        }
        if !run.isEmpty { runs.append(simplified(run, tolerance: lineTolerance)) }
        return runs
    }

    /// Ramer-Douglas-Peucker: keep the end points, then recursively the point farthest from the
    /// chord while it is farther than `tolerance` (an explicit stack: no recursion depth limit).
    static func simplified(_ points: [(x: Double, y: Double)], tolerance: Double) -> [(x: Double, y: Double)] {
        guard points.count > 2 else { return points }
        var keep = [Bool](repeating: false, count: points.count)
        keep[0] = true
        keep[points.count - 1] = true
        var pending = [(first: 0, last: points.count - 1)]
        while let (first, last) = pending.popLast() {
            guard last > first + 1 else { continue }
            let a = points[first]
            let b = points[last]
            let dx = b.x - a.x
            let dy = b.y - a.y
            let lengthSquared = dx * dx + dy * dy
            var farthest = first
            var farthestDistance = -1.0
            for index in (first + 1)..<last {
                let p = points[index]
                // Distance to the segment a-b (not the infinite line: the data can turn back).
                let t = lengthSquared == 0 ? 0 : max(0, min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / lengthSquared))
                let ex = a.x + t * dx - p.x
                let ey = a.y + t * dy - p.y
                let distance = ex * ex + ey * ey
                if distance > farthestDistance {
                    farthestDistance = distance
                    farthest = index
                }
            }
            if farthestDistance > tolerance * tolerance {
                keep[farthest] = true
                pending.append((first, farthest))
                pending.append((farthest, last))
            }
        }
        return points.indices.filter { keep[$0] }.map { points[$0] }
    }
}

/// A whole SVG document of one or more plots, each in its own frame.
public struct SVGDocument: Sendable {
    public struct Panel: Sendable {
        public var plot: SVGPlot
        public var frame: SVGFrame

        public init(plot: SVGPlot, frame: SVGFrame) {
            self.plot = plot
            self.frame = frame
        }
    }

    public var width: Double
    public var height: Double
    public var panels: [Panel]

    public init(width: Double, height: Double, panels: [Panel]) {
        self.width = width
        self.height = height
        self.panels = panels
    }

    /// Plots stacked top to bottom, each `panelHeight` high, the full width.
    public static func stacked(_ plots: [SVGPlot], width: Double = 720, panelHeight: Double = 320) -> SVGDocument {
        SVGDocument(
            width: width, height: panelHeight * Double(plots.count),
            panels: plots.enumerated().map { index, plot in
                Panel(plot: plot, frame: SVGFrame(x: 0, y: Double(index) * panelHeight, width: width, height: panelHeight))
            })
    }

    /// The document: an XML declaration, the `svg` root with a white background, the panels.
    public func render() -> String {
        var out = SVGText()
        out.line("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        out.line(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"\(svgNumber(width))\" height=\"\(svgNumber(height))\" viewBox=\"0 0 \(svgNumber(width)) \(svgNumber(height))\" font-family=\"sans-serif\">")
        out.line("<rect class=\"background\" x=\"0\" y=\"0\" width=\"\(svgNumber(width))\" height=\"\(svgNumber(height))\" fill=\"#ffffff\"/>")
        for (index, panel) in panels.enumerated() {
            out.text += panel.plot.elements(in: panel.frame, identifier: index)
        }
        out.line("</svg>")
        return out.text
    }
}

/// Text being built line by line.
struct SVGText {
    var text = ""

    mutating func line(_ line: String) {
        text += line
        text += "\n"
    }
}

/// A coordinate or attribute number: `decimals` places (1 by default), trailing zeros dropped.
func svgNumber(_ value: Double, _ decimals: Int = 1) -> String {
    DecimalText.string(value, decimals: decimals, trimZeros: true)
}

/// Text content or an attribute value with XML's special characters escaped.
func svgEscape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for character in text {
        switch character {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "'": out += "&apos;"
        default: out.append(character)
        }
    }
    return out
}
