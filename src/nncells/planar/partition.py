"""Planar partitions of a 2-input network: `planar_partition` (the mesh of `nncells.planar.mesh`
split layer by layer), the `PlanarPartition` it returns, its decision boundary, and
`planar_batch` (the engine's 2-D backend).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from nncells import _config
from nncells.errors import NNCellsError
from nncells.geometry.contract import gamma
from nncells.network import Network
from nncells.planar.mesh import _candidates, _cut_layer, _Mesh, split_layers

if TYPE_CHECKING:
    import numpy.typing as npt

    from nncells.engine.cells import Batch


@dataclass
class PlanarPartition:
    """The activation regions of a 2-input network inside a convex polygon.

    Attributes
    ----------
    vertices : (n_vertices, 2) vertex coordinates (shared by neighbouring faces).
    face_start, face_vertices : CSR loops: face ``f`` is ``vertices[face_vertices[face_start[f]:
        face_start[f + 1]]]``, counter-clockwise.
    patterns : (n_faces, n_hidden) bool activation patterns.
    areas, centroids : (n_faces,), (n_faces, 2).
    ranks : (n_faces, n_layers) rank of the map from the plane to each hidden layer's output.
    A, c : (n_faces, out, 2), (n_faces, out): the network is ``A[f] @ xy + c[f]`` on face ``f``.
    per_layer : faces after each hidden layer.

    Examples
    --------
    >>> import numpy as np
    >>> import nncells
    >>> from nncells.planar.partition import planar_partition
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
    >>> part.n_faces, part.per_layer
    (18, [8, 18])
    >>> part.patterns.shape, part.ranks.shape, part.A.shape, part.c.shape
    ((18, 12), (18, 2), (18, 3, 2), (18, 3))
    >>> bool(np.isclose(part.areas.sum(), 4.0))  # the faces tile the square
    True
    >>> y = np.einsum("fok,fk->fo", part.A, part.centroids) + part.c  # the affine maps
    >>> bool(np.allclose(y, net.forward(part.centroids)))
    True
    """

    network: Network
    polygon: np.ndarray
    vertices: np.ndarray
    face_start: np.ndarray
    face_vertices: np.ndarray
    patterns: np.ndarray
    areas: np.ndarray
    centroids: np.ndarray
    ranks: np.ndarray
    A: np.ndarray
    c: np.ndarray
    per_layer: list[int]
    tol: float
    seconds: float = 0.0
    bound: float = 1.0  # bounds ||W_L| ... |W_1||_F: error bounds of the output maps' entries
    _edges: tuple[np.ndarray, np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    @property
    def n_faces(self) -> int:
        """Number of faces (activation regions) of the partition; also ``len(part)``.

        Examples
        --------
        >>> import nncells
        >>> from nncells.planar.partition import planar_partition
        >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
        >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
        >>> part.n_faces == len(part) == part.per_layer[-1] == 18
        True
        """
        return len(self.areas)

    def __len__(self) -> int:
        return self.n_faces

    def face(self, f: int | np.integer[Any]) -> np.ndarray:
        """The (k, 2) vertices of face ``f``, counter-clockwise.

        Examples
        --------
        >>> import numpy as np
        >>> import nncells
        >>> from nncells.planar.partition import planar_partition
        >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
        >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
        >>> P = part.face(0)
        >>> P.shape
        (3, 2)
        >>> x, y = P[:, 0], P[:, 1]  # shoelace formula: positive for counter-clockwise loops
        >>> area = 0.5 * np.sum(x * np.roll(y, -1) - y * np.roll(x, -1))
        >>> bool(np.isclose(area, part.areas[0]))
        True
        """
        return cast("np.ndarray", self.vertices[self.face_vertices[self.face_start[f]:self.face_start[f + 1]]])

    def polygons(self) -> list[np.ndarray]:
        """Every face's vertex array (for plotting).

        Returns
        -------
        list of ``n_faces`` arrays of shape (k_f, 2), ``polygons()[f]`` equal to ``face(f)``.

        Examples
        --------
        >>> import numpy as np
        >>> import nncells
        >>> from nncells.planar.partition import planar_partition
        >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
        >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
        >>> polys = part.polygons()
        >>> len(polys) == part.n_faces
        True
        >>> all(np.array_equal(p, part.face(f)) for f, p in enumerate(polys))
        True
        """
        return np.split(self.vertices[self.face_vertices], self.face_start[1:-1])

    def radii(self) -> np.ndarray:
        """Distance from each centroid to its face's boundary (radius of a ball inside the face).

        Returns (n_faces,) floats, positive for faces with an interior.

        Examples
        --------
        >>> import nncells
        >>> from nncells.planar.partition import planar_partition
        >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
        >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
        >>> r = part.radii()
        >>> r.shape, bool((r > 0).all()), bool((r <= 1).all())
        ((18,), True, True)
        """
        face, u, w = _loop_edges(self.face_start, self.face_vertices)
        p, q = self.vertices[u], self.vertices[w]
        d = q - p
        r = self.centroids[face] - p
        dist = (d[:, 0] * r[:, 1] - d[:, 1] * r[:, 0]) / np.hypot(d[:, 0], d[:, 1])
        return np.minimum.reduceat(dist, self.face_start[:-1])

    def interior_edges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Edges shared by two faces: ``(face_a, face_b, segments)``, segments (m, 2, 2).

        The result is computed once and cached on the partition.

        Examples
        --------
        >>> import nncells
        >>> from nncells.planar.partition import planar_partition
        >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
        >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
        >>> fa, fb, seg = part.interior_edges()
        >>> seg.shape
        (25, 2, 2)
        >>> bool((fa != fb).all())
        True
        """
        if self._edges is None:
            self._edges = _shared_edges(self.vertices, self.face_start, self.face_vertices)
        return self._edges

    def predicted(self) -> np.ndarray:
        """Per face, the network's class at the centroid (argmax, or output > 0 for one output).

        Returns
        -------
        (n_faces,) int64 array of classes.

        Examples
        --------
        >>> import numpy as np
        >>> import nncells
        >>> from nncells.planar.partition import planar_partition
        >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
        >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
        >>> cls = part.predicted()
        >>> bool((cls == net.forward(part.centroids).argmax(axis=1)).all())
        True
        >>> np.bincount(cls).tolist()
        [2, 16]
        """
        y = np.einsum("fok,fk->fo", self.A, self.centroids) + self.c
        return cast("np.ndarray", y.argmax(axis=1) if y.shape[1] > 1 else (y[:, 0] > 0).astype(np.int64))


