"""Cells of a hyperplane arrangement inside one convex cell: the hot loop.

A cell ``P = {x : A x <= c}`` (rows of unit norm) with a known interior ball is cut by
hyperplanes ``h_i(x) = H_i x + g_i``. The full-dimensional cells of the arrangement inside
``P`` are built hyperplane by hyperplane; each (sub-cell, hyperplane) pair is decided, in order
of cost, by
1. a zero normal (the neuron is constant on ``P``);
2. interval bounds of ``h_i`` over a bounding box of ``P``;
3. *witness balls*: balls known to lie inside the sub-cell; one on each side proves a cut;
4. one LP for the side no witness covers (`contract.Rule.deepest`); its point becomes a witness.
A side counts iff it holds a point deeper than ``tol`` times its own coordinates (the contract of
`nncells.geometry.contract`); otherwise it is a sliver.

In low dimension (``2 <= d <= _config.VERTEX_MAX_DIM``, 6: measured faster than LPs up to there) on bounded cells,
steps 2-4 are replaced by the
*vertex mode* of `vertexcells`: a hyperplane's range over a cell is its range over the cell's
vertices, so every pair is decided exactly without an LP.
"""
from __future__ import annotations

import numpy as np

from nncells import _config
from nncells.engine.cells import Cell, Child
from nncells.engine.vertex import split_by_vertices
from nncells.geometry.contract import Rule, gamma



def _interval(Hn, gn, box):
    lo, hi = box
    a = Hn * lo
    b = Hn * hi
    return gn + np.minimum(a, b).sum(axis=1), gn + np.maximum(a, b).sum(axis=1)


def split_cell(cell: Cell, H: np.ndarray, g: np.ndarray, rule: Rule, zero: np.ndarray | None = None,
               partial=None, t_end: float = float("inf")):
    """The full-dimensional cells of the arrangement ``{H x + g = 0}`` inside ``cell``.

    Returns ``(children, leftovers)``. In vertex mode the split stops at time ``t_end``
    (``time.perf_counter()``) and ``leftovers`` lists ``(sub_cell, signs, rest)``: sub-cells whose
    hyperplanes ``rest`` are still undecided (the others have ``signs``); passing
    ``partial=(signs, rest)`` with such a sub-cell as ``cell`` continues the split.

    Parameters
    ----------
    cell : the cell to cut (rows of ``cell.A`` of unit norm).
    H, g : (k, d) and (k,) hyperplanes.
    rule : the contract (`nncells.contract.Rule`): which sides count.
    zero : (k,) bool, rows whose normal is zero within the error bound of the product that
        computed it (default: exactly zero rows): the neuron is constant on the cell.
    """
    k, d = H.shape
    norms = np.linalg.norm(H, axis=1)
    zero = (norms == 0) if zero is None else (zero | (norms == 0))
    safe = np.where(zero, 1.0, norms)
    Hn = H / safe[:, None]
    gn = g / safe
    if partial is None:
        signs = np.zeros(k, dtype=bool)
        decided = zero.copy()
        # A neuron constant on the cell: active iff its (constant) pre-activation is > 0.
        signs[zero] = g[zero] > 0
    else:
        signs = partial[0].copy()
        decided = np.ones(k, dtype=bool)
        decided[partial[1]] = False
    if cell.box is not None and 2 <= d <= _config.VERTEX_MAX_DIM:
        result = split_by_vertices(cell, Hn, gn, signs, np.flatnonzero(~decided), rule, t_end)
        if result is not None:
            return result
    if cell.box is not None:
        vmin, vmax = _interval(Hn, gn, cell.box)
        big = np.maximum(np.abs(cell.box[0]), np.abs(cell.box[1]))
        err = gamma(d + 1) * (np.abs(Hn) @ big + np.abs(gn))
        pos = ~decided & (vmin >= err)
        neg = ~decided & ~pos & (vmax <= -err)
        signs[pos] = True
        decided |= pos | neg
    todo = np.flatnonzero(~decided)

    # Sub-cells: sign rows, cut masks (which hyperplanes bound the sub-cell), witnesses with owners.
    sub_signs = [signs.copy()]
    sub_cuts = [np.zeros(k, dtype=bool)]
    wp = np.vstack([cell.point[None, :], cell.wit_points]) if len(cell.wit_points) else cell.point[None, :]
    wr = np.concatenate([[cell.radius], cell.wit_radii]) if len(cell.wit_radii) else np.array([cell.radius])
    owner = np.zeros(len(wp), dtype=np.int64)
    scale = rule.scale_of(cell.point, cell.radius)  # the units of this cell's LPs

    for i in todo:
        vals = wp @ Hn[i] + gn[i]
        verr = _value_error(wp, wr, Hn[i], gn[i])
        n_sub = len(sub_signs)
        # A witness ball of radius r whose centre is at signed distance v from h holds, on the
        # positive side, a ball of radius min(r, (r + v) / 2) (the cap of depth r + v), and
        # min(r, (r - v) / 2) on the negative side: one ball that straddles h proves a cut.
        pos_r = _caps(wp, wr, vals, 0.0, Hn[i], True)[1]
        neg_r = _caps(wp, wr, vals, 0.0, Hn[i], False)[1]
        best_pos = np.full(n_sub, -np.inf)
        best_neg = np.full(n_sub, -np.inf)
        np.maximum.at(best_pos, owner, pos_r)
        np.maximum.at(best_neg, owner, neg_r)
        wit_pos = np.zeros(n_sub, dtype=bool)
        wit_neg = np.zeros(n_sub, dtype=bool)
        np.logical_or.at(wit_pos, owner, _witnessed(rule, wp, wr, vals, verr, Hn[i], True))
        np.logical_or.at(wit_neg, owner, _witnessed(rule, wp, wr, vals, verr, Hn[i], False))
        new_pts, new_rad, new_own = [], [], []
        split_of = np.full(n_sub, -1, dtype=np.int64)
        for j in range(n_sub):
            has_pos, has_neg = bool(wit_pos[j]), bool(wit_neg[j])
            if not (has_pos and has_neg):
                # One LP for each side no witness covers.
                A_s, c_s = _rows(cell, Hn, gn, sub_signs[j], sub_cuts[j])
                for side in ((True,) if not has_pos else ()) + ((False,) if not has_neg else ()):
                    row = -Hn[i] if side else Hn[i]
                    rhs = gn[i] if side else -gn[i]
                    x, r = rule.deepest(np.vstack([A_s, row]), np.append(c_s, rhs), scale)
                    if x is not None:
                        new_pts.append(x)
                        new_rad.append(r)
                        new_own.append(j)
                        if side:
                            has_pos = True
                        else:
                            has_neg = True
            if has_pos and has_neg:
                # Split: j keeps the positive side, a new sub-cell takes the negative side.
                s = sub_signs[j].copy()
                s[i] = False
                cmask = sub_cuts[j].copy()
                cmask[i] = True
                sub_signs[j][i] = True
                sub_cuts[j][i] = True
                split_of[j] = len(sub_signs)
                sub_signs.append(s)
                sub_cuts.append(cmask)
            elif has_neg:
                sub_signs[j][i] = False
            elif has_pos:
                sub_signs[j][i] = True
            else:  # both sides thinner than tol: the sub-cell itself is a sliver; keep its best witness's side
                sub_signs[j][i] = best_pos[j] >= best_neg[j]
        if new_pts:
            wp = np.vstack([wp, np.asarray(new_pts)])
            wr = np.concatenate([wr, new_rad])
            owner = np.concatenate([owner, new_own])
            vals = wp @ Hn[i] + gn[i]
            verr = _value_error(wp, wr, Hn[i], gn[i])
        # A witness of a split sub-cell becomes the largest ball inside it on each side of h
        # (less the error bound of the value it was computed from).
        if len(sub_signs) > n_sub:
            moved = split_of[owner] >= 0
            stay = ~moved
            p_up, up = _caps(wp[moved], wr[moved], vals[moved], verr[moved], Hn[i], True)
            p_down, down = _caps(wp[moved], wr[moved], vals[moved], verr[moved], Hn[i], False)
            wp = np.vstack([wp[stay], p_up, p_down])
            wr = np.concatenate([wr[stay], up, down])
            owner = np.concatenate([owner[stay], owner[moved], split_of[owner[moved]]])
        keep = wr > 0
        wp, wr, owner = wp[keep], wr[keep], owner[keep]

    children = []
    for j, (s, cmask) in enumerate(zip(sub_signs, sub_cuts)):
        mine = owner == j
        pts, rad = wp[mine], wr[mine]
        if len(rad) == 0:  # cannot happen for a full-dimensional sub-cell; guard anyway
            continue
        best = int(np.argmax(rad))
        A_s, c_s = _rows(cell, Hn, gn, s, cmask)
        children.append(Child(s, Cell(A_s, c_s, pts[best], float(rad[best]), pts, rad, cell.box)))
    return children, []


