"""PyTorch modules (and TorchScript modules) to `Network`, checked against their own forward pass.

`nncells.models.torch_read` reads a model as a list of ops (``nn.Sequential`` child by child,
other modules with ``torch.fx`` symbolic tracing, TorchScript modules from their graphs) and
`nncells.models.torch_eval` evaluates them on affine expressions with a
`nncells.models.graph.GraphBuilder` (eval-mode semantics: dropout is the identity, batch norm
uses its running statistics). Residual additions, concatenations, slicing, max pooling, ReLU6,
Hardtanh, clamps, abs, PReLU and maxima of two tensors are all read; a final Softmax, Sigmoid or
LogSoftmax is dropped (the network computes the logits) and named in ``ignored_output_ops``.
"""
from __future__ import annotations

import contextlib
import copy
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from nncells.errors import ModelError
from nncells.network import Network
from nncells.models.chain import import_optional
from nncells.models.torch_eval import ops_to_network
from nncells.models.torch_read import fx_module, read_module, type_name
from nncells.models.verify import verify_conversion

if TYPE_CHECKING:
    from collections.abc import Sequence

    import torch

_DROPPED_FX = ("softmax", "log_softmax", "sigmoid", "dropout", "contiguous")
_DROPPED_MODULES = ("Softmax", "LogSoftmax", "Sigmoid", "Identity", "Dropout", "Dropout1d", "Dropout2d",
                    "Dropout3d", "AlphaDropout", "FeatureAlphaDropout")
_DROPPED_ATEN = ("aten::softmax", "aten::log_softmax", "aten::sigmoid", "aten::sigmoid_", "aten::dropout",
                 "aten::dropout_", "aten::contiguous", "aten::feature_dropout")


def _torch() -> Any:  # the torch module, imported on demand
    return import_optional("torch", "torch")


@contextlib.contextmanager
def quiet_torch_warnings() -> Iterator[None]:
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


def _fx_logits(m: torch.nn.Module) -> Any:
    """A ``torch.fx.GraphModule`` of ``m`` whose final Softmax / Sigmoid / LogSoftmax (and dropout
    after them) are removed: it computes what the model's last op receives."""
    torch = _torch()
    gm = fx_module(m, "cannot check the conversion: the model cannot be traced with torch.fx to run it without "
                      "its final op; pass verify=False")
    out = next(n for n in gm.graph.nodes if n.op == "output")
    node = out.args[0]
    while isinstance(node, torch.fx.Node):
        if node.op == "call_module":
            dropped = type_name(gm.get_submodule(node.target)) in _DROPPED_MODULES
        else:
            name = node.target if node.op == "call_method" else getattr(node.target, "__name__", "")
            dropped = node.op in ("call_function", "call_method") and name.rstrip("_") in _DROPPED_FX
        if not dropped:
            break
        node = node.args[0]
    out.args = (node,)
    gm.graph.eliminate_dead_code()
    gm.recompile()
    return gm


def _script_logits(m: torch.jit.ScriptModule) -> Callable[[torch.Tensor], Any]:
    """A function of the TorchScript module ``m`` (inlined graph) without its final Softmax /
    Sigmoid / LogSoftmax (and dropout after them): called as ``f(m._c, x)``."""
    torch = _torch()
    g = m.graph.copy()
    torch._C._jit_pass_inline(g)
    torch._C._jit_pass_constant_propagation(g)
    value = list(g.outputs())[0]
    while value.node().kind() in _DROPPED_ATEN:
        value = value.node().inputsAt(0)
    g.eraseOutput(0)
    g.registerOutput(value)
    torch._C._jit_pass_dce(g)
    fn = torch._C._create_function_from_graph("nncells_logits", g)
    return lambda x: fn(m._c, x)


