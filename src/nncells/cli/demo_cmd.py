"""``nncells demo``: enumerate the regions of the bundled example network in its data box."""
from __future__ import annotations

from nncells.models.bundled import demo_network
from nncells.cli.progress import Progress
from nncells.api import enumerate_regions
from nncells.cli.common import print_json
from nncells.cli.enumerate_cmd import format_summary


def add_arguments(p):
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run(args) -> int:
    net, box, info = demo_network()
    progress = Progress("regions")
    result = enumerate_regions(net, box, progress=progress)
    progress.close()
    s = result.summary()
    if args.json:
        print_json(s)
        return 0
    print(f"nncells demo: {info['description']} (train accuracy {info['train_accuracy']:.3f})")
    print(format_summary(s))
    ranks = result.ranks[:, -1]
    print("rank of the last hidden layer's map, over regions: "
          + ", ".join(f"rank {r}: {int((ranks == r).sum()):,}" for r in sorted(set(ranks.tolist()))))
    return 0
