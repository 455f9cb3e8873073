"""Certificates of an enumeration: every region exists (exactly), and the regions close up.

**Existence (exact).** A region exists when its interior point gives every hidden neuron the sign
of the region's pattern (a strictly non-zero pre-activation, or a neuron constant zero on the
region: inactive, as the enumeration decides it) and lies in the domain: then a neighbourhood of
the point has the pattern, so the region has an interior. float64 weights, biases and points are
exact rationals, so this is decided exactly, as a *filtered predicate*: a float64 forward pass
with a rigorous error bound (`contract.gamma` of each dot product, propagated through the layers:
ReLU is 1-Lipschitz) settles every neuron whose value clears its bound, and proves a neuron
constant zero where its bias is 0 and all its inputs are off (`_float_signs`); a region with a
neuron neither settles is evaluated again exactly (`_exact.ExactNetwork`: a pre-activation of
exactly 0 passes only when the neuron's exact pulled-back normal is zero). Both counts are
reported.

**Closure.** Every facet of every region that is not on the domain's boundary must have a region
across it, and the regions must agree: if ``j`` is across a facet of ``i``, then ``i`` is across a
facet of ``j``. The facets are those of `nncells.results.adjacency` (float64); for the regions of
``complete`` the facet sets are also proven complete (`nncells.results._redundancy`: every other
row of the region is proven no facet with a dual certificate checked in float64 with a rigorous
bound or exactly, or it is a facet the finder missed and needs a region across too). The other
regions rely on the enumeration's own vertex view of their cells (docs/numerics.md,
"Certificates").

**Linear units** (`nncells.network.Network`, ``linear``) pass their pre-activation on exactly
(``h = z``, in the float bound and in the exact evaluation); their sign is never checked, but
their bit must be True in every pattern (a failure otherwise), and they bound no region (their
row is ``0 <= 0``: no facet).
"""
from __future__ import annotations

import time
import numpy as np

from nncells.domains import Ball
from nncells.geometry.contract import gamma
from nncells.results._exact import ExactNetwork, in_domain
from nncells.results._redundancy import check_regions
from nncells.results.adjacency import compute_facets, contract_tol

_TINY = float(np.finfo(np.float64).tiny)
_CONST_ACTIVE = "the neuron is constant zero on the region (proven exactly) but active in the pattern"
_LINEAR_OFF = "a linear (pass-through) unit's bit is False in the pattern (it must be True)"


def _float_signs(net, X, P):
    """Pre-activations at ``X`` (n, N), a rigorous bound of their rounding errors, and the
    neurons proven *constant zero* on their region (n, N bool).

    The error of layer ``l + 1`` is ``|W| err_l`` (ReLU is 1-Lipschitz) plus the dot products' own
    rounding, ``gamma(terms) (|W| |h| + |b|)``; both in one product, ``(err_l + gamma |h|) |W|^T``
    (the rounding of the bound itself is covered by the factor in `gamma`).

    A neuron is constant zero on the region of pattern ``P`` when its bias is exactly 0 and every
    neuron feeding it with a non-zero weight is inactive in ``P`` and proven ``<= 0`` at the point
    (certified negative, or constant zero itself; a first-layer neuron: a zero row): then, on a
    neighbourhood of the point where the earlier layers keep their pattern, its pre-activation is
    exactly 0 (its pulled-back normal is ``W diag(P) M = 0`` and its constant is its bias), so it
    is inactive there, as the enumeration decides it.
    """
    n, N = len(X), sum(net.widths)
    Z, E, C = np.empty((n, N)), np.empty((n, N)), np.zeros((n, N), bool)
    h, err, off = X, np.zeros_like(X), None       # off: certified off at the point, inactive in P
    zero_next = [bool(np.any(b == 0)) for b in net.biases[1:-1]] + [False]
    for layer, (W, b, sl, later, lin) in enumerate(zip(net.weights[:-1], net.biases[:-1], net.layer_slices,
                                                         zero_next, net.linear)):
        g = gamma(W.shape[1] + 1)
        z = h @ W.T + b
        e = (err + g * np.abs(h)) @ np.abs(W).T + (g * np.abs(b) + (W.shape[1] + 1) * _TINY)
        Z[:, sl], E[:, sl] = z, e
        zb = b == 0
        if zb.any():
            if layer == 0:                                  # the inputs: a zero row
                C[:, sl] = zb & ~(W != 0).any(axis=1)
            else:                                           # no input that may be on feeds it
                C[:, sl] = zb & ((~off).astype(np.float32) @ (W != 0).T.astype(np.float32) == 0)
            C[:, sl] &= ~lin                                # a linear unit has no sign to decide
        if later:                  # certified off: what the next layer's constant test needs
            off = ~P[:, sl] & ~lin & (((np.abs(z) > e) & (z < 0)) | C[:, sl])
        h, err = np.where(lin, z, np.maximum(z, 0.0)), e    # a linear unit passes z on (1-Lipschitz too)
    return Z, E, C


