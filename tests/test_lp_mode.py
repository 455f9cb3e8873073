"""LP mode (inputs above `_config.VERTEX_MAX_DIM`): the screen, the warm-started LPs, the dual
certificates and the rays of `engine.split` find exactly the regions of the oracle, and of the
plain one-LP-per-side path, with fewer LPs."""
import numpy as np
import pytest

from nncells import Box, Network, Polytope, enumerate_regions, random_network
from nncells.engine.tasks import Problem, run_task
from nncells.geometry.contract import Rule
from oracles import brute_force_patterns, patterns_set


class _PlainRule(Rule):
    """The input-space rule, but not `Rule` itself: `split._Sides` then solves every LP from
    scratch through `Rule.deepest` (no shared warm-started model, no dual certificates)."""


def _plain_patterns(net, domain):
    d = net.input_dim
    domain = domain.resolve(d)
    problem = Problem.make(net, domain)
    problem = Problem(net, problem.domain, problem.tol, _PlainRule(problem.tol), box=problem.box)
    batch, pending, stats = run_task(problem, problem.root_task())
    assert not pending
    return {tuple(map(bool, p)) for p in batch.patterns}, stats.lp_solves


def _scaled(net, s):
    """The same regions with every pre-activation times ``s``: the first layer's weights and
    every bias times ``s`` (ReLU is positively homogeneous)."""
    return Network([net.weights[0] * s] + list(net.weights[1:]), [b * s for b in net.biases])


def _polytope(d):
    """[-1, 1]^d cut by sum(x) <= 1.5 and x_1 - x_2 <= 1."""
    A = np.vstack([np.eye(d), -np.eye(d), np.ones((1, d)), np.r_[1.0, -1.0, np.zeros(d - 2)][None, :]])
    return Polytope(A, np.r_[np.ones(2 * d), 1.5, 1.0])


CASES = [([7, 5, 4, 1], 0, "box", 1.0), ([7, 6, 3, 1], 1, "polytope", 1.0), ([8, 5, 4, 1], 2, "box", 1e-3),
         ([8, 4, 5, 1], 3, "box", 1e3), ([8, 6, 4, 1], 4, "polytope", 1e3)]


@pytest.mark.parametrize("dims,seed,kind,scale", CASES)
def test_lp_mode_equals_brute_force(dims, seed, kind, scale):
    base = random_network(dims, seed=seed)
    net = _scaled(base, scale)
    d = dims[0]
    domain = Box(-1, 1).resolve(d) if kind == "box" else _polytope(d)
    result = enumerate_regions(net, domain, workers=1)
    assert result.summary()["method"] == "cells"
    A, b = domain.halfspaces()
    oracle = brute_force_patterns(base, A, b, cap=1.0)
    assert patterns_set(result) == oracle
    # the same as the plain path (every LP from scratch, no certificates)
    assert _plain_patterns(net, domain)[0] == oracle
    assert np.array_equal(net.pattern(result.points), result.patterns)


@pytest.mark.parametrize("dims,seed", [([8, 8, 6, 1], 0), ([9, 7, 5, 1], 5)])
def test_lp_mode_equals_plain_path(dims, seed):
    """Networks too large for the brute force: the fast path and the plain path agree."""
    net = random_network(dims, seed=seed)
    box = Box(-1, 1).resolve(dims[0])
    result = enumerate_regions(net, box, workers=1)
    plain, plain_lps = _plain_patterns(net, box)
    assert patterns_set(result) == plain
    assert result.lp_solves < plain_lps


def test_lp_count_per_region():
    """8-10-10-1 in [-1, 1]^8: 12,600 regions (as before); 34,340 LPs before the screen,
    certificates and rays (2.73 per region), 17,472 after (1.39; deterministic)."""
    net = random_network([8, 10, 10, 1], seed=0)
    result = enumerate_regions(net, Box(-1, 1), workers=1)
    assert result.count == 12_600
    assert result.lp_solves <= 1.5 * result.count
    assert result.borderline == 0
