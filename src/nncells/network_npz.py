"""The ``.npz`` form of a `nncells.network.Network`: arrays ``W0, b0, W1, b1, ...`` (and ``L0, L1, ...``)."""
from __future__ import annotations

import zipfile
from typing import TYPE_CHECKING

import numpy as np

from nncells import network_pieces
from nncells.errors import ModelError, NNCellsError

if TYPE_CHECKING:
    from os import PathLike
    from typing import IO, TypeAlias

    NpzFile: TypeAlias = "str | PathLike[str] | IO[bytes]"   # a path, or a binary file open for np.load / np.savez


def read_arrays(path: NpzFile) -> tuple:
    """``(weights, biases, linear, ignored, tournaments)`` read from the archive ``path`` (``linear``
    None when it has no masks ``L0, L1, ...``: every hidden unit a ReLU; ``ignored`` always empty;
    ``tournaments`` from the array ``T``, see `nncells.network_pieces.encode`).

    Raises
    ------
    ModelError
        If the file is not an ``.npz`` archive, or its arrays are missing or unreadable.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> write_arrays(path, [np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)])
    >>> Ws, bs, linear, _, trees = read_arrays(path)
    >>> [W.shape for W in Ws], linear is None, trees
    ([(2, 2), (1, 2)], True, ())
    """
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not an .npz archive")
    try:
        with np.load(path, allow_pickle=False) as z:
            files = set(z.files)
            n = 0
            while f"W{n}" in files:
                n += 1
            if n == 0:
                raise ModelError(f"{path}: no arrays named W0, b0, W1, b1, ... in the .npz file")
            missing = [f"b{i}" for i in range(n) if f"b{i}" not in files]
            if missing:
                raise ModelError(f"{path}: missing bias arrays {', '.join(missing)}")
            Ws = [z[f"W{i}"] for i in range(n)]
            bs = [z[f"b{i}"] for i in range(n)]
            linear = None
            if any(f"L{i}" in files for i in range(n - 1)):
                linear = [z[f"L{i}"] if f"L{i}" in files else np.zeros(np.size(b), bool)
                          for i, b in enumerate(bs[:-1])]
            trees = network_pieces.decode(z["T"]) if "T" in files else ()
    except NNCellsError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise ModelError(f"{path}: not a readable .npz model ({e})") from None
    return Ws, bs, linear, (), trees


def write_arrays(path, weights, biases, linear=None, tournaments=None) -> None:
    """Save ``W0, b0, W1, b1, ...`` (and the masks ``L0, L1, ...`` of linear units, the encoded
    tournaments ``T``, when given).

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "m.npz")
    >>> write_arrays(path, [np.eye(2), np.ones((1, 2))], [np.zeros(2), np.zeros(1)], [[True, False]])
    >>> with np.load(path) as z:
    ...     sorted(z.files)
    ['L0', 'W0', 'W1', 'b0', 'b1']
    """
    arrays = {}
    for i, (W, b) in enumerate(zip(weights, biases)):
        arrays[f"W{i}"] = W
        arrays[f"b{i}"] = b
    if linear is not None:
        arrays.update({f"L{i}": np.asarray(mask, dtype=bool) for i, mask in enumerate(linear)})
    if tournaments is not None:
        arrays["T"] = np.asarray(tournaments, dtype=np.int64)
    np.savez(path, **arrays)
