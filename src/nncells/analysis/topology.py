"""The topology of a classifier's decision regions: faces of every dimension and Betti numbers
over GF(2), exactly.

A class's *decision region* is the closed set ``{x in the domain : f_c(x) >= f_j(x) for all j}``
(lower-dimensional pieces included, where a class only ties for the maximum); the *decision
boundary* is the closed set where at least two classes tie for the maximum. Neither is a union of
the network's regions (a region's argmax can change inside it), so the network is first extended
by a *tournament* of its logits (`decision_network`): ``m_1 = f_1``, ``m_{k+1} = m_k + relu(f_{k+1}
- m_k)``, one comparison unit per class after the first, linear units carrying the rest. Its
regions refine the network's by where the maximum changes hands; the sign vector of a face over
the comparison units names the classes that reach the maximum there (`argmax_sets`), so every
decision region and the boundary are unions of closed faces (subcomplexes) of
`nncells.results.faces.face_poset`, and their homology is that of the subcomplex
(`nncells.analysis.homology`: ranks of boundary matrices over GF(2)). In the whole space the faces
are taken in a box holding every vertex (`vertex_box`), which keeps every such union's homotopy
type. `output_persistence` and `unit_persistence` filter the network's own faces by an output's
or a hidden unit's values.

Examples
--------
Class 0 of ``f_0 = 1 - |x_1| - |x_2|``, ``f_1 = 0`` is a diamond (a disk); the boundary is a circle:

>>> from nncells import Box, Network
>>> W1 = [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]
>>> net = Network([W1, [[-1.0, -1.0, -1.0, -1.0], [0.0, 0.0, 0.0, 0.0]]], [[0.0] * 4, [1.0, 0.0]])
>>> top = decision_topology(net, Box(-2.0, 2.0, dim=2), workers=1)
>>> top.betti, top.boundary_betti
({'0': [1, 0, 0], '1': [1, 1, 0]}, [1, 1, 0])
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nncells.analysis.homology import Persistence, persistence, subcomplex_betti_numbers
from nncells.api import enumerate_regions
from nncells.domains import Box, Space
from nncells.errors import NNCellsError
from nncells.network import Network
from nncells.results.adjacency import contract_tol
from nncells.results.faces import FacePoset, Merger, poset_part

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import numpy.typing as npt

    from nncells.domains import Domain
    from nncells.results.result import EnumerationResult

_PARALLEL_MIN = 2000   # regions below which the faces are found in this process


def faces(result: EnumerationResult, workers: int | None = None,
          progress: Callable[[int], object] | None = None) -> FacePoset:
    """`nncells.results.faces.face_poset` of ``result``, its regions shared among ``workers``
    processes (default: all cores; results of fewer than 2,000 regions stay in this process):
    each finds the faces of its regions (qhull, exact vertices, each region's checks), and the
    parts are merged, in order, by the faces' sign vectors and checked as one. The same poset.
    ``progress(regions_done)`` is called as parts finish.

    Examples
    --------
    >>> from nncells import Box, enumerate_regions, random_network
    >>> from nncells.results.faces import face_poset
    >>> res = enumerate_regions(random_network([2, 6, 4, 1], seed=0), Box(-1.0, 1.0, dim=2), workers=1)
    >>> seen = []
    >>> faces(res, workers=1, progress=seen.append).f_vector().tolist() == face_poset(res).f_vector().tolist()
    True
    >>> seen[-1] == len(res.patterns)
    True
    """
    from concurrent.futures import ProcessPoolExecutor, as_completed
    import os
    from nncells.run.executors import available_cores, process_context, stop_pool
    n = len(result.patterns)
    workers = available_cores() if workers is None else int(workers)
    if workers < 1:
        raise NNCellsError(f"workers must be at least 1, got {workers}")
    serial = workers == 1 or n < _PARALLEL_MIN
    chunks = np.array_split(np.arange(n), max(1 if serial else 4 * workers, -(-n // _PARALLEL_MIN)))
    merger, done = Merger(result), 0
    if serial:
        for c in chunks:
            merger.add(poset_part(result, c))
            done += len(c)
            if progress is not None:
                progress(done)
        return merger.poset()
    with ProcessPoolExecutor(workers, mp_context=process_context(), initializer=_init_worker,
                             initargs=(result, os.getpid())) as pool:
        try:                     # parts kept as they finish; merged in their order (`Merger`)
            futures = {pool.submit(_part_worker, c): i for i, c in enumerate(chunks)}
            for f in as_completed(futures):
                i = futures.pop(f)          # (a finished future holds its part: let it go)
                merger.add(f.result(), i)
                done += len(chunks[i])
                if progress is not None:
                    progress(done)
        except BaseException:
            stop_pool(pool)
            raise
    return merger.poset()


_worker_result: EnumerationResult | None = None


def _init_worker(result: EnumerationResult, driver_pid: int) -> None:
    global _worker_result
    from nncells.run.executors import worker_setup
    worker_setup(driver_pid)
    _worker_result = result


def _part_worker(regions: np.ndarray) -> dict[str, np.ndarray]:
    assert _worker_result is not None, "the pool's initializer sets it"
    return poset_part(_worker_result, regions)


def decision_network(net: Network) -> tuple[Network, np.ndarray]:
    """``net`` followed by a tournament of its logits, and the pattern positions of the
    tournament's comparison units (one per class after the first; the module's docstring).

    The new network's output is ``max_c f_c``; its hidden layers are ``net``'s, then the logits
    as linear units, then one layer per comparison.

    Examples
    --------
    >>> from nncells import Network
    >>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], [[0.0, 0.0], [0.0] * 3])
    >>> aug, units = decision_network(net)
    >>> aug, units.tolist()
    (Network(2-2-3-3-2-1, 6 linear units), [5, 8])
    >>> x = np.array([[0.3, 0.5], [2.0, -1.0]])
    >>> np.allclose(aug.forward(x)[:, 0], net.forward(x).max(axis=1))
    True
    """
    K = net.output_dim
    Ws = [np.asarray(W) for W in net.weights[:-1]]
    bs = [np.asarray(b) for b in net.biases[:-1]]
    lin = [np.asarray(m, dtype=bool) for m in net.linear]
    Ws.append(np.asarray(net.weights[-1]))
    bs.append(np.asarray(net.biases[-1]))
    lin.append(np.ones(K, dtype=bool))
    units, pos = [], net.n_hidden + K
    for k in range(1, K):
        # input: k == 1: [f_1 .. f_K]; else [relu(c_{k-1}), m_{k-1}, f_{k+1} .. f_K]
        n_in = K if k == 1 else K - k + 2
        rest = K - k - 1                           # f_{k+2} .. f_K, carried
        W = np.zeros((2 + rest, n_in))
        if k == 1:
            W[0, 0], W[0, 1], W[1, 0] = -1.0, 1.0, 1.0          # c_1 = f_2 - f_1, m_1 = f_1
            W[2:, 2:] = np.eye(rest)
        else:
            W[0, :3] = [-1.0, -1.0, 1.0]                         # c_k = f_{k+1} - m_{k-1} - relu(c_{k-1})
            W[1, :2] = [1.0, 1.0]                                # m_k = m_{k-1} + relu(c_{k-1})
            W[2:, 3:] = np.eye(rest)
        Ws.append(W)
        bs.append(np.zeros(2 + rest))
        lin.append(np.array([False] + [True] * (1 + rest)))
        units.append(pos)
        pos += 2 + rest
    if K == 1:
        Ws.append(np.ones((1, 1)))
    else:
        Ws.append(np.array([[1.0, 1.0]]))                        # m_K = m_{K-1} + relu(c_{K-1})
    bs.append(np.zeros(1))
    return Network(Ws, bs, linear=lin), np.asarray(units, dtype=np.int64)


def argmax_sets(signs: np.ndarray, units: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n, n_classes)`` bool: the classes that reach the maximum on each face, from the faces'
    signs (rows of ``FacePoset.signs`` of a `decision_network`) over the comparison ``units``.

    Examples
    --------
    Three classes; units compare class 1 with class 0, then class 2 with the winner:

    >>> S = np.array([[1, -1], [0, -1], [-1, 0], [0, 0], [1, 1]])
    >>> argmax_sets(S, np.array([0, 1]), 3).astype(int).tolist()
    [[0, 1, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 0, 1]]
    """
    s = np.asarray(signs)[:, units] if len(units) else np.zeros((len(signs), 0), np.int8)
    n = len(s)
    win = np.zeros(n, dtype=np.int64)
    for k in range(n_classes - 1):
        win[s[:, k] > 0] = k + 1
    out = np.zeros((n, n_classes), dtype=bool)
    out[np.arange(n), win] = True
    for k in range(n_classes - 1):
        out[:, k + 1] |= (s[:, k] == 0) & (k + 1 > win)
    return out


