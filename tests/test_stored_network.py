"""Regions on disk carry their network: `nncells.read_regions(path)` returns the `EnumerationResult`
with no other argument, reads its regions on first use, and refuses a network that is not theirs."""
import base64
import pickle
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest

import nncells
from nncells import Box, EnumerationResult, enumerate_regions, enumerate_to_dir, random_network
from nncells.errors import NNCellsError
from nncells.results import reader
from nncells.results.store import MANIFEST, NETWORK_FILE, NETWORK_KEY, read_manifest, write_manifest
from nncells.results.verify import verify_run
from run_helpers import interrupt_run

NET = random_network([3, 8, 6, 1], seed=4)
OTHER = random_network([3, 8, 6, 1], seed=5)


@pytest.fixture(scope="module")
def ref():
    return enumerate_regions(NET, Box(-1, 1), workers=1)


def _same(back, res, stored=True):
    """``back`` (read from disk) is ``res``; ``stored``: with the network read from disk too."""
    assert isinstance(back, EnumerationResult)
    assert back.network == res.network and (back.network is not res.network) == stored
    assert back.domain.to_dict() == res.domain.to_dict() and repr(back) == repr(res)
    assert np.array_equal(back.patterns, res.patterns) and np.array_equal(back.ranks, res.ranks)
    assert np.array_equal(back.locate(res.points), np.arange(res.count))
    assert back.per_layer == res.per_layer


def _counting(monkeypatch):
    """Count the reads of region tables behind `read_regions`."""
    calls = []

    def counted(*a, **k):
        calls.append(a[0])
        return real(*a, **k)
    real = reader.read_arrays
    monkeypatch.setattr(reader, "read_arrays", counted)
    return calls


def _strip_file(path):
    """The file as an earlier version wrote it: no network in its metadata."""
    t = pq.read_table(path)
    meta = {k: v for k, v in t.schema.metadata.items() if k != NETWORK_KEY.encode()}
    pq.write_table(t.replace_schema_metadata(meta), path)


def _strip_run(out):
    """The directory as an earlier version wrote it: no ``_network.npz``, none in the manifest."""
    (out / NETWORK_FILE).unlink()
    man = read_manifest(out)
    del man["network_file"]
    write_manifest(out, man)


def test_a_file_reads_back_without_its_network(tmp_path, ref):
    ref.to_parquet(tmp_path / "r.parquet")
    _same(nncells.read_regions(tmp_path / "r.parquet"), ref)
    raw = pq.read_schema(tmp_path / "r.parquet").metadata[NETWORK_KEY.encode()]
    assert nncells.Network.from_npz(__import__("io").BytesIO(base64.b64decode(raw))) == NET
    assert nncells.read_result is nncells.read_regions


def test_a_directory_and_a_shard_read_back_without_their_network(tmp_path, ref, small_shards):
    out = tmp_path / "run"
    enumerate_to_dir(NET, Box(-1, 1), out, workers=1)
    man = read_manifest(out)
    assert man["network_file"]["file"] == NETWORK_FILE and len(man["shards"]) > 1
    _same(nncells.read_regions(out), ref)
    shard = out / man["shards"][1]["file"]
    part = nncells.read_regions(shard, partial=True)
    assert part.network == NET and part.count == man["shards"][1]["rows"] == len(part.patterns)
    assert np.array_equal(NET.pattern(part.points), part.patterns)


def test_the_regions_are_read_on_first_use(tmp_path, ref, monkeypatch, small_shards):
    out = tmp_path / "run"
    enumerate_to_dir(NET, Box(-1, 1), out, workers=1)
    calls = _counting(monkeypatch)
    res = nncells.read_regions(out)
    assert (len(res), res.count, repr(res), res.network) == (ref.count, ref.count, repr(ref), NET)
    assert calls == []
    assert np.array_equal(res.patterns, ref.patterns) and len(calls) == 1
    assert np.array_equal(res.points[res.locate(ref.points)], res.points) and len(calls) == 1
    lazy = nncells.read_regions(out)
    back = pickle.loads(pickle.dumps(lazy))     # a result sent to a worker process goes with its regions
    assert len(calls) == 2 and np.array_equal(back.patterns, ref.patterns)


def test_a_damaged_shard_raises_when_the_regions_are_read(tmp_path, small_shards):
    out = tmp_path / "run"
    enumerate_to_dir(NET, Box(-1, 1), out, workers=1)
    res = nncells.read_regions(out)
    (out / read_manifest(out)["shards"][1]["file"]).write_bytes(b"not parquet")
    with pytest.raises(NNCellsError, match="shard-000001.parquet: not a readable Parquet"):
        res.patterns


def test_tables_of_earlier_versions_need_the_network(tmp_path, ref):
    path = tmp_path / "r.parquet"
    ref.to_parquet(path)
    _strip_file(path)
    out = tmp_path / "run"
    enumerate_to_dir(NET, Box(-1, 1), out, workers=1)
    _strip_run(out)
    for p in (path, out):
        with pytest.raises(NNCellsError, match="does not store its network: pass it"):
            nncells.read_regions(p)
        _same(nncells.read_regions(p, NET), ref, stored=False)
        with pytest.raises(NNCellsError, match="another network.*this network's"):
            nncells.read_regions(p, OTHER)


def test_a_network_that_is_not_theirs_is_refused(tmp_path, ref):
    out = tmp_path / "run"
    enumerate_to_dir(NET, Box(-1, 1), out, workers=1)
    OTHER.to_npz(out / NETWORK_FILE)
    with pytest.raises(NNCellsError, match="another network.*the stored network's"):
        nncells.read_regions(out)
    assert not verify_run(out)["ok"] and "_network.npz" in verify_run(out)["problems"][0]
    (out / NETWORK_FILE).write_bytes(b"garbage")
    with pytest.raises(NNCellsError, match="_network.npz: its stored network cannot be read"):
        nncells.read_regions(out)
    with pytest.raises(NNCellsError, match="read_arrays"):
        nncells.read_regions(out, NET.n_hidden)


@pytest.mark.parametrize("earlier", [False, True], ids=["listed", "earlier-version"])
def test_a_resumed_run_keeps_or_gains_its_network(tmp_path, ref, earlier):
    """A resumed run keeps the network file its manifest lists (rewriting it would break the
    listed checksum were the resume stopped before its next checkpoint); a run of an earlier
    version gains one."""
    out = tmp_path / "run"
    interrupt_run(NET, out)
    if earlier:
        _strip_run(out)
    before = read_manifest(out).get("network_file")
    enumerate_to_dir(NET, Box(-1, 1), out, workers=1, resume=True)
    after = read_manifest(out)["network_file"]
    assert (after == before) != earlier
    assert verify_run(out)["ok"]
    _same(nncells.read_regions(out), ref)


def test_a_stray_network_file_does_not_block_a_fresh_resume(tmp_path, ref):
    """A run stopped between writing its network and its first manifest starts over on resume."""
    out = tmp_path / "run"
    out.mkdir()
    NET.to_npz(out / NETWORK_FILE)
    assert not (out / MANIFEST).exists()
    enumerate_to_dir(NET, Box(-1, 1), out, workers=1, resume=True)
    _same(nncells.read_regions(out), ref)
    shutil.rmtree(out)


def test_a_count_only_run_has_no_regions_to_read(tmp_path, ref):
    out = tmp_path / "run"
    assert nncells.count_regions(NET, Box(-1, 1), out_dir=out, workers=1)["regions"] == ref.count
    with pytest.raises(NNCellsError, match=f"count-only run \\({ref.count} regions counted\\)"):
        nncells.read_regions(out)
