#!/usr/bin/env python3
"""A bad-input and fault audit of the release binary, as a hostile or careless user would try it.

Each case makes a file (or an environment) from a small real checkpoint, runs one command with a time
limit, and checks what must hold whatever the input: the command ends (no hang), it ends with an error
or a success and never on a signal (exit code below 128), it writes nothing outside the folder it was
told, and no file of the user's is lost. Cases that must fail must fail with a message on stderr.

    python3 scripts/audit.py .build/release/alambique [--keep DIR]

Stdlib only. Prints one line per case and a summary; exits 1 if any case breaks a rule.
"""
import argparse
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

TIMEOUT = 120


class Audit:
    def __init__(self, binary, work):
        self.binary = os.path.abspath(binary)
        self.work = work
        self.results = []

    def run(self, name, args, expect="error", cwd=None, outside=None, timeout=TIMEOUT, env=None, stdin=None):
        """Runs the binary; `expect` is "error", "ok" or "any"; `outside` is a folder that must not change."""
        before = snapshot(outside) if outside else None
        start = time.time()
        try:
            p = subprocess.run([self.binary] + args, cwd=cwd or self.work, capture_output=True, text=True,
                               timeout=timeout, env=env, input=stdin)
            code, err = p.returncode, p.stderr
        except subprocess.TimeoutExpired:
            code, err = "timeout", ""
        seconds = time.time() - start
        problems = []
        if code == "timeout":
            problems.append(f"no end within {timeout} s")
        elif code < 0 or code >= 128:
            problems.append(f"killed by signal {-code if code < 0 else code - 128}")
        elif expect == "error" and code == 0:
            problems.append("succeeded, an error was expected")
        elif expect == "ok" and code != 0:
            problems.append(f"failed: {last_line(err)}")
        if code not in (0, "timeout") and not err.strip():
            problems.append("failed without a message")
        if len(err) > 20000:
            problems.append(f"{len(err)} bytes on stderr")
        if outside is not None and snapshot(outside) != before:
            problems.append(f"changed {outside}")
        self.results.append((name, code, seconds, problems, last_line(err)))
        mark = "ok " if not problems else "BAD"
        print(f"{mark} {name:58s} rc={code!s:8s} {seconds:6.2f}s  {'; '.join(problems) or last_line(err)[:110]}",
              flush=True)
        return code


def last_line(text):
    lines = [l for l in text.strip().splitlines() if l.strip()]
    return lines[-1] if lines else ""


def snapshot(folder):
    state = {}
    for root, dirs, files in os.walk(folder):
        for f in dirs + files:
            path = os.path.join(root, f)
            try:
                st = os.lstat(path)
                state[path] = (st.st_size, st.st_mtime_ns, st.st_mode)
            except FileNotFoundError:
                pass
    return state


# --- file surgery -----------------------------------------------------------------------------------------

def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8:8 + n]), data[8 + n:]


def write_safetensors(path, header, body):
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    open(path, "wb").write(struct.pack("<Q", len(text)) + text + body)


def set_float(path, tensor, index, value):
    header, body = read_safetensors(path)
    begin = header[tensor]["data_offsets"][0]
    body = bytearray(body)
    body[begin + 4 * index: begin + 4 * index + 4] = struct.pack("<f", value)
    write_safetensors(path, header, bytes(body))


def scale_tensor(path, tensor, factor):
    header, body = read_safetensors(path)
    begin, end = header[tensor]["data_offsets"]
    values = struct.unpack(f"<{(end - begin) // 4}f", body[begin:end])
    scaled = struct.pack(f"<{len(values)}f", *[v * factor for v in values])
    write_safetensors(path, header, body[:begin] + scaled + body[end:])


GGUF_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


