"""Exact planar subdivision of a 2-input ReLU network: a mesh of convex polygons split neuron
by neuron, vectorised with numpy over all faces at once (no LP), in the spirit of regioncam.

The mesh holds a vertex pool (shared vertices with ids) and one counter-clockwise vertex loop per
face. Layer ``l`` sees every face of layer ``l - 1`` (its *parent*) through that parent's affine
map, so each neuron of layer ``l`` is a line per parent. For neuron ``i`` only the faces whose
parent's circumscribed disc meets the line are visited; a face is split iff it has vertices
strictly on both sides, farther from the line than the error bound of their values there
(`nncells.contract.value_error`). Vertices within that bound are kept as they are and shared by
both halves, so lines through existing vertices, neurons
parallel to a domain edge and repeated neurons make no sliver faces. A new vertex on edge
``(u, w)`` is keyed by the pair, so both faces sharing the edge get the same vertex id and the
mesh stays a valid subdivision (adjacency is then an exact match of vertex-id pairs).

Lines are normalised so vertex values are Euclidean distances in the plane. A line is constant
on a face only when both entries of its normal are within the forward error bound of the
products that computed them (``gamma * |W_l[i]| * prod_j ||W_j||_F``, a bound of ``|W| |M|``).
Faces are kept or dropped by the contract of `nncells.contract` (`planar_batch`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from .contract import DEFAULT_TOL, gamma
from .errors import NNCellsError
from .network import Network

_CHUNK = 4096  # faces per block when evaluating per-face maps (bounds temporary memory)


class _Mesh:
    """Convex faces as CCW loops of vertex ids in a loop pool; both pools grow by doubling."""

    def __init__(self, xy: np.ndarray):
        k = len(xy)
        self.X = np.empty(max(64, 4 * k))
        self.Y = np.empty_like(self.X)
        self.X[:k], self.Y[:k] = xy[:, 0], xy[:, 1]
        # magnitude of the numbers each vertex was computed from (its error is relative to it)
        self.M = np.empty_like(self.X)
        self.M[:k] = np.maximum(np.abs(xy[:, 0]), np.abs(xy[:, 1]))
        self.nv = k
        self.loops = np.empty(max(64, 4 * k), dtype=np.int64)
        self.loops[:k] = np.arange(k)
        self.nl = k
        self.start = np.zeros(16, dtype=np.int64)
        self.length = np.zeros(16, dtype=np.int64)
        self.parent = np.zeros(16, dtype=np.int64)
        self.length[0] = k
        self.nf = 1
        self.garbage = 0

    @classmethod
    def from_loops(cls, vertices, face_start, face_vertices) -> "_Mesh":
        """A mesh holding the faces of a finished partition (each face its own parent)."""
        m = cls(np.asarray(vertices[:3]))
        m.nv = m.nl = m.nf = 0
        m.add_vertices(vertices[:, 0], vertices[:, 1], np.max(np.abs(vertices), axis=1))
        m.add_loops(face_vertices)
        lens = np.diff(face_start)
        m.add_faces(face_start[:-1], lens, np.arange(len(lens)))
        return m

    @staticmethod
    def _room(a, n):
        if n <= len(a):
            return a
        b = np.empty(max(n, 2 * len(a)), dtype=a.dtype)
        b[:len(a)] = a
        return b

    def add_vertices(self, x, y, mag) -> int:
        base = self.nv
        self.X = self._room(self.X, base + len(x))
        self.Y = self._room(self.Y, base + len(x))
        self.M = self._room(self.M, base + len(x))
        self.X[base:base + len(x)], self.Y[base:base + len(x)] = x, y
        self.M[base:base + len(x)] = mag
        self.nv += len(x)
        return base

    def add_loops(self, ids) -> int:
        base = self.nl
        self.loops = self._room(self.loops, base + len(ids))
        self.loops[base:base + len(ids)] = ids
        self.nl += len(ids)
        return base

    def add_faces(self, start, length, parent):
        n, k = self.nf, len(start)
        self.start = self._room(self.start, n + k)
        self.length = self._room(self.length, n + k)
        self.parent = self._room(self.parent, n + k)
        self.start[n:n + k], self.length[n:n + k], self.parent[n:n + k] = start, length, parent
        self.nf += k

    def entries(self, faces=None):
        """Loop-pool positions of the loops of ``faces`` (all by default), concatenated, and the
        offset of each face's loop in that concatenation."""
        faces = np.arange(self.nf) if faces is None else faces
        lens = self.length[faces]
        offs = np.cumsum(lens) - lens
        return np.arange(int(lens.sum())) + np.repeat(self.start[faces] - offs, lens), offs, lens

    def compact(self):
        """Drop the loops left behind by split faces; loops end up contiguous in face order."""
        idx, offs, _ = self.entries()
        self.loops = self.loops[idx].copy()
        self.nl = len(self.loops)
        self.start[:self.nf] = offs
        self.garbage = 0

    def geometry(self):
        """Per face: area, centroid (cx, cy), and the max distance of a vertex from the centroid."""
        self.compact()
        lens = self.length[:self.nf]
        offs = self.start[:self.nf]
        v = self.loops[:self.nl]
        nxt = np.arange(1, self.nl + 1)
        nxt[offs + lens - 1] = offs
        w = v[nxt]
        # Shoelace relative to each face's first vertex (keeps the sums well conditioned).
        ox = np.repeat(self.X[v[offs]], lens)
        oy = np.repeat(self.Y[v[offs]], lens)
        x0, y0 = self.X[v] - ox, self.Y[v] - oy
        x1, y1 = self.X[w] - ox, self.Y[w] - oy
        cr = x0 * y1 - x1 * y0
        area2 = np.add.reduceat(cr, offs)
        cx = np.add.reduceat((x0 + x1) * cr, offs) / (3 * area2) + self.X[v[offs]]
        cy = np.add.reduceat((y0 + y1) * cr, offs) / (3 * area2) + self.Y[v[offs]]
        rad = np.maximum.reduceat(np.hypot(self.X[v] - np.repeat(cx, lens), self.Y[v] - np.repeat(cy, lens)),
                                  offs)
        return area2 / 2, cx, cy, rad


