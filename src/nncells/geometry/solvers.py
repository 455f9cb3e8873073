"""The only module that talks to HiGHS (through ``highspy``).

One ``Highs`` instance per process is reused for every one-off solve, and a second one holds
the depth LPs of the cell being split (`CellDepth`: rows switched on and off between solves,
each solve starting from the last basis); ``lp_count()`` reports how many LPs this process has
solved (the engine counts its LPs as a difference).
"""
from __future__ import annotations

import numpy as np

import highspy

from nncells import _config
from nncells._stdout import silenced_stdout

_INF = highspy.kHighsInf
_SMALL_ENTRY = 1e-12      # HiGHS's lowest `small_matrix_value`: smaller matrix entries are dropped
_MIN_TOL_ENTRY = 2.0 ** -30  # the threshold column's entries are scaled up to at least this
_MAX_UNITS = 2.0 ** 60    # largest |offset| of a depth LP's rows, in its units (HiGHS's infinity is 1e20)
_EPS = float(np.finfo(np.float64).eps)
_solver = None
_count = 0


def new_highs():
    """A quiet ``highspy.Highs`` instance: no banner on stdout, ``output_flag`` off.

    highspy >= 1.16 prints a copyright banner from C++ when ``Highs()`` is built, before any
    option can be set; it is discarded here.

    Examples
    --------
    >>> h = new_highs()  # nothing reaches stdout
    >>> type(h).__name__
    'Highs'
    """
    with silenced_stdout():
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
    return h


def _lp_highs():
    """A new instance with the options of every LP solved here."""
    h = new_highs()
    h.setOptionValue("presolve", "off")
    h.setOptionValue("solver", "simplex")
    h.setOptionValue("primal_feasibility_tolerance", _config.LP_FEASIBILITY_TOL)
    h.setOptionValue("dual_feasibility_tolerance", _config.LP_FEASIBILITY_TOL)
    # HiGHS drops matrix entries up to `small_matrix_value` (default 1e-9): the depth LPs' threshold
    # column (`_depth_rows`) must survive, so the limit goes to HiGHS's lowest and that column is
    # scaled to stay above it.
    h.setOptionValue("small_matrix_value", _SMALL_ENTRY)
    return h


def _highs():
    global _solver
    if _solver is None:
        _solver = _lp_highs()
    return _solver


def lp_count() -> int:
    """Number of LPs solved by this process so far."""
    return _count


def reset() -> None:
    """Forget this process's HiGHS instances (a forked worker makes its own)."""
    global _solver, _qp_solver, _cell_solver, _cell_owner
    _solver = None
    _qp_solver = None
    _cell_solver = None
    _cell_owner = None


def _solve(cost, A, b, col_lo, col_hi):
    """min cost @ y  s.t.  A y <= b,  col_lo <= y <= col_hi.  Returns (status, y, objective)."""
    global _count
    _count += 1
    m, n = A.shape
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = m
    lp.col_cost_ = cost
    lp.col_lower_ = col_lo
    lp.col_upper_ = col_hi
    lp.row_lower_ = np.full(m, -_INF)
    lp.row_upper_ = b
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.arange(0, m * n + 1, n, dtype=np.int32)
    lp.a_matrix_.index_ = np.tile(np.arange(n, dtype=np.int32), m)
    lp.a_matrix_.value_ = np.ascontiguousarray(A, dtype=np.float64).ravel()
    h = _highs()
    h.clearModel()
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        y = np.array(h.getSolution().col_value)
        return "optimal", y, float(h.getInfo().objective_function_value)
    if status in (highspy.HighsModelStatus.kInfeasible,):
        return "infeasible", None, None
    if status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
        return "unbounded", None, None
    return "failed", None, None


