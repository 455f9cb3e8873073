"""The seed paper's experiment on the seed paper's kind of network (Drammis et al. 2024,
arXiv:2403.00860): exact enumeration of the activation regions of two-hidden-layer MLPs
784-w-w-10 trained on 28x28 images with inputs in [0, 1], inside the box [0, 1]^784.

EMNIST, the paper's data set, cannot be downloaded here. The stand-in is scikit-learn's bundled
8x8 digits resized bilinearly to 28x28 and scaled to [0, 1] (`common.load_digits28`): the same
input dimension and range, 10 classes, 1,797 images (split stratified into train and test).

For every width w of the configuration: train 784-w-w-10 (Adam, cross-entropy), record its train
and test accuracy, save it (``networks/w{w}.npz``) and enumerate its regions in [0, 1]^784 in
one process, with a time limit per network (``time_limit_s``). A network that reaches the limit
is recorded as ``capped`` with the regions found so far (a lower bound); with ``stop_after_cap``
the wider networks after it are trained but not enumerated (``skipped``). Then: runtime and LP
solves against regions (lines through the origin: the paper's linear scaling), the parallel
speed-up of the largest complete networks at 1 vs 2 workers, and for each first-layer region the
rank of its affine map against its number of second-layer regions.

Files written to ``out_dir``: ``runs.csv``, ``speedup.csv``, ``rank_children.csv`` (one row per
first-layer region), ``rank_summary.csv``, ``fits.json``, ``config.json``, ``networks/*.npz``,
figures ``networks``, ``runtime``, ``speedup``, ``rank_children`` (PNG and SVG) and ``report.md``,
which `write_report` rebuilds from the data files alone.
"""
from __future__ import annotations

import gc
import os
import resource
import time
from pathlib import Path

import numpy as np

from nncells import __version__
from nncells.analysis import measures as analysis
from nncells.domains import Box
from nncells.errors import NNCellsError
from nncells.experiments import common
from nncells.experiments import seed_paper_figures as figs
from nncells.network import Network

CONFIGS = {
    "quick": {"widths": [3, 4, 5], "epochs": 100, "lr": 1e-3, "batch_size": 64, "test_size": 0.25,
              "time_limit_s": 60.0, "stop_after_cap": True, "speedup_runs": 1, "task_budget_s": 1.0},
    "full": {"widths": [3, 4, 5, 6, 7, 8, 10, 12, 14, 16], "epochs": 150, "lr": 1e-3, "batch_size": 64,
             "test_size": 0.25, "time_limit_s": 600.0, "stop_after_cap": True, "speedup_runs": 2,
             "task_budget_s": 1.0},
}

RUN_COLUMNS = ("width", "arch", "train_accuracy", "test_accuracy", "status", "regions",
               "layer1_regions", "lp_solves", "seconds", "regions_per_s", "lp_per_region",
               "load_1min", "peak_rss_mb", "method", "backend", "network")
RANK_KEYS = ("rank", "children", "max_children", "width")
LOG_EVERY_S = 15.0


class _TimeUp(Exception):
    """Raised from the progress callback when a network reaches its time limit."""

    def __init__(self, regions: int, seconds: float):
        super().__init__(f"time limit reached after {regions} regions")
        self.regions, self.seconds = regions, seconds


