// Per position: the K largest logits (sorted, descending; ties by the lower index) and the
// log-normaliser over the whole vocabulary, so p_i = exp(l_i − lse) exactly for the stored i and
// the tail mass is 1 − Σ p_i. Rows are split across threads.

import Dispatch
import Foundation
import NN

/// Top-k and log-sum-exp of rows of logits.
public enum TopKSelection {
    /// For each of `rows` rows of `vocabularySize` logits at `logits`: writes the `k` largest logits
    /// (descending) to `topLogits` and their indices to `topIndices` (`rows × k` each), and the row's
    /// log-sum-exp to `logSumExp` (`rows`).
    public static func select(_ logits: UnsafePointer<Float>, rows: Int, vocabularySize: Int, k: Int,
                              topIndices: UnsafeMutablePointer<Int32>, topLogits: UnsafeMutablePointer<Float>,
                              logSumExp: UnsafeMutablePointer<Float>) {
        precondition(k >= 1 && k <= vocabularySize, "TopKSelection: k must be in 1…V")  // callers validate
        let shared = SharedPointers(logits: logits, indices: topIndices, values: topLogits, lse: logSumExp)
        let chunks = max(1, min(Threads.count, rows / 64))
        if chunks > 1 { Threads.releaseBLASWorkers() }
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            for row in (rows * chunk / chunks) ..< (rows * (chunk + 1) / chunks) {
                let x = shared.logits + row * vocabularySize
                selectRow(x, count: vocabularySize, k: k,
                          indices: shared.indices + row * k, values: shared.values + row * k)
                shared.lse[row] = Self.logSumExp(x, count: vocabularySize)
            }
        }
    }

    /// log Σ exp(x_i), computed around the maximum so it never overflows.
    public static func logSumExp(_ x: UnsafePointer<Float>, count: Int) -> Float {
        var maximum = -Float.infinity
        for i in 0 ..< count { maximum = max(maximum, x[i]) }
        guard maximum.isFinite else { return maximum }
        var sum: Float = 0
        for i in 0 ..< count { sum += expf(x[i] - maximum) }
        return maximum + logf(sum)
    }

    /// The `k` largest of `count` values, descending, ties broken by the lower index: an insertion
    /// into a sorted list of k, entered only by values above its current minimum.
    static func selectRow(_ x: UnsafePointer<Float>, count: Int, k: Int,
                          indices: UnsafeMutablePointer<Int32>, values: UnsafeMutablePointer<Float>) {
        var filled = 0
        for i in 0 ..< count {
            let value = x[i]
            if filled == k {
                // A NaN never enters (the comparison is false), so it cannot displace a real value.
                guard value > values[k - 1] else { continue }
            } else {
                filled += 1
            }
            // Shift smaller entries down; equal ones stay ahead (they have lower indices).
            var position = filled - 1
            while position > 0, values[position - 1] < value {
                values[position] = values[position - 1]
                indices[position] = indices[position - 1]
                position -= 1
            }
            values[position] = value
            indices[position] = Int32(i)
        }
    }
}

private struct SharedPointers: @unchecked Sendable {
    let logits: UnsafePointer<Float>
    let indices: UnsafeMutablePointer<Int32>
    let values: UnsafeMutablePointer<Float>
    let lse: UnsafeMutablePointer<Float>
}
