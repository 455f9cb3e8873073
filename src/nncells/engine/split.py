"""Cells of a hyperplane arrangement inside one convex cell: the hot loop.

A cell ``P = {x : A x <= c}`` (rows of unit norm) with a known interior ball is cut by
hyperplanes ``h_i(x) = H_i x + g_i``. A side of a hyperplane counts in a (sub-)cell iff it holds
a point deeper than ``tol`` times its own coordinates (the contract of
`nncells.geometry.contract`); otherwise it is a sliver. First, without an LP,
1. a zero normal decides a neuron constant on ``P``;
2. interval bounds of ``h_i`` over a bounding box of ``P`` decide the hyperplanes far from it.

In low dimension (``2 <= d <= _config.VERTEX_MAX_DIM``, 6: measured faster than LPs up to there)
on bounded cells, the rest is the *vertex mode* of `vertex`: a hyperplane's range over a cell is
its range over the cell's vertices, so every pair is decided exactly without an LP.

Otherwise (*LP mode*, `_split_by_lps`):
3. a *screen* tests every hyperplane against ``P`` itself: one that does not cut ``P`` costs one
   LP and is decided for every sub-cell; one that cuts it leaves a witness on each side;
4. the cells of the arrangement of the cutting hyperplanes are built hyperplane by hyperplane;
   each (sub-cell, side) pair is decided, in order of cost, by *witness balls* known inside the
   sub-cell (a ball straddling ``h_i`` proves both sides), a *certificate* (the LP duals that
   proved the same side thin in another sub-cell of the same hyperplane, when the sub-cell has
   all the rows they use), a *ray* from a witness ball across ``h_i`` (`_shoot`), from 256 inputs
   a *mixture* of the split's witness balls (`geometry.witness_balls`), and last one LP
   (`contract.Rule.deepest`; the LPs of one split share one warm-started HiGHS model,
   `depth_lps.CellDepth`). Every point found becomes a witness, checked in float64. A ray's (or
   mixture's) ball that proves its side by less than the borderline margin still asks the LP for a deeper one
   (far regions are not reported as borderline), and a side no LP proved in the cell's units is
   tried once more in the units of its hyperplane's distance from the origin when that is far
   smaller (`_Sides._near`: a side near the origin of a huge cell; see docs/numerics.md).

A cell of a box domain keeps the box as bounds (``Cell.bounds``): its LPs are first the small
shrunk-box LPs of `geometry.box_depth` (one row per neuron so far, the compiled core's simplex),
whose "yes" and "no" are verified in float64; the exact LP above decides only what they cannot
(a *fallback*, counted).
"""
from __future__ import annotations

import numpy as np

from nncells import _config
from nncells.engine.cells import Cell, Child
from nncells.engine.vertex import split_by_vertices
from nncells.geometry.contract import Rule, deepest_point, gamma
from nncells.geometry.norms import row_norms, unit
from nncells.geometry.box_depth import BoxDepth, box_reach, note_fallback
from nncells.geometry.depth_lps import CellDepth
from nncells.geometry.witness_balls import caps as _caps, certified_ball, mix_witness, value_error as _value_error


def _interval(Hn, gn, box):
    lo, hi = box
    a = Hn * lo
    b = Hn * hi
    return gn + np.minimum(a, b).sum(axis=1), gn + np.maximum(a, b).sum(axis=1)


