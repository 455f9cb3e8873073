"""Independent oracle for piecewise-linear model graphs (does not use nncells).

A model is a Python function ``model(ops, x)`` over `Aff`, a tiny symbolic class of vectors of
affine functions of the input ``x`` in R^d (``A @ x + b``); its nonlinear ops go through ``ops``
(`Pieces`), which, for every scalar nonlinear op, picks one of its linear pieces. `regions` runs
a depth-first search over the pieces of every nonlinear op in the order the model meets them,
with one SciPy ``linprog`` per branch (Chebyshev radius of the piece's cell > tol, in a box),
and returns the set of full-dimensional cells as piece-patterns (one piece index per decision).

Pieces of each op (index: piece):

- ``relu(a)``, ``leaky(a, s)``, ``abs(a)``: 0: a <= 0, 1: a >= 0
- ``clamp(a, lo, hi)``: 0: a <= lo, 1: lo <= a <= hi, 2: a >= hi (one bound: two pieces)
- ``max2(a, b)``: 0: b <= a (a wins), 1: b >= a
- ``max_tournament(values)``: ``max2`` of pairs (v0, v1), (v2, v3), ..., an odd one passes,
  round after round (the cells of its pairwise comparisons)
- ``max_argmax(values)``: k pieces, piece j: v_j >= v_i for every i (the true argmax cells)
"""
import numpy as np
from scipy.optimize import linprog


class Aff:
    """A vector of affine functions ``A @ x + b`` of x in R^d (A: (n, d), b: (n,))."""

    __array_ufunc__ = None   # numpy arrays defer to Aff's operators (W @ aff, 2.0 * aff)

    def __init__(self, A, b):
        self.A = np.atleast_2d(np.asarray(A, dtype=float))
        self.b = np.asarray(b, dtype=float).reshape(-1)

    @classmethod
    def input(cls, d):
        return cls(np.eye(d), np.zeros(d))

    @classmethod
    def const(cls, values, d):
        values = np.asarray(values, dtype=float).reshape(-1)
        return cls(np.zeros((len(values), d)), values)

    @classmethod
    def cat(cls, parts):
        return cls(np.vstack([p.A for p in parts]), np.concatenate([p.b for p in parts]))

    def __len__(self):
        return len(self.b)

    def _other(self, o):
        if isinstance(o, Aff):
            return o
        return Aff(np.zeros_like(self.A), np.broadcast_to(np.asarray(o, dtype=float), self.b.shape))

    def __add__(self, o):
        o = self._other(o)
        return Aff(self.A + o.A, self.b + o.b)

    __radd__ = __add__

    def __neg__(self):
        return Aff(-self.A, -self.b)

    def __sub__(self, o):
        return self + (-self._other(o))

    def __rsub__(self, o):
        return self._other(o) - self

    def __mul__(self, s):
        s = np.broadcast_to(np.asarray(s, dtype=float), self.b.shape)
        return Aff(self.A * s[:, None], self.b * s)

    __rmul__ = __mul__

    def __rmatmul__(self, W):
        W = np.asarray(W, dtype=float)
        return Aff(W @ self.A, W @ self.b)

    def __getitem__(self, i):
        idx = np.arange(len(self.b))[i]
        return Aff(self.A[np.atleast_1d(idx)], self.b[np.atleast_1d(idx)])

    def linear(self, W, b=None):
        out = np.asarray(W, dtype=float) @ self
        return out if b is None else out + np.asarray(b, dtype=float)

    def at(self, x):
        return self.A @ np.asarray(x, dtype=float) + self.b


class Branch(Exception):
    """Raised at the first decision beyond the recorded choices: its pieces."""

    def __init__(self, pieces):
        super().__init__()
        self.pieces = pieces


