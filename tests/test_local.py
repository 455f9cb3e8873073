"""Regions around data points (nncells.local, the Ball domain)."""
import numpy as np
import pytest
from oracles import brute_force_ball, patterns_set

import nncells
from nncells import Ball, Box, NNCellsError, Space, enumerate_regions, random_network
from nncells.domains import domain_from_dict
from nncells._config import DEFAULT_TOL
from nncells.local import (analyse_points, boundary_distance, count_in_ball, local_complexity,
                           preactivation_bounds, regions_in_ball, sampled_patterns_in_ball,
                           upper_bound_in_ball)


def _cases():
    rng = np.random.default_rng(7)
    for s in range(10):
        d = [2, 2, 3, 3, 4][s % 5]
        dims = [d, int(rng.integers(3, 7)), int(rng.integers(3, 7)), 1]
        yield dims, s, rng.normal(size=d) * 0.5, float(rng.choice([0.05, 0.3, 1.0, 2.5]))


@pytest.mark.parametrize("dims,seed,center,radius", list(_cases()))
@pytest.mark.parametrize("norm", [2, "inf"])
def test_sampled_le_exact_le_upper(dims, seed, center, radius, norm):
    net = random_network(dims, seed=seed)
    exact = count_in_ball(net, center, radius, norm)
    upper = upper_bound_in_ball(net, center, radius, norm)
    sampled = sampled_patterns_in_ball(net, center, radius, 300, norm, seed=seed)
    assert len(sampled) <= exact <= upper
    # every verified sampled pattern is one of the exact regions
    assert {tuple(map(bool, p)) for p in sampled} <= patterns_set(regions_in_ball(net, center, radius, norm))


def test_upper_bound_deeper_and_vectorised():
    net = random_network([3, 6, 5, 4, 1], seed=3)
    C = np.random.default_rng(0).normal(size=(6, 3))
    for norm in (2, "inf"):
        ub = upper_bound_in_ball(net, C, 0.7, norm)
        assert ub == [upper_bound_in_ball(net, c, 0.7, norm) for c in C]
        assert all(count_in_ball(net, c, 0.7, norm) <= u for c, u in zip(C, ub))
        loose = upper_bound_in_ball(net, C, 0.7, norm, method="interval")
        assert all(u <= v for u, v in zip(ub, loose))


def test_tiny_ball_has_one_region_and_bound_one():
    net = random_network([3, 8, 8, 1], seed=2)
    c = np.array([0.1, 0.2, -0.3])
    r = 0.5 * boundary_distance(net, c)
    assert count_in_ball(net, c, r) == 1
    assert upper_bound_in_ball(net, c, r) == 1


