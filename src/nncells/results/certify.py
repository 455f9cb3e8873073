"""Certificates of an enumeration: every region exists (exactly), and the regions close up.

**Existence (exact).** A region exists when its interior point gives every hidden neuron a
pre-activation that is strictly non-zero with the sign of the region's pattern, and lies in the
domain: then a neighbourhood of the point has the pattern, so the region has an interior. float64
weights, biases and points are exact rationals, so this is decided exactly, as a *filtered
predicate*: a float64 forward pass with a rigorous error bound (`contract.gamma` of each dot
product, propagated through the layers: ReLU is 1-Lipschitz) settles every neuron whose value
clears its bound; a region with a neuron inside its bound is evaluated again in exact rational
arithmetic (`fractions.Fraction`). Both counts are reported.

**Closure (float64).** Every facet of every region that is not on the domain's boundary must
have a region across it, and the regions must agree: if ``j`` is across a facet of ``i``, then
``i`` is across a facet of ``j``. This relies on the facets of `nncells.results.adjacency`, found
in float64 (qhull's polar or LPs, each facet's interior point checked in float64): it assumes
that no facet thinner than the contract's threshold is missed and that qhull's redundancy
decisions are right where a row's dual point is within rounding of the polar's boundary.
"""
from __future__ import annotations

import time
from fractions import Fraction

import numpy as np

from nncells.domains import Ball
from nncells.geometry.contract import gamma
from nncells.results.adjacency import compute_facets

_TINY = float(np.finfo(np.float64).tiny)


def _float_signs(net, X, chunk=8192):
    """Pre-activations at ``X`` (n, N) and a rigorous bound of their rounding errors: the error
    of layer ``l + 1`` is ``|W| err_l`` (ReLU is 1-Lipschitz) plus the dot products' own rounding,
    ``gamma(terms) (|W| |h| + |b|)``; both in one product, ``(err_l + gamma |h|) |W|^T`` (the
    rounding of the bound itself is covered by the factor in `gamma`). In chunks of rows."""
    n, N = len(X), sum(net.widths)
    Z, E = np.empty((n, N)), np.empty((n, N))
    layers = [(W, b, np.abs(W).T, gamma(W.shape[1] + 1), sl)
              for W, b, sl in zip(net.weights[:-1], net.biases[:-1], net.layer_slices)]
    for s in range(0, n, chunk):
        h = X[s:s + chunk]
        err = np.zeros_like(h)
        for W, b, absWT, g, sl in layers:
            z = h @ W.T + b
            e = (err + g * np.abs(h)) @ absWT + (g * np.abs(b) + (W.shape[1] + 1) * _TINY)
            Z[s:s + chunk, sl], E[s:s + chunk, sl] = z, e
            h, err = np.maximum(z, 0.0), e
    return Z, E


def _float_check(net, X, P, chunk=8192):
    """Per region: whether the float bound decides every neuron's sign, and the first neuron it
    decides with the wrong sign (-1: none). Chunk by chunk, so the arrays stay in cache."""
    n = len(X)
    all_sure, wrong_at = np.ones(n, bool), np.full(n, -1, np.int64)
    for s in range(0, n, chunk):
        Z, E = _float_signs(net, X[s:s + chunk], chunk)
        sure = np.abs(Z) > E
        bad = sure & ((Z > 0) != P[s:s + chunk])
        all_sure[s:s + chunk] = sure.all(axis=1)
        rows = np.flatnonzero(bad.any(axis=1))
        wrong_at[s + rows] = bad[rows].argmax(axis=1)
    return all_sure, wrong_at


def _exact_preactivations(net, x, cache):
    """Exact rational pre-activations of every hidden neuron at ``x``."""
    if "W" not in cache:
        cache["W"] = [[[Fraction(float(w)) for w in row] for row in W] for W in net.weights[:-1]]
        cache["b"] = [[Fraction(float(v)) for v in b] for b in net.biases[:-1]]
    h = [Fraction(float(v)) for v in x]
    out = []
    for W, b in zip(cache["W"], cache["b"]):
        z = [sum((w * v for w, v in zip(row, h) if v), bi) for row, bi in zip(W, b)]
        out += z
        h = [v if v > 0 else Fraction(0) for v in z]
    return out


def _in_domain_exact(domain, x) -> bool:
    xs = [Fraction(float(v)) for v in x]
    if isinstance(domain, Ball) and domain.norm == 2:
        c = [Fraction(float(v)) for v in domain.center]
        return sum((a - b) ** 2 for a, b in zip(xs, c)) <= Fraction(domain.radius) ** 2
    A, b = domain.halfspaces()
    return all(sum((Fraction(float(a)) * v for a, v in zip(row, xs)), Fraction(0)) <= Fraction(float(bi))
               for row, bi in zip(A, b))


