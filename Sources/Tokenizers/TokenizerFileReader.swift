// Reads tokenizer.json strictly: unknown keys, wrong types and features we do not implement
// (normalizers, truncation, dropout, other models) are errors naming the field, never
// silently ignored — a tokenizer that encoded differently from Hugging Face would corrupt
// every id downstream. Which tokenizer a file holds follows from its layout (see
// HuggingFaceLayout.swift): no pre-tokenizer + Fuse decoder → char; ByteLevel with the
// 256 bytes as ids 0–255 and no merges → byte; any other ByteLevel BPE → bpe.

struct TokenizerFileReader {
    let fileName: String

    private func invalid(_ field: String, _ value: JSONValue?, _ expected: String) -> TokenizerError {
        .invalidFile(file: fileName, field: field, found: value?.typeDescription ?? "no such key", expected: expected)
    }

    /// The object's pairs, rejecting keys outside `allowed`.
    private func object(_ value: JSONValue?, _ field: String, allowed: [String]) throws -> JSONValue {
        guard let value, case let .object(pairs) = value else { throw invalid(field, value, "an object") }
        if let unknown = pairs.first(where: { !allowed.contains($0.0) }) {
            throw invalid(field.isEmpty ? Excerpt.clip(unknown.0) : field + "." + Excerpt.clip(unknown.0), unknown.1,
                          "no such key (known keys: \(allowed.joined(separator: ", ")))")
        }
        return value
    }

    private func optionalBool(_ value: JSONValue?, _ field: String, default fallback: Bool) throws -> Bool {
        switch value {
        case nil, .null?: return fallback
        case let .bool(flag)?: return flag
        default: throw invalid(field, value, "true or false")
        }
    }

    private func requireNull(_ value: JSONValue?, _ field: String, _ reason: String) throws {
        if let value, value != .null { throw invalid(field, value, "null (\(reason))") }
    }

    /// The `type` of a pre-tokenizer/decoder/post-processor object, or nil for null/missing.
    private func componentType(_ value: JSONValue?, _ field: String) throws -> String? {
        guard let value, value != .null else { return nil }
        guard case .object = value, case let .string(type)? = value["type"] else { throw invalid(field, value, "null or an object with a \"type\"") }
        return type
    }

    func tokenizer(from document: JSONValue) throws -> any Tokenizer {
        try tokenizer(from: document, fingerprinting: false).tokenizer
    }

    /// The tokenizer, and its fingerprint when `fingerprinting` and the file is byte-level BPE
    /// (hashed while the tokenizer is built; the caller hashes the other, small, kinds).
    func tokenizer(from document: JSONValue, fingerprinting: Bool) throws -> (tokenizer: any Tokenizer, fingerprint: String?) {
        let root = try object(document, "", allowed: ["version", "truncation", "padding", "added_tokens", "normalizer",
                                                     "pre_tokenizer", "post_processor", "decoder", "model"])
        if let version = root["version"], version != .string("1.0") { throw invalid("version", version, "\"1.0\"") }
        try requireNull(root["truncation"], "truncation", "truncation would change the ids")
        try requireNull(root["padding"], "padding", "padding would change the ids")
        try requireNull(root["normalizer"], "normalizer", "no normalizer is implemented")
        let addedTokens = try readAddedTokens(root["added_tokens"])
        let model = try object(root["model"], "model", allowed: ["type", "dropout", "unk_token", "continuing_subword_prefix",
                                                                "end_of_word_suffix", "fuse_unk", "byte_fallback", "ignore_merges", "vocab", "merges"])
        guard model["type"] == .string("BPE") else { throw invalid("model.type", model["type"], "\"BPE\"") }
        try requireNull(model["dropout"], "model.dropout", "dropout makes encoding random")
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let value = model[key], value != .null, value != .string("") { throw invalid("model." + key, value, "null or \"\"") }
        }
        _ = try optionalBool(model["fuse_unk"], "model.fuse_unk", default: false)
        _ = try optionalBool(model["byte_fallback"], "model.byte_fallback", default: false)
        var options = BPEOptions()
        options.ignoreMerges = try optionalBool(model["ignore_merges"], "model.ignore_merges", default: false)
        switch model["unk_token"] {
        case nil, .null?: options.unknownToken = nil
        case let .string(token)?: options.unknownToken = token
        case let other: throw invalid("model.unk_token", other, "null or a string")
        }
        let entries = try readVocabulary(model["vocab"])
        let merges = try readMerges(model["merges"])

