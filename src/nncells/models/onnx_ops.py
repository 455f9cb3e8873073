"""ONNX nodes on affine expressions: every supported op as affine maps or `GraphBuilder` units.

The inputs of a node are `Expr` tensors (values that depend on the model's input), numpy
constants (initializers, folded nodes) or None (an omitted optional input).
"""
from __future__ import annotations

from math import prod

import numpy as np

from nncells.errors import ModelError
from nncells.models import expr as ex
from nncells.models import layers
from nncells.models import tensor_ops as T
from nncells.models.expr import Expr
from nncells.models.graph import GraphBuilder

SUPPORTED_OPS = ("Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Neg", "Relu", "LeakyRelu", "PRelu", "Abs",
                 "Clip", "Max", "Min", "MaxPool", "AveragePool", "Conv", "BatchNormalization", "Flatten",
                 "Reshape", "Transpose", "Concat", "Slice", "Gather", "Squeeze", "Unsqueeze", "Identity",
                 "Dropout", "Softmax", "LogSoftmax", "Sigmoid")
SMOOTH_OPS = ("Tanh", "Sigmoid", "Softmax", "LogSoftmax", "Elu", "Selu", "Celu", "Gelu", "Softplus", "Softsign",
              "HardSigmoid", "HardSwish", "Mish", "Exp", "Log", "Sqrt", "Pow", "Erf", "Sin", "Cos", "Reciprocal",
              "ThresholdedRelu", "Shrink")


