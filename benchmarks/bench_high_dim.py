"""The seed paper's setting (issue 22): LP mode from 8 to 784 inputs, one worker.

    python benchmarks/bench_high_dim.py [--runs 3] [--cap 120] [--python-lp | --baseline SRC]
                                        [--baseline-runs 1] [--only NAME ...]

For each network (``nncells.random_network(dims, seed=0)``; the box named, or the whole space)
one count-only run per ``--runs`` in a fresh process (``count_regions(..., workers=1,
method="cells")``), so that the peak memory (``ru_maxrss``) is the run's own: regions, median
seconds, regions/s, LP solves per region, fallbacks to the exact LP, peak MB, and the bytes a
task takes in a frontier file (the root's first tasks, `run.frontier.encode_tasks`).

A network marked with a *window* (64-16-16-1 and 784-w-w-10 for w = 12, 14, 16: millions of regions)
is not counted to the end: its
tasks run depth-first from the root (`run_task`, one worker) for that many seconds, and the row
shows the regions finished in the window (``+``) and their rate.

``--python-lp`` runs each network first with the compiled LP mode off (``_config.COMPILED_LP =
False``: LP mode's splits in the numpy twin, the box LPs still compiled), side by side in one
table. ``--baseline SRC`` instead runs the package of another source tree first (e.g. ``git
worktree add /tmp/base 039e236`` then ``--baseline /tmp/base/src``). A run past ``--cap`` seconds
is stopped and shown as ``> cap``.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

NETWORKS = {  # name: (dims, domain, lo, hi, window in seconds or 0: counted to the end)
    "8-10-6-1 box": ([8, 10, 6, 1], "box", -1.0, 1.0, 0),
    "64-8-8-1 box": ([64, 8, 8, 1], "box", 0.0, 1.0, 0),
    "64-16-16-1 box": ([64, 16, 16, 1], "box", 0.0, 1.0, 60),
    "64-8-8-1 space": ([64, 8, 8, 1], "space", 0, 0, 0),
    "784-6-6-10 box": ([784, 6, 6, 10], "box", 0.0, 1.0, 0),
    "784-8-8-10 box": ([784, 8, 8, 10], "box", 0.0, 1.0, 0),
    "784-10-10-10 box": ([784, 10, 10, 10], "box", 0.0, 1.0, 0),
    "784-12-12-10 box": ([784, 12, 12, 10], "box", 0.0, 1.0, 60),
    "784-14-14-10 box": ([784, 14, 14, 10], "box", 0.0, 1.0, 60),
    "784-16-16-10 box": ([784, 16, 16, 10], "box", 0.0, 1.0, 60),
    "784-5-5-10 space": ([784, 5, 5, 10], "space", 0, 0, 0),
}

_CHILD = r"""
import json, resource, sys, time
src, dims, kind, lo, hi, window = json.loads(sys.argv[1])
if src == "python-lp":  # this tree, LP mode's splits in the numpy twin
    src = None
    import nncells._config
    nncells._config.COMPILED_LP = False
if src:  # the package from another source tree (not the installed one)
    sys.meta_path = [f for f in sys.meta_path if "nncells" not in repr(f) and "editable" not in repr(type(f)).lower()]
    sys.path.insert(0, src)
import nncells
from nncells import Box, Space, random_network
from nncells.api import count_regions
net = random_network(dims, seed=0)
dom = Box(lo, hi) if kind == "box" else Space()
t0 = time.perf_counter()
if window:  # depth-first from the root for `window` seconds: the regions finished in it
    from nncells.engine.tasks import Problem, run_task
    p = Problem.make(net, dom)
    stack, n, lp, fb = [p.root_task()], 0, 0, 0
    while stack and time.perf_counter() - t0 < window:
        batch, pending, st = run_task(p, stack.pop(), 1.0)
        n, lp, fb = n + len(batch), lp + st.lp_solves, fb + st.lp_fallbacks
        stack += pending
    s = {"regions": n, "lp_solves": lp, "lp_fallbacks": fb, "partial": bool(stack)}
else:
    s = count_regions(net, dom, workers=1, method="cells")
t = time.perf_counter() - t0
out = {"regions": s["regions"], "seconds": t, "lp": s["lp_solves"], "fallbacks": s.get("lp_fallbacks"),
       "reduced": s.get("reduced_dim"), "partial": s.get("partial", False),
       "mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
try:  # bytes per task of a frontier: the root's first tasks
    from nncells.engine.tasks import Problem, run_task
    from nncells.run.frontier import encode_tasks
    p = Problem.make(net, dom)
    _, pending, _ = run_task(p, p.root_task(), 0.0)
    if pending:
        out["task_bytes"] = len(encode_tasks(pending)) / len(pending)
except Exception as e:
    out["task_bytes"] = None
print(json.dumps(out))
"""


def _run(src, spec, cap):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    try:
        p = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([src] + list(spec))], capture_output=True,
                           text=True, timeout=max(cap, 2 * spec[-1]), env=env)
    except subprocess.TimeoutExpired:
        return None
    if p.returncode != 0:
        raise SystemExit(f"run failed: {p.stderr.strip().splitlines()[-1]}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def _cells(rs, cap):
    if not rs:
        return [f"> {cap:.0f} s", "", "", "", "", ""]
    r = rs[0]
    t = statistics.median(x["seconds"] for x in rs)
    tb = r.get("task_bytes")
    return [f"{t:.2f}", f"{r['regions'] / t:,.0f}", f"{r['lp'] / max(r['regions'], 1):.2f}",
            "" if r.get("fallbacks") is None else f"{r['fallbacks']:,}", f"{max(x['mb'] for x in rs):,.0f}",
            "" if tb is None else f"{tb:,.0f}"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cap", type=float, default=120.0, help="seconds before a run is stopped")
    ap.add_argument("--baseline", metavar="SRC", help="source tree of the version to compare with")
    ap.add_argument("--python-lp", action="store_true", help="compare with the numpy twin of LP mode's splits")
    ap.add_argument("--baseline-runs", type=int, default=1, help="runs of the baseline per network")
    ap.add_argument("--only", nargs="*", help="network names (default: all)")
    args = ap.parse_args(argv)
    if args.python_lp:
        args.baseline = "python-lp"
    cols = ["s", "regions/s", "LP/region", "fallbacks", "peak MB", "bytes/task"]
    sides = (["baseline", "now"] if args.baseline else ["now"])
    head = ["network", "regions", "reduced to"] + [f"{c} ({s})" for s in sides for c in cols]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for name in args.only or NETWORKS:
        spec = NETWORKS[name]
        res = {}
        for side, src in (("baseline", args.baseline), ("now", None)):
            if side not in sides:
                continue
            rs = []
            for _ in range(args.runs if side == "now" else args.baseline_runs):
                r = _run(src, spec, args.cap)
                if r is None:
                    break
                rs.append(r)
            res[side] = rs
        counts = {r["regions"] for rs in res.values() for r in rs if not r["partial"]}
        assert len(counts) <= 1, f"{name}: the versions disagree: {counts}"
        n = counts.pop() if counts else None
        now = res["now"][0] if res["now"] else {}
        shown = "" if n is None else f"{n:,}"
        if spec[-1]:  # a window: what each side finished in it
            shown = " / ".join(f"{rs[0]['regions']:,}+" for rs in res.values() if rs) + f" in {spec[-1]} s"
        row = [name, shown, str(now.get("reduced") or "")]
        for side in sides:
            row += _cells(res[side], args.cap)
        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
