"""Pictures of planar partitions (matplotlib, Agg backend): regions, decision boundary, data
points, and how each layer refines the partition."""
from __future__ import annotations

import numpy as np

from nncells.engine.tasks import prefix_ids
from nncells.errors import NNCellsError
from nncells.planar.partition import PlanarPartition, class_pieces, decision_boundary

COLOR_BY = ("pattern", "class", "gradient")


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def _ids_colors(ids: np.ndarray, seed: int = 0) -> np.ndarray:
    """A random but reproducible pastel colour per integer id."""
    rng = np.random.default_rng(seed)
    n = int(ids.max()) + 1 if len(ids) else 0
    palette = 0.35 + 0.6 * rng.random((max(n, 1), 3))
    return palette[ids]


def face_colors(part: PlanarPartition, color_by: str = "pattern"):
    """RGB(A) colours of the faces: by activation ``pattern``, predicted ``class``, or the norm
    of the local ``gradient`` (Frobenius norm of the face's affine map).

    Parameters
    ----------
    part : PlanarPartition
    color_by : one of `COLOR_BY`: ``"pattern"``, ``"class"`` or ``"gradient"``.

    Returns
    -------
    (n_faces, 3) RGB array for ``"pattern"`` (reproducible pastel colours), (n_faces, 4) RGBA
    otherwise.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import nncells
    >>> from nncells.planar.partition import planar_partition
    >>> from nncells.planar.plot import face_colors
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
    >>> [face_colors(part, c).shape for c in ("pattern", "class", "gradient")]
    [(18, 3), (18, 4), (18, 4)]
    >>> cols = face_colors(part)
    >>> bool(((cols >= 0) & (cols <= 1)).all())
    True
    """
    if color_by == "pattern":
        return _ids_colors(prefix_ids(part.patterns, part.patterns.shape[1]))
    if color_by == "class":  # the class at the centroid (`plot_partition` paints exact pieces)
        import matplotlib
        return matplotlib.colormaps["tab10"](part.predicted() % 10)
    if color_by == "gradient":
        import matplotlib
        g = np.sqrt((part.A ** 2).sum(axis=(1, 2)))
        span = g.max() - g.min()
        return matplotlib.colormaps["viridis"]((g - g.min()) / span if span > 0 else np.zeros_like(g))
    raise NNCellsError(f"unknown colouring {color_by!r}; choose one of {', '.join(COLOR_BY)}")


def _classes(y: np.ndarray) -> np.ndarray:
    """The class of each output row: argmax, or output > 0 for one output (as `predicted`)."""
    y = np.atleast_2d(y)
    return y.argmax(axis=1) if y.shape[1] > 1 else (y[:, 0] > 0).astype(np.int64)


def _class_color(k):
    import matplotlib
    return matplotlib.colormaps["tab10"](np.asarray(k) % 10)


def _draw(ax, part, colors, edge_mask=None, boundary=True, points=None, labels=None):
    """Draw faces, edges, boundary and points; return the legend handles."""
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.lines import Line2D
    handles = []
    ax.add_collection(PolyCollection(part.polygons(), facecolors=colors, edgecolors="none",
                                     antialiaseds=False))
    fa, fb, seg = part.interior_edges()
    mask = np.ones(len(seg), bool) if edge_mask is None else edge_mask(fa, fb)
    ax.add_collection(LineCollection(seg[mask], colors="k", linewidths=0.3, alpha=0.6))
    handles.append(Line2D([], [], color="k", lw=0.6, alpha=0.6, label="region edges"))
    if boundary:
        db, _ = decision_boundary(part)
        ax.add_collection(LineCollection(db, colors="crimson", linewidths=1.5))
        handles.append(Line2D([], [], color="crimson", lw=1.5, label="decision boundary"))
    if points is not None and len(points):
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if labels is None:
            ax.scatter(points[:, 0], points[:, 1], s=12, c="k", edgecolors="w", linewidths=0.4, zorder=3)
            handles.append(Line2D([], [], ls="none", marker="o", ms=4, mfc="k", mec="w", label="data points"))
        else:
            labels = np.asarray(labels).astype(np.int64).reshape(-1)
            if len(labels) != len(points):
                raise NNCellsError(f"{len(labels)} labels for {len(points)} data points")
            wrong = _classes(part.network.forward(points)) != labels
            for bad, marker, size, text in ((False, "o", 16, "data point, fill = its label's class"),
                                            (True, "X", 46, "misclassified point (fill = its label)")):
                sel = wrong == bad
                if sel.any():
                    ax.scatter(points[sel, 0], points[sel, 1], s=size, marker=marker,
                               c=_class_color(labels[sel]), edgecolors="k", linewidths=0.6 if bad else 0.4,
                               zorder=4 if bad else 3)
                    handles.append(Line2D([], [], ls="none", marker=marker, ms=7 if bad else 4.5,
                                          mfc="lightgray", mec="k", label=text))
    lo, hi = part.polygon.min(axis=0), part.polygon.max(axis=0)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    return handles