def chebyshev_center(A, b, cap=1.0):
    """Centre and radius of the largest ball (radius capped at ``cap``) inside ``A x <= b``.

    Rows of ``A`` must be non-zero; they are normalised here. Returns ``(None, -inf)`` when
    the polyhedron is empty. The cap keeps the LP bounded on unbounded polyhedra.
    """
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    m, d = A.shape
    norms = np.linalg.norm(A, axis=1)
    if m and np.any(norms == 0):
        keep = norms > 0
        if np.any(b[~keep] < 0):
            return None, -np.inf
        A, b, norms = A[keep], b[keep], norms[keep]
    return chebyshev_center_normalized(A / norms[:, None], b / norms, cap) if len(A) else (np.zeros(d), cap)


def chebyshev_center_normalized(A, b, cap):
    """As ``chebyshev_center`` for rows of unit norm (the engine's hot path)."""
    m, d = A.shape
    Aug = np.empty((m, d + 1))
    Aug[:, :d] = A
    Aug[:, d] = 1.0
    cost = np.zeros(d + 1)
    cost[d] = -1.0
    lo = np.full(d + 1, -_INF)
    hi = np.full(d + 1, _INF)
    lo[d] = -1.0  # lets the LP report an empty polyhedron as a negative radius
    hi[d] = cap
    status, y, _ = _solve(cost, Aug, b, lo, hi)
    if status != "optimal":
        return None, -np.inf
    return y[:d], float(y[d])


def _depth_rows(A, E, tol):
    """The constraint matrix of the depth LPs over ``{A x <= c}`` and the extra rows ``E``.

    Variables ``(y, v, z)``; rows ``A y + (tol / k) v + z <= c / scale``, then ``+-y_j - v / k <= 0``
    (``v = k ||y||_inf``), then the extra rows like the first. ``k = min(1, tol / 2^-30)`` keeps the
    threshold column's entries above HiGHS's smallest (``_SMALL_ENTRY``) for any ``tol``.
    """
    m, d = A.shape
    k = min(1.0, tol / _MIN_TOL_ENTRY)
    rows = np.zeros((m + 2 * d + len(E), d + 2))
    rows[:m, :d] = A
    rows[m + 2 * d:, :d] = E
    for lo, hi in ((0, m), (m + 2 * d, len(rows))):
        rows[lo:hi, d] = tol / k
        rows[lo:hi, d + 1] = 1.0
    rows[m:m + d, :d] = np.eye(d)
    rows[m + d:m + 2 * d, :d] = -np.eye(d)
    rows[m:m + 2 * d, d] = -1.0 / k
    return rows


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


def relative_depth(A, c, tol, scale):
    """A maximiser of ``depth(x) - tol ||x||_inf`` over ``{A x <= c}`` (rows of unit norm), or None.

    ``depth(x) = min_i (c_i - A_i x)``. The LP is solved in units of ``scale`` (variables
    ``y = x / scale``), so HiGHS's absolute tolerances act relative to the polyhedron's own size;
    the objective is capped at 1 (in those units) to keep unbounded polyhedra bounded. Returns
    None when the LP finds the polyhedron empty or its optimum clearly negative; a point whose
    optimum is within the solver's tolerance of 0 is returned, and the caller decides from the
    point itself, in float64 (and re-solves in the point's units when they are far from
    ``scale``: `contract.deepest_point`).
    """
    m, d = A.shape
    scale = _units(scale, c)
    rows = _depth_rows(A, np.zeros((0, d)), tol)
    rhs = np.concatenate([_offsets(c, scale), np.zeros(2 * d)])
    n = d + 2
    cost = np.zeros(n)
    cost[d + 1] = -1.0
    lo = np.full(n, -_INF)
    hi = np.full(n, _INF)
    lo[d] = 0.0
    lo[d + 1], hi[d + 1] = -1.0, 1.0
    status, y, _ = _solve(cost, rows, rhs, lo, hi)
    if status != "optimal" or y[d + 1] < -1e-6:
        return None
    return y[:d] * scale


