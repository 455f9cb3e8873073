"""When do holes appear in a decision region during training? Exact Betti numbers across training.

Small MLPs are trained with PyTorch on the CPU on scikit-learn's two circles (2-D; class 0 the
outer ring, class 1 the inner disk), so a classifier that fits the data has an annulus as class
0's decision region (b1 = 1), which at initialisation it typically is not. At checkpoints across
training the exact `Network` is read from the model and `nncells.analysis.decision_topology`
gives, in the box [-1.6, 1.6]^2 around the data, the regions, the face counts of the
class-refined complex and the Betti numbers over GF(2) of each class's closed decision region
and of the decision boundary. After training, the persistent homology of the final network's
margin ``f_1 - f_0`` (`output_persistence` with weights ``[-1, 1]``; its sublevel set at t = 0 is
class 0's region) gives a barcode: the bars alive at 0 must be class 0's Betti numbers.

With a model of the user's (``run(..., model=PATH)``, ``nncells experiment topology --model
FILE``; a plain ReLU MLP with 2 inputs and 2 outputs) training starts from its weights; one seed.

Files written to ``out_dir``: ``checkpoints.csv`` (one row per seed and checkpoint: loss,
accuracy, regions, refined cells, face counts, Betti numbers), ``betti.csv`` (one row per seed,
checkpoint and class ``0``, ``1``, ``boundary``), ``bars.csv`` (the final networks' bars; death
``inf`` for classes that never die), ``final_seed<k>.npz``, ``config.json``, ``betti.png/.svg``,
``barcode.png/.svg`` and ``report.md``; `write_report` rebuilds the figures and the report from
the CSV and JSON files alone.
"""
from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from nncells.domains import Box
from nncells.errors import NNCellsError
from nncells.experiments import common

CONFIGS = {
    "quick": {"widths": [8, 8], "epochs": 30, "checkpoints": [0, 3, 10, 30], "seeds": 1,
              "n_samples": 200, "noise": 0.08, "factor": 0.5, "lr": 0.02, "box": 1.6},
    "full": {"widths": [16, 16], "epochs": 200, "seeds": 3,
             "checkpoints": [0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100, 200],
             "n_samples": 400, "noise": 0.08, "factor": 0.5, "lr": 0.01, "box": 1.6},
}
CLASSES = ("0", "1", "boundary")
MARGIN = [-1.0, 1.0]  # g = f_1 - f_0: {g <= 0} is class 0's closed decision region


def load_circles(cfg: dict, seed: int):
    """``(X float32 (n, 2), y int64 (n,))``: scikit-learn's two circles (class 0 outer)."""
    from sklearn.datasets import make_circles
    X, y = make_circles(n_samples=cfg["n_samples"], noise=cfg["noise"], factor=cfg["factor"],
                        random_state=seed)
    return X.astype(np.float32), y.astype(np.int64)


def betti_rows(top, tag: dict) -> list[dict]:
    """Rows ``{**tag, class, b0, b1}`` of a `DecisionTopology` for classes 0, 1 and the boundary."""
    sets = {"0": top.betti["0"], "1": top.betti["1"], "boundary": top.boundary_betti}
    return [{**tag, "class": c, "b0": int(sets[c][0]), "b1": int(sets[c][1])} for c in CLASSES]


def run_one(seed: int, cfg: dict, rows, out: Path, start=None) -> None:
    """Train one model (from the `Network` ``start`` when given), measure the topology at every
    checkpoint, then the final margin's persistence; rows go to ``rows``, the network to ``out``."""
    from nncells.analysis.topology import decision_topology, output_persistence
    X, y = load_circles(cfg, seed)
    box = Box(-cfg["box"], cfg["box"], dim=2)
    model = common.make_mlp(2, cfg["widths"], 2, seed=seed) if start is None else common.mlp_from_network(start)
    tops = {}

    def on_epoch(epoch, m):
        if epoch in cfg["checkpoints"]:
            tops[epoch] = decision_topology(common.to_network(m), box, workers=1)

    history = common.train(model, X, y, cfg["epochs"], lr=cfg["lr"], seed=seed, on_epoch=on_epoch)
    for h in history:
        if h["epoch"] in tops:
            top, tag = tops[h["epoch"]], {"seed": seed, "epoch": h["epoch"]}
            b = betti_rows(top, tag)
            rows["checkpoints"].append({**tag, "loss": h["loss"], "accuracy": h["accuracy"],
                                        "regions": top.regions, "cells": int(top.faces[-1]),
                                        **{f"f{k}": int(v) for k, v in enumerate(top.faces)},
                                        **{f"{r['class']}_b{k}": r[f"b{k}"] for r in b for k in (0, 1)}})
            rows["betti"] += b
    net = common.to_network(model)
    net.to_npz(out / f"final_seed{seed}.npz")
    bars = output_persistence(net, box, MARGIN, workers=1)
    rows["bars"] += [{"seed": seed, "dim": int(k), "birth": float(b), "death": float(d)}
                     for k, b, d in zip(bars.dim, bars.birth, bars.death)]


