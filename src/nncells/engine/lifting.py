"""The whole space as a bounded problem, through homogeneous coordinates.

A ReLU network ``f`` on R^d becomes a positively homogeneous network on R^(d+1):
``F(y, t) = t f(lam y / t)`` for ``t > 0`` (biases multiply ``t``, and every hidden layer gets one
extra neuron that carries ``t`` forward: it is active wherever ``t > 0``). ``lam`` is the
network's own length (`engine.network_length`, a power of two), so the lifted problem is the
same whatever the input units. Each region ``R`` of ``f`` becomes the cone over ``R``, and every
full-dimensional cone meets the box ``[-1, 1]^d x [0, 1]`` in a full-dimensional set (it
contains the origin in its closure). So the regions of ``f`` on R^d are exactly the regions of
``F`` in that box, which is bounded: vertex mode decides every cut without an LP, also for
unbounded regions. A region's point is ``lam y / t`` of its cone's point; its rank drops by one
(the ``t`` column).

The contract is applied in the original space, not to the cones: `LiftedRule` maps a lifted
cell back (``x = y / t``, the cut rows ``a y + a_t t <= 0`` become ``a x <= -a_t``) and asks
whether that region holds a point deeper than ``tol ||x||_inf``; a far region is a thin cone,
but it counts exactly as it would in a box around it.

A box reaching much farther than the network's length (``_config.LIFT_BOX_RATIO``) is lifted
too: its regions are the cones in the lifted box that also lie in the cone over the box, ``t lo_i <= lam y_i <= t hi_i`` (`box_cone`); its root's vertices are exact. In the box
itself the vertices near the origin would be clipped out of edges as long as the box, with
errors of order ``eps`` times its size: a region of the network's own size near the origin is
lost once the box is about ``tol / eps`` times larger; lifted, it is of size about 1, and the
box's far faces are far hyperplanes like any other.
"""
from __future__ import annotations

import numpy as np

from nncells import _config
from nncells.engine.cells import Cell
from nncells.engine.vertex import box_vertices, corner_sides, cut_away
from nncells.errors import DomainError
from nncells.geometry.contract import Rule, deepest_point, depth
from nncells.geometry.norms import row_norms, unit
from nncells.domains import Ball, Box, Polytope, Space
from nncells.engine.tasks import Batch, Problem, network_length
from nncells.network import Network


def homogenize(net: Network, lam: float = 1.0) -> Network:
    """The network ``F(y, t) = t f(lam y / t)`` with one pass-through neuron for ``t`` per hidden
    layer (the last neuron of each hidden layer)."""
    Ws, bs = [], []
    n_layers = len(net.weights)
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        Wx = W * lam if i == 0 else W
        Wh = np.hstack([Wx, b[:, None]])  # the previous layer's last unit is t (or the input t)
        if i < n_layers - 1:
            carry = np.zeros((1, Wh.shape[1]))
            carry[0, -1] = 1.0
            Wh = np.vstack([Wh, carry])
        Ws.append(Wh)
        bs.append(np.zeros(Wh.shape[0]))
    return Network(Ws, bs, [np.append(mask, False) for mask in net.linear])


class LiftedRule(Rule):
    """The contract for cells of the lifted box, decided on the regions they stand for.

    The first ``n_box`` rows of every lifted cell are the box's (they come first from the root);
    the others are homogeneous (``a y + a_t t <= 0``) and map to ``a x <= -a_t`` in ``x = y / t``
    (units of ``lam``; the rule is homogeneous, so the units do not matter).
    """

    def __init__(self, tol: float, d: int):
        super().__init__(tol)
        self.d = d
        self.lifted_dim = d
        self.n_box = 2 * (d + 1)

    def region(self, A, c):
        """The x-space rows ``(a, at)`` (``a x <= at``, unit rows, units of ``lam``) of the region a
        lifted cell stands for, or None when one of them is empty."""
        A = A[self.n_box:]
        a, at = A[:, :self.d], -A[:, self.d]
        n = row_norms(a)
        # a row on t alone: t >= 0 always holds, t <= 0 never (a neuron whose y part is within
        # rounding of zero is constant and never cuts: `tasks._children`; a tiny y part is a far
        # hyperplane, kept)
        flat = n == 0
        if np.any(flat & (at < 0)):
            return None
        a, at, n = a[~flat], at[~flat], n[~flat]
        return a / n[:, None], at / n

    @staticmethod
    def lift_point(x):
        """A lifted point standing for ``x`` (units of ``lam``): halfway up the lifted box."""
        t = 0.5 / max(1.0, float(np.max(np.abs(x), initial=0.0)))
        return np.append(x * t, t)

    def witnesses(self, points, radii):
        # a lifted ball of radius r at (y, t) holds, at height t, the d-ball (y, r): so R holds the
        # ball (y / t, r / t), which proves the rule iff r > tol ||y||_inf
        return (points[:, self.d] > 0) & super().witnesses(points[:, :self.d], radii)

    def deepest(self, A, c, scale=None):
        rows = self.region(A, c)
        if rows is None:
            return None, -np.inf
        a, at = rows
        if len(a):
            x, r = deepest_point(a, at, self.tol)
            if x is None:
                return None, -np.inf
        else:
            x = np.zeros(self.d)
        y = self.lift_point(x)
        r = depth(A, c, y)
        if not r > 0:
            return None, -np.inf
        return y, r

    @staticmethod
    def scale_of(point, radius):
        return 1.0


