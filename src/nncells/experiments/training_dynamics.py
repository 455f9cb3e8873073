"""Regions around data points while a network trains (after Zhu, Lin, Tang 2020, arXiv:2007.06803).

Small MLPs are trained with PyTorch on the CPU on two data sets (scikit-learn's two moons, 2-D,
and its bundled digits projected by PCA and standardised). At checkpoints across training the
exact `Network` is read from the model and, around training points and around uniform random
points of the data's bounding box, `nncells.local` measures: the exact number of regions meeting
balls of a few radii, the provable upper bound in the same balls, and the distance to the
nearest region boundary. The number of regions in the whole bounding box is recorded too.

With a model of the user's (``run(..., model=PATH)``, ``nncells experiment training-dynamics
--model FILE``; a plain ReLU MLP as `nncells.load_model` reads it) training starts from that
model's weights instead of a fresh MLP, on the one data set its shape fits: two moons for 2 inputs
and 2 outputs, digits projected by PCA to its input dimension for 10 outputs; one seed (the seed
then only shuffles the batches).

Files written to ``out_dir``: ``balls.csv`` (one row per seed, checkpoint, point and radius),
``distances.csv`` (one row per seed, checkpoint and point), ``checkpoints.csv`` (loss, accuracy,
regions in the box), ``summary.csv`` (means by data set, epoch, kind, radius), ``config.json``,
``training_<dataset>.png/.svg`` and ``report.md``. The report is rebuilt from the CSV files alone
by `write_report`.
"""
from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from nncells.domains import Box
from nncells.local import analyse_points
from nncells.experiments import common

CONFIGS = {
    "quick": {"datasets": [["moons", 2], ["digits", 2]], "widths": [16, 16], "epochs": 20,
              "checkpoints": [0, 2, 5, 20], "n_points": 12, "radii": [0.1, 0.3], "seeds": 1,
              "n_samples": 300, "lr": 0.01, "norm": "inf"},
    "full": {"datasets": [["moons", 2], ["digits", 3]], "widths": [32, 32], "epochs": 300,
             "checkpoints": [0, 1, 3, 10, 30, 100, 300], "n_points": 60,
             "radii": [0.05, 0.1, 0.25], "seeds": 3, "n_samples": 400, "lr": 0.01, "norm": "inf"},
}
# Balls are boxes (``norm="inf"``, centre +- radius), as in docs/results.md: their regions are
# enumerated without the distance-to-polyhedron solve of Euclidean balls (whose HiGHS QP once
# cycled forever on one of these balls); set "norm": 2 in a config for Euclidean balls.
_NORM_NAMES = {"inf": "max-norm (boxes centre +- radius)", 2: "Euclidean norm"}


def _points(X, n, rng):
    """``n`` training points and ``n`` uniform points of the data's bounding box."""
    lo, hi = X.min(axis=0).astype(float), X.max(axis=0).astype(float)
    train = X[rng.choice(len(X), size=min(n, len(X)), replace=False)].astype(float)
    return {"train": train, "random": lo + rng.random((n, X.shape[1])) * (hi - lo)}


def _measure(net, pts, cfg, box, rows, epoch, tag):
    """Append the local measures of ``net`` at one checkpoint to ``rows``."""
    for kind, P in pts.items():
        for r in cfg["radii"]:
            a = analyse_points(net, P, r, cfg["norm"], exact=True, samples=0, complexity=False,
                               workers=1)
            for i in range(len(P)):
                rows["balls"].append({**tag, "epoch": epoch, "kind": kind, "point": i, "radius": r,
                                      "exact": int(a["exact"][i]),
                                      "upper_bound": int(a["upper_bound"][i])})
        for i, dist in enumerate(a["boundary_distance"]):  # the same for every radius
            rows["distances"].append({**tag, "epoch": epoch, "kind": kind, "point": i,
                                      "boundary_distance": float(dist)})
    return common.enumerate_with(net, box).count


