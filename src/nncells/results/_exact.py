"""Exact arithmetic on a `Network`, for `nncells.results.certify` and `nncells.results._redundancy`.

float64 numbers are dyadic rationals ``m 2^e``: sums and products of them are dyadic too, so a
network's pre-activations at a float64 point, its pulled-back rows on a region and a domain's
half-spaces are held exactly as Python integers times one power of two per array (`dyadic`).
Integers are much cheaper than `fractions.Fraction` (no gcd per operation); fractions appear
only in `combination`, which solves a small linear system exactly.

Examples
--------
>>> import numpy as np
>>> from nncells.network import Network
>>> net = Network([[[1.0, -1.0]], [[1.0]]], [[0.0], [0.0]])
>>> E = ExactNetwork(net)
>>> [int(np.sign(v)) for v in E.preactivations([1.0, 1.0 - 2.0 ** -52])]   # 2**-52 > 0, exactly
[1]
>>> G, h = E.rows([True])      # the region x1 - x2 > 0 as -x1 + x2 <= 0, in integers
>>> G.tolist(), h.tolist()
([[-1, 1]], [0])

A linear unit passes its value on exactly and bounds nothing (its row is ``0 <= 0``):

>>> lin = Network([[[1.0], [1.0]], [[1.0, 1.0]]], [[0.0, -1.0], [0.0]], linear=[[True, False]])
>>> [int(np.sign(v)) for v in ExactNetwork(lin).preactivations([-2.0])]
[-1, -1]
>>> G, h = ExactNetwork(lin).rows([True, False])
>>> G.tolist(), h.tolist()
([[0], [1]], [0, 1])
"""
from __future__ import annotations

import weakref
from fractions import Fraction
from math import gcd

import numpy as np

from nncells.domains import Ball

_SHIFT = np.frompyfunc(lambda m, s: int(m) << int(s), 2, 1)


def dyadic(a):
    """``(I, e)`` with ``a == I * 2**e`` exactly: ``I`` an object array of Python ints shaped like
    ``a`` (float64), ``e`` one int for the whole array.

    Examples
    --------
    >>> I, e = dyadic([0.75, -2.0, 0.0])
    >>> I.tolist(), e
    ([3, -8, 0], -2)
    """
    a = np.asarray(a, dtype=np.float64)
    m, ex = np.frexp(a)
    mi = (m * 2.0 ** 53).astype(np.int64)          # exact: |m| < 1 has 53 significant bits
    ex = ex.astype(np.int64) - 53
    nz = mi != 0
    if not nz.any():
        return np.zeros(a.shape, dtype=object), 0
    tz = np.where(nz, _trailing_zeros(np.where(nz, mi, 1)), 0)
    mi, ex = mi >> tz, ex + tz                       # odd mantissas: the smallest integers
    e = int(ex[nz].min())
    out = _SHIFT(mi, np.where(nz, ex - e, 0))
    return np.asarray(out, dtype=object).reshape(a.shape), e


def _trailing_zeros(v):
    v = np.abs(v)
    return np.log2((v & -v).astype(np.float64)).astype(np.int64)


def _align(a, b):
    """Two dyadic arrays ``(I, e)`` brought to one exponent: ``(Ia, Ib, e)``."""
    (Ia, ea), (Ib, eb) = a, b
    e = min(ea, eb)
    return Ia * (1 << (ea - e)), Ib * (1 << (eb - e)), e


def _dot(A, B):
    """Exact integer product of two object arrays (numpy calls Python's int arithmetic)."""
    return np.asarray(np.dot(A, B), dtype=object)


