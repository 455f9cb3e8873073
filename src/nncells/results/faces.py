"""The face poset of a network's polyhedral complex inside a bounded polyhedral domain: every
face of every dimension, exactly.

A face is identified by its *sign vector*: the sign (+1, -1 or 0) of every hidden unit's
pre-activation on the face's relative interior, and the domain's rows it lies on. On the closure
of a region every pre-activation equals the region's own affine map (the network is continuous),
so the set of points with one sign vector is a relatively open convex polyhedron, its closure is
the set of points whose signs *conform* to it (each entry the same or 0), and the faces of a
region's closed polytope are faces of the complex. The poset is built from the regions' vertices:

1. each region's vertices come from qhull (`nncells.results.adjacency.region_vertices`, float64);
2. each is made exact: ``d`` independent rows among those nearly tight there (the region's
   pulled-back rows and the domain's, as integers: `nncells.results._exact`) are solved in
   integers, and every unit's pre-activation and every domain row is evaluated there exactly.
   The point must lie in the region's closure (checked exactly); its sign vector is then exact;
3. a face of a region is the set of its vertices on which a set of its rows vanish: the
   region's facets are the maximal such vertex sets, and the facets of a face are the maximal
   proper intersections of it with the region's facets (the lattice, level by level, so a face's
   dimension is ``d`` minus its level); a face's sign vector is the join of its vertices'.

Checks (each failure raises `NNCellsError`, nothing is dropped): every region's faces have Euler
characteristic 1 (a closed polytope), a face has one dimension whichever region reaches it, a
face's vertices agree on every sign, and a (d-1)-face has two regions on its sides, or one and
the domain's boundary, and every edge has two endpoints. `FacePoset.euler_characteristic` of the
whole complex is 1 (a box or a bounded polytope); tests check it.

Linear (pass-through) units bound nothing: their entries are 0.

Examples
--------
Two lines through the origin cut the square [-1, 1]^2 into 4 regions: 9 vertices (4 corners, 4
midpoints of the sides, the origin), 12 edges, 4 squares.

>>> from nncells import Box, Network, enumerate_regions
>>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
>>> poset = face_poset(enumerate_regions(net, Box(-1.0, 1.0, dim=2)))
>>> poset.f_vector().tolist(), poset.euler_characteristic()
([9, 12, 4], 1)
>>> poset.points[(poset.signs == 0).all(axis=1)].tolist()      # both units 0: the origin
[[0.0, 0.0]]
>>> int(poset.on_domain[poset.dim == 0].sum(axis=1).max())    # a corner lies on 2 of its rows
2
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nncells import _config
from nncells.domains import Ball, Space
from nncells.errors import NNCellsError
from nncells.results._face_builder import Builder, key_arrays
from nncells.results.adjacency import region_vertices


@dataclass(frozen=True)
class FacePoset:
    """The faces of a polyhedral complex and their codimension-1 incidences (`face_poset`).

    Attributes
    ----------
    dim : ndarray of int64, shape (n,)
        Each face's dimension, 0 to d.
    signs : ndarray of int8, shape (n, n_hidden)
        Each hidden unit's sign on the face's relative interior (0 for linear units).
    on_domain : ndarray of bool, shape (n, m)
        Whether the face lies on each of the domain's rows (``Domain.halfspaces``).
    points : ndarray of float64, shape (n, d)
        A point in each face's relative interior (the mean of its vertices).
    incidence : ndarray of int64, shape (k, 2)
        Pairs ``(face, coface)`` with ``dim[coface] == dim[face] + 1`` and the face in the
        coface's boundary.
    region : ndarray of int64, shape (n,)
        For a d-dimensional face, the index of its region in the result; -1 otherwise.
    vertices : list of ndarray
        For each face, the indices (into the poset) of its vertices.
    """

    dim: np.ndarray
    signs: np.ndarray
    on_domain: np.ndarray
    points: np.ndarray
    incidence: np.ndarray
    region: np.ndarray
    vertices: list

    def __len__(self) -> int:
        return len(self.dim)

    def __repr__(self) -> str:
        return f"FacePoset(f_vector={self.f_vector().tolist()})"

    def f_vector(self) -> np.ndarray:
        """The number of faces of each dimension 0..d (the f-vector).

        Examples
        --------
        >>> from nncells import Box, Network, enumerate_regions
        >>> net = Network([[[1.0, 0.0]], [[1.0]]], [[0.0], [0.0]])     # the line x1 = 0
        >>> face_poset(enumerate_regions(net, Box(-1.0, 1.0, dim=2))).f_vector().tolist()
        [6, 7, 2]
        """
        top = int(self.dim.max()) if len(self.dim) else -1
        return np.bincount(self.dim, minlength=top + 1).astype(np.int64)

    def to_parquet(self, path) -> None:
        """Write the faces to the Parquet file ``path`` (atomically), one row per face: ``face``
        (its index), ``dim``, ``signs`` (list of int8), ``on_domain`` (list of bool), ``point``
        (list of float64), ``region`` (-1 below dimension d), ``faces`` (the indices of its
        codimension-1 faces) and ``vertices`` (the indices of its vertices). pandas, polars and
        duckdb read it as it is.

        Examples
        --------
        >>> import os, tempfile, pandas as pd
        >>> from nncells import Box, Network, enumerate_regions
        >>> net = Network([[[1.0, 0.0]], [[1.0]]], [[0.0], [0.0]])
        >>> poset = face_poset(enumerate_regions(net, Box(-1.0, 1.0, dim=2)))
        >>> path = os.path.join(tempfile.mkdtemp(), "faces.parquet")
        >>> poset.to_parquet(path)
        >>> t = pd.read_parquet(path)
        >>> t["dim"].value_counts().sort_index().tolist(), [len(f) for f in t["faces"][t["dim"] == 2]]
        ([6, 7, 2], [4, 4])
        """
        import pyarrow as pa
        from nncells.results.store import atomic_write_table
        n = len(self.dim)
        order = np.argsort(self.incidence[:, 1], kind="stable") if len(self.incidence) else np.zeros(0, np.int64)
        lows = self.incidence[order, 0] if len(order) else np.zeros(0, np.int64)
        counts = np.bincount(self.incidence[:, 1], minlength=n) if len(self.incidence) else np.zeros(n, np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)])
        vcounts = np.array([len(v) for v in self.vertices], dtype=np.int64)
        vflat = np.concatenate(self.vertices) if n else np.zeros(0, np.int64)

        def lists(flat, widths, typ):
            offsets = pa.array(np.concatenate([[0], np.cumsum(widths)]).astype(np.int32))
            return pa.ListArray.from_arrays(offsets, pa.array(flat, type=typ))
        table = pa.table({
            "face": pa.array(np.arange(n, dtype=np.int64)),
            "dim": pa.array(self.dim.astype(np.int64)),
            "signs": lists(self.signs.reshape(-1), np.full(n, self.signs.shape[1]), pa.int8()),
            "on_domain": lists(self.on_domain.reshape(-1), np.full(n, self.on_domain.shape[1]), pa.bool_()),
            "point": lists(self.points.reshape(-1), np.full(n, self.points.shape[1]), pa.float64()),
            "region": pa.array(self.region.astype(np.int64)),
            "faces": lists(lows.astype(np.int64), np.diff(starts), pa.int64()),
            "vertices": lists(vflat.astype(np.int64), vcounts, pa.int64()),
        })
        atomic_write_table(table, path)

    def euler_characteristic(self, mask=None) -> int:
        """``sum_k (-1)^k f_k`` over the faces (those of ``mask`` only, if given).

        Examples
        --------
        >>> from nncells import Box, Network, enumerate_regions
        >>> net = Network([[[1.0, 0.0]], [[1.0]]], [[0.0], [0.0]])
        >>> poset = face_poset(enumerate_regions(net, Box(-1.0, 1.0, dim=2)))
        >>> on_boundary = poset.on_domain.any(axis=1)        # the square's boundary: a circle
        >>> poset.euler_characteristic(), poset.euler_characteristic(on_boundary)
        (1, 0)
        """
        dims = self.dim if mask is None else self.dim[np.asarray(mask, dtype=bool)]
        return int(np.sum(np.where(dims % 2 == 0, 1, -1)))


def face_poset(result) -> FacePoset:
    """Every face of the polyhedral complex of ``result`` (an `EnumerationResult` of a box or a
    bounded polytope in 2 to ``_config.VERTEX_MAX_DIM`` inputs), exactly: the module's
    docstring says how and what is checked.

    Raises
    ------
    NNCellsError
        If the domain is not a bounded polyhedron, the input dimension is above
        ``_config.VERTEX_MAX_DIM``, or a check fails (a vertex float64 could not resolve).

    Examples
    --------
    >>> from nncells import Box, Network, enumerate_regions
    >>> net = Network([[[1.0, 1.0]], [[1.0]]], [[0.0], [0.0]])   # x1 + x2 = 0, through 2 corners
    >>> face_poset(enumerate_regions(net, Box(-1.0, 1.0, dim=2)))
    FacePoset(f_vector=[4, 5, 2])
    """
    return merge_parts(result, [poset_part(result, np.arange(len(result.patterns)))])


def check_domain(result) -> None:
    """Refuse what `face_poset` cannot do: an unbounded or curved domain, a dimension outside 2 to
    ``_config.VERTEX_MAX_DIM``."""
    dom, d = result.domain, result.network.input_dim
    if isinstance(dom, (Space, Ball)) and not (isinstance(dom, Ball) and dom.norm != 2):
        raise NNCellsError("faces need a bounded polyhedral domain (a box or a bounded polytope), "
                           f"not {type(dom).__name__.lower()}")
    if not 2 <= d <= _config.VERTEX_MAX_DIM:
        raise NNCellsError(f"faces are computed for 2 to {_config.VERTEX_MAX_DIM} inputs "
                           f"(_config.VERTEX_MAX_DIM), this network has {d}")


def poset_part(result, regions) -> dict:
    """The faces of the regions ``regions`` (indices into ``result``), for `merge_parts`: what a
    worker of a parallel face poset computes (`nncells.analysis.topology.faces`); their vertices
    come from qhull on these regions alone. Each region's own checks are made here."""
    check_domain(result)
    regions = np.asarray(regions, dtype=np.int64)
    return Builder(result, region_vertices(result, regions), regions).part()


