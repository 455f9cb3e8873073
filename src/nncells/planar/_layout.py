"""Layout of the planar pictures (private to `nncells.planar.plot`): figures in constrained
layout, legends outside the axes, and `_fit_layout`, which wraps long titles and labels and
grows a figure only when its text cannot fit, so that nothing overlaps (docs/planar.md)."""
from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

import numpy as np

from nncells.errors import NNCellsError

if TYPE_CHECKING:
    from types import ModuleType

    import numpy.typing as npt
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend

_Dpi = TypeVar("_Dpi", bound="float | None")

FIGSIZE = (7.0, 6.0)  # inches, the default of `plot_partition` and `save_figure`


def _plt() -> ModuleType:
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def _figure_options(figsize: npt.ArrayLike | None, dpi: _Dpi) -> tuple[tuple[float, float] | None, _Dpi]:
    """Checked ``(figsize, dpi)``: two positive inches (or None) and a positive dpi (or None)."""
    if figsize is not None:
        try:
            figsize = tuple(float(v) for v in np.asarray(figsize, dtype=np.float64).reshape(-1))
        except (TypeError, ValueError):
            figsize = ()
        if len(figsize) != 2 or not all(np.isfinite(v) and v > 0 for v in figsize):
            raise NNCellsError("figure size must be two positive numbers of inches (width, height)")
    if dpi is not None and not (np.isfinite(dpi) and dpi > 0):
        raise NNCellsError(f"dpi must be a positive number, got {dpi!r}")
    return figsize, dpi


def _new_figure(figsize: npt.ArrayLike | None = None, dpi: float | None = None, ncols: int = 1,
                default: tuple[float, float] = FIGSIZE) -> tuple[Figure, np.ndarray]:
    """A figure with constrained layout (title, colour bar, legend and labels never overlap)."""
    figsize, dpi = _figure_options(figsize, dpi)
    fig, axes = _plt().subplots(1, ncols, figsize=figsize or default, dpi=dpi, squeeze=False,
                                layout="constrained")
    return fig, axes[0]


def _points(size: float | str) -> float:
    from matplotlib.font_manager import FontProperties
    return FontProperties(size=size).get_size_in_points()