def gguf_value(data, offset, kind):
    if kind == 8:
        n = struct.unpack_from("<Q", data, offset)[0]
        return data[offset + 8: offset + 8 + n].decode("utf-8", "replace"), offset + 8 + n
    if kind == 9:
        inner, count = struct.unpack_from("<IQ", data, offset)
        offset += 12
        items = []
        for _ in range(count):
            item, offset = gguf_value(data, offset, inner)
            items.append(item)
        return (inner, items), offset
    fmt = GGUF_SCALARS[kind]
    return struct.unpack_from(fmt, data, offset)[0], offset + struct.calcsize(fmt)


def gguf_encode(kind, value):
    if kind == 8:
        raw = value.encode()
        return struct.pack("<Q", len(raw)) + raw
    if kind == 9:
        inner, items = value
        return struct.pack("<IQ", inner, len(items)) + b"".join(gguf_encode(inner, i) for i in items)
    return struct.pack(GGUF_SCALARS[kind], value)


def read_gguf(path):
    data = open(path, "rb").read()
    _, version, tensors, kvs = struct.unpack_from("<4sIQQ", data, 0)
    offset, metadata = 24, []
    for _ in range(kvs):
        key, offset = gguf_value(data, offset, 8)
        kind = struct.unpack_from("<I", data, offset)[0]
        value, offset = gguf_value(data, offset + 4, kind)
        metadata.append([key, kind, value])
    infos = []
    for _ in range(tensors):
        name, offset = gguf_value(data, offset, 8)
        dims = struct.unpack_from("<I", data, offset)[0]
        shape = struct.unpack_from(f"<{dims}Q", data, offset + 4)
        kind, tensor_offset = struct.unpack_from("<IQ", data, offset + 4 + 8 * dims)
        offset += 4 + 8 * dims + 12
        infos.append((name, shape, kind, tensor_offset))
    alignment = next((v for k, _, v in metadata if k == "general.alignment"), 32)
    start = (offset + alignment - 1) // alignment * alignment
    return version, metadata, infos, data[start:], alignment


def write_gguf(path, version, metadata, infos, body, alignment):
    out = struct.pack("<4sIQQ", b"GGUF", version, len(infos), len(metadata))
    for key, kind, value in metadata:
        out += gguf_encode(8, key) + struct.pack("<I", kind) + gguf_encode(kind, value)
    for name, shape, kind, tensor_offset in infos:
        out += gguf_encode(8, name) + struct.pack("<I", len(shape)) + struct.pack(f"<{len(shape)}Q", *shape)
        out += struct.pack("<IQ", kind, tensor_offset)
    out += b"\0" * ((alignment - len(out) % alignment) % alignment)
    open(path, "wb").write(out + body)


def gguf_with(path, out, key, value):
    version, metadata, infos, body, alignment = read_gguf(path)
    for entry in metadata:
        if entry[0] == key:
            entry[2] = value
    metadata = [m for m in metadata if m[0] != "alambique.checkpoint"] if key == "general.name" else metadata
    write_gguf(out, version, metadata, infos, body, alignment)


def gguf_first_scale(path, out, bits):
    """Sets the fp16 scale of the first block of the first Q8_0 tensor (ggml type 8)."""
    version, metadata, infos, body, alignment = read_gguf(path)
    name, shape, kind, tensor_offset = next(t for t in infos if t[2] == 8)
    body = bytearray(body)
    body[tensor_offset: tensor_offset + 2] = struct.pack("<H", bits)
    write_gguf(out, version, metadata, infos, bytes(body), alignment)


def copy_checkpoint(source, name, root):
    target = os.path.join(root, name)
    shutil.copytree(source, target)
    for f in ("trainer_state.json", "trainer_state.safetensors", "metrics.jsonl"):
        if os.path.exists(os.path.join(target, f)):
            os.remove(os.path.join(target, f))
    return target


def edit_json(path, change):
    value = json.load(open(path))
    change(value)
    json.dump(value, open(path, "w"))


# --- the cases --------------------------------------------------------------------------------------------

