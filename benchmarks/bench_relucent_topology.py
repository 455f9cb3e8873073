"""Decision-region topology with relucent (Gaines & Bi) on one network stored as .npz; print one JSON line.

    /tmp/peers-relucent/bin/python benchmarks/bench_relucent_topology.py NET.npz --box R
        [--timeout 300] [--workers 1]

Runs in the *peers* interpreter, never in nncells' own environment (relucent 1.0.0 needs torch and
Gurobi; see bench_relucent.py for the install line). The .npz holds W0, b0, W1, b1, ... with W
shaped (out, in), as written by ``nncells.Network.to_npz``; the cube is ``[-R, R]^d``.

relucent 1.0.0 has no call for the topology of a classifier's decision regions: its topology tools
are ``Complex.betti_numbers`` (of the whole complex), ``Complex.meta_graph`` (the face poset, every
dimension, from the vertex stars of a verified search), ``relucent.topology.betti_numbers`` (GF(2)
ranks on any meta-graph, unbounded cells truncated at infinity by default) and persistence for
filtrations (``LogitSublevelFiltration``: sublevel sets of one logit or of ``f_0 - f_1``, through
float64 values at cell representatives). This script builds the decision-region homology out of
those pieces, the way nncells' ``decision_topology`` does, so that the two answer the same question
where their complexes agree:

1. The network is *refined by the argmax* by the same tournament as nncells' ``decision_network``:
   its hidden layers, then one ReLU comparison unit per class after the first (``c_1 = f_2 - f_1``,
   ``c_k = f_{k+1} - max(f_1..f_k)``), the running maximum and the logits still to compare carried
   through ReLUs shifted by a constant so large that those units never switch in the cube (their
   hyperplanes lie outside it; nncells carries them as linear units), then a final ``Linear``
   (relucent wants a plain Linear/ReLU stack). Every face of this network's complex has a fixed
   sign on every comparison unit, so the set of classes that reach the maximum is constant on it.
   (A first version refined by all ``K(K-1)/2`` pairwise differences instead: relucent refused
   those networks for K >= 3, since the three hyperplanes ``f_i = f_j`` always meet in one
   codimension-2 flat, a degenerate arrangement.)
2. ``Complex(model).bfs(start, cube_radius=R, cube_mode="clipped", verify=True, nworkers=...)``
   finds every top cell of that arrangement meeting the cube (verification is needed by
   ``meta_graph``). The start is a fixed generic point, not the origin (the origin lies on
   hyperplanes of the hand-built shapes, which relucent refuses as a start).
3. ``Complex.meta_graph()``: every face of those cells, with its sign vector ``ss`` (certified by
   relucent; 0 on the hyperplanes containing the face). Class ``c``'s *decision region* is the set
   of faces where ``c`` reaches the maximum (``sign(f_c - f_j) >= 0`` for every j): closed under
   faces, so a subcomplex, and it contains the lower-dimensional pieces where ``c`` only ties. The
   *decision boundary* is the set of faces where at least two classes tie for the maximum.
4. ``truncate_meta_graph`` caps the unbounded cells of the whole complex (cap faces keep their
   sign vectors), then ``relucent.topology.betti.betti_numbers(subcomplex, compactify=None)`` for
   each subcomplex (truncating each subcomplex on its own made relucent raise
   ``ConnectedComponentsMismatch``).

What relucent's region is, precisely, and how it differs from nncells': relucent's cells are
**not clipped to the cube** in its topology. ``cube_mode="clipped"`` only clips the halfspaces the
search uses; the meta-graph is built from the arrangement's vertex stars, so it holds every whole
cell that meets the cube (bounded or not), the cube's facets are no faces of it, and unbounded
cells are capped by relucent's combinatorial truncation at infinity (which leaves their homotopy
type unchanged). So relucent computes the homology of

    (closed region of class c)  intersected with  (union of the closed cells meeting [-R, R]^d),

closed (ties included, as in nncells), where nncells computes it for
``{x in [-R, R]^d : f_c(x) >= f_j(x) for all j}``. The two agree when the region, or the boundary,
lies inside the cube and its cells do too (the hand-built shapes: class 0 and the boundary lie
strictly inside the box, cells meeting them may stick out but the subcomplex of class-0 faces is
the same set); they can differ for a class that reaches the cube's boundary (random networks),
where a region can connect (or enclose a hole) outside the cube. Compare those only as such.

Output: {"tool": "relucent", "version", "regions" (top cells of the refined network meeting the
cube), "faces" (faces by dimension), "betti": {class: [b_0..b_d]}, "boundary_betti", "seconds"
(search + meta-graph + Betti numbers), "search_seconds", "timed_out", "error", "notes"}. At
``--timeout`` seconds the run is abandoned and the cells found so far are printed with "timed_out":
true (the caller should start this script in its own process group and kill the group afterwards,
so that relucent's worker processes go too). A relucent exception (e.g. ``AmbiguousGeometryError``
on a degenerate arrangement, or a Gurobi size-limited licence error) is reported in "error".
"""
import os

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402

