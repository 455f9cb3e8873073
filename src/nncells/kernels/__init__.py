"""The kernels: the per-region hot loops, compiled (``native``) or in numpy (``numpy``).

The compiled core (C++17 sources in ``native/``, built by the package's own build with
scikit-build-core and nanobind) is the default; the numpy code of `nncells.engine` is its
reference twin, kept for parity tests and for what the core does not do (LP mode above
``_config.VERTEX_MAX_DIM`` dimensions, Euclidean ball domains). Choose with
``_config.BACKEND`` or the environment variable ``NNCELLS_BACKEND`` (``auto``, ``native``,
``numpy``).

Examples
--------
>>> from nncells import kernels
>>> kernels.backend() in ("native", "numpy")
True
>>> kernels.backend("numpy")
'numpy'
"""
from __future__ import annotations

import importlib
import os

from nncells import _config
from nncells.errors import NNCellsError

try:  # the compiled module is built by the package's build; a source tree without it still imports
    _native = importlib.import_module("nncells.kernels._native")
except ImportError as e:  # pragma: no cover - only without a built core
    _native = None
    _IMPORT_ERROR = str(e)
else:
    _IMPORT_ERROR = ""

BACKENDS = ("auto", "native", "numpy")


def native_available() -> bool:
    """Whether the compiled core was built and imports.

    Examples
    --------
    >>> isinstance(native_available(), bool)
    True
    """
    return _native is not None


def backend(name: str | None = None) -> str:
    """The backend a run uses: ``name``, else ``NNCELLS_BACKEND``, else ``_config.BACKEND``;
    ``auto`` means the compiled core when it is available.

    Raises NNCellsError for an unknown name, or for ``native`` when the core is not built.

    Examples
    --------
    >>> backend("numpy")
    'numpy'
    """
    name = name or os.environ.get("NNCELLS_BACKEND") or _config.BACKEND
    if name not in BACKENDS:
        raise NNCellsError(f"unknown backend {name!r}: choose one of {', '.join(BACKENDS)}")
    if name == "auto":
        return "native" if _native is not None else "numpy"
    if name == "native" and _native is None:
        raise NNCellsError(f"the compiled core is not built ({_IMPORT_ERROR}); reinstall nncells "
                           "with a C++ compiler (pip install .), or use backend 'numpy'")
    return name
