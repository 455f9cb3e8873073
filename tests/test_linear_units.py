"""Networks with linear (pass-through) units, downstream of the engine: local counts and bounds,
2-D slices, certificates, facets and adjacency, Parquet, global bounds and the analyses.

Every test compares with an independent oracle written here from the raw weights and masks
(brute force over the ReLU units' sign vectors with SciPy's LP, a fine grid of sampled points,
pre-activations sampled in a ball) or with an invariant: a residual network whose skip carries
only ReLU outputs is also a plain ReLU network (``relu(h) = h`` for ``h >= 0``), with the same
regions and maps.
"""
import functools
import itertools
import json

import numpy as np
import pytest
from scipy.optimize import linprog

import nncells
from nncells import Ball, Box, Network, Space, enumerate_regions, read_arrays
from nncells.analysis import decision_components, global_bounds, rank_children, serra_upper_bound
from nncells.local import (analyse_points, boundary_distance, count_in_ball, local_complexity,
                           preactivation_bounds, regions_in_ball, sampled_patterns_in_ball,
                           upper_bound_in_ball)
from nncells.planar.partition import planar_partition
from nncells.planar.slices import Plane, adjacency_graph, rectangle, slice_partition
from nncells.results.adjacency import adjacency, compute_facets
from nncells.results.certify import certify
from nncells.results.result import EnumerationResult
from cli_helpers import run_nncells

TOL = 1e-7   # the oracle's inscribed radius must exceed this (random networks have no slivers this thin)


# ------------------------------------------------------------------ networks
def residual(d, w, seed):
    """``out = U relu(W2 (x + V relu(W1 x + b1)) + b2)``: the skip adds the raw input ``x``, carried
    across the first hidden layer by ``d`` linear units."""
    rng = np.random.default_rng(seed)
    W1, b1, V = rng.normal(size=(w, d)), rng.normal(size=w), rng.normal(size=(d, w))
    W2, b2, U = rng.normal(size=(4, d)), rng.normal(size=4), rng.normal(size=(2, 4))
    return Network([np.vstack([W1, np.eye(d)]), np.hstack([W2 @ V, W2]), U], [np.r_[b1, np.zeros(d)], b2, [0.0, 0.1]],
                   linear=[np.r_[np.zeros(w, bool), np.ones(d, bool)], np.zeros(4, bool)])


def residual_head(seed):
    """``out = U (x + V relu(W1 x + b1))``: the last hidden layer holds the linear units."""
    rng = np.random.default_rng(seed)
    W1, b1, V, U = rng.normal(size=(5, 2)), rng.normal(size=5), rng.normal(size=(2, 5)), rng.normal(size=(3, 2))
    return Network([np.vstack([W1, np.eye(2)]), np.hstack([U @ V, U])], [np.r_[b1, 0.0, 0.0], [0.1, 0.0, -0.1]],
                   linear=[np.r_[np.zeros(5, bool), True, True]])


def relu_skip(seed, linear=True):
    """``h1 = relu(A x + a)``; ``h2 = h1 + V relu(B h1 + c)``; ``out = U relu(C h2 + e)`` on 2 inputs.
    The skip carries ``h1 >= 0``: by linear units, or (``linear=False``) by ReLU units, the same
    function with the same regions (a carried ReLU unit's bit equals its layer-1 unit's)."""
    rng = np.random.default_rng(seed)
    A, a = rng.normal(size=(3, 2)), rng.normal(size=3)
    B, c, V = rng.normal(size=(3, 3)), rng.normal(size=3), rng.normal(size=(3, 3))
    C, e, U = rng.normal(size=(4, 3)), rng.normal(size=4), rng.normal(size=(1, 4))
    masks = [np.zeros(3, bool), np.r_[np.zeros(3, bool), np.ones(3, bool)], np.zeros(4, bool)]
    return Network([A, np.vstack([B, np.eye(3)]), np.hstack([C @ V, C]), U], [a, np.r_[c, np.zeros(3)], e, [0.2]],
                   linear=masks if linear else None)