_cell_solver = None
_cell_owner = None  # the CellDepth whose model _cell_solver holds


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

    def __init__(self, A, c, E, f, tol, scale):
        m, d = A.shape
        k = len(E)
        n = d + 2
        both = np.concatenate([c, f])  # (any extra row may be switched on)
        scale = _units(scale, both)
        reach = float(np.max(-both, initial=0.0))
        rows = _depth_rows(A, E, tol)
        self._upper = np.concatenate([_offsets(c, scale, reach), np.zeros(2 * d), np.full(k, _INF)])
        self._f = _offsets(f, scale, reach)
        self._base = m + 2 * d
        self._on = np.zeros(k, dtype=bool)
        self._d, self._scale = d, scale
        self.support = None
        M = len(rows)
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
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.arange(0, M * n + 1, n, dtype=np.int32)
        lp.a_matrix_.index_ = np.tile(np.arange(n, dtype=np.int32), M)
        lp.a_matrix_.value_ = rows.ravel()
        self._lp = lp

    def solve(self, on):
        """A maximiser of ``depth(x) - tol ||x||_inf`` over the cell with the extra rows ``on``
        (indices), or None (as `relative_depth`)."""
        global _count, _cell_solver, _cell_owner
        _count += 1
        want = np.zeros(len(self._on), dtype=bool)
        want[np.asarray(on, dtype=np.int64)] = True
        if _cell_solver is None:
            _cell_solver = _lp_highs()
        h = _cell_solver
        if _cell_owner is not self:
            upper = self._upper.copy()
            upper[self._base:][want] = self._f[want]
            self._lp.row_upper_ = upper
            h.clearModel()
            h.passModel(self._lp)
            _cell_owner = self
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
            _count += 1
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


def bounding_box(A, b):
    """Axis-aligned bounding box ``(lo, hi)`` of ``{A x <= b}`` by ``2 d`` LPs; None if unbounded.

    Examples
    --------
    >>> import numpy as np
    >>> lo, hi = bounding_box(np.array([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]), np.array([1.0, 0.0, 0.0]))
    >>> lo.round(9).tolist(), hi.round(9).tolist()
    ([0.0, 0.0], [1.0, 1.0])
    """
    d = A.shape[1]
    lo, hi = np.empty(d), np.empty(d)
    # in units of the offsets' size (a power of two: exact), so HiGHS's absolute tolerances and
    # its infinity (1e20) act relatively: a polytope 1e300 wide has a bounding box too
    big = float(np.max(np.abs(b), initial=0.0))
    unit = float(2.0 ** np.round(np.log2(big))) if big > 0 and np.isfinite(big) else 1.0
    for i in range(d):
        e = np.zeros(d)
        e[i] = 1.0
        v = minimize_linear(e, A, b / unit)
        w = minimize_linear(-e, A, b / unit)
        if v is None or w is None:
            return None
        lo[i], hi[i] = v * unit, -w * unit
    return lo, hi


def minimize_linear(cost, A, b):
    """min cost @ x s.t. A x <= b; None when unbounded or infeasible."""
    A = np.asarray(A, dtype=np.float64)
    d = A.shape[1]
    status, _, obj = _solve(np.asarray(cost, dtype=np.float64), A, np.asarray(b, dtype=np.float64),
                            np.full(d, -_INF), np.full(d, _INF))
    return obj if status == "optimal" else None


# ----------------------------------------------------------------------------- balls (convex QP)
# Regions meeting a Euclidean ball need the distance from the ball's centre to a polyhedron:
# a convex QP. HiGHS solves it with its active-set QP solver (a model with a Hessian), so no
# second solver is needed. A separate `Highs` instance keeps the LP instance's options intact.
_qp_solver = None


def _highs_qp():
    global _qp_solver
    if _qp_solver is None:
        h = new_highs()
        h.setOptionValue("primal_feasibility_tolerance", _config.LP_FEASIBILITY_TOL)
        h.setOptionValue("dual_feasibility_tolerance", _config.LP_FEASIBILITY_TOL)
        h.setOptionValue("qp_iteration_limit", 100_000)
        h.setOptionValue("time_limit", 10.0)
        _qp_solver = h
    return _qp_solver


