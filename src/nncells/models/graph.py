"""Model graphs to layered `Network`s: nonlinear units over affine expressions, then layers by level.

A `GraphBuilder` follows the tensors of a model as `Expr` affine expressions over *state
variables*: the input coordinates (level 0) and the outputs of the ReLU units created so far.
Only the nonlinear ops create units, each with the pre-activation it is given and a *level*
``1 +`` the highest level among the variables that pre-activation uses:

- ``relu(e)``: one unit per entry;
- ``leaky_relu(e, a) = relu(e) - a relu(-e)``: two units per entry (``e`` and ``-e``), always on
  opposite sides of one hyperplane (PReLU: ``a`` per channel; ``abs`` is ``a = -1``);
- ``clamp(e, lo, hi) = lo + relu(e - lo) - relu(e - hi)``: two units per entry (one with an
  infinite bound: ``lo + relu(e - lo)`` or ``hi - relu(hi - e)``); ReLU6 and Hardtanh are clamps;
- ``maximum(a, b) = a + relu(b - a)``, ``minimum(a, b) = a - relu(a - b)`` (a tie picks ``a``);
- max pooling: a tournament of pairwise maxima over every window (pairs in window order, an odd
  one passes to the next round).

`finish` lays the units out as a `Network`: hidden layer ``L`` holds the ReLU units of level
``L`` (in the order they were made) and then *linear* carry units for what a *consumer* (a block
of units of a higher level, or the output) uses of a lower level: either those variables (one
carry each, shared between consumers) or the consumer's rows restricted to them (one carry per
distinct row up to sign, which the consumer then reads with coefficient 1 and which later layers
pass on as a variable of level ``L``), whichever takes fewer units. The output layer is the
output expression. Groups of units that nothing downstream refers to (dead code) are left out.
A chain of layers has no carries and compiles to the layers the chain reader always produced.
"""
from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from nncells.errors import ModelError
from nncells.models.expr import Expr, broadcast, check_dense, concat_flat, gather, lincomb
from nncells.models.layers import pool_windows
from nncells.network import Network

if TYPE_CHECKING:
    from collections.abc import Sequence


