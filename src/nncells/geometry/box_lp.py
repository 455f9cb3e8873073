"""The box LP of LP mode in high dimension: a small dense bounded-variable simplex, and the
float64 checks that make its answers trustworthy.

The LP ("shrunk cell" form; rows of unit norm, few of them, the box as variable bounds)::

    maximise z  subject to  A_i x + z <= c_i  (i < m),  lo <= x <= hi,  z <= zcap

is solved in the compiled core (``native/lp.cpp``: a dual simplex on the ``m`` rows with an
explicit ``m x m`` basis inverse and a bound flipping ratio test, warm-startable from a parent's
basis), or by HiGHS where the core is not built. No answer is trusted as it stands: a point is
checked by `certified_margin` (its margin less the rounding error of computing it), a "no" by
`farkas_bound` (weak duality, with a rigorous error bound). Both have numpy twins
(`_certified_margin_numpy`, `_farkas_bound_numpy`), the references of the parity tests.

The compiled core is `nncells.kernels`'s module (arrays in, arrays out).

Examples
--------
>>> import numpy as np
>>> A = np.array([[0.6, 0.8], [-0.6, 0.8]]); c = np.array([-0.5, 0.3])  # two rows in [-1, 1]^2
>>> lo0, hi0 = -np.ones(2), np.ones(2)
>>> status, x, z, y, basis = solve_shrunk(A, c, lo0 + 0.1, hi0 - 0.1, 1.0)  # the box shrunk by 0.1
>>> status, round(z, 9), x.round(9).tolist(), y.round(9).tolist()
('optimal', 0.62, [-0.666666667, -0.9], [0.5, 0.5])
>>> round(certified_margin(A, c, lo0, hi0, x), 9)                          # the box's face is nearer
0.1
>>> value, err = farkas_bound(A, c - 0.75, lo0, hi0, y)   # rows moved in by 0.75: nothing is left
>>> round(value, 9), bool(value + err <= 0)
(-0.05, True)
"""
from __future__ import annotations

import os

import highspy
import numpy as np

from nncells import _config, kernels
from nncells.errors import NNCellsError
from nncells.geometry import solvers
from nncells.geometry.contract import certified_depth

EPS = float(np.finfo(np.float64).eps)
STATUSES = ("optimal", "infeasible", "iteration_limit", "failed", "cutoff")
AT_LOWER, AT_UPPER, BASIC = 0, 1, 2  # a column's status in a basis (x_0..x_{d-1}, z, the slacks)

_count = 0
_counts = {"iterations": 0, "warm": 0, "perturbed": 0, "fallbacks": 0}


def _core():
    """The compiled core's module when it is built (with the box LP) and the backend allows it."""
    if (os.environ.get("NNCELLS_BACKEND") or _config.BACKEND) == "numpy":
        return None
    mod = kernels._native
    return mod if hasattr(mod, "box_lp_solve") else None


def solve_count() -> int:
    """Box LPs solved by this process so far (`solve_shrunk` calls, HiGHS fallbacks included).

    Examples
    --------
    >>> n = solve_count()
    >>> _ = solve_shrunk(np.array([[1.0]]), np.array([0.5]), np.zeros(1), np.ones(1), 1.0)
    >>> solve_count() - n
    1
    """
    return _count


def counts() -> dict:
    """What this process's box LPs took: simplex ``iterations`` of the compiled core, solves that
    started from the basis given (``warm``), solves whose costs were ``perturbed`` (since the
    core perturbs them from the start against degeneracy: every solve with a nonbasic boxed
    column), and ``fallbacks`` to HiGHS (no compiled core, or the core failed).

    Examples
    --------
    >>> sorted(counts())
    ['fallbacks', 'iterations', 'perturbed', 'warm']
    """
    return dict(_counts)


def _arrays(A, c, lo, hi):
    A = np.ascontiguousarray(A, dtype=np.float64)
    c = np.ascontiguousarray(c, dtype=np.float64)
    lo = np.ascontiguousarray(lo, dtype=np.float64)
    hi = np.ascontiguousarray(hi, dtype=np.float64)
    if A.ndim != 2 or c.shape != (A.shape[0],) or lo.shape != (A.shape[1],) or hi.shape != (A.shape[1],):
        raise NNCellsError(f"box LP: A must be (m, d), c (m,), lo and hi (d,); got {A.shape}, {c.shape}, "
                           f"{lo.shape}, {hi.shape}")
    if not (np.all(np.isfinite(A)) and np.all(np.isfinite(c))) or np.any(np.isnan(lo)) or np.any(np.isnan(hi)):
        raise NNCellsError("box LP: A and c must be finite, lo and hi not NaN")
    return A, c, lo, hi


