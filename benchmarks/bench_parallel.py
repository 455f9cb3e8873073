"""Parallel efficiency: the same count-only run with 1 and with N workers, alternated.

    python benchmarks/bench_parallel.py --dims 4-32-32-1 --workers 2 --runs 3

Prints regions, the median seconds of each, the speed-up and the efficiency (speed-up / N),
plus the ratio pair by pair (runs are alternated 1, N, 1, N, ... so drift hits both alike).
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

from nncells import Box, random_network
from nncells.api import count_regions


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dims", default="4-32-32-1")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    dims = [int(v) for v in args.dims.split("-")]
    net = random_network(dims, seed=args.seed)
    times = {1: [], args.workers: []}
    regions = set()
    for _ in range(args.runs):
        for w in (1, args.workers):
            t0 = time.perf_counter()
            s = count_regions(net, Box(-1, 1), workers=w, method="cells")
            times[w].append(time.perf_counter() - t0)
            regions.add(s["regions"])
    assert len(regions) == 1, f"region counts differ between runs: {regions}"
    t1, tn = statistics.median(times[1]), statistics.median(times[args.workers])
    pairs = [a / b for a, b in zip(times[1], times[args.workers])]
    out = {"network": args.dims, "regions": regions.pop(), "workers": args.workers,
           "seconds_1": t1, "seconds_n": tn, "speedup": t1 / tn, "efficiency": t1 / tn / args.workers,
           "pairwise_speedups": pairs, "runs": args.runs}
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{args.dims}: {out['regions']:,} regions; 1 worker {t1:.1f} s, {args.workers} workers {tn:.1f} s "
              f"(medians of {args.runs}); speed-up {out['speedup']:.2f}, efficiency {out['efficiency']:.2f}; "
              f"pairwise speed-ups {', '.join(f'{p:.2f}' for p in pairs)}")


if __name__ == "__main__":
    main()