class ExactNetwork:
    """A network's weights and biases as dyadic integers, for exact pre-activations and rows."""

    _recent: list = []      # (weak reference to a network, its ExactNetwork), the latest first

    @classmethod
    def of(cls, net) -> ExactNetwork:
        """``ExactNetwork(net)``, shared while ``net`` lives (the last few networks): a face
        poset's workers take their regions in parts, and the integers of wide layers cost
        more than a part's regions.

        Examples
        --------
        >>> from nncells.network import Network
        >>> net = Network([[[1.0, -1.0]], [[1.0]]], [[0.0], [0.0]])
        >>> ExactNetwork.of(net) is ExactNetwork.of(net)
        True
        """
        for ref, exact in cls._recent:
            if ref() is net:
                return exact
        exact = cls(net)
        cls._recent = [(weakref.ref(net), exact)] + [e for e in cls._recent[:3] if e[0]() is not None]
        return exact

    def __init__(self, net):
        self.net = net
        self.W = [dyadic(W) for W in net.weights[:-1]]
        self.b = [dyadic(b) for b in net.biases[:-1]]
        self.linear = [np.asarray(m, dtype=bool) for m in net.linear]

    def preactivations(self, x) -> np.ndarray:
        """Every hidden neuron's exact pre-activation at ``x``, as integers of one sign each
        (a positive power of two per layer is dropped: only signs and zeros are meaningful).
        A linear unit passes its pre-activation on unchanged (``h = z``, exactly)."""
        h = dyadic(x)
        out = []
        for (W, ew), b, lin in zip(self.W, self.b, self.linear):
            zi, bi, e = _align((_dot(W, h[0]), ew + h[1]), b)
            z = zi + bi
            out.append(z)
            h = (np.asarray([v if (v > 0 or on) else 0 for v, on in zip(z, lin)], dtype=object), e)
        return np.concatenate(out) if out else np.zeros(0, dtype=object)

    def layer_maps(self, pattern, n_layers=None):
        """``[(M, m)]`` per hidden layer: its pre-activations are ``(M x + m) * 2**e`` on the
        region of ``pattern`` (the scale ``2**e > 0`` is dropped), ``M`` (width, d) and ``m``
        (width,) object arrays of ints. A linear unit passes its map on whatever its bit."""
        pattern = np.asarray(pattern, dtype=bool)
        d = self.net.input_dim
        M = np.array([[int(i == j) for j in range(d)] for i in range(d)], dtype=object).reshape(d, d)
        m, e = np.zeros(d, dtype=object) * 0, 0
        out = []
        layers = len(self.W) if n_layers is None else n_layers
        for (W, ew), b, sl, lin in zip(self.W[:layers], self.b[:layers], self.net.layer_slices, self.linear):
            Z = _dot(W, M)
            zi, bi, e2 = _align((_dot(W, m), ew + e), b)
            Z = Z * (1 << (ew + e - e2))
            z = zi + bi
            out.append((Z, z))
            s = pattern[sl] | lin
            M = Z * s[:, None].astype(object)
            m = z * s.astype(object)
            e = e2
        return out

    def unit_row(self, pattern, k):
        """Hidden unit ``k``'s pre-activation on the region of ``pattern`` as ``(a, c)``: ``a x +
        c`` (``a`` (d,) and ``c`` Python ints) times one positive power of two, dropped. One row of
        `layer_maps`, pulled back alone (a vector through the layers below, not their matrices).

        Examples
        --------
        >>> from nncells.network import Network
        >>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]], [[1.0]]], [[0.0, -0.5], [0.25], [0.0]])
        >>> a, c = ExactNetwork(net).unit_row([True, False, True], 2)    # x1 + 0.25 where x2 <= 0.5
        >>> [int(v) for v in a], int(c)
        ([4, 0], 1)
        """
        pattern = np.asarray(pattern, dtype=bool)
        layer = next(i for i, sl in enumerate(self.net.layer_slices) if sl.start <= k < sl.stop)
        (W, ew), (b, eb) = self.W[layer], self.b[layer]
        i = k - self.net.layer_slices[layer].start
        v, ev = W[i].copy(), ew                       # the row over layer `layer`'s inputs
        c, ec = b[i], eb                              # the constant
        for below in range(layer - 1, -1, -1):
            s = (pattern[self.net.layer_slices[below]] | self.linear[below]).astype(object)
            v = v * s
            (Wl, el), (bl, fl) = self.W[below], self.b[below]
            cv, cc, e = _align((np.asarray([_dot(v, bl)], dtype=object), ev + fl), (np.asarray([c], dtype=object), ec))
            c, ec = cv[0] + cc[0], e
            v, ev = _dot(v, Wl), ev + el
        a, cc, e = _align((v, ev), (np.asarray([c], dtype=object), ec))
        return a, cc[0]

    def rows(self, pattern):
        """The region's rows ``G x <= h`` as integers (each layer's rows scaled by one positive
        power of two), one per hidden neuron in pattern order (`Network.region_halfspaces`); a
        linear unit's row is ``0 <= 0`` (it bounds nothing)."""
        pattern = np.asarray(pattern, dtype=bool)
        maps = self.layer_maps(pattern)
        if not maps:
            return np.zeros((0, self.net.input_dim), dtype=object), np.zeros(0, dtype=object)
        Z = np.concatenate([M for M, _ in maps])
        z = np.concatenate([m for _, m in maps])
        sign = np.where(pattern, -1, 1) * ~self.net.linear_mask
        sign = sign.astype(object)
        return Z * sign[:, None], -z * sign


def domain_rows(domain):
    """The domain's half-spaces ``A x <= b`` as integers (each row scaled by its own power of two)."""
    A, b = domain.halfspaces()
    G = np.zeros(A.shape, dtype=object)
    h = np.zeros(len(b), dtype=object)
    for j in range(len(b)):
        I, _ = dyadic(np.append(A[j], b[j]))
        G[j], h[j] = I[:-1], I[-1]
    return G, h


def in_domain(domain, x) -> bool:
    """Whether the float64 point ``x`` lies in the (closed) domain, decided exactly."""
    if isinstance(domain, Ball) and domain.norm == 2:
        xs = [Fraction(float(v)) for v in x]
        c = [Fraction(float(v)) for v in domain.center]
        return sum((a - b) ** 2 for a, b in zip(xs, c)) <= Fraction(domain.radius) ** 2
    G, h = domain_rows(domain)
    X, ex = dyadic(x)
    for g, c in zip(G, h):                       # g x <= c  <=>  (g X) 2^ex <= c
        lhs, rhs, _ = _align((np.asarray([_dot(g, X)], dtype=object), ex), (np.asarray([c], dtype=object), 0))
        if lhs[0] > rhs[0]:
            return False
    return True


