"""Connected components of the decision regions (`decision_components`)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from nncells import _config
from nncells.geometry import solvers
from nncells.results._facets import cell_rows, lp_facet
from nncells.results.adjacency import compute_facets, contract_tol

if TYPE_CHECKING:
    from nncells.network import Network
    from nncells.results.result import EnumerationResult


def _output_maps(net: Network, P: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """The network's affine map ``A[i] x + c[i]`` on every region (batched `Network.local_affine`)."""
    n, d, L = len(P), net.input_dim, len(net.widths)
    A = np.empty((n, net.output_dim, d))
    c = np.empty((n, net.output_dim))
    for s in range(0, n, chunk):
        sl = slice(s, min(s + chunk, n))
        if L:
            H, g, _ = cell_rows(net, P[sl], L, maps=True)
            last = net.layer_slices[-1]
            on = (P[sl, last] | net.linear[-1]).astype(np.float64)   # a linear unit passes its value on
            M, m = H[:, last] * on[:, :, None], g[:, last] * on
        else:
            M, m = np.broadcast_to(np.eye(d), (sl.stop - sl.start, d, d)), np.zeros((sl.stop - sl.start, d))
        A[sl] = np.einsum("oj,njd->nod", net.weights[-1], M)
        c[sl] = m @ net.weights[-1].T + net.biases[-1]
    return A, c


