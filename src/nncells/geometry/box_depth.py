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

from nncells import _config
from nncells.geometry import box_lp
from nncells.geometry.box_lp import farkas_bound
from nncells.geometry.contract import certified_depth
from nncells.geometry.norms import power_of_two

_GRID = np.linspace(0.0, 1.0, 33)
_fallbacks = 0


def fallback_count() -> int:
    """How many decisions of this process the shrunk LP left to the exact one (`BoxDepth`)."""
    return _fallbacks


def note_fallback() -> None:
    """Count one decision left to the exact LP."""
    global _fallbacks
    _fallbacks += 1


def box_reach(lo, hi) -> float:
    """The largest coordinate of the box ``[lo, hi]`` in absolute value.

    Examples
    --------
    >>> box_reach(np.array([-3.0, 0.0]), np.array([1.0, 2.0]))
    3.0
    """
    return float(np.max(np.maximum(np.abs(lo), np.abs(hi)), initial=0.0))


def point_at_depth(A, c, bounds, depth):
    """A point of ``{A x <= c}`` (unit rows) in the box ``bounds`` at least ``depth`` from every
    face, with its certified depth, or ``(None, -inf)`` when one shrunk-box LP does not find one.

    Examples
    --------
    >>> x, r = point_at_depth(np.array([[1.0, 0.0]]), np.array([0.5]), (np.zeros(2), np.ones(2)), 0.1)
    >>> bool(x[0] <= 0.4 and r >= 0.1 - 1e-12)
    True
    >>> point_at_depth(np.array([[1.0, 0.0]]), np.array([0.05]), (np.zeros(2), np.ones(2)), 0.1)[0] is None
    True
    """
    lo, hi = (np.asarray(b, dtype=np.float64) for b in bounds)
    unit = power_of_two(box_reach(lo, hi))
    if not np.all(lo + depth <= hi - depth):
        return None, -np.inf
    status, y, z, _, _ = box_lp.solve_shrunk(A, c / unit, (lo + depth) / unit, (hi - depth) / unit, 1.0)
    if status != "optimal" or not z * unit > depth:
        return None, -np.inf
    x = np.clip(y * unit, lo, hi)
    r = certified_depth(A, c, x, (lo, hi))
    return (x, r) if r > 0 else (None, -np.inf)