def fit_origin(x, y) -> dict:
    """Least-squares line through the origin, ``y = slope x``, and its R^2 against the mean
    (``1 - SS_res / SS_tot`` with ``SS_tot`` around the mean of ``y``, so a line through the
    origin can score below 0 where an intercept would be needed).

    Returns
    -------
    dict with ``slope``, ``r2`` and ``n``; ``r2`` is NaN when ``y`` is constant.

    Examples
    --------
    >>> from nncells.experiments.seed_paper import fit_origin
    >>> f = fit_origin([1, 2, 4], [0.5, 1.0, 2.0])
    >>> f["slope"], f["r2"], f["n"]
    (0.5, 1.0, 3)
    >>> fit_origin([1, 2, 3], [2, 2, 5])["slope"]  # (2 + 4 + 15) / (1 + 4 + 9)
    1.5
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or not (x != 0).any():
        raise NNCellsError("a line through the origin needs 1-D x and y of equal length, x not all 0")
    slope = float(x @ y / (x @ x))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - slope * x) ** 2)) / ss_tot if ss_tot > 0 else float("nan")
    return {"slope": slope, "r2": r2, "n": int(len(x))}


# ------------------------------------------------------------------ networks and enumeration
def split_data(cfg, seed):
    """``(X_train, X_test, y_train, y_test)``: the upsampled digits, split stratified."""
    from sklearn.model_selection import train_test_split
    X, y, _ = common.load_digits28()
    return train_test_split(X, y, test_size=cfg["test_size"], random_state=seed, stratify=y)


def train_network(width, data, cfg, seed):
    """Train 784-w-w-10; returns ``(network, train accuracy, test accuracy)`` (the accuracies of
    the exact float64 `Network`, the one enumerated)."""
    Xtr, Xte, ytr, yte = data
    model = common.make_mlp(Xtr.shape[1], [width, width], int(ytr.max()) + 1, seed=seed)
    common.train(model, Xtr, ytr, cfg["epochs"], lr=cfg["lr"], batch_size=cfg["batch_size"], seed=seed)
    net = common.to_network(model.eval())

    def accuracy(X, y):
        return float((net.forward(X.astype(np.float64)).argmax(1) == y).mean())
    return net, accuracy(Xtr, ytr), accuracy(Xte, yte)


def enumerate_capped(net, workers, limit_s, label, budget_s=1.0):
    """Enumerate ``net``'s regions in [0, 1]^d with ``workers`` processes, giving up after
    ``limit_s`` seconds; progress with the rate on stderr. Returns ``(result, regions, seconds)``
    with ``result`` None (and ``regions`` a lower bound) when the limit was reached."""
    from nncells.run.executors import make_executor
    t0 = time.perf_counter()
    last = [t0]

    def progress(n, text):
        now = time.perf_counter()
        if now - t0 > limit_s:
            raise _TimeUp(n, now - t0)
        if now - last[0] >= LOG_EVERY_S:
            last[0] = now
            common.log(f"seed-paper: {label}: {n} regions in {now - t0:.0f} s "
                       f"({n / (now - t0):.1f} regions/s; {text})")
    try:
        res = common.enumerate_with(net, Box(0.0, 1.0), workers=workers,
                                    executor=make_executor(workers, budget_s=budget_s), progress=progress)
    except _TimeUp as e:
        common.log(f"seed-paper: {label}: time limit of {limit_s:g} s reached after {e.regions} regions")
        return None, e.regions, e.seconds
    common.log(f"seed-paper: {label}: {res.count} regions in {res.seconds:.1f} s "
               f"({res.count / max(res.seconds, 1e-9):.1f} regions/s), {res.lp_solves} LPs")
    return res, res.count, res.seconds


def _peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def sweep(cfg, seed, out):
    """Train, save and enumerate every width: run rows and the rank tables of complete runs."""
    data = split_data(cfg, seed)
    (out / "networks").mkdir(exist_ok=True)
    runs, tables, capped = [], [], None
    for w in cfg["widths"]:
        net, acc_train, acc_test = train_network(w, data, cfg, seed)
        arch = "-".join(map(str, [net.input_dim, w, w, net.output_dim]))
        name = f"networks/w{w}.npz"
        net.to_npz(out / name)
        row = dict.fromkeys(RUN_COLUMNS)
        row.update(width=w, arch=arch, train_accuracy=acc_train, test_accuracy=acc_test, network=name)
        common.log(f"seed-paper: {arch}: train accuracy {acc_train:.3f}, test {acc_test:.3f}")
        if capped is not None and cfg["stop_after_cap"]:
            row["status"] = "skipped"
            runs.append(row)
            continue
        row["load_1min"] = os.getloadavg()[0]
        res, n, secs = enumerate_capped(net, 1, cfg["time_limit_s"], arch, cfg["task_budget_s"])
        row.update(regions=n, seconds=secs, regions_per_s=n / secs if secs > 0 else None,
                   peak_rss_mb=_peak_rss_mb())
        if res is None:
            row["status"], capped = "capped", w
        else:
            summary = res.summary()
            row.update(status="complete", layer1_regions=res.per_layer[0], lp_solves=res.lp_solves,
                       lp_per_region=res.lp_solves / max(res.count, 1), method=summary["method"],
                       backend=summary["backend"])
            t = analysis.rank_children(res)
            tables.append(({k: v[t["layer"] == 1] for k, v in t.items()}, w, arch))
        runs.append(row)
        del res
        gc.collect()
    return runs, tables


def speedups(runs, cfg, out):
    """Re-run the largest complete networks with 1 and 2 workers (limit: twice the sweep's)."""
    rows = []
    done = sorted((r for r in runs if r["status"] == "complete"), key=lambda r: -r["regions"])
    for r in done[:cfg["speedup_runs"]]:
        net = Network.from_npz(out / r["network"])
        t = {k: enumerate_capped(net, k, 2 * cfg["time_limit_s"], f"{r['arch']}, {k} worker(s)",
                                 cfg["task_budget_s"]) for k in (1, 2)}
        ok = all(t[k][0] is not None for k in (1, 2))
        rows.append({"arch": r["arch"], "width": r["width"], "regions": t[1][1], "regions_2_workers": t[2][1],
                     "seconds_1": t[1][2], "seconds_2": t[2][2], "complete": ok,
                     "speedup": t[1][2] / t[2][2] if ok else None, "load_1min": os.getloadavg()[0]})
        common.log(f"seed-paper: speed-up {r['arch']}: {common.fmt(rows[-1]['speedup'])}")
    return rows


def run(out_dir, quick: bool = False, seed: int = 0) -> dict:
    """Run the experiment and write its files; returns ``{"report": path, "seconds": ...}``."""
    out, cfg = common.start(out_dir, CONFIGS, quick, seed)
    t0 = time.perf_counter()
    runs, tables = sweep(cfg, seed, out)
    common.write_csv(out / "runs.csv", runs)
    rank = analysis.concat_tables([t for t, _, _ in tables], width=[w for _, w, _ in tables],
                                  arch=[a for _, _, a in tables])
    common.write_csv(out / "rank_children.csv",
                     _rows(rank) or [dict.fromkeys(analysis.RANK_COLUMNS + ("width", "arch"))])
    common.write_csv(out / "speedup.csv", speedups(runs, cfg, out) or [{"skipped": True}])
    cfg["seconds"] = time.perf_counter() - t0
    cfg["nncells_version"] = __version__
    cfg["data"] = {"name": "scikit-learn digits, 8x8 resized bilinearly to 28x28, scaled to [0, 1]",
                   "n": 1797, "test_size": cfg["test_size"], "stratified": True}
    common.write_json(out / "config.json", cfg)
    return {"report": str(write_report(out)), "seconds": cfg["seconds"], **common.quick_note(cfg)}


# ------------------------------------------------------------------ report from the files
def _rows(table: dict) -> list[dict]:
    """A table (dict of equal-length arrays) as a list of row dicts."""
    return [dict(zip(table, vals)) for vals in zip(*(np.asarray(v).tolist() for v in table.values()))]


def fits_from_runs(runs) -> dict:
    """Lines through the origin of seconds and LP solves against regions over the complete runs,
    and `analysis.scaling_fits` (with an intercept, and the log-log slope); ``{}`` with fewer than
    two distinct region counts."""
    done = [r for r in runs if r["status"] == "complete"]
    if len({r["regions"] for r in done}) < 2:
        return {}
    n = [r["regions"] for r in done]
    return {"n": len(done), "widths": [r["width"] for r in done],
            "origin": {k: fit_origin(n, [r[k] for r in done]) for k in ("seconds", "lp_solves")},
            "affine": analysis.scaling_fits(done)}


def rank_facts(rank_rows) -> dict:
    """Whole-table facts: parents, how many stay within / reach their bound, rank-0 parents and
    their largest number of children, and Spearman's rank correlation of rank and children per
    width (NaN where either is constant)."""
    from scipy.stats import spearmanr
    rows = [r for r in rank_rows if r.get("rank") is not None]
    ch = np.array([r["children"] for r in rows], dtype=float)
    mx = np.array([r["max_children"] for r in rows], dtype=float)
    rk = np.array([r["rank"] for r in rows])
    width = np.array([r["width"] for r in rows])
    rho = {}
    for w in sorted(set(width.tolist())):
        m = width == w
        const = np.ptp(rk[m]) == 0 or np.ptp(ch[m]) == 0
        rho[str(w)] = float("nan") if const else float(spearmanr(rk[m], ch[m])[0])
    zero = rk == 0
    return {"parents": len(rows), "within_bound": int((ch <= mx).sum()), "at_bound": int((ch == mx).sum()),
            "rank0": int(zero.sum()), "rank0_max_children": int(ch[zero].max()) if zero.any() else None,
            "spearman": rho}


def write_report(out_dir) -> Path:
    """Rebuild ``fits.json``, ``rank_summary.csv``, the figures and ``report.md`` from the data
    files in ``out_dir``."""
    out = Path(out_dir)
    cfg = common.read_json(out / "config.json")
    runs = common.read_csv(out / "runs.csv")
    speed = [r for r in common.read_csv(out / "speedup.csv") if r.get("speedup") is not None]
    rank_rows = [r for r in common.read_csv(out / "rank_children.csv") if r.get("rank") is not None]
    fits = fits_from_runs(runs)
    if fits and cfg["mode"] == "quick":  # three small networks: a line through them means little
        fits["note"] = common.QUICK_FIT_NOTE
    facts = rank_facts(rank_rows) if rank_rows else {}
    common.write_json(out / "fits.json", {"runtime": fits, "rank": facts})
    summary = []
    if rank_rows:
        rank = {k: np.asarray([r[k] for r in rank_rows]) for k in RANK_KEYS}
        summary = _rows(analysis.rank_summary(rank, by=("width", "rank")))
        common.write_csv(out / "rank_summary.csv", summary)
    figs.draw_all(out, runs, fits, speed, rank_rows)
    path = out / "report.md"
    path.write_text("\n".join(_report_lines(cfg, runs, fits, speed, summary, facts)))
    return path


def _report_lines(cfg, runs, fits, speed, summary, facts) -> list[str]:
    loads = [r["load_1min"] for r in runs if r["load_1min"] is not None]
    engine = sorted({f"{r.get('method')} / {r.get('backend')}" for r in runs if r.get("method")})
    lines = [f"# The seed paper's experiment on its kind of network ({cfg['mode']} mode)\n",
             "After Drammis et al. 2024 (arXiv:2403.00860), who enumerate the regions of two-hidden-layer "
             "MLPs trained on EMNIST. **EMNIST cannot be downloaded here; the data are a stand-in:** "
             f"{cfg['data']['name']} ({cfg['data']['n']} images, 784 inputs in [0, 1], 10 classes; "
             f"{cfg['test_size']:.0%} held out for testing, stratified).\n",
             f"Networks 784-w-w-10 for w in {cfg['widths']}, trained {cfg['epochs']} epochs (Adam, lr "
             f"{cfg['lr']:g}, batches of {cfg['batch_size']}), seed {cfg['seed']}; regions enumerated "
             f"exactly in the box [0, 1]^784, one worker, at most {cfg['time_limit_s']:g} s per network "
             f"(nncells {cfg.get('nncells_version', '-')}; method / backend: {', '.join(engine) or '-'}). "
             f"Total run time {cfg['seconds']:.0f} s. 1-minute load average during the enumerations: "
             + (f"{min(loads):.1f} to {max(loads):.1f}" if loads else "-")
             + " (the machine's other jobs make wall-clock times noisy; counts and LP solves are not).\n",
             "## Networks\n", "![networks](networks.png)\n",
             common.md_table(runs, ["arch", "train_accuracy", "test_accuracy", "status", "layer1_regions",
                                    "regions", "lp_solves", "seconds", "regions_per_s", "lp_per_region",
                                    "peak_rss_mb"]),
             "\n`layer1_regions`: regions of the first hidden layer's partition; `regions`: of both "
             "layers (for a capped network, the regions found before the limit: a lower bound); "
             "`peak_rss_mb`: the process's peak resident memory so far.\n",
             "## Runtime and LP solves against regions\n"]
    if fits:
        o, a = fits["origin"], fits["affine"]
        lines += ["![runtime](runtime.png)\n",
                  *([f"**Fits {fits['note']}** (too few, too small networks).\n"] if "note" in fits else []),
                  f"Complete networks only (n = {fits['n']}, w in {fits['widths']}). Lines through the "
                  "origin (y = slope x; R^2 against the mean), and least-squares lines with an intercept "
                  "beside the slope of the log-log fit (1 = linear growth):\n",
                  common.md_table([{"quantity": k, "per region (origin)": o[k]["slope"],
                                    "R2 (origin)": o[k]["r2"], "per region (affine)": a[k]["slope"],
                                    "intercept": a[k]["intercept"], "R2 (affine)": a[k]["r2"],
                                    "log-log slope": a[k]["exponent"]} for k in ("seconds", "lp_solves")])]
    else:
        lines.append("Fewer than two complete networks with different counts: no fit.\n")
    lines.append("\n## Parallel speed-up (1 vs 2 workers)\n")
    if speed:
        lines += ["![speed-up](speedup.png)\n",
                  common.md_table(speed, ["arch", "regions", "regions_2_workers", "seconds_1", "seconds_2",
                                          "speedup", "load_1min"])]
    else:
        lines.append("Not measured: no complete network, or the re-runs reached their time limit.\n")
    lines.append("\n## Rank of a first-layer region against its second-layer regions\n")
    if summary:
        rho = ", ".join(f"w = {w}: {common.fmt(v)}" for w, v in facts["spearman"].items())
        lines += ["For every region of the first hidden layer: the rank r of its affine map (input -> first "
                  "layer's output), its number of regions in the second layer (`children`), and the bound "
                  "`max_children` = sum_{j<=r} C(w, j). `fill` = mean of children / bound.\n",
                  "![rank vs children](rank_children.png)\n", common.md_table(summary),
                  f"\n{facts['parents']} parent regions; {facts['within_bound']} within their bound, "
                  f"{facts['at_bound']} at it; {facts['rank0']} of rank 0 (largest number of children: "
                  f"{common.fmt(facts['rank0_max_children'])}). Spearman's rank correlation of rank and "
                  f"children per width: {rho}.\n"]
    else:
        lines.append("No complete network: no table.\n")
    left = [r for r in runs if r["status"] != "complete"]
    lines.append("\n## Left out\n")
    for r in left:
        if r["status"] == "capped":
            lines.append(f"- {r['arch']}: reached the limit of {cfg['time_limit_s']:g} s after "
                         f"{r['regions']} regions (a lower bound); not in the fits or the rank table.")
        else:
            lines.append(f"- {r['arch']}: trained (test accuracy {common.fmt(r['test_accuracy'])}) but not "
                         "enumerated: a narrower network already reached the time limit.")
    lines.append("- EMNIST itself (it cannot be downloaded here): the upsampled digits stand in for it.\n")
    return lines
