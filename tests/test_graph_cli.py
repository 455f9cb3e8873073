"""`nncells enumerate --adjacency [FILE] --certify` (issue 16): the edge table names rows of the
region table the run wrote, the summary reports the graph's decision components and the
certificate, a failed certificate exits with status 1, bad combinations are refused early."""
import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import nncells
from nncells import Box, enumerate_regions, random_network
from nncells.analysis import decision_components
from nncells.cli.main import main
from cli_helpers import run_nncells

NET = random_network([3, 10, 8, 2], seed=3)


_run = run_nncells


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "m.npz"
    NET.to_npz(path)
    return path


@pytest.fixture(scope="module")
def ref():
    res = enumerate_regions(NET, Box(-1, 1), workers=1)
    E = res.adjacency()
    packed = [bytes(r) for r in np.packbits(res.patterns, axis=1)]
    pairs = {frozenset((packed[i], packed[j])) for i, j in zip(E["i"], E["j"])}
    return res, pairs


def _pairs_of(regions_patterns, edges):
    packed = [bytes(r) for r in np.packbits(regions_patterns, axis=1)]
    return {frozenset((packed[i], packed[j])) for i, j in zip(edges["i"], edges["j"])}


def _patterns_of_table(table):
    return nncells.read_arrays(table)["patterns"]


@pytest.mark.parametrize("out", [None, "r.parquet", "run"])
def test_edges_name_rows_of_the_written_table(tmp_path, model, ref, out):
    res, pairs = ref
    args = ["enumerate", model, "--box", "-1", "1", "--json", "--certify", "--workers", "1"]
    if out:
        args += ["--out", tmp_path / out]
    edges_file = tmp_path / "_edges.parquet" if out != "run" else None
    args += ["--adjacency"] + ([edges_file] if edges_file else [])
    components = out != "r.parquet"   # only when asked
    r = _run(*args, *(["--components"] if components else []))
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    path = edges_file or tmp_path / "run" / "_adjacency.parquet"
    edges = pq.read_table(path).to_pydict()
    assert s["adjacency"]["edges"] == len(edges["i"]) and s["adjacency"]["file"] == str(path)
    patterns = res.patterns if out is None else _patterns_of_table(tmp_path / out)
    assert _pairs_of(patterns, edges) == pairs
    i, j, k = (np.array(edges[c]) for c in ("i", "j", "neuron"))
    assert (i < j).all() and (patterns[i, k] != patterns[j, k]).all()
    assert s["certified"]["exist"] == s["certified"]["of"] == res.count and s["certified"]["closed"]
    if components:
        comps = decision_components(res)["classes"]
        assert s["decision_components"] == {str(c): n for c, n in comps.items()}
    else:
        assert "decision_components" not in s
    if out == "run":  # the edge file is beside the shards, not among them
        assert len(pd.read_parquet(tmp_path / "run")) == res.count
        assert _run("verify", tmp_path / "run").returncode == 0


def test_human_summary_and_whole_space(tmp_path, model):
    r = _run("enumerate", model, "--whole-space", "--adjacency", tmp_path / "e.parquet", "--certify", "--components",
             "--workers", "1")
    assert r.returncode == 0, r.stderr
    assert "adjacency " in r.stdout and "components " in r.stdout and "dual graph closed" in r.stdout
    res = enumerate_regions(NET, nncells.Space(), workers=1)
    assert pq.read_metadata(tmp_path / "e.parquet").num_rows == len(res.adjacency()["i"])


def test_components_alone(model, ref):
    r = _run("enumerate", model, "--box", "-1", "1", "--json", "--components", "--workers", "1")
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert "adjacency" not in s and "certified" not in s
    assert s["decision_components"] == {str(c): n for c, n in decision_components(ref[0])["classes"].items()}


@pytest.mark.parametrize("extra, words", [
    (["--adjacency"], "needs a FILE.parquet"),
    (["--adjacency", "e.txt"], "FILE.parquet"),
    (["--count-only", "--adjacency", "e.parquet"], "--count-only"),
    (["--count-only", "--certify"], "--count-only"),
    (["--count-only", "--components"], "--components"),
    (["--adjacency", "{tmp}/no/such/e.parquet"], "does not exist"),
    (["--out", "{tmp}/run", "--adjacency", "{tmp}/run/edges.parquet"], "_edges.parquet"),
])
def test_bad_graph_options_are_refused_before_work(tmp_path, model, extra, words):
    extra = [e.format(tmp=tmp_path) for e in extra]
    r = _run("enumerate", model, "--box", "-1", "1", *extra)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and words in r.stderr, r.stderr
    assert not (tmp_path / "run").exists()


def test_failed_certificate_exits_1_naming_the_region(tmp_path, model, monkeypatch, capsys):
    from nncells.results.result import EnumerationResult
    real = EnumerationResult.certify

    def broken(self, max_failures=20):
        self.patterns = self.patterns.copy()
        self.patterns[7, 0] = ~self.patterns[7, 0]  # a corrupted pattern
        return real(self, max_failures)

    monkeypatch.setattr(EnumerationResult, "certify", broken)
    rc = main(["enumerate", str(model), "--box", "-1", "1", "--certify", "--json", "--workers", "1", "--quiet"])
    s = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert s["certified"]["exist"] < s["certified"]["of"]
    assert 7 in {f["region"] for f in s["certified"]["failures"]}


def test_in_memory_adjacency_uses_the_facets_recorded_while_enumerating(tmp_path, model, ref, monkeypatch, capsys):
    from nncells.engine import compiled

    def refuse(self, task):
        raise AssertionError("the core ran a second time")
    monkeypatch.setattr(compiled.Core, "facets", refuse)
    edges_file = tmp_path / "_edges.parquet"
    rc = main(["enumerate", str(model), "--box", "-1", "1", "--json", "--workers", "1", "--quiet", "--certify",
               "--adjacency", str(edges_file), "--out", str(tmp_path / "r.parquet")])
    assert rc == 0
    assert json.loads(capsys.readouterr().out)["certified"]["closed"]
    edges = pd.read_parquet(edges_file)
    assert _pairs_of(_patterns_of_table(tmp_path / "r.parquet"), edges) == ref[1]
