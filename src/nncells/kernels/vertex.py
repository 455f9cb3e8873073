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
...             np.ones(4), None, None)
...     P, X, r, ranks, per_layer, pending, deferred = refine(net, 1e-9, -1, [task], 1.0)
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


def core_network(weights, biases):
    """The hidden layers ``weights``/``biases`` as the core holds them (cached per process)."""
    key = (tuple(w.tobytes() for w in weights), tuple(b.tobytes() for b in biases), _config.ERROR_FACTOR)
    net = _cache.get(key)
    if net is None:
        net = _native.Net([np.ascontiguousarray(w, dtype=np.float64) for w in weights],
                          [np.ascontiguousarray(b, dtype=np.float64) for b in biases], float(_config.ERROR_FACTOR))
        _cache[key] = net
        while len(_cache) > 8:
            _cache.popitem(last=False)
    return net


def refine(net, tol: float, lifted_d: int, tasks: list, budget_s: float):
    """Refine ``tasks`` depth-first through all remaining hidden layers of ``net``.

    Parameters
    ----------
    net : from `core_network`.
    tol : the contract's threshold.
    lifted_d : ``-1``, or the input dimension of the network whose lifted problem this is (the
        cells' last coordinate is then ``t``; see `nncells.engine.lifting`).
    tasks : tuples ``(layer, pattern, ranks, A, c, point, radius, V, active, vmag, signs, rest)``
        (``uint8`` pattern/active/signs, ``int64`` ranks/rest; ``signs``/``rest`` None for a task at
        the start of its layer).
    budget_s : seconds after which the unexplored cells are handed back.

    Returns
    -------
    patterns (n, n_hidden) uint8, points (n, d), radii (n,), ranks (n, layers), per_layer,
    pending tasks, deferred tasks (splits whose children need an LP), as tuples like ``tasks``.
    In a lifted problem the points are the regions' points ``x = y / t`` (n, lifted_d) and the
    radii their depths in x-space.
    """
    return _native.refine_vertex(net, float(tol), int(lifted_d), list(tasks), float(min(budget_s, 1e9)))