def _split(mesh: _Mesh, faces, a, b, c):
    """Split ``faces`` by their lines ``a[p] x + b[p] y + c[p] = 0`` (``p`` = face parent,
    unit normals) wherever a face has vertices on both sides beyond their values' error bound."""
    idx, offs, lens = mesh.entries(faces)
    vid = mesh.loops[idx]
    par = np.repeat(mesh.parent[faces], lens)
    ap, bp, cp = a[par], b[par], c[par]
    X, Y = mesh.X[vid], mesh.Y[vid]
    val = ap * X + bp * Y + cp
    err = gamma(3) * (mesh.M[vid] * (np.abs(ap) + np.abs(bp)) + np.abs(cp))
    pos, neg = val > err, val < -err
    cut = np.logical_or.reduceat(pos, offs) & np.logical_or.reduceat(neg, offs)
    if not cut.any():
        return
    if not cut.all():
        keep = np.repeat(cut, lens)
        vid, val, pos, neg = vid[keep], val[keep], pos[keep], neg[keep]
        faces, lens = faces[cut], lens[cut]
        offs = np.cumsum(lens) - lens
    n = len(vid)
    s = pos.astype(np.int8) - neg
    nxt = np.arange(1, n + 1)
    nxt[offs + lens - 1] = offs
    cross = (s * s[nxt]) < 0
    ci = np.flatnonzero(cross)
    # New vertices, one per crossed edge (keyed by its vertex-id pair, so neighbours share it).
    u, w = vid[ci], vid[nxt[ci]]
    vu, vw = val[ci], val[nxt[ci]]
    flip = u > w
    lo, hi = np.where(flip, w, u), np.where(flip, u, w)
    vlo, vhi = np.where(flip, vw, vu), np.where(flip, vu, vw)
    key = lo * np.int64(mesh.nv) + hi
    ukey, first, inv = np.unique(key, return_index=True, return_inverse=True)
    t = vlo[first] / (vlo[first] - vhi[first])
    l0, h0 = lo[first], hi[first]
    base = mesh.add_vertices(mesh.X[l0] + t * (mesh.X[h0] - mesh.X[l0]),
                             mesh.Y[l0] + t * (mesh.Y[h0] - mesh.Y[l0]),
                             np.maximum(mesh.M[l0], mesh.M[h0]))
    newid = base + inv.reshape(-1)
    # Children: each vertex goes to the side(s) it is on, each crossing to both, in loop order.
    loops = []
    for side in (s >= 0, s <= 0):
        cnt = side.astype(np.int64) + cross
        o = np.cumsum(cnt) - cnt
        out = np.empty(int(cnt.sum()), dtype=np.int64)
        out[o[side]] = vid[side]
        out[o[ci] + side[ci]] = newid
        loops.append((out, o[offs], np.add.reduceat(cnt, offs)))
    (lp, sp, np_), (ln, sn, nn_) = loops
    mesh.garbage += n
    bp = mesh.add_loops(lp)
    bn = mesh.add_loops(ln)
    mesh.start[faces], mesh.length[faces] = bp + sp, np_
    mesh.add_faces(bn + sn, nn_, mesh.parent[faces])
    if mesh.garbage > mesh.nl - mesh.garbage:
        mesh.compact()