def _auto_pads(a, in_hw, kernel, stride, dilation):
    """(begin..., end...) paddings of a convolution or pooling node, ``auto_pad`` included."""
    mode = a.get("auto_pad", b"NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else mode
    n = len(kernel)
    if mode in ("NOTSET", ""):
        return tuple(a.get("pads", [0] * 2 * n))
    if mode == "VALID":
        return (0,) * 2 * n
    begin, end = [], []
    for size, k, s, d in zip(in_hw, kernel, stride, dilation):
        total = max((-(-size // s) - 1) * s + (k - 1) * d + 1 - size, 0)
        lo = total // 2 if mode == "SAME_UPPER" else total - total // 2
        begin.append(lo)
        end.append(total - lo)
    return tuple(begin + end)


def _spatial(e: Expr, a, kernel_rank, what):
    """``e`` as (C, H, W) (a 1-D node's (C, L) as (C, 1, L)), and kernel, strides, pads
    (top, left, bottom, right) and dilations of the node in 2-D."""
    if len(e.shape) != kernel_rank + 1 or kernel_rank not in (1, 2):
        raise ModelError(f"only 1-D and 2-D {what} are supported (input shape {e.shape})")
    kernel = tuple(a["kernel_shape"])
    stride = tuple(a.get("strides", (1,) * kernel_rank))
    dil = tuple(a.get("dilations", (1,) * kernel_rank))
    pads = _auto_pads(a, e.shape[1:], kernel, stride, dil)
    if kernel_rank == 1:
        return (ex.reshape(e, (e.shape[0], 1, e.shape[1])), (1,) + kernel, (1,) + stride,
                (0, pads[0], 0, pads[1]), (1,) + dil)
    return e, kernel, stride, pads, dil


def _unspatial(y: Expr, kernel_rank):
    return ex.reshape(y, (y.shape[0], y.shape[2])) if kernel_rank == 1 else y


def _ints(v):
    return [int(x) for x in np.asarray(v).reshape(-1)]


def _maximum(g: GraphBuilder, values, op):
    out = values[0]
    for v in values[1:]:
        if not isinstance(out, Expr):
            out, v = v, out   # max and min are symmetric: keep a tensor on the left
        if not isinstance(v, Expr):
            out, k = T.with_const(out, T.const_value(v))
            v = ex.constant(k)
        out = g.maximum(out, v) if op == "Max" else g.minimum(out, v)
    return out


def _reshape(e: Expr, a, target, batch):
    target = _ints(target)
    full = (1,) + e.shape
    if not a.get("allowzero", 0):
        target = [full[i] if v == 0 else v for i, v in enumerate(target)]
    return T.reshape(e, target, batch)


def apply_node(g: GraphBuilder, op: str, a: dict, x, c: list, batch=1):
    """The outputs of node ``op`` (attributes ``a``) on the tensor ``x`` and its other inputs ``c``;
    ``batch`` is the graph's fixed batch size (1 when dynamic).

    Examples
    --------
    >>> import numpy as np
    >>> g = GraphBuilder((2,))
    >>> y = apply_node(g, "Clip", {}, g.input, [np.array(0.0), np.array(1.0)])[0]
    >>> g.finish(y).forward([-1.0, 0.5]).tolist()
    [0.0, 0.5]
    """
    if op in ("Identity", "Dropout"):
        return [x, None]
    if op in ("Max", "Min"):
        return [_maximum(g, [x] + c, op)]
    if op in ("Add", "Sub", "Mul", "Div"):
        return [T.binary(op.lower(), x, c[0])]
    if op == "Concat":
        return [T.concat([x] + c, a["axis"])]
    if not isinstance(x, Expr):   # the tensor must be the first input from here on
        raise ModelError("only a first input that depends on the model's input is supported")
    if op == "Relu":
        return [g.relu(x)]
    if op == "LeakyRelu":
        return [g.leaky_relu(x, a.get("alpha", 0.01))]
    if op == "PRelu":
        e, slope = T.with_const(x, T.const_value(c[0]))
        return [g.leaky_relu(e, slope)]
    if op == "Abs":
        return [g.abs(x)]
    if op == "Neg":
        return [T.binary("mul", x, -1.0)]
    if op == "Clip":
        lo = c[0] if len(c) > 0 and c[0] is not None else a.get("min")
        hi = c[1] if len(c) > 1 and c[1] is not None else a.get("max")
        if np.size(lo) > 1 or np.size(hi) > 1:
            raise ModelError("only scalar bounds are supported")
        return [g.clamp(x, None if lo is None else float(np.asarray(lo).reshape(-1)[0]),
                        None if hi is None else float(np.asarray(hi).reshape(-1)[0]))]
    if op == "Gemm":
        if a.get("transA", 0):
            raise ModelError("transA=1 is not supported")
        B = c[0].T if a.get("transB", 0) else c[0]
        bias = a.get("beta", 1.0) * c[1] if len(c) > 1 and c[1] is not None else 0.0
        return [layers.linear(x, a.get("alpha", 1.0) * B.T, np.broadcast_to(bias, (1, B.shape[1])).reshape(-1))]
    if op == "MatMul":
        if not isinstance(c[0], np.ndarray) or c[0].ndim != 2:
            raise ModelError("only a 2-D constant right operand is supported")
        return [layers.linear(x, c[0].T)]
    if op == "Flatten":
        full = (1,) + x.shape
        axis = a.get("axis", 1) % len(full)
        if prod(full[:axis]) != 1:
            raise ModelError(f"flattening from axis {axis} of a {full} tensor changes the batch dimension")
        return [ex.reshape(x, (prod(full[axis:]),))]
    if op == "Reshape":
        return [_reshape(x, a, c[0], batch)]
    if op == "Transpose":
        return [T.permute(x, a.get("perm", list(range(len(x.shape), -1, -1))))]
    if op == "Slice":
        starts, ends = (c[0], c[1]) if c else (a["starts"], a["ends"])
        axes = c[2] if len(c) > 2 and c[2] is not None else a.get("axes", range(len(_ints(starts))))
        steps = c[3] if len(c) > 3 and c[3] is not None else [1] * len(_ints(starts))
        for ax, s, e_, st in zip(_ints(axes), _ints(starts), _ints(ends), _ints(steps)):
            x = T.take_slice(x, ax, s, e_, st)
        return [x]
    if op == "Gather":
        return [T.take(x, a.get("axis", 0), c[0])]
    if op in ("Squeeze", "Unsqueeze"):
        axes = _ints(c[0]) if c and c[0] is not None else list(a.get("axes", []))
        if op == "Squeeze":
            return [T.squeeze(x, axes or None)]
        for ax in sorted(int(v) % (len(x.shape) + 1 + len(axes)) for v in axes):
            x = T.unsqueeze(x, ax)
        return [x]
    if op == "BatchNormalization":
        if a.get("training_mode", 0):
            raise ModelError("training_mode=1 uses batch statistics")
        scale, beta, mean, var = c[:4]
        s = scale / np.sqrt(var + a.get("epsilon", 1e-5))
        return [layers.channel_affine(x, s, beta - mean * s)]
    if op == "Conv":
        W = np.asarray(c[0], dtype=np.float64)
        rank = W.ndim - 2
        e, k, s, p, d = _spatial(x, {"kernel_shape": W.shape[2:], **a}, rank, "convolutions")
        W2 = W[:, :, None, :] if rank == 1 else W
        y = layers.conv2d(e, W2, c[1] if len(c) > 1 else None, s, p, d, a.get("group", 1))
        return [_unspatial(y, rank)]
    if op in ("AveragePool", "MaxPool"):
        rank = len(a["kernel_shape"])
        e, k, s, p, d = _spatial(x, a, rank, "poolings")
        if op == "MaxPool":
            return [_unspatial(g.maxpool2d(e, k, s, p, d, bool(a.get("ceil_mode", 0))), rank), None]
        if any(v != 1 for v in d):
            raise ModelError("dilated average pooling is not supported")
        y = layers.avgpool2d(e, k, s, p, bool(a.get("ceil_mode", 0)), bool(a.get("count_include_pad", 0)))
        return [_unspatial(y, rank)]
    raise ModelError("not supported")
