"""The face lattice of one convex polytope from its vertex-constraint incidences: the reference
twin of the compiled core's (`nncells.kernels.lattice`), for `nncells.results._face_builder`.

A polytope's faces are sets of its vertices: a facet is a maximal proper set of vertices on which
one constraint vanishes, and the faces of a face ``F`` one level down are the maximal proper
non-empty intersections of ``F`` with the facets (taken in increasing order of their bit masks,
so both implementations number the faces alike). A face reached at two levels, a single vertex
as a face above dimension 0, an Euler characteristic other than 1 or a last level of faces with
several vertices each is reported in ``status``, which the caller turns into a refusal.

Examples
--------
A square: vertices 0..3, the constraint bits ``x = 0``, ``x = 1``, ``y = 0``, ``y = 1``.

>>> faces, dims, inc, chi, status = lattice([0b0101, 0b0110, 0b1010, 0b1001], 2)
>>> [bin(f) for f in faces[:5]], dims, chi, status
(['0b1111', '0b11', '0b110', '0b1001', '0b1100'], [2, 1, 1, 1, 1, 0, 0, 0, 0], 1, 0)
"""
from __future__ import annotations

OK, TOO_FEW_VERTICES, NOT_GRADED, NOT_A_POLYTOPE, VERTEX_ABOVE_0 = 0, 1, 2, 3, 4


def _maximal(sets: list[int]) -> list[int]:
    return [s for s in sets if not any(s != t and s & t == s for t in sets)]


def lattice(zero: list[int], d: int) -> tuple[list[int], list[int], list[tuple[int, int]], int, int]:
    """The faces of a ``d``-polytope whose vertex ``v`` has the constraints ``zero[v]`` (a bit set)
    vanishing on it.

    Returns
    -------
    faces : the vertex sets (bit masks) of the faces, the polytope first, then level by level.
    dims : each face's dimension.
    inc : pairs ``(face, coface)`` of positions in ``faces``.
    chi : the Euler characteristic of the faces found.
    status : `OK`, `TOO_FEW_VERTICES`, `NOT_GRADED`, `NOT_A_POLYTOPE` or `VERTEX_ABOVE_0` (a
        single vertex as a face of higher dimension, the last of ``faces``).
    """
    k = len(zero)
    if k < d + 1:
        return [], [], [], 0, TOO_FEW_VERTICES
    full = (1 << k) - 1
    by_row: dict[int, int] = {}
    for i, z in enumerate(zero):
        while z:
            low = z & -z
            by_row[low] = by_row.get(low, 0) | (1 << i)
            z ^= low
    facets = _maximal(sorted({s for s in by_row.values() if s != full}))
    faces, dims, inc = [full], [d], []
    face_id = {full: 0}
    chi = 1 if d % 2 == 0 else -1
    level = [full]
    for lev in range(1, d + 1):
        nxt = []
        dim = d - lev
        for F in level:
            for G in _maximal(sorted({F & g for g in facets if F & g and F & g != F})):
                g = face_id.get(G)
                if g is None:
                    g = face_id[G] = len(faces)
                    faces.append(G)
                    dims.append(dim)
                    if not G & (G - 1) and dim:
                        return faces, dims, inc, chi, VERTEX_ABOVE_0
                    chi += 1 if dim % 2 == 0 else -1
                    nxt.append(G)
                elif dims[g] != dim:
                    return faces, dims, inc, chi, NOT_GRADED
                inc.append((g, face_id[F]))
        level = nxt
    if chi != 1 or any(G & (G - 1) for G in level):
        return faces, dims, inc, chi, NOT_A_POLYTOPE
    return faces, dims, inc, chi, OK
