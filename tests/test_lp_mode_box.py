"""LP mode in a box, the box kept as bounds (issue 22): light cells, the shrunk-box LPs of
`geometry.box_depth` with their verified answers (witness, Farkas bound, fallback to the exact LP),
and frontiers of ``O(d + hidden neurons)`` numbers a task."""
import json

import numpy as np
import pytest

from nncells import Box, Network, Polytope, _config, enumerate_regions, kernels, random_network
from nncells.engine import lp_core, split
from nncells.engine.tasks import Problem, _children, run_task
from nncells.geometry import box_depth
from nncells.geometry.box_depth import BoxDepth
from nncells.geometry.contract import Rule
from nncells.run.frontier import decode_tasks, encode_tasks
from oracles import brute_force_patterns


BACKENDS = ["numpy"] + (["native"] if kernels.native_available() else [])


def _switch_off(monkeypatch, backend, bits):
    """Run on ``backend``; in the compiled core, switch off the ways of deciding ``bits``
    (`kernels.lp`): the core then defers those splits to the numpy twin, where the test's own
    patches apply. Returns the core's deferral count so far."""
    monkeypatch.setattr(_config, "BACKEND", backend)
    if backend == "native":
        from nncells.kernels import lp as klp
        monkeypatch.setattr(klp, "_OFF", bits)
    return lp_core.counts().get("deferred", 0)


def _patterns(result):
    return {tuple(map(bool, p)) for p in result.patterns}


def _as_polytope(box: Box, d: int) -> Polytope:
    """The same box as rows: the path that keeps every face a row of every cell."""
    lo, hi = box.resolve(d).lo, box.resolve(d).hi
    return Polytope(np.vstack([np.eye(d), -np.eye(d)]), np.r_[hi, -lo])


class _PlainRule(Rule):
    """Not `Rule` itself: every side is decided by the exact LP (`Rule.deepest`, the box as
    bounds), without the shrunk-box LPs: the reference path."""


def _reference(net, box):
    problem = Problem.make(net, box)
    problem = Problem(net, problem.domain, problem.tol, _PlainRule(problem.tol), box=problem.box)
    batch, pending, stats = run_task(problem, problem.root_task())
    assert not pending
    return {tuple(map(bool, p)): tuple(map(int, r)) for p, r in zip(batch.patterns, batch.ranks)}, stats.per_layer


def _scaled(net, s):
    return Network([net.weights[0] * s] + list(net.weights[1:]), [b * s for b in net.biases])


CASES = [([7, 6, 5, 1], 0, Box(-1, 1)), ([9, 6, 4, 1], 1, Box(0, 1)), ([12, 5, 5, 1], 2, Box(-2, 0.5)),
         ([20, 6, 4, 1], 3, Box(0, 1)), ([40, 5, 4, 1], 4, Box(-1, 1))]


@pytest.mark.parametrize("dims,seed,box", CASES)
def test_box_as_bounds_equals_box_as_rows_and_the_reference(dims, seed, box):
    net = random_network(dims, seed=seed)
    d = dims[0]
    res = enumerate_regions(net, box, workers=1)
    rows = enumerate_regions(net, _as_polytope(box, d), workers=1)
    ref, per_layer = _reference(net, box)
    assert _patterns(res) == _patterns(rows) == set(ref)
    assert res.per_layer == rows.per_layer == per_layer
    assert {tuple(map(bool, p)): tuple(map(int, r)) for p, r in zip(res.patterns, res.ranks)} == ref  # ranks too
    assert res.summary()["lp_fallbacks"] == 0  # every decision verified without the exact LP
    assert res.borderline == 0
    assert np.array_equal(net.pattern(res.points), res.patterns)
    lo, hi = box.resolve(d).lo, box.resolve(d).hi
    assert np.all(res.points - lo >= res.radii[:, None]) and np.all(hi - res.points >= res.radii[:, None])


def test_box_as_bounds_equals_brute_force():
    net = random_network([8, 5, 4, 1], seed=6)
    box = Box(-1, 1).resolve(8)
    oracle = brute_force_patterns(net, *box.halfspaces(), cap=1.0)
    assert _patterns(enumerate_regions(net, box, workers=1)) == oracle


@pytest.mark.parametrize("s", [1e-6, 1e6])
def test_units_do_not_change_the_count(s):
    """Inputs in other units (the box and the first layer scaled): the same patterns."""
    net = random_network([9, 6, 5, 1], seed=7)
    base = enumerate_regions(net, Box(-1, 1), workers=1)
    W = [net.weights[0] / s] + list(net.weights[1:])
    scaled = enumerate_regions(Network(W, net.biases), Box(-s, s), workers=1)
    assert _patterns(scaled) == _patterns(base)


