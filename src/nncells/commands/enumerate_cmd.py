"""``nncells enumerate MODEL (--box LO HI | --whole-space) [--out FILE.parquet] [--json]``."""
from __future__ import annotations

from ..engine import DEFAULT_TOL
from ..errors import NNCellsError
from ..progress import Progress
from ..regions import enumerate_regions
from .common import add_domain_arguments, add_model_argument, domain_from_args, load_model_arg, print_json


def add_arguments(p):
    add_model_argument(p)
    add_domain_arguments(p)
    p.add_argument("--out", metavar="FILE", help="write the regions to a Parquet file")
    p.add_argument("--json", action="store_true", help="print one JSON object with the summary on stdout")
    p.add_argument("--tol", type=float, default=DEFAULT_TOL,
                   help="sliver tolerance, relative to the domain's size (default %(default)g)")
    p.add_argument("--quiet", action="store_true", help="no progress display on stderr")


def run(args) -> int:
    net = load_model_arg(args)
    domain = domain_from_args(args, net.input_dim)
    if args.out and not str(args.out).endswith(".parquet"):
        raise NNCellsError(f"--out {args.out}: expected a .parquet file name")
    progress = Progress("regions", enabled=False if args.quiet else None)
    result = enumerate_regions(net, domain, tol=args.tol, progress=progress)
    progress.close()
    if args.out:
        result.to_parquet(args.out)
    summary = result.summary()
    if args.json:
        print_json(summary)
    else:
        print(format_summary(summary, args.out))
    return 0


def format_summary(s: dict, out=None) -> str:
    lines = [
        f"network      {s['network']}",
        f"domain       {s['domain']['type']}",
        f"regions      {s['regions']:,}",
        f"per layer    {', '.join(f'{v:,}' for v in s['per_layer'])}",
        f"LP solves    {s['lp_solves']:,} ({s['lp_per_region']:.2f} per region)",
        f"time         {s['seconds']:.3f} s ({(s['regions_per_second'] or 0):,.0f} regions/s)",
    ]
    if out:
        lines.append(f"written to   {out}")
    return "\n".join(lines)