import numpy as np  # noqa: E402


def load_layers(path):
    z = np.load(path)
    n = len([k for k in z.files if k.startswith("W")])
    return [(np.asarray(z[f"W{i}"], dtype=np.float64), np.asarray(z[f"b{i}"], dtype=np.float64)) for i in range(n)]


def _logit_bound(layers, R):
    """max |f_k| over the cube [-R, R]^d by interval arithmetic (an upper bound)."""
    lo = -R * np.ones(layers[0][0].shape[1])
    hi = -lo
    for t, (W, b) in enumerate(layers):
        mid, rad = (lo + hi) / 2, (hi - lo) / 2
        c, r = W @ mid + b, np.abs(W) @ rad
        lo, hi = c - r, c + r
        if t < len(layers) - 1:
            lo, hi = np.maximum(lo, 0), np.maximum(hi, 0)
    return float(np.max(np.maximum(np.abs(lo), np.abs(hi))))


def refined_model(layers, R):
    """torch float64 Sequential of the network refined by a tournament of its logits, and the
    positions (in relucent's sign vectors) of the K - 1 comparison units.

    As nncells' ``decision_network``: ``c_1 = f_2 - f_1``, ``m_1 = max(f_1, f_2)``,
    ``c_k = f_{k+1} - m_{k-1}``, ``m_k = m_{k-1} + relu(c_k)``. relucent takes a plain
    Linear/ReLU stack, so the running maximum and the logits still to compare are carried through
    ReLUs with an offset ``M`` (``relu(v + M) = v + M`` on the cube: ``M`` = 2 * an interval bound of
    ``|f|`` on the cube + 1, so these units' hyperplanes lie outside the cube)."""
    import torch
    from torch import nn
    W_out, b_out = layers[-1]
    K = W_out.shape[0]
    n_hidden = sum(W.shape[0] for W, _ in layers[:-1])
    if K == 1:
        mats, units = list(layers), []
    else:
        M = 2.0 * _logit_bound(layers, R) + 1.0
        # first comparison layer, from the last hidden layer: [f_2 - f_1, f_1 + M, f_3 + M, ..., f_K + M]
        rows = [W_out[1] - W_out[0], W_out[0]] + [W_out[k] for k in range(2, K)]
        bias = [b_out[1] - b_out[0], b_out[0] + M] + [b_out[k] + M for k in range(2, K)]
        mats = list(layers[:-1]) + [(np.stack(rows), np.array(bias))]
        units, pos = [n_hidden], n_hidden + K
        for k in range(2, K):  # input [relu(c), m + M, f_{k+1} + M, ..., f_K + M]
            n_in = K - k + 2
            rest = K - k - 1
            W = np.zeros((2 + rest, n_in))
            W[0, :3] = [-1.0, -1.0, 1.0]          # c_k = f_{k+1} - (m + relu(c))
            W[1, :2] = [1.0, 1.0]                 # m' + kM = m + (k-1)M + relu(c) + M
            W[2:, 3:] = np.eye(rest)
            # a new offset per layer: else relu(f_1 + M) and relu(m + M) are one hyperplane where c <= 0
            mats.append((W, np.r_[0.0, np.full(1 + rest, M)]))
            units.append(pos)
            pos += 2 + rest
        mats.append((np.array([[1.0, 1.0]]), np.array([-(K - 1) * M])))   # max f
    mods = []
    for t, (W, b) in enumerate(mats):
        lin = nn.Linear(W.shape[1], W.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.ascontiguousarray(W)))
            lin.bias.copy_(torch.from_numpy(np.ascontiguousarray(b)))
        mods.append(lin)
        if t < len(mats) - 1:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods), K, units


