"""``nncells experiment NAME --out DIR [--quick] [--model FILE]``: run a reproducible experiment
(figures, data files and a Markdown report under DIR); ``--report-only`` rebuilds the report from
DIR's data. ``--model`` runs ``scaling`` on the user's network (nested boxes around the origin
instead of a sweep of architectures) and starts ``training-dynamics``' and ``topology``'s training
from its weights.
Fitted lines of ``--quick`` runs are labelled ``not meaningful: quick mode`` (report, fits.json,
and ``"fits"`` in the ``--json`` object)."""
from __future__ import annotations

import importlib
import inspect
from pathlib import Path

from nncells.errors import NNCellsError
from nncells.experiments import EXPERIMENTS
from nncells.cli.common import print_json


def add_arguments(p):
    p.add_argument("name", metavar="NAME", choices=sorted(EXPERIMENTS),
                   help="experiment: " + ", ".join(sorted(EXPERIMENTS)))
    p.add_argument("--out", required=True, metavar="DIR", help="output directory (created if missing)")
    p.add_argument("--quick", action="store_true",
                   help="small settings that finish in well under 3 minutes on 2 cores (for CI)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--model", metavar="FILE",
                   help="a model file (.npz, .pt, .onnx, ...): scaling enumerates it in nested boxes "
                        "[-h, h]^d instead of its random networks; training-dynamics and topology train from its weights")
    p.add_argument("--report-only", action="store_true",
                   help="rebuild the figures and report.md from the data files already in DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args) -> int:
    module = importlib.import_module(EXPERIMENTS[args.name])
    takes_model = "model" in inspect.signature(module.run).parameters
    if args.model is not None and not takes_model:
        raise NNCellsError(f"--model goes with scaling, training-dynamics and topology, not {args.name} "
                           "(it trains networks of its own setting)")
    if args.model is not None and args.report_only:
        raise NNCellsError("--report-only rebuilds the report from DIR's data: --model does not go with it")
    if args.model is not None and not Path(args.model).is_file():
        raise NNCellsError(f"--model {args.model}: no such file")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise NNCellsError(f"--out {out} exists and is not a directory")
    if args.report_only:
        if not (out / "config.json").exists():
            raise NNCellsError(f"{out} holds no experiment data (config.json missing)")
        from nncells.experiments.common import quick_note, read_json
        result = {"report": str(module.write_report(out)), **quick_note(read_json(out / "config.json"))}
    else:
        if args.seed < 0:
            raise NNCellsError(f"--seed must be non-negative, got {args.seed}")
        model = {"model": args.model} if args.model is not None else {}
        result = module.run(out, quick=args.quick, seed=args.seed, **model)
    result = {"experiment": args.name, "out": str(out),
              "files": sorted(p.name for p in out.iterdir()), **result}
    if args.json:
        print_json(result)
    else:
        print(f"nncells experiment {args.name}: report {result['report']}"
              + (f" ({result['seconds']:.0f} s)" if "seconds" in result else ""))
    return 0
