"""The face poset of a network's polyhedral complex inside a bounded polyhedral domain: every
face of every dimension, exactly.

A face is identified by its *sign vector*: the sign (+1, -1 or 0) of every hidden unit's
pre-activation on the face's relative interior, and the domain's rows it lies on. On the closure
of a region every pre-activation equals the region's own affine map (the network is continuous),
so the set of points with one sign vector is a relatively open convex polyhedron, its closure is
the set of points whose signs *conform* to it (each entry the same or 0), and the faces of a
region's closed polytope are faces of the complex. The poset is built from the regions' vertices:

1. each region's vertices come from qhull (`region_vertices`, float64);
2. each is made exact: ``d`` independent rows among those nearly tight there (the region's
   pulled-back rows and the domain's, as integers: `nncells.results._exact`) are solved in
   integers, and every unit's pre-activation and every domain row is evaluated there exactly.
   The point must lie in the region's closure (checked exactly); its sign vector is then exact.
   An exact vertex found before (by any region) near the float vertex is taken instead of a
   solve where the chosen rows vanish there exactly and are independent (proven in float64
   from their error bounds, else exactly: docs/numerics.md): the same point. With two inputs, where these points fail a check of step 3 (qhull proposes
   two vertices a short edge apart as one, where the contract's threshold drops the edge), the
   region's polygon is made instead as the exact intersection of its rows near them and of every
   row one of its vertices violates, until none does (`nncells.results._polygon`);
3. a face of a region is the set of its vertices on which a set of its rows vanish: the
   region's facets are the maximal such vertex sets, and the facets of a face are the maximal
   proper intersections of it with the region's facets (the lattice, level by level, so a face's
   dimension is ``d`` minus its level: `nncells.results._lattice`, in the compiled core when
   the backend is ``native``); a face's sign vector is the join of its vertices'.

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

import operator
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, SupportsIndex

import numpy as np

from nncells import _config
from nncells.domains import Ball, Space
from nncells.errors import NNCellsError
from nncells.results._face_builder import Builder, chunk
from nncells.results._face_keys import key_domain, key_signs
from nncells.results.adjacency import _qhull_facets, contract_tol

if TYPE_CHECKING:
    from os import PathLike
    from pathlib import Path

    import numpy.typing as npt

    from nncells.results.result import EnumerationResult


class Ragged(Sequence["np.ndarray"]):
    """A list of integer arrays stored flat: item ``i`` is ``flat[offsets[i]:offsets[i + 1]]``
    (`FacePoset.vertices`: one small array per face would cost more than its contents).

    Examples
    --------
    >>> r = Ragged(np.array([5, 6, 7, 8]), np.array([0, 1, 4]))
    >>> len(r), r[1].tolist(), [v.tolist() for v in r], r[-1].tolist()
    (2, [6, 7, 8], [[5], [6, 7, 8]], [6, 7, 8])
    """

    def __init__(self, flat: np.ndarray, offsets: np.ndarray) -> None:
        self.flat, self.offsets = flat, offsets

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: SupportsIndex) -> np.ndarray:  # type: ignore[override]
        k = operator.index(i)
        k = k + len(self) if k < 0 else k
        if not 0 <= k < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} items")
        return self.flat[self.offsets[k]:self.offsets[k + 1]]

    def __iter__(self) -> Iterator[np.ndarray]:
        return (self.flat[a:b] for a, b in zip(self.offsets[:-1].tolist(), self.offsets[1:].tolist()))

    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


@dataclass(frozen=True)
class FacePoset:
    """The faces of a polyhedral complex and their codimension-1 incidences (`face_poset`).

    Attributes
    ----------
    dim : ndarray of int64, shape (n,)
        Each face's dimension, 0 to d.
    keys : ndarray of uint8, shape (n, bytes)
        Each face's sign vector, packed (`signs`, `unit_signs` and `on_domain` read it).
    on_domain : ndarray of bool, shape (n, m)
        Whether the face lies on each of the domain's rows (``Domain.halfspaces``).
    points : ndarray of float64, shape (n, d)
        A point in each face's relative interior (the mean of its vertices).
    incidence : ndarray of int64, shape (k, 2)
        Pairs ``(face, coface)`` with ``dim[coface] == dim[face] + 1`` and the face in the
        coface's boundary.
    region : ndarray of int64, shape (n,)
        For a d-dimensional face, the index of its region in the result; -1 otherwise.
    vertices : Ragged
        For each face, the indices (into the poset) of its vertices.
    relu : ndarray of int64
        The positions of the ReLU units among the hidden units (the others are linear).
    n_hidden : int
        The number of hidden units.
    """

    dim: np.ndarray
    keys: np.ndarray
    on_domain: np.ndarray
    points: np.ndarray
    incidence: np.ndarray
    region: np.ndarray
    vertices: Ragged
    relu: np.ndarray
    n_hidden: int

    @property
    def signs(self) -> np.ndarray:
        """Each hidden unit's sign on each face's relative interior, int8 ``(n, n_hidden)`` (0
        for linear units); unpacked on each use (`unit_signs` for a few units)."""
        return self.signs_of(0, len(self))

    def signs_of(self, start: int, stop: int) -> np.ndarray:
        """The rows ``start:stop`` of `signs`, without the rest."""
        return key_signs(self.keys[start:stop], len(self.relu), self.relu, self.n_hidden)

    def unit_signs(self, units: npt.ArrayLike) -> np.ndarray:
        """The columns ``units`` of `signs` (positions among the hidden units), without the rest.

        Examples
        --------
        >>> from nncells import Box, Network, enumerate_regions
        >>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
        >>> poset = face_poset(enumerate_regions(net, Box(-1.0, 1.0, dim=2)))
        >>> bool((poset.unit_signs([1]) == poset.signs[:, [1]]).all())
        True
        """
        return key_signs(self.keys, len(self.relu), self.relu, self.n_hidden, units)

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

    def to_parquet(self, path: str | PathLike[str], block: int = 1 << 18) -> None:
        """Write the faces to the Parquet file ``path`` (atomically, ``block`` faces at a time: a
        row group each, so memory stays that of the poset), one row per face: ``face``
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
        import pyarrow.parquet as pq
        from nncells.results.store import atomic_write
        n = len(self.dim)
        order = np.argsort(self.incidence[:, 1], kind="stable") if len(self.incidence) else np.zeros(0, np.int64)
        lows = self.incidence[order, 0] if len(order) else np.zeros(0, np.int64)
        counts = np.bincount(self.incidence[:, 1], minlength=n) if len(self.incidence) else np.zeros(n, np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)])
        V = self.vertices

        def lists(flat: np.ndarray, widths: np.ndarray, typ: pa.DataType) -> pa.ListArray:
            offsets = pa.array(np.concatenate([[0], np.cumsum(widths)]).astype(np.int32))
            return pa.ListArray.from_arrays(offsets, pa.array(flat, type=typ))

        def rows(a: int, b: int) -> pa.Table:   # faces a..b-1: a row group (the signs unpacked for them only)
            signs = self.signs_of(a, b)
            return pa.table({
                "face": pa.array(np.arange(a, b, dtype=np.int64)),
                "dim": pa.array(self.dim[a:b].astype(np.int64)),
                "signs": lists(signs.reshape(-1), np.full(b - a, signs.shape[1]), pa.int8()),
                "on_domain": lists(self.on_domain[a:b].reshape(-1), np.full(b - a, self.on_domain.shape[1]), pa.bool_()),
                "point": lists(self.points[a:b].reshape(-1), np.full(b - a, self.points.shape[1]), pa.float64()),
                "region": pa.array(self.region[a:b].astype(np.int64)),
                "faces": lists(lows[starts[a]:starts[b]].astype(np.int64), counts[a:b], pa.int64()),
                "vertices": lists(V.flat[V.offsets[a]:V.offsets[b]].astype(np.int64), V.lengths()[a:b], pa.int64()),
            })

        def write(tmp: Path) -> None:
            first = rows(0, min(n, block))
            with pq.ParquetWriter(tmp, first.schema) as w:
                w.write_table(first)
                for a in range(block, n, block):
                    w.write_table(rows(a, min(n, a + block)))
        atomic_write(path, write)

    def euler_characteristic(self, mask: npt.ArrayLike | None = None) -> int:
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


