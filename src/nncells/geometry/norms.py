"""Euclidean norms that neither overflow nor underflow.

A row of a network's pulled-back hyperplanes may hold entries near float64's limits (biases of
``2^1000`` put a region ``2^1000`` away; a lifted far row has a ``y`` part of ``1e-300``): the sum of
their squares would overflow to ``inf`` or underflow to ``0``. Each row is scaled by a power of two
first (exact), so in the normal range the result is bit for bit ``sqrt(sum x_i^2)``; the compiled
core's ``norm2`` (native/linalg.hpp) does the same.

Examples
--------
>>> import numpy as np
>>> tiny = 2.0 ** -1060                  # (its square is below the smallest float)
>>> row_norms(np.array([[3.0, 4.0], [3e300, 4e300], [0.0, 0.0]])).tolist()
[5.0, 5e+300, 0.0]
>>> bool(row_norms(np.array([[3 * tiny, 4 * tiny]]))[0] == 5 * tiny), float(np.linalg.norm([3 * tiny, 4 * tiny]))
(True, 0.0)
"""
from __future__ import annotations

import numpy as np


def row_norms(A) -> np.ndarray:
    """The Euclidean norm of each row of ``A`` (the last axis), without overflow or underflow."""
    A = np.asarray(A, dtype=np.float64)
    m = np.max(np.abs(A), axis=-1, initial=0.0)
    _, e = np.frexp(np.where(np.isfinite(m), m, 1.0))
    s = np.sqrt(np.sum(np.square(np.ldexp(A, -e[..., None])), axis=-1))
    return np.where(np.isfinite(m), np.ldexp(s, e), m)


def unit(A) -> np.ndarray:
    """The rows of ``A`` divided by their norms (`row_norms`); zero rows stay zero."""
    n = row_norms(A)
    return A / np.where(n > 0, n, 1.0)[..., None]


__all__ = ["row_norms", "unit"]


def power_of_two(v: float) -> float:
    """The power of two nearest ``v`` (in the log), or 1 when ``v`` is 0 or not finite: units
    to scale by without rounding.

    Examples
    --------
    >>> power_of_two(1000.0), power_of_two(0.0), power_of_two(float("inf"))
    (1024.0, 1.0, 1.0)
    """
    return float(2.0 ** np.round(np.log2(v))) if v > 0 and np.isfinite(v) else 1.0
