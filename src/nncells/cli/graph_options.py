"""``--adjacency``, ``--components`` and ``--certify`` of ``nncells enumerate``: the dual graph of the
regions, the decision regions' components, and a certificate, for runs in memory, to one file or
to a directory.

Edges name regions by their row in the region table the run produced: the canonical order of
``--out FILE.parquet`` (and of an in-memory result), or the read order of ``--out DIR`` (shards in
the manifest's order, as `read_arrays` and ``pandas.read_parquet(DIR)`` give them).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from nncells.errors import NNCellsError

DIR_EDGES = "_adjacency.parquet"  # beside the shards; "_": Parquet dataset readers skip it


def add_arguments(p):
    p.add_argument("--adjacency", nargs="?", const=True, default=None, metavar="FILE.parquet",
                   help="write the regions' adjacency (edges i, j, neuron) to FILE.parquet; with --out DIR "
                        f"the file defaults to DIR/{DIR_EDGES}")
    p.add_argument("--components", action="store_true",
                   help="report how many connected pieces each class's decision region has (costs "
                        "more than the adjacency: docs/benchmarks.md)")
    p.add_argument("--certify", action="store_true",
                   help="prove every region exists (exact rationals) and that the dual graph is closed; "
                        "exit status 1 if not")


def edges_path(args, sharded: bool):
    """Where ``--adjacency`` writes (None without it); refused early when it cannot be right."""
    if args.adjacency is None:
        return None
    if args.count_only:
        raise NNCellsError("--adjacency needs the regions: it cannot be used with --count-only")
    if args.adjacency is True:
        if not sharded:
            raise NNCellsError("--adjacency needs a FILE.parquet (or --out DIR, where it writes DIR/"
                               f"{DIR_EDGES})")
        return Path(args.out) / DIR_EDGES
    path = Path(args.adjacency)
    if path.suffix != ".parquet":
        raise NNCellsError(f"--adjacency {path}: name a FILE.parquet")
    if sharded and path.resolve().parent == Path(args.out).resolve() and not path.name.startswith(("_", ".")):
        raise NNCellsError(f"--adjacency {path}: inside the run directory, dataset readers would take it for "
                           f"regions: name it _{path.name} or put it elsewhere")
    return path


def check(args, sharded: bool):
    """Refuse bad ``--adjacency``/``--certify`` combinations before any work."""
    for flag in ("certify", "components"):
        if getattr(args, flag) and args.count_only:
            raise NNCellsError(f"--{flag} needs the regions: it cannot be used with --count-only")
    path = edges_path(args, sharded)
    if path is not None and not (sharded and path.parent == Path(args.out)):
        from nncells.results.store import check_writable
        check_writable(path)
    return path


def wants_facets(args, path) -> bool:
    """Whether an in-memory or single-file run should record its regions' facets as it goes
    (``enumerate_regions(..., facets=True)``): with ``--adjacency`` (``path``), ``--components``
    or ``--certify``. A run to ``--out DIR`` reads its regions back and runs the core's facets
    mode once more."""
    return path is not None or bool(args.certify) or bool(args.components)


def report(result, summary: dict, path, args, network_fingerprint: str) -> int:
    """Add the graph's, the components' and the certificate's parts to ``summary``; write the
    edges. Returns the exit status: 1 when a certificate fails, else 0."""
    status = 0
    if path is not None:
        from nncells.results.store import write_edges
        edges = result.adjacency()
        i, j = edges["i"], edges["j"]   # sorted by (i, j): a new pair wherever either changes
        pairs = int(np.count_nonzero(np.diff(i, prepend=-1) | np.diff(j, prepend=-1)))
        if result.source_rows is not None:  # read back from disk: the rows of that table
            i, j = result.source_rows[i], result.source_rows[j]
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        write_edges(path, {"i": lo, "j": hi, "neuron": edges["neuron"]},
                    {"network": network_fingerprint, "regions": result.count,
                     "rows": "row numbers of the run's region table"})
        summary["adjacency"] = {"file": str(path), "edges": int(len(lo)), "pairs": pairs}
    if args.components:
        from nncells.analysis import decision_components
        comps = decision_components(result)
        summary["decision_components"] = {str(k): int(v) for k, v in sorted(comps["classes"].items())}
    if args.certify:
        from nncells.results.result import certificate_summary
        if result.certificate is None:
            result.certificate = result.certify()
        summary["certified"] = certificate_summary(result.certificate)
        c = summary["certified"]
        status = 0 if c["exist"] == c["of"] and c["closed"] else 1
    return status


def format_lines(summary: dict) -> list:
    """The human-readable lines of the graph's and the certificate's parts of ``summary``."""
    lines = []
    if "adjacency" in summary:
        a = summary["adjacency"]
        lines.append(f"adjacency    {a['pairs']:,} adjacent pairs ({a['edges']:,} edges) in {a['file']}")
    if "decision_components" in summary:
        comps = ", ".join(f"class {k}: {v}" for k, v in summary["decision_components"].items())
        lines.append(f"components   {comps}")
    if "certified" in summary:
        c = summary["certified"]
        why = [f"{c.get(k, 0):,} {name}" for k, name in (("open_facets", "open facets"),
               ("unproven_rows", "rows neither facets nor proven redundant"),
               ("missed_facets", "facets the finder missed"), ("asymmetric", "one-sided facets"))
               if c.get(k, 0) or k == "open_facets"]
        closed = "closed" if c["closed"] else f"NOT closed ({', '.join(why)})"
        lines.append(f"certified    {c['exist']:,} of {c['of']:,} regions exist (exact arithmetic); "
                     f"dual graph {closed}")
        for f in c.get("failures", [])[:5]:
            lines.append(f"  failure    region {f['region']}: {f['why']}"
                         + (f" (neuron {f['neuron']})" if f.get("neuron") is not None else ""))
    return lines
