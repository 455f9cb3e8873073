"""`certify` (existence in exact rationals, closure of the dual graph) and `decision_components`
(against the planar mesh's class pieces and a flood fill on a grid)."""
import networkx as nx
import numpy as np
import pytest
from scipy import ndimage

import nncells
from nncells.analysis import decision_components
from nncells.engine.cells import Batch, Stats
from nncells.network import Network
from nncells.results.certify import certify
from nncells.results.result import EnumerationResult


def _rebuild(res, patterns=None, points=None, keep=None):
    keep = np.ones(res.count, bool) if keep is None else keep
    P = (res.patterns if patterns is None else patterns)[keep]
    X = (res.points if points is None else points)[keep]
    return EnumerationResult(res.network, res.domain, Batch(P, X, res.radii[keep], res.ranks[keep]), Stats(), 0.0)


@pytest.mark.parametrize("dims,kind", [([2, 8, 6, 1], "box"), ([3, 8, 6, 2], "box"), ([4, 8, 8, 1], "space"),
                                       ([1, 5, 4, 1], "box"), ([7, 5, 3, 1], "box"), ([3, 6, 6, 6, 1], "space")])
def test_certify_passes_on_honest_results(dims, kind):
    net = nncells.random_network(dims, seed=sum(dims))
    res = nncells.enumerate_regions(net, nncells.Box(-1, 1) if kind == "box" else nncells.Space(dims[0]), workers=1)
    c = certify(res)
    assert c["exist"] == c["of"] == res.count
    assert c["closed"] and c["open_facets"] == 0 and c["asymmetric"] == 0 and c["failures"] == []
    assert c["float_certified"] + c["exact_fallbacks"] == res.count


@pytest.mark.parametrize("kind", ["box", "space"])
def test_removing_a_region_opens_its_neighbours_facets(kind):
    net = nncells.random_network([3, 8, 6, 1], seed=5)
    res = nncells.enumerate_regions(net, nncells.Box(-1, 1) if kind == "box" else nncells.Space(3), workers=1)
    G = res.adjacency_graph()
    gone = max(G.degree, key=lambda t: t[1])[0]
    neighbours = {tuple(res.patterns[j]) for j in G.neighbors(gone)}
    keep = np.ones(res.count, bool)
    keep[gone] = False
    cut = _rebuild(res, keep=keep)
    c = certify(cut, max_failures=1000)
    assert c["exist"] == c["of"] == res.count - 1
    assert not c["closed"] and c["open_facets"] == G.degree[gone]
    named = {tuple(cut.patterns[f["region"]]) for f in c["failures"]}
    assert named == neighbours


def test_a_corrupted_pattern_is_named():
    net = nncells.random_network([2, 6, 6, 1], seed=2)
    res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    P = res.patterns.copy()
    P[4, 7] = ~P[4, 7]
    bad = _rebuild(res, patterns=P)
    where = int(np.flatnonzero((bad.patterns == P[4]).all(axis=1) & (bad.points == res.points[4]).all(axis=1))[0])
    c = certify(bad, max_failures=1000)
    assert c["exist"] == res.count - 1 and not c["closed"]
    assert {"region": where, "neuron": 7, "why": "pre-activation has the wrong sign (certified)"} in c["failures"]


