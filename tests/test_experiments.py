"""The quick mode of every experiment runs from the CLI, writes its files, and its report's
numbers are the ones in its data files."""
from collections import defaultdict
from math import isclose

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")
pytest.importorskip("matplotlib")

from nncells.analysis import measures as an  # noqa: E402
from nncells.cli.main import main  # noqa: E402
from nncells.experiments import EXPERIMENTS  # noqa: E402
from nncells.experiments.common import parse_md_tables, read_csv, read_json  # noqa: E402


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = {}
    for name in EXPERIMENTS:
        d = tmp_path_factory.mktemp(name)
        assert main(["experiment", name, "--out", str(d), "--quick"]) == 0
        out[name] = d
    return out


def close(a, b):
    """Equal to the 4 significant digits the reports print."""
    return isclose(float(a), float(b), rel_tol=1e-3, abs_tol=1e-9)


def sections(text):
    """``{heading: body}`` for the ``## `` sections of a report."""
    out, cur = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            cur = line[3:].strip()
            out[cur] = []
        elif cur is not None:
            out[cur].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


# ------------------------------------------------------------------ training dynamics
def test_training_dynamics_files(outputs):
    d = outputs["training-dynamics"]
    for f in ("balls.csv", "distances.csv", "checkpoints.csv", "summary.csv", "config.json", "report.md",
              "training_moons.png", "training_moons.svg", "training_digits.png", "training_digits.svg"):
        assert (d / f).stat().st_size > 0, f
    cfg = read_json(d / "config.json")
    assert cfg["mode"] == "quick" and cfg["seed"] == 0
    balls = read_csv(d / "balls.csv")
    n_ckpt = len(cfg["checkpoints"])
    assert len(balls) == 2 * n_ckpt * 2 * cfg["n_points"] * len(cfg["radii"])
    for r in balls:  # the exact count is at least 1 and never above the proven bound
        assert 1 <= r["exact"] <= r["upper_bound"]
    assert all(r["boundary_distance"] >= 0 for r in read_csv(d / "distances.csv"))
    # a larger ball around the same point meets at least as many regions
    by = {(r["dataset"], r["epoch"], r["kind"], r["point"], r["radius"]): r["exact"] for r in balls}
    small, big = sorted(cfg["radii"])[:2]
    for (ds, ep, kind, p, rad), v in by.items():
        if rad == small:
            assert v <= by[(ds, ep, kind, p, big)]
    ck = read_csv(d / "checkpoints.csv")
    assert sorted({r["epoch"] for r in ck}) == cfg["checkpoints"]
    assert all(r["box_regions"] >= 1 for r in ck)


def test_training_dynamics_report_matches_data(outputs):
    d = outputs["training-dynamics"]
    balls, dist, ck = (read_csv(d / f) for f in ("balls.csv", "distances.csv", "checkpoints.csv"))
    exact, upper, dists = defaultdict(list), defaultdict(list), defaultdict(list)
    for r in balls:
        exact[(r["dataset"], r["epoch"], r["kind"], r["radius"])].append(r["exact"])
        upper[(r["dataset"], r["epoch"], r["kind"], r["radius"])].append(r["upper_bound"])
    for r in dist:
        dists[(r["dataset"], r["epoch"], r["kind"])].append(r["boundary_distance"])
    box = {(r["dataset"], r["epoch"]): r["box_regions"] for r in ck}
    acc = {(r["dataset"], r["epoch"]): r["accuracy"] for r in ck}
    secs = sections((d / "report.md").read_text())
    checked = 0
    for ds in ("moons", "digits"):
        (table,) = parse_md_tables(secs[ds])
        assert [r["epoch"] for r in table] == sorted({e for (s, e) in box if s == ds})
        for row in table:
            ep = row["epoch"]
            assert close(row["box regions"], box[(ds, ep)])
            assert close(row["accuracy"], acc[(ds, ep)])
            for col, v in row.items():
                if col.startswith("count r="):
                    rad, kind = float(col.split()[1][2:]), col.split()[2]
                    assert close(v, np.mean(exact[(ds, ep, kind, rad)]))
                    checked += 1
                elif col.startswith("bound r="):
                    rad, kind = float(col.split()[1][2:]), col.split()[2]
                    assert close(v, np.mean(upper[(ds, ep, kind, rad)]))
                elif col.startswith("distance "):
                    assert close(v, np.median(dists[(ds, ep, col.split()[1])]))
    assert checked >= 8


