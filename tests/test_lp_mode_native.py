"""The compiled LP mode of a box (native/lp_mode.cpp through `engine.lp_core`) against its numpy
twin (`engine.split._split_by_lps` with `geometry.box_depth`): above ``_config.VERTEX_MAX_DIM``
inputs a box domain's tasks run in the core when the backend is native (`Problem.boxed`).

The two backends implement the same algorithm, so the regions (patterns and ranks), the regions
per layer and the LP counts must agree; every decision path of the core must be used, and each
must be optional (the test-only bits of `nncells.kernels.lp` switch one off: the answer stays the
same). Small networks, with a brute force (tests/oracles.py) where the hidden layers are small."""
import numpy as np
import pytest

from nncells import Box, Network, _config, enumerate_regions, kernels, random_network
from nncells.engine import lp_core, split
from nncells.engine.tasks import Problem, run_task
from nncells.kernels import lp as klp
from nncells.run.frontier import decode_tasks, encode_tasks
from oracles import brute_force_patterns

pytestmark = pytest.mark.skipif(not kernels.native_available(), reason="the compiled core is not built")


def _odd_box(d):
    """A box that is not a cube, off the origin in some coordinates, of widths 0.5 to 3."""
    lo = np.linspace(-2.0, 0.5, d)
    return Box(lo, lo + np.linspace(0.5, 3.0, d))


# (dims, seed, box): 7 to 40 inputs (above VERTEX_MAX_DIM: LP mode), 1 to 3 hidden layers
CASES = [([7, 6, 5, 1], 0, Box(-1, 1)),
         ([9, 8, 4, 1], 1, Box(0, 1)),
         ([12, 6, 6, 1], 2, Box(2, 3)),
         ([20, 5, 5, 1], 3, Box(-1, 1)),
         ([40, 4, 4, 1], 4, Box(0, 1)),
         ([10, 5, 4, 4, 1], 5, Box(-1, 1)),
         ([11, 6, 5, 1], 6, _odd_box(11)),
         ([16, 5, 4, 3, 1], 7, Box(2, 3)),
         ([10, 7, 1], 1, Box(-1, 1)),          # one hidden layer: the root split finishes the regions
         ([12, 1, 3, 1], 1, Box(-1, 1))]       # a layer of one neuron
IDS = [f"{'-'.join(map(str, dims))}-s{seed}" for dims, seed, _ in CASES]


def _delta(before):
    after = lp_core.counts()
    return {k: after.get(k, 0) - before.get(k, 0) for k in after}


def _run(net, box, backend, off=0, monkeypatch=None):
    """``(regions, per_layer, batch, stats, counters)`` of one whole run of ``run_task`` from the
    root: regions as a dict pattern -> ranks (no pattern twice), counters of the core's decisions."""
    if off:
        monkeypatch.setattr(klp, "_OFF", off)
    problem = Problem.make(net, box, backend=backend)
    assert problem.boxed and problem.network.input_dim > _config.VERTEX_MAX_DIM
    assert (lp_core.core_for(problem) is not None) == (backend == "native")
    before = lp_core.counts()
    batch, pending, stats = run_task(problem, problem.root_task())
    counters = _delta(before)
    if off:
        monkeypatch.setattr(klp, "_OFF", 0)
    assert not pending
    regions = {tuple(map(bool, p)): tuple(map(int, r)) for p, r in zip(batch.patterns, batch.ranks)}
    assert len(regions) == len(batch)  # no region twice
    return regions, list(stats.per_layer), batch, stats, counters


def _check_points(net, box, batch):
    """Every point has its pattern in a float64 forward pass and its ball lies in the box."""
    b = box.resolve(net.input_dim)
    assert np.array_equal(net.pattern(batch.points), batch.patterns)
    assert np.all(batch.radii > 0)
    assert np.all(batch.points - b.lo >= batch.radii[:, None]) and np.all(b.hi - batch.points >= batch.radii[:, None])