def plot_partition(part: PlanarPartition, ax=None, color_by: str = "pattern", boundary: bool = True,
                   points=None, labels=None, title: str | None = None,
                   xlabel: str = "u (plane coordinate 1)", ylabel: str = "v (plane coordinate 2)",
                   legend: bool = True, class_names=None):
    """Draw the regions (coloured by ``color_by``), their edges, the decision boundary (red)
    and optional data ``points`` (plane coordinates, (n, 2)) with class ``labels``, with axis
    labels, a title, a legend (outside the axes, on the right) and, for ``"gradient"``, a
    colour bar. Returns the matplotlib axes.

    Points with labels are filled with their label's class colour (the colours of
    ``color_by="class"``); a point whose label is not the network's class at that point is drawn
    as a large cross, so misclassified points stand out.

    Parameters
    ----------
    part : PlanarPartition
    ax : matplotlib axes to draw on; a new 7 x 6 inch figure when None.
    color_by : see `face_colors`; ``"class"`` paints the exact pieces of `class_pieces`.
    boundary : draw the decision boundary.
    points, labels : optional (n, 2) points and their (n,) integer classes.
    title : the axes' title; default the numbers of regions and decision-boundary segments.
    xlabel, ylabel : the axis labels (names of the plane's coordinates).
    legend : draw the legend (classes, edges, boundary, points).
    class_names : optional names of the classes for the legend (default ``class k``).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import nncells
    >>> from nncells.planar.partition import planar_partition
    >>> from nncells.planar.plot import plot_partition
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
    >>> ax = plot_partition(part, color_by="class", points=[[0, 0], [0.5, 0.5]], labels=[0, 1])
    >>> ax.get_title(), [float(v) for v in ax.get_xlim()], ax.get_xlabel()
    ('18 regions, 1 decision-boundary segment', [-1.0, 1.0], 'u (plane coordinate 1)')
    >>> [t.get_text() for t in ax.get_legend().get_texts()][:3]
    ['class 0', 'class 1', 'region edges']
    >>> ax = plot_partition(part, color_by="gradient", title="gradient")
    >>> len(ax.figure.axes)  # the axes and its colour bar
    2
    >>> plt.close("all")
    """
    from matplotlib.patches import Patch
    if color_by not in COLOR_BY:
        raise NNCellsError(f"unknown colouring {color_by!r}; choose one of {', '.join(COLOR_BY)}")
    if ax is None:
        _, ax = _plt().subplots(figsize=(7, 6))
    handles = []
    if color_by == "class":  # paint the pieces of faces the decision boundary cuts, not whole faces
        from matplotlib.collections import PolyCollection
        verts, start, loops, _, cls = class_pieces(part)
        ax.add_collection(PolyCollection(np.split(verts[loops], start[1:-1]), edgecolors="none",
                                         facecolors=_class_color(cls), antialiaseds=False))
        colors = "none"
        for k in np.unique(cls):
            name = class_names[k] if class_names is not None and k < len(class_names) else f"class {k}"
            handles.append(Patch(facecolor=_class_color(k), edgecolor="none", label=str(name)))
    else:
        colors = face_colors(part, color_by)
    handles += _draw(ax, part, colors, boundary=boundary, points=points, labels=labels)
    if labels is not None and points is not None and len(points) and color_by != "class":
        from matplotlib.lines import Line2D  # the class colours are not in the legend yet
        for k in np.unique(np.asarray(labels).astype(np.int64)):
            name = class_names[k] if class_names is not None and k < len(class_names) else f"class {k}"
            handles.append(Line2D([], [], ls="none", marker="o", ms=5, mfc=_class_color(k), mec="k",
                                  label=f"label: {name}"))
    if color_by == "gradient":
        import matplotlib
        from matplotlib.cm import ScalarMappable
        g = np.sqrt((part.A ** 2).sum(axis=(1, 2)))
        lo, hi = float(g.min()), float(g.max())
        sm = ScalarMappable(norm=matplotlib.colors.Normalize(lo, hi if hi > lo else lo + 1),
                            cmap=matplotlib.colormaps["viridis"])
        ax.figure.colorbar(sm, ax=ax, fraction=0.046, pad=0.03,
                           label="gradient norm (Frobenius norm of the region's linear map)")
    if title is None:
        title = f"{part.n_faces} regions"
        if boundary:
            n = len(decision_boundary(part)[0])
            title += f", {n} decision-boundary segment{'' if n == 1 else 's'}"
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend and handles:
        if color_by == "gradient":  # the colour bar is on the right: the legend goes below
            ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1),
                      ncol=min(len(handles), 3), fontsize="small", frameon=False)
        else:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0,
                      fontsize="small", frameon=False)
    return ax


