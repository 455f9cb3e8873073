"""nncells: exact geometry of ReLU networks (activation regions, counts, slices).

The public API is the names in ``__all__``; the subpackages hold the stages of the data flow
(see docs/architecture.md): ``models`` (files to `Network`), ``geometry`` (solvers, the numerical
contract), ``engine`` (per-region work), ``planar`` (2-D mesh and slices), ``run`` (driver,
executors, checkpoints), ``results`` (result object, Parquet), ``local``, ``analysis``, ``cli``,
``experiments``.

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
from nncells import models
from nncells.api import count_regions, enumerate_regions, enumerate_to_dir
from nncells.domains import Ball, Box, Polytope, Space
from nncells.errors import DomainError, ModelError, ModelWarning, NNCellsError, RunError
from nncells.models import load_model
from nncells.network import Network, random_network
from nncells.results.reader import read_result
from nncells.results.result import EnumerationResult, Region
from nncells.results.store import read_regions

__version__ = "0.1.0"

__all__ = ["Ball", "Box", "Polytope", "Space", "Network", "random_network", "load_model", "models",
           "enumerate_regions", "count_regions", "enumerate_to_dir", "read_regions", "read_result",
           "EnumerationResult", "Region", "NNCellsError", "ModelError", "DomainError", "RunError",
           "ModelWarning", "__version__"]
