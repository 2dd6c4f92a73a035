// Small, dependency-free SVG plots for the reports: lines and labelled points on linear or log
// axes, with ticks, a legend and an optional Pareto front. Plain SVG 1.1 that browsers, GitHub and
// Jupyter display as is.

import Foundation

public struct SVGPlot {
    public struct Series {
        public var name: String
        public var points: [(x: Double, y: Double)]
        /// Draw a polyline through the points (else markers only).
        public var line: Bool
        /// Text beside each point (same count as points), or nil.
        public var labels: [String]?

        public init(name: String, points: [(x: Double, y: Double)], line: Bool, labels: [String]? = nil) {
            self.name = name
            self.points = points
            self.line = line
            self.labels = labels
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var logX = false
    public var series: [Series] = []
    /// Points (over all series) on the lower-left Pareto front (smaller x and smaller y both better) are joined by a dashed line.
    public var paretoFront = false
    public var width = 720.0, height = 440.0
    /// x tick labels as value / divisor + suffix (e.g. bytes as MB); nil: plain numbers.
    public var xUnit: (divisor: Double, suffix: String)?

    public init(title: String, xLabel: String, yLabel: String, logX: Bool = false) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.logX = logX
    }

    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]

    /// Whether a point can be drawn: finite coordinates (NaN, the loss of a model whose logits hold
    /// NaN, is left out, not drawn at NaN), within ±1e300 so spans and padding stay finite, and
    /// x > 0 on a log axis.
    func plottable(_ point: (x: Double, y: Double)) -> Bool {
        let limit = 1e300
        return abs(point.y) <= limit && (logX ? point.x > 0 && point.x.isFinite : abs(point.x) <= limit)
    }

    /// The SVG document.
    public func render() -> String {
        let all = series.flatMap(\.points).filter(plottable)
        let (left, right, top, bottom) = (70.0, 190.0, 40.0, 55.0)
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        var svg = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="Helvetica, Arial, sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(left)" y="22" font-size="15" font-weight="bold">\(escape(title))</text>

        """
        guard !all.isEmpty else { return svg + "<text x=\"\(left)\" y=\"\(top + 20)\">no data</text>\n</svg>\n" }
        func tx(_ x: Double) -> Double { logX ? log10(x) : x }
        var (xMin, xMax) = (all.map { tx($0.x) }.min()!, all.map { tx($0.x) }.max()!)
        var (yMin, yMax) = (all.map(\.y).min()!, all.map(\.y).max()!)
        // A single value: widen by ±0.5, or by a millionth of a value so large that 0.5 is below its ulp.
        if xMax - xMin < 1e-12 { let w = max(0.5, abs(xMax) * 1e-6); xMin -= w; xMax += w }
        if yMax - yMin < 1e-12 { let w = max(0.5, abs(yMax) * 1e-6); yMin -= w; yMax += w }
        let xPad = (xMax - xMin) * 0.06, yPad = (yMax - yMin) * 0.08
        (xMin, xMax, yMin, yMax) = (xMin - xPad, xMax + xPad, yMin - yPad, yMax + yPad)
        func px(_ x: Double) -> Double { left + (tx(x) - xMin) / (xMax - xMin) * plotWidth }
        func py(_ y: Double) -> Double { top + (1 - (y - yMin) / (yMax - yMin)) * plotHeight }

        // Axes and ticks.
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"none\" stroke=\"#444\"/>\n"
        for tick in ticks(from: yMin, to: yMax) {
            let y = py(tick)
            svg += "<line x1=\"\(left)\" y1=\"\(f(y))\" x2=\"\(left + plotWidth)\" y2=\"\(f(y))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(number(tick))</text>\n"
        }
        // Log axes: 1, 2, 5 × each power of ten in range.
        let xTicks = logX ? (Int(floor(xMin)) ... Int(ceil(xMax))).flatMap { e in [1.0, 2, 5].map { $0 * pow(10, Double(e)) } }
                                .filter { tx($0) >= xMin && tx($0) <= xMax }
                          : ticks(from: xMin, to: xMax)
        for tick in xTicks {
            let x = px(tick)
            svg += "<line x1=\"\(f(x))\" y1=\"\(top)\" x2=\"\(f(x))\" y2=\"\(top + plotHeight)\" stroke=\"#eee\"/>"
            let label = xUnit.map { number(tick / $0.divisor) + $0.suffix } ?? number(tick)
            svg += "<text x=\"\(f(x))\" y=\"\(f(top + plotHeight + 16))\" text-anchor=\"middle\">\(label)</text>\n"
        }
        svg += "<text x=\"\(f(left + plotWidth / 2))\" y=\"\(f(height - 12))\" text-anchor=\"middle\">\(escape(xLabel))\(logX ? " (log scale)" : "")</text>\n"
        svg += "<text transform=\"translate(16 \(f(top + plotHeight / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(yLabel))</text>\n"

        if paretoFront {
            let sorted = all.sorted { $0.x != $1.x ? $0.x < $1.x : $0.y < $1.y }
            var front: [(x: Double, y: Double)] = []
            for point in sorted where front.last.map({ point.y < $0.y }) ?? true { front.append(point) }
            if front.count > 1 {
                svg += "<polyline fill=\"none\" stroke=\"#999\" stroke-dasharray=\"5,4\" points=\"\(front.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " "))\"/>\n"
            }
        }
        for (index, s) in series.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            let points = s.points.enumerated().filter { plottable($0.element) }
            if s.line, points.count > 1 {
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points.map { "\(f(px($0.element.x))),\(f(py($0.element.y)))" }.joined(separator: " "))\"/>\n"
            }
            for (i, point) in points {
                svg += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"\(s.line ? 2.5 : 5)\" fill=\"\(color)\"/>"
                if let label = s.labels?[safe: i] {
                    svg += "<text x=\"\(f(px(point.x) + 7))\" y=\"\(f(py(point.y) - 6))\" font-size=\"10\" fill=\"#333\">\(escape(label))</text>"
                }
                svg += "\n"
            }
            // Legend.
            let ly = top + 14 + Double(index) * 18
            svg += "<rect x=\"\(f(left + plotWidth + 14))\" y=\"\(f(ly - 9))\" width=\"12\" height=\"12\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(f(left + plotWidth + 32))\" y=\"\(f(ly + 1))\">\(escape(String(s.name.prefix(28))))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// About five round ticks between `low` and `high`.
    func ticks(from low: Double, to high: Double) -> [Double] {
        let span = high - low
        guard span > 0, span.isFinite else { return [low] }
        let raw = span / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var values: [Double] = []
        var tick = ceil(low / step) * step
        // At most a few dozen; the count also ends the loop where step is below the values' ulp.
        while tick <= high + step * 1e-9, values.count < 50 { values.append(tick); tick += step }
        return values
    }

    func number(_ input: Double) -> String {
        let value = abs(input) < 1e-12 ? 0 : input  // no "-0"
        if value != 0, abs(value) >= 1e5 || abs(value) < 1e-3 { return String(format: "%.0e", value) }
        if value == value.rounded() { return String(format: "%.0f", value) }
        return String(format: "%g", (value * 1000).rounded() / 1000)
    }

    func f(_ value: Double) -> String { String(format: "%.1f", value) }

    func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
