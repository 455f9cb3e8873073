"""The complete closure check of `certify` (`nncells.results._redundancy`): every row of a region that
is not a reported facet is proven no facet, or the facet is found. Against regions whose truth is
known by construction (a far slab in 3 and 7 dimensions), a facet finder made to miss facets, and
SciPy's linprog per region and row (the oracle of tests/test_adjacency.py)."""
import numpy as np
import pytest

import nncells
from nncells.network import Network
from nncells.results._redundancy import check_regions
from nncells.results.adjacency import compute_facets, contract_tol
from nncells.results.certify import certify
from nncells.results.result import EnumerationResult


def far_slab(d, k):
    """relu(x1), relu(1 - x1) and relu(x_j) (j >= 2) in the first layer; A = (1 + 2^-10) x1 - (D + 1
    + 2^-10) and B = x1 - (D + 1), D = 2^k, in the second (through relu(x1) only; power-of-two
    weights, so every number is exact). In the whole space x1 < 0, 0 < x1 < 1 and x1 > 1 split by
    the slab 1 + D / (1 + 2^-10) < x1 < D + 1 (A on, B off; relative depth about 5e-4) make 5
    intervals, times the 2^(d-1) orthants of the other coordinates.

    Returns the network and the true regions (``from_regions``' dict): one point per interval
    and orthant, in the middle of the interval."""
    D = 2.0 ** k
    W1 = np.zeros((d + 1, d))
    W1[0, 0], W1[1, 0] = 1.0, -1.0
    W1[2:, 1:] = np.eye(d - 1)
    b1 = np.zeros(d + 1)
    b1[1] = 1.0
    W2 = np.zeros((2, d + 1))
    W2[0, 0], W2[1, 0] = 1 + 2.0 ** -10, 1.0
    net = Network([W1, W2, np.ones((1, 2))], [b1, np.array([-(D + 1 + 2.0 ** -10), -(D + 1)]), np.zeros(1)])
    lo_slab = 1 + D / (1 + 2.0 ** -10)
    x1 = np.array([-1.0, 0.5, 2.0, (lo_slab + D + 1) / 2, D + 2])
    orth = np.array(np.meshgrid(*[[-1.0, 1.0]] * (d - 1), indexing="ij")).reshape(d - 1, -1).T
    X = np.array([np.r_[a, o] for a in x1 for o in orth])
    P = net.pattern(X)
    # the truth, by hand: the second layer's (A, B) per interval
    AB = P[:, d + 1:].reshape(5, -1, 2)
    assert [tuple(ab) for ab in AB[:, 0]] == [(0, 0), (0, 0), (0, 0), (1, 0), (1, 1)]
    assert len({tuple(p) for p in P.tolist()}) == len(P) == 5 * 2 ** (d - 1)
    n = len(P)
    return net, {"patterns": P, "points": X, "radii": np.full(n, 0.25), "ranks": np.ones((n, 2), np.int64)}


def _subset(regions, keep):
    return {k: v[keep] for k, v in regions.items()}


def _slab_masks(net, regions):
    d = net.input_dim
    P, X = regions["patterns"], regions["points"]
    slab = P[:, d + 1] & ~P[:, d + 2]
    beyond = P[:, d + 1] & P[:, d + 2]
    near = (X[:, 0] > 1) & ~P[:, d + 1]
    return slab, beyond, near


@pytest.mark.parametrize("d,k", [(3, 33), (3, 40), (7, 33), (7, 40)])
def test_the_true_far_slab_certifies(d, k):
    net, regions = far_slab(d, k)
    res = EnumerationResult.from_regions(net, nncells.Space(d), regions)
    c = certify(res)
    assert c["exist"] == c["of"] == 5 * 2 ** (d - 1)
    assert c["closed"] and c["failures"] == [] and c["unproven_rows"] == 0
    c = certify(res, complete=True)
    assert c["closed"] and c["complete_regions"] == res.count


@pytest.mark.parametrize("d,k", [(3, 33), (3, 40), (7, 33), (7, 40)])
@pytest.mark.parametrize("drop", ["one slab region", "the slab", "the slab and beyond"])
def test_regions_missing_next_to_the_far_slab_fail(d, k, drop):
    """Whatever facets the facet finder sees, a region left out is noticed: its neighbours' rows
    towards it are facets that no listed region is across. With the slab and everything beyond it
    gone, only the near regions' far facets (2^k away) are left to tell."""
    net, regions = far_slab(d, k)
    slab, beyond, near = _slab_masks(net, regions)
    gone = {"one slab region": slab & (np.cumsum(slab) == 1), "the slab": slab,
            "the slab and beyond": slab | beyond}[drop]
    res = EnumerationResult.from_regions(net, nncells.Space(d), _subset(regions, ~gone))
    for kwargs in ({}, {"complete": True}):     # the default, then every region's facet set
        c = certify(res, max_failures=10_000, **kwargs)
        assert c["exist"] == c["of"] == res.count
        assert not c["closed"]
        named = {tuple(res.patterns[f["region"]]) for f in c["failures"]}
        if drop == "the slab and beyond":         # every near region is named: its far facet is open
            assert {tuple(p) for p in regions["patterns"][near].tolist()} <= named


def test_regions_missing_from_an_enumeration_of_the_far_slab_fail():
    """The same on what the enumeration finds (whatever it is): with the regions from the slab on
    removed, the certificate fails."""
    net, regions = far_slab(7, 33)
    res = nncells.enumerate_regions(net, nncells.Space(), workers=1)
    keep = ~res.patterns[:, net.input_dim + 1]       # neuron A off: before the slab
    cut = EnumerationResult.from_regions(net, nncells.Space(7), {
        "patterns": res.patterns[keep], "points": res.points[keep], "radii": res.radii[keep], "ranks": res.ranks[keep]})
    c = certify(cut)
    assert c["exist"] == c["of"] and not c["closed"]


