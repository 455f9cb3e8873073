"""Regions around data points: exact count in a ball, a provable upper bound, a sampled lower
bound, the neuron-flip local complexity, and the distance to the nearest region boundary.

Every function takes ball centres as an (n, d) array (or one point) and a radius (a number or
one per centre); ``norm`` is 2 (Euclidean ball) or ``"inf"`` (the box ``centre +- radius``).
See docs/local.md for the derivations and tolerances. The bounds live in `nncells._local_bounds`.

Networks with linear (pass-through) units: only ReLU units cut, so only they count as units that
can change sign (bounds, local complexity) or bound a region (distances); a linear unit's bit
is always True in the patterns.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

import numpy as np

from nncells import _config
from nncells._local_bounds import (_check_balls, _check_network, _check_points, _chunks, _dual_norms, _gram,
                                   arrangement_regions, preactivation_bounds, upper_bound_in_ball)
from nncells.api import enumerate_regions
from nncells.domains import Ball
from nncells.errors import NNCellsError
from nncells.geometry.contract import gamma
from nncells.run.executors import available_cores, process_context, stop_pool, worker_setup

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy.typing as npt

    from nncells.domains.base import Seed
    from nncells.network import Network
    from nncells.results.result import EnumerationResult

__all__ = ["regions_in_ball", "count_in_ball", "preactivation_bounds", "arrangement_regions",
           "upper_bound_in_ball", "boundary_distance", "sampled_patterns_in_ball", "local_complexity",
           "analyse_points"]


# ----------------------------------------------------------------------------- exact
def regions_in_ball(network: Network, center: npt.ArrayLike, radius: float, norm: float | str = 2, *,
                    tol: float | None = None, workers: int | None = 1,
                    progress: Callable[[int, str], object] | None = None) -> EnumerationResult:
    """Every activation region meeting the ball (an `EnumerationResult`; points lie in the ball).
    ``workers``: as in `enumerate_regions` (default 1: batches parallelise over balls instead);
    ``progress``: as in `enumerate_regions`, a callable ``progress(regions_found, extra_text)``.

    Examples
    --------
    >>> import numpy as np
    >>> import nncells
    >>> from nncells.local import regions_in_ball
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> res = regions_in_ball(net, [0, 0], 0.5)
    >>> res.count, bool((np.linalg.norm(res.points, axis=1) <= 0.5).all())
    (5, True)
    """
    _check_network(network)
    return enumerate_regions(network, Ball(center, radius, norm).resolve(network.input_dim), tol=tol,
                             workers=workers, progress=progress)


def count_in_ball(network: Network, center: npt.ArrayLike, radius: float, norm: float | str = 2, *,
                  tol: float | None = None, workers: int | None = 1) -> int:
    """Exact number of activation regions meeting the ball in a full-dimensional set.

    A region counts when its intersection with the ball contains a ball of radius
    the contract of `nncells.geometry.contract` (see `Ball`).

    Examples
    --------
    >>> import nncells
    >>> from nncells.local import count_in_ball
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> count_in_ball(net, [0, 0], 0.5), count_in_ball(net, [0, 0], 0.5, norm="inf")
    (5, 6)
    """
    return regions_in_ball(network, center, radius, norm, tol=tol, workers=workers).count


# ----------------------------------------------------------------------------- distances
def _pulled_back(network: Network, X: np.ndarray, G: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Pre-activations (n, H) at ``X`` and the norms (n, H) of their gradients on the region of
    each point (the pulled-back normals), with zero where the normal is numerically zero or the
    unit is linear (it bounds no region). ``G`` is `_gram`'s matrix (or None: gradients are then
    formed in input coordinates)."""
    zs = network.preactivations(X)
    W1 = network.weights[0]
    d, w1 = W1.shape[1], W1.shape[0]
    gram = G is not None
    norms, L = [], None
    scale: float | np.floating[Any] = 1.0  # product of the previous layers' Frobenius norms: bounds the normal's norm
    for k, z in enumerate(zs):
        W = network.weights[k]
        if k == 0:
            L = np.broadcast_to(np.eye(w1) if gram else W1, (len(X),) + (w1, w1 if gram else d))
            nk = np.broadcast_to(np.linalg.norm(W1, axis=1), z.shape)
        else:
            assert L is not None  # set at k == 0
            Ws = W[None, :, :] * ((zs[k - 1] > 0) | network.linear[k - 1])[:, None, :]
            L = Ws @ L if (k > 1 or not gram) else Ws
            nk = _dual_norms(network, L, 2, G) if gram else np.linalg.norm(L, axis=2)
        # zero only below the forward error bound of the product (|W| |M| <= |W_k| * scale)
        ref = np.linalg.norm(W, axis=1) * scale
        nk = np.where((nk <= gamma(d + sum(network.widths[:k]) + 1) * ref) | network.linear[k], 0.0, nk)
        norms.append(nk)
        scale *= np.linalg.norm(W)
    return np.concatenate(zs, axis=1), np.concatenate(norms, axis=1)


