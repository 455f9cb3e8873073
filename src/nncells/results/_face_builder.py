"""The construction behind `nncells.results.faces`: one region's exact vertices and its face
lattice (`Builder`), faces keyed by bit sets; see that module's docstring for the method and the
checks. In two dimensions a region whose proposed vertices do not make a polygon is made again
from its rows, exactly (`Builder._polygon_vertices`, `nncells.results._polygon`).
"""
from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

from nncells import kernels
from nncells.errors import NNCellsError
from nncells.geometry.contract import gamma
from nncells.kernels.lattice import MAX_VERTICES, lattice as compiled_lattice
from nncells.results import _lattice, _polygon
from nncells.results._exact import ExactNetwork, combination, domain_rows, nonsingular
from nncells.results._face_keys import pack_keys
from nncells.results._near_rows import float_rows, independent, nearest, proven_independent
from nncells.results.adjacency import unit_domain_rows

if TYPE_CHECKING:
    import numpy.typing as npt

    from nncells.results.result import EnumerationResult

CHUNK = 2 ** 23   # float64 numbers of rows held at once: regions a chunk (`chunk`) times rows times d
FLOAT_SIGNS = True   # signs at a vertex in float64 where the error bound allows (tests: False)
MEMO = 200_000       # solved vertices and exact unit rows remembered (then forgotten at once)
_SPARE = 3           # rows beyond d tried where the d nearest to a float vertex meet off the region
_MORE = 8            # rows beyond those sorted by their distance to a float vertex (then all are)


