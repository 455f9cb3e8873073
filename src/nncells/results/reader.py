"""Read a stored enumeration back as an `EnumerationResult` (`read_regions`).

A region table on disk (`EnumerationResult.to_parquet`'s file, a sharded run's directory from
`nncells.enumerate_to_dir`, or one of its shards) records the network's fingerprint, widths and
domain, and the network itself (a file in its metadata, a run in ``_network.npz``). Tables written
by earlier versions have only the fingerprint: the caller gives the network, which must match.
"""
from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pyarrow.parquet as pq

from nncells.domains import domain_from_dict
from nncells.errors import NNCellsError
from nncells.network import Network
from nncells.results.result import EnumerationResult
from nncells.results.store import NETWORK_KEY, read_arrays, read_manifest, shard_manifest

if TYPE_CHECKING:
    from os import PathLike


def run_metadata(path: str | PathLike[str]) -> tuple[dict[str, Any] | None, bool]:
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


def read_regions(path: str | PathLike[str], network: Network | None = None, *,
                 partial: bool = False) -> EnumerationResult:
    """Read the regions stored at ``path`` as an `EnumerationResult`: the same object
    `nncells.enumerate_regions` returns (regions in canonical order, its network and domain,
    ``per_layer`` and ``seconds`` of its summary), with ``source_rows[i]`` region ``i``'s row in
    the table read. The regions are read when an array of the result is first used: ``len``,
    ``repr``, ``network`` and ``domain`` cost only the metadata.

    Parameters
    ----------
    path : a Parquet file written by `EnumerationResult.to_parquet`, the directory of a sharded
        run (`nncells.enumerate_to_dir`, ``nncells enumerate --out DIR``), or one shard of such a
        directory (read with the directory's manifest).
    network : the network, for tables that do not store it (written by earlier versions); where
        both are there, they must be the same network.
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
        from its run's manifest), stores no network and none is given, was written for another
        network, or holds part of a run without ``partial=True``. A shard that cannot be read
        raises when the regions are read.

    Notes
    -----
    The regions are read into memory at once (the patterns unpacked to one byte per hidden unit
    per region); a run too large for that is read shard by shard with `nncells.read_arrays`.
    ``read_result`` is the same function (its name when ``read_regions`` returned a dict of
    arrays, which `nncells.read_arrays` does now).

    Examples
    --------
    >>> import os, tempfile, numpy as np, nncells
    >>> net = nncells.random_network([2, 5, 4, 1], seed=3)
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    >>> path = os.path.join(tempfile.mkdtemp(), "r.parquet")
    >>> res.to_parquet(path)
    >>> back = nncells.read_regions(path)
    >>> back
    EnumerationResult(Network(2-5-4-1), Box(-1, 1, dim=2), 20 regions)
    >>> bool(np.array_equal(back.patterns, res.patterns) and np.array_equal(back.points, res.points))
    True
    >>> back.network == net, int(back.locate(np.zeros(2))) == int(res.locate(np.zeros(2)))
    (True, True)
    >>> nncells.read_regions(path, nncells.random_network([2, 5, 4, 1], seed=4))
    Traceback (most recent call last):
    ...
    nncells.errors.NNCellsError: .../r.parquet: written for another network (fingerprint 91e29ce3429f..., this network's e80db7732010...)
    """
    if network is not None and not isinstance(network, Network):
        hint = (": read_regions returns an EnumerationResult now; read_arrays(path, n_hidden) reads the arrays"
                if isinstance(network, int) else "")
        raise NNCellsError(f"expected a Network, got {type(network).__name__}{hint}")
    meta, complete = run_metadata(path)
    if not meta or "network" not in meta:
        raise NNCellsError(f"{path}: no nncells metadata to read it by (a shard away from its run's manifest?): "
                           "read it with read_arrays and EnumerationResult.from_regions")
    stored = stored_network(path, meta)
    for net, whose in ((stored, "the stored network's"), (network, "this network's")):
        if net is not None and meta["network"] != net.fingerprint:
            raise NNCellsError(f"{path}: written for another network (fingerprint {meta['network'][:12]}..., "
                               f"{whose} {net.fingerprint[:12]}...)")
    network = network if network is not None else stored
    if network is None:
        raise NNCellsError(f"{path}: written by an earlier version of nncells, it does not store its network: "
                           "pass it (read_regions(path, network))")
    if not complete and not partial:
        raise NNCellsError(f"{path}: holds part of a run (unfinished, or one shard of several): "
                           "resume the run, read its directory, or pass partial=True")
    if "domain" not in meta:
        raise NNCellsError(f"{path}: its metadata records no domain")
    if meta.get("options", {}).get("count_only"):
        raise NNCellsError(f"{path}: a count-only run ({meta.get('regions', 0):,} regions counted): "
                           "it keeps no regions to read")

    def load() -> dict[str, Any]:
        regions = read_arrays(path, network.n_hidden)
        if complete and not regions["meta"]:   # the one shard of a run: the run's counters are its own
            regions["meta"] = meta
        return regions
    count = meta.get("regions", sum(s["rows"] for s in meta["shards"])) if Path(path).is_dir() else _rows(path)
    return EnumerationResult.from_stored(network, domain_from_dict(meta["domain"]), count, meta, load)


read_result = read_regions   # its former name


def stored_network(path: str | PathLike[str], meta: dict[str, Any]) -> Network | None:
    """The network stored with the regions at ``path`` (``meta``: `run_metadata`'s), or None
    where there is none (tables written by earlier versions).

    Raises
    ------
    NNCellsError
        If the stored network cannot be read (a damaged file).
    """
    p = Path(path)
    entry = meta.get("network_file")
    if isinstance(entry, dict):
        where = (p if p.is_dir() else p.parent) / entry["file"]
        data = where.read_bytes() if where.is_file() else None
        if data is None:
            raise NNCellsError(f"{where}: missing (the run's manifest lists it)")
    elif not p.is_dir():
        raw = (pq.read_schema(p).metadata or {}).get(NETWORK_KEY.encode())
        if raw is None:
            return None
        where, data = p, base64.b64decode(raw)
    else:
        return None
    try:
        return Network.from_npz(io.BytesIO(data))
    except NNCellsError as e:
        raise NNCellsError(f"{where}: its stored network cannot be read ({str(e).split(': ', 1)[-1]})") from None


def _rows(path: str | PathLike[str]) -> int:
    return cast("int", pq.read_metadata(path).num_rows)
