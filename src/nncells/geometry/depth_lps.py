"""The depth LPs of the engine's LP mode: ``max depth(x) - tol ||x||_inf`` over a polyhedron
(`relative_depth`), and over many sub-cells of one cell in one warm-started HiGHS model
(`CellDepth`). A cell of a box domain keeps the box as bounds: here its faces become sparse rows
of three entries (`_depth_rows`), never ``2 d`` dense rows in every cell.

Every solve counts in `solvers.lp_count`.
"""
from __future__ import annotations

import numpy as np

import highspy

from nncells import _config
from nncells.geometry import solvers

_INF = highspy.kHighsInf
_MIN_TOL_ENTRY = 2.0 ** -30  # the threshold column's entries are scaled up to at least this
_MAX_UNITS = 2.0 ** 60    # largest |offset| of a depth LP's rows, in its units (HiGHS's infinity is 1e20)
_EPS = float(np.finfo(np.float64).eps)


def _depth_rows(A, E, tol, boxed=False):
    """The constraint matrix (``scipy.sparse`` CSR) of the depth LPs over ``{A x <= c}`` and the
    extra rows ``E``, in a box when ``boxed``.

    Variables ``(y, v, z)``; rows ``A y + (tol / k) v + z <= c / scale``, then, when ``boxed``,
    the box's faces ``+-y_j + (tol / k) v + z <= (hi_j or -lo_j) / scale`` (three entries each: a
    box is ``2 d`` sparse rows, not ``2 d`` dense ones in every cell), then ``+-y_j - v / k <= 0``
    (``v = k ||y||_inf``), then the extra rows like the first. ``k = min(1, tol / 2^-30)`` keeps the
    threshold column's entries above HiGHS's smallest (``_SMALL_ENTRY``) for any ``tol``.
    """
    from scipy import sparse
    d = A.shape[1]
    k = min(1.0, tol / _MIN_TOL_ENTRY)
    j = np.arange(d)
    blocks = [_dense_block(A, tol / k)]
    if boxed:
        blocks += [_axis_block(j, 1.0, tol / k, 1.0), _axis_block(j, -1.0, tol / k, 1.0)]
    blocks += [_axis_block(j, 1.0, -1.0 / k, 0.0), _axis_block(j, -1.0, -1.0 / k, 0.0)]
    blocks.append(_dense_block(E, tol / k))
    return sparse.vstack(blocks, format="csr")


def _dense_block(A, t):
    """Rows ``A y + t v + z`` (zeros of ``A`` left out)."""
    from scipy import sparse
    m, d = A.shape
    aug = np.empty((m, d + 2))
    aug[:, :d] = A
    aug[:, d] = t
    aug[:, d + 1] = 1.0
    return sparse.csr_matrix(aug)


def _axis_block(j, sign, t, z):
    """Rows ``sign y_j + t v + z z`` for each ``j`` (``z`` left out when 0)."""
    from scipy import sparse
    d = len(j)
    cols = [j, np.full(d, d)] + ([np.full(d, d + 1)] if z else [])
    vals = [np.full(d, sign), np.full(d, t)] + ([np.full(d, z)] if z else [])
    rows = np.tile(j, len(cols))
    return sparse.csr_matrix((np.concatenate(vals), (rows, np.concatenate(cols))), shape=(d, d + 2))


def _max_units() -> float:
    """The largest offset a depth LP's row keeps in the LP's units when it is not needed to bound
    the polyhedron's near side (`_offsets`): the power of two at or below
    ``LP_FEASIBILITY_TOL / (4 eps)`` (``2^20`` for ``1e-9``).

    float64 holds a row's slack only to ``eps`` times its offset, and HiGHS decides feasibility
    and optimality with absolute tolerances: a row farther out blurs every point's slack beyond
    them. A cell near the origin of a box ``1e9`` wide held the box's faces ``1e9`` of its units
    away, and HiGHS found sides of size 1 near the origin empty (issue 21).

    Examples
    --------
    >>> _max_units() == 2.0 ** 20
    True
    """
    return float(2.0 ** np.floor(np.log2(_config.LP_FEASIBILITY_TOL / (4 * _EPS))))


