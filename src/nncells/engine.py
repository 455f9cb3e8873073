"""Layer-wise refinement: cells of the first layer, then each cell cut by the next layer's
neurons pulled back through its affine map (Drammis et al. 2024, arXiv:2403.00860).

The unit of work is a `Task`: a region of some layer's partition with the layers still to
apply. `run_task` refines it depth-first and returns finished regions, plus unexplored tasks
when it runs past its budget, so any executor can schedule tasks (serial, processes, Dask).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import numpy as np

from . import lp
from .cells import Cell, split_cell
from .domain import Domain
from .network import Network

DEFAULT_TOL = 1e-7


@dataclass
class Task:
    """A region after ``layer`` hidden layers, waiting for layer ``layer``'s neurons."""

    layer: int
    cell: Cell
    M: np.ndarray       # map from the input to the previous layer's output: x -> M x + m
    m: np.ndarray
    pattern: np.ndarray  # bool prefix over the hidden layers applied so far
    ranks: tuple        # rank of the map to each applied layer's output
    partial: tuple | None = None  # (signs, rest): a sub-cell part-way through layer ``layer``'s split

    def pack(self) -> "Task":
        """A small copy for the frontier: half-spaces, point and pattern only; the vertices and
        the affine map are rebuilt (bit for bit the same map) when the task runs."""
        c = self.cell
        light = Cell(c.A, c.c, c.point, c.radius, c.wit_points[:0], c.wit_radii[:0], c.box)
        return Task(self.layer, light, None, None, self.pattern, self.ranks, self.partial)


@dataclass
class Batch:
    """Finished regions, as arrays (one row per region)."""

    patterns: np.ndarray  # (n, n_hidden) bool
    points: np.ndarray    # (n, d)
    radii: np.ndarray     # (n,)
    ranks: np.ndarray     # (n, n_layers) int

    def __len__(self):
        return len(self.radii)

    @staticmethod
    def concat(batches, n_hidden, d, n_layers) -> "Batch":
        batches = [b for b in batches if len(b)]
        if not batches:
            return Batch(np.zeros((0, n_hidden), bool), np.zeros((0, d)), np.zeros(0),
                         np.zeros((0, n_layers), np.int64))
        return Batch(*(np.concatenate([getattr(b, f) for b in batches])
                       for f in ("patterns", "points", "radii", "ranks")))


@dataclass
class Stats:
    lp_solves: int = 0
    per_layer: list = field(default_factory=list)  # regions created at each hidden layer
    tasks: int = 0
    by_worker: dict = field(default_factory=dict)  # process id -> finished regions

    def add(self, other: "Stats"):
        self.lp_solves += other.lp_solves
        self.tasks += other.tasks
        for pid, n in other.by_worker.items():
            self.by_worker[pid] = self.by_worker.get(pid, 0) + n
        if len(self.per_layer) < len(other.per_layer):
            self.per_layer += [0] * (len(other.per_layer) - len(self.per_layer))
        for i, v in enumerate(other.per_layer):
            self.per_layer[i] += v


@dataclass(frozen=True)
class Problem:
    """What every task needs besides its own region: the network, the domain, the tolerances."""

    network: Network
    domain: Domain
    tol: float
    cap: float

    @classmethod
    def make(cls, network: Network, domain: Domain, tol: float = DEFAULT_TOL) -> "Problem":
        domain = domain.resolve(network.input_dim)
        scale = domain.scale
        return cls(network, domain, tol * scale, scale)

    def root_task(self) -> Task | None:
        """The task for the whole domain (None if the domain has no interior)."""
        d = self.network.input_dim
        A, c = self.domain.halfspaces()
        norms = np.linalg.norm(A, axis=1)
        A, c = A / norms[:, None], c / norms
        x, r = lp.chebyshev_center_normalized(A, c, self.cap) if len(A) else (np.zeros(d), self.cap)
        if x is None or r <= self.tol:
            return None
        cell = Cell(A, c, x, r, np.zeros((0, d)), np.zeros(0), self.domain.bounds())
        return Task(0, cell, np.eye(d), np.zeros(d), np.zeros(0, dtype=bool), ())


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
    with the same operations as `_children` (so bit for bit the same)."""
    d = net.input_dim
    M, m = np.eye(d), np.zeros(d)
    for W, b, sl in zip(net.weights[:layer], net.biases[:layer], net.layer_slices[:layer]):
        H, g = W @ M, W @ m + b
        s = pattern[sl]
        M, m = H * s[:, None], g * s
    return M, m


def _children(problem: Problem, task: Task, t_end: float = float("inf")):
    """``(children, partial tasks)`` of ``task`` cut by layer ``task.layer``."""
    net = problem.network
    if task.M is None:
        task.M, task.m = _prefix_map(net, task.pattern, task.layer)
    W, b = net.weights[task.layer], net.biases[task.layer]
    H, g = W @ task.M, W @ task.m + b
    ref = np.linalg.norm(W, axis=1) * max(np.linalg.norm(task.M, 2), 1e-300)
    out = []
    kids, leftovers = split_cell(task.cell, H, g, problem.tol, problem.cap, ref, task.partial, t_end)
    partial = [Task(task.layer, S, task.M, task.m, task.pattern, task.ranks, (s, rest))
               for S, s, rest in leftovers]
    for child in kids:
        cell = problem.domain.refine_cell(child.cell, problem.tol)
        if cell is None:
            continue
        s = child.signs
        M, m = H * s[:, None], g * s
        out.append(Task(task.layer + 1, cell, M, m,
                        np.concatenate([task.pattern, s]), task.ranks + (_rank(M),)))
    return out, partial


def run_task(problem: Problem, task, budget_s: float = float("inf")):
    """Refine ``task`` (a `Task` or a list of them) depth-first through all remaining layers.

    Returns ``(batch, pending, stats)``: the finished regions, the tasks left unexplored when
    ``budget_s`` seconds ran out (empty when it finished), and counters.
    """
    n_layers = len(problem.network.widths)
    stack = list(task) if isinstance(task, list) else [task]
    stats = Stats(per_layer=[0] * n_layers, tasks=len(stack))
    lp0 = lp.lp_count()
    t_end = time.perf_counter() + budget_s
    rows = []
    while stack:
        if time.perf_counter() > t_end:
            break
        t = stack.pop()
        if t.layer == n_layers:
            rows.append(t)
            continue
        kids, partial = _children(problem, t, t_end)
        stats.per_layer[t.layer] += len(kids)
        stack.extend(partial)
        stack.extend(reversed(kids))
    stats.lp_solves = lp.lp_count() - lp0
    stats.by_worker = {os.getpid(): len(rows)}
    d = problem.network.input_dim
    n_hidden = problem.network.n_hidden
    if rows:
        batch = Batch(np.array([t.pattern for t in rows], dtype=bool).reshape(len(rows), n_hidden),
                      np.array([t.cell.point for t in rows]),
                      np.array([t.cell.radius for t in rows]),
                      np.array([t.ranks for t in rows], dtype=np.int64).reshape(len(rows), n_layers))
    else:
        batch = Batch.concat([], n_hidden, d, n_layers)
    return batch, [t.pack() for t in stack], stats
