"""The engine on networks with linear (pass-through) units (issue 23): residual blocks and skip
connections compiled to a layered network. Every count is checked against the brute force of
tests/oracles.py (which reads the weights and masks itself) or an invariant."""
import numpy as np
import pytest

from nncells import Box, Network, Space, _config, enumerate_regions, random_network
from nncells.engine.tasks import Problem, _children, run_task
from oracles import brute_force_patterns, patterns_set


def residual(d, w, k, seed, skip_input=True):
    """``out = U relu(W2 h + b2)`` with ``h = x + V relu(W1 x + b1)`` (the block's skip carried by
    ``d`` linear units), or ``h = V relu(W1 x + b1) + relu(W1 x + b1)[:d]`` without ``skip_input``.
    Returns the network and its forward pass written directly."""
    rng = np.random.default_rng(seed)
    W1, b1, V = rng.normal(size=(w, d)), rng.normal(size=w), rng.normal(size=(d, w))
    W2, b2, U = rng.normal(size=(k, d)), rng.normal(size=k), rng.normal(size=(2, k))
    if skip_input:
        net = Network([np.vstack([W1, np.eye(d)]), np.hstack([W2 @ V, W2]), U], [np.r_[b1, np.zeros(d)], b2, [0, 0]],
                      linear=[np.r_[np.zeros(w, bool), np.ones(d, bool)], np.zeros(k, bool)])

        def f(X):
            return np.maximum((X + np.maximum(X @ W1.T + b1, 0) @ V.T) @ W2.T + b2, 0) @ U.T
    else:
        P = np.eye(d, w)   # the skip: the first d ReLU outputs
        net = Network([W1, W2 @ (V + P), U], [b1, b2, [0, 0]])

        def f(X):
            h = np.maximum(X @ W1.T + b1, 0)
            return np.maximum((h @ V.T + h @ P.T) @ W2.T + b2, 0) @ U.T
    return net, f


def box_rows(d, r):
    return np.vstack([np.eye(d), -np.eye(d)]), np.full(2 * d, float(r))


@pytest.mark.parametrize("d,w,k,seed", [(2, 5, 4, 0), (3, 6, 4, 1), (4, 4, 4, 2)])
@pytest.mark.parametrize("backend", ["native", "numpy"])
def test_residual_network_in_a_box_equals_brute_force(d, w, k, seed, backend):
    net, f = residual(d, w, k, seed)
    X = np.random.default_rng(seed).uniform(-2, 2, size=(500, d))
    assert np.allclose(net.forward(X), f(X), rtol=1e-12, atol=1e-12)
    res = enumerate_regions(net, Box(-2, 2), backend=backend, workers=1)
    assert patterns_set(res) == brute_force_patterns(net, *box_rows(d, 2))
    assert np.array_equal(net.pattern(res.points), res.patterns)
    assert res.patterns[:, net.linear_mask].all()
    assert res.info.stats.repaired == 0
    if d == 2:   # the planar mesh: its compiled core has no linear units, the summary says which ran
        assert res.summary()["method"] == "planar" and res.summary()["backend"] == "numpy"


def test_lp_mode_in_a_box_and_its_light_tasks():
    """Above the vertex mode's dimensions (LP mode, the box as bounds): the same regions as the
    brute force, and a packed task rebuilds its rows bit for bit."""
    d = _config.VERTEX_MAX_DIM + 2
    net, _ = residual(d, 5, 4, 3)
    res = enumerate_regions(net, Box(-1, 1), workers=1)
    assert patterns_set(res) == brute_force_patterns(net, *box_rows(d, 1))
    assert np.array_equal(net.pattern(res.points), res.patterns)
    problem = Problem.make(net, Box(-1, 1))
    kids, _ = _children(problem, problem.root_task())
    for t in kids + [g for k in kids[:3] for g in _children(problem, k)[0]]:
        rebuilt = problem.unpack(t.pack()).cell
        assert np.array_equal(rebuilt.A, t.cell.A) and np.array_equal(rebuilt.c, t.cell.c)
    batch, pending, _ = run_task(problem, problem.root_task())
    assert not pending and {tuple(map(bool, p)) for p in batch.patterns} == patterns_set(res)


@pytest.mark.parametrize("d,seed", [(2, 4), (3, 5), (_config.VERTEX_MAX_DIM + 1, 6)])
def test_whole_space_equals_brute_force(d, seed):
    net, _ = residual(d, 4, 4, seed)
    res = enumerate_regions(net, Space(), workers=1)
    assert patterns_set(res) == brute_force_patterns(net, np.zeros((0, d)), np.zeros(0))
    assert np.array_equal(net.pattern(res.points), res.patterns)


