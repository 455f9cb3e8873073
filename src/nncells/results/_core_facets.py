"""Facets of regions from the compiled core, for `nncells.results.adjacency`.

The core's facets mode (`nncells.kernels.vertex.refine_facets`) reads each finished cell's facets
from its vertices' active sets (the enumeration's own decisions, made with the contract's error
bounds), each row labelled with the neuron whose cut made it or the domain row it came from.
When the enumeration ran in facets mode (``enumerate_regions(..., facets=True)``: its
``info.stats.facets`` holds the facets of every call of the core, labels carried across the tasks
it handed back) those are used; otherwise the core runs vertex mode once more from the problem's
root task, serially and without a time budget, in facets mode. The regions are matched to the
result's by pattern. The region across a facet of neuron ``k`` is
the region whose pattern is the region's own with ``k`` flipped: when that pattern exists it is the
neighbour (the neurons on the facet's hyperplane whose sign changes are the same on all of it, and
a neuron that would change sign too keeps its sign throughout the cell of the flipped pattern).

A region is left to the qhull path (`compute_facets`) when the core did not reach it, or reached
it only below a split it deferred to an LP (the cells that split hands back come from numpy, their
rows of unknown origin), when a neuron that did not cut its cell lies along one of the cell's facets (a
facet of several neurons: the core sees one row), when one of its facets has several neuron rows
or a row of unknown origin, or when a flipped pattern is missing (the qhull path probes beyond
the facet and reports it open if nothing is there).

In the whole space (and a huge box) the core works on the lifted problem (`nncells.engine.lifting`): a region's cone
``{(y, t) : t > 0, y / t in R}`` cut by the box ``[-1, 1]^d x [0, 1]`` has on each homogeneous row
a facet iff ``R`` has one there (the box holds a neighbourhood of the apex, so every facet of the
cone keeps a d-dimensional piece, bounded regions and unbounded ones alike); the box's rows are no
boundary of the whole space and are dropped. A huge box's cone rows (`lifting.box_cone`) follow
them: its own half-spaces, in order.
"""
from __future__ import annotations

import numpy as np

from nncells import _config, kernels
from nncells.domains import Ball
from nncells.engine import compiled
from nncells.engine.lifting import homogeneous_problem
from nncells.engine.tasks import Problem
from nncells.errors import NNCellsError
from nncells.kernels.vertex import UNKNOWN_LABEL
from nncells.results.store import pattern_keys, pattern_words


def pattern_index(P):
    """A function that gives the index of each packed pattern (``np.packbits(.., axis=1)``) among
    the rows of ``P``, or -1 (one sort of ``P`` for any number of queries).

    Examples
    --------
    >>> P = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 1]], dtype=bool)
    >>> pattern_index(P)(np.packbits(np.array([[0, 0, 1], [0, 1, 0]], dtype=bool), axis=1)).tolist()
    [1, -1]
    """
    words = pattern_words(np.packbits(P, axis=1))
    one = words.shape[1] == 1
    keys = pattern_keys(words)
    order = np.argsort(keys, kind="stable")
    sk = keys[order]

    def find(packed_query):
        q = pattern_words(packed_query)
        if not len(sk):
            return np.full(len(q), -1, np.int64)
        qk = pattern_keys(q)
        pos = np.minimum(np.searchsorted(sk, qk), len(sk) - 1)
        out = np.where(sk[pos] == qk, order[pos], -1).astype(np.int64)
        if not one:  # a hash is not the pattern: check, and search the rare collisions in full
            hit = out >= 0
            wrong = np.flatnonzero(hit)[np.any(words[out[hit]] != q[hit], axis=1)]
            for i in wrong:
                same = np.flatnonzero(np.all(words == q[i], axis=1))
                out[i] = same[0] if len(same) else -1
        return out
    return find


def ranges(start, stop):
    """The concatenated ranges ``start[i]:stop[i]`` (index arrays)."""
    lens = stop - start
    total = int(lens.sum())
    if not total:
        return np.zeros(0, np.int64)
    offs = np.cumsum(lens) - lens
    return np.repeat(start - offs, lens) + np.arange(total)


def _recorded(chunks):
    """The facets recorded during the enumeration (`nncells.engine.cells.Stats.facets`), as one."""
    if not chunks:
        return None
    packed = np.concatenate([c[0] for c in chunks])
    ends = np.cumsum([c[1][-1] for c in chunks])
    start = np.concatenate([[0]] + [c[1][1:] + (e - c[1][-1]) for c, e in zip(chunks, ends)])
    return (packed, start) + tuple(np.concatenate([c[k] for c in chunks]) for k in (2, 3, 4))


