"""The face builder alone (`nncells.results.faces.poset_part`, one process): CPU seconds for the
first regions of a refined random network (the complex `decision_topology` builds faces of),
optionally side by side with another source tree.

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/bench_face_builder.py [--runs 3] [--regions 3000]
                                                                   [--baseline SRC]

``--baseline SRC``: the package of another source tree (``git worktree add /tmp/base REV``, its
compiled core built there, then ``--baseline /tmp/base/src``), run alternately with this one,
each run in a fresh process. Prints a Markdown table: ms a region (median CPU time), the faces
found (both sides must agree) and the ratio.
"""
from __future__ import annotations

import argparse
import statistics

from _side_by_side import run_child

NETWORKS = {"2-200-200-2": 1.0, "3-40-40-2": 2.0, "4-16-16-2": 2.0, "2-1250-1250-2": 0.05}

CHILD = r"""
import json, sys, time
import numpy as np, nncells
from nncells.analysis.topology import decision_network
from nncells.results.faces import poset_part
dims, box, n = [int(v) for v in sys.argv[1].split("-")], float(sys.argv[2]), int(sys.argv[3])
refined, _ = decision_network(nncells.random_network(dims, seed=0))
res = nncells.enumerate_regions(refined, nncells.Box(-box, box, dim=dims[0]), workers=1, method="cells")
regions = np.arange(min(n, len(res.patterns)))
t = time.process_time()
part = poset_part(res, regions)
print(json.dumps({"cpu": time.process_time() - t, "regions": len(regions), "faces": len(part["dim"]),
                  "where": nncells.__file__}))
"""


def _run(src, name, box, n):
    return run_child(CHILD, [name, str(box), str(n)], src)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--regions", type=int, default=3000)
    ap.add_argument("--baseline", metavar="SRC", help="source tree of the version to compare with")
    a = ap.parse_args(argv)
    sides = ["baseline", "now"] if a.baseline else ["now"]
    head = ["network", "regions", "faces"] + [f"ms a region ({s})" for s in sides] + (["now / baseline"] if a.baseline else [])
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name, box in NETWORKS.items():
        got = {s: [] for s in sides}
        for _ in range(a.runs):
            for s in sides:
                got[s].append(_run(a.baseline if s == "baseline" else None, name, box, a.regions))
        faces = {r["faces"] for rs in got.values() for r in rs}
        assert len(faces) == 1, f"{name}: the versions disagree: {faces}"
        n = got["now"][0]["regions"]
        ms = {s: 1000 * statistics.median(r["cpu"] for r in got[s]) / n for s in sides}
        row = [name, f"{n:,}", f"{faces.pop():,}"] + [f"{ms[s]:.2f}" for s in sides]
        if a.baseline:
            row.append(f"{ms['now'] / ms['baseline']:.2f}")
        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
