"""The ops of a PyTorch model (`nncells.models.torch_read`) evaluated on affine expressions.

Every op becomes affine maps of `Expr` tensors or units of a `GraphBuilder` (eval-mode semantics:
dropout is the identity, batch norm uses its running statistics). Constants (parameters, buffers,
numbers) are numpy arrays; an op whose inputs are all constants is computed with torch itself.
"""
from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING

import numpy as np

from nncells.errors import ModelError, NNCellsError
from nncells.models import expr as ex
from nncells.models import layers
from nncells.models import tensor_ops as T
from nncells.models.chain import import_optional
from nncells.models.expr import Expr
from nncells.models.graph import GraphBuilder
from nncells.models.tensor_ops import BATCH, Final
from nncells.models.torch_read import DROPOUTS, SUPPORTED_LAYERS, Ref

if TYPE_CHECKING:
    from collections.abc import Sequence

    from nncells.models.torch_read import Op
    from nncells.network import Network

_SMOOTH = ("sigmoid", "tanh", "gelu", "silu", "elu", "selu", "celu", "softplus", "mish", "softmax", "log_softmax",
           "hardswish", "hardsigmoid", "logsigmoid", "softmin", "tanhshrink", "softsign", "exp", "log", "sqrt",
           "pow", "sin", "cos", "erf", "multiheadattention", "glu", "rrelu")
_FINAL = {"softmax": "Softmax", "log_softmax": "LogSoftmax", "sigmoid": "Sigmoid", "Softmax": "Softmax",
          "LogSoftmax": "LogSoftmax", "Sigmoid": "Sigmoid"}
_IDENTITY = ("dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout", "dropout1d", "dropout2d",
             "dropout3d", "contiguous", "clone", "detach", "float", "double", "identity")
_SHAPE_FREE = ("relu", "leaky_relu", "flatten", "size", "Int", "NumToTensor") + _IDENTITY
FUNCTIONS = ("relu, leaky_relu, prelu, relu6, hardtanh, clamp, abs, maximum/max and minimum/min of two tensors, "
             "add, sub, mul/div by constants, cat, slicing, max_pool1d/2d, avg_pool2d, conv2d, linear, flatten, "
             "view/reshape, permute, transpose, (un)squeeze, dropout")


def reason(name: str) -> str:
    """Why op or layer ``name`` is refused.

    Examples
    --------
    >>> reason("Tanh")
    'Tanh is not piecewise linear, so the model has no finite set of linear regions'
    """
    if name.lower() in _SMOOTH:
        return f"{name} is not piecewise linear, so the model has no finite set of linear regions"
    return ("only piecewise-linear layers can be converted; supported: " + ", ".join(SUPPORTED_LAYERS)
            + " and the functions " + FUNCTIONS)


def _np(t):
    torch = import_optional("torch", "torch")
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu()
        return t.double().numpy() if t.is_floating_point() else t.numpy()
    return t


def _pair(v, n=2):
    return tuple(int(x) for x in v) if np.ndim(v) else (int(v),) * n


def _bind(args, kwargs, names, defaults):
    """Positional and keyword arguments bound to ``names`` (``defaults`` for the missing ones)."""
    out = dict(defaults)
    for name, a in zip(names, args):
        out[name] = a
    for k, v in kwargs.items():
        out[{"self": "x", "input": "x", "other": "y"}.get(k, k)] = v
    missing = [n for n in names if n not in out]
    if missing:
        raise ModelError(f"missing argument {missing[0]!r}")
    return out


