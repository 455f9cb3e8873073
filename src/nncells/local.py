"""Regions around data points: exact count in a ball, a provable upper bound, a sampled lower
bound, the neuron-flip local complexity, and the distance to the nearest region boundary.

Every function takes ball centres as an (n, d) array (or one point) and a radius (a number or
one per centre); ``norm`` is 2 (Euclidean ball) or ``"inf"`` (the box ``centre +- radius``).
See docs/local.md for the derivations and tolerances.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from functools import lru_cache
from math import comb

import numpy as np

from nncells import _config
from nncells.api import enumerate_regions
from nncells.domains import Ball
from nncells.errors import NNCellsError
from nncells.geometry.contract import gamma
from nncells.network import Network
from nncells.run.executors import available_cores, process_context, stop_pool, worker_setup

# Relative widening of the propagated bounds: covers float rounding, far below the sliver
# tolerance, so the upper bound stays sound.
_WIDEN = 1e-9
# Working-set size of the vectorised kernels, in float64 entries per chunk of points.
_CHUNK_ENTRIES = 1 << 23


# ----------------------------------------------------------------------------- checks
def _check_network(network):
    if not isinstance(network, Network):
        raise NNCellsError(f"expected a Network, got {type(network).__name__}")


def _check_points(network, points, name="centre") -> np.ndarray:
    _check_network(network)
    try:
        X = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise NNCellsError(f"{name} is not an array of numbers") from None
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2 or X.shape[1] != network.input_dim:
        raise NNCellsError(f"{name} has dimension {X.shape[-1] if X.ndim else 1}, "
                           f"the network expects {network.input_dim}")
    if not np.all(np.isfinite(X)):
        raise NNCellsError(f"{name} contains NaN or inf")
    return X


def _check_balls(network, centers, radius, norm):
    """Validated ``(C (n, d), r (n,), norm)``; the checks of `Ball` apply to every ball."""
    C = _check_points(network, centers)
    try:
        r = np.broadcast_to(np.asarray(radius, dtype=np.float64), (len(C),)).copy()
    except (TypeError, ValueError):
        raise NNCellsError(f"radius must be a number or one number per centre, got {radius!r}") from None
    if not np.all(np.isfinite(r) & (r > 0)):
        raise NNCellsError(f"radius must be a positive finite number, got {radius!r}")
    norm = Ball(np.zeros(1), 1.0, norm).norm
    return C, r, norm


def _chunks(n, per_point):
    step = max(1, _CHUNK_ENTRIES // max(per_point, 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


# ----------------------------------------------------------------------------- exact
def regions_in_ball(network, center, radius, norm=2, *, tol=None, workers=1):
    """Every activation region meeting the ball (an `EnumerationResult`; points lie in the ball).
    ``workers``: as in `enumerate_regions` (default 1: batches parallelise over balls instead).

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
                             workers=workers)


def count_in_ball(network, center, radius, norm=2, *, tol=None, workers=1) -> int:
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


# ----------------------------------------------------------------------------- bounds
def _relax(lo, hi):
    """Linear ReLU relaxation on [lo, hi]: ``sl z <= relu(z) <= su z + tu`` (CROWN's choice of sl)."""
    unstable = (lo < 0) & (hi > 0)
    active = (lo >= 0).astype(np.float64)
    den = np.where(unstable, hi - lo, 1.0)
    su = np.where(unstable, hi / den, active)
    tu = np.where(unstable, -lo * hi / den, 0.0)
    sl = np.where(unstable, (hi >= -lo).astype(np.float64), active)
    return su, tu, sl


def _dual_norms(network, Lam, norm, gram=None):
    """Row norms (dual to ``norm``) of ``Lam @ W1``, Lam (n, m, w1) being coefficients on layer 1's
    pre-activations; with a Gram matrix ``gram = W1 W1^T`` (Euclidean norm, wide input) the
    (n, m, d) product is never formed."""
    W1 = network.weights[0]
    n, m, w1 = Lam.shape
    flat = Lam.reshape(n * m, w1)
    if norm == 2 and gram is not None:
        sq = np.einsum("ij,ij->i", flat @ gram, flat)
        return np.sqrt(np.maximum(sq, 0.0)).reshape(n, m)
    J = flat @ W1
    out = np.linalg.norm(J, axis=1) if norm == 2 else np.abs(J).sum(axis=1)
    return out.reshape(n, m)


def _gram(network):
    """``W1 W1^T`` when it is cheaper than the first layer itself (input wider than layer 1)."""
    W1 = network.weights[0]
    return W1 @ W1.T if W1.shape[1] > W1.shape[0] else None