def argmax_sets(s, K):
    """Classes reaching the maximum on a face, from its signs ``s`` of the K - 1 comparison units
    (the same rule as nncells.analysis.topology.argmax_sets)."""
    win = 0
    for k in range(K - 1):
        if s[k] > 0:
            win = k + 1
    out = {win}
    for k in range(K - 1):
        if s[k] == 0 and k + 1 > win:
            out.add(k + 1)
    return sorted(out)


def _vec(b, d):
    return [int(b.get(k, 0)) for k in range(d + 1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("npz")
    ap.add_argument("--box", type=float, required=True, help="half-width R of the cube [-R, R]^d")
    ap.add_argument("--timeout", type=float, default=300.0)
    ap.add_argument("--workers", type=int, default=1, help="relucent nworkers (default 1, as nncells' workers=1)")
    args = ap.parse_args()

    import torch
    torch.set_num_threads(1)
    import relucent
    from relucent.topology.betti import betti_numbers

    layers = load_layers(args.npz)
    d = layers[0][0].shape[1]
    model, K, units = refined_model(layers, args.box)
    out = {"tool": "relucent", "version": relucent.__version__, "domain": f"cube {args.box} (clipped search)",
           "classes": K, "regions": None, "faces": None, "betti": None, "boundary_betti": None,
           "seconds": None, "search_seconds": None, "timed_out": False, "error": None,
           "notes": "whole cells meeting the cube (not clipped), truncated at infinity; argmax-refined by a tournament of the logits, as nncells"}
    t0 = time.perf_counter()
    cx = relucent.Complex(model)
    lock = threading.Lock()

    def give_up():
        with lock:
            out.update(regions=len(cx.index2poly), seconds=time.perf_counter() - t0, timed_out=True)
            print(json.dumps(out), flush=True)
            os._exit(0)

    timer = threading.Timer(args.timeout, give_up)
    timer.daemon = True
    timer.start()
    try:
        # a fixed generic start point inside the cube (the origin is on hyperplanes of the shapes)
        start = (0.1234567 + 0.0713 * np.arange(d)) * min(args.box, 1.0) * np.where(np.arange(d) % 2, -1.0, 1.0)
        cx.bfs(torch.tensor(start).reshape(1, -1), verbose=0, verify=True, nworkers=args.workers,
               cube_radius=args.box, cube_mode="clipped")
        t_search = time.perf_counter() - t0
        meta = cx.meta_graph(verbose=0)
        from relucent.graph.meta_graph import truncate_meta_graph
        truncate_meta_graph(meta)  # cap the unbounded cells of the whole complex, then take subcomplexes
        cls_nodes = {c: [] for c in range(K)}
        bnd_nodes = []
        faces = [0] * (d + 1)
        for n, a in meta.nodes(data=True):
            k = int(a.get("dim", -1))
            if k < 0:
                continue
            faces[k] += 1
            ss = np.asarray(a["ss"]).reshape(-1)
            win = argmax_sets(ss[units], K) if K > 1 else [0]
            for c in win:
                cls_nodes[c].append(n)
            if len(win) >= 2:
                bnd_nodes.append(n)

        def betti_of(nodes):
            if not nodes:
                return [0] * (d + 1)
            return _vec(betti_numbers(meta.subgraph(nodes).copy(), compactify=None, verbose=0), d)

        betti = {str(c): betti_of(cls_nodes[c]) for c in range(K)}
        boundary = betti_of(bnd_nodes)
        with lock:
            timer.cancel()
            out.update(regions=len(cx), faces=faces, betti=betti, boundary_betti=boundary,
                       seconds=time.perf_counter() - t0, search_seconds=t_search)
    except Exception as e:  # relucent's failure is a result
        with lock:
            timer.cancel()
            out.update(regions=len(cx.index2poly), seconds=time.perf_counter() - t0,
                       error=f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}")
            traceback.print_exc(file=sys.stderr)
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