def wide(seed):
    """8 inputs into 4 ReLU units (an input wider than the first layer: the local bounds and
    distances work with its Gram matrix), whose outputs a block carries by linear units."""
    rng = np.random.default_rng(seed)
    A, a, B, V, C = (rng.normal(size=s) for s in ((4, 8), 4, (3, 4), (4, 3), (3, 4)))
    return Network([A, np.vstack([B, np.eye(4)]), np.hstack([C @ V, C]), rng.normal(size=(1, 3))],
                   [a, np.r_[rng.normal(size=3), np.zeros(4)], rng.normal(size=3), [0.0]],
                   linear=[np.zeros(4, bool), np.r_[np.zeros(3, bool), np.ones(4, bool)], np.zeros(3, bool)])


def to_plain(P):
    """Patterns of ``relu_skip(linear=True)`` as the plain network's (the carried bits copy layer 1's)."""
    P = np.array(P, dtype=bool)
    P[:, 6:9] = P[:, 0:3]
    return P


NETS = {"residual2": lambda: residual(2, 4, 1), "residual3": lambda: residual(3, 5, 2),
        "relu_skip": lambda: relu_skip(3), "head": lambda: residual_head(4),
        "residual7": lambda: residual(7, 3, 5),   # above VERTEX_MAX_DIM: LP mode, facets by LPs
        "wide8": lambda: wide(0)}


@functools.lru_cache(maxsize=None)
def net_of(name):
    return NETS[name]()


# ------------------------------------------------------------------ the oracle
def rows_of(net, bits):
    """``G x <= h`` of the region of ``bits`` from the raw weights: one row per ReLU unit (a linear
    unit passes its map on and bounds nothing), with each row's uncancelled size."""
    d = net.input_dim
    M, m, start = np.eye(d), np.zeros(d), 0
    G, h, ref = [], [], []
    for W, b, lin in zip(net.weights[:-1], net.biases[:-1], net.linear):
        Z, z = W @ M, W @ m + b
        s = np.asarray(bits[start:start + len(b)], dtype=bool)
        start += len(b)
        sign = np.where(s, -1.0, 1.0)
        G.append((Z * sign[:, None])[~lin])
        h.append((-z * sign)[~lin])
        ref.append((np.abs(W) @ np.abs(M).sum(axis=1) + 1e-300)[~lin])
        s = s | lin
        M, m = Z * s[:, None], z * s
    return np.vstack(G), np.concatenate(h), np.concatenate(ref)


def relu_signs(net):
    """Every pattern of ``net``: the ReLU units' signs vary, linear units' bits are True."""
    lin = net.linear_mask
    for bits in itertools.product([False, True], repeat=net.n_relu):
        p = lin.copy()
        p[~lin] = bits
        yield p


def inscribed(G, h, strict, ref, A_eq=None, b_eq=None, cap=1.0):
    """Largest inscribed radius (capped) of ``G x <= h`` (``strict`` rows must hold strictly, as
    constants), with SciPy's LP; -inf if empty."""
    nrm = np.linalg.norm(G, axis=1)
    zero = nrm <= 1e-12 * ref
    if np.any(h[zero] < 0) or np.any(h[zero & strict] <= 0):
        return -np.inf
    G, h, nrm = G[~zero], h[~zero], nrm[~zero]
    d = G.shape[1]
    res = linprog(np.r_[np.zeros(d), -1.0], A_ub=np.hstack([G, nrm[:, None]]), b_ub=h,
                  A_eq=None if A_eq is None else np.hstack([A_eq, np.zeros((len(A_eq), 1))]), b_eq=b_eq,
                  bounds=[(None, None)] * d + [(None, cap)], method="highs")
    return -res.fun if res.status == 0 else -np.inf


def box_rows(lo, hi, d):
    return np.vstack([np.eye(d), -np.eye(d)]), np.r_[np.full(d, hi), np.full(d, -lo)]


def brute(net, dom=None, among=None):
    """The patterns (of ``among``, default all) whose region meets ``dom`` (``(A, b)`` or None:
    the whole space) in a full-dimensional set."""
    out = set()
    for p in (relu_signs(net) if among is None else map(np.array, among)):
        G, h, ref = rows_of(net, p)
        strict = p[~net.linear_mask]
        if dom is not None:
            G, h = np.vstack([dom[0], G]), np.r_[dom[1], h]
            strict, ref = np.r_[np.zeros(len(dom[1]), bool), strict], np.r_[np.ones(len(dom[1])), ref]
        if inscribed(G, h, strict, ref) > TOL:
            out.add(tuple(p.tolist()))
    return out


@functools.lru_cache(maxsize=None)
def brute_box(name, lo=-2.0, hi=2.0):
    net = net_of(name)
    return frozenset(brute(net, box_rows(lo, hi, net.input_dim)))


