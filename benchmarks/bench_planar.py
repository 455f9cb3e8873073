"""Planar partitions: nncells.planar vs regioncam 0.5.2 on the same random networks.

    python3 benchmarks/bench_planar.py [--runs 3] [--widths 64 256] [--peer-python /tmp/peers/bin/python]

regioncam is never a dependency of nncells: it runs in another interpreter (a separate venv,
``python3 -m venv /tmp/peers && /tmp/peers/bin/pip install regioncam==0.5.2 numpy torch==2.13.0``)
through a subprocess, with the weights passed in an .npz file. Both run single-threaded (BLAS
threads pinned to 1) on networks 2-w-w-w-1 from ``random_network(seed=0)`` in [-1, 1]^2.
Prints a markdown table of medians.
"""
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from nncells import random_network  # noqa: E402
from nncells.planar.partition import planar_partition  # noqa: E402

SQUARE = [[-1, -1], [1, -1], [1, 1], [-1, 1]]

PEER = r"""
import json, sys, time
import numpy as np
import regioncam
z = np.load(sys.argv[1])
n = len([k for k in z.files if k.startswith("W")])
out = []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter()
    rc = regioncam.Regioncam(1.0)  # the square [-1, 1]^2
    for i in range(n):
        rc.linear(np.ascontiguousarray(z[f"W{i}"].T, dtype=np.float32), z[f"b{i}"].astype(np.float32))
        if i < n - 1:
            rc.relu()
    out.append([rc.num_faces, time.perf_counter() - t])
print(json.dumps({"version": regioncam.__version__, "runs": out}))
"""


def run_nncells(net, runs):
    times, faces = [], None
    for _ in range(runs):
        t = time.perf_counter()
        part = planar_partition(net, SQUARE)
        times.append(time.perf_counter() - t)
        faces = part.n_faces
    return faces, statistics.median(times)


def run_peer(python, npz, runs):
    r = subprocess.run([python, "-c", PEER, str(npz), str(runs)], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"regioncam failed: {r.stderr.strip().splitlines()[-1] if r.stderr else r.returncode}")
        return None
    res = json.loads(r.stdout)
    return res["runs"][-1][0], statistics.median(s for _, s in res["runs"]), res["version"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--peer-python", default=os.environ.get("NNCELLS_PEER_PYTHON", "/tmp/peers/bin/python"))
    args = ap.parse_args()
    peer = args.peer_python if Path(args.peer_python).exists() else None
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for w in args.widths:
            net = random_network([2, w, w, w, 1], seed=0)
            npz = Path(tmp) / f"net{w}.npz"
            net.to_npz(npz)
            faces, sec = run_nncells(net, args.runs)
            pr = run_peer(peer, npz, args.runs) if peer else None
            rows.append((w, faces, sec, pr))
            print(f"# 2-{w}-{w}-{w}-1: nncells {faces} faces {sec:.3f} s"
                  + (f"; regioncam {pr[0]} faces {pr[1]:.3f} s" if pr else "; regioncam not run"), flush=True)
    print(f"\nmedians of {args.runs} runs, single-threaded"
          + (f", regioncam {rows[0][3][2]}" if rows and rows[0][3] else ""))
    print("| network | nncells faces | nncells s | nncells faces/s | regioncam faces | regioncam s "
          "| regioncam faces/s | speed ratio (faces/s) |")
    print("|---|---|---|---|---|---|---|---|")
    for w, faces, sec, pr in rows:
        cells = [f"2-{w}-{w}-{w}-1", f"{faces:,}", f"{sec:.3f}", f"{faces / sec:,.0f}"]
        if pr:
            cells += [f"{pr[0]:,}", f"{pr[1]:.3f}", f"{pr[0] / pr[1]:,.0f}", f"{(faces / sec) / (pr[0] / pr[1]):.1f}x"]
        else:
            cells += ["-"] * 4
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
