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
"""
from __future__ import annotations

import numpy as np

from nncells.geometry.contract import Rule, deepest_point, depth
from nncells.domains import Box, Space
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
    return Network(Ws, bs)


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

    def _down(self, A, c):
        """The x-space rows (unit norm) of a lifted cell, or None when one of them is empty."""
        A = A[self.n_box:]
        a, at = A[:, :self.d], -A[:, self.d]
        n = np.linalg.norm(a, axis=1)
        # a row on t alone: t >= 0 always holds, t <= 0 never (a neuron whose y part is within
        # rounding of zero is constant and never cuts: `tasks._children`; a tiny y part is a far
        # hyperplane, kept)
        flat = n == 0
        if np.any(flat & (at < 0)):
            return None
        a, at, n = a[~flat], at[~flat], n[~flat]
        return a / n[:, None], at / n

    def witnesses(self, points, radii):
        # a lifted ball of radius r at (y, t) holds, at height t, the d-ball (y, r): so R holds the
        # ball (y / t, r / t), which proves the rule iff r > tol ||y||_inf
        return (points[:, self.d] > 0) & super().witnesses(points[:, :self.d], radii)

    def deepest(self, A, c, scale=None):
        rows = self._down(A, c)
        if rows is None:
            return None, -np.inf
        a, at = rows
        if len(a):
            x, r = deepest_point(a, at, self.tol)
            if x is None:
                return None, -np.inf
        else:
            x = np.zeros(self.d)
        t = 0.5 / max(1.0, float(np.max(np.abs(x), initial=0.0)))
        y = np.append(x * t, t)
        r = depth(A, c, y)
        if not r > 0:
            return None, -np.inf
        return y, r

    @staticmethod
    def scale_of(point, radius):
        return 1.0


class Lift:
    """How a lifted problem's finished regions map back to the original network's."""

    def __init__(self, network: Network, lam: float, tol: float):
        self.network = network
        self.lam = lam
        self.rule = Rule(tol)  # the contract in the original space (for `Problem.finish`)
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
        return Batch(patterns, x, _inradius(net, patterns, x), batch.ranks - 1)

    def from_core(self, batch: Batch) -> Batch:
        """Regions the compiled core gave in x-space (points ``y / t`` and their depths there, in
        units of ``lam``; see `nncells.engine.compiled`) as regions of the original network."""
        return Batch(batch.patterns[:, self.cols], self.lam * batch.points, self.lam * batch.radii,
                     batch.ranks - 1)


def homogeneous_problem(problem: Problem, max_dim: int) -> Problem | None:
    """The bounded problem equivalent to ``problem`` on the whole space, or None when the
    domain is not the whole space or the lifted dimension exceeds ``max_dim``."""
    net = problem.network
    if not isinstance(problem.domain, Space) or net.input_dim + 1 > max_dim or not net.widths:
        return None
    d = net.input_dim
    lam = network_length(net)
    box = Box(np.r_[-np.ones(d), 0.0], np.ones(d + 1)).resolve(d + 1)
    return Problem(homogenize(net, lam), box, problem.tol, LiftedRule(problem.tol, d),
                   Lift(net, lam, problem.tol), box.bounds(), problem.backend, problem.count_only, problem.facets)


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
            norm = np.sqrt((G * G).sum(axis=2))
            ok = norm > 0
            slack = np.where(s, z, -z) / np.where(ok, norm, 1.0)
            best = np.minimum(best, np.min(np.where(ok, slack, np.inf), axis=1, initial=np.inf))
            M, m = G * s[:, :, None], g * s
        r[lo:lo + chunk] = best
    return r