# ----------------------------------------------------------------------------- 1. parity
@pytest.mark.parametrize("dims,seed,box", CASES, ids=IDS)
def test_native_equals_numpy(dims, seed, box):
    net = random_network(dims, seed=seed)
    got, per_layer, batch, _, counters = _run(net, box, "native")
    ref, ref_per_layer, ref_batch, _, ref_counters = _run(net, box, "numpy")
    assert counters["lp_solves"] > 0 or counters["by_ball"] > 0   # the core ran the split
    assert not any(ref_counters.values())                         # ... and numpy did not use it
    assert got == ref
    assert per_layer == ref_per_layer
    assert per_layer[-1] == len(got)
    _check_points(net, box, batch)
    _check_points(net, box, ref_batch)


# ------------------------------------------------------------------------ 2. scaled networks
def _input_scaled(net, box, s):
    """The first layer's weights times ``s``, the box over ``s``: the same function of the box."""
    b = box.resolve(net.input_dim)
    return Network([net.weights[0] * s] + list(net.weights[1:]), list(net.biases)), Box(b.lo / s, b.hi / s)


def _layer_scaled(net, layer, c):
    """Hidden layer ``layer``'s weights and biases times ``c`` > 0 (the next layer's weights over
    ``c``, so that the function stays the same): its pre-activations only change scale."""
    W, b = list(net.weights), list(net.biases)
    W[layer], b[layer] = W[layer] * c, b[layer] * c
    W[layer + 1] = W[layer + 1] / c
    return Network(W, b)


SCALED = [([9, 6, 5, 1], 7, Box(-1, 1)), ([12, 6, 4, 1], 8, Box(0, 1)), ([10, 4, 4, 3, 1], 9, Box(-1, 1))]


@pytest.mark.parametrize("dims,seed,box", SCALED, ids=[f"{'-'.join(map(str, d))}" for d, _, _ in SCALED])
def test_scaled_networks_have_the_same_regions(dims, seed, box):
    net = random_network(dims, seed=seed)
    base, base_layers = _run(net, box, "native")[:2]
    assert len(base) > 10
    for s in (1e-3, 1e3):
        scaled_net, scaled_box = _input_scaled(net, box, s)
        got, _, batch = _run(scaled_net, scaled_box, "native")[:3]
        assert got == base, f"inputs scaled by {s}"
        _check_points(scaled_net, scaled_box, batch)
    for layer in range(len(dims) - 2):
        for c in (1e-3, 37.0, 1e4):
            got, layers = _run(_layer_scaled(net, layer, c), box, "native")[:2]
            assert got == base and layers == base_layers, f"hidden layer {layer} scaled by {c}"
    # the last hidden layer alone (nothing after it but the output): its signs cannot change
    W, b = list(net.weights), list(net.biases)
    W[-2], b[-2] = W[-2] * 1e5, b[-2] * 1e5
    assert _run(Network(W, b), box, "native")[0] == base


# ----------------------------------------------------------------------- 3. degenerate networks
def _degenerate(d, seed):
    """In [-1, 1]^d: a duplicated neuron, a zero row (constant 0: inactive), a neuron that misses
    the box, one whose hyperplane only touches the box at its corner (1, ..., 1), one through that
    corner and cutting the box; in the second layer a duplicate and a neuron equal to a first-layer
    unit's output (its hyperplane is that unit's, a face of the region: constant 0 on the other
    side). 10 hidden neurons."""
    rng = np.random.default_rng(seed)
    W1, b1 = rng.normal(size=(6, d)), rng.normal(size=6)
    W1[1], b1[1] = W1[0], b1[0]                     # duplicate
    W1[2], b1[2] = 0.0, 0.0                         # zero row
    b1[3] = -(np.abs(W1[3]).sum() + 1.0)            # misses the box (inactive everywhere)
    W1[4], b1[4] = 1.0, -float(d)                   # sum(x) = d: touches the corner only
    b1[5] = -W1[5].sum()                            # through the corner (1, ..., 1), cutting
    W2, b2 = rng.normal(size=(4, 6)), rng.normal(size=4)
    W2[1], b2[1] = W2[0], b2[0]                     # duplicate
    W2[2], b2[2] = np.eye(6)[5], 0.0                # = relu(h_5): the hyperplane h_5 = 0 again
    return Network([W1, W2, rng.normal(size=(1, 4))], [b1, b2, np.zeros(1)])


