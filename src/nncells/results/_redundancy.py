"""Proofs that a region has no facets besides those found: the complete closure check of `certify`.

A row ``a x <= c`` of a region's system (a hidden neuron's pulled-back half-space or a face of the
domain) that is not among the region's reported facets is proven not to be a facet by a dual
(Farkas) certificate: ``lam >= 0`` over other rows ``j`` with ``sum_j lam_j a_j = a`` and
``sum_j lam_j c_j <= c`` gives ``a x <= c`` on the whole region. With ``<`` the row's hyperplane
misses the region; with ``=`` it touches it only where every row of the support is tight: when no
row of the support is a positive multiple of ``a``, that set lies in two independent hyperplanes
(dimension <= d-2, no facet); when one is, and it is a reported facet row, the row lies on that
facet's hyperplane (its facet is the reported one).

Filtered, as the existence check is: the certificate ``lam`` is guessed cheaply (in a box, the box
alone; then ``lam >= 0`` over the region's reported facets closest to the row's normal, by NNLS),
and where the guess does not prove the row it comes from an LP (HiGHS, one model per region,
warm-started from row to row, counted as ``lps``). Each certificate is checked

- in float64 with a rigorous error bound, where the domain has a bounding box (``|x - p| <= Y`` bounds the
  residual ``a - sum lam_j a_j`` times ``x``, and the rows' own rounding is bounded as in
  `_facets.cell_rows`): proves ``<`` only;
- otherwise, and where the bound does not settle it, exactly: the rows in integers
  (`_exact.ExactNetwork.rows`), ``lam`` solved exactly on the guess's or the LP's support (an
  independent subset of it, `_exact.combination`), ``lam >= 0`` and ``lam . c <= c`` checked
  exactly; an equality is "touching" as above.

A row within rounding of zero is proven a constant: its exact normal is zero and its exact
constant satisfies the row. A row the LP finds *irredundant* is a facet the facet finder missed:
it is grouped with the other such rows on its hyperplane, and the region across it is looked up
(the pattern across as `_facets.across_pattern` finds it); a missed facet with no listed region
across is *open*, or *thin* where an LP finds it thinner than the contract's threshold
(`_facets.lp_facet`, as the facet finder decides; not proven, so `certify` fails on it too). A
row that is neither proven nor found a facet is *unproven*.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from nncells.geometry import solvers
from nncells.geometry.contract import gamma
from nncells.geometry.row_lps import RowLPs
from nncells.results._core_facets import pattern_index
from nncells.results._exact import ExactNetwork, combination, domain_rows
from nncells.results._facets import across_pattern, cell_rows, groups_of, lp_facet

_CHUNK = 256
_LP_REL = 1e-7          # an LP optimum this far (relative) above a row's slack: the row is irredundant


def _float_proves(a, ea, s, es, lam, A, eA, S, eS, Y):
    """Whether ``lam`` (over rows ``A`` with slacks ``S`` at the point ``p``, errors ``eA``,
    ``eS``) proves, with every rounding bounded, that row ``a`` (slack ``s``, errors ``ea``,
    ``es``) holds strictly on the region: ``sum lam_j s_j + sum_k |rho_k| Y_k < s`` with the
    residual ``rho = a - sum lam_j a_j``. Vectorised over a leading axis of ``a``, ``lam``.
    ``Y`` bounds ``|x - p|`` on the domain (inf: unbounded)."""
    k, d = lam.shape[-1], a.shape[-1]
    rho = a - np.einsum("...j,...jd->...d", lam, A)
    erho = ea + np.einsum("...j,...jd->...d", lam, eA) + \
        gamma(k + 1) * (np.abs(a) + np.einsum("...j,...jd->...d", lam, np.abs(A)))
    bound = np.abs(rho) + erho
    with np.errstate(invalid="ignore"):
        res = np.sum(np.where(bound > 0, bound * Y, 0.0), axis=-1)
    lhs = np.einsum("...j,...j->...", lam, S + eS) + res
    lhs = lhs + gamma(k + d + 2) * (np.einsum("...j,...j->...", lam, np.abs(S) + eS) + res)   # its own rounding
    rhs = (s - es) - gamma(2) * np.abs(s - es)
    return np.isfinite(lhs) & (lhs < rhs)


def _slacks(G, h, eG, eh, p):
    """Slacks ``h - G p`` at ``p`` and bounds of their errors (rows' own and this product's)."""
    s = h - G @ p
    es = eh + eG @ np.abs(p) + gamma(len(p) + 1) * (np.abs(h) + np.abs(G) @ np.abs(p))
    return s, es


class _Exact:
    """The exact rows of one region (computed on first use)."""

    def __init__(self, ex_net, dom, pattern):
        self.ex_net, self.dom, self.pattern = ex_net, dom, pattern
        self.rows = None

    def get(self):
        if self.rows is None:
            G, h = self.ex_net.rows(self.pattern)
            Gd, hd = self.dom
            self.rows = (np.concatenate([Gd, G]) if len(Gd) else G, np.concatenate([hd, h]) if len(hd) else h)
        return self.rows


def _exact_proves(ex, r, support, reported):
    """What the exact rows prove of row ``r`` with a certificate on ``support``: ``"strict"``
    (its hyperplane misses the region), ``"touch"`` (it touches the region in dimension
    <= d-2), the list of support rows that are positive multiples of row ``r`` (it touches the
    region only where those rows do: no facet if one of them is a reported facet or proven no
    facet), or None (no certificate)."""
    G, h = ex.get()
    S = [j for j in support if j != r]
    got = combination(G[S], G[r]) if S else (None if any(G[r]) else ([], 1))
    if got is None or any(v < 0 for v in got[0]):
        return None
    num, den = got                          # lam = num / den, den > 0
    val, bound = sum(v * int(h[j]) for v, j in zip(num, S)), den * int(h[r])
    if val < bound:
        return "strict"
    if val > bound:
        return None
    a = [int(v) for v in G[r]]
    parallel = [j for v, j in zip(num, S) if v > 0 and _positive_multiple(G[j], a)]
    return parallel or "touch"


def _positive_multiple(b, a):
    b = [int(v) for v in b]
    d = len(a)
    return sum(x * y for x, y in zip(a, b)) > 0 and all(
        a[i] * b[k] == a[k] * b[i] for i in range(d) for k in range(i + 1, d))


def check_regions(result, regions, table, tol) -> dict:
    """Prove, for every region of ``regions``, that each row of its system outside its reported
    facets (``table``: `adjacency.compute_facets`) is no facet, or find the facet (see the
    module's docstring).

    Returns a dict: counts ``rows`` (rows checked), ``box`` (proven by the domain box alone),
    ``float`` and ``exact`` (by an LP's certificate checked in float64 or exactly), ``constant``
    (rows exactly zero), ``lps``; lists ``added`` (``(region, neighbour, members)`` missed facets
    with a listed region across, ``neighbour`` -1 on the domain's boundary), ``open``
    (``(region, member)``: missed facets with none across), ``thin`` (``(region, member)``: missed
    facets thinner than the threshold) and ``unproven`` (``(region, member, why)``). Members number
    rows as the facet table does: ``k`` for the domain's ``k``-th half-space, ``md + j`` for
    neuron ``j``.
    """
    net, dom, P = result.network, result.domain, result.patterns
    Ad, bd = dom.halfspaces()
    md, N, L = len(bd), net.n_hidden, len(net.widths)
    out = {"rows": 0, "box": 0, "float": 0, "exact": 0, "constant": 0, "lps": 0,
           "added": [], "open": [], "thin": [], "unproven": []}
    regions = np.asarray(regions, dtype=np.int64)
    if not len(regions):
        return out
    member = np.where(table["kind"] == "domain", table["index"], md + table["index"])
    rep = np.zeros((len(P), md + N), bool)
    rep[table["region"], member] = True
    never = np.concatenate([np.zeros(md, bool), net.linear_mask])   # linear units' rows 0 <= 0: no facet
    ex_net, ex_dom = ExactNetwork(net), domain_rows(dom)
    find = pattern_index(P)
    box = dom.bounds()              # a box holding the domain (None: unbounded, or a polytope's)
    for c0 in range(0, len(regions), _CHUNK):
        chunk = regions[c0:c0 + _CHUNK]
        if L:
            H, g, zero, eH, eg = cell_rows(net, P[chunk], L, bounds=True)
        for a, i in enumerate(chunk):
            if L:
                sign = np.where(P[i], -1.0, 1.0)
                G = np.vstack([Ad, H[a] * sign[:, None]])
                h = np.concatenate([bd, -g[a] * sign])
                eG = np.vstack([np.zeros_like(Ad), eH[a]])
                eh = np.concatenate([np.zeros(md), eg[a]])
                z = np.concatenate([np.all(Ad == 0, axis=1), zero[a]])
            else:
                G, h, eG, eh, z = Ad, bd, np.zeros_like(Ad), np.zeros(md), np.all(Ad == 0, axis=1)
            _region(result, i, G, h, eG, eh, z, rep[i], never, _Exact(ex_net, ex_dom, P[i]), find, md, tol, box, out)
    return out


class _Rows:
    """One region's rows in float64 (``G x <= h``, error bounds ``eG``, ``eh``; ``z``: within
    rounding of zero), at its point ``p``: slacks ``s`` (bounds ``es``), unit rows ``Au``,
    ``su``, the exact rows (``ex``) and the domain's bound ``Y`` of ``|x - p|``."""

    def __init__(self, G, h, eG, eh, z, p, ex, box):
        self.G, self.h, self.eG, self.eh, self.z, self.ex = G, h, eG, eh, z, ex
        self.nz = np.flatnonzero(~z)
        s, es = _slacks(G, h, eG, eh, p)
        if np.any(s[self.nz] - es[self.nz] <= 0):     # the point is not certified inside: recentre
            q, rad = solvers.chebyshev_center(G[self.nz], h[self.nz], cap=max(1.0, float(np.max(np.abs(p)))))
            if q is not None and rad > 0:
                p = q
                s, es = _slacks(G, h, eG, eh, p)
        self.p, self.s, self.es = p, s, es
        d = G.shape[1]
        self.Y = np.maximum(box[1] - p, p - box[0]) * (1 + gamma(2)) if box is not None else np.full(d, np.inf)
        self.norms = np.linalg.norm(G, axis=1)
        safe = np.where(self.norms > 0, self.norms, 1.0)
        self.Au, self.su = G / safe[:, None], s / safe

    def float_proves(self, r, sup, lam_unit):
        """`_float_proves` for row ``r`` with ``lam_unit`` over ``sup`` (for the unit rows)."""
        lam = lam_unit * self.norms[r] / self.norms[sup]
        G, eG, s, es = self.G, self.eG, self.s, self.es
        return bool(_float_proves(G[r], eG[r], s[r], es[r], lam, G[sup], eG[sup], s[sup], es[sup], self.Y))


def _region(result, i, G, h, eG, eh, z, reported, never, ex, find, md, tol, box, out):
    """The rows of region ``i`` outside its reported facets (see `check_regions`); rows of
    ``never`` (linear units: ``0 <= 0``) are no rows of the region."""
    m, d = len(h), G.shape[1]
    cand = np.flatnonzero(~reported & ~never)
    out["rows"] += len(cand)
    proven = np.zeros(m, bool)
    for r in cand[z[cand]]:          # constant rows: an exact zero normal whose constant holds
        Ge, he = ex.get()
        if not any(Ge[r]) and he[r] >= 0:
            out["constant"] += 1
            proven[r] = True
        else:
            out["unproven"].append((int(i), int(r), "a row within rounding of zero that is not an "
                                                    "exact constant that holds"))
    rest = cand[~z[cand]]
    if not len(rest):
        return
    R = _Rows(G, h, eG, eh, z, result.points[i], ex, box)
    k = len(rest)                    # the box alone (lam = 0)
    by_box = _float_proves(G[rest], eG[rest], R.s[rest], R.es[rest], np.zeros((k, 0)), np.zeros((k, 0, d)),
                           np.zeros((k, 0, d)), np.zeros((k, 0)), np.zeros((k, 0)), R.Y)
    out["box"] += int(by_box.sum())
    proven[rest[by_box]] = True
    missed, pending = [], {}
    F = np.flatnonzero(reported & ~z)             # the reported facets' rows: a guess of the support
    lps = None
    for r in rest[~by_box]:
        if len(F) and _by_guess(R, r, F, reported, box is not None, out):
            proven[r] = True
            continue
        if lps is None:
            lps = RowLPs(R.Au[R.nz], R.su[R.nz])
        how, opt = _by_lp(R, r, lps, reported, box is not None, out)
        if isinstance(how, str):
            proven[r] = True
        elif how:
            pending[r] = (how, opt)
        elif opt is None:
            out["unproven"].append((int(i), int(r), "the redundancy LP failed"))
        elif opt >= R.su[r] * (1 - _LP_REL):
            missed.append(r)
        else:
            out["unproven"].append((int(i), int(r), "no certificate of redundancy verified"))
    changed = True                   # rows on another row's hyperplane: no facet when that one is
    while changed:                   # a reported facet or proven none
        changed = False
        for r, (js, _) in list(pending.items()):
            if any(reported[j] or proven[j] for j in js):
                del pending[r]
                proven[r], changed = True, True
                out["exact"] += 1
    for r, (_, opt) in pending.items():
        if opt >= R.su[r] * (1 - _LP_REL):
            missed.append(r)
        else:
            out["unproven"].append((int(i), int(r), "no certificate of redundancy verified"))
    if missed:
        _missed(result, i, np.array(missed), R, find, md, tol, out)


def _by_guess(R, r, F, reported, bounded, out):
    """Row ``r`` proven by the cheap guess: ``lam >= 0`` over the reported facets' rows ``F``
    closest to the row's normal (NNLS), checked in float64 (bounded domains) or exactly."""
    x, _ = nnls(R.Au[F].T, R.Au[r])
    sup, lam = F[x > 0], x[x > 0]
    if bounded:
        if R.float_proves(r, sup, lam):
            out["float"] += 1
            return True
        return False
    if float(lam @ R.su[sup]) > R.su[r] * (1 + _LP_REL):      # not worth an exact check
        return False
    if isinstance(_exact_proves(R.ex, r, sup.tolist(), reported), str):
        out["exact"] += 1
        return True
    return False


def _by_lp(R, r, lps, reported, bounded, out):
    """Row ``r`` by its redundancy LP: ``(how, optimum)``, ``how`` a string when proven (float64
    or exactly, on the LP's support or the rows tight at its optimum), a list of rows whose
    hyperplane it lies on, or None; the optimum is inf when the LP finds the row irredundant
    (unbounded), None when it failed."""
    nz, Au, su = R.nz, R.Au, R.su
    out["lps"] += 1
    status, opt, duals, u = lps.solve(int(np.flatnonzero(nz == r)[0]))
    if status == "unbounded":
        return None, np.inf
    if status != "optimal":
        return None, None
    if opt > su[r] * (1 + _LP_REL):
        return None, opt
    lam = np.where(duals > 1e-12 * max(float(duals.max(initial=0.0)), 1e-300), duals, 0.0)
    sup = nz[lam > 0]
    if bounded and R.float_proves(r, sup, lam[lam > 0]):
        out["float"] += 1
        return "float", opt
    how = _exact_proves(R.ex, r, sup.tolist(), reported)
    if not isinstance(how, str) and u is not None:     # the rows tight at the LP's optimum
        others = nz[nz != r]
        tight = others[Au[others] @ u >= su[others] - 1e-9 * np.maximum(1.0, np.abs(su[others]))]
        again = _exact_proves(R.ex, r, tight.tolist(), reported) if len(tight) else None
        how = again if isinstance(again, str) or how is None else how
    if isinstance(how, str):
        out["exact"] += 1
    return how, opt


def _missed(result, i, missed, R, find, md, tol, out):
    """Facets of region ``i`` that the facet finder missed: one per hyperplane, with the region
    across (the pattern across as `_facets.across_pattern` finds it, else the neurons flipped),
    or open, or thinner than the threshold."""
    P, Au, su, nz = result.patterns, R.Au, R.su, R.nz
    with np.errstate(divide="ignore", invalid="ignore"):
        D = Au / su[:, None]
    grp = groups_of(D[missed], np.arange(len(missed)), tol)
    done = np.zeros(len(missed), bool)
    for k in range(len(missed)):
        if done[k]:
            continue
        done |= grp[k]
        rows = missed[grp[k]]
        if np.any(rows < md):
            out["added"].append((int(i), -1, rows.tolist()))
            continue
        q = across_pattern(result.network, P[i], rows - md, Au[rows[0]])
        if q is None:
            q = P[i].copy()
            q[rows - md] = ~q[rows - md]
        j = int(find(np.packbits(q[None, :], axis=1))[0])
        if j >= 0:
            out["added"].append((int(i), j, rows.tolist()))
            continue
        facet, _, _ = lp_facet(Au[nz], su[nz], R.p, np.isin(nz, rows), int(np.flatnonzero(nz == rows[0])[0]), tol)
        (out["open"] if facet else out["thin"]).append((int(i), int(rows[0])))