def split_cell(cell: Cell, H: np.ndarray, g: np.ndarray, rule: Rule, zero: np.ndarray | None = None,
               partial=None, t_end: float = float("inf")):
    """The full-dimensional cells of the arrangement ``{H x + g = 0}`` inside ``cell``.

    Returns ``(children, leftovers)``. In vertex mode the split stops at time ``t_end``
    (``time.perf_counter()``) and ``leftovers`` lists ``(sub_cell, signs, rest)``: sub-cells whose
    hyperplanes ``rest`` are still undecided (the others have ``signs``); passing
    ``partial=(signs, rest)`` with such a sub-cell as ``cell`` continues the split.

    Parameters
    ----------
    cell : the cell to cut (rows of ``cell.A`` of unit norm).
    H, g : (k, d) and (k,) hyperplanes.
    rule : the contract (`nncells.contract.Rule`): which sides count.
    zero : (k,) bool, rows whose normal is zero within the error bound of the product that
        computed it (default: exactly zero rows): the neuron is constant on the cell.

    Examples
    --------
    The square ``[-1, 1]^2`` (no bounding box given, so LP mode) cut by both axes:

    >>> import numpy as np
    >>> from nncells.engine.cells import Cell
    >>> from nncells.geometry.contract import Rule
    >>> sq = Cell(np.vstack([np.eye(2), -np.eye(2)]), np.ones(4), np.zeros(2), 1.0, np.zeros((0, 2)), np.zeros(0))
    >>> kids, _ = split_cell(sq, np.eye(2), np.zeros(2), Rule())
    >>> sorted(tuple(map(int, k.signs)) for k in kids)
    [(0, 0), (0, 1), (1, 0), (1, 1)]
    """
    k, d = H.shape
    norms = row_norms(H)
    zero = (norms == 0) if zero is None else (zero | (norms == 0))
    safe = np.where(zero, 1.0, norms)
    Hn = H / safe[:, None]
    gn = g / safe
    if partial is None:
        signs = np.zeros(k, dtype=bool)
        decided = zero.copy()
        # A neuron constant on the cell: active iff its (constant) pre-activation is > 0.
        signs[zero] = g[zero] > 0
    else:
        signs = partial[0].copy()
        decided = np.ones(k, dtype=bool)
        decided[partial[1]] = False
    if cell.box is not None and 2 <= d <= _config.VERTEX_MAX_DIM + (rule.lifted_dim is not None):
        result = split_by_vertices(cell, Hn, gn, signs, np.flatnonzero(~decided), rule, t_end)
        if result is not None:
            return result
    if cell.box is not None:
        vmin, vmax = _interval(Hn, gn, cell.box)
        big = np.maximum(np.abs(cell.box[0]), np.abs(cell.box[1]))
        err = gamma(d + 1) * (np.abs(Hn) @ big + np.abs(gn))
        pos = ~decided & (vmin >= err)
        neg = ~decided & ~pos & (vmax <= -err)
        signs[pos] = True
        decided |= pos | neg
    todo = np.flatnonzero(~decided)
    return _split_by_lps(cell, Hn, gn, signs, todo, rule), []