def test_degenerate_network():
    """Duplicated, zero and dead neurons, hyperplanes through a corner of the box."""
    rng = np.random.default_rng(8)
    d = 10
    W1 = rng.normal(size=(6, d))
    W1[1] = W1[0]              # a duplicate
    W1[2] = 0.0                # a zero row
    b1 = rng.normal(size=6)
    b1[3] = -100.0             # dead on the box
    b1[4] = -W1[4] @ np.ones(d)  # through the corner (1, ..., 1)
    net = Network([W1, rng.normal(size=(5, 6)), rng.normal(size=(1, 5))], [b1, rng.normal(size=5), np.zeros(1)])
    res = enumerate_regions(net, Box(-1, 1), workers=1)
    rows = enumerate_regions(net, _as_polytope(Box(-1, 1), d), workers=1)
    assert _patterns(res) == _patterns(rows) == set(_reference(net, Box(-1, 1).resolve(d))[0])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_side_thinner_than_the_shrink_falls_back_to_the_exact_lp(monkeypatch, backend):
    """A slab ``0.5 < x1 < 0.5 + 1.6e-9`` in [-1, 1]^8: deeper than the threshold (``1e-9 |x|``,
    about 5e-10 near the origin) but not where the shrunk LP looks (its answer sits at the box's
    corners, where the threshold is 1e-9): the shrunk LP can neither prove nor refute it, the
    exact LP does, and the run counts the fallback. Without it the slab would be lost. (Known balls and rays, which would find this slab without an LP, are
    switched off; the compiled core, unsure, defers the split to the numpy twin.)"""
    from nncells.kernels import lp as klp
    deferred = _switch_off(monkeypatch, backend, klp.OFF_BALLS | klp.OFF_RAYS)
    monkeypatch.setattr(split, "_shoot", lambda *a: (None, -np.inf))
    monkeypatch.setattr(split, "_witnessed", lambda rule, P, *a: np.zeros(len(P), dtype=bool))
    d = 8
    W1 = np.zeros((2, d))
    W1[:, 0] = 1.0
    net = Network([W1, np.ones((1, 2))], [np.array([-0.5, -(0.5 + 1.6e-9)]), np.zeros(1)])
    before = box_depth.fallback_count()
    res = enumerate_regions(net, Box(-1, 1), workers=1)
    assert res.count == 3
    assert res.summary()["lp_fallbacks"] >= 1 and box_depth.fallback_count() > before
    assert _patterns(res) == set(_reference(net, Box(-1, 1).resolve(d))[0])
    if backend == "native":
        assert lp_core.counts()["deferred"] > deferred


@pytest.mark.parametrize("backend", BACKENDS)
def test_refutations_need_the_farkas_bound(monkeypatch, backend):
    """With the Farkas bound unable to prove anything, every "no" falls back: the same answer,
    with fallbacks counted (so the ordinary runs' zero fallbacks come from verified refutations;
    the bound itself is tested in test_box_lp.py). The compiled core defers such splits."""
    from nncells.kernels import lp as klp
    net = random_network([8, 5, 4, 1], seed=9)
    monkeypatch.setattr(_config, "BACKEND", backend)
    base = enumerate_regions(net, Box(-1, 1), workers=1)
    deferred = _switch_off(monkeypatch, backend, klp.OFF_FARKAS | klp.OFF_CERTIFICATES)
    monkeypatch.setattr(box_depth, "farkas_bound", lambda *a: (np.inf, 0.0))
    res = enumerate_regions(net, Box(-1, 1), workers=1)
    assert _patterns(res) == _patterns(base)
    assert base.summary()["lp_fallbacks"] == 0 < res.summary()["lp_fallbacks"]
    if backend == "native":
        assert lp_core.counts()["deferred"] > deferred


