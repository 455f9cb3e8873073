"""The records the engine works with: cells (half-spaces, an interior ball, witnesses, and in
vertex mode vertices with the half-spaces each lies on), tasks, batches of finished regions and
counters."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np


@contextmanager
def many_records():
    """Python's cyclic garbage collector paused while many records are made at once (the tasks
    of 65,536 first-layer cells at 784-16-16-10): none of them forms a cycle, and each of the
    collector's passes would walk every live object (there, a seventh of the root task's time).

    Examples
    --------
    >>> with many_records():
    ...     tasks = [Cell(None, None, np.zeros(2), 1.0, np.zeros((0, 2)), np.zeros(0)) for _ in range(3)]
    >>> len(tasks), gc.isenabled()
    (3, True)
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class Cell:
    """A full-dimensional cell: half-spaces ``A x <= c`` (unit rows), an interior ball, witnesses."""

    A: np.ndarray
    c: np.ndarray
    point: np.ndarray
    radius: float
    wit_points: np.ndarray  # (w, d) centres of balls inside the cell
    wit_radii: np.ndarray   # (w,)
    box: tuple | None = None  # (lo, hi) containing the cell, or None
    vertices: np.ndarray | None = None  # (v, d) vertices of a bounded cell, when known
    active: np.ndarray | None = None    # (v, rows of A) bool: which half-spaces each vertex lies on
    vmag: np.ndarray | None = None      # (v, d) magnitudes of the numbers each vertex was computed from
    labels: np.ndarray | None = None    # (rows of A,) int64: where each row came from, when the compiled
    #                                     core's facets mode handed the cell back (`kernels.vertex.refine`)
    bounds: tuple | None = None  # (lo, hi): the cell also lies in this box, whose faces bound it (LP mode
    #                              in a box: the box is kept once, as bounds, not as rows of A)
    cuts: np.ndarray | None = None  # (hidden neurons so far,) bool: the neurons whose hyperplanes are rows
    #                                 of A after the domain's (in order): the rows can be rebuilt (`Task.pack`)
    basis: np.ndarray | None = None  # int8: a final basis of a shrunk-box LP over exactly these rows, a warm
    #                                  start for the compiled LP mode (`engine.lp_core`); kept in frontiers so
    #                                  that a task gives the same LPs wherever a time budget cut the run


@dataclass
class Child:
    signs: np.ndarray  # bool (k,): True where h_i > 0 on the child
    cell: Cell
    cuts: np.ndarray | None = None  # bool (k,): the hyperplanes that are rows of the child's cell (LP mode)


@dataclass
class Task:
    """A region after ``layer`` hidden layers, waiting for layer ``layer``'s neurons."""

    layer: int
    cell: Cell
    M: np.ndarray | None  # map from the input to the previous layer's output: x -> M x + m (None at layer 0: the identity)
    m: np.ndarray | None  # None in a frontier task: rebuilt when it runs
    pattern: np.ndarray  # bool prefix over the hidden layers applied so far
    ranks: tuple        # rank of the map to each applied layer's output
    partial: tuple | None = None  # (signs, rest): a sub-cell part-way through layer ``layer``'s split
    Mabs: np.ndarray | None = None  # |W_l| ... |W_1| along the active paths: bounds |M| and its error

    def pack(self) -> "Task":
        """A smaller copy for the frontier: point, pattern, and half-spaces and vertices (when
        known: qhull would find them less accurately and more slowly); the affine map is rebuilt
        (bit for bit the same map) when the task runs. A cell of LP mode is *light*: its rows are
        left out too (``A`` and ``c`` None), with the domain and its box, and rebuilt from the
        network, the pattern and ``cuts`` (`Problem.unpack`): ``O(d + hidden neurons)`` numbers
        a task, not ``O(d^2)``."""
        c = self.cell
        if c.vertices is None and c.cuts is not None and self.partial is None:
            light = Cell(None, None, c.point, c.radius, c.wit_points[:0], c.wit_radii[:0], cuts=c.cuts,
                         basis=c.basis)
        else:
            light = Cell(c.A, c.c, c.point, c.radius, c.wit_points[:0], c.wit_radii[:0], c.box,
                         c.vertices, c.active, c.vmag, c.labels, c.bounds, c.cuts)
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

    def counted(self) -> "Batch":
        """As many regions with no data (what a worker of a count-only run sends back)."""
        n = len(self)
        return Batch(np.zeros((n, 0), dtype=bool), np.zeros((n, 0)), np.zeros(n), np.zeros((n, 0), dtype=np.int64))

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
    lp_fallbacks: int = 0  # decisions the shrunk-box LP left to the exact one (`geometry.box_depth`)
    per_layer: list = field(default_factory=list)  # regions created at each hidden layer
    tasks: int = 0
    by_worker: dict = field(default_factory=dict)  # process id -> finished regions
    borderline: int = 0   # regions whose certified margin is within _config.BORDERLINE x the threshold
    repaired: int = 0     # interior points moved because the forward pass disagreed with the pattern
    # with `Problem.facets`: per call of the compiled core, the facets of the regions it finished,
    # ``(packed patterns, facet_start, facet_group, facet_label, facet_flag)`` (`kernels.vertex.refine`)
    facets: list = field(default_factory=list)

    def add(self, other: "Stats"):
        self.lp_solves += other.lp_solves
        self.lp_fallbacks += other.lp_fallbacks
        self.tasks += other.tasks
        self.borderline += other.borderline
        self.repaired += other.repaired
        self.facets.extend(other.facets)
        for pid, n in other.by_worker.items():
            self.by_worker[pid] = self.by_worker.get(pid, 0) + n
        if len(self.per_layer) < len(other.per_layer):
            self.per_layer += [0] * (len(other.per_layer) - len(self.per_layer))
        for i, v in enumerate(other.per_layer):
            self.per_layer[i] += v
