"""The public entry points: `enumerate_regions`, `count_regions`, `enumerate_to_dir`.

They check their arguments, build the engine's `Problem`, pick an executor and hand the run to
the driver (`nncells.run.driver`), with the sink that the caller's output needs.
"""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from nncells.domains import Domain, Space
from nncells.engine.tasks import Batch, Problem
from nncells.errors import NNCellsError
from nncells import _config
from nncells.network import Network
from nncells.results.result import EnumerationResult
from nncells.results.store import CountSink, MemorySink
from nncells.results.summary import run_summary
from nncells.run import checkpoint, driver
from nncells.run.executors import make_executor

if TYPE_CHECKING:
    from collections.abc import Callable
    from os import PathLike

    from nncells.run.executors import Executor

    Progress = Callable[[int, str], object]   # ``progress(regions_found, extra_text)``

METHODS = ("auto", "cells", "planar")


def _problem(network: Network, domain: Domain | None, tol: float | None, backend: str | None = None) -> Problem:
    if not isinstance(network, Network):
        raise NNCellsError(f"expected a Network, got {type(network).__name__}")
    tol = _config.DEFAULT_TOL if tol is None else tol
    if not (tol > 0 and np.isfinite(tol)):
        raise NNCellsError(f"tolerance must be a positive number, got {tol}")
    return Problem.make(network, Space() if domain is None else domain, tol, backend)


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise NNCellsError(f"unknown method {method!r} (choose from {', '.join(METHODS)})")


def enumerate_regions(network: Network, domain: Domain | None = None, *, tol: float | None = None,
                      method: str = "auto", workers: int | None = None, executor: Executor | None = None,
                      progress: Progress | None = None, backend: str | None = None, certify: bool = False,
                      facets: bool = False) -> EnumerationResult:
    """Enumerate every full-dimensional activation region of ``network`` inside ``domain``.

    Parameters
    ----------
    network : the ReLU network.
    domain : `Box`, `Polytope`, `Ball` or `Space` (default: the whole input space).
    tol : the contract's relative threshold: a region counts iff it holds a point ``x`` farther
        than ``tol * ||x||_inf`` from its boundary (see `nncells.geometry.contract` and docs/numerics.md);
        the answer does not depend on the units or the domain's size.
    method : ``"cells"`` (the layer-wise engine), ``"planar"`` (the exact 2-D mesh; 2 inputs
        and a box only) or ``"auto"`` (planar where it applies).
    workers : worker processes (default: all cores; 1 runs in this process). Small problems
        finish in this process before any worker starts.
    executor : an executor from `nncells.run.executors` (e.g. `DaskExecutor`), instead of ``workers``.
    progress : optional callable ``progress(regions_found, extra_text)``.
    backend : ``"native"`` (the compiled core), ``"numpy"`` (its reference twin, slower) or
        ``"auto"`` (default: native when built; see `nncells.kernels.backend`). The answers are
        the same.
    certify : prove every region exists in exact arithmetic and check that the dual graph is
        closed (`nncells.results.certify.certify`); the answer is in ``result.certificate`` and
        under ``certified`` in ``result.summary()``.
    facets : record the regions' facets while enumerating (the compiled core reads them from each
        region's vertices), so that `facets`, `adjacency` and `certify` on the result need no
        second pass of the core: the enumeration takes a little longer, the dual graph much less.
        The answers are the same either way. Implied by ``certify``. With ``method="auto"`` a
        2-input network in a box then runs on the cells method (the planar mesh records no facets).

    Returns
    -------
    EnumerationResult
        Patterns, interior points, radii and ranks of every region, in canonical order.

    Notes
    -----
    In the whole space, and in a polytope whose rows lie in the row space of the first layer,
    the regions are cylinders along that layer's null space: the run is solved in its row space
    (rank ``r``, often far below the input dimension) and mapped back, every point checked in
    the input space (`nncells.engine.reduction`); the summary says ``reduced_dim: r``.
    ``nncells._config.REDUCE = False`` switches this off.

    Examples
    --------
    Ten hyperplanes in general position cut the plane into ``1 + 10 + 45`` regions:

    >>> import nncells
    >>> net = nncells.random_network([2, 10, 1], seed=0)
    >>> nncells.enumerate_regions(net, nncells.Space(), workers=1).count
    56
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    >>> bool((net.pattern(res.points) == res.patterns).all())   # every point has its pattern
    True
    >>> c = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1, certify=True).summary()["certified"]
    >>> c["exist"] == c["of"] == res.count, c["closed"]
    (True, True)

    With ``facets=True`` the dual graph comes from the facets recorded during the run, the same
    graph as without:

    >>> net = nncells.random_network([3, 8, 6, 1], seed=0)
    >>> fast = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1, facets=True)
    >>> E, E0 = fast.adjacency(), nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1).adjacency()
    >>> all((E[k] == E0[k]).all() for k in ("i", "j", "neuron")), len(E["i"]) > fast.count
    (True, True)
    """
    _check_method(method)
    problem = _problem(network, domain, tol, backend)
    if facets or certify:
        problem = dataclasses.replace(problem, facets=True)
    sink = MemorySink()
    info = driver.run(problem, executor or make_executor(workers), sink, method=method, progress=progress)
    batch = Batch.concat(sink.batches, network.n_hidden, network.input_dim, len(network.widths))
    result = EnumerationResult(network, problem.domain, batch, info.stats, info.seconds, info)
    if certify:
        result.certificate = result.certify()
    return result