def _float_check(net, X, P, chunk=8192):
    """Per region: whether the float bound decides every neuron (its sign, or constant zero), the
    first neuron it decides against the pattern (-1: none) and whether that one is constant zero.
    A linear unit's sign is not checked (its bit must be True: `_linear_bits`). Chunk by chunk,
    so the arrays stay in cache."""
    n = len(X)
    lin = net.linear_mask
    all_sure, wrong_at, const = np.ones(n, bool), np.full(n, -1, np.int64), np.zeros(n, bool)
    for s in range(0, n, chunk):
        Pc = P[s:s + chunk]
        Z, E, C = _float_signs(net, X[s:s + chunk], Pc)
        sure = (np.abs(Z) > E) | lin
        bad = (sure & ((Z > 0) != Pc) & ~lin) | (C & Pc)
        all_sure[s:s + chunk] = (sure | C).all(axis=1)
        rows = np.flatnonzero(bad.any(axis=1))
        wrong_at[s + rows] = bad[rows].argmax(axis=1)
        const[s + rows] = C[rows, wrong_at[s + rows]]
    return all_sure, wrong_at, const


def _exact_failure(ex_net, x, pattern):
    """The first neuron whose exact pre-activation at ``x`` contradicts ``pattern``, with why, or
    None. A pre-activation of exactly 0 is inactive when the neuron is constant on the region (its
    exact pulled-back normal is zero: `_exact.ExactNetwork.layer_maps`), as the enumeration
    decides it; otherwise ``x`` lies on the neuron's hyperplane."""
    z = ex_net.preactivations(x)
    lin = ex_net.net.linear_mask
    maps = None
    for k, v in enumerate(z):
        if lin[k]:                   # a linear unit: no sign to check
            continue
        if v != 0:
            if (v > 0) != bool(pattern[k]):
                return k, "exact pre-activation has the wrong sign"
            continue
        if maps is None:
            maps = np.concatenate([M for M, _ in ex_net.layer_maps(pattern)])
        if any(maps[k]):
            return k, "exact pre-activation is zero and the neuron is not constant on the region"
        if pattern[k]:
            return k, _CONST_ACTIVE
    return None


def _linear_bits(net, P):
    """Per region, the first linear unit whose bit is not True (-1: none): a pattern of a
    network with linear units has them all True (they pass their value on, whatever its sign)."""
    lin = np.flatnonzero(net.linear_mask)
    out = np.full(len(P), -1, np.int64)
    if len(lin):
        off = ~P[:, lin]
        rows = np.flatnonzero(off.any(axis=1))
        out[rows] = lin[off[rows].argmax(axis=1)]
    return out


