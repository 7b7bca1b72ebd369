import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Spectra
import Testing

@testable import Campaign

/// The elements of an SVG document as an XML parser sees them.
final class SVGElements: NSObject, XMLParserDelegate {
    struct Element {
        var name: String
        var attributes: [String: String]
        var text = ""
    }

    var elements: [Element] = []
    private var open: [Int] = []

    static func parse(_ text: String) throws -> SVGElements {
        let collector = SVGElements()
        let parser = XMLParser(data: Data(text.utf8))
        parser.delegate = collector
        guard parser.parse() else {
            throw ParseFailure(message: parser.parserError.map { "\($0)" } ?? "unknown XML error")
        }
        return collector
    }

    struct ParseFailure: Error { var message: String }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        elements.append(Element(name: elementName, attributes: attributes))
        open.append(elements.count - 1)
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if let last = open.last { elements[last].text += string }
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        open.removeLast()
    }

    func all(_ name: String, class className: String? = nil) -> [Element] {
        elements.filter { $0.name == name && (className == nil || $0.attributes["class"] == className) }
    }

    /// Pixel = a + b·value, from the first and last tick labels of one axis (the text's position
    /// and the number it shows): an independent reading of the axis, not the writer's own scale.
    func axis(_ which: String) -> (a: Double, b: Double) {
        let labels = all("text", class: "tick-label \(which)")
        let coordinate = which == "x" ? "x" : "y"
        let points = labels.map { (value: Double($0.text)!, pixel: Double($0.attributes[coordinate]!)! - (which == "y" ? 4 : 0)) }
        let first = points.first!
        let last = points.last!
        let b = (last.pixel - first.pixel) / (last.value - first.value)
        return (first.pixel - b * first.value, b)
    }
}

func polylinePoints(_ element: SVGElements.Element) -> [(x: Double, y: Double)] {
    element.attributes["points"]!.split(separator: " ").map { pair in
        let parts = pair.split(separator: ",")
        return (Double(parts[0])!, Double(parts[1])!)
    }
}

/// Distance from p to the segment a-b.
func distance(_ p: (x: Double, y: Double), _ a: (x: Double, y: Double), _ b: (x: Double, y: Double)) -> Double {
    let dx = b.x - a.x
    let dy = b.y - a.y
    let length = dx * dx + dy * dy
    let t = length == 0 ? 0 : max(0, min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / length))
    let cx = a.x + t * dx - p.x
    let cy = a.y + t * dy - p.y
    return (cx * cx + cy * cy).squareRoot()
}

