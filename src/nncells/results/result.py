"""The in-memory result of an enumeration (`EnumerationResult`), its regions and its JSON summary."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nncells.domains import Domain
from nncells.engine.tasks import Batch, Stats, prefix_ids
from nncells.errors import DomainError
from nncells.network import Network


@dataclass(frozen=True)
class Region:
    """One activation region of the final partition (iterate over an `EnumerationResult`).

    Examples
    --------
    >>> import nncells
    >>> res = nncells.enumerate_regions(nncells.random_network([2, 3, 1], seed=0), nncells.Box(-1, 1), workers=1)
    >>> r = next(iter(res))
    >>> r.index, r.pattern.shape, bool(r.radius > 0)
    (0, (3,), True)
    """

    index: int
    pattern: np.ndarray  # bool over all hidden neurons (linear, pass-through units: always True)
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


@dataclass
class RunInfo:
    """Counters of a run (what the JSON summary reports)."""

    regions: int = 0
    stats: Stats = field(default_factory=Stats)
    seconds: float = 0.0
    executor: str = "serial"
    workers: int = 1
    method: str = "cells"
    shards: list = field(default_factory=list)
    tol: float | None = None
    backend: str = "numpy"
    facets: bool = False  # stats.facets holds the compiled core's facets of its regions (`Problem.facets`)
    reduced_dim: int | None = None  # the dimension the run was solved in, when reduced (`engine.reduction`)


class EnumerationResult:
    """All regions of ``network`` in ``domain``, in canonical (pattern) order.

    ``patterns`` (n, n_hidden) bool has one bit per hidden unit; a linear (pass-through) unit's
    bit is always True (it cuts nothing, and ``halfspaces`` gives it the row ``0 <= 0``).

    Examples
    --------
    >>> import nncells
    >>> net = nncells.random_network([2, 5, 4, 1], seed=3)
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    >>> res.count == res.per_layer[-1] == len(res.points)
    True
    >>> A, c = res.affine_map(0)                 # the network on region 0: A x + c
    >>> bool(abs(net.forward(res.points[:1])[0] - (A @ res.points[0] + c)).max() < 1e-9)
    True
    >>> sorted(res.summary())[:3]
    ['backend', 'borderline', 'domain']
    """

    def __init__(self, network: Network, domain: Domain, batch: Batch, stats: Stats, seconds: float,
                 info=None):
        order = canonical_order(batch.patterns)
        self.source_rows = None   # of a result read from disk: region i's row in the table read
        self.certificate = None   # what `certify` found, when asked (reported in the summary)
        self.network = network
        self.domain = domain
        self.patterns = batch.patterns[order]
        self.points = batch.points[order]
        self.radii = batch.radii[order]
        self.ranks = batch.ranks[order]
        self.per_layer = list(stats.per_layer)
        self.lp_solves = int(stats.lp_solves)
        self.lp_fallbacks = int(stats.lp_fallbacks)  # decisions left to the exact LP (LP mode in a box)
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
        from nncells.geometry.solvers import chebyshev_center
        A, b = self.halfspaces(i)
        cap = max(self.domain.scale, float(np.max(np.abs(self.points[i]), initial=0.0)),
                  float(self.radii[i]) if np.isfinite(self.radii[i]) else 0.0)
        return chebyshev_center(A, b, cap=cap)

    def halfspaces(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Half-spaces ``G x <= h`` of region ``i``, the domain's included."""
        G, h = self.network.region_halfspaces(self.patterns[i])
        A, b = self.domain.halfspaces()
        return np.vstack([A, G]), np.concatenate([b, h])

    def adjacency(self) -> dict:
        """Adjacent pairs ``i < j`` and the neurons that change sign between them (arrays ``i``,
        ``j``, ``neuron``); see `nncells.results.adjacency.adjacency`.

        Examples
        --------
        >>> import nncells
        >>> res = nncells.enumerate_regions(nncells.random_network([2, 4, 1], seed=0), nncells.Box(-1, 1), workers=1)
        >>> E = res.adjacency()
        >>> bool((E["i"] < E["j"]).all()), len(E["i"]) >= res.count - 1
        (True, True)
        """
        from nncells.results.adjacency import adjacency
        return adjacency(self)

    def adjacency_graph(self):
        """The dual graph as a `networkx.Graph` (nodes: regions with their ``pattern``; edges:
        adjacent pairs with the ``neurons`` changing sign between them).

        Examples
        --------
        >>> import networkx as nx, nncells
        >>> res = nncells.enumerate_regions(nncells.random_network([2, 4, 1], seed=0), nncells.Box(-1, 1), workers=1)
        >>> nx.is_connected(res.adjacency_graph())
        True
        """
        from nncells.results.adjacency import adjacency_graph
        return adjacency_graph(self)

    def certify(self, max_failures: int = 20, complete: bool | None = None) -> dict:
        """Prove every region exists (exact arithmetic) and check that the dual graph is closed,
        proving the facet sets complete where ``complete`` says; see
        `nncells.results.certify.certify` for what is proven and what is assumed.

        Examples
        --------
        >>> import nncells
        >>> res = nncells.enumerate_regions(nncells.random_network([2, 4, 1], seed=0), nncells.Box(-1, 1), workers=1)
        >>> c = res.certify()
        >>> c["exist"] == c["of"], c["closed"]
        (True, True)
        """
        from nncells.results.certify import certify
        return certify(self, max_failures, complete)

    def argmax_regions(self) -> int:
        """The number of *argmax* regions: where every unit keeps its sign and every max-pooling
        window its argmax. A window of more than two entries is a tournament of pairwise maxima
        whose comparisons of losing pairs also cut (`nncells.network_pieces`); regions whose
        patterns agree off those comparisons are pieces of one argmax region. Equal to `count`
        for a network without such windows. A region whose every piece is a sliver under the
        numerical contract is not counted (no piece is).

        Examples
        --------
        >>> import nncells
        >>> res = nncells.enumerate_regions(nncells.random_network([2, 4, 1], seed=0), nncells.Box(-1, 1), workers=1)
        >>> res.argmax_regions() == res.count
        True
        """
        if not self.network.tournaments or self.count == 0:
            return self.count
        return len(np.unique(self.network.argmax_patterns(self.patterns), axis=0))

    def summary(self) -> dict:
        info = self.info or RunInfo(
            self.count, Stats(self.lp_solves, self.lp_fallbacks, self.per_layer, borderline=self.borderline), self.seconds)
        out = run_summary(self.network, self.domain, info)
        if self.network.tournaments:
            out["argmax_regions"] = self.argmax_regions()
        if self.certificate is not None:
            out["certified"] = certificate_summary(self.certificate)
        return out

    @classmethod
    def from_regions(cls, network: Network, domain: Domain, regions: dict) -> "EnumerationResult":
        """The result of a run read back from disk: ``regions`` is what `read_regions` returns for
        a file or a sharded run's directory (or any dict of ``patterns``, ``points``, ``radii``,
        ``ranks``). ``source_rows[i]`` is region ``i``'s row there. ``domain`` is resolved against
        the network's input dimension (a scalar `Box` gets its dimension).

        Raises
        ------
        DomainError
            If ``domain`` is not a domain or has another dimension than the network's inputs.

        Examples
        --------
        >>> import os, tempfile, nncells
        >>> net = nncells.random_network([3, 6, 1], seed=2)
        >>> out = os.path.join(tempfile.mkdtemp(), "run")
        >>> _ = nncells.enumerate_to_dir(net, nncells.Box(-1, 1), out, workers=1)
        >>> res = EnumerationResult.from_regions(net, nncells.Box(-1, 1), nncells.read_regions(out))
        >>> res.count == nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1).count
        True
        >>> res.domain.dim, res.certify()["closed"]
        (3, True)
        >>> EnumerationResult.from_regions(net, nncells.Box(-1, 1, dim=2), nncells.read_regions(out))
        Traceback (most recent call last):
        ...
        nncells.errors.DomainError: box has dimension 2 but the network has 3 inputs
        """
        if not isinstance(domain, Domain):
            raise DomainError(f"expected a domain (Box, Polytope, Ball or Space), got {type(domain).__name__}")
        domain = domain.resolve(network.input_dim)   # a scalar box gets its dimension; a wrong one is refused
        batch = Batch(regions["patterns"], regions["points"], regions["radii"], regions["ranks"])
        meta = regions.get("meta", {})
        per_layer = meta.get("per_layer") or meta.get("summary", {}).get("per_layer") or [len(batch)]
        res = cls(network, domain, batch, Stats(per_layer=list(per_layer)), float(meta.get("seconds", 0.0)))
        res.source_rows = canonical_order(batch.patterns)
        return res

    def to_parquet(self, path) -> None:
        from nncells.results.store import write_regions
        write_regions(path, self)


