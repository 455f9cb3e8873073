"""Speed of the local analysis (docs/local.md records the figures).

    python3 benchmarks/bench_local.py [--repeats 3]

1. The provable upper bound for 1,000 balls around points of a 784-256-256-256-10 network
   (random weights, centres uniform in [0, 1]^784), and the boundary distances of those points.
2. Exact counts in small balls on a small network: balls per second (one process).
Prints the median of ``--repeats`` runs of each.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from nncells import random_network
from nncells.local import analyse_points, boundary_distance, count_in_ball, upper_bound_in_ball


def _median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--points", type=int, default=1000)
    args = ap.parse_args(argv)

    big = random_network([784, 256, 256, 256, 10], seed=0)
    C = np.random.default_rng(0).random((args.points, 784))
    for r in (0.01, 0.1, 1.0):
        s, ub = _median_seconds(lambda: upper_bound_in_ball(big, C, r), args.repeats)
        med = statistics.median(ub)
        print(f"upper bound, 784-256x3, {args.points} balls, r={r}: {s:.2f} s "
              f"(median bound {med:.3g}, max {max(ub):.3g})")
    s, ub = _median_seconds(lambda: upper_bound_in_ball(big, C, 0.1, method="interval"), args.repeats)
    print(f"upper bound (interval method), 784-256x3, {args.points} balls, r=0.1: {s:.2f} s "
          f"(median bound {statistics.median(ub):.3g})")
    s, _ = _median_seconds(lambda: boundary_distance(big, C), args.repeats)
    print(f"boundary distance, 784-256x3, {args.points} points: {s:.2f} s")

    small = random_network([4, 16, 16, 1], seed=0)
    P = np.random.default_rng(1).normal(size=(50, 4))
    for r in (0.05, 0.2):
        s, counts = _median_seconds(lambda: [count_in_ball(small, p, r) for p in P], args.repeats)
        print(f"exact count, 4-16-16-1, r={r}: {len(P) / s:.0f} balls/s "
              f"(mean {np.mean(counts):.1f} regions per ball)")
    s, _ = _median_seconds(lambda: analyse_points(small, P, 0.2, exact=True, samples=0, complexity=False,
                                                  workers=2), args.repeats)
    print(f"exact count, 4-16-16-1, r=0.2, 2 processes (spawn included): {len(P) / s:.0f} balls/s")


if __name__ == "__main__":
    main()
