"""Figures for `nncells.analysis` and the experiments (matplotlib, Agg backend).

Every ``plot_*`` function returns the figure and, given ``path`` (a file stem; an extension is
dropped), writes ``path.png`` and ``path.svg``.
"""
from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from nncells.errors import NNCellsError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from os import PathLike
    from typing import TypeAlias

    import numpy.typing as npt
    from matplotlib.figure import Figure

    from nncells.analysis.homology import Persistence

    # a table: a list of row dicts, or a dict of columns
    Table: TypeAlias = "list[dict[str, Any]] | Mapping[str, npt.ArrayLike]"

KIND_STYLE = {"train": ("-", "o"), "random": ("--", "s")}


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the Agg backend, or a one-line error naming what to install."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        raise NNCellsError("plotting needs matplotlib: pip install 'nncells[plot]'") from None
    return plt


def save(fig: Figure, path: str | PathLike[str], dpi: int = 110) -> list[Path]:
    """Write ``fig`` as ``<stem>.png`` and ``<stem>.svg``; returns the two paths.

    Parameters
    ----------
    fig : matplotlib figure.
    path : file stem; a ``.png`` or ``.svg`` suffix is dropped.
    dpi : resolution of the PNG.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> import os
    >>> import tempfile
    >>> from nncells.analysis.figures import save
    >>> fig, ax = plt.subplots(figsize=(2, 2))
    >>> _ = ax.plot([0, 1], [0, 1])
    >>> out = tempfile.mkdtemp()
    >>> [p.name for p in save(fig, os.path.join(out, "line.png"), dpi=30)]
    ['line.png', 'line.svg']
    >>> sorted(os.listdir(out))
    ['line.png', 'line.svg']
    >>> plt.close(fig)
    """
    stem = Path(path)
    stem = stem.with_suffix("") if stem.suffix in (".png", ".svg") else stem
    out = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    for p in out:
        fig.savefig(p, dpi=dpi, bbox_inches="tight")
    return out


def finish(fig: Figure, path: str | PathLike[str] | None) -> Figure:
    """``fig``, saved first as ``path`` (`save`) when a path is given."""
    if path is not None:
        save(fig, path)
    return fig


def _col(table: Table, key: str) -> np.ndarray:
    return np.asarray([r[key] for r in table]) if isinstance(table, list) else np.asarray(table[key])


# ------------------------------------------------------------------ rank vs children
def plot_rank_children(table: Table, path: str | PathLike[str] | None = None, panel: str = "layer",
                       title: str = "Children per parent region against its rank") -> Figure:
    """Children of each parent region against the rank of its affine map, one panel per value of
    the column ``panel`` (``"layer"``, or ``"width"`` for tables pooled over networks): every
    parent (jittered), the mean per rank, and the bound ``sum_{j<=r} C(k, j)``.

    Parameters
    ----------
    table : a `nncells.analysis.rank_children` table (dict of columns) or a list of row dicts,
        with ``rank``, ``children``, ``max_children`` and the ``panel`` column.
    path : optional file stem (see `save`).
    panel : the column that splits the panels.
    title : the figure's title.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from nncells.analysis.figures import plot_rank_children
    >>> table = {"layer": [1, 1, 1, 2, 2], "rank": [0, 1, 2, 1, 2],
    ...          "children": [1, 3, 6, 2, 9], "max_children": [1, 7, 22, 7, 22]}
    >>> fig = plot_rank_children(table)
    >>> [ax.get_title() for ax in fig.axes]
    ['hidden layer 0 -> 1', 'hidden layer 1 -> 2']
    >>> plt.close(fig)
    """
    plt = pyplot()
    key, rank = _col(table, panel), _col(table, "rank")
    ch, mx = _col(table, "children").astype(float), _col(table, "max_children").astype(float)
    values = sorted(set(key.tolist()))
    if not values:
        raise NNCellsError("the table is empty: a network with two hidden layers or more is needed")
    ncols = min(len(values), 4)
    nrows = -(-len(values) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.9 * ncols, 3.4 * nrows), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, v in zip(axes.ravel(), values):
        m = key == v
        ax.scatter(rank[m] + rng.uniform(-0.18, 0.18, m.sum()), ch[m], s=5, alpha=0.2,
                   color="tab:blue", label="one parent region", rasterized=True)
        ranks = sorted(set(rank[m].tolist()))
        ax.plot(ranks, [ch[m & (rank == r)].mean() for r in ranks], "o-", color="tab:red",
                label="mean children")
        ax.plot(ranks, [mx[m & (rank == r)].max() for r in ranks], "k_", markersize=16, mew=2,
                label=r"bound $\sum_{j\leq r}\binom{k}{j}$")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(plt.matplotlib.ticker.FormatStrFormatter("%g"))
        ax.yaxis.set_minor_formatter(plt.matplotlib.ticker.NullFormatter())
        ax.set_xticks(ranks)
        ax.set_xlabel("rank r of the parent region's map")
        ax.set_ylabel("child regions in the next layer")
        ax.set_title(f"hidden layer {v - 1} -> {v}" if panel == "layer" else f"{panel} k = {v}")
        ax.grid(alpha=0.3)
    for ax in axes.ravel()[len(values):]:
        ax.set_visible(False)
    axes[0][0].legend(fontsize=7, loc="upper left")
    fig.suptitle(title)
    fig.tight_layout()
    return finish(fig, path)


