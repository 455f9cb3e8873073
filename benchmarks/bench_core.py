"""The compiled core against its numpy twin: regions per second on one worker, side by side.

    python benchmarks/bench_core.py --runs 3 [--numpy-runs 1] [--only 4-32-32-1]

For each network (``nncells.random_network(dims, seed=0)``; box [-1, 1]^d, or the whole space
for names ending in `` space``) the count-only run (`count_regions`, one worker, method
``cells``) is timed with ``backend="native"`` and ``backend="numpy"``, alternating, in this one
process; prints one Markdown table row per network with the medians, the ratio and LP solves
per region (deterministic), and checks that both backends count the same regions.
"""
from __future__ import annotations

import argparse
import statistics
import time

from nncells import Box, Space, random_network
from nncells.api import count_regions

NETWORKS = ["4-32-32-1", "4-24-24-24-1", "3-32-32-32-1", "5-16-16-16-1", "6-16-16-1",
            "2-32-32-1 space", "3-16-16-1 space", "4-16-16-1 space", "5-10-10-1 space"]


def _time(net, dom, backend):
    t0 = time.perf_counter()
    s = count_regions(net, dom, workers=1, method="cells", backend=backend)
    return time.perf_counter() - t0, s


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="runs of the compiled core per network")
    ap.add_argument("--numpy-runs", type=int, default=1, help="runs of the numpy backend per network")
    ap.add_argument("--only", nargs="*", help="network names to run (default: all)")
    args = ap.parse_args(argv)
    print("| network | domain | regions | native s | native regions/s | numpy s | numpy regions/s | ratio | LP/region (native, numpy) |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.only or NETWORKS:
        dims = [int(v) for v in name.split()[0].split("-")]
        space = name.endswith("space")
        dom = Space(dims[0]) if space else Box(-1, 1)
        net = random_network(dims, seed=0)
        times = {"native": [], "numpy": []}
        found = {}
        for i in range(max(args.runs, args.numpy_runs)):
            for backend, n in (("native", args.runs), ("numpy", args.numpy_runs)):
                if i < n:
                    t, s = _time(net, dom, backend)
                    times[backend].append(t)
                    found.setdefault(backend, s)
        regions = {s["regions"] for s in found.values()}
        assert len(regions) == 1, f"{name}: the backends disagree: {regions}"
        n = regions.pop()
        tn, tp = statistics.median(times["native"]), statistics.median(times["numpy"])
        print(f"| {dims and '-'.join(map(str, dims))} | {'space' if space else 'box'} | {n:,} | {tn:.2f} | "
              f"{n / tn:,.0f} | {tp:.2f} | {n / tp:,.0f} | {tp / tn:.0f}x | "
              f"{found['native']['lp_per_region']:.2f}, {found['numpy']['lp_per_region']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
