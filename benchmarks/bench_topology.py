"""Decision-region topology: nncells' `decision_topology` against relucent 1.0.0, on the same networks.

    .venv/bin/python benchmarks/bench_topology.py --runs 3 [--cap 300] [--jitter 1e-3]
        [--peers /tmp/peers-relucent/bin/python] [--only NAME ...]

Cases: the hand-built shapes of tests/topology_shapes.py (disk, annulus, two_holes, ball3, shell3,
solid_torus3: exact dyadic weights, degenerate arrangements, known Betti numbers), the same shapes
with every weight and bias moved by ``jitter * N(0, 1)`` (seed 0; name suffixed ``~``: generic
arrangements, Betti numbers unchanged: checked against the voxel oracle `grid_betti` at n = 97), and
``nncells.random_network(dims, seed=0)`` for 2-8-8-3, 2-16-16-4, 3-8-8-3 in [-2, 2]^d.

Each network is saved as .npz; per run, nncells (``decision_topology(net, Box(lo, hi, dim=d),
workers=1)`` in a fresh process of this interpreter) and relucent
(benchmarks/bench_relucent_topology.py in a fresh process of the peers interpreter, one worker, in
its own process group, killed as a group after ``--cap`` seconds) run alternately; the table shows
medians over ``--runs``. "refined cells" is the number of top cells of the argmax-refined network
(both: the same tournament of logits; nncells clips the cells to the box, relucent keeps whole cells
meeting the cube). "face_poset rate" is the regions per second of
`nncells.results.faces.face_poset` alone on the plain network's enumeration (median over runs).
"Betti" compares every class's Betti numbers and the boundary's; for the shapes also with the known
answer. The machine may be shared: compare the two columns, which ran interleaved, rather than
absolute seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHAPES = ("disk", "annulus", "two_holes", "ball3", "shell3", "solid_torus3")
RANDOM = ([2, 8, 8, 3], [2, 16, 16, 4], [3, 8, 8, 3])

_CHILD = r"""
import json, sys, time
import nncells
from nncells.analysis.topology import decision_topology
from nncells.api import enumerate_regions
from nncells.results.faces import face_poset
path, lo, hi = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
net = nncells.Network.from_npz(path)
box = nncells.Box(lo, hi, dim=net.input_dim)
t0 = time.perf_counter()
top = decision_topology(net, box, workers=1)
t = time.perf_counter() - t0
res = enumerate_regions(net, box, workers=1, method="cells")
t1 = time.perf_counter()
face_poset(res)
tf = time.perf_counter() - t1
print(json.dumps({"seconds": t, "regions": top.regions, "cells": int(top.faces[-1]), "faces": top.faces,
                  "betti": top.betti, "boundary_betti": top.boundary_betti,
                  "poset_seconds": tf, "poset_regions": len(res.patterns)}))
"""


def build_cases(tmp, jitter, only):
    import numpy as np

    import nncells
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import topology_shapes as ts
    cases = []
    for name in SHAPES:
        s = getattr(ts, name)()
        variants = [(name, s.net, None)]
        if jitter > 0:
            rng = np.random.default_rng(0)
            net = nncells.Network([W + jitter * rng.standard_normal(np.shape(W)) for W in s.net.weights],
                                  [b + jitter * rng.standard_normal(np.shape(b)) for b in s.net.biases])
            oracle = ts.grid_betti(net, s.lo, s.hi, s.cls, 97)
            variants.append((name + "~", net, oracle))
        for nm, net, oracle in variants:
            if oracle is not None and oracle != s.betti:
                print(f"warning: {nm}: the voxel oracle gives {oracle}, not {s.betti}", file=sys.stderr)
            cases.append({"name": nm, "net": net, "lo": s.lo, "hi": s.hi, "d": s.dim,
                          "known": {"cls": s.cls, "betti": s.betti, "boundary_betti": s.boundary_betti}})
    for dims in RANDOM:
        cases.append({"name": "-".join(map(str, dims)), "net": nncells.random_network(dims, seed=0),
                      "lo": -2.0, "hi": 2.0, "d": dims[0], "known": None})
    if only:
        cases = [c for c in cases if c["name"] in only]
    for c in cases:
        c["path"] = os.path.join(tmp, c["name"].replace("~", "_jit") + ".npz")
        c["net"].to_npz(c["path"])
    return cases


def run_group(cmd, cap):
    """Run ``cmd`` in its own process group; kill the group after ``cap`` s. Last stdout line as JSON."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=cap)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return {"timed_out": True, "seconds": cap, "error": None}
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)  # relucent's workers, if any remain
        except ProcessLookupError:
            pass
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if not lines:
        return {"error": (err.strip().splitlines() or ["no output"])[-1][:300], "seconds": None}
    return json.loads(lines[-1])


