"""Facets and adjacency of regions (`nncells.results.adjacency`) against independent references:
an LP per region and row with SciPy's linprog (tests/oracles.py builds the rows), the planar mesh's
shared edges in 2-D, and unit changes."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.optimize import linprog

import nncells
from nncells.errors import NNCellsError
from nncells.network import Network
from nncells.results.adjacency import adjacency, adjacency_graph, facets
from oracles import pattern_halfspaces_ref


def oracle_facets(res, cap=10.0):
    """{region: {(kind, index): (centre, unit normal)}} by one linprog per region and row: the
    largest ball centred on the row's hyperplane that clears every other row (> 1e-7)."""
    A_dom, b_dom = res.domain.halfspaces()
    out = {}
    for i, pat in enumerate(res.patterns):
        G, h, ref = pattern_halfspaces_ref(res.network, pat)
        A = np.vstack([A_dom, G])
        b = np.concatenate([b_dom, h])
        names = [("domain", j) for j in range(len(b_dom))] + [("neuron", j) for j in range(len(h))]
        nrm = np.linalg.norm(A, axis=1)
        live = nrm > 1e-12 * np.concatenate([np.ones(len(b_dom)), ref])
        A, b = A[live] / nrm[live, None], b[live] / nrm[live]
        names = [nm for nm, ok in zip(names, live) if ok]
        d = A.shape[1]
        found = {}
        for k in range(len(b)):
            others = np.arange(len(b)) != k
            res_lp = linprog(np.r_[np.zeros(d), -1.0],
                             A_ub=np.hstack([A[others], np.ones((others.sum(), 1))]), b_ub=b[others],
                             A_eq=np.r_[A[k], 0.0][None, :], b_eq=[b[k]],
                             bounds=[(None, None)] * d + [(None, cap)], method="highs")
            if res_lp.status == 0 and -res_lp.fun > 1e-7 * max(1.0, np.abs(res_lp.x[:d]).max()):
                found[names[k]] = (res_lp.x[:d], A[k], -res_lp.fun)
        out[i] = found
    return out


def table_facets(res):
    F = facets(res)
    out = {i: {} for i in range(res.count)}
    for r, kind, idx, nb in zip(F["region"], F["kind"], F["index"], F["neighbour"]):
        out[int(r)][(str(kind), int(idx))] = int(nb)
    return out


CASES = [([2, 5, 4, 1], "box", 0), ([3, 5, 4, 1], "box", 1), ([4, 5, 3, 1], "box", 2), ([5, 4, 3, 1], "box", 3),
         ([6, 4, 2, 1], "box", 4), ([2, 5, 4, 1], "space", 5), ([3, 4, 4, 1], "space", 6), ([4, 4, 3, 1], "space", 7),
         ([7, 4, 2, 1], "box", 8), ([1, 4, 3, 1], "box", 9)]


@pytest.mark.parametrize("dims,kind,seed", CASES)
def test_facets_and_neighbours_match_the_lp_oracle(dims, kind, seed):
    net = nncells.random_network(dims, seed=seed)
    dom = nncells.Box(-1, 1) if kind == "box" else nncells.Space(dims[0])
    res = nncells.enumerate_regions(net, dom, workers=1)
    mine, ref = table_facets(res), oracle_facets(res)
    index = {tuple(p): i for i, p in enumerate(res.patterns)}
    for i in range(res.count):
        assert set(mine[i]) == set(ref[i]), i
        for (k, idx), (x, normal, r) in ref[i].items():
            if k == "domain":
                assert mine[i][(k, idx)] == -1
                continue
            across = net.pattern(x + normal * min(r, 1.0) * 1e-6)
            assert mine[i][(k, idx)] == index.get(tuple(across), -2), (i, idx)


def test_the_2d_graph_is_the_planar_meshs():
    from nncells.planar.partition import planar_partition
    for seed in range(3):
        net = nncells.random_network([2, 8, 6, 1], seed=seed)
        res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
        part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
        index = {tuple(p): i for i, p in enumerate(res.patterns)}
        fa, fb, _ = part.interior_edges()
        mesh = {tuple(sorted((index[tuple(part.patterns[a])], index[tuple(part.patterns[b])]))) for a, b in zip(fa, fb)}
        G = adjacency_graph(res)
        assert set(map(tuple, map(sorted, G.edges()))) == mesh
        for a, b, data in G.edges(data=True):
            assert data["neurons"] == tuple(np.flatnonzero(res.patterns[a] != res.patterns[b]))


def _scaled_inputs(net, s):
    Ws = [np.array(W) for W in net.weights]
    Ws[0] = Ws[0] / s
    return Network(Ws, net.biases)


