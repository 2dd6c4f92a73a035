#!/usr/bin/env python3
"""Make a GPT-2-124M-shaped checkpoint with transformers, for `alambique bench load` and BENCHMARKS.md.

    /work/venv/bin/python scripts/make_gpt2_124m.py CORPUS.txt OUT_DIR [--vocab 50257] [--dtype float32]

Trains a ByteLevel BPE tokenizer with `tokenizers` on CORPUS.txt (up to --vocab tokens, `<|endoftext|>`
added and special; a small corpus ends with fewer), builds GPT2LMHeadModel with GPT-2 small's shape
(12 layers, 12 heads, n_embd 768, n_positions 1024) and that vocabulary, random weights (seed 0), and
saves it with save_pretrained (model.safetensors, config.json, generation_config.json) plus tokenizer.json.
Not committed: ~0.5 GB.
"""

import argparse
import os

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import GPT2Config, GPT2LMHeadModel, GenerationConfig


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus")
    parser.add_argument("out")
    parser.add_argument("--vocab", type=int, default=50257)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--max-shard-size", default=None, help="e.g. 200MB for a sharded copy")
    args = parser.parse_args()
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=args.vocab, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train([args.corpus], trainer=trainer)
    eot = tokenizer.token_to_id("<|endoftext|>")
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=tokenizer.get_vocab_size(), bos_token_id=eot, eos_token_id=eot)
    model = GPT2LMHeadModel(config).to(getattr(torch, args.dtype))
    model.generation_config = GenerationConfig(bos_token_id=eot, eos_token_id=eot)
    kwargs = {"max_shard_size": args.max_shard_size} if args.max_shard_size else {}
    model.save_pretrained(args.out, **kwargs)
    tokenizer.save(os.path.join(args.out, "tokenizer.json"))
    print(f"{args.out}: {sum(p.numel() for p in model.parameters())} parameters, vocabulary {tokenizer.get_vocab_size()}")


if __name__ == "__main__":
    main()
