"""Vertex mode in the compiled core: a thin layer over ``_native.refine_vertex``.

The core takes tasks as tuples of arrays (no engine objects: the kernels know nothing but
arrays) and returns finished regions as flat arrays.

Examples
--------
>>> import numpy as np
>>> from nncells import kernels
>>> if kernels.native_available():
...     net = core_network([np.array([[1.0, 0.0], [0.0, 1.0]])], [np.zeros(2)])
...     A = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]]); c = np.ones(4)   # [-1, 1]^2
...     V = np.array([[-1.0, -1], [1, -1], [-1, 1], [1, 1]])
...     act = np.array([[0, 1, 0, 1], [1, 0, 0, 1], [0, 1, 1, 0], [1, 0, 1, 0]], dtype=np.uint8)
...     task = (0, np.zeros(0, np.uint8), np.zeros(0, np.int64), A, c, np.zeros(2), 1.0, V, act,
...             np.abs(V), None, None)
...     P, X, r, ranks, per_layer, pending, deferred, facets = refine(net, 1e-9, -1, [task], 1.0)
...     print(sorted(map(tuple, P.tolist())), per_layer.tolist())
... else:
...     print([(0, 0), (0, 1), (1, 0), (1, 1)], [4])
[(0, 0), (0, 1), (1, 0), (1, 1)] [4]
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np

from nncells import _config
from nncells.kernels import _native

_cache: OrderedDict = OrderedDict()


def core_network(weights, biases, linear=None):
    """The hidden layers ``weights``/``biases`` (and their masks of ``linear`` units, default none)
    as the core holds them (cached per process)."""
    masks = [] if linear is None or not any(np.any(m) for m in linear) else [
        np.ascontiguousarray(m, dtype=np.uint8) for m in linear]
    key = (tuple(w.tobytes() for w in weights), tuple(b.tobytes() for b in biases), tuple(m.tobytes() for m in masks),
           _config.ERROR_FACTOR)
    net = _cache.get(key)
    if net is None:
        net = _native.Net([np.ascontiguousarray(w, dtype=np.float64) for w in weights],
                          [np.ascontiguousarray(b, dtype=np.float64) for b in biases], float(_config.ERROR_FACTOR),
                          masks)
        _cache[key] = net
        while len(_cache) > 8:
            _cache.popitem(last=False)
    return net


def refine(net, tol: float, lifted_d: int, tasks: list, budget_s: float, facets: bool = False):
    """Refine ``tasks`` depth-first through all remaining hidden layers of ``net``.

    Parameters
    ----------
    net : from `core_network`.
    tol : the contract's threshold.
    lifted_d : ``-1``, or the input dimension of the network whose lifted problem this is (the
        cells' last coordinate is then ``t``; see `nncells.engine.lifting`).
    tasks : tuples ``(layer, pattern, ranks, A, c, point, radius, V, active, vmag, signs, rest[, labels])``
        (``uint8`` pattern/active/signs, ``int64`` ranks/rest; ``signs``/``rest`` None for a task at
        the start of its layer; ``labels``: the rows' labels in facets mode, as a pending task
        came back with them, or None: see `refine_facets`).
    budget_s : seconds after which the unexplored cells are handed back.
    facets : also give each finished region's facets (`refine_facets`); the tasks handed back
        then carry their rows' labels.

    Returns
    -------
    patterns (n, n_hidden) uint8, points (n, d), radii (n,), ranks (n, layers), per_layer,
    pending tasks, deferred tasks (splits whose children need an LP), as 13-tuples like ``tasks``
    (``labels`` None without ``facets``), and with ``facets`` the tuple ``(facet_start, facet_group,
    facet_label, facet_flag)`` of `refine_facets` (else None). In a lifted problem the points are
    the regions' points ``x = y / t`` (n, lifted_d) and the radii their depths in x-space.
    """
    return _native.refine_vertex(net, float(tol), int(lifted_d), list(tasks), float(min(budget_s, 1e9)),
                                 bool(facets))


#: The label of a row that arrived with a task other than the root (`refine_facets`).
UNKNOWN_LABEL = int(np.iinfo(np.int64).min)


def refine_facets(net, tol: float, lifted_d: int, tasks: list):
    """Refine ``tasks`` to the end, as `refine` does with no time budget, and give each finished
    region's facets, read from its vertices (a row is a facet iff at least ``d`` vertices lie on it
    and the rows on all of them have rank 1: the face spans ``d - 1`` dimensions). The same
    facets come with each call of `refine` with ``facets=True``, whatever its budget: a task
    handed back carries its rows' labels, and which neurons lie along its facets, in ``labels``.

    Parameters
    ----------
    net, tol, lifted_d, tasks : as for `refine`.

    Returns
    -------
    patterns : (n, n_hidden) uint8
    facet_start : (n + 1,) int64
        Region ``i``'s facets are entries ``facet_start[i]:facet_start[i + 1]`` of:
    facet_group : (m,) int64
        the facet's number within its region (rows on one hyperplane share it), and
    facet_label : (m,) int64
        each row's label: the global hidden neuron whose hyperplane cut the row, ``-1 - k`` for the
        ``k``-th row of a root task (a layer-0 task with ``signs`` None: the domain's rows), or
        `UNKNOWN_LABEL` for a row another task without ``labels`` arrived with.
    facet_flag : (n,) uint8
        1 where the region's facets cannot be used as given: a facet has a row of unknown label,
        or a neuron that did not cut the region's cell lies along one of its facets (a facet of
        several neurons; in a lifted problem, facets on the root's rows are not counted).
    skipped : int
        Deferred splits (a child needs an LP): the regions below them are not returned.

    Examples
    --------
    >>> import numpy as np
    >>> from nncells import kernels
    >>> if kernels.native_available():
    ...     net = core_network([np.array([[1.0, 0.0]])], [np.zeros(1)])
    ...     A = np.array([[1.0, 0], [-1, 0], [0, 1], [0, -1]]); c = np.ones(4)   # [-1, 1]^2
    ...     V = np.array([[-1.0, -1], [1, -1], [-1, 1], [1, 1]])
    ...     act = np.array([[0, 1, 0, 1], [1, 0, 0, 1], [0, 1, 1, 0], [1, 0, 1, 0]], dtype=np.uint8)
    ...     task = (0, np.zeros(0, np.uint8), np.zeros(0, np.int64), A, c, np.zeros(2), 1.0, V, act,
    ...             np.abs(V), None, None)
    ...     P, start, group, label, flag, skipped = refine_facets(net, 1e-9, -1, [task])
    ...     print(P.ravel().tolist(), [sorted(label[start[i]:start[i + 1]].tolist()) for i in range(2)])
    ... else:
    ...     print([1, 0], [[-4, -3, -1, 0], [-4, -3, -2, 0]])
    [1, 0] [[-4, -3, -1, 0], [-4, -3, -2, 0]]
    """
    P, _, _, _, _, pending, deferred, (start, group, label, flag) = refine(net, tol, lifted_d, tasks, 1e9, True)
    return P, start, group, label, flag, len(pending) + len(deferred)


def pull_back(net, layer: int, M, m, Mabs, path: int = -1):
    """Layer ``layer``'s rows (``layer >= 1``) pulled back through the map ``M x + m`` to its
    inputs (``Mabs`` bounds ``|M|`` along the paths), as the core computes them for a cell:
    ``(H, g, Habs)``. ``path``: ``-1`` as the core chooses, ``0`` row by row, ``1`` along the
    layer's units (at most 8 inputs; the AVX2 build where the CPU has it), ``2`` the same in the
    baseline build; all give the same bits.

    Examples
    --------
    >>> import numpy as np
    >>> from nncells import kernels
    >>> if kernels.native_available():
    ...     net = core_network([np.eye(2), np.array([[1.0, -2.0]])], [np.zeros(2), np.array([0.5])])
    ...     H, g, Habs = pull_back(net, 1, np.array([[1.0, 0.0], [0.0, 0.0]]), np.zeros(2), np.eye(2))
    ...     print(H.tolist(), g.tolist())
    ... else:
    ...     print([[1.0, 0.0]], [0.5])
    [[1.0, 0.0]] [0.5]
    """
    f64 = lambda a: np.ascontiguousarray(a, dtype=np.float64)
    return _native.pull_back(net, int(layer), f64(M), f64(m), f64(Mabs), int(path))
