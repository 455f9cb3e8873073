"""The public entry point `enumerate_regions` and its in-memory result."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import scheduler
from .domain import Domain, Space
from .contract import DEFAULT_TOL
from .engine import Batch, Problem, Stats, prefix_ids
from .errors import NNCellsError
from .executors import make_executor
from .network import Network
from .store import CountSink, MemorySink

METHODS = ("auto", "cells", "planar")


@dataclass(frozen=True)
class Region:
    """One activation region of the final partition."""

    index: int
    pattern: np.ndarray  # bool over all hidden neurons
    point: np.ndarray    # strict interior point
    radius: float        # radius of a ball around `point` inside the region (the Chebyshev radius
    #                      of the last cut that created it; a lower bound of the region's own)
    ranks: np.ndarray    # rank of the affine map from the input to each hidden layer's output
    parent: int          # index of the parent in the previous layer's partition (-1 for layer 0)


def canonical_order(patterns: np.ndarray) -> np.ndarray:
    """Permutation sorting patterns lexicographically (the order is independent of how they were found)."""
    if len(patterns) == 0 or patterns.shape[1] == 0:
        return np.arange(len(patterns))
    packed = np.packbits(patterns, axis=1)
    return np.lexsort(packed.T[::-1])


class EnumerationResult:
    """All regions of ``network`` in ``domain``, in canonical (pattern) order."""

    def __init__(self, network: Network, domain: Domain, batch: Batch, stats: Stats, seconds: float,
                 info=None):
        order = canonical_order(batch.patterns)
        self.network = network
        self.domain = domain
        self.patterns = batch.patterns[order]
        self.points = batch.points[order]
        self.radii = batch.radii[order]
        self.ranks = batch.ranks[order]
        self.per_layer = list(stats.per_layer)
        self.lp_solves = int(stats.lp_solves)
        self.borderline = int(stats.borderline)  # regions within BORDERLINE x the threshold
        self.seconds = float(seconds)
        self.info = info

    @property
    def count(self) -> int:
        return len(self.radii)

    def __len__(self):
        return self.count

    def layer_ids(self, layer: int) -> np.ndarray:
        """For every final region, the index of its ancestor in hidden layer ``layer``'s partition
        (ancestors numbered in canonical order of their pattern prefixes)."""
        return prefix_ids(self.patterns, self.network.layer_slices[layer].stop)

    def parents(self, layer: int | None = None) -> np.ndarray:
        """Parent index (into layer ``layer - 1``'s partition) of each region of layer ``layer``
        (default: the last hidden layer); -1 for layer 0."""
        n_layers = len(self.network.widths)
        layer = n_layers - 1 if layer is None else layer
        if layer <= 0:
            return np.full(self.per_layer[0] if self.per_layer else self.count, -1)
        mine = self.layer_ids(layer)
        up = self.layer_ids(layer - 1)
        out = np.empty(mine.max() + 1, dtype=np.int64)
        out[mine] = up
        return out

    def __iter__(self):
        n_layers = len(self.network.widths)
        parent = self.parents() if n_layers else None
        ids = self.layer_ids(n_layers - 1) if n_layers else None
        for i in range(self.count):
            p = int(parent[ids[i]]) if n_layers else -1
            yield Region(i, self.patterns[i], self.points[i], float(self.radii[i]), self.ranks[i], p)

    def affine_map(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The network's affine map ``(A, c)`` on region ``i``."""
        return self.network.local_affine(self.patterns[i])

    def chebyshev(self, i: int) -> tuple[np.ndarray, float]:
        """Centre and radius of the largest ball inside region ``i`` (one LP; the radius is
        capped on unbounded regions at the larger of the domain's size, the region's point's
        coordinates and ``radii[i]``). ``radii[i]`` is a certified lower bound of this radius,
        found without an LP."""
        from .lp import chebyshev_center
        A, b = self.halfspaces(i)
        cap = max(self.domain.scale, float(np.max(np.abs(self.points[i]), initial=0.0)),
                  float(self.radii[i]) if np.isfinite(self.radii[i]) else 0.0)
        return chebyshev_center(A, b, cap=cap)

    def halfspaces(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Half-spaces ``G x <= h`` of region ``i``, the domain's included."""
        G, h = self.network.region_halfspaces(self.patterns[i])
        A, b = self.domain.halfspaces()
        return np.vstack([A, G]), np.concatenate([b, h])

    def summary(self) -> dict:
        info = self.info or scheduler.RunInfo(
            self.count, Stats(self.lp_solves, self.per_layer, borderline=self.borderline), self.seconds)
        return run_summary(self.network, self.domain, info)

    def to_parquet(self, path) -> None:
        from .store import write_regions
        write_regions(path, self)


def _problem(network, domain, tol) -> Problem:
    if not isinstance(network, Network):
        raise NNCellsError(f"expected a Network, got {type(network).__name__}")
    if not (tol > 0 and np.isfinite(tol)):
        raise NNCellsError(f"tolerance must be a positive number, got {tol}")
    return Problem.make(network, Space() if domain is None else domain, tol)


def _check_method(method):
    if method not in METHODS:
        raise NNCellsError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")


def enumerate_regions(network: Network, domain: Domain | None = None, *, tol: float = DEFAULT_TOL,
                      method: str = "auto", workers: int | None = None, executor=None,
                      progress=None) -> EnumerationResult:
    """Enumerate every full-dimensional activation region of ``network`` inside ``domain``.

    Parameters
    ----------
    network : the ReLU network.
    domain : `Box`, `Polytope`, `Ball` or `Space` (default: the whole input space).
    tol : the contract's relative threshold: a region counts iff it holds a point ``x`` farther
        than ``tol * ||x||_inf`` from its boundary (see `nncells.contract` and docs/numerics.md);
        the answer does not depend on the units or the domain's size.
    method : ``"cells"`` (the layer-wise engine), ``"planar"`` (the exact 2-D mesh; 2 inputs
        and a box only) or ``"auto"`` (planar where it applies).
    workers : worker processes (default: all cores; 1 runs in this process). Small problems
        finish in this process before any worker starts.
    executor : an executor from `nncells.executors` (e.g. `DaskExecutor`), instead of ``workers``.
    progress : optional callable ``progress(regions_found, extra_text)``.
    """
    _check_method(method)
    problem = _problem(network, domain, tol)
    sink = MemorySink()
    info = scheduler.run(problem, executor or make_executor(workers), sink, method=method, progress=progress)
    batch = Batch.concat(sink.batches, network.n_hidden, network.input_dim, len(network.widths))
    return EnumerationResult(network, problem.domain, batch, info.stats, info.seconds, info)


def count_regions(network: Network, domain: Domain | None = None, *, tol: float = DEFAULT_TOL,
                  method: str = "auto", workers: int | None = None, executor=None, out_dir=None,
                  resume: bool = False, progress=None, checkpoint_s: float = 30.0) -> dict:
    """Count regions without keeping them (memory does not grow with the count); with
    ``out_dir`` the run is checkpointed there and can be resumed. Returns the JSON summary."""
    return _stream(network, domain, tol, method, workers, executor, out_dir, resume, progress,
                   checkpoint_s, count_only=True)


def enumerate_to_dir(network: Network, domain: Domain | None, out_dir, *, tol: float = DEFAULT_TOL,
                     method: str = "auto", workers: int | None = None, executor=None, resume: bool = False,
                     progress=None, checkpoint_s: float = 30.0) -> dict:
    """Stream regions to Parquet shards under ``out_dir`` with a manifest, checkpointed every
    ``checkpoint_s`` seconds; ``resume=True`` continues an interrupted run. Returns the summary."""
    return _stream(network, domain, tol, method, workers, executor, out_dir, resume, progress,
                   checkpoint_s, count_only=False)


def _stream(network, domain, tol, method, workers, executor, out_dir, resume, progress, checkpoint_s,
            count_only):
    _check_method(method)
    problem = _problem(network, domain, tol)
    executor = executor or make_executor(workers, budget_s=1.0)
    try:
        if out_dir is None:
            if resume:
                raise NNCellsError("resume needs an output directory")
            sink, ckpt, frontier, stats, seconds0 = CountSink(), None, None, None, 0.0
        else:
            header = scheduler.run_header(problem, {"count_only": count_only, "method": method})
            sink, frontier, stats, seconds0 = scheduler.prepare_out_dir(out_dir, header, resume)
            sink.keep = not count_only
            ckpt = scheduler.Checkpointer(out_dir, header, sink, every_s=checkpoint_s)
    except BaseException:
        executor.close()
        raise
    info = scheduler.run(problem, executor, sink, method=method, frontier=frontier, stats=stats,
                         checkpointer=ckpt, progress=progress, seconds0=seconds0)
    return run_summary(network, problem.domain, info)


def run_summary(network, domain, info) -> dict:
    """The JSON summary of a run."""
    return {
        "network": repr(network),
        "domain": domain.to_dict(),
        "regions": int(info.regions),
        "per_layer": list(info.stats.per_layer),
        "tol": info.tol,
        "lp_solves": int(info.stats.lp_solves),
        "lp_per_region": info.stats.lp_solves / max(info.regions, 1),
        "borderline": int(info.stats.borderline),
        "repaired_points": int(info.stats.repaired),
        "seconds": info.seconds,
        "regions_per_second": info.regions / info.seconds if info.seconds > 0 else None,
        "method": info.method,
        "executor": info.executor,
        "workers": info.workers,
        "tasks": info.stats.tasks,
        "shards": len(info.shards),
    }
