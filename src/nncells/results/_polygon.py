"""A convex polygon as the exact intersection of integer half-planes: the 2-D fallback of
`nncells.results._face_builder` where qhull's float64 vertices of a region are not its vertices
(two vertices a short edge apart, merged as one).

A half-plane ``a0 x + a1 y + c >= 0`` is the integer triple ``(a0, a1, c)``; a point is
homogeneous, ``(X, Y, W)`` integers with ``W > 0`` (the point ``(X / W, Y / W)``), so the value of
a line there has the sign of ``a0 X + a1 Y + c W`` and the point where two lines meet is their
cross product: no fractions, and a vertex's integers never grow beyond those of its two lines.

Examples
--------
The square ``[-1, 1]^2`` cut by ``x + y <= 1``: five vertices, counter-clockwise.

>>> P = clip(square(1), (-1, -1, 1), 7)
>>> [(X / W, Y / W) for (X, Y, W), _ in P]
[(-1.0, -1.0), (1.0, -1.0), (1.0, 0.0), (0.0, 1.0), (-1.0, 1.0)]
>>> [k for _, k in P]        # the line of the edge leaving each vertex (-1: the square's)
[-1, -1, 7, -1, -1]
"""
from __future__ import annotations

from collections.abc import Sequence

Line = Sequence[int]
Point = tuple[int, int, int]


def meet(p: Line, q: Line) -> Point | None:
    """The point where the lines ``p`` and ``q`` meet, homogeneous with ``W > 0`` (None if they
    are parallel).

    Examples
    --------
    >>> meet((1, 0, -1), (0, 2, 1))          # x = 1, y = -1/2
    (2, -1, 2)
    """
    X = p[1] * q[2] - p[2] * q[1]
    Y = p[2] * q[0] - p[0] * q[2]
    W = p[0] * q[1] - p[1] * q[0]
    if W == 0:
        return None
    return (X, Y, W) if W > 0 else (-X, -Y, -W)


def value(line: Line, point: Point) -> int:
    """``a0 X + a1 Y + c W``: the sign of the line's value at the point."""
    return line[0] * point[0] + line[1] * point[1] + line[2] * point[2]


def square(m: int) -> list[tuple[Point, int]]:
    """The square ``[-m, m]^2`` (``m`` a positive integer) as `clip` takes it: its vertices
    counter-clockwise, each with the line of the edge that leaves it (-1 for the square's)."""
    return [((-m, -m, 1), -1), ((m, -m, 1), -1), ((m, m, 1), -1), ((-m, m, 1), -1)]


def clip(poly: list[tuple[Point, int]], line: Line, key: int,
         lines: dict[int, Line] | None = None) -> list[tuple[Point, int]] | None:
    """The convex polygon ``poly`` cut by the half-plane ``line >= 0`` (``key``: its name in the
    edges). ``poly`` holds ``(vertex, key of the edge leaving it)``, counter-clockwise; ``lines``
    maps the keys of its edges to their lines (an edge whose key is not there, as the square's,
    is the line through its two vertices). Returns the cut polygon, the same form, or None if it
    has no interior (the line is never positive on ``poly``)."""
    vals = [value(line, v) for v, _ in poly]
    if all(s >= 0 for s in vals):
        return poly
    if not any(s > 0 for s in vals):
        return None
    n, out = len(poly), []
    for i in range(n):
        (v, e), s, t = poly[i], vals[i], vals[(i + 1) % n]
        if s >= 0:
            out.append((v, e if t >= 0 or s > 0 else key))
        if (s > 0 > t) or (s < 0 < t):
            edge = _edge_line(poly, i, lines)
            w = meet(edge, line)
            if w is None:        # cannot be: the line changes sign along the edge
                return None
            out.append((w, key if s > 0 else e))
    return out


def _edge_line(poly: list[tuple[Point, int]], i: int, lines: dict[int, Line] | None) -> Line:
    """The line of the edge leaving vertex ``i`` of ``poly``, oriented inward (``>= 0`` inside)."""
    e = poly[i][1]
    if lines is not None and e in lines:
        return lines[e]
    (X0, Y0, W0), (X1, Y1, W1) = poly[i][0], poly[(i + 1) % len(poly)][0]
    # the line through two points, inward for a counter-clockwise polygon: the cross product
    return (Y0 * W1 - W0 * Y1, W0 * X1 - X0 * W1, X0 * Y1 - Y0 * X1)