@functools.lru_cache(maxsize=None)
def result(name, space=False, method="auto"):
    dom = Space() if space else Box(-2, 2)
    return enumerate_regions(net_of(name), dom, workers=1, method=method)


def pset(P):
    return {tuple(map(bool, p)) for p in P}


def forward_z(net, X):
    """Pre-activations from the raw weights: a linear unit passes its value on (``h = z``)."""
    zs, h = [], np.atleast_2d(X)
    for W, b, lin in zip(net.weights[:-1], net.biases[:-1], net.linear):
        z = h @ W.T + b
        zs.append(z)
        h = np.where(lin, z, np.maximum(z, 0.0))
    return zs


# ------------------------------------------------------------------ enumeration, planar
@pytest.mark.parametrize("name", list(NETS))
def test_enumeration_matches_brute_force(name):
    net, res = net_of(name), result(name)
    assert pset(res.patterns) == brute_box(name)
    assert res.patterns[:, net.linear_mask].all()
    for i in range(0, res.count, 7):   # the region's half-spaces (linear units' rows 0 <= 0) and its map
        x, r = res.chebyshev(i)
        assert r > 0 and (net.pattern(x) == res.patterns[i]).all()
        A, c = res.affine_map(i)
        assert np.allclose(A @ x + c, net.forward(x))
    if net.input_dim == 2:   # the planar mesh (method auto) and the cells method agree
        assert res.info.method == "planar"
        assert np.array_equal(result(name, method="cells").patterns, res.patterns)


@pytest.mark.parametrize("name", ["residual2", "relu_skip", "head"])
def test_whole_space_matches_brute_force(name):
    net = net_of(name)
    assert pset(result(name, space=True).patterns) == brute(net)


@pytest.mark.parametrize("name", ["residual2", "relu_skip", "head"])
def test_planar_partition_vs_brute_force_and_grid(name):
    net = net_of(name)
    part = planar_partition(net, rectangle(-2, 2), backend="numpy")
    assert pset(part.patterns) == brute_box(name) and part.n_faces == len(brute_box(name))
    assert np.isclose(part.areas.sum(), 16.0) and part.per_layer[-1] == part.n_faces
    assert (net.pattern(part.centroids) == part.patterns).all()
    y = np.einsum("fok,fk->fo", part.A, part.centroids) + part.c
    assert np.allclose(y, net.forward(part.centroids))
    g = np.linspace(-2, 2, 301)
    grid = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    assert pset(net.pattern(grid)) <= pset(part.patterns)
    # the native backend, where built, hands networks with linear units to the numpy split
    assert np.array_equal(planar_partition(net, rectangle(-2, 2)).patterns, part.patterns)


def test_slice_of_a_3d_residual_network():
    net = net_of("residual3")
    plane = Plane.through_points([0.1, -0.2, 0.3], [1.0, 0.5, -0.4], [-0.3, 1.1, 0.6])
    sl = slice_partition(net, plane, rectangle(-2, 2))
    part = sl.partition
    B, o = plane.basis, plane.origin   # the oracle: the regions of x = o + B (s, t) in the square
    W0 = net.weights[0]
    net2 = Network([W0 @ B] + list(net.weights[1:]), [W0 @ o + net.biases[0]] + list(net.biases[1:]), net.linear)
    assert pset(part.patterns) == brute(net2, box_rows(-2, 2, 2))
    assert (net.pattern(plane.to_input(part.centroids)) == part.patterns).all()
    g = np.linspace(-2, 2, 201)
    grid = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    assert pset(net.pattern(plane.to_input(grid))) <= pset(part.patterns)


def test_relu_skip_equals_its_plain_relu_twin_in_the_plane():
    lin, plain = relu_skip(3), relu_skip(3, linear=False)
    assert np.allclose(lin.forward(np.eye(2)), plain.forward(np.eye(2)))
    a, b = (planar_partition(n, rectangle(-2, 2)) for n in (lin, plain))
    assert a.n_faces == b.n_faces and np.isclose(np.sort(a.areas), np.sort(b.areas)).all()
    assert a.patterns[:, lin.linear_mask].all() and not b.patterns[:, 6:9].all()
    assert pset(to_plain(a.patterns)) == pset(b.patterns)
    ea, eb = (enumerate_regions(n, Box(-2, 2), workers=1, method="cells") for n in (lin, plain))
    assert pset(to_plain(ea.patterns)) == pset(eb.patterns)
    ga, gb = adjacency_graph(a), adjacency_graph(b)   # the planar adjacency, by pattern pairs
    pairs = [{frozenset((tuple(to_plain(p.patterns[[u]])[0]), tuple(to_plain(p.patterns[[v]])[0])))
              for u, v in g.edges} for p, g in ((a, ga), (b, gb))]
    assert pairs[0] == pairs[1]
    assert all(k not in range(6, 9) for _, _, k in ga.edges(data="neuron"))   # linear units never cut


