"""``nncells topology MODEL --box LO HI [--json] [--workers N]``: the faces of every dimension of a
classifier's complex (refined by its argmax) and the Betti numbers over GF(2) of each class's
closed decision region and of the decision boundary, exactly (`nncells.analysis.topology`).

In ``--json`` output: ``faces`` (the number of k-faces, k = 0..d), ``betti`` (per class index as a
string, b_0..b_d of its closed decision region), ``boundary_betti`` (the decision boundary's),
``euler_characteristic`` (of the whole complex: 1 in a box), ``regions`` (the network's own),
``cells`` (the refined complex's d-faces) and ``seconds``.
"""
from __future__ import annotations

import time

from nncells.cli.common import add_model_argument, load_model_arg, number_list, print_json
from nncells.errors import NNCellsError


def add_arguments(p):
    add_model_argument(p)
    p.add_argument("--box", nargs=2, metavar=("LO", "HI"), required=True,
                   help="box domain; LO and HI are a number or one value per input dimension (comma-separated)")
    p.add_argument("--workers", type=int, default=None, help="processes for the enumeration (default: all cores)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args) -> int:
    from nncells.analysis.topology import decision_topology
    from nncells.domains import Box
    net = load_model_arg(args)
    if args.workers is not None and args.workers < 1:
        raise NNCellsError(f"--workers must be >= 1, got {args.workers}")
    lo, hi = (number_list(v) for v in args.box)
    domain = Box(lo, hi).resolve(net.input_dim)
    t0 = time.perf_counter()
    top = decision_topology(net, domain, workers=args.workers)
    out = top.to_dict()
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
    return 0
