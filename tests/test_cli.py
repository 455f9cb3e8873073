"""The `nncells enumerate` and `nncells demo` commands, their outputs and their errors."""
import json
import subprocess
import sys

import numpy as np
import pytest

from nncells import Box, Space, enumerate_regions, random_network
from nncells.results.store import read_arrays
from cli_helpers import run_nncells, save_network


_run = run_nncells


@pytest.fixture()
def model(tmp_path):
    return save_network(tmp_path, [3, 7, 5, 2], 8)


def test_enumerate_json_and_parquet(model, tmp_path):
    net, path = model
    out = tmp_path / "r.parquet"
    r = _run("enumerate", str(path), "--box", "-1", "1", "--json", "--out", str(out), "--workers", "1")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    ref = enumerate_regions(net, Box(-1, 1), workers=1)
    assert summary["regions"] == ref.count and summary["per_layer"] == ref.per_layer
    assert isinstance(summary["lp_solves"], int) and summary["seconds"] > 0
    assert r.stderr == ""  # no progress display when stderr is not a terminal
    table = read_arrays(out)
    assert np.array_equal(table["patterns"], ref.patterns)
    assert np.array_equal(table["ranks"], ref.ranks)
    assert "parents" not in table  # parents are not stored: a region's parent is its pattern's prefix
    assert table["meta"]["network"] == net.fingerprint
    assert not list(tmp_path.glob(".*tmp*"))


def test_enumerate_whole_space_and_per_dimension_box(model):
    net, path = model
    r = _run("enumerate", str(path), "--whole-space", "--json")
    assert json.loads(r.stdout)["regions"] == enumerate_regions(net, Space(), workers=1).count
    r = _run("enumerate", str(path), "--box", "-1,0,-2", "1,0.5,2", "--json")
    assert json.loads(r.stdout)["regions"] == enumerate_regions(net, Box([-1, 0, -2], [1, 0.5, 2]), workers=1).count


def test_demo_runs():
    r = _run("demo", "--json")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["regions"] == s["per_layer"][-1] > 100
    r = _run("demo")
    assert r.returncode == 0 and "regions" in r.stdout and "rank 3" in r.stdout


@pytest.mark.parametrize("args,message", [
    (["--box", "1", "0"], "lo >= hi"),
    (["--box", "0,0", "1,1"], "dimension"),
    (["--box", "a", "1"], "not a number"),
    (["--box", "nan", "1"], "NaN"),
    (["--box", "0", "1", "--tol", "-1"], "tolerance"),
])
def test_bad_domain_arguments(model, tmp_path, args, message):
    _, path = model
    out = tmp_path / "r.parquet"
    r = _run("enumerate", str(path), *args, "--out", str(out))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_bad_model_files(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_text("not a zip")
    nan = tmp_path / "nan.npz"
    np.savez(nan, W0=np.array([[np.nan, 1.0]]), b0=np.zeros(1))
    mismatch = tmp_path / "mismatch.npz"
    np.savez(mismatch, W0=np.ones((3, 2)), b0=np.zeros(3), W1=np.ones((1, 4)), b1=np.zeros(1))
    empty = tmp_path / "empty.npz"
    np.savez(empty, x=np.zeros(1))
    for path, message in ((bad, "not an .npz"), (nan, "NaN"), (mismatch, "expects 4 inputs"),
                          (empty, "no arrays named W0"), (tmp_path / "missing.npz", "no such file"),
                          (tmp_path / "m.xyz", "no such file")):
        r = _run("enumerate", str(path), "--box", "0", "1")
        assert r.returncode == 2, path
        assert r.stderr.count("\n") == 1 and message in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "m.xyz").write_text("x")
    r = _run("enumerate", str(tmp_path / "m.xyz"), "--box", "0", "1")
    assert r.returncode == 2 and "unknown model format" in r.stderr


def test_output_into_missing_directory_leaves_nothing(model, tmp_path):
    _, path = model
    r = _run("enumerate", str(path), "--box", "-1", "1", "--out", str(tmp_path / "no" / "r.parquet"))
    assert r.returncode == 2 and "does not exist" in r.stderr
    assert not (tmp_path / "no").exists()


def test_missing_optional_package_is_one_line(tmp_path):
    net = random_network([2, 4, 1], seed=0)
    path = tmp_path / "m.npz"
    net.to_npz(path)
    code = ("import sys; sys.modules['matplotlib'] = None; from nncells.cli import main; "
            f"sys.exit(main(['slice', {str(path)!r}, '--box', '-1', '1', '--plot', {str(tmp_path / 'x.png')!r}]))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "nncells[plot]" in r.stderr
    assert not (tmp_path / "x.png").exists()