def _split_by_lps(cell, Hn, gn, signs, todo, rule):
    """LP mode: the children of ``cell`` cut by the hyperplanes ``todo`` (the others decided)."""
    k = len(Hn)
    sides = _Sides(cell, Hn, gn, todo, rule)
    # The witnesses start from the cell's own ball only: a task handed back at a time budget
    # loses the others (`Task.pack`), and the LP count must not depend on timing (measured: the
    # inherited witnesses saved at most one LP per network).
    wp, wr = cell.point[None, :], np.array([cell.radius])
    none = np.zeros(k, dtype=bool)
    no_rows = np.zeros(0, dtype=np.int64)

    # 1. Screen: each hyperplane against the whole cell. One that does not cut it is decided for
    #    every sub-cell (one LP instead of one per sub-cell); one that cuts it leaves a witness
    #    on each side, for the splits below.
    cutting = []
    for i in todo:
        has = {}
        for side in (True, False):
            vals = wp @ Hn[i] + gn[i]
            verr = _value_error(wp, wr, Hn[i], gn[i])
            has[side] = bool(np.any(_witnessed(rule, wp, wr, vals, verr, Hn[i], side)))
            if not has[side]:
                balls = (wp, wr, vals, np.arange(len(wr))) if wp.shape[1] >= _MIX_DIM else None
                x, r = sides.find(i, side, no_rows, wp, wr, vals, wp[:0], balls)
                if x is not None:
                    wp, wr = np.vstack([wp, x[None, :]]), np.append(wr, r)
                    has[side] = True
        if has[True] and has[False]:
            cutting.append(i)
        elif has[True] or has[False]:
            signs[i] = has[True]
        else:  # both sides thinner than tol: the cell itself is a sliver; keep its best witness's side
            vals = wp @ Hn[i] + gn[i]
            signs[i] = np.max(_caps(wp, wr, vals, 0.0, Hn[i], True)[1]) >= np.max(_caps(wp, wr, vals, 0.0, Hn[i], False)[1])

    # 2. Split by the hyperplanes that cut the cell, one at a time. Sub-cells: sign rows, cut
    #    masks (which hyperplanes bound the sub-cell), witnesses with owners.
    sub_signs = [signs.copy()]
    sub_cuts = [none.copy()]
    sub_rows = [no_rows]  # the sub-cell's rows among `_Sides`'s extra rows
    owner = np.zeros(len(wp), dtype=np.int64)
    tree = ([-1], [[]])  # each sub-cell's parent (the one it left) and children, for `_candidates`
    for i in cutting:
        sides.start()
        vals = wp @ Hn[i] + gn[i]
        verr = _value_error(wp, wr, Hn[i], gn[i])
        n_sub = len(sub_signs)
        # A witness ball of radius r whose centre is at signed distance v from h holds, on the
        # positive side, a ball of radius min(r, (r + v) / 2) (the cap of depth r + v), and
        # min(r, (r - v) / 2) on the negative side: one ball that straddles h proves a cut.
        pos_r = _caps(wp, wr, vals, 0.0, Hn[i], True)[1]
        neg_r = _caps(wp, wr, vals, 0.0, Hn[i], False)[1]
        best_pos = np.full(n_sub, -np.inf)
        best_neg = np.full(n_sub, -np.inf)
        np.maximum.at(best_pos, owner, pos_r)
        np.maximum.at(best_neg, owner, neg_r)
        wit_pos = np.zeros(n_sub, dtype=bool)
        wit_neg = np.zeros(n_sub, dtype=bool)
        np.logical_or.at(wit_pos, owner, _witnessed(rule, wp, wr, vals, verr, Hn[i], True))
        np.logical_or.at(wit_neg, owner, _witnessed(rule, wp, wr, vals, verr, Hn[i], False))
        new_pts, new_rad, new_own = [], [], []
        split_of = np.full(n_sub, -1, dtype=np.int64)
        aimed = wp.shape[1] >= _AIM_DIM  # else (few inputs: LPs cost little) the first witnesses
        if aimed:
            by_owner = [[] for _ in range(n_sub)]  # each sub-cell's balls, in order
            for b, o in enumerate(owner.tolist()):
                by_owner[o].append(b)
        else:
            first = {True: wp[vals > 0][:_FIRST_TARGETS], False: wp[vals < 0][:_FIRST_TARGETS]}
        for j in range(n_sub):
            has_pos, has_neg = bool(wit_pos[j]), bool(wit_neg[j])
            for side in ((True,) if not has_pos else ()) + ((False,) if not has_neg else ()):
                mine = owner == j
                if aimed:
                    far = _candidates(j, tree, by_owner, vals, side)
                    A_j, c_j = sides.A[sides.m + sub_rows[j]], sides.c[sides.m + sub_rows[j]]
                    far = far[_aim(A_j, c_j, wp[mine], wr[mine], vals[mine], wp[far], wr[far], vals[far], side)]
                    Q = wp[far]
                    balls = (wp, wr, vals, np.r_[np.flatnonzero(mine), far]) if wp.shape[1] >= _MIX_DIM else None
                else:
                    Q, balls = first[side], None
                x, r = sides.find(i, side, sub_rows[j], wp[mine], wr[mine], vals[mine], Q, balls)
                if x is not None:
                    new_pts.append(x)
                    new_rad.append(r)
                    new_own.append(j)
                    if side:
                        has_pos = True
                    else:
                        has_neg = True
            if has_pos and has_neg:
                # Split: j keeps the positive side, a new sub-cell takes the negative side.
                s = sub_signs[j].copy()
                s[i] = False
                cmask = sub_cuts[j].copy()
                cmask[i] = True
                sub_signs[j][i] = True
                sub_cuts[j][i] = True
                split_of[j] = len(sub_signs)
                tree[0].append(j)
                tree[1].append([])
                tree[1][j].append(len(sub_signs))
                sub_signs.append(s)
                sub_cuts.append(cmask)
                sub_rows.append(np.append(sub_rows[j], sides.row(i, False)))
                sub_rows[j] = np.append(sub_rows[j], sides.row(i, True))
            elif has_neg:
                sub_signs[j][i] = False
            elif has_pos:
                sub_signs[j][i] = True
            else:  # both sides thinner than tol: the sub-cell itself is a sliver; keep its best witness's side
                sub_signs[j][i] = best_pos[j] >= best_neg[j]
        if new_pts:
            wp = np.vstack([wp, np.asarray(new_pts)])
            wr = np.concatenate([wr, new_rad])
            owner = np.concatenate([owner, new_own])
            vals = wp @ Hn[i] + gn[i]
            verr = _value_error(wp, wr, Hn[i], gn[i])
        # A witness of a split sub-cell becomes the largest ball inside it on each side of h
        # (less the error bound of the value it was computed from): the positive one in its
        # place, the negative one after all the balls.
        if len(sub_signs) > n_sub:
            moved = split_of[owner] >= 0
            p_up, up = _caps(wp[moved], wr[moved], vals[moved], verr[moved], Hn[i], True)
            p_down, down = _caps(wp[moved], wr[moved], vals[moved], verr[moved], Hn[i], False)
            n_w = len(wr)
            wp, wr = np.vstack([wp, p_down]), np.concatenate([wr, down])  # (new arrays)
            wp[:n_w][moved], wr[:n_w][moved] = p_up, up
            owner = np.concatenate([owner, split_of[owner[moved]]])
        keep = wr > 0
        wp, wr, owner = wp[keep], wr[keep], owner[keep]

    children = []
    for j, (s, cmask) in enumerate(zip(sub_signs, sub_cuts)):
        mine = owner == j
        pts, rad = wp[mine], wr[mine]
        if len(rad) == 0:  # cannot happen for a full-dimensional sub-cell; guard anyway
            continue
        best = int(np.argmax(rad))
        A_s, c_s = _rows(cell, Hn, gn, s, cmask)
        children.append(Child(s, Cell(A_s, c_s, pts[best], float(rad[best]), pts, rad, cell.box,
                                      bounds=cell.bounds), cmask))
    return children


