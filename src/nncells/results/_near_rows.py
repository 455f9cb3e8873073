"""Which rows of a region meet at a float64 vertex (`nncells.results._face_builder`): the rows
nearest to it in order (`nearest`), the first independent ones among them (`independent`), and
integer rows rescaled to float64 where the batched ones overflow (`float_rows`). They only
propose: the builder solves the rows chosen exactly and checks the point; what float64 proves
is that ``d`` rows are independent (`proven_independent`).
"""
from __future__ import annotations

import numpy as np

_SORT_ALL = 256      # `nearest` sorts all rows up to this many


def float_rows(R, c, d):
    """The integer rows ``R x + c`` in float64, each scaled by its own power of two so that its
    largest entry has about 60 bits (a row's scale does not change where it vanishes).

    Examples
    --------
    >>> Rf, cf = float_rows([[3, 2 ** 70]], [1], 2)
    >>> Rf.tolist(), cf.tolist()
    ([[0.0, 5.764607523034235e+17]], [0.0])
    """
    Rf = np.zeros((len(R), d))
    cf = np.zeros(len(R))
    for i, (row, ci) in enumerate(zip(R, c)):
        nbits = max(abs(int(v)).bit_length() for v in list(row) + [ci])
        s = max(0, nbits - 60)
        Rf[i] = [float(int(v) >> s) for v in row]
        cf[i] = float(int(ci) >> s)
    return Rf, cf


def nearest(dist, k):
    """Per column of ``dist``, its row indices in the order a stable sort of the column gives,
    the first ``k`` of them (all of them for a few hundred rows or fewer: one sort is then
    cheaper): a partition first, so only those few are sorted.

    Examples
    --------
    >>> dist = np.array([[2.0], [1.0], [1.0], [0.0]] * 100)
    >>> nearest(dist, 3).tolist()
    [[3, 7, 11]]
    """
    if len(dist) <= max(k, _SORT_ALL):
        return np.argsort(dist, axis=0, kind="stable").T
    kth = np.partition(dist, k - 1, axis=0)[k - 1]
    out = np.empty((dist.shape[1], k), dtype=np.int64)
    for j in range(dist.shape[1]):
        cand = np.flatnonzero(dist[:, j] <= kth[j])     # ascending: ties keep the row order
        out[j] = cand[np.argsort(dist[cand, j], kind="stable")][:k]
    return out


def independent(order, U, Q, chosen, d) -> None:
    """Extend ``chosen`` (rows of ``U``, ``Q`` their orthonormal basis) by the rows of ``order``,
    in order, that lie beyond 1e-8 of the span of those before (Gram-Schmidt), up to ``d``.

    Examples
    --------
    >>> chosen = []
    >>> independent([0, 1, 2], np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]]), [], chosen, 2)
    >>> chosen
    [0, 2]
    """
    for i in order:
        if len(chosen) == d:
            return
        u = U[i].tolist()
        for q in Q:
            t = sum(a * b for a, b in zip(u, q))
            u = [a - t * b for a, b in zip(u, q)]
        n = sum(a * a for a in u) ** 0.5
        if n > 1e-8:
            Q.append([a / n for a in u])
            chosen.append(int(i))


def proven_independent(U, E):
    """Per stack of ``d`` float rows ``U`` (n, d, d), whether every matrix within ``E`` (n, d, d)
    of it entrywise (plus ``2^-48`` of its entries: its rows' last roundings) is nonsingular:
    its least singular value exceeds the Frobenius norm of that perturbation (Weyl), with room
    for the singular values' own rounding (``1e-12``; the rows have about unit length).

    Examples
    --------
    >>> U = np.array([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [1.0, 1e-13]]])
    >>> proven_independent(U, np.full((2, 2, 2), 1e-15)).tolist()
    [True, False]
    """
    E = E + 2.0 ** -48 * np.abs(U)
    bound = np.sqrt(np.einsum("nij,nij->n", E, E))
    try:
        least = np.linalg.svd(U, compute_uv=False)[:, -1] if len(U) else np.zeros(0)
    except np.linalg.LinAlgError:            # (no proof: every determinant taken exactly)
        return np.zeros(len(U), bool)
    return least > 1.01 * bound + 1e-12
