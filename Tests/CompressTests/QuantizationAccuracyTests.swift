import Foundation
import Testing
@testable import Compress

@Suite("Quantization accuracy and reports") struct QuantizationAccuracyTests {
    static let rows = 16, columns = 256

    static func gaussian() -> [Float] {
        var random = QuantizationTestRandom(seed: 42)
        return random.gaussian(rows * columns, standardDeviation: 0.02)
    }

    @Test func q8_0ErrorWithinHalfStepPlusHalfRounding() throws {
        let w = Self.gaussian()
        let matrix = try QuantizedMatrix.quantize(w, rows: Self.rows, columns: Self.columns, scheme: .q8_0, name: "t")
        let decoded = matrix.dequantized(), stored = matrix.storedScales()
        var worst = 0.0
        for block in 0..<(w.count / 32) {
            let values = w[block * 32 ..< (block + 1) * 32]
            let d32 = values.map { abs($0) }.max()! / 127, d16 = stored[block]
            // |x − q·d16| ≤ |x − q·d32| + |q|·|d32 − d16| ≤ d32/2 + 127·|d32 − d16| (+ float slack).
            let bound = Double(d32) / 2 + 127 * Double(abs(d32 - d16)) + 1e-7
            for i in values.indices {
                let error = Double(abs(w[i] - decoded[i]))
                worst = max(worst, error / bound)
                #expect(error <= bound, "block \(block) element \(i): error \(error) > bound \(bound)")
            }
        }
        #expect(worst <= 1)
        let report = matrix.report(against: w, name: "t")
        #expect(report.snrDB! > 35, "Q8_0 SNR \(report.snrDB!) dB")
    }

    @Test(arguments: [QuantizationScheme.q4_0, .q4_1])
    func fourBitErrorWithinAboutOneStep(scheme: QuantizationScheme) throws {
        let w = Self.gaussian()
        let matrix = try QuantizedMatrix.quantize(w, rows: Self.rows, columns: Self.columns, scheme: scheme, name: "t")
        let decoded = matrix.dequantized(), stored = matrix.storedScales()
        for block in 0..<(w.count / 32) {
            let values = w[block * 32 ..< (block + 1) * 32]
            let d = Double(abs(stored[block]))
            // Q4_1 rounds to the nearest step (≤ d/2); Q4_0 too, except the value of opposite sign
            // to the extreme, which can be clamped from 16 to 15 (≤ d). fp16 rounding of d and m
            // adds at most 15·2⁻¹¹·d + 2⁻¹¹·|m|.
            let step = scheme == .q4_0 ? d : d / 2
            let bound = step + 16 * d / 2048 + Double(values.map { abs($0) }.max()!) / 2048 + 1e-7
            for i in values.indices {
                #expect(Double(abs(w[i] - decoded[i])) <= bound, "block \(block) element \(i)")
            }
        }
        let report = matrix.report(against: w, name: "t")
        #expect(report.snrDB! > 15, "\(scheme) SNR \(report.snrDB!) dB")
        #expect(report.maxAbsError >= report.meanAbsError)
    }

    @Test(arguments: [QuantizationScheme.int8Symmetric, .int8Asymmetric])
    func int8PerChannelErrorAndSNR(scheme: QuantizationScheme) throws {
        let w = Self.gaussian()
        let matrix = try QuantizedMatrix.quantize(w, rows: Self.rows, columns: Self.columns, scheme: scheme, name: "t")
        let report = matrix.report(against: w, name: "t")
        // Round to nearest: at most half a step per weight.
        #expect(report.maxAbsError <= report.scaleMax / 2 * (1 + 1e-5))
        #expect(report.snrDB! > 35, "\(scheme) SNR \(report.snrDB!) dB")
        #expect(report.scaleMin > 0 && report.scaleMin <= report.scaleMax)
    }

    @Test func reportsAsCSVAndJSON() throws {
        let w = Self.gaussian()
        let q8 = try QuantizedMatrix.quantize(w, rows: Self.rows, columns: Self.columns, scheme: .q8_0, name: "a")
        let exact = try QuantizedMatrix.quantize([Float](repeating: 0, count: 32), rows: 1, columns: 32, scheme: .q4_0, name: "z")
        let reports = [q8.report(against: w, name: "h.0,c_fc"), exact.report(against: [Float](repeating: 0, count: 32), name: "z")]
        #expect(reports[0].shape == [16, 256])
        #expect(reports[0].granularity == .block)
        #expect(reports[1].snrDB == nil)
        #expect(reports[1].maxAbsError == 0)
        let lines = QuantizationReport.csv(reports).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0] == Substring(QuantizationReport.csvHeader))
        #expect(lines[1].hasPrefix("\"h.0,c_fc\",16,256,q8_0,block,"))
        #expect(lines[2].hasPrefix("z,1,32,q4_0,block,0.0,0.0,inf,"))
        #expect(lines.count == 4 && lines[3].isEmpty)
        let decoded = try JSONDecoder().decode([QuantizationReport].self, from: JSONEncoder().encode(reports))
        #expect(decoded == reports)
    }
}
