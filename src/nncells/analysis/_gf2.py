"""The reference twin of the compiled core's GF(2) column reduction (`nncells.kernels.homology`):
persistence pairs of a filtered regular cell complex in Python (`pairs`), the numbers
`nncells.analysis.homology` builds on.
"""
from __future__ import annotations

import numpy as np


def _find(parent: list[int], x: int) -> int:
    root = x
    while parent[root] != root:
        root = parent[root]
    while parent[x] != root:
        parent[x], x = root, parent[x]
    return root


def pairs(dims: np.ndarray, inc: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The persistence pairs ``(birth cells, death cells)`` of the filtration that adds the cells in
    ``order`` (faces before cofaces), by the standard column reduction over GF(2) with clearing.

    The columns of dimension ``k`` are reduced from the top dimension down; a column whose cell is
    the pivot (lowest row) of a reduced column one dimension up is zero after reduction and is
    skipped (clearing). Columns are Python ints used as bitsets over the positions, in filtration
    order, of the cells one dimension down, from the column's lowest position on (so an int holds
    the column's span, not every position below it). Columns of 1-cells that have two faces each are reduced
    by union-find, which gives the same pairs (the elder rule)."""
    n = len(dims)
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    top = int(dims.max())
    pos = np.empty(n, np.int64)                       # position of a cell among the cells of its dim
    by_dim = []
    od = dims[order]
    for k in range(top + 1):
        cells = order[od == k]
        pos[cells] = np.arange(len(cells))
        by_dim.append(cells)
    srt = np.argsort(inc[:, 1], kind="stable")
    fpos_a = pos[inc[srt, 0]]                          # face positions, grouped by coface
    counts = np.bincount(inc[:, 1], minlength=n)
    start_a = np.concatenate(([0], np.cumsum(counts)))
    low0_a = np.full(n, -1, np.int64)                  # the lowest row of each unreduced column
    nz = np.flatnonzero(counts)
    if nz.size:
        low0_a[nz] = np.maximum.reduceat(fpos_a, start_a[nz])
    fpos, start, low0 = fpos_a.tolist(), start_a.tolist(), low0_a.tolist()

    births: list[int] = []
    deaths: list[int] = []
    cleared = np.zeros(len(by_dim[top]), bool)
    for k in range(top, 0, -1):
        cols = by_dim[k].tolist()
        rows = by_dim[k - 1].tolist()
        skip = cleared.tolist()
        cleared = np.zeros(len(rows), bool)
        if (counts[by_dim[k]] == 2).all():          # union-find over the (k-1)-cells by position
            parent = list(range(len(rows)))
            for j, c in enumerate(cols):
                if skip[j]:
                    continue
                a = _find(parent, fpos[start[c]])
                b = _find(parent, fpos[start[c] + 1])
                if a != b:
                    young, old = (a, b) if a > b else (b, a)
                    parent[young] = old
                    births.append(rows[young])
                    deaths.append(c)
                    cleared[young] = True
            continue
        piv_cell = [-1] * len(rows)                   # the column that owns each pivot row
        piv_col: dict[int, tuple[int, int]] = {}       # its reduced column, built when first needed

        def column(c: int) -> tuple[int, int]:
            ps = fpos[start[c]:start[c + 1]]
            base = min(ps)
            x = 0
            for p in ps:
                x ^= 1 << (p - base)
            return base, x

        for j, c in enumerate(cols):
            if skip[j] or low0[c] < 0:
                continue
            low = low0[c]
            if piv_cell[low] >= 0:
                base, x = column(c)                  # rows base + (bits of x): its span only
                while x:
                    low = base + x.bit_length() - 1
                    owner = piv_cell[low]
                    if owner < 0:
                        break
                    got = piv_col.get(low)
                    if got is None:
                        got = piv_col[low] = column(owner)
                    yb, y = got
                    if yb >= base:
                        x ^= y << (yb - base)
                    else:
                        x, base = (x << (base - yb)) ^ y, yb
                    if x:
                        tz = (x & -x).bit_length() - 1
                        x, base = x >> tz, base + tz
                if not x:
                    continue
                piv_col[low] = (base, x)
            piv_cell[low] = c
            births.append(rows[low])
            deaths.append(c)
            cleared[low] = True
    return np.asarray(births, np.int64), np.asarray(deaths, np.int64)