def test_preactivation_bounds_are_sound():
    net = random_network([5, 12, 10, 8, 1], seed=4)
    rng = np.random.default_rng(1)
    C, r = rng.normal(size=(4, 5)), 0.8
    for norm, method in ((2, "crown"), ("inf", "crown"), (2, "interval")):
        bounds = preactivation_bounds(net, C, r, norm, method)
        for i, c in enumerate(C):
            ball = Ball(c, r, norm)
            X = ball.sample(3000, rng)
            if norm == 2:  # the sphere too, where extremes are attained
                g = rng.normal(size=(3000, 5))
                X = np.vstack([X, c + r * g / np.linalg.norm(g, axis=1, keepdims=True)])
            for (lo, hi), z in zip(bounds, net.preactivations(X)):
                assert np.all(z >= lo[i] - 1e-12) and np.all(z <= hi[i] + 1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_inf_ball_equals_box(seed):
    net = random_network([3, 5, 5, 1], seed=seed)
    c, r = np.array([0.2, -0.1, 0.4]), 0.6
    ball = regions_in_ball(net, c, r, "inf")
    box = enumerate_regions(net, Box(c - r, c + r))
    assert ball.count == box.count
    assert patterns_set(ball) == patterns_set(box)


@pytest.mark.parametrize("dims,seed,center,radius", [  # chosen so that the ball and its box differ
    ([2, 4, 4, 1], 0, [0.19, 0.03], 1.0),
    ([2, 5, 3, 1], 5, [-0.19, 0.01], 2.0),
    ([2, 6, 2, 1], 1, [-0.37, -0.22], 1.0),
    ([3, 4, 3, 1], 2, [-0.28, -0.14, 0.07], 1.0),
    ([3, 3, 4, 1], 4, [0.45, -0.38, 0.45], 2.0),
])
def test_euclidean_ball_matches_brute_force(dims, seed, center, radius):
    net = random_network(dims, seed=seed)
    tol = DEFAULT_TOL * (float(np.max(np.abs(center))) + radius)  # the ball's margin (docs/numerics.md)
    surely_in, surely_out = brute_force_ball(net, center, radius, tol)
    got = patterns_set(regions_in_ball(net, center, radius))
    assert surely_in <= got
    assert not (got & surely_out)
    undecided = 2 ** net.n_hidden - len(surely_in) - len(surely_out)
    assert undecided <= 2  # the oracle decides (almost) every pattern
    # the Euclidean ball lies between the inscribed and circumscribed boxes
    d = len(center)
    c = np.asarray(center)
    assert patterns_set(regions_in_ball(net, c, radius / np.sqrt(d), "inf")) <= got
    box = patterns_set(regions_in_ball(net, c, radius, "inf"))
    assert got < box  # strictly: the case really tests the ball, not its bounding box


def test_region_points_lie_in_ball_and_region():
    net = random_network([2, 6, 6, 1], seed=11)
    c, r = np.array([0.3, 0.1]), 0.9
    res = regions_in_ball(net, c, r)
    assert np.all(np.linalg.norm(res.points - c, axis=1) + res.radii <= r + 1e-12)
    assert np.array_equal(net.pattern(res.points), res.patterns)
    assert np.all(boundary_distance(net, res.points) >= res.radii * (1 - 1e-9))


def test_huge_ball_gives_whole_space_count():
    net = random_network([2, 6, 5, 1], seed=3)
    whole = enumerate_regions(net, Space())
    res = regions_in_ball(net, [0.0, 0.0], 1000.0)  # the farthest region starts at distance ~946
    assert res.count == whole.count
    assert regions_in_ball(net, [0.0, 0.0], 100.0).count < whole.count
    assert patterns_set(res) == patterns_set(whole)


# ------------------------------------------------------------------ boundary distance
def _first_exit(net, x, U, t_max=1e3, iters=80):
    """Along each unit direction U[k], the first t where the pattern of x + t U[k] changes
    (bisection; the set of t with x's pattern is an interval because the region is convex)."""
    p = net.pattern(x)
    lo, hi = np.zeros(len(U)), np.full(len(U), t_max)
    changed = np.any(net.pattern(x + hi[:, None] * U) != p, axis=1)
    for _ in range(iters):
        mid = (lo + hi) / 2
        same = np.all(net.pattern(x + mid[:, None] * U) == p, axis=1)
        lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
    return np.where(changed, hi, np.inf)  # inf: no exit within t_max


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_boundary_distance_matches_bisection(seed):
    net = random_network([2, 8, 8, 1], seed=seed)
    X = np.random.default_rng(seed).normal(size=(5, 2))
    dist = boundary_distance(net, X)
    coarse = np.linspace(0, 2 * np.pi, 2000, endpoint=False)
    for x, dx in zip(X, dist):
        exits = _first_exit(net, x, np.c_[np.cos(coarse), np.sin(coarse)])
        assert exits.min() >= dx - 1e-12
        # refine around the three best coarse directions: 3000 directions within one coarse step
        best = coarse[np.argsort(exits)[:3]]
        fine = (best[:, None] + np.linspace(-1, 1, 1000)[None, :] * (2 * np.pi / 2000)).ravel()
        exits = _first_exit(net, x, np.c_[np.cos(fine), np.sin(fine)])
        assert dx - 1e-12 <= exits.min() <= dx + 1e-6 * max(dx, 1.0)
        # exactly along the normal of the nearest hyperplane of the region's H-representation
        G, h = net.region_halfspaces(net.pattern(x))
        norms = np.linalg.norm(G, axis=1)
        i = int(np.argmin((h - G @ x) / norms))
        assert abs(_first_exit(net, x, (G[i] / norms[i])[None, :], iters=100)[0] - dx) <= 1e-9


def test_boundary_distance_in_higher_dimension_is_inradius():
    from oracles import chebyshev_radius, pattern_halfspaces
    net = random_network([4, 6, 6, 1], seed=5)
    for x in np.random.default_rng(2).normal(size=(5, 4)):
        G, h = pattern_halfspaces(net, net.pattern(x))[:2]
        # the largest ball around x inside the region: an LP with the centre fixed at x
        expect = np.min((h - G @ x) / np.linalg.norm(G, axis=1))
        assert boundary_distance(net, x) == pytest.approx(expect, rel=1e-9)
        assert boundary_distance(net, x) <= chebyshev_radius(G, h, cap=1e6) + 1e-12


def test_boundary_distance_edge_cases():
    W1 = np.array([[1.0, 0.0], [0.0, 2.0]])
    net = nncells.Network([W1, np.array([[0.0, 0.0], [1.0, 1.0]]), np.ones((1, 2))],
                          [np.zeros(2), np.zeros(2), np.zeros(1)])
    # the second layer's first neuron is identically 0 (zero normal): skipped, not 0/0
    assert boundary_distance(net, [3.0, 5.0]) == pytest.approx(3.0)
    assert boundary_distance(net, [0.0, 5.0]) == 0.0  # on a first-layer hyperplane
    assert np.isinf(boundary_distance(nncells.Network([np.eye(2)], [np.zeros(2)]), [1.0, 2.0]))


# ------------------------------------------------------------------ complexity, batch, domain
def test_local_complexity_counts_sign_changes():
    net = nncells.Network([np.eye(2), np.ones((1, 2))], [np.array([-0.5, 0.0]), np.zeros(1)])
    assert local_complexity(net, [[0.0, 0.0], [2.0, 2.0], [0.5, 0.05]], 0.1).tolist() == [1, 0, 2]


def test_analyse_points_serial_and_parallel_agree():
    net = random_network([2, 5, 5, 1], seed=1)
    X = np.random.default_rng(3).normal(size=(6, 2))
    a = analyse_points(net, X, 0.5, exact=True, samples=200, workers=1)
    b = analyse_points(net, X, 0.5, exact=True, samples=200, workers=2)
    for k in a:
        assert np.array_equal(np.asarray(a[k]), np.asarray(b[k])), k
    assert np.all(a["sampled_lower_bound"] <= a["exact"])
    assert np.all(a["exact"] <= np.array(a["upper_bound"]))
    assert a["exact"].tolist() == [count_in_ball(net, x, 0.5) for x in X]


def test_ball_domain_round_trip_and_sampling():
    b = Ball([1.0, 2.0], 0.5)
    assert domain_from_dict(b.to_dict()).to_dict() == b.to_dict()
    assert domain_from_dict(Ball([0.0], 1.0, "inf").to_dict()).norm == "inf"
    X = b.sample(2000, 0)
    assert np.all(b.contains(X)) and np.linalg.norm(X - b.center, axis=1).max() > 0.49


@pytest.mark.parametrize("call", [
    lambda net: count_in_ball(net, [0.0, 0.0], 0.0),
    lambda net: count_in_ball(net, [0.0, 0.0], -1.0),
    lambda net: count_in_ball(net, [0.0, 0.0], float("nan")),
    lambda net: count_in_ball(net, [0.0, 0.0, 0.0], 1.0),
    lambda net: count_in_ball(net, [0.0, float("nan")], 1.0),
    lambda net: count_in_ball(net, [0.0, 0.0], 1.0, norm=3),
    lambda net: upper_bound_in_ball(net, np.zeros((3, 3)), 1.0),
    lambda net: upper_bound_in_ball(net, np.zeros((3, 2)), [1.0, 0.0, 1.0]),
    lambda net: boundary_distance(net, [[np.inf, 0.0]]),
    lambda net: sampled_patterns_in_ball(net, [0.0, 0.0], -0.1),
    lambda net: analyse_points(net, np.zeros((2, 2)), 1.0, exact=True, workers=0),
])
def test_bad_input_is_a_clear_error(call):
    with pytest.raises(NNCellsError):
        call(random_network([2, 3, 1], seed=0))


def test_distance_to_polyhedron_least_distance_matches_qp():
    """The NNLS least-distance solution equals HiGHS's QP where the QP succeeds, and is feasible."""
    from nncells.geometry import solvers as lp
    rng = np.random.default_rng(3)
    checked = 0
    for _ in range(200):
        d, m = int(rng.integers(2, 6)), int(rng.integers(1, 12))
        A, b, c = rng.normal(size=(m, d)), rng.normal(size=m), rng.normal(size=d) * 2
        dist, x = lp.distance_to_polyhedron(A, b, c)
        dq, xq = lp._distance_qp(A, b, c, 1.0)
        if np.isfinite(dist):
            assert np.all(A @ x <= b + 1e-8) and dist == pytest.approx(np.linalg.norm(x - c))
        if np.isfinite(dq):
            assert dist == pytest.approx(dq, abs=1e-7)
            checked += 1
    assert checked > 100