def _crown_upper(network, k, rows, bounds, z1c, r, norm, gram):
    """Upper bounds over the balls of ``+-`` the pre-activations of hidden layer ``k`` selected by
    ``rows`` (n, m) (a backward linear relaxation, CROWN-style): (n, 2 m), the second half being
    the negated lower bounds."""
    W, b = network.weights[k][rows], network.biases[k][rows]
    Lam = np.concatenate([W, -W], axis=1)
    const = np.concatenate([b, -b], axis=1)
    for j in range(k - 1, -1, -1):
        su, tu, sl = _relax(*bounds[j])
        pos = Lam >= 0
        const += np.einsum("nmw,nw->nm", np.where(pos, Lam, 0.0), tu)
        Lam *= np.where(pos, su[:, None, :], sl[:, None, :])
        if j > 0:
            const += Lam @ network.biases[j]
            n, m, w = Lam.shape
            Lam = (Lam.reshape(n * m, w) @ network.weights[j]).reshape(n, m, -1)
    return np.einsum("nmw,nw->nm", Lam, z1c) + const + r[:, None] * _dual_norms(network, Lam, norm, gram)


def _widen(lo, hi):
    s = _WIDEN * (np.abs(lo) + np.abs(hi))
    return lo - s, hi + s


def _bounds_chunk(network, C, r, norm, gram, crown):
    W1, b1 = network.weights[0], network.biases[0]
    z1c = C @ W1.T + b1
    dual = np.linalg.norm(W1, axis=1) if norm == 2 else np.abs(W1).sum(axis=1)
    bounds = [_widen(z1c - r[:, None] * dual, z1c + r[:, None] * dual)]  # exact on the ball
    for k in range(1, len(network.widths)):
        W, b = network.weights[k], network.biases[k]
        plo, phi = (np.maximum(v, 0.0) for v in bounds[-1])
        mid, rad = (phi + plo) / 2 @ W.T + b, (phi - plo) / 2 @ np.abs(W).T
        lo, hi = mid - rad, mid + rad  # interval bounds
        unstable = (lo < 0) & (hi > 0)
        m = int(unstable.sum(axis=1).max())
        if m and crown:  # tighten, per point, the neurons the intervals leave unstable (first m columns)
            rows = np.argsort(~unstable, axis=1, kind="stable")[:, :m]
            u = _crown_upper(network, k, rows, bounds, z1c, r, norm, gram)
            np.put_along_axis(hi, rows, np.minimum(np.take_along_axis(hi, rows, 1), u[:, :m]), 1)
            np.put_along_axis(lo, rows, np.maximum(np.take_along_axis(lo, rows, 1), -u[:, m:]), 1)
        bounds.append(_widen(lo, hi))
    return bounds


def preactivation_bounds(network, centers, radius, norm=2, method="crown") -> list[tuple]:
    """Sound bounds ``(lo, hi)``, each (n, width), of every hidden layer's pre-activations over
    each ball: exact for the first layer; for deeper layers interval bounds, intersected
    (``method="crown"``) with a backward linear relaxation (CROWN-style), which is much tighter
    and costs O(width^2 * max(width, ...)) per point and layer; ``method="interval"`` is ~100x
    faster on wide networks.

    Examples
    --------
    >>> import numpy as np
    >>> import nncells
    >>> from nncells.local import preactivation_bounds
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> bounds = preactivation_bounds(net, [[0, 0], [0.5, 0.5]], 0.5)
    >>> len(bounds), bounds[0][0].shape
    (2, (2, 6))
    >>> z = net.preactivations(np.array([[0.3, -0.2]]))  # a point of the first ball
    >>> all(bool(((lo[0] <= zk[0]) & (zk[0] <= hi[0])).all()) for (lo, hi), zk in zip(bounds, z))
    True
    """
    if method not in ("crown", "interval"):
        raise NNCellsError(f"bound method must be 'crown' or 'interval', got {method!r}")
    C, r, norm = _check_balls(network, centers, radius, norm)
    widths = network.widths
    if not widths:
        return []
    per_point = 2 * max(widths) * max(widths + [network.input_dim])
    gram = _gram(network)
    parts = [_bounds_chunk(network, C[s], r[s], norm, gram, method == "crown")
             for s in _chunks(len(C), per_point)]
    return [tuple(np.concatenate([p[layer][i] for p in parts]) for i in (0, 1))
            for layer in range(len(widths))]


@lru_cache(maxsize=None)
def arrangement_regions(k: int, d: int) -> int:
    """Zaslavsky: most regions of k hyperplanes in R^d, sum_{j<=d} C(k, j).

    Examples
    --------
    >>> from nncells.local import arrangement_regions
    >>> arrangement_regions(3, 2), arrangement_regions(6, 2), arrangement_regions(2, 5)
    (7, 22, 4)
    """
    return sum(comb(k, j) for j in range(min(k, d) + 1))


