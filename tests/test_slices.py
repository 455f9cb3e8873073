"""Slices of higher-dimensional networks, planes, and the adjacency graph."""
import networkx as nx
import numpy as np
import pytest

import nncells
from nncells.errors import NNCellsError
from nncells.planar.slices import Plane, adjacency_graph, rectangle, slice_network, slice_partition


def pset(P):
    return {tuple(map(bool, p)) for p in P}


@pytest.mark.parametrize("seed", [0, 1])
def test_slice_matches_engine_on_sliced_network(seed):
    net = nncells.random_network([6, 8, 8, 2], seed=seed)
    rng = np.random.default_rng(seed)
    plane = Plane.through_points(*rng.normal(size=(3, 6)))
    sl = slice_partition(net, plane, rectangle(-1, 1))
    part = sl.partition
    net2 = slice_network(net, plane)
    res = nncells.enumerate_regions(net2, nncells.Box(-1, 1), method="cells")
    assert part.n_faces == res.count and pset(part.patterns) == pset(res.patterns)
    X = plane.to_input(part.centroids)
    assert np.array_equal(net.pattern(X), part.patterns)
    np.testing.assert_allclose(net(X), np.einsum("fok,fk->fo", part.A, part.centroids) + part.c, atol=1e-10)


def test_planes():
    p = Plane.through_points([1, 0, 0], [3, 0, 0], [1, 5, 1])
    np.testing.assert_allclose(p.basis.T @ p.basis, np.eye(2), atol=1e-12)
    P = np.array([[1, 0, 0], [3, 0, 0], [1, 5, 1]], float)
    np.testing.assert_allclose(p.to_input(p.coordinates(P)), P, atol=1e-12)
    q = Plane.from_directions([0, 0, 0], [2, 0, 0], [0, 0, 3])
    np.testing.assert_allclose(q.to_input([[1, 1]]), [[2, 0, 3]])
    with pytest.raises(NNCellsError, match="collinear"):
        Plane.through_points([0, 0, 0], [1, 1, 1], [2, 2, 2])
    with pytest.raises(NNCellsError, match="parallel"):
        Plane.from_directions([0, 0], [1, 2], [2, 4])
    with pytest.raises(NNCellsError):
        Plane.from_directions([0, 0, 0], [1, 2], [2, 4, 1])
    with pytest.raises(NNCellsError, match="empty"):
        rectangle(1, -1)
    with pytest.raises(NNCellsError):
        slice_partition(nncells.random_network([3, 4, 1]))  # 3 inputs and no plane
    with pytest.raises(NNCellsError):
        slice_network(nncells.random_network([3, 4, 1]), q.__class__.from_directions([0, 0], [1, 0], [0, 1]))


def test_input_plane_of_2d_network():
    net = nncells.random_network([2, 10, 1], seed=3)
    a = slice_partition(net, polygon=rectangle([-2, -1], [2, 1])).partition
    assert abs(a.areas.sum() - 8.0) < 1e-12 * 8 and np.array_equal(net.pattern(a.centroids), a.patterns)


def test_adjacency_one_layer():
    net = nncells.random_network([2, 12, 1], seed=5)
    part = slice_partition(net).partition
    g = adjacency_graph(part)
    assert g.number_of_nodes() == part.n_faces and nx.is_connected(g)
    for a, b, d in g.edges(data=True):
        diff = np.flatnonzero(part.patterns[a] != part.patterns[b])
        assert diff.tolist() == [d["neuron"]] and d["length"] > 0
    # Euler's formula for the planar subdivision: V - E + F = 1 (the outer face not counted)
    n_boundary = sum(len(part.face(f)) for f in range(part.n_faces)) - 2 * g.number_of_edges()
    assert len(part.vertices) - (g.number_of_edges() + n_boundary) + part.n_faces == 1


def test_adjacency_deep():
    net = nncells.random_network([2, 10, 10, 10, 1], seed=2)
    part = slice_partition(net).partition
    g = adjacency_graph(part)
    assert nx.is_connected(g)
    # every shared edge's faces differ in at least one neuron, and the edge lies on its zero set
    fa, fb, seg = part.interior_edges()
    for a, b, s in zip(fa, fb, seg):
        flips = np.flatnonzero(part.patterns[a] != part.patterns[b])
        assert len(flips) >= 1
        z = np.concatenate(net.preactivations(s.mean(axis=0, keepdims=True)), axis=1)[0]
        assert np.abs(z[flips]).min() < 1e-9
