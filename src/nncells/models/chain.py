"""Turning a chain of layers into a `Network`: the part shared by the PyTorch and ONNX readers.

A `ChainBuilder` follows one tensor through a model. Affine layers (linear, convolution,
average pooling, batch normalisation, reshapes, elementwise scale and shift) are composed into
one *pending* affine map; a ReLU closes the pending map as a layer of the `Network`. Matrices
stay sparse (``scipy.sparse``) while they are built and become dense only when a layer is
closed, and the builder refuses before a dense matrix would exceed ``_config.MAX_DENSE_ENTRIES``.

LeakyReLU with slope ``a`` is exact in a plain ReLU network by doubling its width:
``leaky(z) = relu(z) - a * relu(-z)``. The closed layer holds ``[z; -z]`` and the next
pending map starts from ``[I, -a I]``. For every region of the leaky network, the pair
``(z > 0, -z > 0)`` is ``(True, False)`` or ``(False, True)``, so the regions (and their
count) are those of the leaky network; only the patterns are twice as long.
"""
from __future__ import annotations

import importlib
from math import prod

import numpy as np
import scipy.sparse as sp

from nncells import _config
from nncells.errors import ModelError
from nncells.network import Network



def import_optional(name: str, extra: str):
    """Import the optional dependency ``name`` or fail with how to install it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ModelError(
            f"reading this model needs the '{name}' package: install nncells[{extra}]") from None


def _check_dense(rows: int, cols: int, what: str) -> None:
    if rows * cols > _config.MAX_DENSE_ENTRIES:
        raise ModelError(
            f"{what} would be a dense {rows} x {cols} matrix ({rows * cols:.3g} entries, "
            f"more than the limit of {_config.MAX_DENSE_ENTRIES:.0e}); exact region analysis of a model "
            f"this large is out of reach anyway: use a smaller input shape or model")


def _is_sparse(A) -> bool:
    return sp.issparse(A)


class ChainBuilder:
    """Follow one tensor of per-sample shape ``input_shape`` through a chain of layers.

    Parameters
    ----------
    input_shape : tuple of int
        Shape of one input sample (no batch dimension), e.g. ``(784,)`` or ``(1, 28, 28)``.

    The current tensor, flattened in C order, is ``M @ h + c`` where ``h`` is the output of
    the last ReLU (or the network input) and ``(M, c)`` is the pending affine map.
    """

    def __init__(self, input_shape):
        shape = tuple(int(s) for s in input_shape)
        if not shape or any(s <= 0 for s in shape):
            raise ModelError(f"input shape must be positive integers, got {tuple(input_shape)}")
        self.input_shape = shape
        self.shape = shape
        self._layers: list[tuple[np.ndarray, np.ndarray]] = []
        self._reset()

    @property
    def size(self) -> int:
        """Number of entries of the current tensor."""
        return prod(self.shape)

    def _reset(self) -> None:
        self._M = sp.identity(self.size, format="csr")
        self._c = np.zeros(self.size)
        self._after_relu = False

    # ------------------------------------------------------------- affine maps
    def affine(self, A, b, out_shape) -> None:
        """Apply ``x -> A x + b`` to the flattened current tensor; its new shape is ``out_shape``."""
        out_shape = tuple(int(s) for s in out_shape)
        n_out = prod(out_shape)
        if A.shape != (n_out, self.size):
            raise ModelError(f"internal shape error: map {A.shape} on a tensor of {self.size} entries")
        b = np.broadcast_to(np.asarray(b, dtype=np.float64).reshape(-1), (n_out,))
        if not (_is_sparse(A) and _is_sparse(self._M)):
            _check_dense(n_out, self._M.shape[1], "the composed affine map")
        if _is_sparse(A):
            M = A @ self._M
        elif _is_sparse(self._M):
            M = (self._M.T @ np.asarray(A).T).T
        else:
            M = np.asarray(A) @ self._M
        self._c = np.asarray(A @ self._c).reshape(-1) + b
        self._M = M
        self.shape = out_shape
        self._after_relu = False

    def reshape(self, shape) -> None:
        """Give the current tensor a new shape with the same number of entries (C order)."""
        shape = tuple(int(s) for s in shape)
        if prod(shape) != self.size:
            raise ModelError(f"cannot reshape a tensor of shape {self.shape} to {shape}")
        self.shape = shape

    def linear(self, W, b=None) -> None:
        """``x @ W.T + b`` along the last axis (``W`` shaped (out, in), as torch's Linear)."""
        W = np.asarray(W, dtype=np.float64)
        if W.ndim != 2 or W.shape[1] != self.shape[-1]:
            raise ModelError(
                f"a {W.shape[1] if W.ndim == 2 else '?'}-input linear map cannot apply to a tensor "
                f"of shape {self.shape}")
        rest = prod(self.shape[:-1])
        bias = np.zeros(W.shape[0]) if b is None else np.asarray(b, dtype=np.float64).reshape(-1)
        A = W if rest == 1 else sp.kron(sp.identity(rest, format="csr"), sp.csr_array(W), format="csr")
        self.affine(A, np.tile(bias, rest), self.shape[:-1] + (W.shape[0],))

    def elementwise(self, scale, shift) -> None:
        """``scale * x + shift`` with arrays broadcastable to the current shape."""
        s = np.broadcast_to(np.asarray(scale, dtype=np.float64), self.shape).reshape(-1)
        t = np.broadcast_to(np.asarray(shift, dtype=np.float64), self.shape).reshape(-1)
        self.affine(sp.diags_array(s, format="csr"), t, self.shape)

    def channel_affine(self, scale, shift) -> None:
        """Per-channel ``scale * x + shift`` along axis 0 of the sample (batch normalisation)."""
        C = self.shape[0]
        scale, shift = np.asarray(scale, dtype=np.float64), np.asarray(shift, dtype=np.float64)
        if scale.shape != (C,) or shift.shape != (C,):
            raise ModelError(f"{scale.size} channel parameters for a tensor of shape {self.shape}")
        extra = (1,) * (len(self.shape) - 1)
        self.elementwise(scale.reshape((C,) + extra), shift.reshape((C,) + extra))

    def conv2d(self, weight, bias=None, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), groups=1):
        """2-D convolution (cross-correlation) of a (C, H, W) tensor; ``pads`` is (top, left, bottom, right)."""
        if len(self.shape) != 3:
            raise ModelError(f"a 2-D convolution needs a (channels, height, width) input, got shape {self.shape}")
        A, out_shape = conv2d_matrix(weight, self.shape, stride, pads, dilation, groups)
        b = np.zeros(out_shape[0]) if bias is None else np.asarray(bias, dtype=np.float64)
        self.affine(A, np.repeat(b, out_shape[1] * out_shape[2]), out_shape)

    def avgpool2d(self, kernel, stride, pads=(0, 0, 0, 0), ceil_mode=False, count_include_pad=True,
                  divisor_override=None) -> None:
        """2-D average pooling of a (C, H, W) tensor (torch's conventions for the divisor)."""
        if len(self.shape) != 3:
            raise ModelError(f"2-D average pooling needs a (channels, height, width) input, got shape {self.shape}")
        C, H, W = self.shape
        Ph = _pool_1d(H, kernel[0], stride[0], pads[0], pads[2], ceil_mode, count_include_pad, divisor_override)
        Pw = _pool_1d(W, kernel[1], stride[1], pads[1], pads[3], ceil_mode, count_include_pad, divisor_override)
        P = sp.kron(Ph, Pw, format="csr")
        if divisor_override:
            P = P / float(divisor_override)
        A = sp.kron(sp.identity(C, format="csr"), P, format="csr")
        self.affine(A, 0.0, (C, Ph.shape[0], Pw.shape[0]))

    # ------------------------------------------------------------ activations
    def _close(self, W, b) -> None:
        rows, cols = W.shape
        _check_dense(rows, cols, f"hidden layer {len(self._layers)}")
        W = W.toarray() if _is_sparse(W) else np.asarray(W)
        self._layers.append((W, np.asarray(b, dtype=np.float64)))

    def relu(self) -> None:
        """Close the pending affine map as a ReLU layer (a ReLU right after a ReLU changes nothing)."""
        if self._after_relu:
            return
        self._close(self._M, self._c)
        self._reset()
        self._after_relu = True

    def leaky_relu(self, slope: float) -> None:
        """LeakyReLU with negative slope ``slope``, as ``relu(z) - slope * relu(-z)`` (doubles the width)."""
        slope = float(slope)
        if slope == 0.0:
            return self.relu()
        if slope == 1.0:
            return
        M = sp.vstack([self._M, -self._M], format="csr") if _is_sparse(self._M) else np.vstack([self._M, -self._M])
        self._close(M, np.concatenate([self._c, -self._c]))
        n = self.size
        self._M = sp.hstack([sp.identity(n), -slope * sp.identity(n)], format="csr")
        self._c = np.zeros(n)
        self._after_relu = False

    def finish(self) -> Network:
        """The `Network`: the closed layers plus the pending affine map as the output layer."""
        _check_dense(*self._M.shape, "the output layer")
        M = self._M.toarray() if _is_sparse(self._M) else self._M
        return Network([W for W, _ in self._layers] + [M], [b for _, b in self._layers] + [self._c])


# ------------------------------------------------------------------ matrices
def conv_output_size(n, k, s, p0, p1, d=1) -> int:
    out = (n + p0 + p1 - d * (k - 1) - 1) // s + 1
    if out <= 0:
        raise ModelError(f"a kernel of size {k} does not fit an input of size {n} (padding {p0}, {p1})")
    return out


def conv2d_matrix(weight, in_shape, stride, pads, dilation, groups):
    """Sparse matrix of a 2-D convolution on flattened (C, H, W) tensors, and the output shape."""
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
