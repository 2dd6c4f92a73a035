#!/usr/bin/env python3
"""The anchor of `alambique bench forward`: PyTorch eager forward tokens/s on the same checkpoint folder.

    python3 scripts/bench_forward_hf.py CHECKPOINT_DIR [--batch 4] [--context 256] [--runs 5] [--threads 2]

Loads GPT2LMHeadModel.from_pretrained(CHECKPOINT_DIR) (transformers' default attention, eager mode: no
torch.compile), then times --runs forward passes of one (batch, context) block of token ids under
torch.no_grad after one warm-up pass, and prints one JSON line: the median tokens/s, every run's, the
shape and the versions. The ids are (i * 7 + 1) mod V in row-major order, as `bench forward` feeds ours,
so both sides compute the same logits.
"""

import argparse
import json
import time

import torch
import transformers
from transformers import GPT2LMHeadModel


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--context", type=int, default=256)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = GPT2LMHeadModel.from_pretrained(args.checkpoint).eval()
    vocabulary = model.config.vocab_size
    count = args.batch * args.context
    ids = ((torch.arange(count, dtype=torch.long) * 7 + 1) % vocabulary).reshape(args.batch, args.context)
    rates = []
    with torch.no_grad():
        for run in range(args.runs + 1):  # run 0 warms up (allocator, thread pool)
            start = time.perf_counter()
            logits = model(ids).logits
            seconds = time.perf_counter() - start
            if run > 0:
                rates.append(count / seconds)
            del logits
    rates.sort()
    print(json.dumps({"tokens_per_second": rates[len(rates) // 2], "runs": rates, "batch": args.batch,
                      "context": args.context, "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "transformers": transformers.__version__,
                      "attention": getattr(model.config, "_attn_implementation", "?")}))


if __name__ == "__main__":
    main()
