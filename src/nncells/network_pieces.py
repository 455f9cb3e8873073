"""Max-pooling windows compiled as tournaments, and the argmax regions they stand for.

`nncells.models` computes the maximum of a window of k > 2 entries as a tournament of pairwise
maxima, ``max(a, b) = a + relu(b - a)``: the comparison units of one round feed the next. Its
activation regions are the cells where every comparison keeps its side; they refine the *argmax*
regions (where every window keeps its argmax): inside the region where ``a`` wins, the comparison
of the losing pair ``(c, d)`` still cuts. A tournament is a tree ``(position, left, right)``: the
pattern position of the comparison unit (active: the right subtree's maximum wins, inactive or a
tie: the left one), and the subtrees of its two sides (None: an entry of the window).

`argmax_patterns` clears every comparison bit off the winner's path: two regions with the same
cleared pattern are pieces of one argmax region (their union is convex: on it every window keeps
its argmax and every other unit its sign), so the distinct cleared patterns count the argmax regions.
"""
from __future__ import annotations

from typing import TypeAlias

import numpy as np

# a tournament: (pattern position of its comparison unit, left subtree, right subtree); None: an entry
Tournament: TypeAlias = "tuple[int, Tournament | None, Tournament | None]"


def argmax_patterns(tournaments, patterns) -> np.ndarray:
    """``patterns`` (n, n_hidden) bool with the comparison bits off each winner's path cleared.

    Examples
    --------
    A window (a, b, c, d): units 0 (b vs a) and 1 (d vs c), then unit 2 (the winners):

    >>> tree = (2, (0, None, None), (1, None, None))
    >>> P = np.array([[False, False, False], [False, True, False], [True, True, True]])
    >>> argmax_patterns([tree], P).astype(int).tolist()   # a wins twice: c vs d does not matter
    [[0, 0, 0], [0, 0, 0], [0, 1, 1]]
    """
    P = np.array(patterns, dtype=bool, copy=True)
    for tree in tournaments:
        _clear(tree, P, np.ones(len(P), dtype=bool))
    return P


def _clear(tree, P, on_path) -> None:
    """Clear the bit of ``tree``'s root where it is off the path (``~on_path``), then recurse."""
    if tree is None:
        return
    pos, left, right = tree
    P[~on_path, pos] = False
    right_wins = on_path & P[:, pos]
    _clear(left, P, on_path & ~right_wins)
    _clear(right, P, right_wins)


def encode(tournaments) -> np.ndarray:
    """The trees as one int64 array in preorder, -1 for an entry (for the ``.npz`` format).

    Examples
    --------
    >>> encode([(2, (0, None, None), None)]).tolist()
    [2, 0, -1, -1, -1]
    >>> decode(encode([(2, (0, None, None), None), (5, None, None)]))
    ((2, (0, None, None), None), (5, None, None))
    """
    out = []

    def walk(t):
        if t is None:
            out.append(-1)
        else:
            out.append(int(t[0]))
            walk(t[1])
            walk(t[2])

    for t in tournaments:
        walk(t)
    return np.asarray(out, dtype=np.int64)


def decode(codes) -> tuple[Tournament, ...]:
    """The trees of `encode`."""
    codes = [int(v) for v in np.asarray(codes, dtype=np.int64).reshape(-1)]
    i = 0

    def read():
        nonlocal i
        v = codes[i]
        i += 1
        if v < 0:
            return None
        left = read()
        return (v, left, read())

    trees = []
    while i < len(codes):
        trees.append(read())
    return tuple(trees)


def check(tournaments, n_hidden: int, linear_mask) -> tuple[Tournament, ...]:
    """The trees as tuples of ints, each position a ReLU unit used once; ValueError otherwise."""
    seen = set()

    def norm(t):
        if t is None:
            return None
        if len(t) != 3:
            raise ValueError(f"a tournament node is (position, left, right), got {t!r}")
        pos = int(t[0])
        if not 0 <= pos < n_hidden or linear_mask[pos] or pos in seen:
            raise ValueError(f"tournament position {pos}: not a ReLU unit of the network, or used twice")
        seen.add(pos)
        return (pos, norm(t[1]), norm(t[2]))

    return tuple(norm(t) for t in tournaments)