def boundary_distance(network: Network, points: npt.ArrayLike) -> np.ndarray | float:
    """Euclidean distance from each point to the boundary of its activation region.

    Inside the region ``{G x <= h}`` of a point's pattern, the largest ball around ``x`` has radius
    ``min_i (h_i - G_i x) / ||G_i||`` (a ball lies in a half-space iff its radius is at most the
    distance to the hyperplane), and that radius is the distance to the boundary. Redundant
    (non-facet) rows are never nearer than the nearest facet, so the minimum over all hidden
    ReLU units' pulled-back hyperplanes is exact; no LP is needed. Neurons with a zero pulled-back
    normal are constant on the region and skipped, and so are linear units (they cut nothing);
    a point on a boundary gets 0; ``inf`` when no
    hyperplane bounds the region. Returns (n,) or a float for one point.

    Examples
    --------
    >>> import nncells
    >>> from nncells.local import boundary_distance, count_in_ball
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> d = boundary_distance(net, [0, 0])
    >>> round(d, 4), boundary_distance(net, [[0, 0], [0.5, 0.5]]).round(4).tolist()
    (0.3371, [0.3371, 0.0329])
    >>> count_in_ball(net, [0, 0], 0.9 * d), count_in_ball(net, [0, 0], 1.1 * d)
    (1, 2)
    """
    single = np.asarray(points).ndim == 1
    X = _check_points(network, points, "point")
    out = np.full(len(X), np.inf)
    if network.n_hidden:
        per_point = network.n_hidden * max(network.input_dim, network.widths[0])
        G = _gram(network)
        for s in _chunks(len(X), per_point):
            z, nrm = _pulled_back(network, X[s], G)
            with np.errstate(divide="ignore", invalid="ignore"):
                dist = np.where(nrm > 0, np.abs(z) / np.where(nrm > 0, nrm, 1.0), np.inf)
            out[s] = dist.min(axis=1)
    return float(out[0]) if single else out


