#!/usr/bin/env python3
"""Check an Alambique soft-logit file with h5py and numpy (DESIGN.md §6).

    python3 scripts/check_logits.py FILE.h5 [FILE.h5 ...] [--full-reference FULL.h5]

For every file: the root attributes exist with the expected types and values (`complete = 1`,
`format = "alambique.logits"`, `format_version = 1`, `temperature = 1`, ...); /tokens is int32
[N, T+1] with ids below vocab_size; full files have /logits [N, T, V]; top-k files have
/topk/indices (uint16 when V <= 65535) and /topk/logits [N, T, K] sorted descending, and
/logsumexp float32 [N, T] at least the largest logit, with stored probabilities summing to at
most 1 (plus float16 rounding); float16 data is read as numpy float16; /tokenizer_json parses.
Shards of one set (`name-00001-of-0000n.h5`) must agree and cover the sequences in order.

With --full-reference (a full-logit float32 file of the same teacher, split and windows), the
top-k file's indices must be the true top-k of the full logits and exp(logit - logsumexp)
must equal the full softmax at those indices within float16 rounding.

Exits non-zero on any failure. Needs: pip install h5py numpy
"""

import argparse
import json
import sys

import h5py
import numpy as np

REQUIRED = {
    "format": str, "format_version": np.integer, "teacher": str, "teacher_sha256": str,
    "tokenizer_sha256": str, "vocab_size": np.integer, "context": np.integer, "top_k": np.integer,
    "dtype": str, "split": str, "temperature": np.floating, "created": str, "complete": np.integer,
}


def fail(path, message):
    raise SystemExit(f"FAIL {path}: {message}")


def check_file(path):
    with h5py.File(path, "r") as f:
        attrs = dict(f.attrs)
        for name, kind in REQUIRED.items():
            if name not in attrs:
                fail(path, f"attribute {name} missing")
            value = attrs[name]
            ok = isinstance(value, str) if kind is str else isinstance(value, kind)
            if not ok:
                fail(path, f"attribute {name} = {value!r} has type {type(value).__name__}, expected {kind.__name__}")
        if attrs["complete"] != 1 or attrs["format"] != "alambique.logits" or attrs["format_version"] != 1:
            fail(path, f"complete/format/format_version = {attrs['complete']}/{attrs['format']}/{attrs['format_version']}")
        if attrs["temperature"] != 1.0:
            fail(path, "temperature must be 1 (raw logits)")
        v, t, k = int(attrs["vocab_size"]), int(attrs["context"]), int(attrs["top_k"])
        want = {"float16": np.float16, "float32": np.float32}[attrs["dtype"]]

        tokens = f["tokens"][()]
        n = tokens.shape[0]
        if tokens.dtype != np.int32 or tokens.shape != (n, t + 1):
            fail(path, f"/tokens is {tokens.dtype} {tokens.shape}, expected int32 ({n}, {t + 1})")
        if tokens.min() < 0 or tokens.max() >= v:
            fail(path, f"token ids outside [0, {v})")
        json.loads(bytes(f["tokenizer_json"][()]).decode("utf-8"))

        if k == 0:
            logits = f["logits"][()]
            if logits.dtype != want or logits.shape != (n, t, v):
                fail(path, f"/logits is {logits.dtype} {logits.shape}, expected {want.__name__} ({n}, {t}, {v})")
            if not np.isfinite(logits).all():
                fail(path, "non-finite logits")
            content = {"logits": logits}
        else:
            indices = f["topk/indices"][()]
            values = f["topk/logits"][()]
            lse = f["logsumexp"][()]
            index_type = np.uint16 if v <= 65535 else np.int32
            if indices.dtype != index_type or indices.shape != (n, t, k):
                fail(path, f"/topk/indices is {indices.dtype} {indices.shape}, expected {index_type.__name__} ({n}, {t}, {k})")
            if values.dtype != want or values.shape != (n, t, k):
                fail(path, f"/topk/logits is {values.dtype} {values.shape}, expected {want.__name__} ({n}, {t}, {k})")
            if lse.dtype != np.float32 or lse.shape != (n, t):
                fail(path, f"/logsumexp is {lse.dtype} {lse.shape}, expected float32 ({n}, {t})")
            if int(indices.max()) >= v:
                fail(path, "top-k index outside the vocabulary")
            if (np.diff(values.astype(np.float32), axis=-1) > 0).any():
                fail(path, "top-k logits are not sorted descending")
            if (lse < values[..., 0].astype(np.float32) - 1e-3).any():
                fail(path, "logsumexp below the largest logit")
            mass = np.exp(values.astype(np.float64) - lse[..., None]).sum(-1)
            slack = 1e-2 if want is np.float16 else 1e-4
            if (mass > 1 + slack).any():
                fail(path, f"stored probabilities sum to {mass.max():.6f} > 1")
            content = {"indices": indices, "logits": values, "logsumexp": lse}
        print(f"ok {path}: {n} sequences x {t}, V={v}, top_k={k}, {attrs['dtype']}, "
              f"shard {attrs.get('shard_index', 0) + 1}/{attrs.get('shard_count', 1)}")
        return attrs, tokens, content