def _class_rows(A: np.ndarray, c: np.ndarray, cls: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows ``R x <= r`` whose interior is where class ``cls`` strictly wins (one region's map)."""
    k = A.shape[0]
    if k == 1:
        return (-A, c) if cls == 1 else (A, -c)
    others = [j for j in range(k) if j != cls]
    return A[others] - A[cls], c[cls] - c[others]


_T_STEPS = (0.5, 0.25, 0.75, 0.125)   # where candidate witnesses sit between a vertex and a centre
_LOOSE = 1e4                          # a vertex this many tol ||x|| off a facet's plane may be on it


def decision_components(result: EnumerationResult) -> dict[str, Any]:
    """The connected components of each class's decision region.

    The class at ``x`` is the network's argmax (``y > 0`` for one output). The decision region of
    a class is the open set where it wins strictly (inside the domain); inside one activation
    region it is convex (the region cut by the inequalities ``y_c > y_j``), so each region holds
    at most one *piece* of each class. Two pieces of one class in adjacent regions are connected
    iff the class wins strictly somewhere on the relative interior of their common facet. The
    components are those of this graph.

    How (the answers of the one-LP-per-question method, tests/components_reference.py, with the LPs
    kept for what cheap tests cannot settle; see docs/numerics.md):

    - a region is *single-class* when one class wins at every vertex by its float64 error margin
      and no ray makes another class win far away; its piece is the whole region and joins the
      same class's piece across every facet;
    - in a bounded region crossed by the decision boundary, a class is *absent* when one other
      class beats it at every vertex by the error margin (so everywhere), and *present* when a
      witness ball fits: a point between a vertex where it wins and the region's interior point
      holds a ball inside the region (by convexity, a fraction of the point's certified radius)
      and inside the class's inequalities, of radius ``BORDERLINE`` times the contract's
      threshold (``tol ||x||_inf`` for every ``x`` of the region); otherwise one LP decides;
    - a facet between two pieces joins them when a witness on the facet (between its interior
      point and a vertex on it) holds an in-plane ball of that size where the class wins, and
      does not when another class beats it at every vertex near the facet's plane; a facet is
      only asked (one LP) when neither test settles it and its pieces are not joined already.

    Parameters
    ----------
    result : EnumerationResult (box, polytope or the whole space)

    Returns
    -------
    dict
        ``classes`` {class: number of components}, ``pieces`` (arrays ``region``, ``class``,
        ``component``: one row per piece, components numbered by their first piece),
        ``mixed_regions`` (regions holding several classes) and ``lp_solves``.

    Examples
    --------
    >>> import nncells
    >>> net = nncells.Network([[[1.0, 0.0]], [[1.0]]], [[0.0], [-0.5]])   # y = relu(x1) - 0.5
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1, dim=2), workers=1)
    >>> out = decision_components(res)
    >>> out["classes"], out["mixed_regions"], out["pieces"]["class"].tolist()
    ({0: 1, 1: 1}, 1, [0, 0, 1])
    """
    lp0 = solvers.lp_count()
    tol = contract_tol(result)
    T = compute_facets(result, vertices=True)
    net, P, X = result.network, result.patterns, result.points
    n = len(P)
    A, c = _output_maps(net, P)
    if net.output_dim == 1:   # class 1 where y > 0: the scores (0, y), ties to class 0 as before
        A, c = np.concatenate([np.zeros_like(A), A], axis=1), np.concatenate([np.zeros_like(c), c], axis=1)
    k = A.shape[1]
    home = np.einsum("nod,nd->no", A, X).__add__(c).argmax(axis=1)
    V, vr, E, er = T["_vertex"], T["_vertex_region"], T["_ray"], T["_ray_region"]
    Y = np.einsum("vod,vd->vo", A[vr], V) + c[vr]
    err = tol * (np.einsum("vod,vd->vo", np.abs(A[vr]), np.abs(V)) + np.abs(c[vr])).max(axis=1)
    single = np.ones(n, bool)
    single[T["_lines"]] = False
    np.logical_and.at(single, vr, (Y.argmax(axis=1) == home[vr]) & (_lead(Y, home[vr]) > err))
    if len(E):
        np.logical_and.at(single, er, _lead(np.einsum("vod,vd->vo", A[er], E), home[er]) >= 0)
    nv = np.bincount(vr, minlength=n)
    vstart = np.cumsum(nv) - nv
    bounded = nv > 0
    bounded[T["_lines"]] = False
    bounded[er] = False
    Nrm = np.linalg.norm(A[:, :, None] - A[:, None, :], axis=3)   # [region, c, j]: ||A_c - A_j||
    present = np.zeros((n, k), bool)
    present[np.arange(n), home] = True
    known = present | single[:, None]
    _cheap_presence(A, c, X, result.radii, Y, err, V, vr, vstart, nv, Nrm, bounded & ~single, tol, present, known)
    for i, cls in zip(*np.nonzero(~known)):
        G, h = result.halfspaces(i)
        R, r = _class_rows(A[i], c[i], cls)
        x, rad = solvers.chebyshev_center(np.vstack([G, R]), np.concatenate([h, r]),
                                          cap=max(1.0, float(np.abs(X[i]).max())))
        present[i, cls] = x is not None and rad > tol * np.max(np.abs(x))
    # the pieces, numbered by (region, class); the facets between pieces of one class
    nid = np.full((n, k), -1)
    ri, ci = np.nonzero(present)
    nid[ri, ci] = np.arange(len(ri))
    first = np.ones(len(T["facet"]), bool)
    first[1:] = T["facet"][1:] != T["facet"][:-1]
    fa = np.flatnonzero(first & (T["neighbour"] > T["region"]))
    ea, ec = np.nonzero(present[T["region"][fa]] & present[T["neighbour"][fa]])
    ai, aj, ar = T["region"][fa[ea]], T["neighbour"][fa[ea]], fa[ea]
    yes = (single[ai] & (home[ai] == ec)) | (single[aj] & (home[aj] == ec))
    no = np.zeros(len(ea), bool)
    todo = np.flatnonzero(~yes & bounded[ai])
    if len(todo):
        y2, n2 = _cheap_facets(T, A, c, Y, err, V, vstart, nv, Nrm, ar[todo], ai[todo], ec[todo], tol)
        yes[todo], no[todo] = y2, n2
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    u, w = nid[ai, ec], nid[aj, ec]
    m = len(ri)
    ncc, label = connected_components(coo_matrix((np.ones(int(yes.sum())), (u[yes], w[yes])), shape=(m, m)),
                                      directed=False)
    parent = np.arange(ncc)       # then a union-find over those components for the facets asked

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for e in np.flatnonzero(~yes & ~no):
        pu, pw = find(label[u[e]]), find(label[w[e]])
        if pu != pw and _on_facet(result, A[ai[e]], c[ai[e]], int(ai[e]), T, ar[e], int(ec[e]), tol):
            parent[max(pu, pw)] = min(pu, pw)
    lab = np.array([find(x) for x in label], dtype=np.int64)
    _, firsts, inv = np.unique(lab, return_index=True, return_inverse=True)
    comp = np.argsort(np.argsort(firsts))[inv] if m else np.zeros(0, np.int64)
    classes = {cls: len(np.unique(comp[ci == cls])) for cls in range(k)}
    return {"classes": classes,
            "pieces": {"region": ri.astype(np.int64), "class": ci.astype(np.int64), "component": comp.astype(np.int64)},
            "mixed_regions": int((present.sum(axis=1) > 1).sum()),
            "lp_solves": solvers.lp_count() - lp0}


def _lead(Y: np.ndarray, cls: np.ndarray) -> np.ndarray:
    """How much class ``cls`` (per row) leads the best other class in the scores ``Y``."""
    Y = Y.copy()
    rows = np.arange(len(Y))
    own = Y[rows, cls]
    Y[rows, cls] = -np.inf
    return cast("np.ndarray", own - Y.max(axis=1))


def _segments(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the segments ``[starts[i], starts[i] + counts[i])`` and each one's owner."""
    owner = np.repeat(np.arange(len(counts)), counts)
    off = np.cumsum(counts) - counts
    return starts[owner] + np.arange(len(owner)) - off[owner], owner


def _class_depth(A: np.ndarray, c: np.ndarray, p: np.ndarray, region: np.ndarray, cls: np.ndarray,
                 Nrm: np.ndarray, tol: float) -> np.ndarray:
    """A lower bound of the distance from points ``p`` (of regions ``region``) to where class
    ``cls`` stops winning (the class's inequalities, rows of norm ``Nrm``), the error bound off."""
    y = np.einsum("vod,vd->vo", A[region], p) + c[region]
    e = tol * (np.einsum("vod,vd->vo", np.abs(A[region]), np.abs(p)) + np.abs(c[region])).max(axis=1)
    rows = np.arange(len(p))
    lead = y[rows, cls][:, None] - y - 2 * e[:, None]
    nr = Nrm[region, cls]
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.where(nr > 0, lead / np.where(nr > 0, nr, 1.0), np.where(lead > 0, np.inf, -np.inf))
    dist[rows, cls] = np.inf
    return cast("np.ndarray", dist.min(axis=1))


def _cheap_presence(A: np.ndarray, c: np.ndarray, X: np.ndarray, radii: np.ndarray, Y: np.ndarray,
                    err: np.ndarray, V: np.ndarray, vr: np.ndarray, vstart: np.ndarray, nv: np.ndarray,
                    Nrm: np.ndarray, cand: np.ndarray, tol: float, present: np.ndarray, known: np.ndarray) -> None:
    """Settle, without LPs, which classes the bounded regions ``cand`` hold (in place): absent
    where another class wins at every vertex by the error margin, present where a witness ball
    of ``BORDERLINE`` times the threshold fits (the `decision_components` notes)."""
    regs = np.flatnonzero(cand)
    if not len(regs):
        return
    k = A.shape[1]
    step = max(1, (1 << 22) // (k * k))      # vertices per chunk of the [vertex, j, class] array
    for part in np.split(regs, np.unique(np.searchsorted(np.cumsum(nv[regs]), np.arange(step, nv[regs].sum(), step)))):
        if not len(part):
            continue
        vv, _ = _segments(vstart[part], nv[part])
        D = Y[vv, :, None] - Y[vv, None, :] - err[vv, None, None]     # [v, j, class]: y_j - y_class
        low = np.minimum.reduceat(D, np.cumsum(nv[part]) - nv[part], axis=0)
        gone = (low > 0).any(axis=1)
        known[part] |= gone
    scale = np.zeros(len(known))
    np.maximum.at(scale, vr, np.abs(V).max(axis=1))
    vv, _ = _segments(vstart[regs], nv[regs])
    reg = vr[vv]
    cap = np.maximum(1.0, np.abs(X[reg]).max(axis=1))
    for t in _T_STEPS:
        p = V[vv] + t * (X[reg] - V[vv])
        cls = (np.einsum("vod,vd->vo", A[reg], p) + c[reg]).argmax(axis=1)
        ask = ~known[reg, cls]
        r0 = np.minimum(np.minimum(t * radii[reg[ask]], cap[ask]),
                        _class_depth(A, c, p[ask], reg[ask], cls[ask], Nrm, tol))
        ok = r0 > _config.BORDERLINE * tol * scale[reg[ask]]
        present[reg[ask][ok], cls[ask][ok]] = True
        known[reg[ask][ok], cls[ask][ok]] = True


def _cheap_facets(T: dict[str, Any], A: np.ndarray, c: np.ndarray, Y: np.ndarray, err: np.ndarray, V: np.ndarray,
                  vstart: np.ndarray, nv: np.ndarray, Nrm: np.ndarray, rows: np.ndarray, regs: np.ndarray,
                  cls: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """For facet rows ``rows`` of bounded regions ``regs``: whether class ``cls`` surely wins on
    an in-plane ball of ``BORDERLINE`` times the threshold (``yes``), and whether another class
    surely beats it all over the facet (``no``), by the `decision_components` notes."""
    f = T["facet"][rows]
    pf, nf, rho = T["_points"][f], T["_normals"][f], T["_margins"][f]
    m = len(rows)
    good = np.all(np.isfinite(pf), axis=1) & np.all(np.isfinite(nf), axis=1) & np.isfinite(rho)
    yes, no = np.zeros(m, bool), np.zeros(m, bool)
    # t = 0: the facet's own interior point
    r0 = np.minimum(rho, _class_depth(A, c, np.where(good[:, None], pf, 0.0), regs, cls, Nrm, tol))
    yes |= good & (r0 > _config.BORDERLINE * tol * np.abs(pf).max(axis=1))
    vv, e = _segments(vstart[regs], nv[regs])
    scale = np.maximum(np.abs(V[vv]).max(axis=1), np.abs(pf[e]).max(axis=1))
    off = np.abs(np.einsum("vd,vd->v", V[vv] - pf[e], nf[e]))
    near, on = off <= _LOOSE * tol * scale, off <= tol * scale
    # no: one class beats cls at every vertex near the plane (a superset of the facet's vertices)
    D = Y[vv] - Y[vv, cls[e]][:, None] - err[vv][:, None]
    D[~near] = np.inf
    order = np.cumsum(nv[regs]) - nv[regs]
    has = nv[regs] > 0
    low = np.full((m, A.shape[1]), -np.inf)
    low[has] = np.minimum.reduceat(D, order[has], axis=0)
    cnt = np.bincount(e[near], minlength=m)
    no |= good & (cnt > 0) & (low > 0).any(axis=1)
    # yes: between the facet's point and a vertex on it where cls wins
    win = on & (Y[vv].argmax(axis=1) == cls[e]) & good[e] & ~yes[e]
    for t in _T_STEPS:
        q, eq = vv[win], e[win]
        p = pf[eq] + t * (V[q] - pf[eq])
        r0 = np.minimum((1 - t) * rho[eq] - tol * scale[win], _class_depth(A, c, p, regs[eq], cls[eq], Nrm, tol))
        yes[eq[r0 > _config.BORDERLINE * tol * np.abs(p).max(axis=1)]] = True
    return yes, no & ~yes


def _on_facet(result: EnumerationResult, A: np.ndarray, c: np.ndarray, i: int, T: dict[str, Any], a: int,
              cls: int, tol: float) -> bool:
    """Whether class ``cls`` wins strictly somewhere on the relative interior of facet row ``a``
    of region ``i`` (one LP in the facet's hyperplane)."""
    G, h = result.halfspaces(i)
    md = len(result.domain.halfspaces()[1])
    rows = T["index"][T["facet"] == T["facet"][a]] + np.where(T["kind"][T["facet"] == T["facet"][a]] == "neuron", md, 0)
    R, r = _class_rows(A, c, cls)
    G, h = np.vstack([G, R]), np.concatenate([h, r])
    nrm = np.linalg.norm(G, axis=1)
    keep = nrm > 0
    if np.any(h[~keep] < 0):
        return False
    sel = np.flatnonzero(keep)
    G, h = G[keep] / nrm[keep, None], h[keep] / nrm[keep]
    group = np.isin(sel, rows)
    k = int(np.flatnonzero(group)[0])
    p = result.points[i]
    ok, _, _ = lp_facet(G, h - G @ p, p, group, k, tol)
    return ok