def run_one(dataset, dim, seed, cfg, rows, start=None):
    """Train one model on ``dataset`` (from the `Network` ``start`` when given) and measure it at
    every checkpoint."""
    X, y, n_classes = common.load_dataset(dataset, dim, n_samples=cfg["n_samples"], seed=seed)
    pts = _points(X, cfg["n_points"], np.random.default_rng(seed))
    box = Box(X.min(axis=0).astype(float), X.max(axis=0).astype(float))
    model = (common.make_mlp(dim, cfg["widths"], n_classes, seed=seed) if start is None
             else common.mlp_from_network(start))
    tag = {"dataset": dataset, "seed": seed}
    box_regions = {}

    def on_epoch(epoch, m):
        if epoch in cfg["checkpoints"]:
            box_regions[epoch] = _measure(common.to_network(m), pts, cfg, box, rows, epoch, tag)

    history = common.train(model, X, y, cfg["epochs"], lr=cfg["lr"], seed=seed, on_epoch=on_epoch)
    for h in history:
        if h["epoch"] in box_regions:
            rows["checkpoints"].append({**tag, "epoch": h["epoch"], "loss": h["loss"],
                                        "accuracy": h["accuracy"],
                                        "box_regions": box_regions[h["epoch"]]})


def _dataset_for(net) -> list:
    """``[[name, dim]]``: the one data set a user's network's shape fits."""
    from nncells.errors import NNCellsError
    d, k = net.input_dim, net.output_dim
    if d == 2 and k == 2:
        return [["moons", 2]]
    if k == 10 and d <= 64:
        return [["digits", d]]
    raise NNCellsError(f"the model maps {d} inputs to {k} outputs; training-dynamics trains on two moons "
                       "(2 inputs, 2 outputs) or on digits projected to the input dimension (at most 64 "
                       "inputs, 10 outputs)")


def run(out_dir, quick: bool = False, seed: int = 0, model=None) -> dict:
    """Run the experiment and write its files; returns ``{"report": path, "seconds": ...}``.
    ``model``: a model file whose weights training starts from (see the module's notes)."""
    net = common.load_user_model(model)
    datasets = None if net is None else _dataset_for(net)
    out, cfg = common.start(out_dir, CONFIGS, quick, seed)
    if net is not None:
        cfg.update(model=str(model), datasets=datasets, widths=net.widths, seeds=1)
    t0 = time.perf_counter()
    rows = defaultdict(list)
    for dataset, dim in cfg["datasets"]:
        for s in range(seed, seed + cfg["seeds"]):
            common.log(f"training-dynamics: {dataset} ({dim}-D), seed {s}")
            run_one(dataset, dim, s, cfg, rows, start=net)
    for name in ("balls", "distances", "checkpoints"):
        common.write_csv(out / f"{name}.csv", rows[name])
    cfg["seconds"] = time.perf_counter() - t0
    common.write_json(out / "config.json", cfg)
    report = write_report(out)
    return {"report": str(report), "seconds": cfg["seconds"]}


# ------------------------------------------------------------------ report from the files
def summarise(balls, distances, checkpoints):
    """Means over seeds and points, by data set, epoch, kind (and radius)."""
    dist = defaultdict(list)
    for r in distances:
        dist[(r["dataset"], r["epoch"], r["kind"])].append(r["boundary_distance"])
    groups = defaultdict(lambda: ([], []))
    for r in balls:
        ex, ub = groups[(r["dataset"], r["epoch"], r["kind"], r["radius"])]
        ex.append(r["exact"])
        ub.append(r["upper_bound"])
    summary = []
    for (ds, ep, kind, rad), (ex, ub) in sorted(groups.items()):
        ex = np.asarray(ex, dtype=float)
        d = np.asarray(dist[(ds, ep, kind)])
        summary.append({"dataset": ds, "epoch": ep, "kind": kind, "radius": rad,
                        "n": len(ex), "exact_mean": float(ex.mean()),
                        "exact_sem": float(ex.std(ddof=1) / np.sqrt(len(ex))) if len(ex) > 1 else 0.0,
                        "upper_mean": float(np.mean([float(u) for u in ub])),
                        "upper_median": float(np.median([float(u) for u in ub])),
                        "distance_median": float(np.median(d)), "distance_mean": float(d.mean())})
    ck = defaultdict(list)
    for r in checkpoints:
        ck[(r["dataset"], r["epoch"])].append(r)
    ck_mean = [{"dataset": ds, "epoch": ep,
                "accuracy": float(np.mean([r["accuracy"] for r in rs])),
                "loss": float(np.mean([r["loss"] for r in rs])),
                "box_regions": float(np.mean([r["box_regions"] for r in rs]))}
               for (ds, ep), rs in sorted(ck.items())]
    return summary, ck_mean


