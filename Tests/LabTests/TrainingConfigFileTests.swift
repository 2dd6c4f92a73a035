import Testing
import Distill
import Models
@testable import Lab

@Suite("Training config files") struct TrainingConfigFileTests {
    @Test("fields override the recipe's defaults; the rest keep them")
    func overrides() throws {
        let file = try TrainingConfigFile(yaml: """
            model:
              preset: student-tiny
              n_layer: 3
              dropout: 0.1
            tokenizer: char
            training:
              steps: 300
              learning_rate: 6e-4
              batch_size: 8
            """, source: "t.yaml")
        #expect(file.recipe.steps == 300 && file.recipe.batchSize == 8 && abs(file.recipe.learningRate - 6e-4) < 1e-9)
        #expect(file.recipe.warmupSteps == TrainingRecipe().warmupSteps && file.recipe.beta2 == 0.99)
        #expect(file.tokenizer == "char" && file.preset == "student-tiny")
        let config = try file.modelConfig(preset: file.preset!, vocabularySize: 84, source: "t.yaml")
        #expect(config.layers == 3 && config.embeddingSize == 128 && config.dropout == 0.1 && config.vocabularySize == 84)
    }

    @Test("unknown keys and wrong types are errors naming the key and the file")
    func errors() throws {
        let unknown = #expect(throws: ConfigFileError.self) {
            try TrainingConfigFile(yaml: "training:\n  stepz: 3\n", source: "bad.yaml")
        }
        #expect(unknown?.message.contains("training.stepz") == true && unknown?.message.contains("bad.yaml") == true)
        let type = #expect(throws: ConfigFileError.self) {
            try TrainingConfigFile(yaml: "training:\n  steps: many\n", source: "bad.yaml")
        }
        #expect(type?.message.contains("steps") == true)
        let heads = try TrainingConfigFile(yaml: "model:\n  n_head: 3\n", source: "bad.yaml")
        let model = #expect(throws: ConfigFileError.self) {
            try heads.modelConfig(preset: "teacher-small", vocabularySize: 84, source: "bad.yaml")
        }
        #expect(model?.message.contains("n_head") == true)
        #expect(throws: ConfigFileError.self) { try TrainingConfigFile(yaml: "- a list\n", source: "bad.yaml") }
    }
}
