"""Model loading: every format becomes a `Network`, verified against the original when possible."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nncells.errors import ModelError, ModelWarning  # noqa: F401 (nncells.models.ModelWarning)
from nncells.network import Network

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence


def load_model(path: str | os.PathLike[str], input_shape: Sequence[int] | None = None) -> Network:
    """Load ``path`` as a `Network`; the format is chosen by the file extension.

    Supported: ``.npz`` (keys ``W0, b0, W1, b1, ...``); ``.pt`` / ``.pth`` (a TorchScript
    archive, or a state dict, read as a Linear-ReLU chain with a `ModelWarning`); ``.ts`` / ``.torchscript``; ``.onnx``. Models other
    than ``.npz`` and state dicts are checked against their own forward pass on load.
    ``input_shape`` is the shape of one sample, for models whose input size cannot be inferred.
    See docs/formats.md.

    Parameters
    ----------
    path : str or os.PathLike
    input_shape : tuple of int, optional
        Shape of one input sample, e.g. ``(1, 28, 28)``; the network's input is that sample
        flattened in C order.

    Returns
    -------
    Network

    Raises
    ------
    ModelError
        If the file is missing, of an unknown format, unreadable, unsupported, or its
        conversion does not match the original model.

    Examples
    --------
    >>> import os, tempfile
    >>> from nncells.network import random_network
    >>> net = random_network([2, 3, 1], seed=0)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> net.to_npz(path)
    >>> loaded = load_model(path)
    >>> loaded, loaded.fingerprint == net.fingerprint
    (Network(2-3-1), True)
    >>> load_model(os.path.join(tempfile.mkdtemp(), "model.h5"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nncells.errors.ModelError: ...model.h5: no such file
    """
    p = Path(path)
    if not p.exists():
        raise ModelError(f"{path}: no such file")
    if p.is_dir():
        raise ModelError(f"{path}: is a directory, not a model file")
    ext = p.suffix.lower()
    if ext == ".npz":
        return Network.from_npz(p)
    if ext in (".pt", ".pth"):
        from nncells.models.torch_files import load_torch_file
        return load_torch_file(p, input_shape=input_shape)
    if ext in (".ts", ".torchscript"):
        from nncells.models.torch_files import load_torchscript
        return load_torchscript(p, input_shape=input_shape)
    if ext == ".onnx":
        from nncells.models.onnx import load_onnx
        return load_onnx(p, input_shape=input_shape)
    raise ModelError(f"{path}: unknown model format {ext!r} (supported: .npz, .pt, .pth, .ts, .torchscript, .onnx)")