def run(out_dir, quick: bool = False, seed: int = 0, model=None) -> dict:
    """Run the experiment and write its files; returns ``{"report": path, "seconds": ...}``.
    ``model``: a model file (2 inputs, 2 outputs) whose weights training starts from."""
    net = common.load_user_model(model)
    if net is not None and (net.input_dim, net.output_dim) != (2, 2):
        raise NNCellsError(f"the model maps {net.input_dim} inputs to {net.output_dim} outputs; the topology "
                           "experiment trains on two circles (2 inputs, 2 outputs)")
    out, cfg = common.start(out_dir, CONFIGS, quick, seed)
    if net is not None:
        cfg.update(model=str(model), widths=net.widths, seeds=1)
    t0 = time.perf_counter()
    rows = defaultdict(list)
    for s in range(seed, seed + cfg["seeds"]):
        common.log(f"topology: two circles, seed {s}")
        run_one(s, cfg, rows, out, start=net)
    for name in ("checkpoints", "betti", "bars"):
        common.write_csv(out / f"{name}.csv", rows[name])
    cfg["seconds"] = time.perf_counter() - t0
    common.write_json(out / "config.json", cfg)
    return {"report": str(write_report(out)), "seconds": cfg["seconds"], **common.quick_note(cfg)}


# ------------------------------------------------------------------ report from the files
def first_hole(betti, seed) -> int | None:
    """The first checkpoint at which class 0 of ``seed`` has b1 >= 1 (None: never).

    Examples
    --------
    >>> rows = [{"seed": 0, "epoch": e, "class": "0", "b1": b} for e, b in ((0, 0), (5, 1), (9, 0))]
    >>> first_hole(rows, 0), first_hole(rows, 1)
    (5, None)
    """
    eps = sorted(r["epoch"] for r in betti if r["seed"] == seed and str(r["class"]) == "0" and r["b1"] >= 1)
    return eps[0] if eps else None


def alive_at(bars, seed, t: float = 0.0) -> list[int]:
    """``[#H0, #H1]`` bars of ``seed`` alive at ``t`` (``birth <= t < death``; a death of None
    or ``inf`` never comes).

    Examples
    --------
    >>> bars = [{"seed": 0, "dim": 0, "birth": -2.0, "death": float("inf")},
    ...         {"seed": 0, "dim": 0, "birth": -1.0, "death": 0.5},
    ...         {"seed": 0, "dim": 1, "birth": 0.0, "death": None},
    ...         {"seed": 0, "dim": 1, "birth": -0.5, "death": 0.0}]
    >>> alive_at(bars, 0), alive_at(bars, 0, 1.0)
    ([2, 1], [1, 1])
    """
    out = [0, 0]
    for r in bars:
        death = np.inf if r["death"] is None else float(r["death"])
        if r["seed"] == seed and float(r["birth"]) <= t < death and r["dim"] < 2:
            out[int(r["dim"])] += 1
    return out


def _persistence(bars):
    """The rows of ``bars`` as a `Persistence` (for the barcode figure)."""
    from nncells.analysis.homology import Persistence
    n = len(bars)
    death = [np.inf if r["death"] is None else float(r["death"]) for r in bars]
    return Persistence(dim=np.array([int(r["dim"]) for r in bars], dtype=np.int64),
                       birth=np.array([float(r["birth"]) for r in bars]), death=np.array(death, dtype=float),
                       birth_cell=np.full(n, -1, np.int64), death_cell=np.full(n, -1, np.int64), top_dim=2)