def _faces(d, seed):
    """In [0, 1]^d: hyperplanes on the box's faces (x1 = 0, x2 = 1), through a corner only
    (sum x = 0), along an edge (x1 = x2), and inward-facing on a face (-x3 = 0: never active);
    the second layer: a face again (x1 = 0.5 through the first unit) and random ones."""
    rng = np.random.default_rng(seed)
    E = np.eye(d)
    W1 = np.vstack([E[0], E[1], np.ones(d), E[0] - E[1], -E[2], rng.normal(size=d)])
    b1 = np.array([0.0, -1.0, 0.0, 0.0, 0.0, 0.3])
    W2, b2 = rng.normal(size=(4, 6)), rng.normal(size=4)
    W2[0], b2[0] = np.eye(6)[0], -0.5              # relu(x1) - 0.5: x1 = 0.5 where x1 > 0
    return Network([W1, W2, rng.normal(size=(1, 4))], [b1, b2, np.zeros(1)])


def _residual(d, seed):
    """A residual-like network: ``x`` carried by ``d`` linear units across two hidden layers,
    3 ReLU units in each of the three hidden layers (9 ReLU units), the last reading ``x`` and
    both ReLU layers."""
    rng = np.random.default_rng(seed)
    A1, a1 = rng.normal(size=(3, d)), rng.normal(size=3)
    W1, b1 = np.vstack([A1, np.eye(d)]), np.r_[a1, np.zeros(d)]
    A2 = rng.normal(size=(3, 3 + d))
    W2 = np.vstack([A2, np.hstack([np.zeros((d, 3)), np.eye(d)])])
    b2 = np.r_[rng.normal(size=3), np.zeros(d)]
    W3, b3 = rng.normal(size=(3, 3 + d)), rng.normal(size=3)
    lin = np.r_[np.zeros(3, bool), np.ones(d, bool)]
    return Network([W1, W2, W3, rng.normal(size=(1, 3))], [b1, b2, b3, np.zeros(1)],
                   linear=[lin, lin, np.zeros(3, bool)])


DEGENERATE = [("degenerate-8", lambda: _degenerate(8, 0), Box(-1, 1)),
              ("degenerate-16", lambda: _degenerate(16, 1), Box(-1, 1)),
              ("faces-8", lambda: _faces(8, 2), Box(0, 1)),
              ("faces-20", lambda: _faces(20, 3), Box(0, 1)),
              ("residual-8", lambda: _residual(8, 4), Box(-1, 1)),
              ("residual-14", lambda: _residual(14, 5), Box(-1, 1))]


@pytest.mark.parametrize("name,make,box", DEGENERATE, ids=[n for n, _, _ in DEGENERATE])
def test_degenerate_networks(name, make, box):
    net = make()
    d = net.input_dim
    got, per_layer, batch, _, _ = _run(net, box, "native")
    ref, ref_per_layer = _run(net, box, "numpy")[:2]
    assert got == ref and per_layer == ref_per_layer
    _check_points(net, box, batch)
    if net.linear_mask.any():
        assert batch.patterns[:, net.linear_mask].all()
    relu = int((~net.linear_mask).sum())
    if relu <= 10 and d <= 8:
        oracle = brute_force_patterns(net, *box.resolve(d).halfspaces())
        assert set(got) == oracle


# -------------------------------------------------------------------- 4. budget and pending
def _same_task(a, b):
    assert a.layer == b.layer and a.ranks == b.ranks and a.partial is None and b.partial is None
    assert np.array_equal(a.pattern, b.pattern) and np.array_equal(a.cell.cuts, b.cell.cuts)
    assert np.array_equal(a.cell.point, b.cell.point) and a.cell.radius == b.cell.radius
    assert (a.cell.basis is None) == (b.cell.basis is None)   # the warm start travels with the task
    assert a.cell.basis is None or (np.array_equal(a.cell.basis, b.cell.basis) and b.cell.basis.dtype == np.int8)


