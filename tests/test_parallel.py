"""Executors, dynamic splitting, streaming, checkpoint/resume and fault tolerance."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np

from nncells import _config
import pytest

from nncells import Box, Network, Space, enumerate_regions, random_network
from nncells.run.executors import ProcessExecutor, SerialExecutor
from nncells.api import count_regions, enumerate_to_dir
from nncells.results.store import MANIFEST, read_arrays
from oracles import patterns_set

@pytest.fixture(autouse=True)
def no_warmup(monkeypatch):
    """Send every task to the executor (normally small problems finish before workers start)."""
    monkeypatch.setattr(_config, "WARMUP_S", 0.0)


NETS = [
    (random_network([3, 10, 8, 1], seed=1), Box(-1, 1)),
    (random_network([5, 8, 6, 1], seed=2), Box(-1, 1)),
    (random_network([2, 6, 5, 4, 1], seed=3), Space()),
]


def _unbalanced_network():
    """One first-layer cell holds almost all regions: the first layer is a neuron cutting a thin
    slab (x0 > 0.95) off the box and three neurons that are on over the whole box (x_i + 5);
    the deeper layers then cut the big cell into many regions."""
    rng = np.random.default_rng(0)
    W0 = np.vstack([[1.0, 0.0, 0.0], np.eye(3)])
    b0 = np.array([-0.95, 5.0, 5.0, 5.0])
    W1 = rng.normal(size=(14, 4))
    b1 = -W1[:, 1:] @ np.full(3, 5.0) + rng.normal(size=14) * 0.3  # undo the +5 shift
    return Network([W0, W1, rng.normal(size=(10, 14)), rng.normal(size=(1, 10))],
                   [b0, b1, rng.normal(size=10) * 0.3, np.zeros(1)])


@pytest.mark.parametrize("net,domain", NETS)
def test_same_regions_for_every_executor(net, domain):
    ref = enumerate_regions(net, domain, workers=1)
    for make in (lambda: SerialExecutor(budget_s=0.01), lambda: ProcessExecutor(1, budget_s=0.01),
                 lambda: ProcessExecutor(2, budget_s=0.01)):
        res = enumerate_regions(net, domain, executor=make())
        assert np.array_equal(res.patterns, ref.patterns)
        assert res.per_layer == ref.per_layer
    assert count_regions(net, domain, workers=2)["regions"] == ref.count


def test_dask_local_cluster_same_regions():
    pytest.importorskip("distributed")
    from nncells.run.executors import DaskExecutor
    net, domain = NETS[0]
    ref = enumerate_regions(net, domain, workers=1)
    res = enumerate_regions(net, domain, executor=DaskExecutor(local_workers=2, budget_s=0.01))
    assert np.array_equal(res.patterns, ref.patterns)
    assert res.info.executor == "dask"


@pytest.mark.parametrize("backend", ["numpy", "native"])
def test_unbalanced_first_layer_still_uses_both_workers(backend):
    """A task hands its unexplored cells back at its budget, so the second worker gets work. A
    budget of 0 hands them back after the first step (the core's first 16 cells), whatever the
    machine's speed, so the one big first-layer cell is shared out."""
    net = _unbalanced_network()
    res0 = enumerate_regions(net, Box(-1, 1), workers=1)
    # almost all regions are in one first-layer cell
    first = res0.layer_ids(0)
    assert np.bincount(first).max() >= 0.9 * res0.count
    res = enumerate_regions(net, Box(-1, 1), executor=ProcessExecutor(2, budget_s=0.0), backend=backend)
    assert np.array_equal(res.patterns, res0.patterns)
    workers = {pid: n for pid, n in res.info.stats.by_worker.items() if pid != os.getpid()}
    assert len(workers) == 2 and min(workers.values()) > 0


def test_killed_worker_loses_nothing(monkeypatch, tmp_path):
    """The first task a worker starts SIGKILLs that worker from inside (the worker that creates
    the marker file first: exactly one, whatever the timing); its tasks are run again elsewhere."""
    from nncells.run import executors
    net, domain = NETS[0]
    ref = enumerate_regions(net, domain, workers=1)
    marker = tmp_path / "killed"
    real = executors.run_task

    def run_task(problem, task, budget_s):
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return real(problem, task, budget_s)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(executors, "run_task", run_task)
    ex = ProcessExecutor(2, budget_s=0.005)
    res = enumerate_regions(net, domain, executor=ex)
    killed = int(marker.read_text())
    assert killed != os.getpid() and killed not in res.info.stats.by_worker  # a worker, with no result
    assert sum(ex.failures.counts.values()) == 1  # one worker lost, its tasks submitted again
    assert np.array_equal(res.patterns, ref.patterns)
    assert res.per_layer == ref.per_layer


def test_task_that_keeps_killing_workers_is_reported(monkeypatch):
    from nncells.run import executors
    from nncells.errors import NNCellsError

    def crash(problem, task, budget_s):
        os._exit(9)

    monkeypatch.setattr(executors, "run_task", crash)
    net, domain = NETS[0]
    with pytest.raises(NNCellsError, match="killed a worker 3 times"):
        enumerate_regions(net, domain, executor=ProcessExecutor(2, budget_s=0.001))


def test_streaming_shards_equal_in_memory(tmp_path):
    net, domain = NETS[1]
    ref = enumerate_regions(net, domain, workers=1)
    summary = enumerate_to_dir(net, domain, tmp_path / "run", workers=2, checkpoint_s=0.05)
    got = read_arrays(tmp_path / "run")
    assert summary["regions"] == ref.count == len(got["patterns"])
    assert patterns_set(ref) == {tuple(p) for p in got["patterns"]}
    assert got["meta"]["finished"] and got["meta"]["frontier"] is None
    assert not list((tmp_path / "run").glob("*frontier-*"))
    assert {f.name[0] for f in (tmp_path / "run").iterdir() if not f.name.startswith("shard-")} == {"_"}


def _cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "nncells", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_kill_driver_and_resume(tmp_path):
    """The first run uses the (slow) numpy backend so that it is still running at its first
    checkpoints; the resumed run uses the compiled core: the frontier is the same either way."""
    net = random_network([4, 20, 16, 1], seed=5)
    model = tmp_path / "m.npz"
    net.to_npz(model)
    ref = enumerate_regions(net, Box(-1, 1), workers=1)
    out = tmp_path / "run"
    p = _cli("enumerate", str(model), "--box", "-1", "1", "--out", str(out), "--workers", "2",
             "--checkpoint-every", "0.1", "--method", "cells", "--backend", "numpy")
    # wait for a checkpoint with work left, then kill -9 the driver
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            man = json.loads((out / MANIFEST).read_text())
            if man["frontier"] and man["shards"]:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.02)
    else:
        pytest.fail("no checkpoint appeared")
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert not json.loads((out / MANIFEST).read_text())["finished"]
    r = _cli("enumerate", str(model), "--box", "-1", "1", "--out", str(out), "--resume", "--json", "--workers", "2")
    stdout, stderr = r.communicate(timeout=300)
    assert r.returncode == 0, stderr
    got = read_arrays(out)
    pats = [tuple(p) for p in got["patterns"]]
    assert len(pats) == len(set(pats)) == ref.count == json.loads(stdout)["regions"]
    assert set(pats) == patterns_set(ref)
    assert got["meta"]["per_layer"] == ref.per_layer


