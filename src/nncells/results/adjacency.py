"""Facets and adjacency of the regions of an `EnumerationResult`, in any input dimension.

A row of a region's system (a hidden neuron's pulled-back hyperplane or a face of the domain) is
a *facet* of the region when its hyperplane meets the region's closure in a (d-1)-dimensional
set. Under the numerical contract (docs/numerics.md) that set must hold a (d-1)-ball of radius
``> tol ||x||_inf`` around its centre ``x`` (so the facets, like the regions, do not depend on the
units). Rows on one hyperplane (duplicated neurons, a neuron along the domain's boundary) make
one facet together: their dual points (below) agree to ``tol`` relative.

How (per layer, from the domain down; the layer-``l`` cells are the distinct pattern prefixes):
- a row that is not a facet of a cell is not a facet of any cell inside it, and a hyperplane of
  layer ``l + 1`` that leaves a cell's vertices and rays on one side (by ``tol`` of their size)
  does not cut it: a cell's candidates are its parent's facets and the next layer's hyperplanes
  that cut the parent (about a dozen rows instead of all of them);
- up to ``_config.VERTEX_MAX_DIM`` inputs one convex hull (qhull) of the dual points
  ``G_j / s_j`` and the origin (the cell's polar about its interior point) gives its facets, its
  vertices and its extreme rays; each facet's interior point is then checked in float64 (it
  clears every other row by ``tol ||x||_inf``), an LP deciding where it does not;
- above that dimension, or when the cell contains a line, rays from the interior point along the
  rows' normals certify the facets they meet first, and one LP per remaining row decides it.

The neighbour across a facet that is not on the domain's boundary is the region whose pattern is
the region's own with the facet's neurons flipped (looked up among all patterns); when there is
none, the pattern across as the rows say it (`_facets.across_pattern`: a later layer's neuron
zero on the facet need not change sign, and one constant zero on the region may turn on); else
the pattern of a point just beyond the facet's interior point is looked up; a facet with no
region across it is *open* (`nncells.results.certify` reports it).
"""
from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from nncells import _config
from nncells.domains import Ball
from nncells.engine.tasks import prefix_ids
from nncells.errors import NNCellsError
from nncells.geometry import solvers
from nncells.results._core_facets import core_facets, pattern_index, ranges
from nncells.results._facets import across_pattern, cell_rows, cut_mask, lp_facets, polar_batch, unit_entries
from nncells.results.store import pattern_words

if TYPE_CHECKING:
    import networkx as nx

_CHUNK = 2048


def contract_tol(result) -> float:
    """The contract's threshold ``tol`` of the run that made ``result`` (default if unknown)."""
    t = getattr(result.info, "tol", None) if result.info is not None else None
    return float(_config.DEFAULT_TOL if t is None else t)


def unit_domain_rows(domain):
    """The domain's half-spaces ``A x <= b`` with unit rows (a Euclidean ball refused)."""
    if isinstance(domain, Ball) and domain.norm == 2:
        raise NNCellsError("facets and adjacency need a polyhedral domain (box, polytope or the whole "
                           "space); a Euclidean ball's boundary is curved")
    A, b = domain.halfspaces()
    n = np.linalg.norm(A, axis=1)
    return A / n[:, None], b / n


def _recentre(G, h, p):
    """An interior point of ``G x <= h`` (one LP) when ``p`` is not strictly inside; None if empty."""
    x, r = solvers.chebyshev_center(G, h, cap=max(1.0, float(np.max(np.abs(p)))))
    return x if x is not None and r > 0 else None