# ------------------------------------------------------------------ local
def ball_sandwich_2d(center, radius, n=720):
    """Inscribed and circumscribed regular polygons of a disc, as (A, b)."""
    t = 2 * np.pi * np.arange(n) / n
    U = np.c_[np.cos(t), np.sin(t)]
    return (U, U @ center + radius * np.cos(np.pi / n)), (U, U @ center + radius)


@pytest.mark.parametrize("name", ["residual2", "relu_skip"])
@pytest.mark.parametrize("center,radius", [([0.3, -0.4], 0.6), ([-1.0, 0.5], 1.3)])
def test_count_in_ball_vs_brute_force(name, center, radius):
    net, c = net_of(name), np.array(center)
    inner, outer = ball_sandwich_2d(c, radius)
    box = (np.vstack([np.eye(2), -np.eye(2)]), np.r_[c + radius, radius - c])
    near = brute(net, box)                    # the ball's bounding box first: fewer LPs with many rows
    lo, hi = brute(net, inner, near), brute(net, outer, near)
    got = pset(regions_in_ball(net, c, radius).patterns)
    assert lo <= got <= hi
    assert pset(regions_in_ball(net, c, radius, "inf").patterns) == near


def test_count_in_ball_3d_and_the_plain_twin():
    net, c = net_of("residual3"), np.array([0.2, -0.1, 0.4])
    box = (np.vstack([np.eye(3), -np.eye(3)]), np.r_[c + 0.8, 0.8 - c])
    assert pset(regions_in_ball(net, c, 0.8, "inf").patterns) == brute(net, box)
    lin, plain = relu_skip(3), relu_skip(3, linear=False)
    for center, r in (([0.1, 0.2], 0.5), ([-1.0, 1.0], 1.5)):
        assert count_in_ball(lin, center, r) == count_in_ball(plain, center, r)


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("norm", [2, "inf"])
def test_preactivation_bounds_hold_and_count_bounds_sandwich(name, norm):
    net = net_of(name)
    d = net.input_dim
    rng = np.random.default_rng(5)
    C = rng.normal(size=(4, d)) * 0.7
    exact = [count_in_ball(net, c, 0.6, norm) for c in C]
    for i, c in enumerate(C):
        assert len(sampled_patterns_in_ball(net, c, 0.6, 300, norm, seed=i)) <= exact[i]
    for method in ("crown", "interval"):
        bounds = preactivation_bounds(net, C, 0.6, norm, method)
        for i, c in enumerate(C):
            X = Ball(c, 0.6, norm).sample(3000, i)
            for (lo, hi), z in zip(bounds, forward_z(net, X)):
                assert np.all(lo[i] <= z + 1e-12) and np.all(z <= hi[i] + 1e-12)
        assert all(e <= u for e, u in zip(exact, upper_bound_in_ball(net, C, 0.6, norm, method)))


def test_upper_bound_counts_relu_units_only():
    """Far from every ReLU hyperplane the bound is 1, however the linear units' values vary."""
    net = net_of("residual2")
    x = np.zeros(2)
    r = 0.5 * boundary_distance(net, x)
    lo, hi = preactivation_bounds(net, x, r)[0]
    assert np.any((lo < 0) & (hi > 0) & net.linear[0])   # a linear unit changes sign in the ball
    assert upper_bound_in_ball(net, x, r) == 1 == count_in_ball(net, x, r)
    assert local_complexity(net, x, r).tolist() == [0]