def test_resume_refuses_other_network(tmp_path):
    net = random_network([3, 6, 1], seed=1)
    enumerate_to_dir(net, Box(-1, 1), tmp_path / "run", workers=1)
    other = random_network([3, 6, 1], seed=2)
    from nncells.errors import NNCellsError
    with pytest.raises(NNCellsError, match="different network"):
        enumerate_to_dir(other, Box(-1, 1), tmp_path / "run", workers=1, resume=True)
    with pytest.raises(NNCellsError, match="not empty"):
        enumerate_to_dir(net, Box(-1, 1), tmp_path / "run", workers=1)


def test_cli_count_only_and_bad_options(tmp_path):
    net = random_network([3, 8, 6, 1], seed=4)
    model = tmp_path / "m.npz"
    net.to_npz(model)
    ref = enumerate_regions(net, Box(-1, 1), workers=1)
    r = subprocess.run([sys.executable, "-m", "nncells", "enumerate", str(model), "--box", "-1", "1",
                        "--count-only", "--json", "--workers", "2"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["regions"] == ref.count
    for bad in (["--workers", "0"], ["--resume"], ["--count-only", "--out", str(tmp_path / "x.parquet")]):
        r = subprocess.run([sys.executable, "-m", "nncells", "enumerate", str(model), "--box", "-1", "1", *bad],
                           capture_output=True, text=True)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "error" in r.stderr


def test_checkpointed_count_only_writes_no_regions(tmp_path):
    net, domain = NETS[1]
    ref = enumerate_regions(net, domain, workers=1)
    summary = count_regions(net, domain, workers=2, out_dir=tmp_path / "run", checkpoint_s=0.05)
    man = json.loads((tmp_path / "run" / MANIFEST).read_text())
    assert summary["regions"] == man["regions"] == ref.count and man["finished"]
    assert man["shards"] == [] and not list((tmp_path / "run").glob("shard-*"))


def test_workers_exit_when_the_driver_is_killed(tmp_path):
    net = random_network([4, 20, 16, 1], seed=5)
    model = tmp_path / "m.npz"
    net.to_npz(model)
    p = _cli("enumerate", str(model), "--box", "-1", "1", "--workers", "2", "--method", "cells", "--quiet",
             "--backend", "numpy")  # slow enough to be killed while its workers run
    deadline = time.time() + 30
    children = []
    while time.time() < deadline and len(children) < 2:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(p.pid)], capture_output=True, text=True).stdout
        children = [int(v) for v in out.split()]
        time.sleep(0.05)
    assert len(children) == 2
    p.send_signal(signal.SIGKILL)
    p.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(os.path.exists(f"/proc/{c}") for c in children):
        time.sleep(0.1)
    alive = [c for c in children if os.path.exists(f"/proc/{c}")
             and open(f"/proc/{c}/stat").read().split()[2] != "Z"]
    assert alive == []
