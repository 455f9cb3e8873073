"""The planar mesh in the compiled core: a thin layer over ``_native.planar_partition``.

The core splits the mesh of a convex polygon layer by layer and neuron by neuron, exactly as the
numpy twin `nncells.planar.mesh` does (same face and vertex numbering, same error-bound
decisions), and returns the finished partition as flat arrays.

Examples
--------
>>> import numpy as np
>>> from nncells import kernels
>>> square = np.array([[-1.0, -1], [1, -1], [1, 1], [-1, 1]])
>>> weights, biases = [np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)]
>>> if kernels.native_available():
...     out = partition(square, weights, biases, [np.zeros(0)], 3 * 8 * np.finfo(float).eps)
...     verts, start, loops, patterns, ranks, A, c, areas, cents, per_layer = out
...     print(len(areas), sorted(map(tuple, patterns.astype(int).tolist())), areas.tolist(),
...           per_layer.tolist())
... else:
...     print(4, [(0, 0), (0, 1), (1, 0), (1, 1)], [1.0, 1.0, 1.0, 1.0], [4])
4 [(0, 0), (0, 1), (1, 0), (1, 1)] [1.0, 1.0, 1.0, 1.0] [4]
"""
from __future__ import annotations

import numpy as np

from nncells.kernels import _native


def partition(polygon, weights, biases, line_err, gamma3: float):
    """The exact partition of a convex polygon by a 2-input network, in the compiled core.

    Parameters
    ----------
    polygon : (k, 2) vertices of a convex polygon, counter-clockwise.
    weights, biases : every layer of the network (at least one hidden layer), the output last;
        ``weights[0]`` is (width, 2).
    line_err : one array per hidden layer: for layer ``l >= 1`` the error bound of the entries of
        its neurons' lines (a line whose normal entries are both within it is constant); the
        first layer's weights are exact (its array is ignored).
    gamma3 : the relative error bound of a vertex's value on a line (``gamma(3)``).

    Returns
    -------
    vertices (nv, 2), face_start (F + 1,), face_vertices (CSR, counter-clockwise loops),
    patterns (F, n_hidden) bool, ranks (F, hidden layers) int64, A (F, out, 2), c (F, out) (the
    network is ``A[f] @ xy + c[f]`` on face ``f``), areas (F,), centroids (F, 2), per_layer
    (faces after each hidden layer).
    """
    out = _native.planar_partition(np.ascontiguousarray(polygon, dtype=np.float64),
                                   [np.ascontiguousarray(w, dtype=np.float64) for w in weights],
                                   [np.ascontiguousarray(b, dtype=np.float64) for b in biases],
                                   [np.ascontiguousarray(e, dtype=np.float64).reshape(-1) for e in line_err],
                                   float(gamma3))
    verts, start, loops, patterns, *rest = out
    return (verts, start, loops, patterns.view(bool), *rest)
