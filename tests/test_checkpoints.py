"""Checkpoints that can be trusted (issue 14): the frontier is no pickle, every listed file is
verified before a resume, each corruption is refused naming the file, `nncells verify` checks a
directory, a run killed at any moment resumes to exactly the regions of a clean run."""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import nncells
from nncells import Box, enumerate_regions, enumerate_to_dir, random_network, read_arrays
from nncells.engine.tasks import Problem, run_task
from nncells.errors import RunError
from nncells.results.store import MANIFEST, read_manifest, write_manifest
from nncells.results.verify import verify_run
from nncells.run.frontier import decode_tasks, encode_tasks
from run_helpers import interrupt_run

NET = random_network([3, 8, 6, 1], seed=4)
SLOW = random_network([4, 20, 16, 1], seed=5)  # about 16k regions: seconds with the numpy backend


@pytest.fixture(scope="module")
def ref():
    return enumerate_regions(NET, Box(-1, 1), workers=1)


@pytest.fixture(scope="module")
def slow_ref():
    return {bytes(r) for r in np.packbits(enumerate_regions(SLOW, Box(-1, 1), workers=1).patterns, axis=1)}


def _patterns(out):
    return [bytes(r) for r in np.packbits(read_arrays(out)["patterns"], axis=1)]


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory):
    """A run stopped (as by Ctrl-C) with several shards and a frontier: copied by each test."""
    out = tmp_path_factory.mktemp("interrupted") / "run"
    man = interrupt_run(NET, out)
    assert len(man["shards"]) >= 3 and man["frontier"]["tasks"] > 0
    return out