class GraphBuilder:
    """Units and levels of a model graph whose input is one sample of shape ``input_shape``.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one input sample (no batch dimension), e.g. ``(784,)`` or ``(1, 28, 28)``.

    Examples
    --------
    A residual block ``x + relu(W x)`` on R^2: one ReLU layer that also carries ``x``:

    >>> import numpy as np
    >>> from nncells.models.layers import linear
    >>> from nncells.models.expr import lincomb
    >>> g = GraphBuilder((2,))
    >>> x = g.input
    >>> h = g.relu(linear(x, np.array([[1.0, -1.0], [0.5, 2.0]])))
    >>> net = g.finish(lincomb([(1.0, x), (1.0, h)]))
    >>> net, net.linear_mask.tolist()
    (Network(2-4-2, 2 linear units), [False, False, True, True])
    >>> net.forward([1.0, 2.0]).tolist()
    [1.0, 6.5]
    """

    def __init__(self, input_shape: Sequence[int]) -> None:
        shape = tuple(int(s) for s in input_shape)
        if not shape or any(s <= 0 for s in shape):
            raise ModelError(f"input shape must be positive integers, got {tuple(input_shape)}")
        self.input_shape = shape
        d = prod(shape)
        self.n_vars = d
        self._levels = [np.zeros(d, dtype=np.int64)]
        self._groups: list[tuple[int, np.ndarray, object, np.ndarray]] = []   # (first id, cols, M, c)
        self._tournaments: list = []   # windows of 3+ entries: trees (unit id, left, right) of their comparisons
        self.input = Expr(shape, np.arange(d), sp.identity(d, format="csr"), np.zeros(d))

    def levels(self) -> np.ndarray:
        """Level of every state variable (0: inputs).

        Examples
        --------
        >>> g = GraphBuilder((2,))
        >>> _ = g.relu(g.input)
        >>> g.levels().tolist()
        [0, 0, 1, 1]
        """
        if len(self._levels) > 1:
            self._levels = [np.concatenate(self._levels)]
        return self._levels[0]

    # ---------------------------------------------------------------- units
    def _units(self, cols, M, c) -> np.ndarray:
        """New ReLU units with pre-activations ``M @ v[cols] + c``; returns their ids."""
        n = M.shape[0]
        lv = self.levels()[cols]
        group_level = int(lv.max()) if len(lv) else 0
        rowmax = np.full(n, -1, dtype=np.int64)
        if sp.issparse(M):
            coo = sp.coo_array(M)
            keep = coo.data != 0
            np.maximum.at(rowmax, coo.row[keep], lv[coo.col[keep]])
        else:
            for L in np.unique(lv)[::-1] if len(np.unique(lv)) > 1 else ():   # one level: nothing to find
                hit = (np.asarray(M)[:, lv == L] != 0).any(axis=1) & (rowmax < 0)
                rowmax[hit] = L
        rowmax[rowmax < 0] = group_level   # a constant pre-activation: as deep as its operands
        ids = np.arange(self.n_vars, self.n_vars + n)
        self._groups.append((self.n_vars, np.asarray(cols), M, np.asarray(c, dtype=np.float64)))
        self._levels.append(rowmax + 1)
        self.n_vars += n
        return ids

    def relu(self, e: Expr) -> Expr:
        """``relu(e)``: one unit per entry (none if ``e`` is already a ReLU output).

        Examples
        --------
        >>> g = GraphBuilder((3,))
        >>> h = g.relu(g.input)
        >>> g.relu(h) is h, g.finish(h)
        (True, Network(3-3-3))
        """
        if e.nonneg:
            return e
        if not len(e.cols):
            return _constant(e, np.maximum(e.c, 0.0))
        ids = self._units(e.cols, e.M, e.c)
        return Expr(e.shape, ids, sp.identity(e.size, format="csr"), np.zeros(e.size), nonneg=True)

    def leaky_relu(self, e: Expr, slope) -> Expr:
        """``relu(e) - slope * relu(-e)`` with two units per entry; ``slope`` a scalar or an array
        broadcastable to the shape (PReLU).

        Examples
        --------
        >>> g = GraphBuilder((2,))
        >>> net = g.finish(g.leaky_relu(g.input, 0.1))
        >>> net, net.forward([1.0, -1.0]).tolist()
        (Network(2-4-2), [1.0, -0.1])
        """
        a = np.broadcast_to(np.asarray(slope, dtype=np.float64), e.shape).reshape(-1)
        if np.all(a == 0.0):
            return self.relu(e)
        if np.all(a == 1.0):
            return e
        if not len(e.cols):
            return _constant(e, np.where(e.c > 0, e.c, a * e.c))
        M = sp.vstack([e.M, -e.M], format="csr") if sp.issparse(e.M) else np.vstack([e.M, -e.M])
        ids = self._units(e.cols, M, np.concatenate([e.c, -e.c]))
        n = e.size
        out = sp.hstack([sp.identity(n), sp.diags_array(-a) if np.ndim(slope) else -float(slope) * sp.identity(n)],
                        format="csr")
        return Expr(e.shape, ids, out, np.zeros(n), nonneg=bool(np.all(a <= 0)))

    def abs(self, e: Expr) -> Expr:
        """``|e| = relu(e) + relu(-e)``: two units per entry.

        Examples
        --------
        >>> g = GraphBuilder((1,))
        >>> g.finish(g.abs(g.input)).forward([-3.0]).tolist()
        [3.0]
        """
        return self.leaky_relu(e, -1.0)

    def clamp(self, e: Expr, lo=None, hi=None) -> Expr:
        """``min(max(e, lo), hi)`` for scalar bounds (None or infinite: no bound).

        Examples
        --------
        >>> g = GraphBuilder((3,))
        >>> net = g.finish(g.clamp(g.input, 0.0, 6.0))
        >>> net, net.forward([-1.0, 3.0, 9.0]).tolist()
        (Network(3-6-3), [0.0, 3.0, 6.0])
        """
        lo = -np.inf if lo is None else float(lo)
        hi = np.inf if hi is None else float(hi)
        n = e.size
        if lo >= hi:
            return _constant(e, np.full(n, hi))
        if np.isinf(lo) and np.isinf(hi):
            return e
        if not len(e.cols):
            return _constant(e, np.clip(e.c, lo, hi))
        I = sp.identity(n, format="csr")
        if np.isinf(hi):   # lo + relu(e - lo)
            ids = self._units(e.cols, e.M, e.c - lo)
            return Expr(e.shape, ids, I, np.full(n, lo), nonneg=lo >= 0)
        if np.isinf(lo):   # hi - relu(hi - e)
            ids = self._units(e.cols, -e.M, hi - e.c)
            return Expr(e.shape, ids, -I, np.full(n, hi))
        M = sp.vstack([e.M, e.M], format="csr") if sp.issparse(e.M) else np.vstack([e.M, e.M])
        ids = self._units(e.cols, M, np.concatenate([e.c - lo, e.c - hi]))
        return Expr(e.shape, ids, sp.hstack([I, -I], format="csr"), np.full(n, lo), nonneg=lo >= 0)

    def maximum(self, a: Expr, b: Expr) -> Expr:
        """``max(a, b) = a + relu(b - a)`` entrywise (broadcast); a tie picks ``a``.

        Examples
        --------
        >>> from nncells.models.expr import gather
        >>> g = GraphBuilder((2,))
        >>> x = g.input
        >>> g.finish(g.maximum(gather(x, [0]), gather(x, [1]))).forward([1.0, 3.0]).tolist()
        [3.0]
        """
        return self._maximum(a, b)[0]

    def _maximum(self, a: Expr, b: Expr):
        """`maximum` and the ids of its units (one per entry: ``relu(b - a)``; None for constants)."""
        a, b = _same_shape(a, b)
        if not len(a.cols) and not len(b.cols):
            return _constant(a, np.maximum(a.c, b.c)), None
        d = lincomb([(1.0, b), (-1.0, a)])
        ids = self._units(d.cols, d.M, d.c)
        u = Expr(d.shape, ids, sp.identity(d.size, format="csr"), np.zeros(d.size))
        out = lincomb([(1.0, a), (1.0, u)])
        out.nonneg = a.nonneg or b.nonneg
        return out, ids

    def minimum(self, a: Expr, b: Expr) -> Expr:
        """``min(a, b) = a - relu(a - b)`` entrywise (broadcast); a tie picks ``a``.

        Examples
        --------
        >>> from nncells.models.expr import gather
        >>> g = GraphBuilder((2,))
        >>> x = g.input
        >>> g.finish(g.minimum(gather(x, [0]), gather(x, [1]))).forward([1.0, 3.0]).tolist()
        [1.0]
        """
        a, b = _same_shape(a, b)
        if not len(a.cols) and not len(b.cols):
            return _constant(a, np.minimum(a.c, b.c))
        d = lincomb([(1.0, a), (-1.0, b)])
        ids = self._units(d.cols, d.M, d.c)
        u = Expr(d.shape, ids, sp.identity(d.size, format="csr"), np.zeros(d.size))
        out = lincomb([(1.0, a), (-1.0, u)])
        out.nonneg = a.nonneg and b.nonneg
        return out

    def max_of(self, e: Expr, windows, shape) -> Expr:
        """The maximum of every list of entries in ``windows`` (flat indices into ``e``) by a
        tournament of pairwise maxima: ``(w0, w1), (w2, w3), ...``, an odd one passes, then the
        winners again. The result has shape ``shape``.

        Examples
        --------
        >>> g = GraphBuilder((4,))
        >>> net = g.finish(g.max_of(g.input, [[0, 1, 2, 3]], (1,)))
        >>> net.forward([1.0, 5.0, 2.0, 4.0]).tolist(), net.widths   # two rounds
        ([5.0], [4, 2])
        """
        lists = [list(w) for w in windows]
        trees = [[None] * len(w) for w in lists]   # per window: the comparison tree of each survivor
        cur = e
        while any(len(w) > 1 for w in lists):
            A, B, new, first = [], [], [], []
            for w in lists:
                first.append(len(A))
                pairs = range(0, len(w) - 1, 2)
                new.append([-1 - len(A) - k for k in range(len(pairs))] + ([w[-1]] if len(w) % 2 else []))
                A += [w[i] for i in pairs]
                B += [w[i + 1] for i in pairs]
            m, ids = self._maximum(gather(cur, A), gather(cur, B))
            for t, f in zip(trees, first):
                t[:] = [None if ids is None else (int(ids[f + k]), t[i], t[i + 1])
                        for k, i in enumerate(range(0, len(t) - 1, 2))] + ([t[-1]] if len(t) % 2 else [])
            both = concat_flat([cur, m])
            lists = [[cur.size - 1 - i if i < 0 else i for i in w] for w in new]
            alive = np.unique(np.concatenate([np.asarray(w) for w in lists]))
            where = np.full(both.size, -1)
            where[alive] = np.arange(len(alive))
            cur = gather(both, alive)
            lists = [[int(where[i]) for i in w] for w in lists]
        out = gather(cur, np.array([w[0] for w in lists], dtype=np.int64).reshape(shape))
        out.nonneg = e.nonneg
        self._tournaments += [t[0] for t in trees if _depth(t[0]) > 1]   # (a window of 2 is its argmax)
        return out

    def maxpool2d(self, e: Expr, kernel, stride, pads=(0, 0, 0, 0), dilation=(1, 1), ceil_mode=False) -> Expr:
        """2-D max pooling of a (C, H, W) tensor; ``pads`` (top, left, bottom, right) are -inf.

        Examples
        --------
        >>> g = GraphBuilder((1, 2, 4))
        >>> y = g.maxpool2d(g.input, (2, 2), (2, 2))
        >>> y.shape, g.finish(y).forward([1.0, 2, 3, 4, 5, 6, 7, 8]).tolist()
        ((1, 1, 2), [6.0, 8.0])
        """
        if len(e.shape) != 3:
            raise ModelError(f"2-D max pooling needs a (channels, height, width) input, got shape {e.shape}")
        C, H, W = e.shape
        wy = pool_windows(H, kernel[0], stride[0], pads[0], pads[2], dilation[0], ceil_mode)
        wx = pool_windows(W, kernel[1], stride[1], pads[1], pads[3], dilation[1], ceil_mode)
        windows = [[(ch * H + y) * W + x for y in ys for x in xs] for ch in range(C) for ys in wy for xs in wx]
        return self.max_of(e, windows, (C, len(wy), len(wx)))

    # -------------------------------------------------------------- compile
    def finish(self, out: Expr, ignored_output_ops=()) -> Network:
        """The layered `Network` computing ``out`` (see the module docstring for the layout).

        Examples
        --------
        Two residual blocks on R^2 and a sum: layer 1 carries ``x`` (2 variables), layer 2 the
        output's one row restricted to ``x`` and the first block (not those 6 variables):

        >>> import numpy as np
        >>> from nncells.models.layers import linear
        >>> g = GraphBuilder((2,))
        >>> s = x = g.input
        >>> for W in (np.arange(8.0).reshape(4, 2) - 3, np.array([[1.0, 2], [2, -1], [-1, 3], [0.5, 0.5]])):
        ...     s = lincomb([(1.0, s), (1.0, linear(g.relu(linear(s, W)), np.ones((2, 4))))])
        >>> net = g.finish(linear(s, np.ones((1, 2))), ignored_output_ops=["Softmax at 'head'"])
        >>> net, net.ignored_output_ops, net.forward([1.0, -1.0]).tolist()
        (Network(2-6-5-1, 3 linear units), ("Softmax at 'head'",), [6.0])
        """
        levels = self.levels()
        d = prod(self.input_shape)
        alive = np.zeros(self.n_vars, dtype=bool)
        alive[out.cols] = True
        keep = []   # groups of units that something downstream refers to
        for g in reversed(self._groups):
            start, cols, M, c = g
            if alive[start:start + M.shape[0]].any():
                alive[cols] = True
                keep.append(g)
        keep.reverse()
        is_unit = np.zeros(self.n_vars, dtype=bool)
        for start, cols, M, c in keep:
            is_unit[start:start + M.shape[0]] = True
        L_max = int(levels[is_unit].max()) if is_unit.any() else 0
        # consumers: blocks [level, units, cols, M, c, nonzero columns] of units of one level, then the output
        blocks = []
        for start, cols, M, c in keep:
            ulev = levels[start:start + M.shape[0]]
            for L in np.unique(ulev):
                rows = np.flatnonzero(ulev == L)
                blk = M if len(rows) == M.shape[0] else M[rows]
                blocks.append([int(L), start + rows, cols, blk, c[rows], cols[_nonzero_columns(blk)]])
        blocks.append([L_max + 1, None, out.cols, out.M, out.c, out.cols[_nonzero_columns(out.M)]])
        lev = levels   # levels of the variables, and of the row carries as they are made
        Ws, bs, masks = [], [], []
        at, offset = np.full(self.n_vars, -1, dtype=np.int64), 0   # a unit's place in the pattern
        prev = np.full(self.n_vars, -1, dtype=np.int64)
        prev[:d] = np.arange(d)
        n_prev = d
        for L in range(1, L_max + 2):
            relus = np.flatnonzero(is_unit & (levels == L)) if L <= L_max else np.zeros(0, np.int64)
            carries, rows, lev = _carries(blocks, lev, L) if L <= L_max else (np.zeros(0, np.int64), [], lev)
            order = np.concatenate([relus, carries] + [r[0] for r in rows])
            pos = np.full(len(lev), -1, dtype=np.int64)
            pos[order] = np.arange(len(order))
            prev = np.concatenate([prev, np.full(len(lev) - len(prev), -1, dtype=np.int64)])
            n_rows = len(order) if L <= L_max else out.size
            check_dense(n_rows, n_prev, f"hidden layer {L - 1}" if L <= L_max else "the output layer")
            W, b = _layer([blk[1:] for blk in blocks if blk[0] == L] + rows, pos, prev, n_rows, n_prev)
            W[pos[carries], prev[carries]] = 1.0
            at[relus] = offset + pos[relus]
            offset += len(order)
            Ws.append(W)
            bs.append(b)
            masks.append(np.arange(len(order)) >= len(relus))
            prev, n_prev = pos, len(order)
        trees = [_positions(t, at) for t in self._tournaments]
        return Network(Ws, bs, linear=masks[:-1], ignored_output_ops=ignored_output_ops,
                       tournaments=[t for t in trees if t is not None])


