// The closed sets of values that options take, as types: ArgumentParser parses them, lists them in --help
// and names the option and the accepted values when a value is not one of them, so no command validates
// such strings by hand.

import ArgumentParser
import Compress
import Interop
import Lab
import Models

/// An option value that is one case of an enum with string raw values, matched without regard to case
/// (`Q8_0` and `q8_0` are the same scheme).
protocol CaseInsensitiveChoice: ExpressibleByArgument, CaseIterable, RawRepresentable where RawValue == String {}

extension CaseInsensitiveChoice {
    public init?(argument: String) {
        guard let match = Self.allCases.first(where: { $0.rawValue == argument.lowercased() }) else { return nil }
        self = match
    }
}

extension QuantizationScheme: CaseInsensitiveChoice {}
extension QuantizationGranularity: CaseInsensitiveChoice {}
extension GGUFExportType: CaseInsensitiveChoice {}
extension PruningScope: CaseInsensitiveChoice {}
extension Divergence: CaseInsensitiveChoice {}
extension LogitsDType: CaseInsensitiveChoice {}
extension PruningMethod: CaseInsensitiveChoice {}

/// A corpus split.
enum Split: String, CaseInsensitiveChoice {
    case train, val
}

/// When pruning happens: at once, or gradually while fine-tuning.
enum PruningSchedule: String, CaseInsensitiveChoice {
    case oneshot, gradual
}

/// A switch given as a word.
enum OnOff: String, CaseInsensitiveChoice {
    case on, off
}
