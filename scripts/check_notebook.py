#!/usr/bin/env python3
"""Validate notebooks with nbformat (the checker Jupyter uses).

    python3 scripts/check_notebook.py notebooks-export/*.ipynb

Exits non-zero when a notebook is not valid nbformat 4 or has no embedded outputs.
Needs: pip install nbformat
"""
import sys

import nbformat

status = 0
for path in sys.argv[1:]:
    nb = nbformat.read(path, as_version=4)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        print(f"FAIL {path}: {error.message}")
        status = 1
        continue
    outputs = sum(len(c.get("outputs", [])) for c in nb.cells if c.cell_type == "code")
    svgs = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/svg+xml" in o.get("data", {}))
    if outputs == 0:
        print(f"FAIL {path}: no embedded outputs")
        status = 1
    else:
        print(f"ok {path}: nbformat {nb.nbformat}.{nb.nbformat_minor}, {len(nb.cells)} cells, {outputs} outputs ({svgs} SVG)")
sys.exit(status)