def _value_error(P, R, n, g):
    """Bound of the error of ``P @ n + g`` and of the caps computed from it (`_witnessed`)."""
    return gamma(len(n) + 1) * (np.abs(P) @ np.abs(n) + abs(g) + R)


def _caps(P, R, vals, verr, n, positive):
    """The ball each ball ``(P, R)`` leaves on one side of the unit-normal hyperplane ``n x + g``
    (values ``vals`` at the centres, within ``verr``): radius ``min(r, (r +- v) / 2)`` less the
    error bound, centre moved ``max(0, (r -+ v) / 2)`` along the normal. Returns (centres, radii)."""
    v = vals if positive else -vals
    shift = np.maximum(0.0, (R - v) / 2)
    return P + (shift if positive else -shift)[:, None] * n, np.minimum(R, (R + v) / 2 - verr)


def _witnessed(rule, P, R, vals, verr, n, positive) -> np.ndarray:
    """For each ball ``(P, R)``, whether its cap on one side of ``n x + g`` (`_caps`) proves that
    that side counts."""
    centres, rad = _caps(P, R, vals, verr, n, positive)
    ok = rad > 0
    out = np.zeros(len(R), dtype=bool)
    if ok.any():
        out[ok] = rule.witnesses(centres[ok], rad[ok])
    return out


def _rows(cell, Hn, gn, signs, cuts):
    """Half-spaces of a sub-cell: the cell's own plus the hyperplanes that cut it, oriented."""
    if not cuts.any():
        return cell.A, cell.c
    idx = np.flatnonzero(cuts)
    sgn = np.where(signs[idx], -1.0, 1.0)
    return np.vstack([cell.A, Hn[idx] * sgn[:, None]]), np.concatenate([cell.c, -gn[idx] * sgn])