class Lift:
    """How a lifted problem's finished regions map back to the original network's.

    ``domain``: the original domain (`Space`, or a box, polytope or ball lifted with it:
    `box_cone`, `polytope_cone`);
    ``root``: the lifted root cell's exact ``(vertices, active, vmag)``, or None (the lifted box's
    corners, found by `tasks.Problem.root_task`).
    """

    def __init__(self, network: Network, lam: float, tol: float, domain=None, root=None):
        self.network = network
        self.lam = lam
        self.rule = Rule(tol)  # the contract in the original space (for `Problem.finish`)
        self.domain = Space(network.input_dim) if domain is None else domain
        self.root = root
        cols, start = [], 0  # pattern columns of the lifted network without the pass-through neurons
        for w in network.widths:
            cols.extend(range(start, start + w))
            start += w + 1
        self.cols = np.array(cols, dtype=np.int64)

    def down(self, batch: Batch) -> Batch:
        """The lifted regions as regions of the original network (points ``lam y / t``)."""
        net = self.network
        d = net.input_dim
        if len(batch) == 0:
            return Batch.concat([], net.n_hidden, d, len(net.widths))
        y = batch.points
        x = self.lam * y[:, :-1] / y[:, -1:]
        patterns = batch.patterns[:, self.cols]
        r = _inradius(net, patterns, x)
        Ad, bd = self.domain.halfspaces()
        if len(bd):  # and the distance to the domain's faces (a ball's: its bounding box's)
            n = row_norms(Ad)
            r = np.minimum(r, np.min((bd - x @ Ad.T) / n, axis=1))
        if isinstance(self.domain, Ball) and self.domain.norm == 2:  # and to its sphere
            r = np.minimum(r, self.domain.radius - np.linalg.norm(x - self.domain.center, axis=1))
        return Batch(patterns, x, r, batch.ranks - 1)

    def from_core(self, batch: Batch) -> Batch:
        """Regions the compiled core gave in x-space (points ``y / t`` and their depths there, in
        units of ``lam``; see `nncells.engine.compiled`) as regions of the original network."""
        return Batch(batch.patterns[:, self.cols], self.lam * batch.points, self.lam * batch.radii,
                     batch.ranks - 1)


def homogeneous_problem(problem: Problem, max_dim: int) -> Problem | None:
    """The bounded problem equivalent to ``problem`` one dimension up, or None when the domain
    is neither the whole space nor a box far larger than the network's length (`lifted_box`), or
    the network has more than ``max_dim`` inputs (vertex mode runs lifted cells one dimension above
    ``_config.VERTEX_MAX_DIM``: 6 inputs lifted measured 10x faster than LP mode on 6-12-12-1)."""
    net = problem.network
    if net.input_dim > max_dim or not net.widths:
        return None
    d = net.input_dim
    lam = network_length(net)
    box = _lifted_box(d)
    if isinstance(problem.domain, Space):
        return Problem(homogenize(net, lam), box, problem.tol, LiftedRule(problem.tol, d),
                       Lift(net, lam, problem.tol), box.bounds(), problem.backend, problem.count_only,
                       problem.facets)
    rule = LiftedRule(problem.tol, d)
    bounds = Box(*problem.domain.bounds()) if isinstance(problem.domain, Ball) else problem.domain
    if lifted_box(bounds, lam):  # (a ball: its bounding box; its step is `ball.refine`'s)
        A, c, root = box_cone(bounds, lam)
    elif _lifted_polytope(problem, lam):
        A, c, root = polytope_cone(problem.domain, lam, rule)
    else:
        return None
    return Problem(homogenize(net, lam), Polytope(A, c), problem.tol, rule,
                   Lift(net, lam, problem.tol, problem.domain, root), box.bounds(), problem.backend,
                   problem.count_only, problem.facets)


def _lifted_box(d: int) -> Box:
    """The lifted box ``[-1, 1]^d x [0, 1]``: its rows are the first ``LiftedRule.n_box`` of every
    lifted cell (``y_i <= 1``, ``t <= 1``, ``-y_i <= 1``, ``-t <= 0``)."""
    return Box(np.r_[-np.ones(d), 0.0], np.ones(d + 1)).resolve(d + 1)