class Pieces:
    """The nonlinear ops of a model; each scalar decision takes the next recorded choice
    (``choices``), or the piece that holds at the point ``x``, or raises `Branch`."""

    def __init__(self, choices=(), x=None):
        self.choices, self.x, self.k, self.taken = list(choices), x, 0, []

    def _decide(self, pieces):
        """``pieces``: list of (G, h, value): the piece holds where ``G x <= h``; ``value`` an Aff of length 1."""
        if self.x is not None:
            slack = [np.min(h - G @ self.x) for G, h, _ in pieces]
            j = int(np.argmax(slack))
        elif self.k < len(self.choices):
            j = self.choices[self.k]
        else:
            raise Branch(pieces)
        self.k += 1
        self.taken.append(j)
        return pieces[j][2]

    @staticmethod
    def _le(a, c=0.0):
        """a <= c, as (G, h)."""
        return a.A.reshape(1, -1), np.array([c - a.b[0]])

    def _each(self, a, pieces_of):
        return Aff.cat([self._decide(pieces_of(a[i])) for i in range(len(a))])

    def relu(self, a):
        return self.leaky(a, 0.0)

    def leaky(self, a, s):
        s = np.broadcast_to(np.asarray(s, dtype=float), (len(a),))
        out = []
        for i in range(len(a)):
            ai = a[i]
            out.append(self._decide([(*self._le(ai), ai * s[i]), (*self._le(-ai), ai)]))
        return Aff.cat(out)

    def abs(self, a):
        return self.leaky(a, -1.0)

    def clamp(self, a, lo=None, hi=None):
        def pieces(ai):
            zero = Aff(np.zeros_like(ai.A), [0.0])
            out = []
            if lo is not None:
                out.append((*self._le(ai, lo), zero + lo))
            G = [g for g in ([self._le(-ai, -lo)] if lo is not None else []) + ([self._le(ai, hi)] if hi is not None else [])]
            out.append((np.vstack([g[0] for g in G]), np.concatenate([g[1] for g in G]), ai))
            if hi is not None:
                out.append((*self._le(-ai, -hi), zero + hi))
            return out
        return self._each(a, pieces)

    def max2(self, a, b):
        out = []
        for i in range(len(a)):
            d = b[i] - a[i]
            out.append(self._decide([(*self._le(d), a[i]), (*self._le(-d), b[i])]))
        return Aff.cat(out)

    def max_tournament(self, values):
        values = list(values)
        while len(values) > 1:
            nxt = [self.max2(values[i], values[i + 1]) for i in range(0, len(values) - 1, 2)]
            values = nxt + ([values[-1]] if len(values) % 2 else [])
        return values[0]

    def max_argmax(self, values):
        pieces = []
        for j, vj in enumerate(values):
            rows = [self._le(v - vj) for i, v in enumerate(values) if i != j]
            pieces.append((np.vstack([r[0] for r in rows]), np.concatenate([r[1] for r in rows]), vj))
        return self._decide(pieces)


def chebyshev_radius(G, h, cap=1.0):
    """Largest ball (radius capped) inside ``G x <= h`` (rows normalised), with SciPy's linprog."""
    norms = np.linalg.norm(G, axis=1)
    zero = norms < 1e-12
    if np.any(h[zero] < 0):
        return -np.inf
    G, h, norms = G[~zero], h[~zero], norms[~zero]
    d = G.shape[1]
    res = linprog(np.r_[np.zeros(d), -1.0], A_ub=np.hstack([G / norms[:, None], np.ones((len(h), 1))]),
                  b_ub=h / norms, bounds=[(None, None)] * d + [(None, cap)], method="highs")
    return -res.fun if res.status == 0 else -np.inf


def regions(model, lo, hi, tol=1e-7):
    """Piece-patterns of the full-dimensional cells of ``model`` in the box [lo, hi]."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    d = len(lo)
    G0 = np.vstack([np.eye(d), -np.eye(d)])
    h0 = np.concatenate([hi, -lo])
    found = set()

    def visit(choices, G, h):
        ops = Pieces(choices)
        try:
            model(ops, Aff.input(d))
        except Branch as br:
            for j, (Gj, hj, _) in enumerate(br.pieces):
                G2, h2 = np.vstack([G, Gj]), np.concatenate([h, hj])
                if chebyshev_radius(G2, h2) > tol:
                    visit(choices + [j], G2, h2)
            return
        found.add(tuple(choices))
    visit([], G0, h0)
    return found


def pattern_at(model, x):
    """The piece-pattern of the cell holding ``x`` (an interior point), and the output there."""
    x = np.asarray(x, dtype=float)
    ops = Pieces(x=x)
    out = model(ops, Aff.input(len(x)))
    return tuple(ops.taken), out.at(x)
