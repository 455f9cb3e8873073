"""One input, the whole line (issue 21, finding 2): the count does not depend on the units.

The 1-input whole space is lifted to the half-plane (``engine.lifting``) and cut by the planar
mesh, whose lines' error bounds (`planar.mesh.line_errors`) must scale as the lifted layers' own
numbers: layer ``l``'s weights times ``s`` and biases times ``s^(l+1)`` leave the regions as they
are. An independent oracle gives the truth: in 1-D the regions are the intervals between the
neurons' breakpoints, found layer by layer (each pre-activation is affine between the breakpoints
of the layers before it).
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from nncells import Network, Space, enumerate_regions, random_network
from nncells.engine.lifting import homogenize
from nncells.planar.mesh import line_errors
from oracles import patterns_set

TOL = 1e-9
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ the interval oracle
def _forward(net, x):
    """Pre-activations of every hidden layer at the points ``x`` (n,), by plain numpy."""
    h, out = np.asarray(x, dtype=np.float64)[:, None], []
    for W, b in zip(net.weights[:-1], net.biases[:-1]):
        z = h @ W.T + b
        out.append(z)
        h = np.maximum(z, 0.0)
    return out


def _inside(lo, hi):
    """A point strictly inside the interval ``(lo, hi)`` (ends may be infinite)."""
    if np.isfinite(lo) and np.isfinite(hi):
        return 0.5 * (lo + hi)
    if np.isfinite(lo):
        return lo + max(1.0, abs(lo))
    if np.isfinite(hi):
        return hi - max(1.0, abs(hi))
    return 0.0


def breakpoints(net):
    """Every point where a hidden neuron changes sign, sorted: layer by layer, on each interval
    between the breakpoints found so far, the layer's pre-activations are ``a x + c`` (the map of
    the interval's pattern), and a root inside the interval is a new breakpoint."""
    bps = np.zeros(0)
    for layer, (W, b) in enumerate(zip(net.weights[:-1], net.biases[:-1])):
        edges = np.concatenate([[-np.inf], np.unique(bps), [np.inf]])
        new = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            zs = _forward(net, [_inside(lo, hi)])
            a, c = np.ones(1), np.zeros(1)  # x -> a x + c, the input to layer `layer`
            for j in range(layer):
                on = zs[j][0] > 0
                a, c = (net.weights[j] @ a) * on, (net.weights[j] @ c + net.biases[j]) * on
            slope, off = W @ a, W @ c + b
            with np.errstate(divide="ignore", invalid="ignore"):
                root = -off / slope
            new.extend(root[(slope != 0) & (root > lo) & (root < hi)])
        bps = np.concatenate([bps, new])
    return np.unique(bps)


def _counts(lo, hi, tol):
    """Whether the interval ``(lo, hi)`` holds a point deeper than ``tol |x|`` (the contract)."""
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo < 0 < hi:
        return True
    a, b = (lo, hi) if lo >= 0 else (-hi, -lo)
    return a * (1 + tol) < b * (1 - tol)


def interval_oracle(net, tol=TOL):
    """``(patterns, margin)``: the patterns of the intervals that count, and the smallest factor by
    which an interval's relative half-width clears the threshold or stays below it (a small
    factor: the answer depends on rounding)."""
    edges = np.concatenate([[-np.inf], breakpoints(net), [np.inf]])
    mids = np.array([_inside(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])])
    pats = np.concatenate(_forward(net, mids), axis=1) > 0
    # adjacent intervals with one pattern are one region (a root on a breakpoint of an earlier layer)
    keep = np.r_[True, np.any(pats[1:] != pats[:-1], axis=1)]
    starts = np.flatnonzero(keep)
    los, his = edges[:-1][starts], edges[1:][np.r_[starts[1:] - 1, len(mids) - 1]]
    out, margin = set(), np.inf
    for lo, hi, p in zip(los, his, pats[starts]):
        if _counts(lo, hi, tol):
            out.add(tuple(bool(v) for v in p))
        if np.isfinite(lo) and np.isfinite(hi) and not lo < 0 < hi:
            rel = 0.5 * (hi - lo) / max(abs(lo), abs(hi))
            margin = min(margin, max(rel / tol, tol / rel))
    return out, margin


