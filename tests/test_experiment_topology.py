"""The topology experiment's quick run: its files, its Betti numbers against a recomputation from
the saved final network, the barcode against them, the report rebuilt from the files, the CLI."""
import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

import nncells  # noqa: E402
from nncells.analysis.topology import decision_topology  # noqa: E402
from nncells.errors import NNCellsError  # noqa: E402
from nncells.experiments import topology_training as topo  # noqa: E402
from nncells.experiments.common import QUICK_FIT_NOTE, read_csv, read_json  # noqa: E402

from cli_helpers import run_nncells  # noqa: E402

FILES = ("checkpoints.csv", "betti.csv", "bars.csv", "config.json", "final_seed0.npz", "report.md",
         "betti.png", "betti.svg", "barcode.png", "barcode.svg")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("topology")
    result = topo.run(out, quick=True)
    return out, result


def test_quick_run_writes_every_file(quick):
    out, result = quick
    for f in FILES:
        assert (out / f).stat().st_size > 0, f
    assert result["report"] == str(out / "report.md") and result["fits"] == QUICK_FIT_NOTE
    cfg = read_json(out / "config.json")
    ck, betti = read_csv(out / "checkpoints.csv"), read_csv(out / "betti.csv")
    assert [r["epoch"] for r in ck] == cfg["checkpoints"]
    assert len(betti) == 3 * len(ck)
    for r in ck:  # the two tables agree, and the refined complex is a disk (chi = 1)
        rows = {str(b["class"]): b for b in betti if b["epoch"] == r["epoch"]}
        assert sorted(rows) == ["0", "1", "boundary"]
        for c in rows:
            assert [rows[c]["b0"], rows[c]["b1"]] == [r[f"{c}_b0"], r[f"{c}_b1"]]
        assert r["f0"] - r["f1"] + r["f2"] == 1 and r["f2"] == r["cells"] >= r["regions"] >= 1


def test_betti_rows_match_the_saved_final_network(quick):
    out, _ = quick
    cfg = read_json(out / "config.json")
    net = nncells.load_model(str(out / "final_seed0.npz"))
    top = decision_topology(net, nncells.Box(-cfg["box"], cfg["box"], dim=2), workers=1)
    last = max(cfg["checkpoints"])
    rows = {str(r["class"]): [r["b0"], r["b1"]] for r in read_csv(out / "betti.csv") if r["epoch"] == last}
    assert rows == {"0": top.betti["0"][:2], "1": top.betti["1"][:2], "boundary": top.boundary_betti[:2]}
    ck = [r for r in read_csv(out / "checkpoints.csv") if r["epoch"] == last][0]
    assert [ck["f0"], ck["f1"], ck["f2"], ck["regions"]] == top.faces + [top.regions]


def test_bars_alive_at_zero_are_class_0s_betti_numbers(quick):
    out, _ = quick
    bars = read_csv(out / "bars.csv")
    assert any(r["death"] == float("inf") for r in bars)  # the essential class survives the round trip
    assert all(r["death"] > r["birth"] for r in bars)
    last = max(read_json(out / "config.json")["checkpoints"])
    c0 = [[r["b0"], r["b1"]] for r in read_csv(out / "betti.csv") if r["epoch"] == last and str(r["class"]) == "0"]
    alive = [sum(r["birth"] <= 0 < r["death"] and r["dim"] == k for r in bars) for k in (0, 1)]
    assert c0 == [alive]
    assert "Check passed" in (out / "report.md").read_text()


def test_report_is_rebuilt_from_the_files(quick):
    out, _ = quick
    text = (out / "report.md").read_text()
    assert QUICK_FIT_NOTE in text and "## Betti numbers per checkpoint" in text
    (out / "report.md").unlink()
    (out / "betti.png").unlink()
    topo.write_report(out)
    assert (out / "report.md").read_text() == text and (out / "betti.png").stat().st_size > 0


def test_cli_prints_one_json_object(tmp_path):
    r = run_nncells("experiment", "topology", "--quick", "--out", tmp_path / "t", "--json", timeout=120)
    assert r.returncode == 0, r.stderr
    obj = json.loads(r.stdout)
    assert obj["experiment"] == "topology" and set(FILES) <= set(obj["files"])
    assert obj["fits"] == QUICK_FIT_NOTE


def test_model_with_three_inputs_is_refused(tmp_path):
    path = tmp_path / "m.npz"
    nncells.random_network([3, 4, 2], seed=0).to_npz(path)
    with pytest.raises(NNCellsError) as e:
        topo.run(tmp_path / "out", quick=True, model=path)
    assert "maps 3 inputs to 2 outputs" in str(e.value) and "\n" not in str(e.value)
    assert not (tmp_path / "out").exists()


def test_training_starts_from_a_users_model(tmp_path):
    path = tmp_path / "m.npz"
    start = nncells.random_network([2, 5, 5, 2], seed=1)
    start.to_npz(path)
    topo.run(tmp_path / "out", quick=True, seed=3, model=path)
    cfg = read_json(tmp_path / "out" / "config.json")
    assert cfg["widths"] == [5, 5] and cfg["seeds"] == 1 and cfg["model"] == str(path)
    ck = read_csv(tmp_path / "out" / "checkpoints.csv")
    assert {r["seed"] for r in ck} == {3}
    top = decision_topology(start, nncells.Box(-1.6, 1.6, dim=2), workers=1)
    assert ck[0]["epoch"] == 0 and ck[0]["0_b0"] == top.betti["0"][0] and ck[0]["regions"] == top.regions
