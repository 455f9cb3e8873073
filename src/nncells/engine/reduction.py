"""Exact dimension reduction: enumerate in the row space of the first layer.

Every hyperplane of every layer of a ReLU network is, on each region, a combination of the
first layer's rows pulled back (``W_l D ... D W_1``), so the arrangement only varies along the row
space of ``W_1`` (rank ``r <= n_1``, often far below the input dimension ``d``: 784 inputs, 8
neurons). Where the domain is invariant along its null space too (the whole space, or a polytope
whose rows lie in that row space), every region is a cylinder ``R x null(W_1)``: enumerating the
sections ``R`` in ``r`` dimensions gives the same regions with the same patterns.

`reduced_problem` builds that problem: an orthonormal basis ``Q`` (d x r) of the row space
(`row_space`), the network with first layer ``W_1 Q`` (the other layers unchanged), the domain
``Space(r)`` or ``Polytope(A Q, b)``. Its regions are mapped back by `Reduction.up` (run by
`tasks.Problem.finish` after the reduced problem's own finishing, the homogeneous lift's mapping
back included): ``z -> x = Q z`` (the least-norm point of the fibre; its distance to the region's
boundary is ``z``'s in the section, as ``Q`` is orthonormal and the region a cylinder), every
point checked in a float64 forward pass of the original network and in its domain, and repaired
where it disagrees (`tasks.verify_points`).

The contract in reduced coordinates. nncells counts a region iff it holds a point ``x`` deeper
than ``tol ||x||_inf``. Depths are the same in ``z`` and ``x = Q z + n`` (``n`` in the null
space), but the norms differ: ``||x||_inf >= ||x||_2 / sqrt(d) >= ||z||_2 / sqrt(d)``. So every region
counting in ``x`` holds a ``z`` deeper than ``(tol / sqrt(d)) ||z||_inf``: the reduced problem is
solved with that threshold, and finds every region the input space's rule counts. The few it
finds beyond (a region of margin below ``tol`` at its point ``Q z``) are decided by the
input-space rule itself, one LP each in ``d`` variables (`Reduction.settle`): kept with that LP's
point, or dropped and reported as borderline. The answer is the input space's, as far as float64
decides it; the borderline count is taken in ``x``. The driver applies the reduction before the
homogeneous lift (`nncells.run.driver.run`; the summary reports ``reduced_dim``);
``_config.REDUCE = False`` switches it off.

What is dropped: the row space's rank is decided from the singular values of ``W_1``'s unit rows,
below ``gamma(max(n_1, d))`` times the largest (`contract.gamma`: the SVD's own error bound); a
domain row is in the row space when its unit row is within ``gamma(d + n_1 + m)`` of it. A
direction dropped there tilts a hyperplane by an angle of that size: a region that exists only
through it is thinner than that relative to its distance from the origin, far below the
threshold.

Examples
--------
>>> import nncells
>>> net = nncells.random_network([12, 3, 4, 1], seed=0)
>>> small = reduced_problem(Problem.make(net, nncells.Space()))
>>> small.network.input_dim, small.reduction.dim
(3, 3)
>>> s = nncells.count_regions(net, nncells.Space(), workers=1)
>>> s["reduced_dim"], s["regions"] == nncells.count_regions(nncells.Network(
...     [net.weights[0] @ small.reduction.Q, net.weights[1], net.weights[2]], net.biases), workers=1)["regions"]
(3, True)
"""
from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from nncells import _config
from nncells.domains import Domain, Polytope, Space
from nncells.engine.tasks import Batch, Problem, Stats, redo_points, verify_points
from nncells.geometry.contract import Rule, borderline_count, gamma
from nncells.geometry.norms import row_norms, unit
from nncells.network import Network