def certificate_summary(cert: dict) -> dict:
    """The part of a certificate (`nncells.results.certify.certify`) the JSON summary reports."""
    keys = ("exist", "of", "closed", "open_facets", "exact_fallbacks", "complete_regions", "unproven_rows",
            "missed_facets", "thin_facets", "redundancy", "failures", "failures_total")
    return {k: cert[k] for k in keys if k in cert}


def run_summary(network, domain, info) -> dict:
    """The JSON summary of a run."""
    return {
        "network": repr(network),
        "linear_units": int(network.n_hidden - network.n_relu),
        "ignored_output_ops": list(network.ignored_output_ops),
        "domain": domain.to_dict(),
        "regions": int(info.regions),
        "per_layer": list(info.stats.per_layer),
        "tol": info.tol,
        "lp_solves": int(info.stats.lp_solves),
        "lp_per_region": info.stats.lp_solves / max(info.regions, 1),
        "lp_fallbacks": int(info.stats.lp_fallbacks),
        "borderline": int(info.stats.borderline),
        "repaired_points": int(info.stats.repaired),
        "seconds": info.seconds,
        "regions_per_second": info.regions / info.seconds if info.seconds > 0 else None,
        "method": info.method,
        "reduced_dim": getattr(info, "reduced_dim", None),
        "backend": info.backend,
        "executor": info.executor,
        "workers": info.workers,
        "tasks": info.stats.tasks,
        "shards": len(info.shards),
    }
