"""Tasks of LP mode in a box through the compiled core (`nncells.kernels.lp`).

Above ``_config.VERTEX_MAX_DIM`` inputs a box domain is kept once as bounds and every cell is
light (`Problem.boxed`): the core runs such tasks depth-first through all remaining layers, with
the decisions of `engine.split` (witness balls, certificates, rays, the verified shrunk-box LP of
`geometry.box_depth`) in C++. A split where the shrunk-box LP cannot settle a side is *deferred*:
the engine runs that split through the numpy twin (`engine.tasks._children`), which asks the exact
LP and counts a fallback, exactly as the numpy backend would, and hands its children back.

Examples
--------
>>> from nncells import Box, random_network, kernels
>>> from nncells.engine.tasks import Problem, run_task
>>> p = Problem.make(random_network([8, 6, 4, 1], seed=0), Box(-1, 1))
>>> batch, pending, stats = run_task(p, p.root_task())
>>> q = Problem.make(random_network([8, 6, 4, 1], seed=0), Box(-1, 1), backend="numpy")
>>> len(batch) == len(run_task(q, q.root_task())[0])
True
"""
from __future__ import annotations

import numpy as np

from nncells import _config
from nncells.engine.cells import Batch, Cell, Task, many_records
from nncells.geometry import solvers
from nncells.kernels import lp as klp
from nncells.kernels import vertex as kv

_counts: dict = {}
_NO_BASIS = np.zeros(0, dtype=np.int8)


def counts() -> dict:
    """How this process's compiled LP-mode splits decided their (sub-cell, side) pairs: totals
    of the core's counters (`nncells.kernels.lp.refine`).

    Examples
    --------
    >>> isinstance(counts(), dict)
    True
    """
    return dict(_counts)


class LpCore:
    """The compiled LP mode set up for one boxed problem (`core_for`)."""

    lifted_d = -1

    def __init__(self, problem):
        net = problem.network
        self.n_layers = n = len(net.widths)
        self.net = kv.core_network(net.weights[:n], net.biases[:n], net.linear[:n])
        self.tol = problem.rule.tol
        self.lo, self.hi = (np.asarray(b, dtype=np.float64) for b in problem.box)
        self.n_hidden = net.n_hidden
        self.d = net.input_dim

    def takes(self, task: Task) -> bool:
        """Whether the core can run ``task``: a whole (not part-split) light-able cell."""
        return task.layer < self.n_layers and task.partial is None and task.cell.cuts is not None

    def refine(self, tasks: list, budget_s: float):
        """``(batch, per_layer, pending, deferred, [], None)``, as `engine.compiled.Core.refine`:
        the regions finished, regions created per layer, tasks left at the budget (light) and
        the splits to run in numpy (light; `Problem.unpack` rebuilds their rows)."""
        tuples = [_to_tuple(t) for t in tasks]
        with many_records():
            P, X, r, ranks, per_layer, pending, deferred, c = klp.refine(self.net, self.tol, self.lo, self.hi, tuples,
                                                                          max(budget_s, 0.0))
            pending, deferred = [_from_tuple(t) for t in pending], [_from_tuple(t) for t in deferred]
        solvers.count_solves(int(c["lp_solves"]))
        for k, v in c.items():
            _counts[k] = _counts.get(k, 0) + int(v)
        batch = Batch(P.view(bool), X, r, ranks)
        return batch, per_layer, pending, deferred, [], None


def core_for(problem) -> LpCore | None:
    """The compiled LP mode for ``problem``, or None: the backend is numpy, the cells do not keep a
    box as bounds (`Problem.boxed`), the network has no hidden layer, or ``_config.COMPILED_LP``
    is False."""
    if (problem.backend != "native" or not _config.COMPILED_LP or not problem.boxed
            or not problem.network.widths):
        return None
    return LpCore(problem)


def _to_tuple(t: Task):
    c = t.cell
    return (int(t.layer), np.ascontiguousarray(t.pattern, dtype=np.uint8), np.asarray(t.ranks, dtype=np.int64),
            np.ascontiguousarray(c.cuts, dtype=np.uint8), np.ascontiguousarray(c.point, dtype=np.float64),
            float(c.radius), _NO_BASIS if c.basis is None else np.ascontiguousarray(c.basis, dtype=np.int8))


def _from_tuple(tup) -> Task:
    layer, pattern, ranks, cuts, point, radius, basis = tup
    d = len(point)
    cell = Cell(None, None, point, float(radius), np.zeros((0, d)), np.zeros(0), cuts=cuts.view(bool),
                basis=basis if len(basis) else None)
    return Task(int(layer), cell, None, None, pattern.view(bool), tuple(int(x) for x in ranks))
