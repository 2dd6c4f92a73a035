#!/usr/bin/env python3
r"""Make the GPT-2-style tokenizer fixture under Tests/Fixtures/gpt2-tokenizer/ (run once; the output is committed).

Usage: make_gpt2_tokenizer_fixture.py SHAKESPEARE_TRAIN_TXT [OUT_DIR] [--vocab-size N] [--training-bytes B]

(The defaults make the fixture; `--vocab-size 50257 --training-bytes 0` (all of it) makes a GPT-2-sized
tokenizer for `alambique bench tokenize`, as far as the text has merges to learn.)

Trains a byte-level BPE with Hugging Face `tokenizers` on the first 1 MB of the Shakespeare text
(ByteLevel pre-tokenizer with the GPT-2 regex, 1,535 model tokens), then appends `<|endoftext|>` as
GPT-2 has it: the last id, in the model vocabulary and as a special added token. transformers'
GPT2Tokenizer saves it (tokenizer.json, tokenizer_config.json), and vocab.json + merges.txt are written as
transformers 4's GPT2Tokenizer saved them (checked: transformers reads them back to the same ids). For a fixed
multi-lingual text (text.txt) HF's ids are written to ids.json, with the library versions.
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import tokenizers
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import GPT2Tokenizer

# Mixed scripts, contractions, digits, whitespace runs, control characters and <|endoftext|> in text.
TEXT = (
    "First Citizen:\nBefore we proceed any further, hear me speak.\n\n"
    "All:\nSpeak, speak.<|endoftext|>ROMEO:\nI'll tell thee, it's what we've done; they're here, I'm sure, he'd say.\n"
    "   Three spaces,\ttabs\t\tand\r\nCRLF lines;  trailing  \n\n\n"
    "Numbers: 1234567 3.14159 2024-06-01 ٣٤٥ Ⅻ ½ 10,000\n"
    "Français : « Ça va ? » — l'élève naïve. Deutsch: Straße, Übergrößen.\n"
    "Русский: Быть или не быть. Ελληνικά: Είναι. עברית: שלום. العربية: مرحبا بالعالم.\n"
    "日本語のテキスト、中文文本。한국어 텍스트. हिन्दी पाठ। ไทย\n"
    "Emoji 👋🏽🙂 e\u0301 zero\u200bwidth nbsp\u00a0here \u3000ideographic space.\n"
    "<|endoftext|><|endoftext|>  <|endoftext|>\nend<|endoftext|>"
)


def write_vocab_and_merges(document, out):
    """vocab.json + merges.txt exactly as transformers 4's GPT2Tokenizer.save_vocabulary writes them
    (transformers 5 saves tokenizer.json only); the layout of OpenAI's original encoder.json/vocab.bpe."""
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as handle:
        handle.write(json.dumps(document["model"]["vocab"], indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as handle:
        handle.write("#version: 0.2\n")
        for merge in document["model"]["merges"]:
            handle.write((merge if isinstance(merge, str) else " ".join(merge)) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source")
    parser.add_argument("out", nargs="?", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "gpt2-tokenizer"))
    parser.add_argument("--vocab-size", type=int, default=1536, help="model tokens including <|endoftext|>")
    parser.add_argument("--training-bytes", type=int, default=1_000_000, help="characters of the text to train on (0: all)")
    args = parser.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    with open(args.source, encoding="utf-8", newline="") as handle:
        training = handle.read()
    if args.training_bytes > 0:
        training = training[:args.training_bytes]

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=args.vocab_size - 1, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tokenizer.train_from_iterator(training.split("\n\n"), trainer)

    # GPT-2's layout: <|endoftext|> is the last model token and a special added token with that id.
    document = json.loads(tokenizer.to_str())
    vocab = document["model"]["vocab"]
    end_of_text = len(vocab)
    vocab["<|endoftext|>"] = end_of_text
    gpt2 = GPT2Tokenizer(tokenizer_object=Tokenizer.from_str(json.dumps(document)),
                         bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="<|endoftext|>")
    gpt2.save_pretrained(out)
    write_vocab_and_merges(document, out)

    saved = Tokenizer.from_file(os.path.join(out, "tokenizer.json"))
    assert saved.token_to_id("<|endoftext|>") == end_of_text
    ids = saved.encode(TEXT, add_special_tokens=False).ids
    assert saved.decode(ids, skip_special_tokens=False) == TEXT
    # transformers' tokenizer from a folder with only vocab.json + merges.txt gives the same ids.
    with tempfile.TemporaryDirectory() as folder:
        for name in ("vocab.json", "merges.txt"):
            shutil.copy(os.path.join(out, name), folder)
        pair = GPT2Tokenizer.from_pretrained(folder)
    assert pair.encode(TEXT, add_special_tokens=False) == ids, "vocab.json + merges.txt encode differently"

    with open(os.path.join(out, "text.txt"), "w", encoding="utf-8", newline="") as handle:
        handle.write(TEXT)
    with open(os.path.join(out, "ids.json"), "w", encoding="utf-8") as handle:
        json.dump({"tokenizers_version": tokenizers.__version__, "transformers_version": transformers.__version__,
                   "end_of_text_id": end_of_text, "vocab_size": saved.get_vocab_size(), "ids": ids},
                  handle, separators=(",", ":"))
        handle.write("\n")
    print(f"{out}: {saved.get_vocab_size()} tokens, {len(ids)} ids for {len(TEXT.encode())} bytes "
          f"(tokenizers {tokenizers.__version__}, transformers {transformers.__version__})")


if __name__ == "__main__":
    main()
