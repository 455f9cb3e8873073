"""Exact dimension reduction (issue 22, item 2; `nncells.engine.reduction`): where the domain is
invariant along the null space of the first layer, the enumeration runs in its row space and must
give the same regions, patterns and per-layer counts as the enumeration in the input space, with
every point honest in the original network, and say so in its summary."""
import functools

import numpy as np
import pytest

import nncells
from nncells import Box, Network, Polytope, Space, _config, count_regions, enumerate_regions, random_network
from nncells.domains import Ball
from nncells.engine.reduction import Reduction, reduced_problem, row_space
from nncells.engine.tasks import Problem
from nncells.errors import RunError
from nncells.results.store import ShardSink, read_manifest, write_manifest
from nncells.run import checkpoint
from nncells.run.executors import SerialExecutor
from oracles import brute_force_contract, patterns_set


@pytest.fixture
def unreduced(monkeypatch):
    """A function running ``fn(*args, **kw)`` with the reduction switched off."""
    def run(fn, *args, **kw):
        with monkeypatch.context() as m:
            m.setattr(_config, "REDUCE", False)
            return fn(*args, **kw)
    return run


def _rank(W):
    """The rank of ``W``'s unit rows, by numpy's own default tolerance (independent of `row_space`)."""
    U = W / np.linalg.norm(W, axis=1, keepdims=True)
    return int(np.linalg.matrix_rank(U))


def _honest(net, domain, res):
    """Every point has exactly its pattern in the original network, lies in the domain and has
    a ball of positive radius; every pre-activation is away from 0."""
    assert res.points.shape == (res.count, net.input_dim)
    assert np.array_equal(net.pattern(res.points), res.patterns)
    z = np.concatenate(net.preactivations(res.points)[:len(net.widths)], axis=1)
    assert np.all(z != 0) and np.all(res.radii > 0)
    assert domain.resolve(net.input_dim).contains(res.points).all()


def _same(a, b):
    assert patterns_set(a) == patterns_set(b)
    assert a.per_layer == b.per_layer
    assert a.count == b.count > 1


WHOLE = [(7, 4, 5, 0), (8, 2, 6, 1), (9, 6, 4, 2), (10, 3, 5, 3), (11, 5, 4, 4), (12, 8, 3, 5)]


@pytest.mark.parametrize("d,n1,n2,seed", WHOLE)
def test_whole_space_equals_the_unreduced_enumeration(d, n1, n2, seed, unreduced):
    net = random_network([d, n1, n2, 1], seed=seed)
    red = enumerate_regions(net, Space(), workers=1)
    full = unreduced(enumerate_regions, net, Space(), workers=1)
    _same(red, full)
    assert red.summary()["reduced_dim"] == n1 and full.summary()["reduced_dim"] is None
    # lifted (vertex mode) when the row space is small enough, as any whole space
    assert (red.summary()["method"] == "cells (homogeneous)") == (n1 <= _config.VERTEX_MAX_DIM)
    _honest(net, Space(), red)
    assert red.info.stats.repaired == 0 and red.borderline == 0


def _simplex(W1):
    """``W1 x <= 1`` and ``-sum(W1 x) <= 1``: a simplex in the coordinates ``y = W1 x`` (W1 of full
    row rank), a cylinder along the null space in x."""
    A = np.vstack([W1, -W1.sum(axis=0)])
    return Polytope(A, np.ones(len(A)))


def _slab(W1, M):
    """``|M W1 x| <= 2``, rows combinations of W1's (bounded in the row space when ``M W1`` has its rank)."""
    A = M @ W1
    return Polytope(np.vstack([A, -A]), np.full(2 * len(A), 2.0))


@pytest.mark.parametrize("d,n1,n2,seed", [(7, 3, 5, 6), (9, 4, 4, 7), (10, 6, 3, 8), (12, 2, 6, 9)])
@pytest.mark.parametrize("kind", ["simplex", "slab"])
def test_invariant_polytope_equals_the_unreduced_enumeration(d, n1, n2, seed, kind, unreduced):
    net = random_network([d, n1, n2, 1], seed=seed)
    W1 = net.weights[0]
    dom = _simplex(W1) if kind == "simplex" else _slab(W1, np.random.default_rng(seed).normal(size=(n1 + 1, n1)))
    red = enumerate_regions(net, dom, workers=1)
    full = unreduced(enumerate_regions, net, dom, workers=1)
    _same(red, full)
    assert red.summary()["reduced_dim"] == n1
    _honest(net, dom, red)
    P = reduced_problem(Problem.make(net, dom))
    assert P.domain.dim == n1 and P.box is not None  # bounded in the row space


