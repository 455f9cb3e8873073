"""``nncells enumerate MODEL (--box LO HI | --whole-space) [--out FILE.parquet|DIR] [--backend B]
[--adjacency [FILE.parquet]] [--certify] [--dry-run] [--json] ...``.

``--dry-run`` estimates the run instead of running it (`nncells.analysis.estimate.dry_run`): a
proven upper bound on the regions, a sampled lower bound, the rate of a few seconds of the real
work and the time both counts would take at that rate. A real run first makes the cheap check of
`nncells.analysis.estimate.run_note` and, when it may take hours, says so in one line on stderr.
"""
from __future__ import annotations

import math

from nncells import _config
from nncells.errors import NNCellsError
from nncells.kernels import BACKENDS
from nncells.results.store import check_writable
from nncells.run.driver import RunInterrupted
from nncells.run.executors import make_executor
from nncells.cli.progress import Progress
from nncells.api import METHODS, count_regions, enumerate_regions, enumerate_to_dir
from nncells.cli import graph_options
from nncells.results.result import EnumerationResult
from nncells.results.store import read_arrays
from nncells.cli.common import (add_domain_arguments, add_model_argument, domain_from_args, load_model_arg, print_json,
                                report_interrupt)


def add_arguments(p):
    add_model_argument(p)
    add_domain_arguments(p)
    p.add_argument("--out", metavar="PATH",
                   help="FILE.parquet: one Parquet file; a directory: Parquet shards and a manifest, "
                        "checkpointed so an interrupted run can be resumed")
    p.add_argument("--count-only", action="store_true", help="count regions without keeping them")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out DIR")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--dask-scheduler", metavar="ADDRESS", help="run on an existing Dask cluster")
    p.add_argument("--dask-local", type=int, metavar="N", help="run on a local Dask cluster of N workers")
    p.add_argument("--method", choices=METHODS, default="auto",
                   help="cells: layer-wise engine; planar: exact 2-D mesh; auto (default): planar where it applies")
    p.add_argument("--backend", choices=BACKENDS, default=None,
                   help="native: the compiled core; numpy: its reference twin (slower, same answers); "
                        "auto (default): native when built")
    p.add_argument("--checkpoint-every", type=float, default=30.0, metavar="S",
                   help="seconds between checkpoints of a sharded run (default %(default)g)")
    p.add_argument("--json", action="store_true", help="print one JSON object with the summary on stdout")
    p.add_argument("--tol", type=float, default=_config.DEFAULT_TOL,
                   help="the contract's threshold: a region counts iff it holds a point x deeper than "
                        "TOL * max|x_i| (default %(default)g; see docs/numerics.md)")
    p.add_argument("--quiet", action="store_true", help="no progress display on stderr")
    p.add_argument("--dry-run", action="store_true",
                   help="estimate instead of enumerating: a proven upper bound, a sampled lower bound, the rate "
                        "of a short sample of the real work and the time both counts would take")
    p.add_argument("--dry-run-seconds", type=float, default=2.0, metavar="S",
                   help="with --dry-run: seconds of real work measured (default %(default)g)")
    p.add_argument("--samples", type=int, default=1000, metavar="N",
                   help="with --dry-run: random points of the domain sampled (default %(default)d)")
    graph_options.add_arguments(p)


def run(args) -> int:
    net = load_model_arg(args)
    domain = domain_from_args(args, net.input_dim)
    single_file = args.out is not None and str(args.out).endswith(".parquet")
    if args.out is not None and not single_file:
        _check_directory_name(str(args.out))
    if args.resume and (args.out is None or single_file):
        raise NNCellsError("--resume needs --out DIR (a directory of a sharded run)")
    if single_file and args.count_only:
        raise NNCellsError("--count-only writes no regions: give --out DIR for a checkpointed count, or no --out")
    if not (math.isfinite(args.checkpoint_every) and args.checkpoint_every > 0):
        raise NNCellsError(f"--checkpoint-every must be a positive number of seconds, got {args.checkpoint_every:g}")
    if args.workers is not None and args.workers < 1:
        raise NNCellsError(f"--workers must be at least 1, got {args.workers}")
    if args.dry_run:
        return _dry_run(args, net, domain)
    if single_file:
        check_writable(args.out)  # before the work, not after it
    sharded = args.out is not None and not single_file
    edges = graph_options.check(args, sharded)
    executor = make_executor(args.workers, args.dask_scheduler, args.dask_local)
    from nncells.analysis.estimate import run_note
    note, bound = run_note(net, domain)
    # the note goes to stderr (with --json stdout holds one object) when the run starts: after its
    # output is in place, so that a refused output stays one line
    progress = Progress("regions", enabled=False if args.quiet else None, upper_bound=bound, note=note)
    common = dict(tol=args.tol, method=args.method, executor=executor, progress=progress, backend=args.backend)
    try:
        result = None
        if args.count_only:
            summary = count_regions(net, domain, out_dir=args.out, resume=args.resume,
                                    checkpoint_s=args.checkpoint_every, **common)
        elif sharded:
            summary = enumerate_to_dir(net, domain, args.out, resume=args.resume,
                                       checkpoint_s=args.checkpoint_every, **common)
            if edges is not None or args.certify or args.components or net.tournaments:
                result = EnumerationResult.from_regions(net, domain, read_arrays(args.out))
            if net.tournaments:   # max-pooling's argmax regions, from the patterns written
                summary["argmax_regions"] = result.argmax_regions()
        else:
            # the graph and the certificate read the facets the core records as it goes
            result = enumerate_regions(net, domain, facets=graph_options.wants_facets(args, edges), **common)
            if single_file:
                result.to_parquet(args.out)
            summary = result.summary()
        status = graph_options.report(result, summary, edges, args, net.fingerprint) if result else 0
    except RunInterrupted as e:
        progress.close()
        where = f"; the run is checkpointed in {e.out_dir}: resume with --resume" if e.out_dir else ""
        return report_interrupt(e, f" after {e.regions:,} regions{where}")
    progress.close()
    if args.json:
        print_json(summary)
    else:
        print(format_summary(summary, args.out))
    return status