def _candidates(Lx, Ly, Lc, err, cx, cy, rad, first):
    """(neuron, face, a, b, c) for the lines that may cut each face: those passing within the
    face's circumscribed disc (centroid, rad), normalised to unit normals; faces number from
    ``first``. A line whose normal's entries are both at most ``err`` (their error bound) is
    constant: never a cut."""
    nrm = np.hypot(Lx, Ly)
    ax, ay = np.abs(Lx * cx[:, None]), np.abs(Ly * cy[:, None])
    val = Lx * cx[:, None] + Ly * cy[:, None] + Lc
    near = np.abs(val) <= rad[:, None] * nrm * (1 + 1e-9) + gamma(3) * (ax + ay + np.abs(Lc))
    f, i = np.nonzero(near & ((np.abs(Lx) > err) | (np.abs(Ly) > err)))
    n = nrm[f, i]
    return i, f + first, Lx[f, i] / n, Ly[f, i] / n, Lc[f, i] / n


def _cut_layer(mesh: _Mesh, cand, width: int):
    """Refine every face by the candidate lines of its parent (faces at the start of the layer),
    neuron by neuron."""
    F = mesh.nf
    mesh.parent[:F] = np.arange(F)
    neuron, par, ca, cb, cc = (np.concatenate(c) for c in zip(*cand))
    order = np.argsort(neuron, kind="stable")
    neuron, par, ca, cb, cc = neuron[order], par[order], ca[order], cb[order], cc[order]
    bounds = np.searchsorted(neuron, np.arange(width + 1))
    a, b, c = np.zeros(F), np.zeros(F), np.zeros(F)
    stamp = np.full(F, -1)
    for i in range(width):
        lo, hi = bounds[i], bounds[i + 1]
        if lo == hi:
            continue
        ps = par[lo:hi]
        stamp[ps] = i
        a[ps], b[ps], c[ps] = ca[lo:hi], cb[lo:hi], cc[lo:hi]
        faces = ps if mesh.nf == F else np.flatnonzero(stamp[mesh.parent[:mesh.nf]] == i)
        _split(mesh, faces, a, b, c)


