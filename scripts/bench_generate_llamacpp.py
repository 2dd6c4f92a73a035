#!/usr/bin/env python3
"""The anchor of `alambique bench generate`: llama.cpp's batch-1 greedy generation on a GGUF file.

    python3 scripts/bench_generate_llamacpp.py FILE.gguf [--prompt-length 16] [--new-tokens 100] [--runs 5]
        [--threads 2] [--ours LOGITS_JSON] [--hf CHECKPOINT_DIR]

llama.cpp through llama-cpp-python, as ../shared/anchors/llamacpp_gpt2_bench.py measures it: the prompt
(ids (i * 7 + 1) mod V, the ones `bench generate` feeds ours) is evaluated untimed, then --new-tokens
single-token steps are timed, each taking the argmax of the last logits; one warm-up run, then the median of
--runs. Prints one JSON line (tokens/s median and runs, the file's size).

With --ours (the JSON of `alambique generate --temperature 0 --logits-out`), llama.cpp evaluates that file's
prompt ids and the JSON gains the max |Δ| between its logits and ours at every prompt position; with --hf
(a transformers checkpoint folder), also HF's logits on the same ids against both — proof that llama.cpp
reads the export as we and transformers compute the model.
"""

import argparse
import json
import os
import time

import llama_cpp
import numpy as np
from llama_cpp import Llama


def last_logits(llm):
    # Without logits_all, llama-cpp-python keeps no scores; the context's buffer holds the last
    # position's logits, read in place (no copy), so the Python side adds only an argmax per step.
    return np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(llm.n_vocab(),))


def timed_generation(llm, prompt, new_tokens):
    llm.reset()
    llm.eval(prompt)  # the prompt is not timed, as on our side
    start = time.perf_counter()
    for _ in range(new_tokens):
        llm.eval([int(np.argmax(last_logits(llm)))])
    return new_tokens / (time.perf_counter() - start)


def compare(args, result):
    ours = json.load(open(args.ours))
    ids = ours["prompt_ids"]
    llm = Llama(model_path=args.gguf, n_ctx=max(256, len(ids)), n_threads=args.threads, logits_all=True,
                verbose=False, type_k=0, type_v=0, flash_attn=False)  # F32 KV cache: no half rounding
    llm.eval(ids)
    theirs = np.array(llm.scores[:len(ids)], dtype=np.float64)
    mine = np.array(ours["logits"], dtype=np.float64)
    result["prompt_ids"] = len(ids)
    result["max_abs_diff_llamacpp_vs_ours"] = float(np.max(np.abs(theirs - mine)))
    result["same_argmax_llamacpp_vs_ours"] = bool((theirs.argmax(1) == mine.argmax(1)).all())
    if args.hf:
        import torch
        from transformers import GPT2LMHeadModel
        model = GPT2LMHeadModel.from_pretrained(args.hf).eval()
        with torch.no_grad():
            hf = model(torch.tensor([ids])).logits[0].double().numpy()
        result["max_abs_diff_hf_vs_ours"] = float(np.max(np.abs(hf - mine)))
        result["max_abs_diff_llamacpp_vs_hf"] = float(np.max(np.abs(theirs - hf)))
    del llm


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gguf")
    parser.add_argument("--prompt-length", type=int, default=16)
    parser.add_argument("--new-tokens", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ours")
    parser.add_argument("--hf")
    args = parser.parse_args()
    llm = Llama(model_path=args.gguf, n_ctx=args.prompt_length + args.new_tokens, n_threads=args.threads,
                n_batch=max(args.prompt_length, 8), verbose=False)
    vocabulary = llm.n_vocab()
    prompt = [(i * 7 + 1) % vocabulary for i in range(args.prompt_length)]
    rates = [timed_generation(llm, prompt, args.new_tokens) for _ in range(args.runs + 1)][1:]
    del llm
    rates.sort()
    result = {"tokens_per_second": rates[len(rates) // 2], "runs": rates, "threads": args.threads,
              "file_bytes": os.path.getsize(args.gguf), "llama_cpp_python": llama_cpp.__version__}
    if args.ours:
        compare(args, result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
