"""Workers never outlive their driver, and SIGTERM takes Ctrl-C's path (issue 21).

The runs go through tests/stuck_workers.py: the real command line, whose workers announce
themselves (a file ``busy-PID``) and wait forever at a chosen call. So each signal reaches the run
at a known moment, with every worker inside a call, whatever the speed of the machine; and a
worker that ignored its driver's death would stay alive for good, not merely for a while.
"""
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import numpy as np
import pytest

from nncells import Box, enumerate_regions, random_network, read_arrays
from nncells.results.store import read_manifest
from nncells.results.verify import verify_run

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")

HERE = Path(__file__).parent
NET = random_network([4, 20, 16, 1], seed=5)


@pytest.fixture(scope="module")
def clean():
    return enumerate_regions(NET, Box(-1, 1), workers=1)


def _model(tmp_path):
    path = tmp_path / "m.npz"
    NET.to_npz(path)
    return str(path)


class _Run:
    """``python stuck_workers.py`` in a session of its own, its output in files (a worker left
    alive would keep a pipe open); every process of the session is killed at the end."""

    def __init__(self, tmp_path, real_calls, args, no_prctl=False):
        self.busy = tmp_path / "busy"
        self.busy.mkdir()
        self.out, self.err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
        with open(self.out, "w") as out, open(self.err, "w") as err:
            self.p = subprocess.Popen(
                [sys.executable, str(HERE / "stuck_workers.py"), str(self.busy), str(real_calls),
                 *(["--no-prctl"] if no_prctl else []), "--", *args],
                stdout=out, stderr=err, start_new_session=True)

    def busy_workers(self, n=2, timeout=60):
        """The pids of the ``n`` workers once all of them are inside a call."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = sorted(int(f.name.split("-")[1]) for f in self.busy.glob("busy-*"))
            if len(pids) >= n:
                return pids
            assert self.p.poll() is None, f"the run ended early: {self.err.read_text()}"
            time.sleep(0.02)
        pytest.fail("the workers never got busy")

    def close(self):
        with suppress(ProcessLookupError):
            os.killpg(self.p.pid, signal.SIGKILL)
        self.p.wait()


@pytest.fixture
def runs():
    started = []

    def start(*args, **kw):
        started.append(_Run(*args, **kw))
        return started[-1]

    yield start
    for r in started:
        r.close()


def _stat(pid):
    """(state, parent pid, start time) of process ``pid``, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1]), int(fields[19])


def _children(pid):
    """The child processes of ``pid``."""
    tasks = list(Path(f"/proc/{pid}/task").glob("*/children"))
    if tasks:
        return {int(c) for t in tasks for c in t.read_text().split()}
    return {int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and (_stat(p.name) or ("", 0))[1] == pid}


def _alive(pid, start):
    """Whether the process ``pid`` started at ``start`` still runs (a zombie has ended)."""
    st = _stat(pid)
    return st is not None and st[2] == start and st[0] not in "ZX"