def _run_core(result, tol):
    """The core's packed patterns (in ``result.network``'s neurons) and facets, and how its labels
    map: ``(packed, flag, region, group, neuron, domain_row)`` per facet row, or None when the core
    does not apply (no compiled core, not vertex mode, a Euclidean ball)."""
    net, dom = result.network, result.domain
    if not kernels.native_available() or not net.widths or (isinstance(dom, Ball) and dom.norm == 2):
        return None
    try:
        problem = Problem.make(net, dom, tol=tol, backend="native")
    except NNCellsError:
        return None
    lifted = homogeneous_problem(problem, _config.VERTEX_MAX_DIM)
    if lifted is not None:
        problem = lifted
    core = compiled.core_for(problem)
    if core is None:
        return None
    info = result.info
    if info is not None and getattr(info, "facets", False):   # recorded by the enumeration
        got = _recorded(info.stats.facets)
        if got is None:
            return None
        packed, start, group, label, flag = got
    else:
        root = problem.root_task()
        got = core.facets(root) if root is not None and core.takes(root) else None
        if got is None:
            return None
        P, start, group, label, flag, _ = got
        packed = np.packbits(P, axis=1)
    known = label != UNKNOWN_LABEL
    is_neuron = label >= 0
    if lifted is not None:  # lifted neurons -> the network's (the pass-through neurons: none)
        cols = lifted.lift.cols
        P = np.unpackbits(packed, axis=1, count=problem.network.n_hidden)[:, cols]
        packed = np.packbits(P, axis=1)
        to_x = np.full(problem.network.n_hidden, -1, np.int64)
        to_x[cols] = np.arange(len(cols))
        neuron = np.where(is_neuron, to_x[np.where(is_neuron, label, 0)], -1)
        # root rows: the lifted box's (no boundary: dropped), then a lifted box domain's cone rows,
        # the box's half-spaces in order (`engine.lifting.box_cone`)
        root_row = np.where(known & ~is_neuron, -1 - label, -1)
        on_domain = root_row >= problem.rule.n_box
        domain_row = np.where(on_domain, root_row - problem.rule.n_box, -1)
        drop = known & ~is_neuron & ~on_domain
        bad_row = ~known | (is_neuron & (neuron < 0))
    else:
        A = problem.domain.halfspaces()[0]
        kept = np.append(np.flatnonzero(np.linalg.norm(A, axis=1) > 0), -1)  # the rows unit_rows keeps
        neuron = np.where(is_neuron, label, -1)
        is_domain = known & ~is_neuron
        domain_row = np.where(is_domain, kept[np.where(is_domain, -1 - label, -1)], -1)
        drop = np.zeros(len(label), bool)
        bad_row = ~known
    keep = ~drop
    region = np.repeat(np.arange(len(packed)), np.diff(start))
    flag = flag.astype(bool)
    flag[region[bad_row]] = True
    return packed, flag, region[keep], group[keep], neuron[keep], domain_row[keep]


def core_facets(result, tol: float, md: int):
    """The facets of the regions the compiled core settles, or None when it does not apply.

    Returns a dict: ``covered`` (result regions settled here); per facet, ordered by region and
    within a region by first row, ``f_region``, ``f_neighbour`` (-1 on the boundary),
    ``f_boundary``, ``f_len`` (its rows); and per facet row, facet by facet, ``r_member`` (the row
    as `compute_facets` numbers them: ``k`` for the domain's ``k``-th half-space, ``md + j`` for
    neuron ``j``, in increasing order).
    """
    got = _run_core(result, tol)
    if got is None:
        return None
    packed, flag, region, group, neuron, domain_row = got
    find = pattern_index(result.patterns)
    ridx = find(packed)
    # facets: consecutive rows of one (region, group); regions in the core's order
    new = np.ones(len(region), bool)
    new[1:] = (region[1:] != region[:-1]) | (group[1:] != group[:-1])
    fid = np.cumsum(new) - 1
    nf = int(new.sum())
    f_region = region[new]
    n_rows = np.bincount(fid, minlength=nf)
    n_neuron = np.bincount(fid[neuron >= 0], minlength=nf)
    f_boundary = n_neuron == 0
    fs = np.flatnonzero((n_rows == 1) & (n_neuron == 1))
    f_nb = np.full(nf, -1, np.int64)
    if len(fs):
        j = neuron[new][fs]
        q = packed[f_region[fs]]
        q[np.arange(len(fs)), j // 8] ^= (1 << (7 - j % 8)).astype(np.uint8)
        f_nb[fs] = find(q)
    unresolved = ~f_boundary & (f_nb < 0)   # several neurons, or no region across
    flag[f_region[unresolved]] = True
    nfac = np.bincount(f_region, minlength=len(packed))
    good = np.flatnonzero((ridx >= 0) & ~flag & (nfac > 0))
    good = good[np.argsort(ridx[good])]
    fstart = np.concatenate([[0], np.cumsum(nfac)])
    fsel = ranges(fstart[good], fstart[good + 1])
    rstart = np.append(np.flatnonzero(new), len(new))
    rsel = ranges(rstart[fsel], rstart[fsel + 1])
    member = np.where(neuron >= 0, md + neuron, domain_row)
    return {"covered": ridx[good], "f_region": ridx[f_region[fsel]], "f_neighbour": f_nb[fsel],
            "f_boundary": f_boundary[fsel], "f_len": n_rows[fsel], "r_member": member[rsel]}