@pytest.mark.parametrize("name", list(NETS))
def test_boundary_distance_vs_the_region_rows(name):
    net = net_of(name)
    X = np.random.default_rng(2).uniform(-1.5, 1.5, size=(20, net.input_dim))
    got = boundary_distance(net, X)
    for x, dist in zip(X, got):
        G, h, _ = rows_of(net, net.pattern(x))
        nrm = np.linalg.norm(G, axis=1)
        ok = nrm > 1e-12
        assert np.isclose(dist, np.min((h[ok] - G[ok] @ x) / nrm[ok]), rtol=1e-7)
    x, dist = X[0], got[0]
    assert count_in_ball(net, x, 0.9 * dist) == 1 < count_in_ball(net, x, 1.1 * dist + 1e-9)


@pytest.mark.parametrize("name", list(NETS))
def test_local_complexity_counts_relu_units(name):
    net = net_of(name)
    C = np.random.default_rng(3).normal(size=(6, net.input_dim))
    d = net.input_dim
    steps = np.vstack([np.eye(d), -np.eye(d)])
    want = []
    for c in C:
        z = np.concatenate(forward_z(net, c + 0.7 * steps), axis=1)[:, ~net.linear_mask] > 0
        want.append(int(np.sum(z.any(axis=0) & ~z.all(axis=0))))
    assert local_complexity(net, C, 0.7).tolist() == want
    cols = analyse_points(net, C[:2], 0.7, exact=True, samples=100, workers=1)
    assert cols["local_complexity"].tolist() == want[:2]
    assert all(s <= e <= u for s, e, u in zip(cols["sampled_lower_bound"], cols["exact"], cols["upper_bound"]))


# ------------------------------------------------------------------ certify, facets, adjacency
@pytest.mark.parametrize("name,space", [("residual2", False), ("residual3", False), ("relu_skip", False),
                                        ("head", False), ("residual7", False), ("residual2", True),
                                        ("residual3", True), ("head", True), ("residual7", True)])
def test_certify_passes_on_a_correct_result(name, space):
    res = result(name, space, method="cells")
    for complete in (None, True):
        c = certify(res, complete=complete)
        assert c["exist"] == c["of"] == res.count and c["closed"], c["failures"]
        assert c["unproven_rows"] == 0 and c["failures"] == []


@pytest.mark.parametrize("name", ["residual2", "residual3", "residual7"])
def test_certify_fails_when_a_region_is_removed(name):
    res = result(name, method="cells")
    keep = np.arange(res.count) != res.count // 2
    cut = EnumerationResult.from_regions(res.network, res.domain, {
        "patterns": res.patterns[keep], "points": res.points[keep], "radii": res.radii[keep],
        "ranks": res.ranks[keep]})
    c = certify(cut)
    assert c["exist"] == c["of"] == res.count - 1
    assert not c["closed"] and c["open_facets"] > 0


def test_certify_fails_on_a_false_linear_bit_or_a_wrong_sign():
    res = result("residual3", method="cells")
    net = res.network
    lin = np.flatnonzero(net.linear_mask)
    P = res.patterns.copy()
    P[0, lin[1]] = False
    bad = EnumerationResult.from_regions(net, res.domain, {"patterns": P, "points": res.points,
                                                           "radii": res.radii, "ranks": res.ranks})
    c = certify(bad)
    assert c["exist"] == res.count - 1
    assert any(f["neuron"] == lin[1] and "linear" in f["why"] for f in c["failures"])
    # a linear unit whose value is negative at the point is no failure (its sign is not checked)
    z = np.concatenate(net.preactivations(res.points), axis=1)[:, lin]
    assert (z < 0).any() and certify(res)["exist"] == res.count


def test_certify_exact_fallback_passes_linear_values_on():
    """Points within rounding of a layer-2 ReLU hyperplane are settled in exact arithmetic, where
    the linear units carry ``x`` as it is (negative values too: a ReLU in their place would
    decide these points wrongly)."""
    # h = (x1, x2) carried by linear units; one ReLU of layer 2: x1 + x2
    net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]], [[1.0]]], [[0.0, 0.0], [0.0], [0.0]],
                  linear=[[True, True], [False]])
    res = enumerate_regions(net, Box(-1, 1), workers=1, method="cells")
    assert res.count == 2 and res.patterns.tolist() == [[True, True, False], [True, True, True]]
    assert certify(res)["closed"]

    def at(points):
        return EnumerationResult.from_regions(net, res.domain, {
            "patterns": res.patterns, "points": np.array(points), "radii": res.radii, "ranks": res.ranks})
    c = certify(at([[-(0.25 + 2.0 ** -54), 0.25], [0.5, 0.25]]))   # x1 + x2 = -2^-54 < 0, exactly
    assert c["exist"] == 2 and c["exact_fallbacks"] == 1, c["failures"]
    c = certify(at([[-0.25, 0.25], [0.5, 0.25]]))                    # on the hyperplane: no interior
    assert c["exist"] == 1 and c["exact_fallbacks"] == 1
    assert [f["neuron"] for f in c["failures"] if f["region"] == 0] == [2]