def _units(scale, c):
    """The units of a depth LP over rows with offsets ``c``: ``scale``, or larger where a row's
    negative offset (a polyhedron far from the origin) would reach HiGHS's infinity, 1e20: at
    most ``_MAX_UNITS`` in the LP's units."""
    return max(float(scale), float(np.max(-np.asarray(c), initial=0.0)) / _MAX_UNITS)


def with_box(c, bounds):
    """The offsets of the rows ``c`` and, when given, of the box ``bounds``'s faces (in
    `_depth_rows`'s order: ``x_j <= hi_j``, then ``-x_j <= -lo_j``): every face a depth LP's
    units are chosen from.

    Examples
    --------
    >>> with_box(np.array([1.0]), (np.array([-2.0]), np.array([3.0]))).tolist()
    [1.0, 3.0, 2.0]
    """
    c = np.asarray(c, dtype=np.float64)
    return c if bounds is None else np.concatenate([c, bounds[1], -np.asarray(bounds[0], dtype=np.float64)])


def _offsets(c, scale, reach=None):
    """The offsets ``c`` in units of ``scale``; a row beyond `_max_units` and beyond 4 times
    ``reach`` (how far the polyhedron's near side can be: the largest negative offset, of ``c``
    by default) becomes infinite: the row is dropped (a far row that holds near the origin: a
    huge box's face around a small cell; it also stays below HiGHS's infinity, 1e20).
    Dropping rows only grows the polyhedron: a "no" stays true, and a point found is checked
    against the true rows (and solved again in its own units, `contract.answer_units`)."""
    y = np.asarray(c, dtype=np.float64) / scale
    reach = float(np.max(-y, initial=0.0)) if reach is None else reach / scale
    return np.where(y > max(_max_units(), 4 * reach), _INF, y)


def relative_depth(A, c, tol, scale, bounds=None):
    """A maximiser of ``depth(x) - tol ||x||_inf`` over ``{A x <= c}`` (rows of unit norm) within
    the box ``bounds = (lo, hi)`` when given, or None.

    ``depth(x) = min_i (c_i - A_i x)``, and the distance to the box's faces. The LP is solved in units of ``scale`` (variables
    ``y = x / scale``), so HiGHS's absolute tolerances act relative to the polyhedron's own size;
    the objective is capped at 1 (in those units) to keep unbounded polyhedra bounded. Returns
    None when the LP finds the polyhedron empty or its optimum clearly negative; a point whose
    optimum is within the solver's tolerance of 0 is returned, and the caller decides from the
    point itself, in float64 (and re-solves in the point's units when they are far from
    ``scale``: `contract.deepest_point`).
    """
    m, d = A.shape
    c = with_box(c, bounds)
    scale = _units(scale, c)
    rows = _depth_rows(A, np.zeros((0, d)), tol, bounds is not None)
    rhs = np.concatenate([_offsets(c, scale), np.zeros(2 * d)])
    n = d + 2
    cost = np.zeros(n)
    cost[d + 1] = -1.0
    lo = np.full(n, -_INF)
    hi = np.full(n, _INF)
    lo[d] = 0.0
    lo[d + 1], hi[d + 1] = -1.0, 1.0
    status, y, _ = solvers.solve(cost, rows, rhs, lo, hi)
    if status != "optimal" or y[d + 1] < -1e-6:
        return None
    return y[:d] * scale


