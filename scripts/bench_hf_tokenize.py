#!/usr/bin/env python3
r"""The Hugging Face side of `alambique bench tokenize`: times `tokenizers` (the Rust library) on the
same documents and tokenizer.json as ours, and prints one JSON object on stdout.

Usage: bench_hf_tokenize.py TOKENIZER_JSON DOCUMENTS_JSON [--runs N]

DOCUMENTS_JSON is a JSON array of strings (written by the bench). Each run is one
`Tokenizer.encode_batch(documents, add_special_tokens=False)`; its threads are rayon's, so the
bench sets RAYON_NUM_THREADS (and TOKENIZERS_PARALLELISM=true). One warm-up run is not timed.
Output: tokenizers version, threads, seconds per run, documents, UTF-8 bytes, the token count, and
the SHA-256 of all ids in order as little-endian int32 (the bench compares both with ours).
"""
import argparse
import array
import hashlib
import json
import os
import sys
import time

import tokenizers
from tokenizers import Tokenizer


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tokenizer_json")
    parser.add_argument("documents_json")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    tokenizer = Tokenizer.from_file(args.tokenizer_json)
    with open(args.documents_json, encoding="utf-8") as handle:
        documents = json.load(handle)
    encodings = tokenizer.encode_batch(documents, add_special_tokens=False)  # warm-up
    seconds = []
    for _ in range(args.runs):
        start = time.perf_counter()
        encodings = tokenizer.encode_batch(documents, add_special_tokens=False)
        seconds.append(time.perf_counter() - start)
    ids = array.array("i")
    for encoding in encodings:
        ids.extend(encoding.ids)
    if sys.byteorder != "little":
        ids.byteswap()
    print(json.dumps({
        "tokenizers_version": tokenizers.__version__,
        "threads": int(os.environ.get("RAYON_NUM_THREADS", "0")) or os.cpu_count(),
        "seconds": seconds,
        "documents": len(documents),
        "bytes": sum(len(document.encode("utf-8")) for document in documents),
        "tokens": len(ids),
        "ids_sha256": hashlib.sha256(ids.tobytes()).hexdigest(),
    }))


if __name__ == "__main__":
    main()
