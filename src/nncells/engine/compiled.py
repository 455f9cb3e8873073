"""Tasks through the compiled core: vertex mode (bounded cells in 2 to ``_config.VERTEX_MAX_DIM``
dimensions, the lifted whole space included) runs in C++ (`nncells.kernels.vertex`).

`Core.refine` hands a list of tasks to the core and gets back finished regions as one `Batch`,
the tasks left when the time budget ran out, and the *deferred* splits: those where a child's
centroid ball does not prove it counts, so an LP must decide (`Rule.deepest`); the engine runs
those through the numpy split (`engine.tasks`), exactly as the numpy backend would, and hands
their children back. The numpy backend (`kernels.backend("numpy")`) is the core's reference.
"""
from __future__ import annotations

import numpy as np

from nncells import _config
from nncells.domains import Ball
from nncells.engine.cells import Batch, Cell, Task
from nncells.engine.vertex import _Fallback, cell_vertices
from nncells.kernels import vertex as kv


class Core:
    """The compiled core set up for one problem (network, rule); see `core_for`."""

    def __init__(self, network, rule, n_layers, facets=False):
        self.net = kv.core_network(network.weights[:n_layers], network.biases[:n_layers], network.linear[:n_layers])
        self.facets_mode = bool(facets)
        self.tol = rule.tol
        self.lifted_d = -1 if rule.lifted_dim is None else int(rule.lifted_dim)
        self.n_layers = n_layers
        self.n_hidden = network.n_hidden

    def takes(self, task: Task) -> bool:
        """Whether the core can run ``task`` (a bounded cell; vertices are found when missing)."""
        return task.layer < self.n_layers and task.cell.box is not None

    def refine(self, tasks: list, budget_s: float):
        """``(batch, per_layer, pending, deferred, fallback, facets)``: the regions finished,
        regions created per layer, tasks left at the budget, splits that need an LP, tasks qhull
        could not give vertices (for the numpy backend's LP mode), and in facets mode the
        finished regions' facets ``(packed patterns, start, group, label, flag)`` (see
        `nncells.kernels.vertex.refine_facets`; else None). In a lifted problem the regions are
        given in x-space already (`engine.lifting.Lift.from_core`), the facets' patterns are the
        lifted network's."""
        tuples, fallback = [], []
        for t in tasks:
            tup = _to_tuple(t)
            if tup is None:
                fallback.append(t)
            else:
                tuples.append(tup)
        d = len(tasks[0].cell.point) if self.lifted_d < 0 else self.lifted_d
        if not tuples:
            return (Batch.concat([], self.n_hidden, d, self.n_layers), np.zeros(self.n_layers, np.int64), [], [],
                    fallback, None)
        P, X, r, ranks, per_layer, pending, deferred, fac = kv.refine(
            self.net, self.tol, self.lifted_d, tuples, budget_s, self.facets_mode)
        batch = Batch(P.view(bool), X, r, ranks)
        if fac is not None:
            fac = (np.packbits(P, axis=1),) + tuple(fac)
        return (batch, per_layer, [_from_tuple(t) for t in pending], [_from_tuple(t) for t in deferred], fallback,
                fac)

    def facets(self, task: Task):
        """Refine ``task`` to the end in facets mode (`nncells.kernels.vertex.refine_facets`): the
        patterns of the regions it finishes and their facets' labels; None when qhull could not
        give the task's cell vertices."""
        tup = _to_tuple(task)
        return None if tup is None else kv.refine_facets(self.net, self.tol, self.lifted_d, [tup])


def core_for(problem) -> Core | None:
    """The compiled core for ``problem``, or None when the numpy backend runs it: the problem's
    backend is ``numpy``, the cells are not in vertex mode (above ``_config.VERTEX_MAX_DIM``, lifted
    cells one more, or unbounded), or the domain is a Euclidean ball (its step is in numpy)."""
    if problem.backend != "native":
        return None
    net = problem.network
    d = net.input_dim
    if not net.widths or problem.box is None or not 2 <= d <= _config.VERTEX_MAX_DIM + (problem.lift is not None):
        return None
    for dom in (problem.domain, getattr(problem.lift, "domain", None)):  # (a huge ball is lifted)
        if isinstance(dom, Ball) and dom.norm == 2:
            return None
    return Core(net, problem.rule, len(net.widths), facets=problem.facets)


def _to_tuple(t: Task):
    c = t.cell
    V, act, vmag = c.vertices, c.active, c.vmag
    if V is None or act is None or vmag is None:
        try:
            V, act, vmag = cell_vertices(c.A, c.c, c.point)
        except _Fallback:
            return None
    signs, rest = (None, None) if t.partial is None else (
        np.ascontiguousarray(t.partial[0], dtype=np.uint8), np.ascontiguousarray(t.partial[1], dtype=np.int64))
    f64 = np.ascontiguousarray
    return (int(t.layer), np.ascontiguousarray(t.pattern, dtype=np.uint8), np.asarray(t.ranks, dtype=np.int64),
            f64(c.A, dtype=np.float64), f64(c.c, dtype=np.float64), f64(c.point, dtype=np.float64),
            float(c.radius), f64(V, dtype=np.float64), np.ascontiguousarray(act, dtype=np.uint8),
            f64(vmag, dtype=np.float64), signs, rest,
            None if c.labels is None else np.ascontiguousarray(c.labels, dtype=np.int64))


def _from_tuple(tup) -> Task:
    layer, pattern, ranks, A, c, point, radius, V, act, vmag, signs, rest, labels = tup
    d = A.shape[1]
    cell = Cell(A, c, point, radius, np.zeros((0, d)), np.zeros(0), (V.min(axis=0), V.max(axis=0)),
                V, act.view(bool), vmag, labels)
    return Task(layer, cell, None, None, pattern.view(bool), tuple(int(x) for x in ranks),
                (signs.view(bool), rest))
