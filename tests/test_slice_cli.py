"""The ``nncells slice`` command."""
import argparse
import json
import subprocess
import sys

import numpy as np
import pytest

import nncells
from nncells.cli import slice_cmd
from nncells.errors import NNCellsError


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "nncells", "slice", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def run_direct(*args):
    p = argparse.ArgumentParser()
    slice_cmd.add_arguments(p)
    return slice_cmd.run(p.parse_args(list(map(str, args))))


@pytest.fixture
def model2(tmp_path):
    path = tmp_path / "model.npz"
    nncells.random_network([2, 8, 8, 3], seed=6).to_npz(path)
    return path


def test_box_json_plot(model2, tmp_path):
    out = tmp_path / "out.png"
    layers = tmp_path / "layers.svg"
    r = run_cli(model2, "--box", -1, 1, "--json", "--plot", out, "--layers-plot", layers, "--color", "class")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 1
    obj = json.loads(lines[0])
    net = nncells.Network.from_npz(model2)
    res = nncells.enumerate_regions(net, nncells.Box(-1, 1), method="cells")
    assert obj["regions"] == res.count and obj["per_layer"] == res.per_layer
    assert obj["vertices"] > obj["regions"] and obj["seconds"] >= 0 and abs(obj["area"] - 4) < 1e-9
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and b"<svg" in layers.read_bytes()


def test_points_and_origin(tmp_path, capsys):
    net = nncells.random_network([4, 8, 1], seed=1)
    model = tmp_path / "m4.npz"
    net.to_npz(model)
    pts = tmp_path / "p.csv"
    np.savetxt(pts, np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0, 2, 0, 0]]), delimiter=",")
    assert run_direct(model, "--points", pts, "--json") == 0
    a = json.loads(capsys.readouterr().out)
    assert abs(a["area"] - 2.0) < 1e-9  # bounding rectangle [0, 1] x [0, 2]
    np.save(tmp_path / "p.npy", np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0, 2, 0, 0]], float))
    assert run_direct(model, "--points", tmp_path / "p.npy", "--json") == 0
    assert json.loads(capsys.readouterr().out)["regions"] == a["regions"]
    assert run_direct(model, "--origin", "0,1,0,0", "--dirs", "1,0,0,0", "0,0,1,0", "--extent", "0.5,2",
                      "--json", "--plot", tmp_path / "o.png", "--data", pts) == 0
    b = json.loads(capsys.readouterr().out)
    assert abs(b["area"] - 4.0) < 1e-9 and b["regions"] >= 1 and (tmp_path / "o.png").exists()
    assert run_direct(model, "--origin", "0,1,0,0", "--dirs", "1,0,0,0", "0,0,1,0") == 0
    assert "regions" in capsys.readouterr().out


def test_bad_input(model2, tmp_path):
    bad = tmp_path / "bad.csv"
    np.savetxt(bad, np.array([[0, 0], [1, 1], [2, 2]]), delimiter=",")
    for args, words in [(("--box", 1, -1), "lo >= hi"), (("--points", bad), "collinear"),
                        (("--origin", "0,0,0", "--dirs", "1,0,0", "0,1,0"), r"R\^3"),
                        (("--origin", "0,0", "--dirs", "1,0", "2,0"), "parallel"),
                        (("--box", -1, 1, "--plot", tmp_path / "x.gif"), ".png")]:
        with pytest.raises(NNCellsError, match=words):
            run_direct(model2, *args)
    m3 = tmp_path / "m3.npz"
    nncells.random_network([3, 4, 1]).to_npz(m3)
    r = run_cli(m3, "--box", -1, 1)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "2-input" in r.stderr


