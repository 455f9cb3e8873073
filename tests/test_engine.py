"""The enumeration engine against independent oracles."""
import numpy as np

from nncells import _config
import pytest
from scipy.spatial import ConvexHull, HalfspaceIntersection

from nncells import Box, DomainError, Network, NNCellsError, Polytope, Space, enumerate_regions, random_network
from oracles import brute_force_patterns, patterns_set, zaslavsky


@pytest.mark.parametrize("d,method", [(1, "auto"), (2, "cells"), (2, "planar"), (3, "auto"), (4, "auto"),
                                      (5, "auto")])
@pytest.mark.parametrize("seed", [0, 1])
def test_box_equals_brute_force(d, method, seed):
    net = random_network([d, 5, 4, 1], seed=seed)
    box = Box(-2, 2).resolve(d)
    result = enumerate_regions(net, box, method=method)
    A, b = box.halfspaces()
    assert patterns_set(result) == brute_force_patterns(net, A, b, cap=4.0)
    assert result.count == len(result.patterns) == result.per_layer[-1]


@pytest.mark.parametrize("d", [1, 2, 3, 4])
def test_whole_space_equals_brute_force(d):
    net = random_network([d, 5, 4, 1], seed=d)
    result = enumerate_regions(net, Space())
    assert patterns_set(result) == brute_force_patterns(net, np.zeros((0, d)), np.zeros(0), cap=1.0)


def test_three_hidden_layers_brute_force():
    net = random_network([2, 4, 3, 3, 2], seed=7)
    box = Box(-3, 3).resolve(2)
    result = enumerate_regions(net, box)
    A, b = box.halfspaces()
    assert patterns_set(result) == brute_force_patterns(net, A, b, cap=6.0)
    assert len(result.per_layer) == 3