class CellDepth:
    """`relative_depth` for many polyhedra that share the rows of one cell, in one HiGHS model.

    The polyhedra are ``{A x <= c}`` intersected with subsets of the *extra* rows ``E x <= f``
    (all rows of unit norm). The model holds every row once; a solve switches extra rows on or
    off (upper bound ``f_j / scale`` or none) and HiGHS starts from the previous solve's basis
    (fewer simplex iterations; HiGHS's fixed cost per solve stays). Each solve counts in
    `lp_count`. Results are as `relative_depth`'s, in the units of ``scale`` (here ``z`` is free
    below, so every solve is feasible and has duals).

    After a solve that returns None with an optimum below ``-1e-5`` (in units of ``scale``),
    ``support`` lists the extra rows with a non-zero dual: by weak duality the optimum stays
    below that bound for *every* subset of extra rows that contains them, so each such
    polyhedron is thin too (no LP needed). Otherwise ``support`` is None.

    Examples
    --------
    >>> import numpy as np
    >>> A, c = np.vstack([np.eye(2), -np.eye(2)]), np.ones(4)   # the square [-1, 1]^2
    >>> E, f = np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([-0.5, -2.0])
    >>> cell = CellDepth(A, c, E, f, 1e-9, 1.0)
    >>> round(float(cell.solve([0])[0]), 6)   # with x1 <= -0.5: the strip [-1, -0.5] x [-1, 1]
    -0.75
    >>> cell.solve([1]) is None                # with x1 >= 2: empty
    True
    """

    def __init__(self, A, c, E, f, tol, scale, bounds=None):
        m, d = A.shape
        k = len(E)
        n = d + 2
        c = with_box(c, bounds)
        both = np.concatenate([c, f])  # (any extra row may be switched on)
        scale = _units(scale, both)
        reach = float(np.max(-both, initial=0.0))
        rows = _depth_rows(A, E, tol, bounds is not None)
        self._upper = np.concatenate([_offsets(c, scale, reach), np.zeros(2 * d), np.full(k, _INF)])
        self._f = _offsets(f, scale, reach)
        self._base = len(c) + 2 * d
        self._on = np.zeros(k, dtype=bool)
        self._d, self._scale = d, scale
        self.support = None
        M = rows.shape[0]
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = M
        cost = np.zeros(n)
        cost[d + 1] = -1.0
        lo = np.full(n, -_INF)
        hi = np.full(n, _INF)
        lo[d] = 0.0
        hi[d + 1] = 1.0  # z free below: every solve is feasible, with duals
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lo, hi
        lp.row_lower_ = np.full(M, -_INF)
        solvers.set_matrix(lp, rows)
        self._lp = lp

    def solve(self, on):
        """A maximiser of ``depth(x) - tol ||x||_inf`` over the cell with the extra rows ``on``
        (indices), or None (as `relative_depth`)."""
        solvers.count_solves()
        want = np.zeros(len(self._on), dtype=bool)
        want[np.asarray(on, dtype=np.int64)] = True
        h, held = solvers.cell_highs(self)
        if not held:
            upper = self._upper.copy()
            upper[self._base:][want] = self._f[want]
            self._lp.row_upper_ = upper
            h.clearModel()
            h.passModel(self._lp)
        else:
            diff = np.flatnonzero(want != self._on)
            if len(diff):
                h.changeRowsBounds(len(diff), (self._base + diff).astype(np.int32), np.full(len(diff), -_INF),
                                   np.where(want[diff], self._f[diff], _INF))
        self._on = want
        h.run()
        status = h.getModelStatus()
        if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible):
            # a hot start can stall (seen once in ~50,000 solves: status unknown); solve from scratch
            solvers.count_solves()
            h.clearSolver()
            h.run()
            status = h.getModelStatus()
        self.support = None
        if status != highspy.HighsModelStatus.kOptimal:
            return None
        sol = h.getSolution()
        y = np.asarray(sol.col_value)
        d = self._d
        if y[d + 1] < -1e-6:
            if y[d + 1] < -1e-5:
                dual = np.asarray(sol.row_dual)[self._base:]
                self.support = np.flatnonzero(dual != 0)
            return None
        return y[:d] * self._scale