def distance_to_polyhedron(A, b, center, scale=1.0):
    """Euclidean distance from ``center`` to ``{x : A x <= b}`` and the closest point.

    Least-distance programming (Lawson and Hanson, ch. 23): ``min ||y||`` s.t. ``A y <= r``
    (``y = (x - center) / scale``, ``r = (b - A center) / scale``) is one non-negative least
    squares problem, solved by SciPy's finite active-set NNLS. HiGHS's QP solver is the fallback
    (with iteration and time limits: it was seen to cycle on one Euclidean ball). Counts as one
    solve in ``lp_count()``.

    Returns
    -------
    (distance, point) ; ``(inf, None)`` when the polyhedron is empty or both solvers fail.
    """
    A = np.ascontiguousarray(A, dtype=np.float64)
    center = np.asarray(center, dtype=np.float64)
    norms = np.linalg.norm(A, axis=1)
    keep = norms > 0
    r = (np.asarray(b, dtype=np.float64) - A @ center) / scale
    if np.any(r[~keep] < 0):
        return np.inf, None
    An, rn = A[keep] / norms[keep, None], r[keep] / norms[keep]
    y = _least_distance(An, rn)
    if y is None:
        return _distance_qp(A, b, center, scale)
    return float(np.linalg.norm(y) * scale), center + scale * y


def _least_distance(A, r):
    """``argmin ||y||`` s.t. ``A y <= r`` (unit rows) by NNLS; None if it fails or is infeasible."""
    from scipy.optimize import nnls
    global _count
    _count += 1
    m, n = A.shape
    if m == 0 or np.all(r >= 0):
        return np.zeros(n)
    E = np.vstack([-A.T, -r[None, :]])  # G y >= h with G = -A, h = -r
    f = np.zeros(n + 1)
    f[n] = 1.0
    try:
        u, _ = nnls(E, f, maxiter=50 * (m + n))
    except RuntimeError:
        return None
    res = E @ u - f
    if abs(res[n]) < 1e-12:
        return None  # empty polyhedron (or numerically so): let the QP decide
    y = -res[:n] / res[n]
    if np.max(A @ y - r) > 1e-9 * max(1.0, float(np.max(np.abs(r)))):
        return None
    return y


def _distance_qp(A, b, center, scale):
    """`distance_to_polyhedron` by HiGHS's QP solver."""
    global _count
    _count += 1
    A = np.ascontiguousarray(A, dtype=np.float64)
    center = np.asarray(center, dtype=np.float64)
    m, n = A.shape
    rhs = (np.asarray(b, dtype=np.float64) - A @ center) / scale
    model = highspy.HighsModel()
    lp = model.lp_
    lp.num_col_ = n
    lp.num_row_ = m
    lp.col_cost_ = np.zeros(n)
    lp.col_lower_ = np.full(n, -_INF)
    lp.col_upper_ = np.full(n, _INF)
    lp.row_lower_ = np.full(m, -_INF)
    lp.row_upper_ = rhs
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.arange(0, m * n + 1, n, dtype=np.int32)
    lp.a_matrix_.index_ = np.tile(np.arange(n, dtype=np.int32), m)
    lp.a_matrix_.value_ = A.ravel()
    hess = model.hessian_
    hess.dim_ = n
    hess.format_ = highspy.HessianFormat.kTriangular
    hess.start_ = np.arange(n + 1, dtype=np.int32)
    hess.index_ = np.arange(n, dtype=np.int32)
    hess.value_ = np.ones(n)
    h = _highs_qp()
    h.clearModel()
    h.passModel(model)
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return np.inf, None
    y = np.array(h.getSolution().col_value)
    return float(np.linalg.norm(y) * scale), center + scale * y
