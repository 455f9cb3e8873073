"""Tensors of a model graph as affine expressions over *state variables*.

An `Expr` is one tensor of a model for one sample (no batch dimension): its entries, flattened in
C order, are ``M @ v[cols] + c``, where ``v`` are the state variables of a
`nncells.models.graph.GraphBuilder` (the input coordinates and the outputs of the nonlinear units
made so far), ``cols`` the sorted ids of the variables this tensor may depend on, ``M`` a
``scipy.sparse`` or dense matrix with one column per entry of ``cols`` and ``c`` the offset.
Affine ops (linear maps, convolutions, additions, concatenations, slicing, reshapes) only
transform expressions; only the nonlinear ops of `GraphBuilder` create variables.

`affine` composes exactly as the chain reader always has (sparse while it can, the dense-size
guard ``_config.MAX_DENSE_ENTRIES`` before anything dense), so a plain chain of layers yields
the same floating-point numbers, and the same `Network`, as before graphs were read.
"""
from __future__ import annotations

from math import prod

import numpy as np
import scipy.sparse as sp

from nncells import _config
from nncells.errors import ModelError


class Expr:
    """A tensor of per-sample shape ``shape``: entries ``M @ v[cols] + c`` (flattened in C order).

    Parameters
    ----------
    shape : tuple of int
    cols : array of int
        Sorted ids of the state variables the entries may depend on.
    M : scipy.sparse array or ndarray, shape (size, len(cols))
    c : array, shape (size,)
    nonneg : bool
        Known to be >= 0 everywhere (the output of a ReLU, possibly reshaped or selected): a ReLU
        of it is the identity.

    Examples
    --------
    >>> import numpy as np
    >>> e = constant(np.arange(6.0).reshape(2, 3))
    >>> e, e.size, e.c.tolist()
    (Expr(shape=(2, 3), 0 variables), 6, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    """

    __slots__ = ("shape", "cols", "M", "c", "nonneg")

    def __init__(self, shape, cols, M, c, nonneg=False):
        self.shape = tuple(int(s) for s in shape)
        self.cols = np.asarray(cols, dtype=np.int64).reshape(-1)
        self.M = M
        self.c = np.asarray(c, dtype=np.float64).reshape(-1)
        self.nonneg = bool(nonneg)
        if self.M.shape != (self.size, len(self.cols)) or self.c.shape != (self.size,):
            raise ModelError(f"internal shape error: {self.M.shape} map, {self.c.shape} offset for shape {self.shape}")

    @property
    def size(self) -> int:
        """Number of entries."""
        return prod(self.shape)

    def __repr__(self) -> str:
        return f"Expr(shape={self.shape}, {len(self.cols)} variables)"


def constant(value) -> Expr:
    """A tensor that depends on no variable.

    Examples
    --------
    >>> constant([1.0, 2.0]).shape
    (2,)
    """
    value = np.asarray(value, dtype=np.float64)
    return Expr(value.shape, [], sp.csr_array((value.size, 0)), value.reshape(-1))


def check_dense(rows: int, cols: int, what: str) -> None:
    """Refuse a dense ``rows x cols`` matrix beyond ``_config.MAX_DENSE_ENTRIES`` entries.

    Examples
    --------
    >>> check_dense(10, 10, "a map")
    >>> check_dense(10**5, 10**5, "a map")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nncells.errors.ModelError: a map would be a dense 100000 x 100000 matrix ...
    """
    if rows * cols > _config.MAX_DENSE_ENTRIES:
        raise ModelError(
            f"{what} would be a dense {rows} x {cols} matrix ({rows * cols:.3g} entries, "
            f"more than the limit of {_config.MAX_DENSE_ENTRIES:.0e}); exact region analysis of a model "
            f"this large is out of reach anyway: use a smaller input shape or model")


