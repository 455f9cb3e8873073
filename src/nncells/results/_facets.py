"""The geometry behind `nncells.results.adjacency`: pulled-back rows of many cells at once, and the
non-redundant rows (facets) of one cell by its polar polytope (qhull) or by LPs.

A cell ``{x : G x <= h}`` (rows of unit norm) with an interior point ``p`` has slacks
``s = h - G p > 0``. Its polar about ``p`` is ``conv({G_j / s_j} ∪ {0})``; the cell's facets are the
vertices of the polar other than the origin (a row whose dual point lies inside the polar is
redundant), its vertices are the polar's facets that avoid the origin (``w = p + e / -f`` for a
facet ``e u + f = 0``) and its extreme rays the polar's facets through the origin (direction
``e``). One convex hull gives all three, in any units: scaling the inputs scales the dual points
by one factor. The polar is full-dimensional iff the cell contains no line; otherwise the rows are
settled by LPs (`lp_facets`).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import ConvexHull, QhullError

from nncells.geometry.contract import EPS, deepest_point, gamma, unit_rows
from nncells.network import Network


def cell_rows(net: Network, prefixes: np.ndarray, n_layers: int, bounds: bool = False, maps: bool = False):
    """Pulled-back rows of the first ``n_layers`` hidden layers for many cells at once.

    ``prefixes`` (n, k) holds each cell's pattern over the first ``n_layers - 1`` layers (or
    more). Returns ``H (n, N, d)``, ``g (n, N)`` with pre-activations ``H x + g`` (the batched twin
    of `Network.layer_maps`) and ``zero (n, N)``: normals within the forward error bound of zero
    (the engine's test), constant on the cell. Cells whose patterns agree on the layers before
    one share its product (computed once for the group, then handed to each). With ``bounds`` also ``eH (n, N, d)`` and
    ``eg (n, N)``: bounds of the rounding errors of ``H`` and ``g`` (``gamma`` of the number of
    terms times the sums of absolute values along the active paths).

    A linear (pass-through) unit passes its map on whatever its bit in ``prefixes``; it bounds
    nothing, so its row is ``0 <= 0`` (``H``, ``g`` and their errors 0, ``zero`` True), as in
    `Network.region_halfspaces`, unless ``maps`` asks for every unit's pre-activation map.

    Examples
    --------
    >>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, -1.0], [0.0]], linear=[[True, False]])
    >>> H, g, zero = cell_rows(net, np.zeros((1, 0), bool), 1)
    >>> H[0].tolist(), g[0].tolist(), zero[0].tolist()
    ([[0.0, 0.0], [0.0, 1.0]], [0.0, -1.0], [True, False])
    >>> cell_rows(net, np.zeros((1, 0), bool), 1, maps=True)[0][0].tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    n, d = len(prefixes), net.input_dim
    group, k = np.zeros(n, np.int64), 1     # each cell's group: the cells whose maps so far are one
    M = np.eye(d)[None]
    m = np.zeros((1, d))
    Mabs, mabs = M, m
    Hs, gs, zs, eHs, egs = [], [], [], [], []
    for layer in range(n_layers):
        W, b, sl = net.weights[layer], net.biases[layer], net.layer_slices[layer]
        H = _stacked(W, M)                       # (k, width, d), a group each: BLAS, any order within eH
        g = m @ W.T + b
        Habs = _stacked(np.abs(W), Mabs)
        terms = net.input_dim + sum(net.widths[:layer]) + 1
        lin = net.linear[layer]
        drop = lin if lin.any() and not maps else None     # linear units' rows: 0 <= 0
        zero = np.all(np.abs(H) <= gamma(terms) * Habs, axis=2)
        cells = group if k < n else None                   # (None: a group a cell, in order)
        Hs.append(_each(_zeroed(H, drop), cells))
        gs.append(_each(_zeroed(g, drop), cells))
        zs.append(_each(zero if drop is None else zero | drop, cells))
        if bounds:
            gabs = mabs @ np.abs(W).T + np.abs(b)
            eHs.append(_each(_zeroed(gamma(terms) * Habs, drop), cells))
            egs.append(_each(_zeroed(gamma(terms) * gabs, drop), cells))
        if layer + 1 < n_layers:
            on = prefixes[:, sl] | lin
            before = group
            group, first = _refine(group, on)
            k, parent, s = len(first), before[first], on[first].astype(np.float64)
            M, m, Mabs = H[parent] * s[:, :, None], g[parent] * s, Habs[parent] * s[:, :, None]
            if bounds:
                mabs = gabs[parent] * s
    out = np.concatenate(Hs, axis=1), np.concatenate(gs, axis=1), np.concatenate(zs, axis=1)
    return out + (np.concatenate(eHs, axis=1), np.concatenate(egs, axis=1)) if bounds else out