def count_regions(network: Network, domain: Domain | None = None, *, tol: float | None = None,
                  method: str = "auto", workers: int | None = None, executor: Executor | None = None,
                  out_dir: str | PathLike[str] | None = None, resume: bool = False,
                  progress: Progress | None = None, checkpoint_s: float | None = None,
                  backend: str | None = None) -> dict[str, Any]:
    """Count regions without keeping them (memory does not grow with the count); with
    ``out_dir`` the run is checkpointed there and can be resumed. Returns the JSON summary.
    The other arguments are those of `enumerate_regions`.

    Examples
    --------
    >>> import nncells
    >>> net = nncells.random_network([3, 8, 6, 1], seed=1)
    >>> s = nncells.count_regions(net, nncells.Box(-1, 1), workers=1)
    >>> s["regions"] == nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1).count
    True
    """
    return _stream(network, domain, tol, method, workers, executor, out_dir, resume, progress,
                   checkpoint_s, count_only=True, backend=backend)


def enumerate_to_dir(network: Network, domain: Domain | None, out_dir: str | PathLike[str], *,
                     tol: float | None = None, method: str = "auto", workers: int | None = None,
                     executor: Executor | None = None, resume: bool = False, progress: Progress | None = None,
                     checkpoint_s: float | None = None, backend: str | None = None) -> dict[str, Any]:
    """Stream regions to Parquet shards under ``out_dir`` with a manifest, checkpointed every
    ``checkpoint_s`` seconds; ``resume=True`` continues an interrupted run. Returns the summary.

    ``out_dir`` is a Parquet dataset: shards ``shard-NNNNNN.parquet`` with the columns of
    `EnumerationResult.to_parquet`, beside ``_manifest.json``, ``_network.npz`` and
    ``_frontier-*.npz``, which dataset readers skip. Read it back as a result with
    `read_regions`, as arrays with `read_arrays`, or with ``pandas.read_parquet(out_dir)`` or
    ``pyarrow.dataset.dataset(out_dir)``.

    Examples
    --------
    >>> import os, tempfile, pyarrow.dataset as ds, nncells
    >>> out = os.path.join(tempfile.mkdtemp(), "run")
    >>> net = nncells.random_network([3, 6, 1], seed=2)
    >>> s = nncells.enumerate_to_dir(net, nncells.Box(-1, 1), out, workers=1)
    >>> len(nncells.read_arrays(out)["patterns"]) == ds.dataset(out).count_rows() == s["regions"]
    True
    >>> nncells.read_regions(out).count == s["regions"]
    True
    """
    return _stream(network, domain, tol, method, workers, executor, out_dir, resume, progress,
                   checkpoint_s, count_only=False, backend=backend)


def _stream(network: Network, domain: Domain | None, tol: float | None, method: str, workers: int | None,
            executor: Executor | None, out_dir: str | PathLike[str] | None, resume: bool,
            progress: Progress | None, checkpoint_s: float | None, count_only: bool,
            backend: str | None = None) -> dict[str, Any]:
    _check_method(method)
    problem = _problem(network, domain, tol, backend)
    if count_only:  # workers send back counts, not regions
        problem = dataclasses.replace(problem, count_only=True)
    every_s = _config.CHECKPOINT_EVERY_S if checkpoint_s is None else float(checkpoint_s)
    if not (math.isfinite(every_s) and every_s > 0):
        raise NNCellsError(f"the checkpoint interval must be a positive number of seconds, got {every_s:g}")
    if out_dir is None and resume:
        raise NNCellsError("resume needs an output directory")
    executor = executor or make_executor(workers, budget_s=_config.TASK_BUDGET_S)
    if out_dir is None:
        info = driver.run(problem, executor, CountSink(), method=method, progress=progress)
        return run_summary(network, problem.domain, info)
    try:
        header = checkpoint.run_header(problem, {"count_only": count_only, "method": method})
        rd = checkpoint.open_run_dir(out_dir, header, resume, every_s, keep=not count_only, network=network)
    except BaseException:
        executor.close()
        raise
    with rd:
        info = driver.run(problem, executor, rd.sink, method=method, frontier=rd.frontier, stats=rd.stats,
                          checkpointer=rd.checkpointer, progress=progress, seconds0=rd.seconds)
    return run_summary(network, problem.domain, info)