def _check_directory_name(out: str) -> None:
    """Refuse ``--out NAME.ext`` (an extension other than .parquet) unless it is a directory path:
    an existing directory, or a name ending in ``/``; ``out.csv`` would silently become a directory.

    Examples
    --------
    >>> _check_directory_name("runs/seed0")
    >>> _check_directory_name("out.csv")
    Traceback (most recent call last):
    ...
    nncells.errors.NNCellsError: --out out.csv: a run is written to FILE.parquet or to a directory, and '.csv' is not .parquet; to write a directory of that name, give it as out.csv/
    """
    from pathlib import Path
    p = Path(out)
    if p.suffix and not out.endswith(("/", "\\")) and not p.is_dir():
        raise NNCellsError(f"--out {out}: a run is written to FILE.parquet or to a directory, and '{p.suffix}' is "
                           f"not .parquet; to write a directory of that name, give it as {out}/")


def _dry_run(args, net, domain) -> int:
    from nncells.analysis.estimate import dry_run
    if not (math.isfinite(args.dry_run_seconds) and args.dry_run_seconds > 0):
        raise NNCellsError(f"--dry-run-seconds must be a positive number, got {args.dry_run_seconds:g}")
    if args.samples < 1:
        raise NNCellsError(f"--samples must be at least 1, got {args.samples}")
    e = dry_run(net, domain, samples=args.samples, seconds=args.dry_run_seconds, tol=args.tol,
                method=args.method, backend=args.backend)
    if args.json:
        print_json(e)
    else:
        print(format_estimate(e))
    return 0


def format_estimate(e: dict) -> str:
    """The table of ``--dry-run`` (`nncells.analysis.estimate.dry_run`'s dict).

    Examples
    --------
    >>> e = {"regions_upper_bound": 10 ** 19, "upper_bound_kind": "serra", "sampled_regions": 900,
    ...      "regions_per_second": 3000.0, "estimated_seconds": {"upper_bound": 10 ** 19 / 3000, "sampled": 0.3},
    ...      "measured": {"samples": 1000, "patterns": 950, "checked": 950, "seconds": 2.0, "regions": 6000,
    ...                   "finished": False, "rate": "measured", "workers": 1, "method": "cells"}}
    >>> print(format_estimate(e))
    at most      1.0e+19 regions (proven: serra bound)
    at least     900 regions (950 patterns among 1,000 samples, 950 checked)
    rate         3,000 regions/s (6,000 regions in 2 s of the real run, 1 worker, cells method)
    time         1.1e+08 years for the bound, 0.3 s for the sampled count, at this rate
    """
    from nncells.analysis.estimate import format_count
    from nncells.cli.progress import format_duration
    m, t = e["measured"], e["estimated_seconds"]
    r = e["regions_per_second"]
    how = f"{m['workers']} worker{'s' * (m['workers'] != 1)}, {m['method']} method"
    lines = [f"at most      {format_count(e['regions_upper_bound'])} regions (proven: {e['upper_bound_kind']} bound)",
             f"at least     {e['sampled_regions']:,} regions ({m['patterns']:,} patterns among {m['samples']:,} "
             f"samples, {m['checked']:,} checked)"]
    if m["rate"] == "measured":
        lines += [f"rate         {r:,.0f} regions/s ({m['regions']:,} regions in {m['seconds']:.2g} s of the real run, "
                  f"{how})",
                  f"time         {format_duration(t['upper_bound'])} for the bound, {format_duration(t['sampled'])} "
                  f"for the sampled count, at this rate"]
    else:
        lines.append(f"rate         not measured: no task handed back a region in {m['seconds']:.2g} s of the real "
                     f"run ({how}); give --dry-run-seconds more")
    if "regions" in e:
        lines.append(f"regions      {e['regions']:,} (the sample run finished: the exact count)")
    return "\n".join(lines)


def format_summary(s: dict, out=None) -> str:
    lines = [
        f"network      {s['network']}",
        f"domain       {s['domain']['type']}",
        f"regions      {s['regions']:,}",
        f"per layer    {', '.join(f'{v:,}' for v in s['per_layer'])}",
        f"LP solves    {s['lp_solves']:,} ({s['lp_per_region']:.2f} per region)",
        f"borderline   {s.get('borderline', 0):,} (margin under 100 x tol = {s.get('tol')})",
        f"time         {s['seconds']:.3f} s ({(s['regions_per_second'] or 0):,.0f} regions/s)",
        f"ran on       {s['method']} method, {s.get('backend', 'numpy')} backend, {s['executor']} "
        f"({s['workers']} worker{'s' * (s['workers'] != 1)})",
    ]
    if s.get("argmax_regions") is not None:
        lines.append(f"argmax       {s['argmax_regions']:,} regions where every max-pooling window keeps its argmax")
    if s.get("ignored_output_ops"):
        lines.append(f"ignored      {', '.join(s['ignored_output_ops'])} (after the last layer: changes no region)")
    if s.get("reduced_dim") is not None:
        lines.append(f"solved in    {s['reduced_dim']} dimensions: the first layer's row space (exact)")
    if out:
        lines.append(f"written to   {out}")
    return "\n".join(lines + graph_options.format_lines(s))
