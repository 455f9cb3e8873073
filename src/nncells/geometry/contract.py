"""The numerical contract: one rule for every domain and mode (see docs/numerics.md).

**A region counts iff it holds a point ``x`` whose distance to the region's boundary exceeds
``tol * ||x||_inf``** (``tol`` defaults to ``_config.DEFAULT_TOL``). The threshold is tied to the
region's own coordinates, never to the domain's size, so

- changing units (inputs scaled by ``s``, or a layer's weights and biases scaled) never changes
  the answer: the rule is positively homogeneous;
- a bigger domain never has fewer regions (depth only grows when the domain grows), and a box
  large enough has the whole space's count;
- a region holding a ball of radius ``>= 1e-6 ||centre||`` is never dropped.

Decisions made from floating-point numbers use error bounds of the operation that produced the
numbers (a multiple of `gamma`), not fixed thresholds.

Examples
--------
>>> import numpy as np
>>> A, c = np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([100.001, -100.0])  # 100 < x1 < 100.001
>>> witness_counts(np.array([100.0005, 0.0]), 0.0005, 1e-9)
True
>>> x, r = deepest_point(A, c, 1e-9)
>>> bool(r > 1e-9 * np.max(np.abs(x)))
True
"""
from __future__ import annotations

import numpy as np

from nncells import _config
from nncells.geometry import depth_lps as lp

EPS = float(np.finfo(np.float64).eps)


def gamma(n: int) -> float:
    """``_config.ERROR_FACTOR * n * eps``: a bound on the relative error of an n-term dot product."""
    return _config.ERROR_FACTOR * max(int(n), 1) * EPS


def witness_counts(point, radius, tol) -> bool:
    """Whether a ball of ``radius`` around ``point`` inside a region proves that it counts."""
    return bool(radius > tol * np.max(np.abs(point), initial=0.0))