def face_poset(result: EnumerationResult) -> FacePoset:
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


def check_domain(result: EnumerationResult) -> None:
    """Refuse what `face_poset` cannot do: an unbounded or curved domain, a dimension outside 2 to
    ``_config.VERTEX_MAX_DIM``."""
    dom, d = result.domain, result.network.input_dim
    if isinstance(dom, (Space, Ball)) and not (isinstance(dom, Ball) and dom.norm != 2):
        raise NNCellsError("faces need a bounded polyhedral domain (a box or a bounded polytope), "
                           f"not {type(dom).__name__.lower()}")
    if not 2 <= d <= _config.VERTEX_MAX_DIM:
        raise NNCellsError(f"faces are computed for 2 to {_config.VERTEX_MAX_DIM} inputs "
                           f"(_config.VERTEX_MAX_DIM), this network has {d}")


def poset_part(result: EnumerationResult, regions: npt.ArrayLike) -> dict[str, np.ndarray]:
    """The faces of the regions ``regions`` (indices into ``result``), for `merge_parts`: what a
    worker of a parallel face poset computes (`nncells.analysis.topology.faces`); their vertices
    come from qhull on these regions alone. Each region's own checks are made here."""
    check_domain(result)
    regions = np.asarray(regions, dtype=np.int64)
    builder = Builder(result)
    step = chunk(result.network)                     # (a chunk's rows held at once)
    for c0 in range(0, len(regions), step):
        part = regions[c0:c0 + step]
        builder.add(part, region_vertices(result, part))
    return builder.part()


