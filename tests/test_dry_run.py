"""Issue 24, "know before you wait": ``nncells enumerate --dry-run``, the note before a run that
may take hours, and the progress line's time left. No test depends on timing."""
import json
import subprocess
import sys

import numpy as np
import pytest

from nncells import Box, Space, enumerate_regions, random_network
from nncells.analysis.estimate import (NOTE_RATE, NOTE_SECONDS, dry_run, format_count, run_note, sampled_regions,
                                       slow_run_note, upper_bound)
from nncells.cli.progress import format_duration, format_progress
from cli_helpers import run_nncells, save_network


_run = run_nncells


@pytest.fixture()
def small(tmp_path):
    return save_network(tmp_path, [3, 7, 5, 2], 8)


def test_dry_run_json_keys_and_types(small):
    net, path = small
    r = _run("enumerate", str(path), "--box", "-1", "1", "--dry-run", "--json", "--samples", "300")
    assert r.returncode == 0, r.stderr
    e = json.loads(r.stdout)          # exactly one JSON object: anything else would not parse
    assert r.stderr == ""
    assert isinstance(e["regions_upper_bound"], int) and isinstance(e["upper_bound_kind"], str)
    assert isinstance(e["sampled_regions"], int)
    assert isinstance(e["regions_per_second"], float) and e["regions_per_second"] > 0
    assert set(e["estimated_seconds"]) == {"upper_bound", "sampled"}
    assert all(isinstance(v, (int, float)) and v >= 0 for v in e["estimated_seconds"].values())
    m = e["measured"]
    assert m["samples"] == 300 and isinstance(m["seconds"], float) and isinstance(m["regions"], int)
    assert m["rate"] in ("measured", "not measured") and m["workers"] == 1
    exact = enumerate_regions(net, Box(-1, 1), workers=1).count
    assert e["sampled_regions"] <= exact <= e["regions_upper_bound"]
    if m["finished"]:                   # a network this small usually finishes: then the count is exact
        assert e["regions"] == exact


def test_dry_run_table(small):
    _, path = small
    r = _run("enumerate", str(path), "--whole-space", "--dry-run", "--samples", "100")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [ln.split()[0] for ln in lines[:4]] == ["at", "at", "rate", "time"]
    assert "proven" in lines[0] and "100 samples" in lines[1]


@pytest.mark.parametrize("dims,domain", [
    ([2, 8, 8, 1], Box(-1, 1)),          # 2-D (the planar mesh)
    ([3, 10, 8, 1], Box(-1, 1)),         # 3-D, vertex mode
    ([3, 8, 6, 1], Space()),             # the whole space (sampled in a box of the network's length)
    ([8, 6, 5, 1], Box(-1, 1)),          # 8-D: LP mode (above _config.VERTEX_MAX_DIM)
])
def test_sampled_and_bound_sandwich_the_exact_count(dims, domain):
    net = random_network(dims, seed=3)
    D = domain.resolve(net.input_dim)
    exact = enumerate_regions(net, D, workers=1).count
    s = sampled_regions(net, D, 2000, seed=1)
    ub, kind = upper_bound(net, D)
    assert 0 < s["regions"] <= s["patterns"] and s["checked"] <= s["patterns"]
    assert s["regions"] <= exact <= ub, (s, exact, ub, kind)
    ub_interval, _ = upper_bound(net, D, "interval")
    assert exact <= ub_interval


def test_local_bound_is_used_for_a_small_box():
    net = random_network([2, 6, 6, 3], seed=0)
    ub, kind = upper_bound(net, Box(-0.5, 0.5).resolve(2))
    assert kind == "local" and ub < upper_bound(net, Space(2))[0]
    assert enumerate_regions(net, Box(-0.5, 0.5), workers=1).count <= ub


def test_dry_run_does_not_enumerate_a_huge_network(tmp_path):
    net = random_network([784, 512, 512, 10], seed=0)
    path = tmp_path / "big.npz"
    net.to_npz(path)
    r = _run("enumerate", str(path), "--box", "0", "1", "--dry-run", "--json", "--samples", "200",
             "--dry-run-seconds", "0.5")
    assert r.returncode == 0, r.stderr
    e = json.loads(r.stdout)
    assert e["regions_upper_bound"] > 10 ** 18
    assert not e["measured"]["finished"] and "regions" not in e   # stopped, not enumerated
    # no task hands a region back in that time: nothing was measured, and nothing is claimed
    assert e["measured"]["rate"] == "not measured" and e["measured"]["regions"] == 0
    assert e["regions_per_second"] is None and e["estimated_seconds"] == {"upper_bound": None, "sampled": None}
    assert 0 < e["sampled_regions"] <= 200