@pytest.mark.parametrize("off", [0, klp.OFF_WITNESS], ids=["plain", "with-deferred-splits"])
@pytest.mark.parametrize("dims,seed,box", [([9, 6, 5, 1], 11, Box(-1, 1)), ([12, 4, 4, 3, 1], 12, Box(0, 1))],
                         ids=["9-6-5-1", "12-4-4-3-1"])
def test_budget_zero_hands_back_light_tasks_that_finish_the_run(monkeypatch, dims, seed, box, off):
    """With no time at all every call does one step and hands back the rest; rerun one by one
    (through a frontier's bytes) they give exactly the whole run's regions, each once. With
    OFF_WITNESS most splits are deferred to numpy between the core's steps."""
    net = random_network(dims, seed=seed)
    plain = _run(net, box, "native")[0]
    monkeypatch.setattr(klp, "_OFF", off)
    whole, whole_layers, whole_batch = _run(net, box, "native")[:3]   # the same bits: the same points
    assert whole == plain
    problem = Problem.make(net, box, backend="native")
    before = lp_core.counts()
    batch, pending, stats = run_task(problem, problem.root_task(), budget_s=0.0)
    assert pending and all(t.cell.A is None and t.cell.cuts is not None for t in pending)
    assert off or any(t.cell.basis is not None for t in pending)  # (a deferred root split's children have none)
    found = [batch]
    per_layer = np.array(stats.per_layer)
    calls = 1
    while pending:
        decoded = decode_tasks(encode_tasks(pending))
        assert len(decoded) == len(pending)
        for a, b in zip(pending, decoded):
            _same_task(a, b)
        pending = []
        i = 0
        while i < len(decoded):  # one at a time, and every third call two together
            group = decoded[i:i + (2 if calls % 3 == 2 else 1)]
            i += len(group)
            b, more, st = run_task(problem, group if len(group) > 1 else group[0], budget_s=0.0)
            calls += 1
            found.append(b)
            pending += more
            per_layer += np.array(st.per_layer)
            assert all(m.cell.A is None for m in more)
        assert calls < 20 * (sum(whole_layers) + 1)
    counters = _delta(before)
    assert calls > 3
    assert (counters["deferred"] > 0) == bool(off)
    patterns = np.concatenate([b.patterns for b in found])
    ranks = np.concatenate([b.ranks for b in found])
    got = [tuple(map(bool, p)) for p in patterns]
    assert len(got) == len(set(got)) == len(whole)      # no region twice, none missing
    assert dict(zip(got, (tuple(map(int, r)) for r in ranks))) == whole
    assert per_layer.tolist() == whole_layers
    for b in found:
        _check_points(net, box, b)
    # a task's split starts from its own ball only and its rows are rebuilt bit for bit from its
    # pattern: the points do not depend on where the budget cut the run
    points = np.concatenate([b.points for b in found])
    radii = np.concatenate([b.radii for b in found])
    at = {p: i for i, p in enumerate(got)}
    order = [at[tuple(map(bool, p))] for p in whole_batch.patterns]
    assert np.array_equal(points[order], whole_batch.points) and np.array_equal(radii[order], whole_batch.radii)


# ---------------------------------------------------------------------- 5. decision paths
PATHS_NET = ([10, 8, 6, 1], 3, Box(-1, 1))


@pytest.fixture(scope="module")
def paths_base():
    dims, seed, box = PATHS_NET
    net = random_network(dims, seed=seed)
    return net, box, _run(net, box, "native")


def test_every_decision_path_is_used(paths_base):
    net, box, (regions, per_layer, batch, stats, c) = paths_base
    for key in ("lp_yes", "lp_no", "by_ball", "by_ray", "by_certificate"):
        assert c[key] > 0, key
    assert c["deferred"] == 0
    assert stats.lp_fallbacks == 0
    # no deferral: every LP of a split gave yes or no; the others gave a finished region near
    # the borderline a deeper point
    assert c["lp_solves"] == c["lp_yes"] + c["lp_no"] + c["recentred"]