def _existence(result, failures):
    net, P, X, dom = result.network, result.patterns, result.points, result.domain
    n = len(P)
    all_sure, wrong_at = _float_check(net, X, P)
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
    cache: dict = {}
    fallback = np.flatnonzero(~fine & ~wrong_any)
    for i in fallback:
        z = _exact_preactivations(net, X[i], cache)
        bad = [k for k, v in enumerate(z) if v == 0 or (v > 0) != bool(P[i, k])]
        inside = _in_domain_exact(dom, X[i])
        exists[i] = not bad and inside
        if bad:
            failures.append({"region": int(i), "neuron": int(bad[0]),
                             "why": "exact pre-activation is zero or has the wrong sign"})
        elif not inside:
            failures.append({"region": int(i), "neuron": None, "why": "interior point outside the domain"})
    for i in np.flatnonzero(wrong_any):
        failures.append({"region": int(i), "neuron": int(wrong_at[i]),
                         "why": "pre-activation has the wrong sign (certified)"})
    for i in np.flatnonzero(fine & ~wrong_any & ~dok):
        failures.append({"region": int(i), "neuron": None, "why": "interior point outside the domain"})
    return int(exists.sum()), int(n - len(fallback)), int(len(fallback))


def _closure(result, failures):
    T = compute_facets(result)
    fid, region, nb, boundary = T["facet"], T["region"], T["neighbour"], T["boundary"]
    first = np.ones(len(fid), bool)
    first[1:] = fid[1:] != fid[:-1]
    f_region, f_nb, f_bd = region[first], nb[first], boundary[first]
    f_index, f_kind = T["index"][first], T["kind"][first]
    open_ = ~f_bd & (f_nb < 0)
    for a in np.flatnonzero(open_):
        failures.append({"region": int(f_region[a]), "neuron": int(f_index[a]) if f_kind[a] == "neuron" else None,
                         "why": "no region across this facet"})
    across = np.flatnonzero(f_nb >= 0)
    n = max(int(result.count), 1)
    seen = np.sort(f_region[across] * n + f_nb[across])
    back = f_nb[across] * n + f_region[across]
    pos = np.minimum(np.searchsorted(seen, back), max(len(seen) - 1, 0))
    lone = across[seen[pos] != back] if len(seen) else across
    asym = len(lone)
    for a in lone:
        i, j = int(f_region[a]), int(f_nb[a])
        failures.append({"region": i, "neuron": int(f_index[a]) if f_kind[a] == "neuron" else None,
                         "why": f"region {j} is across this facet but has no facet towards it"})
    for i in T["_no_interior"]:
        failures.append({"region": int(i), "neuron": None, "why": "no interior point: facets not computed"})
    return int(open_.sum()), asym, int(first.sum()), len(T["_no_interior"]), T["_stats"]


def certify(result, max_failures: int = 20) -> dict:
    """Check that every region exists (exactly) and that the dual graph is closed (float64).

    Parameters
    ----------
    result : EnumerationResult
        Existence is checked in any domain; closure needs a polyhedral one (box, polytope, the
        whole space) and raises `NNCellsError` for a Euclidean ball.
    max_failures : int
        Most failures listed (``failures_total`` counts them all).

    Returns
    -------
    dict
        ``exist`` (regions whose interior point has exactly their pattern, every pre-activation
        non-zero, inside the domain), ``of`` (regions), ``float_certified`` and
        ``exact_fallbacks`` (regions settled by the float bound, and by exact rationals),
        ``closed`` (every facet off the domain's boundary has a region across it, and the
        relation is symmetric), ``open_facets``, ``asymmetric``, ``facets``, ``lp_solves``
        (of the facet computation), ``failures`` (dicts with ``region``, ``neuron`` or None,
        ``why``), ``failures_total`` and ``seconds``.

    Examples
    --------
    >>> import nncells
    >>> net = nncells.random_network([2, 6, 6, 1], seed=0)
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    >>> c = certify(res)
    >>> c["exist"] == c["of"] == res.count, c["closed"], c["failures"]
    (True, True, [])
    """
    t0 = time.perf_counter()
    failures: list = []
    exist, float_ok, exact = _existence(result, failures)
    open_, asym, nfacets, no_interior, stats = _closure(result, failures)
    failures.sort(key=lambda f: (f["region"], f["why"]))
    return {
        "exist": exist, "of": int(result.count), "float_certified": float_ok, "exact_fallbacks": exact,
        "closed": open_ == 0 and asym == 0 and no_interior == 0, "open_facets": open_, "asymmetric": asym,
        "facets": nfacets, "lp_solves": int(stats["facet_lp_solves"]),
        "failures": failures[:max_failures], "failures_total": len(failures),
        "seconds": time.perf_counter() - t0,
    }
