#!/usr/bin/env python3
"""The anchor of `alambique bench load`: transformers' load time on the same checkpoint folder.

    python3 scripts/bench_load_hf.py CHECKPOINT_DIR [--runs 5]

Times GPT2LMHeadModel.from_pretrained(CHECKPOINT_DIR) plus the tokenizer (tokenizers.Tokenizer.from_file
on its tokenizer.json) --runs times after one warm-up load (so both sides read from the page cache),
and prints one JSON line: the median, every run, transformers' version, and the peak RSS of the
process above its baseline after imports (ru_maxrss, MB).
"""

import argparse
import json
import os
import resource
import time

import torch
import transformers
from tokenizers import Tokenizer
from transformers import GPT2LMHeadModel


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(2)
    baseline = rss_mb()
    times = []
    for run in range(args.runs + 1):
        start = time.perf_counter()
        model = GPT2LMHeadModel.from_pretrained(args.checkpoint)
        tokenizer = Tokenizer.from_file(os.path.join(args.checkpoint, "tokenizer.json"))
        elapsed = time.perf_counter() - start
        if run == 0:
            peak = rss_mb() - baseline
        else:
            times.append(elapsed)
        del model, tokenizer
    times.sort()
    print(json.dumps({"transformers": transformers.__version__, "median_seconds": times[len(times) // 2],
                      "runs": times, "peak_rss_mb": peak}))


if __name__ == "__main__":
    main()