def adjacent_by_lp(net, p, q, k, dom):
    """Whether the regions of patterns ``p`` and ``q`` (differing in ReLU unit ``k``) share a
    facet on unit ``k``'s hyperplane: a (d-1)-ball in it, of radius > TOL, clears every other row
    of both regions and of the domain (distances measured within the hyperplane)."""
    at = int(np.flatnonzero(np.flatnonzero(~net.linear_mask) == k)[0])
    (G, h, _), (G2, h2, _) = rows_of(net, np.array(p)), rows_of(net, np.array(q))
    others = np.arange(len(h)) != at
    A, b = np.vstack([dom[0], G[others], G2[others]]), np.r_[dom[1], h[others], h2[others]]
    a, c = G[at], h[at]
    nrm = np.linalg.norm(A - np.outer(A @ a, a) / (a @ a), axis=1)   # the rows within the hyperplane
    d = len(a)
    res = linprog(np.r_[np.zeros(d), -1.0], A_ub=np.hstack([A, nrm[:, None]]), b_ub=b,
                  A_eq=np.r_[a, 0.0][None, :], b_eq=[c], bounds=[(None, None)] * d + [(None, 1.0)], method="highs")
    return res.status == 0 and -res.fun > TOL


@pytest.mark.parametrize("name", list(NETS))
@pytest.mark.parametrize("core", [True, False])
def test_adjacency_vs_brute_force(name, core):
    net = net_of(name)
    res = enumerate_regions(net, Box(-2, 2), workers=1, method="cells")
    compute_facets(res, _core=core)
    E = adjacency(res)
    got = {frozenset((tuple(res.patterns[i]), tuple(res.patterns[j]))) for i, j in zip(E["i"], E["j"])}
    assert not np.isin(E["neuron"], np.flatnonzero(net.linear_mask)).any()
    dom = box_rows(-2.0, 2.0, net.input_dim)
    want = set()
    pats = sorted(brute_box(name))
    index = set(pats)
    for p in pats:
        for k in np.flatnonzero(~net.linear_mask):
            q = list(p)
            q[k] = not q[k]
            q = tuple(q)
            if q in index and p < q and adjacent_by_lp(net, p, q, k, dom):
                want.add(frozenset((p, q)))
    assert got == want
    # sampled neighbours: a short segment whose points have one of two patterns, differing in one
    # ReLU bit, crosses from one region straight into the other: they are adjacent
    rng = np.random.default_rng(4)
    X = rng.uniform(-1.9, 1.9, size=(4000, net.input_dim))
    Y = X + rng.normal(size=X.shape) * 0.02
    Px, Py = net.pattern(X), net.pattern(Y)
    one = np.flatnonzero((Px != Py).sum(axis=1) == 1)
    t = np.linspace(0, 1, 17)[:, None, None]
    Pm = net.pattern((X[one] + t * (Y[one] - X[one])).reshape(-1, net.input_dim)).reshape(len(t), len(one), -1)
    straight = np.all((Pm == Px[one]).all(axis=2) | (Pm == Py[one]).all(axis=2), axis=0)
    assert straight.sum() > 20
    assert {frozenset((tuple(Px[i]), tuple(Py[i]))) for i in one[straight]} <= got


# ------------------------------------------------------------------ Parquet, bounds, analyses
def test_parquet_roundtrip_keeps_linear_bits(tmp_path):
    res = result("residual3", method="cells")
    path = tmp_path / "r.parquet"
    res.to_parquet(path)
    t = read_arrays(path)
    assert np.array_equal(t["patterns"], res.patterns) and t["patterns"].shape[1] == res.network.n_hidden
    assert t["meta"]["linear_units"] == np.flatnonzero(res.network.linear_mask).tolist()
    back = EnumerationResult.from_regions(res.network, Box(-2, 2), t)
    assert certify(back)["closed"]
    out = tmp_path / "run"
    nncells.enumerate_to_dir(res.network, Box(-2, 2), out, workers=1)
    d = read_arrays(out)
    assert pset(d["patterns"]) == pset(res.patterns)
    assert d["meta"]["linear_units"] == np.flatnonzero(res.network.linear_mask).tolist()


