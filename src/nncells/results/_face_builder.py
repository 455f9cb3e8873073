"""The construction behind `nncells.results.faces`: one region's exact vertices and its face
lattice (`Builder`), faces keyed by bit sets; see that module's docstring for the method and the
checks.
"""
from __future__ import annotations

from fractions import Fraction
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np

from nncells.errors import NNCellsError
from nncells.geometry.contract import gamma
from nncells.results._exact import ExactNetwork, combination, det, domain_rows
from nncells.results._facets import cell_rows
from nncells.results.adjacency import unit_domain_rows

if TYPE_CHECKING:
    import numpy.typing as npt

    from nncells.results.result import EnumerationResult

CHUNK = 1024   # regions whose float64 rows are pulled back at once
FLOAT_SIGNS = True   # signs at a vertex in float64 where the error bound allows (tests: False)
MEMO = 200_000       # solved vertices and exact unit rows remembered (then forgotten at once)
_SPARE = 3           # rows beyond d tried where the d nearest to a float vertex meet off the region


def bits(mask) -> int:
    """A bool array as a Python int (bit i = mask[i])."""
    return int.from_bytes(np.packbits(np.asarray(mask, dtype=bool), bitorder="little").tobytes(), "little")


def _float_rows(R, c, d):
    """The integer rows ``R x + c`` in float64, each scaled by its own power of two so that its
    largest entry has about 60 bits (a row's scale does not change where it vanishes)."""
    Rf = np.zeros((len(R), d))
    cf = np.zeros(len(R))
    for i, (row, ci) in enumerate(zip(R, c)):
        nbits = max(abs(int(v)).bit_length() for v in list(row) + [ci])
        s = max(0, nbits - 60)
        Rf[i] = [float(int(v) >> s) for v in row]
        cf[i] = float(int(ci) >> s)
    return Rf, cf


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
    `cell_rows`) and exactly where it does not (the vertex's own rows always)."""

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
    """The faces of some regions of a result (`poset_part`); ``vt``: their vertices
    (`nncells.results.adjacency.region_vertices`)."""

    def __init__(self, result: EnumerationResult, vt: dict[str, np.ndarray], regions: npt.ArrayLike) -> None:
        if len(vt["rays"]) or len(vt["lines"]):
            raise NNCellsError("faces: qhull could not give every region's vertices (a domain far beyond the "
                               "network's own scale is lifted, and its regions' facets are found otherwise); "
                               "use a smaller box, or the whole space (topology)")
        if len(vt["bad"]):
            raise NNCellsError(f"faces: {len(vt['bad'])} region(s) without an interior point")
        self.vt, self.regions = vt, np.asarray(regions, dtype=np.int64)
        self.result, self.net = result, result.network
        self.d = self.net.input_dim
        self.exact = ExactNetwork(self.net)
        Gd, hd = domain_rows(result.domain)
        self.Gd, self.hd = Gd, hd
        self.Ad, self.bd = unit_domain_rows(result.domain)
        self.relu = ~np.asarray(self.net.linear_mask, dtype=bool)
        self.nu = int(self.relu.sum())
        self.keys: dict = {}            # key (units +, units -, on the domain's rows) -> face id
        self.dim, self.points, self.region, self.verts = [], [], [], []
        self.inc: set = set()
        self.solved: dict = {}          # (rows, pattern before their layers) -> a vertex's (id, key, zeros)
        self.rows: dict = {}            # (unit, pattern before its layer) -> its exact row
        # per constraint (ReLU units, then domain rows): where the pattern bits its piece depends on end
        starts = np.concatenate([np.full(w, sl.start) for w, sl in zip(self.net.widths, self.net.layer_slices)]) \
            if self.net.widths else np.zeros(0, np.int64)
        self.prefix = starts[self.relu].tolist() + [0] * len(self.hd)

    def part(self) -> dict:
        """The faces of the regions, keyed for `merge_parts`."""
        V, VR = self.vt["vertex"], self.vt["vertex_region"]
        P = np.asarray(self.result.patterns, dtype=bool)
        order = np.argsort(VR, kind="stable")
        starts = np.searchsorted(VR[order], self.regions)
        stops = np.searchsorted(VR[order], self.regions, side="right")
        L, d, rl = len(self.net.widths), self.d, self.relu
        for c0 in range(0, len(self.regions), CHUNK):
            rs = self.regions[c0:c0 + CHUNK]
            if L:
                H, g, zero, eH, eg = cell_rows(self.net, P[rs], L, bounds=True)
            else:
                H = eH = np.zeros((len(rs), 0, d))
                g, eg, zero = np.zeros((len(rs), 0)), np.zeros((len(rs), 0)), np.zeros((len(rs), 0), bool)
            for k, r in enumerate(rs):
                idx = order[starts[c0 + k]:stops[c0 + k]]
                self._region(int(r), V[idx], H[k][rl], g[k][rl], zero[k][rl], eH[k][rl], eg[k][rl])
        vlen = np.array([len(v) for v in self.verts], dtype=np.int64)
        return {"keys": pack_keys(list(self.keys), self.nu, len(self.hd)),
                "dim": np.array(self.dim, dtype=np.int8),
                "points": np.array(self.points, dtype=np.float64).reshape(-1, d),
                "region": np.array(self.region, dtype=np.int64),
                "vflat": np.fromiter((v for vs in self.verts for v in vs), dtype=np.int64, count=int(vlen.sum())),
                "vlen": vlen, "inc": np.array(sorted(self.inc), dtype=np.int64).reshape(-1, 2)}

    # -- one region: its exact vertices, then its face lattice ------------------------------------
    def _region(self, r, Vf, Hf, gf, zf, eH, eg):
        pattern = np.asarray(self.result.patterns[r], dtype=bool)
        rows = _RegionRows(self, pattern, Hf, gf, eH, eg)
        # float64 rows only propose which rows meet at a vertex: the units' from the batched
        # pull-back (normals within its error bound of zero left out), the exact ones rescaled
        # row by row where those overflow
        Rf = np.concatenate([Hf, self.Ad]) if len(self.Ad) else Hf
        cf = np.concatenate([gf, -self.bd]) if len(self.bd) else gf
        if not (np.all(np.isfinite(Rf)) and np.all(np.isfinite(cf))):
            Rf, cf = _float_rows(*rows.all(), self.d)
        nrm = np.linalg.norm(Rf, axis=1)
        live = nrm > 0
        live[:len(zf)] &= ~zf
        active = bits(pattern[self.relu])
        U = Rf[live] / nrm[live, None]                 # unit rows; their distances to the vertices
        rank = np.argsort(np.abs(U @ Vf.T + (cf[live] / nrm[live])[:, None]), axis=0, kind="stable")
        rank = np.flatnonzero(live)[rank].T.tolist()
        U = Rf / np.where(live, nrm, 1.0)[:, None]
        ids, keys, zero = [], [], []
        for order in rank:
            vid, key, z = self._vertex(order, rows, U, pattern, active, r)
            if vid not in ids:
                ids.append(vid)
                keys.append(key)
                zero.append(z)
        self._lattice(r, ids, keys, zero)

    def _vertex(self, order, rows, U, pattern, active, r):
        """The exact vertex of region ``r`` where the rows ``order`` (nearest to a float vertex
        first) meet: (face id, key, the bit set of the constraints vanishing there). The first
        ``d`` independent rows are solved exactly, unless these rows with the same pattern before
        their layers (so the same affine pieces) were solved already: the same point."""
        d = self.d
        chosen, Q = [], []
        for i in order:                 # the rows nearest first; d independent by Gram-Schmidt
            u = U[i].tolist()
            for q in Q:
                t = sum(a * b for a, b in zip(u, q))
                u = [a - t * b for a, b in zip(u, q)]
            n = sum(a * a for a in u) ** 0.5
            if n > 1e-8:
                Q.append([a / n for a in u])
                chosen.append(int(i))
                if len(chosen) == d:
                    break
        if len(chosen) < d:
            raise NNCellsError(f"faces: a vertex of region {r} could not be resolved exactly "
                               "(float64 cannot separate its rows)")
        memo = (tuple(chosen), pattern[:max(self.prefix[i] for i in chosen)].tobytes())
        hit = self.solved.get(memo)
        if hit is not None and _closed(hit[1], active, True):
            return hit
        got = self._solve(chosen, rows)
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
        point, pos, neg, key, in_domain = got
        _in_closure(key, active, in_domain, r)
        vid = self.keys.get(key)
        if vid is None:
            vid = self._add(key, 0, point, -1, None)
            self.verts[vid] = [vid]
        out = (vid, key, bits(~(pos | neg)))
        if greedy:                       # (the point where these rows meet: the memo's promise)
            if len(self.solved) > MEMO:  # regions come in depth-first order: recent ones share vertices
                self.solved.clear()
            self.solved[memo] = out
        return out

    def _solve(self, chosen, rows):
        """The exact point where the rows ``chosen`` meet, None if they are dependent: ``(point,
        pos, neg, key, in_domain)`` (the signs of every constraint there, the face key)."""
        A = [rows.row(i) for i in chosen]
        M = np.array([a for a, _ in A], dtype=object)
        sol = combination(M.T, -np.array([c for _, c in A], dtype=object)) if det(M) != 0 else None
        if sol is None:
            return None
        num, den = np.array(sol[0], dtype=object), sol[1]
        point = np.array([float(Fraction(int(v), den)) for v in num])
        pos, neg = rows.signs(num, den, point)
        nu = self.nu
        key = (bits(pos[:nu]), bits(neg[:nu]), bits(~neg[nu:]))    # units +, units -, on the domain's rows
        return point, pos, neg, key, not pos[nu:].any()

    def _lattice(self, r, ids, keys, zero):
        """The faces of region ``r``'s closed polytope from its vertices' keys and the bit sets of
        the constraints (ReLU units, then domain rows) vanishing at each: level by level, faces
        as bit sets of the region's vertices."""
        k, d = len(ids), self.d
        if k < d + 1:
            raise NNCellsError(f"faces: region {r} has {k} vertices, fewer than {d + 1}")
        full = (1 << k) - 1
        by_row: dict = {}
        for i, z in enumerate(zero):          # for each constraint: the vertices where it vanishes
            while z:
                low = z & -z
                by_row[low] = by_row.get(low, 0) | (1 << i)
                z ^= low
        sets = {b for b in by_row.values() if b != full}
        facets = [s for s in sets if not any(s != t and s & t == s for t in sets)]
        level = [full]
        face_id = {full: self._face(full, ids, keys, d, r)}
        chi = 1 if d % 2 == 0 else -1
        for lev in range(1, d + 1):
            nxt: dict = {}
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
                        face_id[G] = self._face(G, ids, keys, d - lev, r)
                        chi += 1 if (d - lev) % 2 == 0 else -1
                    self.inc.add((face_id[G], face_id[F]))
            level = list(nxt)
        if chi != 1 or any(G & (G - 1) for G in level):
            raise NNCellsError(f"faces: region {r}'s faces do not make a polytope (Euler "
                               f"characteristic {chi}; float64 cannot resolve this complex)")

    def _face(self, vset, ids, keys, dim, r):
        """The global id of the face of a region with vertex set ``vset`` (new or found): its key
        is the join of its vertices' (signs or-ed, domain rows and-ed)."""
        members = [i for i in range(len(ids)) if vset >> i & 1]
        if len(members) == 1:
            if dim != 0:
                raise NNCellsError(f"faces: region {r} has a vertex at dimension {dim} "
                                   "(float64 cannot resolve this complex)")
            return ids[members[0]]
        pos = neg = 0
        on = -1
        for i in members:
            p, n, o = keys[i]
            pos, neg, on = pos | p, neg | n, on & o
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
        vids = [ids[i] for i in members]
        point = np.mean([self.points[v] for v in vids], axis=0)
        return self._add(key, dim, point, r if dim == self.d else -1, vids)

    def _add(self, key, dim, point, region, vids):
        fid = len(self.dim)
        self.keys[key] = fid
        self.dim.append(dim)
        self.points.append(point)
        self.region.append(region)
        self.verts.append(vids)
        return fid


def pack_keys(keys, nu: int, nd: int) -> np.ndarray:
    """Faces' keys (units +, units -, on the domain's rows: `bits` of ``nu``, ``nu`` and ``nd``
    bits) as rows of bytes, ``(n, ceil((2 nu + nd) / 8))`` uint8: the three bit sets one after
    the other, little-endian (`key_signs`, `key_domain` read them)."""
    nb = (2 * nu + nd + 7) // 8
    buf = b"".join((p | (q << nu) | (o << (2 * nu))).to_bytes(nb, "little") for p, q, o in keys)
    return np.frombuffer(buf, dtype=np.uint8).reshape(len(keys), nb).copy()


def _key_bits(packed: np.ndarray, first: int, count: int) -> np.ndarray:
    """Bits ``first .. first + count - 1`` of packed keys, as uint8 0/1 ``(n, count)``."""
    b0, b1 = first // 8, (first + count + 7) // 8
    raw = np.unpackbits(packed[:, b0:b1], axis=1, bitorder="little")
    return raw[:, first - 8 * b0:first - 8 * b0 + count]


def key_signs(packed: np.ndarray, nu: int, cols: np.ndarray, n_hidden: int, units=None,
              block: int = 1 << 16) -> np.ndarray:
    """Signs int8 from packed keys (`pack_keys`), a block of faces at a time: ``(n, n_hidden)``,
    the ReLU units at ``cols`` (linear units 0); or only the hidden units ``units`` (positions
    among all), ``(n, len(units))``."""
    want = np.arange(n_hidden) if units is None else np.asarray(units, dtype=np.int64)
    where = np.full(n_hidden, -1, dtype=np.int64)
    where[cols] = np.arange(len(cols))
    k = where[want]
    relu = np.flatnonzero(k >= 0)
    out = np.zeros((len(packed), len(want)), dtype=np.int8)
    for s0 in range(0, len(packed), block):
        pb = packed[s0:s0 + block]
        pos, neg = _key_bits(pb, 0, nu), _key_bits(pb, nu, nu)
        out[s0:s0 + len(pb), relu] = pos[:, k[relu]].view(np.int8) - neg[:, k[relu]].view(np.int8)
    return out


def key_domain(packed: np.ndarray, nu: int, nd: int) -> np.ndarray:
    """On which of the domain's ``nd`` rows each face lies, from packed keys (`pack_keys`)."""
    return _key_bits(packed, 2 * nu, nd).astype(bool)