# ------------------------------------------------------------------ networks and exact unit changes
def dyadic_network(widths, seed):
    """A random 1-input network with weights and biases on the grid ``2^-12``: scaling by powers
    of two and shifting by small dyadic numbers are then exact in float64."""
    net = random_network([1, *widths, 1], seed=seed)
    grid = 4096.0
    return Network([np.round(W * grid) / grid for W in net.weights], [np.round(b * grid) / grid for b in net.biases])


def layer_scaled(net, s):
    """Layer ``l``'s weights times ``s``, its biases times ``s^(l+1)``: the same regions."""
    return Network([W * s for W in net.weights], [b * s ** (l + 1) for l, b in enumerate(net.biases)])


def input_scaled(net, s):
    """The network of ``x' = s x``: the first layer's weights divided by ``s``."""
    return Network([net.weights[0] / s, *net.weights[1:]], list(net.biases))


def shifted(net, t):
    """The network of ``x' = x + t``: ``b1 - W1 t`` (exact for dyadic ``t`` and weights)."""
    b0 = net.biases[0] - net.weights[0][:, 0] * t
    return Network(list(net.weights), [b0, *net.biases[1:]])


def _whole(net):
    return patterns_set(enumerate_regions(net, Space(), workers=1))


# ------------------------------------------------------------------ tests
def test_the_issue_network():
    """1-2-6-1-1, seed 2: 11 regions, also with every layer scaled by 1e6 (it had 9)."""
    net = random_network([1, 2, 6, 1, 1], seed=2)
    truth, margin = interval_oracle(net)
    assert len(truth) == 11 and margin > 1e3
    for s in (1.0, 1e6, 2.0 ** 20, 1e-6):
        assert _whole(layer_scaled(net, s)) == truth, s


def test_line_errors_scale_with_the_layers():
    """The planar mesh's error bounds of a lifted network scale as its layers: ``s^(l+1)`` for the
    lines of layer ``l`` (exactly, for a power of two), not as a product of whole matrices' norms
    (the last neuron of a lifted layer carries ``t`` and keeps its bound)."""
    net = random_network([1, 3, 5, 4, 1], seed=0)
    s = 2.0 ** 20
    errs, bound = line_errors(homogenize(net, 4.0).weights)
    errs_s, bound_s = line_errors(homogenize(layer_scaled(net, s), 4.0).weights)
    assert len(errs) == len(errs_s) == 3 and len(errs[0]) == 0
    for layer in (1, 2):
        e, e_s = errs[layer], errs_s[layer]
        assert np.array_equal(e_s[:-1], e[:-1] * s ** (layer + 1)) and e_s[-1] == e[-1]
    assert bound_s == bound * s ** len(net.weights)


@SETTINGS
@given(widths=st.lists(st.integers(1, 6), min_size=1, max_size=3), seed=st.integers(0, 10 ** 6),
       k=st.integers(-20, 20), shift=st.integers(-64, 64))
def test_units_and_shifts_keep_the_regions(widths, seed, k, shift):
    """Whole-line patterns equal the interval oracle, and are unchanged by exact changes of units
    (inputs or layers times powers of two from 2^-20 to 2^20); a shift ``x -> x + t`` moves the
    regions (the threshold ``tol |x|`` moves with them): it equals its own oracle."""
    net = dyadic_network(widths, seed)
    truth, margin = interval_oracle(net)
    assume(margin > 1e3)  # no interval within rounding of the threshold
    assert _whole(net) == truth
    s = 2.0 ** k
    assert _whole(layer_scaled(net, s)) == truth
    assert _whole(input_scaled(net, s)) == truth
    moved = shifted(net, shift / 8)
    truth_moved, margin_moved = interval_oracle(moved)
    if margin_moved > 1e3:
        assert _whole(moved) == truth_moved


@pytest.mark.parametrize("seed", range(8))
def test_random_issue_shapes_against_the_oracle(seed):
    """The issue's shape with every layer scaled by 1e6: the oracle's count (7 of 8 seeds lost
    regions before)."""
    net = random_network([1, 2, 6, 1, 1], seed=seed)
    truth, margin = interval_oracle(net)
    assert margin > 1e3
    assert _whole(layer_scaled(net, 1e6)) == truth == _whole(net)
