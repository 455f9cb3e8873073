"""Exact 2-D slices of networks of any input dimension.

A plane ``x = origin + s * u + t * v`` composed with the first layer gives a 2-input `Network`
whose regions, in the ``(s, t)`` coordinates, are the regions of the original network on the
plane; `nncells.planar` does the rest. Also here: the adjacency graph of a planar partition.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

from nncells.errors import NNCellsError
from nncells.network import Network
from nncells.planar.partition import PlanarPartition, planar_partition

if TYPE_CHECKING:
    import networkx as nx
    import numpy.typing as npt


def _vec(v: npt.ArrayLike, name: str, dim: int | None = None) -> np.ndarray:
    try:
        a = np.asarray(v, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise NNCellsError(f"{name} is not a list of numbers: {v!r}") from None
    if not np.all(np.isfinite(a)):
        raise NNCellsError(f"{name} contains NaN or inf")
    if dim is not None and a.size != dim:
        raise NNCellsError(f"{name} has {a.size} values but the network has {dim} inputs")
    return a


@dataclass(frozen=True)
class Plane:
    """The plane ``x = origin + basis @ (s, t)`` in R^d (``basis`` is (d, 2), full rank).

    Parameters
    ----------
    origin : (d,) the point with plane coordinates ``(0, 0)``.
    basis : (d, 2) the two directions as columns; parallel directions raise `NNCellsError`.

    Examples
    --------
    >>> import numpy as np
    >>> from nncells.planar.slices import Plane
    >>> plane = Plane(np.zeros(3), [[1, 0], [0, 1], [0, 0]])
    >>> plane.dim, plane.basis.shape
    (3, (3, 2))
    >>> plane.to_input([2, 3]).tolist()
    [[2.0, 3.0, 0.0]]
    """

    origin: np.ndarray
    basis: np.ndarray

    def __post_init__(self) -> None:
        o = _vec(self.origin, "plane origin")
        B = np.asarray(self.basis, dtype=np.float64)
        if B.ndim != 2 or B.shape != (o.size, 2):
            raise NNCellsError(f"plane directions must be two vectors of dimension {o.size}")
        if not np.all(np.isfinite(B)):
            raise NNCellsError("plane directions contain NaN or inf")
        s = np.linalg.svd(B, compute_uv=False)
        if s[0] == 0 or s[1] <= 1e-12 * s[0]:
            raise NNCellsError("the plane's directions are parallel (or the points are collinear)")
        object.__setattr__(self, "origin", o)
        object.__setattr__(self, "basis", B)

    @property
    def dim(self) -> int:
        """Dimension ``d`` of the input space the plane lives in.

        Examples
        --------
        >>> from nncells.planar.slices import Plane
        >>> Plane.from_directions([0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0]).dim
        4
        """
        return self.origin.size

    @classmethod
    def from_directions(cls, origin: npt.ArrayLike, u: npt.ArrayLike, v: npt.ArrayLike) -> Plane:
        """The plane through ``origin`` spanned by ``u`` and ``v`` (used as given, not normalised).

        Examples
        --------
        >>> from nncells.planar.slices import Plane
        >>> plane = Plane.from_directions([1, 1, 1], [2, 0, 0], [0, 0, 1])
        >>> plane.basis.tolist()
        [[2.0, 0.0], [0.0, 0.0], [0.0, 1.0]]
        >>> plane.to_input([0.5, 1]).tolist()
        [[2.0, 1.0, 2.0]]
        """
        o = _vec(origin, "plane origin")
        return cls(o, np.stack([_vec(u, "first direction", o.size), _vec(v, "second direction", o.size)],
                               axis=1))

    @classmethod
    def through_points(cls, p0: npt.ArrayLike, p1: npt.ArrayLike, p2: npt.ArrayLike) -> Plane:
        """The plane through three points, with origin ``p0`` and an orthonormal basis (so
        distances and angles in the slice are those of the input space).

        Examples
        --------
        >>> import numpy as np
        >>> from nncells.planar.slices import Plane
        >>> plane = Plane.through_points([0, 0, 0], [2, 0, 0], [1, 1, 0])
        >>> plane.basis.tolist()
        [[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
        >>> bool(np.allclose(plane.basis.T @ plane.basis, np.eye(2)))  # orthonormal
        True
        """
        p0 = _vec(p0, "first point")
        p1, p2 = _vec(p1, "second point", p0.size), _vec(p2, "third point", p0.size)
        u, v = p1 - p0, p2 - p0
        nu = np.linalg.norm(u)
        w = v - (v @ u) / nu ** 2 * u if nu > 0 else v
        nw = np.linalg.norm(w)
        scale = cast("float", max(nu, np.linalg.norm(v), 1e-300))   # norms of float64 arrays: np.float64
        if nu <= 1e-12 * scale or nw <= 1e-9 * scale:
            raise NNCellsError("the three points are collinear (or repeated): they span no plane")
        return cls(p0, np.stack([u / nu, w / nw], axis=1))

    def to_input(self, st: npt.ArrayLike) -> np.ndarray:
        """Input-space points of plane coordinates ``st`` (n, 2) (or one pair): (n, d).

        Examples
        --------
        >>> from nncells.planar.slices import Plane
        >>> plane = Plane.from_directions([0, 0, 5], [1, 0, 0], [0, 1, 0])
        >>> plane.to_input([[1, 2], [3, 4]]).tolist()
        [[1.0, 2.0, 5.0], [3.0, 4.0, 5.0]]
        """
        return cast("np.ndarray", self.origin + np.atleast_2d(st) @ self.basis.T)

    def coordinates(self, X: npt.ArrayLike) -> np.ndarray:
        """Plane coordinates of input points ``X`` (n, d): exact on the plane, else the
        least-squares projection.

        Examples
        --------
        >>> import numpy as np
        >>> from nncells.planar.slices import Plane
        >>> plane = Plane.through_points([0, 0, 0], [2, 0, 0], [1, 1, 0])
        >>> st = np.array([[0.5, -0.25], [1.0, 2.0]])
        >>> bool(np.allclose(plane.coordinates(plane.to_input(st)), st))
        True
        >>> plane.coordinates([1, 2, 7]).round(6).tolist()  # off the plane: projected
        [[1.0, 2.0]]
        """
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        if X.shape[1] != self.dim:
            raise NNCellsError(f"points have dimension {X.shape[1]}, the plane lives in {self.dim}")
        return cast("np.ndarray", np.linalg.lstsq(self.basis, (X - self.origin).T, rcond=None)[0].T)

    def distance(self, X: npt.ArrayLike) -> np.ndarray:
        """Euclidean distances (n,) of input points ``X`` (n, d) to the plane: the length of
        ``X`` minus its projection `to_input(coordinates(X))`.

        Examples
        --------
        >>> from nncells.planar.slices import Plane
        >>> plane = Plane.through_points([0, 0, 0], [2, 0, 0], [1, 1, 0])
        >>> plane.distance([[1, 2, 0], [1, 2, -3]]).tolist()
        [0.0, 3.0]
        """
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        return cast("np.ndarray", np.linalg.norm(X - self.to_input(self.coordinates(X)), axis=1))


def slice_network(network: Network, plane: Plane) -> Network:
    """The 2-input network ``(s, t) -> network(plane.to_input((s, t)))``.

    Only the first layer changes: its weights become ``W0 @ basis`` and its biases
    ``W0 @ origin + b0``.

    Examples
    --------
    >>> import numpy as np
    >>> import nncells
    >>> from nncells.planar.slices import Plane, slice_network
    >>> net = nncells.random_network([4, 8, 8, 2], seed=0)
    >>> plane = Plane.through_points([0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0])
    >>> net2 = slice_network(net, plane)
    >>> net2.input_dim, net2.widths
    (2, [8, 8])
    >>> st = np.array([[0.3, -0.2], [0.1, 0.5]])
    >>> bool(np.allclose(net2.forward(st), net.forward(plane.to_input(st))))
    True
    """
    if plane.dim != network.input_dim:
        raise NNCellsError(f"the plane lives in R^{plane.dim} but the network has {network.input_dim} inputs")
    return network.compose_input(plane.basis, plane.origin)


def rectangle(lo: npt.ArrayLike, hi: npt.ArrayLike) -> np.ndarray:
    """The 4 vertices (counter-clockwise) of ``[lo0, hi0] x [lo1, hi1]``; scalars broadcast.

    Examples
    --------
    >>> from nncells.planar.slices import rectangle
    >>> rectangle(-1, 1).tolist()
    [[-1.0, -1.0], [1.0, -1.0], [1.0, 1.0], [-1.0, 1.0]]
    >>> rectangle([0, 0], [2, 1]).tolist()
    [[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]]
    """
    if np.size(lo) not in (1, 2) or np.size(hi) not in (1, 2):
        raise NNCellsError("a rectangle in the plane needs 1 or 2 values for each corner")
    a, b = np.broadcast_to(_vec(lo, "lower corner"), 2), np.broadcast_to(_vec(hi, "upper corner"), 2)
    if np.any(a >= b):
        raise NNCellsError(f"empty rectangle: lo >= hi ({a.tolist()} >= {b.tolist()})")
    return np.array([[a[0], a[1]], [b[0], a[1]], [b[0], b[1]], [a[0], b[1]]])


@dataclass
class Slice:
    """A planar partition of ``network`` on ``plane`` (coordinates ``(s, t)``), as returned by
    `slice_partition`.

    Attributes
    ----------
    network : the original `Network` (any input dimension).
    plane : the `Plane` in its input space.
    partition : the `PlanarPartition` of the sliced 2-input network, in plane coordinates.

    Examples
    --------
    >>> import nncells
    >>> from nncells.planar.slices import Plane, Slice, slice_partition
    >>> net = nncells.random_network([4, 8, 8, 2], seed=0)
    >>> plane = Plane.through_points([0, 0, 0, 0], [2, 0, 0, 0], [1, 1, 0, 0])
    >>> sl = slice_partition(net, plane)
    >>> isinstance(sl, Slice), sl.network is net, sl.plane.dim
    (True, True, 4)
    >>> sl.partition.n_faces
    43
    """

    network: Network
    plane: Plane
    partition: PlanarPartition

    def place(self, X: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Where input points ``X`` (n, d) go in a picture of the slice.

        Returns
        -------
        coordinates : (n, 2) plane coordinates of the points' projections.
        distance : (n,) their distances to the plane (`Plane.distance`).
        predicted : (n,) the network's class at each point itself (`output_classes` of
            ``network.forward(X)``), not at its projection: the class a picture should judge
            a labelled point by (see docs/planar.md).

        Examples
        --------
        >>> import numpy as np
        >>> from nncells.network import Network
        >>> from nncells.planar.slices import Plane, slice_partition
        >>> net = Network([np.array([[0.0, 0.0, 1.0]])], [np.zeros(1)])  # f(x) = x3: class x3 > 0
        >>> sl = slice_partition(net, Plane.through_points([0, 0, 0], [1, 0, 0], [0, 1, 0]))
        >>> st, dist, cls = sl.place([[0.5, 0.25, 2.0], [0.0, 0.0, -1.0]])
        >>> st.tolist(), dist.tolist(), cls.tolist()  # on the plane f = 0 (class 0); above it 1
        ([[0.5, 0.25], [0.0, 0.0]], [2.0, 1.0], [1, 0])
        """
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        return (self.plane.coordinates(X), self.plane.distance(X),
                output_classes(self.network.forward(X)))


def output_classes(y: npt.ArrayLike) -> np.ndarray:
    """The class of each output row: argmax, or ``output > 0`` for one output (the rule of
    `PlanarPartition.predicted`).

    Examples
    --------
    >>> from nncells.planar.slices import output_classes
    >>> output_classes([[0.1, 0.7, 0.2], [3.0, 1.0, 2.0]]).tolist()
    [1, 0]
    >>> output_classes([[-0.5], [0.5]]).tolist()
    [0, 1]
    """
    y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    return cast("np.ndarray", y.argmax(axis=1) if y.shape[1] > 1 else (y[:, 0] > 0).astype(np.int64))


def slice_partition(network: Network, plane: Plane | None = None, polygon: npt.ArrayLike | None = None, *,
                    tol: float | None = None) -> Slice:
    """Exact regions of ``network`` on ``plane`` inside ``polygon`` (plane coordinates).

    Parameters
    ----------
    network : any `Network`; with ``plane=None`` it must have 2 inputs (its own input plane).
    plane : a `Plane` in the network's input space.
    polygon : (k, 2) convex polygon in plane coordinates (e.g. `rectangle(lo, hi)`); default
        the square ``[-1, 1]^2``.
    tol : see `nncells.planar.planar_partition`.

    Returns
    -------
    Slice

    Examples
    --------
    >>> import numpy as np
    >>> import nncells
    >>> from nncells.planar.slices import Plane, rectangle, slice_partition
    >>> net = nncells.random_network([4, 8, 8, 2], seed=0)
    >>> plane = Plane.through_points([0, 0, 0, 0], [2, 0, 0, 0], [1, 1, 0, 0])
    >>> sl = slice_partition(net, plane, rectangle(-1, 1))
    >>> part = sl.partition
    >>> part.n_faces, bool(np.isclose(part.areas.sum(), 4.0))
    (43, True)

    The patterns are those of the original network at the faces' input-space points:

    >>> X = plane.to_input(part.centroids)
    >>> bool((net.pattern(X) == part.patterns).all())
    True

    A 2-input network needs no plane:

    >>> slice_partition(nncells.random_network([2, 6, 6, 3], seed=0)).partition.n_faces
    18
    """
    if plane is None:
        if network.input_dim != 2:
            raise NNCellsError(f"the network has {network.input_dim} inputs: give a plane to slice it")
        plane = Plane(np.zeros(2), np.eye(2))
    net2 = slice_network(network, plane)
    polygon = rectangle(-1.0, 1.0) if polygon is None else polygon
    return Slice(network, plane, planar_partition(net2, polygon, tol))


def adjacency_graph(part: PlanarPartition) -> nx.Graph:
    """The regions' adjacency graph (networkx): a node per face (attributes ``area``,
    ``centroid``), an edge per pair of faces sharing an edge of positive length. Edge attributes:
    ``neuron`` (the first neuron whose sign differs, -1 if none), ``neurons`` (all of them) and
    ``length`` (total shared length).

    Examples
    --------
    >>> import networkx as nx
    >>> import nncells
    >>> from nncells.planar.partition import planar_partition
    >>> from nncells.planar.slices import adjacency_graph, rectangle
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> part = planar_partition(net, rectangle(-1, 1))
    >>> g = adjacency_graph(part)
    >>> g.number_of_nodes(), g.number_of_edges(), nx.is_connected(g)
    (18, 25, True)
    >>> all(d["neuron"] >= 0 and d["length"] > 0 for _, _, d in g.edges(data=True))
    True
    """
    import networkx as nx
    fa, fb, seg = part.interior_edges()
    g = nx.Graph()
    for f in range(part.n_faces):
        g.add_node(f, area=float(part.areas[f]), centroid=tuple(part.centroids[f]))
    lengths = np.linalg.norm(seg[:, 1] - seg[:, 0], axis=1)
    flips = part.patterns[fa] != part.patterns[fb]
    for a, b, ln, fl in zip(fa.tolist(), fb.tolist(), lengths, flips):
        if g.has_edge(a, b):
            g[a][b]["length"] += float(ln)
            continue
        idx = np.flatnonzero(fl)
        g.add_edge(a, b, neuron=int(idx[0]) if len(idx) else -1, neurons=idx.tolist(), length=float(ln))
    return g
