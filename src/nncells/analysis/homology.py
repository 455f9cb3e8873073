"""Homology over GF(2) of regular CW complexes (polyhedral complexes) given as arrays: Betti numbers
(`betti_numbers`), the Euler characteristic (`euler_characteristic`) and persistent homology of a
filtration (`persistence`).

A complex of ``n`` cells is ``dims`` (the dimension of each cell) and ``incidence``, the pairs
``(face, coface)`` of codimension 1. In a regular complex every incidence number is +-1, so over
GF(2) the boundary of a cell is the sum of its codimension-1 faces.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nncells import kernels
from nncells.analysis import _gf2

if TYPE_CHECKING:
    import numpy.typing as npt


def _as_dims(dims: npt.ArrayLike) -> np.ndarray:
    d = np.asarray(dims)
    if d.ndim != 1:
        raise ValueError(f"dims must be a 1-D array, got shape {d.shape}")
    if d.size and not np.issubdtype(d.dtype, np.integer):
        raise ValueError(f"dims must be integers, got dtype {d.dtype}")
    d = d.astype(np.int64)
    if d.size and d.min() < 0:
        raise ValueError(f"dims must be >= 0, got {d.min()} at cell {int(np.argmin(d))}")
    return d


def _as_mask(mask: npt.ArrayLike | None, n: int) -> np.ndarray:
    if mask is None:
        return np.ones(n, dtype=bool)
    m = np.asarray(mask)
    if m.shape != (n,) or m.dtype != np.bool_:
        raise ValueError(f"mask must be a bool array of shape ({n},), got {m.dtype} {m.shape}")
    return m


def _as_incidence(incidence: npt.ArrayLike, dims: np.ndarray) -> np.ndarray:
    inc = np.asarray(incidence)
    if inc.size == 0:
        inc = inc.reshape(0, 2)
    if inc.ndim != 2 or inc.shape[1] != 2:
        raise ValueError(f"incidence must have shape (m, 2), got {inc.shape}")
    if inc.size and not np.issubdtype(inc.dtype, np.integer):
        raise ValueError(f"incidence must be integers, got dtype {inc.dtype}")
    inc = inc.astype(np.int64)
    n = len(dims)
    out = np.flatnonzero(((inc < 0) | (inc >= n)).any(axis=1))
    if out.size:
        f, c = inc[out[0]]
        raise ValueError(f"incidence pair ({f}, {c}) refers to a cell outside 0..{n - 1}")
    bad = np.flatnonzero(dims[inc[:, 1]] != dims[inc[:, 0]] + 1)
    if bad.size:
        f, c = inc[bad[0]]
        raise ValueError(f"incidence pair ({f}, {c}) joins dims {dims[f]} and {dims[c]}, not k and k+1")
    if len(inc) > 1:
        key = inc[:, 1] * n + inc[:, 0]
        s = np.sort(key)
        dup = np.flatnonzero(s[1:] == s[:-1])
        if dup.size:
            raise ValueError(f"incidence pair ({s[dup[0]] % n}, {s[dup[0]] // n}) is given more than once")
    return inc


def _check_closed(inc: np.ndarray, mask: np.ndarray) -> None:
    bad = np.flatnonzero(mask[inc[:, 1]] & ~mask[inc[:, 0]])
    if bad.size:
        f, c = inc[bad[0]]
        raise ValueError(f"mask is not closed: cell {c} is masked but its face {f} is not")


def _pairs(dims: np.ndarray, inc: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The persistence pairs ``(birth cells, death cells)`` of the filtration that adds the cells in
    ``order`` (faces before cofaces): in the compiled core (`nncells.kernels.homology.pairs`) when
    the backend is ``native``, else by its twin `nncells.analysis._gf2.pairs`. The pairs are the
    filtration's own, so both give the same."""
    if kernels.backend() == "native":
        from nncells.kernels.homology import pairs as compiled
        return compiled(dims, inc, order)
    return _gf2.pairs(dims, inc, order)