def dense(M) -> np.ndarray:
    """``M`` as a dense array (sparse matrices are converted, entries unchanged).

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> dense(sp.identity(2, format="csr")).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return M.toarray() if sp.issparse(M) else np.asarray(M)


def affine(e: Expr, A, b, out_shape) -> Expr:
    """``x -> A x + b`` on the flattened entries of ``e``; the result has shape ``out_shape``.

    Examples
    --------
    >>> import numpy as np
    >>> e = affine(constant([1.0, 2.0]), np.array([[1.0, 1.0]]), 0.5, (1,))
    >>> e.shape, e.c.tolist()
    ((1,), [3.5])
    """
    out_shape = tuple(int(s) for s in out_shape)
    n_out = prod(out_shape)
    if A.shape != (n_out, e.size):
        raise ModelError(f"internal shape error: map {A.shape} on a tensor of {e.size} entries")
    b = np.broadcast_to(np.asarray(b, dtype=np.float64).reshape(-1), (n_out,))
    if not (sp.issparse(A) and sp.issparse(e.M)):
        check_dense(n_out, e.M.shape[1], "the composed affine map")
    if sp.issparse(A):
        M = A @ e.M
    elif sp.issparse(e.M):
        M = (e.M.T @ np.asarray(A).T).T
    else:
        M = np.asarray(A) @ e.M
    c = np.asarray(A @ e.c).reshape(-1) + b
    return Expr(out_shape, e.cols, M, c)


def reshape(e: Expr, shape) -> Expr:
    """The same entries with a new shape (C order).

    Examples
    --------
    >>> reshape(constant([1.0, 2.0, 3.0, 4.0]), (2, 2)).shape
    (2, 2)
    """
    shape = tuple(int(s) for s in shape)
    if prod(shape) != e.size:
        raise ModelError(f"cannot reshape a tensor of shape {e.shape} to {shape}")
    return Expr(shape, e.cols, e.M, e.c, e.nonneg)


def gather(e: Expr, idx) -> Expr:
    """The entries ``idx`` (an int array of any shape, flat indices into ``e``): slicing,
    transposes, broadcasting and selections are all gathers.

    Examples
    --------
    >>> import numpy as np
    >>> gather(constant([5.0, 6.0, 7.0]), np.array([[2, 0], [1, 1]])).c.tolist()
    [7.0, 5.0, 6.0, 6.0]
    """
    idx = np.asarray(idx, dtype=np.int64)
    flat = idx.reshape(-1)
    if flat.size and (flat.min() < 0 or flat.max() >= e.size):
        raise ModelError(f"internal index error: entries {flat.min()}..{flat.max()} of {e.size}")
    M = e.M[flat] if len(flat) else e.M[:0]
    return Expr(idx.shape, e.cols, M, e.c[flat], e.nonneg)


def broadcast(e: Expr, shape) -> Expr:
    """``e`` broadcast to ``shape`` (numpy's rules).

    Examples
    --------
    >>> broadcast(constant([1.0, 2.0]), (2, 2)).c.tolist()
    [1.0, 2.0, 1.0, 2.0]
    """
    shape = tuple(int(s) for s in shape)
    if shape == e.shape:
        return e
    try:
        idx = np.broadcast_to(np.arange(e.size).reshape(e.shape), shape)
    except ValueError:
        raise ModelError(f"a tensor of shape {e.shape} does not broadcast to {shape}") from None
    return gather(e, idx)


def _widen(e: Expr, cols: np.ndarray):
    """``e.M`` with one column per entry of ``cols`` (a sorted superset of ``e.cols``)."""
    if len(cols) == len(e.cols):
        return e.M
    pos = np.searchsorted(cols, e.cols)
    if sp.issparse(e.M):
        coo = sp.coo_array(e.M)
        return sp.csr_array((coo.data, (coo.row, pos[coo.col])), shape=(e.size, len(cols)))
    check_dense(e.size, len(cols), "a combined affine map")
    out = np.zeros((e.size, len(cols)))
    out[:, pos] = e.M
    return out


def lincomb(terms, shift=0.0) -> Expr:
    """``sum_k s_k * e_k + shift`` for ``terms = [(s_k, e_k), ...]`` with equal shapes; ``s_k``
    scalars or arrays broadcastable to the shape.

    Examples
    --------
    >>> a, b = constant([1.0, 2.0]), constant([10.0, 20.0])
    >>> lincomb([(1.0, a), (-2.0, b)], shift=1.0).c.tolist()
    [-18.0, -37.0]
    """
    shape = terms[0][1].shape
    if any(t.shape != shape for _, t in terms):
        raise ModelError(f"internal shape error: combining shapes {[t.shape for _, t in terms]}")
    cols = np.unique(np.concatenate([t.cols for _, t in terms]))
    n = prod(shape)
    is_sparse = all(sp.issparse(t.M) for _, t in terms)
    if not is_sparse:
        check_dense(n, len(cols), "a combined affine map")
    M = sp.csr_array((n, len(cols))) if is_sparse else np.zeros((n, len(cols)))
    c = np.zeros(n)
    for s, t in terms:
        s = np.broadcast_to(np.asarray(s, dtype=np.float64), shape).reshape(-1)
        W = _widen(t, cols)
        if is_sparse:
            M = M + (sp.diags_array(s, format="csr") @ W if np.any(s != 1.0) else W)
        else:
            M = M + s[:, None] * dense(W)
        c = c + s * t.c
    c = c + np.broadcast_to(np.asarray(shift, dtype=np.float64), shape).reshape(-1)
    return Expr(shape, cols, sp.csr_array(M) if is_sparse else M, c)


def concat_flat(exprs) -> Expr:
    """All entries of ``exprs``, one after the other, as a 1-D tensor.

    Examples
    --------
    >>> concat_flat([constant([1.0]), constant([[2.0, 3.0]])]).c.tolist()
    [1.0, 2.0, 3.0]
    """
    cols = np.unique(np.concatenate([e.cols for e in exprs]))
    Ms = [_widen(e, cols) for e in exprs]
    n = sum(e.size for e in exprs)
    if all(sp.issparse(M) for M in Ms):
        M = sp.csr_array(sp.vstack(Ms, format="csr"))
    else:
        check_dense(n, len(cols), "a concatenation")
        M = np.vstack([dense(M) for M in Ms])
    return Expr((n,), cols, M, np.concatenate([e.c for e in exprs]), all(e.nonneg for e in exprs))


def concat(exprs, axis: int) -> Expr:
    """Concatenation along ``axis`` of the per-sample shape.

    Examples
    --------
    >>> import numpy as np
    >>> e = concat([constant(np.zeros((2, 1))), constant(np.ones((2, 2)))], axis=1)
    >>> e.shape, e.c.tolist()
    ((2, 3), [0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    """
    shapes = [e.shape for e in exprs]
    rest = [s[:axis] + s[axis + 1:] for s in shapes]
    if any(len(s) != len(shapes[0]) for s in shapes) or any(r != rest[0] for r in rest):
        raise ModelError(f"cannot concatenate shapes {shapes} along axis {axis}")
    parts, start = [], 0
    for e in exprs:
        parts.append(np.arange(start, start + e.size).reshape(e.shape))
        start += e.size
    return gather(concat_flat(exprs), np.concatenate(parts, axis=axis))
