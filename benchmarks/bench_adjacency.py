"""Enumeration against adjacency + certification: seconds and regions per second, side by side.

    python benchmarks/bench_adjacency.py --runs 3 [--only "4-32-32-1"] [--qhull]

For each network (``nncells.random_network(dims, seed=0)``; box [-1, 1]^d, or the whole space
for names ending in `` space``) one process times, alternating, `enumerate_regions` (one worker)
without facets, `enumerate_regions(..., facets=True)` (the core records the regions' facets as it
goes), then on the facets=True result `adjacency` (the facet computation: the recorded facets
where the core gave them, qhull or LPs for the rest; ``--qhull``: the qhull path for all) and
`certify` (exact existence and closure, reusing the facets of the same result), each on a fresh
result so nothing is cached; prints one Markdown table row per network with the medians, the
regions per second, the regions whose facets came from the core, and the ratio
((enumerate with facets - enumerate) + adjacency + certify) / enumerate: what the graph and its
certificate add to an enumeration. Checks that certify passes.
"""
from __future__ import annotations

import argparse
import statistics
import time

from nncells import Box, Space, enumerate_regions, random_network
from nncells.results.adjacency import adjacency, compute_facets
from nncells.results.certify import certify

NETWORKS = ["4-32-32-1", "3-16-16-1 space", "2-32-32-1", "5-16-16-1", "4-16-16-1 space"]


def _one(net, dom, qhull=False):
    t = time.perf_counter()
    enumerate_regions(net, dom, workers=1)
    t0 = time.perf_counter()
    res = enumerate_regions(net, dom, workers=1, facets=True)
    t1 = time.perf_counter()
    if qhull:
        compute_facets(res, _core=False)
    adjacency(res)
    t2 = time.perf_counter()
    c = certify(res)
    t3 = time.perf_counter()
    if not (c["closed"] and c["exist"] == c["of"]):
        raise SystemExit(f"certify failed: {c}")
    return res.count, t1 - t0, t2 - t1, t3 - t2, c, res._facet_table["_stats"]["core_regions"], t0 - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="repeats per network (medians are reported)")
    ap.add_argument("--only", nargs="*", help="network names to run (default: all)")
    ap.add_argument("--qhull", action="store_true", help="facets by the qhull path only (no compiled core)")
    args = ap.parse_args(argv)
    print("| network | domain | regions | enumerate s | regions/s | with facets s | adjacency s | regions/s | "
          "certify s | regions/s | core regions | exact fallbacks | LPs | ratio |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.only or NETWORKS:
        dims = [int(v) for v in name.split()[0].split("-")]
        space = name.endswith("space")
        net = random_network(dims, seed=0)
        dom = Space(dims[0]) if space else Box(-1.0, 1.0)
        runs = [_one(net, dom, args.qhull) for _ in range(args.runs)]
        n = runs[0][0]
        tf, ta, tc, te = (statistics.median(r[k] for r in runs) for k in (1, 2, 3, 6))
        c = runs[0][4]
        print(f"| {name.split()[0]} | {'space' if space else 'box'} | {n} | {te:.3f} | {n / te:,.0f} | {tf:.3f} | "
              f"{ta:.3f} | {n / ta:,.0f} | {tc:.3f} | {n / tc:,.0f} | {runs[0][5]} | {c['exact_fallbacks']} | "
              f"{c['lp_solves']} | {(tf - te + ta + tc) / te:.2f} |", flush=True)


if __name__ == "__main__":
    main()
