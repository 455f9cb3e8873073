"""Tensor operations with a batch dimension, on `Expr` tensors and constants: shared by the readers.

The readers see the model's own tensors, which have a leading batch dimension; an `Expr` is one
sample. Axes given by the model count the batch (axis 0); an op along the batch axis is refused.
Constants are numpy arrays whose shapes broadcast against the full (batch-included) shape.

`Final` marks the output of an op that a reader may drop at the end of the model (a Softmax,
Sigmoid or LogSoftmax): it changes no region, but it is not piecewise linear, so it is only
dropped if nothing but the model's output uses it.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

from nncells.errors import ModelError
from nncells.models import expr as ex
from nncells.models.expr import Expr

BATCH = type("Batch", (), {"__repr__": lambda self: "BATCH"})()   # the batch size, as a shape entry
FINAL_OPS = ("Softmax", "Sigmoid", "LogSoftmax")


@dataclass
class Final:
    """The output of a final op (Softmax, Sigmoid, LogSoftmax) that is dropped if it is the
    model's output: ``value`` is its input, ``ops`` the names of the dropped ops (as
    ``"Softmax at 'head.2'"``), ``where`` the last of them as error messages name it.

    Examples
    --------
    >>> Final(None, ["Softmax at 'head.2'"], "layer 5 (Softmax at 'head.2')").ops
    ["Softmax at 'head.2'"]
    """

    value: Expr
    ops: list
    where: str = ""


def is_dynamic(v) -> bool:
    """Whether ``v`` depends on the input (an `Expr` with variables).

    Examples
    --------
    >>> is_dynamic(ex.constant([1.0])), is_dynamic(3.0)
    (False, False)
    """
    return isinstance(v, Expr) and len(v.cols) > 0


def const_value(v):
    """The full-shape numpy value of a constant (an `Expr` without variables gets batch 1).

    Examples
    --------
    >>> const_value(ex.constant([1.0, 2.0])).shape
    (1, 2)
    """
    if isinstance(v, Expr):
        return v.c.reshape((1,) + v.shape)
    return np.asarray(v, dtype=np.float64)


def axis(e: Expr, a, what="this op") -> int:
    """The per-sample axis of the model's axis ``a`` (which counts the batch; may be negative).

    Examples
    --------
    >>> axis(ex.constant(np.zeros((2, 3))), -1)
    1
    """
    rank = len(e.shape) + 1
    a = int(a)
    if not -rank <= a < rank:
        raise ModelError(f"axis {a} is out of range for a tensor of rank {rank}")
    a %= rank
    if a == 0:
        raise ModelError(f"{what} along the batch axis is not supported")
    return a - 1


def with_const(e: Expr, k):
    """``e`` broadcast against the constant ``k`` (full shape), and ``k`` for one sample.

    Examples
    --------
    >>> e, k = with_const(ex.constant([1.0, 2.0]), np.array([[3.0], [4.0]])[None])
    Traceback (most recent call last):
    ...
    nncells.errors.ModelError: a constant of shape (1, 2, 1) does not broadcast against a tensor of rank 2
    >>> e, k = with_const(ex.constant([[1.0, 2.0]]), np.array([[[3.0], [4.0]]]))
    >>> e.shape, k.tolist()
    ((2, 2), [[3.0, 3.0], [4.0, 4.0]])
    """
    k = np.asarray(k, dtype=np.float64)
    full = (1,) + e.shape
    if k.ndim > len(full):
        raise ModelError(f"a constant of shape {k.shape} does not broadcast against a tensor of rank {len(full)}")
    try:
        out = np.broadcast_shapes(full, k.shape)
    except ValueError:
        raise ModelError(f"a constant of shape {k.shape} does not broadcast against shape {full}") from None
    if out[0] != 1:
        raise ModelError(f"a constant of shape {k.shape} changes the batch dimension")
    return ex.broadcast(e, out[1:]), np.broadcast_to(k, out)[0]


def binary(op: str, a, b):
    """``a op b`` for ``op`` in add, sub, mul, div with numpy broadcasting; ``a`` and ``b`` are
    `Expr` tensors or constants. A product or quotient of two dynamic tensors is refused.

    Examples
    --------
    >>> from nncells.models.graph import GraphBuilder
    >>> x = GraphBuilder((2,)).input
    >>> binary("sub", 10.0, x).c.tolist(), binary("mul", x, [[2.0, 3.0]]).M.toarray().tolist()
    ([10.0, 10.0], [[2.0, 0.0], [0.0, 3.0]])
    """
    if not is_dynamic(a) and not is_dynamic(b):
        a, b = const_value(a), const_value(b)
        return {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[op](a, b)
    if is_dynamic(a) and is_dynamic(b):
        if op in ("mul", "div"):
            raise ModelError("a product or quotient of two tensors that depend on the input is not "
                             "piecewise linear")
        shape = np.broadcast_shapes(a.shape, b.shape)
        a, b = ex.broadcast(a, shape), ex.broadcast(b, shape)
        return ex.lincomb([(1.0, a), (1.0 if op == "add" else -1.0, b)])
    if not is_dynamic(a) and is_dynamic(b):   # a constant on the left
        if op == "div":
            raise ModelError("dividing by a tensor that depends on the input is not piecewise linear")
        e, k = with_const(b, const_value(a))
        return ex.lincomb([(-1.0 if op == "sub" else (k if op == "mul" else 1.0), e)],
                          shift=0.0 if op == "mul" else k)
    e, k = with_const(a, const_value(b))
    if op == "add":
        return ex.lincomb([(1.0, e)], shift=k)
    if op == "sub":
        return ex.lincomb([(1.0, e)], shift=-k)
    return ex.lincomb([(k if op == "mul" else 1.0 / k, e)])


def as_expr(v) -> Expr:
    """An `Expr` for ``v`` (a constant's batch dimension of 1 is removed).

    Examples
    --------
    >>> as_expr(np.ones((1, 3))).shape
    (3,)
    """
    if isinstance(v, Expr):
        return v
    k = np.asarray(v, dtype=np.float64)
    if k.ndim == 0 or k.shape[0] != 1:
        raise ModelError(f"a constant of shape {k.shape} has no batch dimension of 1")
    return ex.constant(k[0])


def concat(values, a) -> Expr:
    """Concatenation along the model's axis ``a``.

    Examples
    --------
    >>> concat([ex.constant([1.0]), ex.constant([2.0, 3.0])], 1).c.tolist()
    [1.0, 2.0, 3.0]
    """
    exprs = [as_expr(v) for v in values]
    return ex.concat(exprs, axis(exprs[0], a, "a concatenation"))


def _index(e: Expr) -> np.ndarray:
    return np.arange(e.size).reshape(e.shape)


def take_slice(e: Expr, a, start=None, end=None, step=1) -> Expr:
    """``e[..., start:end:step, ...]`` along the model's axis ``a``; along the batch axis only the
    whole batch may be taken.

    Examples
    --------
    >>> take_slice(ex.constant(np.arange(6.0).reshape(2, 3)), 2, 1, None).c.tolist()
    [1.0, 2.0, 4.0, 5.0]
    """
    rank = len(e.shape) + 1
    if not -rank <= int(a) < rank:
        raise ModelError(f"axis {a} is out of range for a tensor of rank {rank}")
    a = int(a) % rank
    step = 1 if step is None else int(step)
    if a == 0:
        if step != 1 or start not in (None, 0) or not (end is None or int(end) >= 2 ** 31 - 1):
            raise ModelError("slicing the batch dimension is not supported")
        return e
    start, end = (None if v is None else int(v) for v in (start, end))
    sl = [slice(None)] * len(e.shape)
    sl[a - 1] = slice(start, end, step)
    idx = _index(e)[tuple(sl)]
    if idx.size == 0:
        raise ModelError(f"slicing gives an empty tensor of shape {idx.shape}")
    return ex.gather(e, idx)


def take(e: Expr, a, indices) -> Expr:
    """Entries ``indices`` (an int or an int array: numpy's ``take``) along the model's axis ``a``.

    Examples
    --------
    >>> take(ex.constant(np.arange(6.0).reshape(2, 3)), 1, 1).c.tolist()
    [3.0, 4.0, 5.0]
    """
    ax = axis(e, a, "indexing")
    idx = np.asarray(indices, dtype=np.int64)
    idx = np.where(idx < 0, idx + e.shape[ax], idx)
    return ex.gather(e, np.take(_index(e), idx, axis=ax))


def getitem(e: Expr, key) -> Expr:
    """Python indexing ``x[key]`` of the model's tensor (slices, ints, None, Ellipsis); the
    batch axis must be taken whole.

    Examples
    --------
    >>> getitem(ex.constant(np.arange(6.0).reshape(2, 3)), (slice(None), 0, slice(1, None))).c.tolist()
    [1.0, 2.0]
    """
    key = key if isinstance(key, tuple) else (key,)
    if any(k is Ellipsis for k in key):
        i = key.index(Ellipsis)
        n_real = sum(k is not None for k in key) - 1
        key = key[:i] + (slice(None),) * (len(e.shape) + 1 - n_real) + key[i + 1:]
    first = next((j for j, k in enumerate(key) if k is not None), None)
    if first is None or key[first] != slice(None):
        raise ModelError(f"indexing {key!r} does not keep the whole batch dimension")
    key = key[:first] + key[first + 1:]
    if any(k is None for k in key[:first]):
        raise ModelError("a new axis before the batch dimension is not supported")
    for k in key:
        if not (k is None or isinstance(k, (slice, int, np.integer))):
            raise ModelError(f"indexing with {type(k).__name__} is not supported")
    idx = _index(e)[tuple(key)]
    if idx.size == 0:
        raise ModelError(f"indexing gives an empty tensor of shape {idx.shape}")
    return ex.gather(e, idx)


def permute(e: Expr, perm) -> Expr:
    """Axes permuted by ``perm`` (the model's axes; the batch axis must stay first).

    Examples
    --------
    >>> permute(ex.constant(np.arange(6.0).reshape(2, 3)), [0, 2, 1]).shape
    (3, 2)
    """
    rank = len(e.shape) + 1
    perm = [int(p) % rank for p in perm]
    if sorted(perm) != list(range(rank)) or perm[0] != 0:
        raise ModelError(f"permutation {perm} moves the batch axis")
    return ex.gather(e, np.transpose(_index(e), [p - 1 for p in perm[1:]]))


def transpose(e: Expr, a, b) -> Expr:
    """Axes ``a`` and ``b`` (the model's) swapped.

    Examples
    --------
    >>> transpose(ex.constant(np.arange(6.0).reshape(2, 3)), 1, 2).shape
    (3, 2)
    """
    perm = list(range(len(e.shape) + 1))
    a, b = int(a) % len(perm), int(b) % len(perm)
    perm[a], perm[b] = perm[b], perm[a]
    return permute(e, perm)


def unsqueeze(e: Expr, a) -> Expr:
    """A new axis of size 1 at the model's axis ``a`` (counted in the result).

    Examples
    --------
    >>> unsqueeze(ex.constant([1.0, 2.0]), 1).shape
    (1, 2)
    """
    rank = len(e.shape) + 2
    a = int(a) % rank
    if a == 0:
        raise ModelError("a new axis before the batch dimension is not supported")
    return ex.reshape(e, e.shape[:a - 1] + (1,) + e.shape[a - 1:])


def squeeze(e: Expr, axes=None) -> Expr:
    """Axes of size 1 removed (``axes``: the model's, or None for all but the batch axis).

    Examples
    --------
    >>> squeeze(ex.constant(np.zeros((1, 3, 1)))).shape
    (3,)
    """
    if axes is None:
        keep = [s for s in e.shape if s != 1]
    else:
        axes = [axes] if np.ndim(axes) == 0 else list(axes)
        drop = {axis(e, a, "squeeze") for a in axes}
        keep = [s for i, s in enumerate(e.shape) if i not in drop or s != 1]
    return ex.reshape(e, keep)


def flatten(e: Expr, start=1, end=-1) -> Expr:
    """Axes ``start..end`` (the model's, inclusive) merged into one.

    Examples
    --------
    >>> flatten(ex.constant(np.zeros((2, 3, 4))), 1).shape
    (24,)
    """
    full = (1,) + e.shape
    start, end = int(start) % len(full), int(end) % len(full)
    new = full[:start] + (prod(full[start:end + 1]),) + full[end + 1:]
    return ex.reshape(e, new[1:] if start >= 1 else new)


def reshape(e: Expr, target, batch=1) -> Expr:
    """``x.reshape(target)`` for the model's target shape: ``BATCH`` (or ``batch``, a batch size
    the model wrote as a number) stands for the batch dimension, ``-1`` for the rest; a 1-D target
    is the sample's own shape (a model with batch 1).

    Examples
    --------
    >>> reshape(ex.constant(np.zeros((2, 3))), [BATCH, -1]).shape
    (6,)
    """
    target = [1 if v is BATCH or v is None else int(v) for v in target]
    if len(target) > 1 and batch != 1 and target[0] == batch:
        target[0] = 1
    if target.count(-1) > 1:
        raise ModelError(f"reshape target {target} has more than one -1")
    if -1 in target:
        known = prod(v for v in target if v != -1)
        target[target.index(-1)] = e.size // known if known else 0
    if len(target) == 1:
        return ex.reshape(e, target)
    if target[0] != 1:
        raise ModelError(f"reshape to {tuple(target)} changes the batch dimension")
    return ex.reshape(e, target[1:])
