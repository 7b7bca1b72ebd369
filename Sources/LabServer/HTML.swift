/// HTML text escaping (the five characters of the HTML spec's "escapable" set, so text is safe
/// in element content and in quoted attribute values) and URL query components.
public enum HTML {
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    public static func queryComponent(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let digits = Array("0123456789ABCDEF".unicodeScalars)
                out += "%"
                out.unicodeScalars.append(digits[Int(byte >> 4)])
                out.unicodeScalars.append(digits[Int(byte & 0xF)])
            }
        }
        return out
    }

    /// A number for display: `digits` decimals, "–" when not finite.
    public static func number(_ value: Double?, digits: Int = 1) -> String {
        guard let value, value.isFinite else { return "–" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        var text = String(rounded)
        if digits == 0, text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    /// Nanoseconds since the epoch as `YYYY-MM-DD HH:MM:SS` UTC (civil-from-days, H. Hinnant).
    public static func time(_ nanoseconds: Int64?) -> String {
        guard let nanoseconds else { return "never" }
        let seconds = nanoseconds / 1_000_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthPrime = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthPrime + 2) / 5 + 1
        let month = monthPrime < 10 ? monthPrime + 3 : monthPrime - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ value: Int64) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(secondOfDay / 3600)):\(two(secondOfDay / 60 % 60)):\(two(secondOfDay % 60))"
    }
}

/// A line plot as inline SVG: series of points, linear axes with ticks, a legend.
public struct SVGPlot: Sendable {
    public struct Series: Sendable {
        public var name: String
        public var points: [(x: Double, y: Double)]
        public var color: String
        /// Dashed: a prediction, not a measurement.
        public var dashed: Bool
        /// Points as circles (measurements) instead of a line.
        public var markers: Bool

        public init(name: String, points: [(x: Double, y: Double)], color: String, dashed: Bool = false, markers: Bool = false) {
            self.name = name
            self.points = points.filter { $0.x.isFinite && $0.y.isFinite }
            self.color = color
            self.dashed = dashed
            self.markers = markers
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    public var width = 560.0
    public var height = 300.0

    public init(title: String, xLabel: String, yLabel: String, series: [Series]) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
    }

    public func render(id: String) -> String {
        let left = 60.0, right = 130.0, top = 28.0, bottom = 42.0
        let all = series.flatMap(\.points)
        var svg = "<svg id=\"\(HTML.escape(id))\" class=\"plot\" xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">"
        svg += "<text x=\"\(Int(width / 2))\" y=\"16\" text-anchor=\"middle\" class=\"title\">\(HTML.escape(title))</text>"
        guard let minX = all.map(\.x).min(), let maxX = all.map(\.x).max(), let minY = all.map(\.y).min(),
            let maxY = all.map(\.y).max()
        else {
            return svg + "<text x=\"\(Int(width / 2))\" y=\"\(Int(height / 2))\" text-anchor=\"middle\">no data</text></svg>"
        }
        let spanX = maxX > minX ? maxX - minX : 1
        let padY = maxY > minY ? (maxY - minY) * 0.05 : 1
        let lowY = minY - padY, spanY = (maxY + padY) - lowY
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        func px(_ x: Double) -> String { HTML.number(left + (x - minX) / spanX * plotWidth, digits: 1) }
        func py(_ y: Double) -> String { HTML.number(top + plotHeight - (y - lowY) / spanY * plotHeight, digits: 1) }
        svg += "<rect x=\"\(Int(left))\" y=\"\(Int(top))\" width=\"\(Int(plotWidth))\" height=\"\(Int(plotHeight))\" fill=\"none\" stroke=\"#888\"/>"
        for tick in 0...4 {
            let x = minX + spanX * Double(tick) / 4
            let y = lowY + spanY * Double(tick) / 4
            svg += "<text x=\"\(px(x))\" y=\"\(Int(height - bottom + 14))\" text-anchor=\"middle\" class=\"tick\">\(HTML.number(x, digits: 0))</text>"
            svg += "<text x=\"\(Int(left - 4))\" y=\"\(py(y))\" text-anchor=\"end\" class=\"tick\">\(HTML.number(y, digits: spanY < 5 ? 2 : 0))</text>"
        }
        svg += "<text x=\"\(Int(left + plotWidth / 2))\" y=\"\(Int(height - 6))\" text-anchor=\"middle\">\(HTML.escape(xLabel))</text>"
        svg += "<text x=\"14\" y=\"\(Int(top + plotHeight / 2))\" text-anchor=\"middle\" transform=\"rotate(-90 14 \(Int(top + plotHeight / 2)))\">\(HTML.escape(yLabel))</text>"
        var legendEntries = 0
        for line in series where !line.points.isEmpty {
            let color = HTML.escape(line.color)
            if line.markers {
                for point in line.points {
                    svg += "<circle cx=\"\(px(point.x))\" cy=\"\(py(point.y))\" r=\"3\" fill=\"\(color)\"/>"
                }
            } else {
                let path = line.points.map { "\(px($0.x)),\(py($0.y))" }.joined(separator: " ")
                svg += "<polyline class=\"series\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"\(line.dashed ? " stroke-dasharray=\"5 3\"" : "") points=\"\(path)\"/>"
            }
            // A series without a name draws no legend entry (many spectra: label a few).
            guard !line.name.isEmpty else { continue }
            let legendY = Int(top) + 14 * legendEntries + 8
            legendEntries += 1
            svg += "<line x1=\"\(Int(width - right + 8))\" y1=\"\(legendY)\" x2=\"\(Int(width - right + 24))\" y2=\"\(legendY)\" stroke=\"\(color)\" stroke-width=\"2\"\(line.dashed ? " stroke-dasharray=\"4 2\"" : "")/>"
            svg += "<text x=\"\(Int(width - right + 28))\" y=\"\(legendY + 4)\" class=\"legend\">\(HTML.escape(line.name))</text>"
        }
        return svg + "</svg>"
    }
}
