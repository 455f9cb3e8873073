"""The driver: hands tasks to an executor, collects regions into a sink, checkpoints, resumes.

Tasks run with a time budget; a task that runs past it hands its unexplored frontier back, so
the load is balanced dynamically at every layer. The driver only schedules and collects.

Checkpoints (sharded runs): the manifest lists the shards written so far and a frontier file
holding every task not yet finished (pending and in flight). Regions received after the last
checkpoint live only in unlisted shards or in memory, so a resumed run deletes unlisted shards
and redoes the frontier: no region is lost and none is written twice. The manifest
(``_manifest.json``), the frontier (``_frontier-NNNNNN.pkl``) and temporary files (``.NAME.tmp-PID``)
start with ``_`` or ``.``, so Parquet dataset readers see only the shards.
"""
from __future__ import annotations

import pickle
import time
from pathlib import Path

from nncells import _config
from nncells.engine.lifting import homogeneous_problem
from nncells.engine.tasks import Problem, Stats, prefix_ids, run_task
from nncells.errors import RunError
from nncells.geometry import solvers as lp
from nncells.results.result import RunInfo
from nncells.results.store import (FRONTIER_PREFIX, MANIFEST, ShardSink, atomic_write_bytes, read_manifest,
                                   write_manifest)


def planar_applicable(problem: Problem, method: str) -> bool:
    from nncells.domains import Box
    ok = problem.network.input_dim == 2 and isinstance(problem.domain, Box) and len(problem.network.widths) > 0
    if method == "planar" and not ok:
        raise RunError("method 'planar' needs a network with 2 inputs and a box domain")
    return ok and method in ("auto", "planar")


def run_planar(problem: Problem, sink) -> Stats:
    """The exact 2-D backend (`nncells.planar.partition`): one batch, per-layer counts from its patterns."""
    from nncells.planar.partition import planar_batch
    lp0 = lp.lp_count()
    batch = planar_batch(problem.network, problem.domain.lo, problem.domain.hi, tol=problem.tol,
                         backend=problem.backend)
    per_layer = [int(prefix_ids(batch.patterns, sl.stop).max(initial=-1)) + 1
                 for sl in problem.network.layer_slices]
    stats = Stats(per_layer=per_layer, tasks=1)
    batch = problem.finish(batch, stats)
    sink.add(batch)
    stats.lp_solves = lp.lp_count() - lp0
    return stats


class Checkpointer:
    """Writes the manifest and frontier of a sharded run every ``every_s`` seconds."""

    def __init__(self, out_dir, header: dict, sink: ShardSink, every_s=30.0):
        self.dir = Path(out_dir)
        self.header = header
        self.sink = sink
        self.every_s = every_s
        self.last = time.monotonic()
        self.n = 0

    def due(self) -> bool:
        return time.monotonic() - self.last >= self.every_s

    def save(self, tasks, stats: Stats, seconds: float, finished=False):
        self.sink.flush()
        frontier = None
        if not finished:
            frontier = f"{FRONTIER_PREFIX}{self.n:06d}.pkl"
            while (self.dir / frontier).exists():  # never overwrite the frontier the manifest names
                self.n += 1
                frontier = f"{FRONTIER_PREFIX}{self.n:06d}.pkl"
            atomic_write_bytes(self.dir / frontier, pickle.dumps(list(tasks), protocol=pickle.HIGHEST_PROTOCOL))
        write_manifest(self.dir, dict(self.header, shards=self.sink.shards, regions=self.sink.count,
                                      per_layer=stats.per_layer, lp_solves=stats.lp_solves, tasks=stats.tasks,
                                      borderline=stats.borderline, repaired=stats.repaired,
                                      seconds=seconds, frontier=frontier, finished=finished))
        for f in self.dir.glob("*frontier-*.pkl"):  # and the frontier-*.pkl of older runs
            if f.name != frontier:
                f.unlink(missing_ok=True)
        self.n += 1
        self.last = time.monotonic()


def run_header(problem: Problem, options: dict) -> dict:
    return {"format": "nncells-regions/1", "network": problem.network.fingerprint,
            "widths": problem.network.widths, "input_dim": problem.network.input_dim,
            "domain": problem.domain.to_dict(), "tol": problem.tol, "options": options}


