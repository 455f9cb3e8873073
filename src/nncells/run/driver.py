"""The driver: hands tasks to an executor, collects regions into a sink, checkpoints, resumes.

Tasks run with a time budget; a task that runs past it hands its unexplored frontier back, so
the load is balanced dynamically at every layer. The driver only schedules and collects.

Checkpoints of sharded runs (`nncells.run.checkpoint`): the first right after the warm-up, then
every ``checkpoint_s`` seconds; each lists the shards written so far and the frontier of every
task not yet finished (pending and in flight), so a resumed run redoes exactly that.
"""
from __future__ import annotations

import dataclasses
import signal
import time

from nncells import _config
from nncells.engine.lifting import homogeneous_problem, lifted_box
from nncells.engine.reduction import reduced_problem
from nncells.engine.tasks import Problem, Stats, network_length, prefix_ids, run_task
from nncells.errors import RunError
from nncells.geometry import solvers as lp
from nncells.results.result import RunInfo
from nncells.results.store import read_manifest
from nncells.run.checkpoint import Checkpointer, os_error


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, see `nncells.errors.Terminated`) during a run: ``regions`` found so
    far, ``out_dir`` where it is checkpointed (or None), ``signum`` the signal that stopped it."""

    def __init__(self, regions: int, out_dir=None, signum: int = signal.SIGINT):
        super().__init__(regions, out_dir)
        self.regions = regions
        self.out_dir = out_dir
        self.signum = int(signum)


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


def _check_resume(out_dir, frontier, problem: Problem, was: dict, now: dict) -> None:
    """Refuse to resume a frontier whose tasks are in other coordinates than this run's (``was``: the
    manifest; ``now``: this run's ``reduced_dim`` and ``reduced_basis``): solved in the first
    layer's row space or not (`engine.reduction`), in another basis of it, lifted or not
    (`_config.REDUCE` or `_config.VERTEX_MAX_DIM` changed since, another LAPACK, or a run of an
    nncells without the reduction)."""
    d, here = (len(frontier[0].cell.point) if frontier else problem.network.input_dim), problem.network.input_dim
    if d != here or any(was.get(k) != v for k, v in now.items()):
        def said(r):
            return "the input space" if r is None else f"{r} dimensions"
        same = was.get("reduced_dim") == now["reduced_dim"] and d == here
        raise RunError(f"{out_dir}: cannot resume: the run was solved in {said(was.get('reduced_dim'))} ({d} "
                       f"coordinates), this one in {said(now['reduced_dim'])} ({here})"
                       + (" in another basis (resume on the same installation)" if same else
                          ": set nncells._config as it was"))


def run(problem: Problem, executor, sink, *, method="auto", frontier=None, stats=None,
        checkpointer: Checkpointer | None = None, progress=None, seconds0=0.0) -> RunInfo:
    """Enumerate the regions of ``problem`` into ``sink``; returns the run's counters.

    ``frontier``/``stats`` continue a resumed run; otherwise the run starts at the root task.
    """
    t0 = time.perf_counter() - seconds0
    n_layers = len(problem.network.widths)
    stats = stats or Stats(per_layer=[0] * n_layers)
    info = RunInfo(executor=executor.name, workers=executor.workers, tol=problem.tol, backend=problem.backend,
                   facets=problem.facets and problem.backend == "native")
    reduced = reduced_problem(problem) if method in ("auto", "cells") else None
    if reduced is not None:  # the network varies only along its first layer's rows: solved there
        problem, info.reduced_dim = reduced, reduced.network.input_dim
    lifted = homogeneous_problem(problem, _config.VERTEX_MAX_DIM) if method in ("auto", "cells") else None
    if lifted is not None:  # the whole space (or a huge box) as a bounded problem one dimension up
        problem = dataclasses.replace(lifted, reduction=problem.reduction)
        info.method = "cells (homogeneous)"
    elif method == "planar" and lifted_box(problem.domain, network_length(problem.network)):
        raise RunError(f"the box is more than {_config.LIFT_BOX_RATIO:g} times the network's own length: the "
                       "planar mesh cannot resolve it in float64 (method 'auto' or 'cells' can)")
    if checkpointer is not None and executor.name == "serial":  # tasks come back in time to checkpoint
        executor.budget_s = min(executor.budget_s, _config.TASK_BUDGET_S)
    started = False

    def elapsed():
        return time.perf_counter() - t0

    def checkpoint(tasks, finished=False):
        try:
            checkpointer.save(tasks, stats, elapsed(), finished)
        except OSError as e:
            raise os_error(checkpointer.dir, e) from None

    if checkpointer is not None:  # every manifest says in which coordinates its frontier's tasks are
        now = {"reduced_dim": info.reduced_dim,
               "reduced_basis": None if problem.reduction is None else problem.reduction.basis}
        was = read_manifest(checkpointer.dir) if frontier is not None else now
        checkpointer.header = dict(checkpointer.header, **now)
    try:
        if frontier is not None and checkpointer is not None:
            _check_resume(checkpointer.dir, frontier, problem, was, now)
        if progress is not None:  # the run starts: its output is in place, its options checked
            progress(sink.count, "starting")
        # the planar mesh records no facets: with facets asked for, "auto" takes the cells method
        planar = planar_applicable(problem, method) and not (problem.facets and method == "auto")
        if frontier is None and planar:
            stats.add(run_planar(problem, sink))
            info.method, info.executor, info.workers, info.facets = "planar", "serial", 1, False
            if problem.network.has_linear:   # (the compiled mesh has no linear units: its numpy twin ran)
                info.backend = "numpy"
            frontier = []
        elif frontier is None:
            root = problem.root_task()
            if root is None:
                raise RunError("the domain has no interior")
            batch, frontier, st = run_task(problem, root, _config.WARMUP_S)
            sink.add(batch)
            stats.add(st)
            if checkpointer is not None and frontier:
                checkpoint(frontier)  # the first checkpoint: a second or so after the start
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
                checkpoint(frontier + executor.in_flight())
    except KeyboardInterrupt as e:
        signum = getattr(e, "signum", signal.SIGINT)  # SIGTERM arrives as errors.Terminated
        if checkpointer is None:
            raise RunInterrupted(sink.count, signum=signum) from None
        if frontier is not None:  # (before the first checkpoint, a resume starts over)
            checkpoint(frontier + (executor.in_flight() if started else []))
        raise RunInterrupted(sink.count, checkpointer.dir, signum) from None
    except OSError as e:  # a shard that could not be written (a full disk)
        if checkpointer is None:
            raise
        raise os_error(checkpointer.dir, e) from None
    finally:
        executor.close()
    info.seconds = elapsed()
    if checkpointer is not None:
        checkpoint([], finished=True)
        info.shards = list(checkpointer.sink.shards)
    info.regions = sink.count
    info.stats = stats
    if not started:
        info.executor, info.workers = "serial", 1
    return info


__all__ = ["run", "RunInfo", "RunInterrupted"]
