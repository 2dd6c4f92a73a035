#!/usr/bin/env python3
"""Check that an Alambique checkpoint directory loads in Hugging Face transformers.

    python3 scripts/check_hf_checkpoint.py CHECKPOINT_DIR [--expected LOGITS_JSON] [--tolerance 1e-4]

Loads CHECKPOINT_DIR with GPT2LMHeadModel.from_pretrained (refusing missing or unexpected
weights) and its tokenizer.json with the `tokenizers` library. Given the file the Swift interop
export writes beside the directory (`<name>.logits.json`: text, ids, shape, logits), it checks
that HF encodes the text to the same ids and that HF's logits match ours within the tolerance,
and prints the max absolute difference. Exits non-zero on any mismatch.

Structurally pruned checkpoints say `n_inner` (the MLP width) and `pruned_heads` (per layer, the
removed heads) in config.json. transformers 4.x reads both itself: PreTrainedModel prunes the heads
at init, then the smaller tensors load. transformers 5 dropped head pruning (it ignores
`pruned_heads`); there the script builds GPT2LMHeadModel from the config, narrows each pruned
layer's c_attn/c_proj exactly as 4.x's prune_heads did (kept heads in original order, q|k|v), and
loads model.safetensors strictly into it — HF's own GPT-2 modules compute the logits either way.

Needs: pip install torch transformers safetensors (CPU wheels are enough).
"""

import argparse
import json
import os
import sys

import torch
import transformers
from tokenizers import Tokenizer
from transformers import GPT2Config, GPT2LMHeadModel


def load_model(directory):
    """GPT2LMHeadModel from the directory and from_pretrained's loading info (see the module note)."""
    with open(os.path.join(directory, "config.json")) as f:
        pruned = json.load(f).get("pruned_heads") or {}
    if not pruned or hasattr(GPT2LMHeadModel, "prune_heads"):
        return GPT2LMHeadModel.from_pretrained(directory, output_loading_info=True), "from_pretrained"
    from safetensors.torch import load_file
    from transformers.pytorch_utils import Conv1D

    config = GPT2Config.from_pretrained(directory)
    model = GPT2LMHeadModel(config)
    for layer, removed in pruned.items():
        attn = model.transformer.h[int(layer)].attn
        kept = len(set(range(attn.num_heads)) - set(removed))
        width = kept * attn.head_dim
        attn.c_attn = Conv1D(3 * width, config.n_embd)
        attn.c_proj = Conv1D(config.n_embd, width)
        attn.split_size, attn.num_heads = width, kept
    state = load_file(os.path.join(directory, "model.safetensors"))
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if k != "lm_head.weight"]
    model.tie_weights()
    info = {"missing_keys": missing, "unexpected_keys": list(result.unexpected_keys), "mismatched_keys": [],
            "error_msgs": []}
    return (model, info), f"GPT2LMHeadModel(config) with pruned_heads applied by this script (transformers {transformers.__version__} has no prune_heads)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("checkpoint", help="checkpoint directory (config.json, model.safetensors, tokenizer.json)")
    parser.add_argument("--expected", help="logits JSON written by the Swift interop export "
                                           "(default: CHECKPOINT_DIR.logits.json when it exists)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max abs logit difference accepted")
    args = parser.parse_args()
    checkpoint = args.checkpoint.rstrip("/")
    if args.expected is None and os.path.exists(checkpoint + ".logits.json"):
        args.expected = checkpoint + ".logits.json"  # where the Swift export puts it

    (model, info), how = load_model(args.checkpoint)
    model.eval()
    # The head is tied to wte, so lm_head.weight is expected to be absent from the file.
    missing = [k for k in info["missing_keys"] if k != "lm_head.weight"]
    problems = {"missing": missing, "unexpected": info["unexpected_keys"], "mismatched": info["mismatched_keys"],
                "errors": info["error_msgs"]}
    if any(problems.values()):
        print(f"FAIL: loading {args.checkpoint}: {problems}")
        return 1
    if model.lm_head.weight.data_ptr() != model.transformer.wte.weight.data_ptr():
        print("FAIL: lm_head is not tied to transformer.wte")
        return 1
    print(f"loaded {args.checkpoint} (transformers {transformers.__version__}, {how}): "
          f"{sum(p.numel() for p in model.parameters()):,} parameters, dtype {model.dtype}")

    tokenizer = Tokenizer.from_file(os.path.join(args.checkpoint, "tokenizer.json"))
    if args.expected is None:
        ids = torch.tensor([list(range(min(8, model.config.vocab_size)))])
        with torch.no_grad():
            print("logits[0, 0, :5] =", model(ids).logits[0, 0, :5].tolist())
        return 0

    with open(args.expected) as f:
        expected = json.load(f)
    flat_ids = [i for row in expected["ids"] for i in row]
    hf_ids = tokenizer.encode(expected["text"]).ids
    if hf_ids != flat_ids:
        print(f"FAIL: tokenizer ids differ:\n  hf    {hf_ids}\n  ours  {flat_ids}")
        return 1
    with torch.no_grad():
        logits = model(torch.tensor(expected["ids"])).logits
    ours = torch.tensor(expected["logits"], dtype=torch.float32).reshape(expected["shape"])
    if list(logits.shape) != list(ours.shape):
        print(f"FAIL: logits shape {list(logits.shape)}, ours {list(ours.shape)}")
        return 1
    difference = (logits - ours).abs().max().item()
    scale = ours.abs().max().item()
    verdict = "OK" if difference <= args.tolerance else "FAIL"
    print(f"{verdict}: tokenizer ids identical; max |logit difference| = {difference:.3e} "
          f"(logits up to {scale:.3f}, tolerance {args.tolerance:g})")
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    sys.exit(main())
