"""`.npz` models with keys ``W0, b0, W1, b1, ...`` (W shaped (out, in))."""
from __future__ import annotations

import zipfile

import numpy as np

from ..errors import NNCellsError
from ..network import Network


def load_npz(path) -> Network:
    if not zipfile.is_zipfile(path):
        raise NNCellsError(f"{path}: not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as z:
            files = set(z.files)
            n = 0
            while f"W{n}" in files:
                n += 1
            if n == 0:
                raise NNCellsError(f"{path}: no arrays named W0, b0, W1, b1, ... in the .npz file")
            missing = [f"b{i}" for i in range(n) if f"b{i}" not in files]
            if missing:
                raise NNCellsError(f"{path}: missing bias arrays {', '.join(missing)}")
            Ws = [z[f"W{i}"] for i in range(n)]
            bs = [z[f"b{i}"] for i in range(n)]
    except NNCellsError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise NNCellsError(f"{path}: not a readable .npz model ({e})") from None
    return Network(Ws, bs)