def _conv_pads(padding, kernel, dilation):
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        tot = [d * (k - 1) for k, d in zip(kernel, dilation)]   # 'same': torch puts the extra pixel at the end
        return (tot[0] // 2, tot[1] // 2, tot[0] - tot[0] // 2, tot[1] - tot[1] // 2)
    p = _pair(padding)
    return (p[0], p[1], p[0], p[1])


def _as_2d(e: Expr, what):
    """A (C, L) tensor as (C, 1, L), for the 1-D layers."""
    if len(e.shape) != 2:
        raise ModelError(f"{what} needs a (channels, length) input, got shape {e.shape}")
    return ex.reshape(e, (e.shape[0], 1, e.shape[1]))


def _from_2d(e: Expr):
    return ex.reshape(e, (e.shape[0], e.shape[2]))


def conv(e: Expr, weight, bias, stride, padding, dilation, groups, one_d=False) -> Expr:
    """``Conv2d`` (or ``Conv1d``) with torch's arguments.

    Examples
    --------
    >>> import numpy as np
    >>> conv(ex.constant(np.ones((1, 5))), np.ones((1, 1, 3)), None, 1, "same", 1, 1, one_d=True).c.tolist()
    [2.0, 3.0, 3.0, 3.0, 2.0]
    """
    weight = np.asarray(weight, dtype=np.float64)
    if one_d:
        kernel, dil = (1, weight.shape[2]), (1, _pair(dilation, 1)[0])
        pads = _conv_pads(padding if isinstance(padding, str) else (0, _pair(padding, 1)[0]), kernel, dil)
        y = layers.conv2d(_as_2d(e, "a 1-D convolution"), weight[:, :, None, :], bias, (1, _pair(stride, 1)[0]),
                          pads, dil, int(groups))
        return _from_2d(y)
    kernel, dil = weight.shape[2:], _pair(dilation)
    return layers.conv2d(e, weight, bias, _pair(stride), _conv_pads(padding, kernel, dil), dil, int(groups))


def maxpool(g: GraphBuilder, e: Expr, kernel, stride, padding, dilation, ceil_mode, one_d=False) -> Expr:
    """``MaxPool2d`` (or ``MaxPool1d``) with torch's arguments.

    Examples
    --------
    >>> g = GraphBuilder((1, 4))
    >>> maxpool(g, g.input, 2, None, 0, 1, False, one_d=True).shape
    (1, 2)
    """
    n = 1 if one_d else 2
    k = _pair(kernel, n)
    s = _pair(stride, n) if stride is not None and np.size(stride) else k
    p, d = _pair(padding, n), _pair(dilation, n)
    if one_d:
        y = g.maxpool2d(_as_2d(e, "1-D max pooling"), (1, k[0]), (1, s[0]), (0, p[0], 0, p[0]), (1, d[0]),
                        bool(ceil_mode))
        return _from_2d(y)
    return g.maxpool2d(e, k, s, (p[0], p[1], p[0], p[1]), d, bool(ceil_mode))


def avgpool(e: Expr, kernel, stride, padding, ceil_mode, count_include_pad, divisor_override=None, one_d=False):
    """``AvgPool2d`` (or ``AvgPool1d``) with torch's arguments.

    Examples
    --------
    >>> import numpy as np
    >>> avgpool(ex.constant(np.arange(4.0).reshape(1, 4)), 2, None, 0, False, True, one_d=True).c.tolist()
    [0.5, 2.5]
    """
    n = 1 if one_d else 2
    k = _pair(kernel, n)
    s = _pair(stride, n) if stride is not None and np.size(stride) else k
    p = _pair(padding, n)
    if one_d:
        y = layers.avgpool2d(_as_2d(e, "1-D average pooling"), (1, k[0]), (1, s[0]), (0, p[0], 0, p[0]),
                             bool(ceil_mode), bool(count_include_pad))
        return _from_2d(y)
    return layers.avgpool2d(e, k, s, (p[0], p[1], p[0], p[1]), bool(ceil_mode), bool(count_include_pad),
                            divisor_override)


def _slopes(e: Expr, weight):
    w = np.asarray(weight, dtype=np.float64).reshape(-1)
    if w.size == 1:
        return float(w[0])
    if not e.shape or e.shape[0] != w.size:
        raise ModelError(f"{w.size} PReLU slopes for a tensor of shape {e.shape}")
    return w.reshape((w.size,) + (1,) * (len(e.shape) - 1))


def _dyn(v, what="this op") -> Expr:
    if isinstance(v, Expr):
        return v
    raise ModelError(f"{what} needs a tensor input, got {type(v).__name__}")


def apply_module(g: GraphBuilder, name: str, m, x):
    """Apply the layer ``m`` of type ``name`` (see `nncells.models.torch_read.type_name`) to ``x``.

    Examples
    --------
    >>> import torch
    >>> g = GraphBuilder((1, 4, 4))
    >>> apply_module(g, "MaxPool2d", torch.nn.MaxPool2d(2), g.input).shape
    (1, 2, 2)
    """
    e = _dyn(x, name)
    if name == "Linear":
        return layers.linear(e, _np(m.weight), _np(m.bias))
    if name == "ReLU":
        return g.relu(e)
    if name == "LeakyReLU":
        return g.leaky_relu(e, float(m.negative_slope))
    if name == "PReLU":
        return g.leaky_relu(e, _slopes(e, _np(m.weight)))
    if name == "ReLU6":
        return g.clamp(e, 0.0, 6.0)
    if name == "Hardtanh":
        return g.clamp(e, float(m.min_val), float(m.max_val))
    if name == "Flatten":
        return T.flatten(e, m.start_dim, m.end_dim)
    if name == "Unflatten":
        full = (1,) + e.shape
        dim = m.dim % len(full)
        return ex.reshape(e, (full[:dim] + tuple(m.unflattened_size) + full[dim + 1:])[1:])
    if name in ("BatchNorm1d", "BatchNorm2d"):
        if m.running_mean is None:
            raise ModelError("it has no running statistics (track_running_stats=False): "
                             "it normalises with batch statistics, which is not a fixed affine map")
        s = 1.0 / np.sqrt(_np(m.running_var) + m.eps)
        gamma = _np(m.weight) if m.weight is not None else np.ones_like(s)
        beta = _np(m.bias) if m.bias is not None else np.zeros_like(s)
        return layers.channel_affine(e, gamma * s, beta - _np(m.running_mean) * gamma * s)
    if name in ("Conv1d", "Conv2d"):
        if m.padding_mode != "zeros":
            raise ModelError(f"padding_mode={m.padding_mode!r} is not supported (only 'zeros')")
        return conv(e, _np(m.weight), _np(m.bias), m.stride, m.padding, m.dilation, m.groups, name == "Conv1d")
    if name in ("AvgPool1d", "AvgPool2d"):
        return avgpool(e, m.kernel_size, m.stride, m.padding, m.ceil_mode, m.count_include_pad,
                       getattr(m, "divisor_override", None), name == "AvgPool1d")
    if name in ("MaxPool1d", "MaxPool2d"):
        if getattr(m, "return_indices", False):
            raise ModelError("return_indices=True is not supported")
        return maxpool(g, e, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode, name == "MaxPool1d")
    if name in ("Identity",) + DROPOUTS:
        return e
    raise ModelError(f"not supported: {reason(name)}")


def _tensor_pair(x, y):
    """``x`` and ``y`` as two `Expr` tensors of one shape (a constant broadcast against the other)."""
    if not isinstance(x, Expr):
        x, y = y, x
    if not isinstance(y, Expr):
        x, k = T.with_const(_dyn(x), T.const_value(y))
        y = ex.constant(k)
    return x, y


def _max_args(a):
    if a["y"] is None or isinstance(a["y"], (int, np.integer)):
        raise ModelError("a maximum or minimum over a dimension (torch.max(x, dim)) is not supported")
    return _tensor_pair(a["x"], a["y"])


def _clamp(g, a):
    lo, hi = a.get("min"), a.get("max")
    e = _dyn(a["x"], "clamp")
    if np.ndim(lo) or np.ndim(hi):   # tensor bounds
        if lo is not None:
            e = g.maximum(*_tensor_pair(e, lo))
        return g.minimum(*_tensor_pair(e, hi)) if hi is not None else e
    return g.clamp(e, lo, hi)


def _view_target(a, args):
    rest = args[1:]
    return list(rest[0]) if len(rest) == 1 and isinstance(rest[0], (list, tuple)) else list(rest)


# name -> (parameter names, defaults, function of (g, bound arguments, positional arguments))
_OPS = {
    "relu": (("x",), {}, lambda g, a, args: g.relu(_dyn(a["x"]))),
    "leaky_relu": (("x", "negative_slope"), {"negative_slope": 0.01},
                   lambda g, a, args: g.leaky_relu(_dyn(a["x"]), float(a["negative_slope"]))),
    "prelu": (("x", "weight"), {}, lambda g, a, args: g.leaky_relu(_dyn(a["x"]), _slopes(a["x"], a["weight"]))),
    "relu6": (("x",), {}, lambda g, a, args: g.clamp(_dyn(a["x"]), 0.0, 6.0)),
    "hardtanh": (("x", "min_val", "max_val"), {"min_val": -1.0, "max_val": 1.0},
                 lambda g, a, args: g.clamp(_dyn(a["x"]), a["min_val"], a["max_val"])),
    "clamp": (("x", "min", "max"), {"min": None, "max": None}, lambda g, a, args: _clamp(g, a)),
    "clamp_min": (("x", "min"), {}, lambda g, a, args: _clamp(g, a)),
    "clamp_max": (("x", "max"), {}, lambda g, a, args: _clamp(g, a)),
    "abs": (("x",), {}, lambda g, a, args: g.abs(_dyn(a["x"]))),
    "neg": (("x",), {}, lambda g, a, args: T.binary("mul", a["x"], -1.0)),
    "add": (("x", "y", "alpha"), {"alpha": 1}, lambda g, a, args: T.binary(
        "add", a["x"], a["y"] if a["alpha"] == 1 else T.binary("mul", a["y"], a["alpha"]))),
    "sub": (("x", "y", "alpha"), {"alpha": 1}, lambda g, a, args: T.binary(
        "sub", a["x"], a["y"] if a["alpha"] == 1 else T.binary("mul", a["y"], a["alpha"]))),
    "rsub": (("x", "y", "alpha"), {"alpha": 1}, lambda g, a, args: T.binary(
        "sub", a["y"], a["x"] if a["alpha"] == 1 else T.binary("mul", a["x"], a["alpha"]))),
    "mul": (("x", "y"), {}, lambda g, a, args: T.binary("mul", a["x"], a["y"])),
    "div": (("x", "y", "rounding_mode"), {"rounding_mode": None}, lambda g, a, args: T.binary(
        "div", a["x"], a["y"]) if a["rounding_mode"] is None else _refuse("a rounded division")),
    "maximum": (("x", "y"), {"y": None}, lambda g, a, args: g.maximum(*_max_args(a))),
    "minimum": (("x", "y"), {"y": None}, lambda g, a, args: g.minimum(*_max_args(a))),
    "cat": (("tensors", "dim"), {"dim": 0}, lambda g, a, args: T.concat(a["tensors"], a["dim"])),
    "slice": (("x", "dim", "start", "end", "step"), {"dim": 0, "start": None, "end": None, "step": 1},
              lambda g, a, args: T.take_slice(_dyn(a["x"]), a["dim"], a["start"], a["end"], a["step"])),
    "select": (("x", "dim", "index"), {}, lambda g, a, args: T.take(_dyn(a["x"]), a["dim"], a["index"])),
    "max_pool2d": (("x", "kernel_size", "stride", "padding", "dilation", "ceil_mode"),
                   {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "return_indices": False},
                   lambda g, a, args: maxpool(g, _dyn(a["x"]), *(a[k] for k in (
                       "kernel_size", "stride", "padding", "dilation", "ceil_mode"))) if not a["return_indices"]
                   else _refuse("return_indices=True")),
    "avg_pool2d": (("x", "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
                   {"stride": None, "padding": 0, "ceil_mode": False, "count_include_pad": True,
                    "divisor_override": None},
                   lambda g, a, args: avgpool(_dyn(a["x"]), *(a[k] for k in (
                       "kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")))),
    "conv2d": (("x", "weight", "bias", "stride", "padding", "dilation", "groups"),
               {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1},
               lambda g, a, args: conv(_dyn(a["x"]), *(a[k] for k in (
                   "weight", "bias", "stride", "padding", "dilation", "groups")))),
    "linear": (("x", "weight", "bias"), {"bias": None},
               lambda g, a, args: layers.linear(_dyn(a["x"]), a["weight"], a["bias"])),
    "flatten": (("x", "start_dim", "end_dim"), {"start_dim": 0, "end_dim": -1},
                lambda g, a, args: T.flatten(_dyn(a["x"]), a["start_dim"], a["end_dim"])),
    "view": (("x",), {}, lambda g, a, args: T.reshape(_dyn(a["x"]), _view_target(a, args))),
    "permute": (("x",), {}, lambda g, a, args: T.permute(_dyn(a["x"]), _view_target(a, args))),
    "transpose": (("x", "dim0", "dim1"), {}, lambda g, a, args: T.transpose(_dyn(a["x"]), a["dim0"], a["dim1"])),
    "unsqueeze": (("x", "dim"), {}, lambda g, a, args: T.unsqueeze(_dyn(a["x"]), a["dim"])),
    "squeeze": (("x", "dim"), {"dim": None}, lambda g, a, args: T.squeeze(_dyn(a["x"]), a["dim"])),
    "getitem": (("x", "key"), {}, lambda g, a, args: a["x"][a["key"]] if isinstance(a["x"], (list, tuple))
                else T.getitem(_dyn(a["x"]), a["key"])),
    "size": (("x", "dim"), {"dim": None}, lambda g, a, args: _size(_dyn(a["x"]), a["dim"])),
}
_OPS["max_pool1d"] = (_OPS["max_pool2d"][0], _OPS["max_pool2d"][1], lambda g, a, args: maxpool(
    g, _dyn(a["x"]), *(a[k] for k in ("kernel_size", "stride", "padding", "dilation", "ceil_mode")), one_d=True))
_OPS["avg_pool1d"] = (_OPS["avg_pool2d"][0][:-1], _OPS["avg_pool2d"][1], lambda g, a, args: avgpool(
    _dyn(a["x"]), *(a[k] for k in ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad")),
    one_d=True))
_OPS["conv1d"] = (_OPS["conv2d"][0], _OPS["conv2d"][1], lambda g, a, args: conv(
    _dyn(a["x"]), *(a[k] for k in ("weight", "bias", "stride", "padding", "dilation", "groups")), one_d=True))
_ALIASES = {"iadd": "add", "isub": "sub", "imul": "mul", "truediv": "div", "itruediv": "div", "max": "maximum",
            "min": "minimum", "concat": "cat", "concatenate": "cat", "clip": "clamp", "reshape": "view"}


def _refuse(what):
    raise ModelError(f"{what} is not supported")


def _size(e: Expr, dim):
    sizes = (BATCH,) + e.shape
    return sizes if dim is None else sizes[int(dim)]



# ------------------------------------------------------------------ the ops
def _resolve(v, vals):
    if isinstance(v, Ref):
        return vals[v.key]
    if isinstance(v, (list, tuple)):
        return type(v)(_resolve(a, vals) for a in v)
    if isinstance(v, dict):
        return {k: _resolve(a, vals) for k, a in v.items()}
    if isinstance(v, slice):
        return slice(_resolve(v.start, vals), _resolve(v.stop, vals), _resolve(v.step, vals))
    return _np(v)


def _flat(v):
    if isinstance(v, (list, tuple)):
        return [x for a in v for x in _flat(a)]
    if isinstance(v, dict):
        return _flat(list(v.values()))
    if isinstance(v, slice):
        return _flat([v.start, v.stop, v.step])
    return [v]


def _fold(fn, args, kwargs):
    torch = import_optional("torch", "torch")

    def to_torch(v):
        if isinstance(v, (list, tuple)):
            return type(v)(to_torch(a) for a in v)
        return torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v
    try:
        out = fn(*to_torch(list(args)), **{k: to_torch(v) for k, v in kwargs.items()})
    except Exception as e:  # noqa: BLE001 - torch raises many kinds
        raise ModelError(f"cannot compute it on constants ({e})") from None
    return _np(out) if not isinstance(out, (list, tuple)) else type(out)(_np(o) for o in out)


def _run(g: GraphBuilder, i: int, op, vals):
    args, kwargs = _resolve(op.args, vals), _resolve(op.kwargs, vals)
    what = op.args[0] if op.kind == "module" else op.kind
    here = f"layer {i} ({what} at {op.label!r})"
    inputs = _flat([args[2]] if op.kind == "module" else [args, kwargs])
    x = args[2] if op.kind == "module" else (args[0] if args else None)
    finals = [v for v in inputs if isinstance(v, Final)]
    kind = _ALIASES.get(op.kind, op.kind)
    if finals:
        f = finals[0]
        if kind in _IDENTITY or what in ("Identity",) + DROPOUTS:
            return f
        if what in _FINAL and x is f:
            return Final(f.value, f.ops + [f"{_FINAL[what]} at {op.label!r}"], here)
        raise ModelError(f"{f.where} is not supported: it is not piecewise linear, so it is only dropped "
                         f"as the model's last op (it changes no region there), but {here} uses its output")
    if what in _FINAL:
        return Final(_dyn(x, what), [f"{_FINAL[what]} at {op.label!r}"], here)
    foldable = op.fold is not None and not any(isinstance(v, Expr) or v is BATCH for v in inputs)
    if op.kind != "module" and kind not in _OPS and kind not in _IDENTITY and not foldable:
        raise ModelError(f"{here} is not supported: {reason(op.kind)}")
    try:
        if op.kind == "module":
            return apply_module(g, what, args[1], x)
        if kind in _IDENTITY:
            return x
        if foldable:
            return _fold(op.fold, args, kwargs)
        names, defaults, fn = _OPS[kind]
        return fn(g, _bind(args, kwargs, names, defaults), args)
    except NNCellsError as e:
        raise ModelError(f"{here}: {e}") from None


def infer_input_shape(ops):
    """The shape of one input sample, read from the model's first layer (Linear, BatchNorm1d).

    Examples
    --------
    >>> import torch
    >>> from nncells.models.torch_read import read_module
    >>> infer_input_shape(read_module(torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(3, 2)))[0])
    (3,)
    """
    for i, op in enumerate(ops):
        kind = _ALIASES.get(op.kind, op.kind)
        if op.kind == "module":
            name, m = op.args[0], op.args[1]
            if name == "Linear":
                return (int(m.weight.shape[1]),)
            if name == "BatchNorm1d":
                return (int(m.running_mean.shape[0]),) if m.running_mean is not None else None
            if name in ("ReLU", "LeakyReLU", "ReLU6", "Hardtanh", "Flatten", "Identity") + DROPOUTS:
                continue
            where = f"layer {i} ({name})"
        elif kind == "linear":
            return (int(np.shape(_np(op.args[1]))[1]),)
        elif kind in _SHAPE_FREE + ("add", "sub", "mul", "div", "neg", "abs", "clamp", "relu6", "hardtanh") or (
                kind == "view" and len(_view_target(None, op.args)) == 2 and _view_target(None, op.args)[1] == -1):
            continue
        else:
            where = f"{op.kind} at {op.label!r}"
        raise ModelError(f"cannot infer the input size of a model that starts with {where}: give the "
                         f"shape of one input sample (API: input_shape=(1, 28, 28); CLI: --input-shape 1,28,28)")
    raise ModelError("cannot infer the input size of a model with no Linear layer: give input_shape")


def ops_to_network(ops: list[Op], out: Ref, input_shape: Sequence[int] | None = None) -> tuple[Network, tuple[int, ...]]:
    """Build the `Network` of a model's ops (`nncells.models.torch_read`); returns
    ``(network, input_shape)``. A final Softmax, Sigmoid or LogSoftmax is dropped and named in
    the network's ``ignored_output_ops``.

    Parameters
    ----------
    ops : list of Op
    out : Ref
        The model's output.
    input_shape : tuple of int, optional
        Shape of one sample; inferred from a leading Linear (or BatchNorm1d) layer when None.

    Examples
    --------
    >>> import torch
    >>> from nncells.models.torch_read import read_module
    >>> model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Softmax(dim=1))
    >>> net, shape = ops_to_network(*read_module(model))
    >>> net, shape, net.ignored_output_ops
    (Network(3-2-2), (3,), ("Softmax at '2'",))
    """
    for i, op in enumerate(ops):
        if op.kind == "module" and op.args[0] not in SUPPORTED_LAYERS + DROPOUTS:
            raise ModelError(f"layer {i} ({op.args[0]} at {op.label!r}) is not supported: {reason(op.args[0])}")
    shape = tuple(int(s) for s in input_shape) if input_shape is not None else infer_input_shape(ops)
    g = GraphBuilder(shape)
    vals = {"input": g.input}
    for i, op in enumerate(ops):
        vals[i] = _run(g, i, op, vals)
    result = _resolve(out, vals)
    ignored = []
    if isinstance(result, Final):
        ignored, result = result.ops, result.value
    if not isinstance(result, Expr) or prod(result.shape) == 0:
        raise ModelError(f"the model must return one tensor, not {type(result).__name__}")
    return g.finish(result, ignored), shape
