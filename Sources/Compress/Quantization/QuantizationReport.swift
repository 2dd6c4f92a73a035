// How far a quantized matrix is from the float weights it came from: error statistics, signal-to-
// noise ratio and the range of scales, one record per tensor, as JSON (Codable) or CSV lines.

import Foundation

/// The quantization error of one matrix against its original float32 weights.
public struct QuantizationReport: Codable, Sendable, Equatable {
    /// The tensor's name.
    public var name: String
    /// `[rows, columns]` = `[out, in]`.
    public var shape: [Int]
    /// The scheme used.
    public var scheme: QuantizationScheme
    /// The granularity used.
    public var granularity: QuantizationGranularity
    /// max |w − ŵ| over all weights.
    public var maxAbsError: Double
    /// mean |w − ŵ|.
    public var meanAbsError: Double
    /// 10·log10(Σw² / Σ(w − ŵ)²) in dB; nil when the reconstruction is exact (Σ(w − ŵ)² = 0).
    public var snrDB: Double?
    /// The smallest stored scale (ggml: block d after fp16 rounding; int8: per row or tensor).
    public var scaleMin: Double
    /// The largest stored scale.
    public var scaleMax: Double

    /// The CSV header matching `csvLine`.
    public static let csvHeader = "name,rows,columns,scheme,granularity,max_abs_error,mean_abs_error,snr_db,scale_min,scale_max"

    /// One CSV line (no newline): the name quoted when it holds a comma, quote or newline;
    /// an exact reconstruction's SNR written as `inf`.
    public var csvLine: String {
        let quotedName = name.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
            ? "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : name
        let fields: [String] = [
            quotedName, String(shape.first ?? 0), String(shape.last ?? 0), scheme.rawValue, granularity.rawValue,
            String(maxAbsError), String(meanAbsError), snrDB.map { String($0) } ?? "inf",
            String(scaleMin), String(scaleMax),
        ]
        return fields.joined(separator: ",")
    }

    /// A CSV document: the header, then one line per report, each ending in a newline.
    public static func csv(_ reports: [QuantizationReport]) -> String {
        ([csvHeader] + reports.map(\.csvLine)).map { $0 + "\n" }.joined()
    }
}

extension QuantizedMatrix {
    /// Compares this matrix's decoded weights with `original` (`[rows, columns]` row-major, the
    /// weights it was quantized from), accumulating in Double.
    public func report(against original: UnsafePointer<Float>, name: String) -> QuantizationReport {
        let decoded = dequantized()
        var maxError = 0.0, errorSum = 0.0, signal = 0.0, noise = 0.0
        for i in 0..<(rows * columns) {
            let w = Double(original[i]), error = w - Double(decoded[i])
            maxError = max(maxError, abs(error))
            errorSum += abs(error)
            signal += w * w
            noise += error * error
        }
        let scales = storedScales()
        return QuantizationReport(
            name: name, shape: [rows, columns], scheme: scheme, granularity: granularity,
            maxAbsError: maxError, meanAbsError: errorSum / Double(rows * columns),
            snrDB: noise > 0 ? 10 * log10(signal / noise) : nil,
            scaleMin: Double(scales.min() ?? 0), scaleMax: Double(scales.max() ?? 0))
    }
}
