"""Vertex mode of the hot loop for bounded cells in low dimension.

Each cell carries its vertices and, for every vertex, the set of half-spaces it lies on. The
range of a hyperplane over a cell is its range over the vertices, so "does ``h`` cut the
cell?" is decided exactly without an LP. A cut computes the children's vertices by clipping:
the vertices on each side, plus the points where ``h`` crosses the edges of the cell. Two
vertices span an edge iff the half-spaces they share have rank ``d - 1`` (they then lie on one
line, whose intersection with the cell is the segment between them). qhull is used only for a
cell that comes without vertices (a polytope domain, or after LP mode).

A vertex is on one side of a hyperplane only when its value there exceeds the error bound of
that value (a multiple of `contract.gamma`); a child counts when the ball around its vertex centroid
proves it (`contract.Rule.witness`), otherwise the rule's LP decides, so slivers follow the same
contract as in LP mode.
"""
from __future__ import annotations

import time

import numpy as np
from scipy.spatial import HalfspaceIntersection, QhullError

from nncells.engine.cells import Cell, Child
from nncells import _config
from nncells.geometry.contract import depth, gamma


class _Fallback(Exception):
    """qhull could not handle a cell: the caller redoes the cell in LP mode."""


def corner_sides(d: int) -> np.ndarray:
    """``(2^d, d)`` bool: which coordinates of each corner of a d-box are at the upper bound, in
    the order of `box_vertices`."""
    return ((np.arange(2 ** d)[:, None] >> np.arange(d)[None, :]) & 1).astype(bool)


def box_vertices(lo, hi):
    """The corners of the box ``lo <= x <= hi``, exactly, with the half-spaces of
    `nncells.domains.Box.halfspaces` (``x_i <= hi_i`` then ``-x_i <= -lo_i``) each lies on, and
    their magnitudes (``|corner|``, coordinate by coordinate: a corner is exact).

    Examples
    --------
    >>> V, act, vmag = box_vertices(np.array([0.0, -2.0]), np.array([1.0, 2.0]))
    >>> V.tolist(), act.astype(int).tolist()[0], vmag[0].tolist()
    ([[0.0, -2.0], [1.0, -2.0], [0.0, 2.0], [1.0, 2.0]], [0, 0, 1, 1], [0.0, 2.0])
    """
    lo, hi = np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)
    upper = corner_sides(len(lo))
    V = np.where(upper, hi, lo)
    return V, np.hstack([upper, ~upper]), np.abs(V)


def cell_vertices(A, c, point):
    """Vertices of the bounded polytope ``A x <= c`` with ``point`` strictly inside, the
    half-spaces each lies on (within ``1e-9`` of the vertex's and the half-space's magnitude),
    and their magnitudes (`split_by_vertices`): qhull's accuracy is relative to the whole cell."""
    try:
        hs = HalfspaceIntersection(np.hstack([A, -c[:, None]]), point)
    except (QhullError, ValueError) as e:
        raise _Fallback(str(e)) from None
    V = hs.intersections
    if not np.all(np.isfinite(V)) or len(V) <= A.shape[1]:
        raise _Fallback("degenerate vertex set")
    V = np.unique(V, axis=0)
    big = float(np.max(np.abs(V)))  # qhull's accuracy is relative to the whole cell
    active = np.abs(V @ A.T - c) <= _config.VERTEX_ACTIVE_REL * (big + np.abs(c)[None, :])
    return V, active, np.full(V.shape, big)


def _edges(act, neg, pos, d):
    """Index pairs (i into ``act[neg]``, j into ``act[pos]``) of vertices that span an edge of
    the cell whose vertices' active sets are ``act``: two vertices span an edge iff the face
    their shared half-spaces define holds no other vertex (then it is the segment between them;
    it needs at least ``d - 1`` shared half-spaces). A combinatorial test: no rank decision, so
    no threshold that would depend on the units of the coordinates (a cell thin in one of them,
    the lifted ``t`` of a far region or of a huge box, has rows that differ only in small
    entries). Two simple vertices (``d`` half-spaces each, independent as a vertex's are) that
    share ``d - 1`` always span one."""
    act_n, act_p = act[neg], act[pos]
    common = act_n.astype(np.int32) @ act_p.T.astype(np.int32)
    ii, jj = np.nonzero(common >= d - 1)
    if d == 2 or len(ii) == 0:
        return ii, jj
    simple = act.sum(axis=1) == d
    keep = (common[ii, jj] == d - 1) & simple[neg][ii] & simple[pos][jj]
    t = np.flatnonzero(~keep)
    if len(t):
        shared = act_n[ii[t]] & act_p[jj[t]]                         # (pairs, rows)
        holders = act.astype(np.int32) @ shared.T.astype(np.int32)   # (vertices, pairs)
        keep[t] = np.count_nonzero(holders == common[ii[t], jj[t]][None, :], axis=0) == 2
    return ii[keep], jj[keep]


