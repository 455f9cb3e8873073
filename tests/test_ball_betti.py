"""`ball_betti_numbers` (components and Alexander duality in a subdivided ball) against the
reduction of `betti_numbers`, on face posets of random networks in 2-D and 3-D boxes and
polytopes, with closed masks of every kind: unions of closed regions, class regions, the
boundary, the whole and nothing."""
import numpy as np
import pytest

import nncells
from nncells import Box, Polytope, enumerate_regions
from nncells.analysis.homology import ball_betti_numbers, betti_numbers
from nncells.analysis.topology import argmax_sets, decision_network
from nncells.results.faces import face_poset


def _closure(poset, top_cells):
    """The closed subcomplex of the regions ``top_cells`` (every face of theirs)."""
    m = np.zeros(len(poset), bool)
    m[top_cells] = True
    inc = poset.incidence
    for _ in range(int(poset.dim.max())):
        m[inc[m[inc[:, 1]], 0]] = True
    return m


def _masks(poset, rng, units=None, k=None):
    top = np.flatnonzero(poset.dim == poset.dim.max())
    yield np.ones(len(poset), bool)
    yield np.zeros(len(poset), bool)
    yield poset.on_domain.any(axis=1)
    for frac in (0.2, 0.5, 0.8):
        yield _closure(poset, top[rng.random(len(top)) < frac])
    if units is not None:
        classes = argmax_sets(poset.unit_signs(units), np.arange(len(units)), k)
        for c in range(k):
            yield classes[:, c]
        yield classes.sum(axis=1) >= 2


DOMAINS = {
    "box2": (2, Box(-1.0, 1.0, dim=2)),
    "box3": (3, Box(-1.5, 1.5, dim=3)),
    "simplex3": (3, Polytope([[-1.0, 0, 0], [0, -1.0, 0], [0, 0, -1.0], [1.0, 1.0, 1.0]], [1.0, 1.0, 1.0, 1.0])),
}


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("where", sorted(DOMAINS))
def test_components_and_duality_match_the_reduction(where, seed):
    d, dom = DOMAINS[where]
    net = nncells.random_network([d, 7, 6, 3], seed=seed)
    aug, units = decision_network(net)
    poset = face_poset(enumerate_regions(aug, dom, workers=1))
    rng = np.random.default_rng(seed)
    edge = poset.on_domain.any(axis=1)
    seen = set()
    for mask in _masks(poset, rng, units, 3):
        fast = ball_betti_numbers(poset.dim, poset.incidence, mask, edge)
        assert fast.tolist() == betti_numbers(poset.dim, poset.incidence, mask).tolist()
        seen.add(tuple(fast.tolist()))
    assert len(seen) >= 3     # the masks are not all alike


def test_holes_are_found():
    """A ring of regions around a removed one has b1 = 1 in 2-D; in 3-D a cavity gives b2 = 1."""
    for d, want in ((2, [1, 1, 0]), (3, [1, 0, 1, 0])):
        net = nncells.Network([np.vstack([np.eye(d), -np.eye(d)]), np.ones((1, 2 * d))],
                              [np.full(2 * d, -0.5), [0.0]])    # |x_i| = 0.5: a centre cube among others
        poset = face_poset(enumerate_regions(net, Box(-1.0, 1.0, dim=d), workers=1))
        top = np.flatnonzero(poset.dim == d)
        centre = top[np.all(np.abs(poset.points[top]) < 0.5, axis=1)]
        assert len(centre) == 1
        ring = _closure(poset, np.setdiff1d(top, centre))
        edge = poset.on_domain.any(axis=1)
        assert ball_betti_numbers(poset.dim, poset.incidence, ring, edge).tolist() == want
        assert betti_numbers(poset.dim, poset.incidence, ring).tolist() == want


def test_what_is_not_a_ball_is_refused():
    # a circle (3 vertices, 3 edges) with nothing on a boundary: top dimension 1
    with pytest.raises(ValueError, match="top dimension 2 or 3"):
        ball_betti_numbers([0, 0, 0, 1, 1, 1], [(0, 3), (1, 3), (1, 4), (2, 4), (2, 5), (0, 5)], None, np.zeros(6, bool))
    # two triangles glued along their boundary (a sphere) told it has no boundary: not a disk
    dims = [0, 0, 0, 1, 1, 1, 2, 2]
    inc = [(0, 3), (1, 3), (1, 4), (2, 4), (2, 5), (0, 5)] + [(e, f) for f in (6, 7) for e in (3, 4, 5)]
    with pytest.raises(ValueError, match="does not subdivide a disk"):
        ball_betti_numbers(dims, inc, None, np.zeros(8, bool))
    with pytest.raises(ValueError, match="not closed"):
        ball_betti_numbers(dims, inc, np.array([0, 0, 0, 0, 0, 0, 1, 0], bool), np.zeros(8, bool))


@pytest.mark.parametrize("where", ["box2", "box3"])
def test_many_masks_check_the_incidences_once(monkeypatch, where):
    """`subcomplex_betti_numbers` gives each mask's numbers (by components with the boundary
    given, by reduction without) and checks the incidences once for all of them."""
    from nncells.analysis import homology
    d, dom = DOMAINS[where]
    net = nncells.random_network([d, 6, 5, 3], seed=4)
    aug, units = decision_network(net)
    poset = face_poset(enumerate_regions(aug, dom, workers=1))
    masks = np.stack(list(_masks(poset, np.random.default_rng(4), units, 3)))
    want = [betti_numbers(poset.dim, poset.incidence, m).tolist() for m in masks]
    checks = []
    real = homology._as_incidence
    monkeypatch.setattr(homology, "_as_incidence", lambda *a: checks.append(1) or real(*a))
    edge = poset.on_domain.any(axis=1)
    assert homology.subcomplex_betti_numbers(poset.dim, poset.incidence, masks, edge).tolist() == want
    assert homology.subcomplex_betti_numbers(poset.dim, poset.incidence, masks).tolist() == want
    assert len(checks) == 2
    with pytest.raises(ValueError, match="masks must have shape"):
        homology.subcomplex_betti_numbers(poset.dim, poset.incidence, masks[:, :-1])
    bad = masks.copy()
    bad[0] = False
    bad[0, np.flatnonzero(poset.dim == d)[0]] = True      # a region without its faces
    with pytest.raises(ValueError, match="not closed"):
        homology.subcomplex_betti_numbers(poset.dim, poset.incidence, bad, edge)