def _mean_curves(betti) -> list[dict]:
    """Betti numbers per (epoch, class), means over seeds (the figure's rows)."""
    groups = defaultdict(list)
    for r in betti:
        groups[(r["epoch"], str(r["class"]))].append(r)
    return [{"epoch": ep, "class": c, **{f"b{k}": float(np.mean([r[f"b{k}"] for r in rs])) for k in (0, 1)}}
            for (ep, c), rs in sorted(groups.items())]


def write_report(out_dir) -> Path:
    """Rebuild the figures and ``report.md`` from the CSV and JSON files in ``out_dir``."""
    from nncells.analysis.figures import plot_barcode, plot_betti_curves
    import matplotlib.pyplot as plt
    out = Path(out_dir)
    cfg = common.read_json(out / "config.json")
    ck, betti, bars = (common.read_csv(out / f"{n}.csv") for n in ("checkpoints", "betti", "bars"))
    seeds = sorted({r["seed"] for r in ck})
    plt.close(plot_betti_curves(_mean_curves(betti), path=out / "betti",
                                title="two circles: Betti numbers of the decision regions"
                                + (f" (means over {len(seeds)} seeds)" if len(seeds) > 1 else "")))
    plt.close(plot_barcode(_persistence([r for r in bars if r["seed"] == seeds[0]]), path=out / "barcode",
                           title=f"margin f1 - f0 of the final network (seed {seeds[0]})",
                           xlabel="threshold t (sublevel sets of f1 - f0)"))
    start = f"Training starts from the user's model `{cfg['model']}`. " if cfg.get("model") else ""
    note = common.quick_note(cfg).get("fits")
    lines = [f"# Holes in decision regions during training ({cfg['mode']} mode)\n",
             start + f"Two circles (scikit-learn `make_circles`, {cfg['n_samples']} points, noise {cfg['noise']}, "
             f"factor {cfg['factor']}; class 0 the outer ring); MLP hidden widths {cfg['widths']}, Adam "
             f"(lr {cfg['lr']}), {cfg['epochs']} epochs, seeds {seeds[0]}..{seeds[-1]}; decision topology in "
             f"the box [-{cfg['box']}, {cfg['box']}]^2 at epochs {cfg['checkpoints']}. Run time "
             f"{cfg['seconds']:.0f} s.\n"]
    if note:
        lines.append(f"**Results {note}**: too few epochs and too small a network to say when holes appear.\n")
    lines += ["## Betti numbers per checkpoint\n", "![Betti numbers](betti.png)\n",
              "`c0 b1` = holes in class 0's closed decision region; `bd` = the decision boundary; "
              "`cells` = cells of the complex refined by the argmax.\n"]
    last = {r["seed"]: r for r in ck if r["epoch"] == max(q["epoch"] for q in ck if q["seed"] == r["seed"])}
    table = [{"seed": r["seed"], "epoch": r["epoch"], "accuracy": r["accuracy"], "regions": r["regions"],
              "cells": r["cells"], **{f"{'bd' if c == 'boundary' else 'c' + c} b{k}": r[f"{c}_b{k}"]
                                      for c in CLASSES for k in (0, 1)}} for r in ck]
    lines.append(common.md_table(table))
    lines += ["## When class 0 first has a hole\n",
              common.md_table([{"seed": s, "first epoch with c0 b1 >= 1": "never" if (e := first_hole(betti, s)) is None
                                else e, "c0 b1 at the end": last[s]["0_b1"]} for s in seeds])]
    lines += ["## Persistence of the final margin\n", "![barcode](barcode.png)\n",
              "Sublevel sets `{f1 - f0 <= t}` of the final network; at t = 0 that is class 0's closed "
              "decision region, so the bars alive at 0 must be class 0's Betti numbers at the last "
              "checkpoint.\n"]
    checks = []
    for s in seeds:
        a, b = alive_at(bars, s), [last[s]["0_b0"], last[s]["0_b1"]]
        checks.append({"seed": s, "bars": sum(r["seed"] == s for r in bars), "H0 alive at 0": a[0],
                       "H1 alive at 0": a[1], "c0 b0": b[0], "c0 b1": b[1], "agree": a == b})
    lines.append(common.md_table(checks))
    ok = all(c["agree"] for c in checks)
    lines.append(("Check passed: " if ok else "**Check FAILED**: ")
                 + ("the bars alive at 0 equal class 0's Betti numbers for every seed.\n" if ok else
                    "the bars alive at 0 differ from class 0's Betti numbers (see the table).\n"))
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path
