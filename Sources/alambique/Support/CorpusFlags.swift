// The corpus flags of every command that reads text: which corpus, how to split it, how to read it, and the
// data directory that holds the built-in corpus and the token cache.

import ArgumentParser
import Lab
import Store

extension CorpusSpec: ExpressibleByArgument {
    public init?(argument: String) {
        guard !argument.isEmpty else { return nil }
        self.init(parsing: argument)
    }

    public var defaultValueDescription: String { description }
}

extension InvalidTextPolicy: CaseInsensitiveChoice {}

struct CorpusFlags: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The corpus: shakespeare (built in, fetched when missing), a .txt or .md file (one document), a folder "
            + "(every .txt and .md below it, sorted by path; one document each), or a .jsonl / .jsonl.gz file "
            + "(one JSON object per line, the text in --text-field).", valueName: "spec"))
    var data = CorpusSpec.shakespeare
    @Option(help: ArgumentHelp("A separate validation corpus, of the same kinds as --data (default: the last "
        + "--val-fraction of --data).", valueName: "spec"))
    var val: CorpusSpec?
    @Option(help: ArgumentHelp("The share of --data's bytes held out for validation, cut at a document boundary (at a line start "
        + "for a single text file). Shakespeare keeps its own 90/10 split."))
    var valFraction = CorpusOptions.defaultValidationFraction
    @Option(help: "The JSONL field holding each document's text.") var textField = CorpusOptions.defaultTextField
    @Option(help: "Bytes that are not UTF-8: error (naming the file and byte offset) or replace (read as U+FFFD, counted).")
    var onInvalid = InvalidTextPolicy.error
    @Option(name: [.customLong("data-dir"), .customLong("data-directory")],
            help: ArgumentHelp("Data directory: the built-in corpus is fetched there and token ids are cached in <data-dir>/cache/ "
                + "(this directory was --data before --data named the corpus)."))
    var dataDir = "data"

    func validate() throws {
        guard valFraction > 0, valFraction < 1 else {
            throw ValidationError("--val-fraction must be a fraction in (0, 1), got \(valFraction)")
        }
        guard !textField.isEmpty else { throw ValidationError("--text-field must not be empty") }
    }

    var selection: CorpusSelection {
        CorpusSelection(spec: data, options: CorpusOptions(textField: textField, onInvalid: onInvalid, validation: val,
                                                           validationFraction: valFraction),
                        dataDirectory: dataDir)
    }
}