_NEAR = 2.0 ** -4  # a hyperplane this much nearer the origin than the cell's scale: a 2nd LP (`_Sides._near`)
_TARGETS = 3  # witness centres on the far side of a hyperplane that rays are aimed at
_CANDIDATES = 24  # witness centres `_aim` chooses them from
_VISITS = 256  # sub-cells `_candidates` looks at
_AIM_DIM = 32  # from this many inputs rays are aimed (`_aim`)
_MIX_DIM = 256  # ... and sides tried with mixtures of witness balls (`mix_witness`; 64-16-16-1: no fewer LPs)
_FIRST_TARGETS = 6  # below it (LPs cost little) rays go toward this many first witnesses on the far side


def _candidates(j, tree, by_owner, vals, positive):
    """At most `_CANDIDATES` witnesses (indices) on one side of the hyperplane (values ``vals``),
    from the `_VISITS` sub-cells nearest sub-cell ``j`` in the split's tree (``j``, then breadth
    first: the sub-cell it left, then those that left it, in order; each one's witnesses in
    order), where the segment from ``j``'s witness crosses the fewest of ``j``'s rows. A bounded
    search: scoring every witness of the split would cost the square of its sub-cells."""
    parent, kids = tree
    out, queue, seen = [], [j], {j}
    h = 0
    while h < len(queue) and h < _VISITS and len(out) < _CANDIDATES:
        o = queue[h]
        h += 1
        if o < len(by_owner):
            for b in by_owner[o]:
                if (vals[b] > 0 if positive else vals[b] < 0):
                    out.append(b)
                    if len(out) == _CANDIDATES:
                        break
        for v in [parent[o]] + kids[o]:
            if v >= 0 and v not in seen:
                seen.add(v)
                queue.append(v)
    return np.array(out, dtype=np.int64)


