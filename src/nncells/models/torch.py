"""PyTorch modules (and TorchScript modules) to `Network`, checked against their own forward pass.

A model is read as a chain of *ops*: ``(label, kind, arg)`` with kind ``"module"`` (a layer,
``arg = (type name, module)``), ``"relu"``, ``"leaky_relu"`` (arg: slope), ``"flatten"``
(arg: (start, end)), ``"reshape"`` (arg: target shape, ``None`` for the batch size) or
``"identity"``. ``nn.Sequential`` is read child by child, other modules with ``torch.fx``
symbolic tracing, TorchScript modules from their graph. `ChainBuilder` turns the ops into a
`Network` (eval-mode semantics: dropout is the identity, batch norm uses its running statistics).
"""
from __future__ import annotations

import contextlib
import copy
import warnings
from math import prod

import numpy as np

from nncells.errors import ModelError, NNCellsError
from nncells.models.chain import ChainBuilder, import_optional
from nncells.models.torch_traced import script_layer
from nncells.models.verify import verify_conversion

SUPPORTED_LAYERS = ("Linear", "ReLU", "LeakyReLU", "Flatten", "Unflatten", "Dropout", "Identity",
                    "BatchNorm1d", "BatchNorm2d", "Conv2d", "AvgPool2d")
_DROPOUTS = ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")
_SHAPE_FREE = ("relu", "leaky_relu", "identity", "flatten")
_BATCH = object()   # stands for ``x.size(0)`` in reshape targets


def _torch():
    return import_optional("torch", "torch")


_SMOOTH = ("Sigmoid", "Tanh", "GELU", "SiLU", "ELU", "SELU", "CELU", "Softplus", "Mish", "Softmax",
           "LogSoftmax", "Hardswish", "Hardsigmoid")


def _reason(name):
    if name in _SMOOTH or name.lower() in (s.lower() for s in _SMOOTH):
        return f"{name} is not piecewise linear, so the model has no finite set of linear regions"
    if "MaxPool" in name or "max_pool" in name:
        return "max pooling is piecewise linear but not a chain of affine maps and ReLUs"
    return None


def _unsupported(label, why=None) -> NNCellsError:
    why = why or ("only piecewise-linear layers that make a chain of affine maps and ReLUs can be "
                  "converted; supported: " + ", ".join(SUPPORTED_LAYERS) + " and relu, leaky_relu, "
                  "flatten, view/reshape, dropout calls")
    return NNCellsError(f"{label} is not supported: {why}")


# ----------------------------------------------------------- reading modules
def _type_name(module) -> str | None:
    """The supported layer type ``module`` is (TorchScript modules: their original name)."""
    nn = _torch().nn
    if isinstance(module, _torch().jit.ScriptModule):
        return getattr(module, "original_name", type(module).__name__)
    for cls in (nn.Linear, nn.ReLU, nn.LeakyReLU, nn.Flatten, nn.Unflatten, nn.Identity,
                nn.BatchNorm1d, nn.BatchNorm2d, nn.Conv2d, nn.AvgPool2d):
        if isinstance(module, cls):
            return cls.__name__
    if isinstance(module, nn.modules.dropout._DropoutNd):
        return "Dropout"
    return type(module).__name__


def _is_leaf(module, name) -> bool:
    if isinstance(module, _torch().jit.ScriptModule):
        qualified = module._c._type().qualified_name()
        return name in SUPPORTED_LAYERS or ".torch.nn.modules." in qualified
    return name in SUPPORTED_LAYERS or type(module).__module__.startswith("torch.nn")


def _module_ops(module, prefix=""):
    """The ops of ``module``: containers and custom modules are opened, layers kept whole."""
    torch = _torch()
    name = _type_name(module)
    if name == "Sequential":
        ops = []
        for child_name, child in module.named_children():
            ops += _module_ops(child, f"{prefix}.{child_name}" if prefix else child_name)
        return ops
    if _is_leaf(module, name):
        try:
            layer = script_layer(name, module)
        except NNCellsError as e:
            raise ModelError(f"layer {name} at {prefix!r}: {e}") from None
        return [(prefix, "module", (name, layer))]
    if isinstance(module, torch.jit.ScriptModule):
        return _script_ops(module, prefix)
    return _fx_ops(module, prefix)


