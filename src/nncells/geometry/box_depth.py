"""Depth decisions for the sub-cells of one cell of a box domain, with the box as bounds: the LP
of LP mode in high dimension (784 inputs: the box is ``1,568`` faces, the neurons' rows a few dozen).

The question of `contract.deepest_point` — does ``{A x <= c}`` within the box ``[lo, hi]`` hold
a point deeper than ``tol ||x||_inf`` — is first asked of a small LP, the cell *shrunk*
(DESIGN.md: the threshold as a shrink): with ``rho = 2 tol max(|lo|, |hi|)``,

    maximise z  subject to  A x + z <= c  (the rows, few),  lo + rho <= x <= hi - rho  (bounds),

``m`` general rows and ``d + 1`` bounded variables instead of ``m + 4 d`` rows. Its answers are
not trusted; each is verified in float64:

- **yes**: a point whose certified depth (`contract.certified_depth`, the box's faces included)
  exceeds ``tol ||x||_inf`` (it does whenever ``z > rho`` by more than rounding: the box's faces
  are ``rho >= 2 tol ||x||_inf`` away). It is then moved toward a known deep point of the cell
  (`_deepen`) so that it is a useful witness for later splits.
- **no**: the LP's row duals ``y >= 0`` (normalised to sum 1) bound every point of the *unshrunk*
  box: ``min_i (c_i - A_i x) <= U(y) = y c - sum_j min((y A)_j lo_j, (y A)_j hi_j)`` (weak
  duality; `farkas_bound`, with a rigorous error bound). ``U(y) <= 0``: no point of the box has a
  positive margin, so none counts, whatever the threshold; rows with ``y_i != 0`` are a
  certificate for every sub-cell that has them.
- **unsure** otherwise (a side thinner than about ``rho``, or an answer float64 cannot check):
  the caller asks the exact LP (`contract.deepest_point` with the box as bounds) and counts a
  *fallback* (`fallback_count`).

Examples
--------
The square ``[0, 1]^2`` cut by ``x1 <= 0.5`` and by ``x1 >= 2``:

>>> import numpy as np
>>> cell = BoxDepth(np.zeros((0, 2)), np.zeros(0), np.array([[1.0, 0.0], [-1.0, 0.0]]),
...                 np.array([0.5, -2.0]), (np.zeros(2), np.ones(2)), 1e-9)
>>> verdict, x, r = cell.decide([0])
>>> verdict, bool(x[0] < 0.5 and r > 0)
('yes', True)
>>> cell.decide([1])[0], cell.support.tolist()
('no', [1])
"""
from __future__ import annotations

import numpy as np

import highspy

from nncells.geometry import solvers
from nncells.geometry.contract import certified_depth, gamma

_INF = highspy.kHighsInf
_fallbacks = 0


def fallback_count() -> int:
    """How many decisions of this process the shrunk LP left to the exact one (`BoxDepth`)."""
    return _fallbacks


def note_fallback() -> None:
    """Count one decision left to the exact LP."""
    global _fallbacks
    _fallbacks += 1


def farkas_bound(A, c, lo, hi, y) -> float:
    """An upper bound, rigorous in float64, of ``max_{x in [lo, hi]} min_i (c_i - A_i x)`` from
    multipliers ``y >= 0`` with a positive sum (normalised here); ``<= 0`` proves that no point
    of the box is strictly inside every row.

    Examples
    --------
    >>> A, c = np.array([[1.0], [-1.0]]), np.array([0.2, -0.7])     # x <= 0.2 and x >= 0.7
    >>> farkas_bound(A, c, np.zeros(1), np.ones(1), np.array([1.0, 1.0])) < 0
    True
    """
    y = np.maximum(np.asarray(y, dtype=np.float64), 0.0)
    total = y.sum()
    if not total > 0 or not np.isfinite(total):
        return np.inf
    y = y / total
    g = y @ A
    lin = np.minimum(g * lo, g * hi)
    value = float(y @ c - lin.sum())
    # the error of y / total, y A, y c, the products with the bounds and the sums (d + m + 3 terms)
    big = np.maximum(np.abs(lo), np.abs(hi))
    err = gamma(len(c) + len(lo) + 4) * 2 * (float(y @ np.abs(c)) + float((y @ np.abs(A)) @ big))
    return value + err