def _dataset_table(summary, ck, ds, radii):
    """One row per epoch: accuracy, box regions, mean counts (train / random) per radius, median
    boundary distance (train / random)."""
    by = {(r["epoch"], r["kind"], r["radius"]): r for r in summary if r["dataset"] == ds}
    rows = []
    for c in (c for c in ck if c["dataset"] == ds):
        ep = c["epoch"]
        row = {"epoch": ep, "accuracy": c["accuracy"], "box regions": c["box_regions"]}
        for rad in radii:
            row[f"count r={rad:g} train"] = by[(ep, "train", rad)]["exact_mean"]
            row[f"count r={rad:g} random"] = by[(ep, "random", rad)]["exact_mean"]
        rad = radii[-1]
        row[f"bound r={rad:g} train"] = by[(ep, "train", rad)]["upper_mean"]
        row[f"bound r={rad:g} random"] = by[(ep, "random", rad)]["upper_mean"]
        row["distance train"] = by[(ep, "train", radii[0])]["distance_median"]
        row["distance random"] = by[(ep, "random", radii[0])]["distance_median"]
        rows.append(row)
    return rows


def write_report(out_dir) -> Path:
    """Rebuild ``summary.csv``, the figures and ``report.md`` from the CSV files in ``out_dir``."""
    from nncells.analysis.figures import plot_training_dynamics
    import matplotlib.pyplot as plt
    out = Path(out_dir)
    cfg = common.read_json(out / "config.json")
    summary, ck = summarise(common.read_csv(out / "balls.csv"), common.read_csv(out / "distances.csv"),
                            common.read_csv(out / "checkpoints.csv"))
    common.write_csv(out / "summary.csv", summary)
    radii = sorted({r["radius"] for r in summary})
    start = (f"Training starts from the user's model `{cfg['model']}`. " if cfg.get("model") else "")
    lines = [f"# Training dynamics of regions around data ({cfg['mode']} mode)\n",
             start + f"MLP hidden widths {cfg['widths']}, Adam (lr {cfg['lr']}), {cfg['epochs']} epochs, "
             f"seeds {cfg['seed']}..{cfg['seed'] + cfg['seeds'] - 1}; {cfg['n_points']} training "
             f"points and {cfg['n_points']} uniform points of the data's bounding box per seed; "
             f"balls of radii {radii} (standardised units) in the {_NORM_NAMES[cfg['norm']]}. Run time "
             f"{cfg['seconds']:.0f} s.\n",
             "Columns: `count` = mean exact number of regions meeting the ball, `bound` = mean "
             "upper bound (`nncells.local.upper_bound_in_ball`), `distance` = median distance "
             "from the point to the nearest region boundary, `box regions` = regions in the "
             "data's bounding box (mean over seeds).\n"]
    for ds in sorted({r["dataset"] for r in summary}):
        fig = plot_training_dynamics([r for r in summary if r["dataset"] == ds],
                                     [c for c in ck if c["dataset"] == ds],
                                     path=out / f"training_{ds}", title=f"{ds}: regions around data during training")
        plt.close(fig)
        lines += [f"## {ds}\n", f"![{ds}](training_{ds}.png)\n",
                  common.md_table(_dataset_table(summary, ck, ds, radii))]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