@pytest.mark.parametrize("name", list(NETS))
def test_global_bounds_count_relu_units(name):
    net = net_of(name)
    count = result(name, space=True).count
    b = global_bounds(net)
    assert b["trivial"] == 2 ** net.n_relu and b["montufar_max_lower"] is None
    assert count <= b["serra"] <= b["montufar"] <= b["trivial"]
    lin = [w - k for w, k in zip(net.widths, net.relu_widths)]
    assert serra_upper_bound(net) == serra_upper_bound(net.input_dim, net.widths, lin)
    table = rank_children(result(name))
    assert table["width"].tolist() == [net.relu_widths[layer] for layer in table["layer"]]
    assert (table["children"] <= table["max_children"]).all()


def test_global_bound_is_reached_by_a_carried_input():
    """Two ReLU lines beside the carried input, then two lines of it: four lines in general
    position, 11 regions; the bounds with linear units say 16 (a bound taking them for ReLU
    units would say 44, and the trivial one 64)."""
    W1 = np.array([[1.0, 0.3], [-0.4, 1.0], [1.0, 0.0], [0.0, 1.0]])
    W2 = np.array([[0.0, 0.0, 1.0, -0.7], [0.0, 0.0, 0.5, 1.0]])
    net = Network([W1, W2, [[1.0, 1.0]]], [[0.1, -0.2, 0.0, 0.0], [0.05, 0.3], [0.0]],
                  linear=[[False, False, True, True], [False, False]])
    res = enumerate_regions(net, Space(), workers=1)
    assert res.count == 11 and pset(res.patterns) == brute(net)
    assert global_bounds(net) == {"montufar": 16, "serra": 16, "trivial": 16, "montufar_max_lower": None}


@pytest.mark.parametrize("name", ["residual2", "relu_skip", "head"])
def test_decision_components_and_output_maps(name):
    res = result(name, method="cells")
    net = res.network
    out = decision_components(res)
    from nncells.analysis.components import _output_maps
    A, c = _output_maps(net, res.patterns)
    for i in range(res.count):
        Ai, ci = net.local_affine(res.patterns[i])
        assert np.allclose(A[i], Ai) and np.allclose(c[i], ci)
    # a grid oracle: the classes present, and pieces per region
    g = np.linspace(-1.99, 1.99, 241)
    grid = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    y = net.forward(grid)
    cls = y.argmax(axis=1) if y.shape[1] > 1 else (y[:, 0] > 0).astype(int)
    assert {k for k, v in out["classes"].items() if v} >= set(cls.tolist())
    if name == "relu_skip":
        plain = enumerate_regions(relu_skip(3, linear=False), Box(-2, 2), workers=1, method="cells")
        twin = decision_components(plain)
        assert twin["classes"] == out["classes"] and twin["mixed_regions"] == out["mixed_regions"]


# ------------------------------------------------------------------ the command line
_cli = run_nncells


def test_cli_on_an_npz_model_with_linear_units(tmp_path):
    net = net_of("residual3")
    path = tmp_path / "res.npz"
    net.to_npz(path)
    with np.load(path) as z:
        assert "L0" in z.files
    r = _cli("enumerate", str(path), "--box", "-2", "2", "--json", "--workers", "1", "--certify")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["regions"] == len(brute_box("residual3")) and s["certified"]["closed"]
    assert s["certified"]["exist"] == s["regions"]
    r = _cli("local", str(path), "--center", "0.2,-0.1,0.4", "--radius", "0.8", "--norm", "inf", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    c = np.array([0.2, -0.1, 0.4])
    want = len(brute(net, (np.vstack([np.eye(3), -np.eye(3)]), np.r_[c + 0.8, 0.8 - c])))
    assert s["exact"] == want <= s["upper_bound"]
    r = _cli("slice", str(path), "--origin", "0,0,0", "--dirs", "1,0,0", "0,1,0", "--extent", "2", "--json")
    assert r.returncode == 0, r.stderr
    W0 = net.weights[0]
    net2 = Network([W0[:, :2]] + list(net.weights[1:]), list(net.biases), net.linear)
    assert json.loads(r.stdout)["regions"] == len(brute(net2, box_rows(-2, 2, 2)))
