#!/usr/bin/env bash
# Resume check (issue 3): a run killed with SIGKILL mid-way and resumed with --resume must end
# with exactly the losses of the same run left alone. Usage: scripts/check_resume.sh [steps]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release/alambique
STEPS=${1:-300}
WORK=$(mktemp -d /tmp/alambique-resume.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
COMMON=(--preset student-tiny --tokenizer char --steps "$STEPS" --eval-every 50 --checkpoint-every 50 --seed 7 --threads 2)

echo "1/3 uninterrupted run ($STEPS steps)…"
"$BIN" train "${COMMON[@]}" --out "$WORK/straight" > /dev/null 2> "$WORK/straight.log"

echo "2/3 the same run, killed with SIGKILL after its second checkpoint…"
"$BIN" train "${COMMON[@]}" --out "$WORK/resumed" > /dev/null 2> "$WORK/killed.log" &
pid=$!
while ! grep -q "\"step\":10[0-9]" "$WORK/resumed/metrics.jsonl" 2>/dev/null; do sleep 0.2; done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
echo "   killed at: $(tail -n 1 "$WORK/resumed/metrics.jsonl" | cut -c1-80)"

echo "3/3 resumed with --resume…"
"$BIN" train "${COMMON[@]}" --out "$WORK/resumed" --resume > /dev/null 2> "$WORK/resumed.log"
grep -m1 "resuming" "$WORK/resumed.log" || true

# Every record after the resume point must match the uninterrupted run bit for bit (the
# timings differ, so compare step, lr and losses only).
extract() { python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r=json.loads(l); print(r["step"], r["lr"], r.get("train_loss"), r.get("val_loss"))' "$1"; }
if diff <(extract "$WORK/straight/metrics.jsonl") <(extract "$WORK/resumed/metrics.jsonl") > "$WORK/diff.txt"; then
  echo "OK: every step's loss is identical; final: $(extract "$WORK/resumed/metrics.jsonl" | tail -n 1)"
else
  echo "FAIL: the resumed run differs:"; head -20 "$WORK/diff.txt"; exit 1
fi
