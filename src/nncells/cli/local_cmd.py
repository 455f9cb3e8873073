"""``nncells local MODEL (--center X --radius R | --points FILE --radius R --out FILE)``.

One ball: the exact number of regions meeting it, the provable upper bound, the sampled lower
bound, the local complexity and the centre's distance to its region's boundary; ``--no-exact``
skips the exact count (the one part whose cost grows steeply with the dimension; the others are
forward passes and bound propagation, fast in any dimension), and in more than
``_config.VERTEX_MAX_DIM`` dimensions the exact count shows its progress on stderr. Many balls
(``--points``): one row per point, written to CSV or Parquet.

In ``--json`` output ``norm`` is always a string, ``"2"`` or ``"inf"`` (as on the command line),
and ``exact`` (and ``lp_solves``) is null when not counted.
"""
from __future__ import annotations

import math
import os
import sys
import time
from pathlib import Path

from nncells.errors import NNCellsError
from nncells.cli.common import add_model_argument, load_model_arg, number_list, print_json


def add_arguments(p):
    add_model_argument(p)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--center", metavar="X1,...,XD", help="centre of one ball (comma-separated)")
    where.add_argument("--points", metavar="FILE", help="centres of many balls: .npy (n, d) or .csv")
    p.add_argument("--radius", required=True, metavar="R", help="radius of the ball(s)")
    p.add_argument("--norm", default="2", choices=["2", "inf"],
                   help="2: Euclidean ball; inf: the box centre +- R (default 2)")
    p.add_argument("--samples", type=int, default=1000,
                   help="random points per ball for the sampled lower bound (default 1000; 0 skips)")
    p.add_argument("--bound", default="crown", choices=["crown", "interval"],
                   help="bound propagation of the upper bound (default crown; interval is faster, looser)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampling (default 0)")
    p.add_argument("--out", metavar="FILE", help="with --points: output table, .csv or .parquet")
    exact = p.add_mutually_exclusive_group()
    exact.add_argument("--exact", action="store_true", help="with --points: also count exactly (slow)")
    exact.add_argument("--no-exact", action="store_true",
                       help="one ball: skip the exact count; only the bounds, the local complexity and the "
                            "boundary distance (fast in any dimension)")
    p.add_argument("--workers", type=int, default=None,
                   help="with --points --exact: processes for the exact counts (default: all cores)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress display on stderr")


def _radius(text) -> float:
    vals = number_list(text)
    if len(vals) != 1 or not (math.isfinite(vals[0]) and vals[0] > 0):
        raise NNCellsError(f"--radius must be one positive number, got {text!r}")
    return vals[0]


def run(args) -> int:
    net = load_model_arg(args)
    radius = _radius(args.radius)
    if args.samples < 0:
        raise NNCellsError(f"--samples must be >= 0, got {args.samples}")
    if args.points:
        return _run_batch(args, net, radius)
    if args.out or args.exact or args.workers is not None:
        raise NNCellsError("--out, --exact and --workers go with --points")
    return _run_one(args, net, number_list(args.center), radius)


def _run_one(args, net, center, radius) -> int:
    import numpy as np
    from nncells import _config
    from nncells.cli.progress import Progress
    from nncells.local import (boundary_distance, local_complexity, regions_in_ball, sampled_patterns_in_ball,
                               upper_bound_in_ball)
    t0 = time.perf_counter()
    result = None
    if not args.no_exact:
        # the exact count is the slow part in high dimension: say how far it is (a terminal only)
        slow = net.input_dim > _config.VERTEX_MAX_DIM and not args.quiet
        progress = Progress("exact count (--no-exact skips it)", enabled=None if slow else False)
        try:
            result = regions_in_ball(net, center, radius, args.norm, progress=progress)
        finally:
            progress.close()
    out = {
        "center": list(map(float, center)), "radius": radius,
        "norm": args.norm,
        "exact": None if result is None else result.count,
        "upper_bound": int(upper_bound_in_ball(net, center, radius, args.norm, args.bound)),
        "sampled_lower_bound": len(sampled_patterns_in_ball(net, center, radius, args.samples, args.norm,
                                                            seed=args.seed)),
        "samples": args.samples,
        "local_complexity": int(local_complexity(net, center, radius)[0]),
        "boundary_distance": float(boundary_distance(net, np.asarray(center, dtype=float))),
        "lp_solves": None if result is None else result.lp_solves,
        "ignored_output_ops": list(net.ignored_output_ops),
        "seconds": time.perf_counter() - t0,
    }
    if args.json:
        print_json(out)
    else:
        width = max(map(len, out))
        for k, v in out.items():
            print(f"{k:<{width}}  {'not counted (--no-exact)' if v is None else v}")
    return 0


