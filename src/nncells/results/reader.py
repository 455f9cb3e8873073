"""Read a stored enumeration back as an `EnumerationResult` (`read_result`).

A region table on disk (`EnumerationResult.to_parquet`'s file, a sharded run's directory from
`nncells.enumerate_to_dir`, or one of its shards) records the network's fingerprint, widths and
domain, not its weights: the caller gives the network, and the fingerprint must match.
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from nncells.domains import domain_from_dict
from nncells.errors import NNCellsError
from nncells.network import Network
from nncells.results.result import EnumerationResult
from nncells.results.store import read_manifest, read_regions, shard_manifest


def run_metadata(path) -> tuple[dict | None, bool]:
    """The metadata describing the run stored at ``path`` and whether ``path`` holds all of its
    regions: a file's own metadata (complete), a directory's manifest (complete once its run
    finished), or for a shard the manifest of the directory holding it (complete only as the
    one shard of a finished run). ``(None, False)`` where there is none.

    Examples
    --------
    >>> import os, tempfile, nncells
    >>> out = os.path.join(tempfile.mkdtemp(), "run")
    >>> _ = nncells.enumerate_to_dir(nncells.random_network([2, 3, 1], seed=0), nncells.Box(-1, 1), out, workers=1)
    >>> meta, complete = run_metadata(out)
    >>> meta["widths"], complete
    ([3], True)
    """
    p = Path(path)
    if p.is_dir():
        meta = read_manifest(p)
        return meta, meta.get("finished") is not False
    try:
        raw = (pq.read_schema(p).metadata or {}).get(b"nncells")
    except (OSError, ValueError) as e:
        raise NNCellsError(f"{path}: not a readable Parquet region table ({e})") from None
    if raw is not None:
        return json.loads(raw), True
    manifest = shard_manifest(p)
    if manifest is None:
        return None, False
    only = [s.get("file") for s in manifest.get("shards", [])] == [p.name]
    return manifest, only and manifest.get("finished") is not False


def read_result(path, network: Network, *, partial: bool = False) -> EnumerationResult:
    """Read the regions stored at ``path`` as the `EnumerationResult` of ``network``: the same
    object `nncells.enumerate_regions` returns (regions in canonical order, the domain of the
    run, ``per_layer`` and ``seconds`` of its summary), with ``source_rows[i]`` region ``i``'s row
    in the table read (`nncells.read_regions` returns the arrays as they are stored).

    Parameters
    ----------
    path : a Parquet file written by `EnumerationResult.to_parquet`, the directory of a sharded
        run (`nncells.enumerate_to_dir`), or one shard of such a directory (read with the
        directory's manifest).
    network : the network the regions were enumerated for (the file stores its fingerprint,
        not its weights).
    partial : accept the regions of an unfinished run (of an interrupted sharded run: those up
        to its last checkpoint) or of one shard of several; refused by default, since such a
        result is not the whole partition.

    Returns
    -------
    EnumerationResult

    Raises
    ------
    NNCellsError
        If ``path`` is not a region table or run directory, carries no metadata (a shard away
        from its run's manifest), was written for another network, or holds part of a run
        without ``partial=True``.

    Notes
    -----
    Everything is read into memory (the patterns unpacked to one byte per hidden unit per
    region); a run too large for that is read shard by shard with `nncells.read_regions`.

    Examples
    --------
    >>> import os, tempfile, numpy as np, nncells
    >>> net = nncells.random_network([2, 5, 4, 1], seed=3)
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    >>> path = os.path.join(tempfile.mkdtemp(), "r.parquet")
    >>> res.to_parquet(path)
    >>> back = nncells.read_result(path, net)
    >>> back
    EnumerationResult(Network(2-5-4-1), Box(-1, 1, dim=2), 20 regions)
    >>> bool(np.array_equal(back.patterns, res.patterns) and np.array_equal(back.points, res.points))
    True
    >>> nncells.read_result(path, nncells.random_network([2, 5, 4, 1], seed=4))
    Traceback (most recent call last):
    ...
    nncells.errors.NNCellsError: .../r.parquet: written for another network (fingerprint 91e29ce3429f..., this network's e80db7732010...)
    """
    if not isinstance(network, Network):
        raise NNCellsError(f"expected a Network, got {type(network).__name__}")
    meta, complete = run_metadata(path)
    if not meta or "network" not in meta:
        raise NNCellsError(f"{path}: no nncells metadata to check the network against (a shard away from its "
                           "run's manifest?): read it with read_regions and EnumerationResult.from_regions")
    if meta["network"] != network.fingerprint:
        raise NNCellsError(f"{path}: written for another network (fingerprint {meta['network'][:12]}..., "
                           f"this network's {network.fingerprint[:12]}...)")
    if not complete and not partial:
        raise NNCellsError(f"{path}: holds part of a run (unfinished, or one shard of several): "
                           "resume the run, read its directory, or pass partial=True")
    if "domain" not in meta:
        raise NNCellsError(f"{path}: its metadata records no domain")
    regions = read_regions(path, network.n_hidden)
    if complete and not regions["meta"]:   # the one shard of a run: the run's counters are its own
        regions["meta"] = meta
    return EnumerationResult.from_regions(network, domain_from_dict(meta["domain"]), regions)
