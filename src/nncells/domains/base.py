"""The `Domain` interface and the argument checks shared by every domain."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from nncells.errors import DomainError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy.typing as npt

# a seed or generator, as `numpy.random.default_rng` takes it
Seed: TypeAlias = "int | Sequence[int] | np.random.SeedSequence | np.random.Generator | None"


def _vector(v: npt.ArrayLike, name: str) -> npt.NDArray[np.float64]:
    try:
        a = np.atleast_1d(np.asarray(v, dtype=np.float64)).reshape(-1)
    except (TypeError, ValueError):
        raise DomainError(f"{name} is not a number or a list of numbers: {v!r}") from None
    if not np.all(np.isfinite(a)):
        raise DomainError(f"{name} contains NaN or inf")
    return a


class Domain:
    """Base class. A domain is a closed convex set in R^dim with a half-space form ``A x <= b``.

    Subclasses: `Box`, `Polytope`, `Ball` and `Space`. A domain built without a dimension is
    given one by `resolve` when it meets a network. `domain_from_dict` reads `to_dict` back.

    Examples
    --------
    >>> from nncells.domains import Ball, Box, Space, domain_from_dict
    >>> D = Box(-1.0, 1.0).resolve(2)
    >>> isinstance(D, Domain), D.dim
    (True, 2)
    """

    if TYPE_CHECKING:  # a field of each subclass (a property of `Polytope`), read-only as the domains are frozen
        @property
        def dim(self) -> int | None: ...

    def resolve(self, dim: int) -> "Domain":
        """This domain checked against (and broadcast to) input dimension ``dim``.

        Raises
        ------
        DomainError
            If the domain has another dimension than ``dim``.

        Examples
        --------
        >>> from nncells.domains import Ball, Box, Space, domain_from_dict
        >>> Box(0.0, 1.0).resolve(3).lo.tolist()
        [0.0, 0.0, 0.0]
        """
        raise NotImplementedError

    def halfspaces(self) -> tuple[np.ndarray, np.ndarray]:
        """The half-space form ``(A, b)`` of the domain: ``A x <= b``, ``A`` shaped (m, dim).

        For a `Ball` this is its bounding box; `Space` has no rows (``m = 0``).

        Examples
        --------
        >>> from nncells.domains import Ball, Box, Space, domain_from_dict
        >>> A, b = Box(-1.0, 2.0, dim=2).halfspaces()   # x <= 2 and -x <= 1
        >>> A.shape, b.tolist()
        ((4, 2), [2.0, 2.0, 1.0, 1.0])
        """
        raise NotImplementedError

    def bounds(self) -> tuple[np.ndarray, np.ndarray] | None:
        """An axis-aligned box ``(lo, hi)`` containing the domain, or None when unbounded.

        `Polytope` returns None here even when bounded (its box needs LPs).

        Examples
        --------
        >>> from nncells.domains import Ball, Box, Space, domain_from_dict
        >>> lo, hi = Ball([0.0, 1.0], 0.5).bounds()
        >>> lo.tolist(), hi.tolist()
        ([-0.5, 0.5], [0.5, 1.5])
        >>> Space(2).bounds() is None
        True
        """
        return None

    @property
    def scale(self) -> float:
        """A length typical of the domain (for pictures and LP caps; never for tolerances).

        Examples
        --------
        >>> from nncells.domains import Ball, Box, Space, domain_from_dict
        >>> Space(2).scale, Box(0.0, [1.0, 3.0]).scale
        (1.0, 3.0)
        """
        return 1.0

    def contains(self, X: npt.ArrayLike, tol: float = 0.0) -> np.ndarray:
        """Which of the points ``X`` lie in the domain (up to ``tol``).

        Parameters
        ----------
        X : array_like, shape (n, dim) or (dim,)
        tol : float
            Slack added to every inequality (``A x <= b + tol``).

        Returns
        -------
        ndarray of bool, shape (n,)

        Examples
        --------
        >>> from nncells.domains import Ball, Box, Space, domain_from_dict
        >>> Box(0.0, 1.0, dim=2).contains([[0.5, 0.5], [1.5, 0.5]]).tolist()
        [True, False]
        >>> Box(0.0, 1.0, dim=2).contains([1.05, 0.5], tol=0.1).tolist()
        [True]
        """
        A, b = self.halfspaces()
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        inside: np.ndarray = np.all(X @ A.T <= b + tol, axis=1)
        return inside

    def sample(self, n: int, rng: Seed = None) -> np.ndarray:
        """``n`` points drawn uniformly from the domain, shaped (n, dim).

        ``rng`` is anything `numpy.random.default_rng` accepts. Only `Box` and `Ball` can be
        sampled; the others raise `DomainError`.

        Examples
        --------
        >>> from nncells.domains import Ball, Box, Space, domain_from_dict
        >>> Space(2).sample(3)
        Traceback (most recent call last):
        ...
        nncells.errors.DomainError: Space cannot be sampled uniformly
        """
        raise DomainError(f"{type(self).__name__} cannot be sampled uniformly")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the domain; `domain_from_dict` reads it back.

        Examples
        --------
        >>> from nncells.domains import Ball, Box, Space, domain_from_dict
        >>> import json
        >>> d = Box(0.0, [1.0, 2.0]).to_dict()
        >>> d
        {'type': 'box', 'lo': [0.0, 0.0], 'hi': [1.0, 2.0]}
        >>> domain_from_dict(json.loads(json.dumps(d))).hi.tolist()
        [1.0, 2.0]
        """
        raise NotImplementedError
