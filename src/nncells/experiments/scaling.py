"""Scaling of exact enumeration (after Drammis et al. 2024, arXiv:2403.00860) and global bounds
(Serra, Tjandraatmadja, Ramalingam 2018, arXiv:1711.02114).

A sweep of MLP architectures (input dimension, width, depth), each untrained (PyTorch's default
initialisation) and trained (Adam on scikit-learn's digits projected by PCA to the input
dimension), enumerated exactly in one process: a grid in the box [-3, 3]^d of the standardised
data (where the engine's vertex mode needs almost no LPs), and a list of small architectures in
the whole input space (unbounded cells: the LP path). Recorded: regions, wall-clock time and LP
solves. Then: runtime and LP solves against regions (fitted lines), the parallel speed-up of the
slowest runs at 1 vs 2 workers (when `enumerate_regions` has a ``workers`` argument), the rank
of each region's affine map against its number of children in the next layer, and, for the
whole-space runs, the exact count against the global upper bounds.

With a model of the user's (``run(..., model=PATH)``, ``nncells experiment scaling --model FILE``)
the sweep is over domains instead of architectures: that one network, as loaded by
`nncells.load_model`, is enumerated exactly in the nested boxes ``[-h, h]^d`` for each half-width
``h`` of ``model_half_widths`` (centred at the origin, in the model's own input units), so runtime
and LP solves are fitted against the regions of growing boxes; the speed-up re-runs the slowest
box; the rank table comes from the largest box; and the global bounds stand beside the exact count
of the largest box (a lower bound of the whole space's count). No training, no whole-space runs.

In quick mode the runs are too few and too small for the fitted lines to mean anything: every fit
(``fits.json``, the report's table) carries ``"note": "not meaningful: quick mode"``.

Files written to ``out_dir``: ``runs.csv``, ``speedup.csv``, ``rank_children.csv`` (one row per
parent region), ``rank_summary.csv``, ``bounds.csv``, ``fits.json``, ``config.json``, figures
``scaling``, ``speedup``, ``rank_children``, ``bounds`` (PNG and SVG), and ``report.md``, which
`write_report` rebuilds from the data files alone.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from nncells.analysis import measures as analysis
from nncells.domains import Box, Space
from nncells.experiments import common

CONFIGS = {
    "quick": {"box_dims": [2, 3], "depths": [1, 2], "widths": [8, 12], "skip": [],
              "space": [[2, [4]], [2, [3, 3]], [2, [4, 4]], [3, [3, 3]], [2, [8, 8]]],
              "epochs": 5, "speedup_runs": 1, "half_width": 3.0, "model_half_widths": [0.5, 1.0, 1.5, 2.0]},
    "full": {"box_dims": [2, 3, 4], "depths": [1, 2, 3], "widths": [8, 12, 16, 24],
             "skip": [[3, 3, 24], [4, 2, 24], [4, 3, 16], [4, 3, 24]],
             "space": [[2, [4]], [2, [8]], [2, [16]], [2, [2, 2, 2]], [2, [4, 4]], [2, [8, 8]],
                       [2, [12, 12]], [2, [16, 16]], [2, [4, 4, 4]], [2, [8, 8, 8]], [3, [4]],
                       [3, [8]], [3, [3, 3]], [3, [3, 3, 3]], [3, [6, 6]], [3, [8, 8]],
                       [3, [12, 12]], [3, [4, 4, 4]], [3, [6, 6, 6]], [4, [3, 3, 3]], [4, [4, 4]],
                       [4, [8, 8]]],
             "epochs": 30, "speedup_runs": 3, "half_width": 3.0,
             "model_half_widths": [0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0]},
}


def _arch(d, widths):
    return "-".join(map(str, [d] + list(widths)))


def _model(d, widths, trained, epochs, seed):
    """The exact `Network` of an MLP on digits-PCA-``d``, untrained or trained."""
    X, y, n_classes = common.load_dataset("digits", d, seed=seed)
    model = common.make_mlp(d, widths, n_classes, seed=seed)
    if trained:
        common.train(model, X, y, epochs, seed=seed)
    return common.to_network(model.eval())


def _domain(name, d, cfg):
    return Box(-cfg["half_width"], cfg["half_width"], d) if name == "box" else Space(d)


def _grid(cfg):
    """``(domain, input_dim, widths)``: the box grid, then the whole-space list."""
    out = [("box", d, [w] * depth) for d in cfg["box_dims"] for depth in cfg["depths"]
           for w in cfg["widths"] if [d, depth, w] not in cfg["skip"]]
    return out + [("space", d, list(widths)) for d, widths in cfg["space"]]


def sweep(cfg, seed):
    """Enumerate every architecture, untrained and trained: run rows, rank tables, bound rows."""
    runs, tables, labels, brows = [], [], [], []
    for dom, d, widths in _grid(cfg):
        for trained in (False, True):
            net = _model(d, widths, trained, cfg["epochs"], seed)
            res = common.enumerate_with(net, _domain(dom, d, cfg))
            info = getattr(res, "info", None)
            runs.append({"domain": dom, "arch": _arch(d, widths), "input_dim": d,
                         "depth": len(widths), "width": max(widths), "trained": trained,
                         "regions": res.count, "lp_solves": res.lp_solves, "seconds": res.seconds,
                         "method": getattr(info, "method", "cells"),
                         "per_layer": "/".join(map(str, res.per_layer))})
            common.log(f"scaling: {dom} {runs[-1]['arch']} trained={trained}: {res.count} regions, "
                       f"{res.lp_solves} LPs, {res.seconds:.2f} s")
            if len(widths) >= 2:
                tables.append(analysis.rank_children(res))
                labels.append((dom, runs[-1]["arch"], trained))
            if dom == "space":
                brows.append({"trained": trained, **analysis.bounds_row(res)})
    return runs, tables, labels, brows


def sweep_model(net, cfg):
    """The user's network in the nested boxes ``[-h, h]^d``: run rows, the largest box's rank
    table, its bound row."""
    runs, res = [], None
    arch = _arch(net.input_dim, net.widths)
    for h in cfg["model_half_widths"]:
        res = common.enumerate_with(net, Box(-h, h, net.input_dim))
        info = getattr(res, "info", None)
        runs.append({"domain": "box", "arch": arch, "input_dim": net.input_dim, "depth": len(net.widths),
                     "width": max(net.widths), "trained": None, "half_width": h, "regions": res.count,
                     "lp_solves": res.lp_solves, "seconds": res.seconds,
                     "method": getattr(info, "method", "cells"), "per_layer": "/".join(map(str, res.per_layer))})
        common.log(f"scaling: {cfg['model']} in [-{h:g}, {h:g}]^{net.input_dim}: {res.count} regions, "
                   f"{res.lp_solves} LPs, {res.seconds:.2f} s")
    tables, labels = [], []
    if len(net.widths) >= 2:
        tables, labels = [analysis.rank_children(res)], [("box", arch, None)]
    return runs, tables, labels, [{"trained": None, **analysis.bounds_row(res)}]


def speedups(runs, cfg, seed, net=None):
    """Re-run the slowest runs with 1 and 2 workers (``net``: the user's network, in its boxes)."""
    rows = []
    for r in sorted(runs, key=lambda r: -r["seconds"])[:cfg["speedup_runs"]]:
        if net is None:
            widths = [int(w) for w in r["arch"].split("-")[1:]]
            net_r = _model(r["input_dim"], widths, r["trained"], cfg["epochs"], seed)
            dom = _domain(r["domain"], r["input_dim"], cfg)
        else:
            net_r, dom = net, Box(-r["half_width"], r["half_width"], net.input_dim)
        t = {k: common.enumerate_with(net_r, dom, workers=k) for k in (1, 2)}
        rows.append({"domain": r["domain"], "arch": r["arch"], "trained": r["trained"],
                     "regions": t[1].count, "regions_2_workers": t[2].count,
                     "seconds_1": t[1].seconds, "seconds_2": t[2].seconds,
                     "speedup": t[1].seconds / t[2].seconds})
        common.log(f"scaling: speed-up {r['arch']}: {rows[-1]['speedup']:.2f}")
    return rows


def run(out_dir, quick: bool = False, seed: int = 0, model=None) -> dict:
    """Run the experiment and write its files; returns ``{"report": path, "seconds": ...}`` (and
    ``"fits": "not meaningful: quick mode"`` in quick mode). ``model``: a model file of the user's
    (see the module's notes), or None for the sweep of architectures."""
    net = common.load_user_model(model)
    out, cfg = common.start(out_dir, CONFIGS, quick, seed)
    cfg["model"] = None if model is None else str(model)
    t0 = time.perf_counter()
    runs, tables, labels, brows = sweep(cfg, seed) if net is None else sweep_model(net, cfg)
    common.write_csv(out / "runs.csv", runs)
    common.write_csv(out / "bounds.csv", brows)
    rank = analysis.concat_tables(tables, domain=[x[0] for x in labels], arch=[x[1] for x in labels],
                                  trained=[x[2] for x in labels])
    common.write_csv(out / "rank_children.csv",
                     _rows(rank) or [dict.fromkeys(analysis.RANK_COLUMNS + ("domain", "arch", "trained"))])
    common.write_csv(out / "speedup.csv", speedups(runs, cfg, seed, net) or [{"skipped": True}])
    cfg["seconds"] = time.perf_counter() - t0
    common.write_json(out / "config.json", cfg)
    return {"report": str(write_report(out)), "seconds": cfg["seconds"], **common.quick_note(cfg)}


# ------------------------------------------------------------------ report from the files
def fits_from_runs(runs, note=None) -> dict:
    """`analysis.scaling_fits` per domain, and per domain and input dimension (where there are
    several); each fit gets ``"note": note`` when given (``"not meaningful: quick mode"``)."""
    out = {}
    for dom in ("box", "space"):
        sub = [r for r in runs if r["domain"] == dom]
        dims = sorted({r["input_dim"] for r in sub})
        groups = [(dom, sub)] + [(f"{dom}, input_dim={d}", [r for r in sub if r["input_dim"] == d])
                                 for d in (dims if len(dims) > 1 else [])]
        for name, rs in groups:
            if len(rs) >= 4 and len({r["regions"] for r in rs}) >= 2:
                out[name] = {**analysis.scaling_fits(rs), **({"note": note} if note else {})}
    return out


def _rows(table: dict) -> list[dict]:
    """A table (dict of equal-length arrays) as a list of row dicts."""
    return [dict(zip(table, vals)) for vals in zip(*(np.asarray(v).tolist() for v in table.values()))]


def write_report(out_dir) -> Path:
    """Rebuild ``fits.json``, ``rank_summary.csv``, the figures and ``report.md`` from the data
    files in ``out_dir``."""
    import matplotlib.pyplot as plt
    from nncells.analysis import figures as ap
    out = Path(out_dir)
    cfg = common.read_json(out / "config.json")
    runs = common.read_csv(out / "runs.csv")
    speed = [r for r in common.read_csv(out / "speedup.csv") if "speedup" in r]
    rank_rows = [r for r in common.read_csv(out / "rank_children.csv") if r.get("rank") is not None]
    rank = {k: np.asarray([r[k] for r in rank_rows])
            for k in ("layer", "rank", "children", "max_children", "width")}
    brows = common.read_csv(out / "bounds.csv")
    note = common.quick_note(cfg).get("fits")
    fits = fits_from_runs(runs, note)
    common.write_json(out / "fits.json", fits)
    summary = _rows(analysis.rank_summary(rank, by=("width", "rank"))) if rank_rows else []
    common.write_csv(out / "rank_summary.csv", summary or [{"parents": 0}])
    for fig in (ap.plot_scaling(runs, fits, out / "scaling"), ap.plot_bounds(brows, out / "bounds")) + \
            ((ap.plot_rank_children(rank, out / "rank_children", panel="width"),) if rank_rows else ()) + \
            ((ap.plot_speedup(speed, out / "speedup"),) if speed else ()):
        plt.close(fig)
    fit_rows = [{"runs": k, "n": v["seconds"]["n"], "s per 1000 regions": 1000 * v["seconds"]["slope"],
                 "R2 time": v["seconds"]["r2"], "log-log slope time": v["seconds"]["exponent"],
                 "LP per region": v["lp_solves"]["slope"], "R2 LP": v["lp_solves"]["r2"],
                 **({"note": note} if note else {})} for k, v in fits.items()]
    user = cfg.get("model")
    what = (f"The user's model `{user}` ({runs[0]['arch']}), enumerated in the boxes [-h, h]^d for h in "
            f"{cfg['model_half_widths']} (its own input units), one worker. Run time {cfg['seconds']:.0f} s.\n"
            if user else
            f"Box runs: input dimension x depth x width from {cfg['box_dims']} x {cfg['depths']} x "
             f"{cfg['widths']} (skipping {cfg['skip']}), enumerated in the box "
             f"[-{cfg['half_width']:g}, {cfg['half_width']:g}]^d. Space runs: "
             f"{len(cfg['space'])} small architectures enumerated in the whole input space. Each "
             f"untrained and trained ({cfg['epochs']} epochs of Adam on digits projected by PCA to "
             f"the input dimension), one worker, seed {cfg['seed']}. Run time {cfg['seconds']:.0f} s.\n")
    lines = [f"# Scaling of exact enumeration ({cfg['mode']} mode)\n", what,
             "## Runtime and LP solves against regions\n", "![scaling](scaling.png)\n",
             *(["**Fits not meaningful: quick mode** (too few, too small runs).\n"] if note and fit_rows else []),
             common.md_table(fit_rows),
             "\n### All runs\n",
             common.md_table(runs, ["domain", "arch"] + (["half_width"] if user else ["trained"])
                             + ["regions", "per_layer", "lp_solves", "seconds", "method"]),
             "\n## Parallel speed-up (1 vs 2 workers)\n"]
    if speed:
        lines += ["![speed-up](speedup.png)\n", common.md_table(speed)]
    else:
        lines.append("Skipped: this version of `enumerate_regions` has no `workers` argument.\n")
    lines += ["\n## Rank of a region's map against its children in the next layer\n",
              ("The largest box" if user else "Pooled over all runs") + " with two or more hidden layers; "
              "`max_children` = sum_{j<=rank} C(width, j), `fill` = mean of children / max_children.\n",
              *(["![rank vs children](rank_children.png)\n", common.md_table(summary)] if summary
                else ["No run with two or more hidden layers: no table.\n"]),
              "\n## Global upper bounds against exact counts "
              + ("(the largest box: a lower bound of the whole space's count)\n" if user else "(whole space)\n"),
              "![bounds](bounds.png)\n",
              common.md_table(brows, ["arch", "trained", "exact", "serra", "montufar", "trivial",
                                      "montufar_max_lower", "serra_ratio"])]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