def merge(results):
    """Concatenates shards in order after checking they belong together."""
    results = sorted(results, key=lambda r: int(r[0].get("shard_index", 0)))
    first = results[0][0]
    start = 0
    for attrs, tokens, _ in results:
        for key in ("teacher_sha256", "tokenizer_sha256", "vocab_size", "context", "top_k", "dtype", "split", "sequences"):
            if attrs.get(key) != first.get(key):
                raise SystemExit(f"FAIL: shards disagree on {key}")
        if int(attrs.get("first_sequence", 0)) != start:
            raise SystemExit(f"FAIL: shard {attrs.get('shard_index')} starts at {attrs.get('first_sequence')}, expected {start}")
        start += tokens.shape[0]
    if "sequences" in first and start != int(first["sequences"]):
        raise SystemExit(f"FAIL: shards hold {start} sequences, attribute says {first['sequences']}")
    tokens = np.concatenate([r[1] for r in results])
    content = {key: np.concatenate([r[2][key] for r in results]) for key in results[0][2]}
    return first, tokens, content


def compare_with_full(topk, full):
    attrs, tokens, content = topk
    full_attrs, full_tokens, full_content = full
    if not np.array_equal(tokens, full_tokens):
        raise SystemExit("FAIL: the top-k and full files hold different windows")
    logits = full_content["logits"].astype(np.float64)
    k = int(attrs["top_k"])
    # The true top-k (ties by the lower index, as the export breaks them).
    order = np.argsort(-logits, axis=-1, kind="stable")[..., :k]
    if not np.array_equal(order, content["indices"].astype(np.int64)):
        bad = np.argwhere(order != content["indices"])[0]
        raise SystemExit(f"FAIL: top-k indices differ from the full logits' top-k at {tuple(bad)}")
    m = logits.max(-1, keepdims=True)
    log_norm = m + np.log(np.exp(logits - m).sum(-1, keepdims=True))
    exact = np.exp(np.take_along_axis(logits, order, -1) - log_norm)
    stored = np.exp(content["logits"].astype(np.float64) - content["logsumexp"][..., None].astype(np.float64))
    # float16 rounding of a logit l moves exp(l - lse) by a factor within exp(+-|l| * 2^-11).
    bound = np.expm1(np.abs(np.take_along_axis(logits, order, -1)) * 2.0 ** -11) + 1e-6
    worst = (np.abs(stored - exact) / exact / bound).max()
    if worst > 1:
        raise SystemExit(f"FAIL: top-k probabilities differ from the full softmax beyond float16 rounding ({worst:.3f} of the bound)")
    print(f"ok top-k vs full: indices are the true top-{k}; probabilities within float16 rounding ({worst:.3f} of the bound)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("files", nargs="+", help="logit files; shards of one set are merged")
    parser.add_argument("--full-reference", help="a full float32 logit file to check the top-k file(s) against")
    args = parser.parse_args()
    results = [check_file(path) for path in args.files]
    if args.full_reference:
        merged = merge(results)
        compare_with_full(merged, merge([check_file(args.full_reference)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