def region_vertices(result: EnumerationResult, regions: npt.ArrayLike) -> dict[str, Any]:
    """The vertices of the regions ``regions`` (indices into ``result``) by the qhull path of
    `nncells.results.adjacency.compute_facets` (with ``vertices``): ``vertex`` (k, d),
    ``vertex_region`` (k,), the regions it could not give vertices of: ``rays`` (unbounded),
    ``lines`` (settled by LPs) and ``bad`` (no interior point), and ``rows``: the regions' rows
    with their error bounds (`nncells.results._facets.cell_rows`), in the order of ``regions``,
    pulled back once for both. For the face poset's workers, which each take some regions."""
    qh = _qhull_facets(result, np.asarray(regions, dtype=np.int64), contract_tol(result), True, rows=True)
    d = result.network.input_dim
    return {"vertex": qh.get("vertex", np.zeros((0, d))), "vertex_region": qh.get("vertex_region", np.zeros(0, np.int64)),
            "rays": np.unique(qh.get("ray_region", np.zeros(0, np.int64))), "lines": qh.get("lines", np.zeros(0, np.int64)),
            "bad": qh["bad"], "rows": qh["rows"]}


def merge_parts(result: EnumerationResult, parts: Iterable[dict[str, np.ndarray]]) -> FacePoset:
    """One `FacePoset` from the parts of `poset_part`, in order (`Merger`)."""
    m = Merger(result)
    for part in parts:
        m.add(part)
    return m.poset()