def prepare(a, data):
    """A small real checkpoint, its logit files, a quantized copy and GGUF exports."""
    w = a.work
    steps = ["train", "--preset", "student-tiny", "--tokenizer", "char", "--steps", "20", "--eval-every", "20",
             "--out", f"{w}/base", "--data-dir", data]
    for args in [steps,
                 ["logits", f"{w}/base", "--split", "train", "--max-sequences", "64", "--out", f"{w}/t-train.h5", "--data-dir", data],
                 ["logits", f"{w}/base", "--split", "val", "--max-sequences", "32", "--out", f"{w}/t-val.h5", "--data-dir", data],
                 ["quantize", f"{w}/base", "--scheme", "q8_0", "--out", f"{w}/q8"],
                 ["export", "gguf", f"{w}/q8", "--out", f"{w}/q8.gguf"],
                 ["export", "gguf", f"{w}/base", "--out", f"{w}/f32.gguf"]]:
        p = subprocess.run([a.binary] + args, cwd=w, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"setup failed: {' '.join(args)}\n{p.stderr}")


def names(a, data):
    w = a.work
    for bad in ["..", "../..", ".stages"]:
        sand = os.path.join(w, "sand-" + bad.replace("/", "_").replace(".", "d"))
        os.makedirs(os.path.join(sand, "runs", "x"))
        open(os.path.join(sand, "runs", "keep.txt"), "w").write("mine")
        open(os.path.join(sand, "x.yaml"), "w").write(
            f'name: x\nteacher: {{preset: student-tiny, steps: 2}}\nstudents:\n  - {{name: "{bad}", steps: 2}}\n')
        a.run(f"run: student name {bad!r}", ["run", "x.yaml", "--data-dir", data], cwd=sand, outside=sand)
    sand = os.path.join(w, "sand-import", "a", "b")
    os.makedirs(sand)
    gguf_with(f"{w}/q8.gguf", f"{w}/escape.gguf", "general.name", "../../x")
    a.run("import gguf: general.name '../../x', no --out", ["import", "gguf", f"{w}/escape.gguf"], cwd=sand,
          outside=os.path.join(w, "sand-import"))
    bad = copy_checkpoint(f"{w}/base", "badname", w)
    edit_json(f"{bad}/config.json", lambda c: c["alambique"].update(name="../../x"))
    sand = os.path.join(w, "sand-export")
    os.makedirs(sand)
    for args in [["export", "gguf", bad], ["quantize", bad, "--scheme", "q8_0"], ["prune", bad, "--sparsity", "0.5"]]:
        a.run(f"{args[0]}: config.json name '../../x', no --out", args, cwd=sand, outside=w)


def non_finite(a, data):
    w = a.work
    for value, label in [(float("nan"), "NaN"), (float("inf"), "Inf"), (float("-inf"), "-Inf")]:
        ck = copy_checkpoint(f"{w}/base", f"nonfinite-{label}", w)
        set_float(f"{ck}/model.safetensors", "transformer.h.0.mlp.c_fc.weight", 7, value)
        a.run(f"eval: one {label} weight", ["eval", ck, "--data-dir", data, "--validation-batches", "2"])
        a.run(f"compare: one {label} weight", ["compare", f"{w}/base", ck, "--data-dir", data, "--validation-batches", "1",
                                               "--judge-tokens", "4", "--out", f"{w}/cmp-{label}"])
        a.run(f"generate: one {label} weight", ["generate", ck, "--max-new-tokens", "8"], expect="any")
        a.run(f"quantize q8_0: one {label} weight", ["quantize", ck, "--scheme", "q8_0", "--out", f"{ck}-q8"])
    for bits, label in [(0x7E00, "NaN"), (0x7C00, "Inf")]:
        gguf_first_scale(f"{w}/q8.gguf", f"{w}/scale-{label}.gguf", bits)
        a.run(f"import gguf: a {label} Q8_0 scale", ["import", "gguf", f"{w}/scale-{label}.gguf", "--out", f"{w}/imp-{label}"])


