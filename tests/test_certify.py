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


# ---- neurons constant on a region (issue 21, finding 3) ------------------------------------

def _zero_bias(d, seed, widths=(6, 5)):
    rng = np.random.default_rng(seed)
    dims = [d, *widths, 1]
    return Network([rng.standard_normal((o, i)) for i, o in zip(dims[:-1], dims[1:])], [np.zeros(o) for o in dims[1:]])


def _constant_zero_at_points(res):
    """How many (region, neuron) pairs have a pre-activation of exactly 0 at the region's point."""
    return int(sum((z == 0).sum() for z in res.network.preactivations(res.points)))


@pytest.mark.parametrize("d,seed", [(2, 4), (2, 8), (3, 2), (3, 7), (4, 3), (5, 1)])
def test_zero_bias_networks_in_the_whole_space_certify(d, seed):
    """Every hyperplane of a zero-bias network passes through the origin: a region where all of a
    neuron's inputs are off makes it exactly 0 on the whole region (inactive, as the enumeration
    decides it). The certificate proves it constant and the region exists; the pattern set is the
    independent brute-force oracle's."""
    from oracles import brute_force_contract
    net = _zero_bias(d, seed, (5, 4))
    res = nncells.enumerate_regions(net, nncells.Space(), workers=1, certify=True)
    c = res.certificate
    assert _constant_zero_at_points(res) > 0          # the case of the finding is there
    assert c["exist"] == c["of"] == res.count and c["closed"] and c["failures"] == []
    A, b = res.domain.halfspaces()
    margins = brute_force_contract(net, A, b)
    assert {tuple(p) for p in res.patterns.tolist()} == {p for p, m in margins.items() if m > 0}


@pytest.mark.parametrize("d,seed", [(2, 23), (3, 16), (4, 11)])
def test_zero_bias_networks_certify_with_every_facet_set_proven(d, seed):
    net = _zero_bias(d, seed)
    res = nncells.enumerate_regions(net, nncells.Space(), workers=1)
    c = certify(res, complete=True)
    assert _constant_zero_at_points(res) > 0
    assert c["exist"] == c["of"] and c["closed"] and c["complete_regions"] == res.count


def _inputs_off_network():
    """n3 = relu(n1 + n2) with zero bias, where n1 = relu(-x1 - 3), n2 = relu(-x2 - 3) are both off
    for x1, x2 > -3: n3 is exactly 0 there. n0 = relu(x1 - x2) crosses that area."""
    W1 = [[1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]]
    W2 = [[0.0, 1.0, 1.0], [1.0, 0.5, -0.5]]
    return Network([W1, W2, [[1.0, 1.0]]], [[0.0, -3.0, -3.0], [0.0, -0.25], [0.0]])


def test_a_neuron_whose_inputs_are_all_off_is_constant_zero():
    from oracles import brute_force_contract
    net = _inputs_off_network()
    dom = nncells.Box(-4, 4, dim=2)
    res = nncells.enumerate_regions(net, dom, workers=1)
    A, b = res.domain.halfspaces()
    margins = brute_force_contract(net, A, b)
    assert {tuple(p) for p in res.patterns.tolist()} == {p for p, m in margins.items() if m > 0}
    assert _constant_zero_at_points(res) > 0
    for complete in (None, True):
        c = certify(res, complete=complete)
        assert c["exist"] == c["of"] == res.count and c["closed"] and c["failures"] == []


def test_the_exact_fallback_proves_a_neuron_constant_and_refuses_a_point_on_a_hyperplane():
    net = _inputs_off_network()
    res = nncells.enumerate_regions(net, nncells.Box(-4, 4, dim=2), workers=1)
    i = int(np.flatnonzero((res.patterns == [True, False, False, False, False]).all(axis=1))[0])
    X = res.points.copy()
    X[i] = [1.0, 1.0 - 2.0 ** -52]     # n0 = 2**-52: the float bound cannot tell, exact arithmetic can
    c = certify(_rebuild(res, points=X))
    assert c["exact_fallbacks"] == 1 and c["exist"] == c["of"]    # n3 exactly 0 and constant there
    X[i] = [1.0, 1.0]                  # n0 exactly 0 and not constant: the point is on its hyperplane
    c = certify(_rebuild(res, points=X))
    assert c["exist"] == c["of"] - 1
    mine = [f for f in c["failures"] if f["region"] == i and f["neuron"] is not None]
    assert mine[0]["neuron"] == 0 and "not constant" in mine[0]["why"]


def test_a_point_on_a_real_hyperplane_of_a_zero_bias_network_fails():
    net = _zero_bias(3, 2)
    res = nncells.enumerate_regions(net, nncells.Space(), workers=1)
    X = res.points.copy()
    X[0] = 0.0                         # every neuron is 0 at the origin; the first layer's are not constant
    c = certify(_rebuild(res, points=X))
    assert c["exist"] == c["of"] - 1 and c["failures"][0]["region"] == 0
    assert c["failures"][0]["neuron"] < net.widths[0] and "not constant" in c["failures"][0]["why"]
    Z = np.concatenate(net.preactivations(res.points), axis=1)
    r = int(np.flatnonzero((Z == 0).any(axis=1))[0])      # a region with a neuron constant zero
    k = int(np.flatnonzero(Z[r] == 0)[0])
    P = res.patterns.copy()
    P[r, k] = True                     # ... claimed active
    c = certify(_rebuild(res, patterns=P))
    assert c["exist"] == c["of"] - 1
    assert any(f["neuron"] == k and "constant zero" in f["why"] for f in c["failures"])


# ---- results read back (issue 21, finding 5) -----------------------------------------------

def test_from_regions_resolves_a_scalar_box_and_refuses_a_wrong_dimension():
    from nncells.errors import DomainError, NNCellsError
    net = nncells.random_network([3, 6, 4, 1], seed=5)
    res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    regions = {"patterns": res.patterns, "points": res.points, "radii": res.radii, "ranks": res.ranks}
    back = EnumerationResult.from_regions(net, nncells.Box(-1, 1), regions)
    assert back.domain.dim == 3
    c = back.certify()
    assert c["exist"] == c["of"] == res.count and c["closed"]
    back = EnumerationResult.from_regions(net, nncells.Space(), regions)
    assert back.domain.dim == 3
    for wrong in (nncells.Box(-1, 1, dim=2), nncells.Space(4), nncells.Polytope(np.eye(2), np.ones(2))):
        with pytest.raises(DomainError, match="dimension") as e:
            EnumerationResult.from_regions(net, wrong, regions)
        assert isinstance(e.value, NNCellsError) and "\n" not in str(e.value)


def test_human_lines_say_why_closure_failed():
    from nncells.cli.graph_options import format_lines
    c = {"exist": 5, "of": 5, "closed": False, "open_facets": 0, "unproven_rows": 3, "missed_facets": 1,
         "asymmetric": 0, "failures": []}
    [line] = format_lines({"certified": c})
    assert "NOT closed (0 open facets, 3 rows neither facets nor proven redundant, 1 facets the finder missed)" in line
    assert "closed" in format_lines({"certified": {**c, "closed": True}})[0]
