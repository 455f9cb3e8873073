"""Polyhedral domains: `Box`, `Polytope` and the whole space `Space`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nncells.errors import DomainError
from nncells.domains.base import Domain, _vector

if TYPE_CHECKING:
    import numpy.typing as npt

    from nncells.domains.base import Seed


@dataclass(frozen=True, eq=False)
class Box(Domain):
    """The box ``lo <= x <= hi``; ``lo`` and ``hi`` are scalars or per-dimension vectors.

    Parameters
    ----------
    lo, hi : float or array_like
        Bounds; a scalar is broadcast to the other bound's size, or to ``dim``.
    dim : int, optional
        Input dimension; usually set by `resolve`.

    Raises
    ------
    DomainError
        If the sizes do not fit, a bound is not finite, or ``lo >= hi`` in some dimension.

    Examples
    --------
    >>> B = Box(0.0, [1.0, 2.0])
    >>> B.lo.tolist(), B.hi.tolist(), B.volume
    ([0.0, 0.0], [1.0, 2.0], 2.0)
    >>> B.contains([[0.5, 1.5], [0.5, 2.5]]).tolist()
    [True, False]
    """

    lo: npt.NDArray[np.float64]
    hi: npt.NDArray[np.float64]
    dim: int | None = None

    if TYPE_CHECKING:  # the constructor takes array_like bounds; `__post_init__` makes them float64 arrays
        def __init__(self, lo: npt.ArrayLike, hi: npt.ArrayLike, dim: int | None = None) -> None: ...

    def __post_init__(self) -> None:
        lo, hi = _vector(self.lo, "box lower bound"), _vector(self.hi, "box upper bound")
        if self.dim is not None:
            for name, v in (("lower", lo), ("upper", hi)):
                if v.size not in (1, self.dim):
                    raise DomainError(
                        f"box {name} bound has {v.size} values but the input dimension is {self.dim}")
            lo, hi = np.broadcast_to(lo, self.dim).copy(), np.broadcast_to(hi, self.dim).copy()
        elif lo.size != hi.size and 1 not in (lo.size, hi.size):
            raise DomainError(f"box bounds have {lo.size} and {hi.size} values")
        elif lo.size != hi.size:
            n = max(lo.size, hi.size)
            lo, hi = np.broadcast_to(lo, n).copy(), np.broadcast_to(hi, n).copy()
        if np.any(lo >= hi):
            i = int(np.argmax(lo >= hi))
            raise DomainError(f"box is empty: lo >= hi in dimension {i} ({lo[i]} >= {hi[i]})")
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def resolve(self, dim: int) -> Box:
        """This box with ``dim`` set and its bounds broadcast to ``dim`` entries.

        Examples
        --------
        >>> B = Box(-1.0, 1.0).resolve(3)
        >>> B.dim, B.hi.tolist()
        (3, [1.0, 1.0, 1.0])
        """
        if self.lo.size not in (1, dim):
            raise DomainError(f"box has dimension {self.lo.size} but the network has {dim} inputs")
        return Box(self.lo, self.hi, dim)

    def halfspaces(self) -> tuple[np.ndarray, np.ndarray]:
        """``(A, b)`` with rows ``x_i <= hi_i`` then ``-x_i <= -lo_i``.

        Examples
        --------
        >>> A, b = Box([-1.0, 1.0], [2.0, 3.0]).halfspaces()
        >>> A.shape, b.tolist()
        ((4, 2), [2.0, 3.0, 1.0, -1.0])
        """
        d = self.lo.size
        eye = np.eye(d)
        return np.vstack([eye, -eye]), np.concatenate([self.hi, -self.lo])

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The box itself, ``(lo, hi)``.

        Examples
        --------
        >>> [v.tolist() for v in Box(0.0, [1.0, 2.0]).bounds()]
        [[0.0, 0.0], [1.0, 2.0]]
        """
        return self.lo, self.hi

    @property
    def scale(self) -> float:
        """The longest side.

        Examples
        --------
        >>> Box(0.0, [1.0, 4.0]).scale
        4.0
        """
        return float(np.max(self.hi - self.lo))

    @property
    def volume(self) -> float:
        """The product of the side lengths.

        Examples
        --------
        >>> Box(-1.0, 1.0, dim=3).volume
        8.0
        """
        return float(np.prod(self.hi - self.lo))

    def sample(self, n: int, rng: Seed = None) -> np.ndarray:
        """``n`` uniform points in the box, shaped (n, dim).

        Examples
        --------
        >>> B = Box(0.0, [1.0, 2.0])
        >>> X = B.sample(100, rng=0)
        >>> X.shape, bool(B.contains(X).all())
        ((100, 2), True)
        """
        rng = np.random.default_rng(rng)
        return self.lo + rng.random((n, self.lo.size)) * (self.hi - self.lo)

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "box", "lo": [...], "hi": [...]}``.

        Examples
        --------
        >>> Box(0.0, 1.0, dim=2).to_dict()
        {'type': 'box', 'lo': [0.0, 0.0], 'hi': [1.0, 1.0]}
        """
        return {"type": "box", "lo": self.lo.tolist(), "hi": self.hi.tolist()}


@dataclass(frozen=True, eq=False)
class Polytope(Domain):
    """The polytope ``A x <= b`` (bounded or not); it must have an interior.

    Only the shapes are checked here (no solver in this module): an empty polytope is refused
    when a run starts (`DomainError`), and the engine finds its bounding box with LPs.

    Examples
    --------
    >>> import numpy as np
    >>> P = Polytope(np.array([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]]), np.array([1.0, 0.0, 0.0]))
    >>> P.dim, bool(P.contains([[0.2, 0.2]])[0])
    (2, True)
    """

    A: npt.NDArray[np.float64]
    b: npt.NDArray[np.float64]

    if TYPE_CHECKING:  # the constructor takes array_like ``A`` and ``b``; `__post_init__` makes them float64 arrays
        def __init__(self, A: npt.ArrayLike, b: npt.ArrayLike) -> None: ...

    def __post_init__(self) -> None:
        A = np.atleast_2d(np.asarray(self.A, dtype=np.float64))
        b = _vector(self.b, "polytope right-hand side")
        if not np.all(np.isfinite(A)):
            raise DomainError("polytope matrix contains NaN or inf")
        if A.shape[0] != b.size:
            raise DomainError(f"polytope has {A.shape[0]} rows in A but {b.size} entries in b")
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "b", b)
        if np.any(np.all(A == 0, axis=1) & (b < 0)):
            raise DomainError("polytope domain is empty or has no interior")

    @property
    def dim(self) -> int:
        """Number of columns of ``A``.

        Examples
        --------
        >>> Polytope([[1.0, 1.0, 1.0]], [1.0]).dim
        3
        """
        return int(self.A.shape[1])

    def resolve(self, dim: int) -> Polytope:
        """The polytope itself, after checking that it has dimension ``dim``.

        Examples
        --------
        >>> P = Polytope([[1.0, 1.0]], [1.0])
        >>> P.resolve(2) is P
        True
        """
        if self.dim != dim:
            raise DomainError(f"polytope has dimension {self.dim} but the network has {dim} inputs")
        return self

    def halfspaces(self) -> tuple[np.ndarray, np.ndarray]:
        """``(A, b)`` as given (converted to float64).

        Examples
        --------
        >>> A, b = Polytope([[1, 1], [-1, 0]], [1, 0]).halfspaces()
        >>> A.dtype, b.tolist()
        (dtype('float64'), [1.0, 0.0])
        """
        return self.A, self.b


    def to_dict(self) -> dict[str, Any]:
        """``{"type": "polytope", "A": [[...], ...], "b": [...]}``.

        Examples
        --------
        >>> Polytope([[1.0, 1.0]], [1.0]).to_dict()
        {'type': 'polytope', 'A': [[1.0, 1.0]], 'b': [1.0]}
        """
        return {"type": "polytope", "A": self.A.tolist(), "b": self.b.tolist()}


@dataclass(frozen=True, eq=False)
class Space(Domain):
    """The whole input space R^dim: unbounded regions are enumerated exactly.

    Examples
    --------
    >>> S = Space().resolve(2)
    >>> S, S.bounds() is None, S.contains([[1e9, -1e9]]).tolist()
    (Space(dim=2), True, [True])
    """

    dim: int | None = None

    def resolve(self, dim: int) -> Space:
        """``Space(dim)``, after checking a dimension already set.

        Examples
        --------
        >>> Space().resolve(3).dim
        3
        """
        if self.dim is not None and self.dim != dim:
            raise DomainError(f"space has dimension {self.dim} but the network has {dim} inputs")
        return Space(dim)

    def halfspaces(self) -> tuple[np.ndarray, np.ndarray]:
        """No constraints: ``A`` shaped (0, dim) and ``b`` shaped (0,).

        Examples
        --------
        >>> [a.shape for a in Space(2).halfspaces()]
        [(0, 2), (0,)]
        >>> Space().halfspaces()
        Traceback (most recent call last):
        ...
        nncells.errors.DomainError: Space() has no dimension yet: give Space(dim), or resolve it against a network
        """
        if self.dim is None:
            raise DomainError("Space() has no dimension yet: give Space(dim), or resolve it against a network")
        return np.zeros((0, self.dim)), np.zeros(0)

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "space", "dim": dim}``.

        Examples
        --------
        >>> Space(2).to_dict()
        {'type': 'space', 'dim': 2}
        """
        return {"type": "space", "dim": self.dim}