# ------------------------------------------------------------------ runtime vs regions
def plot_scaling(runs: Table, fits: Mapping[str, Any] | None = None, path: str | PathLike[str] | None = None,
                 group: str = "input_dim", split: str | None = "domain") -> Figure:
    """Seconds and LP solves against the number of regions (log-log): colour by ``group``,
    marker by ``split`` (when the runs have that column), and for each value ``v`` of ``split``
    with an entry ``fits[v]`` (from `nncells.analysis.scaling_fits`) its fitted line, labelled
    with the slope, R^2 and the log-log slope. Without ``split``, ``fits`` is one such result.

    Parameters
    ----------
    runs : list of row dicts (or a dict of columns) with ``regions``, ``seconds``,
        ``lp_solves``, the ``group`` column and, optionally, the ``split`` column.
    fits : `nncells.analysis.scaling_fits` results, per value of ``split``.
    path : optional file stem (see `save`).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from nncells.analysis import scaling_fits
    >>> from nncells.analysis.figures import plot_scaling
    >>> runs = [{"regions": n, "seconds": 0.01 * n, "lp_solves": 3 * n, "input_dim": 2,
    ...          "domain": "box"} for n in (10, 100, 1000)]
    >>> fig = plot_scaling(runs, fits={"box": scaling_fits(runs)})
    >>> [ax.get_title() for ax in fig.axes]
    ['runtime against regions', 'LP solves against regions']
    >>> plt.close(fig)
    """
    plt = pyplot()
    n = _col(runs, "regions").astype(float)
    groups = _col(runs, group)
    has_split = split is not None and (split in runs[0] if isinstance(runs, list) else split in runs)
    splits = _col(runs, cast("str", split)) if has_split else np.full(len(n), "all")   # has_split: not None
    split_vals = sorted(set(splits.tolist()))
    markers = dict(zip(split_vals, "o^sDv"))
    colors = dict(zip(sorted(set(groups.tolist())), plt.cm.tab10.colors))
    fits = fits or {}
    if not has_split and "seconds" in fits:
        fits = {"all": fits}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.3))
    for ax, key, label in ((axes[0], "seconds", "wall-clock time (s)"),
                           (axes[1], "lp_solves", "LP solves (0 drawn at 0.5)")):
        y = _col(runs, key).astype(float)
        for sv in split_vals:
            for g, col in colors.items():
                m = (groups == g) & (splits == sv)
                if m.any():
                    ax.scatter(n[m], np.maximum(y[m], 0.5 if key == "lp_solves" else 1e-3), s=18,
                               marker=markers[sv], color=col,
                               label=f"{sv}, {group.replace('_', ' ')} {g}" if has_split else f"{group} {g}")
            f = fits.get(sv, {}).get(key)
            if f is None or not np.isfinite(f["r2"]):
                continue
            xs = np.geomspace(max(n[splits == sv].min(), 1), n[splits == sv].max(), 100)
            ys = f["slope"] * xs + f["intercept"]
            ax.plot(xs[ys > 0], ys[ys > 0], "-" if sv == split_vals[0] else "--", color="k", lw=1,
                    label=f"{sv} fit: {f['slope']:.3g}/region, $R^2$={f['r2']:.3f}, "
                          f"log-log slope {f['exponent']:.2f}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("regions")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=6)
    axes[0].set_title("runtime against regions")
    axes[1].set_title("LP solves against regions")
    fig.tight_layout()
    return finish(fig, path)


def plot_speedup(rows: list[dict[str, Any]], path: str | PathLike[str] | None = None, max_workers: int = 2) -> Figure:
    """Parallel speed-up (serial seconds / parallel seconds) per architecture, with the ideal.

    Parameters
    ----------
    rows : list of dicts with ``arch``, ``regions``, ``speedup`` and optionally ``trained``.
    path : optional file stem (see `save`).
    max_workers : the number of workers of the parallel runs (the ideal speed-up).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from nncells.analysis.figures import plot_speedup
    >>> rows = [{"arch": "2-8-8", "regions": 100, "speedup": 1.8},
    ...         {"arch": "4-8-8", "regions": 900, "speedup": 1.9, "trained": True}]
    >>> fig = plot_speedup(rows)
    >>> len(fig.axes), len(fig.axes[0].patches)  # one axes, one bar per row
    (1, 2)
    >>> plt.close(fig)
    """
    plt = pyplot()
    labels = [f"{r['arch']}{' (trained)' if r.get('trained') else ''}\n{r['regions']} regions"
              for r in rows]
    sp = _col(rows, "speedup").astype(float)
    fig, ax = plt.subplots(figsize=(max(4, 1.3 * len(rows) + 2), 3.6))
    ax.bar(range(len(rows)), sp, color="tab:green")
    ax.axhline(max_workers, color="k", ls="--", lw=1, label=f"ideal ({max_workers} workers)")
    ax.axhline(1, color="grey", ls=":", lw=1, label="no speed-up")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels(labels, fontsize=7)
    ax.set_ylabel(f"speed-up: time(1 worker) / time({max_workers})")
    ax.set_title("parallel speed-up of exact enumeration")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return finish(fig, path)


# ------------------------------------------------------------------ global bounds
def plot_bounds(rows: list[dict[str, Any]], path: str | PathLike[str] | None = None) -> Figure:
    """Exact region counts beside the Serra et al. and Montufar et al. bounds, per architecture.

    Parameters
    ----------
    rows : list of `nncells.analysis.bounds_row` dicts (``arch``, ``exact``, ``trivial``,
        ``montufar``, ``serra``; optionally ``trained``).
    path : optional file stem (see `save`).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from nncells.analysis import global_bounds
    >>> from nncells.analysis.figures import plot_bounds
    >>> rows = [dict(global_bounds(2, [4, 4]), arch="2-4-4", exact=28),
    ...         dict(global_bounds(2, [6, 6]), arch="2-6-6", exact=94, trained=True)]
    >>> fig = plot_bounds(rows)
    >>> len(fig.axes), len(fig.axes[0].lines)  # one marker series per quantity
    (1, 4)
    >>> plt.close(fig)
    """
    plt = pyplot()
    labels = [f"{r['arch']}{'*' if r.get('trained') else ''}" for r in rows]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(min(12, max(5, 0.25 * len(rows) + 2)), 4.5))
    for key, style, name in (("trivial", "x", r"$2^{\mathrm{neurons}}$"),
                             ("montufar", "^", "Montufar et al. bound"),
                             ("serra", "v", "Serra et al. bound (Thm 1)"),
                             ("exact", "o", "exact count (whole space)")):
        ax.plot(x, [float(r[key]) for r in rows], style, label=name, markersize=6)
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xticklabels(labels, rotation=60, fontsize=7)
    ax.set_xlabel("architecture (input-widths; * trained)")
    ax.set_ylabel("number of regions")
    ax.set_title("global upper bounds against exact counts")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return finish(fig, path)


