"""The planar subdivision against the general engine, geometry checks and degenerate cases."""
import numpy as np
import pytest

import nncells
from nncells.errors import NNCellsError
from nncells.planar.partition import class_pieces, decision_boundary, planar_batch, planar_partition

SQUARE = [[-1, -1], [1, -1], [1, 1], [-1, 1]]


def pset(P):
    return {tuple(map(bool, p)) for p in P}


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_matches_engine(seed):
    net = nncells.random_network([2, 8, 8, 1], seed=seed)
    res = nncells.enumerate_regions(net, nncells.Box(-1, 1), method="cells")
    part = planar_partition(net, SQUARE)
    assert part.n_faces == res.count
    assert pset(part.patterns) == pset(res.patterns)
    assert part.per_layer == res.per_layer
    # ranks of the same pattern agree with the engine's
    ranks = {tuple(map(bool, p)): tuple(r) for p, r in zip(res.patterns, res.ranks)}
    assert all(ranks[tuple(map(bool, p))] == tuple(r) for p, r in zip(part.patterns, part.ranks))
    batch = planar_batch(net, -1, 1)
    assert len(batch) == res.count and pset(batch.patterns) == pset(res.patterns)
    assert np.all(batch.radii > 0) and batch.ranks.shape == (res.count, 2)
    assert np.array_equal(net.pattern(batch.points), batch.patterns)


@pytest.mark.parametrize("seed", [4, 5])
def test_geometry(seed):
    net = nncells.random_network([2, 12, 12, 12, 3], seed=seed)
    part = planar_partition(net, SQUARE)
    assert abs(part.areas.sum() - 4.0) <= 1e-9 * 4.0
    assert np.all(part.areas > 0)
    assert np.array_equal(net.pattern(part.centroids), part.patterns)
    assert len(pset(part.patterns)) == part.n_faces
    y = np.einsum("fok,fk->fo", part.A, part.centroids) + part.c
    np.testing.assert_allclose(y, net(part.centroids), atol=1e-10)
    r = part.radii()
    assert np.all(r > 0)
    # every face's vertices are on its own side of each of its edges (convex, CCW)
    for f in range(0, part.n_faces, 7):
        P = part.face(f)
        d = np.roll(P, -1, axis=0) - P
        assert np.all(d[:, 0] * np.roll(d, -1, axis=0)[:, 1] - d[:, 1] * np.roll(d, -1, axis=0)[:, 0] > 0)


def test_triangle_domain_and_one_layer_count():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(10, 2))
    net = nncells.Network([W, np.ones((1, 10))], [rng.normal(size=10) * 0.01, [0.0]])
    big = planar_partition(net, [[-100, -100], [100, -100], [0, 100]])
    assert big.n_faces == 1 + 10 + 45  # Zaslavsky: lines in general position, all meeting inside
    assert abs(big.areas.sum() - 20000.0) <= 1e-9 * 20000.0


def test_lines_through_one_vertex():
    angles = np.linspace(0, np.pi, 6, endpoint=False)
    W = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    net = nncells.Network([W, np.ones((1, 6))], [np.zeros(6), [0.0]])
    part = planar_partition(net, SQUARE)
    assert part.n_faces == 12  # 6 lines through the origin: 12 sectors, no slivers
    assert len(part.vertices) == 1 + 4 + 12  # origin, corners, two boundary hits per line
    assert pset(part.patterns) == pset(nncells.enumerate_regions(net, nncells.Box(-1, 1), method="cells").patterns)


def test_parallel_dead_and_repeated_neurons():
    W = np.array([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    b = np.array([-1.0, 0.5, 1.0, 1.0, -1.0, 0.0, 2.0])  # x=1 is the box edge, x=-1/2 twice,
    net = nncells.Network([W, np.ones((1, 7))], [b, [0.0]])  # two dead, one through a corner
    part = planar_partition(net, SQUARE)
    assert part.n_faces == 4
    assert not part.patterns[:, 0].any() and part.patterns[:, 3].all() and not part.patterns[:, 4].any()
    assert np.array_equal(part.patterns[:, 1], part.patterns[:, 2])
    res = nncells.enumerate_regions(net, nncells.Box(-1, 1), method="cells")
    assert pset(part.patterns) == pset(res.patterns)


@pytest.mark.parametrize("factor", [1e-6, 1e6])
def test_scaled_weights(factor):
    net = nncells.random_network([2, 8, 8, 1], seed=7).scaled(factor)
    part = planar_partition(net, SQUARE)
    engine = pset(nncells.enumerate_regions(net, nncells.Box(-1, 1), method="cells").patterns)
    assert np.array_equal(net.pattern(part.centroids), part.patterns)
    assert abs(part.areas.sum() - 4.0) <= 4e-9
    if factor < 1:
        assert pset(part.patterns) == engine
    else:
        # x 1e6 squeezes the second layer's lines into clusters ~1e-6 wide: the planar mesh keeps
        # faces with inradius ~1e-7 that the engine (sliver tolerance 1e-7) drops or merges.
        assert engine <= pset(part.patterns) and part.radii().min() > 1e-9


def test_decision_boundary_ties():
    net = nncells.random_network([2, 16, 16, 3], seed=6)
    part = planar_partition(net, SQUARE)
    seg, cls = decision_boundary(part)
    assert len(seg) > 0 and np.all(cls[:, 0] != cls[:, 1])
    for s in (seg.mean(axis=1), seg[:, 0], seg[:, 1]):
        y = net(s)
        rows = np.arange(len(s))
        assert np.allclose(y[rows, cls[:, 0]], y[rows, cls[:, 1]], atol=1e-9)
        assert np.all(y[rows, cls[:, 0]] >= y.max(axis=1) - 1e-9)
    verts, start, loops, par, pc = class_pieces(part)
    cent = np.array([verts[loops[a:b]].mean(axis=0) for a, b in zip(start[:-1], start[1:])])
    assert np.array_equal(net(cent).argmax(axis=1), pc)
    # scalar output: the zero level set
    net1 = nncells.random_network([2, 16, 16, 1], seed=1)
    seg1, _ = decision_boundary(planar_partition(net1, SQUARE))
    assert len(seg1) > 0 and np.abs(net1(seg1.reshape(-1, 2))).max() < 1e-9


def test_bad_input():
    with pytest.raises(NNCellsError):
        planar_partition(nncells.random_network([3, 4, 1]), SQUARE)
    net = nncells.random_network([2, 4, 1])
    with pytest.raises(NNCellsError, match="convex"):
        planar_partition(net, [[0, 0], [2, 0], [1, 0.2], [2, 2], [0, 2]])
    with pytest.raises(NNCellsError, match="interior"):
        planar_partition(net, [[0, 0], [1, 1], [2, 2]])
    with pytest.raises(NNCellsError):
        planar_batch(net, 1, -1)
