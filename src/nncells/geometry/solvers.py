"""HiGHS (through ``highspy``): the instances, one-off LPs and QPs, and the count of solves.

One ``Highs`` instance per process is reused for every one-off solve, and a second one holds
the depth LPs of the cell being split (`cell_highs`, used by `depth_lps.CellDepth`: rows switched
on and off between solves, each solve starting from the last basis); ``lp_count()`` reports how
many LPs this process has solved (the engine counts its LPs as a difference). Only this module and
the LP modules beside it (`depth_lps`, `box_depth`) talk to HiGHS.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

import highspy

from nncells import _config
from nncells._stdout import silenced_stdout
from nncells.geometry.norms import power_of_two

if TYPE_CHECKING:
    import numpy.typing as npt

_INF = highspy.kHighsInf
_SMALL_ENTRY = 1e-12      # HiGHS's lowest `small_matrix_value`: smaller matrix entries are dropped
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


def lp_highs():
    """This process's HiGHS instance for one-off LPs (with the options of every LP solved here);
    a forked worker makes its own (`reset`). Callers pass their model each time."""
    global _solver
    if _solver is None:
        _solver = _lp_highs()
    return _solver


def lp_count() -> int:
    """Number of LPs solved by this process so far."""
    return _count


def count_solves(n: int = 1) -> None:
    """Add ``n`` LPs solved elsewhere (`depth_lps`, `box_depth`) to `lp_count`."""
    global _count
    _count += n


def cell_highs(owner):
    """``(h, held)``: the HiGHS instance that holds one cell's model at a time (`depth_lps.CellDepth`),
    and whether the model it holds is ``owner``'s (else the caller passes its model; ``owner``
    holds it from now on)."""
    global _cell_solver, _cell_owner
    if _cell_solver is None:
        _cell_solver = _lp_highs()
    held = _cell_owner is owner
    _cell_owner = owner
    return _cell_solver, held


_cell_solver = None
_cell_owner = None  # the model whose rows _cell_solver holds


def reset() -> None:
    """Forget this process's HiGHS instances (a forked worker makes its own)."""
    global _solver, _qp_solver, _cell_solver, _cell_owner
    _solver = None
    _qp_solver = None
    _cell_solver = None
    _cell_owner = None


def set_matrix(lp, M):
    """``M`` (``scipy.sparse`` CSR) as the row-wise constraint matrix of the ``HighsLp`` ``lp``."""
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = M.indptr.astype(np.int32)
    lp.a_matrix_.index_ = M.indices.astype(np.int32)
    lp.a_matrix_.value_ = M.data.astype(np.float64)


def solve(cost, A, b, col_lo, col_hi):
    """`_solve` (the public name for the other LP modules)."""
    return _solve(cost, A, b, col_lo, col_hi)


def _solve(cost, A, b, col_lo, col_hi):
    """min cost @ y  s.t.  A y <= b,  col_lo <= y <= col_hi (``A`` dense or ``scipy.sparse``).
    Returns (status, y, objective)."""
    from scipy import sparse
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
    if sparse.issparse(A):
        set_matrix(lp, A.tocsr())
    else:
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.arange(0, m * n + 1, n, dtype=np.int32)
        lp.a_matrix_.index_ = np.tile(np.arange(n, dtype=np.int32), m)
        lp.a_matrix_.value_ = np.ascontiguousarray(A, dtype=np.float64).ravel()
    h = lp_highs()
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


def chebyshev_center(A: npt.ArrayLike, b: npt.ArrayLike,
                     cap: float = 1.0) -> tuple[npt.NDArray[np.float64] | None, float]:
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
    unit = power_of_two(big)
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