class BoxDepth:
    """The shrunk-box LPs of the sub-cells of one cell: rows ``A x <= c`` always, the extra rows
    ``E x <= f`` given per question (as `depth_lps.CellDepth`), the box ``bounds`` as bounds,
    solved by `box_lp.solve_shrunk` (the compiled core's dual simplex, warm-started from the
    basis of the same sub-cell's last LP), in units of the box's reach. ``decide(on)`` gives
    ``("yes", x, depth)``, ``("no", None, -inf)`` (with ``support``: the extra rows its
    certificate needs) or ``("unsure", None, -inf)``. Every solve counts in `solvers.lp_count` (`box_lp.solve_shrunk`)."""

    def __init__(self, A, c, E, f, bounds, tol, deep=None):
        self.A, self.c, self.E, self.f = A, c, E, f
        self.lo, self.hi = (np.asarray(b, dtype=np.float64) for b in bounds)
        self.tol = tol
        self.deep = deep  # a point deep in the cell (its witness): answers are moved toward it
        self.support = None
        reach = box_reach(self.lo, self.hi)
        self.rho = 2 * tol * reach
        # the LP in units of the box's reach (a power of two: exact), so that its tolerances act relatively
        self.unit = power_of_two(reach)
        self._lo, self._hi = (self.lo + self.rho) / self.unit, (self.hi - self.rho) / self.unit
        self.ok = bool(np.all(self._lo <= self._hi)) and len(E) + len(A) > 0
        self._bases = {}    # extra rows of an LP solved (a tuple) -> its final basis
        self._sibling = {}  # all but the last of them -> the last such basis whose last slack is basic

    def _warm(self, on):
        """A starting basis for the LP with the extra rows ``on``: that of the LP with all but the
        last of them (one more slack basic), or of one with another last row whose slack ended
        basic; None (a cold start) when neither was solved."""
        head = tuple(on[:-1])
        if head in self._bases:
            return box_lp.extend_basis(self._bases[head])
        return self._sibling.get(head)

    def decide(self, on, anchors=None):
        """The verdict on the sub-cell with the extra rows ``on`` (indices); a point found is
        moved toward the deepest of ``anchors`` (points known inside the sub-cell, deepest
        first; default: the cell's deep point) as far as that makes it deeper (`_deepen`)."""
        self.support = None
        if not self.ok:
            return "unsure", None, -np.inf
        on = [int(i) for i in on]
        A = np.vstack([self.A, self.E[on]])
        c = np.concatenate([self.c, self.f[on]])
        # A "no" needs only a dual bound below 0: the solver may stop there. Where that bound's
        # certificate does not verify, the LP runs on from where it stopped to its optimum.
        cu = c / self.unit
        status, y, z, dual, basis = box_lp.solve_shrunk(A, cu, self._lo, self._hi, 1.0, self._warm(on),
                                                        cutoff=-_config.LP_FEASIBILITY_TOL)
        if status == "cutoff":
            if self._refuted(A, c, dual, on):
                self._keep(on, basis)
                return "no", None, -np.inf
            status, y, z, dual, basis = box_lp.solve_shrunk(A, cu, self._lo, self._hi, 1.0, basis)
        self._keep(on, basis)
        if status != "optimal":
            return "unsure", None, -np.inf
        x = np.clip(y * self.unit, self.lo, self.hi)
        r = certified_depth(A, c, x, (self.lo, self.hi))
        if r > self.tol * float(np.max(np.abs(x), initial=0.0)):
            for p in (anchors if anchors is not None and len(anchors) else [self.deep])[:4]:
                x, r = self._deepen(A, c, x, r, p)
            return "yes", x, r
        if self._refuted(A, c, dual, on):
            return "no", None, -np.inf
        return "unsure", None, -np.inf

    def _refuted(self, A, c, dual, on):
        """Whether the row duals ``dual`` verify as a Farkas certificate (`farkas_bound`); then
        ``support`` holds the extra rows of ``on`` it needs."""
        value, err = farkas_bound(A, c, self.lo, self.hi, dual)
        if not value + err <= 0:
            return False
        self.support = np.asarray(on, dtype=np.int64)[dual[len(self.c):] != 0]
        return True

    def _keep(self, on, basis):
        """Keep the final ``basis`` of the LP with the extra rows ``on``: a warm start for later ones."""
        if basis is not None:
            self._bases[tuple(on)] = basis
            if basis[-1] == box_lp.BASIC:  # a start for the same sub-cell with another last row
                self._sibling[tuple(on[:-1])] = basis

    def _deepen(self, A, c, x, r, p):
        """``(x, r)`` or a deeper point of the segment from ``x`` to ``p`` (the LP's answer sits
        ``rho`` from most of the box's faces: a poor witness)."""
        if p is None:
            return x, r
        sx = np.concatenate([c - A @ x, x - self.lo, self.hi - x])
        slope = np.concatenate([c - A @ p, p - self.lo, self.hi - p]) - sx
        # the largest min_i (sx_i + t slope_i) over t in [0, 1] (a concave function): the best of
        # a grid, then of a finer grid around it (to 1/1024 of the segment)
        lo_t, width = 0.0, 1.0
        for _ in range(2):
            ts = lo_t + width * _GRID
            best = int(np.argmax(np.min(sx[None, :] + ts[:, None] * slope[None, :], axis=1)))
            lo_t, width = max(float(ts[best]) - width / 32, 0.0), width / 16
        t = float(ts[best])
        z = x + t * (p - x)
        rz = certified_depth(A, c, z, (self.lo, self.hi))
        if rz > r and rz > self.tol * float(np.max(np.abs(z), initial=0.0)):
            return z, rz
        return x, r