def test_rank_deficient_first_layer(unreduced):
    """Duplicated, rescaled (parallel hyperplanes) and dependent rows: r < n1 < d."""
    base = random_network([9, 4, 6, 1], seed=11)
    W, b = base.weights[0], base.biases[0]
    W1 = np.vstack([W, W[0], 3.0 * W[1], W[2] + W[3]])          # 7 neurons, rank 4
    b1 = np.r_[b, b[0], 0.5, -0.3]
    net = Network([W1, random_network([7, 6, 1], seed=12).weights[0], base.weights[2]],
                  [b1, random_network([7, 6, 1], seed=12).biases[0], base.biases[2]])
    assert _rank(W1) == 4 == row_space(W1).shape[1]
    red = enumerate_regions(net, Space(), workers=1)
    full = unreduced(enumerate_regions, net, Space(), workers=1)
    _same(red, full)
    assert red.summary()["reduced_dim"] == 4
    _honest(net, Space(), red)
    dom = _slab(W1, np.eye(7))
    red, full = enumerate_regions(net, dom, workers=1), unreduced(enumerate_regions, net, dom, workers=1)
    _same(red, full)
    _honest(net, dom, red)


def test_zero_and_full_rank_first_layers_are_not_reduced():
    net = random_network([5, 6, 3, 1], seed=0)                  # rank 5 = d: nothing to gain
    assert reduced_problem(Problem.make(net, Space())) is None
    assert enumerate_regions(net, Space(), workers=1).summary()["reduced_dim"] is None
    dead = Network([np.zeros((3, 5)), np.ones((1, 3))], [np.array([1.0, -1.0, 0.0]), np.zeros(1)])
    assert reduced_problem(Problem.make(dead, Space())) is None  # a constant network: one region
    assert enumerate_regions(dead, Space(), workers=1).count == 1


def test_domains_that_vary_along_the_null_space_are_not_reduced():
    net = random_network([8, 3, 4, 1], seed=13)
    W1 = net.weights[0]
    tilted = _simplex(W1)
    A = tilted.A.copy()
    A[0] += 1e-6 * np.linalg.svd(W1)[2][-1]           # one row leaves the row space by 1e-6
    for dom in (Box(-1, 1), Ball(np.zeros(8), 1.0), Polytope(A, tilted.b),
                Polytope(np.vstack([np.eye(8), -np.eye(8)]), np.ones(16))):
        assert reduced_problem(Problem.make(net, dom)) is None
    res = enumerate_regions(net, Polytope(A, tilted.b), workers=1)
    assert res.summary()["reduced_dim"] is None and res.count > 1
    assert reduced_problem(Problem.make(net, tilted)) is not None   # while the untilted one is


def test_784_inputs_in_the_whole_space_against_independent_references():
    """A 784-input network whose first layer has 4 neurons is a 4-D whole space (lifted, vertex
    mode): the same count as the 4-input network ``W1 V`` built with numpy's own SVD (another
    basis of the row space), and the same patterns as the brute-force oracle (SciPy's LPs) there."""
    net = random_network([784, 4, 5, 1], seed=14)
    res = enumerate_regions(net, Space(), workers=1)
    s = res.summary()
    assert s["reduced_dim"] == 4 and s["method"] == "cells (homogeneous)" and s["backend"] == "native"
    assert s["lp_solves"] == 0 and res.borderline == 0 and s["repaired_points"] == 0
    _honest(net, Space(), res)
    V = np.linalg.svd(net.weights[0], full_matrices=False)[2].T        # 784 x 4
    small = Network([net.weights[0] @ V, net.weights[1], net.weights[2]], net.biases)
    assert count_regions(small, Space(), workers=1)["regions"] == res.count
    margins = brute_force_contract(small, np.zeros((0, 4)), np.zeros(0))
    clear = {p for p, m in margins.items() if m > 1e-7}
    assert clear <= patterns_set(res) and all(margins[p] > -1e-9 for p in patterns_set(res))
    counted = count_regions(net, Space(), workers=1)
    assert counted["reduced_dim"] == 4 and counted["regions"] == res.count
    from nncells.cli.enumerate_cmd import format_summary     # the CLI says so too
    assert "solved in    4 dimensions" in format_summary(counted)