def _refine(group, on):
    """The groups of cells with the same ``group`` and the same units ``on`` (n, w), numbered in
    the order of their first cells: ``(group of each cell, first cell of each group)``."""
    n = len(group)
    key = np.hstack([group.astype(">i8").view(np.uint8).reshape(n, 8), np.packbits(on, axis=1)])
    key = np.ascontiguousarray(key).view(np.dtype((np.void, key.shape[1]))).ravel()
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inv.reshape(-1)], first[order]


def _each(a, cells):
    """``a`` (one entry a group) for each cell (``cells``: their groups; None: ``a`` itself)."""
    return a if cells is None else a[cells]


def unit_entries(ci, cj, Ad, bd, H, g, P):
    """The rows of the entries ``(ci, cj)`` of the qhull path's chunks (``cj`` below ``len(bd)``: the
    domain's unit rows ``Ad x <= bd``; above: unit ``cj - len(bd)`` of cell ``ci``, its
    pre-activation ``H x + g`` with the side of the cell's pattern ``P``, made unit)."""
    md, d = len(bd), Ad.shape[1]
    dom = cj < md
    Gf, hf = np.empty((len(ci), d)), np.empty(len(ci))
    Gf[dom], hf[dom] = Ad[cj[dom]], bd[cj[dom]]
    c, u = ci[~dom], cj[~dom] - md
    sign = np.where(P[c, u], -1.0, 1.0)
    Gu, hu = H[c, u] * sign[:, None], -g[c, u] * sign
    nrm = np.linalg.norm(Gu, axis=1)
    nrm = np.where(nrm == 0, 1.0, nrm)
    Gf[~dom], hf[~dom] = Gu / nrm[:, None], hu / nrm
    return Gf, hf


def cut_mask(n, V, vcell, E, ecell, H, g, zero, tol):
    """(n, w) which hyperplanes ``H[c] x + g[c] = 0`` may cut cell ``c``, from its vertices ``V``
    and rays ``E`` (generous: a hyperplane within ``tol`` of a vertex's size counts as cutting)."""
    pos = np.zeros(H.shape[:2], bool)
    neg = np.zeros(H.shape[:2], bool)
    if len(V):
        Hv = H[vcell]
        vals = np.einsum("vwd,vd->vw", Hv, V) + g[vcell]
        err = tol * (np.einsum("vwd,vd->vw", np.abs(Hv), np.abs(V)) + np.abs(g[vcell]))
        np.logical_or.at(pos, vcell, vals > -err)
        np.logical_or.at(neg, vcell, vals < err)
    if len(E):
        He = H[ecell]
        slope = np.einsum("vwd,vd->vw", He, E)
        err = tol * np.einsum("vwd,vd->vw", np.abs(He), np.abs(E))
        np.logical_or.at(pos, ecell, slope > -err)
        np.logical_or.at(neg, ecell, slope < err)
    return pos & neg & ~zero


def _stacked(W, M):
    """``W @ M[i]`` for every ``i`` (``M``: (n, k, d)) as one matrix product, ``W`` read once
    (a product per cell reads all of ``W`` for ``d`` columns: memory-bound for wide layers)."""
    n, k, d = M.shape
    out = W @ np.ascontiguousarray(M.transpose(1, 0, 2)).reshape(k, n * d)
    return out.reshape(len(W), n, d).transpose(1, 0, 2)      # (a view: no copy)


def _zeroed(a, drop):
    """``a`` (n, width, ...) with the units of ``drop`` (width,) set to 0 (``a`` itself for None)."""
    if drop is None:
        return a
    a = a.copy()
    a[:, drop] = 0.0
    return a