def _wait_until(predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _enumerate_args(tmp_path, *more):
    return ["enumerate", _model(tmp_path), "--box", "-1", "1", "--workers", "2", "--quiet", "--method", "cells",
            "--out", str(tmp_path / "run"), *more]


def _local_args(tmp_path):
    points = tmp_path / "points.npy"
    np.save(points, np.random.default_rng(0).uniform(-0.5, 0.5, size=(6, 4)))
    return ["local", _model(tmp_path), "--points", str(points), "--radius", "1", "--exact", "--workers", "2",
            "--samples", "0", "--quiet", "--out", str(tmp_path / "local.csv")]


@pytest.mark.parametrize("command", ["enumerate", "local"])
@pytest.mark.parametrize("no_prctl", [False, True], ids=["prctl", "poll"])
def test_workers_end_with_a_killed_driver(tmp_path, runs, command, no_prctl):
    """kill -9 of the driver alone, its workers in the middle of a call: they are gone within
    seconds (with the parent-death signal, or by watching the parent pid where it is missing)."""
    args = _enumerate_args(tmp_path) if command == "enumerate" else _local_args(tmp_path)
    run = runs(tmp_path, 0, args, no_prctl=no_prctl)
    workers = run.busy_workers()
    assert set(workers) <= _children(run.p.pid)  # recorded before the kill
    starts = {w: _stat(w)[2] for w in workers}
    os.kill(run.p.pid, signal.SIGKILL)
    run.p.wait()
    assert _wait_until(lambda: not any(_alive(w, starts[w]) for w in workers), timeout=5), \
        [_stat(w) for w in workers]


@pytest.mark.parametrize("to_group", [False, True], ids=["driver", "process-group"])
def test_sigterm_checkpoints_like_ctrl_c(tmp_path, runs, clean, to_group):
    """SIGTERM to the driver (as ``timeout`` or Kubernetes send it) or to the whole process group
    (as SLURM does before it preempts a job), every worker in the middle of its second task:
    one line, exit 143, no worker left, and a checkpoint whose resume ends with the clean count."""
    run = runs(tmp_path, 1, _enumerate_args(tmp_path))
    workers = run.busy_workers()
    starts = {w: _stat(w)[2] for w in workers}
    (os.killpg if to_group else os.kill)(run.p.pid, signal.SIGTERM)
    assert run.p.wait(timeout=60) == 143, run.err.read_text()
    lines = [ln for ln in run.err.read_text().splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("nncells: interrupted by SIGTERM after ") and lines[0].endswith("resume with --resume")
    assert run.out.read_text() == ""
    assert not any(_alive(w, starts[w]) for w in workers)
    man = read_manifest(tmp_path / "run")
    assert not man["finished"] and man["frontier"]["tasks"] > 0
    r = subprocess.run([sys.executable, "-m", "nncells", *_enumerate_args(tmp_path, "--resume", "--json")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["regions"] == clean.count
    pats = {bytes(p) for p in np.packbits(read_arrays(tmp_path / "run")["patterns"], axis=1)}
    assert pats == {bytes(p) for p in np.packbits(clean.patterns, axis=1)}
    assert verify_run(tmp_path / "run")["ok"]


@pytest.mark.parametrize("signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_signals_stop_the_local_pool_at_once(tmp_path, runs, signum, status):
    """``nncells local --exact`` with both workers inside a count that never ends: the signal to
    the process group stops the run with one line and its status (no wait for the queued balls)."""
    run = runs(tmp_path, 0, _local_args(tmp_path))
    workers = run.busy_workers()
    starts = {w: _stat(w)[2] for w in workers}
    os.killpg(run.p.pid, signum)
    assert run.p.wait(timeout=30) == status, run.err.read_text()
    lines = [ln for ln in run.err.read_text().splitlines() if ln.strip()]
    want = "nncells: interrupted" + (" by SIGTERM" if signum == signal.SIGTERM else "")
    assert lines == [want]
    assert not (tmp_path / "local.csv").exists()
    assert not any(_alive(w, starts[w]) for w in workers)


def test_main_restores_the_sigterm_handler(tmp_path, capsys):
    from nncells.cli.main import main
    before = signal.getsignal(signal.SIGTERM)
    assert main(["enumerate", _model(tmp_path), "--box", "-1", "1", "--workers", "1", "--quiet", "--json"]) == 0
    assert signal.getsignal(signal.SIGTERM) is before
    assert json.loads(capsys.readouterr().out)["regions"] > 0


def test_stop_pool_leaves_no_manager_thread_behind():
    """`stop_pool` on a pool whose workers are busy: the workers are killed and, before Python
    3.14, the pool's manager thread has ended when it returns (the interpreter's exit then has no
    thread to race with: no traceback after an interrupted command's one line)."""
    from concurrent.futures import ProcessPoolExecutor, wait

    from nncells.run.executors import stop_pool
    pool = ProcessPoolExecutor(2)
    started = [pool.submit(time.sleep, 0) for _ in range(2)]
    wait(started)  # the workers and the manager thread exist
    pool.submit(time.sleep, 600)
    procs = list(pool._processes.values())
    manager = getattr(pool, "_executor_manager_thread", None)
    stop_pool(pool)
    for p in procs:
        p.join(timeout=10)
    assert not any(p.is_alive() for p in procs)
    if not hasattr(pool, "kill_workers"):
        assert manager is not None and not manager.is_alive()
