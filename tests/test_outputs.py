"""Outputs on disk: a sharded run's directory is a Parquet dataset; `read_arrays` reads files and
directories; old-style (``manifest.json``) directories are still read and resumed."""
import json
import subprocess
import sys

import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import nncells
from nncells import _config, Box, enumerate_regions, enumerate_to_dir, random_network, read_arrays
from nncells.results.result import canonical_order
from nncells.results.store import LEGACY_MANIFEST, MANIFEST, NETWORK_FILE
from nncells.run import checkpoint
from nncells.run.executors import SerialExecutor

NET = random_network([3, 8, 6, 1], seed=4)
COLUMNS = ["pattern", "point", "radius", "ranks"]


@pytest.fixture(scope="module")
def ref():
    return enumerate_regions(NET, Box(-1, 1), workers=1)


def _packed(patterns):
    return sorted(bytes(r) for r in np.packbits(patterns, axis=1))


def _sorted(t):
    order = canonical_order(t["patterns"])
    return {k: t[k][order] for k in ("patterns", "points", "radii", "ranks")}


def _assert_same_regions(got, ref, exact=False):
    """The regions of ``ref``; points and radii only up to rounding unless ``exact`` (a run split
    into other tasks may compute them in another order)."""
    got = _sorted(got)
    assert np.array_equal(got["patterns"], ref.patterns)
    assert np.array_equal(got["ranks"], ref.ranks)
    if exact:
        assert np.array_equal(got["points"], ref.points) and np.array_equal(got["radii"], ref.radii)
    else:
        assert np.allclose(got["points"], ref.points, rtol=0, atol=1e-9)
        assert np.allclose(got["radii"], ref.radii, rtol=1e-9, atol=1e-12)


def test_output_dir_is_a_parquet_dataset(tmp_path, ref, small_shards):
    pd = pytest.importorskip("pandas")
    out = tmp_path / "run"
    enumerate_to_dir(NET, Box(-1, 1), out, workers=1)
    shards = sorted(out.glob("shard-*.parquet"))
    assert len(shards) > 1
    assert sorted(f.name for f in out.iterdir() if f not in shards) == [checkpoint.LOCK, MANIFEST, NETWORK_FILE]
    # every shard has the columns of a single file written by to_parquet
    ref.to_parquet(tmp_path / "one.parquet")
    single = pq.read_schema(tmp_path / "one.parquet")
    assert single.names == COLUMNS
    for f in shards:
        assert pq.read_schema(f).remove_metadata().equals(single.remove_metadata())
    df = pd.read_parquet(out)
    assert list(df.columns) == COLUMNS and len(df) == ref.count
    assert sorted(df["pattern"]) == _packed(ref.patterns)
    table = ds.dataset(out).to_table()
    assert table.num_rows == ref.count
    assert sorted(table.column("pattern").to_pylist()) == _packed(ref.patterns)