def _clip(S: Cell, h, g, vals, err, rule):
    """The two children of ``S`` cut by the unit-normal hyperplane ``h x + g = 0`` (either may
    be None when it is a sliver); ``err`` bounds the error of ``vals`` at each vertex."""
    d = len(h)
    neg, pos = vals < -err, vals > err
    zero = ~(neg | pos)
    ii, jj = _edges(S.active, neg, pos, d)
    X, mag_x = crossings(S.vertices[neg][ii], S.vertices[pos][jj], vals[neg][ii], vals[pos][jj],
                         S.vmag[neg][ii], S.vmag[pos][jj], np.abs(h), abs(g))
    act_x = S.active[neg][ii] & S.active[pos][jj]
    out = []
    for side, keep in ((1.0, pos), (-1.0, neg)):
        A = np.vstack([S.A, -side * h])
        c = np.append(S.c, side * g)
        old = keep | zero
        V = np.vstack([S.vertices[old], X])
        act = np.vstack([np.hstack([S.active[old], zero[old][:, None]]),
                         np.hstack([act_x, np.ones((len(X), 1), dtype=bool)])])
        out.append(_child(A, c, V, act, np.vstack([S.vmag[old], mag_x]), rule))
    return out


def crossings(Va, Vb, fa, fb, ma, mb, habs, gabs):
    """Where the hyperplane ``h x + g`` (values ``fa < 0 < fb`` at the edges' ends ``Va``, ``Vb``)
    crosses the edges, and the magnitudes of the new vertices, coordinate by coordinate.

    Each crossing is interpolated from the end where ``|f|`` is smaller (the nearer one in the
    edge's parameter), so its rounding is relative to that end and to the crossing itself, not
    to a far end. Its magnitude (``gamma * mag`` bounds its error, `split_by_vertices`) adds to
    ``max(mag_a, |x|)`` the error of the crossing's position along the edge, from the errors of
    ``fa`` and ``fb``; it never exceeds ``max(mag_a, mag_b)``, the bound of a crossing taken as
    only as accurate as both ends. A crossing near a vertex of tiny coordinates (a far region in
    the lifted whole space: ``t`` of order ``lam / D``) keeps magnitudes of that order there.
    """
    flip = np.abs(fb) < np.abs(fa)  # interpolate from the end with the smaller |f|
    A_, B_ = np.where(flip[:, None], Vb, Va), np.where(flip[:, None], Va, Vb)
    fA, fB = np.where(flip, fb, fa), np.where(flip, fa, fb)
    mA, mB = np.where(flip[:, None], mb, ma), np.where(flip[:, None], ma, mb)
    s = (fA / (fA - fB))[:, None]
    X = A_ + s * (B_ - A_)
    eA, eB = mA @ habs + gabs, mB @ habs + gabs  # the values' error bounds, in units of gamma
    along = ((eA + s[:, 0] * eB) / np.abs(fB - fA))[:, None]
    mag = np.maximum(mA, np.abs(X)) + np.abs(X - A_) + np.abs(B_ - A_) * along
    return X, np.minimum(mag, np.maximum(ma, mb))


def cut_away(cell: Cell, h, g, rule):
    """The part of ``cell`` (with vertices) where ``h x + g <= 0`` (``h`` of unit norm), clipped
    as a split clips, with the row always added (last) to the cell's half-spaces: the cell itself
    with that row when the hyperplane leaves it on that side (within rounding), None when nothing
    of it is there or nothing of what is left counts.

    Examples
    --------
    >>> from nncells.geometry.contract import Rule
    >>> V, act, vmag = box_vertices(np.zeros(2), np.ones(2))
    >>> sq = Cell(np.vstack([np.eye(2), -np.eye(2)]), np.r_[1.0, 1.0, 0.0, 0.0], np.full(2, 0.5), 0.5,
    ...           np.zeros((0, 2)), np.zeros(0), (np.zeros(2), np.ones(2)), V, act, vmag)
    >>> tri = cut_away(sq, np.array([1.0, 1.0]) / np.sqrt(2), -1 / np.sqrt(2), Rule())   # x + y <= 1
    >>> sorted(map(tuple, tri.vertices.round(12).tolist())), tri.A.shape
    ([(0.0, 0.0), (0.0, 1.0), (1.0, 0.0)], (5, 2))
    """
    vals = cell.vertices @ h + g
    err = gamma(len(h) + 1) * (cell.vmag @ np.abs(h) + abs(g))
    if np.all(vals >= -err):
        return None
    if np.any(vals > err):
        return _clip(cell, h, g, vals, err, rule)[1]
    return Cell(np.vstack([cell.A, h]), np.append(cell.c, -g), cell.point, cell.radius, cell.wit_points,
                cell.wit_radii, cell.box, cell.vertices, np.hstack([cell.active, (vals >= -err)[:, None]]),
                cell.vmag)