def _aim(A, c, P, R, vals, Pf, Rf, vf, positive):
    """Which of the witness centres ``Pf`` (radii ``Rf``, values ``vf`` of the hyperplane, all on
    the side asked) rays from the sub-cell's deepest ball ``(P, R)`` are aimed at (indices): at
    most `_TARGETS`, the most promising first. On the segment from that ball to a centre, the depth in
    the cell (its rows and the box) is at least the radii's interpolation (depth is concave on a
    convex set), the sub-cell's own rows ``A x <= c`` (the earlier cuts) and the hyperplane are
    linear: a target's score is the best, over the grid between the hyperplane and the centre, of
    the least of the three; best first (ties in the given order).
    """
    if len(Rf) == 0:
        return np.zeros(0, dtype=np.int64)
    sgn = 1.0 if positive else -1.0
    o = int(np.argmax(R))
    vp, vq = sgn * float(vals[o]), sgn * vf
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = np.clip(np.where(vq > vp, -vp / (vq - vp), 0.0), 0.0, 1.0)
    ts = t0[:, None] + (1.0 - t0)[:, None] * _GRID                      # (targets, grid)
    score = np.minimum((1 - ts) * R[o] + ts * Rf[:, None], (1 - ts) * vp + ts * vq[:, None])
    if len(c):
        sp, sq = c - A @ P[o], c[:, None] - A @ Pf.T                      # (rows,), (rows, targets)
        rows = (1 - ts)[None] * sp[:, None, None] + ts[None] * sq[:, :, None]
        score = np.minimum(score, rows.min(axis=0))
    best = np.where(np.isnan(score), -np.inf, score).max(axis=1)
    return np.argsort(-best, kind="stable")[:_TARGETS]


