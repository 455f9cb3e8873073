"""The planar mesh in the compiled core against its numpy twin (issue: a compiled core).

`nncells.planar.mesh.split_layers` runs the mesh split in the core when the backend is
``native`` and in numpy otherwise. Both must give the same faces: identical pattern sets, face
counts per layer, ranks and adjacency, for `enumerate_regions(..., method="planar")` and for
slices, on random and degenerate networks and in any units. The core numbers faces and vertices
as numpy does, so the loops must be identical too.
"""
import numpy as np
import pytest

from nncells import Box, Network, _config, enumerate_regions, kernels, random_network
from nncells.planar.partition import planar_partition
from nncells.planar.slices import Plane, adjacency_graph, rectangle, slice_partition

SQUARE = rectangle(-1, 1)

pytestmark = pytest.mark.skipif(not kernels.native_available(), reason="the compiled core is not built")


def _pset(P):
    return {p.tobytes() for p in np.asarray(P, dtype=bool)}


def _edges(part):
    """Adjacency as a set of unordered pattern pairs (face numbers may differ between runs)."""
    fa, fb, _ = part.interior_edges()
    P = np.asarray(part.patterns, dtype=bool)
    return {frozenset((P[a].tobytes(), P[b].tobytes())) for a, b in zip(fa, fb)}


def _both(monkeypatch, make):
    out = {}
    for name in ("native", "numpy"):
        monkeypatch.setattr(_config, "BACKEND", name)
        assert kernels.backend() == name
        out[name] = make()
    return out["native"], out["numpy"]