def _carries(blocks, lev, L):
    """The carries of hidden layer ``L`` (see the module docstring), chosen by `_choose`: the ids of
    the variables carried, the blocks ``(units, cols, M, c, nonzero columns)`` of the row carries
    (new variables of level ``L``: ``lev`` comes back extended); rewrites their consumers in place."""
    need = [(blk, blk[5][lev[blk[5]] < L]) for blk in blocks if blk[0] > L]
    need = [(blk, S) for blk, S in need if len(S)]
    split = [_low_rows(blk, lev, L) for blk, _ in need]
    use_rows = _choose([S for _, S in need], [len(reps) for _, _, reps, _ in split]) if need else []
    carries = np.unique(np.concatenate([np.zeros(0, np.int64)] + [S for (_, S), r in zip(need, use_rows) if not r]))
    rows, n = [], len(lev)
    for (blk, _), (low, Ml, reps, coef), r in zip(need, split, use_rows):
        if r:   # row i of the consumer reads its carry ``|coef[i]| - 1`` with the sign of ``coef[i]``
            ids, hit, R = np.arange(n, n + len(reps)), np.flatnonzero(coef), Ml[reps]
            n += len(reps)
            rows.append((ids, blk[2][low], R, np.zeros(len(ids)), blk[2][low][_nonzero_columns(R)]))
            P = sp.csr_array((np.sign(coef[hit]).astype(np.float64), (hit, np.abs(coef[hit]) - 1)),
                             shape=(len(coef), len(ids)))
            blk[3] = sp.hstack([sp.csr_array(blk[3])[:, np.flatnonzero(~low)], P], format="csr")
            blk[2] = np.concatenate([blk[2][~low], ids])
            blk[5] = blk[2][_nonzero_columns(blk[3])]
    return carries, rows, np.concatenate([lev, np.full(n - len(lev), L, dtype=np.int64)])


