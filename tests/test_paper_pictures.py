"""Pictures for a paper (issue 24): title, axis labels, dpi, size and PDF from the CLI and the
API; nothing overlaps; anchors of ``--points`` slices marked; off-plane data judged at the point."""
import argparse
import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.markers import MarkerStyle  # noqa: E402

import nncells  # noqa: E402
from nncells.cli import slice_cmd  # noqa: E402
from nncells.errors import NNCellsError  # noqa: E402
from nncells.network import Network  # noqa: E402
from nncells.planar.partition import planar_partition  # noqa: E402
from nncells.planar.plot import ANCHORS_LABEL, plot_partition  # noqa: E402
from nncells.planar.slices import Plane  # noqa: E402

LONG_TITLE = "a-model-file-with-a-rather-long-name.npz: 118 regions, 12 decision-boundary segments"


def run_direct(*args):
    p = argparse.ArgumentParser()
    slice_cmd.add_arguments(p)
    return slice_cmd.run(p.parse_args(list(map(str, args))))


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def model2(tmp_path):
    path = tmp_path / "model.npz"
    nncells.random_network([2, 8, 8, 3], seed=6).to_npz(path)
    return path


def test_cli_options_reach_the_figure(model2, tmp_path, capsys, saved_figures):
    out = tmp_path / "paper.pdf"
    assert run_direct(model2, "--box", -1, 1, "--color", "class", "--plot", out, "--title", "Figure 1",
                      "--xlabel", "x_1", "--ylabel", "x_2", "--dpi", 300, "--figsize", "6,5") == 0
    (fig,) = saved_figures
    ax = fig.axes[0]
    assert (ax.get_title(), ax.get_xlabel(), ax.get_ylabel()) == ("Figure 1", "x_1", "x_2")
    assert fig.dpi == 300 and np.allclose(fig.get_size_inches(), [6, 5])
    data = out.read_bytes()
    assert len(data) > 1000 and data.startswith(b"%PDF")
    assert f"wrote {out}" in capsys.readouterr().out
    # a PNG is exactly figsize x dpi pixels; an SVG is written too
    png, svg = tmp_path / "p.png", tmp_path / "p.svg"
    assert run_direct(model2, "--box", -1, 1, "--plot", png, "--layers-plot", svg, "--dpi", 50,
                      "--figsize", "8,6", "--title", "T") == 0
    head = png.read_bytes()[:24]
    assert head[:4] == b"\x89PNG" and (int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")) == (400, 300)
    assert b"<svg" in svg.read_bytes() and saved_figures[-1].get_suptitle() == "T"
    for bad, words in [(("--figsize", "6"), "two numbers"), (("--figsize", "6,-1"), "positive"),
                       (("--dpi", 0), "dpi")]:
        with pytest.raises(NNCellsError, match=words):
            run_direct(model2, "--box", -1, 1, "--plot", tmp_path / "x.png", *bad)


def _boxes(fig):
    """Window extents of every piece of text and every axes and legend of ``fig``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    if not isinstance(fig.canvas, FigureCanvasAgg):  # a saved figure was closed: draw it again
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    out = []
    for i, ax in enumerate(fig.axes):
        out.append((f"axes {i}", ax.get_window_extent(r)))
        for name, t in [("title", ax.title), ("xlabel", ax.xaxis.label), ("ylabel", ax.yaxis.label)]:
            if t.get_text():
                out.append((f"{name} {i}", t.get_window_extent(r)))
        for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            for k, (v, t) in enumerate(zip(axis.get_majorticklocs(), axis.get_majorticklabels())):
                if min(lim) <= v <= max(lim) and t.get_text() and t.get_visible():
                    out.append((f"tick label {axis.axis_name}{k} of {i}", t.get_window_extent(r)))
        if ax.get_legend() is not None:
            out.append((f"legend {i}", ax.get_legend().get_window_extent(r)))
    return out


def assert_nothing_overlaps(fig):
    boxes = _boxes(fig)
    assert any(name.startswith("legend") for name, _ in boxes)
    bad = [(a, b) for (a, ba), (b, bb) in itertools.combinations(boxes, 2) if ba.overlaps(bb)]
    assert not bad, bad
    f = fig.bbox.padded(1)
    outside = [n for n, b in boxes if not (f.x0 <= b.x0 and f.y0 <= b.y0 and b.x1 <= f.x1 and b.y1 <= f.y1)]
    assert not outside, outside


@pytest.mark.parametrize("color_by", ["pattern", "class", "gradient"])
@pytest.mark.parametrize("figsize", [None, (4.5, 3.5)])
def test_nothing_overlaps(color_by, figsize):
    part = planar_partition(nncells.random_network([2, 8, 8, 3], seed=6), [[-1, -1], [1, -1], [1, 1], [-1, 1]])
    pts = np.random.default_rng(0).uniform(-1, 1, (20, 2))
    ax = plot_partition(part, color_by=color_by, title=LONG_TITLE, figsize=figsize, points=pts,
                        labels=np.arange(20) % 3, distances=np.linspace(0, 1, 20), max_distance=0.8,
                        anchors=[[-1, -1], [1, -1], [0, 1]], xlabel="s (plane coordinate 1, along U = 1,0,0,0)")
    assert_nothing_overlaps(ax.figure)
    assert ax.get_title().replace("\n", " ") == LONG_TITLE  # wrapped, not cut
    if figsize is None:  # the default size fits as it is
        assert np.allclose(ax.figure.get_size_inches(), [7, 6])


@pytest.mark.parametrize("color_by", ["pattern", "class", "gradient"])
def test_nothing_overlaps_from_the_cli(model2, tmp_path, capsys, saved_figures, color_by):
    X = np.random.default_rng(1).uniform(-1, 1, (15, 2))
    np.save(tmp_path / "X.npy", X)
    np.savetxt(tmp_path / "y.csv", np.arange(15) % 3, fmt="%d")
    assert run_direct(model2, "--box", -1, 1, "--color", color_by, "--data", tmp_path / "X.npy", "--labels",
                      tmp_path / "y.csv", "--plot", tmp_path / "o.png", "--title", LONG_TITLE) == 0
    assert_nothing_overlaps(saved_figures[-1])


def test_points_slices_mark_the_anchors(tmp_path, capsys, saved_figures):
    model = tmp_path / "m4.npz"
    nncells.random_network([4, 8, 2], seed=1).to_npz(model)
    P = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0, 2, 1, 0]], float)
    np.savetxt(tmp_path / "p.csv", P, delimiter=",")
    assert run_direct(model, "--points", tmp_path / "p.csv", "--plot", tmp_path / "p.png") == 0
    ax = saved_figures[-1].axes[0]
    (anchors,) = [c for c in ax.collections if c.get_label() == ANCHORS_LABEL]
    assert np.allclose(anchors.get_offsets(), Plane.through_points(*P).coordinates(P))
    assert ANCHORS_LABEL in [t.get_text() for t in ax.get_legend().get_texts()]
    # other slices have no anchors
    assert run_direct(model, "--origin", "0,0,0,0", "--dirs", "1,0,0,0", "0,1,0,0", "--plot", tmp_path / "o.png") == 0
    assert not [c for c in saved_figures[-1].axes[0].collections if c.get_label() == ANCHORS_LABEL]


def _is_cross(collection):
    m = MarkerStyle("X")
    cross, path = m.get_path().transformed(m.get_transform()).vertices, collection.get_paths()[0].vertices
    return cross.shape == path.shape and np.allclose(cross, path)


def test_off_plane_points_are_judged_at_the_point(tmp_path, capsys, saved_figures):
    # f(x) = relu(x3) - relu(-x3) + relu(x1) - 0.8 = x3 + relu(x1) - 0.8; class 1 iff f > 0.
    # On the plane x3 = 0 (through the anchors) the class is 1 iff x1 > 0.8.
    net = Network([[[0, 0, 1], [0, 0, -1], [1, 0, 0]], [[1, -1, 1]]], [[0, 0, 0], [-0.8]])
    net.to_npz(tmp_path / "m.npz")
    np.savetxt(tmp_path / "p.csv", [[0, 0, 0], [1, 0, 0], [0, 1, 0]], delimiter=",")
    # p: class 1 at itself (f = 0.4), class 0 at its projection: right, not misclassified;
    # q: class 0 at itself (f = -1.9), class 1 at its projection: misclassified.
    X = np.array([[0.2, 0.5, 1.0], [0.9, 0.5, -2.0]])
    assert (net.forward(X)[:, 0] > 0).tolist() == [True, False]
    assert (net.forward(X * [1, 1, 0])[:, 0] > 0).tolist() == [False, True]
    np.save(tmp_path / "X.npy", X)
    np.savetxt(tmp_path / "y.csv", [1, 1], fmt="%d")
    assert run_direct(tmp_path / "m.npz", "--points", tmp_path / "p.csv", "--data", tmp_path / "X.npy", "--labels",
                      tmp_path / "y.csv", "--color", "class", "--plot", tmp_path / "o.png") == 0
    ax = saved_figures[-1].axes[0]
    points = [c for c in ax.collections if c.get_label() != ANCHORS_LABEL and len(c.get_offsets())
              and c.get_offsets().shape == (1, 2)]
    by_point = {tuple(np.round(c.get_offsets()[0], 9)): c for c in points}
    p, q = by_point[(0.2, 0.5)], by_point[(0.9, 0.5)]
    assert not _is_cross(p) and _is_cross(q)
    # drawn by their distance to the plane: the farther (q, 2 away) fainter than p (1 away)
    assert q.get_facecolors()[0, 3] < p.get_facecolors()[0, 3] < 1
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("fainter") for t in texts)
    # --max-distance leaves q out and says so
    assert run_direct(tmp_path / "m.npz", "--points", tmp_path / "p.csv", "--data", tmp_path / "X.npy", "--labels",
                      tmp_path / "y.csv", "--plot", tmp_path / "o.png", "--max-distance", 1.5) == 0
    ax = saved_figures[-1].axes[0]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "1 point > 1.5 off the plane: not shown" in texts
    assert not any(t.startswith("misclassified") for t in texts)