def across_pattern(net: Network, pattern: np.ndarray, neurons: np.ndarray, normal: np.ndarray):
    """The pattern just across a facet whose hyperplane holds ``neurons`` (their rows in the region
    of ``pattern``), crossed along ``normal`` (pointing out of the region), or None where floats
    cannot tell.

    A neuron that is non-zero at the facet's relative interior keeps its sign across
    (pre-activations are continuous). The facet's neurons of the earliest layer among them keep
    their rows, so they all change sign. A neuron of a later layer that is zero on the facet (one
    of ``neurons``, or constant zero on the region) has, across, a row through the changed
    pattern that is zero on the hyperplane too, a multiple of the facet's normal: it is active
    across iff that row has a positive slope along ``normal`` (zero: constant 0, inactive).
    Duplicated neurons of one layer are one case of this; a layer-2 neuron whose inputs are all
    off on one side is another (it is constant 0 there and may turn on across, or stay off).
    Linear units keep their bits (True).
    """
    q = np.asarray(pattern, dtype=bool).copy()
    neurons = np.asarray(neurons, dtype=np.int64)
    if not len(neurons):
        return None
    L = len(net.widths)
    starts = np.array([sl.start for sl in net.layer_slices])
    lay = np.searchsorted(starts, np.arange(net.n_hidden), side="right") - 1
    first = lay[neurons].min()
    q[neurons[lay[neurons] == first]] ^= True
    on = np.zeros(net.n_hidden, bool)
    on[neurons] = True
    if first + 1 < L:                       # constant zero on the region: zero on the facet too
        _, g, zero, _, eg = cell_rows(net, np.asarray(pattern, dtype=bool)[None, :], L, bounds=True)
        on |= zero[0] & (np.abs(g[0]) <= eg[0])
    on &= (lay > first) & ~net.linear_mask  # a linear unit has no sign to change: its bit stays True
    for lv in np.unique(lay[on]):
        H, _, zero = cell_rows(net, q[None, :], int(lv) + 1)
        ks = np.flatnonzero(on & (lay == lv))
        slope = H[0, ks] @ normal
        err = gamma(net.input_dim + sum(net.widths[:lv]) + 2) * (np.abs(H[0, ks]) @ np.abs(normal))
        if np.any(~zero[0, ks] & (np.abs(slope) <= err)):
            return None
        q[ks] = ~zero[0, ks] & (slope > 0)
    return q


def groups_of(D: np.ndarray, keys: np.ndarray, tol: float) -> np.ndarray:
    """For each row of ``D[keys]``, the rows of ``D`` with the same dual point (within ``tol``
    relative): (len(keys), m) bool. Equal dual points are one hyperplane (a multi-neuron facet)."""
    Dk = D[keys]
    size = np.abs(Dk).max(axis=1)
    return np.abs(D[None, :, :] - Dk[:, None, :]).max(axis=2) <= (tol * size)[:, None]


class CellFacets:
    """The facets of one cell: ``groups`` (k, m) bool over its rows, one row per facet (its rows
    lie on one hyperplane), ``points`` (k, d) a relative-interior point of each facet (absolute
    coordinates), and, from the polar, ``vertices`` (absolute) and ``rays`` (None after LPs)."""

    __slots__ = ("groups", "points", "margins", "vertices", "rays")

    def __init__(self, groups, points, margins, vertices=None, rays=None):
        self.groups, self.points, self.margins = groups, points, margins
        self.vertices, self.rays = vertices, rays


