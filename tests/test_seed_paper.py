"""The seed paper's experiment (784-w-w-10 networks on upsampled digits, enumerated in [0, 1]^784):
the stand-in data set, the CLI run, counts checked by an independent `count_regions`, the report
rebuilt from the data files, and the time limit per network."""
import contextlib
import io
import json
from math import isclose

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

import nncells  # noqa: E402
from nncells import _config  # noqa: E402
from nncells.cli.main import main  # noqa: E402
from nncells.experiments import EXPERIMENTS, common, seed_paper  # noqa: E402
from nncells.experiments.common import parse_md_tables, read_csv, read_json  # noqa: E402
from test_experiments import sections  # noqa: E402  (one reader of a report's sections)

TINY = {"widths": [2, 3, 4], "epochs": 15, "lr": 1e-3, "batch_size": 64, "test_size": 0.25,
        "time_limit_s": 120.0, "stop_after_cap": True, "speedup_runs": 1, "task_budget_s": 1.0}


def close(a, b):
    """Equal to the 4 significant digits the report prints."""
    return isclose(float(a), float(b), rel_tol=1e-3, abs_tol=1e-9)


def runs_of(d):
    return read_csv(d / "runs.csv")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """The quick run from the CLI, on an even smaller configuration (widths 2-4) to stay fast."""
    d = tmp_path_factory.mktemp("seed-paper")
    buf = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(buf):
        mp.setitem(seed_paper.CONFIGS, "quick", TINY)
        assert main(["experiment", "seed-paper", "--out", str(d), "--quick", "--json"]) == 0
    return d, buf.getvalue()


def test_registered():
    assert EXPERIMENTS["seed-paper"] == "nncells.experiments.seed_paper"
    assert set(seed_paper.CONFIGS) == {"quick", "full"}
    assert seed_paper.CONFIGS["full"]["widths"][-1] >= 16   # the full list stays configurable


def test_digits28_loader():
    from sklearn.datasets import load_digits
    X, y, n_classes = common.load_digits28()
    assert X.shape == (1797, 784) and X.dtype == np.float32 and n_classes == 10
    assert X.min() == 0.0 and X.max() == 1.0
    assert (y == load_digits().target).all()
    X2, y2, _ = common.load_digits28()
    assert (X == X2).all() and (y == y2).all()                  # deterministic
    # a faithful resize: each image's mean intensity is kept to within the edges' clamping
    img = load_digits().images / 16.0
    assert np.abs(X.reshape(-1, 28, 28).mean(axis=(1, 2)) - img.mean(axis=(1, 2))).max() < 0.05
    # a constant image stays constant; the interpolation rows are convex combinations
    U = common.bilinear_matrix(8, 28)
    assert (U >= 0).all() and np.allclose(U.sum(axis=1), 1) and np.allclose(U @ np.ones((8, 8)) @ U.T, 1)


def test_quick_run_files_and_json(quick):
    d, stdout = quick
    obj = json.loads(stdout)                     # exactly one JSON object on stdout
    assert obj["experiment"] == "seed-paper" and obj["report"].endswith("report.md")
    for f in ("runs.csv", "speedup.csv", "rank_children.csv", "rank_summary.csv", "fits.json", "config.json",
              "report.md") + tuple(s + e for s in ("networks", "runtime", "speedup", "rank_children")
                                   for e in (".png", ".svg")):
        assert (d / f).stat().st_size > 0, f
        assert f in obj["files"]
    cfg = read_json(d / "config.json")
    assert cfg["mode"] == "quick" and cfg["widths"] == TINY["widths"] and cfg["seed"] == 0
    runs = read_csv(d / "runs.csv")
    assert [r["width"] for r in runs] == TINY["widths"]
    assert all(r["status"] == "complete" and r["arch"] == f"784-{r['width']}-{r['width']}-10" for r in runs)
    assert all(0 <= r["train_accuracy"] <= 1 and 0 <= r["test_accuracy"] <= 1 for r in runs)
    assert max(r["test_accuracy"] for r in runs) > 0.2          # the networks learnt something


def test_counts_match_an_independent_count(quick):
    d, _ = quick
    for r in runs_of(d):
        net = nncells.Network.from_npz(d / r["network"])
        s = nncells.count_regions(net, nncells.Box(0, 1), workers=1)
        assert s["regions"] == r["regions"], r["arch"]
        assert s["per_layer"][0] == r["layer1_regions"] <= 2 ** r["width"]
        assert r["regions"] <= 2 ** (2 * r["width"])
    speed = read_csv(d / "speedup.csv")
    assert speed and all(r["regions"] == r["regions_2_workers"] and r["complete"] for r in speed)
    by_arch = {r["arch"]: r for r in runs_of(d)}
    assert all(r["regions"] == by_arch[r["arch"]]["regions"] for r in speed)