def _load_points(path):
    import numpy as np
    p = Path(path)
    if not p.is_file():
        raise NNCellsError(f"{path}: no such file")
    try:
        if p.suffix.lower() == ".npy":
            X = np.load(p, allow_pickle=False)
        elif p.suffix.lower() == ".csv":
            X = _read_csv(p)
        else:
            raise NNCellsError(f"{path}: points must be a .npy or .csv file")
    except (ValueError, OSError) as e:
        raise NNCellsError(f"{path}: cannot read points ({e})") from None
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise NNCellsError(f"{path}: expected a non-empty (n, d) table of points, got shape {X.shape}")
    return X


def _read_csv(p):
    """Comma-separated numbers, one point a row; a header row of names is skipped."""
    import numpy as np
    with open(p) as f:
        first = f.readline()
    try:
        [float(t) for t in first.split(",")]
        skip = 0
    except ValueError:
        skip = 1
    return np.loadtxt(p, delimiter=",", skiprows=skip, ndmin=2)


def _run_batch(args, net, radius) -> int:
    from nncells.local import analyse_points
    if not args.out:
        raise NNCellsError("--points needs --out FILE (.csv or .parquet)")
    out = Path(args.out)
    if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise NNCellsError(f"--out {args.out}: expected a .csv or .parquet file name")
    if not out.parent.is_dir():
        raise NNCellsError(f"--out {args.out}: directory {out.parent} does not exist")
    X = _load_points(args.points)
    bar = _progress_bar(len(X) if (args.exact or args.samples) else 0, args.quiet)
    t0 = time.perf_counter()
    try:
        cols = analyse_points(net, X, radius, args.norm, exact=args.exact, samples=args.samples,
                              bound=args.bound, workers=args.workers, seed=args.seed,
                              progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    _write_table(out, cols)
    summary = {"points": len(X), "radius": radius, "norm": args.norm,
               "out": str(out), "columns": list(cols), "ignored_output_ops": list(net.ignored_output_ops),
               "seconds": time.perf_counter() - t0}
    if args.json:
        print_json(summary)
    else:
        print(f"{len(X)} points analysed in {summary['seconds']:.2f} s, written to {out}")
    return 0


def _progress_bar(total, quiet):
    """A tqdm bar on stderr, only when stderr is a terminal and not ``quiet``; else None."""
    if quiet or total == 0 or not sys.stderr.isatty():
        return None
    from tqdm import tqdm
    try:  # a terminal that reports a 0 x 0 size (bare pseudo-terminals) would get no bar at all
        size = os.get_terminal_size(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        size = os.terminal_size((0, 0))
    return tqdm(total=total, unit="point", file=sys.stderr, ncols=None if size.columns > 0 else 80,
                nrows=None if size.lines > 0 else 24)


def _write_table(path: Path, cols: dict) -> None:
    """CSV or Parquet by extension, through a temporary name renamed on success.

    ``upper_bound`` is exact: an int64 column when every value fits, else decimal strings.
    """
    import numpy as np
    from nncells.results.store import atomic_write, atomic_write_table
    cols = dict(cols)
    ub = cols["upper_bound"]
    fits = max(ub) < 2 ** 63
    cols["upper_bound"] = np.array(ub, dtype=np.int64) if fits else np.array([str(v) for v in ub])
    if path.suffix.lower() == ".csv":
        atomic_write(path, lambda tmp: _write_csv(tmp, cols))
    else:
        import pyarrow as pa
        atomic_write_table(pa.table({k: pa.array(v) for k, v in cols.items()}), path)


def _write_csv(path, cols) -> None:
    import numpy as np
    names = list(cols)
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for row in zip(*(cols[k] for k in names)):
            f.write(",".join(repr(float(v)) if isinstance(v, (float, np.floating)) else str(v)
                             for v in row) + "\n")
