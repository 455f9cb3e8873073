"""Figures of the `seed_paper` experiment (matplotlib, Agg backend; PNG and SVG), drawn from the
rows of its data files."""
from __future__ import annotations

import numpy as np

from nncells.analysis import figures as ap

def _col(rows, key):
    return np.array([np.nan if r[key] is None else r[key] for r in rows], dtype=float)


def plot_networks(runs, path=None):
    """Train and test accuracy against the width w (left) and regions against w (right, log
    scale): first-layer and total regions of complete networks, lower bounds of capped ones, and
    2^w, the most regions w hyperplanes can make.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from nncells.experiments.seed_paper_figures import plot_networks
    >>> runs = [{"width": 3, "train_accuracy": 0.5, "test_accuracy": 0.4, "status": "complete",
    ...          "regions": 26, "layer1_regions": 8},
    ...         {"width": 4, "train_accuracy": 0.7, "test_accuracy": 0.7, "status": "capped",
    ...          "regions": 50, "layer1_regions": None}]
    >>> fig = plot_networks(runs)
    >>> [ax.get_title() for ax in fig.axes]
    ['accuracy of the trained networks', 'regions in [0, 1]^784']
    >>> plt.close(fig)
    """
    plt = ap.pyplot()
    w = _col(runs, "width")
    fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 3.8))
    a0.plot(w, _col(runs, "train_accuracy"), "o-", label="train")
    a0.plot(w, _col(runs, "test_accuracy"), "s--", label="test")
    a0.set_ylim(0, 1.02)
    a0.set_xlabel("hidden width w (network 784-w-w-10)")
    a0.set_ylabel("accuracy (fraction correct)")
    a0.set_title("accuracy of the trained networks")
    a0.legend(fontsize=8)
    status = np.array([r["status"] for r in runs])
    done = status == "complete"
    a1.plot(w[done], _col(runs, "regions")[done], "o-", color="tab:blue", label="regions (both layers)")
    a1.plot(w[done], _col(runs, "layer1_regions")[done], "s-", color="tab:orange",
            label="regions of the first layer")
    capped = status == "capped"
    if capped.any():
        a1.plot(w[capped], _col(runs, "regions")[capped], "^", color="tab:red", fillstyle="none",
                label="capped: regions found before the time limit (lower bound)")
    a1.plot(w, 2.0 ** w, ":", color="grey", label="$2^w$ (most first-layer regions)")
    a1.set_yscale("log")
    a1.yaxis.set_major_formatter(plt.matplotlib.ticker.FormatStrFormatter("%g"))
    a1.set_xlabel("hidden width w")
    a1.set_ylabel("regions")
    a1.set_title("regions in [0, 1]^784")
    a1.legend(fontsize=7, loc="upper left")
    for ax in (a0, a1):
        ax.set_xticks(w)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return ap.finish(fig, path)


def plot_runtime(runs, fits, path=None):
    """Seconds (left) and LP solves (right) against regions, log-log, one point per network
    labelled with its width; the line through the origin fitted to the complete networks (a line
    of slope 1 on these axes), and capped networks as open triangles (regions: a lower bound).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> from nncells.experiments.seed_paper import fits_from_runs
    >>> from nncells.experiments.seed_paper_figures import plot_runtime
    >>> runs = [{"width": w, "status": "complete", "regions": n, "seconds": n / 20, "lp_solves": n}
    ...         for w, n in ((3, 26), (4, 52), (5, 274))]
    >>> fig = plot_runtime(runs, fits_from_runs(runs))
    >>> [ax.get_title() for ax in fig.axes]
    ['runtime against regions', 'LP solves against regions']
    >>> plt.close(fig)
    """
    plt = ap.pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    done = [r for r in runs if r["status"] == "complete"]
    capped = [r for r in runs if r["status"] == "capped"]
    n_all = _col(done + capped, "regions")
    xs = np.geomspace(max(np.nanmin(n_all), 1), np.nanmax(n_all), 50)
    for ax, key, unit in ((axes[0], "seconds", "wall-clock time (s), 1 worker"),
                          (axes[1], "lp_solves", "LP solves")):
        n, y = _col(done, "regions"), _col(done, key)
        ax.plot(n, np.maximum(y, 1e-3), "o", color="tab:blue", label="complete network")
        for r, xi, yi in zip(done, n, y):
            ax.annotate(f"w={r['width']}", (xi, max(yi, 1e-3)), textcoords="offset points", xytext=(4, -10),
                        fontsize=7)
        if key == "seconds" and capped:
            ax.plot(_col(capped, "regions"), _col(capped, "seconds"), "^", color="tab:red", fillstyle="none",
                    label="capped (regions found before the limit)")
        f = fits.get("origin", {}).get(key)
        if f is not None:
            per = f"{1000 * f['slope']:.3g} ms" if key == "seconds" else f"{f['slope']:.3g}"
            ax.plot(xs, f["slope"] * xs, "k-", lw=1,
                    label=f"line through 0: {per} per region, $R^2$ = {f['r2']:.3f}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(plt.matplotlib.ticker.FormatStrFormatter("%g"))
            axis.set_minor_formatter(plt.matplotlib.ticker.NullFormatter())
        ax.set_xlabel("regions in [0, 1]^784")
        ax.set_ylabel(unit)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_title("runtime against regions")
    axes[1].set_title("LP solves against regions")
    fig.tight_layout()
    return ap.finish(fig, path)


def draw_all(out, runs, fits, speed, rank_rows) -> list[str]:
    """Every figure the data allow, written under ``out``; returns their stems."""
    plt = ap.pyplot()
    made = []
    fig = plot_networks(runs, out / "networks")
    plt.close(fig)
    made.append("networks")
    if fits:
        plt.close(plot_runtime(runs, fits, out / "runtime"))
        made.append("runtime")
    if speed:
        plt.close(ap.plot_speedup(speed, out / "speedup"))
        made.append("speedup")
    if rank_rows:
        table = {k: np.asarray([r[k] for r in rank_rows]) for k in ("rank", "children", "max_children",
                                                                      "width")}
        plt.close(ap.plot_rank_children(table, out / "rank_children", panel="width",
                                        title="784-w-w-10: second-layer regions per first-layer region "
                                              "against its rank"))
        made.append("rank_children")
    return made