def margins(points: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Each region's certified margin: ``radius / ||point||_inf`` (inf at the origin)."""
    # (max and -min, not abs: no copy of a batch of 784-D points)
    scale = np.maximum(points.max(axis=1), -points.min(axis=1)) if points.size else np.zeros(len(radii))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(scale > 0, radii / np.where(scale > 0, scale, 1.0), np.inf)


def borderline_count(points: np.ndarray, radii: np.ndarray, tol: float) -> int:
    """Regions whose certified margin is below ``_config.BORDERLINE`` times the threshold."""
    return int(np.count_nonzero(margins(points, radii) < _config.BORDERLINE * tol))


def depth(A: np.ndarray, c: np.ndarray, x: np.ndarray, bounds=None) -> float:
    """Distance from ``x`` to the boundary of ``{A x <= c}`` (rows of unit norm) and, when given,
    of the box ``bounds = (lo, hi)`` (a cell of a box domain keeps the box as bounds, not rows);
    inf if neither has a face."""
    out = float(np.min(c - A @ x, initial=np.inf))
    if bounds is not None:
        out = min(out, float(np.min(x - bounds[0], initial=np.inf)), float(np.min(bounds[1] - x, initial=np.inf)))
    return out


def unit_rows(A, c):
    """``A x <= c`` with rows of unit norm: zero rows are constants, dropped when they hold
    (``0 <= c``); None when one of them fails (the polyhedron is empty).

    Examples
    --------
    >>> A, c = unit_rows(np.array([[3.0, 4.0], [0.0, 0.0]]), np.array([10.0, 1.0]))
    >>> A.tolist(), c.tolist()
    ([[0.6, 0.8]], [2.0])
    >>> unit_rows(np.array([[0.0, 0.0]]), np.array([-1.0])) is None
    True
    """
    n = np.linalg.norm(A, axis=1)
    ok = n > 0
    if np.any(c[~ok] < 0):
        return None
    return A[ok] / n[ok, None], c[ok] / n[ok]


def certified_depth(A, c, x, bounds=None) -> float:
    """`depth` with each row's slack less the error bound of computing it: ``x`` is at least this
    far inside ``{A x <= c}`` (unit rows) and the box ``bounds``. Row by row, so that a far row of
    a large cell (a box's far face) does not blur the slack of a near one."""
    out = np.inf
    if len(c):
        slack = c - A @ x
        slack -= gamma(len(x) + 1) * (np.abs(c) + np.abs(A) @ np.abs(x))
        out = float(slack.min())
    if bounds is not None and len(x):
        lo, hi = bounds
        ax = np.abs(x)
        with np.errstate(invalid="ignore"):  # (an infinite side is no face)
            s_lo = np.where(np.isfinite(lo), (x - lo) - gamma(1) * (ax + np.abs(lo)), np.inf)
            s_hi = np.where(np.isfinite(hi), (hi - x) - gamma(1) * (ax + np.abs(hi)), np.inf)
        out = min(out, float(np.min(s_lo)), float(np.min(s_hi)))
    return out


def deepest_point(A, c, tol, scale=None, first=None, bounds=None):
    """A point of ``{A x <= c}`` (unit rows) that proves the polyhedron counts, or ``(None, -inf)``.

    Solves ``max depth(x) - tol ||x||_inf`` (one LP, `lp.relative_depth`) in the polyhedron's own
    units and checks the answer in float64: the returned point satisfies
    ``depth(x) > tol ||x||_inf`` with the error bound of ``depth(x)`` (`certified_depth`), which is
    returned with it. An answer that fails, or passes by less than ``_config.BORDERLINE`` times
    the threshold, is solved again in its own units when they are far from ``scale``
    (`answer_units`; at most three LPs in all); when nothing proves it, the LP is solved again in
    the units of rows much nearer than ``scale`` (`_nearer_units`), where there are any.

    Parameters
    ----------
    first : an answer of the same LP in units of ``scale`` already solved elsewhere (the
        engine's warm-started model, `depth_lps.CellDepth`): checked instead of the first LP.
    bounds : ``(lo, hi)``, a box the polyhedron also lies in, its faces counted in the depth
        (a cell of a box domain: the box is kept once, as bounds, not as ``2 d`` rows of ``A``).
    """
    global _undecided
    A = np.asarray(A, dtype=np.float64)
    c = np.asarray(c, dtype=np.float64)
    every = lp.with_box(c, bounds)
    if scale is None or not np.isfinite(scale) or scale <= 0:
        scale = float(np.max(np.abs(every), initial=0.0)) or 1.0
    unsure = False
    for k, units in enumerate([scale] + _nearer_units(every, scale)):
        x = first if k == 0 and first is not None else lp.relative_depth(A, c, tol, units, bounds)
        best, best_r, maybe = _settle(A, c, tol, units, x, bounds)
        unsure = unsure or maybe
        if best is not None:
            return _deeper_in_full_units(A, c, tol, units, best, best_r, bounds)
    _undecided += unsure
    return None, -np.inf


def _deeper_in_full_units(A, c, tol, units, x, r, bounds=None):
    """``(x, r)``, or a deeper point when ``x`` proves the rule only narrowly (by less than
    ``_config.BORDERLINE`` times the threshold) and the LP in ``units`` dropped far rows
    (`depth_lps._offsets`): its answer may then sit at a far face it did not see, in a region that
    is deep elsewhere. One more LP in units of the farthest row, where every row is kept."""
    size = float(np.max(np.abs(x), initial=0.0))
    full = float(np.max(np.abs(lp.with_box(c, bounds)), initial=0.0))
    if r > _config.BORDERLINE * tol * size or not full > 2 * units:
        return x, r
    y, ry, _ = _settle(A, c, tol, full, lp.relative_depth(A, c, tol, full, bounds), bounds)
    if y is not None and ry / max(float(np.max(np.abs(y), initial=0.0)), _TINY) > r / max(size, _TINY):
        return y, ry
    return x, r


_TINY = float(np.finfo(np.float64).tiny)


def _settle(A, c, tol, scale, x, bounds=None):
    """``(point, depth, unsure)`` from an LP's answer ``x`` in units of ``scale``: the answer if it
    proves the rule, else the best of at most two more answers in the units `answer_units`
    picks; ``(None, -inf, unsure)`` when none proves it (``unsure``: one passed only without the
    error bound of its depth)."""
    best, best_r, best_margin, unsure = None, -np.inf, -np.inf, False
    for attempt in range(3):
        if x is None:
            break
        r = certified_depth(A, c, x, bounds)
        size = float(np.max(np.abs(x), initial=0.0))
        if r > tol * size:  # `witness_counts`
            margin = r / size if size > 0 else np.inf
            if margin > best_margin:
                best, best_r, best_margin = x, r, margin
            if r > _config.BORDERLINE * tol * size:
                break
        else:  # passes without the error bound: float64 cannot tell at this point
            unsure = unsure or depth(A, c, x, bounds) > tol * size
        scale = answer_units(x, r, scale)
        if scale is None or attempt == 2:
            break
        x = lp.relative_depth(A, c, tol, scale, bounds)
    return best, best_r, unsure


def _nearer_units(c, scale) -> list:
    """Smaller units to try a depth LP in when it found nothing in units of ``scale``: the row
    offsets ``|c|`` that are each ``2^20`` times nearer than the last tried. A polyhedron whose
    rows span far more than that (a region near the origin of a huge domain, whose faces hold
    at ``1e21``) is below HiGHS's tolerances in the far rows' units; in the near rows' the far
    ones are dropped (`depth_lps._offsets`) and its sides are clear."""
    out, last = [], scale
    for v in np.sort(np.unique(np.abs(c[c != 0])))[::-1]:
        if v * 2.0 ** 20 < last and len(out) < 64:
            out.append(float(v))
            last = v
    return out


_undecided = 0


def undecided_count() -> int:
    """How many `deepest_point` calls of this process float64 could not settle: an LP's point is
    deeper than ``tol ||x||`` only within the error bound of its depth, and no point proved the
    polyhedron (a region at the threshold to rounding; not counted, but reported: the engine adds
    these to the run's ``borderline``, as it counts LPs, by difference)."""
    return _undecided


def answer_units(x, r, scale):
    """The units to solve a depth LP again in, after its answer ``x`` (depth ``r``) failed the
    float64 check or passed it narrowly: the answer's own length when it is far (16x) from the
    LP's ``scale``, else None.

    Smaller: HiGHS's tolerances were too coarse for a small cell. Larger: the cell's deep points
    lie far from where it was guessed (a far region of an unbounded cell), where ``depth`` and
    ``tol ||x||`` exceed the LP's objective cap (1, in units of ``scale``) and its tolerances are
    too fine for float64.
    """
    own = max(float(np.max(np.abs(x), initial=0.0)), r if np.isfinite(r) else 0.0)
    return own if 0 < own < scale / 16 or own > 16 * scale else None


class Rule:
    """The contract in the coordinates a problem is solved in (here: the input space).

    The engine asks two questions of a cell ``{A x <= c}`` (unit rows): does a ball already known
    inside it prove that it counts (`witness`), and, if not, which point proves it (`deepest`,
    one LP)? `homogeneous.LiftedRule` answers the same questions for the lifted whole space.
    """

    #: the input dimension of the network whose regions the cells stand for, when the cells are
    #: lifted (`nncells.engine.lifting`: the last coordinate is ``t``); None when cells are regions
    lifted_dim: int | None = None

    def __init__(self, tol: float | None = None):
        self.tol = float(_config.DEFAULT_TOL if tol is None else tol)

    def witness(self, point, radius) -> bool:
        """Whether the ball ``(point, radius)`` inside a cell proves that the cell counts."""
        return bool(self.witnesses(np.asarray(point)[None, :], np.array([radius]))[0])

    def witnesses(self, points, radii) -> np.ndarray:
        """`witness` for many balls at once (rows of ``points``)."""
        return radii > self.tol * np.max(np.abs(points), axis=1, initial=0.0)

    def deepest(self, A: np.ndarray, c: np.ndarray, scale: float | None = None,
                bounds: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray | None, float]:
        """``(x, depth)`` proving that ``{A x <= c}`` (within the box ``bounds``, when given)
        counts, or ``(None, -inf)`` (a sliver)."""
        return deepest_point(A, c, self.tol, scale, bounds=bounds)

    @staticmethod
    def scale_of(point, radius) -> float:
        """The length in which a cell around ``point`` with inscribed ``radius`` is measured."""
        s = float(np.max(np.abs(point), initial=0.0))
        if np.isfinite(radius):
            s = max(s, float(radius))
        return s or 1.0
