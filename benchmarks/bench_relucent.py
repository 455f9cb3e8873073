"""Run relucent (Gaines & Bi) on one network stored as .npz; print one JSON line.

    /tmp/peers-relucent/bin/python benchmarks/bench_relucent.py NET.npz [--box R] [--mode clipped]
        [--verify] [--timeout 120]

Runs in the *peers* interpreter, never in nncells' own environment (relucent needs torch and
Gurobi): ``python3 -m venv /tmp/peers-relucent && /tmp/peers-relucent/bin/pip install
torch==2.13.0 relucent==1.0.0`` (gurobipy comes with it; its size-limited licence is enough).

The .npz holds W0, b0, W1, b1, ... with W shaped (out, in), as written by
``nncells.Network.to_npz``. The script builds the same ``torch.nn.Sequential`` in float64
(Linear, ReLU, ..., Linear) and runs ``relucent.Complex(model).bfs()`` from the origin.
``--box R`` restricts the search to the cube [-R, R]^d with relucent's own ``cube_radius`` /
``cube_mode`` (``clipped``: cells are clipped to the cube; ``intersect``: cells meeting the cube
are kept unclipped); without it the whole input space is searched. ``--verify`` keeps relucent's
default end-of-search certification (off by default: the search is complete either way, and
leaving it out only makes relucent faster).

Output: {"tool": "relucent", "version", "regions", "seconds", "complete", "timed_out"}. At
``--timeout`` seconds the search is abandoned and the number of regions found so far is printed
with "timed_out": true (the caller should start this script in its own process group and kill
the group afterwards, so that relucent's worker processes go too).
"""
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402


def build_model(path):
    import torch
    from torch import nn
    z = np.load(path)
    n = len([k for k in z.files if k.startswith("W")])
    layers = []
    for i in range(n):
        W, b = np.asarray(z[f"W{i}"], dtype=np.float64), np.asarray(z[f"b{i}"], dtype=np.float64)
        lin = nn.Linear(W.shape[1], W.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if i < n - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("npz")
    ap.add_argument("--box", type=float, default=None, help="half-width R of the cube [-R, R]^d")
    ap.add_argument("--mode", default="clipped", choices=["clipped", "intersect"])
    ap.add_argument("--verify", action="store_true", help="keep relucent's certification step")
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--workers", type=int, default=None, help="relucent nworkers (default: CPU count)")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(1)
    import relucent

    model = build_model(args.npz)
    kw = {} if args.box is None else {"cube_radius": args.box, "cube_mode": args.mode}
    out = {"tool": "relucent", "version": relucent.__version__,
           "domain": "space" if args.box is None else f"cube {args.box} ({args.mode})",
           "verify": args.verify}
    t0 = time.perf_counter()
    cx = relucent.Complex(model)

    def give_up():
        out.update(regions=len(cx.index2poly), seconds=time.perf_counter() - t0, complete=False,
                   timed_out=True)
        print(json.dumps(out), flush=True)
        os._exit(0)

    timer = threading.Timer(args.timeout, give_up)
    timer.daemon = True
    timer.start()
    res = cx.bfs(verbose=0, verify=args.verify, nworkers=args.workers, **kw)
    seconds = time.perf_counter() - t0
    timer.cancel()
    out.update(regions=len(cx), seconds=seconds, complete=bool(res.complete), timed_out=False,
               depth=res.depth)
    print(json.dumps(out), flush=True)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
