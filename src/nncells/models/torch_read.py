"""Reading a PyTorch module as a list of ops: ``nn.Sequential`` child by child, other modules with
``torch.fx`` symbolic tracing, TorchScript modules (scripted or traced) from their graphs.

An op is ``Op(label, kind, args, kwargs, fold)``: ``kind`` is ``"module"`` for a layer
(``args = (type name, layer, input)``) or the name of a torch function, method or aten op
(``"add"``, ``"relu"``, ``"cat"``, ``"max_pool2d"``, ...); its arguments may hold `Ref`s, the
values of earlier ops (``Ref(i)``: op ``i``; ``Ref("input")``: the model's input) and constants
(tensors, numbers, lists). ``fold`` computes the op with torch when all its inputs are constants.
`nncells.models.torch_eval` turns the list into a `Network`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from nncells.errors import ModelError, NNCellsError
from nncells.models.chain import import_optional
from nncells.models.torch_traced import script_layer

if TYPE_CHECKING:
    import torch

SUPPORTED_LAYERS = ("Linear", "ReLU", "LeakyReLU", "PReLU", "ReLU6", "Hardtanh", "Flatten", "Unflatten",
                    "Dropout", "Identity", "BatchNorm1d", "BatchNorm2d", "Conv1d", "Conv2d", "AvgPool1d",
                    "AvgPool2d", "MaxPool1d", "MaxPool2d", "Softmax", "Sigmoid", "LogSoftmax")
DROPOUTS = ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")


class Ref(NamedTuple):
    """The value of op ``key`` (an int), or of the model's input (``"input"``)."""

    key: object


class Op(NamedTuple):
    """One op of a model: see the module docstring."""

    label: str
    kind: str
    args: tuple
    kwargs: dict
    fold: object = None


def _torch():
    return import_optional("torch", "torch")


def _join(prefix, name) -> str:
    return f"{prefix}.{name}" if prefix else str(name)


def _emit(ops, label, kind, args, kwargs=None, fold=None) -> Ref:
    ops.append(Op(label, kind, tuple(args), dict(kwargs or {}), fold))
    return Ref(len(ops) - 1)


def read_module(module: torch.nn.Module) -> tuple[list[Op], Ref]:
    """The ops of ``module`` and its output (a `Ref`).

    Examples
    --------
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
    >>> ops, out = read_module(model)
    >>> [(op.label, op.kind) for op in ops], out
    ([('0', 'module'), ('1', 'module')], Ref(key=1))
    """
    ops: list = []
    return ops, module_ops(module, "", Ref("input"), ops)


# ----------------------------------------------------------- reading modules
def type_name(module) -> str:
    """The layer type ``module`` is (TorchScript modules: their original name).

    Examples
    --------
    >>> import torch
    >>> type_name(torch.nn.ReLU6()), type_name(torch.nn.Dropout2d())
    ('ReLU6', 'Dropout')
    """
    torch = _torch()
    nn = torch.nn
    if isinstance(module, torch.jit.ScriptModule):
        return getattr(module, "original_name", type(module).__name__)
    for cls in (nn.Linear, nn.ReLU, nn.LeakyReLU, nn.PReLU, nn.ReLU6, nn.Hardtanh, nn.Flatten, nn.Unflatten,
                nn.Identity, nn.BatchNorm1d, nn.BatchNorm2d, nn.Conv1d, nn.Conv2d, nn.AvgPool1d, nn.AvgPool2d,
                nn.MaxPool1d, nn.MaxPool2d, nn.Softmax, nn.Sigmoid, nn.LogSoftmax):
        if type(module) is cls:
            return cls.__name__
    if isinstance(module, nn.modules.dropout._DropoutNd):
        return "Dropout"
    return type(module).__name__


def _is_leaf(module, name) -> bool:
    if isinstance(module, _torch().jit.ScriptModule):
        qualified = module._c._type().qualified_name()
        return name in SUPPORTED_LAYERS or ".torch.nn.modules." in qualified
    return name in SUPPORTED_LAYERS or type(module).__module__.startswith("torch.nn")


def module_ops(module, prefix, x, ops) -> Ref:
    """Append the ops of ``module`` applied to ``x`` (at module path ``prefix``); return its output.

    Examples
    --------
    >>> import torch
    >>> ops = []
    >>> module_ops(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()), "body", Ref("input"), ops)
    Ref(key=1)
    >>> [op.label for op in ops]
    ['body.0', 'body.1']
    """
    torch = _torch()
    name = type_name(module)
    if name == "Sequential":
        for child_name, child in module.named_children():
            x = module_ops(child, _join(prefix, child_name), x, ops)
        return x
    if _is_leaf(module, name):
        try:
            layer = script_layer(name, module)
        except NNCellsError as e:
            raise ModelError(f"layer {name} at {prefix!r}: {e}") from None
        return _emit(ops, prefix, "module", (name, layer, x))
    if isinstance(module, torch.jit.ScriptModule):
        return _script_ops(module, prefix, [x], ops)
    return _fx_ops(module, prefix, x, ops)


def fx_tracer():
    """A ``torch.fx.Tracer`` that keeps TorchScript submodules whole (as well as torch.nn layers).

    Examples
    --------
    >>> import torch
    >>> graph = fx_tracer().trace(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.ReLU()))
    >>> [n.op for n in graph.nodes]
    ['placeholder', 'call_module', 'call_module', 'output']
    """
    torch = _torch()

    class Tracer(torch.fx.Tracer):
        def is_leaf_module(self, m, qualname):
            return isinstance(m, torch.jit.ScriptModule) or super().is_leaf_module(m, qualname)
    return Tracer()


