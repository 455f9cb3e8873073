"""PyTorch files: state dicts (``torch.load(weights_only=True)``) and TorchScript archives.

nncells never unpickles arbitrary Python objects: a whole ``nn.Module`` saved with
``torch.save(model)`` is refused, because loading it could run any code the file contains.
"""
from __future__ import annotations

import pickle
import re
import warnings
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np

from nncells.errors import ModelError, ModelWarning
from nncells.network import Network
from nncells.models.chain import import_optional

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping, Sequence

    import torch

SAFE_EXPORT = ("export it safely instead: a state dict (torch.save(model.state_dict(), 'model.pt'), "
               "plain MLPs only), TorchScript (torch.jit.save(torch.jit.script(model), 'model.ts')) "
               "or ONNX (torch.onnx.export(model, example_input, 'model.onnx'))")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_NESTED_KEYS = ("state_dict", "model_state_dict", "model", "net", "network")


def is_torchscript(path: str | os.PathLike[str]) -> bool:
    """True for a TorchScript archive (a zip holding ``code/`` and ``constants.pkl``).

    Examples
    --------
    >>> import os, tempfile, torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    >>> folder = tempfile.mkdtemp()
    >>> torch.jit.save(torch.jit.script(model), os.path.join(folder, "m.ts"))
    >>> torch.save(model.state_dict(), os.path.join(folder, "sd.pt"))
    >>> is_torchscript(os.path.join(folder, "m.ts")), is_torchscript(os.path.join(folder, "sd.pt"))
    (True, False)
    """
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except (zipfile.BadZipFile, OSError):
        return False
    return any("/code/" in n for n in names) and any(n.endswith("constants.pkl") for n in names)


def load_torchscript(path: str | os.PathLike[str], input_shape: Sequence[int] | None = None,
                     verify: bool = True) -> Network:
    """Load a TorchScript archive with ``torch.jit.load`` and convert it with `from_torch`.

    With ``verify=True`` the network is checked against the archive's own forward pass.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "model.ts")
    >>> torch.jit.save(torch.jit.script(model), path)
    >>> load_torchscript(path)
    Network(2-4-1)
    """
    torch = import_optional("torch", "torch")
    from nncells.models.torch import from_torch, quiet_torch_warnings
    try:
        with quiet_torch_warnings():
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as e:  # noqa: BLE001 - torch raises RuntimeError and others
        raise ModelError(f"{path}: not a readable TorchScript archive ({e})") from None
    with quiet_torch_warnings():
        return from_torch(module, input_shape=input_shape, verify=verify)


def state_dict_to_network(state: Mapping[str, torch.Tensor], source: str = "state dict") -> Network:
    """A plain MLP from a state dict: Linear layers in key order, ReLU between them.

    Keys are grouped by prefix (``0.weight``, ``0.bias``, ``2.weight``, ... or ``fc1.weight``,
    ...) in the order the dict holds them (the order the modules were registered). A layer
    without a bias gets zeros. Anything else (convolutions, batch norm) cannot be placed without
    the architecture and is refused.

    Examples
    --------
    >>> import numpy as np, torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    >>> net = state_dict_to_network(model.state_dict())
    >>> net, bool(np.array_equal(net.weights[0], model[0].weight.detach().double().numpy()))
    (Network(2-4-1), True)
    >>> state_dict_to_network(torch.nn.Conv2d(1, 2, 3).state_dict())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nncells.errors.ModelError: state dict: layer '<root>' has a 4-D weight (2, 1, 3, 3); ...
    """
    layers: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        prefix, _, leaf = str(key).rpartition(".")
        layers.setdefault(prefix, {})[leaf] = value
    Ws, bs = [], []
    for prefix, params in layers.items():
        name = prefix or "<root>"
        extra = sorted(set(params) - {"weight", "bias"})
        if extra or "weight" not in params:
            raise ModelError(
                f"{source}: layer {name!r} has {', '.join(extra or ['no weight'])}: only plain MLPs "
                f"(Linear layers with ReLU between them) can be read from a state dict, which has no "
                f"architecture; load the model in Python and use nncells.models.torch.from_torch, or {SAFE_EXPORT}")
        W = np.asarray(params["weight"].detach().cpu().double().numpy())
        if W.ndim != 2:
            raise ModelError(f"{source}: layer {name!r} has a {W.ndim}-D weight {W.shape}; only Linear "
                               f"layers can be read from a state dict; {SAFE_EXPORT}")
        b = params.get("bias")
        Ws.append(W)
        bs.append(np.zeros(W.shape[0]) if b is None else b.detach().cpu().double().numpy())
    if not Ws:
        raise ModelError(f"{source}: the state dict has no weights")
    return Network(Ws, bs)