def _low_rows(blk, lev, L):
    """A consumer's mask of columns of a level below ``L``, its CSR matrix on them, its rows that
    stand for its distinct nonzero rows up to sign, and per row ``+-(j + 1)``: ``+-`` the ``j``-th
    of those (0: a zero row)."""
    cols, low = blk[2], lev[blk[2]] < L
    Ml = sp.csr_array(blk[3])[:, np.flatnonzero(low)].tocsr()
    Ml.eliminate_zeros()
    Ml.sort_indices()
    seen, reps, coef = {}, [], np.zeros(Ml.shape[0], dtype=np.int64)
    for i in np.flatnonzero(np.diff(Ml.indptr)):
        at = slice(Ml.indptr[i], Ml.indptr[i + 1])
        sign = 1 if Ml.data[at][0] > 0 else -1
        key = (cols[low][Ml.indices[at]].tobytes(), (sign * Ml.data[at]).tobytes())
        if key not in seen:
            seen[key] = (len(reps) + 1) * sign
            reps.append(i)
        coef[i] = seen[key] * sign
    return low, Ml, np.asarray(reps, dtype=np.int64), coef


def _choose(sets, k):
    """Which consumers carry their ``k[i]`` rows (True) rather than their variables ``sets[i]``
    (shared), for the fewest units: a local search from all variables, all rows and each
    consumer's cheaper choice, flipping one consumer at a time; a tie keeps variables."""
    ids, inv = np.unique(np.concatenate(sets), return_inverse=True)
    members = np.split(inv, np.cumsum([len(S) for S in sets])[:-1])
    best = None
    for rows in ([False] * len(sets), [True] * len(sets), [kk < len(S) for kk, S in zip(k, sets)]):
        cnt = np.zeros(len(ids), dtype=np.int64)   # how many consumers carry each variable
        for m, r in zip(members, rows):
            cnt[m] += not r
        cost, improved = int((cnt > 0).sum()) + sum(kk for kk, r in zip(k, rows) if r), True
        while improved:
            improved = False
            for i, m in enumerate(members):
                delta = int((cnt[m] == 0).sum()) - k[i] if rows[i] else k[i] - int((cnt[m] == 1).sum())
                if delta < 0:
                    rows[i], improved, cost = not rows[i], True, cost + delta
                    cnt[m] += -1 if rows[i] else 1
        if best is None or cost < best[0]:
            best = (cost, rows)
    return best[1]