def fmt_betti(b, bb):
    return "{" + ", ".join(f"{k}: {v}" for k, v in sorted(b.items())) + f"}}, boundary {bb}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--cap", type=float, default=300.0, help="seconds before a relucent run is abandoned")
    ap.add_argument("--jitter", type=float, default=1e-3, help="size of the shapes' perturbed twins (0: none)")
    ap.add_argument("--peers", default="/tmp/peers-relucent/bin/python")
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    rel_script = os.path.join(HERE, "bench_relucent_topology.py")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = build_cases(tmp, args.jitter, args.only)
        for c in cases:
            nn, rl = [], []
            for _ in range(args.runs):
                p = subprocess.run([sys.executable, "-c", _CHILD, c["path"], str(c["lo"]), str(c["hi"])],
                                   capture_output=True, text=True, env=env)
                if p.returncode:
                    nn.append({"error": p.stderr.strip().splitlines()[-1][:300]})
                else:
                    nn.append(json.loads(p.stdout.strip().splitlines()[-1]))
                rl.append(run_group([args.peers, rel_script, c["path"], "--box", str(c["hi"]),
                                     "--timeout", str(args.cap), "--workers", "1"], args.cap + 30))
                if rl[-1].get("error") or rl[-1].get("timed_out"):
                    break  # relucent fails the same way each time
            rows.append((c, nn, rl))
            print(f"{c['name']}: nncells {nn[-1]}\n   relucent {rl[-1]}", file=sys.stderr, flush=True)

    print("| case | d | regions | refined cells (nncells / relucent) | nncells s | relucent s | relucent / nncells "
          "| Betti | face_poset regions/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for c, nn, rl in rows:
        ok = [r for r in nn if "error" not in r]
        if not ok:
            print(f"| {c['name']} | {c['d']} | nncells failed: {nn[-1]['error']} | | | | | | |")
            continue
        a = ok[-1]
        tn = statistics.median(r["seconds"] for r in ok)
        rate = statistics.median(r["poset_regions"] / r["poset_seconds"] for r in ok)
        rgood = [r for r in rl if not r.get("error") and not r.get("timed_out")]
        if rgood:
            tr = statistics.median(r["seconds"] for r in rgood)
            b = rgood[-1]
            rcells, rs, ratio = b["regions"], f"{tr:.2f}", f"{tr / tn:.1f}"
            same = a["betti"] == b["betti"] and a["boundary_betti"] == b["boundary_betti"]
            verdict = "agree" if same else (f"differ: nncells {fmt_betti(a['betti'], a['boundary_betti'])}; "
                                            f"relucent {fmt_betti(b['betti'], b['boundary_betti'])}")
        else:
            b = rl[-1]
            rcells, ratio = b.get("regions", "-"), "-"
            rs = f"> {args.cap:.0f} (timed out)" if b.get("timed_out") else "failed"
            verdict = f"relucent: {b.get('error')}"
        if c["known"]:
            k = c["known"]
            good = a["betti"][str(k["cls"])] == k["betti"] and a["boundary_betti"] == k["boundary_betti"]
            verdict += f"; nncells {'=' if good else '!='} known {k['betti']}/{k['boundary_betti']}"
            if rgood:
                good = b["betti"][str(k["cls"])] == k["betti"] and b["boundary_betti"] == k["boundary_betti"]
                verdict += f", relucent {'=' if good else '!='} known"
        print(f"| {c['name']} | {c['d']} | {a['regions']} | {a['cells']} / {rcells} | {tn:.3f} | {rs} | {ratio} "
              f"| {verdict} | {rate:,.0f} |")
    print(f"\n{args.runs} run(s) per case, medians; {time.strftime('%Y-%m-%d')}.")


if __name__ == "__main__":
    main()
