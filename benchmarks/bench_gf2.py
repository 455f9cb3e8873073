"""The GF(2) reduction at scale: Betti numbers of a closed union of cubes in a cubical grid of
``n^D`` cubes (a complex shaped like the face posets of `nncells.analysis.topology`, at sizes its
face builder takes minutes to reach), by the compiled core and by its Python twin.

    OPENBLAS_NUM_THREADS=1 python3 benchmarks/bench_gf2.py --dim 4 --n 16 [--twin]

The union: the cubes where a smooth random field exceeds its median (so it has components, holes
and cavities). Prints one JSON line per backend: cells, the Betti numbers, seconds (of which the
reduction itself: ``reduction_seconds``), column additions (the core's), and peak RSS so far.
"""
from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np


def cubical(D: int, n: int, seed: int = 0):
    """``(dims, incidence, mask)`` of the grid ``[0, n]^D`` cut into unit cubes: cells are the points
    of ``{0..2n}^D`` (a cell's dimension is its number of odd coordinates), ``mask`` the closure of
    the cubes where a smooth random field is above its median."""
    m = 2 * n + 1
    X = np.indices((m,) * D).reshape(D, -1)
    odd = X % 2
    dims = odd.sum(axis=0).astype(np.int64)
    ids = np.arange(m ** D, dtype=np.int64)
    stride = m ** np.arange(D - 1, -1, -1)
    inc = []
    for i in range(D):
        c = ids[odd[i] == 1]
        inc += [np.stack([c - stride[i], c], axis=1), np.stack([c + stride[i], c], axis=1)]
    inc = np.concatenate(inc)
    rng = np.random.default_rng(seed)
    field = np.zeros((n,) * D)
    for _ in range(6):                                  # a few random waves
        k = rng.normal(size=D) * 2 * np.pi * 3 / n
        ph = rng.random() * 2 * np.pi
        field += np.cos(np.tensordot(k, np.indices((n,) * D), axes=1) + ph)
    top = (X[:, dims == D] - 1) // 2                     # each cube's grid index
    on = field[tuple(top)] > np.median(field)
    mask = np.zeros(len(dims), bool)
    mask[np.flatnonzero(dims == D)[on]] = True
    for _ in range(D):                                   # close it: every face of a masked cell
        mask[inc[mask[inc[:, 1]], 0]] = True
    return dims, inc, mask


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--dim", type=int, default=4)
    ap.add_argument("--n", type=int, default=16)
    ap.add_argument("--twin", action="store_true", help="also time the Python twin")
    a = ap.parse_args(argv)
    from nncells import _config
    from nncells.analysis.homology import betti_numbers
    from nncells.kernels import homology as kh
    from nncells.analysis import _gf2
    dims, inc, mask = cubical(a.dim, a.n)
    inner = [0.0]

    def timed(f):
        def g(*args):
            t = time.perf_counter()
            out = f(*args)
            inner[0] += time.perf_counter() - t
            return out
        return g
    kh.pairs, _gf2.pairs = timed(kh.pairs), timed(_gf2.pairs)
    for backend in ["native"] + (["numpy"] if a.twin else []):
        _config.BACKEND = backend
        inner[0] = 0.0
        t0 = time.perf_counter()
        b = betti_numbers(dims, inc, mask)
        dt = time.perf_counter() - t0
        print(json.dumps({"backend": backend, "dim": a.dim, "n": a.n, "cells": int(len(dims)),
                          "masked": int(mask.sum()), "top_cells": int((dims[mask] == a.dim).sum()),
                          "betti": b.tolist(), "seconds": round(dt, 2), "reduction_seconds": round(inner[0], 2),
                          "additions": kh.last_additions if backend == "native" else None,
                          "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20, 2)}))


if __name__ == "__main__":
    main()
