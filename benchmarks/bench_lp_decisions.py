"""How LP mode decides at 784 inputs: LP solves, and how the other sides were settled, on a fixed
piece of work (deterministic: the counts do not depend on the machine; the seconds do).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_lp_decisions.py [--width 12] [--cells 8]
                                                                   [--python-lp] [--baseline SRC]

The work: ``random_network([784, w, w, 10], seed=0)`` in ``[0, 1]^784``; the root split, then the
``--cells`` first-layer cells whose patterns have the most active units (the largest as binary
numbers), each refined to the end (`run_task`, one worker). One row per source tree: this one,
``--python-lp`` (LP mode's splits in the numpy twin, ``_config.COMPILED_LP = False``) and
``--baseline SRC`` (another source tree, e.g. ``git worktree add /tmp/base REV`` with its
compiled core built, then ``--baseline /tmp/base/src``), each in a fresh process.
"""
from __future__ import annotations

import argparse

from _side_by_side import run_child

_CHILD = r"""
import json, sys, time
width, cells, twin = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
import nncells
from nncells import Box, _config, random_network
from nncells.engine import lp_core
from nncells.engine.tasks import Problem, run_task
if twin:
    _config.COMPILED_LP = False
p = Problem.make(random_network([784, width, width, 10], seed=0), Box(0.0, 1.0))
_, pending, _ = run_task(p, p.root_task(), 0.0)
pending.sort(key=lambda t: -int("".join("1" if b else "0" for b in t.pattern), 2))
n = lps = 0
t0 = time.perf_counter()
for task in pending[:cells]:
    stack = [task]
    while stack:
        batch, more, st = run_task(p, stack.pop(), float("inf"))
        n, lps = n + len(batch), lps + st.lp_solves
        stack += more
seconds = time.perf_counter() - t0
print(json.dumps({"where": nncells.__file__, "regions": n, "lp_solves": lps, "seconds": seconds,
                  "core": lp_core.counts()}))
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=12)
    ap.add_argument("--cells", type=int, default=8)
    ap.add_argument("--python-lp", action="store_true", help="also the numpy twin of LP mode's splits")
    ap.add_argument("--baseline", metavar="SRC", help="source tree of the version to compare with")
    a = ap.parse_args(argv)
    rows = [("this version", None, "0")]
    if a.baseline:
        rows.insert(0, (f"baseline ({a.baseline})", a.baseline, "0"))
    if a.python_lp:
        rows.append(("this version, numpy twin", None, "1"))
    print(f"784-{a.width}-{a.width}-10 in [0, 1]^784, the {a.cells} first-layer cells of most active units\n")
    print("| version | regions | LP solves | LPs/region | by ray | by mixture | by certificate | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, src, twin in rows:
        r = run_child(_CHILD, [str(a.width), str(a.cells), twin], src)
        c = r["core"]  # (the twin keeps no such counters; versions before mixtures had no by_mix)
        ray, mix, cert = ((f"{c['by_ray']:,}", f"{c.get('by_mix', 0):,}", f"{c['by_certificate']:,}") if c
                          else ("-", "-", "-"))
        print(f"| {name} | {r['regions']:,} | {r['lp_solves']:,} | {r['lp_solves'] / max(r['regions'], 1):.3f} | "
              f"{ray} | {mix} | {cert} | {r['seconds']:.1f} |")


if __name__ == "__main__":
    main()
