"""Witness balls of LP mode's splits: their caps on each side of a hyperplane (`caps`, within
`value_error`), and their mixtures (`mix_witness`): a point on the far side of a hyperplane
without an LP.

A convex combination of balls inside a convex cell holds the ball of the combined centre and
radius, and an affine function's value at the combined centre is the combination of its values.
So, for balls ``(p_b, r_b)`` inside a cell and rows ``a_e x <= c_e`` of a sub-cell (the earlier
cuts) and a side ``s h(x) > 0`` of a hyperplane, the mixture ``lambda`` is at least

    min(sum_b lambda_b r_b,  min_e sum_b lambda_b (c_e - a_e p_b),  sum_b lambda_b s h(p_b))

deep in the sub-cell on that side: the value of the matrix game ``M`` with these rows, which
`mixture_game.best_mixture` maximises. LP mode tries it before its LP, over all witness balls of a split
(`mix_witness`, the numpy twin of ``LpSplitter::mix`` in native/lp_split.hpp; the game is the
twin of native/lp_mix.hpp, in `mixture_game`). Nothing is trusted: the centre is certified in float64.
"""
from __future__ import annotations

import numpy as np

from nncells.geometry.contract import certified_depth, gamma
from nncells.geometry.mixture_game import MixtureGame


def value_error(P, R, n, g):
    """Bound of the error of ``P @ n + g`` and of the caps computed from it (`caps`).

    Examples
    --------
    >>> value_error(np.zeros((1, 2)), np.array([0.0]), np.array([1.0, 0.0]), 0.0).tolist()
    [0.0]
    """
    return gamma(len(n) + 1) * (np.abs(P) @ np.abs(n) + abs(g) + R)


def caps(P, R, vals, verr, n, positive):
    """The ball each ball ``(P, R)`` leaves on one side of the unit-normal hyperplane ``n x + g``
    (values ``vals`` at the centres, within ``verr``): radius ``min(r, (r +- v) / 2)`` less the
    error bound, centre moved ``max(0, (r -+ v) / 2)`` along the normal. Returns (centres, radii).

    Examples
    --------
    >>> centre, radius = caps(np.zeros((1, 2)), np.array([1.0]), np.array([0.0]), 0.0,
    ...                       np.array([1.0, 0.0]), True)
    >>> centre.tolist(), radius.tolist()
    ([[0.5, 0.0]], [0.5])
    """
    v = vals if positive else -vals
    shift = np.maximum(0.0, (R - v) / 2)
    return P + (shift if positive else -shift)[:, None] * n, np.minimum(R, (R + v) / 2 - verr)


MIX_ROUNDS = 8  # times the game takes in more balls (column generation)
MIX_ADD = 8  # balls taken in each time, those that improve it most


def mix_witness(P, R, hv, sub_A, sub_c, first, rows, n, g, positive, bounds, enough=np.inf):
    """The mixture of the balls ``(P, R)`` (values ``hv`` of ``h(x) = n x + g`` at the centres)
    deepest in the sub-cell with the extra rows ``sub_A x <= sub_c`` on the side ``h > 0``
    (``positive``) or ``h < 0``, certified in the sub-cell's rows ``rows = (A, c)`` and the box
    ``bounds``: ``(x, r)``, or ``(None, -inf)``.

    The game starts from the balls ``first`` (indices) and takes in, `MIX_ROUNDS` times at
    most, the `MIX_ADD` balls that beat the rows' optimal mixture most (ties: the first); it
    stops early where even the best of them is not above 0 (no mixture then reaches the side),
    and once the game's value is above ``enough`` (a depth that proves the side).

    Examples
    --------
    >>> P = np.array([[0.2, 0.5], [0.8, 0.5]])      # two balls of radius 0.1 in [0, 1]^2
    >>> box = (np.zeros(2), np.ones(2))
    >>> x, r = mix_witness(P, np.array([0.1, 0.1]), P[:, 0] - 0.5, np.array([[0.0, 1.0]]),
    ...                    np.array([0.55]), [0], (np.array([[0.0, 1.0]]), np.array([0.55])),
    ...                    np.array([1.0, 0.0]), -0.5, True, box)
    >>> bool(x[0] > 0.5 and r > 0)
    True
    """
    sgn = 1.0 if positive else -1.0
    if not np.any(sgn * hv > 0):
        return None, -np.inf
    M = np.vstack([R, sgn * hv, sub_c[:, None] - sub_A @ P.T])  # (rows, balls)
    pool = list(dict.fromkeys(int(b) for b in first))
    game = MixtureGame(len(M))
    game.add(M[:, pool])
    for round_ in range(MIX_ROUNDS + 1):
        solved = game.solve()  # (from its last optimum)
        if solved is None:
            return None, -np.inf
        value, lam, y = solved
        if value > enough:
            break
        price = y @ M
        price[pool] = -np.inf
        bar = value + 1e-12 * max(1.0, abs(value))
        if not max(value, float(price.max())) > 0:
            return None, -np.inf
        better = np.flatnonzero(price > bar)
        if len(better) == 0 or round_ == MIX_ROUNDS:
            break
        order = better[np.lexsort((better, -price[better]))][:MIX_ADD]
        pool += order.tolist()
        game.add(M[:, order])
    if not value > 0:
        return None, -np.inf
    x = np.clip(lam @ P[pool], bounds[0], bounds[1])
    r = certified_ball(rows[0], rows[1], x, n, g, positive, bounds)
    return (x, r) if r > 0 else (None, -np.inf)


def certified_ball(A, c, x, n, g, positive, bounds=None) -> float:
    """The radius of a ball around ``x`` certified inside ``{A x <= c}`` (unit rows; and the box
    ``bounds``, when given) and on the side ``n x + g > 0`` (``positive``) or ``< 0`` of the
    unit-normal hyperplane: the least of the depth and the distance to the hyperplane, each less
    its error bound (a ray's or a mixture's point, not trusted before this).

    Examples
    --------
    >>> A, c = np.array([[1.0, 0.0]]), np.array([1.0])   # x_1 <= 1; the hyperplane x_1 = 0
    >>> r = certified_ball(A, c, np.array([0.25, 0.0]), np.array([1.0, 0.0]), 0.0, True)
    >>> bool(0.25 - 1e-12 < r < 0.25)  # 0.25 from the hyperplane, less its error bound
    True
    """
    sgn = 1.0 if positive else -1.0
    to_h = sgn * float(n @ x + g) - gamma(len(x) + 1) * (float(np.abs(n) @ np.abs(x)) + abs(g))
    return min(certified_depth(A, c, x, bounds), to_h)
