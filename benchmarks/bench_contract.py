"""Cost of the numerical contract: one process enumerating a fixed mix of networks.

Run it under two checkouts and compare whole-process times pair by pair, e.g. with
``/usr/bin/time -v``, alternating the two commands::

    python benchmarks/bench_contract.py            # this checkout
    python benchmarks/bench_contract.py OTHER_SRC  # another checkout's src/ first on sys.path

Prints the regions and LP solves of each network (deterministic) as one JSON object.
"""
import json
import sys

if len(sys.argv) > 1:
    sys.path.insert(0, sys.argv[1])

from nncells import Box, Space, enumerate_regions, random_network  # noqa: E402

CASES = [([4, 16, 16, 1], Box(-1, 1)), ([6, 8, 8, 8, 1], Box(-1, 1)), ([8, 8, 8, 1], Box(-1, 1)),
         ([3, 16, 16, 1], Space())]

if __name__ == "__main__":
    out = {}
    for dims, dom in CASES:
        r = enumerate_regions(random_network(dims, seed=0), dom, workers=1, method="cells")
        name = "-".join(map(str, dims)) + ("" if isinstance(dom, Box) else " space")
        out[name] = {"regions": r.count, "lp_solves": r.lp_solves, "borderline": r.borderline}
    print(json.dumps(out))
