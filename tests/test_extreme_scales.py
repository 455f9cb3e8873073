"""Boxes of any size and regions at any distance (issue 21): no box has fewer regions than a
smaller one, a box large enough has the whole space's regions, and far slabs whose truth is known
in closed form are found at distances up to 2^1000 (2-5 inputs, both backends).

The far slab (power-of-two weights, so the truth is exact): the first layer has ``relu(x1)``,
``relu(1 - x1)`` and ``relu(x_j)`` for the other inputs; the second cuts ``x1 > 1`` by the two
hyperplanes ``(1 + 2^-10) (x1 - 1) = D`` and ``x1 - 1 = D``, a slab of relative depth about
``5e-4`` (500,000 times the threshold). In ``x1`` the whole space has 5 regions, times ``2^(d-1)``
for the signs of the other inputs.
"""
import io
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nncells import Box, Network, Space, enumerate_regions, random_network
from nncells import kernels
from nncells.errors import DomainError, RunError
from oracles import patterns_set

BACKENDS = ["numpy"] + (["native"] if kernels.native_available() else [])


def far_slab(d: int, k: int) -> Network:
    """The far-slab network of the module's docstring, the slab ``2^k`` away."""
    D = 2.0 ** k
    W1 = np.zeros((d + 1, d))
    W1[0, 0], W1[1, 0] = 1.0, -1.0
    b1 = np.zeros(d + 1)
    b1[1] = 1.0
    for j in range(1, d):
        W1[1 + j, j] = 1.0
    W2 = np.zeros((2, d + 1))
    W2[0, 0], W2[1, 0] = 1 + 2.0 ** -10, 1.0
    b2 = np.array([-(D + 1 + 2.0 ** -10), -(D + 1)])
    return Network([W1, W2, np.ones((1, 2))], [b1, b2, np.zeros(1)])


def far_slab_truth(d: int) -> set:
    """The far slab's patterns, in closed form: x1 < 0, 0 < x1 < 1, then x1 > 1 before, in and
    beyond the slab; each with every sign of x_2..x_d."""
    in_x1 = [(0, 1, 0, 0), (1, 1, 0, 0), (1, 0, 0, 0), (1, 0, 1, 0), (1, 0, 1, 1)]
    out = set()
    for a, b, c, e in in_x1:
        for signs in range(2 ** (d - 1)):
            rest = [(signs >> j) & 1 for j in range(d - 1)]
            out.add(np.packbits(np.array([a, b] + rest + [c, e], dtype=bool)).tobytes())
    return out


def _set(res):
    return {np.packbits(p).tobytes() for p in res.patterns}


def _per_layer_consistent(net, res):
    """Per-layer counts: non-negative, the last is the total, each the number of distinct prefixes."""
    per = res.info.stats.per_layer
    assert all(n >= 0 for n in per) and per[-1] == res.count
    ends = np.cumsum(net.widths)
    for n, end in zip(per, ends):
        assert n == len({p[:end].tobytes() for p in res.patterns})


@pytest.mark.parametrize("d", [2, 3, 4, 5])
@pytest.mark.parametrize("k", [20, 40, 60, 100, 500, 1000])
def test_far_slab_in_the_whole_space_and_in_boxes(d, k):
    net, truth = far_slab(d, k), far_slab_truth(d)
    res = enumerate_regions(net, Space(), workers=1)
    assert _set(res) == truth
    box = enumerate_regions(net, Box(-2.0 ** (k + 2), 2.0 ** (k + 2)), workers=1)
    assert _set(box) == truth
    _per_layer_consistent(net, res)
    _per_layer_consistent(net, box)
    assert np.array_equal(net.pattern(res.points), res.patterns)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("k", [48, 200])
def test_far_slab_both_backends(backend, k):
    """The numpy reference finds what the compiled core finds (the slab lost from 2^40 before)."""
    net = far_slab(2, k)
    assert _set(enumerate_regions(net, Space(), workers=1, backend=backend)) == far_slab_truth(2)


@pytest.mark.parametrize("dims,seed", [([2, 8, 8, 1], 0), ([2, 16, 16, 2], 1), ([3, 8, 6, 1], 0),
                                       ([4, 6, 5, 1], 2), ([5, 6, 5, 1], 3), ([6, 6, 5, 1], 4)])
