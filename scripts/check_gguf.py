"""make interop: llama.cpp (through llama-cpp-python) runs our GGUF exports as we do.

For each export type (f32, f16, q8_0, q4_0, q4_1) of a checkpoint:
  1. `alambique export gguf` writes the file; `alambique import gguf` reads it back into a
     checkpoint (ours, on exactly the exported weights and blocks);
  2. `alambique generate --temperature 0 --logits-out` gives our logits at every position of a
     16-token prompt and our greedy continuation of 50 tokens;
  3. llama.cpp loads the file, tokenizes the prompt (must give our ids), evaluates it
     (F32 KV cache) and continues greedily.
Checks: F32 logits within 1e-3 (max abs) and the same 50 greedy tokens (hence the same text);
Q8_0/Q4_0/Q4_1 logits differ from ours on the same blocks by no more than our own quantization
error, max |ours(type) - ours(F32)|; F16 within 1e-2 (llama.cpp also rounds the activations to
half precision before an F16 product, an error of the same order as the weights' own rounding).
With TEXT (e.g. data/shakespeare/val.txt), llama.cpp must also tokenize that whole text, in chunks
of 100 lines, to the ids `alambique tokenizer encode` gives.
Usage: python check_gguf.py ALAMBIQUE CHECKPOINT WORKDIR [TEXT]
"""
import json, os, subprocess, sys
import numpy as np
from llama_cpp import Llama

alambique, checkpoint, work = sys.argv[1:4]
text_file = sys.argv[4] if len(sys.argv) > 4 else None
os.makedirs(work, exist_ok=True)
PROMPT = "ROMEO:\nWhat ligh"          # 16 characters: 16 tokens for a char model
NEW = 50

def run(*args):
    r = subprocess.run([alambique, *args], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: alambique {' '.join(args)}\n{r.stderr}")
    return r.stdout

def ours(ckpt, name):
    out = os.path.join(work, f"{name}-ours.json")
    run("generate", ckpt, "--prompt", PROMPT, "--max-new-tokens", str(NEW), "--temperature", "0", "--logits-out", out)
    return json.load(open(out))

def llama(path, prompt_ids):
    llm = Llama(model_path=path, n_ctx=256, n_threads=2, logits_all=True, verbose=False,
                type_k=0, type_v=0, flash_attn=False)   # F32 KV cache: no half rounding of keys/values
    tokens = llm.tokenize(PROMPT.encode(), add_bos=False, special=False)
    llm.eval(prompt_ids)
    logits = np.array(llm.scores[:len(prompt_ids)], dtype=np.float64)
    generated = []
    for _ in range(NEW):
        nxt = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        generated.append(nxt)
        llm.eval([nxt])
    text = llm.detokenize(generated).decode("utf-8", errors="replace")
    return tokens, logits, generated, text

failures = []
reference = ours(checkpoint, "checkpoint")
ref_logits = np.array(reference["logits"], dtype=np.float64)
print(f"checkpoint {reference['model']}: prompt {len(reference['prompt_ids'])} tokens")
print("| type | file bytes | llama.cpp tokenizes as we do | max abs Δ logits (llama.cpp vs ours, same weights) | our quantization error | greedy 50 equal |")
print("|---|---:|---|---:|---:|---|")
for t in ["f32", "f16", "q8_0", "q4_0", "q4_1"]:
    path = os.path.join(work, f"model-{t}.gguf")
    run("export", "gguf", checkpoint, "--type", t, "--out", path, "--force")
    imported = os.path.join(work, f"imported-{t}")
    run("import", "gguf", path, "--out", imported, "--force")
    mine = ours(imported, t)
    tokens, logits, generated, text = llama(path, mine["prompt_ids"])
    mine_logits = np.array(mine["logits"], dtype=np.float64)
    delta = float(np.max(np.abs(logits - mine_logits)))
    qerr = float(np.max(np.abs(mine_logits - ref_logits)))
    same_tokens = tokens == mine["prompt_ids"]
    same_greedy = generated == mine["generated_ids"]
    print(f"| {t.upper()} | {os.path.getsize(path):,} | {'yes' if same_tokens else 'NO'} | {delta:.2e} | {qerr:.2e} | {'yes' if same_greedy else 'no'} |")
    if not same_tokens:
        failures.append(f"{t}: llama.cpp tokenizes the prompt as {tokens}, we as {mine['prompt_ids']}")
    if t == "f32":
        if delta > 1e-3:
            failures.append(f"f32: max |Δ logits| {delta:.2e} > 1e-3")
        if not same_greedy or text != mine["text"]:
            failures.append(f"f32: greedy continuations differ:\n  llama.cpp {text!r}\n  ours      {mine['text']!r}")
        else:
            print(f"  greedy text (both): {text!r}")
    elif t == "f16":
        if delta > 1e-2:
            failures.append(f"f16: max |Δ logits| {delta:.2e} > 1e-2")
    elif delta > qerr:
        failures.append(f"{t}: llama.cpp differs from ours by {delta:.2e}, more than our quantization error {qerr:.2e}")
if text_file:
    # Tokenization of a whole text: ours (tokenizer encode, chunks of 100 lines) against llama.cpp's.
    ids_path = os.path.join(work, "text.ids")
    run("tokenizer", "encode", os.path.join(checkpoint, "tokenizer.json"), text_file, "--out", ids_path, "--lines-per-chunk", "100")
    lines = open(ids_path).read().splitlines()
    ours_chunks = [json.loads(line) for line in lines[1:]]
    text = open(text_file, encoding="utf-8", newline="").read()
    pieces = text.split("\n")
    chunks = ["\n".join(pieces[i:i + 100]) + ("\n" if i + 100 < len(pieces) else "") for i in range(0, len(pieces), 100)]
    chunks = [c for c in chunks if c]
    llm = Llama(model_path=os.path.join(work, "model-f32.gguf"), n_ctx=256, verbose=False, vocab_only=True)
    bad = [i for i, (c, o) in enumerate(zip(chunks, ours_chunks)) if llm.tokenize(c.encode(), add_bos=False, special=False) != o]
    total = sum(len(o) for o in ours_chunks)
    print(f"tokenization of {text_file}: {len(chunks)} chunks, {total:,} tokens, {len(chunks) - len(bad)} identical")
    if len(chunks) != len(ours_chunks) or bad:
        failures.append(f"tokenization differs from ours in {len(bad)} of {len(chunks)} chunks (first: {bad[:3]})")
if failures:
    sys.exit("FAIL:\n" + "\n".join(failures))
print("OK: llama.cpp loads every export type and computes our logits")