# ----------------------------------------------------------------------------- sampling
def sampled_patterns_in_ball(network: Network, center: npt.ArrayLike, radius: float, n_samples: int = 1000,
                             norm: float | str = 2, *, seed: Seed = 0, tol: float | None = None) -> np.ndarray:
    """Distinct activation patterns among the centre and ``n_samples`` uniform points of the ball.

    A pattern is kept only when one of its points ``x`` has a ball of radius ``> tol ||x||_inf``
    around it inside both its region and the ball (`boundary_distance`), and lies inside the ball
    by more than the ball's margin ``tol (||center||_inf + radius)`` (the contract of
    `nncells.geometry.contract`), so every kept pattern is counted by `count_in_ball`: their number is a
    lower bound of the exact count.

    Examples
    --------
    >>> import nncells
    >>> from nncells.local import count_in_ball, sampled_patterns_in_ball
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> P = sampled_patterns_in_ball(net, [0, 0], 0.5, n_samples=200)
    >>> P.shape, len(P) <= count_in_ball(net, [0, 0], 0.5)
    ((3, 12), True)
    """
    C, r, norm = _check_balls(network, center, radius, norm)
    if C.shape[0] != 1:
        raise NNCellsError("sampled_patterns_in_ball takes one centre")
    ball = Ball(C[0], float(r[0]), norm)
    X = np.vstack([C, ball.sample(int(n_samples), seed)])
    dev = X - C[0]
    margin = ball.radius - (np.max(np.abs(dev), axis=1) if norm == "inf" else np.linalg.norm(dev, axis=1))
    patterns, inv = np.unique(network.pattern(X).reshape(len(X), -1), axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    tol = _config.DEFAULT_TOL if tol is None else tol
    need = tol * np.max(np.abs(X), axis=1)
    inside = margin > tol * (float(np.max(np.abs(C[0]))) + ball.radius)
    # First the point of largest margin of each pattern, then all points of the patterns left.
    order = np.lexsort((-margin, inv))
    first = order[np.r_[True, inv[order][1:] != inv[order][:-1]]]
    ok = np.zeros(len(patterns), dtype=bool)
    for idx in (first, None):
        if idx is None:
            idx = np.flatnonzero(~ok[inv])
        if len(idx) == 0:
            break
        deep = (np.minimum(margin[idx], boundary_distance(network, X[idx])) > need[idx]) & inside[idx]
        ok[inv[idx[deep]]] = True
    return patterns[ok]


def local_complexity(network: Network, centers: npt.ArrayLike, radius: npt.ArrayLike) -> np.ndarray:
    """Neurons whose sign differs across the cross-polytope vertices ``centre +- radius e_i``
    (the local complexity of Humayun, Balestriero, Baraniuk 2024): (n,) ints. A linear unit's
    bit is always True, so only ReLU units count.

    Examples
    --------
    >>> import nncells
    >>> from nncells.local import local_complexity
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> local_complexity(net, [[0, 0], [0.5, 0.5]], 0.5).tolist()
    [2, 4]
    """
    C, r, _ = _check_balls(network, centers, radius, 2)
    d = network.input_dim
    steps = np.vstack([np.eye(d), -np.eye(d)])
    out = np.zeros(len(C), dtype=np.int64)
    for s in _chunks(len(C), 2 * d * (d + network.n_hidden)):
        V = (C[s, None, :] + r[s, None, None] * steps[None]).reshape(-1, d)
        P = network.pattern(V).reshape(len(C[s]), 2 * d, -1)
        out[s] = np.sum(P.any(axis=1) & ~P.all(axis=1), axis=1)
    return out


# ----------------------------------------------------------------------------- batch
_worker_net: Network | None = None


def _init_worker(network: Network, driver_pid: int) -> None:
    global _worker_net
    worker_setup(driver_pid)
    _worker_net = network


def _count_worker(center: np.ndarray, radius: float, norm: int | str, tol: float | None) -> int:
    assert _worker_net is not None  # set by _init_worker in every worker process
    return count_in_ball(_worker_net, center, radius, norm, tol=tol)


def analyse_points(network: Network, points: npt.ArrayLike, radius: npt.ArrayLike, norm: float | str = 2, *,
                   exact: bool = False, samples: int = 1000, complexity: bool = True, bound: str = "crown",
                   workers: int | None = None, seed: int = 0, tol: float | None = None,
                   progress: Callable[[int], object] | None = None) -> dict[str, Any]:
    """Local analysis of many points: one row per point.

    Parameters
    ----------
    exact : also count the regions in every ball exactly (in ``workers`` processes; default all
        cores; 1 runs in this process).
    samples : points drawn per ball for the sampled lower bound (0 skips it).
    complexity : compute the cross-polytope local complexity (2 d forward passes per point).
    bound : ``"crown"`` or ``"interval"``, the `preactivation_bounds` method of the upper bound.
    progress : optional callable ``progress(k)`` told each time ``k`` more points are done.

    Returns
    -------
    dict of columns: ``index``, ``upper_bound`` (Python ints), ``boundary_distance``, and
    ``sampled_lower_bound``, ``local_complexity``, ``exact`` when computed.

    Examples
    --------
    >>> import nncells
    >>> from nncells.local import analyse_points
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> cols = analyse_points(net, [[0, 0], [0.5, 0.5]], 0.5, exact=True, samples=200, workers=1)
    >>> cols["sampled_lower_bound"].tolist(), cols["exact"].tolist(), cols["upper_bound"]
    ([3, 6], [5, 6], [7, 16])
    """
    C, r, norm = _check_balls(network, points, radius, norm)
    n = len(C)
    cols: dict[str, Any] = {"index": np.arange(n)}
    if exact:
        cols["exact"] = _exact_counts(network, C, r, norm, tol, workers, progress)
    cols["upper_bound"] = upper_bound_in_ball(network, C, r, norm, bound)
    if samples:
        counts = np.zeros(n, dtype=np.int64)
        for i in range(n):
            counts[i] = len(sampled_patterns_in_ball(network, C[i], r[i], samples, norm,
                                                     seed=[seed, i], tol=tol))
            if progress is not None and not exact:
                progress(1)
        cols["sampled_lower_bound"] = counts
    if complexity:
        cols["local_complexity"] = local_complexity(network, C, r)
    cols["boundary_distance"] = boundary_distance(network, C)
    return cols


def _exact_counts(network: Network, C: np.ndarray, r: np.ndarray, norm: int | str, tol: float | None,
                  workers: int | None, progress: Callable[[int], object] | None) -> np.ndarray:
    n = len(C)
    workers = available_cores() if workers is None else int(workers)
    if workers < 1:
        raise NNCellsError(f"workers must be at least 1, got {workers}")
    out = np.zeros(n, dtype=np.int64)
    if workers == 1 or n == 1:  # in this process: no worker_setup (it is for worker processes)
        for i in range(n):
            out[i] = count_in_ball(network, C[i], r[i], norm, tol=tol)
            if progress is not None:
                progress(1)
        return out
    with ProcessPoolExecutor(min(workers, n), mp_context=process_context(), initializer=_init_worker,
                             initargs=(network, os.getpid())) as pool:
        try:
            futures = {pool.submit(_count_worker, C[i], r[i], norm, tol): i for i in range(n)}
            for f in as_completed(futures):
                out[futures[f]] = f.result()
                if progress is not None:
                    progress(1)
        except BaseException:  # Ctrl-C, SIGTERM, an error: not a wait for every ball queued
            stop_pool(pool)
            raise
    return out