@pytest.mark.parametrize("bit,counter", [(klp.OFF_BALLS, "by_ball"), (klp.OFF_RAYS, "by_ray"),
                                         (klp.OFF_CERTIFICATES, "by_certificate")],
                         ids=["balls", "rays", "certificates"])
def test_each_shortcut_is_optional(monkeypatch, paths_base, bit, counter):
    net, box, (regions, per_layer, _, _, base) = paths_base
    got, layers, batch, _, c = _run(net, box, "native", off=bit, monkeypatch=monkeypatch)
    assert c[counter] == 0 < base[counter]
    assert got == regions and layers == per_layer
    _check_points(net, box, batch)


@pytest.mark.parametrize("bit,counter", [(klp.OFF_WITNESS, "lp_yes"), (klp.OFF_FARKAS, "lp_no")],
                         ids=["witness", "farkas"])
def test_unverified_answers_are_deferred(monkeypatch, paths_base, bit, counter):
    """Without the check of a "yes" (witness) or of a "no" (Farkas bound) the core cannot settle
    such a side: it defers the split to the numpy twin, and the answer is the same."""
    net, box, (regions, per_layer, _, _, base) = paths_base
    got, layers, batch, stats, c = _run(net, box, "native", off=bit, monkeypatch=monkeypatch)
    assert c["deferred"] > 0 and c[counter] == 0
    assert got == regions and layers == per_layer
    assert stats.lp_fallbacks == 0  # the numpy twin's own checks are on
    _check_points(net, box, batch)


def test_refuting_lps_stop_at_their_cutoff(monkeypatch, paths_base):
    """An LP that ends in a "no" stops once its dual bound is below 0: never stopping there
    (OFF_CUTOFF) gives the same regions and decisions in more simplex iterations."""
    net, box, (regions, per_layer, _, _, base) = paths_base
    got, layers, batch, _, c = _run(net, box, "native", off=klp.OFF_CUTOFF, monkeypatch=monkeypatch)
    assert got == regions and layers == per_layer
    assert c["lp_no"] > 0 and c["deferred"] == 0
    assert c["iterations"] > base["iterations"]


def test_unverified_cutoffs_run_on(monkeypatch, paths_base):
    """Where the certificate of an LP stopped at its cutoff does not verify (OFF_CUTOFF_PROOF),
    the same LP runs on to its optimum and refutes the side there: no split is deferred, no LP
    is added, and the answer is the same."""
    net, box, (regions, per_layer, _, _, base) = paths_base
    got, layers, batch, stats, c = _run(net, box, "native", off=klp.OFF_CUTOFF_PROOF, monkeypatch=monkeypatch)
    assert got == regions and layers == per_layer
    assert c["deferred"] == 0 and c["lp_no"] > 0
    assert c["lp_solves"] == c["lp_yes"] + c["lp_no"] + c["recentred"]
    assert c["iterations"] > base["iterations"]
    _check_points(net, box, batch)


# ------------------------------------------------------------------------- 6. LP counts
@pytest.mark.parametrize("dims,seed,box", CASES, ids=IDS)
def test_lp_count_matches_numpy(dims, seed, box):
    net = random_network(dims, seed=seed)
    native = enumerate_regions(net, box, workers=1, backend="native")
    numpy_ = enumerate_regions(net, box, workers=1, backend="numpy")
    assert native.count == numpy_.count
    n, r = native.summary()["lp_solves"], numpy_.summary()["lp_solves"]
    assert r > 0 and abs(n - r) <= 0.15 * r, (n, r)


# The target of docs/benchmarks.md (at most 1.5 LP solves per region) is for the benchmark's
# networks: small networks of few regions per cell need more (the numpy twin as much).
PER_REGION = [pytest.param([8, 10, 6, 1], 0, Box(-1, 1), id="8-10-6-1-s0"),
              pytest.param([10, 8, 6, 1], 3, Box(-1, 1), id="10-8-6-1-s3")]