def _text_width(text, size) -> float:
    """Width in points of the widest line of ``text`` at font ``size`` (no figure drawn)."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath
    prop = FontProperties(size=size)
    return max(TextToPath().get_text_width_height_descent(line, prop, ismath=False)[0]
               for line in text.split("\n"))


def _wrap(text: str, size: float, room: float) -> str:
    """``text`` broken between words into lines no wider than ``room`` points at font ``size``
    (a word wider than that keeps a line to itself)."""
    out = []
    for paragraph in str(text).split("\n"):
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}" if line else word
            if line and _text_width(trial, size) > room:
                out.append(line)
                line = word
            else:
                line = trial
        out.append(line)
    return "\n".join(out)


def _legend(ax: Axes, handles: list[Artist], below: bool, strip: bool = False) -> Legend:
    """The legend outside the axes: on the right, or below (in as many columns as fit) when
    ``below`` or when the right would leave the axes less than 60 % of the figure. Below, it
    goes in a strip along the bottom of the figure kept free of the constrained layout
    (``strip``: a figure of ours, see `_fit_layout`), else just below the x label."""
    size = _points("small")
    fig = ax.figure
    fig_w = fig.get_size_inches()[0] * 72
    widths = np.array([_text_width(h.get_label(), size) for h in handles]) + 4.5 * size  # handle, pads
    if not below and widths.max() <= 0.4 * fig_w:
        return ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0,
                         fontsize="small", frameon=False)
    ncol = 1
    for k in range(2, len(handles) + 1):  # split into columns as matplotlib does
        if sum(col.max() for col in np.array_split(widths, k)) <= 0.95 * fig_w:
            ncol = k
    if not strip:
        return ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0), borderaxespad=0,
                         bbox_transform=_below_x_axis(ax), ncol=ncol, fontsize="small", frameon=False)
    leg = ax.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.01), bbox_transform=fig.transFigure,
                    borderaxespad=0, ncol=ncol, fontsize="small", frameon=False)
    leg.set_in_layout(False)
    leg.nncells_strip = True
    rows = -(-len(handles) // ncol)
    _reserve_bottom(fig, min((1.4 * rows * size + 10) / 72 / fig.get_size_inches()[1], 0.6))
    return leg


def _reserve_bottom(fig, fraction) -> bool:
    """Keep the constrained layout above ``fraction`` of the figure; True if that changed it."""
    engine = fig.get_layout_engine()
    if abs(engine.get()["rect"][1] - fraction) < 2e-3:
        return False
    engine.set(rect=(0, fraction, 1, 1 - fraction))
    return True


def _fit_layout(fig: Figure, tries: int = 12, min_axes_in: float = 1.4) -> None:
    """Make the constrained layout of a figure of ours fit. If the layout fails, or leaves a
    picture smaller than ``min_axes_in`` inches, the figure grows by 15 %; then axis labels
    longer than their axes and titles wider than the figure are wrapped between words, and
    legends below the axes are moved below the x label. At most ``tries`` rounds; a figure
    that fits is left as it is."""
    import warnings
    originals, calm = {}, 0
    for _ in range(tries):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig.draw_without_rendering()
        failed = any("constrained_layout not applied" in str(w.message) for w in caught)
        changed = False
        for ax in fig.axes:  # a legend's height does not depend on the layout
            leg = ax.get_legend()
            if getattr(leg, "nncells_strip", False):
                need = (leg.get_window_extent().height + 6 * fig.dpi / 72) / fig.bbox.height + 0.01
                failed |= need > 0.6  # no room for the picture: grow
                changed |= _reserve_bottom(fig, min(need, 0.6))
        small = any(min(ax.get_position().width * fig.get_figwidth(), ax.get_position().height
                        * fig.get_figheight()) < min_axes_in for ax in fig.axes if ax.get_label() != "<colorbar>")
        if changed and not failed:
            continue
        if failed or small:
            fig.set_size_inches(fig.get_size_inches() * 1.15)
            continue
        to_pts = 72 / fig.dpi
        for ax in fig.axes:
            box = ax.get_window_extent()
            centre = (box.x0 + box.x1) / 2  # the title is centred on the axes
            cell = fig.bbox.width / ax.get_subplotspec().get_gridspec().ncols if ax.get_subplotspec() else box.width
            for text, room in ((ax.xaxis.label, max(box.width, 0.95 * cell)), (ax.yaxis.label, box.height),
                               (ax.title, 1.96 * min(centre, fig.bbox.width - centre))):
                original = originals.setdefault(text, text.get_text())
                new = _wrap(original, text.get_fontsize(), room * to_pts) if original else original
                if new != text.get_text():
                    text.set_text(new)
                    changed = True
        calm = 0 if changed else calm + 1
        if changed:
            continue
        inside, tight = fig.bbox_inches.padded(0.01), fig.get_tightbbox()
        if (inside.x0 <= tight.x0 and inside.y0 <= tight.y0 and tight.x1 <= inside.x1
                and tight.y1 <= inside.y1):
            return
        if calm > 1:  # (one more draw first: the layout settles in two when aspect moves the axes)
            fig.set_size_inches(fig.get_size_inches() * 1.15)


def _below_x_axis(ax):
    """A transform for anchors below the x tick labels and the x label (in points, so it holds
    for any figure size)."""
    import matplotlib
    from matplotlib.transforms import ScaledTranslation
    rc = matplotlib.rcParams
    lines = ax.get_xlabel().count("\n") + 1 if ax.get_xlabel() else 0
    pts = (max(rc["xtick.major.size"], 0) + rc["xtick.major.pad"] + 1.4 * _points(rc["xtick.labelsize"])
           + rc["axes.labelpad"] + 1.4 * lines * ax.xaxis.label.get_size() + 6)
    return ax.transAxes + ScaledTranslation(0, -pts / 72, ax.figure.dpi_scale_trans)
