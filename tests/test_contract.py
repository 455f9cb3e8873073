"""The numerical contract (docs/numerics.md): answers that do not depend on units.

A region counts iff it holds a point ``x`` deeper than ``tol * ||x||_inf``. Tested against the
independent oracle of tests/oracles.py and through its invariants: unit changes keep the pattern
set, nested domains never lose regions, a large box has the whole space's count, and every
reported point has its pattern in a float64 forward pass.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nncells
import nncells.local
from nncells import Box, Network, Polytope, Space, enumerate_regions, random_network
from nncells.domains import Ball
from oracles import brute_force_contract, patterns_set

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def _pats(res):
    return patterns_set(res)


def _check_points(net, res):
    """(c): every point has exactly its pattern, every pre-activation away from 0."""
    if res.count == 0:
        return
    assert np.array_equal(net.pattern(res.points), res.patterns)
    z = np.concatenate(net.preactivations(res.points)[:len(net.widths)], axis=1)
    assert np.all(z != 0)
    assert np.all(res.radii > 0)


def _units(net, s):
    """The same network in input units multiplied by ``s``: x' = s x."""
    return Network([net.weights[0] / s] + list(net.weights[1:]), list(net.biases))


def _layer_scaled(net, s):
    """Layer l's weights times s, biases times s^(l+1): the same regions."""
    return Network([W * s for W in net.weights], [b * s ** (l + 1) for l, b in enumerate(net.biases)])


def _degenerate(net, kind):
    """Random networks made degenerate: a duplicated neuron, a zero row, a dead neuron, every
    first-layer hyperplane through the origin."""
    Ws, bs = [W.copy() for W in net.weights], [b.copy() for b in net.biases]
    if kind == 1:
        Ws[0][-1], bs[0][-1] = Ws[0][0], bs[0][0]
    elif kind == 2:
        Ws[0][-1] = 0.0
    elif kind == 3:
        Ws[0][-1], bs[0][-1] = 0.0, -1.0
    elif kind == 4:
        bs[0][:] = 0.0
    return Network(Ws, bs)


nets = st.builds(lambda d, widths, seed, kind: _degenerate(random_network([d, *widths, 1], seed=seed), kind),
                 st.integers(1, 6), st.lists(st.integers(2, 5), min_size=1, max_size=2),
                 st.integers(0, 10 ** 6), st.integers(0, 4))
exponents = st.integers(-6, 6)


def _domains(kind, d, s):
    """A domain and the same domain in units multiplied by ``s``."""
    if kind == "space":
        return Space(), Space()
    if kind == "polytope":  # a simplex-like polytope around the origin
        A = np.vstack([np.eye(d), -np.ones((1, d))])
        b = np.r_[np.full(d, 2.0), 1.5]
        return Polytope(A, b), Polytope(A, b * s)
    return Box(-2, 3).resolve(d), Box(-2 * s, 3 * s).resolve(d)


@SETTINGS
@given(net=nets, k=exponents, kind=st.sampled_from(["box", "space", "polytope"]))
def test_unit_change_keeps_patterns(net, k, kind):
    s = 10.0 ** k
    d = net.input_dim
    dom, dom_s = _domains(kind, d, s)
    a = enumerate_regions(net, dom, workers=1)
    b = enumerate_regions(_units(net, s), dom_s, workers=1)
    assert _pats(a) == _pats(b)
    _check_points(_units(net, s), b)


@SETTINGS
@given(net=nets, k=exponents)
def test_layer_scaling_keeps_patterns(net, k):
    scaled = _layer_scaled(net, 10.0 ** k)
    for dom in (Box(-1, 1), Space()):
        a = enumerate_regions(net, dom, workers=1)
        b = enumerate_regions(scaled, dom, workers=1)
        assert _pats(a) == _pats(b)
        _check_points(scaled, b)


@SETTINGS
@given(net=nets)
def test_nested_boxes_never_lose_regions_and_end_at_the_whole_space(net):
    whole = _pats(enumerate_regions(net, Space(), workers=1))
    prev = set()
    for S in (0.1, 1.0, 10.0, 1e3, 1e5, 1e7):
        cur = _pats(enumerate_regions(net, Box(-S, S), workers=1))
        assert prev <= cur <= whole
        prev = cur
    assert prev == whole


@SETTINGS
@given(net=st.builds(lambda d, w, seed: random_network([d, w, 3, 1], seed=seed),
                     st.integers(1, 4), st.integers(2, 5), st.integers(0, 10 ** 6)),
       whole=st.booleans())
def test_against_the_contract_oracle(net, whole):
    """Every pattern the oracle finds with a clear margin is listed; nothing clearly absent is."""
    d = net.input_dim
    dom = Space(d) if whole else Box(-2, 2).resolve(d)
    A, b = dom.halfspaces()
    margins = brute_force_contract(net, A, b, 1e-9)
    res = enumerate_regions(net, dom, workers=1)
    got = _pats(res)
    assert {p for p, m in margins.items() if m > 1e-7} <= got
    assert all(margins[p] > -1e-9 for p in got)
    _check_points(net, res)


@SETTINGS
@given(net=st.builds(lambda d, seed: random_network([d, 5, 4, 1], seed=seed),
                     st.integers(2, 4), st.integers(0, 10 ** 6)),
       k=st.integers(-4, 4))
def test_ball_counts_do_not_depend_on_units(net, k):
    s = 10.0 ** k
    d = net.input_dim
    c = np.linspace(-0.3, 0.4, d)
    a = enumerate_regions(net, Ball(c, 0.7), workers=1)
    b = enumerate_regions(_units(net, s), Ball(c * s, 0.7 * s), workers=1)
    assert _pats(a) == _pats(b)
    _check_points(_units(net, s), b)
    assert a.count <= enumerate_regions(net, Ball(c, 1.4), workers=1).count