@pytest.mark.parametrize("dims,seed,box", PER_REGION)
def test_lp_solves_per_region(dims, seed, box):
    net = random_network(dims, seed=seed)
    native = enumerate_regions(net, box, workers=1, backend="native")
    n = native.summary()["lp_solves"]
    assert 0 < n <= 1.5 * native.count, f"{n} LP solves for {native.count} regions"


def test_an_infinite_budget_finishes_every_task_in_one_call():
    """``budget_s = inf`` (`run_task`'s default) must run the core to the end: the clock's integer
    ticks once overflowed into the past, and every call then did one step and handed the rest back
    (quadratic in the tasks: 89 s instead of 5 for one cell of 784-12-12-3-10)."""
    net = random_network([9, 6, 5, 3, 1], seed=13)
    problem = Problem.make(net, Box(-1, 1), backend="native")
    core = lp_core.core_for(problem)
    P, X, r, ranks, per_layer, pending, deferred, c = klp.refine(
        core.net, core.tol, core.lo, core.hi, [lp_core._to_tuple(problem.root_task())], float("inf"))
    assert pending == [] and deferred == []
    assert len(P) == per_layer[-1] > 1 and len(P) == len(_run(net, Box(-1, 1), "numpy")[0])


# ------------------------------------------------------------------ 7. ranks from the patterns
def _dependent_second_layer(d, seed):
    """A first layer of full row rank (6 of ``d`` inputs); in the second a duplicate neuron, one
    parallel to another (twice its weights, another bias) and one that reads a single unit: where
    they are active together (or that unit is off) the pattern's small matrix is rank-deficient."""
    rng = np.random.default_rng(seed)
    W1, b1 = rng.normal(size=(6, d)), rng.normal(size=6)
    W2, b2 = rng.normal(size=(5, 6)), rng.normal(size=5)
    W2[1], b2[1] = W2[0], b2[0]
    W2[2], b2[2] = 2.0 * W2[3], b2[3] + 0.5
    W2[4], b2[4] = np.eye(6)[0], -0.1
    return Network([W1, W2, rng.normal(size=(1, 5))], [b1, b2, np.zeros(1)])


RANKED = CASES[:8] + [([10, 6, 5, 1], 11, "dependent"), ([8, 10, 6, 1], 0, Box(-1, 1))]


@pytest.mark.parametrize("dims,seed,box", RANKED, ids=[f"{'-'.join(map(str, d))}-s{s}" for d, s, _ in RANKED])
def test_ranks_from_patterns_equal_the_maps_own(monkeypatch, dims, seed, box):
    """The rank of a region's map read from the pattern's small matrix (native/lp_ranks.hpp) is
    the rank of the k x d map itself (OFF_REDUCED_RANKS) and the numpy twin's: where a first layer
    of full row rank makes it decidable (every kid's rank, unless the small matrix is nearly
    rank-deficient, as after a layer with fewer active units than those around it: then the map's
    own), never where the first layer is wider than the input."""
    dependent = box == "dependent"
    if dependent:
        net, box = _dependent_second_layer(dims[0], seed), Box(-1, 1)
    else:
        net = random_network(dims, seed=seed)
    got, per_layer, _, _, c = _run(net, box, "native")
    full, full_layers, _, _, c_full = _run(net, box, "native", off=klp.OFF_REDUCED_RANKS, monkeypatch=monkeypatch)
    ref = _run(net, box, "numpy")[0]
    assert got == full == ref and per_layer == full_layers
    assert c_full["ranks_reduced"] == 0
    kids = sum(per_layer)
    if dims[1] > dims[0]:  # a first layer wider than the input: never from the pattern
        assert c["ranks_reduced"] == 0
    elif dependent:  # some kids' small matrices are deficient
        assert 0 < c["ranks_reduced"] < kids
        assert any(r[-1] < min(sum(p[:6]), sum(p[6:11])) for p, r in got.items())  # a deficient rank, found
    elif len(dims) == 4:  # two hidden layers of random weights: every kid's
        assert c["ranks_reduced"] == kids
    else:  # deeper: a layer with fewer active units than those around it makes X deficient
        assert 0 < c["ranks_reduced"] <= kids