def extremes(a):
    w = a.work
    for factor, label in [(1e-38, "tiny"), (1e-45, "denormal"), (0.0, "zero"), (1e30, "huge")]:
        ck = copy_checkpoint(f"{w}/base", f"scaled-{label}", w)
        scale_tensor(f"{ck}/model.safetensors", "transformer.h.0.attn.c_attn.weight", factor)
        for scheme in ["q8_0", "q4_0", "q4_1", "int8-sym", "int8-asym"]:
            a.run(f"quantize {scheme}: {label} weights", ["quantize", ck, "--scheme", scheme, "--out", f"{ck}-{scheme}"],
                  expect="error" if label == "huge" and scheme.startswith("q") else "ok")
        a.run(f"export gguf q8_0: {label} weights", ["export", "gguf", ck, "--type", "q8_0", "--out", f"{ck}.gguf"],
              expect="error" if label == "huge" else "ok")


def truncation(a, data):
    w = a.work
    size = os.path.getsize(f"{w}/base/model.safetensors")
    for cut in [0, 7, 8, 100, size // 2, size - 1]:
        ck = copy_checkpoint(f"{w}/base", f"cut-st-{cut}", w)
        with open(f"{ck}/model.safetensors", "r+b") as f:
            f.truncate(cut)
        a.run(f"eval: model.safetensors cut at {cut}", ["eval", ck, "--data-dir", data, "--validation-batches", "1"])
        a.run(f"inspect: model.safetensors cut at {cut}", ["inspect", ck])
    for name in ["config.json", "tokenizer.json"]:
        for fraction in [0, 0.5]:
            ck = copy_checkpoint(f"{w}/base", f"cut-{name}-{fraction}", w)
            full = os.path.getsize(f"{ck}/{name}")
            with open(f"{ck}/{name}", "r+b") as f:
                f.truncate(int(full * fraction))
            a.run(f"eval: {name} cut at {fraction:.0%}", ["eval", ck, "--data-dir", data, "--validation-batches", "1"])
    for path in [f"{w}/t-train.h5", f"{w}/q8.gguf"]:
        full = os.path.getsize(path)
        for fraction in [0.0, 0.01, 0.5, 0.99]:
            cut = os.path.join(w, f"cut-{fraction}-" + os.path.basename(path))
            shutil.copy(path, cut)
            with open(cut, "r+b") as f:
                f.truncate(int(full * fraction))
            a.run(f"inspect: {os.path.basename(path)} cut at {fraction:.0%}", ["inspect", cut])
            if path.endswith(".gguf"):
                a.run(f"import gguf: cut at {fraction:.0%}", ["import", "gguf", cut, "--out", cut + ".ck"])
            else:
                val = cut.replace("-train.h5", "-val.h5")
                shutil.copy(f"{w}/t-val.h5", val)
                a.run(f"distill: train logits cut at {fraction:.0%}", ["distill", "--logits", cut, "--steps", "2",
                                                                        "--out", cut + ".run"])


def corrupt_logits(a, data):
    """Logit files that crashed libhdf5 1.10 (found by make fuzz): inspect and distill must end in errors."""
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "StoreTests", "FuzzRegressions",
                          "logits")
    for name in sorted(n for n in os.listdir(folder) if not n.startswith("seed-")):
        train = os.path.join(a.work, f"h5-{name[:14]}-train.h5")
        shutil.copy(os.path.join(folder, name), train)
        shutil.copy(os.path.join(folder, name), train.replace("-train.h5", "-val.h5"))
        a.run(f"inspect: libhdf5-crashing {name[:14]}", ["inspect", train], expect="any")
        a.run(f"distill: libhdf5-crashing {name[:14]}", ["distill", "--logits", train, "--steps", "2",
                                                          "--out", train + ".run"], expect="any")