def _scaled_layers(net, s):
    Ws = [np.array(W) * s for W in net.weights]
    bs = [np.array(b) * s ** (l + 1) for l, b in enumerate(net.biases)]
    return Network(Ws, bs)


@pytest.mark.parametrize("s", [1e3, 1e-3])
@pytest.mark.parametrize("dims,kind", [([3, 6, 5, 1], "box"), ([3, 5, 4, 1], "space"), ([2, 6, 6, 1], "box")])
def test_unit_changes_give_the_same_graph(s, dims, kind):
    net = nncells.random_network(dims, seed=11)
    d = dims[0]
    dom = nncells.Box(-1, 1) if kind == "box" else nncells.Space(d)
    ref = nncells.enumerate_regions(net, dom, workers=1)
    E0 = adjacency(ref)
    F0 = facets(ref)
    for other, odom in [(_scaled_inputs(net, s), nncells.Box(-s, s) if kind == "box" else nncells.Space(d)),
                        (_scaled_layers(net, s), dom)]:
        res = nncells.enumerate_regions(other, odom, workers=1)
        assert np.array_equal(res.patterns, ref.patterns)
        E = adjacency(res)
        for k in ("i", "j", "neuron"):
            assert np.array_equal(E[k], E0[k])
        F = facets(res)
        for k in ("region", "kind", "index", "neighbour"):
            assert np.array_equal(F[k], F0[k])


def test_duplicated_neurons_make_one_facet_with_two_neurons():
    # neurons 0 and 1 are the same hyperplane; neuron 2 crosses it
    W1 = [[1.0, 0.5], [1.0, 0.5], [0.0, 1.0]]
    net = Network([W1, [[1.0, -1.0, 1.0]]], [[0.1, 0.1, -0.2], [0.0]])
    res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    assert res.count == 4
    E = adjacency(res)
    pairs = {}
    for i, j, k in zip(E["i"], E["j"], E["neuron"]):
        pairs.setdefault((int(i), int(j)), []).append(int(k))
    assert sorted(map(sorted, pairs.values())) == [[0, 1], [0, 1], [2], [2]]
    F = facets(res)
    multi = [f for f in np.unique(F["facet"]) if (F["facet"] == f).sum() == 2]
    assert len(multi) == 4  # each region has one facet made of neurons 0 and 1
    assert res.certify()["closed"]


def test_polytope_and_max_ball_domains_and_refusals():
    net = nncells.random_network([2, 6, 1], seed=4)
    tri = nncells.Polytope([[-1.0, 0.0], [0.0, -1.0], [1.0, 1.0]], [1.0, 1.0, 1.0])
    res = nncells.enumerate_regions(net, tri, workers=1)
    mine, ref = table_facets(res), oracle_facets(res)
    assert all(set(mine[i]) == set(ref[i]) for i in range(res.count))
    assert res.certify()["closed"]
    res = nncells.enumerate_regions(net, nncells.Ball([0.0, 0.0], 1.0, norm="inf"), workers=1)
    assert res.certify()["closed"]
    res = nncells.enumerate_regions(net, nncells.Ball([0.0, 0.0], 1.0), workers=1)
    with pytest.raises(NNCellsError, match="Euclidean ball"):
        adjacency(res)


@settings(max_examples=15, deadline=None)
@given(d=st.integers(2, 4), w1=st.integers(2, 6), w2=st.integers(1, 5), seed=st.integers(0, 10_000),
       space=st.booleans())
def test_the_graph_is_symmetric_and_each_edge_is_a_one_facet_crossing(d, w1, w2, seed, space):
    net = nncells.random_network([d, w1, w2, 1], seed=seed)
    res = nncells.enumerate_regions(net, nncells.Space(d) if space else nncells.Box(-1, 1), workers=1)
    F = facets(res)
    inner = ~F["boundary"]
    assert np.all(F["neighbour"][inner] >= 0)
    pairs = set(zip(F["region"][inner].tolist(), F["neighbour"][inner].tolist()))
    assert pairs == {(j, i) for i, j in pairs}
    E = adjacency(res)
    # every generic crossing flips exactly the neuron of its facet
    assert np.all(res.patterns[E["i"]] ^ res.patterns[E["j"]] == np.eye(net.n_hidden, dtype=bool)[E["neuron"]])


# ---- the compiled core's facets against the qhull path --------------------------------------

_COLUMNS = ("region", "facet", "kind", "index", "neighbour", "boundary")


def _both_paths(res):
    from nncells.results.adjacency import compute_facets
    res._facet_table = None
    ref = compute_facets(res, _core=False)
    assert ref["_stats"]["core_regions"] == 0
    res._facet_table = ref   # adjacency reads the cached table
    E_ref = adjacency(res)
    res._facet_table = None
    got = compute_facets(res)
    for k in _COLUMNS:
        assert np.array_equal(got[k], ref[k]), k
    E = adjacency(res)
    for k in ("i", "j", "neuron"):
        assert np.array_equal(E[k], E_ref[k]), k
    return got["_stats"]["core_regions"]


