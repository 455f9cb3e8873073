"""The Euclidean ball's step: keep the cells of the arrangement that meet the ball.

The engine enumerates inside the ball's bounding box; after every split, `keep_in_ball` keeps a
cell iff its closest point to the centre is strictly inside the ball (by the contract's margin
``tol (||center||_inf + radius)``, see `nncells.geometry.contract`), and gives it a point deep
inside ``cell ∩ ball`` (closed form, no step limit). With ``norm="inf"`` the ball is a box and
every cell is kept as it is.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from nncells.domains import Ball, Domain
from nncells.engine.cells import Cell
from nncells.geometry.contract import Rule, depth
from nncells.geometry.solvers import distance_to_polyhedron


def refine(domain: Domain, cell, rule, lift=None):
    """The cell as the domain keeps it (None when it does not meet a Euclidean ball domain); in a
    lifted problem (``lift``, `nncells.engine.lifting.Lift`) the ball is ``lift.domain``."""
    if lift is not None:
        if isinstance(lift.domain, Ball) and lift.domain.norm == 2:
            return keep_in_lifted_ball(lift.domain, lift.lam, cell, rule)
        return cell
    if isinstance(domain, Ball) and domain.norm == 2:
        return keep_in_ball(domain, cell, rule)
    return cell


def keep_in_lifted_ball(ball: Ball, lam: float, cell, rule):
    """`keep_in_ball` for a cell of a lifted problem (a huge ball: `nncells.engine.lifting`): the
    step is taken in ``x = y / t`` (units of ``lam``) on the region the cell stands for
    (`LiftedRule.region`), and the point it finds is lifted back, halfway up the lifted box."""
    got = rule.region(cell.A, cell.c)
    if got is None:
        return None
    a, at = got
    x = cell.point[:-1] / cell.point[-1]
    xcell = Cell(a, at, x, depth(a, at, x), np.zeros((0, len(x))), np.zeros(0))
    kept = keep_in_ball(Ball(ball.center / lam, ball.radius / lam, dim=len(x)), xcell, Rule(rule.tol))
    if kept is None:
        return None
    y = rule.lift_point(kept.point)
    r = depth(cell.A, cell.c, y)
    return replace(cell, point=y, radius=r) if r > 0 else cell


def keep_in_ball(ball: Ball, cell, rule):
    """``cell`` (inside the ball's bounding box) with a point deep in ``cell ∩ ball``, or None.

    Examples
    --------
    >>> import numpy as np
    >>> from nncells.engine.cells import Cell
    >>> from nncells.geometry.contract import Rule
    >>> A = np.array([[-1.0, -1.0]]) / np.sqrt(2)   # the cap (x + y) / sqrt(2) >= 0.9999
    >>> c = np.array([-0.9999])
    >>> cell = Cell(A, c, np.array([0.75, 0.75]), 0.1, np.zeros((0, 2)), np.zeros(0))
    >>> kept = keep_in_ball(Ball([0.0, 0.0], 1.0), cell, Rule())
    >>> bool(np.linalg.norm(kept.point) < 1 and kept.radius > 0)
    True
    """
    A, c = cell.A, cell.c  # unit rows
    center, r = ball.center, ball.radius
    # The cell meets the ball in a full-dimensional set iff its closest point to the centre
    # is strictly inside; "strictly" by the contract's margin, in the ball's own numbers.
    margin = rule.tol * (float(np.max(np.abs(center))) + r)
    P = np.vstack([cell.point[None, :], cell.wit_points])
    R = np.concatenate([[cell.radius], cell.wit_radii])
    ball_depth = r - np.linalg.norm(P - center, axis=1)
    rad = np.minimum(R, ball_depth)
    best = int(np.argmax(rad))
    if rule.witness(P[best], rad[best]) and rad[best] > margin:
        return replace(cell, point=P[best].copy(), radius=float(rad[best]))
    if np.any(A @ center - c >= r):  # one half-space already misses the ball
        return None
    dist, q = distance_to_polyhedron(A, c, center, scale=r)
    if q is None or not dist < r - margin:
        return None
    # q: the cell's closest point to the centre; p: the cell's deepest known point (depth R).
    # Along q + s (p - q) the cell's depth is >= s R and the ball's >= (r - dist) - s |p - q|
    # (both concave), so s = (r - dist) / (R + |p - q|) gives a point deep in both.
    i = int(np.argmax(R))
    p, Rp = P[i], float(R[i])
    s = (r - dist) / (Rp + float(np.linalg.norm(p - q)))
    x = q + min(s, 1.0) * (p - q)
    radius = min(depth(A, c, x), r - float(np.linalg.norm(x - center)))
    if not radius > 0:
        return None
    return replace(cell, point=x, radius=radius)
