"""Far regions in LP mode (issue 21, finding 1): every region above the contract's threshold is
found at any distance float64 represents, in the whole space, in boxes and in polytopes.

The far slab of tests/test_extreme_scales.py (closed-form truth; 2-5 inputs there, in the lifted
vertex mode), here in 6-7 inputs, where boxes go to LP mode (and the whole space of 7 inputs; of 6
with vertex mode kept to 5 dimensions, `_lp_mode`): a slab of
relative depth about ``5e-4`` (500,000 times the threshold) at distance ``D = 2^k``, five regions
in ``x1`` times the ``2^(d-1)`` signs of ``x_2 .. x_d``.
"""
import numpy as np
import pytest

from nncells import Box, Network, Polytope, Space, _config, enumerate_regions
from nncells.geometry import depth_lps
from nncells.geometry.contract import certified_depth, deepest_point, depth, undecided_count
from oracles import brute_force_contract
from test_extreme_scales import far_slab, far_slab_truth


def _packed(patterns):
    return {np.packbits(p).tobytes() for p in patterns}


def _beyond_one(truth):
    """The far slab's patterns with ``x1 > 1`` (``relu(1 - x1)``, the second neuron, off)."""
    return {p for p in truth if not np.unpackbits(np.frombuffer(p, dtype=np.uint8))[1]}


@pytest.fixture
def _lp_mode(monkeypatch):
    """Vertex mode up to 5 dimensions, so the whole space of 6 inputs is not lifted: LP mode."""
    from nncells import _config
    monkeypatch.setattr(_config, "VERTEX_MAX_DIM", 5)


def _check(net, res, truth):
    assert res.summary()["method"] == "cells"  # LP mode: not lifted
    assert _packed(res.patterns) == truth
    assert np.array_equal(net.pattern(res.points), res.patterns)
    assert res.borderline == 0  # every region is far above the threshold, and its ball shows it


@pytest.mark.parametrize("d", [6, 7])
@pytest.mark.parametrize("k", [20, 33, 40, 60, 100, 1000])
def test_far_slab_in_the_whole_space(d, k, _lp_mode):
    net = far_slab(d, k)
    res = enumerate_regions(net, Space(), workers=1)
    assert res.count == 5 * 2 ** (d - 1)
    _check(net, res, far_slab_truth(d))


def test_far_slab_against_the_oracle():
    """The closed form agrees with the brute-force oracle (SciPy's LPs, every pattern)."""
    d = 6
    net = far_slab(d, 33)
    margins = brute_force_contract(net, np.zeros((0, d)), np.zeros(0))
    clear = _packed(np.array([p for p, m in margins.items() if m > 1e-7]))
    res = enumerate_regions(net, Space(), workers=1)
    assert clear <= _packed(res.patterns) == far_slab_truth(d)
    assert all(margins[tuple(map(bool, p))] > -1e-9 for p in res.patterns)


@pytest.mark.parametrize("k", [20, 33, 60, 300])
def test_far_slab_in_boxes_and_a_polytope(k):
    d = 7
    D = 2.0 ** k
    net = far_slab(d, k)
    lo, hi = np.r_[D / 2, -D * np.ones(d - 1)], np.r_[2 * D, D * np.ones(d - 1)]
    around = _beyond_one(far_slab_truth(d))
    _check(net, enumerate_regions(net, Box(lo, hi), workers=1), around)
    # the same box cut by x1 + x2 <= 2 D (every region keeps a part)
    A = np.vstack([np.eye(d), -np.eye(d), np.r_[1.0, 1.0, np.zeros(d - 2)][None, :]])
    _check(net, enumerate_regions(net, Polytope(A, np.r_[hi, -lo, 2 * D]), workers=1), around)
    # a box holding the origin and the far slab: the near slab 0 < x1 < 1 is a region as well
    wide = Box(np.r_[-2 * D, -D * np.ones(d - 1)], np.r_[2 * D, D * np.ones(d - 1)])
    _check(net, enumerate_regions(net, wide, workers=1), far_slab_truth(d))


# ------------------------------------------------------------------ the LP itself (geometry.depth_lps)
def _slab(D, width=1.0):
    """``D < x1 < D + width`` in the plane (unit rows)."""
    return np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([D + width, -D])