def _degenerate(d, seed):
    """A random network with duplicated neurons (in both layers), zero rows, a neuron along the
    box's face x_0 = 1 and one through the origin twice with opposite signs."""
    rng = np.random.default_rng(seed)
    W1, b1 = rng.standard_normal((6, d)), rng.standard_normal(6) * 0.3
    W1[1], b1[1] = W1[0], b1[0]                       # duplicate
    W1[2], b1[2] = 0.0, 0.5                           # zero row, active
    W1[3], b1[3] = np.eye(d)[0], -1.0                 # along the box's face
    W1[5], b1[5] = -W1[4], -b1[4]                     # the same hyperplane, opposite side
    W2, b2 = rng.standard_normal((4, 6)), rng.standard_normal(4) * 0.3
    W2[1], b2[1] = W2[0], b2[0]
    W2[3], b2[3] = 0.0, -0.2                          # zero row, inactive
    return Network([W1, W2, rng.standard_normal((1, 4))], [b1, b2, np.zeros(1)])


_PARITY = [(d, kind, seed) for d in (2, 3, 4, 5) for kind in ("box", "space") for seed in (0, 1)] + \
          [(6, "box", 0), (6, "space", 0), (3, "polytope", 0), (4, "polytope", 1)]


@pytest.mark.parametrize("d,kind,seed", _PARITY)
def test_the_cores_facets_are_the_qhull_paths(d, kind, seed):
    net = nncells.random_network([d, 8, 6, 1] if d < 5 else [d, 6, 5, 1], seed=100 + seed)
    if kind == "polytope":
        A = np.vstack([np.eye(d), -np.ones((1, d))])
        dom = nncells.Polytope(A, np.r_[np.ones(d), 0.5])
    else:
        dom = nncells.Box(-1, 1) if kind == "box" else nncells.Space(d)
    res = nncells.enumerate_regions(net, dom, workers=1)
    covered = _both_paths(res)
    assert covered == res.count    # (the whole space of 6 inputs too: lifted, 7-D vertex mode)


@pytest.mark.parametrize("s", [1e3, 1e-3])
@pytest.mark.parametrize("d,kind", [(3, "box"), (3, "space"), (4, "box")])
def test_the_cores_facets_are_the_qhull_paths_in_any_units(s, d, kind):
    base = nncells.random_network([d, 7, 6, 1], seed=7)
    for net, dom in [(_scaled_inputs(base, s), nncells.Box(-s, s) if kind == "box" else nncells.Space(d)),
                     (_scaled_layers(base, s), nncells.Box(-1, 1) if kind == "box" else nncells.Space(d))]:
        res = nncells.enumerate_regions(net, dom, workers=1)
        assert _both_paths(res) == res.count


@pytest.mark.parametrize("d,kind,seed", [(2, "box", 0), (3, "box", 1), (3, "space", 2), (4, "space", 3),
                                         (4, "box", 4)])
def test_degenerate_networks_fall_back_where_the_core_cannot_tell(d, kind, seed):
    net = _degenerate(d, seed)
    res = nncells.enumerate_regions(net, nncells.Box(-1, 1) if kind == "box" else nncells.Space(d), workers=1)
    covered = _both_paths(res)
    assert covered < res.count   # every region next to a duplicated neuron is the qhull path's
    assert res.certify()["closed"]


# ---- facets recorded during the enumeration (enumerate_regions(..., facets=True)) ----------

def _no_rerun(monkeypatch):
    from nncells.engine import compiled

    def refuse(self, task):
        raise AssertionError("the core ran a second time")
    monkeypatch.setattr(compiled.Core, "facets", refuse)


def _executors():
    from nncells.run.executors import ProcessExecutor, SerialExecutor
    return [("one", lambda: None), ("serial", lambda: SerialExecutor(0.0)),
            ("processes", lambda: ProcessExecutor(2, budget_s=0.0))]


_RECORDED = [(2, "box", 0), (3, "box", 1), (3, "space", 2), (4, "box", 3), (4, "space", 4), (5, "box", 5),
             (6, "box", 6), (3, "polytope", 7), (5, "space", 8)]