class Merger:
    """The parts of `poset_part` merged into one poset, in the order of their indices: faces found
    in several parts are one face (the same key), numbered where they first appear. Each part is
    kept in compact arrays until `poset`, which merges them at once (by sorting the packed keys)
    and checks the whole: a face has one dimension whichever part found it, a region is one
    part's, a (d-1)-face has two regions beside it or one and the domain's boundary, an edge has
    two endpoints."""

    def __init__(self, result: EnumerationResult) -> None:
        self.result, self.d = result, result.network.input_dim
        self.parts: dict[int, dict[str, np.ndarray]] = {}

    def add(self, part: dict[str, np.ndarray], index: int | None = None) -> None:
        """Keep a part (`poset_part`) for the merge: the ``index``-th (default: the next), so parts
        may come in any order and are merged in the order of their indices."""
        small = np.int32 if len(part["dim"]) < 2 ** 31 else np.int64
        self.parts[len(self.parts) if index is None else index] = {
            "keys": part["keys"], "dim": part["dim"], "points": part["points"], "region": part["region"].astype(small),
            "vflat": part["vflat"].astype(small), "vlen": part["vlen"].astype(np.int32), "inc": part["inc"].astype(small)}

    def poset(self) -> FacePoset:
        """The merged poset, checked."""
        d, net = self.d, self.result.network
        parts, self.parts = [self.parts[k] for k in sorted(self.parts)], {}
        sizes = np.array([len(p["dim"]) for p in parts], dtype=np.int64)
        base = np.concatenate([[0], np.cumsum(sizes)])
        nb = max([p["keys"].shape[1] for p in parts], default=1)
        keys = np.concatenate([p["keys"] for p in parts]) if parts else np.zeros((0, nb), np.uint8)
        dims = np.concatenate([p["dim"] for p in parts]) if parts else np.zeros(0, np.int8)
        row = np.ascontiguousarray(keys).view(np.dtype((np.void, keys.shape[1]))).ravel()
        _, first, inv = np.unique(row, return_index=True, return_inverse=True)
        del row
        rank = np.empty(len(first), dtype=np.int64)          # faces numbered where they first appear
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        gid = rank[inv.ravel()]
        del inv
        first = np.sort(first)
        n = len(first)
        dim_a = dims[first].astype(np.int64)
        if np.any(dims[first][gid] != dims):
            raise NNCellsError("faces: a face has two dimensions (float64 cannot resolve this complex)")
        twice = np.flatnonzero(np.bincount(gid[dims == d], minlength=n) > 1)
        if twice.size:
            regions = np.concatenate([p["region"] for p in parts])[(gid == twice[0]) & (dims == d)]
            raise NNCellsError(f"faces: regions {int(regions[0])} and {int(regions[1])} are one face")
        del dims
        keys = keys[first]
        bounds = np.searchsorted(first, base)     # the faces first seen in part k: first[bounds[k]:bounds[k + 1]]
        own = [first[bounds[k]:bounds[k + 1]] - base[k] for k in range(len(parts))]
        points = np.concatenate([p["points"][f] for p, f in zip(parts, own)]) if parts else np.zeros((0, d))
        region = np.concatenate([p["region"][f] for p, f in zip(parts, own)]).astype(np.int64) if parts \
            else np.zeros(0, np.int64)
        vertices, inc = self._lists(parts, base, gid, own)
        del parts, gid
        relu = np.flatnonzero(~np.asarray(net.linear_mask, dtype=bool))
        on = key_domain(keys, len(relu), len(self.result.domain.halfspaces()[1]))
        up = np.bincount(inc[dim_a[inc[:, 1]] == d, 0], minlength=n) if len(inc) else np.zeros(n, np.int64)
        need = np.where(on.any(axis=1), 1, 2)
        bad = np.flatnonzero((dim_a == d - 1) & (up != need))
        if bad.size:
            f = bad[0]
            raise NNCellsError(f"faces: a (d-1)-face has {up[f]} region(s) beside it, not {need[f]} "
                               f"(at {points.reshape(-1, d)[f].tolist()}: a region is missing, as one "
                               "thinner than the contract's threshold, which a smaller tol keeps; or "
                               "float64 cannot resolve this complex)")
        ends = np.bincount(inc[dim_a[inc[:, 1]] == 1, 1], minlength=n) if len(inc) else 0
        if np.any((dim_a == 1) & (ends != 2)):
            raise NNCellsError("faces: an edge without two endpoints (float64 cannot resolve this complex)")
        return FacePoset(dim=dim_a, keys=keys, on_domain=on, points=points.reshape(-1, d), incidence=inc,
                         region=region, vertices=vertices, relu=relu, n_hidden=net.n_hidden)

    @staticmethod
    def _lists(parts: list[dict[str, np.ndarray]], base: np.ndarray, gid: np.ndarray,
               own: list[np.ndarray]) -> tuple[Ragged, np.ndarray]:
        """The faces' vertex lists (of each face's first occurrence: ``own[k]``, the faces first
        seen in part ``k``, by their index there) and the incidences (each once), in the merged
        numbering; part by part, each part's arrays released once read (the peak of the merge)."""
        n = sum(len(f) for f in own)
        chunks, lens = [], []
        for k, (p, f) in enumerate(zip(parts, own)):
            vlen = p["vlen"].astype(np.int64)
            vstart = np.concatenate([[0], np.cumsum(vlen)])
            L = vlen[f]
            at = np.repeat(vstart[f] - np.concatenate([[0], np.cumsum(L)[:-1]]), L) + np.arange(int(L.sum()))
            chunks.append(gid[base[k] + p["vflat"][at]])
            lens.append(L)
            del p["vflat"], p["vlen"]
        offsets = np.concatenate([[0], np.cumsum(np.concatenate(lens))]).astype(np.int64) if parts \
            else np.zeros(1, np.int64)
        vertices = Ragged(np.concatenate(chunks).astype(np.int64) if parts else np.zeros(0, np.int64), offsets)
        del chunks
        code = np.empty(sum(p["inc"].size // 2 for p in parts), dtype=np.int64)
        at0 = 0
        for k, p in enumerate(parts):
            a = p["inc"].reshape(-1, 2)
            code[at0:at0 + len(a)] = gid[base[k] + a[:, 0]] * n + gid[base[k] + a[:, 1]]
            at0 += len(a)
            del p["inc"]
        code.sort()                                   # in place; then each pair once
        if len(code):
            code = code[np.concatenate([[True], code[1:] != code[:-1]])]
        return vertices, np.stack([code // n, code % n], axis=1) if len(code) else np.zeros((0, 2), np.int64)