def polar_batch(n, ci, cj, Gf, sf, pts, tol):
    """The facets of many cells, one convex hull each, the rest vectorised over the cells.

    The ``n`` cells' candidate rows are entries sorted by cell: cell ``ci``, row ``cj`` (a column
    of the caller's), the unit row ``Gf`` with slack ``sf > 0`` at the cell's point ``pts[ci]``.
    Returns ``(facets, failed)``: ``facets`` a dict of flat arrays, one entry per facet (``cell``,
    ``point``, ``normal``, ``margin``) and per member row (``mem_facet``, ``mem_row``: its
    ``cj``) and the cells' vertices and rays (``vertex``/``vertex_cell``, ``ray``/``ray_cell``);
    ``failed`` the cells qhull could not do (a line in the cell, too few rows), for `lp_facets`.
    """
    d = pts.shape[1]
    counts = np.bincount(ci, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    Df = Gf / sf[:, None]
    simps, eqs, done = [], [], []
    failed = []
    buf = np.zeros((int(counts.max(initial=0)) + 1, d))
    for a in range(n):
        k, st = counts[a], starts[a]
        if k <= d:
            failed.append(a)
            continue
        buf[:k] = Df[st:st + k]
        buf[k] = 0.0
        try:
            hull = ConvexHull(buf[:k + 1])
        except (QhullError, ValueError):
            failed.append(a)
            continue
        simps.append(hull.simplices)
        eqs.append(hull.equations)
        done.append(a)
    done = np.array(done, dtype=np.int64)
    if not len(done):
        return None, failed
    ns = np.array([len(x) for x in simps])
    scell = np.repeat(done, ns)
    S = np.concatenate(simps)
    EQ = np.concatenate(eqs)
    orig = S == counts[scell][:, None]
    size = np.zeros(n)
    np.maximum.at(size, ci, np.abs(Df).max(axis=1))
    # a polar facet through the origin (the origin a vertex or coplanar) is a ray of the cell
    inf = orig.any(axis=1) | (-EQ[:, d] <= 1e-12 * size[scell])
    S = S + starts[scell][:, None]
    W = EQ[~inf, :d] / -EQ[~inf, d:]
    bad = np.zeros(n, bool)
    bad[scell[~inf][~np.all(np.isfinite(W), axis=1)]] = True
    wcell, E, ecell = scell[~inf], EQ[inf, :d], scell[inf]
    on_hull = np.zeros(len(Df) + 1, bool)   # the polar's vertices: rows in some simplex
    on_hull[np.where(orig, len(Df), S)] = True
    K = np.flatnonzero(on_hull[:-1])
    kcell = ci[K]
    # groups: each hull vertex against every candidate of its cell
    plen = counts[kcell]
    q = np.repeat(np.arange(len(K)), plen)
    poff = np.concatenate([[0], np.cumsum(plen)[:-1]])
    pc = starts[kcell][q] + np.arange(len(q)) - poff[q]
    close = np.abs(Df[pc] - Df[K[q]]).max(axis=1) <= tol * np.abs(Df[K[q]]).max(axis=1)
    dup = np.zeros(len(K), bool)  # a hull vertex on the hyperplane of an earlier one
    is_key = np.full(len(Df), -1)
    is_key[K] = np.arange(len(K))
    hit = close & (is_key[pc] >= 0) & (pc < K[q])
    dup[q[hit]] = True
    # a relative-interior point of each facet: mean of its vertices plus the mean of its rays
    ent_s = np.repeat(np.arange(len(S)), d)
    ent_q = np.where(orig.ravel(), -1, is_key[np.where(orig, 0, S).ravel()])
    wid = np.full(len(S), -1)
    wid[~inf] = np.arange(int((~inf).sum()))
    sel = (ent_q >= 0) & ~inf[ent_s]
    nfin = np.bincount(ent_q[sel], minlength=len(K))
    Q = np.stack([np.bincount(ent_q[sel], W[wid[ent_s[sel]], j], len(K)) for j in range(d)], axis=1)
    Q /= np.maximum(nfin, 1)[:, None]
    if len(E):
        rid = np.full(len(S), -1)
        rid[inf] = np.arange(int(inf.sum()))
        sel = (ent_q >= 0) & inf[ent_s]
        nray = np.bincount(ent_q[sel], minlength=len(K))
        R = np.stack([np.bincount(ent_q[sel], E[rid[ent_s[sel]], j], len(K)) for j in range(d)], axis=1)
        rho = np.zeros(n)
        np.maximum.at(rho, wcell, np.abs(W).max(axis=1))
        Q += rho[kcell][:, None] * R / np.maximum(nray, 1)[:, None]
    slack = sf[pc] - np.einsum("ij,ij->i", Gf[pc], Q[q])
    slack[close] = np.inf
    margin = np.minimum.reduceat(slack, poff) if len(poff) else np.zeros(0)
    X = pts[kcell] + Q
    ok = (nfin > 0) & (margin > tol * np.abs(X).max(axis=1))
    for a in np.flatnonzero(~ok & ~dup & ~bad[kcell]):
        c, st = kcell[a], starts[kcell[a]]
        rng = slice(poff[a], poff[a] + plen[a])
        ok[a], X[a], margin[a] = lp_facet(Gf[st:st + counts[c]], sf[st:st + counts[c]], pts[c], close[rng],
                                          K[a] - st, tol)
    good = ok & ~dup & ~bad[kcell]
    new = np.cumsum(good) - 1
    mem = close & good[q]
    failed += np.flatnonzero(bad).tolist()
    vkeep, rkeep = ~bad[wcell], ~bad[ecell]
    out = {"cell": kcell[good], "point": X[good], "normal": Gf[K[good]], "margin": margin[good],
           "mem_facet": new[q[mem]], "mem_row": cj[pc[mem]],
           "vertex": W[vkeep] + pts[wcell[vkeep]], "vertex_cell": wcell[vkeep],
           "ray": E[rkeep], "ray_cell": ecell[rkeep]}
    return out, sorted(failed)


def lp_facet(G: np.ndarray, s: np.ndarray, p: np.ndarray, group: np.ndarray, k: int,
             tol: float) -> tuple[bool, np.ndarray, float]:
    """Whether row ``k`` (with the rows of ``group`` on its hyperplane) is a facet of
    ``{G x <= G p + s}``: a (d-1)-ball in its hyperplane that clears the other rows must exceed
    ``tol ||x||_inf`` (the contract's rule in the hyperplane, in coordinates centred at the foot
    of ``p``: one LP, `contract.deepest_point`). Returns ``(is_facet, centre, radius)``."""
    d = G.shape[1]
    x0 = s[k] * G[k]                       # the foot of p on the hyperplane (relative to p)
    others = ~group
    if d == 1:
        margin = np.min(s[others] - G[others] @ x0, initial=np.inf)
        return bool(margin > tol * np.max(np.abs(p + x0))), p + x0, margin
    B = np.linalg.qr(G[k][:, None], mode="complete")[0][:, 1:]   # the hyperplane's directions
    A, c = G[others] @ B, s[others] - G[others] @ x0
    flat = np.linalg.norm(A, axis=1) <= 64 * EPS    # rows parallel to the hyperplane: constants
    A[flat] = 0.0
    rows = unit_rows(A, c)
    if rows is None:
        return False, p + x0, -np.inf
    if len(rows[0]) == 0:
        return True, p + x0, np.inf
    u, r = deepest_point(rows[0], rows[1], tol)   # max depth - tol |u|_inf, checked in float64
    if u is None:
        return False, p + x0, -np.inf
    x = p + x0 + B @ u
    return bool(r > tol * np.max(np.abs(x))), x, r


def lp_facets(G, s, p, tol):
    """`CellFacets` by ray shooting and LPs (any dimension, cells with lines).

    A ray from ``p`` along a row's normal certifies the row it meets first when the point it
    meets clears every other row by ``tol ||x||_inf``; every row not certified so costs one LP.
    """
    m, d = G.shape
    D = G / s[:, None]
    grp = groups_of(D, np.arange(m), tol)
    rate = G @ G.T                          # rate[k, j]: speed of ray k towards row j
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(rate > 0, s[None, :] / rate, np.inf)
    hit = np.argmin(t, axis=1)
    Q = G * t[np.arange(m), hit][:, None]
    slack = s[None, :] - Q @ G.T
    margin = np.min(np.where(grp[hit], np.inf, slack), axis=1, initial=np.inf)
    X = p + Q
    good = np.isfinite(t[np.arange(m), hit]) & (margin > tol * np.max(np.abs(X), axis=1))
    facet = np.zeros(m, bool)
    point = np.zeros((m, d))
    rad = np.zeros(m)
    for k in np.flatnonzero(good):
        if not facet[hit[k]]:
            facet[hit[k]], point[hit[k]], rad[hit[k]] = True, X[k], margin[k]
    done = facet.copy()
    for k in range(m):
        if done[k]:
            continue
        done |= grp[k]
        if np.any(facet & grp[k]):
            continue
        facet[k], point[k], rad[k] = lp_facet(G, s, p, grp[k], k, tol)
    # one facet per hyperplane
    keys = []
    seen = np.zeros(m, bool)
    for k in np.flatnonzero(facet):
        if not seen[k]:
            keys.append(k)
            seen |= grp[k]
    keys = np.array(keys, dtype=np.int64)
    return CellFacets(grp[keys], point[keys], rad[keys])
