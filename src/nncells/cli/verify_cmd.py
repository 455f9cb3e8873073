"""``nncells verify DIR [--json]``: check a sharded run's directory; one line, exit 1 if it fails.

Every shard the manifest lists is re-read and checked against its size, checksum and row count;
the rows against the manifest's region count; the patterns for duplicates across shards.
"""
from __future__ import annotations

from nncells.cli.common import print_json
from nncells.results.verify import format_verification, verify_run


def add_arguments(p):
    p.add_argument("dir", metavar="DIR", help="the output directory of `nncells enumerate --out DIR`")
    p.add_argument("--json", action="store_true", help="print one JSON object with the findings on stdout")


def run(args) -> int:
    v = verify_run(args.dir)
    if args.json:
        print_json(v)
    else:
        print(format_verification(v))
    return 0 if v["ok"] else 1
