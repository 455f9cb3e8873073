"""The public entry point `enumerate_regions` and its in-memory result."""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .domain import Domain, Space
from .engine import DEFAULT_TOL, Batch, Problem, Stats, run_task
from .errors import NNCellsError
from .network import Network


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

    def __init__(self, network: Network, domain: Domain, batch: Batch, stats: Stats, seconds: float):
        order = canonical_order(batch.patterns)
        self.network = network
        self.domain = domain
        self.patterns = batch.patterns[order]
        self.points = batch.points[order]
        self.radii = batch.radii[order]
        self.ranks = batch.ranks[order]
        self.per_layer = list(stats.per_layer)
        self.lp_solves = int(stats.lp_solves)
        self.seconds = float(seconds)

    @property
    def count(self) -> int:
        return len(self.radii)

    def __len__(self):
        return self.count

    def layer_ids(self, layer: int) -> np.ndarray:
        """For every final region, the index of its ancestor in hidden layer ``layer``'s partition
        (ancestors numbered in canonical order of their pattern prefixes)."""
        end = self.network.layer_slices[layer].stop
        prefixes = np.packbits(self.patterns[:, :end], axis=1)
        _, ids = np.unique(prefixes, axis=0, return_inverse=True)
        return ids.reshape(-1)

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

    def halfspaces(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Half-spaces ``G x <= h`` of region ``i``, the domain's included."""
        G, h = self.network.region_halfspaces(self.patterns[i])
        A, b = self.domain.halfspaces()
        return np.vstack([A, G]), np.concatenate([b, h])

    def summary(self) -> dict:
        return {
            "network": repr(self.network),
            "domain": self.domain.to_dict(),
            "regions": self.count,
            "per_layer": self.per_layer,
            "lp_solves": self.lp_solves,
            "lp_per_region": self.lp_solves / max(self.count, 1),
            "seconds": self.seconds,
            "regions_per_second": self.count / self.seconds if self.seconds > 0 else None,
        }

    def to_parquet(self, path) -> None:
        from .store import write_regions
        write_regions(path, self)


def enumerate_regions(network: Network, domain: Domain | None = None, *, tol: float = DEFAULT_TOL,
                      progress=None) -> EnumerationResult:
    """Enumerate every full-dimensional activation region of ``network`` inside ``domain``.

    Parameters
    ----------
    network : the ReLU network.
    domain : `Box`, `Polytope` or `Space` (default: the whole input space).
    tol : regions whose inscribed radius is at most ``tol * domain.scale`` are slivers, not
        regions (see docs/numerics.md).
    progress : optional callable ``progress(regions_found)`` called as regions are found.
    """
    if not isinstance(network, Network):
        raise NNCellsError(f"expected a Network, got {type(network).__name__}")
    domain = Space() if domain is None else domain
    if not (tol > 0 and np.isfinite(tol)):
        raise NNCellsError(f"tolerance must be a positive number, got {tol}")
    t0 = time.perf_counter()
    problem = Problem.make(network, domain, tol)
    n_layers = len(network.widths)
    stats = Stats(per_layer=[0] * n_layers)
    batches = []
    root = problem.root_task()
    if root is None:
        raise NNCellsError("the domain has no interior")
    stack = [root]
    found = 0
    while stack:
        batch, pending, st = run_task(problem, stack.pop(), budget_s=0.5 if progress else float("inf"))
        stack.extend(pending)
        stats.add(st)
        batches.append(batch)
        found += len(batch)
        if progress is not None:
            progress(found)
    batch = Batch.concat(batches, network.n_hidden, network.input_dim, n_layers)
    return EnumerationResult(network, problem.domain, batch, stats, time.perf_counter() - t0)