def full_disk(a, data):
    w = a.work
    mount = os.path.join(w, "full")
    os.makedirs(mount)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", mount], capture_output=True).returncode != 0:
        print("skip full-disk cases: cannot mount a small tmpfs here (needs root)")
        return
    try:
        cases = [("logits", ["logits", f"{w}/base", "--split", "val", "--max-sequences", "64", "--full",
                             "--compression", "0", "--out", f"{mount}/l.h5", "--data-dir", data]),
                 ("export gguf", ["export", "gguf", f"{w}/base", "--out", f"{mount}/f.gguf"]),
                 ("quantize", ["quantize", f"{w}/base", "--scheme", "int8-sym", "--out", f"{mount}/q"]),
                 ("train", ["train", "--preset", "student-tiny", "--steps", "2", "--eval-every", "2",
                            "--out", f"{mount}/t", "--data-dir", data])]
        filler = os.path.join(mount, "filler")

        def looks_harmless(path):
            """A released lock file, or a training run's folder holding only its live metrics.jsonl: neither
            looks like a finished output. Anything else left (a temporary, a partial file under the final
            name, a checkpoint folder) breaks the rule."""
            name = os.path.basename(path)
            if name.startswith(".") and name.endswith(".lock"):
                return True
            return os.path.isdir(path) and os.listdir(path) == ["metrics.jsonl"]
        for label, args in cases:
            subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=1k", "count=520"], capture_output=True)
            a.run(f"{label}: disk full", args)
            left = [f for f in os.listdir(mount) if f != "filler" and not looks_harmless(os.path.join(mount, f))]
            if left:
                a.results[-1][3].append(f"left {left}")
                print(f"BAD   … left behind: {left}")
            for f in left:
                p = os.path.join(mount, f)
                shutil.rmtree(p) if os.path.isdir(p) else os.remove(p)
            os.remove(filler)
    finally:
        subprocess.run(["umount", mount])


def special_files(a, data):
    """Outputs that are devices or symlinks. The devices are private nodes made here (as root), so a binary
    that replaces its output cannot replace the machine's /dev/full or /dev/null."""
    w = a.work
    full, null = os.path.join(w, "dev-full"), os.path.join(w, "dev-null")
    try:
        import stat
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    except OSError:
        print("skip device cases: cannot make device nodes here (needs root)")
        full = null = None
    if full:
        a.run("generate --logits-out <a /dev/full node>", ["generate", f"{w}/base", "--max-new-tokens", "4",
                                                            "--logits-out", full])
        if not stat_is_char(full):
            a.results[-1][3].append("the device node was replaced by a file")
        a.run("logits --out <a /dev/null node> --force", ["logits", f"{w}/base", "--split", "val", "--max-sequences",
                                                          "16", "--out", null, "--force", "--data-dir", data], expect="any")
        if not stat_is_char(null):
            a.results[-1][3].append("the device node was replaced by a file")
    target = os.path.join(w, "link-target.gguf")
    open(target, "w").write("old")
    link = os.path.join(w, "link.gguf")
    os.symlink(target, link)
    a.run("export gguf --out <symlink> --force", ["export", "gguf", f"{w}/base", "--out", link, "--force"], expect="ok")
    if not os.path.islink(link) or os.path.getsize(target) < 1000:
        a.results[-1][3].append("the symlink was replaced, or its target not written")


def stat_is_char(path):
    import stat
    return stat.S_ISCHR(os.stat(path).st_mode)


def alias_bombs(a, data):
    w = a.work
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 9) + "]")
    bomb = "\n".join(lines)
    open(f"{w}/bomb-run.yaml", "w").write(bomb + "\nname: x\nteacher: {preset: student-tiny}\nstudents: *a9\n")
    open(f"{w}/bomb-train.yaml", "w").write(bomb + "\ntraining: {steps: *a9}\n")
    a.run("run: alias bomb", ["run", f"{w}/bomb-run.yaml", "--data-dir", data], timeout=30)
    a.run("train --config: alias bomb", ["train", "--config", f"{w}/bomb-train.yaml", "--data-dir", data], timeout=30)
    open(f"{w}/deep.yaml", "w").write("name: " + "[" * 200000 + "]" * 200000 + "\n")
    a.run("run: 200,000 nested brackets", ["run", f"{w}/deep.yaml", "--data-dir", data], timeout=30)