def _same_partition(a, b):
    assert a.per_layer == b.per_layer
    assert a.n_faces == b.n_faces == len(_pset(a.patterns))
    assert _pset(a.patterns) == _pset(b.patterns)
    ra = {p.tobytes(): tuple(r) for p, r in zip(a.patterns, a.ranks)}
    rb = {p.tobytes(): tuple(r) for p, r in zip(b.patterns, b.ranks)}
    assert ra == rb
    assert _edges(a) == _edges(b)
    # same numbering of faces and vertices as the numpy twin
    assert np.array_equal(a.patterns, b.patterns)
    assert np.array_equal(a.face_start, b.face_start) and np.array_equal(a.face_vertices, b.face_vertices)
    scale = np.abs(b.vertices).max()
    np.testing.assert_allclose(a.vertices, b.vertices, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(a.areas, b.areas, rtol=1e-9, atol=1e-12 * scale ** 2)
    np.testing.assert_allclose(a.centroids, b.centroids, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(a.c, b.c, rtol=1e-9, atol=1e-12 * max(np.abs(b.c).max(), 1e-300))
    assert a.bound == b.bound


def _same_enumeration(net, box, monkeypatch):
    a, b = _both(monkeypatch, lambda: enumerate_regions(net, box, method="planar", workers=1))
    assert a.per_layer == b.per_layer
    assert len(a) == len(b) == len(_pset(a.patterns))
    assert _pset(a.patterns) == _pset(b.patterns)
    ka = {p.tobytes(): tuple(r) for p, r in zip(a.patterns, a.ranks)}
    kb = {p.tobytes(): tuple(r) for p, r in zip(b.patterns, b.ranks)}
    assert ka == kb
    assert np.array_equal(net.pattern(a.points), a.patterns)
    return a


def _same_mesh(net, polygon, monkeypatch):
    a, b = _both(monkeypatch, lambda: planar_partition(net, polygon))
    _same_partition(a, b)
    return a


@pytest.mark.parametrize("dims,seed", [([2, 16, 16, 1], 0), ([2, 16, 16, 1], 1), ([2, 32, 32, 32, 1], 2),
                                       ([2, 8, 8, 8, 8, 8, 3], 3), ([2, 24, 5, 24, 2], 4)])
def test_parity_on_random_networks(dims, seed, monkeypatch):
    net = random_network(dims, seed=seed)
    a = _same_enumeration(net, Box(-1, 1), monkeypatch)
    assert len(a) > 10
    _same_mesh(net, SQUARE, monkeypatch)
    _same_mesh(net, [[-3, -2], [2, -3], [4, 1], [0, 3], [-2, 2]], monkeypatch)  # a pentagon


def _degenerate(kind):
    net = random_network([2, 12, 12, 12, 1], seed=5)
    Ws, bs = [W.copy() for W in net.weights], [b.copy() for b in net.biases]
    box = 1.0
    if kind == "duplicated":  # repeated neurons in every hidden layer
        for l in range(3):
            Ws[l][-1], bs[l][-1] = Ws[l][0], bs[l][0]
            Ws[l][-2], bs[l][-2] = 2 * Ws[l][1], 2 * bs[l][1]
    elif kind == "through_vertices":  # first-layer lines through the origin, through corners
        bs[0][:4] = 0.0
        Ws[0][4:6], bs[0][4:6] = [[1.0, 1.0], [1.0, -1.0]], 0.0
        Ws[0][6], bs[0][6] = [1.0, 1.0], -2.0  # touches the corner (1, 1) only
        bs[1][:3] = 0.0
    elif kind == "parallel":  # neurons along and parallel to the box's edges
        Ws[0][:4] = [[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, 3.0]]
        bs[0][:4] = [-1.0, 1.0, 0.5, -3.0]
    elif kind == "zero_rows":  # zero rows (constant neurons, dead or alive) in every layer
        for l in range(3):
            Ws[l][2] = 0.0
            Ws[l][3], bs[l][3] = 0.0, -1.0
            Ws[l][4], bs[l][4] = 0.0, 1.0
    elif kind in ("small", "large"):  # first layer scaled, the box scaled back
        f = 1e-6 if kind == "small" else 1e6
        Ws[0] = Ws[0] * f
        box = 1.0 / f
    elif kind in ("small_all", "large_all"):  # every weight and bias scaled
        return random_network([2, 12, 12, 12, 1], seed=5).scaled(1e-6 if kind == "small_all" else 1e6), 1.0
    return Network(Ws, bs), box


@pytest.mark.parametrize("kind", ["duplicated", "through_vertices", "parallel", "zero_rows", "small", "large",
                                  "small_all", "large_all"])
def test_parity_on_degenerate_networks(kind, monkeypatch):
    net, r = _degenerate(kind)
    a = _same_enumeration(net, Box(-r, r), monkeypatch)
    assert len(a) > 1
    _same_mesh(net, rectangle(-r, r), monkeypatch)


def test_lines_through_one_vertex_make_no_slivers(monkeypatch):
    """Six lines through the origin, then a layer whose lines all pass through it too."""
    angles = np.linspace(0, np.pi, 6, endpoint=False)
    W = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    net = Network([W, W @ W.T, np.ones((1, 6))], [np.zeros(6), np.zeros(6), [0.0]])
    part = _same_mesh(net, SQUARE, monkeypatch)
    assert part.per_layer[0] == 12 and part.radii().min() > 1e-3


@pytest.mark.parametrize("seed", [0, 1])
def test_parity_on_slices(seed, monkeypatch):
    net = random_network([5, 16, 16, 3], seed=seed)
    rng = np.random.default_rng(seed)
    plane = Plane.through_points(*rng.normal(size=(3, 5)))
    a, b = _both(monkeypatch, lambda: slice_partition(net, plane, rectangle([-2, -1], [1, 2])))
    _same_partition(a.partition, b.partition)
    ga, gb = adjacency_graph(a.partition), adjacency_graph(b.partition)
    P = a.partition.patterns
    assert {frozenset((P[u].tobytes(), P[v].tobytes())): d["neurons"] for u, v, d in ga.edges(data=True)} == \
           {frozenset((P[u].tobytes(), P[v].tobytes())): d["neurons"] for u, v, d in gb.edges(data=True)}
    X = plane.to_input(a.partition.centroids)
    assert np.array_equal(net.pattern(X), a.partition.patterns)


def test_wrapper_checks_shapes():
    from nncells.kernels.planar import partition
    with pytest.raises(ValueError):
        partition(SQUARE, [np.ones((3, 3)), np.ones((1, 3))], [np.zeros(3), np.zeros(1)], [np.zeros(0)], 1e-15)
    with pytest.raises(ValueError):
        partition(SQUARE, [np.ones((3, 2))], [np.zeros(3)], [], 1e-15)
