"""One run per output directory, and errors of the operating system as one line with exit status 2
(issue 14): unwritable paths are refused before any work, a full disk leaves a resumable run,
no half-written file carries a final name."""
import contextlib
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import nncells
from nncells import _config, Box, enumerate_regions, enumerate_to_dir, random_network, read_arrays
from nncells.results.store import MANIFEST
from nncells.results.verify import verify_run

SLOW = random_network([4, 20, 16, 1], seed=5)   # seconds with the numpy backend
HUGE = random_network([6, 64, 64, 64, 1], seed=0)  # minutes: a command that starts work times out


def _run(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "nncells", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def _one_line_error(r, *words):
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("nncells: error: "), r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    for w in words:
        assert w in r.stderr, r.stderr


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "m.npz"
    SLOW.to_npz(path)
    return path


@pytest.fixture
def huge(tmp_path):
    path = tmp_path / "huge.npz"
    HUGE.to_npz(path)
    return path


@contextlib.contextmanager
def _tmpfs(path, options):
    path.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({r.stderr.decode().strip() or 'not permitted'})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def test_parent_is_a_file_is_refused_before_any_work(tmp_path, huge):
    (tmp_path / "file").write_text("x")
    for out in (tmp_path / "file" / "run", tmp_path / "file" / "r.parquet", tmp_path / "file"):
        r = _run("enumerate", huge, "--box", "-1", "1", "--out", out)
        _one_line_error(r, str(tmp_path / "file"))
    r = _run("enumerate", huge, "--box", "-1", "1", "--out", tmp_path / "missing" / "r.parquet")
    _one_line_error(r, "does not exist")
    (tmp_path / "d.parquet").mkdir()
    _one_line_error(_run("enumerate", huge, "--box", "-1", "1", "--out", tmp_path / "d.parquet"), "directory")


def test_read_only_filesystem_is_refused_before_any_work(tmp_path, huge):
    with _tmpfs(tmp_path / "ro", "ro,size=1m") as ro:
        for out in (ro / "run", ro / "r.parquet"):
            r = _run("enumerate", huge, "--box", "-1", "1", "--out", out)
            _one_line_error(r, "Read-only file system")
        assert list(ro.iterdir()) == []


def test_full_disk_mid_run_leaves_a_resumable_run(tmp_path, model):
    """The frontier of this run is about 3 MB: the first checkpoint fits into 4 MB, the second
    (written before the first is deleted) does not."""
    ref = {bytes(r) for r in np.packbits(enumerate_regions(SLOW, Box(-1, 1), workers=1).patterns, axis=1)}
    with _tmpfs(tmp_path / "small", "size=4m") as small:
        out = small / "run"
        r = _run("enumerate", model, "--box", "-1", "1", "--out", out, "--workers", "2", "--quiet",
                 "--method", "cells", "--backend", "numpy", "--checkpoint-every", "0.1", timeout=300)
        _one_line_error(r, "No space left on device", "--resume")
        assert not [f for f in out.iterdir() if ".tmp-" in f.name]
        v = verify_run(out)
        assert v["ok"] and not v["finished"]
        moved = tmp_path / "bigger"
        shutil.copytree(out, moved)
    r = _run("enumerate", model, "--box", "-1", "1", "--out", moved, "--resume", "--json", "--quiet", timeout=300)
    assert r.returncode == 0, r.stderr
    pats = [bytes(p) for p in np.packbits(read_arrays(moved)["patterns"], axis=1)]
    assert len(pats) == len(set(pats)) == len(ref) and set(pats) == ref


def test_full_disk_for_one_file_output(tmp_path, model):
    with _tmpfs(tmp_path / "small", "size=128k") as small:
        r = _run("enumerate", model, "--box", "-1", "1", "--out", small / "r.parquet", "--quiet")
        _one_line_error(r, "No space left on device", "r.parquet")
        assert list(small.iterdir()) == []  # no half-written file, no temporary file


def test_one_run_per_directory(tmp_path, model, monkeypatch):
    """A second run or a resume into a directory a run is using is refused; the lock goes with the
    run. The first run's workers are held inside a task (tests/stuck_workers.py), so it is running
    for certain while the others try, whatever the machine's speed."""
    import signal
    from test_signals import _Run
    out = tmp_path / "run"
    first = _Run(tmp_path, 1, ["enumerate", str(model), "--box", "-1", "1", "--out", str(out), "--workers", "2",
                               "--quiet", "--method", "cells"])
    try:
        first.busy_workers(2)
        r = _run("enumerate", model, "--box", "-1", "1", "--out", out, "--resume")
        _one_line_error(r, "another nncells run is using this directory")
        monkeypatch.setattr(_config, "LOCK_WAIT_S", 0.1)
        with pytest.raises(nncells.RunError, match="another nncells run"):
            enumerate_to_dir(SLOW, Box(-1, 1), out, workers=1)
        assert first.p.poll() is None
        os.kill(first.p.pid, signal.SIGTERM)   # it checkpoints and stops; its workers die with it
        assert first.p.wait(timeout=60) == 143, first.err.read_text()
    finally:
        first.close()
    # the lock is released with the run: the directory resumes, and then is finished
    r = _run("enumerate", model, "--box", "-1", "1", "--out", out, "--resume", "--quiet")
    assert r.returncode == 0, r.stderr
    assert verify_run(out)["ok"]
    assert json.loads((out / MANIFEST).read_text())["regions"] == verify_run(out)["rows"] == \
        enumerate_regions(SLOW, Box(-1, 1), workers=1).count
    with pytest.raises(nncells.RunError, match="already finished"):
        enumerate_to_dir(SLOW, Box(-1, 1), out, workers=1, resume=True)


def test_lock_is_released_when_the_run_dies(tmp_path, model):
    out = tmp_path / "run"
    p = subprocess.Popen([sys.executable, "-m", "nncells", "enumerate", str(model), "--box", "-1", "1", "--out",
                          str(out), "--workers", "2", "--quiet", "--method", "cells", "--backend", "numpy",
                          "--checkpoint-every", "0.2"], start_new_session=True)
    deadline = time.time() + 30
    while time.time() < deadline:
        with contextlib.suppress(OSError, ValueError):
            if json.loads((out / MANIFEST).read_text())["checkpoints"] >= 1:
                break
        time.sleep(0.02)
    p.kill()  # the driver only: its workers notice within about a second
    p.wait()
    s = enumerate_to_dir(SLOW, Box(-1, 1), out, workers=2, resume=True)
    assert s["regions"] == verify_run(out)["rows"] and verify_run(out)["ok"]
    assert os.path.exists(out / "_lock")