def _child(A, c, V, act, vmag, rule):
    """A cell from its half-spaces and vertices, or None for a sliver."""
    point = V.mean(axis=0)
    radius = depth(A, c, point)
    if not rule.witness(point, radius):
        x, r = rule.deepest(A, c, rule.scale_of(point, max(radius, 0.0)))
        if x is None:
            return None
        if r > radius:
            point, radius = x, r
    return Cell(A, c, point, radius, np.zeros((0, A.shape[1])), np.zeros(0), (V.min(axis=0), V.max(axis=0)),
                V, act, vmag)


def split_by_vertices(cell: Cell, Hn, gn, signs, todo, rule, t_end=float("inf")):
    """``(children, leftovers)`` of ``cell`` cut by the unit-normal hyperplanes ``Hn x + gn``
    (indices ``todo`` undecided; see `cells.split_cell`), or None when qhull fails and the
    caller must use LP mode."""
    try:
        if cell.vertices is None or cell.active is None or cell.vmag is None:
            V, act, vmag = cell_vertices(cell.A, cell.c, cell.point)
            cell = Cell(cell.A, cell.c, cell.point, cell.radius, cell.wit_points, cell.wit_radii,
                        cell.box, V, act, vmag)
        return _split(cell, Hn, gn, signs, todo, rule, t_end)
    except _Fallback:
        return None


def _split(cell, Hn, gn, signs, todo, rule, t_end):
    """Depth-first: a sub-cell evaluates every hyperplane still undecided for it at once (one
    matrix product), takes the signs of those that do not cut it, and is clipped by the first
    that does; its two children continue with the rest."""
    out = []
    stack = [(cell, signs, todo)]
    while stack:
        if out and time.perf_counter() > t_end:
            break
        S, s, rest = stack.pop()
        Hr, gr = Hn[rest], gn[rest]
        vals = S.vertices @ Hr.T + gr
        lo, hi = vals.min(axis=0), vals.max(axis=0)
        # error bound of the values: gamma * (vmag |h| + |g|) (vmag: the magnitudes of the numbers
        # a vertex came from, coordinate by coordinate), here their largest over the cell
        habs = np.abs(Hr)
        g1 = np.abs(gr)
        gam = gamma(len(S.point) + 1)
        err = gam * (habs @ S.vmag.max(axis=0) + g1)  # at least every vertex's own bound
        some_neg, some_pos = lo < -err, hi > err  # a vertex clearly on that side, for certain
        # a vertex within the cell's bound may still clear its own (a vertex of small magnitudes)
        check = np.flatnonzero(((lo < 0) & ~some_neg) | ((hi > 0) & ~some_pos))
        if len(check):
            E = gam * (S.vmag @ habs[check].T + g1[check])
            some_neg[check] |= np.any(vals[:, check] < -E, axis=0)
            some_pos[check] |= np.any(vals[:, check] > E, axis=0)
        pos = some_pos & ~some_neg
        neg = ~some_pos  # (and some_neg, or within rounding everywhere)
        both = ~some_pos & ~some_neg  # within rounding of the whole cell: its sign at the point
        if both.any():
            pos = np.where(both, S.point @ Hr.T + gr > 0, pos)
        s = s.copy()
        s[rest[pos]] = True
        s[rest[~pos & neg]] = False
        cut = np.flatnonzero(some_pos & some_neg)
        if len(cut) == 0:
            out.append(Child(s, S))
            continue
        i, rest = rest[cut[0]], rest[cut[1:]]
        j = cut[0]
        plus, minus = _clip(S, Hn[i], gn[i], vals[:, j], gam * (S.vmag @ habs[j] + g1[j]), rule)
        if plus is None and minus is None:  # S itself is about as thin as tol: keep it whole
            plus = S
        for child, sign in ((minus, False), (plus, True)):
            if child is not None:
                s2 = s.copy()
                s2[i] = sign
                stack.append((child, s2, rest))
    return out, stack