def merge_parts(result, parts) -> FacePoset:
    """One `FacePoset` from the parts of `poset_part`, in order (`Merger`)."""
    m = Merger(result)
    for part in parts:
        m.add(part)
    return m.poset()


class Merger:
    """The parts of `poset_part` merged one at a time, in order (a part can be dropped once
    added): faces found in several parts are one face (the same key; they must have one
    dimension, and a region is one part's). `poset` checks the whole: a (d-1)-face has two
    regions beside it, or one and the domain's boundary; an edge has two endpoints."""

    def __init__(self, result):
        self.result, self.d = result, result.network.input_dim
        self.ids: dict = {}
        self.dims: list = []                 # per face, for the checks while merging
        self.chunks: dict = {k: [] for k in ("dim", "points", "region", "vflat", "vlen", "inc")}

    def add(self, part) -> None:
        """Merge the next part (`poset_part`)."""
        keys, dim, region = part["keys"], part["dim"], part["region"]
        local = np.empty(len(keys), dtype=np.int64)
        new = []
        ids, dims, d = self.ids, self.dims, self.d
        for i, key in enumerate(keys):
            g = ids.get(key)
            if g is None:
                g = ids[key] = len(dims)
                dims.append(int(dim[i]))
                new.append(i)
            elif dims[g] != dim[i]:
                raise NNCellsError("faces: a face has two dimensions (float64 cannot resolve this complex)")
            elif dim[i] == d:
                raise NNCellsError(f"faces: region {int(region[i])} is one face with another region")
            local[i] = g
        new_a = np.asarray(new, dtype=np.int64)
        vlen = part["vlen"]
        vstart = np.concatenate([[0], np.cumsum(vlen)])
        take = np.concatenate([np.arange(vstart[i], vstart[i + 1]) for i in new]) if new else np.zeros(0, np.int64)
        c = self.chunks
        c["dim"].append(dim[new_a])
        c["points"].append(part["points"][new_a])
        c["region"].append(region[new_a])
        c["vflat"].append(local[part["vflat"][take]])
        c["vlen"].append(vlen[new_a])
        c["inc"].append(local[part["inc"]])

    def poset(self) -> FacePoset:
        """The merged poset, checked."""
        d = self.d
        cat = {k: np.concatenate(v) if v else None for k, v in self.chunks.items()}
        n = len(self.dims)
        dim_a = cat["dim"].astype(np.int64) if n else np.zeros(0, np.int64)
        inc_a = np.unique(cat["inc"].reshape(-1, 2), axis=0) if n else np.zeros((0, 2), np.int64)
        signs, on = key_arrays(self.result.network, list(self.ids), len(self.result.domain.halfspaces()[1]))
        up = np.bincount(inc_a[dim_a[inc_a[:, 1]] == d, 0], minlength=n) if len(inc_a) else np.zeros(n, np.int64)
        need = np.where(on.any(axis=1), 1, 2)
        bad = np.flatnonzero((dim_a == d - 1) & (up != need))
        if bad.size:
            f = bad[0]
            raise NNCellsError(f"faces: a (d-1)-face has {up[f]} region(s) beside it, not {need[f]} "
                               "(a region is missing, or float64 cannot resolve this complex)")
        ends = np.bincount(inc_a[dim_a[inc_a[:, 1]] == 1, 1], minlength=n) if len(inc_a) else 0
        if np.any((dim_a == 1) & (ends != 2)):
            raise NNCellsError("faces: an edge without two endpoints (float64 cannot resolve this complex)")
        if not n:
            return FacePoset(dim=dim_a, signs=signs, on_domain=on, points=np.zeros((0, d)), incidence=inc_a,
                             region=np.zeros(0, np.int64), vertices=[])
        return FacePoset(dim=dim_a, signs=signs, on_domain=on, points=cat["points"].reshape(-1, d),
                         incidence=inc_a, region=cat["region"].astype(np.int64),
                         vertices=np.split(cat["vflat"], np.cumsum(cat["vlen"])[:-1]))