def combination(A, a):
    """Exact ``lam = num / den`` with ``sum_j lam_j A[j] == a`` over an independent subset of the
    rows of the integer matrix ``A`` (the others 0): ``(num, den)``, Python ints with
    ``den > 0``, or None when ``a`` is not in the rows' span.

    Fraction-free Gauss-Jordan elimination (Bareiss) of ``A^T lam = a``: every entry stays an
    integer (a minor of the system), every division is exact, no gcd is taken.

    Examples
    --------
    >>> combination(np.array([[2, 0], [0, 1], [2, 1]], dtype=object), np.array([1, 3], dtype=object))
    ([1, 6, 0], 2)
    >>> combination(np.array([[1, 1]], dtype=object), np.array([1, 0], dtype=object)) is None
    True
    """
    k, d = len(A), len(a)
    R = [[int(A[j][i]) for j in range(k)] + [int(a[i])] for i in range(d)]
    prev, row, piv = 1, 0, []
    for col in range(k):
        p = next((i for i in range(row, d) if R[i][col]), None)
        if p is None:
            continue
        R[row], R[p] = R[p], R[row]
        P = R[row]
        pv = P[col]
        for i in range(d):
            if i == row:
                continue
            Ri = R[i]
            f = Ri[col]
            new = []
            for u, v in zip(Ri, P):
                q, rem = divmod(pv * u - f * v, prev)
                if rem:                                    # cannot happen (Bareiss); be safe
                    return _combination_fractions(A, a)
                new.append(q)
            R[i] = new
        prev = pv
        piv.append(col)
        row += 1
        if row == d:
            break
    if any(R[i][k] for i in range(row, d)):
        return None
    if not piv:
        return [0] * k, 1
    den = prev                       # after Gauss-Jordan every pivot equals the last one
    num = [0] * k
    for i, col in enumerate(piv):
        num[col] = R[i][k]
    if den < 0:
        den, num = -den, [-v for v in num]
    return num, den


def det(M) -> int:
    """The exact determinant of a square matrix of Python ints (Bareiss: every division exact).

    Examples
    --------
    >>> det([[2, 1], [4, 2]]), det([[2, 1], [1, 3]]), det([[0, 1], [1, 0]])
    (0, 5, -1)
    """
    R = [[int(v) for v in row] for row in M]
    n, sign, prev = len(R), 1, 1
    for k in range(n):
        p = next((i for i in range(k, n) if R[i][k]), None)
        if p is None:
            return 0
        if p != k:
            R[k], R[p] = R[p], R[k]
            sign = -sign
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                R[i][j] = (R[i][j] * R[k][k] - R[i][k] * R[k][j]) // prev
        prev = R[k][k]
    return sign * R[n - 1][n - 1] if n else 1


_PRIME = (1 << 61) - 1


def nonsingular(M) -> bool:
    """Whether a square matrix of Python ints has a nonzero determinant, exactly: by elimination
    modulo the prime ``2^61 - 1`` without division (each step scales the determinant by a
    nonzero residue; a nonzero last pivot proves it), `det` where a residue is 0. Faster than
    `det` on long integers.

    Examples
    --------
    >>> nonsingular([[2, 1], [4, 2]]), nonsingular([[2, 1], [1, 3]]), nonsingular([[_PRIME, 0], [0, 1]])
    (False, True, True)
    """
    R = [[int(v) % _PRIME for v in row] for row in M]
    n = len(R)
    for k in range(n):
        p = next((i for i in range(k, n) if R[i][k]), None)
        if p is None:
            return det(M) != 0
        R[k], R[p] = R[p], R[k]
        top = R[k]
        pivot = top[k]
        for i in range(k + 1, n):
            row = R[i]
            f = row[k]
            if f:
                for j in range(k + 1, n):
                    row[j] = (row[j] * pivot - f * top[j]) % _PRIME
    return True


def _combination_fractions(A, a):
    """`combination` in fractions (the reference; used only if an exact division failed)."""
    k, d = len(A), len(a)
    R = [[Fraction(int(A[j][i])) for j in range(k)] + [Fraction(int(a[i]))] for i in range(d)]
    piv, row = [], 0
    for col in range(k):
        p = next((i for i in range(row, d) if R[i][col] != 0), None)
        if p is None:
            continue
        R[row], R[p] = R[p], R[row]
        inv = 1 / R[row][col]
        R[row] = [v * inv for v in R[row]]
        for i in range(d):
            if i != row and R[i][col] != 0:
                f = R[i][col]
                R[i] = [u - f * v for u, v in zip(R[i], R[row])]
        piv.append(col)
        row += 1
        if row == d:
            break
    if any(R[i][k] != 0 for i in range(row, d)):
        return None
    lam = [Fraction(0)] * k
    for i, col in enumerate(piv):
        lam[col] = R[i][k]
    den = 1
    for v in lam:
        den = den * v.denominator // gcd(den, v.denominator)
    return [int(v * den) for v in lam], den
