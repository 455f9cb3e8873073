"""The face poset of a network's polyhedral complex inside a bounded polyhedral domain: every
face of every dimension, exactly.

A face is identified by its *sign vector*: the sign (+1, -1 or 0) of every hidden unit's
pre-activation on the face's relative interior, and the domain's rows it lies on. On the closure
of a region every pre-activation equals the region's own affine map (the network is continuous),
so the set of points with one sign vector is a relatively open convex polyhedron, its closure is
the set of points whose signs *conform* to it (each entry the same or 0), and the faces of a
region's closed polytope are faces of the complex. The poset is built from the regions' vertices:

1. each region's vertices come from `nncells.results.adjacency.compute_facets` (float64, qhull);
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
the domain's boundary. `FacePoset.euler_characteristic` of the whole complex is 1 (a box or a
bounded polytope); tests check it.

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
from fractions import Fraction

import numpy as np

from nncells import _config
from nncells.domains import Ball, Space
from nncells.errors import NNCellsError
from nncells.results._exact import ExactNetwork, combination, domain_rows
from nncells.results.adjacency import compute_facets


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
    dom, net = result.domain, result.network
    d = net.input_dim
    if isinstance(dom, (Space, Ball)) and not (isinstance(dom, Ball) and dom.norm != 2):
        raise NNCellsError("faces need a bounded polyhedral domain (a box or a bounded polytope), "
                           f"not {type(dom).__name__.lower()}")
    if not 2 <= d <= _config.VERTEX_MAX_DIM:
        raise NNCellsError(f"faces are computed for 2 to {_config.VERTEX_MAX_DIM} inputs "
                           f"(_config.VERTEX_MAX_DIM), this network has {d}")
    table = compute_facets(result, vertices=True)
    if len(table["_ray"]) or len(table["_lines"]):
        raise NNCellsError("faces need a bounded domain: a region of this one is unbounded")
    if len(table["_no_interior"]):
        raise NNCellsError(f"faces: {len(table['_no_interior'])} region(s) without an interior point")
    return _Builder(result, table).run()


def _float_rows(R, c, d):
    """The integer rows ``R x + c`` in float64, each scaled by its own power of two so that its
    largest entry has about 60 bits (a row's scale does not change where it vanishes)."""
    Rf = np.zeros((len(R), d))
    cf = np.zeros(len(R))
    for i, (row, ci) in enumerate(zip(R, c)):
        bits = max(abs(int(v)).bit_length() for v in list(row) + [ci])
        s = max(0, bits - 60)
        Rf[i] = [float(int(v) >> s) for v in row]
        cf[i] = float(int(ci) >> s)
    return Rf, cf


class _Builder:
    def __init__(self, result, table):
        self.result, self.net = result, result.network
        self.d = self.net.input_dim
        self.exact = ExactNetwork(self.net)
        Gd, hd = domain_rows(result.domain)
        self.Gd, self.hd = Gd, hd
        A, b = result.domain.halfspaces()
        self.Ad = A / np.linalg.norm(A, axis=1)[:, None]
        self.bd = b / np.linalg.norm(A, axis=1)
        self.relu = ~np.asarray(self.net.linear_mask, dtype=bool)
        self.table = table
        self.keys: dict = {}            # sign-vector key -> face id
        self.dim, self.signs, self.dom, self.points, self.region, self.verts = [], [], [], [], [], []
        self.inc: set = set()
        self.vkeys: dict = {}           # exact vertex key -> face id

    def run(self) -> FacePoset:
        V, VR = self.table["_vertex"], self.table["_vertex_region"]
        order = np.argsort(VR, kind="stable")
        starts = np.searchsorted(VR[order], np.arange(len(self.result.patterns) + 1))
        for r in range(len(self.result.patterns)):
            idx = order[starts[r]:starts[r + 1]]
            self._region(r, V[idx])
        self._check_cofaces()
        inc = np.array(sorted(self.inc), dtype=np.int64).reshape(-1, 2)
        N, md = self.net.n_hidden, len(self.hd)
        return FacePoset(
            dim=np.array(self.dim, dtype=np.int64),
            signs=np.array(self.signs, dtype=np.int8).reshape(-1, N),
            on_domain=np.array(self.dom, dtype=bool).reshape(-1, md),
            points=np.array(self.points, dtype=np.float64).reshape(-1, self.d),
            incidence=inc, region=np.array(self.region, dtype=np.int64),
            vertices=[np.array(v, dtype=np.int64) for v in self.verts])

    # -- one region: its exact vertices, then its face lattice ------------------------------------
    def _region(self, r, Vf):
        pattern = np.asarray(self.result.patterns[r], dtype=bool)
        maps = self.exact.layer_maps(pattern)
        Z = np.concatenate([M for M, _ in maps]) if maps else np.zeros((0, self.d), dtype=object)
        z = np.concatenate([m for _, m in maps]) if maps else np.zeros(0, dtype=object)
        # the rows, as "expression = 0" constraints: units (Z x + z), domain (Gd x - hd)
        R = np.concatenate([Z[self.relu], self.Gd]) if len(self.Gd) else Z[self.relu]
        c = np.concatenate([z[self.relu], -self.hd]) if len(self.hd) else z[self.relu]
        Rf, cf = _float_rows(R, c, self.d)
        nrm = np.linalg.norm(Rf, axis=1)
        live = nrm > 0
        want = np.where(pattern[self.relu], 1, -1)     # the region's signs on its ReLU units
        ids, sg, tight = [], [], []
        for x in Vf:
            vid, s, t = self._vertex(x, R, c, Rf, cf, nrm, live, want, r)
            if vid not in ids:
                ids.append(vid)
                sg.append(s)
                tight.append(t)
        self._lattice(r, ids, np.array(sg, dtype=np.int8), np.array(tight, dtype=bool), want)

    def _vertex(self, x, R, c, Rf, cf, nrm, live, want, r):
        """The exact vertex near the float vertex ``x`` of region ``r``: (face id, unit signs over
        the ReLU units, tight constraints)."""
        d = self.d
        slack = np.where(live, np.abs(Rf @ x + cf) / np.where(live, nrm, 1.0), np.inf)
        chosen = []
        for i in np.argsort(slack, kind="stable"):
            if not live[i]:
                break
            trial = Rf[chosen + [int(i)]] / nrm[chosen + [int(i)], None]
            if np.linalg.matrix_rank(trial, tol=1e-10) == len(chosen) + 1:
                chosen.append(int(i))
                if len(chosen) == d:
                    break
        sol = combination(R[chosen].T, -c[chosen]) if len(chosen) == d else None
        if sol is None:
            raise NNCellsError(f"faces: a vertex of region {r} could not be resolved exactly "
                               "(float64 cannot separate its rows)")
        num, den = np.array(sol[0], dtype=object), sol[1]
        val = np.asarray(np.dot(R, num), dtype=object) + c * den       # exact, times den > 0
        sgn = np.array([(v > 0) - (v < 0) for v in val], dtype=np.int8)
        nu = int(self.relu.sum())
        units, domain = sgn[:nu], sgn[nu:]
        if np.any(units * want < 0) or np.any(domain > 0):
            raise NNCellsError(f"faces: a vertex of region {r} found by qhull is not in the region's "
                               "closure (float64 cannot resolve this complex)")
        full = np.zeros(self.net.n_hidden, dtype=np.int8)
        full[self.relu] = units
        key = full.tobytes() + (domain == 0).tobytes()
        vid = self.vkeys.get(key)
        if vid is None:
            point = np.array([float(Fraction(int(v), den)) for v in num])
            vid = self._add(key, 0, full, domain == 0, point, -1, None)
            self.vkeys[key] = vid
            self.verts[vid] = [vid]
        return vid, units, sgn == 0

    def _lattice(self, r, ids, S, T, want):
        """The faces of region ``r``'s closed polytope from its vertices' signs ``S`` (ReLU units)
        and tight constraints ``T`` (ReLU units, then domain rows): level by level."""
        k, d = len(ids), self.d
        if k < d + 1:
            raise NNCellsError(f"faces: region {r} has {k} vertices, fewer than {d + 1}")
        full = (1 << k) - 1
        sets = set()
        for col in T.T:
            b = 0
            for i in np.flatnonzero(col):
                b |= 1 << int(i)
            if b and b != full:
                sets.add(b)
        facets = [s for s in sets if not any(s != t and s & t == s for t in sets)]
        level = {full: None}
        face_id = {full: self._face(full, ids, S, T, want, d, r)}
        chi = 1 if d % 2 == 0 else -1
        for lev in range(1, d + 1):
            nxt = {}
            for F in level:
                subs = {F & g for g in facets if F & g and F & g != F}
                for G in subs:
                    if any(G != H and G & H == G for H in subs):
                        continue
                    if G in face_id and G not in nxt:
                        raise NNCellsError(f"faces: region {r}'s face lattice is not graded "
                                           "(float64 cannot resolve this complex)")
                    if G not in nxt:
                        nxt[G] = None
                        face_id[G] = self._face(G, ids, S, T, want, d - lev, r)
                        chi += 1 if (d - lev) % 2 == 0 else -1
                    self.inc.add((face_id[G], face_id[F]))
            level = nxt
        if chi != 1 or any(bin(G).count("1") != 1 for G in level):
            raise NNCellsError(f"faces: region {r}'s faces do not make a polytope (Euler "
                               f"characteristic {chi}; float64 cannot resolve this complex)")

    def _face(self, bits, ids, S, T, want, dim, r):
        """The global id of the face of a region with vertex set ``bits`` (new or found)."""
        members = [i for i in range(len(ids)) if bits >> i & 1]
        if len(members) == 1:
            if dim != 0:
                raise NNCellsError(f"faces: region {r} has a vertex at dimension {dim} "
                                   "(float64 cannot resolve this complex)")
            return ids[members[0]]
        sub = S[members]
        pos, neg = (sub > 0).any(axis=0), (sub < 0).any(axis=0)
        if np.any(pos & neg):
            raise NNCellsError("faces: the vertices of a face disagree on a sign")
        units = pos.astype(np.int8) - neg.astype(np.int8)
        full = np.zeros(self.net.n_hidden, dtype=np.int8)
        full[self.relu] = units
        on = T[members][:, int(self.relu.sum()):].all(axis=0)
        key = full.tobytes() + on.tobytes()
        fid = self.keys.get(key)
        if fid is not None:
            if self.dim[fid] != dim:
                raise NNCellsError("faces: a face has two dimensions (float64 cannot resolve this complex)")
            if dim == self.d:
                raise NNCellsError(f"faces: regions {self.region[fid]} and {r} are one face")
            return fid
        vids = [ids[i] for i in members]
        point = np.mean([self.points[v] for v in vids], axis=0)
        return self._add(key, dim, full, on, point, r if dim == self.d else -1, vids)

    def _add(self, key, dim, signs, on, point, region, vids):
        fid = len(self.dim)
        self.keys[key] = fid
        self.dim.append(dim)
        self.signs.append(signs)
        self.dom.append(on)
        self.points.append(point)
        self.region.append(region)
        self.verts.append(vids)
        return fid

    def _check_cofaces(self):
        d = self.d
        up = np.zeros(len(self.dim), dtype=np.int64)
        for f, g in self.inc:
            if self.dim[g] == d:
                up[f] += 1
        for f in range(len(self.dim)):
            if self.dim[f] != d - 1:
                continue
            need = 1 if np.any(self.dom[f]) else 2
            if up[f] != need:
                raise NNCellsError(f"faces: a (d-1)-face has {up[f]} region(s) beside it, not {need} "
                                   "(a region is missing, or float64 cannot resolve this complex)")