def chunk(net) -> int:
    """How many regions' rows `nncells.results.faces.poset_part` pulls back at once (256 to
    8,192: about ``CHUNK`` numbers, twice, for the rows and their error bounds)."""
    return int(np.clip(CHUNK // max(1, int(sum(net.widths)) * net.input_dim), 256, 8192))


def bits(mask) -> int:
    """A bool array as a Python int (bit i = mask[i])."""
    return int.from_bytes(np.packbits(np.asarray(mask, dtype=bool), bitorder="little").tobytes(), "little")


def _closed(key, active, in_domain) -> bool:
    """Whether a point (its key) lies in the closure of the region whose active ReLU units are the
    bit set ``active``: no unit positive where the region's is off or negative where it is on,
    and the point in the domain."""
    return not (key[0] & ~active or key[1] & active or not in_domain)


def _in_closure(key, active, in_domain, r) -> None:
    """Refuse a vertex (its key) outside the closure of region ``r`` (`_closed`)."""
    if not _closed(key, active, in_domain):
        raise NNCellsError(f"faces: a vertex of region {r} found by qhull is not in the region's "
                           "closure (float64 cannot resolve this complex)")


class _RegionRows:
    """One region's constraints (its ReLU units' pre-activations, then the domain's rows), exact on
    demand: a row alone (`ExactNetwork.unit_row`), and their signs at an exact point, decided in
    float64 where the error bound allows it (the point rounded, the rows' rounding errors of
    `nncells.results._facets.cell_rows`) and exactly where it does not (the vertex's own rows always)."""

    def __init__(self, b, pattern, Hf, gf, eH, eg):
        self.b, self.pattern, self.Hf, self.gf, self.eH, self.eg = b, pattern, Hf, gf, eH, eg
        self.units = np.flatnonzero(b.relu)
        self.full = None

    def row(self, i):
        """Constraint ``i`` as ``(a, c)``, exactly: ``a x + c``, times a positive number."""
        nu = len(self.units)
        if i >= nu:
            return self.b.Gd[i - nu], -self.b.hd[i - nu]
        # a unit's row depends on the pattern of the layers before its own only: shared by regions
        key = (i, self.pattern[:self.b.prefix[i]].tobytes())
        row = self.b.rows.get(key)
        if row is None:
            if len(self.b.rows) > MEMO:
                self.b.rows.clear()
            row = self.b.rows[key] = self.b.exact.unit_row(self.pattern, int(self.units[i]))
        return row

    def all(self):
        """Every constraint, exactly: ``(R, c)`` object arrays (the layer maps)."""
        if self.full is None:
            b = self.b
            maps = b.exact.layer_maps(self.pattern)
            Z = np.concatenate([M for M, _ in maps]) if maps else np.zeros((0, b.d), dtype=object)
            z = np.concatenate([m for _, m in maps]) if maps else np.zeros(0, dtype=object)
            self.full = (np.concatenate([Z[b.relu], b.Gd]) if len(b.Gd) else Z[b.relu],
                         np.concatenate([z[b.relu], -b.hd]) if len(b.hd) else z[b.relu])
        return self.full

    def signs(self, num, den, point):
        """``(pos, neg)`` bool arrays over the constraints at the exact point ``num / den``
        (``point``: its float64 rounding)."""
        b, nu = self.b, len(self.units)
        pos, neg = np.zeros(nu + len(b.hd), bool), np.zeros(nu + len(b.hd), bool)
        if len(b.hd):                                  # the domain's rows: few, exact
            val = np.asarray(np.dot(b.Gd, num), dtype=object) - b.hd * den
            pos[nu:], neg[nu:] = val > 0, val < 0
        if not nu:
            return pos, neg
        if self.full is not None or not (np.all(np.isfinite(self.Hf)) and np.all(np.isfinite(self.gf))):
            R, c = self.all()
            val = np.asarray(np.dot(R[:nu], num), dtype=object) + c[:nu] * den
            pos[:nu], neg[:nu] = val > 0, val < 0
            return pos, neg
        z = self.Hf @ point + self.gf
        ax = np.abs(point)
        # |z_i(v) - fl(H_i fl(v) + g_i)|: the rows' own rounding (eH, eg), the point's rounding
        # (one unit of 2^-52 relative per coordinate) and the product's (gamma(d + 1))
        err = (self.eH @ ax + self.eg + (np.abs(self.Hf) + self.eH) @ ax * 2.0 ** -52
               + gamma(b.d + 1) * (np.abs(self.Hf) @ ax + np.abs(self.gf)))
        sure = (np.abs(z) > 4.0 * err) & FLOAT_SIGNS
        pos[:nu], neg[:nu] = sure & (z > 0), sure & (z < 0)
        for i in np.flatnonzero(~sure):                # near zero: exactly
            a, c = self.row(int(i))
            v = int(np.dot(a, num)) + int(c) * den
            pos[i], neg[i] = v > 0, v < 0
        return pos, neg


class Builder:
    """The faces of some regions of a result (`poset_part`), added in chunks (`add`) with their
    vertices and rows (`nncells.results.faces.region_vertices`)."""

    def __init__(self, result: EnumerationResult) -> None:
        self.result, self.net = result, result.network
        self.d = self.net.input_dim
        self.exact = ExactNetwork.of(self.net)
        Gd, hd = domain_rows(result.domain)
        self.Gd, self.hd = Gd, hd
        self.Ad, self.bd = unit_domain_rows(result.domain)
        self.relu = ~np.asarray(self.net.linear_mask, dtype=bool)
        self.nu = int(self.relu.sum())
        self.keys: dict = {}            # key (units +, units -, on the domain's rows) -> face id
        self.dim, self.points, self.region, self.verts = [], [], [], []
        self.inc: set = set()
        self.solved: dict = {}          # (rows, pattern before their layers) -> a vertex's (id, key, zeros)
        self.near: dict = {}            # a float vertex's grid cell -> the exact vertices found there
        self.origin = self.grid = None  # that grid (`add`)
        self.native = kernels.backend() == "native"
        self.rows: dict = {}            # (unit, pattern before its layer) -> its exact row
        self._bound = None              # the domain inside (-m, m)^2 (`_domain_bound`)
        # per constraint (ReLU units, then domain rows): where the pattern bits its piece depends on end
        starts = np.concatenate([np.full(w, sl.start) for w, sl in zip(self.net.widths, self.net.layer_slices)]) \
            if self.net.widths else np.zeros(0, np.int64)
        self.prefix = starts[self.relu].tolist() + [0] * len(self.hd)

    def add(self, regions: npt.ArrayLike, vt: dict[str, np.ndarray]) -> None:
        """The faces of ``regions``, from their vertices and rows ``vt`` (`region_vertices`:
        ``rows`` in the order of ``regions``)."""
        if len(vt["rays"]) or len(vt["lines"]):
            raise NNCellsError("faces: qhull could not give every region's vertices (a domain far beyond the "
                               "network's own scale is lifted, and its regions' facets are found otherwise); "
                               "use a smaller box, or the whole space (topology)")
        if len(vt["bad"]):
            raise NNCellsError(f"faces: {len(vt['bad'])} region(s) without an interior point")
        regions = np.asarray(regions, dtype=np.int64)
        if not len(regions):
            return
        V, VR = vt["vertex"], vt["vertex_region"]
        if self.origin is None and len(V):
            # the grid of `near`: 2^30 cells across the first chunk's extent (a cell only proposes a point)
            self.origin = V.min(axis=0)
            extent = float(np.max(V.max(axis=0) - self.origin))
            self.grid = 2.0 ** 30 / extent if extent > 0 and np.isfinite(extent) else 1.0
        order = np.argsort(VR, kind="stable")
        starts = np.searchsorted(VR[order], regions)
        stops = np.searchsorted(VR[order], regions, side="right")
        L, d, rl = len(self.net.widths), self.d, self.relu
        n = len(regions)
        if not L:
            H = eH = np.zeros((n, 0, d))
            g, eg, zero = np.zeros((n, 0)), np.zeros((n, 0)), np.zeros((n, 0), bool)
        else:
            H, g, zero, eH, eg = vt["rows"]
        for k, r in enumerate(regions.tolist()):
            idx = order[starts[k]:stops[k]]
            self._region(r, V[idx], H[k][rl], g[k][rl], zero[k][rl], eH[k][rl], eg[k][rl])

    def part(self) -> dict:
        """The faces of the regions added, keyed for `merge_parts`."""
        d = self.d
        vlen = np.array([len(v) for v in self.verts], dtype=np.int64)
        vflat = np.fromiter((v for vs in self.verts for v in vs), dtype=np.int64, count=int(vlen.sum()))
        dim = np.array(self.dim, dtype=np.int8)
        # a face's point: the mean of its vertices' (a vertex's own: the only one given)
        at = np.zeros((len(dim), d))
        if (dim == 0).any():
            at[dim == 0] = np.array([p for p, k in zip(self.points, self.dim) if k == 0], dtype=np.float64)
        points = np.add.reduceat(at[vflat], np.cumsum(vlen) - vlen, axis=0) / vlen[:, None] if len(dim) else at
        return {"keys": pack_keys(list(self.keys), self.nu, len(self.hd)), "dim": dim, "points": points,
                "region": np.array(self.region, dtype=np.int64), "vflat": vflat, "vlen": vlen,
                "inc": np.array(sorted(self.inc), dtype=np.int64).reshape(-1, 2)}

    # -- one region: its exact vertices, then its face lattice ------------------------------------
    def _region(self, r, Vf, Hf, gf, zf, eH, eg):
        pattern = np.asarray(self.result.patterns[r], dtype=bool)
        rows = _RegionRows(self, pattern, Hf, gf, eH, eg)
        # float64 rows only propose which rows meet at a vertex: the units' from the batched
        # pull-back (normals within its error bound of zero left out), the exact ones rescaled
        # row by row where those overflow
        Rf = np.concatenate([Hf, self.Ad]) if len(self.Ad) else Hf
        cf = np.concatenate([gf, -self.bd]) if len(self.bd) else gf
        bounded = np.all(np.isfinite(Rf)) and np.all(np.isfinite(cf))    # (eH bounds Rf's units)
        if not bounded:
            Rf, cf = float_rows(*rows.all(), self.d)
        nrm = np.linalg.norm(Rf, axis=1)
        live = nrm > 0
        live[:len(zf)] &= ~zf
        active = bits(pattern[self.relu])
        U = Rf[live] / nrm[live, None]                 # unit rows; their distances to the vertices
        dist = np.abs(U @ Vf.T + (cf[live] / nrm[live])[:, None])
        at = np.flatnonzero(live)
        rank = at[nearest(dist, self.d + _SPARE + _MORE)]
        U = Rf / np.where(live, nrm, 1.0)[:, None]
        # the d nearest rows of every vertex at once: independent where a QR of them finds each
        # beyond 1e-8 of the span of those before it (the test `_vertex` makes row by row)
        d = self.d
        first, proven = [None] * len(rank), [False] * len(rank)
        if rank.shape[1] >= d:
            near = rank[:, :d]
            Rq = np.linalg.qr(np.swapaxes(U[near], 1, 2), mode="r")
            ok = (np.abs(np.diagonal(Rq, axis1=1, axis2=2)) > 1e-8).all(axis=1)
            first = [row if good else None for row, good in zip(near.tolist(), ok.tolist())]
            if bounded:
                proven = (ok & proven_independent(U[near], np.concatenate([eH, np.zeros((len(self.Ad), d))])[near]
                                                  / nrm[near][:, :, None])).tolist()
        rank = rank.tolist()
        try:
            ids, keys, zero = [], [], []
            for j, (order, chosen, x) in enumerate(zip(rank, first, Vf)):
                more = (lambda j=j: at[np.argsort(dist[:, j], kind="stable")].tolist()) \
                    if len(order) < len(at) else None
                vid, key, z = self._vertex(order, chosen, x, rows, U, pattern, active, r, more, proven[j])
                if vid not in ids:
                    ids.append(vid)
                    keys.append(key)
                    zero.append(z)
            lattice = self._lattice(r, zero)
        except NNCellsError:
            if self.d != 2:
                raise
            # qhull's vertices are not the polygon's (two a short edge apart merged into one):
            # the polygon itself, exactly, from the rows near them (`_polygon_vertices`)
            ids, keys, zero = self._polygon_vertices(r, rank, rows, pattern, active)
            lattice = self._lattice(r, zero)
        self._commit(r, ids, keys, lattice)

    def _polygon_vertices(self, r, rank, rows, pattern, active):
        """The vertices of region ``r`` (2 inputs), exactly, for `_region` where qhull's are not
        its vertices: its polygon as the intersection of the domain's rows and the rows nearest
        to qhull's vertices (`nncells.results._polygon`); a vertex of it outside the region's
        closure adds the rows it violates, until none does. Then the polygon holds the region
        (their rows are the region's) and lies in its closure (its vertices do): it is the
        region's closure. Returns ``(ids, keys, zero)`` as `_vertex` gives them, in order."""
        nu, units = self.nu, pattern[self.relu]

        def inward(i):                 # the row as a line >= 0 on the region, integers
            a, c = rows.row(i)
            s = -1 if i >= nu or not units[i] else 1
            return s * int(a[0]), s * int(a[1]), s * int(c)

        lines: dict = {}
        poly = _polygon.square(self._domain_bound())
        todo = sorted(set(range(nu, nu + len(self.hd))).union(*(o[:self.d + _SPARE] for o in rank)))
        while todo:
            for i in todo:
                line = lines[i] = inward(i)
                if line[0] == 0 and line[1] == 0:           # constant on the plane
                    if line[2] < 0:
                        poly = None
                elif poly is not None:
                    poly = _polygon.clip(poly, line, i, lines)
                if poly is None:
                    raise NNCellsError(f"faces: region {r} has no interior in exact arithmetic")
            got, todo = [], set()
            for (X, Y, W), _ in poly:
                num = np.array([X, Y], dtype=object)
                point = np.array([float(Fraction(X, W)), float(Fraction(Y, W))])
                pos, neg = rows.signs(num, W, point)
                key, in_domain = self._key(pos, neg)
                if not _closed(key, active, in_domain):
                    todo.update(np.flatnonzero(np.concatenate([pos[:nu] & ~units, neg[:nu] & units,
                                                               pos[nu:]])).tolist())
                got.append((point, pos, neg, key))
            if todo & set(lines):      # a row already cut violated: cannot be, refuse
                raise NNCellsError(f"faces: region {r}'s polygon could not be resolved exactly")
            todo = sorted(todo)
        ids, keys, zero = [], [], []
        for point, pos, neg, key in got:
            vid = self._vertex_id(key, point)
            if vid not in ids:
                ids.append(vid)
                keys.append(key)
                zero.append(bits(~(pos | neg)))
        return ids, keys, zero

    def _domain_bound(self) -> int:
        """An integer ``m`` with the domain inside the open square ``(-m, m)^2``: beyond every
        point where two of its rows meet (its vertices among them)."""
        if self._bound is None:
            rows = [(int(a[0]), int(a[1]), -int(h)) for a, h in zip(self.Gd, self.hd)]
            m = 1
            for p, q in combinations(rows, 2):
                w = _polygon.meet(p, q)
                if w is not None:
                    m = max(m, -(-abs(w[0]) // w[2]), -(-abs(w[1]) // w[2]))
            self._bound = m + 1
        return self._bound

    def _vertex(self, order, chosen, x, rows, U, pattern, active, r, more=None, proven=False):
        """The exact vertex of region ``r`` where the rows ``order`` (nearest to the float vertex
        ``x`` first) meet: (face id, key, the bit set of the constraints vanishing there). The
        first ``d`` independent rows (``chosen``, where `_region` found the ``d`` nearest so) are
        solved exactly, unless these rows with the same pattern before their layers (so the same
        affine pieces) were solved already, or an exact vertex found near ``x`` (by any region)
        lies on them and in this region's closure and they are independent (``proven`` by
        `proven_independent` in float64, else `nonsingular` exactly): the same point, whose
        signs are the same whichever region reaches it. ``order`` may be the first rows only;
        ``more()`` then gives them all."""
        d = self.d
        chosen, Q = chosen or [], []
        proven = proven and bool(chosen)
        if not chosen:
            independent(order, U, Q, chosen, d)
            if len(chosen) < d and more is not None:
                independent(more()[len(order):], U, Q, chosen, d)
        if len(chosen) < d:
            raise NNCellsError(f"faces: a vertex of region {r} could not be resolved exactly "
                               "(float64 cannot separate its rows)")
        memo = (tuple(sorted(chosen)), pattern[:max(self.prefix[i] for i in chosen)].tobytes())
        hit = self.solved.get(memo)
        if hit is not None and _closed(hit[1], active, True):
            return hit
        cell = tuple(np.floor((x - self.origin) * self.grid).astype(np.int64).tolist())
        near = self.near.get(cell)
        if near:
            A = [rows.row(i) for i in chosen]
            for vid, key, z, num, den, in_domain in near:
                if _closed(key, active, in_domain) and all(int(np.dot(a, num)) + int(c) * den == 0 for a, c in A) \
                        and (proven or nonsingular([a for a, _ in A])):
                    return vid, key, z
        got = self._solve(chosen, rows, proven)
        greedy = got is not None and _closed(got[3], active, got[4])
        if not greedy:
            # the nearest rows are not the vertex's (another row passes within float64's reach
            # of it): every d of the few nearest, nearest first, until one meets in the closure
            for c in combinations([int(i) for i in order[:d + _SPARE]], d):
                other = self._solve(list(c), rows) if list(c) != chosen else None
                if other is not None and _closed(other[3], active, other[4]):
                    got = other
                    break
        if got is None:                  # exactly dependent rows (float64 said otherwise): no vertex
            raise NNCellsError(f"faces: a vertex of region {r} could not be resolved exactly "
                               "(float64 cannot separate its rows)")
        point, pos, neg, key, in_domain, num, den = got
        _in_closure(key, active, in_domain, r)
        out = (self._vertex_id(key, point), key, bits(~(pos | neg)))
        if len(self.near) > MEMO:
            self.near.clear()
        there = self.near.setdefault(cell, [])
        if all(e[0] != out[0] for e in there):
            there.append(out + (num, den, in_domain))
        if greedy:                       # (the point where these rows meet: the memo's promise)
            if len(self.solved) > MEMO:  # regions come in depth-first order: recent ones share vertices
                self.solved.clear()
            self.solved[memo] = out
        return out

    def _vertex_id(self, key, point):
        """The global id of the vertex with ``key`` at ``point`` (new or found)."""
        vid = self.keys.get(key)
        if vid is None:
            vid = self._add(key, 0, point, -1, None)
            self.verts[vid] = [vid]
        return vid

    def _solve(self, chosen, rows, proven=False):
        """The exact point where the rows ``chosen`` meet, None if they are dependent: ``(point,
        pos, neg, key, in_domain, num, den)`` (the signs of every constraint there, the face key,
        the point as ``num / den``). ``proven``: they are independent (as in `_vertex`)."""
        A = [rows.row(i) for i in chosen]
        M = np.array([a for a, _ in A], dtype=object)
        sol = combination(M.T, -np.array([c for _, c in A], dtype=object)) if proven or nonsingular(M) else None
        if sol is None:
            return None
        num, den = np.array(sol[0], dtype=object), sol[1]
        point = np.array([float(Fraction(int(v), den)) for v in num])
        pos, neg = rows.signs(num, den, point)
        key, in_domain = self._key(pos, neg)
        return point, pos, neg, key, in_domain, num, den

    def _key(self, pos, neg):
        """A point's face key from the signs of every constraint there (units +, units -, on the
        domain's rows) and whether it lies in the domain."""
        nu = self.nu
        return (bits(pos[:nu]), bits(neg[:nu]), bits(~neg[nu:])), not pos[nu:].any()

    def _lattice(self, r, zero):
        """The faces of region ``r``'s closed polytope from the bit sets of the constraints (ReLU
        units, then domain rows) vanishing at each of its vertices (`nncells.results._lattice`,
        in the compiled core when the backend is ``native`` and the region has at most 64
        vertices): ``(faces, dims, incidences)``, the faces as vertex sets, the incidences as
        pairs of their positions. Refuses (`NNCellsError`) what is not a polytope's lattice;
        nothing global is touched (`_commit` numbers them)."""
        k, d = len(zero), self.d
        if self.native and k <= MAX_VERTICES:
            faces, dims, inc, chi, status = compiled_lattice(zero, d)
        else:
            faces, dims, inc, chi, status = _lattice.lattice(zero, d)
        if status == _lattice.TOO_FEW_VERTICES:
            raise NNCellsError(f"faces: region {r} has {k} vertices, fewer than {d + 1}")
        if status == _lattice.NOT_GRADED:
            raise NNCellsError(f"faces: region {r}'s face lattice is not graded "
                               "(float64 cannot resolve this complex)")
        if status == _lattice.VERTEX_ABOVE_0:
            raise NNCellsError(f"faces: region {r} has a vertex at dimension {dims[-1]} "
                               "(float64 cannot resolve this complex)")
        if status != _lattice.OK:
            raise NNCellsError(f"faces: region {r}'s faces do not make a polytope (Euler "
                               f"characteristic {chi}; float64 cannot resolve this complex)")
        return faces, dims, inc

    def _commit(self, r, ids, keys, lattice):
        """Region ``r``'s faces (`_lattice`) as global faces (`_face`) of the vertices ``ids``
        with keys ``keys``."""
        faces, dims, inc = lattice
        fid = [self._face(G, ids, keys, dim, r) for G, dim in zip(faces, dims)]
        self.inc.update((fid[g], fid[c]) for g, c in inc)

    def _face(self, vset, ids, keys, dim, r):
        """The global id of the face of a region with vertex set ``vset`` (new or found): its key
        is the join of its vertices' (signs or-ed, domain rows and-ed)."""
        if not vset & (vset - 1):                     # one vertex (at dimension 0: `_lattice`)
            return ids[vset.bit_length() - 1]
        members = []
        pos = neg = 0
        on = -1
        v = vset
        while v:                                      # its vertices: the set bits
            low = v & -v
            i = low.bit_length() - 1
            members.append(i)
            p, n, o = keys[i]
            pos, neg, on = pos | p, neg | n, on & o
            v ^= low
        if pos & neg:
            raise NNCellsError("faces: the vertices of a face disagree on a sign")
        key = (pos, neg, on)
        fid = self.keys.get(key)
        if fid is not None:
            if self.dim[fid] != dim:
                raise NNCellsError("faces: a face has two dimensions (float64 cannot resolve this complex)")
            if dim == self.d:
                raise NNCellsError(f"faces: regions {self.region[fid]} and {r} are one face")
            return fid
        return self._add(key, dim, None, r if dim == self.d else -1, [ids[i] for i in members])

    def _add(self, key, dim, point, region, vids):
        fid = len(self.dim)
        self.keys[key] = fid
        self.dim.append(dim)
        self.points.append(point)
        self.region.append(region)
        self.verts.append(vids)
        return fid