def test_rank_table_is_consistent(quick):
    d, _ = quick
    rank = read_csv(d / "rank_children.csv")
    for r in runs_of(d):
        rows = [x for x in rank if x["arch"] == r["arch"]]
        assert len(rows) == r["layer1_regions"]                   # one row per first-layer region
        assert sum(x["children"] for x in rows) == r["regions"]   # the children partition the regions
        assert all(1 <= x["children"] <= x["max_children"] and 0 <= x["rank"] <= r["width"] for x in rows)
        assert all(x["children"] == 1 for x in rows if x["rank"] == 0)


def test_report_matches_data_and_rebuilds(quick):
    d, _ = quick
    report = (d / "report.md").read_text()
    assert "EMNIST cannot be downloaded" in report
    secs = sections(report)
    runs = runs_of(d)
    (table,) = parse_md_tables(secs["Networks"])
    for got, want in zip(table, runs, strict=True):
        assert got["arch"] == want["arch"] and got["regions"] == want["regions"]
        assert got["lp_solves"] == want["lp_solves"] and close(got["seconds"], want["seconds"])
        assert close(got["test_accuracy"], want["test_accuracy"])
    (fit_table,) = parse_md_tables(secs["Runtime and LP solves against regions"])
    n = [r["regions"] for r in runs]
    for row in fit_table:
        f = seed_paper.fit_origin(n, [r[row["quantity"]] for r in runs])
        assert close(row["per region (origin)"], f["slope"]) and close(row["R2 (origin)"], f["r2"])
    (rank_table,) = parse_md_tables(secs["Rank of a first-layer region against its second-layer regions"])
    rank = read_csv(d / "rank_children.csv")
    for row in rank_table:
        ch = [r["children"] for r in rank if r["width"] == row["width"] and r["rank"] == row["rank"]]
        assert row["parents"] == len(ch) and close(row["mean_children"], np.mean(ch))
    # write_report rebuilds report.md and the figures from the data files alone
    for f in ("report.md", "runtime.png", "fits.json", "rank_summary.csv"):
        (d / f).unlink()
    seed_paper.write_report(d)
    assert (d / "report.md").read_text() == report
    assert (d / "runtime.png").exists() and (d / "rank_summary.csv").exists()


def test_fit_origin():
    f = seed_paper.fit_origin([10, 20, 40], [1.0, 2.0, 4.0])
    assert close(f["slope"], 0.1) and close(f["r2"], 1.0)
    assert np.isnan(seed_paper.fit_origin([1, 2], [3, 3])["r2"])   # constant y: R^2 undefined
    with pytest.raises(nncells.NNCellsError):
        seed_paper.fit_origin([0, 0], [1, 2])


def test_time_limit_caps_a_network(monkeypatch):
    """A limit reached is a lower bound, not an error (the warm-up in the driver is switched off so
    that the progress callback, which enforces the limit, is reached)."""
    monkeypatch.setattr(_config, "WARMUP_S", 0.0)
    net = nncells.random_network([784, 5, 5, 2], seed=0)
    res, n, secs = seed_paper.enumerate_capped(net, 1, -1.0, "test", budget_s=0.0)
    assert res is None and n >= 0 and secs >= 0


def test_capped_widths_are_reported_and_wider_ones_skipped(tmp_path, monkeypatch):
    real = seed_paper.enumerate_capped

    def fake(net, workers, limit_s, label, budget_s=1.0):
        if net.widths[0] >= 3:
            return None, 17, limit_s
        return real(net, workers, limit_s, label, budget_s)
    monkeypatch.setattr(seed_paper, "enumerate_capped", fake)
    monkeypatch.setitem(seed_paper.CONFIGS, "quick", dict(TINY, epochs=2, widths=[1, 2, 3, 4]))
    seed_paper.run(tmp_path, quick=True)
    runs = runs_of(tmp_path)
    assert [r["status"] for r in runs] == ["complete", "complete", "capped", "skipped"]
    assert runs[2]["regions"] == 17 and runs[3]["regions"] is None and runs[3]["test_accuracy"] is not None
    left = sections((tmp_path / "report.md").read_text())["Left out"]
    assert "784-3-3-10: reached the limit" in left and "784-4-4-10: trained" in left
    assert [r["arch"] for r in read_csv(tmp_path / "speedup.csv")] == ["784-2-2-10"]