def _rank2(Mx: np.ndarray, My: np.ndarray):
    """Ranks (0..2) of the (k, 2) matrices ``[Mx[f], My[f]]``, with numpy's ``matrix_rank``
    tolerance, and their Frobenius norms.

    The 2x2 Gram matrix settles the clear cases (its smaller singular value is accurate to about
    ``1e-8`` of the larger); the rest go to an SVD."""
    g00, g11, g01 = (Mx * Mx).sum(1), (My * My).sum(1), (Mx * My).sum(1)
    tr = g00 + g11
    det = g00 * g11 - g01 * g01
    lmax = 0.5 * (tr + np.sqrt(np.maximum(tr * tr - 4 * det, 0.0)))
    out = (lmax > 0).astype(np.int64) + (det > 1e-12 * lmax * lmax)
    doubt = np.flatnonzero((out == 1) & (det > -1e-12 * lmax * lmax) & (lmax > 0))
    if len(doubt):
        out[doubt] = np.linalg.matrix_rank(np.stack([Mx[doubt], My[doubt]], axis=2))
    return out, np.sqrt(tr)


def _advance(L, parent, cx, cy, rad, W_next, b_next, bound):
    """For the faces of a finished layer: pattern bits (at the centroids), the rank of the map to
    the layer's output, the next layer's lines ``(3, faces, width)`` (or the output map) and
    their candidate cuts (see `_candidates`; None for the output layer). ``bound`` bounds the
    Frobenius norm of ``|W_l| ... |W_1|``, so ``bound * |W_next[i]| * gamma`` bounds the error of
    every entry of the next lines' normals."""
    F, k = len(parent), L.shape[2]
    m = W_next.shape[0]
    bits = np.empty((F, k), dtype=bool)
    ranks = np.empty(F, dtype=np.int64)
    nxt = np.empty((3, F, m))
    err = (gamma(W_next.shape[1] + 2) * bound * np.linalg.norm(W_next, axis=1))[None, :]
    cand = []
    WT = np.ascontiguousarray(W_next.T)
    for s in range(0, F, _CHUNK):
        sl = slice(s, s + _CHUNK)
        p = parent[sl]
        Lx, Ly, Lc = L[0][p], L[1][p], L[2][p]
        on = (Lx * cx[sl, None] + Ly * cy[sl, None] + Lc) > 0
        bits[sl] = on
        Lx *= on
        Ly *= on
        Lc *= on
        ranks[sl], _ = _rank2(Lx, Ly)
        np.matmul(Lx, WT, out=nxt[0, sl])
        np.matmul(Ly, WT, out=nxt[1, sl])
        np.matmul(Lc, WT, out=nxt[2, sl])
        nxt[2, sl] += b_next
        if rad is not None:
            cand.append(_candidates(nxt[0, sl], nxt[1, sl], nxt[2, sl], err, cx[sl], cy[sl], rad[sl], s))
    return bits, ranks, nxt, cand


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
    per_layer: list
    tol: float
    seconds: float = 0.0
    bound: float = 1.0  # bounds ||W_L| ... |W_1||_F: error bounds of the output maps' entries
    _edges: tuple = field(default=None, repr=False)

    @property
    def n_faces(self) -> int:
        return len(self.areas)

    def __len__(self):
        return self.n_faces

    def face(self, f: int) -> np.ndarray:
        """The (k, 2) vertices of face ``f``, counter-clockwise."""
        return self.vertices[self.face_vertices[self.face_start[f]:self.face_start[f + 1]]]

    def polygons(self) -> list:
        """Every face's vertex array (for plotting)."""
        return np.split(self.vertices[self.face_vertices], self.face_start[1:-1])

    def radii(self) -> np.ndarray:
        """Distance from each centroid to its face's boundary (radius of a ball inside the face)."""
        face, u, w = _loop_edges(self.face_start, self.face_vertices)
        p, q = self.vertices[u], self.vertices[w]
        d = q - p
        r = self.centroids[face] - p
        dist = (d[:, 0] * r[:, 1] - d[:, 1] * r[:, 0]) / np.hypot(d[:, 0], d[:, 1])
        return np.minimum.reduceat(dist, self.face_start[:-1])

    def interior_edges(self):
        """Edges shared by two faces: ``(face_a, face_b, segments)``, segments (m, 2, 2)."""
        if self._edges is None:
            self._edges = _shared_edges(self.vertices, self.face_start, self.face_vertices)
        return self._edges

    def predicted(self) -> np.ndarray:
        """Per face, the network's class at the centroid (argmax, or output > 0 for one output)."""
        y = np.einsum("fok,fk->fo", self.A, self.centroids) + self.c
        return y.argmax(axis=1) if y.shape[1] > 1 else (y[:, 0] > 0).astype(np.int64)


