"""The compiled core against its numpy twin and the oracles (issue: a compiled core).

The compiled core (`nncells.kernels`, sources in native/) is the default engine for vertex mode;
the numpy code is its reference. Both must give identical pattern sets, per-layer counts and
ranks on every test network, and the core alone must agree with the brute-force oracles.
"""
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nncells import Box, Network, Polytope, Space, _config, enumerate_regions, kernels, random_network
from nncells.engine.tasks import Problem, run_task
from nncells.errors import NNCellsError
from oracles import brute_force_contract, patterns_set

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


def test_the_core_is_built_and_is_the_default():
    """CI builds the core from source: a test environment without it fails here."""
    assert kernels.native_available()
    assert kernels.backend() == "native"


def test_backend_names(monkeypatch):
    assert kernels.backend("numpy") == "numpy"
    with pytest.raises(NNCellsError, match="unknown backend"):
        kernels.backend("gpu")
    monkeypatch.setenv("NNCELLS_BACKEND", "numpy")
    assert kernels.backend() == "numpy"


def _run(net, domain, backend, monkeypatch, tol=None):
    monkeypatch.setattr(_config, "BACKEND", backend)
    return enumerate_regions(net, domain, workers=1, tol=tol)


def _same(net, domain, monkeypatch, tol=None):
    a = _run(net, domain, "native", monkeypatch, tol)
    b = _run(net, domain, "numpy", monkeypatch, tol)
    assert patterns_set(a) == patterns_set(b)
    assert len(a) == len(patterns_set(a))
    assert a.summary()["per_layer"] == b.summary()["per_layer"]
    ka = {p.tobytes(): tuple(r) for p, r in zip(a.patterns, a.ranks)}
    kb = {p.tobytes(): tuple(r) for p, r in zip(b.patterns, b.ranks)}
    assert ka == kb
    # every point of the core's regions has its pattern in a float64 forward pass
    if len(a):
        assert np.array_equal(net.pattern(a.points), a.patterns)
    return a


def _box(d, r=1.0):
    return Box(-r * np.ones(d), r * np.ones(d))


@pytest.mark.parametrize("dims", [[3, 8, 8, 1], [4, 10, 10, 1], [3, 6, 6, 6, 1], [5, 8, 6, 1], [6, 7, 5, 1]])
def test_parity_in_a_box(dims, monkeypatch):
    a = _same(random_network(dims, seed=1), _box(dims[0]), monkeypatch)
    assert len(a) > 1


@pytest.mark.parametrize("dims", [[2, 12, 12, 1], [3, 8, 8, 1], [4, 6, 6, 1], [5, 5, 5, 1]])
def test_parity_in_the_whole_space(dims, monkeypatch):
    """The lifted whole space runs in the core too (cells one dimension up, judged in x-space)."""
    _same(random_network(dims, seed=2), Space(dims[0]), monkeypatch)


def test_parity_in_a_polytope(monkeypatch):
    A = np.array([[1.0, 1, 1], [-1, 0, 0], [0, -1, 0], [0, 0, -1], [1, -2, 0.5]])
    b = np.array([1.0, 0.5, 0.5, 0.5, 1.0])
    _same(random_network([3, 9, 9, 1], seed=3), Polytope(A, b), monkeypatch)


@pytest.mark.parametrize("kind", ["duplicated", "zero", "dead", "origin", "scaled"])
def test_parity_on_degenerate_networks(kind, monkeypatch):
    net = random_network([3, 8, 8, 1], seed=4)
    Ws, bs = [W.copy() for W in net.weights], [b.copy() for b in net.biases]
    if kind == "duplicated":
        Ws[0][-1], bs[0][-1] = Ws[0][0], bs[0][0]
        Ws[1][-1], bs[1][-1] = Ws[1][0], bs[1][0]
    elif kind == "zero":
        Ws[0][-1] = 0.0
    elif kind == "dead":
        Ws[0][-1], bs[0][-1] = 0.0, -1.0
    elif kind == "origin":
        bs[0][:] = 0.0
        bs[1][:] = 0.0
    elif kind == "scaled":
        Ws, bs = [W * 1e3 for W in Ws], [b * 1e3 ** (i + 1) for i, b in enumerate(bs)]
    _same(Network(Ws, bs), _box(3), monkeypatch)


