"""The compiled core's GF(2) reduction (`nncells.kernels.homology.pairs`) against its Python twin
(`nncells.analysis._gf2.pairs`): the same persistence pairs on random simplicial complexes in
random filtration orders and on a network's face poset, its input checks, and the dispatch of
`nncells.analysis.homology` by backend."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nncells import Box, _config, enumerate_regions, kernels, random_network
from nncells.analysis import _gf2, homology
from nncells.results.faces import face_poset
from test_homology import closure

pytestmark = pytest.mark.skipif(not kernels.native_available(), reason="the compiled core is not built")


def both(dims, inc, order):
    from nncells.kernels.homology import pairs
    a = pairs(dims, inc, order)
    b = _gf2.pairs(dims, inc, order)
    return [sorted(zip(x.tolist(), y.tolist())) for x, y in (a, b)]


complexes = st.lists(st.lists(st.integers(0, 9), min_size=1, max_size=5, unique=True), min_size=1, max_size=16)


@settings(max_examples=80, deadline=None)
@given(tops=complexes, seed=st.integers(0, 2 ** 16))
def test_same_pairs_as_the_twin_in_random_filtrations(tops, seed):
    _, dims, inc = closure(tops, seed)
    rng = np.random.default_rng(seed)
    # a lower-star filtration of random vertex values: each face before its cofaces
    vv = rng.random(10)
    vertex_sets = [set() for _ in dims]
    for c in np.flatnonzero(dims == 0):
        vertex_sets[c] = {int(c)}
    for k in range(1, int(dims.max()) + 1):
        for f, c in inc[dims[inc[:, 1]] == k]:
            vertex_sets[c] |= vertex_sets[f]
    val = np.array([max(vv[v % 10] for v in s) for s in vertex_sets])
    order = np.lexsort((np.arange(len(dims)), dims, val))
    native, twin = both(dims, inc, order)
    assert native == twin
    # and the plain order of Betti numbers (by dimension, then index)
    native, twin = both(dims, inc, np.lexsort((np.arange(len(dims)), dims)))
    assert native == twin


@pytest.mark.parametrize("d, widths, box", [(3, [3, 8, 6, 1], 2.0), (4, [4, 6, 5, 1], 2.0)])
def test_same_pairs_and_betti_numbers_on_a_face_poset(d, widths, box):
    """A network's face poset (a ball cut into polytopes): the whole, the closed regions of one
    output sign, the boundary; with column additions (not union-find alone) in the core."""
    p = face_poset(enumerate_regions(random_network(widths, seed=1), Box(-box, box, dim=d)))
    order = np.lexsort((np.arange(len(p)), p.dim))
    native, twin = both(p.dim, p.incidence, order)
    assert native == twin
    from nncells.kernels import homology as kh
    assert kh.last_additions > 0
    tops = np.flatnonzero(p.dim == d)
    pick = tops[: len(tops) // 2]
    mask = np.zeros(len(p), bool)
    mask[pick] = True
    for k in range(d, 0, -1):                      # close it: the faces of masked cells
        mask[p.incidence[mask[p.incidence[:, 1]], 0]] = True
    edge = p.on_domain.any(axis=1)
    for m in (np.ones(len(p), bool), mask, edge):
        got = homology.betti_numbers(p.dim, p.incidence, m)
        sub = np.flatnonzero(m)
        new = np.full(len(p), -1)
        new[sub] = np.arange(len(sub))
        keep = m[p.incidence[:, 1]]
        sd, sinc = p.dim[sub], new[p.incidence[keep]]
        b, e = _gf2.pairs(sd, sinc, np.lexsort((np.arange(len(sd)), sd)))
        paired = np.zeros(len(sd), bool)
        paired[b] = paired[e] = True
        np.testing.assert_array_equal(got, np.bincount(sd[~paired], minlength=d + 1))
    assert homology.betti_numbers(p.dim, p.incidence).tolist() == [1] + [0] * d
    assert homology.betti_numbers(p.dim, p.incidence, edge).tolist() == [1] + [0] * (d - 2) + [1, 0]


def test_backend_numpy_uses_the_twin(monkeypatch):
    calls = []
    twin = _gf2.pairs
    monkeypatch.setattr(_gf2, "pairs", lambda *a: calls.append(1) or twin(*a))
    dims = np.array([0, 0, 0, 1, 1, 1])
    inc = np.array([(0, 3), (1, 3), (1, 4), (2, 4), (2, 5), (0, 5)])
    monkeypatch.delenv("NNCELLS_BACKEND", raising=False)
    monkeypatch.setattr(_config, "BACKEND", "numpy")
    assert homology.betti_numbers(dims, inc).tolist() == [1, 1] and calls == [1]
    monkeypatch.setattr(_config, "BACKEND", "native")
    assert homology.betti_numbers(dims, inc).tolist() == [1, 1] and calls == [1]


def test_the_core_checks_its_input():
    from nncells.kernels._native import gf2_pairs
    dims = np.array([0, 0, 1], np.int64)
    start = np.array([0, 0, 0, 2], np.int64)
    faces = np.array([0, 1], np.int64)
    b, e, _ = gf2_pairs(dims, np.array([0, 1, 2], np.int64), start, faces)
    assert b.tolist() == [1] and e.tolist() == [2]
    with pytest.raises(ValueError, match="permutation"):
        gf2_pairs(dims, np.array([0, 0, 2], np.int64), start, faces)
    with pytest.raises(ValueError, match="out of range"):
        gf2_pairs(dims, np.array([0, 1, 2], np.int64), start, np.array([0, 5], np.int64))
    with pytest.raises(ValueError, match="start"):
        gf2_pairs(dims, np.array([0, 1, 2], np.int64), np.array([0, 2, 1, 2], np.int64), faces)
    with pytest.raises(ValueError, match="twice"):          # a 2-cell with a face twice (not the union-find path)
        gf2_pairs(np.array([0, 0, 1, 1, 2], np.int64), np.arange(5, dtype=np.int64),
                  np.array([0, 0, 0, 2, 4, 7], np.int64), np.array([0, 1, 0, 1, 2, 2, 3], np.int64))