def _fx_ops(module, prefix):
    torch = _torch()
    F = torch.nn.functional
    try:
        gm = torch.fx.symbolic_trace(module)
    except Exception as e:  # noqa: BLE001 - fx raises many kinds of errors
        raise ModelError(f"cannot trace {type(module).__name__} {prefix!r} with torch.fx ({e}); "
                           f"write it as nn.Sequential or export it to ONNX") from None
    relus = {torch.relu, torch.relu_, F.relu, F.relu_}
    ops, env, cur = [], {}, None
    for node in gm.graph.nodes:
        where = f"{prefix}.{node.name}" if prefix else node.name
        if node.op == "placeholder":
            if cur is not None:
                raise ModelError(f"{type(module).__name__} takes more than one input")
            cur = node
            continue
        if node.op == "output":
            if node.args[0] is not cur:
                raise _unsupported(f"output of {type(module).__name__}", "the model must return one tensor")
            break
        label = node.target if node.op == "call_module" else getattr(node.target, "__name__", str(node.target))
        args = [_fx_value(a, env) for a in node.args[1:]]
        kw = {k: _fx_value(v, env) for k, v in node.kwargs.items()}
        deps = [a for a in node.all_input_nodes if a is not cur and env.get(a) is not _BATCH]
        if node.op not in ("call_module", "call_method", "call_function") or not node.args \
                or node.args[0] is not cur or deps:
            raise _unsupported(f"{label!r} in {type(module).__name__}",
                               "only a chain of layers is supported (no branches or residual additions)")
        t = node.target
        if node.op == "call_module":
            ops += _module_ops(gm.get_submodule(t), f"{prefix}.{t}" if prefix else t)
        elif node.op == "call_method" and t == "size" and args == [0]:
            env[node] = _BATCH
            continue
        elif t in relus or t in ("relu", "relu_"):
            ops.append((where, "relu", None))
        elif t is F.leaky_relu or t in ("leaky_relu",):
            ops.append((where, "leaky_relu", float(kw.get("negative_slope", args[0] if args else 0.01))))
        elif t is torch.flatten or t == "flatten":
            ops.append((where, "flatten", (kw.get("start_dim", args[0] if args else 0),
                                           kw.get("end_dim", args[1] if len(args) > 1 else -1))))
        elif t is torch.reshape or t in ("view", "reshape"):
            target = args[0] if len(args) == 1 and isinstance(args[0], (tuple, list)) else args
            ops.append((where, "reshape", [None if v is _BATCH else v for v in target]))
        elif t is F.dropout or t in ("contiguous",):
            ops.append((where, "identity", None))
        else:
            raise _unsupported(f"layer {len(ops)} ({label} at {where!r})", _reason(str(label)))
        cur = node
    return ops


def _fx_value(a, env):
    if isinstance(a, (list, tuple)):
        return type(a)(_fx_value(v, env) for v in a)
    return env.get(a, a) if isinstance(a, _torch().fx.Node) else a