@pytest.mark.parametrize("tol", [1e-9, 1e-11, 1e-13])
def test_the_threshold_column_is_not_dropped(tol):
    """HiGHS drops matrix entries up to 1e-9 by default: the LP's ``tol`` column must survive.
    A slab of width 1 at distance D counts iff ``0.5 / D > tol`` (roughly); the LP in units of 1
    (optimum ``0.5 - tol D``) tells the two cases apart by far more than its tolerances."""
    for D in (0.01 / tol, 10.0 / tol):
        A, c = _slab(D)
        counts = 0.5 > tol * (D + 0.5)
        assert (depth_lps.relative_depth(A, c, tol, 1.0) is not None) == counts, D
        x, r = deepest_point(A, c, tol)
        assert (x is not None) == counts, D
        if counts:
            assert r > tol * np.max(np.abs(x)) and r <= depth(A, c, x)


@pytest.mark.parametrize("k", [40, 80, 200, 1000])
def test_far_polyhedra_in_small_units(k):
    """Offsets beyond HiGHS's infinity (1e20) in the LP's units: a far slab asked for in units of
    1 is found (the units grow to reach it, then follow the answer), and a near cell with a far
    face is found (the face is moved in, not dropped)."""
    D = 2.0 ** k
    A, c = _slab(D, D * 2.0 ** -10)
    x, r = deepest_point(A, c, 1e-9, scale=1.0)
    assert x is not None and r > 1e-4 * np.max(np.abs(x))
    assert certified_depth(A, c, x) == r
    A2, c2 = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]]), np.array([1.0, 0.0, D])  # 0 < x1 < 1, x2 < D
    x, r = deepest_point(A2, c2, 1e-9, scale=1.0)
    assert x is not None and r > 1e-9 * np.max(np.abs(x))


def test_certified_depth_is_row_by_row():
    """A far face of a large cell does not blur the error bound of a near one."""
    A = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    c = np.array([1.0, 0.0, 2.0 ** 60])  # 0 < x1 < 1, x2 < 2^60
    x = np.array([0.5, 0.0])
    assert 0.5 - 1e-14 < certified_depth(A, c, x) < 0.5


def test_what_float64_cannot_settle_is_reported(monkeypatch):
    """``tol = 1e-15``: the slab ``1e14 < x1 < 1e14 + 1`` holds points deeper than ``tol |x|``
    (relative depth 5e-15), but float64 knows depths there to a few units only: the slab is not
    counted, and the run reports it as borderline (with the default ``tol`` it is clearly below
    the threshold: nothing to report)."""
    A, c = _slab(1e14)
    before = undecided_count()
    assert deepest_point(A, c, 1e-15)[0] is None and undecided_count() == before + 1
    assert deepest_point(A, c, 1e-9)[0] is None and undecided_count() == before + 1
    d = 7
    W = np.zeros((2, d))
    W[:, 0] = 1.0
    net = Network([W, np.ones((1, 2))], [np.array([-1e14, -(1e14 + 1)]), np.zeros(1)])
    monkeypatch.setattr(_config, "REDUCE", False)  # (LP mode in 7-D, not the reduced 1-D lift)
    res = enumerate_regions(net, Space(), tol=1e-15, workers=1)
    assert res.count == 2 and res.borderline == 1
    res = enumerate_regions(net, Space(), workers=1)
    assert res.count == 2 and res.borderline == 0


def test_a_narrow_answer_of_a_relaxed_lp_is_deepened():
    """An LP in small units drops a huge box's far faces (`depth_lps._offsets`), and its answer may
    sit at such a face, proving the rule only narrowly; one more LP where every row is kept finds
    the region deep (huge boxes of 7+ inputs reported hundreds of clear regions as borderline)."""
    from nncells import _config
    from nncells.geometry.contract import _deeper_in_full_units
    A = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    c = np.array([1e9, -1.0, 1e9, 1e9])                 # 1 <= x1 <= 1e9, |x2| <= 1e9
    x = np.array([1e9 - 10.0, 0.0])                      # 10 from the far face: narrow
    r = depth(A, c, x)
    assert 1e-9 * 1e9 < r < _config.BORDERLINE * 1e-9 * 1e9
    y, ry = _deeper_in_full_units(A, c, 1e-9, 1.0, x, r)
    assert ry > _config.BORDERLINE * 1e-9 * np.max(np.abs(y)) and depth(A, c, y) >= ry > 0
    y2, r2 = _deeper_in_full_units(A, c, 1e-9, 1e9, x, r)   # no far rows dropped: as it was
    assert y2 is x and r2 == r
