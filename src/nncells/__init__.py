"""nncells: exact geometry of ReLU networks (activation regions, counts, slices).

The public API is the names in ``__all__``; the subpackages hold the stages of the data flow
(see docs/architecture.md): ``models`` (files to `Network`), ``geometry`` (solvers, the numerical
contract), ``engine`` (per-region work), ``planar`` (2-D mesh and slices), ``run`` (driver,
executors, checkpoints), ``results`` (result object, Parquet), ``local``, ``analysis``, ``cli``,
``experiments``. The names load on first use (PEP 562), so ``import nncells`` (and ``nncells
--version``) stays light.

Examples
--------
>>> import nncells
>>> net = nncells.random_network([2, 4, 1], seed=0)
>>> res = nncells.enumerate_regions(net, nncells.Box(-1, 1), workers=1)
>>> res.count == len(res.patterns) == res.per_layer[-1]
True
>>> region = res[0]                      # a result is a sequence of regions
>>> int(res.locate(region.point)), bool((net.pattern(region.point) == region.pattern).all())
(0, True)
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> the module that defines it
_WHERE = {
    "models": "nncells.models", "load_model": "nncells.models",
    "count_regions": "nncells.api", "enumerate_regions": "nncells.api", "enumerate_to_dir": "nncells.api",
    "Ball": "nncells.domains", "Box": "nncells.domains", "Polytope": "nncells.domains", "Space": "nncells.domains",
    "DomainError": "nncells.errors", "ModelError": "nncells.errors", "ModelWarning": "nncells.errors",
    "NNCellsError": "nncells.errors", "RunError": "nncells.errors",
    "Network": "nncells.network", "random_network": "nncells.network",
    "EnumerationResult": "nncells.results.result", "Region": "nncells.results.result",
    "read_regions": "nncells.results.reader", "read_result": "nncells.results.reader",
    "read_arrays": "nncells.results.store",
}

__all__ = ["Ball", "Box", "Polytope", "Space", "Network", "random_network", "load_model", "models",
           "enumerate_regions", "count_regions", "enumerate_to_dir", "read_regions", "read_result", "read_arrays",
           "EnumerationResult", "Region", "NNCellsError", "ModelError", "DomainError", "RunError",
           "ModelWarning", "__version__"]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:  # a subpackage or module not imported yet (``nncells._config``, ``nncells.analysis``)
        try:
            return importlib.import_module(f"nncells.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"nncells.{name}":
                raise
            raise AttributeError(f"module 'nncells' has no attribute {name!r}") from None
    module = importlib.import_module(where)
    value = module if name == "models" else getattr(module, name)
    globals()[name] = value  # once only
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
