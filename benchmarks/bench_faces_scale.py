"""Faces and Betti numbers at scale (issue 25's target: 10^6 top cells in 2-4 D in minutes on 2
cores): `decision_topology` of one random network, timed whole.

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/bench_faces_scale.py 2-400-400-2 [--workers 2] [--box 1]
                                                                      [--tol T]

Prints one JSON line: the network, the regions and refined cells, the faces by dimension, the
Betti numbers, the seconds of the whole call and the cells per second.
"""
from __future__ import annotations

import argparse
import json
import time


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("dims", help="widths, e.g. 2-400-400-2 (random_network(dims, seed))")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--box", type=float, default=1.0, help="the box [-B, B]^d (default 1)")
    ap.add_argument("--tol", type=float, default=None, help="the contract's threshold (default: nncells')")
    a = ap.parse_args(argv)
    import nncells
    from nncells.analysis.topology import decision_topology
    dims = [int(v) for v in a.dims.split("-")]
    net = nncells.random_network(dims, seed=a.seed)
    t0 = time.perf_counter()
    top = decision_topology(net, nncells.Box(-a.box, a.box, dim=dims[0]), workers=a.workers, tol=a.tol)
    dt = time.perf_counter() - t0
    print(json.dumps({"network": a.dims, "seed": a.seed, "workers": a.workers, "tol": a.tol, "regions": top.regions,
                      "cells": top.faces[-1], "faces": top.faces, "betti": top.betti,
                      "boundary_betti": top.boundary_betti, "seconds": round(dt, 2),
                      "cells_per_second": round(top.faces[-1] / dt, 1)}))


if __name__ == "__main__":
    main()