def extend_basis(basis, rows: int = 1):
    """A parent's ``basis`` for a child LP with ``rows`` more rows (their slacks basic).

    Examples
    --------
    >>> extend_basis(np.array([0, 1, 2], dtype=np.int8)).tolist()
    [0, 1, 2, 2]
    """
    return np.concatenate([np.asarray(basis, dtype=np.int8), np.full(rows, BASIC, dtype=np.int8)])


def solve_shrunk(A, c, lo, hi, zcap, basis=None, *, max_iter=None, cutoff=None, perturb=False):
    """``max z`` s.t. ``A x + z <= c``, ``lo <= x <= hi``, ``z <= zcap`` (rows of ``A`` of unit norm).

    Parameters
    ----------
    A : (m, d) array
    c : (m,) array
    lo, hi : (d,) arrays, the box (already shrunk by the caller); infinite bounds are allowed.
    zcap : float, keeps the LP bounded.
    basis : (d + 1 + m,) int8 array or None
        A warm start: each column's status (`AT_LOWER`, `AT_UPPER`, `BASIC`; columns ``x``, ``z``,
        then the rows' slacks ``c_i - A_i x - z``), as returned by a solve; for a child LP with
        one more row use `extend_basis` of the parent's. A basis that does not suit (singular,
        not dual feasible, of the wrong size) is replaced by the cold one.
    max_iter : int, optional
        Simplex iterations allowed (default ``1000 + 20 (m + 1)``).
    cutoff : float, optional
        The solver may stop (status ``"cutoff"``) once its dual bound proves ``z < cutoff``; ``y``
        is then a certificate candidate for `farkas_bound`.
    perturb : bool
        Perturb the costs from the start (the primal simplex then cleans up). The compiled core
        now always does (the LPs are highly degenerate), so this changes nothing there.

    Returns
    -------
    status : str, one of `STATUSES` (``"infeasible"`` only when some ``lo_j > hi_j``: ``z`` is free
        below).
    x : (d,) array in ``[lo, hi]``.
    z : float, at ``"optimal"``: ``min(zcap, min_i c_i - A_i x)`` for the ``x`` returned.
    y : (m,) row duals ``>= 0``, summing to 1 when the optimum is below ``zcap``.
    basis : (d + 1 + m,) int8, the final basis (a warm start for the next LP); None when HiGHS,
        falling back, failed too.

    Examples
    --------
    >>> A, c = np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([0.25, 0.25])   # |x1| <= 1/4
    >>> status, x, z, y, b = solve_shrunk(A, c, -np.ones(2), np.ones(2), 1.0)
    >>> status, z, y.tolist()
    ('optimal', 0.25, [0.5, 0.5])
    >>> A2, c2 = np.vstack([A, [[0.0, 1.0]]]), np.append(c, -1.5)          # one more row: x2 <= -3/2
    >>> status, x, z, y, b = solve_shrunk(A2, c2, -np.ones(2), np.ones(2), 1.0, extend_basis(b))
    >>> status, z, y.tolist()
    ('optimal', -0.5, [0.0, 0.0, 1.0])
    """
    global _count
    A, c, lo, hi = _arrays(A, c, lo, hi)
    zcap = float(zcap)
    if not np.isfinite(zcap):
        raise NNCellsError("box LP: zcap must be finite")
    m, d = A.shape
    if basis is not None:
        basis = np.ascontiguousarray(basis, dtype=np.int8)
        if basis.shape != (d + 1 + m,):
            basis = None
    _count += 1
    solvers.count_solves()  # an LP of this process (`solvers.lp_count`), whoever solves it
    core = _core()
    if core is not None:
        limit = -1 if max_iter is None else int(max_iter)
        cut = -1e300 if cutoff is None else float(cutoff)
        tol = float(_config.LP_FEASIBILITY_TOL)
        code, x, z, y, out, iters, warm, perturbed = core.box_lp_solve(A, c, lo, hi, zcap, basis, limit, cut,
                                                                       tol, tol, bool(perturb))
        _counts["iterations"] += iters
        _counts["warm"] += warm
        _counts["perturbed"] += perturbed
        if code != 3:  # numerical failure: HiGHS below
            return STATUSES[code], x, float(z), y, out
    _counts["fallbacks"] += 1
    return _solve_highs(A, c, lo, hi, zcap)


