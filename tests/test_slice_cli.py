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
