#!/usr/bin/env python3
r"""Check that Hugging Face `tokenizers` encodes a text exactly as Alambique does.

Usage:
  check_tokenizer.py TOKENIZER_JSON TEXT_FILE IDS_FILE   compare HF's ids with ours (exit 1 on any difference)
  check_tokenizer.py TOKENIZER_JSON TEXT_FILE            print HF's ids in the same format

IDS_FILE (written by `TokenIDsFile.write` in Sources/Tokenizers/TokenIDsFile.swift):
  line 1:  {"format": "alambique.token-ids", "version": 1, "lines_per_chunk": L, "tokenizer_sha256": "..."}
  then:    one JSON array of token ids per chunk of TEXT_FILE.
A chunk is L consecutive lines of the text, each keeping its "\n" (L = 0: the whole file).
The text is read as UTF-8 with newlines untouched. Besides the ids, the check asserts that
HF decodes the ids back to the chunk (special tokens kept; skipped when the pre-tokenizer
has add_prefix_space, whose added space decoding keeps) and that the tokenizer file's
SHA-256 matches the header (a note only: it differs for files not written by Alambique).

Needs `pip install tokenizers` (outside the repository, e.g. python3 -m venv /tmp/tokvenv).
"""
import argparse
import hashlib
import json
import sys

from tokenizers import Tokenizer


def chunks_of(text, lines_per_chunk):
    if lines_per_chunk <= 0:
        return [text]
    # Only "\n" ends a line (as on the Swift side); split() leaves a final "" after a trailing one.
    lines = text.split("\n")
    pieces = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return ["".join(pieces[i:i + lines_per_chunk]) for i in range(0, len(pieces), lines_per_chunk)]


def describe_mismatch(tokenizer, chunk_index, ours, theirs):
    position = next((i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b), min(len(ours), len(theirs)))
    window = slice(max(0, position - 3), position + 4)
    token = lambda i: tokenizer.id_to_token(i) if i is not None and 0 <= i < tokenizer.get_vocab_size() else None
    return (f"chunk {chunk_index}: first difference at token {position} (ours {len(ours)} tokens, HF {len(theirs)})\n"
            f"  ours: {ours[window]} {[token(i) for i in ours[window]]}\n"
            f"  HF:   {theirs[window]} {[token(i) for i in theirs[window]]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tokenizer_json")
    parser.add_argument("text_file")
    parser.add_argument("ids_file", nargs="?")
    parser.add_argument("--lines-per-chunk", type=int, default=0, help="chunking when printing (default: whole file)")
    args = parser.parse_args()

    tokenizer = Tokenizer.from_file(args.tokenizer_json)
    with open(args.text_file, encoding="utf-8", newline="") as handle:
        text = handle.read()

    if args.ids_file is None:
        with open(args.tokenizer_json, "rb") as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        print(json.dumps({"format": "alambique.token-ids", "version": 1,
                          "lines_per_chunk": args.lines_per_chunk, "tokenizer_sha256": digest}))
        for chunk in chunks_of(text, args.lines_per_chunk):
            print(json.dumps(tokenizer.encode(chunk, add_special_tokens=False).ids, separators=(",", ":")))
        return 0

    with open(args.ids_file, encoding="utf-8") as handle:
        header = json.loads(handle.readline())
        if header.get("format") != "alambique.token-ids" or header.get("version") != 1:
            print(f"{args.ids_file}: line 1 is not an alambique.token-ids version 1 header: {header}", file=sys.stderr)
            return 2
        ours_per_chunk = [json.loads(line) for line in handle if line.strip()]
    chunks = chunks_of(text, header["lines_per_chunk"])
    if len(chunks) != len(ours_per_chunk):
        print(f"{args.ids_file}: {len(ours_per_chunk)} chunks, but the text gives {len(chunks)}", file=sys.stderr)
        return 1

    with open(args.tokenizer_json, "rb") as handle:
        raw = handle.read()
    digest = hashlib.sha256(raw).hexdigest()
    # add_prefix_space inserts a space that decoding keeps, so decode(encode(x)) != x by design.
    pre_tokenizer = json.loads(raw).get("pre_tokenizer") or {}
    check_decode = not pre_tokenizer.get("add_prefix_space", False)
    if not check_decode:
        print("note: add_prefix_space is set, so the decode round trip is not checked")
    failures = 0
    if digest != header.get("tokenizer_sha256"):
        print(f"note: SHA-256 of {args.tokenizer_json} is {digest}, header has {header.get('tokenizer_sha256')} "
              "(expected only when the file is not in Alambique's canonical form)")
    total_tokens = 0
    for index, (chunk, ours) in enumerate(zip(chunks, ours_per_chunk)):
        theirs = tokenizer.encode(chunk, add_special_tokens=False).ids
        total_tokens += len(theirs)
        if theirs != ours:
            failures += 1
            if failures <= 5:
                print(describe_mismatch(tokenizer, index, ours, theirs))
            continue
        decoded = tokenizer.decode(theirs, skip_special_tokens=False) if check_decode else chunk
        if decoded != chunk:
            failures += 1
            if failures <= 5:
                print(f"chunk {index}: HF decodes the ids to a different text: {decoded[:80]!r} vs {chunk[:80]!r}")
    size = tokenizer.get_vocab_size()
    print(f"{args.tokenizer_json}: vocab {size}, {len(chunks)} chunks, {total_tokens} tokens, "
          f"{len(text.encode('utf-8'))} bytes: {len(chunks) - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
