"""The in-memory result of an enumeration (`EnumerationResult`), its regions and its JSON summary."""
from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, SupportsIndex, TypeVar, cast, overload

import numpy as np

from nncells.domains import Domain
from nncells.engine.tasks import Batch, Stats, prefix_ids
from nncells.errors import DomainError
from nncells.network import Network
from nncells.results.summary import brief_domain, certificate_summary, run_summary

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from os import PathLike

    import networkx as nx
    import numpy.typing as npt

    # packed patterns, their hash keys sorted, the permutation sorting them (`_lookup_table`)
    _Table = tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint64], npt.NDArray[np.intp]]

_T = TypeVar("_T")


@dataclass(frozen=True, eq=False)
class Region:
    """One activation region of the final partition (iterate over an `EnumerationResult`, or
    index it: ``result[i]``). Regions are equal when all their fields are (arrays compared
    element by element).

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

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Region):
            return NotImplemented
        return (self.index == other.index and self.radius == other.radius and self.parent == other.parent
                and all(np.array_equal(getattr(self, k), getattr(other, k)) for k in ("pattern", "point", "ranks")))


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
    shards: list[dict[str, Any]] = field(default_factory=list)
    tol: float | None = None
    backend: str = "numpy"
    facets: bool = False  # stats.facets holds the compiled core's facets of its regions (`Problem.facets`)
    reduced_dim: int | None = None  # the dimension the run was solved in, when reduced (`engine.reduction`)


class _Stored(Generic[_T]):
    """An array attribute of `EnumerationResult`: of a result read from disk (`from_stored`), read
    on first use."""

    def __set_name__(self, owner: type[EnumerationResult], name: str) -> None:
        self.key = "_" + name

    @overload
    def __get__(self, obj: None, objtype: type[EnumerationResult] | None = None) -> _Stored[_T]: ...
    @overload
    def __get__(self, obj: EnumerationResult, objtype: type[EnumerationResult] | None = None) -> _T: ...

    def __get__(self, obj: EnumerationResult | None,
                objtype: type[EnumerationResult] | None = None) -> _Stored[_T] | _T:
        if obj is None:
            return self
        obj._read()
        return cast("_T", obj.__dict__[self.key])

    def __set__(self, obj: EnumerationResult, value: _T) -> None:
        obj._read()
        obj.__dict__[self.key] = value


class EnumerationResult:
    """All regions of ``network`` in ``domain``, in canonical (pattern) order.

    ``patterns`` (n, n_hidden) bool has one bit per hidden unit; a linear (pass-through) unit's
    bit is always True (it cuts nothing, and ``halfspaces`` gives it the row ``0 <= 0``).

    A result is a sequence of `Region` objects: ``len(res)``, ``res[i]`` (negative ``i`` counts
    from the end) and ``for region in res``; `locate` finds the region of given points.
    `nncells.read_regions` reads one back from disk.

    Examples
    --------
    >>> import nncells
    >>> net = nncells.random_network([2, 5, 4, 1], seed=3)
    >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
    >>> res
    EnumerationResult(Network(2-5-4-1), Box(-1, 1, dim=2), 20 regions)
    >>> res.count == res.per_layer[-1] == len(res.points) == len(res)
    True
    >>> res[-1].index, bool((res[-1].pattern == res.patterns[-1]).all())
    (19, True)
    >>> A, c = res.affine_map(0)                 # the network on region 0: A x + c
    >>> bool(abs(net.forward(res.points[:1])[0] - (A @ res.points[0] + c)).max() < 1e-9)
    True
    >>> sorted(res.summary())[:3]
    ['backend', 'borderline', 'domain']
    """

    patterns: _Stored[npt.NDArray[np.bool_]] = _Stored()
    points: _Stored[npt.NDArray[np.float64]] = _Stored()
    radii: _Stored[npt.NDArray[np.float64]] = _Stored()
    ranks: _Stored[npt.NDArray[np.int64]] = _Stored()
    source_rows: _Stored[npt.NDArray[np.intp] | None] = _Stored()
    _count: int   # of a result read from disk: its number of regions (`from_stored`)

    def __init__(self, network: Network, domain: Domain, batch: Batch, stats: Stats, seconds: float,
                 info: RunInfo | None = None):
        # of a result read from disk: reads its regions (`from_stored`)
        self._load: Callable[[], dict[str, Any]] | None = None
        order = canonical_order(batch.patterns)
        self.source_rows = None   # of a result read from disk: region i's row there
        self.certificate: dict[str, Any] | None = None   # what `certify` found, when asked (reported in the summary)
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
        # name -> (the patterns it was computed from, value): `_cached`
        self._cache: dict[str, tuple[np.ndarray, Any]] = {}

    def __repr__(self) -> str:
        n = self.count
        return f"EnumerationResult({self.network!r}, {brief_domain(self.domain)}, {n} region{'' if n == 1 else 's'})"

    def _cached(self, name: str, make: Callable[[], _T]) -> _T:
        """``make()``, computed once per ``patterns`` array (recomputed if it is replaced)."""
        hit = self._cache.get(name)
        if hit is None or hit[0] is not self.patterns:
            hit = self._cache[name] = (self.patterns, make())
        return cast("_T", hit[1])

    def _read(self) -> None:
        """Read the regions of a result from disk (`from_stored`), if not yet read."""
        load = self.__dict__.get("_load")
        if load is not None:
            self._load = None
            whole = EnumerationResult.from_regions(self.network, self.domain, load())
            for k in ("patterns", "points", "radii", "ranks", "source_rows"):
                self.__dict__["_" + k] = getattr(whole, k)

    def __getstate__(self) -> dict[str, Any]:
        self._read()
        return self.__dict__

    @property
    def count(self) -> int:
        if self.__dict__.get("_load") is not None:
            return self._count
        return len(self.radii)

    def __len__(self) -> int:
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

    def _region_parents(self) -> np.ndarray:
        """For every region, its parent's index in the previous layer's partition (-1 for a
        network of at most one hidden layer)."""
        n_layers = len(self.network.widths)
        if n_layers <= 1 or self.count == 0:
            return np.full(self.count, -1, dtype=np.int64)
        return cast("np.ndarray", self.parents()[self.layer_ids(n_layers - 1)])

    def _region(self, i: int, parents: np.ndarray) -> Region:
        return Region(i, self.patterns[i], self.points[i], float(self.radii[i]), self.ranks[i], int(parents[i]))

    def __iter__(self) -> Iterator[Region]:
        parents = self._cached("parents", self._region_parents)
        for i in range(self.count):
            yield self._region(i, parents)

    def __getitem__(self, i: SupportsIndex) -> Region:
        """Region ``i`` (an integer; negative counts from the end).

        Raises
        ------
        IndexError
            If ``i`` is not in ``range(-len(self), len(self))``.
        TypeError
            If ``i`` is not an integer (slices are not supported: index the arrays instead).

        Examples
        --------
        >>> import nncells
        >>> res = nncells.enumerate_regions(nncells.random_network([2, 4, 3, 1], seed=1), nncells.Box(-1, 1), workers=1)
        >>> r = res[-1]
        >>> r.index == len(res) - 1, r.parent == int(res.parents()[res.layer_ids(1)[-1]])
        (True, True)
        >>> res[len(res)]
        Traceback (most recent call last):
        ...
        IndexError: region index 15 out of range for 15 regions
        """
        try:
            k = operator.index(i)
        except TypeError:
            raise TypeError(f"EnumerationResult indices must be integers, not {type(i).__name__}") from None
        n = self.count
        if not -n <= k < n:
            raise IndexError(f"region index {k} out of range for {n} region{'' if n == 1 else 's'}")
        return self._region(k % n, self._cached("parents", self._region_parents))

    def locate(self, X: npt.ArrayLike) -> npt.NDArray[np.int64] | int:
        """The index of the region holding each point: ``X`` (n, d) gives an int64 array (n,),
        one point (d,) an int.

        The region of a point is the region with the point's activation pattern
        (`nncells.network.Network.pattern`, the full pattern: linear units' bits True,
        max-pooling comparisons included), found in a hash table of the packed patterns. A point
        on a boundary between regions therefore belongs to the region of its pattern, in which a
        pre-activation of exactly 0 counts as inactive. The index is -1 for a point outside the
        domain (closed: its boundary is inside), with a NaN or infinite coordinate, or whose
        pattern is not among the regions (a sliver region not counted under the numerical
        contract, a lower-dimensional piece of a boundary, or the regions of an unfinished run).

        Raises
        ------
        NNCellsError
            If the points do not have the network's input dimension.

        Examples
        --------
        >>> import nncells
        >>> net = nncells.random_network([2, 5, 1], seed=0)
        >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
        >>> bool((res.locate(res.points) == np.arange(res.count)).all())
        True
        >>> res.locate([5.0, 0.0]), res.locate(res.points[3])
        (-1, 3)
        """
        X = np.asarray(X, dtype=np.float64)
        single = X.ndim == 1
        with np.errstate(invalid="ignore", over="ignore"):   # NaN and inf points: -1 below, no warning
            P = np.atleast_2d(self.network.pattern(X))   # checks the dimension
        X = np.atleast_2d(X)
        out = np.full(len(X), -1, dtype=np.int64)
        inside = np.isfinite(X).all(axis=1) & self.domain.contains(X)
        if self.count and inside.any():
            out[inside] = _lookup(self._cached("lookup", self._lookup_table), P[inside])
        return int(out[0]) if single else out

    def _lookup_table(self) -> _Table:
        """Packed patterns, their hash keys sorted, and the permutation sorting them."""
        from nncells.results.store import pattern_keys, pattern_words
        packed = np.packbits(self.patterns, axis=1)
        keys = pattern_keys(pattern_words(packed))
        order = np.argsort(keys, kind="stable")
        return packed, keys[order], order

    def affine_map(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """The network's affine map ``(A, c)`` on region ``i``."""
        return self.network.local_affine(self.patterns[i])

    def chebyshev(self, i: int) -> tuple[npt.NDArray[np.float64] | None, float]:
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

    def adjacency(self) -> dict[str, npt.NDArray[np.int64]]:
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

    def adjacency_graph(self) -> nx.Graph:
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

    def certify(self, max_failures: int = 20, complete: bool | None = None) -> dict[str, Any]:
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

    def summary(self) -> dict[str, Any]:
        info = self.info or RunInfo(
            self.count, Stats(self.lp_solves, self.lp_fallbacks, self.per_layer, borderline=self.borderline), self.seconds)
        out = run_summary(self.network, self.domain, info)
        if self.network.tournaments:
            out["argmax_regions"] = self.argmax_regions()
        if self.certificate is not None:
            out["certified"] = certificate_summary(self.certificate)
        return out

    @classmethod
    def from_regions(cls, network: Network, domain: Domain, regions: dict[str, Any]) -> EnumerationResult:
        """The result of a run read back from disk: ``regions`` is what `read_arrays` returns for
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
        >>> res = EnumerationResult.from_regions(net, nncells.Box(-1, 1), nncells.read_arrays(out))
        >>> res.count == nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1).count
        True
        >>> res.domain.dim, res.certify()["closed"]
        (3, True)
        >>> EnumerationResult.from_regions(net, nncells.Box(-1, 1, dim=2), nncells.read_arrays(out))
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

    @classmethod
    def from_stored(cls, network: Network, domain: Domain, count: int, meta: dict[str, Any],
                    load: Callable[[], dict[str, Any]]) -> EnumerationResult:
        """A result whose ``count`` regions are read by ``load()`` (a `from_regions` dict) when one
        of its arrays is first used; ``meta``: the run's metadata (``per_layer``, ``seconds``).

        Examples
        --------
        >>> import nncells
        >>> net = nncells.random_network([2, 3, 1], seed=0)
        >>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
        >>> calls = []
        >>> def load():
        ...     calls.append(1)
        ...     return {"patterns": res.patterns, "points": res.points, "radii": res.radii, "ranks": res.ranks}
        >>> lazy = EnumerationResult.from_stored(net, nncells.Box(-1, 1), res.count, {}, load)
        >>> len(lazy) == res.count, calls
        (True, [])
        >>> bool((lazy.patterns == res.patterns).all()), calls
        (True, [1])
        """
        empty = {"patterns": np.zeros((0, network.n_hidden), bool), "points": np.zeros((0, network.input_dim)),
                 "radii": np.zeros(0), "ranks": np.zeros((0, len(network.widths)), np.int64), "meta": meta}
        res = cls.from_regions(network, domain, empty)
        res._count, res._load = int(count), load
        return res

    def to_parquet(self, path: str | PathLike[str]) -> None:
        from nncells.results.store import write_regions
        write_regions(path, self)


def _lookup(table: _Table, P: np.ndarray) -> npt.NDArray[np.int64]:
    """Index of each pattern of ``P`` among the table's patterns (`EnumerationResult._lookup_table`),
    -1 where absent. Keys of more than 64 bits are hashes: equal keys are confirmed byte by byte,
    and a run of equal keys (a collision) is searched in full."""
    from nncells.results.store import pattern_keys, pattern_words
    packed, keys, order = table
    qp = np.packbits(P, axis=1)
    qk = pattern_keys(pattern_words(qp))
    pos = np.minimum(np.searchsorted(keys, qk), len(keys) - 1)
    cand = order[pos]
    same_key = keys[pos] == qk
    found = same_key & (packed[cand] == qp).all(axis=1)
    out = np.where(found, cand, -1)
    for j in np.flatnonzero(same_key & ~found):   # a hash collision: look through the run
        p = pos[j] + 1
        while p < len(keys) and keys[p] == qk[j]:
            if (packed[order[p]] == qp[j]).all():
                out[j] = order[p]
                break
            p += 1
    return out