@pytest.mark.skipif(not kernels.native_available(), reason="the box LP's cutoff is the compiled solver's")
def test_numpy_twin_runs_unverified_cutoffs_on(monkeypatch):
    """The numpy twin of the splits (its box LPs compiled) stops a refuting LP at its cutoff
    too; where the certificate found there does not verify (refused here, every time right
    after a stop at the cutoff), the LP runs on to its optimum and refutes the side there: the
    same answer with no fallback."""
    from nncells.geometry import box_lp
    net = random_network([12, 6, 5, 1], seed=9)
    monkeypatch.setattr(_config, "COMPILED_LP", False)
    base = enumerate_regions(net, Box(-1, 1), workers=1)
    solve, bound, last, refused = box_lp.solve_shrunk, box_depth.farkas_bound, [None], [0]

    def solve_shrunk(*a, **k):
        out = solve(*a, **k)
        last[0] = out[0]
        return out

    def farkas_bound(*a):
        if last[0] == "cutoff":
            refused[0] += 1
            return np.inf, 0.0
        return bound(*a)

    monkeypatch.setattr(box_lp, "solve_shrunk", solve_shrunk)
    monkeypatch.setattr(box_depth, "farkas_bound", farkas_bound)
    res = enumerate_regions(net, Box(-1, 1), workers=1)
    assert refused[0] > 0
    assert _patterns(res) == _patterns(base) == set(_reference(net, Box(-1, 1).resolve(12))[0])
    assert base.summary()["lp_fallbacks"] == 0 == res.summary()["lp_fallbacks"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_witnesses_are_checked(monkeypatch, backend):
    """With every witness refused (its certified depth taken as 0), no side is proven by the
    shrunk LP: each falls back to the exact LP, and the answer is the same. The compiled core
    defers such splits."""
    from nncells.kernels import lp as klp
    net = random_network([8, 5, 4, 1], seed=10)
    monkeypatch.setattr(_config, "BACKEND", backend)
    base = enumerate_regions(net, Box(-1, 1), workers=1)
    deferred = _switch_off(monkeypatch, backend, klp.OFF_WITNESS)
    monkeypatch.setattr(box_depth, "certified_depth", lambda *a: 0.0)
    res = enumerate_regions(net, Box(-1, 1), workers=1)
    assert _patterns(res) == _patterns(base)
    assert res.summary()["lp_fallbacks"] > 0
    if backend == "native":
        assert lp_core.counts()["deferred"] > deferred


def test_box_depth_verdicts_and_certificates():
    """``yes`` with a checked witness, ``no`` with a certificate naming the rows it needs."""
    d = 30
    E = np.zeros((3, d))
    E[0, 0], E[1, 0], E[2, 1] = 1.0, -1.0, 1.0
    f = np.array([0.25, -0.75, 0.5])             # x1 <= 0.25, x1 >= 0.75, x2 <= 0.5
    cell = BoxDepth(np.zeros((0, d)), np.zeros(0), E, f, (np.zeros(d), np.ones(d)), 1e-9, np.full(d, 0.5))
    verdict, x, r = cell.decide([0, 2])
    assert verdict == "yes" and x[0] < 0.25 and x[1] < 0.5 and r > 0.05   # moved toward the deep point
    verdict, x, r = cell.decide([0, 1])
    assert verdict == "no" and x is None and sorted(cell.support.tolist()) == [0, 1]


def test_light_frontier_tasks():
    """A task of LP mode in a box is stored as its pattern, the neurons that cut it and a point:
    under 64 (d + hidden neurons) bytes, and it runs to the same regions as before packing."""
    d = 60
    net = random_network([d, 6, 5, 1], seed=12)
    problem = Problem.make(net, Box(0, 1))
    batch, pending, _ = run_task(problem, problem.root_task(), budget_s=0.0)
    assert pending and all(t.cell.A is None for t in pending)
    data = encode_tasks(pending)
    assert len(data) / len(pending) < 64 * (d + net.n_hidden)
    tasks = decode_tasks(data)
    rest = run_task(problem, tasks)[0]
    whole = enumerate_regions(net, Box(0, 1), workers=1)
    got = {tuple(map(bool, p)) for p in np.concatenate([batch.patterns, rest.patterns])}
    assert got == _patterns(whole) and len(batch) + len(rest) == whole.count
    # the rows rebuilt are those the split made, bit for bit, two layers down
    kids, _ = _children(problem, problem.root_task())
    grandkids = [g for k in kids[:3] for g in _children(problem, k)[0]]
    for t in kids + grandkids:
        packed = t.pack()
        assert packed.cell.A is None and packed.cell.c is None
        rebuilt = problem.unpack(packed).cell
        assert np.array_equal(rebuilt.A, t.cell.A) and np.array_equal(rebuilt.c, t.cell.c)
        assert rebuilt.A.shape[0] == int(t.cell.cuts.sum()) and rebuilt.bounds is not None


def test_light_tasks_in_worker_processes_dask_and_a_resumed_run(tmp_path, monkeypatch):
    """Light tasks travel to worker processes and to a Dask cluster, and through a checkpoint
    (a run interrupted after its first regions, then resumed): the same regions every way."""
    from nncells.api import enumerate_to_dir
    from nncells.run.driver import RunInterrupted
    from nncells.results.store import MANIFEST, read_arrays
    from nncells.run.executors import ProcessExecutor
    monkeypatch.setattr(_config, "WARMUP_S", 0.0)  # every task through the executor
    net = random_network([60, 6, 5, 1], seed=13)
    ref = _patterns(enumerate_regions(net, Box(0, 1), workers=1))
    assert _patterns(enumerate_regions(net, Box(0, 1), executor=ProcessExecutor(2, budget_s=0.01))) == ref

    def stop(found, extra):
        if found:
            raise KeyboardInterrupt
    out = tmp_path / "run"
    with pytest.raises(RunInterrupted):
        enumerate_to_dir(net, Box(0, 1), out, executor=ProcessExecutor(2, budget_s=0.01), progress=stop,
                         checkpoint_s=0.01)
    man = json.loads((out / MANIFEST).read_text())
    assert man["frontier"] and not man["finished"]  # light tasks were checkpointed
    s = enumerate_to_dir(net, Box(0, 1), out, workers=2, resume=True)
    got = {tuple(map(bool, p)) for p in read_arrays(out)["patterns"]}
    assert got == ref and s["regions"] == len(ref)
    pytest.importorskip("distributed")
    from nncells.run.executors import DaskExecutor
    assert _patterns(enumerate_regions(net, Box(0, 1), executor=DaskExecutor(local_workers=2, budget_s=0.01))) == ref