def plot_layers(part: PlanarPartition, boundary: bool = True, xlabel: str = "u (plane coordinate 1)",
                ylabel: str = "v (plane coordinate 2)"):
    """One panel per hidden layer: the partition after that layer (faces coloured by their
    pattern prefix, edges drawn only between different prefixes; the last panel also shows the
    decision boundary and a legend). Returns the figure.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import nncells
    >>> from nncells.planar.partition import planar_partition
    >>> from nncells.planar.plot import plot_layers
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
    >>> fig = plot_layers(part)
    >>> [ax.get_title() for ax in fig.axes]
    ['layer 1: 8 regions', 'layer 2: 18 regions']
    >>> fig.axes[0].get_xlabel(), fig.axes[-1].get_legend() is not None
    ('u (plane coordinate 1)', True)
    >>> plt.close(fig)
    """
    n = len(part.per_layer)
    plt = _plt()
    fig, axes = plt.subplots(1, max(n, 1), figsize=(4.5 * max(n, 1), 4.8), squeeze=False)
    slices = part.network.layer_slices
    for layer in range(max(n, 1)):
        ax = axes[0, layer]
        end = slices[layer].stop if n else 0
        ids = prefix_ids(part.patterns, end)
        last = layer == max(n, 1) - 1
        handles = _draw(ax, part, _ids_colors(ids, seed=layer), edge_mask=lambda fa, fb: ids[fa] != ids[fb],
                        boundary=boundary and last)
        ax.set_title(f"layer {layer + 1}: {part.per_layer[layer] if n else 1} regions")
        ax.set_xlabel(xlabel)
        if layer == 0:
            ax.set_ylabel(ylabel)
        if last:
            ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0,
                      fontsize="small", frameon=False)
    fig.tight_layout()
    return fig


def save_figure(part: PlanarPartition, path, *, layers: bool = False, dpi: int = 150, **kwargs) -> None:
    """Write a PNG, SVG or PDF (by ``path``'s suffix) of `plot_partition` (or `plot_layers`).

    Parameters
    ----------
    part : PlanarPartition
    path : file name ending in ``.png``, ``.svg`` or ``.pdf``.
    layers : draw `plot_layers` instead of `plot_partition`.
    dpi : resolution of raster output.
    **kwargs : passed to `plot_partition` (or `plot_layers`).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import os
    >>> import tempfile
    >>> import nncells
    >>> from nncells.planar.partition import planar_partition
    >>> from nncells.planar.plot import save_figure
    >>> net = nncells.random_network([2, 6, 6, 3], seed=0)
    >>> part = planar_partition(net, [[-1, -1], [1, -1], [1, 1], [-1, 1]])
    >>> out = tempfile.mkdtemp()
    >>> save_figure(part, os.path.join(out, "regions.png"), dpi=40, color_by="gradient")
    >>> save_figure(part, os.path.join(out, "layers.svg"), layers=True)
    >>> sorted(os.listdir(out))
    ['layers.svg', 'regions.png']
    """
    path = str(path)
    if not path.lower().endswith((".png", ".svg", ".pdf")):
        raise NNCellsError(f"figure file must end in .png, .svg or .pdf: {path!r}")
    plt = _plt()
    if layers:
        fig = plot_layers(part, **kwargs)
    else:
        fig, ax = plt.subplots(figsize=(7, 6))
        plot_partition(part, ax=ax, **kwargs)
    try:
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    except OSError as e:
        raise NNCellsError(f"cannot write figure {path!r}: {e.strerror or e}") from None
    finally:
        plt.close(fig)