def _copy(src, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(src, dst)
    return dst


def _resume(out):
    return enumerate_to_dir(NET, Box(-1, 1), out, workers=1, resume=True)


def test_resume_of_a_verified_run_is_exact(interrupted, tmp_path, ref):
    out = _copy(interrupted, tmp_path)
    assert verify_run(out)["ok"]  # an unfinished run verifies too
    assert _resume(out)["regions"] == ref.count
    pats = _patterns(out)
    assert len(pats) == len(set(pats)) == ref.count
    assert set(pats) == {bytes(r) for r in np.packbits(ref.patterns, axis=1)}
    v = verify_run(out)
    assert v["ok"] and v["finished"] and v["rows"] == ref.count


def _truncate(p):
    p.write_bytes(p.read_bytes()[:-100])


def _shard(out, k=1):
    return out / read_manifest(out)["shards"][k]["file"]


def _frontier(out):
    return out / read_manifest(out)["frontier"]["file"]


def _rewrite_manifest(out, edit):
    """An edit of the manifest with its checksum recomputed (what a careless tool might do)."""
    man = read_manifest(out)
    edit(man)
    write_manifest(out, man)


CORRUPTIONS = {
    "truncated shard": (lambda out: _truncate(_shard(out)), "shard-000001"),
    "deleted shard": (lambda out: _shard(out).unlink(), "shard-000001.*missing"),
    "swapped shard": (lambda out: shutil.copy(_shard(out, 0), _shard(out, 1)), "shard-000001"),
    "manifest entry dropped": (lambda out: _rewrite_manifest(out, lambda m: m["shards"].pop(1)), "rows"),
    "regions edited, checksum recomputed": (
        lambda out: _rewrite_manifest(out, lambda m: m.update(regions=m["regions"] + 5)), "regions"),
    "regions edited by hand": (
        lambda out: (out / MANIFEST).write_text((out / MANIFEST).read_text().replace('"regions": ', '"regions": 1')),
        "checksum"),
    "garbage frontier": (lambda out: _frontier(out).write_bytes(b"\x80\x04garbage" * 50), "_frontier-"),
    "truncated frontier": (lambda out: _truncate(_frontier(out)), "_frontier-"),
    "empty frontier": (lambda out: _frontier(out).write_bytes(encode_tasks([])), "_frontier-"),
    "deleted frontier": (lambda out: _frontier(out).unlink(), "_frontier-"),
    "garbage manifest": (lambda out: (out / MANIFEST).write_text("{nope"), "_manifest.json"),
}


@pytest.mark.parametrize("case", sorted(CORRUPTIONS))
def test_each_corruption_is_refused_naming_the_file(interrupted, tmp_path, case):
    out = _copy(interrupted, tmp_path)
    damage, name = CORRUPTIONS[case]
    damage(out)
    before = sorted(f.name for f in out.iterdir())
    with pytest.raises(nncells.NNCellsError, match=name):
        _resume(out)
    assert sorted(f.name for f in out.iterdir()) == before  # nothing deleted or written
    v = None
    try:
        v = verify_run(out)
    except nncells.NNCellsError:
        pass
    assert v is None or not v["ok"], v


def test_crash_states_resume_exactly(interrupted, tmp_path, ref):
    """What a kill -9 leaves at each moment of a checkpoint: a half-written temporary file, a shard
    written after the manifest, a newer frontier the manifest does not name yet."""
    out = _copy(interrupted, tmp_path)
    man = read_manifest(out)
    (out / f".shard-{len(man['shards']):06d}.parquet.tmp-123").write_bytes(b"half")
    shutil.copy(_shard(out, 0), out / f"shard-{len(man['shards']):06d}.parquet")  # unlisted
    (out / "_frontier-000999.npz").write_bytes(encode_tasks([]))
    (out / "._manifest.json.tmp-77").write_text("{")
    _resume(out)
    pats = _patterns(out)
    assert len(pats) == len(set(pats)) == ref.count
    assert verify_run(out)["ok"]
    assert not [f for f in out.iterdir() if ".tmp-" in f.name or "frontier" in f.name]


@pytest.mark.parametrize("facets", [False, True])
def test_frontier_round_trip_runs_identically(facets):
    """Pending tasks of the core (vertices, part-way splits, in facets mode the rows' labels)
    survive the file bit for bit."""
    import dataclasses
    problem = dataclasses.replace(Problem.make(SLOW, Box(-1, 1), backend="native"), facets=facets)
    _, pending, _ = run_task(problem, problem.root_task(), 1e-3)
    assert pending and any(t.partial is not None for t in pending) or len(pending) > 1
    assert all((t.cell.labels is not None) == facets for t in pending)
    back = decode_tasks(encode_tasks(pending))
    assert len(back) == len(pending)
    for a, b in zip(pending[:50], back[:50]):
        assert a.layer == b.layer and a.ranks == b.ranks and np.array_equal(a.pattern, b.pattern)
        for f in ("A", "c", "point", "vertices", "active", "vmag", "labels"):
            x, y = getattr(a.cell, f), getattr(b.cell, f)
            assert (x is None and y is None) or np.array_equal(x, y), f
        ra, rb = run_task(problem, [a]), run_task(problem, [b])
        assert np.array_equal(ra[0].patterns, rb[0].patterns) and np.array_equal(ra[0].points, rb[0].points)
        if facets:  # the same facets, and the rows' labels known: the regions' facets usable
            fa, fb = ra[2].facets, rb[2].facets
            assert len(fa) == len(fb) == 1 and all(np.array_equal(x, y) for x, y in zip(fa[0], fb[0]))
            assert not fa[0][4].any()


def test_frontier_files_without_labels_still_load():
    problem = Problem.make(SLOW, Box(-1, 1), backend="native")
    data = encode_tasks([problem.root_task()])
    import io
    with np.load(io.BytesIO(data)) as z:
        arrays = {k: z[k] for k in z.files if not k.startswith("labels.")}
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    [t] = decode_tasks(buf.getvalue())
    assert t.cell.labels is None and t.layer == 0


def test_frontier_file_never_unpickles(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    import io
    buf = io.BytesIO()
    np.savez(buf, format=np.array("nncells-frontier/1"), count=np.array(1),
             layer=np.array([object()], dtype=object))
    with pytest.raises(RunError, match="not a frontier file"):
        decode_tasks(buf.getvalue())
    with pytest.raises(RunError, match="not a frontier file"):
        decode_tasks(b"PK\x03\x04 not a zip")


def _cli(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "nncells", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True, **kw)


def test_verify_command(interrupted, tmp_path, ref):
    out = _copy(interrupted, tmp_path)
    _resume(out)
    r = subprocess.run([sys.executable, "-m", "nncells", "verify", str(out)], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.count("\n") == 1 and f"{ref.count:,} regions" in r.stdout
    r = subprocess.run([sys.executable, "-m", "nncells", "verify", str(out), "--json"], capture_output=True, text=True)
    v = json.loads(r.stdout)
    assert v["ok"] and v["regions"] == v["rows"] == ref.count and v["duplicates"] == 0
    # a shard listed twice (with the right sizes and checksums): duplicate patterns, wrong total
    _rewrite_manifest(out, lambda m: m["shards"].append(dict(m["shards"][0])))
    r = subprocess.run([sys.executable, "-m", "nncells", "verify", str(out), "--json"], capture_output=True, text=True)
    v = json.loads(r.stdout)
    assert r.returncode == 1 and not v["ok"] and v["duplicates"] == read_manifest(out)["shards"][0]["rows"]
    # a stray shard in a finished run, and a damaged one
    out2 = _copy(interrupted, tmp_path / "b")
    _resume(out2)
    shutil.copy(_shard(out2, 0), out2 / "shard-999999.parquet")
    _truncate(_shard(out2, 1))
    r = subprocess.run([sys.executable, "-m", "nncells", "verify", str(out2)], capture_output=True, text=True)
    assert r.returncode == 1 and r.stdout.count("\n") == 1 and "shard-000001" in r.stdout and "FAILED" in r.stdout
    r = subprocess.run([sys.executable, "-m", "nncells", "verify", str(tmp_path / "nothing")],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1


def test_verify_gives_arrow_no_python_bytes(interrupted, tmp_path, monkeypatch):
    """`nncells verify` once printed its line and then aborted ("terminate called without an
    active exception", status -6): an Arrow pool thread dropped the scan's last reference to a
    shard's Python ``bytes`` after ``read_table`` had returned and took the GIL to free it while
    the interpreter was exiting. Every buffer verify hands Arrow must be Arrow's own memory."""
    import pyarrow as pa
    out = _copy(interrupted, tmp_path)
    given = []
    real = pa.BufferReader

    def buffer_reader(data):
        given.append(data)
        return real(data)

    monkeypatch.setattr(pa, "BufferReader", buffer_reader)
    assert verify_run(out)["ok"]
    assert len(given) == len(read_manifest(out)["shards"])
    assert all(isinstance(b, pa.Buffer) and b.parent is None for b in given), {type(b) for b in given}


def test_resume_of_a_finished_run_checks_its_files(interrupted, tmp_path, ref):
    """--resume of a finished run says "already finished" only after checking the shards it
    vouches for: a truncated one is named instead (one line, exit 2), as `nncells verify` would."""
    out = _copy(interrupted, tmp_path)
    _resume(out)
    model = tmp_path / "m.npz"
    NET.to_npz(model)
    args = [sys.executable, "-m", "nncells", "enumerate", str(model), "--box", "-1", "1", "--out", str(out),
            "--resume", "--workers", "1"]
    r = subprocess.run(args, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f"the run is already finished ({ref.count} regions)" in r.stderr
    shard = _shard(out, 1)
    _truncate(shard)
    r = subprocess.run(args, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert f"{shard}: " in r.stderr and "truncated" in r.stderr and "finished run is damaged" in r.stderr
    shard.unlink()  # the same from Python, for a shard that is gone
    with pytest.raises(RunError, match=r"shard-000001\.parquet: missing: the finished run is damaged"):
        _resume(out)


def _wait_for(pred, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def _checkpointed(out, n):
    try:
        return json.loads((out / MANIFEST).read_text()).get("checkpoints", 0) >= n
    except (OSError, ValueError):
        return False


@pytest.mark.parametrize("workers, seed", [("2", 0), ("1", 1)])
def test_kill_9_at_random_moments_then_resume(tmp_path, slow_ref, workers, seed):
    """kill -9 to the whole process group at random moments (the first before any checkpoint),
    resuming each time; then a resume to the end: the regions of a clean run, each once."""
    model = tmp_path / "m.npz"
    SLOW.to_npz(model)
    out = tmp_path / "run"
    base = ["enumerate", str(model), "--box", "-1", "1", "--out", str(out), "--workers", workers, "--quiet",
            "--method", "cells", "--backend", "numpy", "--checkpoint-every", "0.2"]
    rng = random.Random(seed)
    for i, wait in enumerate([0.2] + [rng.uniform(0.1, 1.5) for _ in range(3)]):
        p = _cli(*base, *(["--resume"] if i else []))
        if i == 0:  # the first kill: the run has started, its first checkpoint is not written yet
            assert _wait_for(lambda: (out / MANIFEST).exists())
        time.sleep(wait)
        if p.poll() is not None:
            break
        os.killpg(p.pid, signal.SIGKILL)  # the driver and its workers, at once
        p.communicate()
        if i == 0:
            assert not _checkpointed(out, 1)
    p = _cli(*base, "--resume", "--json")
    stdout, stderr = p.communicate(timeout=300)
    assert p.returncode == 0, stderr
    assert "Traceback" not in stderr
    pats = _patterns(out)
    assert len(pats) == len(set(pats)) == len(slow_ref) == json.loads(stdout)["regions"]
    assert set(pats) == slow_ref
    assert verify_run(out)["ok"]


def test_resume_before_the_first_checkpoint_starts_over(tmp_path, slow_ref):
    model = tmp_path / "m.npz"
    SLOW.to_npz(model)
    out = tmp_path / "run"
    base = ["enumerate", str(model), "--box", "-1", "1", "--out", str(out), "--workers", "1", "--quiet"]
    p = _cli(*base, "--method", "cells", "--backend", "numpy")
    assert _wait_for(lambda: (out / MANIFEST).exists())
    p.kill()
    p.communicate()
    assert read_manifest(out)["checkpoints"] == 0
    r = subprocess.run([sys.executable, "-m", "nncells", *base, "--resume", "--json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "before its first checkpoint; starting it over" in r.stderr and r.stderr.count("\n") == 1
    assert json.loads(r.stdout)["regions"] == len(slow_ref) and set(_patterns(out)) == slow_ref


@pytest.mark.parametrize("every", [None, "0.3"])
def test_serial_runs_checkpoint_early_and_often(tmp_path, every):
    """The first checkpoint comes right after the warm-up (here long before the default 30 s
    interval), and a serial run keeps checkpointing (its tasks have a time budget too)."""
    model = tmp_path / "m.npz"
    SLOW.to_npz(model)
    out = tmp_path / "run"
    p = _cli("enumerate", str(model), "--box", "-1", "1", "--out", str(out), "--workers", "1", "--quiet",
             "--method", "cells", "--backend", "numpy", *(["--checkpoint-every", every] if every else []))
    want = 1 if every is None else 4
    seen = _wait_for(lambda: _checkpointed(out, want) or p.poll() is not None, timeout=120)
    still_running = p.poll() is None
    os.killpg(p.pid, signal.SIGKILL)
    p.communicate()
    assert seen and still_running and _checkpointed(out, want)