def _cone_rows(domain, lam: float) -> np.ndarray:
    """The cone over a box or polytope ``{A x <= b}`` in lifted coordinates: ``lam a_i y - b_i t
    <= 0``, unit rows, in the order of its half-spaces."""
    Ad, bd = domain.halfspaces()
    return unit(np.hstack([lam * Ad, -bd[:, None]]))


def _lifted_polytope(problem: Problem, lam: float) -> bool:
    """A polytope is lifted like a box when its bounding box is (`lifted_box`), and it has no zero
    rows (constants, not half-spaces)."""
    if not isinstance(problem.domain, Polytope) or problem.box is None:
        return False
    A, _ = problem.domain.halfspaces()
    return bool(np.all(np.any(A != 0, axis=1)) and lifted_box(Box(*problem.box), lam))


def polytope_cone(P: Polytope, lam: float, rule: "LiftedRule"):
    """The lifted root of a polytope ``{A x <= b}``: the lifted box ``[-1, 1]^d x [0, 1]`` (exact
    corners) cut by the cone over the polytope, ``lam a_i y - b_i t <= 0`` row by row, each cut
    clipped as a split clips (`vertex.cut_away`: vertex magnitudes coordinate by coordinate, so
    a far face, nearly ``t = 0`` here, is cut as accurately as a near one). Rows ``(A, c)`` (the
    lifted box's first, then one per row of the polytope, in order) and ``(V, active, vmag)``.

    Examples
    --------
    >>> A, c, (V, act, vmag) = polytope_cone(Polytope([[1.0], [-1.0]], [8.0, -2.0]), 1.0, LiftedRule(1e-9, 1))
    >>> sorted(map(tuple, V.round(12).tolist()))       # the cone over [2, 8], cut at y = 1
    [(0.0, 0.0), (1.0, 0.125), (1.0, 0.5)]
    """
    d = P.dim
    outer = _lifted_box(d)
    A0, c0 = outer.halfspaces()
    V, act, vmag = box_vertices(outer.lo, outer.hi)
    cell = Cell(A0, c0, V.mean(axis=0), 0.5, np.zeros((0, d + 1)), np.zeros(0), outer.bounds(), V, act, vmag)
    for h in _cone_rows(P, lam):
        cell = cut_away(cell, h, 0.0, rule)
        if cell is None:
            raise DomainError("polytope domain is empty or has no interior")
    return cell.A, cell.c, (cell.vertices, cell.active, cell.vmag)


def lifted_box(domain, lam: float) -> bool:
    """Whether ``domain`` is a box that is lifted: one reaching farther from the origin than
    ``_config.LIFT_BOX_RATIO`` times both the network's length and its own distance from the
    origin (a box far out but not much wider than its distance is resolved as it is).

    Examples
    --------
    >>> lifted_box(Box(-1e6, 1e6, dim=2), 1.0), lifted_box(Box(-10, 10, dim=2), 1.0)
    (True, False)
    >>> lifted_box(Box(1e6, 2e6, dim=2), 1.0), lifted_box(Box(1.0, 2e6, dim=2), 1.0)
    (False, True)
    """
    if not isinstance(domain, Box):
        return False
    reach = float(max(np.max(np.abs(domain.lo)), np.max(np.abs(domain.hi))))
    near = float(np.max(np.maximum(np.maximum(domain.lo, -domain.hi), 0.0)))
    return bool(reach > _config.LIFT_BOX_RATIO * max(lam, near))