def test_plot_explains_itself(model2, tmp_path, capsys, saved_figures):
    X = np.random.default_rng(0).uniform(-1, 1, (25, 2))
    np.save(tmp_path / "X.npy", X)
    y = nncells.Network.from_npz(model2).forward(X).argmax(axis=1)
    y[0] = (y[0] + 1) % 3
    np.savetxt(tmp_path / "y.csv", y, fmt="%d")
    assert run_direct(model2, "--box", -1, 1, "--color", "class", "--data", tmp_path / "X.npy",
                      "--labels", tmp_path / "y.csv", "--plot", tmp_path / "c.png", "--json") == 0
    obj = json.loads(capsys.readouterr().out)
    (fig,) = saved_figures
    (ax,) = fig.axes
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("x1", "x2")
    assert ax.get_title() == (f"model.npz: {obj['regions']} regions, "
                              f"{obj['decision_boundary_segments']} decision-boundary segments")
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "decision boundary" in texts and any(t.startswith("class ") for t in texts)
    assert any(t.startswith("misclassified") for t in texts) and any(t.startswith("data point") for t in texts)
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_gradient_plot_has_colorbar_and_plane_labels(tmp_path, capsys, saved_figures):
    model = tmp_path / "m4.npz"
    nncells.random_network([4, 8, 2], seed=1).to_npz(model)
    assert run_direct(model, "--origin", "0,0,0,0", "--dirs", "1,0,0,0", "0,0,1,0", "--color", "gradient",
                      "--plot", tmp_path / "g.png", "--layers-plot", tmp_path / "l.png") == 0
    capsys.readouterr()
    fig, layers = saved_figures
    assert len(fig.axes) == 2  # the picture and its colour bar
    ax, cbar = fig.axes
    assert "gradient norm" in cbar.get_ylabel()
    assert ax.get_xlabel().startswith("s (plane coordinate 1") and "1,0,0,0" in ax.get_xlabel()
    assert ax.get_ylabel().startswith("t (plane coordinate 2") and "0,0,1,0" in ax.get_ylabel()
    assert ax.get_title().startswith("m4.npz: ") and ax.get_legend() is not None
    assert layers.axes[0].get_xlabel() == ax.get_xlabel()
    pts = tmp_path / "p.csv"
    np.savetxt(pts, np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0, 2, 0, 0]]), delimiter=",")
    assert run_direct(model, "--points", pts, "--plot", tmp_path / "p.png") == 0
    assert saved_figures[-1].axes[0].get_xlabel() == "u (plane coordinate 1)"


def test_bad_labels_one_line(model2, tmp_path):
    X = tmp_path / "X.npy"
    np.save(X, np.zeros((4, 2)))
    np.savetxt(tmp_path / "short.csv", [0, 1, 2], fmt="%d")
    np.savetxt(tmp_path / "frac.csv", [0, 1.5, 2, 0])
    np.savetxt(tmp_path / "two.csv", np.zeros((4, 2)), delimiter=",")
    (tmp_path / "junk.csv").write_text("a\nb\nc\nd\n")
    for labels, words in [("short.csv", "3 labels but --data has 4 points"), ("frac.csv", "integers"),
                          ("two.csv", "one column"), ("junk.csv", "cannot read labels"),
                          ("missing.npy", "cannot read labels")]:
        r = run_cli(model2, "--box", -1, 1, "--data", X, "--labels", tmp_path / labels, "--plot", tmp_path / "o.png")
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and words in r.stderr, r.stderr
        assert r.stderr.startswith("nncells: error:")
    with pytest.raises(NNCellsError, match="--labels needs --data"):
        run_direct(model2, "--box", -1, 1, "--labels", tmp_path / "short.csv")


def test_one_input_model_says_slices_need_two_inputs(tmp_path):
    m1 = tmp_path / "m1.npz"
    nncells.random_network([1, 4, 1]).to_npz(m1)
    np.savetxt(tmp_path / "p.csv", np.array([[0.0], [1.0], [2.0]]), delimiter=",")
    for args in (("--box", -1, 1), ("--origin", "0", "--dirs", "1", "1"), ("--points", tmp_path / "p.csv")):
        r = run_cli(m1, *args)
        assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
        assert "at least 2 inputs" in r.stderr and "1 input" in r.stderr
