import Foundation
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

@Suite("Training config files that must be refused") struct TrainingConfigSafetyTests {
    @Test("the YAML bounds hold here too: an alias bomb is refused at once")
    func aliasBomb() throws {
        var lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
        for level in 1 ... 9 { lines.append("a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 9).joined(separator: ", ") + "]") }
        let start = Date()
        let error = #expect(throws: ConfigFileError.self) {
            try TrainingConfigFile(yaml: lines.joined(separator: "\n") + "\ntraining: {steps: *a9}\n", source: "bomb.yaml")
        }
        #expect(Date().timeIntervalSince(start) < 2)
        #expect(error?.message.contains("aliases") == true, "\(error?.message ?? "")")
    }

    @Test("unknown model keys and misplaced sections name the key and the line")
    func modelKeys() throws {
        let unknown = #expect(throws: ConfigFileError.self) {
            try TrainingConfigFile(yaml: "model:\n  preset: student-tiny\n  n_layers: 3\n", source: "bad.yaml")
        }
        #expect(unknown?.message == "bad.yaml:3: unknown key \"n_layers\" in model", "\(unknown?.message ?? "")")
        let list = #expect(throws: ConfigFileError.self) { try TrainingConfigFile(yaml: "training: [1, 2]\n", source: "bad.yaml") }
        #expect(list?.message.contains("bad.yaml:1: training must be a mapping") == true, "\(list?.message ?? "")")
    }
}

@Suite("Shipped training configs") struct ShippedTrainingConfigTests {
    @Test("experiments/teacher-small-char.yaml parses into the teacher-small recipe")
    func shipped() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../experiments/teacher-small-char.yaml")
        let file = try TrainingConfigFile(contentsOf: url)
        #expect(file.preset == "teacher-small" && file.role == "teacher" && file.tokenizer == "char")
        #expect(try file.modelConfig(preset: "teacher-small", vocabularySize: 84, source: url.path)
            == GPTConfig.preset("teacher-small", vocabularySize: 84))
        #expect(file.recipe.steps == 1500 && file.recipe.checkpointEvery == 250 && file.recipe.gradientClip == 1)
    }
}