def _existence(result, failures):
    net, P, X, dom = result.network, result.patterns, result.points, result.domain
    n = len(P)
    all_sure, wrong_at, const = _float_check(net, X, P)
    lin_bad = _linear_bits(net, P)
    for i in np.flatnonzero(lin_bad >= 0):
        failures.append({"region": int(i), "neuron": int(lin_bad[i]), "why": _LINEAR_OFF})
    wrong_at = np.where(lin_bad >= 0, lin_bad, wrong_at)
    if isinstance(dom, Ball) and dom.norm == 2:
        r = np.linalg.norm(X - dom.center, axis=1)
        dsure = np.abs(r - dom.radius) > 1e-12 * (dom.radius + np.abs(X).max(axis=1, initial=0.0))
        dok = r < dom.radius
    else:
        A, b = dom.halfspaces()
        v = X @ A.T - b
        verr = gamma(A.shape[1] + 1) * (np.abs(X) @ np.abs(A).T + np.abs(b)) + _TINY
        dsure = np.all(np.abs(v) > verr, axis=1)  # every face decided by the bound
        dok = np.all(v < verr, axis=1)
    wrong_any = wrong_at >= 0
    fine = all_sure & dsure
    exists = fine & ~wrong_any & dok
    fallback = np.flatnonzero(~fine & ~wrong_any)
    ex_net = ExactNetwork(net) if len(fallback) else None
    for i in fallback:
        bad = _exact_failure(ex_net, X[i], P[i])
        inside = in_domain(dom, X[i])
        exists[i] = bad is None and inside
        if bad is not None:
            failures.append({"region": int(i), "neuron": int(bad[0]), "why": bad[1]})
        elif not inside:
            failures.append({"region": int(i), "neuron": None, "why": "interior point outside the domain"})
    for i in np.flatnonzero(wrong_any & (lin_bad < 0)):
        failures.append({"region": int(i), "neuron": int(wrong_at[i]),
                         "why": _CONST_ACTIVE if const[i] else "pre-activation has the wrong sign (certified)"})
    for i in np.flatnonzero(fine & ~wrong_any & ~dok):
        failures.append({"region": int(i), "neuron": None, "why": "interior point outside the domain"})
    return int(exists.sum()), int(n - len(fallback)), int(len(fallback))


def _to_check(result, T, complete):
    """The regions whose facet sets the closure proves complete (`_redundancy.check_regions`)."""
    n = int(result.count)
    if complete is None:       # where the facets came from the qhull / LP path
        regions = T.get("_qhull_regions", np.arange(n))
    elif complete:
        regions = np.arange(n)
    else:
        regions = np.zeros(0, np.int64)
    return np.setdiff1d(regions, T["_no_interior"])


def _closure(result, failures, complete):
    T = compute_facets(result)
    fid, region, nb, boundary = T["facet"], T["region"], T["neighbour"], T["boundary"]
    first = np.ones(len(fid), bool)
    first[1:] = fid[1:] != fid[:-1]
    f_region, f_nb, f_bd = region[first], nb[first], boundary[first]
    f_neuron = np.where(T["kind"][first] == "neuron", T["index"][first], -1)
    checked = _to_check(result, T, complete)
    R = check_regions(result, checked, T, contract_tol(result))
    md = len(result.domain.halfspaces()[1])
    if R["added"]:                       # facets the facet finder missed, with a region across
        ai, aj, arow = (np.array(v, dtype=np.int64) for v in zip(*[(i, j, rows[0]) for i, j, rows in R["added"]]))
        f_region, f_nb = np.concatenate([f_region, ai]), np.concatenate([f_nb, aj])
        f_bd = np.concatenate([f_bd, aj < 0])
        f_neuron = np.concatenate([f_neuron, np.where(arow >= md, arow - md, -1)])
    open_ = ~f_bd & (f_nb < 0)

    def _neuron(k):
        return int(k) if k >= 0 else None
    for a in np.flatnonzero(open_):
        failures.append({"region": int(f_region[a]), "neuron": _neuron(f_neuron[a]),
                         "why": "no region across this facet"})
    for i, row in R["open"]:
        failures.append({"region": i, "neuron": _neuron(row - md),
                         "why": "no region across this facet (a facet the facet finder missed)"})
    for i, row in R["thin"]:
        failures.append({"region": i, "neuron": _neuron(row - md),
                         "why": "no region across this facet (a facet the facet finder missed; an LP finds it "
                                "thinner than the contract's threshold, which is not proven)"})
    for i, row, why in R["unproven"]:
        failures.append({"region": i, "neuron": _neuron(row - md), "why": "row not proven redundant: " + why})
    across = np.flatnonzero(f_nb >= 0)
    n = max(int(result.count), 1)
    seen = np.sort(f_region[across] * n + f_nb[across])
    back = f_nb[across] * n + f_region[across]
    pos = np.minimum(np.searchsorted(seen, back), max(len(seen) - 1, 0))
    lone = across[seen[pos] != back] if len(seen) else across
    for a in lone:
        i, j = int(f_region[a]), int(f_nb[a])
        failures.append({"region": i, "neuron": _neuron(f_neuron[a]),
                         "why": f"region {j} is across this facet but has no facet towards it"})
    for i in T["_no_interior"]:
        failures.append({"region": int(i), "neuron": None, "why": "no interior point: facets not computed"})
    bad_regions = {i for i, _ in R["open"] + R["thin"]} | {i for i, _, _ in R["unproven"]}
    return {"open_facets": int(open_.sum()) + len(R["open"]), "asymmetric": len(lone), "facets": len(f_region),
            "no_interior": len(T["_no_interior"]), "lp_solves": int(T["_stats"]["facet_lp_solves"]),
            "complete_regions": len(checked) - len(bad_regions), "unproven_rows": len(R["unproven"]),
            "missed_facets": len(R["added"]) + len(R["open"]) + len(R["thin"]), "thin_facets": len(R["thin"]),
            "redundancy": {k: R[k] for k in ("rows", "box", "float", "exact", "constant", "lps")}}


