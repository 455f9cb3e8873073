"""Region tables on disk: Parquet (pyarrow), patterns bit-packed, written atomically."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nncells.errors import NNCellsError


def batch_table(patterns, points, radii, ranks) -> pa.Table:
    """A pyarrow table of regions: ``pattern`` (bit-packed bytes, numpy's ``packbits`` order),
    ``point`` (list of float64), ``radius``, ``ranks`` (list of int16, one per hidden layer)."""
    n, d = points.shape
    packed = np.packbits(patterns, axis=1) if patterns.shape[1] else np.zeros((n, 0), np.uint8)
    nb = packed.shape[1]
    pat = pa.FixedSizeBinaryArray.from_buffers(pa.binary(nb), n, [None, pa.py_buffer(packed.tobytes())]) \
        if nb else pa.array([b""] * n, pa.binary())
    point = pa.FixedSizeListArray.from_arrays(pa.array(points.reshape(-1), pa.float64()), d)
    L = ranks.shape[1]
    rk = pa.FixedSizeListArray.from_arrays(pa.array(ranks.reshape(-1).astype(np.int16), pa.int16()), L) \
        if L else pa.array([[]] * n, pa.list_(pa.int16()))
    return pa.table({"pattern": pat, "point": point, "radius": pa.array(radii, pa.float64()), "ranks": rk})


def atomic_write(path, write) -> None:
    """Call ``write(tmp)`` for a temporary name beside ``path`` and rename it to ``path`` only on
    success, so no half-written file ever carries the final name."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise NNCellsError(f"{path}: directory {path.parent} does not exist")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_table(table: pa.Table, path) -> None:
    """Write ``table`` to the Parquet file ``path`` atomically."""
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def write_regions(path, result) -> None:
    """Write an `EnumerationResult` to one Parquet file (with a ``parent`` column and metadata)."""
    table = batch_table(result.patterns, result.points, result.radii, result.ranks)
    n_layers = len(result.network.widths)
    if n_layers:
        ids = result.layer_ids(n_layers - 1)
        table = table.append_column("parent", pa.array(result.parents()[ids], pa.int64()))
    meta = {
        "nncells": json.dumps({
            "network": result.network.fingerprint,
            "widths": result.network.widths,
            "input_dim": result.network.input_dim,
            "domain": result.domain.to_dict(),
            "summary": result.summary(),
        })
    }
    atomic_write_table(table.replace_schema_metadata(meta), path)


def read_regions(path, n_hidden=None) -> dict:
    """Read a region table: a dict of numpy arrays (``patterns`` unpacked to bool) and ``meta``.
    ``n_hidden`` is needed for shards, which carry no metadata of their own.

    Examples
    --------
    >>> import os, tempfile, numpy as np, nncells
    >>> res = nncells.enumerate_regions(nncells.random_network([2, 4, 1], seed=0), nncells.Box(-1, 1), workers=1)
    >>> path = os.path.join(tempfile.mkdtemp(), "r.parquet")
    >>> res.to_parquet(path)
    >>> t = nncells.read_regions(path)
    >>> bool(np.array_equal(t["patterns"], res.patterns))
    True
    """
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as e:
        raise NNCellsError(f"{path}: not a readable Parquet region table ({e})") from None
    meta = json.loads((table.schema.metadata or {}).get(b"nncells", b"{}"))
    n_hidden = int(sum(meta.get("widths", []))) if n_hidden is None else n_hidden
    n = table.num_rows
    raw = table.column("pattern").combine_chunks()
    packed = np.frombuffer(b"".join(raw.to_pylist()), dtype=np.uint8).reshape(n, -1) if n else np.zeros((0, 0), np.uint8)
    patterns = np.unpackbits(packed, axis=1, count=n_hidden).astype(bool) if n else np.zeros((0, n_hidden), bool)
    out = {
        "patterns": patterns,
        "points": np.array(table.column("point").to_pylist(), dtype=np.float64).reshape(n, -1),
        "radii": table.column("radius").to_numpy(),
        "ranks": np.array(table.column("ranks").to_pylist(), dtype=np.int64).reshape(n, -1),
        "meta": meta,
    }
    if "parent" in table.column_names:
        out["parents"] = table.column("parent").to_numpy()
    return out


# --------------------------------------------------------------------------- streaming runs
MANIFEST = "manifest.json"


class MemorySink:
    """Keeps every batch in memory (for `EnumerationResult`)."""

    def __init__(self):
        self.batches = []
        self.count = 0

    def add(self, batch):
        if len(batch):
            self.batches.append(batch)
            self.count += len(batch)

    def flush(self):
        return None


class CountSink:
    """Counts regions and keeps nothing."""

    def __init__(self):
        self.count = 0

    def add(self, batch):
        self.count += len(batch)

    def flush(self):
        return None


class ShardSink:
    """Buffers regions and writes them as Parquet shards ``shard-NNNNNN.parquet`` under a directory.

    Shards are written atomically; only shards listed in the manifest belong to the run. With
    ``keep=False`` regions are only counted (a checkpointed count-only run).
    """

    def __init__(self, out_dir, shard_rows=500_000, shards=None, count=0, keep=True):
        self.dir = Path(out_dir)
        self.keep = keep
        self.shard_rows = shard_rows
        self.buffer = []
        self.buffered = 0
        self.shards = list(shards or [])
        self.count = count

    def add(self, batch):
        self.count += len(batch)
        if len(batch) and self.keep:
            self.buffer.append(batch)
            self.buffered += len(batch)
            if self.buffered >= self.shard_rows:
                self.flush()

    def flush(self):
        if not self.buffered:
            return None
        from nncells.engine.tasks import Batch
        b = Batch.concat(self.buffer, self.buffer[0].patterns.shape[1], self.buffer[0].points.shape[1],
                         self.buffer[0].ranks.shape[1])
        name = f"shard-{len(self.shards):06d}.parquet"
        atomic_write_table(batch_table(b.patterns, b.points, b.radii, b.ranks), self.dir / name)
        self.shards.append({"file": name, "rows": len(b)})
        self.buffer, self.buffered = [], 0
        return name


def atomic_write_bytes(path, data: bytes) -> None:
    def write(tmp):
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    atomic_write(path, write)


def write_manifest(out_dir, manifest: dict) -> None:
    atomic_write_bytes(Path(out_dir) / MANIFEST, json.dumps(manifest, indent=1).encode())


def read_manifest(out_dir) -> dict:
    path = Path(out_dir) / MANIFEST
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise NNCellsError(f"{out_dir}: no {MANIFEST}: nothing to resume") from None
    except (OSError, ValueError) as e:
        raise NNCellsError(f"{path}: unreadable manifest ({e})") from None


def read_shards(out_dir) -> dict:
    """All regions of a finished (or partial) sharded run, as `read_regions` returns them."""
    man = read_manifest(out_dir)
    n_hidden = int(sum(man["widths"]))
    parts = [read_regions(Path(out_dir) / s["file"], n_hidden) for s in man["shards"]]
    if not parts:
        return {"patterns": np.zeros((0, n_hidden), bool), "meta": man}
    out = {k: np.concatenate([p[k] for p in parts]) for k in ("patterns", "points", "radii", "ranks")}
    out["meta"] = man
    return out