def _loop_edges(face_start, face_vertices):
    """Every directed loop edge: (face, from-vertex, to-vertex)."""
    v = face_vertices
    starts, lens = face_start[:-1], np.diff(face_start)
    nxt = np.arange(1, len(v) + 1)
    nxt[starts + lens - 1] = starts
    return np.repeat(np.arange(len(lens)), lens), v, v[nxt]


def _shared_edges(vertices, face_start, face_vertices):
    """Edges shared by two faces, matched exactly by their vertex-id pairs (the mesh gives both
    faces of an edge the same vertex ids): ``(face_a, face_b, segments (m, 2, 2))``."""
    face, u, w = _loop_edges(face_start, face_vertices)
    key = np.minimum(u, w) * np.int64(len(vertices)) + np.maximum(u, w)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    same = np.flatnonzero(ks[1:] == ks[:-1])
    i, j = order[same], order[same + 1]
    return face[i], face[j], np.stack([vertices[u[i]], vertices[w[i]]], axis=1)


def class_pieces(part: "PlanarPartition"):
    """The faces cut where the predicted class changes: every face is cut by the lines where two
    classes' affine maps tie (``k > 1`` outputs) or by the zero line of its output (one output),
    and each piece takes the class at its centroid (argmax, or ``y > 0``).

    Returns ``(vertices, face_start, face_vertices, parent_face, classes)`` (CSR loops as in
    `PlanarPartition`)."""
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


def decision_boundary(part: "PlanarPartition"):
    """The exact decision boundary: for ``k > 1`` outputs where the predicted class (argmax)
    changes, for one output the zero level set; the edges between `class_pieces` of different
    classes, inside faces and across them.

    Returns
    -------
    segments : (m, 2, 2) segment end points.
    classes : (m, 2) the classes on the two sides.
    """
    verts, start, loops, _, cls = class_pieces(part)
    fa, fb, seg = _shared_edges(verts, start, loops)
    diff = cls[fa] != cls[fb]
    return seg[diff], np.stack([cls[fa], cls[fb]], axis=1)[diff]


def _polygon(vertices) -> np.ndarray:
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


