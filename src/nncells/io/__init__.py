"""Model loading: every format becomes a `Network`, verified against the original when possible."""
from __future__ import annotations

from pathlib import Path

from ..errors import NNCellsError
from ..network import Network


def load_model(path, input_shape=None) -> Network:
    """Load ``path`` as a `Network`; the format is chosen by the file extension.

    Supported: ``.npz`` (keys ``W0, b0, W1, b1, ...``); ``.pt`` / ``.pth`` (a state dict of a
    plain MLP, or a TorchScript archive); ``.ts`` / ``.torchscript``; ``.onnx``. Models other
    than ``.npz`` and state dicts are checked against their own forward pass on load.
    ``input_shape`` is the shape of one sample, for models whose input size cannot be inferred.
    See docs/formats.md.
    """
    p = Path(path)
    if not p.exists():
        raise NNCellsError(f"{path}: no such file")
    if p.is_dir():
        raise NNCellsError(f"{path}: is a directory, not a model file")
    ext = p.suffix.lower()
    if ext == ".npz":
        from .npz import load_npz
        return load_npz(p)
    if ext in (".pt", ".pth"):
        from .checkpoint import load_torch_file
        return load_torch_file(p, input_shape=input_shape)
    if ext in (".ts", ".torchscript"):
        from .checkpoint import load_torchscript
        return load_torchscript(p, input_shape=input_shape)
    if ext == ".onnx":
        from .onnx import load_onnx
        return load_onnx(p, input_shape=input_shape)
    raise NNCellsError(f"{path}: unknown model format {ext!r} (supported: .npz, .pt, .pth, .ts, .torchscript, .onnx)")