# ------------------------------------------------------------------ training dynamics
def plot_training_dynamics(summary: Table, checkpoints: Table | None = None, path: str | PathLike[str] | None = None,
                           title: str = "") -> Figure:
    """Local measures against the epoch: mean exact count in balls, mean upper bound, median
    distance to the nearest region boundary (around training vs random points), and the
    number of regions in the data's bounding box with the training accuracy.

    ``summary``: rows with ``epoch``, ``kind``, ``radius``, ``exact_mean``, ``exact_sem``,
    ``upper_mean``, ``distance_median``; ``checkpoints``: rows with ``epoch``,
    ``box_regions``, ``accuracy`` (means over seeds).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from nncells.analysis.figures import plot_training_dynamics
    >>> summary = [dict(epoch=e, kind=k, radius=r, exact_mean=5.0 + e, exact_sem=0.5,
    ...                 upper_mean=50.0 + e, distance_median=0.1 / (1 + e))
    ...            for e in (0, 1, 10) for k in ("train", "random") for r in (0.1, 0.2)]
    >>> checkpoints = [dict(epoch=e, box_regions=100 + e, accuracy=0.5 + 0.04 * e) for e in (0, 1, 10)]
    >>> fig = plot_training_dynamics(summary, checkpoints, title="toy")
    >>> len(fig.axes)  # four panels and the accuracy's twin axis
    5
    >>> plt.close(fig)
    """
    plt = pyplot()
    ep, kind, rad = _col(summary, "epoch"), _col(summary, "kind"), _col(summary, "radius").astype(float)
    radii = sorted(set(rad.tolist()))
    colors = plt.cm.viridis(np.linspace(0, 0.85, len(radii)))
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.2))
    (a, b), (c, d) = axes
    for k, (ls, mk) in KIND_STYLE.items():
        for r, col in zip(radii, colors):
            m = (kind == k) & (rad == r)
            if not m.any():
                continue
            o = np.argsort(ep[m])
            e = ep[m][o]
            mean, sem = _col(summary, "exact_mean")[m][o], _col(summary, "exact_sem")[m][o]
            a.errorbar(e, mean, yerr=sem, ls=ls, marker=mk, ms=3, color=col, capsize=2,
                       label=f"{k} points, radius {r:g}")
            b.plot(e, _col(summary, "upper_mean")[m][o].astype(float), ls=ls, marker=mk, ms=3,
                   color=col, label=f"{k}, radius {r:g}")
        m = (kind == k) & (rad == radii[0])
        o = np.argsort(ep[m])
        c.plot(ep[m][o], _col(summary, "distance_median")[m][o], ls=ls, marker=mk, color="k",
               label=f"around {k} points")
    a.set_ylabel("regions meeting the ball (mean +- s.e.)")
    a.set_title("exact count in balls")
    b.set_yscale("log")
    b.set_ylabel("upper bound on regions in the ball (mean)")
    b.set_title("upper bound in balls")
    c.set_ylabel("distance to nearest region boundary (median)")
    c.set_title("boundary distance")
    c.legend(fontsize=8)
    a.legend(fontsize=7, ncol=2)
    if checkpoints is not None:
        ce = _col(checkpoints, "epoch")
        o = np.argsort(ce)
        d.plot(ce[o], _col(checkpoints, "box_regions")[o], "o-", color="tab:purple",
               label="regions in the data's bounding box")
        d.set_ylabel("regions in the data's bounding box", color="tab:purple")
        d2 = d.twinx()
        d2.plot(ce[o], 100 * _col(checkpoints, "accuracy")[o], "s--", color="tab:orange",
                label="training accuracy")
        d2.set_ylabel("training accuracy (%)", color="tab:orange")
        d.set_title("whole partition and accuracy")
    for ax in axes.ravel():
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(-0.2, max(float(ep.max()), 1.0) * 1.3)
        ax.set_xlabel("epoch (symlog scale)")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return finish(fig, path)


