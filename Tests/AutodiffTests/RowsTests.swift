import Testing
@testable import Autodiff

@Suite("Batch rows") struct RowsTests {
    @Test("IndexTensor.rows takes whole windows; the full range is the tensor itself; out of range throws")
    func indexRows() throws {
        let ids = try IndexTensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        #expect(try ids.rows(1 ..< 3) == IndexTensor(shape: [2, 2], values: [3, 4, 5, 6]))
        #expect(try ids.rows(0 ..< 3) == ids)
        #expect(try ids.rows(1 ..< 1).shape == [0, 2])
        #expect(throws: TensorError.self) { try ids.rows(2 ..< 4) }
    }

    @Test("a teacher's rows: logits, and top-k indices, logits and log-sum-exp alike")
    func teacherRows() throws {
        let logits = try Tensor(shape: [3, 2], values: [1, 2, 3, 4, 5, 6])
        guard case .logits(let part) = try DistillationTeacher.logits(logits).rows(1 ..< 2) else { Issue.record("case"); return }
        #expect(part.shape == [1, 2] && part.toArray() == [3, 4])
        let topK = DistillationTeacher.topK(indices: try IndexTensor(shape: [3, 1], values: [7, 8, 9]),
                                            logits: try Tensor(shape: [3, 1], values: [0.1, 0.2, 0.3]),
                                            logSumExp: try Tensor(shape: [3], values: [1, 2, 3]))
        guard case .topK(let i, let l, let s) = try topK.rows(2 ..< 3) else { Issue.record("case"); return }
        #expect(i.values == [9] && l.toArray() == [0.3] && s.toArray() == [3])
        #expect(throws: TensorError.self) { try topK.rows(0 ..< 4) }
    }
}