def _highs_lp(A, c, lo, hi, zcap):
    """The box LP as a ``highspy.HighsLp``: columns ``x`` then ``z``, minimising ``-z``."""
    m, d = A.shape
    inf = highspy.kHighsInf
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = d + 1, m
    cost = np.zeros(d + 1)
    cost[d] = -1.0
    lp.col_cost_ = cost
    lp.col_lower_ = np.append(np.maximum(lo, -inf), -inf)
    lp.col_upper_ = np.append(np.minimum(hi, inf), zcap)
    lp.row_lower_ = np.full(m, -inf)
    lp.row_upper_ = c.copy()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.arange(0, m * (d + 1) + 1, d + 1, dtype=np.int32)
    lp.a_matrix_.index_ = np.tile(np.arange(d + 1, dtype=np.int32), m)
    lp.a_matrix_.value_ = np.hstack([A, np.ones((m, 1))]).ravel()
    return lp


def _solve_highs(A, c, lo, hi, zcap):
    """`solve_shrunk` by HiGHS (the fallback, and the reference of the tests); no warm start."""
    m, d = A.shape
    fail = ("failed", np.clip(np.zeros(d), lo, hi), -np.inf, np.zeros(m), None)
    if np.any(lo > hi):
        return ("infeasible",) + fail[1:]
    h = solvers.lp_highs()
    for name in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
        h.setOptionValue(name, _config.LP_FEASIBILITY_TOL)
    h.clearModel()
    h.passModel(_highs_lp(A, c, lo, hi, zcap))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return fail
    sol = h.getSolution()
    x = np.clip(np.asarray(sol.col_value)[:d], lo, hi)
    z = float(min(zcap, np.min(c - A @ x, initial=np.inf)))
    y = np.maximum(-np.asarray(sol.row_dual, dtype=np.float64), 0.0)
    hb = h.getBasis()
    basic, upper = highspy.HighsBasisStatus.kBasic, highspy.HighsBasisStatus.kUpper
    cols = [BASIC if s == basic else AT_UPPER if s == upper else AT_LOWER for s in hb.col_status]
    cols[d] = BASIC if hb.col_status[d] == basic else AT_UPPER
    rows = [BASIC if s == basic else AT_LOWER for s in hb.row_status]
    return "optimal", x, z, y, np.array(cols + rows, dtype=np.int8)


def certified_margin(A, c0, lo0, hi0, x) -> float:
    """How far ``x`` (clamped into ``[lo0, hi0]``) is certainly inside ``{A x <= c0}`` and the box.

    ``min(min_i (c0_i - A_i x) - err_i, min_j (x_j - lo0_j, hi0_j - x_j))``, with
    ``err_i = gamma(d + 1) (|c0_i| + |A_i| . |x|)`` (`contract.gamma`) and each box slack less
    ``gamma(1) (|x_j| + |bound|)`` (the rounding of one subtraction; `contract.certified_depth`
    computes the same, the numpy twin calls it): a positive value is a witness that
    the point lies at least that deep (unit rows: the value is a distance to each row).
    ``-inf`` for a point that is not finite once clamped (NaN, or infinite in an unbounded box).

    Examples
    --------
    >>> A, c0 = np.array([[1.0, 0.0]]), np.array([0.5])
    >>> m = certified_margin(A, c0, -np.ones(2), np.ones(2), np.array([0.0, 0.0]))
    >>> 0.5 - 1e-14 < m < 0.5
    True
    """
    A, c0, lo0, hi0 = _arrays(A, c0, lo0, hi0)
    x = np.ascontiguousarray(x, dtype=np.float64)
    if x.shape != (A.shape[1],):
        raise NNCellsError(f"box LP: x must be ({A.shape[1]},), got {x.shape}")
    core = _core()
    if core is None:
        return _certified_margin_numpy(A, c0, lo0, hi0, x)
    return float(core.box_lp_certified_margin(A, c0, lo0, hi0, x, float(_config.ERROR_FACTOR)))