def row_space(W: np.ndarray) -> np.ndarray:
    """An orthonormal basis ``Q`` (d x r, columns) of the row space of ``W`` (n x d).

    The rows are scaled to unit norm first (a neuron's scale is no part of its hyperplane; zero
    rows are constant neurons and dropped), and the rank counts the singular values above
    ``gamma(max(n, d))`` times the largest. Each column's sign is fixed (its largest entry
    positive), so ``Q`` does not depend on the SVD's choice of signs.

    Examples
    --------
    >>> W = np.array([[1.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 3.0, 4.0]])
    >>> Q = row_space(W)
    >>> Q.shape, bool(np.allclose(Q.T @ Q, np.eye(2))), bool(np.allclose(W @ Q @ Q.T, W))
    ((3, 2), True, True)
    >>> row_space(np.zeros((2, 3))).shape
    (3, 0)
    """
    W = np.asarray(W, dtype=np.float64)
    U = unit(W)
    U = U[np.any(U != 0, axis=1)]
    if len(U) == 0:
        return np.zeros((W.shape[1], 0))
    _, s, Vt = np.linalg.svd(U, full_matrices=False)
    r = int(np.count_nonzero(s > s[0] * gamma(max(U.shape))))
    Q = Vt[:r].T
    top = np.argmax(np.abs(Q), axis=0)
    return np.ascontiguousarray(Q * np.where(Q[top, np.arange(r)] < 0, -1.0, 1.0))


def invariant(A: np.ndarray, Q: np.ndarray, n1: int = 0) -> bool:
    """Whether every row of ``A`` lies in the column space of ``Q`` (orthonormal): its unit row
    within ``gamma(d + n1 + rows)`` of its projection (the error bound of the rows' own
    computation, a combination of ``n1`` rows of ``d`` entries, and of the projection).

    Examples
    --------
    >>> Q = np.array([[1.0], [0.0]])
    >>> invariant(np.array([[2.0, 0.0], [-1.0, 0.0]]), Q), invariant(np.array([[1.0, 1e-6]]), Q)
    (True, False)
    """
    U = unit(np.asarray(A, dtype=np.float64))
    off = U - (U @ Q) @ Q.T
    return bool(np.all(row_norms(off) <= gamma(U.shape[1] + n1 + len(U))))


class Reduction:
    """How a reduced problem's finished regions map back to the original network's.

    ``network``, ``domain``: the original ones; ``Q`` (d x r): the orthonormal basis of the first
    layer's row space the reduced problem is solved in (``z = Q^T x``); ``tol``: the contract's
    threshold in the input space (the reduced problem runs at ``tol / sqrt(d)``); ``count_only``:
    the caller only counts (regions are checked in blocks of ``CHUNK`` and only counted, so a
    count's memory does not grow with ``d``).

    Examples
    --------
    >>> import nncells
    >>> net = nncells.random_network([6, 2, 3, 1], seed=1)
    >>> red = reduced_problem(Problem.make(net, nncells.Space())).reduction
    >>> red.dim, red.network is net, red.tol, len(red.basis)
    (2, True, 1e-09, 16)
    """

    CHUNK = 4096  # regions mapped back and checked at once

    def __init__(self, network: Network, domain: Domain, Q: np.ndarray, tol: float, count_only: bool = False):
        self.network = network
        self.domain = domain
        self.Q = Q
        self.tol = float(tol)
        self.rule = Rule(self.tol)
        self.count_only = bool(count_only)

    @property
    def dim(self) -> int:
        """The dimension ``r`` of the reduced problem."""
        return int(self.Q.shape[1])

    @property
    def basis(self) -> str:
        """A fingerprint of ``Q`` (a checkpointed frontier's tasks are in its coordinates: a resume
        must solve in the same basis, bit for bit; another LAPACK may pick another one)."""
        return hashlib.sha256(np.ascontiguousarray(self.Q).tobytes()).hexdigest()[:16]

    def up(self, batch: Batch, stats: Stats) -> Batch:
        """The reduced problem's finished regions (points ``z``) as the original network's:
        points ``Q z`` checked in a float64 forward pass of the original network
        (`tasks.verify_points`: a disagreeing point is moved by one LP, in the input space); the
        regions whose point does not prove the input space's rule, or is outside the domain (by
        rounding), decided by that rule (`settle`); the borderline ones counted (``stats``)."""
        net, out = self.network, []
        for lo in range(0, len(batch), self.CHUNK):
            part = slice(lo, lo + self.CHUNK)
            got = Batch(batch.patterns[part], batch.points[part] @ self.Q.T, batch.radii[part], batch.ranks[part])
            got = self.settle(verify_points(net, self.domain, got, self.rule, stats), stats)
            stats.borderline += borderline_count(got.points, got.radii, self.tol)
            out.append(got.counted() if self.count_only else got)
        if self.count_only:
            return Batch.concat(out, 0, 0, 0)
        return Batch.concat(out, net.n_hidden, net.input_dim, len(net.widths))

    def settle(self, batch: Batch, stats: Stats) -> Batch:
        """Regions whose point is no witness of the input space's rule (radius not above ``tol
        ||x||_inf``) or lies outside the domain: the region's deepest point by the rule (one LP in
        the input space), or the region dropped (its margin is below the threshold: it does not
        count) and reported as borderline.

        Examples
        --------
        >>> import nncells
        >>> net = nncells.random_network([4, 2, 1], seed=0)
        >>> red = reduced_problem(Problem.make(net, nncells.Space())).reduction
        >>> x = np.ones((1, 4))                       # a point of its region ...
        >>> b = Batch(net.pattern(x), x, np.array([1e-12]), np.ones((1, 1), np.int64))
        >>> out = red.settle(b, Stats(per_layer=[1]))  # ... whose radius proves nothing
        >>> len(out), bool(out.radii[0] > 1e-9 * np.abs(out.points[0]).max())
        (1, True)
        """
        todo = np.flatnonzero(~self.rule.witnesses(batch.points, batch.radii)
                              | ~self.domain.contains(batch.points))
        if len(todo) == 0:
            return batch
        batch, dropped = redo_points(self.network, self.domain, batch, self.rule, stats, todo)
        stats.borderline += dropped
        return batch


