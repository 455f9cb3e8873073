"""Side by side with another source tree, for the benchmarks that take ``--baseline SRC``: a
child process that imports nncells from ``SRC`` (not the installed package) or from here, and
prints one JSON line with ``where`` (the package's file, checked)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

# the child's first lines: its last argument is the source tree ("" for the installed package)
PREAMBLE = r"""
import sys
src = sys.argv[-1]
if src:  # the package from another source tree (not the installed one)
    sys.meta_path = [f for f in sys.meta_path if "nncells" not in repr(f) and "editable" not in repr(type(f)).lower()]
    sys.path.insert(0, src)
"""


def run_child(code: str, args: list[str], src: str | None) -> dict:
    """Run ``PREAMBLE + code`` with ``args`` (one thread of BLAS) in a fresh process for the tree
    ``src`` (None: this one); its last printed line, as JSON, checked to come from ``src``."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", PREAMBLE + code, *args, src or ""], env=env, check=True,
                         capture_output=True, text=True).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert not src or got["where"].startswith(os.path.abspath(src)), f"the baseline ran {got['where']}"
    return got