def torch_forward(module: torch.nn.Module, logits: bool = False) -> Callable[[np.ndarray], np.ndarray]:
    """A numpy float64 forward function of a copy of ``module`` in eval mode.

    ``module`` itself is left as it is (unless it cannot be copied). With ``logits=True`` the
    model's final Softmax, Sigmoid or LogSoftmax (the ops a conversion drops) are left out: the
    function returns what the model computes before them, with the model's own code (a
    ``torch.fx`` graph module, or the TorchScript graph without those ops).

    Examples
    --------
    >>> import numpy as np, torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2),
    ...                             torch.nn.Softmax(dim=1))
    >>> f = torch_forward(model)
    >>> y = f(np.zeros((4, 2)))
    >>> y.shape, y.dtype, model[0].weight.dtype, bool(np.allclose(y.sum(axis=1), 1.0))
    ((4, 2), dtype('float64'), torch.float32, True)
    >>> z = torch_forward(model, logits=True)(np.zeros((4, 2)))
    >>> bool(np.allclose(np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), y))
    True
    """
    torch = _torch()
    with quiet_torch_warnings():
        try:
            m: Any = copy.deepcopy(module)
        except Exception:  # noqa: BLE001 - some modules cannot be copied: use the module itself
            m = module
        m = m.double().eval()
        if logits:
            m = _script_logits(m) if isinstance(m, torch.jit.ScriptModule) else _fx_logits(m)

    def forward(X: np.ndarray) -> np.ndarray:
        with torch.no_grad(), quiet_torch_warnings():
            y = m(torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64)))
        if not isinstance(y, torch.Tensor):
            raise ModelError(f"the model returns a {type(y).__name__}, not one tensor")
        out: np.ndarray = y.cpu().numpy()
        return out
    return forward


def from_torch(module: torch.nn.Module, input_shape: Sequence[int] | None = None, verify: bool = True,
               n_verify: int = 256) -> Network:
    """Convert a PyTorch module (or TorchScript module) into the exact `Network` it computes.

    Parameters
    ----------
    module : torch.nn.Module or torch.jit.ScriptModule
        ``nn.Sequential``, a module whose forward ``torch.fx`` can trace, or a TorchScript
        module (scripted or traced), made of supported layers and functions (docs/formats.md):
        Linear, Conv1d/2d, BatchNorm1d/2d, AvgPool1d/2d, MaxPool1d/2d, ReLU, LeakyReLU, PReLU,
        ReLU6, Hardtanh, Flatten, Unflatten, Dropout, Identity; residual additions,
        ``torch.cat``, slicing, ``torch.maximum``/``minimum``, ``clamp``, ``abs``, reshapes.
        Converted with eval-mode semantics.
    input_shape : tuple of int, optional
        Shape of one input sample, e.g. ``(1, 28, 28)``; needed unless the model starts with
        a Linear (or BatchNorm1d) layer.
    verify : bool
        Compare the network with the module's float64 forward pass on ``n_verify`` random
        inputs (relative tolerance 1e-9), raising `NNCellsError` on a mismatch. If a final
        Softmax / Sigmoid / LogSoftmax was dropped, the comparison is with what the model
        computes before it.

    Returns
    -------
    Network
        Input: the sample flattened in C order. Nonlinear ops become ReLU units and linear
        carry units (`nncells.models.graph`); the dropped final ops are named in
        ``ignored_output_ops``.

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

    >>> cnn = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    ...                           torch.nn.Flatten(), torch.nn.Linear(2, 1))
    >>> from_torch(cnn, input_shape=(1, 4, 4))
    Network(16-8-7-3-1, 4 linear units)

    A residual block:

    >>> class Block(torch.nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = torch.nn.Linear(3, 3)
    ...     def forward(self, x):
    ...         return x + torch.relu(self.fc(x))
    >>> from_torch(Block())
    Network(3-6-3, 3 linear units)
    """
    torch = _torch()
    if not isinstance(module, torch.nn.Module):
        raise ModelError(f"expected a torch.nn.Module, got {type(module).__name__}")
    ops, out = read_module(module)
    net, shape = ops_to_network(ops, out, input_shape)
    if verify:
        verify_conversion(torch_forward(module, logits=bool(net.ignored_output_ops)), net, shape, n=n_verify)
    return net