def box_cone(box: Box, lam: float):
    """The lifted root of a box: rows ``(A, c)`` (unit rows: the lifted box ``[-1, 1]^d x [0, 1]``'s
    first, then the cone over the box, ``lam y_i - hi_i t <= 0`` and ``-lam y_i + lo_i t <= 0``, in
    the order of `Box.halfspaces`) and its exact vertices ``(V, active, vmag)``.

    The polytope is ``0 <= t <= T``, ``l_i(t) <= y_i <= u_i(t)`` with ``u_i = min(1, hi_i t / lam)``
    and ``l_i = max(-1, lo_i t / lam)``: a stack of boxes whose bounds bend where a cone row meets
    the lifted box (``t = lam / hi_i``, ``lam / -lo_i``). ``T`` is 1, or less for a box away from
    the origin: where a coordinate's bounds meet (``t = lam / lo_i`` for ``lo_i > 0``, ``lam / -hi_i``
    for ``hi_i < 0``). Its vertices are the apex (the origin), the corners at ``T``, and the corners
    at a bend that use a bending bound.

    Examples
    --------
    >>> A, c, (V, act, vmag) = box_cone(Box(-4.0, 4.0, dim=1), 1.0)
    >>> V.tolist()
    [[0.0, 0.0], [-1.0, 0.25], [1.0, 0.25], [-1.0, 1.0], [1.0, 1.0]]
    >>> box_cone(Box(2.0, 8.0, dim=1), 1.0)[2][0].tolist()   # [2, 8]: x = 8 at t = 1/8, x = 2 at T = 1/2
    [[0.0, 0.0], [1.0, 0.125], [1.0, 0.5]]
    """
    d = box.lo.size
    lo, hi = box.lo, box.hi
    A0, c0 = _lifted_box(d).halfspaces()
    A = np.vstack([A0, _cone_rows(box, lam)])   # x_i <= hi_i: lam y_i - hi_i t <= 0, then the lower
    c = np.r_[c0, np.zeros(2 * d)]
    with np.errstate(divide="ignore"):  # inf: never
        bend_hi = np.where(hi > 0, lam / np.where(hi > 0, hi, 1.0), np.inf)    # u_i reaches 1
        bend_lo = np.where(lo < 0, lam / np.where(lo < 0, -lo, 1.0), np.inf)   # l_i reaches -1
        meet = np.where(lo > 0, lam / np.where(lo > 0, lo, 1.0),               # l_i reaches 1
                        np.where(hi < 0, lam / np.where(hi < 0, -hi, 1.0), np.inf))  # u_i reaches -1
    top = float(min(1.0, np.min(meet)))
    met = meet == top                                   # the coordinates whose bounds meet at the top
    levels = np.unique(np.r_[bend_hi[bend_hi < top], bend_lo[bend_lo < top], top])
    upper = corner_sides(d)
    bend = np.where(upper, bend_hi, bend_lo)          # (corners, d): where each chosen bound bends
    n0 = len(A0)  # rows of the lifted box: y_i <= 1, t <= 1, -y_i <= 1, -t <= 0
    V = [np.zeros(d + 1)]
    act = [np.r_[np.zeros(n0 - 1, bool), True, np.ones(2 * d, bool)]]  # the apex: t >= 0, the cone
    for t in levels:
        found = {}
        for k in np.flatnonzero((t == top) | np.any(bend == t, axis=1)):
            capped = bend[k] <= t                          # the bound is the lifted box's (+-1)
            on_cone = bend[k] >= t                         # ... the cone's (both at a bend)
            y = np.where(upper[k], np.where(capped, 1.0, hi * t / lam), np.where(capped, -1.0, lo * t / lam))
            a = np.zeros(len(A), bool)
            a[:d] = upper[k] & capped
            a[d] = t == 1.0
            a[d + 1:2 * d + 1] = ~upper[k] & capped
            a[n0:n0 + d] = upper[k] & on_cone
            a[n0 + d:] = ~upper[k] & on_cone
            if t == top and met.any():  # a met coordinate: both bounds, one point (+-1), both rows
                y = np.where(met, np.where(lo > 0, 1.0, -1.0), y)
                a[:d] |= met & (lo > 0)
                a[d + 1:2 * d + 1] |= met & (hi < 0)
                a[n0:n0 + d] |= met & (hi < 0)
                a[n0 + d:] |= met & (lo > 0)
            key = y.tobytes()
            found[key] = (y, found[key][1] | a) if key in found else (y, a)
        for y, a in found.values():
            V.append(np.r_[y, t])
            act.append(a)
    V = np.array(V)
    return A, c, (V, np.array(act), np.abs(V))


def _inradius(net: Network, patterns, X, chunk: int = 4096) -> np.ndarray:
    """Distance from each point to the nearest hyperplane of its region (a ball inside it):
    ``min_j s_j z_j(x) / ||grad z_j||`` over the neurons, ``s_j = +-1`` by the pattern, with the
    regions' affine maps built for a block of points at once."""
    r = np.full(len(X), np.inf)
    for lo in range(0, len(X), chunk):
        P, x = patterns[lo:lo + chunk], X[lo:lo + chunk]
        n = len(x)
        M = np.broadcast_to(np.eye(net.input_dim), (n, net.input_dim, net.input_dim))
        m = np.zeros((n, net.input_dim))
        best = np.full(n, np.inf)
        for W, b, sl in zip(net.weights, net.biases, net.layer_slices):
            G = np.tensordot(M, W, axes=([1], [1])).transpose(0, 2, 1)  # (n, k, d): one product
            g = m @ W.T + b
            s = P[:, sl]
            z = (G * x[:, None, :]).sum(axis=2) + g
            norm = row_norms(G)
            ok = norm > 0
            slack = np.where(s, z, -z) / np.where(ok, norm, 1.0)
            best = np.minimum(best, np.min(np.where(ok, slack, np.inf), axis=1, initial=np.inf))
            M, m = G * s[:, :, None], g * s
        r[lo:lo + chunk] = best
    return r
