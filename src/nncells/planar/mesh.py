"""Exact planar subdivision of a 2-input ReLU network: a mesh of convex polygons split neuron
by neuron, vectorised with numpy over all faces at once (no LP), in the spirit of regioncam.
Linear (pass-through) units cut nothing: their lines are never candidates, their bits are True
(the compiled core has none: networks with linear units are split by the numpy twin).

The mesh holds a vertex pool (shared vertices with ids) and one counter-clockwise vertex loop per
face. Layer ``l`` sees every face of layer ``l - 1`` (its *parent*) through that parent's affine
map, so each neuron of layer ``l`` is a line per parent. For neuron ``i`` only the faces whose
parent's circumscribed disc meets the line are visited; a face is split iff it has vertices
strictly on both sides, farther from the line than the error bound of their values there
(a multiple of `nncells.geometry.contract.gamma`). Vertices within that bound are kept as they are and shared by
both halves, so lines through existing vertices, neurons
parallel to a domain edge and repeated neurons make no sliver faces. A new vertex on edge
``(u, w)`` is keyed by the pair, so both faces sharing the edge get the same vertex id and the
mesh stays a valid subdivision (adjacency is then an exact match of vertex-id pairs).

Lines are normalised so vertex values are Euclidean distances in the plane. A line is constant
on a face only when both entries of its normal are within the forward error bound of the
products that computed them (``gamma * max_j (|W_l| ... |W_0|)[i, j]``, `line_errors`).
Faces are kept or dropped by the contract of `nncells.geometry.contract` (`planar_batch`).

`split_layers` runs the whole layer-by-layer split in the compiled core (native/planar.cpp,
`nncells.kernels.planar`) when `nncells.kernels.backend` is ``native``; the numpy code here is its
reference twin (same faces, numbered alike; ``_config.BACKEND = "numpy"`` selects it).
"""
from __future__ import annotations

import numpy as np

