"""``nncells topology MODEL (--box LO HI | --whole-space) [--persistence OUT [--barcode FILE]]
[--faces FILE.parquet] [--tol T] [--json] [--workers N] [--quiet]``: the faces of every dimension of a
classifier's complex (refined by its argmax) and the Betti numbers over GF(2) of each class's
closed decision region and of the decision boundary, exactly (`nncells.analysis.topology`); in
the whole space, in a box holding every vertex (the same homotopy types:
`nncells.analysis.topology.vertex_box`). ``--persistence`` adds the persistence bars of the
sublevel sets of an output (``2``: logit 2; ``1,-1``: a combination of the outputs, here class
0's margin over class 1), ``--barcode FILE`` their picture (``.png`` and ``.svg``).

In ``--json`` output: ``faces`` (the number of k-faces, k = 0..d), ``betti`` (per class index as a
string, b_0..b_d of its closed decision region), ``boundary_betti`` (the decision boundary's),
``euler_characteristic`` (of the whole complex: 1 in a box), ``regions`` (the network's own),
``cells`` (the refined complex's d-faces), ``box`` (``[lo, hi]`` of the faces' box), with
``--faces FILE.parquet`` ``faces_file`` (its faces, one row each:
`nncells.results.faces.FacePoset.to_parquet`), with ``--persistence`` ``persistence``:
``{"output": weights, "bars": [[dim, birth, death], ...]}`` (death null: the class never dies),
and ``seconds``.
"""
from __future__ import annotations

import time

from nncells.cli.common import (add_domain_arguments, add_model_argument, domain_from_args, load_model_arg,
                                number_list, print_json)
from nncells.errors import NNCellsError


def add_arguments(p):
    add_model_argument(p)
    add_domain_arguments(p)
    p.add_argument("--workers", type=int, default=None, help="processes for the enumeration (default: all cores)")
    p.add_argument("--persistence", metavar="OUT",
                   help="persistence of the sublevel sets of output OUT (an index) or of a combination "
                        "of the outputs (comma-separated weights, one per output)")
    p.add_argument("--barcode", metavar="FILE", help="with --persistence: the barcode picture (.png and .svg)")
    p.add_argument("--faces", metavar="FILE.parquet",
                   help="write every face of the refined complex (dim, signs, point, its faces, ...) to Parquet")
    p.add_argument("--tol", type=float, default=None,
                   help="the contract's threshold (default 1e-9; see docs/numerics.md): a smaller one keeps the "
                        "slivers a face poset refuses as missing regions")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--quiet", action="store_true", help="no progress display on stderr")


def run(args) -> int:
    from nncells.analysis.topology import decision_topology
    net = load_model_arg(args)
    if args.workers is not None and args.workers < 1:
        raise NNCellsError(f"--workers must be >= 1, got {args.workers}")
    domain = domain_from_args(args, net.input_dim)
    if args.barcode and not args.persistence:
        raise NNCellsError("--barcode goes with --persistence")
    if args.persistence and args.whole_space:
        raise NNCellsError("--persistence needs --box (an output's sublevel sets are filtered on a bounded complex)")
    output = _output(args.persistence, net.output_dim) if args.persistence else None
    if args.faces:
        from pathlib import Path
        if Path(args.faces).suffix.lower() != ".parquet":
            raise NNCellsError(f"--faces {args.faces}: expected a .parquet file name")
        if not Path(args.faces).resolve().parent.is_dir():
            raise NNCellsError(f"--faces {args.faces}: its directory does not exist")
    from nncells.cli.progress import Progress
    t0 = time.perf_counter()
    progress = Progress("topology: regions with their faces", enabled=False if args.quiet else None)
    try:   # the faces are the slow part: a line on stderr (a terminal only)
        top = decision_topology(net, domain, workers=args.workers, tol=args.tol,
                                progress=lambda k, n: progress(k, f"of {n}"))
    finally:
        progress.close()
    out = top.to_dict()
    if args.faces:
        top.poset.to_parquet(args.faces)
        out["faces_file"] = str(args.faces)
    if output is not None:
        out["persistence"] = _persistence(args, net, domain, output)
    out["seconds"] = time.perf_counter() - t0
    if args.json:
        print_json(out)
        return 0
    d = len(out["faces"]) - 1
    print("faces         " + ", ".join(f"{n} of dim {k}" for k, n in enumerate(out["faces"])))
    print(f"regions       {out['regions']} (refined by the argmax: {out['cells']})")
    for c, b in out["betti"].items():
        print(f"class {c:<7} betti {b}" + ("  (nowhere the maximum)" if not any(b) else ""))
    print(f"boundary      betti {out['boundary_betti']}")
    print(f"euler char.   {out['euler_characteristic']} (of the {d}-D box: 1)")
    if args.whole_space:
        print(f"whole space   faces in the box {out['box'][0]} .. {out['box'][1]}, which holds every vertex")
    if output is not None:
        bars = out["persistence"]["bars"]
        for k in sorted({b[0] for b in bars}):
            mine = [b for b in bars if b[0] == k]
            print(f"H{k} bars       " + ", ".join(f"[{b[1]:.4g}, {'inf' if b[2] is None else f'{b[2]:.4g}'})"
                                                   for b in mine[:8]) + (" ..." if len(mine) > 8 else ""))
    return 0


def _output(text, n_out):
    """An output index (one integer) or one weight per output."""
    vals = number_list(text)
    if len(vals) == 1 and float(vals[0]).is_integer():
        k = int(vals[0])
        if not 0 <= k < n_out:
            raise NNCellsError(f"--persistence {text}: the model has {n_out} outputs (0 to {n_out - 1})")
        return k
    if len(vals) != n_out:
        raise NNCellsError(f"--persistence {text}: expected an output index or {n_out} weights")
    return vals


def _persistence(args, net, domain, output) -> dict:
    from nncells.analysis.topology import output_persistence
    bars = output_persistence(net, domain, output, workers=args.workers, tol=args.tol)
    if args.barcode:
        from nncells.analysis.figures import plot_barcode, pyplot
        from pathlib import Path
        if not Path(args.barcode).resolve().parent.is_dir():
            raise NNCellsError(f"--barcode {args.barcode}: its directory does not exist")
        fig = plot_barcode(bars, path=args.barcode, title=f"sublevel sets of output {args.persistence}",
                           xlabel="threshold t")
        pyplot().close(fig)
    return {"output": output,
            "bars": [[int(k), float(b), None if e == float("inf") else float(e)]
                     for k, b, e in zip(bars.dim, bars.birth, bars.death)]}