# ------------------------------------------------------------- 8. the AVX2 loops, bit for bit
@pytest.mark.parametrize("dims,seed,box", [([40, 4, 4, 1], 4, Box(0, 1)), ([64, 5, 5, 1], 12, _odd_box(64)),
                                            ([256, 7, 7, 1], 1, Box(0, 1))],
                         ids=["40-4-4-1", "64-5-5-1-odd", "256-7-7-1-mixing"])
def test_avx2_loops_give_the_same_bits(dims, seed, box):
    """The AVX2 builds of the widest loops (native/simd.hpp: dot products, the certified margin,
    the simplex's rows of B^-1 A, the mixtures' pricing from 256 inputs) compute the same
    products, sums and maxima as the plain loops: the same regions, the same points and radii to
    the last bit, the same LPs, iterations and mixtures."""
    from nncells.kernels import _native
    net = random_network(dims, seed=seed)
    was = _native.set_avx2(True)
    try:
        fast = _run(net, box, "native")
        _native.set_avx2(False)
        plain = _run(net, box, "native")
    finally:
        _native.set_avx2(was)
    assert fast[0] == plain[0] and fast[1] == plain[1]
    for a, b in ((fast[2], plain[2]),):
        assert np.array_equal(a.patterns, b.patterns)
        assert np.array_equal(a.points, b.points) and np.array_equal(a.radii, b.radii)
    for key in ("lp_solves", "iterations", "by_ray", "by_ball", "by_mix", "mixes", "by_certificate"):
        assert fast[4][key] == plain[4][key], key
    if dims[0] >= split._MIX_DIM:
        assert fast[4]["by_mix"] > 0
    _check_points(net, box, fast[2])


# ----------------------------------------------------------- 9. mixtures of witness balls
# From 256 inputs (split._MIX_DIM) a side no ray proved is tried with the best mixture of all
# the split's witness balls before an LP (LpSplitter::mix, geometry.witness_balls.mix_witness).
MIX_NET = ([256, 6, 6, 1], 1, Box(0, 1))


@pytest.fixture(scope="module")
def mix_base():
    dims, seed, box = MIX_NET
    net = random_network(dims, seed=seed)
    return net, box, _run(net, box, "native")


def test_mixtures_prove_sides_without_lps(monkeypatch, mix_base):
    """Mixtures prove sides (each one a certified point: the points are checked), and are
    optional: switched off (OFF_MIX), the same regions take more LPs."""
    net, box, (regions, per_layer, batch, _, base) = mix_base
    assert base["by_mix"] > 0 and base["mixes"] >= base["by_mix"]
    _check_points(net, box, batch)
    got, layers, plain_batch, _, c = _run(net, box, "native", off=klp.OFF_MIX, monkeypatch=monkeypatch)
    assert c["by_mix"] == 0 and c["mixes"] == 0
    assert got == regions and layers == per_layer
    assert c["lp_solves"] > base["lp_solves"]
    _check_points(net, box, plain_batch)


def test_the_twin_mixes_as_the_core_does(monkeypatch, mix_base):
    """The numpy twin tries the same mixtures: its LP count is the core's (to the parity test's
    margin); without them it needs more LPs for the same regions."""
    net, box, (regions, per_layer, _, _, base) = mix_base
    ref, ref_layers, _, ref_stats, _ = _run(net, box, "numpy")
    assert ref == regions and ref_layers == per_layer
    assert abs(ref_stats.lp_solves - base["lp_solves"]) <= 0.15 * base["lp_solves"]
    monkeypatch.setattr(split, "mix_witness", lambda *a: (None, -np.inf))
    plain, plain_layers, plain_batch, plain_stats, _ = _run(net, box, "numpy")
    assert plain == regions and plain_layers == per_layer
    assert plain_stats.lp_solves > ref_stats.lp_solves
    _check_points(net, box, plain_batch)
