"""The ball domain `Ball` (Euclidean or max norm)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nncells.errors import DomainError
from nncells.domains.base import Domain, _vector
from nncells.domains.polyhedra import Box

if TYPE_CHECKING:
    import numpy.typing as npt

    from nncells.domains.base import Seed


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

    Parameters
    ----------
    center : array_like
    radius : float
        Positive and finite.
    norm : {2, "inf"}
        Also accepted: ``"2"``, ``"l2"``, ``"linf"``, ``"max"``, ``"infinity"``.
    dim : int, optional
        Input dimension; usually set by `resolve`.

    Examples
    --------
    >>> Ball([0.0, 0.0], 1.0).contains([[0.6, 0.6], [0.8, 0.8]]).tolist()
    [True, False]
    >>> Ball([0.0, 0.0], 1.0, norm="max").contains([[0.8, 0.8]]).tolist()
    [True]
    """

    center: npt.NDArray[np.float64]
    radius: float
    norm: int | str = 2
    dim: int | None = None

    if TYPE_CHECKING:  # the constructor takes an array_like centre; `__post_init__` makes it a float64 array
        def __init__(self, center: npt.ArrayLike, radius: float, norm: float | str = 2, dim: int | None = None) -> None: ...

    def __post_init__(self) -> None:
        c = _vector(self.center, "ball centre")
        try:
            r = float(self.radius)
        except (TypeError, ValueError):
            raise DomainError(f"ball radius is not a number: {self.radius!r}") from None
        if not (np.isfinite(r) and r > 0):
            raise DomainError(f"ball radius must be a positive finite number, got {self.radius!r}")
        norm: int | str = str(self.norm).strip().lower()
        if norm in ("2", "2.0", "l2"):
            norm = 2
        elif norm in ("inf", "infinity", "linf", "max"):
            norm = "inf"
        else:
            raise DomainError(f"ball norm must be 2 or 'inf', got {self.norm!r}")
        if self.dim is not None and c.size != self.dim:
            raise DomainError(f"ball centre has dimension {c.size} but the network has {self.dim} inputs")
        object.__setattr__(self, "center", c)
        object.__setattr__(self, "radius", r)
        object.__setattr__(self, "norm", norm)

    def resolve(self, dim: int) -> Ball:
        """This ball with ``dim`` set (the centre must have ``dim`` entries).

        Examples
        --------
        >>> Ball([0.0, 0.0], 1.0).resolve(2).dim
        2
        """
        return Ball(self.center, self.radius, self.norm, dim)

    def halfspaces(self) -> tuple[np.ndarray, np.ndarray]:
        """The half-spaces of the bounding box ``center +- radius`` (exact for ``norm="inf"``).

        Examples
        --------
        >>> A, b = Ball([0.0, 0.0], 1.0).halfspaces()
        >>> A.shape, b.tolist()
        ((4, 2), [1.0, 1.0, 1.0, 1.0])
        """
        return Box(self.center - self.radius, self.center + self.radius).halfspaces()

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """The bounding box ``(center - radius, center + radius)``.

        Examples
        --------
        >>> [v.tolist() for v in Ball([1.0, 0.0], 0.5).bounds()]
        [[0.5, -0.5], [1.5, 0.5]]
        """
        return self.center - self.radius, self.center + self.radius

    @property
    def scale(self) -> float:
        """The diameter.

        Examples
        --------
        >>> Ball([0.0], 1.5).scale
        3.0
        """
        return 2.0 * self.radius

    def contains(self, X: npt.ArrayLike, tol: float = 0.0) -> np.ndarray:
        """Which points satisfy ``||x - center|| <= radius + tol`` in the ball's norm.

        Examples
        --------
        >>> Ball([0.0, 0.0], 1.0).contains([[1.0, 0.0], [1.05, 0.0]], tol=0.01).tolist()
        [True, False]
        """
        X = np.atleast_2d(np.asarray(X, dtype=np.float64)) - self.center
        dist = np.max(np.abs(X), axis=1) if self.norm == "inf" else np.linalg.norm(X, axis=1)
        inside: np.ndarray = dist <= self.radius + tol
        return inside

    def sample(self, n: int, rng: Seed = None) -> np.ndarray:
        """``n`` uniform points in the ball, shaped (n, dim).

        Examples
        --------
        >>> B = Ball([1.0, -1.0], 0.5)
        >>> X = B.sample(200, rng=0)
        >>> X.shape, bool(B.contains(X).all())
        ((200, 2), True)
        """
        rng = np.random.default_rng(rng)
        d = self.center.size
        if self.norm == "inf":
            return self.center + self.radius * (2.0 * rng.random((n, d)) - 1.0)
        g = rng.normal(size=(n, d))
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        return self.center + g * (self.radius * rng.random((n, 1)) ** (1.0 / d))

    def to_dict(self) -> dict[str, Any]:
        """``{"type": "ball", "center": [...], "radius": r, "norm": 2 or "inf"}``.

        Examples
        --------
        >>> Ball([0.0, 1.0], 2.0, norm="inf").to_dict()
        {'type': 'ball', 'center': [0.0, 1.0], 'radius': 2.0, 'norm': 'inf'}
        """
        return {"type": "ball", "center": self.center.tolist(), "radius": self.radius, "norm": self.norm}
