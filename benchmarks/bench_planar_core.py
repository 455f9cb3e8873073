"""The planar mesh in the compiled core: faces per second, native vs numpy (vs regioncam 0.5.2).

    python3 benchmarks/bench_planar_core.py [--runs 3] [--widths 64 128 256]
                                            [--peer-python /tmp/peers-regioncam/bin/python]

Networks 2-w-w-w-1 from ``random_network(seed=0)`` in [-1, 1]^2, as in bench_planar.py; each
run is a whole `planar_partition` call, single-threaded (BLAS threads pinned to 1), with
``_config.BACKEND`` set to ``native`` and ``numpy`` in turn (both must find the same faces).
regioncam, when a peer interpreter with it exists, runs the same weights (float32, its only
type) in that interpreter through bench_planar.py's subprocess script, right after nncells on
the same network; it is never a dependency of nncells. Prints a markdown table of medians.
"""
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from nncells import _config, kernels, random_network  # noqa: E402
from nncells.planar.partition import planar_partition  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench_planar import SQUARE, run_peer  # noqa: E402

PEERS = ("/tmp/peers-regioncam/bin/python", "/tmp/peers/bin/python")


def run_backend(net, backend, runs):
    """(faces, per_layer, median seconds, patterns) of ``runs`` calls with ``backend``."""
    _config.BACKEND = backend
    assert kernels.backend() == backend
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        part = planar_partition(net, SQUARE)
        times.append(time.perf_counter() - t)
    return part.n_faces, part.per_layer, statistics.median(times), part.patterns


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--widths", type=int, nargs="+", default=[64, 128, 256])
    ap.add_argument("--peer-python", default=os.environ.get("NNCELLS_PEER_PYTHON")
                    or next((p for p in PEERS if Path(p).exists()), PEERS[0]))
    args = ap.parse_args()
    if not kernels.native_available():
        sys.exit("the compiled core is not built: pip install -e . (with a C++17 compiler)")
    peer = args.peer_python if Path(args.peer_python).exists() else None
    rows, version = [], None
    with tempfile.TemporaryDirectory() as tmp:
        for w in args.widths:
            net = random_network([2, w, w, w, 1], seed=0)
            fn, ln, sn, pn = run_backend(net, "native", args.runs)
            fp, lp, sp, pp = run_backend(net, "numpy", args.runs)
            same = fn == fp and ln == lp and {p.tobytes() for p in pn} == {p.tobytes() for p in pp}
            pr = None
            if peer:
                npz = Path(tmp) / f"net{w}.npz"
                net.to_npz(npz)
                pr = run_peer(peer, npz, args.runs)
                version = pr[2] if pr else version
            rows.append((w, fn, sn, sp, same, pr))
            print(f"# 2-{w}-{w}-{w}-1: native {fn} faces {sn:.4f} s, numpy {fp} faces {sp:.4f} s, same faces: {same}"
                  + (f"; regioncam {pr[0]} faces {pr[1]:.4f} s" if pr else "; regioncam not run"), flush=True)
    _config.BACKEND = "auto"
    print(f"\nmedians of {args.runs} runs, single-threaded, numpy {np.__version__}"
          + (f", regioncam {version}" if version else ""))
    print("| network | faces | native s | native faces/s | numpy s | numpy faces/s | native / numpy "
          "| regioncam s | regioncam faces/s | native / regioncam |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for w, faces, sn, sp, same, pr in rows:
        cells = [f"2-{w}-{w}-{w}-1", f"{faces:,}" + ("" if same else " (differ!)"), f"{sn:.4f}",
                 f"{faces / sn:,.0f}", f"{sp:.4f}", f"{faces / sp:,.0f}", f"{sp / sn:.1f}x"]
        if pr:
            cells += [f"{pr[1]:.4f}", f"{pr[0] / pr[1]:,.0f}", f"{(faces / sn) / (pr[0] / pr[1]):.1f}x"]
        else:
            cells += ["-"] * 3
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