def test_dry_run_api_finishes_a_tiny_run_exactly():
    net = random_network([2, 6, 1], seed=0)
    e = dry_run(net, Space(2), samples=100, seconds=30.0)
    assert e["measured"]["finished"] and e["regions"] == 22 and e["measured"]["rate"] == "measured"


def test_slow_run_note_decision():
    note = slow_run_note(12 * 10 ** 18, 3400, 4000)
    assert note == ("nncells: note: this run may take hours: at most 1.2e+19 regions (proven), at least 3,400 "
                    "seen in 4,000 samples; --dry-run estimates it")
    assert "\n" not in note
    assert slow_run_note(int(NOTE_RATE * NOTE_SECONDS), 1000, 1000) is None   # the bound fits in the hour
    assert slow_run_note(10 ** 30, 10, 1000) is None                          # the sample sees few regions
    assert slow_run_note(10 ** 30, 10, 0) is None


def test_run_note_on_a_hopeless_and_a_small_network():
    big = random_network([784, 512, 512, 10], seed=0)
    note, ub = run_note(big, Box(0, 1).resolve(784), samples=200)
    assert note is not None and note.startswith("nncells: note: this run may take hours") and ub > 10 ** 18
    small = random_network([3, 7, 5, 2], seed=8)
    note, ub = run_note(small, Box(-1, 1).resolve(3))
    assert note is None and ub >= enumerate_regions(small, Box(-1, 1), workers=1).count


def test_small_run_prints_no_note(small):
    net, path = small
    r = _run("enumerate", str(path), "--box", "-1", "1", "--json", "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["regions"] == enumerate_regions(net, Box(-1, 1), workers=1).count
    assert r.stderr == ""


def test_bad_dry_run_options(small):
    _, path = small
    for args in (["--samples", "0"], ["--dry-run-seconds", "-1"]):
        r = _run("enumerate", str(path), "--box", "-1", "1", "--dry-run", *args)
        assert r.returncode == 2 and r.stdout == "" and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_progress_line_with_time_left():
    assert format_progress(1200, 2.0) == "regions: 1,200 found, 600/s, 2.0 s"
    line = format_progress(1200, 2.0, upper_bound=7200, extra="3 pending, 1 running")
    assert line == "regions: 1,200 found, 600/s, 2.0 s, at most 10 s left, 3 pending, 1 running"
    assert format_progress(1200, 2.0, upper_bound=1200 + 600 * 7200).endswith("at most 2.0 h left")
    assert "left" not in format_progress(0, 1.0, upper_bound=10)     # no rate yet: no estimate
    assert "at most" in format_progress(5, 1.0, upper_bound=10 ** 500)  # beyond float range
    assert format_duration(90) == "1.5 min" and format_duration(3 * 86400) == "3.0 d"


def test_format_count_never_understates():
    for n in (999_999, 10 ** 6, 1_234_567, 9_990_001, 10 ** 307 * 9 + 1, 2 ** 1100):
        text = format_count(n)
        if "e+" in text:
            m, e = text.split("e+")
            assert int(round(float(m) * 10)) * 10 ** (int(e) - 1) >= n
        else:
            assert int(text.replace(",", "")) == n
    assert np.isclose(float(format_count(12 * 10 ** 18)), 1.2e19)


def test_hopeless_run_says_so_when_it_starts_and_goes_on(tmp_path):
    """A real run of a hopeless network: its first stderr line is the note, written once the run
    has started (its output directory in place), and the run goes on until it is stopped."""
    import signal
    path = tmp_path / "big.npz"
    random_network([64, 64, 64, 10], seed=0).to_npz(path)
    p = subprocess.Popen([sys.executable, "-m", "nncells", "enumerate", str(path), "--box", "0", "1", "--out",
                          str(tmp_path / "run"), "--workers", "1", "--json"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        first = p.stderr.readline()
        assert first.startswith("nncells: note: this run may take hours: at most ") and "--dry-run" in first
        assert (tmp_path / "run").is_dir()       # the output was in place before the note
        assert p.poll() is None                  # and the run goes on
    finally:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=120)
    assert p.returncode == 143 and out == ""


def test_out_with_another_suffix_is_refused_unless_a_directory(tmp_path, small):
    small = small[1]
    for out in (tmp_path / "out.csv", tmp_path / "regions.pq.tmp"):
        r = _run("enumerate", str(small), "--box", "-1", "1", "--out", str(out), "--workers", "1")
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not .parquet" in r.stderr, r.stderr
        assert not out.exists()
    r = _run("enumerate", str(small), "--box", "-1", "1", "--out", str(tmp_path / "run.v2") + "/", "--workers", "1",
             "--quiet")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "run.v2" / "_manifest.json").exists()
