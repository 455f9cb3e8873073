"""Provable bounds around data points, for `nncells.local`: the checks of balls, pre-activation
bounds over a ball (intervals and a CROWN-style backward relaxation) and the upper bound on the
number of regions meeting a ball.

Linear (pass-through) units (`nncells.network.Network`, ``linear``) are relaxed exactly (their
output is their pre-activation, so both linear bounds are the identity), their bounds are passed
on unclipped, and they never count as units that can change sign: only ReLU units cut.
"""
from __future__ import annotations

from functools import lru_cache
from math import comb
from typing import TYPE_CHECKING

import numpy as np

from nncells.domains import Ball
from nncells.errors import NNCellsError
from nncells.network import Network

if TYPE_CHECKING:
    import numpy.typing as npt

# Relative widening of the propagated bounds: covers float rounding, far below the sliver
# tolerance, so the upper bound stays sound.
_WIDEN = 1e-9
# Working-set size of the vectorised kernels, in float64 entries per chunk of points.
_CHUNK_ENTRIES = 1 << 23


# ----------------------------------------------------------------------------- checks
def _check_network(network: object) -> None:
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


def _check_balls(network: Network, centers: npt.ArrayLike, radius: npt.ArrayLike,
                 norm: float | str) -> tuple[np.ndarray, np.ndarray, int | str]:
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


def _chunks(n: int, per_point: int) -> list[slice]:
    step = max(1, _CHUNK_ENTRIES // max(per_point, 1))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


# ----------------------------------------------------------------------------- bounds
def _relax(lo, hi, linear):
    """Linear ReLU relaxation on [lo, hi]: ``sl z <= relu(z) <= su z + tu`` (CROWN's choice of sl);
    a linear unit (``linear``, one per column) is its own relaxation, ``su = sl = 1``, ``tu = 0``."""
    unstable = (lo < 0) & (hi > 0) & ~linear
    active = ((lo >= 0) | linear).astype(np.float64)
    den = np.where(unstable, hi - lo, 1.0)
    su = np.where(unstable, hi / den, active)
    tu = np.where(unstable, -lo * hi / den, 0.0)
    sl = np.where(unstable, (hi >= -lo).astype(np.float64), active)
    return su, tu, sl


def _outputs(lo, hi, linear):
    """Bounds of a hidden layer's outputs from those of its pre-activations: ReLU clips at 0, a
    linear unit passes them on."""
    return np.where(linear, lo, np.maximum(lo, 0.0)), np.where(linear, hi, np.maximum(hi, 0.0))


def _dual_norms(network: Network, Lam: np.ndarray, norm: int | str, gram: np.ndarray | None = None) -> np.ndarray:
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


def _gram(network: Network) -> np.ndarray | None:
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
        su, tu, sl = _relax(*bounds[j], network.linear[j])
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
        plo, phi = _outputs(*bounds[-1], network.linear[k - 1])
        mid, rad = (phi + plo) / 2 @ W.T + b, (phi - plo) / 2 @ np.abs(W).T
        lo, hi = mid - rad, mid + rad  # interval bounds
        unstable = (lo < 0) & (hi > 0) & ~network.linear[k]  # (a linear unit's bounds need no relaxation)
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


def upper_bound_in_ball(network: Network, centers: npt.ArrayLike, radius: npt.ArrayLike, norm: float | str = 2,
                        method: str = "crown") -> int | list[int]:
    """A provable upper bound on the number of regions meeting each ball (vectorised).

    Layer by layer, ``k_l`` ReLU units can change sign in the ball (`preactivation_bounds`) and
    the regions of the previous layers live in a space of dimension at most
    ``d_l = min(d, a_1, ..., a_{l-1})``, ``a_j`` counting layer j's units not provably inactive
    (a linear unit always passes its value on); so (Serra, Tjandraatmadja, Ramalingam 2018) the
    count is at most ``prod_l sum_{j <= d_l} C(k_l, j)``. Linear units never change sign (they
    cut nothing). ``method`` is passed to `preactivation_bounds`.

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
    lin = network.linear
    flips = np.array([np.sum((lo < 0) & (hi > 0) & ~m, axis=1) for (lo, hi), m in zip(bounds, lin)]).reshape(-1, n).T
    alive = np.array([np.sum((hi > 0) | m, axis=1) for (_, hi), m in zip(bounds, lin)]).reshape(-1, n).T
    out = []
    for k_row, a_row in zip(flips.tolist(), alive.tolist()):
        total, dim = 1, network.input_dim
        for k_l, a_l in zip(k_row, a_row):
            total *= arrangement_regions(k_l, dim)
            dim = min(dim, a_l)
        out.append(total)
    return out[0] if single else out