def test_reduction_with_linear_units_in_a_deeper_layer():
    """784-style: many inputs, a narrow first layer whose outputs a later layer carries on by linear
    units: the whole space is solved in rank(W1) dimensions, with the unreduced answer."""
    d, n1 = 20, 3
    rng = np.random.default_rng(7)
    W1, b1 = rng.normal(size=(n1, d)), rng.normal(size=n1)
    W2, b2, W3 = rng.normal(size=(4, n1)), rng.normal(size=4), rng.normal(size=(3, 4 + n1))
    net = Network([W1, np.vstack([W2, np.eye(n1)]), W3, rng.normal(size=(1, 3))],
                  [b1, np.r_[b2, np.zeros(n1)], rng.normal(size=3), [0.0]],
                  linear=[np.zeros(n1, bool), np.r_[np.zeros(4, bool), np.ones(n1, bool)], np.zeros(3, bool)])
    red = enumerate_regions(net, Space(), workers=1)
    assert red.summary()["reduced_dim"] == n1
    assert patterns_set(red) == brute_force_patterns(net, np.zeros((0, d)), np.zeros(0))
    assert np.array_equal(net.pattern(red.points), red.patterns)


@pytest.mark.parametrize("s", [1e-6, 1e5])
def test_unit_changes_keep_the_regions(s):
    """Inputs in other units (x -> x / s, the domain times s) and every layer times s: the same regions."""
    d = 3
    net, _ = residual(d, 5, 4, 8)
    base = patterns_set(enumerate_regions(net, Box(-1, 1), workers=1))
    inputs = net.compose_input(np.eye(d) / s)
    assert patterns_set(enumerate_regions(inputs, Box(-s, s), workers=1)) == base
    scaled = Network([W * s for W in net.weights], [b * s ** (i + 1) for i, b in enumerate(net.biases)], net.linear)
    assert patterns_set(enumerate_regions(scaled, Box(-1, 1), workers=1)) == base


def test_nested_boxes_never_lose_regions():
    net, _ = residual(3, 6, 4, 9)
    counts = [enumerate_regions(net, Box(-r, r), workers=1).count for r in (0.25, 1.0, 4.0, 64.0)]
    assert counts == sorted(counts) and counts[0] >= 1


def test_a_skip_of_relu_outputs_as_linear_units_or_as_relu_copies():
    """A skip that adds ReLU outputs can be carried by linear units or, since relu(h) = h for
    h = relu(z), by ReLU copies: the two networks have the same regions (the copies' bits repeat
    their originals'), and both equal a chain that folds the skip into the next layer."""
    d, w, k = 3, 6, 4
    folded, f = residual(d, w, k, 10, skip_input=False)
    W1, W2f = folded.weights[0], folded.weights[1]
    b1, b2 = folded.biases[0], folded.biases[1]
    # layer 1: relu(W1 x + b1); layer 2: [relu(z2); h[:d]] with z2 the folded pre-activation
    E = np.eye(w)[:d]
    W2 = np.vstack([W2f, E])
    lin = Network([W1, W2, np.hstack([folded.weights[2], np.zeros((2, d))])], [b1, np.r_[b2, np.zeros(d)], [0, 0]],
                  linear=[np.zeros(w, bool), np.r_[np.zeros(k, bool), np.ones(d, bool)]])
    copies = Network(lin.weights, lin.biases)
    X = np.random.default_rng(0).uniform(-2, 2, size=(300, d))
    assert np.allclose(lin.forward(X), f(X)) and np.allclose(copies.forward(X), f(X))
    a = enumerate_regions(lin, Box(-2, 2), workers=1)
    b = enumerate_regions(copies, Box(-2, 2), workers=1)
    c = enumerate_regions(folded, Box(-2, 2), workers=1)
    relu = ~lin.linear_mask
    assert a.count == b.count == c.count
    assert {p[relu].tobytes() for p in a.patterns} == {p[relu].tobytes() for p in b.patterns}
    assert {p[: w + k].tobytes() for p in a.patterns} == {p.tobytes() for p in c.patterns}


def test_a_plain_network_is_unchanged():
    """All-ReLU masks given explicitly: the same network, fingerprint and regions as without."""
    net = random_network([3, 5, 4, 1], seed=11)
    same = Network(net.weights, net.biases, linear=[np.zeros(5, bool), np.zeros(4, bool)])
    assert same == net and same.fingerprint == net.fingerprint and not same.has_linear
    assert patterns_set(enumerate_regions(same, Box(-1, 1), workers=1)) == \
        patterns_set(enumerate_regions(net, Box(-1, 1), workers=1))
    marked = Network(net.weights, net.biases, linear=[np.eye(5, dtype=bool)[0], np.zeros(4, bool)])
    assert marked != net and marked.fingerprint != net.fingerprint


def test_bad_masks_are_refused():
    from nncells.errors import ModelError
    net = random_network([2, 3, 1])
    with pytest.raises(ModelError, match="2 masks of linear units for 1 hidden layers"):
        Network(net.weights, net.biases, linear=[[True, False, False], [True]])
    with pytest.raises(ModelError, match="2 entries for 3 units"):
        Network(net.weights, net.biases, linear=[[True, False]])