# ------------------------------------------------------------------ topology
def plot_barcode(bars: Persistence, path: str | PathLike[str] | None = None, title: str = "",
                 xlabel: str = "threshold t") -> Figure:
    """The persistence barcode of ``bars`` (`nncells.analysis.homology.Persistence`): one
    horizontal bar per class, from its birth to its death (an arrow to the right edge for a
    class that never dies), grouped by dimension, with a legend.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from nncells.analysis.homology import persistence
    >>> from nncells.analysis.figures import plot_barcode
    >>> bars = persistence([0, 0, 1], [[0, 2], [1, 2]], [0.0, 1.0, 2.0])   # two points, then an edge
    >>> fig = plot_barcode(bars, title="toy")
    >>> [len(ax.lines) + len(ax.collections) > 0 for ax in fig.axes]
    [True]
    >>> plt.close(fig)
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 1.4 + 0.25 * max(len(bars), 4)))
    finite = bars.death[np.isfinite(bars.death)]
    ends = np.concatenate([bars.birth, finite]) if len(bars) else np.zeros(1)
    lo, hi = float(ends.min()), float(ends.max())
    right = hi + 0.1 * max(hi - lo, 1e-12)
    colors = plt.cm.tab10.colors
    order = np.lexsort((bars.birth, bars.dim))
    for row, i in enumerate(order):
        k, b, e = int(bars.dim[i]), float(bars.birth[i]), float(bars.death[i])
        ax.hlines(row, b, e if np.isfinite(e) else right, color=colors[k % 10], lw=3,
                  label=f"H{k}" if k not in set(bars.dim[order[:row]].tolist()) else None)
        if not np.isfinite(e):
            ax.plot([right], [row], marker=">", color=colors[k % 10], ms=6)
    ax.set_yticks([])
    ax.set_xlim(lo - 0.05 * max(hi - lo, 1e-12), right + 0.05 * max(hi - lo, 1e-12))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("classes (bars)")
    if len(bars):
        ax.legend(loc="lower right", fontsize=8)
    ax.set_title(title or "persistence barcode (arrows: never die)")
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return finish(fig, path)


def plot_betti_curves(rows: list[dict[str, Any]], path: str | PathLike[str] | None = None, title: str = "") -> Figure:
    """Betti numbers of each class's decision region against the epoch (one panel per
    homology dimension up to d - 1), from rows with ``epoch``, ``class`` (a class index, or a
    name such as ``"boundary"``) and ``b0``, ``b1``, ...

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from nncells.analysis.figures import plot_betti_curves
    >>> rows = [dict(epoch=e, **{"class": c}, b0=1, b1=int(e > 3 and c == "0")) for e in (0, 5) for c in ("0", "1")]
    >>> fig = plot_betti_curves(rows)
    >>> len(fig.axes)
    2
    >>> plt.close(fig)
    """
    plt = pyplot()
    dims = sorted(int(k[1:]) for k in rows[0] if k.startswith("b") and k[1:].isdigit())
    fig, axes = plt.subplots(1, len(dims), figsize=(4.2 * len(dims), 3.4), squeeze=False)
    ep, cls = _col(rows, "epoch"), np.asarray([str(r["class"]) for r in rows])
    styles = [("o", "-", 7), ("s", "--", 5), ("^", ":", 4), ("D", "-.", 3)]   # curves that coincide stay visible
    for ax, k in zip(axes[0], dims):
        for i, c in enumerate(sorted(set(cls.tolist()))):
            m = cls == c
            o = np.argsort(ep[m])
            mk, ls, ms = styles[i % len(styles)]
            ax.plot(ep[m][o], _col(rows, f"b{k}")[m][o], marker=mk, ls=ls, ms=ms, mfc="none" if i == 0 else None,
                    label=f"class {c}" if c.isdigit() else c)
        ax.set_title(f"b{k}" + (" (components)" if k == 0 else " (holes)" if k == 1 else ""))
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(-0.2, max(float(ep.max()), 1.0) * 1.3)
        ax.set_xlabel("epoch (symlog scale)")
        ax.set_ylabel(f"b{k} of the closed decision region")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return finish(fig, path)