def fx_module(module, failure: str):
    """``module`` traced by `fx_tracer` as a ``torch.fx.GraphModule``; a `ModelError` that starts
    with ``failure`` (and says why) when fx cannot trace it.

    Examples
    --------
    >>> import torch
    >>> gm = fx_module(torch.nn.Sequential(torch.nn.Linear(2, 2)), "cannot trace")
    >>> type(gm).__name__.endswith("GraphModule")
    True
    """
    torch = _torch()
    try:
        return torch.fx.GraphModule(module, fx_tracer().trace(module))
    except Exception as e:  # noqa: BLE001 - fx raises many kinds of errors
        raise ModelError(f"{failure} ({e})") from None


def _fx_ops(module, prefix, x, ops) -> Ref:
    torch = _torch()
    gm = fx_module(module, f"cannot trace {type(module).__name__} {prefix or 'root'!r} with torch.fx; write it as "
                           f"nn.Sequential, or save it with TorchScript or ONNX")
    env, seen_input = {}, False

    def value(a):
        if isinstance(a, (list, tuple)):
            return type(a)(value(v) for v in a)
        if isinstance(a, dict):
            return {k: value(v) for k, v in a.items()}
        if isinstance(a, slice):
            return slice(value(a.start), value(a.stop), value(a.step))
        return env[a] if isinstance(a, torch.fx.Node) else a

    for node in gm.graph.nodes:
        where = _join(prefix, node.name)
        if node.op == "placeholder":
            if seen_input:
                if node.args:   # an argument with a default value
                    env[node] = node.args[0]
                    continue
                raise ModelError(f"{type(module).__name__} {prefix or 'root'!r} takes more than one input")
            env[node], seen_input = x, True
        elif node.op == "get_attr":
            obj = gm
            for part in node.target.split("."):
                obj = getattr(obj, part)
            env[node] = obj
        elif node.op == "call_module":
            args = value(node.args)
            if len(args) != 1 or node.kwargs:
                raise ModelError(f"layer {node.target!r} in {type(module).__name__} is called with "
                                 f"{len(args)} arguments; only one input tensor is supported")
            env[node] = module_ops(gm.get_submodule(node.target), _join(prefix, node.target), args[0], ops)
        elif node.op == "call_function":
            name = getattr(node.target, "__name__", str(node.target))
            env[node] = _emit(ops, where, name, value(node.args), value(node.kwargs), node.target)
        elif node.op == "call_method":
            method = node.target
            env[node] = _emit(ops, where, method, value(node.args), value(node.kwargs),
                              lambda obj, *a, _m=method, **k: getattr(obj, _m)(*a, **k))
        elif node.op == "output":
            return value(node.args[0])
    raise ModelError(f"{type(module).__name__} {prefix or 'root'!r} has no output")


def _ivalue(value):
    try:
        return value.toIValue()
    except Exception:  # noqa: BLE001 - function constants have no value
        return None


def _script_ops(module, prefix, inputs, ops):
    """Ops of a TorchScript module's ``forward`` graph (calls of submodules and aten ops)."""
    torch = _torch()
    graph = module.graph
    graph_inputs = list(graph.inputs())
    where_module = f"TorchScript module {prefix or 'root'!r}"
    if len(graph_inputs) != 1 + len(inputs):
        raise ModelError(f"{where_module} must take exactly one input tensor")
    env = {graph_inputs[0].unique(): module}
    names = {graph_inputs[0].unique(): prefix}
    for v, x in zip(graph_inputs[1:], inputs):
        env[v.unique()] = x
    for node in graph.nodes():
        kind = node.kind()
        ins = [v.unique() for v in node.inputs()]
        outs = [v.unique() for v in node.outputs()]
        args = [env.get(i) for i in ins]
        if kind == "prim::Constant":
            env[outs[0]] = _ivalue(node.output())
        elif kind == "prim::GetAttr":
            env[outs[0]] = getattr(env[ins[0]], node.s("name"))
            names[outs[0]] = _join(names.get(ins[0], prefix), node.s("name"))
        elif kind in ("prim::ListConstruct", "prim::TupleConstruct"):
            env[outs[0]] = list(args)
        elif kind in ("prim::NumToTensor", "aten::Int", "aten::Float", "aten::ScalarImplicit"):
            env[outs[0]] = args[0]
        elif kind in ("prim::TupleUnpack", "prim::ListUnpack") and isinstance(args[0], (list, tuple)):
            env.update(zip(outs, args[0]))
            continue
        elif kind == "prim::CallMethod":
            if node.s("name") != "forward" or len(args) != 2:
                raise ModelError(f"{kind} {node.s('name')!r} in {where_module} is not supported: "
                                 f"only calls of a submodule's forward on one tensor are")
            env[outs[0]] = module_ops(args[0], names.get(ins[0], ""), args[1], ops)
        elif kind == "prim::CallFunction":
            name = node.inputsAt(0).node().s("name").lstrip("_")
            env[outs[0]] = _emit(ops, _join(prefix, name), name, args[1:])
        elif kind.startswith("aten::") or kind in ("prim::abs", "prim::max", "prim::min"):
            name = kind.split("::")[1]
            name = name[:-1] if name.endswith("_") and not name.endswith("__") else name
            fold = getattr(torch.ops.aten, name, None) if kind.startswith("aten::") else None
            env[outs[0]] = _emit(ops, _join(prefix, name), name, args, fold=fold)
        else:
            raise ModelError(f"{kind} in {where_module} is not supported (control flow and other "
                             f"TorchScript constructs cannot be read; trace the model or export it to ONNX)")
        if len(outs) > 1 and kind not in ("prim::Constant",):
            raise ModelError(f"{kind} in {where_module} has {len(outs)} outputs; not supported")
    outputs = list(graph.outputs())
    if len(outputs) != 1:
        raise ModelError(f"{where_module} must return one tensor")
    return env.get(outputs[0].unique())