@Suite("SVG plots: nice ticks, polylines that map back to the data, element counts")
struct SVGPlotTests {
    /// Hand-worked: the smallest 1-2-5 step with at most `maximum` ticks over the range.
    @Test(
        "nice tick values",
        arguments: [
            (0.0, 600.0, 7, [0.0, 100, 200, 300, 400, 500, 600], 0),
            (0.0, 600.0, 5, [0.0, 200, 400, 600], 0),
            (2.41, 2.63, 6, [2.40, 2.45, 2.50, 2.55, 2.60, 2.65], 2),
            (-3.2, 7.9, 7, [-4.0, -2, 0, 2, 4, 6, 8], 0),
            (350.0, 700.0, 8, [350.0, 400, 450, 500, 550, 600, 650, 700], 0),
            (5.0, 5.0, 5, [4.6, 4.8, 5.0, 5.2, 5.4], 1),
            (0.0, 0.0, 3, [-1.0, 0, 1], 0),
            (0.013, 0.087, 6, [0.0, 0.02, 0.04, 0.06, 0.08, 0.1], 2),
        ] as [(Double, Double, Int, [Double], Int)])
    func niceTicks(lower: Double, upper: Double, maximum: Int, expected: [Double], decimals: Int) {
        let scale = NiceScale(covering: lower, upper, maximumTicks: maximum)
        #expect(scale.ticks.count == expected.count)
        for (tick, value) in zip(scale.ticks, expected) { #expect(abs(tick - value) < 1e-12) }
        #expect(scale.decimals == decimals)
        #expect(scale.lower == scale.ticks.first && scale.upper == scale.ticks.last)
    }

    @Test("a chosen range is kept exactly, with the nice ticks inside it")
    func clampedScale() {
        let scale = NiceScale(covering: 350, 750, maximumTicks: 7).clamped(to: 350...750)
        #expect(scale.lower == 350 && scale.upper == 750)
        #expect(scale.ticks == [400, 500, 600, 700])
    }

    @Test("tick labels show the ticks exactly", arguments: [(2.41, 2.63, "2.40"), (0.013, 0.087, "0.00"), (350.0, 700.0, "300")])
    func tickLabels(lower: Double, upper: Double, firstLabel: String) {
        let scale = NiceScale(covering: lower, upper, maximumTicks: 6)
        #expect(scale.label(scale.ticks[0]) == firstLabel)
    }

    /// Over many ranges: the ticks cover the range, the step is 1, 2 or 5 times a power of ten,
    /// there are at most `maximum` ticks, and the next smaller nice step would need more.
    @Test("nice ticks cover the range with the tightest 1-2-5 step")
    func niceTickProperties() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let a = Double.random(in: -1000...1000, using: &generator) * pow(10, Double.random(in: -4...2, using: &generator))
            let b = a + abs(a) * Double.random(in: 0.001...3, using: &generator) + 1e-6
            let maximum = Int.random(in: 3...10, using: &generator)
            let scale = NiceScale(covering: a, b, maximumTicks: maximum)
            #expect(scale.lower <= a && scale.upper >= b)
            #expect(scale.ticks.count <= maximum && scale.ticks.count >= 2)
            let exponent = floor(log10(scale.step))
            let mantissa = (scale.step / pow(10, exponent) * 1000).rounded() / 1000
            #expect([1, 2, 5, 10].contains(mantissa))
            let smaller = mantissa == 1 ? 0.5 * scale.step : mantissa == 2 ? 0.5 * scale.step : 0.4 * scale.step
            let needed = Int(((b / smaller).rounded(.up) - (a / smaller).rounded(.down)).rounded()) + 1
            #expect(needed > maximum)
        }
    }

    @Test("a 2048-point curve: every data point within a pixel of the polyline, every vertex on a data point")
    func polylineMapsBackToData() throws {
        let xs = (0..<2048).map { 350 + Double($0) * 0.3 }
        let ys = xs.map { 0.1 + 0.4 * exp(-($0 - 520) * ($0 - 520) / 300) + 0.05 * sin($0 / 3) }
        let plot = SVGPlot(
            title: "curve", xLabel: "Wavelength (nm)", yLabel: "Absorbance",
            series: [SVGPlot.Series(name: "a", xs: xs, ys: ys, colour: .blue)])
        let svg = SVGDocument.stacked([plot]).render()
        let parsed = try SVGElements.parse(svg)
        let lines = parsed.all("polyline", class: "series")
        #expect(lines.count == 1)
        let points = polylinePoints(try #require(lines.first))
        #expect(points.count < xs.count / 4)  // simplified: a smooth curve needs few vertices
        let x = parsed.axis("x")
        let y = parsed.axis("y")
        // The polyline's x increases with the data's: only segments within a few pixels can be nearest.
        #expect(zip(points, points.dropFirst()).allSatisfy { $0.x <= $1.x })
        var worst = 0.0
        var start = 0
        for (dataX, dataY) in zip(xs, ys) {
            let pixel = (x: x.a + x.b * dataX, y: y.a + y.b * dataY)
            var nearest = Double.infinity
            while start + 1 < points.count && points[start + 1].x < pixel.x - 3 { start += 1 }
            var index = start + 1
            while index < points.count && points[index - 1].x <= pixel.x + 3 {
                nearest = min(nearest, distance(pixel, points[index - 1], points[index]))
                index += 1
            }
            worst = max(worst, nearest)
        }
        #expect(worst <= 1)
        var worstVertex = 0.0
        for point in points {
            let dataX = (point.x - x.a) / x.b
            let dataY = (point.y - y.a) / y.b
            var closest = Double.infinity
            // xs are 350 + 0.3 k: look at the data points a few pixels either side.
            let centre = Int(((dataX - 350) / 0.3).rounded())
            for index in max(0, centre - 12)...min(xs.count - 1, max(0, centre + 12)) {
                closest = min(closest, abs(xs[index] - dataX) * abs(x.b) + abs(ys[index] - dataY) * abs(y.b))
            }
            worstVertex = max(worstVertex, closest)
        }
        #expect(worstVertex <= 1)
    }

    @Test("element counts: series, markers, band, legend, title; XML special characters escaped")
    func elementCounts() throws {
        let xs = [0.0, 100, 200, 300]
        let plot = SVGPlot(
            title: "Cd <10> & \"Se\"", xLabel: "t (s)", yLabel: "Peak (eV)",
            series: [
                SVGPlot.Series(name: "mean", xs: xs, ys: [2.5, 2.45, 2.42, 2.4], colour: .grey, dashed: true),
                SVGPlot.Series(name: "measured", xs: xs, ys: [2.51, 2.44, .nan, 2.39], colour: .blue, mark: .points),
                SVGPlot.Series(name: nil, xs: xs, ys: [2.3, .nan, 2.32, 2.33], colour: .red),
            ],
            bands: [SVGPlot.Band(name: "± 2 sd", xs: xs, lower: [2.48, 2.43, 2.4, 2.38], upper: [2.52, 2.47, 2.44, 2.42], colour: .grey)])
        let parsed = try SVGElements.parse(SVGDocument.stacked([plot, plot]).render())
        #expect(parsed.all("svg").count == 1)
        #expect(parsed.all("g", class: "panel").count == 2)
        // Per panel: the dashed mean, the red series broken at NaN into one 2-point run (the lone
        // first point is no line).
        #expect(parsed.all("polyline", class: "series").count == 2 * 2)
        #expect(parsed.all("polyline", class: "series").filter { $0.attributes["stroke-dasharray"] != nil }.count == 2)
        #expect(parsed.all("circle", class: "marker").count == 2 * 3)
        #expect(parsed.all("polygon", class: "band").count == 2)
        #expect(parsed.all("text", class: "legend-label").map(\.text) == ["± 2 sd", "mean", "measured", "± 2 sd", "mean", "measured"])
        #expect(parsed.all("text", class: "title").map(\.text) == ["Cd <10> & \"Se\"", "Cd <10> & \"Se\""])
        #expect(Set(parsed.all("clipPath").compactMap { $0.attributes["id"] }).count == 2)
        // Ticks on nice values: x 0...300 by 50, labels as the numbers.
        #expect(parsed.all("text", class: "tick-label x").prefix(7).map(\.text) == ["0", "50", "100", "150", "200", "250", "300"])
    }

    @Test("the band polygon follows the upper edge out and the lower edge back")
    func bandPolygon() throws {
        let plot = SVGPlot(
            title: "b", xLabel: "x", yLabel: "y", xRange: 0...10, yRange: 0...10,
            bands: [SVGPlot.Band(name: nil, xs: [0, 5, 10], lower: [1, 2, 3], upper: [4, 5, 6], colour: .grey)])
        let parsed = try SVGElements.parse(SVGDocument.stacked([plot]).render())
        let polygon = try #require(parsed.all("polygon", class: "band").first)
        let points = polylinePoints(polygon)
        let x = parsed.axis("x")
        let y = parsed.axis("y")
        let data = points.map { (x: ($0.x - x.a) / x.b, y: ($0.y - y.a) / y.b) }
        let expected: [(Double, Double)] = [(0, 4), (5, 5), (10, 6), (10, 3), (5, 2), (0, 1)]
        #expect(data.count == expected.count)
        for (point, want) in zip(data, expected) {
            #expect(abs(point.x - want.0) * abs(x.b) <= 0.1)
            #expect(abs(point.y - want.1) * abs(y.b) <= 0.1)
        }
    }

    @Test("colours: hex and gradient ends and middle", arguments: [(0.0, "#440154"), (1.0, "#fde725"), (0.5, "#21918c"), (-3.0, "#440154")])
    func gradient(fraction: Double, hex: String) {
        #expect(SVGColour.gradient(SVGColour.viridis, at: fraction).hex == hex)
    }

    @Test("experiment spectra plot: a line per spectrum per panel, coloured by time, a colour key")
    func experimentSpectraPlot() throws {
        let records = (1...4).map {
            ResultsFixtures.record(experiment: 1, index: $0, absorbanceNM: $0 == 2 ? nil : 450, emissionNM: 480)
        }
        let svg = ExperimentPlots.spectra(
            experiment: ResultsFixtures.experiment(1), records: records, absorbanceWindow: 400...700, emissionWindow: 400...700)
        let parsed = try SVGElements.parse(svg)
        let lines = parsed.all("polyline", class: "series")
        #expect(lines.count == 8)  // unfitted spectra are still drawn
        // The latest aliquot is the top of the colour scale.
        #expect(lines[3].attributes["stroke"] == "#fde725")
        #expect(lines[7].attributes["stroke"] == "#fde725")
        #expect(parsed.all("g", class: "colour-key").count == 2)
    }

    @Test("experiment peak plot: measured points, anomalies and the prediction band in both panels")
    func experimentPeakPlot() throws {
        let prediction = AliquotPrediction(
            peakElectronvolts: 2.7, peakSpreadElectronvolts: 0.01, fwhmElectronvolts: 0.15, fwhmSpreadElectronvolts: 0.004)
        let records = (1...5).map {
            ResultsFixtures.record(
                experiment: 1, index: $0, absorbanceNM: $0 == 5 ? nil : 450, emissionNM: 480, prediction: prediction,
                anomaly: $0 == 3 ? "high" : nil)
        }
        let svg = ExperimentPlots.peaks(
            experiment: ResultsFixtures.experiment(1), records: records, predictionKind: .absorbance, bandSigmas: 2)
        let parsed = try SVGElements.parse(svg)
        #expect(parsed.all("polygon", class: "band").count == 2)
        // Per panel: 4 absorbance + 5 PL + 1 anomaly.
        #expect(parsed.all("circle", class: "marker").count == 2 * 10)
        #expect(parsed.all("circle", class: "marker").filter { $0.attributes["fill"] == SVGColour.red.hex }.count == 2)
        #expect(parsed.all("text", class: "legend-label").prefix(4).map(\.text) == ["predicted ± 2 sd", "predicted mean", "absorbance", "PL"])
    }
}
