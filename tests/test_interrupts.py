"""Ctrl-C and bad run options on the command line (issue 14): one line, no traceback."""
import os
import signal
import subprocess
import sys

import pytest

from nncells import random_network


def _model(tmp_path):
    path = tmp_path / "m.npz"
    random_network([4, 20, 16, 1], seed=5).to_npz(path)
    return path


@pytest.mark.parametrize("workers, out", [("2", False), ("2", True), ("1", False), ("1", True)])
def test_ctrl_c_to_the_process_group_is_quiet(tmp_path, workers, out):
    """SIGINT goes to every process of the group (driver and workers), as a terminal sends it,
    while every worker (serial: the driver) is inside a task: tests/stuck_workers.py holds them
    there, so the run is busy for certain, whatever the machine's speed."""
    from test_signals import _Run
    args = ["enumerate", str(_model(tmp_path)), "--box", "-1", "1", "--workers", workers, "--quiet",
            "--method", "cells"]
    if out:
        args += ["--out", str(tmp_path / "run"), "--checkpoint-every", "0.2"]
    run = _Run(tmp_path, 1, args)
    try:
        run.busy_workers(2 if workers == "2" else 1)
        os.killpg(run.p.pid, signal.SIGINT)
        assert run.p.wait(timeout=60) == 130, run.err.read_text()
        stdout, stderr = run.out.read_text(), run.err.read_text()
    finally:
        run.close()
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("nncells: interrupted"), stderr
    if out:
        assert "--resume" in lines[0] and "interrupted after" in lines[0]
    assert stdout == ""


@pytest.mark.parametrize("value", ["0", "-5", "nan", "inf"])
def test_invalid_checkpoint_interval_is_refused(tmp_path, value):
    r = subprocess.run([sys.executable, "-m", "nncells", "enumerate", str(_model(tmp_path)), "--box", "-1", "1",
                        "--out", str(tmp_path / "run"), f"--checkpoint-every={value}"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "--checkpoint-every" in r.stderr
    assert not (tmp_path / "run").exists()


def test_serial_runs_leave_this_process_signals_alone():
    """Only worker processes ignore SIGINT: a serial run in the caller's process must not."""
    import numpy as np
    import nncells
    import nncells.local
    net = random_network([2, 6, 1], seed=0)
    nncells.local.analyse_points(net, np.zeros((2, 2)), 0.5, exact=True, workers=1)
    nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
