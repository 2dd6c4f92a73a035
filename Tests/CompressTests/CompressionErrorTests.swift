import Testing
@testable import Compress

@Suite("Compression errors") struct CompressionErrorTests {
    @Test func describesItself() {
        let error = CompressionError("transformer.h.0.mlp.c_fc.weight: 100 columns are not a multiple of 32")
        #expect(error.description.contains("c_fc"))
        #expect(error.errorDescription == error.description)
    }
}