def warn_state_dict(path: str | os.PathLike[str]) -> None:
    """Warn (`nncells.models.ModelWarning`, one line) that the state dict at ``path`` is read as
    a Linear-ReLU chain, and how to keep the real architecture.

    The warning is located at the file itself (line 0), so that Python prints it as one line
    with no source line after it.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     warn_state_dict("model.pt")
    >>> w = seen[0]
    >>> w.category.__name__, w.filename, w.lineno, str(w.message).split(":")[0]
    ('ModelWarning', 'model.pt', 0, 'a state dict holds weights but no architecture')
    """
    warnings.warn_explicit(
        "a state dict holds weights but no architecture: read as Linear layers in key order with ReLU "
        "between them; if the model has other layers or activations (residual blocks, tanh, ...), save the "
        "whole model with TorchScript (torch.jit.save(torch.jit.script(model), 'model.ts')) or ONNX "
        "(torch.onnx.export), or convert it in Python with nncells.models.torch.from_torch(model)",
        ModelWarning, filename=str(path), lineno=0, module="nncells.models.torch_files")


def _refusal_reason(error: BaseException) -> str:
    """The short reason in torch's refusal of a pickle, on one line and without ANSI escapes.

    Examples
    --------
    >>> _refusal_reason(Exception("Weights only load failed. \\x1b[1mdo it\\x1b[0m.\\n\\tWeightsUnpickler error: "
    ...                           "Unsupported global: GLOBAL os.system was not an allowed global by default."))
    'needs os.system'
    >>> _refusal_reason(Exception("Weights only load failed. ...: WeightsUnpickler error: \\n\\nUnsupported operand 149"))
    'unsupported pickle opcode 149'
    """
    text = _ANSI.sub("", str(error))
    found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if found:
        return f"needs {found.group(1)}"
    found = re.search(r"Unsupported operand (\S+)", text)
    if found:
        return f"unsupported pickle opcode {found.group(1)}"
    first = " ".join(text.split())
    return first[:80] + ("..." if len(first) > 80 else "") if first else "not plain tensors"


def _find_state_dict(obj: object, torch: Any) -> Any:
    """The dict of tensors in ``obj``: the object itself or a common checkpoint entry."""
    def is_sd(d: object) -> object:
        return isinstance(d, dict) and d and all(isinstance(v, torch.Tensor) for v in d.values())
    if is_sd(obj):
        return obj
    if isinstance(obj, dict):
        for key in _NESTED_KEYS:
            if is_sd(obj.get(key)):
                return obj[key]
    return None


def load_torch_file(path: str | os.PathLike[str], input_shape: Sequence[int] | None = None,
                    verify: bool = True) -> Network:
    """A ``.pt`` / ``.pth`` file: a TorchScript archive, or a state dict read as a plain MLP.

    A state dict holds no architecture: it is read as Linear layers with ReLU between them, with
    a `nncells.models.ModelWarning` saying so. The state dict may also sit in a checkpoint dict under ``state_dict``,
    ``model_state_dict``, ``model``, ``net`` or ``network``. Files holding pickled Python
    objects (a whole ``nn.Module`` saved with ``torch.save(model)``) are refused with a
    `ModelError`, since unpickling them could run arbitrary code.

    Examples
    --------
    >>> import os, tempfile, torch
    >>> _ = torch.manual_seed(0)
    >>> model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    >>> folder = tempfile.mkdtemp()
    >>> path = os.path.join(folder, "model.pt")
    >>> torch.save(model.state_dict(), path)
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     net = load_torch_file(path)
    ...     torch.save({"epoch": 3, "model_state_dict": model.state_dict()}, path)
    ...     same = load_torch_file(path).fingerprint == net.fingerprint
    >>> net, net.widths, same
    (Network(2-4-1), [4], True)
    """
    if is_torchscript(path):
        return load_torchscript(path, input_shape=input_shape, verify=verify)
    torch = import_optional("torch", "torch")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r"(?s).*pickle protocol", category=UserWarning)
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise ModelError(
            f"{path}: refused: the file holds pickled Python objects ({_refusal_reason(e)}), such as a "
            f"whole nn.Module saved with torch.save(model), and reading them could run any code the file "
            f"contains (arbitrary code execution); {SAFE_EXPORT}") from None
    except Exception as e:  # noqa: BLE001 - torch raises RuntimeError, EOFError, ...
        raise ModelError(f"{path}: not a readable PyTorch file ({type(e).__name__}: {e})") from None
    sd = _find_state_dict(obj, torch)
    if sd is None:
        raise ModelError(f"{path}: holds a {type(obj).__name__}, not a state dict of tensors; {SAFE_EXPORT}")
    net = state_dict_to_network(sd, source=str(path))
    warn_state_dict(path)
    if input_shape is not None and int(np.prod(input_shape)) != net.input_dim:
        raise ModelError(f"{path}: input shape {tuple(input_shape)} does not fit the first layer "
                           f"({net.input_dim} inputs)")
    return net