@dataclass(frozen=True)
class DecisionTopology:
    """Faces and Betti numbers of a classifier's decision regions (`decision_topology`).

    Attributes
    ----------
    faces : list of int
        The number of k-faces of the class-refined complex, k = 0..d.
    betti : dict
        Per class (its index as a string): Betti numbers b_0..b_d of its closed decision region
        (all 0 for a class that is nowhere the maximum).
    boundary_betti : list of int
        Betti numbers b_0..b_d of the decision boundary.
    euler_characteristic : int
        Of the whole complex (1 for a box or a bounded polytope).
    poset : FacePoset
        The faces themselves.
    classes : ndarray of bool, shape (n_faces, n_classes)
        The classes reaching the maximum on each face.
    regions : int
        Regions of the network (before the refinement by the argmax).
    box : Domain
        The domain of the faces: the one given, or for the whole space a box holding every
        vertex of the refined complex (`vertex_box`): the same homotopy types.
    """

    faces: list[int]
    betti: dict[str, list[int]]
    boundary_betti: list[int]
    euler_characteristic: int
    poset: FacePoset
    classes: np.ndarray
    regions: int
    box: object = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready summary (``faces``, ``betti``, ``boundary_betti``,
        ``euler_characteristic``, ``regions``, ``cells``, ``box``: ``[lo, hi]`` of the faces' box,
        or None for a polytope)."""
        box = [self.box.lo.tolist(), self.box.hi.tolist()] if isinstance(self.box, Box) else None
        return {"faces": list(self.faces), "betti": dict(self.betti), "boundary_betti": list(self.boundary_betti),
                "euler_characteristic": self.euler_characteristic, "regions": self.regions,
                "cells": int(self.faces[-1]) if self.faces else 0, "box": box}


def decision_topology(net: Network, domain: Domain, *, workers: int | None = None, tol: float | None = None,
                      progress: Callable[[int, int], object] | None = None) -> DecisionTopology:
    """The face counts of the class-refined complex of ``net`` in ``domain`` (a box or a bounded
    polytope, 2 to ``_config.VERTEX_MAX_DIM`` inputs, or the whole space, one input fewer) and the
    Betti numbers over GF(2) of every class's closed decision region and of the decision boundary,
    exactly (the module's docstring).

    Parameters
    ----------
    net : the classifier (its outputs are the logits).
    domain : `Box`, `Polytope`, or `Space`: the whole space, whose class regions (unbounded) are
        taken in a box holding every vertex of the refined complex (`vertex_box`): the same
        homotopy types, so the Betti numbers of the sets themselves (no compactification).
    workers, tol : as in `nncells.enumerate_regions`.
    progress : optional ``progress(regions_done, total)``, called while the faces are found.

    Raises
    ------
    NNCellsError
        As `nncells.results.faces.face_poset`.

    Examples
    --------
    A network with one output is one class: its region is the whole square, no boundary.

    >>> from nncells import Box, random_network
    >>> top = decision_topology(random_network([2, 4, 1], seed=0), Box(-1.0, 1.0, dim=2), workers=1)
    >>> top.betti, top.boundary_betti, top.euler_characteristic
    ({'0': [1, 0, 0]}, [0, 0, 0], 1)
    """
    aug, units = decision_network(net)
    base = enumerate_regions(net, domain, workers=workers, tol=tol, method="cells")
    if isinstance(domain, Space):
        domain = vertex_box(aug, workers=workers, tol=tol)
    result = enumerate_regions(aug, domain, workers=workers, tol=tol, method="cells")
    if isinstance(base.domain, Space) and len(result.patterns) != len(
            enumerate_regions(aug, Space(), workers=workers, tol=tol, method="cells").patterns):
        raise NNCellsError("topology of the whole space: a region was missed by the box around the "
                           "vertices (far regions thinner than the threshold); give a box instead")
    n = len(result.patterns)
    poset = faces(result, workers, None if progress is None else (lambda k: progress(k, n)))
    K = net.output_dim
    classes = argmax_sets(poset.unit_signs(units), np.arange(len(units)), K)
    numbers = _betti(poset, np.vstack([classes.T, classes.sum(axis=1) >= 2]))  # the incidences checked once
    betti = {str(c): numbers[c] for c in range(K)}
    boundary = numbers[K]
    return DecisionTopology(faces=poset.f_vector().tolist(), betti=betti, boundary_betti=boundary,
                            euler_characteristic=poset.euler_characteristic(), poset=poset,
                            classes=classes, regions=len(base.patterns), box=result.domain)


def vertex_box(net: Network, *, workers: int | None = None, tol: float | None = None) -> Box:
    """A box holding every vertex of ``net``'s complex of the whole space in its interior.

    The vertices come from the whole space made bounded (`nncells.engine.lifting`: ``F(y, t) = t
    f(lam y / t)`` in ``[-1, 1]^d x [0, 1]``, each region a cone): a vertex ``v`` of ``f``'s
    complex is the ray through ``(v / lam, 1)``, an edge of the cones' complex at the origin, so
    the faces of the lifted complex (`faces`) give every vertex as ``lam y / t`` of the edge's
    far end. The box is their bounding box, widened by half its size and at least ``lam``.

    Why it is enough: when the first layer's ReLU rows span the input space, no region contains
    a line, so every face has a vertex; the box then meets every nonempty intersection of closed
    cells, and (nerve lemma) every union of closed cells keeps its homotopy type inside it.

    Raises
    ------
    NNCellsError
        If the first layer's rows do not span the inputs, or ``d + 1`` exceeds
        ``_config.VERTEX_MAX_DIM`` (the lifted complex's faces).

    Examples
    --------
    Two lines crossing at (3, -4):

    >>> from nncells import Network
    >>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[-3.0, 4.0], [0.0]])
    >>> box = vertex_box(net, workers=1)
    >>> bool(box.lo[0] < 3.0 < box.hi[0] and box.lo[1] < -4.0 < box.hi[1])
    True
    """
    from nncells import _config
    from nncells.engine.lifting import homogenize
    from nncells.engine.tasks import network_length
    d = net.input_dim
    if d + 1 > _config.VERTEX_MAX_DIM:
        raise NNCellsError(f"topology of the whole space works up to {_config.VERTEX_MAX_DIM - 1} inputs "
                           f"(faces one dimension up); this network has {d}: give a box")
    W1 = np.asarray(net.weights[0])[~np.asarray(net.linear[0], dtype=bool)]
    if len(W1) == 0 or np.linalg.matrix_rank(W1) < d:
        raise NNCellsError("topology of the whole space needs the first layer's rows to span the inputs "
                           "(else regions contain lines); give a box")
    lam = network_length(net)
    lifted = enumerate_regions(homogenize(net, lam), Box([-1.0] * d + [0.0], [1.0] * (d + 1)),
                               workers=workers, tol=tol, method="cells")
    poset = faces(lifted, workers)
    origin = np.flatnonzero((poset.dim == 0) & np.all(poset.points == 0.0, axis=1))
    if len(origin) != 1:
        raise NNCellsError("topology of the whole space: the lifted complex has no vertex at the origin")
    edges = poset.incidence[(poset.incidence[:, 0] == origin[0]), 1]
    ends = [int(v) for e in edges for v in poset.vertices[e] if v != origin[0]]
    P = poset.points[ends]
    V = lam * P[P[:, -1] > 0, :d] / P[P[:, -1] > 0, -1:]
    lo, hi = (V.min(axis=0), V.max(axis=0)) if len(V) else (np.zeros(d), np.zeros(d))
    pad = np.maximum(0.5 * (hi - lo), lam)
    return Box(lo - pad, hi + pad)


def betti(result: EnumerationResult, region: str = "class",
          k: int | None = None) -> list[int] | dict[str, list[int]]:
    """Betti numbers over GF(2) of a decision region of ``result``'s network in its domain.

    Parameters
    ----------
    result : `EnumerationResult` of a classifier in a box or a bounded polytope.
    region : ``"class"`` (the closed decision region of class ``k``; of every class as a dict
        when ``k`` is None), ``"boundary"`` (the decision boundary) or ``"domain"`` (the whole
        complex: 1, 0, ..., 0).
    k : the class, for ``region="class"``.

    The network is refined by the argmax (`decision_network`) and enumerated again in the same
    domain; `decision_topology` returns everything at once.

    Examples
    --------
    >>> from nncells import Box, Network, enumerate_regions
    >>> W1 = [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]
    >>> net = Network([W1, [[-1.0, -1.0, -1.0, -1.0], [0.0, 0.0, 0.0, 0.0]]], [[0.0] * 4, [1.0, 0.0]])
    >>> res = enumerate_regions(net, Box(-2.0, 2.0, dim=2), workers=1)
    >>> betti(res, "class", 1), betti(res, "boundary")
    ([1, 1, 0], [1, 1, 0])
    """
    if region not in ("class", "boundary", "domain"):
        raise NNCellsError(f"region must be 'class', 'boundary' or 'domain', not {region!r}")
    K = result.network.output_dim
    if region == "class" and k is not None and not 0 <= k < K:
        raise NNCellsError(f"class {k} out of range: the network has {K} outputs")
    top = decision_topology(result.network, result.domain, workers=1, tol=contract_tol(result))
    if region == "domain":
        return _betti(top.poset, np.ones((1, len(top.poset)), dtype=bool))[0]
    if region == "boundary":
        return top.boundary_betti
    return top.betti if k is None else top.betti[str(k)]


def output_persistence(net: Network, domain: Domain, output: int | Sequence[float] | np.ndarray = 0, *, workers: int | None = None,
                       tol: float | None = None) -> Persistence:
    """Persistent homology over GF(2) of the sublevel sets ``{x in domain : g(x) <= t}`` of an
    output of ``net``, as ``t`` grows: ``g = f_output`` (an int), or ``g = w . f`` for a vector
    ``w`` of output weights (e.g. ``[1, -1]``: the margin of class 0 over class 1 in a
    two-class network, whose sublevel set at 0 is class 1's decision region).

    ``g`` is affine on every face of the network's complex, so each sublevel set deformation
    retracts onto the faces whose vertices all have ``g <= t`` (on a convex face, the part of its
    boundary below ``t`` is a disk); a face enters the filtration at the largest value of ``g`` at
    its vertices (`nncells.analysis.homology.persistence`). The values are float64 forward passes
    at the exact vertices (rounded), so bars shorter than their rounding are not meaningful.

    Examples
    --------
    The diamond network of the module's example: ``f_0 = 1 - |x_1| - |x_2|`` has one maximum, so
    its superlevel sets (sublevel sets of ``-f_0``) are disks: one bar in dimension 0, forever.

    >>> from nncells import Box, Network
    >>> W1 = [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]
    >>> net = Network([W1, [[-1.0, -1.0, -1.0, -1.0], [0.0, 0.0, 0.0, 0.0]]], [[0.0] * 4, [1.0, 0.0]])
    >>> bars = output_persistence(net, Box(-2.0, 2.0, dim=2), [-1.0, 0.0], workers=1)
    >>> bars.dim.tolist(), bars.birth.tolist(), bars.death.tolist()
    ([0], [-1.0], [inf])
    """
    w = np.zeros(net.output_dim)
    if np.ndim(output) == 0:
        k = int(np.asarray(output))
        if not 0 <= k < net.output_dim:
            raise NNCellsError(f"output {k} out of range: the network has {net.output_dim} outputs")
        w[k] = 1.0
    else:
        w = np.asarray(output, dtype=np.float64).reshape(-1)
        if w.shape != (net.output_dim,) or not np.all(np.isfinite(w)):
            raise NNCellsError(f"output weights must be {net.output_dim} finite numbers, got {np.ndim(output)}-D {w.shape}")
    return _lower_star(net, domain, lambda X: net.forward(X) @ w, workers, tol)


def unit_persistence(net: Network, domain: Domain, unit: int, *, workers: int | None = None,
                     tol: float | None = None) -> Persistence:
    """Persistent homology over GF(2) of the sublevel sets of hidden unit ``unit``'s
    pre-activation (numbered over all hidden layers, as in patterns), as `output_persistence`
    does for outputs: a pre-activation is affine on every face of the network's complex too.

    Examples
    --------
    ``z = |x_1| + |x_2| - 1`` (a unit of the second layer): its sublevel sets are diamonds, then
    the whole square: one bar in dimension 0, from -1 on.

    >>> from nncells import Box, Network
    >>> W1 = [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]]
    >>> net = Network([W1, [[1.0, 1.0, 1.0, 1.0]], [[1.0]]], [[0.0] * 4, [-1.0], [0.0]])
    >>> bars = unit_persistence(net, Box(-2.0, 2.0, dim=2), 4, workers=1)
    >>> bars.dim.tolist(), bars.birth.tolist(), bars.death.tolist()
    ([0], [-1.0], [inf])
    """
    if not 0 <= int(unit) < net.n_hidden:
        raise NNCellsError(f"unit {unit} out of range: the network has {net.n_hidden} hidden units")
    return _lower_star(net, domain, lambda X: np.concatenate(net.preactivations(X), axis=1)[:, int(unit)],
                       workers, tol)


def _lower_star(net: Network, domain: Domain, value: Callable[[np.ndarray], np.ndarray], workers: int | None,
                tol: float | None) -> Persistence:
    """Persistence of ``value`` (a function affine on the faces, evaluated at vertices): each face
    enters at the largest value at its vertices."""
    poset = faces(enumerate_regions(net, domain, workers=workers, tol=tol, method="cells"), workers)
    g = np.full(len(poset), np.nan)
    vertices = np.flatnonzero(poset.dim == 0)
    g[vertices] = value(poset.points[vertices])
    V = poset.vertices                    # every face has a vertex: its maximum over them
    values = np.maximum.reduceat(g[V.flat], V.offsets[:-1]) if len(V) else np.zeros(0)
    return persistence(poset.dim, poset.incidence, values)


def _betti(poset: FacePoset, masks: npt.ArrayLike) -> list[list[int]]:
    """The Betti numbers of the closed subcomplexes ``masks`` (one a row), the poset's incidences
    checked once: in 2-D and 3-D by components alone (the poset subdivides a box or a polytope:
    `ball_betti_numbers`), above by reduction."""
    ball = len(poset) > 0 and int(poset.dim.max()) in (2, 3)
    edge = poset.on_domain.any(axis=1) if ball else None
    return [[int(v) for v in row] for row in subcomplex_betti_numbers(poset.dim, poset.incidence, masks, edge)]
