#!/usr/bin/env python3
"""Put the quick experiment's real comparison table into README.md (regenerated, never typed).

    python3 scripts/readme_table.py [reports/shakespeare-quick/report.md] [README.md]

Replaces the lines between <!-- quick-experiment:start --> and <!-- quick-experiment:end --> with
the first Markdown table of the report. Run `make demo` first (it writes the report).
"""
import sys

report_path = sys.argv[1] if len(sys.argv) > 1 else "reports/shakespeare-quick/report.md"
readme_path = sys.argv[2] if len(sys.argv) > 2 else "README.md"
START, END = "<!-- quick-experiment:start -->", "<!-- quick-experiment:end -->"

with open(report_path, encoding="utf-8") as f:
    lines = f.read().splitlines()
table = []
for line in lines:
    if line.startswith("|"):
        table.append(line)
    elif table:
        break
if not table:
    sys.exit(f"{report_path}: no table found")
with open(readme_path, encoding="utf-8") as f:
    readme = f.read()
if START not in readme or END not in readme:
    sys.exit(f"{readme_path}: markers {START} … {END} not found")
head, rest = readme.split(START, 1)
_, tail = rest.split(END, 1)
with open(readme_path, "w", encoding="utf-8") as f:
    f.write(head + START + "\n" + "\n".join(table) + "\n" + END + tail)
print(f"{readme_path}: table of {len(table) - 2} models from {report_path}")