def test_polytope_domain_brute_force():
    A = np.array([[1.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    b = np.array([2.0, 1.0, 1.0])
    net = random_network([2, 6, 4, 1], seed=3)
    result = enumerate_regions(net, Polytope(A, b))
    assert patterns_set(result) == brute_force_patterns(net, A, b, cap=Polytope(A, b).scale)


@pytest.mark.parametrize("d,k", [(1, 6), (2, 9), (3, 10), (4, 8), (6, 9)])
def test_one_layer_zaslavsky(d, k):
    net = random_network([d, k, 1], seed=k)
    result = enumerate_regions(net, Space())
    assert result.count == zaslavsky(k, d)


@pytest.mark.parametrize("d", [2, 3, 5])
def test_sampled_points_are_all_enumerated(d):
    net = random_network([d, 10, 8, 1], seed=11)
    box = Box(-1, 1).resolve(d)
    result = enumerate_regions(net, box)
    X = box.sample(10_000, rng=0)
    sampled = {tuple(p) for p in net.pattern(X)}
    assert sampled <= patterns_set(result)


@pytest.mark.parametrize("d,method", [(2, "cells"), (2, "planar"), (3, "cells")])
def test_volumes_sum_to_box_volume(d, method):
    net = random_network([d, 10, 6, 1], seed=5)
    box = Box(-1, 1.5).resolve(d)
    result = enumerate_regions(net, box, method=method)
    total = 0.0
    for i in range(result.count):
        G, h = result.halfspaces(i)
        hs = HalfspaceIntersection(np.hstack([G, -h[:, None]]), result.points[i])
        total += ConvexHull(hs.intersections).volume
    assert total == pytest.approx(box.volume, rel=1e-9)


@pytest.mark.parametrize("domain", [Box(-1, 1), Space()])
def test_interior_points_and_affine_maps(domain):
    net = random_network([3, 8, 6, 2], seed=2)
    result = enumerate_regions(net, domain)
    # The stored point lies in its region, strictly (every pre-activation away from zero) ...
    assert np.array_equal(net.pattern(result.points), result.patterns)
    z = np.concatenate(net.preactivations(result.points), axis=1)
    assert np.all(np.abs(z) > 0)
    assert np.all(result.radii > 0)
    for i in range(0, result.count, 5):  # the stored radius is a certified lower bound
        x, r = result.chebyshev(i)
        assert r >= result.radii[i] - 1e-12 and np.array_equal(net.pattern(x), result.patterns[i])
    assert np.all(domain.resolve(3).contains(result.points))
    # ... and the region's affine map reproduces the network there.
    for i in range(result.count):
        A, c = result.affine_map(i)
        assert np.allclose(A @ result.points[i] + c, net.forward(result.points[i]), rtol=1e-12, atol=1e-12)


def test_ranks_and_parents():
    net = random_network([3, 6, 5, 4, 1], seed=4)
    result = enumerate_regions(net, Box(-1, 1))
    for l in range(3):
        assert len(np.unique(result.layer_ids(l))) == result.per_layer[l]
    # ranks: recomputed from the local maps
    for i in range(0, result.count, 7):
        Ms = net.layer_maps(result.patterns[i])
        for l, (Z, _) in enumerate(Ms):
            s = result.patterns[i][net.layer_slices[l]]
            assert result.ranks[i, l] == np.linalg.matrix_rank(Z * s[:, None])
    # a parent's pattern is its children's prefix
    parents = result.parents(2)
    ids1, ids2 = result.layer_ids(1), result.layer_ids(2)
    assert np.array_equal(parents[ids2], ids1)
    regions = list(result)
    assert len(regions) == result.count and regions[0].parent >= 0


def test_rank_zero_region_has_one_child():
    # Layer 1 all dead on the negative side: x -> relu(-x - 10) is 0 on [-1, 1].
    net = Network([np.array([[1.0], [-1.0]]), np.array([[1.0, 1.0]]), np.array([[1.0]])],
                  [np.array([0.0, -10.0]), np.array([-0.5]), np.array([0.0])])
    result = enumerate_regions(net, Box(-1, 1))
    assert result.per_layer == [2, 3]
    assert patterns_set(result) == brute_force_patterns(net, *Box(-1, 1).resolve(1).halfspaces(), cap=2.0)


# ---------------------------------------------------------------- degenerate networks
def _check_brute(net, d, lo=-2.0, hi=2.0):
    box = Box(lo, hi).resolve(d)
    A, b = box.halfspaces()
    expected = brute_force_patterns(net, A, b, cap=hi - lo)
    for method in ("cells", "planar") if d == 2 else ("cells",):
        result = enumerate_regions(net, box, method=method)
        assert patterns_set(result) == expected, method
    return result


@pytest.mark.parametrize("d", [2, 5])
def test_dead_and_zero_neurons(d):
    net = random_network([d, 6, 4, 1], seed=1)
    W0, b0 = np.array(net.weights[0]), np.array(net.biases[0])
    W0[1] = 0.0          # zero row, positive bias: always active
    b0[1] = 0.3
    W0[2] = 0.0          # zero row, zero bias: always inactive (pre-activation 0 is not > 0)
    b0[2] = 0.0
    b0[3] = -100.0       # dead on the box
    net = Network([W0] + list(net.weights[1:]), [b0] + list(net.biases[1:]))
    result = _check_brute(net, d)
    assert result.patterns[:, 1].all() and not result.patterns[:, 2].any() and not result.patterns[:, 3].any()


@pytest.mark.parametrize("d", [2, 5])
def test_duplicated_and_parallel_neurons(d):
    rng = np.random.default_rng(0)
    W0 = rng.normal(size=(6, d))
    b0 = rng.normal(size=6)
    W0[1], b0[1] = W0[0], b0[0]             # duplicate
    W0[2], b0[2] = 3 * W0[0], 3 * b0[0]     # same hyperplane, scaled
    W0[3], b0[3] = -W0[0], -b0[0]           # same hyperplane, opposite orientation
    W0[4], b0[4] = W0[0], b0[0] + 0.5       # parallel
    net = Network([W0, rng.normal(size=(4, 6)), rng.normal(size=(1, 4))],
                  [b0, rng.normal(size=4), np.zeros(1)])
    _check_brute(net, d)


@pytest.mark.parametrize("d", [2, 3, 5])
def test_many_hyperplanes_through_one_point(d):
    rng = np.random.default_rng(d)
    W0 = rng.normal(size=(7, d))
    net = Network([W0, rng.normal(size=(3, 7)), rng.normal(size=(1, 3))],
                  [np.zeros(7), rng.normal(size=3) * 0.1, np.zeros(1)])
    _check_brute(net, d)
    if d == 2:  # a central arrangement of 7 lines in the plane has 14 cells
        one = Network([W0, np.ones((1, 7))], [np.zeros(7), np.zeros(1)])
        assert enumerate_regions(one, Space()).count == 14


@pytest.mark.parametrize("scale", [1e-6, 1e6])
@pytest.mark.parametrize("d", [2, 5])
def test_weight_scales(scale, d):
    base = random_network([d, 6, 5, 1], seed=9)
    ref = patterns_set(enumerate_regions(base, Box(-2, 2)))
    # Scaling every layer by s scales layer l's pre-activation by s^l: the same regions.
    Ws = [W * scale for W in base.weights]
    bs = [b * scale ** (i + 1) for i, b in enumerate(base.biases)]
    scaled = Network(Ws, bs)
    assert patterns_set(enumerate_regions(scaled, Box(-2, 2))) == ref
    _check_brute(scaled, d)


def test_zero_hidden_layers_is_one_region():
    net = Network([np.ones((1, 3))], [np.zeros(1)])
    result = enumerate_regions(net, Box(0, 1))
    assert result.count == 1 and result.per_layer == []


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("weights,biases,message", [
    ([], [], "empty network"),
    ([np.ones((2, 3)), np.ones((1, 4))], [np.ones(2), np.ones(1)], "expects 4 inputs"),
    ([np.array([[np.nan, 1.0]])], [np.ones(1)], "NaN or inf"),
    ([np.array([[np.inf, 1.0]])], [np.ones(1)], "NaN or inf"),
    ([np.ones((2, 3))], [np.ones(3)], "bias has 3 entries"),
])
def test_bad_networks(weights, biases, message):
    with pytest.raises(NNCellsError, match=message):
        Network(weights, biases)


def test_bad_domains():
    net = random_network([2, 3, 1])
    with pytest.raises(NNCellsError, match="lo >= hi"):
        Box(1, 0)
    with pytest.raises(NNCellsError, match="dimension"):
        enumerate_regions(net, Box([0, 0, 0], [1, 1, 1]))
    with pytest.raises(NNCellsError, match="NaN"):
        Box(float("nan"), 1)
    with pytest.raises(DomainError, match="no interior"):  # refused when the run starts
        enumerate_regions(net, Polytope(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([0.0, 0.0])))
    with pytest.raises(DomainError, match="no interior"):  # an infeasible zero row: refused at once
        Polytope(np.array([[0.0, 0.0]]), np.array([-1.0]))
    with pytest.raises(NNCellsError, match="dimension"):
        enumerate_regions(net, Space(3))


def test_whole_space_homogeneous_and_lp_modes_agree(monkeypatch):
    """The whole space runs one dimension up in a box (vertex mode); LP mode must agree."""
    from nncells.engine.lifting import homogenize
    net = random_network([3, 7, 6, 1], seed=12)
    lifted = enumerate_regions(net, Space(), workers=1)
    assert lifted.summary()["method"] == "cells (homogeneous)" and lifted.lp_solves < lifted.count
    monkeypatch.setattr(_config, "VERTEX_MAX_DIM", 1)
    lp_mode = enumerate_regions(net, Space(), workers=1)
    assert lp_mode.summary()["method"] == "cells"
    assert np.array_equal(lifted.patterns, lp_mode.patterns)
    assert lifted.per_layer == lp_mode.per_layer
    # points are strict interior points of their regions, with a ball of the stored radius inside
    assert np.array_equal(net.pattern(lifted.points), lifted.patterns)
    for i in range(lifted.count):
        G, h = net.region_halfspaces(lifted.patterns[i])
        assert np.all(G @ lifted.points[i] + lifted.radii[i] * np.linalg.norm(G, axis=1) <= h + 1e-9)
    # F(x, t) = t f(x / t)
    F = homogenize(net)
    x, t = np.array([0.3, -0.2, 0.5]), 0.7
    assert np.allclose(F.forward(np.r_[x * t, t]), t * net.forward(x))


def test_many_records_pauses_the_collector_and_gives_it_back():
    """`cells.many_records`: the cyclic collector is off inside, on again after (also after an
    error), and stays off where the caller had turned it off."""
    import gc
    from nncells.engine.cells import many_records
    assert gc.isenabled()
    with many_records():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(ValueError):
        with many_records():
            raise ValueError("inside")
    assert gc.isenabled()
    gc.disable()
    try:
        with many_records():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
