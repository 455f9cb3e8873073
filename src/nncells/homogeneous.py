"""The whole space as a bounded problem, through homogeneous coordinates.

A ReLU network ``f`` on R^d becomes a positively homogeneous network on R^(d+1):
``F(x, t) = t f(x / t)`` for ``t > 0`` (biases multiply ``t``, and every hidden layer gets one
extra neuron that carries ``t`` forward: it is active wherever ``t > 0``). Each region ``R`` of
``f`` becomes the cone over ``R``, and every full-dimensional cone meets the box
``[-1, 1]^d x [0, 1]`` in a full-dimensional set (it contains the origin in its closure). So the
regions of ``f`` on R^d are exactly the regions of ``F`` in that box, which is bounded: vertex mode
decides every cut without an LP, also for unbounded regions. A region's point is ``x / t`` of
its cone's point; its rank drops by one (the ``t`` column).

The sliver rule then applies to the cones in the box (angular width), not to the regions in
R^d: a region counts iff its cone holds a ball of radius > ``tol`` in the box.
"""
from __future__ import annotations

import numpy as np

from .domain import Box, Space
from .engine import Batch, Problem
from .network import Network


def homogenize(net: Network) -> Network:
    """The network ``F(x, t) = t f(x / t)`` with one pass-through neuron for ``t`` per hidden layer
    (the last neuron of each hidden layer)."""
    Ws, bs = [], []
    n_layers = len(net.weights)
    for i, (W, b) in enumerate(zip(net.weights, net.biases)):
        Wh = np.hstack([W, b[:, None]])  # the previous layer's last unit is t (or the input t)
        if i < n_layers - 1:
            carry = np.zeros((1, Wh.shape[1]))
            carry[0, -1] = 1.0
            Wh = np.vstack([Wh, carry])
        Ws.append(Wh)
        bs.append(np.zeros(Wh.shape[0]))
    return Network(Ws, bs)


def homogeneous_problem(problem: Problem, max_dim: int) -> Problem | None:
    """The bounded problem equivalent to ``problem`` on the whole space, or None when the
    domain is not the whole space or the lifted dimension exceeds ``max_dim``."""
    net = problem.network
    if not isinstance(problem.domain, Space) or net.input_dim + 1 > max_dim or not net.widths:
        return None
    d = net.input_dim
    box = Box(np.r_[-np.ones(d), 0.0], np.ones(d + 1)).resolve(d + 1)
    tol = problem.tol / problem.domain.scale
    return Problem.make(homogenize(net), box, tol)


class DehomogenizingSink:
    """Maps batches of the lifted problem back to the original network's regions."""

    def __init__(self, sink, network: Network):
        self.sink = sink
        self.network = network
        # pattern columns of the lifted network without the pass-through neurons
        cols, start = [], 0
        for w in network.widths:
            cols.extend(range(start, start + w))
            start += w + 1
        self.cols = np.array(cols, dtype=np.int64)

    @property
    def count(self):
        return self.sink.count

    def add(self, batch: Batch):
        if len(batch) == 0:
            return
        y = batch.points
        x = y[:, :-1] / y[:, -1:]
        patterns = batch.patterns[:, self.cols]
        self.sink.add(Batch(patterns, x, _inradius(self.network, patterns, x), batch.ranks - 1))

    def flush(self):
        return self.sink.flush()


def _inradius(net: Network, patterns, X) -> np.ndarray:
    """Distance from each point to the nearest hyperplane of its region (a ball inside it)."""
    r = np.full(len(X), np.inf)
    for i, (p, x) in enumerate(zip(patterns, X)):
        G, h = net.region_halfspaces(p)
        n = np.linalg.norm(G, axis=1)
        ok = n > 0
        r[i] = np.min((h[ok] - G[ok] @ x) / n[ok], initial=np.inf)
    return np.minimum(r, 1.0)
