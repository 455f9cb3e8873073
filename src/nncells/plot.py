"""Pictures of planar partitions (matplotlib, Agg backend): regions, decision boundary, data
points, and how each layer refines the partition."""
from __future__ import annotations

import numpy as np

from .engine import prefix_ids
from .errors import NNCellsError
from .planar import PlanarPartition, class_pieces, decision_boundary

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
    of the local ``gradient`` (Frobenius norm of the face's affine map)."""
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


def _draw(ax, part, colors, edge_mask=None, boundary=True, points=None, labels=None):
    from matplotlib.collections import LineCollection, PolyCollection
    ax.add_collection(PolyCollection(part.polygons(), facecolors=colors, edgecolors="none",
                                     antialiaseds=False))
    fa, fb, seg = part.interior_edges()
    mask = np.ones(len(seg), bool) if edge_mask is None else edge_mask(fa, fb)
    ax.add_collection(LineCollection(seg[mask], colors="k", linewidths=0.3, alpha=0.6))
    if boundary:
        db, _ = decision_boundary(part)
        ax.add_collection(LineCollection(db, colors="crimson", linewidths=1.5))
    if points is not None and len(points):
        points = np.asarray(points)
        ax.scatter(points[:, 0], points[:, 1], s=12, c=labels if labels is not None else "k",
                   cmap="tab10" if labels is not None else None, edgecolors="w", linewidths=0.4, zorder=3)
    lo, hi = part.polygon.min(axis=0), part.polygon.max(axis=0)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_aspect("equal")


def plot_partition(part: PlanarPartition, ax=None, color_by: str = "pattern", boundary: bool = True,
                   points=None, labels=None, title: str | None = None):
    """Draw the regions (coloured by ``color_by``), their edges, the decision boundary (red)
    and optional data ``points`` (plane coordinates, (n, 2)) with class ``labels``.
    Returns the matplotlib axes."""
    if ax is None:
        _, ax = _plt().subplots(figsize=(6, 6))
    if color_by == "class":  # paint the pieces of faces the decision boundary cuts, not whole faces
        import matplotlib
        from matplotlib.collections import PolyCollection
        verts, start, loops, _, cls = class_pieces(part)
        ax.add_collection(PolyCollection(np.split(verts[loops], start[1:-1]), edgecolors="none",
                                         facecolors=matplotlib.colormaps["tab10"](cls % 10), antialiaseds=False))
        colors = "none"
    else:
        colors = face_colors(part, color_by)
    _draw(ax, part, colors, boundary=boundary, points=points, labels=labels)
    ax.set_title(title or f"{part.n_faces} regions")
    return ax


def plot_layers(part: PlanarPartition, boundary: bool = True):
    """One panel per hidden layer: the partition after that layer (faces coloured by their
    pattern prefix, edges drawn only between different prefixes). Returns the figure."""
    n = len(part.per_layer)
    plt = _plt()
    fig, axes = plt.subplots(1, max(n, 1), figsize=(4.5 * max(n, 1), 4.8), squeeze=False)
    slices = part.network.layer_slices
    for layer in range(max(n, 1)):
        ax = axes[0, layer]
        end = slices[layer].stop if n else 0
        ids = prefix_ids(part.patterns, end)
        _draw(ax, part, _ids_colors(ids, seed=layer), edge_mask=lambda fa, fb: ids[fa] != ids[fb],
              boundary=boundary and layer == n - 1)
        ax.set_title(f"layer {layer + 1}: {part.per_layer[layer] if n else 1} regions")
    fig.tight_layout()
    return fig


def save_figure(part: PlanarPartition, path, *, layers: bool = False, dpi: int = 150, **kwargs) -> None:
    """Write a PNG or SVG (by ``path``'s suffix) of `plot_partition` (or `plot_layers`)."""
    path = str(path)
    if not path.lower().endswith((".png", ".svg", ".pdf")):
        raise NNCellsError(f"figure file must end in .png, .svg or .pdf: {path!r}")
    plt = _plt()
    if layers:
        fig = plot_layers(part, **kwargs)
    else:
        fig, ax = plt.subplots(figsize=(6, 6))
        plot_partition(part, ax=ax, **kwargs)
    try:
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    except OSError as e:
        raise NNCellsError(f"cannot write figure {path!r}: {e.strerror or e}") from None
    finally:
        plt.close(fig)
