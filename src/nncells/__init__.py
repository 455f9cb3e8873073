"""nncells: exact geometry of ReLU networks (activation regions, counts, slices)."""
from . import io
from .domain import Ball, Box, Polytope, Space
from .errors import NNCellsError
from .network import Network, random_network
from .regions import EnumerationResult, Region, enumerate_regions

__version__ = "0.1.0"

__all__ = ["Ball", "Box", "Polytope", "Space", "io", "Network", "random_network", "NNCellsError",
           "EnumerationResult", "Region", "enumerate_regions", "__version__"]
