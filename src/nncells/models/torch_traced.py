"""Layers of traced TorchScript modules: a traced layer keeps its parameters and buffers but not
its options (stride, padding, eps, ...), so they are read from the single aten call in the
layer's own forward graph."""
from __future__ import annotations

from types import SimpleNamespace

from nncells.errors import ModelError
from nncells.models.chain import import_optional


def _torch():
    return import_optional("torch", "torch")


# For each layer: the attribute a scripted module keeps (a traced one does not), the aten ops its
# traced forward calls, and the names of that call's arguments after the input tensor.
_TRACED_CALLS = {
    "Linear": ("weight", {"aten::linear": ("weight", "bias")}),
    "LeakyReLU": ("negative_slope", {"aten::leaky_relu": ("negative_slope",),
                                     "aten::leaky_relu_": ("negative_slope",)}),
    "Flatten": ("start_dim", {"aten::flatten": ("start_dim", "end_dim")}),
    "Unflatten": ("unflattened_size", {"aten::unflatten": ("dim", "unflattened_size")}),
    "BatchNorm1d": ("eps", {"aten::batch_norm": ("weight", "bias", "running_mean", "running_var",
                                                 "training", "momentum", "eps")}),
    "Conv2d": ("padding_mode", {"aten::_convolution": ("weight", "bias", "stride", "padding", "dilation",
                                                        "transposed", "output_padding", "groups"),
                                "aten::_convolution_mode": ("weight", "bias", "stride", "padding",
                                                            "dilation", "groups"),
                                "aten::conv2d": ("weight", "bias", "stride", "padding", "dilation", "groups")}),
    "AvgPool2d": ("kernel_size", {"aten::avg_pool2d": ("kernel_size", "stride", "padding", "ceil_mode",
                                                       "count_include_pad", "divisor_override")}),
}
_POOL_ARGS = ("kernel_size", "stride", "padding", "dilation", "ceil_mode")
_TRACED_CALLS.update({
    "MaxPool1d": ("kernel_size", {"aten::max_pool1d": _POOL_ARGS}),
    "MaxPool2d": ("kernel_size", {"aten::max_pool2d": _POOL_ARGS}),
    "AvgPool1d": ("kernel_size", {"aten::avg_pool1d": ("kernel_size", "stride", "padding", "ceil_mode",
                                                       "count_include_pad")}),
    "Hardtanh": ("min_val", {"aten::hardtanh": ("min_val", "max_val"), "aten::hardtanh_": ("min_val", "max_val")}),
    "Conv1d": ("padding_mode", {**_TRACED_CALLS["Conv2d"][1],
                                "aten::conv1d": ("weight", "bias", "stride", "padding", "dilation", "groups")}),
})
_TRACED_CALLS["BatchNorm2d"] = _TRACED_CALLS["BatchNorm1d"]
_GRAPH_PLUMBING = ("prim::Constant", "prim::ListConstruct", "prim::GetAttr")


def _graph_value(value, module):
    """The Python value of a graph value built from constants, lists and attributes of ``module``."""
    node = value.node()
    kind = node.kind()
    if kind == "prim::Constant":
        return value.toIValue()
    if kind == "prim::ListConstruct":
        return [_graph_value(v, module) for v in node.inputs()]
    if kind == "prim::GetAttr":
        return getattr(module, node.s("name"), None)
    raise ModelError(f"argument computed by {kind} is not a constant")


def script_layer(name, module):
    """``module`` itself, or for a traced TorchScript layer (which keeps only its parameters and
    buffers, not its options) a namespace with the attributes read from its forward graph.

    Examples
    --------
    >>> import torch
    >>> traced = torch.jit.trace(torch.nn.Sequential(torch.nn.AvgPool2d(2)), torch.zeros(1, 1, 4, 4))
    >>> layer = script_layer("AvgPool2d", next(traced.children()))
    >>> layer.kernel_size, layer.stride, layer.ceil_mode
    ([2, 2], [2, 2], False)
    """
    spec = _TRACED_CALLS.get(name)
    if spec is None or not isinstance(module, _torch().jit.ScriptModule) or hasattr(module, spec[0]):
        return module
    key, calls = spec
    graph = module.graph
    inputs = list(graph.inputs())
    nodes = [n for n in graph.nodes() if n.kind() not in _GRAPH_PLUMBING]
    kinds = [n.kind() for n in nodes]
    if len(nodes) != 1 or kinds[0] not in calls or len(inputs) != 2 \
            or nodes[0].inputsAt(0).unique() != inputs[1].unique():
        extra = ", ".join(k for k in kinds if k not in calls) or "no recognised call"
        raise ModelError(f"the traced layer computes {extra}; only a plain {name} (for a convolution: "
                         f"padding_mode='zeros') can be read from a traced module")
    args = dict(zip(calls[kinds[0]], (_graph_value(v, module) for v in list(nodes[0].inputs())[1:])))
    layer = SimpleNamespace(**{"weight": None, "bias": None, "padding_mode": "zeros", **args})
    if name in ("BatchNorm1d", "BatchNorm2d") and args.get("training"):
        layer.running_mean = None   # batch statistics: refused in _apply_module
    if name in ("Conv1d", "Conv2d"):
        if args.get("transposed"):
            raise ModelError("the traced layer is a transposed convolution")
        layer.kernel_size = tuple(layer.weight.shape[2:])
    return layer