from nncells import kernels
from nncells.geometry.contract import gamma

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

    def geometry(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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
    _, first, inv = np.unique(key, return_index=True, return_inverse=True)
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


def _candidates(Lx: np.ndarray, Ly: np.ndarray, Lc: np.ndarray, err: float, cx: np.ndarray, cy: np.ndarray,
                rad: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
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


def _advance(L, parent, cx, cy, rad, W_next, b_next, err, linear, linear_next):
    """For the faces of a finished layer: pattern bits (at the centroids), the rank of the map to
    the layer's output, the next layer's lines ``(3, faces, width)`` (or the output map) and
    their candidate cuts (see `_candidates`; None for the output layer). ``err`` (one per next
    neuron, `line_errors`) bounds the error of every entry of the next lines' normals. The
    finished layer's ``linear`` units pass their values on (bit True); the next layer's
    (``linear_next``) cut nothing."""
    F, k = len(parent), L.shape[2]
    m = W_next.shape[0]
    bits = np.empty((F, k), dtype=bool)
    ranks = np.empty(F, dtype=np.int64)
    nxt = np.empty((3, F, m))
    err = None if err is None else np.asarray(err)[None, :]
    cand = []
    WT = np.ascontiguousarray(W_next.T)
    for s in range(0, F, _CHUNK):
        sl = slice(s, s + _CHUNK)
        p = parent[sl]
        Lx, Ly, Lc = L[0][p], L[1][p], L[2][p]
        on = ((Lx * cx[sl, None] + Ly * cy[sl, None] + Lc) > 0) | linear
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
            cand.append(_relu_only(_candidates(nxt[0, sl], nxt[1, sl], nxt[2, sl], err, cx[sl], cy[sl], rad[sl], s),
                                   linear_next))
    return bits, ranks, nxt, cand


def _relu_only(cand, linear):
    """The candidate cuts of `_candidates` less those of linear units (they cut nothing)."""
    if linear is None or not linear.any():
        return cand
    keep = ~linear[cand[0]]
    return tuple(a[keep] for a in cand)


def line_errors(weights):
    """Error bounds of the lines' normals, from the entrywise products ``B_l = |W_l| ... |W_0|``.

    ``B_l`` bounds ``|M|`` entrywise on every face (``M``: the face's map to layer ``l``'s
    pre-activations), and ``gamma(n_l) B_l`` its rounding error (``n_l``: the terms summed along a
    path to layer ``l``). Entrywise, so that the bounds scale as the layer's own numbers: a column
    of large numbers (the lifted whole space's biases, ``b_l`` times ``s^(l+1)`` when the network's
    units change by ``s``) does not blur the others, as a product of Frobenius norms would.

    Returns
    -------
    line_err : one array per hidden layer: empty for the first (its weights are exact), then
        ``gamma(n_l) max_j B_l[i, j]`` for each neuron ``i`` of layer ``l >= 1``.
    bound : the largest entry of ``B_L`` (the output layer's): bounds the output maps' entries.
    """
    B = np.abs(weights[0])
    n = weights[0].shape[1]
    line_err = [np.zeros(0)]  # the first layer's weights are exact
    for W in weights[1:]:
        n += W.shape[1]
        B = np.abs(W) @ B
        line_err.append(gamma(n + 2) * B.max(axis=1))
    return line_err[:-1], float(B.max(initial=0.0))


def _numpy_layers(P, Ws, bs, linear=None):
    """The numpy twin of the compiled split: the mesh of polygon ``P`` cut by every hidden layer
    of ``Ws``/``bs`` (``linear``: masks of the linear units, which cut nothing); returns what
    `split_layers` returns."""
    n_layers = len(Ws) - 1
    linear = [np.zeros(W.shape[0], bool) for W in Ws[:-1]] if linear is None else list(linear)
    mesh = _Mesh(P)
    L = np.stack([Ws[0][:, 0], Ws[0][:, 1], bs[0]])[:, None, :]
    _, cx, cy, rad = mesh.geometry()
    cand = [_relu_only(_candidates(L[0], L[1], L[2], np.zeros((1, 1)), cx, cy, rad, 0),  # exact weights
                       linear[0] if n_layers else None)]
    line_err, bound = line_errors(Ws)
    bits, ranks, parents, per_layer = [], [], [], []
    for layer in range(n_layers):
        _cut_layer(mesh, cand, L.shape[2])
        parents.append(mesh.parent[:mesh.nf].copy())
        _, cx, cy, rad = mesh.geometry()
        last = layer == n_layers - 1
        bl, rl, L, cand = _advance(L, parents[-1], cx, cy, None if last else rad, Ws[layer + 1],
                                   bs[layer + 1], None if last else line_err[layer + 1], linear[layer],
                                   None if last else linear[layer + 1])
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
    return (np.stack([mesh.X[:mesh.nv], mesh.Y[:mesh.nv]], axis=1), start, mesh.loops[:mesh.nl].copy(),
            patterns, rk, np.stack([L[0], L[1]], axis=2), L[2].copy(), area, np.stack([cx, cy], axis=1),
            per_layer, bound)


def split_layers(P, weights, biases, backend: str | None = None, linear=None):
    """The mesh of the convex CCW polygon ``P`` split by every hidden layer of a 2-input network,
    in the compiled core when `nncells.kernels.backend` (of ``backend``) is ``native``, else in
    numpy (the reference; both give the same faces, numbered alike).

    Parameters
    ----------
    P : (k, 2) vertices of a convex polygon, counter-clockwise.
    weights, biases : every layer of the network, the output layer last.
    linear : optional masks of the linear (pass-through) units, one per hidden layer
        (`nncells.network.Network.linear`): they cut nothing and their bits are True. The
        compiled core has no linear units: a network with any is split in numpy.

    Returns
    -------
    vertices (nv, 2), face_start (F + 1,), face_vertices (CSR loops), patterns (F, n_hidden)
    bool, ranks (F, hidden layers), A (F, out, 2), c (F, out), areas (F,), centroids (F, 2),
    per_layer (list), bound (of every entry of ``|W_L| ... |W_1|``, `line_errors`).

    Examples
    --------
    >>> import numpy as np
    >>> import nncells
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> square = np.array([[-1.0, -1], [1, -1], [1, 1], [-1, 1]])
    >>> out = split_layers(square, net.weights, net.biases)
    >>> out[3].shape, out[9]
    ((18, 12), [8, 18])

    A linear unit cuts nothing: ``x_1`` carried beside ``relu(x_2)`` leaves two faces, not four.

    >>> W, b = [np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)]
    >>> out = split_layers(square, W, b, linear=[np.array([True, False])])
    >>> sorted(out[3].tolist()), out[9]
    ([[True, False], [True, True]], [2])
    """
    n_layers = len(weights) - 1
    has_linear = linear is not None and any(np.any(m) for m in linear)
    if n_layers == 0 or has_linear or kernels.backend(backend) != "native":
        return _numpy_layers(P, weights, biases, linear)
    from nncells.kernels.planar import partition
    line_err, bound = line_errors(weights)
    *out, per_layer = partition(P, weights, biases, line_err, gamma(3))
    return (*out, per_layer.tolist(), bound)