        let preTokenizerType = try componentType(root["pre_tokenizer"], "pre_tokenizer")
        let decoderType = try componentType(root["decoder"], "decoder")
        switch preTokenizerType {
        case nil:
            guard decoderType == "Fuse" else {
                throw invalid("decoder", root["decoder"], "{\"type\": \"Fuse\"} (a file without a pre-tokenizer is read as character-level)")
            }
            try requireNull(root["post_processor"], "post_processor", "character-level files have none")
            return (try characterTokenizer(vocabulary: entries, merges: merges, addedTokens: addedTokens), nil)
        case "ByteLevel":
            let preTokenizer = try object(root["pre_tokenizer"], "pre_tokenizer", allowed: ["type", "add_prefix_space", "trim_offsets", "use_regex"])
            options.addPrefixSpace = try optionalBool(preTokenizer["add_prefix_space"], "pre_tokenizer.add_prefix_space", default: true)
            options.useRegex = try optionalBool(preTokenizer["use_regex"], "pre_tokenizer.use_regex", default: true)
            _ = try optionalBool(preTokenizer["trim_offsets"], "pre_tokenizer.trim_offsets", default: true)
            guard decoderType == "ByteLevel" else { throw invalid("decoder", root["decoder"], "{\"type\": \"ByteLevel\", …} to go with the ByteLevel pre-tokenizer") }
            switch try componentType(root["post_processor"], "post_processor") {
            case nil: options.postProcessor = .null
            case "ByteLevel": options.postProcessor = root["post_processor"]!
            case "TemplateProcessing":
                try requireIdentityTemplate(root["post_processor"]!)
                options.postProcessor = root["post_processor"]!
            default:
                throw invalid("post_processor", root["post_processor"], "null, ByteLevel or a TemplateProcessing that adds no token")
            }
            let vocabulary = try stringKeyed(entries)
            if merges.isEmpty, addedTokens.isEmpty, options == BPEOptions(), vocabulary.count == 256,
               ByteLevelMapping.characterForByte.enumerated().allSatisfy({ vocabulary[String($0.element)] == Int32($0.offset) }) {
                return (ByteTokenizer(), nil)
            }
            if fingerprinting {
                let (tokenizer, fingerprint) = try BPETokenizer.withFingerprint(
                    vocabulary: vocabulary, merges: merges, addedTokens: addedTokens, options: options, source: fileName)
                return (tokenizer, fingerprint)
            }
            return (try BPETokenizer(vocabulary: vocabulary, merges: merges, addedTokens: addedTokens, options: options,
                                     source: fileName), nil)
        default:
            throw invalid("pre_tokenizer.type", root["pre_tokenizer"]?["type"], "null (character-level) or \"ByteLevel\" (byte-level and BPE)")
        }
    }

    /// transformers 5's GPT2Tokenizer writes `TemplateProcessing` with `single` = [Sequence A] and no
    /// special tokens: it changes nothing. A template that adds tokens would change the ids.
    private func requireIdentityTemplate(_ value: JSONValue) throws {
        let template = try object(value, "post_processor", allowed: ["type", "single", "pair", "special_tokens"])
        let single = template["single"]
        guard case let .array(pieces)? = single, pieces.count == 1, case .object? = pieces[0]["Sequence"],
              pieces[0]["Sequence"]?["id"] == .string("A") else {
            throw invalid("post_processor.single", single, "[{\"Sequence\": {\"id\": \"A\", …}}] (no added tokens)")
        }
        let special = template["special_tokens"]
        if let special, special != .null, special != .object([]) {
            throw invalid("post_processor.special_tokens", special, "{} (no added tokens)")
        }
    }

    private func characterTokenizer(vocabulary: [(token: String, id: Int32)], merges: [(String, String)], addedTokens: [AddedToken]) throws -> CharTokenizer {
        guard merges.isEmpty else { throw invalid("model.merges", .integer(merges.count), "no merges in a character-level file (no pre-tokenizer)") }
        guard addedTokens.isEmpty else { throw invalid("added_tokens", .integer(addedTokens.count), "none in a character-level file") }
        var characters = [Unicode.Scalar?](repeating: nil, count: vocabulary.count)
        for (token, id) in vocabulary {
            // Only the first two scalars decide, however long a hostile token is.
            var scalars = token.unicodeScalars.makeIterator()
            guard let scalar = scalars.next(), scalars.next() == nil else {
                throw invalid("model.vocab[\(Excerpt.quote(token))]", .string(token), "a single character per token in a character-level file")
            }
            guard id >= 0, Int(id) < vocabulary.count, characters[Int(id)] == nil else {
                throw invalid("model.vocab[\(Excerpt.quote(token))]", .integer(Int(id)), "distinct ids 0..<\(vocabulary.count)")
            }
            characters[Int(id)] = scalar
        }
        return try CharTokenizer(characters: characters.map { $0! })
    }

    /// The vocab entries in file order (keys are distinct byte strings; see JSONParser).
    private func readVocabulary(_ value: JSONValue?) throws -> [(token: String, id: Int32)] {
        guard let value, case let .object(pairs) = value else { throw invalid("model.vocab", value, "an object of token → id") }
        return try pairs.map { token, idValue in
            guard let id = idValue.integerValue, id >= 0, id <= Int(Int32.max) else {
                throw invalid("model.vocab[\(Excerpt.quote(token))]", idValue, "an integer id ≥ 0")
            }
            return (token, Int32(id))
        }
    }

    /// A String-keyed vocabulary for byte-level BPE. Byte-level tokens are spelled with the
    /// 256 GPT-2 stand-ins, none of them a combining mark, so two different tokens are never
    /// canonically equivalent; a file where two keys are (e.g. added "é" vs "e\u{301}") is refused.
    private func stringKeyed(_ entries: [(token: String, id: Int32)]) throws -> [String: Int32] {
        var vocabulary: [String: Int32] = [:]
        vocabulary.reserveCapacity(entries.count)
        for (token, id) in entries {
            if let other = vocabulary.updateValue(id, forKey: token) {
                throw invalid("model.vocab[\(Excerpt.quote(token))]", .integer(Int(id)),
                              "a token distinct from the canonically equivalent one with id \(other)")
            }
        }
        return vocabulary
    }

    /// Merges as "left right" strings (the original format) or as [left, right] arrays (tokenizers ≥ 0.20).
    private func readMerges(_ value: JSONValue?) throws -> [(String, String)] {
        guard let value, case let .array(items) = value else { throw invalid("model.merges", value, "an array of merges") }
        return try items.enumerated().map { index, item in
            switch item {
            case let .string(text):
                // Split on the UTF-8 bytes: a Character-wise split would run grapheme breaking over
                // the whole string, slow for a hostile merge of many megabytes.
                let utf8 = text.utf8
                guard let space = utf8.firstIndex(of: UInt8(ascii: " ")), space != utf8.startIndex,
                      utf8.index(after: space) != utf8.endIndex,
                      !utf8[utf8.index(after: space)...].contains(UInt8(ascii: " ")) else {
                    throw invalid("model.merges[\(index)]", item, "\"left right\": two tokens separated by one space")
                }
                return (String(text[..<space]), String(text[utf8.index(after: space)...]))
            case let .array(pair):
                guard pair.count == 2, case let .string(left) = pair[0], case let .string(right) = pair[1] else {
                    throw invalid("model.merges[\(index)]", item, "an array of two token strings")
                }
                return (left, right)
            default:
                throw invalid("model.merges[\(index)]", item, "a \"left right\" string or a [left, right] array")
            }
        }
    }

    private func readAddedTokens(_ value: JSONValue?) throws -> [AddedToken] {
        guard let value, value != .null else { return [] }
        guard case let .array(items) = value else { throw invalid("added_tokens", value, "an array") }
        return try items.enumerated().map { index, item in
            let field = "added_tokens[\(index)]"
            let token = try object(item, field, allowed: ["id", "content", "single_word", "lstrip", "rstrip", "normalized", "special"])
            guard let id = token["id"]?.integerValue, id >= 0, id <= Int(Int32.max) else { throw invalid(field + ".id", token["id"], "an integer id ≥ 0") }
            guard case let .string(content)? = token["content"], !content.isEmpty else {
                throw invalid(field + ".content", token["content"], "a non-empty string")
            }
            for flag in ["single_word", "lstrip", "rstrip"] where try optionalBool(token[flag], field + "." + flag, default: false) {
                throw invalid(field + "." + flag, token[flag], "false (only exact matches are implemented)")
            }
            return AddedToken(id: Int32(id), content: content,
                              special: try optionalBool(token["special"], field + ".special", default: false),
                              normalized: try optionalBool(token["normalized"], field + ".normalized", default: false))
        }
    }
}
