"""Exact at every scale (issue 21): huge boxes, far regions, and the lifted whole space of 6 inputs.

    python benchmarks/bench_extreme.py [--runs 3]

Prints three Markdown tables (one worker, medians of ``--runs`` whole calls, one process):

1. boxes ``[-S, S]^d`` from 1 to 1e300 around random networks: regions, method, seconds, and
   whether the pattern set is the whole space's;
2. the far slab of tests/test_extreme_scales.py (closed-form truth ``5 * 2^(d-1)``) at distances
   ``2^k`` in the whole space: regions found, LP solves, seconds;
3. the whole space of 6-input networks lifted (7-D vertex mode, the default now) against LP mode
   in 6 dimensions (``_config.VERTEX_MAX_DIM = 5`` for that run, what 6 inputs ran before).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from nncells import Box, Space, _config, enumerate_regions, random_network

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_extreme_scales import far_slab  # noqa: E402  (the closed-form network, one definition)


def _timed(runs, f):
    times, out = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _set(res):
    return {np.packbits(p).tobytes() for p in res.patterns}


def boxes(runs):
    print("| network | S | regions | method | s | = whole space |")
    print("|---|---:|---:|---|---:|---|")
    for dims in ([2, 16, 16, 2], [3, 16, 16, 1], [4, 16, 16, 1], [6, 10, 10, 1]):
        net = random_network(dims, seed=0)
        t, whole = _timed(runs, lambda: enumerate_regions(net, Space(), workers=1))
        name = "-".join(map(str, dims))
        print(f"| {name} | whole space | {whole.count:,} | {whole.info.method} | {t:.3f} | |")
        for S in (1.0, 1e3, 1e6, 1e15, 1e100, 1e300):
            t, res = _timed(runs, lambda: enumerate_regions(net, Box(-S, S), workers=1))
            print(f"| {name} | {S:g} | {res.count:,} | {res.info.method} | {t:.3f} | "
                  f"{'yes' if _set(res) == _set(whole) else 'no'} |")


def far(runs):
    print("| inputs | distance | regions (truth) | method | LP solves | s |")
    print("|---:|---:|---:|---|---:|---:|")
    for d in (2, 5, 6, 7):
        for k in (20, 60, 200, 1000):
            net = far_slab(d, k)
            t, res = _timed(runs, lambda: enumerate_regions(net, Space(), workers=1))
            print(f"| {d} | 2^{k} | {res.count:,} ({5 * 2 ** (d - 1):,}) | {res.info.method} | "
                  f"{res.info.stats.lp_solves:,} | {t:.3f} |")


def lifted_six(runs):
    print("| network | regions | lifted s | LP mode s | ratio | LP solves (lifted, LP mode) |")
    print("|---|---:|---:|---:|---:|---:|")
    keep = _config.VERTEX_MAX_DIM
    for dims in ([6, 8, 8, 1], [6, 10, 10, 1]):
        net = random_network(dims, seed=0)
        t1, a = _timed(runs, lambda: enumerate_regions(net, Space(), workers=1))
        _config.VERTEX_MAX_DIM = 5
        try:
            t2, b = _timed(1, lambda: enumerate_regions(net, Space(), workers=1))
        finally:
            _config.VERTEX_MAX_DIM = keep
        assert _set(a) == _set(b), dims
        print(f"| {'-'.join(map(str, dims))} | {a.count:,} | {t1:.2f} | {t2:.2f} | {t2 / t1:.1f} | "
              f"{a.info.stats.lp_solves:,}, {b.info.stats.lp_solves:,} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args(argv)
    boxes(args.runs)
    print()
    far(args.runs)
    print()
    lifted_six(args.runs)


if __name__ == "__main__":
    main()
