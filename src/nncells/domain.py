"""Input domains: `Box`, `Polytope`, `Ball` and the whole space `Space`."""
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
        """A length typical of the domain (for pictures and LP caps; never for tolerances)."""
        return 1.0

    def contains(self, X, tol=0.0) -> np.ndarray:
        A, b = self.halfspaces()
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        return np.all(X @ A.T <= b + tol, axis=1)

    def refine_cell(self, cell, rule):
        """Hook for domains that are not polyhedra (balls): given a cell of the arrangement
        inside ``halfspaces()``, return it (possibly with a new interior point) if it meets
        the domain in a full-dimensional set, else None (``rule``: `nncells.contract.Rule`).
        Polyhedral domains keep every cell."""
        return cell

    def sample(self, n: int, rng=None) -> np.ndarray:
        raise NNCellsError(f"{type(self).__name__} cannot be sampled uniformly")

    def to_dict(self) -> dict:
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
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


@dataclass(frozen=True, eq=False)
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
        from .contract import DEFAULT_TOL, deepest_point
        n = np.linalg.norm(A, axis=1)
        if np.any(n == 0):
            if np.any(b[n == 0] < 0):
                raise NNCellsError("polytope domain is empty or has no interior")
        ok = n > 0
        x, r = deepest_point(A[ok] / n[ok, None], b[ok] / n[ok], DEFAULT_TOL) if ok.any() else (0, 1)
        if x is None:
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


@dataclass(frozen=True, eq=False)
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
    if kind == "ball":
        return Ball(d["center"], d["radius"], d.get("norm", 2))
    raise NNCellsError(f"unknown domain type {kind!r}")


@dataclass(frozen=True, eq=False)
class Ball(Domain):
    """The ball ``||x - center|| <= radius`` in the Euclidean norm (``norm=2``) or the max norm
    (``norm="inf"``, the box ``center +- radius``).

    The engine enumerates inside the bounding box ``halfspaces()``; for the Euclidean ball
    ``refine_cell`` then keeps a cell iff its closest point to the centre is strictly inside the
    ball (by the contract's margin ``tol (||center||_inf + radius)``): one least-distance problem
    (`lp.distance_to_polyhedron`), avoided when a witness already proves it. A point deep inside
    ``cell ∩ ball`` is then found in closed form on the segment from that closest point to the
    cell's deepest known point (no step limit). With ``norm="inf"`` the ball is a box.
    """

    center: object
    radius: float
    norm: object = 2
    dim: int | None = None

    def __post_init__(self):
        c = _vector(self.center, "ball centre")
        try:
            r = float(self.radius)
        except (TypeError, ValueError):
            raise NNCellsError(f"ball radius is not a number: {self.radius!r}") from None
        if not (np.isfinite(r) and r > 0):
            raise NNCellsError(f"ball radius must be a positive finite number, got {self.radius!r}")
        norm = str(self.norm).strip().lower()
        if norm in ("2", "2.0", "l2"):
            norm = 2
        elif norm in ("inf", "infinity", "linf", "max"):
            norm = "inf"
        else:
            raise NNCellsError(f"ball norm must be 2 or 'inf', got {self.norm!r}")
        if self.dim is not None and c.size != self.dim:
            raise NNCellsError(f"ball centre has dimension {c.size} but the network has {self.dim} inputs")
        object.__setattr__(self, "center", c)
        object.__setattr__(self, "radius", r)
        object.__setattr__(self, "norm", norm)

    def resolve(self, dim):
        return Ball(self.center, self.radius, self.norm, dim)

    def halfspaces(self):
        return Box(self.center - self.radius, self.center + self.radius).halfspaces()

    def bounds(self):
        return self.center - self.radius, self.center + self.radius

    @property
    def scale(self):
        return 2.0 * self.radius

    def contains(self, X, tol=0.0):
        X = np.atleast_2d(np.asarray(X, dtype=np.float64)) - self.center
        dist = np.max(np.abs(X), axis=1) if self.norm == "inf" else np.linalg.norm(X, axis=1)
        return dist <= self.radius + tol

    def refine_cell(self, cell, rule):
        if self.norm == "inf":
            return cell
        from dataclasses import replace

        from .lp import distance_to_polyhedron
        A, c = cell.A, cell.c  # unit rows
        center, r = self.center, self.radius
        # The cell meets the ball in a full-dimensional set iff its closest point to the centre
        # is strictly inside; "strictly" by the contract's margin, in the ball's own numbers.
        margin = rule.tol * (float(np.max(np.abs(center))) + r)
        P = np.vstack([cell.point[None, :], cell.wit_points])
        R = np.concatenate([[cell.radius], cell.wit_radii])
        ball_depth = r - np.linalg.norm(P - center, axis=1)
        rad = np.minimum(R, ball_depth)
        best = int(np.argmax(rad))
        if rule.witness(P[best], rad[best]) and rad[best] > margin:
            return replace(cell, point=P[best].copy(), radius=float(rad[best]))
        if np.any(A @ center - c >= r):  # one half-space already misses the ball
            return None
        dist, q = distance_to_polyhedron(A, c, center, scale=r)
        if q is None or not dist < r - margin:
            return None
        # q: the cell's closest point to the centre; p: the cell's deepest known point (depth R).
        # Along q + s (p - q) the cell's depth is >= s R and the ball's >= (r - dist) - s |p - q|
        # (both concave), so s = (r - dist) / (R + |p - q|) gives a point deep in both.
        i = int(np.argmax(R))
        p, Rp = P[i], float(R[i])
        s = (r - dist) / (Rp + float(np.linalg.norm(p - q)))
        x = q + min(s, 1.0) * (p - q)
        depth = min(float(np.min(c - A @ x, initial=np.inf)), r - float(np.linalg.norm(x - center)))
        if not depth > 0:
            return None
        return replace(cell, point=x, radius=depth)

    def sample(self, n, rng=None):
        rng = np.random.default_rng(rng)
        d = self.center.size
        if self.norm == "inf":
            return self.center + self.radius * (2.0 * rng.random((n, d)) - 1.0)
        g = rng.normal(size=(n, d))
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        return self.center + g * (self.radius * rng.random((n, 1)) ** (1.0 / d))

    def to_dict(self):
        return {"type": "ball", "center": self.center.tolist(), "radius": self.radius, "norm": self.norm}
