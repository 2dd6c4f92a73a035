// Training and validation batches from a token stream (DESIGN.md §5): training windows at
// uniformly random offsets, validation windows fixed and consecutive, targets shifted by one.

import NN

/// One batch: inputs (B, T) and next-token targets (B, T).
public struct TokenBatch: Sendable {
    public let inputs: IndexTensor
    public let targets: IndexTensor

    /// Windows `range` of the batch.
    public func rows(_ range: Range<Int>) throws -> TokenBatch {
        TokenBatch(inputs: try inputs.rows(range), targets: try targets.rows(range))
    }
}

/// A token stream cut into windows of `context` + 1 tokens.
public struct TokenWindows: Sendable {
    public let tokens: TokenSequence
    public let context: Int

    public init(tokens: [Int32], context: Int, name: String) throws {
        try self.init(sequence: TokenSequence(tokens), context: context, name: name)
    }

    /// Windows over a stream held in memory or mapped from a cache file.
    public init(sequence tokens: TokenSequence, context: Int, name: String) throws {
        guard context >= 1, tokens.count > context + 1 else {
            throw DataError("\(name): \(tokens.count) tokens cannot hold one window of context \(context) plus its target")
        }
        self.tokens = tokens
        self.context = context
    }

    /// `batchSize` windows at offsets drawn uniformly from 0..<(count − context − 1) with `rng`
    /// (the PyTorch reference's `torch.randint(len(d) − T − 1, (B,))`).
    public func randomBatch(batchSize: Int, rng: inout RNG) throws -> TokenBatch {
        guard batchSize >= 1, batchSize <= tokens.count / context else {
            throw DataError("batch size \(batchSize) is out of range for \(tokens.count) tokens in windows of \(context)")
        }
        let offsets = (0..<batchSize).map { _ in rng.nextInt(below: tokens.count - context - 1) }
        return try batch(at: offsets)
    }

    /// The fixed validation windows: consecutive, starting at 0, 128, 256, … (window i covers
    /// tokens i·T … i·T + T), grouped `batchSize` to a batch, at most `maximumBatches` batches.
    /// With T = 128, B = 16 and 50 batches: the first 102,400 tokens in 800 windows.
    public func validationBatches(batchSize: Int, maximumBatches: Int) throws -> [TokenBatch] {
        guard batchSize >= 1, batchSize <= tokens.count / context else {
            throw DataError("validation: batch size \(batchSize) is out of range for \(tokens.count) tokens in windows of \(context)")
        }
        let stride = batchSize * context
        var batches: [TokenBatch] = []
        var start = 0
        while start < tokens.count - context - 1 && batches.count < maximumBatches {
            let offsets = (0..<batchSize).map { start + $0 * context }
            guard offsets.last! + context + 1 <= tokens.count else { break }
            batches.append(try batch(at: offsets))
            start += stride
        }
        guard !batches.isEmpty else {
            throw DataError("validation: \(tokens.count) tokens cannot hold one batch of \(batchSize) windows of \(context)")
        }
        return batches
    }

    func batch(at offsets: [Int]) throws -> TokenBatch {
        let t = context
        let inputs = [Int32](unsafeUninitializedCapacity: offsets.count * t) { buffer, initialized in
            for (row, offset) in offsets.enumerated() { tokens.copy(offset ..< offset + t, to: buffer.baseAddress! + row * t) }
            initialized = offsets.count * t
        }
        let targets = [Int32](unsafeUninitializedCapacity: offsets.count * t) { buffer, initialized in
            for (row, offset) in offsets.enumerated() {
                tokens.copy(offset + 1 ..< offset + t + 1, to: buffer.baseAddress! + row * t)
            }
            initialized = offsets.count * t
        }
        return TokenBatch(inputs: try IndexTensor(shape: [offsets.count, context], values: inputs),
                          targets: try IndexTensor(shape: [offsets.count, context], values: targets))
    }
}

/// A data error naming the data set and what does not fit.
public struct DataError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