def betti_numbers(dims: npt.ArrayLike, incidence: npt.ArrayLike, mask: npt.ArrayLike | None = None) -> np.ndarray:
    """The Betti numbers over GF(2) of a regular CW complex, or of a closed subcomplex of it.

    Parameters
    ----------
    dims : array of int, shape (n,)
        The dimension of each cell.
    incidence : array of int, shape (m, 2)
        The codimension-1 incidences ``(face, coface)``, with ``dims[coface] == dims[face] + 1``.
    mask : array of bool, shape (n,), optional
        The cells of a subcomplex; it must be closed (every face of a masked cell is masked).

    Returns
    -------
    numpy.ndarray of int64, shape (D + 1,)
        ``b_0 .. b_D``, with ``D`` the top dimension of the whole complex (also when the mask
        selects lower cells only or none), where ``b_k = n_k - rank d_k - rank d_{k+1}``.

    Raises
    ------
    ValueError
        On malformed arrays, an incidence pair whose dims differ by other than 1, a pair given twice,
        or a mask that is not closed.

    Examples
    --------
    The boundary of a triangle is a circle: vertices 0, 1, 2 and edges 3, 4, 5.

    >>> dims = [0, 0, 0, 1, 1, 1]
    >>> incidence = [(0, 3), (1, 3), (1, 4), (2, 4), (2, 5), (0, 5)]
    >>> betti_numbers(dims, incidence).tolist()
    [1, 1]
    >>> betti_numbers(dims, incidence, mask=np.array([1, 1, 0, 1, 0, 0], bool)).tolist()
    [1, 0]
    """
    d = _as_dims(dims)
    return _betti_numbers(d, _as_incidence(incidence, d), _as_mask(mask, len(d)))


def _betti_numbers(d: np.ndarray, inc: np.ndarray, m: np.ndarray) -> np.ndarray:
    """`betti_numbers` of arrays already checked (`_as_dims`, `_as_incidence`, `_as_mask`)."""
    _check_closed(inc, m)
    top = int(d.max()) if d.size else -1
    sub = np.flatnonzero(m)
    new = np.full(len(d), -1, np.int64)
    new[sub] = np.arange(len(sub))
    keep = m[inc[:, 1]]
    sd, sinc = d[sub], new[inc[keep]]
    births, deaths = _pairs(sd, sinc, np.lexsort((np.arange(len(sd)), sd)))
    paired = np.zeros(len(sd), bool)
    paired[births] = paired[deaths] = True
    return np.bincount(sd[~paired], minlength=top + 1).astype(np.int64)


def ball_betti_numbers(dims: npt.ArrayLike, incidence: npt.ArrayLike, mask: npt.ArrayLike | None,
                       on_boundary: npt.ArrayLike) -> np.ndarray:
    """`betti_numbers` of a closed subcomplex ``K`` (``mask``) of a regular CW complex that
    subdivides a closed ball ``B`` of dimension ``D`` = 2 or 3 (a box or a bounded polytope cut
    into faces), by connected components alone: in memory and time about linear in the cells.

    - ``b_0``: the components of ``K`` (cells joined by their incidences);
    - ``b_{D-1}``: by Alexander duality in the sphere ``S^D = B`` plus the outside,
      ``H_{D-1}(K) = H~^0(S^D - K)``: the components of the cells not in ``K`` (joined by their
      incidences, and those on the boundary of ``B`` to the outside) minus one;
    - ``b_D = 0`` (no subset of ``R^D`` has top homology); in 3-D, ``b_1`` from the Euler
      characteristic.

    Parameters
    ----------
    dims, incidence, mask : as in `betti_numbers` (``mask`` None: the whole complex).
    on_boundary : array of bool, shape (n,)
        The cells that lie on the boundary of ``B`` (`nncells.results.faces.FacePoset`'s
        ``on_domain.any(axis=1)``).

    Returns
    -------
    numpy.ndarray of int64, shape (D + 1,)

    Raises
    ------
    ValueError
        On malformed arrays or a mask that is not closed (as `betti_numbers`), a top dimension
        other than 2 or 3, or numbers that contradict the Euler characteristic (then the complex
        does not subdivide a ball).

    Examples
    --------
    A square cut into 4 by two lines through its centre: 9 vertices, 12 edges, 4 squares. Its
    boundary (8 vertices, 8 edges) is a circle.

    >>> from nncells import Box, Network, enumerate_regions
    >>> from nncells.results.faces import face_poset
    >>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    >>> p = face_poset(enumerate_regions(net, Box(-1.0, 1.0, dim=2)))
    >>> edge = p.on_domain.any(axis=1)
    >>> ball_betti_numbers(p.dim, p.incidence, edge, edge).tolist(), betti_numbers(p.dim, p.incidence, edge).tolist()
    ([1, 1, 0], [1, 1, 0])
    """
    d = _as_dims(dims)
    return _ball_betti_numbers(d, _as_incidence(incidence, d), _as_mask(mask, len(d)),
                               _as_mask(on_boundary, len(d)))