def test_cli_output_dir_reads_with_pandas(tmp_path, ref):
    pd = pytest.importorskip("pandas")
    model, out = tmp_path / "m.npz", tmp_path / "run"
    NET.to_npz(model)
    r = subprocess.run([sys.executable, "-m", "nncells", "enumerate", str(model), "--box", "-1", "1",
                        "--out", str(out), "--workers", "1", "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    df = pd.read_parquet(out)
    assert len(df) == ref.count and sorted(df["pattern"]) == _packed(ref.patterns)


def test_read_arrays_round_trips_a_file_and_a_directory(tmp_path, ref, small_shards):
    ref.to_parquet(tmp_path / "r.parquet")
    one = read_arrays(tmp_path / "r.parquet")
    _assert_same_regions(one, ref, exact=True)
    assert np.array_equal(one["patterns"], ref.patterns)  # a file keeps the canonical order
    assert one["meta"]["network"] == NET.fingerprint
    enumerate_to_dir(NET, Box(-1, 1), tmp_path / "run", workers=1)
    many = read_arrays(str(tmp_path / "run"))
    _assert_same_regions(many, ref)
    assert many["meta"]["finished"] and many["meta"]["regions"] == ref.count
    assert nncells.read_arrays is read_arrays


def test_read_arrays_of_an_empty_directory_run(tmp_path):
    nncells.count_regions(NET, Box(-1, 1), workers=1, out_dir=tmp_path / "run")
    t = read_arrays(tmp_path / "run")
    assert t["patterns"].shape == (0, 14) and t["points"].shape == (0, 3) and t["ranks"].shape == (0, 2)


def test_read_arrays_errors(tmp_path):
    with pytest.raises(nncells.NNCellsError, match="no _manifest.json"):
        read_arrays(tmp_path)
    (tmp_path / "x.parquet").write_text("not parquet")
    with pytest.raises(nncells.NNCellsError, match="not a readable Parquet"):
        read_arrays(tmp_path / "x.parquet")


def _interrupted_run(out, monkeypatch):
    """A run stopped (as by Ctrl-C) after a few tasks, with a checkpoint holding shards and a frontier."""
    monkeypatch.setattr(_config, "WARMUP_S", 0.0)
    calls = []

    def progress(count, text):
        calls.append(count)
        if count > 20:  # some regions written, work left
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        enumerate_to_dir(NET, Box(-1, 1), out, executor=SerialExecutor(1e-4), progress=progress)
    man = json.loads((out / MANIFEST).read_text())
    assert not man["finished"] and man["frontier"]["file"].startswith("_frontier-") and man["shards"]
    return man


def _make_old_style(out, man, frontier_pickle=b""):
    """Rename the files to the layout of older runs: manifest.json (format 1: no checksums) and
    frontier-NNNNNN.pkl (a pickle)."""
    if man.get("frontier"):
        (out / man["frontier"]["file"]).unlink()
        old = "frontier-000003.pkl"
        (out / old).write_bytes(frontier_pickle)
        man = dict(man, frontier=old)
    man = {k: v for k, v in man.items() if k not in ("checksum", "checkpoints")}
    man["format"] = "nncells-regions/1"
    man["shards"] = [{"file": s["file"], "rows": s["rows"]} for s in man["shards"]]
    (out / LEGACY_MANIFEST).write_text(json.dumps(man))
    (out / MANIFEST).unlink()


def test_interrupted_run_is_a_dataset_and_resumes(tmp_path, ref, monkeypatch, small_shards):
    pd = pytest.importorskip("pandas")
    out = tmp_path / "run"
    man = _interrupted_run(out, monkeypatch)
    rows = sum(s["rows"] for s in man["shards"])
    assert len(pd.read_parquet(out)) == rows == len(read_arrays(out)["patterns"])
    enumerate_to_dir(NET, Box(-1, 1), out, workers=1, resume=True)
    _assert_same_regions(read_arrays(out), ref)
    assert len(pd.read_parquet(out)) == ref.count


class _Evil:
    def __reduce__(self):
        return (open, ("pwned-by-a-pickle", "w"))


def test_old_style_pickle_frontier_is_refused_unloaded(tmp_path, monkeypatch, small_shards):
    """A run directory of an older nncells holds a pickled frontier: resuming it must not load the
    pickle (which can run code); its shards are still read."""
    import pickle
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "run"
    man = _interrupted_run(out, monkeypatch)
    _make_old_style(out, man, pickle.dumps([_Evil()]))
    assert read_arrays(out)["meta"]["frontier"].startswith("frontier-")
    assert len(read_arrays(out)["patterns"]) == man["regions"]
    with pytest.raises(nncells.RunError, match="older nncells.*pickle"):
        enumerate_to_dir(NET, Box(-1, 1), out, workers=1, resume=True)
    assert not (tmp_path / "pwned-by-a-pickle").exists()
    assert (out / "frontier-000003.pkl").exists()  # nothing deleted either


def test_old_style_finished_directory_is_read(tmp_path, ref):
    out = tmp_path / "run"
    enumerate_to_dir(NET, Box(-1, 1), out, workers=1)
    _make_old_style(out, json.loads((out / MANIFEST).read_text()))
    _assert_same_regions(read_arrays(out), ref)
    with pytest.raises(nncells.RunError, match="already finished"):
        enumerate_to_dir(NET, Box(-1, 1), out, workers=1, resume=True)