def _nonzero_columns(M) -> np.ndarray:
    """Indices of the columns of ``M`` with a nonzero entry."""
    if sp.issparse(M):
        coo = sp.coo_array(M)
        return np.unique(coo.col[coo.data != 0]).astype(np.int64)
    return np.flatnonzero((np.asarray(M) != 0).any(axis=0))


def _layer(blocks, pos, prev, n_rows, n_prev):
    """The dense weights and biases of one layer from its blocks ``(units, cols, M, c, nonzero
    columns)`` (units None: the output); ``pos`` places units in rows, ``prev`` variables in columns."""
    if len(blocks) == 1:   # one block in its own order, all columns: a chain's layer (no copy)
        units, cols, M, c, nz = blocks[0]
        rows = np.arange(n_rows) if units is None else pos[units]
        if len(rows) == n_rows and np.array_equal(rows, np.arange(n_rows)) and len(cols) == n_prev \
                and np.array_equal(prev[cols], np.arange(n_prev)):
            return M.toarray() if sp.issparse(M) else np.asarray(M), np.array(c, dtype=np.float64)
    W, b = np.zeros((n_rows, n_prev)), np.zeros(n_rows)
    for units, cols, M, c, nz in blocks:
        rows = np.arange(n_rows) if units is None else pos[units]
        if np.any(prev[nz] < 0) or np.any(rows < 0):
            raise ModelError("internal error: a unit uses a variable that its layer cannot reach")
        b[rows] = c
        if sp.issparse(M):
            coo = sp.coo_array(M)
            keep = coo.data != 0
            W[rows[coo.row[keep]], prev[cols[coo.col[keep]]]] = coo.data[keep]
        else:
            ok = np.flatnonzero(prev[cols] >= 0)
            W[np.ix_(rows, prev[cols[ok]])] = np.asarray(M)[:, ok]
    return W, b


def _constant(like: Expr, values) -> Expr:
    """A tensor of the shape of ``like`` with the constant entries ``values`` (no units)."""
    return Expr(like.shape, [], sp.csr_array((like.size, 0)), values)


def _same_shape(a: Expr, b: Expr):
    if a.shape == b.shape:
        return a, b
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ModelError(f"shapes {a.shape} and {b.shape} do not broadcast") from None
    return broadcast(a, shape), broadcast(b, shape)


def _positions(tree, at):
    """The tree ``(unit id, left, right)`` with pattern positions for ids; None where its root unit
    was left out (dead code)."""
    if tree is None or at[tree[0]] < 0:
        return None
    return (int(at[tree[0]]), _positions(tree[1], at), _positions(tree[2], at))


def _depth(tree) -> int:
    return 0 if tree is None else 1 + max(_depth(tree[1]), _depth(tree[2]))