def test_boxes_up_to_1e300_have_the_whole_space_regions(dims, seed):
    """Boxes from 1 to 1e300 around the origin: counts never decrease, and from some size on
    every box has exactly the whole space's regions (a 2-8-8-1 network kept 125 up to 1e12, then
    30 at 1e15 and 2 at 1e150 before)."""
    net = random_network(dims, seed=seed)
    whole = patterns_set(enumerate_regions(net, Space(), workers=1))
    prev = 0
    sizes = [1.0, 10.0, 1e3, 1e6, 1e9, 1e12, 1e15, 1e50, 1e150, 1e300]
    for S in sizes:
        res = enumerate_regions(net, Box(-S, S), workers=1)
        got = patterns_set(res)
        assert res.count >= prev and got <= whole, S
        _per_layer_consistent(net, res)
        prev = res.count
        if S >= 1e6:
            assert got == whole, S


@pytest.mark.parametrize("backend", BACKENDS)
def test_huge_box_both_backends_and_points(backend):
    net = random_network([3, 6, 5, 1], seed=4)
    whole = patterns_set(enumerate_regions(net, Space(), workers=1, backend=backend))
    res = enumerate_regions(net, Box(-1e200, 1e200), workers=1, backend=backend)
    assert patterns_set(res) == whole
    assert np.array_equal(net.pattern(res.points), res.patterns)      # every point honest
    assert np.all(np.abs(res.points) <= 1e200) and np.all(res.radii > 0)


def test_off_centre_huge_box():
    """A huge box with the origin on its boundary: the whole space's regions in the half-space."""
    net = random_network([2, 8, 8, 1], seed=3)
    half = enumerate_regions(net, Box([0.0, -1e30], [1e30, 1e30]), workers=1)
    ref = enumerate_regions(net, Box([0.0, -1e3], [1e3, 1e3]), workers=1)   # holds every feature
    assert patterns_set(half) == patterns_set(ref)


def test_box_beyond_float_range_is_refused():
    net = random_network([2, 8, 8, 1], seed=0)
    with pytest.raises(DomainError, match="float64's range"):
        enumerate_regions(net, Box(-1.7e308, 1.7e308), workers=1)


def test_planar_method_refuses_a_box_it_cannot_resolve():
    net = random_network([2, 8, 8, 1], seed=0)
    with pytest.raises(RunError, match="planar mesh cannot resolve"):
        enumerate_regions(net, Box(-1e15, 1e15), workers=1, method="planar")
    assert enumerate_regions(net, Box(-1e15, 1e15), workers=1, method="auto").count == \
        enumerate_regions(net, Space(), workers=1).count