def test_parity_with_deferred_splits(monkeypatch):
    """A coarse tolerance makes many children fail their centroid witness: the core hands those
    splits to the numpy split (an LP decides) and takes their children back."""
    net = random_network([3, 10, 10, 1], seed=5)
    a = _same(net, _box(3), monkeypatch, tol=0.02)
    b = _run(net, _box(3), "native", monkeypatch, tol=0.02)
    assert b.summary()["lp_solves"] > 0 and len(a) > 1


@given(seed=st.integers(0, 10 ** 6), d=st.integers(2, 4), w=st.integers(2, 5),
       scale=st.sampled_from([1e-4, 1.0, 1e4]), whole=st.booleans())
@SETTINGS
def test_core_equals_the_contract_oracle(seed, d, w, scale, whole):
    """The core alone against the independent oracle (every pattern, one LP each), in any units:
    every pattern with a clear margin is listed, nothing clearly absent is."""
    assert kernels.backend() == "native"
    net = random_network([d, w, 3, 1], seed=seed)
    net = Network([net.weights[0] / scale] + list(net.weights[1:]), list(net.biases))
    dom = Space(d) if whole else _box(d, 2 * scale)
    A, b = dom.halfspaces()
    margins = brute_force_contract(net, A, b, 1e-9)
    got = patterns_set(enumerate_regions(net, dom, workers=1))
    assert {p for p, m in margins.items() if m > 1e-7} <= got
    assert all(margins[p] > -1e-9 for p in got)


def test_budget_hands_back_pending_tasks_that_resume_exactly(monkeypatch):
    """With a zero budget a task still makes progress (the core processes a few cells) and hands
    the rest back; running the pending tasks again until none is left gives exactly the regions
    of one uninterrupted run."""
    monkeypatch.setattr(_config, "BACKEND", "native")
    net = random_network([3, 8, 8, 1], seed=6)
    problem = Problem.make(net, _box(3))
    whole, pending, _ = run_task(problem, problem.root_task())
    assert pending == []
    parts, todo, rounds = [], [problem.root_task()], 0
    while todo and rounds < 10_000:
        batch, todo, _ = run_task(problem, todo, 0.0)
        parts.append(batch.patterns)
        rounds += 1
    assert rounds > 2
    pats = np.concatenate(parts)
    assert len(pats) == len(whole)
    assert {p.tobytes() for p in pats} == {p.tobytes() for p in whole.patterns}


def test_missing_compiler_is_one_clear_line(tmp_path):
    """Configuring the core without a C++ compiler stops with one line saying what to install."""
    import shutil
    cmake = shutil.which("cmake")
    if cmake is None:
        pytest.skip("cmake is not installed")
    nanobind = pytest.importorskip("nanobind")  # in the test extra: the build's own tool
    env = {"PATH": "/usr/bin:/bin", "CXX": "/nonexistent/c++"}
    out = subprocess.run([cmake, "-S", "native", "-B", str(tmp_path / "b"),
                          f"-DPython_EXECUTABLE={sys.executable}", f"-Dnanobind_DIR={nanobind.cmake_dir()}"],
                         capture_output=True, text=True, env=env)
    assert out.returncode != 0
    assert "nncells needs a C++17 compiler" in out.stderr and "install g++" in out.stderr


def test_backend_is_an_argument_and_is_reported(tmp_path):
    net = random_network([3, 6, 6, 1], seed=7)
    a = enumerate_regions(net, _box(3), workers=1, backend="numpy")
    b = enumerate_regions(net, _box(3), workers=1, backend="native")
    assert a.summary()["backend"] == "numpy" and b.summary()["backend"] == "native"
    assert patterns_set(a) == patterns_set(b)
    with pytest.raises(NNCellsError, match="unknown backend"):
        enumerate_regions(net, _box(3), workers=1, backend="gpu")


def test_cli_backend_option(tmp_path):
    import json
    net = random_network([3, 6, 6, 1], seed=7)
    path = tmp_path / "net.npz"
    net.to_npz(path)
    counts = {}
    for be in ("native", "numpy"):
        out = subprocess.run([sys.executable, "-m", "nncells", "enumerate", str(path), "--box", "-1", "1",
                              "--backend", be, "--workers", "1", "--json", "--quiet"],
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        s = json.loads(out.stdout)
        assert s["backend"] == be
        counts[be] = s["regions"]
    assert counts["native"] == counts["numpy"]
    bad = subprocess.run([sys.executable, "-m", "nncells", "enumerate", str(path), "--box", "-1", "1",
                          "--backend", "gpu"], capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