def _ball_betti_numbers(d: np.ndarray, inc: np.ndarray, m: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """`ball_betti_numbers` of arrays already checked (`_as_dims`, `_as_incidence`, `_as_mask`)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    _check_closed(inc, m)
    top = int(d.max()) if d.size else -1
    if top not in (2, 3):
        raise ValueError(f"ball_betti_numbers needs a complex of top dimension 2 or 3, got {top}")

    def components(nodes: np.ndarray, pairs: np.ndarray) -> int:
        n = len(nodes)
        if n == 0:
            return 0
        new = np.full(len(d) + 1, -1, np.int64)
        new[nodes] = np.arange(n)
        g = coo_matrix((np.ones(len(pairs), np.int8), (new[pairs[:, 0]], new[pairs[:, 1]])), shape=(n, n))
        return int(connected_components(g, directed=False)[0])
    inside = m[inc[:, 0]] & m[inc[:, 1]]
    b0 = components(np.flatnonzero(m), inc[inside])
    out = ~m
    outer = len(d)                                        # the outside of B, one more node
    rest = inc[out[inc[:, 0]] & out[inc[:, 1]]]
    touch = np.flatnonzero(out & edge)
    pairs = np.concatenate([rest, np.stack([touch, np.full(len(touch), outer)], axis=1)])
    b_top1 = components(np.concatenate([np.flatnonzero(out), [outer]]), pairs) - 1
    chi = euler_characteristic(d, m)
    if top == 2:
        betti = [b0, b_top1, 0]
        if b0 - b_top1 != chi:
            raise ValueError(f"b0 - b1 = {b0 - b_top1} but the Euler characteristic is {chi}: "
                             "the complex does not subdivide a disk")
    else:
        b1 = b0 + b_top1 - chi
        if b1 < 0:
            raise ValueError(f"b1 = {b1} < 0 from the Euler characteristic: the complex does not subdivide a ball")
        betti = [b0, b1, b_top1, 0]
    return np.array(betti, dtype=np.int64)


def subcomplex_betti_numbers(dims: npt.ArrayLike, incidence: npt.ArrayLike, masks: npt.ArrayLike,
                             on_boundary: npt.ArrayLike | None = None) -> np.ndarray:
    """The Betti numbers of several closed subcomplexes of one complex, its arrays checked once.

    Parameters
    ----------
    dims, incidence : as in `betti_numbers`.
    masks : array of bool, shape (s, n)
        One closed subcomplex a row.
    on_boundary : array of bool, shape (n,), optional
        Given for a complex that subdivides a closed ball of dimension 2 or 3: its cells on the
        ball's boundary; the numbers then come from `ball_betti_numbers` (components alone),
        else from `betti_numbers` (reduction).

    Returns
    -------
    numpy.ndarray of int64, shape (s, D + 1)

    Examples
    --------
    The square cut into 4 of `ball_betti_numbers`: the whole square, its boundary, and one
    quarter.

    >>> from nncells import Box, Network, enumerate_regions
    >>> from nncells.results.faces import face_poset
    >>> net = Network([[[1.0, 0.0], [0.0, 1.0]], [[1.0, 1.0]]], [[0.0, 0.0], [0.0]])
    >>> p = face_poset(enumerate_regions(net, Box(-1.0, 1.0, dim=2)))
    >>> edge = p.on_domain.any(axis=1)
    >>> q = int(np.flatnonzero(p.dim == 2)[0])                                 # a square,
    >>> e = p.incidence[p.incidence[:, 1] == q, 0]                              # its edges,
    >>> v = p.incidence[np.isin(p.incidence[:, 1], e), 0]                       # their vertices
    >>> quarter = np.isin(np.arange(len(p)), np.concatenate([[q], e, v]))
    >>> masks = np.stack([np.ones(len(p), bool), edge, quarter])
    >>> subcomplex_betti_numbers(p.dim, p.incidence, masks, edge).tolist()
    [[1, 0, 0], [1, 1, 0], [1, 0, 0]]
    """
    d = _as_dims(dims)
    inc = _as_incidence(incidence, d)
    ms = np.asarray(masks)
    if ms.ndim != 2 or ms.shape[1] != len(d):
        raise ValueError(f"masks must have shape (s, {len(d)}), got {ms.shape}")
    top = int(d.max()) if d.size else -1
    if on_boundary is not None and top in (2, 3):
        edge = _as_mask(on_boundary, len(d))
        out = [_ball_betti_numbers(d, inc, _as_mask(m, len(d)), edge) for m in ms]
    else:
        out = [_betti_numbers(d, inc, _as_mask(m, len(d))) for m in ms]
    return np.array(out, dtype=np.int64).reshape(len(ms), top + 1)


def euler_characteristic(dims: npt.ArrayLike, mask: npt.ArrayLike | None = None) -> int:
    """The Euler characteristic ``sum_k (-1)^k n_k`` of a complex, or of the cells in ``mask``.

    Parameters
    ----------
    dims : array of int, shape (n,)
        The dimension of each cell.
    mask : array of bool, shape (n,), optional
        The cells to count (closure is not checked: there is no incidence here).

    Returns
    -------
    int

    Examples
    --------
    A triangle's boundary (a circle) and a solid triangle (a disk):

    >>> euler_characteristic([0, 0, 0, 1, 1, 1])
    0
    >>> euler_characteristic([0, 0, 0, 1, 1, 1, 2])
    1
    """
    d = _as_dims(dims)
    d = d[_as_mask(mask, len(d))]
    return int(np.sum(1 - 2 * (d % 2)))


@dataclass(frozen=True, eq=False)
class Persistence:
    """The bars of a filtration's persistent homology over GF(2), sorted by (dim, birth, death).

    Attributes
    ----------
    dim : numpy.ndarray of int64
        The dimension of each bar's class.
    birth, death : numpy.ndarray of float64
        Where each bar starts and ends (``np.inf`` for an essential class).
    birth_cell, death_cell : numpy.ndarray of int64
        The cells that create and kill each class (``-1`` for an essential class).
    top_dim : int
        The top dimension of the complex (``-1`` for an empty one).
    """
    dim: np.ndarray
    birth: np.ndarray
    death: np.ndarray
    birth_cell: np.ndarray
    death_cell: np.ndarray
    top_dim: int

    def __len__(self) -> int:
        return len(self.dim)

    def betti_at(self, t: float) -> np.ndarray:
        """The number of bars of each dimension ``0 .. top_dim`` alive at ``t``
        (``birth <= t < death``): the Betti numbers of the sublevel complex ``values <= t``."""
        alive = (self.birth <= t) & (t < self.death)
        return np.bincount(self.dim[alive], minlength=self.top_dim + 1).astype(np.int64)


def persistence(dims: npt.ArrayLike, incidence: npt.ArrayLike, values: npt.ArrayLike) -> Persistence:
    """Persistent homology over GF(2) of the filtration of a regular CW complex by cell values.

    Cell ``i`` enters at ``values[i]``; cells are added in the order (value, dim, index) and the
    boundary matrix is reduced by the standard column algorithm with clearing. Pairs of zero length
    (``birth == death``, a cell killed at the value it was born) are dropped, as is customary: they
    change no sublevel complex's homology. Essential classes have ``death = np.inf`` and
    ``death_cell = -1``.

    Parameters
    ----------
    dims : array of int, shape (n,)
        The dimension of each cell.
    incidence : array of int, shape (m, 2)
        The codimension-1 incidences ``(face, coface)``, with ``dims[coface] == dims[face] + 1``.
    values : array of float, shape (n,)
        The filtration values, with ``values[face] <= values[coface]`` for every incidence.

    Returns
    -------
    Persistence

    Raises
    ------
    ValueError
        On malformed arrays, a NaN value, or a face whose value exceeds its coface's.

    Examples
    --------
    A triangle's boundary whose edges enter one by one after its vertices: the components die
    at 1 and 2, and the circle is born at 3.

    >>> dims = [0, 0, 0, 1, 1, 1]
    >>> incidence = [(0, 3), (1, 3), (1, 4), (2, 4), (2, 5), (0, 5)]
    >>> p = persistence(dims, incidence, [0, 0, 0, 1, 2, 3])
    >>> [(int(k), float(b), float(d)) for k, b, d in zip(p.dim, p.birth, p.death)]
    [(0, 0.0, 1.0), (0, 0.0, 2.0), (0, 0.0, inf), (1, 3.0, inf)]
    >>> p.betti_at(1.5).tolist()
    [2, 0]
    """
    d = _as_dims(dims)
    inc = _as_incidence(incidence, d)
    v = np.asarray(values, dtype=np.float64)
    if v.shape != d.shape:
        raise ValueError(f"values must have shape {d.shape}, got {v.shape}")
    if np.isnan(v).any():
        raise ValueError(f"values must not be NaN (cell {int(np.flatnonzero(np.isnan(v))[0])})")
    bad = np.flatnonzero(v[inc[:, 0]] > v[inc[:, 1]])
    if bad.size:
        f, c = inc[bad[0]]
        raise ValueError(f"values are not monotone: face {f} has {v[f]} > {v[c]} of its coface {c}")
    order = np.lexsort((np.arange(len(d)), d, v))
    births, deaths = _pairs(d, inc, order)
    paired = np.zeros(len(d), bool)
    paired[births] = paired[deaths] = True
    keep = v[births] < v[deaths]
    ess = np.flatnonzero(~paired)
    bc = np.concatenate((births[keep], ess))
    dc = np.concatenate((deaths[keep], np.full(len(ess), -1, np.int64)))
    bv = v[bc]
    dv = np.where(dc >= 0, v[dc], np.inf)
    s = np.lexsort((dv, bv, d[bc]))
    return Persistence(dim=d[bc][s], birth=bv[s], death=dv[s], birth_cell=bc[s], death_cell=dc[s],
                       top_dim=int(d.max()) if d.size else -1)