def _single(G, h, p, tol):
    """One cell's facets (`lp_facets` or the polar of this cell alone), as `polar_batch`'s dict."""
    d = G.shape[1]
    empty = {"cell": np.zeros(0, np.int64), "point": np.zeros((0, d)), "normal": np.zeros((0, d)),
             "margin": np.zeros(0), "mem_facet": np.zeros(0, np.int64), "mem_row": np.zeros(0, np.int64),
             "vertex": np.zeros((0, d)), "vertex_cell": np.zeros(0, np.int64), "ray": np.zeros((0, d)),
             "ray_cell": np.zeros(0, np.int64), "lines": True}
    s = h - G @ p
    if len(G) == 0:
        return empty
    if np.any(s <= 0):
        p = _recentre(G, h, p)
        if p is None:
            return None
        s = h - G @ p
    cf = lp_facets(G, s, p, tol)
    fi, ri = np.nonzero(cf.groups)
    empty.update(cell=np.zeros(len(cf.groups), np.int64), point=cf.points, margin=cf.margins,
                 normal=G[np.argmax(cf.groups, axis=1)] if len(cf.groups) else np.zeros((0, d)),
                 mem_facet=fi, mem_row=ri)
    return empty


def _chunk_facets(n, ci, cj, Gf, hf, pts, tol):
    """Facets of a chunk of ``n`` cells, their candidate rows given as entries: cell ``ci``, row
    ``cj`` (its column in the chunk's rows), ``Gf x <= hf`` (unit rows), sorted by cell:
    `polar_batch` where it applies, `_single` for the rest. Returns the merged dict (``cell``
    indices into the chunk; ``lines`` lists cells without vertices) and the cells with no
    interior point."""
    d = pts.shape[1]
    s = hf - np.einsum("ed,ed->e", Gf, pts[ci])
    off = np.zeros(n, bool)
    off[ci[s <= 0]] = True
    todo = np.flatnonzero(~off)
    counts = np.bincount(ci, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    parts, lines, empty = [], [], []
    rest = np.flatnonzero(off).tolist()
    if 2 <= d <= _config.VERTEX_MAX_DIM and len(todo):
        sel = ~off[ci]
        out, failed = polar_batch(len(todo), (np.cumsum(~off) - 1)[ci[sel]], cj[sel], Gf[sel], s[sel],
                                  pts[todo], tol)
        if out is not None:
            for k in ("cell", "vertex_cell", "ray_cell"):
                out[k] = todo[out[k]]
            parts.append(out)
        rest += todo[failed].tolist()
    else:
        rest += todo.tolist()
    for c in sorted(rest):
        e = slice(starts[c], starts[c] + counts[c])
        one = _single(Gf[e], hf[e], pts[c], tol)
        if one is None:
            empty.append(c)
            continue
        one["cell"] = np.full(len(one["point"]), c)
        one["mem_row"] = cj[e][one["mem_row"]]
        lines.append(c)
        parts.append(one)
    merged = {}
    base = 0
    for part in parts:
        part = dict(part)
        part["mem_facet"] = part["mem_facet"] + base
        base += len(part["point"])
        for k, v in part.items():
            if k != "lines":
                merged.setdefault(k, []).append(v)
    merged = {k: np.concatenate(v) for k, v in merged.items()}
    if not merged:
        merged = _single(np.zeros((0, d)), np.zeros(0), np.zeros(d), tol)
    merged["lines"] = np.array(lines, dtype=np.int64)
    return merged, empty


def _qhull_facets(result: Any, sub: np.ndarray, tol: float, vertices: bool,
                  rows: bool = False) -> dict[str, Any]:
    """The facets of the regions ``sub`` (indices into ``result``) by the layer-wise qhull path
    (the module's docstring). Returns a dict: per facet ``f_region``, ``point``, ``normal``,
    ``margin``; per facet row ``r_facet``, ``r_member``; ``bad`` (regions without an interior
    point); with ``vertices`` also ``vertex``, ``vertex_region``, ``ray``, ``ray_region``, ``lines``;
    with ``rows`` also ``rows``: ``cell_rows(..., bounds=True)`` of the regions, in ``sub``'s
    order (None without regions or hidden layers). The final level's rows are those of its cells' parents when the last layer adds no
    rows below it (the parents' are then the same, pulled back once)."""
    net = result.network
    P, X = result.patterns[sub], result.points[sub]
    Ad, bd = unit_domain_rows(result.domain)
    md, d, L = len(bd), net.input_dim, len(net.widths)
    n = len(P)
    cat = {"f_region": np.zeros(0, np.int64), "r_facet": np.zeros(0, np.int64), "r_member": np.zeros(0, np.int64),
           "point": np.zeros((0, d)), "normal": np.zeros((0, d)), "margin": np.zeros(0),
           "bad": np.zeros(0, np.int64)}
    if not n and not vertices:
        return cat
    # the root cell, the domain: its facets, and the first layer's hyperplanes that cut it
    p0 = X.mean(axis=0) if n else np.zeros(d)
    root, _ = _chunk_facets(1, np.zeros(md, np.int64), np.arange(md), Ad, bd, p0[None], tol)
    cand = np.zeros((1, md + (net.widths[0] if L else 0)), bool)
    cand[0, root["mem_row"]] = True
    if L:
        H, g, zero = cell_rows(net, np.zeros((1, 0), bool), 1)
        cut = cut_mask(1, root["vertex"], root["vertex_cell"], root["ray"], root["ray_cell"], H, g, zero, tol)
        cand[0, md:] = cut[0] if md and 0 not in root["lines"] else ~zero[0]
    out = {k: [] for k in ("f_region", "r_facet", "r_member", "point", "normal", "margin",
                           "vertex", "vertex_region", "ray", "ray_region", "lines")}
    nfacet, bad, kept, mine = 0, [], None, []
    prev = np.zeros(n, np.int64)
    for level in range(max(L, 1)):
        stop = net.layer_slices[level].stop if L else 0
        final = level == max(L, 1) - 1
        keep = rows and level == L - 2                 # the same rows as the final level's
        ids = prefix_ids(P, stop) if not final else np.arange(n)
        ncell = int(ids.max()) + 1 if n else 0
        rep = np.zeros(ncell, np.int64)
        rep[ids[::-1]] = np.arange(n)[::-1]
        parent = prev[rep]
        width = md + stop + (net.widths[level + 1] if not final else 0)
        nxt = np.zeros((ncell, width), bool)
        for c0 in range(0, ncell, _CHUNK):
            cs = np.arange(c0, min(c0 + _CHUNK, ncell))
            nc = len(cs)
            if L:
                if final and kept is not None:
                    got = tuple(a[parent[cs]] for a in kept)
                else:
                    got = cell_rows(net, P[rep[cs]], min(level + 2, L), bounds=keep or (rows and final))
                H, g, zero = got[:3]
                if keep or (rows and final):
                    mine.append(got)
            else:
                H, g = np.zeros((nc, 0, d)), np.zeros((nc, 0))
            ci, cj = np.nonzero(cand[parent[cs]])          # the candidate rows, as entries
            if L:                                          # (units constant on the cell: none)
                live = (cj < md) | ~zero[ci, np.maximum(cj - md, 0)]
                ci, cj = ci[live], cj[live]
            fc, empty = _chunk_facets(nc, ci, cj, *unit_entries(ci, cj, Ad, bd, H, g, P[rep[cs]]),
                                      X[rep[cs]], tol)
            bad += rep[cs[empty]].tolist()
            nxt[cs[fc["cell"][fc["mem_facet"]]], fc["mem_row"]] = True
            if not final:
                w = net.layer_slices[level + 1]
                cut = cut_mask(nc, fc["vertex"], fc["vertex_cell"], fc["ray"], fc["ray_cell"],
                               H[:, w], g[:, w], zero[:, w], tol)
                cut[fc["lines"]] = ~zero[fc["lines"], w]
                nxt[cs, md + stop:] = cut
            else:
                out["f_region"].append(rep[cs[fc["cell"]]])
                out["r_facet"].append(fc["mem_facet"] + nfacet)
                out["r_member"].append(fc["mem_row"])
                out["point"].append(fc["point"])
                out["normal"].append(fc["normal"])
                out["margin"].append(fc["margin"])
                nfacet += len(fc["point"])
                if vertices:
                    out["vertex"].append(fc["vertex"])
                    out["vertex_region"].append(rep[cs[fc["vertex_cell"]]])
                    out["ray"].append(fc["ray"])
                    out["ray_region"].append(rep[cs[fc["ray_cell"]]])
                    out["lines"].append(rep[cs[fc["lines"]]])
        cand, prev = nxt, ids
        if mine:
            kept = tuple(np.concatenate(a) for a in zip(*mine))
            mine = []
    if rows:
        cat["rows"] = kept          # (None without regions or hidden layers)
    cat.update({k: np.concatenate(v) for k, v in out.items() if v})
    for k in ("f_region", "vertex_region", "ray_region", "lines"):
        if k in cat:
            cat[k] = sub[cat[k]].astype(np.int64)
    cat["bad"] = sub[np.array(bad, dtype=np.int64)]
    return cat


def compute_facets(result, vertices: bool = False, _core: bool = True) -> dict:
    """The facet table of every region (cached on the result); see `facets`. With ``vertices``
    the table also holds the regions' vertices and rays (``_vertex``, ``_vertex_region``, ``_ray``,
    ``_ray_region``; ``_lines``: regions settled by LPs, without them), all by the qhull path.
    Without, the compiled core gives the facets of the regions it settles
    (`nncells.results._core_facets`) and the qhull path those of the rest; ``_core=False``
    (tests) takes the qhull path for all. Facets are numbered by region, then by first row."""
    cached = getattr(result, "_facet_table", None)
    if cached is not None and (not vertices or "_vertex" in cached) and \
            (_core or cached["_stats"]["core_regions"] == 0):
        return cached
    t0, lp0 = time.perf_counter(), solvers.lp_count()
    tol = contract_tol(result)
    md, d, n = len(unit_domain_rows(result.domain)[1]), result.network.input_dim, len(result.patterns)
    core = core_facets(result, tol, md) if _core and not vertices and n else None
    todo = np.ones(n, bool)
    if core is not None:
        todo[core["covered"]] = False
    rest = np.flatnonzero(todo)
    qh = _qhull_facets(result, rest, tol, vertices)
    nq = len(qh["f_region"])
    nb_q, bd_q = _neighbours(result, qh, md, nq)
    # the qhull path's facets by (region, first row), rows by (facet, row)
    first = np.full(nq, np.iinfo(np.int64).max)
    np.minimum.at(first, qh["r_facet"], qh["r_member"])
    forder = np.lexsort((first, qh["f_region"]))
    renum = np.empty(nq, np.int64)
    renum[forder] = np.arange(nq)
    rorder = np.lexsort((qh["r_member"], renum[qh["r_facet"]]))
    parts = [(qh["f_region"][forder], nb_q[forder], bd_q[forder], np.bincount(qh["r_facet"], minlength=nq)[forder],
              qh["r_member"][rorder], qh["point"][forder], qh["normal"][forder], qh["margin"][forder])]
    if core is not None:
        nc = len(core["f_region"])
        nan = np.full((nc, d), np.nan)
        parts.append((core["f_region"], core["f_neighbour"], core["f_boundary"], core["f_len"], core["r_member"],
                      nan, nan, nan[:, 0]))
    if nq == 0 and core is not None:   # the core settled every region: no copies
        parts = parts[1:]
    f_region, f_nb, f_bd, f_len, member, f_point, f_normal, f_margin = (
        x[0] if len(parts) == 1 else np.concatenate(x) for x in zip(*parts))
    if nq and core is not None and len(core["f_region"]):   # merge the two (sorted) parts by region
        order = np.argsort(f_region, kind="stable")
        rstart = np.cumsum(f_len) - f_len
        member = member[ranges(rstart[order], rstart[order] + f_len[order])]
        f_region, f_nb, f_bd, f_len = f_region[order], f_nb[order], f_bd[order], f_len[order]
        f_point, f_normal, f_margin = f_point[order], f_normal[order], f_margin[order]
    facet = np.repeat(np.arange(len(f_region)), f_len)
    member = member.astype(np.int64)
    table = {
        "region": f_region[facet].astype(np.int64),
        "facet": facet,
        "kind": np.where(member < md, "domain", "neuron"),
        "index": np.where(member < md, member, member - md),
        "_points": f_point, "_normals": f_normal, "_margins": f_margin,
        "_no_interior": np.array(sorted(qh["bad"].tolist()), dtype=np.int64),
        "_qhull_regions": rest,     # regions whose facets the qhull / LP path found
    }
    if vertices:
        for k in ("vertex", "vertex_region", "ray", "ray_region", "lines"):
            table["_" + k] = qh[k]
    table["neighbour"], table["boundary"] = f_nb[facet].astype(np.int64), f_bd[facet].astype(bool)
    table["_stats"] = {"facet_lp_solves": solvers.lp_count() - lp0, "facet_seconds": time.perf_counter() - t0,
                       "core_regions": 0 if core is None else len(core["covered"])}
    result._facet_table = table
    return table


def _neighbours(result, qh, md, nfacet):
    """Per facet of ``qh`` (`_qhull_facets`): the region across it (-1: none) and whether it lies
    on the domain's boundary."""
    P = result.patterns
    N = P.shape[1]
    nb = np.full(nfacet, -1, np.int64)
    boundary_f = np.zeros(nfacet, bool)
    if not nfacet:
        return nb, boundary_f
    fid, member, freg = qh["r_facet"], qh["r_member"], qh["f_region"]
    np.logical_or.at(boundary_f, fid, member < md)
    flip = np.zeros((nfacet, N), bool)
    neuron = member >= md
    flip[fid[neuron], member[neuron] - md] = True
    todo = np.flatnonzero(~boundary_f)
    if N and len(todo):
        find = pattern_index(P)
        nb[todo] = find(np.packbits(P[freg[todo]] ^ flip[todo], axis=1))
        miss = todo[nb[todo] < 0]
        for f in miss:             # neurons of later layers on the facet need not change sign
            q = across_pattern(result.network, P[freg[f]], np.flatnonzero(flip[f]), qh["normal"][f])
            if q is not None:
                nb[f] = find(np.packbits(q[None, :], axis=1))[0]
        miss = todo[nb[todo] < 0]
        if len(miss):
            nb[miss] = _probe(result, freg[miss], qh["point"][miss], qh["normal"][miss], qh["margin"][miss])
    return nb, boundary_f


def _probe(result, regions, points, normals, margins):
    """The region holding points just beyond facets (a stable pattern at two distances), or -1."""
    net, P = result.network, result.patterns
    step = np.where(np.isfinite(margins) & (margins > 0), margins, 0.0) / 4
    near = net.pattern(points + normals * (step / 64)[:, None])
    far = net.pattern(points + normals * step[:, None])
    ok = np.all(near == far, axis=1) & np.any(far != P[regions], axis=1) & (step > 0)
    out = np.full(len(regions), -1, np.int64)
    if np.any(ok):
        out[ok] = pattern_index(P)(np.packbits(far[ok], axis=1))
    return out


def facets(result) -> dict:
    """The facets of every region: one row per (region, constraint on a facet).

    Parameters
    ----------
    result : EnumerationResult
        In a box, a polytope or the whole space (a Euclidean ball is refused).

    Returns
    -------
    dict of numpy arrays, one entry per row:
        ``region``; ``facet`` (rows with one facet id lie on one hyperplane: a multi-neuron facet
        has several rows); ``kind`` (``"neuron"`` or ``"domain"``); ``index`` (the global hidden
        neuron, or the row of ``domain.halfspaces()``); ``boundary`` (the facet lies on the
        domain's boundary); ``neighbour`` (the region across the facet, -1 on the boundary or
        when there is none: an *open* facet). Also ``lp_solves``, the LPs this took.

    Raises
    ------
    NNCellsError
        For a Euclidean ball domain.

    Examples
    --------
    Two crossing lines cut the square into four quadrants, each with two neuron facets and two
    domain facets:

    >>> import nncells
    >>> net = nncells.Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    >>> F = facets(res)
    >>> int((F["kind"] == "neuron").sum()), int((F["kind"] == "domain").sum())
    (8, 8)
    >>> sorted(set(F["neighbour"][F["kind"] == "neuron"].tolist()))
    [0, 1, 2, 3]
    """
    table = compute_facets(result)
    out = {k: v for k, v in table.items() if not k.startswith("_")}
    out["lp_solves"] = table["_stats"]["facet_lp_solves"]
    return out


def adjacency(result) -> dict:
    """The dual graph's edges: one row per adjacent pair of regions and per neuron whose sign
    differs between them (a generic pair differs in exactly one neuron; a multi-neuron facet
    gives one row per neuron that changes sign across it).

    Parameters
    ----------
    result : EnumerationResult

    Returns
    -------
    dict with int64 arrays ``i``, ``j`` (region indices, ``i < j``) and ``neuron`` (global hidden
    neuron index), sorted by ``(i, j, neuron)``.

    Examples
    --------
    >>> import nncells
    >>> net = nncells.Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    >>> E = adjacency(res)
    >>> list(zip(E["i"].tolist(), E["j"].tolist(), E["neuron"].tolist()))
    [(0, 1, 1), (0, 2, 0), (1, 3, 0), (2, 3, 1)]
    """
    table = compute_facets(result)
    nb, region = table["neighbour"], table["region"]
    fid = table["facet"]
    first = np.ones(len(fid), bool)
    first[1:] = fid[1:] != fid[:-1]
    sel = first & (nb >= 0) & (nb != region)
    a, b = np.minimum(region[sel], nb[sel]), np.maximum(region[sel], nb[sel])
    n = max(int(result.count), 1)
    key = np.sort(a.astype(np.int64) * n + b)   # (i, j) in lexicographic order, once each
    key = key[np.append(True, key[1:] != key[:-1])] if len(key) else key
    i, j = key // n, key % n
    e, k = _flipped(result.patterns, i, j)
    return {"i": i[e].astype(np.int64), "j": j[e].astype(np.int64), "neuron": k.astype(np.int64)}


def _flipped(P, i, j):
    """``(pair, neuron)`` for every neuron whose sign differs between regions ``i`` and ``j``, in
    order. Pairs that differ in one neuron (nearly all) are read from 64-bit words of the packed
    patterns; the others from the full patterns."""
    words = pattern_words(np.packbits(P, axis=1))
    diff = words[i] ^ words[j]
    ones = np.zeros(len(i), np.int64)
    for w in range(diff.shape[1]):
        col = np.ascontiguousarray(diff[:, w])
        ones += np.bitwise_count(col) if hasattr(np, "bitwise_count") else \
            np.unpackbits(col.view(np.uint8).reshape(-1, 8), axis=1).sum(axis=1)  # numpy < 2
    one = np.flatnonzero(ones == 1)
    w = np.argmax(diff[one] != 0, axis=1)
    p = np.log2(diff[one, w].astype(np.float64)).astype(np.int64)   # a power of two: exact
    k_one = 64 * w + 8 * (p // 8) + 7 - p % 8   # packbits: neuron 8b + 0 is bit 7 of byte b
    many = np.flatnonzero(ones > 1)
    e_many, k_many = np.nonzero(P[i[many]] ^ P[j[many]])
    e = np.concatenate([one, many[e_many]])
    k = np.concatenate([k_one, k_many])
    order = np.lexsort((k, e))
    return e[order], k[order]


def adjacency_graph(result) -> nx.Graph:
    """The dual graph as a `networkx.Graph`: one node per region (attribute ``pattern``, a bool
    array) and one edge per adjacent pair (attribute ``neurons``: the tuple of neurons whose sign
    changes across their common facet).

    Examples
    --------
    >>> import nncells
    >>> net = nncells.random_network([2, 4, 1], seed=0)
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    >>> G = adjacency_graph(res)
    >>> G.number_of_nodes() == res.count
    True
    >>> all(len(data["neurons"]) == 1 for _, _, data in G.edges(data=True))
    True
    """
    import networkx as nx
    E = adjacency(result)
    G = nx.Graph()
    G.add_nodes_from((i, {"pattern": result.patterns[i]}) for i in range(result.count))
    neurons: dict = {}
    for i, j, k in zip(E["i"].tolist(), E["j"].tolist(), E["neuron"].tolist()):
        neurons.setdefault((i, j), []).append(k)
    G.add_edges_from((i, j, {"neurons": tuple(ks)}) for (i, j), ks in neurons.items())
    return G