def test_the_exact_fallback_decides_what_floats_cannot():
    # z = x1 - x2 is 2**-52 at (1, 1 - 2**-52): below the float bound, positive in exact arithmetic
    net = Network([[[1.0, -1.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    res = nncells.enumerate_regions(net, nncells.Box(-2, 2), workers=1)
    x = np.array([1.0, 1.0 - 2.0 ** -52])
    i = int(np.flatnonzero((res.patterns == [True, True]).all(axis=1))[0])
    X = res.points.copy()
    X[i] = x
    c = certify(_rebuild(res, points=X))
    assert c["exact_fallbacks"] == 1 and c["exist"] == c["of"]
    X[i] = [1.0, 1.0]          # exactly on the hyperplane: the exact evaluation says no
    c = certify(_rebuild(res, points=X))
    assert c["exact_fallbacks"] == 1 and c["exist"] == c["of"] - 1
    assert c["failures"][0]["region"] == i and c["failures"][0]["neuron"] == 0


def _planar_components(net, square):
    from nncells.planar.partition import _shared_edges, class_pieces, planar_partition
    part = planar_partition(net, square)
    verts, start, loops, _, cls = class_pieces(part)
    fa, fb, _ = _shared_edges(verts, start, loops)
    g = nx.Graph()
    g.add_nodes_from(range(len(cls)))
    g.add_edges_from((a, b) for a, b in zip(fa, fb) if cls[a] == cls[b])
    out = {}
    for cc in nx.connected_components(g):
        c = int(cls[next(iter(cc))])
        out[c] = out.get(c, 0) + 1
    return out


@pytest.mark.parametrize("dims,seed", [([2, 8, 8, 3], 2), ([2, 8, 8, 3], 8), ([2, 10, 1], 11), ([2, 6, 6, 6, 2], 1),
                                       ([2, 8, 8, 4], 2)])
def test_decision_components_match_the_planar_class_pieces(dims, seed):
    # seeds with several components of a class (3 of class 1, 2 of class 2, 3 of class 0, ...)
    net = nncells.random_network(dims, seed=seed)
    res = nncells.enumerate_regions(net, nncells.Box(-3, 3), workers=1)
    out = decision_components(res)
    mine = {c: n for c, n in out["classes"].items() if n}
    assert mine == _planar_components(net, [[-3, -3], [3, -3], [3, 3], [-3, 3]])
    assert sum(mine.values()) > len(mine) or dims[-1] == 4


def test_decision_components_match_a_flood_fill():
    # y = |x1| + |x2| - 1 in [-2, 2]^2 minus a bump: class 1 outside the diamond (one ring), class 0 inside
    # and y = |x1| - 0.5: two components of class 1
    for W1, W2, b2, want in [([[1, 0], [-1, 0], [0, 1], [0, -1]], [[1, 1, 1, 1]], [-1.0], {0: 1, 1: 1}),
                             ([[1, 0], [-1, 0]], [[1, 1]], [-0.5], {0: 1, 1: 2})]:
        net = Network([np.array(W1, float), np.array(W2, float)], [np.zeros(len(W1)), b2])
        res = nncells.enumerate_regions(net, nncells.Box(-2, 2, dim=2), workers=1)
        out = decision_components(res)
        t = np.linspace(-2, 2, 401)[1:-1]
        xx, yy = np.meshgrid(t, t)
        cls = (net.forward(np.c_[xx.ravel(), yy.ravel()])[:, 0] > 0).reshape(xx.shape)
        grid = {c: ndimage.label(cls == c)[1] for c in (0, 1)}
        assert out["classes"] == grid == want


def _grid_components_3d(net, n, half=3.0):
    t = np.linspace(-half, half, n + 2)[1:-1]
    X = np.stack(np.meshgrid(t, t, t, indexing="ij"), -1).reshape(-1, 3)
    y = net.forward(X)
    cls = (y.argmax(axis=1) if y.shape[1] > 1 else (y[:, 0] > 0).astype(int)).reshape(n, n, n)
    return {c: ndimage.label(cls == c)[1] for c in range(max(y.shape[1], 2)) if (cls == c).any()}


@pytest.mark.parametrize("dims, seed", [([3, 6, 6, 3], 0), ([3, 8, 4], 2), ([3, 8, 4], 3)])
def test_decision_components_in_3d_match_a_flood_fill(dims, seed):
    """3-D networks whose decision regions a 110^3 grid resolves (the same counts at 60^3), with a
    class in two pieces: the counts of `decision_components` are the grid's."""
    net = nncells.random_network(dims, seed=seed)
    res = nncells.enumerate_regions(net, nncells.Box(-3, 3), workers=1)
    mine = {c: n for c, n in decision_components(res)["classes"].items() if n}
    fine = _grid_components_3d(net, 110)
    assert _grid_components_3d(net, 60) == fine  # the grid resolves these regions
    assert mine == fine and max(fine.values()) >= 2
