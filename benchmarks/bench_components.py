"""Enumeration against adjacency + certify + decision components, medians side by side.

    python benchmarks/bench_components.py --runs 3 [--reference]

On the README's `--adjacency` example (the bundled digits network in its data box) one process
times, alternating, `enumerate_regions` (one worker, facets recorded), then on that result
`adjacency`, `certify` and `decision_components` (each on a fresh result, nothing cached);
prints one Markdown row with the medians, the LPs the components solved and the ratios
(adjacency + certify) / enumerate (``--adjacency --certify``) and (adjacency + certify +
components) / enumerate (with ``--components``). ``--reference`` also times
the one-LP-per-question method of tests/components_reference.py (before issue 24) and checks that both
give the same components.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from nncells import enumerate_regions
from nncells.analysis.components import decision_components
from nncells.models.bundled import demo_network


def _reference():
    """The one-LP-per-question method, from the tests' reference module."""
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from components_reference import decision_components_lp
    return decision_components_lp


def _one(net, box, reference):
    t0 = time.perf_counter()
    res = enumerate_regions(net, box, workers=1, facets=True)
    t1 = time.perf_counter()
    res.adjacency()
    t2 = time.perf_counter()
    res.certify()
    t3 = time.perf_counter()
    comps = decision_components(res)
    t4 = time.perf_counter()
    out = [res.count, t1 - t0, t2 - t1, t3 - t2, t4 - t3, comps["lp_solves"], comps, None, None]
    if reference:
        t5 = time.perf_counter()
        old = _reference()(res)
        out[7], out[8] = time.perf_counter() - t5, old
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3, help="repeats (medians are reported)")
    ap.add_argument("--reference", action="store_true", help="also time the one-LP-per-question method")
    args = ap.parse_args(argv)
    net, box, _ = demo_network()
    runs = [_one(net, box, args.reference and k == 0) for k in range(args.runs)]
    te, ta, tc, td = (statistics.median(r[k] for r in runs) for k in (1, 2, 3, 4))
    print("| regions | enumerate s | adjacency s | certify s | components s | component LPs | "
          "(adjacency + certify) / enumerate | (adjacency + certify + components) / enumerate |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {runs[0][0]} | {te:.3f} | {ta:.3f} | {tc:.3f} | {td:.3f} | {runs[0][5]} | {(ta + tc) / te:.2f} | "
          f"{(ta + tc + td) / te:.1f} |")
    if args.reference:
        new, old = runs[0][6], runs[0][8]
        same = new["classes"] == old["classes"] and all(
            np.array_equal(new["pieces"][k], old["pieces"][k]) for k in ("region", "class", "component"))
        print(f"\nreference (one LP per question): {runs[0][7]:.3f} s, {old['lp_solves']} LPs; "
              f"same components: {same}")
        if not same:
            raise SystemExit("the two methods differ")


if __name__ == "__main__":
    main()
