"""Model loading: every format becomes a `Network`, verified against the original when possible."""
from __future__ import annotations

from pathlib import Path

from ..errors import NNCellsError
from ..network import Network


def load_model(path, input_shape=None) -> Network:
    """Load ``path`` as a `Network`; the format is chosen by the file extension.

    Supported: ``.npz`` (keys ``W0, b0, W1, b1, ...``).
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
    raise NNCellsError(f"{path}: unknown model format {ext!r} (supported: .npz)")
