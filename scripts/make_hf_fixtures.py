#!/usr/bin/env python3
"""Make the Hugging Face GPT-2 fixtures under Tests/Fixtures/ (committed; no Python at test time).

    /work/venv/bin/python scripts/make_hf_fixtures.py [--out Tests/Fixtures]

Writes, all saved by transformers itself:
- hf-gpt2-tiny/        GPT2LMHeadModel, random init (seed 0), 2 layers, n_embd 32, 4 heads, n_positions 64,
                       F32, with a ByteLevel BPE tokenizer.json trained by `tokenizers` (vocab 300,
                       `<|endoftext|>` an added special token) and generation_config.json;
- hf-gpt2-tiny-bf16/   the same model saved in bfloat16;
- hf-gpt2-tiny-sharded/ the F32 model in two shards (model.safetensors.index.json);
- hf-gpt2-tiny.reference.json: the fixed text, HF's ids for it, transformers' version, and HF's logits
  for those ids from the F32 model and from the BF16 model (computed in float32 from the bf16 weights).
"""

import argparse
import json
import os
import shutil

import tokenizers
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import GPT2Config, GPT2LMHeadModel, GenerationConfig

TEXT = "Hello world! The quick brown fox jumps over the lazy dog.<|endoftext|> Café, 3.14 — naïve."
CORPUS = [
    "The quick brown fox jumps over the lazy dog. " * 4,
    "Hello world, hello there; the world says hello back. " * 4,
    "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer. " * 3,
    "Numbers 0123456789 and punctuation !?.,;:'\"()[]{} are text too. Café naïve — déjà vu. " * 3,
]


def train_tokenizer():
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    # As in the gpt2 repository's tokenizer.json (offsets only; it adds no tokens).
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(CORPUS, trainer=trainer)
    return tokenizer


def save(model, tokenizer, directory, **kwargs):
    """The model as transformers saves it, and tokenizer.json as `tokenizers` writes it (transformers 5's
    PreTrainedTokenizerFast.save_pretrained would replace the post-processor by an empty template)."""
    if os.path.exists(directory):
        shutil.rmtree(directory)
    model.save_pretrained(directory, **kwargs)
    tokenizer.save(os.path.join(directory, "tokenizer.json"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="Tests/Fixtures")
    args = parser.parse_args()
    torch.manual_seed(0)
    raw = train_tokenizer()
    eot = raw.token_to_id("<|endoftext|>")
    config = GPT2Config(vocab_size=raw.get_vocab_size(), n_positions=64, n_embd=32, n_layer=2, n_head=4,
                        bos_token_id=eot, eos_token_id=eot)
    model = GPT2LMHeadModel(config).eval()
    model.generation_config = GenerationConfig(bos_token_id=eot, eos_token_id=eot)
    ids = raw.encode(TEXT).ids

    tiny = os.path.join(args.out, "hf-gpt2-tiny")
    save(model, raw, tiny)
    save(model, raw, tiny + "-sharded", max_shard_size="100KB")
    bf16 = GPT2LMHeadModel.from_pretrained(tiny, dtype=torch.bfloat16)
    save(bf16, raw, tiny + "-bf16")

    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
        widened = GPT2LMHeadModel.from_pretrained(tiny + "-bf16", dtype=torch.float32).eval()
        bf16_logits = widened(torch.tensor([ids])).logits[0]
    with open(os.path.join(tiny + "-sharded", "model.safetensors.index.json")) as f:
        shards = sorted(set(json.load(f)["weight_map"].values()))
    assert len(shards) == 2, f"expected two shards, got {shards}"
    reference = {
        "transformers": transformers.__version__, "tokenizers": tokenizers.__version__, "torch": torch.__version__,
        "text": TEXT, "ids": ids, "shape": list(logits.shape),
        "logits": [round(float(x), 7) for x in logits.flatten()],
        "bf16_logits": [round(float(x), 7) for x in bf16_logits.flatten()],
    }
    with open(os.path.join(args.out, "hf-gpt2-tiny.reference.json"), "w") as f:
        json.dump(reference, f)
        f.write("\n")
    print(f"wrote {tiny}, -bf16, -sharded ({shards}); {len(ids)} ids; transformers {transformers.__version__}")


if __name__ == "__main__":
    main()