def _hide(res, gone):
    """``res`` without region ``gone``, its facet table without every facet towards ``gone``: as if
    the facet finder had missed them."""
    T = compute_facets(res)
    keep = np.ones(res.count, bool)
    keep[gone] = False
    cut = EnumerationResult.from_regions(res.network, res.domain, {
        "patterns": res.patterns[keep], "points": res.points[keep], "radii": res.radii[keep], "ranks": res.ranks[keep]})
    new = np.cumsum(keep) - 1
    rows = (T["region"] != gone) & (T["neighbour"] != gone)
    table = {k: (v[rows] if isinstance(v, np.ndarray) and len(v) == len(rows) else v) for k, v in T.items()}
    table["region"] = new[table["region"]]
    table["neighbour"] = np.where(table["neighbour"] >= 0, new[table["neighbour"]], -1)
    _, table["facet"] = np.unique(table["facet"], return_inverse=True)
    table["_no_interior"] = np.zeros(0, np.int64)
    table["_qhull_regions"] = np.zeros(0, np.int64)      # as if every region were the core's
    cut._facet_table = table
    return cut


@pytest.mark.parametrize("dims,kind", [([3, 8, 6, 1], "box"), ([3, 6, 5, 1], "space"), ([2, 8, 6, 1], "polytope")])
def test_facets_the_finder_missed_are_found(dims, kind):
    """A facet finder that misses every facet towards a region, and a result without that region:
    closure on the reported facets alone passes (the gap of the fast path); the complete check
    finds the missed facets and names the regions next to the hole."""
    d = dims[0]
    net = nncells.random_network(dims, seed=sum(dims))
    dom = {"box": nncells.Box(-1, 1), "space": nncells.Space(d),
           "polytope": nncells.Polytope(np.vstack([np.eye(d), -np.ones((1, d))]), np.r_[np.ones(d), 0.5])}[kind]
    res = nncells.enumerate_regions(net, dom, workers=1)
    G = res.adjacency_graph()
    gone = max(G.degree, key=lambda t: t[1])[0]
    nbrs = {tuple(res.patterns[j]) for j in G.neighbors(gone)}
    cut = _hide(res, gone)
    fast = certify(cut, complete=False)
    assert fast["closed"] and fast["exist"] == fast["of"]
    c = certify(cut, max_failures=10_000, complete=True)
    assert not c["closed"] and c["missed_facets"] >= len(nbrs)
    assert {tuple(cut.patterns[f["region"]]) for f in c["failures"]} == nbrs


def _degenerate(d, seed):
    from test_adjacency import _degenerate as make
    return make(d, seed)


HONEST = [([2, 8, 6, 1], "box"), ([1, 5, 4, 1], "box"), ([4, 6, 6, 1], "space"), ([3, 6, 6, 6, 1], "space"),
          ([7, 5, 3, 1], "box"), ([7, 6, 5, 1], "space"), ([3, 8, 6, 1], "polytope"), ("degenerate", "box"),
          ("degenerate", "space"), ("scaled", "box"), ("scaled", "space")]


@pytest.mark.parametrize("dims,kind", HONEST)
def test_complete_check_passes_on_honest_results(dims, kind):
    if dims == "degenerate":       # duplicated neurons, zero rows, a neuron along the box's face
        net, d = _degenerate(3, 1), 3
    elif dims == "scaled":         # inputs in units of 1e-6
        base = nncells.random_network([3, 7, 6, 1], seed=7)
        net, d = Network([base.weights[0] * 1e6, *base.weights[1:]], base.biases), 3
    else:
        net, d = nncells.random_network(dims, seed=sum(dims)), dims[0]
    s = 1e-6 if dims == "scaled" else 1.0
    dom = {"box": nncells.Box(-s, s), "space": nncells.Space(d),
           "polytope": nncells.Polytope(np.vstack([np.eye(d), -np.ones((1, d))]), np.r_[np.ones(d), 0.5])}[kind]
    res = nncells.enumerate_regions(net, dom, workers=1)
    c = certify(res, complete=True)
    assert c["exist"] == c["of"] == res.count
    assert c["closed"] and c["unproven_rows"] == 0 and c["complete_regions"] == res.count, c["failures"]
    R = c["redundancy"]
    assert R["box"] + R["float"] + R["exact"] + R["constant"] <= R["rows"]


@pytest.mark.parametrize("dims,kind,seed", [([2, 5, 4, 1], "box", 0), ([3, 5, 4, 1], "space", 1),
                                            ([4, 4, 3, 1], "box", 2), ([3, 4, 4, 1], "space", 6)])
def test_the_checked_facets_are_the_lp_oracles(dims, kind, seed):
    """Reported facets plus the facets the check finds are exactly the oracle's (one linprog per
    region and row); every other row the check proved no facet."""
    from test_adjacency import oracle_facets
    net = nncells.random_network(dims, seed=seed)
    res = nncells.enumerate_regions(net, nncells.Box(-1, 1) if kind == "box" else nncells.Space(dims[0]), workers=1)
    T = compute_facets(res)
    R = check_regions(res, np.arange(res.count), T, contract_tol(res))
    assert not R["unproven"] and not R["open"] and not R["thin"]
    md = len(res.domain.halfspaces()[1])
    mine = {i: set() for i in range(res.count)}
    for i, kind_, idx in zip(T["region"], T["kind"], T["index"]):
        mine[int(i)].add((str(kind_), int(idx)))
    for i, _, rows in R["added"]:
        mine[i] |= {("domain", r) if r < md else ("neuron", r - md) for r in rows}
    ref = oracle_facets(res)
    assert all(mine[i] == set(ref[i]) for i in range(res.count))