def _box_at(center, half, d=16):
    """A ``d``-input network whose five neurons are on together exactly in the square
    ``|x1 - c1| < half``, ``|x2 - c2| < half`` (a cylinder along x3 .. xd); its fifth row
    ``(e1 + e2) / sqrt(2)``, far away, makes the row space's basis turn by 45 degrees (`row_space`)."""
    W1 = np.zeros((5, d))
    W1[:, :2] = [[1.0, 0], [-1, 0], [0, 1], [0, -1], [2 ** -0.5, 2 ** -0.5]]
    c1, c2 = center
    b1 = np.array([-(c1 - half), c1 + half, -(c2 - half), c2 + half, 100.0])
    return Network([W1, np.ones((1, 5))], [b1, np.zeros(1)])


@pytest.mark.parametrize("center,ratio", [((1.0, 0.0), 0.7), ((1.0, 0.0), 1.3), ((1.0, 1.0), 0.7),
                                          ((1.0, 1.0), 1.3)])
def test_the_contract_is_the_input_space_s(center, ratio, unreduced):
    """A square of margin ``ratio * tol`` in the input space (``half / ||center||_inf``) has a margin
    up to sqrt(2) larger or smaller in the rotated reduced coordinates (``||z||_inf`` of a point
    differs from ``||x||_inf``): it counts iff it does in the input space (the oracle's LP, and the
    unreduced enumeration), neither lost ((1, 1), 1.3: 0.92 tol in z) nor added ((1, 0), 0.7:
    0.99 tol in z) by the reduction. (16 inputs: the reduced problem's threshold, ``tol / 4``, is
    4 times below both squares' margins there.)"""
    tol, d = 1e-9, 16
    net = _box_at(center, ratio * tol, d)
    Q = row_space(net.weights[0])
    assert Q.shape[1] == 2 and np.allclose(np.abs(Q[:2]), 2 ** -0.5)      # turned by 45 degrees
    on = (True,) * 5
    margin = brute_force_contract(net, np.zeros((0, d)), np.zeros(0), tol)[on]
    assert (margin > 0) == (ratio > 1)
    red = enumerate_regions(net, Space(), workers=1)
    full = unreduced(enumerate_regions, net, Space(), workers=1)
    assert red.summary()["reduced_dim"] == 2
    assert (on in patterns_set(red)) == (on in patterns_set(full)) == (ratio > 1)
    assert patterns_set(red) == patterns_set(full)
    if ratio > 1:
        assert red.borderline >= 1                   # the square counts, and is reported as borderline
    _honest(net, Space(), red)


def test_regions_map_back_in_blocks(monkeypatch):
    """`Reduction.up` maps and checks regions block by block (counts: only counted): any block
    size gives the same regions and counts."""
    net = random_network([11, 5, 6, 1], seed=19)
    ref = enumerate_regions(net, Space(), workers=1)
    monkeypatch.setattr(Reduction, "CHUNK", 7)
    res = enumerate_regions(net, Space(), workers=1)
    _same(res, ref)
    assert np.array_equal(res.points, ref.points) and np.array_equal(res.radii, ref.radii)
    assert count_regions(net, Space(), workers=1)["regions"] == ref.count


@pytest.mark.parametrize("s", [1e-6, 1e6])
def test_units_do_not_matter(s):
    net = random_network([9, 4, 5, 1], seed=15)
    ref = patterns_set(enumerate_regions(net, Space(), workers=1))
    scaled = Network([net.weights[0] / s] + list(net.weights[1:]), list(net.biases))
    res = enumerate_regions(scaled, Space(), workers=1)
    assert patterns_set(res) == ref
    _honest(scaled, Space(), res)