def certify(result, max_failures: int = 20, complete: bool | None = None) -> dict:
    """Prove that every region exists (exactly) and check that the dual graph is closed.

    Parameters
    ----------
    result : EnumerationResult
        Existence is checked in any domain; closure needs a polyhedral one (box, polytope, the
        whole space) and raises `NNCellsError` for a Euclidean ball.
    max_failures : int
        Most failures listed (``failures_total`` counts them all).
    complete : bool or None
        Which regions' facet sets are proven complete (`nncells.results._redundancy`: every row
        of the region's system that is not a reported facet is proven no facet, or the facet
        is found): None (default) those whose facets came from the qhull / LP path (above
        ``_config.VERTEX_MAX_DIM`` inputs, the whole space above 6, regions the compiled core
        did not settle); True every region (slower: about one LP per row that the domain box
        does not settle); False none. The others rely on the compiled core's facets, read from
        the enumeration's own vertices (docs/numerics.md, "Certificates").

    Returns
    -------
    dict
        ``exist`` (regions whose interior point has exactly their pattern, every neuron's
        pre-activation non-zero or the neuron exactly constant zero on the region, inside the
        domain), ``of`` (regions), ``float_certified`` and ``exact_fallbacks`` (regions settled
        by the float bound, and by exact arithmetic), ``closed`` (every facet off the domain's
        boundary has a region across it, the relation is symmetric, and no row of a checked
        region is unproven), ``open_facets``, ``asymmetric``, ``facets``, ``lp_solves`` (of the
        facet computation), ``complete_regions`` (regions whose facet sets are proven complete),
        ``unproven_rows``, ``missed_facets`` (facets the check found that the facet finder
        missed; closure counts them), ``thin_facets`` (of those, facets with no region across
        that an LP finds thinner than the contract's threshold: closure fails on them too, since
        thinness is not proven; not in ``open_facets``), ``redundancy``
        (rows checked, and proven by the box alone, by a float64 certificate, exactly, as exact
        constants; LPs), ``failures`` (dicts with ``region``, ``neuron`` or None, ``why``),
        ``failures_total`` and ``seconds``.

    Examples
    --------
    >>> import nncells
    >>> net = nncells.random_network([2, 6, 6, 1], seed=0)
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    >>> c = certify(res)
    >>> c["exist"] == c["of"] == res.count, c["closed"], c["failures"]
    (True, True, [])

    Every region's facet set proven complete (one LP per row the box does not settle):

    >>> c = certify(res, complete=True)
    >>> c["closed"], c["complete_regions"] == res.count, c["unproven_rows"]
    (True, True, 0)
    """
    t0 = time.perf_counter()
    failures: list = []
    exist, float_ok, exact = _existence(result, failures)
    cl = _closure(result, failures, complete)
    failures.sort(key=lambda f: (f["region"], f["why"]))
    closed = not any(cl[k] for k in ("open_facets", "asymmetric", "no_interior", "unproven_rows", "thin_facets"))
    return {
        "exist": exist, "of": int(result.count), "float_certified": float_ok, "exact_fallbacks": exact,
        "closed": closed, **{k: v for k, v in cl.items() if k != "no_interior"},
        "failures": failures[:max_failures], "failures_total": len(failures),
        "seconds": time.perf_counter() - t0,
    }