def _certified_margin_numpy(A, c0, lo0, hi0, x) -> float:
    """`certified_margin` in numpy (the compiled core's reference): `contract.certified_depth` of
    ``x`` clamped into the box, the box's faces included (one implementation of the check)."""
    x = np.minimum(np.maximum(x, lo0), hi0)
    if not np.all(np.isfinite(x)):
        return -np.inf
    return certified_depth(A, c0, x, (lo0, hi0))


def farkas_bound(A, c0, lo0, hi0, y):
    """The weak-duality bound of the row weights ``y`` over the box ``[lo0, hi0]``, with its error.

    ``y`` is clipped at 0 and normalised to sum 1; then every ``x`` in the box has
    ``min_i (c0_i - A_i x) <= U(y) = y . c0 - sum_j min(g_j lo0_j, g_j hi0_j)``, ``g = A^T y``.
    Returns ``(U, err)``: ``U`` in float64 and a rigorous bound ``err`` on its rounding error
    (and on the normalisation's), so ``U + err <= 0`` proves that no point of the box is inside
    every row with a positive margin, and ``U + err`` bounds that margin from above. ``(inf, 0)``
    when ``y`` is 0, or ``g`` points out of an unbounded side of the box.

    Examples
    --------
    >>> A, c0 = np.array([[1.0], [-1.0]]), np.array([-1.0, -1.0])   # x <= -1 and x >= 1: empty
    >>> value, err = farkas_bound(A, c0, np.array([-5.0]), np.array([5.0]), np.array([1.0, 1.0]))
    >>> value, bool(0 < err < 1e-12)
    (-1.0, True)
    """
    A, c0, lo0, hi0 = _arrays(A, c0, lo0, hi0)
    y = np.ascontiguousarray(y, dtype=np.float64)
    if y.shape != (A.shape[0],):
        raise NNCellsError(f"box LP: y must be ({A.shape[0]},), got {y.shape}")
    core = _core()
    if core is None:
        return _farkas_bound_numpy(A, c0, lo0, hi0, y)
    value, err = core.box_lp_farkas_bound(A, c0, lo0, hi0, y, float(_config.ERROR_FACTOR))
    return float(value), float(err)


def _farkas_bound_numpy(A, c0, lo0, hi0, y):
    """`farkas_bound` in numpy (the compiled core's reference). The error bound: ``g_j`` is off
    by at most ``gamma(m + 1) G_j`` (``G = |A|^T y``), the term ``min(g_j lo, g_j hi)`` is
    Lipschitz in ``g_j`` with constant ``M_j = max(|lo0_j|, |hi0_j|)``, and the sum of ``m + d``
    terms adds ``gamma(m + d + 1)`` of their magnitudes: all within
    ``gamma(2 m + d + 3) (y . |c0| + M . G) + gamma(m + 1) |U|`` (the last for the normalisation)."""
    m, d = A.shape
    if np.any(np.isnan(y)):
        return np.inf, 0.0
    y = np.maximum(y, 0.0)
    s = float(np.sum(y))
    if not (s > 0 and np.isfinite(s)):
        return np.inf, 0.0
    y = y / s
    g, G = y @ A, y @ np.abs(A)
    ge = _config.ERROR_FACTOR * (m + 1) * EPS * G
    flo, fhi = np.isfinite(lo0), np.isfinite(hi0)
    both = flo & fhi
    low_only = ~flo & fhi & (g + ge < 0)        # lo0 = -inf: g_j certainly negative
    high_only = flo & ~fhi & (g - ge > 0)       # hi0 = +inf: g_j certainly positive
    used = G != 0
    if np.any(used & ~(both | low_only | high_only)):
        return np.inf, 0.0
    with np.errstate(invalid="ignore"):
        term = np.where(both, np.minimum(g * lo0, g * hi0), np.where(low_only, g * hi0, g * lo0))
        M = np.where(both, np.maximum(np.abs(lo0), np.abs(hi0)), np.where(low_only, np.abs(hi0), np.abs(lo0)))
    term, M = np.where(used, term, 0.0), np.where(used, M, 0.0)
    U = float(y @ c0 - np.sum(term))
    E = float(y @ np.abs(c0) + M @ G)
    err = _config.ERROR_FACTOR * (2 * m + d + 3) * EPS * E + _config.ERROR_FACTOR * (m + 1) * EPS * abs(U)
    return U, err