def planar_partition(network: Network, polygon_vertices, tol: float = DEFAULT_TOL) -> PlanarPartition:
    """Exact activation regions of a 2-input ``network`` inside a convex polygon.

    Parameters
    ----------
    network : `Network` with ``input_dim == 2`` (slice bigger ones with `nncells.slices`).
    polygon_vertices : (k, 2) vertices of a convex polygon, in order (either orientation).
    tol : the contract's threshold (`nncells.contract`), kept with the partition; cuts are
        decided by error bounds, and `planar_batch` drops the faces the contract drops.
    """
    if not isinstance(network, Network):
        raise NNCellsError(f"expected a Network, got {type(network).__name__}")
    if network.input_dim != 2:
        raise NNCellsError(f"planar partitions need a 2-input network, got {network.input_dim} inputs")
    if not (tol > 0 and np.isfinite(tol)):
        raise NNCellsError(f"tolerance must be a positive number, got {tol}")
    t0 = time.perf_counter()
    P = _polygon(polygon_vertices)
    mesh = _Mesh(P)
    Ws, bs = network.weights, network.biases
    L = np.stack([Ws[0][:, 0], Ws[0][:, 1], bs[0]])[:, None, :]
    _, cx, cy, rad = mesh.geometry()
    cand = [_candidates(L[0], L[1], L[2], np.zeros((1, 1)), cx, cy, rad, 0)]  # exact weights
    bound = float(np.linalg.norm(Ws[0]))
    bits, ranks, parents, per_layer = [], [], [], []
    n_layers = len(Ws) - 1
    for layer in range(n_layers):
        _cut_layer(mesh, cand, L.shape[2])
        parents.append(mesh.parent[:mesh.nf].copy())
        _, cx, cy, rad = mesh.geometry()
        last = layer == n_layers - 1
        bl, rl, L, cand = _advance(L, parents[-1], cx, cy, None if last else rad, Ws[layer + 1],
                                   bs[layer + 1], bound)
        bound *= float(np.linalg.norm(Ws[layer + 1]))
        bits.append(bl)
        ranks.append(rl)
        per_layer.append(mesh.nf)
    area, cx, cy, _ = mesh.geometry()
    F = mesh.nf
    # Ancestors in every layer's partition: compose the parent maps backwards.
    anc = [np.arange(F)]
    for p in parents[:0:-1]:
        anc.insert(0, p[anc[0]])
    patterns = (np.concatenate([bl[a] for bl, a in zip(bits, anc)], axis=1) if n_layers
                else np.zeros((F, 0), dtype=bool))
    rk = np.stack([r[a] for r, a in zip(ranks, anc)], axis=1) if n_layers else np.zeros((F, 0), np.int64)
    L = np.broadcast_to(L, (3, F, L.shape[2])) if n_layers == 0 else L
    start = np.append(mesh.start[:F], mesh.nl)
    return PlanarPartition(network, P, np.stack([mesh.X[:mesh.nv], mesh.Y[:mesh.nv]], axis=1),
                           start, mesh.loops[:mesh.nl].copy(), patterns, area, np.stack([cx, cy], axis=1),
                           rk, np.stack([L[0], L[1]], axis=2), L[2].copy(),
                           per_layer, float(tol), time.perf_counter() - t0, bound)


def planar_batch(network: Network, box_lo, box_hi, tol: float = DEFAULT_TOL):
    """The regions of a 2-input ``network`` in the box ``[box_lo, box_hi]`` as an engine `Batch`.

    Points are the face centroids and radii the distance from the centroid to the face's
    boundary. Faces are kept by the contract of `nncells.contract` (as the engine keeps them):
    the centroid's ball proves most; the doubtful ones are settled by the contract's LP.
    """
    from .contract import Rule
    from .domain import Box
    from .engine import Batch
    box = Box(box_lo, box_hi).resolve(2)
    (x0, y0), (x1, y1) = box.lo, box.hi
    part = planar_partition(network, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], tol)
    rule = Rule(tol)
    points, r = part.centroids.copy(), part.radii()
    keep = rule.witnesses(points, r)
    for f in np.flatnonzero(~keep):
        x, depth = rule.deepest(*_face_rows(part.face(f)))
        if x is not None:
            keep[f] = True
            points[f], r[f] = x, depth
    return Batch(part.patterns[keep], points[keep], r[keep], part.ranks[keep])


def _face_rows(poly: np.ndarray):
    """Unit-normal half-spaces ``A x <= c`` of a CCW convex polygon."""
    d = np.roll(poly, -1, axis=0) - poly
    A = np.stack([d[:, 1], -d[:, 0]], axis=1)
    n = np.hypot(A[:, 0], A[:, 1])
    ok = n > 0
    A = A[ok] / n[ok, None]
    return A, np.einsum("ij,ij->i", A, poly[ok])