def _script_ops(module, prefix):
    """Ops of a TorchScript module's ``forward`` graph (calls of submodules and a few aten ops)."""
    graph = module.graph
    inputs = list(graph.inputs())
    if len(inputs) != 2:
        raise ModelError(f"TorchScript module {prefix or 'root'!r} must take exactly one input tensor")
    env = {inputs[0].unique(): module}
    cur = inputs[1].unique()
    ops = []
    for node in graph.nodes():
        kind = node.kind()
        ins = [v.unique() for v in node.inputs()]
        outs = [v.unique() for v in node.outputs()]
        if kind == "prim::CallFunction":   # torch.nn.functional.*: read like the aten op of that name
            kind = "aten::" + node.inputsAt(0).node().s("name")
            ins = ins[1:]
        args = [env.get(i) for i in ins[1:]]
        where = f"{prefix}:{kind}" if prefix else kind
        if kind == "prim::Constant":
            env[outs[0]] = node.output().toIValue()
            continue
        if kind == "prim::GetAttr":
            parent = env[ins[0]]
            env[outs[0]] = getattr(parent, node.s("name"))
            env[("name", outs[0])] = ".".join(filter(None, [env.get(("name", ins[0]), prefix), node.s("name")]))
            continue
        if kind == "prim::ListConstruct":
            env[outs[0]] = [env.get(i) for i in ins]
            continue
        if kind in ("prim::NumToTensor", "aten::Int"):
            env[outs[0]] = env.get(ins[0])
            continue
        if kind == "aten::size" and ins[0] == cur and args == [0]:
            env[outs[0]] = _BATCH
            continue
        if kind == "prim::CallMethod" and node.s("name") == "forward" and len(ins) == 2 and ins[1] == cur:
            ops += _module_ops(env[ins[0]], env.get(("name", ins[0]), ""))
        elif not ins or ins[0] != cur:
            raise _unsupported(f"{kind} in TorchScript module {prefix or 'root'!r}",
                               "only a chain of layers is supported (no branches or residual additions)")
        elif kind in ("aten::relu", "aten::relu_"):
            ops.append((where, "relu", None))
        elif kind in ("aten::leaky_relu", "aten::leaky_relu_"):
            ops.append((where, "leaky_relu", float(args[0])))
        elif kind == "aten::flatten":
            ops.append((where, "flatten", (args[0], args[1])))
        elif kind in ("aten::view", "aten::reshape"):
            ops.append((where, "reshape", [None if v is _BATCH else v for v in args[0]]))
        elif kind in ("aten::dropout", "aten::feature_dropout", "aten::contiguous"):
            ops.append((where, "identity", None))
        else:
            raise _unsupported(f"layer {len(ops)} ({kind})", _reason(kind))
        cur = outs[0]
    if [v.unique() for v in graph.outputs()] != [cur]:
        raise _unsupported(f"output of TorchScript module {prefix or 'root'!r}", "the model must return one tensor")
    return ops


# ------------------------------------------------------------ applying ops
def _pair(v):
    return (int(v), int(v)) if np.ndim(v) == 0 else tuple(int(x) for x in v)


def _np(t):
    return None if t is None else t.detach().cpu().double().numpy()