# ------------------------------------------------------------------ scaling
def test_scaling_files_and_invariants(outputs):
    d = outputs["scaling"]
    for stem in ("scaling", "rank_children", "bounds"):
        for ext in (".png", ".svg"):
            assert (d / (stem + ext)).stat().st_size > 0
    for f in ("runs.csv", "rank_children.csv", "rank_summary.csv", "bounds.csv", "speedup.csv",
              "fits.json", "config.json", "report.md"):
        assert (d / f).stat().st_size > 0, f
    runs = read_csv(d / "runs.csv")
    assert {r["domain"] for r in runs} == {"box", "space"}
    assert all(r["regions"] >= 1 and r["seconds"] > 0 for r in runs)
    for r in read_csv(d / "bounds.csv"):
        n0, *widths = (int(v) for v in r["arch"].split("-"))
        assert r["serra"] == an.serra_upper_bound(n0, widths)
        assert r["montufar"] == an.montufar_upper_bound(n0, widths)
        assert r["exact"] <= r["serra"] <= r["montufar"]
    rank = read_csv(d / "rank_children.csv")
    assert all(1 <= r["children"] <= r["max_children"] for r in rank)
    speed = read_csv(d / "speedup.csv")
    assert speed and all(r["regions"] == r["regions_2_workers"] for r in speed)
    assert (d / "speedup.png").exists()


def test_scaling_report_matches_data(outputs):
    d = outputs["scaling"]
    secs = sections((d / "report.md").read_text())
    runs = read_csv(d / "runs.csv")
    fits_table, runs_table = parse_md_tables(secs["Runtime and LP solves against regions"])
    assert len(runs_table) == len(runs)
    for got, want in zip(runs_table, runs):
        assert (got["arch"], got["domain"], got["trained"]) == (want["arch"], want["domain"], want["trained"])
        assert got["regions"] == want["regions"] and got["lp_solves"] == want["lp_solves"]
        assert close(got["seconds"], want["seconds"])
    for row in fits_table:  # fits recomputed from runs.csv
        dom, *rest = row["runs"].split(", ")
        sub = [r for r in runs if r["domain"] == dom
               and (not rest or r["input_dim"] == int(rest[0].split("=")[1]))]
        f = an.scaling_fits(sub)
        assert row["n"] == len(sub)
        assert close(row["s per 1000 regions"], 1000 * f["seconds"]["slope"])
        assert close(row["R2 time"], f["seconds"]["r2"])
        assert close(row["LP per region"], f["lp_solves"]["slope"])
    (bounds_table,) = parse_md_tables(secs["Global upper bounds against exact counts (whole space)"])
    for got, want in zip(bounds_table, read_csv(d / "bounds.csv"), strict=True):
        assert (got["arch"], got["exact"], got["serra"], got["montufar"]) == \
            (want["arch"], want["exact"], want["serra"], want["montufar"])
    (rank_table,) = parse_md_tables(secs["Rank of a region's map against its children in the next layer"])
    rank = read_csv(d / "rank_children.csv")
    for row in rank_table:
        ch = [r["children"] for r in rank if r["width"] == row["width"] and r["rank"] == row["rank"]]
        assert row["parents"] == len(ch)
        assert close(row["mean_children"], np.mean(ch))
        assert row["max_observed"] == max(ch)


def test_report_only_rebuilds_the_same_report(outputs, capsys):
    d = outputs["scaling"]
    before = (d / "report.md").read_text()
    assert main(["experiment", "scaling", "--out", str(d), "--report-only", "--json"]) == 0
    assert '"report"' in capsys.readouterr().out
    assert (d / "report.md").read_text() == before


def test_experiment_cli_errors(tmp_path, capsys):
    assert main(["experiment", "scaling", "--out", str(tmp_path / "empty"), "--report-only"]) == 2
    assert "config.json" in capsys.readouterr().err
    f = tmp_path / "file"
    f.write_text("x")
    assert main(["experiment", "scaling", "--out", str(f), "--quick"]) == 2
    with pytest.raises(SystemExit):
        main(["experiment", "no-such-experiment", "--out", str(tmp_path)])