def test_cli_refuses_a_box_beyond_range_with_one_line(tmp_path):
    path = tmp_path / "net.npz"
    random_network([2, 8, 8, 1], seed=0).to_npz(path)
    r = subprocess.run([sys.executable, "-m", "nncells", "enumerate", str(path), "--box", "-1.7e308", "1.7e308",
                        "--json"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "float64's range" in r.stderr


def test_frontier_of_format_1_is_read():
    """Unfinished runs of the previous version (one magnitude per vertex) resume."""
    from nncells.engine.tasks import Problem
    from nncells.run.frontier import decode_tasks, encode_tasks
    net = random_network([2, 5, 1], seed=0)
    root = Problem.make(net, Box(-1, 1)).root_task()
    data = encode_tasks([root.pack()])
    with np.load(io.BytesIO(data)) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["format"] = np.array("nncells-frontier/1")
    arrays["vmag.shape"] = arrays["vmag.shape"][:, :1]
    arrays["vmag.data"] = np.full(int(arrays["vmag.shape"][0, 0]), 2.0)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    [t] = decode_tasks(buf.getvalue())
    assert t.cell.vmag.shape == t.cell.vertices.shape and np.all(t.cell.vmag == 2.0)


# Translation and scaling of the input keep the whole space's regions. Weights are multiples of
# 2^-4 and translations integers, so the translated network is exactly f(x - t): the regions move
# by t (up to 2^16 away), and the count must not change.

@st.composite
def _small_nets(draw):
    d = draw(st.integers(2, 4))
    w1, w2 = draw(st.integers(2, 5)), draw(st.integers(1, 4))
    ints = st.integers(-32, 32)
    W1 = np.array(draw(st.lists(ints, min_size=w1 * d, max_size=w1 * d)), float).reshape(w1, d) / 16
    b1 = np.array(draw(st.lists(ints, min_size=w1, max_size=w1)), float) / 16
    W2 = np.array(draw(st.lists(ints, min_size=w2 * w1, max_size=w2 * w1)), float).reshape(w2, w1) / 16
    b2 = np.array(draw(st.lists(ints, min_size=w2, max_size=w2)), float) / 16
    return Network([W1, W2, np.ones((1, w2))], [b1, b2, np.zeros(1)])


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(net=_small_nets(), shift=st.integers(-2 ** 16, 2 ** 16), k=st.integers(-60, 60))
def test_translation_and_scaling_keep_the_whole_space_count(net, shift, k):
    d = net.input_dim
    t = np.full(d, float(shift))
    t[1:] = np.round(t[1:] / (np.arange(1, d) + 1))          # a different shift per input
    moved = Network([net.weights[0]] + list(net.weights[1:]),
                    [net.biases[0] - net.weights[0] @ t] + list(net.biases[1:]))   # exactly f(x - t)
    scaled = Network([net.weights[0] * 2.0 ** k] + list(net.weights[1:]), list(net.biases))  # f(2^k x)
    base = enumerate_regions(net, Space(), workers=1)
    assert patterns_set(enumerate_regions(moved, Space(), workers=1)) == patterns_set(base)
    assert patterns_set(enumerate_regions(scaled, Space(), workers=1)) == patterns_set(base)


@pytest.mark.parametrize("lo,hi", [([0.5, "-S"], ["S", "S"]), ([3.0, "-S"], ["S", "S"]),
                                   (["-S", "-S"], [-2.0, "S"]), ([0.25, 0.5], ["S", "S"])])
def test_boxes_off_the_origin_never_lose_regions(lo, hi):
    """Boxes that do not hold the origin, growing to 1e300 (lifted from 1,024 times the network's
    length on): each holds every region of the smaller ones (a box from 0.5 to 1e15 kept 15 of
    59 before)."""
    net = random_network([2, 8, 8, 1], seed=3)
    prev = set()
    for S in [1e3, 1e6, 1e9, 1e15, 1e50, 1e300]:
        box = Box([S if v == "S" else -S if v == "-S" else v for v in lo],
                  [S if v == "S" else -S if v == "-S" else v for v in hi])
        res = enumerate_regions(net, box, workers=1)
        got = patterns_set(res)
        assert prev <= got, S
        assert np.all(box.contains(res.points)) and np.array_equal(net.pattern(res.points), res.patterns)
        _per_layer_consistent(net, res)
        if S >= 1e6:
            assert got == prev or S == 1e6, S       # every feature lies within 1e6 of the origin
        prev = got


@pytest.mark.parametrize("backend", BACKENDS)
def test_far_box_lifted_or_not_gives_the_same_regions(backend, monkeypatch):
    """A box around the far slab, 2^39 to 2^41 in x1 and +-2^40 in the others: enumerated as it
    is (the default: it is not much wider than its distance from the origin) and lifted (its cone,
    T = lam / 2^39), the same regions, the closed form's x1 > 1 part."""
    from nncells import _config
    net = far_slab(3, 40)
    box = Box([2.0 ** 39, -2.0 ** 40, -2.0 ** 40], [2.0 ** 41, 2.0 ** 40, 2.0 ** 40])
    monkeypatch.setattr(_config, "LIFT_BOX_RATIO", 1.0)
    lifted = enumerate_regions(net, box, workers=1, backend=backend)
    assert lifted.info.method == "cells (homogeneous)"
    monkeypatch.setattr(_config, "LIFT_BOX_RATIO", np.inf)
    direct = enumerate_regions(net, box, workers=1, backend=backend)
    assert direct.info.method != "cells (homogeneous)"
    beyond = {p for p in far_slab_truth(3) if not np.unpackbits(np.frombuffer(p, np.uint8))[1]}
    assert _set(lifted) == _set(direct) == beyond


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dims,seed", [([2, 8, 8, 1], 0), ([3, 8, 6, 1], 0), ([5, 6, 5, 1], 1)])
def test_huge_polytopes_have_the_whole_space_regions(dims, seed, backend):
    """A simplex around the origin scaled from 1e3 to 1e300 (lifted from 1,024 times the network's
    length on: the lifted box cut by its cone, vertex by vertex): never fewer regions, and the
    whole space's from 1e6 on (a 3-8-6-1 network kept 561 of 588 at 1e12, 170 at 1e15 before)."""
    from nncells import Polytope
    net = random_network(dims, seed=seed)
    d = dims[0]
    whole = patterns_set(enumerate_regions(net, Space(), workers=1, backend=backend))
    prev = set()
    for S in [1e3, 1e6, 1e12, 1e15, 1e100, 1e300]:
        P = Polytope(np.vstack([np.eye(d), -np.ones((1, d))]), np.r_[np.full(d, S), S])
        res = enumerate_regions(net, P, workers=1, backend=backend)
        got = patterns_set(res)
        assert prev <= got <= whole, S
        assert np.all(P.contains(res.points)) and np.array_equal(net.pattern(res.points), res.patterns)
        _per_layer_consistent(net, res)
        if S >= 1e6:
            assert got == whole, S
        prev = got
    assert res.info.method == "cells (homogeneous)"
    if backend == "native" and d <= 3:
        cert = res.certify(complete=True)
        assert cert["closed"] and cert["exist"] == res.count


@pytest.mark.parametrize("dims,seed", [([2, 8, 8, 1], 0), ([3, 8, 6, 1], 0)])
def test_huge_balls_have_the_whole_space_regions(dims, seed):
    """Euclidean balls around the origin from 1e3 to 1e100 (lifted from 1,024 times the network's
    length on: the ball's bounding box lifted, its step taken on each cell's region in x): never
    fewer regions, the whole space's from 1e6 on (a 3-8-6-1 network kept 578 of 588 at 1e12 and
    170 at 1e15 before); every point inside the ball with its pattern."""
    from nncells.domains import Ball
    net = random_network(dims, seed=seed)
    d = dims[0]
    whole = patterns_set(enumerate_regions(net, Space(), workers=1))
    prev = set()
    for R in [1e3, 1e6, 1e12, 1e15, 1e100]:
        res = enumerate_regions(net, Ball(np.zeros(d), R), workers=1)
        got = patterns_set(res)
        assert prev <= got <= whole, R
        assert np.all(np.linalg.norm(res.points, axis=1) < R)
        assert np.array_equal(net.pattern(res.points), res.patterns) and np.all(res.radii > 0)
        if R >= 1e6:
            assert got == whole and res.info.method == "cells (homogeneous)", R
        prev = got


@pytest.mark.parametrize("center", [(0.0, 0.0), (3000.0, -1000.0)])
def test_lifted_ball_is_the_balls_step_in_x(center, monkeypatch):
    """A ball 16,000 wide (the network's length is 4), lifted and not (no lift: vertex mode is
    exact at this size), gives the same regions, on and off the origin."""
    from nncells import _config
    from nncells.domains import Ball
    net = random_network([2, 8, 8, 1], seed=5)
    ball = Ball(np.array(center), 8000.0)
    lifted = enumerate_regions(net, ball, workers=1)
    assert lifted.info.method == "cells (homogeneous)"
    monkeypatch.setattr(_config, "LIFT_BOX_RATIO", np.inf)
    direct = enumerate_regions(net, ball, workers=1)
    assert direct.info.method == "cells"
    assert patterns_set(lifted) == patterns_set(direct) and lifted.count > 0


@pytest.mark.parametrize("seed,s", [(6, 1e6), (7, 1e6), (15, 1e-6), (19, 1e6), (22, 1e-6)])
def test_huge_box_of_a_network_without_a_length(seed, s):
    """Every first-layer hyperplane through the origin (the network has no length of its own:
    lam = 1, whatever its units), inputs in units of s: a box 1e15 s wide has the whole space's
    regions and every region of a box 1e3 s wide. The box's far faces set the units of a region's
    LP in x; a region 1e8 away with features of 1e4 was below HiGHS's tolerances in them and lost,
    until the LP is tried again in the units of the region's nearer rows."""
    from test_contract import _degenerate
    d = 2 + seed % 4
    base = _degenerate(random_network([d, 6, 5, 1], seed=seed), 4)
    net = Network([base.weights[0] / s] + list(base.weights[1:]), list(base.biases))
    whole = patterns_set(enumerate_regions(net, Space(), workers=1))
    small = patterns_set(enumerate_regions(net, Box(-1e3 * s, 1e3 * s), workers=1))
    big = enumerate_regions(net, Box(-1e15 * s, 1e15 * s), workers=1)
    assert small <= patterns_set(big) == whole
    assert np.array_equal(net.pattern(big.points), big.patterns)
