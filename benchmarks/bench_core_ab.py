"""The compiled core's enumeration, this version against another source tree: CPU seconds of one
`count_regions` (one worker) in a fresh process, the two versions alternating.

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/bench_core_ab.py --baseline SRC [--runs 3] [--only NAME ...]

``--baseline SRC``: the package of another source tree (``git worktree add /tmp/base REV``, its
compiled core built there, then ``--baseline /tmp/base/src``). Prints a Markdown table: the
regions (both versions must agree), the median CPU seconds of each and their ratio.
"""
from __future__ import annotations

import argparse
import json
import statistics

from _side_by_side import run_child

# name -> (widths, box half-width or [lo, hi], method; None: nncells' default, refined: the network
# followed by its tournament of logits, as `decision_topology` enumerates it)
CASES = {
    "2-1250-1250-2 refined": ([2, 1250, 1250, 2], 0.05, "cells", True),
    "3-200-200-1": ([3, 200, 200, 1], 1.0, "cells", False),
    "4-32-32-1": ([4, 32, 32, 1], 1.0, "cells", False),
    "6-24-24-1": ([6, 24, 24, 1], 1.0, "cells", False),
    "2-64-64-64-1 planar": ([2, 64, 64, 64, 1], 1.0, None, False),
    "784-8-8-10 LP": ([784, 8, 8, 10], [0.0, 1.0], None, False),
}

CHILD = r"""
import json, sys, time
import nncells
from nncells.analysis.topology import decision_network
dims, box, method, refined = json.loads(sys.argv[1])
net = nncells.random_network(dims, seed=0)
if refined:
    net = decision_network(net)[0]
lo, hi = box if isinstance(box, list) else (-box, box)
t = time.process_time()
got = nncells.count_regions(net, nncells.Box(lo, hi, dim=dims[0]), workers=1,
                            **({} if method is None else {"method": method}))
print(json.dumps({"cpu": time.process_time() - t, "regions": got["regions"], "where": nncells.__file__}))
"""


def _run(src, case):
    return run_child(CHILD, [json.dumps(case)], src)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", metavar="SRC", required=True, help="source tree of the version to compare with")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", nargs="*", choices=sorted(CASES), help="cases to run (default: all)")
    a = ap.parse_args(argv)
    print("| network | regions | baseline s | now s | now / baseline |")
    print("|---|---:|---:|---:|---:|")
    for name in a.only or CASES:
        got = {"baseline": [], "now": []}
        for _ in range(a.runs):
            for side in got:
                got[side].append(_run(a.baseline if side == "baseline" else None, CASES[name]))
        regions = {r["regions"] for rs in got.values() for r in rs}
        assert len(regions) == 1, f"{name}: the versions disagree: {regions}"
        s = {side: statistics.median(r["cpu"] for r in rs) for side, rs in got.items()}
        print(f"| {name} | {regions.pop():,} | {s['baseline']:.3f} | {s['now']:.3f} | {s['now'] / s['baseline']:.2f} |",
              flush=True)


if __name__ == "__main__":
    main()