def reduced_problem(problem: Problem) -> Problem | None:
    """``problem`` in the row space of its network's first layer, or None where it does not
    apply: ``_config.REDUCE`` is off, the network has no hidden layer, the row space is the
    whole input space (or zero), or the domain is neither the whole space nor a polytope whose
    rows lie in the row space (`invariant`). The result carries a `Reduction` (its ``reduction``
    field), which `tasks.Problem.finish` applies to every finished batch.

    Examples
    --------
    >>> import nncells
    >>> net = nncells.random_network([5, 2, 2, 1], seed=0)
    >>> reduced_problem(Problem.make(net, nncells.Space())).domain
    Space(dim=2)
    >>> A = np.vstack([net.weights[0], -net.weights[0]])     # |W1 x| <= 1: a slab along null(W1)
    >>> P = reduced_problem(Problem.make(net, nncells.Polytope(A, np.ones(4))))
    >>> P.domain.dim, P.box is not None
    (2, True)
    >>> reduced_problem(Problem.make(net, nncells.Box(-1, 1))) is None   # a box varies along every axis
    True
    """
    net = problem.network
    if not _config.REDUCE or not net.widths or problem.lift is not None or problem.reduction is not None:
        return None
    d, W1 = net.input_dim, net.weights[0]
    Q = row_space(W1)
    r = Q.shape[1]
    if r == 0 or r >= d:
        return None
    if isinstance(problem.domain, Space):
        domain = Space(r)
    elif type(problem.domain) is Polytope and invariant(problem.domain.A, Q, W1.shape[0]):
        domain = Polytope(problem.domain.A @ Q, problem.domain.b)
    else:
        return None
    small = net.compose_input(Q)
    reduced = Problem.make(small, domain, problem.tol / np.sqrt(d), problem.backend)
    return dataclasses.replace(reduced, count_only=problem.count_only, facets=problem.facets,
                               reduction=Reduction(net, problem.domain, Q, problem.tol, problem.count_only))


__all__ = ["reduced_problem", "row_space", "invariant", "Reduction"]
