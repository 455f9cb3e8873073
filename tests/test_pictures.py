"""Pictures explain themselves: legend, axis labels, title and colour bar (matplotlib Agg)."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import nncells  # noqa: E402
from nncells.errors import NNCellsError  # noqa: E402
from nncells.planar.partition import decision_boundary, planar_partition  # noqa: E402
from nncells.planar.plot import plot_layers, plot_partition  # noqa: E402

SQUARE = [[-1, -1], [1, -1], [1, 1], [-1, 1]]


@pytest.fixture
def part():
    return planar_partition(nncells.random_network([2, 8, 8, 3], seed=6), SQUARE)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def legend_texts(ax):
    leg = ax.get_legend()
    assert leg is not None
    return [t.get_text() for t in leg.get_texts()]


def test_class_picture_has_legend_labels_title(part):
    ax = plot_partition(part, color_by="class")
    texts = legend_texts(ax)
    classes = sorted(set(part.predicted().tolist()))
    assert [t for t in texts if t.startswith("class")] == [f"class {k}" for k in classes]
    assert "decision boundary" in texts and "region edges" in texts
    assert ax.get_xlabel() == "u (plane coordinate 1)" and ax.get_ylabel() == "v (plane coordinate 2)"
    n = len(decision_boundary(part)[0])
    assert ax.get_title() == f"{part.n_faces} regions, {n} decision-boundary segments"
    assert len(ax.figure.axes) == 1  # no colour bar for classes


def test_gradient_picture_has_colorbar(part):
    ax = plot_partition(part, color_by="gradient", xlabel="x1", ylabel="x2", title="t")
    fig = ax.figure
    assert len(fig.axes) == 2
    cbar_ax = [a for a in fig.axes if a is not ax][0]
    assert "gradient norm" in cbar_ax.get_ylabel()
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == ("x1", "x2", "t")
    assert "decision boundary" in legend_texts(ax)


def test_pattern_picture_without_boundary(part):
    ax = plot_partition(part, boundary=False)
    texts = legend_texts(ax)
    assert "decision boundary" not in texts and "region edges" in texts
    assert ax.get_title() == f"{part.n_faces} regions"


def test_labelled_points_mark_misclassified(part):
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1, 1, (30, 2))
    labels = nncells.random_network([2, 8, 8, 3], seed=6).forward(pts).argmax(axis=1)
    ax = plot_partition(part, color_by="class", points=pts, labels=labels)
    texts = legend_texts(ax)
    assert any(t.startswith("data point") for t in texts)
    assert not any(t.startswith("misclassified") for t in texts)  # all labels are the network's
    labels[:3] = (labels[:3] + 1) % 3
    ax = plot_partition(part, color_by="gradient", points=pts, labels=labels)
    texts = legend_texts(ax)
    assert any(t.startswith("misclassified") for t in texts)
    assert any(t.startswith("label: class") for t in texts)  # the label colours are explained
    # the crosses are exactly the relabelled points, filled with their label's colour
    crosses = [c for c in ax.collections if len(c.get_offsets()) == 3]
    assert len(crosses) == 1
    assert np.allclose(crosses[0].get_offsets(), pts[:3])
    expected = matplotlib.colormaps["tab10"](labels[:3] % 10)
    assert np.allclose(crosses[0].get_facecolors(), expected)


def test_unlabelled_points_and_bad_labels(part):
    ax = plot_partition(part, points=[[0, 0], [0.5, 0.5]])
    assert "data points" in legend_texts(ax)
    with pytest.raises(NNCellsError, match="2 labels for 3 data points"):
        plot_partition(part, points=np.zeros((3, 2)), labels=[0, 1])


def test_layers_picture(part):
    fig = plot_layers(part, xlabel="x1", ylabel="x2")
    assert len(fig.axes) == len(part.per_layer)
    assert all(ax.get_xlabel() == "x1" for ax in fig.axes) and fig.axes[0].get_ylabel() == "x2"
    assert "decision boundary" in legend_texts(fig.axes[-1])