@pytest.mark.parametrize("d,kind,seed", _RECORDED)
def test_recorded_facets_are_the_rerun_and_qhull_paths(d, kind, seed, monkeypatch):
    """Tasks handed back and resumed (tiny budgets, two processes) carry their rows' labels: every
    region of a generic network keeps the core's facets, identical to both other paths'."""
    from nncells import _config
    from nncells.results.adjacency import compute_facets
    net = nncells.random_network([d, 8, 6, 1] if d < 5 else [d, 6, 5, 1], seed=200 + seed)
    if kind == "polytope":
        dom = nncells.Polytope(np.vstack([np.eye(d), -np.ones((1, d))]), np.r_[np.ones(d), 0.5])
    else:
        dom = nncells.Box(-1, 1) if kind == "box" else nncells.Space(d)
    ref = nncells.enumerate_regions(net, dom, workers=1, method="cells")
    covered = _both_paths(ref)     # the re-run path against the qhull path
    assert covered == ref.count
    T_ref, E_ref = compute_facets(ref), adjacency(ref)
    monkeypatch.setattr(_config, "WARMUP_S", 0.0)    # the root task hands work back at once
    _no_rerun(monkeypatch)
    for name, make in _executors():
        res = nncells.enumerate_regions(net, dom, method="cells", facets=True,
                                        **({"workers": 1} if make() is None else {"executor": make()}))
        assert np.array_equal(res.patterns, ref.patterns), name
        assert res.info.facets and res.info.stats.facets, name
        if name != "one":
            assert res.info.stats.tasks > 1, name    # tasks were handed back and resumed
        T = compute_facets(res)
        assert T["_stats"]["core_regions"] == res.count, name
        for k in _COLUMNS:
            assert np.array_equal(T[k], T_ref[k]), (name, k)
        E = adjacency(res)
        for k in ("i", "j", "neuron"):
            assert np.array_equal(E[k], E_ref[k]), (name, k)


@pytest.mark.parametrize("d,kind,seed", [(3, "box", 1), (4, "space", 3)])
def test_recorded_facets_fall_back_on_degenerate_networks(d, kind, seed, monkeypatch):
    from nncells import _config
    from nncells.results.adjacency import compute_facets
    from nncells.run.executors import SerialExecutor
    net = _degenerate(d, seed)
    dom = nncells.Box(-1, 1) if kind == "box" else nncells.Space(d)
    ref = nncells.enumerate_regions(net, dom, workers=1)
    T_ref = compute_facets(ref, _core=False)
    monkeypatch.setattr(_config, "WARMUP_S", 1e-5)
    _no_rerun(monkeypatch)
    res = nncells.enumerate_regions(net, dom, executor=SerialExecutor(1e-5), facets=True)
    T = compute_facets(res)
    assert T["_stats"]["core_regions"] < res.count
    for k in _COLUMNS:
        assert np.array_equal(T[k], T_ref[k]), k
    assert res.certify()["closed"]


def test_results_without_recorded_facets_rerun_the_core(monkeypatch):
    from nncells.engine import compiled
    from nncells.results.adjacency import compute_facets
    calls = []
    original = compiled.Core.facets
    monkeypatch.setattr(compiled.Core, "facets", lambda self, t: calls.append(1) or original(self, t))
    net = nncells.random_network([3, 8, 6, 1], seed=3)
    res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    assert not res.info.facets
    assert compute_facets(res)["_stats"]["core_regions"] == res.count and calls == [1]
    res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1, facets=True)
    assert compute_facets(res)["_stats"]["core_regions"] == res.count and calls == [1]


@pytest.mark.parametrize("dims,seed", [([2, 5, 4, 1], 0), ([3, 5, 4, 1], 1), ([4, 5, 3, 1], 2)])
def test_huge_box_facets_match_the_lp_oracle(dims, seed):
    """A box 1e9 wide runs lifted (engine.lifting.box_cone), all of it in the core: its facets
    between regions and the regions across them are the LP oracle's, and the result certifies
    completely. (The qhull path loses near facets of such regions; on the box's faces the core also
    keeps facets thinner than the oracle's threshold there, ``1e-7 * 1e9``: a boundary facet needs
    no neighbour, so the graph does not depend on them.)"""
    net = nncells.random_network(dims, seed=310 + seed)
    res = nncells.enumerate_regions(net, nncells.Box(-1e9, 1e9), workers=1)
    assert res.info.method == "cells (homogeneous)"
    mine, ref = table_facets(res), oracle_facets(res)
    index = {tuple(p): i for i, p in enumerate(res.patterns)}
    for i in range(res.count):
        inner = {k: v for k, v in ref[i].items() if k[0] == "neuron"}
        assert {k for k in mine[i] if k[0] == "neuron"} == set(inner), i
        assert all(mine[i][k] == -1 for k in ref[i] if k[0] == "domain"), i
        for (k, idx), (x, normal, r) in inner.items():
            across = net.pattern(x + normal * min(r, 1.0) * 1e-6)
            assert mine[i][(k, idx)] == index.get(tuple(across), -2), (i, idx)
    cert = res.certify(complete=True)
    assert cert["closed"] and cert["exist"] == res.count and cert["unproven_rows"] == 0