class _Sides:
    """Whether one side of ``h_i`` counts in a sub-cell of one split (`find`).

    A sub-cell is the cell with some of the *extra* rows, given by index: ``h_i >= 0`` or
    ``h_i <= 0`` for each hyperplane that cut it on the way (`row`). Under the input-space `Rule` every LP of the split runs in one warm-started HiGHS model
    (`depth_lps.CellDepth`), and the duals of an LP that finds a side thin are kept as a
    certificate for the other sub-cells of the same hyperplane; other rules (the lifted whole
    space) solve each LP with their own `Rule.deepest`.
    """

    def __init__(self, cell, Hn, gn, todo, rule):
        self.cell, self.Hn, self.gn, self.rule = cell, Hn, gn, rule
        self.scale = rule.scale_of(cell.point, cell.radius)  # the units of this cell's LPs
        m, t = len(cell.c), len(todo)
        self.m = m
        self.own = np.arange(m)
        self.slot = np.full(len(Hn), -1, dtype=np.int64)
        self.slot[todo] = np.arange(t)
        # rows m + 2s (h_i >= 0: -H x <= g) and m + 2s + 1 (h_i <= 0: H x <= -g), i = todo[s]
        self.A = np.empty((m + 2 * t, Hn.shape[1]))
        self.c = np.empty(m + 2 * t)
        self.A[:m], self.c[:m] = cell.A, cell.c
        self.A[m::2], self.A[m + 1::2] = -Hn[todo], Hn[todo]
        self.c[m::2], self.c[m + 1::2] = gn[todo], -gn[todo]
        self.lp = None
        self.bounds = cell.bounds
        # a mixture's value that proves a side (twice the borderline depth): its game stops there
        self.enough = np.inf if cell.bounds is None else 2 * _config.BORDERLINE * rule.tol * box_reach(*cell.bounds)
        self.box = None
        if type(rule) is Rule and t and cell.bounds is not None:  # the box as bounds: small LPs first
            self.box = BoxDepth(cell.A, cell.c, self.A[m:], self.c[m:], cell.bounds, rule.tol, cell.point)
        elif type(rule) is Rule and t:
            self.lp = CellDepth(cell.A, cell.c, self.A[m:], self.c[m:], rule.tol, self.scale)
        self.certs = {True: [], False: []}

    def start(self):
        """A new hyperplane: certificates hold for one hyperplane only, forget those of the last."""
        self.certs = {True: [], False: []}

    def row(self, i, side):
        """The extra row of the side ``h_i >= 0`` (``side``) or ``h_i <= 0``."""
        return 2 * int(self.slot[i]) + (0 if side else 1)

    def find(self, i, side, sub_rows, P, R, vals, Q, balls=None):
        """``(x, radius)``: a ball proving that the side ``h_i >= 0`` (``side``) or ``h_i <= 0``
        counts in the sub-cell, or ``(None, -inf)`` when it does not. In order of cost: a kept
        certificate, rays from the sub-cell's witness balls ``(P, R)`` (values ``vals`` of
        ``h_i`` at their centres) along the normal and toward the points ``Q`` (`_shoot`; a ball
        short of the borderline margin is kept only if no LP finds a deeper one), a mixture of
        all the split's witness balls ``balls = (centres, radii, values, first)`` when given
        (`geometry.witness_balls.mix_witness`, from the balls ``first``), one LP (then, near the
        origin, one in the hyperplane's own units, `_near`)."""
        on = np.append(sub_rows, self.row(i, side))
        if self.certs[side]:
            mask = np.zeros(len(self.c) - self.m, dtype=bool)
            mask[on] = True
            if any(mask[cert].all() for cert in self.certs[side]):
                return None, -np.inf
        rows = np.concatenate([self.own, self.m + sub_rows])
        shot = None, -np.inf
        if len(R):
            shot = _shoot(self.A[rows], self.c[rows], P, R, vals, Q, self.Hn[i], self.gn[i], side, self.rule,
                          self.bounds)
            # a ball that proves the side by less than the borderline margin (a ray that stays
            # close to the witness it started from, far from the origin) asks the LP for a deeper one
            if shot[0] is not None and self.rule.witness(shot[0], shot[1] / _config.BORDERLINE):
                return shot
        if balls is not None and self.bounds is not None:
            extra = self.m + sub_rows
            mixed = mix_witness(balls[0], balls[1], balls[2], self.A[extra], self.c[extra], balls[3],
                                (self.A[rows], self.c[rows]), self.Hn[i], self.gn[i], side, self.bounds, self.enough)
            if mixed[0] is not None and self.rule.witness(*mixed):
                if self.rule.witness(mixed[0], mixed[1] / _config.BORDERLINE):
                    return mixed
                shot = mixed if mixed[1] > shot[1] else shot
        rows = np.append(rows, self.m + on[-1])
        A, c = self.A[rows], self.c[rows]
        if self.box is not None:
            verdict, x, r = self.box.decide(on, P[np.argsort(-R)] if len(R) else None)
            if verdict == "yes":
                return (x, r) if r > shot[1] else shot
            if verdict == "no":
                if self.box.support is not None and shot[0] is None:
                    self.certs[side].append(self.box.support)
                return shot
            note_fallback()  # unsure: the exact LP decides
        if self.lp is None:
            found = self._deepest(A, c, self.scale)
        else:
            x = self.lp.solve(on)
            if x is None:
                if self.lp.support is not None and shot[0] is None:
                    self.certs[side].append(self.lp.support)
                return shot
            found = deepest_point(A, c, self.rule.tol, self.scale, first=x, bounds=self.bounds)
        if found[0] is None and shot[0] is None:
            found = self._near(i, A, c)
        return found if found[0] is not None else shot

    def _near(self, i, A, c):
        """Once more in the units of ``h_i``'s distance from the origin, when it is far below the
        cell's: a side near the origin in a large cell can be thin in the cell's units (beyond
        the LP's tolerances) yet clear in its own, where the threshold ``tol ||x||`` is small."""
        own = abs(float(self.gn[i]))
        if not 0 < own < self.scale * _NEAR:
            return None, -np.inf
        return self._deepest(A, c, own)

    def _deepest(self, A, c, scale):
        if self.bounds is None:  # (the lifted rule knows no bounds: its cells have none)
            return self.rule.deepest(A, c, scale)
        return self.rule.deepest(A, c, scale, bounds=self.bounds)