def _loop_edges(face_start: np.ndarray, face_vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every directed loop edge: (face, from-vertex, to-vertex)."""
    v = face_vertices
    starts, lens = face_start[:-1], np.diff(face_start)
    nxt = np.arange(1, len(v) + 1)
    nxt[starts + lens - 1] = starts
    return np.repeat(np.arange(len(lens)), lens), v, v[nxt]


def _shared_edges(vertices: np.ndarray, face_start: np.ndarray,
                  face_vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Edges shared by two faces, matched exactly by their vertex-id pairs (the mesh gives both
    faces of an edge the same vertex ids): ``(face_a, face_b, segments (m, 2, 2))``."""
    face, u, w = _loop_edges(face_start, face_vertices)
    key = np.minimum(u, w) * np.int64(len(vertices)) + np.maximum(u, w)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    same = np.flatnonzero(ks[1:] == ks[:-1])
    i, j = order[same], order[same + 1]
    return face[i], face[j], np.stack([vertices[u[i]], vertices[w[i]]], axis=1)


def class_pieces(part: PlanarPartition) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The faces cut where the predicted class changes: every face is cut by the lines where two
    classes' affine maps tie (``k > 1`` outputs) or by the zero line of its output (one output),
    and each piece takes the class at its centroid (argmax, or ``y > 0``).

    Parameters
    ----------
    part : PlanarPartition

    Returns
    -------
    vertices : (n_vertices, 2) vertex coordinates.
    face_start, face_vertices : CSR loops of the pieces, as in `PlanarPartition`.
    parent_face : (n_pieces,) the face of ``part`` each piece lies in.
    classes : (n_pieces,) the predicted class of each piece.

    Examples
    --------
    >>> import numpy as np
    >>> import nncells
    >>> from nncells.planar.partition import class_pieces, planar_partition
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
    >>> verts, start, loops, parent, classes = class_pieces(part)
    >>> n_pieces = len(start) - 1
    >>> n_pieces >= part.n_faces, parent.shape == classes.shape == (n_pieces,)
    (True, True)
    >>> sorted(set(parent.tolist())) == list(range(part.n_faces))  # every face has a piece
    True
    """
    A, c = part.A, part.c
    k = A.shape[1]
    j, i = np.triu_indices(k, 1) if k > 1 else (np.zeros(1, int), None)
    Lx = A[:, j, 0] - (A[:, i, 0] if k > 1 else 0)
    Ly = A[:, j, 1] - (A[:, i, 1] if k > 1 else 0)
    Lc = c[:, j] - (c[:, i] if k > 1 else 0)
    mesh = _Mesh.from_loops(part.vertices, part.face_start, part.face_vertices)
    _, cx, cy, rad = mesh.geometry()
    err = 2 * gamma(sum(part.network.widths) + 4) * part.bound
    _cut_layer(mesh, [_candidates(Lx, Ly, Lc, err, cx, cy, rad, 0)], Lx.shape[1])
    _, cx, cy, _ = mesh.geometry()
    par = mesh.parent[:mesh.nf].copy()
    y = A[par, :, 0] * cx[:, None] + A[par, :, 1] * cy[:, None] + c[par]
    cls = y.argmax(axis=1) if k > 1 else (y[:, 0] > 0).astype(np.int64)
    verts = np.stack([mesh.X[:mesh.nv], mesh.Y[:mesh.nv]], axis=1)
    return verts, np.append(mesh.start[:mesh.nf], mesh.nl), mesh.loops[:mesh.nl].copy(), par, cls


def decision_boundary(part: PlanarPartition) -> tuple[np.ndarray, np.ndarray]:
    """The exact decision boundary: for ``k > 1`` outputs where the predicted class (argmax)
    changes, for one output the zero level set; the edges between `class_pieces` of different
    classes, inside faces and across them.

    Returns
    -------
    segments : (m, 2, 2) segment end points.
    classes : (m, 2) the classes on the two sides.

    Examples
    --------
    >>> import nncells
    >>> from nncells.planar.partition import decision_boundary, planar_partition
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
    >>> segments, classes = decision_boundary(part)
    >>> segments.shape, classes.tolist()
    ((1, 2, 2), [[0, 1]])

    With one output the boundary is the zero level set:

    >>> net1 = nncells.random_network([2, 5, 1], seed=0)
    >>> segments, classes = decision_boundary(planar_partition(net1, [[0, 0], [1, 0], [0, 1]]))
    >>> segments.shape, bool((classes[:, 0] != classes[:, 1]).all())
    ((1, 2, 2), True)
    """
    verts, start, loops, _, cls = class_pieces(part)
    fa, fb, seg = _shared_edges(verts, start, loops)
    diff = cls[fa] != cls[fb]
    return seg[diff], np.stack([cls[fa], cls[fb]], axis=1)[diff]


def _polygon(vertices: npt.ArrayLike) -> np.ndarray:
    P = np.asarray(vertices, dtype=np.float64)
    if P.ndim != 2 or P.shape[1] != 2 or len(P) < 3:
        raise NNCellsError(f"the domain polygon must be a (k >= 3, 2) array of vertices, got shape {P.shape}")
    if not np.all(np.isfinite(P)):
        raise NNCellsError("the domain polygon contains NaN or inf")
    P = P[np.any(P != np.roll(P, 1, axis=0), axis=1)]
    d = np.roll(P, -1, axis=0) - P
    cr = d[:, 0] * np.roll(d, -1, axis=0)[:, 1] - d[:, 1] * np.roll(d, -1, axis=0)[:, 0]
    scale = float(np.max(np.ptp(P, axis=0))) if len(P) else 0.0
    if len(P) < 3 or abs(cr.sum()) <= 1e-12 * scale ** 2:
        raise NNCellsError("the domain polygon has no interior (collinear or repeated vertices)")
    if cr.sum() < 0:
        P, cr = P[::-1], -cr
    if np.any(cr < -1e-12 * scale ** 2):
        raise NNCellsError("the domain polygon is not convex (or its vertices are not in order)")
    return P


def planar_partition(network: Network, polygon_vertices: npt.ArrayLike, tol: float | None = None,
                     backend: str | None = None) -> PlanarPartition:
    """Exact activation regions of a 2-input ``network`` inside a convex polygon.

    Parameters
    ----------
    network : `Network` with ``input_dim == 2`` (slice bigger ones with `nncells.planar.slices`).
    polygon_vertices : (k, 2) vertices of a convex polygon, in order (either orientation).
    tol : the contract's threshold (`nncells.geometry.contract`), kept with the partition; cuts are
        decided by error bounds, and `planar_batch` drops the faces the contract drops.
    backend : ``"native"`` (the compiled core), ``"numpy"`` or ``"auto"`` (default; see
        `nncells.kernels.backend`): the same faces either way.

    Returns
    -------
    PlanarPartition

    Examples
    --------
    >>> import nncells
    >>> from nncells.planar.partition import planar_partition
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
    >>> part.n_faces, nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1).count
    (18, 18)
    >>> bool((net.pattern(part.centroids) == part.patterns).all())
    True
    """
    if not isinstance(network, Network):
        raise NNCellsError(f"expected a Network, got {type(network).__name__}")
    if network.input_dim != 2:
        raise NNCellsError(f"planar partitions need a 2-input network, got {network.input_dim} inputs")
    tol = _config.DEFAULT_TOL if tol is None else tol
    if not (tol > 0 and np.isfinite(tol)):
        raise NNCellsError(f"tolerance must be a positive number, got {tol}")
    t0 = time.perf_counter()
    P = _polygon(polygon_vertices)
    verts, start, loops, patterns, rk, A, c, area, cent, per_layer, bound = split_layers(
        P, network.weights, network.biases, backend, network.linear)
    return PlanarPartition(network, P, verts, start, loops, patterns, area, cent, rk, A, c, per_layer, float(tol),
                           time.perf_counter() - t0, bound)


def planar_batch(network: Network, box_lo: npt.ArrayLike, box_hi: npt.ArrayLike, tol: float | None = None,
                 backend: str | None = None) -> Batch:
    """The regions of a 2-input ``network`` in the box ``[box_lo, box_hi]`` as an engine `Batch`
    (``backend``: as in `planar_partition`).

    Points are the face centroids and radii the distance from the centroid to the face's
    boundary. Faces are kept by the contract of `nncells.geometry.contract` (as the engine keeps them):
    the centroid's ball proves most; the doubtful ones are settled by the contract's LP.

    Returns
    -------
    Batch with ``patterns``, ``points``, ``radii`` and ``ranks``, one row per kept face.

    Examples
    --------
    >>> import nncells
    >>> from nncells.planar.partition import planar_batch
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> batch = planar_batch(net, -1, 1)
    >>> batch.patterns.shape, batch.points.shape, batch.radii.shape, batch.ranks.shape
    ((18, 12), (18, 2), (18,), (18, 2))
    >>> bool((net.pattern(batch.points) == batch.patterns).all())
    True
    """
    from nncells.geometry.contract import Rule
    from nncells.domains import Box
    from nncells.engine.tasks import Batch
    box = Box(box_lo, box_hi).resolve(2)
    (x0, y0), (x1, y1) = box.lo, box.hi
    part = planar_partition(network, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], tol, backend)
    rule = Rule(part.tol)
    points, r = part.centroids.copy(), part.radii()
    keep = rule.witnesses(points, r)
    for f in np.flatnonzero(~keep):
        x, depth = rule.deepest(*_face_rows(part.face(f)))
        if x is not None:
            keep[f] = True
            points[f], r[f] = x, depth
    return Batch(part.patterns[keep], points[keep], r[keep], part.ranks[keep])


def _face_rows(poly: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit-normal half-spaces ``A x <= c`` of a CCW convex polygon."""
    d = np.roll(poly, -1, axis=0) - poly
    A = np.stack([d[:, 1], -d[:, 0]], axis=1)
    n = np.hypot(A[:, 0], A[:, 1])
    ok = n > 0
    A = A[ok] / n[ok, None]
    return A, np.einsum("ij,ij->i", A, poly[ok])