@pytest.mark.parametrize("d", [7, 8])
def test_lp_mode_units(d):
    net = random_network([d, 6, 4, 1], seed=d)
    ref = _pats(enumerate_regions(net, Box(-1, 1), workers=1))
    for s in (1e-6, 1e6):
        res = enumerate_regions(_units(net, s), Box(-s, s), workers=1)
        assert _pats(res) == ref
        _check_points(_units(net, s), res)


# ----------------------------------------------------------------- the regressions
def test_bigger_boxes_do_not_lose_regions():
    net = random_network([2, 16, 16, 1], seed=3)
    whole = enumerate_regions(net, Space(), workers=1)
    counts = [enumerate_regions(net, Box(-S, S), workers=1).count for S in (1, 10, 1e2, 1e3, 1e4, 1e5, 1e6)]
    assert counts == sorted(counts) and counts[-1] == whole.count
    # the whole space by the lifting (vertex mode) and by LP mode agree
    assert whole.count == enumerate_regions(net, Box(-1e6, 1e6), method="cells", workers=1).count


def test_scaled_weights_whole_space():
    net = random_network([3, 5, 5, 5, 1], seed=0)
    scaled = _layer_scaled(net, 1e6)
    a = enumerate_regions(net, Space(), workers=1)
    b = enumerate_regions(scaled, Space(), workers=1)
    assert a.count == b.count and _pats(a) == _pats(b)
    assert b.count >= enumerate_regions(scaled, Box(-10, 10), workers=1).count
    _check_points(scaled, b)


@pytest.mark.parametrize("d", [2, 6])
def test_far_slab_in_the_whole_space(d):
    W0 = np.zeros((2, d))
    W0[:, 0] = 1.0
    net = Network([W0, np.ones((1, 2))], [np.array([-100.0, -100.001]), np.zeros(1)])
    res = enumerate_regions(net, Space(), workers=1)
    assert res.count == 3  # x1 < 100, 100 < x1 < 100.001, x1 > 100.001
    _check_points(net, res)


@pytest.mark.parametrize("D", [1e4, 1e6])
def test_far_grid_in_the_whole_space(D):
    # 3 vertical and 3 horizontal lines around (D, D): (3 + 1)^2 regions
    W0 = np.array([[1.0, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1]])
    b0 = -np.array([D - 0.5, D + 0.5, D + 1.5, D - 0.5, D + 0.5, D + 1.5])
    net = Network([W0, np.ones((1, 6))], [b0, np.zeros(1)])
    res = enumerate_regions(net, Space(), workers=1)
    assert res.count == 16
    _check_points(net, res)


def test_thin_ball_cap(tmp_path):
    # one neuron (x + y) / sqrt(2) > 0.9999 cuts a cap of depth 1e-4 off the unit disc
    net = Network([np.array([[1.0, 1.0]]) / np.sqrt(2), np.ones((1, 1))], [np.array([-0.9999]), np.zeros(1)])
    res = enumerate_regions(net, Ball([0, 0], 1.0), workers=1)
    assert res.count == 2
    _check_points(net, res)
    assert np.all(np.linalg.norm(res.points, axis=1) < 1)
    assert nncells.local.count_in_ball(net, [0, 0], 1.0) == 2


def test_tiny_exact_normal_is_not_zero():
    # layer 1's pulled-back normal is 1.1368e-13 (exact): x > 0 is its own region in [-10, 10]
    net = Network([np.array([[1.0, 0], [1, 0]]), np.array([[1, -0.9999999999998863]]), np.ones((1, 1))],
                  [np.array([5.0, 5]), np.array([-5.684e-13]), np.zeros(1)])
    for method in ("cells", "planar"):
        res = enumerate_regions(net, Box(-10, 10), method=method, workers=1)
        assert _pats(res) == {(False, False, False), (True, True, False), (True, True, True)}, method
        _check_points(net, res)
    X = Box(-10, 10).resolve(2).sample(1000, rng=0)
    assert {tuple(p) for p in net.pattern(X)} <= _pats(res)


def test_borderline_regions_are_reported():
    # a slab whose width is 50x the threshold at its distance: counted, and borderline
    W0 = np.array([[1.0, 0], [1.0, 0]])
    net = Network([W0, np.ones((1, 2))], [np.array([-1.0, -(1.0 + 1e-7)]), np.zeros(1)])
    res = enumerate_regions(net, Box(-2, 2), workers=1)
    assert res.count == 3
    s = res.summary()
    assert s["borderline"] >= 1 and s["tol"] == 1e-9
    clear = enumerate_regions(net, Box(-2, 2), tol=1e-12, workers=1).summary()
    assert clear["regions"] == 3 and clear["borderline"] == 0
    thin = enumerate_regions(net, Box(-2, 2), tol=1e-6, workers=1)
    assert thin.count == 2  # the slab is below this threshold


def test_the_oracle_applies_the_threshold():
    """The oracle's LP keeps its threshold (HiGHS drops matrix entries below 1e-9, so a column of
    ``tol`` would vanish): a slab 1e11 away of relative half-width 5e-10 does not count, one of
    5e-9 does."""
    from oracles import contract_margin
    A = np.array([[1.0], [-1.0]])
    assert contract_margin(A, np.array([1e11 + 100, -1e11]), 1e-9) < 0
    assert contract_margin(A, np.array([1e11 + 1000, -1e11]), 1e-9) > 0