def prepare_out_dir(out_dir, header: dict, resume: bool):
    """Create ``out_dir`` for a new run, or load the state of an interrupted one.

    Returns ``(sink, frontier tasks or None, stats, seconds so far)``.
    """
    d = Path(out_dir)
    if not resume:
        if d.exists() and any(d.iterdir()):
            raise RunError(f"{d}: output directory is not empty (use --resume to continue a run)")
        d.mkdir(parents=True, exist_ok=True)
        return ShardSink(d), None, Stats(per_layer=[0] * len(header["widths"])), 0.0
    man = read_manifest(d)
    for key, what in (("network", "network"), ("domain", "domain"), ("tol", "tolerance")):
        if man.get(key) != header[key]:
            raise RunError(f"{d}: cannot resume: the run was made with a different {what}")
    if man.get("finished"):
        raise RunError(f"{d}: the run is already finished ({man['regions']} regions)")
    listed = {s["file"] for s in man["shards"]}
    for f in d.iterdir():
        if (f.name.startswith("shard-") and f.name not in listed) or ".tmp-" in f.name:
            f.unlink()
    frontier = []
    if man.get("frontier"):
        with open(d / man["frontier"], "rb") as fh:
            frontier = pickle.load(fh)  # our own file, written by Checkpointer.save
    stats = Stats(lp_solves=man["lp_solves"], per_layer=list(man["per_layer"]), tasks=man["tasks"],
                  borderline=man.get("borderline", 0), repaired=man.get("repaired", 0))
    sink = ShardSink(d, shards=man["shards"], count=man["regions"])
    return sink, frontier, stats, float(man.get("seconds", 0.0))


def run(problem: Problem, executor, sink, *, method="auto", frontier=None, stats=None,
        checkpointer: Checkpointer | None = None, progress=None, seconds0=0.0) -> RunInfo:
    """Enumerate the regions of ``problem`` into ``sink``; returns the run's counters.

    ``frontier``/``stats`` continue a resumed run; otherwise the run starts at the root task.
    """
    t0 = time.perf_counter() - seconds0
    n_layers = len(problem.network.widths)
    stats = stats or Stats(per_layer=[0] * n_layers)
    info = RunInfo(executor=executor.name, workers=executor.workers, tol=problem.tol, backend=problem.backend)
    lifted = homogeneous_problem(problem, _config.VERTEX_MAX_DIM) if method in ("auto", "cells") else None
    if lifted is not None:  # the whole space as a bounded problem one dimension up
        problem = lifted
        info.method = "cells (homogeneous)"
    if frontier is None and planar_applicable(problem, method):
        stats.add(run_planar(problem, sink))
        info.method, info.executor, info.workers = "planar", "serial", 1
        frontier = []
    elif frontier is None:
        root = problem.root_task()
        if root is None:
            raise RunError("the domain has no interior")
        batch, frontier, st = run_task(problem, root, _config.WARMUP_S)
        sink.add(batch)
        stats.add(st)
    started = False

    def elapsed():
        return time.perf_counter() - t0

    try:
        while frontier or (started and executor.in_flight()):
            if not started:
                executor.start(problem)
                started = True
            while frontier and executor.capacity() > 0:
                n = max(1, min(_config.TASKS_PER_MESSAGE, len(frontier) // (2 * executor.workers)))
                executor.submit([frontier.pop() for _ in range(n)])
            for _task, (batch, pending, st) in executor.wait(timeout=0.5):
                sink.add(batch)
                stats.add(st)
                frontier.extend(pending)
            if progress is not None:
                progress(sink.count, f"{len(frontier)} pending, {len(executor.in_flight())} running")
            if checkpointer is not None and checkpointer.due():
                checkpointer.save(frontier + executor.in_flight(), stats, elapsed())
    except KeyboardInterrupt:
        if checkpointer is not None:
            checkpointer.save(frontier + (executor.in_flight() if started else []), stats, elapsed())
        raise
    finally:
        executor.close()
    info.seconds = elapsed()
    if checkpointer is not None:
        checkpointer.save([], stats, info.seconds, finished=True)
        info.shards = list(checkpointer.sink.shards)
    info.regions = sink.count
    info.stats = stats
    if not started:
        info.executor, info.workers = "serial", 1
    return info


__all__ = ["run", "RunInfo", "Checkpointer", "prepare_out_dir", "run_header", "MANIFEST"]
