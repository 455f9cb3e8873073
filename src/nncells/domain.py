"""Input domains: `Box`, `Polytope` and the whole space `Space`."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import NNCellsError


def _vector(v, name) -> np.ndarray:
    try:
        a = np.atleast_1d(np.asarray(v, dtype=np.float64)).reshape(-1)
    except (TypeError, ValueError):
        raise NNCellsError(f"{name} is not a number or a list of numbers: {v!r}") from None
    if not np.all(np.isfinite(a)):
        raise NNCellsError(f"{name} contains NaN or inf")
    return a


class Domain:
    """Base class. A domain is a closed convex set in R^dim with a half-space form ``A x <= b``."""

    dim: int | None

    def resolve(self, dim: int) -> "Domain":
        """This domain checked against (and broadcast to) input dimension ``dim``."""
        raise NotImplementedError

    def halfspaces(self) -> tuple[np.ndarray, np.ndarray]:
        raise NotImplementedError

    def bounds(self):
        """An axis-aligned box ``(lo, hi)`` containing the domain, or None when unbounded."""
        return None

    @property
    def scale(self) -> float:
        """A length typical of the domain; the geometric tolerance is relative to it."""
        return 1.0

    def contains(self, X, tol=0.0) -> np.ndarray:
        A, b = self.halfspaces()
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        return np.all(X @ A.T <= b + tol, axis=1)

    def refine_cell(self, cell, tol):
        """Hook for domains that are not polyhedra (balls): given a cell of the arrangement
        inside ``halfspaces()``, return it (possibly with a new interior point) if it meets
        the domain in a full-dimensional set, else None. Polyhedral domains keep every cell."""
        return cell

    def sample(self, n: int, rng=None) -> np.ndarray:
        raise NNCellsError(f"{type(self).__name__} cannot be sampled uniformly")

    def to_dict(self) -> dict:
        raise NotImplementedError


@dataclass(frozen=True)
class Box(Domain):
    """The box ``lo <= x <= hi``; ``lo`` and ``hi`` are scalars or per-dimension vectors."""

    lo: object
    hi: object
    dim: int | None = None

    def __post_init__(self):
        lo, hi = _vector(self.lo, "box lower bound"), _vector(self.hi, "box upper bound")
        if self.dim is not None:
            for name, v in (("lower", lo), ("upper", hi)):
                if v.size not in (1, self.dim):
                    raise NNCellsError(
                        f"box {name} bound has {v.size} values but the input dimension is {self.dim}")
            lo, hi = np.broadcast_to(lo, self.dim).copy(), np.broadcast_to(hi, self.dim).copy()
        elif lo.size != hi.size and 1 not in (lo.size, hi.size):
            raise NNCellsError(f"box bounds have {lo.size} and {hi.size} values")
        elif lo.size != hi.size:
            n = max(lo.size, hi.size)
            lo, hi = np.broadcast_to(lo, n).copy(), np.broadcast_to(hi, n).copy()
        if np.any(lo >= hi):
            i = int(np.argmax(lo >= hi))
            raise NNCellsError(f"box is empty: lo >= hi in dimension {i} ({lo[i]} >= {hi[i]})")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def resolve(self, dim):
        if self.lo.size not in (1, dim):
            raise NNCellsError(f"box has dimension {self.lo.size} but the network has {dim} inputs")
        return Box(self.lo, self.hi, dim)

    def halfspaces(self):
        d = self.lo.size
        eye = np.eye(d)
        return np.vstack([eye, -eye]), np.concatenate([self.hi, -self.lo])

    def bounds(self):
        return self.lo, self.hi

    @property
    def scale(self):
        return float(np.max(self.hi - self.lo))

    @property
    def volume(self) -> float:
        return float(np.prod(self.hi - self.lo))

    def sample(self, n, rng=None):
        rng = np.random.default_rng(rng)
        return self.lo + rng.random((n, self.lo.size)) * (self.hi - self.lo)

    def to_dict(self):
        return {"type": "box", "lo": self.lo.tolist(), "hi": self.hi.tolist()}


@dataclass(frozen=True)
class Polytope(Domain):
    """The polytope ``A x <= b`` (bounded or not); it must have an interior."""

    A: object
    b: object

    def __post_init__(self):
        A = np.atleast_2d(np.asarray(self.A, dtype=np.float64))
        b = _vector(self.b, "polytope right-hand side")
        if not np.all(np.isfinite(A)):
            raise NNCellsError("polytope matrix contains NaN or inf")
        if A.shape[0] != b.size:
            raise NNCellsError(f"polytope has {A.shape[0]} rows in A but {b.size} entries in b")
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "b", b)
        from .lp import chebyshev_center
        x, r = chebyshev_center(A, b, cap=1.0)
        if x is None or r <= 1e-12:
            raise NNCellsError("polytope domain is empty or has no interior")
        object.__setattr__(self, "_bounds", _lp_bounds(A, b))

    @property
    def dim(self):
        return self.A.shape[1]

    def resolve(self, dim):
        if self.dim != dim:
            raise NNCellsError(f"polytope has dimension {self.dim} but the network has {dim} inputs")
        return self

    def halfspaces(self):
        return self.A, self.b

    def bounds(self):
        return self._bounds

    @property
    def scale(self):
        if self._bounds is None:
            return 1.0
        lo, hi = self._bounds
        return float(np.max(hi - lo))

    def sample(self, n, rng=None):
        if self._bounds is None:
            return super().sample(n, rng)
        rng = np.random.default_rng(rng)
        lo, hi = self._bounds
        out = np.empty((0, self.dim))
        while len(out) < n:
            X = lo + rng.random((4 * n, self.dim)) * (hi - lo)
            out = np.vstack([out, X[self.contains(X)]])
        return out[:n]

    def to_dict(self):
        return {"type": "polytope", "A": self.A.tolist(), "b": self.b.tolist()}


@dataclass(frozen=True)
class Space(Domain):
    """The whole input space R^dim: unbounded regions are enumerated exactly."""

    dim: int | None = None

    def resolve(self, dim):
        if self.dim is not None and self.dim != dim:
            raise NNCellsError(f"space has dimension {self.dim} but the network has {dim} inputs")
        return Space(dim)

    def halfspaces(self):
        return np.zeros((0, self.dim)), np.zeros(0)

    def to_dict(self):
        return {"type": "space", "dim": self.dim}


def _lp_bounds(A, b):
    """Axis-aligned bounding box of ``A x <= b`` by 2 d LPs, or None if unbounded."""
    from .lp import minimize_linear
    d = A.shape[1]
    lo, hi = np.empty(d), np.empty(d)
    for i in range(d):
        e = np.zeros(d)
        e[i] = 1.0
        v = minimize_linear(e, A, b)
        w = minimize_linear(-e, A, b)
        if v is None or w is None:
            return None
        lo[i], hi[i] = v, -w
    return lo, hi


def domain_from_dict(d: dict) -> Domain:
    """Inverse of ``Domain.to_dict``."""
    kind = d.get("type")
    if kind == "box":
        return Box(d["lo"], d["hi"])
    if kind == "polytope":
        return Polytope(d["A"], d["b"])
    if kind == "space":
        return Space(d["dim"])
    raise NNCellsError(f"unknown domain type {kind!r}")