def test_workers_get_the_reduction(monkeypatch, unreduced):
    """Problems are pickled to worker processes: their regions come back in the input space."""
    monkeypatch.setattr(_config, "WARMUP_S", 0.0)          # the root's children go to the pool
    net = random_network([10, 5, 6, 1], seed=16)
    res = enumerate_regions(net, Space(), workers=2)
    assert res.info.executor != "serial" and res.summary()["reduced_dim"] == 5
    _same(res, unreduced(enumerate_regions, net, Space(), workers=1))
    _honest(net, Space(), res)


def test_certified_reduced_runs():
    """Facets recorded in the reduced, lifted problem (labels are neurons: the same in x) and the
    qhull path in the input space both close the dual graph."""
    for dims in ([5, 3, 4, 1], [8, 2, 3, 1]):
        net = random_network(dims, seed=17)
        res = enumerate_regions(net, Space(), workers=1, certify=True)
        c = res.summary()["certified"]
        assert res.summary()["reduced_dim"] == dims[1]
        assert c["exist"] == c["of"] == res.count and c["closed"]


NET = random_network([10, 5, 6, 1], seed=18)


def _interrupt(out, monkeypatch, net=NET, reduce=True):
    with monkeypatch.context() as m:
        m.setattr(checkpoint, "ShardSink", functools.partial(ShardSink, shard_rows=7))
        m.setattr(_config, "WARMUP_S", 0.0)
        m.setattr(_config, "REDUCE", reduce)

        def progress(count, text):
            if count > 40:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            nncells.enumerate_to_dir(net, Space(), out, executor=SerialExecutor(1e-4), progress=progress)
    man = read_manifest(out)
    assert not man["finished"] and man["frontier"]["tasks"] > 0
    assert man["reduced_dim"] == (net.widths[0] if reduce else None)


def test_checkpointed_reduced_run_resumes_exactly(tmp_path, monkeypatch, unreduced):
    """The frontier holds tasks of the reduced (lifted) problem; a resume rebuilds the same problem
    from the same network, and ends with exactly the regions of a clean run."""
    out = tmp_path / "run"
    _interrupt(out, monkeypatch)
    s = nncells.enumerate_to_dir(NET, Space(), out, workers=1, resume=True)
    assert s["reduced_dim"] == 5
    ref = unreduced(enumerate_regions, NET, Space(), workers=1)
    got = nncells.read_arrays(out)
    pats = {tuple(map(bool, p)) for p in got["patterns"]}
    assert len(got["patterns"]) == len(pats) == ref.count == s["regions"]
    assert pats == patterns_set(ref)
    assert np.array_equal(NET.pattern(got["points"]), got["patterns"])


@pytest.mark.parametrize("net", [NET, random_network([7, 6, 4, 1], seed=20)], ids=["10-5", "7-6"])
def test_a_frontier_in_other_coordinates_is_refused(net, tmp_path, monkeypatch, unreduced):
    """A run interrupted with the reduction on cannot be resumed with it off, nor the other way
    round: its tasks are in other coordinates, of another dimension (10 inputs: 6 lifted reduced
    coordinates against 10) or of the same (7 inputs, rank 6: 7 lifted reduced coordinates against
    7 in LP mode); the manifest says which."""
    _interrupt(tmp_path / "a", monkeypatch, net, reduce=True)
    with pytest.raises(RunError, match="cannot resume: the run was solved in"):
        unreduced(nncells.enumerate_to_dir, net, Space(), tmp_path / "a", workers=1, resume=True)
    _interrupt(tmp_path / "b", monkeypatch, net, reduce=False)
    with pytest.raises(RunError, match="cannot resume: the run was solved in the input space"):
        nncells.enumerate_to_dir(net, Space(), tmp_path / "b", workers=1, resume=True)
    # the same dimension in another basis of the row space (another LAPACK): refused too
    man = read_manifest(tmp_path / "a")
    write_manifest(tmp_path / "a", dict(man, reduced_basis="0" * 16))
    with pytest.raises(RunError, match="in another basis"):
        nncells.enumerate_to_dir(net, Space(), tmp_path / "a", workers=1, resume=True)