class BoxDepth:
    """The shrunk-box LPs of the sub-cells of one cell: rows ``A x <= c`` always, the extra rows
    ``E x <= f`` switched on per question (as `depth_lps.CellDepth`), the box ``bounds`` as bounds;
    one warm-started HiGHS model. ``decide(on)`` gives ``("yes", x, depth)``, ``("no", None,
    -inf)`` (with ``support``: the extra rows its certificate needs) or ``("unsure", None, -inf)``.
    Every solve counts in `solvers.lp_count`."""

    def __init__(self, A, c, E, f, bounds, tol, deep=None):
        self.A, self.c, self.E, self.f = A, c, E, f
        self.lo, self.hi = (np.asarray(b, dtype=np.float64) for b in bounds)
        self.tol = tol
        self.deep = deep  # a point deep in the cell (its witness): answers are moved toward it
        self.support = None
        d = A.shape[1]
        reach = float(np.max(np.maximum(np.abs(self.lo), np.abs(self.hi)), initial=0.0))
        self.rho = 2 * tol * reach
        # the LP in units of the box's reach: HiGHS's absolute tolerances act relatively
        self.unit = float(2.0 ** np.round(np.log2(reach))) if reach > 0 else 1.0
        lo, hi = self.lo + self.rho, self.hi - self.rho
        self.ok = bool(np.all(lo <= hi)) and len(E) + len(A) > 0
        m, k = len(A), len(E)
        self._on = np.zeros(k, dtype=bool)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = d + 1, m + k
        cost = np.zeros(d + 1)
        cost[d] = -1.0
        lp.col_cost_ = cost
        lp.col_lower_ = np.r_[lo / self.unit, -_INF]
        lp.col_upper_ = np.r_[hi / self.unit, 1.0]   # z <= the box's reach: bounded
        lp.row_lower_ = np.full(m + k, -_INF)
        self._upper = np.r_[c / self.unit, np.full(k, _INF)]
        rows = np.empty((m + k, d + 1))
        rows[:m, :d], rows[m:, :d], rows[:, d] = A, E, 1.0
        from scipy import sparse
        solvers.set_matrix(lp, sparse.csr_matrix(rows))
        self._lp = lp

    def _solve(self, want):
        solvers.count_solves()
        h, held = solvers.cell_highs(self)
        if not held:
            upper = self._upper.copy()
            upper[len(self.c):][want] = self.f[want] / self.unit
            self._lp.row_upper_ = upper
            h.clearModel()
            h.passModel(self._lp)
        else:
            diff = np.flatnonzero(want != self._on)
            if len(diff):
                h.changeRowsBounds(len(diff), (len(self.c) + diff).astype(np.int32), np.full(len(diff), -_INF),
                                   np.where(want[diff], self.f[diff] / self.unit, _INF))
        self._on = want
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            solvers.count_solves()
            h.clearSolver()
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return None, None
        sol = h.getSolution()
        return np.asarray(sol.col_value), np.asarray(sol.row_dual)

    def decide(self, on, anchors=None):
        """The verdict on the sub-cell with the extra rows ``on`` (indices); a point found is
        moved toward the deepest of ``anchors`` (points known inside the sub-cell, deepest
        first; default: the cell's deep point) as far as that makes it deeper (`_deepen`)."""
        self.support = None
        if not self.ok:
            return "unsure", None, -np.inf
        want = np.zeros(len(self.f), dtype=bool)
        want[np.asarray(on, dtype=np.int64)] = True
        y, dual = self._solve(want)
        if y is None:
            return "unsure", None, -np.inf
        d = len(self.lo)
        A = np.vstack([self.A, self.E[want]])
        c = np.concatenate([self.c, self.f[want]])
        x = np.clip(y[:d] * self.unit, self.lo, self.hi)
        r = certified_depth(A, c, x, (self.lo, self.hi))
        if r > self.tol * float(np.max(np.abs(x), initial=0.0)):
            for p in (anchors if anchors is not None and len(anchors) else [self.deep])[:4]:
                x, r = self._deepen(A, c, x, r, p)
            return "yes", x, r
        mult = np.abs(np.concatenate([dual[:len(self.c)], dual[len(self.c):][want]]))
        if farkas_bound(A, c, self.lo, self.hi, mult) <= 0:
            extra = np.flatnonzero(want)
            self.support = extra[mult[len(self.c):] != 0]
            return "no", None, -np.inf
        return "unsure", None, -np.inf

    def _deepen(self, A, c, x, r, p):
        """``(x, r)`` or a deeper point of the segment from ``x`` to ``p`` (the LP's answer sits
        ``rho`` from most of the box's faces: a poor witness)."""
        if p is None:
            return x, r
        sx = np.concatenate([c - A @ x, x - self.lo, self.hi - x])
        slope = np.concatenate([c - A @ p, p - self.lo, self.hi - p]) - sx
        # the largest min_i (sx_i + t slope_i) over t in [0, 1]: a concave function; bisect on
        # the slope of its smallest line
        lo_t, hi_t = 0.0, 1.0
        for _ in range(40):
            t = 0.5 * (lo_t + hi_t)
            if slope[np.argmin(sx + t * slope)] > 0:
                lo_t = t
            else:
                hi_t = t
        z = x + lo_t * (p - x)
        rz = certified_depth(A, c, z, (self.lo, self.hi))
        if rz > r and rz > self.tol * float(np.max(np.abs(z), initial=0.0)):
            return z, rz
        return x, r
