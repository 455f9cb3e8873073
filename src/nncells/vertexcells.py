"""Vertex mode of the hot loop for bounded cells in low dimension.

Each cell carries its vertices (from qhull's half-space intersection). The range of a
hyperplane over a cell is its range over the vertices, so "does ``h`` cut the cell?" is
decided exactly without an LP; a cut computes the two children's vertices. A side that is
deeper than ``tol`` but whose inscribed ball around the vertex centroid is thinner than
``SLIVER_CHECK * tol`` is settled by a Chebyshev LP, so slivers follow the same rule as in
LP mode (inscribed radius <= tol: not a region).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial import HalfspaceIntersection, QhullError

from .cells import Cell, Child
from .lp import chebyshev_center_normalized

SLIVER_CHECK = 100.0


class _Fallback(Exception):
    """qhull could not handle a cell: the caller redoes the cell in LP mode."""


def cell_vertices(A, c, point) -> np.ndarray:
    """Vertices of the bounded polytope ``A x <= c`` with ``point`` strictly inside."""
    try:
        hs = HalfspaceIntersection(np.hstack([A, -c[:, None]]), point)
    except (QhullError, ValueError) as e:
        raise _Fallback(str(e)) from None
    V = hs.intersections
    if not np.all(np.isfinite(V)) or len(V) <= A.shape[1]:
        raise _Fallback("degenerate vertex set")
    return V


def _child(A, c, V, tol, cap):
    """A cell from its half-spaces and vertices, or None for a sliver."""
    point = V.mean(axis=0)
    radius = float(np.min(c - A @ point))
    if radius <= SLIVER_CHECK * tol:
        x, r = chebyshev_center_normalized(A, c, cap)
        if x is None or r <= tol:
            return None
        if r > radius:
            point, radius = x, r
    return Cell(A, c, point, radius, np.zeros((0, A.shape[1])), np.zeros(0), None, V)


def _side(S, h, g, vals, side, tol, cap):
    """The part of sub-cell ``S`` where ``side * (h x + g) >= 0``, or None if it is a sliver."""
    A = np.vstack([S.A, -side * h])
    c = np.append(S.c, side * g)
    sv = side * vals
    # Interior point: on the segment from the centroid to the deepest vertex, half as deep as it.
    p = S.point
    v = S.vertices[np.argmax(sv)]
    hp, hv = side * (h @ p + g), sv.max()
    t = 0.0 if hp >= hv / 2 else (hv / 2 - hp) / (hv - hp)
    q = p + t * (v - p)
    return _child(A, c, cell_vertices(A, c, q), tol, cap)


def split_by_vertices(cell: Cell, Hn, gn, signs, todo, tol, cap):
    """Children of ``cell`` cut by the unit-normal hyperplanes ``Hn x + gn`` (indices ``todo``
    undecided), or None when qhull fails and the caller must use LP mode."""
    try:
        if cell.vertices is None:
            cell = Cell(cell.A, cell.c, cell.point, cell.radius, cell.wit_points, cell.wit_radii,
                        cell.box, cell_vertices(cell.A, cell.c, cell.point))
        return _split(cell, Hn, gn, signs, todo, tol, cap)
    except _Fallback:
        return None


def _split(cell, Hn, gn, signs, todo, tol, cap):
    k = len(gn)
    vals = cell.vertices @ Hn[todo].T + gn[todo]
    pos = vals.min(axis=0) >= -tol
    neg = vals.max(axis=0) <= tol
    signs = signs.copy()
    signs[todo[pos]] = True
    cutting = todo[~pos & ~neg]
    subs = [(signs, cell)]
    for i in cutting:
        nxt = []
        for s, S in subs:
            v = S.vertices @ Hn[i] + gn[i]
            if v.min() >= -tol or v.max() <= tol:
                s = s.copy()
                s[i] = v.min() >= -tol
                nxt.append((s, S))
                continue
            plus, minus = _side(S, Hn[i], gn[i], v, 1.0, tol, cap), _side(S, Hn[i], gn[i], v, -1.0, tol, cap)
            if plus is None and minus is None:  # S itself is about as thin as tol: keep it whole
                plus = S
            for child, sign in ((plus, True), (minus, False)):
                if child is not None:
                    s2 = s.copy()
                    s2[i] = sign
                    nxt.append((s2, child))
        subs = nxt
    box = cell.box
    out = []
    for s, S in subs:
        S.box = (S.vertices.min(axis=0), S.vertices.max(axis=0)) if box is not None else None
        out.append(Child(s, S))
    assert all(len(ch.signs) == k for ch in out)
    return out
