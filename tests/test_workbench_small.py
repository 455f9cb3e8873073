"""Issue 24: `nncells local --no-exact`, ``norm`` as a string, a light ``--version`` / ``--help``,
quick-mode fits labelled, experiments on a user's model, py.typed, ModelError for torch layers."""
import io
import json
import subprocess
import sys
from importlib import resources

import numpy as np
import pytest

from nncells import random_network
from nncells.cli.main import COMMANDS, main
from cli_helpers import save_network


@pytest.fixture
def model(tmp_path):
    net, path = save_network(tmp_path, [2, 6, 5, 1], 2)
    return net, str(path)


# ------------------------------------------------------------------ nncells local
def test_no_exact_gives_bounds_without_a_count(model, capsys):
    _, path = model
    assert main(["local", path, "--center", "0.2,-0.1", "--radius", "0.8", "--no-exact", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["exact"] is None and out["lp_solves"] is None
    assert 1 <= out["sampled_lower_bound"] <= out["upper_bound"]
    assert out["boundary_distance"] > 0 and out["local_complexity"] >= 0


def test_no_exact_text_and_conflict(model, capsys):
    _, path = model
    assert main(["local", path, "--center", "0,0", "--radius", "0.5", "--no-exact"]) == 0
    assert "not counted (--no-exact)" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:  # argparse: --exact and --no-exact exclude each other
        main(["local", path, "--points", "p.npy", "--radius", "1", "--exact", "--no-exact"])
    assert e.value.code == 2


@pytest.mark.parametrize("norm", ["2", "inf"])
def test_norm_is_a_string_single_and_batch(model, tmp_path, capsys, norm):
    _, path = model
    assert main(["local", path, "--center", "0,0", "--radius", "0.3", "--norm", norm, "--samples", "50",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["norm"] == norm
    np.save(tmp_path / "p.npy", np.zeros((2, 2)))
    assert main(["local", path, "--points", str(tmp_path / "p.npy"), "--radius", "0.3", "--norm", norm,
                 "--samples", "0", "--out", str(tmp_path / "o.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["norm"] == norm


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_exact_count_in_high_dimension_shows_progress(tmp_path, monkeypatch, capsys):
    import nncells.local
    from nncells import _config
    real = nncells.local.regions_in_ball

    def spy(*args, progress=None, **kw):  # the engine's first report, whatever the run's size
        progress(7, "")
        return real(*args, progress=progress, **kw)

    monkeypatch.setattr(nncells.local, "regions_in_ball", spy)
    shown = {}
    for d in (2, _config.VERTEX_MAX_DIM + 1):
        path = tmp_path / f"m{d}.npz"
        random_network([d, 4, 1], seed=0).to_npz(path)
        for quiet in ([], ["--quiet"]):
            err = _Terminal()
            monkeypatch.setattr(sys, "stderr", err)
            assert main(["local", str(path), "--center", ",".join(["0"] * d), "--radius", "0.5",
                         "--samples", "20", "--json"] + quiet) == 0
            assert json.loads(capsys.readouterr().out)["exact"] >= 1
            shown[d, bool(quiet)] = "exact count (--no-exact skips it): 7 found" in err.getvalue()
    assert shown == {(2, False): False, (2, True): False, (_config.VERTEX_MAX_DIM + 1, False): True,
                     (_config.VERTEX_MAX_DIM + 1, True): False}


# ------------------------------------------------------------------ a light --version / --help
def _modules_after(argv) -> set:
    code = ("import sys\nfrom nncells.cli.main import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)" % (argv,))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return set(done.stderr.split())


HEAVY = ("nncells.engine", "nncells.api", "pyarrow", "scipy.spatial", "nncells.cli.enumerate_cmd")


@pytest.mark.parametrize("argv", [["--version"], ["--help"]])
def test_version_and_help_import_nothing_heavy(argv):
    loaded = _modules_after(argv)
    assert "nncells.cli.main" in loaded
    assert not [m for m in HEAVY if m in loaded]


def test_a_commands_help_imports_only_that_command():
    loaded = _modules_after(["local", "--help"])
    assert "nncells.cli.local_cmd" in loaded
    others = {f"nncells.cli.{m}" for m, _ in COMMANDS.values()} - {"nncells.cli.local_cmd"}
    assert not others & loaded


def test_help_still_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in COMMANDS)
    with pytest.raises(SystemExit):
        main(["local", "--help"])
    assert "--no-exact" in capsys.readouterr().out


# ------------------------------------------------------------------ experiments
def test_scaling_on_a_users_model_labels_quick_fits(tmp_path, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("matplotlib")
    from nncells.experiments.common import read_csv, read_json
    path = tmp_path / "u.npz"
    random_network([2, 8, 8, 2], seed=1).to_npz(path)
    out = tmp_path / "sc"
    assert main(["experiment", "scaling", "--out", str(out), "--quick", "--model", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fits"] == "not meaningful: quick mode"
    cfg = read_json(out / "config.json")
    runs = read_csv(out / "runs.csv")
    assert [r["half_width"] for r in runs] == cfg["model_half_widths"] and cfg["model"] == str(path)
    assert {r["arch"] for r in runs} == {"2-8-8"}
    counts = [r["regions"] for r in runs]
    assert counts == sorted(counts)  # nested boxes: non-decreasing counts
    fits = read_json(out / "fits.json")
    assert fits and all(f["note"] == "not meaningful: quick mode" for f in fits.values())
    assert "not meaningful: quick mode" in (out / "report.md").read_text()
    assert main(["experiment", "scaling", "--out", str(out), "--report-only", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fits"] == "not meaningful: quick mode"


def test_experiment_model_errors(tmp_path, capsys):
    path = tmp_path / "u.npz"
    random_network([3, 4, 4], seed=0).to_npz(path)  # 4 outputs: neither moons nor digits
    assert main(["experiment", "seed-paper", "--out", str(tmp_path / "a"), "--model", str(path)]) == 2
    assert "--model goes with" in capsys.readouterr().err
    assert main(["experiment", "scaling", "--out", str(tmp_path / "b"), "--model", str(tmp_path / "no.npz")]) == 2
    assert "no such file" in capsys.readouterr().err
    pytest.importorskip("torch")
    assert main(["experiment", "training-dynamics", "--out", str(tmp_path / "c"), "--quick",
                 "--model", str(path)]) == 2
    assert "maps 3 inputs to 4 outputs" in capsys.readouterr().err


# ------------------------------------------------------------------ packaging, errors
def test_py_typed_is_in_the_package():
    assert resources.files("nncells").joinpath("py.typed").is_file()


def test_unsupported_torch_layer_is_a_model_error(tmp_path):
    torch = pytest.importorskip("torch")
    from nncells import ModelError, load_model
    from nncells.models.torch import from_torch
    m = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.GELU(), torch.nn.Linear(3, 1))
    with pytest.raises(ModelError, match="GELU"):
        from_torch(m)
    torch.jit.save(torch.jit.script(m), tmp_path / "m.pt")
    with pytest.raises(ModelError, match="GELU"):
        load_model(str(tmp_path / "m.pt"))