def upper_bound_in_ball(network, centers, radius, norm=2, method="crown"):
    """A provable upper bound on the number of regions meeting each ball (vectorised).

    Layer by layer, ``k_l`` neurons can change sign in the ball (`preactivation_bounds`) and the
    regions of the previous layers live in a space of dimension at most
    ``d_l = min(d, a_1, ..., a_{l-1})``, ``a_j`` counting layer j's neurons not provably inactive;
    so (Serra, Tjandraatmadja, Ramalingam 2018) the count is at most
    ``prod_l sum_{j <= d_l} C(k_l, j)``. ``method`` is passed to `preactivation_bounds`.

    Returns
    -------
    Python ints (exact, possibly huge): a list for an (n, d) array of centres, an int for one centre.

    Examples
    --------
    >>> import nncells
    >>> from nncells.local import count_in_ball, upper_bound_in_ball
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> upper_bound_in_ball(net, [0, 0], 0.5), upper_bound_in_ball(net, [[0, 0], [0.5, 0.5]], 0.5)
    (7, [7, 16])
    >>> count_in_ball(net, [0, 0], 0.5) <= upper_bound_in_ball(net, [0, 0], 0.5, method="interval")
    True
    """
    single = np.asarray(centers).ndim == 1
    bounds = preactivation_bounds(network, centers, radius, norm, method)
    n = len(_check_points(network, centers))
    flips = np.array([np.sum((lo < 0) & (hi > 0), axis=1) for lo, hi in bounds]).reshape(-1, n).T
    alive = np.array([np.sum(hi > 0, axis=1) for _, hi in bounds]).reshape(-1, n).T
    out = []
    for k_row, a_row in zip(flips.tolist(), alive.tolist()):
        total, dim = 1, network.input_dim
        for k_l, a_l in zip(k_row, a_row):
            total *= arrangement_regions(k_l, dim)
            dim = min(dim, a_l)
        out.append(total)
    return out[0] if single else out


# ----------------------------------------------------------------------------- distances
def _pulled_back(network, X, G):
    """Pre-activations (n, H) at ``X`` and the norms (n, H) of their gradients on the region of
    each point (the pulled-back normals), with zero where the normal is numerically zero.
    ``G`` is `_gram`'s matrix (or None: gradients are then formed in input coordinates)."""
    zs = network.preactivations(X)
    W1 = network.weights[0]
    d, w1 = W1.shape[1], W1.shape[0]
    gram = G is not None
    norms, L = [], None
    scale = 1.0  # product of the previous layers' Frobenius norms: bounds the normal's norm
    for k, z in enumerate(zs):
        W = network.weights[k]
        if k == 0:
            L = np.broadcast_to(np.eye(w1) if gram else W1, (len(X),) + (w1, w1 if gram else d))
            nk = np.broadcast_to(np.linalg.norm(W1, axis=1), z.shape)
        else:
            Ws = W[None, :, :] * (zs[k - 1] > 0)[:, None, :]
            L = Ws @ L if (k > 1 or not gram) else Ws
            nk = _dual_norms(network, L, 2, G) if gram else np.linalg.norm(L, axis=2)
        # zero only below the forward error bound of the product (|W| |M| <= |W_k| * scale)
        ref = np.linalg.norm(W, axis=1) * scale
        nk = np.where(nk <= gamma(d + sum(network.widths[:k]) + 1) * ref, 0.0, nk)
        norms.append(nk)
        scale *= np.linalg.norm(W)
    return np.concatenate(zs, axis=1), np.concatenate(norms, axis=1)


def boundary_distance(network, points) -> np.ndarray:
    """Euclidean distance from each point to the boundary of its activation region.

    Inside the region ``{G x <= h}`` of a point's pattern, the largest ball around ``x`` has radius
    ``min_i (h_i - G_i x) / ||G_i||`` (a ball lies in a half-space iff its radius is at most the
    distance to the hyperplane), and that radius is the distance to the boundary. Redundant
    (non-facet) rows are never nearer than the nearest facet, so the minimum over all hidden
    neurons' pulled-back hyperplanes is exact; no LP is needed. Neurons with a zero pulled-back
    normal are constant on the region and skipped; a point on a boundary gets 0; ``inf`` when no
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
def sampled_patterns_in_ball(network, center, radius, n_samples=1000, norm=2, *, seed=0,
                             tol=None) -> np.ndarray:
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


def local_complexity(network, centers, radius) -> np.ndarray:
    """Neurons whose sign differs across the cross-polytope vertices ``centre +- radius e_i``
    (the local complexity of Humayun, Balestriero, Baraniuk 2024): (n,) ints.

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
_worker_net = None


def _init_worker(network, driver_pid):
    global _worker_net
    worker_setup(driver_pid)
    _worker_net = network


def _count_worker(center, radius, norm, tol):
    return count_in_ball(_worker_net, center, radius, norm, tol=tol)


def analyse_points(network, points, radius, norm=2, *, exact=False, samples=1000, complexity=True,
                   bound="crown", workers=None, seed=0, tol=None, progress=None) -> dict:
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
    cols = {"index": np.arange(n)}
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


def _exact_counts(network, C, r, norm, tol, workers, progress):
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
