"""Layer-wise refinement: cells of the first layer, then each cell cut by the next layer's
neurons pulled back through its affine map (Drammis et al. 2024, arXiv:2403.00860).

The unit of work is a `Task`: a region of some layer's partition with the layers still to
apply. `run_task` refines it depth-first and returns finished regions, plus unexplored tasks
when it runs past its budget, so any executor can schedule tasks (serial, processes, Dask).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np

from nncells import _config, kernels
from nncells.domains import Box, Domain
from nncells.engine import compiled, lp_core
from nncells.engine.ball import refine
from nncells.engine.cells import Batch as Batch, Cell as Cell, Stats as Stats, Task as Task  # re-exported
from nncells.engine.cells import many_records
from nncells.engine.split import split_cell
from nncells.engine.vertex import box_vertices
from nncells.errors import DomainError
from nncells.geometry import box_depth, solvers
from nncells.geometry.contract import Rule, borderline_count, gamma, margins, undecided_count, unit_rows
from nncells.geometry.norms import power_of_two, row_norms
from nncells.network import Network


@dataclass(frozen=True)
class Problem:
    """What every task needs besides its own region: the network, the domain, the rule.

    ``tol`` is the contract's relative threshold (see `nncells.geometry.contract`). ``lift`` is set when
    ``network`` is the homogeneous lift of another network (`nncells.engine.lifting`): finished
    regions are then mapped back to that network's input space before they leave `run_task`.
    """

    network: Network
    domain: Domain
    tol: float
    rule: Rule
    lift: object = None
    box: tuple | None = None  # a bounding box of the domain, None when it is unbounded
    backend: str = "numpy"    # "native" (the compiled core, `engine.compiled`) or "numpy"
    count_only: bool = False  # the caller only counts: finished batches carry no data
    facets: bool = False      # the compiled core records its regions' facets (`Stats.facets`)
    reduction: object = None  # set when this is another problem in its first layer's row space
    #                           (`nncells.engine.reduction`): `finish` maps regions back to it last

    @classmethod
    def make(cls, network: Network, domain: Domain, tol: float | None = None,
             backend: str | None = None) -> "Problem":
        """The problem of ``network`` in ``domain``; refuses a polyhedral domain without interior
        (one LP) and finds the bounding box of a polytope (LPs). ``backend``: see
        `nncells.kernels.backend` (default: the compiled core when it is built)."""
        backend = kernels.backend(backend)
        tol = _config.DEFAULT_TOL if tol is None else tol
        domain = domain.resolve(network.input_dim)
        box = domain.bounds()
        rule = Rule(tol)
        A, c = domain.halfspaces()
        if box is None and len(A):
            rows = unit_rows(A, c)
            if rows is None or rule.deepest(*rows)[0] is None:
                raise DomainError("polytope domain is empty or has no interior")
            box = solvers.bounding_box(A, c)
        if box is not None:
            _check_range(network, box)
        return cls(network, domain, float(tol), rule, box=box, backend=backend)

    def root_task(self) -> Task | None:
        """The task for the whole domain (None if the domain has no interior)."""
        d = self.network.input_dim
        rows = self._domain_rows()
        if rows is None:
            return None
        A, c = rows
        bounds = self.box if self.boxed else None
        if len(A) or bounds is not None:
            x, r = self.rule.deepest(A, c, bounds=bounds) if bounds is not None else self.rule.deepest(A, c)
            if x is None:
                return None
        else:  # the whole space: the origin, with a ball of the network's own length
            x, r = np.zeros(d), network_length(self.network)
        cell = Cell(A, c, x, r, np.zeros((0, d)), np.zeros(0), self.box, bounds=bounds,
                    cuts=np.zeros(0, dtype=bool) if self.lift is None else None)
        if self.lift is not None and self.lift.root is not None:  # a lifted box: its exact pyramid
            cell.vertices, cell.active, cell.vmag = self.lift.root
        elif isinstance(self.domain, Box) and d <= _config.VERTEX_MAX_DIM + (self.lift is not None):  # exact corners
            cell.vertices, cell.active, cell.vmag = box_vertices(self.domain.lo, self.domain.hi)
        return Task(0, cell, None, np.zeros(d), np.zeros(0, dtype=bool), ())  # (M None: the identity)

    @property
    def boxed(self) -> bool:
        """Whether the cells keep the domain, a box, as bounds rather than rows: LP mode
        (above ``_config.VERTEX_MAX_DIM`` inputs) in a box that is not lifted."""
        return (self.lift is None and isinstance(self.domain, Box)
                and self.network.input_dim > _config.VERTEX_MAX_DIM)

    def _domain_rows(self):
        """The first rows of every cell: the domain's half-spaces of unit norm (none when the
        cells keep the box as bounds), or None when the domain is empty."""
        if self.boxed:
            d = self.network.input_dim
            return np.zeros((0, d)), np.zeros(0)
        return unit_rows(*self.domain.halfspaces())

    def unpack(self, task: Task) -> Task:
        """``task`` with its cell's rows, when `Task.pack` left them out (a light cell: its
        pattern, which neurons cut it, and a point): the domain's rows, then the hyperplanes of
        the neurons that cut it, layer by layer, computed with the same operations as when the
        cell was split (bit for bit the same rows)."""
        cell = task.cell
        if cell.A is not None:
            return task
        net = self.network
        A, c = self._domain_rows()
        parts_A, parts_c = [A], [c]
        for H, g, _, s, sl in _pullbacks(net, task.pattern, task.layer):
            idx = np.flatnonzero(cell.cuts[sl])
            if len(idx):  # as `split._rows` orients `split_cell`'s unit rows
                norms = row_norms(H)[idx]
                sgn = np.where(s[idx], -1.0, 1.0)
                parts_A.append((H[idx] / norms[:, None]) * sgn[:, None])
                parts_c.append(-(g[idx] / norms) * sgn)
        light = Cell(np.vstack(parts_A), np.concatenate(parts_c), cell.point, cell.radius, cell.wit_points,
                     cell.wit_radii, self.box, bounds=self.box if self.boxed else None, cuts=cell.cuts)
        return Task(task.layer, light, task.M, task.m, task.pattern, task.ranks, task.partial, task.Mabs)

    def finish(self, batch: "Batch", stats: "Stats", core_lifted: "Batch | None" = None) -> "Batch":
        """Finished regions as the user sees them: mapped back from a lifted problem, every
        interior point checked against a float64 forward pass (and moved by one LP where it
        disagrees), and the borderline ones counted; last, a reduced problem's mapped back to
        the input space and checked there (`reduction.Reduction.up`). ``core_lifted``: regions
        of a lifted problem that the compiled core already gave in x-space (in units of the
        lift's length)."""
        network, domain, rule = self.network, self.domain, self.rule
        if self.lift is not None:
            batch = self.lift.down(batch)
            if core_lifted is not None:
                net = self.lift.network
                batch = Batch.concat([batch, self.lift.from_core(core_lifted)], net.n_hidden, net.input_dim,
                                     len(net.widths))
            network, domain, rule = self.lift.network, self.lift.domain, self.lift.rule
        batch = verify_points(network, domain, batch, rule, stats)
        if self.boxed:
            batch = _recentre(network, domain, batch, rule)
        if self.reduction is not None:  # to the input space: checked and counted there
            return self.reduction.up(batch, stats)
        stats.borderline += borderline_count(batch.points, batch.radii, self.tol)
        return batch


def _check_range(net: Network, box) -> None:
    """Refuse a bounded domain on which the network's pre-activations could overflow float64:
    a bound of their magnitude (``|W| u + |b|`` layer by layer from the box's largest
    coordinates ``u``) that is not finite. Nothing computed there could be trusted."""
    reach = np.maximum(np.abs(box[0]), np.abs(box[1]))
    u = reach
    with np.errstate(over="ignore", invalid="ignore"):
        for W, b in zip(net.weights, net.biases):
            u = np.abs(W) @ u + np.abs(b)
            if not np.all(np.isfinite(u)):
                raise DomainError(
                    f"the domain reaches {float(np.max(reach)):.3g}, where the network's values can exceed "
                    "float64's range; use a smaller domain (the whole space, nncells.Space(), holds every region)")


def network_length(net: Network) -> float:
    """A length the network itself defines (it scales with the input units): the largest distance
    from the origin to a neuron's hyperplane, on the origin's region, over all layers; 1 for a
    network without any (positively homogeneous: no length at all). A power of two."""
    x = np.zeros(net.input_dim)
    G, h = net.region_halfspaces(net.pattern(x[None, :])[0])
    n = np.linalg.norm(G, axis=1)
    ok = n > 0
    dist = np.abs(h[ok]) / n[ok]
    dist = dist[np.isfinite(dist) & (dist > 0)]
    if len(dist) == 0:
        return 1.0
    return power_of_two(float(np.max(dist)))


def verify_points(network: Network, domain: Domain, batch: "Batch", rule: Rule, stats: "Stats") -> "Batch":
    """Check that every point has its pattern in a float64 forward pass; move those that do not
    to the region's deepest point (one LP in the region's own units), and drop a region whose
    LP finds no such point (it does not count under the contract). Counted in ``stats``."""
    if len(batch) == 0 or network.n_hidden == 0:
        return batch
    bad = np.flatnonzero(np.any(network.pattern(batch.points) != batch.patterns, axis=1))
    if len(bad) == 0:
        return batch
    stats.repaired += len(bad)
    return redo_points(network, domain, batch, rule, stats, bad)[0]


def redo_points(network: Network, domain: Domain, batch: "Batch", rule: Rule, stats: "Stats", todo):
    """``(batch, dropped)``: each region ``todo`` (indices) with its deepest point by ``rule``
    (one LP over the domain's and its pattern's half-spaces) when that point has the pattern in a
    float64 forward pass and lies in the domain; otherwise dropped (it does not count under the
    contract; the last layer's count in ``stats`` less one)."""
    points, radii = batch.points.copy(), batch.radii.copy()
    alive = np.ones(len(batch), dtype=bool)
    DA, Db = domain.halfspaces()
    for i in todo:
        G, h = network.region_halfspaces(batch.patterns[i])
        rows = unit_rows(np.vstack([DA, G]), np.concatenate([Db, h]))
        x, r = rule.deepest(*rows) if rows is not None else (None, 0.0)
        if (x is not None and np.array_equal(network.pattern(x[None, :])[0], batch.patterns[i])
                and domain.contains(x[None, :])[0]):
            points[i], radii[i] = x, r
        else:
            alive[i] = False
            if stats.per_layer:
                stats.per_layer[-1] -= 1
    out = Batch(batch.patterns[alive], points[alive], radii[alive], batch.ranks[alive])
    return out, int(np.count_nonzero(~alive))


def _recentre(network: Network, domain: Box, batch: "Batch", rule: Rule) -> "Batch":
    """Regions of a box whose point proves the rule by less than the borderline margin (LP mode
    in a box finds points of the cell shrunk by about the threshold, `geometry.box_depth`, moved
    toward known deep points: a few stay near a face) get a point twice the borderline margin
    deep (one shrunk-box LP, `box_depth.point_at_depth`), or else the region's deepest point (the
    exact LP), so that only truly thin regions are reported as borderline."""
    thin = np.flatnonzero(margins(batch.points, batch.radii) < _config.BORDERLINE * rule.tol)
    if len(thin) == 0:
        return batch
    points, radii = batch.points.copy(), batch.radii.copy()
    bounds = (domain.lo, domain.hi)
    want = 2 * _config.BORDERLINE * rule.tol * box_depth.box_reach(domain.lo, domain.hi)
    for i in thin:
        rows = unit_rows(*network.region_halfspaces(batch.patterns[i]))
        if rows is None:
            continue
        x, r = box_depth.point_at_depth(*rows, bounds, want)
        if x is None:
            x, r = rule.deepest(*rows, bounds=bounds)
        if x is not None and r > radii[i] and np.array_equal(network.pattern(x[None, :])[0], batch.patterns[i]):
            points[i], radii[i] = x, r
    return Batch(batch.patterns, points, radii, batch.ranks)


def prefix_ids(patterns: np.ndarray, end: int) -> np.ndarray:
    """For each pattern, the index of its prefix ``patterns[:, :end]`` among the distinct prefixes
    (numbered in lexicographic order): the region of that layer's partition holding it."""
    if end == 0 or patterns.shape[1] == 0 or len(patterns) == 0:
        return np.zeros(len(patterns), dtype=np.int64)
    _, ids = np.unique(np.packbits(patterns[:, :end], axis=1), axis=0, return_inverse=True)
    return ids.reshape(-1)


def _rank(M: np.ndarray) -> int:
    if M.size == 0 or not np.any(M):
        return 0
    return int(np.linalg.matrix_rank(M))


def _prefix_map(net: Network, pattern: np.ndarray, layer: int):
    """The map to the output of hidden layer ``layer - 1`` on the region of ``pattern``, computed
    with the same operations as `_children` (so bit for bit the same), and its bound ``Mabs``."""
    M, m, Mabs = None, np.zeros(net.input_dim), None  # (None: the identity, `_pull`)
    for H, g, Habs, s, _ in _pullbacks(net, pattern, layer):
        M, m, Mabs = H * s[:, None], g * s, Habs * s[:, None]
    return M, m, Mabs


def _pull(W, b, M, m, Mabs):
    """``(H, g, Habs)``: the pre-activations ``H x + g`` of the layer ``(W, b)`` on top of the map
    ``x -> M x + m`` (bound ``Mabs``), and their bound. ``M`` None is the identity: the first
    layer's are its own weights (the values of ``W @ I``, without a ``d x d`` product: 784 inputs)."""
    if M is None:
        return W + 0.0, W @ m + b, np.abs(W)
    return W @ M, W @ m + b, np.abs(W) @ Mabs


def _pullbacks(net: Network, pattern: np.ndarray, layer: int):
    """For each hidden layer before ``layer``: its pre-activations ``H x + g`` on the region of
    ``pattern``, their bound ``Habs`` (`_pull`), the layer's signs and slice."""
    M, m, Mabs = None, np.zeros(net.input_dim), None
    for W, b, sl in zip(net.weights[:layer], net.biases[:layer], net.layer_slices[:layer]):
        H, g, Habs = _pull(W, b, M, m, Mabs)
        s = pattern[sl]
        yield H, g, Habs, s, sl
        M, m, Mabs = H * s[:, None], g * s, Habs * s[:, None]


def _inner_terms(net: Network, layer: int) -> int:
    """Terms summed along a path to layer ``layer``'s pre-activations (for `contract.gamma`)."""
    return net.input_dim + sum(net.widths[:layer]) + 1


def _children(problem: Problem, task: Task, t_end: float = float("inf")):
    """``(children, partial tasks)`` of ``task`` cut by layer ``task.layer``."""
    net = problem.network
    task = problem.unpack(task)
    if task.m is None:  # (a task from a frontier: its map is rebuilt)
        task.M, task.m, task.Mabs = _prefix_map(net, task.pattern, task.layer)
    H, g, Habs = _pull(net.weights[task.layer], net.biases[task.layer], task.M, task.m, task.Mabs)
    # A normal is zero only when every entry is within the forward error bound of W @ M.
    within = np.abs(H) <= gamma(_inner_terms(net, task.layer)) * Habs
    n = problem.rule.lifted_dim
    if n is None:
        zero, const = np.all(within, axis=1), g
    else:  # lifted (y, t): constant in x = y / t when the y part is zero; then it is H_t t, t > 0
        zero = np.all(within[:, :n], axis=1)
        const = np.where(zero, H[:, n], g)
    linear = net.linear[task.layer]
    if linear.any():  # a linear unit never cuts: it is decided as a constant, always active
        zero, const = zero | linear, np.where(linear, 1.0, const)
    out = []
    kids, leftovers = split_cell(task.cell, H, const, problem.rule, zero, task.partial, t_end)
    partial = [Task(task.layer, S, task.M, task.m, task.pattern, task.ranks, (s, rest), task.Mabs)
               for S, s, rest in leftovers]
    for child in kids:
        cell = refine(problem.domain, child.cell, problem.rule, problem.lift)
        if cell is None:
            continue
        s = child.signs
        M, m = H * s[:, None], g * s
        if task.cell.cuts is not None:
            cell.cuts = None if child.cuts is None else np.concatenate([task.cell.cuts, child.cuts])
        out.append(Task(task.layer + 1, cell, M, m, np.concatenate([task.pattern, s]),
                        task.ranks + (_rank(M),), Mabs=Habs * s[:, None]))
    return out, partial


def run_task(problem: Problem, task, budget_s: float = float("inf")):
    """Refine ``task`` (a `Task` or a list of them) depth-first through all remaining layers.

    Vertex-mode tasks, and LP-mode tasks of a box, run in the compiled core (`engine.compiled`,
    `engine.lp_core`) unless the backend is numpy; the splits it defers (an LP must decide a
    child) and everything else run here.

    Returns ``(batch, pending, stats)``: the finished regions, the tasks left unexplored when
    ``budget_s`` seconds ran out (empty when it finished), and counters. With ``problem.facets``
    ``stats.facets`` holds the facets of the regions the core finished; the regions below a split
    settled here in numpy have none (their cells' rows are of unknown origin to the core).
    """
    n_layers = len(problem.network.widths)
    stack = list(task) if isinstance(task, list) else [task]
    stats = Stats(per_layer=[0] * n_layers, tasks=len(stack))
    lp0, undecided0, fallbacks0 = solvers.lp_count(), undecided_count(), box_depth.fallback_count()
    t_end = time.perf_counter() + budget_s
    core = compiled.core_for(problem) or lp_core.core_for(problem)
    rows, batches, core_batches = [], [], []
    first = True
    while stack:
        now = time.perf_counter()
        if now > t_end and not first:  # at least one step, whatever the budget: progress
            break
        first = False
        mine = [t for t in stack if core.takes(t)] if core is not None else []
        if mine:
            stack = [t for t in stack if not core.takes(t)]
            batch, per_layer, pending, deferred, fallback, fac = core.refine(mine, max(t_end - now, 0.0))
            core_batches.append(batch)
            if fac is not None:
                stats.facets.append(fac)
            stats.per_layer = [a + int(b) for a, b in zip(stats.per_layer, per_layer)]
            stack.extend(pending)
            # an LP decides a child, or qhull found no vertices: this layer's split in numpy
            for t in deferred + fallback:
                kids, partial = _children(problem, t, t_end)
                stats.per_layer[t.layer] += len(kids)
                stack.extend(partial)
                for k in kids:
                    (rows if k.layer == n_layers else stack).append(k)
            continue
        t = stack.pop()
        if t.layer == n_layers:
            rows.append(t)
            continue
        kids, partial = _children(problem, t, t_end)
        stats.per_layer[t.layer] += len(kids)
        stack.extend(partial)
        stack.extend(reversed(kids))
    d = problem.network.input_dim
    n_hidden = problem.network.n_hidden
    if rows:
        batches.append(Batch(np.array([t.pattern for t in rows], dtype=bool).reshape(len(rows), n_hidden),
                             np.array([t.cell.point for t in rows]),
                             np.array([t.cell.radius for t in rows]),
                             np.array([t.ranks for t in rows], dtype=np.int64).reshape(len(rows), n_layers)))
    core_lifted = None
    if core is not None and core.lifted_d >= 0:  # the core's regions are already in x-space
        core_lifted = Batch.concat(core_batches, n_hidden, core.lifted_d, n_layers)
    else:
        batches += core_batches
    batch = Batch.concat(batches, n_hidden, d, n_layers)
    stats.by_worker = {os.getpid(): len(batch) + (0 if core_lifted is None else len(core_lifted))}
    batch = problem.finish(batch, stats, core_lifted)
    if problem.count_only:
        batch = batch.counted()
    stats.lp_solves = solvers.lp_count() - lp0
    stats.lp_fallbacks = box_depth.fallback_count() - fallbacks0
    stats.borderline += undecided_count() - undecided0  # LP answers float64 could not settle
    with many_records():
        pending = [t.pack() for t in stack]
    return batch, pending, stats
