"""The output directory of a sharded run: one run at a time, checkpoints that can be verified, resume.

A directory holds Parquet shards ``shard-NNNNNN.parquet``, the manifest ``_manifest.json``, the
frontier ``_frontier-NNNNNN.npz`` (every task not yet finished, at the last checkpoint; no pickle,
see `nncells.run.frontier`) and the lock ``_lock``. Names starting with ``_`` or ``.`` are skipped
by Parquet dataset readers, so readers see only the shards.

The guarantees (docs/parallel.md):

- Every file is written under a temporary name (``.NAME.tmp-PID``), synced and renamed: a crash
  never leaves a half-written file under a final name.
- The manifest is the only source of truth. It lists each shard and the frontier with their byte
  size, row or task count and SHA-256 checksum, and carries a checksum of its own. Shards written
  after the last checkpoint are not listed; a resumed run deletes them and redoes the frontier, so
  a crash costs at most the work since the last checkpoint, and no region is lost or written twice.
- ``--resume`` verifies every listed file before it trusts any, and refuses with one line naming a
  file that is missing, truncated, changed or replaced (or a manifest that was edited). A finished
  run is checked the same way before it is called finished.
- A run holds an exclusive lock on the directory for its whole life (released by the operating
  system when the process dies): a second run or resume into it is refused.
- The first checkpoint is written right after the driver's warm-up (about a second), then every
  ``checkpoint_s`` seconds. A run that stopped before its first checkpoint is started over by
  ``--resume``, with a note.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import filelock

from nncells import _config
from nncells.engine.tasks import Stats
from nncells.errors import RunError
from nncells.results.store import (FRONTIER_PREFIX, MANIFEST, LEGACY_MANIFEST, NETWORK_FILE, RUN_FORMAT,
                                   ShardSink, atomic_write_bytes, checksum, network_blob, read_manifest,
                                   write_manifest)
from nncells.results.verify import check_listed
from nncells.run.frontier import decode_tasks, encode_tasks

LOCK = "_lock"
log = logging.getLogger("nncells")


def os_error(d, e: OSError, resumable=True) -> RunError:
    """A one-line `RunError` for an error of the operating system while writing into ``d``."""
    where = e.filename or d
    what = f"{where}: cannot write ({e.strerror or e})"
    if resumable:
        what += f"; the run in {d} is intact up to its last checkpoint: make room, then use --resume"
    return RunError(what)


class Checkpointer:
    """Writes the frontier and the manifest of a sharded run: at once when asked, then every
    ``every_s`` seconds."""

    def __init__(self, out_dir, header: dict, sink: ShardSink, every_s=30.0, checkpoints=0):
        self.dir = Path(out_dir)
        self.header = header
        self.sink = sink
        self.every_s = every_s
        self.last = time.monotonic()
        self.checkpoints = checkpoints

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every_s

    def manifest(self, stats: Stats, seconds: float, frontier, finished: bool) -> dict:
        return dict(self.header, shards=self.sink.shards, regions=self.sink.count, per_layer=stats.per_layer,
                    lp_solves=stats.lp_solves, lp_fallbacks=stats.lp_fallbacks, tasks=stats.tasks, borderline=stats.borderline,
                    repaired=stats.repaired, seconds=seconds, frontier=frontier, finished=finished,
                    checkpoints=self.checkpoints)

    def save(self, tasks, stats: Stats, seconds: float, finished=False):
        """Flush the shards, write the frontier ``tasks`` and then the manifest naming them all."""
        self.sink.flush()
        frontier = None
        if not finished:
            data = encode_tasks(tasks)
            name = f"{FRONTIER_PREFIX}{self.checkpoints + 1:06d}.npz"
            atomic_write_bytes(self.dir / name, data)
            frontier = {"file": name, "tasks": len(tasks), "bytes": len(data), "sha256": checksum(data)}
        self.checkpoints += 1
        write_manifest(self.dir, self.manifest(stats, seconds, frontier, finished))
        for f in self.dir.glob("*frontier-*"):  # older frontiers (and those of older runs)
            if frontier is None or f.name != frontier["file"]:
                f.unlink(missing_ok=True)
        self.last = time.monotonic()


def run_header(problem, options: dict) -> dict:
    """The manifest's description of a run (a network with linear units adds ``linear_units``:
    their positions in the patterns, whose bits are always True)."""
    net = problem.network
    header = {"format": RUN_FORMAT, "network": net.fingerprint, "widths": net.widths, "input_dim": net.input_dim,
              "domain": problem.domain.to_dict(), "tol": problem.tol, "options": options}
    if net.has_linear:
        header["linear_units"] = [i for i, v in enumerate(net.linear_mask.tolist()) if v]
    return header


@dataclass
class RunDir:
    """An output directory locked for one run: its sink, checkpointer and, when resumed, the
    frontier, counters and seconds of the run so far (``frontier`` is None for a fresh start)."""

    lock: filelock.BaseFileLock
    sink: ShardSink
    checkpointer: Checkpointer
    frontier: list | None
    stats: Stats
    seconds: float

    def close(self):
        self.lock.release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_run_dir(out_dir, header: dict, resume: bool, every_s: float, keep: bool = True,
                 network=None) -> RunDir:
    """Lock ``out_dir`` and make it ready: empty (a new run) or verified and cleaned (a resumed one).

    The directory of a new run is created and given a first manifest before any work starts, so
    a path that cannot be written is refused at once. ``network`` (the run's `Network`), when
    given, is written to ``_network.npz`` and listed in the manifest (``network_file``, with its
    size and checksum), so that `nncells.read_regions` needs no network; a resumed run of an
    older version gets it then. Errors are one-line `RunError`s.
    """
    d = Path(out_dir)
    if d.exists() and not d.is_dir():
        raise RunError(f"{d}: exists and is not a directory")
    if resume and not d.is_dir():
        raise RunError(f"{d}: no such directory: nothing to resume")
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise RunError(f"{d}: cannot create the output directory ({e.strerror or e})") from None
    lock = filelock.FileLock(d / LOCK, timeout=_config.LOCK_WAIT_S)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise RunError(f"{d}: another nncells run is using this directory (it holds {d / LOCK})") from None
    except OSError as e:
        raise RunError(f"{d}: cannot write ({e.strerror or e})") from None
    try:
        state = _resume_state(d, header) if resume else None
        if state is None and not resume and any(f.name != LOCK for f in d.iterdir()):
            raise RunError(f"{d}: output directory is not empty (use --resume to continue a run)")
        if network is not None:   # before the first manifest, which lists it; a resumed run's is kept
            listed = state[0].get("network_file") if state is not None else None
            header = dict(header, network_file=listed if isinstance(listed, dict) else _write_network(d, network))
        if state is None:
            sink = ShardSink(d, keep=keep)
            ckpt = Checkpointer(d, header, sink, every_s)
            stats = Stats(per_layer=[0] * len(header["widths"]))
            try:  # a manifest of "started, nothing checkpointed": proves the directory writable
                write_manifest(d, ckpt.manifest(stats, 0.0, None, False))
            except OSError as e:
                raise os_error(d, e, resumable=False) from None
            return RunDir(lock, sink, ckpt, None, stats, 0.0)
        man, frontier = state
        sink = ShardSink(d, shards=man["shards"], count=man["regions"], keep=keep)
        stats = Stats(lp_solves=man["lp_solves"], lp_fallbacks=man.get("lp_fallbacks", 0),
                      per_layer=list(man["per_layer"]), tasks=man["tasks"],
                      borderline=man.get("borderline", 0), repaired=man.get("repaired", 0))
        ckpt = Checkpointer(d, header, sink, every_s, checkpoints=man["checkpoints"])
        return RunDir(lock, sink, ckpt, frontier, stats, float(man.get("seconds", 0.0)))
    except BaseException:
        lock.release()
        raise


def _write_network(d: Path, network) -> dict:
    """Write the run's network to ``d`` (atomically); its manifest entry."""
    data = network_blob(network)
    try:
        atomic_write_bytes(d / NETWORK_FILE, data)
    except OSError as e:
        raise os_error(d, e, resumable=False) from None
    return {"file": NETWORK_FILE, "bytes": len(data), "sha256": checksum(data)}


def _clean(d: Path, keep_files=()) -> None:
    """Delete shards, frontiers and temporary files not in ``keep_files``."""
    for f in d.iterdir():
        ours = f.name.startswith(("shard-", FRONTIER_PREFIX, "frontier-")) or ".tmp-" in f.name
        if ours and f.name not in keep_files:
            f.unlink()


def _resume_state(d: Path, header: dict):
    """``(manifest, frontier tasks)`` of the interrupted run in ``d``, verified; None where the run
    never reached its first checkpoint (it starts over)."""
    if not (d / MANIFEST).exists() and not (d / LEGACY_MANIFEST).exists():
        foreign = [f.name for f in d.iterdir()
                   if f.name not in (LOCK, NETWORK_FILE) and not f.name.startswith(("shard-", "."))]
        if foreign:
            raise RunError(f"{d}: no {MANIFEST}: not the directory of a sharded run, nothing to resume")
        man = None
    else:
        man = read_manifest(d)
    if man is not None:
        for key, what in (("network", "network"), ("domain", "domain"), ("tol", "tolerance")):
            if man.get(key) != header[key]:
                raise RunError(f"{d}: cannot resume: the run was made with a different {what}")
        count_only = bool(man.get("options", {}).get("count_only"))
        if count_only != bool(header["options"].get("count_only")):
            raise RunError(f"{d}: cannot resume: the run was {'a count' if count_only else 'an enumeration'} "
                           f"({'--count-only' if count_only else 'without --count-only'})")
        if man.get("finished"):  # vouch for it only once its files are checked
            check_listed(d, man, f"the finished run is damaged (nncells verify {d} lists every problem)")
            raise RunError(f"{d}: the run is already finished ({man['regions']} regions)")
        if man.get("format") != RUN_FORMAT:
            raise RunError(f"{d}: written by an older nncells, whose frontier is a pickle: it is not loaded "
                           "(a pickle can run code); start the run again in an empty directory")
    if man is None or not man.get("checkpoints"):
        log.warning("note: %s: the run stopped before its first checkpoint; starting it over", d)
        _clean(d)
        return None
    frontier = man.get("frontier")
    if not isinstance(frontier, dict):
        raise RunError(f"{d / MANIFEST}: an unfinished run without a frontier: cannot resume this run")
    check_listed(d, man)
    _clean(d, keep_files={s["file"] for s in man["shards"]} | {frontier["file"]})
    tasks = decode_tasks((d / frontier["file"]).read_bytes(), name=str(d / frontier["file"]))
    if len(tasks) != frontier["tasks"]:
        raise RunError(f"{d / frontier['file']}: {len(tasks)} tasks where the manifest says {frontier['tasks']}")
    return man, tasks


__all__ = ["Checkpointer", "RunDir", "open_run_dir", "run_header", "LOCK"]