def huge_fields(a, data):
    w = a.work
    ck = copy_checkpoint(f"{w}/base", "huge-token", w)
    edit_json(f"{ck}/tokenizer.json", lambda t: t["model"]["vocab"].update({"x" * 50_000_000: 10**6}))
    a.run("eval: a 50 MB token in tokenizer.json", ["eval", ck, "--data-dir", data], timeout=60)
    for key, value in [("n_layer", 100000), ("n_embd", 2**40), ("vocab_size", -1), ("n_head", 0)]:
        ck = copy_checkpoint(f"{w}/base", f"huge-{key}", w)
        edit_json(f"{ck}/config.json", lambda c: c.update({key: value}))
        a.run(f"inspect: config.json {key} = {value}", ["inspect", ck], timeout=30)
        a.run(f"eval: config.json {key} = {value}", ["eval", ck, "--data-dir", data], timeout=30)
    ck = copy_checkpoint(f"{w}/base", "huge-model", w)
    edit_json(f"{ck}/config.json", lambda c: c.update(n_layer=96, n_embd=1152, n_head=12))
    a.run("inspect: config of 1.5e9 parameters, small weights", ["inspect", ck], timeout=30)
    a.run("eval: config of 1.5e9 parameters, small weights", ["eval", ck, "--data-dir", data], timeout=30)
    ck = copy_checkpoint(f"{w}/base", "huge-header", w)
    with open(f"{ck}/model.safetensors", "r+b") as f:
        f.write(struct.pack("<Q", 2**63))
    a.run("inspect: safetensors header length 2^63", ["inspect", ck], timeout=30)


def concurrency(a, data):
    w = a.work
    args = ["train", "--preset", "student-tiny", "--steps", "400", "--eval-every", "400", "--out", f"{w}/busy",
            "--data-dir", data]
    first = subprocess.Popen([a.binary] + args, cwd=w, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(4)
    a.run("train twice on one --out", args + ["--force"])
    first.send_signal(signal.SIGTERM)
    first.wait(timeout=60)
    leftovers = [f for f in os.listdir(w) if f.startswith("busy.tmp-") or f.startswith(".busy")]
    code = first.returncode
    problems = [] if code in (143, 1, 130) else [f"SIGTERM gave rc {code}"]
    if any(f.startswith("busy.tmp-") for f in leftovers):
        problems.append(f"left {leftovers}")
    a.results.append(("train: SIGTERM mid-run cleans up", code, 0, problems, ""))
    print(f"{'ok ' if not problems else 'BAD'} {'train: SIGTERM mid-run cleans up':58s} rc={code}  {'; '.join(problems)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--data", default="data", help="the data folder holding shakespeare/ (default: data)")
    parser.add_argument("--keep", help="work in this folder and keep it")
    options = parser.parse_args()
    work = options.keep or tempfile.mkdtemp(prefix="alambique-audit-")
    os.makedirs(work, exist_ok=True)
    a = Audit(options.binary, os.path.abspath(work))
    data = os.path.abspath(options.data)
    prepare(a, data)
    for group in [names, non_finite, lambda a, d: extremes(a), truncation, corrupt_logits, full_disk, special_files, alias_bombs,
                  huge_fields, concurrency]:
        group(a, data)
    bad = [r for r in a.results if r[3]]
    print(f"\n{len(a.results)} cases, {len(a.results) - len(bad)} clean, {len(bad)} broke a rule")
    if not options.keep:
        shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
