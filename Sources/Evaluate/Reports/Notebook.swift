// A Jupyter notebook (nbformat 4.5) of an experiment's results: the tables and plots embedded as
// cell outputs (so it reads well unexecuted, e.g. on GitHub), and code cells that reload
// results.csv and a logit file with pandas, h5py and matplotlib for a reader who wants to dig in.

import Foundation

public struct Notebook {
    public enum Cell {
        case markdown(String)
        /// Code, with outputs already computed: (mime type, content) pairs such as ("text/markdown", table),
        /// ("image/svg+xml", svg), ("text/plain", text).
        case code(String, outputs: [(String, String)])
    }

    public var cells: [Cell] = []

    public init() {}

    /// nbformat 4.5 JSON. Every cell has an id; code cells have execution_count null and display_data outputs.
    public func json() throws -> Data {
        var cellObjects: [[String: Any]] = []
        for (index, cell) in cells.enumerated() {
            let id = String(format: "cell-%04d", index)
            switch cell {
            case .markdown(let text):
                cellObjects.append(["cell_type": "markdown", "id": id, "metadata": [String: Any](), "source": Self.lines(text)])
            case .code(let source, let outputs):
                let outputObjects: [[String: Any]] = outputs.map { mime, content in
                    ["output_type": "display_data", "metadata": [String: Any](), "data": [mime: Self.lines(content)]]
                }
                cellObjects.append(["cell_type": "code", "id": id, "metadata": [String: Any](), "execution_count": NSNull(),
                                    "source": Self.lines(source), "outputs": outputObjects])
            }
        }
        let notebook: [String: Any] = [
            "nbformat": 4, "nbformat_minor": 5,
            "metadata": [
                "kernelspec": ["name": "python3", "display_name": "Python 3", "language": "python"],
                "language_info": ["name": "python"],
            ],
            "cells": cellObjects,
        ]
        return try JSONSerialization.data(withJSONObject: notebook, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }

    /// Jupyter's multi-line strings: a list of lines, each keeping its newline.
    static func lines(_ text: String) -> [String] {
        var result: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if character == "\n" { result.append(current); current = "" }
        }
        if !current.isEmpty { result.append(current) }
        return result
    }

    /// The comparison notebook: results table, plots, continuations, and reload cells.
    public static func comparison(title: String, result: ComparisonResult, plots: [(name: String, svg: String)],
                                  resultsCSV: String, logitFile: String?) -> Notebook {
        var notebook = Notebook()
        notebook.cells.append(.markdown("""
        # \(title)

        Teacher and students measured by `alambique compare` from their checkpoints: size, quality on the \
        validation split, speed, and the teacher's judgement of their continuations. The outputs below are \
        embedded; run the cells to recompute them from `\(resultsCSV)`.
        """))
        notebook.cells.append(.code("""
        import pandas as pd
        results = pd.read_csv("\(resultsCSV)")
        results[["name", "format", "params", "nonzero_params", "bytes", "val_loss", "bits_per_char", "agreement", "kl_to_teacher", "generate_tok_s"]]
        """, outputs: [("text/markdown", ComparisonTables.markdown(result))]))
        for plot in plots {
            notebook.cells.append(.markdown("## \(plot.name)"))
            notebook.cells.append(.code("from IPython.display import SVG, display\ndisplay(SVG(filename=\"\(plot.name).svg\"))",
                                        outputs: [("image/svg+xml", plot.svg)]))
        }
        notebook.cells.append(.code("""
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.set_xscale("log")
        ax.scatter(results["bytes"], results["val_loss"])
        for _, row in results.iterrows():
            ax.annotate(row["format"], (row["bytes"], row["val_loss"]), fontsize=8)
        ax.set_xlabel("bytes on disk"); ax.set_ylabel("validation loss (nats/token)")
        plt.show()
        """, outputs: []))
        if let logitFile {
            notebook.cells.append(.markdown("## The teacher's soft logits\nOne position of the logit file: the teacher's top tokens and their probabilities."))
            notebook.cells.append(.code("""
            import h5py, numpy as np, json
            with h5py.File("\(logitFile)", "r") as f:
                print({k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()})
                vocab = json.loads(bytes(f["tokenizer_json"][()]).decode())["model"]["vocab"]
                id_to_token = {i: t for t, i in vocab.items()}
                if f.attrs["top_k"] > 0:
                    idx, logits, lse = f["topk/indices"][0, 64], f["topk/logits"][0, 64].astype(np.float32), f["logsumexp"][0, 64]
                    probs = np.exp(logits - lse)
                else:
                    row = f["logits"][0, 64].astype(np.float32); probs = np.exp(row - row.max()); probs /= probs.sum()
                    idx = np.argsort(-probs)[:10]; probs = probs[idx]
                for i, p in zip(idx[:10], probs[:10]):
                    print(repr(id_to_token.get(int(i), i)), round(float(p), 4))
            """, outputs: []))
        }
        if let prompts = result.prompts {
            notebook.cells.append(.markdown("## Continuations judged by the teacher\n\n" + ComparisonTables.continuations(result)))
            _ = prompts
        }
        return notebook
    }
}
