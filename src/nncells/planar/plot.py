"""Pictures of planar partitions (matplotlib, Agg backend): regions, decision boundary, data
points, and how each layer refines the partition."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from nncells.engine.tasks import prefix_ids
from nncells.errors import NNCellsError
from nncells.planar.partition import PlanarPartition, class_pieces, decision_boundary
from nncells.planar._layout import FIGSIZE, _figure_options, _fit_layout, _legend, _new_figure, _plt, _points, _wrap  # noqa: F401 (plot.FIGSIZE)
from nncells.planar.slices import output_classes

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from os import PathLike

    import numpy.typing as npt
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    Points = np.ndarray | Sequence[Sequence[float]]   # (n, 2) points in plane coordinates
    RGBA = np.ndarray | tuple[float, float, float, float]   # a colormap's colours (a tuple for a scalar)

COLOR_BY = ("pattern", "class", "gradient")
ANCHORS_LABEL = "anchor points (the plane through them)"


def _ids_colors(ids: np.ndarray, seed: int = 0) -> np.ndarray:
    """A random but reproducible pastel colour per integer id."""
    rng = np.random.default_rng(seed)
    n = int(ids.max()) + 1 if len(ids) else 0
    palette = 0.35 + 0.6 * rng.random((max(n, 1), 3))
    return cast("np.ndarray", palette[ids])


def face_colors(part: PlanarPartition, color_by: str = "pattern") -> np.ndarray:
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
        return cast("np.ndarray", matplotlib.colormaps["tab10"](part.predicted() % 10))   # of an array: an array
    if color_by == "gradient":
        import matplotlib
        g = np.sqrt((part.A ** 2).sum(axis=(1, 2)))
        span = g.max() - g.min()
        return cast("np.ndarray",
                    matplotlib.colormaps["viridis"]((g - g.min()) / span if span > 0 else np.zeros_like(g)))
    raise NNCellsError(f"unknown colouring {color_by!r}; choose one of {', '.join(COLOR_BY)}")


def _class_color(k: npt.ArrayLike) -> RGBA:
    import matplotlib
    return cast("RGBA", matplotlib.colormaps["tab10"](np.asarray(k) % 10))


def _per_point(values: npt.ArrayLike | None, n: int, name: str,
               dtype: npt.DTypeLike = np.float64) -> np.ndarray | None:
    if values is None:
        return None
    values = np.asarray(values).astype(dtype).reshape(-1)
    if len(values) != n:
        raise NNCellsError(f"{len(values)} {name} for {n} data points")
    return values


def _draw_points(ax: Axes, part: PlanarPartition, points: npt.ArrayLike, labels: npt.ArrayLike | None = None,
                 distances: npt.ArrayLike | None = None, predicted: npt.ArrayLike | None = None,
                 max_distance: float | None = None) -> list[Artist]:
    """Data points (plane coordinates), fainter the farther they are from the plane; labelled
    ones judged by ``predicted`` (the class at the point itself). Returns the legend handles."""
    from matplotlib.colors import to_rgba_array
    from matplotlib.lines import Line2D
    points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(points)
    labels = _per_point(labels, n, "labels", np.int64)
    d = _per_point(distances, n, "distances")
    d = np.zeros(n) if d is None else d
    if not (np.isfinite(d).all() and (d >= 0).all()):
        raise NNCellsError("distances to the plane must be non-negative numbers")
    if max_distance is not None and not (np.isfinite(max_distance) and max_distance >= 0):
        raise NNCellsError(f"the largest distance to the plane must be a number >= 0, got {max_distance!r}")
    keep = np.ones(n, bool) if max_distance is None else d <= max_distance
    handles: list[Artist] = []
    ref = float(max_distance) if max_distance else (float(d[keep].max()) if keep.any() else 0.0)
    alpha = 1 - 0.75 * d / ref if ref > 0 else np.ones(n)

    def rgba(colors: str | RGBA, sel: np.ndarray) -> np.ndarray:
        c = to_rgba_array(colors, alpha=None)
        c = np.broadcast_to(c, (int(sel.sum()), 4)).copy()
        c[:, 3] = alpha[sel]
        return c

    if labels is None:
        if keep.any():
            ax.scatter(points[keep, 0], points[keep, 1], s=12, c=rgba("k", keep),
                       edgecolors=rgba("w", keep),  # type: ignore[arg-type]  # an (n, 4) array: the stub lacks it
                       linewidths=0.4, zorder=3)
            handles.append(Line2D([], [], ls="none", marker="o", ms=4, mfc="k", mec="w", label="data points"))
    else:
        predicted = _per_point(predicted, n, "predicted classes", np.int64)
        if predicted is None:  # on the plane: the class of the sliced network there
            predicted = output_classes(part.network.forward(points))
        wrong = predicted != labels
        for bad, marker, size, text in ((False, "o", 16, "data point, fill = its label's class"),
                                        (True, "X", 46, "misclassified point (fill = its label)")):
            sel = (wrong == bad) & keep
            if sel.any():
                ax.scatter(points[sel, 0], points[sel, 1], s=size, marker=marker, c=rgba(_class_color(labels[sel]), sel),
                           edgecolors=rgba("k", sel),  # type: ignore[arg-type]  # an (n, 4) array, as above
                           linewidths=0.6 if bad else 0.4, zorder=4 if bad else 3)
                handles.append(Line2D([], [], ls="none", marker=marker, ms=7 if bad else 4.5,
                                      mfc="lightgray", mec="k", label=text))
    if (d[keep] > 0).any():
        handles.append(Line2D([], [], ls="none", marker="o", ms=4.5, mfc="gray", mec="k", alpha=0.35,
                              label=f"fainter: farther off the plane (to {ref:.3g})"))
    if (~keep).any():
        k = int((~keep).sum())
        handles.append(Line2D([], [], ls="none", label=f"{k} point{'' if k == 1 else 's'} > {max_distance:.3g} "
                                                        "off the plane: not shown"))
    return handles


def _draw(ax: Axes, part: PlanarPartition, colors: str | np.ndarray,
          edge_mask: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None, boundary: bool = True,
          points: Points | None = None, anchors: npt.ArrayLike | None = None, **point_options: Any) -> list[Artist]:
    """Draw faces, edges, boundary, points and anchors; return the legend handles."""
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.lines import Line2D
    handles: list[Artist] = []
    ax.add_collection(PolyCollection(part.polygons(), facecolors=colors, edgecolors="none",
                                     antialiaseds=False))
    fa, fb, seg = part.interior_edges()
    mask = np.ones(len(seg), bool) if edge_mask is None else edge_mask(fa, fb)
    ax.add_collection(LineCollection(seg[mask], colors="k", linewidths=0.3, alpha=0.6))
    handles.append(Line2D([], [], color="k", lw=0.6, alpha=0.6, label="region edges"))
    if boundary:
        db, _ = decision_boundary(part)
        # a (m, 2, 2) array, as matplotlib documents; its stub asks for a sequence
        ax.add_collection(LineCollection(db, colors="crimson", linewidths=1.5))  # type: ignore[arg-type]
        handles.append(Line2D([], [], color="crimson", lw=1.5, label="decision boundary"))
    if points is not None and len(points):
        handles += _draw_points(ax, part, points, **point_options)
    if anchors is not None:
        a = np.asarray(anchors, dtype=np.float64).reshape(-1, 2)
        ax.scatter(a[:, 0], a[:, 1], s=150, marker="*", c="gold", edgecolors="k", linewidths=0.8, zorder=5,
                   clip_on=False, label=ANCHORS_LABEL)  # on the domain's edge: not clipped
        handles.append(Line2D([], [], ls="none", marker="*", ms=11, mfc="gold", mec="k", label=ANCHORS_LABEL))
    lo, hi = part.polygon.min(axis=0), part.polygon.max(axis=0)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")
    return handles


def plot_partition(part: PlanarPartition, ax: Axes | None = None, color_by: str = "pattern", boundary: bool = True,
                   points: Points | None = None, labels: npt.ArrayLike | None = None, title: str | None = None,
                   xlabel: str = "u (plane coordinate 1)", ylabel: str = "v (plane coordinate 2)",
                   legend: bool = True, class_names: Sequence[str] | None = None, *,
                   distances: npt.ArrayLike | None = None, predicted: npt.ArrayLike | None = None,
                   max_distance: float | None = None, anchors: npt.ArrayLike | None = None,
                   figsize: npt.ArrayLike | None = None, dpi: float | None = None) -> Axes:
    """Draw the regions (coloured by ``color_by``), their edges, the decision boundary (red),
    optional data ``points`` (plane coordinates, (n, 2)) with class ``labels`` and optional
    ``anchors``, with axis labels, a title, a legend (outside the axes: on the right, below them
    for ``"gradient"``) and, for ``"gradient"``, a colour bar. Returns the matplotlib axes.

    A new figure uses matplotlib's constrained layout, so the title, colour bar, legend, axis
    labels and tick labels do not overlap at any ``figsize``.

    Points with labels are filled with their label's class colour (the colours of
    ``color_by="class"``); a point whose label is not the network's class *at that point* is
    drawn as a large cross, so misclassified points stand out. For data off the plane, pass
    ``predicted`` (the class at the point itself, e.g. from `Slice.place`) and ``distances``:
    such a point is judged by ``predicted``, never by the class at its projection, and drawn
    fainter the farther it is from the plane.

    Parameters
    ----------
    part : PlanarPartition
    ax : matplotlib axes to draw on; a new figure (``figsize``, ``dpi``) when None.
    color_by : see `face_colors`; ``"class"`` paints the exact pieces of `class_pieces`.
    boundary : draw the decision boundary.
    points, labels : optional (n, 2) points and their (n,) integer classes.
    title : the axes' title; default the numbers of regions and decision-boundary segments.
    xlabel, ylabel : the axis labels (names of the plane's coordinates).
    legend : draw the legend (classes, edges, boundary, points, anchors).
    class_names : optional names of the classes for the legend (default ``class k``).
    distances : optional (n,) distances of the points to the plane (default 0: on the plane);
        opacity falls linearly from 1 (on the plane) to 0.25 (at the largest distance shown).
    predicted : optional (n,) network classes at the points themselves (default: the class of
        the partition's network at ``points``, right for points on the plane).
    max_distance : optional; points farther than this from the plane are not drawn and the
        legend says how many were left out.
    anchors : optional (k, 2) points to mark as gold stars (``--points``: the three points that
        span the plane); the collection's label is `ANCHORS_LABEL`.
    figsize : (width, height) in inches of a new figure; default `FIGSIZE`.
    dpi : dots per inch of a new figure (matplotlib's default when None).

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
    >>> ax = plot_partition(part, color_by="gradient", title="gradient", figsize=(4, 3.5), dpi=200)
    >>> len(ax.figure.axes), ax.figure.get_size_inches().tolist(), ax.figure.dpi  # and a colour bar
    (2, [4.0, 3.5], 200)

    Anchors, and points off the plane (the second is 0.5 away, left out by ``max_distance``):

    >>> ax = plot_partition(part, points=[[0, 0], [0.5, 0.5]], distances=[0.1, 0.5], max_distance=0.2,
    ...                     anchors=[[-1, -1], [1, -1], [0, 1]])
    >>> for text in ax.get_legend().get_texts()[2:]:
    ...     print(text.get_text())
    data points
    fainter: farther off the plane (to 0.2)
    1 point > 0.2 off the plane: not shown
    anchor points (the plane through them)
    >>> plt.close("all")
    """
    from matplotlib.patches import Patch
    if color_by not in COLOR_BY:
        raise NNCellsError(f"unknown colouring {color_by!r}; choose one of {', '.join(COLOR_BY)}")
    own_figure = ax is None
    if own_figure:
        _, (ax,) = _new_figure(figsize, dpi)
    else:
        assert ax is not None   # not own_figure
        figsize, dpi = _figure_options(figsize, dpi)
        if figsize is not None:
            ax.figure.set_size_inches(figsize)  # type: ignore[union-attr]  # an axes of a SubFigure: unsupported
        if dpi is not None:
            ax.figure.set_dpi(dpi)
    handles: list[Artist] = []
    if color_by == "class":  # paint the pieces of faces the decision boundary cuts, not whole faces
        from matplotlib.collections import PolyCollection
        verts, start, loops, _, cls = class_pieces(part)
        ax.add_collection(PolyCollection(np.split(verts[loops], start[1:-1]), edgecolors="none",
                                         facecolors=_class_color(cls), antialiaseds=False))
        colors: str | np.ndarray = "none"
        for k in np.unique(cls):
            name = class_names[k] if class_names is not None and k < len(class_names) else f"class {k}"
            handles.append(Patch(facecolor=cast("tuple[float, float, float, float]", _class_color(k)),   # k: a scalar
                                 edgecolor="none", label=str(name)))
    else:
        colors = face_colors(part, color_by)
    handles += _draw(ax, part, colors, boundary=boundary, points=points, labels=labels, distances=distances,
                     predicted=predicted, max_distance=max_distance, anchors=anchors)
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
        ax.figure.colorbar(sm, ax=ax, fraction=0.046, pad=0.03, label="gradient norm (Frobenius norm of the region's linear map)")
    if title is None:
        title = f"{part.n_faces} regions"
        if boundary:
            n = len(decision_boundary(part)[0])
            title += f", {n} decision-boundary segment{'' if n == 1 else 's'}"
    import matplotlib
    rc = matplotlib.rcParams
    # wrapped to the figure's width; above the top y tick label (half of it sticks out above
    # the axes) and the colour bar's
    ax.set_title(_wrap(title, _points(rc["axes.titlesize"]),
                       0.9 * ax.figure.get_size_inches()[0] * 72),  # type: ignore[union-attr]  # as above
                 pad=rc["axes.titlepad"] + 0.6 * _points(rc["ytick.labelsize"]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend and handles:  # with a colour bar on the right, the legend goes below the x label
        _legend(ax, handles, below=color_by == "gradient", strip=own_figure)
    if own_figure:
        _fit_layout(cast("Figure", ax.figure))   # own_figure: `_new_figure`'s
    return ax


def plot_layers(part: PlanarPartition, boundary: bool = True, xlabel: str = "u (plane coordinate 1)",
                ylabel: str = "v (plane coordinate 2)", *, title: str | None = None,
                figsize: npt.ArrayLike | None = None, dpi: float | None = None) -> Figure:
    """One panel per hidden layer: the partition after that layer (faces coloured by their
    pattern prefix, edges drawn only between different prefixes; the last panel also shows the
    decision boundary and a legend), in constrained layout. Returns the figure.

    Parameters
    ----------
    part : PlanarPartition
    boundary : draw the decision boundary on the last panel.
    xlabel, ylabel : the axis labels.
    title : optional title of the whole figure (its suptitle); the panels keep theirs.
    figsize : (width, height) in inches; default 4.5 inches wide per panel, 4.8 high.
    dpi : dots per inch (matplotlib's default when None).

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
    >>> fig = plot_layers(part, title="net")
    >>> [ax.get_title() for ax in fig.axes], fig.get_suptitle()
    (['layer 1: 8 regions', 'layer 2: 18 regions'], 'net')
    >>> fig.axes[0].get_xlabel(), fig.axes[-1].get_legend() is not None
    ('u (plane coordinate 1)', True)
    >>> plt.close(fig)
    """
    import matplotlib
    n = len(part.per_layer)
    fig, axes = _new_figure(figsize, dpi, ncols=max(n, 1), default=(4.5 * max(n, 1), 4.8))
    slices = part.network.layer_slices
    for layer in range(max(n, 1)):
        ax = axes[layer]
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
            _legend(ax, handles, below=False)
    if title:
        fig.suptitle(_wrap(title, _points(matplotlib.rcParams["figure.titlesize"]), 0.9 * fig.get_size_inches()[0] * 72))
    _fit_layout(fig)
    return fig


def save_figure(part: PlanarPartition, path: str | PathLike[str], *, layers: bool = False, dpi: float = 150,
                figsize: npt.ArrayLike | None = None, **kwargs: Any) -> None:
    """Write a PNG, SVG or PDF (by ``path``'s suffix) of `plot_partition` (or `plot_layers`).

    The file is ``figsize`` inches exactly (PDF and SVG are vector files: paste them into a
    paper at that size); only when the text cannot fit in it does the figure grow (by 15 % steps)
    until it does.

    Parameters
    ----------
    part : PlanarPartition
    path : file name ending in ``.png``, ``.svg`` or ``.pdf``.
    layers : draw `plot_layers` instead of `plot_partition`.
    dpi : resolution of raster output (and of the pixels of the regions in PDF and SVG).
    figsize : (width, height) in inches; default `FIGSIZE` (`plot_layers`: 4.5 x 4.8 per panel).
    **kwargs : passed to `plot_partition` (or `plot_layers`): ``title``, ``xlabel``, ...

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
    >>> save_figure(part, os.path.join(out, "paper.pdf"), figsize=(3.5, 3), title="a 2-6-6-3 network")
    >>> sorted(os.listdir(out))
    ['layers.svg', 'paper.pdf', 'regions.png']
    >>> open(os.path.join(out, "paper.pdf"), "rb").read(5)
    b'%PDF-'
    """
    path = str(path)
    if not path.lower().endswith((".png", ".svg", ".pdf")):
        raise NNCellsError(f"figure file must end in .png, .svg or .pdf: {path!r}")
    figsize, dpi = _figure_options(figsize, dpi)
    plt = _plt()
    if layers:
        fig = plot_layers(part, figsize=figsize, dpi=dpi, **kwargs)
    else:
        fig = plot_partition(part, figsize=figsize, dpi=dpi, **kwargs).figure  # type: ignore[assignment]  # as above
    try:
        fig.savefig(path, dpi=dpi)  # the figure's own size: `_fit_layout` made everything fit
    except OSError as e:
        raise NNCellsError(f"cannot write figure {path!r}: {e.strerror or e}") from None
    finally:
        plt.close(fig)
