"""Affine layers on `Expr` tensors: linear maps, convolutions, average pooling, batch norm.

Each layer is a sparse (or, for ``Linear``, dense) matrix applied with `nncells.models.expr.affine`;
the functions here only build those matrices (and the windows of max pooling, for
`nncells.models.graph.GraphBuilder.maxpool2d`).
"""
from __future__ import annotations

from math import prod

import numpy as np
import scipy.sparse as sp

from nncells.errors import ModelError
from nncells.models.expr import Expr, affine


def linear(e: Expr, W, b=None) -> Expr:
    """``x @ W.T + b`` along the last axis (``W`` shaped (out, in), as torch's Linear).

    Examples
    --------
    >>> import numpy as np
    >>> from nncells.models.expr import constant
    >>> linear(constant([1.0, 2.0]), np.array([[1.0, 1.0], [0.0, 2.0]]), [0.0, 1.0]).c.tolist()
    [3.0, 5.0]
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or not e.shape or W.shape[1] != e.shape[-1]:
        raise ModelError(
            f"a {W.shape[1] if W.ndim == 2 else '?'}-input linear map cannot apply to a tensor "
            f"of shape {e.shape}")
    rest = prod(e.shape[:-1])
    bias = np.zeros(W.shape[0]) if b is None else np.asarray(b, dtype=np.float64).reshape(-1)
    A = W if rest == 1 else sp.kron(sp.identity(rest, format="csr"), sp.csr_array(W), format="csr")
    return affine(e, A, np.tile(bias, rest), e.shape[:-1] + (W.shape[0],))


def elementwise(e: Expr, scale, shift) -> Expr:
    """``scale * x + shift`` with arrays broadcastable to the shape of ``e``.

    Examples
    --------
    >>> from nncells.models.expr import constant
    >>> elementwise(constant([1.0, 2.0]), [2.0, 3.0], 1.0).c.tolist()
    [3.0, 7.0]
    """
    s = np.broadcast_to(np.asarray(scale, dtype=np.float64), e.shape).reshape(-1)
    t = np.broadcast_to(np.asarray(shift, dtype=np.float64), e.shape).reshape(-1)
    return affine(e, sp.diags_array(s, format="csr"), t, e.shape)


def channel_affine(e: Expr, scale, shift) -> Expr:
    """Per-channel ``scale * x + shift`` along axis 0 of the sample (batch normalisation).

    Examples
    --------
    >>> import numpy as np
    >>> from nncells.models.expr import constant
    >>> channel_affine(constant(np.ones((2, 2))), [1.0, 2.0], [0.0, 1.0]).c.tolist()
    [1.0, 1.0, 3.0, 3.0]
    """
    C = e.shape[0] if e.shape else 0
    scale, shift = np.asarray(scale, dtype=np.float64), np.asarray(shift, dtype=np.float64)
    if scale.shape != (C,) or shift.shape != (C,):
        raise ModelError(f"{scale.size} channel parameters for a tensor of shape {e.shape}")
    extra = (1,) * (len(e.shape) - 1)
    return elementwise(e, scale.reshape((C,) + extra), shift.reshape((C,) + extra))


def conv2d(e: Expr, weight, bias=None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1) -> Expr:
    """2-D convolution (cross-correlation) of a (C, H, W) tensor; ``pads`` is (top, left, bottom, right).

    Examples
    --------
    >>> import numpy as np
    >>> from nncells.models.expr import constant
    >>> conv2d(constant(np.ones((1, 3, 3))), np.ones((2, 1, 2, 2))).shape
    (2, 2, 2)
    """
    if len(e.shape) != 3:
        raise ModelError(f"a 2-D convolution needs a (channels, height, width) input, got shape {e.shape}")
    A, out_shape = conv2d_matrix(weight, e.shape, stride, pads, dilation, groups)
    b = np.zeros(out_shape[0]) if bias is None else np.asarray(bias, dtype=np.float64)
    return affine(e, A, np.repeat(b, out_shape[1] * out_shape[2]), out_shape)


def avgpool2d(e: Expr, kernel, stride, pads=(0, 0, 0, 0), ceil_mode=False, count_include_pad=True,
              divisor_override=None) -> Expr:
    """2-D average pooling of a (C, H, W) tensor (torch's conventions for the divisor).

    Examples
    --------
    >>> import numpy as np
    >>> from nncells.models.expr import constant
    >>> avgpool2d(constant(np.arange(4.0).reshape(1, 2, 2)), (2, 2), (2, 2)).c.tolist()
    [1.5]
    """
    if len(e.shape) != 3:
        raise ModelError(f"2-D average pooling needs a (channels, height, width) input, got shape {e.shape}")
    C, H, W = e.shape
    Ph = _pool_1d(H, kernel[0], stride[0], pads[0], pads[2], ceil_mode, count_include_pad, divisor_override)
    Pw = _pool_1d(W, kernel[1], stride[1], pads[1], pads[3], ceil_mode, count_include_pad, divisor_override)
    P = sp.kron(Ph, Pw, format="csr")
    if divisor_override:
        P = P / float(divisor_override)
    A = sp.kron(sp.identity(C, format="csr"), P, format="csr")
    return affine(e, A, 0.0, (C, Ph.shape[0], Pw.shape[0]))


# ------------------------------------------------------------------ matrices
def conv_output_size(n, k, s, p0, p1, d=1) -> int:
    """Output length of a convolution along one axis.

    Examples
    --------
    >>> conv_output_size(5, 3, 1, 1, 1)
    5
    """
    out = (n + p0 + p1 - d * (k - 1) - 1) // s + 1
    if out <= 0:
        raise ModelError(f"a kernel of size {k} does not fit an input of size {n} (padding {p0}, {p1})")
    return out


def conv2d_matrix(weight, in_shape, stride, pads, dilation, groups):
    """Sparse matrix of a 2-D convolution on flattened (C, H, W) tensors, and the output shape.

    Examples
    --------
    >>> import numpy as np
    >>> A, shape = conv2d_matrix(np.ones((1, 1, 2, 2)), (1, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1)
    >>> A.shape, shape
    ((4, 9), (1, 2, 2))
    """
    weight = np.asarray(weight, dtype=np.float64)
    Cout, Cin_g, kh, kw = weight.shape
    C, H, W = in_shape
    if C != Cin_g * groups or Cout % groups:
        raise ModelError(f"convolution weight {weight.shape} with {groups} group(s) does not fit "
                         f"an input with {C} channels")
    (sh, sw), (dh, dw) = stride, dilation
    pt, pl, pb, pr = pads
    Ho, Wo = conv_output_size(H, kh, sh, pt, pb, dh), conv_output_size(W, kw, sw, pl, pr, dw)
    oc, icg, i, j, oy, ox = np.meshgrid(np.arange(Cout), np.arange(Cin_g), np.arange(kh), np.arange(kw),
                                        np.arange(Ho), np.arange(Wo), indexing="ij", sparse=False)
    ic = (oc // (Cout // groups)) * Cin_g + icg
    y = oy * sh - pt + i * dh
    x = ox * sw - pl + j * dw
    ok = (y >= 0) & (y < H) & (x >= 0) & (x < W)
    rows = ((oc * Ho + oy) * Wo + ox)[ok]
    cols = ((ic * H + y) * W + x)[ok]
    vals = weight[oc, icg, i, j][ok]
    A = sp.csr_array((vals, (rows, cols)), shape=(Cout * Ho * Wo, C * H * W))
    return A, (Cout, Ho, Wo)


def _pool_1d(n, k, s, p0, p1, ceil_mode, count_include_pad, divisor_override):
    """One axis of average pooling: a sparse (out, n) matrix (binary if ``divisor_override``)."""
    span = n + p0 + p1 - k
    if span < 0:
        raise ModelError(f"a pooling window of size {k} does not fit an input of size {n}")
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p0:   # the last window may not start in the padding
        out -= 1
    rows, cols, vals = [], [], []
    for o in range(out):
        start = o * s - p0
        end = min(start + k, n + p1)
        padded = end - start
        lo, hi = max(start, 0), min(end, n)
        div = 1.0 if divisor_override else float(padded if count_include_pad else hi - lo)
        rows += [o] * (hi - lo)
        cols += list(range(lo, hi))
        vals += [1.0 / div] * (hi - lo)
    return sp.csr_array((vals, (rows, cols)), shape=(out, n))


def pool_windows(n, k, s, p0, p1, d=1, ceil_mode=False) -> list[list[int]]:
    """Max pooling along one axis: for every output, the input positions of its window that are
    not padding (padding is -inf and never wins), in order.

    Examples
    --------
    >>> pool_windows(5, 2, 2, 0, 0)
    [[0, 1], [2, 3]]
    >>> pool_windows(5, 2, 2, 0, 0, ceil_mode=True)
    [[0, 1], [2, 3], [4]]
    >>> pool_windows(4, 3, 2, 1, 1)
    [[0, 1], [1, 2, 3]]
    """
    span = n + p0 + p1 - d * (k - 1) - 1
    if span < 0:
        raise ModelError(f"a pooling window of size {k} (dilation {d}) does not fit an input of size {n}")
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p0:   # the last window may not start in the padding
        out -= 1
    windows = [[o * s - p0 + j * d for j in range(k) if 0 <= o * s - p0 + j * d < n] for o in range(out)]
    if any(not w for w in windows):
        raise ModelError(f"a max-pooling window lies entirely in the padding (kernel {k}, padding {p0}, {p1})")
    return windows