def _conv_pads(module):
    padding = module.padding
    k, d = _pair(module.kernel_size), _pair(module.dilation)
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0, 0, 0)
        tot = [d[i] * (k[i] - 1) for i in range(2)]   # 'same': torch puts the extra pixel at the end
        return (tot[0] // 2, tot[1] // 2, tot[0] - tot[0] // 2, tot[1] - tot[1] // 2)
    p = _pair(padding)
    return (p[0], p[1], p[0], p[1])


def _apply_module(b: ChainBuilder, name: str, m) -> None:
    if name == "Linear":
        b.linear(_np(m.weight), _np(m.bias))
    elif name == "ReLU":
        b.relu()
    elif name == "LeakyReLU":
        b.leaky_relu(m.negative_slope)
    elif name == "Flatten":
        _flatten(b, m.start_dim, m.end_dim)
    elif name == "Unflatten":
        full = (1,) + b.shape
        dim = m.dim % len(full)
        b.reshape((full[:dim] + tuple(m.unflattened_size) + full[dim + 1:])[1:])
    elif name in ("BatchNorm1d", "BatchNorm2d"):
        if m.running_mean is None:
            raise ModelError("it has no running statistics (track_running_stats=False): "
                               "it normalises with batch statistics, which is not a fixed affine map")
        s = 1.0 / np.sqrt(_np(m.running_var) + m.eps)
        gamma = _np(m.weight) if m.weight is not None else np.ones_like(s)
        beta = _np(m.bias) if m.bias is not None else np.zeros_like(s)
        b.channel_affine(gamma * s, beta - _np(m.running_mean) * gamma * s)
    elif name == "Conv2d":
        if m.padding_mode != "zeros":
            raise ModelError(f"padding_mode={m.padding_mode!r} is not supported (only 'zeros')")
        b.conv2d(_np(m.weight), _np(m.bias), _pair(m.stride), _conv_pads(m), _pair(m.dilation), m.groups)
    elif name == "AvgPool2d":
        k = _pair(m.kernel_size)
        s = _pair(m.stride) if m.stride is not None else k
        p = _pair(m.padding)
        b.avgpool2d(k, s, (p[0], p[1], p[0], p[1]), m.ceil_mode, m.count_include_pad, m.divisor_override)
    elif name not in ("Identity",) + _DROPOUTS:
        raise _unsupported("it")


def _flatten(b: ChainBuilder, start, end) -> None:
    full = (1,) + b.shape
    start, end = start % len(full), end % len(full)
    new = full[:start] + (prod(full[start:end + 1]),) + full[end + 1:]
    b.reshape(new[1:] if start >= 1 else new)


def _reshape(b: ChainBuilder, target) -> None:
    target = [1 if v is None else int(v) for v in target]
    if target.count(-1) > 1:
        raise ModelError(f"reshape target {target} has more than one -1")
    if -1 in target:
        known = prod(v for v in target if v != -1)
        target[target.index(-1)] = b.size // known if known else 0
    if len(target) == 1:
        return b.reshape(target)
    if target[0] != 1:
        raise ModelError(f"reshape to {tuple(target)} changes the batch dimension")
    b.reshape(target[1:])


def _infer_input_shape(ops):
    for i, (label, kind, arg) in enumerate(ops):
        if kind in _SHAPE_FREE or (kind == "reshape" and list(arg)[1:] == [-1]):
            continue   # these leave a flat input flat
        if kind == "module":
            name, m = arg
            if name == "Linear":
                return (int(m.weight.shape[1]),)
            if name == "BatchNorm1d":
                return (int(m.running_mean.shape[0]),) if m.running_mean is not None else None
            if name in ("ReLU", "LeakyReLU", "Flatten", "Identity") + _DROPOUTS:
                continue
            where = f"layer {i} ({name})"
        else:
            where = f"{kind} at {label!r}"
        raise ModelError(f"cannot infer the input size of a model that starts with {where}: give the "
                           f"shape of one input sample (API: input_shape=(1, 28, 28); CLI: --input-shape 1,28,28)")
    raise ModelError("cannot infer the input size of a model with no Linear layer: give input_shape")


def ops_to_network(ops, input_shape=None):
    """Build the `Network` of a list of ops; returns ``(network, input_shape)``.

    Parameters
    ----------
    ops : list of (label, kind, arg)
        The op chain described in this module's docstring.
    input_shape : tuple of int, optional
        Shape of one sample; inferred from a leading Linear (or BatchNorm1d) layer when None.

    Examples
    --------
    >>> import torch
    >>> lin = torch.nn.Linear(3, 2)
    >>> ops = [("0", "module", ("Linear", lin)), ("1", "relu", None), ("2", "flatten", (1, -1))]
    >>> net, shape = ops_to_network(ops)
    >>> net, shape
    (Network(3-2-2), (3,))
    """
    for i, (label, kind, arg) in enumerate(ops):
        if kind == "module" and arg[0] not in SUPPORTED_LAYERS + _DROPOUTS:
            raise _unsupported(f"layer {i} ({arg[0]} at {label!r})", _reason(arg[0]))
    shape = tuple(input_shape) if input_shape is not None else _infer_input_shape(ops)
    b = ChainBuilder(shape)
    for i, (label, kind, arg) in enumerate(ops):
        try:
            if kind == "module":
                _apply_module(b, *arg)
            elif kind == "relu":
                b.relu()
            elif kind == "leaky_relu":
                b.leaky_relu(arg)
            elif kind == "flatten":
                _flatten(b, *arg)
            elif kind == "reshape":
                _reshape(b, arg)
        except NNCellsError as e:
            what = arg[0] if kind == "module" else kind
            raise ModelError(f"layer {i} ({what} at {label!r}): {e}") from None
    return b.finish(), b.input_shape


@contextlib.contextmanager
def quiet_torch_warnings():
    """A ``warnings.catch_warnings`` context that hides torch's own noise when nncells handles
    TorchScript: the ``DeprecationWarning`` of ``torch.jit`` and the ``UserWarning`` about the
    ``.grad`` of non-leaf tensors that ``.double()`` of a scripted module triggers. Other
    warnings still show.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     with quiet_torch_warnings():
    ...         warnings.warn("torch.jit.load is deprecated", DeprecationWarning)
    ...         warnings.warn("something else", UserWarning)
    >>> [str(w.message) for w in seen]
    ['something else']
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"torch(\.|$)")
        warnings.filterwarnings("ignore", message=r"(?s).*torch\.jit", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"(?s).*\.grad attribute of a Tensor", category=UserWarning)
        yield


def torch_forward(module):
    """A numpy float64 forward function of a copy of ``module`` in eval mode.

    ``module`` itself is left as it is (unless it cannot be copied).

    Examples
    --------
    >>> import numpy as np, torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1))
    >>> f = torch_forward(model)
    >>> y = f(np.zeros((4, 2)))
    >>> y.shape, y.dtype, model[0].weight.dtype
    ((4, 1), dtype('float64'), torch.float32)
    """
    torch = _torch()
    with quiet_torch_warnings():
        try:
            m = copy.deepcopy(module)
        except Exception:  # noqa: BLE001 - some modules cannot be copied: use the module itself
            m = module
        m = m.double().eval()

    def forward(X):
        with torch.no_grad():
            y = m(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64)))
        if not isinstance(y, torch.Tensor):
            raise ModelError(f"the model returns a {type(y).__name__}, not one tensor")
        return y.cpu().numpy()
    return forward


def from_torch(module, input_shape=None, verify=True, n_verify=256):
    """Convert a PyTorch module (or TorchScript module) into the exact `Network` it computes.

    Parameters
    ----------
    module : torch.nn.Module or torch.jit.ScriptModule
        ``nn.Sequential`` or a module whose forward is a chain of supported layers:
        Linear, ReLU, LeakyReLU, Flatten, Unflatten, Dropout, Identity, BatchNorm1d/2d, Conv2d,
        AvgPool2d (and the functional relu, leaky_relu, flatten, view/reshape, dropout).
        Converted with eval-mode semantics.
    input_shape : tuple of int, optional
        Shape of one input sample, e.g. ``(1, 28, 28)``; needed unless the model starts with
        a Linear (or BatchNorm1d) layer.
    verify : bool
        Compare the network with the module's float64 forward pass on ``n_verify`` random
        inputs (relative tolerance 1e-9), raising `NNCellsError` on a mismatch.

    Returns
    -------
    Network
        Input: the sample flattened in C order. LeakyReLU layers appear with doubled width
        (see `nncells.models.chain`).

    Examples
    --------
    >>> import numpy as np, torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    >>> net = from_torch(model)
    >>> net
    Network(2-4-1)
    >>> x = np.array([[0.5, -0.25], [1.0, 2.0]])
    >>> with torch.no_grad():
    ...     y = model(torch.tensor(x, dtype=torch.float32)).numpy()
    >>> bool(np.allclose(net.forward(x), y, atol=1e-6))
    True

    Models that do not start with a Linear layer need ``input_shape``:

    >>> cnn = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.Flatten(),
    ...                           torch.nn.Linear(8, 1))
    >>> from_torch(cnn, input_shape=(1, 4, 4))
    Network(16-8-1)
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise ModelError(f"expected a torch.nn.Module, got {type(module).__name__}")
    net, shape = ops_to_network(_module_ops(module), input_shape)
    if verify:
        verify_conversion(torch_forward(module), net, shape, n=n_verify)
    return net
