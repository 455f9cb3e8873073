"""Region tables on disk: Parquet (pyarrow), patterns bit-packed, written atomically."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from nncells.errors import NNCellsError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from os import PathLike
    from typing import Protocol

    import numpy.typing as npt

    from nncells.domains import Domain
    from nncells.engine.tasks import Batch
    from nncells.network import Network

    class _Regions(Protocol):
        """What `write_regions` reads of a `nncells.results.result.EnumerationResult` (not
        imported here: `result` imports this module)."""

        @property
        def patterns(self) -> np.ndarray: ...
        @property
        def points(self) -> np.ndarray: ...
        @property
        def radii(self) -> np.ndarray: ...
        @property
        def ranks(self) -> np.ndarray: ...
        @property
        def network(self) -> Network: ...
        @property
        def domain(self) -> Domain: ...
        def summary(self) -> dict[str, Any]: ...


def batch_table(patterns: np.ndarray, points: np.ndarray, radii: np.ndarray, ranks: np.ndarray) -> pa.Table:
    """A pyarrow table of regions: ``pattern`` (bit-packed bytes, numpy's ``packbits`` order),
    ``point`` (list of float64), ``radius``, ``ranks`` (list of int16, one per hidden layer).

    A pattern has one bit per hidden unit (``n_hidden``), linear (pass-through) units included:
    their bits are always True (`nncells.network.Network.linear_mask` says where they are)."""
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


def _tmp_name(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def atomic_write(path: str | PathLike[str], write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` for a temporary name beside ``path`` and rename it to ``path`` only on
    success, so no half-written file ever carries the final name. Errors of the operating system
    (a full disk, a read-only directory) propagate as ``OSError`` with the temporary file removed."""
    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise NNCellsError(f"{path}: directory {path.parent} does not exist")
    tmp = _tmp_name(path)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # the error being raised says more than this one
            pass
        raise
    _sync_dir(path.parent)


def _sync_dir(directory: Path) -> None:
    """Make a rename durable (the directory entry reaches the disk, as SQLite does)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def check_writable(path: str | PathLike[str]) -> None:
    """Refuse, before any work, an output file ``path`` that cannot be written: its directory is
    missing or not a directory, it is a directory, or the directory is read-only or full.

    Examples
    --------
    >>> import os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> check_writable(os.path.join(d, "r.parquet"))
    >>> try:
    ...     check_writable(os.path.join(d, "missing", "r.parquet"))
    ... except NNCellsError as e:
    ...     print(str(e).split(": ", 1)[1])
    directory ... does not exist
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise NNCellsError(f"{path}: directory {path.parent} does not exist")
    if path.is_dir():
        raise NNCellsError(f"{path}: is a directory (name a FILE.parquet, or a directory without .parquet)")
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as f:
            f.write(b"\0")
        tmp.unlink()
    except OSError as e:
        raise NNCellsError(f"{path}: cannot write here ({e.strerror or e})") from None


def atomic_write_table(table: pa.Table, path: str | PathLike[str]) -> None:
    """Write ``table`` to the Parquet file ``path`` atomically; an error of the operating system
    (a full disk) is a one-line `NNCellsError`, with nothing left behind."""
    try:
        atomic_write(path, lambda tmp: pq.write_table(table, tmp))
    except OSError as e:
        raise NNCellsError(f"{path}: cannot write ({e.strerror or e}); nothing was written") from None


def table_bytes(table: pa.Table) -> bytes:
    """``table`` as the bytes of a Parquet file."""
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return cast("bytes", sink.getvalue().to_pybytes())


def checksum(data: bytes) -> str:
    """The checksum nncells records for a file's contents: ``"sha256:<hex>"``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def file_checksum(path: str | PathLike[str]) -> str:
    """`checksum` of the contents of the file ``path``, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return "sha256:" + h.hexdigest()


def write_regions(path: str | PathLike[str], result: _Regions) -> None:
    """Write an `EnumerationResult` to one Parquet file: the columns of `batch_table` (the same as
    every shard of a sharded run), the run's metadata (key ``nncells``) and the network (key
    ``nncells.network``: its ``.npz`` archive, base64; `network_blob`). Parents are not stored: a region's parent
    is the region of the previous layer whose pattern is its pattern's prefix
    (`EnumerationResult.parents`). A network with linear (pass-through) units adds
    ``linear_units``: their positions in the patterns (their bits are always True).

    Examples
    --------
    >>> import json, os, tempfile, nncells, pyarrow.parquet as pq
    >>> net = nncells.Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]], linear=[[True, False]])
    >>> path = os.path.join(tempfile.mkdtemp(), "r.parquet")
    >>> nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1).to_parquet(path)
    >>> meta = json.loads(pq.read_schema(path).metadata[b"nncells"])
    >>> meta["widths"], meta["linear_units"], nncells.read_arrays(path)["patterns"].tolist()
    ([2], [0], [[True, False], [True, True]])
    """
    table = batch_table(result.patterns, result.points, result.radii, result.ranks)
    net = result.network
    info = {
        "network": net.fingerprint,
        "widths": net.widths,
        "input_dim": net.input_dim,
        "domain": result.domain.to_dict(),
        "summary": result.summary(),
    }
    if net.has_linear:
        info["linear_units"] = np.flatnonzero(net.linear_mask).tolist()
    meta = {"nncells": json.dumps(info), NETWORK_KEY: base64.b64encode(network_blob(net))}
    atomic_write_table(table.replace_schema_metadata(meta), path)


NETWORK_KEY = "nncells.network"   # a region file's metadata key for its network (`write_regions`)
NETWORK_FILE = "_network.npz"     # the network of a sharded run, listed in its manifest


def network_blob(net: Network) -> bytes:
    """The bytes of ``net``'s ``.npz`` archive (`Network.to_npz`), stored with its regions so that
    `nncells.read_regions` needs no network.

    Examples
    --------
    >>> import io, nncells
    >>> net = nncells.random_network([2, 3, 1], seed=0)
    >>> nncells.Network.from_npz(io.BytesIO(network_blob(net))) == net
    True
    """
    buf = io.BytesIO()
    net.to_npz(buf)
    return buf.getvalue()


def write_edges(path: str | PathLike[str], edges: Mapping[str, npt.ArrayLike], meta: dict[str, Any]) -> None:
    """Write an adjacency edge table (int64 columns ``i``, ``j``, ``neuron``: the row numbers of
    two adjacent regions in their region table and a neuron that changes sign between them) to
    the Parquet file ``path`` atomically, with ``meta`` under the schema metadata key ``nncells``.

    Examples
    --------
    >>> import os, tempfile, numpy as np, pyarrow.parquet as pq
    >>> path = os.path.join(tempfile.mkdtemp(), "edges.parquet")
    >>> write_edges(path, {"i": np.array([0]), "j": np.array([1]), "neuron": np.array([3])}, {"regions": 2})
    >>> pq.read_table(path).to_pydict()
    {'i': [0], 'j': [1], 'neuron': [3]}
    """
    table = pa.table({k: pa.array(np.asarray(edges[k], dtype=np.int64)) for k in ("i", "j", "neuron")})
    atomic_write_table(table.replace_schema_metadata({"nncells": json.dumps(meta)}), path)


def _read_table(path: str | PathLike[str]) -> pa.Table:
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as e:
        raise NNCellsError(f"{path}: not a readable Parquet region table ({e})") from None


def _lists(column: pa.ChunkedArray, n: int, dtype: npt.DTypeLike) -> np.ndarray:
    """A column of fixed-size lists (or of empty lists) as an ``(n, width)`` array."""
    arr = column.combine_chunks()
    width = arr.type.list_size if pa.types.is_fixed_size_list(arr.type) else 0
    return cast("np.ndarray", arr.flatten().to_numpy(zero_copy_only=False).astype(dtype).reshape(n, width))


def packed_patterns(table: pa.Table) -> np.ndarray:
    """The ``pattern`` column of a region table as an ``(n, bytes)`` uint8 array (still packed)."""
    n = table.num_rows
    raw = table.column("pattern").combine_chunks()
    if n and pa.types.is_fixed_size_binary(raw.type):
        nb = raw.type.byte_width
        return np.frombuffer(raw.buffers()[1], dtype=np.uint8, count=n * nb, offset=raw.offset * nb).reshape(n, nb)
    return np.frombuffer(b"".join(raw.to_pylist()), dtype=np.uint8).reshape(n, -1) if n else np.zeros((0, 0), np.uint8)


def pattern_words(packed: np.ndarray) -> np.ndarray:
    """Packed patterns ``(n, k)`` uint8 as ``(n, ceil(k / 8))`` uint64 words (zero-padded).

    Examples
    --------
    >>> pattern_words(np.packbits(np.array([[1, 0, 1]], dtype=bool), axis=1)).tolist()
    [[160]]
    """
    pad = -packed.shape[1] % 8
    if pad or not packed.flags.c_contiguous:
        packed = np.ascontiguousarray(np.pad(packed, ((0, 0), (0, pad))))
    return packed.view(np.uint64)


def pattern_keys(words: np.ndarray) -> np.ndarray:
    """One uint64 key per row of `pattern_words`: the word itself when patterns fit in 64 bits
    (keys equal iff patterns equal), else a hash of the words (equal patterns, equal keys).

    Examples
    --------
    >>> w = pattern_words(np.packbits(np.eye(70, dtype=bool)[:3], axis=1))
    >>> k = pattern_keys(w)
    >>> k.shape, len(set(k.tolist()))
    ((3,), 3)
    """
    if words.shape[1] == 1:
        return words[:, 0]
    h = np.zeros(len(words), np.uint64)
    with np.errstate(over="ignore"):
        for j in range(words.shape[1]):
            h = (h ^ words[:, j]) * np.uint64(0x9E3779B97F4A7C15)
    return h


def table_arrays(table: pa.Table, n_hidden: int) -> dict[str, np.ndarray]:
    """The columns of a region table as numpy arrays, ``patterns`` unpacked to bool."""
    n = table.num_rows
    packed = packed_patterns(table)
    patterns = np.unpackbits(packed, axis=1, count=n_hidden).astype(bool) if n else np.zeros((0, n_hidden), bool)
    return {
        "patterns": patterns,
        "points": _lists(table.column("point"), n, np.float64),
        "radii": table.column("radius").to_numpy(),
        "ranks": _lists(table.column("ranks"), n, np.int64),
    }


def read_arrays(path: str | PathLike[str], n_hidden: int | None = None) -> dict[str, Any]:
    """Read the regions of one Parquet file or of a sharded run's directory as numpy arrays, in the
    order they are stored (`nncells.read_regions` reads them as an `EnumerationResult`).

    Returns a dict of numpy arrays, ``patterns`` (unpacked to bool), ``points``, ``radii``,
    ``ranks``, and ``meta``: the file's metadata, or a directory's manifest (a shard has no
    metadata of its own: ``{}``). A directory is read through its manifest, so only the shards it
    lists count (of an interrupted run: the regions up to its last checkpoint). Shards come in
    the order they were written, not in pattern order. Read a large run shard by shard this way.

    The width of the patterns (the network's hidden units) comes from the metadata; a single
    shard file takes it from the manifest of the run directory holding it, or from ``n_hidden``.

    Raises
    ------
    NNCellsError
        If the file is not a readable region table, or the width of its patterns is unknown (a
        shard away from its run's manifest, without ``n_hidden``) or does not match ``n_hidden``.

    Examples
    --------
    >>> import os, tempfile, numpy as np, nncells
    >>> res = nncells.enumerate_regions(nncells.random_network([2, 4, 1], seed=0), nncells.Box(-1, 1), workers=1)
    >>> path = os.path.join(tempfile.mkdtemp(), "r.parquet")
    >>> res.to_parquet(path)
    >>> t = nncells.read_arrays(path)
    >>> bool(np.array_equal(t["patterns"], res.patterns))
    True
    >>> out = os.path.join(tempfile.mkdtemp(), "run")
    >>> _ = nncells.enumerate_to_dir(res.network, nncells.Box(-1, 1), out, workers=1)
    >>> d = nncells.read_arrays(out)
    >>> len(d["patterns"]) == res.count and d["meta"]["finished"]
    True
    >>> nncells.read_arrays(os.path.join(out, "shard-000000.parquet"))["patterns"].shape == res.patterns.shape
    True
    """
    if Path(path).is_dir():
        meta = read_manifest(path)
        tables = [_read_table(Path(path) / s["file"]) for s in meta["shards"]]
        table = pa.concat_tables(tables) if tables else batch_table(
            np.zeros((0, 0), bool), np.zeros((0, meta["input_dim"])), np.zeros(0),
            np.zeros((0, len(meta["widths"])), np.int64))
        run: dict[str, Any] | None = meta
    else:
        table = _read_table(path)
        meta = json.loads((table.schema.metadata or {}).get(b"nncells", b"{}"))
        run = meta if "widths" in meta else shard_manifest(path)
    known = int(sum(run["widths"])) if run and "widths" in run else None
    if n_hidden is None and known is None:
        raise NNCellsError(f"{path}: the width of its patterns is unknown (a shard file carries no metadata "
                           f"and no {MANIFEST} beside it): pass n_hidden, the network's hidden units")
    if n_hidden is not None and known is not None and int(n_hidden) != known:
        raise NNCellsError(f"{path}: its patterns have {known} bits (hidden units), not n_hidden={n_hidden}")
    n_hidden = known if n_hidden is None else int(n_hidden)
    assert n_hidden is not None   # both None was refused above
    nb = packed_patterns(table).shape[1]
    if table.num_rows and nb != -(-n_hidden // 8):
        raise NNCellsError(f"{path}: its patterns have {nb} bytes, {n_hidden} hidden units need {-(-n_hidden // 8)}")
    return dict(table_arrays(table, n_hidden), meta=meta)


def shard_manifest(path: str | PathLike[str]) -> dict[str, Any] | None:
    """The manifest of the run directory holding the shard file ``path``, or None where there is
    none (a file elsewhere). A manifest that is there but unreadable or damaged is an error."""
    directory = Path(path).parent
    if not any((directory / name).is_file() for name in (MANIFEST, LEGACY_MANIFEST)):
        return None
    return read_manifest(directory)


read_shards = read_arrays  # the former name of the directory reader


# --------------------------------------------------------------------------- streaming runs
RUN_FORMAT = "nncells-regions/2"  # /2: checksums of the manifest, shards and frontier (npz); /1: none
MANIFEST = "_manifest.json"   # "_": Parquet dataset readers (pyarrow, pandas, duckdb, ...) skip it
LEGACY_MANIFEST = "manifest.json"  # its name in older runs: still read; replaced on resume
FRONTIER_PREFIX = "_frontier-"    # checkpointed frontiers: _frontier-NNNNNN.npz (.pkl in older runs)


class MemorySink:
    """Keeps every batch in memory (for `EnumerationResult`)."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self.count = 0

    def add(self, batch: Batch) -> None:
        if len(batch):
            self.batches.append(batch)
            self.count += len(batch)

    def flush(self) -> None:
        return None


class CountSink:
    """Counts regions and keeps nothing."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, batch: Batch) -> None:
        self.count += len(batch)

    def flush(self) -> None:
        return None


class ShardSink:
    """Buffers regions and writes them as Parquet shards ``shard-NNNNNN.parquet`` under a directory.

    Shards are written atomically; only shards listed in the manifest belong to the run. With
    ``keep=False`` regions are only counted (a checkpointed count-only run).
    """

    def __init__(self, out_dir: str | PathLike[str], shard_rows: int = 500_000,
                 shards: Iterable[dict[str, Any]] | None = None, count: int = 0, keep: bool = True) -> None:
        self.dir = Path(out_dir)
        self.keep = keep
        self.shard_rows = shard_rows
        self.buffer: list[Batch] = []
        self.buffered = 0
        self.shards = list(shards or [])
        self.count = count

    def add(self, batch: Batch) -> None:
        self.count += len(batch)
        if len(batch) and self.keep:
            self.buffer.append(batch)
            self.buffered += len(batch)
            if self.buffered >= self.shard_rows:
                self.flush()

    def flush(self) -> str | None:
        if not self.buffered:
            return None
        from nncells.engine.tasks import Batch
        b = Batch.concat(self.buffer, self.buffer[0].patterns.shape[1], self.buffer[0].points.shape[1],
                         self.buffer[0].ranks.shape[1])
        name = f"shard-{len(self.shards):06d}.parquet"
        data = table_bytes(batch_table(b.patterns, b.points, b.radii, b.ranks))
        atomic_write_bytes(self.dir / name, data)
        self.shards.append({"file": name, "rows": len(b), "bytes": len(data), "sha256": checksum(data)})
        self.buffer, self.buffered = [], 0
        return name


def atomic_write_bytes(path: str | PathLike[str], data: bytes) -> None:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    atomic_write(path, write)


def _manifest_checksum(manifest: dict[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    return checksum(json.dumps(body, sort_keys=True).encode())


def write_manifest(out_dir: str | PathLike[str], manifest: dict[str, Any]) -> None:
    """Write the manifest of a sharded run atomically, with a checksum of its own contents (and
    drop a legacy ``manifest.json``, which dataset readers would take for a data file)."""
    manifest = dict(manifest, checksum=_manifest_checksum(manifest))
    atomic_write_bytes(Path(out_dir) / MANIFEST, json.dumps(manifest, indent=1).encode())
    (Path(out_dir) / LEGACY_MANIFEST).unlink(missing_ok=True)


def read_manifest(out_dir: str | PathLike[str]) -> dict[str, Any]:
    """The manifest of a sharded run: ``_manifest.json``, or ``manifest.json`` of an older run.
    A manifest whose checksum does not match its contents (edited or damaged) is refused."""
    for name in (MANIFEST, LEGACY_MANIFEST):
        path = Path(out_dir) / name
        try:
            manifest = json.loads(path.read_text())
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as e:
            raise NNCellsError(f"{path}: unreadable manifest ({e})") from None
        if not isinstance(manifest, dict):
            raise NNCellsError(f"{path}: unreadable manifest (not a JSON object)")
        if manifest.get("format") != "nncells-regions/1" and manifest.get("checksum") != _manifest_checksum(manifest):
            raise NNCellsError(f"{path}: the manifest's checksum does not match its contents "
                               "(edited or damaged)")
        return manifest
    raise NNCellsError(f"{out_dir}: no {MANIFEST}: not a sharded run, nothing to resume")