_GRID = np.array([0.25, 0.5, 0.75])


def _shoot(A, c, P, R, vals, Q, n, g, positive, rule, bounds=None):
    """A ball inside ``{A x <= c}`` (and the box ``bounds``, when given) on one side of
    ``n x + g = 0`` (unit ``n``) found without an LP, or ``(None, -inf)``: on rays from the
    deepest ball ``(P, R)`` (values ``vals`` of the hyperplane at the centres) along the normal
    and toward the points ``Q``, the point of a grid between the hyperplane and the cell's
    boundary whose ``min(depth, distance to h)`` is largest; that ball, less the error bound of
    the two numbers, counts when the rule accepts it.
    """
    sgn = 1.0 if positive else -1.0
    o = int(np.argmax(R))
    p, v = P[o], float(vals[o])
    # directions, the normal first; `unit`: far witnesses' differences would overflow the plain
    # norm, and a target at the centre itself (a zero row) stays zero (its rate is 0: no ray)
    U = unit(np.vstack([sgn * n, Q - p]))
    rate = sgn * (U @ n)                                  # growth of the distance to h per step
    slack = c - A @ p
    au = U @ A.T                                          # (q, m)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        t_c = -sgn * v / rate                             # step to reach h
        t_e = np.min(np.where(au > 0, slack / au, np.inf), axis=1, initial=np.inf)  # step to leave
        if bounds is not None:  # ... or the box
            to_face = np.where(U > 0, (bounds[1] - p) / U, np.where(U < 0, (bounds[0] - p) / U, np.inf))
            t_e = np.minimum(t_e, np.min(to_face, axis=1, initial=np.inf))
        t_e = np.where(t_e < np.inf, t_e, t_c + 2 * max(abs(v), R[o]))
        t_0 = np.maximum(t_c, 0.0)
        ok = (rate > 0) & (t_e > t_0)
    if not ok.any():
        return None, -np.inf
    ts = t_0[ok, None] + (t_e[ok] - t_0[ok])[:, None] * _GRID          # (q', grid)
    dep = np.min(slack[None, :, None] - au[ok][:, :, None] * ts[:, None, :], axis=1, initial=np.inf)
    if bounds is not None:
        X = p + ts[:, :, None] * U[ok][:, None, :]                      # (q', grid, d)
        dep = np.minimum(dep, np.min(np.minimum(X - bounds[0], bounds[1] - X), axis=2, initial=np.inf))
    rho = np.minimum(dep, (ts - t_c[ok, None]) * rate[ok, None])
    b, q = divmod(int(np.argmax(rho)), len(_GRID))
    if not rho[b, q] > 0:
        return None, -np.inf
    x = p + ts[b, q] * U[ok][b]
    r = certified_ball(A, c, x, n, g, positive, bounds)
    if r > 0 and rule.witness(x, r):
        return x, r
    return None, -np.inf


def _witnessed(rule, P, R, vals, verr, n, positive) -> np.ndarray:
    """For each ball ``(P, R)``, whether its cap on one side of ``n x + g`` (`_caps`) proves that
    that side counts."""
    centres, rad = _caps(P, R, vals, verr, n, positive)
    ok = rad > 0
    out = np.zeros(len(R), dtype=bool)
    if ok.any():
        out[ok] = rule.witnesses(centres[ok], rad[ok])
    return out


def _rows(cell, Hn, gn, signs, cuts):
    """Half-spaces of a sub-cell: the cell's own plus the hyperplanes that cut it, oriented."""
    if not cuts.any():
        return cell.A, cell.c
    idx = np.flatnonzero(cuts)
    sgn = np.where(signs[idx], -1.0, 1.0)
    return np.vstack([cell.A, Hn[idx] * sgn[:, None]]), np.concatenate([cell.c, -gn[idx] * sgn])

